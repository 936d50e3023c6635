/* test_reduce_passes.c — reductions emitted to read their operand in fewer or cheaper
 * passes give the same bits as before.
 *
 * Reductions whose innermost axis is kept (a sum over axis 0, a bias gradient) are
 * emitted row-outer, a block of output elements accumulated side by
 * side (codegen/cg_reduce.c). Each output element must still add its terms in the
 * order of the reduced axes, into a double for sums: the expected values are computed
 * here by plain column-outer loops in that order, and the results must be the same
 * bits, on both backends. The inputs are made so that another order rounds differently
 * (checked: summing the columns in reverse gives other bits). */
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

/* Columns of the wide case: more than one block of 256 and a tail (cg_reduce.c). */
#define WIDE_COLS 1030

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* Values from 1e-4 to 2e4 of either sign. */
static double next_value(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    uint32_t r = (uint32_t)(rng_state >> 33);
    double mag = pow(10.0, (double)(r % 9) - 4.0);
    return ((r >> 8) & 1 ? -1.0 : 1.0) * mag * (1.0 + (double)((r >> 9) % 1000) / 1000.0);
}

/* The reduction over the axes set in `red` of x (shape[rank], f32), its kept axes in
 * order: sums in double, max and min with NaN sticky, each output element walking its
 * reduced axes in increasing order (the order of the emitted loops before row-outer). */
static void reference(const float *x, int rank, const int64_t *shape, uint32_t red, int op,
                      float *y)
{
    int64_t numel = 1, out;
    for (int d = 0; d < rank; d++)
        numel *= shape[d];
    /* Visit outputs in order: for each output, all x elements mapping to it in
     * row-major order of x — which walks the reduced axes in increasing order. */
    int64_t n_out = 1;
    for (int d = 0; d < rank; d++)
        if (!(red & (1u << d)))
            n_out *= shape[d];
    for (out = 0; out < n_out; out++) {
        double acc = 0.0;
        float m = op > 0 ? -INFINITY : INFINITY;
        for (int64_t i = 0; i < numel; i++) {
            int64_t rest = i, o = 0, scale = 1;
            for (int d = rank - 1; d >= 0; d--) {
                int64_t k = rest % shape[d];
                rest /= shape[d];
                if (!(red & (1u << d))) {
                    o += k * scale;
                    scale *= shape[d];
                }
            }
            if (o != out)
                continue;
            float v = x[i];
            acc += v;
            if ((op > 0 && v > m) || (op < 0 && v < m) || v != v)
                m = v;
        }
        y[out] = op == 0 ? (float)acc : m;
    }
}

/* Builds op(x) over axes, runs it on both backends, compares the bits with the
 * reference, and checks that the kernel reads rows (the row-outer loop). */
static void check(int rank, const int64_t *shape, const int *axes, int n_axes, int op,
                  const float *x)
{
    uint32_t red = 0;
    for (int i = 0; i < n_axes; i++)
        red |= 1u << axes[i];
    int64_t numel = 1, n_out = 1;
    for (int d = 0; d < rank; d++) {
        numel *= shape[d];
        n_out *= red & (1u << d) ? 1 : shape[d];
    }
    float *want = malloc((size_t)n_out * sizeof *want);
    assert_non_null(want);
    reference(x, rank, shape, red, op, want);
    for (int b = 0; b < 2; b++) {
        nb_graph *g = nb_graph_new();
        nb_node *in = nb_input(g, "x", NB_F32, rank, shape);
        nb_node *y = op == 0  ? nb_sum(g, in, axes, n_axes, 0)
                     : op > 0 ? nb_max(g, in, axes, n_axes, 0)
                              : nb_min(g, in, axes, n_axes, 0);
        nb_compile_options opt = {
            .outputs = &y, .n_outputs = 1, .backend = b ? NB_BACKEND_CC : NB_BACKEND_TCC};
        nb_program *p = nb_compile(g, &opt);
        if (!p)
            fail_msg("compile: %s", nb_graph_error(g));
        assert_non_null(strstr(nb_program_source(p), "*row = x0"));
        assert_int_equal(nb_program_bind(p, "x", x), 0);
        assert_int_equal(nb_program_run(p), 0);
        const float *got = nb_program_output(p, 0);
        for (int64_t i = 0; i < n_out; i++)
            if (memcmp(&got[i], &want[i], sizeof *got) != 0)
                fail_msg("%s: output %lld is %.9g, expected %.9g", b ? "cc" : "tcc", (long long)i,
                         got[i], want[i]);
        nb_program_free(p);
        nb_graph_free(g);
    }
    free(want);
    (void)numel;
}

static float *random_values(int64_t n)
{
    float *x = malloc((size_t)n * sizeof *x);
    assert_non_null(x);
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)next_value();
    return x;
}

/* Axis 0 of [37, 1030]: four full blocks and a tail of 6 columns. The mixed magnitudes
 * make order matter: summing rows in reverse differs in some column. */
