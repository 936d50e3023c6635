/* rt_pooling.c — the pooling kernels of the programs libtcc compiles (cg_rt.def):
 * libtcc's code for the window loops runs about twenty times slower than these loops
 * compiled with the project at -O3. Each computes what the generated C of
 * codegen/cg_pool.c computes for cc and for exported programs, bit for bit: windows
 * walked as torch's CPU kernels walk them (row-major, clipped to the input), the max
 * replaced by an element greater than it or NaN, sums in the element type in the same
 * order, gradients added onto zeros. The geometry g[CG_POOL_GEOM] is indexed as cg.h
 * says. */
#include <math.h>

#include "rt.h"
#include "rt_kernels.h"

/* The rows [*h0, *h1) and columns [*w0, *w1) of max pooling's window (oh, ow), the
 * start moved into the input by whole dilation steps. */
static void max_window(const long *g, long oh, long ow, long *h0, long *h1, long *w0, long *w1)
{
    *h0 = oh * g[CG_POOL_SH] - g[CG_POOL_PT];
    *w0 = ow * g[CG_POOL_SW] - g[CG_POOL_PL];
    *h1 = *h0 + g[CG_POOL_DH] * (g[CG_POOL_KH] - 1) + 1;
    *w1 = *w0 + g[CG_POOL_DW] * (g[CG_POOL_KW] - 1) + 1;
    if (*h1 > g[CG_POOL_H])
        *h1 = g[CG_POOL_H];
    if (*w1 > g[CG_POOL_W])
        *w1 = g[CG_POOL_W];
    while (*h0 < 0)
        *h0 += g[CG_POOL_DH];
    while (*w0 < 0)
        *w0 += g[CG_POOL_DW];
}

/* The index in the plane xp of window (oh, ow)'s max, and the max in *m. */
static long argmax(const float *xp, const long *g, long oh, long ow, float *m)
{
    long h0, h1, w0, w1, w = g[CG_POOL_W];
    max_window(g, oh, ow, &h0, &h1, &w0, &w1);
    float best = -INFINITY;
    long k = h0 * w + w0;
    for (long ih = h0; ih < h1; ih += g[CG_POOL_DH])
        for (long iw = w0; iw < w1; iw += g[CG_POOL_DW]) {
            const float v = xp[ih * w + iw];
            if (v > best || v != v) {
                best = v;
                k = ih * w + iw;
            }
        }
    *m = best;
    return k;
}

/* The longest row of windows whose argmaxes the 2x2 gradient keeps on the stack. */
#define RT_POOL_ROW_MAX 4096

/* 2x2 windows at stride 2, no dilation, no padding: the common pooling, whose loops
 * below gcc vectorizes (the generated C unrolls any small window as these do). */
static int is_2x2(const long *g)
{
    return g[CG_POOL_KH] == 2 && g[CG_POOL_KW] == 2 && g[CG_POOL_SH] == 2 && g[CG_POOL_SW] == 2 &&
           g[CG_POOL_DH] == 1 && g[CG_POOL_DW] == 1 && g[CG_POOL_PT] == 0 && g[CG_POOL_PL] == 0 &&
           2 * g[CG_POOL_OH] <= g[CG_POOL_H] && 2 * g[CG_POOL_OW] <= g[CG_POOL_W];
}

/* The max of the 2x2 window at r0[0], r0[1], r1[0], r1[1]; its ordinal (0 to 3, as a
 * float) in *j. */
static inline float max4(const float *r0, const float *r1, float *j)
{
    float m = r0[0], k = 0.0f, v = r0[1];
    if (v > m || v != v) {
        m = v;
        k = 1.0f;
    }
    v = r1[0];
    if (v > m || v != v) {
        m = v;
        k = 2.0f;
    }
    v = r1[1];
    if (v > m || v != v) {
        m = v;
        k = 3.0f;
    }
    *j = k;
    return m;
}

