/* ir.h — the graph: nodes, the op table, errors, and the constructors every pass uses. */
#ifndef IR_H
#define IR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "nabla.h"

typedef struct nb_node ir_node;
typedef struct nb_graph ir_graph;

/* One enum value per row of ir_ops.def. */
typedef enum ir_op {
#define IR_OP(NAME, str, arity, shape, vjp) IR_OP_##NAME,
#include "ir_ops.def"
#undef IR_OP
    IR_OP_COUNT
} ir_op;

/* Attributes of a node; which fields an op reads is documented at its row. */
typedef struct ir_attr {
    double f[2]; /* scalar knobs: slope, alpha, lo/hi, value */
    /* Typed per op family; an op reads only its own members (the comment above its row
     * in ir/ops_*.def names them), the rest stay zero so CSE can compare them all. Each
     * family carries its rank so the shape rule can check it against the operand's. */
    struct {
        int rank;
        int64_t shape[NB_MAX_RANK];
    } target; /* leaves, reshape, broadcast_to, scatter_add, slice_grad: result shape */
    struct {
        int rank;
        int perm[NB_MAX_RANK]; /* output axis i is input axis perm[i] */
    } permute;
    struct {
        int rank;
        int64_t start[NB_MAX_RANK], stop[NB_MAX_RANK], step[NB_MAX_RANK];
    } slice; /* slice; slice_grad reads start and step */
    /* Sliding-window ops over the last two axes (convolution, pooling): the window's
     * size, stride and dilation per spatial axis, the zero padding before (pad_lo) and
     * after (pad_hi) each, the channel groups (convolution, >= 1 when used) and the
     * pooling flags. */
    struct {
        int64_t kernel[2], stride[2], dilation[2];
        int64_t pad_lo[2], pad_hi[2];
        int groups;
        int ceil_mode;         /* pooling: output size rounded up (torch's ceil_mode) */
        int count_include_pad; /* average pooling: padding counts in the divisor */
        int64_t divisor;       /* average pooling: torch's divisor_override, 0 = none */
    } window;
    uint32_t axes; /* reductions: bit i set = axis i reduced */
    int axis;      /* softmax, concat: the (normalized) axis */
    int keepdim;   /* reductions */
    int k;         /* one_hot: classes; PARAM: IR_PARAM_* kind */
    nb_dtype dt;   /* cast, one_hot: target dtype */
    int trans_a;   /* matmul: read a with its last two axes swapped */
    int trans_b;   /* matmul: read b with its last two axes swapped */
    struct {
        int rank;
        int64_t lo[NB_MAX_RANK], hi[NB_MAX_RANK]; /* per axis, added before / after */
        int reflect;                              /* 0: constant (the value in f[0]) */
    } pad;                                        /* pad, pad_reflect_grad (ir/ops_index.def) */
    int reverse; /* cumsum: from the end of the axis (the gradient's scan) */
    struct {
        uint64_t seed;  /* the Philox key */
        int64_t offset; /* element i draws counter offset + i (ops_random.def) */
    } random;           /* rand */
} ir_attr;

/* Kinds of parameters (attr.k of a PARAM): the public nb_param_kind values, so that a
 * compiled program's slot carries the kind as it is. */
enum {
    IR_PARAM_PLAIN = NB_PARAM_MODEL,         /* nb_param */
    IR_PARAM_OPTIMIZER = NB_PARAM_OPTIMIZER, /* an optimizer's state (nb_optim.c) */
    IR_PARAM_GRAD = NB_PARAM_GRAD            /* a gradient buffer (nb_grad_buffers) */
};

/* Operands a node holds in itself: most ops take one or two, and then reading a node's
 * operands reads no other allocation. */
#define IR_NODE_SMALL_IN 2

struct nb_node {
    /* First the fields nearly every pass reads, within the node's first cache line
     * (blocks of nodes are aligned to IR_NODE_ALIGN). */
    int id;     /* dense, in creation (= topological) order */
    int origin; /* id in the user's graph (ir_simplify copies keep it) */
    ir_op op;
    nb_dtype dtype;
    int rank;
    int n_in;
    ir_node **in; /* n_in operands, all with smaller ids: in_small when they fit */
    ir_node *in_small[IR_NODE_SMALL_IN];
    char *name;   /* user's name or NULL; never pasted into code */
    double *data; /* CONST: numel values, row-major */
    int64_t numel;
    ir_graph *graph;
    int leaf_index; /* INPUT: index among inputs; PARAM: among params */
    /* Set on the nodes ir_vjp appended (gradients, and gradients of gradients): only
     * drawings read it (ir_dot.c); passes treat them as any node. Fits in the padding
     * before shape. */
    unsigned char grad;
    int64_t shape[NB_MAX_RANK];
    /* Last: the attributes are most of the node's bytes and few passes read them. */
    ir_attr attr;
};

