/* nb_ox_nn.c — the importers of ONNX's layer ops with weights: MatMul, Gemm, Conv and
 * ConvTranspose, and the window geometry (nb_ox_nn.h) they share with the pools. */
#include <stdio.h>
#include <string.h>

#include "nb_ox_nn.h"

/* ---- window geometry ---- */

/* Python's floor division (ONNX's reference pads use it: a negative total padding of
 * ConvTranspose's output_shape grows the end). */
static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* A list attribute of n positive (or, min 0, non-negative) values, or def when absent. */
static int win_list(nb_ox *x, const char *name, int n, int64_t def, int64_t min, int64_t *out)
{
    int64_t v[NB_OX_LIST_MAX];
    int m = nb_ox_attr_ints(x, name, v, NB_OX_LIST_MAX);
    if (m == -2)
        return -1;
    for (int i = 0; i < n; i++)
        out[i] = def;
    if (m < 0)
        return 0;
    if (m != n)
        return nb_ox_fail(x, "attribute %s has %d values; expected %d (one per spatial axis)", name,
                          m, n);
    for (int i = 0; i < n; i++) {
        if (v[i] < min || v[i] > INT32_MAX)
            return nb_ox_fail(x, "attribute %s[%d] is %lld; expected %lld to %d", name, i,
                              (long long)v[i], (long long)min, INT32_MAX);
        out[i] = v[i];
    }
    return 0;
}

int nb_ox_win_read(nb_ox *x, int n, const int64_t *in, const int64_t *kernel, int use_dilations,
                   int ceil_mode, nb_ox_win *w)
{
    memset(w, 0, sizeof *w);
    if (n < 1 || n > NB_OX_WIN_MAX)
        return nb_ox_unsupported(x, "%d spatial axes; 1 to %d are supported", n, NB_OX_WIN_MAX);
    w->n = n;
    int64_t ks[NB_OX_WIN_MAX], pads[2 * NB_OX_WIN_MAX];
    if (win_list(x, "kernel_shape", n, 0, 1, ks) != 0 ||
        win_list(x, "strides", n, 1, 1, w->s) != 0 ||
        (use_dilations && win_list(x, "dilations", n, 1, 1, w->d) != 0) ||
        win_list(x, "pads", 2 * n, 0, 0, pads) != 0)
        return -1;
    if (!use_dilations)
        for (int i = 0; i < n; i++)
            w->d[i] = 1;
    char ap[32];
    snprintf(ap, sizeof ap, "%s", nb_ox_attr_string(x, "auto_pad", "NOTSET"));
    int same = !strcmp(ap, "SAME_UPPER") ? 1 : !strcmp(ap, "SAME_LOWER") ? 2 : 0;
    if (!same && strcmp(ap, "NOTSET") && strcmp(ap, "VALID"))
        return nb_ox_fail(x,
                          "attribute auto_pad is '%.40s'; expected NOTSET, SAME_UPPER, "
                          "SAME_LOWER or VALID",
                          ap);
    for (int i = 0; i < n; i++) {
        if (kernel && ks[i] && ks[i] != kernel[i])
            return nb_ox_fail(x, "kernel_shape[%d] is %lld but the weight has %lld", i,
                              (long long)ks[i], (long long)kernel[i]);
        w->k[i] = kernel ? kernel[i] : ks[i];
        if (w->k[i] < 1 || w->k[i] > INT32_MAX)
            return nb_ox_fail(x, "kernel_shape is %s", kernel ? "out of range" : "required");
        w->in[i] = in[i];
        int64_t eff = (w->k[i] - 1) * w->d[i] + 1;
        if (strcmp(ap, "NOTSET")) {
            if (pads[i] || pads[n + i])
                return nb_ox_fail(x, "attribute pads is given with auto_pad %s", ap);
        } else {
            w->pb[i] = pads[i];
            w->pe[i] = pads[n + i];
        }
        if (same) {
            w->out[i] = (in[i] + w->s[i] - 1) / w->s[i];
            int64_t total = (w->out[i] - 1) * w->s[i] + eff - in[i];
            if (total < 0)
                total = 0;
            w->pb[i] = same == 1 ? total / 2 : total - total / 2;
            w->pe[i] = total - w->pb[i];
            continue;
        }
        if (ceil_mode < 0)
            continue;
        int64_t room = in[i] + w->pb[i] + w->pe[i] - eff;
        if (room < 0)
            return nb_ox_fail(x,
                              "spatial axis %d of %lld with pads %lld, %lld is smaller than "
                              "the window (%lld)",
                              i, (long long)in[i], (long long)w->pb[i], (long long)w->pe[i],
                              (long long)eff);
        w->out[i] = (room + (ceil_mode ? w->s[i] - 1 : 0)) / w->s[i] + 1;
        w->extra[i] = (w->out[i] - 1) * w->s[i] + eff - (in[i] + w->pb[i] + w->pe[i]);
    }
    return 0;
}

