/* test_onnx_shape.c — the ONNX shape and index importers where the conformance tests do
 * not reach: a torch.onnx.export shape chain (Shape -> Gather -> Unsqueeze -> Concat ->
 * Reshape) staying known at load time, Gather's negative indices given at run time,
 * hostile Slice values, and the refusals and errors (with their kinds) of bad or
 * unsupported nodes. Models are written here with a small protobuf encoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nabla.h"
#include "nabla_onnx.h"
#include "onnx_pb.h"

/* ONNX's TensorProto.DataType values used here. */
enum { T_FLOAT = 1, T_INT64 = 7 };

/* An INT64 initializer named name of n values (rank 1, or rank 0 when n < 0). */
static void init_ints(pb *g, const char *name, const int64_t *v, int n)
{
    pb t = {0};
    if (n >= 0)
        pb_int(&t, 1, n);
    pb_int(&t, 2, T_INT64);
    for (int j = 0; j < (n < 0 ? 1 : n); j++)
        pb_int(&t, 7, v[j]);
    pb_str(&t, 8, name);
    pb_msg(g, 5, &t);
}

/* An attribute as a node holds it (NodeProto field 5): an INT (n < 0: ints[0]), INTS
 * (n values) or, with str, a STRING. */
static pb attr(const char *name, const int64_t *ints, int n, const char *str)
{
    pb a = {0};
    if (str)
        pb_attr_str(&a, name, str);
    else if (n < 0)
        pb_attr_int(&a, name, ints[0]);
    else
        pb_attr_ints(&a, name, n, ints);
    return a;
}

/* A node: op, its inputs and outputs separated by spaces, an attribute or NULL. */
static void node(pb *g, const char *op, const char *ins, const char *outs, const pb *a)
{
    pb nd = {0};
    char buf[256];
    const char *lists[2] = {ins, outs};
    for (int l = 0; l < 2; l++) {
        snprintf(buf, sizeof buf, "%s", lists[l]);
        for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " "))
            pb_str(&nd, l + 1, tok);
    }
    pb_str(&nd, 4, op);
    if (a)
        pb_raw(&nd, a->b, a->n);
    pb_msg(g, 1, &nd);
}

/* Loads graph g as a model of the opset; the graph (NULL after an error, whose kind is
 * in m->error and message in err). */
static nb_graph *load(const pb *g, int opset, nb_onnx_model *m, char *err, size_t size)
{
    pb model = {0}, op = {0};
    pb_int(&model, 1, 8);
    pb_int(&op, 2, opset);
    pb_msg(&model, 8, &op);
    pb_msg(&model, 7, g);
    memset(m, 0, sizeof *m);
    return nb_onnx_parse(model.b, model.n, NULL, m, err, size);
}

/* Expects the load to fail with kind, its message holding what. */
static void expect_refused(const pb *g, int opset, nb_onnx_error kind, const char *what)
{
    nb_onnx_model m;
    char err[512] = "";
    nb_graph *gr = load(g, opset, &m, err, sizeof err);
    pb_check_refused(gr, &m, err, kind, what);
    nb_graph_free(gr);
    nb_onnx_model_free(&m);
}

/* ---- tests ---- */

/* What torch.onnx.export writes for x.view(x.size(0), -1): the shape is computed from
 * Shape(x) and must be known at load, so Reshape gets [2, 12] for x [2, 3, 4]. */
static void export_shape_chain(void **state)
{
    (void)state;
    pb g = {0};
    static const int64_t zero = 0, minus1 = -1, axes0 = 0;
    pb axis0 = attr("axis", &zero, -1, NULL);
    node(&g, "Shape", "x", "s", NULL);
    node(&g, "Gather", "s zero", "n", &axis0);
    node(&g, "Unsqueeze", "n axes", "n1", NULL);
    node(&g, "Concat", "n1 minus1", "shape", &axis0);
    node(&g, "Reshape", "x shape", "y", NULL);
    pb_str(&g, 2, "chain");
    init_ints(&g, "zero", &zero, -1);
    init_ints(&g, "minus1", &minus1, 1);
    init_ints(&g, "axes", &axes0, 1);
    pb_value_info(&g, 11, "x", T_FLOAT, 3, (const int64_t[]){2, 3, 4});
    pb_value_info(&g, 12, "y", T_FLOAT, 2, (const int64_t[]){2, 12});
    nb_onnx_model m;
    char err[512] = "";
    nb_graph *gr = load(&g, 13, &m, err, sizeof err);
    if (!gr)
        fail_msg("load: %s", err);
    assert_int_equal(m.n_outputs, 1);
    nb_node *y = m.outputs[0].node;
    assert_int_equal(nb_node_rank(y), 2);
    assert_int_equal(nb_node_shape(y)[0], 2);
    assert_int_equal(nb_node_shape(y)[1], 12);
    nb_onnx_model_free(&m);
    nb_graph_free(gr);
}

