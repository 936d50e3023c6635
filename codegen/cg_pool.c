/* cg_pool.c — kernels of the pooling ops (ir/ops_pool.def): max_pool2d, its gradient
 * and the gradient's adjoint, avg_pool2d and its gradient.
 *
 * Every kernel walks the planes (the [H, W] images of each sample and channel) in order,
 * one plane at a time, all of a plane's windows before the next; a split kernel takes
 * the planes [lo, hi). A plane's outputs depend only on its own elements, so the split
 * changes no bit. Windows are walked as torch's CPU kernels walk them (row-major, the
 * window clipped to the input), with the bounds written as literals. When every window
 * of the plane lies inside the input (no padding, no partial window of ceil_mode) the
 * window's elements are read at literal offsets, unrolled when the window is small. */
#include <math.h>

#include "cg.h"

/* The window unrolls up to this many elements. */
#define POOL_UNROLL_MAX 16
/* The longest row of windows whose argmaxes a kernel keeps in a stack array. */
#define POOL_ROW_MAX 4096

/* One pooling kernel's geometry: planes of H x W pooled to OH x OW. */
typedef struct pool_geom {
    const char *t; /* the element type */
    nb_dtype dt;
    int64_t planes;
    int64_t h, w, oh, ow;
    int64_t k[2], s[2], d[2], lo[2], hi[2];
    int inside; /* every window inside the input */
    int dilated;
} pool_geom;

static pool_geom geometry(const ir_node *n, const ir_node *big, const ir_node *small)
{
    pool_geom p;
    const ir_attr *a = &n->attr;
    int r = big->rank;
    p.dt = n->dtype;
    p.t = cg_ctype(n->dtype);
    p.planes = 1;
    for (int i = 0; i < r - 2; i++)
        p.planes *= big->shape[i];
    p.h = big->shape[r - 2];
    p.w = big->shape[r - 1];
    p.oh = small->shape[r - 2];
    p.ow = small->shape[r - 1];
    p.dilated = n->op == IR_OP_MAX_POOL2D || n->op == IR_OP_MAX_POOL2D_GRAD ||
                n->op == IR_OP_MAX_POOL2D_SELECT;
    p.inside = 1;
    for (int i = 0; i < 2; i++) {
        p.k[i] = a->window.kernel[i];
        p.s[i] = a->window.stride[i];
        p.d[i] = p.dilated ? a->window.dilation[i] : 1;
        p.lo[i] = a->window.pad_lo[i];
        p.hi[i] = a->window.pad_hi[i];
        int64_t out = i ? p.ow : p.oh, size = i ? p.w : p.h;
        if (p.lo[i] != 0 || (out - 1) * p.s[i] + p.d[i] * (p.k[i] - 1) + 1 > size)
            p.inside = 0;
    }
    return p;
}

int64_t cg_pool_extent(const ir_node *n)
{
    switch (n->op) {
    case IR_OP_MAX_POOL2D:
    case IR_OP_MAX_POOL2D_GRAD:
    case IR_OP_MAX_POOL2D_SELECT:
    case IR_OP_AVG_POOL2D:
    case IR_OP_AVG_POOL2D_GRAD: {
        const ir_node *big =
            n->op == IR_OP_MAX_POOL2D_GRAD || n->op == IR_OP_AVG_POOL2D_GRAD ? n : n->in[0];
        int64_t planes = 1;
        for (int i = 0; i < big->rank - 2; i++)
            planes *= big->shape[i];
        return planes;
    }
    default: return 0;
    }
}

/* Opens the loop over planes (p) and the loops over output rows and columns (oh, ow).
 * Returns the count to close. */
static int open_windows(cg_ctx *c, const pool_geom *p)
{
    if (c->split)
        cg_line(c, "for (long p = lo; p < hi; p++) {");
    else
        cg_line(c, "for (long p = 0; p < %lld; p++) {", (long long)p->planes);
    c->indent++;
    return 1;
}

