/* nb_ox_index.c — the importers of ONNX's indexing ops: Gather, GatherElements,
 * GatherND, ScatterElements (and the older Scatter), ScatterND, Compress, ReverseSequence,
 * OneHot and Pad. ONNX allows negative indices at run time: known indices are normalized
 * on the host, others with where(i < 0, i + n, i). */
#include <stdlib.h>
#include <string.h>

#include "nb_ox.h"
#include "nb_ox_shape.h"

/* where(i < 0, i + n, i) on an i32 node. */
static nb_node *wrap_index(nb_graph *g, nb_node *i, int64_t n)
{
    nb_node *zero = nb_scalar(g, NB_I32, 0), *nn = nb_scalar(g, NB_I32, (double)n);
    return nb_where(g, nb_lt(g, i, zero), nb_add(g, i, nn), i);
}

/* Known integer indices k normalized into [0, n) (negative count from the end), in a
 * new array of k->numel values; NULL after an error (an index out of range). */
static int64_t *host_indices(nb_ox *x, const nb_ox_const *k, int64_t n)
{
    if (!k->i) {
        nb_ox_fail(x, "the indices must be integers");
        return NULL;
    }
    int64_t *v = malloc((size_t)(k->numel ? k->numel : 1) * sizeof *v);
    if (!v) {
        nb_ox_fail(x, "out of memory");
        return NULL;
    }
    for (int64_t j = 0; j < k->numel; j++) {
        v[j] = k->i[j] < 0 ? k->i[j] + n : k->i[j];
        if (v[j] < 0 || v[j] >= n) {
            nb_ox_fail(x, "index %lld is outside [-%lld, %lld)", (long long)k->i[j], (long long)n,
                       (long long)n);
            free(v);
            return NULL;
        }
    }
    return v;
}

/* An i32 constant of v's values in k's shape. */
static nb_node *index_const(nb_ox *x, const int64_t *v, int rank, const int64_t *dims)
{
    nb_node *c = nb_ox_index_node(x, v, nb_ox_numel(rank, dims));
    return c ? nb_reshape(nb_ox_graph(x), c, rank, dims) : NULL;
}

/* Input i's indices as a node in [0, n): a constant when known, else wrapped. */
static nb_node *index_input(nb_ox *x, int i, int64_t n)
{
    const nb_ox_const *k = nb_ox_in_known(x, i);
    if (!k) {
        nb_node *idx = nb_ox_in(x, i);
        return idx ? wrap_index(nb_ox_graph(x), idx, n) : NULL;
    }
    int64_t *v = host_indices(x, k, n);
    if (!v)
        return NULL;
    if (nb_ox_check_dims(x, k->rank, k->dims) != 0) {
        free(v);
        return NULL;
    }
    nb_node *c = index_const(x, v, k->rank, k->dims);
    free(v);
    return c;
}

/* Gather: numpy.take(data, indices, axis); on the host when both are known integers. */
int nb_ox_gather(nb_ox *x)
{
    int r = nb_ox_in_rank(x, 0), q = nb_ox_in_rank(x, 1);
    if (r < 1 || q < 0)
        return nb_ox_fail(x, "needs data of rank >= 1 and indices");
    int axis = nb_ox_axis(x, nb_ox_attr_int(x, "axis", 0), r, "axis");
    if (axis < 0)
        return -1;
    const int64_t *d = nb_ox_in_dims(x, 0);
    const nb_ox_const *kd = nb_ox_in_host(x, 0), *ki = nb_ox_in_known(x, 1);
    if (r - 1 + q > NB_MAX_RANK)
        return nb_ox_unsupported(x, "the result's rank is above nabla's %d", NB_MAX_RANK);
    if (kd && ki) {
        int64_t *v = host_indices(x, ki, d[axis]);
        if (!v)
            return -1;
        int64_t *lists[NB_MAX_RANK] = {0}, counts[NB_MAX_RANK];
        memcpy(counts, d, (size_t)r * sizeof *counts);
        lists[axis] = v;
        counts[axis] = ki->numel;
        nb_ox_const *o = nb_ox_host_pick(x, kd, lists, counts);
        free(v);
        if (o) { /* the picked axis becomes the indices' axes */
            int64_t dims[NB_MAX_RANK];
            int j = 0;
            for (int a = 0; a < axis; a++)
                dims[j++] = d[a];
            for (int a = 0; a < q; a++)
                dims[j++] = ki->dims[a];
            for (int a = axis + 1; a < r; a++)
                dims[j++] = d[a];
            o->rank = j;
            memcpy(o->dims, dims, (size_t)j * sizeof *dims);
        }
        return nb_ox_out_known(x, 0, o);
    }
    nb_node *t = nb_ox_in(x, 0), *idx = t ? index_input(x, 1, d[axis]) : NULL, *y;
    if (!idx || nb_ox_take(x, t, axis, idx, &y) != 0)
        return -1;
    return nb_ox_out_like(x, 0, y, 0);
}

