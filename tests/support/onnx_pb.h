/* onnx_pb.h — a minimal protobuf writer for the ONNX models tests build in memory. */
#ifndef ONNX_PB_H
#define ONNX_PB_H

#include <stddef.h>
#include <stdint.h>

#include "nabla_onnx.h"

/* The capacity of one buffer: writing past it fails the calling cmocka test. */
#define PB_MAX 4096

/* A message under construction: its encoded bytes so far. Zero-initialise to start. */
typedef struct pb {
    unsigned char b[PB_MAX];
    size_t n;
} pb;

/* ONNX's AttributeProto.AttributeType values the writers below use. */
enum { PB_ATTR_FLOAT = 1, PB_ATTR_INT = 2, PB_ATTR_STRING = 3, PB_ATTR_INTS = 7 };

/* The wire format: a varint, a field's tag, a varint field, a fixed32 float field, a
 * length-delimited field (bytes, string, embedded message), and bytes without a tag. */
void pb_varint(pb *p, uint64_t v);
void pb_tag(pb *p, int field, int wire);
void pb_int(pb *p, int field, int64_t v);
void pb_float(pb *p, int field, float v);
void pb_bytes(pb *p, int field, const void *data, size_t len);
void pb_str(pb *p, int field, const char *s);
void pb_msg(pb *p, int field, const pb *m);
void pb_raw(pb *p, const void *data, size_t len);

/* An attribute (NodeProto field 5) appended to node: INT, INTS (n values), FLOAT or
 * STRING. */
void pb_attr_int(pb *node, const char *name, int64_t v);
void pb_attr_ints(pb *node, const char *name, int n, const int64_t *v);
void pb_attr_float(pb *node, const char *name, float v);
void pb_attr_str(pb *node, const char *name, const char *s);

/* A ValueInfoProto with a tensor type of element type elem (TensorProto.DataType) and
 * the given dims, appended to graph as field (11: input, 12: output); rank < 0: no
 * shape at all, rank 0: a scalar. */
void pb_value_info(pb *graph, int field, const char *name, int elem, int rank, const int64_t *dims);

/* A ModelProto of IR version 8 holding graph, importing opset of the default domain. */
void pb_model(pb *out, const pb *graph, int opset);
/* Starts a NodeProto of op with inputs X0, X1, ... (n_in) and outputs Y0, ... (n_out). */
void pb_node_begin(pb *node, const char *op, int n_in, int n_out);
/* Fails the test unless a load gave no graph (g NULL), the error kind e and a message
 * err holding want. */
void pb_check_refused(const nb_graph *g, const nb_onnx_model *m, const char *err, nb_onnx_error e,
                      const char *want);
/* Parses model m and checks it is refused (pb_check_refused). */
void pb_expect_refused(const pb *m, nb_onnx_error e, const char *want);

#endif
