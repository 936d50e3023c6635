/* nb_ox_shape.c — the importers of ONNX's shape ops: the ones that move or reshape
 * elements (Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Concat, Split, Slice,
 * Expand, Tile, DepthToSpace, SpaceToDepth, Trilu), and the helpers the shape and index
 * importers share (nb_ox_shape.h); nb_ox_shape_known.c has the ops whose result is known
 * at load time. When their data inputs are known integers (nb_ox_in_host), Reshape,
 * Flatten, (Un)Squeeze, Concat and Slice compute on the host, so that the shape chains
 * torch.onnx.export writes (Shape -> Gather -> Unsqueeze -> Concat -> Reshape) stay
 * known. */
#include <stdlib.h>
#include <string.h>

#include "nb_ox.h"
#include "nb_ox_shape.h"

/* ---- helpers shared with nb_ox_index.c ---- */

int64_t nb_ox_numel(int rank, const int64_t *dims)
{
    int64_t n = 1;
    for (int d = 0; d < rank; d++)
        n *= dims[d];
    return n;
}

const nb_ox_const *nb_ox_in_host(const nb_ox *x, int i)
{
    const nb_ox_const *k = nb_ox_in_known(x, i);
    return k && k->i ? k : NULL;
}

int nb_ox_out_like(nb_ox *x, int i, nb_node *n, int in)
{
    return nb_ox_out_typed(x, i, n, nb_ox_in_type(x, in));
}

/* Refuses a result with an empty axis, which nabla's nodes cannot hold. */
int nb_ox_check_dims(nb_ox *x, int rank, const int64_t *dims)
{
    int64_t n = 1;
    for (int d = 0; d < rank; d++) {
        if (dims[d] <= 0)
            return nb_ox_unsupported(x,
                                     "the result's axis %d has %lld elements; nabla's tensors "
                                     "are not empty",
                                     d, (long long)dims[d]);
        if (dims[d] > NB_OX_ELEMENTS_MAX / n)
            return nb_ox_unsupported(x, "the result holds more than 2^40 elements");
        n *= dims[d];
    }
    return 0;
}

nb_ox_const *nb_ox_host_pick(nb_ox *x, const nb_ox_const *k, int64_t *const *lists,
                             const int64_t *counts)
{
    nb_ox_const *o = nb_ox_const_new(x, k->type, k->rank, counts);
    if (!o || o->numel == 0)
        return o;
    int64_t stride[NB_MAX_RANK], idx[NB_MAX_RANK] = {0};
    int64_t s = 1;
    for (int d = k->rank - 1; d >= 0; d--) {
        stride[d] = s;
        s *= k->dims[d];
    }
    for (int64_t j = 0; j < o->numel; j++) {
        int64_t src = 0;
        for (int d = 0; d < k->rank; d++)
            src += (lists[d] ? lists[d][idx[d]] : idx[d]) * stride[d];
        if (o->f)
            o->f[j] = k->f[src];
        else
            o->i[j] = k->i[src];
        for (int d = k->rank - 1; d >= 0; d--) {
            if (++idx[d] < counts[d])
                break;
            idx[d] = 0;
        }
    }
    return o;
}

int nb_ox_take(nb_ox *x, nb_node *t, int axis, nb_node *index, nb_node **out)
{
    nb_graph *g = nb_ox_graph(x);
    int r = nb_node_rank(t), q = nb_node_rank(index);
    *out = NULL;
    if (r - 1 + (q ? q : 1) > NB_MAX_RANK)
        return nb_ox_unsupported(x, "the result's rank is above nabla's %d", NB_MAX_RANK);
    nb_node *idx = index;
    if (q == 0) {
        int64_t one = 1;
        idx = nb_reshape(g, index, 1, &one);
    }
    int qq = q ? q : 1, perm[NB_MAX_RANK];
    nb_node *tt = t;
    if (axis != 0) {
        perm[0] = axis;
        for (int d = 0, j = 1; d < r; d++)
            if (d != axis)
                perm[j++] = d;
        tt = nb_permute(g, t, perm, r);
    }
    nb_node *y = nb_gather(g, tt, idx);
    if (axis != 0) {
        /* y is [idx..., pre..., post...]; the result is [pre..., idx..., post...]. */
        int j = 0;
        for (int d = 0; d < axis; d++)
            perm[j++] = qq + d;
        for (int d = 0; d < qq; d++)
            perm[j++] = d;
        for (int d = qq + axis; d < qq + r - 1; d++)
            perm[j++] = d;
        y = nb_permute(g, y, perm, j);
    }
    if (q == 0 && y) {
        int64_t dims[NB_MAX_RANK];
        int j = 0;
        for (int d = 0; d < r; d++)
            if (d != axis)
                dims[j++] = nb_node_shape(t)[d];
        y = nb_reshape(g, y, j, dims);
    }
    *out = y;
    return y ? 0 : -1;
}

