/* ir_verify.c — checks a graph's invariants; tests call it after every pass. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

int ir_verify(const ir_graph *g, char *msg, size_t size)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = g->nodes[i];
        const ir_op_def *def;
        if (!n || n->id != i || n->graph != g) {
            snprintf(msg, size, "node %d: id or owner is wrong", i);
            return -1;
        }
        if ((unsigned)n->op >= IR_OP_COUNT) {
            snprintf(msg, size, "node %d: op %d is unknown", i, (int)n->op);
            return -1;
        }
        def = &ir_op_defs[n->op];
        if (def->arity >= 0 && n->n_in != def->arity) {
            snprintf(msg, size, "node %d (%s): %d operands, arity %d", i, def->name, n->n_in,
                     def->arity);
            return -1;
        }
        for (int j = 0; j < n->n_in; j++) {
            if (!n->in[j] || n->in[j]->graph != g || n->in[j]->id >= i) {
                snprintf(msg, size, "node %d (%s): operand %d is not an earlier node", i, def->name,
                         j);
                return -1;
            }
        }
        if (n->op == IR_OP_CONST && !n->data) {
            snprintf(msg, size, "node %d: constant without data", i);
            return -1;
        }
        /* Shapes are derived data: running the rule again must give the same answer. */
        ir_node copy = *n;
        ir_graph scratch = {0};
        if (def->shape(&scratch, &copy) != 0 || copy.dtype != n->dtype ||
            !ir_same_shape(&copy, n) || ir_shape_numel(n->rank, n->shape) != n->numel) {
            snprintf(msg, size, "node %d (%s): dtype or shape disagrees with its shape rule%s%s", i,
                     def->name, scratch.error ? ": " : "", scratch.error ? scratch.error : "");
            ir_error_clear(&scratch);
            return -1;
        }
    }
    return 0;
}
