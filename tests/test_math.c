/* test_math.c — nabla's own f32 math (codegen/cg_math.c): exp, expm1, tanh, log and
 * log1p, compiled with both backends over a million points spread over every float
 * exponent, must agree bit for bit between tcc, cc and libtcc running the math's text
 * (NB_BACKEND_AUTO's first tier), stay within 1.1 ulp of the long double libm value
 * (measured over all 2^32 inputs: at most 1.027, tanh; docs/performance.md),
 * and return libm's values for NaN, +-inf, +-0, the overflow and underflow thresholds
 * and subnormal results. erf has no builder of its own: it is checked through gelu,
 * x * (0.5 (1 + erf(x / sqrt 2))) in f32, against the same f32 formula on the long
 * double erf rounded to f32, allowing that rounding's neighbours (erf within 1 ulp).
 * Fused loops that tcc runs in blocks (one runtime call per block) give cc's bits. */
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

/* Points: every POINT_STEP-th bit pattern of the 2^32 (an odd step, so every sign,
 * exponent and low mantissa bit is hit), then the special values below. */
#define POINT_STEP 4099u
#define POINT_SWEEP ((uint32_t)(UINT32_MAX / POINT_STEP))
/* The bound asserted; the functions measure at most 1.027 (tanhf; the others below
 * 0.9) over all 2^32 inputs (docs/performance.md). */
#define MAX_ULP 1.1

static const float specials[] = {
    0.0f, -0.0f, INFINITY, -INFINITY, NAN, -NAN, 1.0f, -1.0f, 0x1p-149f, -0x1p-149f, 0x1p-126f,
    0x1.fffffep127f, -0x1.fffffep127f,
    /* exp: ln(FLT_MAX) = 88.722839..., the last finite result and the first inf */
    88.72283f, 88.72284f,
    /* exp: results become subnormal below -87.336545 and round to 0 below -103.972084 */
    -87.33654f, -87.33655f, -100.0f, -103.97207f, -103.97208f, -103.97209f, -104.0f,
    /* tanh and erf saturate to +-1; log1p's pole */
    9.0f, 9.1f, 3.9f, 3.92f, -0.99999994f, -1.00000012f, 1e-30f, -1e-30f};
#define N_SPECIAL (sizeof specials / sizeof *specials)
#define N_POINTS (POINT_SWEEP + N_SPECIAL)

/* F_GELU last: the ulp loop covers the others. */
enum { F_EXP, F_EXPM1, F_TANH, F_LOG, F_LOG1P, F_GELU, F_COUNT };
static const char *const f_names[F_COUNT] = {"exp", "expm1", "tanh", "log", "log1p", "gelu"};
/* 1 / sqrt(2) rounded to f32, the literal of gelu's f32 code. */
#define SQRT1_2_F32 0x1.6a09e6p-1f

static long double reference(int f, long double x)
{
    switch (f) {
    case F_EXP: return expl(x);
    case F_EXPM1: return expm1l(x);
    case F_TANH: return tanhl(x);
    case F_LOG: return logl(x);
    case F_LOG1P: return log1pl(x);
    default: return 0; /* F_GELU: gelu_ok */
    }
}

static float *points(void)
{
    float *x = malloc(N_POINTS * sizeof *x);
    assert_non_null(x);
    for (uint32_t i = 0; i < POINT_SWEEP; i++) {
        uint32_t u = i * POINT_STEP;
        memcpy(&x[i], &u, sizeof u);
    }
    memcpy(x + POINT_SWEEP, specials, sizeof specials);
    return x;
}

/* The six functions of one input of n floats, outputs in F_ order. */
static nb_program *compile(nb_backend backend, int64_t n)
{
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 1, &n);
    nb_node *y[F_COUNT] = {nb_exp(g, x), nb_expm1(g, x), nb_tanh(g, x),
                           nb_log(g, x), nb_log1p(g, x), nb_gelu(g, x)};
    /* Exact subnormal results: the accuracy is IEEE's, not the flushed default's. */
    nb_compile_options opt = {
        .outputs = y, .n_outputs = F_COUNT, .backend = backend, .denormals = NB_DENORMALS_IEEE};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(g));
    nb_graph_free(g);
    return p;
}

