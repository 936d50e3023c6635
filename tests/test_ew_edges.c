/* test_ew_edges.c — expression emitters where C's syntax can bite: minus signs meeting
 * (a negation of a negation, of a negative literal, a subtraction of one), comparisons
 * (unsigned char) fed into arithmetic, where and clamp over broadcast operands, a value
 * read by several members of one fused loop, and literal edge values (subnormals, the
 * largest finite, -0, integers past 2^53) read back by the C compilers themselves. Each
 * runs on tcc and on cc and is checked against loops written here. Last, the same graph
 * built twice and compiled twice gives the same bytes. */
#include <float.h>
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
#include "nabla.h"
#include "tmpdir.h"

static nb_program *compile(nb_graph *g, nb_node **outs, int n, nb_backend backend)
{
    if (nb_graph_error(g))
        fail_msg("build: %s", nb_graph_error(g));
    /* Exact IEEE subnormals: the edge values include them, and the expected values
     * are IEEE arithmetic's (under the default flush they read back as 0). */
    nb_compile_options opt = {
        .outputs = outs, .n_outputs = n, .backend = backend, .denormals = NB_DENORMALS_IEEE};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(g));
    return p;
}

static void run(nb_program *p)
{
    if (nb_program_run(p) != 0)
        fail_msg("run: %s", nb_program_error(p));
}

static const nb_backend backends[] = {NB_BACKEND_TCC, NB_BACKEND_CC};
#define N_BACKENDS (sizeof backends / sizeof backends[0])

/* -(-x), -(-2), x - (-y), x - -1.5 and -(x - y) in one fused loop; each value exact. */
static void test_minus_signs(void **state)
{
    (void)state;
    int64_t s4 = 4;
    static const float xv[4] = {1.5f, -2.0f, 0.0f, 3.25f}, yv[4] = {-0.5f, 4.0f, -1.0f, 2.0f};
    for (size_t b = 0; b < N_BACKENDS; b++) {
        nb_graph *g = nb_graph_new();
        nb_node *x = nb_input(g, "x", NB_F32, 1, &s4), *y = nb_input(g, "y", NB_F32, 1, &s4);
        nb_node *a = nb_neg(g, nb_neg(g, x));
        nb_node *c = nb_neg(g, nb_scalar(g, NB_F32, -2.0));
        nb_node *d = nb_sub(g, x, nb_neg(g, y));
        nb_node *e = nb_sub(g, x, nb_scalar(g, NB_F32, -1.5));
        nb_node *f = nb_neg(g, nb_sub(g, x, y));
        nb_node *r = nb_add(g, nb_add(g, nb_mul(g, a, c), nb_mul(g, d, e)), f);
        nb_program *p = compile(g, &r, 1, backends[b]);
        nb_program_bind(p, "x", xv);
        nb_program_bind(p, "y", yv);
        run(p);
        const float *out = nb_program_output(p, 0);
        for (int i = 0; i < 4; i++) {
            /* x * 2 + (x + y) * (x + 1.5) - (x - y), all exact in float */
            float want = xv[i] * 2 + (xv[i] + yv[i]) * (xv[i] + 1.5f) - (xv[i] - yv[i]);
            if (out[i] != want)
                fail_msg("backend %d, element %d: %g, expected %g", (int)backends[b], i,
                         (double)out[i], (double)want);
        }
        nb_program_free(p);
        nb_graph_free(g);
    }
}

/* cast(a < b) * 3 + cast(a >= 0) - where(a > b, clamp(b, -1, 0.5), a) with a[3,1] and
 * b[1,4] broadcast to [3,4]: comparisons give 0 or 1 in arithmetic, and the where's
 * branches read a column and a row. */
static void test_comparisons_where_clamp_broadcast(void **state)
{
    (void)state;
    int64_t as[2] = {3, 1}, bs[2] = {1, 4};
    static const float av[3] = {-0.75f, 0.25f, 2.0f}, bv[4] = {-2.0f, 0.25f, 0.5f, 3.0f};
    for (size_t k = 0; k < N_BACKENDS; k++) {
        nb_graph *g = nb_graph_new();
        nb_node *a = nb_input(g, "a", NB_F32, 2, as), *b = nb_input(g, "b", NB_F32, 2, bs);
        nb_node *lt = nb_cast(g, nb_lt(g, a, b), NB_F32);
        nb_node *ge = nb_cast(g, nb_ge(g, a, nb_scalar(g, NB_F32, 0)), NB_F32);
        nb_node *w = nb_where(g, nb_gt(g, a, b), nb_clamp(g, b, -1, 0.5), a);
        nb_node *r = nb_sub(g, nb_add(g, nb_mul(g, lt, nb_scalar(g, NB_F32, 3)), ge), w);
        nb_program *p = compile(g, &r, 1, backends[k]);
        nb_program_bind(p, "a", av);
        nb_program_bind(p, "b", bv);
        run(p);
        const float *out = nb_program_output(p, 0);
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++) {
                float x = av[i], y = bv[j];
                float cl = y < -1 ? -1 : (y > 0.5f ? 0.5f : y);
                float want = (x < y) * 3.0f + (x >= 0) - (x > y ? cl : x);
                if (out[i * 4 + j] != want)
                    fail_msg("backend %d, [%d,%d]: %g, expected %g", (int)backends[k], i, j,
                             (double)out[i * 4 + j], (double)want);
            }
        nb_program_free(p);
        nb_graph_free(g);
    }
}

