/* test_onnx_nn.c — the ONNX layer importers (frontend/onnx/nb_ox_nn*.c) where the
 * conformance tests do not reach: values the importers refuse with a reason, hostile
 * attributes that must fail cleanly, an average pool with ceil_mode and
 * count_include_pad checked against torch's divisors (computed by hand below), and the
 * gradients of the composed imports against finite differences. Models are written by
 * a small protobuf encoder of one node with float inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nabla.h"
#include "nabla_onnx.h"
#include "onnx_pb.h"

/* ---- one-node models ---- */

/* The model of node (its inputs X0, X1, ... of the shapes given, float; outputs Y0, ...
 * float of any shape) at opset. */
static void model(pb *out, const pb *node, int opset, int n_in, const int *ranks,
                  const int64_t (*dims)[5], int n_out)
{
    pb graph = {.n = 0};
    pb_msg(&graph, 1, node);
    pb_str(&graph, 2, "g");
    for (int i = 0; i < n_in; i++) {
        char name[8] = {'X', (char)('0' + i), 0};
        pb_value_info(&graph, 11, name, NB_ONNX_FLOAT, ranks[i], dims[i]);
    }
    for (int i = 0; i < n_out; i++) {
        char name[8] = {'Y', (char)('0' + i), 0};
        pb_value_info(&graph, 12, name, NB_ONNX_FLOAT, -1, NULL);
    }
    pb_model(out, &graph, opset);
}

static const int64_t x4[1][5] = {{1, 1, 4, 4}};
static const int rank4[1] = {4};

static void test_maxpool_indices_refused(void **state)
{
    (void)state;
    pb node, m;
    pb_node_begin(&node, "MaxPool", 1, 2);
    pb_attr_ints(&node, "kernel_shape", 2, (const int64_t[]){2, 2});
    pb_attr_int(&node, "storage_order", 1);
    model(&m, &node, 12, 1, rank4, x4, 2);
    pb_expect_refused(&m, NB_ONNX_ERROR_UNSUPPORTED, "Indices output");
}

static void test_pool_window_in_padding_refused(void **state)
{
    (void)state;
    pb node, m;
    /* Size 4 with pads 0 and 1, kernel 1, stride 4: the second window is the end pad
     * alone, and kernel 2, stride 1 with pads 2: the first is the begin pads alone. */
    pb_node_begin(&node, "AveragePool", 1, 1);
    pb_attr_ints(&node, "kernel_shape", 2, (const int64_t[]){1, 1});
    pb_attr_ints(&node, "strides", 2, (const int64_t[]){4, 4});
    pb_attr_ints(&node, "pads", 4, (const int64_t[]){0, 0, 1, 1});
    pb_attr_int(&node, "ceil_mode", 1);
    model(&m, &node, 11, 1, rank4, x4, 1);
    pb_expect_refused(&m, NB_ONNX_ERROR_UNSUPPORTED, "holds only padding");
    pb_node_begin(&node, "MaxPool", 1, 1);
    pb_attr_ints(&node, "kernel_shape", 2, (const int64_t[]){2, 2});
    pb_attr_ints(&node, "pads", 4, (const int64_t[]){2, 0, 0, 0});
    model(&m, &node, 12, 1, rank4, x4, 1);
    pb_expect_refused(&m, NB_ONNX_ERROR_UNSUPPORTED, "holds only padding");
}

