/* ops_leaf.c — shape rule of the leaves (inputs, parameters, constants). */
#include "ir.h"

int ir_shape_leaf(ir_graph *g, ir_node *n)
{
    const char *op = ir_op_defs[n->op].name;
    if (n->attr.dt < NB_F32 || n->attr.dt > NB_BOOL)
        return ir_error(g, "%s: unknown dtype %d", op, (int)n->attr.dt);
    if (n->attr.target.rank < 0 || n->attr.target.rank > NB_MAX_RANK)
        return ir_error(g, "%s: rank %d is out of range [0, %d]", op, n->attr.target.rank,
                        NB_MAX_RANK);
    n->dtype = n->attr.dt;
    n->rank = n->attr.target.rank;
    for (int i = 0; i < n->rank; i++)
        n->shape[i] = n->attr.target.shape[i];
    return 0;
}

/* The gradient rule of ops through which no gradient flows. */
int ir_vjp_none(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)g, (void)n, (void)gy, (void)need, (void)gx;
    return 0;
}
