/* test_grad_unary.c — the elementwise unary ops: gradients against finite differences
 * (first and second order), values and gradients against PyTorch 1.13, the conventions
 * at kinks, stability at large |x|, stop_gradient and cast. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gradcheck.h"

/* ---- gradient checks --------------------------------------------------------------- */

#define UNARY_CASE(op)                                                                             \
    static nb_node *gc_##op(nb_graph *g, nb_node *const *x, nb_dtype dt)                           \
    {                                                                                              \
        (void)dt;                                                                                  \
        return nb_##op(g, x[0]);                                                                   \
    }
UNARY_CASE(neg)
UNARY_CASE(abs)
UNARY_CASE(sign)
UNARY_CASE(exp)
UNARY_CASE(log)
UNARY_CASE(log1p)
UNARY_CASE(expm1)
UNARY_CASE(sqrt)
UNARY_CASE(rsqrt)
UNARY_CASE(square)
UNARY_CASE(reciprocal)
UNARY_CASE(sin)
UNARY_CASE(cos)
UNARY_CASE(tanh)
UNARY_CASE(sigmoid)
UNARY_CASE(relu)
UNARY_CASE(gelu)
UNARY_CASE(gelu_tanh)
UNARY_CASE(silu)
UNARY_CASE(softplus)
UNARY_CASE(erf)

static nb_node *gc_leaky_relu(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_leaky_relu(g, x[0], 0.1);
}

static nb_node *gc_elu(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_elu(g, x[0], 1.5);
}

/* exp computed in f64 whatever dt is: in the f32 run the gradient is cast back from
 * f64 to f32, and the harness compares that run with the f64 one. */
static nb_node *gc_cast_float(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    return nb_cast(g, nb_exp(g, nb_cast(g, x[0], NB_F64)), dt);
}

/* x * float(i) with an i32 input: the gradient reaches x, not i. */
static nb_node *gc_cast_int(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    return nb_mul(g, x[0], nb_cast(g, x[1], dt));
}

/* exp(x) * float(mask) with a bool input. */
static nb_node *gc_cast_bool(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    return nb_mul(g, nb_exp(g, x[0]), nb_cast(g, x[1], dt));
}

/* Rows. The harness checks either the gradient or, with second_order, only the
 * gradient of the gradient; so every op gets first-order rows on a scalar and a [3,4]
 * input, and smooth ops a second-order row on [2,3]. Ops with a kink at 0 get rows on
 * each side of it, never across it. */
#define ROWS(name, fn, lo, hi)                                                                     \
    {name, fn, 1, {GC_FR(lo, hi, 0)}, 0},                                                          \
    {                                                                                              \
        name "_3x4", fn, 1, {GC_FR(lo, hi, 2, 3, 4)}, 0                                            \
    }
#define ROWS2(name, fn, lo, hi)                                                                    \
    ROWS(name, fn, lo, hi),                                                                        \
    {                                                                                              \
        name "_2x3_2nd", fn, 1, {GC_FR(lo, hi, 2, 2, 3)}, 1                                        \
    }