nb_node *nb_ox_index_node(nb_ox *x, const int64_t *v, int64_t n)
{
    double *d = malloc((size_t)(n ? n : 1) * sizeof *d);
    if (!d) {
        nb_ox_fail(x, "out of memory");
        return NULL;
    }
    for (int64_t j = 0; j < n; j++)
        d[j] = (double)v[j];
    nb_node *c = nb_constant(nb_ox_graph(x), NB_I32, 1, &n, d);
    free(d);
    return c;
}

/* ---- reshapes: the data unchanged, new dims ---- */

/* Sets output 0 to input 0 with new dims: a copy when it is a known integer value, else
 * a reshape. */
static int out_reshaped(nb_ox *x, int rank, const int64_t *dims)
{
    if (rank > NB_MAX_RANK)
        return nb_ox_unsupported(x, "the result's rank %d is above nabla's %d", rank, NB_MAX_RANK);
    const nb_ox_const *k = nb_ox_in_host(x, 0);
    if (nb_ox_numel(rank, dims) != nb_ox_numel(nb_ox_in_rank(x, 0), nb_ox_in_dims(x, 0)))
        return nb_ox_fail(x, "the new shape does not hold the input's elements");
    if (k) {
        nb_ox_const *o = nb_ox_const_dup(x, k);
        if (o) {
            o->rank = rank;
            memcpy(o->dims, dims, (size_t)rank * sizeof *dims);
        }
        return nb_ox_out_known(x, 0, o);
    }
    if (nb_ox_check_dims(x, rank, dims) != 0)
        return -1;
    nb_node *a = nb_ox_in(x, 0);
    if (!a)
        return -1;
    return nb_ox_out_like(x, 0, nb_reshape(nb_ox_graph(x), a, rank, dims), 0);
}

/* Reshape: the shape input (opset 5 on), whose 0 copies the input's dim (unless
 * allowzero, opset 14) and whose one -1 is inferred. */
int nb_ox_reshape(nb_ox *x)
{
    int allowzero = (int)nb_ox_attr_int(x, "allowzero", 0);
    int64_t s[NB_OX_LIST_MAX];
    int n;
    if (nb_ox_in_rank(x, 0) < 0 || nb_ox_in_ints(x, 1, "shape", s, NB_OX_LIST_MAX, &n) != 0)
        return nb_ox_in_rank(x, 0) < 0 ? nb_ox_fail(x, "input 0 is missing") : -1;
    int r = nb_ox_in_rank(x, 0), infer = -1;
    const int64_t *in = nb_ox_in_dims(x, 0);
    int64_t known = 1;
    if (n > NB_MAX_RANK)
        return nb_ox_unsupported(x, "a shape of rank %d is above nabla's %d", n, NB_MAX_RANK);
    for (int d = 0; d < n; d++) {
        if (s[d] == 0 && !allowzero) {
            if (d >= r)
                return nb_ox_fail(x, "shape[%d] = 0 copies an axis the input lacks", d);
            s[d] = in[d];
        }
        if (s[d] == -1) {
            if (infer >= 0)
                return nb_ox_fail(x, "the shape has more than one -1");
            infer = d;
        } else if (s[d] < 0) {
            return nb_ox_fail(x, "shape[%d] = %lld", d, (long long)s[d]);
        } else {
            if (s[d] > 0 && known > NB_OX_ELEMENTS_MAX / s[d])
                return nb_ox_unsupported(x, "the shape holds more than 2^40 elements");
            known *= s[d];
        }
    }
    if (infer >= 0) {
        int64_t total = nb_ox_numel(r, in);
        if (known == 0 || total % known)
            return nb_ox_fail(x, "the shape's -1 cannot be inferred");
        s[infer] = total / known;
    }
    return out_reshaped(x, n, s);
}

