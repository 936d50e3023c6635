/* cg_reduce.c — reduction kernels: loops over the kept axes outside, the reduced axes
 * inside, one accumulator per output element. */
#include "cg.h"

/* f32 sums accumulate in double: more accurate, and as fast under tcc. */
void cg_k_reduce(cg_ctx *c, const ir_node *n)
{
    const ir_node *x = n->in[0];
    uint32_t red = n->attr.axes, kept = ((1u << x->rank) - 1) & ~red;
    int64_t xs[NB_MAX_RANK], ys[NB_MAX_RANK], s = 1;
    char xi[256], yi[256];
    cg_strides(x->rank, x->shape, xs);
    for (int d = x->rank - 1; d >= 0; d--) {
        ys[d] = (red & (1u << d)) ? 0 : s;
        s *= (red & (1u << d)) ? 1 : x->shape[d];
    }
    int outer = cg_loops_open(c, "i", x->rank, x->shape, kept);
    cg_line(c, "double acc = 0.0;");
    int inner = cg_loops_open(c, "i", x->rank, x->shape, red);
    cg_line(c, "acc += x0[%s];", cg_index(xi, sizeof xi, "i", x->rank, xs));
    cg_loops_close(c, inner);
    cg_line(c, "y[%s] = (%s)acc;", cg_index(yi, sizeof yi, "i", x->rank, ys),
            cg_ctype(n->dtype));
    cg_loops_close(c, outer);
}
