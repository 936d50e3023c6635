/* nb_conv.c — builders of convolutions (conv2d, conv1d, conv_transpose2d): im2col or
 * col2im (ir/ops_conv.def) around a matmul, so that the gemm does the arithmetic and the
 * gradients come from the composition. */
#include <stdio.h>

#include "ir.h"

/* Characters of the "conv2d: x f32[..], weight f32[..]" prefix of the messages. */
#define CONV_WHAT_MAX (32 + 3 * IR_TYPE_STR_MAX)

/* A convolution's window, its options resolved: what im2col or col2im reads. */
typedef struct conv_window {
    int64_t kernel[2], stride[2], dilation[2], lo[2], hi[2], out_pad[2];
    int64_t groups;
} conv_window;

/* What a builder checks its arguments against: the op's name, the message prefix and
 * how many spatial axes the user sees (1: conv1d). */
typedef struct conv_call {
    nb_graph *g;
    const char *op;
    char what[CONV_WHAT_MAX];
    int axes;
} conv_call;

static int conv_error(conv_call *cc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int conv_error(conv_call *cc, const char *fmt, ...)
{
    char msg[CONV_WHAT_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ir_error(cc->g, "%s: %s", cc->what, msg);
}

/* 0 when x (operand `name`) can be read: not NULL, of g; else records why. */
static int check_node(nb_graph *g, const char *op, const char *name, const nb_node *x)
{
    if (!x)
        return ir_error(g, "%s: %s is NULL", op, name);
    if (x->graph != g)
        return ir_error(g, "%s: %s (node %d) belongs to another graph", op, name, x->id);
    return 0;
}

/* Checks the operands (x and weight of rank `rank`, one float dtype; bias NULL or [oc])
 * and writes the message prefix. 0 or -1 (recorded). */
static int check_operands(conv_call *cc, const nb_node *x, const nb_node *w, const nb_node *b,
                          int rank)
{
    nb_graph *g = cc->g;
    char tx[IR_TYPE_STR_MAX], tw[IR_TYPE_STR_MAX], tb[IR_TYPE_STR_MAX];
    if (!g || g->error)
        return -1;
    if (check_node(g, cc->op, "x", x) != 0 || check_node(g, cc->op, "weight", w) != 0 ||
        (b && check_node(g, cc->op, "bias", b) != 0))
        return -1;
    snprintf(cc->what, sizeof cc->what, "%s: x %s, weight %s%s%s", cc->op,
             ir_type_str(x, tx, sizeof tx), ir_type_str(w, tw, sizeof tw), b ? ", bias " : "",
             b ? ir_type_str(b, tb, sizeof tb) : "");
    if (!ir_is_float(x->dtype) || w->dtype != x->dtype || (b && b->dtype != x->dtype))
        return conv_error(cc, "expected operands of one float dtype");
    if (x->rank != rank || w->rank != rank)
        return conv_error(cc, "expected x and weight of rank %d", rank);
    return 0;
}

/* Resolves o (NULL or zero fields: torch's defaults) for a kernel of kernel[0..axes)
 * (the user's spatial axes) into win, axis for axis; conv1d's one axis is win's axis 1
 * (width) over a height of 1. `transpose`: output_padding is read, padding_same is not. */
static int resolve(conv_call *cc, const nb_conv_options *o, const int64_t *kernel, int transpose,
                   conv_window *win)
{
    static const nb_conv_options defaults = {{0, 0}, {0, 0}, {0, 0}, 0, 0, {0, 0}};
    if (!o)
        o = &defaults;
    int off = 2 - cc->axes; /* the user's axis d is win's axis d + off */
    for (int d = 0; d < 2; d++) {
        win->kernel[d] = 1;
        win->stride[d] = win->dilation[d] = 1;
        win->lo[d] = win->hi[d] = win->out_pad[d] = 0;
    }
    if (o->groups < 0)
        return conv_error(cc, "groups is %d; expected >= 1 (0 means 1)", o->groups);
    win->groups = o->groups ? o->groups : 1;
    if (o->padding_same && transpose)
        return conv_error(cc, "padding_same is not accepted (torch has no \"same\" here)");
    for (int d = 0; d < 2; d++) {
        int64_t s = o->stride[d], p = o->padding[d], dl = o->dilation[d], op = o->output_padding[d];
        if (d >= cc->axes) {
            if (s || p || dl || op)
                return conv_error(cc, "the options' index 1 is set; %s reads index 0 only", cc->op);
            continue;
        }
        if (s < 0 || s > INT32_MAX || p < 0 || p > INT32_MAX || dl < 0 || dl > INT32_MAX ||
            op < 0 || op > INT32_MAX)
            return conv_error(cc,
                              "axis %d: stride %lld, padding %lld, dilation %lld, output_padding "
                              "%lld; expected 0 to %d each",
                              d, (long long)s, (long long)p, (long long)dl, (long long)op,
                              INT32_MAX);
        if (op && !transpose)
            return conv_error(cc, "output_padding is for conv_transpose2d only");
        int e = d + off;
        win->kernel[e] = kernel[d];
        win->stride[e] = s ? s : 1;
        win->dilation[e] = dl ? dl : 1;
        win->lo[e] = win->hi[e] = p;
        win->out_pad[e] = op;
        if (o->padding_same) {
            if (p)
                return conv_error(cc, "padding_same with padding %lld on axis %d; expected 0",
                                  (long long)p, d);
            if (win->stride[e] != 1)
                return conv_error(cc, "padding_same needs stride 1, got %lld on axis %d",
                                  (long long)win->stride[e], d);
            /* torch: dilation*(k-1) zeros, the odd one after (bottom, right). */
            int64_t total = win->dilation[e] * (kernel[d] - 1);
            win->lo[e] = total / 2;
            win->hi[e] = total - total / 2;
        }
    }
    return 0;
}

/* The ir_attr of im2col/col2im for win. */
static ir_attr window_attr(const conv_window *win)
{
    ir_attr a = {0};
    for (int d = 0; d < 2; d++) {
        a.window.kernel[d] = win->kernel[d];
        a.window.stride[d] = win->stride[d];
        a.window.dilation[d] = win->dilation[d];
        a.window.pad_lo[d] = win->lo[d];
        a.window.pad_hi[d] = win->hi[d];
    }
    return a;
}

/* y + bias[oc] over y [N, OC, OH, OW]. */
static nb_node *add_bias(nb_graph *g, nb_node *y, nb_node *bias)
{
    if (!bias)
        return y;
    int64_t shape[3] = {bias->shape[0], 1, 1};
    return nb_add(g, y, nb_reshape(g, bias, 3, shape));
}

/* conv2d over x [N, C, H, W], w [OC, C/G, kh, kw] (rank 4 both, checked), the window
 * still to check against x. */
static nb_node *conv_forward(conv_call *cc, nb_node *x, nb_node *w, nb_node *bias,
                             const nb_conv_options *o)
{
    nb_graph *g = cc->g;
    conv_window win;
    int64_t n = x->shape[0], c = x->shape[1], oc = w->shape[0], cg = w->shape[1];
    int64_t k[2] = {w->shape[2], w->shape[3]}, out[2];
    if (resolve(cc, o, k + 2 - cc->axes, 0, &win) != 0)
        return NULL;
    int64_t groups = win.groups;
    if (c % groups != 0 || oc % groups != 0)
        return conv_error(cc,
                          "%lld input channels and %lld output channels in %lld groups; both "
                          "must be multiples of groups",
                          (long long)c, (long long)oc, (long long)groups),
               NULL;
    if (c / groups != cg)
        return conv_error(cc, "%lld input channels in %lld groups need weight [%lld, %lld, kh, kw]",
                          (long long)c, (long long)groups, (long long)oc, (long long)(c / groups)),
               NULL;
    if (bias && (bias->rank != 1 || bias->shape[0] != oc))
        return conv_error(cc, "expected bias [%lld]", (long long)oc), NULL;
    for (int d = 0; d < 2; d++)
        if (ir_window_extent(x->shape[2 + d], win.kernel[d], win.stride[d], win.dilation[d],
                             win.lo[d], win.hi[d], &out[d]) != 0)
            return conv_error(cc,
                              "the dilated kernel (%lld taps, dilation %lld) does not fit the "
                              "padded input (%lld + %lld + %lld) on axis %d",
                              (long long)win.kernel[d], (long long)win.dilation[d],
                              (long long)x->shape[2 + d], (long long)win.lo[d],
                              (long long)win.hi[d], d + 2 - (2 - cc->axes)),
                   NULL;
    if (out[0] > IR_MAX_NUMEL / out[1] || n > IR_MAX_NUMEL / (out[0] * out[1]) ||
        oc > IR_MAX_NUMEL / (n * out[0] * out[1]))
        return conv_error(cc, "the output [%lld, %lld, %lld, %lld] has too many elements",
                          (long long)n, (long long)oc, (long long)out[0], (long long)out[1]),
               NULL;
    /* w's element count bounds C/G*kh*kw. */
    int64_t l, ckg = cg * k[0] * k[1];
    nb_node *col;
    int pointwise = k[0] == 1 && k[1] == 1 && win.stride[0] == 1 && win.stride[1] == 1 &&
                    !win.lo[0] && !win.lo[1] && !win.hi[0] && !win.hi[1];
    if (pointwise) { /* a 1x1 kernel reads x as it is */
        int64_t shape[3] = {n, c, out[0] * out[1]};
        col = nb_reshape(g, x, 3, shape);
    } else {
        ir_attr a = window_attr(&win);
        col = ir_make1(g, IR_OP_IM2COL, x, &a);
    }
    if (!col)
        return NULL;
    l = col->shape[2];
    nb_node *y;
    if (groups == 1) {
        int64_t ws[2] = {oc, ckg};
        y = nb_matmul(g, nb_reshape(g, w, 2, ws), col);
    } else {
        int64_t cs[4] = {n, groups, ckg, l}, ws[3] = {groups, oc / groups, ckg};
        y = nb_matmul(g, nb_reshape(g, w, 3, ws), nb_reshape(g, col, 4, cs));
    }
    int64_t ys[4] = {n, oc, out[0], out[1]};
    return add_bias(g, nb_reshape(g, y, 4, ys), bias);
}

nb_node *nb_conv2d(nb_graph *g, nb_node *x, nb_node *weight, nb_node *bias,
                   const nb_conv_options *o)
{
    conv_call cc = {.g = g, .op = "conv2d", .axes = 2};
    if (check_operands(&cc, x, weight, bias, 4) != 0)
        return NULL;
    return conv_forward(&cc, x, weight, bias, o);
}

nb_node *nb_conv1d(nb_graph *g, nb_node *x, nb_node *weight, nb_node *bias,
                   const nb_conv_options *o)
{
    conv_call cc = {.g = g, .op = "conv1d", .axes = 1};
    if (check_operands(&cc, x, weight, bias, 3) != 0)
        return NULL;
    int64_t xs[4] = {x->shape[0], x->shape[1], 1, x->shape[2]};
    int64_t ws[4] = {weight->shape[0], weight->shape[1], 1, weight->shape[2]};
    nb_node *y = conv_forward(&cc, nb_reshape(g, x, 4, xs), nb_reshape(g, weight, 4, ws), bias, o);
    if (!y)
        return NULL;
    int64_t ys[3] = {y->shape[0], y->shape[1], y->shape[3]};
    return nb_reshape(g, y, 3, ys);
}

nb_node *nb_conv_transpose2d(nb_graph *g, nb_node *x, nb_node *weight, nb_node *bias,
                             const nb_conv_options *o)
{
    conv_call cc = {.g = g, .op = "conv_transpose2d", .axes = 2};
    conv_window win;
    if (check_operands(&cc, x, weight, bias, 4) != 0)
        return NULL;
    int64_t n = x->shape[0], c = x->shape[1], ocg = weight->shape[1];
    int64_t k[2] = {weight->shape[2], weight->shape[3]}, out[2], back[2];
    if (resolve(&cc, o, k, 1, &win) != 0)
        return NULL;
    int64_t groups = win.groups;
    if (weight->shape[0] != c || c % groups != 0)
        return conv_error(&cc,
                          "%lld input channels in %lld groups need weight [%lld, OC/groups, ...] "
                          "with the channels a multiple of the groups",
                          (long long)c, (long long)groups, (long long)c),
               NULL;
    if (ocg > IR_MAX_NUMEL / groups)
        return conv_error(&cc, "the output channels overflow"), NULL;
    int64_t oc = ocg * groups;
    if (bias && (bias->rank != 1 || bias->shape[0] != oc))
        return conv_error(&cc, "expected bias [%lld]", (long long)oc), NULL;
    for (int d = 0; d < 2; d++) {
        int64_t h = x->shape[2 + d], s = win.stride[d], dl = win.dilation[d], p = win.lo[d],
                op = win.out_pad[d];
        if (k[d] > INT32_MAX)
            return conv_error(&cc, "the kernel has %lld taps on axis %d; at most %d",
                              (long long)k[d], d, INT32_MAX),
                   NULL;
        if (op >= s && op >= dl)
            return conv_error(&cc,
                              "output_padding %lld on axis %d; expected less than the stride "
                              "(%lld) or the dilation (%lld)",
                              (long long)op, d, (long long)s, (long long)dl),
                   NULL;
        /* The windows of the result's conv2d must be x's positions: col2im pads its
         * bottom by p - op + s - 1 (which must not be negative). */
        win.hi[d] = p - op + s - 1;
        if (win.hi[d] < 0)
            return conv_error(&cc,
                              "output_padding %lld above padding + stride - 1 = %lld on axis %d "
                              "is not supported",
                              (long long)op, (long long)(p + s - 1), d),
                   NULL;
        /* All terms are at most 2^31 and h - 1 < 2^59 / s is checked: no overflow. */
        if (h - 1 > IR_MAX_NUMEL / s)
            return conv_error(&cc, "the output size overflows on axis %d", d), NULL;
        out[d] = (h - 1) * s - 2 * p + dl * (k[d] - 1) + op + 1;
        if (out[d] < 1 || out[d] > IR_MAX_NUMEL)
            return conv_error(&cc, "the output size on axis %d is %lld; expected >= 1", d,
                              (long long)out[d]),
                   NULL;
        if (ir_window_extent(out[d], k[d], s, dl, win.lo[d], win.hi[d], &back[d]) != 0 ||
            back[d] != h)
            return conv_error(&cc, "no window of size %lld fits on axis %d", (long long)k[d], d),
                   NULL;
    }
    int64_t hw = x->shape[2] * x->shape[3], kk = k[0] * k[1];
    if (ocg > IR_MAX_NUMEL / kk)
        return conv_error(&cc, "the columns overflow"), NULL;
    /* col [N, G, OC/G*kk, H*W] = w[g]^T @ x[n, g] per group. */
    int64_t xs[4] = {n, groups, c / groups, hw}, ws[3] = {groups, c / groups, ocg * kk};
    nb_node *col =
        nb_matmul(g, nb_transpose(g, nb_reshape(g, weight, 3, ws)), nb_reshape(g, x, 4, xs));
    int64_t cs[3] = {n, oc * kk, hw};
    ir_attr a = window_attr(&win);
    a.target.rank = 4;
    a.target.shape[0] = n;
    a.target.shape[1] = oc;
    a.target.shape[2] = out[0];
    a.target.shape[3] = out[1];
    nb_node *y = ir_make1(g, IR_OP_COL2IM, nb_reshape(g, col, 3, cs), &a);
    return add_bias(g, y, bias);
}
