/* test_shape_errors.c — misuse of the shape and linear-algebra builders: each call
 * returns NULL, records a message that names the op and the operands' types, and
 * nothing crashes; the error is sticky and compilation reports it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "nabla.h"

/* The graph's error must contain every one of the NULL-terminated fragments. */
static void expect_error(const nb_graph *g, const nb_node *result, ...)
{
    const char *err = nb_graph_error(g);
    va_list ap;
    assert_null(result);
    if (!err)
        fail_msg("no error was recorded");
    va_start(ap, result);
    for (const char *frag; (frag = va_arg(ap, const char *)) != NULL;)
        if (!strstr(err, frag))
            fail_msg("error \"%s\" does not mention \"%s\"", err, frag);
    va_end(ap);
}

static nb_node *in(nb_graph *g, nb_dtype dt, int rank, const int64_t *shape)
{
    nb_node *x = nb_input(g, NULL, dt, rank, shape);
    assert_non_null(x);
    return x;
}

/* "rank, shape" arguments from a list of dimensions. */
#define SHAPE(...)                                                                                 \
    (int)(sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (const int64_t[])             \
    {                                                                                              \
        __VA_ARGS__                                                                                \
    }

static void test_matmul_errors(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *a = in(g, NB_F32, SHAPE(2, 3)), *b = in(g, NB_F32, SHAPE(4, 5));
    expect_error(g, nb_matmul(g, a, b), "matmul", "f32[2,3]", "f32[4,5]", "3 vs 4", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    nb_node *v = in(g, NB_F32, SHAPE(3)), *m = in(g, NB_F32, SHAPE(3, 2));
    expect_error(g, nb_matmul(g, v, m), "matmul", "f32[3]", "rank >= 2", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    a = in(g, NB_F32, SHAPE(2, 3));
    b = in(g, NB_F64, SHAPE(3, 2));
    expect_error(g, nb_matmul(g, a, b), "matmul", "f32[2,3]", "f64[3,2]", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    a = in(g, NB_I32, SHAPE(2, 3));
    b = in(g, NB_I32, SHAPE(3, 2));
    expect_error(g, nb_matmul(g, a, b), "matmul", "i32[2,3]", "f32 or f64", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    a = in(g, NB_F64, SHAPE(2, 3, 4));
    b = in(g, NB_F64, SHAPE(3, 4, 5));
    expect_error(g, nb_matmul(g, a, b), "matmul", "f64[2,3,4]", "f64[3,4,5]", "broadcast", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    a = in(g, NB_F64, SHAPE(2, 3));
    expect_error(g, nb_matmul(g, a, NULL), "matmul", "NULL", NULL);
    nb_graph_free(g);
}

static void test_permute_errors(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *x = in(g, NB_F32, SHAPE(2, 3, 4));
    expect_error(g, nb_permute(g, x, (const int[]){0, 0, 1}, 3), "permute", "f32[2,3,4]",
                 "repeated", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    x = in(g, NB_F32, SHAPE(2, 3, 4));
    expect_error(g, nb_permute(g, x, (const int[]){0, 3, 1}, 3), "permute", "out of range", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    x = in(g, NB_F32, SHAPE(2, 3, 4));
    expect_error(g, nb_permute(g, x, (const int[]){-1, 0, 1}, 3), "permute", "out of range", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    x = in(g, NB_F32, SHAPE(2, 3, 4));
    expect_error(g, nb_permute(g, x, (const int[]){1, 0}, 2), "permute", "f32[2,3,4]", "3", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    x = in(g, NB_F32, SHAPE(2, 3));
    expect_error(g, nb_permute(g, x, NULL, 2), "permute", "NULL", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    x = in(g, NB_F32, SHAPE(5));
    expect_error(g, nb_transpose(g, x), "transpose", "f32[5]", NULL);
    nb_graph_free(g);
}

static void test_reshape_errors(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *x = in(g, NB_F32, SHAPE(2, 3));
    expect_error(g, nb_reshape(g, x, 2, (const int64_t[]){4, 2}), "reshape", "f32[2,3]",
                 "6 elements", "8", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    x = in(g, NB_F32, SHAPE(2, 3));
    expect_error(g, nb_reshape(g, x, 2, (const int64_t[]){4, -1}), "reshape", "f32[2,3]", "infer",
                 NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    x = in(g, NB_F32, SHAPE(2, 3));
    expect_error(g, nb_reshape(g, x, 3, (const int64_t[]){-1, 2, -1}), "reshape", "-1",
                 "at most one", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    x = in(g, NB_F32, SHAPE(2, 3));
    expect_error(g, nb_reshape(g, x, 2, (const int64_t[]){0, 6}), "reshape", "is 0", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    x = in(g, NB_F32, SHAPE(2, 3));
    expect_error(g, nb_reshape(g, x, 2, NULL), "reshape", "NULL", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    x = in(g, NB_F32, SHAPE(2, 3));
    expect_error(g, nb_broadcast_to(g, x, 2, (const int64_t[]){2, 4}), "broadcast_to", "f32[2,3]",
                 NULL);
    nb_graph_free(g);
}

static void test_slice_errors(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *x = in(g, NB_F32, SHAPE(4, 6));
    expect_error(g, nb_slice(g, x, NULL, NULL, (const int64_t[]){1, 0}), "slice", "step 0",
                 "axis 1", "f32[4,6]", "positive", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    x = in(g, NB_F32, SHAPE(4, 6));
    expect_error(g, nb_slice(g, x, NULL, NULL, (const int64_t[]){-1, 1}), "slice", "step -1", NULL);
    nb_graph_free(g);

    /* [3:1] and [10:] are empty; dims must be positive. */
    g = nb_graph_new();
    x = in(g, NB_F32, SHAPE(4, 6));
    expect_error(g, nb_slice(g, x, (const int64_t[]){3, 0}, (const int64_t[]){1, 6}, NULL), "slice",
                 "axis 0", "empty", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    x = in(g, NB_F32, SHAPE(4, 6));
    expect_error(g, nb_slice(g, x, (const int64_t[]){0, 10}, NULL, NULL), "slice", "axis 1",
                 "empty", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    x = in(g, NB_F32, SHAPE(4, 6));
    expect_error(g, nb_slice(g, x, (const int64_t[]){0, -2}, (const int64_t[]){4, -3}, NULL),
                 "slice", "empty", NULL);
    nb_graph_free(g);

    /* Extreme bounds clamp instead of overflowing. */
    g = nb_graph_new();
    x = in(g, NB_F32, SHAPE(4, 6));
    nb_node *y = nb_slice(g, x, (const int64_t[]){INT64_MIN, INT64_MIN},
                          (const int64_t[]){INT64_MAX, INT64_MAX}, (const int64_t[]){INT64_MAX, 5});
    assert_non_null(y);
    assert_int_equal(nb_node_shape(y)[0], 1);
    assert_int_equal(nb_node_shape(y)[1], 2);
    nb_graph_free(g);
}

static void test_concat_errors(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *a = in(g, NB_F32, SHAPE(2, 3)), *b = in(g, NB_F32, SHAPE(3, 2));
    expect_error(g, nb_concat(g, (nb_node *const[]){a, b}, 2, 0), "concat", "f32[2,3]", "f32[3,2]",
                 "axis 0", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    a = in(g, NB_F32, SHAPE(2, 3));
    b = in(g, NB_F64, SHAPE(2, 3));
    expect_error(g, nb_concat(g, (nb_node *const[]){a, b}, 2, 0), "concat", "f64[2,3]", "dtype",
                 NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    a = in(g, NB_F32, SHAPE(2, 3));
    b = in(g, NB_F32, SHAPE(2, 3, 1));
    expect_error(g, nb_concat(g, (nb_node *const[]){a, b}, 2, 1), "concat", "rank", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    a = in(g, NB_F32, SHAPE(2, 3));
    expect_error(g, nb_concat(g, (nb_node *const[]){a, a}, 2, 2), "concat", "axis 2",
                 "out of range", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    a = in(g, NB_F32, SHAPE(2, 3));
    expect_error(g, nb_concat(g, (nb_node *const[]){a, a}, 2, -3), "concat", "axis -3", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    a = in(g, NB_F32, 0, NULL);
    expect_error(g, nb_concat(g, (nb_node *const[]){a, a}, 2, 0), "concat", "rank >= 1", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    a = in(g, NB_F32, SHAPE(2, 3));
    expect_error(g, nb_concat(g, (nb_node *const[]){a, NULL}, 2, 0), "concat", "NULL", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    expect_error(g, nb_concat(g, NULL, 2, 0), "concat", "NULL", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    a = in(g, NB_F32, SHAPE(2, 3));
    expect_error(g, nb_concat(g, (nb_node *const[]){a}, 0, 0), "concat", "no operands", NULL);
    nb_graph_free(g);
}

static void test_gather_one_hot_errors(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *t = in(g, NB_F32, SHAPE(5, 3)), *i = in(g, NB_F32, SHAPE(4));
    expect_error(g, nb_gather(g, t, i), "gather", "f32[4]", "i32", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    t = in(g, NB_F32, 0, NULL);
    i = in(g, NB_I32, SHAPE(4));
    expect_error(g, nb_gather(g, t, i), "gather", "f32[]", "rank >= 1", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    t = in(g, NB_F32, SHAPE(5, 2, 2, 2));
    i = in(g, NB_I32, SHAPE(1, 1, 1, 1, 1, 1));
    expect_error(g, nb_gather(g, t, i), "gather", "rank 9", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    i = in(g, NB_I32, SHAPE(4));
    expect_error(g, nb_one_hot(g, i, 0, NB_F32), "one_hot", "0 classes", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    i = in(g, NB_F64, SHAPE(4));
    expect_error(g, nb_one_hot(g, i, 3, NB_F32), "one_hot", "f64[4]", "i32", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    i = in(g, NB_I32, SHAPE(4));
    expect_error(g, nb_one_hot(g, i, 3, (nb_dtype)7), "one_hot", "dtype", NULL);
    nb_graph_free(g);
}

/* take_along_axis: an index that is not i32, of another rank, or longer than x on an
 * axis other than the picked one; an axis out of range either way. */
static void test_take_along_axis_errors(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 2, (const int64_t[]){2, 3});
    nb_node *f = nb_input(g, "f", NB_F32, 2, (const int64_t[]){2, 1});
    expect_error(g, nb_take_along_axis(g, x, f, 1), "take_along_axis", "f32[2,1]", "i32", NULL);
    nb_graph_free(g);
    g = nb_graph_new();
    x = nb_input(g, "x", NB_F32, 2, (const int64_t[]){2, 3});
    nb_node *i = nb_input(g, "i", NB_I32, 1, (const int64_t[]){2});
    expect_error(g, nb_take_along_axis(g, x, i, 1), "take_along_axis", "i32[2]", "rank", NULL);
    nb_graph_free(g);
    g = nb_graph_new();
    x = nb_input(g, "x", NB_F32, 2, (const int64_t[]){2, 3});
    i = nb_input(g, "i", NB_I32, 2, (const int64_t[]){3, 1});
    expect_error(g, nb_take_along_axis(g, x, i, 1), "take_along_axis", "axis 0", "3 vs 2", NULL);
    nb_graph_free(g);
    for (int axis = -3; axis <= 2; axis += 5) {
        g = nb_graph_new();
        x = nb_input(g, "x", NB_F32, 2, (const int64_t[]){2, 3});
        i = nb_input(g, "i", NB_I32, 2, (const int64_t[]){2, 1});
        expect_error(g, nb_take_along_axis(g, x, i, axis), "take_along_axis", "out of range",
                     "f32[2,3]", NULL);
        nb_graph_free(g);
    }
}

/* After one error every builder returns NULL, the first message stays, and compiling
 * fails with it. */
static void test_sticky(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *a = in(g, NB_F32, SHAPE(2, 3)), *b = in(g, NB_F32, SHAPE(4, 5));
    nb_node *y = nb_matmul(g, a, b);
    assert_null(y);
    assert_null(nb_transpose(g, a));
    assert_null(nb_slice(g, a, NULL, NULL, NULL));
    assert_null(nb_concat(g, (nb_node *const[]){a, a}, 2, 0));
    assert_null(nb_permute(g, a, (const int[]){1, 0}, 2));
    assert_null(nb_transpose(g, y));
    assert_non_null(strstr(nb_graph_error(g), "matmul"));
    nb_compile_options opt = {.outputs = &a, .n_outputs = 1};
    assert_null(nb_compile(g, &opt));
    assert_non_null(strstr(nb_graph_error(g), "matmul: inner dimensions differ"));
    nb_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matmul_errors),          cmocka_unit_test(test_permute_errors),
        cmocka_unit_test(test_reshape_errors),         cmocka_unit_test(test_slice_errors),
        cmocka_unit_test(test_concat_errors),          cmocka_unit_test(test_gather_one_hot_errors),
        cmocka_unit_test(test_take_along_axis_errors), cmocka_unit_test(test_sticky),
    };
    return cmocka_run_group_tests_name("shape_errors", tests, NULL, NULL);
}
