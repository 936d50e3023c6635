/* test_optim.c — the optimizer builders: steps against PyTorch's (tests/data/optim_golden.txt,
 * written by tests/golden/make_optim_golden.py), a learning rate that changes between
 * runs, state names and counts, convergence on XOR and linear regression, gradient
 * accumulation and micro-batching, and the errors of misuse. */
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
#include "ir.h" /* ir_rng: reproducible data and initial weights */
#include "nabla.h"

#define STEPS 5

static void run(nb_program *p)
{
    if (nb_program_run(p) != 0)
        fail_msg("run: %s", nb_program_error(p));
}

static nb_program *compile(nb_graph *g, nb_node *out, const nb_update *u, int n)
{
    nb_compile_options opt = {.outputs = &out, .n_outputs = 1, .updates = u, .n_updates = n};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(g));
    return p;
}

/* Parameter name as doubles, whatever its dtype. */
static void get_param(nb_program *p, const char *name, double *out, int64_t n)
{
    int i = nb_program_param_index(p, name);
    if (i < 0)
        fail_msg("no parameter '%s'", name);
    assert_int_equal(nb_program_param_numel(p, i), n);
    const void *d = nb_program_param_data(p, i);
    for (int64_t k = 0; k < n; k++)
        out[k] =
            nb_program_param_dtype(p, i) == NB_F64 ? ((const double *)d)[k] : ((const float *)d)[k];
}

static void set_param(nb_program *p, const char *name, const double *v, int64_t n)
{
    int i = nb_program_param_index(p, name);
    if (i < 0)
        fail_msg("no parameter '%s'", name);
    assert_int_equal(nb_program_param_numel(p, i), n);
    void *d = nb_program_param_data(p, i);
    for (int64_t k = 0; k < n; k++) {
        if (nb_program_param_dtype(p, i) == NB_F64)
            ((double *)d)[k] = v[k];
        else
            ((float *)d)[k] = (float)v[k];
    }
}

/* ---- golden steps --------------------------------------------------------------- */

typedef enum kind { SGD, ADAM, ADAMW } kind;

/* The settings of make_optim_golden.py's CASES, in the same order. */
#define ADAM_OPTS(b1, b2, e, wd, ams, max)                                                         \
    .adam = {                                                                                      \
        .beta1 = b1, .beta2 = b2, .eps = e, .weight_decay = wd, .amsgrad = ams, .maximize = max}
static const struct golden_case {
    const char *name;
    kind kind;
    nb_sgd_options sgd;
    nb_adam_options adam;
} cases[] = {
    {.name = "sgd_plain", .kind = SGD},
    {.name = "sgd_momentum", .kind = SGD, .sgd = {.momentum = 0.9}},
    {.name = "sgd_dampening", .kind = SGD, .sgd = {.momentum = 0.9, .dampening = 0.5}},
    {.name = "sgd_nesterov", .kind = SGD, .sgd = {.momentum = 0.9, .nesterov = 1}},
    {.name = "sgd_weight_decay", .kind = SGD, .sgd = {.weight_decay = 0.1}},
    {.name = "sgd_all",
     .kind = SGD,
     .sgd = {.momentum = 0.8, .weight_decay = 0.2, .nesterov = 1, .maximize = 1}},
    {.name = "adam", .kind = ADAM, ADAM_OPTS(0.9, 0.999, 1e-8, 0, 0, 0)},
    {.name = "adam_weight_decay", .kind = ADAM, ADAM_OPTS(0.9, 0.999, 1e-8, 0.1, 0, 0)},
    {.name = "adam_big_eps", .kind = ADAM, ADAM_OPTS(0.8, 0.9, 0.1, 0, 0, 0)},
    {.name = "adam_amsgrad", .kind = ADAM, ADAM_OPTS(0.8, 0.5, 1e-8, 0, 1, 0)},
    {.name = "adam_maximize", .kind = ADAM, ADAM_OPTS(0.9, 0.999, 1e-8, 0, 0, 1)},
    {.name = "adamw", .kind = ADAMW, ADAM_OPTS(0.9, 0.999, 1e-8, 1e-2, 0, 0)},
    {.name = "adamw_weight_decay", .kind = ADAMW, ADAM_OPTS(0.9, 0.999, 1e-8, 0.3, 0, 0)},
    {.name = "adamw_amsgrad", .kind = ADAMW, ADAM_OPTS(0.8, 0.5, 1e-8, 0.1, 1, 0)},
};

static gd_file *golden;

static int setup(void **state)
{
    (void)state;
    golden = gd_load(NABLA_TEST_DATA "/optim_golden.txt");
    return golden ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    gd_free(golden);
    return 0;
}

