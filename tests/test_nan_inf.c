/* test_nan_inf.c — values and gradients at NaN, +-inf and +-0 against PyTorch 1.13
 * (tests/golden/nan_inf_cases.h, written by tests/golden/make_nan_inf.py): in f32 on the
 * tcc and the cc backend, which must also agree with each other bit for bit, and in f64
 * on tcc.
 * The deliberate differences from PyTorch (docs/conventions.md) are checked last, with
 * numbers worked out by hand. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nabla.h"
#include "tmpdir.h"

/* The longest row of a case (bce_with_logits: 6 logits times 3 targets). */
#define NI_MAX 18
#define NI_NAME 32
#define RTOL 1e-5
#define ATOL 1e-6

typedef struct ni_case {
    const char *op;
    int n, n_y, signed_zero;
    double x[NI_MAX], t[NI_MAX], w[NI_MAX], y[NI_MAX], dx[NI_MAX];
} ni_case;

static const ni_case cases[] = {
#include "golden/nan_inf_cases.h"
};
#define N_CASES ((int)(sizeof cases / sizeof *cases))

/* ---- builders: y of a case from its input x (and targets t) -------------------------- */

typedef nb_node *(*ni_build)(nb_graph *g, nb_node *x, const ni_case *c);

/* The case's targets, as a constant of x's dtype and shape. */
static nb_node *targets(nb_graph *g, nb_node *x, const ni_case *c)
{
    int64_t n = c->n;
    return nb_constant(g, nb_node_dtype(x), 1, &n, c->t);
}

static nb_node *b_relu(nb_graph *g, nb_node *x, const ni_case *c)
{
    (void)c;
    return nb_relu(g, x);
}

static nb_node *b_leaky_relu(nb_graph *g, nb_node *x, const ni_case *c)
{
    (void)c;
    return nb_leaky_relu(g, x, 0.1);
}

static nb_node *b_elu(nb_graph *g, nb_node *x, const ni_case *c)
{
    (void)c;
    return nb_elu(g, x, 0.7);
}

static nb_node *b_clamp(nb_graph *g, nb_node *x, const ni_case *c)
{
    (void)c;
    return nb_clamp(g, x, -1.0, 1.0);
}

/* x OP c for a scalar constant c: what the simplifier's identity rules look at. */
static nb_node *b_add_zero(nb_graph *g, nb_node *x, const ni_case *c)
{
    (void)c;
    return nb_add(g, x, nb_scalar(g, nb_node_dtype(x), 0.0));
}

static nb_node *b_zero_add(nb_graph *g, nb_node *x, const ni_case *c)
{
    (void)c;
    return nb_add(g, nb_scalar(g, nb_node_dtype(x), 0.0), x);
}

static nb_node *b_add_neg_zero(nb_graph *g, nb_node *x, const ni_case *c)
{
    (void)c;
    return nb_add(g, x, nb_scalar(g, nb_node_dtype(x), -0.0));
}

static nb_node *b_sub_zero(nb_graph *g, nb_node *x, const ni_case *c)
{
    (void)c;
    return nb_sub(g, x, nb_scalar(g, nb_node_dtype(x), 0.0));
}

static nb_node *b_sub_neg_zero(nb_graph *g, nb_node *x, const ni_case *c)
{
    (void)c;
    return nb_sub(g, x, nb_scalar(g, nb_node_dtype(x), -0.0));
}

static nb_node *b_mul_one(nb_graph *g, nb_node *x, const ni_case *c)
{
    (void)c;
    return nb_mul(g, x, nb_scalar(g, nb_node_dtype(x), 1.0));
}

static nb_node *b_div_one(nb_graph *g, nb_node *x, const ni_case *c)
{
    (void)c;
    return nb_div(g, x, nb_scalar(g, nb_node_dtype(x), 1.0));
}

static nb_node *b_log_softmax(nb_graph *g, nb_node *x, const ni_case *c)
{
    (void)c;
    return nb_log_softmax(g, x, -1);
}

static nb_node *b_softmax(nb_graph *g, nb_node *x, const ni_case *c)
{
    (void)c;
    return nb_softmax(g, x, -1);
}

