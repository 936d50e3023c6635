/* gemm.c — single-precision gemm of every library found at configure time (OpenBLAS
 * always; BLIS, oneDNN and libxsmm when CMake found them) on the shapes nabla's examples
 * run, at 1 and 2 threads, side by side in one run: min / median GFLOP/s and the winner
 * per shape.
 *
 * Every call is row-major C = op(A) op(B) with beta 0, as runtime/rt_kernels.c calls it.
 * The libraries take turns round by round, so the machine's noise falls on all of them. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>

#include "bench_util.h"
#ifdef NABLA_HAVE_BLIS
#include <blis.h>
#endif
#ifdef NABLA_HAVE_DNNL
#include <dnnl.h>
#endif
#ifdef NABLA_HAVE_XSMM
#include <libxsmm.h>
#endif
#if defined(NABLA_HAVE_BLIS) || defined(NABLA_HAVE_DNNL)
#include <omp.h>
#endif

/* Text widths: a shape's "m x n x k", the CPU's name, a line of /proc/cpuinfo. */
enum { BENCH_DIMS_CHARS = 32, BENCH_CPU_CHARS = 256, BENCH_LINE_CHARS = 512 };
/* Rounds (each library once per round, per shape) and the time one sample lasts at
 * least: short enough that a run of every shape takes under a minute, long enough that
 * the clock's resolution does not matter. */
enum {
    BENCH_ALIGN = 64,
    BENCH_ROUNDS_DEFAULT = 15,
    BENCH_MAX_ROUNDS = 1000,
    BENCH_MAX_THREADS = 64
};
static const double BENCH_SAMPLE_SECONDS = 0.02;
/* A library "wins clearly" when its median beats the runner-up's by this factor. */
static const double BENCH_CLEAR_MARGIN = 1.10;
/* Results of two libraries may differ by summation order only: relative to the size of
 * the sum of |a||b| terms, far below this. */
static const double BENCH_MAX_REL_DIFF = 1e-4;

typedef struct {
    const char *name; /* what it is in the examples */
    int ta, tb;
    long m, n, k;
} bench_shape;

/* The Fashion-MNIST MLP 784-256-128-10 at batch 64: forward x·W, input gradient
 * gy·Wᵀ (the first layer has none: x is an input), weight gradient xᵀ·gy; then 1024³. */
static const bench_shape BENCH_SHAPES[] = {
    {"fwd L1 x.W", 0, 0, 64, 256, 784}, {"fwd L2", 0, 0, 64, 128, 256},
    {"fwd L3", 0, 0, 64, 10, 128},      {"dx L2 gy.W^T", 0, 1, 64, 256, 128},
    {"dx L3", 0, 1, 64, 128, 10},       {"dW L1 x^T.gy", 1, 0, 784, 256, 64},
    {"dW L2", 1, 0, 256, 128, 64},      {"dW L3", 1, 0, 128, 10, 64},
    {"1024^3", 0, 0, 1024, 1024, 1024},
};
enum { BENCH_N_SHAPES = sizeof BENCH_SHAPES / sizeof *BENCH_SHAPES };

/* A library: its threads knob, an optional per-shape preparation (libxsmm's JIT) and
 * the call. prepare returns 0 when the library cannot run the shape. */
typedef struct {
    const char *name;
    void (*set_threads)(int);
    int (*prepare)(const bench_shape *s);
    void (*gemm)(const bench_shape *s, const float *a, const float *b, float *c);
} bench_lib;

static void openblas_threads(int t)
{
    openblas_set_num_threads(t);
}

static void openblas_gemm(const bench_shape *s, const float *a, const float *b, float *c)
{
    cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans, s->tb ? CblasTrans : CblasNoTrans,
                (blasint)s->m, (blasint)s->n, (blasint)s->k, 1.0f, a,
                (blasint)(s->ta ? s->m : s->k), b, (blasint)(s->tb ? s->k : s->n), 0.0f, c,
                (blasint)s->n);
}

#ifdef NABLA_HAVE_BLIS
static void blis_threads(int t)
{
    bli_thread_set_num_threads(t);
}

/* BLIS takes both strides, so a transposed operand is the stored one with its row and
 * column strides swapped. */
static void blis_gemm(const bench_shape *s, const float *a, const float *b, float *c)
{
    float one = 1.0f, zero = 0.0f;
    inc_t lda = s->ta ? s->m : s->k, ldb = s->tb ? s->k : s->n;
    bli_sgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, s->m, s->n, s->k, &one, (float *)a,
              s->ta ? 1 : lda, s->ta ? lda : 1, (float *)b, s->tb ? 1 : ldb, s->tb ? ldb : 1, &zero,
              c, s->n, 1);
}
#endif

