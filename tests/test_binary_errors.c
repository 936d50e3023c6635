/* test_binary_errors.c — misuse of the binary builders, comparisons, where and clamp:
 * each returns NULL, records a message naming the op and the operands' types, makes
 * nb_compile fail with that message, and crashes nothing. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "nabla.h"

/* Checks that x is NULL, that g's error contains each of the NULL-terminated strings,
 * and that compiling the graph fails with the same message. Frees g. */
static void expect_error(nb_graph *g, nb_node *x, ...)
{
    va_list ap;
    const char *part;
    assert_null(x);
    const char *msg = nb_graph_error(g);
    assert_non_null(msg);
    va_start(ap, x);
    while ((part = va_arg(ap, const char *)) != NULL)
        if (!strstr(msg, part))
            fail_msg("error \"%s\" does not mention \"%s\"", msg, part);
    va_end(ap);
    /* Compiling any node of an errored graph fails and keeps the first message. */
    nb_node *s = nb_scalar(g, NB_F32, 1.0);
    assert_null(s);
    nb_compile_options o = {.outputs = &s, .n_outputs = 1};
    assert_null(nb_compile(g, &o));
    assert_string_equal(nb_graph_error(g), msg);
    nb_graph_free(g);
}

static nb_node *in(nb_graph *g, nb_dtype dt, int rank, int64_t d0, int64_t d1)
{
    const int64_t shape[2] = {d0, d1};
    return nb_input(g, NULL, dt, rank, shape);
}

typedef nb_node *(*binary_fn)(nb_graph *, nb_node *, nb_node *);

/* Which operand dtypes an op takes. */
enum { ANY, FLOAT, ARITH /* f32, f64, i32 */, INT /* i32 */ };

static const struct {
    const char *name;
    binary_fn fn;
    int takes;
} binary_ops[] = {
    {"add", nb_add, ARITH},
    {"sub", nb_sub, ARITH},
    {"mul", nb_mul, ARITH},
    {"div", nb_div, FLOAT},
    {"floor_div", nb_floor_div, INT},
    {"remainder", nb_remainder, INT},
    {"fmod", nb_fmod, FLOAT},
    {"pow", nb_pow, FLOAT},
    {"maximum", nb_maximum, FLOAT},
    {"minimum", nb_minimum, FLOAT},
    {"eq", nb_eq, ANY},
    {"ne", nb_ne, ANY},
    {"lt", nb_lt, ANY},
    {"le", nb_le, ANY},
    {"gt", nb_gt, ANY},
    {"ge", nb_ge, ANY},
};
#define N_BINARY (sizeof binary_ops / sizeof *binary_ops)

/* f32[3,4] with f32[5] (i32 for the integer ops): the message names the op, both
 * types and the axis sizes. */
static void test_broadcast_mismatch(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_BINARY; i++) {
        nb_graph *g = nb_graph_new();
        int i32 = binary_ops[i].takes == INT;
        nb_dtype dt = i32 ? NB_I32 : NB_F32;
        nb_node *x = binary_ops[i].fn(g, in(g, dt, 2, 3, 4), in(g, dt, 1, 5, 0));
        char op[32];
        snprintf(op, sizeof op, "%s:", binary_ops[i].name);
        expect_error(g, x, op, i32 ? "i32[3,4]" : "f32[3,4]", i32 ? "i32[5]" : "f32[5]", "4 vs 5",
                     NULL);
    }
    /* [3,1] with [2,4]: the leading axis disagrees although the trailing broadcasts. */
    nb_graph *g = nb_graph_new();
    expect_error(g, nb_mul(g, in(g, NB_F64, 2, 3, 1), in(g, NB_F64, 2, 2, 4)), "mul:", "f64[3,1]",
                 "f64[2,4]", NULL);
}

static void test_dtype_mismatch(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_BINARY; i++) {
        nb_graph *g = nb_graph_new();
        nb_node *x = binary_ops[i].fn(g, in(g, NB_F32, 1, 2, 0), in(g, NB_F64, 1, 2, 0));
        char op[32];
        snprintf(op, sizeof op, "%s:", binary_ops[i].name);
        expect_error(g, x, op, "one dtype", "f32[2]", "f64[2]", NULL);
    }
    nb_graph *g = nb_graph_new();
    expect_error(g, nb_lt(g, in(g, NB_I32, 1, 2, 0), in(g, NB_F32, 1, 2, 0)), "lt:", "i32[2]",
                 "f32[2]", NULL);
}

