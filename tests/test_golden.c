/* test_golden.c — builds the graphs of tests/golden/make_golden.py with nabla in f32,
 * runs them and compares every output and gradient with PyTorch's values in
 * tests/data/golden.txt (|a - e| <= 1e-5 |e| + 1e-6 max(1, max |e| of the array)). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "golden.h"
#include "nabla.h"

/* Op families still missing on this branch's main: their cases are listed as pending by
 * the coverage test instead of being built. Flip a flag when the family lands. */
#ifndef GOLDEN_HAVE_UNARY
#define GOLDEN_HAVE_UNARY 1
#endif
#ifndef GOLDEN_HAVE_BINARY
#define GOLDEN_HAVE_BINARY 1
#endif
#ifndef GOLDEN_HAVE_REDUCE
#define GOLDEN_HAVE_REDUCE 1
#endif
#ifndef GOLDEN_HAVE_SHAPE
#define GOLDEN_HAVE_SHAPE 1
#endif

#define RTOL 1e-5
#define ATOL 1e-6
#define MAX_ARRAYS 24

static gd_file *golden;

/* A case being built: the golden case, the graph, the inputs made from the file and
 * the outputs to compare with it. */
typedef struct gt {
    const gd_case *c;
    nb_graph *g;
    const char *in_names[MAX_ARRAYS];
    int n_in;
    const char *out_names[MAX_ARRAYS];
    nb_node *outs[MAX_ARRAYS];
    int n_out;
} gt;

typedef void (*gt_build)(gt *t, const void *arg);

/* One C test of one golden case (several builders may check the same case). */
typedef struct gt_entry {
    const char *golden; /* case name in golden.txt */
    const char *label;  /* test name */
    gt_build build;
    const void *arg;
} gt_entry;

static const gd_array *array(gt *t, const char *name)
{
    const gd_array *a = gd_array_find(t->c, name);
    if (!a)
        fail_msg("golden case %s has no array '%s' (regenerate golden.txt?)", t->c->name, name);
    return a;
}

/* An input of the graph, shaped and typed as the golden array of that name. */
static nb_node *in(gt *t, const char *name)
{
    const gd_array *a = array(t, name);
    nb_node *x = nb_input(t->g, name, a->dtype, a->rank, a->shape);
    assert_non_null(x);
    assert_true(t->n_in < MAX_ARRAYS);
    t->in_names[t->n_in++] = name;
    return x;
}

/* A node whose values must equal the golden array `name`. */
static void out(gt *t, const char *name, nb_node *x)
{
    if (!x)
        fail_msg("%s: building '%s' failed: %s", t->c->name, name, nb_graph_error(t->g));
    assert_true(t->n_out < MAX_ARRAYS);
    t->out_names[t->n_out] = name;
    t->outs[t->n_out++] = x;
}

/* Registers d<y>_d<x> for each x: gradients from one nb_grad call. */
static void grads(gt *t, const char *y_name, nb_node *y, nb_node *const *xs,
                  const char *const *x_names, int n)
{
    nb_node *gs[8];
    static char names[MAX_ARRAYS][64];
    assert_true(n <= 8);
    if (nb_grad(t->g, y, xs, n, gs) != 0)
        fail_msg("%s: nb_grad failed: %s", t->c->name, nb_graph_error(t->g));
    for (int i = 0; i < n; i++) {
        char *slot = names[t->n_out];
        snprintf(slot, 64, "d%s_d%s", y_name, x_names[i]);
        out(t, slot, gs[i]);
    }
}

static void grad1(gt *t, const char *y_name, nb_node *y, nb_node *x, const char *x_name)
{
    grads(t, y_name, y, &x, &x_name, 1);
}

/* sum(y * wgt) with the case's fixed weights. */
static nb_node *wsum(gt *t, nb_node *y)
{
    return nb_sum(t->g, nb_mul(t->g, y, in(t, "wgt")), NULL, 0, 0);
}

static nb_node *scalar(gt *t, double v)
{
    return nb_scalar(t->g, NB_F32, v);
}

static void compare(const gt *t, const char *name, const gd_array *e, const nb_program *p, int i)
{
    assert_int_equal(nb_program_output_rank(p, i), e->rank);
    const int64_t *shape = nb_program_output_shape(p, i);
    for (int d = 0; d < e->rank; d++)
        if (shape[d] != e->shape[d])
            fail_msg("%s: %s: dimension %d is %lld, expected %lld", t->c->name, name, d,
                     (long long)shape[d], (long long)e->shape[d]);
    if (e->dtype == NB_I32) {
        /* Integers compare exactly. */
        assert_int_equal(nb_program_output_dtype(p, i), NB_I32);
        const int32_t *iv = nb_program_output(p, i);
        for (int64_t k = 0; k < e->numel; k++)
            if (iv[k] != e->values[k])
                fail_msg("%s: %s[%lld] = %d, PyTorch %.0f", t->c->name, name, (long long)k, iv[k],
                         e->values[k]);
        return;
    }
    assert_int_equal(nb_program_output_dtype(p, i), NB_F32);
    const float *v = nb_program_output(p, i);
    double scale = 1.0;
    for (int64_t k = 0; k < e->numel; k++)
        scale = fmax(scale, fabs(e->values[k]));
    int bad = 0;
    for (int64_t k = 0; k < e->numel; k++) {
        double a = v[k], x = e->values[k];
        double tol = RTOL * fabs(x) + ATOL * scale;
        if (!(fabs(a - x) <= tol) && !(a == x) && !(isnan(a) && isnan(x))) {
            if (bad++ < 8)
                print_error("%s: %s[%lld] = %.9g, PyTorch %.9g (|diff| %.3g > %.3g)\n", t->c->name,
                            name, (long long)k, a, x, fabs(a - x), tol);
        }
    }
    if (bad)
        fail_msg("%s: %d of %lld values of %s differ", t->c->name, bad, (long long)e->numel, name);
}

/* Builds, compiles, binds every input from the file, runs twice (the second run must
 * give the same numbers) and compares. */
static void run_entry(void **state)
{
    const gt_entry *en = *state;
    gt t = {0};
    assert_non_null(golden);
    t.c = gd_case_find(golden, en->golden);
    if (!t.c)
        fail_msg("golden.txt has no case '%s' (regenerate it?)", en->golden);
    t.g = nb_graph_new();
    assert_non_null(t.g);
    en->build(&t, en->arg);
    if (nb_graph_error(t.g))
        fail_msg("%s: %s", en->label, nb_graph_error(t.g));
    nb_compile_options opt = {.outputs = t.outs, .n_outputs = t.n_out};
    nb_program *p = nb_compile(t.g, &opt);
    if (!p)
        fail_msg("%s: compile failed: %s", en->label, nb_graph_error(t.g));
    for (int i = 0; i < t.n_in; i++)
        if (nb_program_bind(p, t.in_names[i], array(&t, t.in_names[i])->data) != 0)
            fail_msg("%s: bind %s: %s", en->label, t.in_names[i], nb_program_error(p));
    for (int rep = 0; rep < 2; rep++) {
        if (nb_program_run(p) != 0)
            fail_msg("%s: run: %s", en->label, nb_program_error(p));
        for (int i = 0; i < t.n_out; i++)
            compare(&t, t.out_names[i], array(&t, t.out_names[i]), p, i);
    }
    nb_program_free(p);
    nb_graph_free(t.g);
}

