/* test_onnx.c — the ONNX loader's core (frontend/onnx/, include/nabla_onnx.h) on the small
 * models of tests/data/onnx/ (written by tests/golden/make_onnx_models.py): what a loaded
 * model reports, initializers as parameters (trained and saved under their names) or as
 * constants, open dimensions and inputs needed at load time, the errors (each naming the
 * node and its op), malformed bytes, the tensor reader, and the gradient of an imported
 * graph against finite differences. Expected numbers are computed by hand from the
 * weights make_onnx_models.py writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "nabla.h"
#include "nabla_onnx.h"
#include "tmpdir.h"

#define DATA NABLA_TEST_DATA "/onnx/"
#define ERR_SIZE 1024

/* make_onnx_models.py's MLP: y = relu(x @ W + B) * 0.5. */
static const float W[12] = {0.5f,  -1.0f, 0.25f,  2.0f, 1.5f, 0.75f,
                            -0.5f, -2.0f, -1.25f, 1.0f, 0.5f, 0.125f};
static const float B[4] = {0.1f, -0.2f, 0.3f, -0.4f};
static const float X[6] = {1, 2, 3, -1, 0.5f, 2};
/* By hand: x @ W + B = [[-0.15, 3.3, 1.05, -2.025], [-2.15, 3.175, 0.8, -3.15]]. */
static const float Y[8] = {0, 1.65f, 0.525f, 0, 0, 1.5875f, 0.4f, 0};

/* The file's bytes (caller frees); fails the test when it cannot be read. */
static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static nb_graph *load(const char *name, const nb_onnx_options *o, nb_onnx_model *m, char *err)
{
    char path[512];
    snprintf(path, sizeof path, DATA "%s", name);
    return nb_onnx_load(path, o, m, err, ERR_SIZE);
}

/* Compiles the model's outputs (and the updates) and sets its parameters from the extras. */
static nb_program *compile_model(nb_graph *g, const nb_onnx_model *m, const nb_update *u, int n_u)
{
    nb_compile_options o = {.outputs = m->extras.outputs,
                            .n_outputs = m->extras.n_outputs,
                            .updates = u,
                            .n_updates = n_u};
    nb_program *p = nb_compile(g, &o);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(g));
    for (int i = 0; i < m->extras.n_values; i++) {
        nb_node *k = m->extras.values[i].node;
        float v[64];
        assert_true(nb_node_numel(k) <= 64 && nb_node_dtype(k) == NB_F32);
        for (int64_t j = 0; j < nb_node_numel(k); j++)
            v[j] = (float)m->extras.values[i].data[j];
        assert_int_equal(
            nb_program_set_param(p, nb_node_name(k), v, (size_t)nb_node_numel(k) * sizeof *v), 0);
    }
    return p;
}

static void expect_floats(const float *got, const float *want, int n, double tol)
{
    for (int i = 0; i < n; i++)
        if (!(got[i] >= want[i] - tol && got[i] <= want[i] + tol))
            fail_msg("element %d: %.9g, expected %.9g", i, got[i], want[i]);
}

/* ---- what a model reports ---- */

