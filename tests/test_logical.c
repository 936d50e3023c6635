/* test_logical.c — logical_and, logical_or, logical_xor and logical_not of bool masks
 * (with broadcasting), isnan and isinf of f32 and f64 (NaN of both signs, infinities,
 * signed zeros, the largest and the smallest values), against truth tables written by
 * hand; their errors; no gradient through a mask; both backends. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "graph_error.h"
#include "nabla.h"

/* Compiles outs of g on backend; fails the test when it cannot. */
static nb_program *compile(nb_graph *g, nb_node **outs, int n, nb_backend backend)
{
    nb_compile_options opt = {.outputs = outs, .n_outputs = n, .backend = backend};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile failed: %s", nb_graph_error(g));
    return p;
}

/* Checks n bool values against want. */
static void expect_mask(const char *what, const void *got, const unsigned char *want, int n)
{
    const unsigned char *v = got;
    for (int i = 0; i < n; i++)
        if (v[i] != want[i])
            fail_msg("%s[%d]: got %d, expected %d", what, i, v[i], want[i]);
}

/* a [2,3] and b [3] broadcast to [2,3]; not of a. Truth tables by hand. */
static void test_truth_tables(void **state)
{
    (void)state;
    for (int be = 0; be < 2; be++) {
        nb_graph *g = nb_graph_new();
        int64_t s23[2] = {2, 3}, s3[1] = {3};
        nb_node *a = nb_input(g, "a", NB_BOOL, 2, s23);
        nb_node *b = nb_input(g, "b", NB_BOOL, 1, s3);
        nb_node *outs[5] = {nb_logical_and(g, a, b), nb_logical_or(g, a, b),
                            nb_logical_xor(g, a, b), nb_logical_not(g, a),
                            /* not(and) = or(not, not): De Morgan, a fused chain */
                            nb_logical_not(g, nb_logical_and(g, nb_logical_not(g, a), b))};
        for (int k = 0; k < 5; k++) {
            assert_int_equal(nb_node_dtype(outs[k]), NB_BOOL);
            assert_int_equal(nb_node_rank(outs[k]), 2);
        }
        nb_program *p = compile(g, outs, 5, be ? NB_BACKEND_CC : NB_BACKEND_TCC);
        const unsigned char av[6] = {0, 1, 1, 0, 0, 1}, bv[3] = {0, 1, 1};
        assert_int_equal(nb_program_bind(p, "a", av), 0);
        assert_int_equal(nb_program_bind(p, "b", bv), 0);
        assert_int_equal(nb_program_run(p), 0);
        /* a = [[0,1,1],[0,0,1]], b = [0,1,1] */
        const unsigned char and_[6] = {0, 1, 1, 0, 0, 1}, or_[6] = {0, 1, 1, 0, 1, 1};
        const unsigned char xor_[6] = {0, 0, 0, 0, 1, 0}, not_[6] = {1, 0, 0, 1, 1, 0};
        const unsigned char a_or_not_b[6] = {1, 1, 1, 1, 0, 1}; /* a || !b */
        expect_mask("and", nb_program_output(p, 0), and_, 6);
        expect_mask("or", nb_program_output(p, 1), or_, 6);
        expect_mask("xor", nb_program_output(p, 2), xor_, 6);
        expect_mask("not", nb_program_output(p, 3), not_, 6);
        expect_mask("a or not b", nb_program_output(p, 4), a_or_not_b, 6);
        nb_program_free(p);
        nb_graph_free(g);
    }
}

/* isnan and isinf in f32 and f64, on both backends, and a mask of them combined. */
static void test_isnan_isinf(void **state)
{
    (void)state;
    enum { N = 10 };
    const double x[N] = {0.0, -0.0, 1.5, -2.0, INFINITY, -INFINITY, NAN, -NAN, 1e-310, 0.0};
    const unsigned char nan_[N] = {0, 0, 0, 0, 0, 0, 1, 1, 0, 0};
    const unsigned char inf_[N] = {0, 0, 0, 0, 1, 1, 0, 0, 0, 0};
    const unsigned char finite_[N] = {1, 1, 1, 1, 0, 0, 0, 0, 1, 1};
    for (int d = 0; d < 2; d++) {
        for (int be = 0; be < 2; be++) {
            nb_dtype dt = d ? NB_F32 : NB_F64;
            nb_graph *g = nb_graph_new();
            int64_t s[1] = {N};
            nb_node *in = nb_input(g, "x", dt, 1, s);
            nb_node *outs[3] = {nb_isnan(g, in), nb_isinf(g, in), NULL};
            outs[2] = nb_logical_not(g, nb_logical_or(g, outs[0], outs[1]));
            nb_program *p = compile(g, outs, 3, be ? NB_BACKEND_CC : NB_BACKEND_TCC);
            double xv[N];
            float xf[N];
            memcpy(xv, x, sizeof xv);
            xv[N - 1] = d ? FLT_MAX : DBL_MAX; /* the largest finite value */
            for (int i = 0; i < N; i++)
                xf[i] = (float)xv[i];
            assert_int_equal(nb_program_bind(p, "x", d ? (const void *)xf : (const void *)xv), 0);
            assert_int_equal(nb_program_run(p), 0);
            expect_mask("isnan", nb_program_output(p, 0), nan_, N);
            expect_mask("isinf", nb_program_output(p, 1), inf_, N);
            expect_mask("isfinite", nb_program_output(p, 2), finite_, N);
            nb_program_free(p);
            nb_graph_free(g);
        }
    }
}

