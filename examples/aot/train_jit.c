/* train_jit.c — the training run of train.c in nabla's JIT: the same graph
 * (model_train_step, what train_gen.c exports), the same initialisation, the same
 * batches and lines (train_loop.c), with NB_DENORMALS_IEEE, so that its output is
 * train.c's byte for byte.
 *   train_jit [--data DIR] [--every N] [--batches N] [--lr X] */
#include <stdio.h>

#include "model.h"
#include "nabla.h"
#include "train_loop.h"

#define PROG "train_jit"
#define BATCH 64 /* train_gen.c's default */

static int step(void *ctx, const float *x, const int32_t *y, float lr, float *loss)
{
    nb_program *p = ctx;
    if (nb_program_bind(p, "x", x) != 0 || nb_program_bind(p, "y", y) != 0 ||
        nb_program_bind(p, "lr", &lr) != 0 || nb_program_run(p) != 0) {
        fprintf(stderr, "%s: %s\n", PROG, nb_program_error(p));
        return -1;
    }
    *loss = *(const float *)nb_program_output(p, 0);
    return 0;
}

int main(int argc, char **argv)
{
    train_options o;
    if (train_parse(PROG, argc, argv, &o) != 0)
        return 2;
    nb_graph *g = nb_graph_new();
    if (!g) {
        fprintf(stderr, "%s: out of memory\n", PROG);
        return 1;
    }
    nb_node *loss;
    nb_update updates[MODEL_UPDATES_CAP];
    int n_updates = model_train_step(g, BATCH, &loss, updates, MODEL_UPDATES_CAP);
    nb_compile_options opt = {.outputs = &loss,
                              .n_outputs = 1,
                              .updates = updates,
                              .n_updates = n_updates,
                              .denormals = NB_DENORMALS_IEEE};
    nb_program *p = n_updates > 0 ? nb_compile(g, &opt) : NULL;
    if (!p) {
        fprintf(stderr, "%s: %s\n", PROG, nb_graph_error(g));
        nb_graph_free(g);
        return 1;
    }
    nb_graph_free(g);
    if (model_init(p, MODEL_SEED) != 0) {
        fprintf(stderr, "%s: %s\n", PROG, nb_program_error(p));
        nb_program_free(p);
        return 1;
    }
    int rc = train_epoch(PROG, &o, BATCH, step, p);
    nb_program_free(p);
    return rc;
}
