/* ir_rewrite.c — local rewrites that ir_simplify applies to each node as it copies it:
 * a matmul reads a transposed operand through a flag instead of a transpose node. */
#include "ir.h"

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

/* One rule instead of a special case in every codegen pass: the gemm call takes
 * transposed operands (CblasTrans), so a transpose that only a matmul reads need
 * never be computed. A transpose that others read stays for them; simplify drops it
 * when nobody does. A flag that is already set flips back: (a^T)^T is a. */
void ir_rewrite_matmul(const ir_node *v, ir_node **in, ir_attr *attr)
{
    if (v->op != IR_OP_MATMUL)
        return;
    if (ir_is_transpose(in[0])) {
        in[0] = in[0]->in[0];
        attr->trans_a = !attr->trans_a;
    }
    if (ir_is_transpose(in[1])) {
        in[1] = in[1]->in[0];
        attr->trans_b = !attr->trans_b;
    }
}
