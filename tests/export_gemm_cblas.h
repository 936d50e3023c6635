/* export_gemm_cblas.h — the cblas path of codegen/cg_gemm_text.inc, compiled in
 * export_gemm_cblas.c, for test_export_gemm.c. */
#ifndef EXPORT_GEMM_CBLAS_H
#define EXPORT_GEMM_CBLAS_H

/* The text's nb_rt_gemm_f32 (or nb_rt_gemm_one_f32 when one), and in f64. */
void xg_cblas_f32(int one, int ta, int tb, long m, long n, long k, const float *a, const float *b,
                  float *c);
void xg_cblas_f64(int one, int ta, int tb, long m, long n, long k, const double *a, const double *b,
                  double *c);
/* The text's nb_rt_gemm_bound: the first row or column of block p. */
long xg_cblas_bound(long n, int parts, int p);

#endif
