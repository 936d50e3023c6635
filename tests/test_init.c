/* test_init.c — parameter initializers: exact reproducibility for a seed, first values
 * against an independent reference of the PRNG, statistics against PyTorch's formulas,
 * exact constant kinds, and every error case.
 *
 * Expected numbers come from elsewhere, never from the code under test:
 * - bounds and stds are torch.nn.init's formulas worked out by hand (written as the
 *   arithmetic below) and were checked against Debian's torch 1.13, e.g.
 *   torch.nn.Linear(784, 256).weight: min -0.035714, max 0.035714, std 0.020617
 *   (formula 1/28 and 1/(28 sqrt 3) = 0.0206197);
 * - the "anchor" first values come from a separate Python implementation of
 *   splitmix64 + xoshiro256** + Box-Muller and of nb_init_seed (run with /usr/bin/python3;
 *   the script is quoted in docs/init.md). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nabla.h"

#define SQRT3 1.7320508075688772

static void fill(const nb_init *in, nb_dtype dt, int rank, const int64_t *shape, void *out)
{
    char err[256];
    if (nb_init_fill(in, dt, rank, shape, out, err, sizeof err) != 0)
        fail_msg("nb_init_fill: %s", err);
}

static int64_t numel(int rank, const int64_t *shape)
{
    int64_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= shape[i];
    return n;
}

/* Fills an f64 (or f32, widened) tensor of the shape and returns it (caller frees). */
static double *sample(const nb_init *in, nb_dtype dt, int rank, const int64_t *shape)
{
    int64_t n = numel(rank, shape);
    double *x = malloc((size_t)n * sizeof *x);
    assert_non_null(x);
    if (dt == NB_F64) {
        fill(in, dt, rank, shape, x);
        return x;
    }
    float *f = malloc((size_t)n * sizeof *f);
    assert_non_null(f);
    fill(in, dt, rank, shape, f);
    for (int64_t i = 0; i < n; i++)
        x[i] = f[i];
    free(f);
    return x;
}

/* ---- reproducibility ------------------------------------------------------------------ */

/* The same nb_init gives the same bytes; another seed gives other values. */
static void test_same_seed_same_bytes(void **state)
{
    (void)state;
    int64_t shape[2] = {300, 200};
    enum { N = 300 * 200 };
    nb_init kinds[] = {
        nb_init_uniform(-1, 1, 9),
        nb_init_normal(0, 1, 9),
        nb_init_xavier_uniform(1, 9),
        nb_init_xavier_normal(1, 9),
        nb_init_kaiming_uniform(0, NB_FAN_IN, NB_NONLINEARITY_LEAKY_RELU, 9),
        nb_init_kaiming_normal(0, NB_FAN_OUT, NB_NONLINEARITY_RELU, 9),
        nb_init_linear_weight(9),
        nb_init_linear_bias(300, 9),
    };
    float *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
    assert_true(a && b);
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        nb_init in = kinds[k];
        fill(&in, NB_F32, 2, shape, a);
        memset(b, 0xab, N * sizeof *b);
        fill(&in, NB_F32, 2, shape, b);
        assert_memory_equal(a, b, N * sizeof *a);
        in.seed = 10;
        fill(&in, NB_F32, 2, shape, b);
        int equal = 0;
        for (int i = 0; i < N; i++)
            equal += a[i] == b[i];
        /* Two independent continuous streams agree almost nowhere. */
        if (equal > 10)
            fail_msg("kind %d: seeds 9 and 10 agree on %d of %d values", (int)in.kind, equal, N);
    }
    free(a);
    free(b);
}

/* An f32 tensor holds exactly the f64 tensor's values rounded to float. */
static void test_f32_is_rounded_f64(void **state)
{
    (void)state;
    int64_t shape[1] = {1000};
    nb_init kinds[] = {nb_init_uniform(-3, 5, 4), nb_init_normal(2, 0.5, 4)};
    for (int k = 0; k < 2; k++) {
        float f[1000];
        double d[1000];
        fill(&kinds[k], NB_F32, 1, shape, f);
        fill(&kinds[k], NB_F64, 1, shape, d);
        for (int i = 0; i < 1000; i++)
            assert_true(f[i] == (float)d[i]);
    }
}

