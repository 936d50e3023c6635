/* export_gemm.c — a benchmark, not a test: the plain C gemm of exported programs
 * (codegen/cg_gemm_text.inc, NB_RT_CBLAS 0) against OpenBLAS's sgemm on one thread and a
 * naive triple loop, in GFLOP/s (min and median over the rounds), on the MLP 784-256-
 * 128-10's gemms at batch 64 and 256^3, 512^3. The text is compiled twice: here, at the
 * project's flags (what an exported program built like nabla gets), and in
 * export_gemm_native.c at -O3 -march=native (what its headroom is). The contenders take
 * turns round by round, so the machine's noise falls on all of them.
 *
 *   build/bench/bench_export_gemm [--repeat R] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "bench_util.h"
#include "export_gemm_native.h"

/* The text defines the four functions of an exported program; one is timed. */
#pragma GCC diagnostic ignored "-Wunused-function"
#define NB_RT_CBLAS 0
#include "cg_gemm_text.inc"

/* Text widths: the CPU's name and a line of /proc/cpuinfo. */
enum { BENCH_CPU_CHARS = 256, BENCH_LINE_CHARS = 512 };
enum { BENCH_ROUNDS_DEFAULT = 7, BENCH_ROUNDS_MIN = 5, BENCH_MAX_ROUNDS = 1000 };
/* The time one sample lasts at least: well above the clock's resolution. */
static const double BENCH_SAMPLE_SECONDS = 0.02;

typedef struct bench_shape {
    const char *what;
    int ta, tb;
    long m, n, k;
} bench_shape;

/* One training step's gemms (x[64, 784] @ W1[784, 256] forward; x^T @ d1 for a weight
 * gradient; d2 @ W2^T for an input gradient), then two cubes. */
static const bench_shape BENCH_SHAPES[] = {
    {"fwd  x @ W1", 0, 0, 64, 256, 784},    {"fwd  h1 @ W2", 0, 0, 64, 128, 256},
    {"fwd  h2 @ W3", 0, 0, 64, 10, 128},    {"dW1  x^T @ d1", 1, 0, 784, 256, 64},
    {"dW2  h1^T @ d2", 1, 0, 256, 128, 64}, {"dW3  h2^T @ d3", 1, 0, 128, 10, 64},
    {"dh1  d2 @ W2^T", 0, 1, 64, 256, 128}, {"dh2  d3 @ W3^T", 0, 1, 64, 128, 10},
    {"256^3", 0, 0, 256, 256, 256},         {"512^3", 0, 0, 512, 512, 512},
};
#define BENCH_N_SHAPES (sizeof BENCH_SHAPES / sizeof *BENCH_SHAPES)

enum { BENCH_PORTABLE, BENCH_NATIVE, BENCH_OPENBLAS, BENCH_NAIVE, BENCH_CONTENDERS };
static const char *const BENCH_NAMES[BENCH_CONTENDERS] = {"plain C", "plain C native", "OpenBLAS",
                                                          "naive"};

static void naive_f32(const bench_shape *s, const float *a, const float *b, float *c)
{
    for (long i = 0; i < s->m; i++)
        for (long j = 0; j < s->n; j++) {
            float sum = 0.0f;
            for (long p = 0; p < s->k; p++)
                sum += (s->ta ? a[p * s->m + i] : a[i * s->k + p]) *
                       (s->tb ? b[j * s->k + p] : b[p * s->n + j]);
            c[i * s->n + j] = sum;
        }
}

static void run(int who, const bench_shape *s, const float *a, const float *b, float *c)
{
    switch (who) {
    case BENCH_PORTABLE: nb_rt_gemm_f32(s->ta, s->tb, s->m, s->n, s->k, a, b, c); break;
    case BENCH_NATIVE: export_gemm_native_f32(s->ta, s->tb, s->m, s->n, s->k, a, b, c); break;
    case BENCH_OPENBLAS:
        cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans,
                    s->tb ? CblasTrans : CblasNoTrans, (blasint)s->m, (blasint)s->n, (blasint)s->k,
                    1.0f, a, (blasint)(s->ta ? s->m : s->k), b, (blasint)(s->tb ? s->k : s->n),
                    0.0f, c, (blasint)s->n);
        break;
    default: naive_f32(s, a, b, c);
    }
}

