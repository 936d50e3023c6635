/* test_nb_gradcheck.c — the public gradient checker: it passes nabla's gradients (f64
 * and f32 graphs, inputs and parameters, i32 data), finds a wrong gradient and names its
 * element, steps around kinks, fails when everything was skipped and on NaN, refuses bad
 * arguments with a clear message, and leaves the caller's graph as it was. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "nabla.h"

static const int64_t S34[] = {3, 4}, S4[] = {4}, S5[] = {5};

/* The message holds want; printed on failure. */
static void assert_message(const nb_gradcheck_result *r, const char *want)
{
    if (!strstr(r->message, want))
        fail_msg("message \"%s\" lacks \"%s\"", r->message, want);
}

/* y = sum(sin(x) * w + x * exp(w)), x [3,4] input, w [4] parameter, in dtype dt. */
static nb_node *smooth(nb_graph *g, nb_dtype dt, nb_node **x, nb_node **w)
{
    *x = nb_input(g, "x", dt, 2, S34);
    *w = nb_param(g, "w", dt, 1, S4);
    nb_node *a = nb_mul(g, nb_sin(g, *x), *w);
    nb_node *b = nb_mul(g, *x, nb_exp(g, *w));
    return nb_name(g, nb_sum(g, nb_add(g, a, b), NULL, 0, 0), "y");
}

static void test_passes_f64(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *wrt[2];
    nb_node *y = smooth(g, NB_F64, &wrt[0], &wrt[1]);
    nb_gradcheck_result r;
    int nodes = nb_graph_node_count(g);
    assert_int_equal(nb_gradcheck(g, y, wrt, 2, NULL, &r), 0);
    assert_true(r.ok);
    assert_int_equal(r.points, 2); /* the defaults: two random points */
    assert_int_equal(r.checked, 2 * (12 + 4));
    assert_int_equal(r.skipped, 0);
    assert_int_equal(r.failed, 0);
    assert_true(r.error <= r.tolerance);
    assert_message(&r, "d y / d ");
    assert_message(&r, "32 compared, 0 skipped at 2 points");
    /* The caller's graph is as it was: no gradient nodes appended, still compiles. */
    assert_int_equal(nb_graph_node_count(g), nodes);
    nb_compile_options o = {.outputs = &y, .n_outputs = 1};
    nb_program *p = nb_compile(g, &o);
    assert_non_null(p);
    nb_program_free(p);
    nb_graph_free(g);
}

/* An f32 graph is checked in f64 (its copy), with f64's tolerances; casts to f32, an f32
 * constant and a one_hot to f32 come along. */
static void test_passes_f32(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *wrt[2];
    nb_node *y = smooth(g, NB_F32, &wrt[0], &wrt[1]);
    nb_node *c = nb_cast(g, nb_square(g, nb_cast(g, wrt[0], NB_F64)), NB_F32);
    y = nb_add(g, y, nb_sum(g, nb_mul(g, c, nb_scalar(g, NB_F32, 0.1)), NULL, 0, 0));
    /* one_hot to f32 of random labels in [0, 4), times w. */
    int64_t s3[] = {3};
    nb_node *t = nb_input(g, "t", NB_I32, 1, s3);
    y = nb_add(g, y, nb_sum(g, nb_mul(g, nb_one_hot(g, t, 4, NB_F32), wrt[1]), NULL, 0, 0));
    nb_gradcheck_value v = {.leaf = t, .lo = 0, .hi = 4};
    nb_gradcheck_options o = nb_gradcheck_default_options();
    o.n_points = 3;
    o.values = &v;
    o.n_values = 1;
    nb_gradcheck_result r;
    assert_int_equal(nb_gradcheck(g, y, wrt, 2, &o, &r), 0);
    assert_int_equal(r.points, 3);
    assert_int_equal(r.checked, 3 * 16);
    nb_graph_free(g);
}

/* d(x^2)/dx at x = 3 is 6 (by hand); every value given: one point. */
static void test_given_point(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F64, 0, NULL);
    nb_node *y = nb_name(g, nb_mul(g, x, x), "y");
    double three = 3;
    nb_gradcheck_value v = {.leaf = x, .data = &three};
    nb_gradcheck_options o = nb_gradcheck_default_options();
    o.values = &v;
    o.n_values = 1;
    nb_gradcheck_result r;
    assert_int_equal(nb_gradcheck(g, y, &x, 1, &o, &r), 0);
    assert_int_equal(r.points, 1);
    assert_int_equal(r.checked, 1);
    assert_int_equal(r.wrt, 0);
    assert_int_equal(r.element, 0);
    assert_true(r.analytic == 6.0);
    assert_true(fabs(r.numeric - 6.0) < 1e-6);
    assert_message(&r, "d y / d x[0]: analytic 6, numeric ");
    nb_graph_free(g);
}