/* |y - t| in units of the last place of a float at t (subnormal spacing below 2^-126). */
static double ulp_error(float y, long double t)
{
    int e;
    frexpl(fabsl(t), &e);
    if (e - 1 < -126)
        e = -125;
    return (double)(fabsl((long double)y - t) / ldexpl(1.0L, e - 1 - 23));
}

/* 1 when y is what a correct f32 function returns for the reference t in the cases
 * where no ulp applies: NaN, infinities, results beyond FLT_MAX. */
static int exceptional_ok(float y, long double t, int *handled)
{
    float tf = (float)t;
    *handled = 1;
    if (isnan(t))
        return isnan(y);
    if (isinf(tf))
        return y == tf;
    *handled = 0;
    return 1;
}

/* gelu's f32 formula on erf value e. */
static float gelu_f32(float x, float e)
{
    float cdf = 0.5f * (1.0f + e);
    return x * cdf;
}

/* 1 when y is gelu(x) with an erf within 1 ulp of the long double one. */
static int gelu_ok(float x, float y)
{
    float e = (float)erfl((long double)(x * SQRT1_2_F32));
    float near[3] = {nextafterf(e, -2.0f), e, nextafterf(e, 2.0f)};
    for (int k = 0; k < 3; k++) {
        float want = gelu_f32(x, fmaxf(-1.0f, fminf(1.0f, near[k])));
        if (want == y || (isnan(want) && isnan(y)))
            return 1;
    }
    return 0;
}

static void test_accuracy_and_backends(void **state)
{
    (void)state;
    float *x = points();
    nb_program *cc = compile(NB_BACKEND_CC, N_POINTS), *tcc = compile(NB_BACKEND_TCC, N_POINTS);
    /* NB_BACKEND_AUTO kept on its first tier (its cc build cannot start): libtcc running
     * the math as text, which the cc object inlines, where NB_BACKEND_TCC calls the
     * runtime's compiled copy. */
    setenv("NABLA_CC", "/nonexistent/cc", 1);
    nb_program *text = compile(NB_BACKEND_AUTO, N_POINTS);
    assert_int_equal(nb_program_wait_tier(text), NB_BACKEND_TCC);
    unsetenv("NABLA_CC");
    nb_program *const progs[3] = {cc, tcc, text};
    static const char *const prog_names[3] = {"cc", "tcc", "tcc (auto, math as text)"};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(nb_program_bind(progs[k], "x", x), 0);
        assert_int_equal(nb_program_run(progs[k]), 0);
    }
    for (int f = 0; f < F_COUNT; f++) {
        const float *a = nb_program_output(cc, f);
        /* Bit for bit; a NaN may carry another payload or sign (compilers order the
         * operands of a commutative operation as they like, and x86 keeps the first
         * operand's NaN): NaN is all the ops promise. */
        for (int k = 1; k < 3; k++) {
            const float *b = nb_program_output(progs[k], f);
            for (size_t i = 0; i < N_POINTS; i++)
                if (memcmp(&a[i], &b[i], sizeof *a) != 0 && !(isnan(a[i]) && isnan(b[i])))
                    fail_msg("%s(%a): cc %a, %s %a", f_names[f], x[i], a[i], prog_names[k], b[i]);
        }
        double worst = 0;
        for (size_t i = 0; f == F_GELU && i < N_POINTS; i++)
            if (!gelu_ok(x[i], a[i]))
                fail_msg("gelu(%a) = %a: erf more than 1 ulp off", x[i], a[i]);
        for (size_t i = 0; f != F_GELU && i < N_POINTS; i++) {
            long double t = reference(f, x[i]);
            int handled;
            if (!exceptional_ok(a[i], t, &handled))
                fail_msg("%s(%a) = %a, want %La", f_names[f], x[i], a[i], t);
            if (handled)
                continue;
            double e = ulp_error(a[i], t);
            if (!(e <= MAX_ULP))
                fail_msg("%s(%a) = %a, %.3f ulp from %La", f_names[f], x[i], a[i], e, t);
            if (x[i] == 0 && signbit(a[i]) != signbit((float)t))
                fail_msg("%s(%a) = %a: the sign of zero", f_names[f], x[i], a[i]);
            worst = e > worst ? e : worst;
        }
        if (f != F_GELU)
            print_message("%-5s max %.4f ulp over %u points\n", f_names[f], worst,
                          (unsigned)N_POINTS);
    }
    nb_program_free(cc);
    nb_program_free(tcc);
    nb_program_free(text);
    free(x);
}