static const gd_array *need(const gd_case *c, const char *name)
{
    const gd_array *a = gd_array_find(c, name);
    if (!a)
        fail_msg("case %s has no array %s", c->name, name);
    return a;
}

/* Appends the optimizer of setting c; returns the number of updates. */
static int add_optimizer(nb_graph *g, const struct golden_case *c, nb_node *lr,
                         nb_node *const *params, nb_node *const *grads, int n, nb_update *u,
                         int cap)
{
    if (c->kind == SGD)
        return nb_sgd(g, lr, params, grads, n, &c->sgd, u, cap);
    return c->kind == ADAM ? nb_adam(g, lr, params, grads, n, &c->adam, u, cap)
                           : nb_adamw(g, lr, params, grads, n, &c->adam, u, cap);
}

/* Binds input name of p to a's values converted to dt; buf holds them until the run. */
static void bind_as(nb_program *p, const char *name, const gd_array *a, nb_dtype dt, void *buf)
{
    for (int64_t k = 0; k < a->numel; k++) {
        if (dt == NB_F64)
            ((double *)buf)[k] = a->values[k];
        else
            ((float *)buf)[k] = (float)a->values[k];
    }
    if (nb_program_bind(p, name, buf) != 0)
        fail_msg("bind %s: %s", name, nb_program_error(p));
}

/* |got - e| <= atol + rtol |e| for each element of a. */
static void expect_close(const char *case_name, const gd_array *a, const double *got, double rtol,
                         double atol)
{
    for (int64_t k = 0; k < a->numel; k++) {
        double e = a->values[k];
        if (!(fabs(got[k] - e) <= atol + rtol * fabs(e)))
            fail_msg("%s: %s[%lld] = %.17g, torch has %.17g (diff %.3g)", case_name, a->name,
                     (long long)k, got[k], e, fabs(got[k] - e));
    }
}

/* The golden problem in dtype dt with setting c: one program whose run computes the loss
 * and its gradients and applies the step, run STEPS times against torch's trajectory. */
static void check_case(const struct golden_case *c, nb_dtype dt)
{
    char name[64];
    snprintf(name, sizeof name, "%s_%s", c->name, dt == NB_F64 ? "f64" : "f32");
    const gd_case *gc = gd_case_find(golden, name);
    if (!gc)
        fail_msg("optim_golden.txt has no case %s", name);
    const gd_array *x = need(gc, "x"), *t = need(gc, "t");
    nb_graph *g = nb_graph_new();
    nb_node *xn = nb_input(g, "x", dt, 2, x->shape);
    nb_node *tn = nb_input(g, "t", dt, 2, t->shape);
    nb_node *lr = nb_input(g, "lr", dt, 0, NULL);
    int64_t ws[2] = {3, 2}, bs[1] = {2};
    nb_node *params[2] = {nb_param(g, "W", dt, 2, ws), nb_param(g, "b", dt, 1, bs)};
    nb_node *y = nb_add(g, nb_matmul(g, xn, params[0]), params[1]);
    nb_node *loss = nb_mse(g, y, tn, NB_REDUCTION_MEAN);
    nb_node *grads[2];
    assert_int_equal(nb_grad(g, loss, params, 2, grads), 0);
    nb_update u[2 * NB_ADAM_UPDATES_PER_PARAM];
    int n = add_optimizer(g, c, lr, params, grads, 2, u, 2 * NB_ADAM_UPDATES_PER_PARAM);
    if (n < 0)
        fail_msg("%s: %s", name, nb_graph_error(g));
    nb_program *p = compile(g, loss, u, n);
    nb_graph_free(g);

    double rtol = dt == NB_F64 ? 1e-12 : 1e-5, atol = dt == NB_F64 ? 1e-14 : 1e-6;
    double xb[12], tb[8], lrb;
    bind_as(p, "x", x, dt, xb);
    bind_as(p, "t", t, dt, tb);
    bind_as(p, "lr", need(gc, "lr"), dt, &lrb);
    set_param(p, "W", need(gc, "W0")->values, 6);
    set_param(p, "b", need(gc, "b0")->values, 2);
    for (int k = 1; k <= STEPS; k++) {
        char an[16];
        double got[6];
        run(p);
        const void *out = nb_program_output(p, 0);
        got[0] = dt == NB_F64 ? *(const double *)out : *(const float *)out;
        snprintf(an, sizeof an, "loss%d", k);
        expect_close(name, need(gc, an), got, rtol, atol);
        snprintf(an, sizeof an, "W%d", k);
        get_param(p, "W", got, 6);
        expect_close(name, need(gc, an), got, rtol, atol);
        snprintf(an, sizeof an, "b%d", k);
        get_param(p, "b", got, 2);
        expect_close(name, need(gc, an), got, rtol, atol);
    }
    nb_program_free(p);
}

static void test_golden_f32(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check_case(&cases[i], NB_F32);
}