/* div, pow, maximum and minimum need floats; add, sub, mul take i32 too, floor_div and
 * remainder only i32; comparisons take i32 and bool. */
static void test_int_operands(void **state)
{
    (void)state;
    static const char *const expected[] = {
        [FLOAT] = "expected f32 or f64",
        [ARITH] = "expected f32, f64 or i32",
        [INT] = "expected i32",
    };
    for (size_t i = 0; i < N_BINARY; i++) {
        for (int d = 0; d < 3; d++) {
            nb_dtype dt = d == 2 ? NB_F64 : d ? NB_BOOL : NB_I32;
            int takes = binary_ops[i].takes;
            nb_graph *g = nb_graph_new();
            nb_node *x = binary_ops[i].fn(g, in(g, dt, 2, 2, 3), in(g, dt, 1, 3, 0));
            int ok =
                takes == ANY || (dt == NB_I32 && takes != FLOAT) || (dt == NB_F64 && takes != INT);
            if (ok) {
                assert_non_null(x);
                assert_null(nb_graph_error(g));
                assert_int_equal(nb_node_dtype(x), takes == ANY ? NB_BOOL : dt);
                assert_int_equal(nb_node_rank(x), 2);
                nb_graph_free(g);
                continue;
            }
            char op[32];
            snprintf(op, sizeof op, "%s:", binary_ops[i].name);
            expect_error(g, x, op, expected[takes],
                         dt == NB_F64 ? "f64[2,3]"
                         : d          ? "bool[2,3]"
                                      : "i32[2,3]",
                         NULL);
        }
    }
    nb_graph *g = nb_graph_new();
    expect_error(g, nb_clamp(g, in(g, NB_I32, 1, 4, 0), 0.0, 1.0), "clamp:", "expected f32 or f64",
                 "i32[4]", NULL);
}

static void test_where_mask_not_bool(void **state)
{
    (void)state;
    const nb_dtype masks[3] = {NB_F32, NB_I32, NB_F64};
    const char *types[3] = {"f32[3]", "i32[3]", "f64[3]"};
    for (int i = 0; i < 3; i++) {
        nb_graph *g = nb_graph_new();
        nb_node *x =
            nb_where(g, in(g, masks[i], 1, 3, 0), in(g, NB_F64, 1, 3, 0), in(g, NB_F64, 1, 3, 0));
        expect_error(g, x, "where:", "mask must be bool", types[i], NULL);
    }
}

static void test_where_operands(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    expect_error(
        g, nb_where(g, in(g, NB_BOOL, 1, 3, 0), in(g, NB_F32, 1, 3, 0), in(g, NB_F64, 1, 3, 0)),
        "where:", "one dtype", "f32[3]", "f64[3]", NULL);
    /* The mask broadcasts with a and b: all three shapes are named. */
    g = nb_graph_new();
    expect_error(
        g, nb_where(g, in(g, NB_BOOL, 1, 2, 0), in(g, NB_F32, 2, 4, 3), in(g, NB_F32, 1, 3, 0)),
        "where:", "bool[2]", "f32[4,3]", "f32[3]", NULL);
    g = nb_graph_new();
    expect_error(
        g, nb_where(g, in(g, NB_BOOL, 1, 3, 0), in(g, NB_F32, 2, 4, 3), in(g, NB_F32, 2, 5, 3)),
        "where:", "f32[4,3]", "f32[5,3]", NULL);
}

