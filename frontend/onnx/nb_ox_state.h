/* nb_ox_state.h — internal to the ONNX loader's core (nb_ox_load.c, nb_ox_node.c,
 * nb_ox_attr.c, nb_ox_tensor.c): the loader's state, which importers see only through
 * nb_ox.h, and the protobuf decoding. */
#ifndef NB_OX_STATE_H
#define NB_OX_STATE_H

#include <stddef.h>

#include "ir.h"
#include "nb_ox.h"
#include "onnx_subset.pb-c.h"

/* Bytes of a loader message. */
#define NB_OX_MSG_MAX 1024
/* Bytes of an attribute string an importer reads (longer ones are refused). */
#define NB_OX_STRING_MAX 256

/* A value of the model: a graph input, an initializer, a node's output. */
typedef struct nb_ox_val {
    const char *name; /* the model's (points into the decoded model) */
    int type;         /* nb_onnx_type */
    nb_node *node;    /* NULL while only known */
    nb_ox_const *known;
    int initializer; /* 1 + its index among the graph's initializers, or 0 */
} nb_ox_val;

struct nb_ox {
    nb_graph *g;
    nb_onnx_options opt;
    nb_onnx_model *m;
    int64_t opset;
    /* Values, and a hash table of their names (indices + 1; 0 is an empty slot). */
    nb_ox_val *vals;
    size_t n_vals, cap_vals;
    size_t *slots;
    size_t n_slots;
    /* Parameters made from initializers, in order, with their values (the extras). */
    nb_leaf_value *params;
    size_t n_params, cap_params;
    /* The node being imported. */
    const Onnx__NodeProto *node;
    size_t node_index;
    long *in;  /* per input slot: a value index, or -1 when absent */
    long *out; /* per output slot: the value index it was set to, or -1 */
    unsigned char *attr_read;
    char str[NB_OX_STRING_MAX];
    nb_ox_const **attr_consts; /* tensors of attributes read, freed after the node */
    size_t n_attr_consts;
    int attr_error; /* an attribute getter found a wrong type */
    /* The first error. */
    char msg[NB_OX_MSG_MAX];
    nb_onnx_error error;
};

/* protobuf-c's allocator over the library's (which tests make fail). */
extern ProtobufCAllocator nb_ox_allocator;

/* Records the first error (kind and message, without prefix); returns -1. */
int nb_ox_error(nb_ox *x, nb_onnx_error kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Adds a value named name (non-empty, not yet defined: else an INVALID error); its
 * index, or -1 after an error. */
long nb_ox_val_add(nb_ox *x, const char *name, int type);
/* Decodes a TensorProto into a new known value in *out; -1 with the reason in msg and
 * its kind in *kind (INVALID, UNSUPPORTED or NOMEM). */
int nb_ox_tensor_decode(const Onnx__TensorProto *t, nb_ox_const **out, nb_onnx_error *kind,
                        char *msg, size_t size);
/* A new zero-filled known value; NULL with the reason in msg (a bad shape, or "out of
 * memory"). */
nb_ox_const *nb_ox_const_alloc(int type, int rank, const int64_t *dims, char *msg, size_t size);
/* The value's node, made (a constant or a parameter) when only known; NULL after an
 * error on x. */
nb_node *nb_ox_val_node(nb_ox *x, size_t v);
/* Prefixes the recorded error with the node being imported ("node 3 'conv1' (Conv): ")
 * unless it names it already: errors recorded on the way without the node's prefix (a
 * value defined twice, a known value that fits no dtype) still name the node. */
void nb_ox_error_at_node(nb_ox *x);
/* Checks an attribute's type against the getter's; 0 or -1 after an error. */
int nb_ox_attr_check(nb_ox *x, const Onnx__AttributeProto *a, int want);
/* Reports an attribute no getter read; -1. */
int nb_ox_attr_unread(nb_ox *x, const Onnx__AttributeProto *a);

#endif
