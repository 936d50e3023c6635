/* test_dump.c — NABLA_DUMP_DIR: each program nb_compile builds leaves <hash>.c (its
 * source) and <hash>.ir (the graph's text) in the directory, one pair per distinct
 * source; a directory that is missing or not a directory never fails a compile (one
 * warning on stderr); a symbolic link planted at a dump's name is replaced, not
 * followed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "files.h"
#include "ir.h"
#include "nabla.h"
#include "rt.h"
#include "tmpdir.h"

/* Bytes of a dump's file name "<16 hex digits>.ir" with its terminator, and of paths. */
#define NAME_BYTES 32
#define PATH_BYTES 1024

static char *dump_dir; /* the test's private directory */

static int setup(void **state)
{
    (void)state;
    dump_dir = tu_make_dir("nabla-dump");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unsetenv("NABLA_DUMP_DIR");
    tu_remove_dir(dump_dir);
    free(dump_dir);
    return 0;
}

/* Empties the test directory between tests. */
static void clear_dir(void)
{
    tu_remove_dir(dump_dir);
    assert_int_equal(mkdir(dump_dir, 0700), 0);
}

/* The entries of dir other than . and .. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* A graph computing x * k + 1 (k picks the program), its text in *ir (caller frees). */
typedef struct prog {
    nb_graph *g;
    nb_program *p;
} prog;

static prog compile_affine(double k, char **ir)
{
    prog r;
    const int64_t four[1] = {4};
    r.g = nb_graph_new();
    nb_node *x = nb_input(r.g, "x", NB_F32, 1, four);
    nb_node *y = nb_name(
        r.g, nb_add(r.g, nb_mul(r.g, x, nb_scalar(r.g, NB_F32, k)), nb_scalar(r.g, NB_F32, 1)),
        "y");
    nb_compile_options o = {.outputs = &y, .n_outputs = 1};
    r.p = nb_compile(r.g, &o);
    if (!r.p)
        fail_msg("compile: %s", nb_graph_error(r.g));
    if (ir)
        *ir = nb_graph_print(r.g);
    return r;
}

/* Checks that the program still runs: y = x * k + 1 at x = 1, 2, 3, 4. */
static void check_runs(prog *r, double k)
{
    const float x[4] = {1, 2, 3, 4};
    assert_int_equal(nb_program_bind(r->p, "x", x), 0);
    assert_int_equal(nb_program_run(r->p), 0);
    const float *y = nb_program_output(r->p, 0);
    for (int i = 0; i < 4; i++)
        assert_true(y[i] == (float)(x[i] * k + 1));
}

static void prog_free(prog *r)
{
    nb_program_free(r->p);
    nb_graph_free(r->g);
}

/* "<dir>/<XXH64 of the program's source, 16 hex digits><ext>". */
static void dump_path(const nb_program *p, const char *ext, char *path, size_t size)
{
    const char *src = nb_program_source(p);
    snprintf(path, size, "%s/%016llx%s", dump_dir,
             (unsigned long long)ir_xxh64(src, strlen(src), 0), ext);
}

/* The file at path holds exactly text. */
static void check_file(const char *path, const char *text)
{
    size_t len;
    char *got = tu_read_file(path, &len);
    assert_int_equal(len, strlen(text));
    assert_memory_equal(got, text, len);
    free(got);
}

static void dump_two_programs(void **state)
{
    (void)state;
    clear_dir();
    assert_int_equal(setenv("NABLA_DUMP_DIR", dump_dir, 1), 0);
    char *ir_a, *ir_b, path[PATH_BYTES];
    prog a = compile_affine(2, &ir_a), b = compile_affine(3, &ir_b);
    assert_string_not_equal(nb_program_source(a.p), nb_program_source(b.p));
    assert_int_equal(count_entries(dump_dir), 4);
    dump_path(a.p, ".c", path, sizeof path);
    check_file(path, nb_program_source(a.p));
    dump_path(a.p, ".ir", path, sizeof path);
    check_file(path, ir_a);
    assert_non_null(strstr(ir_a, "name=\"y\""));
    dump_path(b.p, ".c", path, sizeof path);
    check_file(path, nb_program_source(b.p));
    dump_path(b.p, ".ir", path, sizeof path);
    check_file(path, ir_b);
    /* The file was written by replacing, not in place: a private temporary is never
     * left behind. */
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));

    /* The same program again, from a new graph: the same names, overwritten. */
    char *ir_a2;
    prog a2 = compile_affine(2, &ir_a2);
    assert_string_equal(nb_program_source(a2.p), nb_program_source(a.p));
    assert_int_equal(count_entries(dump_dir), 4);
    check_runs(&a2, 2);

    /* Unset or empty: nothing is written. */
    clear_dir();
    assert_int_equal(setenv("NABLA_DUMP_DIR", "", 1), 0);
    prog c = compile_affine(5, NULL);
    assert_int_equal(unsetenv("NABLA_DUMP_DIR"), 0);
    prog d = compile_affine(6, NULL);
    assert_int_equal(count_entries(dump_dir), 0);
    prog_free(&a);
    prog_free(&a2);
    prog_free(&b);
    prog_free(&c);
    prog_free(&d);
    free(ir_a);
    free(ir_a2);
    free(ir_b);
}

