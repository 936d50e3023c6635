/* test_runtime.c — nb_program: independent of its graph, libtcc errors reported with the
 * offending line (white-box: rt_tcc_compile), programs run from several threads,
 * parameters that persist, and leaves returned as outputs. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nabla.h"
#include "rt.h"

static const int64_t s23[] = {2, 3}, s3[] = {3};

/* y = x * w + 1 (x[2,3] input, w[3] parameter) and dsum(y)/dw = column sums of x. */
static void affine_graph(nb_graph *g, nb_node **outs)
{
    nb_node *x = nb_input(g, "x", NB_F32, 2, s23);
    nb_node *w = nb_param(g, "w", NB_F32, 1, s3);
    nb_node *y = nb_add(g, nb_mul(g, x, w), nb_scalar(g, NB_F32, 1.0));
    nb_node *gw;
    assert_int_equal(nb_grad(g, nb_sum(g, y, NULL, 0, 0), &w, 1, &gw), 0);
    outs[0] = y;
    outs[1] = gw;
}

static nb_program *compile2(nb_graph *g, nb_node **outs)
{
    nb_compile_options opt = {.outputs = outs, .n_outputs = 2};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(g));
    return p;
}

static nb_program *affine_program(nb_graph *g)
{
    nb_node *outs[2];
    affine_graph(g, outs);
    return compile2(g, outs);
}

static void check_affine(nb_program *p, const float *x, const float *w)
{
    const float *y = nb_program_output(p, 0), *gw = nb_program_output(p, 1);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            assert_true(y[i * 3 + j] == x[i * 3 + j] * w[j] + 1.0f);
    for (int j = 0; j < 3; j++)
        assert_true(gw[j] == x[j] + x[3 + j]);
}

static void test_graph_freed_first(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_program *p = affine_program(g);
    nb_graph_free(g);
    float x[6] = {1, 2, 3, 4, 5, 6}, w[3] = {0.5f, -1, 2};
    assert_int_equal(nb_program_set_param(p, "w", w, sizeof w), 0);
    assert_int_equal(nb_program_bind(p, "x", x), 0);
    assert_int_equal(nb_program_run(p), 0);
    check_affine(p, x, w);
    /* Metadata outlives the graph too. */
    assert_int_equal(nb_program_output_count(p), 2);
    assert_int_equal(nb_program_output_rank(p, 0), 2);
    assert_int_equal(nb_program_output_shape(p, 0)[1], 3);
    assert_int_equal(nb_program_output_numel(p, 1), 3);
    assert_int_equal(nb_program_input_count(p), 1);
    assert_int_equal(nb_program_input_index(p, "x"), 0);
    assert_non_null(strstr(nb_program_source(p), "nb_entry"));
    assert_true(nb_program_compile_seconds(p) > 0.0);
    nb_program_free(p);
}

/* Bad source must fail with the generated line quoted, and never exit or crash. */
static void test_tcc_error_quotes_line(void **state)
{
    (void)state;
    rt_jit jit;
    char err[1024];
    const char *bad = "/* line 1 */\n"
                      "int nb_entry(const void *const *in, unsigned char *arena, "
                      "unsigned char *state)\n"
                      "{\n"
                      "    return undefined_thing_42 + 1;\n"
                      "}\n";
    assert_int_equal(rt_tcc_compile(bad, &jit, err, sizeof err), -1);
    assert_null(jit.entry);
    assert_non_null(strstr(err, "undefined_thing_42"));
    assert_non_null(strstr(err, "line 4"));
    assert_non_null(strstr(err, "return undefined_thing_42 + 1;"));

    /* An implicit declaration is an error (-Werror), not garbage at run time. */
    const char *implicit = "int nb_entry(const void *const *in, unsigned char *arena, "
                           "unsigned char *state)\n"
                           "{\n"
                           "    (void)in; (void)arena; (void)state;\n"
                           "    return (int)no_such_fn(1.0f);\n"
                           "}\n";
    assert_int_equal(rt_tcc_compile(implicit, &jit, err, sizeof err), -1);
    assert_non_null(strstr(err, "no_such_fn"));

    /* A syntax error on the last line, and a tiny error buffer. */
    char tiny[16];
    assert_int_equal(
        rt_tcc_compile("int nb_entry(void) {\n    return 0 +;\n", &jit, tiny, sizeof tiny), -1);
    assert_true(strlen(tiny) < sizeof tiny);

    /* Source without the entry point. */
    assert_int_equal(rt_tcc_compile("static int unused_fn(void) { return 0; }\n"
                                    "int other(void) { return unused_fn(); }\n",
                                    &jit, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "entry"));

    /* The compiler still works afterwards. */
    const char *good = "int nb_entry(const void *const *in, unsigned char *arena, "
                       "unsigned char *state)\n"
                       "{\n"
                       "    (void)in; (void)state;\n"
                       "    arena[0] = 42;\n"
                       "    return 7;\n"
                       "}\n";
    assert_int_equal(rt_tcc_compile(good, &jit, err, sizeof err), 0);
    unsigned char arena[4] = {0};
    assert_int_equal(jit.entry(NULL, arena, NULL), 7);
    assert_int_equal(arena[0], 42);
    rt_tcc_free(&jit);
    rt_tcc_free(&jit); /* freeing twice is harmless */
}

