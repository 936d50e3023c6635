/* test_pad.c — nb_pad beyond the PyTorch goldens: values worked out by hand on the tcc
 * and cc backends (reflect on an axis torch does not pad, a rank-0 operand, a value past
 * f32's range), the errors of the builder, the shape rule and the graph format, and
 * pads (and cumsums) differing only in attributes kept apart by the merging of nodes. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "graph_error.h"
#include "nabla.h"

static nb_program *compile_run(nb_graph *g, nb_node **outs, int n, nb_backend b, const void *x)
{
    if (nb_graph_error(g))
        fail_msg("build: %s", nb_graph_error(g));
    nb_compile_options opt = {.outputs = outs, .n_outputs = n, .backend = b};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(g));
    assert_int_equal(nb_program_bind(p, "x", x), 0);
    if (nb_program_run(p) != 0)
        fail_msg("run: %s", nb_program_error(p));
    return p;
}

static void expect_values(const nb_program *p, int i, const double *want, int n, const char *what)
{
    const double *v = nb_program_output(p, i);
    for (int k = 0; k < n; k++)
        if (!(v[k] == want[k]) && !(isnan(v[k]) && isnan(want[k])))
            fail_msg("%s [%d] = %g, expected %g", what, k, v[k], want[k]);
}

/* x = [[1, 2, 3], [4, 5, 6]] (f64). Reflect on axis 0 (torch pads only trailing axes):
 * pads (0, 0, 1, 1) mirror the rows; constant (1, 0) with NaN; the gradient of
 * sum(reflect(x) * w) with w = 1..12 adds each mirrored copy onto its source. */
static void hand_values(nb_backend b)
{
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F64, 2, (const int64_t[]){2, 3});
    nb_node *r = nb_pad(g, x, 4, (const int64_t[]){0, 0, 1, 1}, NB_PAD_REFLECT, 0.0);
    nb_node *c = nb_pad(g, x, 2, (const int64_t[]){1, 0}, NB_PAD_CONSTANT, NAN);
    double wv[12];
    for (int i = 0; i < 12; i++)
        wv[i] = i + 1;
    nb_node *w = nb_constant(g, NB_F64, 2, (const int64_t[]){4, 3}, wv);
    nb_node *gx;
    assert_int_equal(nb_grad(g, nb_sum(g, nb_mul(g, r, w), NULL, 0, 0), &x, 1, &gx), 0);
    nb_node *outs[] = {r, c, gx};
    const double xv[6] = {1, 2, 3, 4, 5, 6};
    nb_program *p = compile_run(g, outs, 3, b, xv);
    expect_values(p, 0, (const double[]){4, 5, 6, 1, 2, 3, 4, 5, 6, 1, 2, 3}, 12, "reflect");
    expect_values(p, 1, (const double[]){NAN, 1, 2, 3, NAN, 4, 5, 6}, 8, "constant NaN");
    /* row 0 of x appears as padded rows 1 and 3 (w 4..6 and 10..12), row 1 as rows 0
     * and 2 (w 1..3 and 7..9) */
    expect_values(p, 2, (const double[]){14, 16, 18, 8, 10, 12}, 6, "reflect gradient");
    nb_program_free(p);
    nb_graph_free(g);
}

static void test_hand_values(void **state)
{
    (void)state;
    hand_values(NB_BACKEND_TCC);
    hand_values(NB_BACKEND_CC);
}

/* A rank-0 operand takes no pads; an f32 value past FLT_MAX pads with inf (as an f32
 * constant holds it), not a literal out of float range. */
static void test_edges(void **state)
{
    (void)state;
    for (int b = 0; b < 2; b++) {
        nb_graph *g = nb_graph_new();
        nb_node *s = nb_input(g, "s", NB_F32, 0, NULL);
        nb_node *x = nb_add(g, nb_input(g, "x", NB_F32, 1, (const int64_t[]){2}), s);
        nb_node *outs[] = {nb_pad(g, s, 0, NULL, NB_PAD_CONSTANT, 0.0),
                           nb_pad(g, x, 2, (const int64_t[]){1, 1}, NB_PAD_CONSTANT, -1e300)};
        nb_compile_options opt = {
            .outputs = outs, .n_outputs = 2, .backend = b ? NB_BACKEND_CC : NB_BACKEND_TCC};
        nb_program *p = nb_compile(g, &opt);
        if (!p)
            fail_msg("compile: %s", nb_graph_error(g));
        const float sv = 0.5f, xv[2] = {1, 2};
        assert_int_equal(nb_program_bind(p, "s", &sv), 0);
        assert_int_equal(nb_program_bind(p, "x", xv), 0);
        assert_int_equal(nb_program_run(p), 0);
        assert_true(*(const float *)nb_program_output(p, 0) == 0.5f);
        const float *v = nb_program_output(p, 1);
        assert_true(v[0] == -INFINITY && v[1] == 1.5f && v[2] == 2.5f && v[3] == -INFINITY);
        nb_program_free(p);
        nb_graph_free(g);
    }
}

static void expect_error(int rank, const int64_t *shape, int n, const int64_t *pads,
                         nb_pad_mode mode, double value, const char *msg)
{
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, rank, shape);
    tu_expect_graph_error(g, nb_pad(g, x, n, pads, mode, value), msg);
}

