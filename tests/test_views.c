/* test_views.c — views (reshapes, contiguous slices and permutes that alias their
 * operand's memory) in the places where aliasing can go wrong, each run on tcc and
 * checked against values computed here by plain loops: a permute of a slice of a kernel
 * result fused with broadcast operands; a parameter updated in place from its own
 * transpose; a view of a view of a parameter read after the update's kernel; views of
 * an input and of a constant; slices of one index with a negative step and along size-1
 * axes; a stepped slice (a copy); views of a parameter in a program that shares the
 * state another program updates; a view whose base's arena space is wanted by many
 * later results. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nabla.h"

static nb_program *compile(nb_graph *g, nb_node **outs, int n_outs, nb_update *u, int n_u,
                           nb_program *share)
{
    if (nb_graph_error(g))
        fail_msg("build: %s", nb_graph_error(g));
    nb_compile_options opt = {.outputs = outs,
                              .n_outputs = n_outs,
                              .updates = u,
                              .n_updates = n_u,
                              .share_state = share,
                              .backend = NB_BACKEND_TCC,
                              .keep_plan = 1};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(g));
    return p;
}

static void run(nb_program *p)
{
    if (nb_program_run(p) != 0)
        fail_msg("run: %s", nb_program_error(p));
}

/* The plan says node %<origin> is a view (of any kind). */
static int is_view(nb_program *p, int origin)
{
    char want[64];
    snprintf(want, sizeof want, ": %%%d f", origin);
    const char *s = strstr(nb_program_plan(p), want);
    return s && strchr(s, '\n') > strstr(s, "view of");
}

static void expect_close(const float *got, const double *want, int n, const char *what)
{
    for (int i = 0; i < n; i++)
        if (!(fabs(got[i] - want[i]) <= 1e-6 * (1 + fabs(want[i]))))
            fail_msg("%s[%d]: %.9g, expected %.9g", what, i, (double)got[i], want[i]);
}

/* y = transpose(slice(exp(a), rows 1..2)) * c + where(d > 0, d, -d): the transpose
 * reads a slice that starts 3 elements into exp(a)'s buffer, through permuted strides,
 * in one loop with a column c[3,1] and a row d[2] broadcast. */
static void test_permute_of_slice_broadcast(void **state)
{
    (void)state;
    int64_t as[2] = {4, 3}, cs[2] = {3, 1}, ds[1] = {2}, start[2] = {1, 0}, stop[2] = {3, 3};
    nb_graph *g = nb_graph_new();
    nb_node *a = nb_input(g, "a", NB_F32, 2, as);              /* 0 */
    nb_node *c = nb_input(g, "c", NB_F32, 2, cs);              /* 1 */
    nb_node *d = nb_input(g, "d", NB_F32, 1, ds);              /* 2 */
    nb_node *s = nb_slice(g, nb_exp(g, a), start, stop, NULL); /* 3 exp, 4 slice */
    nb_node *t = nb_transpose(g, s);                           /* 5 */
    nb_node *pos = nb_gt(g, d, nb_scalar(g, NB_F32, 0));       /* 6 const, 7 gt */
    nb_node *dd = nb_where(g, pos, d, nb_neg(g, d));           /* 8 neg, 9 where */
    nb_node *y = nb_add(g, nb_mul(g, t, c), dd);               /* 10 mul, 11 add */
    nb_program *p = compile(g, &y, 1, NULL, 0, NULL);
    assert_true(is_view(p, 4) && is_view(p, 5));
    float av[12], cv[3] = {0.5f, -2.0f, 3.0f}, dv[2] = {-1.25f, 0.75f};
    for (int i = 0; i < 12; i++)
        av[i] = 0.125f * (float)i - 0.5f;
    nb_program_bind(p, "a", av);
    nb_program_bind(p, "c", cv);
    nb_program_bind(p, "d", dv);
    run(p);
    double want[6];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 2; j++)
            want[i * 2 + j] = (double)expf(av[(1 + j) * 3 + i]) * cv[i] + fabs((double)dv[j]);
    expect_close(nb_program_output(p, 0), want, 6, "y");
    nb_program_free(p);
    nb_graph_free(g);
}

