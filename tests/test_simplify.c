/* test_simplify.c — the compile-time rewrite (white-box): merged duplicates, dropped
 * identities, leaves kept in order, parameters never merged, a verified result, and
 * matmul-of-transpose read through the matmul's flags. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "ir.h"

static void assert_verified(const ir_graph *g)
{
    char msg[512];
    if (ir_verify(g, msg, sizeof msg) != 0)
        fail_msg("verifier: %s", msg);
}

static int count_op(const ir_graph *g, ir_op op)
{
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++)
        n += g->nodes[i]->op == op;
    return n;
}

/* (x * y) + (x * y): one mul survives; equal constants merge too. */
static void test_cse(void **state)
{
    (void)state;
    int64_t s[1] = {3};
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 1, s), *y = nb_input(g, "y", NB_F32, 1, s);
    nb_node *a = nb_mul(g, x, y), *b = nb_mul(g, x, y);
    nb_node *c =
        nb_add(g, nb_mul(g, a, nb_scalar(g, NB_F32, 2)), nb_mul(g, b, nb_scalar(g, NB_F32, 2)));
    ir_node *out;
    ir_graph *s2 = ir_simplify(g, &c, 1, &out);
    assert_non_null(s2);
    assert_verified(s2);
    assert_int_equal(count_op(s2, IR_OP_MUL), 2); /* x*y and (x*y)*2 */
    assert_int_equal(count_op(s2, IR_OP_CONST), 1);
    assert_int_equal(count_op(g, IR_OP_MUL), 4); /* the user's graph is untouched */
    ir_graph_free(s2);
    nb_graph_free(g);
}

/* Slices and permutes merge only when every typed attribute matches: equal ones merge,
 * ones of the same result type that differ in one start, stop, step or perm entry stay
 * apart (a compare or hash that skipped a field would merge them). */
static void test_cse_shape_attrs(void **state)
{
    (void)state;
    const int64_t s46[] = {4, 6}, s333[] = {3, 3, 3};
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 2, s46);
    nb_node *z = nb_input(g, "z", NB_F32, 3, s333);
    /* Rows 0-1 or 1-2, columns 0,2,4 or 1,3,5 (f32[2,3]), or columns 0,3 (f32[2,2]).
     * Two slices of one shape with the same start and step take the same elements
     * whatever their stop, so stop is no case of its own. */
    const int64_t st_a[] = {0, 0}, sp_a[] = {2, 6}, step_a[] = {1, 2};
    const int64_t st_b[] = {1, 0}, sp_b[] = {3, 6};
    const int64_t st_c[] = {0, 1};
    const int64_t sp_d[] = {2, 5}, step_d[] = {1, 3}; /* columns 0, 3 */
    nb_node *sl[] = {
        nb_slice(g, x, st_a, sp_a, step_a), nb_slice(g, x, st_a, sp_a, step_a),
        nb_slice(g, x, st_b, sp_b, step_a), nb_slice(g, x, st_c, sp_a, step_a),
        nb_slice(g, x, st_a, sp_d, step_d),
    };
    const int p_a[] = {1, 0, 2}, p_b[] = {0, 2, 1};
    nb_node *pm[] = {nb_permute(g, z, p_a, 3), nb_permute(g, z, p_a, 3), nb_permute(g, z, p_b, 3)};
    nb_node *y = nb_sum(g, sl[0], NULL, 0, 0);
    for (int i = 1; i < 5; i++)
        y = nb_add(g, y, nb_sum(g, sl[i], NULL, 0, 0));
    for (int i = 0; i < 3; i++)
        y = nb_add(g, y, nb_sum(g, pm[i], NULL, 0, 0));
    assert_non_null(y);
    ir_node *out;
    ir_graph *s2 = ir_simplify(g, &y, 1, &out);
    assert_non_null(s2);
    assert_verified(s2);
    assert_int_equal(count_op(s2, IR_OP_SLICE), 4);   /* sl[1] is sl[0] */
    assert_int_equal(count_op(s2, IR_OP_PERMUTE), 2); /* pm[1] is pm[0] */
    ir_graph_free(s2);
    nb_graph_free(g);
}