/* A float initializer is a trained parameter: reshaping it builds a node and keeps the
 * parameter (its value among the extras), rather than a constant made on the host. */
static void float_initializer_stays_parameter(void **state)
{
    (void)state;
    pb g = {0}, w = {0};
    node(&g, "Reshape", "w shape", "y", NULL);
    pb_str(&g, 2, "param");
    pb_int(&w, 1, 2);
    pb_int(&w, 1, 3);
    pb_int(&w, 2, T_FLOAT);
    static const float wv[6] = {1, 2, 3, 4, 5, 6};
    pb_bytes(&w, 9, wv, sizeof wv); /* raw_data, little-endian as ONNX stores it */
    pb_str(&w, 8, "w");
    pb_msg(&g, 5, &w);
    init_ints(&g, "shape", (const int64_t[]){3, 2}, 2);
    pb_value_info(&g, 12, "y", T_FLOAT, 2, (const int64_t[]){3, 2});
    nb_onnx_model m;
    char err[512] = "";
    nb_graph *gr = load(&g, 13, &m, err, sizeof err);
    if (!gr)
        fail_msg("load: %s", err);
    assert_int_equal(m.extras.n_values, 1);
    assert_int_equal(nb_node_shape(m.outputs[0].node)[0], 3);
    nb_onnx_model_free(&m);
    nb_graph_free(gr);
}

/* Gather with indices given at run time: -1 is the last row, as ONNX allows. */
static void gather_negative_at_run_time(void **state)
{
    (void)state;
    pb g = {0};
    node(&g, "Gather", "x i", "y", NULL);
    pb_str(&g, 2, "gather");
    pb_value_info(&g, 11, "x", T_FLOAT, 2, (const int64_t[]){3, 2});
    pb_value_info(&g, 11, "i", T_INT64, 1, (const int64_t[]){3});
    pb_value_info(&g, 12, "y", T_FLOAT, 2, (const int64_t[]){3, 2});
    nb_onnx_model m;
    char err[512] = "";
    nb_graph *gr = load(&g, 13, &m, err, sizeof err);
    if (!gr)
        fail_msg("load: %s", err);
    nb_backend backends[] = {NB_BACKEND_TCC, NB_BACKEND_CC};
    for (int b = 0; b < 2; b++) {
        nb_compile_options opt = {
            .outputs = &m.outputs[0].node, .n_outputs = 1, .backend = backends[b]};
        nb_program *p = nb_compile(gr, &opt);
        if (!p)
            fail_msg("compile: %s", nb_graph_error(gr));
        const float xv[6] = {1, 2, 3, 4, 5, 6};
        const int32_t iv[3] = {-1, 0, -3};
        assert_int_equal(nb_program_bind(p, "x", xv), 0);
        assert_int_equal(nb_program_bind(p, "i", iv), 0);
        if (nb_program_run(p) != 0)
            fail_msg("run: %s", nb_program_error(p));
        const float *y = nb_program_output(p, 0);
        const float want[6] = {5, 6, 1, 2, 1, 2};
        for (int k = 0; k < 6; k++)
            assert_true(y[k] == want[k]);
        nb_program_free(p);
    }
    nb_onnx_model_free(&m);
    nb_graph_free(gr);
}

/* Slice with the extreme values torch writes (INT64_MAX / INT64_MIN) and a step of
 * INT64_MIN: ONNX clamps start to 4 and end to -1, and picks one element, x[4]. */
static void slice_extremes(void **state)
{
    (void)state;
    pb g = {0};
    static const int64_t big = INT64_MAX, small = INT64_MIN;
    node(&g, "Slice", "x starts ends axes steps", "y", NULL);
    pb_str(&g, 2, "slice");
    init_ints(&g, "starts", &big, 1);
    init_ints(&g, "ends", &small, 1);
    init_ints(&g, "axes", (const int64_t[]){0}, 1);
    init_ints(&g, "steps", &small, 1);
    pb_value_info(&g, 11, "x", T_FLOAT, 1, (const int64_t[]){5});
    pb_value_info(&g, 12, "y", T_FLOAT, 1, (const int64_t[]){1});
    nb_onnx_model m;
    char err[512] = "";
    nb_graph *gr = load(&g, 13, &m, err, sizeof err);
    if (!gr)
        fail_msg("load: %s", err);
    assert_int_equal(nb_node_rank(m.outputs[0].node), 1);
    assert_int_equal(nb_node_shape(m.outputs[0].node)[0], 1);
    nb_onnx_model_free(&m);
    nb_graph_free(gr);
}