/* Cross-entropy of logits [2,3] (a parameter) against i32 labels given as values. */
static void test_i32_data_and_ranges(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    int64_t s23[] = {2, 3}, s2[] = {2};
    nb_node *z = nb_param(g, "z", NB_F64, 2, s23);
    nb_node *t = nb_input(g, "t", NB_I32, 1, s2);
    nb_node *y = nb_cross_entropy(g, z, t, NB_REDUCTION_MEAN);
    double labels[] = {2, 0};
    nb_gradcheck_value v[] = {{.leaf = t, .data = labels}, {.leaf = z, .lo = -5, .hi = 5}};
    nb_gradcheck_options o = nb_gradcheck_default_options();
    o.values = v;
    o.n_values = 2;
    nb_gradcheck_result r;
    assert_int_equal(nb_gradcheck(g, y, &z, 1, &o, &r), 0);
    assert_int_equal(r.checked, 2 * 6);
    /* Random labels in [0, 3) work too. */
    v[0] = (nb_gradcheck_value){.leaf = t, .lo = 0, .hi = 3};
    assert_int_equal(nb_gradcheck(g, y, &z, 1, &o, &r), 0);
    /* Labels out of range fail the run: the check could not run. */
    labels[0] = 7;
    v[0] = (nb_gradcheck_value){.leaf = t, .data = labels};
    assert_int_equal(nb_gradcheck(g, y, &z, 1, &o, &r), -1);
    assert_message(&r, "running the check at point 0");
    /* A label that is no i32 value is refused before anything runs. */
    labels[0] = 0.5;
    assert_int_equal(nb_gradcheck(g, y, &z, 1, &o, &r), -1);
    assert_message(&r, "values[0].data[0] = 0.5 is not an i32 value");
    nb_graph_free(g);
}

/* y = sum(x * x) + sum(u); the test supplies the analytic gradients itself: 2x for x
 * with 0.5 too much at element 3, and ones for u. */
static void test_wrong_gradient_found(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F64, 1, S5);
    nb_node *u = nb_param(g, "u", NB_F64, 1, S4);
    nb_node *y = nb_add(g, nb_sum(g, nb_mul(g, x, x), NULL, 0, 0), nb_sum(g, u, NULL, 0, 0));
    nb_name(g, y, "loss");
    double bump[] = {0, 0, 0, 0.5, 0}, xs[] = {1, -2, 0.5, 1.5, 3};
    nb_node *good = nb_mul(g, nb_scalar(g, NB_F64, 2), x);
    nb_node *bad = nb_add(g, good, nb_constant(g, NB_F64, 1, S5, bump));
    nb_node *ones = nb_add(g, nb_mul(g, u, nb_scalar(g, NB_F64, 0)), nb_scalar(g, NB_F64, 1));
    nb_node *wrt[] = {u, x}, *grads[] = {ones, bad};
    nb_gradcheck_value v = {.leaf = x, .data = xs};
    nb_gradcheck_options o = nb_gradcheck_default_options();
    o.grads = grads;
    o.values = &v;
    o.n_values = 1;
    nb_gradcheck_result r;
    assert_int_equal(nb_gradcheck(g, y, wrt, 2, &o, &r), 1);
    assert_false(r.ok);
    assert_int_equal(r.failed, 2); /* element 3 at each of the two points (u is random) */
    assert_int_equal(r.wrt, 1);
    assert_int_equal(r.element, 3);
    assert_true(r.analytic == 3.5); /* 2 * 1.5 + 0.5 */
    assert_true(fabs(r.numeric - 3.0) < 1e-6);
    assert_true(r.error > r.tolerance);
    assert_message(&r, "d loss / d x[3]: analytic 3.5, numeric 3");
    assert_message(&r, "exceeds");
    /* The right gradients pass. */
    grads[1] = good;
    assert_int_equal(nb_gradcheck(g, y, wrt, 2, &o, &r), 0);
    /* And a gradient from nb_vjp with seed 1 is the same as nb_grad's. */
    nb_node *vj[2];
    assert_int_equal(nb_vjp(g, y, nb_scalar(g, NB_F64, 1), wrt, 2, vj), 0);
    o.grads = vj;
    assert_int_equal(nb_gradcheck(g, y, wrt, 2, &o, &r), 0);
    nb_graph_free(g);
}

