/* nb_ox_nn2.c — the importers of ONNX's pooling ops: MaxPool, AveragePool (1-D to 3-D),
 * GlobalAveragePool, GlobalMaxPool, and LRN (a sum pool over the channels). */
#include <math.h>
#include <stdlib.h>

#include "nb_ox_nn.h"

/* One 2-D pool over the last two axes of t ([N, C, H, W]); max or, for avg, the window's
 * sum (divisor 1) when sum, else torch's average with count_include_pad cip. */
static nb_node *pool2d(nb_graph *g, nb_node *t, const int64_t *k, const int64_t *s,
                       const int64_t *d, const int64_t *pad, int is_max, int sum, int cip)
{
    if (is_max)
        return nb_max_pool2d(g, t, k, s, pad, d, 0);
    return nb_avg_pool2d(g, t, k, s, pad, 0, cip, sum ? 1 : 0);
}

/* The number of elements each output of an average pool divides by: its taps inside
 * the input (cip 0) or inside the padded input (cip 1; the taps ceil_mode adds past
 * the end padding never count, as in torch), a constant of the output's spatial shape. */
static nb_node *pool_counts(nb_ox *x, const nb_ox_win *w, int cip, nb_dtype dt)
{
    double numel = 1;
    for (int i = 0; i < w->n; i++)
        numel *= (double)w->out[i];
    if (nb_graph_error(nb_ox_graph(x)))
        return NULL;
    if (numel > (double)INT32_MAX)
        return nb_ox_unsupported(x, "an average pool of %.0f outputs per channel", numel), NULL;
    double *c = malloc((size_t)numel * sizeof *c);
    if (!c)
        return nb_ox_fail(x, "out of memory"), NULL;
    for (int64_t j = 0; j < (int64_t)numel; j++) {
        int64_t rest = j;
        double cnt = 1;
        for (int i = w->n - 1; i >= 0; i--) {
            int64_t o = rest % w->out[i], start = o * w->s[i];
            rest /= w->out[i];
            int64_t lo = cip ? 0 : w->pb[i], hi = w->pb[i] + w->in[i] + (cip ? w->pe[i] : 0);
            /* Taps t in [0, k) with lo <= start + t * d < hi. */
            int64_t t0 = start >= lo ? 0 : (lo - start + w->d[i] - 1) / w->d[i];
            int64_t t1 = start >= hi ? -1 : (hi - 1 - start) / w->d[i];
            if (t1 > w->k[i] - 1)
                t1 = w->k[i] - 1;
            cnt *= (double)(t1 >= t0 ? t1 - t0 + 1 : 0);
        }
        c[j] = cnt;
    }
    nb_node *n = nb_constant(nb_ox_graph(x), dt, w->n, w->out, c);
    free(c);
    return n;
}

/* MaxPool (is_max) and AveragePool. Torch's pool with its padding when ONNX's pads are
 * the same at both ends, at most half the kernel, and ceil_mode adds no window; else the
 * input padded by nb_pad (-inf, or zeros summed and divided by pool_counts) and pooled
 * without padding. 1-D pools run over a height of 1; 3-D ones as one 2-D pool per depth
 * tap (strided slices of the padded depth), combined by maximum or sum. */