/* Runs compile_affine(k) with stderr sent to a file; returns what it printed there. */
static char *compile_capturing_stderr(double k)
{
    char *log = tu_join(dump_dir, "stderr.log");
    fflush(stderr);
    int saved = dup(2), fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    assert_true(saved >= 0 && fd >= 0);
    assert_int_equal(dup2(fd, 2), 2);
    close(fd);
    prog r = compile_affine(k, NULL);
    fflush(stderr);
    assert_int_equal(dup2(saved, 2), 2);
    close(saved);
    check_runs(&r, k);
    prog_free(&r);
    size_t len;
    char *text = tu_read_file(log, &len);
    free(log);
    return text;
}

/* A missing directory, or a file where the directory should be: the compile succeeds,
 * nothing is created, and stderr says why once per process. */
static void dump_unwritable_dir(void **state)
{
    (void)state;
    clear_dir();
    char *missing = tu_join(dump_dir, "missing"), *file = tu_join(dump_dir, "file");
    tu_write_file(file, "x", 1);
    assert_int_equal(setenv("NABLA_DUMP_DIR", missing, 1), 0);
    char *err = compile_capturing_stderr(2);
    assert_non_null(strstr(err, "nabla: NABLA_DUMP_DIR: cannot write '"));
    assert_non_null(strstr(err, missing));
    assert_non_null(strstr(err, "No such file or directory"));
    free(err);
    assert_int_equal(setenv("NABLA_DUMP_DIR", file, 1), 0);
    err = compile_capturing_stderr(3);
    /* The log holds both compiles' stderr: the second failure said nothing more. */
    assert_null(strstr(strstr(err, "NABLA_DUMP_DIR") + 1, "NABLA_DUMP_DIR"));
    free(err);
    struct stat st;
    assert_int_equal(lstat(missing, &st), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(count_entries(dump_dir), 2); /* file and stderr.log */
    free(missing);
    free(file);
}

/* A symbolic link planted at the name a dump will take is replaced by the dump; the
 * file it points to is untouched. */
static void dump_symlink_not_followed(void **state)
{
    (void)state;
    clear_dir();
    char path[PATH_BYTES], ir_path[PATH_BYTES];
    assert_int_equal(unsetenv("NABLA_DUMP_DIR"), 0);
    prog first = compile_affine(7, NULL);
    dump_path(first.p, ".c", path, sizeof path);
    dump_path(first.p, ".ir", ir_path, sizeof ir_path);
    char *victim = tu_join(dump_dir, "victim"), *dangling = tu_join(dump_dir, "nowhere");
    tu_write_file(victim, "keep", 4);
    assert_int_equal(symlink(victim, path), 0);
    assert_int_equal(symlink(dangling, ir_path), 0);
    assert_int_equal(setenv("NABLA_DUMP_DIR", dump_dir, 1), 0);
    prog again = compile_affine(7, NULL);
    check_file(victim, "keep");
    struct stat st;
    assert_int_equal(lstat(dangling, &st), -1);
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(lstat(ir_path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    check_file(path, nb_program_source(again.p));
    assert_int_equal(count_entries(dump_dir), 3);
    prog_free(&first);
    prog_free(&again);
    free(victim);
    free(dangling);
}

/* Every allocation of a dump may fail: the dump is then incomplete (never a crash,
 * nothing leaked: the sanitizer build checks), until both files are written. Last: the
 * process has warned already, so the failures print nothing. */
static void dump_out_of_memory(void **state)
{
    (void)state;
    clear_dir();
    assert_int_equal(unsetenv("NABLA_DUMP_DIR"), 0);
    char *ir, c_path[PATH_BYTES], ir_path[PATH_BYTES];
    prog r = compile_affine(9, &ir);
    dump_path(r.p, ".c", c_path, sizeof c_path);
    dump_path(r.p, ".ir", ir_path, sizeof ir_path);
    long k = 1;
    for (;; k++) {
        ir_alloc_fail_once(k);
        rt_dump_program(dump_dir, nb_program_source(r.p), r.g);
        long failed = ir_alloc_failures();
        ir_alloc_fail_from(0);
        if (!failed)
            break;
        /* A failed dump leaves no temporary behind: at most the two files. */
        assert_true(count_entries(dump_dir) <= 2);
    }
    assert_true(k > 2);
    check_file(c_path, nb_program_source(r.p));
    check_file(ir_path, ir);
    assert_int_equal(count_entries(dump_dir), 2);
    prog_free(&r);
    free(ir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dump_two_programs),
        cmocka_unit_test(dump_unwritable_dir),
        cmocka_unit_test(dump_symlink_not_followed),
        cmocka_unit_test(dump_out_of_memory),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
