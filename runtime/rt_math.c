/* rt_math.c — nabla's own f32 math (codegen/cg_math_text.inc) compiled with the
 * project, for the programs libtcc builds: they declare nbm_expf and friends and get
 * these addresses through tcc_add_symbol (rt_tcc.c). The same C as the text cc
 * programs contain, compiled without contraction (CMakeLists.txt), so the bits are the
 * same; libtcc compiling the text itself would run it about ten times slower. */
#include "rt.h"

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