static void open_rows(cg_ctx *c, const pool_geom *p)
{
    cg_line(c, "for (long oh = 0; oh < %lld; oh++) {", (long long)p->oh);
    c->indent++;
    cg_line(c, "for (long ow = 0; ow < %lld; ow++) {", (long long)p->ow);
    c->indent++;
}

/* The bounds of the window at (oh, ow) as torch's max pooling takes them: rows
 * [h0, h1) and columns [w0, w1) stepping by the dilation, h0 and w0 moved into the
 * input. */
static void max_bounds(cg_ctx *c, const pool_geom *p)
{
    cg_line(c, "long h0 = oh * %lld - %lld, h1 = h0 + %lld;", (long long)p->s[0],
            (long long)p->lo[0], (long long)(p->d[0] * (p->k[0] - 1) + 1));
    cg_line(c, "long w0 = ow * %lld - %lld, w1 = w0 + %lld;", (long long)p->s[1],
            (long long)p->lo[1], (long long)(p->d[1] * (p->k[1] - 1) + 1));
    cg_line(c, "if (h1 > %lld)", (long long)p->h);
    cg_line(c, "    h1 = %lld;", (long long)p->h);
    cg_line(c, "if (w1 > %lld)", (long long)p->w);
    cg_line(c, "    w1 = %lld;", (long long)p->w);
    cg_line(c, "while (h0 < 0)");
    cg_line(c, "    h0 += %lld;", (long long)p->d[0]);
    cg_line(c, "while (w0 < 0)");
    cg_line(c, "    w0 += %lld;", (long long)p->d[1]);
}

/* Declares m (the window's max) and, when with_index, k (its argmax's index in the
 * plane xp) for the window at (oh, ow): torch's CPU scan, m from -inf, replaced by an
 * element greater than it or NaN (so a later NaN moves k; m stays NaN). A window inside
 * the input also declares at (its first element's index in the plane) and j (k - at). */
static void window_max(cg_ctx *c, const pool_geom *p, int with_index)
{
    char minus_inf[CG_LIT_MAX];
    cg_lit(minus_inf, p->dt, -INFINITY);
    const char *t = p->t;
    if (p->inside) {
        cg_line(c, "const long at = oh * %lld + ow * %lld;", (long long)(p->s[0] * p->w),
                (long long)p->s[1]);
        cg_line(c, "const %s *xw = xp + at;", t);
        if (p->k[0] * p->k[1] <= POOL_UNROLL_MAX) {
            /* The first element replaces -inf unless it is -inf itself, when k stays. */
            cg_line(c, "%s m = xw[0];", t);
            if (with_index)
                cg_line(c, "long j = 0;");
            for (int64_t a = 0; a < p->k[0]; a++)
                for (int64_t b = 0; b < p->k[1]; b++) {
                    long long off = (long long)(a * p->d[0] * p->w + b * p->d[1]);
                    if (off == 0)
                        continue;
                    cg_line(c, "{");
                    cg_line(c, "    const %s v = xw[%lld];", t, off);
                    if (with_index) {
                        cg_line(c, "    if (v > m || v != v) {");
                        cg_line(c, "        m = v;");
                        cg_line(c, "        j = %lld;", off);
                        cg_line(c, "    }");
                    } else {
                        cg_line(c, "    if (v > m || v != v)");
                        cg_line(c, "        m = v;");
                    }
                    cg_line(c, "}");
                }
        } else {
            cg_line(c, "%s m = %s;", t, minus_inf);
            if (with_index)
                cg_line(c, "long j = 0;");
            cg_line(c, "for (long a = 0; a < %lld; a++)", (long long)p->k[0]);
            cg_line(c, "    for (long b = 0; b < %lld; b++) {", (long long)p->k[1]);
            cg_line(c, "        const long o = a * %lld + b * %lld;", (long long)(p->d[0] * p->w),
                    (long long)p->d[1]);
            cg_line(c, "        const %s v = xw[o];", t);
            cg_line(c, "        if (v > m || v != v) {");
            cg_line(c, "            m = v;");
            if (with_index)
                cg_line(c, "            j = o;");
            cg_line(c, "        }");
            cg_line(c, "    }");
        }
        if (with_index)
            cg_line(c, "const long k = at + j;");
        return;
    }
    max_bounds(c, p);
    cg_line(c, "%s m = %s;", t, minus_inf);
    if (with_index)
        cg_line(c, "long k = h0 * %lld + w0;", (long long)p->w);
    cg_line(c, "for (long ih = h0; ih < h1; ih += %lld)", (long long)p->d[0]);
    cg_line(c, "    for (long iw = w0; iw < w1; iw += %lld) {", (long long)p->d[1]);
    cg_line(c, "        const long o = ih * %lld + iw;", (long long)p->w);
    cg_line(c, "        const %s v = xp[o];", t);
    cg_line(c, "        if (v > m || v != v) {");
    cg_line(c, "            m = v;");
    if (with_index)
        cg_line(c, "            k = o;");
    cg_line(c, "        }");
    cg_line(c, "    }");
}

