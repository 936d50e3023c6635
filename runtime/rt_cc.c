/* rt_cc.c — the cc backend: compiles generated C with the system compiler at -O3 into a
 * shared object, cached on disk by a hash of the source, the command and the machine,
 * and loads it with dlopen. Slower to build than libtcc (about a second, once), much
 * faster to run: loops are vectorized. The runtime kernels reach the shared object
 * through the function pointers that generated code declares for this backend. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rt.h"

extern char **environ;

/* One build or load at a time in this process: loading the same object twice returns
 * one handle whose kernel pointers are written here. */
static pthread_mutex_t rt_cc_lock = PTHREAD_MUTEX_INITIALIZER;

/* The compiler command; the source and output paths follow it. */
static const char *const rt_cc_flags[] = {
    "-O3",      "-march=native", "-fno-math-errno", "-ffp-contract=off",
    "-std=c99", "-fPIC",         "-shared",         "-w",
};

static uint64_t fnv1a(uint64_t h, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    return h;
}

/* The CPU's model and flags: -march=native code from another machine must not load. */
static uint64_t hash_machine(uint64_t h)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[4096];
    int seen = 0;
    while (f && seen < 2 && fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0 || strncmp(line, "flags", 5) == 0) {
            h = fnv1a(h, line, strlen(line));
            seen++;
        }
    }
    if (f)
        fclose(f);
    return h;
}

/* $NABLA_CACHE_DIR, else $XDG_CACHE_HOME/nabla, else $HOME/.cache/nabla, else /tmp. */
static int cache_dir(char *dir, size_t size)
{
    const char *env = getenv("NABLA_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    int n;
    if (env && *env)
        n = snprintf(dir, size, "%s", env);
    else if (xdg && *xdg)
        n = snprintf(dir, size, "%s/nabla", xdg);
    else if (home && *home)
        n = snprintf(dir, size, "%s/.cache/nabla", home);
    else
        n = snprintf(dir, size, "/tmp/nabla-cache");
    if (n < 0 || (size_t)n >= size)
        return -1;
    /* mkdir -p */
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        mkdir(dir, 0755);
        *p = '/';
    }
    return mkdir(dir, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

/* Runs cc on src writing out; the compiler's messages go to log. */
static int run_cc(const char *cc, const char *src, const char *out, const char *log)
{
    const char *argv[32];
    int n = 0;
    argv[n++] = cc;
    for (size_t i = 0; i < sizeof rt_cc_flags / sizeof *rt_cc_flags; i++)
        argv[n++] = rt_cc_flags[i];
    argv[n++] = "-o";
    argv[n++] = out;
    argv[n++] = src;
    argv[n++] = "-lm";
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid;
    int rc = posix_spawnp(&pid, cc, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -1;
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* The first line of the compiler's log, for the error message. */
static void first_line(const char *log, char *buf, size_t size)
{
    FILE *f = fopen(log, "r");
    buf[0] = 0;
    if (f) {
        if (fgets(buf, (int)size, f))
            buf[strcspn(buf, "\n")] = 0;
        fclose(f);
    }
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    size_t len = strlen(text);
    int ok = fwrite(text, 1, len, f) == len;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* Builds the shared object for source at so_path unless it is already there. Builds
 * go to temporary names and are renamed into place, so concurrent builders and
 * interrupted builds never leave a half-written object under the final name. */
static int build(const char *cc, const char *dir, const char *so_path, const char *source,
                 char *err, size_t size)
{
    if (access(so_path, R_OK) == 0)
        return 0;
    char src[4200], tmp[4200], log[4200], why[300];
    snprintf(src, sizeof src, "%s.%ld.c", so_path, (long)getpid());
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", so_path, (long)getpid());
    snprintf(log, sizeof log, "%s.%ld.log", so_path, (long)getpid());
    int rc = -1;
    if (write_file(src, source) != 0)
        snprintf(err, size, "cc: cannot write '%s' (cache directory '%s')", src, dir);
    else if (run_cc(cc, src, tmp, log) != 0) {
        first_line(log, why, sizeof why);
        snprintf(err, size, "cc: '%s' failed on the generated source%s%s", cc, why[0] ? ": " : "",
                 why);
    } else if (rename(tmp, so_path) != 0)
        snprintf(err, size, "cc: cannot move the object into '%s'", so_path);
    else
        rc = 0;
    unlink(src);
    unlink(tmp);
    unlink(log);
    return rc;
}

static int cc_compile(const char *source, rt_jit *jit, char *err, size_t size)
{
    const char *cc = getenv("NABLA_CC");
    char dir[4000], so_path[4100];
    memset(jit, 0, sizeof *jit);
    if (!cc || !*cc)
        cc = "cc";
    if (cache_dir(dir, sizeof dir) != 0) {
        snprintf(err, size, "cc: cannot create the cache directory '%s'", dir);
        return -1;
    }
    uint64_t h = 0xcbf29ce484222325ull;
    h = fnv1a(h, source, strlen(source));
    h = fnv1a(h, cc, strlen(cc));
    for (size_t i = 0; i < sizeof rt_cc_flags / sizeof *rt_cc_flags; i++)
        h = fnv1a(h, rt_cc_flags[i], strlen(rt_cc_flags[i]) + 1);
    h = hash_machine(h);
    snprintf(so_path, sizeof so_path, "%s/%016llx.so", dir, (unsigned long long)h);
    if (build(cc, dir, so_path, source, err, size) != 0)
        return -1;
    void *handle = dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *why = dlerror();
        snprintf(err, size, "cc: cannot load '%s': %s", so_path, why ? why : "unknown error");
        return -1;
    }
    /* Generated code reaches the runtime kernels through pointers it declares. */
    for (int i = 0; i < rt_n_kernel_symbols; i++) {
        void **slot = dlsym(handle, rt_kernel_symbols[i].name);
        if (slot)
            memcpy(slot, &rt_kernel_symbols[i].addr, sizeof(void *));
    }
    void *entry = dlsym(handle, CG_ENTRY);
    if (!entry) {
        dlclose(handle);
        snprintf(err, size, "cc: '%s' has no entry point", so_path);
        return -1;
    }
    jit->backend = NB_BACKEND_CC;
    jit->state = handle;
    memcpy(&jit->entry, &entry, sizeof entry);
    return 0;
}

int rt_cc_compile(const char *source, rt_jit *jit, char *err, size_t size)
{
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
