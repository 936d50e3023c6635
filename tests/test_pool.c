/* test_pool.c — max_pool2d, avg_pool2d and adaptive_avg_pool2d beyond the PyTorch goldens
 * (test_golden.c): gradient checks against finite differences in f64 (first and second
 * order), values and gradients of many window shapes against a plain C transcription of
 * torch's CPU kernels (ties, NaN, -inf, padding, dilation, ceil_mode) on both backends
 * and split across threads, and the errors of the builders, the shape rules and the
 * graph format. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cg.h"
#include "gradcheck.h"
#include "nabla.h"
#include "rt.h"

/* ---- gradient checks --------------------------------------------------------------- */

static nb_node *max_2(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_max_pool2d(g, x[0], (const int64_t[]){2, 2}, NULL, NULL, NULL, 0);
}

static nb_node *max_pad_dil_ceil(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_max_pool2d(g, x[0], (const int64_t[]){3, 2}, (const int64_t[]){2, 1},
                         (const int64_t[]){1, 1}, (const int64_t[]){2, 1}, 1);
}

static nb_node *max_overlap(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_max_pool2d(g, x[0], (const int64_t[]){3, 3}, (const int64_t[]){1, 1}, NULL, NULL, 0);
}

static nb_node *avg_pad_incl(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_avg_pool2d(g, x[0], (const int64_t[]){3, 3}, (const int64_t[]){2, 2},
                         (const int64_t[]){1, 1}, 0, 1, 0);
}

static nb_node *avg_ceil_excl(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_avg_pool2d(g, x[0], (const int64_t[]){3, 2}, (const int64_t[]){2, 2},
                         (const int64_t[]){1, 1}, 1, 0, 0);
}

static nb_node *avg_divisor(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_avg_pool2d(g, x[0], (const int64_t[]){2, 3}, (const int64_t[]){1, 2}, NULL, 0, 1, 7);
}

static nb_node *adaptive_3_2(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_adaptive_avg_pool2d(g, x[0], 3, 2);
}

static nb_node *adaptive_1(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_adaptive_avg_pool2d(g, x[0], 1, 1);
}

/* Pooling between smooth ops: the gradient of a gradient meets max_pool2d_select. */
static nb_node *max_of_square(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    nb_node *y =
        nb_max_pool2d(g, nb_mul(g, x[0], x[0]), (const int64_t[]){2, 2}, NULL, NULL, NULL, 0);
    return nb_mul(g, y, y);
}

static const gc_case cases[] = {
    {"max_2", max_2, 1, {GC_F(4, 2, 3, 4, 6)}, 1},
    {"max_pad_dil_ceil_rank3", max_pad_dil_ceil, 1, {GC_F(3, 2, 6, 5)}, 1},
    {"max_overlap", max_overlap, 1, {GC_F(4, 1, 2, 5, 5)}, 1},
    {"max_of_square", max_of_square, 1, {GC_F(4, 1, 2, 4, 4)}, 1},
    {"avg_pad_incl", avg_pad_incl, 1, {GC_F(4, 2, 2, 5, 6)}, 1},
    {"avg_ceil_excl", avg_ceil_excl, 1, {GC_F(4, 1, 2, 6, 7)}, 1},
    {"avg_divisor_rank3", avg_divisor, 1, {GC_F(3, 2, 5, 7)}, 1},
    {"adaptive_3_2", adaptive_3_2, 1, {GC_F(4, 1, 2, 7, 5)}, 1},
    {"adaptive_1", adaptive_1, 1, {GC_F(4, 2, 2, 3, 4)}, 1},
};

static void test_gradchecks(void **state)
{
    (void)state;
    assert_int_equal(gc_run_table("pool", cases, (int)(sizeof cases / sizeof *cases)), 0);
}

/* ---- against torch's CPU kernels, transcribed ------------------------------------ */

/* One configuration; stride, padding, dilation as given (the builders' arrays). */
typedef struct pool_cfg {
    int avg;
    int64_t k[2], s[2], p[2], d[2];
    int ceil, include_pad, divisor;
    int64_t shape[4]; /* [N, C, H, W] */
} pool_cfg;