/* ---- the seed -------------------------------------------------------------------------- */

static void b_seed_a(gt *t, const void *arg)
{
    (void)arg;
    nb_node *x = in(t, "x");
    nb_node *y = nb_mul(t->g, x, x);
    out(t, "y", y);
    grad1(t, "y", y, x, "x");
}

/* The tutorial's loss written out: -(y log p + (1 - y) log(1 - p)). At p = sigmoid(6.7)
 * the clamp to [1e-8, 1 - 1e-8] does not bind, so the values are the same. */
static void b_seed_b(gt *t, const void *arg)
{
    (void)arg;
    nb_graph *g = t->g;
    nb_node *x = in(t, "x"), *y = in(t, "y"), *w = in(t, "w"), *b = in(t, "b");
    nb_node *p = nb_sigmoid(g, nb_add(g, nb_mul(g, w, x), b));
    nb_node *one = scalar(t, 1.0);
    nb_node *pos = nb_mul(g, y, nb_log(g, p));
    nb_node *neg = nb_mul(g, nb_sub(g, one, y), nb_log(g, nb_sub(g, one, p)));
    nb_node *loss = nb_sub(g, scalar(t, 0.0), nb_add(g, pos, neg));
    out(t, "loss", loss);
    nb_node *xs[] = {w, b};
    const char *names[] = {"w", "b"};
    grads(t, "loss", loss, xs, names, 2);
}

static void b_seed_c(gt *t, const void *arg)
{
    (void)arg;
    nb_node *x = in(t, "x");
    nb_node *y = nb_mean(t->g, nb_mul(t->g, x, x), NULL, 0, 0);
    out(t, "y", y);
    grad1(t, "y", y, x, "x");
}

/* ---- broadcasting arithmetic ---------------------------------------------------------- */

static void b_broadcast_arith(gt *t, const void *arg)
{
    (void)arg;
    nb_graph *g = t->g;
    nb_node *a = in(t, "a"), *b = in(t, "b"), *c = in(t, "c");
    nb_node *o = nb_mul(g, nb_add(g, a, b), c);
    o = nb_sub(g, o, nb_div(g, a, nb_add(g, b, scalar(t, 3.0))));
    o = nb_add(g, o, scalar(t, 0.3));
    out(t, "out", o);
    nb_node *xs[] = {a, b, c};
    const char *names[] = {"a", "b", "c"};
    grads(t, "loss", wsum(t, o), xs, names, 3);
}

/* ---- unary ops ------------------------------------------------------------------------- */

typedef nb_node *(*unary_fn)(nb_graph *g, nb_node *x);

static void b_unary(gt *t, const void *arg)
{
    unary_fn fn = *(const unary_fn *)arg;
    nb_node *x = in(t, "x");
    nb_node *y = fn(t->g, x);
    out(t, "y", y);
    grad1(t, "loss", wsum(t, y), x, "x");
}

static const unary_fn u_exp = nb_exp, u_log = nb_log, u_sigmoid = nb_sigmoid;

#if GOLDEN_HAVE_UNARY
static nb_node *leaky_relu_01(nb_graph *g, nb_node *x)
{
    return nb_leaky_relu(g, x, 0.1);
}

static nb_node *elu_07(nb_graph *g, nb_node *x)
{
    return nb_elu(g, x, 0.7);
}

static const unary_fn u_neg = nb_neg, u_abs = nb_abs, u_sign = nb_sign, u_floor = nb_floor,
                      u_ceil = nb_ceil, u_round = nb_round, u_trunc = nb_trunc, u_log1p = nb_log1p,
                      u_expm1 = nb_expm1, u_sqrt = nb_sqrt, u_rsqrt = nb_rsqrt,
                      u_square = nb_square, u_reciprocal = nb_reciprocal, u_sin = nb_sin,
                      u_cos = nb_cos, u_tanh = nb_tanh, u_relu = nb_relu,
                      u_leaky_relu = leaky_relu_01, u_elu = elu_07, u_gelu = nb_gelu,
                      u_gelu_tanh = nb_gelu_tanh, u_silu = nb_silu, u_softplus = nb_softplus,
                      u_erf = nb_erf;
#endif

/* tan ... atanh and prod: make_golden.py's math_cases. */
static const unary_fn u_tan = nb_tan, u_asin = nb_asin, u_acos = nb_acos, u_atan = nb_atan,
                      u_sinh = nb_sinh, u_cosh = nb_cosh, u_asinh = nb_asinh, u_acosh = nb_acosh,
                      u_atanh = nb_atanh;

/* ---- reductions ------------------------------------------------------------------------ */

typedef nb_node *(*reduce_fn)(nb_graph *g, nb_node *x, const int *axes, int n_axes, int keepdim);

typedef struct reduce_arg {
    reduce_fn fn;
    int axes[3];
    int n_axes;
    int keepdim;
} reduce_arg;

static void b_reduce(gt *t, const void *arg)
{
    const reduce_arg *r = arg;
    nb_node *x = in(t, "x");
    nb_node *y = r->fn(t->g, x, r->axes, r->n_axes, r->keepdim);
    out(t, "y", y);
    grad1(t, "loss", wsum(t, y), x, "x");
}

static const reduce_arg r_sum_1_keep = {nb_sum, {1}, 1, 1};
static const reduce_arg r_sum_all = {nb_sum, {0}, 0, 0};
static const reduce_arg r_mean_02 = {nb_mean, {0, 2}, 2, 0};
static const reduce_arg r_mean_m1_keep = {nb_mean, {-1}, 1, 1};
#if GOLDEN_HAVE_REDUCE
static const reduce_arg r_max_2_keep = {nb_max, {2}, 1, 1};
static const reduce_arg r_max_01 = {nb_max, {0, 1}, 2, 0};
static const reduce_arg r_min_0 = {nb_min, {0}, 1, 0};
static const reduce_arg r_min_12_keep = {nb_min, {1, 2}, 2, 1};
static const reduce_arg r_lse_1_keep = {nb_logsumexp, {1}, 1, 1};
static const reduce_arg r_lse_02 = {nb_logsumexp, {0, 2}, 2, 0};
static const reduce_arg r_prod_1_keep = {nb_prod, {1}, 1, 1};
static const reduce_arg r_prod_all = {nb_prod, {0}, 0, 0};
static const reduce_arg r_prod_1_keep_no = {nb_prod, {1}, 1, 0};
static const reduce_arg r_prod_0_keep = {nb_prod, {0}, 1, 1};
static const reduce_arg r_prod_02 = {nb_prod, {0, 2}, 2, 0};

/* g = d sum(prod(x, axis) * wgt) / dx, then d sum(g * v) / dx: prod's second derivatives,
 * zeros included. arg: the axis. */
static void b_prod_second(gt *t, const void *arg)
{
    nb_graph *g = t->g;
    nb_node *x = in(t, "x"), *dx;
    nb_node *y = nb_prod(g, x, (const int *)arg, 1, 0);
    assert_int_equal(nb_grad(g, wsum(t, y), &x, 1, &dx), 0);
    out(t, "g", dx);
    grad1(t, "h", nb_sum(g, nb_mul(g, dx, in(t, "v")), NULL, 0, 0), x, "x");
}

static const int prod_axis0 = 0, prod_axis1 = 1;

