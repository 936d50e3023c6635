/* test_intops.c — i32 arithmetic (add, sub, mul wrapping around in two's complement,
 * floor_div and remainder with floor semantics, comparisons) and casts between floats
 * and i32, against values PyTorch 1.13 printed (quoted at each table) and worked out by
 * hand, on the tcc and cc backends: broadcasting, a zero divisor failing the run,
 * INT_MIN // -1, NaN/inf/out-of-range casts, no gradient through integers, and the
 * builders' errors. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "graph_error.h"
#include "nabla.h"

#define I32_MAX INT32_MAX
#define I32_MIN INT32_MIN

static const nb_backend backends[2] = {NB_BACKEND_TCC, NB_BACKEND_CC};

/* Compiles outs of g on backend b, binds the inputs named names[0..n_in) to data[i]. */
static nb_program *compile(nb_graph *g, nb_node **outs, int n, nb_backend b)
{
    if (nb_graph_error(g))
        fail_msg("build: %s", nb_graph_error(g));
    nb_compile_options opt = {.outputs = outs, .n_outputs = n, .backend = b};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(g));
    return p;
}

static void run_ok(nb_program *p)
{
    if (nb_program_run(p) != 0)
        fail_msg("run: %s", nb_program_error(p));
}

static void expect_ints(const nb_program *p, int i, const int32_t *want, int n, const char *what)
{
    assert_int_equal(nb_program_output_dtype(p, i), NB_I32);
    const int32_t *v = nb_program_output(p, i);
    for (int k = 0; k < n; k++)
        if (v[k] != want[k])
            fail_msg("%s [%d] = %d, expected %d", what, k, v[k], want[k]);
}

/* ---- add, sub, mul --------------------------------------------------------------------- */

/* torch.tensor(a, dtype=torch.int32) + - * b, printed by PyTorch 1.13: overflow wraps
 * (INT_MAX + 1 = INT_MIN, INT_MIN * -1 = INT_MIN, 123456789 * 1000 mod 2^32). */
static const int32_t A6[6] = {I32_MAX, I32_MIN, 123456789, -46341, 65536, 7};
static const int32_t B6[6] = {1, -1, 1000, 46341, 65536, -9};
static const int32_t SUM6[6] = {I32_MIN, I32_MAX, 123457789, 0, 131072, -2};
static const int32_t DIFF6[6] = {2147483646, -2147483647, 123455789, -92682, 0, 16};
static const int32_t PROD6[6] = {I32_MAX, I32_MIN, -1097262584, 2147479015, 0, -63};

static void arith_values(nb_backend be)
{
    nb_graph *g = nb_graph_new();
    const int64_t s[1] = {6};
    nb_node *a = nb_input(g, "a", NB_I32, 1, s), *b = nb_input(g, "b", NB_I32, 1, s);
    nb_node *outs[] = {nb_add(g, a, b), nb_sub(g, a, b), nb_mul(g, a, b),
                       /* fused: (a + b) * b - a, each step wrapping */
                       nb_sub(g, nb_mul(g, nb_add(g, a, b), b), a)};
    assert_int_equal(nb_node_dtype(outs[0]), NB_I32);
    nb_program *p = compile(g, outs, 4, be);
    assert_int_equal(nb_program_bind(p, "a", A6), 0);
    assert_int_equal(nb_program_bind(p, "b", B6), 0);
    run_ok(p);
    expect_ints(p, 0, SUM6, 6, "add");
    expect_ints(p, 1, DIFF6, 6, "sub");
    expect_ints(p, 2, PROD6, 6, "mul");
    /* By hand, mod 2^32: INT_MIN * 1 - INT_MAX = 1; INT_MAX * -1 - INT_MIN = 1;
     * 123457789 * 1000 - 123456789 = 123334332211 = 28 * 2^32 + 3075247923 -> -1219719373;
     * 0 * 46341 + 46341 = 46341; 131072 * 65536 = 2^33 -> 0, - 65536; -2 * -9 - 7 = 11. */
    expect_ints(p, 3, (const int32_t[]){1, 1, -1219719373, 46341, -65536, 11}, 6, "fused");
    nb_program_free(p);
    nb_graph_free(g);
}

