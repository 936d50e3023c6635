/* rt_init.c — parameter initializers (PyTorch's torch.nn.init kinds) drawn from the
 * project's seeded PRNG, so that a seed gives the same values on every machine. */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rt.h"

/* Every kind comes down to one of three distributions over doubles. */
typedef enum dist_kind { DIST_CONSTANT, DIST_UNIFORM, DIST_NORMAL } dist_kind;

typedef struct dist {
    dist_kind kind;
    double p, q; /* constant: p; uniform: [p, q); normal: mean p, std q */
} dist;

static const char *const kind_names[] = {
    "zeros",          "ones",           "constant",      "uniform",
    "normal",         "xavier_uniform", "xavier_normal", "kaiming_uniform",
    "kaiming_normal", "linear_weight",  "linear_bias",
};
#define N_KINDS ((int)(sizeof kind_names / sizeof kind_names[0]))

/* Box-Muller draws |z| <= sqrt(-2 log 2^-53) < 8.6: an f32 normal whose mean plus this
 * many std stays below FLT_MAX can never overflow when rounded to float. */
#define NORMAL_MAX_Z 9.0

static int fail(char *err, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t size, const char *fmt, ...)
{
    if (err && size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, size, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* ---- constructors ------------------------------------------------------------------- */

static nb_init make(nb_init_kind kind, uint64_t seed)
{
    nb_init in;
    memset(&in, 0, sizeof in);
    in.kind = kind;
    in.gain = 1.0;
    in.seed = seed;
    return in;
}

nb_init nb_init_zeros(void)
{
    return make(NB_INIT_ZEROS, 0);
}

nb_init nb_init_ones(void)
{
    return make(NB_INIT_ONES, 0);
}

nb_init nb_init_constant(double value)
{
    nb_init in = make(NB_INIT_CONSTANT, 0);
    in.value = value;
    return in;
}

nb_init nb_init_uniform(double low, double high, uint64_t seed)
{
    nb_init in = make(NB_INIT_UNIFORM, seed);
    in.low = low;
    in.high = high;
    return in;
}

nb_init nb_init_normal(double mean, double std, uint64_t seed)
{
    nb_init in = make(NB_INIT_NORMAL, seed);
    in.mean = mean;
    in.std = std;
    return in;
}

nb_init nb_init_xavier_uniform(double gain, uint64_t seed)
{
    nb_init in = make(NB_INIT_XAVIER_UNIFORM, seed);
    in.gain = gain;
    return in;
}

nb_init nb_init_xavier_normal(double gain, uint64_t seed)
{
    nb_init in = make(NB_INIT_XAVIER_NORMAL, seed);
    in.gain = gain;
    return in;
}

nb_init nb_init_kaiming_uniform(double slope, nb_fan_mode mode, nb_nonlinearity nl, uint64_t seed)
{
    nb_init in = make(NB_INIT_KAIMING_UNIFORM, seed);
    in.slope = slope;
    in.mode = mode;
    in.nonlinearity = nl;
    return in;
}

nb_init nb_init_kaiming_normal(double slope, nb_fan_mode mode, nb_nonlinearity nl, uint64_t seed)
{
    nb_init in = make(NB_INIT_KAIMING_NORMAL, seed);
    in.slope = slope;
    in.mode = mode;
    in.nonlinearity = nl;
    return in;
}

nb_init nb_init_linear_weight(uint64_t seed)
{
    return make(NB_INIT_LINEAR_WEIGHT, seed);
}

nb_init nb_init_linear_bias(int64_t fan_in, uint64_t seed)
{
    nb_init in = make(NB_INIT_LINEAR_BIAS, seed);
    in.fan_in = fan_in;
    return in;
}

/* ---- gains and seeds ---------------------------------------------------------------- */

double nb_init_gain(nb_nonlinearity nl, double slope)
{
    switch (nl) {
    case NB_NONLINEARITY_LEAKY_RELU: return sqrt(2.0 / (1.0 + slope * slope));
    case NB_NONLINEARITY_RELU: return sqrt(2.0);
    case NB_NONLINEARITY_LINEAR:
    case NB_NONLINEARITY_SIGMOID: return 1.0;
    case NB_NONLINEARITY_TANH: return 5.0 / 3.0;
    case NB_NONLINEARITY_SELU: return 3.0 / 4.0;
    }
    return NAN;
}

/* splitmix64's output function over x + golden ratio: a bijection that scatters bits. */
static uint64_t mix64(uint64_t x)
{
    return ir_mix64(x + IR_SPLITMIX_STEP);
}

uint64_t nb_init_seed(uint64_t base, const char *name)
{
    /* FNV-1a over the name's bytes (NULL counts as ""), then mixed with the base. */
    uint64_t h = name ? ir_fnv1a(IR_FNV1A_BASIS, name, strlen(name)) : IR_FNV1A_BASIS;
    return mix64(mix64(base) ^ h);
}

/* ---- resolving an nb_init into a distribution ---------------------------------------- */

/* The fans of a rank >= 2 shape under the layout, with the overrides applied; for rank 0
 * and 1 only overrides exist. need_in/need_out say which the kind uses. */
static int fans(const nb_init *in, const char *what, int rank, const int64_t *shape, int need_in,
                int need_out, double *fan_in, double *fan_out, char *err, size_t size)
{
    int64_t fi = 0, fo = 0;
    if (rank >= 2) {
        int64_t receptive = 1;
        for (int i = 2; i < rank; i++)
            receptive *= shape[i];
        int in_axis = in->layout == NB_LAYOUT_OUT_IN ? 1 : 0;
        fi = shape[in_axis] * receptive;
        fo = shape[1 - in_axis] * receptive;
    }
    if (in->fan_in > 0)
        fi = in->fan_in;
    if (in->fan_out > 0)
        fo = in->fan_out;
    if ((need_in && fi == 0) || (need_out && fo == 0)) {
        const char *missing = need_in && fi == 0 && need_out && fo == 0 ? "fan_in and fan_out"
                              : need_in && fi == 0                      ? "fan_in"
                                                                        : "fan_out";
        if (rank < 2)
            return fail(err, size,
                        "%s needs %s, which a rank-%d shape does not give (torch raises for "
                        "fewer than 2 dimensions): set init.%s",
                        what, missing, rank,
                        need_in && fi == 0 && need_out && fo == 0 ? "fan_in and init.fan_out"
                                                                  : missing);
        return fail(err, size, "%s needs %s > 0", what, missing);
    }
    *fan_in = (double)fi;
    *fan_out = (double)fo;
    return 0;
}

/* A uniform or normal distribution with zero mean and the given std, as torch builds
 * them: uniform bounds are sqrt(3) * std. */
static dist zero_mean(int uniform, double std)
{
    dist d;
    if (uniform) {
        double bound = sqrt(3.0) * std;
        d.kind = DIST_UNIFORM;
        d.p = -bound;
        d.q = bound;
    } else {
        d.kind = DIST_NORMAL;
        d.p = 0.0;
        d.q = std;
    }
    return d;
}

/* Checks that a constant fits the dtype. */
static int check_constant(double v, nb_dtype dt, const char *what, char *err, size_t size)
{
    if (dt == NB_F32 && isfinite(v) && fabs(v) > FLT_MAX)
        return fail(err, size, "%s: %g is outside f32's range", what, v);
    if (dt == NB_I32 && !(v == floor(v) && v >= INT32_MIN && v <= INT32_MAX))
        return fail(err, size, "%s: %g is not an i32 value (an integer in [%d, %d])", what, v,
                    INT32_MIN, INT32_MAX);
    if (dt == NB_BOOL && v != 0.0 && v != 1.0)
        return fail(err, size, "%s: %g is not a bool value (0 or 1)", what, v);
    return 0;
}

/* Validates init for a tensor of dtype dt and the given shape and gives its distribution.
 * numel == 0 needs no fans (nothing is drawn), as torch's kaiming skips empty tensors. */
static int resolve(const nb_init *in, nb_dtype dt, int rank, const int64_t *shape, int64_t numel,
                   dist *d, char *err, size_t size)
{
    if (!in)
        return fail(err, size, "the initializer is NULL");
    if ((int)in->kind < 0 || (int)in->kind >= N_KINDS)
        return fail(err, size, "unknown initializer kind %d (expected 0..%d, NB_INIT_*)",
                    (int)in->kind, N_KINDS - 1);
    const char *what = kind_names[in->kind];
    int is_float = dt == NB_F32 || dt == NB_F64;
    if (!is_float && in->kind > NB_INIT_CONSTANT)
        return fail(err, size,
                    "%s needs an f32 or f64 tensor, not %s (i32 and bool take "
                    "zeros, ones and constant only)",
                    what, ir_dtype_name(dt));
    if (in->fan_in < 0 || in->fan_out < 0)
        return fail(err, size,
                    "%s: fan_in and fan_out overrides must be >= 0 (0: from the "
                    "shape), got %lld and %lld",
                    what, (long long)in->fan_in, (long long)in->fan_out);
    if (in->layout != NB_LAYOUT_IN_OUT && in->layout != NB_LAYOUT_OUT_IN)
        return fail(err, size, "%s: unknown layout %d (NB_LAYOUT_IN_OUT or NB_LAYOUT_OUT_IN)", what,
                    (int)in->layout);
    double limit = dt == NB_F32 ? FLT_MAX : DBL_MAX, fi = 0, fo = 0;
    int uniform = in->kind == NB_INIT_XAVIER_UNIFORM || in->kind == NB_INIT_KAIMING_UNIFORM;

    switch (in->kind) {
    case NB_INIT_ZEROS:
    case NB_INIT_ONES:
    case NB_INIT_CONSTANT:
        d->kind = DIST_CONSTANT;
        d->p = in->kind == NB_INIT_ZEROS ? 0.0 : in->kind == NB_INIT_ONES ? 1.0 : in->value;
        d->q = 0.0;
        return check_constant(d->p, dt, what, err, size);
    case NB_INIT_UNIFORM:
        if (!isfinite(in->low) || !isfinite(in->high))
            return fail(err, size, "uniform: low and high must be finite, got %g and %g", in->low,
                        in->high);
        if (in->low > in->high)
            return fail(err, size, "uniform: low %g is greater than high %g", in->low, in->high);
        if (fabs(in->low) > limit || fabs(in->high) > limit || !isfinite(in->high - in->low))
            return fail(err, size, "uniform: [%g, %g) is outside %s's range", in->low, in->high,
                        ir_dtype_name(dt));
        d->kind = DIST_UNIFORM;
        d->p = in->low;
        d->q = in->high;
        return 0;
    case NB_INIT_NORMAL:
        if (!isfinite(in->mean) || !isfinite(in->std) || in->std < 0)
            return fail(err, size,
                        "normal: needs a finite mean and a finite std >= 0, got "
                        "mean %g, std %g",
                        in->mean, in->std);
        if (fabs(in->mean) + NORMAL_MAX_Z * in->std > limit)
            return fail(err, size, "normal: mean %g, std %g can draw values outside %s's range",
                        in->mean, in->std, ir_dtype_name(dt));
        d->kind = DIST_NORMAL;
        d->p = in->mean;
        d->q = in->std;
        return 0;
    case NB_INIT_XAVIER_UNIFORM:
    case NB_INIT_XAVIER_NORMAL:
        if (!isfinite(in->gain) || in->gain <= 0)
            return fail(err, size,
                        "%s: gain must be finite and > 0, got %g (torch's default "
                        "is 1)",
                        what, in->gain);
        if (numel == 0)
            break;
        if (fans(in, what, rank, shape, 1, 1, &fi, &fo, err, size) != 0)
            return -1;
        *d = zero_mean(uniform, in->gain * sqrt(2.0 / (fi + fo)));
        return 0;
    case NB_INIT_KAIMING_UNIFORM:
    case NB_INIT_KAIMING_NORMAL:
    case NB_INIT_LINEAR_WEIGHT: {
        int linear = in->kind == NB_INIT_LINEAR_WEIGHT;
        nb_fan_mode mode = linear ? NB_FAN_IN : in->mode;
        nb_nonlinearity nl = linear ? NB_NONLINEARITY_LEAKY_RELU : in->nonlinearity;
        double slope = linear ? sqrt(5.0) : in->slope;
        if (mode != NB_FAN_IN && mode != NB_FAN_OUT)
            return fail(err, size, "%s: unknown mode %d (NB_FAN_IN or NB_FAN_OUT)", what,
                        (int)mode);
        if (!isfinite(slope))
            return fail(err, size, "%s: the slope must be finite, got %g", what, slope);
        double gain = nb_init_gain(nl, slope);
        if (isnan(gain))
            return fail(err, size, "%s: unknown nonlinearity %d (NB_NONLINEARITY_*)", what,
                        (int)nl);
        if (numel == 0)
            break;
        if (fans(in, what, rank, shape, mode == NB_FAN_IN, mode == NB_FAN_OUT, &fi, &fo, err,
                 size) != 0)
            return -1;
        /* torch: std = gain / sqrt(fan), bound = sqrt(3) * std, in this order. */
        *d = zero_mean(linear || uniform, gain / sqrt(mode == NB_FAN_IN ? fi : fo));
        return 0;
    }
    case NB_INIT_LINEAR_BIAS: {
        if (in->fan_in <= 0)
            return fail(err, size,
                        "linear_bias needs init.fan_in = the weight's fan_in "
                        "(in_features), which the bias's shape does not give");
        double bound = 1.0 / sqrt((double)in->fan_in);
        d->kind = DIST_UNIFORM;
        d->p = -bound;
        d->q = bound;
        return 0;
    }
    }
    /* Only an empty tensor gets here: nothing will be drawn. */
    d->kind = DIST_CONSTANT;
    d->p = d->q = 0.0;
    return 0;
}

/* ---- drawing ------------------------------------------------------------------------ */

/* Writes n values of d in row-major order. Each product gets its own statement: C lets a
 * compiler fuse a*b+c into one FMA only within an expression, and a fused result would
 * differ in the last bit between machines with and without FMA. */
static void draw(const dist *d, nb_dtype dt, int64_t n, uint64_t seed, void *out)
{
    ir_rng r;
    ir_rng_seed(&r, seed);
    double span = d->q - d->p;
    for (int64_t i = 0; i < n; i++) {
        double x = d->p;
        if (d->kind == DIST_UNIFORM) {
            double t = span * ir_rng_uniform(&r);
            x = d->p + t;
            if (x > d->q) /* rounding of span may reach past high by an ulp */
                x = d->q;
        } else if (d->kind == DIST_NORMAL) {
            double t = d->q * ir_rng_normal(&r);
            x = d->p + t;
        }
        switch (dt) {
        case NB_F32: ((float *)out)[i] = (float)x; break;
        case NB_F64: ((double *)out)[i] = x; break;
        case NB_I32: ((int32_t *)out)[i] = (int32_t)x; break;
        case NB_BOOL: ((uint8_t *)out)[i] = (uint8_t)x; break;
        }
    }
}

/* Checks dtype and shape, then resolves init for them. */
static int prepare(const nb_init *init, nb_dtype dt, int rank, const int64_t *shape, dist *d,
                   int64_t *numel, char *err, size_t size)
{
    if (ir_dtype_size(dt) == 0)
        return fail(err, size, "unknown dtype %d", (int)dt);
    if (rank < 0 || rank > NB_MAX_RANK)
        return fail(err, size, "rank %d is outside [0, %d]", rank, NB_MAX_RANK);
    if (rank > 0 && !shape)
        return fail(err, size, "the shape is NULL for rank %d", rank);
    for (int i = 0; i < rank; i++)
        if (shape[i] < 0)
            return fail(err, size, "dimension %d is negative (%lld)", i, (long long)shape[i]);
    int64_t n = ir_shape_numel(rank, shape);
    if (n < 0) {
        char type[IR_TYPE_STR_MAX];
        return fail(err, size, "the element count of %s overflows 64 bits",
                    ir_format_type(dt, rank, shape, type, sizeof type));
    }
    *numel = n;
    return resolve(init, dt, rank, shape, n, d, err, size);
}

int nb_init_fill(const nb_init *init, nb_dtype dt, int rank, const int64_t *shape, void *out,
                 char *err, size_t err_size)
{
    dist d;
    int64_t n = 0;
    if (prepare(init, dt, rank, shape, &d, &n, err, err_size) != 0)
        return -1;
    if (n > 0 && !out)
        return fail(err, err_size, "the output buffer is NULL");
    draw(&d, dt, n, init->seed, out);
    return 0;
}

/* Resolves init for parameter `name` of p; the error goes on p. */
static int prepare_param(nb_program *p, const char *what, const char *name, const nb_init *init,
                         dist *d, int *index)
{
    if (!name)
        return rt_error(p, "%s: the name is NULL", what);
    int i = nb_program_param_index(p, name);
    if (i < 0)
        return rt_error(p, "%s: the program has no parameter named '%.200s'", what, name);
    nb_dtype dt = nb_program_param_dtype(p, i);
    int rank = nb_program_param_rank(p, i);
    const int64_t *shape = nb_program_param_shape(p, i);
    char msg[512], type[IR_TYPE_STR_MAX];
    int64_t n;
    if (prepare(init, dt, rank, shape, d, &n, msg, sizeof msg) != 0)
        return rt_error(p, "%s: parameter '%.200s' (%s): %s", what, name,
                        ir_format_type(dt, rank, shape, type, sizeof type), msg);
    *index = i;
    return 0;
}

int nb_program_init_param(nb_program *p, const char *name, const nb_init *init)
{
    if (!p)
        return -1;
    rt_error_clear(p);
    dist d;
    int i;
    if (prepare_param(p, "init_param", name, init, &d, &i) != 0)
        return -1;
    draw(&d, nb_program_param_dtype(p, i), nb_program_param_numel(p, i), init->seed,
         nb_program_param_data(p, i));
    return 0;
}

int nb_program_init_linear(nb_program *p, const char *weight, const char *bias, uint64_t seed)
{
    if (!p)
        return -1;
    rt_error_clear(p);
    if (!weight)
        return rt_error(p, "init_linear: the weight's name is NULL");
    int wi = nb_program_param_index(p, weight);
    if (wi < 0)
        return rt_error(p, "init_linear: the program has no parameter named '%.200s'", weight);
    int rank = nb_program_param_rank(p, wi);
    const int64_t *shape = nb_program_param_shape(p, wi);
    if (rank < 2)
        return rt_error(p, "init_linear: weight '%.200s' has rank %d; a weight is [in, out, ...]",
                        weight, rank);
    int64_t receptive = 1;
    for (int i = 2; i < rank; i++)
        receptive *= shape[i];
    /* torch: bound = 1 / sqrt(fan_in) if fan_in > 0 else 0 (an empty weight). */
    int64_t fan_in = shape[0] * receptive;
    nb_init w = nb_init_linear_weight(nb_init_seed(seed, weight));
    nb_init b = fan_in > 0 ? nb_init_linear_bias(fan_in, bias ? nb_init_seed(seed, bias) : 0)
                           : nb_init_zeros();
    dist dw, db;
    int bi = -1;
    if (prepare_param(p, "init_linear", weight, &w, &dw, &wi) != 0)
        return -1;
    if (bias) {
        if (prepare_param(p, "init_linear", bias, &b, &db, &bi) != 0)
            return -1;
        if (nb_program_param_numel(p, bi) != shape[1])
            return rt_error(p,
                            "init_linear: bias '%.200s' has %lld values, but weight "
                            "'%.200s' [in, out, ...] has out = %lld",
                            bias, (long long)nb_program_param_numel(p, bi), weight,
                            (long long)shape[1]);
    }
    draw(&dw, nb_program_param_dtype(p, wi), nb_program_param_numel(p, wi), w.seed,
         nb_program_param_data(p, wi));
    if (bias)
        draw(&db, nb_program_param_dtype(p, bi), nb_program_param_numel(p, bi), b.seed,
             nb_program_param_data(p, bi));
    return 0;
}
