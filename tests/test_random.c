/* test_random.c — random numbers: the generator's text against Random123's known
 * answers, rand and randn values against that reference and their statistics, the same
 * bits for tcc and cc and any thread count, new numbers at each step, a checkpoint that
 * resumes the stream, dropout (zeros, scale, eval, p = 0 and 1, gradient) and errors. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>

#include <cmocka.h>

#include "nabla.h"
#include "tmpdir.h"

/* The generator exactly as programs contain it. */
#include "cg_random_text.inc"

/* ---- the generator ------------------------------------------------------------------ */

/* Random123's kat_vectors for philox4x32_10 (its known-answer test runs the same three
 * as dokat<philox4x32_prf<10>, 2>): counter, key, expected output. */
static void test_philox_kat(void **state)
{
    (void)state;
    static const unsigned int kat[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d,
         0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09,
         0x94fdcceb, 0x5001e420, 0x24126ea1},
    };
    for (int v = 0; v < 3; v++) {
        unsigned int c[4] = {kat[v][0], kat[v][1], kat[v][2], kat[v][3]};
        nbm_philox(kat[v][4], kat[v][5], c);
        for (int i = 0; i < 4; i++)
            assert_int_equal(c[i], kat[v][6 + i]);
    }
}

/* The uniform numbers of counter (index, step) under seed, by the converters' rule
 * (docs/random.md), from the known-answer-tested rounds. */
static double ref_uniform(uint64_t seed, uint64_t step, uint64_t index, nb_dtype dt)
{
    unsigned int c[4] = {(unsigned int)index, (unsigned int)(index >> 32), (unsigned int)step,
                         (unsigned int)(step >> 32)};
    nbm_philox((unsigned int)seed, (unsigned int)(seed >> 32), c);
    if (dt == NB_F32)
        return ldexp((double)(c[0] >> 8), -24);
    return ldexp((double)((((uint64_t)c[1] << 32) | c[0]) >> 11), -53);
}

/* ---- programs ----------------------------------------------------------------------- */

static nb_program *compile(nb_graph *g, nb_node *const *outs, int n, nb_backend b, int threads)
{
    nb_compile_options o = {.outputs = outs, .n_outputs = n, .backend = b, .threads = threads};
    nb_program *p = nb_compile(g, &o);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(g));
    return p;
}

static void run(nb_program *p)
{
    if (nb_program_run(p) != 0)
        fail_msg("run: %s", nb_program_error(p));
}

static double step_of(nb_program *p)
{
    double s = -1;
    assert_int_equal(nb_program_get_param(p, NB_RNG_STEP_NAME, &s, sizeof s), 0);
    return s;
}

/* Element 0 of seed 0 at step 0 is counter 0 under key 0: Random123's first answer,
 * 6627e8d5 e169c58d ..., converted by hand. Every element of several steps, seeds and
 * offsets matches the reference. */
static void test_rand_values(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    int64_t s[] = {3, 5};
    nb_node *a32 = nb_rand(g, NB_F32, 2, s); /* offset 0 */
    nb_node *a64 = nb_rand(g, NB_F64, 2, s); /* offset 15 */
    nb_manual_seed(g, 0x299f31d0a4093822u);
    nb_node *b64 = nb_rand(g, NB_F64, 1, (const int64_t[]){4});
    nb_node *outs[] = {a32, a64, b64};
    nb_program *p = compile(g, outs, 3, NB_BACKEND_TCC, 1);
    assert_int_equal(nb_program_param_kind(p, nb_program_param_index(p, NB_RNG_STEP_NAME)),
                     NB_PARAM_OPTIMIZER);
    for (uint64_t step = 0; step < 3; step++) {
        assert_true(step_of(p) == (double)step);
        run(p);
        const float *x = nb_program_output(p, 0);
        const double *y = nb_program_output(p, 1), *z = nb_program_output(p, 2);
        if (step == 0) {
            assert_true(x[0] == (float)(0x6627e8d5u >> 8) / 16777216.0f);
            assert_true(y[0] != (double)x[0]); /* offset 15: another counter */
        }
        for (uint64_t i = 0; i < 15; i++) {
            assert_true(x[i] == (float)ref_uniform(0, step, i, NB_F32));
            assert_true(y[i] == ref_uniform(0, step, 15 + i, NB_F64));
        }
        for (uint64_t i = 0; i < 4; i++)
            assert_true(z[i] == ref_uniform(0x299f31d0a4093822u, step, i, NB_F64));
    }
    assert_true(step_of(p) == 3);
    nb_program_free(p);
    nb_graph_free(g);
    /* Counter 0 under key 0 in f64: words 1:0 = e169c58d6627e8d5, top 53 bits. */
    g = nb_graph_new();
    nb_node *r = nb_rand(g, NB_F64, 0, NULL);
    p = compile(g, &r, 1, NB_BACKEND_TCC, 1);
    run(p);
    assert_true(*(const double *)nb_program_output(p, 0) ==
                (double)(0xe169c58d6627e8d5u >> 11) / 9007199254740992.0);
    nb_program_free(p);
    nb_graph_free(g);
}

