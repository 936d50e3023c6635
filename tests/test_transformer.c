/* test_transformer.c — a pre-norm transformer block built from nabla's builders
 * (y = x + attn(ln1(x)), z = y + mlp(ln2(y)): multi-head causal self-attention with
 * matmul, reshape, permute, where and softmax; layer norm; a GELU MLP), its output and
 * the gradients of sum(z * r) w.r.t. x and every weight against PyTorch's values in
 * tests/data/transformer.txt (tests/golden/make_transformer.py), on both backends. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "golden.h"
#include "nabla.h"

/* The sizes of make_transformer.py: batch, sequence, model width, heads, MLP width. */
enum { B = 2, T = 5, D = 8, H = 2, HD = D / H, M = 16 };

/* The parameters in the script's order. */
static const char *const names[] = {"ln1_w", "ln1_b", "wq",    "bq",    "wk", "bk", "wv", "bv",
                                    "wo",    "bo",    "ln2_w", "ln2_b", "w1", "b1", "w2", "b2"};
#define N_PARAMS ((int)(sizeof names / sizeof *names))

static gd_file *golden;

typedef struct block {
    nb_graph *g;
    nb_node *p[N_PARAMS];
} block;

static nb_node *param(const block *k, const char *name)
{
    for (int i = 0; i < N_PARAMS; i++)
        if (strcmp(names[i], name) == 0)
            return k->p[i];
    fail_msg("no parameter %s", name);
    return NULL;
}

/* h @ W + b, h [B, T, in]. */
static nb_node *linear(const block *k, nb_node *h, const char *w, const char *b)
{
    return nb_add(k->g, nb_matmul(k->g, h, param(k, w)), param(k, b));
}

/* [B, T, D] -> [B, H, T, HD]. */
static nb_node *heads(const block *k, nb_node *h, const char *w, const char *b)
{
    static const int64_t split[4] = {B, T, H, HD};
    static const int perm[4] = {0, 2, 1, 3};
    return nb_permute(k->g, nb_reshape(k->g, linear(k, h, w, b), 4, split), perm, 4);
}

static nb_node *attention(const block *k, nb_node *h)
{
    nb_graph *g = k->g;
    static const int64_t merged[3] = {B, T, D}, tt[2] = {T, T};
    static const int perm[4] = {0, 2, 1, 3};
    nb_node *q = heads(k, h, "wq", "bq"), *kk = heads(k, h, "wk", "bk");
    nb_node *v = heads(k, h, "wv", "bv");
    nb_node *s = nb_mul(g, nb_matmul(g, q, nb_transpose(g, kk)),
                        nb_scalar(g, NB_F32, 1.0 / sqrt((double)HD)));
    /* causal[i][j] = j <= i: a position sees itself and the ones before. */
    double causal[T * T];
    for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++)
            causal[i * T + j] = j <= i;
    nb_node *mask = nb_constant(g, NB_BOOL, 2, tt, causal);
    s = nb_where(g, mask, s, nb_scalar(g, NB_F32, -INFINITY));
    nb_node *o = nb_matmul(g, nb_softmax(g, s, -1), v);
    o = nb_reshape(g, nb_permute(g, o, perm, 4), 3, merged);
    return linear(k, o, "wo", "bo");
}

static nb_node *block_out(const block *k, nb_node *x)
{
    nb_graph *g = k->g;
    nb_node *h = nb_layer_norm(g, x, 1, param(k, "ln1_w"), param(k, "ln1_b"), NB_NORM_EPS);
    nb_node *y = nb_add(g, x, attention(k, h));
    nb_node *m = nb_layer_norm(g, y, 1, param(k, "ln2_w"), param(k, "ln2_b"), NB_NORM_EPS);
    m = linear(k, nb_gelu(g, linear(k, m, "w1", "b1")), "w2", "b2");
    return nb_add(g, y, m);
}

