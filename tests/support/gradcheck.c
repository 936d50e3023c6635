/* gradcheck.c — the gradient-check harness: symbolic gradients against central finite
 * differences in f64, first and second order, plus an f32 run against the f64 one. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gradcheck.h"
#include "ir.h"

#define GC_MAX_IN 4
#define GC_ELEMS 24  /* elements perturbed per input and sample */
#define GC_SAMPLES 2 /* random input draws per case */
#define GC_H 1e-6    /* finite-difference step */
#define GC_ATOL 1e-5
#define GC_RTOL 1e-4

/* splitmix64: a tiny PRNG, so every machine draws the same inputs. */
static double gc_uniform(uint64_t *s, double lo, double hi)
{
    uint64_t z = ir_mix64(*s += IR_SPLITMIX_STEP);
    return lo + (hi - lo) * (double)(z >> 11) / 9007199254740992.0;
}

/* A compiled check: T (the scalar checked) and dT/dx for the float inputs. */
typedef struct gc_prog {
    nb_program *p;
    int n_float;
    int float_in[GC_MAX_IN]; /* case input index of each float input */
} gc_prog;

/* Random constant of x's shape and dtype, values in [0.5, 1.5] with random signs. */
static nb_node *gc_weights(nb_graph *g, const nb_node *x, nb_dtype dt, uint64_t *rng)
{
    int64_t n = nb_node_numel(x);
    double *w = malloc((size_t)(n > 0 ? n : 1) * sizeof *w);
    if (!w)
        return NULL;
    for (int64_t i = 0; i < n; i++) {
        double v = gc_uniform(rng, 0.5, 1.5);
        w[i] = gc_uniform(rng, 0, 1) < 0.5 ? -v : v;
    }
    nb_node *c = nb_constant(g, dt, nb_node_rank(x), nb_node_shape(x), w);
    free(w);
    return c;
}

/* sum(a * w) with w random of a's shape. */
static nb_node *gc_dot(nb_graph *g, nb_node *a, nb_dtype dt, uint64_t *rng)
{
    return nb_sum(g, nb_mul(g, a, gc_weights(g, a, dt, rng)), NULL, 0, 0);
}

/* Builds and compiles the check of case c in dtype dt: outputs T, dT/dx_k. */
static int gc_build(const gc_case *c, nb_dtype dt, int second_order, gc_prog *out)
{
    uint64_t rng = 12345;
    nb_node *x[GC_MAX_IN], *fx[GC_MAX_IN], *gr[GC_MAX_IN], *outs[GC_MAX_IN + 1];
    nb_graph *g = nb_graph_new();
    memset(out, 0, sizeof *out);
    for (int k = 0; k < c->n_in; k++) {
        char name[16];
        snprintf(name, sizeof name, "x%d", k);
        nb_dtype kt = c->in[k].dtype == NB_F64 ? dt : c->in[k].dtype;
        x[k] = nb_input(g, name, kt, c->in[k].rank, c->in[k].shape);
        if (c->in[k].dtype == NB_F64) {
            out->float_in[out->n_float] = k;
            fx[out->n_float++] = x[k];
        }
    }
    nb_node *y = c->fn(g, x, dt);
    nb_node *t = gc_dot(g, y, dt, &rng);
    if (out->n_float == 0) {
        print_error("%s: the case has no float input to check\n", c->name);
        nb_graph_free(g);
        return -1;
    }
    nb_grad(g, t, fx, out->n_float, gr);
    if (second_order) {
        /* T2 = sum_k sum(v_k * dT/dx_k): checking its gradient checks the Hessian. */
        nb_node *t2 = NULL;
        for (int k = 0; k < out->n_float; k++) {
            nb_node *term = gc_dot(g, gr[k], dt, &rng);
            t2 = t2 ? nb_add(g, t2, term) : term;
        }
        t = t2;
        nb_grad(g, t, fx, out->n_float, gr);
    }
    outs[0] = t;
    for (int k = 0; k < out->n_float; k++)
        outs[k + 1] = gr[k];
    nb_compile_options opt = {.outputs = outs, .n_outputs = out->n_float + 1};
    out->p = nb_compile(g, &opt);
    if (!out->p)
        print_error("%s (%s): %s\n", c->name, nb_dtype_name(dt), nb_graph_error(g));
    nb_graph_free(g);
    return out->p ? 0 : -1;
}