static const gc_case cases[] = {
    ROWS2("neg", gc_neg, -2.0, 2.0),
    ROWS2("abs_pos", gc_abs, 0.1, 2.0),
    ROWS2("abs_neg", gc_abs, -2.0, -0.1),
    ROWS("sign_pos", gc_sign, 0.1, 2.0),
    ROWS("sign_neg", gc_sign, -2.0, -0.1),
    ROWS2("exp", gc_exp, -2.0, 2.0),
    ROWS2("log", gc_log, 0.1, 3.0),
    ROWS2("log1p", gc_log1p, -0.8, 3.0),
    ROWS2("expm1", gc_expm1, -2.0, 2.0),
    ROWS2("sqrt", gc_sqrt, 0.1, 3.0),
    ROWS2("rsqrt", gc_rsqrt, 0.2, 3.0),
    ROWS2("square", gc_square, -2.0, 2.0),
    ROWS2("reciprocal_pos", gc_reciprocal, 0.2, 2.0),
    ROWS2("reciprocal_neg", gc_reciprocal, -2.0, -0.2),
    ROWS2("sin", gc_sin, -3.0, 3.0),
    ROWS2("cos", gc_cos, -3.0, 3.0),
    ROWS2("tanh", gc_tanh, -3.0, 3.0),
    ROWS2("sigmoid", gc_sigmoid, -6.0, 6.0),
    ROWS2("relu_pos", gc_relu, 0.1, 2.0),
    ROWS2("relu_neg", gc_relu, -2.0, -0.1),
    ROWS2("leaky_relu_pos", gc_leaky_relu, 0.1, 2.0),
    ROWS2("leaky_relu_neg", gc_leaky_relu, -2.0, -0.1),
    ROWS2("elu_pos", gc_elu, 0.1, 2.0),
    ROWS2("elu_neg", gc_elu, -4.0, -0.1),
    ROWS2("gelu", gc_gelu, -3.0, 3.0),
    ROWS2("gelu_tanh", gc_gelu_tanh, -3.0, 3.0),
    ROWS2("silu", gc_silu, -4.0, 4.0),
    ROWS2("softplus", gc_softplus, -5.0, 5.0),
    ROWS2("softplus_above_threshold", gc_softplus, 21.0, 30.0),
    ROWS("softplus_far_negative", gc_softplus, -30.0, -21.0),
    ROWS2("erf", gc_erf, -2.5, 2.5),
    ROWS("erf_tail", gc_erf, 2.0, 4.0),
    ROWS2("cast_float", gc_cast_float, -2.0, 2.0),
    {"cast_i32", gc_cast_int, 2, {GC_F(2, 3, 4), {NB_I32, 2, {3, 4}, -3, 4}}, 0},
    {"cast_i32_2nd", gc_cast_int, 2, {GC_F(2, 3, 4), {NB_I32, 2, {3, 4}, -3, 4}}, 1},
    {"cast_bool", gc_cast_bool, 2, {GC_F(2, 3, 4), {NB_BOOL, 1, {4}, 0, 2}}, 0},
    {"cast_bool_2nd", gc_cast_bool, 2, {GC_F(2, 3, 4), {NB_BOOL, 1, {4}, 0, 2}}, 1},
};

/* ---- values against PyTorch -------------------------------------------------------- */

typedef nb_node *(*unary_fn)(nb_graph *g, nb_node *x);

static nb_node *leaky_relu_01(nb_graph *g, nb_node *x)
{
    return nb_leaky_relu(g, x, 0.1);
}

static nb_node *elu_15(nb_graph *g, nb_node *x)
{
    return nb_elu(g, x, 1.5);
}

/* Compiles y = f(x) and dy/dx = d sum(f(x)) / dx for x of dtype dt, runs it on x[0..n)
 * and writes y and dy as doubles. */
static void run_unary(unary_fn f, nb_dtype dt, const double *x, int n, double *y, double *dy)
{
    nb_graph *g = nb_graph_new();
    int64_t shape[1] = {n};
    nb_node *in = nb_input(g, "x", dt, 1, shape);
    nb_node *out = f(g, in);
    nb_node *grad = NULL;
    assert_int_equal(nb_grad(g, nb_sum(g, out, NULL, 0, 0), &in, 1, &grad), 0);
    nb_node *outs[2] = {out, grad};
    /* Exact IEEE subnormals, as PyTorch computes the expected values (softplus(-100)
     * in f32 is one); under the default flush they would be 0. */
    nb_compile_options opt = {.outputs = outs, .n_outputs = 2, .denormals = NB_DENORMALS_IEEE};
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
        assert_int_equal(nb_program_output_dtype(p, k), dt);
        const void *v = nb_program_output(p, k);
        double *dst = k ? dy : y;
        for (int i = 0; i < n; i++)
            dst[i] = dt == NB_F32 ? (double)((const float *)v)[i] : ((const double *)v)[i];
    }
    nb_program_free(p);
    nb_graph_free(g);
}

/* |a - e| <= atol + rtol |e|; infinities must match exactly, NaN never passes. */
static void expect_close(const char *what, int i, double a, double e, double rtol, double atol)
{
    if (isinf(e) ? a == e : fabs(a - e) <= atol + rtol * fabs(e))
        return;
    fail_msg("%s[%d]: got %.17g, expected %.17g", what, i, a, e);
}

enum { SET_G, SET_P, SET_L, SET_R };
static const double sets[4][5] = {
    {-2.5, -0.3, 0.0, 0.7, 1.9}, /* general, with the kink at 0 */
    {0.05, 0.3, 1.0, 2.5, 7.0},  /* positive: log, sqrt, rsqrt */
    {-0.9, -0.3, 0.0, 0.7, 1.9}, /* log1p's domain */
    {-2.5, -0.3, 0.4, 0.7, 1.9}, /* reciprocal: no 0 */
};