/* torch's pooling_output_shape. */
static int64_t out_size(int64_t in, int k, int s, int p, int d, int ceil)
{
    int64_t o = (in + 2 * p - d * (k - 1) - 1 + (ceil ? s - 1 : 0)) / s + 1;
    if (ceil && (o - 1) * s >= in + p)
        o--;
    return o;
}

/* max_pool2d forward and backward (dx += dy at the argmax), as aten's cpu_max_pool and
 * cpu_max_pool_backward compute them, in float. */
static void ref_max(const pool_cfg *c, const float *x, const float *dy, float *y, float *dx,
                    int64_t oh, int64_t ow)
{
    int64_t planes = c->shape[0] * c->shape[1], h = c->shape[2], w = c->shape[3];
    memset(dx, 0, sizeof(float) * (size_t)(planes * h * w));
    for (int64_t pl = 0; pl < planes; pl++)
        for (int64_t i = 0; i < oh; i++)
            for (int64_t j = 0; j < ow; j++) {
                int64_t h0 = i * c->s[0] - c->p[0], w0 = j * c->s[1] - c->p[1];
                int64_t h1 = h0 + (c->k[0] - 1) * c->d[0] + 1,
                        w1 = w0 + (c->k[1] - 1) * c->d[1] + 1;
                if (h1 > h)
                    h1 = h;
                if (w1 > w)
                    w1 = w;
                while (h0 < 0)
                    h0 += c->d[0];
                while (w0 < 0)
                    w0 += c->d[1];
                const float *xp = x + pl * h * w;
                int64_t mi = h0 * w + w0;
                float m = -INFINITY;
                for (int64_t a = h0; a < h1; a += c->d[0])
                    for (int64_t b = w0; b < w1; b += c->d[1]) {
                        float v = xp[a * w + b];
                        if (v > m || isnan(v)) {
                            m = v;
                            mi = a * w + b;
                        }
                    }
                y[(pl * oh + i) * ow + j] = m;
                dx[pl * h * w + mi] += dy[(pl * oh + i) * ow + j];
            }
}

/* avg_pool2d forward and backward, as aten's cpu_avg_pool and cpu_avg_pool_backward. */
static void ref_avg(const pool_cfg *c, const float *x, const float *dy, float *y, float *dx,
                    int64_t oh, int64_t ow)
{
    int64_t planes = c->shape[0] * c->shape[1], h = c->shape[2], w = c->shape[3];
    memset(dx, 0, sizeof(float) * (size_t)(planes * h * w));
    for (int64_t pl = 0; pl < planes; pl++)
        for (int64_t i = 0; i < oh; i++)
            for (int64_t j = 0; j < ow; j++) {
                int64_t h0 = i * c->s[0] - c->p[0], w0 = j * c->s[1] - c->p[1];
                int64_t h1 = h0 + c->k[0], w1 = w0 + c->k[1];
                if (h1 > h + c->p[0])
                    h1 = h + c->p[0];
                if (w1 > w + c->p[1])
                    w1 = w + c->p[1];
                int64_t size = (h1 - h0) * (w1 - w0);
                h0 = h0 < 0 ? 0 : h0;
                w0 = w0 < 0 ? 0 : w0;
                h1 = h1 > h ? h : h1;
                w1 = w1 > w ? w : w1;
                int64_t div = c->divisor       ? c->divisor
                              : c->include_pad ? size
                                               : (h1 - h0) * (w1 - w0);
                float s = 0;
                for (int64_t a = h0; a < h1; a++)
                    for (int64_t b = w0; b < w1; b++)
                        s += x[pl * h * w + a * w + b];
                y[(pl * oh + i) * ow + j] = h0 < h1 && w0 < w1 ? s / (float)div : 0;
                float gv = dy[(pl * oh + i) * ow + j] / (float)div;
                for (int64_t a = h0; a < h1; a++)
                    for (int64_t b = w0; b < w1; b++)
                        dx[pl * h * w + a * w + b] += gv;
            }
}

