/* cg_norm.c — the normalisation kernels: norm_stats (mean, variance and rstd of each
 * group in one kernel) and norm_grad (layer/group/batch norm's backward in one kernel),
 * both over x viewed as [A, K, B] with one group per index k of the kept run K
 * (ir_norm_dims), and normalize's elementwise expression. A split kernel runs the
 * groups [lo, hi): each group is on one thread, its terms in order, so the split
 * changes no bit. Sums accumulate in double, as the reductions' do (cg_reduce.c). */
#include "cg.h"

/* The loops over one group's elements, x[a, k, b] at `i`: opens them, declaring
 * `const long i = ...;`. Returns how many to close. Axes of size 1 get no loop. */
static int group_open(cg_ctx *c, const int64_t *dims)
{
    int open = 0;
    if (dims[0] > 1) {
        cg_line(c, "for (long a = 0; a < %lld; a++) {", (long long)dims[0]);
        c->indent++;
        open++;
    }
    if (dims[2] > 1) {
        cg_line(c, "for (long b = 0; b < %lld; b++) {", (long long)dims[2]);
        c->indent++;
        open++;
    }
    cg_begin(c);
    cg_s(c, "const long i = ");
    if (dims[0] > 1) {
        cg_s(c, "a * ");
        cg_i(c, dims[1] * dims[2]);
        cg_s(c, " + ");
    }
    cg_s(c, "k");
    if (dims[2] > 1) {
        cg_s(c, " * ");
        cg_i(c, dims[2]);
        cg_s(c, " + b");
    }
    cg_end(c, ";");
    return open;
}

/* Opens the loop over the groups, [lo, hi) when the kernel is split. */
static void groups_open(cg_ctx *c, const int64_t *dims)
{
    if (c->split)
        cg_line(c, "for (long k = lo; k < hi; k++) {");
    else
        cg_line(c, "for (long k = 0; k < %lld; k++) {", (long long)dims[1]);
    c->indent++;
}

/* dims of the [A, K, B] view of n's x; records an internal error when they do not exist
 * (the shape rule checked them). */
static int dims_of(cg_ctx *c, const ir_node *n, int64_t *dims)
{
    if (ir_norm_dims(n->in[0], n->attr.axes, dims) == 0)
        return 0;
    cg_internal_error(c, "%s: kept axes not consecutive", ir_op_defs[n->op].name);
    return -1;
}

/* NORM_STATS: per group the mean (first pass), then the variance of the differences
 * from it (second pass, over data the first brought into cache): no cancellation of
 * E[x^2] - E[x]^2. y[k], y[K + k], y[2K + k] = mean, variance, rsqrt(variance + eps). */
void cg_k_norm_stats(cg_ctx *c, const ir_node *n)
{
    int64_t dims[3];
    char eps[CG_LIT_MAX];
    const char *t = cg_ctype(n->dtype);
    if (dims_of(c, n, dims) != 0)
        return;
    long long count = (long long)(dims[0] * dims[2]), groups = (long long)dims[1];
    cg_lit(eps, NB_F64, n->attr.f[0]);
    groups_open(c, dims);
    cg_line(c, "double s = 0.0;");
    int open = group_open(c, dims);
    cg_line(c, "s += x0[i];");
    cg_loops_close(c, open);
    cg_line(c, "const double m = s / %lld;", count);
    cg_line(c, "double q = 0.0;");
    open = group_open(c, dims);
    cg_line(c, "const double d = x0[i] - m;");
    cg_line(c, "q += d * d;");
    cg_loops_close(c, open);
    cg_line(c, "const double v = q / %lld;", count);
    cg_line(c, "y[k] = (%s)m;", t);
    cg_line(c, "y[%lld + k] = (%s)v;", groups, t);
    cg_line(c, "y[%lld + k] = (%s)(1.0 / %s(v + %s));", 2 * groups, t, cg_fn(c, NB_F64, "sqrt"),
            eps);
    cg_loops_close(c, 1);
}

/* NORM_GRAD: x0 = x, x1 = its norm_stats, x2 = gy. Per group, one pass takes the sums
 * of gy and of gy * (x - mean), a second writes
 * y = rstd * (gy - mean(gy) - xhat * mean(gy * xhat)), xhat = (x - mean) * rstd. */
void cg_k_norm_grad(cg_ctx *c, const ir_node *n)
{
    int64_t dims[3];
    const char *t = cg_ctype(n->dtype);
    if (dims_of(c, n, dims) != 0)
        return;
    long long count = (long long)(dims[0] * dims[2]), groups = (long long)dims[1];
    groups_open(c, dims);
    cg_line(c, "const double m = x1[k], r = x1[%lld + k];", 2 * groups);
    cg_line(c, "double sg = 0.0, sgx = 0.0;");
    int open = group_open(c, dims);
    cg_line(c, "const double g = x2[i];");
    cg_line(c, "sg += g;");
    cg_line(c, "sgx += g * (x0[i] - m);");
    cg_loops_close(c, open);
    /* mean(gy), and r * mean(gy * xhat): the factor xhat's r makes of (x - m) */
    cg_line(c, "const double mg = sg / %lld, mgx = r * r * sgx / %lld;", count, count);
    open = group_open(c, dims);
    cg_line(c, "y[i] = (%s)(r * (x2[i] - mg - (x0[i] - m) * mgx));", t);
    cg_loops_close(c, open);
    cg_loops_close(c, 1);
}

/* (x - mean) * rstd. */
void cg_ew_normalize(cg_ew *e, const ir_node *n)
{
    (void)n;
    cg_ew_s(e, "(");
    cg_ew_x(e, 0);
    cg_ew_s(e, " - ");
    cg_ew_x(e, 1);
    cg_ew_s(e, ") * ");
    cg_ew_x(e, 2);
}

int64_t cg_norm_extent(const ir_node *n)
{
    int64_t dims[3];
    if (n->op != IR_OP_NORM_STATS && n->op != IR_OP_NORM_GRAD)
        return 0;
    return ir_norm_dims(n->in[0], n->attr.axes, dims) == 0 ? dims[1] : 0;
}