static void test_report(void **state)
{
    (void)state;
    nb_onnx_model m;
    char err[ERR_SIZE];
    nb_graph *g = load("mlp.onnx", NULL, &m, err);
    if (!g)
        fail_msg("%s", err);
    assert_int_equal(m.error, NB_ONNX_OK);
    assert_int_equal(m.opset, 13);
    assert_int_equal(m.ir_version, 8);
    assert_string_equal(m.producer, "make_onnx_models.py 1");
    assert_string_equal(m.op_types, "MatMul,Add,Relu,Constant,Mul");
    assert_int_equal(m.n_inputs, 1);
    assert_string_equal(m.inputs[0].name, "x");
    assert_int_equal(m.inputs[0].type, NB_ONNX_FLOAT);
    assert_int_equal(nb_node_dtype(m.inputs[0].node), NB_F32);
    assert_int_equal(nb_node_rank(m.inputs[0].node), 2);
    assert_int_equal(nb_node_shape(m.inputs[0].node)[1], 3);
    assert_int_equal(m.n_outputs, 1);
    assert_string_equal(m.outputs[0].name, "y");
    assert_int_equal(m.outputs[0].type, NB_ONNX_FLOAT);
    assert_ptr_equal(m.extras.outputs[0], m.outputs[0].node);
    assert_int_equal(m.n_initializers, 2);
    assert_string_equal(m.initializers[0].name, "W");
    assert_string_equal(m.initializers[1].name, "B");
    assert_int_equal(m.initializers[0].type, NB_ONNX_FLOAT);
    assert_string_equal(nb_node_op(m.initializers[0].node), "param");
    /* The type names and dtypes of the public table. */
    assert_string_equal(nb_onnx_type_name(NB_ONNX_INT64), "INT64");
    assert_string_equal(nb_onnx_type_name(99), "?");
    assert_int_equal(nb_onnx_type_dtype(NB_ONNX_INT64), NB_I32);
    assert_int_equal(nb_onnx_type_dtype(NB_ONNX_UINT8), -1);
    nb_onnx_model_free(&m);
    nb_graph_free(g);
}

/* ---- initializers as parameters ---- */

static void test_initializers_as_parameters(void **state)
{
    (void)state;
    nb_onnx_model m;
    char err[ERR_SIZE];
    nb_graph *g = load("mlp.onnx", NULL, &m, err);
    if (!g)
        fail_msg("%s", err);
    /* The extras hold the initializers' values under their names. */
    assert_int_equal(m.extras.n_values, 2);
    assert_string_equal(nb_node_name(m.extras.values[0].node), "W");
    assert_string_equal(nb_node_name(m.extras.values[1].node), "B");
    for (int j = 0; j < 12; j++)
        assert_true(m.extras.values[0].data[j] == W[j]);
    for (int j = 0; j < 4; j++)
        assert_true(m.extras.values[1].data[j] == B[j]);

    /* A training step: loss = sum(y), plain SGD with lr 0.1. */
    nb_node *w = m.initializers[0].node, *b = m.initializers[1].node;
    nb_node *loss = nb_sum(g, m.outputs[0].node, NULL, 0, 0);
    nb_node *params[2] = {w, b}, *grads[2];
    assert_int_equal(nb_grad(g, loss, params, 2, grads), 0);
    nb_update u[2 * NB_SGD_UPDATES_PER_PARAM];
    int n_u = nb_sgd(g, nb_scalar(g, NB_F32, 0.1), params, grads, 2, NULL, u, 6);
    assert_int_equal(n_u, 2);
    nb_program *p = compile_model(g, &m, u, n_u);
    assert_int_equal(nb_program_param_count(p), 2);
    assert_int_equal(nb_program_bind(p, "x", X), 0);
    assert_int_equal(nb_program_run(p), 0);
    expect_floats(nb_program_output(p, 0), Y, 8, 1e-6);
    /* By hand: relu is active at columns 1 and 2 of both rows, so d sum(y) / dW[i][j] =
     * 0.5 (x[0][i] + x[1][i]) there (0.5 * [0, 2.5, 5]) and 0 elsewhere; dB = [0, 1, 1, 0]. */
    float w1[12], b1[4];
    memcpy(w1, W, sizeof w1);
    memcpy(b1, B, sizeof b1);
    for (int j = 1; j <= 2; j++) {
        w1[4 + j] -= 0.1f * 1.25f;
        w1[8 + j] -= 0.1f * 2.5f;
        b1[j] -= 0.1f;
    }
    float got_w[12], got_b[4];
    assert_int_equal(nb_program_get_param(p, "W", got_w, sizeof got_w), 0);
    assert_int_equal(nb_program_get_param(p, "B", got_b, sizeof got_b), 0);
    expect_floats(got_w, w1, 12, 1e-6);
    expect_floats(got_b, b1, 4, 1e-6);

    /* Saved under the initializers' names: a fresh load of the model reads the file. */
    char dir[] = "/tmp/nabla-onnx-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/mlp.safetensors", dir);
    assert_int_equal(nb_program_save(p, path), 0);
    size_t len;
    unsigned char *file = read_file(path, &len);
    file[len] = 0;
    assert_non_null(strstr((const char *)file + 8, "\"W\":"));
    assert_non_null(strstr((const char *)file + 8, "\"B\":"));
    free(file);
    nb_onnx_model m2;
    nb_graph *g2 = load("mlp.onnx", NULL, &m2, err);
    assert_non_null(g2);
    nb_program *p2 = compile_model(g2, &m2, NULL, 0);
    if (nb_program_load(p2, path) != 0)
        fail_msg("%s", nb_program_error(p2));
    assert_int_equal(nb_program_get_param(p2, "W", got_w, sizeof got_w), 0);
    expect_floats(got_w, w1, 12, 0);
    nb_program_free(p2);
    nb_onnx_model_free(&m2);
    nb_graph_free(g2);
    tu_remove_dir(dir);
    nb_program_free(p);
    nb_onnx_model_free(&m);
    nb_graph_free(g);
}

