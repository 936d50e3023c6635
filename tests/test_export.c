/* test_export.c — the ahead-of-time export: programs written by nb_program_export
 * compile warning-free (gcc and clang with -std=c99 -pedantic -Wall -Wextra -Werror,
 * libtcc's tcc, the header as C++), link two to a binary, and compute the JIT's bits
 * with -ffp-contract=off: the seed's training step, an MLP trained with Adam for
 * several steps (OpenBLAS through <PREFIX>_USE_CBLAS: bit for bit; the portable gemm:
 * within rounding), its inference with constant weights, an index out of range; and
 * every argument the export refuses. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>

#include <cmocka.h>

#include "files.h"
#include "nabla.h"
#include "opbyop.h"
#include "randgraph.h"
#include "tmpdir.h"

#define CMD_MAX 4096
/* The warning flags, and what the exported file's comment asks for: no
 * contraction, no libm call folded on a constant (a compiler rounds those correctly,
 * libm does not: random graph seed 39, tanh). */
#define STRICT "-std=c99 -pedantic -Wall -Wextra -Werror -O2 -ffp-contract=off -fno-builtin"
/* gcc 12's basic-block vectorizer folds (double)(float)x of a short loop into x (the cc
 * backend turns it off for the same reason, runtime/rt_cc.c): random graph seed 29. */
#define GCC_STRICT STRICT " -fno-tree-slp-vectorize"

static char test_dir[64];

static int setup(void **state)
{
    strcpy(test_dir, "/tmp/nabla-export-XXXXXX");
    if (!mkdtemp(test_dir))
        return -1;
    return tu_cc_cache_setup(state);
}

/* NABLA_TEST_KEEP=1 keeps the exported files for a look (the path is printed). */
static int teardown(void **state)
{
    if (getenv("NABLA_TEST_KEEP"))
        fprintf(stderr, "kept %s\n", test_dir);
    else
        tu_remove_dir(test_dir);
    return tu_cc_cache_teardown(state);
}

/* Runs a shell command (every path in it comes from mkdtemp or the build: no quoting
 * needed); returns its exit status, its output in the log on failure. */
static int run(const char *fmt, ...)
{
    char cmd[CMD_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
    return rc;
}

static int have(const char *tool)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
    return system(cmd) == 0;
}

/* ---- programs and their runs ---------------------------------------------------- */

#define MAX_SLOTS 256

/* A graph, what it is fed on each step, and what a run made of it (the JIT's or an
 * exported build's): every output of every step, and the parameters after the last. */
typedef struct trial {
    nb_graph *g;
    nb_node *ins[MAX_SLOTS], *outs[MAX_SLOTS];
    int n_in, n_out, n_upd;
    nb_update upd[MAX_SLOTS];
    int classes; /* i32 inputs hold labels below it */
    int steps;
    unsigned char *inputs; /* steps * in_step bytes: each step's inputs in input order */
    size_t in_step;
} trial;

typedef struct result {
    unsigned char *outputs, *params;
    size_t outputs_bytes, params_bytes;
} result;

static void result_free(result *r)
{
    free(r->outputs);
    free(r->params);
    memset(r, 0, sizeof *r);
}

static size_t node_bytes(nb_node *x)
{
    return (size_t)nb_node_numel(x) * nb_dtype_size(nb_node_dtype(x));
}

static uint64_t rng = 0x9e3779b97f4a7c15u;

static double uniform(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

/* Fills every step's inputs: f32 values in [-1, 1), i32 labels in [0, classes). */
static void trial_inputs(trial *t)
{
    t->in_step = 0;
    for (int i = 0; i < t->n_in; i++)
        t->in_step += node_bytes(t->ins[i]);
    t->inputs = malloc(t->in_step * (size_t)t->steps + 1);
    assert_non_null(t->inputs);
    unsigned char *at = t->inputs;
    for (int s = 0; s < t->steps; s++)
        for (int i = 0; i < t->n_in; i++)
            for (int64_t j = 0; j < nb_node_numel(t->ins[i]); j++, at += 4) {
                if (nb_node_dtype(t->ins[i]) == NB_I32) {
                    int32_t v = (int32_t)(uniform() * t->classes);
                    memcpy(at, &v, 4);
                } else {
                    float v = (float)(2 * uniform() - 1);
                    memcpy(at, &v, 4);
                }
            }
}

static void trial_free(trial *t)
{
    nb_graph_free(t->g);
    free(t->inputs);
}

static nb_program *trial_compile(trial *t, nb_backend backend)
{
    nb_compile_options o = {.outputs = t->outs,
                            .n_outputs = t->n_out,
                            .updates = t->n_upd ? t->upd : NULL,
                            .n_updates = t->n_upd,
                            .backend = backend,
                            .denormals = NB_DENORMALS_IEEE,
                            .threads = 2, /* split kernels: the export runs on one thread */
                            .exportable = 1};
    nb_program *p = nb_compile(t->g, &o);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(t->g));
    return p;
}

/* Runs the JIT program on every step's inputs. */
static result run_jit(const trial *t, nb_program *p)
{
    result r = {0};
    for (int i = 0; i < t->n_out; i++)
        r.outputs_bytes += node_bytes(t->outs[i]);
    r.outputs = malloc(r.outputs_bytes * (size_t)t->steps + 1);
    assert_non_null(r.outputs);
    unsigned char *in = t->inputs, *out = r.outputs;
    for (int s = 0; s < t->steps; s++) {
        for (int i = 0; i < t->n_in; i++) {
            assert_int_equal(nb_program_bind_index(p, i, in), 0);
            in += node_bytes(t->ins[i]);
        }
        if (nb_program_run(p) != 0)
            fail_msg("run: %s", nb_program_error(p));
        for (int i = 0; i < t->n_out; i++) {
            size_t n = node_bytes(t->outs[i]);
            memcpy(out, nb_program_output(p, i), n);
            out += n;
        }
    }
    r.outputs_bytes *= (size_t)t->steps;
    for (int i = 0; i < nb_program_param_count(p); i++)
        r.params_bytes +=
            (size_t)nb_program_param_numel(p, i) * nb_dtype_size(nb_program_param_dtype(p, i));
    r.params = malloc(r.params_bytes + 1);
    assert_non_null(r.params);
    unsigned char *at = r.params;
    for (int i = 0; i < nb_program_param_count(p); i++) {
        size_t n =
            (size_t)nb_program_param_numel(p, i) * nb_dtype_size(nb_program_param_dtype(p, i));
        memcpy(at, nb_program_param_data(p, i), n);
        at += n;
    }
    return r;
}

