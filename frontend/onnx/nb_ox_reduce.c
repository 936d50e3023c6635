/* nb_ox_reduce.c — the importers of ONNX's reductions (ReduceSum ... ReduceProd,
 * ArgMax/ArgMin), of the softmax family (Softmax, LogSoftmax, Hardmax), CumSum and TopK,
 * composed from nabla's reductions, nb_softmax/nb_log_softmax, nb_argmax and nb_cumsum.
 * The losses are in nb_ox_loss.c, Einsum in nb_ox_einsum.c. */
#include <stdlib.h>
#include <string.h>

#include "nb_ox.h"

/* ---- helpers ---- */

static int is_float(int onnx_type)
{
    return onnx_type == NB_ONNX_FLOAT || onnx_type == NB_ONNX_DOUBLE;
}

/* An i32 constant of v's rank holding 0, 1, ..., d-1 (or d-1, ..., 0 when rev) along
 * axis ax of size d, size 1 on the other axes; NULL after an error. */
static nb_node *iota(nb_ox *x, int rank, int ax, int64_t d, int rev)
{
    int64_t one[NB_MAX_RANK];
    if (d > INT32_MAX) {
        nb_ox_unsupported(x, "an axis of %lld elements", (long long)d);
        return NULL;
    }
    double *v = malloc((size_t)d * sizeof *v);
    if (!v) {
        nb_ox_fail(x, "out of memory");
        return NULL;
    }
    for (int i = 0; i < rank; i++)
        one[i] = i == ax ? d : 1;
    for (int64_t i = 0; i < d; i++)
        v[i] = (double)(rev ? d - 1 - i : i);
    nb_node *k = nb_constant(nb_ox_graph(x), NB_I32, rank, one, v);
    free(v);
    return k;
}

/* v reversed along axis ax: gathered by the index d-1, ..., 0 broadcast to v's shape
 * (nb_slice takes no negative step); differentiable through nb_take_along_axis. NULL
 * after an error (a builder's sticky one when v is NULL). */
static nb_node *flip(nb_ox *x, nb_node *v, int ax)
{
    nb_graph *g = nb_ox_graph(x);
    if (!v || nb_node_shape(v)[ax] <= 1)
        return v;
    int rank = nb_node_rank(v);
    nb_node *idx = iota(x, rank, ax, nb_node_shape(v)[ax], 1);
    if (!idx)
        return NULL;
    return nb_take_along_axis(g, v, nb_broadcast_to(g, idx, rank, nb_node_shape(v)), ax);
}

/* ---- ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceL1, ReduceL2, ReduceLogSum,
 * ReduceLogSumExp, ReduceSumSquare ---- */

/* The axes of a reduction in [0, rank), in *n (0: none named). ReduceSum takes them as
 * input 1 from opset 13, the others from opset 18; before, as the attribute `axes`.
 * Returns -1 after an error. */
static int reduce_axes(nb_ox *x, int rank, int *axes, int *n)
{
    int64_t raw[NB_OX_LIST_MAX];
    int from_input = nb_ox_opset(x) >= (strcmp(nb_ox_op_type(x), "ReduceSum") ? 18 : 13);
    *n = 0;
    if (from_input) {
        if (nb_ox_has_input(x, 1) && nb_ox_in_ints(x, 1, "axes", raw, NB_OX_LIST_MAX, n) != 0)
            return -1;
    } else {
        int k = nb_ox_attr_ints(x, "axes", raw, NB_OX_LIST_MAX);
        if (k == -2)
            return -1;
        *n = k < 0 ? 0 : k;
    }
    if (*n > rank)
        return nb_ox_fail(x, "%d axes given for an input of rank %d", *n, rank);
    for (int i = 0; i < *n; i++) {
        axes[i] = nb_ox_axis(x, raw[i], rank, "axes");
        if (axes[i] < 0)
            return -1;
        for (int j = 0; j < i; j++)
            if (axes[j] == axes[i])
                return nb_ox_fail(x, "axis %lld is given twice", (long long)raw[i]);
    }
    return 0;
}

typedef enum {
    R_SUM,
    R_MEAN,
    R_MAX,
    R_MIN,
    R_L1,
    R_L2,
    R_LOGSUM,
    R_LSE,
    R_SUMSQ,
    R_PROD
} reduce_kind;

static const struct {
    const char *op;
    reduce_kind kind;
} reduce_ops[] = {
    {"ReduceSum", R_SUM},       {"ReduceMean", R_MEAN},     {"ReduceMax", R_MAX},
    {"ReduceMin", R_MIN},       {"ReduceL1", R_L1},         {"ReduceL2", R_L2},
    {"ReduceLogSum", R_LOGSUM}, {"ReduceLogSumExp", R_LSE}, {"ReduceSumSquare", R_SUMSQ},
    {"ReduceProd", R_PROD},
};