static void test_initializers_as_constants(void **state)
{
    (void)state;
    nb_onnx_options o = {.initializers_as_constants = 1};
    nb_onnx_model m;
    char err[ERR_SIZE];
    nb_graph *g = load("mlp.onnx", &o, &m, err);
    if (!g)
        fail_msg("%s", err);
    assert_int_equal(m.extras.n_values, 0);
    assert_int_equal(m.n_initializers, 2);
    assert_string_equal(m.initializers[0].name, "W");
    assert_string_equal(nb_node_op(m.initializers[0].node), "const");
    nb_program *p = compile_model(g, &m, NULL, 0);
    assert_int_equal(nb_program_param_count(p), 0);
    assert_int_equal(nb_program_bind(p, "x", X), 0);
    assert_int_equal(nb_program_run(p), 0);
    expect_floats(nb_program_output(p, 0), Y, 8, 1e-6);
    nb_program_free(p);
    nb_onnx_model_free(&m);
    nb_graph_free(g);
}

/* ---- shapes and values given at load ---- */

static void test_open_dimension(void **state)
{
    (void)state;
    nb_onnx_model m;
    char err[ERR_SIZE];
    assert_null(load("open_dim.onnx", NULL, &m, err));
    assert_int_equal(m.error, NB_ONNX_ERROR_NEEDS_SHAPE);
    assert_non_null(strstr(err, "input 'x': dimension 0 is open"));
    nb_onnx_model_free(&m);
    /* The shape given: every dimension, the fixed one included. */
    nb_onnx_shape s = {.name = "x", .rank = 2, .dims = {5, 3}};
    nb_onnx_options o = {.shapes = &s, .n_shapes = 1};
    nb_graph *g = load("open_dim.onnx", &o, &m, err);
    if (!g)
        fail_msg("%s", err);
    assert_int_equal(nb_node_shape(m.inputs[0].node)[0], 5);
    assert_int_equal(nb_node_shape(m.outputs[0].node)[0], 5);
    nb_onnx_model_free(&m);
    nb_graph_free(g);
    /* A shape that disagrees with the fixed dimension is refused. */
    s.dims[1] = 4;
    assert_null(load("open_dim.onnx", &o, &m, err));
    assert_int_equal(m.error, NB_ONNX_ERROR_INVALID);
    assert_non_null(strstr(err, "input 'x': the shape given for it does not fit"));
    nb_onnx_model_free(&m);
}