nb_node *nb_ox_win_pad(nb_ox *x, nb_node *in, const nb_ox_win *w, double value)
{
    int64_t pads[2 * NB_OX_WIN_MAX];
    int any = 0;
    for (int i = 0; i < w->n; i++) {
        pads[2 * i] = w->pb[w->n - 1 - i];
        pads[2 * i + 1] = w->pe[w->n - 1 - i] + w->extra[w->n - 1 - i];
        any |= pads[2 * i] != 0 || pads[2 * i + 1] != 0;
    }
    return any ? nb_pad(nb_ox_graph(x), in, 2 * w->n, pads, NB_PAD_CONSTANT, value) : in;
}

/* ---- MatMul and Gemm ---- */

/* MatMul: numpy.matmul, nabla's nb_matmul (1-D operands and batch broadcasting). */
int nb_ox_matmul(nb_ox *x)
{
    nb_node *a = nb_ox_in(x, 0), *b = a ? nb_ox_in(x, 1) : NULL;
    if (!b)
        return -1;
    return nb_ox_out(x, 0, nb_matmul(nb_ox_graph(x), a, b));
}

/* Gemm: alpha * A' @ B' + beta * C, A' and B' transposed by transA / transB; C (optional
 * from opset 11) broadcasts unidirectionally, as opset 6 does when broadcast = 1 (with
 * broadcast = 0 it must have the result's shape). */
int nb_ox_gemm(nb_ox *x)
{
    nb_graph *g = nb_ox_graph(x);
    double alpha = nb_ox_attr_float(x, "alpha", 1.0), beta = nb_ox_attr_float(x, "beta", 1.0);
    int64_t ta = nb_ox_attr_int(x, "transA", 0), tb = nb_ox_attr_int(x, "transB", 0);
    int64_t bc = nb_ox_opset(x) < 7 ? nb_ox_attr_int(x, "broadcast", 0) : 1;
    if (nb_ox_in_rank(x, 0) != 2 || nb_ox_in_rank(x, 1) != 2)
        return nb_ox_fail(x, "A and B must be matrices (ranks %d and %d)", nb_ox_in_rank(x, 0),
                          nb_ox_in_rank(x, 1));
    nb_node *a = nb_ox_in(x, 0), *b = a ? nb_ox_in(x, 1) : NULL;
    if (!b)
        return -1;
    if (ta)
        a = nb_transpose(g, a);
    if (tb)
        b = nb_transpose(g, b);
    nb_node *y = nb_matmul(g, a, b);
    if (!y)
        return -1;
    nb_dtype dt = nb_node_dtype(y);
    if (alpha != 1.0)
        y = nb_mul(g, y, nb_scalar(g, dt, alpha));
    if (nb_ox_has_input(x, 2) && beta != 0.0) {
        if (!bc && (nb_ox_in_rank(x, 2) != 2 ||
                    memcmp(nb_ox_in_dims(x, 2), nb_node_shape(y), 2 * sizeof(int64_t))))
            return nb_ox_fail(x, "C must have the result's shape when broadcast is 0");
        if (nb_ox_in_rank(x, 2) > 2)
            return nb_ox_fail(x, "C has rank %d; at most 2", nb_ox_in_rank(x, 2));
        nb_node *c = nb_ox_in(x, 2);
        if (!c)
            return -1;
        if (beta != 1.0)
            c = nb_mul(g, c, nb_scalar(g, dt, beta));
        y = nb_add(g, y, c);
    } else if (nb_ox_has_input(x, 2) && nb_ox_in_rank(x, 2) > 2) {
        return nb_ox_fail(x, "C has rank %d; at most 2", nb_ox_in_rank(x, 2));
    }
    return nb_ox_out(x, 0, y);
}