static void test_arith_values(void **state)
{
    (void)state;
    for (int b = 0; b < 2; b++)
        arith_values(backends[b]);
}

/* i32 operands broadcast as floats do, and i32 constants take part. */
static void test_arith_broadcast(void **state)
{
    (void)state;
    for (int be = 0; be < 2; be++) {
        nb_graph *g = nb_graph_new();
        nb_node *a = nb_input(g, "a", NB_I32, 2, (const int64_t[]){2, 3});
        nb_node *b = nb_input(g, "b", NB_I32, 1, (const int64_t[]){3});
        nb_node *k = nb_scalar(g, NB_I32, -2);
        nb_node *outs[] = {nb_sub(g, b, a), nb_mul(g, a, k),
                           nb_add(g, nb_reshape(g, b, 2, (const int64_t[]){3, 1}),
                                  nb_reshape(g, b, 2, (const int64_t[]){1, 3}))};
        nb_program *p = compile(g, outs, 3, backends[be]);
        const int32_t av[6] = {1, 2, 3, -4, -5, I32_MIN}, bv[3] = {10, 20, 30};
        assert_int_equal(nb_program_bind(p, "a", av), 0);
        assert_int_equal(nb_program_bind(p, "b", bv), 0);
        run_ok(p);
        expect_ints(p, 0, (const int32_t[]){9, 18, 27, 14, 25, -2147483618}, 6, "b - a");
        expect_ints(p, 1, (const int32_t[]){-2, -4, -6, 8, 10, 0}, 6, "a * -2");
        expect_ints(p, 2, (const int32_t[]){20, 30, 40, 30, 40, 50, 40, 50, 60}, 9, "outer sum");
        nb_program_free(p);
        nb_graph_free(g);
    }
}

/* ---- floor_div and remainder ----------------------------------------------------------- */

/* torch.div(a, b, rounding_mode="floor") and torch.remainder(a, b), PyTorch 1.13, int32;
 * INT_MIN // -1 crashes torch (SIGFPE): nabla's INT_MIN and 0 are by hand (two's
 * complement: -INT_MIN wraps to INT_MIN). */
static const int32_t DA[12] = {7,       -7,      7, -7, 0,           I32_MIN,
                               I32_MIN, I32_MAX, 5, -1, -2147483647, I32_MIN};
static const int32_t DB[12] = {2, 2, -2, -2, 3, -1, 1, -1, 7, 3, -1, 2};
static const int32_t DQ[12] = {3,       -4,          -4, 3,  0,       I32_MIN,
                               I32_MIN, -2147483647, 0,  -1, I32_MAX, -1073741824};
static const int32_t DR[12] = {1, 1, -1, -1, 0, 0, 0, 0, 5, 2, 0, 0};

static void test_floor_div_remainder(void **state)
{
    (void)state;
    for (int be = 0; be < 2; be++) {
        nb_graph *g = nb_graph_new();
        const int64_t s[1] = {12};
        nb_node *a = nb_input(g, "a", NB_I32, 1, s), *b = nb_input(g, "b", NB_I32, 1, s);
        nb_node *q = nb_floor_div(g, a, b), *r = nb_remainder(g, a, b);
        /* b * q + r == a, wrapping */
        nb_node *back = nb_add(g, nb_mul(g, b, q), r);
        nb_node *outs[] = {q, r, back};
        nb_program *p = compile(g, outs, 3, backends[be]);
        assert_int_equal(nb_program_bind(p, "a", DA), 0);
        assert_int_equal(nb_program_bind(p, "b", DB), 0);
        run_ok(p);
        expect_ints(p, 0, DQ, 12, "floor_div");
        expect_ints(p, 1, DR, 12, "remainder");
        expect_ints(p, 2, DA, 12, "b * q + r");
        nb_program_free(p);
        nb_graph_free(g);
    }
}