/* GatherElements: nb_take_along_axis; data is first cut to the indices' extent on the
 * other axes (ONNX lets them be shorter, nabla does not). */
int nb_ox_gather_elements(nb_ox *x)
{
    int r = nb_ox_in_rank(x, 0);
    if (r < 1 || nb_ox_in_rank(x, 1) != r)
        return nb_ox_fail(x, "needs data of rank >= 1 and indices of its rank");
    int axis = nb_ox_axis(x, nb_ox_attr_int(x, "axis", 0), r, "axis");
    if (axis < 0)
        return -1;
    const int64_t *d = nb_ox_in_dims(x, 0), *di = nb_ox_in_dims(x, 1);
    int64_t stop[NB_MAX_RANK];
    int cut = 0;
    for (int a = 0; a < r; a++) {
        if (a != axis && di[a] > d[a])
            return nb_ox_fail(x, "indices are longer than data on axis %d", a);
        stop[a] = a == axis ? d[a] : di[a];
        cut |= stop[a] != d[a];
    }
    nb_graph *g = nb_ox_graph(x);
    nb_node *t = nb_ox_in(x, 0), *idx = t ? index_input(x, 1, d[axis]) : NULL;
    if (!idx)
        return -1;
    if (cut)
        t = nb_slice(g, t, NULL, stop, NULL);
    return nb_ox_out_like(x, 0, nb_take_along_axis(g, t, idx, axis), 0);
}

/* The rows of indices[..., k] into data's axes [b, b+k) (data viewed as [B * P, ..]
 * with B = prod(dims[:b]), P = prod(dims[b:b+k])): a node of indices.shape[:-1]. */
static nb_node *nd_rows(nb_ox *x, int i, int b, int64_t *rows_n)
{
    nb_graph *g = nb_ox_graph(x);
    int q = nb_ox_in_rank(x, i);
    const int64_t *d = nb_ox_in_dims(x, 0), *di = nb_ox_in_dims(x, i);
    int k = (int)di[q - 1];
    int64_t p = nb_ox_numel(k, d + b), bs = nb_ox_numel(b, d);
    *rows_n = bs * p;
    const nb_ox_const *ki = nb_ox_in_known(x, i);
    int64_t m = nb_ox_numel(q - 1, di);
    if (ki) {
        if (!ki->i) {
            nb_ox_fail(x, "the indices must be integers");
            return NULL;
        }
        int64_t *v = malloc((size_t)(m ? m : 1) * sizeof *v);
        if (!v) {
            nb_ox_fail(x, "out of memory");
            return NULL;
        }
        int64_t per_batch = m / (bs ? bs : 1);
        for (int64_t j = 0; j < m; j++) {
            int64_t row = (j / (per_batch ? per_batch : 1)) * p;
            for (int c = 0; c < k; c++) {
                int64_t n = d[b + c], iv = ki->i[j * k + c];
                iv = iv < 0 ? iv + n : iv;
                if (iv < 0 || iv >= n) {
                    free(v);
                    nb_ox_fail(x, "index %lld is outside axis %d", (long long)ki->i[j * k + c],
                               b + c);
                    return NULL;
                }
                row = row + iv * nb_ox_numel(k - c - 1, d + b + c + 1);
            }
            v[j] = row;
        }
        nb_node *c = q > 1 ? index_const(x, v, q - 1, di) : NULL;
        if (q == 1) {
            c = nb_ox_index_node(x, v, 1);
            c = c ? nb_reshape(g, c, 0, NULL) : NULL;
        }
        free(v);
        return c;
    }
    nb_node *idx = nb_ox_in(x, i), *row = NULL;
    if (!idx)
        return NULL;
    int64_t lo[NB_MAX_RANK] = {0}, hi[NB_MAX_RANK];
    memcpy(hi, di, (size_t)q * sizeof *hi);
    for (int c = 0; c < k; c++) {
        lo[q - 1] = c;
        hi[q - 1] = c + 1;
        nb_node *v = nb_reshape(g, nb_slice(g, idx, lo, hi, NULL), q - 1, di);
        v = wrap_index(g, v, d[b + c]);
        v = nb_mul(g, v, nb_scalar(g, NB_I32, (double)nb_ox_numel(k - c - 1, d + b + c + 1)));
        row = row ? nb_add(g, row, v) : v;
    }
    if (b > 0 && row) { /* + batch * P, the batch being the first b axes */
        int64_t *v = malloc((size_t)bs * sizeof *v), dims[NB_MAX_RANK];
        if (!v) {
            nb_ox_fail(x, "out of memory");
            return NULL;
        }
        for (int64_t j = 0; j < bs; j++)
            v[j] = j * p;
        for (int a = 0; a < q - 1; a++)
            dims[a] = a < b ? di[a] : 1;
        nb_node *off = index_const(x, v, q - 1, dims);
        free(v);
        row = off ? nb_add(g, row, off) : NULL;
    }
    return row;
}

