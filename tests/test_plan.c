/* test_plan.c — the plan of a program (nb_program_plan) for small graphs, compared with
 * text written by hand: fusion, arena reuse and placement, in-place updates, transposes
 * absorbed into a matmul, views, the space set aside for swapped updates, and the arena
 * within 1.1x of the live peak on an MLP training step and a deep chain with its
 * backward pass. Sizes: every buffer takes whole 64-byte lines (CG_ALIGN); node numbers
 * are creation order in the test's graph. */
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

/* Compiles with the plan kept; fails the test on error. */
static nb_program *compile(nb_graph *g, nb_node **outs, int n_outs, nb_update *u, int n_u)
{
    nb_compile_options opt = {
        .outputs = outs, .n_outputs = n_outs, .updates = u, .n_updates = n_u, .keep_plan = 1};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(g));
    assert_non_null(nb_program_plan(p));
    return p;
}

static void expect_plan(nb_program *p, const char *want)
{
    const char *got = nb_program_plan(p);
    if (strcmp(got, want) != 0)
        fail_msg("plan:\n%s\nexpected:\n%s", got, want);
}

static void run(nb_program *p)
{
    if (nb_program_run(p) != 0)
        fail_msg("run: %s", nb_program_error(p));
}

/* Without keep_plan there is no plan text. */
static void test_plan_off_by_default(void **state)
{
    (void)state;
    int64_t s4 = 4;
    nb_graph *g = nb_graph_new();
    nb_node *y = nb_exp(g, nb_input(g, "x", NB_F32, 1, &s4));
    nb_compile_options opt = {.outputs = &y, .n_outputs = 1};
    nb_program *p = nb_compile(g, &opt);
    assert_non_null(p);
    assert_null(nb_program_plan(p));
    assert_null(nb_program_plan(NULL));
    nb_program_free(p);
    nb_graph_free(g);
}

/* A chain exp -> mul -> sin fuses into one kernel; the mul is read again by the sum
 * after it, so the loop stores it as well as the root. */
static void test_fusion(void **state)
{
    (void)state;
    int64_t s4 = 4;
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 1, &s4); /* 0 */
    nb_node *a = nb_exp(g, x);                     /* 1 */
    nb_node *b = nb_mul(g, a, x);                  /* 2 */
    nb_node *c = nb_sin(g, b);                     /* 3 */
    nb_node *s = nb_sum(g, b, NULL, 0, 0);         /* 4 */
    nb_node *outs[2] = {c, s};
    nb_program *p = compile(g, outs, 2, NULL, 0);
    /* b lives from the fused kernel to the sum; c and s to the end (outputs). At the sum
     * all three are live: 3 lines of 64 bytes. */
    expect_plan(p, "kernel k0: %3 sin f32[4]; members %1 %2 %3; operands %0; stores %2 %3\n"
                   "kernel k1: %4 sum f32[]; members %4; operands %2; stores %4\n"
                   "buffer b0: %2 f32[4] 64 bytes at 0, k0..k1\n"
                   "buffer b1: %3 f32[4] 64 bytes at 64, k0..end\n"
                   "buffer b2: %4 f32[] 64 bytes at 128, k1..end\n"
                   "arena 192 bytes, live peak 192 bytes, first fit\n");
    nb_program_free(p);
    nb_graph_free(g);
}

/* exp(x) dies at the sum that reads it; x * sum comes after, so it reuses its line. The
 * sums are over axis 0 (row-outer loops: cg_reduce.c), which take no producers into their
 * loops, so every result has a buffer of its own. */
static void test_arena_reuse(void **state)
{
    (void)state;
    int64_t s44[2] = {4, 4};
    int axis = 0;
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 2, s44); /* 0 */
    nb_node *a = nb_exp(g, x);                     /* 1 */
    nb_node *s = nb_sum(g, a, &axis, 1, 0);        /* 2 */
    nb_node *b = nb_mul(g, x, s);                  /* 3 */
    nb_node *t = nb_sum(g, b, &axis, 1, 0);        /* 4 */
    nb_program *p = compile(g, &t, 1, NULL, 0);
    expect_plan(p, "kernel k0: %1 exp f32[4,4]; members %1; operands %0; stores %1\n"
                   "kernel k1: %2 sum f32[4]; members %2; operands %1; stores %2\n"
                   "kernel k2: %3 mul f32[4,4]; members %3; operands %0 %2; stores %3\n"
                   "kernel k3: %4 sum f32[4]; members %4; operands %3; stores %4\n"
                   "buffer b0: %1 f32[4,4] 64 bytes at 0, k0..k1\n"
                   "buffer b1: %2 f32[4] 64 bytes at 64, k1..k2\n"
                   "buffer b2: %3 f32[4,4] 64 bytes at 0, k2..k3\n"
                   "buffer b3: %4 f32[4] 64 bytes at 64, k3..end\n"
                   "arena 128 bytes, live peak 128 bytes, first fit\n");
    nb_program_free(p);
    nb_graph_free(g);
}

/* Two matmuls of the same work where the second reads nothing the first writes run side
 * by side (beside each other in the plan), so what the first reads stays live through
 * the second: exp(x), read only by the first matmul (k1), lives to k2, and the second's
 * result, written at k2, is not placed over it (it would be at 0 if exp(x) were freed
 * after k1). 64 x 16 x 64 = 2^16 multiply-adds each. exp(x) (16 KiB) at 0, the first
 * product above it at 16384, the second at 20480, and the sum, written when exp(x) is
 * dead, back at 0. */
