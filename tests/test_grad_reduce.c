/* test_grad_reduce.c — reductions (sum, mean, max, min, logsumexp) and softmax /
 * log_softmax: gradient checks over several axis sets with and without keepdim, and
 * values and gradients against numbers computed with PyTorch 1.13. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "gradcheck.h"

/* ---- gradient checks --------------------------------------------------------------- */

/* A case function reducing x[0] with builder FN over the listed axes. */
#define REDUCE_CASE(name, fn, keep, ...)                                                           \
    static nb_node *name(nb_graph *g, nb_node *const *x, nb_dtype dt)                              \
    {                                                                                              \
        static const int axes[] = {__VA_ARGS__};                                                   \
        (void)dt;                                                                                  \
        return fn(g, x[0], axes, (int)(sizeof axes / sizeof *axes), keep);                         \
    }
#define REDUCE_ALL(name, fn, keep)                                                                 \
    static nb_node *name(nb_graph *g, nb_node *const *x, nb_dtype dt)                              \
    {                                                                                              \
        (void)dt;                                                                                  \
        return fn(g, x[0], NULL, 0, keep);                                                         \
    }
#define SOFTMAX_CASE(name, fn, axis)                                                               \
    static nb_node *name(nb_graph *g, nb_node *const *x, nb_dtype dt)                              \
    {                                                                                              \
        (void)dt;                                                                                  \
        return fn(g, x[0], axis);                                                                  \
    }

REDUCE_ALL(sum_all, nb_sum, 0)
REDUCE_CASE(sum_02_keep, nb_sum, 1, 0, 2)
REDUCE_CASE(sum_last, nb_sum, 0, -1)
REDUCE_ALL(mean_all_keep, nb_mean, 1)
REDUCE_CASE(mean_1, nb_mean, 0, 1)
REDUCE_CASE(mean_20, nb_mean, 0, 2, 0)

REDUCE_ALL(max_all, nb_max, 0)
REDUCE_ALL(max_all_keep, nb_max, 1)
REDUCE_CASE(max_1, nb_max, 0, 1)
REDUCE_CASE(max_02_keep, nb_max, 1, 0, -1)
REDUCE_CASE(max_last_keep, nb_max, 1, -1)
REDUCE_ALL(min_all, nb_min, 0)
REDUCE_CASE(min_0, nb_min, 0, 0)
REDUCE_CASE(min_12_keep, nb_min, 1, 1, 2)
REDUCE_CASE(min_last, nb_min, 0, -1)

REDUCE_ALL(lse_all, nb_logsumexp, 0)
REDUCE_ALL(lse_all_keep, nb_logsumexp, 1)
REDUCE_CASE(lse_1, nb_logsumexp, 0, 1)
REDUCE_CASE(lse_02_keep, nb_logsumexp, 1, 0, 2)
REDUCE_CASE(lse_last, nb_logsumexp, 0, -1)

SOFTMAX_CASE(softmax_0, nb_softmax, 0)
SOFTMAX_CASE(softmax_1, nb_softmax, 1)
SOFTMAX_CASE(softmax_last, nb_softmax, -1)
SOFTMAX_CASE(log_softmax_0, nb_log_softmax, 0)
SOFTMAX_CASE(log_softmax_1, nb_log_softmax, 1)
SOFTMAX_CASE(log_softmax_last, nb_log_softmax, -1)

/* x - max(x, -1, keepdim) * x: the max's gradient meets x's own through a broadcast. */
static nb_node *max_shift(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    int axis = -1;
    (void)dt;
    nb_node *m = nb_max(g, x[0], &axis, 1, 1);
    return nb_sub(g, x[0], nb_mul(g, m, x[0]));
}

/* logsumexp of large inputs: without the max subtracted, exp overflows. */
static nb_node *lse_large(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    int axis = 1;
    (void)dt;
    return nb_logsumexp(g, x[0], &axis, 1, 0);
}

