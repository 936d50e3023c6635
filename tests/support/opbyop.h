/* opbyop.h — the reference of the differential test: a random case (randgraph.h)
 * evaluated one op at a time, each node compiled as its own single-op program with
 * libtcc, and the checks of a whole-graph program against it.
 *
 * The reference is deliberately naive: no fusion, no views, no in-place updates, no
 * plan across nodes, so what the whole-graph compile gets from those is what is tested.
 * A node's single-op program takes every operand as an input (bound to the operand's
 * reference value) and rebuilds the node with its op and attributes (ir_node_new).
 */
#ifndef OPBYOP_H
#define OPBYOP_H

#include <stddef.h>

#include "randgraph.h"

/* Values of the nodes of c->g, indexed by node id: numel values of the node's dtype
 * for every node the outputs and updates need, NULL for the others. */
typedef struct ob_values {
    void **v;
    int n;
    int programs; /* single-op programs run */
} ob_values;

/* Single-op programs kept for reuse: two nodes with one op, attributes and operand
 * types share one program (random graphs repeat many small ops), which makes the
 * reference several times cheaper. */
typedef struct ob_cache ob_cache;
ob_cache *ob_cache_new(void); /* NULL when out of memory */
void ob_cache_free(ob_cache *k);
/* Lookups that found a program, and programs compiled. */
long ob_cache_hits(const ob_cache *k);

/* Evaluates c->g op by op with the inputs and starting parameters of c, through cache
 * (NULL: compile every node afresh). 0, or -1 with a message in err (naming the node)
 * and *out freed. */
int ob_eval(const rg_case *c, ob_cache *cache, ob_values *out, char *err, size_t err_size);
void ob_values_free(ob_values *v);

/* Binds c's inputs to p and sets p's parameters to c's starting values. 0 or -1. */
int ob_prepare(const rg_case *c, nb_program *p, char *err, size_t err_size);

/* After one run of p: checks every output and every parameter against the reference
 * (outputs are the values before the run; a parameter holds its update's value, or its
 * old one). Floats within |a - r| <= atol + rtol * max(|a|, |r|) (NaN equals NaN, an
 * infinity only itself), integers and bools exactly. 0, or -1 with the first mismatch
 * in err. */
int ob_check(const rg_case *c, nb_program *p, const ob_values *ref, char *err, size_t err_size);

/* Moves c to the state after a run: each updated parameter's starting values become
 * its update's reference value, so that ob_eval gives the reference of the next run.
 * 0, or -1 when out of memory. */
int ob_advance(rg_case *c, const ob_values *ref);

/* The tolerance test, for one pair of values. */
int ob_close(double a, double r, double atol, double rtol);

#endif
