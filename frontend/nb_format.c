/* nb_format.c — the table of the graph text format: which attributes each op's line
 * carries, and how the keys and parameter kinds are spelled. */
#include <float.h>
#include <math.h>

#include "nb_format.h"

const char *const nb_format_key_names[NB_KEY_COUNT] = {
    [NB_KEY_SHAPE] = "shape",
    [NB_KEY_PERM] = "perm",
    [NB_KEY_START] = "start",
    [NB_KEY_STOP] = "stop",
    [NB_KEY_STEP] = "step",
    [NB_KEY_AXES] = "axes",
    [NB_KEY_KEEPDIM] = "keepdim",
    [NB_KEY_AXIS] = "axis",
    [NB_KEY_CLASSES] = "classes",
    [NB_KEY_DTYPE] = "dtype",
    [NB_KEY_TRANS_A] = "trans_a",
    [NB_KEY_TRANS_B] = "trans_b",
    [NB_KEY_LO] = "lo",
    [NB_KEY_HI] = "hi",
    [NB_KEY_SLOPE] = "slope",
    [NB_KEY_ALPHA] = "alpha",
    [NB_KEY_KIND] = "kind",
    [NB_KEY_VALUES] = "values",
    [NB_KEY_KERNEL] = "kernel",
    [NB_KEY_STRIDE] = "stride",
    [NB_KEY_DILATION] = "dilation",
    [NB_KEY_PADDING] = "padding",
    [NB_KEY_GROUPS] = "groups",
    [NB_KEY_CEIL_MODE] = "ceil_mode",
    [NB_KEY_COUNT_INCLUDE_PAD] = "count_include_pad",
    [NB_KEY_DIVISOR_OVERRIDE] = "divisor_override",
    [NB_KEY_SEED] = "seed",
    [NB_KEY_OFFSET] = "offset",
    [NB_KEY_EPS] = "eps",
    [NB_KEY_PAD_LO] = "pad_lo",
    [NB_KEY_PAD_HI] = "pad_hi",
    [NB_KEY_MODE] = "mode",
    [NB_KEY_VALUE] = "value",
    [NB_KEY_REVERSE] = "reverse",
    [NB_KEY_NAME] = "name",
};

#define KEY(k) NB_KEY_BIT(NB_KEY_##k)
#define REDUCE (KEY(AXES) | KEY(KEEPDIM))
/* The window of im2col and col2im (groups and the pooling flags stay zero). */
#define WINDOW (KEY(KERNEL) | KEY(STRIDE) | KEY(DILATION) | KEY(PADDING))
#define MAX_POOL (KEY(KERNEL) | KEY(STRIDE) | KEY(DILATION) | KEY(PADDING) | KEY(CEIL_MODE))
#define AVG_POOL                                                                                   \
    (KEY(KERNEL) | KEY(STRIDE) | KEY(PADDING) | KEY(CEIL_MODE) | KEY(COUNT_INCLUDE_PAD) |          \
     KEY(DIVISOR_OVERRIDE))

/* Ops absent here carry no attribute (elementwise ops). Leaves carry their dtype and shape
 * in the line's type. */
const uint64_t nb_format_op_keys[IR_OP_COUNT] = {
    [IR_OP_PARAM] = KEY(KIND),
    [IR_OP_CONST] = KEY(VALUES),
    [IR_OP_CLAMP] = KEY(LO) | KEY(HI),
    [IR_OP_LEAKY_RELU] = KEY(SLOPE),
    [IR_OP_ELU] = KEY(ALPHA),
    [IR_OP_CAST] = KEY(DTYPE),
    [IR_OP_SUM] = REDUCE,
    [IR_OP_MAX] = REDUCE,
    [IR_OP_MIN] = REDUCE,
    [IR_OP_LOGSUMEXP] = REDUCE,
    [IR_OP_PROD] = REDUCE,
    [IR_OP_ARGMAX] = REDUCE,
    [IR_OP_ARGMIN] = REDUCE,
    [IR_OP_RESHAPE] = KEY(SHAPE),
    [IR_OP_BROADCAST_TO] = KEY(SHAPE),
    [IR_OP_PERMUTE] = KEY(PERM),
    [IR_OP_MATMUL] = KEY(TRANS_A) | KEY(TRANS_B),
    [IR_OP_SLICE] = KEY(START) | KEY(STOP) | KEY(STEP),
    [IR_OP_SLICE_GRAD] = KEY(SHAPE) | KEY(START) | KEY(STEP),
    [IR_OP_CONCAT] = KEY(AXIS),
    [IR_OP_SCATTER_ADD] = KEY(SHAPE),
    [IR_OP_ONE_HOT] = KEY(CLASSES) | KEY(DTYPE),
    [IR_OP_TAKE_ALONG_AXIS] = KEY(AXIS),
    [IR_OP_IM2COL] = WINDOW,
    [IR_OP_COL2IM] = KEY(SHAPE) | WINDOW,
    [IR_OP_MAX_POOL2D] = MAX_POOL,
    [IR_OP_MAX_POOL2D_GRAD] = MAX_POOL,
    [IR_OP_MAX_POOL2D_SELECT] = MAX_POOL,
    [IR_OP_AVG_POOL2D] = AVG_POOL,
    [IR_OP_AVG_POOL2D_GRAD] = KEY(SHAPE) | AVG_POOL,
    [IR_OP_PAD] = KEY(PAD_LO) | KEY(PAD_HI) | KEY(MODE) | KEY(VALUE),
    [IR_OP_SCATTER_ADD_AXIS] = KEY(AXIS),
    [IR_OP_CUMSUM] = KEY(AXIS) | KEY(REVERSE),
    [IR_OP_PAD_REFLECT_GRAD] = KEY(PAD_LO) | KEY(PAD_HI) | KEY(MODE),
    [IR_OP_RAND] = KEY(SHAPE) | KEY(DTYPE) | KEY(SEED) | KEY(OFFSET),
    [IR_OP_NORM_STATS] = KEY(AXES) | KEY(EPS),
    [IR_OP_NORM_GRAD] = KEY(AXES) | KEY(EPS),
};

const char *nb_format_kind_name(int kind)
{
    switch (kind) {
    case IR_PARAM_PLAIN: return "model";
    case IR_PARAM_OPTIMIZER: return "optimizer";
    case IR_PARAM_GRAD: return "grad";
    }
    return NULL;
}

/* Whether v can be a value of dtype dt (any number for floats; i32: an integer in range;
 * bool: 0 or 1). */
int nb_format_value_fits(nb_dtype dt, double v)
{
    switch (dt) {
    case NB_F32:
    case NB_F64: return 1;
    case NB_I32: return v >= INT32_MIN && v <= INT32_MAX && v == (double)(int32_t)v;
    case NB_BOOL: return v == 0 || v == 1;
    }
    return 0;
}

double nb_format_value_round(nb_dtype dt, double v)
{
    /* As ir_constant stores values: f32 rounded, beyond its range infinite. */
    if (dt == NB_F32 && !isnan(v))
        return fabs(v) > FLT_MAX ? copysign(INFINITY, v) : (double)(float)v;
    return v;
}
