/* test_grad_shape.c — the shape and linear-algebra ops: gradients against finite
 * differences (matmul, permute, transpose, reshape, broadcast_to, slice, concat,
 * gather) and forward values against numbers worked out by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gradcheck.h"

/* ---- gradient checks ------------------------------------------------------------- */

static nb_node *matmul(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_matmul(g, x[0], x[1]);
}

/* (a @ b) * (a @ b): gradients that depend on the inputs in every way. */
static nb_node *matmul_sq(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    nb_node *y = nb_matmul(g, x[0], x[1]);
    return nb_mul(g, y, y);
}

/* a^T @ b: matmul fed by a transpose. */
static nb_node *matmul_at(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_matmul(g, nb_transpose(g, x[0]), x[1]);
}

static nb_node *permute_201(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    static const int perm[] = {2, 0, 1};
    (void)dt;
    nb_node *p = nb_permute(g, x[0], perm, 3);
    return nb_mul(g, p, p);
}

static nb_node *permute_4d(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    static const int perm[] = {0, 3, 1, 2};
    (void)dt;
    return nb_permute(g, x[0], perm, 4);
}

static nb_node *transpose(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    nb_node *t = nb_transpose(g, x[0]);
    return nb_mul(g, t, t);
}

/* reshape [2,3,4] -> [4,-1], multiplied by a [6] operand broadcast along rows. */
static nb_node *reshape(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    static const int64_t shape[] = {4, -1};
    (void)dt;
    return nb_mul(g, nb_reshape(g, x[0], 2, shape), x[1]);
}

static nb_node *broadcast_to(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    static const int64_t shape[] = {2, 3, 4};
    (void)dt;
    nb_node *b = nb_broadcast_to(g, x[0], 3, shape);
    return nb_mul(g, b, b);
}

/* x[5,6][-4::2, 1:-1:3] squared. */
static nb_node *slice_neg(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    static const int64_t start[] = {-4, 1}, stop[] = {INT64_MAX, -1}, step[] = {2, 3};
    (void)dt;
    nb_node *s = nb_slice(g, x[0], start, stop, step);
    return nb_mul(g, s, s);
}

/* x[2,5,4][:, ::2, 1:] with NULL start/stop on the axes left whole. */
static nb_node *slice_3d(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    static const int64_t start[] = {0, 0, 1}, step[] = {1, 2, 1};
    (void)dt;
    return nb_slice(g, x[0], start, NULL, step);
}

/* A slice used twice, overlapping: the gradients add up where they meet. */
static nb_node *slice_overlap(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    static const int64_t s0[] = {0}, e0[] = {4}, s1[] = {2}, e1[] = {6};
    (void)dt;
    return nb_mul(g, nb_slice(g, x[0], s0, e0, NULL), nb_slice(g, x[0], s1, e1, NULL));
}

static nb_node *concat_axis0(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    nb_node *c = nb_concat(g, x, 3, 0);
    return nb_mul(g, c, c);
}

static nb_node *concat_axis1(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_concat(g, x, 2, 1);
}

/* Axis -1 of three rank-3 operands, one of them given twice. */
static nb_node *concat_last(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    nb_node *xs[4] = {x[0], x[1], x[0], x[2]};
    (void)dt;
    nb_node *c = nb_concat(g, xs, 4, -1);
    return nb_mul(g, c, c);
}

static nb_node *gather(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_gather(g, x[0], x[1]);
}

static nb_node *gather_sq(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    nb_node *r = nb_gather(g, x[0], x[1]);
    return nb_mul(g, r, r);
}

/* x[2] picked along axis x[3] of x[0] by x[1], times itself: the repeated picks of one
 * element add their gradients. */
static nb_node *take_last(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_take_along_axis(g, x[0], x[1], -1);
}

static nb_node *take_axis0_sq(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    nb_node *r = nb_take_along_axis(g, x[0], x[1], 0);
    return nb_mul(g, r, r);
}

static nb_node *take_middle_sq(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    nb_node *r = nb_take_along_axis(g, x[0], x[1], 1);
    return nb_mul(g, r, r);
}

/* pad, squared so that the second-order rows see a Hessian: constant with a value and
 * crops, reflect on the last axis and on two axes (with a crop). */