/* ---- Conv ---- */

/* The knobs of nb_conv2d for window axes a0, a1 of w (a1 < 0: a 1-D conv), padding the
 * symmetric pads (asymmetric ones are added by nb_ox_win_pad beforehand). */
static nb_conv_options conv_opts(const nb_ox_win *w, int a0, int a1, int64_t group, int sym)
{
    nb_conv_options o;
    memset(&o, 0, sizeof o);
    int ax[2] = {a0, a1};
    for (int j = 0; j < 2 && ax[j] >= 0; j++) {
        o.stride[j] = w->s[ax[j]];
        o.dilation[j] = w->d[ax[j]];
        o.padding[j] = sym ? w->pb[ax[j]] : 0;
    }
    o.groups = (int)group;
    return o;
}

/* Conv over [N, C, D, H, W]: for each depth tap kd, the depths it reads for the output
 * depths (a strided slice) become channels: [N, OD, C * KD, H, W] as a batch of N * OD
 * 2-D convs with the weight [OC, C/g * KD, KH, KW], since channel c * KD + kd of a
 * group meets weight [oc, c, kd]. x is padded in depth (and, sym 0, everywhere)
 * already. */
static nb_node *conv3d(nb_ox *x, nb_node *in, nb_node *wt, nb_node *bias, const nb_ox_win *w,
                       int64_t group, int sym)
{
    nb_graph *g = nb_ox_graph(x);
    const int64_t *xs = nb_node_shape(in), *ws = nb_node_shape(wt);
    int64_t n = xs[0], c = xs[1], od = w->out[0], kd = w->k[0];
    nb_node *taps[64];
    if (kd > 64)
        return nb_ox_unsupported(x, "a 3-D kernel of depth %lld; at most 64", (long long)kd), NULL;
    for (int64_t t = 0; t < kd; t++) {
        int64_t start[5] = {0, 0, t * w->d[0], 0, 0}, stop[5], step[5] = {1, 1, w->s[0], 1, 1};
        for (int i = 0; i < 5; i++)
            stop[i] = xs[i];
        stop[2] = start[2] + (od - 1) * w->s[0] + 1;
        int64_t shape[6] = {n, c, 1, od, xs[3], xs[4]};
        taps[t] = nb_reshape(g, nb_slice(g, in, start, stop, step), 6, shape);
    }
    nb_node *cat = kd > 1 ? nb_concat(g, taps, (int)kd, 2) : taps[0];
    int perm[6] = {0, 3, 1, 2, 4, 5};
    int64_t s4[4] = {n * od, c * kd, xs[3], xs[4]};
    nb_node *x4 = nb_reshape(g, nb_permute(g, cat, perm, 6), 4, s4);
    int64_t w4[4] = {ws[0], ws[1] * kd, ws[3], ws[4]};
    nb_conv_options o = conv_opts(w, 1, 2, group, sym);
    nb_node *y = nb_conv2d(g, x4, nb_reshape(g, wt, 4, w4), bias, &o);
    if (!y)
        return NULL;
    int64_t s5[5] = {n, od, ws[0], nb_node_shape(y)[2], nb_node_shape(y)[3]};
    int perm5[5] = {0, 2, 1, 3, 4};
    return nb_permute(g, nb_reshape(g, y, 5, s5), perm5, 5);
}

