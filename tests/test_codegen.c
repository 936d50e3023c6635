/* test_codegen.c — properties of the generated C: deterministic bytes, user names that
 * cannot inject code, f-suffixed float literals, no #include, write_source, and
 * warning-free compilation by gcc and clang (spawned when they are installed). */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "files.h"
#include "nabla.h"
#include "tmpdir.h"

#define EVIL1 "*/ evil(); /*"
#define EVIL2 "line\n evil(); \"quoted\" 'q' \\ */ int z; //"

/* A graph with an input, a parameter, constants, broadcasting, a reduction and its
 * gradient. With names set, the leaves and two inner nodes carry hostile names. */
static nb_graph *build(nb_dtype dt, int evil, nb_node **outs, int *n_outs)
{
    const int64_t s23[] = {2, 3}, s3[] = {3};
    const double cdata[] = {0.25, -1.5, 1e-8};
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, evil ? EVIL1 : "x", dt, 2, s23);
    nb_node *w = nb_param(g, evil ? EVIL2 : "w", dt, 1, s3);
    nb_node *c = nb_constant(g, dt, 1, s3, cdata);
    nb_node *h = nb_sigmoid(g, nb_add(g, nb_mul(g, x, w), c));
    if (evil)
        nb_name(g, h, EVIL1);
    nb_node *e = nb_div(g, nb_exp(g, h), nb_scalar(g, dt, 3.5));
    if (evil)
        nb_name(g, e, EVIL2);
    const int ax[] = {1};
    nb_node *r = nb_mean(g, nb_log(g, nb_add(g, e, nb_scalar(g, dt, 0.1))), ax, 1, 1);
    nb_node *loss = nb_sum(g, nb_sub(g, r, nb_scalar(g, dt, 2.0)), NULL, 0, 0);
    nb_node *gw = NULL;
    nb_node *xs[] = {w, x}, *gs[2] = {NULL, NULL};
    assert_int_equal(nb_grad(g, loss, xs, 2, gs), 0);
    gw = gs[0];
    outs[0] = loss;
    outs[1] = gw;
    outs[2] = gs[1];
    outs[3] = r;
    *n_outs = 4;
    if (nb_graph_error(g))
        fail_msg("build: %s", nb_graph_error(g));
    return g;
}

static nb_program *compile(nb_dtype dt, int evil)
{
    nb_node *outs[8];
    int n;
    nb_graph *g = build(dt, evil, outs, &n);
    nb_compile_options opt = {.outputs = outs, .n_outputs = n};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(g));
    nb_graph_free(g);
    return p;
}

/* The source with every comment replaced by one space (generated code has no string
 * or character literals, so a plain scan suffices). Caller frees. */
static char *strip_comments(const char *s)
{
    char *out = malloc(strlen(s) + 1), *o = out;
    assert_non_null(out);
    while (*s) {
        if (s[0] == '/' && s[1] == '*') {
            const char *end = strstr(s + 2, "*/");
            assert_non_null(end);
            s = end + 2;
            *o++ = ' ';
        } else if (s[0] == '/' && s[1] == '/') {
            s += strcspn(s, "\n");
        } else {
            *o++ = *s++;
        }
    }
    *o = 0;
    return out;
}

static void test_deterministic(void **state)
{
    (void)state;
    for (int dt = NB_F32; dt <= NB_F64; dt++) {
        nb_program *a = compile((nb_dtype)dt, 0), *b = compile((nb_dtype)dt, 0);
        assert_string_equal(nb_program_source(a), nb_program_source(b));
        nb_program_free(a);
        nb_program_free(b);
    }
    nb_program *a = compile(NB_F32, 1), *b = compile(NB_F32, 1);
    assert_string_equal(nb_program_source(a), nb_program_source(b));
    nb_program_free(a);
    nb_program_free(b);
}

static void test_name_injection(void **state)
{
    (void)state;
    nb_program *plain = compile(NB_F32, 0), *evil = compile(NB_F32, 1);
    const char *src = nb_program_source(evil);
    /* The hostile text never appears as such, not even inside a comment. */
    assert_null(strstr(src, "evil();"));
    assert_null(strstr(src, "int z;"));
    assert_null(strstr(src, "\"quoted\""));
    /* The names are there, escaped, and only in comments. */
    assert_non_null(strstr(src, "evil"));
    char *code = strip_comments(src);
    assert_null(strstr(code, "evil"));
    /* Every place that mentions a name is inside a comment (comments may span lines:
     * a fused kernel lists its nodes one per line). */
    int in_comment = 0, hits = 0;
    for (const char *q = src; *q; q++) {
        if (!in_comment && q[0] == '/' && q[1] == '*')
            in_comment = 1, q++;
        else if (in_comment && q[0] == '*' && q[1] == '/')
            in_comment = 0, q++;
        else if (strncmp(q, "evil", 4) == 0) {
            const char *bol = q;
            while (bol > src && bol[-1] != '\n')
                bol--;
            if (!in_comment)
                fail_msg("a name shows outside a comment: %.*s", (int)strcspn(bol, "\n"), bol);
            hits++;
        }
    }
    assert_false(in_comment);
    assert_true(hits >= 2);
    /* Without the names the program differs only inside comments. */
    char *plain_code = strip_comments(nb_program_source(plain));
    assert_string_equal(code, plain_code);
    /* Binding by the hostile name works: it is data, not code. */
    assert_int_equal(nb_program_input_index(evil, EVIL1), 0);
    float w[3] = {1, 2, 3};
    assert_int_equal(nb_program_set_param(evil, EVIL2, w, sizeof w), 0);
    free(code);
    free(plain_code);
    nb_program_free(plain);
    nb_program_free(evil);
}