/* u = x * x - 1 is read by sign, maximum, where (twice) and square in one loop: each
 * must see u, not the text of u with another operand spliced in. */
static void test_value_read_by_many(void **state)
{
    (void)state;
    int64_t s6 = 6;
    static const float xv[6] = {-2.0f, -1.0f, -0.5f, 0.0f, 1.0f, 1.5f};
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 1, &s6);
    nb_node *u = nb_sub(g, nb_mul(g, x, x), nb_scalar(g, NB_F32, 1));
    nb_node *s = nb_sign(g, u);
    nb_node *m = nb_maximum(g, u, nb_neg(g, x));
    nb_node *w = nb_where(g, nb_gt(g, u, nb_scalar(g, NB_F32, 0)), u, nb_square(g, u));
    nb_node *r = nb_add(g, nb_add(g, s, m), w);
    nb_program *p = compile(g, &r, 1, NB_BACKEND_TCC);
    nb_program_bind(p, "x", xv);
    run(p);
    const float *out = nb_program_output(p, 0);
    for (int i = 0; i < 6; i++) {
        float uu = xv[i] * xv[i] - 1;
        float want = (uu > 0 ? 1.0f : (uu < 0 ? -1.0f : 0.0f)) + (uu > -xv[i] ? uu : -xv[i]) +
                     (uu > 0 ? uu : uu * uu);
        if (out[i] != want)
            fail_msg("element %d: %g, expected %g", i, (double)out[i], (double)want);
    }
    nb_program_free(p);
    nb_graph_free(g);
}

/* Constants at the edges of each float type, written as literals into code (a scalar
 * constant is inlined; x * c with c = 1 recovers the literal's value exactly): the
 * compilers read back every bit. f32: the smallest subnormal, a subnormal, the smallest
 * normal, the largest finite, -0 (1 / result = -inf), 2^24 + 2, 1e-5 and 9.99999975e-6
 * next to it; f64: 2^-1074, a subnormal, the largest finite, 2^53 + 2, 2^63, 1e23
 * (between two doubles) and 0.1. */
static void test_edge_literals(void **state)
{
    (void)state;
    static const float f32s[] = {0x1p-149f, 0x1.234p-140f,  FLT_MIN, FLT_MAX,
                                 -0.0f,     16777218.0f,    1e-5f,   9.99999975e-6f,
                                 -3.4e38f,  1.17549421e-38f};
    static const double f64s[] = {
        0x1p-1074, 0x1.23456789p-1050,     DBL_MAX, -0.0, 0x1p53 + 2, 0x1p63, 1e23, 0.1,
        -4.9e-324, 2.2250738585072009e-308};
    enum { NF = sizeof f32s / sizeof f32s[0], ND = sizeof f64s / sizeof f64s[0] };
    for (size_t k = 0; k < N_BACKENDS; k++) {
        int64_t s1 = 1;
        nb_graph *g = nb_graph_new();
        nb_node *one32 = nb_input(g, "one32", NB_F32, 1, &s1);
        nb_node *one64 = nb_input(g, "one64", NB_F64, 1, &s1);
        nb_node *outs[NF + ND];
        for (int i = 0; i < NF; i++)
            outs[i] = nb_mul(g, one32, nb_scalar(g, NB_F32, f32s[i]));
        for (int i = 0; i < ND; i++)
            outs[NF + i] = nb_mul(g, one64, nb_scalar(g, NB_F64, f64s[i]));
        nb_program *p = compile(g, outs, NF + ND, backends[k]);
        static const float o32 = 1.0f;
        static const double o64 = 1.0;
        nb_program_bind(p, "one32", &o32);
        nb_program_bind(p, "one64", &o64);
        run(p);
        for (int i = 0; i < NF; i++) {
            float got = *(const float *)nb_program_output(p, i);
            if (memcmp(&got, &f32s[i], sizeof got) != 0)
                fail_msg("backend %d: f32 %a read back as %a", (int)backends[k], (double)f32s[i],
                         (double)got);
        }
        for (int i = 0; i < ND; i++) {
            double got = *(const double *)nb_program_output(p, NF + i);
            if (memcmp(&got, &f64s[i], sizeof got) != 0)
                fail_msg("backend %d: f64 %a read back as %a", (int)backends[k], f64s[i], got);
        }
        nb_program_free(p);
        nb_graph_free(g);
    }
}

