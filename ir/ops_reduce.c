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
 * its slice. A slice without zeros takes y / x, as torch; with one zero, the zero's
 * element gets the product of the non-zero elements and the others 0; with two or more,
 * every element gets 0 (torch's prod_safe_zeros_backward gives the same products).
 * Divisions and products read nz = where(x == 0, 1, x), never x, so that the branch
 * where does not take holds no 0/0 whose gradient would be NaN in a second derivative.
 * The second derivative is exact where the slice has no zero; at an exact zero the
 * masks are constants, so the mixed terms through the zero are not followed. */
int ir_vjp_prod(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    ir_node *x = n->in[0];
    ir_node *zero = ir_scalar_like(g, x, 0.0), *one = ir_scalar_like(g, x, 1.0);
    ir_node *is_zero = ir_make2(g, IR_OP_EQ, x, zero, NULL);
    ir_node *nz = ir_make3(g, IR_OP_WHERE, is_zero, one, x, NULL);
    ir_node *hit = ir_make3(g, IR_OP_WHERE, is_zero, one, zero, NULL);
    ir_node *zeros = ir_reduce(g, IR_OP_SUM, hit, n->attr.axes, 1);
    ir_node *plain = ir_div(g, kept_form(g, n, n), nz);
    ir_node *others = ir_reduce(g, IR_OP_PROD, nz, n->attr.axes, 1);
    ir_node *lone = ir_make3(g, IR_OP_WHERE, is_zero, others, zero, NULL);
    ir_node *one_zero = ir_make2(g, IR_OP_EQ, zeros, one, NULL);
    ir_node *with_zero = ir_make3(g, IR_OP_WHERE, one_zero, lone, zero, NULL);
    ir_node *no_zero = ir_make2(g, IR_OP_EQ, zeros, zero, NULL);
    ir_node *d = ir_make3(g, IR_OP_WHERE, no_zero, plain, with_zero, NULL);
    gx[0] = ir_mul(g, kept_form(g, n, gy), d);
    return 0;
}
