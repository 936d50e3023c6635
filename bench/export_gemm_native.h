/* export_gemm_native.h — the plain C gemm of exported programs compiled at -O3
 * -march=native (export_gemm_native.c), for bench/export_gemm.c. */
#ifndef EXPORT_GEMM_NATIVE_H
#define EXPORT_GEMM_NATIVE_H

void export_gemm_native_f32(int ta, int tb, long m, long n, long k, const float *a, const float *b,
                            float *c);

#endif
