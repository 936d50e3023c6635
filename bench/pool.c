/* pool.c — a benchmark, not a test: max_pool2d and avg_pool2d 2x2 (stride 2) forward and
 * backward at the Fashion-MNIST CNN's shapes, f32[64,32,28,28] and f32[64,64,14,14]
 * (issue 11, items 2 and 6): the program computes y = pool(x) and the gradient of
 * sum(y * gy) for x, compiled with tcc and cc on --threads threads (default 2).
 * bench/pool_torch.py times the same with PyTorch. Each timing is the wall time of one
 * run, --repeat rounds (default 5) of enough runs to take about 0.2 s; min and median
 * in microseconds per run. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_program.h"
#include "bench_util.h"
#include "nabla.h"

static void bench_case(int avg, const int64_t *shape, int threads, int rounds)
{
    int64_t n = shape[0] * shape[1] * shape[2] * shape[3];
    int64_t yshape[4] = {shape[0], shape[1], shape[2] / 2, shape[3] / 2};
    float *x = malloc(sizeof(float) * (size_t)n), *gy = malloc(sizeof(float) * (size_t)n / 4);
    if (!x || !gy)
        exit(1);
    bench_fill(x, n, 1);
    bench_fill(gy, n / 4, 2);
    printf("%s 2x2: f32[%lld,%lld,%lld,%lld], forward + backward\n",
           avg ? "avg_pool2d" : "max_pool2d", (long long)shape[0], (long long)shape[1],
           (long long)shape[2], (long long)shape[3]);
    for (int b = 0; b < 2; b++) {
        nb_graph *g = nb_graph_new();
        nb_node *xn = nb_input(g, "x", NB_F32, 4, shape);
        nb_node *gn = nb_input(g, "gy", NB_F32, 4, yshape);
        const int64_t k[2] = {2, 2};
        nb_node *y = avg ? nb_avg_pool2d(g, xn, k, NULL, NULL, 0, 1, 0)
                         : nb_max_pool2d(g, xn, k, NULL, NULL, NULL, 0);
        nb_node *l = nb_sum(g, nb_mul(g, y, gn), NULL, 0, 0);
        nb_node *outs[2] = {y, NULL};
        bench_grad(g, l, &xn, 1, &outs[1]);
        nb_compile_options opt = {.outputs = outs,
                                  .n_outputs = 2,
                                  .backend = b ? NB_BACKEND_CC : NB_BACKEND_TCC,
                                  .threads = threads};
        nb_program *p = bench_compile(g, &opt);
        nb_program_bind(p, "x", x);
        nb_program_bind(p, "gy", gy);
        double min, med;
        bench_time(bench_run_program, p, rounds, CLOCK_MONOTONIC, &min, &med);
        printf("  nabla %-4s min %10.2f us  median %10.2f us\n", b ? "cc" : "tcc", min * 1e6,
               med * 1e6);
        nb_program_free(p);
        nb_graph_free(g);
    }
    free(x);
    free(gy);
}

int main(int argc, char **argv)
{
    int threads = 2, rounds = 5;
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--threads") == 0 &&
            bench_parse_int(argv[i + 1], 1, 64, &threads) == 0)
            i++;
        else if (i + 1 < argc && strcmp(argv[i], "--repeat") == 0 &&
                 bench_parse_int(argv[i + 1], 1, BENCH_ROUNDS_MAX, &rounds) == 0)
            i++;
        else {
            fprintf(stderr, "usage: %s [--threads N] [--repeat N]\n", argv[0]);
            return 2;
        }
    }
    printf("%d threads\n", threads);
    const int64_t shapes[2][4] = {{64, 32, 28, 28}, {64, 64, 14, 14}};
    for (int avg = 0; avg < 2; avg++)
        for (int s = 0; s < 2; s++)
            bench_case(avg, shapes[s], threads, rounds);
    return 0;
}
