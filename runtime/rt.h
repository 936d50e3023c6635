/* rt.h — the runtime: JIT backends and the internals of nb_program. */
#ifndef RT_H
#define RT_H

#include <stddef.h>

/* Code compiled in memory; entry is the generated CG_ENTRY function. */
typedef struct rt_jit {
    void *state; /* backend state that owns the code */
    int (*entry)(const void *const *in, unsigned char *arena, unsigned char *state);
} rt_jit;

/* Compiles source with libtcc (under the project's libtcc mutex). Returns 0, or -1 with
 * a message in err that quotes the offending generated line. */
int rt_tcc_compile(const char *source, rt_jit *jit, char *err, size_t size);
void rt_tcc_free(rt_jit *jit);

/* Seconds from a monotonic clock. */
double rt_seconds(void);

#endif
