/* cg.h — the code generator: lowers a graph to C99 text and describes its memory. */
#ifndef CG_H
#define CG_H

#include "ir.h"

/* How many functions cg_libm.def lists. */
enum {
#define CG_LIBM(fn, proto, exact) CG_LIBM_##fn,
#include "cg_libm.def"
#undef CG_LIBM
    CG_LIBM_COUNT
};

/* How many functions cg_math.def lists. */
enum {
#define CG_MATH(fn, helpers) CG_MATH_##fn,
#include "cg_math.def"
#undef CG_MATH
    CG_MATH_COUNT
};

/* How many runtime kernels cg_rt.def lists. */
enum {
#define CG_RT(fn, proto) CG_RT_##fn,
#include "cg_rt.def"
#undef CG_RT
    CG_RT_COUNT
};

/* Characters of the first internal error kept for the message. */
#define CG_INTERNAL_MAX 256

/* The state of one kernel being written. Emitters append to its text with the line
 * helpers below; in a kernel, the output pointer is `y` and the operands are `x0`,
 * `x1`, ... (typed by their dtypes, row-major, contiguous). */
struct cg_plan;
typedef struct cg_ctx {
    ir_text *t;
    const struct cg_plan *plan; /* of the program being written (cg_elementwise reads it) */
    int indent;
    unsigned char libm_used[CG_LIBM_COUNT]; /* entry i of cg_libm.def is called */
    unsigned char rt_used[CG_RT_COUNT];     /* entry i of cg_rt.def is called */
    unsigned char math_used[CG_MATH_COUNT]; /* entry i of cg_math.def is called */
    int can_fail;                           /* the kernel returns nonzero on bad runtime data */
    int random_used;                        /* a kernel draws random numbers (cg_random.c) */
    /* The kernel being written is split (cg_kernel.parts > 1): its outermost splittable
     * loop runs the iterations [lo, hi) its part is given. */
    int split;
    /* The kernel runs beside another one (cg_kernel.pair): its gemms are single calls
     * (nb_rt_gemm_one_*), never split in blocks. */
    int gemm_one;
    /* Fused loops that call own math run in blocks, one runtime call per block
     * (nb_rt_<fn>_block): code linked by symbols, that libtcc compiles (cg_elementwise.c). */
    int block_math;
    /* The runtime's compiled kernels (cg_rt.def) beyond the gemms are at hand: the
     * program runs in this process (tcc or cc), it is not exported. */
    int rt_kernels;
    /* The kernel being written (cg_program.c sets it): a reduction reads its fused
     * producers from it. */
    const struct cg_kernel *kernel;
    /* The first internal error (a bug of an emitter, never of the user's graph), or "".
     * The text being written is marked failed too; cg_text_error tells it apart from
     * running out of memory. */
    char internal[CG_INTERNAL_MAX];
} cg_ctx;

/* ---- expressions of elementwise emitters (cg_expr.c) ------------------------------ */

/* An elementwise (CG_EW) emitter builds the expression of one node's scalar value from
 * its operands' expressions, piece by piece: C text, operand j, literals, libm calls.
 * It never sees the operands' text: the fused loop (cg_elementwise.c) decides after the
 * emitter returns how each operand is read (a loaded argument v<a>, a member's local
 * t<id>, a literal, or a member's pending expression inlined whole) and writes the
 * result as a local or keeps it pending for its one reader. An operand the emitter
 * reads more than once is evaluated once: when it is pending, it is written as its
 * local first. An operand is parenthesized where it needs it, so an emitter writes
 * `cg_ew_x(e, 0); cg_ew_s(e, " * "); cg_ew_x(e, 1);` for a * b. Statements an emitter
 * needs before its result (a value it reads twice) are ended with cg_ew_let and read
 * back with cg_ew_local. */
typedef struct cg_ew_hole {
    size_t at;        /* position in text */
    int operand;      /* >= 0: operand j goes here; CG_EW_LET: a statement ends here */
    const char *name; /* CG_EW_LET: the local's name */
} cg_ew_hole;

#define CG_EW_LET (-1)

