/* test_ir.c — white-box tests of ir/: the printer's format, the verifier (accepts built,
 * differentiated and simplified graphs; rejects graphs corrupted by hand) and the
 * broadcasting shape rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ir.h"

static void verify_ok(const ir_graph *g)
{
    char msg[512];
    if (ir_verify(g, msg, sizeof msg) != 0)
        fail_msg("verifier rejects a valid graph: %s", msg);
}

static void verify_fails(const ir_graph *g, const char *want)
{
    char msg[512] = "";
    assert_int_equal(ir_verify(g, msg, sizeof msg), -1);
    if (!strstr(msg, want))
        fail_msg("verifier message '%s' does not mention '%s'", msg, want);
}

static void test_printer_format(void **state)
{
    (void)state;
    const int64_t s23[] = {2, 3}, s3[] = {3};
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 2, s23);
    nb_param(g, "w eird\n'*/", NB_F64, 1, s3);
    const int ax[] = {1};
    nb_node *y = nb_sum(g, nb_exp(g, x), ax, 1, 1);
    nb_name(g, y, "total");
    nb_node *z = nb_add(g, y, nb_scalar(g, NB_F32, 0.5));
    assert_non_null(z);
    char *text = nb_graph_print(g);
    assert_non_null(text);
    /* The text format of docs/graph-format.md, names escaped inside double quotes. */
    const char *want = "nabla-graph 1\n"
                       "%0 = input f32[2,3] name=\"x\"\n"
                       "%1 = param f64[3] kind=model name=\"w eird\\n'*/\"\n"
                       "%2 = exp f32[2,3] (%0)\n"
                       "%3 = sum f32[2,1] (%2) axes=[1] keepdim=1 name=\"total\"\n"
                       "%4 = const f32[] values={0.5}\n"
                       "%5 = add f32[2,1] (%3, %4)\n";
    assert_string_equal(text, want);
    free(text);
    /* One line per node, whatever the names hold. */
    text = nb_graph_print(g);
    int lines = 0;
    for (const char *s = text; *s; s++)
        lines += *s == '\n';
    assert_int_equal(lines, 1 + nb_graph_node_count(g));
    free(text);
    nb_graph_free(g);
}

static void test_escape_name(void **state)
{
    (void)state;
    char buf[64];
    assert_string_equal(ir_escape_name("a_b.c:d+e=f-g 9", buf, sizeof buf), "a_b.c:d+e=f-g 9");
    assert_string_equal(ir_escape_name("*/", buf, sizeof buf), "\\x2a\\x2f");
    assert_string_equal(ir_escape_name("\n\"\\", buf, sizeof buf), "\\x0a\\x22\\x5c");
    assert_string_equal(ir_escape_name("\xff", buf, sizeof buf), "\\xff");
    /* Truncates instead of overflowing a small buffer. */
    char small[8];
    ir_escape_name("**********", small, sizeof small);
    assert_true(strlen(small) < sizeof small);
}

/* A graph with broadcasting, reductions, a gradient and a gradient of a gradient. */
static nb_graph *sample_graph(nb_node **outs, int *n)
{
    const int64_t s23[] = {2, 3}, s3[] = {3};
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 2, s23);
    nb_node *w = nb_param(g, "w", NB_F32, 1, s3);
    nb_node *h = nb_sigmoid(g, nb_mul(g, x, w));
    nb_node *y = nb_mean(g, nb_log(g, nb_add(g, nb_exp(g, h), h)), NULL, 0, 0);
    nb_node *gw, *gx, *ggw;
    assert_int_equal(nb_grad(g, y, &w, 1, &gw), 0);
    assert_int_equal(nb_grad(g, nb_sum(g, nb_mul(g, gw, gw), NULL, 0, 0), &x, 1, &gx), 0);
    assert_int_equal(nb_grad(g, nb_sum(g, gx, NULL, 0, 0), &w, 1, &ggw), 0);
    outs[0] = y;
    outs[1] = gw;
    outs[2] = gx;
    outs[3] = ggw;
    *n = 4;
    assert_null(nb_graph_error(g));
    return g;
}

