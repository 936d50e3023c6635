/* test_differential.c — random graphs compiled whole against the same graphs evaluated
 * one op at a time (tests/support/randgraph.c builds them, tests/support/opbyop.c is
 * the reference), on the tcc, cc and auto backends, parameter updates included.
 *
 * Knobs (environment); docs/differential.md has more:
 *   NABLA_DIFF_SEED    first seed (default 1); graph i uses seed SEED + i
 *   NABLA_DIFF_GRAPHS  graphs compiled whole with tcc, one program each (default 1500,
 *                      400 under AddressSanitizer)
 *   NABLA_DIFF_PACKS   cc programs (default 1), each packing NABLA_DIFF_PACK subgraphs
 *                      (default 16, 8 under AddressSanitizer): gcc -O3 takes about
 *                      0.1 s a subgraph; as many auto programs (seeds SEED + 2000003
 *                      on), whose second run waits for cc's code
 *   NABLA_DIFF_THREADS programs compiled for this many threads (default 0: the
 *                      default); above 1, every elementwise kernel that can be is split
 *                      (the threshold forced down to 16 iterations per part)
 * A long run, e.g. 200000 graphs from seed 1000000 and 1000 subgraphs on cc:
 *   NABLA_DIFF_SEED=1000000 NABLA_DIFF_GRAPHS=200000 NABLA_DIFF_PACKS=10 \
 *       NABLA_DIFF_PACK=100 build/tests/test_differential
 * A failure prints the seed, the graph and the first mismatch; NABLA_DIFF_SEED=<seed>
 * NABLA_DIFF_GRAPHS=1 NABLA_DIFF_PACKS=0 replays it alone.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "opbyop.h"
#include "randgraph.h"
#include "rt.h"
#include "tmpdir.h"

#if defined(__SANITIZE_ADDRESS__)
#define DIFF_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DIFF_ASAN 1
#endif
#endif
#ifndef DIFF_ASAN
#define DIFF_ASAN 0
#endif

enum { DIFF_ERR_SIZE = 1024 };

static ob_cache *programs_cache;
static int diff_threads; /* NABLA_DIFF_THREADS */

static long env_long(const char *name, long fallback)
{
    const char *s = getenv(name);
    char *end;
    if (!s || !*s)
        return fallback;
    long v = strtol(s, &end, 10);
    return *end ? fallback : v;
}

/* Prints what a failing case needs to be replayed and read. */
static void report(uint64_t seed, const rg_case *c, const char *stage, const char *err)
{
    char *ir = nb_graph_print(c->g);
    /* stderr, not print_error: cmocka cuts its messages at a fixed length */
    fprintf(stderr, "seed %llu: %s: %s\n%s\n", (unsigned long long)seed, stage, err, ir ? ir : "");
    free(ir);
}

/* Builds a case of n subgraphs from seed, evaluates it op by op, compiles it whole on
 * backend, runs it once and compares. 0, or -1 after reporting. */
static int check_case(uint64_t seed, rg_case *c, nb_backend backend, int *programs);

/* Generates a case of n_sub random subgraphs from seed and checks it (check_case). */
static int run_case(uint64_t seed, int n_sub, nb_backend backend, int *programs)
{
    char err[DIFF_ERR_SIZE];
    const char *stage = "generate";
    rg_case c;
    rg_rand r;
    int rc = -1;
    if (rg_case_init(&c) != 0)
        return -1;
    rg_rand_seed(&r, seed);
    snprintf(err, sizeof err, "%s", "out of memory");
    for (int i = 0; i < n_sub; i++)
        if (rg_add_subgraph(&c, &r) != 0) {
            snprintf(err, sizeof err, "%s", nb_graph_error(c.g) ? nb_graph_error(c.g) : "?");
            report(seed, &c, stage, err);
            goto done;
        }
    rc = check_case(seed, &c, backend, programs);
done:
    rg_case_free(&c);
    return rc;
}

/* Compiles case c whole on backend and checks two runs against c evaluated one op at a
 * time. 0, or -1 with the failure reported under seed. */