static nb_node *b_logsumexp(nb_graph *g, nb_node *x, const ni_case *c)
{
    (void)c;
    return nb_logsumexp(g, x, NULL, 0, 0);
}

/* One sample of C logits; the label is t[0]. */
static nb_node *b_cross_entropy(nb_graph *g, nb_node *x, const ni_case *c)
{
    nb_node *label = nb_constant(g, NB_I32, 0, NULL, c->t);
    return nb_cross_entropy(g, x, label, NB_REDUCTION_MEAN);
}

static nb_node *b_bce_with_logits(nb_graph *g, nb_node *x, const ni_case *c)
{
    return nb_bce_with_logits(g, x, targets(g, x, c), NB_REDUCTION_NONE);
}

static nb_node *b_mse(nb_graph *g, nb_node *x, const ni_case *c)
{
    return nb_mse(g, x, targets(g, x, c), NB_REDUCTION_NONE);
}

#define UNARY(name)                                                                                \
    static nb_node *b_##name(nb_graph *g, nb_node *x, const ni_case *c)                            \
    {                                                                                              \
        (void)c;                                                                                   \
        return nb_##name(g, x);                                                                    \
    }
UNARY(abs)
UNARY(sign)
UNARY(floor)
UNARY(ceil)
UNARY(round)
UNARY(trunc)
UNARY(sigmoid)
UNARY(tanh)
UNARY(softplus)
UNARY(erf)
UNARY(silu)
UNARY(gelu)
UNARY(gelu_tanh)
UNARY(exp)
UNARY(log)
UNARY(sqrt)
UNARY(rsqrt)
UNARY(reciprocal)
UNARY(expm1)
UNARY(log1p)
UNARY(square)
UNARY(neg)
#undef UNARY

/* A case named key, or key_<digits>... (the rows of one op), is built by build. */
static const struct {
    const char *key;
    ni_build build;
} builders[] = {
    {"relu", b_relu},
    {"relu_gy_inf", b_relu},
    {"leaky_relu", b_leaky_relu},
    {"leaky_relu_gy_inf", b_leaky_relu},
    {"elu", b_elu},
    {"elu_gy_inf", b_elu},
    {"abs", b_abs},
    {"sign", b_sign},
    {"floor", b_floor},
    {"ceil", b_ceil},
    {"round", b_round},
    {"trunc", b_trunc},
    {"clamp", b_clamp},
    {"sigmoid", b_sigmoid},
    {"tanh", b_tanh},
    {"softplus", b_softplus},
    {"erf", b_erf},
    {"silu", b_silu},
    {"gelu", b_gelu},
    {"gelu_tanh", b_gelu_tanh},
    {"exp", b_exp},
    {"log", b_log},
    {"sqrt", b_sqrt},
    {"rsqrt", b_rsqrt},
    {"reciprocal", b_reciprocal},
    {"expm1", b_expm1},
    {"log1p", b_log1p},
    {"square", b_square},
    {"neg", b_neg},
    {"add_zero", b_add_zero},
    {"zero_add", b_zero_add},
    {"add_neg_zero", b_add_neg_zero},
    {"sub_zero", b_sub_zero},
    {"sub_neg_zero", b_sub_neg_zero},
    {"mul_one", b_mul_one},
    {"div_one", b_div_one},
    {"log_softmax", b_log_softmax},
    {"softmax", b_softmax},
    {"logsumexp", b_logsumexp},
    {"cross_entropy", b_cross_entropy},
    {"bce_with_logits", b_bce_with_logits},
    {"mse", b_mse},
};

static ni_build find_builder(const char *op)
{
    for (size_t i = 0; i < sizeof builders / sizeof *builders; i++) {
        size_t len = strlen(builders[i].key);
        if (strncmp(op, builders[i].key, len) == 0 &&
            (op[len] == '\0' || (op[len] == '_' && op[len + 1] >= '0' && op[len + 1] <= '9')))
            return builders[i].build;
    }
    fail_msg("no builder for case '%s' (regenerated nan_inf_cases.h?)", op);
    return NULL;
}

/* ---- one program holding every case ----------------------------------------------- */

/* Inputs of every case in the program's dtype: they must outlive the runs. */
typedef struct ni_data {
    nb_dtype dt;
    float xf[N_CASES][NI_MAX], wf[N_CASES][NI_MAX];
    double xd[N_CASES][NI_MAX], wd[N_CASES][NI_MAX];
} ni_data;

