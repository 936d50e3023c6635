/* ops_shape.c — shape and gradient rules of the ops that move data around (reshape,
 * broadcast_to, permute, slice, concat, gather, scatter_add, one_hot, take_along_axis) and
 * of matmul. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

/* ---- constructors used by the gradient rules below ------------------------------- */

static ir_node *make_permute(ir_graph *g, ir_node *x, const int *perm)
{
    ir_attr attr = {0};
    if (!x)
        return NULL;
    attr.permute.rank = x->rank;
    for (int d = 0; d < x->rank; d++)
        attr.permute.perm[d] = perm[d];
    return ir_make1(g, IR_OP_PERMUTE, x, &attr);
}

/* A slice with normalized start/stop/step (see ops_shape.def). */
static ir_node *make_slice(ir_graph *g, ir_node *x, const int64_t *start, const int64_t *stop,
                           const int64_t *step)
{
    ir_attr attr = {0};
    int r = x ? x->rank : 0;
    if (!x)
        return NULL;
    attr.slice.rank = r;
    for (int d = 0; d < r; d++) {
        attr.slice.start[d] = start[d];
        attr.slice.stop[d] = stop[d];
        attr.slice.step[d] = step[d];
    }
    return ir_make1(g, IR_OP_SLICE, x, &attr);
}

/* ---- reshape and broadcast_to ---------------------------------------------------- */

int ir_shape_reshape(ir_graph *g, ir_node *n)
{
    const ir_node *x = n->in[0];
    int infer = -1;
    int64_t known = 1;
    char t[IR_TYPE_STR_MAX];
    n->dtype = x->dtype;
    n->rank = n->attr.target.rank;
    if (n->rank < 0 || n->rank > NB_MAX_RANK)
        return ir_error(g, "reshape: rank %d is out of range [0, %d]", n->rank, NB_MAX_RANK);
    for (int i = 0; i < n->rank; i++) {
        int64_t s = n->attr.target.shape[i];
        if (s == -1 && infer >= 0)
            return ir_error(g,
                            "reshape: target dimensions %d and %d are both -1 (of %s); "
                            "at most one can be inferred",
                            infer, i, ir_type_str(x, t, sizeof t));
        if (s == -1) {
            infer = i;
            continue;
        }
        if (s <= 0)
            return ir_error(g, "reshape: target dimension %d is %lld (of %s)", i, (long long)s,
                            ir_type_str(x, t, sizeof t));
        if (known > INT64_MAX / s)
            return ir_error(g, "reshape: element count of the target overflows");
        known *= s;
        n->shape[i] = s;
    }
    if (infer >= 0) {
        if (x->numel % known != 0)
            return ir_error(g, "reshape: cannot infer dimension %d of %s from %lld elements", infer,
                            ir_type_str(x, t, sizeof t), (long long)x->numel);
        n->shape[infer] = x->numel / known;
        known = x->numel;
    }
    if (known != x->numel)
        return ir_error(g, "reshape: %s has %lld elements, the target shape %lld",
                        ir_type_str(x, t, sizeof t), (long long)x->numel, (long long)known);
    return 0;
}

int ir_vjp_reshape(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    (void)need;
    gx[0] = ir_reshape(g, gy, n->in[0]->rank, n->in[0]->shape);
    return 0;
}

int ir_shape_broadcast_to(ir_graph *g, ir_node *n)
{
    const ir_node *x = n->in[0];
    char t[IR_TYPE_STR_MAX];
    n->dtype = x->dtype;
    n->rank = n->attr.target.rank;
    if (n->rank < x->rank || n->rank > NB_MAX_RANK)
        return ir_error(g, "broadcast_to: cannot broadcast %s to rank %d",
                        ir_type_str(x, t, sizeof t), n->rank);
    for (int d = 0; d < n->rank; d++) {
        int64_t s = n->attr.target.shape[d];
        int k = d - (n->rank - x->rank);
        n->shape[d] = s;
        if (k >= 0 && x->shape[k] != 1 && x->shape[k] != s)
            return ir_error(g, "broadcast_to: cannot broadcast %s: axis %d is %lld, target %lld",
                            ir_type_str(x, t, sizeof t), k, (long long)x->shape[k], (long long)s);
    }
    return 0;
}

