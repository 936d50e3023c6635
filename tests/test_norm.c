/* test_norm.c — layer, group and batch norm: f64 finite-difference checks of the
 * gradients of x, weight and bias (and of the gradients' own gradients), a training
 * step whose running statistics are parameter updates against PyTorch's values
 * (tests/data/golden.txt), the split across threads against one thread, the pattern
 * that makes the fused backward, and the builders' errors. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "golden.h"
#include "gradcheck.h"
#include "nabla.h"

/* ---- gradient checks --------------------------------------------------------------- */

static nb_node *ln_affine(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_layer_norm(g, x[0], 2, x[1], x[2], NB_NORM_EPS);
}

static nb_node *ln_plain(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_layer_norm(g, x[0], 1, NULL, NULL, 0.1);
}

/* The normalized output squared: a loss whose gradient depends on x nonlinearly, so
 * the second-order check sees norm_grad's own gradient at work. */
static nb_node *ln_square(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    nb_node *y = nb_layer_norm(g, x[0], 1, x[1], NULL, NB_NORM_EPS);
    return nb_mul(g, y, y);
}

static nb_node *gn_affine(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_group_norm(g, x[0], 3, x[1], x[2], NB_NORM_EPS);
}

static nb_node *gn_flat(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_group_norm(g, x[0], 2, NULL, x[1], 0.01);
}

static nb_node *bn_train(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_batch_norm(g, x[0], NULL, NULL, x[1], x[2], 1, 0.1, NB_NORM_EPS, NULL, NULL);
}

static nb_node *bn_train_square(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    nb_node *y = nb_batch_norm(g, x[0], NULL, NULL, x[1], NULL, 1, 0.1, NB_NORM_EPS, NULL, NULL);
    return nb_mul(g, y, y);
}

/* Eval mode: the running statistics are inputs too (their gradients are checked). */
static nb_node *bn_eval(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_batch_norm(g, x[0], x[1], x[2], x[3], NULL, 0, 0.1, NB_NORM_EPS, NULL, NULL);
}

static const gc_case norm_cases[] = {
    {"layer_norm_affine", ln_affine, 3, {GC_F(3, 3, 4, 5), GC_F(2, 4, 5), GC_F(2, 4, 5)}, 1},
    {"layer_norm_plain", ln_plain, 1, {GC_F(2, 2, 6)}, 1},
    {"layer_norm_square", ln_square, 2, {GC_F(2, 3, 5), GC_F(1, 5)}, 1},
    {"group_norm_affine", gn_affine, 3, {GC_F(3, 2, 6, 3), GC_F(1, 6), GC_F(1, 6)}, 1},
    {"group_norm_flat", gn_flat, 2, {GC_F(2, 3, 4), GC_F(1, 4)}, 1},
    {"batch_norm_train", bn_train, 3, {GC_F(3, 4, 3, 2), GC_F(1, 3), GC_F(1, 3)}, 1},
    {"batch_norm_train_square", bn_train_square, 2, {GC_F(2, 5, 3), GC_F(1, 3)}, 1},
    {"batch_norm_eval",
     bn_eval,
     4,
     {GC_F(3, 2, 3, 2), GC_F(1, 3), GC_FR(0.5, 2.0, 1, 3), GC_F(1, 3)},
     1},
};

/* ---- a training step against PyTorch ------------------------------------------------ */

static gd_file *golden;

static const gd_array *garray(const gd_case *c, const char *name)
{
    const gd_array *a = gd_array_find(c, name);
    if (!a)
        fail_msg("golden case %s has no array %s", c->name, name);
    return a;
}

/* |a - e| <= 1e-5 |e| + 1e-6 max(1, max |e|), as test_golden.c compares. */
static void expect_close(const char *what, const float *v, const gd_array *e)
{
    double scale = 1.0;
    for (int64_t k = 0; k < e->numel; k++)
        scale = fmax(scale, fabs(e->values[k]));
    for (int64_t k = 0; k < e->numel; k++)
        if (!(fabs(v[k] - e->values[k]) <= 1e-5 * fabs(e->values[k]) + 1e-6 * scale))
            fail_msg("%s[%lld] = %.9g, PyTorch %.9g", what, (long long)k, v[k], e->values[k]);
}

