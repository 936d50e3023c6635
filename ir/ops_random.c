/* ops_random.c — the shape rule of the random op and the step counters' updates. */
#include <stdlib.h>

#include "ir.h"

int ir_shape_rand(ir_graph *g, ir_node *n)
{
    char t[IR_TYPE_STR_MAX];
    const ir_node *step = n->in[0];
    if (step->dtype != NB_F64 || step->rank != 0)
        return ir_error(g, "rand: the step counter is %s; expected f64[] (a scalar)",
                        ir_type_str(step, t, sizeof t));
    if (n->attr.dt != NB_F32 && n->attr.dt != NB_F64)
        return ir_error(g, "rand: dtype %s is not a float dtype (f32 or f64)",
                        ir_dtype_name(n->attr.dt));
    if (n->attr.target.rank < 0 || n->attr.target.rank > NB_MAX_RANK)
        return ir_error(g, "rand: rank %d is out of range [0, %d]", n->attr.target.rank,
                        NB_MAX_RANK);
    int64_t numel = ir_shape_numel(n->attr.target.rank, n->attr.target.shape);
    if (numel < 0 || numel > IR_MAX_NUMEL)
        return ir_error(
            g, "rand: shape %s has a negative dimension or too many elements",
            ir_format_type(n->attr.dt, n->attr.target.rank, n->attr.target.shape, t, sizeof t));
    if (n->attr.random.offset < 0 || n->attr.random.offset > INT64_MAX - numel)
        return ir_error(g, "rand: counter offset %lld is out of range [0, %lld]",
                        (long long)n->attr.random.offset, (long long)(INT64_MAX - numel));
    n->dtype = n->attr.dt;
    n->rank = n->attr.target.rank;
    for (int d = 0; d < n->rank; d++)
        n->shape[d] = n->attr.target.shape[d];
    return 0;
}

int ir_random_updates(ir_graph *g, ir_node *const *params, ir_node *const *values, int n,
                      ir_node ***params_out, ir_node ***values_out, int *n_out)
{
    int cap = n;
    for (int id = 0; id < g->n_nodes; id++)
        cap += g->nodes[id]->op == IR_OP_RAND;
    ir_node **p = ir_malloc(((size_t)cap + 1) * sizeof *p);
    ir_node **v = ir_malloc(((size_t)cap + 1) * sizeof *v);
    if (!p || !v) {
        free(p);
        free(v);
        return ir_oom(g);
    }
    for (int i = 0; i < n; i++)
        p[i] = params[i], v[i] = values[i];
    int count = n, first = g->n_nodes, top = 0;
    const ir_node *last = NULL; /* random nodes nearly always share one counter */
    for (int id = 0; id < first; id++) {
        ir_node *step = g->nodes[id]->op == IR_OP_RAND ? g->nodes[id]->in[0] : NULL;
        if (!step || step->op != IR_OP_PARAM || step == last)
            continue;
        last = step;
        int written = 0;
        for (int i = 0; i < count && !written; i++)
            written = p[i] == step;
        if (written)
            continue;
        ir_node *next = ir_add(g, step, ir_scalar(g, NB_F64, 1));
        if (!next) {
            free(p);
            free(v);
            return -1;
        }
        p[count] = step;
        v[count++] = next;
    }
    /* g is a simplified copy whose nodes keep the user graph's ids as origins, which
     * name the C's kernels and buffers: the nodes made here take origins past all of
     * them, not the ids they got in g (those may be another node's origin). */
    for (int id = 0; id < first; id++)
        top = g->nodes[id]->origin > top ? g->nodes[id]->origin : top;
    for (int id = first; id < g->n_nodes; id++)
        g->nodes[id]->origin = ++top;
    *params_out = p;
    *values_out = v;
    *n_out = count;
    return 0;
}
