/* test_argmax.c — argmax and argmin: indices against values worked out by hand (ties,
 * NaN, -inf, keepdim, negative axes) in f64 on the tcc and cc backends, split across
 * threads against a plain loop, no gradient through the integer index, and the
 * errors of the builders and of the graph format. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cg.h"
#include "graph_error.h"
#include "nabla.h"
#include "rt.h"

/* Rows: a tie for the max (the first wins), NaNs (the first NaN wins both), -inf ties. */
static const double X35[15] = {
    1, 7, 7, -2, 7, NAN, 0, NAN, -INFINITY, 4, -INFINITY, -INFINITY, 3, 3, -INFINITY,
};
static const int64_t S35[2] = {3, 5};

/* Compiles outs of g on backend b (threads as given), binds x, runs and returns p. */
static nb_program *run(nb_graph *g, nb_node **outs, int n, nb_backend b, int threads, const void *x)
{
    nb_compile_options opt = {
        .outputs = outs, .n_outputs = n, .backend = b, .keep_plan = 1, .threads = threads};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(g));
    assert_int_equal(nb_program_bind(p, "x", x), 0);
    if (nb_program_run(p) != 0)
        fail_msg("run: %s", nb_program_error(p));
    return p;
}

static void expect_ints(const nb_program *p, int i, const int32_t *want, int n)
{
    const int32_t *v = nb_program_output(p, i);
    assert_int_equal(nb_program_output_dtype(p, i), NB_I32);
    for (int k = 0; k < n; k++)
        if (v[k] != want[k])
            fail_msg("output %d [%d] = %d, expected %d", i, k, v[k], want[k]);
}

static void hand_values(nb_backend b)
{
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F64, 2, S35);
    nb_node *outs[] = {nb_argmax(g, x, 1, 0), nb_argmin(g, x, -1, 1), nb_argmax(g, x, 0, 1),
                       nb_argmin(g, x, -2, 0)};
    assert_int_equal(nb_node_rank(outs[0]), 1);
    assert_int_equal(nb_node_rank(outs[1]), 2);
    assert_int_equal(nb_node_shape(outs[1])[1], 1);
    assert_int_equal(nb_node_shape(outs[2])[0], 1);
    assert_int_equal(nb_node_shape(outs[2])[1], 5);
    nb_program *p = run(g, outs, 4, b, 1, X35);
    expect_ints(p, 0, (const int32_t[]){1, 0, 2}, 3);
    expect_ints(p, 1, (const int32_t[]){3, 0, 0}, 3);
    expect_ints(p, 2, (const int32_t[]){1, 0, 1, 2, 0}, 5);
    expect_ints(p, 3, (const int32_t[]){1, 2, 1, 1, 2}, 5);
    nb_program_free(p);
    nb_graph_free(g);
}

static void test_hand_values_tcc(void **state)
{
    (void)state;
    hand_values(NB_BACKEND_TCC);
}

static void test_hand_values_cc(void **state)
{
    (void)state;
    hand_values(NB_BACKEND_CC);
}

/* How many kernels of p's plan are split. */
static int split_kernels(const nb_program *p)
{
    int n = 0;
    for (const char *s = nb_program_plan(p); s && (s = strstr(s, "; split in ")); s++)
        n++;
    return n;
}

/* Many ties ((37 r + 11 c) mod 29 repeats in every row and column): each output
 * element stays on one thread, so 4 threads give the first index as one does. */
static void test_split_threads(void **state)
{
    (void)state;
    enum { R = 256, C = 67 };
    static float x[R * C];
    static int32_t want_max[R], want_min[C];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++)
            x[r * C + c] = (float)((37 * r + 11 * c) % 29);
    for (int r = 0; r < R; r++) {
        want_max[r] = 0;
        for (int c = 1; c < C; c++)
            if (x[r * C + c] > x[r * C + want_max[r]])
                want_max[r] = c;
    }
    for (int c = 0; c < C; c++) {
        want_min[c] = 0;
        for (int r = 1; r < R; r++)
            if (x[r * C + c] < x[want_min[c] * C + c])
                want_min[c] = r;
    }
    rt_threads_set_split_min(CG_SPLIT_GRAIN);
    for (int b = 0; b < 2; b++) {
        nb_graph *g = nb_graph_new();
        nb_node *xn = nb_input(g, "x", NB_F32, 2, (const int64_t[]){R, C});
        nb_node *outs[] = {nb_argmax(g, xn, -1, 0), nb_argmin(g, xn, 0, 1)};
        nb_program *p = run(g, outs, 2, b ? NB_BACKEND_CC : NB_BACKEND_TCC, 4, x);
        assert_int_equal(split_kernels(p), 2);
        expect_ints(p, 0, want_max, R);
        expect_ints(p, 1, want_min, C);
        nb_program_free(p);
        nb_graph_free(g);
    }
    rt_threads_set_split_min(0);
}