static void test_value_needed_at_load(void **state)
{
    (void)state;
    nb_onnx_model m;
    char err[ERR_SIZE];
    assert_null(load("reshape_input.onnx", NULL, &m, err));
    if (strstr(err, "the op is not supported")) {
        nb_onnx_model_free(&m);
        skip(); /* Reshape's importer is not on this branch */
    }
    assert_int_equal(m.error, NB_ONNX_ERROR_NEEDS_VALUE);
    assert_non_null(strstr(err, "node 0 'reshape' (Reshape): input 1 'shape'"));
    nb_onnx_model_free(&m);
    double shape[2] = {3, 2};
    nb_onnx_tensor v = {
        .name = "shape", .type = NB_ONNX_INT64, .rank = 1, .dims = {2}, .numel = 2, .data = shape};
    nb_onnx_options o = {.values = &v, .n_values = 1};
    nb_graph *g = load("reshape_input.onnx", &o, &m, err);
    if (!g)
        fail_msg("%s", err);
    assert_int_equal(m.n_inputs, 1); /* "shape" is no input of the graph any more */
    assert_int_equal(nb_node_shape(m.outputs[0].node)[0], 3);
    assert_int_equal(nb_node_shape(m.outputs[0].node)[1], 2);
    nb_onnx_model_free(&m);
    nb_graph_free(g);
}

/* A value for a name that is no input is refused. */
static void test_value_for_no_input(void **state)
{
    (void)state;
    double one = 1;
    nb_onnx_tensor v = {.name = "nosuch", .type = NB_ONNX_FLOAT, .numel = 1, .data = &one};
    nb_onnx_options o = {.values = &v, .n_values = 1};
    nb_onnx_model m;
    char err[ERR_SIZE];
    assert_null(load("mlp.onnx", &o, &m, err));
    assert_int_equal(m.error, NB_ONNX_ERROR_INVALID);
    assert_non_null(strstr(err, "'nosuch', which is no input"));
    nb_onnx_model_free(&m);
}

/* ---- errors: each names the node and its op ---- */

static const struct {
    const char *file;
    nb_onnx_error kind;
    const char *message;
} errors[] = {
    {"unsupported_op.onnx", NB_ONNX_ERROR_UNSUPPORTED,
     "node 0 'n0' (NoSuchOp): the op is not supported"},
    {"unsupported_domain.onnx", NB_ONNX_ERROR_UNSUPPORTED,
     "node 0 'n0' (Relu): the domain 'com.example' is not supported"},
    {"unread_attr.onnx", NB_ONNX_ERROR_UNSUPPORTED,
     "node 0 'n0' (Relu): attribute nosuch=1 is not supported"},
    {"wrong_attr_type.onnx", NB_ONNX_ERROR_INVALID,
     "node 0 'c' (Constant): attribute 'value_float' is INT, expected FLOAT"},
    {"opset5.onnx", NB_ONNX_ERROR_UNSUPPORTED, "opset 5 is not supported"},
    {"opset18.onnx", NB_ONNX_ERROR_UNSUPPORTED, "opset 18 is not supported"},
    {"uint8_input.onnx", NB_ONNX_ERROR_UNSUPPORTED, "input 'x' is of type UINT8"},
    {"external_data.onnx", NB_ONNX_ERROR_UNSUPPORTED,
     "initializer 'w': its data is stored outside the model (external data)"},
    {"int64_big.onnx", NB_ONNX_ERROR_UNSUPPORTED,
     "node 1 'add' (Add): value 'c': element 0 is 1099511627776, outside the int32 range"},
    {"undefined_input.onnx", NB_ONNX_ERROR_INVALID,
     "node 0 'n0' (Relu): input 0 'nosuch' is no graph input, initializer or output of an "
     "earlier node"},
    {"defined_twice.onnx", NB_ONNX_ERROR_INVALID,
     "node 1 'second' (Relu): value 'y' is defined twice"},
    {"input_twice.onnx", NB_ONNX_ERROR_INVALID, "input 'x' is listed twice"},
    {"bad_output_shape.onnx", NB_ONNX_ERROR_UNSUPPORTED,
     "output 'y': the model declares the shape [3,2], nabla computes [2,3]"},
};