/* w <- w + transpose(w) reads w through a permuted view in the kernel that would write
 * it in place (nothing reads w after it): it must read every old value, so the update
 * is not written in place. */
static void test_update_from_own_transpose(void **state)
{
    (void)state;
    int64_t ws[2] = {3, 3};
    nb_graph *g = nb_graph_new();
    nb_node *w = nb_param(g, "w", NB_F32, 2, ws);
    nb_node *y = nb_sum(g, w, NULL, 0, 0); /* before v: its kernel runs first */
    nb_node *v = nb_add(g, w, nb_transpose(g, w));
    nb_update u = {w, v};
    nb_program *p = compile(g, &y, 1, &u, 1, NULL);
    assert_null(strstr(nb_program_plan(p), "in place of"));
    float wv[9], got[9];
    for (int i = 0; i < 9; i++)
        wv[i] = (float)(i * i) - 4.0f;
    nb_program_set_param(p, "w", wv, sizeof wv);
    run(p);
    assert_int_equal(nb_program_get_param(p, "w", got, sizeof got), 0);
    double want[9], sum = 0;
    for (int i = 0; i < 9; i++) {
        want[i] = (double)wv[i] + wv[(i % 3) * 3 + i / 3];
        sum += wv[i];
    }
    expect_close(got, want, 9, "w");
    double out = *(const float *)nb_program_output(p, 0);
    expect_close(&(float){(float)out}, &sum, 1, "sum");
    nb_program_free(p);
    nb_graph_free(g);
}

/* r = reshape(slice(w, row 1), [3]) is a view of a view of w, read after the kernel of
 * w's update w <- w - 1: it must see the old row. */
static void test_view_of_view_of_updated_param(void **state)
{
    (void)state;
    int64_t ws[2] = {2, 3}, start[2] = {1, 0}, stop[2] = {2, 3}, s3 = 3;
    nb_graph *g = nb_graph_new();
    nb_node *w = nb_param(g, "w", NB_F32, 2, ws);
    nb_node *v = nb_sub(g, w, nb_scalar(g, NB_F32, 1));
    nb_node *r = nb_reshape(g, nb_slice(g, w, start, stop, NULL), 1, &s3);
    nb_node *y = nb_mul(g, r, nb_scalar(g, NB_F32, 2));
    nb_update u = {w, v};
    nb_program *p = compile(g, &y, 1, &u, 1, NULL);
    float wv[6] = {1, 2, 3, 4, 5, 6}, got[6];
    for (int rep = 0; rep < 2; rep++) {
        float old[6];
        nb_program_get_param(p, "w", old, sizeof old);
        if (rep == 0)
            nb_program_set_param(p, "w", wv, sizeof wv), memcpy(old, wv, sizeof old);
        run(p);
        double want[3], neww[6];
        for (int i = 0; i < 3; i++)
            want[i] = 2.0 * old[3 + i];
        for (int i = 0; i < 6; i++)
            neww[i] = old[i] - 1.0;
        expect_close(nb_program_output(p, 0), want, 3, "y");
        nb_program_get_param(p, "w", got, sizeof got);
        expect_close(got, neww, 6, "w");
    }
    nb_program_free(p);
    nb_graph_free(g);
}

