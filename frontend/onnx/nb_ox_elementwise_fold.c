/* nb_ox_elementwise_fold.c — elementwise ops computed at load time on known values
 * (nb_ox_elementwise.h): integers and bools exactly in int64 (wrapping to the result's
 * width), floats in double rounded to the result's type. Only ops that IEEE arithmetic
 * rounds correctly are computed here (no exp, no pow), so that a value computed on the
 * host equals the one the compiled graph would compute. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nb_ox_elementwise.h"

int nb_ox_ew_is_float(int type)
{
    return type == NB_ONNX_FLOAT || type == NB_ONNX_DOUBLE;
}

int nb_ox_ew_is_int(int type)
{
    return type == NB_ONNX_INT32 || type == NB_ONNX_INT64;
}

nb_node *nb_ox_ew_scalar(nb_ox *x, const nb_node *like, double v)
{
    return nb_scalar(nb_ox_graph(x), nb_node_dtype(like), v);
}

int nb_ox_ew_foldable(nb_ox *x, int n)
{
    int64_t dims[NB_MAX_RANK];
    int rank = 0;
    for (int i = 0; i < n; i++) {
        const nb_ox_const *k = nb_ox_in_known(x, i);
        if (!k || nb_ox_in_param(x, i) || k->numel > NB_OX_EW_FOLD_MAX)
            return 0;
        while (rank < k->rank) { /* NumPy aligns trailing axes: prepend ones */
            memmove(dims + 1, dims, (size_t)rank * sizeof *dims);
            dims[0] = 1;
            rank++;
        }
        for (int d = 0; d < k->rank; d++) {
            int64_t *o = &dims[rank - k->rank + d];
            *o = k->dims[d] > *o ? k->dims[d] : *o;
        }
    }
    /* inputs of a few values each may broadcast to many: [65536, 1] + [1, 65536] */
    int64_t numel = 1;
    for (int d = 0; d < rank; d++)
        if ((numel *= dims[d]) > NB_OX_EW_FOLD_MAX)
            return 0;
    return 1;
}

/* The NumPy broadcast of the inputs' shapes into *rank, dims; -1 after an error. */
static int fold_shape(nb_ox *x, const nb_ox_const *const *in, int n, int *rank, int64_t *dims)
{
    int r = 0;
    for (int i = 0; i < n; i++)
        r = in[i]->rank > r ? in[i]->rank : r;
    for (int d = 0; d < r; d++)
        dims[d] = 1;
    for (int i = 0; i < n; i++)
        for (int d = 0; d < in[i]->rank; d++) {
            int64_t v = in[i]->dims[d], *o = &dims[r - in[i]->rank + d];
            if (v != *o && v != 1 && *o != 1)
                return nb_ox_fail(x,
                                  "inputs of shapes that do not broadcast (axis %d: %lld vs %lld)",
                                  d - in[i]->rank, (long long)*o, (long long)v);
            if (*o == 1)
                *o = v;
        }
    *rank = r;
    return 0;
}

/* The index in k of element j of the broadcast result of rank r and dims. */
static int64_t fold_index(const nb_ox_const *k, int r, const int64_t *dims, int64_t j)
{
    int64_t idx = 0, stride = 1;
    for (int d = r - 1; d >= 0; d--) {
        int64_t c = j % dims[d];
        j /= dims[d];
        int kd = d - (r - k->rank);
        if (kd >= 0) {
            if (k->dims[kd] != 1)
                idx += c * stride;
            stride *= k->dims[kd];
        }
    }
    return idx;
}

/* An int64 result wrapped to the type's width (INT32 wraps as C's int32_t); bools 0/1. */
static int64_t wrap(int type, int64_t v)
{
    if (type == NB_ONNX_BOOL)
        return v != 0;
    if (type == NB_ONNX_INT32)
        return (int32_t)(uint32_t)(uint64_t)v;
    return v;
}

