/* rt_kernels.c — the heavy kernels generated code calls instead of emitting them: they
 * are compiled with the project at -O3 (libtcc does not optimize) and handed to libtcc
 * with tcc_add_symbol (rt_tcc.c, from codegen/cg_rt.def). */
#include <string.h>

#include <cblas.h>

#include "rt.h"
#include "rt_kernels.h"

/* A gemm split into blocks of rows or columns of c, for the thread pool. OpenBLAS
 * runs on one thread in every call (rt_threads_blas_init): its own threads spin in
 * sched_yield for a long time after each gemm, on the core the pool's workers need, and
 * its results depend on how many threads it splits a gemm across. Here the blocks
 * depend on the shape alone (RT_GEMM_PARTS blocks above RT_GEMM_SPLIT_MACS
 * multiply-adds), and the same blocks run whether the pool runs them side by side or
 * the calling thread one after the other: the bits do not depend on the threads. */
typedef struct gemm_job {
    int ta, tb, f64;
    int by_rows; /* blocks of rows of c (the larger of m and n is split) */
    long m, n, k;
    const void *a, *b;
    void *c;
} gemm_job;

/* Multiply-adds from which a gemm is split, and into how many blocks: a block of a
 * smaller gemm costs more in packing and calls than running beside another saves. */
#define RT_GEMM_SPLIT_MACS CG_GEMM_SPLIT_MACS
#define RT_GEMM_PARTS 2

/* Sets the block of m rows of n elements of c at element c_at (rows j->n apart) to +0.
 * OpenBLAS's beta = 0 pass does the same with scalar stores; it took 10-20% of the
 * transposed-a gemms of the MLP's backward pass (docs/performance.md). */
static void gemm_zero(const gemm_job *j, long c_at, long m, long n)
{
    size_t elem = j->f64 ? sizeof(double) : sizeof(float);
    unsigned char *c = (unsigned char *)j->c + (size_t)c_at * elem;
    if (n == j->n) {
        memset(c, 0, (size_t)m * (size_t)n * elem);
        return;
    }
    for (long i = 0; i < m; i++)
        memset(c + (size_t)i * (size_t)j->n * elem, 0, (size_t)n * elem);
}

/* Block [lo, hi) of rows or columns of c. The block is zeroed here and OpenBLAS adds
 * the product to it (beta = 1): OpenBLAS's beta = 0 zeroes c first and then adds the
 * same product the same way, so the bits are the same (every element of the MLP's
 * shapes, halves and 1024^3, NaN and subnormal operands, was compared). */
static void gemm_part(const void *const *args, long lo, long hi)
{
    const gemm_job *j = args[0];
    long m = j->m, n = j->n, k = j->k, lda = j->ta ? m : k, ldb = j->tb ? k : n;
    /* Offsets in elements: rows of op(a) and c, or columns of op(b) and c. */
    long a_at = 0, b_at = 0, c_at = lo;
    if (j->by_rows) {
        a_at = j->ta ? lo : lo * k;
        c_at = lo * n;
        m = hi - lo;
    } else {
        b_at = j->tb ? lo * k : lo;
        n = hi - lo;
    }
    enum CBLAS_TRANSPOSE ta = j->ta ? CblasTrans : CblasNoTrans,
                         tb = j->tb ? CblasTrans : CblasNoTrans;
    gemm_zero(j, c_at, m, n);
    if (j->f64)
        cblas_dgemm(CblasRowMajor, ta, tb, (blasint)m, (blasint)n, (blasint)k, 1.0,
                    (const double *)j->a + a_at, (blasint)lda, (const double *)j->b + b_at,
                    (blasint)ldb, 1.0, (double *)j->c + c_at, (blasint)j->n);
    else
        cblas_sgemm(CblasRowMajor, ta, tb, (blasint)m, (blasint)n, (blasint)k, 1.0f,
                    (const float *)j->a + a_at, (blasint)lda, (const float *)j->b + b_at,
                    (blasint)ldb, 1.0f, (float *)j->c + c_at, (blasint)j->n);
}

/* c = op(a) op(b): as RT_GEMM_PARTS blocks from RT_GEMM_SPLIT_MACS multiply-adds on,
 * unless `one`, which makes it one call on the calling thread whatever its size. */
static void gemm_run(int f64, int one, int ta, int tb, long m, long n, long k, const void *a,
                     const void *b, void *c)
{
    gemm_job j = {.ta = ta, .tb = tb, .f64 = f64, .m = m, .n = n, .k = k, .a = a, .b = b, .c = c};
    const void *args[1] = {&j};
    j.by_rows = m >= n;
    int parts =
        !one && (double)m * (double)n * (double)k >= (double)RT_GEMM_SPLIT_MACS ? RT_GEMM_PARTS : 1;
    nb_rt_parallel(gemm_part, args, j.by_rows ? m : n, parts);
}

void nb_rt_gemm_f32(int ta, int tb, long m, long n, long k, const float *a, const float *b,
                    float *c)
{
    gemm_run(0, 0, ta, tb, m, n, k, a, b, c);
}

void nb_rt_gemm_f64(int ta, int tb, long m, long n, long k, const double *a, const double *b,
                    double *c)
{
    gemm_run(1, 0, ta, tb, m, n, k, a, b, c);
}

void nb_rt_gemm_one_f32(int ta, int tb, long m, long n, long k, const float *a, const float *b,
                        float *c)
{
    gemm_run(0, 1, ta, tb, m, n, k, a, b, c);
}

void nb_rt_gemm_one_f64(int ta, int tb, long m, long n, long k, const double *a, const double *b,
                        double *c)
{
    gemm_run(1, 1, ta, tb, m, n, k, a, b, c);
}

void nb_rt_copy(void *dst, const void *src, long bytes)
{
    memcpy(dst, src, (size_t)bytes);
}

/* The kernels generated code may call, by name (cg_rt.def). */
const rt_symbol rt_kernel_symbols[] = {
#define CG_RT(fn, proto) {#fn, (const void *)fn},
#include "cg_rt.def"
#undef CG_RT
};
const int rt_n_kernel_symbols = sizeof rt_kernel_symbols / sizeof *rt_kernel_symbols;
