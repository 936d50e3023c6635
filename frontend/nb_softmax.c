/* nb_softmax.c — softmax and log_softmax along one axis, as composites of logsumexp,
 * sub and exp: numerically stable, and their gradients come from the parts. */
#include "ir.h"

/* x - logsumexp(x, axis, keepdim): the max is subtracted inside logsumexp, so no
 * exp overflows. A rank-0 x (axis 0 or -1, as torch allows) gives 0. */
static nb_node *log_softmax(nb_graph *g, const char *op, nb_node *x, int axis)
{
    uint32_t mask;
    if (!g || g->error)
        return NULL;
    if (!x) {
        ir_error(g, "%s: operand 0 is NULL", op);
        return NULL;
    }
    if (x->rank == 0 && (axis == 0 || axis == -1))
        mask = 0;
    else if (ir_axes_mask(g, op, x->rank, &axis, 1, &mask) != 0)
        return NULL;
    if (!ir_is_float(x->dtype)) {
        char t[160];
        ir_error(g, "%s: expected an f32 or f64 operand, got %s", op,
                 ir_type_str(x, t, sizeof t));
        return NULL;
    }
    return ir_sub(g, x, ir_reduce(g, IR_OP_LOGSUMEXP, x, mask, 1));
}

nb_node *nb_log_softmax(nb_graph *g, nb_node *x, int axis)
{
    return log_softmax(g, "log_softmax", x, axis);
}

/* exp(log_softmax(x)): every element in [0, 1], the sum along axis 1 up to rounding. */
nb_node *nb_softmax(nb_graph *g, nb_node *x, int axis)
{
    return ir_make1(g, IR_OP_EXP, log_softmax(g, "softmax", x, axis), NULL);
}
