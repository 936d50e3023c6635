/* test_errors.c — graph-level misuse through the public API: every case returns NULL
 * or -1, names the op and what was wrong, keeps the first message (sticky errors) and
 * never crashes. Op-specific shape errors live with their families' tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nabla.h"

static const int64_t s23[] = {2, 3};
static const int64_t s3[] = {3};

/* Asserts that g has an error containing every one of the NULL-terminated strings. */
static void expect_error(const nb_graph *g, ...)
{
    const char *msg = nb_graph_error(g);
    if (!msg)
        fail_msg("expected an error on the graph, got none");
    va_list ap;
    va_start(ap, g);
    for (const char *s = va_arg(ap, const char *); s; s = va_arg(ap, const char *))
        if (!strstr(msg, s))
            fail_msg("error '%s' does not mention '%s'", msg, s);
    va_end(ap);
}

/* After a first error every builder call returns NULL or -1, the message stays, and
 * compiling fails with it. */
static void expect_sticky(nb_graph *g)
{
    const char *first = nb_graph_error(g);
    assert_non_null(first);
    char *copy = strdup(first);
    int n_nodes = nb_graph_node_count(g);
    assert_null(nb_input(g, "fresh_input", NB_F32, 2, s23));
    assert_null(nb_param(g, "fresh_param", NB_F32, 1, s3));
    nb_node *c = nb_scalar(g, NB_F32, 1.0);
    assert_null(c);
    assert_null(nb_add(g, c, c));
    assert_null(nb_exp(g, c));
    assert_null(nb_sum(g, c, NULL, 0, 0));
    assert_null(nb_reshape(g, c, 1, s3));
    nb_node *gr = NULL;
    assert_int_equal(nb_grad(g, c, &c, 1, &gr), -1);
    assert_null(gr);
    nb_compile_options opt = {.outputs = &c, .n_outputs = 1};
    assert_null(nb_compile(g, &opt));
    assert_string_equal(nb_graph_error(g), copy);
    assert_int_equal(nb_graph_node_count(g), n_nodes);
    free(copy);
}

