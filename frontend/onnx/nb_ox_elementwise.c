/* nb_ox_elementwise.c — the importers of ONNX's unary elementwise ops: math functions,
 * activations (with their attributes), PRelu, and casts. Binary and variadic ops are in
 * nb_ox_elementwise2.c; values known at load time are computed on the host by
 * nb_ox_elementwise_fold.c. */
#include <math.h>
#include <string.h>

#include "nb_ox_elementwise.h"

typedef nb_node *(*unary_fn)(nb_graph *, nb_node *);

/* Unary ops of one float builder each. fold: the op computed on known values + 1 (0:
 * never computed at load time: libm's results may differ from the compiled graph's).
 * ints: integer inputs are taken too (composed in int_unary). */
static const struct unary_op {
    const char *op;
    unary_fn fn;
    int fold;
    int ints;
} unary_ops[] = {
    {"Abs", nb_abs, NB_OX_EW_ABS + 1, 1},
    {"Neg", nb_neg, NB_OX_EW_NEG + 1, 1},
    {"Sign", nb_sign, NB_OX_EW_SIGN + 1, 1},
    {"Relu", nb_relu, NB_OX_EW_RELU + 1, 1},
    {"Floor", nb_floor, NB_OX_EW_FLOOR + 1, 0},
    {"Ceil", nb_ceil, NB_OX_EW_CEIL + 1, 0},
    {"Round", nb_round, NB_OX_EW_ROUND + 1, 0}, /* half to even, as ONNX */
    {"Sqrt", nb_sqrt, NB_OX_EW_SQRT + 1, 0},
    {"Reciprocal", nb_reciprocal, NB_OX_EW_RECIPROCAL + 1, 0},
    {"Exp", nb_exp, 0, 0},
    {"Log", nb_log, 0, 0},
    {"Sin", nb_sin, 0, 0},
    {"Cos", nb_cos, 0, 0},
    {"Tanh", nb_tanh, 0, 0},
    {"Sigmoid", nb_sigmoid, 0, 0},
    {"Erf", nb_erf, 0, 0},
    {"Tan", nb_tan, 0, 0},
    {"Asin", nb_asin, 0, 0},
    {"Acos", nb_acos, 0, 0},
    {"Atan", nb_atan, 0, 0},
    {"Sinh", nb_sinh, 0, 0},
    {"Cosh", nb_cosh, 0, 0},
    {"Asinh", nb_asinh, 0, 0},
    {"Acosh", nb_acosh, 0, 0},
    {"Atanh", nb_atanh, 0, 0},
    /* log(exp(x) + 1); nabla's returns x above 20 as PyTorch, which differs from it
     * by log1p(exp(-20)) = 2e-9, far below f32's resolution at 20. */
    {"Softplus", nb_softplus, 0, 0},
};

/* The input's type when it is FLOAT or DOUBLE; -1 after an unsupported error. */
static int float_input(nb_ox *x, int i)
{
    int t = nb_ox_in_type(x, i);
    if (!nb_ox_ew_is_float(t))
        return nb_ox_unsupported(x, "input %d of type %s: nabla computes %s in FLOAT or DOUBLE", i,
                                 nb_onnx_type_name(t), nb_ox_op_type(x));
    return t;
}

/* Input i's node when it is FLOAT or DOUBLE; NULL after an error. */
static nb_node *float_in(nb_ox *x, int i)
{
    return float_input(x, i) < 0 ? NULL : nb_ox_in(x, i);
}

/* An integer op on an i32 node, composed of integer builders. */
static nb_node *int_unary(nb_ox *x, const char *op, nb_node *a)
{
    nb_graph *g = nb_ox_graph(x);
    nb_node *zero = nb_ox_ew_scalar(x, a, 0);
    if (!strcmp(op, "Neg"))
        return nb_sub(g, zero, a);
    if (!strcmp(op, "Abs"))
        return nb_where(g, nb_lt(g, a, zero), nb_sub(g, zero, a), a);
    if (!strcmp(op, "Relu"))
        return nb_where(g, nb_lt(g, a, zero), zero, a);
    /* Sign */
    return nb_sub(g, nb_cast(g, nb_gt(g, a, zero), NB_I32), nb_cast(g, nb_lt(g, a, zero), NB_I32));
}