enum { BIG = 1000000 };

/* Mean and variance of n values. */
static void moments(const void *v, nb_dtype dt, int64_t n, double *mean, double *var)
{
    double s = 0, ss = 0;
    for (int64_t i = 0; i < n; i++) {
        double x = dt == NB_F32 ? ((const float *)v)[i] : ((const double *)v)[i];
        s += x;
        ss += x * x;
    }
    *mean = s / (double)n;
    *var = ss / (double)n - *mean * *mean;
}

/* A million draws of each kind, seed 0, step 0. The bounds are 7 to 8 standard errors
 * of each estimate (uniform: sd of the mean 0.289/1000, of the variance 0.0745/1000;
 * normal: 1/1000 and sqrt(2)/1000), and the values are deterministic, so the test
 * cannot fail by chance: the observed ones (printed by the test) are within 1.5 standard
 * errors: rand f32 mean 0.499613, variance 0.083293; rand f64 0.500081, 0.083221; randn
 * f32 0.001212, 1.002023; randn f64 -0.000012, 1.001382. */
static void test_statistics(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    int64_t s[] = {BIG};
    nb_node *outs[] = {nb_rand(g, NB_F32, 1, s), nb_rand(g, NB_F64, 1, s),
                       nb_randn(g, NB_F32, 1, s), nb_randn(g, NB_F64, 1, s)};
    nb_program *p = compile(g, outs, 4, NB_BACKEND_TCC, 0);
    run(p);
    for (int k = 0; k < 4; k++) {
        nb_dtype dt = k % 2 ? NB_F64 : NB_F32;
        const void *v = nb_program_output(p, k);
        double mean, var;
        moments(v, dt, BIG, &mean, &var);
        print_message("%s %s: mean %.6f variance %.6f\n", k < 2 ? "rand" : "randn",
                      dt == NB_F32 ? "f32" : "f64", mean, var);
        if (k < 2) {
            assert_true(fabs(mean - 0.5) < 0.002);
            assert_true(fabs(var - 1.0 / 12) < 0.0006);
            double lo = 1, hi = 0;
            for (int64_t i = 0; i < BIG; i++) {
                double x = dt == NB_F32 ? ((const float *)v)[i] : ((const double *)v)[i];
                lo = x < lo ? x : lo;
                hi = x > hi ? x : hi;
                /* Multiples of 2^-24 (f32) or 2^-53 (f64): exact conversions. */
                double scaled = ldexp(x, dt == NB_F32 ? 24 : 53);
                assert_true(scaled == floor(scaled));
            }
            assert_true(lo >= 0 && hi < 1);
            assert_true(lo < 1e-5 && hi > 1 - 1e-5);
        } else {
            assert_true(fabs(mean) < 0.007);
            assert_true(fabs(var - 1) < 0.01);
            for (int64_t i = 0; i < BIG; i++) {
                double x = dt == NB_F32 ? ((const float *)v)[i] : ((const double *)v)[i];
                assert_true(isfinite(x) && fabs(x) < 8.6);
            }
        }
    }
    nb_program_free(p);
    nb_graph_free(g);
}

/* A graph whose random kernels are large enough to split, fused with other work:
 * dropout of an input, normal tensors (f64; f32, whose log libtcc's programs compute in
 * blocks), a uniform one reduced. */
enum { MIXED_OUTS = 4 };

