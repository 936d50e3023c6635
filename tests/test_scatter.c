/* test_scatter.c — nb_scatter_add, nb_index_add and nb_cumsum beyond the PyTorch goldens:
 * values worked out by hand on the tcc and cc backends, an index out of range failing the
 * run (and the program running again with good data), and the builders' errors. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "nabla.h"

/* x = 0 [2, 3]; scatter_add along axis 1 of src [[1, 2], [3, 4]] at [[2, 2], [0, 1]]:
 * [[0, 0, 3], [3, 4, 0]]; index_add along axis 0 of rows [1, 1, 1], [10, 20, 30] at
 * [1, 1]: [[0, 0, 0], [11, 21, 31]]. An index of 3 (axis 1) or -1 fails the run. */
static void test_values_and_range(void **state)
{
    (void)state;
    for (int b = 0; b < 2; b++) {
        nb_graph *g = nb_graph_new();
        nb_node *x = nb_input(g, "x", NB_F64, 2, (const int64_t[]){2, 3});
        nb_node *si = nb_input(g, "si", NB_I32, 2, (const int64_t[]){2, 2});
        nb_node *src = nb_input(g, "src", NB_F64, 2, (const int64_t[]){2, 2});
        nb_node *ii = nb_input(g, "ii", NB_I32, 1, (const int64_t[]){2});
        nb_node *rows = nb_input(g, "rows", NB_F64, 2, (const int64_t[]){2, 3});
        nb_node *outs[] = {nb_scatter_add(g, x, 1, si, src), nb_index_add(g, x, -2, ii, rows)};
        nb_compile_options opt = {
            .outputs = outs, .n_outputs = 2, .backend = b ? NB_BACKEND_CC : NB_BACKEND_TCC};
        nb_program *p = nb_compile(g, &opt);
        if (!p)
            fail_msg("compile: %s", nb_graph_error(g));
        const double xv[6] = {0}, sv[4] = {1, 2, 3, 4}, rv[6] = {1, 1, 1, 10, 20, 30};
        const int32_t siv[4] = {2, 2, 0, 1}, iiv[2] = {1, 1};
        assert_int_equal(nb_program_bind(p, "x", xv), 0);
        assert_int_equal(nb_program_bind(p, "si", siv), 0);
        assert_int_equal(nb_program_bind(p, "src", sv), 0);
        assert_int_equal(nb_program_bind(p, "ii", iiv), 0);
        assert_int_equal(nb_program_bind(p, "rows", rv), 0);
        assert_int_equal(nb_program_run(p), 0);
        const double w0[6] = {0, 0, 3, 3, 4, 0}, w1[6] = {0, 0, 0, 11, 21, 31};
        const double *y0 = nb_program_output(p, 0), *y1 = nb_program_output(p, 1);
        for (int i = 0; i < 6; i++) {
            assert_true(y0[i] == w0[i]);
            assert_true(y1[i] == w1[i]);
        }
        const int32_t bad_si[4] = {2, 3, 0, 1}, bad_ii[2] = {1, -1};
        assert_int_equal(nb_program_bind(p, "si", bad_si), 0);
        assert_int_equal(nb_program_run(p), -1);
        assert_non_null(
            strstr(nb_program_error(p), "(scatter_add_axis): an index is out of range"));
        assert_int_equal(nb_program_bind(p, "si", siv), 0);
        assert_int_equal(nb_program_bind(p, "ii", bad_ii), 0);
        assert_int_equal(nb_program_run(p), -1);
        assert_int_equal(nb_program_bind(p, "ii", iiv), 0);
        assert_int_equal(nb_program_run(p), 0);
        nb_program_free(p);
        nb_graph_free(g);
    }
}

