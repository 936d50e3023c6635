/* fashion_cnn.c — trains a convolutional network on Fashion-MNIST:
 * conv(1->32, 3x3, padding 1)-ReLU-maxpool 2 -> conv(32->64, 3x3, padding 1)-ReLU-maxpool 2
 * -> dense 3136->128-ReLU-dropout 0.25 -> dense 128->10, cross-entropy, Adam. One compiled
 * call per batch does forward, backward, the Adam step and advances dropout's random
 * stream; a second program on the same state evaluates the test set (dropout off). The
 * command line and the training loop are examples/common/fashion.c's, shared with
 * fashion_mnist. */
#include <stdio.h>

#include "fashion.h"
#include "nabla.h"

#define PROG "fashion_cnn"
#define EVAL_BATCH 250 /* images per evaluation run; a last partial batch is padded */
#define N_PARAMS 8

static const char *const names[N_PARAMS] = {"conv1.weight", "conv1.bias", "conv2.weight",
                                            "conv2.bias",   "fc1.weight", "fc1.bias",
                                            "fc2.weight",   "fc2.bias"};

/* conv 3x3, padding 1, bias; then ReLU and 2x2 max pooling. */
static nb_node *conv_block(nb_graph *g, nb_node *x, nb_node *w, nb_node *b)
{
    static const nb_conv_options conv = {.padding = {1, 1}};
    static const int64_t window[2] = {2, 2};
    nb_node *h = nb_relu(g, nb_conv2d(g, x, w, b, &conv));
    return nb_max_pool2d(g, h, window, NULL, NULL, NULL, 0);
}

/* The model on images x [rows, 784]: logits [rows, 10]. */
static nb_node *cnn(nb_graph *g, nb_node *x, int64_t rows, nb_node *const *p, int training)
{
    int64_t image[4] = {rows, 1, 28, 28}, flat[2] = {rows, 64 * 7 * 7};
    nb_node *h = nb_reshape(g, x, 4, image);
    h = conv_block(g, h, p[0], p[1]);
    h = conv_block(g, h, p[2], p[3]);
    h = nb_reshape(g, h, 2, flat);
    h = nb_relu(g, nb_add(g, nb_matmul(g, h, p[4]), p[5]));
    h = nb_dropout(g, h, 0.25, training);
    return nb_add(g, nb_matmul(g, h, p[6]), p[7]);
}

/* PyTorch's default initialization of each layer (nn.Conv2d, nn.Linear). */
static int init(nb_program *step, uint64_t seed)
{
    for (int i = 0; i < 4; i += 2) {
        /* Conv weights are [out, in, kh, kw] as PyTorch's: fan_in = in * kh * kw. */
        nb_init w = nb_init_linear_weight(nb_init_seed(seed, names[i]));
        w.layout = NB_LAYOUT_OUT_IN;
        nb_init b = nb_init_linear_bias(i ? 32 * 9 : 9, nb_init_seed(seed, names[i + 1]));
        if (nb_program_init_param(step, names[i], &w) != 0 ||
            nb_program_init_param(step, names[i + 1], &b) != 0)
            return -1;
    }
    for (int i = 4; i < N_PARAMS; i += 2)
        if (nb_program_init_linear(step, names[i], names[i + 1], seed) != 0)
            return -1;
    return 0;
}

int main(int argc, char **argv)
{
    fm_options o = fm_parse(PROG,
                            "Trains a CNN (two 3x3 convolutions with max pooling, two dense "
                            "layers, dropout 0.25) on Fashion-MNIST.",
                            argc, argv);
    nb_set_threads(o.threads);

    static const int64_t shapes[N_PARAMS][4] = {{32, 1, 3, 3}, {32},  {64, 32, 3, 3}, {64},
                                                {3136, 128},   {128}, {128, 10},      {10}};
    static const int ranks[N_PARAMS] = {4, 1, 4, 1, 2, 1, 2, 1};
    int64_t xs[2] = {o.batch, 784}, ys[1] = {o.batch}, es[2] = {EVAL_BATCH, 784};
    nb_graph *g = nb_graph_new();
    nb_manual_seed(g, o.seed); /* dropout's stream too follows --seed */
    nb_node *p[N_PARAMS], *grads[N_PARAMS];
    for (int i = 0; i < N_PARAMS; i++)
        p[i] = nb_param(g, names[i], NB_F32, ranks[i], shapes[i]);
    nb_node *x = nb_input(g, "x", NB_F32, 2, xs);
    nb_node *y = nb_input(g, "y", NB_I32, 1, ys);
    nb_node *lr = nb_input(g, "lr", NB_F32, 0, NULL);
    nb_node *logits = cnn(g, x, o.batch, p, 1);
    nb_node *loss = nb_cross_entropy(g, logits, y, NB_REDUCTION_MEAN);
    nb_grad(g, loss, p, N_PARAMS, grads);
    nb_update updates[N_PARAMS * NB_ADAM_UPDATES_PER_PARAM];
    int n_updates =
        nb_adam(g, lr, p, grads, N_PARAMS, NULL, updates, N_PARAMS * NB_ADAM_UPDATES_PER_PARAM);
    fm_model m = {.g = g,
                  .loss = loss,
                  .logits = logits,
                  .eval_logits = cnn(g, nb_input(g, "eval_x", NB_F32, 2, es), EVAL_BATCH, p, 0),
                  .updates = updates,
                  .n_updates = n_updates,
                  .eval_batch = EVAL_BATCH,
                  .init = init};
    return fm_main(PROG, &o, &m);
}