static void test_sum_axis0_wide(void **state)
{
    (void)state;
    int64_t shape[2] = {37, WIDE_COLS};
    int axis = 0, differs = 0;
    float *x = random_values(shape[0] * shape[1]);
    /* Every third column starts 1, 1e20, -1e20: in order the 1 is lost in the 1e20, in
     * reverse it survives. */
    for (int64_t j = 0; j < shape[1]; j += 3) {
        x[j] = 1.0f;
        x[shape[1] + j] = 1e20f;
        x[2 * shape[1] + j] = -1e20f;
    }
    for (int64_t j = 0; j < shape[1]; j++) {
        double fwd = 0.0, rev = 0.0;
        for (int64_t i = 0; i < shape[0]; i++) {
            fwd += x[i * shape[1] + j];
            rev += x[(shape[0] - 1 - i) * shape[1] + j];
        }
        differs |= (float)fwd != (float)rev;
    }
    assert_true(differs);
    check(2, shape, &axis, 1, 0, x);
    free(x);
}

/* Reduced axes on both sides of a kept one ([5,3,7,4] over axes 0 and 2, kept 1 and 3),
 * and leading axes merged ([4,6,9] over 0 and 1). */
static void test_sum_interleaved_axes(void **state)
{
    (void)state;
    int64_t s4[4] = {5, 3, 7, 4}, s3[3] = {4, 6, 9};
    int a02[2] = {0, 2}, a01[2] = {0, 1};
    float *x = random_values(5 * 3 * 7 * 4);
    check(4, s4, a02, 2, 0, x);
    check(3, s3, a01, 2, 0, x);
    free(x);
}

/* max and min over axis 0 keep the NaN of a column and take infinities. */
static void test_max_min_axis0(void **state)
{
    (void)state;
    int64_t shape[2] = {6, 300};
    int axis = 0;
    float *x = random_values(shape[0] * shape[1]);
    x[2 * 300 + 5] = NAN;
    x[4 * 300 + 7] = INFINITY;
    x[1 * 300 + 8] = -INFINITY;
    check(2, shape, &axis, 1, 1, x);
    check(2, shape, &axis, 1, -1, x);
    free(x);
}

/* log_softmax's logsumexp reads its shifted scores once (no max pass: their max is +-0
 * or NaN, codegen/cg_reduce.c). Its rows must equal a logsumexp over the same shifted
 * values given as an input (the kernel with its max pass), and torch's values on the
 * first row; special rows: NaN, +inf, all -inf, a -0 before the +0 max, wide range. */
static void test_log_softmax_one_pass(void **state)
{
    (void)state;
#define LS_ROWS 7
#define LS_COLS 4
    int64_t shape[2] = {LS_ROWS, LS_COLS};
    float x[LS_ROWS * LS_COLS] = {
        0.0f,      0.0f,      0.0f,      0.0f,      /* -log 4 each */
        NAN,       1.0f,      2.0f,      3.0f,      /* all NaN */
        INFINITY,  0.0f,      1.0f,      2.0f,      /* all NaN (inf - inf in the row) */
        -INFINITY, -INFINITY, -INFINITY, -INFINITY, /* all NaN */
        -0.0f,     0.0f,      -1.0f,     -2.0f,     /* shifted: -0, +0, -1, -2 */
        1e30f,     -1e30f,    0.0f,      5.0f,      /* exp underflows to 0 but for the max */
        1.0f,      2.0f,      3.0f,      4.0f,
    };
    int axis = 1;
    for (int b = 0; b < 2; b++) {
        nb_backend be = b ? NB_BACKEND_CC : NB_BACKEND_TCC;
        /* The program under test: log_softmax, and its shifted scores as an output. */
        nb_graph *g = nb_graph_new();
        nb_node *in = nb_input(g, "x", NB_F32, 2, shape);
        nb_node *ls = nb_log_softmax(g, in, 1);
        nb_node *m = nb_max(g, in, &axis, 1, 1);
        nb_node *outs[2] = {ls, nb_sub(g, in, m)};
        nb_compile_options opt = {.outputs = outs, .n_outputs = 2, .backend = be};
        nb_program *p = nb_compile(g, &opt);
        if (!p)
            fail_msg("compile: %s", nb_graph_error(g));
        assert_int_equal(nb_program_bind(p, "x", x), 0);
        assert_int_equal(nb_program_run(p), 0);
        const float *got = nb_program_output(p, 0), *shifted = nb_program_output(p, 1);
        /* The reference: logsumexp with its max pass over the shifted values as input. */
        nb_graph *rg = nb_graph_new();
        nb_node *rin = nb_input(rg, "s", NB_F32, 2, shape);
        nb_node *rls = nb_sub(rg, rin, nb_logsumexp(rg, rin, &axis, 1, 1));
        nb_compile_options ropt = {.outputs = &rls, .n_outputs = 1, .backend = be};
        nb_program *rp = nb_compile(rg, &ropt);
        assert_non_null(rp);
        assert_null(strstr(nb_program_source(rp), "acc += nbm_expf(x0["));
        /* One pass: the shifted score and its exp computed in the exp-sum's loop (fused,
         * in blocks), no max. */
        assert_non_null(strstr(nb_program_source(p), "] = nbm_expf(t"));
        assert_int_equal(nb_program_bind(rp, "s", shifted), 0);
        assert_int_equal(nb_program_run(rp), 0);
        const float *want = nb_program_output(rp, 0);
        for (int i = 0; i < LS_ROWS * LS_COLS; i++)
            if (memcmp(&got[i], &want[i], sizeof *got) != 0 && !(isnan(got[i]) && isnan(want[i])))
                fail_msg("element %d: %.9g, expected %.9g", i, got[i], want[i]);
        /* Row 0 by hand: 0 - log(4); rows 1 and 3 NaN; row 5's max element 0 - log(1). */
        for (int j = 0; j < LS_COLS; j++) {
            assert_true(got[j] == 0.0f - logf(4.0f));
            assert_true(isnan(got[LS_COLS + j]) && isnan(got[3 * LS_COLS + j]));
        }
        assert_true(got[5 * LS_COLS] == 0.0f);
        nb_program_free(rp);
        nb_graph_free(rg);
        nb_program_free(p);
        nb_graph_free(g);
    }
}

