/* gradcheck.c — the gradient-check harness: the tables' cases checked by nb_gradcheck
 * (symbolic gradients against central finite differences in f64, first and second
 * order), plus an f32 run against the f64 one. */
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

/* A check: the graph (kept for nb_gradcheck), T (the scalar checked), the float
 * inputs, and a program computing T and dT/dx for the f32 comparison. */
typedef struct gc_prog {
    nb_graph *g;
    nb_program *p;
    nb_node *t;
    nb_node *x[GC_MAX_IN]; /* every input of the case */
    int n_float;
    int float_in[GC_MAX_IN]; /* case input index of each float input */
    nb_node *fx[GC_MAX_IN];  /* the float inputs */
} gc_prog;

static void gc_prog_free(gc_prog *gp)
{
    nb_program_free(gp->p);
    nb_graph_free(gp->g);
}

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

/* Builds the check of case c in dtype dt and compiles T, dT/dx_k; the graph is kept. */
static int gc_build(const gc_case *c, nb_dtype dt, int second_order, gc_prog *out)
{
    uint64_t rng = 12345;
    nb_node *gr[GC_MAX_IN], *outs[GC_MAX_IN + 1];
    memset(out, 0, sizeof *out);
    nb_graph *g = out->g = nb_graph_new();
    if (!g)
        return -1;
    for (int k = 0; k < c->n_in; k++) {
        char name[16];
        snprintf(name, sizeof name, "x%d", k);
        nb_dtype kt = c->in[k].dtype == NB_F64 ? dt : c->in[k].dtype;
        out->x[k] = nb_input(g, name, kt, c->in[k].rank, c->in[k].shape);
        if (c->in[k].dtype == NB_F64) {
            out->float_in[out->n_float] = k;
            out->fx[out->n_float++] = out->x[k];
        }
    }
    nb_node *y = c->fn(g, out->x, dt);
    nb_node *t = gc_dot(g, y, dt, &rng);
    if (out->n_float == 0) {
        print_error("%s: the case has no float input to check\n", c->name);
        return -1;
    }
    nb_grad(g, t, out->fx, out->n_float, gr);
    if (second_order) {
        /* T2 = sum_k sum(v_k * dT/dx_k): checking its gradient checks the Hessian. */
        nb_node *t2 = NULL;
        for (int k = 0; k < out->n_float; k++) {
            nb_node *term = gc_dot(g, gr[k], dt, &rng);
            t2 = t2 ? nb_add(g, t2, term) : term;
        }
        t = t2;
        nb_grad(g, t, out->fx, out->n_float, gr);
    }
    out->t = nb_name(g, t, second_order ? "T2" : "T");
    outs[0] = t;
    for (int k = 0; k < out->n_float; k++)
        outs[k + 1] = gr[k];
    nb_compile_options opt = {.outputs = outs, .n_outputs = out->n_float + 1};
    out->p = nb_compile(g, &opt);
    if (!out->p)
        print_error("%s (%s): %s\n", c->name, nb_dtype_name(dt), nb_graph_error(g));
    return out->p ? 0 : -1;
}

/* Input buffers of one sample: f64 values, their f32 copies, ints and masks, and every
 * input's values as doubles for nb_gradcheck. */
typedef struct gc_data {
    void *f64[GC_MAX_IN], *f32[GC_MAX_IN];
    double *value[GC_MAX_IN];
} gc_data;

static void gc_data_free(gc_data *d)
{
    for (int k = 0; k < GC_MAX_IN; k++)
        free(d->f64[k]), free(d->f32[k]), free(d->value[k]);
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
        d->value[k] = malloc((size_t)n * sizeof(double));
        if (!d->f64[k] || !d->f32[k] || !d->value[k])
            return -1;
        for (int64_t i = 0; i < n; i++) {
            double v = gc_uniform(rng, in->lo, in->hi);
            if (in->dtype == NB_F64) {
                ((double *)d->f64[k])[i] = v;
                ((float *)d->f32[k])[i] = (float)v;
                d->value[k][i] = v;
            } else if (in->dtype == NB_I32) {
                int32_t iv = (int32_t)floor(v);
                ((int32_t *)d->f64[k])[i] = iv;
                ((int32_t *)d->f32[k])[i] = iv;
                d->value[k][i] = iv;
            } else {
                unsigned char b = v < 0.5 * (in->lo + in->hi);
                ((unsigned char *)d->f64[k])[i] = b;
                ((unsigned char *)d->f32[k])[i] = b;
                d->value[k][i] = b;
            }
        }
    }
    return 0;
}

/* Checks the gradients of one sample with nb_gradcheck; returns failures and adds to
 * *checked / *skipped. A sample whose every element was skipped is a failure. */
static int gc_compare(const gc_case *c, gc_prog *gp, gc_data *d, uint64_t seed, int *checked,
                      int *skipped)
{
    nb_gradcheck_value values[GC_MAX_IN];
    nb_gradcheck_options o = nb_gradcheck_default_options();
    nb_gradcheck_result r;
    for (int k = 0; k < c->n_in; k++)
        values[k] = (nb_gradcheck_value){.leaf = gp->x[k], .data = d->value[k]};
    o.eps = GC_H;
    o.atol = GC_ATOL;
    o.rtol = GC_RTOL;
    o.max_elements = GC_ELEMS;
    o.seed = seed;
    o.values = values;
    o.n_values = c->n_in;
    int rc = nb_gradcheck(gp->g, gp->t, gp->fx, gp->n_float, &o, &r);
    *checked += r.checked;
    *skipped += r.skipped;
    if (rc != 0)
        print_error("%s: %s\n", c->name, r.message);
    return rc == 0 ? 0 : r.failed > 0 ? r.failed : 1;
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
        gc_prog_free(&p64);
        gc_prog_free(&p32);
        print_error("%s%s: the check could not be built\n", c->name, order);
        return 1;
    }
    uint64_t rng = 0x5eed;
    for (int s = 0; s < GC_SAMPLES; s++) {
        gc_data d;
        if (gc_data_draw(c, &rng, &d) != 0) {
            gc_data_free(&d);
            failures++;
            break;
        }
        failures += gc_compare(c, &p64, &d, rng, &checked, &skipped);
        failures += gc_compare_f32(c, &p64, &p32, &d);
        gc_data_free(&d);
    }
    gc_prog_free(&p64);
    gc_prog_free(&p32);
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