static nb_node *pad_sq(nb_graph *g, nb_node *p)
{
    return nb_mul(g, p, p);
}

static nb_node *pad_constant(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return pad_sq(g, nb_pad(g, x[0], 4, (const int64_t[]){2, -1, -1, 1}, NB_PAD_CONSTANT, 0.5));
}

static nb_node *pad_reflect_last(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return pad_sq(g, nb_pad(g, x[0], 2, (const int64_t[]){3, 2}, NB_PAD_REFLECT, 0.0));
}

static nb_node *pad_reflect_two(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return pad_sq(g, nb_pad(g, x[0], 4, (const int64_t[]){-1, 2, 1, 2}, NB_PAD_REFLECT, 0.0));
}

/* scatter_add (x and src squared after, so that second order sees a Hessian through
 * both) and index_add. */
static nb_node *scatter_sq(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    nb_node *s = nb_scatter_add(g, x[0], -1, x[1], nb_mul(g, x[2], x[2]));
    return nb_mul(g, s, s);
}

static nb_node *index_add_sq(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    nb_node *s = nb_index_add(g, x[0], 0, x[1], x[2]);
    return nb_mul(g, s, nb_mul(g, s, s));
}

/* cumsum, squared for a Hessian (second order goes through the reversed scan's
 * gradient, a forward scan). */
static nb_node *cumsum_sq(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    nb_node *c = nb_cumsum(g, x[0], -2);
    return nb_mul(g, c, c);
}

/* The index input, drawn from [0, hi). */
#define GC_INDEX(hi, r, ...)                                                                       \
    {                                                                                              \
        NB_I32, r, {__VA_ARGS__}, 0, hi                                                            \
    }

