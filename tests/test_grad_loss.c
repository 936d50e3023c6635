/* test_grad_loss.c — the losses (mse, bce, bce_with_logits, cross_entropy, nll) in
 * every reduction mode: gradient checks, and values and gradients against numbers
 * computed with PyTorch 1.13 (the seed tutorial's logistic regression included). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gradcheck.h"

/* ---- gradient checks --------------------------------------------------------------- */

/* A case function applying loss FN to x[0], x[1] with reduction R. */
#define LOSS_CASE(name, fn, r)                                                                     \
    static nb_node *name(nb_graph *g, nb_node *const *x, nb_dtype dt)                              \
    {                                                                                              \
        (void)dt;                                                                                  \
        return fn(g, x[0], x[1], r);                                                               \
    }

LOSS_CASE(mse_mean, nb_mse, NB_REDUCTION_MEAN)
LOSS_CASE(mse_sum, nb_mse, NB_REDUCTION_SUM)
LOSS_CASE(mse_none, nb_mse, NB_REDUCTION_NONE)
LOSS_CASE(bce_mean, nb_bce, NB_REDUCTION_MEAN)
LOSS_CASE(bce_sum, nb_bce, NB_REDUCTION_SUM)
LOSS_CASE(bce_none, nb_bce, NB_REDUCTION_NONE)
LOSS_CASE(bcel_mean, nb_bce_with_logits, NB_REDUCTION_MEAN)
LOSS_CASE(bcel_sum, nb_bce_with_logits, NB_REDUCTION_SUM)
LOSS_CASE(bcel_none, nb_bce_with_logits, NB_REDUCTION_NONE)
LOSS_CASE(ce_mean, nb_cross_entropy, NB_REDUCTION_MEAN)
LOSS_CASE(ce_sum, nb_cross_entropy, NB_REDUCTION_SUM)
LOSS_CASE(ce_none, nb_cross_entropy, NB_REDUCTION_NONE)
LOSS_CASE(nll_mean, nb_nll, NB_REDUCTION_MEAN)
LOSS_CASE(nll_sum, nb_nll, NB_REDUCTION_SUM)
LOSS_CASE(nll_none, nb_nll, NB_REDUCTION_NONE)

/* nll of log_softmax: the pair cross_entropy is made of, spelled out. */
static nb_node *nll_of_log_softmax(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_nll(g, nb_log_softmax(g, x[0], 1), x[1], NB_REDUCTION_MEAN);
}

#define LABELS(n, classes)                                                                         \
    {                                                                                              \
        NB_I32, 1, {n}, 0, classes                                                                 \
    }
#define LABEL(classes)                                                                             \
    {                                                                                              \
        NB_I32, 0, {0}, 0, classes                                                                 \
    }
#define PROBS(r, ...) GC_FR(0.05, 0.95, r, __VA_ARGS__)
#define TARGETS(r, ...) GC_FR(0.0, 1.0, r, __VA_ARGS__)

static const gc_case cases[] = {
    {"mse_mean", mse_mean, 2, {GC_F(2, 3, 4), GC_F(2, 3, 4)}, 1},
    {"mse_sum", mse_sum, 2, {GC_F(1, 5), GC_F(1, 5)}, 0},
    {"mse_none", mse_none, 2, {GC_F(3, 2, 3, 2), GC_F(3, 2, 3, 2)}, 0},
    {"mse_scalar", mse_mean, 2, {GC_F(0), GC_F(0)}, 0},
    {"bce_mean", bce_mean, 2, {PROBS(2, 3, 4), TARGETS(2, 3, 4)}, 1},
    {"bce_sum", bce_sum, 2, {PROBS(1, 6), TARGETS(1, 6)}, 0},
    {"bce_none", bce_none, 2, {PROBS(2, 2, 3), TARGETS(2, 2, 3)}, 0},
    {"bce_with_logits_mean", bcel_mean, 2, {GC_FR(-4, 4, 2, 3, 4), TARGETS(2, 3, 4)}, 1},
    {"bce_with_logits_sum", bcel_sum, 2, {GC_FR(-4, 4, 1, 6), TARGETS(1, 6)}, 0},
    {"bce_with_logits_none", bcel_none, 2, {GC_FR(-4, 4, 3, 2, 1, 3), TARGETS(3, 2, 1, 3)}, 1},
    {"bce_with_logits_large", bcel_sum, 2, {GC_FR(100, 120, 1, 4), TARGETS(1, 4)}, 0},
    {"bce_with_logits_very_negative", bcel_sum, 2, {GC_FR(-120, -100, 1, 4), TARGETS(1, 4)}, 0},
    {"cross_entropy_mean", ce_mean, 2, {GC_F(2, 4, 5), LABELS(4, 5)}, 1},
    {"cross_entropy_sum", ce_sum, 2, {GC_F(2, 3, 4), LABELS(3, 4)}, 0},
    {"cross_entropy_none", ce_none, 2, {GC_F(2, 3, 4), LABELS(3, 4)}, 1},
    {"cross_entropy_1d", ce_mean, 2, {GC_F(1, 6), LABEL(6)}, 0},
    {"cross_entropy_large", ce_mean, 2, {GC_FR(200, 210, 2, 2, 3), LABELS(2, 3)}, 0},
    {"nll_mean", nll_mean, 2, {GC_F(2, 4, 5), LABELS(4, 5)}, 0},
    {"nll_sum", nll_sum, 2, {GC_F(2, 3, 4), LABELS(3, 4)}, 0},
    {"nll_none", nll_none, 2, {GC_F(2, 3, 4), LABELS(3, 4)}, 1},
    {"nll_1d", nll_sum, 2, {GC_F(1, 5), LABEL(5)}, 0},
    {"nll_of_log_softmax", nll_of_log_softmax, 2, {GC_F(2, 3, 4), LABELS(3, 4)}, 1},
};

