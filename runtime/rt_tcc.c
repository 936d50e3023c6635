/* rt_tcc.c — the libtcc backend: compiles generated C in memory. libtcc keeps global
 * state, so every use of it goes through rt_tcc_lock. The code lives in pages nabla
 * maps itself: writable while libtcc relocates into them, then read-execute, never
 * both at once. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, which POSIX 2008 lacks */
#include <errno.h>
#include <libtcc.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cg.h"
#include "rt.h"
#include "rt_kernels.h"

/* Relocating into memory of our own needs tcc_relocate(s, ptr), which later tinycc
 * replaced by tcc_relocate(s). */
#ifndef TCC_RELOCATE_AUTO
#error "nabla needs libtcc 0.9.27's tcc_relocate(s, ptr) to place code in pages of its own"
#endif

static pthread_mutex_t rt_tcc_lock = PTHREAD_MUTEX_INITIALIZER;

/* Our copy of libtcc.a reads these instead of glibc's stdout, stderr and environ
 * (CMakeLists.txt renames them): libtcc is not position-independent, and its PC-relative
 * references to glibc's variables are the only ones a shared libnabla.so cannot hold.
 * Ours are hidden, so those references stay inside the library; tcc_compile sets them
 * before every use of libtcc. */
__attribute__((visibility("hidden"))) FILE *rt_tcc_stdout;
__attribute__((visibility("hidden"))) FILE *rt_tcc_stderr;
__attribute__((visibility("hidden"))) char **rt_tcc_environ;
extern char **environ;

/* The mapping libtcc is relocating into (under rt_tcc_lock), or NULL. */
static unsigned char *rt_tcc_target;
static size_t rt_tcc_target_size;

int rt_tcc_mprotect(void *addr, size_t len, int prot)
{
    uintptr_t a = (uintptr_t)addr, t = (uintptr_t)rt_tcc_target;
    /* libtcc 0.9.27 asks for read-write-execute on the code it just wrote. In our own
     * mapping that request is granted by doing nothing: rt_tcc_compile makes the whole
     * mapping read-execute once relocation is done. */
    if (rt_tcc_target && a >= t && len <= rt_tcc_target_size && a - t <= rt_tcc_target_size - len)
        return 0;
    /* Anything else (a libtcc that manages its own memory) gets the real call, but
     * never writable and executable together. */
    if ((prot & PROT_WRITE) && (prot & PROT_EXEC)) {
        errno = EACCES;
        return -1;
    }
    return mprotect(addr, len, prot);
}

static const rt_symbol rt_libm[] = {
#define CG_LIBM(fn, proto, exact) {#fn, (const void *)fn},
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

/* Compiles source whose runtime kernels are declared as link asks: as functions
 * (given to libtcc by name) or as pointers (filled in the code's own data once it is
 * relocated, before it becomes read-only). */
static int tcc_compile(const char *source, cg_rt_link link, rt_jit *jit, char *err, size_t size)
{
    tcc_errors e = {{0}, 0};
    memset(jit, 0, sizeof *jit);
    pthread_mutex_lock(&rt_tcc_lock);
    rt_tcc_stdout = stdout;
    rt_tcc_stderr = stderr;
    rt_tcc_environ = environ;
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
    /* Code linked by pointers (NB_BACKEND_AUTO's first tier) defines nabla's math in its
     * text and reads the kernels through its own table. */
    if (link == CG_RT_LINK_SYMBOLS) {
        for (int i = 0; i < CG_MATH_COUNT; i++)
            tcc_add_symbol(s, rt_math_symbols[i].name, rt_math_symbols[i].addr);
        for (int i = 0; i < RT_RANDOM_SYMBOLS; i++)
            tcc_add_symbol(s, rt_random_symbols[i].name, rt_random_symbols[i].addr);
        for (int i = 0; i < rt_n_kernel_symbols; i++)
            tcc_add_symbol(s, rt_kernel_symbols[i].name, rt_kernel_symbols[i].addr);
    }
    const char *why = NULL;
    unsigned char *code = MAP_FAILED;
    size_t len = 0;
    void *entry = NULL;
    if (tcc_compile_string(s, source) != 0 || e.count != 0) {
        why = "compile";
        goto done;
    }
    /* The size first, then our own read-write pages, relocation into them, and only
     * then read-execute. libtcc's request for read-write-execute pages in between comes
     * to rt_tcc_mprotect and is dropped. */
    int need = tcc_relocate(s, NULL);
    long page = sysconf(_SC_PAGESIZE);
    if (need <= 0 || page <= 0 || ir_size_align((size_t)need, (size_t)page, &len) != 0) {
        why = "relocation failed";
        goto done;
    }
    code = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (code == MAP_FAILED) {
        why = "cannot map memory for the code (out of memory)";
        goto done;
    }
    rt_tcc_target = code;
    rt_tcc_target_size = len;
    int relocated = tcc_relocate(s, code) >= 0;
    rt_tcc_target = NULL;
    rt_tcc_target_size = 0;
    if (!relocated || e.count != 0) {
        why = "relocation failed";
        goto done;
    }
    if (!(entry = tcc_get_symbol(s, CG_ENTRY))) {
        why = "the entry point is missing";
        goto done;
    }
    /* The pointers live in our mapping, still writable here. */
    if (link == CG_RT_LINK_POINTERS)
        for (int i = 0; i < rt_n_kernel_symbols; i++) {
            void *slot = tcc_get_symbol(s, rt_kernel_symbols[i].name);
            if (slot)
                memcpy(slot, &rt_kernel_symbols[i].addr, sizeof(void *));
        }
    if (mprotect(code, len, PROT_READ | PROT_EXEC) != 0) {
        why = "the system refuses to make the code executable (mprotect)";
        entry = NULL;
    }
done:
    /* The code lives in our mapping now: the compiler state is no longer needed. */
    tcc_delete(s);
    pthread_mutex_unlock(&rt_tcc_lock);
    if (!entry) {
        if (e.count)
            quote_line(source, e.first, err, size);
        else
            snprintf(err, size, "tcc: %s", why);
        if (code != MAP_FAILED)
            munmap(code, len);
        return -1;
    }
    jit->state = code;
    jit->size = len;
    /* A data pointer to a function pointer: the one cast every JIT makes. */
    memcpy(&jit->entry, &entry, sizeof entry);
    return 0;
}

int rt_tcc_compile(const char *source, rt_jit *jit, char *err, size_t size)
{
    return tcc_compile(source, CG_RT_LINK_SYMBOLS, jit, err, size);
}

int rt_tcc_compile_pointers(const char *source, rt_jit *jit, char *err, size_t size)
{
    return tcc_compile(source, CG_RT_LINK_POINTERS, jit, err, size);
}

void rt_tcc_free(rt_jit *jit)
{
    if (!jit || !jit->state)
        return;
    munmap(jit->state, jit->size);
    jit->state = NULL;
    jit->size = 0;
    jit->entry = NULL;
}
