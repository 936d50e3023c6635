/* export_gemm_cblas.c — the cblas path of an exported program's gemm
 * (codegen/cg_gemm_text.inc with NB_RT_CBLAS 1), compiled apart from the plain C path
 * (the same helper names) for test_export_gemm.c, which calls it through these names. */
#include "export_gemm_cblas.h"

#define NB_RT_CBLAS 1
#include "cg_gemm_text.inc"

void xg_cblas_f32(int one, int ta, int tb, long m, long n, long k, const float *a, const float *b,
                  float *c)
{
    (one ? nb_rt_gemm_one_f32 : nb_rt_gemm_f32)(ta, tb, m, n, k, a, b, c);
}

void xg_cblas_f64(int one, int ta, int tb, long m, long n, long k, const double *a, const double *b,
                  double *c)
{
    (one ? nb_rt_gemm_one_f64 : nb_rt_gemm_f64)(ta, tb, m, n, k, a, b, c);
}

long xg_cblas_bound(long n, int parts, int p)
{
    return nb_rt_gemm_bound(n, parts, p);
}
