/* test_state.c — parameters as program state: updates in the same run (all reads before
 * any write), gradient buffers and zero_grad, state shared between programs, listing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "nabla.h"

static double param(nb_program *p, const char *name)
{
    double v = 0;
    assert_int_equal(nb_program_get_param(p, name, &v, sizeof v), 0);
    return v;
}

static void run(nb_program *p)
{
    if (nb_program_run(p) != 0)
        fail_msg("run: %s", nb_program_error(p));
}

/* w <- w - 0.5 x each run: w = 1, x = 2 gives 0, then -1. */
static void test_update(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F64, 0, NULL);
    nb_node *w = nb_param(g, "w", NB_F64, 0, NULL);
    nb_node *next = nb_sub(g, w, nb_mul(g, x, nb_scalar(g, NB_F64, 0.5)));
    nb_update u = {w, next};
    nb_compile_options opt = {.outputs = &w, .n_outputs = 1, .updates = &u, .n_updates = 1};
    nb_program *p = nb_compile(g, &opt);
    assert_non_null(p);
    nb_graph_free(g);
    double one = 1, xv = 2;
    nb_program_set_param(p, "w", &one, sizeof one);
    nb_program_bind(p, "x", &xv);
    run(p);
    /* The output is w as the run read it; the update lands after. */
    assert_float_equal(*(const double *)nb_program_output(p, 0), 1.0, 0);
    assert_float_equal(param(p, "w"), 0.0, 0);
    run(p);
    assert_float_equal(param(p, "w"), -1.0, 0);
    nb_program_free(p);
}

/* a <- b, b <- a swaps: each update reads the values from before the run. */
static void test_updates_read_old_values(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *a = nb_param(g, "a", NB_F64, 0, NULL);
    nb_node *b = nb_param(g, "b", NB_F64, 0, NULL);
    nb_node *sum = nb_add(g, a, b);
    nb_update u[2] = {{a, b}, {b, a}};
    nb_compile_options opt = {.outputs = &sum, .n_outputs = 1, .updates = u, .n_updates = 2};
    nb_program *p = nb_compile(g, &opt);
    assert_non_null(p);
    double av = 3, bv = 4;
    nb_program_set_param(p, "a", &av, sizeof av);
    nb_program_set_param(p, "b", &bv, sizeof bv);
    run(p);
    assert_float_equal(param(p, "a"), 4.0, 0);
    assert_float_equal(param(p, "b"), 3.0, 0);
    assert_float_equal(*(const double *)nb_program_output(p, 0), 7.0, 0);
    nb_program_free(p);
    nb_graph_free(g);
}

/* An update computed before another kernel reads the old parameter must not be written
 * in place: v = 2w is node 1, y = w + 3 comes after it and must see the old w. */
static void test_in_place_only_when_safe(void **state)
{
    (void)state;
    int64_t s4 = 4;
    for (int later_reader = 0; later_reader <= 1; later_reader++) {
        nb_graph *g = nb_graph_new();
        nb_node *w = nb_param(g, "w", NB_F64, 1, &s4);
        nb_node *v = nb_mul(g, w, nb_scalar(g, NB_F64, 2));
        nb_node *y = later_reader ? nb_add(g, w, nb_scalar(g, NB_F64, 3)) : v;
        nb_update u = {w, v};
        nb_compile_options opt = {
            .outputs = &y, .n_outputs = 1, .updates = &u, .n_updates = 1, .keep_plan = 1};
        nb_program *p = nb_compile(g, &opt);
        assert_non_null(p);
        nb_graph_free(g);
        /* With a later reader the update is copied at the end; otherwise it would be
         * written in place, but it is an output, which pins it to the arena. The plan
         * lists an update written in place as a buffer "in place of" its parameter. */
        int in_place = strstr(nb_program_plan(p), " in place of ") != NULL;
        assert_int_equal(in_place, 0);
        double wv[4] = {1, 2, 3, 4}, got[4];
        nb_program_set_param(p, "w", wv, sizeof wv);
        run(p);
        const double *out = nb_program_output(p, 0);
        for (int i = 0; i < 4; i++)
            assert_float_equal(out[i], later_reader ? wv[i] + 3 : 2 * wv[i], 0);
        nb_program_get_param(p, "w", got, sizeof got);
        for (int i = 0; i < 4; i++)
            assert_float_equal(got[i], 2 * wv[i], 0);
        nb_program_free(p);
    }

    /* No output among the update values: w <- 2w is written in place, and y = w + 1
     * before it reads the old value. */
    nb_graph *g = nb_graph_new();
    nb_node *w = nb_param(g, "w", NB_F64, 1, &s4);
    nb_node *y = nb_add(g, w, nb_scalar(g, NB_F64, 1));
    nb_node *v = nb_mul(g, w, nb_scalar(g, NB_F64, 2));
    nb_update u = {w, v};
    nb_compile_options opt = {
        .outputs = &y, .n_outputs = 1, .updates = &u, .n_updates = 1, .keep_plan = 1};
    nb_program *p = nb_compile(g, &opt);
    assert_non_null(p);
    nb_graph_free(g);
    assert_non_null(strstr(nb_program_plan(p), " in place of %0, "));
    double wv[4] = {1, 2, 3, 4}, got[4];
    nb_program_set_param(p, "w", wv, sizeof wv);
    run(p);
    for (int i = 0; i < 4; i++)
        assert_float_equal(((const double *)nb_program_output(p, 0))[i], wv[i] + 1, 0);
    nb_program_get_param(p, "w", got, sizeof got);
    for (int i = 0; i < 4; i++)
        assert_float_equal(got[i], 2 * wv[i], 0);
    nb_program_free(p);
}