/* Whether n's kernel calls the runtime's compiled pooling kernel (rt_pooling.c) for
 * f32: always in code linked by symbols (libtcc's, whose own code for these loops is
 * slow), and in cc's for 2x2 windows at stride 2 (the common case, which the runtime's
 * loops vectorize whatever the row length: gcc unrolls the generated loops of short
 * literal rows, 7 windows of a 14-wide plane, into branches that mispredict on random
 * data, 8x slower). Exported programs always carry the generated C. */
static int use_runtime(const cg_ctx *c, const ir_node *n, const pool_geom *p)
{
    int two = p->k[0] == 2 && p->k[1] == 2 && p->s[0] == 2 && p->s[1] == 2 && p->d[0] == 1 &&
              p->d[1] == 1 && p->inside;
    return n->dtype == NB_F32 && (c->block_math || (c->rt_kernels && two));
}

/* The call of runtime kernel `name` over the kernel's planes: its pointers are y and
 * then the operands x0, x1, ... (n_ptr in all), big[i] set when pointer i walks planes of
 * H x W rather than pooled planes. */
static void runtime_call(cg_ctx *c, const pool_geom *p, const ir_node *n, const char *name,
                         int n_ptr, const int *big)
{
    const ir_attr *a = &n->attr;
    long long g[CG_POOL_GEOM] = {
        [CG_POOL_H] = p->h,
        [CG_POOL_W] = p->w,
        [CG_POOL_OH] = p->oh,
        [CG_POOL_OW] = p->ow,
        [CG_POOL_KH] = p->k[0],
        [CG_POOL_KW] = p->k[1],
        [CG_POOL_SH] = p->s[0],
        [CG_POOL_SW] = p->s[1],
        [CG_POOL_DH] = p->d[0],
        [CG_POOL_DW] = p->d[1],
        [CG_POOL_PT] = p->lo[0],
        [CG_POOL_PL] = p->lo[1],
        [CG_POOL_PB] = p->hi[0],
        [CG_POOL_PR] = p->hi[1],
        [CG_POOL_INCLUDE_PAD] = a->window.count_include_pad,
        [CG_POOL_DIVISOR] = a->window.divisor,
    };
    cg_begin(c);
    cg_s(c, "static const long g[");
    cg_i(c, CG_POOL_GEOM);
    cg_s(c, "] = {");
    for (int i = 0; i < CG_POOL_GEOM; i++) {
        cg_s(c, i ? ", " : "");
        cg_i(c, g[i]);
    }
    cg_end(c, "};");
    cg_begin(c);
    cg_s(c, cg_rt(c, name));
    for (int i = 0; i < n_ptr; i++) {
        cg_s(c, i ? ", " : "(");
        if (i == 0)
            cg_s(c, "y");
        else {
            cg_s(c, "x");
            cg_i(c, i - 1);
        }
        if (c->split) {
            cg_s(c, " + lo * ");
            cg_i(c, big[i] ? p->h * p->w : p->oh * p->ow);
        }
    }
    if (c->split)
        cg_end(c, ", hi - lo, g);");
    else {
        cg_s(c, ", ");
        cg_i(c, p->planes);
        cg_end(c, ", g);");
    }
}