typedef nb_node *(*arg_fn)(nb_graph *g, nb_node *x, int axis, int keepdim);

typedef struct arg_arg {
    arg_fn fn;
    int axis;
    int keepdim;
} arg_arg;

/* argmax/argmin's i32 indices, compared exactly; an integer output has no gradient to
 * compare (torch gives it none). */
static void b_arg(gt *t, const void *arg)
{
    const arg_arg *r = arg;
    out(t, "y", r->fn(t->g, in(t, "x"), r->axis, r->keepdim));
}

static const arg_arg a_argmax_m1_keep = {nb_argmax, -1, 1};
static const arg_arg a_argmax_0 = {nb_argmax, 0, 0};
static const arg_arg a_argmin_1 = {nb_argmin, 1, 0};
static const arg_arg a_argmin_m2_keep = {nb_argmin, -2, 1};
static const arg_arg a_argmax_3d_1 = {nb_argmax, 1, 0};
static const arg_arg a_argmin_3d_m3_keep = {nb_argmin, -3, 1};
#endif

/* ---- pooling --------------------------------------------------------------------------- */

enum { POOL_MAX, POOL_AVG, POOL_ADAPTIVE };

/* F.max_pool2d / F.avg_pool2d / F.adaptive_avg_pool2d with these arguments (stride,
 * padding, dilation all given; divisor 0 = None; out: the adaptive size). */
typedef struct pool_arg {
    int kind;
    int64_t k[2], s[2], p[2], d[2];
    int ceil, include_pad, divisor;
    int64_t out[2];
} pool_arg;

static nb_node *pool(nb_graph *g, nb_node *x, const pool_arg *a)
{
    switch (a->kind) {
    case POOL_MAX: return nb_max_pool2d(g, x, a->k, a->s, a->p, a->d, a->ceil);
    case POOL_AVG:
        return nb_avg_pool2d(g, x, a->k, a->s, a->p, a->ceil, a->include_pad, a->divisor);
    default: return nb_adaptive_avg_pool2d(g, x, a->out[0], a->out[1]);
    }
}

static void b_pool(gt *t, const void *arg)
{
    nb_node *x = in(t, "x");
    nb_node *y = pool(t->g, x, arg);
    out(t, "y", y);
    grad1(t, "loss", wsum(t, y), x, "x");
}

/* g = d sum(pool(x) * wgt) / dx; then the gradients of sum(g * v) with respect to wgt
 * (through the gradient's adjoint) and x (zero). */
static void b_pool_second(gt *t, const void *arg)
{
    nb_graph *g = t->g;
    nb_node *x = in(t, "x"), *w = in(t, "wgt"), *v = in(t, "v");
    nb_node *dx;
    assert_int_equal(nb_grad(g, nb_sum(g, nb_mul(g, pool(g, x, arg), w), NULL, 0, 0), &x, 1, &dx),
                     0);
    out(t, "g", dx);
    nb_node *xs[2] = {w, x};
    grads(t, "h", nb_sum(g, nb_mul(g, dx, v), NULL, 0, 0), xs, (const char *const[]){"wgt", "x"},
          2);
}

#define MAXP(k0, k1, s0, s1, p0, p1, d0, d1, c)                                                    \
    {                                                                                              \
        POOL_MAX, {k0, k1}, {s0, s1}, {p0, p1}, {d0, d1}, c, 0, 0,                                 \
        {                                                                                          \
            0, 0                                                                                   \
        }                                                                                          \
    }
#define AVGP(k0, k1, s0, s1, p0, p1, c, inc, div)                                                  \
    {                                                                                              \
        POOL_AVG, {k0, k1}, {s0, s1}, {p0, p1}, {1, 1}, c, inc, div,                               \
        {                                                                                          \
            0, 0                                                                                   \
        }                                                                                          \
    }
#define ADAP(h, w)                                                                                 \
    {                                                                                              \
        POOL_ADAPTIVE, {0, 0}, {0, 0}, {0, 0}, {0, 0}, 0, 0, 0,                                    \
        {                                                                                          \
            h, w                                                                                   \
        }                                                                                          \
    }

static const pool_arg p_max_ties = MAXP(2, 2, 2, 2, 0, 0, 1, 1, 0);
static const pool_arg p_max_overlap = MAXP(3, 3, 1, 1, 0, 0, 1, 1, 0);
static const pool_arg p_max_rect = MAXP(2, 3, 1, 2, 0, 0, 1, 1, 0);
static const pool_arg p_max_pad_dil = MAXP(3, 3, 2, 2, 1, 1, 2, 2, 0);
static const pool_arg p_max_ceil = MAXP(2, 2, 2, 2, 0, 0, 1, 1, 1);
static const pool_arg p_max_ceil_pad = MAXP(3, 3, 2, 2, 1, 1, 1, 1, 1);
static const pool_arg p_max_neg_pad = MAXP(3, 2, 1, 2, 1, 1, 1, 1, 0);
static const pool_arg p_avg_basic = AVGP(2, 2, 2, 2, 0, 0, 0, 1, 0);
static const pool_arg p_avg_pad_incl = AVGP(3, 3, 2, 2, 1, 1, 0, 1, 0);
static const pool_arg p_avg_pad_excl = AVGP(3, 3, 2, 2, 1, 1, 0, 0, 0);
static const pool_arg p_avg_ceil_incl = AVGP(3, 3, 2, 2, 1, 1, 1, 1, 0);
static const pool_arg p_avg_ceil_excl = AVGP(3, 3, 2, 2, 1, 1, 1, 0, 0);
static const pool_arg p_avg_divisor = AVGP(2, 3, 1, 2, 1, 1, 0, 1, 5);
static const pool_arg p_avg_rect = AVGP(3, 2, 2, 1, 0, 0, 1, 1, 0);
static const pool_arg p_adaptive_3_2 = ADAP(3, 2);
static const pool_arg p_adaptive_1 = ADAP(1, 1);
static const pool_arg p_adaptive_3_7 = ADAP(3, 7);
static const pool_arg p_max_pad_second = MAXP(3, 3, 2, 2, 1, 1, 1, 1, 0);
static const pool_arg p_avg_pad_second = AVGP(3, 3, 2, 2, 1, 1, 0, 0, 0);

/* ---- second order ---------------------------------------------------------------------- */

static void b_second_cube(gt *t, const void *arg)
{
    (void)arg;
    nb_graph *g = t->g;
    nb_node *x = in(t, "x");
    nb_node *y = nb_sum(g, nb_mul(g, nb_mul(g, x, x), x), NULL, 0, 0);
    out(t, "y", y);
    nb_node *dx, *d2x;
    assert_int_equal(nb_grad(g, y, &x, 1, &dx), 0);
    out(t, "dy_dx", dx);
    assert_int_equal(nb_grad(g, nb_sum(g, dx, NULL, 0, 0), &x, 1, &d2x), 0);
    out(t, "d2y_dx2", d2x);
}

/* ---- cases of families that landed later ----------------------------------------------- */