/* Flatten: [prod(dims[:axis]), prod(dims[axis:])]; axis in [0, rank] (negative from
 * opset 11). */
int nb_ox_flatten(nb_ox *x)
{
    int r = nb_ox_in_rank(x, 0);
    int64_t axis = nb_ox_attr_int(x, "axis", 1);
    if (r < 0)
        return nb_ox_fail(x, "input 0 is missing");
    if (axis < 0)
        axis += r;
    if (axis < 0 || axis > r)
        return nb_ox_fail(x, "axis is outside [-%d, %d]", r, r);
    const int64_t *in = nb_ox_in_dims(x, 0);
    int64_t dims[2] = {nb_ox_numel((int)axis, in), nb_ox_numel(r - (int)axis, in + axis)};
    return out_reshaped(x, 2, dims);
}

/* The axes of Squeeze / Unsqueeze: the attribute before opset 13, the input from 13.
 * Their count, 0 when absent, -1 after an error. */
static int axes_of(nb_ox *x, int64_t *axes)
{
    int n = 0;
    if (nb_ox_opset(x) < 13) {
        n = nb_ox_attr_ints(x, "axes", axes, NB_OX_LIST_MAX);
        return n == -1 ? 0 : n;
    }
    if (!nb_ox_has_input(x, 1))
        return 0;
    return nb_ox_in_ints(x, 1, "axes", axes, NB_OX_LIST_MAX, &n) != 0 ? -1 : n;
}

/* Squeeze: drops the listed axes of size 1, or every axis of size 1. */
int nb_ox_squeeze(nb_ox *x)
{
    int64_t axes[NB_OX_LIST_MAX], dims[NB_MAX_RANK];
    int n = axes_of(x, axes), r = nb_ox_in_rank(x, 0), drop[NB_MAX_RANK] = {0}, m = 0;
    if (n < 0 || r < 0)
        return r < 0 ? nb_ox_fail(x, "input 0 is missing") : -1;
    const int64_t *in = nb_ox_in_dims(x, 0);
    if (r == 0 && n > 0)
        return nb_ox_fail(x, "a scalar has no axis to squeeze");
    for (int j = 0; j < n; j++) {
        int a = nb_ox_axis(x, axes[j], r, "axis");
        if (a < 0)
            return -1;
        if (in[a] != 1)
            return nb_ox_fail(x, "axis %d has %lld elements, not 1", a, (long long)in[a]);
        drop[a] = 1;
    }
    for (int d = 0; d < r; d++)
        if (!(n ? drop[d] : in[d] == 1))
            dims[m++] = in[d];
    return out_reshaped(x, m, dims);
}

/* Unsqueeze: inserts axes of size 1 at the listed positions of the result. */
int nb_ox_unsqueeze(nb_ox *x)
{
    int64_t axes[NB_OX_LIST_MAX], dims[NB_MAX_RANK];
    int n = axes_of(x, axes), r = nb_ox_in_rank(x, 0), add[NB_MAX_RANK] = {0};
    if (n < 0 || r < 0)
        return r < 0 ? nb_ox_fail(x, "input 0 is missing") : -1;
    if (n == 0)
        return nb_ox_fail(x, "needs axes");
    if (r + n > NB_MAX_RANK)
        return nb_ox_unsupported(x, "the result's rank %d is above nabla's %d", r + n, NB_MAX_RANK);
    for (int j = 0; j < n; j++) {
        int a = nb_ox_axis(x, axes[j], r + n, "axis");
        if (a < 0)
            return -1;
        if (add[a])
            return nb_ox_fail(x, "axis %d is listed twice", a);
        add[a] = 1;
    }
    const int64_t *in = nb_ox_in_dims(x, 0);
    for (int d = 0, j = 0; d < r + n; d++)
        dims[d] = add[d] ? 1 : in[j++];
    return out_reshaped(x, r + n, dims);
}