/* <test_dir>/<prefix>: where a prefix's files go. */
static void prefix_dir(const char *prefix, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", test_dir, prefix);
    mkdir(buf, 0700);
}

/* Exports p into <test_dir>/<subdir>. */
static void export_to(nb_program *p, const char *prefix, const char *subdir, nb_export_weights w)
{
    char dir[256];
    prefix_dir(subdir, dir, sizeof dir);
    nb_export_options o = {.prefix = prefix, .dir = dir, .weights = w};
    if (nb_program_export(p, &o) != 0)
        fail_msg("export: %s", nb_program_error(p));
}

/* Builds tests/export/driver.c with the export of prefix: compiler and flags given,
 * the executable <dir>/<tag>. */
static void build_driver(const char *prefix, const char *compiler, const char *flags,
                         const char *libs, const char *tag)
{
    char dir[256], upper[64];
    prefix_dir(prefix, dir, sizeof dir);
    size_t i = 0;
    for (; prefix[i] && i < sizeof upper - 1; i++)
        upper[i] = (char)(prefix[i] >= 'a' && prefix[i] <= 'z' ? prefix[i] - 32 : prefix[i]);
    upper[i] = 0;
    assert_int_equal(run("%s %s -I%s -DNB_PREFIX=%s -DNB_PREFIX_UPPER=%s '-DNB_HEADER=\"%s.h\"' "
                         "%s/../export/driver.c %s/%s.c -o %s/%s %s -lm",
                         compiler, flags, dir, prefix, upper, prefix, NABLA_TEST_DATA, dir, prefix,
                         dir, tag, libs),
                     0);
}

