/* test_conv.c — convolutions: f64 finite-difference gradient checks of conv2d, conv1d
 * and conv_transpose2d in many configurations and of a gradient's gradient; f32 results
 * on the tcc and cc backends, on one thread and split across four, against a direct
 * convolution written here; the builders' errors; and im2col/col2im lines of hostile
 * graph files that must fail with a message. (PyTorch's numbers: test_golden.) */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nabla.h"

typedef nb_node *(*conv_fn)(nb_graph *g, nb_node *x, nb_node *w, nb_node *b,
                            const nb_conv_options *o);

/* A configuration: the builder, x's and weight's shapes (rank 3 for conv1d), bias
 * channels (0: none) and the options. */
typedef struct conv_case {
    const char *name;
    conv_fn fn;
    int rank;
    int64_t x[4], w[4];
    int64_t bias;
    nb_conv_options o;
} conv_case;

static const conv_case cases[] = {
    {"plain", nb_conv2d, 4, {2, 3, 5, 4}, {2, 3, 3, 2}, 2, {.groups = 0}},
    {"stride_pad",
     nb_conv2d,
     4,
     {1, 2, 6, 7},
     {3, 2, 3, 3},
     3,
     {.stride = {2, 3}, .padding = {1, 2}}},
    {"dilation",
     nb_conv2d,
     4,
     {1, 2, 7, 6},
     {2, 2, 2, 3},
     0,
     {.dilation = {2, 2}, .padding = {1, 0}}},
    {"groups", nb_conv2d, 4, {2, 4, 4, 4}, {6, 2, 3, 3}, 6, {.groups = 2, .padding = {1, 1}}},
    {"depthwise", nb_conv2d, 4, {1, 3, 5, 5}, {6, 1, 3, 3}, 6, {.groups = 3, .stride = {2, 2}}},
    {"same_even",
     nb_conv2d,
     4,
     {1, 2, 5, 6},
     {2, 2, 2, 4},
     2,
     {.padding_same = 1, .dilation = {2, 1}}},
    {"pointwise", nb_conv2d, 4, {2, 3, 3, 3}, {4, 3, 1, 1}, 4, {.groups = 1}},
    {"transpose",
     nb_conv_transpose2d,
     4,
     {2, 3, 3, 4},
     {3, 2, 3, 3},
     2,
     {.stride = {2, 2}, .padding = {1, 0}, .output_padding = {1, 1}}},
    {"transpose_groups",
     nb_conv_transpose2d,
     4,
     {1, 4, 3, 3},
     {4, 1, 2, 3},
     2,
     {.stride = {3, 1}, .groups = 2, .dilation = {1, 2}, .output_padding = {2, 0}}},
    {"conv1d",
     nb_conv1d,
     3,
     {2, 2, 9},
     {3, 2, 4},
     3,
     {.stride = {2}, .padding = {2}, .dilation = {2}}},
    {"conv1d_same", nb_conv1d, 3, {1, 4, 7}, {2, 2, 2}, 0, {.padding_same = 1, .groups = 2}},
};

#define N_CASES ((int)(sizeof cases / sizeof *cases))

/* Builds y = fn(x, w, b) of case c in dtype dt; leaves in xs[0..3) (b NULL when none). */
static nb_node *build(nb_graph *g, const conv_case *c, nb_dtype dt, nb_node **xs)
{
    xs[0] = nb_input(g, "x", dt, c->rank, c->x);
    xs[1] = nb_input(g, "w", dt, c->rank, c->w);
    xs[2] = c->bias ? nb_input(g, "b", dt, 1, &c->bias) : NULL;
    nb_node *y = c->fn(g, xs[0], xs[1], xs[2], &c->o);
    if (!y)
        fail_msg("%s: %s", c->name, nb_graph_error(g));
    return y;
}

/* d/d(x, w, b) of sum(sin(y) * y): nonlinear, so every element of y counts differently. */
static void test_gradcheck(void **state)
{
    (void)state;
    for (int i = 0; i < N_CASES; i++) {
        nb_graph *g = nb_graph_new();
        nb_node *xs[3];
        nb_node *y = build(g, &cases[i], NB_F64, xs);
        nb_node *loss = nb_sum(g, nb_mul(g, nb_sin(g, y), y), NULL, 0, 0);
        nb_gradcheck_result r;
        int n = cases[i].bias ? 3 : 2;
        if (nb_gradcheck(g, loss, xs, n, NULL, &r) != 0 || !r.ok)
            fail_msg("%s: %s", cases[i].name, r.message);
        assert_int_equal(r.skipped, 0);
        nb_graph_free(g);
    }
}