/* Sets the plane yp (H x W) to zero. */
static void zero_plane(cg_ctx *c, const pool_geom *p)
{
    char zero[CG_LIT_MAX];
    cg_lit(zero, p->dt, 0.0);
    cg_line(c, "for (long i = 0; i < %lld; i++)", (long long)(p->h * p->w));
    cg_line(c, "    yp[i] = %s;", zero);
}

/* MAX_POOL2D: y = the max of each window. */
void cg_k_max_pool2d(cg_ctx *c, const ir_node *n)
{
    pool_geom p = geometry(n, n->in[0], n);
    if (use_runtime(c, n, &p)) {
        runtime_call(c, &p, n, "nb_rt_max_pool2d_f32", 2, (const int[]){0, 1});
        return;
    }
    int loops = open_windows(c, &p);
    cg_line(c, "const %s *xp = x0 + p * %lld;", p.t, (long long)(p.h * p.w));
    cg_line(c, "%s *yp = y + p * %lld;", p.t, (long long)(p.oh * p.ow));
    open_rows(c, &p);
    window_max(c, &p, 0);
    cg_line(c, "yp[oh * %lld + ow] = m;", (long long)p.ow);
    cg_loops_close(c, 2 + loops);
}

/* MAX_POOL2D_GRAD over windows that tile the plane exactly (stride = kernel, no
 * dilation, no padding, nothing left over): every element is written once, dy at its
 * window's argmax and zero elsewhere, in two loops per row of windows, each free of
 * branches a compiler cannot turn into selects (so gcc vectorizes both): the argmaxes
 * as window ordinals (of the element type, so the loops hold one type), then the
 * stores. 0 + dy as zeros and adds would give it (+0 for a -0 gradient). */
static void grad_tiles(cg_ctx *c, const pool_geom *p)
{
    char zero[CG_LIT_MAX], lit[CG_LIT_MAX];
    cg_lit(zero, p->dt, 0.0);
    const char *t = p->t;
    cg_line(c, "for (long oh = 0; oh < %lld; oh++) {", (long long)p->oh);
    c->indent++;
    cg_line(c, "%s jr[%lld];", t, (long long)p->ow);
    cg_line(c, "for (long ow = 0; ow < %lld; ow++) {", (long long)p->ow);
    cg_line(c, "    const %s *xw = xp + oh * %lld + ow * %lld;", t, (long long)(p->k[0] * p->w),
            (long long)p->k[1]);
    cg_line(c, "    %s m = xw[0], j = %s;", t, zero);
    for (int64_t a = 0; a < p->k[0]; a++)
        for (int64_t b = 0; b < p->k[1]; b++) {
            if (a == 0 && b == 0)
                continue;
            cg_lit(lit, p->dt, (double)(a * p->k[1] + b));
            cg_line(c, "    {");
            cg_line(c, "        const %s v = xw[%lld];", t, (long long)(a * p->w + b));
            cg_line(c, "        if (v > m || v != v) {");
            cg_line(c, "            m = v;");
            cg_line(c, "            j = %s;", lit);
            cg_line(c, "        }");
            cg_line(c, "    }");
        }
    cg_line(c, "    jr[ow] = j;");
    cg_line(c, "}");
    cg_line(c, "const %s *gr = gp + oh * %lld;", t, (long long)p->ow);
    cg_line(c, "%s *yr = yp + oh * %lld;", t, (long long)(p->k[0] * p->w));
    cg_line(c, "for (long ow = 0; ow < %lld; ow++) {", (long long)p->ow);
    cg_line(c, "    const %s g = %s + gr[ow], j = jr[ow];", t, zero);
    for (int64_t a = 0; a < p->k[0]; a++)
        for (int64_t b = 0; b < p->k[1]; b++) {
            cg_lit(lit, p->dt, (double)(a * p->k[1] + b));
            cg_line(c, "    yr[ow * %lld + %lld] = j == %s ? g : %s;", (long long)p->k[1],
                    (long long)(a * p->w + b), lit, zero);
        }
    cg_line(c, "}");
    c->indent--;
    cg_line(c, "}");
}