/* relu and abs at 0: those elements are skipped, the others checked. */
static void test_kinks_skipped(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F64, 1, S5);
    nb_node *y = nb_add(g, nb_sum(g, nb_relu(g, x), NULL, 0, 0),
                        nb_sum(g, nb_abs(g, nb_sub(g, x, nb_scalar(g, NB_F64, 1))), NULL, 0, 0));
    double xs[] = {0, 1, -1, 0.5, 2};
    nb_gradcheck_value v = {.leaf = x, .data = xs};
    nb_gradcheck_options o = nb_gradcheck_default_options();
    o.values = &v;
    o.n_values = 1;
    nb_gradcheck_result r;
    assert_int_equal(nb_gradcheck(g, y, &x, 1, &o, &r), 0);
    assert_int_equal(r.skipped, 2); /* x = 0 (relu) and x = 1 (abs) */
    assert_int_equal(r.checked, 3);
    nb_graph_free(g);
}

/* |x| at x = 0 alone: nothing can be compared, which fails. */
static void test_all_skipped_fails(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F64, 0, NULL);
    nb_node *y = nb_abs(g, x);
    double zero = 0;
    nb_gradcheck_value v = {.leaf = x, .data = &zero};
    nb_gradcheck_options o = nb_gradcheck_default_options();
    o.values = &v;
    o.n_values = 1;
    nb_gradcheck_result r;
    assert_int_equal(nb_gradcheck(g, y, &x, 1, &o, &r), 1);
    assert_false(r.ok);
    assert_int_equal(r.checked, 0);
    assert_int_equal(r.skipped, 1);
    assert_message(&r, "every element at point 0 was skipped");
    nb_graph_free(g);
}

/* A NaN on one side fails: a NaN analytic gradient, then a function that is NaN (log
 * of a negative number) where nb_grad's gradient is finite. */
static void test_nan_fails(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F64, 1, S4);
    nb_node *y = nb_sum(g, nb_mul(g, x, x), NULL, 0, 0);
    nb_node *nan_grad = nb_mul(g, x, nb_scalar(g, NB_F64, NAN));
    nb_gradcheck_options o = nb_gradcheck_default_options();
    o.grads = &nan_grad;
    nb_gradcheck_result r;
    assert_int_equal(nb_gradcheck(g, y, &x, 1, &o, &r), 1);
    assert_true(isnan(r.analytic));
    assert_false(isnan(r.numeric));
    assert_message(&r, "the analytic gradient is NaN");

    nb_node *ly = nb_sum(g, nb_log(g, x), NULL, 0, 0);
    double xs[] = {1, 2, -1, 4};
    nb_gradcheck_value v = {.leaf = x, .data = xs};
    o = nb_gradcheck_default_options();
    o.values = &v;
    o.n_values = 1;
    assert_int_equal(nb_gradcheck(g, ly, &x, 1, &o, &r), 1);
    assert_false(isnan(r.analytic)); /* 1/x: finite */
    assert_true(isnan(r.numeric));
    assert_message(&r, "the numeric gradient is NaN");
    nb_graph_free(g);
}

/* max_elements: a random sample of each leaf's elements. */
static void test_max_elements(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    int64_t s100[] = {100};
    nb_node *x = nb_input(g, "x", NB_F64, 1, s100);
    nb_node *y = nb_sum(g, nb_tanh(g, x), NULL, 0, 0);
    nb_gradcheck_options o = nb_gradcheck_default_options();
    o.max_elements = 5;
    nb_gradcheck_result r;
    assert_int_equal(nb_gradcheck(g, y, &x, 1, &o, &r), 0);
    assert_int_equal(r.checked, 2 * 5);
    nb_graph_free(g);
}

