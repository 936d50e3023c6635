/* rt.h — the runtime: JIT backends and the internals of nb_program. */
#ifndef RT_H
#define RT_H

#include <stddef.h>

#include "cg.h"

/* Compiled code; entry is the generated CG_ENTRY function. */
typedef struct rt_jit {
    void *state; /* what owns the code: tcc's mapping, cc's dlopen handle */
    size_t size; /* bytes mapped at state (tcc) */
    int (*entry)(const void *const *in, unsigned char *arena, unsigned char *state);
} rt_jit;

/* ---- the backends (rt_backend.c) ------------------------------------------------ */

/* A backend: one row of the table that nb_compile looks its nb_backend up in. */
typedef struct rt_backend {
    const char *name;   /* "tcc", "cc" */
    cg_rt_link rt_link; /* how code generated for it reaches the runtime kernels */
    /* Compiles generated C: 0 with *jit filled, or -1 with a message in err that starts
     * with the backend's name, and *jit empty. */
    int (*compile)(const char *source, rt_jit *jit, char *err, size_t size);
    /* Releases what compile made; an empty jit is fine. */
    void (*free)(rt_jit *jit);
} rt_backend;

/* The row of backend, or NULL when no backend has that value. */
const rt_backend *rt_backend_find(nb_backend backend);

/* Compiles source with libtcc (under the project's libtcc mutex). Returns 0, or -1 with
 * a message in err that quotes the offending generated line. */
int rt_tcc_compile(const char *source, rt_jit *jit, char *err, size_t size);
void rt_tcc_free(rt_jit *jit);
/* What libtcc calls instead of mprotect (CMakeLists.txt renames the symbol in nabla's
 * copy of libtcc.a): a request on the mapping rt_tcc_compile is relocating into is
 * dropped (it is made read-execute afterwards); any other is passed on, except one for
 * pages both writable and executable, which fails with EACCES. */
int rt_tcc_mprotect(void *addr, size_t len, int prot);

/* Compiles source with the system C compiler into a shared object cached by a hash of
 * the source and the command (rt_cc.c), and loads it. 0, or -1 with err. */
int rt_cc_compile(const char *source, rt_jit *jit, char *err, size_t size);
void rt_cc_free(rt_jit *jit);

/* ---- the cc backend's cache directory (rt_cache.c) ------------------------------- */

#define RT_CACHE_PATH_MAX 4096

/* The cache directory, open and checked private for one build. */
typedef struct rt_cache {
    int fd;                       /* the directory; every file is opened relative to it */
    char path[RT_CACHE_PATH_MAX]; /* its name, for messages */
} rt_cache;

/* Finds the cache directory ($NABLA_CACHE_DIR, $XDG_CACHE_HOME/nabla, $HOME/.cache/nabla,
 * else a private directory of this process), creates what is missing 0700 and opens
 * it. Refuses a directory that is a symbolic link, belongs to another user or that
 * group or others can write to. 0, or -1 with err. */
int rt_cache_open(rt_cache *c, char *err, size_t size);
void rt_cache_close(rt_cache *c);
/* Creates "<stem>.<16 random hex digits><suffix>" exclusively (O_EXCL | O_NOFOLLOW,
 * 0600) and returns its descriptor (the caller closes it) with its name in name; -1
 * with errno. */
int rt_cache_temp(const rt_cache *c, const char *stem, const char *suffix, char *name, size_t size);
/* Makes the built object tmp owner-only and renames it to name atomically. 0, or -1
 * with err. */
int rt_cache_publish(const rt_cache *c, const char *tmp, const char *name, char *err, size_t size);
/* Removes name from the directory, if it is there. */
void rt_cache_remove(const rt_cache *c, const char *name);
/* Loads the object name if it is a complete shared object, a regular file of the
 * effective user that nobody else can write to, and its string key_symbol equals key.
 * 1 with *handle (the caller dlcloses it), 0 when there is no such file, -1 when the
 * file must not be used, with the reason in why. */
int rt_cache_load(const rt_cache *c, const char *name, const char *key_symbol, const char *key,
                  void **handle, char *why, size_t size);

/* A function the runtime hands to generated code by name. */
typedef struct rt_symbol {
    const char *name;
    const void *addr;
} rt_symbol;
/* The kernels of cg_rt.def. */
extern const rt_symbol rt_kernel_symbols[];
/* nabla's own f32 math (rt_math.c), CG_MATH_COUNT entries named as generated code
 * calls them ("nbm_expf"). */
extern const rt_symbol rt_math_symbols[];
extern const int rt_n_kernel_symbols;

/* ---- programs (rt_program.c, rt_params.c) --------------------------------------- */

/* Parameter memory, shared by the programs compiled with share_state. */
typedef struct rt_state {
    int refs;
    size_t size;
    unsigned char *bytes;
} rt_state;

struct nb_program {
    const rt_backend *backend; /* what made jit (NULL until nb_compile picks it) */
    rt_jit jit;
    cg_program cg;        /* source text and where every slot lives */
    unsigned char *arena; /* intermediates and outputs */
    rt_state *state;      /* parameters */
    const void **bound;   /* one pointer per input, NULL until bound */
    double compile_seconds;
    char error[1024]; /* fixed: reporting an error allocates nothing */
    int has_error;
};

/* Records an error on the program; returns -1. */
int rt_error(nb_program *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Forgets the program's error: every public call that can fail calls it first, so that
 * nb_program_error describes the last such call (NULL when it succeeded). */
void rt_error_clear(nb_program *p);
/* 64-byte aligned zeroed memory (at least 64 bytes), or NULL. */
void *rt_alloc_zeroed(size_t size);

#endif
