/* rt_kernels.h — the kernels that generated code calls (listed in codegen/cg_rt.def). */
#ifndef RT_KERNELS_H
#define RT_KERNELS_H

/* c[m, n] = a[m, k] @ b[k, n], all row-major and contiguous; c does not overlap a or b. */
void nb_rt_matmul_f32(long m, long n, long k, const float *a, const float *b, float *c);
void nb_rt_matmul_f64(long m, long n, long k, const double *a, const double *b, double *c);

/* Copies bytes from src to dst (no overlap): parameter updates at the end of a run. */
void nb_rt_copy(void *dst, const void *src, long bytes);

#endif