#if GOLDEN_HAVE_BINARY
static void b_broadcast_binary(gt *t, const void *arg)
{
    (void)arg;
    nb_graph *g = t->g;
    nb_node *a = in(t, "a"), *b = in(t, "b"), *c = in(t, "c");
    nb_node *p = nb_pow(g, a, b);
    nb_node *mx = nb_maximum(g, a, c);
    nb_node *mn = nb_minimum(g, a, c);
    nb_node *wh = nb_where(g, nb_gt(g, a, c), nb_mul(g, a, b), nb_sub(g, c, b));
    nb_node *cl = nb_clamp(g, nb_mul(g, a, b), -0.4, 1.6);
    nb_node *o = nb_add(g, p, nb_mul(g, mx, scalar(t, 2.0)));
    o = nb_add(g, nb_sub(g, o, mn), nb_mul(g, wh, cl));
    out(t, "out", o);
    nb_node *xs[] = {a, b, c};
    const char *names[] = {"a", "b", "c"};
    grads(t, "loss", wsum(t, o), xs, names, 3);
}

/* i32 arithmetic (wrapping), floor_div and remainder, comparisons (bool cast to i32);
 * compared exactly. */
static void b_int_arith(gt *t, const void *arg)
{
    (void)arg;
    nb_graph *g = t->g;
    nb_node *a = in(t, "a"), *b = in(t, "b"), *c = in(t, "c");
    out(t, "add", nb_add(g, a, b));
    out(t, "sub", nb_sub(g, a, b));
    out(t, "mul", nb_mul(g, a, b));
    out(t, "floor_div", nb_floor_div(g, a, b));
    out(t, "remainder", nb_remainder(g, a, b));
    static const char *const names[] = {"eq", "ne", "lt", "le", "gt", "ge"};
    nb_node *(*const fns[])(nb_graph *, nb_node *, nb_node *) = {nb_eq, nb_ne, nb_lt,
                                                                 nb_le, nb_gt, nb_ge};
    for (int i = 0; i < 6; i++)
        out(t, names[i], nb_cast(g, fns[i](g, a, c), NB_I32));
}

static void b_int_broadcast(gt *t, const void *arg)
{
    (void)arg;
    nb_graph *g = t->g;
    nb_node *a = in(t, "a"), *b = in(t, "b");
    out(t, "add", nb_add(g, a, b));
    out(t, "mul", nb_mul(g, a, b));
    out(t, "floor_div", nb_floor_div(g, a, b));
    out(t, "remainder", nb_remainder(g, a, b));
}

static void b_fmod(gt *t, const void *arg)
{
    (void)arg;
    nb_node *a = in(t, "a"), *b = in(t, "b");
    nb_node *o = nb_fmod(t->g, a, b);
    out(t, "out", o);
    grads(t, "loss", wsum(t, o), (nb_node *const[]){a, b}, (const char *const[]){"a", "b"}, 2);
}

typedef struct pad_arg {
    int n;
    int64_t pads[6];
    nb_pad_mode mode;
    double value;
} pad_arg;

/* F.pad: pairs from the last axis; the gradient of sum(out * wgt). */
static void b_pad(gt *t, const void *arg)
{
    const pad_arg *a = arg;
    nb_node *x = in(t, "x");
    nb_node *o = nb_pad(t->g, x, a->n, a->pads, a->mode, a->value);
    out(t, "out", o);
    grad1(t, "loss", wsum(t, o), x, "x");
}

static const pad_arg p_constant_last = {2, {1, 2}, NB_PAD_CONSTANT, 0.0};
static const pad_arg p_constant_value_2d = {4, {2, 0, 1, 1}, NB_PAD_CONSTANT, -1.5};
static const pad_arg p_constant_crop = {4, {-1, 2, 1, -2}, NB_PAD_CONSTANT, 0.25};
static const pad_arg p_reflect_last = {2, {2, 3}, NB_PAD_REFLECT, 0.0};
static const pad_arg p_reflect_2d = {4, {3, 1, 2, 2}, NB_PAD_REFLECT, 0.0};
static const pad_arg p_reflect_crop = {2, {-1, 2}, NB_PAD_REFLECT, 0.0};

/* The Hessian-vector product through reflect padding: the adjoint's own gradient. */
static void b_pad_reflect_second(gt *t, const void *arg)
{
    (void)arg;
    nb_graph *g = t->g;
    nb_node *x = in(t, "x"), *w = in(t, "w"), *v = in(t, "v");
    nb_node *p = nb_pad(g, x, 2, (const int64_t[]){3, 1}, NB_PAD_REFLECT, 0.0);
    nb_node *y = nb_sum(g, nb_mul(g, nb_mul(g, p, p), w), NULL, 0, 0);
    out(t, "y", y);
    nb_node *gx;
    if (nb_grad(g, y, &x, 1, &gx) != 0)
        fail_msg("nb_grad: %s", nb_graph_error(g));
    out(t, "dy_dx", gx);
    nb_node *hv;
    if (nb_grad(g, nb_sum(g, nb_mul(g, gx, v), NULL, 0, 0), &x, 1, &hv) != 0)
        fail_msg("nb_grad: %s", nb_graph_error(g));
    out(t, "hv", hv);
}

typedef struct scatter_arg {
    int index_add;
    int axis;
} scatter_arg;

/* torch.scatter_add / index_add and the gradients of sum(out * wgt). */
static void b_scatter(gt *t, const void *arg)
{
    const scatter_arg *a = arg;
    nb_node *x = in(t, "x"), *idx = in(t, "index"), *src = in(t, "src");
    nb_node *o = a->index_add ? nb_index_add(t->g, x, a->axis, idx, src)
                              : nb_scatter_add(t->g, x, a->axis, idx, src);
    out(t, "out", o);
    grads(t, "loss", wsum(t, o), (nb_node *const[]){x, src}, (const char *const[]){"x", "src"}, 2);
}

static const scatter_arg s_scatter_axis1 = {0, -1}, s_scatter_axis0 = {0, 0},
                         s_index_axis1 = {1, 1}, s_index_axis0 = {1, -2};

/* torch.cumsum along arg's axis; the gradient of sum(out * wgt). */
static void b_cumsum(gt *t, const void *arg)
{
    nb_node *x = in(t, "x");
    nb_node *o = nb_cumsum(t->g, x, *(const int *)arg);
    out(t, "out", o);
    grad1(t, "loss", wsum(t, o), x, "x");
}

static const int c_last = -1, c_axis1 = 1, c_axis0 = 0;

/* A Hessian-vector product through cumsum: the reversed scan's gradient. */
static void b_cumsum_second(gt *t, const void *arg)
{
    (void)arg;
    nb_graph *g = t->g;
    nb_node *x = in(t, "x"), *w = in(t, "w"), *v = in(t, "v");
    nb_node *c = nb_cumsum(g, x, 1);
    nb_node *y = nb_sum(g, nb_mul(g, nb_mul(g, c, c), w), NULL, 0, 0);
    out(t, "y", y);
    nb_node *gx, *hv;
    if (nb_grad(g, y, &x, 1, &gx) != 0)
        fail_msg("nb_grad: %s", nb_graph_error(g));
    out(t, "dy_dx", gx);
    if (nb_grad(g, nb_sum(g, nb_mul(g, gx, v), NULL, 0, 0), &x, 1, &hv) != 0)
        fail_msg("nb_grad: %s", nb_graph_error(g));
    out(t, "hv", hv);
}

/* f32 -> i32 truncates; i32 -> f32 rounds to even. */
static void b_int_cast(gt *t, const void *arg)
{
    (void)arg;
    out(t, "x_i32", nb_cast(t->g, in(t, "x"), NB_I32));
    out(t, "i_f32", nb_cast(t->g, in(t, "i"), NB_F32));
}
#endif