static const pool_cfg cfgs[] = {
    {0, {2, 2}, {2, 2}, {0, 0}, {1, 1}, 0, 0, 0, {3, 5, 8, 10}},
    {0, {3, 3}, {1, 1}, {1, 1}, {1, 1}, 0, 0, 0, {2, 3, 7, 6}},
    {0, {3, 2}, {2, 3}, {1, 1}, {2, 1}, 1, 0, 0, {2, 4, 9, 8}},
    {0, {5, 5}, {2, 2}, {2, 0}, {1, 1}, 1, 0, 0, {1, 6, 11, 9}},
    {0, {4, 5}, {3, 3}, {0, 0}, {1, 1}, 0, 0, 0, {2, 2, 13, 14}},
    {0, {1, 1}, {2, 3}, {0, 0}, {1, 1}, 1, 0, 0, {2, 3, 5, 7}},
    {0, {3, 3}, {3, 3}, {0, 0}, {1, 1}, 0, 0, 0, {2, 2, 9, 12}},
    {0, {2, 2}, {2, 2}, {0, 0}, {1, 1}, 1, 0, 0, {2, 3, 7, 9}},
    {1, {2, 2}, {2, 2}, {0, 0}, {1, 1}, 0, 1, 0, {3, 5, 8, 10}},
    {1, {3, 3}, {2, 2}, {1, 1}, {1, 1}, 1, 1, 0, {2, 3, 7, 6}},
    {1, {3, 3}, {2, 2}, {1, 1}, {1, 1}, 1, 0, 0, {2, 3, 7, 6}},
    {1, {3, 2}, {1, 2}, {1, 1}, {1, 1}, 0, 1, 5, {2, 4, 6, 5}},
    {1, {5, 5}, {3, 3}, {0, 0}, {1, 1}, 0, 1, 0, {1, 6, 11, 9}},
};

/* Integer values (ties in every window), some NaN and -inf. */
static void fill(float *x, int64_t n, unsigned seed, int specials)
{
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        unsigned r = (seed >> 16) % 23;
        x[i] = (float)((int)r % 7 - 3);
        if (specials && r == 22)
            x[i] = NAN;
        else if (specials && r == 21)
            x[i] = -INFINITY;
    }
}

static int same(float a, float b)
{
    return a == b || (isnan(a) && isnan(b)) || fabsf(a - b) <= 1e-6f * (1 + fabsf(b));
}

/* Runs cfg on backend b with `threads` (and kernels split finely when above 1). */
static void check_cfg(const pool_cfg *c, nb_backend b, int threads)
{
    int64_t oh = out_size(c->shape[2], c->k[0], c->s[0], c->p[0], c->avg ? 1 : c->d[0], c->ceil);
    int64_t ow = out_size(c->shape[3], c->k[1], c->s[1], c->p[1], c->avg ? 1 : c->d[1], c->ceil);
    int64_t n = c->shape[0] * c->shape[1] * c->shape[2] * c->shape[3];
    int64_t m = c->shape[0] * c->shape[1] * oh * ow;
    int64_t yshape[4] = {c->shape[0], c->shape[1], oh, ow};
    float *x = malloc(sizeof(float) * (size_t)n), *dy = malloc(sizeof(float) * (size_t)m);
    float *y = malloc(sizeof(float) * (size_t)m), *dx = malloc(sizeof(float) * (size_t)n);
    assert_true(x && dy && y && dx);
    fill(x, n, 7u + (unsigned)n, !c->avg);
    for (int64_t i = 0; i < m; i++)
        dy[i] = (float)((i * 5) % 9) - 4.0f + 0.25f;
    (c->avg ? ref_avg : ref_max)(c, x, dy, y, dx, oh, ow);

    nb_graph *g = nb_graph_new();
    nb_node *xn = nb_input(g, "x", NB_F32, 4, c->shape);
    nb_node *gn = nb_input(g, "dy", NB_F32, 4, yshape);
    nb_node *yn = c->avg
                      ? nb_avg_pool2d(g, xn, c->k, c->s, c->p, c->ceil, c->include_pad, c->divisor)
                      : nb_max_pool2d(g, xn, c->k, c->s, c->p, c->d, c->ceil);
    if (!yn)
        fail_msg("build: %s", nb_graph_error(g));
    assert_int_equal(nb_node_shape(yn)[2], oh);
    assert_int_equal(nb_node_shape(yn)[3], ow);
    nb_node *outs[2] = {yn, NULL};
    assert_int_equal(nb_vjp(g, yn, gn, &xn, 1, &outs[1]), 0);
    nb_compile_options opt = {
        .outputs = outs, .n_outputs = 2, .backend = b, .threads = threads, .keep_plan = 1};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(g));
    if (threads > 1 && c->shape[0] * c->shape[1] >= 2 * CG_SPLIT_GRAIN)
        assert_non_null(strstr(nb_program_plan(p), "split in"));
    assert_int_equal(nb_program_bind(p, "x", x), 0);
    assert_int_equal(nb_program_bind(p, "dy", dy), 0);
    if (nb_program_run(p) != 0)
        fail_msg("run: %s", nb_program_error(p));
    const float *gy = nb_program_output(p, 0), *gdx = nb_program_output(p, 1);
    for (int64_t i = 0; i < m; i++)
        if (!same(gy[i], y[i]))
            fail_msg("cfg %d: y[%lld] = %g, torch's kernel %g", (int)(c - cfgs), (long long)i,
                     gy[i], y[i]);
    for (int64_t i = 0; i < n; i++)
        if (!same(gdx[i], dx[i]))
            fail_msg("cfg %d: dx[%lld] = %g, torch's kernel %g", (int)(c - cfgs), (long long)i,
                     gdx[i], dx[i]);
    nb_program_free(p);
    nb_graph_free(g);
    free(x), free(dy), free(y), free(dx);
}

