/* cg_conv.c — kernels of the convolution ops: im2col (a window unrolled into columns)
 * and col2im (its adjoint). Both loop over the N*C image planes outermost, which is the
 * loop a split kernel divides: each plane is read (im2col) or written (col2im) by one
 * thread, its elements in the same order, so the bits do not depend on the split. */
#include <stdio.h>

#include "cg.h"

/* The constants of a window kernel: the image plane [H, W], the window and the output
 * positions [OH, OW]; from the image side (x of im2col, y of col2im). */
typedef struct window_loops {
    nb_dtype dtype;
    const char *t;    /* its C type */
    long long planes; /* N*C */
    long long h, w, kh, kw, sh, sw, dh, dw, top, left, oh, ow;
} window_loops;

static void window_init(window_loops *l, const ir_node *image, const ir_node *col, const ir_attr *a)
{
    l->dtype = image->dtype;
    l->t = cg_ctype(image->dtype);
    l->planes = image->shape[0] * image->shape[1];
    l->h = image->shape[2];
    l->w = image->shape[3];
    l->kh = a->window.kernel[0];
    l->kw = a->window.kernel[1];
    l->sh = a->window.stride[0];
    l->sw = a->window.stride[1];
    l->dh = a->window.dilation[0];
    l->dw = a->window.dilation[1];
    l->top = a->window.pad_lo[0];
    l->left = a->window.pad_lo[1];
    /* The output positions follow from the column count and the row of windows. */
    int64_t oh_ow = col->shape[2];
    int64_t ow = (l->w + l->left + a->window.pad_hi[1] - l->dw * (l->kw - 1) - 1) / l->sw + 1;
    l->ow = ow;
    l->oh = oh_ow / ow;
}

/* Opens the loop over image planes ([lo, hi) when split), the kernel offsets ki, kj and
 * sets dh, dw (where offset (ki, kj) of window (0, 0) falls) and [c0, c1), the output
 * columns whose element is inside the image: 0 <= ow*sw + dw < W. */
static void open_window(cg_ctx *c, const window_loops *l, const char *image, const char *col,
                        int image_out)
{
    if (c->split)
        cg_line(c, "for (long nc = lo; nc < hi; nc++) {");
    else
        cg_line(c, "for (long nc = 0; nc < %lld; nc++) {", l->planes);
    c->indent++;
    cg_line(c, "%s%s *%sp = %s + nc * %lld;", image_out ? "" : "const ", l->t, image, image,
            l->h * l->w);
    cg_line(c, "%s%s *%sp = %s + nc * %lld;", image_out ? "const " : "", l->t, col, col,
            l->kh * l->kw * l->oh * l->ow);
    if (image_out) {
        char zero[CG_LIT_MAX];
        cg_lit(zero, l->dtype, 0.0);
        cg_line(c, "for (long i = 0; i < %lld; i++)", l->h * l->w);
        cg_line(c, "    %sp[i] = %s;", image, zero);
    }
    cg_line(c, "for (long ki = 0; ki < %lld; ki++) {", l->kh);
    cg_line(c, "    for (long kj = 0; kj < %lld; kj++) {", l->kw);
    c->indent += 2;
    cg_line(c, "const long dh = ki * %lld - %lld, dw = kj * %lld - %lld;", l->dh, l->top, l->dw,
            l->left);
    cg_line(c, "long c0 = 0, c1 = %lld;", l->ow);
    cg_line(c, "if (dw < 0)");
    cg_line(c, "    c0 = (%lld - dw) / %lld;", l->sw - 1, l->sw);
    cg_line(c, "if (dw >= %lld)", l->w);
    cg_line(c, "    c1 = 0;");
    cg_line(c, "else if ((%lld - dw) / %lld < c1)", l->w + l->sw - 1, l->sw);
    cg_line(c, "    c1 = (%lld - dw) / %lld;", l->w + l->sw - 1, l->sw);
    cg_line(c, "if (c0 > c1)");
    cg_line(c, "    c0 = c1;");
    cg_line(c, "for (long oh = 0; oh < %lld; oh++) {", l->oh);
    c->indent++;
    cg_line(c, "const long ih = oh * %lld + dh;", l->sh);
}

static void close_window(cg_ctx *c, const char *col, const window_loops *l)
{
    cg_line(c, "%sp += %lld;", col, l->ow);
    c->indent--;
    cg_line(c, "}");
    c->indent -= 2;
    cg_line(c, "    }");
    cg_line(c, "}");
    c->indent--;
    cg_line(c, "}");
}

/* "x + ow * 2" or "x + ow": the image element of output column ow. */
static const char *column_step(const window_loops *l, char *buf, size_t size)
{
    if (l->sw == 1)
        snprintf(buf, size, "base + ow");
    else
        snprintf(buf, size, "base + ow * %lld", l->sw);
    return buf;
}

/* IM2COL: y[nc, ki, kj, oh, ow] = x0[nc, oh*sh + dh, ow*sw + dw], zero outside x0. */
void cg_k_im2col(cg_ctx *c, const ir_node *n)
{
    window_loops l;
    char zero[CG_LIT_MAX], at[64];
    window_init(&l, n->in[0], n, &n->attr);
    cg_lit(zero, n->dtype, 0.0);
    open_window(c, &l, "x0", "y", 0);
    cg_line(c, "long ow = 0;");
    cg_line(c, "if (ih >= 0 && ih < %lld) {", l.h);
    cg_line(c, "    const long base = ih * %lld + dw;", l.w);
    cg_line(c, "    for (; ow < c0; ow++)");
    cg_line(c, "        yp[ow] = %s;", zero);
    cg_line(c, "    for (; ow < c1; ow++)");
    cg_line(c, "        yp[ow] = x0p[%s];", column_step(&l, at, sizeof at));
    cg_line(c, "}");
    cg_line(c, "for (; ow < %lld; ow++)", l.ow);
    cg_line(c, "    yp[ow] = %s;", zero);
    close_window(c, "y", &l);
}

/* COL2IM: zeros, then y[nc, oh*sh + dh, ow*sw + dw] += x0[nc, ki, kj, oh, ow] for the
 * positions inside y. */
void cg_k_col2im(cg_ctx *c, const ir_node *n)
{
    window_loops l;
    char at[64];
    window_init(&l, n, n->in[0], &n->attr);
    open_window(c, &l, "y", "x0", 1);
    cg_line(c, "if (ih >= 0 && ih < %lld) {", l.h);
    cg_line(c, "    const long base = ih * %lld + dw;", l.w);
    cg_line(c, "    for (long ow = c0; ow < c1; ow++)");
    cg_line(c, "        yp[%s] += x0p[ow];", column_step(&l, at, sizeof at));
    cg_line(c, "}");
    close_window(c, "x0", &l);
}

int64_t cg_window_extent(const ir_node *n)
{
    if (n->op == IR_OP_IM2COL)
        return n->in[0]->shape[0] * n->in[0]->shape[1];
    if (n->op == IR_OP_COL2IM)
        return n->shape[0] * n->shape[1];
    return 0;
}