typedef struct cg_ew {
    cg_ctx *c;
    const ir_node *n; /* the node being emitted */
    ir_text text;     /* the text pieces, back to back */
    cg_ew_hole *holes;
    int n_holes, cap_holes;
    int calls; /* cg_ew_call not closed yet */
    int empty; /* nothing written since the start or the last cg_ew_let */
    /* What the expression so far is as a whole, which decides whether a reader must
     * parenthesize it: CG_EW_COMPOUND, CG_EW_CALL (one call "f(...)") or 1 + j
     * (operand j alone). */
    int whole;
    /* The cg_math.def entry of the call that opened the expression, or -1. */
    int math;
    /* The row-major index of the element being computed in the node, as C text over the
     * loop variables ("i0 * 12 + i1"), set by the fused loop; NULL where there is none. */
    const char *index;
} cg_ew;

#define CG_EW_COMPOUND 0
#define CG_EW_CALL (-1)

typedef void (*cg_ew_fn)(cg_ew *e, const ir_node *n);

/* Operand j of the node (j < n->n_in). */
void cg_ew_x(cg_ew *e, int j);
/* C text (a string literal or any string; it is copied). */
void cg_ew_s(cg_ew *e, const char *text);
/* A literal of the node's dtype. */
void cg_ew_lit(cg_ew *e, double v);
/* Opens a call of the function `base` for the node's dtype, as cg_fn names it ("exp"
 * -> "nbm_expf(" in f32, "exp(" in f64); cg_ew_close writes its ")". */
void cg_ew_call(cg_ew *e, const char *base);
void cg_ew_close(cg_ew *e);
/* Ends the text so far as the statement `const T t<id>_<name> = ...;` (T the node's
 * type; name a string literal) and starts the next piece of the expression. */
void cg_ew_let(cg_ew *e, const char *name);
/* Reads the local of cg_ew_let(e, name). */
void cg_ew_local(cg_ew *e, const char *name);
/* The index of the element being computed (cg_ew.index) as an unsigned long long: the
 * same value whatever the loop's split or merged axes. An emitter called without one is
 * an internal error. */
void cg_ew_index(cg_ew *e);
/* Empties e for the next node. */
void cg_ew_reset(cg_ew *e, cg_ctx *c, const ir_node *n);
void cg_ew_free(cg_ew *e);

/* Every emitter named in the emitter table. */
#define CG_LEAF
#define CG_EW(fn) void fn(cg_ew *e, const ir_node *n);
#define CG_KERNEL(fn) void fn(cg_ctx *c, const ir_node *n);
#define CG_KERNEL_FALLIBLE(fn) CG_KERNEL(fn)
#define CG_KERNEL_FALLIBLE_AS(fn, what) CG_KERNEL(fn)
#define CG_OP(NAME, emit) emit
#include "cg_ops.def"
#undef CG_OP
#undef CG_LEAF
#undef CG_EW
#undef CG_KERNEL
#undef CG_KERNEL_FALLIBLE
#undef CG_KERNEL_FALLIBLE_AS

/* ---- helpers for emitters (cg_emit.c) ------------------------------------------- */

/* Lines built from pieces, without printf: cg_begin writes the indent, cg_s and cg_i
 * append a string and an integer, cg_end appends its text and the newline. */