/* Abs, Neg, Exp, ...: one builder each (the table above). */
int nb_ox_unary(nb_ox *x)
{
    const struct unary_op *u = NULL;
    for (size_t i = 0; i < sizeof unary_ops / sizeof unary_ops[0] && !u; i++)
        if (!strcmp(unary_ops[i].op, nb_ox_op_type(x)))
            u = &unary_ops[i];
    if (!u)
        return nb_ox_unsupported(x, "no unary builder");
    int t = nb_ox_in_type(x, 0);
    if (!nb_ox_ew_is_float(t) && !(u->ints && nb_ox_ew_is_int(t)))
        return nb_ox_unsupported(x, "input of type %s: nabla computes %s in FLOAT or DOUBLE%s",
                                 nb_onnx_type_name(t), u->op, u->ints ? ", INT32 or INT64" : "");
    if (u->fold && nb_ox_ew_foldable(x, 1)) {
        const nb_ox_const *k = nb_ox_in_known(x, 0);
        return nb_ox_out_known(x, 0, nb_ox_ew_fold(x, u->fold - 1, &k, 1, t, 0, 0));
    }
    nb_node *a = nb_ox_in(x, 0);
    if (!a)
        return -1;
    nb_graph *g = nb_ox_graph(x);
    if (!nb_ox_ew_is_float(t))
        return nb_ox_out_typed(x, 0, int_unary(x, u->op, a), t);
    nb_node *y = u->fn(g, a);
    if (!strcmp(u->op, "Sign")) /* sign(NaN) is NaN in ONNX (numpy), 0 in nabla */
        y = nb_where(g, nb_isnan(g, a), a, y);
    return nb_ox_out(x, 0, y);
}

/* ---- activations with attributes (float inputs) ---- */

/* LeakyRelu(alpha = 0.01): x for x >= 0, alpha x below. */
int nb_ox_leaky_relu(nb_ox *x)
{
    double alpha = nb_ox_attr_float(x, "alpha", (double)0.01f);
    nb_node *a = float_in(x, 0);
    return a ? nb_ox_out(x, 0, nb_leaky_relu(nb_ox_graph(x), a, alpha)) : -1;
}

/* Elu(alpha = 1), Selu(alpha, gamma) = gamma elu(x, alpha), Celu(alpha) = alpha
 * elu(x / alpha, 1). */
int nb_ox_elu(nb_ox *x)
{
    const char *op = nb_ox_op_type(x);
    int selu = !strcmp(op, "Selu"), celu = !strcmp(op, "Celu");
    double alpha = nb_ox_attr_float(x, "alpha", selu ? (double)1.67326319217681884765625f : 1.0);
    double gamma = selu ? nb_ox_attr_float(x, "gamma", (double)1.05070102214813232421875f) : 1.0;
    if (celu && alpha == 0)
        return nb_ox_unsupported(x, "Celu with alpha=0 (x / alpha is not defined)");
    nb_node *a = float_in(x, 0);
    if (!a)
        return -1;
    nb_graph *g = nb_ox_graph(x);
    if (celu)
        return nb_ox_out(x, 0,
                         nb_mul(g, nb_elu(g, nb_div(g, a, nb_ox_ew_scalar(x, a, alpha)), 1.0),
                                nb_ox_ew_scalar(x, a, alpha)));
    nb_node *y = nb_elu(g, a, alpha);
    return nb_ox_out(x, 0, selu ? nb_mul(g, y, nb_ox_ew_scalar(x, a, gamma)) : y);
}

/* HardSigmoid(alpha = 0.2, beta = 0.5) = clamp(alpha x + beta, 0, 1); HardSwish = x
 * hardsigmoid(x) with alpha = 1/6. */
int nb_ox_hard_sigmoid(nb_ox *x)
{
    int swish = !strcmp(nb_ox_op_type(x), "HardSwish");
    double alpha = swish ? 1.0 / 6 : nb_ox_attr_float(x, "alpha", (double)0.2f);
    double beta = swish ? 0.5 : nb_ox_attr_float(x, "beta", 0.5);
    nb_node *a = float_in(x, 0);
    if (!a)
        return -1;
    nb_graph *g = nb_ox_graph(x);
    nb_node *y = nb_clamp(
        g, nb_add(g, nb_mul(g, a, nb_ox_ew_scalar(x, a, alpha)), nb_ox_ew_scalar(x, a, beta)), 0,
        1);
    return nb_ox_out(x, 0, swish ? nb_mul(g, a, y) : y);
}

/* Softsign = x / (1 + |x|). */
int nb_ox_softsign(nb_ox *x)
{
    nb_node *a = float_in(x, 0);
    if (!a)
        return -1;
    nb_graph *g = nb_ox_graph(x);
    return nb_ox_out(x, 0, nb_div(g, a, nb_add(g, nb_ox_ew_scalar(x, a, 1), nb_abs(g, a))));
}

