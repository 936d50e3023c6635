/* rt_cc.c — the cc backend: compiles generated C with the system compiler at -O3 into a
 * shared object, cached on disk (rt_cache.c) by a hash of the source, the command and
 * the machine, and loads it with dlopen. Slower to build than libtcc (about a second,
 * once), much faster to run: loops are vectorized. The runtime kernels reach the shared
 * object through the function pointers that generated code declares for this backend. */
#define _GNU_SOURCE /* posix_spawn_file_actions_addfchdir_np */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rt.h"

extern char **environ;

/* One build or load at a time in this process: loading the same object twice returns
 * one handle whose kernel pointers are written here. */
static pthread_mutex_t rt_cc_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t rt_cc_once = PTHREAD_ONCE_INIT;

/* A process forked while a thread builds (the background build of NB_BACKEND_AUTO)
 * would inherit the lock held by a thread it does not have: the child starts with it
 * free. */
static void cc_lock_reset(void)
{
    pthread_mutex_init(&rt_cc_lock, NULL);
}

static void cc_register_fork(void)
{
    pthread_atfork(NULL, NULL, cc_lock_reset);
}

/* The name of the string every object exports, and the start of its value. Bump the
 * version when what goes into an object changes, so old objects are rebuilt. */
#define RT_CC_KEY_SYMBOL "nb_cc_key"
#define RT_CC_KEY_VERSION "nabla-cc/3"
#define RT_CC_KEY_MAX 128
#define RT_CC_LOG_MAX 300 /* the part of the compiler's message an error quotes */

/* The compiler command; the ISA flag (machine()), output and source follow it. Chosen
 * by measurement and by the tests that compare cc with tcc (docs/performance.md):
 * -march=native is not used, because gcc 12 at -O3 with AVX-512 vectorizes a select
 * of second-order gradients wrongly (tests/test_backend_cc.c, pow_matmul_grad2); and
 * the basic-block (SLP) vectorizer is off, because gcc 12 at -O2 and -O3 (any -march)
 * folds the vector conversions (double)(float)x of a short loop it unrolled into a
 * copy, so a value cast to f32 and back was never rounded (tests/test_ew_edges.c,
 * round_trip_through_f32). Loops are still vectorized. -fno-trapping-math changes no
 * value (nothing here reads the floating-point exception flags) but lets gcc turn the
 * selects of a loop (x < 0 ? -y : y, in nabla's own math and in emitters) into blends:
 * with trapping math it keeps them as branches and does not vectorize the loop.
 * -Bsymbolic: the object's code reads its own kernel pointers, which cc_compile fills,
 * even in a process that exports global nb_rt_* functions of the same names (linked
 * with -rdynamic, as clang's sanitizer runtimes are): without it the loader bound the
 * pointers to those functions' code and the first kernel call crashed
 * (tests/test_backend_cc.c). */
static const char *const rt_cc_flags[] = {
    "-O3",
    "-fno-math-errno",
    "-fno-trapping-math",
    "-ffp-contract=off",
    "-fno-tree-slp-vectorize",
    "-std=c99",
    "-fPIC",
    "-shared",
    "-Wl,-Bsymbolic",
    "-w",
};

/* -fno-builtin-<fn> for each libm function of cg_libm.def whose result is not exact
 * ("" for the exact ones, which stay builtins: sqrt is one instruction). gcc folds a
 * call on a constant at compile time, correctly rounded, where glibc's result may differ
 * in the last bit (tanhf(-0.474347282f): -0.441705137 folded, -0.441705197 at run time);
 * whether it folds depends on inlining, so an unrelated change to a program moved one
 * of its results off libtcc's and off the op-by-op reference (tests/test_backend_cc.c,
 * libm_calls_not_folded). */
static const char *const rt_cc_libm_flags[] = {
#define CG_LIBM(fn, proto, exact) (exact) ? "" : "-fno-builtin-" #fn,
#include "cg_libm.def"
#undef CG_LIBM
};