/* |a - e| <= 1e-5 |e| + 1e-6 max(1, max |e|), as test_golden.c compares. */
static void expect_close(const char *what, const float *v, const gd_array *e)
{
    double scale = 1.0;
    for (int64_t k = 0; k < e->numel; k++)
        scale = fmax(scale, fabs(e->values[k]));
    int bad = 0;
    for (int64_t k = 0; k < e->numel; k++)
        if (!(fabs(v[k] - e->values[k]) <= 1e-5 * fabs(e->values[k]) + 1e-6 * scale) && bad++ < 5)
            print_error("%s[%lld] = %.9g, PyTorch %.9g\n", what, (long long)k, v[k], e->values[k]);
    if (bad)
        fail_msg("%s: %d of %lld values differ", what, bad, (long long)e->numel);
}

static const gd_array *garray(const gd_case *c, const char *name)
{
    const gd_array *a = gd_array_find(c, name);
    if (!a)
        fail_msg("transformer.txt has no array %s (regenerate it?)", name);
    return a;
}

static void check_block(nb_backend backend, int threads)
{
    const gd_case *c = gd_case_find(golden, "transformer_block");
    assert_non_null(c);
    block k = {nb_graph_new(), {0}};
    assert_non_null(k.g);
    const gd_array *ax = garray(c, "x");
    nb_node *x = nb_input(k.g, "x", NB_F32, ax->rank, ax->shape);
    nb_node *r = nb_input(k.g, "r", NB_F32, ax->rank, ax->shape);
    for (int i = 0; i < N_PARAMS; i++) {
        const gd_array *a = garray(c, names[i]);
        k.p[i] = nb_param(k.g, names[i], NB_F32, a->rank, a->shape);
    }
    nb_node *z = block_out(&k, x);
    nb_node *loss = nb_sum(k.g, nb_mul(k.g, z, r), NULL, 0, 0);
    nb_node *wrt[1 + N_PARAMS], *outs[2 + N_PARAMS];
    wrt[0] = x;
    memcpy(wrt + 1, k.p, sizeof k.p);
    outs[0] = z;
    if (nb_grad(k.g, loss, wrt, 1 + N_PARAMS, outs + 1) != 0)
        fail_msg("nb_grad: %s", nb_graph_error(k.g));
    nb_compile_options opt = {
        .outputs = outs, .n_outputs = 2 + N_PARAMS, .backend = backend, .threads = threads};
    nb_program *p = nb_compile(k.g, &opt);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(k.g));
    assert_int_equal(nb_program_bind(p, "x", ax->data), 0);
    assert_int_equal(nb_program_bind(p, "r", garray(c, "r")->data), 0);
    for (int i = 0; i < N_PARAMS; i++) {
        const gd_array *a = garray(c, names[i]);
        assert_int_equal(
            nb_program_set_param(p, names[i], a->data, (size_t)a->numel * sizeof(float)), 0);
    }
    if (nb_program_run(p) != 0)
        fail_msg("run: %s", nb_program_error(p));
    expect_close("z", nb_program_output(p, 0), garray(c, "z"));
    expect_close("dloss_dx", nb_program_output(p, 1), garray(c, "dloss_dx"));
    for (int i = 0; i < N_PARAMS; i++) {
        char name[64];
        snprintf(name, sizeof name, "dloss_d%s", names[i]);
        expect_close(name, nb_program_output(p, 2 + i), garray(c, name));
    }
    nb_program_free(p);
    nb_graph_free(k.g);
}

static void test_block_tcc(void **state)
{
    (void)state;
    check_block(NB_BACKEND_TCC, 1);
}

static void test_block_cc(void **state)
{
    (void)state;
    check_block(NB_BACKEND_CC, 2);
}

int main(void)
{
    golden = gd_load(NABLA_TEST_DATA "/transformer.txt");
    if (!golden)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_tcc),
        cmocka_unit_test(test_block_cc),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    gd_free(golden);
    return rc;
}
