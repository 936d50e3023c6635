/* gradcheck.h — checks symbolic gradients against central finite differences in f64.
 *
 * A case names a function y = f(x0, ..., xn-1) built with the public API, and the
 * inputs to sample. The harness builds T = sum(w * y) (w random, so every element of a
 * non-scalar y is checked), draws the inputs, and hands T and the float inputs to the
 * public checker nb_gradcheck (docs/gradcheck.md) with those values: it compares
 * nb_grad's dT/dxk with central finite differences in f64, with the NaN-safe tolerance
 * |a - n| <= atol + rtol * max(|a|, |n|), skips (and counts) elements where the function
 * is not smooth, and fails a sample whose every element was skipped. With second_order
 * set, the same check also runs on T2 = sum_k sum(v_k * dT/dxk): the gradient of a
 * gradient. Each case also runs in f32 and its values and gradients must match the f64
 * ones (rel 1e-3), which checks the f32 emitters.
 */
#ifndef GRADCHECK_H
#define GRADCHECK_H

#include "nabla.h"

/* One input: float inputs use `dt` given to the builder (f64, then f32); NB_I32 and
 * NB_BOOL inputs are data (labels, indices, masks) and get no gradient. */
typedef struct gc_input {
    nb_dtype dtype; /* NB_F64 for "a float input", NB_I32 or NB_BOOL */
    int rank;
    int64_t shape[NB_MAX_RANK];
    double lo, hi; /* uniform range; integers are drawn from [lo, hi) */
} gc_input;

/* Builds y from the inputs x[0..n_in), in dtype dt for float values. */
typedef nb_node *(*gc_fn)(nb_graph *g, nb_node *const *x, nb_dtype dt);

typedef struct gc_case {
    const char *name;
    gc_fn fn;
    int n_in;
    gc_input in[4];
    int second_order; /* check the gradient of the gradient too */
} gc_case;

/* Runs the checks of one case; fails the current cmocka test on a mismatch. */
void gc_check(const gc_case *c);
/* Runs every case of a table as one cmocka test each; returns the number failed. */
int gc_run_table(const char *group, const gc_case *cases, int n);

/* Shorthands for tables. */
#define GC_F(r, ...)                                                                               \
    {                                                                                              \
        NB_F64, r, {__VA_ARGS__}, -2.0, 2.0                                                        \
    }
#define GC_FR(lo, hi, r, ...)                                                                      \
    {                                                                                              \
        NB_F64, r, {__VA_ARGS__}, lo, hi                                                           \
    }

#endif
