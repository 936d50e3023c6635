/* test_program_error.c — when nb_program_error clears: it describes the last call that
 * can fail, NULL once such a call succeeds; calls that only read leave it alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "nabla.h"

static void expect_error(const nb_program *p, const char *part)
{
    const char *e = nb_program_error(p);
    if (!e || !strstr(e, part))
        fail_msg("expected an error with '%s', got: %s", part, e ? e : "(none)");
}

/* y = gather(table, idx) with w a parameter: runs can fail, params can be set. */
static nb_program *build(void)
{
    const int64_t s2 = 2, s3 = 3;
    nb_graph *g = nb_graph_new();
    nb_node *table = nb_input(g, "table", NB_F64, 1, &s3);
    nb_node *idx = nb_input(g, "idx", NB_I32, 1, &s2);
    nb_node *w = nb_param(g, "w", NB_F64, 1, &s2);
    nb_node *y = nb_add(g, nb_gather(g, table, idx), w);
    nb_compile_options opt = {.outputs = &y, .n_outputs = 1};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(g));
    nb_graph_free(g);
    return p;
}

static void test_cleared_by_success(void **state)
{
    (void)state;
    nb_program *p = build();
    double table[3] = {1, 2, 3}, w[2] = {10, 20};
    int32_t idx[2] = {0, 5};
    assert_null(nb_program_error(p));

    /* A failed bind, then a good one: no error left. */
    assert_int_equal(nb_program_bind(p, "nope", table), -1);
    expect_error(p, "nope");
    assert_int_equal(nb_program_bind(p, "table", table), 0);
    assert_null(nb_program_error(p));

    /* A failed run, then a successful set_param: the run's error is gone. */
    assert_int_equal(nb_program_bind(p, "idx", idx), 0);
    assert_int_equal(nb_program_run(p), -1);
    expect_error(p, "out of range");
    assert_int_equal(nb_program_set_param(p, "w", w, sizeof w), 0);
    assert_null(nb_program_error(p));

    /* Reading calls leave an error in place. */
    assert_int_equal(nb_program_run(p), -1);
    assert_int_equal(nb_program_output_count(p), 1);
    assert_int_equal(nb_program_param_index(p, "missing"), -1);
    assert_non_null(nb_program_output(p, 0));
    expect_error(p, "out of range");

    /* The latest failure is reported, not the first. */
    assert_int_equal(nb_program_get_param(p, "w", w, 3), -1);
    expect_error(p, "get_param");
    assert_int_equal(nb_program_save(p, NULL), -1);
    expect_error(p, "save");

    /* Each kind of call clears it when it succeeds. */
    assert_int_equal(nb_program_get_param(p, "w", w, sizeof w), 0);
    assert_null(nb_program_error(p));
    nb_init zeros = nb_init_zeros();
    assert_int_equal(nb_program_init_param(p, "nope", &zeros), -1);
    expect_error(p, "nope");
    assert_int_equal(nb_program_init_param(p, "w", &zeros), 0);
    assert_null(nb_program_error(p));
    assert_int_equal(nb_program_bind_index(p, 7, idx), -1);
    expect_error(p, "out of range");
    assert_int_equal(nb_program_zero_grad(p), 0);
    assert_null(nb_program_error(p));
    idx[1] = 2;
    assert_int_equal(nb_program_bind_index(p, 7, idx), -1);
    expect_error(p, "out of range");
    assert_int_equal(nb_program_run(p), 0);
    assert_null(nb_program_error(p));
    assert_float_equal(((const double *)nb_program_output(p, 0))[1], 3.0, 0);
    nb_program_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cleared_by_success),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