void nb_rt_max_pool2d_f32(float *y, const float *x, long planes, const long *g)
{
    long hw = g[CG_POOL_H] * g[CG_POOL_W], on = g[CG_POOL_OH] * g[CG_POOL_OW];
    if (is_2x2(g)) {
        long w = g[CG_POOL_W], ow_n = g[CG_POOL_OW];
        for (long p = 0; p < planes; p++)
            for (long oh = 0; oh < g[CG_POOL_OH]; oh++) {
                const float *r0 = x + p * hw + 2 * oh * w, *r1 = r0 + w;
                float *yr = y + p * on + oh * ow_n, j;
                for (long ow = 0; ow < ow_n; ow++)
                    yr[ow] = max4(r0 + 2 * ow, r1 + 2 * ow, &j);
            }
        return;
    }
    for (long p = 0; p < planes; p++)
        for (long oh = 0; oh < g[CG_POOL_OH]; oh++)
            for (long ow = 0; ow < g[CG_POOL_OW]; ow++) {
                float m;
                argmax(x + p * hw, g, oh, ow, &m);
                y[p * on + oh * g[CG_POOL_OW] + ow] = m;
            }
}

void nb_rt_max_pool2d_grad_f32(float *dx, const float *x, const float *dy, long planes,
                               const long *g)
{
    long hw = g[CG_POOL_H] * g[CG_POOL_W], on = g[CG_POOL_OH] * g[CG_POOL_OW];
    long w = g[CG_POOL_W], ow_n = g[CG_POOL_OW];
    /* Windows that tile the plane: each element written once (the generated C's
     * grad_tiles), the argmaxes of a row of windows first. */
    if (is_2x2(g) && 2 * g[CG_POOL_OH] == g[CG_POOL_H] && 2 * ow_n == w &&
        ow_n <= RT_POOL_ROW_MAX) {
        float jr[RT_POOL_ROW_MAX];
        for (long p = 0; p < planes; p++)
            for (long oh = 0; oh < g[CG_POOL_OH]; oh++) {
                const float *r0 = x + p * hw + 2 * oh * w, *r1 = r0 + w,
                            *gr = dy + p * on + oh * ow_n;
                float *d0 = dx + p * hw + 2 * oh * w, *d1 = d0 + w;
                for (long ow = 0; ow < ow_n; ow++)
                    max4(r0 + 2 * ow, r1 + 2 * ow, &jr[ow]);
                for (long ow = 0; ow < ow_n; ow++) {
                    const float v = 0.0f + gr[ow], j = jr[ow];
                    d0[2 * ow] = j == 0.0f ? v : 0.0f;
                    d0[2 * ow + 1] = j == 1.0f ? v : 0.0f;
                    d1[2 * ow] = j == 2.0f ? v : 0.0f;
                    d1[2 * ow + 1] = j == 3.0f ? v : 0.0f;
                }
            }
        return;
    }
    for (long p = 0; p < planes; p++) {
        float *dp = dx + p * hw;
        for (long i = 0; i < hw; i++)
            dp[i] = 0.0f;
        for (long oh = 0; oh < g[CG_POOL_OH]; oh++)
            for (long ow = 0; ow < g[CG_POOL_OW]; ow++) {
                float m;
                long k = argmax(x + p * hw, g, oh, ow, &m);
                dp[k] += dy[p * on + oh * g[CG_POOL_OW] + ow];
            }
    }
}

void nb_rt_max_pool2d_select_f32(float *y, const float *x, const float *v, long planes,
                                 const long *g)
{
    long hw = g[CG_POOL_H] * g[CG_POOL_W], on = g[CG_POOL_OH] * g[CG_POOL_OW];
    for (long p = 0; p < planes; p++)
        for (long oh = 0; oh < g[CG_POOL_OH]; oh++)
            for (long ow = 0; ow < g[CG_POOL_OW]; ow++) {
                float m;
                long k = argmax(x + p * hw, g, oh, ow, &m);
                y[p * on + oh * g[CG_POOL_OW] + ow] = v[p * hw + k];
            }
}

/* Average pooling's window (oh, ow) clipped to the input, and its divisor. */
static long avg_window(const long *g, long oh, long ow, long *h0, long *h1, long *w0, long *w1)
{
    *h0 = oh * g[CG_POOL_SH] - g[CG_POOL_PT];
    *w0 = ow * g[CG_POOL_SW] - g[CG_POOL_PL];
    *h1 = *h0 + g[CG_POOL_KH];
    *w1 = *w0 + g[CG_POOL_KW];
    if (*h1 > g[CG_POOL_H] + g[CG_POOL_PB])
        *h1 = g[CG_POOL_H] + g[CG_POOL_PB];
    if (*w1 > g[CG_POOL_W] + g[CG_POOL_PR])
        *w1 = g[CG_POOL_W] + g[CG_POOL_PR];
    long padded = (*h1 - *h0) * (*w1 - *w0);
    if (*h0 < 0)
        *h0 = 0;
    if (*w0 < 0)
        *w0 = 0;
    if (*h1 > g[CG_POOL_H])
        *h1 = g[CG_POOL_H];
    if (*w1 > g[CG_POOL_W])
        *w1 = g[CG_POOL_W];
    if (g[CG_POOL_DIVISOR])
        return g[CG_POOL_DIVISOR];
    return g[CG_POOL_INCLUDE_PAD] ? padded : (*h1 - *h0) * (*w1 - *w0);
}