/* The gradient of a gradient: f = sum(tanh(conv(x, w))^2), then d/d(x, w) of
 * sum(d f / d x * v) checked by finite differences of the first gradient. */
static void test_second_order(void **state)
{
    (void)state;
    for (int i = 0; i < N_CASES; i++) {
        nb_graph *g = nb_graph_new();
        nb_node *xs[3];
        nb_node *y = nb_tanh(g, build(g, &cases[i], NB_F64, xs));
        nb_node *f = nb_sum(g, nb_mul(g, y, y), NULL, 0, 0);
        nb_node *gx;
        assert_int_equal(nb_grad(g, f, xs, 1, &gx), 0);
        nb_node *v = nb_input(g, "v", NB_F64, nb_node_rank(gx), nb_node_shape(gx));
        nb_node *h = nb_sum(g, nb_mul(g, gx, v), NULL, 0, 0);
        nb_gradcheck_result r;
        if (nb_gradcheck(g, h, xs, 2, NULL, &r) != 0 || !r.ok)
            fail_msg("%s: %s", cases[i].name, r.message);
        nb_graph_free(g);
    }
}

/* ---- against a direct convolution -------------------------------------------------- */

static double value(uint64_t k, uint64_t salt)
{
    uint64_t s = (k + 1) * 0x9e3779b97f4a7c15ull ^ salt;
    s ^= s >> 31;
    s *= 0xbf58476d1ce4e5b9ull;
    s ^= s >> 29;
    return (double)(s >> 11) / 9007199254740992.0 - 0.5;
}

/* conv2d by its definition, in double: x [N,C,H,W], w [OC,C/G,KH,KW]. */
static void direct_conv2d(const int64_t *xs, const double *x, const int64_t *ws, const double *w,
                          const double *b, const int64_t *s, const int64_t *p, const int64_t *d,
                          int64_t groups, const int64_t *ys, double *y)
{
    int64_t cg = ws[1], ocg = ws[0] / groups;
    for (int64_t n = 0; n < ys[0]; n++)
        for (int64_t oc = 0; oc < ys[1]; oc++)
            for (int64_t oh = 0; oh < ys[2]; oh++)
                for (int64_t ow = 0; ow < ys[3]; ow++) {
                    double acc = b ? b[oc] : 0.0;
                    for (int64_t c = 0; c < cg; c++)
                        for (int64_t i = 0; i < ws[2]; i++)
                            for (int64_t j = 0; j < ws[3]; j++) {
                                int64_t ih = oh * s[0] - p[0] + i * d[0],
                                        iw = ow * s[1] - p[1] + j * d[1];
                                if (ih < 0 || ih >= xs[2] || iw < 0 || iw >= xs[3])
                                    continue;
                                int64_t ci = (oc / ocg) * cg + c;
                                acc += x[((n * xs[1] + ci) * xs[2] + ih) * xs[3] + iw] *
                                       w[((oc * cg + c) * ws[2] + i) * ws[3] + j];
                            }
                    y[((n * ys[1] + oc) * ys[2] + oh) * ys[3] + ow] = acc;
                }
}

/* A layer large enough that im2col and the gemms split across threads: f32
 * results of tcc and cc, on 1 and 4 threads, within rounding of the direct convolution,
 * and the same bits whatever the threads. */
