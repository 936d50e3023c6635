/* test_unary_errors.c — misuse of the unary builders: each returns NULL, records an
 * error that names the op and the operand's type, and nothing crashes. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "nabla.h"

typedef nb_node *(*unary_fn)(nb_graph *g, nb_node *x);

static nb_node *leaky_relu_01(nb_graph *g, nb_node *x)
{
    return nb_leaky_relu(g, x, 0.1);
}

static nb_node *elu_1(nb_graph *g, nb_node *x)
{
    return nb_elu(g, x, 1.0);
}

/* Every float-only unary builder with the op name its errors must carry. */
static const struct {
    const char *name;
    unary_fn f;
} float_ops[] = {
    {"neg", nb_neg},
    {"abs", nb_abs},
    {"sign", nb_sign},
    /* rounding */
    {"floor", nb_floor},
    {"ceil", nb_ceil},
    {"round", nb_round},
    {"trunc", nb_trunc},
    {"exp", nb_exp},
    {"log", nb_log},
    {"log1p", nb_log1p},
    {"expm1", nb_expm1},
    {"sqrt", nb_sqrt},
    {"rsqrt", nb_rsqrt},
    {"square", nb_square},
    {"reciprocal", nb_reciprocal},
    {"sin", nb_sin},
    {"cos", nb_cos},
    {"tanh", nb_tanh},
    {"sigmoid", nb_sigmoid},
    {"relu", nb_relu},
    {"leaky_relu", leaky_relu_01},
    {"elu", elu_1},
    {"gelu", nb_gelu},
    {"gelu_tanh", nb_gelu_tanh},
    {"silu", nb_silu},
    {"softplus", nb_softplus},
    {"erf", nb_erf},
    /* trigonometric and hyperbolic */
    {"tan", nb_tan},
    {"asin", nb_asin},
    {"acos", nb_acos},
    {"atan", nb_atan},
    {"sinh", nb_sinh},
    {"cosh", nb_cosh},
    {"asinh", nb_asinh},
    {"acosh", nb_acosh},
    {"atanh", nb_atanh},
};
#define N_FLOAT_OPS (sizeof float_ops / sizeof *float_ops)

/* The error starts with "<op>:" and contains every string of want (NULL-terminated). */
static void expect_error(nb_graph *g, const char *op, const char *const *want)
{
    const char *err = nb_graph_error(g);
    if (!err)
        fail_msg("%s: no error recorded", op);
    size_t n = strlen(op);
    if (strncmp(err, op, n) != 0 || err[n] != ':')
        fail_msg("%s: error does not name the op: \"%s\"", op, err);
    for (int i = 0; want && want[i]; i++)
        if (!strstr(err, want[i]))
            fail_msg("%s: error \"%s\" lacks \"%s\"", op, err, want[i]);
}

/* An i32 or bool operand to a float op: NULL, and the message shows its type. */
static void test_int_and_bool_operands(void **state)
{
    (void)state;
    const int64_t shape[2] = {2, 3};
    for (size_t i = 0; i < N_FLOAT_OPS; i++) {
        for (int b = 0; b < 2; b++) {
            nb_graph *g = nb_graph_new();
            nb_node *x = nb_input(g, "x", b ? NB_BOOL : NB_I32, 2, shape);
            assert_non_null(x);
            assert_null(float_ops[i].f(g, x));
            const char *want[] = {b ? "bool[2,3]" : "i32[2,3]", "expected f32 or f64", NULL};
            expect_error(g, float_ops[i].name, want);
            nb_graph_free(g);
        }
    }
}

/* A NULL operand is reported as such (not a crash), for every builder. */
static void test_null_operand(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_FLOAT_OPS; i++) {
        nb_graph *g = nb_graph_new();
        assert_null(float_ops[i].f(g, NULL));
        const char *want[] = {"operand 0 is NULL", NULL};
        expect_error(g, float_ops[i].name, want);
        nb_graph_free(g);
    }
    nb_graph *g = nb_graph_new();
    assert_null(nb_stop_gradient(g, NULL));
    expect_error(g, "stop_gradient", (const char *const[]){"operand 0 is NULL", NULL});
    nb_graph_free(g);
    g = nb_graph_new();
    assert_null(nb_cast(g, NULL, NB_F32));
    expect_error(g, "cast", (const char *const[]){"operand 0 is NULL", NULL});
    nb_graph_free(g);
}