/* x * 1, 1 * x, x + (-0), (-0) + x, x - 0, x / 1 are x; 0 - x and 1 / x are not
 * identities, and neither are x + 0 and x - (-0), which turn x = -0 into +0. */
static void test_identities(void **state)
{
    (void)state;
    int64_t s[2] = {2, 3};
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F64, 2, s);
    nb_node *one = nb_scalar(g, NB_F64, 1), *zero = nb_scalar(g, NB_F64, 0);
    nb_node *neg_zero = nb_scalar(g, NB_F64, -0.0);
    nb_node *y = nb_add(g, neg_zero, nb_add(g, nb_mul(g, one, nb_mul(g, x, one)), neg_zero));
    y = nb_div(g, nb_sub(g, y, zero), one);
    ir_node *out;
    ir_graph *s2 = ir_simplify(g, &y, 1, &out);
    assert_non_null(s2);
    assert_verified(s2);
    assert_int_equal(out->op, IR_OP_INPUT);
    ir_graph_free(s2);

    nb_node *kept[4] = {nb_sub(g, zero, x), nb_add(g, x, zero), nb_add(g, zero, x),
                        nb_sub(g, x, neg_zero)};
    for (int i = 0; i < 4; i++) {
        s2 = ir_simplify(g, &kept[i], 1, &out);
        assert_non_null(s2);
        assert_int_equal(out->op, i == 0 || i == 3 ? IR_OP_SUB : IR_OP_ADD);
        ir_graph_free(s2);
    }

    /* A sum over an axis of size 1 with keepdim, or over no axis, is x itself. */
    int64_t s13[2] = {1, 3};
    int axis = 0;
    nb_node *u = nb_input(g, "u", NB_F64, 2, s13);
    nb_node *su = nb_max(g, nb_sum(g, u, &axis, 1, 1), &axis, 1, 1);
    s2 = ir_simplify(g, &su, 1, &out);
    assert_non_null(s2);
    assert_int_equal(out->op, IR_OP_INPUT);
    ir_graph_free(s2);

    /* x [3] * ones [2,3] broadcasts: the result is not x's shape, so it stays. */
    double ones[6] = {1, 1, 1, 1, 1, 1};
    int64_t s3 = 3;
    nb_node *v = nb_input(g, "v", NB_F64, 1, &s3);
    nb_node *w = nb_mul(g, v, nb_constant(g, NB_F64, 2, s, ones));
    s2 = ir_simplify(g, &w, 1, &out);
    assert_non_null(s2);
    assert_int_equal(out->op, IR_OP_MUL);
    ir_graph_free(s2);
    nb_graph_free(g);
}

/* The op of what y simplifies to on its own. */
static ir_op simplified_op(nb_graph *g, nb_node *y)
{
    ir_node *out;
    assert_non_null(y);
    ir_graph *s2 = ir_simplify(g, &y, 1, &out);
    assert_non_null(s2);
    assert_verified(s2);
    ir_op op = out->op;
    ir_graph_free(s2);
    return op;
}

/* The shape rows of the rule table, each on a node that matches it and on one that
 * does not: a reshape or broadcast to x's own shape, and a min or logsumexp over an
 * axis of size 1 with keepdim or over no axis, are x; to another shape, without keepdim
 * or over an axis of size 3 they stay. The builders return x itself for a reshape to
 * its own shape, so those nodes are made with ir_node_new. */