/* Input buffers of one sample: f64 values, their f32 copies, ints and masks. */
typedef struct gc_data {
    void *f64[GC_MAX_IN], *f32[GC_MAX_IN];
} gc_data;

static void gc_data_free(gc_data *d)
{
    for (int k = 0; k < GC_MAX_IN; k++)
        free(d->f64[k]), free(d->f32[k]);
}

static int gc_data_draw(const gc_case *c, uint64_t *rng, gc_data *d)
{
    memset(d, 0, sizeof *d);
    for (int k = 0; k < c->n_in; k++) {
        const gc_input *in = &c->in[k];
        int64_t n = 1;
        for (int i = 0; i < in->rank; i++)
            n *= in->shape[i];
        d->f64[k] = malloc((size_t)n * 8);
        d->f32[k] = malloc((size_t)n * 8);
        if (!d->f64[k] || !d->f32[k])
            return -1;
        for (int64_t i = 0; i < n; i++) {
            double v = gc_uniform(rng, in->lo, in->hi);
            if (in->dtype == NB_F64) {
                ((double *)d->f64[k])[i] = v;
                ((float *)d->f32[k])[i] = (float)v;
            } else if (in->dtype == NB_I32) {
                int32_t iv = (int32_t)floor(v);
                ((int32_t *)d->f64[k])[i] = iv;
                ((int32_t *)d->f32[k])[i] = iv;
            } else {
                unsigned char b = v < 0.5 * (in->lo + in->hi);
                ((unsigned char *)d->f64[k])[i] = b;
                ((unsigned char *)d->f32[k])[i] = b;
            }
        }
    }
    return 0;
}

static double gc_run_scalar(gc_prog *gp)
{
    if (nb_program_run(gp->p) != 0) {
        print_error("run failed: %s\n", nb_program_error(gp->p));
        return NAN;
    }
    return *(const double *)nb_program_output(gp->p, 0);
}

static int gc_close(double a, double n)
{
    double tol = GC_ATOL + GC_RTOL * fmax(fabs(a), fabs(n));
    return fabs(a - n) <= tol; /* false for NaN: a NaN never passes */
}

/* Compares analytic and numeric gradients for one sample; returns failures and adds
 * to *checked / *skipped. */
static int gc_compare(const gc_case *c, gc_prog *gp, gc_data *d, uint64_t *rng, int *checked,
                      int *skipped)
{
    int failures = 0;
    for (int k = 0; k < c->n_in; k++)
        nb_program_bind_index(gp->p, k, d->f64[k]);
    gc_run_scalar(gp);
    for (int f = 0; f < gp->n_float; f++) {
        int k = gp->float_in[f];
        int64_t n = nb_program_output_numel(gp->p, f + 1);
        double *analytic = malloc((size_t)n * sizeof *analytic);
        if (!analytic)
            return failures + 1;
        nb_program_run(gp->p);
        memcpy(analytic, nb_program_output(gp->p, f + 1), (size_t)n * sizeof *analytic);
        double *x = d->f64[k];
        for (int e = 0; e < (n < GC_ELEMS ? n : GC_ELEMS); e++) {
            int64_t i = n <= GC_ELEMS ? e : (int64_t)gc_uniform(rng, 0, (double)n);
            double orig = x[i], fd[2];
            for (int s = 0; s < 2; s++) {
                double h = GC_H * (s ? 4 : 1);
                x[i] = orig + h;
                double up = gc_run_scalar(gp);
                x[i] = orig - h;
                double down = gc_run_scalar(gp);
                fd[s] = (up - down) / (2 * h);
            }
            x[i] = orig;
            /* Disagreeing step sizes mean a kink or a discontinuity nearby: skip. */
            if (isfinite(fd[0]) && isfinite(fd[1]) &&
                fabs(fd[0] - fd[1]) > 1e-3 * (1 + fabs(fd[0]))) {
                (*skipped)++;
                continue;
            }
            (*checked)++;
            if (!gc_close(analytic[i], fd[0])) {
                if (failures++ < 5)
                    print_error("%s: d/dx%d[%lld] analytic %.10g, numeric %.10g (x = %.6g)\n",
                                c->name, k, (long long)i, analytic[i], fd[0], orig);
            }
        }
        free(analytic);
    }
    return failures;
}