int ir_vjp_broadcast_to(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need,
                        ir_node **gx)
{
    (void)need;
    gx[0] = ir_sum_to(g, gy, n->in[0]);
    return 0;
}

/* ---- permute --------------------------------------------------------------------- */

int ir_shape_permute(ir_graph *g, ir_node *n)
{
    const ir_node *x = n->in[0];
    unsigned seen = 0;
    char t[IR_TYPE_STR_MAX];
    n->dtype = x->dtype;
    n->rank = x->rank;
    if (n->attr.permute.rank != x->rank)
        return ir_error(g, "permute: %d axes given for %s; expected %d", n->attr.permute.rank,
                        ir_type_str(x, t, sizeof t), x->rank);
    for (int d = 0; d < x->rank; d++) {
        int p = n->attr.permute.perm[d];
        if (p < 0 || p >= x->rank || (seen & (1u << p)))
            return ir_error(g, "permute: entry %d (%lld) of the permutation of %s is %s", d,
                            (long long)p, ir_type_str(x, t, sizeof t),
                            p < 0 || p >= x->rank ? "out of range" : "repeated");
        seen |= 1u << p;
        n->shape[d] = x->shape[p];
    }
    return 0;
}

/* The gradient goes back through the inverse permutation. */
int ir_vjp_permute(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    int inv[NB_MAX_RANK];
    (void)need;
    for (int d = 0; d < n->rank; d++)
        inv[n->attr.permute.perm[d]] = d;
    gx[0] = make_permute(g, gy, inv);
    return 0;
}

/* ---- matmul ---------------------------------------------------------------------- */

int ir_shape_matmul(ir_graph *g, ir_node *n)
{
    const ir_node *a = n->in[0], *b = n->in[1];
    char ta[IR_TYPE_STR_MAX], tb[IR_TYPE_STR_MAX];
    if (ir_check_dtypes(g, n, 1) != 0)
        return -1;
    ir_type_str(a, ta, sizeof ta);
    ir_type_str(b, tb, sizeof tb);
    if (a->rank < 2 || b->rank < 2)
        return ir_error(g,
                        "matmul: %s @ %s: both operands need rank >= 2 ([..., m, k] @ "
                        "[..., k, n]); reshape a vector to [1, k] or [k, 1]",
                        ta, tb);
    /* A flag swaps the operand's last two axes (the matmul rule of ir_rewrite.c). */
    int fa = n->attr.trans_a != 0, fb = n->attr.trans_b != 0;
    int64_t m = a->shape[a->rank - 2 + fa], k = a->shape[a->rank - 1 - fa];
    int64_t k2 = b->shape[b->rank - 2 + fb], nn = b->shape[b->rank - 1 - fb];
    if (k != k2)
        return ir_error(g, "matmul: inner dimensions differ: %s @ %s (%lld vs %lld)", ta, tb,
                        (long long)k, (long long)k2);
    int ba = a->rank - 2, bb = b->rank - 2, rank = ba > bb ? ba : bb;
    for (int d = 0; d < rank; d++) {
        int i = d - (rank - ba), j = d - (rank - bb);
        int64_t sa = i >= 0 ? a->shape[i] : 1, sb = j >= 0 ? b->shape[j] : 1;
        if (sa != sb && sa != 1 && sb != 1)
            return ir_error(g,
                            "matmul: batch dimensions of %s @ %s do not broadcast "
                            "(batch axis %d: %lld vs %lld)",
                            ta, tb, d - rank, (long long)sa, (long long)sb);
        n->shape[d] = sa == 1 ? sb : sa;
    }
    n->shape[rank] = m;
    n->shape[rank + 1] = nn;
    n->rank = rank + 2;
    return 0;
}

