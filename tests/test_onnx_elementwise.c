/* test_onnx_elementwise.c — the ONNX elementwise importers where ONNX's conformance
 * tests say nothing: values refused with a clear message, hostile attributes and shapes
 * that fail without crashing, integer Div truncating and Mod's two signs on negative
 * operands, opset 6's broadcast axis, Clip with a bound computed at run time, sign of
 * NaN, known values computed at load time (and parameters left out of that). Models are
 * written here as protobuf bytes; expected values are worked out by hand. */
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
#include "nabla_onnx.h"
#include "onnx_pb.h"

#define ERR_MAX 1024

/* ONNX's TensorProto.DataType values used here. */
enum { T_FLOAT = 1, T_INT32 = 6, T_INT64 = 7, T_BOOL = 9, T_FLOAT16 = 10 };

/* A graph under construction and its opset. */
typedef struct model {
    pb g;
    int opset;
} model;

static void m_input(model *m, const char *name, int type, int rank, const int64_t *dims)
{
    pb_value_info(&m->g, 11, name, type, rank, dims);
}

static void m_output(model *m, const char *name, int type, int rank, const int64_t *dims)
{
    pb_value_info(&m->g, 12, name, type, rank, dims);
}

/* An initializer (field 5) of type FLOAT (float_data) or an integer type (int64_data for
 * INT64, int32_data otherwise), of the given shape. */
static void m_init_shape(model *m, const char *name, int type, int rank, const int64_t *dims,
                         const double *v)
{
    pb t = {0}, data = {0};
    int64_t n = 1;
    for (int d = 0; d < rank; d++) {
        pb_int(&t, 1, dims[d]);
        n *= dims[d];
    }
    pb_int(&t, 2, type);
    for (int64_t i = 0; i < n; i++) {
        if (type == T_FLOAT) {
            float f = (float)v[i];
            pb_raw(&data, &f, 4);
        } else
            pb_varint(&data, (uint64_t)(int64_t)v[i]);
    }
    pb_bytes(&t, type == T_FLOAT ? 4 : type == T_INT64 ? 7 : 5, data.b, data.n);
    pb_str(&t, 8, name);
    pb_msg(&m->g, 5, &t);
}

/* An initializer of n values, of rank 1, or of rank 0 (rank0, n = 1). */
static void m_init(model *m, const char *name, int type, int rank0, int n, const double *v)
{
    int64_t dims[1] = {n};
    m_init_shape(m, name, type, rank0 ? 0 : 1, dims, v);
}

/* A node (field 1): inputs as a comma-separated list ("": none; an empty item: an
 * absent optional input), one output, attributes already written into attrs (may be NULL). */
static void m_node(model *m, const char *op, const char *ins, const char *out, const pb *attrs)
{
    pb n = {0};
    char buf[256];
    snprintf(buf, sizeof buf, "%s", ins);
    for (char *s = *ins ? buf : NULL, *e; s; s = e ? e + 1 : NULL) {
        e = strchr(s, ',');
        if (e)
            *e = 0;
        pb_str(&n, 1, s);
    }
    pb_str(&n, 2, out);
    pb_str(&n, 4, op);
    if (attrs)
        pb_raw(&n, attrs->b, attrs->n);
    pb_msg(&m->g, 1, &n);
}

/* Loads the model; the graph or NULL with *m's error and the message in err. */
static nb_graph *m_load(model *m, const nb_onnx_options *o, nb_onnx_model *om, char *err)
{
    pb mp = {0}, opset = {0}, g = m->g;
    pb_int(&mp, 1, 8); /* ir_version */
    pb_str(&g, 2, "g");
    pb_msg(&mp, 7, &g);
    pb_str(&opset, 1, "");
    pb_int(&opset, 2, m->opset);
    pb_msg(&mp, 8, &opset);
    return nb_onnx_parse(mp.b, mp.n, o, om, err, ERR_MAX);
}

/* Fails unless the model is refused with kind and a message holding want. */
static void expect_refused(model *m, nb_onnx_error kind, const char *want)
{
    nb_onnx_model om;
    char err[ERR_MAX] = "";
    nb_graph *g = m_load(m, NULL, &om, err);
    pb_check_refused(g, &om, err, kind, want);
    nb_graph_free(g);
    nb_onnx_model_free(&om);
}

