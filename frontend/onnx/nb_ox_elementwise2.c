/* nb_ox_elementwise2.c — the importers of ONNX's binary and variadic elementwise ops
 * (arithmetic, Pow, Mod, comparisons, logic, Max/Min/Sum/Mean), Where and Clip, with
 * opset 6's limited broadcasting (the attributes broadcast and axis). */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nb_ox_elementwise.h"

typedef nb_node *(*binary_fn)(nb_graph *, nb_node *, nb_node *);

/* What a binary op takes and gives. */
typedef enum binary_kind {
    BINARY_ARITH,   /* float or integer operands; the result of their type */
    BINARY_COMPARE, /* operands of any one type; a BOOL result */
    BINARY_LOGIC    /* BOOL operands and result */
} binary_kind;

static nb_node *int_div(nb_graph *g, nb_node *a, nb_node *b);

/* Binary ops: fn computes floats (and bools, for logic), ifn i32 operands (NULL: not
 * defined on integers). fold is the op computed on known values; legacy: opset 6 gives
 * the op the attributes broadcast and axis. */
static const struct binary_op {
    const char *op;
    binary_fn fn, ifn;
    nb_ox_ew_op fold;
    binary_kind kind;
    int legacy;
} binary_ops[] = {
    {"Add", nb_add, nb_add, NB_OX_EW_ADD, BINARY_ARITH, 1},
    {"Sub", nb_sub, nb_sub, NB_OX_EW_SUB, BINARY_ARITH, 1},
    {"Mul", nb_mul, nb_mul, NB_OX_EW_MUL, BINARY_ARITH, 1},
    /* ONNX's integer division truncates toward zero; nabla's floor_div floors */
    {"Div", nb_div, int_div, NB_OX_EW_DIV, BINARY_ARITH, 1},
    {"Equal", nb_eq, nb_eq, NB_OX_EW_EQ, BINARY_COMPARE, 1},
    {"Less", nb_lt, nb_lt, NB_OX_EW_LT, BINARY_COMPARE, 1},
    {"Greater", nb_gt, nb_gt, NB_OX_EW_GT, BINARY_COMPARE, 1},
    {"LessOrEqual", nb_le, nb_le, NB_OX_EW_LE, BINARY_COMPARE, 0},
    {"GreaterOrEqual", nb_ge, nb_ge, NB_OX_EW_GE, BINARY_COMPARE, 0},
    {"And", nb_logical_and, NULL, NB_OX_EW_AND, BINARY_LOGIC, 1},
    {"Or", nb_logical_or, NULL, NB_OX_EW_OR, BINARY_LOGIC, 1},
    {"Xor", nb_logical_xor, NULL, NB_OX_EW_XOR, BINARY_LOGIC, 1},
};

/* a / b of i32 operands truncated toward zero: the floored quotient, plus one where
 * the division is inexact and the operands' signs differ. */
static nb_node *int_div(nb_graph *g, nb_node *a, nb_node *b)
{
    nb_node *zero = nb_scalar(g, NB_I32, 0), *q = nb_floor_div(g, a, b);
    nb_node *inexact = nb_ne(g, nb_remainder(g, a, b), zero);
    nb_node *signs = nb_ne(g, nb_lt(g, a, zero), nb_lt(g, b, zero));
    return nb_where(g, nb_logical_and(g, inexact, signs), nb_add(g, q, nb_scalar(g, NB_I32, 1)), q);
}

/* ---- opset 6's broadcasting ---- */

/* Opset 6's binary ops broadcast only with broadcast=1, and only B to A: B is one value,
 * or its shape matches A's dims from axis on (suffix matching without axis), a dim of 1
 * standing for any. Sets B's shape aligned to A for NumPy's rule (its dims followed by
 * ones) in *rank, dims; -1 after an error. */