typedef struct value_case {
    const char *name;
    unary_fn f;
    int set;
    double y[5], dy[5];
} value_case;

/* Expected values: PyTorch 1.13 in f64, printed by
 *   x = torch.tensor(set, dtype=torch.float64, requires_grad=True)
 *   y = f(x); y.sum().backward(); print(y.tolist(), x.grad.tolist())
 * with f = torch.<op> (floor, ceil, round, trunc too), F.leaky_relu(x, 0.1), F.elu(x, 1.5),
 * F.gelu(x), F.gelu(x, approximate="tanh"), F.silu, F.softplus. At x = 0 these rows pin the
 * conventions: abs'(0) = 0, sign(0) = 0, relu'(0) = 0, leaky_relu'(0) = slope,
 * elu'(0) = alpha, gelu'(0) = silu'(0) = 0.5. */
static const value_case values[] = {
    {"neg", nb_neg, SET_G, {2.5, 0.3, -0.0, -0.7, -1.9}, {-1.0, -1.0, -1.0, -1.0, -1.0}},
    {"abs", nb_abs, SET_G, {2.5, 0.3, 0.0, 0.7, 1.9}, {-1.0, -1.0, 0.0, 1.0, 1.0}},
    {"sign", nb_sign, SET_G, {-1.0, -1.0, 0.0, 1.0, 1.0}, {0.0, 0.0, 0.0, 0.0, 0.0}},
    {"floor", nb_floor, SET_G, {-3.0, -1.0, 0.0, 0.0, 1.0}, {0.0, 0.0, 0.0, 0.0, 0.0}},
    {"ceil", nb_ceil, SET_G, {-2.0, -0.0, 0.0, 1.0, 2.0}, {0.0, 0.0, 0.0, 0.0, 0.0}},
    {"round", nb_round, SET_G, {-2.0, -0.0, 0.0, 1.0, 2.0}, {0.0, 0.0, 0.0, 0.0, 0.0}},
    {"trunc", nb_trunc, SET_G, {-2.0, -0.0, 0.0, 0.0, 1.0}, {0.0, 0.0, 0.0, 0.0, 0.0}},
    {"exp",
     nb_exp,
     SET_G,
     {0.0820849986238988, 0.7408182206817179, 1.0, 2.0137527074704766, 6.6858944422792685},
     {0.0820849986238988, 0.7408182206817179, 1.0, 2.0137527074704766, 6.6858944422792685}},
    {"log",
     nb_log,
     SET_P,
     {-2.995732273553991, -1.2039728043259361, 0.0, 0.9162907318741551, 1.9459101490553132},
     {20.0, 3.3333333333333335, 1.0, 0.4, 0.14285714285714285}},
    {"log1p",
     nb_log1p,
     SET_L,
     {-2.302585092994046, -0.35667494393873234, 0.0, 0.5306282510621704, 1.0647107369924282},
     {10.000000000000002, 1.4285714285714286, 1.0, 0.5882352941176471, 0.3448275862068966}},
    {"expm1",
     nb_expm1,
     SET_G,
     {-0.9179150013761012, -0.2591817793182821, 0.0, 1.0137527074704764, 5.6858944422792685},
     {0.08208499862389884, 0.7408182206817179, 1.0, 2.013752707470476, 6.6858944422792685}},
    {"sqrt",
     nb_sqrt,
     SET_P,
     {0.22360679774997896, 0.5477225575051661, 1.0, 1.5811388300841898, 2.6457513110645907},
     {2.23606797749979, 0.9128709291752769, 0.5, 0.31622776601683794, 0.1889822365046136}},
    {"rsqrt",
     nb_rsqrt,
     SET_P,
     {4.47213595499958, 1.8257418583505538, 1.0, 0.6324555320336759, 0.3779644730092272},
     {-44.7213595499958, -3.0429030972509232, -0.5, -0.1264911064067352, -0.026997462357801937}},
    {"square",
     nb_square,
     SET_G,
     {6.25, 0.09, 0.0, 0.48999999999999994, 3.61},
     {-5.0, -0.6, 0.0, 1.4, 3.8}},
    {"reciprocal",
     nb_reciprocal,
     SET_R,
     {-0.4, -3.3333333333333335, 2.5, 1.4285714285714286, 0.5263157894736842},
     {-0.16000000000000003, -11.111111111111112, -6.25, -2.0408163265306123, -0.27700831024930744}},
    {"sin",
     nb_sin,
     SET_G,
     {-0.5984721441039564, -0.29552020666133955, 0.0, 0.644217687237691, 0.9463000876874145},
     {-0.8011436155469337, 0.955336489125606, 1.0, 0.7648421872844885, -0.32328956686350335}},
    {"cos",
     nb_cos,
     SET_G,
     {-0.8011436155469337, 0.955336489125606, 1.0, 0.7648421872844885, -0.32328956686350335},
     {0.5984721441039564, 0.29552020666133955, -0.0, -0.644217687237691, -0.9463000876874145}},
    {"tanh",
     nb_tanh,
     SET_G,
     {-0.9866142981514303, -0.2913126124515909, 0.0, 0.6043677771171635, 0.9562374581277391},
     {0.02659222668316057, 0.9151369618266292, 1.0, 0.6347395899824586, 0.08560992367340045}},
    {"sigmoid",
     nb_sigmoid,
     SET_G,
     {0.07585818002124355, 0.425557483188341, 0.5, 0.6681877721681662, 0.8698915256370021},
     {0.07010371654510815, 0.24445831169074586, 0.25, 0.22171287329310904, 0.11318025926193101}},
    {"relu", nb_relu, SET_G, {0.0, 0.0, 0.0, 0.7, 1.9}, {0.0, 0.0, 0.0, 1.0, 1.0}},
    {"leaky_relu", leaky_relu_01, SET_G, {-0.25, -0.03, 0.0, 0.7, 1.9}, {0.1, 0.1, 0.1, 1.0, 1.0}},
    {"elu",
     elu_15,
     SET_G,
     {-1.3768725020641517, -0.3887726689774232, 0.0, 0.7, 1.9},
     {0.1231274979358482, 1.1112273310225769, 1.5, 1.0, 1.0}},
    {"gelu",
     nb_gelu,
     SET_G,
     {-0.015524163314440398, -0.1146265733433142, 0.0, 0.5306254434438489, 1.8454385363495966},
     {-0.03761108590814519, 0.26767223317289013, 0.5, 0.9766141011336599, 1.095953488255884}},
    {"gelu_tanh",
     nb_gelu_tanh,
     SET_G,
     {-0.015084266089998577, -0.11462907645724074, 0.0, 0.5305701347051167, 1.8454512344553327},
     {-0.03795157621266618, 0.26770454836119817, 0.5, 0.976357218656104, 1.0967818080997944}},
    {"silu",
     nb_silu,
     SET_G,
     {-0.18964545005310887, -0.1276672449565023, 0.0, 0.46773144051771626, 1.652793898710304},
     {-0.09940111134152683, 0.3522199896811173, 0.5, 0.8233867834733425, 1.084934018234671}},
    {"softplus",
     nb_softplus,
     SET_G,
     {0.07888973429254963, 0.5543552444685271, 0.6931471805599453, 1.103186048885458,
      2.0393867582829603},
     {0.07585818002124356, 0.425557483188341, 0.5, 0.6681877721681662, 0.8698915256370021}},
};