/* First values against the Python reference of the stream:
 * x_i = low + (high - low) * u_i, u_i = (xoshiro256**(seed) >> 11) * 2^-53. Uniform uses
 * only IEEE + and *, so these hold bit for bit on every machine. */
static void test_anchor_uniform(void **state)
{
    (void)state;
    const double want64[4] = {-1.5806851447005892, -0.10509874668665686, 1.400217055140697,
                              2.6234647266269384};
    const double want32[4] = {-1.5806851387023926, -0.10509874671697617, 1.400217056274414,
                              2.623464822769165};
    int64_t shape[2] = {2, 2};
    nb_init in = nb_init_uniform(-2, 3, 42);
    double d[4];
    float f[4];
    fill(&in, NB_F64, 2, shape, d);
    fill(&in, NB_F32, 2, shape, f);
    for (int i = 0; i < 4; i++) {
        assert_true(d[i] == want64[i]);
        assert_true((double)f[i] == want32[i]);
    }
}

/* Normal: mean + std * sqrt(-2 log(1 - u1)) cos(2 pi u2), one pair of draws a value. The
 * logarithm and cosine come from libm: f64 values are allowed a few ulps between libms
 * (glibc gives these exactly), f32 values must match exactly. */
static void test_anchor_normal(void **state)
{
    (void)state;
    const double want64[4] = {0.4419520179496038, 4.799537157377913, 5.272612029464402,
                              1.5610442712680865};
    const double want32[4] = {0.44195201992988586, 4.799537181854248, 5.27261209487915,
                              1.5610442161560059};
    int64_t shape[1] = {4};
    nb_init in = nb_init_normal(1, 2, 7);
    double d[4];
    float f[4];
    fill(&in, NB_F64, 1, shape, d);
    fill(&in, NB_F32, 1, shape, f);
    for (int i = 0; i < 4; i++) {
        assert_float_equal(d[i], want64[i], 4e-16 * fabs(want64[i]));
        assert_true((double)f[i] == want32[i]);
    }
    /* kaiming_normal, fan_out, relu on [4, 3] (fan_out = 3): std = sqrt 2 / sqrt 3. */
    const double want_k[3] = {-0.5396893382298089, 0.5138325098866898, 0.211918768859366};
    int64_t kshape[2] = {4, 3};
    nb_init k = nb_init_kaiming_normal(0, NB_FAN_OUT, NB_NONLINEARITY_RELU, 5);
    double kd[12];
    fill(&k, NB_F64, 2, kshape, kd);
    for (int i = 0; i < 3; i++)
        assert_float_equal(kd[i], want_k[i], 4e-16 * fabs(want_k[i]));
}

/* nb_init_seed: FNV-1a of the name mixed with the base, per the Python reference. */
static void test_seed_mixing(void **state)
{
    (void)state;
    assert_true(nb_init_seed(1234, "fc1.w") == 0x52a5926119ead635ull);
    assert_true(nb_init_seed(1234, "fc1.b") == 0x2653cba768fb8fddull);
    assert_true(nb_init_seed(0, "") == 0x5b21f68ffa77f14cull);
    assert_true(nb_init_seed(0, NULL) == nb_init_seed(0, ""));
    assert_true(nb_init_seed(1, "w") != nb_init_seed(2, "w"));
    assert_true(nb_init_seed(1, "w1") != nb_init_seed(1, "w2"));
}

/* ---- statistics ----------------------------------------------------------------------- */

typedef struct expect {
    double mean, std;
    double bound; /* > 0: a uniform kind on [mean - bound, mean + bound] */
} expect;

/* Checks the sample mean and std within 5 standard errors and, for uniform kinds, that
 * every value lies within the bounds and the extremes come close to them. The standard
 * error of the sample std is std * sqrt(k / n), k = 0.2 for uniform and 0.5 for normal. */
