/* test_prod.c — nb_prod: gradients against finite differences (first and second order,
 * several axes, keepdim), values and gradients with zeros (one, two, all), NaN and
 * infinities against hand calculation as torch.prod gives them, a product of one
 * element, and the builder's errors. Goldens against PyTorch (with zeros) are in test_golden. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gradcheck.h"
#include "graph_error.h"

/* ---- gradient checks --------------------------------------------------------------- */

static nb_node *gc_prod_last(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    int axis = -1;
    return nb_prod(g, x[0], &axis, 1, 0);
}

static nb_node *gc_prod_02_keep(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    int axes[2] = {0, 2};
    return nb_prod(g, x[0], axes, 2, 1);
}

static nb_node *gc_prod_all(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_prod(g, x[0], NULL, 0, 0);
}

/* prod(x) * x: x reaches the output by two paths. */
static nb_node *gc_prod_times_x(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    int axis = 0;
    return nb_mul(g, nb_prod(g, x[0], &axis, 1, 1), x[0]);
}

/* Inputs kept away from 0 (the gradient there is exact but not smooth in the sense of
 * finite differences across a sign change of the product), on both sides of it. */
#define ROWS2(name, fn, lo, hi, r, ...)                                                            \
    {name, fn, 1, {GC_FR(lo, hi, r, __VA_ARGS__)}, 0},                                             \
    {                                                                                              \
        name "_2nd", fn, 1, {GC_FR(lo, hi, r, __VA_ARGS__)}, 1                                     \
    }
static const gc_case cases[] = {
    ROWS2("prod_last", gc_prod_last, 0.5, 1.5, 2, 3, 4),
    ROWS2("prod_last_neg", gc_prod_last, -1.5, -0.5, 2, 3, 4),
    ROWS2("prod_02_keep", gc_prod_02_keep, 0.6, 1.4, 3, 2, 3, 2),
    ROWS2("prod_all", gc_prod_all, 0.7, 1.3, 2, 2, 3),
    ROWS2("prod_scalar", gc_prod_all, -1.5, 1.5, 0, 0),
    ROWS2("prod_times_x", gc_prod_times_x, 0.5, 1.5, 2, 3, 2),
};

/* ---- zeros, NaN, infinities ------------------------------------------------------- */

enum { ROWS = 8, COLS = 3 };

/* Rows of x and, computed by hand, prod over the row and d sum(prod) / dx, which is the
 * product of the row's other elements (torch.prod's backward: result / x without a zero,
 * else the products of the others, so NaN and inf follow IEEE there). */
static const double X[ROWS][COLS] = {
    {2.0, 0.0, 3.0},       /* one zero: the zero gets 6, the others 0 */
    {0.0, 5.0, 0.0},       /* two zeros: all 0 */
    {1.5, -2.0, 4.0},      /* no zero: y / x */
    {0.0, 0.0, 0.0},       /* all zeros */
    {-0.0, 3.0, 0.5},      /* a negative zero counts as a zero */
    {NAN, 2.0, 1.0},       /* NaN: y = NaN, every y / x NaN */
    {INFINITY, 2.0, -1.0}, /* y = -inf: inf / inf = NaN, -inf / 2, -inf / -1 */
    {0.25, -4.0, -1.0},    /* no zero, exact */
};
static const double Y[ROWS] = {0.0, 0.0, -12.0, 0.0, -0.0, NAN, -INFINITY, 1.0};
static const double DX[ROWS][COLS] = {
    {0.0, 6.0, 0.0}, {0.0, 0.0, 0.0}, {-8.0, 6.0, -3.0},          {0.0, 0.0, 0.0},
    {1.5, 0.0, 0.0}, {NAN, NAN, NAN}, {NAN, -INFINITY, INFINITY}, {4.0, -0.25, -1.0},
};

/* NaN for NaN, else equal (the values are exact in f32 and f64). */
static void expect_same(const char *what, int i, double a, double e)
{
    if (isnan(e) ? isnan(a) : a == e)
        return;
    fail_msg("%s[%d]: got %.17g, expected %.17g", what, i, a, e);
}

