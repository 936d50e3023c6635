/* ir_verify.c — checks: a graph's invariants (tests call ir_verify after every pass),
 * and the outputs and parameter updates that a compile request asks of a graph. */
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

int ir_check_outputs(ir_graph *g, ir_node *const *outs, int n)
{
    if (n <= 0 || !outs)
        return ir_error(g, "compile: no outputs were given");
    for (int i = 0; i < n; i++) {
        if (!outs[i])
            return ir_error(g, "compile: output %d is NULL", i);
        if (outs[i]->graph != g)
            return ir_error(g, "compile: output %d belongs to another graph", i);
    }
    return 0;
}

/* Checks update i of ir_check_updates; written[k] is 1 + the update that writes the
 * parameter of leaf index k, or 0 (a table: a scan of the earlier updates is quadratic
 * in the number of parameters). */
static int check_update(ir_graph *g, ir_node *const *params, ir_node *const *values, int i,
                        int *written)
{
    char t[IR_TYPE_STR_MAX], u[IR_TYPE_STR_MAX];
    const ir_node *p = params[i], *v = values[i];
    if (!p || !v)
        return ir_error(g, "compile: update %d: the %s is NULL", i, !p ? "parameter" : "value");
    if (p->graph != g || v->graph != g)
        return ir_error(g, "compile: update %d belongs to another graph", i);
    if (p->op != IR_OP_PARAM)
        return ir_error(g, "compile: update %d: node %d is not a parameter", i, p->id);
    if (p->dtype != v->dtype || !ir_same_shape(p, v))
        return ir_error(g, "compile: update %d: parameter '%s' is %s, the value %s", i, p->name,
                        ir_type_str(p, t, sizeof t), ir_type_str(v, u, sizeof u));
    if (written[p->leaf_index])
        return ir_error(g, "compile: updates %d and %d both write parameter '%s'",
                        written[p->leaf_index] - 1, i, p->name);
    written[p->leaf_index] = i + 1;
    return 0;
}

int ir_check_updates(ir_graph *g, ir_node *const *params, ir_node *const *values, int n)
{
    int *written = ir_calloc((size_t)g->n_params + 1, sizeof *written);
    if (!written)
        return ir_oom(g);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++)
        rc = check_update(g, params, values, i, written);
    free(written);
    return rc;
}