static void test_matmuls_side_by_side(void **state)
{
    (void)state;
    int64_t xs[2] = {64, 64}, ws[2] = {64, 16};
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 2, xs);   /* 0 */
    nb_node *w1 = nb_param(g, "w1", NB_F32, 2, ws); /* 1 */
    nb_node *w2 = nb_param(g, "w2", NB_F32, 2, ws); /* 2 */
    nb_node *t = nb_exp(g, x);                      /* 3 */
    nb_node *y1 = nb_matmul(g, t, w1);              /* 4 */
    nb_node *y2 = nb_matmul(g, x, w2);              /* 5 */
    nb_node *out = nb_add(g, y1, y2);               /* 6 */
    nb_program *p = compile(g, &out, 1, NULL, 0);
    expect_plan(p, "kernel k0: %3 exp f32[64,64]; members %3; operands %0; stores %3\n"
                   "kernel k1: %4 matmul f32[64,16]; members %4; operands %3 %1; stores %4; "
                   "beside k2\n"
                   "kernel k2: %5 matmul f32[64,16]; members %5; operands %0 %2; stores %5; "
                   "beside k1\n"
                   "kernel k3: %6 add f32[64,16]; members %6; operands %4 %5; stores %6\n"
                   "buffer b0: %3 f32[64,64] 16384 bytes at 0, k0..k2\n"
                   "buffer b1: %4 f32[64,16] 4096 bytes at 16384, k1..k3\n"
                   "buffer b2: %5 f32[64,16] 4096 bytes at 20480, k2..k3\n"
                   "buffer b3: %6 f32[64,16] 4096 bytes at 0, k3..end\n"
                   "arena 24576 bytes, live peak 24576 bytes, first fit\n");
    nb_program_free(p);
    nb_graph_free(g);
}

/* First fit in kernel order puts the 128-byte w * s at 192 (the line exp(x) freed at 0
 * is too small, the slice of w and the sum hold 64..192): 320 bytes for a peak of 256
 * (at k3 and k4: the slice, s or q, and w * s). Largest first puts w * s at 0 and the
 * 64-byte results around it: exp(x) at 0 (it dies before w * s is written), the slice
 * above w * s at 128, s and q at 192, and the output, written when w * s is dead, back
 * at 0. The slice takes every other row: a copy kernel, not fused into the mul. The sums
 * are over axis 0, row-outer, with no producers in their loops. */
static void test_greedy_by_size(void **state)
{
    (void)state;
    int64_t s44[2] = {4, 4}, s84[2] = {8, 4}, from[2] = {0, 0}, to[2] = {8, 4}, step[2] = {2, 1};
    int axis = 0;
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 2, s44); /* 0 */
    nb_node *w = nb_input(g, "w", NB_F32, 2, s84); /* 1 */
    nb_node *e = nb_exp(g, x);                     /* 2 */
    nb_node *y = nb_slice(g, w, from, to, step);   /* 3 */
    nb_node *s = nb_sum(g, e, &axis, 1, 0);        /* 4 */
    nb_node *z = nb_mul(g, w, s);                  /* 5 */
    nb_node *q = nb_sum(g, z, &axis, 1, 0);        /* 6 */
    nb_node *o = nb_mul(g, y, q);                  /* 7 */
    nb_program *p = compile(g, &o, 1, NULL, 0);
    expect_plan(p, "kernel k0: %2 exp f32[4,4]; members %2; operands %0; stores %2\n"
                   "kernel k1: %3 slice f32[4,4]; members %3; operands %1; stores %3\n"
                   "kernel k2: %4 sum f32[4]; members %4; operands %2; stores %4\n"
                   "kernel k3: %5 mul f32[8,4]; members %5; operands %1 %4; stores %5\n"
                   "kernel k4: %6 sum f32[4]; members %6; operands %5; stores %6\n"
                   "kernel k5: %7 mul f32[4,4]; members %7; operands %3 %6; stores %7\n"
                   "buffer b0: %2 f32[4,4] 64 bytes at 0, k0..k2\n"
                   "buffer b1: %3 f32[4,4] 64 bytes at 128, k1..k5\n"
                   "buffer b2: %4 f32[4] 64 bytes at 192, k2..k3\n"
                   "buffer b3: %5 f32[8,4] 128 bytes at 0, k3..k4\n"
                   "buffer b4: %6 f32[4] 64 bytes at 192, k4..k5\n"
                   "buffer b5: %7 f32[4,4] 64 bytes at 0, k5..end\n"
                   "arena 256 bytes, live peak 256 bytes, greedy by size\n");
    /* The numbers: o[i][j] = w[2i][j] * sum_r w[r][j] * sum_r exp(x[r][j]). */
    float xv[16], wv[32];
    double se[4] = {0}, sw[4] = {0};
    for (int i = 0; i < 16; i++) {
        xv[i] = (float)(0.1 * i - 0.7);
        se[i % 4] += exp((double)xv[i]);
    }
    for (int i = 0; i < 32; i++) {
        wv[i] = (float)(0.05 * i);
        sw[i % 4] += wv[i];
    }
    assert_int_equal(nb_program_bind(p, "x", xv), 0);
    assert_int_equal(nb_program_bind(p, "w", wv), 0);
    run(p);
    const float *out = nb_program_output(p, 0);
    for (int i = 0; i < 16; i++) {
        double want = wv[8 * (i / 4) + i % 4] * sw[i % 4] * se[i % 4];
        assert_true(fabs(out[i] - want) <= 1e-4 * (1 + fabs(want)));
    }
    nb_program_free(p);
    nb_graph_free(g);
}

