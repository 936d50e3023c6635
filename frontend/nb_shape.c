/* nb_shape.c — builders of the shape and linear-algebra ops. */
#include <string.h>

#include "ir.h"

/* 0 when the builder of op can look at x (g usable, x not poisoned); else records why
 * and returns -1. */
static int check_operand(nb_graph *g, const char *op, const nb_node *x)
{
    if (!g || g->error)
        return -1;
    if (!x)
        return ir_error(g, "%s: operand 0 is NULL", op);
    if (x->graph != g)
        return ir_error(g, "%s: operand 0 (node %d) belongs to another graph", op, x->id);
    return 0;
}

nb_node *nb_reshape(nb_graph *g, nb_node *x, int rank, const int64_t *shape)
{
    return ir_reshape(g, x, rank, shape);
}

nb_node *nb_broadcast_to(nb_graph *g, nb_node *x, int rank, const int64_t *shape)
{
    return ir_broadcast_to(g, x, rank, shape);
}

nb_node *nb_matmul(nb_graph *g, nb_node *a, nb_node *b)
{
    return ir_make2(g, IR_OP_MATMUL, a, b, NULL);
}

nb_node *nb_permute(nb_graph *g, nb_node *x, const int *perm, int n)
{
    ir_attr attr = {0};
    char t[IR_TYPE_STR_MAX];
    if (check_operand(g, "permute", x) != 0)
        return NULL;
    if (n != x->rank) {
        ir_error(g, "permute: %s needs a permutation of %d axes, got %d",
                 ir_type_str(x, t, sizeof t), x->rank, n);
        return NULL;
    }
    if (n > 0 && !perm) {
        ir_error(g, "permute: the permutation of %s is NULL", ir_type_str(x, t, sizeof t));
        return NULL;
    }
    attr.permute.rank = n;
    for (int d = 0; d < n; d++)
        attr.permute.perm[d] = perm[d];
    return ir_make1(g, IR_OP_PERMUTE, x, &attr);
}

nb_node *nb_transpose(nb_graph *g, nb_node *x)
{
    int perm[NB_MAX_RANK];
    char t[IR_TYPE_STR_MAX];
    if (check_operand(g, "transpose", x) != 0)
        return NULL;
    if (x->rank < 2) {
        ir_error(g, "transpose: %s has fewer than two axes to swap", ir_type_str(x, t, sizeof t));
        return NULL;
    }
    for (int d = 0; d < x->rank; d++)
        perm[d] = d;
    perm[x->rank - 2] = x->rank - 1;
    perm[x->rank - 1] = x->rank - 2;
    return nb_permute(g, x, perm, x->rank);
}

/* Python's clamping of a slice bound for step > 0: negative counts from the end, then
 * the bound is clamped to [0, size]. */
static int64_t clamp_bound(int64_t v, int64_t size)
{
    if (v < 0)
        v = v < -size ? 0 : v + size;
    return v > size ? size : v;
}

nb_node *nb_slice(nb_graph *g, nb_node *x, const int64_t *start, const int64_t *stop,
                  const int64_t *step)
{
    ir_attr attr = {0};
    char t[IR_TYPE_STR_MAX];
    if (check_operand(g, "slice", x) != 0)
        return NULL;
    int r = x->rank;
    attr.slice.rank = r;
    for (int d = 0; d < r; d++) {
        int64_t size = x->shape[d];
        int64_t s = step ? step[d] : 1;
        if (s <= 0) {
            ir_error(g, "slice: step %lld on axis %d of %s; steps must be positive", (long long)s,
                     d, ir_type_str(x, t, sizeof t));
            return NULL;
        }
        int64_t a = start ? clamp_bound(start[d], size) : 0;
        int64_t b = stop ? clamp_bound(stop[d], size) : size;
        if (a >= b) {
            ir_error(g,
                     "slice: axis %d of %s is empty (start %lld, stop %lld give [%lld, "
                     "%lld)); every axis of a result needs at least one element",
                     d, ir_type_str(x, t, sizeof t), start ? (long long)start[d] : 0LL,
                     stop ? (long long)stop[d] : (long long)size, (long long)a, (long long)b);
            return NULL;
        }
        attr.slice.start[d] = a;
        attr.slice.stop[d] = b;
        /* A step past the size picks one element, as the size itself does. */
        attr.slice.step[d] = s > size ? size : s;
    }
    return ir_make1(g, IR_OP_SLICE, x, &attr);
}

nb_node *nb_concat(nb_graph *g, nb_node *const *xs, int n, int axis)
{
    ir_attr attr = {0};
    if (!g || g->error)
        return NULL;
    if (!xs || n <= 0) {
        ir_error(g, "concat: %s", !xs ? "the list of operands is NULL" : "no operands given");
        return NULL;
    }
    if (check_operand(g, "concat", xs[0]) != 0)
        return NULL;
    int rank = xs[0]->rank;
    /* A rank-0 operand is left to the shape rule, which names the problem. */
    if (rank > 0 && (axis < -rank || axis >= rank)) {
        char t[IR_TYPE_STR_MAX];
        ir_error(g, "concat: axis %d is out of range for %s", axis,
                 ir_type_str(xs[0], t, sizeof t));
        return NULL;
    }
    attr.axis = axis < 0 && rank > 0 ? axis + rank : axis;
    return ir_node_new(g, IR_OP_CONCAT, xs, n, &attr);
}

nb_node *nb_gather(nb_graph *g, nb_node *table, nb_node *index)
{
    return ir_make2(g, IR_OP_GATHER, table, index, NULL);
}

/* The axis is normalized here (negative counts from the end); the shape rule checks the
 * rest. An operand that is NULL or of another graph is left to ir_make2 to report. */
nb_node *nb_take_along_axis(nb_graph *g, nb_node *x, nb_node *index, int axis)
{
    ir_attr attr = {0};
    attr.axis = axis;
    if (g && x && x->graph == g && axis < 0 && axis >= -x->rank)
        attr.axis = axis + x->rank;
    return ir_make2(g, IR_OP_TAKE_ALONG_AXIS, x, index, &attr);
}

nb_node *nb_one_hot(nb_graph *g, nb_node *index, int classes, nb_dtype dt)
{
    ir_attr attr = {0};
    attr.k = classes;
    attr.dt = dt;
    return ir_make1(g, IR_OP_ONE_HOT, index, &attr);
}