/* GatherND (batch_dims from opset 13): data viewed as [B * P, rest..], gathered at each
 * index tuple's row. */
int nb_ox_gather_nd(nb_ox *x)
{
    int64_t bd = nb_ox_attr_int(x, "batch_dims", 0);
    int r = nb_ox_in_rank(x, 0), q = nb_ox_in_rank(x, 1);
    if (r < 1 || q < 1)
        return nb_ox_fail(x, "needs data and indices of rank >= 1");
    const int64_t *d = nb_ox_in_dims(x, 0), *di = nb_ox_in_dims(x, 1);
    if (bd < 0 || bd >= q || bd >= r || di[q - 1] < 1 || di[q - 1] > r - bd)
        return nb_ox_fail(x, "batch_dims %lld and indices' last axis %lld do not fit",
                          (long long)bd, (long long)di[q - 1]);
    int b = (int)bd, k = (int)di[q - 1];
    for (int a = 0; a < b; a++)
        if (d[a] != di[a])
            return nb_ox_fail(x, "data and indices differ on batch axis %d", a);
    int64_t rows, dims[NB_MAX_RANK];
    nb_node *t = nb_ox_in(x, 0), *row = t ? nd_rows(x, 1, b, &rows) : NULL, *y;
    if (!row)
        return -1;
    dims[0] = rows;
    for (int a = b + k; a < r; a++)
        dims[1 + a - b - k] = d[a];
    t = nb_reshape(nb_ox_graph(x), t, 1 + r - b - k, dims);
    if (!t || nb_ox_take(x, t, 0, row, &y) != 0)
        return -1;
    return nb_ox_out_like(x, 0, y, 0);
}

/* Passes of reduction "mul" at most (the most updates one row receives). */
#define SCATTER_MUL_PASSES 64

/* Reduction "mul" with known rows: as ONNX's reference multiplies in index order, pass p
 * multiplies each row by its p-th update (gathered from uu [m, s]), or by 1. */
static nb_node *scatter_mul(nb_ox *x, nb_node *dd, nb_node *uu, int64_t n, const int64_t *rows,
                            int64_t m)
{
    nb_graph *g = nb_ox_graph(x);
    int64_t *seen = calloc((size_t)n, sizeof *seen), *pick = malloc((size_t)n * sizeof *pick);
    double *has = malloc((size_t)n * sizeof *has);
    nb_node *y = dd;
    int64_t n1[2] = {n, 1};
    for (int pass = 0; y && seen && pick && has; pass++) {
        int any = 0;
        for (int64_t i = 0; i < n; i++) {
            pick[i] = 0;
            has[i] = 0;
        }
        for (int64_t j = 0, c; j < m; j++) /* the pass-th update of row rows[j] */
            if ((c = seen[rows[j]]++) == pass) {
                pick[rows[j]] = j;
                has[rows[j]] = any = 1;
            }
        for (int64_t i = 0; i < n; i++)
            seen[i] = 0;
        if (!any)
            break;
        if (pass == SCATTER_MUL_PASSES) {
            nb_ox_unsupported(x, "reduction mul with more than %d updates of one element",
                              SCATTER_MUL_PASSES);
            y = NULL;
            break;
        }
        nb_node *f = nb_gather(g, uu, nb_ox_index_node(x, pick, n));
        nb_node *hc = nb_constant(g, NB_BOOL, 2, n1, has);
        y = nb_mul(g, y, nb_where(g, hc, f, nb_scalar(g, nb_node_dtype(dd), 1)));
    }
    if (!seen || !pick || !has) {
        nb_ox_fail(x, "out of memory");
        y = NULL;
    }
    free(seen);
    free(pick);
    free(has);
    return y;
}