/* One compiled training step of batch norm: y and the gradients of sum(y * wgt) as
 * outputs, and the running statistics (parameters, starting from the case's values)
 * updated in the same run. After two runs the running statistics must be PyTorch's
 * after two steps on the same batch. */
static void train_step(const char *name, nb_backend backend, int threads)
{
    const gd_case *c = gd_case_find(golden, name);
    if (!c)
        fail_msg("golden.txt has no case %s", name);
    const gd_array *ax = garray(c, "x"), *aw = garray(c, "w"), *ab = garray(c, "b");
    const gd_array *am = garray(c, "running_mean"), *av = garray(c, "running_var");
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, ax->rank, ax->shape);
    nb_node *wgt = nb_input(g, "wgt", NB_F32, ax->rank, ax->shape);
    nb_node *w = nb_param(g, "w", NB_F32, 1, aw->shape);
    nb_node *b = nb_param(g, "b", NB_F32, 1, ab->shape);
    nb_node *rm = nb_param(g, "running_mean", NB_F32, 1, am->shape);
    nb_node *rv = nb_param(g, "running_var", NB_F32, 1, av->shape);
    nb_node *nm, *nv, *gs[3];
    nb_node *y =
        nb_batch_norm(g, x, rm, rv, w, b, 1, NB_BATCH_NORM_MOMENTUM, NB_NORM_EPS, &nm, &nv);
    nb_node *loss = nb_sum(g, nb_mul(g, y, wgt), NULL, 0, 0);
    nb_node *wrt[3] = {x, w, b};
    assert_int_equal(nb_grad(g, loss, wrt, 3, gs), 0);
    nb_node *outs[4] = {y, gs[0], gs[1], gs[2]};
    nb_update ups[2] = {{rm, nm}, {rv, nv}};
    nb_compile_options opt = {.outputs = outs,
                              .n_outputs = 4,
                              .updates = ups,
                              .n_updates = 2,
                              .backend = backend,
                              .threads = threads};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(g));
    assert_int_equal(nb_program_bind(p, "x", ax->data), 0);
    assert_int_equal(nb_program_bind(p, "wgt", garray(c, "wgt")->data), 0);
    assert_int_equal(nb_program_set_param(p, "w", aw->data, (size_t)aw->numel * sizeof(float)), 0);
    assert_int_equal(nb_program_set_param(p, "b", ab->data, (size_t)ab->numel * sizeof(float)), 0);
    assert_int_equal(
        nb_program_set_param(p, "running_mean", am->data, (size_t)am->numel * sizeof(float)), 0);
    assert_int_equal(
        nb_program_set_param(p, "running_var", av->data, (size_t)av->numel * sizeof(float)), 0);
    const char *step[2][2] = {{"new_running_mean", "new_running_var"},
                              {"new_running_mean2", "new_running_var2"}};
    for (int run = 0; run < 2; run++) {
        if (nb_program_run(p) != 0)
            fail_msg("run: %s", nb_program_error(p));
        expect_close("y", nb_program_output(p, 0), garray(c, "y"));
        expect_close("dloss_dx", nb_program_output(p, 1), garray(c, "dloss_dx"));
        expect_close("dloss_dw", nb_program_output(p, 2), garray(c, "dloss_dw"));
        expect_close("dloss_db", nb_program_output(p, 3), garray(c, "dloss_db"));
        expect_close(step[run][0],
                     nb_program_param_data(p, nb_program_param_index(p, "running_mean")),
                     garray(c, step[run][0]));
        expect_close(step[run][1],
                     nb_program_param_data(p, nb_program_param_index(p, "running_var")),
                     garray(c, step[run][1]));
    }
    nb_program_free(p);
    nb_graph_free(g);
}

static void test_train_step_4d(void **state)
{
    (void)state;
    train_step("batch_norm_train_4d", NB_BACKEND_TCC, 1);
    train_step("batch_norm_train_4d", NB_BACKEND_CC, 2);
}

static void test_train_step_1d(void **state)
{
    (void)state;
    train_step("batch_norm_train_1d", NB_BACKEND_TCC, 1);
    train_step("batch_norm_train_1d", NB_BACKEND_CC, 1);
}

