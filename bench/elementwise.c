/* elementwise.c — a benchmark, not a test: fused elementwise loops with transcendental
 * functions, nabla (cc and tcc backends) against hand-written C loops in the same run.
 *
 *   sigmoid:  y = sigmoid(a * b + c) * d
 *   chain:    y = tanh(a * b + c) * exp(-(d * d)) + log1p(a * a)     (10 ops)
 *
 * over f32 arrays of 1M and 16M elements (--sizes). Baselines, compiled with the
 * project: "libm loop", the same expression as a C loop calling libm (what nabla's cc
 * program was before it had its own math: a scalar libm call per element), and "sum4",
 * y = a + b + c + d, a loop that moves the same bytes (4 arrays read, 1 written) with no
 * math: the memory-bandwidth ceiling. Every variant runs --repeat times; the minimum and
 * the median of the wall time are printed with GB/s (20 bytes per element
 * over the minimum) and the ratio of the libm loop's minimum to the variant's (above 1:
 * faster than the libm loop). The cc and tcc outputs are compared bit for bit.
 *
 * nabla's programs run on --threads threads (default 1; 0: nb_get_threads()): kernels
 * of 16,384 elements and more are split across the program's thread pool. The C loops
 * run on the calling thread.
 *
 * Usage: bench_elementwise [--sizes N,N] [--repeat R] [--threads T] [--no-tcc] */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nabla.h"
#include "bench_util.h"

#define BENCH_MAX_SIZES 8
#define BENCH_MAX_REPEAT 100
/* Bytes moved per element: four f32 operands read, one written. */
#define BENCH_BYTES_PER_ELEMENT 20.0
/* Inputs are uniform in [-BENCH_RANGE, BENCH_RANGE]: the functions' interesting part. */
#define BENCH_RANGE 3.0

typedef struct timing {
    double min, median;
} timing;

static timing summarize(double *t, int n)
{
    timing r;
    bench_min_median(t, n, &r.min, &r.median);
    return r;
}

enum { CASE_SIGMOID, CASE_CHAIN, CASES };
static const char *const case_names[CASES] = {"sigmoid", "chain"};

static void libm_loop(int which, float *restrict y, const float *restrict a,
                      const float *restrict b, const float *restrict c, const float *restrict d,
                      int64_t n)
{
    if (which == CASE_SIGMOID) {
        for (int64_t i = 0; i < n; i++)
            y[i] = 1.0f / (1.0f + expf(-(a[i] * b[i] + c[i]))) * d[i];
    } else {
        for (int64_t i = 0; i < n; i++)
            y[i] = tanhf(a[i] * b[i] + c[i]) * expf(-(d[i] * d[i])) + log1pf(a[i] * a[i]);
    }
}

static void sum4_loop(float *restrict y, const float *restrict a, const float *restrict b,
                      const float *restrict c, const float *restrict d, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = a[i] + b[i] + c[i] + d[i];
}

/* The program of one case over n elements, or NULL with a message on stderr. */
static nb_program *build(int which, int64_t n, nb_backend backend, int threads)
{
    nb_graph *g = nb_graph_new();
    if (!g)
        return NULL;
    nb_node *x[4];
    const char *names[4] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++)
        x[i] = nb_input(g, names[i], NB_F32, 1, &n);
    nb_node *u = nb_add(g, nb_mul(g, x[0], x[1]), x[2]), *y;
    if (which == CASE_SIGMOID) {
        y = nb_mul(g, nb_sigmoid(g, u), x[3]);
    } else {
        nb_node *gauss = nb_exp(g, nb_neg(g, nb_mul(g, x[3], x[3])));
        y = nb_add(g, nb_mul(g, nb_tanh(g, u), gauss), nb_log1p(g, nb_mul(g, x[0], x[0])));
    }
    nb_compile_options opt = {0};
    opt.outputs = &y;
    opt.n_outputs = 1;
    opt.backend = backend;
    opt.threads = threads;
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fprintf(stderr, "bench_elementwise: %s\n", nb_graph_error(g));
    nb_graph_free(g);
    return p;
}

static void report(const char *what, int64_t n, timing t, double base)
{
    printf("  %-12s %9.3f ms min %9.3f ms median %7.2f GB/s  x%.2f vs libm loop\n", what,
           1e3 * t.min, 1e3 * t.median, BENCH_BYTES_PER_ELEMENT * (double)n / t.min / 1e9,
           base / t.min);
}