/* Bad nodes are errors (INVALID), not crashes. */
static void bad_nodes(void **state)
{
    (void)state;
    static const int64_t perm[2] = {0, 0}, axes[1] = {0};
    pb g = {0};
    pb ap = attr("perm", perm, 2, NULL), aa = attr("axes", axes, 1, NULL);
    node(&g, "Transpose", "x", "y", &ap);
    pb_value_info(&g, 11, "x", T_FLOAT, 2, (const int64_t[]){2, 3});
    pb_value_info(&g, 12, "y", T_FLOAT, 2, (const int64_t[]){3, 2});
    expect_refused(&g, 13, NB_ONNX_ERROR_INVALID, "twice");

    pb s = {0}; /* Squeeze of a scalar (axes as an attribute before opset 13) */
    node(&s, "Squeeze", "x", "y", &aa);
    pb_value_info(&s, 11, "x", T_FLOAT, 0, NULL);
    pb_value_info(&s, 12, "y", T_FLOAT, 0, NULL);
    expect_refused(&s, 11, NB_ONNX_ERROR_INVALID, "scalar");

    pb r = {0}; /* Reshape to a shape of two -1 */
    node(&r, "Reshape", "x shape", "y", NULL);
    init_ints(&r, "shape", (const int64_t[]){-1, -1}, 2);
    pb_value_info(&r, 11, "x", T_FLOAT, 2, (const int64_t[]){2, 3});
    pb_value_info(&r, 12, "y", T_FLOAT, 2, (const int64_t[]){2, 3});
    expect_refused(&r, 13, NB_ONNX_ERROR_INVALID, "more than one -1");
}

/* What nabla cannot express is refused (UNSUPPORTED), or asks for a value (NEEDS_VALUE). */
static void refusals(void **state)
{
    (void)state;
    pb p = {0}, edge = attr("mode", NULL, 0, "edge"); /* edge padding that crops */
    node(&p, "Pad", "x pads", "y", &edge);
    init_ints(&p, "pads", (const int64_t[]){0, -1, 0, 1}, 4);
    pb_value_info(&p, 11, "x", T_FLOAT, 2, (const int64_t[]){2, 3});
    pb_value_info(&p, 12, "y", T_FLOAT, 2, (const int64_t[]){2, 3});
    expect_refused(&p, 13, NB_ONNX_ERROR_UNSUPPORTED, "negative pads in edge mode");

    pb s = {0}; /* ScatterElements overwriting at indices known only at run time */
    node(&s, "ScatterElements", "x i u", "y", NULL);
    pb_value_info(&s, 11, "x", T_FLOAT, 1, (const int64_t[]){4});
    pb_value_info(&s, 11, "i", T_INT64, 1, (const int64_t[]){2});
    pb_value_info(&s, 11, "u", T_FLOAT, 1, (const int64_t[]){2});
    pb_value_info(&s, 12, "y", T_FLOAT, 1, (const int64_t[]){4});
    expect_refused(&s, 13, NB_ONNX_ERROR_NEEDS_VALUE, "indices");

    pb big = {0}; /* a shape whose product overflows int64 */
    node(&big, "Reshape", "x shape", "y", NULL);
    init_ints(&big, "shape", (const int64_t[]){(int64_t)1 << 40, (int64_t)1 << 40, -1}, 3);
    pb_value_info(&big, 11, "x", T_FLOAT, 1, (const int64_t[]){4});
    pb_value_info(&big, 12, "y", T_FLOAT, 1, (const int64_t[]){4});
    expect_refused(&big, 13, NB_ONNX_ERROR_UNSUPPORTED, "2^40");

    pb wide = {0}; /* pads whose sum with the dimension overflows int64 */
    node(&wide, "Pad", "x pads", "y", NULL);
    init_ints(&wide, "pads", (const int64_t[]){INT64_MAX, 0}, 2);
    pb_value_info(&wide, 11, "x", T_FLOAT, 1, (const int64_t[]){4});
    pb_value_info(&wide, 12, "y", T_FLOAT, 1, (const int64_t[]){4});
    expect_refused(&wide, 13, NB_ONNX_ERROR_UNSUPPORTED, "2^40");

    pb e = {0}; /* an empty result */
    node(&e, "Slice", "x starts ends", "y", NULL);
    init_ints(&e, "starts", (const int64_t[]){3}, 1);
    init_ints(&e, "ends", (const int64_t[]){1}, 1);
    pb_value_info(&e, 11, "x", T_FLOAT, 1, (const int64_t[]){4});
    pb_value_info(&e, 12, "y", T_FLOAT, 1, (const int64_t[]){1});
    expect_refused(&e, 13, NB_ONNX_ERROR_UNSUPPORTED, "0 elements");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(export_shape_chain),
        cmocka_unit_test(float_initializer_stays_parameter),
        cmocka_unit_test(gather_negative_at_run_time),
        cmocka_unit_test(slice_extremes),
        cmocka_unit_test(bad_nodes),
        cmocka_unit_test(refusals), /* one per line */
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