/* Views of an input and of a constant, read together in one fused loop. */
static void test_views_of_input_and_constant(void **state)
{
    (void)state;
    int64_t xs[2] = {3, 4}, cs[2] = {2, 6}, s12 = 12, start[2] = {1, 0}, stop[2] = {2, 6};
    int64_t x_start[2] = {1, 0}, x_stop[2] = {3, 4}, s6[2] = {2, 3}, s8 = 8;
    double cd[12];
    for (int i = 0; i < 12; i++)
        cd[i] = 0.5 * i - 3;
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 2, xs);
    nb_node *k = nb_constant(g, NB_F32, 2, cs, cd);
    nb_node *kr = nb_reshape(g, nb_slice(g, k, start, stop, NULL), 2, s6); /* row 1 as [2,3] */
    nb_node *xr = nb_reshape(g, nb_slice(g, x, x_start, x_stop, NULL), 1, &s8);
    nb_node *a = nb_add(g, nb_reshape(g, x, 1, &s12), nb_reshape(g, k, 1, &s12));
    nb_node *b = nb_mul(g, kr, nb_scalar(g, NB_F32, 3));
    nb_node *c = nb_sub(g, xr, nb_scalar(g, NB_F32, 1));
    nb_node *outs[3] = {a, b, c};
    nb_program *p = compile(g, outs, 3, NULL, 0, NULL);
    float xv[12];
    for (int i = 0; i < 12; i++)
        xv[i] = (float)(7 - i) / 4.0f;
    nb_program_bind(p, "x", xv);
    run(p);
    double wa[12], wb[6], wc[8];
    for (int i = 0; i < 12; i++)
        wa[i] = (double)xv[i] + cd[i];
    for (int i = 0; i < 6; i++)
        wb[i] = 3.0 * cd[6 + i];
    for (int i = 0; i < 8; i++)
        wc[i] = (double)xv[4 + i] - 1.0;
    expect_close(nb_program_output(p, 0), wa, 12, "x + k");
    expect_close(nb_program_output(p, 1), wb, 6, "3 k[1]");
    expect_close(nb_program_output(p, 2), wc, 8, "x[1:3] - 1");
    nb_program_free(p);
    nb_graph_free(g);
}

/* Slices that take one run (views) and one that does not (a copy): part of one row,
 * a block whose later axes are whole or of size 1, and every other row. */
static void test_slices_runs_and_steps(void **state)
{
    (void)state;
    int64_t xs[3] = {4, 1, 5};
    /* [3:4:7, :, 1:4]: x[3, 0, 1..3], a run at element 16 (the step of an axis of one
     * index does not matter) */
    int64_t s1[3] = {3, 0, 1}, e1[3] = {4, 1, 4}, st1[3] = {7, 1, 1};
    /* [1:3, :, :]: rows 1, 2 whole, a run at element 5 */
    int64_t s2[3] = {1, 0, 0}, e2[3] = {3, 1, 5};
    /* [0:4:2, :, :]: rows 0 and 2, not a run */
    int64_t s3[3] = {0, 0, 0}, e3[3] = {4, 1, 5}, st3[3] = {2, 1, 1};
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 3, xs);
    nb_node *e = nb_exp(g, x); /* 1 */
    nb_node *a = nb_slice(g, e, s1, e1, st1);
    nb_node *b = nb_slice(g, e, s2, e2, NULL);
    nb_node *c = nb_slice(g, e, s3, e3, st3);
    nb_node *outs[3] = {nb_neg(g, a), nb_neg(g, b), nb_neg(g, c)};
    nb_program *p = compile(g, outs, 3, NULL, 0, NULL);
    assert_true(is_view(p, 2) && is_view(p, 3) && !is_view(p, 4));
    float xv[20];
    for (int i = 0; i < 20; i++)
        xv[i] = 0.1f * (float)i - 1.0f;
    nb_program_bind(p, "x", xv);
    run(p);
    double wa[3], wb[10], wc[10];
    for (int i = 0; i < 3; i++)
        wa[i] = -(double)expf(xv[16 + i]);
    for (int i = 0; i < 10; i++) {
        wb[i] = -(double)expf(xv[5 + i]);
        wc[i] = -(double)expf(xv[(i / 5) * 10 + i % 5]);
    }
    expect_close(nb_program_output(p, 0), wa, 3, "row 3");
    expect_close(nb_program_output(p, 1), wb, 10, "rows 1, 2");
    expect_close(nb_program_output(p, 2), wc, 10, "rows 0, 2");
    nb_program_free(p);
    nb_graph_free(g);
}

/* Program a updates w <- 0.5 w (in place); program b shares a's state and reads w
 * through a reshape and a transpose: after a's run, b sees the new w. */