static void test_golden_f64(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check_case(&cases[i], NB_F64);
}

/* Every setting of the script has a row here and the other way round. */
static void test_golden_coverage(void **state)
{
    (void)state;
    assert_int_equal(golden->n, 2 * (int)(sizeof cases / sizeof *cases));
}

/* ---- learning rate as a runtime input -------------------------------------------- */

/* loss = w * x with x = 2: the gradient is 2, so SGD moves w by -2 lr. The same program
 * runs with lr 0.1, 0, 0.5: w = 1 -> 0.8 -> 0.8 -> -0.2. */
static void test_lr_changes_without_recompiling(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 0, NULL);
    nb_node *lr = nb_input(g, "lr", NB_F32, 0, NULL);
    nb_node *w = nb_param(g, "w", NB_F32, 0, NULL);
    nb_node *loss = nb_mul(g, w, x), *dw;
    nb_grad(g, loss, &w, 1, &dw);
    nb_update u[NB_SGD_UPDATES_PER_PARAM];
    assert_int_equal(nb_sgd(g, lr, &w, &dw, 1, NULL, u, NB_SGD_UPDATES_PER_PARAM), 1);
    nb_program *p = compile(g, loss, u, 1);
    nb_graph_free(g);
    const char *source = nb_program_source(p);
    float xv = 2, lrv = 0.1f, wv = 1;
    nb_program_set_param(p, "w", &wv, sizeof wv);
    nb_program_bind(p, "x", &xv);
    nb_program_bind(p, "lr", &lrv);
    const float lrs[3] = {0.1f, 0.0f, 0.5f}, want[3] = {0.8f, 0.8f, -0.2f};
    for (int i = 0; i < 3; i++) {
        lrv = lrs[i];
        run(p);
        nb_program_get_param(p, "w", &wv, sizeof wv);
        assert_float_equal(wv, want[i], 1e-6);
    }
    assert_ptr_equal(nb_program_source(p), source); /* the same compiled code */
    nb_program_free(p);
}

/* ---- state names, kinds and counts ----------------------------------------------- */

/* Builds a scalar problem with two parameters "a" and "b" and returns the number of
 * updates the optimizer call gives, and the program compiled with them. */
static nb_program *two_params(int which, const void *opt, int *n_updates)
{
    nb_graph *g = nb_graph_new();
    int64_t s2 = 2;
    nb_node *lr = nb_input(g, "lr", NB_F64, 0, NULL);
    nb_node *ps[2] = {nb_param(g, "a", NB_F32, 1, &s2), nb_param(g, "b", NB_F32, 0, NULL)};
    nb_node *loss = nb_mul(g, nb_sum(g, nb_mul(g, ps[0], ps[0]), NULL, 0, 0), ps[1]), *gs[2];
    nb_grad(g, loss, ps, 2, gs);
    nb_update u[2 * NB_ADAM_UPDATES_PER_PARAM];
    int cap = 2 * NB_ADAM_UPDATES_PER_PARAM;
    *n_updates = which == SGD    ? nb_sgd(g, lr, ps, gs, 2, opt, u, cap)
                 : which == ADAM ? nb_adam(g, lr, ps, gs, 2, opt, u, cap)
                                 : nb_adamw(g, lr, ps, gs, 2, opt, u, cap);
    if (*n_updates < 0)
        fail_msg("%s", nb_graph_error(g));
    nb_program *p = compile(g, loss, u, *n_updates);
    nb_graph_free(g);
    return p;
}

static void expect_params(nb_program *p, const char *const *names, int n)
{
    assert_int_equal(nb_program_param_count(p), n);
    for (int i = 0; i < n; i++)
        assert_string_equal(nb_program_param_name(p, i), names[i]);
}

