/* test_cc_cache.c — the cc backend's cache can be trusted: its directory is made private
 * and refused when another user could write to it, nothing is opened through a planted
 * symbolic link, a cached object that is foreign, truncated, empty or not private is
 * rebuilt, there is never a fixed shared location, a missing compiler is named as such,
 * and concurrent builds of one source (threads, processes, processes in their own PID
 * namespaces) all succeed. Runs as root here: chown to uid 65534 plays another user. */
#define _GNU_SOURCE /* unshare */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "nabla.h"
#include "tmpdir.h"

#define OTHER_UID 65534 /* nobody: "another user" */
#define PATH_LEN 512

static char root[64];

/* A directory under the test's root. */
static void sub(char *out, const char *name)
{
    snprintf(out, PATH_LEN, "%s/%s", root, name);
}

/* sum(x * k) over x = {1, 2, 3, 4}: 10k, so every k gives another source and result. */
static nb_program *compile_k(double k, char *err, size_t size)
{
    int64_t shape[1] = {4};
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 1, shape);
    nb_node *y = nb_sum(g, nb_mul(g, x, nb_scalar(g, NB_F32, k)), NULL, 0, 0);
    nb_compile_options opt = {.outputs = &y, .n_outputs = 1, .backend = NB_BACKEND_CC};
    nb_program *p = nb_compile(g, &opt);
    if (err)
        snprintf(err, size, "%s", p ? "" : nb_graph_error(g));
    nb_graph_free(g);
    return p;
}

static float run(nb_program *p)
{
    static const float x[4] = {1, 2, 3, 4};
    if (nb_program_bind(p, "x", x) != 0 || nb_program_run(p) != 0)
        return -1;
    return *(const float *)nb_program_output(p, 0);
}

/* Compiles k in dir, checks the result and frees the program. */
static void build_in(const char *dir, double k)
{
    char err[1024];
    setenv("NABLA_CACHE_DIR", dir, 1);
    nb_program *p = compile_k(k, err, sizeof err);
    if (!p)
        fail_msg("compile in %s: %s", dir, err);
    assert_float_equal(run(p), 10 * k, 1e-5);
    nb_program_free(p);
}

/* The compile error for k in dir (fails when the compile succeeds). */
static void error_in(const char *dir, double k, char *err, size_t size)
{
    setenv("NABLA_CACHE_DIR", dir, 1);
    nb_program *p = compile_k(k, err, size);
    if (p) {
        nb_program_free(p);
        fail_msg("compile in %s succeeded", dir);
    }
}

/* The one *.so of dir, in name. */
static void object_name(const char *dir, char *name)
{
    DIR *d = opendir(dir);
    int n = 0;
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len > 3 && strcmp(e->d_name + len - 3, ".so") == 0) {
            snprintf(name, PATH_LEN, "%s/%s", dir, e->d_name);
            n++;
        }
    }
    closedir(d);
    assert_int_equal(n, 1);
}

static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    if (d)
        closedir(d);
    return n;
}

static void make_dir(const char *dir, mode_t mode)
{
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(chmod(dir, mode), 0);
}