/* Conv: 1-D and 2-D by nb_conv1d / nb_conv2d, 3-D as a batch of 2-D convs (conv3d);
 * pads that differ at the two ends of an axis are added by nb_pad beforehand. */
int nb_ox_conv(nb_ox *x)
{
    nb_graph *g = nb_ox_graph(x);
    int r = nb_ox_in_rank(x, 0), n = r - 2;
    int64_t group = nb_ox_attr_int(x, "group", 1);
    if (r < 3 || r > 5 || nb_ox_in_rank(x, 1) != r)
        return nb_ox_unsupported(x,
                                 "X of rank %d and W of rank %d; 1-D to 3-D convs are "
                                 "supported",
                                 r, nb_ox_in_rank(x, 1));
    if (group < 1 || group > INT32_MAX)
        return nb_ox_fail(x, "group is %lld", (long long)group);
    const int64_t *xd = nb_ox_in_dims(x, 0), *wd = nb_ox_in_dims(x, 1);
    nb_ox_win w;
    if (nb_ox_win_read(x, n, xd + 2, wd + 2, 1, 0, &w) != 0)
        return -1;
    nb_node *in = nb_ox_in(x, 0), *wt = in ? nb_ox_in(x, 1) : NULL, *bias = NULL;
    if (!wt || (nb_ox_has_input(x, 2) && !(bias = nb_ox_in(x, 2))))
        return -1;
    int sym = 1;
    for (int i = 0; i < n; i++)
        sym &= w.pb[i] == w.pe[i];
    if (!sym) {
        in = nb_ox_win_pad(x, in, &w, 0.0);
    } else if (n == 3 && w.pb[0]) {
        int64_t p[6] = {0, 0, 0, 0, w.pb[0], w.pe[0]};
        in = nb_pad(g, in, 6, p, NB_PAD_CONSTANT, 0.0);
    }
    nb_node *y;
    if (n == 3) {
        y = in ? conv3d(x, in, wt, bias, &w, group, sym) : NULL;
    } else {
        nb_conv_options o = conv_opts(&w, 0, n == 2 ? 1 : -1, group, sym);
        y = (n == 1 ? nb_conv1d : nb_conv2d)(g, in, wt, bias, &o);
    }
    for (int i = 0; y && i < n; i++)
        if (nb_node_shape(y)[2 + i] != w.out[i])
            return nb_ox_fail(x, "spatial axis %d: nabla computes %lld outputs, ONNX %lld", i,
                              (long long)nb_node_shape(y)[2 + i], (long long)w.out[i]);
    return nb_ox_out(x, 0, y);
}

/* ---- ConvTranspose ---- */

/* The full (unpadded) 3-D transposed conv: the input's depths as a batch, one 2-D
 * transposed conv per depth tap kd of the weight; each result's depth d lands at d *
 * stride + kd * dilation (zeros between, by padding a size-1 axis), and the taps add up.
 * [N, C, D, H, W] -> [N, OC, (D-1)*s + (KD-1)*dil + 1, FH, FW]. */