/* ---- moves ---- */

/* Transpose: perm, by default the axes reversed. */
int nb_ox_transpose(nb_ox *x)
{
    int64_t p[NB_OX_LIST_MAX];
    int n = nb_ox_attr_ints(x, "perm", p, NB_OX_LIST_MAX), r = nb_ox_in_rank(x, 0);
    int perm[NB_MAX_RANK];
    if (n == -2 || r < 0)
        return r < 0 ? nb_ox_fail(x, "input 0 is missing") : -1;
    if (n >= 0 && n != r)
        return nb_ox_fail(x, "perm lists %d axes of a rank-%d input", n, r);
    int used[NB_MAX_RANK] = {0};
    if (r > NB_MAX_RANK)
        return nb_ox_fail(x, "rank %d", r);
    for (int d = 0; d < r; d++) {
        perm[d] = n < 0 ? r - 1 - d : nb_ox_axis(x, p[d], r, "perm entry");
        if (perm[d] < 0)
            return -1;
        if (used[perm[d]]++)
            return nb_ox_fail(x, "perm lists axis %d twice", perm[d]);
    }
    nb_node *a = nb_ox_in(x, 0);
    if (!a)
        return -1;
    if (r == 0)
        return nb_ox_out_like(x, 0, a, 0);
    return nb_ox_out_like(x, 0, nb_permute(nb_ox_graph(x), a, perm, r), 0);
}

/* Concat: along axis (required); on the host when every input is a known integer value. */
int nb_ox_concat(nb_ox *x)
{
    int n = nb_ox_n_inputs(x), r = nb_ox_in_rank(x, 0), all_known = 1;
    int64_t axis_attr = nb_ox_attr_int(x, "axis", nb_ox_opset(x) < 4 ? 1 : INT64_MAX);
    if (n < 1 || r < 0)
        return nb_ox_fail(x, "needs an input");
    if (axis_attr == INT64_MAX)
        return nb_ox_fail(x, "needs the attribute axis");
    int axis = nb_ox_axis(x, axis_attr, r, "axis");
    if (axis < 0)
        return -1;
    int64_t dims[NB_MAX_RANK];
    memcpy(dims, nb_ox_in_dims(x, 0), (size_t)r * sizeof *dims);
    dims[axis] = 0;
    for (int i = 0; i < n; i++) {
        if (nb_ox_in_rank(x, i) != r || nb_ox_in_type(x, i) != nb_ox_in_type(x, 0))
            return nb_ox_fail(x, "input %d differs from input 0 in rank or type", i);
        for (int d = 0; d < r; d++)
            if (d != axis && nb_ox_in_dims(x, i)[d] != nb_ox_in_dims(x, 0)[d])
                return nb_ox_fail(x, "input %d differs from input 0 on axis %d", i, d);
        dims[axis] += nb_ox_in_dims(x, i)[axis];
        all_known &= nb_ox_in_host(x, i) != NULL;
    }
    if (all_known) {
        nb_ox_const *o = nb_ox_const_new(x, nb_ox_in_type(x, 0), r, dims);
        if (!o)
            return -1;
        int64_t outer = nb_ox_numel(axis, dims), inner = nb_ox_numel(r - axis - 1, dims + axis + 1);
        int64_t at = 0;
        for (int64_t q = 0; q < outer; q++)
            for (int i = 0; i < n; i++) {
                const nb_ox_const *k = nb_ox_in_host(x, i);
                int64_t len = k->dims[axis] * inner;
                for (int64_t j = 0; j < len; j++, at++)
                    if (o->f)
                        o->f[at] = k->f[q * len + j];
                    else
                        o->i[at] = k->i[q * len + j];
            }
        return nb_ox_out_known(x, 0, o);
    }
    nb_node **xs = malloc((size_t)n * sizeof *xs);
    if (!xs)
        return nb_ox_fail(x, "out of memory");
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (nb_ox_in_dims(x, i)[axis] == 0)
            continue; /* an empty input adds nothing */
        if (!(xs[m++] = nb_ox_in(x, i))) {
            free(xs);
            return -1;
        }
    }
    nb_node *y = m ? nb_concat(nb_ox_graph(x), xs, m, axis) : NULL;
    free(xs);
    if (!m)
        return nb_ox_unsupported(x, "the result is empty");
    return nb_ox_out_like(x, 0, y, 0);
}