/* Broadcasting: a [2, 3] by b [3], by a scalar, and a [3, 1] by b [1, 2]. Python's // and
 * % give the same numbers as torch: [[7, -7, 8], [-9, 10, -11]] // [3, -3, 4] and % 3. */
static void test_division_broadcast(void **state)
{
    (void)state;
    for (int be = 0; be < 2; be++) {
        nb_graph *g = nb_graph_new();
        nb_node *a = nb_input(g, "a", NB_I32, 2, (const int64_t[]){2, 3});
        nb_node *b = nb_input(g, "b", NB_I32, 1, (const int64_t[]){3});
        nb_node *three = nb_scalar(g, NB_I32, 3);
        nb_node *col = nb_reshape(g, b, 2, (const int64_t[]){3, 1});
        nb_node *row =
            nb_slice(g, nb_reshape(g, b, 2, (const int64_t[]){1, 3}), (const int64_t[]){0, 1},
                     (const int64_t[]){1, 3}, (const int64_t[]){1, 1});
        nb_node *outs[] = {nb_floor_div(g, a, b), nb_remainder(g, a, three),
                           nb_floor_div(g, three, b), nb_remainder(g, col, row)};
        nb_program *p = compile(g, outs, 4, backends[be]);
        const int32_t av[6] = {7, -7, 8, -9, 10, -11}, bv[3] = {3, -3, 4};
        assert_int_equal(nb_program_bind(p, "a", av), 0);
        assert_int_equal(nb_program_bind(p, "b", bv), 0);
        run_ok(p);
        expect_ints(p, 0, (const int32_t[]){2, 2, 2, -3, -4, -3}, 6, "a // b");
        expect_ints(p, 1, (const int32_t[]){1, 2, 2, 0, 1, 1}, 6, "a % 3");
        expect_ints(p, 2, (const int32_t[]){1, -1, 0}, 3, "3 // b");
        /* [[3], [-3], [4]] % [[-3, 4]] */
        expect_ints(p, 3, (const int32_t[]){0, 3, 0, 1, -2, 0}, 6, "col % row");
        nb_program_free(p);
        nb_graph_free(g);
    }
}

/* A zero divisor fails the run naming the node (torch raises ZeroDivisionError), and
 * the program runs again once the data is good. */
static void test_zero_divisor(void **state)
{
    (void)state;
    for (int be = 0; be < 2; be++)
        for (int rem = 0; rem < 2; rem++) {
            nb_graph *g = nb_graph_new();
            const int64_t s[1] = {4};
            nb_node *a = nb_input(g, "a", NB_I32, 1, s), *b = nb_input(g, "b", NB_I32, 1, s);
            nb_node *y = rem ? nb_remainder(g, a, b) : nb_floor_div(g, a, b);
            nb_program *p = compile(g, &y, 1, backends[be]);
            const int32_t av[4] = {1, 2, 3, 4}, bad[4] = {1, 2, 0, 4}, good[4] = {1, 2, 2, 4};
            assert_int_equal(nb_program_bind(p, "a", av), 0);
            assert_int_equal(nb_program_bind(p, "b", bad), 0);
            assert_int_equal(nb_program_run(p), -1);
            const char *want =
                rem ? "(remainder): a divisor is zero" : "(floor_div): a divisor is zero";
            if (!strstr(nb_program_error(p), want))
                fail_msg("error '%s' lacks '%s'", nb_program_error(p), want);
            assert_int_equal(nb_program_bind(p, "b", good), 0);
            run_ok(p);
            expect_ints(p, 0, rem ? (const int32_t[]){0, 0, 1, 0} : (const int32_t[]){1, 1, 1, 1},
                        4, "after the failure");
            nb_program_free(p);
            nb_graph_free(g);
        }
}

/* ---- comparisons of i32 ---------------------------------------------------------------- */

/* eq, ne, lt, le, gt, ge of a = [INT_MIN, -1, 0, 5, INT_MAX] against the scalar 0 and
 * against b = [INT_MAX, -1, 1, 5, INT_MIN], by hand (no wrap: INT_MIN < INT_MAX). */
