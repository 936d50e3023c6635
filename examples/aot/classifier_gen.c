/* classifier_gen.c — the generator of the exported classifier (nabla_add_model in
 * examples/aot/CMakeLists.txt runs it at build time): fashion_mnist's MLP for inference,
 * logits [batch, 10] of images x [batch, 784], with the weights of a training checkpoint
 * written by `fashion_mnist --save` baked into the .c as constants.
 *   classifier_gen --prefix P --dir DIR --weights FILE [--batch N]   (N: 100)
 * The checkpoint holds Adam's state too ("fc1.weight.exp_avg", ...): a non-strict load
 * takes the six parameters the program has and reports those as unexpected. */
#include <stdio.h>

#include "fmnist.h"
#include "model.h"
#include "nabla.h"

#define PROG "classifier_gen"

int main(int argc, char **argv)
{
    gen_args a;
    if (gen_args_parse(PROG, argc, argv, 100, &a) != 0)
        return 2;
    if (!a.weights) {
        fprintf(stderr, "%s: --weights FILE (a checkpoint of fashion_mnist --save) is required\n",
                PROG);
        return 2;
    }
    nb_graph *g = nb_graph_new();
    if (!g) {
        fprintf(stderr, "%s: out of memory\n", PROG);
        return 1;
    }
    nb_node *p[MODEL_N_PARAMS];
    int64_t xs[2] = {a.batch, FM_PIXELS};
    model_params(g, p);
    nb_node *logits = model_logits(g, nb_input(g, "x", NB_F32, 2, xs), p);
    nb_compile_options opt = {.outputs = &logits,
                              .n_outputs = 1,
                              .denormals = NB_DENORMALS_IEEE,
                              .threads = 1,
                              .exportable = 1};
    nb_program *prog = nb_compile(g, &opt);
    if (!prog) {
        fprintf(stderr, "%s: %s\n", PROG, nb_graph_error(g));
        nb_graph_free(g);
        return 1;
    }
    nb_graph_free(g);
    int rc = 1;
    nb_load_report rep;
    if (nb_program_load_ex(prog, a.weights, 0, &rep) != 0)
        goto fail;
    if (rep.n_missing > 0) {
        fprintf(stderr, "%s: %s has no tensor '%s'%s: is it a checkpoint of fashion_mnist?\n", PROG,
                a.weights, rep.missing[0], rep.n_missing > 1 ? " (and other parameters)" : "");
        goto done;
    }
    printf("%s: %d parameters from %s (%d other tensors not used: %s%s)\n", PROG, rep.n_loaded,
           a.weights, rep.n_unexpected, rep.n_unexpected ? rep.unexpected[0] : "none",
           rep.n_unexpected > 1 ? ", ..." : "");
    nb_export_options eo = {.prefix = a.prefix, .dir = a.dir, .weights = NB_EXPORT_WEIGHTS_CONST};
    if (nb_program_export(prog, &eo) != 0)
        goto fail;
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "%s: %s\n", PROG, nb_program_error(prog));
done:
    nb_program_free(prog);
    return rc;
}