static void test_errors(void **state)
{
    (void)state;
    static const char *const want[] = {
        "scatter_add_axis: x and src must share one float dtype, got f32[2,3] and f64[2,2]",
        "scatter_add_axis: the index is f32[2,2]; it must be i32",
        "scatter_add_axis: axis 2 is out of range for f32[2,3]",
        "scatter_add_axis: the index i32[2,2] and src f32[3,2] must have one shape",
        "scatter_add_axis: the index i32[3,2] and f32[2,3] differ on axis 0 (3 vs 2); only axis 1 "
        "may differ",
        "index_add: the index i32[2,2] must be 1-D with source's 2 entries along axis 1",
        "index_add: the index is f32[2]; it must be i32",
        "index_add: axis 2 and source f32[2,2] do not fit x of rank 2",
        "index_add: operand 1 is NULL",
    };
    for (int k = 0; k < 9; k++) {
        nb_graph *g = nb_graph_new();
        nb_node *x = nb_input(g, "x", NB_F32, 2, (const int64_t[]){2, 3});
        nb_node *i22 = nb_input(g, "i22", NB_I32, 2, (const int64_t[]){2, 2});
        nb_node *i32x3 = nb_input(g, "i32", NB_I32, 2, (const int64_t[]){3, 2});
        nb_node *s22 = nb_input(g, "s22", NB_F32, 2, (const int64_t[]){2, 2});
        nb_node *s32 = nb_input(g, "s32", NB_F32, 2, (const int64_t[]){3, 2});
        nb_node *d22 = nb_input(g, "d22", NB_F64, 2, (const int64_t[]){2, 2});
        nb_node *i1 = nb_input(g, "i1", NB_I32, 1, (const int64_t[]){2});
        nb_node *f1 = nb_input(g, "f1", NB_F32, 1, (const int64_t[]){2});
        nb_node *y = NULL;
        switch (k) {
        case 0: y = nb_scatter_add(g, x, 1, i22, d22); break;
        case 1: y = nb_scatter_add(g, x, 1, s22, s22); break;
        case 2: y = nb_scatter_add(g, x, 2, i22, s22); break;
        case 3: y = nb_scatter_add(g, x, 1, i22, s32); break;
        case 4: y = nb_scatter_add(g, x, -1, i32x3, s32); break;
        case 5: y = nb_index_add(g, x, 1, i22, s22); break;
        case 6: y = nb_index_add(g, x, 1, f1, s22); break;
        case 7: y = nb_index_add(g, x, 2, i1, s22); break;
        default: y = nb_index_add(g, x, 1, NULL, s22); break;
        }
        assert_null(y);
        if (!nb_graph_error(g) || strcmp(nb_graph_error(g), want[k]) != 0)
            fail_msg("case %d: error '%s', expected '%s'", k,
                     nb_graph_error(g) ? nb_graph_error(g) : "(none)", want[k]);
        nb_graph_free(g);
    }
}

/* cumsum of [[1, 2, 3], [4, 5, 6]] along axis 1 and -2, by hand, and in f32 the
 * accumulator is a double: 2^24 + 1 + 1 gives 2^24 + 2 (an f32 running sum would stay at
 * 2^24 after each + 1). */
static void test_cumsum(void **state)
{
    (void)state;
    for (int b = 0; b < 2; b++) {
        nb_graph *g = nb_graph_new();
        nb_node *x = nb_input(g, "x", NB_F64, 2, (const int64_t[]){2, 3});
        nb_node *f = nb_input(g, "f", NB_F32, 1, (const int64_t[]){3});
        nb_node *outs[] = {nb_cumsum(g, x, 1), nb_cumsum(g, x, -2), nb_cumsum(g, f, 0)};
        nb_compile_options opt = {
            .outputs = outs, .n_outputs = 3, .backend = b ? NB_BACKEND_CC : NB_BACKEND_TCC};
        nb_program *p = nb_compile(g, &opt);
        if (!p)
            fail_msg("compile: %s", nb_graph_error(g));
        const double xv[6] = {1, 2, 3, 4, 5, 6};
        const float fv[3] = {16777216.f, 1.f, 1.f};
        assert_int_equal(nb_program_bind(p, "x", xv), 0);
        assert_int_equal(nb_program_bind(p, "f", fv), 0);
        assert_int_equal(nb_program_run(p), 0);
        const double w0[6] = {1, 3, 6, 4, 9, 15}, w1[6] = {1, 2, 3, 5, 7, 9};
        const double *y0 = nb_program_output(p, 0), *y1 = nb_program_output(p, 1);
        for (int i = 0; i < 6; i++) {
            assert_true(y0[i] == w0[i]);
            assert_true(y1[i] == w1[i]);
        }
        const float *y2 = nb_program_output(p, 2);
        assert_true(y2[0] == 16777216.f && y2[1] == 16777216.f && y2[2] == 16777218.f);
        nb_program_free(p);
        nb_graph_free(g);
    }
    nb_graph *g = nb_graph_new();
    nb_node *s = nb_input(g, "s", NB_F32, 0, NULL);
    assert_null(nb_cumsum(g, s, 0));
    assert_string_equal(nb_graph_error(g), "cumsum: axis 0 is out of range for f32[]");
    nb_graph_free(g);
    g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 2, (const int64_t[]){2, 3});
    assert_null(nb_cumsum(g, x, -3));
    assert_string_equal(nb_graph_error(g), "cumsum: axis -3 is out of range for f32[2,3]");
    nb_graph_free(g);
    g = nb_graph_new();
    nb_node *i = nb_input(g, "i", NB_I32, 1, (const int64_t[]){3});
    assert_null(nb_cumsum(g, i, 0));
    assert_string_equal(nb_graph_error(g), "cumsum: expected f32 or f64 operands, got i32[3]");
    nb_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_and_range),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_cumsum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
