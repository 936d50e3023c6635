/* test_failed_run.c — a run that fails (an index out of range at run time) changes no
 * program state: parameters, optimizer state and gradient buffers keep the values they
 * had before the run, wherever the failing kernel sits among the updates; the next good
 * run computes what it would have computed without the failed one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "nabla.h"

/* Where the kernel that can fail sits relative to the update of w. */
typedef enum where {
    GATHER_AFTER,  /* an output gather built after the optimizer step (the case) */
    ONE_HOT_AFTER, /* the same with one_hot */
    GATHER_BEFORE, /* an output gather built before the loss */
    GATHER_IN_LOSS /* as before, and the loss gathers rows of w: scatter_add in the
                      backward pass can fail too */
} where;

typedef struct setup {
    nb_program *p;
    double x[4], table[3];
    int32_t idx[2];
} setup;

/* loss = sum(w * x) [+ sum(gather(w, idx))]; SGD with lr 1 on w, optionally with momentum
 * (optimizer state) and through gradient buffers. x = -1..-4, so one plain step takes w
 * from 0 0 0 0 to 1 2 3 4. The failing node y = gather(table, idx) or one_hot(idx). */
static void build(setup *s, where at, int momentum, int buffers)
{
    const int64_t s4 = 4, s3 = 3, s2 = 2;
    nb_graph *g = nb_graph_new();
    nb_node *w = nb_param(g, "w", NB_F64, 1, &s4);
    nb_node *x = nb_input(g, "x", NB_F64, 1, &s4);
    nb_node *table = nb_input(g, "table", NB_F64, 1, &s3);
    nb_node *idx = nb_input(g, "idx", NB_I32, 1, &s2);
    nb_node *lr = nb_scalar(g, NB_F64, 1.0);
    nb_node *y = NULL;
    if (at == GATHER_BEFORE || at == GATHER_IN_LOSS)
        y = nb_gather(g, table, idx);
    nb_node *loss = nb_sum(g, nb_mul(g, w, x), NULL, 0, 0);
    if (at == GATHER_IN_LOSS)
        loss = nb_add(g, loss, nb_sum(g, nb_gather(g, w, idx), NULL, 0, 0));
    nb_node *dw;
    assert_int_equal(nb_grad(g, loss, &w, 1, &dw), 0);
    nb_update u[1 + NB_SGD_UPDATES_PER_PARAM];
    int n = 0;
    nb_node *step = dw;
    if (buffers) {
        nb_node *buf, *acc;
        assert_int_equal(nb_grad_buffers(g, &w, &dw, 1, &buf, &acc), 0);
        u[n++] = (nb_update){buf, acc};
        step = acc;
    }
    nb_sgd_options o = {.momentum = momentum ? 0.5 : 0.0};
    int k = nb_sgd(g, lr, &w, &step, 1, &o, u + n, NB_SGD_UPDATES_PER_PARAM);
    assert_true(k > 0);
    n += k;
    if (at == GATHER_AFTER)
        y = nb_gather(g, table, idx);
    else if (at == ONE_HOT_AFTER)
        y = nb_one_hot(g, idx, 3, NB_F64);
    nb_node *outs[2] = {loss, y};
    nb_compile_options opt = {
        .outputs = outs, .n_outputs = 2, .updates = u, .n_updates = n, .keep_plan = 1};
    s->p = nb_compile(g, &opt);
    if (!s->p)
        fail_msg("compile: %s", nb_graph_error(g));
    nb_graph_free(g);
    for (int i = 0; i < 4; i++)
        s->x[i] = -(i + 1);
    for (int i = 0; i < 3; i++)
        s->table[i] = 10 * (i + 1);
    assert_int_equal(nb_program_bind(s->p, "x", s->x), 0);
    assert_int_equal(nb_program_bind(s->p, "table", s->table), 0);
    assert_int_equal(nb_program_bind(s->p, "idx", s->idx), 0);
}