static void test_views_of_shared_state(void **state)
{
    (void)state;
    int64_t ws[2] = {2, 3}, s6 = 6;
    nb_graph *g = nb_graph_new();
    nb_node *w = nb_param(g, "w", NB_F32, 2, ws);
    nb_node *v = nb_mul(g, w, nb_scalar(g, NB_F32, 0.5));
    nb_node *n = nb_sum(g, v, NULL, 0, 0);
    nb_node *r = nb_add(g, nb_reshape(g, w, 1, &s6), nb_scalar(g, NB_F32, 1));
    nb_node *t = nb_mul(g, nb_transpose(g, w), nb_scalar(g, NB_F32, 2));
    nb_update u = {w, v};
    nb_program *a = compile(g, &n, 1, &u, 1, NULL);
    nb_node *outs[2] = {r, t};
    nb_program *b = compile(g, outs, 2, NULL, 0, a);
    assert_non_null(strstr(nb_program_plan(a), " in place of %0"));
    float wv[6] = {2, 4, 6, 8, 10, 12};
    nb_program_set_param(a, "w", wv, sizeof wv);
    for (int rep = 1; rep <= 2; rep++) {
        run(a);
        run(b);
        double scale = rep == 1 ? 0.5 : 0.25, wr[6], wt[6];
        for (int i = 0; i < 6; i++) {
            wr[i] = wv[i] * scale + 1;
            wt[i] = 2 * wv[(i % 2) * 3 + i / 2] * scale;
        }
        expect_close(nb_program_output(b, 0), wr, 6, "reshape(w) + 1");
        expect_close(nb_program_output(b, 1), wt, 6, "2 transpose(w)");
    }
    nb_program_free(b);
    nb_program_free(a);
    nb_graph_free(g);
}

/* r = reshape(exp(x)) is read by the last kernel only; twelve results of its size come
 * and go in between (each read once, so their space is free for the next): r's base
 * must keep its bytes until that last read. The steps contract (0.5 acc + 0.01 sum),
 * so that a different order of the sums cannot grow into a different result. */
static void test_view_outlives_reused_space(void **state)
{
    (void)state;
    enum { STEPS = 12 };
    int64_t xs[1] = {16}, rs[2] = {4, 4};
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 1, xs);
    nb_node *r = nb_reshape(g, nb_exp(g, x), 2, rs);
    nb_node *acc = x;
    for (int s = 0; s < STEPS; s++) /* a sum between steps keeps them separate kernels */
        acc = nb_add(g, nb_mul(g, acc, nb_scalar(g, NB_F32, 0.5)),
                     nb_mul(g, nb_sum(g, nb_sin(g, acc), NULL, 0, 0), nb_scalar(g, NB_F32, 0.01)));
    nb_node *y = nb_add(g, nb_reshape(g, acc, 2, rs), r);
    nb_program *p = compile(g, &y, 1, NULL, 0, NULL);
    float xv[16];
    for (int i = 0; i < 16; i++)
        xv[i] = 0.2f * (float)i - 1.5f;
    nb_program_bind(p, "x", xv);
    run(p);
    double want[16];
    float acc_v[16];
    memcpy(acc_v, xv, sizeof acc_v);
    for (int s = 0; s < STEPS; s++) {
        float sum = 0;
        for (int i = 0; i < 16; i++)
            sum += sinf(acc_v[i]);
        for (int i = 0; i < 16; i++)
            acc_v[i] = acc_v[i] * 0.5f + sum * 0.01f;
    }
    for (int i = 0; i < 16; i++)
        want[i] = (double)acc_v[i] + expf(xv[i]);
    const float *got = nb_program_output(p, 0);
    for (int i = 0; i < 16; i++)
        if (!(fabs(got[i] - want[i]) <= 1e-4 * (1 + fabs(want[i]))))
            fail_msg("y[%d]: %.9g, expected %.9g", i, (double)got[i], want[i]);
    nb_program_free(p);
    nb_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_permute_of_slice_broadcast),
        cmocka_unit_test(test_update_from_own_transpose),
        cmocka_unit_test(test_view_of_view_of_updated_param),
        cmocka_unit_test(test_views_of_input_and_constant),
        cmocka_unit_test(test_slices_runs_and_steps),
        cmocka_unit_test(test_views_of_shared_state),
        cmocka_unit_test(test_view_outlives_reused_space),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
