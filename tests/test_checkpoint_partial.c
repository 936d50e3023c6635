/* test_checkpoint_partial.c — non-strict loads and parameters-only saves: an inference
 * program takes its weights from a training checkpoint (Adam's state and the gradient
 * buffers reported as unexpected), parameters the file lacks are reported missing and
 * keep their values, a dtype or shape that differs is refused with nothing changed, the
 * tensors a load skips are checked all the same, and parameter kinds tell the model's
 * parameters from the optimizer's and the gradient buffers. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "files.h"
#include "ir.h"
#include "nabla.h"
#include "tmpdir.h"

/* ---- files ------------------------------------------------------------------------- */

/* A safetensors file by hand: the header json (its length as the length field), then
 * data_len bytes of 0x3c. */
static void write_st(const char *path, const char *json, size_t data_len)
{
    size_t jn = strlen(json);
    unsigned char *b = malloc(8 + jn + data_len);
    assert_non_null(b);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)jn >> (8 * i));
    memcpy(b + 8, json, jn);
    memset(b + 8 + jn, 0x3c, data_len);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, 8 + jn + data_len, f), 8 + jn + data_len);
    assert_int_equal(fclose(f), 0);
    free(b);
}

static void assert_error_has(nb_program *p, const char *what)
{
    const char *e = nb_program_error(p);
    if (!e || !strstr(e, what))
        fail_msg("error '%s' does not mention '%s'", e ? e : "(none)", what);
}

static void assert_report_zero(const nb_load_report *r)
{
    assert_int_equal(r->n_loaded, 0);
    assert_int_equal(r->n_missing, 0);
    assert_int_equal(r->n_unexpected, 0);
    assert_null(r->missing);
    assert_null(r->unexpected);
}

/* names[0..n) equal want[0..n), in order. */
static void assert_names(const char *const *names, int n, const char *const *want, int n_want)
{
    assert_int_equal(n, n_want);
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], want[i]) != 0)
            fail_msg("name %d is '%s', expected '%s'", i, names[i], want[i]);
}

/* ---- the programs ------------------------------------------------------------------ */

/* The layers: fc1 (w [3,5], b [5]) and fc2 (w [5,2]), y = relu(x[4,3] @ fc1.w + fc1.b)
 * @ fc2.w. */
static const int64_t sx[] = {4, 3}, sw1[] = {3, 5}, sb1[] = {5}, sw2[] = {5, 2};
static const float x_data[12] = {0.5f, -1, 2, 0.25f, 1.5f, -0.75f, 3, -2, 0.125f, 1, -0.5f, 2.5f};

/* What the training checkpoint holds besides the layers, in its order (the training
 * program's parameter order: the layers, the gradient buffers, then Adam's state
 * parameter by parameter). Written by hand from nb_grad_buffers' and nb_adam's
 * documented names. */
static const char *const train_extras[] = {"fc1.w.grad",    "fc1.b.grad",       "fc2.w.grad",
                                           "fc1.w.exp_avg", "fc1.w.exp_avg_sq", "fc1.w.step",
                                           "fc1.b.exp_avg", "fc1.b.exp_avg_sq", "fc1.b.step",
                                           "fc2.w.exp_avg", "fc2.w.exp_avg_sq", "fc2.w.step"};
#define N_TRAIN_EXTRAS 12

/* loss = mean(y^2), gradients accumulated in buffers, Adam with lr 0.01. Initialized as
 * nn.Linear and trained two steps, so that every parameter is nonzero. */