static void reference(int64_t batch, int64_t groups, const int64_t *s, const int64_t *p,
                      const int64_t *d)
{
    int64_t xs[4] = {batch, 4, 23, 19}, ws[4] = {8, 4 / groups, 3, 4}, bs = 8;
    nb_conv_options o = {.stride = {s[0], s[1]},
                         .padding = {p[0], p[1]},
                         .dilation = {d[0], d[1]},
                         .groups = (int)groups};
    int64_t nx = batch * 4 * 23 * 19, nw = ws[0] * ws[1] * ws[2] * ws[3];
    float *xf = malloc(sizeof(float) * (size_t)(nx + nw + bs));
    double *xd = malloc(sizeof(double) * (size_t)(nx + nw + bs));
    for (int64_t k = 0; k < nx + nw + bs; k++)
        xd[k] = xf[k] = (float)value((uint64_t)k, 7);
    float *first = NULL;
    int64_t ny = 0;
    for (int b = 0; b < 2; b++)
        for (int threads = 1; threads <= 4; threads += 3) {
            nb_graph *g = nb_graph_new();
            nb_node *x = nb_input(g, "x", NB_F32, 4, xs), *w = nb_input(g, "w", NB_F32, 4, ws);
            nb_node *bias = nb_input(g, "b", NB_F32, 1, &bs);
            nb_node *y = nb_conv2d(g, x, w, bias, &o);
            assert_non_null(y);
            nb_compile_options opt = {.outputs = &y,
                                      .n_outputs = 1,
                                      .backend = b ? NB_BACKEND_CC : NB_BACKEND_TCC,
                                      .threads = threads};
            nb_program *prog = nb_compile(g, &opt);
            if (!prog)
                fail_msg("compile: %s", nb_graph_error(g));
            nb_program_bind(prog, "x", xf);
            nb_program_bind(prog, "w", xf + nx);
            nb_program_bind(prog, "b", xf + nx + nw);
            assert_int_equal(nb_program_run(prog), 0);
            const float *out = nb_program_output(prog, 0);
            if (!first) {
                const int64_t *ys = nb_node_shape(y);
                ny = nb_node_numel(y);
                double *want = malloc(sizeof(double) * (size_t)ny);
                direct_conv2d(xs, xd, ws, xd + nx, xd + nx + nw, o.stride, o.padding, o.dilation,
                              groups, ys, want);
                for (int64_t k = 0; k < ny; k++)
                    if (fabs(out[k] - want[k]) > 1e-5 * (1 + fabs(want[k])))
                        fail_msg("element %lld: %.9g, expected %.9g", (long long)k, out[k],
                                 want[k]);
                free(want);
                first = malloc(sizeof(float) * (size_t)ny);
                memcpy(first, out, sizeof(float) * (size_t)ny);
            } else if (memcmp(first, out, sizeof(float) * (size_t)ny) != 0)
                fail_msg("backend %d, %d threads: other bits", b, threads);
            nb_program_free(prog);
            nb_graph_free(g);
        }
    free(first);
    free(xf);
    free(xd);
}

static void test_reference(void **state)
{
    (void)state;
    reference(3, 1, (const int64_t[]){1, 1}, (const int64_t[]){1, 1}, (const int64_t[]){1, 1});
    reference(3, 2, (const int64_t[]){2, 3}, (const int64_t[]){0, 2}, (const int64_t[]){2, 1});
    reference(3, 4, (const int64_t[]){1, 2}, (const int64_t[]){3, 0}, (const int64_t[]){1, 3});
    /* A batch of 40: the per-image gemms split over the batch on 4 threads. */
    reference(40, 1, (const int64_t[]){2, 2}, (const int64_t[]){1, 1}, (const int64_t[]){1, 1});
}

/* ---- errors ------------------------------------------------------------------------ */

/* Builds fn(x [xs], w [ws], bias [bs or none]) with o and expects an error holding want. */
static void expect_error(conv_fn fn, int rank, const int64_t *xs, const int64_t *ws, int64_t bs,
                         const nb_conv_options *o, const char *want)
{
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, rank, xs), *w = nb_input(g, "w", NB_F32, rank, ws);
    nb_node *b = bs ? nb_input(g, "b", NB_F32, 1, &bs) : NULL;
    if (fn(g, x, w, b, o))
        fail_msg("built without an error; expected \"%s\"", want);
    const char *e = nb_graph_error(g);
    if (!e || !strstr(e, want))
        fail_msg("error \"%s\" lacks \"%s\"", e ? e : "(none)", want);
    nb_graph_free(g);
}