static void test_torch_kernels_tcc(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cfgs / sizeof *cfgs; i++)
        check_cfg(&cfgs[i], NB_BACKEND_TCC, 1);
}

static void test_torch_kernels_cc(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cfgs / sizeof *cfgs; i++)
        check_cfg(&cfgs[i], NB_BACKEND_CC, 1);
}

/* libtcc's programs call the runtime's compiled pooling kernels (rt_pooling.c), cc's
 * run the generated C: the same bits, -0 gradients included (a NaN is a NaN in both:
 * which of two NaNs an addition returns depends on the order a compiler puts its operands
 * in, as for every op). */
static void test_backends_same_bits(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cfgs / sizeof *cfgs; i++) {
        const pool_cfg *c = &cfgs[i];
        int64_t n = c->shape[0] * c->shape[1] * c->shape[2] * c->shape[3];
        float *x = malloc(sizeof(float) * (size_t)n);
        assert_non_null(x);
        fill(x, n, 11u + (unsigned)i, 1);
        for (int64_t k = 0; k < n; k += 5)
            x[k] = -x[k] - 0.5f; /* values that are not integers, some -0 gradients below */
        nb_graph *g = nb_graph_new();
        nb_node *xn = nb_input(g, "x", NB_F32, 4, c->shape);
        nb_node *y =
            c->avg ? nb_avg_pool2d(g, xn, c->k, c->s, c->p, c->ceil, c->include_pad, c->divisor)
                   : nb_max_pool2d(g, xn, c->k, c->s, c->p, c->d, c->ceil);
        /* dy = -0 * y + y * y: every kind of value, -0 where y is 0. */
        nb_node *dy = nb_mul(g, nb_scalar(g, NB_F32, -0.5), nb_mul(g, y, y));
        nb_node *outs[3] = {y, NULL, NULL};
        assert_int_equal(nb_vjp(g, y, dy, &xn, 1, &outs[1]), 0);
        /* The gradient's own gradient: max_pool2d_select, avg_pool2d. */
        assert_int_equal(nb_vjp(g, outs[1], xn, &xn, 1, &outs[2]), 0);
        nb_program *p[2];
        for (int b = 0; b < 2; b++) {
            nb_compile_options opt = {
                .outputs = outs, .n_outputs = 3, .backend = b ? NB_BACKEND_CC : NB_BACKEND_TCC};
            p[b] = nb_compile(g, &opt);
            if (!p[b])
                fail_msg("compile: %s", nb_graph_error(g));
            assert_int_equal(nb_program_bind(p[b], "x", x), 0);
            assert_int_equal(nb_program_run(p[b]), 0);
        }
        for (int o = 0; o < 3; o++) {
            size_t bytes = (size_t)nb_program_output_numel(p[0], o) * sizeof(float);
            const float *a = nb_program_output(p[0], o), *b = nb_program_output(p[1], o);
            for (size_t k = 0; k < bytes / sizeof *a; k++)
                if (memcmp(a + k, b + k, sizeof *a) != 0 && !(isnan(a[k]) && isnan(b[k])))
                    fail_msg("cfg %d: output %d [%zu] is %a under tcc, %a under cc", (int)i, o, k,
                             (double)a[k], (double)b[k]);
        }
        nb_program_free(p[0]);
        nb_program_free(p[1]);
        nb_graph_free(g);
        free(x);
    }
}

