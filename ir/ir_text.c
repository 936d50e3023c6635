/* ir_text.c — a growable string that generated text is written into: appends of bytes,
 * strings, characters and integers by memcpy (the code generator's hot path), and a
 * printf for the rare lines that need a format. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

/* Bytes of a text's first buffer. */
#define IR_TEXT_MIN_CAP 1024

/* Marks t failed and frees its buffer: every later append is a no-op. */
static void text_fail(ir_text *t)
{
    free(t->buf);
    t->buf = NULL;
    t->len = t->cap = 0;
    t->failed = 1;
}

int ir_text_reserve(ir_text *t, size_t n)
{
    if (t->failed)
        return -1;
    if (t->buf && t->cap - t->len > n)
        return 0; /* one byte stays free for the terminator */
    if (n > (SIZE_MAX - 1) / 2 - t->len) {
        text_fail(t);
        return -1;
    }
    /* Doubling keeps appends amortized O(1); a first block of IR_TEXT_MIN_CAP saves
     * the many small steps of a text that starts empty (one per kernel body). */
    size_t cap = (t->len + n + 1) * 2;
    if (cap < IR_TEXT_MIN_CAP)
        cap = IR_TEXT_MIN_CAP;
    char *b = ir_realloc(t->buf, cap);
    if (!b) {
        text_fail(t);
        return -1;
    }
    t->buf = b;
    t->cap = cap;
    return 0;
}

void ir_text_append_slow(ir_text *t, const void *bytes, size_t n)
{
    if (ir_text_reserve(t, n) != 0)
        return;
    memcpy(t->buf + t->len, bytes, n);
    t->len += n;
    t->buf[t->len] = 0;
}

/* "00" "01" ... "99": two digits per division, half the divisions of one at a time. */
static const char ir_two_digits[] = "00010203040506070809"
                                    "10111213141516171819"
                                    "20212223242526272829"
                                    "30313233343536373839"
                                    "40414243444546474849"
                                    "50515253545556575859"
                                    "60616263646566676869"
                                    "70717273747576777879"
                                    "80818283848586878889"
                                    "90919293949596979899";

/* Writes the decimal digits of u backwards, ending at end; returns where they start. */
static char *digits_before(char *end, unsigned long long u)
{
    while (u >= 100) {
        unsigned r = (unsigned)(u % 100);
        u /= 100;
        end -= 2;
        memcpy(end, ir_two_digits + 2 * r, 2);
    }
    if (u >= 10) {
        end -= 2;
        memcpy(end, ir_two_digits + 2 * u, 2);
    } else {
        *--end = (char)('0' + u);
    }
    return end;
}

size_t ir_int_str(long long v, char *buf)
{
    char digits[IR_INT_STR_MAX];
    /* Through unsigned: -LLONG_MAX - 1 does not fit in a long long. */
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    char *end = digits + sizeof digits, *start = digits_before(end, u);
    size_t len = 0;
    if (v < 0)
        buf[len++] = '-';
    memcpy(buf + len, start, (size_t)(end - start));
    len += (size_t)(end - start);
    buf[len] = 0;
    return len;
}

void ir_text_int(ir_text *t, long long v)
{
    char buf[IR_INT_STR_MAX];
    ir_text_append(t, buf, ir_int_str(v, buf));
}

size_t ir_type_chars(nb_dtype dt, int rank, const int64_t *shape, char *buf)
{
    const char *name = ir_dtype_name(dt);
    size_t len = strlen(name);
    memcpy(buf, name, len);
    buf[len++] = '[';
    for (int i = 0; i < rank && i < NB_MAX_RANK; i++) {
        if (i)
            buf[len++] = ',';
        len += ir_int_str((long long)shape[i], buf + len);
    }
    buf[len++] = ']';
    buf[len] = 0;
    return len;
}

void ir_text_type(ir_text *t, nb_dtype dt, int rank, const int64_t *shape)
{
    /* Built in a buffer and appended once: comments name a type per operand. */
    char buf[IR_TYPE_STR_MAX];
    ir_text_append(t, buf, ir_type_chars(dt, rank, shape, buf));
}

void ir_text_vprintf(ir_text *t, const char *fmt, va_list ap)
{
    if (t->failed)
        return;
    for (;;) {
        va_list copy;
        va_copy(copy, ap);
        int n = vsnprintf(t->buf ? t->buf + t->len : NULL, t->buf ? t->cap - t->len : 0, fmt, copy);
        va_end(copy);
        if (n < 0)
            break;
        if (t->buf && t->len + (size_t)n < t->cap) {
            t->len += (size_t)n;
            return;
        }
        if (ir_text_reserve(t, (size_t)n) != 0)
            return;
    }
    text_fail(t);
}

void ir_text_printf(ir_text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ir_text_vprintf(t, fmt, ap);
    va_end(ap);
}

void ir_errbuf(char *err, size_t size, const char *fmt, ...)
{
    if (!err || size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, size, fmt, ap);
    va_end(ap);
}