#if GOLDEN_HAVE_REDUCE
typedef struct softmax_arg {
    nb_node *(*fn)(nb_graph *g, nb_node *x, int axis);
    int axis;
} softmax_arg;

static void b_softmax(gt *t, const void *arg)
{
    const softmax_arg *s = arg;
    nb_node *x = in(t, "x");
    nb_node *y = s->fn(t->g, x, s->axis);
    out(t, "y", y);
    grad1(t, "loss", wsum(t, y), x, "x");
}

static const softmax_arg s_softmax_m1 = {nb_softmax, -1}, s_softmax_0 = {nb_softmax, 0},
                         s_log_softmax_m1 = {nb_log_softmax, -1},
                         s_log_softmax_0 = {nb_log_softmax, 0};

/* A loss over (pred, target) where target is named as in the file. */
typedef struct loss_arg {
    nb_node *(*fn)(nb_graph *g, nb_node *pred, nb_node *target, nb_reduction r);
    const char *pred, *target;
    nb_reduction r;
} loss_arg;

static void b_loss(gt *t, const void *arg)
{
    const loss_arg *l = arg;
    nb_node *p = in(t, l->pred), *tg = in(t, l->target);
    nb_node *y = l->fn(t->g, p, tg, l->r);
    out(t, "y", y);
    grad1(t, "loss", l->r == NB_REDUCTION_NONE ? wsum(t, y) : y, p, l->pred);
}

#define LOSS3(var, fn, pred, target)                                                               \
    static const loss_arg var##_mean = {fn, pred, target, NB_REDUCTION_MEAN};                      \
    static const loss_arg var##_sum = {fn, pred, target, NB_REDUCTION_SUM};                        \
    static const loss_arg var##_none = {fn, pred, target, NB_REDUCTION_NONE};
LOSS3(l_mse, nb_mse, "pred", "target")
LOSS3(l_bce, nb_bce, "p", "target")
LOSS3(l_bcel, nb_bce_with_logits, "z", "target")
LOSS3(l_ce, nb_cross_entropy, "logits", "labels")
LOSS3(l_nll, nb_nll, "logp", "labels")
static const loss_arg l_ce_1d = {nb_cross_entropy, "logits", "labels", NB_REDUCTION_MEAN};
static const loss_arg l_bce_clamp = {nb_bce, "p", "target", NB_REDUCTION_MEAN};

/* The seed's logistic regression with nb_bce (the clamp included), w and b inputs. */
static void b_seed_b_bce(gt *t, const void *arg)
{
    (void)arg;
    nb_graph *g = t->g;
    nb_node *x = in(t, "x"), *y = in(t, "y"), *w = in(t, "w"), *b = in(t, "b");
    nb_node *p = nb_sigmoid(g, nb_add(g, nb_mul(g, w, x), b));
    nb_node *loss = nb_bce(g, p, y, NB_REDUCTION_MEAN);
    out(t, "loss", loss);
    nb_node *xs[] = {w, b};
    const char *names[] = {"w", "b"};
    grads(t, "loss", loss, xs, names, 2);
}
#endif

#if GOLDEN_HAVE_SHAPE
static void b_gather(gt *t, const void *arg)
{
    (void)arg;
    nb_node *table = in(t, "table"), *index = in(t, "index");
    nb_node *o = nb_gather(t->g, table, index);
    out(t, "out", o);
    grad1(t, "loss", wsum(t, o), table, "table");
}

static void b_one_hot(gt *t, const void *arg)
{
    (void)arg;
    out(t, "out", nb_one_hot(t->g, in(t, "index"), 5, NB_F32));
}

static void b_take_along_dim(gt *t, const void *arg)
{
    (void)arg;
    nb_node *x = in(t, "x");
    nb_node *o = nb_take_along_axis(t->g, x, in(t, "index"), 1);
    out(t, "out", o);
    grad1(t, "loss", wsum(t, o), x, "x");
}

static void b_slice(gt *t, const void *arg)
{
    (void)arg;
    const int64_t start[] = {1, -4}, stop[] = {4, INT64_MAX}, step[] = {2, 2};
    nb_node *x = in(t, "x");
    nb_node *o = nb_slice(t->g, x, start, stop, step);
    out(t, "out", o);
    grad1(t, "loss", wsum(t, o), x, "x");
}

static void b_concat(gt *t, const void *arg)
{
    (void)arg;
    nb_node *a = in(t, "a"), *b = in(t, "b");
    nb_node *parts[] = {a, b, a};
    nb_node *o = nb_concat(t->g, parts, 3, 1);
    out(t, "out", o);
    nb_node *xs[] = {a, b};
    const char *names[] = {"a", "b"};
    grads(t, "loss", wsum(t, o), xs, names, 2);
}

static void b_matmul(gt *t, const void *arg)
{
    (void)arg;
    nb_node *a = in(t, "a"), *b = in(t, "b");
    nb_node *o = nb_matmul(t->g, a, b);
    out(t, "out", o);
    nb_node *xs[] = {a, b};
    const char *names[] = {"a", "b"};
    grads(t, "loss", wsum(t, o), xs, names, 2);
}

static void b_transpose(gt *t, const void *arg)
{
    (void)arg;
    nb_graph *g = t->g;
    const int perm[] = {2, 0, 1};
    const int64_t shape[] = {6, 4}, cshape[] = {4};
    const double cval[] = {1.0, -2.0, 0.5, 3.0};
    nb_node *x = in(t, "x");
    nb_node *p = nb_permute(g, nb_transpose(g, x), perm, 3);
    nb_node *o = nb_mul(g, nb_reshape(g, p, 2, shape), nb_constant(g, NB_F32, 1, cshape, cval));
    out(t, "out", o);
    grad1(t, "loss", wsum(t, o), x, "x");
}
#endif

#if GOLDEN_HAVE_SHAPE && GOLDEN_HAVE_UNARY && GOLDEN_HAVE_REDUCE
static void b_mlp(gt *t, const void *arg)
{
    (void)arg;
    nb_graph *g = t->g;
    nb_node *x = in(t, "x"), *labels = in(t, "labels");
    nb_node *w1 = in(t, "w1"), *b1 = in(t, "b1"), *w2 = in(t, "w2"), *b2 = in(t, "b2");
    nb_node *h = nb_relu(g, nb_add(g, nb_matmul(g, x, w1), b1));
    nb_node *logits = nb_tanh(g, nb_add(g, nb_matmul(g, h, w2), b2));
    nb_node *loss = nb_cross_entropy(g, logits, labels, NB_REDUCTION_MEAN);
    out(t, "h", h);
    out(t, "logits", logits);
    out(t, "loss", loss);
    nb_node *xs[] = {w1, b1, w2, b2};
    const char *names[] = {"w1", "b1", "w2", "b2"};
    grads(t, "loss", loss, xs, names, 4);
}
#endif