static nb_program *train_program(void)
{
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 2, sx);
    nb_node *params[3] = {nb_param(g, "fc1.w", NB_F32, 2, sw1),
                          nb_param(g, "fc1.b", NB_F32, 1, sb1),
                          nb_param(g, "fc2.w", NB_F32, 2, sw2)};
    nb_node *h = nb_relu(g, nb_add(g, nb_matmul(g, x, params[0]), params[1]));
    nb_node *y = nb_matmul(g, h, params[2]);
    nb_node *loss = nb_mean(g, nb_mul(g, y, y), NULL, 0, 0);
    nb_node *grads[3], *bufs[3], *acc[3];
    assert_int_equal(nb_grad(g, loss, params, 3, grads), 0);
    assert_int_equal(nb_grad_buffers(g, params, grads, 3, bufs, acc), 0);
    nb_update u[3 + 3 * NB_ADAM_UPDATES_PER_PARAM];
    for (int i = 0; i < 3; i++)
        u[i] = (nb_update){bufs[i], acc[i]};
    int n = nb_adam(g, nb_scalar(g, NB_F32, 0.01), params, acc, 3, NULL, u + 3,
                    3 * NB_ADAM_UPDATES_PER_PARAM);
    if (n < 0)
        fail_msg("adam: %s", nb_graph_error(g));
    nb_compile_options opt = {.outputs = &loss, .n_outputs = 1, .updates = u, .n_updates = 3 + n};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(g));
    nb_graph_free(g);
    assert_int_equal(nb_program_init_linear(p, "fc1.w", "fc1.b", 1), 0);
    assert_int_equal(nb_program_init_linear(p, "fc2.w", NULL, 2), 0);
    assert_int_equal(nb_program_bind(p, "x", x_data), 0);
    for (int i = 0; i < 2; i++)
        if (nb_program_run(p) != 0)
            fail_msg("run: %s", nb_program_error(p));
    return p;
}

/* The inference program of the same layers: fc1.w as w1_dtype, fc2.w of shape w2_shape,
 * and with `head` a parameter "head.w" f32[2] that the training program does not have
 * (y + head.w). Every parameter is filled with 9s. */
static nb_program *infer_program(nb_dtype w1_dtype, const int64_t *w2_shape, int head)
{
    static const int64_t s2[] = {2};
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 2, sx);
    nb_node *w1 = nb_param(g, "fc1.w", w1_dtype, 2, sw1);
    if (w1_dtype != NB_F32)
        w1 = nb_cast(g, w1, NB_F32);
    nb_node *b1 = nb_param(g, "fc1.b", NB_F32, 1, sb1);
    nb_node *w2 = nb_param(g, "fc2.w", NB_F32, 2, w2_shape);
    if (w2_shape[0] != 5)
        w2 = nb_transpose(g, w2);
    nb_node *y = nb_matmul(g, nb_relu(g, nb_add(g, nb_matmul(g, x, w1), b1)), w2);
    if (head)
        y = nb_add(g, y, nb_param(g, "head.w", NB_F32, 1, s2));
    nb_compile_options opt = {.outputs = &y, .n_outputs = 1};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(g));
    nb_graph_free(g);
    for (int i = 0; i < nb_program_param_count(p); i++) {
        int64_t n = nb_program_param_numel(p, i);
        void *d = nb_program_param_data(p, i);
        for (int64_t k = 0; k < n; k++) {
            if (nb_program_param_dtype(p, i) == NB_F64)
                ((double *)d)[k] = 9;
            else
                ((float *)d)[k] = 9;
        }
    }
    assert_int_equal(nb_program_bind(p, "x", x_data), 0);
    return p;
}

static const int64_t sw2_t[] = {2, 5};

/* Every element of every parameter of p is 9 (the values infer_program gave them). */
static void assert_nines(nb_program *p)
{
    for (int i = 0; i < nb_program_param_count(p); i++) {
        const void *d = nb_program_param_data(p, i);
        for (int64_t k = 0; k < nb_program_param_numel(p, i); k++) {
            double v = nb_program_param_dtype(p, i) == NB_F64 ? ((const double *)d)[k]
                                                              : ((const float *)d)[k];
            if (v != 9)
                fail_msg("parameter '%s' element %lld changed to %g", nb_program_param_name(p, i),
                         (long long)k, v);
        }
    }
}

/* Parameter name of a and b hold the same bytes. */
static void assert_same_param(nb_program *a, nb_program *b, const char *name)
{
    int i = nb_program_param_index(a, name), j = nb_program_param_index(b, name);
    assert_true(i >= 0 && j >= 0);
    size_t n = (size_t)nb_program_param_numel(a, i) * nb_dtype_size(nb_program_param_dtype(a, i));
    assert_int_equal(n, (size_t)nb_program_param_numel(b, j) *
                            nb_dtype_size(nb_program_param_dtype(b, j)));
    assert_memory_equal(nb_program_param_data(a, i), nb_program_param_data(b, j), n);
}

static const float *param_f32(nb_program *p, const char *name)
{
    int i = nb_program_param_index(p, name);
    assert_true(i >= 0);
    return nb_program_param_data(p, i);
}