static void check_stats(const char *what, const double *x, int64_t n, expect e)
{
    double sum = 0, lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        sum += x[i];
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    double mean = sum / (double)n, ss = 0;
    for (int64_t i = 0; i < n; i++)
        ss += (x[i] - mean) * (x[i] - mean);
    double std = sqrt(ss / (double)(n - 1));
    double mean_tol = 5 * e.std / sqrt((double)n);
    double std_tol = 5 * e.std * sqrt((e.bound > 0 ? 0.2 : 0.5) / (double)n);
    if (fabs(mean - e.mean) > mean_tol || fabs(std - e.std) > std_tol)
        fail_msg("%s: mean %.6g std %.6g, expected %.6g (±%.2g) and %.6g (±%.2g)", what, mean, std,
                 e.mean, mean_tol, e.std, std_tol);
    if (e.bound > 0) {
        /* The bounds themselves are exact; rounding to f32 may land on them. */
        double b_lo = e.mean - e.bound, b_hi = e.mean + e.bound, near = 50 * 2 * e.bound / n;
        if (lo < (float)b_lo - 1e-12 || hi > (float)b_hi + 1e-12)
            fail_msg("%s: values in [%.9g, %.9g], outside [%.9g, %.9g]", what, lo, hi, b_lo, b_hi);
        if (lo > b_lo + near || hi < b_hi - near)
            fail_msg("%s: extremes %.9g, %.9g far from the bounds %.9g, %.9g", what, lo, hi, b_lo,
                     b_hi);
    }
}

static void stats_case(const char *what, nb_init in, nb_dtype dt, int rank, const int64_t *shape,
                       expect e)
{
    double *x = sample(&in, dt, rank, shape);
    check_stats(what, x, numel(rank, shape), e);
    free(x);
}

static void test_stats_uniform_normal(void **state)
{
    (void)state;
    int64_t big[1] = {200000};
    /* U[-2, 3): mean 0.5, std 5 / sqrt 12. */
    stats_case("uniform f32", nb_init_uniform(-2, 3, 1), NB_F32, 1, big,
               (expect){0.5, 5 / sqrt(12.0), 2.5});
    stats_case("uniform f64", nb_init_uniform(-2, 3, 2), NB_F64, 1, big,
               (expect){0.5, 5 / sqrt(12.0), 2.5});
    stats_case("normal f32", nb_init_normal(1, 2, 3), NB_F32, 1, big, (expect){1, 2, 0});
    stats_case("normal f64", nb_init_normal(-3, 0.25, 4), NB_F64, 1, big, (expect){-3, 0.25, 0});

    /* The normal's shape, not just its moments: 68.27% within one std, 95.45% within two. */
    nb_init in = nb_init_normal(0, 1, 5);
    double *x = sample(&in, NB_F64, 1, big);
    int64_t one = 0, two = 0;
    for (int64_t i = 0; i < big[0]; i++) {
        one += fabs(x[i]) < 1;
        two += fabs(x[i]) < 2;
    }
    /* Binomial standard errors: sqrt(p (1 - p) / n) = 0.00104 and 0.00047. */
    assert_float_equal((double)one / big[0], 0.682689, 0.0053);
    assert_float_equal((double)two / big[0], 0.954500, 0.0024);
    free(x);
}

/* nn.Linear(784, 256): our weight [784, 256] (in, out) and torch's [256, 784] (out, in)
 * both have fan_in 784 and bound sqrt 3 * sqrt(2 / (1 + 5)) / sqrt 784 = 1/28. */
static void test_stats_linear(void **state)
{
    (void)state;
    int64_t ours[2] = {784, 256}, torch[2] = {256, 784};
    expect e = {0, 1 / (28 * SQRT3), 1.0 / 28};
    stats_case("linear_weight [784,256]", nb_init_linear_weight(1), NB_F32, 2, ours, e);
    nb_init t = nb_init_linear_weight(1);
    t.layout = NB_LAYOUT_OUT_IN;
    stats_case("linear_weight [256,784] out_in", t, NB_F32, 2, torch, e);
    stats_case("linear_weight f64", nb_init_linear_weight(2), NB_F64, 2, ours, e);
    /* The bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with the weight's fan_in. */
    int64_t bias[1] = {100000};
    stats_case("linear_bias", nb_init_linear_bias(784, 3), NB_F32, 1, bias, e);
    stats_case("linear_bias fan_in 10", nb_init_linear_bias(10, 3), NB_F64, 1, bias,
               (expect){0, 1 / sqrt(30.0), 1 / sqrt(10.0)});
}