static nb_node *conv_transpose3d(nb_ox *x, nb_node *in, nb_node *wt, const nb_ox_win *w,
                                 int64_t group)
{
    nb_graph *g = nb_ox_graph(x);
    const int64_t *xs = nb_node_shape(in), *ws = nb_node_shape(wt);
    int64_t n = xs[0], c = xs[1], dd = xs[2], kd = w->k[0], s = w->s[0], dl = w->d[0];
    int64_t fd = (dd - 1) * s + (kd - 1) * dl + 1;
    if (kd > 64)
        return nb_ox_unsupported(x, "a 3-D kernel of depth %lld; at most 64", (long long)kd), NULL;
    int p5[5] = {0, 2, 1, 3, 4};
    int64_t x4s[4] = {n * dd, c, xs[3], xs[4]};
    nb_node *x4 = nb_reshape(g, nb_permute(g, in, p5, 5), 4, x4s), *sum = NULL;
    nb_conv_options o;
    memset(&o, 0, sizeof o);
    o.groups = (int)group;
    for (int j = 0; j < 2; j++) {
        o.stride[j] = w->s[j + 1];
        o.dilation[j] = w->d[j + 1];
    }
    for (int64_t t = 0; t < kd; t++) {
        int64_t start[5] = {0, 0, t, 0, 0}, stop[5] = {ws[0], ws[1], t + 1, ws[3], ws[4]};
        int64_t w4s[4] = {ws[0], ws[1], ws[3], ws[4]};
        nb_node *y = nb_conv_transpose2d(
            g, x4, nb_reshape(g, nb_slice(g, wt, start, stop, NULL), 4, w4s), NULL, &o);
        if (!y)
            return NULL;
        const int64_t *ys = nb_node_shape(y);
        int64_t oc = ys[1], fh = ys[2], fw = ys[3];
        int64_t s4[4] = {n, dd, 1, oc * fh * fw}, gap[4] = {0, 0, 0, s - 1};
        y = nb_reshape(g, y, 4, s4);
        if (s > 1)
            y = nb_pad(g, y, 4, gap, NB_PAD_CONSTANT, 0.0); /* [N, D, s, rest] */
        /* Depth d at d * s, then shifted by the tap: pads before and after (a negative
         * after-pad cuts the gap behind the last depth). */
        int64_t s3[3] = {n, dd * s, oc * fh * fw};
        int64_t shift[4] = {0, 0, t * dl, fd - dd * s - t * dl};
        y = nb_pad(g, nb_reshape(g, y, 3, s3), 4, shift, NB_PAD_CONSTANT, 0.0);
        sum = sum ? nb_add(g, sum, y) : y;
        if (t == kd - 1) {
            int64_t s5[5] = {n, fd, oc, fh, fw};
            return nb_permute(g, nb_reshape(g, sum, 5, s5), p5, 5);
        }
    }
    return NULL;
}

/* ConvTranspose, 1-D (as 2-D over a height of 1), 2-D, and 3-D (conv_transpose3d, with
 * ONNX's pads applied after): nb_conv_transpose2d with torch's
 * symmetric padding when it fits, else the full result (no padding) cut or extended by
 * nb_pad to ONNX's pads, output_padding and output_shape, and the bias added. */