/* ---- kinds ------------------------------------------------------------------------- */

/* The training program's parameters: the layers are the model's, Adam's state the
 * optimizer's, the buffers gradients; a bad index or program is -1. */
static void test_param_kinds(void **state)
{
    (void)state;
    nb_program *p = train_program();
    static const struct {
        const char *name;
        nb_param_kind kind;
    } want[] = {{"fc1.w", NB_PARAM_MODEL},
                {"fc1.b", NB_PARAM_MODEL},
                {"fc2.w", NB_PARAM_MODEL},
                {"fc1.w.grad", NB_PARAM_GRAD},
                {"fc2.w.grad", NB_PARAM_GRAD},
                {"fc1.w.exp_avg", NB_PARAM_OPTIMIZER},
                {"fc1.b.exp_avg_sq", NB_PARAM_OPTIMIZER},
                {"fc2.w.step", NB_PARAM_OPTIMIZER}};
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        int i = nb_program_param_index(p, want[k].name);
        assert_true(i >= 0);
        if (nb_program_param_kind(p, i) != want[k].kind)
            fail_msg("'%s' is of kind %d, expected %d", want[k].name, nb_program_param_kind(p, i),
                     want[k].kind);
    }
    assert_int_equal(nb_program_param_count(p), 3 + N_TRAIN_EXTRAS);
    assert_true(nb_program_param_kind(p, -1) == (nb_param_kind)-1);
    assert_true(nb_program_param_kind(p, 3 + N_TRAIN_EXTRAS) == (nb_param_kind)-1);
    assert_true(nb_program_param_kind(NULL, 0) == (nb_param_kind)-1);
    /* SGD's momentum buffer is the optimizer's too; a parameter named like optimizer
     * state but made with nb_param is the model's. */
    static const int64_t s3[] = {3};
    nb_graph *g = nb_graph_new();
    nb_node *w = nb_param(g, "w", NB_F32, 1, s3), *fake = nb_param(g, "v.exp_avg", NB_F32, 1, s3);
    nb_node *loss = nb_sum(g, nb_mul(g, nb_mul(g, w, w), fake), NULL, 0, 0), *gw;
    assert_int_equal(nb_grad(g, loss, &w, 1, &gw), 0);
    nb_sgd_options so = {.momentum = 0.9};
    nb_update u[4];
    int n = nb_sgd(g, nb_scalar(g, NB_F32, 0.1), &w, &gw, 1, &so, u, 4);
    assert_true(n > 0);
    nb_compile_options opt = {.outputs = &loss, .n_outputs = 1, .updates = u, .n_updates = n};
    nb_program *q = nb_compile(g, &opt);
    if (!q)
        fail_msg("compile: %s", nb_graph_error(g));
    nb_graph_free(g);
    assert_int_equal(nb_program_param_kind(q, nb_program_param_index(q, "w")), NB_PARAM_MODEL);
    assert_int_equal(nb_program_param_kind(q, nb_program_param_index(q, "v.exp_avg")),
                     NB_PARAM_MODEL);
    assert_int_equal(nb_program_param_kind(q, nb_program_param_index(q, "w.momentum_buffer")),
                     NB_PARAM_OPTIMIZER);
    nb_program_free(q);
    nb_program_free(p);
}

/* ---- training checkpoint to inference program -------------------------------------- */

/* A strict load refuses the training checkpoint (unchanged); a non-strict one takes the
 * three layers, reports the twelve other tensors, and the inference program then
 * computes the forward pass of the trained weights. */