/* Runs an exported build on the trial's inputs. */
static result run_driver(const trial *t, const char *prefix, const char *tag)
{
    char dir[256], path[512], out[512], params[512];
    prefix_dir(prefix, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/in.bin", dir);
    snprintf(out, sizeof out, "%s/out.bin", dir);
    snprintf(params, sizeof params, "%s/params.bin", dir);
    tu_write_file(path, t->inputs, t->in_step * (size_t)t->steps);
    assert_int_equal(
        run("OPENBLAS_NUM_THREADS=1 %s/%s %d %s %s %s", dir, tag, t->steps, path, out, params), 0);
    result r = {0};
    r.outputs = tu_read_file(out, &r.outputs_bytes);
    r.params = tu_read_file(params, &r.params_bytes);
    return r;
}

/* The bits of two runs are the same: every output of every step, the parameters. */
static void same_bits(const result *a, const result *b, const char *what)
{
    assert_int_equal(a->outputs_bytes, b->outputs_bytes);
    assert_int_equal(a->params_bytes, b->params_bytes);
    if (memcmp(a->outputs, b->outputs, a->outputs_bytes) != 0)
        fail_msg("%s: the outputs differ", what);
    if (memcmp(a->params, b->params, a->params_bytes) != 0)
        fail_msg("%s: the parameters differ", what);
}

/* Every f32 within rtol of the other (and NaN where the other is NaN). */
static void close_f32(const unsigned char *a, const unsigned char *b, size_t bytes, double rtol,
                      const char *what)
{
    for (size_t i = 0; i < bytes / 4; i++) {
        float x, y;
        memcpy(&x, a + 4 * i, 4);
        memcpy(&y, b + 4 * i, 4);
        double d = x > y ? (double)x - y : (double)y - x, m = x < 0 ? -x : x;
        if (!(d <= rtol * (m > 1e-3 ? m : 1e-3)))
            fail_msg("%s: element %zu is %.9g, not %.9g", what, i, (double)y, (double)x);
    }
}

/* ---- the seed: logistic regression with SGD ---------------------------------------- */

static void seed_trial(trial *t, const char *weight_name)
{
    memset(t, 0, sizeof *t);
    nb_graph *g = t->g = nb_graph_new();
    int64_t n = 4;
    nb_node *x = nb_input(g, "x", NB_F32, 1, &n);
    nb_node *y = nb_input(g, "y", NB_F32, 1, &n);
    nb_node *lr = nb_input(g, "lr", NB_F32, 0, NULL);
    nb_node *w = nb_param(g, weight_name, NB_F32, 0, NULL);
    nb_node *b = nb_param(g, "b", NB_F32, 0, NULL);
    nb_node *z = nb_add(g, nb_mul(g, w, x), b);
    nb_node *loss =
        nb_bce(g, nb_sigmoid(g, z), nb_clamp(g, nb_add(g, y, nb_scalar(g, NB_F32, 0.5)), 0, 1),
               NB_REDUCTION_MEAN);
    nb_node *params[2] = {w, b}, *grads[2];
    assert_int_equal(nb_grad(g, loss, params, 2, grads), 0);
    t->n_upd = nb_sgd(g, lr, params, grads, 2, NULL, t->upd, MAX_SLOTS);
    assert_int_equal(t->n_upd, 2);
    t->ins[0] = x, t->ins[1] = y, t->ins[2] = lr, t->n_in = 3;
    t->outs[0] = loss, t->outs[1] = grads[0], t->outs[2] = grads[1], t->n_out = 3;
    t->steps = 5;
    trial_inputs(t);
    /* The first step is the tutorial's: x = 6.7, y = 0 (stored as -0.5, then + 0.5). */
    float first[9] = {6.7f, 6.7f, 6.7f, 6.7f, -0.5f, -0.5f, -0.5f, -0.5f, 0.1f};
    memcpy(t->inputs, first, sizeof first);
}

static void seed_weights(nb_program *p, const char *weight_name)
{
    float one = 1.0f, zero = 0.0f;
    assert_int_equal(nb_program_set_param(p, weight_name, &one, 4), 0);
    assert_int_equal(nb_program_set_param(p, "b", &zero, 4), 0);
}

/* The seed's training step, exported, built with gcc, clang and tcc, computes the bits
 * of libtcc's and cc's programs for five steps; the export does not depend on the
 * backend; the first loss is the tutorial's 6.7012. */
static void export_seed_bits(void **state)
{
    (void)state;
    trial t;
    seed_trial(&t, "w");
    nb_program *tcc = trial_compile(&t, NB_BACKEND_TCC), *cc = trial_compile(&t, NB_BACKEND_CC);
    seed_weights(tcc, "w");
    seed_weights(cc, "w");
    export_to(cc, "seed", "seedcc", NB_EXPORT_WEIGHTS_STATE);
    export_to(tcc, "seed", "seed", NB_EXPORT_WEIGHTS_STATE);
    const char *ext[2] = {"c", "h"};
    for (int i = 0; i < 2; i++) {
        char a[512], b[512];
        snprintf(a, sizeof a, "%s/seed/seed.%s", test_dir, ext[i]);
        snprintf(b, sizeof b, "%s/seedcc/seed.%s", test_dir, ext[i]);
        size_t la, lb;
        char *ta = tu_read_file(a, &la), *tb = tu_read_file(b, &lb);
        assert_true(la == lb && memcmp(ta, tb, la) == 0);
        free(ta);
        free(tb);
    }
    result jt = run_jit(&t, tcc), jc = run_jit(&t, cc);
    same_bits(&jt, &jc, "tcc vs cc");
    float loss0;
    memcpy(&loss0, jt.outputs, 4);
    assert_true(loss0 > 6.7011f && loss0 < 6.7013f);
    build_driver("seed", "gcc", GCC_STRICT, "", "gcc");
    result eg = run_driver(&t, "seed", "gcc");
    same_bits(&jt, &eg, "export (gcc) vs tcc");
    if (have("clang")) {
        build_driver("seed", "clang", STRICT, "", "clang");
        result ec = run_driver(&t, "seed", "clang");
        same_bits(&jt, &ec, "export (clang) vs tcc");
        result_free(&ec);
    }
    build_driver("seed", "tcc", "-Wall -Werror", "", "tcc");
    result et = run_driver(&t, "seed", "tcc");
    same_bits(&jt, &et, "export (tcc) vs tcc");
    result_free(&et);
    result_free(&eg);
    result_free(&jt);
    result_free(&jc);
    nb_program_free(tcc);
    nb_program_free(cc);
    trial_free(&t);
}

/* Random numbers (docs/random.md): dropout of an input, a normal and a uniform tensor,
 * three runs. The exported file carries the generator and the step counter's update
 * (its state holds the counter), so gcc's and tcc's builds of it draw the JIT's bits,
 * which tcc and cc (kernels split on two threads) share, and end at step 3. */
static void export_random_bits(void **state)
{
    (void)state;
    trial t;
    memset(&t, 0, sizeof t);
    nb_graph *g = t.g = nb_graph_new();
    int64_t n = 40000, s357[] = {3, 5, 7}, m = 1001;
    nb_manual_seed(g, 0x0123456789abcdefu);
    nb_node *x = nb_input(g, "x", NB_F32, 1, &n);
    t.ins[0] = x, t.n_in = 1;
    t.outs[0] = nb_dropout(g, x, 0.3, 1);
    t.outs[1] = nb_randn(g, NB_F64, 3, s357);
    t.outs[2] = nb_rand(g, NB_F32, 1, &m);
    t.n_out = 3;
    t.steps = 3;
    trial_inputs(&t);
    nb_program *tcc = trial_compile(&t, NB_BACKEND_TCC), *cc = trial_compile(&t, NB_BACKEND_CC);
    export_to(tcc, "rnd", "rnd", NB_EXPORT_WEIGHTS_STATE);
    result jt = run_jit(&t, tcc), jc = run_jit(&t, cc);
    same_bits(&jt, &jc, "tcc vs cc");
    double step;
    assert_int_equal(nb_program_get_param(tcc, "rng.step", &step, sizeof step), 0);
    assert_true(step == 3);
    build_driver("rnd", "gcc", GCC_STRICT, "", "gcc");
    result eg = run_driver(&t, "rnd", "gcc");
    same_bits(&jt, &eg, "export (gcc) vs tcc");
    if (have("clang")) {
        build_driver("rnd", "clang", STRICT, "", "clang");
        result ec = run_driver(&t, "rnd", "clang");
        same_bits(&jt, &ec, "export (clang) vs tcc");
        result_free(&ec);
    }
    build_driver("rnd", "tcc", "-Wall -Werror", "", "tcc");
    result et = run_driver(&t, "rnd", "tcc");
    same_bits(&jt, &et, "export (tcc) vs tcc");
    result_free(&et);
    result_free(&eg);
    result_free(&jt);
    result_free(&jc);
    nb_program_free(tcc);
    nb_program_free(cc);
    trial_free(&t);
}

/* ---- an MLP trained with Adam, and its inference ----------------------------------- */

enum { BATCH = 64, IN = 300, HIDDEN = 256, CLASSES = 10 };

/* The layers x[BATCH, IN] -> relu -> logits[BATCH, CLASSES]; the first is above the
 * JIT's gemm split (RT_GEMM_SPLIT_MACS), the second below. */
static nb_node *mlp_logits(nb_graph *g, nb_node *x, nb_node **params)
{
    int64_t w1[2] = {IN, HIDDEN}, b1[1] = {HIDDEN}, w2[2] = {HIDDEN, CLASSES}, b2[1] = {CLASSES};
    params[0] = nb_param(g, "fc1.w", NB_F32, 2, w1);
    params[1] = nb_param(g, "fc1.b", NB_F32, 1, b1);
    params[2] = nb_param(g, "fc2.w", NB_F32, 2, w2);
    params[3] = nb_param(g, "fc2.b", NB_F32, 1, b2);
    nb_node *h = nb_relu(g, nb_add(g, nb_matmul(g, x, params[0]), params[1]));
    return nb_add(g, nb_matmul(g, h, params[2]), params[3]);
}

static void mlp_init(nb_program *p)
{
    assert_int_equal(nb_program_init_linear(p, "fc1.w", "fc1.b", 1), 0);
    assert_int_equal(nb_program_init_linear(p, "fc2.w", "fc2.b", 2), 0);
}

static void mlp_train_trial(trial *t)
{
    memset(t, 0, sizeof *t);
    nb_graph *g = t->g = nb_graph_new();
    int64_t xs[2] = {BATCH, IN}, ys[1] = {BATCH};
    nb_node *x = nb_input(g, "x", NB_F32, 2, xs);
    nb_node *y = nb_input(g, "labels", NB_I32, 1, ys);
    nb_node *lr = nb_input(g, "lr", NB_F32, 0, NULL);
    nb_node *params[4], *grads[4];
    nb_node *loss = nb_cross_entropy(g, mlp_logits(g, x, params), y, NB_REDUCTION_MEAN);
    assert_int_equal(nb_grad(g, loss, params, 4, grads), 0);
    nb_adam_options o = nb_adam_default_options();
    t->n_upd = nb_adam(g, lr, params, grads, 4, &o, t->upd, MAX_SLOTS);
    assert_int_equal(t->n_upd, 16);
    t->ins[0] = x, t->ins[1] = y, t->ins[2] = lr, t->n_in = 3;
    t->outs[0] = loss, t->n_out = 1;
    t->classes = CLASSES;
    t->steps = 4;
    trial_inputs(t);
    /* lr = 1e-3 in every step (the random value at its place is replaced). */
    for (int s = 0; s < t->steps; s++) {
        float lr_value = 1e-3f;
        memcpy(t->inputs + (size_t)(s + 1) * t->in_step - 4, &lr_value, 4);
    }
}

/* Four Adam steps of an MLP, exported: with OpenBLAS (<PREFIX>_USE_CBLAS) the losses and
 * every parameter and moment are the JIT's bits (tcc and cc); with the portable gemm
 * they agree within rounding, and gcc's and clang's builds of it agree bit for bit. */
static void export_mlp_adam_bits(void **state)
{
    (void)state;
    trial t;
    mlp_train_trial(&t);
    nb_program *tcc = trial_compile(&t, NB_BACKEND_TCC), *cc = trial_compile(&t, NB_BACKEND_CC);
    mlp_init(tcc);
    mlp_init(cc);
    export_to(tcc, "mlp", "mlp", NB_EXPORT_WEIGHTS_STATE);
    result jt = run_jit(&t, tcc), jc = run_jit(&t, cc);
    same_bits(&jt, &jc, "tcc vs cc");
    build_driver("mlp", "gcc", GCC_STRICT " -DMLP_USE_CBLAS", "-lopenblas", "blas");
    result eb = run_driver(&t, "mlp", "blas");
    same_bits(&jt, &eb, "export (cblas) vs tcc");
    build_driver("mlp", "gcc", GCC_STRICT, "", "gcc");
    result eg = run_driver(&t, "mlp", "gcc");
    close_f32(jt.outputs, eg.outputs, jt.outputs_bytes, 1e-5, "export (portable) loss");
    close_f32(jt.params, eg.params, jt.params_bytes, 1e-2, "export (portable) parameters");
    if (have("clang")) {
        build_driver("mlp", "clang", STRICT, "", "clang");
        result ec = run_driver(&t, "mlp", "clang");
        same_bits(&eg, &ec, "export (portable): clang vs gcc");
        result_free(&ec);
    }
    result_free(&jt);
    result_free(&jc);
    result_free(&eb);
    result_free(&eg);
    nb_program_free(tcc);
    nb_program_free(cc);
    trial_free(&t);
}

/* The MLP's inference with its weights baked as constants: the JIT's logits (cblas) and
 * no state block. */
static void export_mlp_const_weights(void **state)
{
    (void)state;
    trial t;
    memset(&t, 0, sizeof t);
    nb_graph *g = t.g = nb_graph_new();
    int64_t xs[2] = {BATCH, IN};
    nb_node *x = nb_input(g, "x", NB_F32, 2, xs), *params[4];
    t.ins[0] = x, t.n_in = 1;
    t.outs[0] = mlp_logits(g, x, params), t.n_out = 1;
    t.steps = 2;
    trial_inputs(&t);
    nb_program *p = trial_compile(&t, NB_BACKEND_TCC);
    mlp_init(p);
    export_to(p, "net", "net", NB_EXPORT_WEIGHTS_CONST);
    result j = run_jit(&t, p);
    build_driver("net", "gcc", GCC_STRICT " -DNET_USE_CBLAS", "-lopenblas", "blas");
    result e = run_driver(&t, "net", "blas");
    /* The state holds no parameter: the driver writes none. */
    assert_int_equal(e.params_bytes, 0);
    assert_int_equal(j.outputs_bytes, e.outputs_bytes);
    assert_memory_equal(j.outputs, e.outputs, j.outputs_bytes);
    char path[512];
    snprintf(path, sizeof path, "%s/net/net.h", test_dir);
    size_t len;
    char *h = tu_read_file(path, &len);
    h[len] = 0;
    assert_non_null(strstr(h, "#define NET_STATE_SIZE 0\n"));
    free(h);
    result_free(&j);
    result_free(&e);
    nb_program_free(p);
    trial_free(&t);
}

/* ---- a small convolutional autoencoder trained with SGD ---------------------------- */

/* x [4,2,8,8] -> conv2d (4 channels, 3x3, stride 2, padding 1) -> relu ->
 * conv_transpose2d (2 channels, 2x2, stride 2) -> mean((y - x)^2), SGD: im2col, col2im
 * and the gemm, forward and backward, in one exported step. */
static void export_conv_step(void **state)
{
    (void)state;
    trial t;
    memset(&t, 0, sizeof t);
    nb_graph *g = t.g = nb_graph_new();
    int64_t xs[4] = {4, 2, 8, 8}, w1s[4] = {4, 2, 3, 3}, w2s[4] = {4, 2, 2, 2}, b1s[1] = {4},
            b2s[1] = {2};
    nb_node *x = nb_input(g, "x", NB_F32, 4, xs);
    nb_node *lr = nb_input(g, "lr", NB_F32, 0, NULL);
    nb_node *params[4] = {nb_param(g, "w1", NB_F32, 4, w1s), nb_param(g, "b1", NB_F32, 1, b1s),
                          nb_param(g, "w2", NB_F32, 4, w2s), nb_param(g, "b2", NB_F32, 1, b2s)};
    nb_conv_options o1 = {.stride = {2, 2}, .padding = {1, 1}}, o2 = {.stride = {2, 2}};
    nb_node *h = nb_relu(g, nb_conv2d(g, x, params[0], params[1], &o1));
    nb_node *y = nb_conv_transpose2d(g, h, params[2], params[3], &o2);
    nb_node *loss = nb_mean(g, nb_square(g, nb_sub(g, y, x)), NULL, 0, 0);
    nb_node *grads[4];
    assert_int_equal(nb_grad(g, loss, params, 4, grads), 0);
    t.n_upd = nb_sgd(g, lr, params, grads, 4, NULL, t.upd, MAX_SLOTS);
    assert_int_equal(t.n_upd, 4);
    t.ins[0] = x, t.ins[1] = lr, t.n_in = 2;
    t.outs[0] = loss, t.outs[1] = y, t.n_out = 2;
    t.steps = 3;
    trial_inputs(&t);
    for (int s = 0; s < t.steps; s++) {
        float lr_value = 0.05f;
        memcpy(t.inputs + (size_t)(s + 1) * t.in_step - 4, &lr_value, 4);
    }
    nb_program *p = trial_compile(&t, NB_BACKEND_TCC);
    static const char *const names[4] = {"w1", "b1", "w2", "b2"};
    for (int i = 0; i < 4; i++) {
        int64_t n = nb_node_numel(params[i]);
        float v[72];
        for (int64_t k = 0; k < n; k++)
            v[k] = (float)(((k * 7) % 11) - 5) / 10.0f;
        assert_int_equal(nb_program_set_param(p, names[i], v, (size_t)n * 4), 0);
    }
    export_to(p, "cnn", "cnn", NB_EXPORT_WEIGHTS_STATE);
    result j = run_jit(&t, p);
    build_driver("cnn", "gcc", GCC_STRICT " -DCNN_USE_CBLAS", "-lopenblas", "blas");
    result eb = run_driver(&t, "cnn", "blas");
    same_bits(&j, &eb, "export (cblas) vs tcc");
    build_driver("cnn", "gcc", GCC_STRICT, "", "gcc");
    result eg = run_driver(&t, "cnn", "gcc");
    /* Outputs near zero come from cancelling sums of terms near 1: an absolute 1e-6. */
    close_f32(j.outputs, eg.outputs, j.outputs_bytes, 1e-3, "export (portable) outputs");
    close_f32(j.params, eg.params, j.params_bytes, 1e-3, "export (portable) parameters");
    result_free(&j);
    result_free(&eb);
    result_free(&eg);
    nb_program_free(p);
    trial_free(&t);
}

/* A label out of range: the exported run returns the code of the node that failed, and
 * <prefix>_error says what the JIT says. */
static void export_index_error(void **state)
{
    (void)state;
    trial t;
    mlp_train_trial(&t);
    t.steps = 1;
    int32_t bad = 99;
    memcpy(t.inputs + node_bytes(t.ins[0]) + 4 * 7, &bad, 4);
    nb_program *p = trial_compile(&t, NB_BACKEND_TCC);
    export_to(p, "bad", "bad", NB_EXPORT_WEIGHTS_STATE);
    assert_int_equal(nb_program_bind_index(p, 0, t.inputs), 0);
    assert_int_equal(nb_program_bind_index(p, 1, t.inputs + node_bytes(t.ins[0])), 0);
    assert_int_equal(nb_program_bind_index(p, 2, t.inputs + t.in_step - 4), 0);
    assert_int_equal(nb_program_run(p), -1);
    const char *jit = nb_program_error(p);
    assert_true(strncmp(jit, "run: ", 5) == 0);
    build_driver("bad", "gcc", GCC_STRICT, "", "gcc");
    char dir[256], cmd[2048], expect[1100];
    prefix_dir("bad", dir, sizeof dir);
    char in[512];
    snprintf(in, sizeof in, "%s/in.bin", dir);
    tu_write_file(in, t.inputs, t.in_step);
    snprintf(cmd, sizeof cmd, "%s/gcc 1 %s %s/out.bin %s/params.bin > %s/msg.txt", dir, in, dir,
             dir, dir);
    assert_int_equal(WEXITSTATUS(system(cmd)), 3);
    snprintf(in, sizeof in, "%s/msg.txt", dir);
    size_t len;
    char *msg = tu_read_file(in, &len);
    msg[len] = 0;
    /* "error <code>: <what>\n" */
    char *colon = strchr(msg, ':');
    assert_non_null(colon);
    snprintf(expect, sizeof expect, "%s\n", jit + 5);
    assert_string_equal(colon + 2, expect);
    free(msg);
    nb_program_free(p);
    trial_free(&t);
}

/* ---- pooling ----------------------------------------------------------------------- */

/* A per-channel scale s trained with SGD through max pooling (padding, dilation,
 * ceil_mode), average pooling (count_include_pad off, a divisor) and adaptive average
 * pooling (a mean, and windows that divide): the loss and s after each step. */
static void pool_trial(trial *t)
{
    memset(t, 0, sizeof *t);
    nb_graph *g = t->g = nb_graph_new();
    int64_t xs[4] = {4, 3, 9, 8}, ss[3] = {3, 1, 1};
    nb_node *x = nb_input(g, "x", NB_F32, 4, xs);
    nb_node *lr = nb_input(g, "lr", NB_F32, 0, NULL);
    nb_node *s = nb_param(g, "s", NB_F32, 3, ss);
    nb_node *z = nb_mul(g, x, s);
    nb_node *ys[4] = {
        nb_max_pool2d(g, z, (const int64_t[]){3, 2}, (const int64_t[]){2, 2},
                      (const int64_t[]){1, 1}, (const int64_t[]){2, 1}, 1),
        nb_avg_pool2d(g, z, (const int64_t[]){3, 3}, (const int64_t[]){2, 2},
                      (const int64_t[]){1, 1}, 1, 0, 0),
        nb_avg_pool2d(g, z, (const int64_t[]){2, 3}, (const int64_t[]){1, 2}, NULL, 0, 1, 5),
        nb_adaptive_avg_pool2d(g, nb_adaptive_avg_pool2d(g, z, 3, 4), 1, 1),
    };
    nb_node *loss = nb_scalar(g, NB_F32, 0);
    for (int i = 0; i < 4; i++)
        loss = nb_add(g, loss, nb_mean(g, nb_mul(g, ys[i], ys[i]), NULL, 0, 0));
    nb_node *grad;
    assert_int_equal(nb_grad(g, loss, &s, 1, &grad), 0);
    t->n_upd = nb_sgd(g, lr, &s, &grad, 1, NULL, t->upd, MAX_SLOTS);
    t->ins[0] = x, t->ins[1] = lr, t->n_in = 2;
    t->outs[0] = loss, t->outs[1] = grad, t->n_out = 2;
    t->steps = 3;
    trial_inputs(t);
}

/* The pooling kernels exported: gcc, clang and tcc builds compute the JIT's bits. */
static void export_pool_bits(void **state)
{
    (void)state;
    trial t;
    pool_trial(&t);
    nb_program *tcc = trial_compile(&t, NB_BACKEND_TCC), *cc = trial_compile(&t, NB_BACKEND_CC);
    const float s0[3] = {0.5f, -1.25f, 2.0f};
    assert_int_equal(nb_program_set_param(tcc, "s", s0, sizeof s0), 0);
    assert_int_equal(nb_program_set_param(cc, "s", s0, sizeof s0), 0);
    export_to(tcc, "pool", "pool", NB_EXPORT_WEIGHTS_STATE);
    result jt = run_jit(&t, tcc), jc = run_jit(&t, cc);
    same_bits(&jt, &jc, "tcc vs cc");
    build_driver("pool", "gcc", GCC_STRICT, "", "gcc");
    result eg = run_driver(&t, "pool", "gcc");
    same_bits(&jt, &eg, "export (gcc) vs tcc");
    if (have("clang")) {
        build_driver("pool", "clang", STRICT, "", "clang");
        result ec = run_driver(&t, "pool", "clang");
        same_bits(&jt, &ec, "export (clang) vs tcc");
        result_free(&ec);
    }
    build_driver("pool", "tcc", "-Wall -Werror", "", "tcc");
    result et = run_driver(&t, "pool", "tcc");
    same_bits(&jt, &et, "export (tcc) vs tcc");
    result_free(&et);
    result_free(&eg);
    result_free(&jt);
    result_free(&jc);
    nb_program_free(tcc);
    nb_program_free(cc);
    trial_free(&t);
}

/* ---- two models in one binary, as C and as C++; names that are not C --------------- */

/* A name that would end a string, a comment or a line, with a trigraph. */
static const char hostile[] = "w\"\n?"
                              "?/ */ #define x \\ \xc3\xa9";

static const char two_main[] =
    "#include <stdio.h>\n#include \"a.h\"\n#include \"b.h\"\n"
    "static double arena_a[A_ARENA_SIZE / 8 + 1], state_a[A_STATE_SIZE / 8 + 1];\n"
    "static double arena_b[B_ARENA_SIZE / 8 + 1];\n"
    "static float bx[B_INPUT0_NUMEL], logits[B_OUTPUT0_NUMEL];\n"
    "int main(void)\n{\n"
    "    float x[4] = {6.7f, 6.7f, 6.7f, 6.7f}, y[4] = {-0.5f, -0.5f, -0.5f, -0.5f};\n"
    "    float lr = 0.0f, loss, gw, gb;\n"
    "    if (a_init(state_a) != 0 || b_init(NULL) != 0)\n        return 1;\n"
    "    if (a_run(x, y, &lr, &loss, &gw, &gb, arena_a, state_a) != 0)\n        return 2;\n"
    "    if (b_run(bx, logits, arena_b, NULL) != 0)\n        return 3;\n"
    "    if (a_run(x, y, &lr, &loss, NULL, &gb, arena_a, state_a) != -1)\n        return 4;\n"
    "    printf(\"%.4f %.4f %.4f %s|%s|\", loss, gw, gb, a_params[0].kind, a_params[0].name);\n"
    "    return 0;\n}\n";

/* Two exported programs (the seed as a, the MLP's inference as b) link into one
 * binary, from C and from C++ (the headers), and the hostile parameter name reads back
 * from the table byte for byte. */
static void export_two_models(void **state)
{
    (void)state;
    trial a, b;
    seed_trial(&a, hostile);
    memset(&b, 0, sizeof b);
    b.g = nb_graph_new();
    int64_t xs[2] = {BATCH, IN};
    nb_node *x = nb_input(b.g, "x", NB_F32, 2, xs), *params[4];
    b.ins[0] = x, b.n_in = 1;
    b.outs[0] = mlp_logits(b.g, x, params), b.n_out = 1;
    nb_program *pa = trial_compile(&a, NB_BACKEND_TCC), *pb = trial_compile(&b, NB_BACKEND_TCC);
    seed_weights(pa, hostile);
    mlp_init(pb);
    export_to(pa, "a", "two", NB_EXPORT_WEIGHTS_STATE);
    export_to(pb, "b", "two", NB_EXPORT_WEIGHTS_CONST);
    char dir[256], path[512];
    prefix_dir("two", dir, sizeof dir);
    snprintf(path, sizeof path, "%s/main.c", dir);
    tu_write_file(path, two_main, strlen(two_main));
    snprintf(path, sizeof path, "%s/main.cc", dir);
    tu_write_file(path, two_main, strlen(two_main));
    assert_int_equal(run("cd %s && gcc " STRICT " main.c a.c b.c -o c_main -lm", dir), 0);
    /* The header as C++: compiled by g++, linked with the C objects. */
    assert_int_equal(run("cd %s && gcc " STRICT " -c a.c b.c && g++ -std=c++11 -pedantic -Wall "
                         "-Wextra -Werror main.cc a.o b.o -o cxx_main -lm",
                         dir),
                     0);
    const char *mains[2] = {"c_main", "cxx_main"};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(run("cd %s && ./%s > %s.txt", dir, mains[i], mains[i]), 0);
        snprintf(path, sizeof path, "%s/%s.txt", dir, mains[i]);
        size_t len;
        char *out = tu_read_file(path, &len);
        char expect[256];
        /* The tutorial's loss and gradients (x = 6.7, y = 0, w = 1, b = 0). */
        snprintf(expect, sizeof expect, "6.7012 6.6918 0.9988 model|%s|", hostile);
        assert_int_equal(len, strlen(expect));
        assert_memory_equal(out, expect, len);
        free(out);
    }
    nb_program_free(pa);
    nb_program_free(pb);
    trial_free(&a);
    trial_free(&b);
}