/* w <- 2w. With y = w + 3 after it, the update cannot be written in place (y must read
 * the old w): it stays in the arena and is copied at the end. With y = w + 1 before it,
 * it is written straight into w. */
static void test_in_place_blocked_by_later_reader(void **state)
{
    (void)state;
    int64_t s4 = 4;
    for (int later = 0; later <= 1; later++) {
        nb_graph *g = nb_graph_new();
        nb_node *w = nb_param(g, "w", NB_F64, 1, &s4); /* 0 */
        nb_node *v, *y;
        if (later) {
            v = nb_mul(g, w, nb_scalar(g, NB_F64, 2)); /* 2 (constant 1) */
            y = nb_add(g, w, nb_scalar(g, NB_F64, 3)); /* 4 (constant 3) */
        } else {
            y = nb_add(g, w, nb_scalar(g, NB_F64, 1)); /* 2 */
            v = nb_mul(g, w, nb_scalar(g, NB_F64, 2)); /* 4 */
        }
        nb_update u = {w, v};
        nb_program *p = compile(g, &y, 1, &u, 1);
        if (later)
            expect_plan(p, "kernel k0: %2 mul f64[4]; members %2; operands %0; stores %2\n"
                           "kernel k1: %4 add f64[4]; members %4; operands %0; stores %4\n"
                           "buffer b0: %2 f64[4] 64 bytes at 0, k0..end\n"
                           "buffer b1: %4 f64[4] 64 bytes at 64, k1..end\n"
                           "arena 128 bytes, live peak 128 bytes, first fit\n");
        else
            expect_plan(p, "kernel k0: %2 add f64[4]; members %2; operands %0; stores %2\n"
                           "kernel k1: %4 mul f64[4]; members %4; operands %0; stores %4; "
                           "%4 in place of %0\n"
                           "buffer b0: %2 f64[4] 64 bytes at 0, k0..end\n"
                           "buffer b1: %4 f64[4] in place of %0, k1..end\n"
                           "arena 64 bytes, live peak 64 bytes, first fit\n");
        double wv[4] = {1, 2, 3, 4}, got[4];
        assert_int_equal(nb_program_set_param(p, "w", wv, sizeof wv), 0);
        run(p);
        const double *out = nb_program_output(p, 0);
        assert_int_equal(nb_program_get_param(p, "w", got, sizeof got), 0);
        for (int i = 0; i < 4; i++) {
            assert_float_equal(out[i], wv[i] + (later ? 3 : 1), 0);
            assert_float_equal(got[i], 2 * wv[i], 0);
        }
        nb_program_free(p);
        nb_graph_free(g);
    }
}

/* How many times needle occurs in text. */
static int count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *s = text; (s = strstr(s, needle)) != NULL; s += strlen(needle))
        n++;
    return n;
}

/* A training step of y = sum(relu(x W + b)) with the optimizer: every update (the
 * parameters, and Adam's moments and step counts) is written in place, so the plan has one
 * in-place buffer per update and the entry copies nothing at the end. */
static void test_optimizer_steps_in_place(void **state)
{
    (void)state;
    for (int adam = 0; adam <= 1; adam++) {
        int64_t xs[2] = {3, 5}, ws[2] = {5, 2}, bs[1] = {2};
        nb_graph *g = nb_graph_new();
        nb_node *x = nb_input(g, "x", NB_F32, 2, xs);
        nb_node *lr = nb_input(g, "lr", NB_F32, 0, NULL);
        nb_node *p[2] = {nb_param(g, "w", NB_F32, 2, ws), nb_param(g, "b", NB_F32, 1, bs)}, *d[2];
        nb_node *loss = nb_sum(g, nb_relu(g, nb_add(g, nb_matmul(g, x, p[0]), p[1])), NULL, 0, 0);
        assert_int_equal(nb_grad(g, loss, p, 2, d), 0);
        nb_update u[2 * NB_ADAM_UPDATES_PER_PARAM];
        int n = adam ? nb_adam(g, lr, p, d, 2, NULL, u, 2 * NB_ADAM_UPDATES_PER_PARAM)
                     : nb_sgd(g, lr, p, d, 2, NULL, u, 2 * NB_SGD_UPDATES_PER_PARAM);
        /* Plain SGD updates the parameters only; Adam also each one's two moments and
         * step count. */
        assert_int_equal(n, adam ? 2 * 4 : 2);
        nb_program *prog = compile(g, &loss, 1, u, n);
        const char *plan = nb_program_plan(prog);
        for (int i = 0; i < n; i++) {
            char want[64];
            snprintf(want, sizeof want, " in place of %%%d, ", nb_node_id(u[i].param));
            if (count(plan, want) != 1)
                fail_msg("update %d is not written in place:\n%s", i, plan);
        }
        assert_null(strstr(nb_program_source(prog), "nb_rt_copy("));
        nb_program_free(prog);
        nb_graph_free(g);
    }
}