static int legacy_shape(nb_ox *x, int *rank, int64_t *dims)
{
    int64_t broadcast = nb_ox_attr_int(x, "broadcast", 0);
    int has_axis = nb_ox_has_attr(x, "axis");
    int64_t axis = nb_ox_attr_int(x, "axis", 0);
    int ar = nb_ox_in_rank(x, 0), br = nb_ox_in_rank(x, 1);
    const int64_t *ad = nb_ox_in_dims(x, 0), *bd = nb_ox_in_dims(x, 1);
    if (ar < 0 || br < 0)
        return nb_ox_fail(x, "needs inputs A and B");
    int64_t bn = 1;
    for (int d = 0; d < br; d++)
        bn *= bd[d];
    if (!broadcast) {
        int same = ar == br;
        for (int d = 0; same && d < ar; d++)
            same = ad[d] == bd[d];
        if (!same)
            return nb_ox_fail(x, "A and B of different shapes without broadcast=1 (opset %d)",
                              nb_ox_opset(x));
        *rank = br;
        memcpy(dims, bd, (size_t)br * sizeof *dims);
        return 0;
    }
    if (bn == 1) {
        *rank = 0;
        return 0;
    }
    int start = ar - br;
    if (has_axis && (start = nb_ox_axis(x, axis, ar, "axis")) < 0)
        return -1;
    int ok = br <= ar && start >= 0 && start + br <= ar;
    for (int d = 0; ok && d < br; d++)
        ok = bd[d] == ad[start + d] || bd[d] == 1;
    if (!ok)
        return nb_ox_fail(x, "B of rank %d does not match A's dims from axis %d (rank %d)", br,
                          start, ar);
    *rank = ar - start;
    for (int d = 0; d < *rank; d++)
        dims[d] = d < br ? bd[d] : 1;
    return 0;
}

/* Input 1 as a node of the given shape (reshaped when opset 6 aligned it). */
static nb_node *in_shaped(nb_ox *x, int i, int rank, const int64_t *dims)
{
    nb_node *b = nb_ox_in(x, i);
    if (b && rank != nb_node_rank(b))
        b = nb_reshape(nb_ox_graph(x), b, rank, dims);
    return b;
}

/* ---- binary ops ---- */

int nb_ox_binary(nb_ox *x)
{
    const struct binary_op *o = NULL;
    for (size_t i = 0; i < sizeof binary_ops / sizeof binary_ops[0] && !o; i++)
        if (!strcmp(binary_ops[i].op, nb_ox_op_type(x)))
            o = &binary_ops[i];
    if (!o)
        return nb_ox_unsupported(x, "no binary builder");
    int ta = nb_ox_in_type(x, 0), tb = nb_ox_in_type(x, 1), rank = nb_ox_in_rank(x, 1);
    int64_t dims[NB_MAX_RANK];
    if (ta != tb)
        return nb_ox_fail(x, "A of type %s and B of type %s (one type is required)",
                          nb_onnx_type_name(ta), nb_onnx_type_name(tb));
    if (o->kind == BINARY_LOGIC   ? ta != NB_ONNX_BOOL
        : o->kind == BINARY_ARITH ? !nb_ox_ew_is_float(ta) && !nb_ox_ew_is_int(ta)
                                  : 0)
        return nb_ox_unsupported(x, "inputs of type %s", nb_onnx_type_name(ta));
    if (rank >= 0)
        memcpy(dims, nb_ox_in_dims(x, 1), (size_t)rank * sizeof *dims);
    if (o->legacy && nb_ox_opset(x) < 7 && legacy_shape(x, &rank, dims) != 0)
        return -1;
    int out = o->kind == BINARY_ARITH ? ta : NB_ONNX_BOOL;
    if (nb_ox_ew_foldable(x, 2)) {
        nb_ox_const *b = nb_ox_const_dup(x, nb_ox_in_known(x, 1));
        if (!b)
            return -1;
        b->rank = rank; /* the same values, aligned to A */
        memcpy(b->dims, dims, (size_t)rank * sizeof *dims);
        const nb_ox_const *in[2] = {nb_ox_in_known(x, 0), b};
        nb_ox_const *k = nb_ox_ew_fold(x, o->fold, in, 2, out, 0, 0);
        nb_ox_const_free(b);
        return nb_ox_out_known(x, 0, k);
    }
    nb_node *a = nb_ox_in(x, 0), *b = a ? in_shaped(x, 1, rank, dims) : NULL;
    if (!b)
        return -1;
    binary_fn fn = nb_ox_ew_is_int(ta) ? o->ifn : o->fn;
    return nb_ox_out_typed(x, 0, fn(nb_ox_graph(x), a, b), out);
}

/* Pow: x^y. A float x takes y cast to its type (ONNX allows any numeric y from opset
 * 12); an integer x is raised in f64 (exact while the result fits 2^53) and truncated
 * back, as ONNX's reference does. */