/* MAX_POOL2D_GRAD(x, dy): zeros, then each dy added at its window's argmax of x. */
void cg_k_max_pool2d_grad(cg_ctx *c, const ir_node *n)
{
    pool_geom p = geometry(n, n, n->in[1]);
    if (use_runtime(c, n, &p)) {
        runtime_call(c, &p, n, "nb_rt_max_pool2d_grad_f32", 3, (const int[]){1, 1, 0});
        return;
    }
    int loops = open_windows(c, &p);
    cg_line(c, "const %s *xp = x0 + p * %lld;", p.t, (long long)(p.h * p.w));
    cg_line(c, "const %s *gp = x1 + p * %lld;", p.t, (long long)(p.oh * p.ow));
    cg_line(c, "%s *yp = y + p * %lld;", p.t, (long long)(p.h * p.w));
    int tiles = p.inside && p.k[0] * p.k[1] <= POOL_UNROLL_MAX && p.ow <= POOL_ROW_MAX;
    for (int i = 0; i < 2; i++)
        tiles &=
            p.s[i] == p.k[i] && p.d[i] == 1 && (i ? p.ow * p.s[1] == p.w : p.oh * p.s[0] == p.h);
    if (tiles) {
        grad_tiles(c, &p);
        cg_loops_close(c, loops);
        return;
    }
    zero_plane(c, &p);
    open_rows(c, &p);
    window_max(c, &p, 1);
    cg_line(c, "(void)m;");
    cg_line(c, "yp[k] += gp[oh * %lld + ow];", (long long)p.ow);
    cg_loops_close(c, 2 + loops);
}

/* MAX_POOL2D_SELECT(x, g): g read at each window's argmax of x. */
void cg_k_max_pool2d_select(cg_ctx *c, const ir_node *n)
{
    pool_geom p = geometry(n, n->in[0], n);
    if (use_runtime(c, n, &p)) {
        runtime_call(c, &p, n, "nb_rt_max_pool2d_select_f32", 3, (const int[]){0, 1, 1});
        return;
    }
    int loops = open_windows(c, &p);
    cg_line(c, "const %s *xp = x0 + p * %lld;", p.t, (long long)(p.h * p.w));
    cg_line(c, "const %s *gp = x1 + p * %lld;", p.t, (long long)(p.h * p.w));
    cg_line(c, "%s *yp = y + p * %lld;", p.t, (long long)(p.oh * p.ow));
    open_rows(c, &p);
    window_max(c, &p, 1);
    cg_line(c, "(void)m;");
    cg_line(c, "yp[oh * %lld + ow] = gp[k];", (long long)p.ow);
    cg_loops_close(c, 2 + loops);
}

/* Declares the window at (oh, ow) of average pooling as torch's CPU kernel takes it:
 * rows [h0, h1) and columns [w0, w1) clipped to the input, and div, the divisor
 * (divisor_override, or the window clipped to the padded input or to the input). */
