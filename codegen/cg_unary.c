/* cg_unary.c — scalar statements of the elementwise unary ops (operand a, result r). */
#include "cg.h"

void cg_ew_exp(cg_ctx *c, const ir_node *n)
{
    cg_line(c, "r = %s(a);", cg_fn(c, n->dtype, "exp"));
}

void cg_ew_log(cg_ctx *c, const ir_node *n)
{
    cg_line(c, "r = %s(a);", cg_fn(c, n->dtype, "log"));
}

/* 1 / (1 + exp(-a)): exp overflows to inf for very negative a and r becomes 0. */
void cg_ew_sigmoid(cg_ctx *c, const ir_node *n)
{
    const char *one = cg_lit(c, n->dtype, 1.0);
    cg_line(c, "r = %s / (%s + %s(-a));", one, one, cg_fn(c, n->dtype, "exp"));
}