static void test_verify_accepts(void **state)
{
    (void)state;
    nb_node *outs[4], *simple_outs[4];
    int n;
    nb_graph *g = sample_graph(outs, &n);
    verify_ok(g);
    ir_graph *s = ir_simplify(g, outs, n, simple_outs);
    assert_non_null(s);
    verify_ok(s);
    ir_graph_free(s);
    nb_graph_free(g);

    nb_graph *empty = nb_graph_new();
    verify_ok(empty);
    nb_graph_free(empty);
}

static void test_verify_rejects(void **state)
{
    (void)state;
    nb_node *outs[4];
    int n;
    nb_graph *g = sample_graph(outs, &n);
    ir_node *mul = NULL, *add = NULL, *cst = NULL;
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *v = g->nodes[i];
        if (!mul && v->op == IR_OP_MUL)
            mul = v;
        if (!add && v->op == IR_OP_ADD)
            add = v;
        if (!cst && v->op == IR_OP_CONST)
            cst = v;
    }
    assert_non_null(mul);
    assert_non_null(add);
    assert_non_null(cst);

    /* A shape that disagrees with the shape rule. */
    int64_t saved = mul->shape[1];
    mul->shape[1] = 4;
    verify_fails(g, "shape");
    mul->shape[1] = saved;
    verify_ok(g);

    /* A dtype that disagrees. */
    mul->dtype = NB_F64;
    verify_fails(g, "dtype");
    mul->dtype = NB_F32;

    /* numel out of step with the shape. */
    mul->numel++;
    verify_fails(g, "shape");
    mul->numel--;

    /* An operand that is not an earlier node (a cycle). */
    ir_node *in0 = add->in[0];
    add->in[0] = g->nodes[g->n_nodes - 1];
    verify_fails(g, "operand 0");
    add->in[0] = in0;

    /* An operand from another graph. */
    nb_graph *h = nb_graph_new();
    const int64_t s23[] = {2, 3};
    ir_node *foreign = nb_input(h, "f", NB_F32, 2, s23);
    ir_node *mul_in1 = mul->in[1];
    mul->in[1] = foreign;
    verify_fails(g, "operand 1");
    mul->in[1] = mul_in1;
    nb_graph_free(h);

    /* Wrong arity. */
    add->n_in = 1;
    verify_fails(g, "arity");
    add->n_in = 2;

    /* An unknown op. */
    ir_op op = mul->op;
    mul->op = IR_OP_COUNT;
    verify_fails(g, "unknown");
    mul->op = op;

    /* A wrong id. */
    mul->id++;
    verify_fails(g, "id");
    mul->id--;

    /* A constant without data. */
    double *data = cst->data;
    cst->data = NULL;
    verify_fails(g, "constant");
    cst->data = data;

    verify_ok(g);
    nb_graph_free(g);
}

/* nb_add's shape for operands of the given shapes, or rank -1 when rejected. */
static int add_shape(int ra, const int64_t *a, int rb, const int64_t *b, int64_t *out)
{
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "a", NB_F32, ra, a);
    nb_node *y = nb_input(g, "b", NB_F32, rb, b);
    nb_node *z = nb_add(g, x, y);
    int rank = z ? nb_node_rank(z) : -1;
    if (z)
        memcpy(out, nb_node_shape(z), (size_t)rank * sizeof *out);
    else if (!strstr(nb_graph_error(g), "add") || !strstr(nb_graph_error(g), "broadcast"))
        fail_msg("unexpected message: %s", nb_graph_error(g));
    if (z)
        verify_ok(g);
    nb_graph_free(g);
    return rank;
}

