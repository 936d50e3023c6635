/* test_onnx_reduce.c — the ONNX importers of reductions, softmax, losses, TopK and
 * Einsum (frontend/onnx/nb_ox_reduce.c, nb_ox_loss.c, nb_ox_einsum.c) where the
 * conformance tests do not reach: values refused with a reason, hostile attributes that
 * must fail cleanly, and a few results computed by hand (the opset < 13 softmax over
 * the flattened trailing dims, TopK's order with NaN and ties). Models are written by a
 * small protobuf encoder of one node. */
#include <math.h>
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

/* An input of the model: its ONNX type and shape. */
typedef struct in_spec {
    int type;
    int rank;
    int64_t dims[5];
} in_spec;

/* The model of node (inputs X0, X1, ... as specified; outputs Y0 float and Y1 int64, as
 * TopK's, of any shape) at opset. */
static void model(pb *out, const pb *node, int opset, int n_in, const in_spec *in, int n_out)
{
    pb graph = {.n = 0};
    pb_msg(&graph, 1, node);
    pb_str(&graph, 2, "g");
    for (int i = 0; i < n_in; i++) {
        char name[8] = {'X', (char)('0' + i), 0};
        pb_value_info(&graph, 11, name, in[i].type, in[i].rank, in[i].dims);
    }
    for (int i = 0; i < n_out; i++) {
        char name[8] = {'Y', (char)('0' + i), 0};
        pb_value_info(&graph, 12, name, i ? NB_ONNX_INT64 : NB_ONNX_FLOAT, -1, NULL);
    }
    pb_model(out, &graph, opset);
}

/* Loads, compiles and runs a model of one float input X0 (data x): its outputs are
 * copied into y0 (and y1 as doubles when not NULL; n1 values). */
static void run1(const pb *m, const float *x, float *y0, int64_t n0, double *y1, int64_t n1)
{
    nb_onnx_model mm;
    char err[512] = "";
    nb_graph *g = nb_onnx_parse(m->b, m->n, NULL, &mm, err, sizeof err);
    if (!g)
        fail_msg("%s", err);
    nb_compile_options o = {.outputs = mm.extras.outputs, .n_outputs = mm.extras.n_outputs};
    nb_program *p = nb_compile(g, &o);
    assert_non_null(p);
    assert_int_equal(nb_program_bind(p, "X0", x), 0);
    assert_int_equal(nb_program_run(p), 0);
    assert_int_equal(nb_program_output_numel(p, 0), n0);
    memcpy(y0, nb_program_output(p, 0), (size_t)n0 * sizeof *y0);
    if (y1) {
        assert_int_equal(nb_program_output_numel(p, 1), n1);
        assert_int_equal(nb_program_output_dtype(p, 1), NB_I32);
        const int32_t *v = nb_program_output(p, 1);
        for (int64_t i = 0; i < n1; i++)
            y1[i] = v[i];
    }
    nb_program_free(p);
    nb_graph_free(g);
    nb_onnx_model_free(&mm);
}

static const in_spec f23 = {NB_ONNX_FLOAT, 2, {2, 3}};

static void test_reduce_axes_refused(void **state)
{
    (void)state;
    pb node, m;
    pb_node_begin(&node, "ReduceMean", 1, 1);
    pb_attr_ints(&node, "axes", 2, (const int64_t[]){1, -1});
    model(&m, &node, 11, 1, &f23, 1);
    pb_expect_refused(&m, NB_ONNX_ERROR_INVALID, "axis -1 is given twice");
    pb_node_begin(&node, "ReduceMax", 1, 1);
    pb_attr_ints(&node, "axes", 1, (const int64_t[]){2});
    model(&m, &node, 11, 1, &f23, 1);
    pb_expect_refused(&m, NB_ONNX_ERROR_INVALID, "axes 2 is outside");
    pb_node_begin(&node, "ReduceSum", 1, 1);
    pb_attr_ints(&node, "axes", 3, (const int64_t[]){0, 1, 0});
    model(&m, &node, 11, 1, &f23, 1);
    pb_expect_refused(&m, NB_ONNX_ERROR_INVALID, "3 axes given");
    /* an integer sum could overflow ONNX's int64 where nabla's i32 wraps: refused */
    const in_spec i23 = {NB_ONNX_INT32, 2, {2, 3}};
    pb_node_begin(&node, "ReduceSum", 1, 1);
    model(&m, &node, 11, 1, &i23, 1);
    pb_expect_refused(&m, NB_ONNX_ERROR_UNSUPPORTED, "non-float");
    /* the axes input of opset 13 must be known when the model loads */
    const in_spec in2[2] = {f23, {NB_ONNX_INT64, 1, {1}}};
    pb_node_begin(&node, "ReduceSum", 2, 1);
    model(&m, &node, 13, 2, in2, 1);
    pb_expect_refused(&m, NB_ONNX_ERROR_NEEDS_VALUE, "axes");
}