static void test_errors(void **state)
{
    (void)state;
    const int64_t s23[2] = {2, 3};
    expect_error(2, s23, 3, (const int64_t[]){1, 1, 1}, NB_PAD_CONSTANT, 0,
                 "pad: 3 pads for f32[2,3]; expected an even count up to 4 (two per axis)");
    expect_error(2, s23, 6, (const int64_t[]){1, 1, 1, 1, 1, 1}, NB_PAD_CONSTANT, 0,
                 "pad: 6 pads for f32[2,3]; expected an even count up to 4 (two per axis)");
    expect_error(2, s23, 2, NULL, NB_PAD_CONSTANT, 0,
                 "pad: 2 pads for f32[2,3] (NULL); expected an even count up to 4 (two per axis)");
    expect_error(2, s23, 2, (const int64_t[]){1, 1}, (nb_pad_mode)5, 0,
                 "pad: unknown mode 5 for f32[2,3]");
    expect_error(2, s23, 2, (const int64_t[]){3, 0}, NB_PAD_REFLECT, 0,
                 "pad: reflect pads (3, 0) of axis 1 must be less than its size 3");
    expect_error(2, s23, 4, (const int64_t[]){0, 0, 1, 2}, NB_PAD_REFLECT, 0,
                 "pad: reflect pads (1, 2) of axis 0 must be less than its size 2");
    expect_error(2, s23, 2, (const int64_t[]){1, 1}, NB_PAD_REFLECT, 2.0,
                 "pad: reflect mode takes no value, got 2");
    expect_error(2, s23, 2, (const int64_t[]){-2, -1}, NB_PAD_CONSTANT, 0,
                 "pad: pads (-2, -1) leave axis 1 of f32[2,3] with 0 elements");
    expect_error(2, s23, 2, (const int64_t[]){INT64_MAX, 0}, NB_PAD_CONSTANT, 0,
                 "pad: pads (9223372036854775807, 0) of axis 1 of f32[2,3] are too large");
    /* integers: pad takes floats */
    nb_graph *g = nb_graph_new();
    nb_node *i = nb_input(g, "i", NB_I32, 1, (const int64_t[]){3});
    assert_null(nb_pad(g, i, 2, (const int64_t[]){1, 1}, NB_PAD_CONSTANT, 0));
    assert_string_equal(nb_graph_error(g), "pad: expected f32 or f64 operands, got i32[3]");
    nb_graph_free(g);
    assert_null(nb_pad(NULL, NULL, 0, NULL, NB_PAD_CONSTANT, 0));
    g = nb_graph_new();
    assert_null(nb_pad(g, NULL, 0, NULL, NB_PAD_CONSTANT, 0));
    assert_string_equal(nb_graph_error(g), "pad: operand 0 is NULL");
    nb_graph_free(g);
    /* The graph format checks what the builder checks. */
    static const char *const bad[][2] = {
        {"nabla-graph 1\n%0 = input f32[2,3]\n%1 = pad f32[2,5] (%0) pad_lo=[0,1] pad_hi=[1] "
         "mode=constant value=0\n",
         "expected 2 entries like the other list of the pad, got 1"},
        {"nabla-graph 1\n%0 = input f32[2,3]\n%1 = pad f32[2,5] (%0) pad_lo=[0,1] pad_hi=[0,1] "
         "mode=mirror value=0\n",
         "a pad mode (constant, reflect)"},
        {"nabla-graph 1\n%0 = input f32[2,3]\n%1 = pad f32[2,9] (%0) pad_lo=[0,3] pad_hi=[0,3] "
         "mode=reflect value=0\n",
         "must be less than its size 3"},
        {"nabla-graph 1\n%0 = input f32[2,3]\n%1 = pad f32[5] (%0) pad_lo=[1] pad_hi=[1] "
         "mode=constant value=0\n",
         "pad: 1 axes of pads for f32[2,3]"},
        {"nabla-graph 1\n%0 = input f32[2,5]\n%1 = pad_reflect_grad f32[2,3] (%0) pad_lo=[0,1] "
         "pad_hi=[0,1] mode=constant\n",
         "the mode must be reflect"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        char err[512];
        assert_null(nb_graph_parse(bad[k][0], strlen(bad[k][0]), NULL, err, sizeof err));
        if (!strstr(err, bad[k][1]))
            fail_msg("error '%s' lacks '%s'", err, bad[k][1]);
    }
}

/* Pads that differ only in their pads, and a cumsum next to its reversed twin, are
 * different nodes to the compiler's merging of equal nodes (all attributes compared). */
static void test_not_merged(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F64, 1, (const int64_t[]){2});
    nb_node *outs[] = {nb_pad(g, x, 2, (const int64_t[]){1, 0}, NB_PAD_CONSTANT, 0.0),
                       nb_pad(g, x, 2, (const int64_t[]){0, 1}, NB_PAD_CONSTANT, 0.0),
                       nb_pad(g, x, 2, (const int64_t[]){1, 0}, NB_PAD_REFLECT, 0.0),
                       nb_cumsum(g, x, 0), NULL};
    /* The gradient of sum(cumsum(x) * x) holds the reversed cumsum of x itself. */
    assert_int_equal(nb_grad(g, nb_sum(g, nb_mul(g, outs[3], x), NULL, 0, 0), &x, 1, &outs[4]), 0);
    const double xv[2] = {3, 5};
    nb_program *p = compile_run(g, outs, 5, NB_BACKEND_TCC, xv);
    expect_values(p, 0, (const double[]){0, 3, 5}, 3, "pad (1, 0)");
    expect_values(p, 1, (const double[]){3, 5, 0}, 3, "pad (0, 1)");
    expect_values(p, 2, (const double[]){5, 3, 5}, 3, "reflect (1, 0)");
    expect_values(p, 3, (const double[]){3, 8}, 2, "cumsum");
    /* cumsum(x) + reversed cumsum(x): [3 + 8, 8 + 5] (d/dx of x0^2 + x0 x1 + x1^2) */
    expect_values(p, 4, (const double[]){11, 13}, 2, "gradient");
    nb_program_free(p);
    nb_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_values),
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_not_merged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
