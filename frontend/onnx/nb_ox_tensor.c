/* nb_ox_tensor.c — ONNX tensors: TensorProto decoded into a value known at load time
 * (initializers, Constant nodes, tensor attributes), the public reader of one tensor file
 * (nb_onnx_tensor_parse: ONNX's test data), and the known values' helpers. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nb_ox_state.h"

/* Elements of a known value, at most: 2^40 (far above any memory, far below overflow). */
#define NB_OX_NUMEL_MAX ((int64_t)1 << 40)
/* Integers a double holds exactly: the public tensors' range. */
#define NB_OX_EXACT_MAX 9007199254740992.0

static void *ox_alloc(void *data, size_t size)
{
    (void)data;
    return ir_malloc(size ? size : 1);
}

static void ox_free(void *data, void *p)
{
    (void)data;
    free(p);
}

ProtobufCAllocator nb_ox_allocator = {ox_alloc, ox_free, NULL};

const char *nb_onnx_type_name(int type)
{
    static const char *const names[] = {"UNDEFINED",  "FLOAT",   "UINT8",  "INT8",   "UINT16",
                                        "INT16",      "INT32",   "INT64",  "STRING", "BOOL",
                                        "FLOAT16",    "DOUBLE",  "UINT32", "UINT64", "COMPLEX64",
                                        "COMPLEX128", "BFLOAT16"};
    return type >= 0 && type < (int)(sizeof names / sizeof names[0]) ? names[type] : "?";
}

int nb_onnx_type_dtype(int type)
{
    switch (type) {
    case NB_ONNX_FLOAT: return NB_F32;
    case NB_ONNX_DOUBLE: return NB_F64;
    case NB_ONNX_INT32:
    case NB_ONNX_INT64: return NB_I32;
    case NB_ONNX_BOOL: return NB_BOOL;
    default: return -1;
    }
}

static int is_float(int type)
{
    return type == NB_ONNX_FLOAT || type == NB_ONNX_DOUBLE;
}

/* Bytes of one element in raw_data, or 0 for a type not read here. */
static size_t raw_size(int type)
{
    switch (type) {
    case NB_ONNX_FLOAT:
    case NB_ONNX_INT32:
    case NB_ONNX_UINT32: return 4;
    case NB_ONNX_DOUBLE:
    case NB_ONNX_INT64:
    case NB_ONNX_UINT64: return 8;
    case NB_ONNX_BOOL:
    case NB_ONNX_UINT8:
    case NB_ONNX_INT8: return 1;
    case NB_ONNX_INT16:
    case NB_ONNX_UINT16: return 2;
    default: return 0;
    }
}

/* The little-endian unsigned integer of n bytes at p. */
static uint64_t le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t k = n; k-- > 0;)
        v = v << 8 | p[k];
    return v;
}

/* Element j of raw little-endian data of the type, as the known value stores it. */
static void raw_get(const uint8_t *p, int type, double *f, int64_t *i)
{
    uint64_t u = le(p, raw_size(type));
    switch (type) {
    case NB_ONNX_FLOAT: {
        uint32_t b = (uint32_t)u;
        float v;
        memcpy(&v, &b, sizeof v);
        *f = v;
        break;
    }
    case NB_ONNX_DOUBLE: memcpy(f, &u, sizeof *f); break;
    case NB_ONNX_INT32: *i = (int32_t)(uint32_t)u; break;
    case NB_ONNX_INT64: *i = (int64_t)u; break;
    case NB_ONNX_INT8: *i = (int8_t)(uint8_t)u; break;
    case NB_ONNX_INT16: *i = (int16_t)(uint16_t)u; break;
    case NB_ONNX_BOOL: *i = u != 0; break;
    case NB_ONNX_UINT64: *i = u > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)u; break;
    default: *i = (int64_t)u; break;
    }
}