/* matmul(a, transpose(b)) is one gemm that reads b transposed: no permute kernel. */
static void test_transpose_absorbed(void **state)
{
    (void)state;
    int64_t as[2] = {2, 3}, bs[2] = {4, 3};
    nb_graph *g = nb_graph_new();
    nb_node *a = nb_input(g, "a", NB_F32, 2, as);     /* 0 */
    nb_node *b = nb_input(g, "b", NB_F32, 2, bs);     /* 1 */
    nb_node *y = nb_matmul(g, a, nb_transpose(g, b)); /* 3 (transpose 2) */
    nb_program *p = compile(g, &y, 1, NULL, 0);
    expect_plan(p, "kernel k0: %3 matmul.T_b f32[2,4]; members %3; operands %0 %1; stores %3\n"
                   "buffer b0: %3 f32[2,4] 64 bytes at 0, k0..end\n"
                   "arena 64 bytes, live peak 64 bytes, first fit\n");
    nb_program_free(p);
    nb_graph_free(g);
}

/* Views: a reshape and slices that take a contiguous run alias their operand (a
 * result, or an input) at a byte offset, and keep it live to their last reader; a slice
 * of a slice adds the offsets; a slice across rows stays a copy kernel, and so does a
 * reshape returned as an output (outputs own their memory). */
static void test_views(void **state)
{
    (void)state;
    int64_t xs[2] = {4, 3}, s12 = 12;
    int64_t rows1[2] = {1, 0}, rows3[2] = {3, 3}, cols0[2] = {0, 0}, cols2[2] = {4, 2};
    int64_t one[2] = {1, 0}, two[2] = {2, 3}, rows2[2] = {2, 0}, rows4[2] = {4, 3};
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 2, xs);    /* 0 */
    nb_node *e = nb_exp(g, x);                       /* 1 */
    nb_node *r = nb_reshape(g, e, 1, &s12);          /* 2: view of e */
    nb_node *s = nb_slice(g, e, rows1, rows3, NULL); /* 3: rows 1, 2 of e */
    nb_node *t = nb_slice(g, x, cols0, cols2, NULL); /* 4: columns 0, 1: a copy */
    nb_node *u = nb_slice(g, s, one, two, NULL);     /* 5: row 1 of s = row 2 of e */
    nb_node *o[5];
    o[0] = nb_sum(g, r, NULL, 0, 0);                 /* 6 */
    o[1] = nb_sum(g, u, NULL, 0, 0);                 /* 7 */
    o[2] = nb_sum(g, t, NULL, 0, 0);                 /* 8 */
    o[3] = nb_reshape(g, x, 1, &s12);                /* 9: an output: a copy */
    nb_node *v = nb_slice(g, x, rows2, rows4, NULL); /* 10: rows 2, 3 of the input */
    o[4] = nb_sum(g, v, NULL, 0, 0);                 /* 11 */
    nb_program *p = compile(g, o, 5, NULL, 0);
    /* e is live until k3, the last kernel that reads it through a view. s is read only
     * by the view u: no kernel reads it. Row 1 of f32[4,3] starts at byte 12, row 2 at
     * 24. */
    expect_plan(p, "kernel k0: %1 exp f32[4,3]; members %1; operands %0; stores %1\n"
                   "kernel k1: %4 slice f32[4,2]; members %4; operands %0; stores %4\n"
                   "kernel k2: %6 sum f32[]; members %6; operands %2; stores %6\n"
                   "kernel k3: %7 sum f32[]; members %7; operands %5; stores %7\n"
                   "kernel k4: %8 sum f32[]; members %8; operands %4; stores %8\n"
                   "kernel k5: %9 reshape f32[12]; members %9; operands %0; stores %9\n"
                   "kernel k6: %11 sum f32[]; members %11; operands %10; stores %11\n"
                   "buffer b0: %1 f32[4,3] 64 bytes at 0, k0..k3\n"
                   "buffer b1: %4 f32[4,2] 64 bytes at 64, k1..k4\n"
                   "buffer b2: %6 f32[] 64 bytes at 128, k2..end\n"
                   "buffer b3: %7 f32[] 64 bytes at 192, k3..end\n"
                   "buffer b4: %8 f32[] 64 bytes at 0, k4..end\n"
                   "buffer b5: %9 f32[12] 64 bytes at 64, k5..end\n"
                   "buffer b6: %11 f32[] 64 bytes at 256, k6..end\n"
                   "buffer b7: %2 f32[12] view of %1 at byte 0, k2..k2\n"
                   "buffer b8: %3 f32[2,3] view of %1 at byte 12, read by no kernel\n"
                   "buffer b9: %5 f32[1,3] view of %1 at byte 24, k3..k3\n"
                   "buffer b10: %10 f32[2,3] view of %0 at byte 24, k6..k6\n"
                   "arena 320 bytes, live peak 320 bytes, first fit\n");
    float xv[12];
    double all = 0, row2 = 0, cols = 0, low = 0;
    for (int i = 0; i < 12; i++) {
        xv[i] = (float)(0.25 * i - 1.5);
        all += exp((double)xv[i]);
        row2 += i / 3 == 2 ? exp((double)xv[i]) : 0;
        cols += i % 3 < 2 ? xv[i] : 0;
        low += i >= 6 ? xv[i] : 0;
    }
    assert_int_equal(nb_program_bind(p, "x", xv), 0);
    run(p);
    double want[3] = {all, row2, cols};
    for (int i = 0; i < 3; i++) {
        double got = *(const float *)nb_program_output(p, i);
        assert_true(fabs(got - want[i]) <= 1e-5 * (1 + fabs(want[i])));
    }
    const float *flat = nb_program_output(p, 3);
    for (int i = 0; i < 12; i++)
        assert_float_equal(flat[i], xv[i], 0);
    assert_float_equal(*(const float *)nb_program_output(p, 4), low, 1e-5);
    nb_program_free(p);
    nb_graph_free(g);
}