static const gc_case cases[] = {
    {"matmul_2d", matmul, 2, {GC_F(2, 3, 4), GC_F(2, 4, 5)}, 1},
    {"matmul_2d_sq", matmul_sq, 2, {GC_F(2, 3, 4), GC_F(2, 4, 5)}, 1},
    {"matmul_batched", matmul_sq, 2, {GC_F(3, 2, 3, 4), GC_F(3, 2, 4, 5)}, 1},
    {"matmul_bcast_b", matmul_sq, 2, {GC_F(3, 2, 3, 4), GC_F(2, 4, 5)}, 1},
    {"matmul_bcast_a", matmul, 2, {GC_F(2, 3, 4), GC_F(3, 2, 4, 5)}, 0},
    {"matmul_bcast_both", matmul_sq, 2, {GC_F(3, 1, 3, 4), GC_F(3, 2, 4, 5)}, 1},
    {"matmul_bcast_ranks", matmul, 2, {GC_F(4, 3, 1, 2, 3), GC_F(3, 2, 3, 2)}, 0},
    {"matmul_vector_shapes", matmul, 2, {GC_F(2, 1, 4), GC_F(2, 4, 1)}, 0},
    {"matmul_transposed_a", matmul_at, 2, {GC_F(2, 4, 3), GC_F(2, 4, 5)}, 1},
    {"permute_201", permute_201, 1, {GC_F(3, 2, 3, 4)}, 1},
    {"permute_4d", permute_4d, 1, {GC_F(4, 2, 3, 1, 4)}, 0},
    {"transpose_2d", transpose, 1, {GC_F(2, 3, 5)}, 0},
    {"transpose_3d", transpose, 1, {GC_F(3, 2, 3, 4)}, 1},
    {"reshape_infer", reshape, 2, {GC_F(3, 2, 3, 4), GC_F(1, 6)}, 1},
    {"broadcast_to", broadcast_to, 1, {GC_F(2, 3, 1)}, 1},
    {"slice_steps_negative", slice_neg, 1, {GC_F(2, 5, 6)}, 1},
    {"slice_3d", slice_3d, 1, {GC_F(3, 2, 5, 4)}, 0},
    {"slice_overlap", slice_overlap, 1, {GC_F(1, 6)}, 1},
    {"concat_axis0", concat_axis0, 3, {GC_F(2, 2, 3), GC_F(2, 1, 3), GC_F(2, 3, 3)}, 1},
    {"concat_axis1", concat_axis1, 2, {GC_F(2, 2, 3), GC_F(2, 2, 1)}, 0},
    {"concat_last_repeated",
     concat_last,
     3,
     {GC_F(3, 2, 2, 3), GC_F(3, 2, 2, 2), GC_F(3, 2, 2, 1)},
     1},
    /* 6 draws from 5 rows: some row repeats. */
    {"gather_rows", gather, 2, {GC_F(2, 5, 3), GC_INDEX(5, 1, 6)}, 0},
    {"gather_sq_repeated", gather_sq, 2, {GC_F(2, 4, 3), GC_INDEX(4, 2, 2, 3)}, 1},
    {"gather_3d_table", gather_sq, 2, {GC_F(3, 3, 2, 2), GC_INDEX(3, 1, 5)}, 1},
    {"gather_scalar_index", gather, 2, {GC_F(1, 4), GC_INDEX(4, 0, 0)}, 0},
    /* A label per row (the cross-entropy's pick); several per column, repeated; a middle
     * axis with more picks than the axis is long. */
    {"take_along_last", take_last, 2, {GC_F(2, 3, 4), GC_INDEX(4, 2, 3, 1)}, 1},
    {"take_along_axis0_sq", take_axis0_sq, 2, {GC_F(2, 4, 3), GC_INDEX(4, 2, 2, 3)}, 1},
    {"take_along_middle_sq", take_middle_sq, 2, {GC_F(3, 2, 3, 2), GC_INDEX(3, 3, 2, 5, 2)}, 1},
    /* 5 picks of 4 columns per row, 6 of 3 rows: indices repeat. */
    {"scatter_add_sq", scatter_sq, 3, {GC_F(2, 3, 4), GC_INDEX(4, 2, 3, 5), GC_F(2, 3, 5)}, 0},
    {"scatter_add_sq_2nd", scatter_sq, 3, {GC_F(2, 3, 4), GC_INDEX(4, 2, 3, 5), GC_F(2, 3, 5)}, 1},
    {"index_add_cube", index_add_sq, 3, {GC_F(2, 3, 2), GC_INDEX(3, 1, 6), GC_F(2, 6, 2)}, 0},
    {"index_add_cube_2nd", index_add_sq, 3, {GC_F(2, 3, 2), GC_INDEX(3, 1, 6), GC_F(2, 6, 2)}, 1},
    {"cumsum_sq", cumsum_sq, 1, {GC_F(3, 2, 4, 3)}, 0},
    {"cumsum_sq_2nd", cumsum_sq, 1, {GC_F(2, 5, 2)}, 1},
    {"pad_constant", pad_constant, 1, {GC_F(2, 3, 4)}, 0},
    {"pad_constant_2nd", pad_constant, 1, {GC_F(3, 2, 3, 4)}, 1},
    {"pad_reflect_last", pad_reflect_last, 1, {GC_F(2, 2, 4)}, 0},
    {"pad_reflect_last_2nd", pad_reflect_last, 1, {GC_F(2, 2, 4)}, 1},
    {"pad_reflect_two", pad_reflect_two, 1, {GC_F(3, 2, 3, 4)}, 0},
    {"pad_reflect_two_2nd", pad_reflect_two, 1, {GC_F(2, 3, 4)}, 1},
};

/* ---- forward values -------------------------------------------------------------- */

/* Compiles outs of g, binds the inputs in order, runs; the caller frees the program. */
static nb_program *run(nb_graph *g, nb_node **outs, int n, const void *const *inputs, int n_inputs)
{
    nb_compile_options opt = {.outputs = outs, .n_outputs = n};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(g));
    for (int i = 0; i < n_inputs; i++)
        assert_int_equal(nb_program_bind_index(p, i, inputs[i]), 0);
    if (nb_program_run(p) != 0)
        fail_msg("run: %s", nb_program_error(p));
    return p;
}