static void test_train_to_inference(void **state)
{
    (void)state;
    char *dir = tu_make_dir("nabla-partial"), *path = tu_join(dir, "train.safetensors");
    nb_program *t = train_program(), *p = infer_program(NB_F32, sw2, 0);
    assert_int_equal(nb_program_save(t, path), 0);

    nb_load_report r;
    memset(&r, 0x5a, sizeof r);
    assert_int_equal(nb_program_load_ex(p, path, 1, &r), -1);
    assert_error_has(p, path);
    assert_error_has(p, "the file has a tensor 'fc1.w.grad' that the program does not have");
    assert_report_zero(&r);
    assert_nines(p);
    assert_int_equal(nb_program_load(p, path), -1); /* the same */
    assert_error_has(p, "the file has a tensor 'fc1.w.grad' that the program does not have");
    assert_nines(p);

    if (nb_program_load_ex(p, path, 0, &r) != 0)
        fail_msg("load: %s", nb_program_error(p));
    assert_null(nb_program_error(p));
    assert_int_equal(r.n_loaded, 3);
    assert_int_equal(r.n_missing, 0);
    assert_null(r.missing);
    assert_names(r.unexpected, r.n_unexpected, train_extras, N_TRAIN_EXTRAS);
    assert_same_param(t, p, "fc1.w");
    assert_same_param(t, p, "fc1.b");
    assert_same_param(t, p, "fc2.w");

    /* The forward pass computed here from the training program's weights. */
    const float *w1 = param_f32(t, "fc1.w"), *b1 = param_f32(t, "fc1.b"),
                *w2 = param_f32(t, "fc2.w");
    assert_int_equal(nb_program_run(p), 0);
    const float *y = nb_program_output(p, 0);
    for (int n = 0; n < 4; n++) {
        float h[5];
        for (int j = 0; j < 5; j++) {
            float s = b1[j];
            for (int k = 0; k < 3; k++)
                s += x_data[3 * n + k] * w1[5 * k + j];
            h[j] = s > 0 ? s : 0;
        }
        for (int j = 0; j < 2; j++) {
            float s = 0;
            for (int k = 0; k < 5; k++)
                s += h[k] * w2[2 * k + j];
            assert_float_equal(y[2 * n + j], s, 1e-5 + 1e-5 * fabsf(s));
        }
    }
    /* Non-strict with no report, and strict (a program of the same graph) with one. */
    assert_int_equal(nb_program_load_ex(p, path, 0, NULL), 0);
    nb_program *t2 = train_program();
    const float zeros[15] = {0};
    assert_int_equal(nb_program_set_param(t2, "fc1.w.exp_avg_sq", zeros, sizeof zeros), 0);
    memset(&r, 0x5a, sizeof r);
    assert_int_equal(nb_program_load_ex(t2, path, 1, &r), 0);
    assert_int_equal(r.n_loaded, 3 + N_TRAIN_EXTRAS);
    assert_int_equal(r.n_missing, 0);
    assert_int_equal(r.n_unexpected, 0);
    assert_null(r.missing);
    assert_null(r.unexpected);
    assert_same_param(t, t2, "fc1.w.exp_avg_sq");
    nb_program_free(t2);
    nb_program_free(t);
    nb_program_free(p);
    free(path);
    tu_remove_dir(dir);
    free(dir);
}

/* A parameter the file lacks is reported missing and keeps its value; so does every
 * parameter of a program that shares no name with the file (a success: n_loaded 0). */
static void test_missing_keeps_value(void **state)
{
    (void)state;
    char *dir = tu_make_dir("nabla-partial"), *path = tu_join(dir, "train.safetensors");
    nb_program *t = train_program(), *p = infer_program(NB_F32, sw2, 1);
    assert_int_equal(nb_program_save(t, path), 0);
    nb_load_report r;
    if (nb_program_load_ex(p, path, 0, &r) != 0)
        fail_msg("load: %s", nb_program_error(p));
    static const char *const head[] = {"head.w"};
    assert_int_equal(r.n_loaded, 3);
    assert_names(r.missing, r.n_missing, head, 1);
    assert_names(r.unexpected, r.n_unexpected, train_extras, N_TRAIN_EXTRAS);
    const float *hw = param_f32(p, "head.w");
    assert_true(hw[0] == 9 && hw[1] == 9);
    assert_same_param(t, p, "fc2.w");
    assert_int_equal(nb_program_load_ex(p, path, 1, &r), -1);
    assert_error_has(p, "the file has a tensor 'fc1.w.grad' that the program does not have");

    static const int64_t s3[] = {3};
    nb_graph *g = nb_graph_new();
    nb_node *o = nb_param(g, "other", NB_F32, 1, s3);
    nb_compile_options opt = {.outputs = &o, .n_outputs = 1};
    nb_program *q = nb_compile(g, &opt);
    nb_graph_free(g);
    assert_non_null(q);
    const float other[3] = {1.5f, -2, 4};
    assert_int_equal(nb_program_set_param(q, "other", other, sizeof other), 0);
    if (nb_program_load_ex(q, path, 0, &r) != 0)
        fail_msg("load: %s", nb_program_error(q));
    static const char *const all[] = {"fc1.w",      "fc1.b",      "fc2.w",
                                      "fc1.w.grad", "fc1.b.grad", "fc2.w.grad"};
    assert_int_equal(r.n_loaded, 0);
    assert_names(r.missing, r.n_missing, (const char *const[]){"other"}, 1);
    assert_int_equal(r.n_unexpected, 3 + N_TRAIN_EXTRAS);
    assert_names(r.unexpected, 6, all, 6);
    assert_memory_equal(param_f32(q, "other"), other, sizeof other);
    nb_program_free(q);
    nb_program_free(t);
    nb_program_free(p);
    free(path);
    tu_remove_dir(dir);
    free(dir);
}