/* A float converted to an integer type: truncated toward zero, NaN -> 0 and saturated at
 * the type's range, as nabla's cast computes it at run time. */
static int64_t float_to_int(int type, double v)
{
    if (type == NB_ONNX_BOOL)
        return v != 0; /* NaN is true, as bool(nan) */
    double lo = type == NB_ONNX_INT32 ? (double)INT32_MIN : -9223372036854775808.0;
    double hi = type == NB_ONNX_INT32 ? (double)INT32_MAX : 9223372036854775807.0;
    if (isnan(v))
        return 0;
    if (v <= lo)
        return type == NB_ONNX_INT32 ? INT32_MIN : INT64_MIN;
    if (v >= hi)
        return type == NB_ONNX_INT32 ? INT32_MAX : INT64_MAX;
    return (int64_t)v;
}

/* A double rounded to the float type. */
static double to_float(int type, double v)
{
    return type == NB_ONNX_FLOAT ? (double)(float)v : v;
}

/* Integer ops on a, b (wrapping: computed in uint64). -1 for a division by zero. */
static int int_op(nb_ox_ew_op op, int64_t a, int64_t b, int64_t *r)
{
    uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
    switch (op) {
    case NB_OX_EW_ADD: *r = (int64_t)(ua + ub); return 0;
    case NB_OX_EW_SUB: *r = (int64_t)(ua - ub); return 0;
    case NB_OX_EW_MUL: *r = (int64_t)(ua * ub); return 0;
    case NB_OX_EW_MAX: *r = a > b ? a : b; return 0;
    case NB_OX_EW_MIN: *r = a < b ? a : b; return 0;
    case NB_OX_EW_EQ: *r = a == b; return 0;
    case NB_OX_EW_LT: *r = a < b; return 0;
    case NB_OX_EW_GT: *r = a > b; return 0;
    case NB_OX_EW_LE: *r = a <= b; return 0;
    case NB_OX_EW_GE: *r = a >= b; return 0;
    case NB_OX_EW_AND: *r = a && b; return 0;
    case NB_OX_EW_OR: *r = a || b; return 0;
    case NB_OX_EW_XOR: *r = !a != !b; return 0;
    default: break;
    }
    if (b == 0)
        return -1;
    if (b == -1) { /* INT64_MIN / -1 overflows in C: wrap instead */
        *r = op == NB_OX_EW_DIV ? (int64_t)(0 - ua) : 0;
        return 0;
    }
    int64_t m = a % b;
    if (op == NB_OX_EW_DIV)
        *r = a / b;
    else if (op == NB_OX_EW_MOD && m != 0 && (m < 0) != (b < 0))
        *r = m + b;
    else
        *r = m;
    return 0;
}

/* Float ops on a, b (comparisons give 0 or 1). */
static double float_op(nb_ox_ew_op op, double a, double b)
{
    switch (op) {
    case NB_OX_EW_ADD: return a + b;
    case NB_OX_EW_SUB: return a - b;
    case NB_OX_EW_MUL: return a * b;
    case NB_OX_EW_DIV: return a / b;
    case NB_OX_EW_FMOD: return fmod(a, b);
    case NB_OX_EW_MAX: return a > b || isnan(a) ? a : b;
    case NB_OX_EW_MIN: return a < b || isnan(a) ? a : b;
    case NB_OX_EW_EQ: return a == b;
    case NB_OX_EW_LT: return a < b;
    case NB_OX_EW_GT: return a > b;
    case NB_OX_EW_LE: return a <= b;
    case NB_OX_EW_GE: return a >= b;
    default: return NAN;
    }
}

