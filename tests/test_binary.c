/* test_binary.c — values and gradients of the binary ops, comparisons, where and clamp
 * against numbers computed with PyTorch 1.13 (torch.add ... torch.clamp, .backward()),
 * including PyTorch's conventions at ties, bounds, NaN and pow's special points, in f64
 * and f32; and the shape of the generated C. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "nabla.h"

typedef nb_node *(*binary_fn)(nb_graph *, nb_node *, nb_node *);

/* Equal within rel (absolute near 0), NaN equal to NaN, infinities equal by sign. */
static int same(double got, double want, double rel)
{
    if (isnan(want))
        return isnan(got);
    if (isinf(want))
        return got == want;
    return fabs(got - want) <= rel * fmax(1.0, fabs(want));
}

static double value_at(const nb_program *p, int out, int64_t i)
{
    const void *v = nb_program_output(p, out);
    switch (nb_program_output_dtype(p, out)) {
    case NB_F64: return ((const double *)v)[i];
    case NB_F32: return ((const float *)v)[i];
    case NB_I32: return ((const int32_t *)v)[i];
    default: return ((const unsigned char *)v)[i];
    }
}

static void expect_output(const nb_program *p, int out, const double *want, int64_t n, double rel,
                          const char *what)
{
    assert_int_equal(nb_program_output_numel(p, out), n);
    for (int64_t i = 0; i < n; i++) {
        double got = value_at(p, out, i);
        if (!same(got, want[i], rel))
            fail_msg("%s: output %d element %lld is %.17g, PyTorch gives %.17g", what, out,
                     (long long)i, got, want[i]);
    }
}

/* Converts n doubles to dt in buf (large enough for n doubles). */
static const void *as_dtype(nb_dtype dt, const double *v, int n, void *buf)
{
    for (int i = 0; i < n; i++) {
        if (dt == NB_F32)
            ((float *)buf)[i] = (float)v[i];
        else if (dt == NB_I32)
            ((int32_t *)buf)[i] = (int32_t)v[i];
        else if (dt == NB_BOOL)
            ((unsigned char *)buf)[i] = v[i] != 0;
        else
            ((double *)buf)[i] = v[i];
    }
    return buf;
}

/* ---- y = op(A[2,3], B[3]), s = sum(y), ds/dA, ds/dB ----------------------------------- */

static const double A[6] = {-1.5, 0.0, 2.0, 0.5, 3.0, -2.0};
static const double B[3] = {2.0, 0.5, -2.0}; /* B[2] ties A[1][2] */

typedef struct binary_ref {
    const char *name;
    binary_fn fn;
    double y[6], ga[6], gb[3];
} binary_ref;

static const binary_ref binary_refs[] = {
    {"add", nb_add, {0.5, 0.5, 0.0, 2.5, 3.5, -4.0}, {1, 1, 1, 1, 1, 1}, {2.0, 2.0, 2.0}},
    {"sub", nb_sub, {-3.5, -0.5, 4.0, -1.5, 2.5, 0.0}, {1, 1, 1, 1, 1, 1}, {-2.0, -2.0, -2.0}},
    {"mul",
     nb_mul,
     {-3.0, 0.0, -4.0, 1.0, 1.5, 4.0},
     {2.0, 0.5, -2.0, 2.0, 0.5, -2.0},
     {-1.0, 3.0, 0.0}},
    {"div",
     nb_div,
     {-0.75, 0.0, -1.0, 0.25, 6.0, 1.0},
     {0.5, 2.0, -0.5, 0.5, 2.0, -0.5},
     {0.25, -12.0, 0.0}},
    {"pow",
     nb_pow,
     {2.25, 0.0, 0.25, 0.25, 1.7320508075688772, 0.25},
     {-3.0, INFINITY, -0.25, 1.0, 0.28867513459481287, 0.25},
     {NAN, 1.902852301792692, NAN}},
    {"maximum",
     nb_maximum,
     {2.0, 0.5, 2.0, 2.0, 3.0, -2.0},
     {0.0, 0.0, 1.0, 0.0, 1.0, 0.5},
     {2.0, 1.0, 0.5}},
    {"minimum",
     nb_minimum,
     {-1.5, 0.0, -2.0, 0.5, 0.5, -2.0},
     {1.0, 1.0, 0.0, 1.0, 0.0, 0.5},
     {0.0, 1.0, 1.5}},
};