/* Loads, compiles on backend b, runs with the inputs bound by name and returns output 0
 * as doubles in out (n values). */
static void run_model(model *m, nb_backend b, const char *const *names, void *const *inputs,
                      int n_inputs, double *out, int n)
{
    nb_onnx_model om;
    char err[ERR_MAX] = "";
    nb_graph *g = m_load(m, NULL, &om, err);
    if (!g)
        fail_msg("load: %s", err);
    nb_compile_options o = {
        .outputs = om.extras.outputs, .n_outputs = om.extras.n_outputs, .backend = b};
    nb_program *p = nb_compile(g, &o);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(g));
    for (int i = 0; i < n_inputs; i++)
        assert_int_equal(nb_program_bind(p, names[i], inputs[i]), 0);
    if (nb_program_run(p) != 0)
        fail_msg("run: %s", nb_program_error(p));
    assert_int_equal(nb_program_output_numel(p, 0), n);
    const void *y = nb_program_output(p, 0);
    for (int j = 0; j < n; j++)
        switch (nb_program_output_dtype(p, 0)) {
        case NB_F32: out[j] = ((const float *)y)[j]; break;
        case NB_I32: out[j] = ((const int32_t *)y)[j]; break;
        case NB_BOOL: out[j] = ((const unsigned char *)y)[j]; break;
        default: out[j] = ((const double *)y)[j]; break;
        }
    nb_program_free(p);
    nb_graph_free(g);
    nb_onnx_model_free(&om);
}

static void expect_values(const double *got, const double *want, int n)
{
    for (int j = 0; j < n; j++)
        if (!(got[j] == want[j] || (isnan(got[j]) && isnan(want[j]))))
            fail_msg("element %d: got %.9g, want %.9g", j, got[j], want[j]);
}

static const int64_t D6[1] = {6}, D2[1] = {2}, D3[1] = {3}, D4[1] = {4};
static const int64_t D23[2] = {2, 3}, D234[3] = {2, 3, 4};

/* ---- refusals: unsupported values say what is refused ---- */

static void test_unsupported_values(void **state)
{
    (void)state;
    model m = {.opset = 13};
    pb a = {0};
    m_input(&m, "x", T_FLOAT, 1, D6);
    m_output(&m, "y", T_FLOAT, 1, D6);
    m.opset = 12;
    pb_attr_float(&a, "alpha", 0);
    m_node(&m, "Celu", "x", "y", &a);
    expect_refused(&m, NB_ONNX_ERROR_UNSUPPORTED, "alpha=0");

    m = (model){.opset = 13};
    m_input(&m, "x", T_FLOAT, 1, D6);
    m_output(&m, "y", T_FLOAT, 1, D6);
    m_node(&m, "Mod", "x,x", "y", NULL);
    expect_refused(&m, NB_ONNX_ERROR_UNSUPPORTED, "fmod=0");

    m = (model){.opset = 13};
    a = (pb){0};
    pb_attr_int(&a, "to", T_FLOAT16);
    m_input(&m, "x", T_FLOAT, 1, D6);
    m_output(&m, "y", T_FLOAT16, 1, D6);
    m_node(&m, "Cast", "x", "y", &a);
    expect_refused(&m, NB_ONNX_ERROR_UNSUPPORTED, "FLOAT16");

    m = (model){.opset = 13};
    m_input(&m, "x", T_INT64, 1, D6);
    m_output(&m, "y", T_INT64, 1, D6);
    m_node(&m, "Exp", "x", "y", NULL);
    expect_refused(&m, NB_ONNX_ERROR_UNSUPPORTED, "FLOAT or DOUBLE");

    m = (model){.opset = 6};
    a = (pb){0};
    pb_attr_float(&a, "min", NAN);
    m_input(&m, "x", T_FLOAT, 1, D6);
    m_output(&m, "y", T_FLOAT, 1, D6);
    m_node(&m, "Clip", "x", "y", &a);
    expect_refused(&m, NB_ONNX_ERROR_UNSUPPORTED, "NaN bound");

    /* broadcast is an attribute of opset 6 only: left unread, it is refused */
    m = (model){.opset = 7};
    a = (pb){0};
    pb_attr_int(&a, "broadcast", 1);
    m_input(&m, "x", T_FLOAT, 1, D6);
    m_output(&m, "y", T_FLOAT, 1, D6);
    m_node(&m, "Add", "x,x", "y", &a);
    expect_refused(&m, NB_ONNX_ERROR_UNSUPPORTED, "broadcast");
}

