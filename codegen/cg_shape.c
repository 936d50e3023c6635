/* cg_shape.c — kernels of the ops that move data (copies, broadcasts, permutes, slices,
 * concatenation, gather/scatter) and of matmul, which calls a runtime kernel. */
#include <stdio.h>

#include "cg.h"

/* Writes loops that copy y[yoff + sum i_d ys_d] = x<k>[xoff + sum i_d xs_d] over the
 * box `size`. Axes of size 1 are dropped and an axis is merged into the one before it
 * when both sides walk them as one run, so a permute that keeps the inner axes, a
 * slice with step 1 or a concat block becomes a single flat loop. */
static void copy_box(cg_ctx *c, int rank, const int64_t *size, const int64_t *ys, int64_t yoff,
                     int k, const int64_t *xs, int64_t xoff)
{
    int64_t sz[NB_MAX_RANK], st[2][NB_MAX_RANK]; /* st[0]: y, st[1]: x<k> */
    for (int d = 0; d < rank; d++) {
        sz[d] = size[d];
        st[0][d] = ys[d];
        st[1][d] = xs[d];
    }
    int r = cg_merge_axes(rank, sz, 2, st);
    int loops = cg_loops_open(c, "i", r, sz, (1u << r) - 1);
    cg_begin(c);
    cg_s(c, "y[");
    cg_index(c->t, yoff, "i", r, st[0]);
    cg_s(c, "] = x");
    cg_i(c, k);
    cg_s(c, "[");
    cg_index(c->t, xoff, "i", r, st[1]);
    cg_end(c, "];");
    cg_loops_close(c, loops);
}

/* Sets y's numel elements to zero. */
static void zero_output(cg_ctx *c, const ir_node *n)
{
    char zero[CG_LIT_MAX];
    cg_lit(zero, n->dtype, 0.0);
    if (n->numel == 1) {
        cg_line(c, "y[0] = %s;", zero);
        return;
    }
    cg_line(c, "for (long i = 0; i < %lld; i++)", (long long)n->numel);
    cg_line(c, "    y[i] = %s;", zero);
}

/* RESHAPE: the same elements in the same order. */
void cg_k_copy(cg_ctx *c, const ir_node *n)
{
    cg_line(c, "for (long i = 0; i < %lld; i++)", (long long)n->numel);
    cg_line(c, "    y[i] = x0[i];");
}

/* BROADCAST_TO: the elementwise loop does the broadcasting. */
void cg_ew_identity(cg_ew *e, const ir_node *n)
{
    (void)n;
    cg_ew_x(e, 0);
}

/* PERMUTE: walks y in order and reads x0 through the permuted strides. */
void cg_k_permute(cg_ctx *c, const ir_node *n)
{
    const ir_node *x = n->in[0];
    int64_t xs[NB_MAX_RANK], ys[NB_MAX_RANK], px[NB_MAX_RANK];
    cg_strides(x->rank, x->shape, xs);
    cg_strides(n->rank, n->shape, ys);
    for (int d = 0; d < n->rank; d++)
        px[d] = xs[n->attr.permute.perm[d]];
    copy_box(c, n->rank, n->shape, ys, 0, 0, px, 0);
}

/* SLICE: y is the box of x0 at start with strides scaled by step. */
void cg_k_slice(cg_ctx *c, const ir_node *n)
{
    const ir_node *x = n->in[0];
    int r = x->rank;
    int64_t xs[NB_MAX_RANK], ys[NB_MAX_RANK], off = 0;
    cg_strides(r, x->shape, xs);
    cg_strides(r, n->shape, ys);
    for (int d = 0; d < r; d++) {
        off += n->attr.slice.start[d] * xs[d];
        xs[d] *= n->attr.slice.step[d];
    }
    copy_box(c, r, n->shape, ys, 0, 0, xs, off);
}

/* SLICE_GRAD: zeros, then x0 written into the box a slice would read. */
void cg_k_slice_grad(cg_ctx *c, const ir_node *n)
{
    const ir_node *x = n->in[0];
    int r = x->rank;
    int64_t xs[NB_MAX_RANK], ys[NB_MAX_RANK], off = 0;
    cg_strides(r, x->shape, xs);
    cg_strides(r, n->shape, ys);
    for (int d = 0; d < r; d++) {
        off += n->attr.slice.start[d] * ys[d];
        ys[d] *= n->attr.slice.step[d];
    }
    if (x->numel != n->numel)
        zero_output(c, n);
    copy_box(c, r, x->shape, ys, off, 0, xs, 0);
}