/* data viewed as [n, s] with the rows of updates [m, s] written at rows (known, in
 * [0, n)) or, for "add", added at rows (a node of m entries): ONNX's reduction "none"
 * is index_add into zeros of the last update of each row (so duplicates keep the last,
 * as ONNX's reference does), chosen where a row was written. */
static int scatter_rows(nb_ox *x, int64_t n, int64_t s, const int64_t *rows, nb_node *rows_node,
                        int64_t m, const char *reduction)
{
    nb_graph *g = nb_ox_graph(x);
    nb_node *data = nb_ox_in(x, 0), *upd = data ? nb_ox_in(x, 2) : NULL;
    if (!upd)
        return -1;
    if (nb_node_dtype(data) != NB_F32 && nb_node_dtype(data) != NB_F64)
        return nb_ox_unsupported(x, "data of type %s", nb_onnx_type_name(nb_ox_in_type(x, 0)));
    int64_t d2[2] = {n, s}, u2[2] = {m, s};
    int r = nb_node_rank(data);
    int64_t dims[NB_MAX_RANK];
    memcpy(dims, nb_node_shape(data), (size_t)r * sizeof *dims);
    nb_node *dd = nb_reshape(g, data, 2, d2), *uu = nb_reshape(g, upd, 2, u2), *y;
    if (!rows_node && !(rows_node = nb_ox_index_node(x, rows, m)))
        return -1;
    if (!strcmp(reduction, "add")) {
        y = nb_index_add(g, dd, 0, rows_node, uu);
    } else if (!strcmp(reduction, "none")) {
        double *keep = calloc((size_t)m, sizeof *keep), *hit = calloc((size_t)n, sizeof *hit);
        int64_t *last = malloc((size_t)n * sizeof *last);
        if (!keep || !hit || !last) {
            free(keep);
            free(hit);
            free(last);
            return nb_ox_fail(x, "out of memory");
        }
        for (int64_t j = 0; j < m; j++) {
            hit[rows[j]] = 1;
            last[rows[j]] = j;
        }
        for (int64_t j = 0; j < m; j++)
            keep[j] = last[rows[j]] == j;
        int64_t m1[2] = {m, 1}, n1[2] = {n, 1};
        nb_node *kc = nb_constant(g, NB_BOOL, 2, m1, keep),
                *hc = nb_constant(g, NB_BOOL, 2, n1, hit);
        free(keep);
        free(hit);
        free(last);
        nb_node *zero = nb_scalar(g, nb_node_dtype(data), 0);
        nb_node *z = nb_broadcast_to(g, zero, 2, d2);
        y = nb_index_add(g, z, 0, rows_node, nb_where(g, kc, uu, zero));
        y = nb_where(g, hc, y, dd);
    } else if (!strcmp(reduction, "mul")) {
        y = scatter_mul(x, dd, uu, n, rows, m);
    } else {
        return nb_ox_unsupported(x, "reduction %s", reduction);
    }
    return nb_ox_out_like(x, 0, nb_reshape(g, y, r, dims), 0);
}

static const char *reduction_of(nb_ox *x)
{
    return nb_ox_opset(x) >= 16 && strcmp(nb_ox_op_type(x), "Scatter")
               ? nb_ox_attr_string(x, "reduction", "none")
               : "none";
}

/* ScatterElements / Scatter: data with updates written (or added, reduction "add") at
 * the positions the indices give along axis. Reduction "none" needs the indices known
 * (duplicates: the last one wins); "add" takes them at run time too. */