static const gc_case cases[] = {
    {"sum_all", sum_all, 1, {GC_F(3, 2, 3, 4)}, 1},
    {"sum_02_keep", sum_02_keep, 1, {GC_F(3, 2, 3, 4)}, 0},
    {"sum_last", sum_last, 1, {GC_F(2, 3, 5)}, 0},
    {"mean_all_keep", mean_all_keep, 1, {GC_F(2, 3, 4)}, 0},
    {"mean_1", mean_1, 1, {GC_F(3, 2, 3, 4)}, 1},
    {"mean_20", mean_20, 1, {GC_F(3, 2, 3, 4)}, 0},
    {"max_all", max_all, 1, {GC_F(2, 3, 4)}, 0},
    {"max_all_keep", max_all_keep, 1, {GC_F(3, 2, 3, 4)}, 1},
    {"max_1", max_1, 1, {GC_F(3, 2, 3, 4)}, 0},
    {"max_02_keep", max_02_keep, 1, {GC_F(3, 2, 3, 4)}, 1},
    {"max_last_keep_rank1", max_last_keep, 1, {GC_F(1, 7)}, 0},
    {"min_all", min_all, 1, {GC_F(1, 6)}, 0},
    {"min_0", min_0, 1, {GC_F(3, 2, 3, 4)}, 1},
    {"min_12_keep", min_12_keep, 1, {GC_F(3, 2, 3, 4)}, 0},
    {"min_last", min_last, 1, {GC_F(2, 4, 3)}, 0},
    {"max_shift", max_shift, 1, {GC_F(2, 3, 4)}, 1},
    {"logsumexp_all", lse_all, 1, {GC_F(3, 2, 3, 4)}, 1},
    {"logsumexp_all_keep", lse_all_keep, 1, {GC_F(1, 5)}, 0},
    {"logsumexp_1", lse_1, 1, {GC_F(3, 2, 3, 4)}, 1},
    {"logsumexp_02_keep", lse_02_keep, 1, {GC_F(3, 2, 3, 4)}, 1},
    {"logsumexp_last", lse_last, 1, {GC_F(2, 3, 4)}, 0},
    {"logsumexp_large", lse_large, 1, {GC_FR(300, 310, 2, 2, 3)}, 0},
    {"softmax_0", softmax_0, 1, {GC_F(2, 3, 4)}, 1},
    {"softmax_1", softmax_1, 1, {GC_F(3, 2, 3, 4)}, 0},
    {"softmax_last", softmax_last, 1, {GC_F(2, 3, 4)}, 1},
    {"softmax_rank1", softmax_last, 1, {GC_F(1, 6)}, 0},
    {"log_softmax_0", log_softmax_0, 1, {GC_F(2, 4, 3)}, 0},
    {"log_softmax_1", log_softmax_1, 1, {GC_F(3, 2, 3, 4)}, 1},
    {"log_softmax_last", log_softmax_last, 1, {GC_F(2, 3, 4)}, 1},
};

/* ---- values and gradients against PyTorch ------------------------------------------ */

/* The fixed input of the value tests, and a second with ties in every row. */
static const double X23[6] = {1, 5, 3, -2, 0.5, 0.5};
static const double TIES[6] = {1, 3, 3, 2, 2, 2};

typedef nb_node *(*build_fn)(nb_graph *g, nb_node *x);

/* Builds y = f(x) for an f64 input of shape [rows, cols], optionally its vector-
 * Jacobian product with seed, runs it in `dt`, and checks both against expected
 * values (NULL: not checked). NaN expected values must come out NaN. */
static void check(nb_dtype dt, int64_t rows, int64_t cols, const double *xv, build_fn f,
                  const double *seed, const double *want_y, const double *want_gx, double tol)
{
    int64_t shape[2] = {rows, cols};
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", dt, 2, shape);
    nb_node *y = f(g, x), *gx = NULL;
    assert_non_null(y);
    nb_node *outs[2] = {y, NULL};
    int n_out = 1;
    if (want_gx) {
        nb_node *s = nb_constant(g, dt, nb_node_rank(y), nb_node_shape(y), seed);
        assert_int_equal(nb_vjp(g, y, s, &x, 1, &gx), 0);
        outs[n_out++] = gx;
    }
    nb_compile_options opt = {.outputs = outs, .n_outputs = n_out};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(g));
    float xf[64];
    for (int64_t i = 0; i < rows * cols; i++)
        xf[i] = (float)xv[i];
    assert_int_equal(nb_program_bind(p, "x", dt == NB_F32 ? (const void *)xf : (const void *)xv),
                     0);
    assert_int_equal(nb_program_run(p), 0);
    for (int o = 0; o < n_out; o++) {
        const double *want = o == 0 ? want_y : want_gx;
        if (!want)
            continue;
        const void *got = nb_program_output(p, o);
        for (int64_t i = 0; i < nb_program_output_numel(p, o); i++) {
            double v = dt == NB_F32 ? (double)((const float *)got)[i] : ((const double *)got)[i];
            int ok = isnan(want[i])
                         ? isnan(v)
                         : v == want[i] || fabs(v - want[i]) <= tol * (1 + fabs(want[i]));
            if (!ok)
                fail_msg("output %d[%lld]: got %.10g, want %.10g", o, (long long)i, v, want[i]);
        }
    }
    nb_program_free(p);
    nb_graph_free(g);
}

