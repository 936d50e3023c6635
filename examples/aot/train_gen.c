/* train_gen.c — the generator of the exported training step (nabla_add_model in
 * examples/aot/CMakeLists.txt runs it at build time): fashion_mnist's forward pass,
 * backward pass and Adam step on batches of N rows (lr an input), its parameters
 * initialised as fashion_mnist initialises them with seed 0 and kept, with Adam's state,
 * in the caller's state block (<prefix>_init writes the initial values).
 *   train_gen --prefix P --dir DIR [--batch N]   (N: 64) */
#include <stdio.h>

#include "model.h"
#include "nabla.h"

#define PROG "train_gen"

int main(int argc, char **argv)
{
    gen_args a;
    if (gen_args_parse(PROG, argc, argv, 64, &a) != 0)
        return 2;
    if (a.weights) {
        fprintf(stderr, "%s: --weights is not used: the step starts from seed %d\n", PROG,
                MODEL_SEED);
        return 2;
    }
    nb_graph *g = nb_graph_new();
    if (!g) {
        fprintf(stderr, "%s: out of memory\n", PROG);
        return 1;
    }
    nb_node *loss;
    nb_update updates[MODEL_UPDATES_CAP];
    int n_updates = model_train_step(g, a.batch, &loss, updates, MODEL_UPDATES_CAP);
    nb_compile_options opt = {.outputs = &loss,
                              .n_outputs = 1,
                              .updates = updates,
                              .n_updates = n_updates,
                              .denormals = NB_DENORMALS_IEEE,
                              .threads = 1,
                              .exportable = 1};
    nb_program *prog = n_updates > 0 ? nb_compile(g, &opt) : NULL;
    if (!prog) {
        fprintf(stderr, "%s: %s\n", PROG, nb_graph_error(g));
        nb_graph_free(g);
        return 1;
    }
    nb_graph_free(g);
    nb_export_options eo = {.prefix = a.prefix, .dir = a.dir, .weights = NB_EXPORT_WEIGHTS_STATE};
    if (model_init(prog, MODEL_SEED) != 0 || nb_program_export(prog, &eo) != 0) {
        fprintf(stderr, "%s: %s\n", PROG, nb_program_error(prog));
        nb_program_free(prog);
        return 1;
    }
    nb_program_free(prog);
    return 0;
}