static void test_shape_identities(void **state)
{
    (void)state;
    int64_t s13[2] = {1, 3}, s31[2] = {3, 1}, s213[3] = {2, 1, 3};
    int axis0 = 0, axis1 = 1;
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F64, 2, s13);
    ir_attr same = {0}, other = {0};
    same.target.rank = other.target.rank = 2;
    for (int d = 0; d < 2; d++) {
        same.target.shape[d] = s13[d];
        other.target.shape[d] = s31[d];
    }
    assert_int_equal(simplified_op(g, ir_node_new(g, IR_OP_RESHAPE, &x, 1, &same)), IR_OP_INPUT);
    assert_int_equal(simplified_op(g, ir_node_new(g, IR_OP_RESHAPE, &x, 1, &other)), IR_OP_RESHAPE);
    assert_int_equal(simplified_op(g, ir_node_new(g, IR_OP_BROADCAST_TO, &x, 1, &same)),
                     IR_OP_INPUT);
    assert_int_equal(simplified_op(g, nb_broadcast_to(g, x, 3, s213)), IR_OP_BROADCAST_TO);
    assert_int_equal(simplified_op(g, nb_min(g, x, &axis0, 1, 1)), IR_OP_INPUT);
    assert_int_equal(simplified_op(g, nb_min(g, x, &axis0, 1, 0)), IR_OP_MIN);
    assert_int_equal(simplified_op(g, nb_logsumexp(g, x, &axis0, 1, 1)), IR_OP_INPUT);
    assert_int_equal(simplified_op(g, nb_logsumexp(g, x, &axis1, 1, 1)), IR_OP_LOGSUMEXP);
    assert_int_equal(simplified_op(g, ir_reduce(g, IR_OP_SUM, x, 0, 0)), IR_OP_INPUT);
    assert_int_equal(simplified_op(g, nb_sum(g, x, &axis1, 1, 1)), IR_OP_SUM);
    assert_int_equal(simplified_op(g, nb_prod(g, x, &axis0, 1, 1)), IR_OP_INPUT);
    assert_int_equal(simplified_op(g, nb_prod(g, x, &axis1, 1, 1)), IR_OP_PROD);
    /* stop_gradient has done its work once gradients are built: it is x. */
    assert_int_equal(simplified_op(g, nb_stop_gradient(g, x)), IR_OP_INPUT);
    assert_null(nb_graph_error(g));
    nb_graph_free(g);
}

/* Every input and parameter is kept in order, used or not; equal parameters stay two. */
static void test_leaves(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *unused = nb_input(g, "unused", NB_F32, 0, NULL);
    nb_node *p = nb_param(g, "p", NB_F32, 0, NULL);
    nb_node *q = nb_param(g, "q", NB_F32, 0, NULL);
    nb_node *x = nb_input(g, "x", NB_F32, 0, NULL);
    nb_node *y = nb_add(g, nb_mul(g, p, x), nb_mul(g, q, x));
    (void)unused;
    ir_node *out;
    ir_graph *s2 = ir_simplify(g, &y, 1, &out);
    assert_non_null(s2);
    assert_verified(s2);
    assert_int_equal(s2->n_inputs, 2);
    assert_int_equal(s2->n_params, 2);
    assert_int_equal(count_op(s2, IR_OP_MUL), 2);
    assert_string_equal(s2->nodes[0]->name, "unused");
    assert_string_equal(s2->nodes[3]->name, "x");
    assert_int_equal(s2->nodes[3]->leaf_index, 1);
    ir_graph_free(s2);
    nb_graph_free(g);
}

/* Gradient graphs simplify into verified graphs that compute the same numbers. */
static void test_gradient_graph(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F64, 0, NULL);
    nb_node *y = nb_mul(g, nb_mul(g, x, x), x);
    nb_node *d, *dd;
    assert_int_equal(nb_grad(g, y, &x, 1, &d), 0);
    assert_int_equal(nb_grad(g, d, &x, 1, &dd), 0);
    nb_node *outs[] = {y, d, dd};
    ir_node *new_outs[3];
    ir_graph *s2 = ir_simplify(g, outs, 3, new_outs);
    assert_non_null(s2);
    assert_verified(s2);
    assert_true(s2->n_nodes < g->n_nodes);
    ir_graph_free(s2);

    nb_compile_options opt = {.outputs = outs, .n_outputs = 3};
    nb_program *p = nb_compile(g, &opt);
    assert_non_null(p);
    double xv = 1.5;
    nb_program_bind(p, "x", &xv);
    assert_int_equal(nb_program_run(p), 0);
    /* x^3, 3x^2, 6x by hand */
    assert_float_equal(*(const double *)nb_program_output(p, 0), 3.375, 1e-12);
    assert_float_equal(*(const double *)nb_program_output(p, 1), 6.75, 1e-12);
    assert_float_equal(*(const double *)nb_program_output(p, 2), 9.0, 1e-12);
    nb_program_free(p);
    nb_graph_free(g);
}