/* ---- random graphs ----------------------------------------------------------------- */

/* The same values: equal bits, or NaN in both (a NaN's sign and payload depend on
 * which operand a compiler puts first). */
static int same_value(nb_dtype dt, const unsigned char *a, const unsigned char *b)
{
    if (dt == NB_F32) {
        float x, y;
        memcpy(&x, a, 4);
        memcpy(&y, b, 4);
        return memcmp(a, b, 4) == 0 || (x != x && y != y);
    }
    if (dt == NB_F64) {
        double x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        return memcmp(a, b, 8) == 0 || (x != x && y != y);
    }
    return memcmp(a, b, nb_dtype_size(dt)) == 0;
}

/* Compares runs tensor by tensor: the outputs of every step, then the parameters. */
static void same_values(const trial *t, nb_program *p, const result *a, const result *b,
                        uint64_t seed)
{
    assert_int_equal(a->outputs_bytes, b->outputs_bytes);
    assert_int_equal(a->params_bytes, b->params_bytes);
    size_t at = 0;
    for (int s = 0; s < t->steps; s++)
        for (int i = 0; i < t->n_out; i++) {
            nb_dtype dt = nb_node_dtype(t->outs[i]);
            size_t es = nb_dtype_size(dt);
            for (int64_t j = 0; j < nb_node_numel(t->outs[i]); j++, at += es)
                if (!same_value(dt, a->outputs + at, b->outputs + at))
                    fail_msg("seed %llu: step %d, output %d (node %d), element %lld differs",
                             (unsigned long long)seed, s, i, nb_node_id(t->outs[i]), (long long)j);
        }
    at = 0;
    for (int i = 0; i < nb_program_param_count(p); i++) {
        nb_dtype dt = nb_program_param_dtype(p, i);
        size_t es = nb_dtype_size(dt);
        for (int64_t j = 0; j < nb_program_param_numel(p, i); j++, at += es)
            if (!same_value(dt, a->params + at, b->params + at))
                fail_msg("seed %llu: parameter %d ('%s'), element %lld differs",
                         (unsigned long long)seed, i, nb_program_param_name(p, i), (long long)j);
    }
}

