/* cg_index.c — kernels of the ops that move elements by computed positions: pad
 * (constant and reflect), reflect pad's adjoint, scatter-add along an axis, and cumsum. */
#include <float.h>
#include <math.h>

#include "cg.h"

/* Opens loop d over [0, size) and computes j<d>, the position along axis d of the
 * unpadded side that position i<d> of the padded side reads: i - lo, mirrored about the
 * edges (reflect; n the unpadded size) or left outside [0, n) (constant: the caller
 * tests it). */
static void open_axis(cg_ctx *c, int d, int64_t size, int64_t lo, int64_t n, int reflect)
{
    cg_line(c, "for (long i%d = 0; i%d < %lld; i%d++) {", d, d, (long long)size, d);
    c->indent++;
    if (lo >= 0)
        cg_line(c, "long j%d = i%d - %lld;", d, d, (long long)lo);
    else
        cg_line(c, "long j%d = i%d + %lld;", d, d, (long long)-lo);
    if (!reflect)
        return;
    cg_line(c, "if (j%d < 0)", d);
    cg_line(c, "    j%d = -j%d;", d, d);
    cg_line(c, "else if (j%d > %lld)", d, (long long)(n - 1));
    cg_line(c, "    j%d = %lld - j%d;", d, (long long)(2 * (n - 1)), d);
}

/* Appends "i0 * 12 + i1" (var "i") or with "j" over the strides. */
static void put_index(cg_ctx *c, const char *var, int rank, const int64_t *st)
{
    cg_index(c->t, 0, var, rank, st);
}

/* PAD: y (padded) walked in order; y[i] = x0[j] where every j<d> is inside x, else the
 * value (constant), or x0[j] with j mirrored (reflect, always inside). */
void cg_k_pad(cg_ctx *c, const ir_node *n)
{
    const ir_node *x = n->in[0];
    int r = n->rank, reflect = n->attr.pad.reflect;
    int64_t xs[NB_MAX_RANK], ys[NB_MAX_RANK];
    cg_strides(r, x->shape, xs);
    cg_strides(r, n->shape, ys);
    for (int d = 0; d < r; d++)
        open_axis(c, d, n->shape[d], n->attr.pad.lo[d], x->shape[d], reflect);
    /* Axes that add elements before or after need a bounds test (constant mode). */
    int tests = 0;
    for (int d = 0; d < r && !reflect; d++)
        tests += n->attr.pad.lo[d] > 0 || n->attr.pad.hi[d] > 0;
    cg_begin(c);
    cg_s(c, "y[");
    put_index(c, "i", r, ys);
    cg_s(c, "] = ");
    if (tests) {
        int first = 1;
        for (int d = 0; d < r; d++) {
            if (n->attr.pad.lo[d] > 0) {
                cg_s(c, first ? "" : " && ");
                cg_s(c, "j");
                cg_i(c, d);
                cg_s(c, " >= 0");
                first = 0;
            }
            if (n->attr.pad.hi[d] > 0) {
                cg_s(c, first ? "" : " && ");
                cg_s(c, "j");
                cg_i(c, d);
                cg_s(c, " < ");
                cg_i(c, (long long)x->shape[d]);
                first = 0;
            }
        }
        cg_s(c, " ? ");
    }
    cg_s(c, "x0[");
    put_index(c, "j", r, xs);
    cg_s(c, "]");
    if (tests) {
        /* The value as the dtype holds it: an f32 value past FLT_MAX is infinite. */
        double v = n->attr.f[0];
        if (n->dtype == NB_F32 && isfinite(v))
            v = fabs(v) > FLT_MAX ? copysign(INFINITY, v) : (double)(float)v;
        char lit[CG_LIT_MAX];
        cg_lit(lit, n->dtype, v);
        cg_s(c, " : ");
        cg_s(c, lit);
    }
    cg_end(c, ";");
    cg_loops_close(c, r);
}

/* PAD_REFLECT_GRAD: zeros of x's shape (y), then every element of the padded operand x0
 * added onto the element it mirrors, in x0's order (the sums' order is fixed). */
