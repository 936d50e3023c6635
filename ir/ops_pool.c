/* ops_pool.c — shape and gradient rules of the pooling ops (ops_pool.def). */
#include "ir.h"

/* Attribute values beyond this are rejected: the size arithmetic below then stays far
 * from int64's limits (a dimension is at most IR_MAX_NUMEL, below 2^60). */
#define POOL_ATTR_MAX INT32_MAX

static int is_max(ir_op op)
{
    return op == IR_OP_MAX_POOL2D || op == IR_OP_MAX_POOL2D_GRAD || op == IR_OP_MAX_POOL2D_SELECT;
}

/* Checks n's window attributes and computes the pooled size of the last two axes of an
 * input of rank `rank` and shape `in` (torch's pooling_output_shape) into out[2]. */
static int pooled_size(ir_graph *g, const ir_node *n, int rank, const int64_t *in, int64_t *out)
{
    const char *name = ir_op_defs[n->op].name;
    const ir_attr *a = &n->attr;
    int dilated = is_max(n->op);
    char t[IR_TYPE_STR_MAX];
    ir_format_type(n->in[0]->dtype, rank, in, t, sizeof t);
    if (rank != 3 && rank != 4)
        return ir_error(g, "%s: input %s; expected rank 3 ([C, H, W]) or 4 ([N, C, H, W])", name,
                        t);
    if (a->window.ceil_mode != 0 && a->window.ceil_mode != 1)
        return ir_error(g, "%s: ceil_mode is %d; expected 0 or 1", name, a->window.ceil_mode);
    if (a->window.count_include_pad != 0 && a->window.count_include_pad != 1)
        return ir_error(g, "%s: count_include_pad is %d; expected 0 or 1", name,
                        a->window.count_include_pad);
    if (a->window.groups != 0)
        return ir_error(g, "%s: groups is %d; pooling has none (0)", name, a->window.groups);
    if (dilated && (a->window.divisor != 0 || a->window.count_include_pad != 0))
        return ir_error(g, "%s: max pooling takes no divisor_override or count_include_pad", name);
    if (a->window.divisor < 0 || a->window.divisor > POOL_ATTR_MAX)
        return ir_error(g, "%s: divisor_override is %lld; expected 1 to %d (or 0 for none)", name,
                        (long long)a->window.divisor, POOL_ATTR_MAX);
    for (int d = 0; d < 2; d++) {
        int64_t k = a->window.kernel[d], s = a->window.stride[d], dil = a->window.dilation[d];
        int64_t lo = a->window.pad_lo[d], hi = a->window.pad_hi[d];
        int64_t size = in[rank - 2 + d];
        if (k < 1 || k > POOL_ATTR_MAX || s < 1 || s > POOL_ATTR_MAX)
            return ir_error(g,
                            "%s: kernel %lld and stride %lld on spatial axis %d; expected 1 to %d",
                            name, (long long)k, (long long)s, d, POOL_ATTR_MAX);
        if (dilated ? dil < 1 || dil > POOL_ATTR_MAX : dil != 0)
            return ir_error(g, "%s: dilation %lld on spatial axis %d; expected %s", name,
                            (long long)dil, d, dilated ? "1 to 2147483647" : "none (0)");
        if (lo < 0 || hi < 0 || lo > k / 2 || hi > k / 2)
            return ir_error(g,
                            "%s: padding %lld, %lld on spatial axis %d; expected 0 to half the "
                            "kernel (%lld), as torch requires",
                            name, (long long)lo, (long long)hi, d, (long long)(k / 2));
        /* The span the window covers, and the room for it in the padded input. */
        int64_t span = (dilated ? dil : 1) * (k - 1) + 1, room = size + lo + hi - span;
        int64_t o = room < 0 ? 0 : (room + (a->window.ceil_mode ? s - 1 : 0)) / s + 1;
        /* ceil_mode: the last window must start inside the input or the left padding. */
        if (o > 0 && a->window.ceil_mode && (o - 1) * s >= size + lo)
            o--;
        if (o < 1)
            return ir_error(g,
                            "%s: input %s: spatial axis %d of %lld with padding %lld, %lld is "
                            "smaller than the window (%lld elements); the output would be empty",
                            name, t, d, (long long)size, (long long)lo, (long long)hi,
                            (long long)span);
        /* A dilated window that starts in the padding may have every tap there (taps
         * -1 and 1 of one element): its maximum would have no element, and its argmax
         * would index past the plane (torch returns -inf and an index out of range).
         * Only windows that start before the input can: a later one has its first tap
         * inside (the last one starts inside, as above). */
        for (int64_t i = 0; dilated && i < o && i * s < lo; i++) {
            int64_t start = i * s - lo, first = (-start + dil - 1) / dil; /* first tap >= 0 */
            if (first >= k || start + first * dil >= size)
                return ir_error(g,
                                "%s: input %s: window %lld of spatial axis %d (kernel %lld, "
                                "dilation %lld, padding %lld) holds only padding; its maximum "
                                "would have no element",
                                name, t, (long long)i, d, (long long)k, (long long)dil,
                                (long long)lo);
        }
        out[d] = o;
    }
    return 0;
}

/* max_pool2d, avg_pool2d: a float [N, C, H, W] or [C, H, W] input, pooled. */
int ir_shape_pool(ir_graph *g, ir_node *n)
{
    const ir_node *x = n->in[0];
    if (ir_check_dtypes(g, n, 1) != 0)
        return -1;
    int64_t o[2];
    if (pooled_size(g, n, x->rank, x->shape, o) != 0)
        return -1;
    n->dtype = x->dtype;
    n->rank = x->rank;
    memcpy(n->shape, x->shape, sizeof n->shape);
    n->shape[x->rank - 2] = o[0];
    n->shape[x->rank - 1] = o[1];
    return 0;
}

