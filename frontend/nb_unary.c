/* nb_unary.c — builders of the elementwise unary ops. */
#include "ir.h"

static nb_node *unary(nb_graph *g, ir_op op, nb_node *x)
{
    return ir_make1(g, op, x, NULL);
}

/* An op with one scalar knob in attr.f[0]. */
static nb_node *unary_knob(nb_graph *g, ir_op op, nb_node *x, double v)
{
    ir_attr attr = {0};
    attr.f[0] = v;
    return ir_make1(g, op, x, &attr);
}

nb_node *nb_neg(nb_graph *g, nb_node *x)
{
    return unary(g, IR_OP_NEG, x);
}
nb_node *nb_abs(nb_graph *g, nb_node *x)
{
    return unary(g, IR_OP_ABS, x);
}
nb_node *nb_sign(nb_graph *g, nb_node *x)
{
    return unary(g, IR_OP_SIGN, x);
}
nb_node *nb_floor(nb_graph *g, nb_node *x)
{
    return unary(g, IR_OP_FLOOR, x);
}
nb_node *nb_ceil(nb_graph *g, nb_node *x)
{
    return unary(g, IR_OP_CEIL, x);
}
nb_node *nb_round(nb_graph *g, nb_node *x)
{
    return unary(g, IR_OP_ROUND, x);
}
nb_node *nb_trunc(nb_graph *g, nb_node *x)
{
    return unary(g, IR_OP_TRUNC, x);
}
nb_node *nb_exp(nb_graph *g, nb_node *x)
{
    return unary(g, IR_OP_EXP, x);
}
nb_node *nb_log(nb_graph *g, nb_node *x)
{
    return unary(g, IR_OP_LOG, x);
}
nb_node *nb_log1p(nb_graph *g, nb_node *x)
{
    return unary(g, IR_OP_LOG1P, x);
}
nb_node *nb_expm1(nb_graph *g, nb_node *x)
{
    return unary(g, IR_OP_EXPM1, x);
}
nb_node *nb_sqrt(nb_graph *g, nb_node *x)
{
    return unary(g, IR_OP_SQRT, x);
}
nb_node *nb_rsqrt(nb_graph *g, nb_node *x)
{
    return unary(g, IR_OP_RSQRT, x);
}
nb_node *nb_square(nb_graph *g, nb_node *x)
{
    return unary(g, IR_OP_SQUARE, x);
}
nb_node *nb_reciprocal(nb_graph *g, nb_node *x)
{
    return unary(g, IR_OP_RECIPROCAL, x);
}
nb_node *nb_sin(nb_graph *g, nb_node *x)
{
    return unary(g, IR_OP_SIN, x);
}
nb_node *nb_cos(nb_graph *g, nb_node *x)
{
    return unary(g, IR_OP_COS, x);
}
nb_node *nb_tanh(nb_graph *g, nb_node *x)
{
    return unary(g, IR_OP_TANH, x);
}
nb_node *nb_sigmoid(nb_graph *g, nb_node *x)
{
    return unary(g, IR_OP_SIGMOID, x);
}
nb_node *nb_relu(nb_graph *g, nb_node *x)
{
    return unary(g, IR_OP_RELU, x);
}
nb_node *nb_gelu(nb_graph *g, nb_node *x)
{
    return unary(g, IR_OP_GELU, x);
}
nb_node *nb_gelu_tanh(nb_graph *g, nb_node *x)
{
    return unary(g, IR_OP_GELU_TANH, x);
}
nb_node *nb_silu(nb_graph *g, nb_node *x)
{
    return unary(g, IR_OP_SILU, x);
}
nb_node *nb_softplus(nb_graph *g, nb_node *x)
{
    return unary(g, IR_OP_SOFTPLUS, x);
}
nb_node *nb_erf(nb_graph *g, nb_node *x)
{
    return unary(g, IR_OP_ERF, x);
}
nb_node *nb_stop_gradient(nb_graph *g, nb_node *x)
{
    return unary(g, IR_OP_STOP_GRADIENT, x);
}

nb_node *nb_leaky_relu(nb_graph *g, nb_node *x, double slope)
{
    return unary_knob(g, IR_OP_LEAKY_RELU, x, slope);
}

nb_node *nb_elu(nb_graph *g, nb_node *x, double alpha)
{
    return unary_knob(g, IR_OP_ELU, x, alpha);
}

nb_node *nb_cast(nb_graph *g, nb_node *x, nb_dtype dt)
{
    ir_attr attr = {0};
    attr.dt = dt;
    return ir_make1(g, IR_OP_CAST, x, &attr);
}
