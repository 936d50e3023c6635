/* test_trig.c — tan, asin, acos, atan, sinh, cosh, asinh, acosh, atanh: gradients against
 * finite differences (first and second order, f64 and f32), values and gradients at the
 * domain's edges and outside it against PyTorch 1.13, and the same bits from tcc and cc.
 * Values inside the domain are checked against PyTorch by test_golden. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gradcheck.h"

typedef nb_node *(*unary_fn)(nb_graph *g, nb_node *x);

/* ---- gradient checks --------------------------------------------------------------- */

#define TRIG_CASE(op)                                                                              \
    static nb_node *gc_##op(nb_graph *g, nb_node *const *x, nb_dtype dt)                           \
    {                                                                                              \
        (void)dt;                                                                                  \
        return nb_##op(g, x[0]);                                                                   \
    }
TRIG_CASE(tan)
TRIG_CASE(asin)
TRIG_CASE(acos)
TRIG_CASE(atan)
TRIG_CASE(sinh)
TRIG_CASE(cosh)
TRIG_CASE(asinh)
TRIG_CASE(acosh)
TRIG_CASE(atanh)

/* First order on a scalar and on [3,4], second order on [2,3], inside the domain and
 * away from its edges (where the derivative blows up). */
#define ROWS2(name, fn, lo, hi)                                                                    \
    {name, fn, 1, {GC_FR(lo, hi, 0)}, 0}, {name "_3x4", fn, 1, {GC_FR(lo, hi, 2, 3, 4)}, 0},       \
    {                                                                                              \
        name "_2x3_2nd", fn, 1, {GC_FR(lo, hi, 2, 2, 3)}, 1                                        \
    }
static const gc_case cases[] = {
    ROWS2("tan", gc_tan, -1.2, 1.2),     ROWS2("asin", gc_asin, -0.9, 0.9),
    ROWS2("acos", gc_acos, -0.9, 0.9),   ROWS2("atan", gc_atan, -4.0, 4.0),
    ROWS2("sinh", gc_sinh, -3.0, 3.0),   ROWS2("cosh", gc_cosh, -3.0, 3.0),
    ROWS2("asinh", gc_asinh, -4.0, 4.0), ROWS2("acosh", gc_acosh, 1.1, 5.0),
    ROWS2("atanh", gc_atanh, -0.9, 0.9),
};

/* ---- values and gradients at the edges --------------------------------------------- */

/* y = f(x) and dy = d sum(f(x)) / dx for n values of x, in dtype dt. */
static void run_unary(unary_fn f, nb_dtype dt, const double *x, int n, double *y, double *dy)
{
    nb_graph *g = nb_graph_new();
    int64_t shape[1] = {n};
    nb_node *in = nb_input(g, "x", dt, 1, shape);
    nb_node *out = f(g, in);
    nb_node *grad = NULL;
    assert_int_equal(nb_grad(g, nb_sum(g, out, NULL, 0, 0), &in, 1, &grad), 0);
    nb_node *outs[2] = {out, grad};
    nb_compile_options opt = {.outputs = outs, .n_outputs = 2};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile failed: %s", nb_graph_error(g));
    float xf[16];
    assert_true(n <= 16);
    for (int i = 0; i < n; i++)
        xf[i] = (float)x[i];
    assert_int_equal(nb_program_bind(p, "x", dt == NB_F32 ? (const void *)xf : (const void *)x), 0);
    assert_int_equal(nb_program_run(p), 0);
    for (int k = 0; k < 2; k++) {
        const void *v = nb_program_output(p, k);
        double *dst = k ? dy : y;
        for (int i = 0; i < n; i++)
            dst[i] = dt == NB_F32 ? (double)((const float *)v)[i] : ((const double *)v)[i];
    }
    nb_program_free(p);
    nb_graph_free(g);
}

/* |a - e| <= rtol |e|; infinities must match exactly, a NaN only a NaN. */
static void expect_close(const char *what, int i, double a, double e, double rtol)
{
    if (isnan(e) ? isnan(a) : isinf(e) ? a == e : fabs(a - e) <= rtol * fabs(e))
        return;
    fail_msg("%s[%d]: got %.17g, expected %.17g", what, i, a, e);
}

#define EDGE_MAX 8

typedef struct edge_case {
    const char *name;
    unary_fn f;
    int n;
    double x[EDGE_MAX], y[EDGE_MAX], dy[EDGE_MAX];
} edge_case;