static void expect_compile_error(nb_graph *g, nb_update *u, int n, const char *what)
{
    nb_node *out = u[0].value ? u[0].value : u[0].param;
    nb_compile_options opt = {.outputs = &out, .n_outputs = 1, .updates = u, .n_updates = n};
    assert_null(nb_compile(g, &opt));
    assert_non_null(nb_graph_error(g));
    if (!strstr(nb_graph_error(g), what))
        fail_msg("expected '%s' in: %s", what, nb_graph_error(g));
}

static void test_update_errors(void **state)
{
    (void)state;
    int64_t s2 = 2;
    struct {
        int which;
        const char *what;
    } cases[] = {{0, "is not a parameter"},
                 {1, "the value f64[2]"},
                 {2, "both write"},
                 {3, "is NULL"},
                 {4, "f32[]"}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        nb_graph *g = nb_graph_new();
        nb_node *x = nb_input(g, "x", NB_F64, 0, NULL);
        nb_node *w = nb_param(g, "w", NB_F64, 0, NULL);
        nb_node *v = nb_input(g, "v", NB_F64, 1, &s2);
        nb_node *f = nb_input(g, "f", NB_F32, 0, NULL);
        nb_update u[2] = {{w, x}, {w, x}};
        int n = 1;
        switch (cases[c].which) {
        case 0: u[0].param = x; break;
        case 1: u[0].value = v; break;
        case 2: n = 2; break;
        case 3: u[0].value = NULL; break;
        case 4: u[0].value = f; break;
        }
        expect_compile_error(g, u, n, cases[c].what);
        nb_graph_free(g);
    }
}

/* y = w * x: dy/dw = x. Two runs (x = 2, x = 3) accumulate 5; zero_grad clears it. */
static void test_grad_buffers(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 0, NULL);
    nb_node *w = nb_param(g, "w", NB_F32, 0, NULL);
    nb_node *y = nb_mul(g, w, x);
    nb_node *dw, *buf, *acc;
    assert_int_equal(nb_grad(g, y, &w, 1, &dw), 0);
    assert_int_equal(nb_grad_buffers(g, &w, &dw, 1, &buf, &acc), 0);
    nb_update u = {buf, acc};
    nb_compile_options opt = {.outputs = &y, .n_outputs = 1, .updates = &u, .n_updates = 1};
    nb_program *p = nb_compile(g, &opt);
    assert_non_null(p);
    nb_graph_free(g);
    assert_int_equal(nb_program_param_count(p), 2);
    assert_string_equal(nb_program_param_name(p, 1), "w.grad");
    float xv = 2, got;
    nb_program_bind(p, "x", &xv);
    run(p);
    xv = 3;
    run(p);
    assert_int_equal(nb_program_get_param(p, "w.grad", &got, sizeof got), 0);
    assert_float_equal(got, 5.0f, 0);
    assert_int_equal(nb_program_zero_grad(p), 0);
    assert_int_equal(nb_program_get_param(p, "w.grad", &got, sizeof got), 0);
    assert_float_equal(got, 0.0f, 0);
    nb_program_free(p);
}

/* Micro-batching with two programs on one state: "accumulate" adds gradients, "step"
 * applies w <- w - 0.1 * w.grad and clears w.grad. */
