/* cg_reduce.c — reduction kernels: loops over the kept axes outside, the reduced axes
 * inside, one accumulator per output element. One skeleton writes the loops; each op
 * gives the statements around and inside the inner loops. */
#include <math.h>
#include <string.h>

#include "cg.h"

/* Output elements a strided reduction accumulates side by side: one block's accumulators
 * live on the stack (2 KiB of doubles), and each row of x is read as a run of this many
 * contiguous elements instead of one element per cache line. */
#define CG_REDUCE_BLOCK 256
/* Elements of x's innermost axis that fused producers compute into a block before the
 * reduction takes them in order (4 KiB of f32 on the stack): a row of up to this many
 * (a thousand classes) is one block, whose loops have literal bounds. */
#define CG_REDUCE_RUN 1024

/* The loop structure of one reduction node, shared by its body writers. */
typedef struct reduce_loops {
    const ir_node *n, *x;
    uint32_t red;            /* reduced axes of x */
    int64_t xs[NB_MAX_RANK]; /* strides of x's element in the loop variables */
    int64_t ys[NB_MAX_RANK]; /* strides of y's element (reduced axes have stride 0) */
    const char *t;           /* C type of the elements */
    int fused;               /* x is computed in the loop by fused producers */
    int xarg;                /* else x is read through x<xarg> */
    int consumers;           /* fused consumers take y's element from the local t<origin> */
    /* Fused producers write x's innermost axis in blocks (blk[]) that the reduction then
     * takes in order: the producers' loop has no accumulator, so a compiler vectorizes
     * it. block_exp: the block holds exp(x) (the shifted logsumexp's terms). */
    int block, block_exp;
} reduce_loops;

/* Appends x's element: x<xarg>[<index>], or the local its fused producers computed it in. */
static void put_x(cg_ctx *c, const reduce_loops *l)
{
    if (l->block) {
        cg_s(c, "blk[j]");
        return;
    }
    if (l->fused) {
        cg_s(c, "t");
        cg_i(c, l->x->origin);
        return;
    }
    cg_s(c, "x");
    cg_i(c, l->xarg);
    cg_s(c, "[");
    cg_index(c->t, 0, "i", l->x->rank, l->xs);
    cg_s(c, "]");
}

/* Appends the index of y's element. */
static void put_yi(cg_ctx *c, const reduce_loops *l)
{
    cg_index(c->t, 0, "i", l->x->rank, l->ys);
}

/* Begins the statement that sets y's element: `y[<yi>] = `, or with fused consumers
 * `const T t<origin> = `, the local they read it from. */
static void put_dest(cg_ctx *c, const reduce_loops *l)
{
    cg_begin(c);
    if (l->consumers) {
        cg_s(c, "const ");
        cg_s(c, l->t);
        cg_s(c, " t");
        cg_i(c, l->n->origin);
        cg_s(c, " = ");
        return;
    }
    cg_s(c, "y[");
    put_yi(c, l);
    cg_s(c, "] = ");
}

/* Writes the statements for one output element, inside the kept-axes loops. */
typedef void (*reduce_body)(cg_ctx *c, const reduce_loops *l);

/* Opens the loops over the reduced axes; with fused producers, computes x's element
 * inside them. With blocks, the innermost reduced axis runs in blocks of at most
 * CG_REDUCE_RUN elements: a loop of the producers fills blk[], then the loop over j
 * that the caller's statement goes in takes blk[j] in order. Returns the loops to close. */