static nb_graph *mixed_graph(nb_node **outs, float **x)
{
    nb_graph *g = nb_graph_new();
    int64_t s[] = {300, 257};
    nb_manual_seed(g, 42);
    nb_node *in = nb_input(g, "x", NB_F32, 2, s);
    outs[0] = nb_dropout(g, in, 0.3, 1);
    outs[1] = nb_randn(g, NB_F64, 2, s);
    outs[2] = nb_sum(g, nb_exp(g, nb_rand(g, NB_F32, 2, s)), (const int[]){1}, 1, 0);
    outs[3] = nb_randn(g, NB_F32, 2, s);
    *x = malloc(300 * 257 * sizeof **x);
    assert_non_null(*x);
    for (int i = 0; i < 300 * 257; i++)
        (*x)[i] = (float)(i % 97) - 48.5f;
    return g;
}

/* Outputs of `steps` runs of p, back to back. */
static unsigned char *outputs_of(nb_program *p, const float *x, int steps, size_t *bytes)
{
    size_t per = 0;
    for (int i = 0; i < nb_program_output_count(p); i++)
        per += (size_t)nb_program_output_numel(p, i) * nb_dtype_size(nb_program_output_dtype(p, i));
    unsigned char *all = malloc(per * (size_t)steps), *at = all;
    assert_non_null(all);
    assert_int_equal(nb_program_bind(p, "x", x), 0);
    for (int s = 0; s < steps; s++) {
        run(p);
        for (int i = 0; i < nb_program_output_count(p); i++) {
            size_t n = (size_t)nb_program_output_numel(p, i) *
                       nb_dtype_size(nb_program_output_dtype(p, i));
            memcpy(at, nb_program_output(p, i), n);
            at += n;
        }
    }
    *bytes = per * (size_t)steps;
    return all;
}

/* tcc on one thread, tcc on four, cc on three, the tiered backend on two: the same
 * bits, three steps each; the same program compiled again gives them too; each step's
 * numbers differ from the last's. */
static void test_same_bits(void **state)
{
    (void)state;
    nb_node *outs[MIXED_OUTS];
    float *x;
    nb_graph *g = mixed_graph(outs, &x);
    struct {
        nb_backend b;
        int threads;
    } runs[] = {{NB_BACKEND_TCC, 1},
                {NB_BACKEND_TCC, 4},
                {NB_BACKEND_CC, 3},
                {NB_BACKEND_AUTO, 2}, /* libtcc's code of the whole text first, then cc's */
                {NB_BACKEND_TCC, 1}};
    unsigned char *first = NULL;
    size_t first_bytes = 0;
    for (size_t r = 0; r < sizeof runs / sizeof *runs; r++) {
        nb_program *p = compile(g, outs, MIXED_OUTS, runs[r].b, runs[r].threads);
        size_t bytes;
        unsigned char *o = outputs_of(p, x, 3, &bytes);
        if (!first) {
            first = o, first_bytes = bytes;
            size_t step = bytes / 3;
            assert_true(memcmp(o, o + step, step) != 0);
            assert_true(memcmp(o + step, o + 2 * step, step) != 0);
        } else {
            assert_int_equal(bytes, first_bytes);
            assert_memory_equal(o, first, bytes);
            free(o);
        }
        nb_program_free(p);
    }
    free(first);
    free(x);
    nb_graph_free(g);
}

/* Two steps, a checkpoint, a third step; a new program loading the checkpoint makes
 * the third step's numbers. */
static void test_checkpoint_resumes(void **state)
{
    (void)state;
    nb_node *outs[MIXED_OUTS];
    float *x;
    nb_graph *g = mixed_graph(outs, &x);
    char dir[] = "/tmp/nabla-random-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/ckpt.safetensors", dir);
    nb_program *p = compile(g, outs, MIXED_OUTS, NB_BACKEND_TCC, 1);
    size_t bytes;
    free(outputs_of(p, x, 2, &bytes));
    assert_int_equal(nb_program_save(p, path), 0);
    unsigned char *third = outputs_of(p, x, 1, &bytes);
    nb_program *q = compile(g, outs, MIXED_OUTS, NB_BACKEND_TCC, 1);
    assert_true(step_of(q) == 0);
    if (nb_program_load(q, path) != 0)
        fail_msg("load: %s", nb_program_error(q));
    assert_true(step_of(q) == 2);
    unsigned char *resumed = outputs_of(q, x, 1, &bytes);
    assert_memory_equal(third, resumed, bytes);
    assert_true(step_of(q) == 3);
    free(third);
    free(resumed);
    nb_program_free(p);
    nb_program_free(q);
    tu_remove_dir(dir);
    free(x);
    nb_graph_free(g);
}