/* Builds y_i and dsum(y_i * w_i)/dx_i for every case; outs[2i], outs[2i + 1]. */
static nb_graph *build_all(nb_dtype dt, nb_node **outs)
{
    nb_graph *g = nb_graph_new();
    assert_non_null(g);
    for (int i = 0; i < N_CASES; i++) {
        const ni_case *c = &cases[i];
        char name[NI_NAME];
        int64_t n = c->n, ny = c->n_y;
        snprintf(name, sizeof name, "x%d", i);
        nb_node *x = nb_input(g, name, dt, 1, &n);
        snprintf(name, sizeof name, "w%d", i);
        /* Losses of one sample are scalars; their weight is one too. */
        nb_node *w = nb_input(g, name, dt, ny == 1 && c->n > 1 ? 0 : 1, &ny);
        nb_node *y = find_builder(c->op)(g, x, c);
        nb_node *loss = nb_sum(g, nb_mul(g, y, w), NULL, 0, 0);
        nb_node *dx = NULL;
        if (!y || nb_grad(g, loss, &x, 1, &dx) != 0)
            fail_msg("%s: %s", c->op, nb_graph_error(g));
        outs[2 * i] = y;
        outs[2 * i + 1] = dx;
    }
    return g;
}

static nb_program *compile_all(nb_dtype dt, nb_backend backend, ni_data *d)
{
    nb_node *outs[2 * N_CASES];
    nb_graph *g = build_all(dt, outs);
    nb_compile_options opt = {.outputs = outs, .n_outputs = 2 * N_CASES, .backend = backend};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile (%s): %s", backend == NB_BACKEND_CC ? "cc" : "tcc", nb_graph_error(g));
    nb_graph_free(g);
    d->dt = dt;
    for (int i = 0; i < N_CASES; i++) {
        char name[NI_NAME];
        for (int k = 0; k < NI_MAX; k++) {
            d->xf[i][k] = (float)cases[i].x[k], d->xd[i][k] = cases[i].x[k];
            d->wf[i][k] = (float)cases[i].w[k], d->wd[i][k] = cases[i].w[k];
        }
        snprintf(name, sizeof name, "x%d", i);
        assert_int_equal(nb_program_bind(p, name, dt == NB_F32 ? (void *)d->xf[i] : d->xd[i]), 0);
        snprintf(name, sizeof name, "w%d", i);
        assert_int_equal(nb_program_bind(p, name, dt == NB_F32 ? (void *)d->wf[i] : d->wd[i]), 0);
    }
    if (nb_program_run(p) != 0)
        fail_msg("run: %s", nb_program_error(p));
    return p;
}

static double output_at(const nb_program *p, int i, int k)
{
    const void *v = nb_program_output(p, i);
    return nb_program_output_dtype(p, i) == NB_F32 ? ((const float *)v)[k] : ((const double *)v)[k];
}

/* NaN matches NaN, an infinity itself, a zero of the same sign where the case asks for
 * it, anything else within RTOL and ATOL. */
static int matches(double a, double e, int signed_zero)
{
    if (isnan(e))
        return isnan(a);
    if (isinf(e))
        return a == e;
    if (signed_zero && e == 0 && signbit(a) != signbit(e))
        return 0;
    return fabs(a - e) <= RTOL * fabs(e) + ATOL;
}

/* Compares every output of p with PyTorch; returns the number of mismatches (each is
 * printed). */
static int check_torch(const nb_program *p, const char *label)
{
    int bad = 0;
    for (int i = 0; i < N_CASES; i++) {
        const ni_case *c = &cases[i];
        for (int part = 0; part < 2; part++) {
            const double *e = part ? c->dx : c->y;
            int n = part ? c->n : c->n_y;
            for (int k = 0; k < n; k++) {
                double a = output_at(p, 2 * i + part, k);
                if (matches(a, e[k], c->signed_zero))
                    continue;
                print_error("%s: %s %s[%d] at x = %g: nabla %g, PyTorch %g\n", label, c->op,
                            part ? "dx" : "y", k, c->x[k], a, e[k]);
                bad++;
            }
        }
    }
    return bad;
}