static void check_both(int64_t rows, int64_t cols, const double *xv, build_fn f, const double *seed,
                       const double *want_y, const double *want_gx)
{
    check(NB_F64, rows, cols, xv, f, seed, want_y, want_gx, 1e-9);
    check(NB_F32, rows, cols, xv, f, seed, want_y, want_gx, 1e-5);
}

static nb_node *lse_all_b(nb_graph *g, nb_node *x)
{
    return nb_logsumexp(g, x, NULL, 0, 0);
}
static nb_node *lse_1_b(nb_graph *g, nb_node *x)
{
    int a = 1;
    return nb_logsumexp(g, x, &a, 1, 0);
}
static nb_node *lse_0_b(nb_graph *g, nb_node *x)
{
    int a = 0;
    return nb_logsumexp(g, x, &a, 1, 1);
}
static nb_node *sm_1_b(nb_graph *g, nb_node *x)
{
    return nb_softmax(g, x, 1);
}
static nb_node *sm_0_b(nb_graph *g, nb_node *x)
{
    return nb_softmax(g, x, -2);
}
static nb_node *lsm_b(nb_graph *g, nb_node *x)
{
    return nb_log_softmax(g, x, -1);
}
static nb_node *amax_1_b(nb_graph *g, nb_node *x)
{
    int a = 1;
    return nb_max(g, x, &a, 1, 0);
}
static nb_node *amin_all_b(nb_graph *g, nb_node *x)
{
    return nb_min(g, x, NULL, 0, 0);
}
static nb_node *amin_1k_b(nb_graph *g, nb_node *x)
{
    int a = -1;
    return nb_min(g, x, &a, 1, 1);
}
static nb_node *amax_0_b(nb_graph *g, nb_node *x)
{
    int a = 0;
    return nb_max(g, x, &a, 1, 0);
}
static nb_node *amax_all_b(nb_graph *g, nb_node *x)
{
    return nb_max(g, x, NULL, 0, 0);
}

/* torch.logsumexp(x, dims) and its gradient (softmax weighted by the seed). */
static void test_logsumexp_values(void **state)
{
    (void)state;
    const double one = 1, seed2[2] = {1, 2};
    const double all[1] = {5.162782572333226};
    const double ax1[2] = {5.1429316285, 1.2333697948};
    const double ax0[3] = {1.0485873516, 5.0110477448, 3.0788897343};
    const double g1[6] = {0.0158762400, 0.8668133322, 0.1173104278,
                          0.0788488450, 0.9605755775, 0.9605755775};
    check_both(2, 3, X23, lse_all_b, &one, all, NULL);
    check(NB_F64, 2, 3, X23, lse_1_b, seed2, ax1, g1, 1e-9);
    check(NB_F32, 2, 3, X23, lse_1_b, seed2, ax1, g1, 1e-5);
    check_both(2, 3, X23, lse_0_b, NULL, ax0, NULL);
}

/* Large and infinite inputs: the max shift keeps them finite (torch.logsumexp). */
static void test_logsumexp_extremes(void **state)
{
    (void)state;
    const double big[3] = {1000, 1000, -1000}, want_big[1] = {1000.6931471805599};
    const double ninf[3] = {-INFINITY, -INFINITY, -INFINITY}, want_ninf[1] = {-INFINITY};
    const double pinf[3] = {INFINITY, 1, 2}, want_pinf[1] = {INFINITY};
    const double nan_in[3] = {1, NAN, 2}, want_nan[1] = {NAN};
    check_both(1, 3, big, lse_all_b, NULL, want_big, NULL);
    /* The gradients are NaN where x - y is inf - inf, as in torch. */
    const double one = 1, g_ninf[3] = {NAN, NAN, NAN}, g_pinf[3] = {NAN, 0, 0};
    check_both(1, 3, ninf, lse_all_b, &one, want_ninf, g_ninf);
    check_both(1, 3, pinf, lse_all_b, &one, want_pinf, g_pinf);
    check_both(1, 3, nan_in, lse_all_b, NULL, want_nan, NULL);
}