static int check_case(uint64_t seed, rg_case *c, nb_backend backend, int *programs)
{
    char err[DIFF_ERR_SIZE];
    const char *stage = "op by op";
    ob_values ref = {0};
    nb_program *p = NULL;
    int rc = -1;
    if (ob_eval(c, programs_cache, &ref, err, sizeof err) != 0)
        goto done;
    *programs += ref.programs;
    static const char *const names[] = {
        [NB_BACKEND_TCC] = "tcc", [NB_BACKEND_CC] = "cc", [NB_BACKEND_AUTO] = "auto"};
    char stage_text[DIFF_ERR_SIZE];
    snprintf(stage_text, sizeof stage_text, "whole graph, %s", names[backend]);
    stage = stage_text;
    nb_compile_options opt = {.outputs = c->outputs,
                              .n_outputs = c->n_outputs,
                              .updates = c->updates,
                              .n_updates = c->n_updates,
                              .backend = backend,
                              .threads = diff_threads};
    p = nb_compile(c->g, &opt);
    if (!p) {
        snprintf(err, sizeof err, "compile: %s", nb_graph_error(c->g));
        goto done;
    }
    if (ob_prepare(c, p, err, sizeof err) != 0)
        goto done;
    /* Two runs: the second starts from the updated state and an arena the first one
     * has written (a kernel that relies on zeroed memory fails here). */
    for (int run = 1; run <= 2; run++) {
        if (run == 2) {
            /* auto: the first run on whichever code was in, the second on cc's. */
            if (backend == NB_BACKEND_AUTO && nb_program_wait_tier(p) != NB_BACKEND_CC) {
                snprintf(err, sizeof err, "cc's build failed: %s", nb_program_tier_error(p));
                goto done;
            }
            snprintf(stage_text, sizeof stage_text, "second run, %s", names[backend]);
            if (ob_advance(c, &ref) != 0) {
                snprintf(err, sizeof err, "out of memory");
                goto done;
            }
            ob_values_free(&ref);
            if (ob_eval(c, programs_cache, &ref, err, sizeof err) != 0)
                goto done;
            *programs += ref.programs;
        }
        if (nb_program_run(p) != 0) {
            snprintf(err, sizeof err, "run %d: %s", run, nb_program_error(p));
            goto done;
        }
        if (ob_check(c, p, &ref, err, sizeof err) != 0)
            goto done;
    }
    rc = 0;
done:
    if (rc != 0)
        report(seed, c, stage, err);
    nb_program_free(p);
    ob_values_free(&ref);
    return rc;
}

/* Thousands of small graphs, one tcc program each. */
static void test_tcc(void **state)
{
    (void)state;
    long seed = env_long("NABLA_DIFF_SEED", 1),
         n = env_long("NABLA_DIFF_GRAPHS", DIFF_ASAN ? 400 : 1500);
    int failed = 0, programs = 0;
    for (long i = 0; i < n && failed < 5; i++)
        failed += run_case((uint64_t)(seed + i), 1, NB_BACKEND_TCC, &programs) != 0;
    print_message("tcc: %ld graphs from seed %ld, %d single-op runs (%ld cached), %d failed\n", n,
                  seed, programs, ob_cache_hits(programs_cache), failed);
    assert_int_equal(failed, 0);
}

/* NABLA_DIFF_PACKS programs of NABLA_DIFF_PACK subgraphs each on backend, from the seed
 * NABLA_DIFF_SEED + offset (each backend its own seeds). */
static void run_packs(nb_backend backend, const char *name, long offset)
{
    long seed = env_long("NABLA_DIFF_SEED", 1) + offset;
    long packs = env_long("NABLA_DIFF_PACKS", 1);
    long per = env_long("NABLA_DIFF_PACK", DIFF_ASAN ? 8 : 16);
    int failed = 0, programs = 0;
    for (long i = 0; i < packs; i++)
        failed += run_case((uint64_t)(seed + i), (int)per, backend, &programs) != 0;
    print_message("%s: %ld programs of %ld subgraphs from seed %ld, %d single-op programs, "
                  "%d failed\n",
                  name, packs, per, seed, programs, failed);
    assert_int_equal(failed, 0);
}

/* Many subgraphs packed into each graph: gcc at -O3 takes about a second per program. */
static void test_cc(void **state)
{
    (void)state;
    run_packs(NB_BACKEND_CC, "cc", 1000003);
}

/* Packs on NB_BACKEND_AUTO (seeds of their own): libtcc's code of the pointer-linked
 * C, then cc's swapped in between the two runs. */
static void test_auto(void **state)
{
    (void)state;
    run_packs(NB_BACKEND_AUTO, "auto", 2000003);
}

/* ---- regressions the random graphs found, each reduced by hand ------------------- */