int nb_ox_pow(nb_ox *x)
{
    int ta = nb_ox_in_type(x, 0), tb = nb_ox_in_type(x, 1), rank = nb_ox_in_rank(x, 1);
    int64_t dims[NB_MAX_RANK];
    if ((!nb_ox_ew_is_float(ta) && !nb_ox_ew_is_int(ta)) ||
        (!nb_ox_ew_is_float(tb) && !nb_ox_ew_is_int(tb)))
        return nb_ox_unsupported(x, "Pow of %s and %s", nb_onnx_type_name(ta),
                                 nb_onnx_type_name(tb));
    if (rank >= 0)
        memcpy(dims, nb_ox_in_dims(x, 1), (size_t)rank * sizeof *dims);
    if (nb_ox_opset(x) < 7 && legacy_shape(x, &rank, dims) != 0)
        return -1;
    nb_node *a = nb_ox_in(x, 0), *b = a ? in_shaped(x, 1, rank, dims) : NULL;
    if (!b)
        return -1;
    nb_graph *g = nb_ox_graph(x);
    nb_dtype dt = nb_node_dtype(a);
    if (nb_ox_ew_is_int(ta)) {
        nb_node *y = nb_pow(g, nb_cast(g, a, NB_F64),
                            nb_node_dtype(b) == NB_F64 ? b : nb_cast(g, b, NB_F64));
        return nb_ox_out_typed(x, 0, nb_cast(g, y, NB_I32), ta);
    }
    return nb_ox_out(x, 0, nb_pow(g, a, nb_node_dtype(b) == dt ? b : nb_cast(g, b, dt)));
}

/* Mod(fmod = 0): integers take the sign of the divisor (nabla's remainder); fmod = 1 is
 * C's fmod, the sign of the dividend, for floats (nabla's fmod) and integers (the
 * remainder less the divisor where it is nonzero and the signs differ). ONNX requires
 * fmod = 1 for floats. */
int nb_ox_mod(nb_ox *x)
{
    int fmod_ = nb_ox_attr_int(x, "fmod", 0) != 0;
    int t = nb_ox_in_type(x, 0);
    if (nb_ox_in_type(x, 1) != t)
        return nb_ox_fail(x, "A of type %s and B of type %s (one type is required)",
                          nb_onnx_type_name(t), nb_onnx_type_name(nb_ox_in_type(x, 1)));
    if (nb_ox_ew_is_float(t) && !fmod_)
        return nb_ox_unsupported(x, "fmod=0 with %s inputs (ONNX requires fmod=1 for floats)",
                                 nb_onnx_type_name(t));
    if (!nb_ox_ew_is_float(t) && !nb_ox_ew_is_int(t))
        return nb_ox_unsupported(x, "inputs of type %s", nb_onnx_type_name(t));
    if (nb_ox_ew_foldable(x, 2)) {
        const nb_ox_const *in[2] = {nb_ox_in_known(x, 0), nb_ox_in_known(x, 1)};
        return nb_ox_out_known(
            x, 0, nb_ox_ew_fold(x, fmod_ ? NB_OX_EW_FMOD : NB_OX_EW_MOD, in, 2, t, 0, 0));
    }
    nb_node *a = nb_ox_in(x, 0), *b = a ? nb_ox_in(x, 1) : NULL;
    if (!b)
        return -1;
    nb_graph *g = nb_ox_graph(x);
    if (nb_ox_ew_is_float(t))
        return nb_ox_out(x, 0, nb_fmod(g, a, b));
    nb_node *r = nb_remainder(g, a, b);
    if (fmod_) {
        nb_node *zero = nb_scalar(g, NB_I32, 0);
        nb_node *fix =
            nb_logical_and(g, nb_ne(g, r, zero), nb_ne(g, nb_lt(g, a, zero), nb_lt(g, b, zero)));
        r = nb_where(g, fix, nb_sub(g, r, b), r);
    }
    return nb_ox_out_typed(x, 0, r, t);
}

/* ---- variadic ops ---- */

/* max(a, b) of i32 operands (nabla's maximum takes floats). */
static nb_node *int_max(nb_graph *g, nb_node *a, nb_node *b)
{
    return nb_where(g, nb_gt(g, a, b), a, b);
}

static nb_node *int_min(nb_graph *g, nb_node *a, nb_node *b)
{
    return nb_where(g, nb_lt(g, a, b), a, b);
}