static void test_stats_xavier_kaiming(void **state)
{
    (void)state;
    int64_t w[2] = {784, 256}; /* fan_in 784, fan_out 256 */
    /* xavier: b = gain sqrt(6 / (784 + 256)), std = gain sqrt(2 / 1040). torch on
     * [256, 784]: max 0.075955, std 0.043853; gain 2 normal: std 0.087676. */
    stats_case("xavier_uniform", nb_init_xavier_uniform(1, 1), NB_F32, 2, w,
               (expect){0, sqrt(2 / 1040.0), sqrt(6 / 1040.0)});
    stats_case("xavier_uniform gain 3", nb_init_xavier_uniform(3, 1), NB_F64, 2, w,
               (expect){0, 3 * sqrt(2 / 1040.0), 3 * sqrt(6 / 1040.0)});
    stats_case("xavier_normal gain 2", nb_init_xavier_normal(2, 1), NB_F32, 2, w,
               (expect){0, 2 * sqrt(2 / 1040.0), 0});
    /* kaiming_uniform default (slope 0, leaky_relu, fan_in): b = sqrt 2 sqrt(3 / 784).
     * torch: max 0.087480. */
    stats_case("kaiming_uniform",
               nb_init_kaiming_uniform(0, NB_FAN_IN, NB_NONLINEARITY_LEAKY_RELU, 1), NB_F32, 2, w,
               (expect){0, sqrt(2 / 784.0), sqrt(6 / 784.0)});
    /* slope 0.2: gain sqrt(2 / 1.04); torch: max 0.085781. */
    double g = sqrt(2 / 1.04);
    stats_case("kaiming_uniform slope 0.2",
               nb_init_kaiming_uniform(0.2, NB_FAN_IN, NB_NONLINEARITY_LEAKY_RELU, 1), NB_F64, 2, w,
               (expect){0, g / sqrt(784.0), g * sqrt(3 / 784.0)});
    /* kaiming_normal fan_out relu: std sqrt 2 / sqrt 256; torch: std 0.088388. */
    stats_case("kaiming_normal fan_out",
               nb_init_kaiming_normal(0, NB_FAN_OUT, NB_NONLINEARITY_RELU, 1), NB_F32, 2, w,
               (expect){0, sqrt(2.0) / 16, 0});
    stats_case("kaiming_uniform fan_out tanh",
               nb_init_kaiming_uniform(0, NB_FAN_OUT, NB_NONLINEARITY_TANH, 1), NB_F32, 2, w,
               (expect){0, 5.0 / 3 / 16, SQRT3 * 5.0 / 3 / 16});
}

/* Rank > 2: receptive = product of the trailing dims. torch's conv weight [64, 32, 5, 5]
 * (out, in, kh, kw) has fan_in 32 * 25 = 800 and fan_out 64 * 25 = 1600; nabla's layout
 * reads [32, 64, 5, 5] the same way. */
static void test_stats_receptive_field(void **state)
{
    (void)state;
    int64_t torch[4] = {64, 32, 5, 5}, ours[4] = {32, 64, 5, 5};
    nb_init in = nb_init_kaiming_normal(0, NB_FAN_OUT, NB_NONLINEARITY_TANH, 1);
    in.layout = NB_LAYOUT_OUT_IN;
    stats_case("conv kaiming_normal out_in", in, NB_F32, 4, torch, (expect){0, 5.0 / 3 / 40, 0});
    in.layout = NB_LAYOUT_IN_OUT;
    stats_case("conv kaiming_normal in_out", in, NB_F32, 4, ours, (expect){0, 5.0 / 3 / 40, 0});
    nb_init lw = nb_init_linear_weight(2);
    stats_case("conv linear_weight", lw, NB_F32, 4, ours,
               (expect){0, 1 / sqrt(3 * 800.0), 1 / sqrt(800.0)});
    stats_case("conv xavier_uniform", nb_init_xavier_uniform(1, 3), NB_F64, 4, ours,
               (expect){0, sqrt(2 / 2400.0), sqrt(6 / 2400.0)});
}

/* Fan overrides: a rank-1 tensor works once both fans are given, and an override beats
 * the shape on rank 2. */
