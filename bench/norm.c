/* norm.c — a benchmark, not a test: layer norm over f32[64*196, 64] (a ViT's tokens) and
 * batch norm (training) over f32[64, 32, 28, 28], forward and backward (the gradients of
 * sum(y * gy) for x, weight and bias), each compiled with tcc and cc on --threads N
 * program threads (2 by default). The baseline is the same layer norm written as a chain
 * of ordinary reductions (mean, variance, rsqrt), timed in the same run.
 * bench/norm_torch.py times the same cases with PyTorch. Each timing is the wall time of
 * one run (--cpu: the process's CPU time, steadier on a loaded machine; use it with
 * --threads 1), --repeat rounds of enough runs to take about 0.2 s; min and median per
 * run in microseconds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_program.h"
#include "bench_util.h"
#include "nabla.h"

#define ROUNDS_DEFAULT 5

/* The clock the timings read: wall time, or the process's CPU time (--cpu). */
static clockid_t clock_id = CLOCK_MONOTONIC;

/* Which graph a case builds. */
typedef enum norm_case { CASE_LAYER, CASE_LAYER_CHAIN, CASE_BATCH } norm_case;

/* Layer norm as ordinary nodes: (x - mean) * rsqrt(var + eps) * w + b. */
static nb_node *layer_norm_chain(nb_graph *g, nb_node *x, nb_node *w, nb_node *b)
{
    int last = -1;
    nb_node *xc = nb_sub(g, x, nb_mean(g, x, &last, 1, 1));
    nb_node *var = nb_mean(g, nb_mul(g, xc, xc), &last, 1, 1);
    nb_node *y = nb_mul(g, xc, nb_rsqrt(g, nb_add(g, var, nb_scalar(g, NB_F32, NB_NORM_EPS))));
    return nb_add(g, nb_mul(g, y, w), b);
}

static void bench_case(const char *label, norm_case kind, int rank, const int64_t *shape, int64_t c,
                       int threads, int rounds)
{
    for (int be = 0; be < 2; be++) {
        nb_graph *g = nb_graph_new();
        nb_node *x = nb_input(g, "x", NB_F32, rank, shape);
        nb_node *gy = nb_input(g, "gy", NB_F32, rank, shape);
        nb_node *w = nb_param(g, "w", NB_F32, 1, &c), *b = nb_param(g, "b", NB_F32, 1, &c), *y;
        if (kind == CASE_LAYER)
            y = nb_layer_norm(g, x, 1, w, b, NB_NORM_EPS);
        else if (kind == CASE_LAYER_CHAIN)
            y = layer_norm_chain(g, x, w, b);
        else
            y = nb_batch_norm(g, x, NULL, NULL, w, b, 1, 0.1, NB_NORM_EPS, NULL, NULL);
        nb_node *loss = nb_sum(g, nb_mul(g, y, gy), NULL, 0, 0);
        nb_node *wrt[3] = {x, w, b}, *outs[4];
        outs[0] = y;
        bench_grad(g, loss, wrt, 3, outs + 1);
        nb_compile_options opt = {.outputs = outs,
                                  .n_outputs = 4,
                                  .backend = be ? NB_BACKEND_CC : NB_BACKEND_TCC,
                                  .threads = threads};
        nb_program *p = bench_compile(g, &opt);
        int64_t n = nb_node_numel(x);
        float *vx = malloc((size_t)n * sizeof *vx), *vg = malloc((size_t)n * sizeof *vg);
        bench_fill(vx, n, 1);
        bench_fill(vg, n, 2);
        nb_program_bind(p, "x", vx);
        nb_program_bind(p, "gy", vg);
        double min, median;
        bench_time(bench_run_program, p, rounds, clock_id, &min, &median);
        printf("  %-34s %-3s min %9.1f us  median %9.1f us\n", label, be ? "cc" : "tcc", min * 1e6,
               median * 1e6);
        nb_program_free(p);
        nb_graph_free(g);
        free(vx);
        free(vg);
    }
}

int main(int argc, char **argv)
{
    int rounds = ROUNDS_DEFAULT, threads = 2;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc &&
            bench_parse_int(argv[i + 1], 1, BENCH_ROUNDS_MAX, &rounds) == 0)
            i++;
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc &&
                 bench_parse_int(argv[i + 1], 1, 256, &threads) == 0)
            i++;
        else if (strcmp(argv[i], "--cpu") == 0)
            clock_id = CLOCK_PROCESS_CPUTIME_ID;
        else {
            fprintf(stderr, "usage: %s [--repeat N] [--threads N] [--cpu]\n", argv[0]);
            return 2;
        }
    }
    const int64_t ln[2] = {64 * 196, 64}, bn[4] = {64, 32, 28, 28};
    printf("forward + backward (x, weight, bias), %d program threads, %s time\n", threads,
           clock_id == CLOCK_MONOTONIC ? "wall" : "CPU");
    bench_case("layer_norm [12544,64]", CASE_LAYER, 2, ln, 64, threads, rounds);
    bench_case("layer_norm as reductions (baseline)", CASE_LAYER_CHAIN, 2, ln, 64, threads, rounds);
    bench_case("batch_norm train [64,32,28,28]", CASE_BATCH, 4, bn, 32, threads, rounds);
    return 0;
}