#ifdef NABLA_HAVE_DNNL
static void omp_threads(int t)
{
    omp_set_num_threads(t);
}

static void onednn_gemm(const bench_shape *s, const float *a, const float *b, float *c)
{
    dnnl_sgemm(s->ta ? 'T' : 'N', s->tb ? 'T' : 'N', s->m, s->n, s->k, 1.0f, a, s->ta ? s->m : s->k,
               b, s->tb ? s->k : s->n, 0.0f, c, s->n);
}
#endif

#ifdef NABLA_HAVE_XSMM
/* libxsmm is column-major: row-major C = A·B is column-major Cᵀ = Bᵀ·Aᵀ, so the operands
 * and their flags swap. The kernel is generated once per shape, as nabla would at
 * compile time; libxsmm's threads are the caller's, so it runs on one. */
static libxsmm_smmfunction xsmm_kernel;

static void xsmm_threads(int t)
{
    (void)t;
}

static int xsmm_prepare(const bench_shape *s)
{
    libxsmm_blasint lda = s->tb ? s->k : s->n, ldb = s->ta ? s->m : s->k, ldc = s->n;
    float one = 1.0f, zero = 0.0f;
    int flags = (s->tb ? LIBXSMM_GEMM_FLAG_TRANS_A : 0) | (s->ta ? LIBXSMM_GEMM_FLAG_TRANS_B : 0);
    int prefetch = LIBXSMM_PREFETCH_NONE;
    xsmm_kernel =
        libxsmm_smmdispatch(s->n, s->m, s->k, &lda, &ldb, &ldc, &one, &zero, &flags, &prefetch);
    return xsmm_kernel != NULL;
}

static void xsmm_gemm(const bench_shape *s, const float *a, const float *b, float *c)
{
    (void)s;
    xsmm_kernel(b, a, c);
}
#endif

static const bench_lib BENCH_LIBS[] = {
    {"OpenBLAS", openblas_threads, NULL, openblas_gemm},
#ifdef NABLA_HAVE_BLIS
    {"BLIS", blis_threads, NULL, blis_gemm},
#endif
#ifdef NABLA_HAVE_DNNL
    {"oneDNN", omp_threads, NULL, onednn_gemm},
#endif
#ifdef NABLA_HAVE_XSMM
    {"libxsmm", xsmm_threads, xsmm_prepare, xsmm_gemm},
#endif
};
enum { BENCH_N_LIBS = sizeof BENCH_LIBS / sizeof *BENCH_LIBS };

/* The clock samples are read on: at one thread the CPU time of the calling thread (the
 * library runs on it alone), so that other processes holding the shared CPU count less;
 * at more threads the wall time, since the helpers' CPU time is not the caller's. */
static clockid_t bench_clock = CLOCK_MONOTONIC;

static double now(void)
{
    return bench_clock_seconds(bench_clock);
}

/* Operands 64-byte aligned, as nabla's arena and state and PyTorch's tensors are:
 * OpenBLAS ran 1024³ 10–20% slower at malloc's 16-byte offset from a page. */
static void *alloc_floats(int64_t n)
{
    size_t bytes = ((size_t)n * sizeof(float) + BENCH_ALIGN - 1) / BENCH_ALIGN * BENCH_ALIGN;
    return aligned_alloc(BENCH_ALIGN, bytes);
}

/* Seconds per call: enough calls to last BENCH_SAMPLE_SECONDS (counted on the first). */
static double sample(const bench_lib *l, const bench_shape *s, const float *a, const float *b,
                     float *c, long *calls)
{
    if (*calls == 0) {
        double t0 = now();
        l->gemm(s, a, b, c);
        double t = now() - t0;
        *calls = t >= BENCH_SAMPLE_SECONDS ? 1 : (long)(BENCH_SAMPLE_SECONDS / (t + 1e-9)) + 1;
    }
    double t0 = now();
    for (long i = 0; i < *calls; i++)
        l->gemm(s, a, b, c);
    return (now() - t0) / (double)*calls;
}

/* The largest |c - ref| over the scale of the terms summed, sum |a||b| (from |ref|'s
 * magnitude bound k * max|a| * max|b|, with inputs in [-1, 1]). */
static double rel_diff(const bench_shape *s, const float *c, const float *ref)
{
    double worst = 0;
    for (long i = 0; i < s->m * s->n; i++) {
        double d = fabs((double)c[i] - (double)ref[i]) / (double)s->k;
        if (!(d <= worst))
            worst = d;
    }
    return worst;
}

/* Whether each library gives the same bits at 1 and at `threads` threads on every shape
 * (nabla's results must not depend on the thread count). Prints one line. */