/* Max, Min, Sum, Mean of one or more inputs (NumPy broadcasting from opset 8; equal
 * shapes before). Sum and Mean take floats, Max and Min integers too. */
int nb_ox_variadic(nb_ox *x)
{
    const char *op = nb_ox_op_type(x);
    int is_max = !strcmp(op, "Max"), is_min = !strcmp(op, "Min"), is_mean = !strcmp(op, "Mean");
    int n = nb_ox_n_inputs(x), t = nb_ox_in_type(x, 0);
    if (n < 1)
        return nb_ox_fail(x, "needs at least one input");
    if (!nb_ox_ew_is_float(t) && !((is_max || is_min) && nb_ox_ew_is_int(t)))
        return nb_ox_unsupported(x, "inputs of type %s", nb_onnx_type_name(t));
    for (int i = 0; i < n; i++) {
        if (nb_ox_in_type(x, i) != t)
            return nb_ox_fail(x, "input %d of type %s, input 0 of type %s", i,
                              nb_onnx_type_name(nb_ox_in_type(x, i)), nb_onnx_type_name(t));
        int same = nb_ox_in_rank(x, i) == nb_ox_in_rank(x, 0);
        for (int d = 0; same && d < nb_ox_in_rank(x, 0); d++)
            same = nb_ox_in_dims(x, i)[d] == nb_ox_in_dims(x, 0)[d];
        if (nb_ox_opset(x) < 8 && !same)
            return nb_ox_fail(x, "inputs of different shapes (opset %d broadcasts none)",
                              nb_ox_opset(x));
    }
    nb_ox_ew_op fold = is_max ? NB_OX_EW_MAX : is_min ? NB_OX_EW_MIN : NB_OX_EW_ADD;
    if (!is_mean && nb_ox_ew_foldable(x, n)) {
        nb_ox_const *acc = nb_ox_const_dup(x, nb_ox_in_known(x, 0));
        for (int i = 1; i < n && acc; i++) {
            const nb_ox_const *in[2] = {acc, nb_ox_in_known(x, i)};
            nb_ox_const *next = nb_ox_ew_fold(x, fold, in, 2, t, 0, 0);
            nb_ox_const_free(acc);
            acc = next;
        }
        return nb_ox_out_known(x, 0, acc);
    }
    nb_graph *g = nb_ox_graph(x);
    binary_fn fn = is_max   ? (nb_ox_ew_is_int(t) ? int_max : nb_maximum)
                   : is_min ? (nb_ox_ew_is_int(t) ? int_min : nb_minimum)
                            : nb_add;
    nb_node *y = nb_ox_in(x, 0);
    for (int i = 1; i < n && y; i++) {
        nb_node *b = nb_ox_in(x, i);
        y = b ? fn(g, y, b) : NULL;
    }
    if (!y)
        return -1;
    if (is_mean && n > 1)
        y = nb_div(g, y, nb_scalar(g, nb_node_dtype(y), n));
    return nb_ox_out_typed(x, 0, y, t);
}

/* ---- selecting ---- */

/* Where(condition, X, Y): NumPy broadcasting of all three. */
int nb_ox_where(nb_ox *x)
{
    int t = nb_ox_in_type(x, 1);
    if (nb_ox_in_type(x, 0) != NB_ONNX_BOOL)
        return nb_ox_fail(x, "condition of type %s (BOOL is required)",
                          nb_onnx_type_name(nb_ox_in_type(x, 0)));
    if (nb_ox_in_type(x, 2) != t)
        return nb_ox_fail(x, "X of type %s and Y of type %s (one type is required)",
                          nb_onnx_type_name(t), nb_onnx_type_name(nb_ox_in_type(x, 2)));
    if (nb_ox_ew_foldable(x, 3)) {
        const nb_ox_const *in[3] = {nb_ox_in_known(x, 0), nb_ox_in_known(x, 1),
                                    nb_ox_in_known(x, 2)};
        return nb_ox_out_known(x, 0, nb_ox_ew_fold(x, NB_OX_EW_WHERE, in, 3, t, 0, 0));
    }
    nb_node *c = nb_ox_in(x, 0), *a = c ? nb_ox_in(x, 1) : NULL, *b = a ? nb_ox_in(x, 2) : NULL;
    if (!b)
        return -1;
    return nb_ox_out_typed(x, 0, nb_where(nb_ox_graph(x), c, a, b), t);
}

/* One bound of Clip: *v and *has (0: absent, 1: known in *v, 2: a node in *n); -1
 * after an error. */