/* Special values as C99 Annex F and libm give them, written out by hand. */
static void test_special_values(void **state)
{
    (void)state;
    static const float in[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, -1.0f, -2.0f, 89.0f, -104.0f};
    enum { N_IN = sizeof in / sizeof *in };
    /* gelu row: x * 0.5 (1 + erf(x / sqrt 2)) rounded as its f32 code rounds it. */
    static const float want[F_COUNT][N_IN] = {
        [F_EXP] = {1.0f, 1.0f, INFINITY, 0.0f, NAN, 0x1.78b564p-2f, 0x1.152aaap-3f, INFINITY, 0.0f},
        [F_EXPM1] = {0.0f, -0.0f, INFINITY, -1.0f, NAN, -0x1.43a54ep-1f, -0x1.bab556p-1f, INFINITY,
                     -1.0f},
        [F_TANH] = {0.0f, -0.0f, 1.0f, -1.0f, NAN, -0x1.85efacp-1f, -0x1.ed9506p-1f, 1.0f, -1.0f},
        [F_LOG] = {-INFINITY, -INFINITY, INFINITY, NAN, NAN, NAN, NAN, 0x1.1f45d2p+2f, NAN},
        [F_LOG1P] = {0.0f, -0.0f, INFINITY, NAN, NAN, -INFINITY, NAN, 0x1.1ffce2p+2f, NAN},
        [F_GELU] = {0.0f, -0.0f, INFINITY, NAN, NAN, -0x1.44ed0cp-3f, -0x1.74bdp-5f, 0x1.64p+6f,
                    -0.0f},
    };
    for (int backend = NB_BACKEND_TCC; backend <= NB_BACKEND_CC; backend++) {
        nb_program *p = compile((nb_backend)backend, N_IN);
        assert_int_equal(nb_program_bind(p, "x", in), 0);
        assert_int_equal(nb_program_run(p), 0);
        for (int f = 0; f < F_COUNT; f++) {
            const float *got = nb_program_output(p, f);
            for (int i = 0; i < N_IN; i++) {
                int same = isnan(want[f][i])
                               ? isnan(got[i])
                               : got[i] == want[f][i] && signbit(got[i]) == signbit(want[f][i]);
                if (!same)
                    fail_msg("%s(%a) = %a, want %a (backend %d)", f_names[f], in[i], got[i],
                             want[f][i], backend);
            }
        }
        nb_program_free(p);
    }
}

/* Fused loops with own math under tcc run in blocks of 256 elements, one runtime call
 * per block (codegen/cg_elementwise.c). Sizes with a tail (not a multiple of the block)
 * and, at 4 threads, above the split threshold (parts that are not multiples of the
 * block either), NaN, inf and -0 around the block and part bounds: tcc must give cc's
 * bits, computed per element in one loop. Outputs: y = sigmoid(a * b + c) * d,
 * u = a * b + c (stored before the calls), t = tanh(u) * exp(-(d * d)) + log1p(a * a),
 * and e = exp(d) (a math output read from its block). */
enum { B_Y, B_U, B_T, B_E, B_COUNT };

