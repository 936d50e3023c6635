/* cg_norm.c — the normalisation kernels: norm_stats (mean, variance and rstd of each
 * group in one kernel) and norm_grad (layer/group/batch norm's backward in one kernel),
 * both over x viewed as [A, K, B] with one group per index k of the kept run K
 * (ir_norm_dims), and normalize's elementwise expression. A split kernel runs the
 * groups [lo, hi): each group is on one thread, its terms in order, so the split
 * changes no bit. Sums accumulate in double, as the reductions' do (cg_reduce.c). */
#include "cg.h"

/* Accumulators per group: independent partial sums over the innermost run b, so that
 * the adds do not wait on one another (one chain of double adds is the bound otherwise:
 * about four cycles an element). Their order is fixed by the text, the same for tcc, cc
 * and every thread split. */
#define CG_NORM_LANES 4

/* Lanes a group's sums take: CG_NORM_LANES when the run b is long enough, else 1. */
static int lanes_of(const int64_t *dims)
{
    return dims[2] >= 2 * CG_NORM_LANES ? CG_NORM_LANES : 1;
}

/* Writes `double <name>0 = 0.0, ...;` for each lane. */
static void lanes_declare(cg_ctx *c, const char *name, int lanes)
{
    cg_begin(c);
    cg_s(c, "double ");
    for (int j = 0; j < lanes; j++) {
        cg_s(c, j ? ", " : "");
        cg_s(c, name);
        cg_i(c, j);
        cg_s(c, " = 0.0");
    }
    cg_end(c, ";");
}

/* Writes `const double <name> = (<name>0 + <name>1) + (<name>2 + <name>3);`. */
static void lanes_total(cg_ctx *c, const char *name, int lanes)
{
    if (lanes == 1) {
        cg_line(c, "const double %s = %s0;", name, name);
        return;
    }
    cg_line(c, "const double %s = (%s0 + %s1) + (%s2 + %s3);", name, name, name, name, name);
}

/* Writes the statements of one element at index `i + lane` into the lane's sums. */
typedef void (*lane_body)(cg_ctx *c, int lane);

/* Opens `for (long a ...)` over A when A > 1. Returns the loops opened. */
static int outer_open(cg_ctx *c, const int64_t *dims)
{
    if (dims[0] <= 1)
        return 0;
    cg_line(c, "for (long a = 0; a < %lld; a++) {", (long long)dims[0]);
    c->indent++;
    return 1;
}

/* Writes `const long i = a * KB + k * B + <b>;` with b the variable or literal given. */
static void index_line(cg_ctx *c, const int64_t *dims, const char *b)
{
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
        cg_s(c, " + ");
        cg_s(c, b);
    }
    cg_end(c, ";");
}

/* The loops over one group's elements x[a, k, b], each lane's statements (body) taking
 * the elements b = lane mod lanes; the tail past a multiple of lanes in lane 0. With
 * neither loop (one element a group), a block: the index `i` it declares stays in it. */
static void group_sums(cg_ctx *c, const int64_t *dims, int lanes, lane_body body)
{
    int open = outer_open(c, dims);
    int64_t full = dims[2] / lanes * lanes;
    if (dims[2] > 1)
        cg_line(c, "for (long b = 0; b < %lld; b += %d) {", (long long)full, lanes);
    else if (!open)
        cg_line(c, "{");
    c->indent += dims[2] > 1 || !open;
    index_line(c, dims, "b");
    for (int j = 0; j < lanes; j++)
        body(c, j);
    cg_loops_close(c, dims[2] > 1 || !open);
    if (full < dims[2]) {
        cg_line(c, "for (long b = %lld; b < %lld; b++) {", (long long)full, (long long)dims[2]);
        c->indent++;
        index_line(c, dims, "b");
        body(c, 0);
        cg_loops_close(c, 1);
    }
    cg_loops_close(c, open);
}

/* The loops over one group's elements, one at a time (`i` its index), or a block when
 * the group has one element. Returns the loops to close. */
static int group_open(cg_ctx *c, const int64_t *dims)
{
    int open = outer_open(c, dims);
    if (dims[2] > 1 || !open) {
        if (dims[2] > 1)
            cg_line(c, "for (long b = 0; b < %lld; b++) {", (long long)dims[2]);
        else
            cg_line(c, "{");
        c->indent++;
        open++;
    }
    index_line(c, dims, "b");
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

static void sum_x(cg_ctx *c, int lane)
{
    cg_line(c, "s%d += x0[i + %d];", lane, lane);
}

static void sum_squares(cg_ctx *c, int lane)
{
    cg_line(c, "const double d%d = x0[i + %d] - m;", lane, lane);
    cg_line(c, "q%d += d%d * d%d;", lane, lane, lane);
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
    int lanes = lanes_of(dims);
    cg_lit(eps, NB_F64, n->attr.f[0]);
    groups_open(c, dims);
    lanes_declare(c, "s", lanes);
    group_sums(c, dims, lanes, sum_x);
    lanes_total(c, "s", lanes);
    cg_line(c, "const double m = s / %lld;", count);
    lanes_declare(c, "q", lanes);
    group_sums(c, dims, lanes, sum_squares);
    lanes_total(c, "q", lanes);
    cg_line(c, "const double v = q / %lld;", count);
    cg_line(c, "y[k] = (%s)m;", t);
    cg_line(c, "y[%lld + k] = (%s)v;", groups, t);
    cg_line(c, "y[%lld + k] = (%s)(1.0 / %s(v + %s));", 2 * groups, t, cg_fn(c, NB_F64, "sqrt"),
            eps);
    cg_loops_close(c, 1);
}

static void sum_grads(cg_ctx *c, int lane)
{
    cg_line(c, "const double g%d = x2[i + %d];", lane, lane);
    cg_line(c, "sg%d += g%d;", lane, lane);
    cg_line(c, "sgx%d += g%d * (x0[i + %d] - m);", lane, lane, lane);
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
    int lanes = lanes_of(dims);
    groups_open(c, dims);
    cg_line(c, "const double m = x1[k], r = x1[%lld + k];", 2 * groups);
    lanes_declare(c, "sg", lanes);
    lanes_declare(c, "sgx", lanes);
    group_sums(c, dims, lanes, sum_grads);
    lanes_total(c, "sg", lanes);
    lanes_total(c, "sgx", lanes);
    /* mean(gy), and r * mean(gy * xhat): the factor xhat's r makes of (x - m) */
    cg_line(c, "const double mg = sg / %lld, mgx = r * r * sgx / %lld;", count, count);
    int open = group_open(c, dims);
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
