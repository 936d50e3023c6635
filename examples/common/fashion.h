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
/* The defaults fm_parse starts from (10 epochs, batch 64, ...). */
fm_options fm_defaults(void);
/* fm_parse from other defaults (an example's own, e.g. fewer epochs); the usage shows
 * them. */
fm_options fm_parse_from(const char *prog, const char *what, fm_options defaults, int argc,
                         char **argv);

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

/* What an example builds: one graph holding the training step on a batch (inputs "x":
 * f32 with o->batch * 784 elements, any shape; "y": i32 [batch]; "lr": f32 scalar) and
 * the evaluation of eval_batch images (input "eval_x"). The images' inputs may have
 * other names (x_name, eval_x_name), and may be one input when eval_batch is the batch
 * (a model imported for one batch size). */
typedef struct fm_model {
    nb_graph *g;
    nb_node *loss;        /* f32 scalar: the batch's mean loss */
    nb_node *logits;      /* [batch, 10] */
    nb_node *eval_logits; /* [eval_batch, 10] */
    nb_update *updates;
    int n_updates;
    int eval_batch;
    /* Gives the parameters of a fresh model their initial values from seed; 0 or -1 with
     * the program's error. */
    int (*init)(nb_program *step, uint64_t seed);
    /* Optional. */
    const char *x_name, *eval_x_name; /* NULL: "x" and "eval_x" */
    /* With init NULL: the parameters' initial values (an imported model's), which
     * --write-graph writes too. The nodes are m->g's. */
    nb_leaf_value *values;
    int n_values;
    /* Nonzero: the test accuracy is printed before training, "accuracy before: A", and
     * after it as "accuracy after: A" instead of "test accuracy: A". */
    int report_before;
} fm_model;

/* The rest of an example's main once its graph is built: with --write-graph writes the
 * step (outputs loss and logits, the updates, m->values) and returns; otherwise loads the data,
 * compiles the step and the evaluation (sharing its state), loads --load or initializes,
 * then trains o->epochs epochs of shuffled batches (the last partial batch dropped),
 * printing a progress line, per epoch one line "epoch E/N: loss L, train acc A, test acc
 * T, S s, R samples/s" and at the end "test accuracy: T"; with --save writes a checkpoint
 * after every epoch. Frees m->g (not m->values). The exit status: 0, or 1 (2 for a bad --batch)
 * after printing the error. */
int fm_main(const char *prog, const fm_options *o, fm_model *m);

#endif
