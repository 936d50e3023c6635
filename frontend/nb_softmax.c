/* nb_softmax.c — softmax and log_softmax along one axis, as composites of logsumexp,
 * sub and exp: numerically stable, and their gradients come from the parts. */
#include "ir.h"

/* s - logsumexp(s, axis, keepdim) with s = x - max(x): the shift is exact (no
 * rounding of large logits leaks into the result) and no exp overflows. The max is
 * behind stop_gradient, as the result does not depend on it. A rank-0 x (axis 0 or
 * -1, as torch allows) gives 0. */
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
        char t[IR_TYPE_STR_MAX];
        ir_error(g, "%s: expected an f32 or f64 operand, got %s", op, ir_type_str(x, t, sizeof t));
        return NULL;
    }
    ir_node *max = ir_make1(g, IR_OP_STOP_GRADIENT, ir_reduce(g, IR_OP_MAX, x, mask, 1), NULL);
    ir_node *shifted = ir_sub(g, x, max);
    return ir_sub(g, shifted, ir_reduce(g, IR_OP_LOGSUMEXP, shifted, mask, 1));
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