/* ---- the split across threads ------------------------------------------------------ */

/* Layer norm forward and backward over many rows, batch norm over many channels: a
 * split kernel gives each group to one thread, so the bits equal one thread's. */
static void test_threads_same_bits(void **state)
{
    (void)state;
    int64_t sx[2] = {1024, 40}, sb[3] = {8, 64, 40};
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 2, sx), *xb = nb_input(g, "xb", NB_F32, 3, sb);
    nb_node *y = nb_layer_norm(g, x, 1, NULL, NULL, NB_NORM_EPS);
    nb_node *yb = nb_batch_norm(g, xb, NULL, NULL, NULL, NULL, 1, 0.1, NB_NORM_EPS, NULL, NULL);
    nb_node *loss = nb_add(g, nb_sum(g, nb_mul(g, y, nb_sin(g, x)), NULL, 0, 0),
                           nb_sum(g, nb_mul(g, yb, nb_cos(g, xb)), NULL, 0, 0));
    nb_node *wrt[2] = {x, xb}, *gs[2];
    assert_int_equal(nb_grad(g, loss, wrt, 2, gs), 0);
    nb_node *outs[4] = {y, yb, gs[0], gs[1]};
    float *vx = malloc(sizeof(float) * 1024 * 40), *vb = malloc(sizeof(float) * 8 * 64 * 40);
    assert_non_null(vx);
    assert_non_null(vb);
    for (int i = 0; i < 1024 * 40; i++)
        vx[i] = (float)sin(i * 0.37) * 3.0f + 1.0f;
    for (int i = 0; i < 8 * 64 * 40; i++)
        vb[i] = (float)cos(i * 0.11) * 2.0f - 0.5f;
    const float *first[4] = {0};
    nb_program *ps[2];
    for (int t = 0; t < 2; t++) {
        nb_compile_options opt = {
            .outputs = outs, .n_outputs = 4, .threads = t ? 2 : 1, .keep_plan = 1};
        ps[t] = nb_compile(g, &opt);
        if (!ps[t])
            fail_msg("compile: %s", nb_graph_error(g));
        assert_int_equal(nb_program_bind(ps[t], "x", vx), 0);
        assert_int_equal(nb_program_bind(ps[t], "xb", vb), 0);
        assert_int_equal(nb_program_run(ps[t]), 0);
        if (t) {
            const char *plan = nb_program_plan(ps[t]);
            assert_non_null(plan);
            assert_non_null(strstr(plan, "split in"));
        }
        for (int i = 0; i < 4; i++) {
            const float *v = nb_program_output(ps[t], i);
            if (!t)
                first[i] = v;
            else
                assert_memory_equal(first[i], v, nb_node_numel(outs[i]) * sizeof(float));
        }
    }
    nb_program_free(ps[0]);
    nb_program_free(ps[1]);
    free(vx);
    free(vb);
    nb_graph_free(g);
}

/* ---- the fused backward --------------------------------------------------------------- */

/* The gradient of layer norm is one norm_grad node (not a chain of reductions), and its
 * second-order gradient has none (ordinary nodes only). */
static void test_fused_backward(void **state)
{
    (void)state;
    int64_t s[2] = {4, 6};
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F64, 2, s);
    nb_node *y = nb_layer_norm(g, x, 1, NULL, NULL, NB_NORM_EPS);
    nb_node *loss = nb_sum(g, nb_mul(g, y, nb_sin(g, x)), NULL, 0, 0), *gx;
    assert_int_equal(nb_grad(g, loss, &x, 1, &gx), 0);
    char *text = nb_graph_print(g);
    assert_non_null(text);
    assert_non_null(strstr(text, "norm_grad f64[4,6]"));
    assert_non_null(strstr(text, "norm_stats f64[3,4,1]"));
    free(text);
    nb_graph_free(g);
}

/* Found by the random-graph test (tests/support/randgraph.c): groups of one element
 * with no loop around them (x [3, 1] normalized over its last axis, and four groups of
 * four channels) made norm_stats and norm_grad declare the element's index twice in
 * one scope, C neither compiler takes. A group of one is x - mean = 0 exactly, so
 * y = bias; loss = sum(y * x) has dloss/dx = y + x * 0 = bias (norm_grad's
 * rstd * (gy - mean(gy) - 0) is 0). */