/* A tensor whose name the program has but whose dtype or shape differs is refused in
 * both modes, naming the file, the tensor and both types; nothing changes, not even the
 * parameters that come first in the file. */
static void test_mismatch_refused(void **state)
{
    (void)state;
    char *dir = tu_make_dir("nabla-partial"), *path = tu_join(dir, "train.safetensors");
    nb_program *t = train_program();
    assert_int_equal(nb_program_save(t, path), 0);
    struct {
        nb_dtype w1;
        const int64_t *w2;
        const char *error;
    } cases[] = {
        {NB_F64, sw2, "tensor 'fc1.w' is f32[3,5], the parameter is f64[3,5]"},
        {NB_F32, sw2_t, "tensor 'fc2.w' is f32[5,2], the parameter is f32[2,5]"},
    };
    for (int c = 0; c < 2; c++)
        for (int strict = 0; strict < 2; strict++) {
            nb_program *p = infer_program(cases[c].w1, cases[c].w2, 1);
            nb_load_report r;
            memset(&r, 0x5a, sizeof r);
            assert_int_equal(nb_program_load_ex(p, path, strict, &r), -1);
            assert_error_has(p, path);
            assert_error_has(p, cases[c].error);
            assert_report_zero(&r);
            assert_nines(p);
            nb_program_free(p);
        }
    nb_program_free(t);
    free(path);
    tu_remove_dir(dir);
    free(dir);
}

/* ---- parameters only --------------------------------------------------------------- */

/* save_params writes the three layers and nothing else: the inference program loads
 * the file strictly; the training program loads it non-strictly, its Adam state and
 * gradient buffers missing and kept. */
static void test_save_params(void **state)
{
    (void)state;
    char *dir = tu_make_dir("nabla-partial"), *path = tu_join(dir, "params.safetensors");
    nb_program *t = train_program(), *p = infer_program(NB_F32, sw2, 0);
    if (nb_program_save_params(t, path) != 0)
        fail_msg("save_params: %s", nb_program_error(t));
    size_t n;
    unsigned char *b = tu_read_file(path, &n);
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++)
        hlen |= (uint64_t)b[i] << (8 * i);
    assert_int_equal(n, 8 + hlen + (15 + 5 + 10) * 4); /* the layers' floats only */
    free(b);
    if (nb_program_load(p, path) != 0)
        fail_msg("strict load: %s", nb_program_error(p));
    assert_same_param(t, p, "fc1.w");
    assert_same_param(t, p, "fc1.b");
    assert_same_param(t, p, "fc2.w");

    nb_program *t2 = train_program();
    assert_int_equal(nb_program_load(t2, path), -1);
    assert_error_has(t2, "parameter 'fc1.w.grad' and 11 more are missing from the file");
    /* Give t2's state values of its own: they must survive the non-strict load. */
    float m[15];
    for (int i = 0; i < 15; i++)
        m[i] = 0.25f * (float)i;
    assert_int_equal(nb_program_set_param(t2, "fc1.w.exp_avg", m, sizeof m), 0);
    float g2[10];
    memcpy(g2, param_f32(t2, "fc2.w.grad"), sizeof g2);
    nb_load_report r;
    if (nb_program_load_ex(t2, path, 0, &r) != 0)
        fail_msg("load: %s", nb_program_error(t2));
    assert_int_equal(r.n_loaded, 3);
    assert_names(r.missing, r.n_missing, train_extras, N_TRAIN_EXTRAS);
    assert_int_equal(r.n_unexpected, 0);
    assert_null(r.unexpected);
    assert_same_param(t, t2, "fc1.w");
    assert_memory_equal(param_f32(t2, "fc1.w.exp_avg"), m, sizeof m);
    assert_memory_equal(param_f32(t2, "fc2.w.grad"), g2, sizeof g2);

    /* A program without optimizer or gradient buffers saves the same file either way. */
    char *all = tu_join(dir, "all.safetensors"), *only = tu_join(dir, "only.safetensors");
    assert_int_equal(nb_program_save(p, all), 0);
    assert_int_equal(nb_program_save_params(p, only), 0);
    size_t n1, n2;
    unsigned char *f1 = tu_read_file(all, &n1), *f2 = tu_read_file(only, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(f1, f2, n1);
    free(f1);
    free(f2);
    free(all);
    free(only);
    nb_program_free(t2);
    nb_program_free(t);
    nb_program_free(p);
    free(path);
    tu_remove_dir(dir);
    free(dir);
}