static void test_values_match_torch(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof values / sizeof *values; c++) {
        const value_case *v = &values[c];
        for (int d = 0; d < 2; d++) {
            nb_dtype dt = d ? NB_F32 : NB_F64;
            double rtol = d ? 1e-5 : 1e-13, atol = d ? 1e-6 : 1e-15;
            double y[5], dy[5];
            char what[64];
            run_unary(v->f, dt, sets[v->set], 5, y, dy);
            for (int i = 0; i < 5; i++) {
                snprintf(what, sizeof what, "%s %s y", v->name, nb_dtype_name(dt));
                expect_close(what, i, y[i], v->y[i], rtol, atol);
                snprintf(what, sizeof what, "%s %s dy", v->name, nb_dtype_name(dt));
                expect_close(what, i, dy[i], v->dy[i], rtol, atol);
            }
        }
    }
}

/* floor, ceil, round and trunc pass no gradient: nb_grad gives exactly +0 for every x
 * (halves, signed zeros, huge values, infinities, NaN), in f32 and f64, as PyTorch's
 * backward of torch.floor/ceil/round/trunc gives zeros. */
static void test_rounding_gradient_is_zero(void **state)
{
    (void)state;
    const unary_fn ops[] = {nb_floor, nb_ceil, nb_round, nb_trunc};
    const double x[] = {NAN,  INFINITY, -INFINITY, 0.0, -0.0,  0.5,
                        -0.5, 1.5,      -2.5,      2.7, -1e30, 1e10};
    enum { N = sizeof x / sizeof *x };
    for (size_t f = 0; f < sizeof ops / sizeof *ops; f++)
        for (int d = 0; d < 2; d++) {
            double y[N], dy[N];
            run_unary(ops[f], d ? NB_F32 : NB_F64, x, N, y, dy);
            for (int i = 0; i < N; i++)
                if (dy[i] != 0.0 || signbit(dy[i]))
                    fail_msg("rounding op %zu, %s: gradient at %g is %g, not +0", f,
                             d ? "f32" : "f64", x[i], dy[i]);
        }
}