void nb_rt_avg_pool2d_f32(float *y, const float *x, long planes, const long *g)
{
    long w = g[CG_POOL_W], hw = g[CG_POOL_H] * w, on = g[CG_POOL_OH] * g[CG_POOL_OW];
    if (is_2x2(g)) {
        /* Inside the input the window has 4 elements: the divisor is 4 or the override. */
        const float div = (float)(g[CG_POOL_DIVISOR] ? g[CG_POOL_DIVISOR] : 4);
        long ow_n = g[CG_POOL_OW];
        for (long p = 0; p < planes; p++)
            for (long oh = 0; oh < g[CG_POOL_OH]; oh++) {
                const float *r0 = x + p * hw + 2 * oh * w, *r1 = r0 + w;
                float *yr = y + p * on + oh * ow_n;
                for (long ow = 0; ow < ow_n; ow++) {
                    float s = 0.0f;
                    s += r0[2 * ow];
                    s += r0[2 * ow + 1];
                    s += r1[2 * ow];
                    s += r1[2 * ow + 1];
                    yr[ow] = s / div;
                }
            }
        return;
    }
    for (long p = 0; p < planes; p++)
        for (long oh = 0; oh < g[CG_POOL_OH]; oh++)
            for (long ow = 0; ow < g[CG_POOL_OW]; ow++) {
                long h0, h1, w0, w1;
                long div = avg_window(g, oh, ow, &h0, &h1, &w0, &w1);
                float s = 0.0f;
                for (long ih = h0; ih < h1; ih++)
                    for (long iw = w0; iw < w1; iw++)
                        s += x[p * hw + ih * w + iw];
                y[p * on + oh * g[CG_POOL_OW] + ow] = h0 < h1 && w0 < w1 ? s / (float)div : 0.0f;
            }
}

void nb_rt_avg_pool2d_grad_f32(float *dx, const float *dy, long planes, const long *g)
{
    long w = g[CG_POOL_W], hw = g[CG_POOL_H] * w, on = g[CG_POOL_OH] * g[CG_POOL_OW];
    long ow_n = g[CG_POOL_OW];
    if (is_2x2(g) && 2 * g[CG_POOL_OH] == g[CG_POOL_H] && 2 * ow_n == w) {
        /* Windows that tile the plane: each element is 0 + dy / div, written once. */
        const float div = (float)(g[CG_POOL_DIVISOR] ? g[CG_POOL_DIVISOR] : 4);
        for (long p = 0; p < planes; p++)
            for (long oh = 0; oh < g[CG_POOL_OH]; oh++) {
                const float *gr = dy + p * on + oh * ow_n;
                float *d0 = dx + p * hw + 2 * oh * w, *d1 = d0 + w;
                for (long ow = 0; ow < ow_n; ow++) {
                    const float v = 0.0f + gr[ow] / div;
                    d0[2 * ow] = v;
                    d0[2 * ow + 1] = v;
                    d1[2 * ow] = v;
                    d1[2 * ow + 1] = v;
                }
            }
        return;
    }
    for (long p = 0; p < planes; p++) {
        float *dp = dx + p * hw;
        for (long i = 0; i < hw; i++)
            dp[i] = 0.0f;
        for (long oh = 0; oh < g[CG_POOL_OH]; oh++)
            for (long ow = 0; ow < g[CG_POOL_OW]; ow++) {
                long h0, h1, w0, w1;
                long div = avg_window(g, oh, ow, &h0, &h1, &w0, &w1);
                const float v = dy[p * on + oh * g[CG_POOL_OW] + ow] / (float)div;
                for (long ih = h0; ih < h1; ih++)
                    for (long iw = w0; iw < w1; iw++)
                        dp[ih * w + iw] += v;
            }
    }
}