/* ---- the report's names, NULL arguments -------------------------------------------- */

/* The report's names stay valid through runs, saves and other calls until the next
 * load, whose report is its own; a failed load zeroes its report. */
static void test_report_lifetime(void **state)
{
    (void)state;
    char *dir = tu_make_dir("nabla-partial"), *path = tu_join(dir, "train.safetensors"),
         *params = tu_join(dir, "params.safetensors"), *copy = tu_join(dir, "copy.safetensors");
    nb_program *t = train_program(), *p = infer_program(NB_F32, sw2, 1);
    assert_int_equal(nb_program_save(t, path), 0);
    assert_int_equal(nb_program_save_params(t, params), 0);
    nb_load_report r1, r2;
    assert_int_equal(nb_program_load_ex(p, path, 0, &r1), 0);
    assert_int_equal(nb_program_run(p), 0);
    assert_int_equal(nb_program_save(p, copy), 0);
    assert_int_equal(nb_program_set_param(p, "head.w", (const float[]){1, 2}, 8), 0);
    assert_int_equal(nb_program_load_ex(t, path, 0, NULL), 0); /* another program's load */
    assert_names(r1.unexpected, r1.n_unexpected, train_extras, N_TRAIN_EXTRAS);
    assert_names(r1.missing, r1.n_missing, (const char *const[]){"head.w"}, 1);
    assert_int_equal(nb_program_load_ex(p, params, 0, &r2), 0);
    assert_int_equal(r2.n_loaded, 3);
    assert_names(r2.missing, r2.n_missing, (const char *const[]){"head.w"}, 1);
    assert_int_equal(r2.n_unexpected, 0);
    /* A failed load, then a successful one: each report its own. */
    char *missing = tu_join(dir, "missing.safetensors");
    assert_int_equal(nb_program_load_ex(p, missing, 0, &r2), -1);
    assert_error_has(p, "cannot open it");
    assert_report_zero(&r2);
    assert_int_equal(nb_program_load_ex(p, path, 0, &r2), 0);
    assert_names(r2.unexpected, r2.n_unexpected, train_extras, N_TRAIN_EXTRAS);
    free(missing);
    nb_program_free(t);
    nb_program_free(p);
    free(path);
    free(params);
    free(copy);
    tu_remove_dir(dir);
    free(dir);
}

static void test_null_arguments(void **state)
{
    (void)state;
    char *dir = tu_make_dir("nabla-partial"), *path = tu_join(dir, "c.safetensors");
    nb_program *p = infer_program(NB_F32, sw2, 0);
    nb_load_report r;
    memset(&r, 0x5a, sizeof r);
    assert_int_equal(nb_program_load_ex(NULL, path, 0, &r), -1);
    assert_report_zero(&r);
    memset(&r, 0x5a, sizeof r);
    assert_int_equal(nb_program_load_ex(p, NULL, 0, &r), -1);
    assert_error_has(p, "load: path is NULL");
    assert_report_zero(&r);
    assert_int_equal(nb_program_save_params(NULL, path), -1);
    assert_int_equal(nb_program_save_params(p, NULL), -1);
    assert_error_has(p, "save: path is NULL");
    assert_int_equal(nb_program_save_params(p, path), 0);
    assert_null(nb_program_error(p));
    assert_int_equal(nb_program_load_ex(p, path, 0, NULL), 0);
    assert_nines(p);
    nb_program_free(p);
    free(path);
    tu_remove_dir(dir);
    free(dir);
}