/* A matmul of a and b, each read transposed when its flag is set. */
static ir_node *make_matmul(ir_graph *g, ir_node *a, ir_node *b, int trans_a, int trans_b)
{
    ir_attr attr = {0};
    attr.trans_a = trans_a;
    attr.trans_b = trans_b;
    return ir_make2(g, IR_OP_MATMUL, a, b, &attr);
}

/* y = A @ B with A = a or a^T and B = b or b^T (the flags): dA = gy @ B^T and
 * dB = A^T @ gy, each summed over the batch dims its operand was broadcast along. The
 * transposes are flags of the new matmuls, never permute nodes: da = dA or, when a is
 * read transposed, dA^T = B @ gy^T (likewise db = dB or dB^T = gy^T @ A). */
int ir_vjp_matmul(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    ir_node *a = n->in[0], *b = n->in[1];
    int ta = n->attr.trans_a != 0, tb = n->attr.trans_b != 0;
    if (need[0])
        gx[0] = ir_sum_to(g, ta ? make_matmul(g, b, gy, tb, 1) : make_matmul(g, gy, b, 0, !tb), a);
    if (need[1])
        gx[1] = ir_sum_to(g, tb ? make_matmul(g, gy, a, 1, ta) : make_matmul(g, a, gy, !ta, 0), b);
    return 0;
}

/* ---- slice and its gradient ------------------------------------------------------ */

int ir_shape_slice(ir_graph *g, ir_node *n)
{
    const ir_node *x = n->in[0];
    int r = x->rank;
    char t[IR_TYPE_STR_MAX];
    n->dtype = x->dtype;
    n->rank = r;
    if (n->attr.slice.rank != r)
        return ir_error(g, "slice: bounds of %d axes given for %s; expected %d", n->attr.slice.rank,
                        ir_type_str(x, t, sizeof t), r);
    for (int d = 0; d < r; d++) {
        int64_t start = n->attr.slice.start[d], stop = n->attr.slice.stop[d],
                step = n->attr.slice.step[d];
        if (step < 1 || step > x->shape[d] || start < 0 || start >= stop || stop > x->shape[d])
            return ir_error(g,
                            "slice: axis %d of %s: start %lld, stop %lld, step %lld is "
                            "not a non-empty slice",
                            d, ir_type_str(x, t, sizeof t), (long long)start, (long long)stop,
                            (long long)step);
        n->shape[d] = (stop - start - 1) / step + 1;
    }
    return 0;
}

/* The slice's gradient places gy where the slice came from, zeros elsewhere. */
int ir_vjp_slice(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    const ir_node *x = n->in[0];
    int r = x->rank;
    ir_attr attr = {0};
    (void)need;
    attr.target.rank = r;
    attr.slice.rank = r;
    for (int d = 0; d < r; d++) {
        attr.target.shape[d] = x->shape[d];
        attr.slice.start[d] = n->attr.slice.start[d];
        attr.slice.step[d] = n->attr.slice.step[d];
    }
    gx[0] = ir_make1(g, IR_OP_SLICE_GRAD, gy, &attr);
    return 0;
}

int ir_shape_slice_grad(ir_graph *g, ir_node *n)
{
    const ir_node *x = n->in[0];
    int r = x->rank;
    char t[IR_TYPE_STR_MAX];
    n->dtype = x->dtype;
    n->rank = r;
    if (n->attr.target.rank != r || n->attr.slice.rank != r)
        return ir_error(g,
                        "slice_grad: a result of rank %d and a placement of %d axes for %s; "
                        "expected %d",
                        n->attr.target.rank, n->attr.slice.rank, ir_type_str(x, t, sizeof t), r);
    for (int d = 0; d < r; d++) {
        int64_t size = n->attr.target.shape[d], start = n->attr.slice.start[d],
                step = n->attr.slice.step[d];
        /* The last element x->shape[d] - 1 lands at start + (x->shape[d] - 1) step. */
        if (size < 1 || step < 1 || step > size || start < 0 || start >= size ||
            (size - 1 - start) / step < x->shape[d] - 1)
            return ir_error(g,
                            "slice_grad: axis %d: %s does not fit in size %lld at start "
                            "%lld, step %lld",
                            d, ir_type_str(x, t, sizeof t), (long long)size, (long long)start,
                            (long long)step);
        n->shape[d] = size;
    }
    return 0;
}