/* GFLOP/s of one sample: calls repeated for at least BENCH_SAMPLE_SECONDS. */
static double sample(int who, const bench_shape *s, const float *a, const float *b, float *c)
{
    long calls = 0;
    double start = bench_seconds(), t;
    do {
        run(who, s, a, b, c);
        calls++;
    } while ((t = bench_seconds() - start) < BENCH_SAMPLE_SECONDS);
    return 2.0 * (double)s->m * (double)s->n * (double)s->k * (double)calls / t * 1e-9;
}

static void cpu_name(char *cpu, size_t size)
{
    snprintf(cpu, size, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[BENCH_LINE_CHARS];
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
            snprintf(cpu, size, "%s", strchr(line, ':') + 2);
            cpu[strcspn(cpu, "\n")] = 0;
            break;
        }
    fclose(f);
}

int main(int argc, char **argv)
{
    int rounds = BENCH_ROUNDS_DEFAULT;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--repeat") && i + 1 < argc &&
            !bench_parse_int(argv[i + 1], BENCH_ROUNDS_MIN, BENCH_MAX_ROUNDS, &rounds))
            i++;
        else {
            fprintf(stderr, "usage: %s [--repeat R (%d..%d)]\n", argv[0], BENCH_ROUNDS_MIN,
                    BENCH_MAX_ROUNDS);
            return 2;
        }
    openblas_set_num_threads(1);
    char cpu[BENCH_CPU_CHARS];
    cpu_name(cpu, sizeof cpu);
    printf("sgemm GFLOP/s, one thread, min / median of %d: %s\n", rounds, cpu);
    printf("plain C at the project's flags: %s; plain C native: %s\n", BENCH_FLAGS,
           BENCH_NATIVE_FLAGS);
    printf("%-16s %-14s", "shape", "m x n x k");
    for (int w = 0; w < BENCH_CONTENDERS; w++)
        printf(" %17s", BENCH_NAMES[w]);
    printf(" %9s %9s\n", "C/BLAS", "nat/BLAS");
    double *v = malloc((size_t)rounds * BENCH_CONTENDERS * sizeof *v);
    if (!v)
        return 1;
    for (size_t i = 0; i < BENCH_N_SHAPES; i++) {
        const bench_shape *s = &BENCH_SHAPES[i];
        float *a = malloc((size_t)(s->m * s->k) * sizeof *a),
              *b = malloc((size_t)(s->k * s->n) * sizeof *b),
              *c = malloc((size_t)(s->m * s->n) * sizeof *c);
        if (!a || !b || !c) {
            free(a);
            free(b);
            free(c);
            free(v);
            return 1;
        }
        for (long j = 0; j < s->m * s->k; j++)
            a[j] = (float)rand() / (float)RAND_MAX - 0.5f;
        for (long j = 0; j < s->k * s->n; j++)
            b[j] = (float)rand() / (float)RAND_MAX - 0.5f;
        for (int r = 0; r < rounds; r++)
            for (int w = 0; w < BENCH_CONTENDERS; w++)
                v[w * rounds + r] = sample(w, s, a, b, c);
        char dims[BENCH_LINE_CHARS];
        snprintf(dims, sizeof dims, "%ldx%ldx%ld", s->m, s->n, s->k);
        printf("%-16s %-14s", s->what, dims);
        double median[BENCH_CONTENDERS];
        for (int w = 0; w < BENCH_CONTENDERS; w++) {
            double min;
            /* GFLOP/s: the best sample is the largest; report min and median of the rate. */
            bench_min_median(v + w * rounds, rounds, &min, &median[w]);
            printf("   %6.2f / %6.2f", min, median[w]);
        }
        printf(" %9.2f %9.2f\n", median[BENCH_PORTABLE] / median[BENCH_OPENBLAS],
               median[BENCH_NATIVE] / median[BENCH_OPENBLAS]);
        free(a);
        free(b);
        free(c);
    }
    free(v);
    return 0;
}
