/* rt_math.c — nabla's own f32 math (codegen/cg_math_text.inc) compiled with the
 * project, for the programs libtcc builds: they declare nbm_expf and friends and get
 * these addresses through tcc_add_symbol (rt_tcc.c), or call the block versions
 * (nb_rt_<fn>_block, cg_rt.def) once per block of a fused loop. The same C as the text
 * cc programs contain, compiled without contraction (CMakeLists.txt), so the bits are
 * the same; libtcc compiling the text itself would run it about ten times slower. */
#include <math.h>

#include "rt.h"
#include "rt_kernels.h"

#include "cg_math_text.inc"

#define CG_MATH(fn, helpers)                                                                       \
    static float rt_math_##fn(float x)                                                             \
    {                                                                                              \
        return nbm_##fn(x);                                                                        \
    }
#include "cg_math.def"
#undef CG_MATH

const rt_symbol rt_math_symbols[] = {
#define CG_MATH(fn, helpers) {"nbm_" #fn, (const void *)rt_math_##fn},
#include "cg_math.def"
#undef CG_MATH
};

/* The block loops are built twice on x86-64, for AVX2 (8 lanes) and for the baseline,
 * and the loader picks one for the CPU (gcc and clang's function multi-versioning).
 * No FMA in either (contraction is off): the same operations, the same bits. The
 * clones are static and called through a plain function: clang 14 names its dispatcher
 * <name>.ifunc, which another file could not link to. */
#if defined(__x86_64__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define RT_MATH_CLONES __attribute__((target_clones("avx2", "default")))
#endif
#endif
#ifndef RT_MATH_CLONES
#define RT_MATH_CLONES
#endif

#define CG_MATH(fn, helpers)                                                                       \
    RT_MATH_CLONES static void rt_math_##fn##_block(float *x, long n)                              \
    {                                                                                              \
        for (long i = 0; i < n; i++)                                                               \
            x[i] = nbm_##fn(x[i]);                                                                 \
    }                                                                                              \
    void nb_rt_##fn##_block(float *x, long n)                                                      \
    {                                                                                              \
        rt_math_##fn##_block(x, n);                                                                \
    }
#include "cg_math.def"
#undef CG_MATH

/* cg_ew_sigmoid's expression (codegen/cg_unary.c) over nbm_expf, operation for
 * operation: e = exp(-|x|), s = 1 / (1 + e), x >= 0 ? s : e * s. */
RT_MATH_CLONES static void rt_math_sigmoidf_block(float *x, long n)
{
    for (long i = 0; i < n; i++) {
        const float e = nbm_expf(-fabsf(x[i]));
        const float s = 1.0f / (1.0f + e);
        x[i] = x[i] >= 0.0f ? s : e * s;
    }
}

void nb_rt_sigmoidf_block(float *x, long n)
{
    rt_math_sigmoidf_block(x, n);
}