/* Runs p (inputs a, c bound to A and C below) and checks output i against want. */
static void assert_output(nb_program *p, int i, const double *want, int n)
{
    const double *y = nb_program_output(p, i);
    for (int j = 0; j < n; j++)
        assert_float_equal(y[j], want[j], 1e-12);
}

static const double A[6] = {1, 2, 3, 4, 5, 6}; /* [2,3] */
static const double C[4] = {1, 2, 3, 4};       /* [2,2] */

/* matmul(transpose(a), c) becomes matmul.T_a(a, c), and likewise for b and for both:
 * the transpose is dropped when only the matmul read it, and stays (with the matmul
 * still reading a directly) when it is an output or another node reads it. Numbers
 * by hand: A^T C = [[13,18],[17,24],[21,30]], A A^T = [[14,32],[32,77]],
 * A^T C^T = [[9,19],[12,26],[15,33]]. */
static void test_matmul_transpose(void **state)
{
    (void)state;
    int64_t sa[2] = {2, 3}, sc[2] = {2, 2};
    nb_graph *g = nb_graph_new();
    nb_node *a = nb_input(g, "a", NB_F64, 2, sa), *c = nb_input(g, "c", NB_F64, 2, sc);
    nb_node *at = nb_transpose(g, a);
    nb_node *outs[] = {nb_matmul(g, at, c), nb_matmul(g, a, at),
                       nb_matmul(g, at, nb_transpose(g, c)), at, nb_add(g, at, at)};
    static const int flags[3][2] = {{1, 0}, {0, 1}, {1, 1}};
    ir_node *new_outs[5];
    for (int i = 0; i < 3; i++) {
        ir_graph *s2 = ir_simplify(g, &outs[i], 1, new_outs);
        assert_non_null(s2);
        assert_verified(s2);
        const ir_node *m = new_outs[0];
        assert_int_equal(m->op, IR_OP_MATMUL);
        assert_int_equal(m->attr.trans_a, flags[i][0]);
        assert_int_equal(m->attr.trans_b, flags[i][1]);
        assert_int_equal(m->in[0]->op, IR_OP_INPUT);
        assert_int_equal(m->in[1]->op, IR_OP_INPUT);
        assert_int_equal(count_op(s2, IR_OP_PERMUTE), 0);
        assert_int_equal(s2->n_nodes, 3); /* a, c and the matmul */
        ir_graph_free(s2);
    }
    /* The transpose as an output, then read by an add: it stays, once. */
    for (int i = 3; i < 5; i++) {
        nb_node *both[2] = {outs[0], outs[i]};
        ir_graph *s2 = ir_simplify(g, both, 2, new_outs);
        assert_non_null(s2);
        assert_verified(s2);
        assert_int_equal(count_op(s2, IR_OP_PERMUTE), 1);
        assert_int_equal(new_outs[0]->attr.trans_a, 1);
        assert_int_equal(new_outs[0]->in[0]->op, IR_OP_INPUT);
        ir_graph_free(s2);
    }

    nb_compile_options opt = {.outputs = outs, .n_outputs = 5};
    nb_program *p = nb_compile(g, &opt);
    assert_non_null(p);
    nb_program_bind(p, "a", A);
    nb_program_bind(p, "c", C);
    assert_int_equal(nb_program_run(p), 0);
    static const double atc[6] = {13, 18, 17, 24, 21, 30}, aat[4] = {14, 32, 32, 77};
    static const double atct[6] = {9, 19, 12, 26, 15, 33}, at_v[6] = {1, 4, 2, 5, 3, 6};
    static const double at2[6] = {2, 8, 4, 10, 6, 12};
    assert_output(p, 0, atc, 6);
    assert_output(p, 1, aat, 4);
    assert_output(p, 2, atct, 6);
    assert_output(p, 3, at_v, 6);
    assert_output(p, 4, at2, 6);
    nb_program_free(p);
    nb_graph_free(g);
}

