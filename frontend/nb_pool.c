/* nb_pool.c — builders of pooling over the last two axes (torch's F.max_pool2d,
 * F.avg_pool2d, F.adaptive_avg_pool2d). The shape rule (ir/ops_pool.c) checks every
 * value; here the defaults are filled in. */
#include <stdlib.h>

#include "ir.h"

/* The window attributes from the builder's arrays (NULL: torch's default); 0, or -1 with
 * the error recorded. */
static int window(nb_graph *g, const char *name, nb_node *x, const int64_t *kernel,
                  const int64_t *stride, const int64_t *padding, ir_attr *a)
{
    if (!g || g->error)
        return -1;
    if (!x)
        return ir_error(g, "%s: operand 0 is NULL", name);
    if (!kernel)
        return ir_error(g, "%s: kernel is NULL; expected two sizes (rows, columns)", name);
    memset(a, 0, sizeof *a);
    for (int d = 0; d < 2; d++) {
        a->window.kernel[d] = kernel[d];
        a->window.stride[d] = stride ? stride[d] : kernel[d];
        a->window.pad_lo[d] = a->window.pad_hi[d] = padding ? padding[d] : 0;
    }
    return 0;
}

nb_node *nb_max_pool2d(nb_graph *g, nb_node *x, const int64_t *kernel, const int64_t *stride,
                       const int64_t *padding, const int64_t *dilation, int ceil_mode)
{
    ir_attr a;
    if (window(g, "max_pool2d", x, kernel, stride, padding, &a) != 0)
        return NULL;
    for (int d = 0; d < 2; d++)
        a.window.dilation[d] = dilation ? dilation[d] : 1;
    a.window.ceil_mode = ceil_mode != 0;
    return ir_make1(g, IR_OP_MAX_POOL2D, x, &a);
}

nb_node *nb_avg_pool2d(nb_graph *g, nb_node *x, const int64_t *kernel, const int64_t *stride,
                       const int64_t *padding, int ceil_mode, int count_include_pad,
                       int divisor_override)
{
    ir_attr a;
    if (window(g, "avg_pool2d", x, kernel, stride, padding, &a) != 0)
        return NULL;
    if (divisor_override < 0) {
        ir_error(g, "avg_pool2d: divisor_override is %d; expected > 0 (or 0 for None)",
                 divisor_override);
        return NULL;
    }
    a.window.ceil_mode = ceil_mode != 0;
    a.window.count_include_pad = count_include_pad != 0;
    a.window.divisor = divisor_override;
    return ir_make1(g, IR_OP_AVG_POOL2D, x, &a);
}

/* The [out, size] matrix whose row i averages the elements floor(i * size / out) to
 * ceil((i + 1) * size / out) - 1 (torch's adaptive windows), transposed when `trans`. */
static nb_node *adaptive_matrix(nb_graph *g, const nb_node *x, int64_t out, int64_t size, int trans)
{
    size_t count;
    if (ir_size_mul((size_t)out, (size_t)size, &count) != 0 || count > (size_t)IR_MAX_NUMEL) {
        ir_error(g, "adaptive_avg_pool2d: an output of %lld from %lld elements is too large",
                 (long long)out, (long long)size);
        return NULL;
    }
    double *m = ir_calloc(count, sizeof *m);
    if (!m) {
        ir_oom(g);
        return NULL;
    }
    for (int64_t i = 0; i < out; i++) {
        int64_t start = i * size / out, end = ((i + 1) * size + out - 1) / out;
        for (int64_t j = start; j < end; j++)
            m[trans ? j * out + i : i * size + j] = 1.0 / (double)(end - start);
    }
    int64_t shape[2] = {trans ? size : out, trans ? out : size};
    nb_node *c = ir_constant(g, x->dtype, 2, shape, m);
    free(m);
    return c;
}

/* The global case is a mean; sizes that divide evenly are an average pooling (the same
 * windows, the same sums); other sizes are averaging matrices on both sides. */
nb_node *nb_adaptive_avg_pool2d(nb_graph *g, nb_node *x, int64_t out_h, int64_t out_w)
{
    if (!g || g->error)
        return NULL;
    if (!x) {
        ir_error(g, "adaptive_avg_pool2d: operand 0 is NULL");
        return NULL;
    }
    char t[IR_TYPE_STR_MAX];
    if ((x->rank != 3 && x->rank != 4) || !ir_is_float(x->dtype)) {
        ir_error(g, "adaptive_avg_pool2d: input %s; expected f32 or f64 of rank 3 or 4",
                 ir_type_str(x, t, sizeof t));
        return NULL;
    }
    if (out_h < 1 || out_w < 1 || out_h > INT32_MAX || out_w > INT32_MAX) {
        ir_error(g, "adaptive_avg_pool2d: output size %lld x %lld; expected 1 to %d each",
                 (long long)out_h, (long long)out_w, INT32_MAX);
        return NULL;
    }
    int64_t h = x->shape[x->rank - 2], w = x->shape[x->rank - 1];
    if (out_h == 1 && out_w == 1)
        return nb_mean(g, x, (const int[]){-2, -1}, 2, 1);
    if (h % out_h == 0 && w % out_w == 0) {
        int64_t k[2] = {h / out_h, w / out_w};
        return nb_avg_pool2d(g, x, k, k, NULL, 0, 1, 0);
    }
    nb_node *rows = adaptive_matrix(g, x, out_h, h, 0), *cols = adaptive_matrix(g, x, out_w, w, 1);
    if (!rows || !cols)
        return NULL;
    return nb_matmul(g, rows, nb_matmul(g, x, cols));
}