/* Random graphs of the differential test (tests/support/randgraph.c), many subgraphs to
 * a graph: the export, built with gcc under the strict flags and OpenBLAS, computes the
 * values of libtcc's program over two runs (the second from the updated state). The
 * seeds: NABLA_EXPORT_SEEDS (default 6) from NABLA_EXPORT_SEED (default 1); the
 * compiler: NABLA_EXPORT_CC (default gcc). */
static void export_random_graphs(void **state)
{
    (void)state;
    const char *n_env = getenv("NABLA_EXPORT_SEEDS"), *s_env = getenv("NABLA_EXPORT_SEED");
    int n = n_env ? atoi(n_env) : 6;
    uint64_t first = s_env ? strtoull(s_env, NULL, 10) : 1;
    const char *compiler = getenv("NABLA_EXPORT_CC") ? getenv("NABLA_EXPORT_CC") : "gcc";
    for (uint64_t seed = first; seed < first + (uint64_t)n; seed++) {
        rg_case c;
        rg_rand r;
        assert_int_equal(rg_case_init(&c), 0);
        rg_rand_seed(&r, seed);
        for (int i = 0; i < 12; i++)
            if (rg_add_subgraph(&c, &r) != 0)
                fail_msg("seed %llu: %s", (unsigned long long)seed, nb_graph_error(c.g));
        trial t;
        memset(&t, 0, sizeof t);
        t.g = c.g;
        assert_true(c.n_inputs <= MAX_SLOTS && c.n_outputs <= MAX_SLOTS &&
                    c.n_updates <= MAX_SLOTS);
        for (int i = 0; i < c.n_inputs; i++) {
            t.ins[i] = c.inputs[i].node;
            t.in_step += node_bytes(t.ins[i]);
        }
        t.n_in = c.n_inputs;
        memcpy(t.outs, c.outputs, (size_t)c.n_outputs * sizeof *t.outs);
        t.n_out = c.n_outputs;
        memcpy(t.upd, c.updates, (size_t)c.n_updates * sizeof *t.upd);
        t.n_upd = c.n_updates;
        t.steps = 2;
        t.inputs = malloc(2 * t.in_step + 1);
        assert_non_null(t.inputs);
        for (int s = 0, at = 0; s < 2; s++)
            for (int i = 0; i < c.n_inputs; i++) {
                memcpy(t.inputs + at, c.inputs[i].data, node_bytes(t.ins[i]));
                at += (int)node_bytes(t.ins[i]);
            }
        nb_program *p = trial_compile(&t, NB_BACKEND_TCC);
        char err[512];
        if (ob_prepare(&c, p, err, sizeof err) != 0)
            fail_msg("seed %llu: %s", (unsigned long long)seed, err);
        export_to(p, "rnd", "rnd", NB_EXPORT_WEIGHTS_STATE);
        result j = run_jit(&t, p);
        build_driver("rnd", compiler,
                     strcmp(compiler, "gcc") ? STRICT " -DRND_USE_CBLAS"
                                             : GCC_STRICT " -DRND_USE_CBLAS",
                     "-lopenblas", "gcc");
        result e = run_driver(&t, "rnd", "gcc");
        same_values(&t, p, &j, &e, seed);
        result_free(&j);
        result_free(&e);
        nb_program_free(p);
        t.g = NULL; /* the case's */
        trial_free(&t);
        rg_case_free(&c);
    }
}

