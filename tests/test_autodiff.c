/* test_autodiff.c — the autodiff pass end to end in f64: second derivatives by hand, a
 * Hessian-vector product against finite differences of the gradient, fan-out sums,
 * zero gradients of unrelated inputs, vector-Jacobian products and stop_gradient. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nabla.h"

/* Flip when nb_stop_gradient is on main. */
#ifndef AUTODIFF_HAVE_STOP_GRADIENT
#define AUTODIFF_HAVE_STOP_GRADIENT 1
#endif

#define MAX_OUT 8

/* Compiles outs[0..n) of g, binds the inputs named in names[] to data[], runs, and
 * copies output i into res[i] (f64). Frees nothing of the caller's. */
static nb_program *compile(nb_graph *g, nb_node *const *outs, int n)
{
    if (nb_graph_error(g))
        fail_msg("build: %s", nb_graph_error(g));
    nb_compile_options opt = {.outputs = outs, .n_outputs = n};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(g));
    return p;
}

static const double *run(nb_program *p, int out)
{
    if (nb_program_run(p) != 0)
        fail_msg("run: %s", nb_program_error(p));
    assert_int_equal(nb_program_output_dtype(p, out), NB_F64);
    return nb_program_output(p, out);
}

static void near(double a, double e, double tol, const char *what, int i)
{
    if (!(fabs(a - e) <= tol * fmax(1.0, fabs(e))))
        fail_msg("%s[%d] = %.17g, expected %.17g", what, i, a, e);
}

static void test_second_derivative_cube(void **state)
{
    (void)state;
    const int64_t s5[] = {5};
    const double xv[5] = {-2.0, -0.5, 0.0, 1.0, 3.0};
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F64, 1, s5);
    nb_node *y = nb_sum(g, nb_mul(g, nb_mul(g, x, x), x), NULL, 0, 0);
    nb_node *d1, *d2, *d3;
    assert_int_equal(nb_grad(g, y, &x, 1, &d1), 0);
    assert_int_equal(nb_grad(g, nb_sum(g, d1, NULL, 0, 0), &x, 1, &d2), 0);
    assert_int_equal(nb_grad(g, nb_sum(g, d2, NULL, 0, 0), &x, 1, &d3), 0);
    nb_node *outs[] = {y, d1, d2, d3};
    nb_program *p = compile(g, outs, 4);
    nb_graph_free(g);
    assert_int_equal(nb_program_bind(p, "x", xv), 0);
    for (int i = 0; i < 5; i++) {
        near(run(p, 1)[i], 3 * xv[i] * xv[i], 1e-14, "3x^2", i);
        near(run(p, 2)[i], 6 * xv[i], 1e-14, "6x", i);
        near(run(p, 3)[i], 6.0, 1e-14, "6", i);
    }
    near(run(p, 0)[0], -8 - 0.125 + 0 + 1 + 27, 1e-14, "sum x^3", 0);
    nb_program_free(p);
}

/* f(w) = log(sum(exp(w a))) * sum(w w) + sigmoid(sum(w b)): a Hessian with cross terms.
 * Builds f, its gradient g and the product H v = d/dw sum(g v). */
static void hvp_graph(nb_graph *g, nb_node **grad, nb_node **hv)
{
    const int64_t s3[] = {3};
    const double av[] = {0.7, -1.3, 0.4}, bv[] = {1.1, 0.5, -0.8};
    nb_node *w = nb_input(g, "w", NB_F64, 1, s3);
    nb_node *v = nb_input(g, "v", NB_F64, 1, s3);
    nb_node *a = nb_constant(g, NB_F64, 1, s3, av);
    nb_node *b = nb_constant(g, NB_F64, 1, s3, bv);
    nb_node *lse = nb_log(g, nb_sum(g, nb_exp(g, nb_mul(g, w, a)), NULL, 0, 0));
    nb_node *sq = nb_sum(g, nb_mul(g, w, w), NULL, 0, 0);
    nb_node *f =
        nb_add(g, nb_mul(g, lse, sq), nb_sigmoid(g, nb_sum(g, nb_mul(g, w, b), NULL, 0, 0)));
    assert_int_equal(nb_grad(g, f, &w, 1, grad), 0);
    nb_node *gv = nb_sum(g, nb_mul(g, *grad, v), NULL, 0, 0);
    assert_int_equal(nb_grad(g, gv, &w, 1, hv), 0);
}

