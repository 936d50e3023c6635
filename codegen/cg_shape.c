/* cg_shape.c — kernels of the ops that move data: copies and broadcasts. */
#include "cg.h"

/* RESHAPE: the same elements in the same order. */
void cg_k_copy(cg_ctx *c, const ir_node *n)
{
    cg_line(c, "for (long i = 0; i < %lld; i++)", (long long)n->numel);
    cg_line(c, "    y[i] = x0[i];");
}

/* BROADCAST_TO: the elementwise loop does the broadcasting. */
void cg_ew_identity(cg_ctx *c, const ir_node *n)
{
    (void)n;
    cg_line(c, "r = a;");
}