/* ---- values and gradients against PyTorch ------------------------------------------ */

typedef nb_node *(*loss_fn)(nb_graph *g, nb_node *a, nb_node *b, nb_reduction r);

/* One expected result: the loss's values and d(sum of the loss)/da. */
typedef struct expect {
    nb_reduction r;
    int n_y;
    double y[6], ga[6];
} expect;

/* Runs loss(a, b, r) with a of shape ashape (values av) and b of shape bshape (values
 * bv, dtype bt: the float dtype or NB_I32), in dtype dt; compares with e. */
static void check(nb_dtype dt, loss_fn loss, int arank, const int64_t *ashape, const double *av,
                  nb_dtype bt, int brank, const int64_t *bshape, const double *bv, const expect *e,
                  double tol)
{
    nb_graph *g = nb_graph_new();
    nb_node *a = nb_input(g, "a", dt, arank, ashape);
    nb_node *b = nb_input(g, "b", bt == NB_I32 ? NB_I32 : dt, brank, bshape);
    nb_node *y = loss(g, a, b, e->r), *ga = NULL;
    if (!y)
        fail_msg("build: %s", nb_graph_error(g));
    nb_node *s = nb_sum(g, y, NULL, 0, 0);
    assert_int_equal(nb_grad(g, s, &a, 1, &ga), 0);
    nb_node *outs[2] = {y, ga};
    nb_compile_options opt = {.outputs = outs, .n_outputs = 2};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(g));
    assert_int_equal(nb_program_output_numel(p, 0), e->n_y);
    int64_t na = nb_program_output_numel(p, 1), nb = 1;
    for (int d = 0; d < brank; d++)
        nb *= bshape[d];
    float af[6], bf[6];
    int32_t bi[6];
    double ad[6], bd[6];
    for (int64_t i = 0; i < na; i++)
        af[i] = (float)av[i], ad[i] = av[i];
    for (int64_t i = 0; i < nb; i++)
        bf[i] = (float)bv[i], bd[i] = bv[i], bi[i] = (int32_t)bv[i];
    const void *abuf = dt == NB_F32 ? (const void *)af : (const void *)ad;
    const void *bbuf = bt == NB_I32   ? (const void *)bi
                       : dt == NB_F32 ? (const void *)bf
                                      : (const void *)bd;
    assert_int_equal(nb_program_bind(p, "a", abuf), 0);
    assert_int_equal(nb_program_bind(p, "b", bbuf), 0);
    if (nb_program_run(p) != 0)
        fail_msg("run: %s", nb_program_error(p));
    for (int o = 0; o < 2; o++) {
        const double *want = o ? e->ga : e->y;
        const void *got = nb_program_output(p, o);
        for (int64_t i = 0; i < (o ? na : e->n_y); i++) {
            double v = dt == NB_F32 ? (double)((const float *)got)[i] : ((const double *)got)[i];
            if (!(fabs(v - want[i]) <= tol * (1 + fabs(want[i]))))
                fail_msg("reduction %d, output %d[%lld]: got %.10g, want %.10g", (int)e->r, o,
                         (long long)i, v, want[i]);
        }
    }
    nb_program_free(p);
    nb_graph_free(g);
}

static const int64_t S23[2] = {2, 3}, S2[1] = {2}, S3[1] = {3};
static const double X23[6] = {1, 5, 3, -2, 0.5, 0.5};

/* Every expectation in f64 (tight) and f32. */
static void check_all(loss_fn loss, int arank, const int64_t *ashape, const double *av, nb_dtype bt,
                      int brank, const int64_t *bshape, const double *bv, const expect *e, int n)
{
    for (int i = 0; i < n; i++) {
        check(NB_F64, loss, arank, ashape, av, bt, brank, bshape, bv, &e[i], 1e-9);
        check(NB_F32, loss, arank, ashape, av, bt, brank, bshape, bv, &e[i], 2e-5);
    }
}