/* Times the program over the inputs: repeat runs. 0, or -1 when a run fails. */
static int time_program(nb_program *p, float *const in[4], int repeat, double *t)
{
    const char *names[4] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++)
        if (nb_program_bind(p, names[i], in[i]) != 0)
            return -1;
    if (nb_program_run(p) != 0) /* warm: pages of the arena touched once */
        return -1;
    for (int r = 0; r < repeat; r++) {
        double t0 = bench_seconds();
        if (nb_program_run(p) != 0)
            return -1;
        t[r] = bench_seconds() - t0;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int64_t sizes[BENCH_MAX_SIZES] = {1 << 20, 1 << 24};
    int n_sizes = 2, repeat = 5, tcc = 1, threads = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
            repeat = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            threads = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--no-tcc") == 0) {
            tcc = 0;
        } else if (strcmp(argv[i], "--sizes") == 0 && i + 1 < argc) {
            n_sizes = 0;
            for (char *s = argv[++i]; *s && n_sizes < BENCH_MAX_SIZES;) {
                char *end;
                sizes[n_sizes++] = strtoll(s, &end, 10);
                s = *end == ',' ? end + 1 : end;
                if (end == s && *s)
                    break;
            }
        } else {
            fprintf(stderr, "usage: %s [--sizes N,N] [--repeat R] [--threads T] [--no-tcc]\n",
                    argv[0]);
            return 2;
        }
    }
    if (repeat < 1 || repeat > BENCH_MAX_REPEAT) {
        fprintf(stderr, "bench_elementwise: --repeat is 1 to %d\n", BENCH_MAX_REPEAT);
        return 2;
    }
    if (threads < 0 || threads > 256) {
        fprintf(stderr, "bench_elementwise: --threads is 0 to 256\n");
        return 2;
    }
    printf("nabla's programs on %d thread(s)\n", threads);
    double t[BENCH_MAX_REPEAT];
    int status = 0;
    for (int s = 0; s < n_sizes && status == 0; s++) {
        int64_t n = sizes[s];
        if (n < 1) {
            fprintf(stderr, "bench_elementwise: a size must be positive\n");
            return 2;
        }
        float *in[4], *y = malloc((size_t)n * sizeof *y);
        uint64_t state = 0x9e3779b97f4a7c15u;
        for (int i = 0; i < 4; i++) {
            in[i] = malloc((size_t)n * sizeof *in[i]);
            for (int64_t j = 0; in[i] && j < n; j++) {
                state = state * 6364136223846793005u + 1442695040888963407u;
                double u = (double)(state >> 11) / 9007199254740992.0;
                in[i][j] = (float)(BENCH_RANGE * (2.0 * u - 1.0));
            }
        }
        if (!y || !in[0] || !in[1] || !in[2] || !in[3]) {
            fprintf(stderr, "bench_elementwise: out of memory\n");
            return 1;
        }
        for (int k = 0; k < CASES && status == 0; k++) {
            printf("%s, %lld floats:\n", case_names[k], (long long)n);
            libm_loop(k, y, in[0], in[1], in[2], in[3], n);
            for (int r = 0; r < repeat; r++) {
                double t0 = bench_seconds();
                libm_loop(k, y, in[0], in[1], in[2], in[3], n);
                t[r] = bench_seconds() - t0;
            }
            timing base = summarize(t, repeat);
            report("libm loop", n, base, base.min);
            for (int r = 0; r < repeat; r++) {
                double t0 = bench_seconds();
                sum4_loop(y, in[0], in[1], in[2], in[3], n);
                t[r] = bench_seconds() - t0;
            }
            report("sum4 (bw)", n, summarize(t, repeat), base.min);
            nb_program *p[2] = {build(k, n, NB_BACKEND_CC, threads),
                                tcc ? build(k, n, NB_BACKEND_TCC, threads) : NULL};
            const char *label[2] = {"nabla cc", "nabla tcc"};
            for (int b = 0; b < 2 && status == 0; b++) {
                if (b == 1 && !tcc)
                    continue;
                if (!p[b] || time_program(p[b], in, repeat, t) != 0) {
                    fprintf(stderr, "bench_elementwise: %s failed: %s\n", label[b],
                            p[b] ? nb_program_error(p[b]) : "compile");
                    status = 1;
                    break;
                }
                report(label[b], n, summarize(t, repeat), base.min);
            }
            if (status == 0 && tcc) {
                const float *o0 = nb_program_output(p[0], 0), *o1 = nb_program_output(p[1], 0);
                int64_t differ = 0;
                for (int64_t i = 0; i < n; i++)
                    differ += memcmp(&o0[i], &o1[i], sizeof *o0) != 0;
                printf("  cc and tcc results differ in %lld of %lld elements\n", (long long)differ,
                       (long long)n);
                status = differ != 0;
            }
            nb_program_free(p[0]);
            nb_program_free(p[1]);
        }
        for (int i = 0; i < 4; i++)
            free(in[i]);
        free(y);
    }
    return status;
}