static void expect_f64(const nb_program *p, int out, const double *want, int64_t n)
{
    const double *got = nb_program_output(p, out);
    assert_int_equal(nb_program_output_numel(p, out), n);
    for (int64_t i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("output %d[%lld] is %g, expected %g", out, (long long)i, got[i], want[i]);
}

static void expect_shape(const nb_node *x, int rank, const int64_t *shape)
{
    assert_non_null(x);
    assert_int_equal(nb_node_rank(x), rank);
    for (int d = 0; d < rank; d++)
        assert_int_equal(nb_node_shape(x)[d], shape[d]);
}

/* [[1,2,3],[4,5,6]] @ [[7,8],[9,10],[11,12]] = [[58,64],[139,154]], in f32 and f64; and
 * a batch [2,2,2] @ a shared [2,2]. */
static void test_matmul_values(void **state)
{
    (void)state;
    for (int f32 = 0; f32 < 2; f32++) {
        nb_dtype dt = f32 ? NB_F32 : NB_F64;
        nb_graph *g = nb_graph_new();
        int64_t sa[] = {2, 3}, sb[] = {3, 2};
        nb_node *a = nb_input(g, "a", dt, 2, sa);
        nb_node *b = nb_input(g, "b", dt, 2, sb);
        nb_node *y = nb_matmul(g, a, b);
        expect_shape(y, 2, (int64_t[]){2, 2});
        double a64[] = {1, 2, 3, 4, 5, 6}, b64[] = {7, 8, 9, 10, 11, 12};
        float a32[] = {1, 2, 3, 4, 5, 6}, b32[] = {7, 8, 9, 10, 11, 12};
        const void *in[] = {f32 ? (void *)a32 : a64, f32 ? (void *)b32 : b64};
        nb_program *p = run(g, &y, 1, in, 2);
        double want[] = {58, 64, 139, 154};
        for (int i = 0; i < 4; i++) {
            double v = f32 ? ((const float *)nb_program_output(p, 0))[i]
                           : ((const double *)nb_program_output(p, 0))[i];
            if (v != want[i])
                fail_msg("%s: y[%d] = %g, expected %g", f32 ? "f32" : "f64", i, v, want[i]);
        }
        const char *fn = f32 ? "nb_rt_gemm_f32" : "nb_rt_gemm_f64";
        assert_non_null(strstr(nb_program_source(p), fn));
        nb_program_free(p);
        nb_graph_free(g);
    }
    /* [2,2,2] @ [2,2]: [[1,0],[0,1]] @ B = B and [[0,1],[1,0]] @ B swaps B's rows. */
    nb_graph *g = nb_graph_new();
    int64_t sa[] = {2, 2, 2}, sb[] = {2, 2};
    nb_node *a = nb_input(g, "a", NB_F64, 3, sa);
    nb_node *b = nb_input(g, "b", NB_F64, 2, sb);
    nb_node *y = nb_matmul(g, a, b);
    double av[] = {1, 0, 0, 1, 0, 1, 1, 0}, bv[] = {1, 2, 3, 4};
    nb_program *p = run(g, &y, 1, (const void *[]){av, bv}, 2);
    expect_f64(p, 0, (double[]){1, 2, 3, 4, 3, 4, 1, 2}, 8);
    nb_program_free(p);
    nb_graph_free(g);
    /* [2,1,1,2] @ [3,2,1] broadcasts to [2,3,1,1]: y[i][j] = a_i . b_j. */
    g = nb_graph_new();
    int64_t sc[] = {2, 1, 1, 2}, sd[] = {3, 2, 1};
    a = nb_input(g, "a", NB_F64, 4, sc);
    b = nb_input(g, "b", NB_F64, 3, sd);
    y = nb_matmul(g, a, b);
    expect_shape(y, 4, (int64_t[]){2, 3, 1, 1});
    double c[] = {1, 2, 3, 4}, d[] = {1, 0, 0, 1, 1, 1};
    p = run(g, &y, 1, (const void *[]){c, d}, 2);
    expect_f64(p, 0, (double[]){1, 2, 3, 3, 4, 7}, 6);
    nb_program_free(p);
    nb_graph_free(g);
}

/* transpose of [[0,1,2],[3,4,5]]; permute {2,0,1} of 0..11 in [2,2,3]; reshape with -1. */
static void test_permute_reshape_values(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    int64_t s[] = {2, 2, 3};
    nb_node *x = nb_input(g, "x", NB_F64, 3, s);
    int64_t s2[] = {2, 3};
    nb_node *m = nb_input(g, "m", NB_F64, 2, s2);
    nb_node *t = nb_transpose(g, m);
    nb_node *pm = nb_permute(g, x, (const int[]){2, 0, 1}, 3);
    nb_node *r = nb_reshape(g, x, 2, (const int64_t[]){-1, 6});
    expect_shape(t, 2, (int64_t[]){3, 2});
    expect_shape(pm, 3, (int64_t[]){3, 2, 2});
    expect_shape(r, 2, (int64_t[]){2, 6});
    double xv[12], mv[] = {0, 1, 2, 3, 4, 5};
    for (int i = 0; i < 12; i++)
        xv[i] = i;
    nb_node *outs[] = {t, pm, r};
    nb_program *p = run(g, outs, 3, (const void *[]){xv, mv}, 2);
    expect_f64(p, 0, (double[]){0, 3, 1, 4, 2, 5}, 6);
    /* y[c][i][j] = x[i][j][c] = 6 i + 3 j + c. */
    expect_f64(p, 1, (double[]){0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11}, 12);
    expect_f64(p, 2, xv, 12);
    nb_program_free(p);
    nb_graph_free(g);
}

/* x = 0..23 as [4,6]; x[-3:, -100:5:2] steps rows 1, 3 and columns 0, 2, 4. The
 * gradient of sum(slice * w) puts w back at those places, zeros elsewhere. */
static void test_slice_values(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    int64_t s[] = {4, 6};
    nb_node *x = nb_input(g, "x", NB_F64, 2, s);
    const int64_t start[] = {-3, -100}, stop[] = {INT64_MAX, 5}, step[] = {2, 2};
    nb_node *y = nb_slice(g, x, start, stop, step);
    expect_shape(y, 2, (int64_t[]){2, 3});
    double w[] = {1, 2, 3, 4, 5, 6};
    nb_node *wc = nb_constant(g, NB_F64, 2, (const int64_t[]){2, 3}, w);
    nb_node *loss = nb_sum(g, nb_mul(g, y, wc), NULL, 0, 0);
    nb_node *gx;
    assert_int_equal(nb_grad(g, loss, &x, 1, &gx), 0);
    double xv[24];
    for (int i = 0; i < 24; i++)
        xv[i] = i;
    nb_node *outs[] = {y, gx};
    nb_program *p = run(g, outs, 2, (const void *[]){xv}, 1);
    expect_f64(p, 0, (double[]){6, 8, 10, 18, 20, 22}, 6);
    expect_f64(p, 1,
               (double[]){0, 0, 0, 0, 0, 0, 1, 0, 2, 0, 3, 0, 0, 0, 0, 0, 0, 0, 4, 0, 5, 0, 6, 0},
               24);
    nb_program_free(p);
    nb_graph_free(g);
}

/* [[1,2],[3,4]] ++ [[5],[6]] along axis 1 and along -1; [[1,2],[3,4]] ++ itself on 0. */
static void test_concat_values(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *a = nb_input(g, "a", NB_F64, 2, (const int64_t[]){2, 2});
    nb_node *b = nb_input(g, "b", NB_F64, 2, (const int64_t[]){2, 1});
    nb_node *c1 = nb_concat(g, (nb_node *const[]){a, b}, 2, 1);
    nb_node *c2 = nb_concat(g, (nb_node *const[]){b, a}, 2, -1);
    nb_node *c0 = nb_concat(g, (nb_node *const[]){a, a}, 2, 0);
    expect_shape(c1, 2, (int64_t[]){2, 3});
    expect_shape(c0, 2, (int64_t[]){4, 2});
    double av[] = {1, 2, 3, 4}, bv[] = {5, 6};
    nb_node *outs[] = {c1, c2, c0};
    nb_program *p = run(g, outs, 3, (const void *[]){av, bv}, 2);
    expect_f64(p, 0, (double[]){1, 2, 5, 3, 4, 6}, 6);
    expect_f64(p, 1, (double[]){5, 1, 2, 6, 3, 4}, 6);
    expect_f64(p, 2, (double[]){1, 2, 3, 4, 1, 2, 3, 4}, 8);
    nb_program_free(p);
    nb_graph_free(g);
}

/* 40 operands, more than the 32 bits of the gradient mask: d sum(concat * w) / d x_i
 * is row i of w, for every i. */
static void test_concat_many_gradients(void **state)
{
    (void)state;
    enum { N = 40 };
    nb_graph *g = nb_graph_new();
    nb_node *xs[N], *gx[N];
    double w[2 * N], xv[2] = {0, 0};
    const void *in[N];
    for (int i = 0; i < N; i++) {
        xs[i] = nb_input(g, NULL, NB_F64, 2, (const int64_t[]){1, 2});
        w[2 * i] = i;
        w[2 * i + 1] = 100 + i;
        in[i] = xv;
    }
    nb_node *c = nb_concat(g, xs, N, 0);
    nb_node *wc = nb_constant(g, NB_F64, 2, (const int64_t[]){N, 2}, w);
    nb_node *loss = nb_sum(g, nb_mul(g, c, wc), NULL, 0, 0);
    assert_int_equal(nb_grad(g, loss, xs, N, gx), 0);
    nb_program *p = run(g, gx, N, in, N);
    for (int i = 0; i < N; i++)
        expect_f64(p, i, (double[]){i, 100 + i}, 2);
    nb_program_free(p);
    nb_graph_free(g);
}

/* table [[0,1],[10,11],[20,21]], index [[2,0],[2,1]]: rows 2, 0, 2, 1. The table's
 * gradient of sum(gather * w) adds w's rows at the indices: row 2 gets two. */
static void test_gather_values(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *t = nb_input(g, "t", NB_F64, 2, (const int64_t[]){3, 2});
    nb_node *i = nb_input(g, "i", NB_I32, 2, (const int64_t[]){2, 2});
    nb_node *y = nb_gather(g, t, i);
    expect_shape(y, 3, (int64_t[]){2, 2, 2});
    double w[] = {1, 2, 3, 4, 5, 6, 7, 8};
    nb_node *wc = nb_constant(g, NB_F64, 3, (const int64_t[]){2, 2, 2}, w);
    nb_node *gt;
    assert_int_equal(nb_grad(g, nb_sum(g, nb_mul(g, y, wc), NULL, 0, 0), &t, 1, &gt), 0);
    double tv[] = {0, 1, 10, 11, 20, 21};
    int32_t iv[] = {2, 0, 2, 1};
    nb_node *outs[] = {y, gt};
    nb_program *p = run(g, outs, 2, (const void *[]){tv, iv}, 2);
    expect_f64(p, 0, (double[]){20, 21, 0, 1, 20, 21, 10, 11}, 8);
    expect_f64(p, 1, (double[]){3, 4, 7, 8, 1 + 5, 2 + 6}, 6);
    nb_program_free(p);
    nb_graph_free(g);
}

/* one_hot of [1, 0, 3] with 4 classes, as f32 and as i32. */
static void test_one_hot_values(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *i = nb_input(g, "i", NB_I32, 1, (const int64_t[]){3});
    nb_node *f = nb_one_hot(g, i, 4, NB_F32);
    nb_node *n = nb_one_hot(g, i, 4, NB_I32);
    expect_shape(f, 2, (int64_t[]){3, 4});
    assert_int_equal(nb_node_dtype(f), NB_F32);
    int32_t iv[] = {1, 0, 3};
    nb_node *outs[] = {f, n};
    nb_program *p = run(g, outs, 2, (const void *[]){iv}, 1);
    static const int want[] = {0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1};
    const float *fv = nb_program_output(p, 0);
    const int32_t *nv = nb_program_output(p, 1);
    for (int k = 0; k < 12; k++) {
        assert_true(fv[k] == (float)want[k]);
        assert_int_equal(nv[k], want[k]);
    }
    nb_program_free(p);
    nb_graph_free(g);
}

/* An index out of range at run time: the run fails with a message naming the node,
 * nothing is read out of bounds, and a later run with good indices works. */
static void test_index_out_of_range(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *t = nb_input(g, "t", NB_F64, 2, (const int64_t[]){3, 2});
    nb_node *i = nb_input(g, "i", NB_I32, 1, (const int64_t[]){2});
    nb_node *y = nb_name(g, nb_gather(g, t, i), "embed");
    nb_node *h = nb_name(g, nb_one_hot(g, i, 3, NB_F64), "labels");
    double tv[] = {0, 1, 2, 3, 4, 5};
    int32_t iv[] = {0, 3};
    nb_compile_options opt = {.outputs = &y, .n_outputs = 1};
    nb_program *p = nb_compile(g, &opt);
    assert_non_null(p);
    nb_program_bind(p, "t", tv);
    nb_program_bind(p, "i", iv);
    assert_int_equal(nb_program_run(p), -1);
    const char *err = nb_program_error(p);
    assert_non_null(err);
    assert_non_null(strstr(err, "gather 'embed'"));
    assert_non_null(strstr(err, "out of range"));
    iv[1] = -1;
    assert_int_equal(nb_program_run(p), -1);
    iv[1] = 2;
    assert_int_equal(nb_program_run(p), 0);
    expect_f64(p, 0, (double[]){0, 1, 4, 5}, 4);
    nb_program_free(p);

    opt.outputs = &h;
    p = nb_compile(g, &opt);
    assert_non_null(p);
    nb_program_bind(p, "i", iv);
    iv[1] = 3;
    assert_int_equal(nb_program_run(p), -1);
    assert_non_null(strstr(nb_program_error(p), "one_hot 'labels'"));
    nb_program_free(p);
    nb_graph_free(g);
}

/* take_along_axis by hand: x [2,3] = 0..5; along axis 1 the index [[2,0],[1,1]] picks
 * 2, 0, 4, 4; along axis 0 the index [[1,0,1]] picks 3, 1, 5. An index outside [0, 3)
 * (axis 1) or [0, 2) (axis 0), below 0 too, fails the run naming the node; a good index
 * runs again. */
static void test_take_along_axis_values(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F64, 2, (const int64_t[]){2, 3});
    nb_node *i1 = nb_input(g, "i1", NB_I32, 2, (const int64_t[]){2, 2});
    nb_node *i0 = nb_input(g, "i0", NB_I32, 2, (const int64_t[]){1, 3});
    nb_node *outs[2] = {nb_name(g, nb_take_along_axis(g, x, i1, -1), "pick"),
                        nb_take_along_axis(g, x, i0, 0)};
    double xv[] = {0, 1, 2, 3, 4, 5};
    int32_t v1[] = {2, 0, 1, 1}, v0[] = {1, 0, 1};
    nb_compile_options opt = {.outputs = outs, .n_outputs = 2};
    nb_program *p = nb_compile(g, &opt);
    assert_non_null(p);
    nb_program_bind(p, "x", xv);
    nb_program_bind(p, "i1", v1);
    nb_program_bind(p, "i0", v0);
    assert_int_equal(nb_program_run(p), 0);
    expect_f64(p, 0, (double[]){2, 0, 4, 4}, 4);
    expect_f64(p, 1, (double[]){3, 1, 5}, 3);
    v1[3] = 3;
    assert_int_equal(nb_program_run(p), -1);
    assert_non_null(strstr(nb_program_error(p), "take_along_axis 'pick'"));
    assert_non_null(strstr(nb_program_error(p), "out of range"));
    v1[3] = -1;
    assert_int_equal(nb_program_run(p), -1);
    v1[3] = 1;
    v0[2] = 2; /* in range of axis 1, not of axis 0 */
    assert_int_equal(nb_program_run(p), -1);
    assert_non_null(strstr(nb_program_error(p), "take_along_axis"));
    v0[2] = 1;
    assert_int_equal(nb_program_run(p), 0);
    expect_f64(p, 1, (double[]){3, 1, 5}, 3);
    nb_program_free(p);
    nb_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_take_along_axis_values), cmocka_unit_test(test_matmul_values),
        cmocka_unit_test(test_permute_reshape_values), cmocka_unit_test(test_slice_values),
        cmocka_unit_test(test_concat_values),          cmocka_unit_test(test_concat_many_gradients),
        cmocka_unit_test(test_gather_values),          cmocka_unit_test(test_one_hot_values),
        cmocka_unit_test(test_index_out_of_range),
    };
    int failed = cmocka_run_group_tests_name("shape_values", tests, NULL, NULL);
    return failed + gc_run_table("grad_shape", cases, (int)(sizeof cases / sizeof *cases));
}