int nb_ox_scatter_elements(nb_ox *x)
{
    int r = nb_ox_in_rank(x, 0);
    int axis = nb_ox_axis(x, nb_ox_attr_int(x, "axis", 0), r < 1 ? 1 : r, "axis");
    const char *red = reduction_of(x);
    if (axis < 0)
        return -1;
    if (r < 1 || nb_ox_in_rank(x, 1) != r || nb_ox_in_rank(x, 2) != r)
        return nb_ox_fail(x, "needs data, indices and updates of one rank >= 1");
    const int64_t *d = nb_ox_in_dims(x, 0), *di = nb_ox_in_dims(x, 1), *du = nb_ox_in_dims(x, 2);
    for (int a = 0; a < r; a++)
        if (di[a] != du[a] || (a != axis && di[a] > d[a]))
            return nb_ox_fail(x, "indices and updates must agree, within data on axis %d", a);
    if (strcmp(red, "none") && strcmp(red, "add") && strcmp(red, "mul"))
        return nb_ox_unsupported(x, "reduction %s", red);
    int64_t m = nb_ox_numel(r, di), n = nb_ox_numel(r, d),
            stride = nb_ox_numel(r - axis - 1, d + axis + 1);
    if (nb_ox_check_dims(x, r, di) != 0)
        return -1;
    /* The flat position of each index element with its axis coordinate 0. */
    int64_t *base = malloc((size_t)m * sizeof *base), idx[NB_MAX_RANK] = {0};
    if (!base)
        return nb_ox_fail(x, "out of memory");
    for (int64_t j = 0; j < m; j++) {
        int64_t p = 0;
        for (int a = 0; a < r; a++)
            p = p * d[a] + (a == axis ? 0 : idx[a]);
        base[j] = p;
        for (int a = r - 1; a >= 0; a--) {
            if (++idx[a] < di[a])
                break;
            idx[a] = 0;
        }
    }
    const nb_ox_const *ki =
        !strcmp(red, "add") ? nb_ox_in_known(x, 1) : nb_ox_in_const(x, 1, "indices");
    int rc = -1;
    if (ki) {
        int64_t *v = host_indices(x, ki, d[axis]);
        if (v) {
            for (int64_t j = 0; j < m; j++)
                base[j] += v[j] * stride;
            rc = scatter_rows(x, n, 1, base, NULL, m, red);
            free(v);
        }
    } else if (!strcmp(red, "add")) {
        nb_graph *g = nb_ox_graph(x);
        nb_node *i = nb_ox_in(x, 1), *b = i ? nb_ox_index_node(x, base, m) : NULL;
        if (b) {
            nb_node *pos =
                nb_mul(g, wrap_index(g, i, d[axis]), nb_scalar(g, NB_I32, (double)stride));
            pos = nb_add(g, nb_reshape(g, pos, 1, &m), b);
            rc = pos ? scatter_rows(x, n, 1, NULL, pos, m, red) : -1;
        }
    }
    free(base);
    return rc;
}

/* ScatterND: data viewed as [prod(dims[:k]), rest], updates' rows written (or added)
 * at the rows of the index tuples, which must be known. */
int nb_ox_scatter_nd(nb_ox *x)
{
    const char *red = reduction_of(x);
    int r = nb_ox_in_rank(x, 0), q = nb_ox_in_rank(x, 1);
    if (r < 1 || q < 1)
        return nb_ox_fail(x, "needs data and indices of rank >= 1");
    const int64_t *d = nb_ox_in_dims(x, 0), *di = nb_ox_in_dims(x, 1);
    if (di[q - 1] < 1 || di[q - 1] > r)
        return nb_ox_fail(x, "the indices' last axis %lld does not fit data of rank %d",
                          (long long)di[q - 1], r);
    int k = (int)di[q - 1];
    int64_t m = nb_ox_numel(q - 1, di), s = nb_ox_numel(r - k, d + k), n = nb_ox_numel(k, d);
    const int64_t *du = nb_ox_in_dims(x, 2);
    if (nb_ox_in_rank(x, 2) != q - 1 + r - k)
        return nb_ox_fail(x, "updates must be indices.shape[:-1] + data.shape[k:]");
    for (int a = 0; a < q - 1 + r - k; a++)
        if (du[a] != (a < q - 1 ? di[a] : d[k + a - (q - 1)]))
            return nb_ox_fail(x, "updates must be indices.shape[:-1] + data.shape[k:]");
    if (strcmp(red, "none") && strcmp(red, "add") && strcmp(red, "mul"))
        return nb_ox_unsupported(x, "reduction %s", red);
    const nb_ox_const *ki = nb_ox_in_const(x, 1, "indices");
    if (!ki)
        return -1;
    if (!ki->i)
        return nb_ox_fail(x, "the indices must be integers");
    int64_t *rows = malloc((size_t)(m ? m : 1) * sizeof *rows);
    if (!rows)
        return nb_ox_fail(x, "out of memory");
    for (int64_t j = 0; j < m; j++) {
        int64_t row = 0;
        for (int c = 0; c < k; c++) {
            int64_t iv = ki->i[j * k + c];
            iv = iv < 0 ? iv + d[c] : iv;
            if (iv < 0 || iv >= d[c]) {
                free(rows);
                return nb_ox_fail(x, "index %lld is outside axis %d", (long long)ki->i[j * k + c],
                                  c);
            }
            row = row * d[c] + iv;
        }
        rows[j] = row;
    }
    int rc =
        m ? scatter_rows(x, n, s, rows, NULL, m, red) : nb_ox_unsupported(x, "no index tuples");
    free(rows);
    return rc;
}

/* Compress: the slices of axis (or of the flattened input) where the known condition is
 * true: a gather of their indices. */