/* The example of docs/gradcheck.md, as written there. */
static void test_docs_example(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 2, (int64_t[]){8, 4});
    nb_node *w = nb_param(g, "w", NB_F32, 2, (int64_t[]){4, 3});
    nb_node *loss = nb_name(g, nb_sum(g, nb_tanh(g, nb_matmul(g, x, w)), NULL, 0, 0), "loss");
    nb_node *wrt[] = {x, w};
    nb_gradcheck_result r;
    int rc = nb_gradcheck(g, loss, wrt, 2, NULL /* defaults */, &r);
    print_message("%s\n", r.message);
    assert_int_equal(rc, 0);
    assert_message(&r, "d loss / d ");
    assert_message(&r, "; 88 compared, 0 skipped at 2 points");
    nb_graph_free(g);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new(), *other = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F64, 1, S4);
    nb_node *i = nb_input(g, "i", NB_I32, 1, S4);
    nb_node *v = nb_exp(g, x);
    nb_node *y = nb_sum(g, v, NULL, 0, 0);
    nb_node *ox = nb_input(other, "x", NB_F64, 1, S4);
    nb_gradcheck_result r;
    nb_gradcheck_options o = nb_gradcheck_default_options();

    assert_int_equal(nb_gradcheck(g, v, &x, 1, NULL, &r), -1);
    assert_message(&r, "y (node 2) is f64[4], not a float scalar");
    assert_int_equal(nb_gradcheck(g, y, &v, 1, NULL, &r), -1);
    assert_message(&r, "wrt[0] (node 2, exp) is not an input or a parameter");
    assert_int_equal(nb_gradcheck(g, y, &i, 1, NULL, &r), -1);
    assert_message(&r, "wrt[0] (node 1) is i32[4]: only float leaves have gradients");
    assert_int_equal(nb_gradcheck(g, y, &ox, 1, NULL, &r), -1);
    assert_message(&r, "wrt[0] is a node of another graph");
    assert_int_equal(nb_gradcheck(NULL, y, &x, 1, NULL, &r), -1);
    assert_message(&r, "the graph is NULL");
    assert_int_equal(nb_gradcheck(g, NULL, &x, 1, NULL, &r), -1);
    assert_message(&r, "y is NULL");
    assert_int_equal(nb_gradcheck(g, y, NULL, 1, NULL, &r), -1);
    assert_message(&r, "wrt is NULL");
    assert_int_equal(nb_gradcheck(g, y, &x, 0, NULL, &r), -1);
    assert_message(&r, "n must be at least 1");
    nb_node *null_node = NULL;
    assert_int_equal(nb_gradcheck(g, y, &null_node, 1, NULL, &r), -1);
    assert_message(&r, "wrt[0] is NULL");
    /* Options. */
    o.eps = 0;
    assert_int_equal(nb_gradcheck(g, y, &x, 1, &o, &r), -1);
    assert_message(&r, "bad options: eps 0");
    o = nb_gradcheck_default_options();
    nb_node *grad = nb_sum(g, x, NULL, 0, 0);
    o.grads = &grad;
    assert_int_equal(nb_gradcheck(g, y, &x, 1, &o, &r), -1);
    assert_message(&r, "grads[0] (node 4) is f64[], wrt[0] is f64[4]");
    o = nb_gradcheck_default_options();
    nb_gradcheck_value val = {.leaf = v, .data = NULL, .lo = 0, .hi = 1};
    o.values = &val;
    o.n_values = 1;
    assert_int_equal(nb_gradcheck(g, y, &x, 1, &o, &r), -1);
    assert_message(&r, "values[0].leaf is not an input or a parameter");
    val = (nb_gradcheck_value){.leaf = x, .lo = 1, .hi = 0};
    assert_int_equal(nb_gradcheck(g, y, &x, 1, &o, &r), -1);
    assert_message(&r, "values[0] has no data and a bad range [1, 0]");
    /* r may be NULL. */
    assert_int_equal(nb_gradcheck(g, y, &x, 1, NULL, NULL), 0);
    assert_int_equal(nb_gradcheck(g, v, &x, 1, NULL, NULL), -1);
    /* A graph with an error is refused with that error. */
    nb_add(g, x, nb_input(g, NULL, NB_F64, 1, S5));
    assert_int_equal(nb_gradcheck(g, y, &x, 1, NULL, &r), -1);
    assert_message(&r, "the graph has an error: add: cannot broadcast");
    nb_graph_free(g);
    nb_graph_free(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_passes_f64),           cmocka_unit_test(test_passes_f32),
        cmocka_unit_test(test_given_point),          cmocka_unit_test(test_i32_data_and_ranges),
        cmocka_unit_test(test_wrong_gradient_found), cmocka_unit_test(test_kinks_skipped),
        cmocka_unit_test(test_all_skipped_fails),    cmocka_unit_test(test_nan_fails),
        cmocka_unit_test(test_max_elements),         cmocka_unit_test(test_docs_example),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
