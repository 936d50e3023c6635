/* fashion.h — what the Fashion-MNIST examples share: their command line, the data set,
 * and the training loop around a compiled step (examples/fashion_mnist.c, the MLP, and
 * examples/fashion_cnn.c, the convolutional network). */
#ifndef FASHION_H
#define FASHION_H

#include <stdint.h>

#include "nabla.h"

typedef struct fm_options {
    int epochs, batch, threads;
    double lr;
    unsigned long long seed;
    const char *save, *load, *data, *write_graph;
    nb_backend backend;
    nb_denormals denormals;
} fm_options;

/* The options of argv (as fm_usage lists them, defaults included); on --help prints the
 * usage and exits 0, on a bad option prints why and exits 2. prog names the example in
 * messages and what is the usage's first line after it. */
fm_options fm_parse(const char *prog, const char *what, int argc, char **argv);

/* --backend's spelling of b ("tcc"). */
const char *fm_backend_name(nb_backend b);

/* A split in memory: images [n, 784] in [0, 1] and labels [n] in [0, 10). */
typedef struct fm_dataset {
    float *images;
    int32_t *labels;
    int64_t n, dim;
} fm_dataset;

/* Reads <dir>/<prefix>-{images,labels}-*.gz; exits 1 with a message on any error. */
void fm_dataset_load(const char *prog, const char *dir, const char *prefix, fm_dataset *d);
void fm_dataset_free(fm_dataset *d);

/* Seconds of a monotonic clock. */
double fm_now(void);

/* The programs fm_train drives. step binds inputs "x" (f32, batch images of 784 pixels,
 * any shape of that size), "y" (i32 [batch]) and "lr" (f32 scalar) and has outputs 0 =
 * the mean loss (f32 scalar) and 1 = the logits [batch, 10]; eval shares its state, binds
 * "eval_x" (eval_batch images) and has output 0 = logits [eval_batch, 10]. */
typedef struct fm_programs {
    nb_program *step, *eval;
    int eval_batch;
    double t_compiled; /* fm_now() when compiling ended (for the cc swap message) */
} fm_programs;

/* Trains o->epochs epochs of shuffled batches (the last partial batch dropped), printing
 * a progress line, then per epoch one line "epoch E/N: loss L, train acc A, test acc T,
 * S s, R samples/s" and at the end "test accuracy: T"; saves a checkpoint after every
 * epoch with --save. 0, or 1 after printing the error. */
int fm_train(const char *prog, const fm_options *o, const fm_programs *p, const fm_dataset *train,
             const fm_dataset *test);

#endif