static void test_hostile_windows_fail(void **state)
{
    (void)state;
    pb node, m;
    /* A zero stride, a negative pad, a kernel larger than the padded input, a kernel
     * list of the wrong length, a huge 3-D depth window: errors, no crash. */
    pb_node_begin(&node, "MaxPool", 1, 1);
    pb_attr_ints(&node, "kernel_shape", 2, (const int64_t[]){2, 2});
    pb_attr_ints(&node, "strides", 2, (const int64_t[]){0, 1});
    model(&m, &node, 12, 1, rank4, x4, 1);
    pb_expect_refused(&m, NB_ONNX_ERROR_INVALID, "strides[0] is 0");

    pb_node_begin(&node, "AveragePool", 1, 1);
    pb_attr_ints(&node, "kernel_shape", 2, (const int64_t[]){2, 2});
    pb_attr_ints(&node, "pads", 4, (const int64_t[]){0, -1, 0, 0});
    model(&m, &node, 11, 1, rank4, x4, 1);
    pb_expect_refused(&m, NB_ONNX_ERROR_INVALID, "pads[1] is -1");

    pb_node_begin(&node, "MaxPool", 1, 1);
    pb_attr_ints(&node, "kernel_shape", 2, (const int64_t[]){9, 2});
    model(&m, &node, 12, 1, rank4, x4, 1);
    pb_expect_refused(&m, NB_ONNX_ERROR_INVALID, "smaller than the window");

    pb_node_begin(&node, "MaxPool", 1, 1);
    pb_attr_ints(&node, "kernel_shape", 3, (const int64_t[]){2, 2, 2});
    model(&m, &node, 12, 1, rank4, x4, 1);
    pb_expect_refused(&m, NB_ONNX_ERROR_INVALID, "expected 2");

    static const int64_t x5[1][5] = {{1, 1, 4, 4, 4}};
    pb_node_begin(&node, "MaxPool", 1, 1);
    pb_attr_ints(&node, "kernel_shape", 3, (const int64_t[]){100000, 1, 1});
    pb_attr_ints(&node, "pads", 6, (const int64_t[]){100000, 0, 0, 100000, 0, 0});
    model(&m, &node, 12, 1, (const int[]){5}, x5, 1);
    pb_expect_refused(&m, NB_ONNX_ERROR_UNSUPPORTED, "at most 64");

    pb_node_begin(&node, "Conv", 2, 1);
    pb_attr_ints(&node, "kernel_shape", 2, (const int64_t[]){3, 3});
    static const int64_t xw[2][5] = {{1, 1, 4, 4}, {1, 1, 2, 2}};
    model(&m, &node, 11, 2, (const int[]){4, 4}, xw, 1);
    pb_expect_refused(&m, NB_ONNX_ERROR_INVALID, "the weight has 2");

    pb_node_begin(&node, "Conv", 2, 1);
    pb_attr_str(&node, "auto_pad", "SAME_SIDEWAYS");
    model(&m, &node, 11, 2, (const int[]){4, 4}, xw, 1);
    pb_expect_refused(&m, NB_ONNX_ERROR_INVALID, "auto_pad");
}

static void test_unsupported_modes_refused(void **state)
{
    (void)state;
    pb node, m;
    pb_node_begin(&node, "Resize", 1, 1);
    pb_attr_str(&node, "mode", "linear");
    model(&m, &node, 13, 1, rank4, x4, 1);
    pb_expect_refused(&m, NB_ONNX_ERROR_UNSUPPORTED, "mode 'linear'");

    static const int64_t bn[5][5] = {{2, 3, 2, 2}, {3}, {3}, {3}, {3}};
    const int r5[5] = {4, 1, 1, 1, 1};
    pb_node_begin(&node, "BatchNormalization", 5, 1);
    pb_attr_int(&node, "spatial", 0);
    model(&m, &node, 7, 5, r5, bn, 1);
    pb_expect_refused(&m, NB_ONNX_ERROR_UNSUPPORTED, "spatial=0");

    pb_node_begin(&node, "BatchNormalization", 5, 3);
    model(&m, &node, 9, 5, r5, bn, 3);
    pb_expect_refused(&m, NB_ONNX_ERROR_UNSUPPORTED, "training outputs");

    pb_node_begin(&node, "Dropout", 1, 1);
    pb_attr_int(&node, "is_test", 0);
    model(&m, &node, 6, 1, rank4, x4, 1);
    pb_expect_refused(&m, NB_ONNX_ERROR_UNSUPPORTED, "random mask");

    static const int64_t ln[2][5] = {{2, 3}, {3}};
    pb_node_begin(&node, "LayerNormalization", 2, 1);
    pb_attr_int(&node, "stash_type", 11);
    model(&m, &node, 17, 2, (const int[]){2, 1}, ln, 1);
    pb_expect_refused(&m, NB_ONNX_ERROR_UNSUPPORTED, "stash_type 11");

    static const int64_t x2[2][5] = {{1, 1}, {1, 1}};
    pb_node_begin(&node, "ConvTranspose", 2, 1);
    model(&m, &node, 11, 2, (const int[]){2, 2}, x2, 1);
    pb_expect_refused(&m, NB_ONNX_ERROR_UNSUPPORTED, "1-D to 3-D");
}