static nb_program *compile_blocked(nb_backend backend, int64_t n, int threads)
{
    nb_graph *g = nb_graph_new();
    nb_node *a = nb_input(g, "a", NB_F32, 1, &n), *b = nb_input(g, "b", NB_F32, 1, &n),
            *c = nb_input(g, "c", NB_F32, 1, &n), *d = nb_input(g, "d", NB_F32, 1, &n);
    nb_node *u = nb_add(g, nb_mul(g, a, b), c);
    nb_node *y[B_COUNT] = {nb_mul(g, nb_sigmoid(g, u), d), u,
                           nb_add(g,
                                  nb_mul(g, nb_tanh(g, u), nb_exp(g, nb_neg(g, nb_mul(g, d, d)))),
                                  nb_log1p(g, nb_mul(g, a, a))),
                           nb_exp(g, d)};
    nb_compile_options opt = {.outputs = y,
                              .n_outputs = B_COUNT,
                              .backend = backend,
                              .threads = threads,
                              .denormals = NB_DENORMALS_IEEE};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(g));
    nb_graph_free(g);
    return p;
}

static void test_blocked_loops(void **state)
{
    (void)state;
    static const int64_t sizes[] = {1, 255, 257, 1000, 3 * 16384 + 77};
    static const float odd[] = {NAN, -NAN, INFINITY, -INFINITY, -0.0f, 0.0f, 0x1p-149f, 100.0f};
    enum { N_ODD = sizeof odd / sizeof *odd };
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        int64_t n = sizes[s];
        float *in[4];
        for (int k = 0; k < 4; k++) {
            in[k] = malloc((size_t)n * sizeof *in[k]);
            assert_non_null(in[k]);
            uint32_t r = 12345u + 77u * (uint32_t)k;
            for (int64_t i = 0; i < n; i++) {
                r = r * 1664525u + 1013904223u;
                in[k][i] = (float)((double)(r >> 8) / (1 << 24) * 12.0 - 6.0);
            }
            /* The odd values around every 256th element, where blocks and parts start. */
            for (int64_t i = 253 + k; i < n; i += 256)
                in[k][i] = odd[(i / 256 + (int64_t)k) % N_ODD];
        }
        nb_program *cc = compile_blocked(NB_BACKEND_CC, n, 1);
        nb_program *tcc = compile_blocked(NB_BACKEND_TCC, n, 4);
        /* The loop runs in blocks, each within its part. */
        if (n > 256)
            assert_non_null(strstr(nb_program_source(tcc), "nb_rt_sigmoidf_block(b"));
        if (n > 2 * 16384)
            assert_non_null(strstr(nb_program_source(tcc), "hi - o0 < 256 ? hi : o0 + 256"));
        nb_program *const progs[2] = {cc, tcc};
        static const char *const names[4] = {"a", "b", "c", "d"};
        for (int k = 0; k < 2; k++) {
            for (int j = 0; j < 4; j++)
                assert_int_equal(nb_program_bind(progs[k], names[j], in[j]), 0);
            assert_int_equal(nb_program_run(progs[k]), 0);
        }
        for (int o = 0; o < B_COUNT; o++) {
            const float *want = nb_program_output(cc, o), *got = nb_program_output(tcc, o);
            for (int64_t i = 0; i < n; i++)
                if (memcmp(&want[i], &got[i], sizeof *got) != 0 &&
                    !(isnan(want[i]) && isnan(got[i])))
                    fail_msg("output %d, n %lld, element %lld: cc %a, tcc %a", o, (long long)n,
                             (long long)i, want[i], got[i]);
        }
        nb_program_free(cc);
        nb_program_free(tcc);
        for (int k = 0; k < 4; k++)
            free(in[k]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocked_loops),
        cmocka_unit_test(test_special_values),
        cmocka_unit_test(test_accuracy_and_backends),
    };
    return cmocka_run_group_tests(tests, tu_cc_cache_setup, tu_cc_cache_teardown);
}
