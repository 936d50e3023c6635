/* nb_loss.c — the losses, as composites of other ops (their gradients come from the
 * parts), with PyTorch's semantics and its reduction argument (mean, sum, none).
 *
 * Where nabla departs from PyTorch:
 *  - mse and the binary cross-entropies require pred and target of one shape (torch
 *    broadcasts mse with a warning, and rejects the others);
 *  - cross_entropy and nll take no class weights and no ignore_index; a label outside
 *    [0, C) makes the run fail (nb_program_run returns -1 and nb_program_error names
 *    the take_along_axis node that picks the labels), as torch raises an error. */
#include <math.h>

#include "ir.h"

/* Checks what every loss checks: no prior error, no NULL operand, a known reduction.
 * Returns 0 or -1 with the error recorded. */
static int check_common(nb_graph *g, const char *op, nb_node *a, nb_node *b, nb_reduction r)
{
    if (!g || g->error)
        return -1;
    if (!a || !b)
        return ir_error(g, "%s: operand %d is NULL", op, a ? 1 : 0);
    if (a->graph != g || b->graph != g)
        return ir_error(g, "%s: operand %d belongs to another graph", op, a->graph != g ? 0 : 1);
    if ((int)r < NB_REDUCTION_MEAN || (int)r > NB_REDUCTION_NONE)
        return ir_error(g, "%s: reduction %d is not one of mean (%d), sum (%d), none (%d)", op,
                        (int)r, NB_REDUCTION_MEAN, NB_REDUCTION_SUM, NB_REDUCTION_NONE);
    return 0;
}

/* Prediction and target: one float dtype, one shape. */
static int check_pair(nb_graph *g, const char *op, nb_node *a, nb_node *b, nb_reduction r)
{
    char ta[IR_TYPE_STR_MAX], tb[IR_TYPE_STR_MAX];
    if (check_common(g, op, a, b, r) != 0)
        return -1;
    if (!ir_is_float(a->dtype) || a->dtype != b->dtype || !ir_same_shape(a, b))
        return ir_error(g, "%s: input %s and target %s must have one float dtype and one shape", op,
                        ir_type_str(a, ta, sizeof ta), ir_type_str(b, tb, sizeof tb));
    return 0;
}

/* The elementwise loss l reduced as r asks. */
static nb_node *reduce_loss(nb_graph *g, nb_node *l, nb_reduction r)
{
    if (r == NB_REDUCTION_MEAN)
        return nb_mean(g, l, NULL, 0, 0);
    if (r == NB_REDUCTION_SUM)
        return nb_sum(g, l, NULL, 0, 0);
    return l;
}

nb_node *nb_mse(nb_graph *g, nb_node *pred, nb_node *target, nb_reduction r)
{
    if (check_pair(g, "mse", pred, target, r) != 0)
        return NULL;
    nb_node *d = nb_sub(g, pred, target);
    return reduce_loss(g, nb_mul(g, d, d), r);
}

/* The seed tutorial's formula, -(t log p + (1 - t) log(1 - p)), with p and 1 - p both
 * clamped to [eps, 1 - eps]: in exact arithmetic clamp(1 - p) = 1 - clamp(p), and in
 * f32 (where 1 - 1e-8 rounds to 1) it keeps log(1 - p) finite. Inside the clamp the
 * gradient is (p - t) / (p (1 - p)); outside it is 0 (clamp passes it at the bounds). */
nb_node *nb_bce(nb_graph *g, nb_node *p, nb_node *target, nb_reduction r)
{
    const double eps = 1e-8;
    if (check_pair(g, "bce", p, target, r) != 0)
        return NULL;
    nb_node *one = ir_scalar_like(g, p, 1.0);
    nb_node *log_p = nb_log(g, nb_clamp(g, p, eps, 1 - eps));
    nb_node *log_q = nb_log(g, nb_clamp(g, nb_sub(g, one, p), eps, 1 - eps));
    nb_node *pos = nb_mul(g, target, log_p);
    nb_node *neg = nb_mul(g, nb_sub(g, one, target), log_q);
    return reduce_loss(g, ir_neg(g, nb_add(g, pos, neg)), r);
}