static int inner_open(cg_ctx *c, const reduce_loops *l)
{
    int last = l->x->rank - 1;
    int64_t size = l->x->shape[last];
    if (!l->block) {
        int open = cg_loops_open(c, "i", l->x->rank, l->x->shape, l->red);
        if (l->fused)
            cg_elementwise_producers(c, c->kernel, l->red, 1);
        return open;
    }
    int open = cg_loops_open(c, "i", l->x->rank, l->x->shape, l->red & ~(1u << last));
    const char *count = "cnt";
    char n[IR_INT_STR_MAX];
    if (size > CG_REDUCE_RUN) {
        cg_line(c, "for (long j0 = 0; j0 < %lld; j0 += %d) {", (long long)size, CG_REDUCE_RUN);
        c->indent++;
        cg_line(c, "const long cnt = %lld - j0 < %d ? %lld - j0 : %d;", (long long)size,
                CG_REDUCE_RUN, (long long)size, CG_REDUCE_RUN);
        open++;
    } else {
        ir_int_str(size, n);
        count = n;
    }
    cg_line(c, "%s blk[%lld];", cg_ctype(l->x->dtype),
            (long long)(size > CG_REDUCE_RUN ? CG_REDUCE_RUN : size));
    if (size > CG_REDUCE_RUN)
        cg_line(c, "for (long i%d = j0; i%d < j0 + cnt; i%d++) {", last, last, last);
    else
        cg_line(c, "for (long i%d = 0; i%d < %s; i%d++) {", last, last, count, last);
    c->indent++;
    cg_elementwise_producers(c, c->kernel, l->red, 1);
    /* blk[i1 - j0] = t4; or blk[i1] = nbm_expf(t4); */
    cg_begin(c);
    cg_s(c, "blk[i");
    cg_i(c, last);
    cg_s(c, size > CG_REDUCE_RUN ? " - j0] = " : "] = ");
    if (l->block_exp) {
        cg_s(c, cg_fn(c, l->x->dtype, "exp"));
        cg_s(c, "(");
    }
    cg_s(c, "t");
    cg_i(c, l->x->origin);
    cg_end(c, l->block_exp ? ");" : ";");
    cg_loops_close(c, 1);
    cg_line(c, "for (long j = 0; j < %s; j++) {", count);
    c->indent++;
    return open + 1;
}

/* The outermost axis of `axes`, or -1 when there is none. */
static int outermost(int rank, uint32_t axes)
{
    for (int d = 0; d < rank; d++)
        if (axes & (1u << d))
            return d;
    return -1;
}

/* Opens the loops over `axes` (kept axes, outside the reduced ones), the outermost of
 * them over [lo, hi) when the kernel is split: each output element is still computed by
 * one thread, its terms in the same order, so the bits do not depend on the split. */
static int kept_open(cg_ctx *c, int rank, const int64_t *size, uint32_t axes)
{
    int d = c->split ? outermost(rank, axes) : -1;
    if (d < 0)
        return cg_loops_open(c, "i", rank, size, axes);
    cg_line(c, "for (long i%d = lo; i%d < hi; i%d++) {", d, d, d);
    c->indent++;
    return 1 + cg_loops_open(c, "i", rank, size, axes & ~(1u << d));
}

static void logsumexp_body(cg_ctx *c, const reduce_loops *l);
static void logsumexp_shifted_body(cg_ctx *c, const reduce_loops *l);

static void reduce_kernel(cg_ctx *c, const ir_node *n, reduce_body body)
{
    reduce_loops l;
    int64_t s = 1;
    l.n = n;
    l.x = n->in[0];
    l.red = n->attr.axes;
    l.t = cg_ctype(n->dtype);
    /* In a kernel with other members: x is one of them (a producer) or an operand. */
    const cg_kernel *k = c->kernel && c->kernel->reduction == n ? c->kernel : NULL;
    l.fused = 0;
    for (int i = 0; k && i < k->n_members; i++)
        l.fused |= k->members[i] == l.x;
    int xarg = k && !l.fused ? cg_kernel_arg(k, l.x) : -1;
    l.xarg = xarg >= 0 ? xarg : 0;
    l.consumers = k && k->root != n;
    /* Blocks when the innermost axis is reduced and longer than 1, for every body but
     * logsumexp's with its max pass (two loops over x). */
    l.block = l.fused && body != logsumexp_body && l.x->rank > 0 &&
              ((l.red >> (l.x->rank - 1)) & 1u) && l.x->shape[l.x->rank - 1] > 1;
    l.block_exp = l.block && body == logsumexp_shifted_body;
    uint32_t kept = ((1u << l.x->rank) - 1) & ~l.red;
    cg_strides(l.x->rank, l.x->shape, l.xs);
    for (int d = l.x->rank - 1; d >= 0; d--) {
        l.ys[d] = (l.red & (1u << d)) ? 0 : s;
        s *= (l.red & (1u << d)) ? 1 : l.x->shape[d];
    }
    int outer = kept_open(c, l.x->rank, l.x->shape, kept);
    if (l.fused) /* the producers' operands that one output element reads throughout */
        cg_elementwise_producers(c, c->kernel, l.red, 0);
    body(c, &l);
    if (l.consumers)
        cg_elementwise_consumers(c, k);
    cg_loops_close(c, outer);
}