/* Both backends give the same bits (any NaN matches any NaN). */
static int check_same(const nb_program *a, const nb_program *b, const char *label)
{
    int bad = 0;
    for (int i = 0; i < 2 * N_CASES; i++) {
        const ni_case *c = &cases[i / 2];
        int n = i % 2 ? c->n : c->n_y;
        for (int k = 0; k < n; k++) {
            double u = output_at(a, i, k), v = output_at(b, i, k);
            if ((isnan(u) && isnan(v)) || memcmp(&u, &v, sizeof u) == 0)
                continue;
            print_error("%s: %s %s[%d]: tcc %a, cc %a\n", label, c->op, i % 2 ? "dx" : "y", k, u,
                        v);
            bad++;
        }
    }
    return bad;
}

/* Checks the cases in dt on tcc and, when with_cc, on cc too: the cc build of the whole
 * table costs seconds of gcc -O3, so it runs once, in f32. */
static void run_dtype(nb_dtype dt, const char *label, int with_cc)
{
    static ni_data dt_tcc, dt_cc;
    char what[64];
    nb_program *t = compile_all(dt, NB_BACKEND_TCC, &dt_tcc);
    snprintf(what, sizeof what, "%s tcc", label);
    int bad = check_torch(t, what);
    if (with_cc) {
        nb_program *c = compile_all(dt, NB_BACKEND_CC, &dt_cc);
        snprintf(what, sizeof what, "%s cc", label);
        bad += check_torch(c, what);
        bad += check_same(t, c, label);
        nb_program_free(c);
    }
    nb_program_free(t);
    if (bad)
        fail_msg("%d values differ", bad);
}

static void test_torch_f32(void **state)
{
    (void)state;
    run_dtype(NB_F32, "f32", 1);
}

static void test_torch_f64(void **state)
{
    (void)state;
    run_dtype(NB_F64, "f64", 0);
}

/* ---- deliberate differences: nabla's numbers, worked out by hand ------------------- */

/* Compiles outs on both backends, binds the named f32/f64 buffers, runs, and compares
 * every element with expected (the outputs' values one after the other). */
static void expect(nb_graph *g, nb_node **outs, int n, const char *const *names,
                   const void *const *data, int n_in, const double *expected)
{
    static const nb_backend backends[2] = {NB_BACKEND_TCC, NB_BACKEND_CC};
    for (int b = 0; b < 2; b++) {
        nb_compile_options opt = {.outputs = outs, .n_outputs = n, .backend = backends[b]};
        nb_program *p = nb_compile(g, &opt);
        if (!p)
            fail_msg("compile: %s", nb_graph_error(g));
        for (int i = 0; i < n_in; i++)
            assert_int_equal(nb_program_bind(p, names[i], data[i]), 0);
        assert_int_equal(nb_program_run(p), 0);
        const double *e = expected;
        for (int i = 0; i < n; i++) {
            int64_t numel = 1;
            for (int d = 0; d < nb_program_output_rank(p, i); d++)
                numel *= nb_program_output_shape(p, i)[d];
            for (int64_t k = 0; k < numel; k++, e++)
                if (!matches(output_at(p, i, (int)k), *e, 0))
                    fail_msg("%s: output %d[%lld] = %g, expected %g", b ? "cc" : "tcc", i,
                             (long long)k, output_at(p, i, (int)k), *e);
        }
        nb_program_free(p);
    }
}

/* bce at p = 0 and 1 in f32, targets (0, 1, 1, 0). nabla clamps p and 1 - p to
 * [1e-8, 1 - 1e-8], and 1 - 1e-8 rounds to 1 in f32: a wrong prediction costs
 * -log(1e-8) = 18.420681 (PyTorch: 100, its log is clamped at -100). The gradient is
 * that of the clamped formula: at p = 0, t = 0 it is 1/(1 - p) = 1; at p = 1, t = 1 it
 * is -t/p = -1; where the clamp binds it is 0 (PyTorch: 0, 0, -1e12, 1e12, from
 * (p - t) / max(p (1 - p), 1e-12)). */