#if GOLDEN_HAVE_SHAPE && GOLDEN_HAVE_UNARY
/* f(w) = sum(tanh(x @ w)^2); hv = d/dw sum(grad f * v). */
static void b_hvp_net(gt *t, const void *arg)
{
    (void)arg;
    nb_graph *g = t->g;
    nb_node *x = in(t, "x"), *v = in(t, "v"), *w = in(t, "w");
    nb_node *th = nb_tanh(g, nb_matmul(g, x, w));
    nb_node *f = nb_sum(g, nb_mul(g, th, th), NULL, 0, 0);
    out(t, "f", f);
    nb_node *gw, *hv;
    assert_int_equal(nb_grad(g, f, &w, 1, &gw), 0);
    out(t, "df_dw", gw);
    assert_int_equal(nb_grad(g, nb_sum(g, nb_mul(g, gw, v), NULL, 0, 0), &w, 1, &hv), 0);
    out(t, "hv", hv);
}
#endif

/* ---- normalisation ---------------------------------------------------------------------- */

typedef enum norm_kind { NORM_LAYER, NORM_GROUP, NORM_BATCH_EVAL } norm_kind;

typedef struct norm_arg {
    norm_kind kind;
    int k;    /* layer norm: normalized_rank; group norm: num_groups */
    int w, b; /* the case has a weight, a bias */
    double eps;
} norm_arg;

/* y = norm(x, w, b) and the gradients of sum(y * wgt) w.r.t. x, w and b. */
static void b_norm(gt *t, const void *arg)
{
    const norm_arg *a = arg;
    nb_graph *g = t->g;
    nb_node *x = in(t, "x"), *w = a->w ? in(t, "w") : NULL, *b = a->b ? in(t, "b") : NULL, *y;
    if (a->kind == NORM_LAYER) {
        y = nb_layer_norm(g, x, a->k, w, b, a->eps);
    } else if (a->kind == NORM_GROUP) {
        y = nb_group_norm(g, x, a->k, w, b, a->eps);
    } else {
        const int64_t c[1] = {3};
        nb_node *rm = nb_constant(g, NB_F32, 1, c, (const double[]){0.2, -0.1, 0.3});
        nb_node *rv = nb_constant(g, NB_F32, 1, c, (const double[]){1.5, 0.8, 2.2});
        y = nb_batch_norm(g, x, rm, rv, w, b, 0, 0.1, a->eps, NULL, NULL);
    }
    out(t, "y", y);
    nb_node *xs[3] = {x, w, b};
    const char *names[3] = {"x", "w", "b"};
    int n = 1;
    if (w)
        n++;
    if (b) {
        xs[n] = b;
        names[n++] = "b";
    }
    grads(t, "loss", wsum(t, y), xs, names, n);
}

static const norm_arg n_ln_last = {NORM_LAYER, 1, 1, 1, 1e-5};
static const norm_arg n_ln_last2 = {NORM_LAYER, 2, 1, 0, 1e-3};
static const norm_arg n_ln_plain = {NORM_LAYER, 1, 0, 0, 1e-5};
static const norm_arg n_gn_3 = {NORM_GROUP, 3, 1, 1, 1e-5};
static const norm_arg n_gn_1_flat = {NORM_GROUP, 1, 1, 0, 1e-2};
static const norm_arg n_bn_eval = {NORM_BATCH_EVAL, 0, 1, 1, 1e-5};

/* One training step: the batch statistics normalize, and the new running statistics
 * (momentum 0.1, unbiased variance) are outputs here (test_norm.c makes them updates). */
static void b_batch_norm_train(gt *t, const void *arg)
{
    (void)arg;
    nb_graph *g = t->g;
    nb_node *x = in(t, "x"), *w = in(t, "w"), *b = in(t, "b");
    nb_node *rm = in(t, "running_mean"), *rv = in(t, "running_var"), *nm, *nv;
    nb_node *y =
        nb_batch_norm(g, x, rm, rv, w, b, 1, NB_BATCH_NORM_MOMENTUM, NB_NORM_EPS, &nm, &nv);
    out(t, "y", y);
    out(t, "new_running_mean", nm);
    out(t, "new_running_var", nv);
    nb_node *xs[3] = {x, w, b};
    const char *names[3] = {"x", "w", "b"};
    grads(t, "loss", wsum(t, y), xs, names, 3);
}

/* h = sum(v * dL/dx) + sum(dL/dw) for L = sum(layer_norm(x, w) * wgt), and its gradients:
 * norm_grad's own gradient. */
static void b_layer_norm_second(gt *t, const void *arg)
{
    (void)arg;
    nb_graph *g = t->g;
    nb_node *x = in(t, "x"), *w = in(t, "w"), *v = in(t, "v");
    nb_node *y = nb_layer_norm(g, x, 1, w, NULL, NB_NORM_EPS);
    nb_node *xs[2] = {x, w}, *gs[2], *hs[2];
    assert_int_equal(nb_grad(g, wsum(t, y), xs, 2, gs), 0);
    out(t, "dloss_dx", gs[0]);
    nb_node *h =
        nb_add(g, nb_sum(g, nb_mul(g, gs[0], v), NULL, 0, 0), nb_sum(g, gs[1], NULL, 0, 0));
    assert_int_equal(nb_grad(g, h, xs, 2, hs), 0);
    out(t, "dh_dx", hs[0]);
    out(t, "dh_dw", hs[1]);
}

/* ---- convolution --------------------------------------------------------------------- */

typedef nb_node *(*conv_fn)(nb_graph *g, nb_node *x, nb_node *w, nb_node *b,
                            const nb_conv_options *o);

typedef struct conv_arg {
    conv_fn fn;
    int bias;
    nb_conv_options o;
} conv_arg;

/* out = fn(x, w, b) with the case's options; the gradients of sum(out * wgt). */
static void b_conv(gt *t, const void *arg)
{
    const conv_arg *c = arg;
    nb_node *xs[3] = {in(t, "x"), in(t, "w"), c->bias ? in(t, "b") : NULL};
    const char *names[] = {"x", "w", "b"};
    nb_node *o = c->fn(t->g, xs[0], xs[1], xs[2], &c->o);
    out(t, "out", o);
    grads(t, "loss", wsum(t, o), xs, names, c->bias ? 3 : 2);
}

static const conv_arg c_plain = {nb_conv2d, 1, {.groups = 0}};
static const conv_arg c_stride_pad = {nb_conv2d, 1, {.stride = {2, 1}, .padding = {1, 2}}};
static const conv_arg c_dilation2 = {nb_conv2d, 0, {.dilation = {2, 2}, .padding = {1, 1}}};
static const conv_arg c_groups2 = {nb_conv2d, 1, {.groups = 2}};
static const conv_arg c_depthwise = {nb_conv2d, 0, {.groups = 3, .padding = {1, 1}}};
static const conv_arg c_same_even = {nb_conv2d, 0, {.padding_same = 1, .dilation = {1, 2}}};
static const conv_arg c_pointwise = {nb_conv2d, 1, {.groups = 1}};
static const conv_arg c_stride3_big = {nb_conv2d, 1, {.stride = {3, 3}, .padding = {2, 1}}};
static const conv_arg c_t_outpad = {
    nb_conv_transpose2d, 1, {.stride = {2, 2}, .padding = {1, 1}, .output_padding = {1, 1}}};
static const conv_arg c_t_groups_dil = {
    nb_conv_transpose2d, 1, {.stride = {1, 2}, .padding = {0, 1}, .groups = 2, .dilation = {2, 2}}};
static const conv_arg c_1d_stride_pad = {nb_conv1d, 1, {.stride = {2}, .padding = {1}}};
static const conv_arg c_1d_same_groups = {
    nb_conv1d, 0, {.padding_same = 1, .dilation = {2}, .groups = 2}};

