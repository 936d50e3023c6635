/* ops_unary.c — shape and gradient rules of the elementwise unary ops.
 *
 * Every gradient is built from differentiable nodes, so gradients of gradients work.
 * Conventions at kinks follow PyTorch 1.13: relu'(0) = 0, abs'(0) = sign(0) = 0,
 * leaky_relu'(0) = slope, elu'(0) = alpha, sign' = 0, floor' = ceil' = round' = trunc' = 0,
 * sqrt'(0) = +inf; so do the gradients at NaN and at the infinities (docs/conventions.md
 * lists them). Piecewise rules select with where, as PyTorch does, rather than multiply
 * by a 0/1 mask: a mask turns a NaN or infinite gy into NaN where the gradient should
 * be 0. */
#include <math.h>

#include "ir.h"

/* 1 / sqrt(2 pi), the peak of the standard normal density. */
#define IR_INV_SQRT_2PI 0.398942280401432677939946059934
/* 2 / sqrt(pi): erf's derivative at 0. */
#define IR_2_OVER_SQRT_PI 1.12837916709551257389615890312
/* gelu_tanh: sqrt(2 / pi) and the cubic coefficient, as in PyTorch. */
#define IR_GELU_BETA 0.797884560802865355879892119869
#define IR_GELU_KAPPA 0.044715

/* Copies the operand's shape; the dtype is set by the caller. */
static void same_shape(ir_node *n)
{
    n->rank = n->in[0]->rank;
    for (int i = 0; i < n->rank; i++)
        n->shape[i] = n->in[0]->shape[i];
}

int ir_shape_unary_float(ir_graph *g, ir_node *n)
{
    if (ir_check_dtypes(g, n, 1) != 0)
        return -1;
    same_shape(n);
    return 0;
}

/* A float op with one scalar knob in attr.f[0] (leaky_relu's slope, elu's alpha). */
int ir_shape_unary_knob(ir_graph *g, ir_node *n)
{
    const char *knob = n->op == IR_OP_ELU ? "alpha" : "slope";
    if (!isfinite(n->attr.f[0]))
        return ir_error(g, "%s: %s must be finite, got %g", ir_op_defs[n->op].name, knob,
                        n->attr.f[0]);
    return ir_shape_unary_float(g, n);
}

int ir_shape_unary_any(ir_graph *g, ir_node *n)
{
    (void)g;
    n->dtype = n->in[0]->dtype;
    same_shape(n);
    return 0;
}

int ir_shape_cast(ir_graph *g, ir_node *n)
{
    char t[IR_TYPE_STR_MAX];
    nb_dtype to = n->attr.dt;
    if (to < NB_F32 || to > NB_BOOL)
        return ir_error(g, "cast: unknown target dtype %d for %s", (int)to,
                        ir_type_str(n->in[0], t, sizeof t));
    if (to == NB_BOOL)
        return ir_error(g,
                        "cast: cannot cast %s to %s; the target must be f32, f64 or i32 "
                        "(for a mask, compare with nb_ne)",
                        ir_type_str(n->in[0], t, sizeof t), ir_dtype_name(to));
    n->dtype = to;
    same_shape(n);
    return 0;
}

/* ---- gradient rules --------------------------------------------------------------- */

static ir_node *where(ir_graph *g, ir_node *mask, ir_node *a, ir_node *b)
{
    return ir_make3(g, IR_OP_WHERE, mask, a, b, NULL);
}

/* The standard normal density exp(-x^2 / 2) / sqrt(2 pi). */
static ir_node *normal_pdf(ir_graph *g, ir_node *x)
{
    ir_node *e = ir_unary(g, IR_OP_EXP, ir_mul(g, ir_mul(g, x, x), ir_scalar_like(g, x, -0.5)));
    return ir_mul(g, e, ir_scalar_like(g, x, IR_INV_SQRT_2PI));
}

int ir_vjp_neg(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)n, (void)need;
    gx[0] = ir_unary(g, IR_OP_NEG, gy);
    return 0;
}

/* abs'(x) = sign(x), so abs'(0) = 0 as in PyTorch. */
int ir_vjp_abs(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    gx[0] = ir_mul(g, gy, ir_unary(g, IR_OP_SIGN, n->in[0]));
    return 0;
}

/* d exp(x) = exp(x) dx: reuses the forward node. */
int ir_vjp_exp(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    gx[0] = ir_mul(g, gy, n);
    return 0;
}