static void check_binary_ref(const binary_ref *r, nb_dtype dt)
{
    const int64_t sa[2] = {2, 3}, sb[1] = {3};
    double buf_a[6], buf_b[3];
    nb_graph *g = nb_graph_new();
    nb_node *a = nb_input(g, "a", dt, 2, sa);
    nb_node *b = nb_input(g, "b", dt, 1, sb);
    nb_node *y = r->fn(g, a, b);
    nb_node *xs[2] = {a, b}, *gr[2];
    assert_int_equal(nb_grad(g, nb_sum(g, y, NULL, 0, 0), xs, 2, gr), 0);
    nb_node *outs[3] = {y, gr[0], gr[1]};
    nb_compile_options o = {.outputs = outs, .n_outputs = 3};
    nb_program *p = nb_compile(g, &o);
    if (!p)
        fail_msg("%s: %s", r->name, nb_graph_error(g));
    assert_int_equal(nb_program_bind(p, "a", as_dtype(dt, A, 6, buf_a)), 0);
    assert_int_equal(nb_program_bind(p, "b", as_dtype(dt, B, 3, buf_b)), 0);
    assert_int_equal(nb_program_run(p), 0);
    double rel = dt == NB_F32 ? 1e-6 : 1e-14;
    expect_output(p, 0, r->y, 6, rel, r->name);
    expect_output(p, 1, r->ga, 6, rel, r->name);
    expect_output(p, 2, r->gb, 3, rel, r->name);
    nb_program_free(p);
    nb_graph_free(g);
}

static void test_binary_values_and_grads(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof binary_refs / sizeof *binary_refs; i++) {
        check_binary_ref(&binary_refs[i], NB_F64);
        check_binary_ref(&binary_refs[i], NB_F32);
    }
}

/* Builds y = op(a, b) of n elements each, with ds/da and ds/db of s = sum(y); runs it on
 * va, vb (f64) and compares with the references (NULL: not checked). */
static void check_pointwise(binary_fn fn, const char *what, int n, const double *va,
                            const double *vb, const double *y, const double *ga, const double *gb)
{
    const int64_t shape[1] = {n};
    nb_graph *g = nb_graph_new();
    nb_node *a = nb_input(g, "a", NB_F64, 1, shape);
    nb_node *b = nb_input(g, "b", NB_F64, 1, shape);
    nb_node *out = fn(g, a, b);
    nb_node *xs[2] = {a, b}, *gr[2];
    assert_int_equal(nb_grad(g, nb_sum(g, out, NULL, 0, 0), xs, 2, gr), 0);
    nb_node *outs[3] = {out, gr[0], gr[1]};
    nb_compile_options o = {.outputs = outs, .n_outputs = 3};
    nb_program *p = nb_compile(g, &o);
    if (!p)
        fail_msg("%s: %s", what, nb_graph_error(g));
    nb_program_bind(p, "a", va);
    nb_program_bind(p, "b", vb);
    assert_int_equal(nb_program_run(p), 0);
    expect_output(p, 0, y, n, 1e-15, what);
    if (ga)
        expect_output(p, 1, ga, n, 1e-15, what);
    if (gb)
        expect_output(p, 2, gb, n, 1e-15, what);
    nb_program_free(p);
    nb_graph_free(g);
}

/* torch.pow at 0 and at negative bases: d/da is 0 where b == 0; d/db is 0 where
 * a == 0 and b >= 0, else y log(a) (NaN for a < 0, -inf at 0^-1). */