/* Every floating literal of the code (comments and own math stripped) ends in f in an f32 program
 * and carries no suffix in an f64 program. In f32 programs a literal on a line that
 * declares a double (the accumulators of f32 sums are double on purpose) is exempt:
 * it does not promote float arithmetic. */
/* The code without nabla's own math (codegen/cg_math.c), whose expm1 and erf compute in
 * double on purpose: from its first line to its end line, blanked. */
static char *strip_own_math(const char *src)
{
    char *copy = strdup(src);
    assert_non_null(copy);
    char *begin = strstr(copy, "/* nabla's own math");
    char *end = begin ? strstr(begin, "/* end of nabla's own math */") : NULL;
    if (begin) {
        assert_non_null(end);
        memset(begin, ' ', (size_t)(end - begin));
    }
    return copy;
}

static void check_literals(const char *src, int want_f)
{
    char *own = strip_own_math(src);
    char *code = strip_comments(own);
    free(own);
    int floats = 0;
    for (const char *s = code; *s;) {
        int ident = s > code && (isalnum((unsigned char)s[-1]) || s[-1] == '_');
        if (!isdigit((unsigned char)*s) || ident) {
            s++;
            continue;
        }
        const char *start = s;
        int is_float = 0;
        while (isalnum((unsigned char)*s) || *s == '.' ||
               ((*s == '-' || *s == '+') && (s[-1] == 'e' || s[-1] == 'E'))) {
            if (*s == '.' || *s == 'e' || *s == 'E')
                is_float = 1;
            s++;
        }
        if (start[0] == '0' && (start[1] == 'x' || start[1] == 'X'))
            continue;
        if (!is_float)
            continue;
        floats++;
        const char *bol = s;
        while (bol > code && bol[-1] != '\n')
            bol--;
        size_t line_len = strcspn(bol, "\n");
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)line_len, bol);
        if (want_f && strstr(line, "double "))
            continue;
        int has_f = s[-1] == 'f' || s[-1] == 'F';
        if (has_f != want_f)
            fail_msg("literal %.*s %s the f suffix", (int)(s - start), start,
                     want_f ? "lacks" : "has");
    }
    assert_true(floats >= 3); /* the constants 0.25, 3.5, 0.1, 2.0 at least */
    free(code);
}

static void test_float_literals(void **state)
{
    (void)state;
    nb_program *p = compile(NB_F32, 0);
    check_literals(nb_program_source(p), 1);
    nb_program_free(p);
    p = compile(NB_F64, 0);
    check_literals(nb_program_source(p), 0);
    nb_program_free(p);
}

static void test_no_include(void **state)
{
    (void)state;
    for (int dt = NB_F32; dt <= NB_F64; dt++) {
        nb_program *p = compile((nb_dtype)dt, 1);
        assert_null(strstr(nb_program_source(p), "#include"));
        assert_null(strstr(nb_program_source(p), "# include"));
        nb_program_free(p);
    }
}

/* A fresh temporary path ending in .c; caller unlinks. */
static void temp_c_path(char *path, size_t size)
{
    char dir[] = "/tmp/nabla-cg-XXXXXX";
    int fd = mkstemp(dir);
    assert_true(fd >= 0);
    close(fd);
    unlink(dir);
    snprintf(path, size, "%s.c", dir);
}

static void test_write_source(void **state)
{
    (void)state;
    nb_program *p = compile(NB_F32, 1);
    char path[64];
    size_t len;
    temp_c_path(path, sizeof path);
    assert_int_equal(nb_program_write_source(p, path), 0);
    char *text = tu_read_file(path, &len);
    assert_int_equal(len, strlen(nb_program_source(p)));
    assert_memory_equal(text, nb_program_source(p), len);
    /* Writing again overwrites rather than appends. */
    assert_int_equal(nb_program_write_source(p, path), 0);
    free(text);
    text = tu_read_file(path, &len);
    assert_int_equal(len, strlen(nb_program_source(p)));
    free(text);
    unlink(path);
    nb_program_free(p);
}

static int have(const char *cc)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", cc);
    return system(cmd) == 0;
}