static void test_shared_state(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F64, 0, NULL);
    nb_node *w = nb_param(g, "w", NB_F64, 0, NULL);
    nb_node *y = nb_mul(g, nb_mul(g, w, w), x); /* dy/dw = 2 w x */
    nb_node *dw, *buf, *acc;
    nb_grad(g, y, &w, 1, &dw);
    nb_grad_buffers(g, &w, &dw, 1, &buf, &acc);
    nb_update accumulate = {buf, acc};
    nb_update step[2] = {{w, nb_sub(g, w, nb_mul(g, buf, nb_scalar(g, NB_F64, 0.1)))},
                         {buf, nb_mul(g, buf, nb_scalar(g, NB_F64, 0))}};
    nb_compile_options o1 = {.outputs = &y, .n_outputs = 1, .updates = &accumulate, .n_updates = 1};
    nb_program *p1 = nb_compile(g, &o1);
    assert_non_null(p1);
    nb_compile_options o2 = {
        .outputs = &w, .n_outputs = 1, .updates = step, .n_updates = 2, .share_state = p1};
    nb_program *p2 = nb_compile(g, &o2);
    assert_non_null(p2);
    nb_graph_free(g);
    double wv = 1, xv = 1;
    nb_program_set_param(p1, "w", &wv, sizeof wv);
    assert_float_equal(param(p2, "w"), 1.0, 0); /* one memory */
    nb_program_bind(p1, "x", &xv);
    run(p1);
    xv = 2;
    run(p1); /* w.grad = 2*1*1 + 2*1*2 = 6 */
    assert_float_equal(param(p2, "w.grad"), 6.0, 0);
    run(p2); /* w = 1 - 0.6 */
    assert_float_equal(param(p1, "w"), 0.4, 1e-15);
    assert_float_equal(param(p1, "w.grad"), 0.0, 0);
    nb_program_free(p1); /* p2 keeps the state alive */
    assert_float_equal(param(p2, "w"), 0.4, 1e-15);
    nb_program_free(p2);
}

/* A program of a graph that has grown since cannot share the first one's state. */
static void test_share_mismatch(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *w = nb_param(g, "w", NB_F32, 0, NULL);
    nb_compile_options o1 = {.outputs = &w, .n_outputs = 1};
    nb_program *p1 = nb_compile(g, &o1);
    assert_non_null(p1);
    nb_node *v = nb_param(g, "v", NB_F32, 0, NULL);
    nb_compile_options o2 = {.outputs = &v, .n_outputs = 1, .share_state = p1};
    assert_null(nb_compile(g, &o2));
    assert_non_null(strstr(nb_graph_error(g), "cannot share state"));
    nb_program_free(p1);
    nb_graph_free(g);
}

static void test_param_listing(void **state)
{
    (void)state;
    int64_t s[2] = {3, 4};
    nb_graph *g = nb_graph_new();
    nb_node *a = nb_param(g, "a", NB_F32, 2, s);
    nb_node *b = nb_param(g, "b", NB_F64, 1, s);
    nb_node *outs[] = {a, b};
    nb_compile_options opt = {.outputs = outs, .n_outputs = 2};
    nb_program *p = nb_compile(g, &opt);
    assert_non_null(p);
    nb_graph_free(g);
    assert_int_equal(nb_program_param_count(p), 2);
    assert_int_equal(nb_program_param_index(p, "b"), 1);
    assert_int_equal(nb_program_param_index(p, "c"), -1);
    assert_int_equal(nb_program_param_dtype(p, 0), NB_F32);
    assert_int_equal(nb_program_param_rank(p, 0), 2);
    assert_int_equal(nb_program_param_shape(p, 0)[1], 4);
    assert_int_equal(nb_program_param_numel(p, 0), 12);
    assert_null(nb_program_param_name(p, 2));
    assert_null(nb_program_param_data(p, -1));
    float *data = nb_program_param_data(p, 0);
    data[11] = 7;
    run(p);
    assert_float_equal(((const float *)nb_program_output(p, 0))[11], 7.0f, 0);
    nb_program_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_update),        cmocka_unit_test(test_updates_read_old_values),
        cmocka_unit_test(test_update_errors), cmocka_unit_test(test_grad_buffers),
        cmocka_unit_test(test_shared_state),  cmocka_unit_test(test_share_mismatch),
        cmocka_unit_test(test_param_listing), cmocka_unit_test(test_in_place_only_when_safe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