static void test_hostile_attributes_fail(void **state)
{
    (void)state;
    pb node, m;
    const in_spec scalar = {NB_ONNX_FLOAT, 0, {0}};
    pb_node_begin(&node, "ArgMax", 1, 1);
    pb_attr_int(&node, "axis", 1000000000000LL);
    model(&m, &node, 13, 1, &f23, 1);
    pb_expect_refused(&m, NB_ONNX_ERROR_INVALID, "outside");
    pb_node_begin(&node, "Softmax", 1, 1);
    model(&m, &node, 13, 1, &scalar, 1);
    pb_expect_refused(&m, NB_ONNX_ERROR_INVALID, "rank 0");
    pb_node_begin(&node, "CumSum", 2, 1);
    const in_spec cs[2] = {scalar, {NB_ONNX_INT64, 0, {0}}};
    model(&m, &node, 14, 2, cs, 1);
    pb_expect_refused(&m, NB_ONNX_ERROR_INVALID, "rank 0");
    pb_node_begin(&node, "TopK", 1, 2);
    pb_attr_int(&node, "k", 4);
    model(&m, &node, 9, 1, &f23, 2);
    pb_expect_refused(&m, NB_ONNX_ERROR_UNSUPPORTED, "k must be one value in [1, 3]");
    pb_node_begin(&node, "TopK", 1, 2);
    pb_attr_int(&node, "k", -1);
    model(&m, &node, 9, 1, &f23, 2);
    pb_expect_refused(&m, NB_ONNX_ERROR_UNSUPPORTED, "k must be");
}

static void test_loss_refused(void **state)
{
    (void)state;
    pb node, m;
    const in_spec nll[2] = {{NB_ONNX_FLOAT, 2, {2, 3}}, {NB_ONNX_INT64, 1, {2}}};
    pb_node_begin(&node, "NegativeLogLikelihoodLoss", 2, 1);
    pb_attr_str(&node, "reduction", "average");
    model(&m, &node, 13, 2, nll, 1);
    pb_expect_refused(&m, NB_ONNX_ERROR_INVALID, "reduction 'average'");
    const in_spec bad_target[2] = {{NB_ONNX_FLOAT, 2, {2, 3}}, {NB_ONNX_INT64, 1, {3}}};
    pb_node_begin(&node, "SoftmaxCrossEntropyLoss", 2, 1);
    model(&m, &node, 13, 2, bad_target, 1);
    pb_expect_refused(&m, NB_ONNX_ERROR_INVALID, "target dimension 0 is 3");
    const in_spec bad_weight[3] = {nll[0], nll[1], {NB_ONNX_FLOAT, 1, {2}}};
    pb_node_begin(&node, "NegativeLogLikelihoodLoss", 3, 1);
    model(&m, &node, 13, 3, bad_weight, 1);
    pb_expect_refused(&m, NB_ONNX_ERROR_INVALID, "weight must be [C]");
    pb_node_begin(&node, "NegativeLogLikelihoodLoss", 2, 1);
    pb_attr_int(&node, "ignore_index", 1LL << 40);
    model(&m, &node, 13, 2, nll, 1);
    pb_expect_refused(&m, NB_ONNX_ERROR_UNSUPPORTED, "int32 range");
}

