/* nb_idx.c — the IDX file reader (the MNIST family), plain or gzip through zlib's
 * inflate, and the conversions of its contents to the f32 images and i32 labels that
 * training needs. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <zlib.h>

#include "ir.h"
#include "nabla.h"

/* The data buffer starts at this size and grows by doubling, capped at the size the
 * header announces, so memory follows the bytes actually present. */
#define IDX_CHUNK ((size_t)1 << 20)
/* File bytes read at a time, and the most inflated by one call to inflate. */
#define IDX_IN_CHUNK ((size_t)1 << 16)
#define IDX_OUT_CHUNK ((size_t)1 << 20)
/* Deflate expands its input at most 1032 times (a 258-byte match per bit pair, RFC
 * 1951), so a gzip file of n bytes holds less than this many times n bytes. */
#define IDX_DEFLATE_MAX_RATIO 1040u

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
    for (int i = 0; i < x->rank; i++)
        if (x->shape[i] < 1)
            return 0; /* not a shape nb_idx_read makes */
    int64_t n = ir_shape_numel(x->rank, x->shape);
    return n > 0 ? n : 0; /* -1: too many elements to count */
}

void nb_idx_free(nb_idx *x)
{
    if (!x)
        return;
    free(x->data);
    memset(x, 0, sizeof *x);
}

/* The bytes of an IDX file as they come out of it: read as they are, or inflated with
 * zlib when the file starts with gzip's magic. Decompression only ever produces the
 * bytes asked for, so a file never inflates past the size its header declares (plus
 * the one byte that shows there is more), and zlib's memory comes from ir_malloc so
 * that its failures are reported like any other. */
typedef struct idx_src {
    FILE *f;
    const char *path;
    char *err;
    size_t err_size;
    int gzip;      /* 1 when inflating */
    int z_ready;   /* inflateInit2 succeeded: inflateEnd is due */
    int ended;     /* the last gzip member ended and nothing follows */
    int sized;     /* a regular file, whose size is known */
    uint64_t size; /* the file's size in bytes, when sized */
    uint64_t used; /* file bytes consumed before in[0] */
    z_stream z;
    unsigned char in[IDX_IN_CHUNK];
} idx_src;

static voidpf idx_zalloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    return ir_calloc(items, size);
}

static void idx_zfree(voidpf opaque, voidpf p)
{
    (void)opaque;
    free(p);
}

/* Moves the unread input to the front of the buffer and reads the file until at least
 * need bytes are there or the file ends. 0, or -1 on a read error (message set). */
static int src_fill(idx_src *s, size_t need)
{
    if (s->z.avail_in > 0 && s->z.next_in != s->in)
        memmove(s->in, s->z.next_in, s->z.avail_in);
    s->used += (uint64_t)(s->z.next_in - s->in);
    s->z.next_in = s->in;
    while (s->z.avail_in < need) {
        size_t got = fread(s->in + s->z.avail_in, 1, sizeof s->in - s->z.avail_in, s->f);
        if (got == 0) {
            if (ferror(s->f)) {
                ir_errbuf(s->err, s->err_size, "%s: read error (%s)", s->path, strerror(errno));
                return -1;
            }
            break;
        }
        s->z.avail_in += (uInt)got;
    }
    return 0;
}

/* Opens path and decides, from its first two bytes, whether it is gzip. */
static int src_open(idx_src *s, const char *path, char *err, size_t err_size)
{
    memset(s, 0, offsetof(idx_src, in));
    s->path = path;
    s->err = err;
    s->err_size = err_size;
    s->z.next_in = s->in;
    s->f = fopen(path, "rb");
    if (!s->f) {
        ir_errbuf(err, err_size, "%s: cannot open (%s)", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(s->f), &st) == 0 && S_ISREG(st.st_mode)) {
        s->sized = 1;
        s->size = (uint64_t)st.st_size;
    }
    if (src_fill(s, 2) != 0)
        return -1;
    s->gzip = s->z.avail_in >= 2 && s->in[0] == 0x1f && s->in[1] == 0x8b;
    if (!s->gzip)
        return 0;
    s->z.zalloc = idx_zalloc;
    s->z.zfree = idx_zfree;
    int rc = inflateInit2(&s->z, 16 + MAX_WBITS); /* gzip wrapper only */
    if (rc != Z_OK) {
        ir_errbuf(err, err_size, "%s: %s", path,
                  rc == Z_MEM_ERROR ? "out of memory" : "cannot start zlib");
        return -1;
    }
    s->z_ready = 1;
    return 0;
}

static void src_close(idx_src *s)
{
    if (s->z_ready)
        inflateEnd(&s->z);
    if (s->f)
        fclose(s->f);
}

