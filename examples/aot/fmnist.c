/* fmnist.c — Fashion-MNIST's gzip IDX files read with zlib alone (fmnist.h). */
#include "fmnist.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#define FM_PATH_MAX 4096
#define FM_MAX_ITEMS 10000000L /* more images than any IDX file of this kind holds */

/* Reads exactly n bytes; 0, or -1 when the stream ends early or is damaged. */
static int gz_read_all(gzFile f, void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        unsigned chunk = n > (1u << 30) ? 1u << 30 : (unsigned)n;
        int got = gzread(f, p, chunk);
        if (got <= 0)
            return -1;
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

/* The unsigned bytes of an IDX file of the given rank whose first dimension is n and
 * whose other dimensions multiply to item (item = 1 for rank 1); malloc'ed, or NULL with
 * a message in err. */
static unsigned char *idx_read(const char *path, int rank, long item, long *n, char *err,
                               size_t err_size)
{
    unsigned char *data = NULL, head[4 + 4 * 3], extra;
    errno = 0;
    gzFile f = gzopen(path, "rb");
    if (!f) {
        snprintf(err, err_size, "%s: cannot open: %s", path, errno ? strerror(errno) : "gzopen");
        return NULL;
    }
    if (gz_read_all(f, head, 4 + 4 * (size_t)rank) != 0) {
        snprintf(err, err_size, "%s: shorter than an IDX header", path);
        goto fail;
    }
    if (head[0] != 0 || head[1] != 0 || head[2] != 0x08 || head[3] != rank) {
        snprintf(err, err_size, "%s: not an IDX file of unsigned bytes of rank %d", path, rank);
        goto fail;
    }
    long dims[3], rest = 1;
    for (int d = 0; d < rank; d++) {
        const unsigned char *b = head + 4 + 4 * d;
        dims[d] = (long)(((unsigned long)b[0] << 24) | ((unsigned long)b[1] << 16) |
                         ((unsigned long)b[2] << 8) | b[3]);
        if (d > 0)
            rest *= dims[d];
    }
    if (dims[0] < 1 || dims[0] > FM_MAX_ITEMS || rest != item) {
        snprintf(err, err_size, "%s: %ld items of %ld bytes, expected items of %ld", path, dims[0],
                 rest, item);
        goto fail;
    }
    data = malloc((size_t)dims[0] * (size_t)item);
    if (!data) {
        snprintf(err, err_size, "%s: out of memory", path);
        goto fail;
    }
    if (gz_read_all(f, data, (size_t)dims[0] * (size_t)item) != 0) {
        snprintf(err, err_size, "%s: shorter than its header says, or damaged", path);
        goto fail;
    }
    if (gzread(f, &extra, 1) != 0) {
        snprintf(err, err_size, "%s: bytes after the data, or damaged", path);
        goto fail;
    }
    gzclose(f);
    *n = dims[0];
    return data;
fail:
    free(data);
    gzclose(f);
    return NULL;
}

int fm_load(const char *dir, const char *which, fm_set *set, char *err, size_t err_size)
{
    char path[FM_PATH_MAX];
    unsigned char *img = NULL, *lab = NULL;
    long n_img = 0, n_lab = 0;
    memset(set, 0, sizeof *set);
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte.gz", dir, which);
    if (!(img = idx_read(path, 3, FM_PIXELS, &n_img, err, err_size)))
        goto fail;
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte.gz", dir, which);
    if (!(lab = idx_read(path, 1, 1, &n_lab, err, err_size)))
        goto fail;
    if (n_img != n_lab) {
        snprintf(err, err_size, "%s/%s: %ld images but %ld labels", dir, which, n_img, n_lab);
        goto fail;
    }
    set->images = malloc((size_t)n_img * FM_PIXELS * sizeof *set->images);
    set->labels = malloc((size_t)n_img * sizeof *set->labels);
    if (!set->images || !set->labels) {
        snprintf(err, err_size, "%s/%s: out of memory", dir, which);
        goto fail;
    }
    for (long i = 0; i < n_img * FM_PIXELS; i++)
        set->images[i] = (float)img[i] / 255.0f;
    for (long i = 0; i < n_img; i++) {
        if (lab[i] >= FM_CLASSES) {
            snprintf(err, err_size, "%s: label %ld is %d, not a class below %d", path, i, lab[i],
                     FM_CLASSES);
            goto fail;
        }
        set->labels[i] = lab[i];
    }
    set->n = n_img;
    free(img);
    free(lab);
    return 0;
fail:
    free(img);
    free(lab);
    fm_free(set);
    return -1;
}

void fm_free(fm_set *set)
{
    free(set->images);
    free(set->labels);
    memset(set, 0, sizeof *set);
}

const char *fm_option_value(const char *prog, int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "%s: %s needs a value\n", prog, argv[*i]);
        return NULL;
    }
    *i += 1;
    return argv[*i];
}

long fm_positive(const char *prog, const char *opt, const char *s)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > 100000000) {
        fprintf(stderr, "%s: %s needs a positive integer, got '%s'\n", prog, opt, s);
        return -1;
    }
    return v;
}