/* An update of the step given to nb_compile replaces the automatic one: step <- step
 * draws the same numbers at every run. */
static void test_step_update_override(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *r = nb_rand(g, NB_F32, 1, (const int64_t[]){8});
    nb_node *step = nb_rng_step(g);
    assert_non_null(step);
    assert_string_equal(nb_node_name(step), NB_RNG_STEP_NAME);
    nb_update u = {step, step};
    nb_compile_options o = {.outputs = &r, .n_outputs = 1, .updates = &u, .n_updates = 1};
    nb_program *p = nb_compile(g, &o);
    assert_non_null(p);
    float a[8];
    run(p);
    memcpy(a, nb_program_output(p, 0), sizeof a);
    run(p);
    assert_memory_equal(a, nb_program_output(p, 0), sizeof a);
    assert_true(step_of(p) == 0);
    /* Setting the step by hand picks the stream's place: step 5's numbers. */
    double five = 5;
    assert_int_equal(nb_program_set_param(p, NB_RNG_STEP_NAME, &five, sizeof five), 0);
    run(p);
    for (int i = 0; i < 8; i++)
        assert_true(((const float *)nb_program_output(p, 0))[i] ==
                    (float)ref_uniform(0, 5, (uint64_t)i, NB_F32));
    nb_program_free(p);
    nb_graph_free(g);
}

/* Found by the random-graph test (tests/support/randgraph.c): the automatic update's
 * nodes, made in the simplified copy, took their ids there as origins, which name the
 * C's kernels and buffers, and an id could be the origin of another node still in the
 * copy (nodes the outputs do not need are gone): two kernels of one name, a program
 * neither compiler takes. Dead nodes between the rand and the kernels that follow move
 * the collision over each kernel in turn; every program compiles, -x is exact, the
 * numbers are those of steps 0 and 1, and the step ends at 2. */
static void test_step_update_names(void **state)
{
    (void)state;
    for (int dead = 0; dead < 8; dead++)
        for (int b = 0; b < 2; b++) {
            nb_graph *g = nb_graph_new();
            int64_t n = 3;
            nb_node *x = nb_input(g, "x", NB_F32, 1, &n);
            nb_node *r = nb_rand(g, NB_F32, 1, &n);
            for (int i = 0; i < dead; i++)
                nb_exp(g, x);
            nb_node *outs[] = {nb_neg(g, x), nb_mul(g, r, nb_scalar(g, NB_F32, 2.0)), nb_sin(g, x),
                               nb_tanh(g, x)};
            nb_program *p = compile(g, outs, 4, b ? NB_BACKEND_CC : NB_BACKEND_TCC, 1);
            float xv[3] = {1, -2, 0.5f};
            assert_int_equal(nb_program_bind(p, "x", xv), 0);
            for (uint64_t step = 0; step < 2; step++) {
                run(p);
                const float *neg = nb_program_output(p, 0), *twice = nb_program_output(p, 1);
                for (int i = 0; i < 3; i++) {
                    assert_true(neg[i] == -xv[i]);
                    assert_true(twice[i] == 2 * (float)ref_uniform(0, step, (uint64_t)i, NB_F32));
                }
            }
            assert_true(step_of(p) == 2);
            nb_program_free(p);
            nb_graph_free(g);
        }
}

/* ---- dropout ------------------------------------------------------------------------ */

/* p = 0.3 over a million ones: about 30% zeros (sd 0.00046: the bound is 4 of them),
 * the rest exactly 1 / 0.7 in f32 (1.0f / 0.7f, PyTorch's scale); eval and p = 0 return
 * x itself; p = 1 gives x * 0 (NaN where x is infinite, as PyTorch). */