/* The alignment of blocks of nodes: a cache line. */
#define IR_NODE_ALIGN 64

/* Nodes are allocated from blocks of the graph, in creation order, so that passes over
 * the ids walk memory forwards instead of wherever the heap put each node. */
typedef struct ir_node_block ir_node_block;

struct nb_graph {
    ir_node **nodes;
    int n_nodes, cap;
    ir_node_block *blocks; /* the newest first */
    int n_inputs, n_params;
    char *error; /* first error, or NULL */
    /* The named inputs and parameters, an open-addressing set (ir_leaf_find): checking
     * that a new name is free must not scan the graph, or building a model with
     * thousands of parameters is quadratic. */
    ir_node **leaf_names;
    size_t leaf_names_cap; /* 0 or a power of two, at least twice n_leaf_names */
    size_t n_leaf_names;
    /* Random numbers (frontend/nb_random.c): the step counter parameter (NULL until the
     * first random node), the seed of the random nodes built next, and the first counter
     * offset not drawn yet under that seed. */
    ir_node *rng_step;
    uint64_t rng_seed;
    int64_t rng_offset;
};

/* Shape rule: given n->op, n->in and n->attr, fills n->dtype, n->rank, n->shape.
 * On misuse records an error on g (ir_error) and returns -1. */
typedef int (*ir_shape_fn)(ir_graph *g, ir_node *n);
/* Gradient rule: given node n and gy (the gradient of the output, n's shape and
 * dtype), sets gx[i] for each input i with need[i] != 0 (left NULL means "no gradient
 * flows"). need and gx have n->n_in entries, gx all NULL on entry; autodiff sets need[i]
 * only for float operands on a path to the differentiated inputs, and ignores gx[i]
 * where need[i] is 0. Builds nodes with the ir_ constructors. Returns 0 or -1. */
typedef int (*ir_vjp_fn)(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need,
                         ir_node **gx);

typedef struct ir_op_def {
    const char *name;
    int arity; /* -1: variadic (concat) */
    ir_shape_fn shape;
    ir_vjp_fn vjp; /* ir_vjp_none: no gradient flows through the op */
} ir_op_def;

extern const ir_op_def ir_op_defs[IR_OP_COUNT];

/* Every shape and gradient rule named in the table. */
#define IR_OP(NAME, str, arity, shape, vjp)                                                        \
    int shape(ir_graph *g, ir_node *n);                                                            \
    int vjp(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx);
#include "ir_ops.def"
#undef IR_OP

/* ---- memory (ir_alloc.c) ---------------------------------------------------------- */

/* Every allocation of the library goes through these (release with free()), so that
 * tests can inject failures. Each returns NULL on failure; a size of 0 allocates 1. */
void *ir_malloc(size_t size);
void *ir_calloc(size_t count, size_t size);
void *ir_realloc(void *p, size_t size);
/* size must be a multiple of align (as for aligned_alloc); NULL otherwise. */
void *ir_aligned_alloc(size_t align, size_t size);
char *ir_strdup(const char *s);
char *ir_strndup(const char *s, size_t max);
/* Fault injection for tests: the k-th allocation from now and every later one fail
 * (k <= 0: none fail); or only the k-th (fail_once). Counters of allocations made, and
 * of allocations failed since the last call of either. */
void ir_alloc_fail_from(long k);
void ir_alloc_fail_once(long k);
long ir_alloc_count(void);
long ir_alloc_failures(void);

/* ---- clocks (ir_clock.c) ----------------------------------------------------------- */

/* Seconds on a monotonic clock (wall time, never set back). */
double ir_seconds(void);
/* CPU seconds the calling thread has used. */
double ir_thread_seconds(void);

/* ---- checked sizes (ir_size.c) ---------------------------------------------------- */

