/* ir_autodiff.c — reverse-mode autodiff: appends gradient nodes to the same graph. */
#include <stdlib.h>

#include "ir.h"

/* Marks in `dep` every node that depends on one of xs (a forward sweep over ids). A
 * node whose op passes no gradient (stop_gradient, comparisons, sign) does not depend
 * on xs, unless it is one of them: no gradient is built for it. Which of these nodes
 * are also ancestors of y needs no sweep of its own (one more sweep over every node
 * costs cache misses per node on large graphs, docs/performance.md): they are the
 * nodes that ir_vjp's reverse sweep hands a gradient. */
static void mark_deps(const ir_graph *g, ir_node *y, ir_node *const *xs, int n, unsigned char *dep)
{
    for (int i = 0; i < n; i++)
        dep[xs[i]->id] = 1;
    for (int id = 0; id <= y->id; id++) {
        const ir_node *v = g->nodes[id];
        if (ir_op_defs[v->op].vjp == ir_vjp_none)
            continue;
        for (int j = 0; j < v->n_in && !dep[id]; j++)
            dep[id] = dep[v->in[j]->id];
    }
}

static int check_args(ir_graph *g, ir_node *y, ir_node *seed, ir_node *const *xs, int n,
                      ir_node **grads)
{
    char t[IR_TYPE_STR_MAX];
    if (!y || (n > 0 && (!xs || !grads)) || n < 0)
        return ir_error(g, "grad: %s", !y ? "the output is NULL" : "bad list of inputs");
    if (y->graph != g)
        return ir_error(g, "grad: the output belongs to another graph");
    if (!ir_is_float(y->dtype))
        return ir_error(g, "grad: the output is %s; gradients need f32 or f64",
                        ir_type_str(y, t, sizeof t));
    if (!seed && y->numel != 1)
        return ir_error(g, "grad: the output is %s, not a scalar; give a seed (nb_vjp)",
                        ir_type_str(y, t, sizeof t));
    if (seed && (seed->graph != g || seed->dtype != y->dtype || !ir_same_shape(seed, y))) {
        char u[IR_TYPE_STR_MAX];
        return ir_error(g, "grad: the seed is %s, the output %s; they must match",
                        ir_type_str(seed, u, sizeof u), ir_type_str(y, t, sizeof t));
    }
    for (int i = 0; i < n; i++) {
        if (!xs[i])
            return ir_error(g, "grad: input %d is NULL", i);
        if (xs[i]->graph != g)
            return ir_error(g, "grad: input %d belongs to another graph", i);
        if (!ir_is_float(xs[i]->dtype))
            return ir_error(g, "grad: input %d is %s; gradients need f32 or f64", i,
                            ir_type_str(xs[i], t, sizeof t));
    }
    return 0;
}

int ir_vjp(ir_graph *g, ir_node *y, ir_node *seed, ir_node *const *xs, int n, ir_node **grads)
{
    if (!g || g->error)
        return -1;
    if (check_args(g, y, seed, xs, n, grads) != 0)
        return -1;
    int count = g->n_nodes; /* nodes appended below are not visited */
    int most = ir_max_operands(g, y->id);
    unsigned char *dep = ir_calloc((size_t)count, 1);
    ir_node **acc = ir_calloc((size_t)count, sizeof *acc);
    /* One operand list at a time: which operands need a gradient, and the rule's
     * answers. */
    unsigned char *need = ir_malloc((size_t)most);
    ir_node **gx = ir_malloc((size_t)most * sizeof *gx);
    if (!dep || !acc || !need || !gx) {
        ir_oom(g);
        goto done;
    }
    mark_deps(g, y, xs, n, dep);
    if (dep[y->id])
        acc[y->id] = seed ? seed : ir_reshape(g, ir_scalar_like(g, y, 1.0), y->rank, y->shape);
    /* Readers have larger ids than their operands, so a node's gradient is complete when
     * the sweep reaches it; a node that received none is on no path from xs to y (or
     * behind a node that passes none) and is skipped without reading its operands. */
    for (int id = y->id; id >= 0 && !g->error; id--) {
        if (!acc[id])
            continue;
        ir_node *v = g->nodes[id];
        /* An operand gets a gradient when it depends on xs and is a float. */
        int wanted_any = 0;
        for (int j = 0; j < v->n_in; j++) {
            const ir_node *x = v->in[j];
            need[j] = (unsigned char)(dep[x->id] && ir_is_float(x->dtype));
            wanted_any |= need[j];
            gx[j] = NULL;
        }
        /* Nodes whose operands all carry no gradient (a cast of a mask, a leaf) stop
         * here. */
        if (!wanted_any)
            continue;
        if (ir_op_defs[v->op].vjp(g, v, acc[id], need, gx) != 0)
            continue;
        for (int j = 0; j < v->n_in; j++) {
            int k = v->in[j]->id;
            if (!gx[j] || !need[j])
                continue;
            acc[k] = acc[k] ? ir_add(g, acc[k], gx[j]) : gx[j];
        }
    }
    for (int i = 0; i < n && !g->error; i++)
        grads[i] = acc[xs[i]->id] ? acc[xs[i]->id] : ir_zeros_like(g, xs[i]);
    /* Everything appended above is the gradient's, for drawings to tell apart. */
    for (int id = count; id < g->n_nodes; id++)
        g->nodes[id]->grad = 1;
done:
    free(dep);
    free(acc);
    free(need);
    free(gx);
    if (g->error) {
        for (int i = 0; i < n; i++)
            grads[i] = NULL;
        return -1;
    }
    return 0;
}