static void test_fan_overrides(void **state)
{
    (void)state;
    int64_t v[1] = {100000}, w[2] = {500, 200};
    nb_init in = nb_init_xavier_uniform(1, 1);
    in.fan_in = 300;
    in.fan_out = 100;
    stats_case("xavier rank 1 overridden", in, NB_F32, 1, v,
               (expect){0, sqrt(2 / 400.0), sqrt(6 / 400.0)});
    nb_init k = nb_init_kaiming_uniform(0, NB_FAN_IN, NB_NONLINEARITY_RELU, 1);
    k.fan_in = 50;
    stats_case("kaiming fan_in override", k, NB_F32, 2, w,
               (expect){0, sqrt(2 / 50.0), sqrt(6 / 50.0)});
    nb_init n = nb_init_kaiming_normal(0, NB_FAN_OUT, NB_NONLINEARITY_LINEAR, 1);
    n.fan_out = 4;
    stats_case("kaiming fan_out override rank 1", n, NB_F64, 1, v, (expect){0, 0.5, 0});
}

static void test_gains(void **state)
{
    (void)state;
    /* torch.nn.init.calculate_gain */
    assert_float_equal(nb_init_gain(NB_NONLINEARITY_LINEAR, 0), 1, 0);
    assert_float_equal(nb_init_gain(NB_NONLINEARITY_SIGMOID, 0), 1, 0);
    assert_float_equal(nb_init_gain(NB_NONLINEARITY_TANH, 0), 1.6666666666666667, 1e-16);
    assert_float_equal(nb_init_gain(NB_NONLINEARITY_RELU, 0), 1.4142135623730951, 1e-16);
    assert_float_equal(nb_init_gain(NB_NONLINEARITY_SELU, 0), 0.75, 0);
    assert_float_equal(nb_init_gain(NB_NONLINEARITY_LEAKY_RELU, 0.2), 1.3867504905630728, 1e-16);
    assert_float_equal(nb_init_gain(NB_NONLINEARITY_LEAKY_RELU, sqrt(5.0)), 0.5773502691896257,
                       1e-16);
    assert_float_equal(nb_init_gain(NB_NONLINEARITY_LEAKY_RELU, 0), sqrt(2.0), 0);
    assert_true(isnan(nb_init_gain((nb_nonlinearity)17, 0)));
}

/* ---- exact kinds ---------------------------------------------------------------------- */

static void test_constants_exact(void **state)
{
    (void)state;
    int64_t shape[2] = {3, 5};
    float f[15];
    double d[15];
    int32_t i32[15];
    uint8_t b[15];
    nb_init z = nb_init_zeros(), o = nb_init_ones(), c = nb_init_constant(-0.1),
            ci = nb_init_constant(-7);
    memset(f, 0xff, sizeof f);
    fill(&z, NB_F32, 2, shape, f);
    fill(&o, NB_F64, 2, shape, d);
    fill(&ci, NB_I32, 2, shape, i32);
    fill(&o, NB_BOOL, 2, shape, b);
    for (int i = 0; i < 15; i++) {
        assert_true(f[i] == 0.0f && !signbit(f[i]));
        assert_true(d[i] == 1.0);
        assert_int_equal(i32[i], -7);
        assert_int_equal(b[i], 1);
    }
    fill(&c, NB_F32, 2, shape, f);
    fill(&c, NB_F64, 2, shape, d);
    fill(&z, NB_BOOL, 2, shape, b);
    fill(&o, NB_I32, 2, shape, i32);
    for (int i = 0; i < 15; i++) {
        assert_true(f[i] == -0.1f);
        assert_true(d[i] == -0.1);
        assert_int_equal(b[i], 0);
        assert_int_equal(i32[i], 1);
    }
    /* Rank 0: one value. */
    double s = 5;
    fill(&z, NB_F64, 0, NULL, &s);
    assert_true(s == 0.0);
    /* An empty tensor needs no fans and writes nothing. */
    int64_t empty[2] = {0, 4};
    nb_init x = nb_init_xavier_uniform(1, 1);
    assert_int_equal(nb_init_fill(&x, NB_F32, 2, empty, NULL, NULL, 0), 0);
}

/* ---- programs ------------------------------------------------------------------------- */

static nb_program *mlp_program(void)
{
    nb_graph *g = nb_graph_new();
    int64_t ws[2] = {784, 256}, bs[1] = {256}, is[1] = {3};
    nb_node *w = nb_param(g, "fc1.w", NB_F32, 2, ws);
    nb_node *b = nb_param(g, "fc1.b", NB_F32, 1, bs);
    nb_node *k = nb_param(g, "k", NB_I32, 1, is);
    nb_node *m = nb_param(g, "m", NB_BOOL, 1, is);
    nb_node *d = nb_param(g, "d", NB_F64, 1, is);
    nb_node *out[5] = {w, b, k, m, d};
    nb_compile_options opt = {.outputs = out, .n_outputs = 5};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(g));
    nb_graph_free(g);
    return p;
}