/* Split over planes: each plane on one thread, so the bits are the same. */
static void test_split_threads(void **state)
{
    (void)state;
    rt_threads_set_split_min(CG_SPLIT_GRAIN);
    pool_cfg big[3] = {cfgs[2], cfgs[10], cfgs[0]};
    for (int i = 0; i < 3; i++) {
        big[i].shape[0] = 8;
        big[i].shape[1] = 9;
        check_cfg(&big[i], NB_BACKEND_TCC, 4);
        check_cfg(&big[i], NB_BACKEND_CC, 3);
    }
    rt_threads_set_split_min(0);
}

/* Two poolings of one input with the same result shape but other windows stay two
 * nodes (the compile's common-subexpression merge compares the window attributes). */
static void test_not_merged(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 4, (const int64_t[]){1, 1, 4, 4});
    nb_node *outs[4] = {
        nb_max_pool2d(g, x, (const int64_t[]){2, 2}, NULL, NULL, NULL, 0),
        nb_max_pool2d(g, x, (const int64_t[]){3, 3}, (const int64_t[]){1, 1}, NULL, NULL, 0),
        nb_avg_pool2d(g, x, (const int64_t[]){2, 2}, NULL, NULL, 0, 1, 0),
        nb_avg_pool2d(g, x, (const int64_t[]){2, 2}, NULL, NULL, 0, 1, 3),
    };
    nb_compile_options opt = {.outputs = outs, .n_outputs = 4};
    nb_program *p = nb_compile(g, &opt);
    assert_non_null(p);
    float xv[16];
    for (int i = 0; i < 16; i++)
        xv[i] = (float)i;
    assert_int_equal(nb_program_bind(p, "x", xv), 0);
    assert_int_equal(nb_program_run(p), 0);
    /* By hand: 2x2 windows at stride 2, and 3x3 at stride 1, of 0..15 row-major. */
    const float want[4][4] = {{5, 7, 13, 15},
                              {10, 11, 14, 15},
                              {2.5f, 4.5f, 10.5f, 12.5f},
                              {10.0f / 3, 6, 42.0f / 3, 50.0f / 3}};
    for (int o = 0; o < 4; o++) {
        const float *y = nb_program_output(p, o);
        for (int i = 0; i < 4; i++)
            if (y[i] != want[o][i])
                fail_msg("output %d [%d] = %g, expected %g", o, i, y[i], want[o][i]);
    }
    nb_program_free(p);
    nb_graph_free(g);
}

/* ---- errors -------------------------------------------------------------------- */

static void expect_error(nb_graph *g, nb_node *n, const char *msg)
{
    assert_null(n);
    assert_non_null(nb_graph_error(g));
    if (!strstr(nb_graph_error(g), msg))
        fail_msg("error '%s' lacks '%s'", nb_graph_error(g), msg);
    nb_graph_free(g);
}

static nb_graph *graph_with(nb_dtype dt, int rank, const int64_t *shape, nb_node **x)
{
    nb_graph *g = nb_graph_new();
    *x = nb_input(g, "x", dt, rank, shape);
    return g;
}