/* ---- threads ------------------------------------------------------------------------ */

#define THREAD_RUNS 2000

typedef struct worker {
    nb_program *p;
    float w[3];
    int seed;
    int failures;
} worker;

/* Runs p many times with inputs of its own and checks every result. */
static void *run_worker(void *arg)
{
    worker *k = arg;
    float x[6];
    for (int it = 0; it < THREAD_RUNS; it++) {
        for (int i = 0; i < 6; i++)
            x[i] = (float)((k->seed * 31 + it * 7 + i * 3) % 17) - 8.0f;
        if (nb_program_bind(k->p, "x", x) != 0 || nb_program_run(k->p) != 0) {
            k->failures++;
            continue;
        }
        const float *y = nb_program_output(k->p, 0), *gw = nb_program_output(k->p, 1);
        for (int i = 0; i < 6; i++)
            if (y[i] != x[i] * k->w[i % 3] + 1.0f)
                k->failures++;
        for (int j = 0; j < 3; j++)
            if (gw[j] != x[j] + x[3 + j])
                k->failures++;
    }
    return NULL;
}

static void test_two_threads_same_graph(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *outs[2];
    affine_graph(g, outs);
    nb_program *p1 = compile2(g, outs);
    nb_program *p2 = compile2(g, outs); /* the same graph compiled twice */
    nb_graph_free(g);
    worker a = {p1, {1, 2, 3}, 1, 0}, b = {p2, {-0.5f, 0.25f, 4}, 2, 0};
    assert_int_equal(nb_program_set_param(p1, "w", a.w, sizeof a.w), 0);
    assert_int_equal(nb_program_set_param(p2, "w", b.w, sizeof b.w), 0);
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, run_worker, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, run_worker, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(a.failures, 0);
    assert_int_equal(b.failures, 0);
    nb_program_free(p1);
    nb_program_free(p2);
}

/* Compiling in several threads at once goes through the libtcc mutex. */
static void *compile_worker(void *arg)
{
    int *failures = arg;
    for (int it = 0; it < 10; it++) {
        nb_graph *g = nb_graph_new();
        nb_node *x = nb_input(g, "x", NB_F64, 1, s3);
        nb_node *y = nb_exp(g, nb_mul(g, x, nb_scalar(g, NB_F64, (double)it)));
        nb_compile_options opt = {.outputs = &y, .n_outputs = 1};
        nb_program *p = nb_compile(g, &opt);
        nb_graph_free(g);
        double in[3] = {0, 0, 0};
        if (!p || nb_program_bind(p, "x", in) != 0 || nb_program_run(p) != 0)
            (*failures)++;
        else if (((const double *)nb_program_output(p, 0))[1] != 1.0)
            (*failures)++;
        nb_program_free(p);
    }
    return NULL;
}

static void test_threads_compile(void **state)
{
    (void)state;
    int fa = 0, fb = 0;
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, compile_worker, &fa), 0);
    assert_int_equal(pthread_create(&tb, NULL, compile_worker, &fb), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(fa, 0);
    assert_int_equal(fb, 0);
}

/* ---- state and leaves --------------------------------------------------------------- */

