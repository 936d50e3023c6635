/* nb_shape.c — builders of the shape ops. */
#include "ir.h"

nb_node *nb_reshape(nb_graph *g, nb_node *x, int rank, const int64_t *shape)
{
    return ir_reshape(g, x, rank, shape);
}

nb_node *nb_broadcast_to(nb_graph *g, nb_node *x, int rank, const int64_t *shape)
{
    return ir_broadcast_to(g, x, rank, shape);
}
