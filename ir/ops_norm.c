/* ops_norm.c — shape and gradient rules of the normalisation ops (norm_stats, normalize,
 * norm_grad), and the helpers the builders and code generator share. */
#include <math.h>

#include "ir.h"

int ir_norm_dims(const ir_node *x, uint32_t axes, int64_t *dims)
{
    int first = -1, last = -1;
    for (int d = 0; d < x->rank; d++)
        if (!(axes & (1u << d))) {
            if (first >= 0 && last != d - 1)
                return -1; /* a reduced axis between two kept ones */
            if (first < 0)
                first = d;
            last = d;
        }
    dims[0] = dims[1] = dims[2] = 1;
    for (int d = 0; d < x->rank; d++)
        dims[first < 0 || d < first ? 0 : d <= last ? 1 : 2] *= x->shape[d];
    return 0;
}

/* The keepdim shape of a NORM_STATS of x over axes: x's shape, 1 on the reduced axes. */
static void kept_shape(const ir_node *x, uint32_t axes, int64_t *shape)
{
    for (int d = 0; d < x->rank; d++)
        shape[d] = (axes & (1u << d)) ? 1 : x->shape[d];
}

int ir_shape_norm_stats(ir_graph *g, ir_node *n)
{
    const ir_node *x = n->in[0];
    char t[IR_TYPE_STR_MAX];
    int64_t dims[3];
    double eps = n->attr.f[0];
    if (ir_check_dtypes(g, n, 1) != 0)
        return -1;
    if (x->rank >= NB_MAX_RANK)
        return ir_error(g, "norm_stats: %s has rank %d; at most %d", ir_type_str(x, t, sizeof t),
                        x->rank, NB_MAX_RANK - 1);
    if (n->attr.axes == 0 || (n->attr.axes >> x->rank) != 0)
        return ir_error(g, "norm_stats: axes mask 0x%x of %s: expected a non-empty set of its axes",
                        n->attr.axes, ir_type_str(x, t, sizeof t));
    if (ir_norm_dims(x, n->attr.axes, dims) != 0)
        return ir_error(
            g, "norm_stats: axes mask 0x%x of %s leaves kept axes that are not consecutive",
            n->attr.axes, ir_type_str(x, t, sizeof t));
    if (dims[0] * dims[2] == 0)
        return ir_error(g, "norm_stats: %s has no elements to normalize over",
                        ir_type_str(x, t, sizeof t));
    if (!(eps >= 0 && eps < INFINITY))
        return ir_error(g, "norm_stats: eps %g must be finite and >= 0", eps);
    n->rank = x->rank + 1;
    n->shape[0] = 3;
    kept_shape(x, n->attr.axes, n->shape + 1);
    return 0;
}

ir_node *ir_norm_row(ir_graph *g, ir_node *s, int i)
{
    ir_attr attr = {0};
    if (!s)
        return NULL;
    attr.slice.rank = s->rank;
    for (int d = 0; d < s->rank; d++) {
        attr.slice.start[d] = d ? 0 : i;
        attr.slice.stop[d] = d ? s->shape[d] : i + 1;
        attr.slice.step[d] = 1;
    }
    return ir_reshape(g, ir_make1(g, IR_OP_SLICE, s, &attr), s->rank - 1, s->shape + 1);
}

/* Whether v is ir_norm_row(s, i). */
static int is_row(const ir_node *v, const ir_node *s, int i)
{
    if (v->op != IR_OP_RESHAPE || v->in[0]->op != IR_OP_SLICE || v->in[0]->in[0] != s)
        return 0;
    const ir_attr *a = &v->in[0]->attr;
    for (int d = 1; d < s->rank; d++)
        if (a->slice.start[d] != 0 || a->slice.stop[d] != s->shape[d] || a->slice.step[d] != 1)
            return 0;
    return a->slice.start[0] == i && a->slice.stop[0] == i + 1;
}

/* The NORM_STATS s of NORMALIZE n's operand whose rows 0 and 2 are n's mean and rstd, or
 * NULL: then n's statistics are any tensors. */