/* AveragePool of 1x1x4x4 (1..16), kernel 3, stride 2, pads 1 and 1, ceil_mode,
 * count_include_pad: the padded 6 holds windows at 0 and 2, and ceil_mode adds one at 4
 * (input row 3, the end pad and one row past it). torch divides each window by its taps
 * inside the padded input (torch.nn.functional.avg_pool2d gives the same 3x3): 3, 3 and
 * 2 per axis. */
static void test_avgpool_ceil_count_include_pad(void **state)
{
    (void)state;
    pb node, m;
    static const int64_t x[1][5] = {{1, 1, 4, 4}};
    pb_node_begin(&node, "AveragePool", 1, 1);
    pb_attr_ints(&node, "kernel_shape", 2, (const int64_t[]){3, 3});
    pb_attr_ints(&node, "strides", 2, (const int64_t[]){2, 2});
    pb_attr_ints(&node, "pads", 4, (const int64_t[]){1, 1, 1, 1});
    pb_attr_int(&node, "ceil_mode", 1);
    pb_attr_int(&node, "count_include_pad", 1);
    model(&m, &node, 11, 1, rank4, x, 1);
    nb_onnx_model mm;
    char err[512] = "";
    nb_graph *g = nb_onnx_parse(m.b, m.n, NULL, &mm, err, sizeof err);
    if (!g)
        fail_msg("%s", err);
    nb_compile_options o = {.outputs = mm.extras.outputs, .n_outputs = mm.extras.n_outputs};
    nb_program *p = nb_compile(g, &o);
    assert_non_null(p);
    float in[16];
    for (int i = 0; i < 16; i++)
        in[i] = (float)(i + 1);
    assert_int_equal(nb_program_bind(p, "X0", in), 0);
    assert_int_equal(nb_program_run(p), 0);
    assert_int_equal(nb_program_output_numel(p, 0), 9);
    const float *y = nb_program_output(p, 0);
    /* Row windows: padded rows 0-2 (input rows 0, 1 and one pad: taps counted 3), 2-4
     * (input rows 1-3: 3), 4-6 (input row 3, the end pad, the overhang: 2). Sums of the
     * input rows r (1-based values 4r-3..4r) over column windows alike. */
    static const int rows[3][2] = {{0, 1}, {1, 3}, {3, 3}}; /* input rows in each window */
    static const int cnt[3] = {3, 3, 2};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double s = 0;
            for (int r = rows[i][0]; r <= rows[i][1]; r++)
                for (int c = rows[j][0]; c <= rows[j][1]; c++)
                    s += r * 4 + c + 1;
            assert_float_equal(y[i * 3 + j], s / (cnt[i] * cnt[j]), 1e-5);
        }
    nb_program_free(p);
    nb_graph_free(g);
    nb_onnx_model_free(&mm);
}

/* The gradient of sum(Y0^2) with respect to every input of the model, against finite
 * differences (nb_gradcheck, in f64): the importers' compositions (nb_pad, slices,
 * gathers, per-tap sums) must differentiate as the functions they compute. */