int nb_ox_compress(nb_ox *x)
{
    int has_axis = nb_ox_has_attr(x, "axis"), r = nb_ox_in_rank(x, 0);
    int64_t a64 = nb_ox_attr_int(x, "axis", 0);
    const nb_ox_const *c = nb_ox_in_const(x, 1, "condition");
    if (!c || r < 0)
        return -1;
    nb_graph *g = nb_ox_graph(x);
    nb_node *t = nb_ox_in(x, 0), *y;
    if (!t)
        return -1;
    int axis = 0;
    if (has_axis) {
        if ((axis = nb_ox_axis(x, a64, r, "axis")) < 0)
            return -1;
    } else {
        int64_t n = nb_ox_numel(r, nb_ox_in_dims(x, 0));
        if (!(t = nb_reshape(g, t, 1, &n)))
            return -1;
    }
    int64_t len = nb_node_shape(t)[axis], m = 0;
    if (c->rank != 1 || c->numel > len || !c->i)
        return nb_ox_fail(x, "the condition must be a 1-D list no longer than the axis");
    int64_t *v = malloc((size_t)(c->numel ? c->numel : 1) * sizeof *v);
    if (!v)
        return nb_ox_fail(x, "out of memory");
    for (int64_t j = 0; j < c->numel; j++)
        if (c->i[j])
            v[m++] = j;
    nb_node *idx = m ? nb_ox_index_node(x, v, m) : NULL;
    free(v);
    if (!m)
        return nb_ox_unsupported(x, "the result is empty");
    if (!idx || nb_ox_take(x, t, axis, idx, &y) != 0)
        return -1;
    return nb_ox_out_like(x, 0, y, 0);
}

/* ReverseSequence: along time_axis, each batch entry's first sequence_lens[b] elements
 * reversed, the rest kept: take_along_axis with an index (made from the known lengths)
 * of 1s but on the time and batch axes, broadcast to the input's shape. */
int nb_ox_reverse_sequence(nb_ox *x)
{
    int r = nb_ox_in_rank(x, 0);
    int64_t ta = nb_ox_attr_int(x, "time_axis", 0), ba = nb_ox_attr_int(x, "batch_axis", 1);
    const nb_ox_const *kl = nb_ox_in_const(x, 1, "sequence_lens");
    if (!kl || r < 2)
        return kl ? nb_ox_fail(x, "needs an input of rank >= 2") : -1;
    if ((ta != 0 && ta != 1) || ba != 1 - ta)
        return nb_ox_fail(x, "time_axis and batch_axis must be 0 and 1, or 1 and 0");
    const int64_t *d = nb_ox_in_dims(x, 0);
    int64_t t_n = d[ta], b_n = d[ba], dims[NB_MAX_RANK];
    if (!kl->i || kl->numel != b_n)
        return nb_ox_fail(x, "sequence_lens must hold one integer per batch entry");
    for (int a = 0; a < r; a++)
        dims[a] = a == ta ? t_n : a == ba ? b_n : 1;
    int64_t *v = malloc((size_t)(t_n * b_n) * sizeof *v);
    if (!v)
        return nb_ox_fail(x, "out of memory");
    for (int64_t t = 0; t < t_n; t++)
        for (int64_t b = 0; b < b_n; b++) {
            int64_t len = kl->i[b];
            if (len < 0 || len > t_n) {
                free(v);
                return nb_ox_fail(x, "sequence_lens[%lld] = %lld is outside [0, %lld]",
                                  (long long)b, (long long)len, (long long)t_n);
            }
            /* the index's two axes are in the input's order */
            v[ta == 0 ? t * b_n + b : b * t_n + t] = t < len ? len - 1 - t : t;
        }
    nb_node *idx = index_const(x, v, r, dims), *a = idx ? nb_ox_in(x, 0) : NULL;
    free(v);
    if (!a)
        return -1;
    nb_graph *g = nb_ox_graph(x);
    idx = nb_broadcast_to(g, idx, r, d);
    return nb_ox_out_like(x, 0, nb_take_along_axis(g, a, idx, (int)ta), 0);
}

/* OneHot: values[1] where the index (negative counts from depth's end) equals the
 * position along the new axis, values[0] elsewhere (also for indices out of range). */
