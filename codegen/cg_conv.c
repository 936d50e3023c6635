/* cg_conv.c — kernels of the convolution ops: im2col (a window unrolled into columns)
 * and col2im (its adjoint), as calls of the runtime's loops (codegen/cg_conv_text.inc),
 * which an exported program carries as text. Both split over the N*C image planes:
 * each plane is read (im2col) or written (col2im) by one thread, its elements in the
 * same order, so the bits do not depend on the split. */
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

/* A call of the runtime kernel `base` ("nb_rt_im2col") for the node's dtype over the
 * planes [lo, hi) of a split kernel or all of them, with the geometry as a literal
 * array: the loops are codegen/cg_conv_text.inc's, compiled at -O3 in the runtime (the
 * JIT) or copied into the file (an export). */
static void window_call(cg_ctx *c, const window_loops *l, const char *base)
{
    char name[32];
    snprintf(name, sizeof name, "%s_%s", base, l->dtype == NB_F32 ? "f32" : "f64");
    const char *fn = cg_rt(c, name);
    cg_line(c,
            "static const long g[12] = {%lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, "
            "%lld, %lld, %lld};",
            l->h, l->w, l->kh, l->kw, l->sh, l->sw, l->dh, l->dw, l->top, l->left, l->oh, l->ow);
    if (c->split)
        cg_line(c, "%s(x0, y, lo, hi, g);", fn);
    else
        cg_line(c, "%s(x0, y, 0, %lld, g);", fn, l->planes);
}

/* IM2COL: y[nc, ki, kj, oh, ow] = x0[nc, oh*sh + dh, ow*sw + dw], zero outside x0. */
void cg_k_im2col(cg_ctx *c, const ir_node *n)
{
    window_loops l;
    window_init(&l, n->in[0], n, &n->attr);
    window_call(c, &l, "nb_rt_im2col");
}

/* COL2IM: zeros, then y[nc, oh*sh + dh, ow*sw + dw] += x0[nc, ki, kj, oh, ow] for the
 * positions inside y. */
void cg_k_col2im(cg_ctx *c, const ir_node *n)
{
    window_loops l;
    window_init(&l, n, n->in[0], &n->attr);
    window_call(c, &l, "nb_rt_col2im");
}

/* The text, and the functions of it that a program may call (cg_rt.def's names). */
static const char cg_conv_text[] =
#include "cg_conv_text.str"
    ;

static const struct {
    int rt;
    const char *flag;
} cg_conv_fns[] = {
    {CG_RT_nb_rt_im2col_f32, "NB_RT_CONV_IM2COL_F32"},
    {CG_RT_nb_rt_im2col_f64, "NB_RT_CONV_IM2COL_F64"},
    {CG_RT_nb_rt_col2im_f32, "NB_RT_CONV_COL2IM_F32"},
    {CG_RT_nb_rt_col2im_f64, "NB_RT_CONV_COL2IM_F64"},
};

void cg_conv_put(ir_text *out, const unsigned char *rt_used)
{
    int any = 0;
    for (size_t i = 0; i < sizeof cg_conv_fns / sizeof *cg_conv_fns; i++)
        if (rt_used[cg_conv_fns[i].rt]) {
            if (!any++)
                ir_text_puts(out, "#define NB_RT_CONV_LINKAGE static\n");
            ir_text_puts(out, "#define ");
            ir_text_puts(out, cg_conv_fns[i].flag);
            ir_text_puts(out, " 1\n");
        }
    if (!any)
        return;
    ir_text_puts(out, cg_conv_text);
    ir_text_putc(out, '\n');
}

int64_t cg_window_extent(const ir_node *n)
{
    if (n->op == IR_OP_IM2COL)
        return n->in[0]->shape[0] * n->in[0]->shape[1];
    if (n->op == IR_OP_COL2IM)
        return n->shape[0] * n->shape[1];
    return 0;
}