/* Element counts and byte sizes computed from shapes go through these, never through
 * bare + and *. Each returns 0 with the result stored, or -1 when it does not fit
 * (nothing stored); the caller reports the error, naming what was being sized. */
int ir_size_add(size_t a, size_t b, size_t *sum);
int ir_size_mul(size_t a, size_t b, size_t *product);
/* x rounded up to a multiple of align (> 0). */
int ir_size_align(size_t x, size_t align, size_t *rounded);
/* Size of one element of dt; 0 for an unknown dtype. */
size_t ir_dtype_size(nb_dtype dt);
/* numel elements of dt, in bytes. */
int ir_size_bytes(nb_dtype dt, int64_t numel, size_t *bytes);
/* The product of the dimensions, or -1 when one is negative or it overflows int64. */
int64_t ir_shape_numel(int rank, const int64_t *shape);
/* Checks a builder's rank and shape arguments (rank in [0, NB_MAX_RANK], shape not NULL
 * when rank > 0): 0, or -1 with the error recorded on g as "what: ...". */
int ir_check_shape_arg(ir_graph *g, const char *what, int rank, const int64_t *shape);
/* The most elements a node may have: 16 bytes per element (more than any dtype takes)
 * still fit in int64, so byte sizes of single tensors never come near overflowing. */
#define IR_MAX_NUMEL (INT64_MAX / 16)

/* ---- graph and nodes (ir_graph.c) ----------------------------------------------- */

ir_graph *ir_graph_new(void);
void ir_graph_free(ir_graph *g);
/* Records fmt as g's error unless an error is already recorded. Always returns -1. */
int ir_error(ir_graph *g, const char *fmt, ...);
/* Forgets g's error (for scratch graphs of internal checks). */
void ir_error_clear(ir_graph *g);
/* Records "out of memory" (a sticky error too). Returns -1. */
int ir_oom(ir_graph *g);
/* Creates a node of op over in[0..n_in) with attributes attr (NULL: zeroed), runs the
 * op's shape rule and appends it. Returns NULL (poison) when g already has an error,
 * an operand is NULL or of another graph, the shape rule rejects it, or on OOM. */
ir_node *ir_node_new(ir_graph *g, ir_op op, ir_node *const *in, int n_in, const ir_attr *attr);
/* Frees what a node that is no longer in any graph's node list holds (its operand list,
 * name, data); its own memory is part of a block of its graph and goes with the graph,
 * or is used again when it was the graph's newest node. */
void ir_node_free(ir_node *n);
/* The largest operand count among nodes 0..last of g: the size of a per-node buffer. */
int ir_max_operands(const ir_graph *g, int last);
/* The input (op IR_OP_INPUT) or parameter (IR_OP_PARAM) of g named name, or NULL. */
ir_node *ir_leaf_find(const ir_graph *g, ir_op op, const char *name);
/* Adds named leaf n to g's name index. 0, or -1 on OOM (recorded on g). */
int ir_leaf_index(ir_graph *g, ir_node *n);
/* The name of dt ("f32"). */
const char *ir_dtype_name(nb_dtype dt);
/* Writes "f32[2,3]" into buf and returns buf. */
const char *ir_format_type(nb_dtype dt, int rank, const int64_t *shape, char *buf, size_t size);
/* Writes "f32[2,3]" (the node's dtype and shape) into buf. */
const char *ir_type_str(const ir_node *n, char *buf, size_t size);
/* Writes "node 7 (add 'name')" into buf. */
const char *ir_node_str(const ir_node *n, char *buf, size_t size);
int ir_is_float(nb_dtype dt);

/* ---- shape helpers shared by shape rules (ir_shape.c) ----------------------------- */

/* Broadcasts the shapes of in[0..n) into n's rank/shape; dtype untouched. */
int ir_broadcast_shapes(ir_graph *g, ir_node *n);
int ir_same_shape(const ir_node *a, const ir_node *b);
/* Requires every operand to have one dtype and, when float_only, a float dtype. */
int ir_check_dtypes(ir_graph *g, ir_node *n, int float_only);
/* Turns a list of possibly negative axes into a bitmask; records an error (naming op)
 * for an axis out of range or given twice. n_axes == 0 means every axis. */
int ir_axes_mask(ir_graph *g, const char *op, int rank, const int *axes, int n_axes,
                 uint32_t *mask);