/* The x86-64-v3 features (AVX2, FMA, BMI1/2, F16C, LZCNT, MOVBE) as /proc/cpuinfo names
 * them. */
static const char *const rt_cc_v3_flags[] = {
    "avx", "avx2", "fma", "bmi1", "bmi2", "f16c", "abm", "movbe", "xsave",
};

/* 1 when the space-separated list has the word. */
static int has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; (p = strstr(p, word)); p += n)
        if ((p == list || p[-1] == ' ' || p[-1] == '\t') &&
            (p[n] == ' ' || p[n] == '\n' || p[n] == 0))
            return 1;
    return 0;
}

/* Hashes the CPU's model and flags (objects from another machine must not load) and
 * picks the ISA flag: x86-64-v3 (AVX2) when the CPU has it, never AVX-512 (see
 * rt_cc_flags). */
static uint64_t read_machine(const char **isa)
{
    uint64_t h = IR_FNV1A_BASIS;
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[4096];
    int seen = 0, v3 = 0;
    while (f && seen < 2 && fgets(line, sizeof line, f)) {
        int model = strncmp(line, "model name", 10) == 0, flags = strncmp(line, "flags", 5) == 0;
        if (!model && !flags)
            continue;
        h = ir_fnv1a(h, line, strlen(line));
        seen++;
        if (flags) {
            v3 = 1;
            for (size_t i = 0; i < sizeof rt_cc_v3_flags / sizeof *rt_cc_v3_flags; i++)
                v3 = v3 && has_word(line, rt_cc_v3_flags[i]);
        }
    }
    if (f)
        fclose(f);
#if defined(__x86_64__)
    *isa = v3 ? "-march=x86-64-v3" : NULL;
#else
    (void)v3;
    *isa = NULL;
#endif
    return h;
}

/* read_machine's answer, read once per process (under rt_cc_lock): reading
 * /proc/cpuinfo took about 0.1 ms, longer than hashing a 30 KB source, on every
 * compile, and the CPU does not change under a running process. */
static int rt_cc_machine_known;
static uint64_t rt_cc_machine_hash;
static const char *rt_cc_machine_isa;

static uint64_t machine(const char **isa)
{
    if (!rt_cc_machine_known) {
        rt_cc_machine_hash = read_machine(&rt_cc_machine_isa);
        rt_cc_machine_known = 1;
    }
    *isa = rt_cc_machine_isa;
    return rt_cc_machine_hash;
}

/* Runs cc on src writing out, both names inside the cache directory (the compiler runs
 * there); its messages go to log_fd. 0, or -1 with err. */
static int run_cc(const char *cc, const char *isa, const rt_cache *c, const char *src,
                  const char *out, int log_fd, char *err, size_t size)
{
    /* cc, the flags, -fno-builtin-<fn>s, the ISA, -o out, src, -lm, NULL */
    const char *argv[1 + sizeof rt_cc_flags / sizeof *rt_cc_flags + CG_LIBM_COUNT + 6];
    int n = 0;
    argv[n++] = cc;
    for (size_t i = 0; i < sizeof rt_cc_flags / sizeof *rt_cc_flags; i++)
        argv[n++] = rt_cc_flags[i];
    for (size_t i = 0; i < sizeof rt_cc_libm_flags / sizeof *rt_cc_libm_flags; i++)
        if (*rt_cc_libm_flags[i])
            argv[n++] = rt_cc_libm_flags[i];
    if (isa)
        argv[n++] = isa;
    argv[n++] = "-o";
    argv[n++] = out;
    argv[n++] = src;
    argv[n++] = "-lm";
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0) {
        snprintf(err, size, "cc: cannot start the compiler (out of memory)");
        return -1;
    }
    pid_t pid;
    int rc = posix_spawn_file_actions_addfchdir_np(&fa, c->fd);
    if (rc == 0)
        rc = posix_spawn_file_actions_adddup2(&fa, log_fd, 1);
    if (rc == 0)
        rc = posix_spawn_file_actions_adddup2(&fa, log_fd, 2);
    if (rc == 0)
        rc = posix_spawnp(&pid, cc, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc == ENOENT && strchr(cc, '/')) {
        snprintf(err, size, "cc: no C compiler was found at '%.300s' (NABLA_CC)", cc);
        return -1;
    }
    if (rc == ENOENT) {
        snprintf(err, size,
                 "cc: no C compiler was found: '%.300s' is not on PATH (install one, or set "
                 "NABLA_CC to its path)",
                 cc);
        return -1;
    }
    if (rc != 0) {
        snprintf(err, size, "cc: cannot run '%.300s': %s", cc, strerror(rc));
        return -1;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            snprintf(err, size, "cc: cannot wait for '%.300s': %s", cc, strerror(errno));
            return -1;
        }
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    /* The first line of the compiler's messages says what went wrong. */
    char why[RT_CC_LOG_MAX];
    ssize_t got = pread(log_fd, why, sizeof why - 1, 0);
    why[got > 0 ? got : 0] = 0;
    why[strcspn(why, "\n")] = 0;
    snprintf(err, size, "cc: '%.300s' failed on the generated source%s%s", cc, why[0] ? ": " : "",
             why);
    return -1;
}

