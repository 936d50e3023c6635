/* nb_ox_loss.c — the importers of ONNX's losses: NegativeLogLikelihoodLoss and
 * SoftmaxCrossEntropyLoss (its log_softmax, then the same loss), over [N, C, d1..dk]
 * inputs with [N, d1..dk] integer targets, an optional class weight [C], ignore_index and
 * reduction none / sum / mean. */
#include <string.h>

#include "nb_ox.h"

/* The reduction attribute (default "mean"); -1 after refusing another value. */
static int reduction(nb_ox *x)
{
    const char *r = nb_ox_attr_string(x, "reduction", "mean");
    if (!strcmp(r, "mean"))
        return NB_REDUCTION_MEAN;
    if (!strcmp(r, "sum"))
        return NB_REDUCTION_SUM;
    if (!strcmp(r, "none"))
        return NB_REDUCTION_NONE;
    return nb_ox_fail(x, "reduction '%.40s' is not none, sum or mean", r);
}

/* The loss of log-probabilities logp [N, C, d1..dk] (input 0's shape) against the
 * targets (input 1), as ONNX's reference: l = -logp[n, t, d...] * w[t], with w the class
 * weight (input 2) or 1, and l = 0 (its weight 0) where t == ignore_index; mean is
 * sum(l) / sum(w) over the targets not ignored (with neither weight nor ignore_index,
 * the plain mean). Ignored targets are replaced by 0 before they index anything, so an
 * ignore_index outside [0, C) is fine; another target outside [0, C) fails the run. */
static nb_node *nll(nb_ox *x, nb_node *logp, int red)
{
    nb_graph *g = nb_ox_graph(x);
    int rank = nb_ox_in_rank(x, 0), trank = nb_ox_in_rank(x, 1);
    const int64_t *dims = nb_ox_in_dims(x, 0), *tdims = nb_ox_in_dims(x, 1);
    int has_ii = nb_ox_has_attr(x, "ignore_index");
    int64_t ii = nb_ox_attr_int(x, "ignore_index", 0);
    if (rank < 2 || trank != rank - 1) {
        nb_ox_fail(x,
                   "expected an input [N, C, d1..dk] and a target [N, d1..dk], got ranks %d "
                   "and %d",
                   rank, trank);
        return NULL;
    }
    int64_t idx_shape[NB_MAX_RANK];
    for (int d = 0; d < trank; d++) {
        if (tdims[d] != dims[d ? d + 1 : 0]) {
            nb_ox_fail(x, "target dimension %d is %lld; the input's is %lld", d,
                       (long long)tdims[d], (long long)dims[d ? d + 1 : 0]);
            return NULL;
        }
        idx_shape[d ? d + 1 : 0] = tdims[d];
    }
    idx_shape[1] = 1;
    int t_type = nb_ox_in_type(x, 1);
    if (t_type != NB_ONNX_INT64 && t_type != NB_ONNX_INT32) {
        nb_ox_fail(x, "the target is %s; expected an integer type", nb_onnx_type_name(t_type));
        return NULL;
    }
    if (has_ii && (ii < INT32_MIN || ii > INT32_MAX)) {
        nb_ox_unsupported(x, "ignore_index %lld outside the int32 range", (long long)ii);
        return NULL;
    }
    nb_node *t = nb_ox_in(x, 1), *w = NULL;
    if (!t)
        return NULL;
    nb_dtype dt = nb_node_dtype(logp);
    if (nb_ox_has_input(x, 2)) {
        int wrank = nb_ox_in_rank(x, 2);
        if (wrank != 1 || nb_ox_in_dims(x, 2)[0] != dims[1]) {
            nb_ox_fail(x, "the weight must be [C] with C = %lld", (long long)dims[1]);
            return NULL;
        }
        if (!(w = nb_ox_in(x, 2)))
            return NULL;
    }
    nb_node *keep = NULL, *zero = nb_scalar(g, dt, 0.0);
    if (has_ii) {
        nb_node *iik = nb_scalar(g, NB_I32, (double)ii);
        keep = nb_ne(g, t, iik);
        t = nb_where(g, keep, t, nb_scalar(g, NB_I32, 0.0));
    }
    nb_node *picked = nb_take_along_axis(g, logp, nb_reshape(g, t, rank, idx_shape), 1);
    nb_node *l = nb_neg(g, nb_reshape(g, picked, trank, tdims));
    if (w) {
        w = nb_gather(g, w, t);
        l = nb_mul(g, l, w);
    }
    if (keep) {
        l = nb_where(g, keep, l, zero);
        w = nb_where(g, keep, w ? w : nb_scalar(g, dt, 1.0), zero);
    }
    if (red == NB_REDUCTION_NONE)
        return l;
    if (red == NB_REDUCTION_SUM)
        return nb_sum(g, l, NULL, 0, 0);
    if (!w)
        return nb_mean(g, l, NULL, 0, 0);
    return nb_div(g, nb_sum(g, l, NULL, 0, 0), nb_sum(g, w, NULL, 0, 0));
}

/* NegativeLogLikelihoodLoss (opset 12): input, target, optional weight. */
int nb_ox_nll_loss(nb_ox *x)
{
    int red = reduction(x);
    if (red < 0)
        return -1;
    int type = nb_ox_in_type(x, 0);
    if (type != NB_ONNX_FLOAT && type != NB_ONNX_DOUBLE)
        return nb_ox_unsupported(x, "a non-float input");
    nb_node *in = nb_ox_in(x, 0);
    if (!in)
        return -1;
    nb_node *l = nll(x, in, red);
    return l ? nb_ox_out(x, 0, l) : -1;
}

/* SoftmaxCrossEntropyLoss (opset 12): scores, labels, optional weights; output 1, when
 * wanted, is log_softmax(scores) along the class axis. */
int nb_ox_sce_loss(nb_ox *x)
{
    int red = reduction(x);
    if (red < 0)
        return -1;
    int type = nb_ox_in_type(x, 0);
    if (type != NB_ONNX_FLOAT && type != NB_ONNX_DOUBLE)
        return nb_ox_unsupported(x, "a non-float input");
    if (nb_ox_in_rank(x, 0) < 2)
        return nb_ox_fail(x, "expected scores [N, C, d1..dk]");
    nb_node *in = nb_ox_in(x, 0);
    if (!in)
        return -1;
    nb_node *logp = nb_log_softmax(nb_ox_graph(x), in, 1);
    if (!logp)
        return nb_ox_out(x, 0, NULL);
    nb_node *l = nll(x, logp, red);
    if (!l || nb_ox_out(x, 0, l) != 0)
        return -1;
    if (nb_ox_n_outputs(x) > 1 && nb_ox_has_output(x, 1))
        return nb_ox_out(x, 1, logp);
    return 0;
}