/* At the end of a gzip member: another member may follow (the concatenation of gzip
 * files is gzip, as gunzip reads it); anything else after the gzip data is refused
 * rather than silently ignored. */
static int src_member_end(idx_src *s)
{
    if (src_fill(s, 2) != 0)
        return -1;
    if (s->z.avail_in == 0) {
        s->ended = 1;
        return 0;
    }
    if (s->z.avail_in >= 2 && s->in[0] == 0x1f && s->in[1] == 0x8b) {
        inflateReset(&s->z);
        return 0;
    }
    ir_errbuf(s->err, s->err_size,
              "%s: unexpected bytes after the end of the gzip data (at byte %llu)", s->path,
              (unsigned long long)s->used);
    return -1;
}

/* Reads up to len bytes of content into buf; returns the count, which is short only at
 * the end of the content, or -1 with the message set. */
static long long src_read(idx_src *s, unsigned char *buf, size_t len)
{
    size_t done = 0;
    if (!s->gzip) {
        size_t from_in = s->z.avail_in < len ? s->z.avail_in : len;
        memcpy(buf, s->z.next_in, from_in);
        s->z.next_in += from_in;
        s->z.avail_in -= (uInt)from_in;
        done = from_in;
        while (done < len) {
            size_t got = fread(buf + done, 1, len - done, s->f);
            if (got == 0) {
                if (ferror(s->f)) {
                    ir_errbuf(s->err, s->err_size, "%s: read error (%s)", s->path, strerror(errno));
                    return -1;
                }
                break;
            }
            done += got;
        }
        return (long long)done;
    }
    while (done < len && !s->ended) {
        if (s->z.avail_in == 0 && src_fill(s, 1) != 0)
            return -1;
        if (s->z.avail_in == 0) {
            ir_errbuf(s->err, s->err_size, "%s: truncated gzip data (unexpected end of file)",
                      s->path);
            return -1;
        }
        size_t want = len - done < IDX_OUT_CHUNK ? len - done : IDX_OUT_CHUNK;
        s->z.next_out = buf + done;
        s->z.avail_out = (uInt)want;
        int rc = inflate(&s->z, Z_NO_FLUSH);
        done += want - s->z.avail_out;
        if (rc == Z_STREAM_END) {
            if (src_member_end(s) != 0)
                return -1;
        } else if (rc == Z_MEM_ERROR) {
            ir_errbuf(s->err, s->err_size, "%s: out of memory", s->path);
            return -1;
        } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
            ir_errbuf(s->err, s->err_size, "%s: damaged gzip data (%s)", s->path,
                      s->z.msg ? s->z.msg : "inflate failed");
            return -1;
        }
    }
    return (long long)done;
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
        ir_errbuf(err, err_size, "nb_idx_read: path and out must not be NULL");
        return -1;
    }
    unsigned char *data = NULL;
    /* The source holds a 64 KiB input buffer: on the heap, not the caller's stack. */
    idx_src *src = ir_malloc(sizeof *src);
    if (!src) {
        ir_errbuf(err, err_size, "%s: out of memory", path);
        return -1;
    }
    if (src_open(src, path, err, err_size) != 0)
        goto fail;

    unsigned char head[4 + 4 * NB_MAX_RANK];
    long long got = src_read(src, head, 4);
    if (got < 0)
        goto fail;
    if (got == 0) {
        ir_errbuf(err, err_size, "%s: empty file", path);
        goto fail;
    }
    if (got < 4) {
        ir_errbuf(err, err_size, "%s: truncated header (%lld bytes)", path, got);
        goto fail;
    }
    if (head[0] != 0 || head[1] != 0) {
        ir_errbuf(err, err_size,
                  "%s: not an IDX file (magic starts with 0x%02x 0x%02x, expected 0x00 0x00)", path,
                  head[0], head[1]);
        goto fail;
    }
    int type = head[2], rank = head[3];
    size_t size = nb_idx_type_size(type);
    if (size == 0) {
        ir_errbuf(err, err_size,
                  "%s: unknown IDX element type 0x%02x (expected 0x08, 0x09, 0x0b, 0x0c, 0x0d or "
                  "0x0e)",
                  path, type);
        goto fail;
    }
    if (rank < 1 || rank > NB_MAX_RANK) {
        ir_errbuf(err, err_size, "%s: IDX rank %d is not supported (1 to %d)", path, rank,
                  NB_MAX_RANK);
        goto fail;
    }
    got = src_read(src, head + 4, 4 * (size_t)rank);
    if (got < 0)
        goto fail;
    if (got < 4 * rank) {
        ir_errbuf(err, err_size, "%s: truncated header (%d dimensions announced)", path, rank);
        goto fail;
    }

    /* The announced size, checked for overflow before anything is allocated: it must fit
     * a size_t (the buffer) and an int64_t (the shape and numel). */
    uint64_t limit = (uint64_t)INT64_MAX < SIZE_MAX ? (uint64_t)INT64_MAX : (uint64_t)SIZE_MAX;
    uint64_t total = size;
    for (int i = 0; i < rank; i++) {
        uint32_t d = be32(head + 4 + 4 * i);
        if (d == 0) {
            ir_errbuf(err, err_size, "%s: dimension %d is 0", path, i);
            goto fail;
        }
        if (total > limit / d) {
            ir_errbuf(err, err_size, "%s: the dimensions announce more data than can be addressed",
                      path);
            goto fail;
        }
        total *= d;
        out->shape[i] = d;
    }

    /* A size the file cannot hold is refused before anything is read or allocated: a
     * plain file must hold exactly the header and the data, a gzip file cannot inflate
     * to more than IDX_DEFLATE_MAX_RATIO times its size. */
    uint64_t head_len = 4 + 4 * (uint64_t)rank;
    if (src->sized && !src->gzip && src->size - head_len < total) {
        ir_errbuf(err, err_size,
                  "%s: truncated data: the header announces %llu bytes of data, the file "
                  "holds %llu",
                  path, (unsigned long long)total, (unsigned long long)(src->size - head_len));
        goto fail;
    }
    if (src->sized && src->gzip && (head_len + total) / IDX_DEFLATE_MAX_RATIO >= src->size) {
        ir_errbuf(err, err_size,
                  "%s: the header announces %llu bytes of data, more than a gzip file of %llu "
                  "bytes can hold",
                  path, (unsigned long long)total, (unsigned long long)src->size);
        goto fail;
    }

    /* Grow with the data: a gzip file (or a pipe) whose header lies about the size fails
     * on the short read after at most about twice the bytes really present have been
     * allocated, and never inflates more than the size announced. */
    size_t cap = 0, have = 0;
    while (have < total) {
        if (have == cap) {
            size_t next = cap ? 2 * cap : IDX_CHUNK;
            if (next > total || next < cap)
                next = (size_t)total;
            unsigned char *grown = ir_realloc(data, next);
            if (!grown) {
                ir_errbuf(err, err_size, "%s: out of memory (%zu bytes)", path, next);
                goto fail;
            }
            data = grown;
            cap = next;
        }
        got = src_read(src, data + have, cap - have);
        if (got < 0)
            goto fail;
        have += (size_t)got;
        if (have < cap)
            break; /* end of input */
    }
    if (have < total) {
        ir_errbuf(err, err_size,
                  "%s: truncated data: the header announces %llu bytes of data, the file "
                  "holds %zu",
                  path, (unsigned long long)total, have);
        goto fail;
    }
    /* One more byte tells trailing data apart from a clean end; for gzip, reading it
     * inflates to the end of the stream, which checks the trailer (CRC and length). */
    unsigned char extra;
    got = src_read(src, &extra, 1);
    if (got < 0)
        goto fail;
    if (got > 0) {
        ir_errbuf(err, err_size, "%s: unexpected bytes after the %llu bytes of data", path,
                  (unsigned long long)total);
        goto fail;
    }
    src_close(src);
    free(src);

    idx_to_host(data, (size_t)(total / size), size);
    out->type = type;
    out->rank = rank;
    out->data = data;
    out->nbytes = (size_t)total;
    return 0;