static void test_broadcasting(void **state)
{
    (void)state;
    static const struct {
        int ra;
        int64_t a[8];
        int rb;
        int64_t b[8];
        int rz; /* -1: an error */
        int64_t z[8];
    } cases[] = {
        {2, {2, 3}, 1, {3}, 2, {2, 3}},
        {1, {3}, 2, {2, 3}, 2, {2, 3}},
        {2, {2, 1}, 2, {1, 4}, 2, {2, 4}},
        {3, {5, 1, 3}, 2, {4, 1}, 3, {5, 4, 3}},
        {0, {0}, 2, {2, 3}, 2, {2, 3}},
        {2, {2, 3}, 0, {0}, 2, {2, 3}},
        {0, {0}, 0, {0}, 0, {0}},
        {1, {1}, 1, {7}, 1, {7}},
        {3, {1, 1, 1}, 1, {6}, 3, {1, 1, 6}},
        {8, {2, 1, 2, 1, 2, 1, 2, 1}, 7, {3, 1, 3, 1, 3, 1, 3}, 8, {2, 3, 2, 3, 2, 3, 2, 3}},
        {2, {2, 3}, 1, {2}, -1, {0}},
        {2, {2, 3}, 2, {3, 3}, -1, {0}},
        {3, {4, 2, 3}, 3, {4, 3, 3}, -1, {0}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int64_t z[8] = {0};
        int r = add_shape(cases[i].ra, cases[i].a, cases[i].rb, cases[i].b, z);
        if (r != cases[i].rz)
            fail_msg("case %zu: rank %d, expected %d", i, r, cases[i].rz);
        for (int d = 0; d < r; d++)
            if (z[d] != cases[i].z[d])
                fail_msg("case %zu: axis %d is %lld, expected %lld", i, d, (long long)z[d],
                         (long long)cases[i].z[d]);
    }

    /* The error names both operand types and the axis. */
    const int64_t a[] = {2, 3}, b[] = {2};
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "a", NB_F32, 2, a), *y = nb_input(g, "b", NB_F32, 1, b);
    assert_null(nb_mul(g, x, y));
    const char *msg = nb_graph_error(g);
    assert_non_null(strstr(msg, "mul"));
    assert_non_null(strstr(msg, "f32[2,3]"));
    assert_non_null(strstr(msg, "f32[2]"));
    nb_graph_free(g);

    /* Mixed dtypes are an error, not a promotion. */
    g = nb_graph_new();
    x = nb_input(g, "a", NB_F32, 2, a);
    y = nb_input(g, "b", NB_F64, 2, a);
    assert_null(nb_sub(g, x, y));
    assert_non_null(strstr(nb_graph_error(g), "sub"));
    assert_non_null(strstr(nb_graph_error(g), "f64[2,3]"));
    nb_graph_free(g);
}

/* Gradients of broadcast operands come back with the operand's shape (sum_to). */
static void test_broadcast_grad_shapes(void **state)
{
    (void)state;
    const int64_t sa[] = {4, 1, 3}, sb[] = {2, 1}, sc[] = {1};
    nb_graph *g = nb_graph_new();
    nb_node *a = nb_input(g, "a", NB_F32, 3, sa);
    nb_node *b = nb_input(g, "b", NB_F32, 2, sb);
    nb_node *c = nb_input(g, "c", NB_F32, 1, sc);
    nb_node *y = nb_div(g, nb_sub(g, nb_mul(g, a, b), c), nb_add(g, b, nb_scalar(g, NB_F32, 3)));
    nb_node *xs[] = {a, b, c}, *gs[3];
    assert_int_equal(nb_grad(g, nb_sum(g, y, NULL, 0, 0), xs, 3, gs), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(nb_node_rank(gs[i]), nb_node_rank(xs[i]));
        assert_memory_equal(nb_node_shape(gs[i]), nb_node_shape(xs[i]),
                            (size_t)nb_node_rank(xs[i]) * sizeof(int64_t));
    }
    verify_ok(g);
    nb_graph_free(g);
}

/* Each attribute family prints under its own name: a reshape's target, a permutation, a
 * slice's normalized bounds (stop -1 is 5, a step past the size is the size) and a
 * slice_grad's result shape and placement. */