/* The output size of a sliding window (ops_conv.c) over `size` elements padded by lo
 * before and hi after: (size + lo + hi - dilation*(kernel-1) - 1) / stride + 1 into
 * *out. -1 (nothing stored) unless size >= 1, kernel, stride, dilation >= 1, lo, hi >= 0,
 * all but size at most INT32_MAX, and the dilated kernel fits the padded size. */
int ir_window_extent(int64_t size, int64_t kernel, int64_t stride, int64_t dilation, int64_t lo,
                     int64_t hi, int64_t *out);
/* The window attributes of n alone (every other family zero): what the gradient rules of
 * the window ops give the nodes they make. */
ir_attr ir_window_attr(const ir_node *n);
/* ---- normalisation (ops_norm.c) ---------------------------------------------------- */

/* Views x as [A, K, B] with the axes in `axes` reduced and the kept ones K, a consecutive
 * run between A and B (dims[0..3) = A, K, B). 0, or -1 when the kept axes are not
 * consecutive. NORM_STATS and NORM_GRAD loop over this view (codegen/cg_norm.c). */
int ir_norm_dims(const ir_node *x, uint32_t axes, int64_t *dims);
/* Row i (0 mean, 1 variance, 2 rstd) of NORM_STATS node s, as the keepdim shape of its
 * operand (a view of s: a slice and a reshape). */
ir_node *ir_norm_row(ir_graph *g, ir_node *s, int i);

/* ---- constructors used by gradient rules and the frontend (ir_build.c) ------------ */

ir_node *ir_make1(ir_graph *g, ir_op op, ir_node *a, const ir_attr *attr);
ir_node *ir_make2(ir_graph *g, ir_op op, ir_node *a, ir_node *b, const ir_attr *attr);
ir_node *ir_make3(ir_graph *g, ir_op op, ir_node *a, ir_node *b, ir_node *c, const ir_attr *attr);
/* A constant holding numel values of data (converted to dt). */
ir_node *ir_constant(ir_graph *g, nb_dtype dt, int rank, const int64_t *shape, const double *data);
ir_node *ir_scalar(ir_graph *g, nb_dtype dt, double v);
/* A scalar constant of x's dtype. */
ir_node *ir_scalar_like(ir_graph *g, const ir_node *x, double v);
/* Zeros of x's dtype and shape (a broadcast scalar). */
ir_node *ir_zeros_like(ir_graph *g, const ir_node *x);
ir_node *ir_add(ir_graph *g, ir_node *a, ir_node *b);
ir_node *ir_sub(ir_graph *g, ir_node *a, ir_node *b);
ir_node *ir_mul(ir_graph *g, ir_node *a, ir_node *b);
ir_node *ir_div(ir_graph *g, ir_node *a, ir_node *b);
ir_node *ir_neg(ir_graph *g, ir_node *a);
/* An attribute-free unary op of a (the gradient rules' sqrt, rsqrt, sign, ...). */
ir_node *ir_unary(ir_graph *g, ir_op op, ir_node *a);
/* Reduction over the axes in the bitmask (keepdim as given). */
ir_node *ir_reduce(ir_graph *g, ir_op op, ir_node *x, uint32_t axes, int keepdim);
ir_node *ir_reshape(ir_graph *g, ir_node *x, int rank, const int64_t *shape);
ir_node *ir_broadcast_to(ir_graph *g, ir_node *x, int rank, const int64_t *shape);
/* Sums gx (a gradient of a broadcast result) back to the shape of operand x. */
ir_node *ir_sum_to(ir_graph *g, ir_node *gx, const ir_node *x);

/* ---- random numbers (ops_random.c) ------------------------------------------------ */

/* The updates of a run: params[0..n) <- values[0..n) (nodes of g), then for each step
 * counter of a random node of g that is a parameter and that none of them writes,
 * counter <- counter + 1 (a node appended to g, its origin past those of g's nodes):
 * each run draws new numbers without the caller naming the update. Sets *params_out and
 * *values_out to new arrays (the caller frees them) and *n_out to their length. 0, or -1
 * with the error on g. */
int ir_random_updates(ir_graph *g, ir_node *const *params, ir_node *const *values, int n,
                      ir_node ***params_out, ir_node ***values_out, int *n_out);

