/* rt_kernels.c — the heavy kernels generated code calls instead of emitting them: they
 * are compiled with the project at -O3 (libtcc does not optimize) and handed to libtcc
 * with tcc_add_symbol (rt_tcc.c, from codegen/cg_rt.def). */
#include <string.h>

#include <cblas.h>

#include "rt.h"
#include "rt_kernels.h"

void nb_rt_gemm_f32(int ta, int tb, long m, long n, long k, const float *a, const float *b,
                    float *c)
{
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (blasint)m, (blasint)n, (blasint)k, 1.0f, a, (blasint)(ta ? m : k), b,
                (blasint)(tb ? k : n), 0.0f, c, (blasint)n);
}

void nb_rt_gemm_f64(int ta, int tb, long m, long n, long k, const double *a, const double *b,
                    double *c)
{
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (blasint)m, (blasint)n, (blasint)k, 1.0, a, (blasint)(ta ? m : k), b,
                (blasint)(tb ? k : n), 0.0, c, (blasint)n);
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