/* slice_grad is linear; its adjoint is the slice it came from. */
int ir_vjp_slice_grad(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    const ir_node *x = n->in[0];
    int r = x->rank;
    int64_t start[NB_MAX_RANK], stop[NB_MAX_RANK], step[NB_MAX_RANK];
    (void)need;
    for (int d = 0; d < r; d++) {
        start[d] = n->attr.slice.start[d];
        step[d] = n->attr.slice.step[d];
        stop[d] = start[d] + (x->shape[d] - 1) * step[d] + 1;
    }
    gx[0] = make_slice(g, gy, start, stop, step);
    return 0;
}

/* ---- concat ---------------------------------------------------------------------- */

int ir_shape_concat(ir_graph *g, ir_node *n)
{
    int axis = n->attr.axis;
    char t[IR_TYPE_STR_MAX], u[IR_TYPE_STR_MAX];
    if (n->n_in < 1)
        return ir_error(g, "concat: needs at least one operand");
    const ir_node *x0 = n->in[0];
    n->dtype = x0->dtype;
    n->rank = x0->rank;
    if (x0->rank < 1)
        return ir_error(g, "concat: operand 0 is %s; operands need rank >= 1",
                        ir_type_str(x0, t, sizeof t));
    if (axis < 0 || axis >= x0->rank)
        return ir_error(g, "concat: axis %d is out of range for %s", axis,
                        ir_type_str(x0, t, sizeof t));
    memcpy(n->shape, x0->shape, sizeof n->shape);
    n->shape[axis] = 0;
    for (int i = 0; i < n->n_in; i++) {
        const ir_node *x = n->in[i];
        int same = x->dtype == x0->dtype && x->rank == x0->rank;
        for (int d = 0; same && d < x0->rank; d++)
            same = d == axis || x->shape[d] == x0->shape[d];
        if (!same)
            return ir_error(g,
                            "concat: operand %d is %s, operand 0 %s; along axis %d they "
                            "must match in dtype, rank and every other dimension",
                            i, ir_type_str(x, u, sizeof u), ir_type_str(x0, t, sizeof t), axis);
        if (n->shape[axis] > INT64_MAX / 16 - x->shape[axis])
            return ir_error(g, "concat: the size of axis %d overflows", axis);
        n->shape[axis] += x->shape[axis];
    }
    return 0;
}

/* Each operand that needs a gradient gets its slice of gy. */
int ir_vjp_concat(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    int r = n->rank, axis = n->attr.axis;
    int64_t start[NB_MAX_RANK], stop[NB_MAX_RANK], step[NB_MAX_RANK];
    for (int d = 0; d < r; d++) {
        start[d] = 0;
        stop[d] = n->shape[d];
        step[d] = 1;
    }
    int64_t offset = 0;
    for (int i = 0; i < n->n_in; i++) {
        start[axis] = offset;
        offset += n->in[i]->shape[axis];
        stop[axis] = offset;
        if (need[i])
            gx[i] = make_slice(g, gy, start, stop, step);
    }
    return 0;
}

/* ---- gather, scatter_add, one_hot ------------------------------------------------ */

/* Checks that index is i32 and that index.shape + rest fits in NB_MAX_RANK; writes
 * index.shape then rest[0, n_rest) into n->shape. */