static int clip_bound(nb_ox *x, int i, const char *what, double *v, int *has, nb_node **n)
{
    *has = 0;
    if (nb_ox_opset(x) < 11) {
        if (nb_ox_has_attr(x, what)) {
            *v = nb_ox_attr_float(x, what, 0);
            *has = 1;
        }
        return 0;
    }
    if (!nb_ox_has_input(x, i))
        return 0;
    if (nb_ox_in_type(x, i) != nb_ox_in_type(x, 0))
        return nb_ox_fail(x, "%s of type %s for input of type %s", what,
                          nb_onnx_type_name(nb_ox_in_type(x, i)),
                          nb_onnx_type_name(nb_ox_in_type(x, 0)));
    int64_t numel = 1;
    for (int d = 0; d < nb_ox_in_rank(x, i); d++)
        numel *= nb_ox_in_dims(x, i)[d];
    if (numel != 1)
        return nb_ox_fail(x, "%s holds %lld values (a scalar is required)", what, (long long)numel);
    const nb_ox_const *k = nb_ox_in_known(x, i);
    if (k && !nb_ox_in_param(x, i)) {
        *v = nb_ox_const_get(k, 0);
        *has = 1;
        return 0;
    }
    *n = nb_ox_in(x, i);
    if (*n && nb_node_rank(*n) > 0)
        *n = nb_reshape(nb_ox_graph(x), *n, 0, NULL);
    *has = 2;
    return *n ? 0 : -1;
}

/* Clip: min(max(x, lo), hi), as numpy.clip (lo > hi gives hi). Bounds are attributes
 * before opset 11 and optional scalar inputs after (known or computed); an absent one
 * is the type's limit, as ONNX's numeric_limits. */
int nb_ox_clip(nb_ox *x)
{
    int t = nb_ox_in_type(x, 0), has_lo, has_hi;
    double lo = -FLT_MAX, hi = FLT_MAX;
    nb_node *nlo = NULL, *nhi = NULL;
    if (clip_bound(x, 1, "min", &lo, &has_lo, &nlo) != 0 ||
        clip_bound(x, 2, "max", &hi, &has_hi, &nhi) != 0)
        return -1;
    int is_int = nb_ox_ew_is_int(t);
    if (!nb_ox_ew_is_float(t) && !is_int)
        return nb_ox_unsupported(x, "input of type %s", nb_onnx_type_name(t));
    if (t == NB_ONNX_DOUBLE && nb_ox_opset(x) >= 11) {
        lo = has_lo ? lo : -DBL_MAX;
        hi = has_hi ? hi : DBL_MAX;
    }
    if ((has_lo == 1 && isnan(lo)) || (has_hi == 1 && isnan(hi)))
        return nb_ox_unsupported(x, "a NaN bound");
    nb_node *a = nb_ox_in(x, 0);
    if (!a)
        return -1;
    nb_graph *g = nb_ox_graph(x);
    if (!is_int && has_lo != 2 && has_hi != 2)
        return nb_ox_out(x, 0, nb_clamp(g, a, lo, hi));
    /* i32 values, or a bound computed at run time: max, then min */
    nb_node *y = a;
    if (has_lo) {
        if (has_lo == 1 && is_int && lo > INT32_MAX)
            return nb_ox_unsupported(x, "min %g outside the int32 range", lo);
        if (has_lo == 2 || !is_int || lo >= INT32_MIN) {
            nlo = has_lo == 2 ? nlo : nb_ox_ew_scalar(x, a, lo);
            y = is_int ? int_max(g, y, nlo) : nb_maximum(g, y, nlo);
        }
    } else if (!is_int)
        y = nb_maximum(g, y, nb_ox_ew_scalar(x, a, lo));
    if (has_hi) {
        if (has_hi == 1 && is_int && hi < INT32_MIN)
            return nb_ox_unsupported(x, "max %g outside the int32 range", hi);
        if (has_hi == 2 || !is_int || hi <= INT32_MAX) {
            nhi = has_hi == 2 ? nhi : nb_ox_ew_scalar(x, a, hi);
            y = is_int ? int_min(g, y, nhi) : nb_minimum(g, y, nhi);
        }
    } else if (!is_int)
        y = nb_minimum(g, y, nb_ox_ew_scalar(x, a, hi));
    return nb_ox_out_typed(x, 0, y, t);
}