/* A NULL graph gives NULL without touching anything. */
static void test_null_graph(void **state)
{
    (void)state;
    nb_graph *other = nb_graph_new();
    nb_node *x = nb_input(other, "x", NB_F32, 0, NULL);
    for (size_t i = 0; i < N_FLOAT_OPS; i++)
        assert_null(float_ops[i].f(NULL, x));
    assert_null(nb_stop_gradient(NULL, x));
    assert_null(nb_cast(NULL, x, NB_F64));
    assert_null(nb_graph_error(other));
    nb_graph_free(other);
}

/* A node of another graph is refused by every builder. */
static void test_foreign_node(void **state)
{
    (void)state;
    nb_graph *other = nb_graph_new();
    nb_node *x = nb_input(other, "x", NB_F32, 0, NULL);
    for (size_t i = 0; i < N_FLOAT_OPS + 2; i++) {
        nb_graph *g = nb_graph_new();
        const char *name = i < N_FLOAT_OPS    ? float_ops[i].name
                           : i == N_FLOAT_OPS ? "stop_gradient"
                                              : "cast";
        nb_node *y = i < N_FLOAT_OPS    ? float_ops[i].f(g, x)
                     : i == N_FLOAT_OPS ? nb_stop_gradient(g, x)
                                        : nb_cast(g, x, NB_F64);
        assert_null(y);
        expect_error(g, name, (const char *const[]){"belongs to another graph", NULL});
        nb_graph_free(g);
    }
    assert_null(nb_graph_error(other));
    nb_graph_free(other);
}

/* leaky_relu's slope and elu's alpha must be finite numbers. */
static void test_bad_knobs(void **state)
{
    (void)state;
    const double bad[3] = {NAN, INFINITY, -INFINITY};
    for (int i = 0; i < 3; i++) {
        nb_graph *g = nb_graph_new();
        nb_node *x = nb_input(g, "x", NB_F64, 1, (const int64_t[]){4});
        assert_null(nb_leaky_relu(g, x, bad[i]));
        expect_error(g, "leaky_relu", (const char *const[]){"slope must be finite", NULL});
        nb_graph_free(g);
        g = nb_graph_new();
        x = nb_input(g, "x", NB_F32, 1, (const int64_t[]){4});
        assert_null(nb_elu(g, x, bad[i]));
        expect_error(g, "elu", (const char *const[]){"alpha must be finite", NULL});
        nb_graph_free(g);
    }
    /* Any finite value is fine, including 0 and negative ones (as in PyTorch). */
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 1, (const int64_t[]){4});
    assert_non_null(nb_leaky_relu(g, x, -0.5));
    assert_non_null(nb_elu(g, x, 0.0));
    assert_null(nb_graph_error(g));
    nb_graph_free(g);
}