/* A permute that only elementwise loops read is a view too: the add walks a's memory
 * through the transposed strides. One that a reduction reads stays a copy kernel (a
 * reduction reads its operand contiguous). */
static void test_permute_read_through_strides(void **state)
{
    (void)state;
    int64_t as[2] = {2, 3}, bs[2] = {3, 2};
    nb_graph *g = nb_graph_new();
    nb_node *a = nb_input(g, "a", NB_F32, 2, as);           /* 0 */
    nb_node *b = nb_input(g, "b", NB_F32, 2, bs);           /* 1 */
    nb_node *y = nb_add(g, nb_transpose(g, a), b);          /* 3 (transpose 2) */
    nb_node *z = nb_sum(g, nb_transpose(g, b), NULL, 0, 0); /* 5 (transpose 4) */
    nb_node *outs[2] = {y, z};
    nb_program *p = compile(g, outs, 2, NULL, 0);
    expect_plan(p, "kernel k0: %3 add f32[3,2]; members %3; operands %2 %1; stores %3\n"
                   "kernel k1: %4 permute f32[2,3]; members %4; operands %1; stores %4\n"
                   "kernel k2: %5 sum f32[]; members %5; operands %4; stores %5\n"
                   "buffer b0: %3 f32[3,2] 64 bytes at 0, k0..end\n"
                   "buffer b1: %4 f32[2,3] 64 bytes at 64, k1..k2\n"
                   "buffer b2: %5 f32[] 64 bytes at 128, k2..end\n"
                   "buffer b3: %2 f32[3,2] permuted view of %0 at byte 0, k0..k0\n"
                   "arena 192 bytes, live peak 192 bytes, first fit\n");
    float av[6] = {1, 2, 3, 4, 5, 6}, bv[6] = {10, 20, 30, 40, 50, 60};
    assert_int_equal(nb_program_bind(p, "a", av), 0);
    assert_int_equal(nb_program_bind(p, "b", bv), 0);
    run(p);
    /* y[i][j] = a[j][i] + b[i][j]; z = 10 + 20 + ... + 60. */
    static const float want[6] = {11, 24, 32, 45, 53, 66};
    const float *out = nb_program_output(p, 0);
    for (int i = 0; i < 6; i++)
        assert_float_equal(out[i], want[i], 0);
    assert_float_equal(*(const float *)nb_program_output(p, 1), 210, 0);
    nb_program_free(p);
    nb_graph_free(g);
}

/* A view of a parameter read after the kernel of the parameter's update keeps the
 * update out of place: written in place, the view would see the new values. */
static void test_view_of_updated_param(void **state)
{
    (void)state;
    int64_t ws[2] = {2, 2}, s4 = 4;
    nb_graph *g = nb_graph_new();
    nb_node *w = nb_param(g, "w", NB_F32, 2, ws);       /* 0 */
    nb_node *r = nb_reshape(g, w, 1, &s4);              /* 1: view of w */
    nb_node *v = nb_mul(g, w, nb_scalar(g, NB_F32, 2)); /* 3 (constant 2) */
    nb_node *y = nb_add(g, r, nb_scalar(g, NB_F32, 1)); /* 5 (constant 4) */
    nb_update u = {w, v};
    nb_program *p = compile(g, &y, 1, &u, 1);
    expect_plan(p, "kernel k0: %3 mul f32[2,2]; members %3; operands %0; stores %3\n"
                   "kernel k1: %5 add f32[4]; members %5; operands %1; stores %5\n"
                   "buffer b0: %3 f32[2,2] 64 bytes at 0, k0..end\n"
                   "buffer b1: %5 f32[4] 64 bytes at 64, k1..end\n"
                   "buffer b2: %1 f32[4] view of %0 at byte 0, k1..k1\n"
                   "arena 128 bytes, live peak 128 bytes, first fit\n");
    float wv[4] = {1, 2, 3, 4}, got[4];
    assert_int_equal(nb_program_set_param(p, "w", wv, sizeof wv), 0);
    run(p);
    const float *out = nb_program_output(p, 0);
    assert_int_equal(nb_program_get_param(p, "w", got, sizeof got), 0);
    for (int i = 0; i < 4; i++) {
        assert_float_equal(out[i], wv[i] + 1, 0);
        assert_float_equal(got[i], 2 * wv[i], 0);
    }
    nb_program_free(p);
    nb_graph_free(g);
}

/* a <- b, b <- a: each value is a parameter another update writes, so both are copied
 * aside at the end of the run, in arena space of their own next to the output. */
static void test_swap_set_aside(void **state)
{
    (void)state;
    int64_t s2 = 2;
    nb_graph *g = nb_graph_new();
    nb_node *a = nb_param(g, "a", NB_F32, 1, &s2); /* 0 */
    nb_node *b = nb_param(g, "b", NB_F32, 1, &s2); /* 1 */
    nb_node *y = nb_add(g, a, b);                  /* 2 */
    nb_update u[2] = {{a, b}, {b, a}};
    nb_program *p = compile(g, &y, 1, u, 2);
    expect_plan(p, "kernel k0: %2 add f32[2]; members %2; operands %0 %1; stores %2\n"
                   "buffer b0: %2 f32[2] 64 bytes at 0, k0..end\n"
                   "buffer b1: %1 set aside for update 0 64 bytes at 64, end..end\n"
                   "buffer b2: %0 set aside for update 1 64 bytes at 128, end..end\n"
                   "arena 192 bytes, live peak 192 bytes, first fit\n");
    float av[2] = {1, 2}, bv[2] = {5, 7}, got[2];
    nb_program_set_param(p, "a", av, sizeof av);
    nb_program_set_param(p, "b", bv, sizeof bv);
    run(p);
    nb_program_get_param(p, "a", got, sizeof got);
    assert_float_equal(got[0], 5, 0);
    assert_float_equal(got[1], 7, 0);
    nb_program_get_param(p, "b", got, sizeof got);
    assert_float_equal(got[0], 1, 0);
    assert_float_equal(got[1], 2, 0);
    nb_program_free(p);
    nb_graph_free(g);
}