/* ThresholdedRelu(alpha = 1) = x for x > alpha, else 0. */
int nb_ox_thresholded_relu(nb_ox *x)
{
    double alpha = nb_ox_attr_float(x, "alpha", 1.0);
    nb_node *a = float_in(x, 0);
    if (!a)
        return -1;
    nb_graph *g = nb_ox_graph(x);
    return nb_ox_out(
        x, 0, nb_where(g, nb_gt(g, a, nb_ox_ew_scalar(x, a, alpha)), a, nb_ox_ew_scalar(x, a, 0)));
}

/* Shrink(lambd = 0.5, bias = 0) = x + bias below -lambd, x - bias above lambd, else 0. */
int nb_ox_shrink(nb_ox *x)
{
    double lambd = nb_ox_attr_float(x, "lambd", 0.5), bias = nb_ox_attr_float(x, "bias", 0);
    nb_node *a = float_in(x, 0);
    if (!a)
        return -1;
    nb_graph *g = nb_ox_graph(x);
    nb_node *b = nb_ox_ew_scalar(x, a, bias);
    nb_node *hi = nb_where(g, nb_gt(g, a, nb_ox_ew_scalar(x, a, lambd)), nb_sub(g, a, b),
                           nb_ox_ew_scalar(x, a, 0));
    return nb_ox_out(x, 0,
                     nb_where(g, nb_lt(g, a, nb_ox_ew_scalar(x, a, -lambd)), nb_add(g, a, b), hi));
}

/* The shape slope takes to broadcast against x: from opset 7 slope must broadcast to x
 * as NumPy does (unidirectionally); opset 6 says nothing of broadcasting, and PyTorch's
 * exports there give one slope per channel (axis 1) as [C], or one slope as [1]. */
static int prelu_slope_shape(nb_ox *x, int *rank, int64_t *dims)
{
    int xr = nb_ox_in_rank(x, 0), sr = nb_ox_in_rank(x, 1);
    const int64_t *xd = nb_ox_in_dims(x, 0), *sd = nb_ox_in_dims(x, 1);
    int64_t sn = 1;
    for (int d = 0; d < sr; d++)
        sn *= sd[d];
    *rank = sr;
    memcpy(dims, sd, (size_t)sr * sizeof *dims);
    if (nb_ox_opset(x) < 7) {
        if (sn == 1) {
            *rank = 0;
            return 0;
        }
        if (sr == 1 && xr >= 2 && sd[0] == xd[1]) {
            *rank = xr - 1;
            for (int d = 1; d < xr - 1; d++)
                dims[d] = 1;
            return 0;
        }
    }
    int ok = sr <= xr;
    for (int d = 0; ok && d < sr; d++)
        ok = sd[d] == 1 || sd[d] == xd[xr - sr + d];
    if (!ok)
        return nb_ox_fail(x, "slope of rank %d does not broadcast to X of rank %d", sr, xr);
    return 0;
}

/* PRelu: x for x >= 0, slope x below; slope broadcast to x (prelu_slope_shape). */
int nb_ox_prelu(nb_ox *x)
{
    int t = nb_ox_in_type(x, 0), rank;
    int64_t dims[NB_MAX_RANK];
    if (!nb_ox_ew_is_float(t) && !nb_ox_ew_is_int(t))
        return nb_ox_unsupported(x, "input of type %s", nb_onnx_type_name(t));
    if (nb_ox_in_type(x, 1) != t)
        return nb_ox_fail(x, "slope of type %s for X of type %s",
                          nb_onnx_type_name(nb_ox_in_type(x, 1)), nb_onnx_type_name(t));
    if (prelu_slope_shape(x, &rank, dims) != 0)
        return -1;
    nb_node *a = nb_ox_in(x, 0), *s = a ? nb_ox_in(x, 1) : NULL;
    if (!s)
        return -1;
    nb_graph *g = nb_ox_graph(x);
    if (rank != nb_node_rank(s))
        s = nb_reshape(g, s, rank, dims);
    nb_node *y = nb_where(g, nb_lt(g, a, nb_ox_ew_scalar(x, a, 0)), nb_mul(g, a, s), a);
    return nb_ox_out_typed(x, 0, y, t);
}

/* ---- masks ---- */

/* IsNaN. */
int nb_ox_isnan(nb_ox *x)
{
    if (float_input(x, 0) < 0)
        return -1;
    if (nb_ox_ew_foldable(x, 1)) {
        const nb_ox_const *k = nb_ox_in_known(x, 0);
        return nb_ox_out_known(x, 0, nb_ox_ew_fold(x, NB_OX_EW_ISNAN, &k, 1, NB_ONNX_BOOL, 0, 0));
    }
    nb_node *a = nb_ox_in(x, 0);
    return a ? nb_ox_out(x, 0, nb_isnan(nb_ox_graph(x), a)) : -1;
}

