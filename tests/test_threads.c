/* test_threads.c — programs split across the thread pool (nb_compile_options.threads):
 * outputs and state are the same bits for 1, 2, 3 and 7 threads on random graphs, on an
 * MLP training step with Adam and on two matmuls run side by side, with both backends;
 * the pool's workers compute in the caller's floating-point mode; two user threads run
 * two programs at once; the threads option is checked. Splitting is forced on small kernels
 * (rt_threads_set_split_min) so that random graphs split at all; the MLP step also
 * runs with the shipped threshold. NABLA_THREADS_GRAPHS sets how many random graphs
 * (tcc; a twentieth of them with cc). */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

#include "nabla.h"
#include "opbyop.h"
#include "randgraph.h"
#include "rt.h"

static const int thread_counts[] = {2, 3, 7};
#define N_COUNTS ((int)(sizeof thread_counts / sizeof *thread_counts))

/* Everything a program leaves behind after its runs: outputs and parameters, back to
 * back. */
typedef struct snapshot {
    unsigned char *bytes;
    size_t len;
} snapshot;

static void snap_add(snapshot *s, const void *data, size_t n)
{
    s->bytes = realloc(s->bytes, s->len + n + 1);
    assert_non_null(s->bytes);
    memcpy(s->bytes + s->len, data, n);
    s->len += n;
}

static void snap_take(nb_program *p, snapshot *s)
{
    s->len = 0;
    for (int i = 0; i < nb_program_output_count(p); i++)
        snap_add(s, nb_program_output(p, i),
                 (size_t)nb_program_output_numel(p, i) *
                     nb_dtype_size(nb_program_output_dtype(p, i)));
    for (int i = 0; i < nb_program_param_count(p); i++)
        snap_add(s, nb_program_param_data(p, i),
                 (size_t)nb_program_param_numel(p, i) *
                     nb_dtype_size(nb_program_param_dtype(p, i)));
}

/* How many kernels of p's plan are split. */
static int split_kernels(const nb_program *p)
{
    int n = 0;
    for (const char *s = nb_program_plan(p); s && (s = strstr(s, "; split in ")); s++)
        n++;
    return n;
}

/* Compiles case c for `threads`, runs it twice from its starting values, and takes the
 * snapshot. Returns the number of split kernels. */
static int run_random(rg_case *c, nb_backend backend, int threads, snapshot *s)
{
    char err[512];
    nb_compile_options opt = {.outputs = c->outputs,
                              .n_outputs = c->n_outputs,
                              .updates = c->updates,
                              .n_updates = c->n_updates,
                              .backend = backend,
                              .keep_plan = 1,
                              .threads = threads};
    nb_program *p = nb_compile(c->g, &opt);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(c->g));
    if (ob_prepare(c, p, err, sizeof err) != 0)
        fail_msg("prepare: %s", err);
    for (int run = 0; run < 2; run++)
        if (nb_program_run(p) != 0)
            fail_msg("run: %s", nb_program_error(p));
    snap_take(p, s);
    int split = split_kernels(p);
    if (threads == 1)
        assert_int_equal(split, 0);
    nb_program_free(p);
    return split;
}

static long env_long(const char *name, long fallback)
{
    const char *v = getenv(name);
    return v && *v ? strtol(v, NULL, 10) : fallback;
}

static void random_graphs(nb_backend backend, long graphs)
{
    int split = 0;
    rt_threads_set_split_min(CG_SPLIT_GRAIN);
    for (long seed = 1; seed <= graphs; seed++) {
        rg_case c;
        rg_rand r;
        snapshot one = {0}, many = {0};
        assert_int_equal(rg_case_init(&c), 0);
        rg_rand_seed(&r, (uint64_t)seed * 7919u);
        for (int i = 0; i < 6; i++)
            if (rg_add_subgraph(&c, &r) != 0)
                fail_msg("seed %ld: %s", seed, nb_graph_error(c.g));
        run_random(&c, backend, 1, &one);
        for (int t = 0; t < N_COUNTS; t++) {
            split += run_random(&c, backend, thread_counts[t], &many);
            assert_int_equal(many.len, one.len);
            if (memcmp(many.bytes, one.bytes, one.len) != 0)
                fail_msg("seed %ld, %d threads: results differ from 1 thread", seed,
                         thread_counts[t]);
        }
        free(one.bytes);
        free(many.bytes);
        rg_case_free(&c);
    }
    rt_threads_set_split_min(0);
    /* The test means nothing unless kernels were split. */
    assert_true(split > 0);
}

