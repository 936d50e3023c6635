/* bench_program.c — what the benchmarks that time nabla programs share (bench_program.h). */
#include "bench_program.h"

#include <stdio.h>
#include <stdlib.h>

#include "nabla.h"

void bench_grad(nb_graph *g, nb_node *y, nb_node *const *xs, int n, nb_node **grads)
{
    if (nb_grad(g, y, xs, n, grads) != 0) {
        fprintf(stderr, "grad: %s\n", nb_graph_error(g));
        exit(1);
    }
}

nb_program *bench_compile(nb_graph *g, const nb_compile_options *opt)
{
    nb_program *p = nb_compile(g, opt);
    if (!p) {
        fprintf(stderr, "compile: %s\n", nb_graph_error(g));
        exit(1);
    }
    return p;
}

void bench_run_program(void *program)
{
    if (nb_program_run(program) != 0) {
        fprintf(stderr, "run: %s\n", nb_program_error(program));
        exit(1);
    }
}
