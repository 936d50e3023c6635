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
    const char *name;   /* "tcc", "cc", "auto" */
    cg_rt_link rt_link; /* how code generated for it reaches the runtime kernels */
    /* Compiles generated C: 0 with *jit filled, or -1 with a message in err that starts
     * with the backend's name, and *jit empty. */
    int (*compile)(const char *source, rt_jit *jit, char *err, size_t size);
    /* Releases what compile made; an empty jit is fine. */
    void (*free)(rt_jit *jit);
    nb_backend code; /* whose code compile makes: this row's own value, or tcc for auto */
    /* The row whose build of the same source replaces the code in the background
     * (rt_tier.c), or NULL. Its rt_link must be this row's. */
    const struct rt_backend *upgrade;
} rt_backend;

/* The row of backend, or NULL when no backend has that value. */
const rt_backend *rt_backend_find(nb_backend backend);

/* Compiles source with libtcc (under the project's libtcc mutex). Returns 0, or -1 with
 * a message in err that quotes the offending generated line. */
int rt_tcc_compile(const char *source, rt_jit *jit, char *err, size_t size);
/* The same for source generated with CG_RT_LINK_POINTERS (the C a shared object
 * needs): the kernel pointers are filled before the code becomes read-only. */
int rt_tcc_compile_pointers(const char *source, rt_jit *jit, char *err, size_t size);
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
/* The random number generator's entry points (rt_random.c), named as generated code
 * calls them ("nbm_uniformf"). */
#define RT_RANDOM_SYMBOLS 2
extern const rt_symbol rt_random_symbols[RT_RANDOM_SYMBOLS];
extern const int rt_n_kernel_symbols;

/* ---- the floating-point mode of a run (rt_fpmode.c) ----------------------------- */

/* The caller's floating-point control state, saved by rt_fpmode_enter. */
typedef struct rt_fpmode {
    unsigned saved; /* the control register as the thread had it */
    int changed;    /* whether enter wrote it (leave then writes saved back) */
} rt_fpmode;

/* Saves the calling thread's floating-point mode in m and sets flush-to-zero and
 * denormals-are-zero (flush nonzero: NB_DENORMALS_FLUSH) or clears both (exact IEEE
 * subnormals), leaving rounding and exception masks as they were. The mode belongs to
 * the thread: a pool worker that runs part of a program adopts the caller's mode
 * (rt_fpmode_adopt below) before its share of the work. A no-op
 * on architectures other than x86-64 and AArch64. */
void rt_fpmode_enter(rt_fpmode *m, int flush);
/* Puts back the mode that rt_fpmode_enter saved in m, on the same thread: every control
 * bit (flushing, rounding, exception masks) as it was; exception flags the work raised
 * stay raised, as after any arithmetic. */
void rt_fpmode_leave(const rt_fpmode *m);
/* The calling thread's floating-point control bits (rounding, flushing, exception
 * masks), for a pool worker to adopt: rt_fpmode_adopt(rt_fpmode_current()) on another
 * thread makes it round and flush as this one does. Status flags stay the thread's. */
unsigned rt_fpmode_current(void);
void rt_fpmode_adopt(unsigned mode);

/* ---- the thread pool (rt_pool.c, rt_threads.c) ---------------------------------- */

/* Most threads a program may ask for (nb_compile_options.threads). */
#define RT_THREADS_MAX 256

/* Holds the process's pool for a program of `threads` threads (nothing for one),
 * creating it or adding workers until it has threads - 1. 0, or -1 when out of
 * memory. A worker the system refuses to start leaves the pool smaller (fewer parts run
 * at once, the same results). Each successful acquire is paired with a release. */
int rt_pool_acquire(int threads);
/* Drops a program's hold; the last one stops, joins and frees the workers. */
void rt_pool_release(int threads);
/* Workers the pool has now (0 without a pool), for tests. */
int rt_pool_workers(void);
/* Parts of split kernels the workers have run since the process started, for tests. */
long rt_pool_worker_parts_run(void);

/* The thread count of nb_compile_options.threads == 0: nb_set_threads's value, else the
 * machine's online cores (at most RT_THREADS_MAX). */
int rt_threads_default(void);
/* Sets OpenBLAS to one thread, once for the process (nb_compile calls it): large gemms
 * are split on the pool instead (rt_kernels.c). */
