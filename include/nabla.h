/* nabla.h — the public API of nabla, a graph compiler with symbolic autodiff.
 *
 * A program builds a static graph of tensor operations, asks for gradients (which are
 * appended to the same graph as ordinary nodes), compiles the graph to C that libtcc
 * turns into machine code in memory, and then binds inputs and runs it many times.
 *
 * Errors are sticky: a builder call with bad arguments records the first error on the
 * graph and returns NULL (the "poisoned" node); every later call that receives NULL
 * returns NULL again, and nb_compile fails with the first message. Nothing a caller
 * passes in makes the library abort.
 */
#ifndef NABLA_H
#define NABLA_H

#include <stddef.h>
#include <stdint.h>

#include "nabla_version.h" /* NABLA_VERSION_MAJOR, _MINOR, _PATCH, _STRING */

#ifdef __cplusplus
extern "C" {
#endif

/* The version of the library linked in, "MAJOR.MINOR.PATCH": NABLA_VERSION_STRING of
 * the nabla.h it was built with (a program may have been compiled against another). */
const char *nb_version(void);

#define NB_MAX_RANK 8

typedef struct nb_graph nb_graph;     /* owns its nodes; freed with nb_graph_free */
typedef struct nb_node nb_node;       /* a value in a graph; NULL is the poisoned node */
typedef struct nb_program nb_program; /* compiled code + arena + state */

typedef enum nb_dtype {
    NB_F32 = 0, /* float */
    NB_F64 = 1, /* double */
    NB_I32 = 2, /* int32_t: labels and indices */
    NB_BOOL = 3 /* uint8_t holding 0 or 1: masks */
} nb_dtype;

/* Loss reductions, as PyTorch's reduction= argument. */
typedef enum nb_reduction {
    NB_REDUCTION_MEAN = 0,
    NB_REDUCTION_SUM = 1,
    NB_REDUCTION_NONE = 2
} nb_reduction;

/* ---- graph ------------------------------------------------------------------------- */

nb_graph *nb_graph_new(void); /* NULL only when out of memory */
void nb_graph_free(nb_graph *g);
/* The first error recorded on the graph, or NULL when there is none. */
const char *nb_graph_error(const nb_graph *g);
/* Writes the IR, one line per node, to a newly malloc'ed string (caller frees): the
 * text of nb_graph_write without extras (docs/graph-format.md), also for a graph that
 * holds an error (its nodes are those recorded before it). NULL when out of memory. */
char *nb_graph_print(const nb_graph *g);
int nb_graph_node_count(const nb_graph *g);

/* ---- drawing (Graphviz DOT; docs/inspect.md) --------------------------------------- */

struct nb_update;

/* What nb_graph_dot marks besides the graph itself. A zeroed struct (or NULL) draws the
 * graph top to bottom with shapes, no outputs and no updates marked. */
typedef struct nb_dot_options {
    nb_node *const *outputs; /* drawn with a double outline (may be NULL) */
    int n_outputs;
    /* Parameter updates (param <- value, as given to nb_compile): a dashed, bold red
     * arrow from the value to the parameter labelled "update" (may be NULL). */
    const struct nb_update *updates;
    int n_updates;
    const char *rankdir; /* "TB" (NULL: the default), "LR", "BT" or "RL" */
    int hide_shapes;     /* nonzero: labels without "f32[64,784]" */
} nb_dot_options;

/* The graph as a Graphviz DOT digraph, in a newly malloc'ed string (caller frees):
 * `dot -Tsvg` draws it. One node per graph node labelled "%<id> <op>", its dtype and
 * shape ("f32[64,784]") and its name in quotes; one arrow per operand (numbered from 0
 * when a node has several). Inputs are blue boxes, model parameters green, optimizer
 * state violet, constants grey notes; the nodes nb_grad / nb_vjp appended (and
 * gradient buffers) are orange with orange arrows. Names are escaped (quotes,
 * backslashes, control bytes and invalid UTF-8 become visible \xNN text), so no name
 * can break the file. A graph with an error is drawn with the error as its title.
 * NULL with a message in err (err may be NULL) for a NULL graph, outputs or updates
 * that are NULL or of another graph, an update of a node that is not a parameter, an
 * unknown rankdir, or out of memory. */
char *nb_graph_dot(const nb_graph *g, const nb_dot_options *o, char *err, size_t err_size);

/* Information about a node; rank/shape/dtype of NULL are 0/NULL/-1. */
nb_dtype nb_node_dtype(const nb_node *x);
int nb_node_rank(const nb_node *x);
const int64_t *nb_node_shape(const nb_node *x);
int64_t nb_node_numel(const nb_node *x);
int nb_node_id(const nb_node *x);
/* The node's name (nb_name, or the input's or parameter's), or NULL when it has none. */
const char *nb_node_name(const nb_node *x);
/* The node's op as the printer names it ("add", "matmul", "input", "param", ...). */
const char *nb_node_op(const nb_node *x);
/* Node id of g (0 to nb_graph_node_count - 1), or NULL for another id or a NULL g. */
nb_node *nb_graph_node(nb_graph *g, int id);
/* The node of g named name, the last one when several are, or NULL. */
nb_node *nb_graph_find(nb_graph *g, const char *name);
/* Gives the node a name (copied) that shows in the printer and in generated comments;
 * returns x. Names of inputs and parameters are used to bind them by name. */
nb_node *nb_name(nb_graph *g, nb_node *x, const char *name);

/* ---- leaves ------------------------------------------------------------------------ */

/* An input, bound by the caller before each run. name may be NULL. */
nb_node *nb_input(nb_graph *g, const char *name, nb_dtype dt, int rank, const int64_t *shape);
/* A parameter: state that lives in the program and persists between runs. Starts at
 * zero; set it with nb_program_set_param. The name is required and unique. */
nb_node *nb_param(nb_graph *g, const char *name, nb_dtype dt, int rank, const int64_t *shape);
/* A rank-0 constant. */
nb_node *nb_scalar(nb_graph *g, nb_dtype dt, double value);
/* A tensor constant; data holds numel values in row-major order (copied). */
nb_node *nb_constant(nb_graph *g, nb_dtype dt, int rank, const int64_t *shape, const double *data);

/* ---- elementwise unary (float dtypes) ---------------------------------------------- */

nb_node *nb_neg(nb_graph *g, nb_node *x);
nb_node *nb_abs(nb_graph *g, nb_node *x);
nb_node *nb_sign(nb_graph *g, nb_node *x);
/* Rounding to an integer value, of the same float dtype; round takes halves to the even
 * neighbour (as torch.round). The gradient of all four is 0, as in PyTorch. */
nb_node *nb_floor(nb_graph *g, nb_node *x);
nb_node *nb_ceil(nb_graph *g, nb_node *x);
nb_node *nb_round(nb_graph *g, nb_node *x);
nb_node *nb_trunc(nb_graph *g, nb_node *x);
nb_node *nb_exp(nb_graph *g, nb_node *x);
nb_node *nb_log(nb_graph *g, nb_node *x);
nb_node *nb_log1p(nb_graph *g, nb_node *x);
nb_node *nb_expm1(nb_graph *g, nb_node *x);
nb_node *nb_sqrt(nb_graph *g, nb_node *x);
nb_node *nb_rsqrt(nb_graph *g, nb_node *x);
nb_node *nb_square(nb_graph *g, nb_node *x);
nb_node *nb_reciprocal(nb_graph *g, nb_node *x);
nb_node *nb_sin(nb_graph *g, nb_node *x);
nb_node *nb_cos(nb_graph *g, nb_node *x);
nb_node *nb_tanh(nb_graph *g, nb_node *x);
nb_node *nb_sigmoid(nb_graph *g, nb_node *x);
nb_node *nb_relu(nb_graph *g, nb_node *x);
nb_node *nb_leaky_relu(nb_graph *g, nb_node *x, double slope);
nb_node *nb_elu(nb_graph *g, nb_node *x, double alpha);
nb_node *nb_gelu(nb_graph *g, nb_node *x);      /* erf form */
nb_node *nb_gelu_tanh(nb_graph *g, nb_node *x); /* tanh approximation */
nb_node *nb_silu(nb_graph *g, nb_node *x);
nb_node *nb_softplus(nb_graph *g, nb_node *x);
/* torch.erf; the gradient is 2/sqrt(pi) exp(-x^2). f64 calls libm's erf; f32 nabla's own
 * erff (under 1 ulp), the same code on every backend and in exports. */
nb_node *nb_erf(nb_graph *g, nb_node *x);
/* Trigonometric and hyperbolic functions and their inverses, as torch.tan, torch.asin,
 * ...: f32 and f64, computed by libm's tanf/tan, asinf/asin, ... on every backend (so
 * tcc, cc and exports agree bit for bit). Outside the domain the value is NaN (asin and
 * acos of |x| > 1, acosh of x < 1, atanh of |x| > 1); atanh(+-1) = +-inf. Gradients are
 * PyTorch's formulas: tan' = 1 + tan^2, asin' = 1/sqrt(1 - x^2) = -acos',
 * atan' = 1/(1 + x^2), sinh' = cosh, cosh' = sinh, asinh' = 1/sqrt(x^2 + 1),
 * acosh' = 1/sqrt(x^2 - 1), atanh' = 1/(1 - x^2) (+inf at the domain's edges). */
nb_node *nb_tan(nb_graph *g, nb_node *x);
nb_node *nb_asin(nb_graph *g, nb_node *x);
nb_node *nb_acos(nb_graph *g, nb_node *x);
nb_node *nb_atan(nb_graph *g, nb_node *x);
nb_node *nb_sinh(nb_graph *g, nb_node *x);
nb_node *nb_cosh(nb_graph *g, nb_node *x);
nb_node *nb_asinh(nb_graph *g, nb_node *x);
nb_node *nb_acosh(nb_graph *g, nb_node *x);
nb_node *nb_atanh(nb_graph *g, nb_node *x);
/* torch.isnan and torch.isinf of an f32 or f64 x: NB_BOOL masks (isinf is true for +inf
 * and -inf). No gradient flows through a mask. */
nb_node *nb_isnan(nb_graph *g, nb_node *x);
nb_node *nb_isinf(nb_graph *g, nb_node *x);
/* PyTorch's detach: the value of x, through which no gradient flows. */
nb_node *nb_stop_gradient(nb_graph *g, nb_node *x);
/* Converts to f32, f64 or i32 (from any dtype), as torch's x.to(dtype). A float becomes
 * an i32 by truncation toward zero; where torch's result is implementation-defined
 * nabla's is defined: NaN -> 0, values >= 2^31 -> INT32_MAX, values <= -2^31 - 1 ->
 * INT32_MIN (saturation). i32 -> f32 rounds to nearest even above 2^24. The gradient
 * reaches float operands through float -> float casts only. */
nb_node *nb_cast(nb_graph *g, nb_node *x, nb_dtype dt);

/* ---- elementwise binary, NumPy broadcasting; operands share one dtype ------------- */
/* Operands of two dtypes are an error (convert one with nb_cast; there is no implicit
 * promotion). add, sub and mul take f32, f64 or i32: i32 results wrap around in two's
 * complement, as torch's int32 (INT_MAX + 1 = INT_MIN), and pass no gradient. */

nb_node *nb_add(nb_graph *g, nb_node *a, nb_node *b);
nb_node *nb_sub(nb_graph *g, nb_node *a, nb_node *b);
nb_node *nb_mul(nb_graph *g, nb_node *a, nb_node *b);
/* True division of floats (f32, f64); for i32 see nb_floor_div. */
nb_node *nb_div(nb_graph *g, nb_node *a, nb_node *b);
/* i32 division rounding toward -inf, as torch.div(a, b, rounding_mode="floor") and
 * Python's a // b; and its remainder a - b * (a // b), as torch.remainder (the sign of
 * the divisor: remainder(-7, 2) = 1, remainder(7, -2) = -1). A zero divisor anywhere
 * makes nb_program_run return -1 naming the node, as an index out of range does in
 * nb_gather (torch raises ZeroDivisionError); INT_MIN // -1 wraps to INT_MIN (remainder 0), where
 * torch's CPU kernel traps. i32 operands only; no gradient. */
nb_node *nb_floor_div(nb_graph *g, nb_node *a, nb_node *b);
nb_node *nb_remainder(nb_graph *g, nb_node *a, nb_node *b);
/* torch.fmod (C's fmod) of floats: a - trunc(a / b) * b, exact, with the sign of a;
 * fmod(a, 0) and fmod(+-inf, b) are NaN, fmod(a, +-inf) = a. Gradient as torch: gy for
 * a, -gy * trunc(a / b) for b. For i32, see nb_remainder (the sign of the divisor). */
nb_node *nb_fmod(nb_graph *g, nb_node *a, nb_node *b);
nb_node *nb_pow(nb_graph *g, nb_node *a, nb_node *b);
nb_node *nb_maximum(nb_graph *g, nb_node *a, nb_node *b);
nb_node *nb_minimum(nb_graph *g, nb_node *a, nb_node *b);
/* Comparisons give NB_BOOL masks. */
nb_node *nb_eq(nb_graph *g, nb_node *a, nb_node *b);
nb_node *nb_ne(nb_graph *g, nb_node *a, nb_node *b);
nb_node *nb_lt(nb_graph *g, nb_node *a, nb_node *b);
nb_node *nb_le(nb_graph *g, nb_node *a, nb_node *b);
nb_node *nb_gt(nb_graph *g, nb_node *a, nb_node *b);
nb_node *nb_ge(nb_graph *g, nb_node *a, nb_node *b);
/* torch.logical_and, logical_or, logical_xor and logical_not of NB_BOOL masks (the binary
 * ones broadcast as nb_add); the result is NB_BOOL. Other dtypes are refused: make a mask
 * with a comparison first (torch's x != 0). No gradient flows through them. */
nb_node *nb_logical_and(nb_graph *g, nb_node *a, nb_node *b);
nb_node *nb_logical_or(nb_graph *g, nb_node *a, nb_node *b);
nb_node *nb_logical_xor(nb_graph *g, nb_node *a, nb_node *b);
nb_node *nb_logical_not(nb_graph *g, nb_node *a);
/* mask ? a : b, all three broadcast together; mask is NB_BOOL. */
nb_node *nb_where(nb_graph *g, nb_node *mask, nb_node *a, nb_node *b);
/* min(max(x, lo), hi) with scalar bounds. */
nb_node *nb_clamp(nb_graph *g, nb_node *x, double lo, double hi);

/* ---- reductions over a set of axes (negative axes count from the end) ------------- */
/* axes == NULL or n_axes == 0 reduces over every axis. */

nb_node *nb_sum(nb_graph *g, nb_node *x, const int *axes, int n_axes, int keepdim);
nb_node *nb_mean(nb_graph *g, nb_node *x, const int *axes, int n_axes, int keepdim);
nb_node *nb_max(nb_graph *g, nb_node *x, const int *axes, int n_axes, int keepdim);
nb_node *nb_min(nb_graph *g, nb_node *x, const int *axes, int n_axes, int keepdim);
nb_node *nb_logsumexp(nb_graph *g, nb_node *x, const int *axes, int n_axes, int keepdim);
/* The product of the reduced elements (1 over none), as torch.prod (which takes one dim;
 * several axes give the product over all of them); f32 or f64, accumulated in the
 * dtype in order. The gradient is torch's: gy times the product of the other elements
 * of the slice, exact with zeros (y / x without one; with one zero, the product of the
 * rest at the zero and 0 elsewhere; 0 with two or more), and so are its second
 * derivatives (docs/conventions.md). */
nb_node *nb_prod(nb_graph *g, nb_node *x, const int *axes, int n_axes, int keepdim);
/* The i32 index of the first largest (argmax) or smallest (argmin) element along one
 * axis of an f32 or f64 x (negative counts from the end), as torch.argmax/argmin: a
 * NaN counts as both the largest and the smallest, so the first NaN's index wins. The
 * axis must not be empty. The result is an integer: nb_grad passes no gradient
 * through it (a loss that depends on x only through it has a zero gradient). */
nb_node *nb_argmax(nb_graph *g, nb_node *x, int axis, int keepdim);
nb_node *nb_argmin(nb_graph *g, nb_node *x, int axis, int keepdim);

/* ---- pooling over the last two axes of [N, C, H, W] or [C, H, W] (frontend/nb_pool.c) */

/* Like F.max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode): the max of
 * each kernel[0] x kernel[1] window of an f32 or f64 x. Each array holds two values (rows,
 * columns); NULL stride means the kernel (torch's default), NULL padding 0, NULL dilation
 * 1. Padding counts as -inf and is at most half the kernel; ceil_mode rounds the output
 * size up (the last window starting inside the input or the left padding). A NaN in a
 * window gives NaN. The gradient goes to the element torch's CPU kernel picks: the first
 * of tied maxima (row-major), the last NaN; windows that overlap add up. A dilated
 * window whose taps all fall in the padding is an error (torch returns -inf there). */
nb_node *nb_max_pool2d(nb_graph *g, nb_node *x, const int64_t *kernel, const int64_t *stride,
                       const int64_t *padding, const int64_t *dilation, int ceil_mode);
/* Like F.avg_pool2d(x, kernel_size, stride, padding, ceil_mode, count_include_pad,
 * divisor_override): each window's sum divided by divisor_override when it is > 0 (0:
 * None), else by the window's size counting the zero padding (count_include_pad, torch's
 * default 1) or only the elements inside x (0). stride and padding as nb_max_pool2d's. */
nb_node *nb_avg_pool2d(nb_graph *g, nb_node *x, const int64_t *kernel, const int64_t *stride,
                       const int64_t *padding, int ceil_mode, int count_include_pad,
                       int divisor_override);
/* Like F.adaptive_avg_pool2d(x, (out_h, out_w)): output row i averages the input rows
 * floor(i * H / out_h) to ceil((i + 1) * H / out_h) - 1, columns likewise (windows may
 * differ in size and overlap when out_h does not divide H). */
nb_node *nb_adaptive_avg_pool2d(nb_graph *g, nb_node *x, int64_t out_h, int64_t out_w);

/* ---- shapes and linear algebra ----------------------------------------------------- */

/* a[..., m, k] @ b[..., k, n]; batch dims broadcast. Rank-1 operands are not accepted. */
nb_node *nb_matmul(nb_graph *g, nb_node *a, nb_node *b);
/* Swaps the last two axes. */
nb_node *nb_transpose(nb_graph *g, nb_node *x);
/* Output axis i is input axis perm[i]. */
nb_node *nb_permute(nb_graph *g, nb_node *x, const int *perm, int n);
/* One entry of shape may be -1 (inferred). */
nb_node *nb_reshape(nb_graph *g, nb_node *x, int rank, const int64_t *shape);
nb_node *nb_broadcast_to(nb_graph *g, nb_node *x, int rank, const int64_t *shape);
/* Per axis start/stop/step (step > 0), Python-style clamping of start and stop;
 * negative start/stop count from the end. NULL arrays mean 0 / size / 1. An empty
 * result on any axis is an error (dimensions are positive). */
nb_node *nb_slice(nb_graph *g, nb_node *x, const int64_t *start, const int64_t *stop,
                  const int64_t *step);
/* xs[0..n) joined along axis (negative counts from the end); they must agree in dtype
 * and every other dimension. Any n >= 1, and one node may be listed any number of
 * times (its gradient is the sum of its slices). */
nb_node *nb_concat(nb_graph *g, nb_node *const *xs, int n, int axis);
/* Rows of table[V, ...] picked by an i32 index of any shape: out[idx.shape..., ...].
 * An index outside [0, V) at run time makes nb_program_run return -1 with an error
 * naming the node; nothing is read out of bounds. */
nb_node *nb_gather(nb_graph *g, nb_node *table, nb_node *index);
/* i32 index -> [index.shape..., classes] of dtype dt (0/1). As with nb_gather, an
 * index outside [0, classes) at run time makes nb_program_run fail (PyTorch raises
 * too); there is no all-zero row. */
nb_node *nb_one_hot(nb_graph *g, nb_node *index, int classes, nb_dtype dt);

/* Elements of x picked along one axis (negative counts from the end) by an i32 index of
 * x's rank, as torch.take_along_dim / torch.gather(x, axis, index) and
 * numpy.take_along_axis: out[.., k, ..] = x[.., index[.., k, ..], ..], of the index's
 * shape, every other axis of the index as long as x's. An index outside
 * [0, x.shape[axis]) at run time makes nb_program_run return -1 with an error naming the
 * node; nothing is read out of bounds. The gradient scatters into zeros of x's shape,
 * repeated indices adding up. */
nb_node *nb_take_along_axis(nb_graph *g, nb_node *x, nb_node *index, int axis);

/* ---- convolution ------------------------------------------------------------------- */

/* The knobs of nb_conv2d, nb_conv1d and nb_conv_transpose2d, as the keyword arguments
 * of torch.nn.functional.conv2d / conv1d / conv_transpose2d. A NULL pointer, or a field
 * left zero, means torch's default: stride 1, padding 0, dilation 1, groups 1,
 * output_padding 0. Index 0 is the height axis, 1 the width axis; nb_conv1d reads index
 * 0 only (for its length axis) and requires the index-1 entries to be zero. Negative
 * values are errors. */
typedef struct nb_conv_options {
    int64_t stride[2];   /* step of the window; 0 means 1 */
    int64_t padding[2];  /* zeros added before and after the axis (padding=(ph, pw)) */
    int64_t dilation[2]; /* spacing of the kernel's taps; 0 means 1 */
    int groups;          /* channel groups (groups == C: depthwise); 0 means 1 */
    /* 1: torch's padding="same" (nb_conv2d and nb_conv1d only, stride 1 only, padding
     * left 0): dilation*(k-1) zeros per axis, half before, the extra one after. */
    int padding_same;
    /* conv_transpose2d only: rows and columns added at the bottom and right of the
     * result (output_padding); below stride (or dilation), as torch requires, and at
     * most padding + stride - 1. */
    int64_t output_padding[2];
} nb_conv_options;

/* torch.nn.functional.conv2d(x, weight, bias, stride, padding, dilation, groups):
 * x [N, C, H, W] and weight [OC, C/groups, kh, kw] of one float dtype, bias [OC] or
 * NULL; the result is [N, OC, OH, OW] with OH = (H + 2*padding - dilation*(kh-1) - 1)
 * / stride + 1 (OW alike), which must be >= 1. C and OC must be multiples of groups.
 * Built as im2col (torch.nn.functional.unfold) and a matmul, so the gradients for x,
 * weight and bias are ordinary nodes (their gradients work too). */
nb_node *nb_conv2d(nb_graph *g, nb_node *x, nb_node *weight, nb_node *bias,
                   const nb_conv_options *o);
/* torch.nn.functional.conv1d: x [N, C, L], weight [OC, C/groups, k], bias [OC] or NULL
 * -> [N, OC, OL]: nb_conv2d over [N, C, 1, L]; o's index 0 is the length axis. */
nb_node *nb_conv1d(nb_graph *g, nb_node *x, nb_node *weight, nb_node *bias,
                   const nb_conv_options *o);
/* torch.nn.functional.conv_transpose2d(x, weight, bias, stride, padding,
 * output_padding, groups, dilation): x [N, C, H, W], weight [C, OC/groups, kh, kw],
 * bias [OC] or NULL -> [N, OC, OH, OW] with OH = (H-1)*stride - 2*padding +
 * dilation*(kh-1) + output_padding + 1 (>= 1), OW alike: the gradient of nb_conv2d
 * with respect to its input (a matmul, then col2im, torch.nn.functional.fold). C must
 * be a multiple of groups; padding_same is not accepted (torch has none). */
nb_node *nb_conv_transpose2d(nb_graph *g, nb_node *x, nb_node *weight, nb_node *bias,
                             const nb_conv_options *o);
/* ---- padding, scatters and scans ---------------------------------------------------- */

/* Padding modes of nb_pad, as torch.nn.functional.pad's mode= argument. */
typedef enum nb_pad_mode {
    NB_PAD_CONSTANT = 0, /* "constant": the added elements are value */
    NB_PAD_REFLECT = 1   /* "reflect": they mirror x about its edge elements */
} nb_pad_mode;

/* torch.nn.functional.pad(x, pads, mode, value): pads[0..n_pads) are pairs (before,
 * after) starting from the LAST axis, as in F.pad: (1, 2) pads the last axis with one
 * element before and two after, (1, 2, 3, 4) the axis before it with 3 and 4 as well;
 * n_pads is even and at most 2 * rank, axes not named are not padded. A negative pad
 * removes elements (a crop). NB_PAD_REFLECT mirrors without repeating the edge ([1, 2,
 * 3] padded (2, 1) is [3, 2, 1, 2, 3, 2]); each of its pads must be less than the size of
 * its axis, value must be 0, and it pads any axis (torch only the last one to three).
 * f32 or f64. Gradient: the pads taken off again (constant), or each mirrored element's
 * gradient added back onto its source (reflect). */
nb_node *nb_pad(nb_graph *g, nb_node *x, int n_pads, const int64_t *pads, nb_pad_mode mode,
                double value);
/* torch.scatter_add(x, axis, index, src) (axis negative counts from the end): a copy of
 * x with src[.., k, ..] added at x[.., index[.., k, ..], ..], repeated indices adding up
 * in index order. index is i32 of src's shape, which is x's on every axis but `axis`
 * (torch also accepts shorter ones). An index outside [0, x.shape[axis]) at run time
 * makes nb_program_run fail naming the node, as nb_gather does. f32 or f64. Gradients as
 * torch: gy for x, torch.gather(gy, axis, index) for src. */
nb_node *nb_scatter_add(nb_graph *g, nb_node *x, int axis, nb_node *index, nb_node *src);
/* torch.index_add(x, axis, index, source): source's slice k along the axis added to x's
 * slice index[k]; index is a 1-D i32 of source.shape[axis] entries, source is x's shape
 * but along the axis. Out-of-range indices fail the run; gradients: gy for x,
 * torch.index_select(gy, axis, index) for source. */
nb_node *nb_index_add(nb_graph *g, nb_node *x, int axis, nb_node *index, nb_node *source);
/* torch.cumsum(x, axis) (negative counts from the end) of an f32 or f64 x of rank >= 1:
 * y[.., k, ..] = x[.., 0, ..] + ... + x[.., k, ..], added in that order in a double
 * accumulator (as torch's CPU kernel), each y rounded once to x's dtype. The gradient is
 * the cumsum of gy from the end of the axis. */
nb_node *nb_cumsum(nb_graph *g, nb_node *x, int axis);

/* ---- softmax and losses ------------------------------------------------------------ */

nb_node *nb_softmax(nb_graph *g, nb_node *x, int axis);
nb_node *nb_log_softmax(nb_graph *g, nb_node *x, int axis);
/* mean/sum/none of (pred - target)^2. */
nb_node *nb_mse(nb_graph *g, nb_node *pred, nb_node *target, nb_reduction r);
/* Binary cross-entropy on probabilities p, with p clamped to [eps, 1 - eps], eps = 1e-8:
 * -(t log p + (1 - t) log(1 - p)). */
nb_node *nb_bce(nb_graph *g, nb_node *p, nb_node *target, nb_reduction r);
/* Binary cross-entropy on logits, exact for any finite z; gradient sigmoid(z) - t, also
 * at z = +-inf (1 - t, -t), where the value is PyTorch's (docs/conventions.md). */
nb_node *nb_bce_with_logits(nb_graph *g, nb_node *z, nb_node *target, nb_reduction r);
/* logits[N, C] (or [C]) and i32 labels[N] (or scalar): -log_softmax(logits)[label],
 * computed as logsumexp - the label's score, both shifted by the row's max; a label
 * outside [0, C) at run time makes nb_program_run fail (as nb_take_along_axis). */
nb_node *nb_cross_entropy(nb_graph *g, nb_node *logits, nb_node *labels, nb_reduction r);
/* logp[N, C] of log-probabilities and i32 labels[N]: -logp[label], picked by
 * nb_take_along_axis (a label outside [0, C) fails the run). */
nb_node *nb_nll(nb_graph *g, nb_node *logp, nb_node *labels, nb_reduction r);

/* ---- random numbers (frontend/nb_random.c; docs/random.md) --------------------------- */

/* Element i of a random tensor is Philox4x32-10 (as cuRAND, JAX and PyTorch on CUDA use
 * it) keyed by the seed and counted by (the node's counter offset + i, the step): the
 * same bits on the tcc and cc backends, for any thread count, and in exported C. The
 * numbers differ from PyTorch's (its CPU generator is a Mersenne Twister). The step
 * is the f64 scalar parameter "rng.step" (NB_RNG_STEP_NAME, kind NB_PARAM_OPTIMIZER:
 * full checkpoints save it, model-only ones do not), 0 at first; each run of a program
 * that draws numbers adds 1 to it after the run (nb_compile adds that update unless its
 * updates write the parameter themselves), so every run draws new numbers and a run
 * resumed from a checkpoint continues the stream. 2^53 runs give distinct steps; past
 * that the step stops growing. */
#define NB_RNG_STEP_NAME "rng.step"
/* torch.manual_seed: the random nodes built after it draw from the stream of seed (0
 * until it is called), from its start: the same seed and shapes give the same numbers. */
void nb_manual_seed(nb_graph *g, uint64_t seed);
/* torch.rand(*shape, dtype): uniform on [0, 1), f32 or f64, the top 24 (f32) or 53 (f64)
 * bits of the Philox output times 2^-24 or 2^-53, so every value is exact and 1 never
 * occurs. No gradient flows. */
nb_node *nb_rand(nb_graph *g, nb_dtype dt, int rank, const int64_t *shape);
/* torch.randn(*shape, dtype): standard normal by Box-Muller, sqrt(-2 log(1 - u1)) *
 * cos(2 pi u2) from two uniform draws, computed in dt (|z| < 5.8 in f32, < 8.6 in f64).
 * No gradient flows. */
nb_node *nb_randn(nb_graph *g, nb_dtype dt, int rank, const int64_t *shape);
/* F.dropout(x, p=0.5, training=True): training nonzero zeroes each element with
 * probability p (a uniform draw below p) and scales the others by 1 / (1 - p) (in x's
 * dtype); training 0 or p 0 returns x itself; p 1 gives x * 0. p outside [0, 1] is an
 * error. The gradient is the same mask times the scale. */
nb_node *nb_dropout(nb_graph *g, nb_node *x, double p, int training);
/* The step counter parameter of g (made by the first call of this or a random builder),
 * or NULL when g has an error: to read it, reset it (nb_program_set_param with its
 * name), or write it with an update of your own (e.g. to itself, to repeat a draw). */
nb_node *nb_rng_step(nb_graph *g);
/* ---- normalisation (frontend/nb_norm.c) --------------------------------------------- */

/* PyTorch's default eps of the norms, and batch norm's default momentum. */
#define NB_NORM_EPS 1e-5
#define NB_BATCH_NORM_MOMENTUM 0.1

/* F.layer_norm(x, x.shape[-normalized_rank:], weight, bias, eps): each group of the last
 * normalized_rank axes becomes (x - mean) / sqrt(var + eps), var the biased variance,
 * then * weight + bias. weight and bias (either may be NULL) have the shape of those
 * axes and x's dtype; eps finite and >= 0 (NB_NORM_EPS). The statistics are one kernel
 * (sums in double), normalisation and affine one fused elementwise kernel, and the
 * gradient through the statistics one kernel; gradients of gradients work. */
nb_node *nb_layer_norm(nb_graph *g, nb_node *x, int normalized_rank, nb_node *weight, nb_node *bias,
                       double eps);
/* F.group_norm(x, num_groups, weight, bias, eps): x [N, C, ...] (at least two axes), C
 * a multiple of num_groups; each sample's C / num_groups consecutive channels, with all
 * their positions, form one group normalized as in layer norm; weight and bias (NULL
 * or [C]) scale and shift each channel. */
nb_node *nb_group_norm(nb_graph *g, nb_node *x, int num_groups, nb_node *weight, nb_node *bias,
                       double eps);
/* F.batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps):
 * x [N, C, ...]; weight, bias, running_mean, running_var NULL or [C] of x's dtype.
 * training != 0: each channel is normalized by the batch's statistics over every other
 * axis (biased variance; more than one value per channel), and when running_mean and
 * running_var are given, *new_running_mean and *new_running_var (where not NULL) are set
 * to (1 - momentum) * running + momentum * stat with the batch mean and the UNBIASED
 * variance: give them to nb_compile's spec as updates of the running parameters
 * (NB_BATCH_NORM_MOMENTUM = 0.1 is torch's default). training == 0 (eval): the running
 * statistics normalize, both required, and the new values are set to NULL (nothing to
 * update). running_mean and running_var are given both or neither. */
nb_node *nb_batch_norm(nb_graph *g, nb_node *x, nb_node *running_mean, nb_node *running_var,
                       nb_node *weight, nb_node *bias, int training, double momentum, double eps,
                       nb_node **new_running_mean, nb_node **new_running_var);

/* ---- autodiff ---------------------------------------------------------------------- */

/* Appends to g the gradient of the scalar y with respect to each of xs[0..n), and
 * writes them to grads[0..n). A node that y does not depend on gets a zero gradient.
 * Returns 0, or -1 with the error recorded on g. */
int nb_grad(nb_graph *g, nb_node *y, nb_node *const *xs, int n, nb_node **grads);
/* The same with a seed gradient of y's shape: the vector-Jacobian product seed^T J. */
int nb_vjp(nb_graph *g, nb_node *y, nb_node *seed, nb_node *const *xs, int n, nb_node **grads);

/* Gradient accumulation, as PyTorch's .grad: for each params[i], creates a parameter
 * "<name>.grad" of its shape (a gradient buffer, zero at first) in buffers[i], and the
 * node accumulated[i] = buffers[i] + grads[i]. Compiling with the updates
 * {buffers[i], accumulated[i]} makes gradients add up across runs until
 * nb_program_zero_grad; an optimizer fed with accumulated[i] steps on the sum.
 * Returns 0, or -1 with the error on g. */
int nb_grad_buffers(nb_graph *g, nb_node *const *params, nb_node *const *grads, int n,
                    nb_node **buffers, nb_node **accumulated);

/* ---- compile and run --------------------------------------------------------------- */

/* A state update: after the run, param holds value (same dtype and shape). Every
 * kernel of the run sees the old values: all reads happen before any write. */
typedef struct nb_update {
    nb_node *param;
    nb_node *value;
} nb_update;

/* How generated C becomes machine code. */
typedef enum nb_backend {
    /* libtcc in memory: about a millisecond to compile; unoptimized, scalar code. */
    NB_BACKEND_TCC = 0,
    /* The system C compiler ($NABLA_CC, default cc) at -O3 (-march=x86-64-v3 where the
     * CPU has AVX2, never AVX-512) into a shared object cached by a hash of the source,
     * the command and the CPU: about a second to build once, then loaded in well under
     * a millisecond; vectorized loops, for long training runs. The cache is
     * $NABLA_CACHE_DIR, else $XDG_CACHE_HOME/nabla, else $HOME/.cache/nabla, else a
     * private directory of the process removed at exit. It must belong to you and be
     * writable by you only (created 0700; nb_compile fails otherwise); objects there
     * that are not yours, not private, damaged or built from another source are
     * rebuilt. docs/cc-backend.md has the details. */
    NB_BACKEND_CC = 1,
    /* Tiered: nb_compile returns at libtcc's speed with libtcc's code, and a thread of
     * the program builds the same C with cc (as NB_BACKEND_CC: same cache, same
     * NABLA_CC) in the background. The start of the first nb_program_run after that
     * build ends swaps the cc code in (one pointer exchange, never during a run); the
     * arena and the parameter state stay where they are, and the results are the same
     * bits (the two backends agree bit for bit). When cc is missing or fails, the
     * program stays on libtcc's code without an error (nb_program_tier_error says why).
     * nb_program_free waits for a build still running (the compiler's run, about a
     * second). In a child forked while the build runs, the program stays on libtcc's
     * code. See docs/cc-backend.md. */
    NB_BACKEND_AUTO = 2
} nb_backend;

/* What a run does with subnormal floats (nonzero values below 1.2e-38 in f32, 2.2e-308
 * in f64). Arithmetic on them takes a microcode assist on Intel CPUs (about a hundred
 * times the normal cost), and training drives values there: Adam's moments of weights
 * whose gradient is exactly zero decay into that range, and the update took 75% of a
 * step (docs/performance.md). Each nb_program_run saves the calling thread's
 * floating-point mode, sets the program's, runs, and puts the caller's back (also when
 * the run fails). Only values below those thresholds are affected; the examples'
 * printed losses are the same either way (docs/performance.md, "Denormals").
 * - Constant folding at compile time computes in exact IEEE arithmetic.
 * - The mode is the calling thread's: OpenBLAS's worker threads keep the mode they were
 *   created with (the process's at startup, normally IEEE), so with more than one BLAS
 *   thread part of a large matmul sees subnormals exactly even under FLUSH.
 * - On x86-64 this is MXCSR's FTZ and DAZ bits, on AArch64 FPCR.FZ; on other
 *   architectures both values run in the caller's mode.
 * - Cost: two writes of the control register per run when the caller's mode differs
 *   from the program's (about 15 ns on the AMD EPYC measured), none when it is the
 *   same: a caller running many tiny programs may set FTZ/DAZ on its thread itself. */
typedef enum nb_denormals {
    /* Flush to zero: subnormal results become 0, subnormal operands read as 0. */
    NB_DENORMALS_FLUSH = 0,
    /* Exact IEEE 754 gradual underflow, whatever the caller's mode. */
    NB_DENORMALS_IEEE = 1
} nb_denormals;

typedef struct nb_compile_options {
    nb_node *const *outputs; /* values the program computes on each run */
    int n_outputs;
    const nb_update *updates; /* parameter updates done by each run (may be NULL) */
    int n_updates;
    /* When set, the new program works on this program's parameters (the same memory):
     * both must come from the same graph. Used to split work into several programs,
     * e.g. one that accumulates gradients and one that applies the optimizer. The
     * state lives until the last program using it is freed. */
    nb_program *share_state;
    nb_backend backend; /* NB_BACKEND_TCC unless set */
    /* When nonzero, the program keeps its plan as text for nb_program_plan (printing it
     * costs compile time, so it is off unless asked for). */
    int keep_plan;
    nb_denormals denormals; /* NB_DENORMALS_FLUSH unless set */
    /* Threads the program's elementwise kernels, reductions and large matmuls are split
     * across (kernels of at least twice the split threshold, 8,192 elements per part;
     * docs/performance.md): 0 means nb_get_threads() at compile time, 1 the calling
     * thread alone, at most 256. Results are the same bits for any count. The workers
     * are one pool for the process, started by the first program with more than one
     * thread; after a kernel they poll for the next one for 50 microseconds, then park
     * until woken; the last program freed joins them. A program run while another
     * thread's program uses the pool runs on its own thread. */
    int threads;
    /* When nonzero, nb_compile also writes the program as portable C for
     * nb_program_export (one thread, the runtime kernels as C): about a second pass of
     * code generation, no compiler run. */
    int exportable;
} nb_compile_options;

/* Compiles the graph. Returns NULL on failure; the message is then nb_graph_error(g).
 * Parameter state or intermediates larger than memory can address are such a failure
 * (the message names the node that does not fit), found before anything is allocated.
 * The program no longer needs the graph: it may be freed first.
 *
 * OUT OF MEMORY. Every allocation nabla makes, before and after the C compiler runs, is
 * checked: a failure returns NULL with "out of memory" and leaks nothing. But with
 * NB_BACKEND_TCC, libtcc 0.9.27 itself calls exit(1) when one of its own allocations
 * fails (and may crash while cleaning up): nothing outside libtcc can catch that. A
 * process that must survive running out of memory while compiling should use
 * NB_BACKEND_CC, whose compiler runs in a process of its own (NB_BACKEND_AUTO compiles
 * with libtcc first: it is as exposed as NB_BACKEND_TCC). See docs/memory.md.
 *
 * NABLA_DUMP_DIR. When this environment variable names a directory (read at each call;
 * unset or empty: nothing happens), nb_compile writes there, before the backend
 * compiles, <h>.c holding nb_program_source and <h>.ir holding nb_graph_print of the
 * graph given here (whose node numbers the C's comments and nb_program_plan use), h
 * the XXH64 (seed 0) of the source as 16 lowercase hex digits: the same program gets
 * the same names, so running an application again overwrites its files. The directory
 * must exist (it is not created). Each file is replaced atomically by a new one, never
 * written through a symbolic link. A dump that fails (no such directory, disk full)
 * never fails the compile: the first failure of the process prints one line on stderr,
 * "nabla: NABLA_DUMP_DIR: cannot write '<path>': <why> ...". See docs/inspect.md. */
nb_program *nb_compile(nb_graph *g, const nb_compile_options *opt);
void nb_program_free(nb_program *p);
/* The error of the last call on p that can fail (those returning 0 or -1: bind, run,
 * set_param, get_param, zero_grad, init_param, init_linear, save, load, write_source),
 * or NULL when that call succeeded: each such call clears the error first. Calls that
 * only read (counts, names, shapes, outputs, nb_program_error itself) leave it as is.
 * The text belongs to p and is overwritten by the next call that can fail. */
const char *nb_program_error(const nb_program *p);
/* The generated C of the program (owned by the program). */
const char *nb_program_source(const nb_program *p);
/* The program's plan as text (owned by the program), or NULL unless it was compiled
 * with keep_plan. Deterministic: the same graph and options give the same text. One
 * line per kernel, in the order the program runs them:
 *   kernel k<i>: %<root> <op> <type>; members %a %b ...; operands %c ...; stores %a ...
 *   [; %<v> in place of %<param>]
 * (node numbers are those of the graph given to nb_compile; members are the nodes the
 * kernel computes, fused into one loop; operands what it reads from memory; stores
 * what it writes to memory), then one line per buffer:
 *   buffer b<j>: %<node> <type> <bytes> bytes at <offset>, k<first>..k<last>
 *   buffer b<j>: %<node> <type> [permuted ]view of %<base> at byte <offset>, k<first>..k<last>
 *   buffer b<j>: %<node> <type> in place of %<param>, k<first>..end
 * (or "operands of k<i>", "%<n> copied for output <i>", "%<n> set aside for update
 * <u>" for the extra space of wide kernels, leaf outputs and swapped updates; a live
 * range runs from the kernel that writes the buffer to the last that reads it, "end"
 * meaning after the last kernel), and last
 *   arena <bytes> bytes, live peak <bytes> bytes, <placement>
 * See docs/architecture.md. */
const char *nb_program_plan(const nb_program *p);
/* Writes the generated C to a file; 0 or -1 with the error on the program. */
int nb_program_write_source(nb_program *p, const char *path);
/* Seconds the backend took to turn the program's C into the code that runs it:
 * libtcc's compile and relocation, or the cc backend's build (or its cache lookup and
 * load). With NB_BACKEND_AUTO, libtcc's until the cc code is swapped in, cc's after. */
double nb_program_compile_seconds(const nb_program *p);
/* The backend whose code the next run of p uses: NB_BACKEND_TCC or NB_BACKEND_CC
 * (for NB_BACKEND_AUTO, NB_BACKEND_CC as soon as the cc build is ready: the next run
 * swaps it in). Any thread may ask, also while p runs. -1 for a NULL p. */
nb_backend nb_program_backend(const nb_program *p);
/* Waits until the background cc build of an NB_BACKEND_AUTO program has ended (at once
 * for other programs, and in a child forked since the build started) and returns
 * nb_program_backend(p): NB_BACKEND_CC when its code is ready, NB_BACKEND_TCC when the
 * build failed. For tests and benchmarks; training needs no wait. */
nb_backend nb_program_wait_tier(nb_program *p);
/* Why the background cc build of an NB_BACKEND_AUTO program failed (the text
 * NB_BACKEND_CC's nb_compile would have given), or NULL: no failure (yet). Owned by p. */
const char *nb_program_tier_error(const nb_program *p);

/* Inputs, in the order they were created. */
int nb_program_input_count(const nb_program *p);
int nb_program_input_index(const nb_program *p, const char *name); /* -1 when unknown */
/* Binds an input buffer (not copied: it must stay valid until the next run). It holds
 * numel values of the input's dtype, row-major. 0 or -1 with an error. */
int nb_program_bind(nb_program *p, const char *name, const void *data);
int nb_program_bind_index(nb_program *p, int index, const void *data);

/* Runs the program: 0, or -1 with the error (an unbound input, an index out of
 * range) on the program. Allocates nothing. A run is all or nothing for the state:
 * when it fails, every parameter (optimizer state and gradient buffers included, and
 * so the state shared with other programs) keeps the value it had before the run; the
 * outputs are then unspecified. The run happens in the program's floating-point mode
 * (nb_compile_options.denormals); the calling thread's mode (every control bit:
 * flushing, rounding, exception masks) is the same afterwards, whether the run
 * succeeded or failed. Exception flags the run raised stay raised, as after any
 * arithmetic (fetestexcept sees them). */
int nb_program_run(nb_program *p);

int nb_program_output_count(const nb_program *p);
/* Pointer to output i's values, valid until the next run or free; NULL if i is bad. */
const void *nb_program_output(const nb_program *p, int i);
nb_dtype nb_program_output_dtype(const nb_program *p, int i);
int nb_program_output_rank(const nb_program *p, int i);
const int64_t *nb_program_output_shape(const nb_program *p, int i);
int64_t nb_program_output_numel(const nb_program *p, int i);

/* What a parameter of a program holds. */
typedef enum nb_param_kind {
    NB_PARAM_MODEL = 0,     /* a parameter the graph made with nb_param */
    NB_PARAM_OPTIMIZER = 1, /* state of nb_sgd, nb_adam or nb_adamw ("<param>.exp_avg", ...) */
    NB_PARAM_GRAD = 2       /* a gradient buffer of nb_grad_buffers ("<param>.grad") */
} nb_param_kind;

/* Parameters, in the order they were created (optimizer state included). */
int nb_program_param_count(const nb_program *p);
int nb_program_param_index(const nb_program *p, const char *name); /* -1 when unknown */
const char *nb_program_param_name(const nb_program *p, int i);
nb_dtype nb_program_param_dtype(const nb_program *p, int i);
int nb_program_param_rank(const nb_program *p, int i);
const int64_t *nb_program_param_shape(const nb_program *p, int i);
int64_t nb_program_param_numel(const nb_program *p, int i);
/* Which kind of parameter i is; (nb_param_kind)-1 for a bad index. */
nb_param_kind nb_program_param_kind(const nb_program *p, int i);
/* The parameter's values inside the program (numel values of its dtype); valid until
 * the program is freed. NULL for a bad index. */
void *nb_program_param_data(nb_program *p, int i);

/* Sets every gradient buffer (nb_grad_buffers) of the program to zero. */
int nb_program_zero_grad(nb_program *p);

/* Parameters: copy values in and out by name; nbytes must equal the parameter's size. */
int nb_program_set_param(nb_program *p, const char *name, const void *data, size_t nbytes);
int nb_program_get_param(nb_program *p, const char *name, void *data, size_t nbytes);

/* ---- parameter initializers (runtime/rt_init.c; docs/init.md) ---------------------- */

/* Fills parameters with PyTorch's initializers (torch.nn.init), from nabla's own PRNG:
 * the same nb_init (seed included) gives the same values on every machine; never rand().
 * Values are drawn in double, one per element in row-major order, then rounded to the
 * parameter's dtype, so an f32 parameter holds exactly the f64 values rounded to float.
 *
 * FAN CONVENTION. nabla's layers compute x[N, in] @ W[in, out], so a weight is stored
 * [in, out] — the transpose of PyTorch's [out, in]. By default (NB_LAYOUT_IN_OUT):
 *     fan_in  = shape[0] * receptive,   fan_out = shape[1] * receptive,
 * with receptive = shape[2] * ... * shape[rank-1] (1 for rank 2). NB_LAYOUT_OUT_IN reads
 * the shape as PyTorch does (fan_in from shape[1], fan_out from shape[0]). Either way a
 * weight gets the same distribution as torch's for the same layer: W[784, 256] here
 * and torch.nn.Linear(784, 256).weight ([256, 784]) both have fan_in 784. fan_in and
 * fan_out > 0 in nb_init override the shape (needed for rank 0 and 1, where the shape
 * gives no fans: the fan-based kinds then fail, as torch raises). */
typedef enum nb_init_kind {
    NB_INIT_ZEROS = 0,
    NB_INIT_ONES = 1,
    NB_INIT_CONSTANT = 2,        /* value */
    NB_INIT_UNIFORM = 3,         /* U[low, high) */
    NB_INIT_NORMAL = 4,          /* N(mean, std^2) */
    NB_INIT_XAVIER_UNIFORM = 5,  /* U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out)) */
    NB_INIT_XAVIER_NORMAL = 6,   /* N(0, s^2), s = gain * sqrt(2 / (fan_in + fan_out)) */
    NB_INIT_KAIMING_UNIFORM = 7, /* U(-b, b), b = gain(nonlinearity, slope) * sqrt(3 / fan) */
    NB_INIT_KAIMING_NORMAL = 8,  /* N(0, s^2), s = gain(nonlinearity, slope) / sqrt(fan) */
    /* torch.nn.Linear's weight: kaiming_uniform with slope sqrt(5), leaky_relu, fan_in,
     * which is U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
    NB_INIT_LINEAR_WEIGHT = 9,
    /* torch.nn.Linear's bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in the
     * WEIGHT's fan_in (in_features), which the bias's shape cannot give: set fan_in. */
    NB_INIT_LINEAR_BIAS = 10
} nb_init_kind;

typedef enum nb_fan_mode {
    NB_FAN_IN = 0, /* kaiming's default: preserves the forward pass's variance */
    NB_FAN_OUT = 1 /* preserves the backward pass's variance */
} nb_fan_mode;

/* torch.nn.init.calculate_gain's nonlinearities. */
typedef enum nb_nonlinearity {
    NB_NONLINEARITY_LEAKY_RELU = 0, /* sqrt(2 / (1 + slope^2)); kaiming's default */
    NB_NONLINEARITY_RELU = 1,       /* sqrt(2) */
    NB_NONLINEARITY_LINEAR = 2,     /* 1 (also conv and identity) */
    NB_NONLINEARITY_SIGMOID = 3,    /* 1 */
    NB_NONLINEARITY_TANH = 4,       /* 5/3 */
    NB_NONLINEARITY_SELU = 5        /* 3/4 */
} nb_nonlinearity;

typedef enum nb_fan_layout {
    NB_LAYOUT_IN_OUT = 0, /* nabla's weights [in, out, ...]: fan_in from shape[0] */
    NB_LAYOUT_OUT_IN = 1  /* PyTorch's weights [out, in, ...]: fan_in from shape[1] */
} nb_fan_layout;

/* An initializer. Fields a kind does not use are ignored. Build one with the nb_init_*
 * constructors below, then adjust fields (layout, fan overrides) as needed. */
typedef struct nb_init {
    nb_init_kind kind;
    double value;                 /* constant */
    double low, high;             /* uniform: low <= high, both finite */
    double mean, std;             /* normal: std >= 0 */
    double gain;                  /* xavier: > 0 (1 in the constructors) */
    double slope;                 /* kaiming: leaky_relu's negative slope (torch's a) */
    nb_fan_mode mode;             /* kaiming */
    nb_nonlinearity nonlinearity; /* kaiming */
    nb_fan_layout layout;         /* how fans are read from the shape */
    int64_t fan_in, fan_out;      /* > 0: use instead of the shape's; 0: from the shape */
    uint64_t seed;                /* the random kinds' stream; see nb_init_seed */
} nb_init;

nb_init nb_init_zeros(void);
nb_init nb_init_ones(void);
nb_init nb_init_constant(double value);
nb_init nb_init_uniform(double low, double high, uint64_t seed);
nb_init nb_init_normal(double mean, double std, uint64_t seed);
nb_init nb_init_xavier_uniform(double gain, uint64_t seed);
nb_init nb_init_xavier_normal(double gain, uint64_t seed);
/* torch's kaiming_*_(w) defaults are slope 0, NB_FAN_IN, NB_NONLINEARITY_LEAKY_RELU. */
nb_init nb_init_kaiming_uniform(double slope, nb_fan_mode mode, nb_nonlinearity nl, uint64_t seed);
nb_init nb_init_kaiming_normal(double slope, nb_fan_mode mode, nb_nonlinearity nl, uint64_t seed);
nb_init nb_init_linear_weight(uint64_t seed);
nb_init nb_init_linear_bias(int64_t fan_in, uint64_t seed);

/* torch.nn.init.calculate_gain(nl, slope); slope is used by leaky_relu only (torch's
 * default there is 0.01). NaN for an unknown nonlinearity. */
double nb_init_gain(nb_nonlinearity nl, double slope);

/* A seed for one parameter, mixed from a run's base seed and the parameter's name, so
 * that every parameter draws its own stream and adding or reordering parameters changes
 * no other parameter's values. Any other choice works as long as no two parameters of a
 * model share a seed (base + parameter index is fine for a single base seed). */
uint64_t nb_init_seed(uint64_t base, const char *name);

/* Fills the program's parameter `name` (its dtype and shape) from init. f32 and f64
 * take every kind; i32 and bool only zeros, ones and a constant they can hold. 0, or -1
 * with the error on the program and the parameter unchanged. */
int nb_program_init_param(nb_program *p, const char *name, const nb_init *init);
/* PyTorch's nn.Linear reset_parameters: weight (rank >= 2, fans per NB_LAYOUT_IN_OUT)
 * from nb_init_linear_weight, then bias (may be NULL) from nb_init_linear_bias with the
 * weight's fan_in; seeds nb_init_seed(seed, name) for each. 0, or -1 with the error on
 * the program and neither parameter changed. */
int nb_program_init_linear(nb_program *p, const char *weight, const char *bias, uint64_t seed);
/* Fills out (numel values of dt, row-major) for a tensor of the given shape, as
 * nb_program_init_param would. 0, or -1 with a message in err (when err is not NULL)
 * and out unchanged; a shape whose element count overflows 64 bits is an error. */
int nb_init_fill(const nb_init *init, nb_dtype dt, int rank, const int64_t *shape, void *out,
                 char *err, size_t err_size);

/* The process-wide thread count: the default of nb_compile_options.threads, for
 * programs compiled afterwards. Until it is called: the machine's online cores. -1 for
 * n < 1 or n > 256. Matmul runs on the program's threads too: the first nb_compile
 * sets OpenBLAS to one thread for the whole process (openblas_set_num_threads(1)) and
 * large products run as blocks on the pool, the same blocks for any thread count. */
int nb_set_threads(int n);
int nb_get_threads(void);

/* ---- graph files (frontend/nb_graph_write.c, nb_graph_parse.c; docs/graph-format.md) */

/* The values of an input or a parameter carried by a graph file: numel values of the
 * node, row-major, as doubles holding values of the node's dtype exactly. */
typedef struct nb_leaf_value {
    nb_node *node; /* an input or a parameter */
    double *data;  /* nb_node_numel(node) values */
} nb_leaf_value;

/* What a graph file carries beyond the nodes: the outputs to compile, the parameter
 * updates of a training step, and values for inputs and parameters. Any count may be 0
 * (its array then unused). */
typedef struct nb_graph_extras {
    nb_node **outputs;
    int n_outputs;
    nb_update *updates;
    int n_updates;
    nb_leaf_value *values;
    int n_values;
} nb_graph_extras;

/* Frees what nb_graph_parse or nb_graph_load put in *x (the arrays and the values'
 * data, not the nodes: they belong to the graph) and zeroes it. NULL is fine. Only for
 * extras those functions filled: a caller's own arrays are the caller's. */
void nb_graph_extras_free(nb_graph_extras *x);

/* The graph in the text format of docs/graph-format.md ("nabla-graph 1" and one line per
 * node, then the extras), in a newly malloc'ed string (caller frees). Every attribute,
 * every constant value and every name is written so that nb_graph_parse rebuilds the same
 * graph: writing the parsed graph gives the same text, byte for byte. x may be NULL (no
 * extras). NULL when g is NULL or holds an error, a node of x is NULL or of another graph,
 * a value is not of an input or a parameter or has no data, or out of memory. */
char *nb_graph_write(const nb_graph *g, const nb_graph_extras *x);
/* Writes nb_graph_write's text to path atomically (a private temporary renamed over it,
 * as nb_program_save). 0, or -1 with a message naming the file in err (err may be NULL). */
int nb_graph_save(const nb_graph *g, const nb_graph_extras *x, const char *path, char *err,
                  size_t err_size);
/* Reads the text format from text[0..len) (no terminator needed) into a new graph, built
 * through the same builders and shape rules as a program's and checked by the verifier.
 * When x is not NULL it receives the outputs, updates and values of the file (free them
 * with nb_graph_extras_free before or after the graph, and the graph with
 * nb_graph_free). NULL on any error, with *x zeroed and a message in err (err may be
 * NULL) that names the line and column and what was expected there:
 * "line 3, column 14: expected a dtype (f32, f64, i32, bool), got 'f33'". */
nb_graph *nb_graph_parse(const char *text, size_t len, nb_graph_extras *x, char *err,
                         size_t err_size);
/* nb_graph_parse of the file at path; messages start with the path. Files above
 * NB_GRAPH_FILE_MAX bytes are refused. */
nb_graph *nb_graph_load(const char *path, nb_graph_extras *x, char *err, size_t err_size);
#define NB_GRAPH_FILE_MAX ((size_t)1 << 30)

/* ---- checkpoints (safetensors) ----------------------------------------------------- */

/* Writes every parameter of the program (optimizer state and "<name>.grad" gradient
 * buffers included: everything nb_program_param_count lists) to path in the
 * safetensors format: one tensor per parameter, under its name, in parameter order.
 * The write is atomic: a temporary file ".<name>.tmp-XXXXXX" in the same directory is
 * written, synced and renamed over path, so path holds either the old file or the
 * complete new one; an existing file's permission bits are kept. Temporaries that
 * killed saves of path left behind (unlocked, of this user) are removed first. Names
 * must be valid UTF-8 (JSON text). 0, or -1 with the error on the program (no
 * temporary file is left behind). See docs/checkpoints.md. */
int nb_program_save(nb_program *p, const char *path);
/* As nb_program_save, but writes only the model's parameters (NB_PARAM_MODEL): no
 * optimizer state, no gradient buffers. The file is what an inference program of the
 * same layers loads strictly, and what a training program loads non-strictly (its
 * optimizer state and gradient buffers then keep their values). */
int nb_program_save_params(nb_program *p, const char *path);
/* Reads a safetensors file written for a program of the same graph: the file must hold
 * exactly the program's parameters (no missing or extra names) with their dtypes and
 * shapes. The whole file is checked before any parameter changes: on error (-1, with a
 * message on the program naming the file and the problem) no parameter has changed.
 * The same as nb_program_load_ex(p, path, 1, NULL). */
int nb_program_load(nb_program *p, const char *path);

/* What a load took and left. The name arrays belong to the program: they stay valid
 * until the next load on it (nb_program_load or nb_program_load_ex, whether it
 * succeeds or not) or its free. An array is NULL when its count is 0. */
typedef struct nb_load_report {
    int n_loaded; /* parameters given the file's values */
    /* Parameters of the program that the file does not have, in parameter order: they
     * keep their values. */
    int n_missing;
    const char *const *missing;
    /* Tensors of the file that the program does not have, in file order: not read. */
    int n_unexpected;
    const char *const *unexpected;
} nb_load_report;

/* Loads a safetensors file, strictly or not (PyTorch's load_state_dict(strict)).
 * strict != 0: as nb_program_load (every parameter, no other tensor).
 * strict == 0: takes the file's tensors whose names the program has and leaves the
 * other parameters as they are; the file may hold other tensors (optimizer state,
 * gradient buffers, layers the program does not have, of any safetensors dtype and
 * rank) and may lack parameters. Both modes refuse a tensor whose name the program has
 * but whose dtype or shape differs from the parameter's (the message names the file,
 * the tensor and both types), a name that appears twice, and a file that is damaged
 * anywhere, the tensors it skips included: the whole file is checked before any
 * parameter changes. A non-strict load that matches no name at all succeeds with
 * n_loaded = 0 (as PyTorch does): check the report when that matters.
 * 0 with *report filled (report may be NULL), or -1 with the error on the program, no
 * parameter changed and *report zeroed. */
int nb_program_load_ex(nb_program *p, const char *path, int strict, nb_load_report *report);

/* ---- ahead-of-time export (runtime/rt_export.c; docs/aot.md) ------------------------ */

/* Where an exported program keeps its parameters. */
typedef enum nb_export_weights {
    /* In the caller's state block (<PREFIX>_STATE_SIZE bytes, each parameter at its
     * <PREFIX>_PARAM<i>_OFFSET); <prefix>_init fills it with the values the parameters
     * had at the export. For programs that update their parameters (training steps). */
    NB_EXPORT_WEIGHTS_STATE = 0,
    /* Baked into the .c as static const arrays (read-only memory, no state block):
     * only for programs without parameter updates. */
    NB_EXPORT_WEIGHTS_CONST = 1
} nb_export_weights;

typedef struct nb_export_options {
    /* Every name the files define starts with it (macros with it in capitals): a C
     * identifier of letters, digits and '_' starting with a letter, at most 64 bytes;
     * not "nb" nor starting with "nb_" or "nbm_" (the files' own static names). */
    const char *prefix;
    const char *dir; /* where <prefix>.c and <prefix>.h go; NULL: the current directory */
    nb_export_weights weights;
} nb_export_options;

/* Writes the program as two files, <prefix>.c and <prefix>.h, that build with any C99
 * compiler and need only libm at run time: no nabla, no libtcc, no BLAS (matmul is a
 * portable cache-blocked gemm in the file; defining <PREFIX>_USE_CBLAS when compiling
 * it calls cblas_sgemm/cblas_dgemm instead, with the JIT's blocking), no allocation, no
 * threads. The header describes the inputs, outputs and parameters (names, dtypes,
 * shapes: as tables and as typedefs), the arena and state sizes, and declares
 *   int <prefix>_run(<inputs>, <outputs>, void *arena, void *state);
 * Compiled with -ffp-contract=off the file computes the same bits as the program run
 * by nabla with NB_DENORMALS_IEEE (or with the caller's thread flushing subnormals, for
 * NB_DENORMALS_FLUSH), with OpenBLAS on one thread under <PREFIX>_USE_CBLAS; the
 * portable gemm sums each dot product in order and may differ from OpenBLAS in the last
 * bits. The parameters' current values are baked in (opt->weights). The program must
 * have been compiled with nb_compile_options.exportable. Each file is written
 * atomically (a private temporary renamed over it). 0, or -1 with the error on p. See
 * docs/aot.md. */
int nb_program_export(nb_program *p, const nb_export_options *opt);

/* ---- gradient check (runtime/rt_gradcheck.c; docs/gradcheck.md) ------------------- */

/* The value of one input or parameter at the points a gradient check visits. */
typedef struct nb_gradcheck_value {
    nb_node *leaf; /* an input or parameter of the graph */
    /* nb_node_numel(leaf) values, row-major, as doubles whatever the leaf's dtype (an
     * i32 leaf takes whole numbers, a bool leaf 0 or 1); or NULL: drawn at each point
     * uniformly from [lo, hi] (i32: whole numbers in [lo, hi); bool: 0 or 1). */
    const double *data;
    double lo, hi;
} nb_gradcheck_value;

/* Knobs of nb_gradcheck; start from nb_gradcheck_default_options(). */
typedef struct nb_gradcheck_options {
    double eps;  /* the finite-difference step h, absolute: 1e-6 */
    double atol; /* an element passes when |a - n| <= atol + rtol * max(|a|, |n|), */
    double rtol; /* a NaN never does: 1e-5 and 1e-4 */
    /* An element is skipped (counted, not compared) when the central differences at h
     * and 4h, or the one-sided differences at h, differ by more than
     * kink_tol * (1 + |d_h|): the function is not smooth there (a kink such as relu's
     * at 0, or a jump). 1e-3. */
    double kink_tol;
    int n_points;  /* points checked when some leaf is drawn at random: 2 (at least 1) */
    uint64_t seed; /* the random values and the choice of elements: 0x5eed */
    /* Leaves without an entry in values are drawn from [lo, hi] (i32: whole numbers in
     * [lo, hi), bool: 0 or 1): -2, 2. */
    double lo, hi;
    /* Elements compared per differentiated leaf and point: 0 means all of them (the
     * default); a smaller count draws that many at random, possibly repeating one. */
    int64_t max_elements;
    const nb_gradcheck_value *values; /* values or ranges of some leaves (may be NULL) */
    int n_values;
    /* When set, grads[i] (a node of the graph of wrt[i]'s dtype and shape) is the
     * analytic gradient checked instead of the one nb_grad builds: for a gradient
     * written by hand, or by nb_vjp. NULL: nb_grad's. */
    nb_node *const *grads;
    nb_backend backend; /* how the check's program is compiled: NB_BACKEND_TCC */
} nb_gradcheck_options;

nb_gradcheck_options nb_gradcheck_default_options(void);

/* Bytes of nb_gradcheck_result.message, terminator included. */
#define NB_GRADCHECK_MESSAGE_MAX 512

/* What a check found. The worst element is the failure with the largest error relative
 * to its tolerance (a NaN disagreement counts as infinite), or, when every element
 * passed, the one closest to its tolerance. */
typedef struct nb_gradcheck_result {
    int ok;                   /* 1 when the check ran and passed */
    int checked;              /* elements compared, over all points */
    int skipped;              /* elements skipped as non-smooth */
    int failed;               /* elements outside the tolerance, NaN disagreements included */
    int points;               /* points visited */
    int wrt;                  /* the worst element: index into wrt (-1 when none was compared), */
    int64_t element;          /* its row-major index in the leaf, */
    int point;                /* the point it was found at, */
    double analytic, numeric; /* the two gradients, */
    double error, tolerance;  /* |analytic - numeric| and atol + rtol * max(|a|, |n|) */
    /* One line: "d loss / d w[3]: analytic 0.25, numeric 0.2500001 (error 1e-07 within
     * 3.5e-05); 40 compared, 2 skipped at 2 points", or why the check failed or could
     * not run. */
    char message[NB_GRADCHECK_MESSAGE_MAX];
} nb_gradcheck_result;

/* Checks the gradient of the scalar y (a float node with one element) with respect to
 * the inputs or parameters wrt[0..n) of g against central finite differences
 * (f(x + h) - f(x - h)) / 2h, like torch.autograd.gradcheck, at the given values or at
 * random points (opt->n_points of them; one when every leaf has its data given).
 *
 * The check runs in f64 on a copy of g: f32 leaves, constants (their f32 values) and
 * casts to f32 become f64, so an f32 graph is checked in f64 arithmetic: the check
 * tests the gradient the graph defines, not the rounding of f32 code. g itself is not
 * changed (nb_grad is called on the copy; opt->grads are nodes of g, copied with it).
 *
 * Elements where the function is not smooth are skipped (opt->kink_tol); a point where
 * every element was skipped (none compared) fails the check. A NaN on either side, or both,
 * fails. opt NULL means the defaults; r may be NULL.
 * Returns 0 when the gradients agree, 1 when they do not (r says where), -1 when the
 * check could not run: a bad argument (y not a scalar, a wrt that is not an input or
 * parameter of g, NULLs, n < 1), an error already on g, a failed compile or run, or
 * out of memory; r->message says which. */
int nb_gradcheck(nb_graph *g, nb_node *y, nb_node *const *wrt, int n,
                 const nb_gradcheck_options *opt, nb_gradcheck_result *r);

/* Size in bytes of one element of dt (0 for an unknown dtype). */
size_t nb_dtype_size(nb_dtype dt);
const char *nb_dtype_name(nb_dtype dt);

/* ---- optimizers ------------------------------------------------------------------- */
/* An optimizer builder appends to g the nodes of one step of torch.optim's algorithm
 * (PyTorch 1.13, formulas exactly) for params[i] with gradients grads[i] (nodes of the
 * parameter's dtype and shape: from nb_grad, or the accumulated values or buffers of
 * nb_grad_buffers), and writes the state updates to updates[0..cap): the new value of
 * each parameter and of the optimizer's own state. Compile them with the program's
 * updates (next to any gradient-buffer updates) and one nb_program_run does forward,
 * backward and step; every new value is built from the values read before the run.
 *
 * lr is any float rank-0 node, normally an input (nb_input(g, "lr", NB_F32, 0, NULL))
 * bound before each run, so that a schedule never recompiles; it is used as a double.
 * The other knobs are compile-time constants.
 *
 * The optimizer's state is parameters named after the parameter "w" (zero at first, as
 * torch's fresh state; listed, saved and loaded by name like any parameter):
 *   "w.momentum_buffer"  SGD with momentum != 0
 *   "w.step"             f32 count of steps taken: Adam, AdamW; SGD with dampening != 0
 *                        (to tell the first step, which sets the buffer to d_p)
 *   "w.exp_avg", "w.exp_avg_sq"  Adam, AdamW; "w.max_exp_avg_sq" with amsgrad
 * A name already taken (the same parameter given twice, or to two optimizers) is an
 * error. Returns the number of updates written: per parameter, the parameter and each
 * of its state parameters; n * NB_<OPT>_UPDATES_PER_PARAM always suffices for cap (a
 * smaller cap that cannot hold them is an error). -1 with the error, which names the
 * optimizer, recorded on g. */

/* SGD: d = g (+ weight_decay * w); with momentum, buf = momentum * buf +
 * (1 - dampening) * d (buf = d on the first step), d = nesterov ? d + momentum * buf :
 * buf; then w = w - lr * d. All zeros are torch's defaults (plain SGD). */
typedef struct nb_sgd_options {
    double momentum;     /* >= 0 */
    double dampening;    /* any finite value */
    double weight_decay; /* >= 0: L2 penalty added to the gradient */
    int nesterov;        /* needs momentum > 0 and dampening == 0 */
    int maximize;        /* step along +gradient */
} nb_sgd_options;

#define NB_SGD_UPDATES_PER_PARAM 3

/* o == NULL means all zeros. */
int nb_sgd(nb_graph *g, nb_node *lr, nb_node *const *params, nb_node *const *grads, int n,
           const nb_sgd_options *o, nb_update *updates, int cap);

/* Adam: t = step + 1; g (+ weight_decay * w, Adam only); m = beta1 m + (1 - beta1) g;
 * v = beta2 v + (1 - beta2) g^2; (amsgrad: vmax = max(vmax, v), used for v below);
 * w = w - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps), the bias
 * corrections in double. AdamW decays the weight first instead: w = w (1 - lr wd). */
typedef struct nb_adam_options {
    double beta1, beta2; /* in [0, 1) */
    double eps;          /* >= 0, added after the square root */
    double weight_decay; /* >= 0 */
    int amsgrad;         /* keep the max of v ("w.max_exp_avg_sq") */
    int maximize;        /* step along +gradient */
} nb_adam_options;

#define NB_ADAM_UPDATES_PER_PARAM 5

/* torch's defaults: betas (0.9, 0.999), eps 1e-8, weight_decay 0 (Adam) or 1e-2
 * (AdamW). o == NULL in nb_adam/nb_adamw means these. */
nb_adam_options nb_adam_default_options(void);
nb_adam_options nb_adamw_default_options(void);

int nb_adam(nb_graph *g, nb_node *lr, nb_node *const *params, nb_node *const *grads, int n,
            const nb_adam_options *o, nb_update *updates, int cap);
int nb_adamw(nb_graph *g, nb_node *lr, nb_node *const *params, nb_node *const *grads, int n,
             const nb_adam_options *o, nb_update *updates, int cap);

#ifdef __cplusplus
}
#endif

/* The data-set helpers (IDX and .npy files, minibatches): not the compiler's API, a
 * header of their own that comes with this one. */
#include "nabla_data.h"

#endif