static void expect_param(nb_program *p, const char *name, const double *want)
{
    double got[4];
    assert_int_equal(nb_program_get_param(p, name, got, sizeof got), 0);
    for (int i = 0; i < 4; i++)
        if (got[i] != want[i])
            fail_msg("%s[%d] = %g, expected %g", name, i, got[i], want[i]);
}

/* A run with index 3 (out of [0, 3)) fails and names the node. */
static void run_bad(setup *s)
{
    s->idx[0] = 2;
    s->idx[1] = 3;
    assert_int_equal(nb_program_run(s->p), -1);
    const char *e = nb_program_error(s->p);
    assert_non_null(e);
    assert_non_null(strstr(e, "out of range"));
}

static void run_good(setup *s)
{
    s->idx[0] = 2;
    s->idx[1] = 0;
    if (nb_program_run(s->p) != 0)
        fail_msg("run: %s", nb_program_error(s->p));
}

/* The reproduction and its variants: plain SGD, the failing kernel after or
 * before the update, or inside the loss. */
static void test_plain_sgd(void **state)
{
    (void)state;
    static const double zero[4] = {0, 0, 0, 0}, one_step[4] = {1, 2, 3, 4};
    /* With the loss gathering rows 2 and 0 of w, their gradients grow by one. */
    static const double in_loss[4] = {0, 2, 2, 4};
    for (int at = GATHER_AFTER; at <= GATHER_IN_LOSS; at++) {
        setup s;
        build(&s, (where)at, 0, 0);
        const double *want = at == GATHER_IN_LOSS ? in_loss : one_step;
        run_bad(&s);
        expect_param(s.p, "w", zero);
        run_good(&s);
        expect_param(s.p, "w", want);
        /* loss of the good run, read with w = 0: 0 (+ w[2] + w[0] = 0). */
        assert_float_equal(*(const double *)nb_program_output(s.p, 0), 0.0, 0);
        const double *y = nb_program_output(s.p, 1);
        if (at == ONE_HOT_AFTER) {
            static const double oh[6] = {0, 0, 1, 1, 0, 0};
            for (int i = 0; i < 6; i++)
                assert_float_equal(y[i], oh[i], 0);
        } else {
            assert_float_equal(y[0], 30.0, 0);
            assert_float_equal(y[1], 10.0, 0);
        }
        run_bad(&s);
        expect_param(s.p, "w", want);
        nb_program_free(s.p);
    }
}

/* The fast path stays where nothing can fail after the update: written in place when
 * every kernel that can fail runs before it, copied at the end otherwise. */
static void test_in_place_kept_when_safe(void **state)
{
    (void)state;
    for (int at = GATHER_AFTER; at <= GATHER_IN_LOSS; at++) {
        setup s;
        build(&s, (where)at, 0, 0);
        /* The plan lists each update written in place as a buffer "in place of" its
         * parameter (nb_program_plan). */
        int in_place = strstr(nb_program_plan(s.p), " in place of ") != NULL;
        assert_int_equal(in_place, at == GATHER_BEFORE || at == GATHER_IN_LOSS);
        nb_program_free(s.p);
    }
}

/* Momentum buffer and gradient buffer are program state too: a failed run leaves all
 * three parameters as they were. Plain numbers: with momentum 0.5 and w.grad
 * accumulating, step 1: grad = x, w.grad = x, buf = x, w = -x; step 2: w.grad = 2x,
 * buf = 0.5 x + 2x = 2.5x, w = -x - 2.5x = -3.5x. */
static void test_optimizer_state_and_buffers(void **state)
{
    (void)state;
    for (int at = GATHER_AFTER; at <= GATHER_BEFORE; at++) {
        setup s;
        build(&s, (where)at, 1, 1);
        double w1[4], g1[4], b1[4], w2[4], g2[4], b2[4], zero[4] = {0, 0, 0, 0};
        for (int i = 0; i < 4; i++) {
            w1[i] = -s.x[i];
            g1[i] = b1[i] = s.x[i];
            g2[i] = 2 * s.x[i];
            b2[i] = 2.5 * s.x[i];
            w2[i] = -3.5 * s.x[i];
        }
        run_bad(&s);
        expect_param(s.p, "w", zero);
        expect_param(s.p, "w.grad", zero);
        expect_param(s.p, "w.momentum_buffer", zero);
        run_good(&s);
        expect_param(s.p, "w", w1);
        expect_param(s.p, "w.grad", g1);
        expect_param(s.p, "w.momentum_buffer", b1);
        run_bad(&s);
        expect_param(s.p, "w", w1);
        expect_param(s.p, "w.grad", g1);
        expect_param(s.p, "w.momentum_buffer", b1);
        run_good(&s);
        expect_param(s.p, "w", w2);
        expect_param(s.p, "w.grad", g2);
        expect_param(s.p, "w.momentum_buffer", b2);
        nb_program_free(s.p);
    }
}