static void test_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
        nb_onnx_model m;
        char err[ERR_SIZE] = "";
        nb_graph *g = load(errors[i].file, NULL, &m, err);
        if (g || m.error != errors[i].kind || !strstr(err, errors[i].message))
            fail_msg("%s: %s (error %d), expected \"%s\" (error %d)", errors[i].file,
                     g ? "loaded" : err, m.error, errors[i].message, errors[i].kind);
        /* The file's path starts the message; the op types are listed after a failure. */
        assert_non_null(strstr(err, errors[i].file));
        assert_non_null(m.op_types);
        assert_null(m.inputs);
        assert_null(m.extras.outputs);
        nb_onnx_model_free(&m);
    }
}

/* ---- malformed bytes ---- */

static void test_malformed_bytes(void **state)
{
    (void)state;
    size_t len;
    unsigned char *model = read_file(DATA "mlp.onnx", &len);
    char err[ERR_SIZE];
    nb_onnx_model m;
    /* Every truncation is refused: the opset list follows the graph in the file. */
    for (size_t n = 0; n < len; n++) {
        nb_graph *g = nb_onnx_parse(model, n, NULL, &m, err, sizeof err);
        if (g || m.error == NB_ONNX_OK || strncmp(err, "onnx: ", 6) != 0)
            fail_msg("%zu of %zu bytes: %s", n, len, g ? "loaded" : err);
        nb_onnx_model_free(&m);
    }
    nb_graph *g = nb_onnx_parse(model, len / 2, NULL, &m, err, sizeof err);
    assert_null(g);
    assert_int_equal(m.error, NB_ONNX_ERROR_INVALID);
    nb_onnx_model_free(&m);
    /* Random bytes (a fixed xorshift stream). */
    uint64_t s = 0x9e3779b97f4a7c15u;
    unsigned char junk[512];
    for (int round = 0; round < 200; round++) {
        for (size_t j = 0; j < sizeof junk; j++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            junk[j] = (unsigned char)s;
        }
        size_t n = 1 + (size_t)(s % sizeof junk);
        g = nb_onnx_parse(junk, n, NULL, &m, err, sizeof err);
        assert_null(g);
        assert_int_not_equal(m.error, NB_ONNX_OK);
        nb_onnx_model_free(&m);
    }
    /* NULL bytes with a length; no model struct and no message buffer. */
    assert_null(nb_onnx_parse(NULL, 4, NULL, &m, err, sizeof err));
    assert_int_equal(m.error, NB_ONNX_ERROR_INVALID);
    assert_null(nb_onnx_parse(junk, 16, NULL, NULL, NULL, 0));
    /* A missing file. */
    assert_null(nb_onnx_load(DATA "nosuch.onnx", NULL, &m, err, sizeof err));
    assert_int_equal(m.error, NB_ONNX_ERROR_FILE);
    free(model);
}

/* ---- the tensor reader ---- */