/* Found by fuzz_codegen: a matmul whose operand has two or more batch axes fewer than
 * the result made the planner read shape[-2] (UndefinedBehaviorSanitizer, make
 * sanitize). ones[2,1,3,2,2] @ [[1,2],[3,4]]: every row is the column sums [4, 6]. */
static void test_matmul_operand_with_fewer_batch_axes(void **state)
{
    (void)state;
    int64_t xs[5] = {2, 1, 3, 2, 2}, ws[2] = {2, 2};
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 5, xs), *w = nb_input(g, "w", NB_F32, 2, ws);
    nb_node *y = nb_matmul(g, x, w);
    nb_compile_options opt = {.outputs = &y, .n_outputs = 1};
    nb_program *p = nb_compile(g, &opt);
    assert_non_null(p);
    float xv[24], wv[4] = {1, 2, 3, 4};
    for (int i = 0; i < 24; i++)
        xv[i] = 1;
    nb_program_bind(p, "x", xv);
    nb_program_bind(p, "w", wv);
    assert_int_equal(nb_program_run(p), 0);
    const float *yv = nb_program_output(p, 0);
    for (int i = 0; i < 24; i++)
        assert_true(yv[i] == (i % 2 ? 6.0f : 4.0f));
    nb_program_free(p);
    nb_graph_free(g);
}

/* ---- reductions with their producers in their loops (codegen/cg_fuse.c) ---------- */

#define HAND_MAX 16

/* An f32 input (or parameter) of c with values in [-2, 2) from seed, a NaN at element
 * nan_at (< 0: none). */
static nb_node *hand_leaf(rg_case *c, int is_param, const char *name, int rank,
                          const int64_t *shape, uint64_t seed, int64_t nan_at)
{
    rg_leaf *list = is_param ? c->params : c->inputs;
    int *n = is_param ? &c->n_params : &c->n_inputs;
    nb_node *x = is_param ? nb_param(c->g, name, NB_F32, rank, shape)
                          : nb_input(c->g, name, NB_F32, rank, shape);
    assert_non_null(x);
    assert_true(*n < HAND_MAX);
    int64_t numel = nb_node_numel(x);
    float *v = malloc((size_t)numel * sizeof *v);
    assert_non_null(v);
    for (int64_t i = 0; i < numel; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        v[i] = (float)((double)(seed >> 40) / (double)(1ull << 22) - 2.0);
    }
    if (nan_at >= 0)
        v[nan_at] = NAN;
    list[(*n)++] = (rg_leaf){x, v};
    return x;
}

/* An empty case of room for HAND_MAX leaves, outputs and updates. */
static void hand_case_init(rg_case *c)
{
    assert_int_equal(rg_case_init(c), 0);
    c->inputs = calloc(HAND_MAX, sizeof *c->inputs);
    c->params = calloc(HAND_MAX, sizeof *c->params);
    c->outputs = calloc(HAND_MAX, sizeof *c->outputs);
    c->updates = calloc(HAND_MAX, sizeof *c->updates);
    assert_true(c->inputs && c->params && c->outputs && c->updates);
    c->cap_inputs = c->cap_params = c->cap_outputs = c->cap_updates = HAND_MAX;
}

/* Case c compiled whole on one thread with its plan kept. */
static nb_program *hand_compile(rg_case *c)
{
    nb_compile_options opt = {.outputs = c->outputs,
                              .n_outputs = c->n_outputs,
                              .updates = c->updates,
                              .n_updates = c->n_updates,
                              .keep_plan = 1,
                              .threads = 1};
    nb_program *p = nb_compile(c->g, &opt);
    assert_non_null(p);
    return p;
}

/* Reductions whose elementwise producers run in their loops, with everything that
 * meets there: operands broadcast along the reduced axis (loaded once per row) and
 * along the kept one, a producer also read later (stored by the reduction's loop), a
 * parameter update among the producers (written in place), a NaN, a logsumexp with its
 * max pass (the producers computed in both loops), a kept middle axis, sum -> neg -> sum,
 * and a full sum of a loop that splits (which keeps its producers apart on several
 * threads). Whole programs on tcc and cc against one op at a time; the plan must show
 * the producers inside the reductions' kernels. */
