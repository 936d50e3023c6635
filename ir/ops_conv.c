/* ops_conv.c — shape and gradient rules of the convolution ops (im2col, col2im). */
#include <stdint.h>

#include "ir.h"

int ir_window_extent(int64_t size, int64_t kernel, int64_t stride, int64_t dilation, int64_t lo,
                     int64_t hi, int64_t *out)
{
    if (size < 1 || size > IR_MAX_NUMEL || kernel < 1 || kernel > INT32_MAX || stride < 1 ||
        stride > INT32_MAX || dilation < 1 || dilation > INT32_MAX || lo < 0 || lo > INT32_MAX ||
        hi < 0 || hi > INT32_MAX)
        return -1;
    /* Each term is below 2^62 and size below 2^60: no sum or product overflows. */
    int64_t span = size + lo + hi, reach = dilation * (kernel - 1) + 1;
    if (span < reach)
        return -1;
    *out = (span - reach) / stride + 1;
    return 0;
}

/* a * b into *p when both are positive and the product fits IR_MAX_NUMEL; else -1. */
static int mul_fits(int64_t a, int64_t b, int64_t *p)
{
    if (a < 1 || b < 1 || a > IR_MAX_NUMEL / b)
        return -1;
    *p = a * b;
    return 0;
}

/* Checks n's window against the spatial size h x w of its image side and sets oh, ow:
 * every attribute in range (kernel, stride, dilation >= 1, padding >= 0, all at most
 * INT32_MAX), each output size >= 1. The message names n's op and the image's type. */
static int window_check(ir_graph *g, const ir_node *n, const ir_node *image, const int64_t *hw,
                        int64_t *ohw)
{
    const ir_attr *a = &n->attr;
    char t[IR_TYPE_STR_MAX];
    for (int d = 0; d < 2; d++)
        if (ir_window_extent(hw[d], a->window.kernel[d], a->window.stride[d], a->window.dilation[d],
                             a->window.pad_lo[d], a->window.pad_hi[d], &ohw[d]) != 0)
            return ir_error(g,
                            "%s: axis %d of %s: kernel %lld, stride %lld, dilation %lld, padding "
                            "%lld and %lld give no window (kernel, stride, dilation >= 1, padding "
                            ">= 0, all at most %d, and the dilated kernel must fit the padded size "
                            "%lld)",
                            ir_op_defs[n->op].name, d + 2, ir_type_str(image, t, sizeof t),
                            (long long)a->window.kernel[d], (long long)a->window.stride[d],
                            (long long)a->window.dilation[d], (long long)a->window.pad_lo[d],
                            (long long)a->window.pad_hi[d], INT32_MAX, (long long)hw[d]);
    return 0;
}

int ir_shape_im2col(ir_graph *g, ir_node *n)
{
    const ir_node *x = n->in[0];
    char t[IR_TYPE_STR_MAX];
    int64_t ohw[2], rows, cols;
    if (!ir_is_float(x->dtype) || x->rank != 4)
        return ir_error(g, "im2col: x is %s; expected a float [N, C, H, W]",
                        ir_type_str(x, t, sizeof t));
    if (window_check(g, n, x, x->shape + 2, ohw) != 0)
        return -1;
    if (mul_fits(x->shape[1], n->attr.window.kernel[0], &rows) != 0 ||
        mul_fits(rows, n->attr.window.kernel[1], &rows) != 0 ||
        mul_fits(ohw[0], ohw[1], &cols) != 0)
        return ir_error(g, "im2col: the columns of %s overflow", ir_type_str(x, t, sizeof t));
    n->dtype = x->dtype;
    n->rank = 3;
    n->shape[0] = x->shape[0];
    n->shape[1] = rows;
    n->shape[2] = cols;
    return 0;
}

int ir_shape_col2im(ir_graph *g, ir_node *n)
{
    const ir_node *col = n->in[0];
    const int64_t *y = n->attr.target.shape;
    char t[IR_TYPE_STR_MAX], u[IR_TYPE_STR_MAX];
    int64_t ohw[2], rows, cols;
    if (!ir_is_float(col->dtype) || col->rank != 3)
        return ir_error(g, "col2im: col is %s; expected a float [N, C*kh*kw, OH*OW]",
                        ir_type_str(col, t, sizeof t));
    n->dtype = col->dtype;
    n->rank = 4;
    if (n->attr.target.rank != 4)
        return ir_error(g, "col2im: the result has rank %d; expected 4 ([N, C, H, W])",
                        n->attr.target.rank);
    for (int d = 0; d < 4; d++) {
        if (y[d] < 1 || y[d] > IR_MAX_NUMEL)
            return ir_error(g, "col2im: dimension %d of the result is %lld; expected 1 to %lld", d,
                            (long long)y[d], (long long)IR_MAX_NUMEL);
        n->shape[d] = y[d];
    }
    ir_format_type(n->dtype, 4, y, u, sizeof u);
    if (window_check(g, n, n, y + 2, ohw) != 0)
        return -1;
    if (mul_fits(y[1], n->attr.window.kernel[0], &rows) != 0 ||
        mul_fits(rows, n->attr.window.kernel[1], &rows) != 0 ||
        mul_fits(ohw[0], ohw[1], &cols) != 0 || col->shape[0] != y[0] || col->shape[1] != rows ||
        col->shape[2] != cols)
        return ir_error(g,
                        "col2im: col is %s; the window over %s expects [%lld, %lld*%lld*%lld, "
                        "%lld*%lld]",
                        ir_type_str(col, t, sizeof t), u, (long long)y[0], (long long)y[1],
                        (long long)n->attr.window.kernel[0], (long long)n->attr.window.kernel[1],
                        (long long)ohw[0], (long long)ohw[1]);
    return 0;
}

ir_attr ir_window_attr(const ir_node *n)
{
    ir_attr a = {0};
    a.window = n->attr.window;
    return a;
}

/* im2col is linear: its adjoint adds each column element back where it was read. */
int ir_vjp_im2col(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    const ir_node *x = n->in[0];
    ir_attr a = ir_window_attr(n);
    (void)need;
    a.target.rank = 4;
    for (int d = 0; d < 4; d++)
        a.target.shape[d] = x->shape[d];
    gx[0] = ir_make1(g, IR_OP_COL2IM, gy, &a);
    return 0;
}

/* col2im is linear: its adjoint is the im2col of the same window. */
int ir_vjp_col2im(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    ir_attr a = ir_window_attr(n);
    (void)need;
    gx[0] = ir_make1(g, IR_OP_IM2COL, gy, &a);
    return 0;
}