/* A unary op on a float v. */
static double float_unary(nb_ox_ew_op op, double v, double p0, double p1)
{
    switch (op) {
    case NB_OX_EW_NEG: return -v;
    case NB_OX_EW_ABS: return fabs(v);
    case NB_OX_EW_SIGN: return v > 0 ? 1 : v < 0 ? -1 : v; /* NaN and +-0 pass */
    case NB_OX_EW_RELU: return v < 0 ? 0 : v;
    case NB_OX_EW_FLOOR: return floor(v);
    case NB_OX_EW_CEIL: return ceil(v);
    case NB_OX_EW_ROUND: return nearbyint(v);
    case NB_OX_EW_SQRT: return sqrt(v);
    case NB_OX_EW_RECIPROCAL: return 1 / v;
    case NB_OX_EW_ISNAN: return isnan(v);
    case NB_OX_EW_ISINF: return (v == INFINITY && p0 != 0) || (v == -INFINITY && p1 != 0);
    default: return v;
    }
}

/* A unary op on an integer v. */
static int64_t int_unary(nb_ox_ew_op op, int64_t v)
{
    switch (op) {
    case NB_OX_EW_NEG: return (int64_t)(0 - (uint64_t)v);
    case NB_OX_EW_ABS: return v < 0 ? (int64_t)(0 - (uint64_t)v) : v;
    case NB_OX_EW_SIGN: return (v > 0) - (v < 0);
    case NB_OX_EW_RELU: return v < 0 ? 0 : v;
    case NB_OX_EW_NOT: return !v;
    default: return v;
    }
}

/* Element j of the result into out: the operands' values are a[] (as doubles) and ai[]
 * (as integers, for integer and bool types). -1 for an integer division by zero. */
static int fold_elem(nb_ox_ew_op op, const nb_ox_const *const *in, int n, const double *a,
                     const int64_t *ai, nb_ox_const *out, int64_t j, double p0, double p1)
{
    int isf = in[n - 1]->f != NULL; /* where: the type of the values chosen */
    int out_f = out->f != NULL;
    if (op == NB_OX_EW_WHERE) {
        if (out_f)
            out->f[j] = ai[0] ? a[1] : a[2];
        else
            out->i[j] = ai[0] ? ai[1] : ai[2];
        return 0;
    }
    if (op == NB_OX_EW_CAST) {
        if (out_f)
            out->f[j] = to_float(out->type, a[0]);
        else
            out->i[j] = isf ? float_to_int(out->type, a[0]) : wrap(out->type, ai[0]);
        return 0;
    }
    if (n == 1) {
        if (isf) {
            double v = float_unary(op, a[0], p0, p1);
            if (out_f)
                out->f[j] = to_float(out->type, v);
            else
                out->i[j] = v != 0;
        } else
            out->i[j] = wrap(out->type, int_unary(op, ai[0]));
        return 0;
    }
    if (isf) {
        double v = float_op(op, a[0], a[1]);
        if (out_f)
            out->f[j] = to_float(out->type, v);
        else
            out->i[j] = v != 0;
        return 0;
    }
    int64_t r;
    if (int_op(op, ai[0], ai[1], &r) != 0)
        return -1;
    out->i[j] = wrap(out->type, r);
    return 0;
}

nb_ox_const *nb_ox_ew_fold(nb_ox *x, nb_ox_ew_op op, const nb_ox_const *const *in, int n,
                           int out_type, double p0, double p1)
{
    int rank = 0;
    int64_t dims[NB_MAX_RANK];
    if (n < 1 || n > 3 || fold_shape(x, in, n, &rank, dims) != 0)
        return NULL;
    nb_ox_const *out = nb_ox_const_new(x, out_type, rank, dims);
    if (!out)
        return NULL;
    for (int64_t j = 0; j < out->numel; j++) {
        double a[3];
        int64_t ai[3];
        for (int i = 0; i < n; i++) {
            int64_t s = fold_index(in[i], rank, dims, j);
            a[i] = nb_ox_const_get(in[i], s);
            ai[i] = in[i]->i ? in[i]->i[s] : 0;
        }
        if (fold_elem(op, in, n, a, ai, out, j, p0, p1) != 0) {
            nb_ox_const_free(out);
            nb_ox_fail(x, "integer division by zero in a value known at load time");
            return NULL;
        }
    }
    return out;
}