/* softplus(z) = log(e^0 + e^z), taken as a logsumexp over the pair (0, z) on a new last
 * axis: the max is subtracted, so it is exact for any finite z (100 at z = 100, about
 * 3.7e-44 at z = -100), and its gradient is the pair's softmax weight of z, which is
 * sigmoid(z) exactly (1/2 at 0, with the second derivative sigmoid'). The pair is a
 * concatenation, not z times (0, 1), so that no 0 * z appears. z has rank < NB_MAX_RANK. */
static nb_node *softplus_pair(nb_graph *g, nb_node *z)
{
    if (!z) /* building it failed: the error is on g already */
        return NULL;
    int64_t shape[NB_MAX_RANK];
    int last = z->rank;
    for (int d = 0; d < z->rank; d++)
        shape[d] = z->shape[d];
    shape[last] = 1;
    nb_node *col = nb_reshape(g, z, last + 1, shape);
    nb_node *pair[2] = {ir_zeros_like(g, col), col};
    return nb_logsumexp(g, nb_concat(g, pair, 2, last), &last, 1, 0);
}

/* softplus(z) - z t for finite z (and NaN): gradient sigmoid(z) - t everywhere, 1/2 - t
 * at z = 0. At z = +-inf that formula is inf - inf or 0 * inf, and a logsumexp's gradient
 * at an infinite element is NaN; there the loss is PyTorch's own expression
 * (1 - t) z + max(-z, 0), whose gradient is PyTorch's sigmoid(z) - t: 1 - t at +inf, -t
 * at -inf. Its values are PyTorch's too: +inf at z = +inf for t < 1, NaN at +inf for
 * t = 1 and at -inf for every t (docs/conventions.md). The infinite elements reach the
 * finite branch as 0, so neither branch computes inf - inf, forward or backward. */
nb_node *nb_bce_with_logits(nb_graph *g, nb_node *z, nb_node *target, nb_reduction r)
{
    if (check_pair(g, "bce_with_logits", z, target, r) != 0)
        return NULL;
    if (z->rank == NB_MAX_RANK) {
        /* The pair needs one more axis: flatten first (the loss is elementwise). */
        int64_t flat = z->numel;
        nb_node *l = nb_bce_with_logits(g, nb_reshape(g, z, 1, &flat),
                                        nb_reshape(g, target, 1, &flat), NB_REDUCTION_NONE);
        return reduce_loss(g, nb_reshape(g, l, z->rank, z->shape), r);
    }
    nb_node *zero = ir_scalar_like(g, z, 0.0);
    nb_node *finite = nb_ne(g, nb_abs(g, z), ir_scalar_like(g, z, INFINITY));
    nb_node *zf = nb_where(g, finite, z, zero);
    nb_node *exact = nb_sub(g, softplus_pair(g, zf), nb_mul(g, zf, target));
    nb_node *miss = nb_sub(g, ir_scalar_like(g, z, 1.0), target);
    nb_node *limit = nb_add(g, nb_mul(g, miss, z), nb_relu(g, ir_neg(g, z)));
    return reduce_loss(g, nb_where(g, finite, exact, limit), r);
}

/* Checks logp [N, C] with labels [N], or logp [C] with a rank-0 label. */
static int check_labels(nb_graph *g, const char *op, nb_node *logits, nb_node *labels,
                        nb_reduction r)
{
    char tl[IR_TYPE_STR_MAX], tx[IR_TYPE_STR_MAX];
    if (check_common(g, op, logits, labels, r) != 0)
        return -1;
    if (!ir_is_float(logits->dtype) || (logits->rank != 1 && logits->rank != 2))
        return ir_error(g, "%s: expected f32 or f64 scores [N, C] or [C], got %s", op,
                        ir_type_str(logits, tx, sizeof tx));
    if (labels->dtype != NB_I32)
        return ir_error(g, "%s: labels must be i32, got %s", op,
                        ir_type_str(labels, tl, sizeof tl));
    if (labels->rank != logits->rank - 1 ||
        (labels->rank == 1 && labels->shape[0] != logits->shape[0]))
        return ir_error(g, "%s: scores %s need labels i32[%s], got %s", op,
                        ir_type_str(logits, tx, sizeof tx), logits->rank == 2 ? "N" : "",
                        ir_type_str(labels, tl, sizeof tl));
    if (logits->shape[logits->rank - 1] > INT32_MAX)
        return ir_error(g, "%s: %lld classes do not fit i32 labels", op,
                        (long long)logits->shape[logits->rank - 1]);
    return 0;
}