/* ---- text (ir_text.c) ------------------------------------------------------------ */

/* A growable string. On OOM it frees its buffer and sets failed; every later append is
 * then a no-op, so writers check failed once at the end. */
typedef struct ir_text {
    char *buf;
    size_t len, cap;
    int failed;
} ir_text;

/* Appends without printf: n bytes, a string, a character, a decimal integer, a type
 * "f32[2,3]". The buffer stays NUL-terminated. The code generator appends a few bytes
 * at a time, millions of times: the common case (room left) is inline, the rest is
 * ir_text_append_slow. bytes may point into t only where ir_text_reserve made room. */
void ir_text_append_slow(ir_text *t, const void *bytes, size_t n);
static inline void ir_text_append(ir_text *t, const void *bytes, size_t n)
{
    if (t->buf && t->cap - t->len > n) {
        memcpy(t->buf + t->len, bytes, n);
        t->len += n;
        t->buf[t->len] = 0;
        return;
    }
    ir_text_append_slow(t, bytes, n);
}
static inline void ir_text_puts(ir_text *t, const char *s)
{
    ir_text_append(t, s, strlen(s));
}
static inline void ir_text_putc(ir_text *t, char ch)
{
    ir_text_append(t, &ch, 1);
}
void ir_text_int(ir_text *t, long long v);
void ir_text_type(ir_text *t, nb_dtype dt, int rank, const int64_t *shape);
/* Makes room for n more bytes (and the terminator), so that pointers into buf stay
 * valid while they are appended. 0, or -1 when t has failed. */