/* CONCAT of more operands than a call takes: they come as the array xs, and one loop
 * over it copies block k, of width w[k] from a table, so the code does not grow with
 * the operand count. */
static void concat_array(cg_ctx *c, const ir_node *n, int64_t outer, int64_t inner, int64_t width)
{
    const char *t = cg_ctype(n->dtype);
    cg_line(c, "static const long w[%d] = {", n->n_in);
    for (int k = 0; k < n->n_in; k += 8) {
        char row[8 * 24] = "";
        int len = 0;
        for (int j = k; j < n->n_in && j < k + 8; j++)
            len += snprintf(row + len, sizeof row - (size_t)len, "%s%lld", j > k ? ", " : "",
                            (long long)(n->in[j]->shape[n->attr.axis] * inner));
        cg_line(c, "    %s%s", row, k + 8 < n->n_in ? "," : "");
    }
    cg_line(c, "};");
    cg_line(c, "long col = 0;");
    cg_line(c, "for (long k = 0; k < %d; k++) {", n->n_in);
    cg_line(c, "    const %s *x = (const %s *)xs[k];", t, t);
    cg_line(c, "    for (long i = 0; i < %lld; i++)", (long long)outer);
    cg_line(c, "        for (long j = 0; j < w[k]; j++)");
    cg_line(c, "            y[i * %lld + col + j] = x[i * w[k] + j];", (long long)width);
    cg_line(c, "    col += w[k];");
    cg_line(c, "}");
}

/* CONCAT: each operand is a block of rows [outer, its width] placed at its column
 * offset in y's rows [outer, total width]. */
void cg_k_concat(cg_ctx *c, const ir_node *n)
{
    int axis = n->attr.axis;
    int64_t outer = 1, inner = 1, col = 0;
    for (int d = 0; d < axis; d++)
        outer *= n->shape[d];
    for (int d = axis + 1; d < n->rank; d++)
        inner *= n->shape[d];
    int64_t width = n->shape[axis] * inner;
    if (n->n_in > CG_MAX_CALL_ARGS) {
        concat_array(c, n, outer, inner, width);
        return;
    }
    for (int k = 0; k < n->n_in; k++) {
        int64_t w = n->in[k]->shape[axis] * inner;
        int64_t size[2] = {outer, w}, ys[2] = {width, 1}, xs[2] = {w, 1};
        copy_box(c, 2, size, ys, col, k, xs, 0);
        col += w;
    }
}

/* Loads index element i into r and returns 1 from the kernel when it is outside
 * [0, limit). */
static void load_checked_index(cg_ctx *c, const char *from, int64_t limit)
{
    cg_line(c, "const long r = %s[i];", from);
    cg_line(c, "if (r < 0 || r >= %lld)", (long long)limit);
    cg_line(c, "    return 1;");
    c->can_fail = 1;
}

/* GATHER and SCATTER_ADD share one loop over the index: row r = index[i] of the table
 * (x0 for gather, y for scatter_add) pairs with row i of the other side. */
static void index_rows(cg_ctx *c, const ir_node *table, const ir_node *index, int scatter)
{
    int64_t row = table->numel / table->shape[0];
    char t[48], o[48];
    cg_line(c, "for (long i = 0; i < %lld; i++) {", (long long)index->numel);
    c->indent++;
    load_checked_index(c, "x1", table->shape[0]);
    if (row == 1) {
        snprintf(t, sizeof t, "r");
        snprintf(o, sizeof o, "i");
    } else {
        snprintf(t, sizeof t, "r * %lld + j", (long long)row);
        snprintf(o, sizeof o, "i * %lld + j", (long long)row);
        cg_line(c, "for (long j = 0; j < %lld; j++)", (long long)row);
        c->indent++;
    }
    if (scatter)
        cg_line(c, "y[%s] += x0[%s];", t, o);
    else
        cg_line(c, "y[%s] = x0[%s];", o, t);
    if (row != 1)
        c->indent--;
    c->indent--;
    cg_line(c, "}");
}

