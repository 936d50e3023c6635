/* cg_elementwise.c — the loop around an elementwise op: broadcasting by strides,
 * adjacent axes merged, scalar operands loaded once. */
#include <stdio.h>

#include "cg.h"

#define CG_MAX_OPERANDS 4

/* Loop axes after merging: size and, per array (0 = output, 1.. = operands), stride. */
typedef struct loop_axes {
    int n;
    int64_t size[NB_MAX_RANK];
    int64_t stride[CG_MAX_OPERANDS + 1][NB_MAX_RANK];
} loop_axes;

static void plan_axes(const ir_node *n, loop_axes *la)
{
    int64_t st[CG_MAX_OPERANDS + 1][NB_MAX_RANK];
    cg_strides(n->rank, n->shape, st[0]);
    for (int k = 0; k < n->n_in; k++) {
        const ir_node *x = n->in[k];
        int64_t own[NB_MAX_RANK];
        cg_strides(x->rank, x->shape, own);
        for (int d = 0; d < n->rank; d++) {
            int dd = d - (n->rank - x->rank);
            st[k + 1][d] = (dd < 0 || x->shape[dd] == 1) ? 0 : own[dd];
        }
    }
    la->n = 0;
    for (int d = 0; d < n->rank; d++) {
        if (n->shape[d] == 1)
            continue;
        int m = la->n;
        int merge = m > 0;
        for (int k = 0; k <= n->n_in && merge; k++)
            merge = la->stride[k][m - 1] == st[k][d] * n->shape[d];
        if (merge) {
            la->size[m - 1] *= n->shape[d];
            for (int k = 0; k <= n->n_in; k++)
                la->stride[k][m - 1] = st[k][d];
            continue;
        }
        la->size[m] = n->shape[d];
        for (int k = 0; k <= n->n_in; k++)
            la->stride[k][m] = st[k][d];
        la->n++;
    }
}

static int all_zero(const int64_t *s, int n)
{
    for (int i = 0; i < n; i++)
        if (s[i])
            return 0;
    return 1;
}

void cg_elementwise(cg_ctx *c, const ir_node *n, cg_emit_fn scalar)
{
    static const char names[CG_MAX_OPERANDS] = {'a', 'b', 'c', 'd'};
    loop_axes la;
    char idx[256];
    if (n->n_in > CG_MAX_OPERANDS) {
        c->t->failed = 1;
        return;
    }
    plan_axes(n, &la);
    /* Operands that do not vary in the loop are read once, before it. */
    for (int k = 0; k < n->n_in; k++)
        if (all_zero(la.stride[k + 1], la.n))
            cg_line(c, "const %s %c = x%d[0];", cg_ctype(n->in[k]->dtype), names[k], k);
    int loops = cg_loops_open(c, "i", la.n, la.size, (1u << la.n) - 1);
    for (int k = 0; k < n->n_in; k++)
        if (!all_zero(la.stride[k + 1], la.n))
            cg_line(c, "const %s %c = x%d[%s];", cg_ctype(n->in[k]->dtype), names[k], k,
                    cg_index(idx, sizeof idx, "i", la.n, la.stride[k + 1]));
    cg_line(c, "%s r;", cg_ctype(n->dtype));
    scalar(c, n);
    cg_line(c, "y[%s] = r;", cg_index(idx, sizeof idx, "i", la.n, la.stride[0]));
    cg_loops_close(c, loops);
}