static void test_mse_values(void **state)
{
    (void)state;
    const double t[6] = {0.5, 4, 3.5, -1, 1, 0};
    const expect e[] = {
        {NB_REDUCTION_MEAN, 1, {0.5}, {1. / 6, 1. / 3, -1. / 6, -1. / 3, -1. / 6, 1. / 6}},
        {NB_REDUCTION_SUM, 1, {3.0}, {1, 2, -1, -2, -1, 1}},
        {NB_REDUCTION_NONE, 6, {0.25, 1, 0.25, 1, 0.25, 0.25}, {1, 2, -1, -2, -1, 1}},
    };
    check_all(nb_mse, 2, S23, X23, NB_F64, 2, S23, t, e, 3);
}

/* p = 1e-10 lies below the clamp: its loss is -log(1e-8) and its gradient 0. */
static void test_bce_values(void **state)
{
    (void)state;
    const double p[6] = {0.2, 0.9, 0.5, 1e-10, 0.999, 0.7};
    const double t[6] = {0, 1, 0.3, 1, 0, 0.5};
    const expect e[] = {
        {NB_REDUCTION_MEAN,
         1,
         {4.52173519076647},
         {0.20833333333333331, -0.18518518518518517, 0.1333333333333333, 0.0, 166.66666666666652,
          0.15873015873015867}},
        {NB_REDUCTION_SUM,
         1,
         {27.130411144598817},
         {1.25, -1.1111111111111112, 0.7999999999999999, 0.0, 999.9999999999991,
          0.9523809523809522}},
        {NB_REDUCTION_NONE,
         6,
         {0.2231435513142097, 0.10536051565782628, 0.6931471805599453, 18.420680743952367,
          6.907755278982136, 0.7803238741323342},
         {1.25, -1.1111111111111112, 0.7999999999999999, 0.0, 999.9999999999991,
          0.9523809523809522}},
    };
    for (int i = 0; i < 3; i++) {
        check(NB_F64, nb_bce, 2, S23, p, NB_F64, 2, S23, t, &e[i], 1e-9);
        /* f32: 1 - 0.999 carries a relative error of ~1e-5 into log and 1 / (1 - p). */
        check(NB_F32, nb_bce, 2, S23, p, NB_F64, 2, S23, t, &e[i], 2e-4);
    }
}

/* |z| = 100 stays finite; the gradient is sigmoid(z) - t, 1/2 - t at z = 0. */
static void test_bce_with_logits_values(void **state)
{
    (void)state;
    const double z[6] = {100, -100, 0, 2, -3, 0.5};
    const double t[6] = {0, 1, 0.3, 1, 0, 0.5};
    const expect e[] = {
        {NB_REDUCTION_MEAN,
         1,
         {33.59878992122613},
         {0.16666666666666666, -0.16666666666666666, 0.03333333333333333, -0.01986715367035295,
          0.00790431219626113, 0.020409888533642433}},
        {NB_REDUCTION_SUM,
         1,
         {201.59273952735677},
         {1.0, -1.0, 0.2, -0.11920292202211769, 0.04742587317756678, 0.1224593312018546}},
        {NB_REDUCTION_NONE,
         6,
         {100.0, 100.0, 0.6931471805599453, 0.1269280110429726, 0.048587351573741965,
          0.7240769841801067},
         {1.0, -1.0, 0.2, -0.11920292202211769, 0.04742587317756678, 0.1224593312018546}},
    };
    check_all(nb_bce_with_logits, 2, S23, z, NB_F64, 2, S23, t, e, 3);
}

static void test_cross_entropy_values(void **state)
{
    (void)state;
    const double labels[2] = {1, 2}, label = 2;
    const expect e[] = {
        {NB_REDUCTION_MEAN,
         1,
         {0.43815071166355546},
         {0.00793811998823338, -0.06659333390133265, 0.05865521391309918, 0.019712211239731034,
          0.24014389438013448, -0.2598561056198655}},
        {NB_REDUCTION_SUM,
         1,
         {0.8763014233271109},
         {0.01587623997646676, -0.1331866678026653, 0.11731042782619835, 0.03942442247946207,
          0.48028778876026895, -0.519712211239731}},
        {NB_REDUCTION_NONE,
         2,
         {0.14293162849989968, 0.7333697948272112},
         {0.01587623997646676, -0.1331866678026653, 0.11731042782619835, 0.03942442247946207,
          0.48028778876026895, -0.519712211239731}},
    };
    const expect e1 = {NB_REDUCTION_MEAN,
                       1,
                       {2.1429316284998996},
                       {0.01587623997646676, 0.8668133321973347, -0.8826895721738016}};
    check_all(nb_cross_entropy, 2, S23, X23, NB_I32, 1, S2, labels, e, 3);
    check_all(nb_cross_entropy, 1, S3, X23, NB_I32, 0, NULL, &label, &e1, 1);
}