int ir_vjp_log(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    gx[0] = ir_div(g, gy, n->in[0]);
    return 0;
}

int ir_vjp_log1p(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    ir_node *x = n->in[0];
    gx[0] = ir_div(g, gy, ir_add(g, x, ir_scalar_like(g, x, 1.0)));
    return 0;
}

/* d expm1(x) = exp(x) dx = (y + 1) dx. */
int ir_vjp_expm1(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    gx[0] = ir_mul(g, gy, ir_add(g, n, ir_scalar_like(g, n, 1.0)));
    return 0;
}

/* gy / (2 y): +inf at 0 for a positive gy, as in PyTorch. */
int ir_vjp_sqrt(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    gx[0] = ir_div(g, gy, ir_mul(g, n, ir_scalar_like(g, n, 2.0)));
    return 0;
}

/* y = x^(-1/2): dy = -y^3 / 2 dx. */
int ir_vjp_rsqrt(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    ir_node *cube = ir_mul(g, ir_mul(g, n, n), n);
    gx[0] = ir_mul(g, gy, ir_mul(g, cube, ir_scalar_like(g, n, -0.5)));
    return 0;
}

int ir_vjp_square(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    ir_node *x = n->in[0];
    gx[0] = ir_mul(g, gy, ir_mul(g, x, ir_scalar_like(g, x, 2.0)));
    return 0;
}

/* y = 1 / x: dy = -y^2 dx. */
int ir_vjp_reciprocal(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    gx[0] = ir_mul(g, gy, ir_unary(g, IR_OP_NEG, ir_mul(g, n, n)));
    return 0;
}

int ir_vjp_sin(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    gx[0] = ir_mul(g, gy, ir_unary(g, IR_OP_COS, n->in[0]));
    return 0;
}

int ir_vjp_cos(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    gx[0] = ir_unary(g, IR_OP_NEG, ir_mul(g, gy, ir_unary(g, IR_OP_SIN, n->in[0])));
    return 0;
}

/* d tanh(x) = (1 - y^2) dx. */
int ir_vjp_tanh(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    gx[0] = ir_mul(g, gy, ir_sub(g, ir_scalar_like(g, n, 1.0), ir_mul(g, n, n)));
    return 0;
}

/* d sigmoid(x) = s (1 - s) dx with s the forward node. */
int ir_vjp_sigmoid(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    ir_node *one_minus = ir_sub(g, ir_scalar_like(g, n, 1.0), n);
    gx[0] = ir_mul(g, gy, ir_mul(g, n, one_minus));
    return 0;
}

/* x <= 0 ? 0 : gy, as PyTorch's threshold_backward: the gradient passes at NaN (NaN <= 0
 * is false), and an infinite gy is dropped where x <= 0 rather than turned into
 * 0 * inf = NaN. relu'(0) = 0. The test reads the result y = relu(x), as PyTorch does:
 * y <= 0 exactly where x <= 0 (x < 0 gives y = 0; +-0, positives and NaN give y = x),
 * and y is kept anyway for the next layer, so the forward loop of a Linear's bias and
 * ReLU stores y alone instead of y and x. */
int ir_vjp_relu(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    ir_node *off = ir_make2(g, IR_OP_LE, n, ir_scalar_like(g, n, 0.0), NULL);
    gx[0] = where(g, off, ir_scalar_like(g, gy, 0.0), gy);
    return 0;
}

/* x > 0 ? gy : gy slope, as PyTorch: slope at 0 and at NaN. */
int ir_vjp_leaky_relu(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    ir_node *x = n->in[0];
    ir_node *on = ir_make2(g, IR_OP_GT, x, ir_scalar_like(g, x, 0.0), NULL);
    gx[0] = where(g, on, gy, ir_mul(g, gy, ir_scalar_like(g, gy, n->attr.f[0])));
    return 0;
}

/* x <= 0 ? gy alpha exp(x) : gy, as PyTorch's elu_backward: alpha at 0, and gy itself at
 * +inf and at NaN. The exponent is where(x <= 0, x, 0), so the branch that is not taken
 * never overflows (inf * 0 in a second derivative would give NaN); alpha exp(x) rather
 * than y + alpha keeps full precision for very negative x. Every piece is
 * differentiable, so the second derivative is right. */
