/* nb_npy.c — the reader of NumPy's .npy files (format versions 1, 2 and 3): the magic
 * and version, the header (a Python dict literal: 'descr', 'fortran_order', 'shape'),
 * then the array's bytes, converted to host byte order. Every byte is untrusted. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ir.h"
#include "nabla.h"

/* "\x93NUMPY", then the major and minor version bytes. */
static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

/* A header longer than this is refused (numpy writes a few hundred bytes; its own
 * reader refuses more than 10,000 unless asked). */
#define NPY_HEADER_MAX 65536u

/* The element types read, by their descr without the byte-order character. An int64
 * array (numpy's default integer) is read as i32 when every value fits. */
static const struct {
    const char *code;
    nb_dtype dtype;
    size_t size; /* in the file */
} npy_types[] = {
    {"f4", NB_F32, 4}, {"f8", NB_F64, 8}, {"i4", NB_I32, 4}, {"i8", NB_I32, 8}, {"b1", NB_BOOL, 1}};

#define N_NPY_TYPES (int)(sizeof npy_types / sizeof npy_types[0])

/* The header's dict as it is parsed. */
typedef struct npy_cursor {
    const char *s, *end;
    char *err;
    size_t err_size;
} npy_cursor;

static void skip_space(npy_cursor *c)
{
    while (c->s < c->end && (*c->s == ' ' || *c->s == '\t' || *c->s == '\n' || *c->s == '\r'))
        c->s++;
}

/* Offset of the cursor in the header, for messages. */
#define AT(c, h) ((long)((c)->s - (h)))

/* Expects the character ch (after spaces). */
static int expect(npy_cursor *c, const char *h, char ch)
{
    skip_space(c);
    if (c->s >= c->end || *c->s != ch) {
        ir_errbuf(c->err, c->err_size, "header byte %ld: expected '%c'", AT(c, h), ch);
        return -1;
    }
    c->s++;
    return 0;
}

/* A Python string literal in ' or " without escapes, copied to buf[size]. */
static int string_lit(npy_cursor *c, const char *h, char *buf, size_t size)
{
    skip_space(c);
    if (c->s >= c->end || (*c->s != '\'' && *c->s != '"')) {
        ir_errbuf(c->err, c->err_size, "header byte %ld: expected a quoted string", AT(c, h));
        return -1;
    }
    char q = *c->s++;
    size_t n = 0;
    while (c->s < c->end && *c->s != q) {
        if (*c->s == '\\' || n + 1 >= size) {
            ir_errbuf(c->err, c->err_size, "header byte %ld: a string too long or with escapes",
                      AT(c, h));
            return -1;
        }
        buf[n++] = *c->s++;
    }
    if (c->s >= c->end) {
        ir_errbuf(c->err, c->err_size, "header: a string is not closed");
        return -1;
    }
    c->s++;
    buf[n] = 0;
    return 0;
}

/* The shape tuple: "()", "(3,)", "(2, 3)", numbers maybe with Python 2's L suffix. */
static int shape_lit(npy_cursor *c, const char *h, nb_npy *out)
{
    if (expect(c, h, '(') != 0)
        return -1;
    out->rank = 0;
    for (;;) {
        skip_space(c);
        if (c->s < c->end && *c->s == ')') {
            c->s++;
            return 0;
        }
        if (c->s >= c->end || *c->s < '0' || *c->s > '9') {
            ir_errbuf(c->err, c->err_size, "header byte %ld: expected a dimension or ')'",
                      AT(c, h));
            return -1;
        }
        if (out->rank == NB_MAX_RANK) {
            ir_errbuf(c->err, c->err_size, "the array has more than %d dimensions", NB_MAX_RANK);
            return -1;
        }
        int64_t v = 0;
        while (c->s < c->end && *c->s >= '0' && *c->s <= '9') {
            if (v > (INT64_MAX - 9) / 10) {
                ir_errbuf(c->err, c->err_size, "header byte %ld: a dimension is too large",
                          AT(c, h));
                return -1;
            }
            v = v * 10 + (*c->s++ - '0');
        }
        if (c->s < c->end && *c->s == 'L')
            c->s++;
        out->shape[out->rank++] = v;
        skip_space(c);
        if (c->s < c->end && *c->s == ',')
            c->s++;
        else if (c->s >= c->end || *c->s != ')') {
            ir_errbuf(c->err, c->err_size, "header byte %ld: expected ',' or ')' in the shape",
                      AT(c, h));
            return -1;
        }
    }
}