static long file_size(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    char buf[4096];
    size_t n;
    assert_non_null(in);
    assert_non_null(out);
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

/* Missing components are created owner-only, parents included. */
static void test_dir_created_private(void **state)
{
    (void)state;
    char top[PATH_LEN], mid[PATH_LEN + 8], dir[PATH_LEN + 16];
    sub(top, "new");
    snprintf(mid, sizeof mid, "%s/a", top);
    snprintf(dir, sizeof dir, "%s/b", mid);
    mode_t old = umask(022);
    build_in(dir, 2);
    umask(old);
    const char *made[3] = {top, mid, dir};
    for (int i = 0; i < 3; i++) {
        struct stat st;
        assert_int_equal(lstat(made[i], &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 0777, 0700);
    }
    tu_remove_dir(dir);
    tu_remove_dir(mid);
    tu_remove_dir(top);
}

/* A directory that group or others can write to is refused, with its name and why. */
static void test_dir_writable_refused(void **state)
{
    (void)state;
    char dir[PATH_LEN], err[1024];
    sub(dir, "writable");
    make_dir(dir, 0777);
    error_in(dir, 2, err, sizeof err);
    assert_non_null(strstr(err, dir));
    assert_non_null(strstr(err, "group or others can write"));
    assert_int_equal(entries(dir), 0);
    assert_int_equal(chmod(dir, 0770), 0);
    error_in(dir, 2, err, sizeof err);
    assert_non_null(strstr(err, "mode 770"));
    assert_int_equal(chmod(dir, 0700), 0);
    build_in(dir, 2);
    tu_remove_dir(dir);
}

/* A directory of another user is refused, even 0700; one of our own (root's) is used. */
static void test_dir_foreign_refused(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    char dir[PATH_LEN], err[1024];
    sub(dir, "foreign");
    make_dir(dir, 0700);
    assert_int_equal(chown(dir, OTHER_UID, OTHER_UID), 0);
    error_in(dir, 2, err, sizeof err);
    assert_non_null(strstr(err, "belongs to uid 65534, not to you"));
    assert_int_equal(entries(dir), 0);
    assert_int_equal(chown(dir, 0, 0), 0);
    build_in(dir, 2);
    tu_remove_dir(dir);
}

/* The cache directory itself must not be a symbolic link (to anything). */
static void test_dir_symlink_refused(void **state)
{
    (void)state;
    char real[PATH_LEN], link[PATH_LEN], err[1024];
    sub(real, "real");
    sub(link, "link");
    make_dir(real, 0700);
    assert_int_equal(symlink(real, link), 0);
    error_in(link, 2, err, sizeof err);
    assert_non_null(strstr(err, "symbolic link"));
    assert_int_equal(entries(real), 0);
    unlink(link);
    tu_remove_dir(real);
}

/* A valid shared object built from another source, under our object's name, is not
 * used: the source is rebuilt and gives its own result. */
static void test_foreign_object_rebuilt(void **state)
{
    (void)state;
    char a[PATH_LEN], b[PATH_LEN], name_a[PATH_LEN], name_b[PATH_LEN];
    sub(a, "fa");
    sub(b, "fb");
    make_dir(a, 0700);
    make_dir(b, 0700);
    build_in(b, 3);
    build_in(a, 2);
    object_name(a, name_a);
    object_name(b, name_b);
    copy_file(name_b, name_a);
    build_in(a, 2); /* 20, not B's 30 */
    tu_remove_dir(a);
    tu_remove_dir(b);
}

/* Truncated (at several points) and empty objects are rebuilt, not loaded: a truncated
 * object would otherwise fail every later compile, or kill the process with SIGBUS. */
static void test_damaged_object_rebuilt(void **state)
{
    (void)state;
    char dir[PATH_LEN], name[PATH_LEN];
    sub(dir, "damaged");
    make_dir(dir, 0700);
    build_in(dir, 2);
    object_name(dir, name);
    long size = file_size(name);
    const long cut[] = {0, 10, 100, size / 4, size / 2, size - 1};
    for (size_t i = 0; i < sizeof cut / sizeof *cut; i++) {
        assert_int_equal(truncate(name, cut[i]), 0);
        build_in(dir, 2);
        assert_int_equal(file_size(name), size);
    }
    tu_remove_dir(dir);
}

/* An object of another user, or one that others can write to, is replaced by one of
 * ours that only we can write. */
static void test_object_not_private_rebuilt(void **state)
{
    (void)state;
    char dir[PATH_LEN], name[PATH_LEN];
    struct stat st;
    sub(dir, "objmode");
    make_dir(dir, 0700);
    build_in(dir, 2);
    object_name(dir, name);
    assert_int_equal(chmod(name, 0666), 0);
    build_in(dir, 2);
    assert_int_equal(stat(name, &st), 0);
    assert_int_equal(st.st_mode & 022, 0);
    if (geteuid() == 0) {
        assert_int_equal(chown(name, OTHER_UID, OTHER_UID), 0);
        build_in(dir, 2);
        assert_int_equal(stat(name, &st), 0);
        assert_int_equal(st.st_uid, geteuid());
    }
    tu_remove_dir(dir);
}

/* A symbolic link planted under the object's name is neither followed nor loaded; the
 * file it points at is left alone. */
static void test_object_symlink_not_followed(void **state)
{
    (void)state;
    char a[PATH_LEN], b[PATH_LEN], name_a[PATH_LEN], name_b[PATH_LEN];
    struct stat st;
    sub(a, "la");
    sub(b, "lb");
    make_dir(a, 0700);
    make_dir(b, 0700);
    build_in(b, 3);
    build_in(a, 2);
    object_name(a, name_a);
    object_name(b, name_b);
    long size_b = file_size(name_b);
    assert_int_equal(unlink(name_a), 0);
    assert_int_equal(symlink(name_b, name_a), 0);
    build_in(a, 2);
    assert_int_equal(lstat(name_a, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(file_size(name_b), size_b);
    tu_remove_dir(a);
    tu_remove_dir(b);
}

/* Symbolic links planted at the temporary names a build used to take (object name +
 * process id) lead nowhere: the file they point at is not written. */
static void test_temp_symlinks_not_followed(void **state)
{
    (void)state;
    char dir[PATH_LEN], name[PATH_LEN], victim[PATH_LEN], link[PATH_LEN + 64];
    static const char *const suffixes[] = {"c", "tmp", "log"};
    sub(dir, "temps");
    sub(victim, "victim");
    make_dir(dir, 0700);
    build_in(dir, 2);
    object_name(dir, name);
    assert_int_equal(unlink(name), 0);
    FILE *f = fopen(victim, "w");
    assert_non_null(f);
    fputs("precious", f);
    fclose(f);
    for (int i = 0; i < 3; i++) {
        snprintf(link, sizeof link, "%s.%ld.%s", name, (long)getpid(), suffixes[i]);
        assert_int_equal(symlink(victim, link), 0);
    }
    build_in(dir, 2);
    assert_int_equal(file_size(victim), 8);
    tu_remove_dir(dir);
    unlink(victim);
}

/* Without HOME and XDG_CACHE_HOME the cache is a fresh private directory of the process
 * in $TMPDIR (never a fixed shared path), removed when the process exits. */
static void test_no_home(void **state)
{
    (void)state;
    char tmp[PATH_LEN];
    struct stat st;
    sub(tmp, "tmp");
    make_dir(tmp, 0700);
    int shared_before = lstat("/tmp/nabla-cache", &st) == 0;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        unsetenv("NABLA_CACHE_DIR");
        unsetenv("XDG_CACHE_HOME");
        unsetenv("HOME");
        setenv("TMPDIR", tmp, 1);
        nb_program *p = compile_k(2, NULL, 0);
        int ok = p && run(p) == 20.0f;
        nb_program_free(p);
        /* One directory nabla-XXXXXX in TMPDIR, 0700, ours, holding the object. */
        DIR *d = opendir(tmp);
        int dirs = 0;
        char path[PATH_LEN + 300];
        for (struct dirent *e; d && (e = readdir(d));) {
            if (strncmp(e->d_name, "nabla-", 6) != 0)
                continue;
            snprintf(path, sizeof path, "%s/%s", tmp, e->d_name);
            ok = ok && lstat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
                 (st.st_mode & 0777) == 0700 && st.st_uid == geteuid() && entries(path) == 1;
            dirs++;
        }
        if (d)
            closedir(d);
        exit(ok && dirs == 1 && entries(tmp) == 1 ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(entries(tmp), 0); /* removed at exit */
    assert_int_equal(lstat("/tmp/nabla-cache", &st) == 0, shared_before);
    tu_remove_dir(tmp);
}

/* With no compiler on PATH the error says so. */
static void test_no_compiler_on_path(void **state)
{
    (void)state;
    char dir[PATH_LEN], empty[PATH_LEN], err[1024];
    const char *path = getenv("PATH");
    char saved[4096];
    snprintf(saved, sizeof saved, "%s", path ? path : "/usr/bin:/bin");
    sub(dir, "nocc");
    sub(empty, "emptybin");
    make_dir(empty, 0700);
    unsetenv("NABLA_CC");
    setenv("PATH", empty, 1);
    error_in(dir, 2, err, sizeof err);
    setenv("PATH", saved, 1);
    assert_non_null(strstr(err, "no C compiler was found"));
    assert_int_equal(entries(dir), 0);
    tu_remove_dir(dir);
    tu_remove_dir(empty);
}

/* Builds k in the current cache directory; the exit status of a child: 0 when right. */
static int child_build(double k)
{
    nb_program *p = compile_k(k, NULL, 0);
    int ok = p && run(p) == (float)(10 * k);
    nb_program_free(p);
    return ok ? 0 : 1;
}

#define N_PROC 4

/* Processes building one source into one empty directory at once all succeed, also
 * when each runs in its own PID namespace, where all of them have process id 1. */
static void test_concurrent_processes(void **state)
{
    (void)state;
    const char *names[2] = {"procs", "pidns"};
    for (int ns = 0; ns < 2; ns++) {
        char dir[PATH_LEN];
        pid_t pid[N_PROC];
        int skipped = 0;
        sub(dir, names[ns]);
        make_dir(dir, 0700);
        setenv("NABLA_CACHE_DIR", dir, 1);
        for (int i = 0; i < N_PROC; i++) {
            pid[i] = fork();
            assert_true(pid[i] >= 0);
            if (pid[i] > 0)
                continue;
            if (!ns)
                _exit(child_build(5));
            /* 77: namespaces not allowed here. */
            if (unshare(CLONE_NEWPID) != 0)
                _exit(77);
            pid_t inner = fork();
            if (inner == 0)
                _exit(getpid() == 1 ? child_build(5) : 2);
            int st;
            _exit(inner > 0 && waitpid(inner, &st, 0) == inner && WIFEXITED(st) ? WEXITSTATUS(st)
                                                                                : 3);
        }
        for (int i = 0; i < N_PROC; i++) {
            int status;
            assert_int_equal(waitpid(pid[i], &status, 0), pid[i]);
            assert_true(WIFEXITED(status));
            if (WEXITSTATUS(status) == 77) {
                skipped++;
                continue;
            }
            assert_int_equal(WEXITSTATUS(status), 0);
        }
        if (skipped)
            print_message("PID namespaces not available: %d builds skipped\n", skipped);
        else
            assert_int_equal(entries(dir), 1); /* the object; no temporaries left */
        tu_remove_dir(dir);
    }
}

static void *thread_build(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)child_build(6);
}

/* Threads building one source at once all succeed. */
static void test_concurrent_threads(void **state)
{
    (void)state;
    char dir[PATH_LEN];
    pthread_t t[N_PROC];
    sub(dir, "threads");
    make_dir(dir, 0700);
    setenv("NABLA_CACHE_DIR", dir, 1);
    for (int i = 0; i < N_PROC; i++)
        assert_int_equal(pthread_create(&t[i], NULL, thread_build, NULL), 0);
    for (int i = 0; i < N_PROC; i++) {
        void *rc;
        assert_int_equal(pthread_join(t[i], &rc), 0);
        assert_int_equal((intptr_t)rc, 0);
    }
    assert_int_equal(entries(dir), 1);
    tu_remove_dir(dir);
}

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/nabla-cc-cache-test-XXXXXX");
    return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tu_remove_dir(root);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dir_created_private),
        cmocka_unit_test(test_dir_writable_refused),
        cmocka_unit_test(test_dir_foreign_refused),
        cmocka_unit_test(test_dir_symlink_refused),
        cmocka_unit_test(test_foreign_object_rebuilt),
        cmocka_unit_test(test_damaged_object_rebuilt),
        cmocka_unit_test(test_object_not_private_rebuilt),
        cmocka_unit_test(test_object_symlink_not_followed),
        cmocka_unit_test(test_temp_symlinks_not_followed),
        cmocka_unit_test(test_no_home),
        cmocka_unit_test(test_no_compiler_on_path),
        cmocka_unit_test(test_concurrent_processes),
        cmocka_unit_test(test_concurrent_threads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
