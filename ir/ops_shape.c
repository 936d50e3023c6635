/* ops_shape.c — shape and gradient rules of the ops that move data around. */
#include <stdio.h>

#include "ir.h"

int ir_shape_reshape(ir_graph *g, ir_node *n)
{
    const ir_node *x = n->in[0];
    int infer = -1;
    int64_t known = 1;
    char t[160];
    n->dtype = x->dtype;
    n->rank = n->attr.n_ints;
    if (n->rank < 0 || n->rank > NB_MAX_RANK)
        return ir_error(g, "reshape: rank %d is out of range [0, %d]", n->rank, NB_MAX_RANK);
    for (int i = 0; i < n->rank; i++) {
        int64_t s = n->attr.ints[i];
        if (s == -1 && infer < 0) {
            infer = i;
            continue;
        }
        if (s <= 0)
            return ir_error(g, "reshape: target dimension %d is %lld (of %s)", i,
                            (long long)s, ir_type_str(x, t, sizeof t));
        if (known > INT64_MAX / s)
            return ir_error(g, "reshape: element count of the target overflows");
        known *= s;
        n->shape[i] = s;
    }
    if (infer >= 0) {
        if (x->numel % known != 0)
            return ir_error(g, "reshape: cannot infer dimension %d of %s from %lld elements",
                            infer, ir_type_str(x, t, sizeof t), (long long)x->numel);
        n->shape[infer] = x->numel / known;
        known = x->numel;
    }
    if (known != x->numel)
        return ir_error(g, "reshape: %s has %lld elements, the target shape %lld",
                        ir_type_str(x, t, sizeof t), (long long)x->numel, (long long)known);
    return 0;
}

int ir_vjp_reshape(ir_graph *g, ir_node *n, ir_node *gy, unsigned need, ir_node **gx)
{
    (void)need;
    gx[0] = ir_reshape(g, gy, n->in[0]->rank, n->in[0]->shape);
    return 0;
}

int ir_shape_broadcast_to(ir_graph *g, ir_node *n)
{
    const ir_node *x = n->in[0];
    char t[160];
    n->dtype = x->dtype;
    n->rank = n->attr.n_ints;
    if (n->rank < x->rank || n->rank > NB_MAX_RANK)
        return ir_error(g, "broadcast_to: cannot broadcast %s to rank %d",
                        ir_type_str(x, t, sizeof t), n->rank);
    for (int d = 0; d < n->rank; d++) {
        int64_t s = n->attr.ints[d];
        int k = d - (n->rank - x->rank);
        n->shape[d] = s;
        if (k >= 0 && x->shape[k] != 1 && x->shape[k] != s)
            return ir_error(g, "broadcast_to: cannot broadcast %s: axis %d is %lld, target %lld",
                            ir_type_str(x, t, sizeof t), k, (long long)x->shape[k],
                            (long long)s);
    }
    return 0;
}

int ir_vjp_broadcast_to(ir_graph *g, ir_node *n, ir_node *gy, unsigned need, ir_node **gx)
{
    (void)need;
    gx[0] = ir_sum_to(g, gy, n->in[0]);
    return 0;
}
