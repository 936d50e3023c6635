/* rt_random.c — the random number generator (codegen/cg_random_text.inc) compiled with
 * the project, for the programs libtcc builds: they declare nbm_uniformf and nbm_uniform
 * and get these addresses through tcc_add_symbol (rt_tcc.c), as nabla's own math. The
 * same C as the text cc programs and exports contain: integer arithmetic and exact
 * conversions, so the bits are the same, about ten times faster than libtcc's code. */
#include "rt.h"

#include "cg_random_text.inc"

static float rt_uniformf(double step, unsigned long long seed, unsigned long long index)
{
    return nbm_uniformf(step, seed, index);
}

static double rt_uniform(double step, unsigned long long seed, unsigned long long index)
{
    return nbm_uniform(step, seed, index);
}

const rt_symbol rt_random_symbols[RT_RANDOM_SYMBOLS] = {
    {"nbm_uniformf", (const void *)rt_uniformf},
    {"nbm_uniform", (const void *)rt_uniform},
};
