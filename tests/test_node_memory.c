/* test_node_memory.c — white-box tests of how nodes sit in memory and of the text
 * appends the code generator leans on: nodes from blocks of their graph (more nodes
 * than a block holds, operand lists longer than the inline ones, the slot of a dropped
 * node used again), decimal integers and types written without printf, and the plan's
 * interned types. The expected values are written out by hand. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cg.h"
#include "ir.h"

/* More nodes than several blocks hold, each reading the one before: every node keeps
 * its id, its operands and its place (a node's address never changes). */
static void test_many_nodes_keep_their_operands(void **state)
{
    (void)state;
    enum { CHAIN = 3000 };
    ir_graph *g = ir_graph_new();
    ir_node *x = ir_node_new(g, IR_OP_INPUT, NULL, 0, NULL);
    assert_non_null(x);
    ir_node **made = malloc(CHAIN * sizeof *made);
    assert_non_null(made);
    ir_node *acc = x;
    for (int i = 0; i < CHAIN; i++)
        acc = made[i] = ir_node_new(g, IR_OP_NEG, &acc, 1, NULL);
    assert_null(g->error);
    assert_int_equal(g->n_nodes, CHAIN + 1);
    for (int i = 0; i < CHAIN; i++) {
        assert_ptr_equal(g->nodes[i + 1], made[i]);
        assert_int_equal(made[i]->id, i + 1);
        assert_int_equal(made[i]->n_in, 1);
        assert_ptr_equal(made[i]->in[0], i ? made[i - 1] : x);
    }
    free(made);
    ir_graph_free(g);
}

/* An operand list longer than the node holds inline is a list of its own, in order. */
static void test_long_operand_list(void **state)
{
    (void)state;
    const int64_t s[] = {2};
    nb_graph *g = nb_graph_new();
    nb_node *in[5];
    for (int i = 0; i < 5; i++) {
        char name[] = "x0";
        name[1] = (char)('0' + i);
        in[i] = nb_input(g, name, NB_F32, 1, s);
    }
    nb_node *c = nb_concat(g, in, 5, 0);
    assert_null(nb_graph_error(g));
    assert_true(5 > IR_NODE_SMALL_IN);
    assert_int_equal(c->n_in, 5);
    for (int i = 0; i < 5; i++)
        assert_ptr_equal(c->in[i], in[i]);
    assert_int_equal(c->shape[0], 10);
    nb_graph_free(g);
}

/* A node the shape rule rejects leaves no trace: the next node takes its slot and the
 * id it would have had. */
static void test_rejected_node_slot_is_used_again(void **state)
{
    (void)state;
    const int64_t s2[] = {2}, s3[] = {3};
    nb_graph *g = nb_graph_new();
    nb_node *a = nb_input(g, "a", NB_F32, 1, s2), *b = nb_input(g, "b", NB_F32, 1, s3);
    ir_node *in[2] = {a, b};
    /* [2] + [3] does not broadcast: rejected; a scratch graph forgets the error. */
    assert_null(ir_node_new(g, IR_OP_ADD, in, 2, NULL));
    assert_non_null(nb_graph_error(g));
    ir_error_clear(g);
    in[1] = a;
    ir_node *sum = ir_node_new(g, IR_OP_ADD, in, 2, NULL);
    assert_non_null(sum);
    assert_int_equal(sum->id, 2);
    assert_ptr_equal(sum, (const char *)b + ((const char *)b - (const char *)a));
    nb_graph_free(g);
}

/* Equal nodes merged by CSE give their slots back; the simplified graph still has
 * every node it needs, with the right operands. x*2 + x*2: the second product is the
 * first. */