static void test_compare(void **state)
{
    (void)state;
    nb_node *(*const fns[6])(nb_graph *, nb_node *, nb_node *) = {nb_eq, nb_ne, nb_lt,
                                                                  nb_le, nb_gt, nb_ge};
    static const unsigned char want_b[6][5] = {
        {0, 1, 0, 1, 0}, {1, 0, 1, 0, 1}, {1, 0, 1, 0, 0},
        {1, 1, 1, 1, 0}, {0, 0, 0, 0, 1}, {0, 1, 0, 1, 1},
    };
    static const unsigned char want_0[6][5] = {
        {0, 0, 1, 0, 0}, {1, 1, 0, 1, 1}, {1, 1, 0, 0, 0},
        {1, 1, 1, 0, 0}, {0, 0, 0, 1, 1}, {0, 0, 1, 1, 1},
    };
    for (int be = 0; be < 2; be++) {
        nb_graph *g = nb_graph_new();
        const int64_t s[1] = {5};
        nb_node *a = nb_input(g, "a", NB_I32, 1, s), *b = nb_input(g, "b", NB_I32, 1, s);
        nb_node *zero = nb_scalar(g, NB_I32, 0);
        nb_node *outs[12];
        for (int f = 0; f < 6; f++) {
            outs[f] = fns[f](g, a, b);
            outs[6 + f] = fns[f](g, a, zero);
        }
        nb_program *p = compile(g, outs, 12, backends[be]);
        const int32_t av[5] = {I32_MIN, -1, 0, 5, I32_MAX}, bv[5] = {I32_MAX, -1, 1, 5, I32_MIN};
        assert_int_equal(nb_program_bind(p, "a", av), 0);
        assert_int_equal(nb_program_bind(p, "b", bv), 0);
        run_ok(p);
        for (int f = 0; f < 12; f++) {
            assert_int_equal(nb_program_output_dtype(p, f), NB_BOOL);
            const unsigned char *v = nb_program_output(p, f);
            const unsigned char *w = f < 6 ? want_b[f] : want_0[f - 6];
            for (int k = 0; k < 5; k++)
                if (v[k] != w[k])
                    fail_msg("comparison %d [%d] = %d, expected %d", f, k, v[k], w[k]);
        }
        nb_program_free(p);
        nb_graph_free(g);
    }
}

/* ---- casts ------------------------------------------------------------------------------ */

/* Float -> i32: x.to(torch.int32) truncates toward zero (PyTorch 1.13: 2.7 -> 2, -2.7 ->
 * -2, -0.5 -> 0, 2147483520 (an f32) -> 2147483520); where torch is
 * implementation-defined (NaN, infinities, out of range: INT_MIN on x86) nabla saturates
 * and sends NaN to 0. */
static void cast_to_int(nb_dtype dt)
{
    static const double x[] = {
        NAN, INFINITY, -INFINITY,   3e9,          -3e9,        2.7,          -2.7, -0.5,
        0.0, -0.0,     2147483520., -2147483648., 2147483648., -2147483904., 1e30, -1e30};
    static const double x64[] = {2147483647.9, -2147483648.9, -2147483649.0, 2147483647.0};
    static const int32_t want[] = {0, I32_MAX,    I32_MIN, I32_MAX, I32_MIN, 2,       -2,     0, 0,
                                   0, 2147483520, I32_MIN, I32_MAX, I32_MIN, I32_MAX, I32_MIN};
    static const int32_t want64[] = {I32_MAX, I32_MIN, I32_MIN, I32_MAX};
    enum { N = sizeof x / sizeof *x, N64 = sizeof x64 / sizeof *x64 };
    for (int be = 0; be < 2; be++) {
        nb_graph *g = nb_graph_new();
        int n = dt == NB_F64 ? N + N64 : N;
        nb_node *xn = nb_input(g, "x", dt, 1, (const int64_t[]){n});
        nb_node *y = nb_cast(g, xn, NB_I32);
        nb_program *p = compile(g, &y, 1, backends[be]);
        float xf[N + N64];
        double xd[N + N64];
        for (int i = 0; i < n; i++) {
            xd[i] = i < N ? x[i] : x64[i - N];
            xf[i] = (float)xd[i];
        }
        assert_int_equal(nb_program_bind(p, "x", dt == NB_F64 ? (const void *)xd : xf), 0);
        run_ok(p);
        expect_ints(p, 0, want, N, dt == NB_F64 ? "f64 -> i32" : "f32 -> i32");
        const int32_t *v = nb_program_output(p, 0);
        for (int i = N; i < n; i++)
            if (v[i] != want64[i - N])
                fail_msg("f64 -> i32 of %.17g = %d, expected %d", x64[i - N], v[i], want64[i - N]);
        nb_program_free(p);
        nb_graph_free(g);
    }
}