static void test_printer_shape_attrs(void **state)
{
    (void)state;
    const int64_t s56[] = {5, 6}, r[] = {3, 10};
    const int64_t start[] = {1, -4}, stop[] = {-1, 6}, step[] = {2, 9};
    const int perm[] = {1, 0};
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 2, s56);
    nb_reshape(g, x, 2, r);
    nb_permute(g, x, perm, 2);
    nb_node *s = nb_slice(g, x, start, stop, step);
    ir_attr attr = {0};
    attr.target.rank = 2;
    attr.target.shape[0] = 5;
    attr.target.shape[1] = 6;
    attr.slice.rank = 2;
    attr.slice.start[0] = 1;
    attr.slice.start[1] = 2;
    attr.slice.step[0] = 2;
    attr.slice.step[1] = 6;
    assert_non_null(ir_make1(g, IR_OP_SLICE_GRAD, s, &attr));
    char *text = nb_graph_print(g);
    assert_non_null(text);
    const char *want = "nabla-graph 1\n"
                       "%0 = input f32[5,6] name=\"x\"\n"
                       "%1 = reshape f32[3,10] (%0) shape=[3,10]\n"
                       "%2 = permute f32[6,5] (%0) perm=[1,0]\n"
                       "%3 = slice f32[2,1] (%0) start=[1,2] stop=[4,6] step=[2,6]\n"
                       "%4 = slice_grad f32[5,6] (%3) shape=[5,6] start=[1,2] step=[2,6]\n";
    assert_string_equal(text, want);
    free(text);
    verify_ok(g);
    nb_graph_free(g);
}

/* ir_widen: every f32 value of a copy is f64 (leaves, constants with their f32 values,
 * casts and one_hot to f32), the rest as it was: other dtypes, names, leaf indices,
 * parameter kinds; the source graph is untouched. */
static void test_widen(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    int64_t s2[] = {2}, s3[] = {3};
    double third[] = {1.0 / 3, 2.0};
    nb_node *x = nb_input(g, "x", NB_F32, 1, s2);
    nb_node *i = nb_input(g, "i", NB_I32, 1, s3);
    nb_node *w = nb_param(g, "w", NB_F32, 1, s2);
    nb_node *c = nb_constant(g, NB_F32, 1, s2, third);
    nb_node *d = nb_cast(g, nb_mul(g, nb_cast(g, x, NB_F64), nb_cast(g, c, NB_F64)), NB_F32);
    nb_node *h = nb_one_hot(g, i, 2, NB_F32);
    nb_node *y = nb_sum(g, nb_mul(g, h, nb_add(g, d, w)), NULL, 0, 0);
    assert_non_null(y);
    char *before = nb_graph_print(g);
    ir_node **map = calloc((size_t)g->n_nodes, sizeof *map);
    assert_non_null(map);
    ir_graph *wide = ir_widen(g, map);
    assert_non_null(wide);
    assert_int_equal(wide->n_nodes, g->n_nodes);
    assert_int_equal(wide->n_inputs, 2);
    assert_int_equal(wide->n_params, 1);
    for (int id = 0; id < g->n_nodes; id++) {
        const ir_node *v = g->nodes[id], *n = map[id];
        assert_int_equal(n->op, v->op);
        assert_int_equal(n->dtype, v->dtype == NB_F32 ? NB_F64 : v->dtype);
        assert_int_equal(n->rank, v->rank);
        assert_int_equal(n->leaf_index, v->leaf_index);
    }
    assert_string_equal(map[w->id]->name, "w");
    assert_ptr_equal(ir_leaf_find(wide, IR_OP_PARAM, "w"), map[w->id]);
    assert_int_equal(map[i->id]->dtype, NB_I32);
    assert_true(map[c->id]->data[0] == (double)(float)(1.0 / 3)); /* the f32 value */
    char msg[256];
    assert_int_equal(ir_verify(wide, msg, sizeof msg), 0);
    char *after = nb_graph_print(g);
    assert_string_equal(before, after);
    free(before);
    free(after);
    free(map);
    ir_graph_free(wide);
    nb_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_printer_format),      cmocka_unit_test(test_escape_name),
        cmocka_unit_test(test_verify_accepts),      cmocka_unit_test(test_verify_rejects),
        cmocka_unit_test(test_broadcasting),        cmocka_unit_test(test_broadcast_grad_shapes),
        cmocka_unit_test(test_printer_shape_attrs), cmocka_unit_test(test_widen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