nb_ox_const *nb_ox_const_alloc(int type, int rank, const int64_t *dims, char *msg, size_t size)
{
    if (rank < 0 || rank > NB_MAX_RANK) {
        snprintf(msg, size, "rank %d is above nabla's %d", rank, NB_MAX_RANK);
        return NULL;
    }
    int64_t numel = 1;
    for (int d = 0; d < rank; d++) {
        if (dims[d] < 0 || (dims[d] > 0 && numel > NB_OX_NUMEL_MAX / dims[d])) {
            snprintf(msg, size, "dimension %d is %lld", d, (long long)dims[d]);
            return NULL;
        }
        numel *= dims[d];
    }
    nb_ox_const *k = ir_calloc(1, sizeof *k);
    if (!k)
        goto nomem;
    k->type = type;
    k->rank = rank;
    for (int d = 0; d < rank; d++)
        k->dims[d] = dims[d];
    k->numel = numel;
    if (is_float(type))
        k->f = ir_calloc(numel ? (size_t)numel : 1, sizeof *k->f);
    else
        k->i = ir_calloc(numel ? (size_t)numel : 1, sizeof *k->i);
    if (!k->f && !k->i) {
        free(k);
        goto nomem;
    }
    return k;
nomem:
    snprintf(msg, size, "out of memory");
    return NULL;
}

void nb_ox_const_free(nb_ox_const *k)
{
    if (!k)
        return;
    free(k->f);
    free(k->i);
    free(k);
}

double nb_ox_const_get(const nb_ox_const *k, int64_t j)
{
    return k->f ? k->f[j] : (double)k->i[j];
}

int64_t nb_ox_const_int(const nb_ox_const *k, int64_t j)
{
    if (k->i)
        return k->i[j];
    double v = k->f[j];
    /* Saturates (NaN to 0), as a cast must not be undefined. */
    return v != v ? 0 : v >= 9.2e18 ? INT64_MAX : v <= -9.2e18 ? INT64_MIN : (int64_t)v;
}

/* The typed field of the tensor's type: its count, and element j into the value. */
static size_t typed_count(const Onnx__TensorProto *t, int type)
{
    switch (type) {
    case NB_ONNX_FLOAT: return t->n_float_data;
    case NB_ONNX_DOUBLE: return t->n_double_data;
    case NB_ONNX_INT64: return t->n_int64_data;
    case NB_ONNX_UINT32:
    case NB_ONNX_UINT64: return t->n_uint64_data;
    default: return t->n_int32_data;
    }
}

static void typed_get(const Onnx__TensorProto *t, int type, size_t j, double *f, int64_t *i)
{
    switch (type) {
    case NB_ONNX_FLOAT: *f = t->float_data[j]; break;
    case NB_ONNX_DOUBLE: *f = t->double_data[j]; break;
    case NB_ONNX_INT64: *i = t->int64_data[j]; break;
    case NB_ONNX_UINT32:
    case NB_ONNX_UINT64:
        *i = t->uint64_data[j] > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)t->uint64_data[j];
        break;
    case NB_ONNX_BOOL: *i = t->int32_data[j] != 0; break;
    default: *i = t->int32_data[j]; break;
    }
}

int nb_ox_tensor_decode(const Onnx__TensorProto *t, nb_ox_const **out, nb_onnx_error *kind,
                        char *msg, size_t size)
{
    *out = NULL;
    *kind = NB_ONNX_ERROR_INVALID;
    int type = t->has_data_type ? t->data_type : NB_ONNX_UNDEFINED;
    if (t->has_data_location && t->data_location != 0) {
        *kind = NB_ONNX_ERROR_UNSUPPORTED;
        snprintf(msg, size, "its data is stored outside the model (external data)");
        return -1;
    }
    if (raw_size(type) == 0) {
        *kind = NB_ONNX_ERROR_UNSUPPORTED;
        snprintf(msg, size, "its type %s (%d) is not supported", nb_onnx_type_name(type), type);
        return -1;
    }
    if (t->n_dims > NB_MAX_RANK) {
        *kind = NB_ONNX_ERROR_UNSUPPORTED;
        snprintf(msg, size, "rank %zu is above nabla's %d", t->n_dims, NB_MAX_RANK);
        return -1;
    }
    /* The data's length is checked against the shape before the values are allocated:
     * a few bytes must not make the loader allocate what their dimensions claim. */
    int64_t numel = 1;
    for (size_t d = 0; d < t->n_dims && numel >= 0; d++)
        numel = t->dims[d] < 0 || (t->dims[d] > 0 && numel > NB_OX_NUMEL_MAX / t->dims[d])
                    ? -1 /* nb_ox_const_alloc says which dimension */
                    : numel * t->dims[d];
    size_t es = raw_size(type);
    if (numel >= 0 && t->has_raw_data &&
        (t->raw_data.len / es != (uint64_t)numel || t->raw_data.len % es)) {
        snprintf(msg, size, "raw_data holds %zu bytes, %lld elements of %s need %llu",
                 t->raw_data.len, (long long)numel, nb_onnx_type_name(type),
                 (unsigned long long)numel * es);
        return -1;
    }
    if (numel >= 0 && !t->has_raw_data && typed_count(t, type) != (uint64_t)numel) {
        snprintf(msg, size, "it holds %zu values, its shape %lld", typed_count(t, type),
                 (long long)numel);
        return -1;
    }
    char why[NB_OX_MSG_MAX / 2];
    nb_ox_const *k = nb_ox_const_alloc(type, (int)t->n_dims, t->dims, why, sizeof why);
    if (!k) {
        if (!strcmp(why, "out of memory"))
            *kind = NB_ONNX_ERROR_NOMEM;
        snprintf(msg, size, "%s", why);
        return -1;
    }
    double fv = 0;
    int64_t iv = 0;
    if (t->has_raw_data) {
        for (int64_t j = 0; j < k->numel; j++) {
            raw_get(t->raw_data.data + (size_t)j * es, type, &fv, &iv);
            if (k->f)
                k->f[j] = fv;
            else
                k->i[j] = iv;
        }
    } else {
        for (int64_t j = 0; j < k->numel; j++) {
            typed_get(t, type, (size_t)j, &fv, &iv);
            if (k->f)
                k->f[j] = fv;
            else
                k->i[j] = iv;
        }
    }
    *out = k;
    return 0;
}

