/* rt_kernels.h — the kernels that generated code calls (listed in codegen/cg_rt.def). */
#ifndef RT_KERNELS_H
#define RT_KERNELS_H

/* c[m, n] = op(a) @ op(b), row-major and contiguous, through OpenBLAS; op(a) is a[m, k],
 * or the transpose of a stored [k, m] when ta is set (likewise b: [k, n] or [n, k]).
 * c does not overlap a or b. */
void nb_rt_gemm_f32(int ta, int tb, long m, long n, long k, const float *a, const float *b,
                    float *c);
void nb_rt_gemm_f64(int ta, int tb, long m, long n, long k, const double *a, const double *b,
                    double *c);

/* Copies bytes from src to dst (no overlap): parameter updates at the end of a run. */
void nb_rt_copy(void *dst, const void *src, long bytes);

#endif