static void test_random_graphs_tcc(void **state)
{
    (void)state;
    random_graphs(NB_BACKEND_TCC, env_long("NABLA_THREADS_GRAPHS", 40));
}

static void test_random_graphs_cc(void **state)
{
    (void)state;
    random_graphs(NB_BACKEND_CC, env_long("NABLA_THREADS_GRAPHS", 40) / 20 + 1);
}

/* ---- an MLP training step with Adam ------------------------------------------------ */

enum { MLP_BATCH = 32, MLP_IN = 96, MLP_HIDDEN = 768, MLP_OUT = 10, MLP_STEPS = 3 };

/* Deterministic values in [-1, 1). */
static float value_at(uint64_t i)
{
    uint64_t z = (i + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 31)) * 0xBF58476D1CE4E5B9ull;
    return (float)((double)(z >> 40) / (double)(1ull << 23) - 1.0);
}

/* Three Adam steps of a 96-768-10 MLP on fixed data; snapshot of outputs and state
 * (weights, moments). Returns the number of split kernels. */
static int run_mlp(nb_backend backend, int threads, snapshot *s)
{
    int64_t w1s[2] = {MLP_IN, MLP_HIDDEN}, b1s[1] = {MLP_HIDDEN}, w2s[2] = {MLP_HIDDEN, MLP_OUT},
            b2s[1] = {MLP_OUT}, xs[2] = {MLP_BATCH, MLP_IN}, ys[1] = {MLP_BATCH};
    nb_graph *g = nb_graph_new();
    assert_non_null(g);
    nb_node *p[4] = {nb_param(g, "w1", NB_F32, 2, w1s), nb_param(g, "b1", NB_F32, 1, b1s),
                     nb_param(g, "w2", NB_F32, 2, w2s), nb_param(g, "b2", NB_F32, 1, b2s)};
    nb_node *x = nb_input(g, "x", NB_F32, 2, xs), *y = nb_input(g, "y", NB_I32, 1, ys);
    nb_node *lr = nb_input(g, "lr", NB_F32, 0, NULL), *grads[4];
    nb_node *h = nb_relu(g, nb_add(g, nb_matmul(g, x, p[0]), p[1]));
    nb_node *logits = nb_add(g, nb_matmul(g, h, p[2]), p[3]);
    nb_node *loss = nb_cross_entropy(g, logits, y, NB_REDUCTION_MEAN);
    assert_int_equal(nb_grad(g, loss, p, 4, grads), 0);
    nb_update upd[4 * NB_ADAM_UPDATES_PER_PARAM];
    int nu = nb_adam(g, lr, p, grads, 4, NULL, upd, 4 * NB_ADAM_UPDATES_PER_PARAM);
    assert_true(nu > 0);
    nb_node *outs[] = {loss, logits};
    nb_compile_options opt = {.outputs = outs,
                              .n_outputs = 2,
                              .updates = upd,
                              .n_updates = nu,
                              .backend = backend,
                              .keep_plan = 1,
                              .threads = threads};
    nb_program *prog = nb_compile(g, &opt);
    if (!prog)
        fail_msg("compile: %s", nb_graph_error(g));
    nb_graph_free(g);
    /* The inputs on this call's stack: two user threads run this at once
     * (test_two_user_threads). 12 KiB. */
    float xv[MLP_BATCH * MLP_IN];
    int32_t yv[MLP_BATCH];
    float lrv = 0.01f;
    for (int i = 0; i < MLP_BATCH * MLP_IN; i++)
        xv[i] = value_at((uint64_t)i);
    for (int i = 0; i < MLP_BATCH; i++)
        yv[i] = i % MLP_OUT;
    for (int i = 0; i < nb_program_param_count(prog); i++) {
        float *d = nb_program_param_data(prog, i);
        int64_t n = nb_program_param_numel(prog, i);
        const char *name = nb_program_param_name(prog, i);
        int weight = name[0] == 'w' && name[2] == 0;
        for (int64_t j = 0; j < n; j++)
            d[j] = weight ? 0.1f * value_at((uint64_t)(1000000 * i + j)) : 0.0f;
    }
    assert_int_equal(nb_program_bind(prog, "x", xv), 0);
    assert_int_equal(nb_program_bind(prog, "y", yv), 0);
    assert_int_equal(nb_program_bind(prog, "lr", &lrv), 0);
    for (int step = 0; step < MLP_STEPS; step++)
        if (nb_program_run(prog) != 0)
            fail_msg("run: %s", nb_program_error(prog));
    snap_take(prog, s);
    int split = split_kernels(prog);
    nb_program_free(prog);
    return split;
}