static void test_one_element_groups(void **state)
{
    (void)state;
    for (int b = 0; b < 2; b++)
        for (int kind = 0; kind < 2; kind++) {
            int64_t xs[2] = {kind ? 1 : 3, kind ? 4 : 1}, bs = xs[1];
            nb_graph *g = nb_graph_new();
            nb_node *x = nb_input(g, "x", NB_F64, 2, xs), *bias = nb_input(g, "b", NB_F64, 1, &bs);
            nb_node *y = kind ? nb_group_norm(g, x, 4, NULL, bias, 0.25)
                              : nb_layer_norm(g, x, 1, NULL, bias, 0.25);
            nb_node *loss = nb_sum(g, nb_mul(g, y, x), NULL, 0, 0), *gx;
            assert_int_equal(nb_grad(g, loss, &x, 1, &gx), 0);
            nb_node *outs[2] = {y, gx};
            nb_compile_options opt = {
                .outputs = outs, .n_outputs = 2, .backend = b ? NB_BACKEND_CC : NB_BACKEND_TCC};
            nb_program *p = nb_compile(g, &opt);
            if (!p)
                fail_msg("compile: %s", nb_graph_error(g));
            const double xv[4] = {1.5, -2, 0.25, 3}, bv[4] = {0.5, -1, 2, 0.125};
            assert_int_equal(nb_program_bind(p, "x", xv), 0);
            assert_int_equal(nb_program_bind(p, "b", bv), 0);
            assert_int_equal(nb_program_run(p), 0);
            const double *yv = nb_program_output(p, 0), *gv = nb_program_output(p, 1);
            for (int i = 0; i < (kind ? 4 : 3); i++) {
                double want = bv[kind ? i : 0];
                assert_true(yv[i] == want);
                assert_true(gv[i] == want);
            }
            nb_program_free(p);
            nb_graph_free(g);
        }
}

/* A graph file whose norm_grad reads free statistics: its value is the formula with
 * those rows (worked out by hand below), and its gradient fails with an error that
 * says why (the rule computes the statistics from x). */
static void test_free_statistics(void **state)
{
    (void)state;
    static const char text[] = "nabla-graph 1\n"
                               "%0 = input f64[1,2] name=\"x\"\n"
                               "%1 = input f64[3,1,1] name=\"s\"\n"
                               "%2 = input f64[1,2] name=\"gy\"\n"
                               "%3 = norm_grad f64[1,2] (%0, %1, %2) axes=[1] eps=0\n";
    char err[256];
    nb_graph *g = nb_graph_parse(text, sizeof text - 1, NULL, err, sizeof err);
    if (!g)
        fail_msg("parse: %s", err);
    nb_node *x = nb_graph_node(g, 0), *y = nb_graph_node(g, 3);
    nb_compile_options opt = {.outputs = &y, .n_outputs = 1};
    nb_program *p = nb_compile(g, &opt);
    assert_non_null(p);
    /* x = [1, 3], mean 2, rstd 0.5 (var 4), gy = [2, 1]: xhat [-0.5, 0.5], mean(gy) 1.5,
     * mean(gy * xhat) = (-1 + 0.5) / 2 = -0.25; y = 0.5 * (gy - 1.5 + 0.25 xhat) =
     * 0.5 * [0.5 - 0.125, -0.5 + 0.125] = [0.1875, -0.1875]. */
    const double xv[2] = {1, 3}, sv[3] = {2, 4, 0.5}, gv[2] = {2, 1};
    assert_int_equal(nb_program_bind(p, "x", xv), 0);
    assert_int_equal(nb_program_bind(p, "s", sv), 0);
    assert_int_equal(nb_program_bind(p, "gy", gv), 0);
    assert_int_equal(nb_program_run(p), 0);
    const double *out = nb_program_output(p, 0);
    assert_float_equal(out[0], 0.1875, 1e-15);
    assert_float_equal(out[1], -0.1875, 1e-15);
    nb_program_free(p);
    nb_node *gx, *loss = nb_sum(g, y, NULL, 0, 0);
    assert_int_equal(nb_grad(g, loss, &x, 1, &gx), -1);
    assert_non_null(strstr(nb_graph_error(g), "norm_grad: no gradient"));
    nb_graph_free(g);
}