static void test_pow_special_points(void **state)
{
    (void)state;
    const double a[9] = {-2.0, -2.0, 0.0, 0.0, 0.0, 0.0, 2.0, -2.0, 0.0};
    const double b[9] = {2.0, 0.5, 2.0, 0.0, -1.0, 0.5, 0.5, 3.0, 1.0};
    const double y[9] = {4.0, NAN, 0.0, 1.0, INFINITY, 0.0, 1.4142135623730951, -8.0, 0.0};
    const double ga[9] = {-4.0, NAN, 0.0, 0.0, -INFINITY, INFINITY, 0.35355339059327373, 12.0, 1.0};
    const double gb[9] = {NAN, NAN, 0.0, 0.0, -INFINITY, 0.0, 0.9802581434685472, NAN, 0.0};
    check_pointwise(nb_pow, "pow", 9, a, b, y, ga, gb);
}

/* torch.maximum/minimum propagate NaN from either side, and both operands get the
 * full gradient there (neither comparison holds). */
static void test_extremum_nan(void **state)
{
    (void)state;
    const double a[2] = {NAN, 1.0}, b[2] = {1.0, NAN};
    const double y[2] = {NAN, NAN}, ones[2] = {1.0, 1.0};
    check_pointwise(nb_maximum, "maximum", 2, a, b, y, ones, ones);
    check_pointwise(nb_minimum, "minimum", 2, a, b, y, ones, ones);
}

/* d/da of sum(d/da sum(maximum(a, b)^2)) at a = [1, 2], b = [1, 1]: torch gives the
 * first gradient [1, 4] and the second [0.5, 2] (the tie's half, taken twice). */
static void test_maximum_second_order_at_tie(void **state)
{
    (void)state;
    const int64_t shape[1] = {2};
    const double va[2] = {1.0, 2.0}, vb[2] = {1.0, 1.0};
    const double g1[2] = {1.0, 4.0}, g2[2] = {0.5, 2.0};
    nb_graph *g = nb_graph_new();
    nb_node *a = nb_input(g, "a", NB_F64, 1, shape);
    nb_node *b = nb_input(g, "b", NB_F64, 1, shape);
    nb_node *m = nb_maximum(g, a, b);
    nb_node *ga, *gga;
    assert_int_equal(nb_grad(g, nb_sum(g, nb_mul(g, m, m), NULL, 0, 0), &a, 1, &ga), 0);
    assert_int_equal(nb_grad(g, nb_sum(g, ga, NULL, 0, 0), &a, 1, &gga), 0);
    nb_node *outs[2] = {ga, gga};
    nb_compile_options o = {.outputs = outs, .n_outputs = 2};
    nb_program *p = nb_compile(g, &o);
    assert_non_null(p);
    nb_program_bind(p, "a", va);
    nb_program_bind(p, "b", vb);
    assert_int_equal(nb_program_run(p), 0);
    expect_output(p, 0, g1, 2, 1e-15, "maximum");
    expect_output(p, 1, g2, 2, 1e-15, "maximum");
    nb_program_free(p);
    nb_graph_free(g);
}

/* Compiles y = clamp(x, lo, hi) with dy/dx (seed 1) for x of n elements in dt. */
static void check_clamp(nb_dtype dt, double lo, double hi, int n, const double *x, const double *y,
                        const double *gx)
{
    const int64_t shape[1] = {n};
    double buf[8];
    nb_graph *g = nb_graph_new();
    nb_node *in = nb_input(g, "x", dt, 1, shape);
    nb_node *c = nb_clamp(g, in, lo, hi);
    nb_node *gr;
    assert_int_equal(nb_grad(g, nb_sum(g, c, NULL, 0, 0), &in, 1, &gr), 0);
    nb_node *outs[2] = {c, gr};
    nb_compile_options o = {.outputs = outs, .n_outputs = 2};
    nb_program *p = nb_compile(g, &o);
    if (!p)
        fail_msg("clamp: %s", nb_graph_error(g));
    nb_program_bind(p, "x", as_dtype(dt, x, n, buf));
    assert_int_equal(nb_program_run(p), 0);
    expect_output(p, 0, y, n, 1e-15, "clamp");
    expect_output(p, 1, gx, n, 1e-15, "clamp");
    nb_program_free(p);
    nb_graph_free(g);
}