static void mlp_threads(nb_backend backend)
{
    snapshot one = {0}, many = {0};
    assert_int_equal(run_mlp(backend, 1, &one), 0);
    /* The shipped threshold: the kernels of at least twice CG_SPLIT_MIN elements (the
     * 96x768 weight's Adam kernels among them) are split. */
    for (int t = 0; t < N_COUNTS; t++) {
        assert_true(run_mlp(backend, thread_counts[t], &many) > 0);
        assert_int_equal(many.len, one.len);
        assert_memory_equal(many.bytes, one.bytes, one.len);
    }
    /* Every elementwise kernel split, in as many parts as it can take. */
    rt_threads_set_split_min(CG_SPLIT_GRAIN);
    for (int t = 0; t < N_COUNTS; t++) {
        assert_true(run_mlp(backend, thread_counts[t], &many) > 0);
        assert_int_equal(many.len, one.len);
        assert_memory_equal(many.bytes, one.bytes, one.len);
    }
    rt_threads_set_split_min(0);
    free(one.bytes);
    free(many.bytes);
}

static void test_mlp_adam_tcc(void **state)
{
    (void)state;
    mlp_threads(NB_BACKEND_TCC);
}

static void test_mlp_adam_cc(void **state)
{
    (void)state;
    mlp_threads(NB_BACKEND_CC);
}

/* ---- two matmuls side by side ------------------------------------------------------ */

enum { PAIR_M = 64, PAIR_K = 1024, PAIR_N = 64, PAIR_RUNS = 4 };

/* y1 = exp(x / 64) w1 and y2 = x w2 (64 x 64 x 1024: 2^22 multiply-adds each, past the
 * size from which a gemm alone runs in blocks), then y1 + y2, run PAIR_RUNS times; the
 * output into out. The two matmuls run side by side for every thread count (the plan
 * says "beside"), each as one gemm call; exp(x / 64), which only the first reads (and
 * OpenBLAS reads again for each block of its 1024 columns), must stay where it is
 * while the second writes its result. Returns how many kernels are paired. */
static int run_pair(nb_backend backend, nb_dtype dt, int threads, const void *xv, const void *wv,
                    void *out)
{
    int64_t xs[2] = {PAIR_M, PAIR_K}, ws[2] = {PAIR_K, PAIR_N};
    size_t es = nb_dtype_size(dt);
    nb_graph *g = nb_graph_new();
    assert_non_null(g);
    nb_node *x = nb_input(g, "x", dt, 2, xs);
    nb_node *w[2] = {nb_param(g, "w1", dt, 2, ws), nb_param(g, "w2", dt, 2, ws)};
    nb_node *t = nb_exp(g, nb_mul(g, x, nb_scalar(g, dt, 1.0 / 64)));
    nb_node *y1 = nb_matmul(g, t, w[0]); /* first: the kernel that reads t */
    nb_node *y = nb_add(g, y1, nb_matmul(g, x, w[1]));
    nb_compile_options opt = {
        .outputs = &y, .n_outputs = 1, .backend = backend, .keep_plan = 1, .threads = threads};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(g));
    nb_graph_free(g);
    for (int i = 0; i < 2; i++)
        memcpy(nb_program_param_data(p, i), (const char *)wv + (size_t)i * PAIR_K * PAIR_N * es,
               (size_t)PAIR_K * PAIR_N * es);
    assert_int_equal(nb_program_bind(p, "x", xv), 0);
    for (int run = 0; run < PAIR_RUNS; run++)
        if (nb_program_run(p) != 0)
            fail_msg("run: %s", nb_program_error(p));
    memcpy(out, nb_program_output(p, 0), (size_t)PAIR_M * PAIR_N * es);
    int paired = 0;
    for (const char *s = nb_program_plan(p); (s = strstr(s, "; beside ")); s++)
        paired++;
    nb_program_free(p);
    return paired;
}