int nb_ox_conv_transpose(nb_ox *x)
{
    nb_graph *g = nb_ox_graph(x);
    int r = nb_ox_in_rank(x, 0), n = r - 2;
    int64_t group = nb_ox_attr_int(x, "group", 1), op[3] = {0, 0, 0}, os[NB_OX_LIST_MAX];
    if (r < 3 || r > 5 || nb_ox_in_rank(x, 1) != r)
        return nb_ox_unsupported(x,
                                 "X of rank %d and W of rank %d; 1-D to 3-D transposed "
                                 "convs are supported",
                                 r, nb_ox_in_rank(x, 1));
    if (group < 1 || group > INT32_MAX)
        return nb_ox_fail(x, "group is %lld", (long long)group);
    if (win_list(x, "output_padding", n, 0, 0, op) != 0)
        return -1;
    int nos = nb_ox_attr_ints(x, "output_shape", os, NB_OX_LIST_MAX);
    if (nos == -2)
        return -1;
    if (nos >= 0 && nos != n && nos != n + 2)
        return nb_ox_fail(x, "output_shape has %d values; expected %d", nos, n);
    const int64_t *xd = nb_ox_in_dims(x, 0), *wd = nb_ox_in_dims(x, 1);
    char ap[32];
    snprintf(ap, sizeof ap, "%s", nb_ox_attr_string(x, "auto_pad", "NOTSET"));
    /* The window reader checks the attributes; its pads for auto_pad SAME are a conv's,
     * recomputed below for the transposed one. */
    nb_ox_win w;
    if (nb_ox_win_read(x, n, xd + 2, wd + 2, 1, -1, &w) != 0)
        return -1;
    if (nb_ox_has_input(x, 2) && nb_ox_in_rank(x, 2) != 1)
        return nb_ox_fail(x, "B has rank %d; expected 1", nb_ox_in_rank(x, 2));
    int64_t pb[3], pe[3], full[3];
    for (int i = 0; i < n; i++) {
        int64_t eff = (w.k[i] - 1) * w.d[i] + 1;
        full[i] = w.s[i] * (w.in[i] - 1) + eff;
        int64_t want = nos >= 0 ? os[nos - n + i] : !strncmp(ap, "SAME", 4) ? w.in[i] * w.s[i] : -1;
        if (op[i] >= w.s[i] && op[i] >= w.d[i])
            return nb_ox_fail(x,
                              "output_padding[%d] is %lld; expected less than the stride "
                              "or the dilation",
                              i, (long long)op[i]);
        if (want >= 0) {
            int64_t total = full[i] + op[i] - want;
            pb[i] = !strcmp(ap, "SAME_UPPER") ? floor_div(total, 2) : total - floor_div(total, 2);
            pe[i] = total - pb[i];
        } else {
            pb[i] = w.pb[i];
            pe[i] = w.pe[i];
        }
        if (full[i] + op[i] - pb[i] - pe[i] < 1)
            return nb_ox_fail(x, "the output of spatial axis %d would be empty", i);
    }
    nb_node *in = nb_ox_in(x, 0), *wt = in ? nb_ox_in(x, 1) : NULL, *bias = NULL;
    if (!wt || (nb_ox_has_input(x, 2) && !(bias = nb_ox_in(x, 2))))
        return -1;
    if (n == 1) {
        int64_t s4[4] = {xd[0], xd[1], 1, xd[2]}, w4[4] = {wd[0], wd[1], 1, wd[2]};
        in = nb_reshape(g, in, 4, s4);
        wt = nb_reshape(g, wt, 4, w4);
    }
    /* torch's padding: the same at both ends; output_padding below the stride or the
     * dilation and at most padding + stride - 1. */
    int native = n < 3;
    for (int i = 0; i < n; i++)
        native &= pb[i] == pe[i] && pb[i] >= 0 && op[i] <= pb[i] + w.s[i] - 1;
    nb_conv_options o;
    memset(&o, 0, sizeof o);
    o.groups = (int)group;
    for (int i = 0; i < n && n < 3; i++) {
        int j = n == 1 ? 1 : i;
        o.stride[j] = w.s[i];
        o.dilation[j] = w.d[i];
        o.padding[j] = native ? pb[i] : 0;
        o.output_padding[j] = native ? op[i] : 0;
    }
    nb_node *y = n == 3 ? conv_transpose3d(x, in, wt, &w, group)
                        : nb_conv_transpose2d(g, in, wt, native ? bias : NULL, &o);
    if (!y)
        return -1;
    if (!native) {
        /* The full result's positions [pb, full + op - pe) (zeros outside it). */
        int64_t pads[6] = {0, 0, 0, 0, 0, 0};
        for (int i = 0; i < n; i++) {
            pads[2 * (n - 1 - i)] = -pb[i];
            pads[2 * (n - 1 - i) + 1] = op[i] - pe[i];
        }
        y = nb_pad(g, y, 2 * n, pads, NB_PAD_CONSTANT, 0.0);
        if (bias) {
            int64_t bs[4] = {nb_node_shape(bias)[0], 1, 1, 1};
            y = nb_add(g, y, nb_reshape(g, bias, n == 3 ? 4 : 3, bs));
        }
    }
    if (!y)
        return -1;
    if (n == 1) {
        const int64_t *ys = nb_node_shape(y);
        int64_t s3[3] = {ys[0], ys[1], ys[3]};
        y = nb_reshape(g, y, 3, s3);
    }
    return nb_ox_out(x, 0, y);
}