/* Split: along axis into the listed sizes (the attribute split before opset 13, the
 * input from 13), by default equal parts, one per output. */
int nb_ox_split(nb_ox *x)
{
    int64_t sizes[NB_OX_LIST_MAX], start[NB_MAX_RANK] = {0}, stop[NB_MAX_RANK];
    int r = nb_ox_in_rank(x, 0), n = -1, outs = nb_ox_n_outputs(x);
    int axis = nb_ox_axis(x, nb_ox_attr_int(x, "axis", 0), r < 0 ? 0 : r, "axis");
    if (axis < 0 || r < 1)
        return axis < 0 ? -1 : nb_ox_fail(x, "needs an input of rank >= 1");
    if (nb_ox_opset(x) < 13)
        n = nb_ox_attr_ints(x, "split", sizes, NB_OX_LIST_MAX);
    else if (nb_ox_has_input(x, 1) && nb_ox_in_ints(x, 1, "split", sizes, NB_OX_LIST_MAX, &n))
        return -1;
    if (n == -2)
        return -1;
    const int64_t *in = nb_ox_in_dims(x, 0);
    if (outs < 1 || outs > NB_OX_LIST_MAX)
        return nb_ox_unsupported(x, "%d outputs", outs);
    if (n < 0) {
        if (in[axis] % outs)
            return nb_ox_fail(x, "axis %d (%lld) does not split into %d equal parts", axis,
                              (long long)in[axis], outs);
        for (int i = 0; i < outs; i++)
            sizes[i] = in[axis] / outs;
        n = outs;
    }
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        if (sizes[i] < 0)
            return nb_ox_fail(x, "split[%d] = %lld", i, (long long)sizes[i]);
        total += sizes[i];
    }
    if (n != outs || total != in[axis])
        return nb_ox_fail(x, "the split sizes do not add up to axis %d or match the outputs", axis);
    nb_node *a = nb_ox_in(x, 0);
    if (!a)
        return -1;
    for (int d = 0; d < r; d++)
        stop[d] = in[d];
    for (int i = 0; i < n; i++) {
        if (sizes[i] == 0)
            return nb_ox_unsupported(x, "output %d is empty", i);
        stop[axis] = start[axis] + sizes[i];
        if (nb_ox_has_output(x, i) &&
            nb_ox_out_like(x, i, nb_slice(nb_ox_graph(x), a, start, stop, NULL), 0) != 0)
            return -1;
        start[axis] = stop[axis];
    }
    return 0;
}

/* Slice: starts, ends, axes, steps (attributes before opset 10, inputs from 10), clamped
 * as ONNX does; a negative step is a gather of the picked indices. On the host when the
 * data is known. */