/* The reference of cg_lit: the fewest significant digits from 6 (f32) or 15 (f64) on
 * whose %g text reads back to the value, ".0" when the text has no point or exponent,
 * "f" for f32; an f32 text reads back through strtof, as a compiler reads "1e-45f". */
static void reference_lit(char *buf, size_t size, nb_dtype dt, double v)
{
    for (int digits = dt == NB_F32 ? 6 : 15; digits <= 17; digits++) {
        snprintf(buf, size, "%.*g", digits, v);
        if (dt == NB_F32 ? strtof(buf, NULL) == (float)v : strtod(buf, NULL) == v)
            break;
    }
    if (!strpbrk(buf, ".eE"))
        strcat(buf, ".0");
    if (dt == NB_F32)
        strcat(buf, "f");
}

/* Values the random sample of test_ew_expr rarely meets: subnormals of both types,
 * the largest finite ones, values one ulp around powers of ten, integers past 2^53,
 * against the C library. (A one-off run compared 24 million literals of random bit
 * patterns and of these kinds: none differed.) */
static void test_edge_literals_match_printf(void **state)
{
    (void)state;
    for (int k = -330; k <= 310; k++) {
        double p = pow(10.0, k);
        for (int step = -2; step <= 2; step++) {
            double v = p;
            if (v != 0 && isfinite(v))
                v = step < 0 ? nextafter(v, 0) : (step > 0 ? nextafter(v, INFINITY) : v);
            if (step == 2)
                v = nextafter(v, INFINITY);
            for (int sign = 0; sign < 2; sign++)
                for (int d = 0; d < 2; d++) {
                    nb_dtype dt = d ? NB_F64 : NB_F32;
                    double x = sign ? -v : v;
                    if (dt == NB_F32) {
                        float f = (float)x;
                        if (k >= -46 && k <= 38 && step)
                            f = nextafterf(f, step < 0 ? 0.0f : INFINITY);
                        x = f;
                    }
                    if (!isfinite(x) || x == 0)
                        continue;
                    char got[CG_LIT_MAX], want[64];
                    cg_lit(got, dt, x);
                    reference_lit(want, sizeof want, dt, x);
                    if (strcmp(got, want) != 0)
                        fail_msg("%a as %s: %s, expected %s", x, d ? "f64" : "f32", got, want);
                }
        }
    }
    static const double extra[] = {0x1p-1074,
                                   0x1.fffffffffffffp-1023,
                                   DBL_MAX,
                                   0x1p53,
                                   0x1p53 + 2,
                                   0x1p64,
                                   0x1.fffffffffffffp+63,
                                   0x1p-149,
                                   FLT_MAX,
                                   FLT_MIN,
                                   9007199254740993.0,
                                   123456789012345678.0};
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
        for (int d = 0; d < 2; d++) {
            nb_dtype dt = d ? NB_F64 : NB_F32;
            double x = dt == NB_F32 ? (double)(float)extra[i] : extra[i];
            char got[CG_LIT_MAX], want[64];
            if (!isfinite(x))
                continue;
            cg_lit(got, dt, x);
            reference_lit(want, sizeof want, dt, x);
            if (strcmp(got, want) != 0)
                fail_msg("%a as %s: %s, expected %s", x, d ? "f64" : "f32", got, want);
        }
}

/* cast(cast(m, f32), f64) over 1 to 24 elements, on tcc and on cc, where m = [[1]] @ x
 * is a result in the arena that a runtime kernel (gemm) wrote: each value rounded to
 * float and back. gcc 12's basic-block (SLP) vectorizer at -O2 and -O3 folds the
 * pair of vector conversions (double)(float) of a loop it unrolled into a copy, which
 * left most trip counts below 24 unrounded; the cc backend turns that vectorizer off
 * (runtime/rt_cc.c). */
