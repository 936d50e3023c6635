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

/* The block loops are built twice on x86-64 with gcc or clang, for AVX2 (8 lanes) and
 * for the baseline, and each call takes the AVX2 one when the CPU (and the OS) has it.
 * No FMA in either (contraction is off): the same operations, the same bits (checked on
 * every fifth float input for every function). The choice is made at the call, not by
 * the loader: target_clones' ifunc resolvers run before a sanitizer's runtime is up, and
 * a ThreadSanitizer build crashed in them at startup. */
/* clang-format off */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define RT_MATH_BLOCK(name, ...)                                                     \
    static void name##_base(float *x, long n) __VA_ARGS__                            \
    __attribute__((target("avx2"))) static void name##_avx2(float *x, long n)        \
    __VA_ARGS__                                                                      \
    static void name(float *x, long n)                                               \
    {                                                                                \
        if (__builtin_cpu_supports("avx2"))                                          \
            name##_avx2(x, n);                                                       \
        else                                                                         \
            name##_base(x, n);                                                       \
    }
#else
#define RT_MATH_BLOCK(name, ...) static void name(float *x, long n) __VA_ARGS__
#endif
/* clang-format on */

#define CG_MATH(fn, helpers)                                                                       \
    RT_MATH_BLOCK(rt_math_##fn##_block, {                                                          \
        for (long i = 0; i < n; i++)                                                               \
            x[i] = nbm_##fn(x[i]);                                                                 \
    })                                                                                             \
    void nb_rt_##fn##_block(float *x, long n)                                                      \
    {                                                                                              \
        rt_math_##fn##_block(x, n);                                                                \
    }
#include "cg_math.def"
#undef CG_MATH

/* cg_ew_sigmoid's expression (codegen/cg_unary.c) over nbm_expf, operation for
 * operation: e = exp(-|x|), s = 1 / (1 + e), x >= 0 ? s : e * s. */
RT_MATH_BLOCK(rt_math_sigmoidf_block, {
    for (long i = 0; i < n; i++) {
        const float e = nbm_expf(-fabsf(x[i]));
        const float s = 1.0f / (1.0f + e);
        x[i] = x[i] >= 0.0f ? s : e * s;
    }
})

void nb_rt_sigmoidf_block(float *x, long n)
{
    rt_math_sigmoidf_block(x, n);
}