static void init_ok(nb_program *p, const char *name, nb_init in)
{
    if (nb_program_init_param(p, name, &in) != 0)
        fail_msg("init_param %s: %s", name, nb_program_error(p));
}

/* nb_program_init_param writes what nb_init_fill gives for the parameter's shape. */
static void test_program_init_param(void **state)
{
    (void)state;
    nb_program *p = mlp_program();
    int64_t ws[2] = {784, 256};
    static float want[784 * 256], got[784 * 256];
    nb_init in = nb_init_xavier_normal(1, 77);
    init_ok(p, "fc1.w", in);
    fill(&in, NB_F32, 2, ws, want);
    assert_int_equal(nb_program_get_param(p, "fc1.w", got, sizeof got), 0);
    assert_memory_equal(got, want, sizeof got);

    int32_t k[3];
    uint8_t m[3];
    double d[3];
    init_ok(p, "k", nb_init_constant(42));
    init_ok(p, "m", nb_init_ones());
    init_ok(p, "d", nb_init_constant(2.5));
    nb_program_get_param(p, "k", k, sizeof k);
    nb_program_get_param(p, "m", m, sizeof m);
    nb_program_get_param(p, "d", d, sizeof d);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(k[i], 42);
        assert_int_equal(m[i], 1);
        assert_true(d[i] == 2.5);
    }
    nb_program_free(p);
}

/* nb_program_init_linear: torch's nn.Linear reset_parameters with seeds from
 * nb_init_seed(1234, name); first values from the Python reference. */
static void test_program_init_linear(void **state)
{
    (void)state;
    nb_program *p = mlp_program();
    if (nb_program_init_linear(p, "fc1.w", "fc1.b", 1234) != 0)
        fail_msg("init_linear: %s", nb_program_error(p));
    static float w[784 * 256];
    float b[256];
    nb_program_get_param(p, "fc1.w", w, sizeof w);
    nb_program_get_param(p, "fc1.b", b, sizeof b);
    const double want_w[3] = {-0.017269546166062355, 0.03189469128847122, 0.02998567745089531};
    const double want_b[3] = {0.007872793823480606, -0.005394174251705408, 0.03269704058766365};
    for (int i = 0; i < 3; i++) {
        assert_true((double)w[i] == want_w[i]);
        assert_true((double)b[i] == want_b[i]);
    }
    double *wd = malloc(sizeof w / sizeof w[0] * sizeof *wd);
    assert_non_null(wd);
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        wd[i] = w[i];
    check_stats("init_linear weight", wd, 784 * 256, (expect){0, 1 / (28 * SQRT3), 1.0 / 28});
    free(wd);
    for (int i = 0; i < 256; i++)
        assert_true(fabs(b[i]) <= 1.0f / 28);
    /* Without a bias. */
    assert_int_equal(nb_program_init_linear(p, "fc1.w", NULL, 1), 0);
    nb_program_free(p);
}

/* ---- errors --------------------------------------------------------------------------- */

/* A failing nb_init_fill names the problem and leaves out as it was. */
static void expect_fill_error(nb_init in, nb_dtype dt, int rank, const int64_t *shape,
                              const char *what)
{
    char err[512] = "";
    double out[8];
    memset(out, 0x5a, sizeof out);
    unsigned char before[sizeof out];
    memcpy(before, out, sizeof out);
    assert_int_equal(nb_init_fill(&in, dt, rank, shape, out, err, sizeof err), -1);
    if (!strstr(err, what))
        fail_msg("expected an error containing '%s', got '%s'", what, err);
    assert_memory_equal(out, before, sizeof out);
    /* No error buffer: still fails, nothing crashes. */
    assert_int_equal(nb_init_fill(&in, dt, rank, shape, out, NULL, 0), -1);
}

