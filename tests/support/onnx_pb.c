/* onnx_pb.c — the protobuf writer of ONNX test models (onnx_pb.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "onnx_pb.h"

void pb_varint(pb *p, uint64_t v)
{
    do {
        assert_true(p->n < sizeof p->b);
        p->b[p->n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
}

void pb_tag(pb *p, int field, int wire)
{
    pb_varint(p, (uint64_t)field << 3 | (uint64_t)wire);
}

void pb_int(pb *p, int field, int64_t v)
{
    pb_tag(p, field, 0);
    pb_varint(p, (uint64_t)v);
}

void pb_raw(pb *p, const void *data, size_t len)
{
    assert_true(len <= sizeof p->b - p->n);
    if (len)
        memcpy(p->b + p->n, data, len);
    p->n += len;
}

void pb_float(pb *p, int field, float v)
{
    pb_tag(p, field, 5);
    pb_raw(p, &v, 4); /* little-endian hosts only, as nabla's targets */
}

void pb_bytes(pb *p, int field, const void *data, size_t len)
{
    pb_tag(p, field, 2);
    pb_varint(p, len);
    pb_raw(p, data, len);
}

void pb_str(pb *p, int field, const char *s)
{
    pb_bytes(p, field, s, strlen(s));
}

void pb_msg(pb *p, int field, const pb *m)
{
    pb_bytes(p, field, m->b, m->n);
}

/* AttributeProto fields are written in field-number order, as protobuf serializers do:
 * name (1), f (2), i (3), s (4), ints (8), type (20). */

void pb_attr_int(pb *node, const char *name, int64_t v)
{
    pb a = {.n = 0};
    pb_str(&a, 1, name);
    pb_int(&a, 3, v);
    pb_int(&a, 20, PB_ATTR_INT);
    pb_msg(node, 5, &a);
}

void pb_attr_ints(pb *node, const char *name, int n, const int64_t *v)
{
    pb a = {.n = 0};
    pb_str(&a, 1, name);
    for (int i = 0; i < n; i++)
        pb_int(&a, 8, v[i]);
    pb_int(&a, 20, PB_ATTR_INTS);
    pb_msg(node, 5, &a);
}

void pb_attr_float(pb *node, const char *name, float v)
{
    pb a = {.n = 0};
    pb_str(&a, 1, name);
    pb_float(&a, 2, v);
    pb_int(&a, 20, PB_ATTR_FLOAT);
    pb_msg(node, 5, &a);
}

void pb_attr_str(pb *node, const char *name, const char *s)
{
    pb a = {.n = 0};
    pb_str(&a, 1, name);
    pb_str(&a, 4, s);
    pb_int(&a, 20, PB_ATTR_STRING);
    pb_msg(node, 5, &a);
}

void pb_value_info(pb *graph, int field, const char *name, int elem, int rank, const int64_t *dims)
{
    pb vi = {.n = 0}, tp = {.n = 0}, tt = {.n = 0}, sh = {.n = 0};
    pb_int(&tt, 1, elem);
    if (rank >= 0) {
        for (int i = 0; i < rank; i++) {
            pb d = {.n = 0};
            pb_int(&d, 1, dims[i]);
            pb_msg(&sh, 1, &d);
        }
        pb_msg(&tt, 2, &sh);
    }
    pb_msg(&tp, 1, &tt);
    pb_str(&vi, 1, name);
    pb_msg(&vi, 2, &tp);
    pb_msg(graph, field, &vi);
}

void pb_model(pb *out, const pb *graph, int opset)
{
    pb op = {.n = 0};
    memset(out, 0, sizeof *out);
    pb_int(out, 1, 8);
    pb_str(&op, 1, "");
    pb_int(&op, 2, opset);
    pb_msg(out, 8, &op);
    pb_msg(out, 7, graph);
}

void pb_node_begin(pb *node, const char *op, int n_in, int n_out)
{
    memset(node, 0, sizeof *node);
    for (int i = 0; i < n_in; i++) {
        char name[8] = {'X', (char)('0' + i), 0};
        pb_str(node, 1, name);
    }
    for (int i = 0; i < n_out; i++) {
        char name[8] = {'Y', (char)('0' + i), 0};
        pb_str(node, 2, name);
    }
    pb_str(node, 4, op);
}

void pb_check_refused(const nb_graph *g, const nb_onnx_model *m, const char *err, nb_onnx_error e,
                      const char *want)
{
    if (g || m->error != e || !strstr(err, want))
        fail_msg("expected error %d with '%s'; got %s, error %d: %s", (int)e, want,
                 g ? "a graph" : "no graph", (int)m->error, err);
}

void pb_expect_refused(const pb *m, nb_onnx_error e, const char *want)
{
    nb_onnx_model mm;
    char err[512] = "";
    nb_graph *g = nb_onnx_parse(m->b, m->n, NULL, &mm, err, sizeof err);
    pb_check_refused(g, &mm, err, e, want);
    nb_graph_free(g);
    nb_onnx_model_free(&mm);
}
