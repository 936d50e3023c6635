/* randgraph.h — random valid graphs built through the public builder API, for the
 * differential test (tests/test_differential.c) and the generated-code fuzz target
 * (tests/fuzz/fuzz_codegen.c).
 *
 * A case is a graph plus what a run needs: its inputs with the values to bind, its
 * parameters with their starting values, the outputs to compile and the parameter
 * updates. rg_add_subgraph appends one random subgraph (its own inputs, parameters,
 * outputs and updates) to a case, so that many disjoint subgraphs can share one graph
 * and one compile. Every choice is drawn from an rg_rand: a seed (the differential
 * test) or fuzz bytes (one byte per choice, zeros once they run out).
 */
#ifndef RANDGRAPH_H
#define RANDGRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "ir.h"
#include "nabla.h"

/* Where choices come from: bytes when bytes != NULL, else the PRNG. Data values (the
 * numbers bound to inputs and parameters) always come from the PRNG, seeded from the
 * seed or from the bytes: the shape of a graph is what a fuzzer should explore. */
typedef struct rg_rand {
    const uint8_t *bytes;
    size_t n, pos;
    ir_rng rng;
} rg_rand;

void rg_rand_seed(rg_rand *r, uint64_t seed);
void rg_rand_bytes(rg_rand *r, const uint8_t *bytes, size_t n);

/* An input or parameter with the values it starts a run with (numel values of its
 * dtype, malloc'ed, owned by the case). */
typedef struct rg_leaf {
    nb_node *node;
    void *data;
} rg_leaf;

typedef struct rg_case {
    nb_graph *g;
    rg_leaf *inputs; /* in creation order: the program's input order */
    int n_inputs, cap_inputs;
    rg_leaf *params; /* in creation order: the program's parameter order */
    int n_params, cap_params;
    nb_node **outputs;
    int n_outputs, cap_outputs;
    nb_update *updates;
    int n_updates, cap_updates;
    int n_subgraphs; /* also the prefix of leaf names: "s3.x1" */
    /* The random nodes' step counter (NB_RNG_STEP_NAME), listed among params with its
     * starting value once a random node is made, NULL before: nb_compile adds its
     * update step + 1 itself (opbyop.c expects it), and no subgraph updates it. */
    nb_node *rng_step;
} rg_case;

/* A case with an empty graph. 0, or -1 when out of memory. */
int rg_case_init(rg_case *c);
/* Frees the graph and the data. */
void rg_case_free(rg_case *c);
/* Appends a random subgraph to c->g. 0, or -1 when a builder failed (the graph's error
 * says why: a bug of the generator or of the library) or memory ran out. */
int rg_add_subgraph(rg_case *c, rg_rand *r);

#endif
