/* ops_index.c — shape and gradient rules of the ops that move elements by computed
 * positions: pad (constant and reflect), reflect pad's adjoint, scatter-add along an axis
 * and cumsum. Gradients are
 * compositions of these same ops, so gradients of gradients work. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ir.h"

/* Checks attr.pad against x and sets n's shape to x's with each axis grown by lo + hi
 * (dir = 1: pad) or shrunk by it (dir = -1: the adjoint, whose result is the unpadded
 * x). In reflect mode each pad must be below the unpadded axis's size (torch's rule:
 * the mirror image must not reach past the far edge). */
static int pad_shape(ir_graph *g, ir_node *n, int dir)
{
    const ir_node *x = n->in[0];
    const char *name = ir_op_defs[n->op].name;
    char t[IR_TYPE_STR_MAX];
    if (ir_check_dtypes(g, n, 1) != 0)
        return -1;
    if (n->attr.pad.rank != x->rank)
        return ir_error(g, "%s: %d axes of pads for %s", name, n->attr.pad.rank,
                        ir_type_str(x, t, sizeof t));
    if (n->attr.pad.reflect != 0 && n->attr.pad.reflect != 1)
        return ir_error(g, "%s: unknown mode %d", name, n->attr.pad.reflect);
    if (n->attr.pad.reflect && n->attr.f[0] != 0)
        return ir_error(g, "%s: reflect mode takes no value, got %g", name, n->attr.f[0]);
    n->rank = x->rank;
    for (int d = 0; d < x->rank; d++) {
        int64_t lo = n->attr.pad.lo[d], hi = n->attr.pad.hi[d];
        int64_t limit = IR_MAX_NUMEL;
        if (lo < -limit || lo > limit || hi < -limit || hi > limit)
            return ir_error(g, "%s: pads (%lld, %lld) of axis %d of %s are too large", name,
                            (long long)lo, (long long)hi, d, ir_type_str(x, t, sizeof t));
        int64_t size = x->shape[d] + dir * (lo + hi);
        int64_t inner = dir > 0 ? x->shape[d] : size;
        if (size < 1 || size > IR_MAX_NUMEL)
            return ir_error(g, "%s: pads (%lld, %lld) leave axis %d of %s with %lld elements", name,
                            (long long)lo, (long long)hi, d, ir_type_str(x, t, sizeof t),
                            (long long)size);
        if (n->attr.pad.reflect && (lo >= inner || hi >= inner || -lo >= inner || -hi >= inner))
            return ir_error(g,
                            "%s: reflect pads (%lld, %lld) of axis %d must be less than its "
                            "size %lld",
                            name, (long long)lo, (long long)hi, d, (long long)inner);
        n->shape[d] = size;
    }
    if (ir_shape_numel(n->rank, n->shape) < 0 || ir_shape_numel(n->rank, n->shape) > IR_MAX_NUMEL)
        return ir_error(g, "%s: the result of padding %s is too large", name,
                        ir_type_str(x, t, sizeof t));
    return 0;
}

int ir_shape_pad(ir_graph *g, ir_node *n)
{
    return pad_shape(g, n, 1);
}

int ir_shape_pad_reflect_grad(ir_graph *g, ir_node *n)
{
    if (!n->attr.pad.reflect)
        return ir_error(g, "pad_reflect_grad: the mode must be reflect");
    return pad_shape(g, n, -1);
}

/* Constant: the gradient is gy with the pads taken off again, i.e. gy padded by the
 * negated pads (a crop where x was padded, zeros where it was cropped). Reflect: the
 * adjoint op, which sums each mirrored copy back onto its source. */
int ir_vjp_pad(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    ir_attr a = n->attr;
    if (a.pad.reflect) {
        gx[0] = ir_make1(g, IR_OP_PAD_REFLECT_GRAD, gy, &a);
        return 0;
    }
    for (int d = 0; d < a.pad.rank; d++) {
        a.pad.lo[d] = -a.pad.lo[d];
        a.pad.hi[d] = -a.pad.hi[d];
    }
    a.f[0] = 0.0;
    gx[0] = ir_make1(g, IR_OP_PAD, gy, &a);
    return 0;
}