int nb_ox_slice(nb_ox *x)
{
    int64_t st[NB_OX_LIST_MAX], en[NB_OX_LIST_MAX], ax[NB_OX_LIST_MAX], sp[NB_OX_LIST_MAX];
    int ns, ne, na = -1, np = -1, r = nb_ox_in_rank(x, 0);
    if (r < 0)
        return nb_ox_fail(x, "input 0 is missing");
    if (nb_ox_opset(x) < 10) {
        ns = nb_ox_attr_ints(x, "starts", st, NB_OX_LIST_MAX);
        ne = nb_ox_attr_ints(x, "ends", en, NB_OX_LIST_MAX);
        na = nb_ox_attr_ints(x, "axes", ax, NB_OX_LIST_MAX);
        if (ns < 0 || ne < 0 || na == -2)
            return ns == -2 || ne == -2 || na == -2 ? -1 : nb_ox_fail(x, "needs starts and ends");
    } else {
        if (nb_ox_in_ints(x, 1, "starts", st, NB_OX_LIST_MAX, &ns) ||
            nb_ox_in_ints(x, 2, "ends", en, NB_OX_LIST_MAX, &ne))
            return -1;
        if (nb_ox_has_input(x, 3) && nb_ox_in_ints(x, 3, "axes", ax, NB_OX_LIST_MAX, &na))
            return -1;
        if (nb_ox_has_input(x, 4) && nb_ox_in_ints(x, 4, "steps", sp, NB_OX_LIST_MAX, &np))
            return -1;
    }
    if (ne != ns || (na >= 0 && na != ns) || (np >= 0 && np != ns))
        return nb_ox_fail(x, "starts, ends, axes and steps differ in length");
    const int64_t *in = nb_ox_in_dims(x, 0);
    int64_t start[NB_MAX_RANK], step[NB_MAX_RANK], count[NB_MAX_RANK];
    int seen[NB_MAX_RANK] = {0}, reversed = 0;
    for (int d = 0; d < r; d++) {
        start[d] = 0;
        step[d] = 1;
        count[d] = in[d];
    }
    for (int j = 0; j < ns; j++) {
        int a = nb_ox_axis(x, na >= 0 ? ax[j] : j, r, "axis");
        if (a < 0)
            return -1;
        if (seen[a]++)
            return nb_ox_fail(x, "axis %d is listed twice", a);
        int64_t n = in[a], s = st[j], e = en[j], k = np >= 0 ? sp[j] : 1;
        if (k == 0)
            return nb_ox_fail(x, "step 0 on axis %d", a);
        k = k < -n ? -(n ? n : 1) : k > n ? (n ? n : 1) : k; /* same picks, no overflow */
        /* ONNX: negative starts/ends count from the end, then clamp to [0, n] for a
         * positive step and to [-1, n-1] for a negative one. */
        s = s < 0 ? (s < -n ? 0 : s + n) : s;
        e = e < 0 ? (e < -n ? -1 : e + n) : e;
        if (k > 0) {
            s = s > n ? n : s;
            e = e < 0 ? 0 : e > n ? n : e;
            count[a] = e > s ? (e - s - 1) / k + 1 : 0;
        } else {
            s = s > n - 1 ? n - 1 : s;
            e = e > n - 1 ? n - 1 : e;
            count[a] = s > e ? (s - e - 1) / (-k) + 1 : 0;
        }
        start[a] = s;
        step[a] = k;
        reversed |= k < 0;
    }
    int64_t *lists[NB_MAX_RANK] = {0};
    int64_t total = 0;
    for (int d = 0; d < r; d++)
        total += count[d];
    int64_t *buf = malloc((size_t)(total ? total : 1) * sizeof *buf);
    if (!buf)
        return nb_ox_fail(x, "out of memory");
    int64_t *p = buf;
    for (int d = 0; d < r; d++) {
        lists[d] = p;
        for (int64_t i = 0; i < count[d]; i++)
            *p++ = start[d] + i * step[d];
    }
    const nb_ox_const *k = nb_ox_in_host(x, 0);
    int rc = -1;
    if (k) {
        rc = nb_ox_out_known(x, 0, nb_ox_host_pick(x, k, lists, count));
        goto done;
    }
    if (nb_ox_check_dims(x, r, count) != 0)
        goto done;
    nb_node *y = nb_ox_in(x, 0);
    int64_t lo[NB_MAX_RANK], hi[NB_MAX_RANK], by[NB_MAX_RANK];
    for (int d = 0; d < r; d++) {
        int pos = step[d] > 0;
        lo[d] = pos ? start[d] : 0;
        hi[d] = pos ? start[d] + (count[d] - 1) * step[d] + 1 : in[d];
        by[d] = pos ? step[d] : 1;
    }
    if (y)
        y = nb_slice(nb_ox_graph(x), y, lo, hi, by);
    for (int d = 0; reversed && y && d < r; d++) {
        if (step[d] > 0)
            continue;
        nb_node *idx = nb_ox_index_node(x, lists[d], count[d]);
        if (!idx || nb_ox_take(x, y, d, idx, &y) != 0)
            goto done;
    }
    rc = y ? nb_ox_out_like(x, 0, y, 0) : -1;
done:
    free(buf);
    return rc;
}