static void test_hvp_vs_finite_differences(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *grad, *hv;
    hvp_graph(g, &grad, &hv);
    nb_node *outs[] = {grad, hv};
    nb_program *p = compile(g, outs, 2);
    nb_graph_free(g);
    const double w0[3] = {0.3, -0.9, 1.4}, v[3] = {0.5, 1.0, -0.75};
    double w[3], gp[3], gm[3], hvv[3];
    const double h = 1e-5;
    assert_int_equal(nb_program_bind(p, "w", w), 0);
    assert_int_equal(nb_program_bind(p, "v", v), 0);
    memcpy(w, w0, sizeof w);
    memcpy(hvv, run(p, 1), sizeof hvv);
    for (int i = 0; i < 3; i++)
        w[i] = w0[i] + h * v[i];
    memcpy(gp, run(p, 0), sizeof gp);
    for (int i = 0; i < 3; i++)
        w[i] = w0[i] - h * v[i];
    memcpy(gm, run(p, 0), sizeof gm);
    double norm = 0;
    for (int i = 0; i < 3; i++) {
        double fd = (gp[i] - gm[i]) / (2 * h);
        norm += fabs(hvv[i]);
        if (!(fabs(hvv[i] - fd) <= 1e-6 + 1e-6 * fabs(fd)))
            fail_msg("Hv[%d] = %.12g, finite differences %.12g", i, hvv[i], fd);
    }
    assert_true(norm > 0.1); /* a product that is not trivially zero */
    nb_program_free(p);
}

/* A node used several times gets the sum of its contributions. */
static void test_fan_out_sums(void **state)
{
    (void)state;
    const int64_t s4[] = {4};
    const double xv[4] = {-1.5, 0.25, 1.0, 2.0};
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F64, 1, s4);
    /* y = sum(x*x + 3x + exp(x) + x/(x*x+1)); h = 2x feeds three places. */
    nb_node *t = nb_add(g, nb_mul(g, x, x), nb_mul(g, x, nb_scalar(g, NB_F64, 3.0)));
    t = nb_add(g, t, nb_exp(g, x));
    t = nb_add(g, t, nb_div(g, x, nb_add(g, nb_mul(g, x, x), nb_scalar(g, NB_F64, 1.0))));
    nb_node *h = nb_mul(g, x, nb_scalar(g, NB_F64, 2.0));
    nb_node *u = nb_add(g, nb_mul(g, h, h), nb_sub(g, h, nb_exp(g, h)));
    nb_node *y = nb_sum(g, nb_add(g, t, u), NULL, 0, 0);
    nb_node *xs[] = {x, h, x}, *gs[3];
    assert_int_equal(nb_grad(g, y, xs, 3, gs), 0);
    nb_node *outs[] = {gs[0], gs[1], gs[2]};
    nb_program *p = compile(g, outs, 3);
    nb_graph_free(g);
    assert_int_equal(nb_program_bind(p, "x", xv), 0);
    run(p, 0);
    const double *gx = nb_program_output(p, 0), *gh = nb_program_output(p, 1),
                 *gx2 = nb_program_output(p, 2);
    for (int i = 0; i < 4; i++) {
        double x_ = xv[i], h_ = 2 * x_, q = x_ * x_ + 1;
        double dt = 2 * x_ + 3 + exp(x_) + (q - 2 * x_ * x_) / (q * q);
        double du_dh = 2 * h_ + 1 - exp(h_);
        near(gh[i], du_dh, 1e-13, "dy/dh", i);
        near(gx[i], dt + 2 * du_dh, 1e-13, "dy/dx", i);
        near(gx2[i], gx[i], 0, "dy/dx again", i);
    }
    nb_program_free(p);
}