static void test_state_names(void **state)
{
    (void)state;
    int n;
    nb_program *p = two_params(SGD, NULL, &n);
    assert_int_equal(n, 2);
    expect_params(p, (const char *[]){"a", "b"}, 2);
    nb_program_free(p);

    nb_sgd_options mom = {.momentum = 0.9};
    p = two_params(SGD, &mom, &n);
    assert_int_equal(n, 4);
    expect_params(p, (const char *[]){"a", "b", "a.momentum_buffer", "b.momentum_buffer"}, 4);
    nb_program_free(p);

    nb_sgd_options damp = {.momentum = 0.9, .dampening = 0.1};
    p = two_params(SGD, &damp, &n);
    assert_int_equal(n, 6);
    expect_params(
        p, (const char *[]){"a", "b", "a.momentum_buffer", "a.step", "b.momentum_buffer", "b.step"},
        6);
    nb_program_free(p);

    p = two_params(ADAM, NULL, &n);
    assert_int_equal(n, 8);
    expect_params(p,
                  (const char *[]){"a", "b", "a.exp_avg", "a.exp_avg_sq", "a.step", "b.exp_avg",
                                   "b.exp_avg_sq", "b.step"},
                  8);
    /* Moments have the parameter's dtype and shape; the step is an f32 scalar, as in
     * torch, and counts the runs. */
    int i = nb_program_param_index(p, "a.exp_avg_sq");
    assert_int_equal(nb_program_param_dtype(p, i), NB_F32);
    assert_int_equal(nb_program_param_rank(p, i), 1);
    assert_int_equal(nb_program_param_shape(p, i)[0], 2);
    i = nb_program_param_index(p, "b.step");
    assert_int_equal(nb_program_param_dtype(p, i), NB_F32);
    assert_int_equal(nb_program_param_rank(p, i), 0);
    double lr = 0.01, one[2] = {1, 1}, steps;
    set_param(p, "a", one, 2);
    set_param(p, "b", one, 1);
    nb_program_bind(p, "lr", &lr);
    for (int k = 0; k < 3; k++)
        run(p);
    get_param(p, "a.step", &steps, 1);
    assert_float_equal(steps, 3.0, 0);
    nb_program_free(p);

    nb_adam_options ams = nb_adamw_default_options();
    ams.amsgrad = 1;
    p = two_params(ADAMW, &ams, &n);
    assert_int_equal(n, 10);
    assert_int_equal(nb_program_param_index(p, "b.max_exp_avg_sq"), 9);
    nb_program_free(p);
}

static void test_default_options(void **state)
{
    (void)state;
    nb_adam_options a = nb_adam_default_options(), w = nb_adamw_default_options();
    assert_true(a.beta1 == 0.9 && a.beta2 == 0.999 && a.eps == 1e-8 && a.weight_decay == 0);
    assert_true(w.beta1 == 0.9 && w.beta2 == 0.999 && w.eps == 1e-8 && w.weight_decay == 1e-2);
    assert_true(!a.amsgrad && !a.maximize && !w.amsgrad && !w.maximize);
}

/* ---- convergence ----------------------------------------------------------------- */

static void fill_uniform(ir_rng *r, double *v, int n, double lo, double hi)
{
    for (int i = 0; i < n; i++)
        v[i] = lo + (hi - lo) * ir_rng_uniform(r);
}

/* XOR with a 2-8-1 MLP (tanh, sigmoid, binary cross-entropy) and Adam (lr 0.05): 500
 * steps bring the loss below 0.01 and every prediction to the right side of 0.5. */
static void test_xor_converges(void **state)
{
    (void)state;
    enum { H = 8 };
    nb_graph *g = nb_graph_new();
    int64_t xs[2] = {4, 2}, ys[2] = {4, 1}, w1s[2] = {2, H}, b1s[1] = {H}, w2s[2] = {H, 1},
            b2s[1] = {1};
    nb_node *x = nb_input(g, "x", NB_F32, 2, xs), *t = nb_input(g, "t", NB_F32, 2, ys);
    nb_node *lr = nb_input(g, "lr", NB_F32, 0, NULL);
    nb_node *ps[4] = {nb_param(g, "w1", NB_F32, 2, w1s), nb_param(g, "b1", NB_F32, 1, b1s),
                      nb_param(g, "w2", NB_F32, 2, w2s), nb_param(g, "b2", NB_F32, 1, b2s)};
    nb_node *h = nb_tanh(g, nb_add(g, nb_matmul(g, x, ps[0]), ps[1]));
    nb_node *prob = nb_sigmoid(g, nb_add(g, nb_matmul(g, h, ps[2]), ps[3]));
    nb_node *loss = nb_bce(g, prob, t, NB_REDUCTION_MEAN), *gs[4];
    nb_grad(g, loss, ps, 4, gs);
    nb_update u[4 * NB_ADAM_UPDATES_PER_PARAM];
    int n = nb_adam(g, lr, ps, gs, 4, NULL, u, 4 * NB_ADAM_UPDATES_PER_PARAM);
    assert_int_equal(n, 16);
    nb_node *outs[2] = {loss, prob};
    nb_compile_options opt = {.outputs = outs, .n_outputs = 2, .updates = u, .n_updates = n};
    nb_program *p = nb_compile(g, &opt);
    assert_non_null(p);
    nb_graph_free(g);

    ir_rng r;
    ir_rng_seed(&r, 7);
    double w1[2 * H], w2[H];
    fill_uniform(&r, w1, 2 * H, -1, 1);
    fill_uniform(&r, w2, H, -1, 1);
    set_param(p, "w1", w1, 2 * H);
    set_param(p, "w2", w2, H);
    const float xv[8] = {0, 0, 0, 1, 1, 0, 1, 1}, tv[4] = {0, 1, 1, 0};
    float lrv = 0.05f;
    nb_program_bind(p, "x", xv);
    nb_program_bind(p, "t", tv);
    nb_program_bind(p, "lr", &lrv);
    for (int k = 0; k < 500; k++)
        run(p);
    run(p); /* lr stays: one more step, whose outputs are the trained model's */
    float final = *(const float *)nb_program_output(p, 0);
    const float *pr = nb_program_output(p, 1);
    if (!(final < 0.01f))
        fail_msg("XOR loss after 500 steps: %g", final);
    for (int i = 0; i < 4; i++)
        assert_true(tv[i] > 0.5f ? pr[i] > 0.9f : pr[i] < 0.1f);
    nb_program_free(p);
}

