/* cg_reduce.c — reduction kernels: loops over the kept axes outside, the reduced axes
 * inside, one accumulator per output element. One skeleton writes the loops; each op
 * gives the statements around and inside the inner loops. */
#include <math.h>

#include "cg.h"

/* The loop structure of one reduction node, shared by its body writers. */
typedef struct reduce_loops {
    const ir_node *n, *x;
    uint32_t red;  /* reduced axes of x */
    char xi[256];  /* index of x's element in the loop variables */
    char yi[256];  /* index of y's element (reduced axes have stride 0) */
    const char *t; /* C type of the elements */
} reduce_loops;

/* Writes the statements for one output element, inside the kept-axes loops. */
typedef void (*reduce_body)(cg_ctx *c, const reduce_loops *l);

static int inner_open(cg_ctx *c, const reduce_loops *l)
{
    return cg_loops_open(c, "i", l->x->rank, l->x->shape, l->red);
}

static void reduce_kernel(cg_ctx *c, const ir_node *n, reduce_body body)
{
    reduce_loops l;
    int64_t xs[NB_MAX_RANK], ys[NB_MAX_RANK], s = 1;
    l.n = n;
    l.x = n->in[0];
    l.red = n->attr.axes;
    l.t = cg_ctype(n->dtype);
    uint32_t kept = ((1u << l.x->rank) - 1) & ~l.red;
    cg_strides(l.x->rank, l.x->shape, xs);
    for (int d = l.x->rank - 1; d >= 0; d--) {
        ys[d] = (l.red & (1u << d)) ? 0 : s;
        s *= (l.red & (1u << d)) ? 1 : l.x->shape[d];
    }
    cg_index(l.xi, sizeof l.xi, "i", l.x->rank, xs);
    cg_index(l.yi, sizeof l.yi, "i", l.x->rank, ys);
    int outer = cg_loops_open(c, "i", l.x->rank, l.x->shape, kept);
    body(c, &l);
    cg_loops_close(c, outer);
}

/* f32 sums accumulate in double: more accurate, and as fast under tcc. */
static void sum_body(cg_ctx *c, const reduce_loops *l)
{
    cg_line(c, "double acc = 0.0;");
    int inner = inner_open(c, l);
    cg_line(c, "acc += x0[%s];", l->xi);
    cg_loops_close(c, inner);
    cg_line(c, "y[%s] = (%s)acc;", l->yi, l->t);
}

/* m = the max (cmp ">") or min (cmp "<") of the reduced elements; a NaN, once seen,
 * stays (v != v is true only for NaN, and no comparison with a NaN m is true). */
static void extreme_into(cg_ctx *c, const reduce_loops *l, const char *m, const char *cmp)
{
    cg_line(c, "%s %s = %s;", l->t, m, cg_lit(c, l->n->dtype, *cmp == '>' ? -INFINITY : INFINITY));
    int inner = inner_open(c, l);
    cg_line(c, "const %s v = x0[%s];", l->t, l->xi);
    cg_line(c, "if (v %s %s || v != v)", cmp, m);
    cg_line(c, "    %s = v;", m);
    cg_loops_close(c, inner);
}

static void max_body(cg_ctx *c, const reduce_loops *l)
{
    extreme_into(c, l, "m", ">");
    cg_line(c, "y[%s] = m;", l->yi);
}

static void min_body(cg_ctx *c, const reduce_loops *l)
{
    extreme_into(c, l, "m", "<");
    cg_line(c, "y[%s] = m;", l->yi);
}

/* m + log(sum exp(x - m)) with m the max; an infinite m shifts by 0 instead, so that
 * all -inf gives -inf and a +inf gives +inf (as torch.logsumexp). */
static void logsumexp_body(cg_ctx *c, const reduce_loops *l)
{
    nb_dtype dt = l->n->dtype;
    extreme_into(c, l, "m", ">");
    cg_line(c, "if (m == %s || m == %s)", cg_lit(c, dt, INFINITY), cg_lit(c, dt, -INFINITY));
    cg_line(c, "    m = %s;", cg_lit(c, dt, 0.0));
    cg_line(c, "double acc = 0.0;");
    int inner = inner_open(c, l);
    cg_line(c, "const %s d = x0[%s] - m;", l->t, l->xi);
    cg_line(c, "acc += %s(d);", cg_fn(c, dt, "exp"));
    cg_loops_close(c, inner);
    cg_line(c, "const %s s = (%s)acc;", l->t, l->t);
    cg_line(c, "y[%s] = %s(s) + m;", l->yi, cg_fn(c, dt, "log"));
}

void cg_k_sum(cg_ctx *c, const ir_node *n)
{
    reduce_kernel(c, n, sum_body);
}

void cg_k_max(cg_ctx *c, const ir_node *n)
{
    reduce_kernel(c, n, max_body);
}

void cg_k_min(cg_ctx *c, const ir_node *n)
{
    reduce_kernel(c, n, min_body);
}

void cg_k_logsumexp(cg_ctx *c, const ir_node *n)
{
    reduce_kernel(c, n, logsumexp_body);
}
