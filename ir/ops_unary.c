/* ops_unary.c — shape and gradient rules of the elementwise unary ops. */
#include "ir.h"

int ir_shape_unary_float(ir_graph *g, ir_node *n)
{
    if (ir_check_dtypes(g, n, 1) != 0)
        return -1;
    n->rank = n->in[0]->rank;
    for (int i = 0; i < n->rank; i++)
        n->shape[i] = n->in[0]->shape[i];
    return 0;
}

/* d exp(x) = exp(x) dx: reuses the forward node. */
int ir_vjp_exp(ir_graph *g, ir_node *n, ir_node *gy, unsigned need, ir_node **gx)
{
    (void)need;
    gx[0] = ir_mul(g, gy, n);
    return 0;
}

int ir_vjp_log(ir_graph *g, ir_node *n, ir_node *gy, unsigned need, ir_node **gx)
{
    (void)need;
    gx[0] = ir_div(g, gy, n->in[0]);
    return 0;
}

/* d sigmoid(x) = s (1 - s) dx with s the forward node. */
int ir_vjp_sigmoid(ir_graph *g, ir_node *n, ir_node *gy, unsigned need, ir_node **gx)
{
    (void)need;
    ir_node *one_minus = ir_sub(g, ir_scalar_like(g, n, 1.0), n);
    gx[0] = ir_mul(g, gy, ir_mul(g, n, one_minus));
    return 0;
}