int nb_ox_reduce(nb_ox *x)
{
    nb_graph *g = nb_ox_graph(x);
    int kind = -1;
    for (size_t i = 0; i < sizeof reduce_ops / sizeof reduce_ops[0]; i++)
        if (!strcmp(reduce_ops[i].op, nb_ox_op_type(x)))
            kind = (int)reduce_ops[i].kind;
    if (kind < 0)
        return nb_ox_unsupported(x, "no reduction builder");
    int type = nb_ox_in_type(x, 0), rank = nb_ox_in_rank(x, 0);
    int axes[NB_OX_LIST_MAX], n;
    if (rank < 0)
        return nb_ox_fail(x, "input 0 is missing");
    if (reduce_axes(x, rank, axes, &n) != 0)
        return -1;
    int keep = nb_ox_attr_int(x, "keepdims", 1) != 0;
    int noop = 0;
    if (nb_ox_opset(x) >= (kind == R_SUM ? 13 : 18))
        noop = nb_ox_attr_int(x, "noop_with_empty_axes", 0) != 0;
    nb_node *v = nb_ox_in(x, 0);
    if (!v)
        return -1;
    if (n == 0 && noop) /* the input passed on unchanged */
        return nb_ox_out_typed(x, 0, v, type);
    /* Max and Min of integers are exact in f64 (nabla's reductions take floats); the
     * arithmetic ones could overflow ONNX's integer types differently: refused. */
    int int_minmax = !is_float(type) && (kind == R_MAX || kind == R_MIN);
    if (!is_float(type) && !int_minmax)
        return nb_ox_unsupported(x, "%s of a non-float input", nb_ox_op_type(x));
    if (int_minmax)
        v = nb_cast(g, v, NB_F64);
    const int *ax = n ? axes : NULL;
    nb_node *y = NULL;
    switch ((reduce_kind)kind) {
    case R_SUM: y = nb_sum(g, v, ax, n, keep); break;
    case R_MEAN: y = nb_mean(g, v, ax, n, keep); break;
    case R_MAX: y = nb_max(g, v, ax, n, keep); break;
    case R_MIN: y = nb_min(g, v, ax, n, keep); break;
    case R_L1: y = nb_sum(g, nb_abs(g, v), ax, n, keep); break;
    case R_L2: y = nb_sqrt(g, nb_sum(g, nb_square(g, v), ax, n, keep)); break;
    case R_LOGSUM: y = nb_log(g, nb_sum(g, v, ax, n, keep)); break;
    case R_LSE: y = nb_logsumexp(g, v, ax, n, keep); break;
    case R_SUMSQ: y = nb_sum(g, nb_square(g, v), ax, n, keep); break;
    case R_PROD: y = nb_prod(g, v, ax, n, keep); break;
    }
    if (int_minmax)
        y = nb_cast(g, y, NB_I32);
    return nb_ox_out_typed(x, 0, y, type);
}

/* ---- ArgMax, ArgMin ---- */

/* nb_argmax/nb_argmin pick the first extreme (a NaN counting as one, as numpy's, which
 * ONNX's reference uses); select_last_index=1 picks the last: the same on the axis
 * reversed, its index r mapped back to d-1-r. Integer inputs are compared in f64
 * (exact for i32). */
int nb_ox_argreduce(nb_ox *x)
{
    nb_graph *g = nb_ox_graph(x);
    int is_max = !strcmp(nb_ox_op_type(x), "ArgMax");
    int rank = nb_ox_in_rank(x, 0), type = nb_ox_in_type(x, 0);
    int64_t axis = nb_ox_attr_int(x, "axis", 0);
    int keep = nb_ox_attr_int(x, "keepdims", 1) != 0;
    int last = nb_ox_attr_int(x, "select_last_index", 0) != 0;
    if (rank < 1)
        return nb_ox_fail(x, "input 0 is missing or of rank 0");
    int ax = nb_ox_axis(x, axis, rank, "axis");
    if (ax < 0)
        return -1;
    nb_node *v = nb_ox_in(x, 0);
    if (!v)
        return -1;
    if (!is_float(type))
        v = nb_cast(g, v, NB_F64);
    int64_t d = nb_ox_in_dims(x, 0)[ax];
    if (last)
        v = flip(x, v, ax);
    if (!v)
        return -1;
    nb_node *r = is_max ? nb_argmax(g, v, ax, keep) : nb_argmin(g, v, ax, keep);
    if (last)
        r = nb_sub(g, nb_scalar(g, NB_I32, (double)(d - 1)), r);
    return nb_ox_out(x, 0, r);
}

/* ---- Softmax, LogSoftmax, Hardmax ---- */