/* ---- errors --------------------------------------------------------------------------- */

static void expect_error(nb_graph *g, nb_node *n, const char *want)
{
    assert_null(n);
    const char *e = nb_graph_error(g);
    if (!e || !strstr(e, want))
        fail_msg("error '%s', expected it to contain '%s'", e ? e : "(none)", want);
    nb_graph_free(g);
}

static void test_errors(void **state)
{
    (void)state;
    int64_t s3[3] = {2, 6, 4}, s1[1] = {6}, s5[1] = {5}, s11[2] = {1, 1};
    nb_graph *g;
    nb_node *x, *w, *nm = (nb_node *)1, *nv = (nb_node *)1;
#define FRESH() (g = nb_graph_new(), x = nb_input(g, "x", NB_F32, 3, s3))
    FRESH();
    expect_error(g, nb_layer_norm(g, x, 4, NULL, NULL, 1e-5), "normalized_rank 4");
    FRESH();
    expect_error(g, nb_layer_norm(g, x, 0, NULL, NULL, 1e-5), "expected 1 to 3");
    FRESH();
    w = nb_input(g, "w", NB_F32, 1, s5);
    expect_error(g, nb_layer_norm(g, x, 2, w, NULL, 1e-5), "weight is f32[5]; expected f32[6,4]");
    FRESH();
    expect_error(g, nb_layer_norm(g, x, 1, NULL, NULL, -1), "eps -1");
    FRESH();
    expect_error(g, nb_layer_norm(g, NULL, 1, NULL, NULL, 1e-5), "layer_norm: the input is NULL");
    FRESH();
    expect_error(g, nb_group_norm(g, x, 4, NULL, NULL, 1e-5), "4 groups");
    FRESH();
    w = nb_input(g, "w", NB_F64, 1, s1);
    expect_error(g, nb_group_norm(g, x, 3, w, NULL, 1e-5), "weight is f64[6]; expected f32[6]");
    FRESH();
    w = nb_input(g, "w", NB_F32, 1, s1);
    expect_error(g, nb_batch_norm(g, x, w, NULL, NULL, NULL, 1, 0.1, 1e-5, &nm, &nv),
                 "both running_mean and running_var");
    assert_null(nm);
    assert_null(nv);
    FRESH();
    expect_error(g, nb_batch_norm(g, x, NULL, NULL, NULL, NULL, 0, 0.1, 1e-5, NULL, NULL),
                 "eval mode");
    FRESH();
    w = nb_input(g, "w", NB_F32, 1, s1);
    expect_error(g, nb_batch_norm(g, x, w, w, NULL, NULL, 1, 1.5, 1e-5, NULL, NULL),
                 "momentum 1.5");
    g = nb_graph_new();
    x = nb_input(g, "x", NB_F32, 2, s11);
    expect_error(g, nb_batch_norm(g, x, NULL, NULL, NULL, NULL, 1, 0.1, 1e-5, NULL, NULL),
                 "training needs more than 1");
    g = nb_graph_new();
    x = nb_input(g, "x", NB_I32, 2, s11);
    expect_error(g, nb_layer_norm(g, x, 1, NULL, NULL, 1e-5), "expected an f32 or f64 input");
#undef FRESH
}

static void test_gradchecks(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof norm_cases / sizeof *norm_cases; i++)
        gc_check(&norm_cases[i]);
}

int main(void)
{
    golden = gd_load(NABLA_TEST_DATA "/golden.txt");
    if (!golden)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradchecks),      cmocka_unit_test(test_train_step_4d),
        cmocka_unit_test(test_train_step_1d),   cmocka_unit_test(test_threads_same_bits),
        cmocka_unit_test(test_fused_backward),  cmocka_unit_test(test_errors),
        cmocka_unit_test(test_free_statistics), cmocka_unit_test(test_one_element_groups),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    gd_free(golden);
    return rc;
}