/* Expected values: PyTorch 1.13 in f64, printed by
 *   x = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
 *   y = torch.<op>(x); y.sum().backward(); print(y.tolist(), x.grad.tolist())
 * The domain's edges (asin'(+-1) = inf, atanh(+-1) = +-inf, acosh(1) = 0 with acosh'(1)
 * = inf), NaN outside it, the infinities, NaN, and x^2 overflowing in the gradient
 * (asinh'(1e200) = 0, as torch's formula gives). */
static const edge_case edges[] = {
    {"tan",
     nb_tan,
     7,
     {-1.5, -0.5, 0.0, 1.0, 1.5, INFINITY, NAN},
     {-14.101419947171719, -0.5463024898437905, 0.0, 1.5574077246549023, 14.101419947171719, NAN,
      NAN},
     {199.85004452649244, 1.2984464104095248, 1.0, 3.42551882081476, 199.85004452649244, NAN, NAN}},
    {"asin",
     nb_asin,
     8,
     {-1.0, -0.5, 0.0, 0.9, 1.0, 1.5, -2.0, NAN},
     {-1.5707963267948966, -0.5235987755982989, 0.0, 1.1197695149986342, 1.5707963267948966, NAN,
      NAN, NAN},
     {INFINITY, 1.1547005383792517, 1.0, 2.294157338705618, INFINITY, NAN, NAN, NAN}},
    {"acos",
     nb_acos,
     8,
     {-1.0, -0.5, 0.0, 0.9, 1.0, 1.5, -2.0, NAN},
     {3.141592653589793, 2.0943951023931957, 1.5707963267948966, 0.45102681179626236, 0.0, NAN, NAN,
      NAN},
     {-INFINITY, -1.1547005383792517, -1.0, -2.294157338705618, -INFINITY, NAN, NAN, NAN}},
    {"atan",
     nb_atan,
     7,
     {-INFINITY, -3.0, 0.0, 0.5, 1e200, INFINITY, NAN},
     {-1.5707963267948966, -1.2490457723982544, 0.0, 0.4636476090008061, 1.5707963267948966,
      1.5707963267948966, NAN},
     {0.0, 0.1, 1.0, 0.8, 0.0, 0.0, NAN}},
    {"sinh",
     nb_sinh,
     7,
     {-INFINITY, -3.0, 0.0, 0.5, 800.0, INFINITY, NAN},
     {-INFINITY, -10.017874927409903, 0.0, 0.5210953054937474, INFINITY, INFINITY, NAN},
     {INFINITY, 10.067661995777765, 1.0, 1.1276259652063807, INFINITY, INFINITY, NAN}},
    {"cosh",
     nb_cosh,
     7,
     {-INFINITY, -3.0, 0.0, 0.5, 800.0, INFINITY, NAN},
     {INFINITY, 10.067661995777765, 1.0, 1.1276259652063807, INFINITY, INFINITY, NAN},
     {-INFINITY, -10.017874927409903, 0.0, 0.5210953054937474, INFINITY, INFINITY, NAN}},
    {"asinh",
     nb_asinh,
     7,
     {-INFINITY, -3.0, 0.0, 0.5, 1e200, INFINITY, NAN},
     {-INFINITY, -1.8184464592320668, 0.0, 0.48121182505960347, 461.2101657793691, INFINITY, NAN},
     {0.0, 0.31622776601683794, 1.0, 0.8944271909999159, 0.0, 0.0, NAN}},
    {"acosh",
     nb_acosh,
     8,
     {0.5, 1.0, 1.5, 3.0, 1e200, INFINITY, -INFINITY, NAN},
     {NAN, 0.0, 0.9624236501192069, 1.762747174039086, 461.2101657793691, INFINITY, NAN, NAN},
     {NAN, INFINITY, 0.8944271909999159, 0.35355339059327373, 0.0, 0.0, 0.0, NAN}},
    {"atanh",
     nb_atanh,
     8,
     {-1.0, -0.5, 0.0, 0.9, 1.0, 1.5, -2.0, NAN},
     {-INFINITY, -0.5493061443340548, 0.0, 1.4722194895832204, INFINITY, NAN, NAN, NAN},
     {INFINITY, 1.3333333333333333, 1.0, 5.263157894736843, INFINITY, -0.8, -0.3333333333333333,
      NAN}},
};

/* f64: every row, to a few ulps (libm and PyTorch's kernels may round differently). */
static void test_edges_f64(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof edges / sizeof *edges; c++) {
        const edge_case *e = &edges[c];
        double y[EDGE_MAX], dy[EDGE_MAX];
        run_unary(e->f, NB_F64, e->x, e->n, y, dy);
        for (int i = 0; i < e->n; i++) {
            expect_close(e->name, i, y[i], e->y[i], 1e-14);
            expect_close(e->name, i, dy[i], e->dy[i], 1e-14);
        }
    }
}