/* Parses the header dict into out->rank/shape, *type (an npy_types index), *swap (the
 * file's byte order is not the host's). 0, or -1 with err. */
static int parse_header(const char *h, size_t len, nb_npy *out, int *type, int *swap, char *err,
                        size_t err_size)
{
    npy_cursor c = {h, h + len, err, err_size};
    int seen_descr = 0, seen_order = 0, seen_shape = 0;
    if (expect(&c, h, '{') != 0)
        return -1;
    for (;;) {
        skip_space(&c);
        if (c.s < c.end && *c.s == '}') {
            c.s++;
            break;
        }
        char key[32], descr[16];
        if (string_lit(&c, h, key, sizeof key) != 0 || expect(&c, h, ':') != 0)
            return -1;
        if (strcmp(key, "descr") == 0 && !seen_descr++) {
            if (string_lit(&c, h, descr, sizeof descr) != 0)
                return -1;
            const uint16_t one = 1;
            unsigned char little;
            memcpy(&little, &one, 1);
            char order = descr[0];
            const char *code =
                order == '<' || order == '>' || order == '|' || order == '=' ? descr + 1 : descr;
            *type = -1;
            for (int i = 0; i < N_NPY_TYPES; i++)
                if (strcmp(code, npy_types[i].code) == 0)
                    *type = i;
            if (*type < 0) {
                ir_errbuf(err, err_size,
                          "the element type '%s' is not one nabla reads (f4, f8, i4, i8 as i32, "
                          "b1: float32, float64, int32, int64, bool)",
                          descr);
                return -1;
            }
            *swap = npy_types[*type].size > 1 &&
                    ((order == '>' && little) || (order == '<' && !little));
        } else if (strcmp(key, "fortran_order") == 0 && !seen_order++) {
            skip_space(&c);
            if ((size_t)(c.end - c.s) >= 5 && memcmp(c.s, "False", 5) == 0) {
                c.s += 5;
            } else if ((size_t)(c.end - c.s) >= 4 && memcmp(c.s, "True", 4) == 0) {
                ir_errbuf(err, err_size,
                          "the array is in Fortran order; save a C-ordered one "
                          "(numpy.ascontiguousarray)");
                return -1;
            } else {
                ir_errbuf(err, err_size, "header byte %ld: fortran_order is not True or False",
                          AT(&c, h));
                return -1;
            }
        } else if (strcmp(key, "shape") == 0 && !seen_shape++) {
            if (shape_lit(&c, h, out) != 0)
                return -1;
        } else {
            ir_errbuf(err, err_size, "header: the key '%s' is unknown or repeated", key);
            return -1;
        }
        skip_space(&c);
        if (c.s < c.end && *c.s == ',')
            c.s++;
        else if (c.s >= c.end || *c.s != '}') {
            ir_errbuf(err, err_size, "header byte %ld: expected ',' or '}'", AT(&c, h));
            return -1;
        }
    }
    skip_space(&c);
    if (c.s != c.end) {
        ir_errbuf(err, err_size, "header byte %ld: text after the dict", AT(&c, h));
        return -1;
    }
    if (!seen_descr || !seen_order || !seen_shape) {
        ir_errbuf(err, err_size, "header: '%s' is missing",
                  !seen_descr   ? "descr"
                  : !seen_order ? "fortran_order"
                                : "shape");
        return -1;
    }
    return 0;
}

/* Copies n elements of the file (type t) to out's data in host order and nabla's dtype. */
static int convert(const unsigned char *src, size_t n, int t, int swap, nb_npy *out, char *err,
                   size_t err_size)
{
    size_t fs = npy_types[t].size;
    unsigned char *dst = out->data;
    for (size_t i = 0; i < n; i++, src += fs) {
        unsigned char v[8];
        for (size_t b = 0; b < fs; b++)
            v[b] = swap ? src[fs - 1 - b] : src[b];
        if (npy_types[t].dtype == NB_BOOL) {
            if (v[0] > 1) {
                ir_errbuf(err, err_size, "bool element %zu is %u, not 0 or 1", i, v[0]);
                return -1;
            }
            dst[i] = v[0];
        } else if (fs == 8 && npy_types[t].dtype == NB_I32) {
            int64_t w;
            memcpy(&w, v, 8);
            if (w < INT32_MIN || w > INT32_MAX) {
                ir_errbuf(err, err_size, "int64 element %zu is %lld, which an i32 cannot hold", i,
                          (long long)w);
                return -1;
            }
            int32_t x = (int32_t)w;
            memcpy(dst + 4 * i, &x, 4);
        } else {
            memcpy(dst + fs * i, v, fs);
        }
    }
    return 0;
}