/* A batch of transposed a against one c: the flag holds per matrix, so the batch is
 * not one taller gemm (that merge needs a untransposed). a = [A, 2A]: [A^T C, 2 A^T C]. */
static void test_matmul_transpose_batched(void **state)
{
    (void)state;
    int64_t sa[3] = {2, 2, 3}, sc[2] = {2, 2};
    double a2[12];
    for (int i = 0; i < 6; i++)
        a2[i] = A[i], a2[6 + i] = 2 * A[i];
    nb_graph *g = nb_graph_new();
    nb_node *a = nb_input(g, "a", NB_F64, 3, sa), *c = nb_input(g, "c", NB_F64, 2, sc);
    nb_node *y = nb_matmul(g, nb_transpose(g, a), c);
    nb_compile_options opt = {.outputs = &y, .n_outputs = 1};
    nb_program *p = nb_compile(g, &opt);
    assert_non_null(p);
    nb_program_bind(p, "a", a2);
    nb_program_bind(p, "c", C);
    assert_int_equal(nb_program_run(p), 0);
    static const double want[12] = {13, 18, 17, 24, 21, 30, 26, 36, 34, 48, 42, 60};
    assert_output(p, 0, want, 12);
    nb_program_free(p);
    nb_graph_free(g);
}

/* The gradient rule of a flagged matmul (built directly, as simplify would leave it):
 * sum(A^T C) gives dA = C 1[2,3] = [[3,3,3],[7,7,7]] and dC = A 1[3,2] =
 * [[6,6],[15,15]]; sum(A A^T) gives dA = 2 1[2,2] A = [[10,14,18],[10,14,18]]. */
static void test_matmul_transpose_gradient(void **state)
{
    (void)state;
    int64_t sa[2] = {2, 3}, sc[2] = {2, 2};
    int all[2] = {0, 1};
    nb_graph *g = nb_graph_new();
    nb_node *a = nb_input(g, "a", NB_F64, 2, sa), *c = nb_input(g, "c", NB_F64, 2, sc);
    ir_attr ta = {0}, tb = {0};
    ta.trans_a = 1;
    tb.trans_b = 1;
    nb_node *y1 = nb_sum(g, ir_make2(g, IR_OP_MATMUL, a, c, &ta), all, 2, 0);
    nb_node *y2 = nb_sum(g, ir_make2(g, IR_OP_MATMUL, a, a, &tb), all, 2, 0);
    nb_node *xs[2] = {a, c}, *d1[2], *d2;
    assert_int_equal(nb_grad(g, y1, xs, 2, d1), 0);
    assert_int_equal(nb_grad(g, y2, &a, 1, &d2), 0);
    nb_node *outs[] = {d1[0], d1[1], d2};
    nb_compile_options opt = {.outputs = outs, .n_outputs = 3};
    nb_program *p = nb_compile(g, &opt);
    assert_non_null(p);
    nb_program_bind(p, "a", A);
    nb_program_bind(p, "c", C);
    assert_int_equal(nb_program_run(p), 0);
    static const double da1[6] = {3, 3, 3, 7, 7, 7}, dc1[4] = {6, 6, 15, 15};
    static const double da2[6] = {10, 14, 18, 10, 14, 18};
    assert_output(p, 0, da1, 6);
    assert_output(p, 1, dc1, 4);
    assert_output(p, 2, da2, 6);
    nb_program_free(p);
    nb_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cse),
        cmocka_unit_test(test_cse_shape_attrs),
        cmocka_unit_test(test_identities),
        cmocka_unit_test(test_shape_identities),
        cmocka_unit_test(test_leaves),
        cmocka_unit_test(test_gradient_graph),
        cmocka_unit_test(test_matmul_transpose),
        cmocka_unit_test(test_matmul_transpose_batched),
        cmocka_unit_test(test_matmul_transpose_gradient),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
