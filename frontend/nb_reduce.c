/* nb_reduce.c — builders of the reductions. */
#include "ir.h"

static nb_node *reduce(nb_graph *g, ir_op op, nb_node *x, const int *axes, int n_axes, int keepdim)
{
    uint32_t mask;
    if (!g || g->error)
        return NULL;
    if (!x) {
        ir_error(g, "%s: operand 0 is NULL", ir_op_defs[op].name);
        return NULL;
    }
    if (ir_axes_mask(g, ir_op_defs[op].name, x->rank, axes, n_axes, &mask) != 0)
        return NULL;
    return ir_reduce(g, op, x, mask, keepdim != 0);
}

nb_node *nb_sum(nb_graph *g, nb_node *x, const int *axes, int n_axes, int keepdim)
{
    return reduce(g, IR_OP_SUM, x, axes, n_axes, keepdim);
}

/* mean = sum / (number of reduced elements). */
nb_node *nb_mean(nb_graph *g, nb_node *x, const int *axes, int n_axes, int keepdim)
{
    nb_node *s = reduce(g, IR_OP_SUM, x, axes, n_axes, keepdim);
    if (!s)
        return NULL;
    double count = (double)x->numel / (double)s->numel;
    return ir_mul(g, s, ir_scalar_like(g, s, 1.0 / count));
}

/* Like torch.amax: NaN propagates; at ties the gradient is split evenly. */
nb_node *nb_max(nb_graph *g, nb_node *x, const int *axes, int n_axes, int keepdim)
{
    return reduce(g, IR_OP_MAX, x, axes, n_axes, keepdim);
}

nb_node *nb_min(nb_graph *g, nb_node *x, const int *axes, int n_axes, int keepdim)
{
    return reduce(g, IR_OP_MIN, x, axes, n_axes, keepdim);
}

/* log(sum(exp(x))), computed with the max subtracted; its gradient is softmax(x). */
nb_node *nb_logsumexp(nb_graph *g, nb_node *x, const int *axes, int n_axes, int keepdim)
{
    return reduce(g, IR_OP_LOGSUMEXP, x, axes, n_axes, keepdim);
}

/* Like torch.argmax(x, axis, keepdim): the i32 index of the first largest element
 * along one axis (negative counts from the end); a NaN is the largest. Integer
 * valued, so nb_grad passes no gradient through it. */
nb_node *nb_argmax(nb_graph *g, nb_node *x, int axis, int keepdim)
{
    return reduce(g, IR_OP_ARGMAX, x, &axis, 1, keepdim);
}

/* Like torch.argmin: the first smallest element's index; a NaN is the smallest. */
nb_node *nb_argmin(nb_graph *g, nb_node *x, int axis, int keepdim)
{
    return reduce(g, IR_OP_ARGMIN, x, &axis, 1, keepdim);
}

/* torch.prod over a set of axes; the gradient handles zeros exactly (ir_vjp_prod). */
nb_node *nb_prod(nb_graph *g, nb_node *x, const int *axes, int n_axes, int keepdim)
{
    return reduce(g, IR_OP_PROD, x, axes, n_axes, keepdim);
}