int nb_ox_one_hot(nb_ox *x)
{
    int q = nb_ox_in_rank(x, 0);
    int64_t a64 = nb_ox_attr_int(x, "axis", -1);
    const nb_ox_const *kd = nb_ox_in_const(x, 1, "depth");
    if (!kd || q < 0)
        return -1;
    if (kd->numel != 1)
        return nb_ox_fail(x, "depth must hold one value");
    double depth_f = nb_ox_const_get(kd, 0);
    if (!(depth_f >= 1 && depth_f <= (1 << 24)))
        return nb_ox_fail(x, "depth %g", depth_f);
    int64_t depth = (int64_t)depth_f;
    if (q + 1 > NB_MAX_RANK)
        return nb_ox_unsupported(x, "the result's rank is above nabla's %d", NB_MAX_RANK);
    int axis = nb_ox_axis(x, a64, q + 1, "axis");
    if (axis < 0 || nb_ox_in_rank(x, 2) != 1 || nb_ox_in_dims(x, 2)[0] != 2)
        return axis < 0 ? -1 : nb_ox_fail(x, "values must be [off, on]");
    nb_graph *g = nb_ox_graph(x);
    nb_node *idx = nb_ox_in(x, 0), *vals = idx ? nb_ox_in(x, 2) : NULL;
    if (!vals)
        return -1;
    nb_dtype it = nb_node_dtype(idx);
    if (it == NB_BOOL)
        return nb_ox_unsupported(x, "bool indices");
    /* idx viewed with a 1 at axis, compared with 0..depth-1 along axis. */
    int64_t dims[NB_MAX_RANK], rdims[NB_MAX_RANK];
    const int64_t *di = nb_ox_in_dims(x, 0);
    for (int a = 0, j = 0; a < q + 1; a++) {
        dims[a] = a == axis ? 1 : di[j++];
        rdims[a] = a == axis ? depth : 1;
    }
    double *pos = malloc((size_t)depth * sizeof *pos);
    if (!pos)
        return nb_ox_fail(x, "out of memory");
    for (int64_t j = 0; j < depth; j++)
        pos[j] = (double)j;
    nb_node *range = nb_constant(g, it, q + 1, rdims, pos);
    free(pos);
    nb_node *zero = nb_scalar(g, it, 0), *dn = nb_scalar(g, it, (double)depth);
    nb_node *wi = nb_where(g, nb_lt(g, idx, zero), nb_add(g, idx, dn), idx);
    nb_node *mask = nb_eq(g, nb_reshape(g, wi, q + 1, dims), range);
    int64_t zero1 = 0, one1 = 1, two1 = 2;
    nb_node *off = nb_slice(g, vals, &zero1, &one1, NULL),
            *on = nb_slice(g, vals, &one1, &two1, NULL);
    return nb_ox_out_like(x, 0, nb_where(g, mask, on, off), 2);
}

/* The edge mode: on each padded axis, the first and last slices broadcast to the pad's
 * width and joined around it. */
static nb_node *pad_edge(nb_graph *g, nb_node *y, int r, const int64_t *pads)
{
    for (int a = 0; y && a < r; a++) {
        int64_t b = pads[a], e = pads[r + a];
        if (!b && !e)
            continue;
        int64_t lo[NB_MAX_RANK] = {0}, hi[NB_MAX_RANK], dims[NB_MAX_RANK];
        memcpy(hi, nb_node_shape(y), (size_t)r * sizeof *hi);
        memcpy(dims, hi, (size_t)r * sizeof *dims);
        int64_t n = hi[a];
        nb_node *parts[3];
        int m = 0;
        if (b) {
            hi[a] = 1;
            dims[a] = b;
            parts[m++] = nb_broadcast_to(g, nb_slice(g, y, lo, hi, NULL), r, dims);
        }
        parts[m++] = y;
        if (e) {
            lo[a] = n - 1;
            hi[a] = n;
            dims[a] = e;
            parts[m++] = nb_broadcast_to(g, nb_slice(g, y, lo, hi, NULL), r, dims);
        }
        y = nb_concat(g, parts, m, a);
    }
    return y;
}

/* A constant value known at run time only: y (padded with zeros) where the input lies,
 * the value elsewhere. */
static nb_node *pad_value(nb_ox *x, nb_node *y, int r, const int64_t *pads, nb_node *v)
{
    nb_graph *g = nb_ox_graph(x);
    if (!y || !v)
        return NULL;
    const int64_t *dims = nb_node_shape(y);
    int64_t numel = nb_ox_numel(r, dims), idx[NB_MAX_RANK] = {0};
    double *m = malloc((size_t)numel * sizeof *m);
    if (!m) {
        nb_ox_fail(x, "out of memory");
        return NULL;
    }
    for (int64_t j = 0; j < numel; j++) {
        int in = 1;
        for (int a = 0; a < r; a++)
            in &= idx[a] >= pads[a] && idx[a] < dims[a] - pads[r + a];
        m[j] = in;
        for (int a = r - 1; a >= 0; a--) {
            if (++idx[a] < dims[a])
                break;
            idx[a] = 0;
        }
    }
    nb_node *mask = nb_constant(g, NB_BOOL, r, dims, m);
    free(m);
    return nb_where(g, mask, y, v);
}