/* Infinite derivatives at the domain edge, as PyTorch: sqrt'(0) = inf, rsqrt(0) = inf
 * with rsqrt'(0) = -inf, reciprocal'(0) = -inf, log(0) = -inf with log'(0) = inf. */
static void test_domain_edges(void **state)
{
    (void)state;
    const double zero[1] = {0.0};
    const struct {
        const char *name;
        unary_fn f;
        double y, dy;
    } edges[] = {
        {"sqrt", nb_sqrt, 0.0, INFINITY},
        {"rsqrt", nb_rsqrt, INFINITY, -INFINITY},
        {"reciprocal", nb_reciprocal, INFINITY, -INFINITY},
        {"log", nb_log, -INFINITY, INFINITY},
    };
    for (size_t c = 0; c < sizeof edges / sizeof *edges; c++) {
        for (int d = 0; d < 2; d++) {
            double y, dy;
            run_unary(edges[c].f, d ? NB_F32 : NB_F64, zero, 1, &y, &dy);
            expect_close(edges[c].name, 0, y, edges[c].y, 0, 0);
            expect_close(edges[c].name, 1, dy, edges[c].dy, 0, 0);
        }
    }
}

/* Large |x|: finite and right. Expected values: PyTorch 1.13 in f64 on
 * x = [-1000, -100, -30, 30, 100, 1000] (printed as for the table above). */
static void test_large_magnitude(void **state)
{
    (void)state;
    const double x[6] = {-1000.0, -100.0, -30.0, 30.0, 100.0, 1000.0};
    const struct {
        const char *name;
        unary_fn f;
        double y[6], dy[6];
    } big[] = {
        {"sigmoid",
         nb_sigmoid,
         {0.0, 3.7200759760208356e-44, 9.357622968839299e-14, 0.9999999999999065, 1.0, 1.0},
         {0.0, 3.7200759760208356e-44, 9.357622968838423e-14, 9.348077867342945e-14, 0.0, 0.0}},
        {"softplus",
         nb_softplus,
         {0.0, 3.720075976020836e-44, 9.357622968839737e-14, 30.0, 100.0, 1000.0},
         {0.0, 3.720075976020836e-44, 9.3576229688393e-14, 1.0, 1.0, 1.0}},
        {"silu",
         nb_silu,
         {-0.0, -3.720075976020836e-42, -2.8072868906517896e-12, 29.999999999997197, 100.0, 1000.0},
         {-0.0, -3.682875216260627e-42, -2.713710660963134e-12, 1.000000000002711, 1.0, 1.0}},
        {"tanh", nb_tanh, {-1.0, -1.0, -1.0, 1.0, 1.0, 1.0}, {0.0, 0.0, 0.0, 0.0, 0.0, 0.0}},
        {"elu",
         elu_15,
         {-1.5, -1.5, -1.4999999999998597, 30.0, 100.0, 1000.0},
         {0.0, 5.580113964031254e-44, 1.4036434453260263e-13, 1.0, 1.0, 1.0}},
        {"gelu",
         nb_gelu,
         {-0.0, -0.0, -0.0, 30.0, 100.0, 1000.0},
         {0.0, 0.0, -4.420938404635643e-195, 1.0, 1.0, 1.0}},
        {"gelu_tanh",
         nb_gelu_tanh,
         {-0.0, -0.0, -0.0, 30.0, 100.0, 1000.0},
         {0.0, 0.0, 0.0, 1.0, 1.0, 1.0}},
    };
    for (size_t c = 0; c < sizeof big / sizeof *big; c++) {
        for (int d = 0; d < 2; d++) {
            nb_dtype dt = d ? NB_F32 : NB_F64;
            /* f32 cannot hold 1 - 1e-13 or values far below its subnormals. */
            double rtol = d ? 1e-5 : 1e-12, atol = d ? 1e-12 : 0.0;
            double y[6], dy[6];
            char what[64];
            run_unary(big[c].f, dt, x, 6, y, dy);
            for (int i = 0; i < 6; i++) {
                snprintf(what, sizeof what, "%s %s y", big[c].name, nb_dtype_name(dt));
                assert_true(isfinite(y[i]));
                expect_close(what, i, y[i], big[c].y[i], rtol, atol);
                snprintf(what, sizeof what, "%s %s dy", big[c].name, nb_dtype_name(dt));
                assert_true(isfinite(dy[i]));
                expect_close(what, i, dy[i], big[c].dy[i], rtol, atol);
            }
        }
    }
    /* In f32, softplus(-100) is PyTorch's 3.783505853677006e-44 (the nearest subnormal
     * to 3.72e-44); sigmoid(-100) is not NaN and at most that (PyTorch's f32 gives 0). */
    const double m100[1] = {-100.0};
    double y, dy;
    run_unary(nb_softplus, NB_F32, m100, 1, &y, &dy);
    expect_close("softplus f32(-100)", 0, y, 3.783505853677006e-44, 0, 1e-46);
    expect_close("softplus' f32(-100)", 0, dy, 3.783505853677006e-44, 0, 1e-46);
    run_unary(nb_sigmoid, NB_F32, m100, 1, &y, &dy);
    assert_true(y >= 0 && y <= 3.8e-44);
}

