/* nb_math.c — builders of the trigonometric and hyperbolic functions, the logical ops
 * on masks, and isnan/isinf. */
#include <math.h>

#include "ir.h"

static nb_node *unary(nb_graph *g, ir_op op, nb_node *x)
{
    return ir_make1(g, op, x, NULL);
}

nb_node *nb_tan(nb_graph *g, nb_node *x)
{
    return unary(g, IR_OP_TAN, x);
}
nb_node *nb_asin(nb_graph *g, nb_node *x)
{
    return unary(g, IR_OP_ASIN, x);
}
nb_node *nb_acos(nb_graph *g, nb_node *x)
{
    return unary(g, IR_OP_ACOS, x);
}
nb_node *nb_atan(nb_graph *g, nb_node *x)
{
    return unary(g, IR_OP_ATAN, x);
}
nb_node *nb_sinh(nb_graph *g, nb_node *x)
{
    return unary(g, IR_OP_SINH, x);
}
nb_node *nb_cosh(nb_graph *g, nb_node *x)
{
    return unary(g, IR_OP_COSH, x);
}
nb_node *nb_asinh(nb_graph *g, nb_node *x)
{
    return unary(g, IR_OP_ASINH, x);
}
nb_node *nb_acosh(nb_graph *g, nb_node *x)
{
    return unary(g, IR_OP_ACOSH, x);
}
nb_node *nb_atanh(nb_graph *g, nb_node *x)
{
    return unary(g, IR_OP_ATANH, x);
}

nb_node *nb_logical_and(nb_graph *g, nb_node *a, nb_node *b)
{
    return ir_make2(g, IR_OP_LOGICAL_AND, a, b, NULL);
}
nb_node *nb_logical_or(nb_graph *g, nb_node *a, nb_node *b)
{
    return ir_make2(g, IR_OP_LOGICAL_OR, a, b, NULL);
}
nb_node *nb_logical_xor(nb_graph *g, nb_node *a, nb_node *b)
{
    return ir_make2(g, IR_OP_LOGICAL_XOR, a, b, NULL);
}
nb_node *nb_logical_not(nb_graph *g, nb_node *a)
{
    return ir_make1(g, IR_OP_LOGICAL_NOT, a, NULL);
}

/* x itself when it is an f32 or f64 node of a graph without error, else NULL with the
 * graph's error set (naming `op`). */
static nb_node *float_operand(nb_graph *g, const char *op, nb_node *x)
{
    if (!g || g->error)
        return NULL;
    if (!x) {
        ir_error(g, "%s: operand 0 is NULL", op);
        return NULL;
    }
    if (x->graph != g) {
        ir_error(g, "%s: operand 0 (node %d) belongs to another graph", op, x->id);
        return NULL;
    }
    if (!ir_is_float(x->dtype)) {
        char t[IR_TYPE_STR_MAX];
        ir_error(g, "%s: expected an f32 or f64 operand, got %s", op, ir_type_str(x, t, sizeof t));
        return NULL;
    }
    return x;
}

/* x != x: true exactly for NaN in IEEE arithmetic (the generated code is compiled
 * without -ffast-math, as max's NaN test relies on too). A composition rather than an
 * op: the comparison already has every backend's emitter and no gradient. */
nb_node *nb_isnan(nb_graph *g, nb_node *x)
{
    if (!float_operand(g, "isnan", x))
        return NULL;
    return ir_make2(g, IR_OP_NE, x, x, NULL);
}

/* |x| == inf: true for +inf and -inf, false for NaN and every finite x. */
nb_node *nb_isinf(nb_graph *g, nb_node *x)
{
    if (!float_operand(g, "isinf", x))
        return NULL;
    ir_node *a = ir_make1(g, IR_OP_ABS, x, NULL);
    return ir_make2(g, IR_OP_EQ, a, ir_scalar_like(g, x, INFINITY), NULL);
}
