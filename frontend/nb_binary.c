/* nb_binary.c — builders of the elementwise binary ops. */
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
