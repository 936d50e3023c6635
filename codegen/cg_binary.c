/* cg_binary.c — scalar statements of the elementwise binary ops (a, b -> r). */
#include "cg.h"

void cg_ew_add(cg_ctx *c, const ir_node *n)
{
    (void)n;
    cg_line(c, "r = a + b;");
}

void cg_ew_sub(cg_ctx *c, const ir_node *n)
{
    (void)n;
    cg_line(c, "r = a - b;");
}

void cg_ew_mul(cg_ctx *c, const ir_node *n)
{
    (void)n;
    cg_line(c, "r = a * b;");
}

void cg_ew_div(cg_ctx *c, const ir_node *n)
{
    (void)n;
    cg_line(c, "r = a / b;");
}