static void test_null_operands(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_BINARY; i++) {
        for (int k = 0; k < 2; k++) {
            nb_graph *g = nb_graph_new();
            nb_node *a = in(g, NB_F32, 1, 2, 0);
            nb_node *x = k ? binary_ops[i].fn(g, a, NULL) : binary_ops[i].fn(g, NULL, a);
            char op[32];
            snprintf(op, sizeof op, "%s:", binary_ops[i].name);
            expect_error(g, x, op, k ? "operand 1 is NULL" : "operand 0 is NULL", NULL);
        }
    }
    for (int k = 0; k < 3; k++) {
        nb_graph *g = nb_graph_new();
        nb_node *ops[3] = {in(g, NB_BOOL, 1, 2, 0), in(g, NB_F32, 1, 2, 0), in(g, NB_F32, 1, 2, 0)};
        char what[32];
        ops[k] = NULL;
        snprintf(what, sizeof what, "operand %d is NULL", k);
        expect_error(g, nb_where(g, ops[0], ops[1], ops[2]), "where:", what, NULL);
    }
    nb_graph *g = nb_graph_new();
    expect_error(g, nb_clamp(g, NULL, 0.0, 1.0), "clamp:", "operand 0 is NULL", NULL);
    /* A NULL graph is no crash either. */
    assert_null(nb_add(NULL, NULL, NULL));
    assert_null(nb_where(NULL, NULL, NULL, NULL));
    assert_null(nb_clamp(NULL, NULL, 0.0, 1.0));
}

static void test_other_graph(void **state)
{
    (void)state;
    nb_graph *other = nb_graph_new();
    nb_node *foreign = in(other, NB_F32, 1, 2, 0);
    nb_node *fmask = in(other, NB_BOOL, 1, 2, 0);
    for (size_t i = 0; i < N_BINARY; i++) {
        nb_graph *g = nb_graph_new();
        nb_node *x = binary_ops[i].fn(g, in(g, NB_F32, 1, 2, 0), foreign);
        char op[32];
        snprintf(op, sizeof op, "%s:", binary_ops[i].name);
        expect_error(g, x, op, "operand 1", "another graph", NULL);
    }
    nb_graph *g = nb_graph_new();
    expect_error(g, nb_where(g, fmask, in(g, NB_F32, 1, 2, 0), in(g, NB_F32, 1, 2, 0)),
                 "where:", "operand 0", "another graph", NULL);
    g = nb_graph_new();
    expect_error(g, nb_clamp(g, foreign, 0.0, 1.0), "clamp:", "another graph", NULL);
    assert_null(nb_graph_error(other));
    nb_graph_free(other);
}

/* NaN bounds are rejected (PyTorch would silently give NaN everywhere); lo > hi and
 * infinite bounds are accepted, as in PyTorch. */
static void test_clamp_bounds(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    expect_error(g, nb_clamp(g, in(g, NB_F32, 1, 3, 0), NAN, 1.0), "clamp:", "NaN", "f32[3]", NULL);
    g = nb_graph_new();
    expect_error(g, nb_clamp(g, in(g, NB_F64, 1, 3, 0), 0.0, NAN), "clamp:", "NaN", NULL);
    g = nb_graph_new();
    assert_non_null(nb_clamp(g, in(g, NB_F32, 1, 3, 0), 1.0, -1.0));
    assert_non_null(nb_clamp(g, in(g, NB_F32, 1, 3, 0), -INFINITY, INFINITY));
    assert_null(nb_graph_error(g));
    nb_graph_free(g);
}

/* Broadcasting [2^31, 1] with [1, 2^31] overflows the element count: an error. */
static void test_broadcast_overflow(void **state)
{
    (void)state;
    int64_t big = (int64_t)1 << 31;
    nb_graph *g = nb_graph_new();
    expect_error(g, nb_maximum(g, in(g, NB_F32, 2, big, 1), in(g, NB_F32, 2, 1, big)),
                 "maximum:", "overflows", NULL);
}

/* After the first error every builder returns NULL and the message stays the first. */
static void test_sticky(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *a = in(g, NB_F32, 1, 2, 0);
    nb_node *bad = nb_pow(g, a, in(g, NB_F32, 1, 3, 0));
    assert_null(bad);
    assert_null(nb_add(g, a, a));
    assert_null(nb_where(g, nb_lt(g, a, a), a, bad));
    assert_null(nb_clamp(g, a, 0.0, 1.0));
    expect_error(g, bad, "pow:", "f32[2]", "f32[3]", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_broadcast_mismatch), cmocka_unit_test(test_dtype_mismatch),
        cmocka_unit_test(test_int_operands),       cmocka_unit_test(test_where_mask_not_bool),
        cmocka_unit_test(test_where_operands),     cmocka_unit_test(test_null_operands),
        cmocka_unit_test(test_other_graph),        cmocka_unit_test(test_clamp_bounds),
        cmocka_unit_test(test_broadcast_overflow), cmocka_unit_test(test_sticky),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