/* GATHER: y row i = x0 row x1[i]. */
void cg_k_gather(cg_ctx *c, const ir_node *n)
{
    index_rows(c, n->in[0], n->in[1], 0);
}

/* SCATTER_ADD: zeros, then y row x1[i] += x0 row i. */
void cg_k_scatter_add(cg_ctx *c, const ir_node *n)
{
    zero_output(c, n);
    index_rows(c, n, n->in[1], 1);
}

/* ONE_HOT: zeros, then a one in row i at column x0[i]. */
void cg_k_one_hot(cg_ctx *c, const ir_node *n)
{
    int64_t classes = n->shape[n->rank - 1];
    zero_output(c, n);
    cg_line(c, "for (long i = 0; i < %lld; i++) {", (long long)n->in[0]->numel);
    c->indent++;
    load_checked_index(c, "x0", classes);
    char one[CG_LIT_MAX];
    cg_lit(one, n->dtype, 1.0);
    cg_line(c, "y[i * %lld + r] = %s;", (long long)classes, one);
    c->indent--;
    cg_line(c, "}");
}

/* TAKE_ALONG_AXIS: x0 viewed as [A, C, B] (the axes before the axis, the axis, the axes
 * after), the index x1 and y as [A, K, B]: y[a, k, b] = x0[a, x1[a, k, b], b], each index
 * checked against C. Loops of size 1 are left out (a label per row is one loop). */
void cg_k_take_along_axis(cg_ctx *c, const ir_node *n)
{
    const ir_node *x = n->in[0];
    int axis = n->attr.axis;
    int64_t size[3] = {1, n->shape[axis], 1}, ys[3], xs[3];
    for (int d = 0; d < axis; d++)
        size[0] *= n->shape[d];
    for (int d = axis + 1; d < n->rank; d++)
        size[2] *= n->shape[d];
    cg_strides(3, size, ys);
    xs[0] = x->shape[axis] * size[2];
    xs[1] = 0;
    xs[2] = 1;
    uint32_t loops = 0;
    for (int d = 0; d < 3; d++) {
        if (size[d] > 1)
            loops |= 1u << d;
        else
            ys[d] = xs[d] = 0;
    }
    int open = cg_loops_open(c, "i", 3, size, loops);
    cg_begin(c);
    cg_s(c, "const long i = ");
    cg_index(c->t, 0, "i", 3, ys);
    cg_end(c, ";");
    load_checked_index(c, "x1", x->shape[axis]);
    /* y[i] = x0[i0 * 4000 + i2 + r * 4]; */
    cg_begin(c);
    cg_s(c, "y[i] = x0[");
    cg_index(c->t, 0, "i", 3, xs);
    cg_s(c, " + r");
    if (size[2] > 1) {
        cg_s(c, " * ");
        cg_i(c, size[2]);
    }
    cg_end(c, "];");
    cg_loops_close(c, open);
}

/* Appends ", p" or ", p + i0 * 12 + ..." for a pointer moved by the loop indices. */
static void put_ptr(cg_ctx *c, const char *p, int rank, const int64_t *st)
{
    cg_s(c, ", ");
    cg_s(c, p);
    for (int d = 0; d < rank; d++)
        if (st[d]) {
            cg_s(c, " + ");
            cg_index(c->t, 0, "i", rank, st);
            return;
        }
}

/* The loops of a matmul's gemm calls: per batch axis left after merging, its size and
 * the element strides of y, a and b (0 when broadcast); the rows m of each call (several
 * a and y matrices in a row are one call when b is the same for them). */
typedef struct matmul_loops {
    int r;
    int64_t size[NB_MAX_RANK], st[3][NB_MAX_RANK];
    int64_t m, n, k;
} matmul_loops;

