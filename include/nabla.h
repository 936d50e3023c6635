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

#ifdef __cplusplus
extern "C" {
#endif

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
/* Writes the IR, one line per node, to a newly malloc'ed string (caller frees). */
char *nb_graph_print(const nb_graph *g);
int nb_graph_node_count(const nb_graph *g);

/* Information about a node; rank/shape/dtype of NULL are 0/NULL/-1. */
nb_dtype nb_node_dtype(const nb_node *x);
int nb_node_rank(const nb_node *x);
const int64_t *nb_node_shape(const nb_node *x);
int64_t nb_node_numel(const nb_node *x);
int nb_node_id(const nb_node *x);
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
/* PyTorch's detach: the value of x, through which no gradient flows. */
nb_node *nb_stop_gradient(nb_graph *g, nb_node *x);
/* Converts to another dtype (float <-> float, bool/i32 -> float). */
nb_node *nb_cast(nb_graph *g, nb_node *x, nb_dtype dt);

/* ---- elementwise binary, NumPy broadcasting; operands share one dtype ------------- */

nb_node *nb_add(nb_graph *g, nb_node *a, nb_node *b);
nb_node *nb_sub(nb_graph *g, nb_node *a, nb_node *b);
nb_node *nb_mul(nb_graph *g, nb_node *a, nb_node *b);
nb_node *nb_div(nb_graph *g, nb_node *a, nb_node *b);
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
nb_node *nb_concat(nb_graph *g, nb_node *const *xs, int n, int axis);
/* Rows of table[V, ...] picked by an i32 index of any shape: out[idx.shape..., ...].
 * An index outside [0, V) at run time makes nb_program_run return -1 with an error
 * naming the node; nothing is read out of bounds. */
nb_node *nb_gather(nb_graph *g, nb_node *table, nb_node *index);
/* i32 index -> [index.shape..., classes] of dtype dt (0/1). As with nb_gather, an
 * index outside [0, classes) at run time makes nb_program_run fail (PyTorch raises
 * too); there is no all-zero row. */
nb_node *nb_one_hot(nb_graph *g, nb_node *index, int classes, nb_dtype dt);

/* ---- softmax and losses ------------------------------------------------------------ */

nb_node *nb_softmax(nb_graph *g, nb_node *x, int axis);
nb_node *nb_log_softmax(nb_graph *g, nb_node *x, int axis);
/* mean/sum/none of (pred - target)^2. */
nb_node *nb_mse(nb_graph *g, nb_node *pred, nb_node *target, nb_reduction r);
/* Binary cross-entropy on probabilities p, with p clamped to [eps, 1 - eps], eps = 1e-8:
 * -(t log p + (1 - t) log(1 - p)). */
nb_node *nb_bce(nb_graph *g, nb_node *p, nb_node *target, nb_reduction r);
/* Binary cross-entropy on logits, stable for any |z|. */
nb_node *nb_bce_with_logits(nb_graph *g, nb_node *z, nb_node *target, nb_reduction r);
/* logits[N, C] (or [C]) and i32 labels[N] (or scalar): -log_softmax(logits)[label]. */
nb_node *nb_cross_entropy(nb_graph *g, nb_node *logits, nb_node *labels, nb_reduction r);
/* logp[N, C] of log-probabilities and i32 labels[N]: -logp[label]. */
nb_node *nb_nll(nb_graph *g, nb_node *logp, nb_node *labels, nb_reduction r);

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
} nb_compile_options;

/* Compiles the graph. Returns NULL on failure; the message is then nb_graph_error(g).
 * The program no longer needs the graph: it may be freed first. */
nb_program *nb_compile(nb_graph *g, const nb_compile_options *opt);
void nb_program_free(nb_program *p);
/* The last error on the program (bad bind, bad run), or NULL. */
const char *nb_program_error(const nb_program *p);
/* The generated C of the program (owned by the program). */
const char *nb_program_source(const nb_program *p);
/* Writes the generated C to a file; 0 or -1 with the error on the program. */
int nb_program_write_source(nb_program *p, const char *path);
/* Seconds spent in libtcc (compile + relocate) for this program. */
double nb_program_compile_seconds(const nb_program *p);

/* Inputs, in the order they were created. */
int nb_program_input_count(const nb_program *p);
int nb_program_input_index(const nb_program *p, const char *name); /* -1 when unknown */
/* Binds an input buffer (not copied: it must stay valid until the next run). It holds
 * numel values of the input's dtype, row-major. 0 or -1 with an error. */
int nb_program_bind(nb_program *p, const char *name, const void *data);
int nb_program_bind_index(nb_program *p, int index, const void *data);

/* Runs the program: 0, or -1 with the error (an unbound input, an index out of
 * range) on the program. Allocates nothing. */
int nb_program_run(nb_program *p);

int nb_program_output_count(const nb_program *p);
/* Pointer to output i's values, valid until the next run or free; NULL if i is bad. */
const void *nb_program_output(const nb_program *p, int i);
nb_dtype nb_program_output_dtype(const nb_program *p, int i);
int nb_program_output_rank(const nb_program *p, int i);
const int64_t *nb_program_output_shape(const nb_program *p, int i);
int64_t nb_program_output_numel(const nb_program *p, int i);

/* Parameters, in the order they were created (optimizer state included). */
int nb_program_param_count(const nb_program *p);
int nb_program_param_index(const nb_program *p, const char *name); /* -1 when unknown */
const char *nb_program_param_name(const nb_program *p, int i);
nb_dtype nb_program_param_dtype(const nb_program *p, int i);
int nb_program_param_rank(const nb_program *p, int i);
const int64_t *nb_program_param_shape(const nb_program *p, int i);
int64_t nb_program_param_numel(const nb_program *p, int i);
/* The parameter's values inside the program (numel values of its dtype); valid until
 * the program is freed. NULL for a bad index. */
void *nb_program_param_data(nb_program *p, int i);

/* Sets every gradient buffer (nb_grad_buffers) of the program to zero. */
int nb_program_zero_grad(nb_program *p);

/* Parameters: copy values in and out by name; nbytes must equal the parameter's size. */
int nb_program_set_param(nb_program *p, const char *name, const void *data, size_t nbytes);
int nb_program_get_param(nb_program *p, const char *name, void *data, size_t nbytes);

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
#endif