static int pool(nb_ox *x, int is_max)
{
    nb_graph *g = nb_ox_graph(x);
    int r = nb_ox_in_rank(x, 0), n = r - 2;
    int64_t ceil_mode = nb_ox_attr_int(x, "ceil_mode", 0);
    int64_t cip = is_max ? 0 : nb_ox_attr_int(x, "count_include_pad", 0);
    if (is_max) {
        int64_t so = nb_ox_attr_int(x, "storage_order", 0);
        if (so != 0 && so != 1)
            return nb_ox_fail(x, "storage_order is %lld; expected 0 or 1", (long long)so);
        /* storage_order only orders the Indices output, which is refused below. */
        if (nb_ox_has_output(x, 1))
            return nb_ox_unsupported(x, "the Indices output is not supported");
    }
    if (r < 3 || r > 5)
        return nb_ox_unsupported(x, "X of rank %d; 1-D to 3-D pools are supported", r);
    nb_ox_win w;
    if (nb_ox_win_read(x, n, nb_ox_in_dims(x, 0) + 2, NULL, is_max, ceil_mode != 0, &w) != 0)
        return -1;
    /* A 3-D pool is a node per depth tap; the output's spatial size is at most the
     * (padded) input's, which the builders bound. */
    if (n == 3 && w.k[0] > 64)
        return nb_ox_unsupported(x, "a 3-D window of depth %lld; at most 64", (long long)w.k[0]);
    /* A window of padding only (ONNX's ceil_mode keeps a last window that starts in the
     * end padding, where torch drops it; pads of a kernel's size) has no value. */
    for (int i = 0; i < n; i++)
        if ((w.out[i] - 1) * w.s[i] >= w.in[i] + w.pb[i] || (w.k[i] - 1) * w.d[i] < w.pb[i])
            return nb_ox_unsupported(x, "a window of spatial axis %d holds only padding", i);
    int native = n <= 2;
    for (int i = 0; i < n; i++)
        native &= w.extra[i] == 0 && w.pb[i] == w.pe[i] && w.pb[i] <= w.k[i] / 2;
    nb_node *in = nb_ox_in(x, 0);
    if (!in)
        return -1;
    nb_dtype dt = nb_node_dtype(in);
    if (!native)
        in = nb_ox_win_pad(x, in, &w, is_max ? -INFINITY : 0.0);
    if (!in)
        return -1;
    const int64_t *xs = nb_node_shape(in);
    int64_t k2[2] = {1, 1}, s2[2] = {1, 1}, d2[2] = {1, 1}, p2[2] = {0, 0};
    for (int i = 0; i < 2 && i < n; i++) {
        int j = n == 1 ? 1 : i, a = n == 3 ? i + 1 : i;
        k2[j] = w.k[a];
        s2[j] = w.s[a];
        d2[j] = w.d[a];
        p2[j] = native ? w.pb[a] : 0;
    }
    nb_node *y;
    if (n == 1) {
        int64_t s4[4] = {xs[0], xs[1], 1, xs[2]};
        y = pool2d(g, nb_reshape(g, in, 4, s4), k2, s2, d2, p2, is_max, !native, (int)cip);
    } else if (n == 2) {
        y = pool2d(g, in, k2, s2, d2, p2, is_max, !native, (int)cip);
    } else {
        y = NULL;
        for (int64_t t = 0; t < w.k[0]; t++) {
            int64_t start[5] = {0, 0, t * w.d[0], 0, 0}, step[5] = {1, 1, w.s[0], 1, 1}, stop[5];
            for (int i = 0; i < 5; i++)
                stop[i] = xs[i];
            stop[2] = start[2] + (w.out[0] - 1) * w.s[0] + 1;
            int64_t s4[4] = {xs[0], xs[1] * w.out[0], xs[3], xs[4]};
            nb_node *v = nb_reshape(g, nb_slice(g, in, start, stop, step), 4, s4);
            v = pool2d(g, v, k2, s2, d2, p2, is_max, 1, 0);
            y = !y ? v : is_max ? nb_maximum(g, y, v) : nb_add(g, y, v);
        }
    }
    int64_t ys[5] = {nb_ox_in_dims(x, 0)[0], nb_ox_in_dims(x, 0)[1]};
    for (int i = 0; i < n; i++)
        ys[2 + i] = w.out[i];
    y = nb_reshape(g, y, r, ys); /* fails when nabla's sizes are not ONNX's */
    if (!native && !is_max)
        y = nb_div(g, y, pool_counts(x, &w, (int)cip, dt));
    return nb_ox_out(x, 0, y);
}

int nb_ox_max_pool(nb_ox *x)
{
    return pool(x, 1);
}

int nb_ox_average_pool(nb_ox *x)
{
    return pool(x, 0);
}

/* GlobalAveragePool / GlobalMaxPool: the mean / max over every spatial axis, kept. */
int nb_ox_global_pool(nb_ox *x)
{
    int r = nb_ox_in_rank(x, 0), axes[NB_MAX_RANK];
    if (r < 3)
        return nb_ox_fail(x, "X of rank %d has no spatial axis", r);
    for (int i = 2; i < r; i++)
        axes[i - 2] = i;
    nb_node *in = nb_ox_in(x, 0);
    if (!in)
        return -1;
    int is_max = nb_ox_op_type(x)[6] == 'M'; /* "GlobalMaxPool" */
    return nb_ox_out(x, 0, (is_max ? nb_max : nb_mean)(nb_ox_graph(x), in, axes, r - 2, 1));
}

/* LRN: x / (bias + alpha / size * sum of x^2 over the channels c - floor((size-1)/2) to
 * c + ceil((size-1)/2))^beta, the sum a pool of height size over [N, 1, C, rest] padded
 * with zeros. */
int nb_ox_lrn(nb_ox *x)
{
    nb_graph *g = nb_ox_graph(x);
    double alpha = nb_ox_attr_float(x, "alpha", 1e-4), beta = nb_ox_attr_float(x, "beta", 0.75);
    double bias = nb_ox_attr_float(x, "bias", 1.0);
    int64_t size = nb_ox_attr_int(x, "size", 0);
    int r = nb_ox_in_rank(x, 0);
    if (size < 1 || size > INT32_MAX)
        return nb_ox_fail(x, "attribute size is %lld; expected a positive size", (long long)size);
    if (r < 2)
        return nb_ox_fail(x, "X of rank %d; expected [N, C, ...]", r);
    const int64_t *xd = nb_ox_in_dims(x, 0);
    int64_t rest = 1;
    for (int i = 2; i < r; i++)
        rest *= xd[i];
    nb_node *in = nb_ox_in(x, 0);
    if (!in)
        return -1;
    nb_dtype dt = nb_node_dtype(in);
    int64_t s4[4] = {xd[0], 1, xd[1], rest}, pads[4] = {0, 0, (size - 1) / 2, size / 2};
    int64_t k[2] = {size, 1}, one[2] = {1, 1};
    nb_node *sq = nb_pad(g, nb_reshape(g, nb_square(g, in), 4, s4), 4, pads, NB_PAD_CONSTANT, 0);
    nb_node *sum = nb_reshape(g, nb_avg_pool2d(g, sq, k, one, NULL, 0, 1, 1), r, xd);
    nb_node *den =
        nb_add(g, nb_mul(g, sum, nb_scalar(g, dt, alpha / (double)size)), nb_scalar(g, dt, bias));
    return nb_ox_out(x, 0, nb_div(g, in, nb_pow(g, den, nb_scalar(g, dt, beta))));
}
