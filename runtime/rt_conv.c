/* rt_conv.c — the im2col and col2im kernels JIT programs call (codegen/cg_rt.def):
 * the text exported programs carry (codegen/cg_conv_text.inc), compiled here at -O3. */
#include "rt_kernels.h"

#define NB_RT_CONV_LINKAGE
#define NB_RT_CONV_IM2COL_F32 1
#define NB_RT_CONV_IM2COL_F64 1
#define NB_RT_CONV_COL2IM_F32 1
#define NB_RT_CONV_COL2IM_F64 1
#include "cg_conv_text.inc"
