/* nb_unary.c — builders of the elementwise unary ops. */
#include "ir.h"

nb_node *nb_exp(nb_graph *g, nb_node *x)
{
    return ir_make1(g, IR_OP_EXP, x, NULL);
}

nb_node *nb_log(nb_graph *g, nb_node *x)
{
    return ir_make1(g, IR_OP_LOG, x, NULL);
}

nb_node *nb_sigmoid(nb_graph *g, nb_node *x)
{
    return ir_make1(g, IR_OP_SIGMOID, x, NULL);
}