/* Inputs that y does not depend on get zeros of their own shape; y's gradient with
 * respect to itself is one. */
static void test_unrelated_inputs_zero(void **state)
{
    (void)state;
    const int64_t s3[] = {3}, s23[] = {2, 3};
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F64, 1, s3);
    nb_node *z = nb_input(g, "z", NB_F64, 2, s23);
    nb_node *w = nb_param(g, "w", NB_F32, 1, s3);
    nb_node *side = nb_exp(g, z); /* computed from z, but not part of y */
    nb_node *y = nb_sum(g, nb_mul(g, x, x), NULL, 0, 0);
    nb_node *xs[] = {z, side, y, x}, *gs[4];
    assert_int_equal(nb_grad(g, y, xs, 4, gs), 0);
    nb_node *gw;
    nb_node *y32 = nb_sum(g, nb_mul(g, w, w), NULL, 0, 0);
    assert_int_equal(nb_grad(g, y32, &z, 1, &gw), 0); /* z unrelated to an f32 output */
    for (int i = 0; i < 4; i++) {
        assert_int_equal(nb_node_rank(gs[i]), nb_node_rank(xs[i]));
        assert_int_equal(nb_node_numel(gs[i]), nb_node_numel(xs[i]));
        assert_int_equal(nb_node_dtype(gs[i]), nb_node_dtype(xs[i]));
    }
    assert_int_equal(nb_node_numel(gw), 6);
    nb_node *outs[] = {gs[0], gs[1], gs[2], gs[3], gw};
    nb_program *p = compile(g, outs, 5);
    nb_graph_free(g);
    const double xv[3] = {1, 2, -3};
    assert_int_equal(nb_program_bind(p, "x", xv), 0);
    /* z is not needed by any output; binding it anyway is allowed. */
    double zv[6] = {1, 2, 3, 4, 5, 6};
    assert_int_equal(nb_program_bind(p, "z", zv), 0);
    run(p, 0);
    for (int i = 0; i < 6; i++) {
        assert_true(((const double *)nb_program_output(p, 0))[i] == 0.0);
        assert_true(((const double *)nb_program_output(p, 1))[i] == 0.0);
    }
    assert_true(((const double *)nb_program_output(p, 2))[0] == 1.0);
    for (int i = 0; i < 3; i++)
        assert_true(((const double *)nb_program_output(p, 3))[i] == 2 * xv[i]);
    for (int i = 0; i < 6; i++)
        assert_true(((const double *)nb_program_output(p, 4))[i] == 0.0);
    nb_program_free(p);
}

/* nb_vjp: seed^T J for a non-scalar output, with broadcasting inside. */
static void test_vjp_seed(void **state)
{
    (void)state;
    const int64_t s23[] = {2, 3}, s3[] = {3};
    nb_graph *g = nb_graph_new();
    nb_node *a = nb_input(g, "a", NB_F64, 2, s23);
    nb_node *b = nb_input(g, "b", NB_F64, 1, s3);
    nb_node *s = nb_input(g, "s", NB_F64, 2, s23);
    nb_node *y = nb_mul(g, nb_mul(g, a, a), b); /* y = a^2 b */
    nb_node *xs[] = {a, b}, *gs[2];
    assert_int_equal(nb_vjp(g, y, s, xs, 2, gs), 0);
    nb_node *outs[] = {gs[0], gs[1]};
    nb_program *p = compile(g, outs, 2);
    nb_graph_free(g);
    const double av[6] = {1, -2, 3, 0.5, 4, -1}, bv[3] = {2, -1, 0.5},
                 sv[6] = {1, 2, 3, -1, 0.5, 2};
    nb_program_bind(p, "a", av);
    nb_program_bind(p, "b", bv);
    nb_program_bind(p, "s", sv);
    const double *ga = run(p, 0), *gb = nb_program_output(p, 1);
    for (int i = 0; i < 6; i++)
        near(ga[i], 2 * av[i] * bv[i % 3] * sv[i], 1e-15, "da", i);
    for (int j = 0; j < 3; j++)
        near(gb[j], av[j] * av[j] * sv[j] + av[3 + j] * av[3 + j] * sv[3 + j], 1e-15, "db", j);
    nb_program_free(p);
}

