/* nb_idx.c — the IDX file reader (the MNIST family), plain or gzip through zlib, and the
 * conversions of its contents to the f32 images and i32 labels that training needs. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "ir.h"
#include "nabla.h"

/* Reads are done in chunks of this size; the buffer grows by doubling from it, capped at
 * the size the header announces, so memory follows the bytes actually present. */
#define IDX_CHUNK ((size_t)1 << 20)

static void set_err(char *err, size_t size, const char *fmt, ...)
{
    if (!err || size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, size, fmt, ap);
    va_end(ap);
}

size_t nb_idx_type_size(int type)
{
    switch (type) {
    case NB_IDX_U8: return 1;
    case NB_IDX_I8: return 1;
    case NB_IDX_I16: return 2;
    case NB_IDX_I32: return 4;
    case NB_IDX_F32: return 4;
    case NB_IDX_F64: return 8;
    default: return 0;
    }
}

int64_t nb_idx_numel(const nb_idx *x)
{
    if (!x || x->rank < 1 || x->rank > NB_MAX_RANK)
        return 0;
    int64_t n = 1;
    for (int i = 0; i < x->rank; i++) {
        if (x->shape[i] < 1 || n > INT64_MAX / x->shape[i])
            return 0; /* not a shape nb_idx_read makes */
        n *= x->shape[i];
    }
    return n;
}

void nb_idx_free(nb_idx *x)
{
    if (!x)
        return;
    free(x->data);
    memset(x, 0, sizeof *x);
}

/* zlib's message for the file's last error, without the path zlib puts in front. */
static const char *gz_message(gzFile f, const char *path, int *code)
{
    const char *msg = gzerror(f, code);
    size_t len = strlen(path);
    if (strncmp(msg, path, len) == 0 && msg[len] == ':' && msg[len + 1] == ' ')
        msg += len + 2;
    return msg;
}

/* Reads up to len bytes, looping over short reads; returns the count read, or -1 on a
 * zlib error (message in err). Stops early only at the end of the input. */
static long long gz_read_full(gzFile f, void *buf, size_t len, const char *path, char *err,
                              size_t err_size)
{
    size_t done = 0;
    while (done < len) {
        size_t want = len - done < IDX_CHUNK ? len - done : IDX_CHUNK;
        int got = gzread(f, (unsigned char *)buf + done, (unsigned)want);
        if (got < 0) {
            int code;
            const char *msg = gz_message(f, path, &code);
            set_err(err, err_size,
                    code == Z_ERRNO ? "%s: read error (%s)" : "%s: damaged gzip data (%s)", path,
                    msg);
            return -1;
        }
        if (got == 0)
            break;
        done += (size_t)got;
    }
    return (long long)done;
}

/* gzread returns a short count, not an error, when a gzip stream is cut off; zlib then
 * records Z_BUF_ERROR. Returns -1 with a message when that happened. */