/* The labels as an index [N, 1] (a rank-0 label: [1]) for take_along_axis on the last
 * axis of scores of rank 2 (rank 1). */
static nb_node *label_index(nb_graph *g, nb_node *labels)
{
    int64_t shape[2] = {labels->rank ? labels->shape[0] : 1, 1};
    return nb_reshape(g, labels, labels->rank + 1, labels->rank ? shape : shape + 1);
}

/* The per-sample losses l ([N, 1], or [1] for one sample) reduced as r asks: none gives
 * them as [N] ([]); sum and mean add them up in one double sum (the mean divides by N). */
static nb_node *reduce_per_sample(nb_graph *g, nb_node *l, nb_node *labels, nb_reduction r)
{
    if (r == NB_REDUCTION_NONE)
        return nb_reshape(g, l, labels->rank, labels->shape);
    nb_node *total = nb_sum(g, l, NULL, 0, 0);
    if (r == NB_REDUCTION_SUM || !total)
        return total;
    return ir_mul(g, total, ir_scalar_like(g, total, 1.0 / (double)labels->numel));
}

/* -logp[label] per sample, picked along the class axis by take_along_axis, which checks
 * each label against the class count: a label outside [0, C) fails the run, naming the
 * take_along_axis node. The pick reads one element per row: no mask is built, and no
 * -inf score of another class (a class ruled out) meets a multiplication. Its gradient
 * is a select of the label's column, elementwise over [N, C]. */
static nb_node *pick_nll(nb_graph *g, nb_node *logp, nb_node *labels, nb_reduction r)
{
    nb_node *picked = nb_take_along_axis(g, logp, label_index(g, labels), -1);
    return reduce_per_sample(g, ir_neg(g, picked), labels, r);
}

nb_node *nb_nll(nb_graph *g, nb_node *logp, nb_node *labels, nb_reduction r)
{
    if (check_labels(g, "nll", logp, labels, r) != 0)
        return NULL;
    return pick_nll(g, logp, labels, r);
}

/* nll of log_softmax over the class axis (the last), without the log-probabilities: per
 * sample logsumexp(s) - s[label] with s = x - max(x) (the max behind stop_gradient), as
 * log_softmax computes them, so the values are the bits of -(s[label] - logsumexp(s)):
 * the pick is x[label] - max, the same subtraction s makes. The forward reads the scores
 * for the max and for the exp-sum; the gradient, softmax(x) - one_hot scaled, is one
 * elementwise loop over [N, C]. A -inf score of another class adds exp(-inf) = 0, as in
 * PyTorch; a label whose score is -inf gives +inf. */
nb_node *nb_cross_entropy(nb_graph *g, nb_node *logits, nb_node *labels, nb_reduction r)
{
    if (check_labels(g, "cross_entropy", logits, labels, r) != 0)
        return NULL;
    uint32_t last = 1u << (logits->rank - 1);
    ir_node *max = ir_make1(g, IR_OP_STOP_GRADIENT, ir_reduce(g, IR_OP_MAX, logits, last, 1), NULL);
    ir_node *lse = ir_reduce(g, IR_OP_LOGSUMEXP, ir_sub(g, logits, max), last, 1);
    nb_node *picked = nb_take_along_axis(g, logits, label_index(g, labels), -1);
    return reduce_per_sample(g, ir_sub(g, lse, ir_sub(g, picked, max)), labels, r);
}
