/* gemm_rate.c — a benchmark, not a test: what OpenBLAS's sgemm (the kernel nabla's
 * matmuls call, runtime/rt_kernels.c) does on this machine, for the floors of the
 * Fashion-MNIST benchmark (bench/run_fashion_mnist.sh):
 * - 1024^3 in GFLOP/s: the machine's practical peak; the FLOP-bound floor of an epoch
 *   is the epoch's gemm FLOPs (60.4 G) at that rate;
 * - the eight gemms of one training step of the MLP (784-256-128-10, batch 64: three
 *   forward, three weight gradients, two input gradients) at their own shapes and
 *   transposes: their sum times the steps of an epoch is the shape-aware gemm floor,
 *   what an epoch costs if everything but the gemms took no time.
 * Each figure is the minimum and the median over --repeat timings.
 *
 *   build/bench/bench_gemm_rate [--threads N] [--repeat R]
 * The last line, "epoch floors: ...", is what run_fashion_mnist.sh reads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "bench_util.h"

#define DEFAULT_REPEAT 7
#define MAX_REPEAT 64
#define PEAK_N 1024
/* The MLP and its data set: one epoch is EPOCH_SAMPLES / BATCH steps. */
#define BATCH 64
#define EPOCH_SAMPLES 60000
/* Timing a small gemm once is below the clock's resolution: each timing repeats it. */
#define SMALL_CALLS 200

typedef struct shape {
    const char *what;
    int ta, tb;
    int m, n, k;
} shape;

/* One training step's gemms, C[m, n] = op(A)[m, k] op(B)[k, n] (x[64, 784] @ W1[784,
 * 256] forward; x^T @ dh for a weight gradient; dh @ W^T for an input gradient). */
static const shape step_shapes[] = {
    {"fwd  x @ W1", 0, 0, BATCH, 256, 784},    {"fwd  h1 @ W2", 0, 0, BATCH, 128, 256},
    {"fwd  h2 @ W3", 0, 0, BATCH, 10, 128},    {"dW1  x^T @ d1", 1, 0, 784, 256, BATCH},
    {"dW2  h1^T @ d2", 1, 0, 256, 128, BATCH}, {"dW3  h2^T @ d3", 1, 0, 128, 10, BATCH},
    {"dh1  d2 @ W2^T", 0, 1, BATCH, 256, 128}, {"dh2  d3 @ W3^T", 0, 1, BATCH, 128, 10},
};
#define N_STEP_SHAPES (sizeof step_shapes / sizeof *step_shapes)

/* Seconds per call of one gemm, over calls calls. */
static double time_gemm(const shape *s, const float *a, const float *b, float *c, int calls)
{
    double t0 = bench_seconds();
    for (int i = 0; i < calls; i++)
        cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans,
                    s->tb ? CblasTrans : CblasNoTrans, s->m, s->n, s->k, 1.0f, a,
                    s->ta ? s->m : s->k, b, s->tb ? s->k : s->n, 0.0f, c, s->n);
    return (bench_seconds() - t0) / calls;
}

int main(int argc, char **argv)
{
    int threads = 0, repeat = DEFAULT_REPEAT;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else
            repeat = 0;
        if (repeat < 1 || repeat > MAX_REPEAT || threads < 0) {
            fprintf(stderr, "usage: bench_gemm_rate [--threads N] [--repeat 1..%d]\n", MAX_REPEAT);
            return 2;
        }
    }
    if (threads > 0)
        openblas_set_num_threads(threads);
    size_t big = (size_t)PEAK_N * PEAK_N;
    float *a = malloc(big * sizeof *a), *b = malloc(big * sizeof *b), *c = malloc(big * sizeof *c);
    if (!a || !b || !c) {
        fprintf(stderr, "bench_gemm_rate: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < big; i++) {
        a[i] = (float)(i % 17) * 0.125f - 1.0f;
        b[i] = (float)(i % 13) * 0.0625f - 0.375f;
    }
    printf("OpenBLAS sgemm, %d thread(s), min / median of %d timings\n", openblas_get_num_threads(),
           repeat);

    double t[MAX_REPEAT], tmin, tmed;
    const shape peak = {"1024^3", 0, 0, PEAK_N, PEAK_N, PEAK_N};
    time_gemm(&peak, a, b, c, 1); /* warm-up: threads started, pages touched */
    for (int r = 0; r < repeat; r++)
        t[r] = time_gemm(&peak, a, b, c, 1);
    bench_min_median(t, repeat, &tmin, &tmed);
    double peak_flops = 2.0 * PEAK_N * PEAK_N * PEAK_N;
    double peak_rate = peak_flops / tmin; /* the best rate: the floor is a bound */
    printf("%-16s %9.1f / %-9.1f GFLOP/s\n", peak.what, peak_flops / tmin * 1e-9,
           peak_flops / tmed * 1e-9);

    double step_min = 0, step_med = 0, step_flops = 0;
    for (size_t i = 0; i < N_STEP_SHAPES; i++) {
        const shape *s = &step_shapes[i];
        double flops = 2.0 * s->m * s->n * s->k;
        time_gemm(s, a, b, c, SMALL_CALLS);
        for (int r = 0; r < repeat; r++)
            t[r] = time_gemm(s, a, b, c, SMALL_CALLS);
        bench_min_median(t, repeat, &tmin, &tmed);
        printf("%-16s %9.1f / %-9.1f GFLOP/s  %4d x %4d x %4d%s  %7.2f / %-7.2f us\n", s->what,
               flops / tmin * 1e-9, flops / tmed * 1e-9, s->m, s->n, s->k,
               s->ta   ? " (A^T)"
               : s->tb ? " (B^T)"
                       : "      ",
               tmin * 1e6, tmed * 1e6);
        step_min += tmin;
        step_med += tmed;
        step_flops += flops;
    }
    double steps = (double)EPOCH_SAMPLES / BATCH;
    double epoch_flops = step_flops * steps;
    printf("one step's gemms: %.1f MFLOP, %.1f / %.1f us\n", step_flops * 1e-6, step_min * 1e6,
           step_med * 1e6);
    printf("epoch floors: %.1f GFLOP; FLOP-bound %.3f s at %.1f GFLOP/s (1024^3); "
           "shape-aware gemms %.3f / %.3f s (min / median)\n",
           epoch_flops * 1e-9, epoch_flops / peak_rate, peak_rate * 1e-9, step_min * steps,
           step_med * steps);
    free(a);
    free(b);
    free(c);
    return 0;
}