static int gz_check_truncated(gzFile f, const char *path, char *err, size_t err_size)
{
    int code = Z_OK;
    const char *msg = gz_message(f, path, &code);
    if (code != Z_OK) {
        set_err(err, err_size,
                code == Z_BUF_ERROR ? "%s: truncated gzip data (%s)" : "%s: damaged gzip data (%s)",
                path, msg);
        return -1;
    }
    return 0;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Rewrites the big-endian elements of buf in host order, byte by byte, so the result
 * does not depend on the host's endianness. */
static void idx_to_host(void *buf, size_t n, size_t size)
{
    unsigned char *p = buf;
    for (size_t i = 0; i < n; i++, p += size) {
        if (size == 2) {
            uint16_t v = (uint16_t)(p[0] << 8 | p[1]);
            memcpy(p, &v, 2);
        } else if (size == 4) {
            uint32_t v = be32(p);
            memcpy(p, &v, 4);
        } else if (size == 8) {
            uint64_t v = (uint64_t)be32(p) << 32 | be32(p + 4);
            memcpy(p, &v, 8);
        }
    }
}

int nb_idx_read(const char *path, nb_idx *out, char *err, size_t err_size)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!path || !out) {
        set_err(err, err_size, "nb_idx_read: path and out must not be NULL");
        return -1;
    }
    unsigned char *data = NULL;
    errno = 0;
    gzFile f = gzopen(path, "rb");
    if (!f) {
        /* gzopen leaves errno set when the open itself failed. */
        set_err(err, err_size, "%s: cannot open (%s)", path,
                errno ? strerror(errno) : "out of memory");
        return -1;
    }
    gzbuffer(f, 1 << 16);

    unsigned char head[4 + 4 * NB_MAX_RANK];
    long long got = gz_read_full(f, head, 4, path, err, err_size);
    if (got < 0)
        goto fail;
    if (got == 0) {
        if (gz_check_truncated(f, path, err, err_size) == 0)
            set_err(err, err_size, "%s: empty file", path);
        goto fail;
    }
    if (got < 4) {
        set_err(err, err_size, "%s: truncated header (%lld bytes)", path, got);
        goto fail;
    }
    if (head[0] != 0 || head[1] != 0) {
        set_err(err, err_size,
                "%s: not an IDX file (magic starts with 0x%02x 0x%02x, expected 0x00 0x00)", path,
                head[0], head[1]);
        goto fail;
    }
    int type = head[2], rank = head[3];
    size_t size = nb_idx_type_size(type);
    if (size == 0) {
        set_err(err, err_size,
                "%s: unknown IDX element type 0x%02x (expected 0x08, 0x09, 0x0b, 0x0c, 0x0d or "
                "0x0e)",
                path, type);
        goto fail;
    }
    if (rank < 1 || rank > NB_MAX_RANK) {
        set_err(err, err_size, "%s: IDX rank %d is not supported (1 to %d)", path, rank,
                NB_MAX_RANK);
        goto fail;
    }
    got = gz_read_full(f, head + 4, 4 * (size_t)rank, path, err, err_size);
    if (got < 0)
        goto fail;
    if (got < 4 * rank) {
        if (gz_check_truncated(f, path, err, err_size) == 0)
            set_err(err, err_size, "%s: truncated header (%d dimensions announced)", path, rank);
        goto fail;
    }

    /* The announced size, checked for overflow before anything is allocated: it must fit
     * a size_t (the buffer) and an int64_t (the shape and numel). */
    uint64_t limit = (uint64_t)INT64_MAX < SIZE_MAX ? (uint64_t)INT64_MAX : (uint64_t)SIZE_MAX;
    uint64_t total = size;
    for (int i = 0; i < rank; i++) {
        uint32_t d = be32(head + 4 + 4 * i);
        if (d == 0) {
            set_err(err, err_size, "%s: dimension %d is 0", path, i);
            goto fail;
        }
        if (total > limit / d) {
            set_err(err, err_size, "%s: the dimensions announce more data than can be addressed",
                    path);
            goto fail;
        }
        total *= d;
        out->shape[i] = d;
    }

    /* Grow with the data: a header that lies about the size fails on the short read
     * after at most about twice the bytes really present have been allocated. */
    size_t cap = 0, have = 0;
    while (have < total) {
        if (have == cap) {
            size_t next = cap ? 2 * cap : IDX_CHUNK;
            if (next > total || next < cap)
                next = (size_t)total;
            unsigned char *grown = ir_realloc(data, next);
            if (!grown) {
                set_err(err, err_size, "%s: out of memory (%zu bytes)", path, next);
                goto fail;
            }
            data = grown;
            cap = next;
        }
        got = gz_read_full(f, data + have, cap - have, path, err, err_size);
        if (got < 0)
            goto fail;
        have += (size_t)got;
        if (have < cap)
            break; /* end of input */
    }
    if (have < total) {
        if (gz_check_truncated(f, path, err, err_size) == 0)
            set_err(err, err_size,
                    "%s: truncated data: the header announces %llu bytes of data, the file "
                    "holds %zu",
                    path, (unsigned long long)total, have);
        goto fail;
    }
    /* One more byte tells trailing garbage apart from a clean end, and makes zlib check
     * the gzip trailer (CRC and length). */
    unsigned char extra;
    got = gz_read_full(f, &extra, 1, path, err, err_size);
    if (got < 0)
        goto fail;
    if (got > 0) {
        set_err(err, err_size, "%s: unexpected bytes after the %llu bytes of data", path,
                (unsigned long long)total);
        goto fail;
    }
    if (gz_check_truncated(f, path, err, err_size) != 0)
        goto fail;
    int rc = gzclose_r(f);
    f = NULL;
    if (rc != Z_OK) {
        set_err(err, err_size, "%s: error while closing (zlib code %d)", path, rc);
        goto fail;
    }

    idx_to_host(data, (size_t)(total / size), size);
    out->type = type;
    out->rank = rank;
    out->data = data;
    out->nbytes = (size_t)total;
    return 0;