/* torch.clamp passes the gradient at both bounds (lo <= x <= hi), gives 0 at NaN and
 * keeps NaN; lo > hi makes every element hi with no gradient; an infinite bound
 * clamps nothing on its side, and a NaN x still gets no gradient. */
static void test_clamp_conventions(void **state)
{
    (void)state;
    const double x[6] = {-1.0, 0.0, 0.5, 1.0, 2.0, NAN};
    const double y[6] = {0.0, 0.0, 0.5, 1.0, 1.0, NAN};
    const double gx[6] = {0.0, 1.0, 1.0, 1.0, 0.0, 0.0};
    const double crossed_y[6] = {0.0, 0.0, 0.0, 0.0, 0.0, NAN}, zero[6] = {0};
    const double same_y[5] = {0.5, 0.5, 0.5, 0.5, 0.5};
    const double same_g[5] = {0.0, 0.0, 1.0, 0.0, 0.0};
    const double upper_y[6] = {-1.0, 0.0, 0.5, 1.0, 1.0, NAN};
    const double upper_g[6] = {1.0, 1.0, 1.0, 1.0, 0.0, 0.0};
    const double lower_y[6] = {0.0, 0.0, 0.5, 1.0, 2.0, NAN};
    const double lower_g[6] = {0.0, 1.0, 1.0, 1.0, 1.0, 0.0};
    const double open_g[6] = {1.0, 1.0, 1.0, 1.0, 1.0, 0.0};
    for (int d = 0; d < 2; d++) {
        nb_dtype dt = d ? NB_F32 : NB_F64;
        check_clamp(dt, 0.0, 1.0, 6, x, y, gx);
        check_clamp(dt, 1.0, 0.0, 6, x, crossed_y, zero);
        check_clamp(dt, 0.5, 0.5, 5, x, same_y, same_g);
        check_clamp(dt, -INFINITY, 1.0, 6, x, upper_y, upper_g);
        check_clamp(dt, 0.0, INFINITY, 6, x, lower_y, lower_g);
        check_clamp(dt, -INFINITY, INFINITY, 6, x, x, open_g);
    }
}

/* Two clamps of one x with different bounds stay two nodes through the compile-time
 * rewrite (their bounds are attributes), and both gradients pass at the bounds. */
static void test_clamp_two_bounds(void **state)
{
    (void)state;
    const int64_t shape[1] = {4};
    const double x[4] = {-1.0, 0.0, 0.5, 1.0};
    const double y[4] = {-1.0, 0.0, 0.75, 1.25}; /* clamp(x,0,1) + clamp(x,-1,0.25) */
    const double gx[4] = {1.0, 2.0, 1.0, 1.0};
    nb_graph *g = nb_graph_new();
    nb_node *in = nb_input(g, "x", NB_F64, 1, shape);
    nb_node *sum = nb_add(g, nb_clamp(g, in, 0.0, 1.0), nb_clamp(g, in, -1.0, 0.25));
    nb_node *gr;
    assert_int_equal(nb_grad(g, nb_sum(g, sum, NULL, 0, 0), &in, 1, &gr), 0);
    nb_node *outs[2] = {sum, gr};
    nb_compile_options o = {.outputs = outs, .n_outputs = 2};
    nb_program *p = nb_compile(g, &o);
    assert_non_null(p);
    nb_program_bind(p, "x", x);
    assert_int_equal(nb_program_run(p), 0);
    expect_output(p, 0, y, 4, 0.0, "clamp");
    expect_output(p, 1, gx, 4, 0.0, "clamp");
    nb_program_free(p);
    nb_graph_free(g);
}