/* Hardmax along ax: 1 where the first largest element is, 0 elsewhere (ONNX's reference
 * is numpy's argmax: the first maximum, a NaN counting as the largest). */
static nb_node *hardmax(nb_ox *x, nb_node *v, int ax)
{
    if (!v)
        return NULL;
    nb_graph *g = nb_ox_graph(x);
    nb_node *at = iota(x, nb_node_rank(v), ax, nb_node_shape(v)[ax], 0);
    if (!at)
        return NULL;
    return nb_cast(g, nb_eq(g, nb_argmax(g, v, ax, 1), at), nb_node_dtype(v));
}

static nb_node *softmax_kind(nb_ox *x, nb_node *v, int ax)
{
    nb_graph *g = nb_ox_graph(x);
    const char *op = nb_ox_op_type(x);
    if (!strcmp(op, "Softmax"))
        return nb_softmax(g, v, ax);
    if (!strcmp(op, "LogSoftmax"))
        return nb_log_softmax(g, v, ax);
    return hardmax(x, v, ax);
}

/* Opset 13 and later normalize along one axis (default -1). Before, the input is
 * coerced to 2-D at axis (default 1): [prod(dims[:axis]), prod(dims[axis:])], and
 * normalized along its second axis, i.e. over all the trailing dims at once. */
int nb_ox_softmax(nb_ox *x)
{
    nb_graph *g = nb_ox_graph(x);
    int legacy = nb_ox_opset(x) < 13;
    int rank = nb_ox_in_rank(x, 0);
    int64_t axis = nb_ox_attr_int(x, "axis", legacy ? 1 : -1);
    if (rank < 1)
        return nb_ox_fail(x, "input 0 is missing or of rank 0");
    if (!is_float(nb_ox_in_type(x, 0)))
        return nb_ox_unsupported(x, "a non-float input");
    int ax = nb_ox_axis(x, axis, rank, "axis");
    if (ax < 0)
        return -1;
    nb_node *v = nb_ox_in(x, 0);
    if (!v)
        return -1;
    if (!legacy || ax == rank - 1)
        return nb_ox_out(x, 0, softmax_kind(x, v, ax));
    const int64_t *dims = nb_ox_in_dims(x, 0);
    int64_t flat[2] = {1, 1};
    for (int i = 0; i < rank; i++)
        flat[i >= ax] *= dims[i];
    nb_node *y = softmax_kind(x, nb_reshape(g, v, 2, flat), 1);
    return nb_ox_out(x, 0, nb_reshape(g, y, rank, dims));
}

/* ---- CumSum ---- */

/* nb_cumsum along the axis (input 1, known at load time); reverse=1 sums from the end
 * (the axis flipped, summed, flipped back); exclusive=1 leaves each element out: the
 * inclusive sums shifted by one along the axis, a zero first (nb_pad with 1 before and
 * -1 after crops the last sum). Floats only. */
int nb_ox_cumsum(nb_ox *x)
{
    nb_graph *g = nb_ox_graph(x);
    int exclusive = nb_ox_attr_int(x, "exclusive", 0) != 0;
    int reverse = nb_ox_attr_int(x, "reverse", 0) != 0;
    int rank = nb_ox_in_rank(x, 0), n;
    int64_t axis;
    if (rank < 1)
        return nb_ox_fail(x, "input 0 is missing or of rank 0");
    if (nb_ox_in_ints(x, 1, "axis", &axis, 1, &n) != 0)
        return -1;
    if (n != 1)
        return nb_ox_fail(x, "axis has %d values; expected 1", n);
    int ax = nb_ox_axis(x, axis, rank, "axis");
    if (ax < 0)
        return -1;
    if (!is_float(nb_ox_in_type(x, 0)))
        return nb_ox_unsupported(x, "CumSum of a non-float input");
    nb_node *v = nb_ox_in(x, 0);
    if (!v)
        return -1;
    if (reverse)
        v = flip(x, v, ax);
    nb_node *y = nb_cumsum(g, v, ax);
    if (exclusive) {
        int64_t pads[2 * NB_MAX_RANK] = {0};
        int n_pads = 2 * (rank - ax);
        pads[n_pads - 2] = 1;
        pads[n_pads - 1] = -1;
        y = nb_pad(g, y, n_pads, pads, NB_PAD_CONSTANT, 0.0);
    }
    if (reverse)
        y = flip(x, y, ax);
    return nb_ox_out(x, 0, y);
}

/* ---- TopK ---- */

/* Whether x_j comes before x_i in TopK's order, for x_j [.., 1, D, ..] against x_i
 * [.., D, 1, ..] (axes ax and ax+1): larger first (smaller first when !largest), a NaN
 * counting as larger than any number (as numpy's sort and torch.topk), equal values in
 * the order of their index (ONNX's tie rule). */
