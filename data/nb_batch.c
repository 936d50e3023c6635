/* nb_batch.c — the minibatch iterator (seeded Fisher-Yates shuffle per epoch) and the
 * gather helpers that copy a batch's rows out of a dataset. */
#include <stdlib.h>
#include <string.h>

#include "ir.h"

struct nb_batcher {
    int64_t n, batch;
    int flags;
    ir_rng rng;      /* seeded once: epoch e's order depends on the seed and e only */
    int64_t *order;  /* the current epoch's permutation of 0..n-1 */
    int64_t pos;     /* next position in order; -1 before an epoch has started */
    int64_t epoch;   /* epochs started */
    int64_t batches; /* per epoch */
};

nb_batcher *nb_batcher_new(int64_t n, int64_t batch, uint64_t seed, int flags)
{
    if (n < 1 || batch < 1 || (flags & ~(NB_BATCH_SHUFFLE | NB_BATCH_DROP_LAST)))
        return NULL;
    if ((flags & NB_BATCH_DROP_LAST) && batch > n)
        return NULL; /* an epoch would have no batch: a loop over epochs would spin */
    if ((uint64_t)n > SIZE_MAX / sizeof(int64_t))
        return NULL;
    nb_batcher *b = ir_calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->order = ir_malloc((size_t)n * sizeof *b->order);
    if (!b->order) {
        free(b);
        return NULL;
    }
    b->n = n;
    b->batch = batch;
    b->flags = flags;
    b->pos = -1;
    b->batches = (flags & NB_BATCH_DROP_LAST) ? n / batch : n / batch + (n % batch != 0);
    ir_rng_seed(&b->rng, seed);
    return b;
}

void nb_batcher_free(nb_batcher *b)
{
    if (!b)
        return;
    free(b->order);
    free(b);
}

/* Starts the next epoch: the identity, shuffled in place when asked. Each epoch starts
 * from the identity so that its order is a fresh draw, as PyTorch's RandomSampler
 * draws a fresh randperm each epoch. */
static void batcher_start_epoch(nb_batcher *b)
{
    for (int64_t i = 0; i < b->n; i++)
        b->order[i] = i;
    if (b->flags & NB_BATCH_SHUFFLE) {
        for (int64_t i = b->n - 1; i > 0; i--) {
            int64_t j = (int64_t)ir_rng_below(&b->rng, (uint64_t)i + 1);
            int64_t t = b->order[i];
            b->order[i] = b->order[j];
            b->order[j] = t;
        }
    }
    b->pos = 0;
    b->epoch++;
}

int nb_batcher_next(nb_batcher *b, const int64_t **indices, int64_t *count)
{
    if (count)
        *count = 0;
    if (!b || !indices || !count)
        return -1;
    if (b->pos < 0)
        batcher_start_epoch(b);
    int64_t left = b->n - b->pos;
    if (left == 0 || (left < b->batch && (b->flags & NB_BATCH_DROP_LAST))) {
        b->pos = -1; /* the next call starts the next epoch */
        *indices = NULL;
        return 0;
    }
    int64_t take = left < b->batch ? left : b->batch;
    *indices = b->order + b->pos;
    *count = take;
    b->pos += take;
    return 1;
}

int64_t nb_batcher_epoch(const nb_batcher *b)
{
    return b ? b->epoch : 0;
}

int64_t nb_batcher_batches(const nb_batcher *b)
{
    return b ? b->batches : 0;
}

int nb_gather_rows_f32(float *dst, const float *src, int64_t n_rows, int64_t row_len,
                       const int64_t *idx, int64_t count)
{
    if (count < 0 || row_len < 1 || (count > 0 && (!dst || !src || !idx)))
        return -1;
    for (int64_t i = 0; i < count; i++)
        if (idx[i] < 0 || idx[i] >= n_rows)
            return -1;
    size_t row_bytes = (size_t)row_len * sizeof *dst;
    for (int64_t i = 0; i < count; i++)
        memcpy(dst + i * row_len, src + idx[i] * row_len, row_bytes);
    return 0;
}

int nb_gather_i32(int32_t *dst, const int32_t *src, int64_t n_rows, const int64_t *idx,
                  int64_t count)
{
    if (count < 0 || (count > 0 && (!dst || !src || !idx)))
        return -1;
    for (int64_t i = 0; i < count; i++)
        if (idx[i] < 0 || idx[i] >= n_rows)
            return -1;
    for (int64_t i = 0; i < count; i++)
        dst[i] = src[idx[i]];
    return 0;
}
