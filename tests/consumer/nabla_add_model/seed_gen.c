/* seed_gen.c — a generator for nabla_add_model: the seed's logistic regression
 * z = w x + b, p = sigmoid(z), binary cross-entropy against y, and one SGD step
 * w, b -= lr * grad (lr an input), exported with w = 1 and b = 0 in its state.
 *   seed_gen --prefix P --dir DIR [--lr-in-graph 0]
 * (--lr-in-graph only shows that nabla_add_model passes ARGS on: it must be 0.) */
#include <stdio.h>
#include <string.h>

#include "nabla.h"

int main(int argc, char **argv)
{
    const char *prefix = NULL, *dir = NULL;
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc) {
            fprintf(stderr, "seed_gen: %s needs a value\n", argv[i]);
            return 2;
        }
        if (!strcmp(argv[i], "--prefix"))
            prefix = argv[i + 1];
        else if (!strcmp(argv[i], "--dir"))
            dir = argv[i + 1];
        else if (strcmp(argv[i], "--lr-in-graph") || strcmp(argv[i + 1], "0")) {
            fprintf(stderr, "seed_gen: unexpected argument '%s %s'\n", argv[i], argv[i + 1]);
            return 2;
        }
    }
    if (!prefix || !dir) {
        fprintf(stderr, "usage: seed_gen --prefix P --dir DIR\n");
        return 2;
    }
    nb_graph *g = nb_graph_new();
    if (!g)
        return 1;
    nb_node *x = nb_input(g, "x", NB_F32, 0, NULL);
    nb_node *y = nb_input(g, "y", NB_F32, 0, NULL);
    nb_node *lr = nb_input(g, "lr", NB_F32, 0, NULL);
    nb_node *w = nb_param(g, "w", NB_F32, 0, NULL);
    nb_node *b = nb_param(g, "b", NB_F32, 0, NULL);
    nb_node *p = nb_sigmoid(g, nb_add(g, nb_mul(g, w, x), b));
    nb_node *loss = nb_bce(g, p, y, NB_REDUCTION_MEAN);
    nb_node *params[] = {w, b}, *grads[2];
    nb_grad(g, loss, params, 2, grads);
    nb_update up[2 * NB_SGD_UPDATES_PER_PARAM];
    int n_up = nb_sgd(g, lr, params, grads, 2, NULL, up, 2 * NB_SGD_UPDATES_PER_PARAM);
    nb_node *outs[] = {loss, grads[0], grads[1]};
    nb_compile_options opt = {
        .outputs = outs, .n_outputs = 3, .updates = up, .n_updates = n_up, .exportable = 1};
    nb_program *prog = n_up > 0 ? nb_compile(g, &opt) : NULL;
    if (!prog) {
        fprintf(stderr, "seed_gen: %s\n", nb_graph_error(g));
        nb_graph_free(g);
        return 1;
    }
    nb_graph_free(g);
    float wv = 1.0f, bv = 0.0f;
    nb_export_options eo = {.prefix = prefix, .dir = dir, .weights = NB_EXPORT_WEIGHTS_STATE};
    if (nb_program_set_param(prog, "w", &wv, sizeof wv) != 0 ||
        nb_program_set_param(prog, "b", &bv, sizeof bv) != 0 || nb_program_export(prog, &eo) != 0) {
        fprintf(stderr, "seed_gen: %s\n", nb_program_error(prog));
        nb_program_free(prog);
        return 1;
    }
    nb_program_free(prog);
    return 0;
}
