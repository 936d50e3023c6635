/* test_reduce_errors.c — misuse of the reductions, softmax and the losses: each call
 * returns NULL, records an error that names the op and what was wrong, and later
 * calls pass the poison on; nothing crashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "nabla.h"

static const int64_t S23[2] = {2, 3}, S2[1] = {2}, S3[1] = {3}, S223[3] = {2, 2, 3};

/* Asserts that x is NULL and that g's error contains each of the given pieces. */
static void expect_error(nb_graph *g, const nb_node *x, const char *a, const char *b)
{
    const char *err = nb_graph_error(g);
    assert_null(x);
    assert_non_null(err);
    if (!strstr(err, a) || (b && !strstr(err, b)))
        fail_msg("error \"%s\" lacks \"%s\"%s%s", err, a, b ? " or " : "", b ? b : "");
}

typedef nb_node *(*reduce_fn)(nb_graph *, nb_node *, const int *, int, int);

static const struct {
    reduce_fn fn;
    const char *name;
} reductions[] = {
    {nb_sum, "sum"},
    {nb_mean, "sum"},
    {nb_max, "max"},
    {nb_min, "min"},
    {nb_logsumexp, "logsumexp"},
    {nb_prod, "prod"},
};

static void test_reduce_bad_axes(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof reductions / sizeof *reductions; i++) {
        const int out[1] = {2}, neg[1] = {-3}, twice[2] = {1, -1}, many[9] = {0};
        const int *axes[4] = {out, neg, twice, many};
        const int counts[4] = {1, 1, 2, 9};
        const char *what[4] = {"axis 2 is out of range for rank 2",
                               "axis -3 is out of range for rank 2", "given twice", "9 axes given"};
        for (int k = 0; k < 4; k++) {
            nb_graph *g = nb_graph_new();
            nb_node *x = nb_input(g, "x", NB_F32, 2, S23);
            expect_error(g, reductions[i].fn(g, x, axes[k], counts[k], 0), reductions[i].name,
                         what[k]);
            /* The error is sticky: later calls return NULL and keep the first message. */
            assert_null(nb_exp(g, x));
            assert_non_null(strstr(nb_graph_error(g), what[k]));
            nb_graph_free(g);
        }
    }
}

static void test_reduce_bad_operands(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof reductions / sizeof *reductions; i++) {
        nb_graph *g = nb_graph_new();
        expect_error(g, reductions[i].fn(g, NULL, NULL, 0, 0), reductions[i].name, "NULL");
        nb_graph_free(g);
        g = nb_graph_new();
        nb_node *l = nb_input(g, "l", NB_I32, 1, S3);
        expect_error(g, reductions[i].fn(g, l, NULL, 0, 1), reductions[i].name, "i32[3]");
        nb_graph_free(g);
        assert_null(reductions[i].fn(NULL, NULL, NULL, 0, 0));
    }
}

static void test_softmax_errors(void **state)
{
    (void)state;
    nb_node *(*fns[2])(nb_graph *, nb_node *, int) = {nb_softmax, nb_log_softmax};
    const char *names[2] = {"softmax", "log_softmax"};
    for (int i = 0; i < 2; i++) {
        nb_graph *g = nb_graph_new();
        nb_node *x = nb_input(g, "x", NB_F64, 2, S23);
        expect_error(g, fns[i](g, x, 2), names[i], "axis 2 is out of range for rank 2");
        nb_graph_free(g);
        g = nb_graph_new();
        x = nb_input(g, "x", NB_F64, 2, S23);
        expect_error(g, fns[i](g, x, -3), names[i], "axis -3");
        nb_graph_free(g);
        g = nb_graph_new();
        nb_node *l = nb_input(g, "l", NB_I32, 2, S23);
        expect_error(g, fns[i](g, l, 1), names[i], "i32[2,3]");
        nb_graph_free(g);
        g = nb_graph_new();
        expect_error(g, fns[i](g, NULL, 0), names[i], "NULL");
        nb_graph_free(g);
        g = nb_graph_new();
        nb_node *s = nb_scalar(g, NB_F32, 1);
        expect_error(g, fns[i](g, s, 1), names[i], "rank 0");
        nb_graph_free(g);
    }
}

typedef nb_node *(*loss_fn)(nb_graph *, nb_node *, nb_node *, nb_reduction);

static const struct {
    loss_fn fn;
    const char *name;
    int labels; /* 1: takes i32 labels */
} losses[] = {
    {nb_mse, "mse", 0},
    {nb_bce, "bce", 0},
    {nb_bce_with_logits, "bce_with_logits", 0},
    {nb_cross_entropy, "cross_entropy", 1},
    {nb_nll, "nll", 1},
};

/* Operands of the right kind for losses[i]. */
static void good_operands(nb_graph *g, int i, nb_node **a, nb_node **b)
{
    *a = nb_input(g, "a", NB_F32, 2, S23);
    *b = losses[i].labels ? nb_input(g, "b", NB_I32, 1, S2) : nb_input(g, "b", NB_F32, 2, S23);
}

