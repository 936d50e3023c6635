/* ops_math.c — gradient rules of the trigonometric and hyperbolic functions and their
 * inverses (shape rule: ir_shape_unary_float).
 *
 * Each rule is PyTorch 1.13's formula (tools/autograd/derivatives.yaml) built from
 * ordinary differentiable nodes, so gradients of gradients work; the same formula gives
 * the same values at the domain's edges: asin'(+-1) = acos'(+-1) = acosh'(1) = +-inf
 * (rsqrt(0)), atanh'(+-1) = +inf (gy / 0), NaN outside the domain. */
#include "ir.h"

/* 1 - x^2, the radicand of asin' and acos' and the denominator of atanh'. */
static ir_node *one_minus_square(ir_graph *g, ir_node *x)
{
    return ir_sub(g, ir_scalar_like(g, x, 1.0), ir_mul(g, x, x));
}

/* d tan(x) = (1 + y^2) dx, on the forward node. */
int ir_vjp_tan(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    gx[0] = ir_mul(g, gy, ir_add(g, ir_mul(g, n, n), ir_scalar_like(g, n, 1.0)));
    return 0;
}

/* d asin(x) = rsqrt(1 - x^2) dx. */
int ir_vjp_asin(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    gx[0] = ir_mul(g, gy, ir_unary(g, IR_OP_RSQRT, one_minus_square(g, n->in[0])));
    return 0;
}

/* d acos(x) = -rsqrt(1 - x^2) dx. */
int ir_vjp_acos(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    ir_node *r = ir_unary(g, IR_OP_RSQRT, one_minus_square(g, n->in[0]));
    gx[0] = ir_mul(g, gy, ir_neg(g, r));
    return 0;
}

/* d atan(x) = dx / (x^2 + 1). */
int ir_vjp_atan(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    ir_node *x = n->in[0];
    gx[0] = ir_div(g, gy, ir_add(g, ir_mul(g, x, x), ir_scalar_like(g, x, 1.0)));
    return 0;
}

int ir_vjp_sinh(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    gx[0] = ir_mul(g, gy, ir_unary(g, IR_OP_COSH, n->in[0]));
    return 0;
}

int ir_vjp_cosh(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    gx[0] = ir_mul(g, gy, ir_unary(g, IR_OP_SINH, n->in[0]));
    return 0;
}

/* d asinh(x) = rsqrt(x^2 + 1) dx. */
int ir_vjp_asinh(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    ir_node *x = n->in[0];
    gx[0] = ir_mul(g, gy,
                   ir_unary(g, IR_OP_RSQRT, ir_add(g, ir_mul(g, x, x), ir_scalar_like(g, x, 1.0))));
    return 0;
}

/* d acosh(x) = rsqrt(x^2 - 1) dx. */
int ir_vjp_acosh(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    ir_node *x = n->in[0];
    gx[0] = ir_mul(g, gy,
                   ir_unary(g, IR_OP_RSQRT, ir_sub(g, ir_mul(g, x, x), ir_scalar_like(g, x, 1.0))));
    return 0;
}

/* d atanh(x) = dx / (1 - x^2). */
int ir_vjp_atanh(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    gx[0] = ir_div(g, gy, one_minus_square(g, n->in[0]));
    return 0;
}