fail:
    if (f)
        gzclose_r(f);
    free(data);
    memset(out, 0, sizeof *out);
    return -1;
}

/* y[i] = (float)x[i] / divisor for every element; one loop per type keeps the 47 million
 * pixels of Fashion-MNIST quick. Converting to float first, then dividing in float, is
 * what x.float() / d does in PyTorch: the results are bit-identical. */
#define IDX_TO_F32(T)                                                                              \
    for (size_t i = 0; i < n; i++)                                                                 \
        y[i] = (float)((const T *)x->data)[i] / divisor;

static void idx_convert_f32(const nb_idx *x, size_t n, float divisor, float *y)
{
    switch (x->type) {
    case NB_IDX_U8: IDX_TO_F32(unsigned char) break;
    case NB_IDX_I8: IDX_TO_F32(signed char) break;
    case NB_IDX_I16: IDX_TO_F32(int16_t) break;
    case NB_IDX_I32: IDX_TO_F32(int32_t) break;
    case NB_IDX_F32: IDX_TO_F32(float) break;
    case NB_IDX_F64: IDX_TO_F32(double) break;
    default: break;
    }
}

#define IDX_TO_I32(T)                                                                              \
    for (size_t i = 0; i < n; i++)                                                                 \
        y[i] = (int32_t)((const T *)x->data)[i];

static void idx_convert_i32(const nb_idx *x, size_t n, int32_t *y)
{
    switch (x->type) {
    case NB_IDX_U8: IDX_TO_I32(unsigned char) break;
    case NB_IDX_I8: IDX_TO_I32(signed char) break;
    case NB_IDX_I16: IDX_TO_I32(int16_t) break;
    case NB_IDX_I32: IDX_TO_I32(int32_t) break;
    default: break;
    }
}

/* Checks that x is a filled struct whose size agrees with its shape and type. */
static int idx_valid(const nb_idx *x, const char *fn, char *err, size_t err_size)
{
    size_t size = x ? nb_idx_type_size(x->type) : 0;
    int64_t n = nb_idx_numel(x);
    if (!x || !x->data || size == 0 || n < 1 || (uint64_t)n * size != x->nbytes) {
        set_err(err, err_size, "%s: not a loaded IDX file", fn);
        return -1;
    }
    return 0;
}

float *nb_idx_to_f32(const nb_idx *x, float divisor, char *err, size_t err_size)
{
    if (idx_valid(x, "nb_idx_to_f32", err, err_size) != 0)
        return NULL;
    size_t n = (size_t)nb_idx_numel(x);
    float *y = ir_malloc(n * sizeof *y);
    if (!y) {
        set_err(err, err_size, "nb_idx_to_f32: out of memory");
        return NULL;
    }
    idx_convert_f32(x, n, divisor, y);
    return y;
}

float *nb_idx_images_f32(const nb_idx *x, int64_t *n, int64_t *dim, char *err, size_t err_size)
{
    if (idx_valid(x, "nb_idx_images_f32", err, err_size) != 0)
        return NULL;
    if (x->type != NB_IDX_U8) {
        set_err(err, err_size, "nb_idx_images_f32: images must be u8 (type 0x08), not 0x%02x",
                x->type);
        return NULL;
    }
    float *y = nb_idx_to_f32(x, 255.0f, err, err_size);
    if (!y)
        return NULL;
    if (n)
        *n = x->shape[0];
    if (dim)
        *dim = nb_idx_numel(x) / x->shape[0];
    return y;
}

int32_t *nb_idx_labels_i32(const nb_idx *x, int64_t *n, char *err, size_t err_size)
{
    if (idx_valid(x, "nb_idx_labels_i32", err, err_size) != 0)
        return NULL;
    if (x->type == NB_IDX_F32 || x->type == NB_IDX_F64) {
        set_err(err, err_size, "nb_idx_labels_i32: labels must have an integer type, not 0x%02x",
                x->type);
        return NULL;
    }
    if (x->rank != 1) {
        set_err(err, err_size, "nb_idx_labels_i32: labels must have rank 1, not %d", x->rank);
        return NULL;
    }
    size_t count = (size_t)x->shape[0];
    int32_t *y = ir_malloc(count * sizeof *y);
    if (!y) {
        set_err(err, err_size, "nb_idx_labels_i32: out of memory");
        return NULL;
    }
    idx_convert_i32(x, count, y);
    if (n)
        *n = x->shape[0];
    return y;
}