/* Programs sharing state: a failed run of one leaves what the other sees unchanged. */
static void test_shared_state(void **state)
{
    (void)state;
    setup s;
    build(&s, GATHER_AFTER, 0, 0);
    nb_graph *g = nb_graph_new();
    const int64_t s4 = 4;
    nb_node *w = nb_param(g, "w", NB_F64, 1, &s4);
    nb_node *twice = nb_add(g, w, w);
    nb_compile_options opt = {.outputs = &twice, .n_outputs = 1, .share_state = s.p};
    nb_program *view = nb_compile(g, &opt);
    if (!view)
        fail_msg("compile: %s", nb_graph_error(g));
    nb_graph_free(g);
    run_bad(&s);
    assert_int_equal(nb_program_run(view), 0);
    for (int i = 0; i < 4; i++)
        assert_float_equal(((const double *)nb_program_output(view, 0))[i], 0.0, 0);
    run_good(&s);
    assert_int_equal(nb_program_run(view), 0);
    for (int i = 0; i < 4; i++)
        assert_float_equal(((const double *)nb_program_output(view, 0))[i], 2.0 * (i + 1), 0);
    nb_program_free(view);
    nb_program_free(s.p);
}

/* The update's value is computed by the kernel that fails: w <- gather(table, idx).
 * Written in place, the first row would land in w before the bad index is met. */
static void test_update_by_failing_kernel(void **state)
{
    (void)state;
    const int64_t s2 = 2, s3 = 3;
    nb_graph *g = nb_graph_new();
    nb_node *w = nb_param(g, "w", NB_F64, 1, &s2);
    nb_node *table = nb_input(g, "table", NB_F64, 1, &s3);
    nb_node *idx = nb_input(g, "idx", NB_I32, 1, &s2);
    nb_node *sum = nb_sum(g, w, NULL, 0, 0);
    nb_update u = {w, nb_gather(g, table, idx)};
    nb_compile_options opt = {.outputs = &sum, .n_outputs = 1, .updates = &u, .n_updates = 1};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(g));
    nb_graph_free(g);
    double t[3] = {10, 20, 30}, w0[2] = {1, 2}, got[2];
    int32_t bad[2] = {2, 3}, good[2] = {2, 0};
    assert_int_equal(nb_program_set_param(p, "w", w0, sizeof w0), 0);
    assert_int_equal(nb_program_bind(p, "table", t), 0);
    assert_int_equal(nb_program_bind(p, "idx", bad), 0);
    assert_int_equal(nb_program_run(p), -1);
    assert_int_equal(nb_program_get_param(p, "w", got, sizeof got), 0);
    assert_float_equal(got[0], 1.0, 0);
    assert_float_equal(got[1], 2.0, 0);
    assert_int_equal(nb_program_bind(p, "idx", good), 0);
    assert_int_equal(nb_program_run(p), 0);
    assert_float_equal(*(const double *)nb_program_output(p, 0), 3.0, 0);
    assert_int_equal(nb_program_get_param(p, "w", got, sizeof got), 0);
    assert_float_equal(got[0], 30.0, 0);
    assert_float_equal(got[1], 10.0, 0);
    nb_program_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_sgd),
        cmocka_unit_test(test_in_place_kept_when_safe),
        cmocka_unit_test(test_optimizer_state_and_buffers),
        cmocka_unit_test(test_shared_state),
        cmocka_unit_test(test_update_by_failing_kernel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