/* Pad: modes constant, reflect and edge; pads [b0, b1, .., e0, e1, ..] (the attribute
 * before opset 11, an input from 11), the value (attribute value, input constant_value,
 * known). Integer data is padded in f64 and converted back (exact). */
int nb_ox_pad(nb_ox *x)
{
    const char *mode = nb_ox_attr_string(x, "mode", "constant");
    int64_t pads[NB_OX_LIST_MAX];
    double value = 0;
    int n, r = nb_ox_in_rank(x, 0), runtime_value = 0;
    if (nb_ox_opset(x) < 11) {
        value = nb_ox_attr_float(x, "value", 0);
        n = nb_ox_attr_ints(x, "pads", pads, NB_OX_LIST_MAX);
        if (n == -1)
            return nb_ox_fail(x, "needs pads");
    } else {
        if (nb_ox_in_ints(x, 1, "pads", pads, NB_OX_LIST_MAX, &n) != 0)
            return -1;
        if (nb_ox_has_input(x, 3))
            return nb_ox_unsupported(x, "the axes input");
        const nb_ox_const *kv = nb_ox_in_known(x, 2);
        if (kv && kv->numel != 1)
            return nb_ox_fail(x, "constant_value must hold one value");
        if (kv)
            value = nb_ox_const_get(kv, 0);
        else if (nb_ox_has_input(x, 2))
            runtime_value = 1;
    }
    if (n < 0 || r < 1)
        return n < 0 ? -1 : nb_ox_fail(x, "needs data of rank >= 1");
    if (n != 2 * r)
        return nb_ox_fail(x, "pads lists %d values for a rank-%d input", n, r);
    const int64_t *d = nb_ox_in_dims(x, 0);
    int64_t out[NB_MAX_RANK], pp[2 * NB_MAX_RANK];
    for (int a = 0; a < r; a++) {
        if (pads[a] < -NB_OX_ELEMENTS_MAX || pads[a] > NB_OX_ELEMENTS_MAX ||
            pads[r + a] < -NB_OX_ELEMENTS_MAX || pads[r + a] > NB_OX_ELEMENTS_MAX)
            return nb_ox_unsupported(x, "pads beyond 2^40");
        out[a] = d[a] + pads[a] + pads[r + a];
        /* nabla's pairs run from the last axis. */
        pp[2 * (r - 1 - a)] = pads[a];
        pp[2 * (r - 1 - a) + 1] = pads[r + a];
    }
    if (nb_ox_check_dims(x, r, out) != 0)
        return -1;
    nb_graph *g = nb_ox_graph(x);
    nb_node *y = nb_ox_in(x, 0);
    if (!y)
        return -1;
    nb_dtype dt = nb_node_dtype(y);
    if (dt == NB_BOOL)
        return nb_ox_unsupported(x, "bool data");
    if (!strcmp(mode, "edge")) {
        for (int j = 0; j < 2 * r; j++)
            if (pads[j] < 0)
                return nb_ox_unsupported(x, "negative pads in edge mode");
        return nb_ox_out_like(x, 0, pad_edge(g, y, r, pads), 0);
    }
    nb_pad_mode pm;
    if (!strcmp(mode, "constant")) {
        pm = NB_PAD_CONSTANT;
    } else if (!strcmp(mode, "reflect")) {
        pm = NB_PAD_REFLECT;
        for (int a = 0; a < r; a++)
            if (pads[a] >= d[a] || pads[r + a] >= d[a] || pads[a] < 0 || pads[r + a] < 0)
                return nb_ox_unsupported(x, "reflect pads negative or as wide as axis %d", a);
    } else {
        return nb_ox_unsupported(x, "mode %s", mode);
    }
    if (dt == NB_I32)
        y = nb_cast(g, y, NB_F64);
    y = nb_pad(g, y, 2 * r, pp, pm, value);
    if (dt == NB_I32)
        y = nb_cast(g, y, NB_I32);
    if (runtime_value && pm == NB_PAD_CONSTANT)
        y = pad_value(x, y, r, pads, nb_ox_in(x, 2));
    return nb_ox_out_like(x, 0, y, 0);
}