static void test_reduction_producers(void **state)
{
    (void)state;
    rg_case c;
    int programs = 0, one = 1, rows = 1;
    int64_t xs[2] = {48, 40}, bs[2] = {48, 1}, cs[2] = {1, 40}, ts[3] = {4, 6, 8}, us[2] = {6, 1};
    hand_case_init(&c);
    nb_graph *g = c.g;
    nb_node *x = hand_leaf(&c, 0, "x", 2, xs, 1, 3 * 40 + 7);
    nb_node *b = hand_leaf(&c, 0, "b", 2, bs, 2, -1);
    nb_node *col = hand_leaf(&c, 0, "col", 2, cs, 3, -1);
    nb_node *t = hand_leaf(&c, 0, "t", 3, ts, 4, -1);
    nb_node *u = hand_leaf(&c, 0, "u", 2, us, 5, -1);
    nb_node *w = hand_leaf(&c, 1, "w", 2, xs, 6, -1);
    nb_node *e = nb_exp(g, nb_sub(g, nb_mul(g, x, nb_scalar(g, NB_F32, 0.5)), b));
    nb_node *outs[] = {
        nb_sum(g, nb_add(g, e, col), &rows, 1, 0),
        nb_mul(g, e, nb_scalar(g, NB_F32, 2.0)),
        nb_max(g, nb_sub(g, x, b), &rows, 1, 1),
        nb_min(g, nb_mul(g, x, col), &rows, 1, 0),
        nb_logsumexp(g, nb_mul(g, w, x), &rows, 1, 1),
        nb_sum(g, nb_neg(g, nb_sum(g, nb_mul(g, x, x), &rows, 1, 1)), NULL, 0, 0),
        nb_sum(g, nb_add(g, nb_tanh(g, t), u), (int[]){0, 2}, 2, 1),
        nb_sum(g, nb_abs(g, x), NULL, 0, 0),
    };
    nb_node *v = nb_mul(g, w, nb_scalar(g, NB_F32, 0.9));
    int n_outs = (int)(sizeof outs / sizeof *outs);
    for (int i = 0; i < n_outs; i++)
        c.outputs[c.n_outputs++] = outs[i];
    c.outputs[c.n_outputs++] = nb_sum(g, v, &one, 1, 0);
    c.updates[c.n_updates++] = (nb_update){w, v};
    for (int be = 0; be < 2; be++)
        assert_int_equal(check_case(0, &c, be ? NB_BACKEND_CC : NB_BACKEND_TCC, &programs), 0);
    nb_program *p = hand_compile(&c);
    /* Every reduction's kernel holds its producers: members before its root. */
    int fused = 0;
    static const char *const ops[] = {"sum ", "max ", "min ", "logsumexp "};
    for (const char *l = nb_program_plan(p); (l = strstr(l, "kernel k")) != NULL; l++) {
        /* "kernel k3: %10 sum f32[]; members %8 %9 %10; operands ..." */
        const char *op = strchr(strchr(l, '%'), ' ') + 1, *m = strstr(l, "; members ");
        const char *end = strstr(l, "; operands");
        int reduction = 0;
        for (int i = 0; i < 4; i++)
            reduction |= strncmp(op, ops[i], strlen(ops[i])) == 0;
        fused += reduction && memchr(m + 10, ' ', (size_t)(end - m - 10)) != NULL;
    }
    print_message("reductions with producers in their loops: %d\n", fused);
    assert_true(fused >= 9);
    assert_non_null(strstr(nb_program_plan(p), " in place of "));
    nb_program_free(p);
    rg_case_free(&c);
}

/* Reductions whose elementwise consumers run where each output element is finalized:
 * a consumer as the program's output, a full sum scaled (a mean), an operand of the
 * output's shape also read by the producers (loaded in a block of its own), the
 * reduction also stored (an output) and read by its consumer, a consumer of an operand
 * computed before the reduction, lse - pick as the cross-entropy has it, a kept middle
 * axis, sum -> neg -> sum, and a parameter both read by the producers and updated from
 * the consumers' value (not in place: the row it reads would see new values). Whole
 * programs on tcc and cc, on 1 to 3 threads with every kernel that can split split
 * finely, against one op at a time; the plan must show reductions inside kernels of
 * their consumers. */