static void test_loss_bad_reduction(void **state)
{
    (void)state;
    const int bad[2] = {3, -1};
    for (size_t i = 0; i < sizeof losses / sizeof *losses; i++) {
        for (int k = 0; k < 2; k++) {
            nb_graph *g = nb_graph_new();
            nb_node *a, *b;
            good_operands(g, (int)i, &a, &b);
            expect_error(g, losses[i].fn(g, a, b, (nb_reduction)bad[k]), losses[i].name,
                         bad[k] == 3 ? "reduction 3 is not one of" : "reduction -1");
            nb_graph_free(g);
        }
        nb_graph *g = nb_graph_new();
        nb_node *a, *b;
        good_operands(g, (int)i, &a, &b);
        expect_error(g, losses[i].fn(g, NULL, b, NB_REDUCTION_MEAN), losses[i].name, "NULL");
        nb_graph_free(g);
        g = nb_graph_new();
        good_operands(g, (int)i, &a, &b);
        expect_error(g, losses[i].fn(g, a, NULL, NB_REDUCTION_SUM), losses[i].name, "NULL");
        nb_graph_free(g);
        /* Good operands, good reduction: a node. */
        g = nb_graph_new();
        good_operands(g, (int)i, &a, &b);
        for (int r = 0; r < 3; r++)
            assert_non_null(losses[i].fn(g, a, b, (nb_reduction)r));
        assert_null(nb_graph_error(g));
        nb_graph_free(g);
    }
}

static void test_pair_loss_mismatch(void **state)
{
    (void)state;
    for (size_t i = 0; i < 3; i++) {
        nb_graph *g = nb_graph_new();
        nb_node *a = nb_input(g, "a", NB_F32, 2, S23);
        nb_node *t = nb_input(g, "t", NB_F32, 1, S3);
        expect_error(g, losses[i].fn(g, a, t, NB_REDUCTION_MEAN), losses[i].name, "f32[3]");
        nb_graph_free(g);
        g = nb_graph_new();
        a = nb_input(g, "a", NB_F32, 2, S23);
        t = nb_input(g, "t", NB_F64, 2, S23);
        expect_error(g, losses[i].fn(g, a, t, NB_REDUCTION_MEAN), losses[i].name, "f64[2,3]");
        nb_graph_free(g);
        g = nb_graph_new();
        a = nb_input(g, "a", NB_I32, 2, S23);
        t = nb_input(g, "t", NB_I32, 2, S23);
        expect_error(g, losses[i].fn(g, a, t, NB_REDUCTION_NONE), losses[i].name, "i32[2,3]");
        nb_graph_free(g);
    }
}

static void test_label_loss_errors(void **state)
{
    (void)state;
    for (size_t i = 3; i < 5; i++) {
        const char *op = losses[i].name;
        /* Labels must be i32. */
        nb_graph *g = nb_graph_new();
        nb_node *a = nb_input(g, "a", NB_F32, 2, S23);
        nb_node *l = nb_input(g, "l", NB_F32, 1, S2);
        expect_error(g, losses[i].fn(g, a, l, NB_REDUCTION_MEAN), op, "labels must be i32");
        nb_graph_free(g);
        /* One label per row. */
        g = nb_graph_new();
        a = nb_input(g, "a", NB_F32, 2, S23);
        l = nb_input(g, "l", NB_I32, 1, S3);
        expect_error(g, losses[i].fn(g, a, l, NB_REDUCTION_MEAN), op, "i32[3]");
        nb_graph_free(g);
        /* [C] scores take a rank-0 label. */
        g = nb_graph_new();
        a = nb_input(g, "a", NB_F32, 1, S3);
        l = nb_input(g, "l", NB_I32, 1, S2);
        expect_error(g, losses[i].fn(g, a, l, NB_REDUCTION_SUM), op, "i32[2]");
        nb_graph_free(g);
        /* Scores of rank 3 or 0, or of an integer dtype. */
        g = nb_graph_new();
        a = nb_input(g, "a", NB_F32, 3, S223);
        l = nb_input(g, "l", NB_I32, 2, S23);
        expect_error(g, losses[i].fn(g, a, l, NB_REDUCTION_SUM), op, "f32[2,2,3]");
        nb_graph_free(g);
        g = nb_graph_new();
        a = nb_scalar(g, NB_F32, 1);
        l = nb_scalar(g, NB_I32, 0);
        expect_error(g, losses[i].fn(g, a, l, NB_REDUCTION_SUM), op, "f32[]");
        nb_graph_free(g);
        g = nb_graph_new();
        a = nb_input(g, "a", NB_I32, 2, S23);
        l = nb_input(g, "l", NB_I32, 1, S2);
        expect_error(g, losses[i].fn(g, a, l, NB_REDUCTION_SUM), op, "i32[2,3]");
        nb_graph_free(g);
    }
}

/* An operand from another graph is refused. */
static void test_loss_other_graph(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new(), *h = nb_graph_new();
    nb_node *a = nb_input(g, "a", NB_F32, 2, S23);
    nb_node *t = nb_input(h, "t", NB_F32, 2, S23);
    expect_error(g, nb_mse(g, a, t, NB_REDUCTION_MEAN), "mse", "another graph");
    nb_graph_free(g);
    nb_graph_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reduce_bad_axes),    cmocka_unit_test(test_reduce_bad_operands),
        cmocka_unit_test(test_softmax_errors),     cmocka_unit_test(test_loss_bad_reduction),
        cmocka_unit_test(test_pair_loss_mismatch), cmocka_unit_test(test_label_loss_errors),
        cmocka_unit_test(test_loss_other_graph),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