static void test_cse_duplicate_dropped(void **state)
{
    (void)state;
    const int64_t s[] = {3};
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 1, s);
    nb_node *p = nb_mul(g, x, nb_scalar(g, NB_F32, 2));
    nb_node *q = nb_mul(g, x, nb_scalar(g, NB_F32, 2));
    nb_node *y = nb_add(g, p, q);
    ir_node *out;
    ir_graph *s2 = ir_simplify(g, &y, 1, &out);
    assert_non_null(s2);
    /* x, 2, x*2, add */
    assert_int_equal(s2->n_nodes, 4);
    assert_int_equal(out->op, IR_OP_ADD);
    assert_ptr_equal(out->in[0], out->in[1]);
    assert_int_equal(out->in[0]->op, IR_OP_MUL);
    ir_graph_free(s2);
    nb_graph_free(g);
}

static void expect_int(long long v, const char *want)
{
    char buf[IR_INT_STR_MAX];
    size_t len = ir_int_str(v, buf);
    assert_string_equal(buf, want);
    assert_int_equal(len, strlen(want));
}

/* The two-digits-at-a-time writer at every number of digits and at the extremes. */
static void test_int_str(void **state)
{
    (void)state;
    expect_int(0, "0");
    expect_int(7, "7");
    expect_int(10, "10");
    expect_int(99, "99");
    expect_int(100, "100");
    expect_int(-5, "-5");
    expect_int(-100, "-100");
    expect_int(1234567, "1234567");
    expect_int(10203, "10203");
    expect_int(LLONG_MAX, "9223372036854775807");
    expect_int(LLONG_MIN, "-9223372036854775808");
    ir_text t = {0};
    ir_text_int(&t, -42);
    ir_text_putc(&t, ' ');
    ir_text_int(&t, 1000000);
    assert_false(t.failed);
    assert_string_equal(t.buf, "-42 1000000");
    free(t.buf);
}

static void test_text_type(void **state)
{
    (void)state;
    const int64_t s[NB_MAX_RANK] = {2, 30, 400, 1, 5, 6, 7, 12345678901LL};
    ir_text t = {0};
    ir_text_type(&t, NB_F32, 0, s);
    ir_text_putc(&t, ' ');
    ir_text_type(&t, NB_BOOL, 2, s);
    ir_text_putc(&t, ' ');
    ir_text_type(&t, NB_I32, NB_MAX_RANK, s);
    assert_false(t.failed);
    assert_string_equal(t.buf, "f32[] bool[2,30] i32[2,30,400,1,5,6,7,12345678901]");
    free(t.buf);
}

/* The plan interns types: nodes of one dtype and shape share an index, whose text is
 * the type; a different dtype of the same shape is a different type. */
static void test_plan_types(void **state)
{
    (void)state;
    const int64_t s[] = {2, 3};
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 2, s);
    nb_node *y = nb_exp(g, x);
    nb_node *z = nb_cast(g, y, NB_F64);
    assert_null(nb_graph_error(g));
    ir_node *outs[2] = {y, z};
    cg_request rq = {.outputs = outs, .n_outputs = 2};
    cg_plan pl;
    assert_int_equal(cg_plan_build(g, &rq, &pl), 0);
    const cg_node_plan *nx = &pl.nodes[x->id], *ny = &pl.nodes[y->id], *nz = &pl.nodes[z->id];
    assert_int_equal(nx->type, ny->type);
    assert_int_not_equal(nx->type, nz->type);
    assert_int_equal(pl.n_types, 2);
    const cg_type *tx = &pl.types[nx->type], *tz = &pl.types[nz->type];
    assert_int_equal((int)tx->len, 8);
    assert_memory_equal(pl.type_text.buf + tx->at, "f32[2,3]", 8);
    assert_memory_equal(pl.type_text.buf + tz->at, "f64[2,3]", 8);
    /* The operand ids the passes read instead of the nodes. */
    assert_int_equal(nz->n_in, 1);
    assert_int_equal(pl.operands[nz->in_at], y->id);
    assert_int_equal(nz->origin, z->origin);
    cg_plan_free(&pl);
    nb_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_nodes_keep_their_operands),
        cmocka_unit_test(test_long_operand_list),
        cmocka_unit_test(test_rejected_node_slot_is_used_again),
        cmocka_unit_test(test_cse_duplicate_dropped),
        cmocka_unit_test(test_int_str),
        cmocka_unit_test(test_text_type),
        cmocka_unit_test(test_plan_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