/* ---- tensors a load skips are checked ---------------------------------------------- */

/* "a" f32[2,3] at [0, 24), then the tensor the program does not have. */
#define A_OK "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}"

typedef struct skipped_case {
    const char *json;
    size_t data_len;
    const char *error; /* NULL: accepted, with "z" reported unexpected */
} skipped_case;

static const skipped_case skipped_cases[] = {
    /* dtypes nabla does not have, any rank */
    {"{" A_OK ",\"z\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[24,28]}}", 28, NULL},
    {"{\"z\":{\"dtype\":\"I64\",\"shape\":[1,1,1,1,1,1,1,1,1,1,2],\"data_offsets\":[0,16]},"
     "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[16,40]}}",
     40, NULL},
    {"{" A_OK ",\"z\":{\"dtype\":\"U8\",\"shape\":[0,4294967296,4294967296,4294967296],"
     "\"data_offsets\":[24,24]}}",
     24, NULL},
    /* damage in the skipped tensor */
    {"{" A_OK ",\"z\":{\"dtype\":\"Q7\",\"shape\":[2],\"data_offsets\":[24,28]}}", 28,
     "tensor 'z' has dtype Q7, which is not a safetensors dtype"},
    {"{" A_OK ",\"z\":{\"shape\":[2],\"data_offsets\":[24,28]}}", 28,
     "tensor 'z' has no \"dtype\" string"},
    {"{" A_OK ",\"z\":{\"dtype\":\"BF16\",\"data_offsets\":[24,28]}}", 28,
     "tensor 'z' has no \"shape\" array"},
    {"{" A_OK ",\"z\":{\"dtype\":\"BF16\",\"shape\":[-2],\"data_offsets\":[24,28]}}", 28,
     "tensor 'z': shape entry 0 is not a non-negative integer"},
    {"{" A_OK ",\"z\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[24,28]}}", 28,
     "tensor 'z': data_offsets [24, 28] hold 4 bytes, 3 elements of BF16 need 6"},
    {"{" A_OK ",\"z\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[28,24]}}", 28,
     "tensor 'z': data_offsets [28, 24] end before they begin"},
    {"{" A_OK ",\"z\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[24]}}", 28,
     "tensor 'z': \"data_offsets\" must be [begin, end]"},
    {"{" A_OK ",\"z\":{\"dtype\":\"BF16\",\"shape\":[4294967296,4294967296],"
     "\"data_offsets\":[24,28]}}",
     28, "tensor 'z': the size of its shape overflows 64 bits"},
    {"{" A_OK ",\"z\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[20,24]}}", 28,
     "tensor 'z': data_offsets [20, 24] overlap tensor 'a'"},
    {"{" A_OK ",\"z\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[26,30]}}", 28,
     "tensor 'z': data_offsets [26, 30] run past the end of the data section (28 bytes)"},
    {"{" A_OK ",\"z\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[24,28]}}", 26,
     "the file is truncated: its data section is 26 bytes, the tensors need 28"},
    {"{" A_OK ",\"z\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[24,28]}}", 30,
     "its data section is 30 bytes, 2 more than the tensors need"},
    {"{" A_OK ",\"z\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[24,26]},"
     "\"y\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[26,28]},"
     "\"z\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[28,30]}}",
     30, "tensor 'z' appears twice in the header"},
    {"{" A_OK ",\"z\":[24,28]}", 28, "the entry of tensor 'z' is not an object"},
    /* a parameter's own problems come first as before */
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}," A_OK "}", 48,
     "tensor 'a' appears twice in the header"},
};

/* A program of one parameter "a" f32[2,3] = 1..6 loads each file non-strictly: the good
 * ones give a the file's bytes and report "z"; the others are refused, naming the file
 * and the problem, with a unchanged. */