/* ---- hostile shapes and attributes fail without crashing ---- */

static void test_invalid_models(void **state)
{
    (void)state;
    pb a = {0};
    model m = {.opset = 6};
    pb_attr_int(&a, "broadcast", 1);
    pb_attr_int(&a, "axis", 5);
    m_input(&m, "a", T_FLOAT, 2, D23);
    m_input(&m, "b", T_FLOAT, 1, D3);
    m_output(&m, "y", T_FLOAT, 2, D23);
    m_node(&m, "Add", "a,b", "y", &a);
    expect_refused(&m, NB_ONNX_ERROR_INVALID, "axis 5");

    m = (model){.opset = 6};
    m_input(&m, "a", T_FLOAT, 2, D23);
    m_input(&m, "b", T_FLOAT, 1, D3);
    m_output(&m, "y", T_FLOAT, 2, D23);
    m_node(&m, "Mul", "a,b", "y", NULL); /* broadcast = 0: shapes must be equal */
    expect_refused(&m, NB_ONNX_ERROR_INVALID, "broadcast=1");

    m = (model){.opset = 6};
    a = (pb){0};
    pb_attr_int(&a, "broadcast", 1);
    m_input(&m, "a", T_FLOAT, 2, D23);
    m_input(&m, "b", T_FLOAT, 1, D2);
    m_output(&m, "y", T_FLOAT, 2, D23);
    m_node(&m, "Sub", "a,b", "y", &a); /* suffix matching: 2 vs 3 */
    expect_refused(&m, NB_ONNX_ERROR_INVALID, "does not match");

    m = (model){.opset = 9};
    m_input(&m, "x", T_FLOAT, 2, D23);
    m_input(&m, "s", T_FLOAT, 1, D4);
    m_output(&m, "y", T_FLOAT, 2, D23);
    m_node(&m, "PRelu", "x,s", "y", NULL);
    expect_refused(&m, NB_ONNX_ERROR_INVALID, "does not broadcast");

    m = (model){.opset = 13};
    m_input(&m, "x", T_FLOAT, 1, D6);
    m_input(&m, "lo", T_FLOAT, 1, D2);
    m_output(&m, "y", T_FLOAT, 1, D6);
    m_node(&m, "Clip", "x,lo", "y", NULL);
    expect_refused(&m, NB_ONNX_ERROR_INVALID, "a scalar is required");

    m = (model){.opset = 13};
    m_input(&m, "a", T_INT32, 1, D6);
    m_input(&m, "b", T_INT64, 1, D6);
    m_output(&m, "y", T_INT32, 1, D6);
    m_node(&m, "Add", "a,b", "y", NULL);
    expect_refused(&m, NB_ONNX_ERROR_INVALID, "one type is required");

    m = (model){.opset = 13};
    m_input(&m, "c", T_FLOAT, 1, D6);
    m_output(&m, "y", T_FLOAT, 1, D6);
    m_node(&m, "Where", "c,c,c", "y", NULL);
    expect_refused(&m, NB_ONNX_ERROR_INVALID, "BOOL is required");

    /* an integer division by zero among values known at load time */
    m = (model){.opset = 13};
    double num[2] = {4, 5}, den[2] = {2, 0};
    m_init(&m, "n", T_INT64, 0, 2, num);
    m_init(&m, "d", T_INT64, 0, 2, den);
    m_output(&m, "y", T_INT64, 1, D2);
    m_node(&m, "Div", "n,d", "y", NULL);
    expect_refused(&m, NB_ONNX_ERROR_INVALID, "division by zero");
}

/* ---- ONNX's integer semantics on negative operands, both backends ---- */

