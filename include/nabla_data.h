/* nabla_data.h — nabla's data-set helpers (data/; docs/data.md): IDX and NumPy .npy
 * readers, minibatches. Not a compiler layer: they touch no graph or program. Included
 * by nabla.h, which defines the types they use (nb_dtype, NB_MAX_RANK). */
#ifndef NABLA_DATA_H
#define NABLA_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "nabla.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- data: IDX files and minibatches (data/; docs/data.md) ------------------------- */
/* See docs/data.md. The readers and helpers below do not touch graphs or programs. */

/* IDX element types: the type byte of the file. */
typedef enum nb_idx_type {
    NB_IDX_U8 = 0x08,  /* unsigned char */
    NB_IDX_I8 = 0x09,  /* signed char */
    NB_IDX_I16 = 0x0B, /* int16_t */
    NB_IDX_I32 = 0x0C, /* int32_t */
    NB_IDX_F32 = 0x0D, /* float */
    NB_IDX_F64 = 0x0E  /* double */
} nb_idx_type;

/* A whole IDX file in memory: data holds numel values of the type in host byte order,
 * row-major, nbytes in all. Dimensions are positive; rank is 1..NB_MAX_RANK. */
typedef struct nb_idx {
    int type; /* an nb_idx_type */
    int rank;
    int64_t shape[NB_MAX_RANK];
    void *data;
    size_t nbytes;
} nb_idx;

/* Reads an IDX file, plain or gzip-compressed (detected from its content, not its
 * name). Returns 0 and fills *out (free it with nb_idx_free), or -1 with *out zeroed
 * and a message naming the file in err (err may be NULL). Malformed files are errors:
 * bad magic, unknown type, rank 0 or > NB_MAX_RANK, a zero dimension, a size that
 * overflows, data shorter than the header says, bytes after the data, gzip damage.
 * Memory grows with the data actually read, never with an unchecked header size. */
int nb_idx_read(const char *path, nb_idx *out, char *err, size_t err_size);
/* Frees the data and zeroes *x; NULL and zeroed structs are fine. */
void nb_idx_free(nb_idx *x);
/* Number of elements (product of the shape); 0 for a zeroed struct. */
int64_t nb_idx_numel(const nb_idx *x);
/* Size in bytes of one element of an IDX type; 0 for an unknown type. */
size_t nb_idx_type_size(int type);

/* Every element of x converted to float and divided by divisor (in float), into a new
 * malloc'ed array of nb_idx_numel(x) floats (caller frees). NULL with err on failure. */
float *nb_idx_to_f32(const nb_idx *x, float divisor, char *err, size_t err_size);
/* Images: u8 data [N, d1, d2, ...] as floats v / 255 in [0, 1] (torchvision's
 * ToTensor), flattened to [N, d1*d2*...]: *n = N, *dim = d1*d2*... (a rank-1 file
 * gives dim 1). Caller frees. NULL with err when x is not u8. */
float *nb_idx_images_f32(const nb_idx *x, int64_t *n, int64_t *dim, char *err, size_t err_size);
/* Labels: rank-1 integer data (u8, i8, i16, i32) as int32_t [N], *n = N. Caller frees.
 * The values are not checked against a class count: that is the caller's job. */
int32_t *nb_idx_labels_i32(const nb_idx *x, int64_t *n, char *err, size_t err_size);

/* Minibatches: the indices 0..n-1 in batches of `batch`, epoch after epoch. With
 * NB_BATCH_SHUFFLE each epoch is a Fisher-Yates permutation drawn from the project's
 * PRNG (the same seed gives the same sequence of epochs on every machine); without it
 * the order is 0..n-1. The last, partial batch of an epoch (n % batch indices) is
 * returned unless NB_BATCH_DROP_LAST is set (PyTorch's DataLoader keeps it by default;
 * a program compiled for a fixed batch size needs it dropped, or padded by the caller). */
typedef struct nb_batcher nb_batcher;
enum { NB_BATCH_SHUFFLE = 1, NB_BATCH_DROP_LAST = 2 };

/* NULL when n < 1, batch < 1, flags has unknown bits, DROP_LAST leaves no batch at all
 * (batch > n), or out of memory. */
nb_batcher *nb_batcher_new(int64_t n, int64_t batch, uint64_t seed, int flags);
void nb_batcher_free(nb_batcher *b);
/* The next batch of the current epoch: returns 1 with *indices (count values, owned by
 * the batcher, valid until the next call) and *count; or 0, with *count = 0, when the
 * epoch is over: the next call starts the next epoch (reshuffled). -1 for bad arguments. */
int nb_batcher_next(nb_batcher *b, const int64_t **indices, int64_t *count);
/* Epochs started so far (0 before the first call of nb_batcher_next). */
int64_t nb_batcher_epoch(const nb_batcher *b);
/* Batches per epoch: ceil(n / batch), or floor with NB_BATCH_DROP_LAST. */
int64_t nb_batcher_batches(const nb_batcher *b);

/* Copies the rows src[idx[i]] (row_len floats each, n_rows rows in src) to dst[i] for
 * i < count. Returns 0, or -1 (dst untouched) when an index is outside [0, n_rows). */
int nb_gather_rows_f32(float *dst, const float *src, int64_t n_rows, int64_t row_len,
                       const int64_t *idx, int64_t count);
/* The same for one int32_t per row (labels). */
int nb_gather_i32(int32_t *dst, const int32_t *src, int64_t n_rows, const int64_t *idx,
                  int64_t count);

/* ---- data: NumPy .npy files (data/nb_npy.c; docs/data.md) --------------------------- */

/* A whole .npy array in memory: numel values of dtype in host byte order, row-major,
 * nbytes in all; rank 0 (a scalar) to NB_MAX_RANK, dimensions may be 0. */
typedef struct nb_npy {
    nb_dtype dtype;
    int rank;
    int64_t shape[NB_MAX_RANK];
    void *data;
    size_t nbytes;
} nb_npy;

/* Reads a .npy file (format versions 1 to 3) of float32, float64, int32, int64 or
 * bool elements, either byte order, in C order. float32 is f32, float64 f64, int32 i32,
 * bool bool (every byte 0 or 1), and int64 (numpy's default integer) i32 when every
 * value fits. Returns 0 and fills *out (free it with nb_npy_free), or -1 with *out
 * zeroed and a message naming the file in err (err may be NULL). Malformed files are
 * errors: bad magic or version, a header that is not the dict numpy writes, another
 * element type, Fortran order, more than NB_MAX_RANK dimensions, data shorter or longer
 * than the shape says. */
int nb_npy_read(const char *path, nb_npy *out, char *err, size_t err_size);
/* The same for the bytes of a file in memory. */
int nb_npy_parse(const void *bytes, size_t len, nb_npy *out, char *err, size_t err_size);
/* Frees the data and zeroes *x; NULL and zeroed structs are fine. */
void nb_npy_free(nb_npy *x);

#ifdef __cplusplus
}
#endif

#endif