static void test_skipped_tensors_checked(void **state)
{
    (void)state;
    static const int64_t s23[] = {2, 3};
    static const float a0[6] = {1, 2, 3, 4, 5, 6};
    char *dir = tu_make_dir("nabla-partial"), *path = tu_join(dir, "z.safetensors");
    nb_graph *g = nb_graph_new();
    nb_node *a = nb_param(g, "a", NB_F32, 2, s23);
    nb_compile_options opt = {.outputs = &a, .n_outputs = 1};
    nb_program *p = nb_compile(g, &opt);
    nb_graph_free(g);
    assert_non_null(p);
    for (size_t c = 0; c < sizeof skipped_cases / sizeof skipped_cases[0]; c++) {
        const skipped_case *k = &skipped_cases[c];
        assert_int_equal(nb_program_set_param(p, "a", a0, sizeof a0), 0);
        write_st(path, k->json, k->data_len);
        nb_load_report r;
        int rc = nb_program_load_ex(p, path, 0, &r);
        char error[1024];
        snprintf(error, sizeof error, "%s", rc ? nb_program_error(p) : "");
        float got[6];
        assert_int_equal(nb_program_get_param(p, "a", got, sizeof got), 0);
        if (!k->error) {
            if (rc != 0)
                fail_msg("case %zu: %s", c, nb_program_error(p));
            assert_int_equal(r.n_loaded, 1);
            assert_int_equal(r.n_missing, 0);
            assert_names(r.unexpected, r.n_unexpected, (const char *const[]){"z"}, 1);
            for (int i = 0; i < 6; i++) {
                uint32_t bits;
                memcpy(&bits, &got[i], 4);
                assert_int_equal(bits, 0x3c3c3c3cu);
            }
            continue;
        }
        if (rc != -1)
            fail_msg("case %zu (expected '%s') was accepted", c, k->error);
        if (!strstr(error, path) || !strstr(error, k->error))
            fail_msg("case %zu: error '%s', expected '%s'", c, error, k->error);
        assert_memory_equal(got, a0, sizeof a0);
    }
    nb_program_free(p);
    free(path);
    tu_remove_dir(dir);
    free(dir);
}

/* ---- allocation failures ----------------------------------------------------------- */

/* Every allocation of a non-strict load (the skipped tensors' names, the report) and of
 * a parameters-only save fails in turn: out of memory each time, nothing changed, no
 * file or temporary left, the report zeroed; then one succeeds. */
static void test_out_of_memory(void **state)
{
    (void)state;
    char *dir = tu_make_dir("nabla-partial"), *path = tu_join(dir, "train.safetensors"),
         *params = tu_join(dir, "params.safetensors");
    nb_program *t = train_program(), *p = infer_program(NB_F32, sw2, 1);
    assert_int_equal(nb_program_save(t, path), 0);
    long loaded_at = 0;
    for (long k = 1; !loaded_at && k < 1000; k++) {
        nb_load_report r;
        memset(&r, 0x5a, sizeof r);
        ir_alloc_fail_from(k);
        int rc = nb_program_load_ex(p, path, 0, &r);
        ir_alloc_fail_from(0);
        if (rc == 0) {
            loaded_at = k;
            assert_names(r.unexpected, r.n_unexpected, train_extras, N_TRAIN_EXTRAS);
            assert_names(r.missing, r.n_missing, (const char *const[]){"head.w"}, 1);
            break;
        }
        assert_error_has(p, "out of memory");
        assert_report_zero(&r);
        assert_nines(p);
    }
    assert_true(loaded_at > 12); /* the names of the skipped tensors alone take 12 */
    assert_same_param(t, p, "fc1.w");
    long saved_at = 0;
    for (long k = 1; !saved_at && k < 1000; k++) {
        ir_alloc_fail_from(k);
        int rc = nb_program_save_params(t, params);
        ir_alloc_fail_from(0);
        if (rc == 0) {
            saved_at = k;
            break;
        }
        assert_error_has(t, "out of memory");
        FILE *f = fopen(params, "rb");
        if (f)
            fail_msg("allocation %ld: a failed save left %s", k, params);
    }
    assert_true(saved_at > 1);
    nb_program_free(t);
    nb_program_free(p);
    free(path);
    free(params);
    tu_remove_dir(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_param_kinds),         cmocka_unit_test(test_train_to_inference),
        cmocka_unit_test(test_missing_keeps_value), cmocka_unit_test(test_mismatch_refused),
        cmocka_unit_test(test_save_params),         cmocka_unit_test(test_report_lifetime),
        cmocka_unit_test(test_null_arguments),      cmocka_unit_test(test_skipped_tensors_checked),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
