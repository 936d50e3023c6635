/* ir_build.c — small constructors over ir_node_new, used by gradient rules and the
 * frontend so that neither spells out attribute structs for common nodes. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

ir_node *ir_make1(ir_graph *g, ir_op op, ir_node *a, const ir_attr *attr)
{
    return ir_node_new(g, op, &a, 1, attr);
}

ir_node *ir_make2(ir_graph *g, ir_op op, ir_node *a, ir_node *b, const ir_attr *attr)
{
    ir_node *in[2] = {a, b};
    return ir_node_new(g, op, in, 2, attr);
}

ir_node *ir_make3(ir_graph *g, ir_op op, ir_node *a, ir_node *b, ir_node *c, const ir_attr *attr)
{
    ir_node *in[3] = {a, b, c};
    return ir_node_new(g, op, in, 3, attr);
}

ir_node *ir_constant(ir_graph *g, nb_dtype dt, int rank, const int64_t *shape, const double *data)
{
    ir_attr attr = {0};
    attr.dt = dt;
    attr.target.rank = rank;
    if (rank > 0 && rank <= NB_MAX_RANK)
        memcpy(attr.target.shape, shape, (size_t)rank * sizeof *shape);
    ir_node *n = ir_node_new(g, IR_OP_CONST, NULL, 0, &attr);
    if (!n)
        return NULL;
    n->data = ir_malloc((size_t)n->numel * sizeof *n->data);
    if (!n->data) {
        ir_oom(g);
        return NULL;
    }
    for (int64_t i = 0; i < n->numel; i++) {
        double v = data[i];
        /* Values are stored as the dtype will hold them, so codegen and folding agree. */
        if (dt == NB_F32)
            v = fabs(v) > FLT_MAX && !isnan(v) ? copysign(INFINITY, v) : (float)v;
        else if (dt == NB_I32 && !(v >= INT32_MIN && v <= INT32_MAX)) {
            ir_error(g, "const: value %g at index %lld does not fit i32", v, (long long)i);
            return NULL;
        } else if (dt == NB_I32)
            v = (double)(int32_t)v;
        else if (dt == NB_BOOL)
            v = v != 0;
        n->data[i] = v;
    }
    return n;
}

ir_node *ir_scalar(ir_graph *g, nb_dtype dt, double v)
{
    return ir_constant(g, dt, 0, NULL, &v);
}

ir_node *ir_scalar_like(ir_graph *g, const ir_node *x, double v)
{
    return x ? ir_scalar(g, x->dtype, v) : NULL;
}

ir_node *ir_zeros_like(ir_graph *g, const ir_node *x)
{
    if (!x)
        return NULL;
    return ir_broadcast_to(g, ir_scalar_like(g, x, 0.0), x->rank, x->shape);
}

ir_node *ir_add(ir_graph *g, ir_node *a, ir_node *b)
{
    return ir_make2(g, IR_OP_ADD, a, b, NULL);
}

ir_node *ir_sub(ir_graph *g, ir_node *a, ir_node *b)
{
    return ir_make2(g, IR_OP_SUB, a, b, NULL);
}

ir_node *ir_mul(ir_graph *g, ir_node *a, ir_node *b)
{
    return ir_make2(g, IR_OP_MUL, a, b, NULL);
}

ir_node *ir_div(ir_graph *g, ir_node *a, ir_node *b)
{
    return ir_make2(g, IR_OP_DIV, a, b, NULL);
}

ir_node *ir_unary(ir_graph *g, ir_op op, ir_node *a)
{
    return ir_make1(g, op, a, NULL);
}

ir_node *ir_neg(ir_graph *g, ir_node *a)
{
    return ir_make1(g, IR_OP_NEG, a, NULL);
}

ir_node *ir_reduce(ir_graph *g, ir_op op, ir_node *x, uint32_t axes, int keepdim)
{
    ir_attr attr = {0};
    attr.axes = axes;
    attr.keepdim = keepdim;
    return ir_make1(g, op, x, &attr);
}

/* RESHAPE and BROADCAST_TO carry their target shape in attr.target. */
static ir_node *make_shaped(ir_graph *g, ir_op op, ir_node *x, int rank, const int64_t *shape)
{
    ir_attr attr = {0};
    if (rank < 0 || rank > NB_MAX_RANK || (rank > 0 && !shape)) {
        ir_error(g, "%s: bad target shape (rank %d%s)", ir_op_defs[op].name, rank,
                 rank > 0 && !shape ? ", shape is NULL" : "");
        return NULL;
    }
    attr.target.rank = rank;
    if (rank)
        memcpy(attr.target.shape, shape, (size_t)rank * sizeof *shape);
    return ir_make1(g, op, x, &attr);
}

ir_node *ir_reshape(ir_graph *g, ir_node *x, int rank, const int64_t *shape)
{
    if (x && x->rank == rank &&
        (rank == 0 || (shape && memcmp(x->shape, shape, (size_t)rank * sizeof *shape) == 0)))
        return x;
    return make_shaped(g, IR_OP_RESHAPE, x, rank, shape);
}

ir_node *ir_broadcast_to(ir_graph *g, ir_node *x, int rank, const int64_t *shape)
{
    return make_shaped(g, IR_OP_BROADCAST_TO, x, rank, shape);
}

ir_node *ir_sum_to(ir_graph *g, ir_node *gx, const ir_node *x)
{
    if (!gx || !x)
        return NULL;
    if (ir_same_shape(gx, x))
        return gx;
    int lead = gx->rank - x->rank;
    uint32_t mask = 0;
    for (int d = 0; d < gx->rank; d++)
        if (d < lead || (x->shape[d - lead] == 1 && gx->shape[d] != 1))
            mask |= 1u << d;
    ir_node *s = mask ? ir_reduce(g, IR_OP_SUM, gx, mask, 1) : gx;
    return ir_reshape(g, s, x->rank, x->shape);
}