static void test_dropout_values(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    int64_t s[] = {BIG};
    nb_node *x = nb_input(g, "x", NB_F32, 1, s);
    assert_ptr_equal(nb_dropout(g, x, 0.3, 0), x);
    assert_ptr_equal(nb_dropout(g, x, 0, 1), x);
    assert_ptr_equal(nb_dropout(g, x, 1, 0), x);
    nb_node *outs[] = {nb_dropout(g, x, 0.3, 1), nb_dropout(g, x, 1, 1)};
    nb_program *p = compile(g, outs, 2, NB_BACKEND_TCC, 0);
    float *ones = malloc(BIG * sizeof *ones);
    assert_non_null(ones);
    for (int i = 0; i < BIG; i++)
        ones[i] = 1;
    ones[7] = INFINITY;
    assert_int_equal(nb_program_bind(p, "x", ones), 0);
    run(p);
    const float *y = nb_program_output(p, 0), *z = nb_program_output(p, 1);
    int64_t zeros = 0;
    for (int i = 0; i < BIG; i++) {
        if (i == 7)
            continue;
        if (y[i] == 0)
            zeros++;
        else
            assert_true(y[i] == 1.0f / 0.7f);
        assert_true(z[i] == 0);
    }
    assert_true(isnan(z[7]));
    print_message("dropout p=0.3: %lld zeros of %d\n", (long long)zeros, BIG - 1);
    assert_true(fabs((double)zeros / (BIG - 1) - 0.3) < 0.002);
    free(ones);
    nb_program_free(p);
    nb_graph_free(g);
}

/* With the step held (update step <- step) the mask is the same at every run: the
 * gradient of sum(dropout(x) * w) in x is the mask times the scale times w, and
 * central differences of the loss agree with it. f64. */
static void test_dropout_gradient(void **state)
{
    (void)state;
    enum { N = 64 };
    nb_graph *g = nb_graph_new();
    int64_t s[] = {N};
    nb_node *x = nb_input(g, "x", NB_F64, 1, s), *w = nb_input(g, "w", NB_F64, 1, s);
    nb_node *d = nb_dropout(g, x, 0.4, 1);
    nb_node *loss = nb_sum(g, nb_mul(g, d, w), NULL, 0, 0);
    nb_node *gx;
    assert_int_equal(nb_grad(g, loss, &x, 1, &gx), 0);
    nb_node *step = nb_rng_step(g);
    nb_update u = {step, step};
    nb_node *outs[] = {loss, gx, d};
    nb_compile_options o = {.outputs = outs, .n_outputs = 3, .updates = &u, .n_updates = 1};
    nb_program *p = nb_compile(g, &o);
    assert_non_null(p);
    double xv[N], wv[N];
    for (int i = 0; i < N; i++) {
        xv[i] = 0.5 + 0.01 * i;
        wv[i] = cos(0.3 * i);
    }
    assert_int_equal(nb_program_bind(p, "x", xv), 0);
    assert_int_equal(nb_program_bind(p, "w", wv), 0);
    run(p);
    double grad[N], y[N];
    memcpy(grad, nb_program_output(p, 1), sizeof grad);
    memcpy(y, nb_program_output(p, 2), sizeof y);
    int kept = 0;
    for (int i = 0; i < N; i++) {
        double mask = y[i] / xv[i]; /* 0 or the scale */
        assert_true(mask == 0 || fabs(mask - 1 / 0.6) < 1e-12);
        kept += mask != 0;
        assert_true(grad[i] == (mask == 0 ? 0 : (1 / 0.6) * wv[i]));
        const double h = 1e-6, keep = xv[i];
        xv[i] = keep + h;
        run(p);
        double up = *(const double *)nb_program_output(p, 0);
        xv[i] = keep - h;
        run(p);
        double down = *(const double *)nb_program_output(p, 0);
        xv[i] = keep;
        double fd = (up - down) / (2 * h);
        assert_true(fabs(fd - grad[i]) <= 1e-7 + 1e-5 * fabs(grad[i]));
    }
    assert_true(kept > 0 && kept < N);
    nb_program_free(p);
    nb_graph_free(g);
}

/* nb_gradcheck holds the step while it differences: dropout in f32 (checked in f64),
 * at random points (the step among the drawn leaves). */
