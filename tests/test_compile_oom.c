/* test_compile_oom.c — nb_compile with the k-th allocation failing, for every k: each
 * failure is reported as "out of memory" and, under `make sanitize`, leaks nothing. The
 * graph covers the planning structures of the compile passes: a wide concat (its
 * operand array), fused elementwise kernels, parameters updated in place by Adam, the
 * memory plan. An elementwise kernel whose emitter failed on its own once left its text
 * buffer behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ir.h"

#define LAYERS 3
#define COPIES 100

typedef struct model {
    nb_graph *g;
    nb_node *loss;
    nb_update updates[LAYERS * NB_ADAM_UPDATES_PER_PARAM];
    int n_updates;
} model;

static void build(model *m)
{
    nb_graph *g = m->g = nb_graph_new();
    nb_node *h = nb_input(g, "x", NB_F32, 1, (int64_t[]){4});
    nb_node *lr = nb_input(g, "lr", NB_F32, 0, NULL);
    nb_node *xs[COPIES], *ps[LAYERS], *gs[LAYERS];
    for (int i = 0; i < COPIES; i++)
        xs[i] = h;
    nb_node *c = nb_concat(g, xs, COPIES, 0);
    for (int i = 0; i < LAYERS; i++) {
        char name[16];
        snprintf(name, sizeof name, "w%d", i);
        ps[i] = nb_param(g, name, NB_F32, 1, (int64_t[]){4});
        h = nb_tanh(g, nb_mul(g, h, ps[i]));
    }
    m->loss = nb_add(g, nb_sum(g, h, NULL, 0, 0), nb_sum(g, nb_mul(g, c, c), NULL, 0, 0));
    assert_int_equal(nb_grad(g, m->loss, ps, LAYERS, gs), 0);
    m->n_updates =
        nb_adam(g, lr, ps, gs, LAYERS, NULL, m->updates, LAYERS * NB_ADAM_UPDATES_PER_PARAM);
    assert_true(m->n_updates > 0);
    assert_null(nb_graph_error(g));
}

static void test_every_allocation_fails_once(void **state)
{
    (void)state;
    int failed = 1;
    long k;
    for (k = 1; failed; k++) {
        model m;
        build(&m);
        nb_compile_options opt = {
            .outputs = &m.loss, .n_outputs = 1, .updates = m.updates, .n_updates = m.n_updates};
        ir_alloc_fail_from(k); /* also zeroes the count of failures */
        nb_program *p = nb_compile(m.g, &opt);
        failed = ir_alloc_failures() > 0;
        ir_alloc_fail_from(0);
        if (failed) {
            assert_null(p);
            assert_non_null(strstr(nb_graph_error(m.g), "out of memory"));
        } else {
            assert_non_null(p);
        }
        nb_program_free(p);
        nb_graph_free(m.g);
    }
    print_message("%ld allocations of nb_compile failed in turn\n", k - 2);
    assert_true(k > 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_allocation_fails_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