static void test_einsum_refused(void **state)
{
    (void)state;
    pb node, m;
    const in_spec two[2] = {f23, {NB_ONNX_FLOAT, 2, {3, 4}}};
    pb_node_begin(&node, "Einsum", 1, 1);
    pb_attr_str(&node, "equation", "...i->i");
    model(&m, &node, 12, 1, &f23, 1);
    pb_expect_refused(&m, NB_ONNX_ERROR_UNSUPPORTED, "ellipsis summed away");
    pb_node_begin(&node, "Einsum", 1, 1);
    pb_attr_str(&node, "equation", "i..j->ij");
    model(&m, &node, 12, 1, &f23, 1);
    pb_expect_refused(&m, NB_ONNX_ERROR_INVALID, "not one ellipsis");
    pb_node_begin(&node, "Einsum", 1, 1);
    pb_attr_str(&node, "equation", "ii->i"); /* a diagonal of a 2 x 3 */
    model(&m, &node, 12, 1, &f23, 1);
    pb_expect_refused(&m, NB_ONNX_ERROR_UNSUPPORTED, "'i' has different sizes");
    pb_node_begin(&node, "Einsum", 1, 1);
    pb_attr_str(&node, "equation", "ij->jj");
    model(&m, &node, 12, 1, &f23, 1);
    pb_expect_refused(&m, NB_ONNX_ERROR_INVALID, "repeated in the output");
    pb_node_begin(&node, "Einsum", 2, 1);
    pb_attr_str(&node, "equation", "ij,jk->ikx");
    model(&m, &node, 12, 2, two, 1);
    pb_expect_refused(&m, NB_ONNX_ERROR_INVALID, "'x' is in no operand");
    pb_node_begin(&node, "Einsum", 2, 1);
    pb_attr_str(&node, "equation", "ij,ik->jk");
    model(&m, &node, 12, 2, two, 1);
    pb_expect_refused(&m, NB_ONNX_ERROR_UNSUPPORTED, "'i' has different sizes");
    pb_node_begin(&node, "Einsum", 2, 1);
    pb_attr_str(&node, "equation", "ij->i");
    model(&m, &node, 12, 2, two, 1);
    pb_expect_refused(&m, NB_ONNX_ERROR_INVALID, "does not have 2 terms");
    pb_node_begin(&node, "Einsum", 1, 1);
    pb_attr_str(&node, "equation", "i$->i");
    model(&m, &node, 12, 1, &f23, 1);
    pb_expect_refused(&m, NB_ONNX_ERROR_INVALID, "character '$'");
    pb_node_begin(&node, "Einsum", 1, 1);
    pb_attr_str(&node, "equation", "ijk->i");
    model(&m, &node, 12, 1, &f23, 1);
    pb_expect_refused(&m, NB_ONNX_ERROR_INVALID, "rank 2; its term has 3");
}

/* Softmax before opset 13 normalizes the flattened dims from axis on: [1, 2, 2] of zeros
 * at axis 1 is 1/4 everywhere (a per-axis softmax would give 1/2); Hardmax likewise
 * marks one element of the four, the first largest. */
static void test_legacy_softmax_flattens(void **state)
{
    (void)state;
    pb node, m;
    const in_spec x = {NB_ONNX_FLOAT, 3, {1, 2, 2}};
    const float zeros[4] = {0, 0, 0, 0}, ties[4] = {1, 5, 2, 5};
    float y[4];
    pb_node_begin(&node, "Softmax", 1, 1);
    pb_attr_int(&node, "axis", 1);
    model(&m, &node, 11, 1, &x, 1);
    run1(&m, zeros, y, 4, NULL, 0);
    for (int i = 0; i < 4; i++)
        assert_float_equal(y[i], 0.25, 1e-7);
    pb_node_begin(&node, "Hardmax", 1, 1);
    model(&m, &node, 11, 1, &x, 1); /* default axis 1 */
    run1(&m, ties, y, 4, NULL, 0);
    const float want[4] = {0, 1, 0, 0};
    for (int i = 0; i < 4; i++)
        assert_float_equal(y[i], want[i], 0);
}

/* TopK orders a NaN above every number (numpy's sort, torch.topk) and equal values by
 * index (ONNX's rule): [1, NaN, 3, 3, -inf] gives NaN, 3 (index 2), 3 (index 3) as the
 * three largest and -inf, 1, 3 (index 2) as the three smallest. */
