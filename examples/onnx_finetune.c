/* onnx_finetune.c — fine-tunes an imported model. Loads a Fashion-MNIST classifier from an
 * ONNX file with nb_onnx_load (by default examples/fashion_mnist_mlp.onnx: PyTorch's MLP
 * 784-128-10 after one epoch, written by bench/fashion_mnist_torch.py --export-onnx;
 * PyTorch measured its test accuracy as 0.8435 on the 10,000 test images and 0.0000 on
 * tests/data/fashion-500's 500), prints its test accuracy, trains it further
 * (cross-entropy, Adam) and prints the test accuracy again. The model's float
 * initializers are the graph's parameters: nb_grad differentiates them as it does those
 * of a model built with the builders, and --save writes them under their ONNX names. The
 * command line and the training loop are examples/common/fashion.c's. See
 * docs/onnx-finetune.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fashion.h"
#include "nabla.h"
#include "nabla_onnx.h"

#define PROG "onnx_finetune"
#define INPUT "image" /* the model's input: f32 [batch, 784], pixels in [0, 1] */

#ifndef ONNX_FINETUNE_MODEL /* examples/CMakeLists.txt names the file in the sources */
#define ONNX_FINETUNE_MODEL "fashion_mnist_mlp.onnx"
#endif

/* 0 when the model takes INPUT f32 [batch, 784] alone and its first output is f32
 * [batch, 10]; otherwise -1 after saying what it has instead. */
static int check_model(const char *path, const nb_onnx_model *m, int64_t batch)
{
    const nb_node *x = m->n_inputs == 1 ? m->inputs[0].node : NULL;
    const nb_node *y = m->n_outputs >= 1 ? m->outputs[0].node : NULL;
    if (!x || strcmp(m->inputs[0].name, INPUT) != 0) {
        fprintf(stderr, "%s: %s: the model must have one input, '%s' (it has %d)\n", PROG, path,
                INPUT, m->n_inputs);
        return -1;
    }
    if (!y || nb_node_dtype(y) != NB_F32 || nb_node_rank(y) != 2 || nb_node_shape(y)[0] != batch ||
        nb_node_shape(y)[1] != 10) {
        fprintf(stderr, "%s: %s: the model's first output must be f32 logits [%lld, 10]\n", PROG,
                path, (long long)batch);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    /* The first argument, unless it is an option, is the model. */
    const char *path = ONNX_FINETUNE_MODEL;
    if (argc > 1 && strncmp(argv[1], "--", 2) != 0) {
        path = argv[1];
        argc--;
        argv++;
    }
    fm_options defaults = fm_defaults();
    defaults.epochs = 1;
    fm_options o =
        fm_parse_from(PROG,
                      "Fine-tunes an ONNX classifier of Fashion-MNIST (input 'image' "
                      "[batch, 784], logits [batch, 10])\n"
                      "and prints its test accuracy before and after. The first "
                      "argument, when not an option,\nis the model (" ONNX_FINETUNE_MODEL ").",
                      defaults, argc, argv);
    nb_set_threads(o.threads);

    /* The model, for batches of o.batch images: the file leaves the batch open. */
    nb_onnx_shape shape = {.name = INPUT, .rank = 2, .dims = {o.batch, 784}};
    nb_onnx_options opt = {.shapes = &shape, .n_shapes = 1};
    nb_onnx_model model;
    char err[512];
    nb_graph *g = nb_onnx_load(path, &opt, &model, err, sizeof err);
    if (!g) {
        fprintf(stderr, "%s: %s\n", PROG, err);
        return 1;
    }
    int status = 1, n = 0;
    nb_node **params = malloc(sizeof *params * (size_t)(model.n_initializers + 1));
    nb_node **grads = malloc(sizeof *grads * (size_t)(model.n_initializers + 1));
    int cap = model.n_initializers * NB_ADAM_UPDATES_PER_PARAM;
    nb_update *updates = malloc(sizeof *updates * (size_t)(cap + 1));
    if (!params || !grads || !updates) {
        fprintf(stderr, "%s: out of memory\n", PROG);
        goto done;
    }
    if (check_model(path, &model, o.batch) != 0)
        goto done;
    /* The trainable parameters: the float initializers some node reads. */
    for (int i = 0; i < model.n_initializers; i++) {
        nb_node *p = model.initializers[i].node;
        if (p && !strcmp(nb_node_op(p), "param"))
            params[n++] = p;
    }
    if (n == 0) {
        fprintf(stderr, "%s: %s: the model has no float initializer to train\n", PROG, path);
        goto done;
    }
    printf("%s: %d parameters, opset %lld, from %s\n", path, n, (long long)model.opset,
           *model.producer ? model.producer : "an unnamed producer");

    /* The training step on the imported logits: forward, loss, backward, Adam. */
    int64_t ys[1] = {o.batch};
    nb_node *logits = model.outputs[0].node;
    nb_node *y = nb_input(g, "y", NB_I32, 1, ys);
    nb_node *lr = nb_input(g, "lr", NB_F32, 0, NULL);
    nb_node *loss = nb_cross_entropy(g, logits, y, NB_REDUCTION_MEAN);
    nb_grad(g, loss, params, n, grads);
    int n_updates = nb_adam(g, lr, params, grads, n, NULL, updates, cap);
    /* The model is imported for one batch size: the evaluation runs on the same input. */
    fm_model m = {.g = g,
                  .loss = loss,
                  .logits = logits,
                  .eval_logits = logits,
                  .updates = updates,
                  .n_updates = n_updates,
                  .eval_batch = o.batch,
                  .x_name = INPUT,
                  .eval_x_name = INPUT,
                  .values = model.extras.values,
                  .n_values = model.extras.n_values,
                  .report_before = 1};
    status = fm_main(PROG, &o, &m);
    g = NULL; /* fm_main freed it */
done:
    nb_graph_free(g);
    nb_onnx_model_free(&model);
    free(params);
    free(grads);
    free(updates);
    return status;
}