static void test_dropout_gradcheck(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    int64_t s[] = {5, 7};
    nb_node *x = nb_param(g, "x", NB_F32, 2, s);
    nb_node *y = nb_sum(g, nb_tanh(g, nb_dropout(g, nb_mul(g, x, x), 0.5, 1)), NULL, 0, 0);
    nb_gradcheck_result r;
    int rc = nb_gradcheck(g, y, &x, 1, NULL, &r);
    if (rc != 0)
        fail_msg("%s", r.message);
    assert_true(r.checked > 0);
    nb_graph_free(g);
}

/* ---- errors ------------------------------------------------------------------------- */

/* Each misuse is a sticky error naming the builder and what was wrong. */
static void expect_error(nb_graph *g, nb_node *n, const char *text)
{
    assert_null(n);
    const char *e = nb_graph_error(g);
    assert_non_null(e);
    if (!strstr(e, text))
        fail_msg("error '%s' does not say '%s'", e, text);
    nb_graph_free(g);
}

static void test_errors(void **state)
{
    (void)state;
    int64_t s[] = {2, 3}, neg[] = {2, -1};
    nb_graph *g = nb_graph_new();
    expect_error(g, nb_rand(g, NB_I32, 2, s), "rand: dtype i32 is not a float dtype");
    g = nb_graph_new();
    expect_error(g, nb_randn(g, NB_BOOL, 2, s), "randn: dtype bool is not a float dtype");
    g = nb_graph_new();
    expect_error(g, nb_rand(g, NB_F32, 9, s), "rand: rank 9 is out of range [0, 8]");
    g = nb_graph_new();
    expect_error(g, nb_rand(g, NB_F32, 2, NULL), "rand: shape is NULL for rank 2");
    g = nb_graph_new();
    expect_error(g, nb_randn(g, NB_F32, 2, neg), "randn: shape f32[2,-1] has a negative dimension");
    g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 2, s);
    expect_error(g, nb_dropout(g, x, 1.5, 1),
                 "dropout: p is 1.5; expected a probability in [0, 1]");
    g = nb_graph_new();
    x = nb_input(g, "x", NB_F32, 2, s);
    expect_error(g, nb_dropout(g, x, -0.1, 0), "dropout: p is -0.1; expected a probability");
    g = nb_graph_new();
    x = nb_input(g, "x", NB_F32, 2, s);
    expect_error(g, nb_dropout(g, x, NAN, 1), "dropout: p is nan; expected a probability");
    g = nb_graph_new();
    x = nb_input(g, "i", NB_I32, 2, s);
    expect_error(g, nb_dropout(g, x, 0.5, 1), "dropout: x is i32[2,3]; expected a float tensor");
    g = nb_graph_new();
    expect_error(g, nb_dropout(g, NULL, 0.5, 1), "dropout: x is NULL");
    /* A parameter of the step counter's name that is not an f64 scalar. */
    g = nb_graph_new();
    nb_param(g, NB_RNG_STEP_NAME, NB_F32, 0, NULL);
    expect_error(g, nb_rand(g, NB_F32, 2, s), "the step counter must be f64[]");
    /* Counters of one seed run out after 2^63. */
    g = nb_graph_new();
    int64_t huge[] = {INT64_C(1) << 58};
    for (int i = 0; i < 31; i++)
        assert_non_null(nb_rand(g, NB_F32, 1, huge));
    expect_error(g, nb_rand(g, NB_F32, 1, huge), "would pass the 2^63 counters of seed 0");
    /* nb_manual_seed starts the stream again; NULL graphs are ignored. */
    nb_manual_seed(NULL, 1);
    assert_null(nb_rng_step(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_philox_kat),
        cmocka_unit_test(test_rand_values),
        cmocka_unit_test(test_statistics),
        cmocka_unit_test(test_same_bits),
        cmocka_unit_test(test_checkpoint_resumes),
        cmocka_unit_test(test_step_update_override),
        cmocka_unit_test(test_step_update_names),
        cmocka_unit_test(test_dropout_values),
        cmocka_unit_test(test_dropout_gradient),
        cmocka_unit_test(test_dropout_gradcheck),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, tu_cc_cache_setup, tu_cc_cache_teardown);
}
