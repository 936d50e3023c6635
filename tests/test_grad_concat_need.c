/* test_grad_concat_need.c — the gradient of a concat of more than 32 distinct operands
 * (40 and 100) of which only some need a gradient, and the gradient of that gradient.
 * Autodiff once told a rule which operands need gradients with a 32-bit mask, and the
 * concat rule built a slice for every operand past the 32nd; it also built one for an
 * operand behind stop_gradient. The rule must build exactly one slice per operand that
 * needs a gradient, and every gradient must be right.
 *
 * Operand i is x_i of f64[2], of kind i % 4:
 *   0: an input, differentiated;           1: an input, not differentiated;
 *   2: stop_gradient(p_i) with p_i a parameter, differentiated (its gradient is zero);
 *   3: a parameter, not differentiated.
 * Values: x_i = {i + 1, i / 2 - 3}; weights w[j] = j % 7 + 1 along y = concat(x_0..);
 * l = sum(w * y * y), s = sum over the kind-0 operands of sum(dl/dx_i). By hand:
 *   dl/dx_i[k] = 2 w[2i + k] x_i[k]  and  ds/dx_i[k] = 2 w[2i + k]  for kind 0,
 *   dl/dp_i = ds/dp_i = 0  for kind 2.
 * Every value is an integer or a half far below 2^53: f64 holds them exactly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "ir.h"

#define MAX_OPERANDS 100
#define NAME_SIZE 16

enum { KIND_WANTED, KIND_INPUT, KIND_STOPPED, KIND_PARAM, KIND_COUNT };

static double value(int i, int k)
{
    return k == 0 ? i + 1.0 : 0.5 * i - 3.0;
}

static double weight(int j)
{
    return j % 7 + 1.0;
}

/* How many slice nodes g holds from id `from` on. */
static int count_slices(const nb_graph *g, int from)
{
    int count = 0;
    for (int id = from; id < g->n_nodes; id++)
        count += g->nodes[id]->op == IR_OP_SLICE;
    return count;
}

static void check(int n)
{
    const int64_t s2[] = {2};
    char name[NAME_SIZE];
    nb_node *ops[MAX_OPERANDS], *xs[MAX_OPERANDS], *d1[MAX_OPERANDS], *d2[MAX_OPERANDS];
    int which[MAX_OPERANDS], n_xs = 0, n_wanted = 0;
    double w[2 * MAX_OPERANDS];
    nb_graph *g = nb_graph_new();
    assert_non_null(g);
    for (int i = 0; i < n; i++) {
        int kind = i % KIND_COUNT;
        snprintf(name, sizeof name, "x%d", i);
        if (kind == KIND_WANTED || kind == KIND_INPUT)
            ops[i] = nb_input(g, name, NB_F64, 1, s2);
        else
            ops[i] = nb_param(g, name, NB_F64, 1, s2);
        if (kind == KIND_WANTED || kind == KIND_STOPPED) {
            which[n_xs] = i;
            xs[n_xs++] = ops[i];
        }
        if (kind == KIND_STOPPED)
            ops[i] = nb_stop_gradient(g, ops[i]);
        n_wanted += kind == KIND_WANTED;
    }
    for (int j = 0; j < 2 * n; j++)
        w[j] = weight(j);
    nb_node *y = nb_concat(g, ops, n, 0);
    nb_node *wc = nb_constant(g, NB_F64, 1, (int64_t[]){2 * n}, w);
    nb_node *l = nb_sum(g, nb_mul(g, nb_mul(g, wc, y), y), NULL, 0, 0);

    int before = g->n_nodes;
    assert_int_equal(nb_grad(g, l, xs, n_xs, d1), 0);
    /* One slice of dl/dy per differentiated operand, none for the others. */
    assert_int_equal(count_slices(g, before), n_wanted);

    nb_node *s = NULL;
    for (int k = 0; k < n_xs; k++) {
        if (which[k] % KIND_COUNT != KIND_WANTED)
            continue;
        nb_node *part = nb_sum(g, d1[k], NULL, 0, 0);
        s = s ? nb_add(g, s, part) : part;
    }
    before = g->n_nodes;
    assert_int_equal(nb_grad(g, s, xs, n_xs, d2), 0);
    /* The second pass meets the concat again, with the same operands needing one. */
    assert_int_equal(count_slices(g, before), n_wanted);
    if (nb_graph_error(g))
        fail_msg("n = %d: %s", n, nb_graph_error(g));

    nb_node *outs[2 * MAX_OPERANDS];
    for (int k = 0; k < n_xs; k++) {
        outs[k] = d1[k];
        outs[n_xs + k] = d2[k];
    }
    nb_compile_options opt = {.outputs = outs, .n_outputs = 2 * n_xs};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("n = %d: %s", n, nb_graph_error(g));
    /* Inputs are bound by address: their values must outlive the run. */
    double *vals = malloc(2 * (size_t)n * sizeof *vals);
    assert_non_null(vals);
    for (int i = 0; i < n; i++) {
        int kind = i % KIND_COUNT;
        vals[2 * i] = value(i, 0);
        vals[2 * i + 1] = value(i, 1);
        snprintf(name, sizeof name, "x%d", i);
        if (kind == KIND_WANTED || kind == KIND_INPUT)
            assert_int_equal(nb_program_bind(p, name, vals + 2 * i), 0);
        else
            assert_int_equal(nb_program_set_param(p, name, vals + 2 * i, 2 * sizeof *vals), 0);
    }
    if (nb_program_run(p) != 0)
        fail_msg("n = %d: %s", n, nb_program_error(p));
    for (int k = 0; k < n_xs; k++) {
        int i = which[k], wanted = i % KIND_COUNT == KIND_WANTED;
        const double *g1 = nb_program_output(p, k), *g2 = nb_program_output(p, n_xs + k);
        for (int e = 0; e < 2; e++) {
            double e1 = wanted ? 2 * weight(2 * i + e) * value(i, e) : 0.0;
            double e2 = wanted ? 2 * weight(2 * i + e) : 0.0;
            if (g1[e] != e1 || g2[e] != e2)
                fail_msg("n = %d, operand %d[%d]: dl/dx = %.17g, ds/dx = %.17g; expected %.17g, "
                         "%.17g",
                         n, i, e, g1[e], g2[e], e1, e2);
        }
    }
    free(vals);
    nb_program_free(p);
    nb_graph_free(g);
}

static void test_40_operands(void **state)
{
    (void)state;
    check(40);
}

static void test_100_operands(void **state)
{
    (void)state;
    check(100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_40_operands),
        cmocka_unit_test(test_100_operands),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