/* The pair in f32 and in f64 (nb_rt_gemm_one_f32 and _f64). */
static void matmul_pairs(nb_backend backend)
{
    static double xd[PAIR_M * PAIR_K], wd[2 * PAIR_K * PAIR_N], one[PAIR_M * PAIR_N],
        many[PAIR_M * PAIR_N];
    static float xf[PAIR_M * PAIR_K], wf[2 * PAIR_K * PAIR_N];
    for (int i = 0; i < PAIR_M * PAIR_K; i++)
        xf[i] = (float)(xd[i] = value_at((uint64_t)i));
    for (int i = 0; i < 2 * PAIR_K * PAIR_N; i++)
        wf[i] = (float)(wd[i] = value_at((uint64_t)(1000000 + i)));
    for (nb_dtype dt = NB_F32; dt <= NB_F64; dt++) {
        const void *xv = dt == NB_F32 ? (const void *)xf : xd, *wv = dt == NB_F32 ? (void *)wf : wd;
        size_t bytes = (size_t)PAIR_M * PAIR_N * nb_dtype_size(dt);
        assert_int_equal(run_pair(backend, dt, 1, xv, wv, one), 2);
        for (int t = 0; t < N_COUNTS; t++) {
            assert_int_equal(run_pair(backend, dt, thread_counts[t], xv, wv, many), 2);
            if (memcmp(one, many, bytes) != 0)
                fail_msg("%s, %d threads: results differ from 1 thread",
                         dt == NB_F32 ? "f32" : "f64", thread_counts[t]);
        }
    }
}

static void test_matmul_pairs_tcc(void **state)
{
    (void)state;
    matmul_pairs(NB_BACKEND_TCC);
}

static void test_matmul_pairs_cc(void **state)
{
    (void)state;
    matmul_pairs(NB_BACKEND_CC);
}

/* ---- two user threads, two programs, one pool -------------------------------------- */

typedef struct runner {
    nb_backend backend;
    snapshot result;
} runner;

static void *runner_main(void *arg)
{
    runner *r = arg;
    for (int i = 0; i < 3; i++)
        run_mlp(r->backend, 2, &r->result);
    return NULL;
}

/* Programs are independent (docs/architecture.md): two threads run one each, both
 * asking the pool for their splits; each gets the 1-thread results. */
static void test_two_user_threads(void **state)
{
    (void)state;
    snapshot one = {0};
    rt_threads_set_split_min(CG_SPLIT_GRAIN);
    run_mlp(NB_BACKEND_TCC, 1, &one);
    runner r[2] = {{NB_BACKEND_TCC, {0}}, {NB_BACKEND_TCC, {0}}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, runner_main, &r[i]), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    rt_threads_set_split_min(0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(r[i].result.len, one.len);
        assert_memory_equal(r[i].result.bytes, one.bytes, one.len);
        free(r[i].result.bytes);
    }
    free(one.bytes);
    /* The last program is gone: so is the pool. */
    assert_int_equal(rt_pool_workers(), 0);
}

/* ---- the workers' floating-point mode ---------------------------------------------- */

/* y = x * 2^-100 over 2^18 elements of 2^-30: 2^-130 is subnormal in f32. A program
 * compiled with NB_DENORMALS_FLUSH gives 0 in every element, those the workers compute
 * included, and one compiled with NB_DENORMALS_IEEE gives 2^-130 in every element, each
 * run from a caller whose own mode is the opposite: the workers follow the mode the run
 * set on the calling thread, not the one they were started in. */