/* Checks that v (operand `which` of n) has the shape of x pooled: dy of max_pool2d_grad
 * and avg_pool2d_grad. */
static int check_pooled(ir_graph *g, const ir_node *n, int rank, const int64_t *in,
                        const ir_node *v)
{
    const char *name = ir_op_defs[n->op].name;
    int64_t o[2];
    if (pooled_size(g, n, rank, in, o) != 0)
        return -1;
    int same = v->rank == rank && v->shape[rank - 2] == o[0] && v->shape[rank - 1] == o[1];
    for (int d = 0; same && d < rank - 2; d++)
        same = v->shape[d] == in[d];
    if (!same) {
        char tv[IR_TYPE_STR_MAX], tx[IR_TYPE_STR_MAX];
        return ir_error(
            g, "%s: gradient %s does not have the shape of %s pooled (spatial %lld x %lld)", name,
            ir_type_str(v, tv, sizeof tv), ir_format_type(v->dtype, rank, in, tx, sizeof tx),
            (long long)o[0], (long long)o[1]);
    }
    return 0;
}

/* max_pool2d_grad(x, dy): dy of x pooled's shape; the result has x's. */
int ir_shape_max_pool2d_grad(ir_graph *g, ir_node *n)
{
    const ir_node *x = n->in[0];
    if (ir_check_dtypes(g, n, 1) != 0 || check_pooled(g, n, x->rank, x->shape, n->in[1]) != 0)
        return -1;
    n->dtype = x->dtype;
    n->rank = x->rank;
    memcpy(n->shape, x->shape, sizeof n->shape);
    return 0;
}

/* max_pool2d_select(x, g): g of x's shape; the result has x pooled's. */
int ir_shape_max_pool2d_select(ir_graph *g, ir_node *n)
{
    const ir_node *x = n->in[0], *v = n->in[1];
    if (ir_check_dtypes(g, n, 1) != 0)
        return -1;
    if (!ir_same_shape(x, v)) {
        char tx[IR_TYPE_STR_MAX], tv[IR_TYPE_STR_MAX];
        return ir_error(g, "max_pool2d_select: values %s do not have the shape of the input %s",
                        ir_type_str(v, tv, sizeof tv), ir_type_str(x, tx, sizeof tx));
    }
    return ir_shape_pool(g, n);
}

/* avg_pool2d_grad(dy): the result's shape is attr.target, which pools to dy's. */
int ir_shape_avg_pool2d_grad(ir_graph *g, ir_node *n)
{
    const ir_node *dy = n->in[0];
    const ir_attr *a = &n->attr;
    if (ir_check_dtypes(g, n, 1) != 0)
        return -1;
    if (a->target.rank != 3 && a->target.rank != 4)
        return ir_error(g, "avg_pool2d_grad: result of rank %d; expected 3 or 4", a->target.rank);
    for (int d = 0; d < a->target.rank; d++)
        if (a->target.shape[d] < 1 || a->target.shape[d] > IR_MAX_NUMEL)
            return ir_error(g, "avg_pool2d_grad: result dimension %d is %lld; expected 1 to %lld",
                            d, (long long)a->target.shape[d], (long long)IR_MAX_NUMEL);
    if (check_pooled(g, n, a->target.rank, a->target.shape, dy) != 0)
        return -1;
    n->dtype = dy->dtype;
    n->rank = a->target.rank;
    memcpy(n->shape, a->target.shape, sizeof n->shape);
    return 0;
}

int ir_vjp_max_pool2d(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    ir_attr a = ir_window_attr(n);
    gx[0] = ir_make2(g, IR_OP_MAX_POOL2D_GRAD, n->in[0], gy, &a);
    return gx[0] ? 0 : -1;
}

/* Linear in dy: its adjoint reads the gradient at the argmaxes. No gradient flows to x:
 * the argmaxes are piecewise constant in it (torch gives zero too). */
int ir_vjp_max_pool2d_grad(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need,
                           ir_node **gx)
{
    if (!need[1])
        return 0;
    ir_attr a = ir_window_attr(n);
    gx[1] = ir_make2(g, IR_OP_MAX_POOL2D_SELECT, n->in[0], gy, &a);
    return gx[1] ? 0 : -1;
}

int ir_vjp_max_pool2d_select(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need,
                             ir_node **gx)
{
    if (!need[1])
        return 0;
    ir_attr a = ir_window_attr(n);
    gx[1] = ir_make2(g, IR_OP_MAX_POOL2D_GRAD, n->in[0], gy, &a);
    return gx[1] ? 0 : -1;
}

int ir_vjp_avg_pool2d(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    const ir_node *x = n->in[0];
    ir_attr a = ir_window_attr(n);
    a.target.rank = x->rank;
    memcpy(a.target.shape, x->shape, sizeof a.target.shape);
    gx[0] = ir_make1(g, IR_OP_AVG_POOL2D_GRAD, gy, &a);
    return gx[0] ? 0 : -1;
}

int ir_vjp_avg_pool2d_grad(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need,
                           ir_node **gx)
{
    (void)need;
    ir_attr a = ir_window_attr(n);
    gx[0] = ir_make1(g, IR_OP_AVG_POOL2D, gy, &a);
    return gx[0] ? 0 : -1;
}
