/* test_compile_work.c — compile work grows in proportion to the graph (white-box): the
 * passes count their steps (ir_work), and this test checks steps per node at two sizes
 * against small fixed bounds. No clock is read. Before the fixes, CSE probed runs of
 * the hash table as long as the graph (its hash left the low bits of consecutive ids
 * and of constants like 1.5 nearly equal, and ignored attributes), and fusion scanned
 * every id down to the lowest operand of each kernel: steps per node then grew with
 * the graph, into the thousands at these sizes. The arena plan scanned every live
 * block for each result; a training step keeps its forward results live. The
 * optimizer builders look every state name up in the graph's leaf name index (they
 * scanned the graph once per name before): the probes per lookup are bounded too. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "cg.h"
#include "ir.h"

/* Linear probing at load <= 1/2 compares about 1.5 slots per lookup; fusion visits
 * each operand edge of a kernel a bounded number of times. Both bounds leave room. */
#define MAX_PROBES_PER_NODE 4.0
#define MAX_FUSE_STEPS_PER_NODE 8.0
/* The treap of live blocks: a placement or a release walks its depth a few times, and
 * results of elementwise chains share kernels, so about 0.5 steps per node and log2 of
 * the node count are measured; the old scan of every live block measured 52 at 24,007
 * nodes. Greedy by size, where it runs, adds its sweep and the neighbours it visits:
 * 0.6-0.8 on a forward chain. */
#define MAX_ARENA_STEPS_PER_LOG 4.0
/* Adam looks up 11 names per parameter in the leaf name index (ir_leaf_find and
 * ir_leaf_index): the parameter's own name when it is made (is it taken? then insert),
 * each of its three state names when checked, then each again when made. Linear
 * probing at load <= 1/2 compares about 1.5 slots per lookup; the bound leaves room.
 * A hash that left names such as "layer123.weight.exp_avg" in one run of slots
 * compares thousands per parameter at these sizes. */
#define NAME_LOOKUPS_PER_ADAM_PARAM 11
#define MAX_LEAF_PROBES_PER_LOOKUP 4.0

/* acc = acc + e * c_i over `terms` terms, e = exp(x) (an elementwise node read by
 * every term), c_i distinct scalars with their low mantissa bits zero; then d acc/dx.
 * Slices of x at every offset join in, to differ only in their attributes. */
static nb_graph *build(int terms, nb_node **outs)
{
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 1, (int64_t[]){terms});
    nb_node *v = nb_input(g, "v", NB_F32, 1, (int64_t[]){1});
    nb_node *e = nb_exp(g, v);
    nb_node *acc = v;
    for (int i = 0; i < terms; i++) {
        int64_t start = i, stop = i + 1;
        nb_node *s = nb_slice(g, x, &start, &stop, NULL);
        double c = 1.0 + (i % 1000 + 1) / 1024.0 + i / 1000;
        acc = nb_add(g, acc, nb_mul(g, nb_mul(g, e, s), nb_scalar(g, NB_F32, c)));
    }
    outs[0] = nb_sum(g, acc, NULL, 0, 0);
    nb_node *xs[2] = {x, v};
    assert_int_equal(nb_grad(g, outs[0], xs, 2, &outs[1]), 0);
    return g;
}

static void check_size(int terms)
{
    nb_node *outs[3];
    nb_graph *g = build(terms, outs);
    ir_node *mapped[3];
    ir_work_counts before = ir_work;
    ir_graph *s = ir_simplify(g, outs, 3, mapped);
    assert_non_null(s);
    double probes = (double)(ir_work.cse_probes - before.cse_probes) / g->n_nodes;
    cg_request rq = {.outputs = mapped, .n_outputs = 3, .rt_link = CG_RT_LINK_SYMBOLS};
    cg_program p;
    before = ir_work;
    assert_int_equal(cg_generate(s, &rq, &p), 0);
    double fuse = (double)(ir_work.fuse_steps - before.fuse_steps) / s->n_nodes;
    print_message("%d nodes: %.2f probes per node, %.2f fusion steps per node\n", g->n_nodes,
                  probes, fuse);
    /* Bounded above, and not zero: a counter that stopped counting would pass. */
    assert_true(probes > 0 && probes <= MAX_PROBES_PER_NODE);
    assert_true(fuse >= 1 && fuse <= MAX_FUSE_STEPS_PER_NODE);
    cg_program_free(&p);
    ir_graph_free(s);
    nb_graph_free(g);
}

/* A training step: h = tanh(h * w_i) through `layers` parameters, the gradient of
 * sum(h) and an SGD update of each: every tanh is live until the backward pass. */