static void matmul_plan(const ir_node *n, matmul_loops *l)
{
    const ir_node *a = n->in[0], *b = n->in[1];
    int ta = n->attr.trans_a != 0;
    int rank = n->rank - 2;
    int64_t m = n->shape[rank], nn = n->shape[rank + 1], k = a->shape[a->rank - 1 - ta];
    const ir_node *ops[3] = {n, a, b};
    int64_t mat[3] = {m * nn, m * k, k * nn};
    for (int d = 0; d < rank; d++) {
        l->size[d] = n->shape[d];
        for (int o = 0; o < 3; o++) {
            const ir_node *x = ops[o];
            int dx = d - (rank - (x->rank - 2));
            int64_t st_x = mat[o];
            /* An operand with fewer batch axes than y has none at d: stride 0, and no
             * axis before its first may be read. */
            if (dx < 0 || x->shape[dx] == 1) {
                l->st[o][d] = 0;
                continue;
            }
            for (int e = dx + 1; e < x->rank - 2; e++)
                st_x *= x->shape[e];
            l->st[o][d] = st_x;
        }
    }
    int r = cg_merge_axes(rank, l->size, 3, l->st);
    /* Consecutive a matrices are one taller matrix only when a is not transposed. */
    if (r > 0 && !ta && l->st[2][r - 1] == 0 && l->st[1][r - 1] == m * k &&
        l->st[0][r - 1] == m * nn) {
        m *= l->size[r - 1];
        r--;
    }
    l->r = r;
    l->m = m;
    l->n = nn;
    l->k = k;
}

/* Whether the batch loop of l is split rather than each call: its calls are too small
 * for the runtime to split, or there are enough of them for every thread (by the shape
 * alone, so that the calls, and the bits, are the same for any thread count). */
static int batch_split(const matmul_loops *l)
{
    return l->r > 0 && ((double)l->m * (double)l->n * (double)l->k < (double)CG_GEMM_SPLIT_MACS ||
                        l->size[0] >= 2 * CG_SPLIT_GRAIN);
}

int64_t cg_matmul_extent(const ir_node *n)
{
    matmul_loops l;
    if (n->op != IR_OP_MATMUL)
        return 0;
    matmul_plan(n, &l);
    return batch_split(&l) ? l.size[0] : 0;
}

/* MATMUL: one runtime (BLAS) call per output matrix, in loops over the batch axes with
 * literal offsets; single calls (never blocks) when the kernel runs beside another. A
 * broadcast operand has batch stride 0. When b is the same for a run of consecutive a
 * and y matrices (a linear layer on a batch), the run is one call with m multiplied. A
 * batch split by its shape (batch_split) makes single calls and a split kernel runs the
 * outermost batch loop over [lo, hi): every output matrix is one call's, so the bits do
 * not depend on the split. */
void cg_k_matmul(cg_ctx *c, const ir_node *n)
{
    /* A flagged operand is stored transposed; the gemm call reads it so (CblasTrans). */
    int ta = n->attr.trans_a != 0, tb = n->attr.trans_b != 0;
    matmul_loops l;
    matmul_plan(n, &l);
    int r = l.r, one = c->gemm_one || batch_split(&l);
    /* Beside another kernel, the thread is this gemm's alone: one call, never blocks. */
    const char *fn = cg_rt(c, n->dtype == NB_F32 ? (one ? "nb_rt_gemm_one_f32" : "nb_rt_gemm_f32")
                                                 : (one ? "nb_rt_gemm_one_f64" : "nb_rt_gemm_f64"));
    int loops = 0;
    if (c->split && r > 0) {
        cg_line(c, "for (long i0 = lo; i0 < hi; i0++) {");
        c->indent++;
        loops = 1 + cg_loops_open(c, "i", r, l.size, ((1u << r) - 1) & ~1u);
    } else
        loops = cg_loops_open(c, "i", r, l.size, (1u << r) - 1);
    /* f(ta, tb, m, n, k, a, b, y); */
    long long ints[5] = {ta, tb, l.m, l.n, l.k};
    cg_begin(c);
    cg_s(c, fn);
    for (int i = 0; i < 5; i++) {
        cg_s(c, i ? ", " : "(");
        cg_i(c, ints[i]);
    }
    put_ptr(c, "x0", r, l.st[1]);
    put_ptr(c, "x1", r, l.st[2]);
    put_ptr(c, "y", r, l.st[0]);
    cg_end(c, ");");
    cg_loops_close(c, loops);
}
