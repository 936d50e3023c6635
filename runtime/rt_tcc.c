/* rt_tcc.c — the libtcc backend: compiles generated C in memory. libtcc keeps global
 * state, so every use of it goes through rt_tcc_lock. */
#include <libtcc.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cg.h"
#include "rt.h"
#include "rt_kernels.h"

static pthread_mutex_t rt_tcc_lock = PTHREAD_MUTEX_INITIALIZER;

static const rt_symbol rt_libm[] = {
#define CG_LIBM(fn, proto) {#fn, (const void *)fn},
#include "cg_libm.def"
#undef CG_LIBM
};

/* Collects libtcc's messages; keeps the first error (warnings are errors: -Werror). */
typedef struct tcc_errors {
    char first[512];
    int count;
} tcc_errors;

static void on_error(void *opaque, const char *msg)
{
    tcc_errors *e = opaque;
    if (e->count++ == 0)
        snprintf(e->first, sizeof e->first, "%s", msg);
}

/* Appends the generated line that a "<string>:N: error" message points at. */
static void quote_line(const char *source, const char *msg, char *err, size_t size)
{
    const char *p = strstr(msg, "<string>:");
    long line = p ? strtol(p + 9, NULL, 10) : 0;
    const char *s = source;
    for (long i = 1; s && i < line; i++) {
        s = strchr(s, '\n');
        if (s)
            s++;
    }
    if (line <= 0 || !s) {
        snprintf(err, size, "tcc: %s", msg);
        return;
    }
    int len = (int)strcspn(s, "\n");
    snprintf(err, size, "tcc: %s\n  generated line %ld: %.*s", msg, line, len > 300 ? 300 : len, s);
}

double rt_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int rt_tcc_compile(const char *source, rt_jit *jit, char *err, size_t size)
{
    tcc_errors e = {{0}, 0};
    memset(jit, 0, sizeof *jit);
    pthread_mutex_lock(&rt_tcc_lock);
    TCCState *s = tcc_new();
    if (!s) {
        pthread_mutex_unlock(&rt_tcc_lock);
        snprintf(err, size, "tcc: cannot create a compiler state (out of memory)");
        return -1;
    }
    tcc_set_error_func(s, &e, on_error);
    /* -nostdlib: everything generated code calls comes from tcc_add_symbol below. */
    tcc_set_options(s, "-Werror -Wall -nostdlib");
    tcc_set_output_type(s, TCC_OUTPUT_MEMORY);
    for (size_t i = 0; i < sizeof rt_libm / sizeof *rt_libm; i++)
        tcc_add_symbol(s, rt_libm[i].name, rt_libm[i].addr);
    for (int i = 0; i < rt_n_kernel_symbols; i++)
        tcc_add_symbol(s, rt_kernel_symbols[i].name, rt_kernel_symbols[i].addr);
    int ok = tcc_compile_string(s, source) == 0 && e.count == 0;
#ifdef TCC_RELOCATE_AUTO
    ok = ok && tcc_relocate(s, TCC_RELOCATE_AUTO) >= 0;
#else
    ok = ok && tcc_relocate(s) >= 0;
#endif
    void *entry = ok ? tcc_get_symbol(s, CG_ENTRY) : NULL;
    pthread_mutex_unlock(&rt_tcc_lock);
    if (!entry) {
        if (e.count)
            quote_line(source, e.first, err, size);
        else
            snprintf(err, size, "tcc: %s", ok ? "the entry point is missing" : "relocation failed");
        pthread_mutex_lock(&rt_tcc_lock);
        tcc_delete(s);
        pthread_mutex_unlock(&rt_tcc_lock);
        return -1;
    }
    jit->state = s;
    /* A data pointer to a function pointer: the one cast every JIT makes. */
    memcpy(&jit->entry, &entry, sizeof entry);
    return 0;
}

void rt_tcc_free(rt_jit *jit)
{
    if (!jit || !jit->state)
        return;
    pthread_mutex_lock(&rt_tcc_lock);
    tcc_delete(jit->state);
    pthread_mutex_unlock(&rt_tcc_lock);
    jit->state = NULL;
    jit->entry = NULL;
}