/* The broadcast of dims a and b (NumPy's rule, both ways as Expand does); -1 when they
 * do not broadcast. */
static int broadcast_dims(int ra, const int64_t *a, int rb, const int64_t *b, int64_t *out)
{
    int r = ra > rb ? ra : rb;
    for (int d = 0; d < r; d++) {
        int64_t da = d < r - ra ? 1 : a[d - (r - ra)], db = d < r - rb ? 1 : b[d - (r - rb)];
        if (da != db && da != 1 && db != 1)
            return -1;
        out[d] = da == 1 ? db : da;
    }
    return r;
}

/* Expand: broadcasts the input and the shape input together. */
int nb_ox_expand(nb_ox *x)
{
    int64_t s[NB_OX_LIST_MAX], dims[NB_OX_LIST_MAX];
    int n, r = nb_ox_in_rank(x, 0);
    if (r < 0 || nb_ox_in_ints(x, 1, "shape", s, NB_OX_LIST_MAX, &n) != 0)
        return r < 0 ? nb_ox_fail(x, "input 0 is missing") : -1;
    int ro = broadcast_dims(r, nb_ox_in_dims(x, 0), n, s, dims);
    if (ro < 0)
        return nb_ox_fail(x, "the input does not broadcast to the shape");
    if (ro > NB_MAX_RANK)
        return nb_ox_unsupported(x, "the result's rank %d is above nabla's %d", ro, NB_MAX_RANK);
    if (nb_ox_check_dims(x, ro, dims) != 0)
        return -1;
    nb_node *a = nb_ox_in(x, 0);
    if (!a)
        return -1;
    return nb_ox_out_like(x, 0, nb_broadcast_to(nb_ox_graph(x), a, ro, dims), 0);
}

/* Tile: each axis repeated: [.., d, ..] viewed as [.., 1, d, ..], broadcast to
 * [.., n, d, ..] and merged. */
int nb_ox_tile(nb_ox *x)
{
    int64_t rep[NB_OX_LIST_MAX];
    int n, r = nb_ox_in_rank(x, 0);
    if (r < 0 || nb_ox_in_ints(x, 1, "repeats", rep, NB_OX_LIST_MAX, &n) != 0)
        return r < 0 ? nb_ox_fail(x, "input 0 is missing") : -1;
    if (n != r)
        return nb_ox_fail(x, "repeats lists %d values for a rank-%d input", n, r);
    nb_graph *g = nb_ox_graph(x);
    nb_node *y = nb_ox_in(x, 0);
    for (int a = 0; y && a < r; a++) {
        if (rep[a] < 0)
            return nb_ox_fail(x, "repeats[%d] = %lld", a, (long long)rep[a]);
        if (rep[a] == 0)
            return nb_ox_unsupported(x, "the result is empty");
        if (rep[a] == 1)
            continue;
        if (rep[a] > NB_OX_ELEMENTS_MAX / nb_ox_numel(r, nb_node_shape(y)))
            return nb_ox_unsupported(x, "the result holds more than 2^40 elements");
        if (r + 1 > NB_MAX_RANK)
            return nb_ox_unsupported(x, "tiling a rank-%d input", r);
        int64_t dims[NB_MAX_RANK];
        const int64_t *cur = nb_node_shape(y);
        for (int d = 0, j = 0; d < r; d++) {
            if (d == a)
                dims[j++] = 1;
            dims[j++] = cur[d];
        }
        y = nb_reshape(g, y, r + 1, dims);
        dims[a] = rep[a];
        y = nb_broadcast_to(g, y, r + 1, dims);
        dims[a + 1] *= rep[a];
        memmove(dims + a, dims + a + 1, (size_t)(r - a) * sizeof *dims);
        y = nb_reshape(g, y, r, dims);
    }
    return y ? nb_ox_out_like(x, 0, y, 0) : -1;
}