static void test_workers_use_the_runs_fp_mode(void **state)
{
    (void)state;
#if defined(__x86_64__) || defined(__i386__)
    enum { N = 1 << 18 };
    static float xv[N];
    for (int i = 0; i < N; i++)
        xv[i] = ldexpf(1.0f, -30);
    unsigned int saved = _mm_getcsr();
    for (int flush = 1; flush >= 0; flush--) {
        int64_t shape[1] = {N};
        nb_graph *g = nb_graph_new();
        nb_node *x = nb_input(g, "x", NB_F32, 1, shape);
        nb_node *y = nb_mul(g, x, nb_scalar(g, NB_F32, ldexp(1.0, -100)));
        nb_compile_options opt = {.outputs = &y,
                                  .n_outputs = 1,
                                  .keep_plan = 1,
                                  .threads = 4,
                                  .denormals = flush ? NB_DENORMALS_FLUSH : NB_DENORMALS_IEEE};
        rt_threads_set_split_min(CG_SPLIT_GRAIN);
        nb_program *p = nb_compile(g, &opt);
        rt_threads_set_split_min(0);
        assert_non_null(p);
        nb_graph_free(g);
        assert_int_equal(split_kernels(p), 1);
        assert_int_equal(nb_program_bind(p, "x", xv), 0);
        /* FTZ is bit 15 of MXCSR, DAZ bit 6. Runs are repeated until a worker has run a
         * part (the calling thread may take every part of a run before a worker wakes). */
        long before = rt_pool_worker_parts_run();
        int rc = 0;
        for (int run = 0; run < 1000 && rc == 0 && rt_pool_worker_parts_run() == before; run++) {
            _mm_setcsr(flush ? saved & ~0x8040u : saved | 0x8040u);
            rc = nb_program_run(p);
            _mm_setcsr(saved);
        }
        assert_int_equal(rc, 0);
        assert_true(rt_pool_worker_parts_run() > before);
        const float *out = nb_program_output(p, 0);
        float want = flush ? 0.0f : ldexpf(1.0f, -130);
        for (int i = 0; i < N; i++)
            if (out[i] != want)
                fail_msg("%s: element %d is %a, expected %a", flush ? "flush" : "ieee", i,
                         (double)out[i], (double)want);
        nb_program_free(p);
    }
#endif
}

/* ---- the option ---------------------------------------------------------------------- */

static void test_threads_option_checked(void **state)
{
    (void)state;
    int64_t shape[1] = {4};
    nb_graph *g = nb_graph_new();
    nb_node *y = nb_neg(g, nb_input(g, "x", NB_F32, 1, shape));
    int bad[] = {-1, 257};
    for (int i = 0; i < 2; i++) {
        nb_compile_options opt = {.outputs = &y, .n_outputs = 1, .threads = bad[i]};
        assert_null(nb_compile(g, &opt));
        assert_non_null(strstr(nb_graph_error(g), "compile: threads is"));
        nb_graph_free(g);
        g = nb_graph_new();
        y = nb_neg(g, nb_input(g, "x", NB_F32, 1, shape));
    }
    nb_graph_free(g);
    assert_int_equal(nb_set_threads(0), -1);
    assert_int_equal(nb_set_threads(257), -1);
    assert_int_equal(nb_set_threads(3), 0);
    assert_int_equal(nb_get_threads(), 3);
    assert_int_equal(nb_set_threads(1), 0);
    assert_int_equal(nb_get_threads(), 1);
}

/* ---- reductions split over their kept axes ----------------------------------------- */

/* One reduction over an input of `rank` axes: what it is, and whether the plan must split
 * it (over a kept loop outside the reduced ones, or over the innermost axis's columns
 * when only it is kept) or not (too small). */
typedef struct reduce_case {
    const char *what;
    int op; /* 0 sum, 1 max, 2 min, 3 logsumexp */
    int rank;
    int64_t shape[3];
    int n_axes;
    int axes[2];
    int split;
} reduce_case;

static const reduce_case reduce_cases[] = {
    {"sum over axis 1 of [256, 64]", 0, 2, {256, 64}, 1, {1}, 1},
    {"max over axis 1 of [256, 64]", 1, 2, {256, 64}, 1, {1}, 1},
    {"min over axis 1 of [64, 256, 3] (row-outer)", 2, 3, {64, 256, 3}, 1, {1}, 1},
    {"sum over axis 1 of [64, 256, 3] (row-outer)", 0, 3, {64, 256, 3}, 1, {1}, 1},
    {"logsumexp over axis 1 of [256, 100]", 3, 2, {256, 100}, 1, {1}, 1},
    {"sum over axes 1, 2 of [128, 16, 16]", 0, 3, {128, 16, 16}, 2, {1, 2}, 1},
    {"sum over axis 0 of [1024, 256] (a bias gradient: columns split)",
     0,
     2,
     {1024, 256},
     1,
     {0},
     1},
    {"max over axis 0 of [200, 1000] (columns split, a partial block)",
     1,
     2,
     {200, 1000},
     1,
     {0},
     1},
    {"sum over axes 0, 1 of [2, 50, 700] (columns split)", 0, 3, {2, 50, 700}, 2, {0, 1}, 1},
    {"sum over axis 0 of [64, 16] (too small to split)", 0, 2, {64, 16}, 1, {0}, 0},
};

