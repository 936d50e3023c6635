/* ir_rewrite.c — the local rewrites that ir_simplify applies to each node as it copies
 * it: one table of rules read by one small loop (tinygrad's pattern matcher is the
 * model). A rule names the op it matches and a function, with data of its own, that
 * returns the node the match reduces to, or NULL; adding a rewrite is adding a row. */
#include <math.h>

#include "ir.h"

typedef struct rewrite_rule rewrite_rule;

/* A rule's function: v is the node being copied, in[] its operands already in the new
 * graph (v->n_in of them) and attr a copy of its attributes. Returns the node of the new
 * graph that v reduces to, or NULL; a rule that returns NULL may still change in and
 * attr (the matmul reads its transposed operand through a flag), and the rules after it
 * see the change. */
typedef ir_node *(*rewrite_fn)(const rewrite_rule *r, const ir_node *v, ir_node **in,
                               ir_attr *attr);

/* Which operand of a binary op may be the constant of an identity rule. */
typedef enum rewrite_side { SIDE_EITHER, SIDE_RIGHT } rewrite_side;

struct rewrite_rule {
    ir_op op; /* the op the rule matches */
    rewrite_fn apply;
    double value;      /* identity_constant: the constant's value, its sign included */
    rewrite_side side; /* identity_constant: where the constant may stand */
};

int ir_is_transpose(const ir_node *n)
{
    if (n->op != IR_OP_PERMUTE || n->rank < 2)
        return 0;
    for (int d = 0; d < n->rank - 2; d++)
        if (n->attr.permute.perm[d] != d)
            return 0;
    return n->attr.permute.perm[n->rank - 2] == n->rank - 1 &&
           n->attr.permute.perm[n->rank - 1] == n->rank - 2;
}

/* 1 when c is a constant that holds v everywhere, the sign of a zero included. */
static int is_const_value(const ir_node *c, double v)
{
    if (c->op != IR_OP_CONST)
        return 0;
    for (int64_t i = 0; i < c->numel; i++)
        if (c->data[i] != v || signbit(c->data[i]) != signbit(v))
            return 0;
    return 1;
}

/* x OP c is x when the constant c holds r->value everywhere and the result is x's
 * dtype and shape (a broadcast against a larger constant is no identity). */
static ir_node *identity_constant(const rewrite_rule *r, const ir_node *v, ir_node **in,
                                  ir_attr *attr)
{
    (void)attr;
    for (int k = r->side == SIDE_RIGHT ? 1 : 0; k < 2; k++) {
        ir_node *keep = in[1 - k];
        if (is_const_value(in[k], r->value) && keep->dtype == v->dtype && ir_same_shape(keep, v))
            return keep;
    }
    return NULL;
}

/* A reshape or broadcast to the operand's own shape, a reduction over no axes or over
 * axes of size 1 with keepdim: the result is the operand, element for element. */
static ir_node *identity_shape(const rewrite_rule *r, const ir_node *v, ir_node **in, ir_attr *attr)
{
    (void)r, (void)attr;
    return ir_same_shape(in[0], v) ? in[0] : NULL;
}

/* One rule instead of a special case in every codegen pass: the gemm call takes
 * transposed operands (CblasTrans), so a transpose that only a matmul reads need never
 * be computed. A transpose that others read stays for them; simplify drops it when
 * nobody does. A flag that is already set flips back: (a^T)^T is a. The matmul itself
 * stays, so the rule returns NULL. */
static ir_node *matmul_transpose(const rewrite_rule *r, const ir_node *v, ir_node **in,
                                 ir_attr *attr)
{
    (void)r, (void)v;
    if (ir_is_transpose(in[0])) {
        in[0] = in[0]->in[0];
        attr->trans_a = !attr->trans_a;
    }
    if (ir_is_transpose(in[1])) {
        in[1] = in[1]->in[0];
        attr->trans_b = !attr->trans_b;
    }
    return NULL;
}

/* The rules, tried in this order for every node of their op. Only rules exact in IEEE
 * arithmetic for every x (NaN, infinities, -0) belong here: x + (-0) and x - (+0) are x,
 * but x + (+0) and x - (-0) turn -0 into +0, and x * 0 is not 0 for x = NaN, inf or a
 * negative x. tests/test_simplify.c has a case for each row. */
static const rewrite_rule rules[] = {
    {IR_OP_MUL, identity_constant, 1.0, SIDE_EITHER},     /* x * 1, 1 * x */
    {IR_OP_ADD, identity_constant, -0.0, SIDE_EITHER},    /* x + (-0), (-0) + x */
    {IR_OP_SUB, identity_constant, 0.0, SIDE_RIGHT},      /* x - 0 */
    {IR_OP_DIV, identity_constant, 1.0, SIDE_RIGHT},      /* x / 1 */
    {IR_OP_RESHAPE, identity_shape, 0, SIDE_EITHER},      /* to x's own shape */
    {IR_OP_BROADCAST_TO, identity_shape, 0, SIDE_EITHER}, /* to x's own shape */
    {IR_OP_SUM, identity_shape, 0, SIDE_EITHER},          /* over no axes, or size 1 kept */
    {IR_OP_MAX, identity_shape, 0, SIDE_EITHER},          /* likewise */
    {IR_OP_MIN, identity_shape, 0, SIDE_EITHER},          /* likewise */
    {IR_OP_LOGSUMEXP, identity_shape, 0, SIDE_EITHER},    /* likewise */
    {IR_OP_PROD, identity_shape, 0, SIDE_EITHER},         /* likewise */
    {IR_OP_MATMUL, matmul_transpose, 0, SIDE_EITHER},     /* matmul(a^T, b) -> matmul.T_a */
    /* stop_gradient(x) is x: gradients are built before the compile-time simplify, so
     * no pass after it reads the stop; a softmax's max then feeds its sub directly
     * instead of through a copy kernel. */
    {IR_OP_STOP_GRADIENT, identity_shape, 0, SIDE_EITHER},
};

ir_node *ir_rewrite(const ir_node *v, ir_node **in, ir_attr *attr)
{
    for (size_t i = 0; i < sizeof rules / sizeof *rules; i++) {
        if (rules[i].op != v->op)
            continue;
        ir_node *same = rules[i].apply(&rules[i], v, in, attr);
        if (same)
            return same;
    }
    return NULL;
}