static void test_fill_errors(void **state)
{
    (void)state;
    int64_t v[1] = {4}, w[2] = {2, 4}, neg[2] = {2, -1};
    nb_init bad = nb_init_zeros();
    bad.kind = (nb_init_kind)99;
    expect_fill_error(bad, NB_F32, 1, v, "unknown initializer kind 99");
    assert_int_equal(nb_init_fill(NULL, NB_F32, 1, v, NULL, NULL, 0), -1);

    expect_fill_error(nb_init_normal(0, -1, 1), NB_F32, 1, v, "std >= 0");
    expect_fill_error(nb_init_normal(NAN, 1, 1), NB_F64, 1, v, "finite mean");
    expect_fill_error(nb_init_normal(0, 1e38, 1), NB_F32, 1, v, "outside f32's range");
    expect_fill_error(nb_init_uniform(2, 1, 1), NB_F32, 1, v, "low 2 is greater than high 1");
    expect_fill_error(nb_init_uniform(0, INFINITY, 1), NB_F64, 1, v, "must be finite");
    expect_fill_error(nb_init_uniform(-1e39, 0, 1), NB_F32, 1, v, "outside f32's range");
    expect_fill_error(nb_init_uniform(-1.7e308, 1.7e308, 1), NB_F64, 1, v, "outside f64's range");
    expect_fill_error(nb_init_xavier_uniform(0, 1), NB_F32, 2, w, "gain must be finite and > 0");
    expect_fill_error(nb_init_xavier_normal(-1, 1), NB_F32, 2, w, "gain");

    /* Fans: rank 0 and 1 give none, as torch raises for fewer than 2 dimensions. */
    expect_fill_error(nb_init_xavier_uniform(1, 1), NB_F32, 1, v, "fewer than 2 dimensions");
    expect_fill_error(nb_init_xavier_normal(1, 1), NB_F32, 0, NULL, "fan_in and fan_out");
    nb_init half = nb_init_xavier_uniform(1, 1);
    half.fan_in = 3;
    expect_fill_error(half, NB_F32, 1, v, "set init.fan_out");
    expect_fill_error(nb_init_kaiming_uniform(0, NB_FAN_OUT, NB_NONLINEARITY_RELU, 1), NB_F32, 1, v,
                      "needs fan_out");
    expect_fill_error(nb_init_linear_weight(1), NB_F32, 1, v, "needs fan_in");
    expect_fill_error(nb_init_linear_bias(0, 1), NB_F32, 1, v, "the weight's fan_in");
    nb_init negfan = nb_init_kaiming_normal(0, NB_FAN_IN, NB_NONLINEARITY_RELU, 1);
    negfan.fan_in = -3;
    expect_fill_error(negfan, NB_F32, 2, w, "must be >= 0");

    nb_init k = nb_init_kaiming_uniform(0, (nb_fan_mode)5, NB_NONLINEARITY_RELU, 1);
    expect_fill_error(k, NB_F32, 2, w, "unknown mode 5");
    k = nb_init_kaiming_uniform(0, NB_FAN_IN, (nb_nonlinearity)9, 1);
    expect_fill_error(k, NB_F32, 2, w, "unknown nonlinearity 9");
    k = nb_init_kaiming_uniform(NAN, NB_FAN_IN, NB_NONLINEARITY_LEAKY_RELU, 1);
    expect_fill_error(k, NB_F32, 2, w, "slope must be finite");
    k = nb_init_kaiming_uniform(0, NB_FAN_IN, NB_NONLINEARITY_RELU, 1);
    k.layout = (nb_fan_layout)3;
    expect_fill_error(k, NB_F32, 2, w, "unknown layout 3");

    /* Integer and bool tensors take only constants they can hold. */
    expect_fill_error(nb_init_uniform(0, 1, 1), NB_I32, 1, v, "needs an f32 or f64 tensor");
    expect_fill_error(nb_init_normal(0, 1, 1), NB_BOOL, 1, v, "not bool");
    expect_fill_error(nb_init_constant(1.5), NB_I32, 1, v, "not an i32 value");
    expect_fill_error(nb_init_constant(3e9), NB_I32, 1, v, "not an i32 value");
    expect_fill_error(nb_init_constant(2), NB_BOOL, 1, v, "not a bool value");
    expect_fill_error(nb_init_constant(1e39), NB_F32, 1, v, "outside f32's range");

    /* The tensor itself. */
    expect_fill_error(nb_init_zeros(), (nb_dtype)7, 1, v, "unknown dtype 7");
    expect_fill_error(nb_init_zeros(), NB_F32, 9, w, "rank 9");
    expect_fill_error(nb_init_zeros(), NB_F32, 2, NULL, "shape is NULL");
    expect_fill_error(nb_init_zeros(), NB_F32, 2, neg, "dimension 1 is negative");
    char err[128];
    nb_init z = nb_init_zeros();
    assert_int_equal(nb_init_fill(&z, NB_F32, 1, v, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "output buffer is NULL"));
}

