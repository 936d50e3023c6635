/* fuzz_codegen.c — libFuzzer target for the generated-code path: the fuzz bytes choose a
 * random graph (tests/support/randgraph.c: every op family, gradients, parameter
 * updates), which is compiled whole with libtcc, run, and compared with the same graph
 * evaluated one op at a time (tests/support/opbyop.c).
 *
 * Every byte string is a valid graph: the generator reads one byte per choice and zeros
 * once they run out, so the fuzzer explores graph shapes, not parse errors. A builder
 * that refuses the generator's graph, a compile or run that fails, or a result that
 * differs from the op-by-op one aborts with the graph printed: each is a finding. The
 * library itself must never crash on the way.
 *
 * Seed corpus: tests/fuzz/corpus/codegen/. By hand, next to the project's fuzz build:
 *   clang -fsanitize=fuzzer,address,undefined ... fuzz_codegen.c randgraph.c opbyop.c
 *   ./fuzz_codegen -max_len=512 tests/fuzz/corpus/codegen
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "opbyop.h"
#include "randgraph.h"

enum { FUZZ_MAX_BYTES = 1024, FUZZ_ERR_SIZE = 1024 };

/* Prints the finding with the graph and stops the fuzzer. */
static void finding(const rg_case *c, const char *stage, const char *err)
{
    char *ir = nb_graph_print(c->g);
    fprintf(stderr, "fuzz_codegen: %s: %s\n%s\n", stage, err, ir ? ir : "");
    free(ir);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[FUZZ_ERR_SIZE];
    rg_case c;
    rg_rand r;
    ob_values ref = {0};
    nb_program *p = NULL;
    /* Longer inputs add nothing: a subgraph reads a few hundred choices at most. */
    if (size > FUZZ_MAX_BYTES || rg_case_init(&c) != 0)
        return 0;
    rg_rand_bytes(&r, data, size);
    if (rg_add_subgraph(&c, &r) != 0)
        finding(&c, "generate", nb_graph_error(c.g) ? nb_graph_error(c.g) : "out of memory");
    nb_compile_options opt = {.outputs = c.outputs,
                              .n_outputs = c.n_outputs,
                              .updates = c.updates,
                              .n_updates = c.n_updates,
                              .backend = NB_BACKEND_TCC};
    if (!(p = nb_compile(c.g, &opt)))
        finding(&c, "compile", nb_graph_error(c.g));
    if (ob_prepare(&c, p, err, sizeof err) != 0)
        finding(&c, "bind", err);
    if (nb_program_run(p) != 0)
        finding(&c, "run", nb_program_error(p));
    /* The reference compiles every node alone (no cache: it would outlive the input,
     * which libFuzzer's leak check reports). */
    if (ob_eval(&c, NULL, &ref, err, sizeof err) != 0)
        finding(&c, "op by op", err);
    if (ob_check(&c, p, &ref, err, sizeof err) != 0)
        finding(&c, "compare", err);
    ob_values_free(&ref);
    nb_program_free(p);
    rg_case_free(&c);
    return 0;
}
