/* cg_logical.c — expressions of the logical ops on bool masks (unsigned char 0/1). Each
 * reads its operands as truth values (!= 0) and gives 0 or 1. */
#include "cg.h"

/* (unsigned char)(a <op> b) */
static void logical(cg_ew *e, const char *op)
{
    cg_ew_s(e, "(unsigned char)(");
    cg_ew_x(e, 0);
    cg_ew_s(e, op);
    cg_ew_x(e, 1);
    cg_ew_s(e, ")");
}

void cg_ew_logical_and(cg_ew *e, const ir_node *n)
{
    (void)n;
    logical(e, " && ");
}

void cg_ew_logical_or(cg_ew *e, const ir_node *n)
{
    (void)n;
    logical(e, " || ");
}

/* (unsigned char)(!a != !b) */
void cg_ew_logical_xor(cg_ew *e, const ir_node *n)
{
    (void)n;
    cg_ew_s(e, "(unsigned char)(!");
    cg_ew_x(e, 0);
    cg_ew_s(e, " != !");
    cg_ew_x(e, 1);
    cg_ew_s(e, ")");
}

/* (unsigned char)!a */
void cg_ew_logical_not(cg_ew *e, const ir_node *n)
{
    (void)n;
    cg_ew_s(e, "(unsigned char)!");
    cg_ew_x(e, 0);
}
