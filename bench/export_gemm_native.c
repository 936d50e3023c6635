/* export_gemm_native.c — codegen/cg_gemm_text.inc's plain C gemm compiled with the
 * flags bench/CMakeLists.txt gives this file (BENCH_NATIVE_FLAGS), for export_gemm.c. */
#include "export_gemm_native.h"

/* The text defines the four functions of an exported program; one is timed. */
#pragma GCC diagnostic ignored "-Wunused-function"
#define NB_RT_CBLAS 0
#include "cg_gemm_text.inc"

void export_gemm_native_f32(int ta, int tb, long m, long n, long k, const float *a, const float *b,
                            float *c)
{
    nb_rt_gemm_f32(ta, tb, m, n, k, a, b, c);
}