int ir_text_reserve(ir_text *t, size_t n);
void ir_text_printf(ir_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* printf into err[size] when err is not NULL and size is not 0: the error buffers of the
 * public readers and writers (nb_idx_read, nb_npy_read, nb_graph_save). */
void ir_errbuf(char *err, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void ir_text_vprintf(ir_text *t, const char *fmt, va_list ap);
/* Bytes of the longest decimal long long: sign, 19 digits, terminator (and spare). */
#define IR_INT_STR_MAX 24
/* Writes v in decimal into buf[IR_INT_STR_MAX] and returns its length. */
size_t ir_int_str(long long v, char *buf);
/* Bytes of the longest "f32[d0,d1,...]" and its terminator: a dtype name, brackets, and
 * per axis a comma and digits. */
#define IR_TYPE_STR_MAX (8 + NB_MAX_RANK * IR_INT_STR_MAX)
/* Writes "f32[2,3]" into buf[IR_TYPE_STR_MAX], terminated, and returns its length. */
size_t ir_type_chars(nb_dtype dt, int rank, const int64_t *shape, char *buf);

/* ---- random numbers (ir_rng.c) --------------------------------------------------- */

/* A reproducible generator: the same seed gives the same values on every machine. */
typedef struct ir_rng {
    uint64_t s[4];
} ir_rng;

void ir_rng_seed(ir_rng *r, uint64_t seed);
/* splitmix64's increment (2^64 / golden ratio): its state steps by this before mixing. */
#define IR_SPLITMIX_STEP 0x9e3779b97f4a7c15ull
/* splitmix64's output function: a bijection of 64-bit words in which every input bit
 * changes about half of the output bits. Hash tables mix their keys through it. */
uint64_t ir_mix64(uint64_t x);
/* FNV-1a over len bytes, going on from h (IR_FNV1A_BASIS to start): a hash that can be
 * fed piece by piece. Its low bits are weak: mix before using them as a table slot. */
#define IR_FNV1A_BASIS 0xcbf29ce484222325ull
uint64_t ir_fnv1a(uint64_t h, const void *data, size_t len);
/* A 64-bit hash of len bytes (FNV-1a, then ir_mix64 to spread its low bits). */
uint64_t ir_hash_bytes(const void *data, size_t len);
/* XXH64 of len bytes with a seed (the reference algorithm, bit for bit): about ten times
 * FNV-1a's speed on long inputs, for hashing whole texts (the cc backend's cache key). */
uint64_t ir_xxh64(const void *data, size_t len, uint64_t seed);
uint64_t ir_rng_next(ir_rng *r);
double ir_rng_uniform(ir_rng *r);             /* [0, 1) */
uint64_t ir_rng_below(ir_rng *r, uint64_t n); /* [0, n), n > 0, unbiased */
double ir_rng_normal(ir_rng *r);              /* standard normal */

/* ---- work counters (ir_work.c) ---------------------------------------------------- */

/* Steps of the passes whose cost could grow faster than the graph, counted per thread:
 * a test runs a pass at two sizes and checks that the steps grow in proportion, which
 * catches a quadratic pass without timing anything. Only ever incremented. */
typedef struct ir_work_counts {
    unsigned long long cse_probes;  /* ir_simplify: hash-table slots compared */
    unsigned long long fuse_steps;  /* fusion (codegen/): candidates and readers visited */
    unsigned long long arena_steps; /* arena planning (codegen/): blocks visited */
    unsigned long long leaf_probes; /* the leaf name index: occupied slots compared */
} ir_work_counts;

extern _Thread_local ir_work_counts ir_work;

/* ---- autodiff (ir_autodiff.c) ----------------------------------------------------- */

/* Appends d(seed . y)/d xs[i] to g for each i. seed NULL means 1 (y must be scalar). */
int ir_vjp(ir_graph *g, ir_node *y, ir_node *seed, ir_node *const *xs, int n, ir_node **grads);

/* ---- rewrites (ir_simplify.c, ir_rewrite.c) ------------------------------------------- */

/* A new graph holding what outs[0..n) need, with equal nodes merged and identities
 * removed; new_outs[i] is outs[i] in it. outs are checked by the caller
 * (ir_check_outputs). All inputs and parameters are kept, in order.
 * NULL with the error recorded on g. The caller frees the new graph. */
ir_graph *ir_simplify(ir_graph *g, ir_node *const *outs, int n, ir_node **new_outs);

/* A PERMUTE that swaps the last two axes and nothing else (ir_rewrite.c). */
int ir_is_transpose(const ir_node *n);
/* Applies the rewrite rules (ir_rewrite.c, one table) to node v as ir_simplify copies
 * it: in[] holds v's operands already mapped into the new graph and attr a copy of v's
 * attributes. Returns the node of the new graph that v reduces to (an identity), or NULL
 * when v is to be copied, with in and attr as the rules left them (a matmul whose
 * transposed operand is now read through trans_a / trans_b). */
ir_node *ir_rewrite(const ir_node *v, ir_node **in, ir_attr *attr);

/* ---- widening (ir_widen.c) -------------------------------------------------------- */

/* A copy of every node of g (no error on it) in the same order, with every f32 value
 * made f64: leaves, constants (their f32 values), casts and one_hot to f32. Names,
 * leaf indices and parameter kinds are kept. map (g->n_nodes entries) receives each
 * node's copy. NULL on OOM (g is not changed). The caller frees the copy. */
ir_graph *ir_widen(const ir_graph *g, ir_node **map);

/* ---- checks and names in text (ir_verify.c, ir_print.c) ----------------------------- */

/* Copies name into buf keeping only [A-Za-z0-9_ .:+=-] and writing every other byte
 * as \\xNN, so the result is safe inside a C comment or one line of text. */
const char *ir_escape_name(const char *name, char *buf, size_t size);
/* Bytes of a name escaped into a fixed buffer: enough for a long name; a longer one is
 * cut. */
#define IR_ESCAPED_NAME_MAX 1100

/* Checks the graph's invariants; 0, or -1 with a description in msg. */
int ir_verify(const ir_graph *g, char *msg, size_t size);
/* Checks a list of outputs to compile: n > 0, none NULL, all of g. 0 or -1 (recorded). */
int ir_check_outputs(ir_graph *g, ir_node *const *outs, int n);
/* Checks updates params[i] <- values[i]: parameters of g, matching dtype and shape,
 * each written once. 0 or -1 (recorded). */
int ir_check_updates(ir_graph *g, ir_node *const *params, ir_node *const *values, int n);
/* The graph as Graphviz DOT (ir_dot.c), as nb_graph_dot documents it; o NULL means a
 * zeroed struct. malloc'ed, or NULL with the problem in err[size]. */
char *ir_dot(const ir_graph *g, const nb_dot_options *o, char *err, size_t size);
/* What follows the op's name when the node reads operands transposed: "", ".T_a",
 * ".T_b" or ".T_a.T_b" (a matmul's flags). */
const char *ir_op_suffix(const ir_node *n);

#endif