/* A failing nb_program_init_param reports on the program and changes nothing. */
static void expect_param_error(nb_program *p, const char *name, nb_init in, const char *what)
{
    assert_int_equal(nb_program_init_param(p, name, &in), -1);
    const char *e = nb_program_error(p);
    assert_non_null(e);
    if (!strstr(e, what))
        fail_msg("expected an error containing '%s', got '%s'", what, e);
}

static void test_program_errors(void **state)
{
    (void)state;
    nb_program *p = mlp_program();
    float b[256];
    for (int i = 0; i < 256; i++)
        b[i] = (float)i;
    nb_program_set_param(p, "fc1.b", b, sizeof b);
    int32_t k[3] = {4, 5, 6};
    nb_program_set_param(p, "k", k, sizeof k);

    expect_param_error(p, "nope", nb_init_zeros(), "no parameter named 'nope'");
    expect_param_error(p, NULL, nb_init_zeros(), "name is NULL");
    assert_int_equal(nb_program_init_param(p, "fc1.b", NULL), -1);
    assert_non_null(strstr(nb_program_error(p), "initializer is NULL"));
    expect_param_error(p, "fc1.b", nb_init_xavier_uniform(1, 1),
                       "parameter 'fc1.b' (f32[256]): xavier_uniform needs fan_in and fan_out");
    expect_param_error(p, "fc1.b", nb_init_normal(0, -2, 1), "std >= 0");
    expect_param_error(p, "k", nb_init_normal(0, 1, 1), "parameter 'k' (i32[3]): normal needs");
    expect_param_error(p, "m", nb_init_constant(0.5), "not a bool value");
    assert_int_equal(nb_program_init_param(NULL, "k", NULL), -1);

    /* init_linear checks both parameters before writing either. */
    assert_int_equal(nb_program_init_linear(p, "fc1.w", "k", 1), -1);
    assert_non_null(strstr(nb_program_error(p), "parameter 'k'"));
    assert_int_equal(nb_program_init_linear(p, "fc1.w", "d", 1), -1);
    assert_non_null(strstr(nb_program_error(p), "bias 'd' has 3 values"));
    assert_int_equal(nb_program_init_linear(p, "fc1.b", NULL, 1), -1);
    assert_non_null(strstr(nb_program_error(p), "has rank 1"));
    assert_int_equal(nb_program_init_linear(p, "nope", NULL, 1), -1);
    assert_int_equal(nb_program_init_linear(p, NULL, NULL, 1), -1);

    float b2[256];
    int32_t k2[3];
    static float w[784 * 256];
    nb_program_get_param(p, "fc1.b", b2, sizeof b2);
    nb_program_get_param(p, "k", k2, sizeof k2);
    nb_program_get_param(p, "fc1.w", w, sizeof w);
    assert_memory_equal(b, b2, sizeof b);
    assert_memory_equal(k, k2, sizeof k);
    for (int i = 0; i < 784 * 256; i++)
        assert_true(w[i] == 0.0f);
    nb_program_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_same_bytes),
        cmocka_unit_test(test_f32_is_rounded_f64),
        cmocka_unit_test(test_anchor_uniform),
        cmocka_unit_test(test_anchor_normal),
        cmocka_unit_test(test_seed_mixing),
        cmocka_unit_test(test_stats_uniform_normal),
        cmocka_unit_test(test_stats_linear),
        cmocka_unit_test(test_stats_xavier_kaiming),
        cmocka_unit_test(test_stats_receptive_field),
        cmocka_unit_test(test_fan_overrides),
        cmocka_unit_test(test_gains),
        cmocka_unit_test(test_constants_exact),
        cmocka_unit_test(test_program_init_param),
        cmocka_unit_test(test_program_init_linear),
        cmocka_unit_test(test_fill_errors),
        cmocka_unit_test(test_program_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