static void test_cast_to_int(void **state)
{
    (void)state;
    cast_to_int(NB_F32);
    cast_to_int(NB_F64);
}

/* i32 -> f32 rounds to nearest even past 2^24 (torch: 16777217 -> 16777216, INT_MAX ->
 * 2147483648); i32 -> f64 is exact; i32 -> i32 keeps the value. */
static void test_cast_from_int(void **state)
{
    (void)state;
    const int32_t x[5] = {16777217, 16777219, I32_MAX, I32_MIN, -3};
    for (int be = 0; be < 2; be++) {
        nb_graph *g = nb_graph_new();
        nb_node *xn = nb_input(g, "x", NB_I32, 1, (const int64_t[]){5});
        nb_node *outs[] = {nb_cast(g, xn, NB_F32), nb_cast(g, xn, NB_F64), nb_cast(g, xn, NB_I32)};
        nb_program *p = compile(g, outs, 3, backends[be]);
        assert_int_equal(nb_program_bind(p, "x", x), 0);
        run_ok(p);
        const float *f = nb_program_output(p, 0);
        const double *d = nb_program_output(p, 1);
        const float wf[5] = {16777216.f, 16777220.f, 2147483648.f, -2147483648.f, -3.f};
        for (int i = 0; i < 5; i++) {
            assert_true(f[i] == wf[i]);
            assert_true(d[i] == (double)x[i]);
        }
        expect_ints(p, 2, x, 5, "i32 -> i32");
        nb_program_free(p);
        nb_graph_free(g);
    }
}

/* ---- gradients -------------------------------------------------------------------------- */

/* Integers carry no gradient: a loss reaching x only through cast(x -> i32) arithmetic
 * has a zero gradient (torch: the int32 tensor has no grad_fn), and the float path
 * beside it keeps its own: d/dx [sum(x * x) + sum(float(int(x) * 3 // 2))] = 2x. */
static void test_no_gradient(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F64, 1, (const int64_t[]){3});
    nb_node *i = nb_cast(g, x, NB_I32);
    nb_node *k = nb_floor_div(g, nb_mul(g, i, nb_scalar(g, NB_I32, 3)), nb_scalar(g, NB_I32, 2));
    nb_node *back = nb_sum(g, nb_cast(g, k, NB_F64), NULL, 0, 0);
    nb_node *loss = nb_add(g, nb_sum(g, nb_mul(g, x, x), NULL, 0, 0), back);
    nb_node *gx[2];
    assert_int_equal(nb_grad(g, loss, &x, 1, &gx[0]), 0);
    assert_int_equal(nb_grad(g, back, &x, 1, &gx[1]), 0);
    nb_node *outs[] = {loss, gx[0], gx[1]};
    nb_program *p = compile(g, outs, 3, NB_BACKEND_TCC);
    const double xv[3] = {1.5, -2.5, 3.0};
    assert_int_equal(nb_program_bind(p, "x", xv), 0);
    run_ok(p);
    /* 2.25 + 6.25 + 9 = 17.5; int: 1, -2, 3; *3 // 2: 1, -3, 4 -> 2 */
    assert_true(*(const double *)nb_program_output(p, 0) == 19.5);
    const double *g0 = nb_program_output(p, 1), *g1 = nb_program_output(p, 2);
    for (int j = 0; j < 3; j++) {
        assert_true(g0[j] == 2 * xv[j]);
        assert_true(g1[j] == 0);
    }
    nb_program_free(p);
    nb_graph_free(g);
    /* nb_grad of an i32 output is refused, not crashed on. */
    g = nb_graph_new();
    nb_node *a = nb_input(g, "a", NB_F32, 1, (const int64_t[]){2});
    nb_node *s = nb_sum(
        g, nb_cast(g, nb_add(g, nb_cast(g, a, NB_I32), nb_cast(g, a, NB_I32)), NB_F32), NULL, 0, 0);
    nb_node *ga = NULL;
    assert_int_equal(nb_grad(g, s, &a, 1, &ga), 0);
    nb_node *ii = nb_add(g, nb_cast(g, a, NB_I32), nb_cast(g, a, NB_I32));
    assert_int_equal(nb_grad(g, ii, &a, 1, &ga), -1);
    assert_non_null(strstr(nb_graph_error(g), "gradients need f32 or f64"));
    nb_graph_free(g);
}