/* y = x @ [1.5, -2, 0.5] + 0.3 on 32 fixed points: SGD with momentum 0.9 (lr 0.1) on the
 * mean squared error recovers the weights to 1e-4 within 300 steps. */
static void test_linear_regression_recovers_weights(void **state)
{
    (void)state;
    enum { N = 32 };
    const double wt[3] = {1.5, -2, 0.5}, bt = 0.3;
    nb_graph *g = nb_graph_new();
    int64_t xs[2] = {N, 3}, ys[2] = {N, 1}, ws[2] = {3, 1}, bs[1] = {1};
    nb_node *x = nb_input(g, "x", NB_F32, 2, xs), *y = nb_input(g, "y", NB_F32, 2, ys);
    nb_node *lr = nb_input(g, "lr", NB_F32, 0, NULL);
    nb_node *ps[2] = {nb_param(g, "w", NB_F32, 2, ws), nb_param(g, "b", NB_F32, 1, bs)};
    nb_node *pred = nb_add(g, nb_matmul(g, x, ps[0]), ps[1]);
    nb_node *loss = nb_mse(g, pred, y, NB_REDUCTION_MEAN), *gs[2];
    nb_grad(g, loss, ps, 2, gs);
    nb_sgd_options o = {.momentum = 0.9};
    nb_update u[2 * NB_SGD_UPDATES_PER_PARAM];
    int n = nb_sgd(g, lr, ps, gs, 2, &o, u, 2 * NB_SGD_UPDATES_PER_PARAM);
    assert_int_equal(n, 4);
    nb_program *p = compile(g, loss, u, n);
    nb_graph_free(g);

    ir_rng r;
    ir_rng_seed(&r, 11);
    float xv[N * 3], yv[N], lrv = 0.1f;
    for (int i = 0; i < N; i++) {
        double s = bt;
        for (int j = 0; j < 3; j++) {
            xv[i * 3 + j] = (float)(2 * ir_rng_uniform(&r) - 1);
            s += xv[i * 3 + j] * wt[j];
        }
        yv[i] = (float)s;
    }
    nb_program_bind(p, "x", xv);
    nb_program_bind(p, "y", yv);
    nb_program_bind(p, "lr", &lrv);
    for (int k = 0; k < 300; k++)
        run(p);
    double w[3], b;
    get_param(p, "w", w, 3);
    get_param(p, "b", &b, 1);
    for (int j = 0; j < 3; j++)
        assert_float_equal(w[j], wt[j], 1e-4);
    assert_float_equal(b, bt, 1e-4);
    nb_program_free(p);
}

/* ---- gradient accumulation ------------------------------------------------------- */

/* The golden problem's data: batch A is rows 0-1 of x and t, batch B rows 2-3. */
static const float acc_x[12] = {0.5f, -1, 2,     1.5f,   0.25f,   -0.5f,
                                -2,   1,  0.75f, 0.125f, -0.625f, 1.25f};
static const float acc_t[8] = {1, -0.5f, 0.25f, 2, -1.5f, 0.5f, 0.75f, -1.25f};
static const double acc_w0[6] = {0.3, -0.2, 0.1, 0.4, -0.5, 0.25}, acc_b0[2] = {0.05, -0.1};

/* The linear problem on a batch of `rows` rows with mean loss times `scale`. */
static nb_node *linear_loss(nb_graph *g, int rows, double scale, nb_node **ps)
{
    int64_t xs[2] = {rows, 3}, ts[2] = {rows, 2}, ws[2] = {3, 2}, bs[1] = {2};
    nb_node *x = nb_input(g, "x", NB_F32, 2, xs), *t = nb_input(g, "t", NB_F32, 2, ts);
    ps[0] = nb_param(g, "W", NB_F32, 2, ws);
    ps[1] = nb_param(g, "b", NB_F32, 1, bs);
    nb_node *y = nb_add(g, nb_matmul(g, x, ps[0]), ps[1]);
    nb_node *loss = nb_mse(g, y, t, NB_REDUCTION_MEAN);
    return nb_mul(g, loss, nb_scalar(g, NB_F32, scale));
}