static void test_round_trip_through_f32(void **state)
{
    (void)state;
    enum { MAX_N = 24 };
    double xv[MAX_N];
    static const double one = 1.0;
    for (int i = 0; i < MAX_N; i++)
        xv[i] = 0.1 + 0.01234567891 * i;
    for (size_t k = 0; k < N_BACKENDS; k++) {
        nb_graph *g = nb_graph_new();
        nb_node *outs[MAX_N];
        int64_t one_shape[2] = {1, 1};
        nb_node *a = nb_input(g, "one", NB_F64, 2, one_shape);
        for (int n = 1; n <= MAX_N; n++) {
            char name[16];
            int64_t shape[2] = {1, n};
            snprintf(name, sizeof name, "x%d", n);
            nb_node *m = nb_matmul(g, a, nb_input(g, name, NB_F64, 2, shape));
            outs[n - 1] = nb_cast(g, nb_cast(g, m, NB_F32), NB_F64);
        }
        nb_program *p = compile(g, outs, MAX_N, backends[k]);
        nb_program_bind(p, "one", &one);
        for (int n = 1; n <= MAX_N; n++) {
            char name[16];
            snprintf(name, sizeof name, "x%d", n);
            nb_program_bind(p, name, xv);
        }
        run(p);
        for (int n = 1; n <= MAX_N; n++) {
            const double *y = nb_program_output(p, n - 1);
            for (int i = 0; i < n; i++)
                if (y[i] != (double)(float)xv[i])
                    fail_msg("backend %d, %d elements, element %d: %a, expected %a",
                             (int)backends[k], n, i, y[i], (double)(float)xv[i]);
        }
        nb_program_free(p);
        nb_graph_free(g);
    }
}

/* A graph with fusion, views, a matmul of a transpose, reductions and an update,
 * built from scratch each time. */
static nb_graph *build_mixed(nb_node **out, nb_update *u)
{
    int64_t ws[2] = {3, 4}, xs[2] = {2, 4}, s12 = 12, start[2] = {1, 0}, stop[2] = {3, 4};
    int ax = 1;
    nb_graph *g = nb_graph_new();
    nb_node *w = nb_param(g, "w", NB_F32, 2, ws);
    nb_node *x = nb_input(g, "x", NB_F32, 2, xs);
    nb_node *h = nb_tanh(g, nb_matmul(g, x, nb_transpose(g, w)));
    nb_node *s = nb_slice(g, w, start, stop, NULL);
    nb_node *r = nb_add(g, nb_reshape(g, nb_exp(g, w), 1, &s12), nb_scalar(g, NB_F32, -0.25));
    nb_node *l = nb_add(g, nb_sum(g, nb_sigmoid(g, h), NULL, 0, 0),
                        nb_sum(g, nb_mul(g, s, nb_logsumexp(g, s, &ax, 1, 1)), NULL, 0, 0));
    l = nb_add(g, l, nb_max(g, r, NULL, 0, 0));
    nb_node *gw;
    if (nb_grad(g, l, &w, 1, &gw) != 0)
        fail_msg("grad: %s", nb_graph_error(g));
    *out = l;
    *u = (nb_update){w, nb_sub(g, w, nb_mul(g, gw, nb_scalar(g, NB_F32, 0.1)))};
    return g;
}

/* The same graph built twice, and each compiled twice, gives one source, byte for
 * byte, and one plan. */
static void test_deterministic_output(void **state)
{
    (void)state;
    char *first = NULL, *first_plan = NULL;
    for (int build = 0; build < 2; build++) {
        nb_node *l;
        nb_update u;
        nb_graph *g = build_mixed(&l, &u);
        for (int rep = 0; rep < 2; rep++) {
            nb_compile_options opt = {
                .outputs = &l, .n_outputs = 1, .updates = &u, .n_updates = 1, .keep_plan = 1};
            nb_program *p = nb_compile(g, &opt);
            if (!p)
                fail_msg("compile: %s", nb_graph_error(g));
            if (!first) {
                first = strdup(nb_program_source(p));
                first_plan = strdup(nb_program_plan(p));
                assert_true(first && first_plan);
            } else {
                assert_string_equal(nb_program_source(p), first);
                assert_string_equal(nb_program_plan(p), first_plan);
            }
            nb_program_free(p);
        }
        nb_graph_free(g);
    }
    free(first);
    free(first_plan);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minus_signs),
        cmocka_unit_test(test_comparisons_where_clamp_broadcast),
        cmocka_unit_test(test_value_read_by_many),
        cmocka_unit_test(test_edge_literals),
        cmocka_unit_test(test_edge_literals_match_printf),
        cmocka_unit_test(test_round_trip_through_f32),
        cmocka_unit_test(test_deterministic_output),
    };
    return cmocka_run_group_tests(tests, tu_cc_cache_setup, tu_cc_cache_teardown);
}