static void test_nll_values(void **state)
{
    (void)state;
    const double logp[6] = {-4.1429316284999,    -0.14293162849989968, -2.1429316284998996,
                            -3.2333697948272113, -0.7333697948272112,  -0.7333697948272112};
    const double labels[2] = {0, 2};
    const expect e[] = {
        {NB_REDUCTION_MEAN, 1, {2.4381507116635555}, {-0.5, 0, 0, 0, 0, -0.5}},
        {NB_REDUCTION_SUM, 1, {4.876301423327111}, {-1, 0, 0, 0, 0, -1}},
        {NB_REDUCTION_NONE, 2, {4.1429316284999, 0.7333697948272112}, {-1, 0, 0, 0, 0, -1}},
    };
    check_all(nb_nll, 2, S23, logp, NB_I32, 1, S2, labels, e, 3);
}

/* The seed tutorial: x = 6.7, y = 0, w = 1, b = 0, loss = bce(sigmoid(w x + b), y).
 * PyTorch (f32): 6.7011761665, dw 6.6917619705, db 0.9987704754. */
static void test_seed_logistic(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_scalar(g, NB_F32, 6.7), *y = nb_scalar(g, NB_F32, 0);
    nb_node *w = nb_param(g, "w", NB_F32, 0, NULL), *b = nb_param(g, "b", NB_F32, 0, NULL);
    nb_node *p = nb_sigmoid(g, nb_add(g, nb_mul(g, w, x), b));
    nb_node *loss = nb_bce(g, p, y, NB_REDUCTION_MEAN);
    nb_node *wrt[2] = {w, b}, *gr[2];
    assert_int_equal(nb_grad(g, loss, wrt, 2, gr), 0);
    nb_node *outs[3] = {loss, gr[0], gr[1]};
    nb_compile_options opt = {.outputs = outs, .n_outputs = 3};
    nb_program *prog = nb_compile(g, &opt);
    if (!prog)
        fail_msg("compile: %s", nb_graph_error(g));
    float one = 1;
    assert_int_equal(nb_program_set_param(prog, "w", &one, sizeof one), 0);
    assert_int_equal(nb_program_run(prog), 0);
    const double want[3] = {6.7011761665, 6.6917619705, 0.9987704754};
    for (int i = 0; i < 3; i++) {
        double v = *(const float *)nb_program_output(prog, i);
        if (!(fabs(v - want[i]) <= 1e-5 * fabs(want[i])))
            fail_msg("seed output %d: got %.10g, want %.10g", i, v, want[i]);
    }
    nb_program_free(prog);
    nb_graph_free(g);
}

/* A label outside [0, C) fails the run with an error; nothing crashes. */
static void test_label_out_of_range(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *logits = nb_input(g, "logits", NB_F64, 2, S23);
    nb_node *labels = nb_input(g, "labels", NB_I32, 1, S2);
    nb_node *loss = nb_cross_entropy(g, logits, labels, NB_REDUCTION_MEAN);
    nb_compile_options opt = {.outputs = &loss, .n_outputs = 1};
    nb_program *p = nb_compile(g, &opt);
    assert_non_null(p);
    const int32_t bad[2][2] = {{1, 3}, {-1, 0}}, good[2] = {1, 2};
    assert_int_equal(nb_program_bind(p, "logits", X23), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(nb_program_bind(p, "labels", bad[i]), 0);
        assert_int_equal(nb_program_run(p), -1);
        assert_non_null(nb_program_error(p));
        assert_non_null(strstr(nb_program_error(p), "out of range"));
    }
    assert_int_equal(nb_program_bind(p, "labels", good), 0);
    assert_int_equal(nb_program_run(p), 0);
    assert_true(fabs(*(const double *)nb_program_output(p, 0) - 0.43815071166355546) < 1e-12);
    nb_program_free(p);
    nb_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest values[] = {
        cmocka_unit_test(test_mse_values),
        cmocka_unit_test(test_bce_values),
        cmocka_unit_test(test_bce_with_logits_values),
        cmocka_unit_test(test_cross_entropy_values),
        cmocka_unit_test(test_nll_values),
        cmocka_unit_test(test_seed_logistic),
        cmocka_unit_test(test_label_out_of_range),
    };
    int failed = cmocka_run_group_tests_name("loss_values", values, NULL, NULL);
    return failed + gc_run_table("grad_loss", cases, (int)(sizeof cases / sizeof *cases));
}