/* dW and db of mean((x W + b - t)^2) over `rows` rows, by hand in double. */
static void hand_grads(const float *x, const float *t, int rows, double *dw, double *db)
{
    memset(dw, 0, 6 * sizeof *dw);
    memset(db, 0, 2 * sizeof *db);
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < 2; j++) {
            double y = (float)acc_b0[j]; /* the parameters hold f32 values */
            for (int k = 0; k < 3; k++)
                y += x[i * 3 + k] * (double)(float)acc_w0[k * 2 + j];
            double r = 2 * (y - t[i * 2 + j]) / (rows * 2);
            for (int k = 0; k < 3; k++)
                dw[k * 2 + j] += r * x[i * 3 + k];
            db[j] += r;
        }
}

/* Two runs on batches A and B without zero_grad leave dA + dB in the buffers; after
 * zero_grad a run leaves only its own gradient. */
static void test_accumulation_sums_gradients(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *ps[2], *loss = linear_loss(g, 2, 1.0, ps), *gs[2], *bufs[2], *acc[2];
    nb_grad(g, loss, ps, 2, gs);
    assert_int_equal(nb_grad_buffers(g, ps, gs, 2, bufs, acc), 0);
    nb_update u[2] = {{bufs[0], acc[0]}, {bufs[1], acc[1]}};
    nb_program *p = compile(g, loss, u, 2);
    nb_graph_free(g);
    set_param(p, "W", acc_w0, 6);
    set_param(p, "b", acc_b0, 2);
    double da_w[6], da_b[2], db_w[6], db_b[2], got[6];
    hand_grads(acc_x, acc_t, 2, da_w, da_b);
    hand_grads(acc_x + 6, acc_t + 4, 2, db_w, db_b);
    nb_program_bind(p, "x", acc_x);
    nb_program_bind(p, "t", acc_t);
    run(p);
    nb_program_bind(p, "x", acc_x + 6);
    nb_program_bind(p, "t", acc_t + 4);
    run(p);
    get_param(p, "W.grad", got, 6);
    for (int k = 0; k < 6; k++)
        assert_float_equal(got[k], da_w[k] + db_w[k], 1e-5);
    get_param(p, "b.grad", got, 2);
    for (int k = 0; k < 2; k++)
        assert_float_equal(got[k], da_b[k] + db_b[k], 1e-5);
    nb_program_zero_grad(p);
    run(p);
    get_param(p, "W.grad", got, 6);
    for (int k = 0; k < 6; k++)
        assert_float_equal(got[k], db_w[k], 1e-5);
    nb_program_free(p);
}

/* Micro-batching: program "accumulate" adds the gradient of half the mean loss of a
 * 2-row batch to the buffers, program "step" (same state) applies Adam from the buffers
 * and clears them. Three steps of (A, B, step) match three Adam steps on the 4-row
 * batch, i.e. torch's trajectory in optim_golden.txt case adam_f32. */
static void test_micro_batches_match_full_batch(void **state)
{
    (void)state;
    const gd_case *gc = gd_case_find(golden, "adam_f32");
    assert_non_null(gc);
    nb_graph *g = nb_graph_new();
    nb_node *lr = nb_input(g, "lr", NB_F32, 0, NULL);
    nb_node *ps[2], *loss = linear_loss(g, 2, 0.5, ps), *gs[2], *bufs[2], *acc[2];
    nb_grad(g, loss, ps, 2, gs);
    assert_int_equal(nb_grad_buffers(g, ps, gs, 2, bufs, acc), 0);
    nb_update accumulate[2] = {{bufs[0], acc[0]}, {bufs[1], acc[1]}};
    nb_update step[2 + 2 * NB_ADAM_UPDATES_PER_PARAM];
    int n = nb_adam(g, lr, ps, bufs, 2, NULL, step, 2 * NB_ADAM_UPDATES_PER_PARAM);
    assert_int_equal(n, 8);
    for (int i = 0; i < 2; i++) /* zero the buffers in the same run */
        step[n++] = (nb_update){bufs[i], nb_mul(g, bufs[i], nb_scalar(g, NB_F32, 0))};
    nb_program *pa = compile(g, loss, accumulate, 2);
    nb_compile_options so = {
        .outputs = &ps[0], .n_outputs = 1, .updates = step, .n_updates = n, .share_state = pa};
    nb_program *ps_ = nb_compile(g, &so);
    if (!ps_)
        fail_msg("%s", nb_graph_error(g));
    nb_graph_free(g);
    set_param(pa, "W", need(gc, "W0")->values, 6);
    set_param(pa, "b", need(gc, "b0")->values, 2);
    float lrv = 0.05f;
    nb_program_bind(ps_, "lr", &lrv);
    for (int k = 1; k <= 3; k++) {
        nb_program_bind(pa, "x", acc_x);
        nb_program_bind(pa, "t", acc_t);
        run(pa);
        nb_program_bind(pa, "x", acc_x + 6);
        nb_program_bind(pa, "t", acc_t + 4);
        run(pa);
        run(ps_);
        char an[8];
        double got[6];
        snprintf(an, sizeof an, "W%d", k);
        get_param(pa, "W", got, 6);
        expect_close("micro-batches", need(gc, an), got, 1e-5, 1e-6);
        snprintf(an, sizeof an, "b%d", k);
        get_param(pa, "b", got, 2);
        expect_close("micro-batches", need(gc, an), got, 1e-5, 1e-6);
        get_param(pa, "W.grad", got, 6);
        for (int i = 0; i < 6; i++)
            assert_true(got[i] == 0);
    }
    nb_program_free(ps_);
    nb_program_free(pa);
}

