/* fuzz_idx.c — fuzz target for nb_idx_read, the reader of untrusted IDX files (plain or
 * gzip). Properties checked on every input: no crash, leak or sanitizer report; a
 * refused file leaves the struct zeroed with a message naming the file; an accepted
 * file's size agrees with its shape and type, and its conversions work; and the input
 * gzip-compressed reads the same as the input itself (accepted with the same bytes, or
 * refused), so every mutation reaches the gzip path too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "fuzz.h"
#include "nabla.h"

/* data as a gzip file (one member), in new memory; NULL when zlib fails. */
static unsigned char *gzip_of(const uint8_t *data, size_t size, size_t *len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    size_t cap = deflateBound(&z, (uLong)size) + 32;
    unsigned char *out = malloc(cap);
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)size;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int rc = out ? deflate(&z, Z_FINISH) : Z_MEM_ERROR;
    *len = cap - z.avail_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

/* Reads data compressed and compares with the plain read (rc, x). */
static void check_gzip_agrees(const uint8_t *data, size_t size, int rc, const nb_idx *x)
{
    size_t len = 0;
    unsigned char *gz = gzip_of(data, size, &len);
    if (!gz)
        abort();
    const char *path = fuzz_scratch("in.idx.gz", gz, len);
    free(gz);
    nb_idx y;
    char err[512] = "";
    int rc_gz = nb_idx_read(path, &y, err, sizeof err);
    if (getenv("NABLA_FUZZ_VERBOSE"))
        fprintf(stderr, "  gzip: %s\n", rc_gz == 0 ? "accepted" : err);
    if (rc_gz != rc)
        abort();
    if (rc == 0 &&
        (y.type != x->type || y.rank != x->rank || y.nbytes != x->nbytes ||
         memcmp(y.shape, x->shape, sizeof y.shape) != 0 || memcmp(y.data, x->data, x->nbytes) != 0))
        abort();
    nb_idx_free(&y);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_scratch("in.idx", data, size);
    nb_idx x;
    char err[512] = "";
    int rc = nb_idx_read(path, &x, err, sizeof err);
    if (getenv("NABLA_FUZZ_VERBOSE"))
        fprintf(stderr, "%s\n", rc == 0 ? "accepted" : err);
    /* An input that is itself gzip differs from its compressed form on purpose. */
    if (size < 2 || data[0] != 0x1f || data[1] != 0x8b)
        check_gzip_agrees(data, size, rc, &x);
    if (rc != 0) {
        if (x.data || x.rank || x.nbytes || !strstr(err, path))
            abort();
        return 0;
    }
    int64_t n = nb_idx_numel(&x);
    if (n < 1 || (uint64_t)n * nb_idx_type_size(x.type) != x.nbytes)
        abort();
    float *f = nb_idx_to_f32(&x, 255.0f, err, sizeof err);
    if (!f)
        abort();
    free(f);
    int64_t count = 0, dim = 0;
    f = nb_idx_images_f32(&x, &count, &dim, err, sizeof err);
    if (f && count * dim != n)
        abort();
    free(f);
    int32_t *l = nb_idx_labels_i32(&x, &count, err, sizeof err);
    if (l && count != n)
        abort();
    free(l);
    nb_idx_free(&x);
    return 0;
}
