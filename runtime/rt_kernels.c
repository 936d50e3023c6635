/* rt_kernels.c — the heavy kernels generated code calls instead of emitting them: they
 * are compiled with the project at -O3 (libtcc does not optimize) and handed to libtcc
 * with tcc_add_symbol (rt_tcc.c, from codegen/cg_rt.def). */
#include <string.h>

#include "rt_kernels.h"

/* The i-k-j order walks b and c row by row, so the inner loop is a contiguous axpy
 * that the compiler vectorizes; each c row stays in cache while k rows of b stream by. */
#define RT_MATMUL(NAME, T)                                                                         \
    void NAME(long m, long n, long k, const T *a, const T *b, T *c)                                \
    {                                                                                              \
        for (long i = 0; i < m; i++) {                                                             \
            T *restrict ci = c + i * n;                                                            \
            const T *ai = a + i * k;                                                               \
            for (long j = 0; j < n; j++)                                                           \
                ci[j] = 0;                                                                         \
            for (long p = 0; p < k; p++) {                                                         \
                const T aip = ai[p];                                                               \
                const T *restrict bp = b + p * n;                                                  \
                for (long j = 0; j < n; j++)                                                       \
                    ci[j] += aip * bp[j];                                                          \
            }                                                                                      \
        }                                                                                          \
    }

RT_MATMUL(nb_rt_matmul_f32, float)
RT_MATMUL(nb_rt_matmul_f64, double)

void nb_rt_copy(void *dst, const void *src, long bytes)
{
    memcpy(dst, src, (size_t)bytes);
}