/* IsInf(detect_positive = 1, detect_negative = 1). */
int nb_ox_isinf(nb_ox *x)
{
    int pos = nb_ox_attr_int(x, "detect_positive", 1) != 0;
    int neg = nb_ox_attr_int(x, "detect_negative", 1) != 0;
    if (float_input(x, 0) < 0)
        return -1;
    if (nb_ox_ew_foldable(x, 1)) {
        const nb_ox_const *k = nb_ox_in_known(x, 0);
        return nb_ox_out_known(x, 0,
                               nb_ox_ew_fold(x, NB_OX_EW_ISINF, &k, 1, NB_ONNX_BOOL, pos, neg));
    }
    nb_node *a = nb_ox_in(x, 0);
    if (!a)
        return -1;
    nb_graph *g = nb_ox_graph(x);
    nb_node *inf = nb_ox_ew_scalar(x, a, INFINITY);
    nb_node *y = pos && neg ? nb_isinf(g, a)
                 : pos      ? nb_eq(g, a, inf)
                 : neg      ? nb_eq(g, a, nb_neg(g, inf))
                            : nb_ne(g, nb_ox_ew_scalar(x, a, 0), nb_ox_ew_scalar(x, a, 0));
    if (!pos && !neg) /* false everywhere: a rank-0 false broadcast to x's shape */
        y = nb_broadcast_to(g, y, nb_node_rank(a), nb_node_shape(a));
    return nb_ox_out(x, 0, y);
}

/* Not of a bool mask. */
int nb_ox_not(nb_ox *x)
{
    if (nb_ox_in_type(x, 0) != NB_ONNX_BOOL)
        return nb_ox_fail(x, "input of type %s (Not takes BOOL)",
                          nb_onnx_type_name(nb_ox_in_type(x, 0)));
    if (nb_ox_ew_foldable(x, 1)) {
        const nb_ox_const *k = nb_ox_in_known(x, 0);
        return nb_ox_out_known(x, 0, nb_ox_ew_fold(x, NB_OX_EW_NOT, &k, 1, NB_ONNX_BOOL, 0, 0));
    }
    nb_node *a = nb_ox_in(x, 0);
    return a ? nb_ox_out(x, 0, nb_logical_not(nb_ox_graph(x), a)) : -1;
}

/* ---- casts ---- */

/* Input 0 converted to type to (FLOAT, DOUBLE, INT32, INT64 or BOOL). */
static int cast_to(nb_ox *x, int to)
{
    int dt = nb_onnx_type_dtype(to);
    if (dt < 0)
        return nb_ox_unsupported(x, "a cast to %s, which nabla has no dtype for",
                                 nb_onnx_type_name(to));
    if (nb_ox_ew_foldable(x, 1)) {
        const nb_ox_const *k = nb_ox_in_known(x, 0);
        return nb_ox_out_known(x, 0, nb_ox_ew_fold(x, NB_OX_EW_CAST, &k, 1, to, 0, 0));
    }
    nb_node *a = nb_ox_in(x, 0);
    if (!a)
        return -1;
    nb_graph *g = nb_ox_graph(x);
    nb_node *y = a; /* the same dtype (INT64 <-> INT32 too): the value passes */
    if (dt == NB_BOOL && nb_node_dtype(a) != NB_BOOL)
        y = nb_ne(g, a, nb_ox_ew_scalar(x, a, 0)); /* NaN is true, as bool(nan) */
    else if ((int)nb_node_dtype(a) != dt)
        y = nb_cast(g, a, (nb_dtype)dt);
    return nb_ox_out_typed(x, 0, y, to);
}

/* Cast(to): FLOAT -> INT truncates toward zero (nabla saturates at the i32 range and
 * takes NaN to 0, where ONNX leaves it undefined). */
int nb_ox_cast(nb_ox *x)
{
    if (!nb_ox_has_attr(x, "to"))
        return nb_ox_fail(x, "Cast needs the attribute 'to'");
    return cast_to(x, (int)nb_ox_attr_int(x, "to", 0));
}

/* CastLike: input 0 cast to the type of input 1 (whose value is not read). */
int nb_ox_cast_like(nb_ox *x)
{
    if (!nb_ox_has_input(x, 1))
        return nb_ox_fail(x, "input 1 (target_type) is missing");
    return cast_to(x, nb_ox_in_type(x, 1));
}

/* BitShift is defined on unsigned types only, which nabla has none of. */
int nb_ox_bit_shift(nb_ox *x)
{
    nb_ox_attr_string(x, "direction", "");
    return nb_ox_unsupported(x, "BitShift takes unsigned integers, which nabla has no dtype for");
}
