/* fashion_mnist.c — trains an MLP 784-256-128-10 (ReLU, cross-entropy, Adam) on
 * Fashion-MNIST. One compiled call per batch does forward, backward and the Adam step;
 * a second program on the same parameters evaluates the test set. The command line and
 * the training loop are examples/common/fashion.c's, shared with fashion_cnn. */
#include <stdio.h>

#include "fashion.h"
#include "nabla.h"

#define PROG "fashion_mnist"
#define EVAL_BATCH 1000 /* rows per evaluation run; a last partial batch is padded */

static nb_node *linear(nb_graph *g, nb_node *x, nb_node *w, nb_node *b)
{
    return nb_add(g, nb_matmul(g, x, w), b);
}

/* The model on input x: logits [rows, 10]. */
static nb_node *mlp(nb_graph *g, nb_node *x, nb_node *const *p)
{
    nb_node *h = nb_relu(g, linear(g, x, p[0], p[1]));
    h = nb_relu(g, linear(g, h, p[2], p[3]));
    return linear(g, h, p[4], p[5]);
}

static const char *const names[6] = {"fc1.weight", "fc1.bias",   "fc2.weight",
                                     "fc2.bias",   "fc3.weight", "fc3.bias"};

/* nn.Linear's initialization of each layer. */
static int init(nb_program *step, uint64_t seed)
{
    for (int i = 0; i < 6; i += 2)
        if (nb_program_init_linear(step, names[i], names[i + 1], seed) != 0)
            return -1;
    return 0;
}

int main(int argc, char **argv)
{
    fm_options o = fm_parse(PROG,
                            "Trains an MLP 784-256-128-10 on Fashion-MNIST "
                            "(examples/fashion_mnist_step.nbg is its --write-graph).",
                            argc, argv);
    nb_set_threads(o.threads);

    /* One graph: the training step on a batch and the evaluation on EVAL_BATCH rows. */
    int64_t shapes[6][2] = {{784, 256}, {256, 0}, {256, 128}, {128, 0}, {128, 10}, {10, 0}};
    int64_t xs[2] = {o.batch, 784}, ys[1] = {o.batch}, es[2] = {EVAL_BATCH, 784};
    nb_graph *g = nb_graph_new();
    nb_node *p[6], *grads[6];
    for (int i = 0; i < 6; i++)
        p[i] = nb_param(g, names[i], NB_F32, i % 2 ? 1 : 2, shapes[i]);
    nb_node *x = nb_input(g, "x", NB_F32, 2, xs);
    nb_node *y = nb_input(g, "y", NB_I32, 1, ys);
    nb_node *lr = nb_input(g, "lr", NB_F32, 0, NULL);
    nb_node *logits = mlp(g, x, p);
    nb_node *loss = nb_cross_entropy(g, logits, y, NB_REDUCTION_MEAN);
    nb_grad(g, loss, p, 6, grads);
    nb_update updates[6 * NB_ADAM_UPDATES_PER_PARAM];
    int n_updates = nb_adam(g, lr, p, grads, 6, NULL, updates, 6 * NB_ADAM_UPDATES_PER_PARAM);
    fm_model m = {.g = g,
                  .loss = loss,
                  .logits = logits,
                  .eval_logits = mlp(g, nb_input(g, "eval_x", NB_F32, 2, es), p),
                  .updates = updates,
                  .n_updates = n_updates,
                  .eval_batch = EVAL_BATCH,
                  .init = init};
    return fm_main(PROG, &o, &m);
}