void cg_begin(cg_ctx *c);
void cg_s(cg_ctx *c, const char *s);
void cg_i(cg_ctx *c, long long v);
void cg_end(cg_ctx *c, const char *s);
/* Writes one indented line from a format (fmt without the newline): for rare lines. */
void cg_line(cg_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Records an internal error (an emitter bug) unless one is recorded, and marks the text
 * being written (c->t, when set) failed. */
void cg_internal_error(cg_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reports a failed text on g: "codegen: internal error: ..." when c holds one, else out
 * of memory. Returns -1. */
int cg_text_error(ir_graph *g, const cg_ctx *c);
/* The C type of dt: "float", "double", "int", "unsigned char". */
const char *cg_ctype(nb_dtype dt);
/* The function `base` for dt, marked as used: nabla's own (cg_math.def) where it has one
 * ("exp" -> "nbm_expf" for f32), else libm's ("exp" -> "exp" for f64). */
const char *cg_fn(cg_ctx *c, nb_dtype dt, const char *base);

/* ---- nabla's own math as C text (cg_math.c) --------------------------------------- */

/* The entry of cg_math.def for a libm name ("expf"), or -1. */
int cg_math_find(const char *libm_name);
/* The name generated code calls for entry i ("nbm_expf"). */
const char *cg_math_name(int i);
/* The entry whose name cg_math_name returned as fn, or -1. */
int cg_math_of(const char *fn);
/* The runtime function that applies entry i to a block of floats in place
 * ("nb_rt_expf_block", cg_rt.def). */
const char *cg_math_block_name(int i);

/* The runtime kernel `name` (an entry of cg_rt.def), marked as used. */
const char *cg_rt(cg_ctx *c, const char *name);
/* Bytes of the longest literal cg_lit writes, with its terminator. */
#define CG_LIT_MAX 40
/* Writes a literal of dt into buf[CG_LIT_MAX]: "0.5f", "0.5", "3"; with a decimal point
 * or exponent for floats; the shortest text that reads back to the same value. Returns
 * its length. */
size_t cg_lit(char *buf, nb_dtype dt, double v);
/* Appends the literal of cg_lit to t. */
void cg_lit_put(ir_text *t, nb_dtype dt, double v);
/* Row-major strides of a shape. */
void cg_strides(int rank, const int64_t *shape, int64_t *strides);
/* Simplifies a loop nest over the box size[0..rank) that walks n_arrays arrays at once,
 * array a moving stride[a][d] elements along axis d: drops the axes of size 1 and merges
 * an axis into the one before it when every array walks the two as one run
 * (stride[a][d - 1] == stride[a][d] * size[d]). Rewrites size and stride in place and
 * returns the number of axes left. */
int cg_merge_axes(int rank, int64_t *size, int n_arrays, int64_t (*stride)[NB_MAX_RANK]);
/* Opens nested loops `for (long <var>d = 0; <var>d < shape[d]; <var>d++) {` over the
 * axes whose bit is set in axes; cg_loops_close closes as many. */
int cg_loops_open(cg_ctx *c, const char *var, int rank, const int64_t *shape, uint32_t axes);
void cg_loops_close(cg_ctx *c, int count);
/* Appends "i0 * 12 + i2" (terms with stride 0 dropped) to t, after the offset off when
 * it is not 0; "0" when nothing is left. */
void cg_index(ir_text *t, int64_t off, const char *var, int rank, const int64_t *strides);

/* ---- kernels (cg_program.c, cg_fuse.c, cg_elementwise.c) ----------------------- */

#define CG_MAX_ARGS 64 /* operands of one elementwise kernel (fusion stays below) */
/* A kernel with more operands than this takes them as one array `const void *const *xs`
 * rather than as x0, x1, ...: libtcc fails on calls of about 1,000 arguments
 * ("memory full (vstack)"), and a concat may list a thousand operands. Only concat is
 * variadic; its emitter then loops over the array (cg_k_concat). */
#define CG_MAX_CALL_ARGS 64

/* One generated function: it computes `root` into y from the operands args[0..n_args)
 * (x0, x1, ...). members[0..n_members) are the nodes it evaluates, in id order, root
 * last: more than one only for fused elementwise kernels. outs[0..n_outs) are the
 * members it writes to memory, root last; the others (stored members of a fused
 * kernel) are written through the pointers s<id>, passed before the operands. */
typedef struct cg_kernel {
    const ir_node *root;
    const ir_node **members;
    int n_members;
    const ir_node **args;
    int n_args;
    const ir_node **outs;
    int n_outs;
    /* arg_out[a]: the index in outs of the output whose memory argument a is (a
     * parameter update written in place), or -1. The kernel reads it through that
     * output's pointer, at the index it writes, so a compiler sees one pointer and may
     * vectorize the loop. */
    int *arg_out;
    /* arg_permuted[a]: argument a is a permute that is a view (only elementwise kernels
     * read it): its pointer is its operand's memory, read through the permuted strides
     * of the operand (cg_elementwise's plan_axes). */
    const unsigned char *arg_permuted;
    /* The buffer holding the operand array of a kernel with more than CG_MAX_CALL_ARGS
     * operands, or -1. */
    int args_buffer;
    /* The thread split of the kernel's loop: how many parts the program's pool runs it
     * in (nb_rt_parallel), over the loop cg_kernel_extent names; 1: the calling thread
     * alone. Elementwise kernels and reductions that keep an axis split when they hold
     * or read at least 2 * split_min elements (cg_plan.c). */
    int parts;
    /* 1: the kernel runs side by side with the next one (as the two parts of one pool
     * job, or one after the other on one thread); -1: with the one before; 0: alone.
     * Only two matmuls of about the same work where the second reads nothing the first
     * writes pair up (cg_plan.c, plan_pairs), and each then makes single gemm calls,
     * whatever the thread count, so the bits do not depend on it. */
    int pair;
    /* The reduction whose loops the kernel runs in, or NULL: the root itself when it
     * takes only its producers (members of its operand's shape, computed inside its
     * reduced loops), or an earlier member when elementwise consumers of its output's
     * shape follow it (computed where each output element is finalized; the root is
     * the last of them). */
    const ir_node *reduction;
} cg_kernel;

/* The emitter table (cg_ops.c, rows in cg_ops.def): the emitters of an op (NULL when
 * it has none of that kind), and what kind of node it makes. */
typedef void (*cg_emit_fn)(cg_ctx *c, const ir_node *n);
cg_ew_fn cg_ew_emitter(ir_op op);
cg_emit_fn cg_kernel_emitter(ir_op op);
int cg_is_elementwise(const ir_node *n);
/* An input, a parameter or a constant: a buffer, no code. */
int cg_is_leaf(const ir_node *n);
/* The node's kernel checks data at run time and returns nonzero when it is bad
 * (CG_KERNEL_FALLIBLE in cg_ops.def): the run fails there. */
int cg_can_fail(const ir_node *n);
/* What such a kernel found wrong, for the run's error: "an index is out of range". */
const char *cg_fail_what(const ir_node *n);
/* A scalar constant, written into elementwise code as a literal. */
int cg_is_inlined(const ir_node *n);

/* ---- the plan (cg_plan.c, cg_fuse.c, cg_arena.c) ------------------------------- */

/* A dtype and shape some node has, and its text "f32[2,3]" (type_text.buf + at, len
 * bytes). A graph has few: comments copy the text of a node's type instead of reading
 * the node and formatting it. */
typedef struct cg_type {
    nb_dtype dtype;
    int rank;
    int64_t shape[NB_MAX_RANK];
    size_t at, len;
} cg_type;

/* What the plan knows about one node of the graph. The first fields are copied from the
 * node in one pass (cg_plan_build) so that the later passes over every node read this
 * array, not the node structs: on a graph of 100,000 nodes those are tens of megabytes,
 * and each pass over them would go to memory. */
typedef struct cg_node_plan {
    unsigned short op;        /* the node's ir_op */
    unsigned char ew;         /* elementwise: cg_is_elementwise */
    unsigned char inlined;    /* a constant written as a literal where read: cg_is_inlined */
    int n_in;                 /* operands: their ids are operands[in_at .. in_at + n_in) */
    int in_at;                /* of the plan's operands array */
    int origin;               /* the node's origin (its number in the user's graph) */
    int type;                 /* its dtype and shape: index in the plan's types */
    double lit;               /* inlined: the constant's value */
    unsigned char live;       /* needed by an output or an update */
    unsigned char kept;       /* an output or an update value: kept whole to the end */
    unsigned char output;     /* an output of the program */
    unsigned char stored;     /* a kernel writes it to memory (cg_fuse) */
    unsigned char target;     /* a parameter some update writes */
    unsigned char values;     /* how many updates write the node: 0, 1, or 2 for more */
    unsigned char fails;      /* its kernel returns nonzero on bad data */
    unsigned char used_const; /* a constant read from memory (emitted as an array) */
    unsigned char view;       /* a view: its operand's memory at an offset, no kernel */
    int root;                 /* id of the root of the kernel that computes it, or -1 */
    int kernel;               /* index of that kernel, or -1 */
    int buffer;               /* index in the plan's buffers of its memory, or -1 */
} cg_node_plan;

/* Where the values of a node (or a block of extra space) live. */
typedef enum cg_buffer_kind {
    CG_BUF_ARENA,       /* a kernel's result, placed in the arena */
    CG_BUF_IN_PLACE,    /* an update value written straight into its parameter */
    CG_BUF_VIEW,        /* a reshape or contiguous slice: alias's memory at an offset */
    CG_BUF_OUTPUT_COPY, /* a leaf returned as an output: copied into the arena at the end */
    CG_BUF_SWAP,        /* an update value that another update overwrites, set aside */
    CG_BUF_ARGS         /* the operand array of a kernel too wide for one call */
} cg_buffer_kind;

/* The end of a run: after the last kernel, when outputs are copied and updates done. */
#define CG_PLAN_END(pl) ((pl)->n_kernels)

typedef struct cg_buffer {
    cg_buffer_kind kind;
    const ir_node *node; /* whose values; CG_BUF_ARGS: the root of the wide kernel */
    size_t bytes;        /* arena bytes (rounded up to CG_ALIGN); 0 when it takes none */
    /* Live range, in kernel indices: written by kernel first, last read by kernel last;
     * CG_PLAN_END for outputs, update values and the copies at the end of the run. */
    int first, last;
    size_t offset; /* arena offset, when bytes > 0 */
    /* CG_BUF_VIEW: the node whose memory it is (a kernel's result or a leaf, never a view)
     * and the byte offset into it; CG_BUF_IN_PLACE: the parameter; else NULL. */
    const ir_node *alias;
    size_t alias_offset;
    int permuted; /* CG_BUF_VIEW of a permute: alias's memory in the operand's order */
    int index;    /* CG_BUF_SWAP: the update; CG_BUF_OUTPUT_COPY: the output; CG_BUF_ARGS: the
                   * kernel; else -1 */
} cg_buffer;

/* How the arena offsets were found (cg_arena.c). */
typedef enum cg_placement {
    CG_PLACE_NONE,          /* nothing in the arena */
    CG_PLACE_FIRST_FIT,     /* in kernel order, the lowest gap that fits */
    CG_PLACE_GREEDY_BY_SIZE /* largest first, the tightest gap among overlapping lives */
} cg_placement;

/* The whole plan of a program, complete before any text is written: emission only
 * reads it. */
typedef struct cg_plan {
    cg_node_plan *nodes; /* by node id */
    int *operands;       /* the operand ids of every node, back to back (cg_node_plan in_at) */
    cg_type *types;      /* the distinct types of the nodes (cg_node_plan type) */
    int n_types, cap_types;
    int *type_slots; /* open addressing over types: index or -1; type_slots_cap slots */
    size_t type_slots_cap;
    ir_text type_text;  /* the texts of the types */
    cg_kernel *kernels; /* in id order of their roots: the order the entry calls them */
    int n_kernels;
    cg_buffer *buffers;
    int n_buffers;
    int last_fail;      /* index of the last kernel that can fail, or -1 */
    int *update_swap;   /* per update: its CG_BUF_SWAP buffer, or -1 */
    int *output_buffer; /* per output: the buffer holding it at the end */
    size_t arena_size;  /* bytes of the arena */
    size_t live_peak;   /* max over kernels of the arena bytes live there: a lower bound */
    cg_placement placement;
    const ir_node **lists;       /* members, operands and outputs of every kernel, back to back */
    int *arg_outs;               /* the kernels' arg_out arrays, back to back */
    unsigned char *arg_permuted; /* the kernels' arg_permuted arrays, back to back */
} cg_plan;

struct cg_request;
/* Plans rq on g: liveness, views, fusion, kernels, in-place updates, arena. 0, or -1
 * with the error on g (out of memory, an arena larger than memory can address); the
 * caller frees *pl with cg_plan_free either way. */
int cg_plan_build(ir_graph *g, const struct cg_request *rq, cg_plan *pl);
void cg_plan_free(cg_plan *pl);
/* Appends the plan as text, one line per kernel and per buffer, then the arena; the
 * same plan always prints the same bytes. Node numbers are the user's (ir_node origin). */
void cg_plan_print(const cg_plan *pl, ir_text *out);

/* Reads pl->nodes (liveness, views and the per-node fields plan_nodes copied),
 * pl->operands and pl->types, and of the node structs only reductions' (whether one
 * takes its producers: plain loops, split as finely as rq would split the producers
 * alone), and assigns every live node that
 * is not a view to the kernel that computes it: nodes[id].root is the id
 * of that kernel's root (id itself for a root), -1 for leaves, views and dead nodes;
 * nodes[id].stored is set for the nodes a kernel writes to memory (roots, and fused
 * members read after the kernel or kept). 0, or -1 on OOM. */
int cg_fuse(const ir_graph *g, const struct cg_request *rq, cg_plan *pl);
/* The parts a kernel that reads or writes `work` elements runs in when its split loop
 * has `extent` iterations (0: it cannot split): 1, or up to CG_SPLIT_PER_THREAD *
 * rq->threads parts of at least rq->split_min elements and CG_SPLIT_GRAIN iterations. */
int cg_split_parts(const struct cg_request *rq, int64_t work, int64_t extent);

#define CG_ALIGN 64 /* every buffer starts on a cache line */

/* Places every buffer with bytes > 0 in the arena (its offset) so that no two whose live
 * ranges meet overlap, and sets pl->arena_size, live_peak and placement. 0, or -1 with
 * the error on g (out of memory, an arena larger than memory can address). */
int cg_arena_plan(ir_graph *g, cg_plan *pl);
/* Appends the space of n's values (rounded up to CG_ALIGN) to a block of *size bytes:
 * its offset goes to *at and *size grows. 0, or -1 with an error on g naming n and
 * `what` (the state, the arena) when the block would outgrow size_t. */
int cg_reserve(ir_graph *g, const char *what, const ir_node *n, size_t *size, size_t *at);

/* Writes the body of an elementwise kernel: the loop over the root's shape, operands
 * broadcast by strides, each member's expression (its CG_EW emitter's) inlined into its
 * reader or held in a local. */
void cg_elementwise(cg_ctx *c, const cg_kernel *k);
/* The fused producers of a reduction kernel k (its members of the shape of
 * k->reduction's operand, the last of them that operand), written inside the
 * reduction's loops over that operand's axes (variables i0, i1, ..., unmerged).
 * inside == 0: the loads of operands constant along the reduced axes `reduced` (once
 * per output element, before the reduced loops); inside != 0: the other loads, every
 * member's statement and the stores of the stored ones; the reduction's operand is then
 * the local t<its origin>. */
void cg_elementwise_producers(cg_ctx *c, const cg_kernel *k, uint32_t reduced, int inside);
/* The fused consumers of k->reduction (k's members of its output's shape, the root the
 * last of them), written inside the reduction's loops over its kept axes (variables i0,
 * i1, ..., of its operand's axes) once the output element is the local t<its origin>:
 * their loads, statements and stores, the reduction's own store among them when it is
 * stored. */
void cg_elementwise_consumers(cg_ctx *c, const cg_kernel *k);
/* Iterations of the outermost loop cg_elementwise writes for k (after merging axes):
 * what a split kernel's parts divide. */
int64_t cg_elementwise_extent(const cg_kernel *k);
/* Whether reduction n is written as plain loops (its innermost axis reduced: no
 * row-outer blocks), so that elementwise producers of its operand can be computed
 * inside its loops (cg_fuse). */
int cg_reduce_fusable(const ir_node *n);
/* Iterations of the loop a split reduction kernel divides (the outermost loop over kept
 * axes, outside every reduced one; for a row-outer reduction whose only kept axis is the
 * innermost, that axis's columns, walked in blocks), or 0 when n is not a reduction
 * cg_reduce.c writes or keeps no axis. */
int64_t cg_reduce_extent(const ir_node *n);
/* Multiply-adds from which the runtime splits one gemm call in blocks (runtime/
 * rt_kernels.c RT_GEMM_SPLIT_MACS); a batched matmul of smaller calls, or of at least
 * 2 * CG_SPLIT_GRAIN of them, splits over the batch instead (cg_matmul_extent). */
#define CG_GEMM_SPLIT_MACS (1L << 20)
/* Iterations of the outermost batch loop of matmul n when the kernel may split over it
 * (its calls below CG_GEMM_SPLIT_MACS, or at least 2 * CG_SPLIT_GRAIN of them: then each
 * call is single, whatever the threads), else 0 (cg_shape.c). */
int64_t cg_matmul_extent(const ir_node *n);
/* Iterations of the loop a split im2col or col2im kernel divides (its N*C image planes),
 * or 0 when n is neither (cg_conv.c). */
int64_t cg_window_extent(const ir_node *n);
/* Groups of a norm_stats or norm_grad kernel (the loop a split one divides), or 0 for
 * any other node (cg_norm.c). */
int64_t cg_norm_extent(const ir_node *n);
/* The geometry of a pooling kernel as programs linked by symbols (libtcc's) hand it to
 * the runtime's compiled pooling kernels (runtime/rt_pooling.c, cg_rt.def): a
 * `static const long g[CG_POOL_GEOM]` indexed by these. */
enum {
    CG_POOL_H,
    CG_POOL_W, /* the input plane */
    CG_POOL_OH,
    CG_POOL_OW, /* the pooled plane */
    CG_POOL_KH,
    CG_POOL_KW, /* the window */
    CG_POOL_SH,
    CG_POOL_SW, /* stride */
    CG_POOL_DH,
    CG_POOL_DW, /* dilation (1 for average pooling) */
    CG_POOL_PT,
    CG_POOL_PL, /* padding before (top, left) */
    CG_POOL_PB,
    CG_POOL_PR,          /* and after (bottom, right) */
    CG_POOL_INCLUDE_PAD, /* average pooling: count_include_pad */
    CG_POOL_DIVISOR,     /* average pooling: divisor_override, 0 = none */
    CG_POOL_GEOM
};
/* Iterations of the loop a split pooling kernel divides (its planes: the product of
 * the axes before the last two), or 0 when n is not a pooling op (cg_pool.c). */
int64_t cg_pool_extent(const ir_node *n);
/* Iterations of the loop a split kernel k divides among its parts: its outermost loop
 * (elementwise) or the one cg_reduce_extent names (reductions). */
int64_t cg_kernel_extent(const cg_kernel *k);
/* The index of x among k's operands (k->args), or -1. */
int cg_kernel_arg(const cg_kernel *k, const ir_node *x);

/* ---- programs (cg_program.c) ---------------------------------------------------- */

/* Where a program's leaf or output lives. */
typedef struct cg_slot {
    int node;   /* node id in the graph given to cg_generate */
    char *name; /* copy of the user's name, or NULL */
    nb_dtype dtype;
    int rank;
    int64_t shape[NB_MAX_RANK];
    int64_t numel;
    size_t offset;      /* params: in state; outputs: in arena */
    int used;           /* inputs: read by the program (so must be bound) */
    nb_param_kind kind; /* params: model, optimizer state or gradient buffer (IR_PARAM_*) */
} cg_slot;

/* A failing kernel: the entry returns node + 1 (the node's id in the user's graph)
 * and the runtime reports `what`. */
typedef struct cg_failure {
    int node;
    char *what;
} cg_failure;

typedef struct cg_program {
    char *source;
    char *plan; /* the printed plan (cg_plan_print) when the request kept it, else NULL */
    size_t arena_size, state_size;
    int n_inputs, n_params, n_outputs, n_failures;
    int n_updates;                          /* parameter updates each run makes */
    unsigned char rt_used[CG_RT_COUNT];     /* entry i of cg_rt.def is called by source */
    unsigned char libm_used[CG_LIBM_COUNT]; /* entry i of cg_libm.def is called by source */
    cg_slot *inputs, *params, *outputs;
    cg_failure *failures;
} cg_program;

/* The name of the generated entry point:
 * int nb_entry(const void *const *in, unsigned char *arena, unsigned char *state), or
 * with CG_RT_LINK_STATIC
 * static int nb_entry(const void *const *in, unsigned char *arena, void *const *param)
 * where param[i] is the address of parameter i (cg_program.params). It returns 0, or the
 * failing node's number + 1 (cg_program.failures). */
#define CG_ENTRY "nb_entry"

/* How generated code reaches the runtime kernels of cg_rt.def. The backend that will
 * compile the code decides (its row in runtime/ says which): codegen knows only the
 * ways, never the backends. */
typedef enum cg_rt_link {
    /* Declared as functions ("void nb_rt_copy(...);"), resolved by name when the code is
     * linked: libtcc gets their addresses through tcc_add_symbol. */
    CG_RT_LINK_SYMBOLS = 0,
    /* Declared as function pointers ("void (*nb_rt_copy)(...);") that the loader fills
     * after loading: a shared object cannot link against the process's functions. */
    CG_RT_LINK_POINTERS,
    /* Declared static ("static void nb_rt_copy(...);"): the ahead-of-time export
     * (runtime/rt_export.c) appends portable definitions to the same file. The entry
     * is static too and reads each parameter's address from an array instead of the
     * state block (see CG_ENTRY), so the export can bind parameters to a caller's state
     * or to constant arrays; the program runs on one thread. */
    CG_RT_LINK_STATIC
} cg_rt_link;

/* For a program whose entries of cg_math.def are marked in used[CG_MATH_COUNT] (nothing
 * when none is): the prototypes of the used functions when the code is linked by
 * symbols (the runtime has them compiled), else nabla's own math as text. */
void cg_math_put(ir_text *out, const unsigned char *used, cg_rt_link link);

/* For a program whose kernels draw random numbers (cg_ctx.random_used): the prototypes
 * of the generator's entry points when the code is linked by symbols (the runtime has
 * them compiled, runtime/rt_random.c), else the generator's C (cg_random_text.inc). */
void cg_random_put(ir_text *out, cg_rt_link link);

/* For an exported program whose entries of cg_rt.def are marked in rt_used[CG_RT_COUNT]:
 * appends the text of the nb_rt_gemm_* functions it calls and of their helpers, static,
 * from codegen/cg_gemm_text.inc (nothing when it calls none). The program must define
 * NB_RT_CBLAS (0: plain C; 1: cblas, the JIT's bits) and declare the functions static
 * before the text. (cg_gemm.c) */
void cg_gemm_put(ir_text *out, const unsigned char *rt_used);

/* For an exported program whose entries of cg_rt.def are marked in rt_used: appends the
 * im2col and col2im functions it calls (codegen/cg_conv_text.inc, static), nothing when
 * it calls none. (cg_conv.c) */
void cg_conv_put(ir_text *out, const unsigned char *rt_used);

/* CPU time of the phases of one cg_generate (CLOCK_THREAD_CPUTIME_ID), for benchmarks:
 * planning (liveness, fusion, kernels, in-place updates, memory) and writing the text. */
typedef struct cg_times {
    double plan_seconds, emit_seconds;
} cg_times;

/* What a program does on each run: computes outputs, then sets each upd_params[i] to
 * upd_values[i] (after every kernel has run, so all reads see the old values). */
typedef struct cg_request {
    ir_node *const *outputs;
    int n_outputs;
    ir_node *const *upd_params;
    ir_node *const *upd_values;
    int n_updates;
    cg_rt_link rt_link; /* how the code reaches the runtime kernels */
    cg_times *times;    /* when not NULL, set to the time each phase took */
    int keep_plan;      /* keep the printed plan in the program (cg_program.plan) */
    int threads;        /* threads the program runs on: kernels split in up to 4 parts per thread */
    long split_min;     /* fewest elements per part of a split kernel (CG_SPLIT_MIN) */
} cg_request;

/* Fewest elements per part of a split kernel (an elementwise kernel's elements, a
 * reduction's reads): below it, handing a part to a pool worker costs more than the
 * part saves (docs/performance.md has the measurement, bench/bench_threads.c repeats
 * it). */
#define CG_SPLIT_MIN 8192
/* Parts per thread of a split kernel, at most: threads take parts as they come free,
 * so a thread that the system runs late (a loaded machine, a worker still asleep) takes
 * fewer and the calling thread does not wait long for it. */
#define CG_SPLIT_PER_THREAD 4
/* Two matmul kernels run side by side (cg_kernel.pair) when each does at least
 * CG_PAIR_MIN_MACS multiply-adds and the larger at most CG_PAIR_RATIO times the
 * smaller's: a linear layer's input and weight gradients do the same work. Below the
 * minimum the pool's dispatch costs about what the second thread saves; an uneven pair
 * would leave one thread waiting where blocks of each gemm would not. */
#define CG_PAIR_MIN_MACS (1L << 16)
#define CG_PAIR_RATIO 1.25
/* Iterations of a split loop per unit of its split: the runtime's part bounds are
 * multiples of it (a 64-byte cache line of floats), so no two threads write one line. */
#define CG_SPLIT_GRAIN 16

/* Generates the program of rq, whose outputs and updates the caller has checked
 * (ir_check_outputs, ir_check_updates). Returns 0, or -1 with the error recorded on g.
 * On success the caller owns *p (cg_program_free). */
int cg_generate(ir_graph *g, const cg_request *rq, cg_program *p);
void cg_program_free(cg_program *p);

#endif