int nb_npy_parse(const void *bytes, size_t len, nb_npy *out, char *err, size_t err_size)
{
    if (!out) {
        ir_errbuf(err, err_size, "npy: out is NULL");
        return -1;
    }
    memset(out, 0, sizeof *out);
    const unsigned char *b = bytes;
    if (!b || len < 10 || memcmp(b, npy_magic, sizeof npy_magic) != 0) {
        ir_errbuf(err, err_size, "not a .npy file (no \\x93NUMPY magic)");
        return -1;
    }
    int major = b[6];
    size_t hlen, at;
    if (major == 1) {
        hlen = (size_t)b[8] | (size_t)b[9] << 8;
        at = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12) {
            ir_errbuf(err, err_size, "the file ends inside its header length");
            return -1;
        }
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        at = 12;
    } else {
        ir_errbuf(err, err_size, "format version %d.%d is not 1, 2 or 3", major, b[7]);
        return -1;
    }
    if (hlen > NPY_HEADER_MAX || hlen > len - at) {
        ir_errbuf(err, err_size, "the header length %zu is %s", hlen,
                  hlen > NPY_HEADER_MAX ? "over the limit of 65536 bytes"
                                        : "past the end of the file");
        return -1;
    }
    int type = -1, swap = 0;
    if (parse_header((const char *)b + at, hlen, out, &type, &swap, err, err_size) != 0) {
        memset(out, 0, sizeof *out);
        return -1;
    }
    int64_t numel = ir_shape_numel(out->rank, out->shape);
    size_t fs = npy_types[type].size, have = len - at - hlen;
    if (numel < 0 || (uint64_t)numel > SIZE_MAX / fs) {
        ir_errbuf(err, err_size, "the shape has too many elements");
        memset(out, 0, sizeof *out);
        return -1;
    }
    if ((size_t)numel * fs != have) {
        ir_errbuf(err, err_size, "the data is %zu bytes, but the shape needs %zu", have,
                  (size_t)numel * fs);
        memset(out, 0, sizeof *out);
        return -1;
    }
    out->dtype = npy_types[type].dtype;
    out->nbytes = (size_t)numel * nb_dtype_size(out->dtype);
    out->data = ir_malloc(out->nbytes ? out->nbytes : 1);
    if (!out->data) {
        ir_errbuf(err, err_size, "out of memory");
        memset(out, 0, sizeof *out);
        return -1;
    }
    if (convert(b + at + hlen, (size_t)numel, type, swap, out, err, err_size) != 0) {
        nb_npy_free(out);
        return -1;
    }
    return 0;
}

int nb_npy_read(const char *path, nb_npy *out, char *err, size_t err_size)
{
    char why[400] = "";
    if (out)
        memset(out, 0, sizeof *out);
    if (!path || !out) {
        ir_errbuf(err, err_size, "npy: %s is NULL", !path ? "path" : "out");
        return -1;
    }
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    struct stat st;
    int rc = -1;
    if (!f) {
        ir_errbuf(err, err_size, "'%.300s': cannot open it: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        ir_errbuf(err, err_size, "'%.300s': not a regular file", path);
        goto done;
    }
    size_t len = (size_t)st.st_size;
    if ((off_t)len != st.st_size || !(buf = ir_malloc(len ? len : 1))) {
        ir_errbuf(err, err_size, "'%.300s': out of memory", path);
        goto done;
    }
    if (fread(buf, 1, len, f) != len) {
        ir_errbuf(err, err_size, "'%.300s': reading it failed", path);
        goto done;
    }
    if (nb_npy_parse(buf, len, out, why, sizeof why) != 0) {
        ir_errbuf(err, err_size, "'%.300s': %s", path, why);
        goto done;
    }
    rc = 0;
done:
    free(buf);
    fclose(f);
    return rc;
}

void nb_npy_free(nb_npy *x)
{
    if (!x)
        return;
    free(x->data);
    memset(x, 0, sizeof *x);
}