/* The index is an integer: no gradient flows through it, as torch gives an integer
 * output none. d/dx [sum(x * x) + sum(argmax(x))] = 2x, and a loss that reaches x only
 * through argmin has a zero gradient (and no error). */
static void test_no_gradient(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F64, 2, (const int64_t[]){2, 2});
    nb_node *am = nb_cast(g, nb_argmax(g, x, 1, 0), NB_F64);
    nb_node *loss = nb_add(g, nb_sum(g, nb_mul(g, x, x), NULL, 0, 0), nb_sum(g, am, NULL, 0, 0));
    nb_node *only = nb_sum(g, nb_cast(g, nb_argmin(g, x, 0, 1), NB_F64), NULL, 0, 0);
    nb_node *gx[2];
    assert_int_equal(nb_grad(g, loss, &x, 1, &gx[0]), 0);
    assert_int_equal(nb_grad(g, only, &x, 1, &gx[1]), 0);
    nb_node *outs[] = {loss, gx[0], gx[1]};
    const double xv[4] = {1.5, -2, 3, 3};
    nb_program *p = run(g, outs, 3, NB_BACKEND_TCC, 1, xv);
    /* 2.25 + 4 + 9 + 9 = 24.25, argmax rows: 0 and 0 (a tie) */
    assert_true(*(const double *)nb_program_output(p, 0) == 24.25);
    const double *g0 = nb_program_output(p, 1), *g1 = nb_program_output(p, 2);
    for (int i = 0; i < 4; i++) {
        assert_true(g0[i] == 2 * xv[i]);
        assert_true(g1[i] == 0);
    }
    nb_program_free(p);
    nb_graph_free(g);
}

static void expect_error(nb_node *(*fn)(nb_graph *, nb_node *, int, int), nb_dtype dt, int rank,
                         const int64_t *shape, int axis, const char *msg)
{
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", dt, rank, shape);
    tu_expect_graph_error(g, fn(g, x, axis, 0), msg);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error(nb_argmax, NB_I32, 2, S35, 0,
                 "argmax: expected f32 or f64 operands, got i32[3,5]");
    expect_error(nb_argmin, NB_F32, 2, S35, 2, "argmin: axis 2 is out of range for rank 2");
    expect_error(nb_argmax, NB_F32, 2, S35, -3, "argmax: axis -3 is out of range for rank 2");
    expect_error(nb_argmax, NB_F32, 0, NULL, 0, "argmax: axis 0 is out of range for rank 0");
    assert_null(nb_argmax(NULL, NULL, 0, 0));
    nb_graph *g = nb_graph_new();
    assert_null(nb_argmax(g, NULL, 0, 0));
    assert_string_equal(nb_graph_error(g), "argmax: operand 0 is NULL");
    nb_graph_free(g);
    /* The graph format names the axes as a list: exactly one is required. */
    static const char *const bad[][2] = {
        {"nabla-graph 1\n%0 = input f32[2,3]\n%1 = argmax i32[] (%0) axes=[0,1] keepdim=0\n",
         "expected one axis"},
        {"nabla-graph 1\n%0 = input f32[2,3]\n%1 = argmin i32[2,3] (%0) axes=[] keepdim=1\n",
         "expected one axis"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char err[512];
        assert_null(nb_graph_parse(bad[i][0], strlen(bad[i][0]), NULL, err, sizeof err));
        if (!strstr(err, bad[i][1]))
            fail_msg("error '%s' lacks '%s'", err, bad[i][1]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_values_tcc), cmocka_unit_test(test_hand_values_cc),
        cmocka_unit_test(test_split_threads),   cmocka_unit_test(test_no_gradient),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