static nb_node *topk_before(nb_graph *g, nb_node *xj, nb_node *xi, nb_node *j_lt_i, int largest)
{
    nb_node *nj = nb_isnan(g, xj), *ni = nb_isnan(g, xi);
    nb_node *beats =
        largest ? nb_logical_or(g, nb_gt(g, xj, xi), nb_logical_and(g, nj, nb_logical_not(g, ni)))
                : nb_logical_or(g, nb_lt(g, xj, xi), nb_logical_and(g, nb_logical_not(g, nj), ni));
    nb_node *same = nb_logical_or(g, nb_eq(g, xj, xi), nb_logical_and(g, nj, ni));
    return nb_logical_or(g, beats, nb_logical_and(g, same, j_lt_i));
}

/* TopK, with k known at load time (an attribute before opset 10, input 1 after): the
 * rank of each element along the axis (how many come before it, pairwise, exact in f64
 * sums of 0/1), element i going to slot rank_i when it is below k; the values picked by
 * nb_take_along_axis (differentiable). sorted=0 leaves the order free: sorted is given.
 * Builds [.., D, D, ..] masks: refused above 2^24 elements. */
int nb_ox_topk(nb_ox *x)
{
    nb_graph *g = nb_ox_graph(x);
    int rank = nb_ox_in_rank(x, 0), type = nb_ox_in_type(x, 0), n = 1;
    int64_t k, axis = nb_ox_attr_int(x, "axis", -1);
    int largest = 1;
    if (nb_ox_opset(x) >= 11) {
        largest = nb_ox_attr_int(x, "largest", 1) != 0;
        (void)nb_ox_attr_int(x, "sorted", 1); /* either way: sorted is a valid order */
    }
    if (nb_ox_opset(x) < 10)
        k = nb_ox_attr_int(x, "k", 0);
    else if (nb_ox_in_ints(x, 1, "k", &k, 1, &n) != 0)
        return -1;
    if (rank < 1 || rank >= NB_MAX_RANK)
        return nb_ox_unsupported(x, "an input of rank %d (1 to %d are supported)", rank,
                                 NB_MAX_RANK - 1);
    int ax = nb_ox_axis(x, axis, rank, "axis");
    if (ax < 0)
        return -1;
    const int64_t *dims = nb_ox_in_dims(x, 0);
    int64_t d = dims[ax], numel = 1;
    if (n != 1 || k < 1 || k > d)
        return nb_ox_unsupported(x, "k must be one value in [1, %lld]", (long long)d);
    for (int i = 0; i < rank; i++)
        numel *= dims[i];
    if (numel > (1 << 24) / d)
        return nb_ox_unsupported(x, "TopK over %lld elements of an axis of %lld", (long long)numel,
                                 (long long)d);
    nb_node *v = nb_ox_in(x, 0);
    if (!v)
        return -1;
    nb_node *f = is_float(type) ? v : nb_cast(g, v, NB_F64);
    int64_t si[NB_MAX_RANK], sj[NB_MAX_RANK];
    for (int i = 0, o = 0; i < rank; i++, o++) {
        si[o] = sj[o] = dims[i];
        if (i == ax) {
            si[o + 1] = 1, sj[o] = 1, sj[o + 1] = dims[i];
            o++;
        }
    }
    nb_node *ii = iota(x, rank + 1, ax, d, 0), *jj = iota(x, rank + 1, ax + 1, d, 0);
    nb_node *rr = iota(x, rank + 1, ax + 1, k, 0);
    if (!ii || !jj || !rr)
        return -1;
    nb_node *before = topk_before(g, nb_reshape(g, f, rank + 1, sj), nb_reshape(g, f, rank + 1, si),
                                  nb_lt(g, jj, ii), largest);
    int jax = ax + 1;
    nb_node *place = nb_sum(g, nb_cast(g, before, NB_F64), &jax, 1, 1); /* [.., D, 1, ..] */
    nb_node *hit = nb_eq(g, place, nb_cast(g, rr, NB_F64));             /* [.., D, k, ..] */
    nb_node *idx =
        nb_sum(g, nb_where(g, hit, nb_cast(g, ii, NB_F64), nb_scalar(g, NB_F64, 0)), &ax, 1, 0);
    idx = nb_cast(g, idx, NB_I32);
    nb_node *vals = nb_take_along_axis(g, f, idx, ax);
    if (!is_float(type))
        vals = nb_cast(g, vals, NB_I32);
    if (nb_ox_out_typed(x, 0, vals, type) != 0)
        return -1;
    return nb_ox_n_outputs(x) > 1 ? nb_ox_out(x, 1, idx) : 0;
}