static ir_node *stats_of(const ir_node *n)
{
    ir_node *mean = n->in[1], *s;
    if (mean->op != IR_OP_RESHAPE || mean->in[0]->op != IR_OP_SLICE)
        return NULL;
    s = mean->in[0]->in[0];
    if (s->op != IR_OP_NORM_STATS || s->in[0] != n->in[0] || !ir_same_shape(n, n->in[0]))
        return NULL;
    return is_row(n->in[1], s, 0) && is_row(n->in[2], s, 2) ? s : NULL;
}

int ir_shape_normalize(ir_graph *g, ir_node *n)
{
    if (ir_check_dtypes(g, n, 1) != 0)
        return -1;
    return ir_broadcast_shapes(g, n);
}

/* norm_grad: x and gy of one shape, s of x's dtype shaped as the norm_stats of x over
 * attr.axes (any such tensor: the value reads its rows; only the gradient needs s to be
 * that norm_stats, ir_vjp_norm_grad). */
int ir_shape_norm_grad(ir_graph *g, ir_node *n)
{
    const ir_node *x = n->in[0], *s = n->in[1], *gy = n->in[2];
    char tx[IR_TYPE_STR_MAX], ts[IR_TYPE_STR_MAX];
    int64_t dims[3], want[NB_MAX_RANK];
    if (ir_check_dtypes(g, n, 1) != 0)
        return -1;
    if (x->rank >= NB_MAX_RANK || n->attr.axes == 0 || (n->attr.axes >> x->rank) != 0 ||
        ir_norm_dims(x, n->attr.axes, dims) != 0 || dims[0] * dims[2] == 0)
        return ir_error(g,
                        "norm_grad: axes mask 0x%x of %s: expected reduced axes that leave "
                        "the kept ones consecutive and some elements per group",
                        n->attr.axes, ir_type_str(x, tx, sizeof tx));
    want[0] = 3;
    kept_shape(x, n->attr.axes, want + 1);
    if (s->rank != x->rank + 1 || memcmp(s->shape, want, (size_t)s->rank * sizeof *want) != 0)
        return ir_error(g, "norm_grad: the statistics are %s; expected %s",
                        ir_type_str(s, ts, sizeof ts),
                        ir_format_type(x->dtype, x->rank + 1, want, tx, sizeof tx));
    if (!ir_same_shape(x, gy))
        return ir_error(g, "norm_grad: the gradient is %s, the operand %s; they must match",
                        ir_type_str(gy, ts, sizeof ts), ir_type_str(x, tx, sizeof tx));
    n->rank = x->rank;
    memcpy(n->shape, x->shape, sizeof n->shape);
    return 0;
}

/* Elements each statistic of a NORM_STATS over axes of x takes. */
static double count_of(const ir_node *x, uint32_t axes)
{
    double c = 1;
    for (int d = 0; d < x->rank; d++)
        if (axes & (1u << d))
            c *= (double)x->shape[d];
    return c;
}

/* ds -> dx with mean, var, rstd = rows of s = NORM_STATS(x):
 * d mean = 1/c, d var = 2 (x - mean) / c, d rstd = -rstd^3 / 2 d var. Built on s's own
 * rows, so the rule is differentiable again. */
int ir_vjp_norm_stats(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    ir_node *x = n->in[0];
    double c = count_of(x, n->attr.axes);
    ir_node *rstd = ir_norm_row(g, n, 2);
    ir_node *cube = ir_mul(g, rstd, ir_mul(g, rstd, rstd));
    /* gvar + grstd * (-rstd^3 / 2), the whole variance's coefficient */
    ir_node *gv =
        ir_add(g, ir_norm_row(g, gy, 1),
               ir_mul(g, ir_norm_row(g, gy, 2), ir_mul(g, cube, ir_scalar_like(g, x, -0.5))));
    ir_node *xc = ir_sub(g, x, ir_norm_row(g, n, 0));
    ir_node *dv = ir_mul(g, xc, ir_mul(g, gv, ir_scalar_like(g, x, 2.0 / c)));
    ir_node *dm = ir_mul(g, ir_norm_row(g, gy, 0), ir_scalar_like(g, x, 1.0 / c));
    gx[0] = ir_add(g, dv, dm);
    return 0;
}

