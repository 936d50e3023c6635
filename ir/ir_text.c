/* ir_text.c — a growable string that generated text is written into. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "ir.h"

void ir_text_printf(ir_text *t, const char *fmt, ...)
{
    if (t->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->buf ? t->buf + t->len : NULL, t->buf ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            break;
        if (t->buf && t->len + (size_t)n < t->cap) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = (t->cap + (size_t)n + 1) * 2;
        char *b = ir_realloc(t->buf, cap);
        if (!b)
            break;
        t->buf = b;
        t->cap = cap;
    }
    free(t->buf);
    t->buf = NULL;
    t->len = t->cap = 0;
    t->failed = 1;
}