static void test_bce_saturated(void **state)
{
    (void)state;
    int64_t four = 4;
    const double t[4] = {0, 1, 1, 0};
    const float p[4] = {0, 1, 0, 1};
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "p", NB_F32, 1, &four);
    nb_node *y = nb_bce(g, x, nb_constant(g, NB_F32, 1, &four, t), NB_REDUCTION_NONE);
    nb_node *outs[2] = {y, NULL};
    assert_int_equal(nb_grad(g, nb_sum(g, y, NULL, 0, 0), &x, 1, &outs[1]), 0);
    const char *names[1] = {"p"};
    const void *data[1] = {p};
    const double expected[8] = {0, 0, 18.420681, 18.420681, 1, -1, 0, 0};
    expect(g, outs, 2, names, data, 1, expected);
    nb_graph_free(g);
}

/* The Hessian of pow(a, b) at a = 0, for b = 2 and b = 3, in f64. nabla's gradient with
 * respect to b is where(a == 0 and b >= 0, 0, gy y log a), so its derivative in b is 0
 * there: the true limit of a^b log(a)^2 (PyTorch: NaN). Its derivative in a is NaN in
 * both, as 0 * (y / a + log(a) dy/da) = 0 * NaN inside the where's gradient, although
 * the limit a^(b-1) (b log a + 1) is 0 and d/db (dy/da) is 0 in both. d2/da2 is
 * b (b - 1) a^(b-2): 2 and 0 in both. */
static void test_pow_hessian_at_zero(void **state)
{
    (void)state;
    for (int e = 2; e <= 3; e++) {
        nb_graph *g = nb_graph_new();
        nb_node *ab[2] = {nb_input(g, "a", NB_F64, 0, NULL), nb_input(g, "b", NB_F64, 0, NULL)};
        nb_node *d[2], *h[4];
        assert_int_equal(nb_grad(g, nb_pow(g, ab[0], ab[1]), ab, 2, d), 0);
        assert_int_equal(nb_grad(g, d[0], ab, 2, h), 0);
        assert_int_equal(nb_grad(g, d[1], ab, 2, h + 2), 0);
        nb_node *outs[6] = {d[0], d[1], h[0], h[1], h[2], h[3]};
        const double a = 0, b = e;
        const char *names[2] = {"a", "b"};
        const void *data[2] = {&a, &b};
        /* dy/da, dy/db, d/da dy/da, d/db dy/da, d/da dy/db, d/db dy/db */
        const double expected[6] = {0, 0, e == 2 ? 2 : 0, 0, NAN, 0};
        expect(g, outs, 6, names, data, 2, expected);
        nb_graph_free(g);
    }
}

/* bce_with_logits' second derivative is sigmoid'(z) = s (1 - s), at 0 too (1/4) and 0 at
 * the infinities, where the first derivative is the constant 1 - t or -t. Values by
 * hand: s(2) = 0.88079708, s (1 - s) = 0.10499359. */
static void test_bce_with_logits_second_order(void **state)
{
    (void)state;
    int64_t four = 4;
    const double t[4] = {0.3, 0.3, 0.3, 0.3};
    const double z[4] = {0, INFINITY, -INFINITY, 2};
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "z", NB_F64, 1, &four);
    nb_node *y = nb_bce_with_logits(g, x, nb_constant(g, NB_F64, 1, &four, t), NB_REDUCTION_SUM);
    nb_node *outs[2];
    assert_int_equal(nb_grad(g, y, &x, 1, &outs[0]), 0);
    assert_int_equal(nb_grad(g, nb_sum(g, outs[0], NULL, 0, 0), &x, 1, &outs[1]), 0);
    const char *names[1] = {"z"};
    const void *data[1] = {z};
    const double expected[8] = {0.5 - 0.3, 1 - 0.3, -0.3, 0.88079708 - 0.3, 0.25, 0, 0, 0.10499359};
    expect(g, outs, 2, names, data, 1, expected);
    nb_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_torch_f32),
        cmocka_unit_test(test_torch_f64),
        cmocka_unit_test(test_bce_saturated),
        cmocka_unit_test(test_pow_hessian_at_zero),
        cmocka_unit_test(test_bce_with_logits_second_order),
    };
    return cmocka_run_group_tests(tests, tu_cc_cache_setup, tu_cc_cache_teardown);
}