static void expect_tensor(const char *file, int type, const double *want, const char *name)
{
    char path[512], err[ERR_SIZE];
    snprintf(path, sizeof path, DATA "tensors/%s", file);
    nb_onnx_tensor t;
    if (nb_onnx_tensor_load(path, &t, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_string_equal(t.name, name);
    assert_int_equal(t.type, type);
    assert_int_equal(t.rank, 2);
    assert_int_equal(t.dims[0], 2);
    assert_int_equal(t.dims[1], 3);
    assert_int_equal(t.numel, 6);
    for (int j = 0; j < 6; j++)
        if (t.data[j] != want[j])
            fail_msg("%s element %d: %.17g, expected %.17g", file, j, t.data[j], want[j]);
    nb_onnx_tensor_free(&t);
    assert_null(t.data);
}

static void test_tensor_parse(void **state)
{
    (void)state;
    static const double f[6] = {1.5, -2.0, 0.25, 3.0, -0.0, (double)1e-3f},
                        d[6] = {1.5, -2.0, 0.25, 3.0, -0.0, 1e-300},
                        i64[6] = {1, -2, 3, 1099511627776.0, -9007199254740992.0, 0},
                        i32[6] = {1, -2, 3, 2147483647.0, -2147483648.0, 0},
                        b[6] = {1, 0, 1, 1, 0, 0};
    for (int raw = 0; raw < 2; raw++) {
        char file[64];
#define EXPECT(stem, type, want, name)                                                             \
    snprintf(file, sizeof file, "%s_%s.pb", stem, raw ? "raw" : "typed");                          \
    expect_tensor(file, type, want, name)
        EXPECT("float", NB_ONNX_FLOAT, f, "t_float");
        EXPECT("double", NB_ONNX_DOUBLE, d, "t_double");
        EXPECT("int64", NB_ONNX_INT64, i64, "t_int64");
        EXPECT("int32", NB_ONNX_INT32, i32, "t_int32");
        EXPECT("bool", NB_ONNX_BOOL, b, "t_bool");
#undef EXPECT
    }
    char err[ERR_SIZE];
    nb_onnx_tensor t;
    assert_int_equal(nb_onnx_tensor_load(DATA "tensors/scalar.pb", &t, err, sizeof err), 0);
    assert_int_equal(t.rank, 0);
    assert_int_equal(t.numel, 1);
    assert_true(t.data[0] == 7.0);
    nb_onnx_tensor_free(&t);
    assert_int_equal(nb_onnx_tensor_load(DATA "tensors/empty.pb", &t, err, sizeof err), 0);
    assert_int_equal(t.numel, 0);
    assert_int_equal(t.dims[0], 0);
    nb_onnx_tensor_free(&t);
    /* Wrong lengths and a type without dtype: refused, the struct zeroed. */
    static const struct {
        const char *file, *message;
    } bad[] = {
        {"raw_short.pb", "raw_data holds 23 bytes, 6 elements of FLOAT need 24"},
        {"typed_short.pb", "it holds 5 values, its shape 6"},
        {"uint8.pb", "UINT8"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, DATA "tensors/%s", bad[i].file);
        assert_int_equal(nb_onnx_tensor_load(path, &t, err, sizeof err), -1);
        if (!strstr(err, bad[i].message))
            fail_msg("%s: %s, expected %s", bad[i].file, err, bad[i].message);
        assert_null(t.data);
        assert_null(t.name);
    }
    /* Malformed bytes and NULLs. */
    static const unsigned char junk[] = {0x08, 0xff, 0xff, 0xff};
    assert_int_equal(nb_onnx_tensor_parse(junk, sizeof junk, &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a TensorProto"));
    assert_int_equal(nb_onnx_tensor_parse(NULL, 3, &t, err, sizeof err), -1);
    assert_int_equal(nb_onnx_tensor_parse(junk, sizeof junk, NULL, NULL, 0), -1);
    nb_onnx_tensor_free(NULL);
}

/* ---- gradients through an imported graph ---- */

static void test_gradcheck(void **state)
{
    (void)state;
    nb_onnx_model m;
    char err[ERR_SIZE];
    nb_graph *g = load("mlp_f64.onnx", NULL, &m, err);
    if (!g)
        fail_msg("%s", err);
    nb_node *y = m.outputs[0].node;
    nb_node *loss = nb_sum(g, nb_mul(g, y, y), NULL, 0, 0);
    nb_node *wrt[3] = {m.inputs[0].node, m.initializers[0].node, m.initializers[1].node};
    nb_gradcheck_value v[2] = {{.leaf = wrt[1], .data = m.extras.values[0].data},
                               {.leaf = wrt[2], .data = m.extras.values[1].data}};
    nb_gradcheck_options o = nb_gradcheck_default_options();
    o.values = v;
    o.n_values = 2;
    o.n_points = 4;
    nb_gradcheck_result r;
    if (nb_gradcheck(g, loss, wrt, 3, &o, &r) != 0)
        fail_msg("%s", r.message);
    assert_true(r.checked > 0);
    nb_onnx_model_free(&m);
    nb_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report),
        cmocka_unit_test(test_initializers_as_parameters),
        cmocka_unit_test(test_initializers_as_constants),
        cmocka_unit_test(test_open_dimension),
        cmocka_unit_test(test_value_needed_at_load),
        cmocka_unit_test(test_value_for_no_input),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_malformed_bytes),
        cmocka_unit_test(test_tensor_parse),
        cmocka_unit_test(test_gradcheck),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