/* A mask made with the logical ops passes no gradient: d/dx sum(x * float(m)) is
 * float(m), and m itself cannot be differentiated (it is bool). */
static void test_no_gradient(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    int64_t s[1] = {4};
    nb_node *x = nb_input(g, "x", NB_F64, 1, s);
    nb_node *zero = nb_scalar(g, NB_F64, 0.0), *one = nb_scalar(g, NB_F64, 1.0);
    nb_node *m = nb_logical_xor(g, nb_gt(g, x, zero), nb_lt(g, x, one));
    nb_node *y = nb_sum(g, nb_mul(g, x, nb_cast(g, m, NB_F64)), NULL, 0, 0);
    nb_node *gx = NULL;
    assert_int_equal(nb_grad(g, y, &x, 1, &gx), 0);
    nb_program *p = compile(g, &gx, 1, NB_BACKEND_TCC);
    const double xv[4] = {-1.0, 0.5, 2.0, 0.0};
    /* x > 0: 0 1 1 0; x < 1: 1 1 0 1; xor: 1 0 1 1 */
    const double want[4] = {1.0, 0.0, 1.0, 1.0};
    assert_int_equal(nb_program_bind(p, "x", xv), 0);
    assert_int_equal(nb_program_run(p), 0);
    const double *v = nb_program_output(p, 0);
    for (int i = 0; i < 4; i++)
        assert_true(v[i] == want[i]);
    nb_program_free(p);
    nb_node *b = nb_logical_not(g, nb_isnan(g, nb_sum(g, x, NULL, 0, 0)));
    assert_int_equal(nb_grad(g, b, &x, 1, &gx), -1);
    assert_string_equal(nb_graph_error(g), "grad: the output is bool[]; gradients need f32 or f64");
    nb_graph_free(g);
}

static void test_errors(void **state)
{
    (void)state;
    int64_t s23[2] = {2, 3}, s4[1] = {4}, s3[1] = {3};
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 2, s23);
    nb_node *m = nb_input(g, "m", NB_BOOL, 1, s3);
    tu_expect_graph_error(g, nb_logical_and(g, x, m),
                          "logical_and: expected bool operands, got f32[2,3] and bool[3] "
                          "(compare with nb_ne)");
    g = nb_graph_new();
    m = nb_input(g, "m", NB_BOOL, 1, s3);
    nb_node *i = nb_input(g, "i", NB_I32, 1, s3);
    tu_expect_graph_error(g, nb_logical_or(g, m, i),
                          "logical_or: expected bool operands, got bool[3] and i32[3] "
                          "(compare with nb_ne)");
    g = nb_graph_new();
    i = nb_input(g, "i", NB_I32, 1, s3);
    tu_expect_graph_error(g, nb_logical_not(g, i),
                          "logical_not: expected a bool operand, got i32[3] (compare with nb_ne)");
    g = nb_graph_new();
    nb_node *a = nb_input(g, "a", NB_BOOL, 2, s23);
    nb_node *b = nb_input(g, "b", NB_BOOL, 1, s4);
    tu_expect_graph_error(g, nb_logical_xor(g, a, b),
                          "logical_xor: cannot broadcast bool[2,3], bool[4] (axis -1: 3 vs 4)");
    g = nb_graph_new();
    i = nb_input(g, "i", NB_I32, 1, s3);
    tu_expect_graph_error(g, nb_isnan(g, i), "isnan: expected an f32 or f64 operand, got i32[3]");
    g = nb_graph_new();
    m = nb_input(g, "m", NB_BOOL, 1, s3);
    tu_expect_graph_error(g, nb_isinf(g, m), "isinf: expected an f32 or f64 operand, got bool[3]");
    g = nb_graph_new();
    tu_expect_graph_error(g, nb_isinf(g, NULL), "isinf: operand 0 is NULL");
    g = nb_graph_new();
    nb_graph *h = nb_graph_new();
    x = nb_input(h, "x", NB_F32, 1, s3);
    nb_node *n = nb_isnan(g, x);
    nb_graph_free(h);
    tu_expect_graph_error(g, n, "isnan: operand 0 (node 0) belongs to another graph");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_truth_tables),
        cmocka_unit_test(test_isnan_isinf),
        cmocka_unit_test(test_no_gradient),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