int ir_vjp_normalize(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    ir_node *x = n->in[0], *mean = n->in[1], *rstd = n->in[2];
    ir_node *s = stats_of(n);
    if (s) { /* the total derivative through the statistics, in one kernel */
        ir_attr attr = {0};
        attr.axes = s->attr.axes;
        attr.f[0] = s->attr.f[0];
        gx[0] = need[0] ? ir_make3(g, IR_OP_NORM_GRAD, x, s, gy, &attr) : NULL;
        return 0;
    }
    ir_node *gr = ir_mul(g, gy, rstd);
    if (need[0])
        gx[0] = ir_sum_to(g, gr, x);
    if (need[1])
        gx[1] = ir_sum_to(g, ir_neg(g, gr), mean);
    if (need[2])
        gx[2] = ir_sum_to(g, ir_mul(g, gy, ir_sub(g, x, mean)), rstd);
    return 0;
}

/* norm_grad's value written with ordinary nodes over x and gy:
 * rstd * (gy - mean(gy) - xhat * mean(gy * xhat)), the statistics computed from x. */
static ir_node *norm_grad_formula(ir_graph *g, const ir_node *n, ir_node *x, ir_node *gy)
{
    uint32_t axes = n->attr.axes;
    ir_node *inv = ir_scalar_like(g, x, 1.0 / count_of(x, axes));
    ir_node *xc = ir_sub(g, x, ir_mul(g, ir_reduce(g, IR_OP_SUM, x, axes, 1), inv));
    ir_node *var = ir_mul(g, ir_reduce(g, IR_OP_SUM, ir_mul(g, xc, xc), axes, 1), inv);
    ir_node *rstd =
        ir_make1(g, IR_OP_RSQRT, ir_add(g, var, ir_scalar_like(g, x, n->attr.f[0])), NULL);
    ir_node *xhat = ir_mul(g, xc, rstd);
    ir_node *mg = ir_mul(g, ir_reduce(g, IR_OP_SUM, gy, axes, 1), inv);
    ir_node *mgx = ir_mul(g, ir_reduce(g, IR_OP_SUM, ir_mul(g, gy, xhat), axes, 1), inv);
    return ir_mul(g, rstd, ir_sub(g, ir_sub(g, gy, mg), ir_mul(g, xhat, mgx)));
}

/* The gradient of norm_grad: reverse-mode autodiff of norm_grad_formula over stand-ins
 * of x and gy (new nodes of their values, so the inner sweep stops at them and gives
 * the partial derivatives, not paths through x's or gy's own operands). No gradient
 * flows to s: the formula computes the statistics from x itself. */
int ir_vjp_norm_grad(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    ir_node *xs[2], *grads[2];
    const ir_node *s = n->in[1];
    if (s->op != IR_OP_NORM_STATS || s->in[0] != n->in[0] || s->attr.axes != n->attr.axes ||
        s->attr.f[0] != n->attr.f[0])
        return ir_error(g, "norm_grad: no gradient: operand 1 is not the norm_stats of operand 0 "
                           "with the same axes and eps (the rule computes the statistics from x)");
    xs[0] = ir_make1(g, IR_OP_STOP_GRADIENT, n->in[0], NULL);
    xs[1] = ir_make1(g, IR_OP_STOP_GRADIENT, n->in[2], NULL);
    ir_node *f = norm_grad_formula(g, n, xs[0], xs[1]);
    if (!f || ir_vjp(g, f, gy, xs, 2, grads) != 0)
        return -1;
    gx[0] = need[0] ? grads[0] : NULL;
    gx[2] = need[2] ? grads[1] : NULL;
    return 0;
}