/* Compiles case rc for `threads` with every kernel split that can be, runs it on x and
 * copies its output into out. Returns the number of split kernels. */
static int run_reduce(const reduce_case *rc, nb_backend backend, int threads, const float *x,
                      float *out, int64_t n_out)
{
    nb_graph *g = nb_graph_new();
    nb_node *in = nb_input(g, "x", NB_F32, rc->rank, rc->shape), *y;
    if (rc->op == 0)
        y = nb_sum(g, in, rc->axes, rc->n_axes, 0);
    else if (rc->op == 1)
        y = nb_max(g, in, rc->axes, rc->n_axes, 0);
    else if (rc->op == 2)
        y = nb_min(g, in, rc->axes, rc->n_axes, 0);
    else
        y = nb_logsumexp(g, in, rc->axes, rc->n_axes, 0);
    nb_compile_options opt = {
        .outputs = &y, .n_outputs = 1, .backend = backend, .keep_plan = 1, .threads = threads};
    rt_threads_set_split_min(CG_SPLIT_GRAIN);
    nb_program *p = nb_compile(g, &opt);
    rt_threads_set_split_min(0);
    if (!p)
        fail_msg("%s: compile: %s", rc->what, nb_graph_error(g));
    nb_graph_free(g);
    assert_int_equal(nb_program_output_numel(p, 0), n_out);
    assert_int_equal(nb_program_bind(p, "x", x), 0);
    if (nb_program_run(p) != 0)
        fail_msg("%s: run: %s", rc->what, nb_program_error(p));
    memcpy(out, nb_program_output(p, 0), (size_t)n_out * sizeof *out);
    int split = split_kernels(p);
    nb_program_free(p);
    return split;
}

/* Each output element of a split reduction is still computed by one thread, its terms
 * in the same order: the same bits at 1, 2, 3 and 7 threads, on data where another
 * order rounds differently (a wide range of magnitudes) and with a NaN in some rows. */
static void reductions_split(nb_backend backend)
{
    enum { MAX_IN = 1024 * 256 };
    static float x[MAX_IN], one[MAX_IN], many[MAX_IN];
    for (int i = 0; i < MAX_IN; i++)
        x[i] = (float)((i * 7919 % 2001) - 1000) * ldexpf(1.0f, i % 23 - 11);
    x[1000] = NAN;
    x[77777] = NAN;
    for (size_t c = 0; c < sizeof reduce_cases / sizeof *reduce_cases; c++) {
        const reduce_case *rc = &reduce_cases[c];
        int64_t n_out = 1;
        for (int d = 0; d < rc->rank; d++)
            n_out *= rc->axes[0] == d || (rc->n_axes > 1 && rc->axes[1] == d) ? 1 : rc->shape[d];
        assert_int_equal(run_reduce(rc, backend, 1, x, one, n_out), 0);
        for (int t = 0; t < N_COUNTS; t++) {
            int split = run_reduce(rc, backend, thread_counts[t], x, many, n_out);
            if (split != rc->split)
                fail_msg("%s, %d threads: %d kernels split, expected %d", rc->what,
                         thread_counts[t], split, rc->split);
            for (int64_t i = 0; i < n_out; i++)
                if (memcmp(&one[i], &many[i], sizeof *one) != 0 &&
                    !(isnan(one[i]) && isnan(many[i])))
                    fail_msg("%s, %d threads: element %lld is %a, %a on one thread", rc->what,
                             thread_counts[t], (long long)i, (double)many[i], (double)one[i]);
        }
    }
}

static void test_reductions_split_tcc(void **state)
{
    (void)state;
    reductions_split(NB_BACKEND_TCC);
}

static void test_reductions_split_cc(void **state)
{
    (void)state;
    reductions_split(NB_BACKEND_CC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_option_checked),
        cmocka_unit_test(test_workers_use_the_runs_fp_mode),
        cmocka_unit_test(test_random_graphs_tcc),
        cmocka_unit_test(test_random_graphs_cc),
        cmocka_unit_test(test_mlp_adam_tcc),
        cmocka_unit_test(test_mlp_adam_cc),
        cmocka_unit_test(test_matmul_pairs_tcc),
        cmocka_unit_test(test_matmul_pairs_cc),
        cmocka_unit_test(test_reductions_split_tcc),
        cmocka_unit_test(test_reductions_split_cc),
        cmocka_unit_test(test_two_user_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
