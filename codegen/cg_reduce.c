/* cg_reduce.c — reduction kernels: loops over the kept axes outside, the reduced axes
 * inside, one accumulator per output element. One skeleton writes the loops; each op
 * gives the statements around and inside the inner loops. */
#include <math.h>

#include "cg.h"

/* The loop structure of one reduction node, shared by its body writers. */
typedef struct reduce_loops {
    const ir_node *n, *x;
    uint32_t red;            /* reduced axes of x */
    int64_t xs[NB_MAX_RANK]; /* strides of x's element in the loop variables */
    int64_t ys[NB_MAX_RANK]; /* strides of y's element (reduced axes have stride 0) */
    const char *t;           /* C type of the elements */
} reduce_loops;

/* Appends the index of x's element, and of y's. */
static void put_xi(cg_ctx *c, const reduce_loops *l)
{
    cg_index(c->t, 0, "i", l->x->rank, l->xs);
}

static void put_yi(cg_ctx *c, const reduce_loops *l)
{
    cg_index(c->t, 0, "i", l->x->rank, l->ys);
}

/* Writes the statements for one output element, inside the kept-axes loops. */
typedef void (*reduce_body)(cg_ctx *c, const reduce_loops *l);

static int inner_open(cg_ctx *c, const reduce_loops *l)
{
    return cg_loops_open(c, "i", l->x->rank, l->x->shape, l->red);
}

static void reduce_kernel(cg_ctx *c, const ir_node *n, reduce_body body)
{
    reduce_loops l;
    int64_t s = 1;
    l.n = n;
    l.x = n->in[0];
    l.red = n->attr.axes;
    l.t = cg_ctype(n->dtype);
    uint32_t kept = ((1u << l.x->rank) - 1) & ~l.red;
    cg_strides(l.x->rank, l.x->shape, l.xs);
    for (int d = l.x->rank - 1; d >= 0; d--) {
        l.ys[d] = (l.red & (1u << d)) ? 0 : s;
        s *= (l.red & (1u << d)) ? 1 : l.x->shape[d];
    }
    int outer = cg_loops_open(c, "i", l.x->rank, l.x->shape, kept);
    body(c, &l);
    cg_loops_close(c, outer);
}

/* Writes `y[<yi>] = <value>;`. */
static void store(cg_ctx *c, const reduce_loops *l, const char *value)
{
    cg_begin(c);
    cg_s(c, "y[");
    put_yi(c, l);
    cg_s(c, "] = ");
    cg_s(c, value);
    cg_end(c, ";");
}

/* f32 sums accumulate in double: more accurate, and as fast under tcc. */
static void sum_body(cg_ctx *c, const reduce_loops *l)
{
    cg_begin(c);
    cg_end(c, "double acc = 0.0;");
    int inner = inner_open(c, l);
    cg_begin(c);
    cg_s(c, "acc += x0[");
    put_xi(c, l);
    cg_end(c, "];");
    cg_loops_close(c, inner);
    /* y[..] = (T)acc; */
    cg_begin(c);
    cg_s(c, "y[");
    put_yi(c, l);
    cg_s(c, "] = (");
    cg_s(c, l->t);
    cg_end(c, ")acc;");
}

/* m = the max (cmp ">") or min (cmp "<") of the reduced elements; a NaN, once seen,
 * stays (v != v is true only for NaN, and no comparison with a NaN m is true). */
static void extreme_into(cg_ctx *c, const reduce_loops *l, const char *cmp)
{
    cg_begin(c);
    cg_s(c, l->t);
    cg_s(c, " m = ");
    cg_lit_put(c->t, l->n->dtype, *cmp == '>' ? -INFINITY : INFINITY);
    cg_end(c, ";");
    int inner = inner_open(c, l);
    cg_begin(c);
    cg_s(c, "const ");
    cg_s(c, l->t);
    cg_s(c, " v = x0[");
    put_xi(c, l);
    cg_end(c, "];");
    cg_begin(c);
    cg_s(c, "if (v ");
    cg_s(c, cmp);
    cg_end(c, " m || v != v)");
    cg_begin(c);
    cg_end(c, "    m = v;");
    cg_loops_close(c, inner);
}

static void max_body(cg_ctx *c, const reduce_loops *l)
{
    extreme_into(c, l, ">");
    store(c, l, "m");
}

static void min_body(cg_ctx *c, const reduce_loops *l)
{
    extreme_into(c, l, "<");
    store(c, l, "m");
}

/* m + log(sum exp(x - m)) with m the max; an infinite m shifts by 0 instead, so that
 * all -inf gives -inf and a +inf gives +inf (as torch.logsumexp). */
static void logsumexp_body(cg_ctx *c, const reduce_loops *l)
{
    nb_dtype dt = l->n->dtype;
    char inf[CG_LIT_MAX], minus_inf[CG_LIT_MAX], zero[CG_LIT_MAX];
    cg_lit(inf, dt, INFINITY);
    cg_lit(minus_inf, dt, -INFINITY);
    cg_lit(zero, dt, 0.0);
    extreme_into(c, l, ">");
    cg_line(c, "if (m == %s || m == %s)", inf, minus_inf);
    cg_line(c, "    m = %s;", zero);
    cg_line(c, "double acc = 0.0;");
    int inner = inner_open(c, l);
    cg_begin(c);
    cg_s(c, "const ");
    cg_s(c, l->t);
    cg_s(c, " d = x0[");
    put_xi(c, l);
    cg_end(c, "] - m;");
    cg_line(c, "acc += %s(d);", cg_fn(c, dt, "exp"));
    cg_loops_close(c, inner);
    cg_line(c, "const %s s = (%s)acc;", l->t, l->t);
    cg_begin(c);
    cg_s(c, "y[");
    put_yi(c, l);
    cg_s(c, "] = ");
    cg_s(c, cg_fn(c, dt, "log"));
    cg_end(c, "(s) + m;");
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