/* f(w) = sum(tanh(conv2d(x, w, padding 1))^2); hv = d/dw sum(grad f * v): the gradient
 * of a convolution's gradient. */
static void b_conv2d_hvp(gt *t, const void *arg)
{
    (void)arg;
    nb_graph *g = t->g;
    nb_node *x = in(t, "x"), *v = in(t, "v"), *w = in(t, "w");
    nb_conv_options o = {.padding = {1, 1}};
    nb_node *th = nb_tanh(g, nb_conv2d(g, x, w, NULL, &o));
    nb_node *f = nb_sum(g, nb_mul(g, th, th), NULL, 0, 0);
    out(t, "f", f);
    nb_node *gw, *hv;
    assert_int_equal(nb_grad(g, f, &w, 1, &gw), 0);
    out(t, "df_dw", gw);
    assert_int_equal(nb_grad(g, nb_sum(g, nb_mul(g, gw, v), NULL, 0, 0), &w, 1, &hv), 0);
    out(t, "hv", hv);
}

/* ---- the table ------------------------------------------------------------------------- */

#define E(golden, build, arg)                                                                      \
    {                                                                                              \
        golden, golden, build, arg                                                                 \
    }

static const gt_entry entries[] = {
    E("seed_a", b_seed_a, NULL),
    {"seed_b", "seed_b_by_hand", b_seed_b, NULL},
    E("seed_c", b_seed_c, NULL),
    E("broadcast_arith", b_broadcast_arith, NULL),
    E("unary_exp", b_unary, &u_exp),
    E("unary_log", b_unary, &u_log),
    E("unary_sigmoid", b_unary, &u_sigmoid),
    E("reduce_sum_1_keep", b_reduce, &r_sum_1_keep),
    E("reduce_sum_all", b_reduce, &r_sum_all),
    E("reduce_mean_02", b_reduce, &r_mean_02),
    E("reduce_mean_m1_keep", b_reduce, &r_mean_m1_keep),
    E("second_cube", b_second_cube, NULL),
#if GOLDEN_HAVE_UNARY
    E("unary_neg", b_unary, &u_neg),
    E("unary_abs", b_unary, &u_abs),
    E("unary_sign", b_unary, &u_sign),
    E("unary_floor", b_unary, &u_floor),
    E("unary_ceil", b_unary, &u_ceil),
    E("unary_round", b_unary, &u_round),
    E("unary_trunc", b_unary, &u_trunc),
    E("unary_log1p", b_unary, &u_log1p),
    E("unary_expm1", b_unary, &u_expm1),
    E("unary_sqrt", b_unary, &u_sqrt),
    E("unary_rsqrt", b_unary, &u_rsqrt),
    E("unary_square", b_unary, &u_square),
    E("unary_reciprocal", b_unary, &u_reciprocal),
    E("unary_sin", b_unary, &u_sin),
    E("unary_cos", b_unary, &u_cos),
    E("unary_tanh", b_unary, &u_tanh),
    E("unary_relu", b_unary, &u_relu),
    E("unary_leaky_relu", b_unary, &u_leaky_relu),
    E("unary_elu", b_unary, &u_elu),
    E("unary_gelu", b_unary, &u_gelu),
    E("unary_gelu_tanh", b_unary, &u_gelu_tanh),
    E("unary_silu", b_unary, &u_silu),
    E("unary_softplus", b_unary, &u_softplus),
    E("unary_erf", b_unary, &u_erf),
#endif
    E("unary_tan", b_unary, &u_tan),
    E("unary_asin", b_unary, &u_asin),
    E("unary_acos", b_unary, &u_acos),
    E("unary_atan", b_unary, &u_atan),
    E("unary_sinh", b_unary, &u_sinh),
    E("unary_cosh", b_unary, &u_cosh),
    E("unary_asinh", b_unary, &u_asinh),
    E("unary_acosh", b_unary, &u_acosh),
    E("unary_atanh", b_unary, &u_atanh),
    E("prod_1_keep", b_reduce, &r_prod_1_keep),
    E("prod_all", b_reduce, &r_prod_all),
    E("prod_zeros_1", b_reduce, &r_prod_1_keep_no),
    E("prod_zeros_0_keep", b_reduce, &r_prod_0_keep),
    E("prod_zeros_all", b_reduce, &r_prod_all),
    E("prod_zeros_02", b_reduce, &r_prod_02),
    E("prod_second_zeros", b_prod_second, &prod_axis1),
    E("prod_second_zeros_0", b_prod_second, &prod_axis0),
#if GOLDEN_HAVE_BINARY
    E("broadcast_binary", b_broadcast_binary, NULL),
    E("int_arith", b_int_arith, NULL),
    E("int_broadcast", b_int_broadcast, NULL),
    E("int_cast", b_int_cast, NULL),
    E("fmod_broadcast", b_fmod, NULL),
    E("pad_constant_last", b_pad, &p_constant_last),
    E("pad_constant_value_2d", b_pad, &p_constant_value_2d),
    E("pad_constant_crop", b_pad, &p_constant_crop),
    E("pad_reflect_last", b_pad, &p_reflect_last),
    E("pad_reflect_2d", b_pad, &p_reflect_2d),
    E("pad_reflect_crop", b_pad, &p_reflect_crop),
    E("pad_reflect_second", b_pad_reflect_second, NULL),
    E("scatter_add_axis1", b_scatter, &s_scatter_axis1),
    E("scatter_add_axis0_3d", b_scatter, &s_scatter_axis0),
    E("index_add_axis1", b_scatter, &s_index_axis1),
    E("index_add_axis0", b_scatter, &s_index_axis0),
    E("cumsum_last", b_cumsum, &c_last),
    E("cumsum_axis1_3d", b_cumsum, &c_axis1),
    E("cumsum_axis0", b_cumsum, &c_axis0),
    E("cumsum_second", b_cumsum_second, NULL),
#endif
#if GOLDEN_HAVE_REDUCE
    {"seed_b", "seed_b_nb_bce", b_seed_b_bce, NULL},
    E("reduce_max_2_keep", b_reduce, &r_max_2_keep),
    E("reduce_max_01", b_reduce, &r_max_01),
    E("reduce_min_0", b_reduce, &r_min_0),
    E("reduce_min_12_keep", b_reduce, &r_min_12_keep),
    E("reduce_logsumexp_1_keep", b_reduce, &r_lse_1_keep),
    E("reduce_logsumexp_02", b_reduce, &r_lse_02),
    E("argmax_m1_keep", b_arg, &a_argmax_m1_keep),
    E("argmax_0", b_arg, &a_argmax_0),
    E("argmin_1", b_arg, &a_argmin_1),
    E("argmin_m2_keep", b_arg, &a_argmin_m2_keep),
    E("argmax_3d_1", b_arg, &a_argmax_3d_1),
    E("argmin_3d_m3_keep", b_arg, &a_argmin_3d_m3_keep),
    E("softmax_m1", b_softmax, &s_softmax_m1),
    E("softmax_0", b_softmax, &s_softmax_0),
    E("log_softmax_m1", b_softmax, &s_log_softmax_m1),
    E("log_softmax_0", b_softmax, &s_log_softmax_0),
    E("log_softmax_large", b_softmax, &s_log_softmax_m1),
    E("mse_mean", b_loss, &l_mse_mean),
    E("mse_sum", b_loss, &l_mse_sum),
    E("mse_none", b_loss, &l_mse_none),
    E("bce_mean", b_loss, &l_bce_mean),
    E("bce_sum", b_loss, &l_bce_sum),
    E("bce_none", b_loss, &l_bce_none),
    E("bce_logits_mean", b_loss, &l_bcel_mean),
    E("bce_logits_sum", b_loss, &l_bcel_sum),
    E("bce_logits_none", b_loss, &l_bcel_none),
    E("cross_entropy_mean", b_loss, &l_ce_mean),
    E("cross_entropy_sum", b_loss, &l_ce_sum),
    E("cross_entropy_none", b_loss, &l_ce_none),
    E("nll_mean", b_loss, &l_nll_mean),
    E("nll_sum", b_loss, &l_nll_sum),
    E("nll_none", b_loss, &l_nll_none),
    E("cross_entropy_1d", b_loss, &l_ce_1d),
    E("bce_clamp_low", b_loss, &l_bce_clamp),
#endif
#if GOLDEN_HAVE_SHAPE
    E("gather_embedding", b_gather, NULL),
    E("one_hot", b_one_hot, NULL),
    E("take_along_dim", b_take_along_dim, NULL),
    E("slice_step", b_slice, NULL),
    E("concat_axis1", b_concat, NULL),
    E("matmul_batched", b_matmul, NULL),
    E("transpose_permute_reshape", b_transpose, NULL),
#endif
#if GOLDEN_HAVE_SHAPE && GOLDEN_HAVE_UNARY && GOLDEN_HAVE_REDUCE
    E("mlp", b_mlp, NULL),
#endif
#if GOLDEN_HAVE_SHAPE && GOLDEN_HAVE_UNARY
    E("hvp_net", b_hvp_net, NULL),
#endif
    E("layer_norm_last", b_norm, &n_ln_last),
    E("layer_norm_last2", b_norm, &n_ln_last2),
    E("layer_norm_plain", b_norm, &n_ln_plain),
    E("group_norm_3", b_norm, &n_gn_3),
    E("group_norm_1_flat", b_norm, &n_gn_1_flat),
    E("batch_norm_eval", b_norm, &n_bn_eval),
    E("batch_norm_train_4d", b_batch_norm_train, NULL),
    E("batch_norm_train_1d", b_batch_norm_train, NULL),
    E("layer_norm_second", b_layer_norm_second, NULL),
    E("conv2d_plain", b_conv, &c_plain),
    E("conv2d_stride_pad", b_conv, &c_stride_pad),
    E("conv2d_dilation2", b_conv, &c_dilation2),
    E("conv2d_groups2", b_conv, &c_groups2),
    E("conv2d_depthwise", b_conv, &c_depthwise),
    E("conv2d_same_even", b_conv, &c_same_even),
    E("conv2d_pointwise", b_conv, &c_pointwise),
    E("conv2d_stride3_big", b_conv, &c_stride3_big),
    E("conv_transpose2d_outpad", b_conv, &c_t_outpad),
    E("conv_transpose2d_groups_dil", b_conv, &c_t_groups_dil),
    E("conv1d_stride_pad", b_conv, &c_1d_stride_pad),
    E("conv1d_same_groups", b_conv, &c_1d_same_groups),
    E("conv2d_hvp", b_conv2d_hvp, NULL),
    E("max_pool_ties", b_pool, &p_max_ties),
    E("max_pool_overlap", b_pool, &p_max_overlap),
    E("max_pool_rect_rank3", b_pool, &p_max_rect),
    E("max_pool_pad_dil", b_pool, &p_max_pad_dil),
    E("max_pool_ceil", b_pool, &p_max_ceil),
    E("max_pool_ceil_pad", b_pool, &p_max_ceil_pad),
    E("max_pool_nan", b_pool, &p_max_ties),
    E("max_pool_neg_pad", b_pool, &p_max_neg_pad),
    E("avg_pool_basic", b_pool, &p_avg_basic),
    E("avg_pool_pad_incl", b_pool, &p_avg_pad_incl),
    E("avg_pool_pad_excl", b_pool, &p_avg_pad_excl),
    E("avg_pool_ceil_incl", b_pool, &p_avg_ceil_incl),
    E("avg_pool_ceil_excl", b_pool, &p_avg_ceil_excl),
    E("avg_pool_divisor", b_pool, &p_avg_divisor),
    E("avg_pool_rect_rank3", b_pool, &p_avg_rect),
    E("adaptive_avg_nondiv", b_pool, &p_adaptive_3_2),
    E("adaptive_avg_global", b_pool, &p_adaptive_1),
    E("adaptive_avg_div", b_pool, &p_adaptive_3_2),
    E("adaptive_avg_up_rank3", b_pool, &p_adaptive_3_7),
    E("max_pool_second", b_pool_second, &p_max_pad_second),
    E("avg_pool_second", b_pool_second, &p_avg_pad_second),
};