static int check_threads(int threads)
{
    int rc = 1;
    float *a = NULL, *b = NULL, *c1 = NULL, *c2 = NULL;
    size_t n = 0; /* floats in the largest operand or result */
    for (int i = 0; i < BENCH_N_SHAPES; i++) {
        const bench_shape *s = &BENCH_SHAPES[i];
        long sizes[3] = {s->m * s->k, s->k * s->n, s->m * s->n};
        for (int j = 0; j < 3; j++)
            n = (size_t)sizes[j] > n ? (size_t)sizes[j] : n;
    }
    a = alloc_floats((int64_t)n);
    b = alloc_floats((int64_t)n);
    c1 = alloc_floats((int64_t)n);
    c2 = alloc_floats((int64_t)n);
    if (!a || !b || !c1 || !c2) {
        fprintf(stderr, "gemm: out of memory\n");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        a[i] = (float)sin((double)i);
        b[i] = (float)cos((double)i * 0.7);
    }
    printf("same bits at 1 and %d threads:", threads);
    for (int l = 0; l < BENCH_N_LIBS; l++) {
        const bench_lib *lib = &BENCH_LIBS[l];
        int same = 1, tried = 0;
        for (int i = 0; i < BENCH_N_SHAPES; i++) {
            const bench_shape *s = &BENCH_SHAPES[i];
            size_t mn = (size_t)(s->m * s->n) * sizeof *c1;
            if (lib->prepare && !lib->prepare(s))
                continue;
            tried = 1;
            lib->set_threads(1);
            lib->gemm(s, a, b, c1);
            lib->set_threads(threads);
            lib->gemm(s, a, b, c2);
            if (memcmp(c1, c2, mn)) {
                printf(" %s differs on %s;", lib->name, s->name);
                same = 0;
            }
        }
        if (tried && same)
            printf(" %s yes;", lib->name);
    }
    printf("\n");
    rc = 0;
fail:
    free(a);
    free(b);
    free(c1);
    free(c2);
    return rc;
}

static int run(int threads, int rounds)
{
    int rc = 1;
    float *a = NULL, *b = NULL, *c = NULL, *ref = NULL;
    double *t = NULL;
    long maxmk = 0, maxkn = 0, maxmn = 0;
    for (int i = 0; i < BENCH_N_SHAPES; i++) {
        const bench_shape *s = &BENCH_SHAPES[i];
        maxmk = s->m * s->k > maxmk ? s->m * s->k : maxmk;
        maxkn = s->k * s->n > maxkn ? s->k * s->n : maxkn;
        maxmn = s->m * s->n > maxmn ? s->m * s->n : maxmn;
    }
    a = alloc_floats(maxmk);
    b = alloc_floats(maxkn);
    c = alloc_floats(maxmn);
    ref = alloc_floats(maxmn);
    t = malloc((size_t)BENCH_N_LIBS * (size_t)rounds * sizeof *t);
    if (!a || !b || !c || !ref || !t) {
        fprintf(stderr, "gemm: out of memory\n");
        goto fail;
    }
    /* Deterministic values in [-1, 1], none subnormal. */
    unsigned long x = 88172645463325252ul;
    for (long i = 0; i < maxmk; i++, x = x * 6364136223846793005ul + 1442695040888963407ul)
        a[i] = (float)((double)(x >> 40) / (double)(1ul << 23) - 1.0);
    for (long i = 0; i < maxkn; i++, x = x * 6364136223846793005ul + 1442695040888963407ul)
        b[i] = (float)((double)(x >> 40) / (double)(1ul << 23) - 1.0);
    for (int l = 0; l < BENCH_N_LIBS; l++)
        BENCH_LIBS[l].set_threads(threads);

    bench_clock = threads == 1 ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC;
    printf("\n%d thread%s, %d rounds, %s; GFLOP/s best / median (higher is better)\n", threads,
           threads > 1 ? "s" : "", rounds, threads == 1 ? "thread CPU time" : "wall time");
    printf("%-14s %-3s %-16s", "shape", "op", "m x n x k");
    for (int l = 0; l < BENCH_N_LIBS; l++)
        printf(" %17s", BENCH_LIBS[l].name);
    printf("  winner (median / runner-up)\n");
    for (int i = 0; i < BENCH_N_SHAPES; i++) {
        const bench_shape *s = &BENCH_SHAPES[i];
        int ok[BENCH_N_LIBS];
        long calls[BENCH_N_LIBS];
        openblas_gemm(s, a, b, ref);
        for (int l = 0; l < BENCH_N_LIBS; l++) {
            const bench_lib *lib = &BENCH_LIBS[l];
            calls[l] = 0;
            ok[l] = !lib->prepare || lib->prepare(s);
            if (!ok[l])
                continue;
            memset(c, 0, (size_t)(s->m * s->n) * sizeof *c);
            lib->gemm(s, a, b, c);
            double d = rel_diff(s, c, ref);
            if (!(d <= BENCH_MAX_REL_DIFF)) {
                fprintf(stderr, "gemm: %s gives a wrong result on %s (relative error %g)\n",
                        lib->name, s->name, d);
                goto fail;
            }
        }
        /* libxsmm keeps one kernel at a time: prepare it again inside the round. */
        for (int r = 0; r < rounds; r++)
            for (int l = 0; l < BENCH_N_LIBS; l++)
                if (ok[l]) {
                    if (BENCH_LIBS[l].prepare)
                        BENCH_LIBS[l].prepare(s);
                    t[l * rounds + r] = sample(&BENCH_LIBS[l], s, a, b, c, &calls[l]);
                }
        double flop = 2.0 * (double)s->m * (double)s->n * (double)s->k;
        double med[BENCH_N_LIBS];
        char op[4] = {s->ta ? 'T' : 'N', s->tb ? 'T' : 'N', 0, 0};
        char dims[BENCH_DIMS_CHARS];
        snprintf(dims, sizeof dims, "%ldx%ldx%ld", s->m, s->n, s->k);
        printf("%-14s %-3s %-16s", s->name, op, dims);
        int best = -1, second = -1;
        for (int l = 0; l < BENCH_N_LIBS; l++) {
            med[l] = 0;
            if (!ok[l]) {
                printf(" %17s", "n/a");
                continue;
            }
            double *tl = &t[l * rounds];
            double tmin, tmed;
            bench_min_median(tl, rounds, &tmin, &tmed);
            double gmax = flop / tmin * 1e-9;
            med[l] = flop / tmed * 1e-9;
            printf(" %8.1f / %6.1f", gmax, med[l]);
            if (best < 0 || med[l] > med[best]) {
                second = best;
                best = l;
            } else if (second < 0 || med[l] > med[second]) {
                second = l;
            }
        }
        if (second >= 0)
            printf("  %s (%.2fx %s)%s\n", BENCH_LIBS[best].name, med[best] / med[second],
                   BENCH_LIBS[second].name,
                   med[best] >= BENCH_CLEAR_MARGIN * med[second] ? " clear" : "");
        else
            printf("  %s\n", BENCH_LIBS[best].name);
    }
    rc = 0;
fail:
    free(a);
    free(b);
    free(c);
    free(ref);
    free(t);
    return rc;
}