static void test_zeros(void **state)
{
    (void)state;
    for (int d = 0; d < 2; d++) {
        for (int be = 0; be < 2; be++) {
            nb_dtype dt = d ? NB_F32 : NB_F64;
            nb_graph *g = nb_graph_new();
            int64_t s[2] = {ROWS, COLS};
            int axis = 1;
            nb_node *x = nb_input(g, "x", dt, 2, s);
            nb_node *y = nb_prod(g, x, &axis, 1, 0), *dx = NULL;
            assert_int_equal(nb_grad(g, nb_sum(g, y, NULL, 0, 0), &x, 1, &dx), 0);
            nb_node *outs[2] = {y, dx};
            nb_compile_options opt = {
                .outputs = outs, .n_outputs = 2, .backend = be ? NB_BACKEND_CC : NB_BACKEND_TCC};
            nb_program *p = nb_compile(g, &opt);
            if (!p)
                fail_msg("compile failed: %s", nb_graph_error(g));
            double xv[ROWS * COLS];
            float xf[ROWS * COLS];
            memcpy(xv, X, sizeof xv);
            for (int i = 0; i < ROWS * COLS; i++)
                xf[i] = (float)xv[i];
            assert_int_equal(nb_program_bind(p, "x", d ? (const void *)xf : (const void *)xv), 0);
            assert_int_equal(nb_program_run(p), 0);
            const void *yv = nb_program_output(p, 0), *gv = nb_program_output(p, 1);
            for (int r = 0; r < ROWS; r++) {
                double v = d ? ((const float *)yv)[r] : ((const double *)yv)[r];
                expect_same("prod", r, v, Y[r]);
                assert_int_equal(signbit(v) != 0, signbit(Y[r]) != 0);
            }
            for (int i = 0; i < ROWS * COLS; i++) {
                double v = d ? ((const float *)gv)[i] : ((const double *)gv)[i];
                expect_same("d prod", i, v, DX[i / COLS][i % COLS]);
            }
            nb_program_free(p);
            nb_graph_free(g);
        }
    }
}

/* Over no axis (a scalar, here inf), and over an axis of size 1 (here with a zero): x
 * itself, gradient 1. */
static void test_identity(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    int64_t s[2] = {2, 1};
    int axis = 1;
    nb_node *x = nb_input(g, "x", NB_F64, 2, s);
    nb_node *z = nb_input(g, "z", NB_F64, 0, NULL);
    nb_node *y = nb_prod(g, x, &axis, 1, 0), *pz = nb_prod(g, z, NULL, 0, 0), *dx = NULL;
    nb_node *dz = NULL;
    assert_int_equal(nb_node_rank(y), 1);
    assert_int_equal(nb_grad(g, nb_sum(g, y, NULL, 0, 0), &x, 1, &dx), 0);
    assert_int_equal(nb_grad(g, pz, &z, 1, &dz), 0);
    nb_node *outs[4] = {y, pz, dx, dz};
    nb_compile_options opt = {.outputs = outs, .n_outputs = 4};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile failed: %s", nb_graph_error(g));
    const double xv[2] = {0.0, -3.5}, zv = INFINITY;
    assert_int_equal(nb_program_bind(p, "x", xv), 0);
    assert_int_equal(nb_program_bind(p, "z", &zv), 0);
    assert_int_equal(nb_program_run(p), 0);
    const double *yv = nb_program_output(p, 0), *gv = nb_program_output(p, 2);
    assert_true(yv[0] == 0.0 && yv[1] == -3.5);
    assert_true(*(const double *)nb_program_output(p, 1) == INFINITY);
    assert_true(gv[0] == 1.0 && gv[1] == 1.0);
    /* torch.prod of a 0-d tensor passes gy (y / x would be inf / inf = NaN) */
    assert_true(*(const double *)nb_program_output(p, 3) == 1.0);
    nb_program_free(p);
    nb_graph_free(g);
}

static void test_errors(void **state)
{
    (void)state;
    int64_t s[2] = {2, 3};
    nb_graph *g = nb_graph_new();
    nb_node *i = nb_input(g, "i", NB_I32, 2, s);
    tu_expect_graph_error(g, nb_prod(g, i, NULL, 0, 0),
                          "prod: expected f32 or f64 operands, got i32[2,3]");
    g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 2, s);
    int axis = 2;
    tu_expect_graph_error(g, nb_prod(g, x, &axis, 1, 0), "prod: axis 2 is out of range for rank 2");
    g = nb_graph_new();
    tu_expect_graph_error(g, nb_prod(g, NULL, NULL, 0, 0), "prod: operand 0 is NULL");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zeros),
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_errors),
    };
    int failed = cmocka_run_group_tests_name("prod_values", tests, NULL, NULL);
    failed += gc_run_table("prod_grad", cases, (int)(sizeof cases / sizeof *cases));
    return failed;
}
