/* model.h — the model of examples/fashion_mnist.c (an MLP 784-256-128-10 with ReLU, the
 * same parameter names, shapes and initialisation) for the generators and train_jit.c,
 * and the command line every generator of nabla_add_model takes (docs/aot.md). */
#ifndef MODEL_H
#define MODEL_H

#include "nabla.h"

#define MODEL_N_PARAMS 6
#define MODEL_SEED 0 /* fashion_mnist's default --seed */

extern const char *const model_param_names[MODEL_N_PARAMS];

/* Appends the six parameters to g (fc1.weight [784, 256], fc1.bias [256], ...). */
void model_params(nb_graph *g, nb_node **p);
/* The logits [rows, 10] of x [rows, 784]. */
nb_node *model_logits(nb_graph *g, nb_node *x, nb_node *const *p);
/* The graph of one training step on batches of `batch` rows, fashion_mnist's: inputs
 * "x" [batch, 784] f32, "y" [batch] i32, "lr" f32; output 0 the mean cross-entropy;
 * Adam (torch's defaults) on every parameter. Writes the outputs and updates; returns
 * the number of updates, or -1 with the error on g. */
int model_train_step(nb_graph *g, int64_t batch, nb_node **loss, nb_update *updates, int cap);
#define MODEL_UPDATES_CAP (MODEL_N_PARAMS * NB_ADAM_UPDATES_PER_PARAM)
/* fashion_mnist's initialisation: nb_program_init_linear for each layer with seed. */
int model_init(nb_program *p, uint64_t seed);

/* What nabla_add_model passes a generator: --prefix P --dir DIR [--weights FILE] and the
 * model's ARGS (here --batch N). */
typedef struct gen_args {
    const char *prefix, *dir, *weights;
    long batch;
} gen_args;

/* Parses argv into a (batch defaults to default_batch). 0, or -1 after a message on
 * stderr naming prog and the argument at fault. */
int gen_args_parse(const char *prog, int argc, char **argv, long default_batch, gen_args *a);

#endif