/* The arena and live peak from the plan's last line. */
static void arena_of(nb_program *p, unsigned long long *arena, unsigned long long *peak)
{
    const char *plan = nb_program_plan(p), *last = plan, *s;
    while ((s = strstr(last, "\narena ")) != NULL)
        last = s + 1;
    assert_int_equal(sscanf(last, "arena %llu bytes, live peak %llu bytes", arena, peak), 2);
}

/* The Fashion-MNIST MLP (784-256-128-10) training step with Adam: first fit left 1.22x
 * of the live peak here. */
static void test_arena_mlp_step(void **state)
{
    (void)state;
    int64_t shapes[6][2] = {{784, 256}, {256, 0}, {256, 128}, {128, 0}, {128, 10}, {10, 0}};
    int64_t xs[2] = {64, 784}, ys[1] = {64};
    static const char *names[6] = {"w1", "b1", "w2", "b2", "w3", "b3"};
    nb_graph *g = nb_graph_new();
    nb_node *p[6], *d[6];
    for (int i = 0; i < 6; i++)
        p[i] = nb_param(g, names[i], NB_F32, i % 2 ? 1 : 2, shapes[i]);
    nb_node *x = nb_input(g, "x", NB_F32, 2, xs);
    nb_node *y = nb_input(g, "y", NB_I32, 1, ys);
    nb_node *lr = nb_input(g, "lr", NB_F32, 0, NULL);
    nb_node *h = nb_relu(g, nb_add(g, nb_matmul(g, x, p[0]), p[1]));
    h = nb_relu(g, nb_add(g, nb_matmul(g, h, p[2]), p[3]));
    nb_node *logits = nb_add(g, nb_matmul(g, h, p[4]), p[5]);
    nb_node *loss = nb_cross_entropy(g, logits, y, NB_REDUCTION_MEAN);
    assert_int_equal(nb_grad(g, loss, p, 6, d), 0);
    nb_update u[6 * NB_ADAM_UPDATES_PER_PARAM];
    int n = nb_adam(g, lr, p, d, 6, NULL, u, 6 * NB_ADAM_UPDATES_PER_PARAM);
    nb_node *outs[2] = {loss, logits};
    nb_program *prog = compile(g, outs, 2, u, n);
    unsigned long long arena, peak;
    arena_of(prog, &arena, &peak);
    print_message("MLP step: arena %llu bytes, live peak %llu bytes\n", arena, peak);
    /* The peak holds at least the batch's input-sized gradient-free activations. */
    assert_true(peak >= 64ull * 256 * 4);
    assert_true(arena >= peak && (double)arena <= 1.1 * (double)peak);
    nb_program_free(prog);
    nb_graph_free(g);
}

/* A Linear layer's bias and ReLU, forward and backward, are one loop after the gemm:
 * relu's gradient tests its result y (y <= 0 where x <= 0), so the loop keeps
 * x w + b (%5) in a register rather than storing it for the backward pass, and the
 * gradient's mul by gy and where (%11 .. %16) join it. Then the bias gradient's sum
 * and the weight gradient's gemm. %7 .. %10 are the scalar seed of the gradient:
 * d sum / d sum = 1, broadcast (%10 a view of the constant). */