static void test_reduction_consumers(void **state)
{
    (void)state;
    rg_case c;
    int programs = 0, rows = 1, last = 2, saved = diff_threads;
    int64_t xs[2] = {48, 40}, bs[2] = {48, 1}, ns[1] = {48}, ts[3] = {4, 6, 8}, ks[1] = {6};
    hand_case_init(&c);
    nb_graph *g = c.g;
    nb_node *x = hand_leaf(&c, 0, "x", 2, xs, 11, 5 * 40 + 3);
    nb_node *b = hand_leaf(&c, 0, "b", 2, bs, 12, -1);
    nb_node *pick = hand_leaf(&c, 0, "pick", 1, ns, 13, -1);
    nb_node *t = hand_leaf(&c, 0, "t", 3, ts, 14, -1);
    nb_node *k = hand_leaf(&c, 0, "k", 1, ks, 15, -1);
    nb_node *w = hand_leaf(&c, 1, "w", 2, bs, 16, -1);
    nb_node *before = nb_mul(g, b, nb_scalar(g, NB_F32, 3.0)); /* below the reduction's id */
    nb_node *m = nb_max(g, x, &rows, 1, 1);
    nb_node *shifted = nb_sub(g, x, m);
    nb_node *lse = nb_logsumexp(g, shifted, &rows, 1, 0);
    nb_node *wsum = nb_sum(g, nb_mul(g, x, w), &rows, 1, 1);
    nb_node *v = nb_sub(g, w, nb_mul(g, wsum, nb_scalar(g, NB_F32, 0.01)));
    nb_node *outs[] = {
        nb_neg(g, nb_sum(g, nb_exp(g, x), &rows, 1, 0)),
        nb_mul(g, nb_sum(g, nb_abs(g, x), NULL, 0, 0), nb_scalar(g, NB_F32, 1.0 / 1920)),
        nb_add(g, nb_sum(g, nb_sub(g, x, b), &rows, 1, 1), nb_mul(g, b, b)),
        m,
        nb_sub(g, m, nb_scalar(g, NB_F32, 1.0)),
        nb_tanh(g, nb_add(g, nb_min(g, x, &rows, 1, 1), before)),
        nb_sub(g, lse, pick),
        nb_mul(g, nb_sum(g, t, &last, 1, 0), k),
        nb_sum(g, nb_neg(g, nb_sum(g, nb_mul(g, x, x), &rows, 1, 1)), NULL, 0, 0),
        v,
    };
    int n_outs = (int)(sizeof outs / sizeof *outs);
    for (int i = 0; i < n_outs; i++)
        c.outputs[c.n_outputs++] = outs[i];
    c.updates[c.n_updates++] = (nb_update){w, nb_mul(g, v, nb_scalar(g, NB_F32, 0.5))};
    for (diff_threads = 1; diff_threads <= 3; diff_threads++) {
        rt_threads_set_split_min(diff_threads > 1 ? CG_SPLIT_GRAIN : CG_SPLIT_MIN);
        for (int be = 0; be < 2; be++)
            assert_int_equal(check_case(0, &c, be ? NB_BACKEND_CC : NB_BACKEND_TCC, &programs), 0);
    }
    diff_threads = saved;
    rt_threads_set_split_min(diff_threads > 1 ? CG_SPLIT_GRAIN : CG_SPLIT_MIN);
    nb_program *p = hand_compile(&c);
    /* Kernels whose comment names a reduction before another member: "%9 = sum ...\n
     * %10 = neg ...". */
    int fused = 0;
    static const char *const ops[] = {" = sum ", " = max ", " = min ", " = logsumexp "};
    for (const char *l = nb_program_source(p); (l = strstr(l, "\n/* %")) != NULL; l++) {
        const char *end = strstr(l, "*/"), *found = NULL;
        for (int i = 0; i < 4; i++) {
            const char *r = strstr(l, ops[i]);
            if (r && r < end && (!found || r < found))
                found = r;
        }
        const char *next = found ? strstr(found, "\n * %") : NULL;
        fused += next != NULL && next < end;
    }
    print_message("reductions with consumers in their loops: %d\n", fused);
    assert_true(fused >= 6);
    nb_program_free(p);
    rg_case_free(&c);
}

static int setup(void **state)
{
    (void)state;
    if (tu_cc_cache_setup(state) != 0)
        return -1;
    programs_cache = ob_cache_new();
    diff_threads = (int)env_long("NABLA_DIFF_THREADS", 0);
    if (diff_threads > 1)
        rt_threads_set_split_min(CG_SPLIT_GRAIN);
    return programs_cache ? 0 : -1;
}

static int teardown(void **state)
{
    tu_cc_cache_teardown(state);
    ob_cache_free(programs_cache);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matmul_operand_with_fewer_batch_axes),
        cmocka_unit_test(test_reduction_producers),
        cmocka_unit_test(test_reduction_consumers),
        cmocka_unit_test(test_tcc),
        cmocka_unit_test(test_cc),
        cmocka_unit_test(test_auto),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