static void test_errors(void **state)
{
    (void)state;
    static const int64_t s4[4] = {1, 2, 5, 6}, s2[2] = {5, 6};
    const int64_t k2[2] = {2, 2}, k3[2] = {3, 3};
    nb_node *x;
    nb_graph *g;
    g = graph_with(NB_F32, 2, s2, &x);
    expect_error(g, nb_max_pool2d(g, x, k2, NULL, NULL, NULL, 0),
                 "max_pool2d: input f32[5,6]; expected rank 3 ([C, H, W]) or 4 ([N, C, H, W])");
    g = graph_with(NB_I32, 4, s4, &x);
    expect_error(g, nb_avg_pool2d(g, x, k2, NULL, NULL, 0, 1, 0),
                 "avg_pool2d: expected f32 or f64 operands, got i32[1,2,5,6]");
    g = graph_with(NB_F32, 4, s4, &x);
    expect_error(g, nb_max_pool2d(g, x, (const int64_t[]){0, 2}, NULL, NULL, NULL, 0),
                 "max_pool2d: kernel 0 and stride 0 on spatial axis 0; expected 1 to 2147483647");
    g = graph_with(NB_F32, 4, s4, &x);
    expect_error(g, nb_max_pool2d(g, x, k2, (const int64_t[]){1, -1}, NULL, NULL, 0),
                 "max_pool2d: kernel 2 and stride -1 on spatial axis 1");
    g = graph_with(NB_F32, 4, s4, &x);
    expect_error(g, nb_max_pool2d(g, x, k2, NULL, NULL, (const int64_t[]){1, 0}, 0),
                 "max_pool2d: dilation 0 on spatial axis 1; expected 1 to 2147483647");
    g = graph_with(NB_F32, 4, s4, &x);
    expect_error(g, nb_max_pool2d(g, x, k3, NULL, (const int64_t[]){2, 1}, NULL, 0),
                 "max_pool2d: padding 2, 2 on spatial axis 0; expected 0 to half the kernel (1), "
                 "as torch requires");
    g = graph_with(NB_F32, 4, s4, &x);
    expect_error(g, nb_avg_pool2d(g, x, k2, NULL, (const int64_t[]){0, -1}, 0, 1, 0),
                 "avg_pool2d: padding -1, -1 on spatial axis 1");
    g = graph_with(NB_F32, 4, s4, &x);
    expect_error(g, nb_max_pool2d(g, x, (const int64_t[]){6, 2}, NULL, NULL, NULL, 0),
                 "max_pool2d: input f32[1,2,5,6]: spatial axis 0 of 5 with padding 0, 0 is smaller "
                 "than the window (6 elements); the output would be empty");
    g = graph_with(NB_F32, 4, s4, &x);
    expect_error(g, nb_max_pool2d(g, x, k3, NULL, NULL, (const int64_t[]){3, 1}, 0),
                 "spatial axis 0 of 5 with padding 0, 0 is smaller than the window (7 elements)");
    g = graph_with(NB_F32, 4, s4, &x);
    expect_error(g, nb_avg_pool2d(g, x, k2, NULL, NULL, 0, 1, -3),
                 "avg_pool2d: divisor_override is -3; expected > 0 (or 0 for None)");
    g = graph_with(NB_F32, 4, s4, &x);
    expect_error(g, nb_max_pool2d(g, x, NULL, NULL, NULL, NULL, 0),
                 "max_pool2d: kernel is NULL; expected two sizes (rows, columns)");
    g = nb_graph_new();
    expect_error(g, nb_avg_pool2d(g, NULL, k2, NULL, NULL, 0, 1, 0),
                 "avg_pool2d: operand 0 is NULL");
    g = graph_with(NB_F32, 4, s4, &x);
    expect_error(g, nb_adaptive_avg_pool2d(g, x, 0, 2),
                 "adaptive_avg_pool2d: output size 0 x 2; expected 1 to 2147483647 each");
    g = graph_with(NB_F64, 2, s2, &x);
    expect_error(g, nb_adaptive_avg_pool2d(g, x, 1, 1),
                 "adaptive_avg_pool2d: input f64[5,6]; expected f32 or f64 of rank 3 or 4");
    /* Found by the random-graph test (tests/support/randgraph.c): one column, padding 1
     * and dilation 2 put the window's taps at -1 and 1, both padding; its argmax indexed
     * past the plane (select and the gradient read and wrote another plane's element,
     * or past the buffer). Two columns give tap 1 an element: it compiles. */
    static const int64_t one_col[4] = {1, 1, 1, 1}, two_cols[4] = {1, 1, 1, 2};
    g = graph_with(NB_F32, 4, one_col, &x);
    expect_error(g,
                 nb_max_pool2d(g, x, (const int64_t[]){3, 2}, (const int64_t[]){2, 2},
                               (const int64_t[]){1, 1}, (const int64_t[]){1, 2}, 0),
                 "max_pool2d: input f32[1,1,1,1]: window 0 of spatial axis 1 (kernel 2, "
                 "dilation 2, padding 1) holds only padding; its maximum would have no element");
    g = graph_with(NB_F32, 4, two_cols, &x);
    assert_non_null(nb_max_pool2d(g, x, (const int64_t[]){3, 2}, (const int64_t[]){2, 2},
                                  (const int64_t[]){1, 1}, (const int64_t[]){1, 2}, 0));
    nb_graph_free(g);
    assert_null(nb_max_pool2d(NULL, NULL, k2, NULL, NULL, NULL, 0));
    assert_null(nb_adaptive_avg_pool2d(NULL, NULL, 1, 1));
}

