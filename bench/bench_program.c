/* bench_program.c — what the benchmarks that time nabla programs share (bench_program.h). */
#include "bench_program.h"

#include <stdio.h>
#include <stdlib.h>

#include "nabla.h"

void bench_run_program(void *program)
{
    if (nb_program_run(program) != 0) {
        fprintf(stderr, "run: %s\n", nb_program_error(program));
        exit(1);
    }
}