/* Reshapes y to rank dims, permutes it by perm, and reshapes to the rank-4 out. */
static nb_node *shuffle(nb_graph *g, nb_node *y, const int64_t *dims, const int *perm,
                        const int64_t *out)
{
    y = nb_reshape(g, y, 6, dims);
    y = nb_permute(g, y, perm, 6);
    return nb_reshape(g, y, 4, out);
}

/* DepthToSpace (modes DCR, the default, and CRD from opset 11) and SpaceToDepth, on
 * [N, C, H, W]: a reshape, a transpose and a reshape, as ONNX defines them. */
int nb_ox_depth_space(nb_ox *x)
{
    int to_space = !strcmp(nb_ox_op_type(x), "DepthToSpace");
    int64_t bs = nb_ox_attr_int(x, "blocksize", 0);
    const char *mode = to_space ? nb_ox_attr_string(x, "mode", "DCR") : "DCR";
    if (nb_ox_in_rank(x, 0) != 4)
        return nb_ox_fail(x, "needs an input of rank 4");
    if (bs < 1 || bs > 4096)
        return nb_ox_fail(x, "blocksize %lld", (long long)bs);
    const int64_t *d = nb_ox_in_dims(x, 0);
    int64_t b = d[0], c = d[1], h = d[2], w = d[3];
    nb_node *a = nb_ox_in(x, 0);
    if (!a)
        return -1;
    nb_graph *g = nb_ox_graph(x);
    if (!to_space) {
        if (h % bs || w % bs)
            return nb_ox_fail(x, "H and W must be multiples of blocksize");
        int64_t dims[6] = {b, c, h / bs, bs, w / bs, bs};
        int64_t out[4] = {b, c * bs * bs, h / bs, w / bs};
        static const int perm[6] = {0, 3, 5, 1, 2, 4};
        return nb_ox_out_like(x, 0, shuffle(g, a, dims, perm, out), 0);
    }
    if (c % (bs * bs))
        return nb_ox_fail(x, "C must be a multiple of blocksize^2");
    int64_t out[4] = {b, c / (bs * bs), h * bs, w * bs};
    if (!strcmp(mode, "DCR")) {
        int64_t dims[6] = {b, bs, bs, c / (bs * bs), h, w};
        static const int perm[6] = {0, 3, 4, 1, 5, 2};
        return nb_ox_out_like(x, 0, shuffle(g, a, dims, perm, out), 0);
    }
    if (!strcmp(mode, "CRD")) {
        int64_t dims[6] = {b, c / (bs * bs), bs, bs, h, w};
        static const int perm[6] = {0, 1, 4, 2, 5, 3};
        return nb_ox_out_like(x, 0, shuffle(g, a, dims, perm, out), 0);
    }
    return nb_ox_unsupported(x, "mode %s", mode);
}

/* Trilu: the lower (upper=0) or upper triangle of the last two axes, from diagonal k
 * (input 1, known); the rest zeros. */
int nb_ox_trilu(nb_ox *x)
{
    int upper = (int)nb_ox_attr_int(x, "upper", 1), r = nb_ox_in_rank(x, 0), n;
    int64_t k = 0;
    if (nb_ox_has_input(x, 1) && nb_ox_in_ints(x, 1, "k", &k, 1, &n) != 0)
        return -1;
    if (r < 2)
        return nb_ox_fail(x, "needs an input of rank >= 2");
    const int64_t *d = nb_ox_in_dims(x, 0);
    int64_t rows = d[r - 2], cols = d[r - 1], dims[2] = {rows, cols};
    if (nb_ox_check_dims(x, r, d) != 0)
        return -1;
    double *m = malloc((size_t)(rows * cols > 0 ? rows * cols : 1) * sizeof *m);
    if (!m)
        return nb_ox_fail(x, "out of memory");
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++)
            m[i * cols + j] = upper ? j - i >= k : j - i <= k;
    nb_graph *g = nb_ox_graph(x);
    nb_node *mask = nb_constant(g, NB_BOOL, 2, dims, m);
    free(m);
    nb_node *a = nb_ox_in(x, 0);
    if (!a || !mask)
        return -1;
    return nb_ox_out_like(x, 0, nb_where(g, mask, a, nb_scalar(g, nb_node_dtype(a), 0)), 0);
}
