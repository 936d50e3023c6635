/* nb_format.h — what the graph text format's writer and parser share: its header line,
 * the attributes each op carries in a file, and the table of their keys (nb_format.c). */
#ifndef NB_FORMAT_H
#define NB_FORMAT_H

#include "ir.h"

/* The first line of every file, then the version this reader reads and writes. */
#define NB_FORMAT_MAGIC "nabla-graph"
#define NB_FORMAT_VERSION 1

/* The attribute keys of the format, in the order a node's line lists them. */
typedef enum nb_format_key {
    NB_KEY_SHAPE,             /* attr.target: [d0,...] */
    NB_KEY_PERM,              /* attr.permute: [p0,...] */
    NB_KEY_START,             /* attr.slice.start: [..] (sets attr.slice.rank) */
    NB_KEY_STOP,              /* attr.slice.stop */
    NB_KEY_STEP,              /* attr.slice.step */
    NB_KEY_AXES,              /* attr.axes as a list of axes: [0,2] */
    NB_KEY_KEEPDIM,           /* attr.keepdim: 0 or 1 */
    NB_KEY_AXIS,              /* attr.axis */
    NB_KEY_CLASSES,           /* attr.k of one_hot */
    NB_KEY_DTYPE,             /* attr.dt of cast and one_hot */
    NB_KEY_TRANS_A,           /* attr.trans_a: 0 or 1 */
    NB_KEY_TRANS_B,           /* attr.trans_b: 0 or 1 */
    NB_KEY_LO,                /* attr.f[0] of clamp */
    NB_KEY_HI,                /* attr.f[1] of clamp */
    NB_KEY_SLOPE,             /* attr.f[0] of leaky_relu */
    NB_KEY_ALPHA,             /* attr.f[0] of elu */
    NB_KEY_KIND,              /* attr.k of param: model, optimizer, grad */
    NB_KEY_VALUES,            /* a constant's values: {v0, v1, ...} */
    NB_KEY_KERNEL,            /* attr.window.kernel: [kh,kw] */
    NB_KEY_STRIDE,            /* attr.window.stride: [sh,sw] */
    NB_KEY_DILATION,          /* attr.window.dilation: [dh,dw] */
    NB_KEY_PADDING,           /* attr.window.pad_lo, pad_hi: [top,left,bottom,right] */
    NB_KEY_GROUPS,            /* attr.window.groups */
    NB_KEY_CEIL_MODE,         /* attr.window.ceil_mode: 0 or 1 */
    NB_KEY_COUNT_INCLUDE_PAD, /* attr.window.count_include_pad: 0 or 1 */
    NB_KEY_DIVISOR_OVERRIDE,  /* attr.window.divisor: 0 (none) or the divisor */
    NB_KEY_SEED,              /* attr.random.seed of rand: 0x and 16 hex digits */
    NB_KEY_OFFSET,            /* attr.random.offset of rand: an integer >= 0 */
    NB_KEY_EPS,               /* attr.f[0] of norm_stats and norm_grad */
    NB_KEY_PAD_LO,            /* attr.pad.lo: [..] (sets attr.pad.rank) */
    NB_KEY_PAD_HI,            /* attr.pad.hi */
    NB_KEY_MODE,              /* attr.pad.reflect: constant or reflect */
    NB_KEY_VALUE,             /* attr.f[0] of pad */
    NB_KEY_REVERSE,           /* attr.reverse of cumsum: 0 or 1 */
    NB_KEY_NAME,              /* the node's name: "..." (any op); the last key a line lists */
    NB_KEY_COUNT
} nb_format_key;

/* Key k as a bit of a set of keys (up to 64 keys). */
#define NB_KEY_BIT(k) ((uint64_t)1 << (k))

/* The key's spelling ("shape"). */
extern const char *const nb_format_key_names[NB_KEY_COUNT];
/* Bit k set: op's lines carry key k (every one of them, except name, which is optional). */
extern const uint64_t nb_format_op_keys[IR_OP_COUNT];
/* The spelling of a parameter kind ("model"), NULL for an unknown kind. */
const char *nb_format_kind_name(int kind);
/* Whether v can be a value of dtype dt: any number for f32 and f64 (f32 values are
 * rounded by nb_format_value_round), an integer in range for i32, 0 or 1 for bool. */
int nb_format_value_fits(nb_dtype dt, double v);
/* v as a node of dtype dt holds it: f32 rounded to float (beyond its range infinite, as
 * ir_constant stores constants), other dtypes unchanged. */
double nb_format_value_round(nb_dtype dt, double v);

/* The text of g and x (x checked by the caller, or NULL), whether g holds an error or not:
 * nb_graph_write for files, nb_graph_print for people (an errored graph's nodes are all
 * valid). NULL when out of memory. */
char *nb_format_write(const nb_graph *g, const nb_graph_extras *x);

#endif