/* The f32 program must agree with the f64 one on T and every gradient. */
static int gc_compare_f32(const gc_case *c, gc_prog *p64, gc_prog *p32, gc_data *d)
{
    int failures = 0;
    for (int k = 0; k < c->n_in; k++) {
        nb_program_bind_index(p64->p, k, d->f64[k]);
        nb_program_bind_index(p32->p, k, d->f32[k]);
    }
    if (nb_program_run(p64->p) != 0 || nb_program_run(p32->p) != 0) {
        print_error("%s: run failed\n", c->name);
        return 1;
    }
    for (int o = 0; o <= p64->n_float; o++) {
        int64_t n = nb_program_output_numel(p64->p, o);
        const double *a = nb_program_output(p64->p, o);
        const float *b = nb_program_output(p32->p, o);
        double scale = 0;
        for (int64_t i = 0; i < n; i++)
            scale = fmax(scale, fabs(a[i]));
        for (int64_t i = 0; i < n; i++) {
            if (!(fabs(a[i] - (double)b[i]) <= 1e-3 * (1 + scale))) {
                if (failures++ < 5)
                    print_error("%s: f32 output %d[%lld] is %.8g, f64 gives %.10g\n", c->name, o,
                                (long long)i, (double)b[i], a[i]);
            }
        }
    }
    return failures;
}

/* Checks one order of case c: f64 against finite differences, f32 against f64. */
static int gc_check_order(const gc_case *c, int second_order)
{
    gc_prog p64 = {0}, p32 = {0};
    int failures = 0, checked = 0, skipped = 0;
    const char *order = second_order ? " (2nd order)" : "";
    if (gc_build(c, NB_F64, second_order, &p64) != 0 ||
        gc_build(c, NB_F32, second_order, &p32) != 0) {
        nb_program_free(p64.p);
        nb_program_free(p32.p);
        print_error("%s%s: the check could not be built\n", c->name, order);
        return 1;
    }
    uint64_t rng = 0x5eed;
    for (int s = 0; s < GC_SAMPLES; s++) {
        gc_data d;
        int sample_checked = 0, sample_skipped = 0;
        if (gc_data_draw(c, &rng, &d) != 0) {
            gc_data_free(&d);
            failures++;
            break;
        }
        failures += gc_compare(c, &p64, &d, &rng, &sample_checked, &sample_skipped);
        failures += gc_compare_f32(c, &p64, &p32, &d);
        gc_data_free(&d);
        if (sample_checked == 0) {
            print_error("%s%s: every element of sample %d was skipped (%d)\n", c->name, order, s,
                        sample_skipped);
            failures++;
        }
        checked += sample_checked;
        skipped += sample_skipped;
    }
    nb_program_free(p64.p);
    nb_program_free(p32.p);
    if (failures)
        print_error("%s%s: %d mismatches (%d elements checked, %d skipped)\n", c->name, order,
                    failures, checked, skipped);
    return failures;
}

void gc_check(const gc_case *c)
{
    if (c->n_in < 0 || c->n_in > GC_MAX_IN)
        fail_msg("%s: %d inputs; the harness takes at most %d", c->name, c->n_in, GC_MAX_IN);
    /* The first order always: a second-order check alone differentiates whatever the
     * first-order rule built, right or wrong. */
    int failures = gc_check_order(c, 0);
    if (c->second_order)
        failures += gc_check_order(c, 1);
    if (failures)
        fail_msg("%s: %d mismatches", c->name, failures);
}

static void gc_test(void **state)
{
    gc_check(*state);
}

int gc_run_table(const char *group, const gc_case *cases, int n)
{
    struct CMUnitTest *tests = calloc((size_t)n, sizeof *tests);
    if (!tests)
        return 1;
    for (int i = 0; i < n; i++) {
        tests[i].name = cases[i].name;
        tests[i].test_func = gc_test;
        tests[i].initial_state = (void *)&cases[i];
    }
    int failed = _cmocka_run_group_tests(group, tests, (size_t)n, NULL, NULL);
    free(tests);
    return failed;
}