/* cross_entropy with mean and sum reduces -picked over every element at once
 * (frontend/nb_loss.c). Its loss and gradient must be the bits of the per-sample
 * formula, built here from public ops: mean or sum of -(sum over classes of
 * where(one_hot, log_softmax, 0)). Rows: a label on the max of a row whose other
 * exps underflow (log_softmax +0 there), -inf scores of other classes, a 1e30 spread,
 * values that round. */
static void test_cross_entropy_same_bits(void **state)
{
    (void)state;
#define CE_ROWS 6
#define CE_COLS 5
    int64_t shape[2] = {CE_ROWS, CE_COLS}, rows = CE_ROWS;
    float z[CE_ROWS * CE_COLS] = {
        0.0f,  -200.0f,   -200.0f,   -200.0f, -200.0f, /* pick +0 */
        -0.0f, -INFINITY, -INFINITY, 1.0f,    -300.0f, 0.25f, 1e30f, -1e30f, 3.0f,
        7.5f,  1.1f,      2.2f,      3.3f,    4.4f,    5.5f,  -1.0f, 0.3f,   0.7f,
        9.0f,  -2.5f,     100.0f,    99.0f,   98.5f,   0.0f,  -7.0f,
    };
    int32_t labels[CE_ROWS] = {0, 3, 4, 2, 1, 0};
    int last = -1;
    for (int b = 0; b < 2; b++)
        for (int r = NB_REDUCTION_MEAN; r <= NB_REDUCTION_SUM; r++) {
            const float *got[2][2];
            nb_graph *g[2];
            nb_program *p[2];
            for (int v = 0; v < 2; v++) {
                g[v] = nb_graph_new();
                nb_node *in = nb_input(g[v], "z", NB_F32, 2, shape);
                nb_node *lab = nb_input(g[v], "labels", NB_I32, 1, &rows);
                nb_node *loss;
                if (v == 0) {
                    loss = nb_cross_entropy(g[v], in, lab, (nb_reduction)r);
                } else {
                    nb_node *logp = nb_log_softmax(g[v], in, -1);
                    nb_node *hot = nb_one_hot(g[v], lab, CE_COLS, NB_BOOL);
                    nb_node *zero = nb_scalar(g[v], NB_F32, 0.0);
                    nb_node *per =
                        nb_neg(g[v], nb_sum(g[v], nb_where(g[v], hot, logp, zero), &last, 1, 0));
                    loss = r == NB_REDUCTION_MEAN ? nb_mean(g[v], per, NULL, 0, 0)
                                                  : nb_sum(g[v], per, NULL, 0, 0);
                }
                nb_node *outs[2] = {loss};
                assert_int_equal(nb_grad(g[v], loss, &in, 1, outs + 1), 0);
                nb_compile_options opt = {
                    .outputs = outs, .n_outputs = 2, .backend = b ? NB_BACKEND_CC : NB_BACKEND_TCC};
                p[v] = nb_compile(g[v], &opt);
                if (!p[v])
                    fail_msg("compile: %s", nb_graph_error(g[v]));
                assert_int_equal(nb_program_bind(p[v], "z", z), 0);
                assert_int_equal(nb_program_bind(p[v], "labels", labels), 0);
                assert_int_equal(nb_program_run(p[v]), 0);
                got[v][0] = nb_program_output(p[v], 0);
                got[v][1] = nb_program_output(p[v], 1);
            }
            assert_memory_equal(got[0][0], got[1][0], sizeof(float));
            assert_memory_equal(got[0][1], got[1][1], sizeof(float) * CE_ROWS * CE_COLS);
            for (int v = 0; v < 2; v++) {
                nb_program_free(p[v]);
                nb_graph_free(g[v]);
            }
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sum_axis0_wide),          cmocka_unit_test(test_sum_interleaved_axes),
        cmocka_unit_test(test_max_min_axis0),           cmocka_unit_test(test_log_softmax_one_pass),
        cmocka_unit_test(test_cross_entropy_same_bits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
