/* bench_program.h — what the benchmarks that time nabla programs share (bench_program.c). */
#ifndef NABLA_BENCH_PROGRAM_H
#define NABLA_BENCH_PROGRAM_H

/* Runs the nb_program `program`, or prints its error ("run: ...") and exits with 1: a
 * void (*)(void *) for bench_time. */
void bench_run_program(void *program);

#endif