static void test_errors(void **state)
{
    (void)state;
    const int64_t x[4] = {2, 4, 5, 5}, w[4] = {6, 4, 3, 3}, x3[3] = {2, 4, 9}, w3[3] = {3, 4, 3};
    nb_conv_options o = {.stride = {-1, 0}};
    expect_error(nb_conv2d, 4, x, w, 0, &o, "conv2d: x f32[2,4,5,5], weight f32[6,4,3,3]: ");
    expect_error(nb_conv2d, 4, x, w, 0, &o, "stride -1");
    o = (nb_conv_options){.padding = {0, -2}};
    expect_error(nb_conv2d, 4, x, w, 0, &o, "padding -2");
    o = (nb_conv_options){.dilation = {3, 1}};
    expect_error(nb_conv2d, 4, x, w, 0, &o, "does not fit the padded input (5 + 0 + 0)");
    o = (nb_conv_options){.groups = 3};
    expect_error(nb_conv2d, 4, x, w, 0, &o, "4 input channels and 6 output channels in 3 groups");
    o = (nb_conv_options){.groups = -1};
    expect_error(nb_conv2d, 4, x, w, 0, &o, "groups is -1");
    o = (nb_conv_options){.groups = 2}; /* weight [6, 4, ...] needs [6, 2, ...] */
    expect_error(nb_conv2d, 4, x, w, 0, &o,
                 "4 input channels in 2 groups need weight [6, 2, kh, kw]");
    o = (nb_conv_options){.groups = 0};
    expect_error(nb_conv2d, 4, x, w, 5, &o, "bias f32[5]: expected bias [6]");
    o = (nb_conv_options){.padding_same = 1, .stride = {2, 1}};
    expect_error(nb_conv2d, 4, x, w, 0, &o, "padding_same needs stride 1");
    o = (nb_conv_options){.padding_same = 1, .padding = {1, 1}};
    expect_error(nb_conv2d, 4, x, w, 0, &o, "padding_same with padding 1");
    o = (nb_conv_options){.output_padding = {1, 0}};
    expect_error(nb_conv2d, 4, x, w, 0, &o, "output_padding is for conv_transpose2d only");
    expect_error(nb_conv2d, 3, x3, w3, 0, NULL, "expected x and weight of rank 4");
    expect_error(nb_conv1d, 4, x, w, 0, NULL, "conv1d: x f32[2,4,5,5]");
    o = (nb_conv_options){.stride = {1, 2}};
    expect_error(nb_conv1d, 3, x3, w3, 0, &o, "conv1d reads index 0 only");
    /* conv_transpose2d: weight [C, OC/groups, ...] */
    const int64_t wt[4] = {4, 3, 3, 3};
    o = (nb_conv_options){.output_padding = {2, 0}, .stride = {2, 2}};
    expect_error(nb_conv_transpose2d, 4, x, wt, 0, &o, "output_padding 2 on axis 0");
    o = (nb_conv_options){.padding_same = 1};
    expect_error(nb_conv_transpose2d, 4, x, wt, 0, &o, "conv_transpose2d: x f32[2,4,5,5]");
    o = (nb_conv_options){.padding = {9, 0}};
    expect_error(nb_conv_transpose2d, 4, x, wt, 0, &o, "the output size on axis 0 is -11");
    expect_error(nb_conv_transpose2d, 4, x, w, 0, NULL, "need weight [4, OC/groups");
    /* Sizes whose products overflow are errors, never wrapped. */
    const int64_t xbig[4] = {1, 1, (int64_t)1 << 40, 1}, w11[4] = {1, 1, 1, 1};
    o = (nb_conv_options){.padding = {0, INT32_MAX}};
    expect_error(nb_conv2d, 4, xbig, w11, 0, &o,
                 "conv2d: x f32[1,1,1099511627776,1], weight f32[1,1,1,1]: the output [1, 1, "
                 "1099511627776, 4294967295] has too many elements");
    const int64_t x1[4] = {1, 4, 1, 1}, wlong[4] = {4, 3, (int64_t)1 << 31, 1};
    expect_error(nb_conv_transpose2d, 4, x1, wlong, 0, NULL,
                 "the kernel has 2147483648 taps on axis 0");
    /* Mixed dtypes and NULL operands. */
    nb_graph *g = nb_graph_new();
    nb_node *xf = nb_input(g, "x", NB_F32, 4, x), *wd = nb_input(g, "w", NB_F64, 4, w);
    assert_null(nb_conv2d(g, xf, wd, NULL, NULL));
    assert_non_null(strstr(nb_graph_error(g), "expected operands of one float dtype"));
    nb_graph_free(g);
    g = nb_graph_new();
    assert_null(nb_conv2d(g, NULL, NULL, NULL, NULL));
    assert_non_null(strstr(nb_graph_error(g), "conv2d: x is NULL"));
    nb_graph_free(g);
    assert_null(nb_conv2d(NULL, NULL, NULL, NULL, NULL));
}