static void check_deep(int layers)
{
    nb_graph *g = nb_graph_new();
    nb_node *h = nb_input(g, "x", NB_F32, 1, (int64_t[]){4});
    nb_node *lr = nb_input(g, "lr", NB_F32, 0, NULL);
    nb_node **ps = malloc((size_t)layers * sizeof *ps), **gs = malloc((size_t)layers * sizeof *gs);
    nb_update *u = malloc((size_t)layers * NB_SGD_UPDATES_PER_PARAM * sizeof *u);
    assert_true(ps && gs && u);
    for (int i = 0; i < layers; i++) {
        char name[32];
        snprintf(name, sizeof name, "w%d", i);
        ps[i] = nb_param(g, name, NB_F32, 1, (int64_t[]){4});
        h = nb_tanh(g, nb_mul(g, h, ps[i]));
    }
    nb_node *loss = nb_sum(g, h, NULL, 0, 0);
    assert_int_equal(nb_grad(g, loss, ps, layers, gs), 0);
    int nu = nb_sgd(g, lr, ps, gs, layers, NULL, u, layers * NB_SGD_UPDATES_PER_PARAM);
    assert_int_equal(nu, layers);
    ir_work_counts before = ir_work;
    nb_compile_options opt = {.outputs = &loss, .n_outputs = 1, .updates = u, .n_updates = nu};
    nb_program *p = nb_compile(g, &opt);
    assert_non_null(p);
    /* One block per kernel output at most: bounded by the node count. */
    double per_log =
        (double)(ir_work.arena_steps - before.arena_steps) / g->n_nodes / log2((double)g->n_nodes);
    print_message("%d nodes: %.2f arena steps per node per log2(nodes)\n", g->n_nodes, per_log);
    assert_true(per_log > 0 && per_log <= MAX_ARENA_STEPS_PER_LOG);
    nb_program_free(p);
    nb_graph_free(g);
    free(ps);
    free(gs);
    free(u);
}

/* Parameters named like a real model's, their gradients and an Adam step: the name
 * lookups (each parameter, then its state names "<name>.exp_avg", ".exp_avg_sq",
 * ".step") cost a bounded number of probes per lookup at 300 and at 3,000 parameters. */
static void check_adam_names(int n)
{
    nb_graph *g = nb_graph_new();
    nb_node *lr = nb_input(g, "lr", NB_F32, 0, NULL);
    nb_node **ps = malloc((size_t)n * sizeof *ps), **gs = malloc((size_t)n * sizeof *gs);
    nb_update *u = malloc((size_t)n * NB_ADAM_UPDATES_PER_PARAM * sizeof *u);
    assert_true(ps && gs && u);
    ir_work_counts before = ir_work;
    for (int i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "layer%d.weight", i);
        ps[i] = nb_param(g, name, NB_F32, 0, NULL);
        gs[i] = ps[i]; /* any node of the parameter's type will do as its gradient */
    }
    int nu = nb_adam(g, lr, ps, gs, n, NULL, u, n * NB_ADAM_UPDATES_PER_PARAM);
    assert_int_equal(nu, n * 4);
    double per_lookup =
        (double)(ir_work.leaf_probes - before.leaf_probes) / n / NAME_LOOKUPS_PER_ADAM_PARAM;
    print_message("%d parameters: %.2f name probes per lookup\n", n, per_lookup);
    assert_true(per_lookup > 0 && per_lookup <= MAX_LEAF_PROBES_PER_LOOKUP);
    nb_graph_free(g);
    free(ps);
    free(gs);
    free(u);
}

/* A forward chain h = x * sum(exp(h)) of `layers` layers: each result overlaps only its
 * neighbours' lives, so greedy by size runs (cg_arena.c) besides first fit, and its
 * sweep and placement must stay within the same bound per node. */
static void check_forward(int layers)
{
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 1, (int64_t[]){64});
    nb_node *h = x;
    for (int i = 0; i < layers; i++)
        h = nb_mul(g, x, nb_sum(g, nb_exp(g, h), NULL, 0, 0));
    ir_node *mapped[1];
    ir_graph *s = ir_simplify(g, &h, 1, mapped);
    assert_non_null(s);
    cg_request rq = {
        .outputs = mapped, .n_outputs = 1, .rt_link = CG_RT_LINK_SYMBOLS, .keep_plan = 1};
    cg_program p;
    ir_work_counts before = ir_work;
    assert_int_equal(cg_generate(s, &rq, &p), 0);
    double per_log =
        (double)(ir_work.arena_steps - before.arena_steps) / g->n_nodes / log2((double)g->n_nodes);
    print_message("forward chain, %d nodes: %.2f arena steps per node per log2(nodes)\n",
                  g->n_nodes, per_log);
    assert_true(per_log > 0 && per_log <= MAX_ARENA_STEPS_PER_LOG);
    cg_program_free(&p);
    ir_graph_free(s);
    nb_graph_free(g);
}

static void test_steps_per_node(void **state)
{
    (void)state;
    check_size(500);
    check_size(4000);
    check_deep(100);
    check_deep(2000);
    check_adam_names(300);
    check_adam_names(3000);
    check_forward(500);
    check_forward(8000);
}

/* The name index of leaves (ir_leaf_find) still finds every taken name after growing:
 * a duplicate among 3,000 parameters is reported with the node that holds the name;
 * an input may share a parameter's name (names are unique per kind). */
static void test_leaf_names(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *first = NULL;
    for (int i = 0; i < 3000; i++) {
        char name[32];
        snprintf(name, sizeof name, "w%d", i);
        nb_node *p = nb_param(g, name, NB_F32, 0, NULL);
        assert_non_null(p);
        if (i == 1234)
            first = p;
    }
    assert_non_null(nb_input(g, "w1234", NB_F32, 0, NULL));
    assert_null(nb_graph_error(g));
    assert_null(nb_param(g, "w1234", NB_F32, 0, NULL));
    char want[96];
    snprintf(want, sizeof want, "param: the name 'w1234' is already taken by node %d",
             nb_node_id(first));
    assert_string_equal(nb_graph_error(g), want);
    nb_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steps_per_node),
        cmocka_unit_test(test_leaf_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
