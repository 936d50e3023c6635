/* test_concat_many.c — concat of one node listed many times (100 and 1,000 operands),
 * and its gradient, compiled on both backends: right numbers or a clear error, never a
 * crash. ir_simplify once sized its operand buffer by the node count and wrote past it.
 *
 * Expected values, by hand: x = {1.5, -2}, y = concat(x, ..., x) (n copies), w[i] = i,
 * l = sum(y * w). Then y[2k] = 1.5, y[2k + 1] = -2;
 * dl/dx[0] = sum_k w[2k] = n(n - 1), dl/dx[1] = sum_k w[2k + 1] = n^2;
 * l = sum_k 1.5 * 2k - 2 * (2k + 1) = 1.5 n(n - 1) - 2 n^2.
 * Every partial sum is an integer or a half below 2^24, so f32 holds them exactly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "ir.h"
#include "tmpdir.h"

/* Builds the graph for n copies; outs = {y, l, dl/dx} (only y when !with_grad). */
static nb_graph *build(int n, int with_grad, nb_node **outs)
{
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 1, (int64_t[]){2});
    nb_node **xs = malloc((size_t)n * sizeof *xs);
    double *w = malloc(2 * (size_t)n * sizeof *w);
    assert_non_null(xs);
    assert_non_null(w);
    for (int i = 0; i < n; i++)
        xs[i] = x;
    for (int i = 0; i < 2 * n; i++)
        w[i] = i;
    outs[0] = nb_concat(g, xs, n, 0);
    if (with_grad) {
        nb_node *wc = nb_constant(g, NB_F32, 1, (int64_t[]){2 * n}, w);
        outs[1] = nb_sum(g, nb_mul(g, outs[0], wc), NULL, 0, 0);
        assert_int_equal(nb_grad(g, outs[1], &x, 1, &outs[2]), 0);
    }
    free(xs);
    free(w);
    assert_null(nb_graph_error(g));
    return g;
}

static void check(int n, int with_grad, nb_backend backend)
{
    nb_node *outs[3];
    nb_graph *g = build(n, with_grad, outs);
    nb_compile_options opt = {.outputs = outs, .n_outputs = with_grad ? 3 : 1, .backend = backend};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("n = %d, backend %d: %s", n, (int)backend, nb_graph_error(g));
    float x[2] = {1.5f, -2.0f};
    assert_int_equal(nb_program_bind(p, "x", x), 0);
    assert_int_equal(nb_program_run(p), 0);
    const float *y = nb_program_output(p, 0);
    assert_int_equal(nb_program_output_numel(p, 0), 2 * n);
    for (int k = 0; k < n; k++) {
        assert_true(y[2 * k] == 1.5f);
        assert_true(y[2 * k + 1] == -2.0f);
    }
    if (with_grad) {
        double nn = n;
        const float *l = nb_program_output(p, 1), *dx = nb_program_output(p, 2);
        assert_true(*l == (float)(1.5 * nn * (nn - 1) - 2 * nn * nn));
        assert_true(dx[0] == (float)(nn * (nn - 1)));
        assert_true(dx[1] == (float)(nn * nn));
    }
    nb_program_free(p);
    nb_graph_free(g);
}

/* The case: simplify the concat of 100 and of 1,000 copies (white-box): one
 * concat of the one input survives, its operands all that input. */
static void test_simplify(void **state)
{
    (void)state;
    int sizes[2] = {100, 1000};
    for (int s = 0; s < 2; s++) {
        nb_node *outs[3];
        nb_graph *g = build(sizes[s], 0, outs);
        ir_node *out;
        ir_graph *s2 = ir_simplify(g, outs, 1, &out);
        assert_non_null(s2);
        assert_int_equal(s2->n_nodes, 2);
        assert_int_equal(out->op, IR_OP_CONCAT);
        assert_int_equal(out->n_in, sizes[s]);
        for (int i = 0; i < sizes[s]; i++)
            assert_ptr_equal(out->in[i], s2->nodes[0]);
        ir_graph_free(s2);
        nb_graph_free(g);
    }
}

static void test_tcc(void **state)
{
    (void)state;
    check(100, 0, NB_BACKEND_TCC);
    check(100, 1, NB_BACKEND_TCC);
    check(1000, 0, NB_BACKEND_TCC);
    check(1000, 1, NB_BACKEND_TCC);
}

/* gcc takes tens of seconds on the 1,000-operand gradient (a thousand slice kernels at
 * -O3), so the cc backend checks it at 100 only. */
static void test_cc(void **state)
{
    (void)state;
    check(100, 0, NB_BACKEND_CC);
    check(100, 1, NB_BACKEND_CC);
    check(1000, 0, NB_BACKEND_CC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simplify),
        cmocka_unit_test(test_tcc),
        cmocka_unit_test(test_cc),
    };
    return cmocka_run_group_tests(tests, tu_cc_cache_setup, tu_cc_cache_teardown);
}
