/* train_loop.h — one epoch of training over Fashion-MNIST's training set, the same for
 * the exported step (train.c) and nabla's JIT (train_jit.c), so that their output can
 * be compared byte for byte: sequential batches (images 0..B-1, B..2B-1, ...), the last
 * partial batch dropped (or only the first --batches), the loss of every Nth batch and of the last
 * one printed with
 * %.9g (every bit shows), then the mean loss of the epoch. */
#ifndef TRAIN_LOOP_H
#define TRAIN_LOOP_H

#include <stdint.h>

typedef struct train_options {
    const char *data; /* the .gz files' folder */
    long every;       /* print the loss of every Nth batch */
    long batches;     /* stop after this many batches (0: the whole epoch) */
    float lr;
} train_options;

/* One training step on images x [batch, 784] and labels y [batch]: 0 with the batch's
 * mean loss in *loss, or -1 after a message on stderr. */
typedef int (*train_step_fn)(void *ctx, const float *x, const int32_t *y, float lr, float *loss);

/* Parses --data DIR, --every N, --batches N and --lr X into o. 0, or -1 after a message. */
int train_parse(const char *prog, int argc, char **argv, train_options *o);
/* Loads the training set, runs one epoch in batches of `batch` through step, prints
 * the lines. 0, or 1 after a message. */
int train_epoch(const char *prog, const train_options *o, long batch, train_step_fn step,
                void *ctx);

#endif
