/* ops_binary.c — shape and gradient rules of the elementwise binary ops. Every rule
 * sums a broadcast operand's gradient back to its shape (ir_sum_to). */
#include "ir.h"

int ir_shape_binary_float(ir_graph *g, ir_node *n)
{
    if (ir_check_dtypes(g, n, 1) != 0)
        return -1;
    return ir_broadcast_shapes(g, n);
}

int ir_vjp_add(ir_graph *g, ir_node *n, ir_node *gy, unsigned need, ir_node **gx)
{
    if (need & 1)
        gx[0] = ir_sum_to(g, gy, n->in[0]);
    if (need & 2)
        gx[1] = ir_sum_to(g, gy, n->in[1]);
    return 0;
}

int ir_vjp_sub(ir_graph *g, ir_node *n, ir_node *gy, unsigned need, ir_node **gx)
{
    if (need & 1)
        gx[0] = ir_sum_to(g, gy, n->in[0]);
    if (need & 2)
        gx[1] = ir_sum_to(g, ir_neg(g, gy), n->in[1]);
    return 0;
}

int ir_vjp_mul(ir_graph *g, ir_node *n, ir_node *gy, unsigned need, ir_node **gx)
{
    if (need & 1)
        gx[0] = ir_sum_to(g, ir_mul(g, gy, n->in[1]), n->in[0]);
    if (need & 2)
        gx[1] = ir_sum_to(g, ir_mul(g, gy, n->in[0]), n->in[1]);
    return 0;
}

/* y = a / b: da = gy / b, db = -gy a / b^2 = -gy y / b. */
int ir_vjp_div(ir_graph *g, ir_node *n, ir_node *gy, unsigned need, ir_node **gx)
{
    if (need & 1)
        gx[0] = ir_sum_to(g, ir_div(g, gy, n->in[1]), n->in[0]);
    if (need & 2)
        gx[1] = ir_sum_to(g, ir_neg(g, ir_div(g, ir_mul(g, gy, n), n->in[1])), n->in[1]);
    return 0;
}