void rt_threads_blas_init(void);
/* Fewest elements per part of a split kernel (CG_SPLIT_MIN unless a test sets another,
 * > 0, to split the small kernels of random graphs). */
long rt_threads_split_min(void);
void rt_threads_set_split_min(long elements);

/* ---- programs (rt_program.c, rt_params.c) --------------------------------------- */

/* Parameter memory, shared by the programs compiled with share_state. */
typedef struct rt_state {
    int refs;
    size_t size;
    unsigned char *bytes; /* CG_ALIGN-aligned, inside base */
    void *base;           /* what to free */
} rt_state;

/* ---- tiered compilation (rt_tier.c) --------------------------------------------- */

typedef struct rt_tier rt_tier;
/* Starts building p's source with the row upgrade on a thread of its own (all signals
 * blocked). 0, or -1 with "out of memory" in err; a thread that cannot be started is a
 * failed build (p stays on its code), not an error. */
int rt_tier_start(nb_program *p, const rt_backend *upgrade, char *err, size_t size);
/* Installs the upgrade's code in p when its build has ended well and it is not in yet.
 * Called at the start of a run only, on the thread that runs p. */
void rt_tier_install(nb_program *p);
/* The backend whose code p's next run uses: the upgrade's once its code is ready (or
 * installed), else that of the row p was compiled with. Any thread may ask. */
nb_backend rt_tier_backend(const rt_tier *t);
/* Waits for the build to end (at once in a child process forked since it started). */
void rt_tier_wait(rt_tier *t);
/* The build's error, or NULL. */
const char *rt_tier_error(const rt_tier *t);
/* Waits for the build, releases its code unless installed, frees t (NULL is fine). */
void rt_tier_free(rt_tier *t);

struct nb_program {
    const rt_backend *backend; /* what made jit (NULL until nb_compile picks it) */
    rt_jit jit;
    rt_tier *tier;        /* the background build of NB_BACKEND_AUTO, or NULL */
    int tier_settled;     /* the build has ended and its outcome is in (run's thread only) */
    cg_program cg;        /* source text and where every slot lives */
    /* The portable C of the same program for nb_program_export (CG_RT_LINK_STATIC, one
     * thread), when compiled with nb_compile_options.exportable; else empty (source
     * NULL). Its slots are cg's: the same graph, in the same order. */
    cg_program exported;
    unsigned char *arena; /* intermediates and outputs, CG_ALIGN-aligned */
    void *arena_base;     /* the block arena lies in: what to free */
    rt_state *state;      /* parameters */
    const void **bound;   /* one pointer per input, NULL until bound */
    double compile_seconds;
    int flush;        /* runs flush subnormals to zero (nb_compile_options.denormals) */
    int threads;      /* holds the pool (rt_pool_acquire) when above 1; 0 until compiled */
    char error[1024]; /* fixed: reporting an error allocates nothing */
    int has_error;
    /* The names of the last nb_program_load_ex's report (rt_checkpoint.c), until the
     * next load or the free: missing points into cg.params' names, unexpected owns its
     * strings. */
    const char **load_missing;
    char **load_unexpected;
    int n_load_unexpected;
};

/* Frees the names of the last load's report (rt_checkpoint.c). */
void rt_load_report_free(nb_program *p);

/* NABLA_DUMP_DIR (rt_dump.c): writes source as <h>.c and g's IR text (ir_print) as
 * <h>.ir into the existing directory dir, h the XXH64 of source (seed 0) in 16
 * lowercase hex digits, each file replaced atomically (a symbolic link there is
 * replaced, never followed). Never fails the caller: a file that cannot be written is
 * reported on stderr, once per process. */
void rt_dump_program(const char *dir, const char *source, const ir_graph *g);

/* Records an error on the program; returns -1. */
int rt_error(nb_program *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Forgets the program's error: every public call that can fail calls it first, so that
 * nb_program_error describes the last such call (NULL when it succeeded). */
void rt_error_clear(nb_program *p);
/* CG_ALIGN-aligned zeroed memory of at least size bytes (CG_ALIGN when size is 0), or
 * NULL; *base is the block to free (NULL on failure). Fresh pages stay untouched. */
void *rt_alloc_zeroed(size_t size, void **base);

#endif
