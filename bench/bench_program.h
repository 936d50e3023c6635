/* bench_program.h — what the benchmarks that time nabla programs share (bench_program.c). */
#ifndef NABLA_BENCH_PROGRAM_H
#define NABLA_BENCH_PROGRAM_H

#include "nabla.h"

/* nb_grad(g, y, xs, n, grads), or prints the graph's error ("grad: ...") and exits with 1. */
void bench_grad(nb_graph *g, nb_node *y, nb_node *const *xs, int n, nb_node **grads);
/* nb_compile(g, opt), or prints the graph's error ("compile: ...") and exits with 1. */
nb_program *bench_compile(nb_graph *g, const nb_compile_options *opt);
/* Runs the nb_program `program`, or prints its error ("run: ...") and exits with 1: a
 * void (*)(void *) for bench_time. */
void bench_run_program(void *program);

#endif