/* ---- errors ----------------------------------------------------------------------------- */

typedef nb_node *(*binary_fn)(nb_graph *, nb_node *, nb_node *);

static void expect_error(binary_fn fn, nb_dtype da, nb_dtype db, const char *msg)
{
    nb_graph *g = nb_graph_new();
    nb_node *a = nb_input(g, "a", da, 1, (const int64_t[]){2});
    nb_node *b = nb_input(g, "b", db, 1, (const int64_t[]){2});
    tu_expect_graph_error(g, fn(g, a, b), msg);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error(
        nb_add, NB_I32, NB_F32,
        "add: operands must share one dtype, got i32[2], f32[2] (convert one with nb_cast)");
    expect_error(
        nb_mul, NB_F32, NB_I32,
        "mul: operands must share one dtype, got f32[2], i32[2] (convert one with nb_cast)");
    expect_error(nb_sub, NB_BOOL, NB_BOOL, "sub: expected f32, f64 or i32 operands, got bool[2]");
    expect_error(nb_div, NB_I32, NB_I32, "div: expected f32 or f64 operands, got i32[2], i32[2]");
    expect_error(nb_floor_div, NB_F32, NB_F32,
                 "floor_div: expected i32 operands, got f32[2] and f32[2]");
    expect_error(nb_remainder, NB_F64, NB_F64,
                 "remainder: expected i32 operands, got f64[2] and f64[2]");
    expect_error(nb_remainder, NB_I32, NB_F32,
                 "remainder: operands must share one dtype, got i32[2], f32[2] (convert one with "
                 "nb_cast)");
    expect_error(nb_pow, NB_I32, NB_I32, "pow: expected f32 or f64 operands, got i32[2], i32[2]");
    assert_null(nb_floor_div(NULL, NULL, NULL));
    nb_graph *g = nb_graph_new();
    assert_null(nb_remainder(g, NULL, NULL));
    assert_non_null(strstr(nb_graph_error(g), "remainder: operand 0 is NULL"));
    nb_graph_free(g);
    /* Broadcasting errors name the op. */
    g = nb_graph_new();
    nb_node *a = nb_input(g, "a", NB_I32, 1, (const int64_t[]){2});
    nb_node *b = nb_input(g, "b", NB_I32, 1, (const int64_t[]){3});
    assert_null(nb_floor_div(g, a, b));
    assert_string_equal(nb_graph_error(g),
                        "floor_div: cannot broadcast i32[2], i32[3] (axis -1: 2 vs 3)");
    nb_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arith_values),        cmocka_unit_test(test_arith_broadcast),
        cmocka_unit_test(test_floor_div_remainder), cmocka_unit_test(test_division_broadcast),
        cmocka_unit_test(test_zero_divisor),        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_cast_to_int),         cmocka_unit_test(test_cast_from_int),
        cmocka_unit_test(test_no_gradient),         cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
