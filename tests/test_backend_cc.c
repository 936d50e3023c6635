/* test_backend_cc.c — the cc backend: same numbers as libtcc (both follow C's float
 * rules: no contraction, no fast-math), parameter updates, a cache hit on the second
 * build, and clean errors for a missing compiler. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "nabla.h"
#include "tmpdir.h"

static char cache[64];

/* A small training step: tanh layer, mse, gradient, an SGD update of w. */
static nb_graph *build(nb_node **loss, nb_node **w, nb_node **w_next)
{
    int64_t xs[2] = {8, 5}, ws[2] = {5, 3};
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 2, xs);
    *w = nb_param(g, "w", NB_F32, 2, ws);
    nb_node *h = nb_tanh(g, nb_matmul(g, x, *w));
    *loss = nb_mean(g, nb_square(g, nb_sub(g, h, nb_scalar(g, NB_F32, 0.25))), NULL, 0, 0);
    nb_node *dw;
    nb_grad(g, *loss, w, 1, &dw);
    *w_next = nb_sub(g, *w, nb_mul(g, dw, nb_scalar(g, NB_F32, 0.5)));
    return g;
}

static nb_program *compile(nb_backend backend)
{
    nb_node *loss, *w, *w_next;
    nb_graph *g = build(&loss, &w, &w_next);
    nb_update u = {w, w_next};
    nb_compile_options opt = {
        .outputs = &loss, .n_outputs = 1, .updates = &u, .n_updates = 1, .backend = backend};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(g));
    nb_graph_free(g);
    float wv[15];
    for (int i = 0; i < 15; i++)
        wv[i] = (float)((i * 7) % 11) / 11.0f - 0.5f;
    nb_program_set_param(p, "w", wv, sizeof wv);
    return p;
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

/* Ten steps on both backends give bit-identical losses and weights. */
static void test_same_numbers(void **state)
{
    (void)state;
    nb_program *t = compile(NB_BACKEND_TCC), *c = compile(NB_BACKEND_CC);
    float x[40];
    for (int i = 0; i < 40; i++)
        x[i] = (float)((i * 13) % 17) / 17.0f - 0.3f;
    nb_program_bind(t, "x", x);
    nb_program_bind(c, "x", x);
    for (int step = 0; step < 10; step++) {
        assert_int_equal(nb_program_run(t), 0);
        assert_int_equal(nb_program_run(c), 0);
        float lt = *(const float *)nb_program_output(t, 0);
        float lc = *(const float *)nb_program_output(c, 0);
        assert_memory_equal(&lt, &lc, sizeof lt);
    }
    float wt[15], wc[15];
    nb_program_get_param(t, "w", wt, sizeof wt);
    nb_program_get_param(c, "w", wc, sizeof wc);
    assert_memory_equal(wt, wc, sizeof wt);
    nb_program_free(t);
    nb_program_free(c);
}

/* The second build of the same source loads the cached object: no new file. */
static void test_cache(void **state)
{
    (void)state;
    nb_program *a = compile(NB_BACKEND_CC);
    int files = count_files(cache);
    assert_true(files >= 1);
    nb_program *b = compile(NB_BACKEND_CC);
    assert_int_equal(count_files(cache), files);
    nb_program_free(a);
    nb_program_free(b);
}

/* A compiler that does not exist: compile fails with a message, leaves no files. */
static void test_missing_compiler(void **state)
{
    (void)state;
    char dir[128];
    snprintf(dir, sizeof dir, "%s/other", cache);
    setenv("NABLA_CACHE_DIR", dir, 1);
    setenv("NABLA_CC", "/nonexistent/cc", 1);
    nb_node *loss, *w, *w_next;
    nb_graph *g = build(&loss, &w, &w_next);
    nb_compile_options opt = {.outputs = &loss, .n_outputs = 1, .backend = NB_BACKEND_CC};
    assert_null(nb_compile(g, &opt));
    assert_non_null(strstr(nb_graph_error(g), "/nonexistent/cc"));
    assert_int_equal(count_files(dir), 0);
    nb_graph_free(g);
    rmdir(dir);
    unsetenv("NABLA_CC");
    setenv("NABLA_CACHE_DIR", cache, 1);

    g = build(&loss, &w, &w_next);
    opt.backend = (nb_backend)7;
    assert_null(nb_compile(g, &opt));
    assert_non_null(strstr(nb_graph_error(g), "unknown backend 7"));
    nb_graph_free(g);
}

static int setup(void **state)
{
    (void)state;
    snprintf(cache, sizeof cache, "/tmp/nabla-cc-test-XXXXXX");
    if (!mkdtemp(cache))
        return -1;
    setenv("NABLA_CACHE_DIR", cache, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_remove_dir(cache);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_numbers),
        cmocka_unit_test(test_cache),
        cmocka_unit_test(test_missing_compiler),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