static void test_params_persist(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_program *p = affine_program(g);
    nb_graph_free(g);
    float x[6] = {1, -2, 3, -4, 5, -6}, w[3] = {2, 3, 4}, back[3];

    /* Parameters start at zero. */
    assert_int_equal(nb_program_get_param(p, "w", back, sizeof back), 0);
    for (int j = 0; j < 3; j++)
        assert_true(back[j] == 0.0f);

    assert_int_equal(nb_program_set_param(p, "w", w, sizeof w), 0);
    w[0] = 99; /* set_param copied the values */
    const float wset[3] = {2, 3, 4};
    assert_int_equal(nb_program_bind(p, "x", x), 0);
    for (int run = 0; run < 5; run++) {
        x[0] = (float)run; /* the bound buffer is read at each run, not copied at bind */
        assert_int_equal(nb_program_run(p), 0);
        check_affine(p, x, wset);
    }
    assert_int_equal(nb_program_get_param(p, "w", back, sizeof back), 0);
    assert_memory_equal(back, wset, sizeof back);

    /* A new value takes effect on the next run. */
    const float w2[3] = {-1, 0.5f, 0};
    assert_int_equal(nb_program_set_param(p, "w", w2, sizeof w2), 0);
    assert_int_equal(nb_program_run(p), 0);
    check_affine(p, x, w2);
    nb_program_free(p);
}

static void test_leaf_outputs(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 2, s23);
    nb_node *w = nb_param(g, "w", NB_F32, 1, s3);
    const double cdata[] = {1.5, -2.5, 3.25};
    nb_node *c = nb_constant(g, NB_F32, 1, s3, cdata);
    nb_node *i = nb_input(g, "i", NB_I32, 1, s3);
    nb_node *y = nb_mul(g, x, w);
    nb_node *outs[] = {x, w, c, y, i, x};
    nb_compile_options opt = {.outputs = outs, .n_outputs = 6};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(g));
    nb_graph_free(g);
    float xv[6] = {1, 2, 3, 4, 5, 6}, wv[3] = {-1, 0.5f, 2};
    int32_t iv[3] = {7, -8, 9};
    assert_int_equal(nb_program_set_param(p, "w", wv, sizeof wv), 0);
    assert_int_equal(nb_program_bind(p, "x", xv), 0);
    assert_int_equal(nb_program_bind(p, "i", iv), 0);
    for (int run = 0; run < 2; run++) {
        xv[5] = 6.0f + (float)run;
        assert_int_equal(nb_program_run(p), 0);
        assert_memory_equal(nb_program_output(p, 0), xv, sizeof xv);
        assert_memory_equal(nb_program_output(p, 1), wv, sizeof wv);
        const float cv[3] = {1.5f, -2.5f, 3.25f};
        assert_memory_equal(nb_program_output(p, 2), cv, sizeof cv);
        const float *yv = nb_program_output(p, 3);
        for (int k = 0; k < 6; k++)
            assert_true(yv[k] == xv[k] * wv[k % 3]);
        assert_int_equal(nb_program_output_dtype(p, 4), NB_I32);
        assert_memory_equal(nb_program_output(p, 4), iv, sizeof iv);
        assert_memory_equal(nb_program_output(p, 5), xv, sizeof xv);
    }
    /* The outputs are copies: changing the input buffer after the run does not change
     * them until the next run. */
    xv[0] = 100;
    assert_true(((const float *)nb_program_output(p, 0))[0] == 1.0f);
    nb_program_free(p);
}

/* An input the outputs do not depend on need not be bound. */
static void test_unused_input(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F64, 1, s3);
    nb_input(g, "unused", NB_F64, 1, s3);
    nb_node *y = nb_mul(g, x, x);
    nb_compile_options opt = {.outputs = &y, .n_outputs = 1};
    nb_program *p = nb_compile(g, &opt);
    assert_non_null(p);
    nb_graph_free(g);
    double xv[3] = {1, -2, 3};
    assert_int_equal(nb_program_input_count(p), 2);
    assert_int_equal(nb_program_bind(p, "x", xv), 0);
    assert_int_equal(nb_program_run(p), 0);
    const double *yv = nb_program_output(p, 0);
    assert_true(yv[0] == 1 && yv[1] == 4 && yv[2] == 9);
    nb_program_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_graph_freed_first),      cmocka_unit_test(test_tcc_error_quotes_line),
        cmocka_unit_test(test_two_threads_same_graph), cmocka_unit_test(test_threads_compile),
        cmocka_unit_test(test_params_persist),         cmocka_unit_test(test_leaf_outputs),
        cmocka_unit_test(test_unused_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
