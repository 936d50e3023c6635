/* model.c — fashion_mnist's MLP, its training step, and the generators' command line. */
#include "model.h"

#include <stdio.h>
#include <string.h>

#include "fmnist.h"

const char *const model_param_names[MODEL_N_PARAMS] = {"fc1.weight", "fc1.bias",   "fc2.weight",
                                                       "fc2.bias",   "fc3.weight", "fc3.bias"};

void model_params(nb_graph *g, nb_node **p)
{
    static const int64_t shapes[MODEL_N_PARAMS][2] = {{784, 256}, {256, 0},  {256, 128},
                                                      {128, 0},   {128, 10}, {10, 0}};
    for (int i = 0; i < MODEL_N_PARAMS; i++)
        p[i] = nb_param(g, model_param_names[i], NB_F32, i % 2 ? 1 : 2, shapes[i]);
}

static nb_node *linear(nb_graph *g, nb_node *x, nb_node *w, nb_node *b)
{
    return nb_add(g, nb_matmul(g, x, w), b);
}

nb_node *model_logits(nb_graph *g, nb_node *x, nb_node *const *p)
{
    nb_node *h = nb_relu(g, linear(g, x, p[0], p[1]));
    h = nb_relu(g, linear(g, h, p[2], p[3]));
    return linear(g, h, p[4], p[5]);
}

int model_train_step(nb_graph *g, int64_t batch, nb_node **loss, nb_update *updates, int cap)
{
    nb_node *p[MODEL_N_PARAMS], *grads[MODEL_N_PARAMS];
    int64_t xs[2] = {batch, FM_PIXELS}, ys[1] = {batch};
    model_params(g, p);
    nb_node *x = nb_input(g, "x", NB_F32, 2, xs);
    nb_node *y = nb_input(g, "y", NB_I32, 1, ys);
    nb_node *lr = nb_input(g, "lr", NB_F32, 0, NULL);
    *loss = nb_cross_entropy(g, model_logits(g, x, p), y, NB_REDUCTION_MEAN);
    if (nb_grad(g, *loss, p, MODEL_N_PARAMS, grads) != 0)
        return -1;
    return nb_adam(g, lr, p, grads, MODEL_N_PARAMS, NULL, updates, cap);
}

int model_init(nb_program *p, uint64_t seed)
{
    for (int i = 0; i < MODEL_N_PARAMS; i += 2)
        if (nb_program_init_linear(p, model_param_names[i], model_param_names[i + 1], seed) != 0)
            return -1;
    return 0;
}

int gen_args_parse(const char *prog, int argc, char **argv, long default_batch, gen_args *a)
{
    memset(a, 0, sizeof *a);
    a->batch = default_batch;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *v;
        if (!strcmp(opt, "--prefix") || !strcmp(opt, "--dir") || !strcmp(opt, "--weights") ||
            !strcmp(opt, "--batch")) {
            if (!(v = fm_option_value(prog, argc, argv, &i)))
                return -1;
            if (!strcmp(opt, "--prefix"))
                a->prefix = v;
            else if (!strcmp(opt, "--dir"))
                a->dir = v;
            else if (!strcmp(opt, "--weights"))
                a->weights = v;
            else if ((a->batch = fm_positive(prog, opt, v)) < 0)
                return -1;
        } else {
            fprintf(stderr,
                    "%s: unknown argument '%s'\n"
                    "usage: %s --prefix P --dir DIR [--weights FILE] [--batch N]\n",
                    prog, opt, prog);
            return -1;
        }
    }
    if (!a->prefix || !a->dir) {
        fprintf(stderr, "%s: --prefix and --dir are required (nabla_add_model passes them)\n",
                prog);
        return -1;
    }
    return 0;
}