/* The adjoint of the adjoint: reflect padding again. */
int ir_vjp_pad_reflect_grad(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need,
                            ir_node **gx)
{
    (void)need;
    gx[0] = ir_make1(g, IR_OP_PAD, gy, &n->attr);
    return 0;
}

/* x float; index i32 and src of x's dtype, both of one shape, of x's rank and as long as
 * x on every axis but attr.axis (torch lets them be shorter; nabla asks for equal, so
 * that src's gradient is a take_along_axis of gy). */
int ir_shape_scatter_add_axis(ir_graph *g, ir_node *n)
{
    const ir_node *x = n->in[0], *index = n->in[1], *src = n->in[2];
    int axis = n->attr.axis;
    char tx[IR_TYPE_STR_MAX], ti[IR_TYPE_STR_MAX], ts[IR_TYPE_STR_MAX];
    const char *name = ir_op_defs[n->op].name;
    ir_type_str(x, tx, sizeof tx);
    ir_type_str(index, ti, sizeof ti);
    ir_type_str(src, ts, sizeof ts);
    if (!ir_is_float(x->dtype) || src->dtype != x->dtype)
        return ir_error(g, "%s: x and src must share one float dtype, got %s and %s", name, tx, ts);
    if (index->dtype != NB_I32)
        return ir_error(g, "%s: the index is %s; it must be i32", name, ti);
    if (x->rank < 1 || axis < 0 || axis >= x->rank)
        return ir_error(g, "%s: axis %d is out of range for %s", name, axis, tx);
    if (!ir_same_shape(index, src))
        return ir_error(g, "%s: the index %s and src %s must have one shape", name, ti, ts);
    if (index->rank != x->rank)
        return ir_error(g, "%s: the index %s must have the rank of %s", name, ti, tx);
    for (int d = 0; d < x->rank; d++)
        if (d != axis && index->shape[d] != x->shape[d])
            return ir_error(g,
                            "%s: the index %s and %s differ on axis %d (%lld vs %lld); only "
                            "axis %d may differ",
                            name, ti, tx, d, (long long)index->shape[d], (long long)x->shape[d],
                            axis);
    n->dtype = x->dtype;
    n->rank = x->rank;
    memcpy(n->shape, x->shape, (size_t)x->rank * sizeof *n->shape);
    return 0;
}

/* y = x + scatter(src): x's gradient is gy, src's the elements of gy its elements were
 * added to (torch.gather(gy, axis, index)). */
int ir_vjp_scatter_add_axis(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need,
                            ir_node **gx)
{
    if (need[0])
        gx[0] = gy;
    if (need[2]) {
        ir_attr a = {0};
        a.axis = n->attr.axis;
        gx[2] = ir_make2(g, IR_OP_TAKE_ALONG_AXIS, gy, n->in[1], &a);
    }
    return 0;
}

/* A float x of rank >= 1, the axis in range; the result is x's shape. */
int ir_shape_cumsum(ir_graph *g, ir_node *n)
{
    const ir_node *x = n->in[0];
    char t[IR_TYPE_STR_MAX];
    if (ir_check_dtypes(g, n, 1) != 0)
        return -1;
    if (n->attr.axis < 0 || n->attr.axis >= x->rank)
        return ir_error(g, "cumsum: axis %d is out of range for %s", n->attr.axis,
                        ir_type_str(x, t, sizeof t));
    if (n->attr.reverse != 0 && n->attr.reverse != 1)
        return ir_error(g, "cumsum: reverse must be 0 or 1, got %d", n->attr.reverse);
    n->rank = x->rank;
    memcpy(n->shape, x->shape, (size_t)x->rank * sizeof *n->shape);
    return 0;
}

/* y_k = sum_{j <= k} x_j: dx_j = sum_{k >= j} gy_k, the cumsum of gy from the end (and
 * from the start for a reversed one), as PyTorch. */
int ir_vjp_cumsum(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    ir_attr a = n->attr;
    a.reverse = !a.reverse;
    gx[0] = ir_make1(g, IR_OP_CUMSUM, gy, &a);
    return 0;
}
