/* ir_widen.c — copies a graph with every f32 value made f64: the gradient checker
 * differences in f64 whatever dtype a graph was built in. */
#include <stdlib.h>

#include "ir.h"

/* f32 becomes f64; the other dtypes stay. */
static nb_dtype widen(nb_dtype dt)
{
    return dt == NB_F32 ? NB_F64 : dt;
}

/* Copies node v of the source (operands mapped into in) into dst, widened. */
static ir_node *widen_node(ir_graph *dst, const ir_node *v, ir_node **in)
{
    ir_attr attr = v->attr;
    ir_node *n;
    /* Only these ops read attr.dt; elsewhere it is zero (NB_F32) and stays so. */
    if (v->op == IR_OP_INPUT || v->op == IR_OP_PARAM || v->op == IR_OP_CONST ||
        v->op == IR_OP_CAST || v->op == IR_OP_ONE_HOT || v->op == IR_OP_RAND)
        attr.dt = widen(attr.dt);
    if (v->op == IR_OP_CONST) /* an f32 constant's values are already rounded to f32 */
        n = ir_constant(dst, attr.dt, v->rank, v->shape, v->data);
    else
        n = ir_node_new(dst, v->op, in, v->n_in, &attr);
    if (!n)
        return NULL;
    n->origin = v->origin;
    n->leaf_index = v->leaf_index;
    if (v->name && !(n->name = ir_strdup(v->name))) {
        ir_oom(dst);
        return NULL;
    }
    if (v->name && (v->op == IR_OP_INPUT || v->op == IR_OP_PARAM) && ir_leaf_index(dst, n) != 0)
        return NULL;
    return n;
}

ir_graph *ir_widen(const ir_graph *g, ir_node **map)
{
    ir_graph *dst = ir_graph_new();
    ir_node **in = ir_calloc((size_t)ir_max_operands(g, g->n_nodes - 1) + 1, sizeof *in);
    if (!dst || !in)
        goto fail;
    for (int id = 0; id < g->n_nodes; id++) {
        const ir_node *v = g->nodes[id];
        for (int j = 0; j < v->n_in; j++)
            in[j] = map[v->in[j]->id];
        if (!(map[id] = widen_node(dst, v, in)))
            goto fail;
    }
    dst->n_inputs = g->n_inputs;
    dst->n_params = g->n_params;
    free(in);
    return dst;
fail:
    ir_graph_free(dst);
    free(in);
    return NULL;
}