/* cast goes to f32, f64 or i32; an unknown dtype is reported, not trusted. */
static void test_cast_targets(void **state)
{
    (void)state;
    const struct {
        nb_dtype from, to;
        const char *want;
    } bad[] = {
        {NB_F32, NB_BOOL, "cannot cast f32[2] to bool; the target must be f32, f64 or i32"},
        {NB_F64, NB_BOOL, "cannot cast f64[2] to bool"},
        {NB_I32, NB_BOOL, "cannot cast i32[2] to bool"},
        {NB_F32, (nb_dtype)7, "unknown target dtype 7 for f32[2]"},
        {NB_F32, (nb_dtype)-1, "unknown target dtype -1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        nb_graph *g = nb_graph_new();
        nb_node *x = nb_input(g, "x", bad[i].from, 1, (const int64_t[]){2});
        assert_null(nb_cast(g, x, bad[i].to));
        expect_error(g, "cast", (const char *const[]){bad[i].want, NULL});
        nb_graph_free(g);
    }
    /* Every valid pair builds, with the target dtype and the operand's shape. */
    const nb_dtype from[4] = {NB_F32, NB_F64, NB_I32, NB_BOOL};
    const nb_dtype to[3] = {NB_F32, NB_F64, NB_I32};
    for (int f = 0; f < 4; f++) {
        for (int t = 0; t < 3; t++) {
            nb_graph *g = nb_graph_new();
            nb_node *x = nb_input(g, "x", from[f], 2, (const int64_t[]){2, 5});
            nb_node *y = nb_cast(g, x, to[t]);
            assert_non_null(y);
            assert_int_equal(nb_node_dtype(y), to[t]);
            assert_int_equal(nb_node_rank(y), 2);
            assert_int_equal(nb_node_shape(y)[1], 5);
            nb_graph_free(g);
        }
    }
}

/* stop_gradient takes any dtype and keeps it. */
static void test_stop_gradient_any_dtype(void **state)
{
    (void)state;
    const nb_dtype dts[4] = {NB_F32, NB_F64, NB_I32, NB_BOOL};
    nb_graph *g = nb_graph_new();
    for (int i = 0; i < 4; i++) {
        nb_node *x = nb_input(g, NULL, dts[i], 1, (const int64_t[]){3});
        nb_node *y = nb_stop_gradient(g, x);
        assert_non_null(y);
        assert_int_equal(nb_node_dtype(y), dts[i]);
        assert_int_equal(nb_node_numel(y), 3);
    }
    assert_null(nb_graph_error(g));
    nb_graph_free(g);
}

/* Errors are sticky: the first one stays, later valid calls return NULL, and
 * compiling fails with the first message. */
static void test_sticky(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 1, (const int64_t[]){3});
    nb_node *i = nb_input(g, "i", NB_I32, 1, (const int64_t[]){3});
    nb_node *y = nb_relu(g, x);
    assert_non_null(y);
    assert_null(nb_sqrt(g, i));
    char first[256];
    strncpy(first, nb_graph_error(g), sizeof first - 1);
    first[sizeof first - 1] = 0;
    assert_null(nb_exp(g, x));
    assert_null(nb_cast(g, i, NB_BOOL));
    assert_string_equal(nb_graph_error(g), first);
    expect_error(g, "sqrt", (const char *const[]){"i32[3]", NULL});
    nb_compile_options opt = {.outputs = &y, .n_outputs = 1};
    assert_null(nb_compile(g, &opt));
    assert_string_equal(nb_graph_error(g), first);
    nb_graph_free(g);
}

/* Gradients through cast reach float operands only; asking for the gradient of an
 * i32 input is refused by nb_grad, not crashed on. */
static void test_grad_through_int_cast(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 1, (const int64_t[]){3});
    nb_node *i = nb_input(g, "i", NB_I32, 1, (const int64_t[]){3});
    nb_node *s = nb_sum(g, nb_mul(g, x, nb_cast(g, i, NB_F32)), NULL, 0, 0);
    nb_node *gx = NULL, *gi = NULL;
    assert_int_equal(nb_grad(g, s, &x, 1, &gx), 0);
    assert_non_null(gx);
    assert_int_equal(nb_grad(g, s, &i, 1, &gi), -1);
    assert_null(gi);
    assert_non_null(nb_graph_error(g));
    nb_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int_and_bool_operands),
        cmocka_unit_test(test_null_operand),
        cmocka_unit_test(test_null_graph),
        cmocka_unit_test(test_foreign_node),
        cmocka_unit_test(test_bad_knobs),
        cmocka_unit_test(test_cast_targets),
        cmocka_unit_test(test_stop_gradient_any_dtype),
        cmocka_unit_test(test_sticky),
        cmocka_unit_test(test_grad_through_int_cast),
    };
    return cmocka_run_group_tests_name("unary_errors", tests, NULL, NULL);
}
