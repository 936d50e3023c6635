/* nb_binary.c — builders of the elementwise binary ops, comparisons, where and clamp.
 * Operands are checked (NULL, graph, dtype, broadcasting) by the shape rules. */
#include "ir.h"

nb_node *nb_add(nb_graph *g, nb_node *a, nb_node *b)
{
    return ir_add(g, a, b);
}

nb_node *nb_sub(nb_graph *g, nb_node *a, nb_node *b)
{
    return ir_sub(g, a, b);
}

nb_node *nb_mul(nb_graph *g, nb_node *a, nb_node *b)
{
    return ir_mul(g, a, b);
}

nb_node *nb_div(nb_graph *g, nb_node *a, nb_node *b)
{
    return ir_div(g, a, b);
}

nb_node *nb_floor_div(nb_graph *g, nb_node *a, nb_node *b)
{
    return ir_make2(g, IR_OP_FLOOR_DIV, a, b, NULL);
}

nb_node *nb_remainder(nb_graph *g, nb_node *a, nb_node *b)
{
    return ir_make2(g, IR_OP_REMAINDER, a, b, NULL);
}

nb_node *nb_fmod(nb_graph *g, nb_node *a, nb_node *b)
{
    return ir_make2(g, IR_OP_FMOD, a, b, NULL);
}

nb_node *nb_pow(nb_graph *g, nb_node *a, nb_node *b)
{
    return ir_make2(g, IR_OP_POW, a, b, NULL);
}

nb_node *nb_maximum(nb_graph *g, nb_node *a, nb_node *b)
{
    return ir_make2(g, IR_OP_MAXIMUM, a, b, NULL);
}

nb_node *nb_minimum(nb_graph *g, nb_node *a, nb_node *b)
{
    return ir_make2(g, IR_OP_MINIMUM, a, b, NULL);
}

nb_node *nb_eq(nb_graph *g, nb_node *a, nb_node *b)
{
    return ir_make2(g, IR_OP_EQ, a, b, NULL);
}

nb_node *nb_ne(nb_graph *g, nb_node *a, nb_node *b)
{
    return ir_make2(g, IR_OP_NE, a, b, NULL);
}

nb_node *nb_lt(nb_graph *g, nb_node *a, nb_node *b)
{
    return ir_make2(g, IR_OP_LT, a, b, NULL);
}

nb_node *nb_le(nb_graph *g, nb_node *a, nb_node *b)
{
    return ir_make2(g, IR_OP_LE, a, b, NULL);
}

nb_node *nb_gt(nb_graph *g, nb_node *a, nb_node *b)
{
    return ir_make2(g, IR_OP_GT, a, b, NULL);
}

nb_node *nb_ge(nb_graph *g, nb_node *a, nb_node *b)
{
    return ir_make2(g, IR_OP_GE, a, b, NULL);
}

nb_node *nb_where(nb_graph *g, nb_node *mask, nb_node *a, nb_node *b)
{
    return ir_make3(g, IR_OP_WHERE, mask, a, b, NULL);
}

/* The bounds live in attr.f; the shape rule checks them. */
nb_node *nb_clamp(nb_graph *g, nb_node *x, double lo, double hi)
{
    ir_attr attr = {0};
    attr.f[0] = lo;
    attr.f[1] = hi;
    return ir_make1(g, IR_OP_CLAMP, x, &attr);
}