int main(int argc, char **argv)
{
    int rounds = BENCH_ROUNDS_DEFAULT, threads[BENCH_MAX_THREADS], n_threads = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rounds") && i + 1 < argc &&
            !bench_parse_int(argv[i + 1], 1, BENCH_MAX_ROUNDS, &rounds)) {
            i++;
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc && n_threads < BENCH_MAX_THREADS &&
                   !bench_parse_int(argv[i + 1], 1, BENCH_MAX_THREADS, &threads[n_threads])) {
            n_threads++;
            i++;
        } else {
            fprintf(stderr,
                    "usage: %s [--rounds N] [--threads N]...\n"
                    "  --rounds N   samples per library and shape (default %d)\n"
                    "  --threads N  a thread count to run (repeatable; default 1 and 2)\n",
                    argv[0], BENCH_ROUNDS_DEFAULT);
            return 2;
        }
    }
    /* libgomp (BLIS, oneDNN) spins after each parallel region unless told otherwise, and
     * reads that when it loads: run again with the policy set, as PyTorch is measured. */
    if (!getenv("OMP_WAIT_POLICY")) {
        if (setenv("OMP_WAIT_POLICY", "passive", 1) == 0)
            execv("/proc/self/exe", argv);
        fprintf(stderr, "gemm: could not run again with OMP_WAIT_POLICY=passive: %s\n",
                strerror(errno));
        return 1;
    }
    if (n_threads == 0) {
        threads[0] = 1;
        threads[1] = 2;
        n_threads = 2;
    }
#ifdef NABLA_HAVE_XSMM
    libxsmm_init();
#endif
    char cpu[BENCH_CPU_CHARS] = "unknown CPU";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[BENCH_LINE_CHARS];
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
                snprintf(cpu, sizeof cpu, "%s", strchr(line, ':') + 2);
                cpu[strcspn(cpu, "\n")] = 0;
                break;
            }
        fclose(f);
    }
    printf("sgemm, row-major, beta 0: %s, OMP_WAIT_POLICY=%s\n", cpu, getenv("OMP_WAIT_POLICY"));
    int rc = 0;
    for (int i = 0; i < n_threads && !rc; i++)
        if (threads[i] > 1)
            rc = check_threads(threads[i]);
    for (int i = 0; i < n_threads && !rc; i++)
        rc = run(threads[i], rounds);
#ifdef NABLA_HAVE_XSMM
    libxsmm_finalize();
#endif
    return rc;
}
