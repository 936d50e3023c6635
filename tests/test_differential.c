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
static int run_case(uint64_t seed, int n_sub, nb_backend backend, int *programs)
{
    char err[DIFF_ERR_SIZE];
    const char *stage = "generate";
    rg_case c;
    rg_rand r;
    ob_values ref = {0};
    nb_program *p = NULL;
    int rc = -1;
    if (rg_case_init(&c) != 0)
        return -1;
    rg_rand_seed(&r, seed);
    snprintf(err, sizeof err, "%s", "out of memory");
    for (int i = 0; i < n_sub; i++)
        if (rg_add_subgraph(&c, &r) != 0) {
            snprintf(err, sizeof err, "%s", nb_graph_error(c.g) ? nb_graph_error(c.g) : "?");
            goto done;
        }
    stage = "op by op";
    if (ob_eval(&c, programs_cache, &ref, err, sizeof err) != 0)
        goto done;
    *programs += ref.programs;
    static const char *const names[] = {
        [NB_BACKEND_TCC] = "tcc", [NB_BACKEND_CC] = "cc", [NB_BACKEND_AUTO] = "auto"};
    char stage_text[DIFF_ERR_SIZE];
    snprintf(stage_text, sizeof stage_text, "whole graph, %s", names[backend]);
    stage = stage_text;
    nb_compile_options opt = {.outputs = c.outputs,
                              .n_outputs = c.n_outputs,
                              .updates = c.updates,
                              .n_updates = c.n_updates,
                              .backend = backend,
                              .threads = diff_threads};
    p = nb_compile(c.g, &opt);
    if (!p) {
        snprintf(err, sizeof err, "compile: %s", nb_graph_error(c.g));
        goto done;
    }
    if (ob_prepare(&c, p, err, sizeof err) != 0)
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
            if (ob_advance(&c, &ref) != 0) {
                snprintf(err, sizeof err, "out of memory");
                goto done;
            }
            ob_values_free(&ref);
            if (ob_eval(&c, programs_cache, &ref, err, sizeof err) != 0)
                goto done;
            *programs += ref.programs;
        }
        if (nb_program_run(p) != 0) {
            snprintf(err, sizeof err, "run %d: %s", run, nb_program_error(p));
            goto done;
        }
        if (ob_check(&c, p, &ref, err, sizeof err) != 0)
            goto done;
    }
    rc = 0;
done:
    if (rc != 0)
        report(seed, &c, stage, err);
    nb_program_free(p);
    ob_values_free(&ref);
    rg_case_free(&c);
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
        cmocka_unit_test(test_tcc),
        cmocka_unit_test(test_cc),
        cmocka_unit_test(test_auto),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
