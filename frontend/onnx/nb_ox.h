/* nb_ox.h — internal: what the ONNX loader's op importers see. The loader
 * (nb_ox_load.c) walks the model's nodes in order and calls one importer per node, found
 * by op type in the table nb_ox_ops.def. An importer reads the node's inputs and
 * attributes through the functions below, builds nodes with nabla's builders and sets
 * the node's outputs. It returns 0, or -1 after nb_ox_fail/nb_ox_unsupported (or after
 * a builder's sticky error, which the loader reports with the node's name).
 *
 * Values known at load time (initializers, Constant nodes, options.values, and what
 * importers compute from them on the host: Shape, shape arithmetic) are kept as
 * nb_ox_const; a graph node is made for one only when an importer asks for its node.
 * ONNX INT64 is computed in i32: a known value outside the i32 range is refused where it
 * becomes a node. */
#ifndef NB_OX_H
#define NB_OX_H

#include <stdint.h>

#include "nabla.h"
#include "nabla_onnx.h"

typedef struct nb_ox nb_ox; /* the loader's state, with the node being imported */

/* Values of a list attribute or a list input an importer reads at most (pads, shapes). */
#define NB_OX_LIST_MAX 64

/* A tensor known at load time. Float types hold their values in f, integer and bool
 * types in i (int64_t, so that INT64_MAX, Slice's "to the end", stays exact). */
typedef struct nb_ox_const {
    int type; /* nb_onnx_type */
    int rank;
    int64_t dims[NB_MAX_RANK];
    int64_t numel;
    double *f;  /* numel values when type is FLOAT or DOUBLE, else NULL */
    int64_t *i; /* numel values otherwise, else NULL */
} nb_ox_const;

/* An importer: reads the current node, sets its outputs. */
typedef int (*nb_ox_import_fn)(nb_ox *x);

/* ---- the node being imported ---- */
nb_graph *nb_ox_graph(nb_ox *x);
const char *nb_ox_op_type(const nb_ox *x);
int nb_ox_opset(const nb_ox *x); /* the model's opset of the default domain */
/* Input slots the node lists (empty names included: an absent optional input). */
int nb_ox_n_inputs(const nb_ox *x);
/* Nonzero when input i is given (listed with a non-empty name). */
int nb_ox_has_input(const nb_ox *x, int i);
int nb_ox_n_outputs(const nb_ox *x); /* output slots the node lists */
/* Nonzero when output i is wanted (listed with a non-empty name). */
int nb_ox_has_output(const nb_ox *x, int i);

/* ---- inputs ---- */
/* The node of input i (a known value becomes a constant node here). NULL after an
 * error on the loader: a missing input, a value outside the i32 range. */
nb_node *nb_ox_in(nb_ox *x, int i);
/* The ONNX type of input i, NB_ONNX_UNDEFINED when absent. */
int nb_ox_in_type(const nb_ox *x, int i);
/* Input i's rank and dims (of its node or its known value); -1 when absent. */
int nb_ox_in_rank(const nb_ox *x, int i);
const int64_t *nb_ox_in_dims(const nb_ox *x, int i);
/* Input i's value when it is known at load time, else NULL. */
const nb_ox_const *nb_ox_in_known(const nb_ox *x, int i);
/* Nonzero when input i is a float initializer that becomes a model parameter
 * (nb_onnx_options.initializers_as_constants zero): its value is known, but an importer
 * that computed on it at load time would cut it off from training. */
int nb_ox_in_param(const nb_ox *x, int i);
/* Input i's value, which the importer needs at load time (what names it: "shape"):
 * NULL after an NB_ONNX_ERROR_NEEDS_VALUE error when it is not known. */
const nb_ox_const *nb_ox_in_const(nb_ox *x, int i, const char *what);
/* A known integer input as int64 values (at most max; their count in *n): -1 after an
 * error when unknown, not integer, of more than max values or of rank above 1. */
int nb_ox_in_ints(nb_ox *x, int i, const char *what, int64_t *out, int max, int *n);

/* ---- attributes: each getter marks the attribute as read; the loader refuses a node
 * with an attribute no getter read. A wrong attribute type is an error (the getters
 * then return def / -1, and the loader reports it after the importer returns). ---- */
int nb_ox_has_attr(nb_ox *x, const char *name);
int64_t nb_ox_attr_int(nb_ox *x, const char *name, int64_t def);
double nb_ox_attr_float(nb_ox *x, const char *name, double def);
/* The string (not terminated by ONNX; copied here, NUL-terminated, valid until the next
 * node), or def. */
const char *nb_ox_attr_string(nb_ox *x, const char *name, const char *def);
/* Copies an INTS / FLOATS attribute: its count, or -1 when absent (no error) and -2
 * after an error (more than max values). */
int nb_ox_attr_ints(nb_ox *x, const char *name, int64_t *out, int max);
int nb_ox_attr_floats(nb_ox *x, const char *name, double *out, int max);
/* A TENSOR attribute as a known value (owned by the loader), or NULL when absent. */
const nb_ox_const *nb_ox_attr_tensor(nb_ox *x, const char *name);

/* ---- outputs ---- */
/* Sets output i to a node (NULL: the builder's sticky error is reported). The ONNX type
 * follows the node's dtype; an i32 node is INT64 unless set with nb_ox_out_typed. */
int nb_ox_out(nb_ox *x, int i, nb_node *n);
int nb_ox_out_typed(nb_ox *x, int i, nb_node *n, int type);
/* Sets output i to a value known at load time; the loader takes ownership of k (also
 * when it fails). */
int nb_ox_out_known(nb_ox *x, int i, nb_ox_const *k);

/* ---- known values ---- */
/* A new known value of the type and shape, zero-filled; NULL after an error. */
nb_ox_const *nb_ox_const_new(nb_ox *x, int type, int rank, const int64_t *dims);
/* A copy of k (NULL after an error, or for k NULL). */
nb_ox_const *nb_ox_const_dup(nb_ox *x, const nb_ox_const *k);
void nb_ox_const_free(nb_ox_const *k);
/* Value j of k as a double / an int64 (any type). */
double nb_ox_const_get(const nb_ox_const *k, int64_t j);
int64_t nb_ox_const_int(const nb_ox_const *k, int64_t j);

/* ---- errors: each returns -1. The message is prefixed with the node ("node 3
 * 'conv1' (Conv): "). ---- */
int nb_ox_fail(nb_ox *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int nb_ox_unsupported(nb_ox *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Normalizes axis into [0, rank) (negative counts from the end); -1 after an error. */
int nb_ox_axis(nb_ox *x, int64_t axis, int rank, const char *what);

/* ---- the op table (nb_ox_ops.def): one importer per op type ---- */
#define NB_OX_OP(name, fn) int fn(nb_ox *x);
#include "nb_ox_ops.def"
#undef NB_OX_OP

#endif