/* ---- hostile graph files ----------------------------------------------------------- */

/* A graph text with x [1,2,5,5] and one im2col or col2im line; parsing must fail with a
 * message holding want. */
static void expect_parse_error(const char *line, const char *want)
{
    char text[1024], err[512] = "";
    snprintf(text, sizeof text,
             "nabla-graph 1\n%%0 = input f32[1,2,5,5] name=\"x\"\n%%1 = input f32[1,18,9] "
             "name=\"c\"\n%s\n",
             line);
    nb_graph *g = nb_graph_parse(text, strlen(text), NULL, err, sizeof err);
    if (g) {
        nb_graph_free(g);
        fail_msg("parsed: %s", line);
    }
    if (!strstr(err, want))
        fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static void test_graph_file(void **state)
{
    (void)state;
    const char *ok = "%2 = im2col f32[1,18,9] (%0) kernel=[3,3] stride=[2,2] dilation=[1,1] "
                     "padding=[1,1,1,1]";
    char text[1024], err[512] = "";
    snprintf(text, sizeof text,
             "nabla-graph 1\n%%0 = input f32[1,2,5,5] name=\"x\"\n%%1 = input f32[1,18,9] "
             "name=\"c\"\n%s\n%%3 = col2im f32[1,2,5,5] (%%1) shape=[1,2,5,5] kernel=[3,3] "
             "stride=[2,2] dilation=[1,1] padding=[1,1,1,1]\n",
             ok);
    nb_graph *g = nb_graph_parse(text, strlen(text), NULL, err, sizeof err);
    if (!g)
        fail_msg("%s", err);
    nb_graph_free(g);
    expect_parse_error("%2 = im2col f32[1,18,9] (%0) kernel=[0,3] stride=[2,2] dilation=[1,1] "
                       "padding=[1,1,1,1]",
                       "im2col: axis 2 of f32[1,2,5,5]: kernel 0");
    expect_parse_error("%2 = im2col f32[1,18,9] (%0) kernel=[3,3] stride=[0,2] dilation=[1,1] "
                       "padding=[1,1,1,1]",
                       "stride 0");
    expect_parse_error("%2 = im2col f32[1,18,9] (%0) kernel=[3,3] stride=[1,1] dilation=[9,1] "
                       "padding=[1,1,1,1]",
                       "dilation 9");
    expect_parse_error("%2 = im2col f32[1,18,9] (%0) kernel=[2147483647,2147483647] "
                       "stride=[1,1] dilation=[2147483647,2147483647] "
                       "padding=[2147483647,2147483647,2147483647,2147483647]",
                       "im2col:");
    expect_parse_error("%2 = im2col f32[1,18,9] (%1) kernel=[1,1] stride=[1,1] dilation=[1,1] "
                       "padding=[0,0,0,0]",
                       "im2col: x is f32[1,18,9]");
    expect_parse_error("%2 = col2im f32[1,2,5,8] (%1) shape=[1,2,5,8] kernel=[3,3] "
                       "stride=[2,2] dilation=[1,1] padding=[1,1,1,1]",
                       "col2im: col is f32[1,18,9]; the window over f32[1,2,5,8]");
    expect_parse_error("%2 = col2im f32[1,2,5,5] (%1) shape=[1,2,5] kernel=[3,3] "
                       "stride=[2,2] dilation=[1,1] padding=[1,1,1,1]",
                       "col2im: the result has rank 3");
    expect_parse_error("%2 = col2im f32[1,2,5,5] (%1) shape=[1,2,0,5] kernel=[3,3] "
                       "stride=[2,2] dilation=[1,1] padding=[1,1,1,1]",
                       "col2im: dimension 2 of the result is 0");
    expect_parse_error("%2 = col2im f32[1,2,5,5] (%1) shape=[1,2,5,5] kernel=[3,3] "
                       "stride=[2,2] dilation=[1,1] padding=[1,1,1,1] groups=2",
                       "groups");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradcheck),  cmocka_unit_test(test_second_order),
        cmocka_unit_test(test_reference),  cmocka_unit_test(test_errors),
        cmocka_unit_test(test_graph_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