static void test_topk_order(void **state)
{
    (void)state;
    pb node, m;
    const in_spec x = {NB_ONNX_FLOAT, 1, {5}};
    const float v[5] = {1, NAN, 3, 3, -INFINITY};
    float y[3];
    double idx[3];
    pb_node_begin(&node, "TopK", 1, 2);
    pb_attr_int(&node, "k", 3);
    model(&m, &node, 9, 1, &x, 2);
    run1(&m, v, y, 3, idx, 3);
    assert_true(isnan(y[0]));
    assert_float_equal(y[1], 3, 0);
    assert_float_equal(y[2], 3, 0);
    assert_float_equal(idx[0], 1, 0);
    assert_float_equal(idx[1], 2, 0);
    assert_float_equal(idx[2], 3, 0);
    /* smallest is an opset-11 attribute; k is then an input: given as a known value */
    pb_node_begin(&node, "TopK", 2, 2);
    pb_attr_int(&node, "largest", 0);
    const in_spec in2[2] = {x, {NB_ONNX_INT64, 1, {1}}};
    model(&m, &node, 11, 2, in2, 2);
    double kv = 3;
    nb_onnx_tensor kt = {
        .name = "X1", .type = NB_ONNX_INT64, .rank = 1, .dims = {1}, .numel = 1, .data = &kv};
    nb_onnx_options o = {.values = &kt, .n_values = 1};
    nb_onnx_model mm;
    char err[512] = "";
    nb_graph *g = nb_onnx_parse(m.b, m.n, &o, &mm, err, sizeof err);
    if (!g)
        fail_msg("%s", err);
    nb_compile_options co = {.outputs = mm.extras.outputs, .n_outputs = mm.extras.n_outputs};
    nb_program *p = nb_compile(g, &co);
    assert_non_null(p);
    assert_int_equal(nb_program_bind(p, "X0", v), 0);
    assert_int_equal(nb_program_run(p), 0);
    const float *ys = nb_program_output(p, 0);
    const int32_t *is = nb_program_output(p, 1);
    assert_true(isinf(ys[0]) && ys[0] < 0);
    assert_float_equal(ys[1], 1, 0);
    assert_float_equal(ys[2], 3, 0);
    assert_int_equal(is[0], 4);
    assert_int_equal(is[1], 0);
    assert_int_equal(is[2], 2);
    nb_program_free(p);
    nb_graph_free(g);
    nb_onnx_model_free(&mm);
}

/* The imported graphs train: the gradient of sum(TopK values) is 1 at the picked
 * elements and 0 elsewhere, and SoftmaxCrossEntropyLoss's is softmax - onehot (mean
 * over N = 1): for logits [0, 0] and label 0, [-1/2, 1/2]. */
static void grad_of(const pb *m, const nb_onnx_options *opt, const float *x, int64_t n,
                    const float *want)
{
    nb_onnx_model mm;
    char err[512] = "";
    nb_graph *g = nb_onnx_parse(m->b, m->n, opt, &mm, err, sizeof err);
    if (!g)
        fail_msg("%s", err);
    nb_node *in = mm.inputs[0].node, *gx;
    nb_node *loss = nb_sum(g, mm.outputs[0].node, NULL, 0, 0);
    assert_int_equal(nb_grad(g, loss, &in, 1, &gx), 0);
    nb_compile_options o = {.outputs = &gx, .n_outputs = 1};
    nb_program *p = nb_compile(g, &o);
    if (!p)
        fail_msg("%s", nb_graph_error(g));
    assert_int_equal(nb_program_bind(p, "X0", x), 0);
    assert_int_equal(nb_program_run(p), 0);
    assert_int_equal(nb_program_output_numel(p, 0), n);
    const float *y = nb_program_output(p, 0);
    for (int64_t i = 0; i < n; i++)
        assert_float_equal(y[i], want[i], 1e-6);
    nb_program_free(p);
    nb_graph_free(g);
    nb_onnx_model_free(&mm);
}

static void test_gradients(void **state)
{
    (void)state;
    pb node, m;
    const in_spec x = {NB_ONNX_FLOAT, 1, {5}};
    const float v[5] = {1, 4, 3, 3, -2}, top2[5] = {0, 1, 1, 0, 0};
    pb_node_begin(&node, "TopK", 1, 2);
    pb_attr_int(&node, "k", 2);
    model(&m, &node, 9, 1, &x, 2);
    grad_of(&m, NULL, v, 5, top2);
    const in_spec sce[2] = {{NB_ONNX_FLOAT, 2, {1, 2}}, {NB_ONNX_INT64, 1, {1}}};
    pb_node_begin(&node, "SoftmaxCrossEntropyLoss", 2, 1);
    model(&m, &node, 13, 2, sce, 1);
    double label = 0;
    nb_onnx_tensor lt = {
        .name = "X1", .type = NB_ONNX_INT64, .rank = 1, .dims = {1}, .numel = 1, .data = &label};
    nb_onnx_options o = {.values = &lt, .n_values = 1};
    const float logits[2] = {0, 0}, want[2] = {-0.5f, 0.5f};
    grad_of(&m, &o, logits, 2, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reduce_axes_refused),
        cmocka_unit_test(test_hostile_attributes_fail),
        cmocka_unit_test(test_loss_refused),
        cmocka_unit_test(test_einsum_refused),
        cmocka_unit_test(test_legacy_softmax_flattens),
        cmocka_unit_test(test_topk_order),
        cmocka_unit_test(test_gradients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