void cg_k_pad_reflect_grad(cg_ctx *c, const ir_node *n)
{
    const ir_node *x = n->in[0];
    int r = n->rank;
    int64_t xs[NB_MAX_RANK], ys[NB_MAX_RANK];
    cg_strides(r, x->shape, xs);
    cg_strides(r, n->shape, ys);
    char zero[CG_LIT_MAX];
    cg_lit(zero, n->dtype, 0.0);
    cg_line(c, "for (long i = 0; i < %lld; i++)", (long long)n->numel);
    cg_line(c, "    y[i] = %s;", zero);
    for (int d = 0; d < r; d++)
        open_axis(c, d, x->shape[d], n->attr.pad.lo[d], n->shape[d], 1);
    cg_begin(c);
    cg_s(c, "y[");
    put_index(c, "j", r, ys);
    cg_s(c, "] += x0[");
    put_index(c, "i", r, xs);
    cg_end(c, "];");
    cg_loops_close(c, r);
}

/* SCATTER_ADD_AXIS: y = x0, then, viewing x0 and y as [A, C, B] and the index x1 and src
 * x2 as [A, K, B] (the axes before the axis, the axis, the axes after), y[a, r, b] +=
 * x2[a, k, b] with r = x1[a, k, b], in index order; r outside [0, C) returns 1. */
void cg_k_scatter_add_axis(cg_ctx *c, const ir_node *n)
{
    const ir_node *index = n->in[1];
    int axis = n->attr.axis;
    int64_t size[3] = {1, index->shape[axis], 1}, is[3], ys[3];
    for (int d = 0; d < axis; d++)
        size[0] *= n->shape[d];
    for (int d = axis + 1; d < n->rank; d++)
        size[2] *= n->shape[d];
    int64_t cols = n->shape[axis];
    cg_strides(3, size, is);
    ys[0] = cols * size[2];
    ys[1] = 0;
    ys[2] = 1;
    uint32_t loops = 0;
    for (int d = 0; d < 3; d++) {
        if (size[d] > 1)
            loops |= 1u << d;
        else
            is[d] = ys[d] = 0;
    }
    cg_line(c, "for (long i = 0; i < %lld; i++)", (long long)n->numel);
    cg_line(c, "    y[i] = x0[i];");
    int open = cg_loops_open(c, "i", 3, size, loops);
    cg_begin(c);
    cg_s(c, "const long i = ");
    cg_index(c->t, 0, "i", 3, is);
    cg_end(c, ";");
    cg_line(c, "const long r = x1[i];");
    cg_line(c, "if (r < 0 || r >= %lld)", (long long)cols);
    cg_line(c, "    return 1;");
    cg_begin(c);
    cg_s(c, "y[");
    cg_index(c->t, 0, "i", 3, ys);
    cg_s(c, " + r");
    if (size[2] > 1) {
        cg_s(c, " * ");
        cg_i(c, size[2]);
    }
    cg_end(c, "] += x2[i];");
    cg_loops_close(c, open);
    c->can_fail = 1;
}

/* CUMSUM: x0 and y viewed as [A, C, B] (the axes before the axis, the axis, the axes
 * after); for each (a, b) one double accumulator takes x0[a, k, b] for k = 0 .. C - 1 (C - 1
 * down to 0 when reversed), y[a, k, b] its value rounded to y's type after each. */
void cg_k_cumsum(cg_ctx *c, const ir_node *n)
{
    int axis = n->attr.axis;
    int64_t outer = 1, inner = 1, len = n->shape[axis];
    for (int d = 0; d < axis; d++)
        outer *= n->shape[d];
    for (int d = axis + 1; d < n->rank; d++)
        inner *= n->shape[d];
    const char *t = cg_ctype(n->dtype);
    cg_line(c, "for (long a = 0; a < %lld; a++)", (long long)outer);
    cg_line(c, "    for (long b = 0; b < %lld; b++) {", (long long)inner);
    cg_line(c, "        double s = 0.0;");
    if (n->attr.reverse)
        cg_line(c, "        for (long k = %lld; k >= 0; k--) {", (long long)(len - 1));
    else
        cg_line(c, "        for (long k = 0; k < %lld; k++) {", (long long)len);
    cg_line(c, "            const long i = (a * %lld + k) * %lld + b;", (long long)len,
            (long long)inner);
    cg_line(c, "            s += x0[i];");
    cg_line(c, "            y[i] = (%s)s;", t);
    cg_line(c, "        }");
    cg_line(c, "    }");
}