/* Comparisons of f64, f32 and i32 operands give bool 0/1 masks (torch.eq ... ge). */
static void test_comparisons(void **state)
{
    (void)state;
    static const binary_fn fns[6] = {nb_eq, nb_ne, nb_lt, nb_le, nb_gt, nb_ge};
    static const double want[6][6] = {
        {0, 0, 0, 0, 0, 1}, {1, 1, 1, 1, 1, 0}, {1, 1, 0, 1, 0, 0},
        {1, 1, 0, 1, 0, 1}, {0, 0, 1, 0, 1, 0}, {0, 0, 1, 0, 1, 1},
    };
    /* Integer-valued operands with the same order as A, B for the i32 run. */
    static const double ai[6] = {-3, 0, 4, 1, 6, -4}, bi[3] = {4, 1, -4};
    const nb_dtype dts[3] = {NB_F64, NB_F32, NB_I32};
    const int64_t sa[2] = {2, 3}, sb[1] = {3};
    for (int d = 0; d < 3; d++) {
        double buf_a[6], buf_b[3];
        nb_graph *g = nb_graph_new();
        nb_node *a = nb_input(g, "a", dts[d], 2, sa);
        nb_node *b = nb_input(g, "b", dts[d], 1, sb);
        nb_node *outs[6];
        for (int k = 0; k < 6; k++) {
            outs[k] = fns[k](g, a, b);
            assert_int_equal(nb_node_dtype(outs[k]), NB_BOOL);
        }
        nb_compile_options o = {.outputs = outs, .n_outputs = 6};
        nb_program *p = nb_compile(g, &o);
        if (!p)
            fail_msg("compare: %s", nb_graph_error(g));
        nb_program_bind(p, "a", as_dtype(dts[d], dts[d] == NB_I32 ? ai : A, 6, buf_a));
        nb_program_bind(p, "b", as_dtype(dts[d], dts[d] == NB_I32 ? bi : B, 3, buf_b));
        assert_int_equal(nb_program_run(p), 0);
        for (int k = 0; k < 6; k++)
            expect_output(p, k, want[k], 6, 0.0, "compare");
        nb_program_free(p);
        nb_graph_free(g);
    }
}

/* torch.where(m[1,3], a[2,1], b[]) and its gradients: a gets 2 per row (two true
 * columns), b gets 2 (one false column, two rows). */
static void test_where_broadcast(void **state)
{
    (void)state;
    const int64_t sm[2] = {1, 3}, sa[2] = {2, 1};
    const unsigned char m[3] = {1, 0, 1};
    const double a[2] = {1.0, 2.0}, b = 5.0;
    const double y[6] = {1.0, 5.0, 1.0, 2.0, 5.0, 2.0}, ga[2] = {2.0, 2.0}, gb[1] = {2.0};
    nb_graph *g = nb_graph_new();
    nb_node *nm = nb_input(g, "m", NB_BOOL, 2, sm);
    nb_node *na = nb_input(g, "a", NB_F64, 2, sa);
    nb_node *nbb = nb_input(g, "b", NB_F64, 0, NULL);
    nb_node *w = nb_where(g, nm, na, nbb);
    nb_node *xs[2] = {na, nbb}, *gr[2];
    assert_int_equal(nb_grad(g, nb_sum(g, w, NULL, 0, 0), xs, 2, gr), 0);
    nb_node *outs[3] = {w, gr[0], gr[1]};
    nb_compile_options o = {.outputs = outs, .n_outputs = 3};
    nb_program *p = nb_compile(g, &o);
    assert_non_null(p);
    nb_program_bind(p, "m", m);
    nb_program_bind(p, "a", a);
    nb_program_bind(p, "b", &b);
    assert_int_equal(nb_program_run(p), 0);
    expect_output(p, 0, y, 6, 0.0, "where");
    expect_output(p, 1, ga, 2, 0.0, "where");
    expect_output(p, 2, gb, 1, 0.0, "where");
    nb_program_free(p);
    nb_graph_free(g);
}