/* ---- errors ---------------------------------------------------------------------- */

enum {
    E_NULL_PARAMS,
    E_NULL_GRADS,
    E_NOT_PARAM,
    E_GRAD_SHAPE,
    E_GRAD_DTYPE,
    E_NULL_GRAD,
    E_INT_PARAM,
    E_LR_NULL,
    E_LR_RANK,
    E_LR_INT,
    E_NEG_N,
    E_CAP,
    E_NULL_UPDATES,
    E_TWICE,
    E_TWO_OPTIMIZERS,
    E_MOMENTUM,
    E_MOMENTUM_NAN,
    E_SGD_DECAY,
    E_NESTEROV_NO_MOMENTUM,
    E_NESTEROV_DAMPENING,
    E_BETA1,
    E_BETA2,
    E_EPS,
    E_ADAM_DECAY,
    E_ADAMW_BETA,
};

static const struct error_case {
    int which;
    kind kind;
    const char *what; /* expected in the message, which starts "<optimizer>: " */
} error_cases[] = {
    {E_NULL_PARAMS, SGD, "the parameter list is NULL"},
    {E_NULL_GRADS, ADAM, "the gradient list is NULL"},
    {E_NOT_PARAM, ADAMW, "is not a parameter"},
    {E_GRAD_SHAPE, SGD, "the gradient of parameter 'w' is f32[2]; expected f32[3,2]"},
    {E_GRAD_DTYPE, ADAM, "the gradient of parameter 'w' is f64[3,2]; expected f32[3,2]"},
    {E_NULL_GRAD, ADAM, "gradient 0 is NULL"},
    {E_INT_PARAM, SGD, "parameter 'k' is i32[]; expected a float dtype"},
    {E_LR_NULL, SGD, "the learning rate is NULL"},
    {E_LR_RANK, ADAM, "the learning rate is f32[2]; expected a float scalar"},
    {E_LR_INT, ADAMW, "the learning rate is i32[]; expected a float scalar"},
    {E_NEG_N, SGD, "-1 is negative"},
    {E_CAP, ADAM, "has room for 7 updates; 2 parameters need 8"},
    {E_NULL_UPDATES, SGD, "the updates array is NULL"},
    {E_TWICE, ADAM, "parameter 'w' is given twice (entries 0 and 1)"},
    {E_TWO_OPTIMIZERS, SGD, "the state 'w.momentum_buffer' of parameter 'w' already exists"},
    {E_MOMENTUM, SGD, "invalid momentum -0.5"},
    {E_MOMENTUM_NAN, SGD, "invalid momentum nan"},
    {E_SGD_DECAY, SGD, "invalid weight_decay -1"},
    {E_NESTEROV_NO_MOMENTUM, SGD, "nesterov momentum requires a momentum > 0 and zero dampening"},
    {E_NESTEROV_DAMPENING, SGD, "nesterov momentum requires a momentum > 0 and zero dampening"},
    {E_BETA1, ADAM, "invalid beta1 1;"},
    {E_BETA2, ADAMW, "invalid beta2 -0.1"},
    {E_EPS, ADAM, "invalid epsilon -1e-08"},
    {E_ADAM_DECAY, ADAMW, "invalid weight_decay -0.01"},
    {E_ADAMW_BETA, ADAMW, "invalid beta1 nan"},
};