static void test_integer_div_mod(void **state)
{
    (void)state;
    int32_t av[6] = {-7, 7, -7, 7, 0, -1}, bv[6] = {2, 2, -2, -2, 3, 2};
    const char *names[2] = {"a", "b"};
    void *ins[2] = {av, bv};
    /* truncation toward zero: -7/2 = -3, 7/-2 = -3, -7/-2 = 3, -1/2 = 0 */
    const double div[6] = {-3, 3, 3, -3, 0, 0};
    /* fmod=0: the sign of the divisor; fmod=1: the sign of the dividend */
    const double mod[6] = {1, 1, -1, -1, 0, 1}, fmod_[6] = {-1, 1, -1, 1, 0, -1};
    for (int b = 0; b < 2; b++)
        for (int op = 0; op < 3; op++) {
            model m = {.opset = 13};
            pb a = {0};
            if (op == 2)
                pb_attr_int(&a, "fmod", 1);
            m_input(&m, "a", T_INT32, 1, D6);
            m_input(&m, "b", T_INT32, 1, D6);
            m_output(&m, "y", T_INT32, 1, D6);
            m_node(&m, op ? "Mod" : "Div", "a,b", "y", &a);
            double y[6];
            run_model(&m, b ? NB_BACKEND_CC : NB_BACKEND_TCC, names, ins, 2, y, 6);
            expect_values(y, op == 0 ? div : op == 1 ? mod : fmod_, 6);
        }
}

/* ---- opset 6's broadcast with axis; Clip's bound at run time; sign(NaN) ---- */

static void test_legacy_clip_sign(void **state)
{
    (void)state;
    float av[24], bv[3] = {1, 2, 4};
    double want[24], y[24];
    for (int i = 0; i < 24; i++) {
        av[i] = (float)i;
        want[i] = i / (double)bv[(i / 4) % 3]; /* B along axis 1 of [2,3,4] */
    }
    const char *names[3] = {"a", "b", "lo"};
    void *ins[2] = {av, bv};
    pb a = {0};
    model m = {.opset = 6};
    pb_attr_int(&a, "broadcast", 1);
    pb_attr_int(&a, "axis", 1);
    m_input(&m, "a", T_FLOAT, 3, D234);
    m_input(&m, "b", T_FLOAT, 1, D3);
    m_output(&m, "y", T_FLOAT, 3, D234);
    m_node(&m, "Div", "a,b", "y", &a);
    run_model(&m, NB_BACKEND_TCC, names, ins, 2, y, 24);
    for (int i = 0; i < 24; i++)
        assert_float_equal(y[i], want[i], 1e-6 * fabs(want[i]));

    /* Clip(x, lo, absent max): lo from an input, max the largest float */
    float xv[4] = {-3, 0.5f, NAN, 3e38f}, lo = -1;
    void *cins[2] = {xv, &lo};
    const char *cnames[2] = {"x", "lo"};
    const double cwant[4] = {-1, 0.5, NAN, (double)3e38f};
    m = (model){.opset = 13};
    m_input(&m, "x", T_FLOAT, 1, D4);
    m_input(&m, "lo", T_FLOAT, 0, NULL);
    m_output(&m, "y", T_FLOAT, 1, D4);
    m_node(&m, "Clip", "x,lo,", "y", NULL);
    run_model(&m, NB_BACKEND_CC, cnames, cins, 2, y, 4);
    expect_values(y, cwant, 4);

    /* ONNX's Sign keeps NaN (numpy.sign) */
    float sv[4] = {NAN, -2, 0, 3};
    void *sins[1] = {sv};
    const double swant[4] = {NAN, -1, 0, 1};
    m = (model){.opset = 13};
    m_input(&m, "x", T_FLOAT, 1, D4);
    m_output(&m, "y", T_FLOAT, 1, D4);
    m_node(&m, "Sign", "x", "y", NULL);
    run_model(&m, NB_BACKEND_TCC, cnames, sins, 1, y, 4);
    expect_values(y, swant, 4);
}

/* ---- known values: computed at load time, parameters excepted ---- */