static void avg_bounds(cg_ctx *c, const pool_geom *p, const ir_node *n)
{
    const ir_attr *a = &n->attr;
    if (p->inside) {
        cg_line(c, "const long h0 = oh * %lld, h1 = h0 + %lld;", (long long)p->s[0],
                (long long)p->k[0]);
        cg_line(c, "const long w0 = ow * %lld, w1 = w0 + %lld;", (long long)p->s[1],
                (long long)p->k[1]);
        cg_line(c, "const long div = %lld;",
                (long long)(a->window.divisor ? a->window.divisor : p->k[0] * p->k[1]));
        return;
    }
    cg_line(c, "long h0 = oh * %lld - %lld, h1 = h0 + %lld;", (long long)p->s[0],
            (long long)p->lo[0], (long long)p->k[0]);
    cg_line(c, "long w0 = ow * %lld - %lld, w1 = w0 + %lld;", (long long)p->s[1],
            (long long)p->lo[1], (long long)p->k[1]);
    cg_line(c, "if (h1 > %lld)", (long long)(p->h + p->hi[0]));
    cg_line(c, "    h1 = %lld;", (long long)(p->h + p->hi[0]));
    cg_line(c, "if (w1 > %lld)", (long long)(p->w + p->hi[1]));
    cg_line(c, "    w1 = %lld;", (long long)(p->w + p->hi[1]));
    cg_line(c, "const long padded = (h1 - h0) * (w1 - w0);");
    cg_line(c, "if (h0 < 0)");
    cg_line(c, "    h0 = 0;");
    cg_line(c, "if (w0 < 0)");
    cg_line(c, "    w0 = 0;");
    cg_line(c, "if (h1 > %lld)", (long long)p->h);
    cg_line(c, "    h1 = %lld;", (long long)p->h);
    cg_line(c, "if (w1 > %lld)", (long long)p->w);
    cg_line(c, "    w1 = %lld;", (long long)p->w);
    if (a->window.divisor)
        cg_line(c, "const long div = %lld;", (long long)a->window.divisor);
    else if (a->window.count_include_pad)
        cg_line(c, "const long div = padded;");
    else
        cg_line(c, "const long div = (h1 - h0) * (w1 - w0);");
    if (a->window.divisor || !a->window.count_include_pad)
        cg_line(c, "(void)padded;");
}

/* AVG_POOL2D: each window's sum (in the element type, in torch's order) / div; 0 for a
 * window with no element inside the input. */
void cg_k_avg_pool2d(cg_ctx *c, const ir_node *n)
{
    pool_geom p = geometry(n, n->in[0], n);
    if (use_runtime(c, n, &p)) {
        runtime_call(c, &p, n, "nb_rt_avg_pool2d_f32", 2, (const int[]){0, 1});
        return;
    }
    char zero[CG_LIT_MAX];
    cg_lit(zero, p.dt, 0.0);
    int loops = open_windows(c, &p);
    cg_line(c, "const %s *xp = x0 + p * %lld;", p.t, (long long)(p.h * p.w));
    cg_line(c, "%s *yp = y + p * %lld;", p.t, (long long)(p.oh * p.ow));
    open_rows(c, &p);
    avg_bounds(c, &p, n);
    cg_line(c, "%s s = %s;", p.t, zero);
    cg_line(c, "for (long ih = h0; ih < h1; ih++)");
    cg_line(c, "    for (long iw = w0; iw < w1; iw++)");
    cg_line(c, "        s += xp[ih * %lld + iw];", (long long)p.w);
    if (p.inside)
        cg_line(c, "yp[oh * %lld + ow] = s / (%s)div;", (long long)p.ow, p.t);
    else
        cg_line(c, "yp[oh * %lld + ow] = h0 < h1 && w0 < w1 ? s / (%s)div : %s;", (long long)p.ow,
                p.t, zero);
    cg_loops_close(c, 2 + loops);
}

/* AVG_POOL2D_GRAD(dy): zeros, then each dy / div added over its window. */
void cg_k_avg_pool2d_grad(cg_ctx *c, const ir_node *n)
{
    pool_geom p = geometry(n, n, n->in[0]);
    if (use_runtime(c, n, &p)) {
        runtime_call(c, &p, n, "nb_rt_avg_pool2d_grad_f32", 2, (const int[]){1, 0});
        return;
    }
    int loops = open_windows(c, &p);
    cg_line(c, "const %s *gp = x0 + p * %lld;", p.t, (long long)(p.oh * p.ow));
    cg_line(c, "%s *yp = y + p * %lld;", p.t, (long long)(p.h * p.w));
    zero_plane(c, &p);
    open_rows(c, &p);
    avg_bounds(c, &p, n);
    cg_line(c, "const %s v = gp[oh * %lld + ow] / (%s)div;", p.t, (long long)p.ow, p.t);
    cg_line(c, "for (long ih = h0; ih < h1; ih++)");
    cg_line(c, "    for (long iw = w0; iw < w1; iw++)");
    cg_line(c, "        yp[ih * %lld + iw] += v;", (long long)p.w);
    cg_loops_close(c, 2 + loops);
}