/* Compiles the program's source with cc and strict flags; fails on any warning. */
static void compile_with(const char *cc, nb_program *p)
{
    char path[64], obj[80], cmd[512];
    temp_c_path(path, sizeof path);
    assert_int_equal(nb_program_write_source(p, path), 0);
    /* A real object file: compilers running as root replace "-o /dev/null" by renaming
     * their output over it. */
    snprintf(obj, sizeof obj, "%s.o", path);
    snprintf(cmd, sizeof cmd, "%s -std=c99 -pedantic -Wall -Wextra -Werror -c %s -o %s 2>&1", cc,
             path, obj);
    int rc = system(cmd);
    unlink(path);
    unlink(obj);
    if (rc != 0)
        fail_msg("'%s' failed (exit %d) on the generated source", cmd, rc);
}

/* A training step: matmuls with transposed operands read through, a cross-entropy,
 * and Adam updates fused into one loop per parameter, written in place. */
static nb_program *compile_train_step(nb_backend backend)
{
    int64_t xs[2] = {4, 6}, ws[2] = {6, 3}, bs[1] = {3}, ys[1] = {4};
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 2, xs);
    nb_node *y = nb_input(g, "y", NB_I32, 1, ys);
    nb_node *lr = nb_input(g, "lr", NB_F32, 0, NULL);
    nb_node *p[2] = {nb_param(g, "w", NB_F32, 2, ws), nb_param(g, "b", NB_F32, 1, bs)}, *d[2];
    nb_node *logits = nb_add(g, nb_matmul(g, nb_relu(g, x), p[0]), p[1]);
    nb_node *loss = nb_cross_entropy(g, logits, y, NB_REDUCTION_MEAN);
    nb_grad(g, loss, p, 2, d);
    nb_update u[2 * NB_ADAM_UPDATES_PER_PARAM];
    int n = nb_adam(g, lr, p, d, 2, NULL, u, 2 * NB_ADAM_UPDATES_PER_PARAM);
    nb_compile_options opt = {
        .outputs = &loss, .n_outputs = 1, .updates = u, .n_updates = n, .backend = backend};
    nb_program *prog = n > 0 ? nb_compile(g, &opt) : NULL;
    if (!prog)
        fail_msg("compile: %s", nb_graph_error(g));
    nb_graph_free(g);
    return prog;
}

/* Two matmuls of 2^16 multiply-adds that read nothing of each other, on two threads:
 * they run side by side, through a pair function (pN) the pool calls. */
static nb_program *compile_pair(nb_backend backend)
{
    int64_t xs[2] = {64, 64}, ws[2] = {64, 16};
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 2, xs);
    nb_node *y1 = nb_matmul(g, nb_exp(g, x), nb_param(g, "w1", NB_F32, 2, ws));
    nb_node *y = nb_add(g, y1, nb_matmul(g, x, nb_param(g, "w2", NB_F32, 2, ws)));
    nb_compile_options opt = {.outputs = &y, .n_outputs = 1, .backend = backend, .threads = 2};
    nb_program *prog = nb_compile(g, &opt);
    if (!prog)
        fail_msg("compile: %s", nb_graph_error(g));
    nb_graph_free(g);
    assert_non_null(strstr(nb_program_source(prog), " side by side: "));
    return prog;
}

static void test_external_compilers(void **state)
{
    (void)state;
    const char *ccs[] = {"gcc", "clang"};
    int ran = 0;
    for (int i = 0; i < 2; i++) {
        if (!have(ccs[i])) {
            print_message("skipping %s: not installed\n", ccs[i]);
            continue;
        }
        for (int dt = NB_F32; dt <= NB_F64; dt++)
            for (int evil = 0; evil <= 1; evil++) {
                nb_program *p = compile((nb_dtype)dt, evil);
                compile_with(ccs[i], p);
                nb_program_free(p);
            }
        /* Both ways of declaring the runtime kernels: prototypes (tcc) and the
         * pointers a shared object gets (cc). */
        char cache[] = "/tmp/nabla-cg-cache-XXXXXX";
        assert_non_null(mkdtemp(cache));
        setenv("NABLA_CACHE_DIR", cache, 1);
        for (int backend = NB_BACKEND_TCC; backend <= NB_BACKEND_CC; backend++) {
            nb_program *p = compile_train_step((nb_backend)backend);
            compile_with(ccs[i], p);
            nb_program_free(p);
            p = compile_pair((nb_backend)backend);
            compile_with(ccs[i], p);
            nb_program_free(p);
        }
        tu_remove_dir(cache);
        unsetenv("NABLA_CACHE_DIR");
        ran++;
    }
    if (!ran)
        skip();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deterministic),  cmocka_unit_test(test_name_injection),
        cmocka_unit_test(test_float_literals), cmocka_unit_test(test_no_include),
        cmocka_unit_test(test_write_source),   cmocka_unit_test(test_external_compilers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