static void test_known_values(void **state)
{
    (void)state;
    /* (n / d) * 3 cast to FLOAT, halved, floored, cast back: all known, so the output
     * is a constant. trunc(7/2) = 3, trunc(-7/2) = -3, trunc(9/-4) = -2; times 3: 9, -9,
     * -6; halved and floored: 4, -5, -3. */
    model m = {.opset = 13};
    pb a = {0}, c = {0}, h = {0};
    double n[3] = {7, -7, 9}, d[3] = {2, 2, -4}, three = 3;
    m_init(&m, "n", T_INT64, 0, 3, n);
    m_init(&m, "d", T_INT64, 0, 3, d);
    m_init(&m, "three", T_INT64, 1, 1, &three);
    pb_attr_float(&h, "value_float", 0.5f); /* a Constant: an initializer would be a parameter */
    m_node(&m, "Constant", "", "half", &h);
    pb_attr_int(&a, "to", T_FLOAT);
    pb_attr_int(&c, "to", T_INT64);
    m_output(&m, "y", T_INT64, 1, D3);
    m_node(&m, "Div", "n,d", "q", NULL);
    m_node(&m, "Mul", "q,three", "t", NULL);
    m_node(&m, "Cast", "t", "f", &a);
    m_node(&m, "Mul", "f,half", "h", NULL);
    m_node(&m, "Floor", "h", "fl", NULL);
    m_node(&m, "Cast", "fl", "y", &c);
    nb_onnx_model om;
    char err[ERR_MAX] = "";
    nb_graph *g = m_load(&m, NULL, &om, err);
    if (!g)
        fail_msg("load: %s", err);
    assert_string_equal(nb_node_op(om.outputs[0].node), "const");
    nb_graph_free(g);
    nb_onnx_model_free(&om);
    double y[3];
    const double want[3] = {4, -5, -3};
    run_model(&m, NB_BACKEND_TCC, NULL, NULL, 0, y, 3);
    expect_values(y, want, 3);

    /* a FLOAT initializer that becomes a parameter is not computed on: its product
     * stays a node, through which training reaches it; as a constant it folds */
    m = (model){.opset = 13};
    double w[2] = {1.5, -2};
    m_init(&m, "w", T_FLOAT, 0, 2, w);
    m_init(&m, "two", T_FLOAT, 1, 1, (double[]){2});
    m_output(&m, "y", T_FLOAT, 1, D2);
    m_node(&m, "Mul", "w,two", "y", NULL);
    g = m_load(&m, NULL, &om, err);
    if (!g)
        fail_msg("load: %s", err);
    assert_string_equal(nb_node_op(om.outputs[0].node), "mul");
    assert_string_equal(nb_node_op(om.initializers[0].node), "param");
    nb_graph_free(g);
    nb_onnx_model_free(&om);
    /* known inputs of 300 values each whose sum broadcasts to 90000 (more than the
     * loader computes on the host): a node */
    m = (model){.opset = 13};
    double ones[300];
    for (int i = 0; i < 300; i++)
        ones[i] = 1;
    m_init_shape(&m, "r", T_INT64, 2, (const int64_t[]){300, 1}, ones);
    m_init_shape(&m, "c", T_INT64, 2, (const int64_t[]){1, 300}, ones);
    m_output(&m, "y", T_INT64, 2, (const int64_t[]){300, 300});
    m_node(&m, "Add", "r,c", "y", NULL);
    g = m_load(&m, NULL, &om, err);
    if (!g)
        fail_msg("load: %s", err);
    assert_string_equal(nb_node_op(om.outputs[0].node), "add");
    nb_graph_free(g);
    nb_onnx_model_free(&om);

    m = (model){.opset = 13};
    m_init(&m, "w", T_FLOAT, 0, 2, w);
    m_init(&m, "two", T_FLOAT, 1, 1, (double[]){2});
    m_output(&m, "y", T_FLOAT, 1, D2);
    m_node(&m, "Mul", "w,two", "y", NULL);
    nb_onnx_options o = {.initializers_as_constants = 1};
    g = m_load(&m, &o, &om, err);
    if (!g)
        fail_msg("load: %s", err);
    assert_string_equal(nb_node_op(om.outputs[0].node), "const");
    nb_graph_free(g);
    nb_onnx_model_free(&om);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unsupported_values), cmocka_unit_test(test_invalid_models),
        cmocka_unit_test(test_integer_div_mod),    cmocka_unit_test(test_legacy_clip_sign),
        cmocka_unit_test(test_known_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