/* Graph files reach the shape rules with any values: each is refused with a message. */
static void test_graph_format_errors(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {"%1 = max_pool2d f32[1,1,2,2] (%0) kernel=[2,2] stride=[0,2] dilation=[1,1] "
         "padding=[0,0,0,0] ceil_mode=0\n",
         "max_pool2d: kernel 2 and stride 0 on spatial axis 0"},
        {"%1 = max_pool2d f32[1,1,2,2] (%0) kernel=[2,2] stride=[2,2] dilation=[1,1] "
         "padding=[0,2,0,0] ceil_mode=0\n",
         "max_pool2d: padding 2, 0 on spatial axis 1; expected 0 to half the kernel (1)"},
        {"%1 = max_pool2d f32[1,1,2,2] (%0) kernel=[2,2] stride=[2,2] dilation=[1,0] "
         "padding=[0,0,0,0] ceil_mode=0\n",
         "max_pool2d: dilation 0 on spatial axis 1"},
        {"%1 = avg_pool2d f32[1,1,2,2] (%0) kernel=[2,2] stride=[2,2] padding=[0,0,0,0] "
         "ceil_mode=2 count_include_pad=1 divisor_override=0\n",
         "a flag (0 or 1) 2 is out of range [0, 1]"},
        {"%1 = avg_pool2d f32[1,1,2,2] (%0) kernel=[2,2] stride=[2,2] padding=[0,0,0,0] "
         "ceil_mode=0 count_include_pad=1 divisor_override=-1\n",
         "a divisor (0 for none)"},
        {"%1 = avg_pool2d f32[1,1,1,1] (%0) kernel=[2147483647,2] stride=[2147483647,2] "
         "padding=[0,0,0,0] ceil_mode=1 count_include_pad=1 divisor_override=0\n",
         "smaller than the window"},
        {"%1 = max_pool2d_grad f32[1,1,4,4] (%0, %0) kernel=[2,2] stride=[2,2] dilation=[1,1] "
         "padding=[0,0,0,0] ceil_mode=0\n",
         "max_pool2d_grad: gradient f32[1,1,4,4] does not have the shape of f32[1,1,4,4] pooled "
         "(spatial 2 x 2)"},
        {"%1 = avg_pool2d_grad f32[1,1,4,4] (%0) shape=[1,1,9223372036854775807,4] kernel=[2,2] "
         "stride=[2,2] padding=[0,0,0,0] ceil_mode=0 count_include_pad=1 divisor_override=0\n",
         "avg_pool2d_grad: result dimension 2 is 9223372036854775807"},
        {"%1 = avg_pool2d_grad f32[1,1,4,4] (%0) shape=[1,4,4] kernel=[2,2] stride=[2,2] "
         "padding=[0,0,0,0] ceil_mode=0 count_include_pad=1 divisor_override=0\n",
         "avg_pool2d_grad: gradient f32[1,1,4,4] does not have the shape of f32[1,4,4] pooled"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char text[1024], err[512];
        snprintf(text, sizeof text, "nabla-graph 1\n%%0 = input f32[1,1,4,4]\n%s", bad[i][0]);
        nb_graph *g = nb_graph_parse(text, strlen(text), NULL, err, sizeof err);
        if (g)
            fail_msg("case %d parsed", (int)i);
        if (!strstr(err, bad[i][1]))
            fail_msg("case %d: error '%s' lacks '%s'", (int)i, err, bad[i][1]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradchecks),
        cmocka_unit_test(test_torch_kernels_tcc),
        cmocka_unit_test(test_torch_kernels_cc),
        cmocka_unit_test(test_split_threads),
        cmocka_unit_test(test_backends_same_bits),
        cmocka_unit_test(test_not_merged),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_graph_format_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
