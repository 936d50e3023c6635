/* nb_random.c — builders of random numbers: uniform and normal tensors drawn from the
 * graph's Philox stream, and dropout (docs/random.md). */
#include "ir.h"

/* 2 pi, the nearest double. */
#define NB_TWO_PI 6.283185307179586

/* The parameter the random nodes of g read their step from: made on first use, or the
 * one of that name a graph file brought (nb_graph_parse), kind as the file says. */
static ir_node *step_counter(nb_graph *g)
{
    if (g->rng_step)
        return g->rng_step;
    ir_node *step = ir_leaf_find(g, IR_OP_PARAM, NB_RNG_STEP_NAME);
    if (step && (step->dtype != NB_F64 || step->rank != 0)) {
        char t[IR_TYPE_STR_MAX];
        ir_error(g, "random numbers: parameter '%s' is %s; the step counter must be f64[]",
                 NB_RNG_STEP_NAME, ir_type_str(step, t, sizeof t));
        return NULL;
    }
    if (!step && (step = nb_param(g, NB_RNG_STEP_NAME, NB_F64, 0, NULL)) != NULL)
        step->attr.k = IR_PARAM_OPTIMIZER; /* training state, as an optimizer's step */
    g->rng_step = step;
    return step;
}

nb_node *nb_rng_step(nb_graph *g)
{
    if (!g || g->error)
        return NULL;
    return step_counter(g);
}

void nb_manual_seed(nb_graph *g, uint64_t seed)
{
    if (!g)
        return;
    g->rng_seed = seed;
    g->rng_offset = 0;
}

/* A uniform [0, 1) tensor: the next numel counters of the graph's stream. `what` names
 * the builder in errors. */
static nb_node *draw(nb_graph *g, const char *what, nb_dtype dt, int rank, const int64_t *shape)
{
    char t[IR_TYPE_STR_MAX];
    if (!g || g->error)
        return NULL;
    if (dt != NB_F32 && dt != NB_F64) {
        ir_error(g, "%s: dtype %s is not a float dtype (f32 or f64)", what, ir_dtype_name(dt));
        return NULL;
    }
    if (ir_check_shape_arg(g, what, rank, shape) != 0)
        return NULL;
    int64_t numel = ir_shape_numel(rank, shape);
    if (numel < 0 || numel > IR_MAX_NUMEL) {
        ir_error(g, "%s: shape %s has a negative dimension or too many elements", what,
                 ir_format_type(dt, rank, shape, t, sizeof t));
        return NULL;
    }
    if (g->rng_offset > INT64_MAX - numel) {
        ir_error(g,
                 "%s: the %s elements would pass the 2^63 counters of seed %llu (call "
                 "nb_manual_seed for another seed)",
                 what, ir_format_type(dt, rank, shape, t, sizeof t),
                 (unsigned long long)g->rng_seed);
        return NULL;
    }
    ir_node *step = step_counter(g);
    if (!step)
        return NULL;
    ir_attr attr = {0};
    attr.dt = dt;
    attr.target.rank = rank;
    for (int d = 0; d < rank; d++)
        attr.target.shape[d] = shape[d];
    attr.random.seed = g->rng_seed;
    attr.random.offset = g->rng_offset;
    ir_node *n = ir_make1(g, IR_OP_RAND, step, &attr);
    if (n)
        g->rng_offset += numel;
    return n;
}

nb_node *nb_rand(nb_graph *g, nb_dtype dt, int rank, const int64_t *shape)
{
    return draw(g, "rand", dt, rank, shape);
}

/* Box-Muller: z = sqrt(-2 log(1 - u1)) cos(2 pi u2), u1 and u2 uniform on [0, 1), so
 * 1 - u1 is in (0, 1] and the log is finite. Ordinary nodes: they fuse with the draws
 * into one loop and compute the same bits on every backend. */
nb_node *nb_randn(nb_graph *g, nb_dtype dt, int rank, const int64_t *shape)
{
    ir_node *u1 = draw(g, "randn", dt, rank, shape);
    ir_node *u2 = draw(g, "randn", dt, rank, shape);
    if (!u1 || !u2)
        return NULL;
    ir_node *r = ir_make1(g, IR_OP_LOG, ir_sub(g, ir_scalar(g, dt, 1), u1), NULL);
    r = ir_make1(g, IR_OP_SQRT, ir_mul(g, ir_scalar(g, dt, -2), r), NULL);
    ir_node *c = ir_make1(g, IR_OP_COS, ir_mul(g, ir_scalar(g, dt, NB_TWO_PI), u2), NULL);
    return ir_mul(g, r, c);
}

/* F.dropout(x, p, training): in training each element is zeroed with probability p (the
 * mask: a uniform draw u < p) and the kept ones are scaled by 1 / (1 - p), computed in
 * x's dtype as PyTorch does; otherwise x itself. The mask is a where over the draw, so
 * the gradient is gy times the same mask (the mul's rule). */
nb_node *nb_dropout(nb_graph *g, nb_node *x, double p, int training)
{
    char t[IR_TYPE_STR_MAX];
    if (!g || g->error)
        return NULL;
    if (!x) {
        ir_error(g, "dropout: x is NULL");
        return NULL;
    }
    if (x->graph != g) {
        ir_error(g, "dropout: x belongs to another graph");
        return NULL;
    }
    if (!ir_is_float(x->dtype)) {
        ir_error(g, "dropout: x is %s; expected a float tensor", ir_type_str(x, t, sizeof t));
        return NULL;
    }
    if (!(p >= 0 && p <= 1)) {
        ir_error(g, "dropout: p is %g; expected a probability in [0, 1]", p);
        return NULL;
    }
    if (!training || p == 0)
        return x;
    if (p == 1) /* as PyTorch: x * 0, so an infinite or NaN element gives NaN */
        return ir_mul(g, x, ir_scalar_like(g, x, 0));
    double scale = x->dtype == NB_F32 ? (double)(1.0f / (float)(1 - p)) : 1 / (1 - p);
    ir_node *u = draw(g, "dropout", x->dtype, x->rank, x->shape);
    ir_node *keep = ir_make2(g, IR_OP_GE, u, ir_scalar_like(g, x, p), NULL);
    ir_node *mask =
        ir_make3(g, IR_OP_WHERE, keep, ir_scalar_like(g, x, scale), ir_scalar_like(g, x, 0), NULL);
    return ir_mul(g, x, mask);
}