static int shape_indexed(ir_graph *g, ir_node *n, const ir_node *index, const int64_t *rest,
                         int n_rest)
{
    const char *op = ir_op_defs[n->op].name;
    char t[IR_TYPE_STR_MAX];
    if (index->dtype != NB_I32)
        return ir_error(g, "%s: the index is %s; it must be i32", op,
                        ir_type_str(index, t, sizeof t));
    if (index->rank + n_rest > NB_MAX_RANK)
        return ir_error(g, "%s: the result would have rank %d (index %s); at most %d", op,
                        index->rank + n_rest, ir_type_str(index, t, sizeof t), NB_MAX_RANK);
    n->rank = index->rank + n_rest;
    for (int d = 0; d < index->rank; d++)
        n->shape[d] = index->shape[d];
    for (int d = 0; d < n_rest; d++)
        n->shape[index->rank + d] = rest[d];
    return 0;
}

int ir_shape_gather(ir_graph *g, ir_node *n)
{
    const ir_node *table = n->in[0], *index = n->in[1];
    char t[IR_TYPE_STR_MAX];
    n->dtype = table->dtype;
    if (table->rank < 1)
        return ir_error(g, "gather: the table is %s; it needs rank >= 1 (rows first)",
                        ir_type_str(table, t, sizeof t));
    return shape_indexed(g, n, index, table->shape + 1, table->rank - 1);
}

/* The table's gradient: zeros of its shape with gy's rows added at the indices. */
int ir_vjp_gather(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    const ir_node *table = n->in[0];
    ir_attr attr = {0};
    if (!need[0])
        return 0;
    attr.target.rank = table->rank;
    memcpy(attr.target.shape, table->shape, (size_t)table->rank * sizeof *attr.target.shape);
    gx[0] = ir_make2(g, IR_OP_SCATTER_ADD, gy, n->in[1], &attr);
    return 0;
}

int ir_shape_scatter_add(ir_graph *g, ir_node *n)
{
    const ir_node *values = n->in[0], *index = n->in[1];
    int r = n->attr.target.rank;
    char t[IR_TYPE_STR_MAX], u[IR_TYPE_STR_MAX];
    n->dtype = values->dtype;
    if (r < 1 || r > NB_MAX_RANK)
        return ir_error(g, "scatter_add: the table rank %d is out of range [1, %d]", r,
                        NB_MAX_RANK);
    /* Check the values' shape against the gather that this op reverses. */
    if (shape_indexed(g, n, index, n->attr.target.shape + 1, r - 1) != 0)
        return -1;
    if (!ir_same_shape(n, values))
        return ir_error(g,
                        "scatter_add: the values are %s; index %s needs %d leading "
                        "dimensions of the index then the table's rows",
                        ir_type_str(values, t, sizeof t), ir_type_str(index, u, sizeof u),
                        index->rank);
    n->rank = r;
    memcpy(n->shape, n->attr.target.shape, (size_t)r * sizeof *n->shape);
    return 0;
}

/* scatter_add is linear in its values; its adjoint is the gather. */
int ir_vjp_scatter_add(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need,
                       ir_node **gx)
{
    if (need[0])
        gx[0] = ir_make2(g, IR_OP_GATHER, gy, n->in[1], NULL);
    return 0;
}

int ir_shape_one_hot(ir_graph *g, ir_node *n)
{
    int64_t classes = n->attr.k;
    n->dtype = n->attr.dt;
    if (classes < 1)
        return ir_error(g, "one_hot: %lld classes; at least 1 is needed", (long long)classes);
    if (n->attr.dt != NB_F32 && n->attr.dt != NB_F64 && n->attr.dt != NB_I32 &&
        n->attr.dt != NB_BOOL)
        return ir_error(g, "one_hot: dtype %d is unknown", (int)n->attr.dt);
    return shape_indexed(g, n, n->in[0], &classes, 1);
}

/* ---- take_along_axis ---------------------------------------------------------------- */

