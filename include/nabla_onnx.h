/* nabla_onnx.h — ONNX models as nabla graphs (frontend/onnx/; docs/onnx.md): the loader
 * turns a model file into a graph built with nabla's own builders, so an imported model
 * is compiled, differentiated, trained and exported like any other graph. */
#ifndef NABLA_ONNX_H
#define NABLA_ONNX_H

#include <stddef.h>
#include <stdint.h>

#include "nabla.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ONNX element types (TensorProto.DataType) that show in these structs. nabla computes
 * FLOAT in f32, DOUBLE in f64, INT64 and INT32 in i32 and BOOL in bool; the others are
 * refused as unsupported. */
typedef enum nb_onnx_type {
    NB_ONNX_UNDEFINED = 0,
    NB_ONNX_FLOAT = 1,
    NB_ONNX_UINT8 = 2,
    NB_ONNX_INT8 = 3,
    NB_ONNX_UINT16 = 4,
    NB_ONNX_INT16 = 5,
    NB_ONNX_INT32 = 6,
    NB_ONNX_INT64 = 7,
    NB_ONNX_STRING = 8,
    NB_ONNX_BOOL = 9,
    NB_ONNX_FLOAT16 = 10,
    NB_ONNX_DOUBLE = 11,
    NB_ONNX_UINT32 = 12,
    NB_ONNX_UINT64 = 13,
    NB_ONNX_COMPLEX64 = 14,
    NB_ONNX_COMPLEX128 = 15,
    NB_ONNX_BFLOAT16 = 16
} nb_onnx_type;

/* The name ONNX gives the type ("FLOAT", "INT64", ...), "?" for a number it has none for. */
const char *nb_onnx_type_name(int type);
/* The nabla dtype a type is computed in, or -1 when nabla has none for it. */
int nb_onnx_type_dtype(int type);

/* A tensor: one TensorProto file of ONNX's test format (input_0.pb, output_0.pb), or a
 * value given to the loader. data holds numel values, row-major, as doubles: exact for
 * every supported type (integers are refused outside +-2^53). */
typedef struct nb_onnx_tensor {
    char *name; /* the tensor's name ("" when it has none) */
    int type;   /* nb_onnx_type */
    int rank;   /* 0..NB_MAX_RANK */
    int64_t dims[NB_MAX_RANK];
    int64_t numel;
    double *data;
} nb_onnx_tensor;

/* Reads a serialized TensorProto from bytes[0..len) into *t (free it with
 * nb_onnx_tensor_free). 0, or -1 with *t zeroed and a message in err (err may be NULL):
 * malformed bytes, a type nabla has no dtype for, external data, or out of memory. */
int nb_onnx_tensor_parse(const void *bytes, size_t len, nb_onnx_tensor *t, char *err,
                         size_t err_size);
/* nb_onnx_tensor_parse of the file at path; messages start with the path. */
int nb_onnx_tensor_load(const char *path, nb_onnx_tensor *t, char *err, size_t err_size);
void nb_onnx_tensor_free(nb_onnx_tensor *t); /* frees name and data, zeroes *t; NULL is fine */

/* The full shape of an input, for inputs whose dimensions the model leaves open
 * ("batch", or no value): every dimension, fixed ones included, which must agree. */
typedef struct nb_onnx_shape {
    const char *name;
    int rank;
    int64_t dims[NB_MAX_RANK];
} nb_onnx_shape;

/* How nb_onnx_load builds the graph. A zeroed struct (or NULL) means: FLOAT and DOUBLE
 * initializers become model parameters, every input keeps the shape the model gives. */
typedef struct nb_onnx_options {
    /* Nonzero: initializers become constants (an inference graph, folded by the
     * compiler). Zero: float initializers become parameters named after them
     * (NB_PARAM_MODEL: trained, saved and loaded as safetensors), their values in the
     * model's extras. Integer and bool initializers are constants either way. */
    int initializers_as_constants;
    const nb_onnx_shape *shapes; /* shapes of inputs with open dimensions */
    int n_shapes;
    /* Inputs whose value is known when the model loads (shape arguments such as
     * Reshape's shape, when the model gives them as inputs): they become constants and
     * are no inputs of the graph. name must be an input's. */
    const nb_onnx_tensor *values;
    int n_values;
} nb_onnx_options;

/* Why a load failed. */
typedef enum nb_onnx_error {
    NB_ONNX_OK = 0,
    NB_ONNX_ERROR_FILE = 1,        /* the file cannot be read */
    NB_ONNX_ERROR_INVALID = 2,     /* not a valid ONNX model */
    NB_ONNX_ERROR_UNSUPPORTED = 3, /* an op, type, attribute or opset nabla does not import */
    NB_ONNX_ERROR_NEEDS_VALUE = 4, /* an input must be known at load (options.values) */
    NB_ONNX_ERROR_NEEDS_SHAPE = 5, /* an input has open dimensions (options.shapes) */
    NB_ONNX_ERROR_NOMEM = 6
} nb_onnx_error;

/* A graph input or output, or an initializer, by the model's name. */
typedef struct nb_onnx_value {
    const char *name; /* the model's name (owned by the model struct) */
    nb_node *node;    /* its node in the graph (NULL for an initializer no node reads) */
    int type;         /* nb_onnx_type */
} nb_onnx_value;

/* What a loaded model is besides its graph. */
typedef struct nb_onnx_model {
    nb_onnx_value *inputs; /* the graph's inputs (initializers and options.values excluded) */
    int n_inputs;
    nb_onnx_value *outputs;
    int n_outputs;
    nb_onnx_value *initializers; /* parameters or constants, as the options said */
    int n_initializers;
    /* The outputs (in order) and the parameters' values from the initializers: what
     * nb_compile and the nabla command take from a graph file (nabla.h). */
    nb_graph_extras extras;
    int64_t ir_version;
    int64_t opset;  /* of the default domain */
    char *producer; /* producer_name and producer_version, "" when the model has none */
    /* The op types the graph's nodes use, each once, in order of first use, separated by
     * commas ("Conv,Relu,MaxPool"); also after a failed load when the model decodes. */
    char *op_types;
    nb_onnx_error error; /* after a failed load: why */
} nb_onnx_model;

/* Reads an ONNX model (a serialized ModelProto) from bytes[0..len) into a new graph.
 * Every node is imported through nabla's builders; every attribute of a node must be
 * one the loader reads (others are refused rather than ignored). NULL on any error,
 * with *m zeroed except m->error and m->op_types, and a message in err (err may be NULL) naming the
 * node, its op and why: "node 3 'conv1' (Conv): attribute auto_pad=VALID is not supported". On
 * success *m (free with nb_onnx_model_free) describes inputs, outputs and initializers; free the
 * graph with nb_graph_free. o may be NULL. */
nb_graph *nb_onnx_parse(const void *bytes, size_t len, const nb_onnx_options *o, nb_onnx_model *m,
                        char *err, size_t err_size);
/* nb_onnx_parse of the file at path; messages start with the path. Files above
 * NB_ONNX_FILE_MAX bytes are refused; models with external data are refused. */
nb_graph *nb_onnx_load(const char *path, const nb_onnx_options *o, nb_onnx_model *m, char *err,
                       size_t err_size);
#define NB_ONNX_FILE_MAX ((size_t)1 << 31)
/* Frees what a load put in *m (not the graph) and zeroes it. NULL is fine. */
void nb_onnx_model_free(nb_onnx_model *m);

#ifdef __cplusplus
}
#endif

#endif
