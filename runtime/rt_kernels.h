/* rt_kernels.h — the kernels that generated code calls (listed in codegen/cg_rt.def). */
#ifndef RT_KERNELS_H
#define RT_KERNELS_H

#include "cg.h"

/* c[m, n] = op(a) @ op(b), row-major and contiguous, through OpenBLAS; op(a) is a[m, k],
 * or the transpose of a stored [k, m] when ta is set (likewise b: [k, n] or [n, k]).
 * c does not overlap a or b. A large gemm runs as blocks of c on the thread pool, the
 * same blocks for any number of threads (rt_kernels.c). */
void nb_rt_gemm_f32(int ta, int tb, long m, long n, long k, const float *a, const float *b,
                    float *c);
void nb_rt_gemm_f64(int ta, int tb, long m, long n, long k, const double *a, const double *b,
                    double *c);
/* The same product as one OpenBLAS call on the calling thread, never split in blocks,
 * whatever its size: for the gemms the plan runs beside another one (cg_kernel.pair),
 * each on its own thread. */
void nb_rt_gemm_one_f32(int ta, int tb, long m, long n, long k, const float *a, const float *b,
                        float *c);
void nb_rt_gemm_one_f64(int ta, int tb, long m, long n, long k, const double *a, const double *b,
                        double *c);

/* im2col and col2im over the image planes [lo, hi) with the geometry g[12] =
 * {h, w, kh, kw, sh, sw, dh, dw, top, left, oh, ow}: codegen/cg_conv_text.inc says what
 * they compute (rt_conv.c compiles that text). */
void nb_rt_im2col_f32(const float *x, float *y, long lo, long hi, const long *g);
void nb_rt_im2col_f64(const double *x, double *y, long lo, long hi, const long *g);
void nb_rt_col2im_f32(const float *x, float *y, long lo, long hi, const long *g);
void nb_rt_col2im_f64(const double *x, double *y, long lo, long hi, const long *g);

/* Copies bytes from src to dst (no overlap): parameter updates at the end of a run. */
void nb_rt_copy(void *dst, const void *src, long bytes);

/* One part of a split kernel: its iterations [lo, hi) of the outermost loop, over the
 * pointers in args (the kernel's outputs, then its operands). */
typedef void (*nb_rt_part_fn)(const void *const *args, long lo, long hi);

/* Part bounds of a split loop are multiples of it (codegen plans with the same). */
#define RT_POOL_GRAIN CG_SPLIT_GRAIN

/* Runs fn over the iterations [0, n) in `parts` parts (fewer when n is small: each
 * holds at least RT_POOL_GRAIN iterations), on the calling thread and the pool's
 * workers, each in the caller's floating-point mode; returns when all are done. The
 * parts are the same for the same n and parts; when there is no pool, or another
 * thread's job holds it, the calling thread runs them one after the other. (rt_pool.c) */
void nb_rt_parallel(nb_rt_part_fn fn, const void *const *args, long n, int parts);

/* x[i] = nbm_<fn>(x[i]) for i in [0, n): nabla's own math over a block, the same bits
 * as the per-element functions (rt_math.c); sigmoidf is cg_ew_sigmoid's expression
 * over nbm_expf. */
#define CG_MATH(fn, helpers) void nb_rt_##fn##_block(float *x, long n);
#include "cg_math.def"
#undef CG_MATH
void nb_rt_sigmoidf_block(float *x, long n);

/* Pooling over `planes` planes of f32 with the geometry g[CG_POOL_GEOM] (cg.h), as the
 * kernels codegen/cg_pool.c writes compute it, bit for bit (rt_pooling.c): y (pooled)
 * from x; dx (x's plane) from x and dy; y (pooled) from x and g (x's plane) at the
 * argmaxes; average pooling and its adjoint. */
void nb_rt_max_pool2d_f32(float *y, const float *x, long planes, const long *g);
void nb_rt_max_pool2d_grad_f32(float *dx, const float *x, const float *dy, long planes,
                               const long *g);
void nb_rt_max_pool2d_select_f32(float *y, const float *x, const float *v, long planes,
                                 const long *g);
void nb_rt_avg_pool2d_f32(float *y, const float *x, long planes, const long *g);
void nb_rt_avg_pool2d_grad_f32(float *dx, const float *dy, long planes, const long *g);

#endif