int ir_shape_take_along_axis(ir_graph *g, ir_node *n)
{
    const ir_node *x = n->in[0], *index = n->in[1];
    int axis = n->attr.axis;
    char tx[IR_TYPE_STR_MAX], ti[IR_TYPE_STR_MAX];
    n->dtype = x->dtype;
    if (index->dtype != NB_I32)
        return ir_error(g, "take_along_axis: the index is %s; it must be i32",
                        ir_type_str(index, ti, sizeof ti));
    if (x->rank < 1 || axis < 0 || axis >= x->rank)
        return ir_error(g, "take_along_axis: axis %d is out of range for %s", axis,
                        ir_type_str(x, tx, sizeof tx));
    if (index->rank != x->rank)
        return ir_error(g, "take_along_axis: the index %s must have the rank of %s",
                        ir_type_str(index, ti, sizeof ti), ir_type_str(x, tx, sizeof tx));
    for (int d = 0; d < x->rank; d++)
        if (d != axis && index->shape[d] != x->shape[d])
            return ir_error(g,
                            "take_along_axis: the index %s and %s differ on axis %d (%lld vs "
                            "%lld); only axis %d may differ",
                            ir_type_str(index, ti, sizeof ti), ir_type_str(x, tx, sizeof tx), d,
                            (long long)index->shape[d], (long long)x->shape[d], axis);
    n->rank = index->rank;
    memcpy(n->shape, index->shape, (size_t)index->rank * sizeof *n->shape);
    return 0;
}

/* The positions 0 .. size - 1 along the axis `axis` of a rank-`rank` tensor, as an i32
 * constant [size, 1, ..., 1] that broadcasts along that axis. A position past INT32_MAX
 * holds -1, which no checked index equals. */
static ir_node *positions(ir_graph *g, int64_t size, int axis, int rank)
{
    int64_t shape[NB_MAX_RANK];
    double *at = ir_malloc((size_t)size * sizeof *at);
    if (!at) {
        ir_oom(g);
        return NULL;
    }
    for (int64_t i = 0; i < size; i++)
        at[i] = i <= INT32_MAX ? (double)i : -1.0;
    shape[0] = size;
    for (int d = 1; d < rank - axis; d++)
        shape[d] = 1;
    ir_node *p = ir_constant(g, NB_I32, rank - axis, shape, at);
    free(at);
    return p;
}

/* The adjoint scatters gy into zeros of x's shape along the axis: x's gradient at
 * position c is the sum of gy where the index is c. With one index per slot (index
 * size 1 on the axis: a label per row), that is one select over x's shape,
 * where(index == c, gy, 0), elementwise, so it fuses with the rest of a gradient (the
 * cross-entropy's softmax - one_hot in one loop). With K indices per slot, x viewed as
 * [A, C, B] and the index as [A, K, 1, B] select into [A, K, C, B], summed over K. */
int ir_vjp_take_along_axis(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need,
                           ir_node **gx)
{
    ir_node *x = n->in[0], *index = n->in[1];
    int axis = n->attr.axis;
    int64_t size = x->shape[axis], k = index->shape[axis], before = 1, after = 1;
    if (!need[0])
        return 0;
    ir_node *zero = ir_scalar_like(g, x, 0.0);
    if (k == 1) {
        ir_node *hit = ir_make2(g, IR_OP_EQ, index, positions(g, size, axis, x->rank), NULL);
        gx[0] = ir_make3(g, IR_OP_WHERE, hit, gy, zero, NULL);
        return 0;
    }
    for (int d = 0; d < axis; d++)
        before *= x->shape[d];
    for (int d = axis + 1; d < x->rank; d++)
        after *= x->shape[d];
    int64_t wide[4] = {before, k, 1, after};
    ir_node *hit =
        ir_make2(g, IR_OP_EQ, ir_reshape(g, index, 4, wide), positions(g, size, 2, 4), NULL);
    ir_node *sel = ir_make3(g, IR_OP_WHERE, hit, ir_reshape(g, gy, 4, wide), zero, NULL);
    ir_node *sum = ir_reduce(g, IR_OP_SUM, sel, 1u << 1, 0);
    gx[0] = ir_reshape(g, sum, x->rank, x->shape);
    return 0;
}