fail:
    src_close(src);
    free(src);
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
    size_t size = x ? nb_idx_type_size(x->type) : 0, bytes = 0;
    int64_t n = nb_idx_numel(x);
    /* The size of the f32 copy too, so the conversions below cannot wrap. */
    if (!x || !x->data || size == 0 || n < 1 || ir_size_mul((size_t)n, size, &bytes) != 0 ||
        bytes != x->nbytes || ir_size_mul((size_t)n, sizeof(float), &bytes) != 0) {
        ir_errbuf(err, err_size, "%s: not a loaded IDX file", fn);
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
        ir_errbuf(err, err_size, "nb_idx_to_f32: out of memory");
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
        ir_errbuf(err, err_size, "nb_idx_images_f32: images must be u8 (type 0x08), not 0x%02x",
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
        ir_errbuf(err, err_size, "nb_idx_labels_i32: labels must have an integer type, not 0x%02x",
                  x->type);
        return NULL;
    }
    if (x->rank != 1) {
        ir_errbuf(err, err_size, "nb_idx_labels_i32: labels must have rank 1, not %d", x->rank);
        return NULL;
    }
    size_t count = (size_t)x->shape[0];
    int32_t *y = ir_malloc(count * sizeof *y);
    if (!y) {
        ir_errbuf(err, err_size, "nb_idx_labels_i32: out of memory");
        return NULL;
    }
    idx_convert_i32(x, count, y);
    if (n)
        *n = x->shape[0];
    return y;
}
