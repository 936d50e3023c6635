/* ops_logical.c — the shape rule of the logical ops (no gradient flows: ir_vjp_none). */
#include "ir.h"

/* Bool operands only, as torch.logical_* on masks (torch also takes numbers, as != 0:
 * nabla asks for an explicit comparison, nb_ne(x, 0)); two operands broadcast together;
 * the result is bool. */
int ir_shape_logical(ir_graph *g, ir_node *n)
{
    for (int i = 0; i < n->n_in; i++) {
        if (n->in[i]->dtype != NB_BOOL) {
            char t[IR_TYPE_STR_MAX], u[IR_TYPE_STR_MAX];
            if (n->n_in == 1)
                return ir_error(g, "%s: expected a bool operand, got %s (compare with nb_ne)",
                                ir_op_defs[n->op].name, ir_type_str(n->in[0], t, sizeof t));
            return ir_error(g, "%s: expected bool operands, got %s and %s (compare with nb_ne)",
                            ir_op_defs[n->op].name, ir_type_str(n->in[0], t, sizeof t),
                            ir_type_str(n->in[1], u, sizeof u));
        }
    }
    if (ir_broadcast_shapes(g, n) != 0)
        return -1;
    n->dtype = NB_BOOL;
    return 0;
}