static void test_errors(void **state)
{
    (void)state;
    static const char *const names[] = {"sgd", "adam", "adamw"};
    for (size_t c = 0; c < sizeof error_cases / sizeof *error_cases; c++) {
        const struct error_case *e = &error_cases[c];
        nb_graph *g = nb_graph_new();
        int64_t s[2] = {3, 2}, s2 = 2;
        nb_node *lr = nb_input(g, "lr", NB_F32, 0, NULL);
        nb_node *ps[2] = {nb_param(g, "w", NB_F32, 2, s), nb_param(g, "v", NB_F32, 0, NULL)};
        nb_node *gs[2] = {nb_input(g, "gw", NB_F32, 2, s), nb_input(g, "gv", NB_F32, 0, NULL)};
        nb_node *const *pl = ps, *const *gl = gs;
        nb_update u[2 * NB_ADAM_UPDATES_PER_PARAM];
        nb_update *ul = u;
        int n = 2, cap = 2 * NB_ADAM_UPDATES_PER_PARAM;
        nb_sgd_options so = {.momentum = 0.9};
        nb_adam_options ao = nb_adam_default_options();
        switch (e->which) {
        case E_NULL_PARAMS: pl = NULL; break;
        case E_NULL_GRADS: gl = NULL; break;
        case E_NOT_PARAM: ps[1] = gs[1]; break;
        case E_GRAD_SHAPE: gs[0] = nb_input(g, "bad", NB_F32, 1, &s2); break;
        case E_GRAD_DTYPE: gs[0] = nb_input(g, "bad", NB_F64, 2, s); break;
        case E_NULL_GRAD: gs[0] = NULL; break;
        case E_INT_PARAM:
            ps[1] = nb_param(g, "k", NB_I32, 0, NULL);
            gs[1] = nb_input(g, "gk", NB_I32, 0, NULL);
            break;
        case E_LR_NULL: lr = NULL; break;
        case E_LR_RANK: lr = nb_input(g, "lr2", NB_F32, 1, &s2); break;
        case E_LR_INT: lr = nb_input(g, "lr2", NB_I32, 0, NULL); break;
        case E_NEG_N: n = -1; break;
        case E_CAP: cap = 7; break;
        case E_NULL_UPDATES: ul = NULL; break;
        case E_TWICE: ps[1] = ps[0], gs[1] = gs[0]; break;
        case E_TWO_OPTIMIZERS:
            assert_int_equal(nb_sgd(g, lr, ps, gs, 1, &so, u, cap), 2);
            n = 1;
            break;
        case E_MOMENTUM: so.momentum = -0.5; break;
        case E_MOMENTUM_NAN: so.momentum = NAN; break;
        case E_SGD_DECAY: so.weight_decay = -1; break;
        case E_NESTEROV_NO_MOMENTUM: so = (nb_sgd_options){.nesterov = 1}; break;
        case E_NESTEROV_DAMPENING: so.nesterov = 1, so.dampening = 0.1; break;
        case E_BETA1: ao.beta1 = 1; break;
        case E_BETA2: ao.beta2 = -0.1; break;
        case E_EPS: ao.eps = -1e-8; break;
        case E_ADAM_DECAY: ao.weight_decay = -0.01; break;
        case E_ADAMW_BETA: ao.beta1 = NAN; break;
        }
        int r = e->kind == SGD    ? nb_sgd(g, lr, pl, gl, n, &so, ul, cap)
                : e->kind == ADAM ? nb_adam(g, lr, pl, gl, n, &ao, ul, cap)
                                  : nb_adamw(g, lr, pl, gl, n, &ao, ul, cap);
        assert_int_equal(r, -1);
        const char *msg = nb_graph_error(g);
        size_t len = strlen(names[e->kind]);
        if (!msg || strncmp(msg, names[e->kind], len) != 0 || msg[len] != ':' ||
            !strstr(msg, e->what))
            fail_msg("case %zu: expected '%s: ...%s' in: %s", c, names[e->kind], e->what,
                     msg ? msg : "(none)");
        /* Sticky: a later call fails without replacing the first message. */
        assert_int_equal(nb_sgd(g, lr, ps, gs, 1, NULL, u, cap), -1);
        assert_string_equal(nb_graph_error(g), msg);
        nb_graph_free(g);
    }
    /* No parameters is no work; a NULL graph is an error return, not a crash. */
    nb_graph *g = nb_graph_new();
    nb_node *lr = nb_input(g, "lr", NB_F64, 0, NULL);
    assert_int_equal(nb_adam(g, lr, NULL, NULL, 0, NULL, NULL, 0), 0);
    assert_null(nb_graph_error(g));
    assert_int_equal(nb_sgd(NULL, lr, NULL, NULL, 0, NULL, NULL, 0), -1);
    nb_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_coverage),
        cmocka_unit_test(test_golden_f32),
        cmocka_unit_test(test_golden_f64),
        cmocka_unit_test(test_lr_changes_without_recompiling),
        cmocka_unit_test(test_state_names),
        cmocka_unit_test(test_default_options),
        cmocka_unit_test(test_xor_converges),
        cmocka_unit_test(test_linear_regression_recovers_weights),
        cmocka_unit_test(test_accumulation_sums_gradients),
        cmocka_unit_test(test_micro_batches_match_full_batch),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