/* Writes all of text to fd. */
static int write_all(int fd, const char *text, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        text += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Builds the object for source (with the key line appended) and publishes it as name.
 * Every file is created exclusively under a random name in the private directory; the
 * object is renamed into place only when complete. */
static int build(const char *cc, const char *isa, const rt_cache *c, const char *stem,
                 const char *name, const char *source, const char *key, char *err, size_t size)
{
    char src[256], out[256], log[256], line[RT_CC_KEY_MAX + 64];
    int src_fd = -1, out_fd = -1, log_fd = -1, rc = -1;
    src[0] = out[0] = log[0] = 0;
    src_fd = rt_cache_temp(c, stem, ".c", src, sizeof src);
    if (src_fd >= 0)
        out_fd = rt_cache_temp(c, stem, ".so.tmp", out, sizeof out);
    if (out_fd >= 0)
        log_fd = rt_cache_temp(c, stem, ".log", log, sizeof log);
    if (log_fd < 0) {
        snprintf(err, size, "cc: cannot create a file in the cache directory '%.300s': %s", c->path,
                 strerror(errno));
        goto fail;
    }
    int n = snprintf(line, sizeof line, "\nconst char %s[] = \"%s\";\n", RT_CC_KEY_SYMBOL, key);
    if (write_all(src_fd, source, strlen(source)) != 0 || write_all(src_fd, line, (size_t)n) != 0) {
        snprintf(err, size, "cc: cannot write '%.300s/%s': %s", c->path, src, strerror(errno));
        goto fail;
    }
    if (run_cc(cc, isa, c, src, out, log_fd, err, size) != 0)
        goto fail;
    if (rt_cache_publish(c, out, name, err, size) != 0)
        goto fail;
    out[0] = 0;
    rc = 0;
fail:
    if (src_fd >= 0)
        close(src_fd);
    if (out_fd >= 0)
        close(out_fd);
    if (log_fd >= 0)
        close(log_fd);
    const char *temps[3] = {src, out, log};
    for (int i = 0; i < 3; i++)
        if (temps[i][0])
            rt_cache_remove(c, temps[i]);
    return rc;
}

/* Loads the object of source from the cache, building it when it is missing, or when
 * the file there is not one to trust (foreign, truncated, empty, stale: it is removed
 * and rebuilt). 0 with the dlopen handle, or -1 with err. */
static int load_or_build(const char *cc, const char *source, void **handle, char *err, size_t size)
{
    rt_cache c;
    char resolved[PATH_MAX], stem[32], name[64], key[RT_CC_KEY_MAX], why[RT_CC_LOG_MAX + 100];
    const char *isa;
    int rc = -1;
    /* A relative compiler path means the caller's directory; the compiler runs in the
     * cache directory. */
    if (strchr(cc, '/') && cc[0] != '/' && realpath(cc, resolved))
        cc = resolved;
    if (rt_cache_open(&c, err, size) != 0)
        return -1;
    /* The source, which can be megabytes, goes through XXH64 (about ten times FNV-1a's
     * speed); the few short strings after it through FNV-1a. */
    size_t len = strlen(source);
    uint64_t h = IR_FNV1A_BASIS, text = ir_xxh64(source, len, 0), cpu = machine(&isa);
    h = ir_fnv1a(h, RT_CC_KEY_VERSION, sizeof RT_CC_KEY_VERSION);
    h = ir_fnv1a(h, &text, sizeof text);
    h = ir_fnv1a(h, cc, strlen(cc) + 1);
    for (size_t i = 0; i < sizeof rt_cc_flags / sizeof *rt_cc_flags; i++)
        h = ir_fnv1a(h, rt_cc_flags[i], strlen(rt_cc_flags[i]) + 1);
    for (size_t i = 0; i < sizeof rt_cc_libm_flags / sizeof *rt_cc_libm_flags; i++)
        h = ir_fnv1a(h, rt_cc_libm_flags[i], strlen(rt_cc_libm_flags[i]) + 1);
    h = ir_fnv1a(h, &cpu, sizeof cpu);
    if (isa)
        h = ir_fnv1a(h, isa, strlen(isa) + 1);
    snprintf(stem, sizeof stem, "%016llx", (unsigned long long)h);
    snprintf(name, sizeof name, "%s.so", stem);
    snprintf(key, sizeof key, "%s %s %zu", RT_CC_KEY_VERSION, stem, len);
    for (int attempt = 0; attempt < 2; attempt++) {
        int got = rt_cache_load(&c, name, RT_CC_KEY_SYMBOL, key, handle, why, sizeof why);
        if (got == 1) {
            rc = 0;
            break;
        }
        if (attempt == 1) {
            snprintf(err, size, "cc: cannot load the object just built, '%.300s/%s': %s", c.path,
                     name, got == 0 ? "it is gone" : why);
            break;
        }
        if (got < 0)
            rt_cache_remove(&c, name);
        if (build(cc, isa, &c, stem, name, source, key, err, size) != 0)
            break;
    }
    rt_cache_close(&c);
    return rc;
}

static int cc_compile(const char *source, rt_jit *jit, char *err, size_t size)
{
    const char *cc = getenv("NABLA_CC");
    void *handle;
    memset(jit, 0, sizeof *jit);
    if (!cc || !*cc)
        cc = "cc";
    if (load_or_build(cc, source, &handle, err, size) != 0)
        return -1;
    /* Generated code reaches the runtime kernels through pointers it declares. */
    for (int i = 0; i < rt_n_kernel_symbols; i++) {
        void **slot = dlsym(handle, rt_kernel_symbols[i].name);
        if (slot)
            memcpy(slot, &rt_kernel_symbols[i].addr, sizeof(void *));
    }
    void *entry = dlsym(handle, CG_ENTRY);
    if (!entry) {
        dlclose(handle);
        snprintf(err, size, "cc: the object has no entry point '%s'", CG_ENTRY);
        return -1;
    }
    jit->state = handle;
    memcpy(&jit->entry, &entry, sizeof entry);
    return 0;
}

int rt_cc_compile(const char *source, rt_jit *jit, char *err, size_t size)
{
    pthread_once(&rt_cc_once, cc_register_fork);
    pthread_mutex_lock(&rt_cc_lock);
    int rc = cc_compile(source, jit, err, size);
    pthread_mutex_unlock(&rt_cc_lock);
    return rc;
}

void rt_cc_free(rt_jit *jit)
{
    if (!jit || !jit->state)
        return;
    pthread_mutex_lock(&rt_cc_lock);
    dlclose(jit->state);
    pthread_mutex_unlock(&rt_cc_lock);
    jit->state = NULL;
    jit->entry = NULL;
}