/* f32: the rows whose x is a float (not 0.9, 1e200 or 800, which round or overflow),
 * to f32's precision. */
static void test_edges_f32(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof edges / sizeof *edges; c++) {
        const edge_case *e = &edges[c];
        double y[EDGE_MAX], dy[EDGE_MAX];
        run_unary(e->f, NB_F32, e->x, e->n, y, dy);
        for (int i = 0; i < e->n; i++) {
            double a = fabs(e->x[i]);
            if (a == 0.9 || a == 1e200 || a == 800.0)
                continue;
            expect_close(e->name, i, y[i], e->y[i], 1e-6);
            expect_close(e->name, i, dy[i], e->dy[i], 1e-6);
        }
    }
}

/* ---- tcc and cc agree bit for bit ------------------------------------------------------ */

#define SPREAD 64
static const unary_fn all_ops[] = {nb_tan,  nb_asin,  nb_acos,  nb_atan, nb_sinh,
                                   nb_cosh, nb_asinh, nb_acosh, nb_atanh};
#define N_OPS ((int)(sizeof all_ops / sizeof *all_ops))

/* Every op and its gradient on SPREAD values of x in dt, compiled by `backend`; the
 * outputs are stored in out as doubles (2 N_OPS arrays of SPREAD values). */
static void run_all(nb_backend backend, nb_dtype dt, const double *x, double *out)
{
    nb_graph *g = nb_graph_new();
    int64_t shape[1] = {SPREAD};
    nb_node *in = nb_input(g, "x", dt, 1, shape), *outs[2 * N_OPS];
    for (int k = 0; k < N_OPS; k++) {
        outs[2 * k] = all_ops[k](g, in);
        assert_int_equal(nb_grad(g, nb_sum(g, outs[2 * k], NULL, 0, 0), &in, 1, &outs[2 * k + 1]),
                         0);
    }
    nb_compile_options opt = {.outputs = outs, .n_outputs = 2 * N_OPS, .backend = backend};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("backend %d: %s", (int)backend, nb_graph_error(g));
    float xf[SPREAD];
    for (int i = 0; i < SPREAD; i++)
        xf[i] = (float)x[i];
    assert_int_equal(nb_program_bind(p, "x", dt == NB_F32 ? (const void *)xf : (const void *)x), 0);
    assert_int_equal(nb_program_run(p), 0);
    for (int k = 0; k < 2 * N_OPS; k++) {
        const void *v = nb_program_output(p, k);
        for (int i = 0; i < SPREAD; i++)
            out[k * SPREAD + i] =
                dt == NB_F32 ? (double)((const float *)v)[i] : ((const double *)v)[i];
    }
    nb_program_free(p);
    nb_graph_free(g);
}

/* The same bits (f32 values widen to doubles exactly), NaN for NaN: which NaN an invalid
 * operation gives and whether a negation flips its sign bit is the compiler's choice, and
 * nothing reads a NaN's bits. */
static void test_backends_agree(void **state)
{
    (void)state;
    static double a[2 * N_OPS * SPREAD], b[2 * N_OPS * SPREAD];
    double x[SPREAD];
    /* -4.1 .. 4.1 in irregular steps (every domain's inside, edges and outside). */
    for (int i = 0; i < SPREAD; i++)
        x[i] = -4.1 + 8.2 * i / (SPREAD - 1) + 0.01 * sin(i);
    for (int d = 0; d < 2; d++) {
        nb_dtype dt = d ? NB_F32 : NB_F64;
        run_all(NB_BACKEND_TCC, dt, x, a);
        run_all(NB_BACKEND_CC, dt, x, b);
        for (int i = 0; i < 2 * N_OPS * SPREAD; i++)
            if (isnan(a[i]) ? !isnan(b[i]) : memcmp(&a[i], &b[i], sizeof a[i]) != 0)
                fail_msg("%s output %d, x[%d] = %.17g: tcc %.17g, cc %.17g", d ? "f32" : "f64",
                         i / SPREAD, i % SPREAD, x[i % SPREAD], a[i], b[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edges_f64),
        cmocka_unit_test(test_edges_f32),
        cmocka_unit_test(test_backends_agree),
    };
    int failed = cmocka_run_group_tests_name("trig_values", tests, NULL, NULL);
    failed += gc_run_table("trig_grad", cases, (int)(sizeof cases / sizeof *cases));
    return failed;
}