static void test_softmax_values(void **state)
{
    (void)state;
    const double sm1[6] = {0.0158762400, 0.8668133322, 0.1173104278,
                           0.0394244225, 0.4802877888, 0.4802877888};
    const double sm0[6] = {0.9525741268, 0.9890130574, 0.9241418200,
                           0.0474258732, 0.0109869426, 0.0758581800};
    const double lsm[6] = {-4.1429316285, -0.1429316285, -2.1429316285,
                           -3.2333697948, -0.7333697948, -0.7333697948};
    check_both(2, 3, X23, sm_1_b, NULL, sm1, NULL);
    check_both(2, 3, X23, sm_0_b, NULL, sm0, NULL);
    check_both(2, 3, X23, lsm_b, NULL, lsm, NULL);
}

/* A rank-0 x with axis 0 or -1 (torch allows both): softmax 1, log_softmax 0. */
static void test_softmax_rank0(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F64, 0, NULL);
    nb_node *outs[2] = {nb_softmax(g, x, 0), nb_log_softmax(g, x, -1)};
    nb_compile_options opt = {.outputs = outs, .n_outputs = 2};
    nb_program *p = nb_compile(g, &opt);
    assert_non_null(p);
    const double v = 2.5;
    assert_int_equal(nb_program_bind(p, "x", &v), 0);
    assert_int_equal(nb_program_run(p), 0);
    assert_true(*(const double *)nb_program_output(p, 0) == 1.0);
    assert_true(*(const double *)nb_program_output(p, 1) == 0.0);
    nb_program_free(p);
    nb_graph_free(g);
}

/* torch.amax / amin: values, and the gradient split evenly among tied elements. */
static void test_max_min_ties(void **state)
{
    (void)state;
    const double ones2[2] = {1, 1}, one = 1, seed21[2] = {1, 2}, ones3[3] = {1, 1, 1};
    const double max1[2] = {3, 2};
    const double gmax1[6] = {0, 0.5, 0.5, 1.0 / 3, 1.0 / 3, 1.0 / 3};
    const double minall[1] = {1};
    const double gminall[6] = {1, 0, 0, 0, 0, 0};
    const double min1k[2] = {1, -2}, gmin1k[6] = {1, 0, 0, 2, 0, 0};
    const double max0[3] = {2, 3, 3}, gmax0[6] = {0, 1, 1, 1, 0, 0};
    const double maxall[1] = {3}, gmaxall[6] = {0, 0.5, 0.5, 0, 0, 0};
    check_both(2, 3, TIES, amax_1_b, ones2, max1, gmax1);
    check_both(2, 3, TIES, amin_all_b, &one, minall, gminall);
    check_both(2, 3, X23, amin_1k_b, seed21, min1k, gmin1k);
    check_both(2, 3, TIES, amax_0_b, ones3, max0, gmax0);
    check_both(2, 3, TIES, amax_all_b, &one, maxall, gmaxall);
}

/* A NaN propagates to the value and (as in torch) makes the slice's gradient NaN. */
static void test_max_min_nan(void **state)
{
    (void)state;
    const double x[6] = {1, NAN, 2, 4, 5, 6}, ones2[2] = {1, 1};
    const double want_max[2] = {NAN, 6}, gmax[6] = {NAN, NAN, NAN, 0, 0, 1};
    const double want_min[2] = {NAN, 4}, gmin[6] = {NAN, NAN, NAN, 1, 0, 0};
    check_both(2, 3, x, amax_1_b, ones2, want_max, gmax);
    check_both(2, 3, x, amin_1k_b, ones2, want_min, gmin);
}

int main(void)
{
    const struct CMUnitTest values[] = {
        cmocka_unit_test(test_logsumexp_values), cmocka_unit_test(test_logsumexp_extremes),
        cmocka_unit_test(test_softmax_values),   cmocka_unit_test(test_softmax_rank0),
        cmocka_unit_test(test_max_min_ties),     cmocka_unit_test(test_max_min_nan),
    };
    int failed = cmocka_run_group_tests_name("reduce_values", values, NULL, NULL);
    return failed + gc_run_table("grad_reduce", cases, (int)(sizeof cases / sizeof *cases));
}