/* ---- what the export refuses ----------------------------------------------------- */

static void expect_error(nb_program *p, const nb_export_options *o, const char *part)
{
    assert_int_equal(nb_program_export(p, o), -1);
    const char *e = nb_program_error(p);
    assert_non_null(e);
    if (!strstr(e, part))
        fail_msg("expected '%s' in: %s", part, e);
}

static void export_errors(void **state)
{
    (void)state;
    trial t;
    seed_trial(&t, "w");
    nb_program *p = trial_compile(&t, NB_BACKEND_TCC);
    char dir[256];
    prefix_dir("errors", dir, sizeof dir);
    nb_export_options o = {.prefix = "ok", .dir = dir};
    assert_int_equal(nb_program_export(NULL, &o), -1);
    expect_error(p, NULL, "options are NULL");
    const char *bad[] = {NULL,  "",   "9lives", "a-b",  "_x", "\xc3\xa9t\xc3\xa9",
                         "a b", "nb", "nb_x",   "nbm_y"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        o.prefix = bad[i];
        expect_error(p, &o, "prefix");
    }
    char longest[80];
    memset(longest, 'a', sizeof longest);
    longest[65] = 0;
    o.prefix = longest;
    expect_error(p, &o, "1 to 64 bytes");
    longest[64] = 0;
    assert_int_equal(nb_program_export(p, &o), 0);
    assert_null(nb_program_error(p));
    o.prefix = "nbody"; /* only nb, nb_ and nbm_ are the file's own */
    assert_int_equal(nb_program_export(p, &o), 0);
    o.prefix = "ok";
    o.weights = (nb_export_weights)7;
    expect_error(p, &o, "unknown weights mode 7");
    o.weights = NB_EXPORT_WEIGHTS_CONST;
    expect_error(p, &o, "updates 2 parameters");
    o.weights = NB_EXPORT_WEIGHTS_STATE;
    char missing[300];
    snprintf(missing, sizeof missing, "%s/no/such/dir", dir);
    o.dir = missing;
    expect_error(p, &o, "no/such/dir");
    /* Not compiled for export. */
    nb_compile_options co = {.outputs = t.outs, .n_outputs = t.n_out};
    nb_program *plain = nb_compile(t.g, &co);
    assert_non_null(plain);
    o.dir = dir;
    expect_error(plain, &o, "exportable");
    nb_program_free(plain);
    /* A symbolic link where a file goes is replaced, never followed; an existing file's
     * mode is kept. */
    char target[512], link_path[512], c_path[512];
    snprintf(target, sizeof target, "%s/target", dir);
    snprintf(link_path, sizeof link_path, "%s/ok.h", dir);
    snprintf(c_path, sizeof c_path, "%s/ok.c", dir);
    tu_write_file(target, "keep", 4);
    assert_int_equal(symlink(target, link_path), 0);
    tu_write_file(c_path, "old", 3);
    assert_int_equal(chmod(c_path, 0640), 0);
    assert_int_equal(nb_program_export(p, &o), 0);
    size_t len;
    char *kept = tu_read_file(target, &len);
    assert_int_equal(len, 4);
    assert_memory_equal(kept, "keep", 4);
    free(kept);
    struct stat st;
    assert_int_equal(lstat(link_path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(stat(c_path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    nb_program_free(p);
    trial_free(&t);
    /* A name longer than C99's string literals (4,095 bytes) still compiles under
     * -pedantic and reads back whole. */
    char *name = malloc(5001);
    assert_non_null(name);
    for (int i = 0; i < 5000; i++)
        name[i] = (char)('a' + i % 26);
    name[5000] = 0;
    seed_trial(&t, name);
    p = trial_compile(&t, NB_BACKEND_TCC);
    export_to(p, "longname", "longname", NB_EXPORT_WEIGHTS_STATE);
    prefix_dir("longname", dir, sizeof dir);
    char main_c[512];
    snprintf(main_c, sizeof main_c, "%s/main.c", dir);
    static const char check[] = "#include <stdio.h>\n#include \"longname.h\"\n"
                                "int main(void)\n{\n    fputs(longname_params[0].name, stdout);\n"
                                "    return 0;\n}\n";
    tu_write_file(main_c, check, strlen(check));
    assert_int_equal(
        run("cd %s && gcc " STRICT " main.c longname.c -o main -lm && ./main > name.txt", dir), 0);
    snprintf(main_c, sizeof main_c, "%s/name.txt", dir);
    char *got = tu_read_file(main_c, &len);
    assert_int_equal(len, 5000);
    assert_memory_equal(got, name, 5000);
    free(got);
    free(name);
    nb_program_free(p);
    trial_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(export_seed_bits),         cmocka_unit_test(export_mlp_adam_bits),
        cmocka_unit_test(export_mlp_const_weights), cmocka_unit_test(export_index_error),
        cmocka_unit_test(export_two_models),        cmocka_unit_test(export_errors),
        cmocka_unit_test(export_random_graphs),     cmocka_unit_test(export_pool_bits),
        cmocka_unit_test(export_random_bits),       cmocka_unit_test(export_conv_step),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