/* Writes `y[<yi>] = <value>;` (put_dest). */
static void store(cg_ctx *c, const reduce_loops *l, const char *value)
{
    put_dest(c, l);
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
    cg_s(c, "acc += ");
    put_x(c, l);
    cg_end(c, ";");
    cg_loops_close(c, inner);
    /* y[..] = (T)acc; */
    put_dest(c, l);
    cg_s(c, "(");
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
    cg_s(c, " v = ");
    put_x(c, l);
    cg_end(c, ";");
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

/* The product of the reduced elements in order, accumulated in the dtype (as torch's
 * prod; a double accumulator would hide an f32 overflow that torch shows): 1 over none. */
static void prod_body(cg_ctx *c, const reduce_loops *l)
{
    cg_begin(c);
    cg_s(c, l->t);
    cg_s(c, " acc = ");
    cg_lit_put(c->t, l->n->dtype, 1.0);
    cg_end(c, ";");
    int inner = inner_open(c, l);
    cg_begin(c);
    cg_s(c, "acc *= ");
    put_x(c, l);
    cg_end(c, ";");
    cg_loops_close(c, inner);
    store(c, l, "acc");
}

/* k = the index along the one reduced axis of the first element that is larger (cmp
 * ">") or smaller ("<") than all before it, a NaN beating any number (torch.argmax and
 * argmin): m, once NaN, is never replaced, so the first NaN wins; ties keep the first.
 * The axis is not empty (ir_shape_argreduce), so k is set. */
static void arg_extreme(cg_ctx *c, const reduce_loops *l, const char *cmp)
{
    const char *t = cg_ctype(l->x->dtype);
    int d = outermost(l->x->rank, l->red);
    cg_line(c, "%s m = 0;", t);
    cg_line(c, "int k = -1;");
    int inner = inner_open(c, l);
    cg_begin(c);
    cg_s(c, "const ");
    cg_s(c, t);
    cg_s(c, " v = ");
    put_x(c, l);
    cg_end(c, ";");
    cg_line(c, "if (k < 0 || v %s m || (v != v && m == m)) {", cmp);
    cg_line(c, "    m = v;");
    cg_line(c, "    k = (int)i%d;", d);
    cg_line(c, "}");
    cg_loops_close(c, inner);
    store(c, l, "k");
}

static void argmax_body(cg_ctx *c, const reduce_loops *l)
{
    arg_extreme(c, l, ">");
}

static void argmin_body(cg_ctx *c, const reduce_loops *l)
{
    arg_extreme(c, l, "<");
}

/* Whether n's operand is a - max(a) over n's axes, kept (log_softmax's shifted scores,
 * nb_softmax.c; the max may stand behind stop_gradient). Then the operand's own max is
 * 0 or NaN: the group's largest element minus itself is +0, the others are <= 0 (a -0
 * among them leaves the max at -0 or +0), and a NaN or infinite element of a makes
 * every difference of its group NaN (inf - inf, or NaN - anything). */
static int is_shifted(const ir_node *n)
{
    const ir_node *x = n->in[0], *a, *m;
    if (x->op != IR_OP_SUB)
        return 0;
    a = x->in[0];
    m = x->in[1]->op == IR_OP_STOP_GRADIENT ? x->in[1]->in[0] : x->in[1];
    return m->op == IR_OP_MAX && m->in[0] == a && m->attr.keepdim && m->attr.axes == n->attr.axes &&
           a->dtype == x->dtype && ir_same_shape(a, x);
}

/* Closes an exp-sum's inner loops and writes y[...] = log((T)acc) followed by `tail`
 * (logsumexp's "(s) + m;", the shifted one's "(s);"). */
static void log_of_sum(cg_ctx *c, const reduce_loops *l, int inner, const char *tail)
{
    cg_loops_close(c, inner);
    cg_line(c, "const %s s = (%s)acc;", l->t, l->t);
    put_dest(c, l);
    cg_s(c, cg_fn(c, l->n->dtype, "log"));
    cg_end(c, tail);
}

/* log(sum exp(x)) for shifted scores (is_shifted): the max pass of logsumexp_body would
 * find m = +-0 or NaN, and with m = +-0 its exp(x - m) is exp(x) and log(s) + m is log(s)
 * (s >= 1, as the max element adds exp(0)), while with a NaN m every x of the group is
 * NaN and both give NaN. The same values, with one pass over x instead of two. */
static void logsumexp_shifted_body(cg_ctx *c, const reduce_loops *l)
{
    nb_dtype dt = l->n->dtype;
    cg_line(c, "double acc = 0.0;");
    int inner = inner_open(c, l);
    cg_begin(c);
    cg_s(c, "acc += ");
    if (l->block_exp) { /* the block holds the exps */
        put_x(c, l);
        cg_end(c, ";");
    } else {
        cg_s(c, cg_fn(c, dt, "exp"));
        cg_s(c, "(");
        put_x(c, l);
        cg_end(c, ");");
    }
    log_of_sum(c, l, inner, "(s);");
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
    cg_s(c, " d = ");
    put_x(c, l);
    cg_end(c, " - m;");
    cg_line(c, "acc += %s(d);", cg_fn(c, dt, "exp"));
    log_of_sum(c, l, inner, "(s) + m;");
}

/* ---- strided reductions, row-outer ------------------------------------------------ */

/* The loop nest of a reduction whose innermost axis is kept (a sum over axis 0, a bias
 * gradient), axes merged where x and y walk them as one. */
typedef struct reduce_rows {
    const ir_node *n;
    int rank; /* merged axes; the last is kept */
    int64_t size[NB_MAX_RANK];
    int64_t stride[2][NB_MAX_RANK]; /* of x's element, and of y's (0 on reduced axes) */
    uint32_t red;                   /* the merged axes that are reduced */
    const char *cmp;                /* max ">", min "<", sum NULL */
} reduce_rows;

/* Whether n reduces axes outside its innermost kept axis; if so sets up *r. A reduction
 * whose innermost axis is reduced reads x in order already, and an empty x takes the
 * plain loops (its outputs are the initial values). */
static int rows_plan(const ir_node *n, const char *cmp, reduce_rows *r)
{
    const ir_node *x = n->in[0];
    int64_t s = 1;
    r->n = n;
    r->cmp = cmp;
    for (int d = 0; d < x->rank; d++)
        if (x->shape[d] == 0)
            return 0;
    memcpy(r->size, x->shape, (size_t)x->rank * sizeof *x->shape);
    cg_strides(x->rank, x->shape, r->stride[0]);
    for (int d = x->rank - 1; d >= 0; d--) {
        int reduced = (n->attr.axes >> d) & 1u;
        r->stride[1][d] = reduced ? 0 : s;
        s *= reduced ? 1 : x->shape[d];
    }
    r->rank = cg_merge_axes(x->rank, r->size, 2, r->stride);
    r->red = 0;
    for (int d = 0; d < r->rank; d++)
        if (r->stride[1][d] == 0)
            r->red |= 1u << d;
    return r->rank >= 2 && r->red != 0 && r->stride[1][r->rank - 1] != 0;
}

/* Opens `for (long j = 0; j < count; j++) {`; count < 0: the variable cnt. */
static void rows_loop(cg_ctx *c, int64_t count)
{
    cg_begin(c);
    cg_s(c, "for (long j = 0; j < ");
    if (count < 0)
        cg_s(c, "cnt");
    else
        cg_i(c, count);
    cg_end(c, "; j++) {");
    c->indent++;
}

/* Appends the index of the element at column j0 of the block (j0 < 0: the variable j0),
 * then " + <tail>" when tail is not NULL: the loop variables' terms, j0, the tail; "0"
 * when there is none. */
static void put_index(cg_ctx *c, int rank, const int64_t *strides, int64_t j0, const char *tail)
{
    int loops = 0;
    for (int d = 0; d < rank; d++)
        loops |= strides[d] != 0;
    /* Something before j0 and the tail: the loop terms or a literal j0, or the lone "0". */
    int head = loops || j0 > 0 || (j0 == 0 && !tail);
    if (head)
        cg_index(c->t, j0 > 0 ? j0 : 0, "i", rank, strides);
    if (j0 < 0)
        cg_s(c, head ? " + j0" : "j0");
    if (tail) {
        cg_s(c, head || j0 < 0 ? " + " : "");
        cg_s(c, tail);
    }
}

/* One block of `count` output elements (count < 0: the variable cnt, at most
 * CG_REDUCE_BLOCK) from element j0 of the innermost axis (j0 < 0: the block loop's
 * variable j0): accumulators set, the reduced elements added
 * row by row, the results stored. Each output element takes its terms in the order the
 * column-outer loops took them (the reduced axes in increasing order) into the same
 * accumulator type, so the results are the same bits; only the walk over memory
 * changes. */
static void rows_block(cg_ctx *c, const reduce_rows *r, int64_t j0, int64_t count)
{
    int last = r->rank - 1;
    const char *t = cg_ctype(r->n->dtype);
    int64_t xs[NB_MAX_RANK], ys[NB_MAX_RANK];
    memcpy(xs, r->stride[0], sizeof xs);
    memcpy(ys, r->stride[1], sizeof ys);
    xs[last] = ys[last] = 0;
    /* double acc[256]; or float m[256]; each set to its start value (a loop: an
     * initializer would make tcc call memset, which the generated code has not) */
    cg_begin(c);
    cg_s(c, r->cmp ? t : "double");
    cg_s(c, r->cmp ? " m[" : " acc[");
    cg_i(c, count < 0 ? CG_REDUCE_BLOCK : count);
    cg_end(c, "];");
    rows_loop(c, count);
    cg_begin(c);
    if (r->cmp) {
        cg_s(c, "m[j] = ");
        cg_lit_put(c->t, r->n->dtype, *r->cmp == '>' ? -INFINITY : INFINITY);
        cg_end(c, ";");
    } else {
        cg_end(c, "acc[j] = 0;");
    }
    cg_loops_close(c, 1);
    int inner = cg_loops_open(c, "i", r->rank, r->size, r->red);
    /* const float *row = x0 + i0 * 1024 + j0; */
    cg_begin(c);
    cg_s(c, "const ");
    cg_s(c, cg_ctype(r->n->in[0]->dtype));
    cg_s(c, " *row = x0 + ");
    put_index(c, r->rank, xs, j0, NULL);
    cg_end(c, ";");
    rows_loop(c, count);
    if (r->cmp) {
        /* As extreme_into: a NaN, once seen, stays. */
        cg_line(c, "const %s v = row[j];", t);
        cg_line(c, "if (v %s m[j] || v != v)", r->cmp);
        cg_line(c, "    m[j] = v;");
    } else {
        cg_line(c, "acc[j] += row[j];");
    }
    cg_loops_close(c, 1 + inner);
    /* y[i0 * 1024 + j0 + j] = (float)acc[j]; */
    rows_loop(c, count);
    cg_begin(c);
    cg_s(c, "y[");
    put_index(c, r->rank, ys, j0, "j");
    cg_s(c, "] = ");
    if (r->cmp) {
        cg_end(c, "m[j];");
    } else {
        cg_s(c, "(");
        cg_s(c, t);
        cg_end(c, ")acc[j];");
    }
    cg_loops_close(c, 1);
}

/* The kernel of a strided reduction: the kept axes outside, then the innermost axis in
 * blocks of CG_REDUCE_BLOCK, each block accumulating over the reduced axes. */
static void rows_kernel(cg_ctx *c, const reduce_rows *r)
{
    int last = r->rank - 1;
    int64_t k = r->size[last], full = k / CG_REDUCE_BLOCK * CG_REDUCE_BLOCK;
    uint32_t outer_axes = ~r->red & ~(1u << last) & ((1u << r->rank) - 1);
    if (c->split && !outer_axes) {
        /* Split over the innermost axis itself (a bias gradient): the part's columns
         * [lo, hi) in blocks of at most CG_REDUCE_BLOCK. */
        cg_line(c, "for (long j0 = lo; j0 < hi; j0 += %d) {", CG_REDUCE_BLOCK);
        c->indent++;
        cg_line(c, "const long cnt = hi - j0 < %d ? hi - j0 : %d;", CG_REDUCE_BLOCK,
                CG_REDUCE_BLOCK);
        rows_block(c, r, -1, -1);
        cg_loops_close(c, 1);
        return;
    }
    int outer = kept_open(c, r->rank, r->size, outer_axes);
    if (full > 0) {
        /* for (long j0 = 0; j0 < 1024; j0 += 256) { */
        cg_begin(c);
        cg_s(c, "for (long j0 = 0; j0 < ");
        cg_i(c, full);
        cg_s(c, "; j0 += ");
        cg_i(c, CG_REDUCE_BLOCK);
        cg_end(c, ") {");
        c->indent++;
        rows_block(c, r, -1, CG_REDUCE_BLOCK);
        cg_loops_close(c, 1);
    }
    if (k > full)
        rows_block(c, r, full, k - full);
    cg_loops_close(c, outer);
}

/* A reduction kernel: row-outer when the innermost axis is kept, else the plain loops
 * with one accumulator per output element. */
static void reduce_any(cg_ctx *c, const ir_node *n, const char *cmp, reduce_body body)
{
    reduce_rows r;
    if (rows_plan(n, cmp, &r))
        rows_kernel(c, &r);
    else
        reduce_kernel(c, n, body);
}

int cg_reduce_fusable(const ir_node *n)
{
    reduce_rows r;
    if (n->op == IR_OP_LOGSUMEXP)
        return 1;
    return (n->op == IR_OP_SUM || n->op == IR_OP_MAX || n->op == IR_OP_MIN) &&
           !rows_plan(n, NULL, &r);
}

int64_t cg_reduce_extent(const ir_node *n)
{
    reduce_rows r;
    const ir_node *x = n->in[0];
    int plain = n->op == IR_OP_LOGSUMEXP || n->op == IR_OP_ARGMAX || n->op == IR_OP_ARGMIN ||
                n->op == IR_OP_PROD;
    if (n->op != IR_OP_SUM && n->op != IR_OP_MAX && n->op != IR_OP_MIN && !plain)
        return 0;
    /* The loops kept_open splits: row-outer (sum, max, min) or plain (each output
     * element on one thread, its elements in order: the split changes no bit). */
    if (!plain && rows_plan(n, n->op == IR_OP_SUM ? NULL : ">", &r)) {
        /* The outermost kept loop; without one, the innermost axis's columns. */
        int d = outermost(r.rank, ~r.red & ~(1u << (r.rank - 1)) & ((1u << r.rank) - 1));
        return r.size[d < 0 ? r.rank - 1 : d];
    }
    int d = outermost(x->rank, ((1u << x->rank) - 1) & ~n->attr.axes);
    return d < 0 ? 0 : x->shape[d];
}

void cg_k_sum(cg_ctx *c, const ir_node *n)
{
    reduce_any(c, n, NULL, sum_body);
}

void cg_k_max(cg_ctx *c, const ir_node *n)
{
    reduce_any(c, n, ">", max_body);
}

void cg_k_min(cg_ctx *c, const ir_node *n)
{
    reduce_any(c, n, "<", min_body);
}

void cg_k_logsumexp(cg_ctx *c, const ir_node *n)
{
    reduce_kernel(c, n, is_shifted(n) ? logsumexp_shifted_body : logsumexp_body);
}

/* prod, argmax and argmin take the plain loops, unfused: x is read through x0. */
void cg_k_prod(cg_ctx *c, const ir_node *n)
{
    reduce_kernel(c, n, prod_body);
}

/* argmax and argmin take the plain loops, unfused: x is read through x0. */
void cg_k_argmax(cg_ctx *c, const ir_node *n)
{
    reduce_kernel(c, n, argmax_body);
}

void cg_k_argmin(cg_ctx *c, const ir_node *n)
{
    reduce_kernel(c, n, argmin_body);
}