/* where on i32 values selects integers (labels) as well as floats. */
static void test_where_i32(void **state)
{
    (void)state;
    const int64_t s[1] = {4};
    const unsigned char m[4] = {1, 0, 0, 1};
    const int32_t a[4] = {1, 2, 3, 4}, b[4] = {-1, -2, -3, -4};
    const double want[4] = {1, -2, -3, 4};
    nb_graph *g = nb_graph_new();
    nb_node *w = nb_where(g, nb_input(g, "m", NB_BOOL, 1, s), nb_input(g, "a", NB_I32, 1, s),
                          nb_input(g, "b", NB_I32, 1, s));
    assert_int_equal(nb_node_dtype(w), NB_I32);
    nb_compile_options o = {.outputs = &w, .n_outputs = 1};
    nb_program *p = nb_compile(g, &o);
    assert_non_null(p);
    nb_program_bind(p, "m", m);
    nb_program_bind(p, "a", a);
    nb_program_bind(p, "b", b);
    assert_int_equal(nb_program_run(p), 0);
    expect_output(p, 0, want, 4, 0.0, "where");
    nb_program_free(p);
    nb_graph_free(g);
}

/* The generated statements (each a single expression, so they fuse and nest): comparisons
 * store unsigned char, where is a ternary, clamp's f32 bounds carry the f suffix, pow
 * calls powf in f32, maximum keeps NaN, clamp writes only bounds a float can hold. */
static void test_generated_source(void **state)
{
    (void)state;
    const int64_t s[1] = {4};
    nb_graph *g = nb_graph_new();
    nb_node *a = nb_input(g, "a", NB_F32, 1, s);
    nb_node *b = nb_input(g, "b", NB_F32, 1, s);
    nb_node *outs[5] = {nb_where(g, nb_lt(g, a, b), a, b), nb_clamp(g, a, -0.5, 0.25),
                        nb_pow(g, a, b), nb_maximum(g, a, b), nb_clamp(g, b, 1.0, -1.0)};
    nb_compile_options o = {.outputs = outs, .n_outputs = 5};
    nb_program *p = nb_compile(g, &o);
    assert_non_null(p);
    const char *src = nb_program_source(p);
    /* The comparison is read once, by where: it is written inside where's statement. */
    assert_non_null(strstr(src, "= ((unsigned char)(v0 < v1)) ? v0 : v1;"));
    assert_non_null(strstr(src, " ? v0 : v1;"));
    assert_non_null(strstr(src, "= v0 < -0.5f ? -0.5f : (v0 > 0.25f ? 0.25f : v0);"));
    assert_non_null(strstr(src, "= powf(v0, v1);"));
    assert_non_null(strstr(src, "float powf(float, float);"));
    assert_non_null(strstr(src, "= (v0 > v1 || v0 != v0) ? v0 : v1;"));
    assert_non_null(strstr(src, "= v0 != v0 ? v0 : -1.0f;"));
    nb_program_free(p);
    /* f32 bounds past FLT_MAX clamp nothing; no literal out of float range is written. */
    nb_node *wide = nb_clamp(g, a, -1e300, 1e300);
    o.outputs = &wide;
    o.n_outputs = 1;
    p = nb_compile(g, &o);
    assert_non_null(p);
    assert_null(strstr(nb_program_source(p), "e+300"));
    nb_program_free(p);
    nb_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binary_values_and_grads),
        cmocka_unit_test(test_pow_special_points),
        cmocka_unit_test(test_extremum_nan),
        cmocka_unit_test(test_maximum_second_order_at_tie),
        cmocka_unit_test(test_clamp_conventions),
        cmocka_unit_test(test_clamp_two_bounds),
        cmocka_unit_test(test_comparisons),
        cmocka_unit_test(test_where_broadcast),
        cmocka_unit_test(test_where_i32),
        cmocka_unit_test(test_generated_source),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