static void expect_gradients(const pb *m)
{
    nb_onnx_model mm;
    char err[512] = "";
    nb_graph *g = nb_onnx_parse(m->b, m->n, NULL, &mm, err, sizeof err);
    if (!g)
        fail_msg("%s", err);
    nb_node *wrt[4];
    assert_true(mm.n_inputs <= 4);
    for (int i = 0; i < mm.n_inputs; i++)
        wrt[i] = mm.inputs[i].node;
    nb_node *y = nb_sum(g, nb_square(g, mm.extras.outputs[0]), NULL, 0, 0);
    assert_non_null(y);
    nb_gradcheck_options o = nb_gradcheck_default_options();
    nb_gradcheck_result r;
    nb_gradcheck(g, y, wrt, mm.n_inputs, &o, &r);
    if (!r.ok)
        fail_msg("%s", r.message);
    assert_true(r.checked > 0);
    nb_graph_free(g);
    nb_onnx_model_free(&mm);
}

static void test_gradients(void **state)
{
    (void)state;
    pb node, m;
    /* MaxPool and AveragePool on their padded paths (asymmetric pads, ceil_mode). */
    pb_node_begin(&node, "MaxPool", 1, 1);
    pb_attr_ints(&node, "kernel_shape", 2, (const int64_t[]){2, 3});
    pb_attr_ints(&node, "pads", 4, (const int64_t[]){1, 0, 0, 2});
    model(&m, &node, 12, 1, rank4, x4, 1);
    expect_gradients(&m);
    pb_node_begin(&node, "AveragePool", 1, 1);
    pb_attr_ints(&node, "kernel_shape", 2, (const int64_t[]){3, 2});
    pb_attr_ints(&node, "strides", 2, (const int64_t[]){2, 2});
    pb_attr_ints(&node, "pads", 4, (const int64_t[]){0, 1, 1, 0});
    pb_attr_int(&node, "ceil_mode", 1);
    model(&m, &node, 11, 1, rank4, x4, 1);
    expect_gradients(&m);
    /* Conv 3-D (per depth tap) with asymmetric pads, ConvTranspose 3-D with a stride. */
    static const int64_t c3[2][5] = {{1, 2, 3, 3, 3}, {2, 1, 2, 2, 2}};
    pb_node_begin(&node, "Conv", 2, 1);
    pb_attr_int(&node, "group", 2);
    pb_attr_ints(&node, "pads", 6, (const int64_t[]){1, 0, 1, 0, 1, 0});
    pb_attr_ints(&node, "strides", 3, (const int64_t[]){2, 1, 1});
    model(&m, &node, 11, 2, (const int[]){5, 5}, c3, 1);
    expect_gradients(&m);
    static const int64_t t3[2][5] = {{1, 2, 2, 2, 2}, {2, 1, 2, 2, 2}};
    pb_node_begin(&node, "ConvTranspose", 2, 1);
    pb_attr_ints(&node, "strides", 3, (const int64_t[]){2, 1, 2});
    pb_attr_ints(&node, "pads", 6, (const int64_t[]){1, 0, 0, 0, 1, 0});
    model(&m, &node, 11, 2, (const int[]){5, 5}, t3, 1);
    expect_gradients(&m);
    /* LRN. */
    pb_node_begin(&node, "LRN", 1, 1);
    pb_attr_int(&node, "size", 3);
    static const int64_t l4[1][5] = {{1, 4, 2, 2}};
    model(&m, &node, 13, 1, rank4, l4, 1);
    expect_gradients(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_maxpool_indices_refused),
        cmocka_unit_test(test_pool_window_in_padding_refused),
        cmocka_unit_test(test_hostile_windows_fail),
        cmocka_unit_test(test_unsupported_modes_refused),
        cmocka_unit_test(test_avgpool_ceil_count_include_pad),
        cmocka_unit_test(test_gradients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