#define N_ENTRIES ((int)(sizeof entries / sizeof *entries))

/* Every golden case has a C builder, or is reported as pending (its op family has not
 * landed yet); a golden case nobody builds once every family is in is a failure. */
static void test_coverage(void **state)
{
    (void)state;
    int pending = 0;
    assert_non_null(golden);
    assert_true(golden->n >= 60);
    for (int i = 0; i < golden->n; i++) {
        int found = 0;
        for (int j = 0; j < N_ENTRIES && !found; j++)
            found = strcmp(entries[j].golden, golden->cases[i].name) == 0;
        if (!found) {
            print_message("pending (op family not merged yet): %s\n", golden->cases[i].name);
            pending++;
        }
    }
    if (GOLDEN_HAVE_UNARY && GOLDEN_HAVE_BINARY && GOLDEN_HAVE_REDUCE && GOLDEN_HAVE_SHAPE)
        assert_int_equal(pending, 0);
}

/* The seed's numbers as the tutorial prints them, straight from the file. */
static void test_seed_numbers(void **state)
{
    (void)state;
    const gd_case *b = gd_case_find(golden, "seed_b");
    assert_non_null(b);
    assert_true(fabs(gd_array_find(b, "loss")->values[0] - 6.7012) < 5e-5);
    assert_true(fabs(gd_array_find(b, "dloss_dw")->values[0] - 6.6918) < 5e-5);
    assert_true(fabs(gd_array_find(b, "dloss_db")->values[0] - 0.9988) < 5e-5);
}

static int setup(void **state)
{
    (void)state;
    golden = gd_load(NABLA_TEST_DATA "/golden.txt");
    return golden ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    gd_free(golden);
    return 0;
}

int main(void)
{
    struct CMUnitTest tests[N_ENTRIES + 2];
    for (int i = 0; i < N_ENTRIES; i++) {
        struct CMUnitTest t = {entries[i].label, run_entry, NULL, NULL, (void *)&entries[i]};
        tests[i] = t;
    }
    struct CMUnitTest cov = cmocka_unit_test(test_coverage);
    struct CMUnitTest seed = cmocka_unit_test(test_seed_numbers);
    tests[N_ENTRIES] = cov;
    tests[N_ENTRIES + 1] = seed;
    return _cmocka_run_group_tests("golden", tests, N_ENTRIES + 2, setup, teardown);
}