static void test_linear_relu_one_pass(void **state)
{
    (void)state;
    int64_t xs[2] = {2, 3}, ws[2] = {3, 4}, bs = 4, gys[2] = {2, 4};
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 2, xs);              /* 0 */
    nb_node *gy = nb_input(g, "gy", NB_F32, 2, gys);           /* 1 */
    nb_node *w = nb_param(g, "w", NB_F32, 2, ws);              /* 2 */
    nb_node *b = nb_param(g, "b", NB_F32, 1, &bs);             /* 3 */
    nb_node *y = nb_relu(g, nb_add(g, nb_matmul(g, x, w), b)); /* 4 matmul, 5 add, 6 relu */
    nb_node *l = nb_sum(g, nb_mul(g, y, gy), NULL, 0, 0);      /* 7 mul, 8 sum */
    nb_node *ps[2] = {w, b}, *outs[3] = {y};
    assert_int_equal(nb_grad(g, l, ps, 2, outs + 1), 0);
    nb_program *p = compile(g, outs, 3, NULL, 0);
    expect_plan(p, "kernel k0: %4 matmul f32[2,4]; members %4; operands %0 %2; stores %4\n"
                   "kernel k1: %16 where f32[2,4]; members %5 %6 %11 %12 %14 %16; operands %4 "
                   "%3 %10 %1; stores %6 %16\n"
                   "kernel k2: %17 sum f32[1,4]; members %17; operands %16; stores %17\n"
                   "kernel k3: %18 reshape f32[4]; members %18; operands %17; stores %18\n"
                   "kernel k4: %19 matmul.T_a f32[3,4]; members %19; operands %0 %16; stores "
                   "%19\n"
                   "buffer b0: %4 f32[2,4] 64 bytes at 0, k0..k1\n"
                   "buffer b1: %6 f32[2,4] 64 bytes at 64, k1..end\n"
                   "buffer b2: %16 f32[2,4] 64 bytes at 128, k1..k4\n"
                   "buffer b3: %17 f32[1,4] 64 bytes at 0, k2..k3\n"
                   "buffer b4: %18 f32[4] 64 bytes at 192, k3..end\n"
                   "buffer b5: %19 f32[3,4] 64 bytes at 0, k4..end\n"
                   "buffer b6: %10 f32[1,1] view of %9 at byte 0, k1..k1\n"
                   "arena 256 bytes, live peak 256 bytes, first fit\n");
    /* The gradient at relu's kinks, by hand (PyTorch's threshold_backward): x w + b of
     * -1, -0, +0, NaN, 2 with gy = inf, inf, inf, 3, 4 and w = identity, b = 0: 0 where
     * x <= 0 (the inf dropped, not 0 * inf), gy at NaN and 2. */
    nb_program_free(p);
    nb_graph_free(g);
    int64_t s5 = 5;
    g = nb_graph_new();
    x = nb_input(g, "x", NB_F32, 1, &s5);
    gy = nb_input(g, "gy", NB_F32, 1, &s5);
    l = nb_sum(g, nb_mul(g, nb_relu(g, x), gy), NULL, 0, 0);
    nb_node *dx;
    assert_int_equal(nb_grad(g, l, &x, 1, &dx), 0);
    for (int be = 0; be < 2; be++) {
        nb_compile_options opt = {
            .outputs = &dx, .n_outputs = 1, .backend = be ? NB_BACKEND_CC : NB_BACKEND_TCC};
        p = nb_compile(g, &opt);
        assert_non_null(p);
        float xv[5] = {-1.0f, -0.0f, 0.0f, NAN, 2.0f};
        float gv[5] = {INFINITY, INFINITY, INFINITY, 3.0f, 4.0f};
        float want[5] = {0.0f, 0.0f, 0.0f, 3.0f, 4.0f};
        assert_int_equal(nb_program_bind(p, "x", xv), 0);
        assert_int_equal(nb_program_bind(p, "gy", gv), 0);
        run(p);
        const float *got = nb_program_output(p, 0);
        for (int i = 0; i < 5; i++)
            if (memcmp(&got[i], &want[i], sizeof *got) != 0)
                fail_msg("relu gradient %d: %g, expected %g", i, got[i], want[i]);
        nb_program_free(p);
    }
    nb_graph_free(g);
}

/* Softmax cross-entropy (mean) and its gradient for the logits: 6 kernels, 3 passes over
 * [4, 3]. Forward: the max (its stop_gradient is gone after autodiff: ir_rewrite.c); one
 * loop for the shifted scores (%4, stored for the backward pass) and their exp-sum (one
 * pass: no max of its own, cg_reduce.c), the sub fused into the logsumexp's loop
 * (cg_fuse.c); the label's score picked by take_along_axis (%7); the per-sample losses
 * lse - (pick - max) computed in the loop of their sum (%10), scaled by 1/4 where the
 * sum is finalized (%12, the same kernel). Backward:
 * the seed broadcast and negated per sample, then one loop over [4, 3] for softmax times
 * the seed plus the select of the label's column (the pick's gradient: %20, %21). */
static void test_cross_entropy_kernels(void **state)
{
    (void)state;
    int64_t zs[2] = {4, 3}, n = 4;
    nb_graph *g = nb_graph_new();
    nb_node *z = nb_input(g, "z", NB_F32, 2, zs);           /* 0 */
    nb_node *labels = nb_input(g, "labels", NB_I32, 1, &n); /* 1 */
    nb_node *l = nb_cross_entropy(g, z, labels, NB_REDUCTION_MEAN);
    nb_node *outs[2] = {l};
    assert_int_equal(nb_grad(g, l, &z, 1, outs + 1), 0);
    nb_program *p = compile(g, outs, 2, NULL, 0);
    expect_plan(p, "kernel k0: %2 max f32[4,1]; members %2; operands %0; stores %2\n"
                   "kernel k1: %5 logsumexp f32[4,1]; members %4 %5; operands %0 %2; stores %4 "
                   "%5\n"
                   "kernel k2: %7 take_along_axis f32[4,1]; members %7; operands %0 %6; stores "
                   "%7\n"
                   "kernel k3: %12 mul f32[]; members %8 %9 %10 %12; operands %7 %2 %5; stores "
                   "%12\n"
                   "kernel k4: %17 neg f32[4,1]; members %16 %17; operands %15; stores %16 %17\n"
                   "kernel k5: %25 add f32[4,3]; members %20 %21 %22 %23 %24 %25; operands %6 "
                   "%19 %17 %4 %5 %16; stores %25\n"
                   "buffer b0: %2 f32[4,1] 64 bytes at 0, k0..k3\n"
                   "buffer b1: %4 f32[4,3] 64 bytes at 64, k1..k5\n"
                   "buffer b2: %5 f32[4,1] 64 bytes at 128, k1..k5\n"
                   "buffer b3: %7 f32[4,1] 64 bytes at 192, k2..k3\n"
                   "buffer b4: %12 f32[] 64 bytes at 256, k3..end\n"
                   "buffer b5: %16 f32[4,1] 64 bytes at 0, k4..k5\n"
                   "buffer b6: %17 f32[4,1] 64 bytes at 192, k4..k5\n"
                   "buffer b7: %25 f32[4,3] 64 bytes at 320, k5..end\n"
                   "buffer b8: %6 i32[4,1] view of %1 at byte 0, k2..k5\n"
                   "buffer b9: %15 f32[1,1] view of %11 at byte 0, k4..k4\n"
                   "arena 384 bytes, live peak 384 bytes, first fit\n");
    nb_program_free(p);
    nb_graph_free(g);
}