/* NaN in, as PyTorch 1.13: sign(NaN) = 0, every other op gives NaN (relu included). */
static void test_nan(void **state)
{
    (void)state;
    const double x[1] = {NAN};
    const unary_fn nan_ops[] = {nb_abs,      nb_relu, leaky_relu_01, elu_15,       nb_sigmoid,
                                nb_softplus, nb_silu, nb_gelu,       nb_gelu_tanh, nb_tanh};
    for (int d = 0; d < 2; d++) {
        double y, dy;
        for (size_t i = 0; i < sizeof nan_ops / sizeof *nan_ops; i++) {
            run_unary(nan_ops[i], d ? NB_F32 : NB_F64, x, 1, &y, &dy);
            if (!isnan(y))
                fail_msg("op %d of the NaN list gives %g for NaN", (int)i, y);
        }
        run_unary(nb_sign, d ? NB_F32 : NB_F64, x, 1, &y, &dy);
        assert_true(y == 0.0);
    }
}

/* y = x * stop_gradient(x): dy/dx = x (PyTorch: x * x.detach()), and the value is x^2.
 * stop_gradient alone gives a zero gradient, and it accepts any dtype. */
static void test_stop_gradient(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    int64_t shape[1] = {3};
    nb_node *x = nb_input(g, "x", NB_F64, 1, shape);
    nb_node *i = nb_input(g, "i", NB_I32, 1, shape);
    nb_node *y = nb_mul(g, x, nb_stop_gradient(g, x));
    nb_node *si = nb_stop_gradient(g, i);
    assert_non_null(si);
    assert_int_equal(nb_node_dtype(si), NB_I32);
    nb_node *grads[2];
    assert_int_equal(nb_grad(g, nb_sum(g, y, NULL, 0, 0), &x, 1, &grads[0]), 0);
    nb_node *z = nb_sum(g, nb_exp(g, nb_stop_gradient(g, x)), NULL, 0, 0);
    assert_int_equal(nb_grad(g, z, &x, 1, &grads[1]), 0);
    nb_node *outs[4] = {y, grads[0], grads[1], si};
    nb_compile_options opt = {.outputs = outs, .n_outputs = 4};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile failed: %s", nb_graph_error(g));
    const double xv[3] = {-1.5, 0.5, 2.0};
    const int32_t iv[3] = {7, -2, 0};
    assert_int_equal(nb_program_bind(p, "x", xv), 0);
    assert_int_equal(nb_program_bind(p, "i", iv), 0);
    assert_int_equal(nb_program_run(p), 0);
    const double *yv = nb_program_output(p, 0), *g0 = nb_program_output(p, 1);
    const double *g1 = nb_program_output(p, 2);
    const int32_t *sv = nb_program_output(p, 3);
    const double want_y[3] = {2.25, 0.25, 4.0};
    for (int k = 0; k < 3; k++) {
        expect_close("x * stop(x)", k, yv[k], want_y[k], 1e-15, 0);
        expect_close("d/dx x * stop(x)", k, g0[k], xv[k], 1e-15, 0);
        expect_close("d/dx sum exp(stop(x))", k, g1[k], 0.0, 0, 0);
        assert_int_equal(sv[k], iv[k]);
    }
    nb_program_free(p);
    nb_graph_free(g);
}