static void test_rank_too_large(void **state)
{
    (void)state;
    const int64_t shape[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    nb_graph *g = nb_graph_new();
    assert_null(nb_input(g, "x", NB_F32, 9, shape));
    expect_error(g, "input", "rank 9", NULL);
    expect_sticky(g);
    nb_graph_free(g);

    g = nb_graph_new();
    assert_null(nb_param(g, "w", NB_F32, -1, shape));
    expect_error(g, "param", "rank -1", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 2, s23);
    assert_null(nb_reshape(g, x, 9, shape));
    expect_error(g, "reshape", "rank", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    const double data[1] = {0};
    assert_null(nb_constant(g, NB_F32, 9, shape, data));
    expect_error(g, "const", "rank", NULL);
    nb_graph_free(g);
}

static void test_bad_dims(void **state)
{
    (void)state;
    const int64_t neg[] = {2, -3}, zero[] = {0, 4};
    nb_graph *g = nb_graph_new();
    assert_null(nb_input(g, "x", NB_F32, 2, neg));
    expect_error(g, "input", "dimension 1", "-3", "positive", NULL);
    expect_sticky(g);
    nb_graph_free(g);

    g = nb_graph_new();
    assert_null(nb_param(g, "w", NB_F64, 2, zero));
    expect_error(g, "param", "dimension 0", "positive", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    assert_null(nb_input(g, "x", NB_F32, 2, NULL));
    expect_error(g, "input", "shape is NULL", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    assert_null(nb_input(g, "x", (nb_dtype)7, 1, s3));
    expect_error(g, "input", "dtype", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 2, s23);
    assert_null(nb_broadcast_to(g, x, 2, neg));
    expect_error(g, "broadcast_to", NULL);
    nb_graph_free(g);
}

static void test_numel_overflow(void **state)
{
    (void)state;
    const int64_t big[] = {(int64_t)1 << 40, (int64_t)1 << 40};
    nb_graph *g = nb_graph_new();
    assert_null(nb_input(g, "x", NB_F32, 2, big));
    expect_error(g, "input", "overflow", NULL);
    expect_sticky(g);
    nb_graph_free(g);

    /* Overflow through broadcasting: each operand alone is fine. */
    const int64_t a_shape[] = {(int64_t)1 << 40, 1}, b_shape[] = {1, (int64_t)1 << 40};
    g = nb_graph_new();
    nb_node *a = nb_input(g, "a", NB_F32, 2, a_shape);
    nb_node *b = nb_input(g, "b", NB_F32, 2, b_shape);
    assert_non_null(a);
    assert_non_null(b);
    assert_null(nb_add(g, a, b));
    expect_error(g, "add", "overflow", NULL);
    nb_graph_free(g);
}

static void test_null_graph(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 1, s3);
    nb_node *gr = NULL;
    assert_null(nb_input(NULL, "x", NB_F32, 1, s3));
    assert_null(nb_param(NULL, "w", NB_F32, 1, s3));
    assert_null(nb_scalar(NULL, NB_F32, 1.0));
    assert_null(nb_add(NULL, x, x));
    assert_null(nb_exp(NULL, x));
    assert_null(nb_sum(NULL, x, NULL, 0, 0));
    assert_null(nb_mean(NULL, x, NULL, 0, 0));
    assert_int_equal(nb_grad(NULL, x, &x, 1, &gr), -1);
    assert_int_equal(nb_vjp(NULL, x, x, &x, 1, &gr), -1);
    nb_compile_options opt = {.outputs = &x, .n_outputs = 1};
    assert_null(nb_compile(NULL, &opt));
    assert_non_null(nb_graph_error(NULL));
    assert_null(nb_graph_print(NULL));
    assert_int_equal(nb_graph_node_count(NULL), 0);
    nb_graph_free(NULL);
    /* Nothing above touched g. */
    assert_null(nb_graph_error(g));
    nb_graph_free(g);
    /* Queries of the poisoned node. */
    assert_int_equal(nb_node_rank(NULL), 0);
    assert_null(nb_node_shape(NULL));
    assert_int_equal(nb_node_numel(NULL), 0);
    assert_int_equal(nb_node_id(NULL), -1);
}

static void test_null_operands(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 1, s3);
    assert_null(nb_add(g, x, NULL));
    expect_error(g, "add", "operand 1", "NULL", NULL);
    expect_sticky(g);
    nb_graph_free(g);

    g = nb_graph_new();
    assert_null(nb_sigmoid(g, NULL));
    expect_error(g, "sigmoid", "operand 0", "NULL", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    assert_null(nb_sum(g, NULL, NULL, 0, 1));
    expect_error(g, "sum", "NULL", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    x = nb_input(g, "x", NB_F32, 1, s3);
    nb_node *gr;
    assert_int_equal(nb_grad(g, NULL, &x, 1, &gr), -1);
    expect_error(g, "grad", "NULL", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    x = nb_input(g, "x", NB_F32, 0, NULL);
    nb_node *xs[] = {NULL};
    assert_int_equal(nb_grad(g, x, xs, 1, &gr), -1);
    expect_error(g, "grad", "input 0", "NULL", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    x = nb_input(g, "x", NB_F32, 0, NULL);
    assert_int_equal(nb_grad(g, x, NULL, 1, &gr), -1);
    expect_error(g, "grad", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    x = nb_input(g, "x", NB_F32, 0, NULL);
    assert_int_equal(nb_vjp(g, x, NULL, &x, 1, &gr), -1);
    expect_error(g, "vjp", "seed", "NULL", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    assert_null(nb_constant(g, NB_F32, 1, s3, NULL));
    expect_error(g, "const", "NULL", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    x = nb_input(g, "x", NB_F32, 1, s3);
    assert_null(nb_name(g, nb_exp(g, x), NULL));
    expect_error(g, "name", "NULL", NULL);
    nb_graph_free(g);
}

static void test_other_graph(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new(), *h = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 1, s3);
    nb_node *y = nb_input(h, "y", NB_F32, 1, s3);
    assert_null(nb_mul(g, x, y));
    expect_error(g, "mul", "operand 1", "another graph", NULL);
    expect_sticky(g);
    assert_null(nb_graph_error(h)); /* the other graph is untouched */
    nb_graph_free(g);

    g = nb_graph_new();
    x = nb_input(g, "x", NB_F32, 0, NULL);
    nb_node *gr;
    assert_int_equal(nb_grad(g, x, &y, 1, &gr), -1);
    expect_error(g, "grad", "another graph", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    x = nb_input(g, "x", NB_F32, 1, s3);
    nb_compile_options opt = {.outputs = &y, .n_outputs = 1};
    assert_null(nb_compile(g, &opt));
    expect_error(g, "compile", "another graph", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    nb_node *z = nb_exp(h, y);
    assert_null(nb_name(g, z, "z"));
    expect_error(g, "name", "another graph", NULL);
    nb_graph_free(g);
    nb_graph_free(h);
}

static void test_duplicate_names(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    assert_non_null(nb_input(g, "x", NB_F32, 1, s3));
    assert_null(nb_input(g, "x", NB_F64, 2, s23));
    expect_error(g, "input", "'x'", "taken", NULL);
    expect_sticky(g);
    nb_graph_free(g);

    g = nb_graph_new();
    assert_non_null(nb_param(g, "w", NB_F32, 1, s3));
    assert_null(nb_param(g, "w", NB_F32, 1, s3));
    expect_error(g, "param", "'w'", "taken", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    assert_null(nb_param(g, NULL, NB_F32, 1, s3));
    expect_error(g, "param", "name", NULL);
    expect_sticky(g);
    nb_graph_free(g);
}

static void test_grad_misuse(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 2, s23), *gr = NULL;
    nb_node *y = nb_exp(g, x);
    assert_int_equal(nb_grad(g, y, &x, 1, &gr), -1);
    assert_null(gr);
    expect_error(g, "grad", "f32[2,3]", "scalar", NULL);
    expect_sticky(g);
    nb_graph_free(g);

    g = nb_graph_new();
    x = nb_input(g, "x", NB_F32, 2, s23);
    nb_node *lab = nb_input(g, "labels", NB_I32, 1, s3);
    nb_node *xs[] = {x, lab}, *gs[2] = {NULL, NULL};
    y = nb_sum(g, x, NULL, 0, 0);
    assert_int_equal(nb_grad(g, y, xs, 2, gs), -1);
    expect_error(g, "grad", "input 1", "i32[3]", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    x = nb_input(g, "x", NB_F32, 2, s23);
    y = nb_exp(g, x);
    nb_node *seed = nb_input(g, "seed", NB_F32, 1, s3);
    assert_int_equal(nb_vjp(g, y, seed, &x, 1, &gr), -1);
    expect_error(g, "seed", "f32[3]", "f32[2,3]", NULL);
    expect_sticky(g);
    nb_graph_free(g);

    g = nb_graph_new();
    x = nb_input(g, "x", NB_F32, 2, s23);
    y = nb_exp(g, x);
    seed = nb_input(g, "seed", NB_F64, 2, s23);
    assert_int_equal(nb_vjp(g, y, seed, &x, 1, &gr), -1);
    expect_error(g, "seed", "f64[2,3]", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    nb_node *i = nb_input(g, "i", NB_I32, 0, NULL);
    assert_int_equal(nb_grad(g, i, &i, 1, &gr), -1);
    expect_error(g, "grad", "output", "i32[]", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    x = nb_input(g, "x", NB_F32, 0, NULL);
    assert_int_equal(nb_grad(g, x, &x, -1, &gr), -1);
    expect_error(g, "grad", NULL);
    nb_graph_free(g);
}

static void test_compile_misuse(void **state)
{
    (void)state;
    /* An errored graph: compile returns NULL and the first message stays. */
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 2, s23);
    nb_node *y = nb_input(g, "y", NB_F32, 1, s3);
    nb_node *ok = nb_add(g, x, y);
    assert_non_null(ok);
    const int64_t s4[] = {4};
    nb_node *z = nb_input(g, "z", NB_F32, 1, s4);
    assert_null(nb_add(g, x, z));
    expect_error(g, "add", "f32[2,3]", "f32[4]", NULL);
    char *first = strdup(nb_graph_error(g));
    nb_compile_options opt = {.outputs = &ok, .n_outputs = 1};
    assert_null(nb_compile(g, &opt));
    assert_string_equal(nb_graph_error(g), first);
    free(first);
    nb_graph_free(g);

    g = nb_graph_new();
    x = nb_input(g, "x", NB_F32, 2, s23);
    nb_compile_options none = {.outputs = NULL, .n_outputs = 0};
    assert_null(nb_compile(g, &none));
    expect_error(g, "compile", "no outputs", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    x = nb_input(g, "x", NB_F32, 2, s23);
    nb_node *outs[] = {x, NULL};
    nb_compile_options with_null = {.outputs = outs, .n_outputs = 2};
    assert_null(nb_compile(g, &with_null));
    expect_error(g, "compile", "output 1", "NULL", NULL);
    nb_graph_free(g);

    g = nb_graph_new();
    x = nb_input(g, "x", NB_F32, 2, s23);
    assert_null(nb_compile(g, NULL));
    expect_error(g, "compile", NULL);
    nb_graph_free(g);
}

/* x[2,3] input, w[3] parameter: y = x * w + 1 (a program to misuse). */
static nb_program *small_program(nb_graph *g)
{
    nb_node *x = nb_input(g, "x", NB_F32, 2, s23);
    nb_node *w = nb_param(g, "w", NB_F32, 1, s3);
    nb_node *y = nb_add(g, nb_mul(g, x, w), nb_scalar(g, NB_F32, 1.0));
    nb_compile_options opt = {.outputs = &y, .n_outputs = 1};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(g));
    return p;
}

static void expect_prog_error(const nb_program *p, const char *a, const char *b)
{
    const char *msg = nb_program_error(p);
    if (!msg)
        fail_msg("expected a program error mentioning '%s'", a);
    if (!strstr(msg, a) || (b && !strstr(msg, b)))
        fail_msg("program error '%s' does not mention '%s' and '%s'", msg, a, b ? b : "");
}

static void test_program_misuse(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_program *p = small_program(g);
    float x[6] = {1, 2, 3, 4, 5, 6}, w[3] = {1, 2, 3};

    assert_int_equal(nb_program_bind(p, "nope", x), -1);
    expect_prog_error(p, "bind", "'nope'");
    assert_int_equal(nb_program_bind(p, "w", x), -1); /* a parameter is not an input */
    expect_prog_error(p, "bind", "'w'");
    assert_int_equal(nb_program_bind(p, NULL, x), -1);
    expect_prog_error(p, "bind", "NULL");
    assert_int_equal(nb_program_bind(p, "x", NULL), -1);
    expect_prog_error(p, "bind", "NULL");
    assert_int_equal(nb_program_bind_index(p, 1, x), -1);
    expect_prog_error(p, "bind", "index 1");
    assert_int_equal(nb_program_bind_index(p, -1, x), -1);
    expect_prog_error(p, "bind", "index -1");
    assert_int_equal(nb_program_input_index(p, "nope"), -1);
    assert_int_equal(nb_program_input_index(p, NULL), -1);

    /* Running with an unbound input. */
    assert_int_equal(nb_program_run(p), -1);
    expect_prog_error(p, "run", "'x'");

    /* Parameters: wrong size, unknown name, NULL data. */
    assert_int_equal(nb_program_set_param(p, "w", w, 2 * sizeof(float)), -1);
    expect_prog_error(p, "set_param", "12 bytes");
    assert_int_equal(nb_program_set_param(p, "v", w, sizeof w), -1);
    expect_prog_error(p, "set_param", "'v'");
    assert_int_equal(nb_program_set_param(p, "x", x, sizeof x), -1);
    expect_prog_error(p, "set_param", "'x'");
    assert_int_equal(nb_program_set_param(p, "w", NULL, sizeof w), -1);
    expect_prog_error(p, "set_param", "NULL");
    assert_int_equal(nb_program_get_param(p, "w", w, sizeof w + 4), -1);
    expect_prog_error(p, "get_param", "12 bytes");

    /* Output queries out of range. */
    assert_null(nb_program_output(p, 1));
    assert_null(nb_program_output(p, -1));
    assert_null(nb_program_output_shape(p, 5));
    assert_int_equal(nb_program_output_numel(p, 5), 0);

    /* After all that the program still works. */
    assert_int_equal(nb_program_set_param(p, "w", w, sizeof w), 0);
    assert_int_equal(nb_program_bind(p, "x", x), 0);
    assert_int_equal(nb_program_run(p), 0);
    assert_null(nb_program_error(p));
    const float *y = nb_program_output(p, 0);
    const float expect[6] = {2, 5, 10, 5, 11, 19};
    for (int i = 0; i < 6; i++)
        assert_true(y[i] == expect[i]);

    /* NULL programs. */
    assert_int_equal(nb_program_run(NULL), -1);
    assert_int_equal(nb_program_bind(NULL, "x", x), -1);
    assert_int_equal(nb_program_bind_index(NULL, 0, x), -1);
    assert_int_equal(nb_program_set_param(NULL, "w", w, sizeof w), -1);
    assert_int_equal(nb_program_get_param(NULL, "w", w, sizeof w), -1);
    assert_null(nb_program_error(NULL));
    assert_null(nb_program_source(NULL));
    assert_null(nb_program_output(NULL, 0));
    assert_int_equal(nb_program_write_source(NULL, "/tmp/x.c"), -1);
    assert_int_equal(nb_program_write_source(p, NULL), -1);
    expect_prog_error(p, "write_source", NULL);
    assert_int_equal(nb_program_write_source(p, "/nonexistent-dir/x.c"), -1);
    expect_prog_error(p, "write_source", "/nonexistent-dir/x.c");
    nb_program_free(NULL);

    nb_program_free(p);
    nb_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rank_too_large),  cmocka_unit_test(test_bad_dims),
        cmocka_unit_test(test_numel_overflow),  cmocka_unit_test(test_null_graph),
        cmocka_unit_test(test_null_operands),   cmocka_unit_test(test_other_graph),
        cmocka_unit_test(test_duplicate_names), cmocka_unit_test(test_grad_misuse),
        cmocka_unit_test(test_compile_misuse),  cmocka_unit_test(test_program_misuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
