/* ops_reduce.c — shape and gradient rules of the reductions. */
#include "ir.h"

int ir_shape_reduce(ir_graph *g, ir_node *n)
{
    const ir_node *x = n->in[0];
    if (ir_check_dtypes(g, n, 1) != 0)
        return -1;
    if (x->rank < 32 && (n->attr.axes >> x->rank) != 0)
        return ir_error(g, "%s: axes mask 0x%x names axes past rank %d",
                        ir_op_defs[n->op].name, n->attr.axes, x->rank);
    n->rank = 0;
    for (int d = 0; d < x->rank; d++) {
        if (!(n->attr.axes & (1u << d)))
            n->shape[n->rank++] = x->shape[d];
        else if (n->attr.keepdim)
            n->shape[n->rank++] = 1;
    }
    return 0;
}

/* Reshapes a reduction's gradient to keepdim form, then broadcasts it to x's shape. */
static ir_node *expand_back(ir_graph *g, ir_node *n, ir_node *gy)
{
    const ir_node *x = n->in[0];
    int64_t kept[NB_MAX_RANK];
    for (int d = 0; d < x->rank; d++)
        kept[d] = (n->attr.axes & (1u << d)) ? 1 : x->shape[d];
    ir_node *k = ir_reshape(g, gy, x->rank, kept);
    return ir_broadcast_to(g, k, x->rank, x->shape);
}

int ir_vjp_sum(ir_graph *g, ir_node *n, ir_node *gy, unsigned need, ir_node **gx)
{
    (void)need;
    gx[0] = expand_back(g, n, gy);
    return 0;
}
