/* ops_reduce.c — shape and gradient rules of the reductions. */
#include "ir.h"

int ir_shape_reduce(ir_graph *g, ir_node *n)
{
    const ir_node *x = n->in[0];
    if (ir_check_dtypes(g, n, 1) != 0)
        return -1;
    if (x->rank < 32 && (n->attr.axes >> x->rank) != 0)
        return ir_error(g, "%s: axes mask 0x%x names axes past rank %d", ir_op_defs[n->op].name,
                        n->attr.axes, x->rank);
    n->rank = 0;
    for (int d = 0; d < x->rank; d++) {
        if (!(n->attr.axes & (1u << d)))
            n->shape[n->rank++] = x->shape[d];
        else if (n->attr.keepdim)
            n->shape[n->rank++] = 1;
    }
    return 0;
}

/* argmax/argmin: a float operand, exactly one reduced axis that is not empty (torch
 * rejects an empty one: there is no index to return) and whose indices fit in i32. */
int ir_shape_argreduce(ir_graph *g, ir_node *n)
{
    const ir_node *x = n->in[0];
    const char *name = ir_op_defs[n->op].name;
    if (ir_shape_reduce(g, n) != 0) /* checks that x is a float */
        return -1;
    uint32_t a = n->attr.axes;
    if (a == 0 || (a & (a - 1)) != 0)
        return ir_error(g, "%s: expected one axis, got the axes mask 0x%x", name, a);
    int d = 0;
    while (!(a & (1u << d)))
        d++;
    if (x->shape[d] == 0 || x->shape[d] > INT32_MAX)
        return ir_error(g, "%s: axis %d has %lld elements; expected 1 to %d", name, d,
                        (long long)x->shape[d], INT32_MAX);
    n->dtype = NB_I32;
    return 0;
}

/* A reduction's output (or its gradient) reshaped to keepdim form: x's rank, with
 * size 1 on the reduced axes, so that it broadcasts against x. */
static ir_node *kept_form(ir_graph *g, const ir_node *n, ir_node *v)
{
    const ir_node *x = n->in[0];
    int64_t kept[NB_MAX_RANK];
    for (int d = 0; d < x->rank; d++)
        kept[d] = (n->attr.axes & (1u << d)) ? 1 : x->shape[d];
    return ir_reshape(g, v, x->rank, kept);
}

int ir_vjp_sum(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    const ir_node *x = n->in[0];
    gx[0] = ir_broadcast_to(g, kept_form(g, n, gy), x->rank, x->shape);
    return 0;
}

/* d logsumexp(x) = softmax(x) = exp(x - y): built on the forward node, so the
 * gradient is itself differentiable. */
int ir_vjp_logsumexp(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    ir_node *x = n->in[0];
    ir_node *p = ir_make1(g, IR_OP_EXP, ir_sub(g, x, kept_form(g, n, n)), NULL);
    gx[0] = ir_mul(g, kept_form(g, n, gy), p);
    return 0;
}

/* torch.amax/amin: gy is split evenly among the elements equal to the result, as
 * (gy / count) * hit with hit = where(x == y, 1, 0) and count its sum over the
 * reduced axes.
 * hit has no gradient, so the rule is linear in gy and differentiable again. A NaN
 * result equals no element: count = 0 and the slice's gradient is NaN, as in torch. */
static int vjp_extreme(ir_graph *g, ir_node *n, ir_node *gy, ir_node **gx)
{
    ir_node *x = n->in[0];
    ir_node *eq = ir_make2(g, IR_OP_EQ, x, kept_form(g, n, n), NULL);
    ir_node *hit =
        ir_make3(g, IR_OP_WHERE, eq, ir_scalar_like(g, x, 1.0), ir_scalar_like(g, x, 0.0), NULL);
    ir_node *count = ir_reduce(g, IR_OP_SUM, hit, n->attr.axes, 1);
    gx[0] = ir_mul(g, ir_div(g, kept_form(g, n, gy), count), hit);
    return 0;
}

int ir_vjp_max(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    return vjp_extreme(g, n, gy, gx);
}

int ir_vjp_min(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    return vjp_extreme(g, n, gy, gx);
}

/* torch.prod's gradient: each element gets gy times the product of the other elements of
 * its slice. A slice without zeros takes y / x, as torch. With zeros, the products are
 * written so that their own gradients are the exact second derivatives, as torch's
 * cumprod-based prod_safe_zeros_backward gives them; with P the product of the slice's
 * non-zero elements and s the sum of its zeros (0 in value, 1 in derivative):
 *   one zero: the zero gets P, each other element s P / x;
 *   two zeros: each zero gets (s - x) P (the other zero times P), the others 0;
 *   more: 0 everywhere (every second derivative is 0 as well).
 * Divisions and products read nz = where(x == 0, 1, x), never x, so that the branch a
 * where does not take holds no 0/0 whose gradient would be NaN in a second derivative. */
int ir_vjp_prod(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    ir_node *x = n->in[0];
    uint32_t axes = n->attr.axes;
    if (axes == 0) { /* over no axis (a scalar's product): y = x, as torch returns gy */
        gx[0] = gy;
        return 0;
    }
    ir_node *zero = ir_scalar_like(g, x, 0.0), *one = ir_scalar_like(g, x, 1.0);
    ir_node *two = ir_scalar_like(g, x, 2.0);
    ir_node *is_zero = ir_make2(g, IR_OP_EQ, x, zero, NULL);
    ir_node *nz = ir_make3(g, IR_OP_WHERE, is_zero, one, x, NULL);
    ir_node *count =
        ir_reduce(g, IR_OP_SUM, ir_make3(g, IR_OP_WHERE, is_zero, one, zero, NULL), axes, 1);
    ir_node *zsum =
        ir_reduce(g, IR_OP_SUM, ir_make3(g, IR_OP_WHERE, is_zero, x, zero, NULL), axes, 1);
    ir_node *p = ir_reduce(g, IR_OP_PROD, nz, axes, 1);
    ir_node *none = ir_make2(g, IR_OP_EQ, count, zero, NULL);
    ir_node *single = ir_make2(g, IR_OP_EQ, count, one, NULL);
    ir_node *pair = ir_make2(g, IR_OP_EQ, count, two, NULL);
    /* at a zero: P (one zero), (s - x) P (two), 0 (more) */
    ir_node *at_pair = ir_make3(g, IR_OP_WHERE, pair, ir_mul(g, ir_sub(g, zsum, x), p), zero, NULL);
    ir_node *at_zero = ir_make3(g, IR_OP_WHERE, single, p, at_pair, NULL);
    /* elsewhere: y / x (no zero), s P / x (one), 0 (more) */
    ir_node *by_one =
        ir_make3(g, IR_OP_WHERE, single, ir_mul(g, zsum, ir_div(g, p, nz)), zero, NULL);
    ir_node *off_zero =
        ir_make3(g, IR_OP_WHERE, none, ir_div(g, kept_form(g, n, n), nz), by_one, NULL);
    ir_node *d = ir_make3(g, IR_OP_WHERE, is_zero, at_zero, off_zero, NULL);
    gx[0] = ir_mul(g, kept_form(g, n, gy), d);
    return 0;
}