/* Elementwise consumers of a reduction in its kernel, computed where each output element
 * is finalized: a row sum negated and its mean (1/4) is one kernel, the sum's producer
 * too; sum -> neg -> sum is two, the outer sum taking the negation as its producer
 * (cg_fuse.c fuses one reduction per kernel). */
static void test_reduction_consumer_kernels(void **state)
{
    (void)state;
    int64_t xs[2] = {4, 3};
    int rows = 1;
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 2, xs);               /* 0 */
    nb_node *s = nb_sum(g, nb_exp(g, x), &rows, 1, 0);          /* 1, 2 */
    nb_node *neg = nb_neg(g, s);                                /* 3 */
    nb_node *mean = nb_mul(g, neg, nb_scalar(g, NB_F32, 0.25)); /* 4, 5 */
    nb_node *inner = nb_sum(g, x, &rows, 1, 0);                 /* 6 */
    nb_node *total = nb_sum(g, nb_neg(g, inner), NULL, 0, 0);   /* 7, 8 */
    nb_node *outs[2] = {mean, total};
    nb_program *p = compile(g, outs, 2, NULL, 0);
    expect_plan(p, "kernel k0: %5 mul f32[4]; members %1 %2 %3 %5; operands %0; stores %5\n"
                   "kernel k1: %6 sum f32[4]; members %6; operands %0; stores %6\n"
                   "kernel k2: %8 sum f32[]; members %7 %8; operands %6; stores %8\n"
                   "buffer b0: %5 f32[4] 64 bytes at 0, k0..end\n"
                   "buffer b1: %6 f32[4] 64 bytes at 64, k1..k2\n"
                   "buffer b2: %8 f32[] 64 bytes at 128, k2..end\n"
                   "arena 192 bytes, live peak 192 bytes, first fit\n");
    /* x = 0: each row's exps sum to 3, so the mean is -0.75; the total is -0 summed. */
    float xv[12] = {0};
    assert_int_equal(nb_program_bind(p, "x", xv), 0);
    run(p);
    for (int i = 0; i < 4; i++)
        assert_true(((const float *)nb_program_output(p, 0))[i] == -0.75f);
    assert_true(((const float *)nb_program_output(p, 1))[0] == 0.0f);
    nb_program_free(p);
    nb_graph_free(g);
}

/* h = tanh(h * w_i) through `layers` layers of width 4, the gradient of sum(h) and SGD:
 * every tanh is live until the backward pass reads it. */
static void test_arena_deep_chain(void **state)
{
    (void)state;
    enum { LAYERS = 200 };
    nb_graph *g = nb_graph_new();
    nb_node *h = nb_input(g, "x", NB_F32, 1, (int64_t[]){4});
    nb_node *lr = nb_input(g, "lr", NB_F32, 0, NULL);
    nb_node *ps[LAYERS], *gs[LAYERS];
    nb_update u[LAYERS * NB_SGD_UPDATES_PER_PARAM];
    for (int i = 0; i < LAYERS; i++) {
        char name[32];
        snprintf(name, sizeof name, "w%d", i);
        ps[i] = nb_param(g, name, NB_F32, 1, (int64_t[]){4});
        h = nb_tanh(g, nb_mul(g, h, ps[i]));
    }
    nb_node *loss = nb_sum(g, h, NULL, 0, 0);
    assert_int_equal(nb_grad(g, loss, ps, LAYERS, gs), 0);
    int n = nb_sgd(g, lr, ps, gs, LAYERS, NULL, u, LAYERS * NB_SGD_UPDATES_PER_PARAM);
    nb_program *p = compile(g, &loss, 1, u, n);
    unsigned long long arena, peak;
    arena_of(p, &arena, &peak);
    print_message("deep chain: arena %llu bytes, live peak %llu bytes\n", arena, peak);
    /* Every layer's tanh (one 64-byte line) is live when the backward pass starts. */
    assert_true(peak >= LAYERS * 64ull);
    assert_true(arena >= peak && (double)arena <= 1.1 * (double)peak);
    nb_program_free(p);
    nb_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_off_by_default),
        cmocka_unit_test(test_fusion),
        cmocka_unit_test(test_arena_reuse),
        cmocka_unit_test(test_greedy_by_size),
        cmocka_unit_test(test_in_place_blocked_by_later_reader),
        cmocka_unit_test(test_optimizer_steps_in_place),
        cmocka_unit_test(test_transpose_absorbed),
        cmocka_unit_test(test_views),
        cmocka_unit_test(test_permute_read_through_strides),
        cmocka_unit_test(test_view_of_updated_param),
        cmocka_unit_test(test_swap_set_aside),
        cmocka_unit_test(test_matmuls_side_by_side),
        cmocka_unit_test(test_linear_relu_one_pass),
        cmocka_unit_test(test_cross_entropy_kernels),
        cmocka_unit_test(test_reduction_consumer_kernels),
        cmocka_unit_test(test_arena_mlp_step),
        cmocka_unit_test(test_arena_deep_chain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