/* Gradients with respect to an intermediate node, and through a reshape/broadcast. */
static void test_grad_of_intermediate(void **state)
{
    (void)state;
    const int64_t s23[] = {2, 3}, s6[] = {6}, s32[] = {3, 2};
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F64, 2, s23);
    nb_node *m = nb_reshape(g, nb_sigmoid(g, x), 1, s6);
    nb_node *r = nb_reshape(g, m, 2, s32);
    const int ax[] = {0};
    nb_node *y = nb_sum(g, nb_mul(g, nb_sum(g, r, ax, 1, 1), nb_sum(g, r, ax, 1, 1)), NULL, 0, 0);
    nb_node *xs[] = {m, x}, *gs[2];
    assert_int_equal(nb_grad(g, y, xs, 2, gs), 0);
    nb_node *outs[] = {gs[0], gs[1]};
    nb_program *p = compile(g, outs, 2);
    nb_graph_free(g);
    const double xv[6] = {0.1, -0.2, 0.3, 1.5, -2.0, 0.7};
    nb_program_bind(p, "x", xv);
    const double *gm = run(p, 0), *gx = nb_program_output(p, 1);
    double sg[6], col[2] = {0, 0};
    for (int i = 0; i < 6; i++) {
        sg[i] = 1 / (1 + exp(-xv[i]));
        col[i % 2] += sg[i];
    }
    for (int i = 0; i < 6; i++) {
        near(gm[i], 2 * col[i % 2], 1e-14, "dy/dm", i);
        near(gx[i], 2 * col[i % 2] * sg[i] * (1 - sg[i]), 1e-14, "dy/dx", i);
    }
    nb_program_free(p);
}

#if AUTODIFF_HAVE_STOP_GRADIENT
/* y = x * stop(x): dy/dx = stop(x) = x (not 2x); a stopped branch contributes nothing. */
static void test_stop_gradient(void **state)
{
    (void)state;
    const int64_t s3[] = {3};
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F64, 1, s3);
    nb_node *sx = nb_stop_gradient(g, x);
    nb_node *y = nb_sum(g, nb_mul(g, x, sx), NULL, 0, 0);
    nb_node *only_stopped = nb_sum(g, nb_exp(g, sx), NULL, 0, 0);
    nb_node *gy, *gs;
    assert_int_equal(nb_grad(g, y, &x, 1, &gy), 0);
    assert_int_equal(nb_grad(g, only_stopped, &x, 1, &gs), 0);
    nb_node *outs[] = {y, gy, gs};
    nb_program *p = compile(g, outs, 3);
    nb_graph_free(g);
    const double xv[3] = {1.5, -2, 0.25};
    nb_program_bind(p, "x", xv);
    near(run(p, 0)[0], 1.5 * 1.5 + 4 + 0.0625, 1e-15, "y", 0);
    for (int i = 0; i < 3; i++) {
        near(((const double *)nb_program_output(p, 1))[i], xv[i], 1e-15, "dy/dx", i);
        assert_true(((const double *)nb_program_output(p, 2))[i] == 0.0);
    }
    nb_program_free(p);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_second_derivative_cube),
        cmocka_unit_test(test_hvp_vs_finite_differences),
        cmocka_unit_test(test_fan_out_sums),
        cmocka_unit_test(test_unrelated_inputs_zero),
        cmocka_unit_test(test_vjp_seed),
        cmocka_unit_test(test_grad_of_intermediate),
#if AUTODIFF_HAVE_STOP_GRADIENT
        cmocka_unit_test(test_stop_gradient),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