/* cast: i32 and bool to floats, f32 <-> f64; the gradient of a float cast is cast back
 * to the operand's dtype. d/dx sum(w * f64(x)) for f32 x is w, as f32. */
static void test_cast(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    int64_t shape[1] = {3};
    nb_node *x = nb_input(g, "x", NB_F32, 1, shape);
    nb_node *i = nb_input(g, "i", NB_I32, 1, shape);
    nb_node *b = nb_input(g, "b", NB_BOOL, 1, shape);
    const double wv[3] = {0.5, -2.0, 3.0};
    nb_node *w = nb_constant(g, NB_F64, 1, shape, wv);
    nb_node *x64 = nb_cast(g, x, NB_F64);
    nb_node *i32f = nb_cast(g, i, NB_F32);
    nb_node *b64 = nb_cast(g, b, NB_F64);
    nb_node *back = nb_cast(g, nb_mul(g, x64, x64), NB_F32);
    assert_int_equal(nb_node_dtype(x64), NB_F64);
    assert_int_equal(nb_node_dtype(i32f), NB_F32);
    nb_node *grads[2];
    assert_int_equal(nb_grad(g, nb_sum(g, nb_mul(g, x64, w), NULL, 0, 0), &x, 1, &grads[0]), 0);
    assert_int_equal(nb_grad(g, nb_sum(g, back, NULL, 0, 0), &x, 1, &grads[1]), 0);
    assert_int_equal(nb_node_dtype(grads[0]), NB_F32);
    nb_node *outs[6] = {x64, i32f, b64, back, grads[0], grads[1]};
    nb_compile_options opt = {.outputs = outs, .n_outputs = 6};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile failed: %s", nb_graph_error(g));
    const float xv[3] = {0.1f, -3.0f, 16777217.0f};
    const int32_t iv[3] = {-7, 0, 123456};
    const unsigned char bv[3] = {1, 0, 1};
    assert_int_equal(nb_program_bind(p, "x", xv), 0);
    assert_int_equal(nb_program_bind(p, "i", iv), 0);
    assert_int_equal(nb_program_bind(p, "b", bv), 0);
    assert_int_equal(nb_program_run(p), 0);
    const double *o64 = nb_program_output(p, 0), *ob = nb_program_output(p, 2);
    const float *oi = nb_program_output(p, 1), *oback = nb_program_output(p, 3);
    const float *og0 = nb_program_output(p, 4), *og1 = nb_program_output(p, 5);
    for (int k = 0; k < 3; k++) {
        assert_true(o64[k] == (double)xv[k]); /* exact: every float is a double */
        assert_true(oi[k] == (float)iv[k]);
        assert_true(ob[k] == (double)bv[k]);
        assert_true(oback[k] == (float)((double)xv[k] * (double)xv[k]));
        assert_true(og0[k] == (float)wv[k]);
        assert_true(og1[k] == (float)(2.0 * (double)xv[k]));
    }
    nb_program_free(p);
    nb_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_match_torch),
        cmocka_unit_test(test_rounding_gradient_is_zero),
        cmocka_unit_test(test_domain_edges),
        cmocka_unit_test(test_large_magnitude),
        cmocka_unit_test(test_nan),
        cmocka_unit_test(test_stop_gradient),
        cmocka_unit_test(test_cast),
    };
    int failed = cmocka_run_group_tests_name("unary_values", tests, NULL, NULL);
    failed += gc_run_table("unary_grad", cases, (int)(sizeof cases / sizeof *cases));
    return failed;
}