/* ---- the public tensor reader ---- */

void nb_onnx_tensor_free(nb_onnx_tensor *t)
{
    if (!t)
        return;
    free(t->name);
    free(t->data);
    memset(t, 0, sizeof *t);
}

int nb_onnx_tensor_parse(const void *bytes, size_t len, nb_onnx_tensor *t, char *err,
                         size_t err_size)
{
    if (!t) {
        ir_errbuf(err, err_size, "onnx tensor: the result pointer is NULL");
        return -1;
    }
    memset(t, 0, sizeof *t);
    if (!bytes && len) {
        ir_errbuf(err, err_size, "onnx tensor: the bytes are NULL");
        return -1;
    }
    char msg[NB_OX_MSG_MAX];
    nb_onnx_error kind;
    nb_ox_const *k = NULL;
    Onnx__TensorProto *p = onnx__tensor_proto__unpack(&nb_ox_allocator, len, bytes);
    if (!p) {
        ir_errbuf(err, err_size,
                  "onnx tensor: not a TensorProto (malformed protobuf, or out of "
                  "memory)");
        return -1;
    }
    if (nb_ox_tensor_decode(p, &k, &kind, msg, sizeof msg) != 0) {
        ir_errbuf(err, err_size, "onnx tensor '%.200s': %s", p->name ? p->name : "", msg);
        goto fail;
    }
    if (nb_onnx_type_dtype(k->type) < 0) {
        ir_errbuf(err, err_size, "onnx tensor '%.200s': its type %s is not supported",
                  p->name ? p->name : "", nb_onnx_type_name(k->type));
        goto fail;
    }
    t->name = ir_strdup(p->name ? p->name : "");
    t->data = ir_malloc((k->numel ? (size_t)k->numel : 1) * sizeof *t->data);
    if (!t->name || !t->data) {
        ir_errbuf(err, err_size, "onnx tensor: out of memory");
        goto fail;
    }
    for (int64_t j = 0; j < k->numel; j++) {
        double v = nb_ox_const_get(k, j);
        if (!k->f && fabs(v) > NB_OX_EXACT_MAX) {
            ir_errbuf(err, err_size, "onnx tensor '%.200s': element %lld (%lld) is outside +-2^53",
                      t->name, (long long)j, (long long)k->i[j]);
            goto fail;
        }
        t->data[j] = v;
    }
    t->type = k->type;
    t->rank = k->rank;
    memcpy(t->dims, k->dims, sizeof t->dims);
    t->numel = k->numel;
    nb_ox_const_free(k);
    onnx__tensor_proto__free_unpacked(p, &nb_ox_allocator);
    return 0;
fail:
    nb_ox_const_free(k);
    onnx__tensor_proto__free_unpacked(p, &nb_ox_allocator);
    nb_onnx_tensor_free(t);
    return -1;
}