int ir_vjp_elu(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    ir_node *x = n->in[0];
    ir_node *below = ir_make2(g, IR_OP_LE, x, ir_scalar_like(g, x, 0.0), NULL);
    ir_node *e = ir_unary(g, IR_OP_EXP, where(g, below, x, ir_scalar_like(g, x, 0.0)));
    ir_node *neg_part = ir_mul(g, gy, ir_mul(g, e, ir_scalar_like(g, x, n->attr.f[0])));
    gx[0] = where(g, below, neg_part, gy);
    return 0;
}

/* gelu = x Phi(x): gelu' = Phi(x) + x phi(x), as PyTorch's gelu_backward. */
int ir_vjp_gelu(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    ir_node *x = n->in[0];
    ir_node *cdf = ir_unary(g, IR_OP_NORMAL_CDF, x);
    gx[0] = ir_mul(g, gy, ir_add(g, cdf, ir_mul(g, x, normal_pdf(g, x))));
    return 0;
}

/* gelu_tanh = x/2 (1 + t), t = tanh(u), u = beta (x + kappa x^3):
 * derivative (1 + t)/2 + x/2 (1 - t^2) beta (1 + 3 kappa x^2), as PyTorch. */
int ir_vjp_gelu_tanh(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    ir_node *x = n->in[0];
    ir_node *x2 = ir_mul(g, x, x);
    ir_node *u = ir_add(g, x, ir_mul(g, ir_mul(g, x2, x), ir_scalar_like(g, x, IR_GELU_KAPPA)));
    ir_node *t = ir_unary(g, IR_OP_TANH, ir_mul(g, u, ir_scalar_like(g, x, IR_GELU_BETA)));
    ir_node *left = ir_mul(g, ir_add(g, t, ir_scalar_like(g, x, 1.0)), ir_scalar_like(g, x, 0.5));
    ir_node *du = ir_add(g, ir_mul(g, x2, ir_scalar_like(g, x, 3.0 * IR_GELU_KAPPA)),
                         ir_scalar_like(g, x, 1.0));
    ir_node *dt = ir_mul(g, ir_sub(g, ir_scalar_like(g, x, 1.0), ir_mul(g, t, t)),
                         ir_mul(g, du, ir_scalar_like(g, x, IR_GELU_BETA)));
    ir_node *right = ir_mul(g, ir_mul(g, x, ir_scalar_like(g, x, 0.5)), dt);
    gx[0] = ir_mul(g, gy, ir_add(g, left, right));
    return 0;
}

/* silu = x s, s = sigmoid(x): silu' = s (1 + x (1 - s)), as PyTorch. */
int ir_vjp_silu(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    ir_node *x = n->in[0];
    ir_node *s = ir_unary(g, IR_OP_SIGMOID, x);
    ir_node *inner =
        ir_add(g, ir_scalar_like(g, x, 1.0), ir_mul(g, x, ir_sub(g, ir_scalar_like(g, x, 1.0), s)));
    gx[0] = ir_mul(g, gy, ir_mul(g, s, inner));
    return 0;
}

/* softplus' = sigmoid(x). (PyTorch returns exactly 1 above its threshold 20, where
 * sigmoid differs from 1 by less than 2.1e-9.) */
int ir_vjp_softplus(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    gx[0] = ir_mul(g, gy, ir_unary(g, IR_OP_SIGMOID, n->in[0]));
    return 0;
}

/* The gradient is cast back to the operand's float dtype (autodiff asks only for
 * float operands: an i32 or bool operand gets none). */
int ir_vjp_cast(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    nb_dtype from = n->in[0]->dtype;
    if (!need[0] || !ir_is_float(from))
        return 0;
    if (from == gy->dtype) {
        gx[0] = gy;
        return 0;
    }
    ir_attr attr = {0};
    attr.dt = from;
    gx[0] = ir_make1(g, IR_OP_CAST, gy, &attr);
    return 0;
}

int ir_vjp_normal_cdf(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    gx[0] = ir_mul(g, gy, normal_pdf(g, n->in[0]));
    return 0;
}

/* erf' = 2/sqrt(pi) exp(-x^2), as PyTorch: 0 at +-inf (exp(-inf)), NaN at NaN. */
int ir_vjp_erf(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    ir_node *x = n->in[0];
    ir_node *e = ir_unary(g, IR_OP_EXP, ir_neg(g, ir_mul(g, x, x)));
    gx[0] = ir_mul(g, gy, ir_mul(g, e, ir_scalar_like(g, x, IR_2_OVER_SQRT_PI)));
    return 0;
}
