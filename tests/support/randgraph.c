/* randgraph.c — builds random valid graphs through the public API (see randgraph.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "randgraph.h"

/* Bounds that keep a graph small: a few dozen nodes over tensors of a few dozen
 * elements, so that thousands of graphs compile in seconds. */
enum {
    RG_MAX_RANK = 4,
    RG_MAX_DIM = 5,
    RG_MAX_NUMEL = 96,
    RG_MAX_POOL = 48,
    RG_MIN_STEPS = 3,
    RG_MAX_STEPS = 12,
    RG_LONG_CHAIN = 60,
    RG_NAME_SIZE = 48
};

/* ---- choices ---------------------------------------------------------------------- */

void rg_rand_seed(rg_rand *r, uint64_t seed)
{
    memset(r, 0, sizeof *r);
    ir_rng_seed(&r->rng, seed);
}

void rg_rand_bytes(rg_rand *r, const uint8_t *bytes, size_t n)
{
    uint64_t seed = n; /* the first bytes and the length; ir_rng_seed mixes them */
    memset(r, 0, sizeof *r);
    r->bytes = bytes;
    r->n = n;
    for (size_t i = 0; i < n && i < 8; i++)
        seed = seed * 257 + bytes[i];
    ir_rng_seed(&r->rng, seed);
}

/* A choice in [0, n), n > 0: one fuzz byte, or the PRNG. */
static int pick(rg_rand *r, int n)
{
    if (n <= 1)
        return 0;
    if (r->bytes)
        return r->pos < r->n ? r->bytes[r->pos++] % n : 0;
    return (int)ir_rng_below(&r->rng, (uint64_t)n);
}

/* True with probability about pct / 100. */
static int chance(rg_rand *r, int pct)
{
    return pick(r, 100) < pct;
}

static double uniform(rg_rand *r, double lo, double hi)
{
    return lo + (hi - lo) * ir_rng_uniform(&r->rng);
}

/* ---- the case's arrays ------------------------------------------------------------ */

static int grow(void **items, int *cap, int n, size_t size)
{
    if (n < *cap)
        return 0;
    int cap2 = *cap ? 2 * *cap : 16;
    void *p = realloc(*items, (size_t)cap2 * size);
    if (!p)
        return -1;
    *items = p;
    *cap = cap2;
    return 0;
}

int rg_case_init(rg_case *c)
{
    memset(c, 0, sizeof *c);
    c->g = nb_graph_new();
    return c->g ? 0 : -1;
}

void rg_case_free(rg_case *c)
{
    for (int i = 0; i < c->n_inputs; i++)
        free(c->inputs[i].data);
    for (int i = 0; i < c->n_params; i++)
        free(c->params[i].data);
    free(c->inputs);
    free(c->params);
    free(c->outputs);
    free(c->updates);
    nb_graph_free(c->g);
    memset(c, 0, sizeof *c);
}

static int add_output(rg_case *c, nb_node *x)
{
    if (!x || grow((void **)&c->outputs, &c->cap_outputs, c->n_outputs, sizeof *c->outputs))
        return -1;
    c->outputs[c->n_outputs++] = x;
    return 0;
}

static int add_update(rg_case *c, nb_node *p, nb_node *v)
{
    if (!v || grow((void **)&c->updates, &c->cap_updates, c->n_updates, sizeof *c->updates))
        return -1;
    c->updates[c->n_updates++] = (nb_update){p, v};
    return 0;
}

/* ---- one subgraph under construction ---------------------------------------------- */

typedef struct sub {
    rg_case *c;
    rg_rand *r;
    nb_graph *g;
    nb_dtype dt; /* every node of the pool has it */
    nb_node *pool[RG_MAX_POOL];
    int n_pool;
    /* this subgraph's leaves are c->params[first_param..] and c->inputs[first_input..] */
    int first_param, first_input, n_leaf;
    /* parameters with updates of their own (batch norm's running statistics): left out
     * of the gradients and the updates drawn at the end */
    nb_node *fixed[RG_MAX_POOL];
    int n_fixed;
} sub;

static void push(sub *s, nb_node *x)
{
    if (!x)
        return;
    if (s->n_pool < RG_MAX_POOL) {
        s->pool[s->n_pool++] = x;
        return;
    }
    /* full: forget one of the newer half, keep x last (the latest node) */
    int k = RG_MAX_POOL / 2 + pick(s->r, RG_MAX_POOL / 2);
    s->pool[k] = s->pool[RG_MAX_POOL - 1];
    s->pool[RG_MAX_POOL - 1] = x;
}

/* A pool node, the recent ones more often than the old. */
static nb_node *any(sub *s)
{
    int i = pick(s->r, s->n_pool);
    if (chance(s->r, 50))
        i = s->n_pool - 1 - pick(s->r, s->n_pool < 4 ? s->n_pool : 4);
    return s->pool[i];
}

static int64_t shape_numel(int rank, const int64_t *shape)
{
    int64_t n = 1;
    for (int d = 0; d < rank; d++)
        n *= shape[d];
    return n;
}

static void random_shape(sub *s, int min_rank, int *rank, int64_t *shape)
{
    *rank = min_rank + pick(s->r, RG_MAX_RANK - min_rank + 1);
    for (int d = 0; d < *rank; d++) {
        shape[d] = chance(s->r, 30) ? 1 : 1 + pick(s->r, RG_MAX_DIM);
        while (shape_numel(d + 1, shape) > RG_MAX_NUMEL && shape[d] > 1)
            shape[d]--;
    }
}

/* Fills n values of dt: floats uniform in [lo, hi), integers in [lo, hi), bools 0/1. */
static void *random_data(sub *s, nb_dtype dt, int64_t n, double lo, double hi)
{
    void *p = malloc((size_t)(n ? n : 1) * nb_dtype_size(dt));
    if (!p)
        return NULL;
    for (int64_t i = 0; i < n; i++) {
        double v = uniform(s->r, lo, hi);
        switch (dt) {
        case NB_F32: ((float *)p)[i] = (float)v; break;
        case NB_F64: ((double *)p)[i] = v; break;
        case NB_I32: ((int32_t *)p)[i] = (int32_t)floor(v); break;
        default: ((uint8_t *)p)[i] = v >= 0.5 * (lo + hi); break;
        }
    }
    return p;
}

/* A named leaf (input or parameter) with data from [lo, hi). */
static nb_node *leaf(sub *s, int is_param, nb_dtype dt, int rank, const int64_t *shape, double lo,
                     double hi)
{
    rg_case *c = s->c;
    char name[RG_NAME_SIZE];
    snprintf(name, sizeof name, "s%d.%c%d", c->n_subgraphs, is_param ? 'p' : 'x', s->n_leaf++);
    rg_leaf **items = is_param ? &c->params : &c->inputs;
    int *n = is_param ? &c->n_params : &c->n_inputs;
    int *cap = is_param ? &c->cap_params : &c->cap_inputs;
    if (grow((void **)items, cap, *n, sizeof **items))
        return NULL;
    nb_node *x =
        is_param ? nb_param(s->g, name, dt, rank, shape) : nb_input(s->g, name, dt, rank, shape);
    if (!x)
        return NULL;
    void *data = random_data(s, dt, shape_numel(rank, shape), lo, hi);
    if (!data)
        return NULL;
    (*items)[(*n)++] = (rg_leaf){x, data};
    return x;
}

/* A new float operand of the given shape: an input, a parameter or a constant. */
static nb_node *operand(sub *s, int rank, const int64_t *shape)
{
    int k = pick(s->r, 4);
    if (k == 0 && rank == 0)
        return nb_scalar(s->g, s->dt, uniform(s->r, -2, 2));
    if (k == 0) {
        int64_t n = shape_numel(rank, shape);
        double *v = malloc((size_t)n * sizeof *v);
        if (!v)
            return NULL;
        for (int64_t i = 0; i < n; i++)
            v[i] = uniform(s->r, -2, 2);
        nb_node *x = nb_constant(s->g, s->dt, rank, shape, v);
        free(v);
        return x;
    }
    return leaf(s, k == 1, s->dt, rank, shape, -2, 2);
}

/* x made positive and away from zero: the domain of log, sqrt, division. */
static nb_node *positive(sub *s, nb_node *x)
{
    nb_graph *g = s->g;
    /* Nodes are made one per statement, or as the single nested argument, so that node
     * ids do not depend on the compiler's order of evaluating arguments. */
    nb_node *half = nb_scalar(g, s->dt, 0.5);
    switch (pick(s->r, 3)) {
    case 0: return nb_add(g, nb_abs(g, x), half);
    case 1: return nb_add(g, nb_softplus(g, x), half);
    default: return nb_add(g, nb_square(g, x), half);
    }
}

/* x kept within a few units: the domain of exp. */
static nb_node *bounded(sub *s, nb_node *x)
{
    if (chance(s->r, 50))
        return nb_clamp(s->g, x, -4.0, 3.0);
    nb_node *three = nb_scalar(s->g, s->dt, 3.0);
    return nb_mul(s->g, nb_tanh(s->g, x), three);
}

/* A shape that broadcasts with (rank, shape): some trailing axes, some set to 1, and
 * sometimes extra leading axes. */
static void broadcast_partner(sub *s, int rank, const int64_t *shape, int *rank2, int64_t *shape2)
{
    int keep = pick(s->r, rank + 1), extra = 0;
    if (chance(s->r, 20) && keep == rank && rank < RG_MAX_RANK)
        extra = 1;
    *rank2 = keep + extra;
    if (extra)
        shape2[0] = 1 + pick(s->r, 3);
    for (int d = 0; d < keep; d++) {
        int64_t v = shape[rank - keep + d];
        shape2[extra + d] = chance(s->r, 30) ? 1 : v;
    }
}

static int broadcasts(const nb_node *a, const nb_node *b)
{
    int ra = nb_node_rank(a), rb = nb_node_rank(b);
    const int64_t *sa = nb_node_shape(a), *sb = nb_node_shape(b);
    int r = ra > rb ? ra : rb;
    int64_t n = 1;
    for (int d = 0; d < r; d++) {
        int i = d - (r - ra), j = d - (r - rb);
        int64_t x = i >= 0 ? sa[i] : 1, y = j >= 0 ? sb[j] : 1;
        if (x != y && x != 1 && y != 1)
            return 0;
        n *= x > y ? x : y;
    }
    return r <= RG_MAX_RANK && n <= RG_MAX_NUMEL;
}

/* A partner for a binary op with a: a pool node that broadcasts with it, or new. */
static nb_node *partner(sub *s, nb_node *a)
{
    if (chance(s->r, 60)) {
        int start = pick(s->r, s->n_pool);
        for (int i = 0; i < s->n_pool; i++) {
            nb_node *b = s->pool[(start + i) % s->n_pool];
            if (broadcasts(a, b))
                return b;
        }
    }
    int rank;
    int64_t shape[NB_MAX_RANK];
    broadcast_partner(s, nb_node_rank(a), nb_node_shape(a), &rank, shape);
    nb_node *b = operand(s, rank, shape);
    return b && broadcasts(a, b) ? b : operand(s, nb_node_rank(a), nb_node_shape(a));
}

/* A pool node of x's shape other than x, or a new operand of that shape. */
static nb_node *same_shape(sub *s, nb_node *x)
{
    int start = pick(s->r, s->n_pool), r = nb_node_rank(x);
    for (int i = 0; i < s->n_pool; i++) {
        nb_node *b = s->pool[(start + i) % s->n_pool];
        if (b != x && nb_node_rank(b) == r &&
            !memcmp(nb_node_shape(b), nb_node_shape(x), (size_t)r * sizeof(int64_t)))
            return b;
    }
    return operand(s, r, nb_node_shape(x));
}

/* ---- moves: each appends a few nodes and returns a new pool node (NULL on error) -- */

/* A trigonometric or hyperbolic function of x, its operand kept inside the domain and
 * off the edges: |t| <= 0.9 with t = 0.9 tanh(x) for asin, acos, atanh (and tan, whose
 * poles are at +-pi/2), 1.5 + positive for acosh, x kept within a few units for sinh and
 * cosh. */
static nb_node *move_trig(sub *s, nb_node *x)
{
    nb_graph *g = s->g;
    int k = pick(s->r, 9);
    if (k <= 3) {
        nb_node *scale = nb_scalar(g, s->dt, 0.9);
        nb_node *t = nb_mul(g, nb_tanh(g, x), scale);
        nb_node *(*const unit_ops[])(nb_graph *, nb_node *) = {nb_asin, nb_acos, nb_atanh, nb_tan};
        return unit_ops[k](g, t);
    }
    switch (k) {
    case 4: return nb_atan(g, x);
    case 5: return nb_asinh(g, x);
    case 6: return nb_sinh(g, bounded(s, x));
    case 7: return nb_cosh(g, bounded(s, x));
    default: {
        nb_node *one = nb_scalar(g, s->dt, 1.0);
        nb_node *p = positive(s, x);
        return nb_acosh(g, nb_add(g, p, one));
    }
    }
}

static nb_node *move_unary(sub *s)
{
    nb_graph *g = s->g;
    nb_node *x = any(s);
    switch (pick(s->r, 27)) {
    case 0: return nb_neg(g, x);
    case 1: return nb_abs(g, x);
    case 2: return nb_sign(g, x);
    case 3: return nb_exp(g, bounded(s, x));
    case 4: return nb_log(g, positive(s, x));
    case 5: return nb_log1p(g, nb_abs(g, x));
    case 6: return nb_expm1(g, bounded(s, x));
    case 7: return nb_sqrt(g, positive(s, x));
    case 8: return nb_rsqrt(g, positive(s, x));
    case 9: return nb_square(g, x);
    case 10: return nb_reciprocal(g, positive(s, x));
    case 11: return nb_sin(g, x);
    case 12: return nb_cos(g, x);
    case 13: return nb_tanh(g, x);
    case 14: return nb_sigmoid(g, x);
    case 15: return nb_relu(g, x);
    case 16: return nb_leaky_relu(g, x, 0.01 + 0.3 * pick(s->r, 3));
    case 17: return nb_elu(g, x, 0.5 + 0.5 * pick(s->r, 3));
    case 18: return chance(s->r, 50) ? nb_gelu(g, x) : nb_gelu_tanh(g, x);
    case 19: return nb_silu(g, x);
    case 20: return nb_softplus(g, x);
    case 21: {
        /* Rounding: scaled so that values cross integers and halves. */
        nb_node *(*const round_ops[])(nb_graph *, nb_node *) = {nb_floor, nb_ceil, nb_round,
                                                                nb_trunc};
        nb_node *k = nb_scalar(g, s->dt, 2.0);
        return round_ops[pick(s->r, 4)](g, nb_mul(g, x, k));
    }
    case 22: return nb_erf(g, x);
    case 23: {
        /* A running sum along a random axis. */
        int rank = nb_node_rank(x);
        return rank ? nb_cumsum(g, x, pick(s->r, rank) - (chance(s->r, 30) ? rank : 0)) : x;
    }
    case 24: {
        /* Padding of the last axis: constant (a crop now and then) or reflect. */
        int rank = nb_node_rank(x);
        int64_t last = rank ? nb_node_shape(x)[rank - 1] : 0;
        if (last < 2)
            return nb_neg(g, x);
        int64_t pads[2] = {pick(s->r, 2), 1};
        if (chance(s->r, 50))
            return nb_pad(g, x, 2, pads, NB_PAD_REFLECT, 0.0);
        pads[1] = chance(s->r, 30) ? -1 : 2;
        return nb_pad(g, x, 2, pads, NB_PAD_CONSTANT, 0.5);
    }
    case 25: return move_trig(s, x);
    default: return nb_stop_gradient(g, x);
    }
}

static nb_node *move_binary(sub *s)
{
    nb_graph *g = s->g;
    nb_node *a = any(s), *b = partner(s, a);
    if (chance(s->r, 50)) {
        nb_node *t = a;
        a = b;
        b = t;
    }
    switch (pick(s->r, 10)) {
    case 0: return nb_add(g, a, b);
    case 1: return nb_sub(g, a, b);
    case 2: return nb_mul(g, a, b);
    case 3: return nb_div(g, a, positive(s, b));
    case 4: {
        /* one call per statement: the order of random draws must not depend on the
         * compiler's order of evaluating arguments (a seed names one graph anywhere) */
        nb_node *base = positive(s, a);
        return nb_pow(g, base, bounded(s, b));
    }
    case 5: return nb_maximum(g, a, b);
    case 6: return nb_minimum(g, a, b);
    case 8: return nb_fmod(g, a, positive(s, b));
    case 7: {
        nb_node *m;
        switch (pick(s->r, 7)) {
        case 6: /* a mask bound by the caller, of a's shape */
            m = leaf(s, 0, NB_BOOL, nb_node_rank(a), nb_node_shape(a), 0, 1);
            if (chance(s->r, 30))
                add_output(s->c, m); /* a bool leaf returned as it is */
            break;
        case 0: m = nb_lt(g, a, b); break;
        case 1: m = nb_le(g, a, b); break;
        case 2: m = nb_gt(g, a, b); break;
        case 3: m = nb_ge(g, a, b); break;
        case 4: m = nb_eq(g, a, a); break;
        default: m = nb_ne(g, a, b); break;
        }
        if (chance(s->r, 25)) {
            /* a mask combined with another: the logical ops, isnan, isinf */
            nb_node *m2 = chance(s->r, 50) ? nb_isnan(g, b) : nb_lt(g, b, a);
            switch (pick(s->r, 5)) {
            case 0: m = nb_logical_and(g, m, m2); break;
            case 1: m = nb_logical_or(g, m, m2); break;
            case 2: m = nb_logical_xor(g, m, m2); break;
            case 3: m = nb_logical_not(g, m); break;
            default: m = nb_logical_or(g, m, nb_isinf(g, a)); break;
            }
        }
        if (chance(s->r, 15))
            add_output(s->c, m); /* a bool result, compared exactly */
        if (chance(s->r, 30))
            return nb_mul(g, a, nb_cast(g, m, s->dt));
        return nb_where(g, m, a, m ? partner(s, m) : NULL);
    }
    default: {
        double lo = uniform(s->r, -2, 1);
        return nb_clamp(g, a, lo, lo + uniform(s->r, 0, 2));
    }
    }
}

/* A random subset of the axes of x (n == 0 now and then: every axis). */
static int random_axes(sub *s, int rank, int *axes)
{
    int n = 0;
    if (rank == 0 || chance(s->r, 20))
        return 0;
    for (int d = 0; d < rank; d++)
        if (chance(s->r, 50))
            axes[n++] = chance(s->r, 30) ? d - rank : d;
    if (n == 0)
        axes[n++] = pick(s->r, rank);
    return n;
}

static nb_node *move_reduce(sub *s)
{
    nb_graph *g = s->g;
    nb_node *x = any(s);
    int axes[NB_MAX_RANK], n = random_axes(s, nb_node_rank(x), axes), keep = chance(s->r, 50);
    switch (pick(s->r, 6)) {
    case 0: return nb_sum(g, x, axes, n, keep);
    case 5: return nb_prod(g, x, axes, n, keep);
    case 1: return nb_mean(g, x, axes, n, keep);
    case 2: return nb_max(g, x, axes, n, keep);
    case 3: return nb_min(g, x, axes, n, keep);
    default: return nb_logsumexp(g, x, axes, n, keep);
    }
}

/* A random shape of numel elements and rank <= RG_MAX_RANK. */
static void factor_shape(sub *s, int64_t numel, int *rank, int64_t *shape)
{
    int64_t f[16];
    int nf = 0;
    for (int64_t p = 2, m = numel; m > 1 && nf < 16; p++)
        while (m % p == 0 && nf < 16) {
            f[nf++] = p;
            m /= p;
        }
    *rank = pick(s->r, RG_MAX_RANK + 1);
    if (*rank == 0 && numel > 1)
        *rank = 1;
    for (int d = 0; d < *rank; d++)
        shape[d] = 1;
    for (int i = 0; i < nf; i++)
        shape[pick(s->r, *rank)] *= f[i];
}

static nb_node *reshape_random(sub *s, nb_node *x)
{
    int rank;
    int64_t shape[NB_MAX_RANK];
    factor_shape(s, nb_node_numel(x), &rank, shape);
    if (rank > 0 && chance(s->r, 30))
        shape[pick(s->r, rank)] = -1;
    return nb_reshape(s->g, x, rank, shape);
}

/* x with rank >= min_rank (reshaped with leading 1s if needed). */
static nb_node *at_least_rank(sub *s, nb_node *x, int min_rank)
{
    int r = nb_node_rank(x);
    if (r >= min_rank)
        return x;
    int64_t shape[NB_MAX_RANK];
    const int64_t *xs = nb_node_shape(x);
    int pad = min_rank - r;
    for (int d = 0; d < pad; d++)
        shape[d] = 1;
    for (int d = 0; d < r; d++)
        shape[pad + d] = xs[d];
    if (chance(s->r, 50) && r == 1 && min_rank == 2) {
        shape[0] = xs[0];
        shape[1] = 1;
    }
    return nb_reshape(s->g, x, min_rank, shape);
}

static nb_node *slice_random(sub *s, nb_node *x)
{
    int r = nb_node_rank(x);
    const int64_t *xs = nb_node_shape(x);
    int64_t start[NB_MAX_RANK], stop[NB_MAX_RANK], step[NB_MAX_RANK];
    for (int d = 0; d < r; d++) {
        /* [a, b) with a < b <= n, written in the forms Python accepts */
        int64_t n = xs[d], a = pick(s->r, (int)n), b = a + 1 + pick(s->r, (int)(n - a));
        step[d] = 1 + (chance(s->r, 30) ? pick(s->r, 3) : 0);
        start[d] = chance(s->r, 30) ? a - n : a;
        if (b < n && chance(s->r, 30))
            stop[d] = b - n;
        else
            stop[d] = chance(s->r, 20) ? b + 2 : b; /* past the end: clamped to n */
    }
    if (chance(s->r, 10))
        return nb_slice(s->g, x, NULL, NULL, NULL);
    return nb_slice(s->g, x, start, stop, step);
}

static nb_node *move_shape(sub *s)
{
    nb_graph *g = s->g;
    nb_node *x = any(s);
    int r = nb_node_rank(x);
    switch (pick(s->r, 6)) {
    case 0: return reshape_random(s, x);
    case 1: return nb_transpose(g, at_least_rank(s, x, 2));
    case 2: {
        int perm[NB_MAX_RANK];
        for (int d = 0; d < r; d++)
            perm[d] = d;
        for (int d = r - 1; d > 0; d--) {
            int j = pick(s->r, d + 1), t = perm[d];
            perm[d] = perm[j];
            perm[j] = t;
        }
        return nb_permute(g, x, perm, r);
    }
    case 3: return slice_random(s, at_least_rank(s, x, 1));
    case 4: {
        int64_t shape[NB_MAX_RANK];
        const int64_t *xs = nb_node_shape(x);
        int extra = r < RG_MAX_RANK && chance(s->r, 50);
        if (extra)
            shape[0] = 1 + pick(s->r, 3);
        for (int d = 0; d < r; d++)
            shape[extra + d] = xs[d] == 1 ? 1 + pick(s->r, 3) : xs[d];
        if (shape_numel(r + extra, shape) > RG_MAX_NUMEL)
            return nb_relu(g, x);
        return nb_broadcast_to(g, x, r + extra, shape);
    }
    default: {
        /* concat, with the same operand more than once */
        nb_node *xs[4];
        x = at_least_rank(s, x, 1);
        r = nb_node_rank(x);
        int axis = pick(s->r, r), n = 2 + pick(s->r, 3);
        int64_t total = 0;
        for (int i = 0; i < n; i++) {
            int k = pick(s->r, 3);
            xs[i] = k == 0 ? x : nb_neg(g, x);
            if (k == 2) {
                /* a slice only on the concat axis keeps the others equal */
                int64_t start[NB_MAX_RANK] = {0}, stop[NB_MAX_RANK], step[NB_MAX_RANK];
                for (int d = 0; d < r; d++) {
                    stop[d] = nb_node_shape(x)[d];
                    step[d] = 1;
                }
                start[axis] = pick(s->r, (int)stop[axis]);
                xs[i] = nb_slice(g, x, start, stop, step);
            }
            total += xs[i] ? nb_node_shape(xs[i])[axis] : 0;
            if ((total + 1) * (nb_node_numel(x) / nb_node_shape(x)[axis]) > RG_MAX_NUMEL * 2 &&
                i >= 1) {
                n = i + 1;
                break;
            }
        }
        return nb_concat(g, xs, n, chance(s->r, 30) ? axis - r : axis);
    }
    }
}

/* Some existing node whose last two axes are [k, *] and whose batch axes broadcast with
 * a's, or NULL. */
static nb_node *matmul_partner(sub *s, nb_node *a, int64_t k, int transposed)
{
    int start = pick(s->r, s->n_pool);
    for (int i = 0; i < s->n_pool; i++) {
        nb_node *b = s->pool[(start + i) % s->n_pool];
        int rb = nb_node_rank(b), ra = nb_node_rank(a);
        if (rb < 2)
            continue;
        const int64_t *sb = nb_node_shape(b), *sa = nb_node_shape(a);
        if (sb[rb - (transposed ? 1 : 2)] != k)
            continue;
        int ok = 1, nb = rb - 2, na = ra - 2, m = na > nb ? na : nb;
        for (int d = 0; d < m && ok; d++) {
            int64_t x = d - (m - na) >= 0 ? sa[d - (m - na)] : 1;
            int64_t y = d - (m - nb) >= 0 ? sb[d - (m - nb)] : 1;
            ok = x == y || x == 1 || y == 1;
        }
        if (ok)
            return b;
    }
    return NULL;
}

static nb_node *move_matmul(sub *s)
{
    nb_graph *g = s->g;
    nb_node *a = at_least_rank(s, any(s), 2);
    if (chance(s->r, 30))
        a = nb_transpose(g, a); /* a transpose read only by the matmul */
    if (!a)
        return NULL;
    int ra = nb_node_rank(a);
    int64_t k = nb_node_shape(a)[ra - 1];
    int transposed = chance(s->r, 40);
    nb_node *b = chance(s->r, 60) ? matmul_partner(s, a, k, transposed) : NULL;
    if (!b) {
        int64_t shape[NB_MAX_RANK];
        int rb = chance(s->r, 70) ? 2 : ra;
        for (int d = 0; d < rb - 2; d++)
            shape[d] = chance(s->r, 50) ? 1 : nb_node_shape(a)[ra - rb + d];
        shape[rb - 2] = k;
        shape[rb - 1] = 1 + pick(s->r, 4);
        if (transposed) {
            int64_t t = shape[rb - 2];
            shape[rb - 2] = shape[rb - 1];
            shape[rb - 1] = t;
        }
        b = leaf(s, chance(s->r, 60), s->dt, rb, shape, -1, 1);
    }
    if (transposed)
        b = nb_transpose(g, b);
    nb_node *y = nb_matmul(g, a, b);
    if (y && nb_node_numel(y) > RG_MAX_NUMEL * 2)
        return nb_sum(g, y, NULL, 0, 0);
    return y;
}

/* Labels in [0, classes) for a batch of n (n == 0: a scalar label). */
static nb_node *labels(sub *s, int64_t n, int64_t classes)
{
    return leaf(s, 0, NB_I32, n ? 1 : 0, &n, 0, (double)classes);
}

static nb_reduction reduction(sub *s)
{
    return (nb_reduction)pick(s->r, 3);
}

static nb_node *move_loss(sub *s)
{
    nb_graph *g = s->g;
    nb_node *x = any(s);
    switch (pick(s->r, 7)) {
    case 0:
    case 1: {
        x = at_least_rank(s, x, 1);
        int rank = nb_node_rank(x), axis = pick(s->r, 2 * rank) - rank; /* [-rank, rank) */
        return chance(s->r, 50) ? nb_softmax(g, x, axis) : nb_log_softmax(g, x, axis);
    }
    case 2: {
        nb_node *t = same_shape(s, x);
        return nb_mse(g, x, t, reduction(s));
    }
    case 3: {
        nb_node *t = leaf(s, 0, s->dt, nb_node_rank(x), nb_node_shape(x), 0, 1);
        if (chance(s->r, 50))
            return nb_bce(g, nb_sigmoid(g, x), t, reduction(s));
        return nb_bce_with_logits(g, nb_mul(g, x, nb_scalar(g, s->dt, 4.0)), t, reduction(s));
    }
    default: {
        /* logits [N, C] or [C] with labels */
        int rank = nb_node_rank(x);
        if (rank > 2 || (rank == 2 && chance(s->r, 30)))
            x = nb_reshape(g, x, 2, (int64_t[]){nb_node_shape(x)[0], -1});
        x = at_least_rank(s, x, 1);
        if (!x)
            return NULL;
        rank = nb_node_rank(x);
        int64_t n = rank == 2 ? nb_node_shape(x)[0] : 0, classes = nb_node_shape(x)[rank - 1];
        nb_node *l = labels(s, n, classes);
        if (chance(s->r, 50))
            return nb_cross_entropy(g, x, l, reduction(s));
        return nb_nll(g, nb_log_softmax(g, x, -1), l, reduction(s));
    }
    }
}

static nb_node *move_index(sub *s)
{
    nb_graph *g = s->g;
    nb_node *x = at_least_rank(s, any(s), 1);
    if (!x)
        return NULL;
    int64_t rows = nb_node_shape(x)[0], row = nb_node_numel(x) / rows;
    int rank = 0;
    int64_t shape[NB_MAX_RANK];
    for (; rank < 2 && rank + nb_node_rank(x) - 1 < RG_MAX_RANK && chance(s->r, 60); rank++)
        shape[rank] = 1 + pick(s->r, 3);
    if (row * shape_numel(rank, shape) > RG_MAX_NUMEL)
        rank = 0;
    if (chance(s->r, 25)) {
        /* take_along_axis: an index of x's shape but for 1 to 3 picks along the axis,
         * each in [0, size) of that axis */
        int xr = nb_node_rank(x), axis = pick(s->r, xr);
        int64_t ishape[NB_MAX_RANK];
        for (int d = 0; d < xr; d++)
            ishape[d] = nb_node_shape(x)[d];
        ishape[axis] = 1 + pick(s->r, 3);
        nb_node *take = leaf(s, 0, NB_I32, xr, ishape, 0, (double)nb_node_shape(x)[axis]);
        return nb_take_along_axis(g, x, take, chance(s->r, 50) ? axis : axis - xr);
    }
    nb_node *idx = leaf(s, 0, NB_I32, rank, shape, 0, (double)rows);
    switch (pick(s->r, 3)) {
    case 0: return nb_one_hot(g, idx, (int)rows + pick(s->r, 3), s->dt);
    case 1: {
        nb_node *shift = nb_sum(g, nb_cast(g, idx, s->dt), NULL, 0, 0);
        return nb_add(g, nb_gather(g, x, idx), shift);
    }
    default: return nb_gather(g, x, idx);
    }
}

static nb_node *move_cast(sub *s)
{
    nb_graph *g = s->g;
    nb_node *x = any(s);
    nb_dtype other = s->dt == NB_F32 ? NB_F64 : NB_F32;
    nb_node *y = nb_cast(g, x, other);
    if (chance(s->r, 50))
        y = nb_tanh(g, y);
    return nb_cast(g, y, s->dt);
}

/* Pooling over the last two axes of x (given rank 3 or more): random windows that fit
 * (the span at most the padded size, padding at most half the kernel). */
static nb_node *move_pool(sub *s)
{
    nb_graph *g = s->g;
    nb_node *x = at_least_rank(s, any(s), 3);
    if (!x)
        return NULL;
    int r = nb_node_rank(x), kind = pick(s->r, 3);
    const int64_t *xs = nb_node_shape(x);
    if (kind == 2)
        return nb_adaptive_avg_pool2d(g, x, 1 + pick(s->r, (int)xs[r - 2] + 1),
                                      1 + pick(s->r, (int)xs[r - 1] + 1));
    int64_t k[2], st[2], pad[2], dil[2];
    for (int d = 0; d < 2; d++) {
        int64_t n = xs[r - 2 + d];
        k[d] = 1 + pick(s->r, 3);
        dil[d] = kind == 0 && n >= 2 && chance(s->r, 30) ? 2 : 1; /* a tap inside */
        pad[d] = pick(s->r, k[d] / 2 + 1);
        st[d] = 1 + pick(s->r, 2);
        while (dil[d] * (k[d] - 1) + 1 > n + 2 * pad[d]) {
            if (pad[d] < k[d] / 2)
                pad[d]++;
            else if (dil[d] > 1)
                dil[d]--;
            else if (--k[d] / 2 < pad[d])
                pad[d] = k[d] / 2;
        }
    }
    int ceil = chance(s->r, 30);
    if (kind == 0)
        return nb_max_pool2d(g, x, k, st, pad, dil, ceil);
    return nb_avg_pool2d(g, x, k, st, pad, ceil, chance(s->r, 50),
                         chance(s->r, 20) ? 1 + pick(s->r, 5) : 0);
}

/* A divisor of n drawn at random. */
static int64_t divisor(sub *s, int64_t n)
{
    int64_t ds[RG_MAX_NUMEL];
    int k = 0;
    for (int64_t d = 1; d <= n && k < RG_MAX_NUMEL; d++)
        if (n % d == 0)
            ds[k++] = d;
    return ds[pick(s->r, k)];
}

/* ---- random numbers and normalisation --------------------------------------------- */

/* Lists the step counter among the case's parameters when the first random node is
 * about to be made, with a starting step: 0, a small count, or around 2^53 (where
 * adding one stops changing it); now and then a value that counts as step 0
 * (negative, not below 2^63) or one with a fraction (truncated). 0, or -1. */
static int step_leaf(sub *s)
{
    rg_case *c = s->c;
    if (c->rng_step)
        return 0;
    if (grow((void **)&c->params, &c->cap_params, c->n_params, sizeof *c->params))
        return -1;
    nb_node *step = nb_rng_step(s->g);
    double *v = malloc(sizeof *v);
    if (!step || !v) {
        free(v);
        return -1;
    }
    static const double special[] = {0, 9007199254740991.0, 9007199254740992.0, -1, 1e19, 2.5};
    int k = pick(s->r, 10);
    *v = k < 4 ? (double)pick(s->r, 1000) : special[k - 4];
    c->params[c->n_params++] = (rg_leaf){step, v};
    c->rng_step = step;
    return 0;
}

/* rand or randn of a random shape (alone, or added to a pool node of that shape), or
 * dropout of a pool node with p in {0, 0.2, 0.5, 1}, in training or not; now and then
 * after nb_manual_seed, which starts a stream again (so nodes may repeat numbers). */
static nb_node *move_random(sub *s)
{
    nb_graph *g = s->g;
    if (step_leaf(s) != 0)
        return NULL;
    if (chance(s->r, 10))
        nb_manual_seed(g, (uint64_t)pick(s->r, 3));
    int k = pick(s->r, 4);
    if (k == 3) {
        static const double ps[] = {0, 0.2, 0.5, 1};
        nb_node *x = any(s);
        return nb_dropout(g, x, ps[pick(s->r, 4)], chance(s->r, 85));
    }
    nb_node *x = chance(s->r, 50) ? any(s) : NULL, *y;
    int rank;
    int64_t shape[NB_MAX_RANK];
    if (x) {
        rank = nb_node_rank(x);
        memcpy(shape, nb_node_shape(x), (size_t)rank * sizeof *shape);
    } else {
        random_shape(s, 0, &rank, shape);
    }
    y = k == 0 ? nb_rand(g, s->dt, rank, shape) : nb_randn(g, s->dt, rank, shape);
    return x ? nb_add(g, x, y) : y;
}

/* An optional per-feature tensor of the given shape (weight, bias): NULL or an
 * operand. */
static nb_node *maybe_operand(sub *s, int rank, const int64_t *shape)
{
    return chance(s->r, 40) ? NULL : operand(s, rank, shape);
}

/* A parameter of batch norm's running statistics: its own updates, no SGD. */
static nb_node *running_stat(sub *s, int64_t channels, double lo, double hi)
{
    int is_param = chance(s->r, 70);
    nb_node *x = leaf(s, is_param, s->dt, 1, &channels, lo, hi);
    if (x && is_param && s->n_fixed < RG_MAX_POOL)
        s->fixed[s->n_fixed++] = x;
    return x;
}

/* Batch norm over x [N, C, ...]: in training (when a channel has more than one value)
 * with or without running statistics, whose new values become updates of the
 * parameters (or outputs); in eval with running statistics. */
static nb_node *batch_norm(sub *s, nb_node *x, double eps)
{
    nb_graph *g = s->g;
    int64_t c = nb_node_shape(x)[1];
    int training = nb_node_numel(x) / c > 1 && chance(s->r, 70);
    nb_node *rm = NULL, *rv = NULL, *new_rm = NULL, *new_rv = NULL;
    if (!training || chance(s->r, 70)) {
        rm = running_stat(s, c, -1, 1);
        rv = running_stat(s, c, 0.25, 2); /* variances: positive */
    }
    nb_node *w = maybe_operand(s, 1, &c);
    nb_node *b = maybe_operand(s, 1, &c);
    double momentum = chance(s->r, 50) ? NB_BATCH_NORM_MOMENTUM : uniform(s->r, 0, 1);
    nb_node *y = nb_batch_norm(g, x, rm, rv, w, b, training, momentum, eps, &new_rm, &new_rv);
    nb_node *stats[2][2] = {{rm, new_rm}, {rv, new_rv}};
    for (int i = 0; i < 2; i++) {
        nb_node *p = stats[i][0], *v = stats[i][1];
        int is_fixed = 0;
        for (int j = 0; j < s->n_fixed; j++)
            is_fixed |= s->fixed[j] == p;
        if (!v)
            continue;
        if (is_fixed && chance(s->r, 70) && add_update(s->c, p, v))
            return NULL;
        if (chance(s->r, 30) && add_output(s->c, v))
            return NULL;
    }
    return y;
}

/* Layer, group or batch norm of a pool node with random valid arguments. */
static nb_node *move_norm(sub *s)
{
    nb_graph *g = s->g;
    static const double epss[] = {NB_NORM_EPS, 1e-3, 0.1};
    double eps = epss[pick(s->r, 3)];
    int kind = pick(s->r, 4);
    nb_node *x = at_least_rank(s, any(s), kind < 2 ? 1 : 2);
    if (!x)
        return NULL;
    int rank = nb_node_rank(x);
    const int64_t *xs = nb_node_shape(x);
    if (kind < 2) {
        int nr = 1 + pick(s->r, rank);
        nb_node *w = maybe_operand(s, nr, xs + rank - nr);
        nb_node *b = maybe_operand(s, nr, xs + rank - nr);
        return nb_layer_norm(g, x, nr, w, b, eps);
    }
    if (kind == 3)
        return batch_norm(s, x, eps);
    int64_t c = xs[1];
    nb_node *w = maybe_operand(s, 1, &c);
    nb_node *b = maybe_operand(s, 1, &c);
    return nb_group_norm(g, x, (int)divisor(s, c), w, b, eps);
}

/* ---- i32 arithmetic, padding, scatters -------------------------------------------- */

/* i32 arithmetic on a pool node truncated to integers (x * 4 cast to i32): wrapping add,
 * sub and mul (a product by 2^30 wraps now and then), floor division and remainder by
 * a divisor of either sign that is never zero; the result cast back (and now and then
 * an output itself, compared exactly). */
static nb_node *move_int(sub *s)
{
    nb_graph *g = s->g;
    nb_node *x = any(s);
    nb_node *four = nb_scalar(g, s->dt, 4.0);
    nb_node *a = nb_cast(g, nb_mul(g, x, four), NB_I32), *b;
    if (!a)
        return NULL;
    int rank;
    int64_t shape[NB_MAX_RANK];
    broadcast_partner(s, nb_node_rank(a), nb_node_shape(a), &rank, shape);
    int k = pick(s->r, 5);
    if (k >= 3) {
        /* a divisor in [1, 6), negated now and then */
        b = leaf(s, 0, NB_I32, rank, shape, 1, 6);
        if (chance(s->r, 40))
            b = nb_mul(g, b, nb_scalar(g, NB_I32, -1));
    } else if (chance(s->r, 15)) {
        b = nb_scalar(g, NB_I32, 1 << 30);
    } else {
        b = leaf(s, 0, NB_I32, rank, shape, -20, 20);
    }
    if (chance(s->r, 50) && k < 3) {
        nb_node *t = a;
        a = b;
        b = t;
    }
    nb_node *y = k == 0   ? nb_add(g, a, b)
                 : k == 1 ? nb_sub(g, a, b)
                 : k == 2 ? nb_mul(g, a, b)
                 : k == 3 ? nb_floor_div(g, a, b)
                          : nb_remainder(g, a, b);
    if (chance(s->r, 20))
        add_output(s->c, y);
    return nb_cast(g, y, s->dt);
}

/* F.pad of x over up to all its axes: constant (value in [-1, 1), negative pads crop as
 * long as an element is left) or reflect (each pad below its axis' size). */
static nb_node *move_pad(sub *s)
{
    nb_node *x = at_least_rank(s, any(s), 1);
    if (!x)
        return NULL;
    int rank = nb_node_rank(x), n = 1 + pick(s->r, rank), reflect = chance(s->r, 40);
    const int64_t *xs = nb_node_shape(x);
    int64_t pads[2 * NB_MAX_RANK], numel = 1;
    for (int d = 0; d < rank; d++) {
        int64_t size = xs[rank - 1 - d];
        if (d < n) {
            int64_t *p = pads + 2 * d;
            for (int j = 0; j < 2; j++)
                p[j] = reflect ? pick(s->r, (int)(size < 3 ? size : 3))
                               : pick(s->r, 3) - (chance(s->r, 20) ? 1 + pick(s->r, 2) : 0);
            while (size + p[0] + p[1] < 1)
                p[p[0] < p[1] ? 0 : 1]++; /* a crop leaves an element */
            size += p[0] + p[1];
        }
        numel *= size;
    }
    if (numel > RG_MAX_NUMEL * 2)
        return nb_relu(s->g, x);
    return nb_pad(s->g, x, 2 * n, pads, reflect ? NB_PAD_REFLECT : NB_PAD_CONSTANT,
                  reflect ? 0.0 : uniform(s->r, -1, 1));
}

/* scatter_add or index_add into a pool node along a random axis: 1 to 3 positions along
 * it, each index in range (repeats add up in order), the source a new operand. */
static nb_node *move_scatter(sub *s)
{
    nb_node *x = at_least_rank(s, any(s), 1);
    if (!x)
        return NULL;
    int rank = nb_node_rank(x), axis = pick(s->r, rank);
    int64_t shape[NB_MAX_RANK], n = 1 + pick(s->r, 3), size = nb_node_shape(x)[axis];
    memcpy(shape, nb_node_shape(x), (size_t)rank * sizeof *shape);
    shape[axis] = n;
    int where = chance(s->r, 30) ? axis - rank : axis;
    if (chance(s->r, 50)) {
        nb_node *index = leaf(s, 0, NB_I32, rank, shape, 0, (double)size);
        nb_node *src = operand(s, rank, shape);
        return nb_scatter_add(s->g, x, where, index, src);
    }
    nb_node *index = leaf(s, 0, NB_I32, 1, &n, 0, (double)size);
    nb_node *src = operand(s, rank, shape);
    return nb_index_add(s->g, x, where, index, src);
}

/* conv1d (x of rank 3) or conv2d and conv_transpose2d (rank 4) of a pool node: channel
 * groups a divisor of C, 1 or 2 output channels a group, kernels of 1 to 3 taps per
 * axis, strides 1 or 2, dilation 1 or 2, padding (or padding="same", or an
 * output_padding) chosen so that the result has at least one element per axis; the
 * weight a new operand, the bias one or none. */
static nb_node *move_conv(sub *s)
{
    nb_graph *g = s->g;
    nb_node *x = at_least_rank(s, any(s), 3);
    if (!x)
        return NULL;
    int r = nb_node_rank(x), spatial = r - 2, transposed = r == 4 && chance(s->r, 35);
    const int64_t *xs = nb_node_shape(x);
    int64_t c = xs[1], groups = divisor(s, c), per = 1 + pick(s->r, 2), oc = groups * per;
    nb_conv_options o = {.groups = (int)groups};
    int64_t ws[4] = {transposed ? c : oc, transposed ? per : c / groups, 1, 1};
    for (int d = 0; d < spatial; d++) {
        int64_t n = xs[2 + d], k = 1 + pick(s->r, 3), st = 1 + pick(s->r, 2);
        int64_t dil = chance(s->r, 25) ? 2 : 1, pad;
        if (transposed) {
            int64_t op = pick(s->r, (int)(st > dil ? st : dil));
            int64_t most = ((n - 1) * st + dil * (k - 1) + op) / 2;
            pad = pick(s->r, (int)((k / 2 < most ? k / 2 : most) + 1));
            o.output_padding[d] = op <= pad + st - 1 ? op : 0;
        } else {
            while (dil * (k - 1) + 1 > n + 2 * (k / 2) && (dil > 1 || k > 1))
                dil > 1 ? dil-- : k--; /* the window fits with the most padding */
            pad = pick(s->r, (int)(k / 2 + 1));
            while (dil * (k - 1) + 1 > n + 2 * pad)
                pad++;
        }
        ws[2 + d] = k;
        o.stride[d] = st;
        o.dilation[d] = dil;
        o.padding[d] = pad;
    }
    if (!transposed && chance(s->r, 15)) {
        /* padding="same": stride 1, padding 0 */
        memset(o.stride, 0, sizeof o.stride);
        memset(o.padding, 0, sizeof o.padding);
        o.padding_same = 1;
    }
    nb_node *w = operand(s, r, ws);
    nb_node *b = maybe_operand(s, 1, &oc);
    nb_node *y = transposed ? nb_conv_transpose2d(g, x, w, b, &o)
                 : r == 3   ? nb_conv1d(g, x, w, b, &o)
                            : nb_conv2d(g, x, w, b, &o);
    if (y && nb_node_numel(y) > RG_MAX_NUMEL * 2)
        return nb_sum(g, y, NULL, 0, 0);
    return y;
}

typedef nb_node *(*move_fn)(sub *s);

/* Each family with a weight: how often it is drawn. */
static const struct {
    move_fn fn;
    int weight;
} moves[] = {
    {move_unary, 5}, {move_binary, 5}, {move_reduce, 3}, {move_shape, 4},   {move_matmul, 2},
    {move_loss, 2},  {move_index, 1},  {move_cast, 1},   {move_pool, 1},    {move_random, 1},
    {move_norm, 1},  {move_int, 1},    {move_pad, 1},    {move_scatter, 1}, {move_conv, 1},
};

static nb_node *move_any(sub *s)
{
    int total = 0, n = (int)(sizeof moves / sizeof moves[0]);
    for (int i = 0; i < n; i++)
        total += moves[i].weight;
    int k = pick(s->r, total);
    for (int i = 0; i < n; i++) {
        if (k < moves[i].weight)
            return moves[i].fn(s);
        k -= moves[i].weight;
    }
    return NULL;
}

/* ---- gradients, outputs, updates -------------------------------------------------- */

/* The parameters of this subgraph but the step counter and those with updates of their
 * own. */
static int sub_params(sub *s, nb_node **ps)
{
    int n = 0;
    for (int i = s->first_param; i < s->c->n_params && n < RG_MAX_POOL; i++) {
        nb_node *p = s->c->params[i].node;
        int is_fixed = p == s->c->rng_step;
        for (int j = 0; j < s->n_fixed; j++)
            is_fixed |= s->fixed[j] == p;
        if (nb_node_dtype(p) == s->dt && !is_fixed)
            ps[n++] = p;
    }
    return n;
}

/* The gradient of a scalar reduction of the last node wrt the parameters (and, now and
 * then, the gradient of a scalar made from those gradients); grads[i] of ps[i]. */
static int gradients(sub *s, nb_node **ps, int n, nb_node **grads)
{
    nb_graph *g = s->g;
    nb_node *y = s->pool[s->n_pool - 1];
    nb_node *loss = chance(s->r, 50) ? nb_sum(g, y, NULL, 0, 0) : nb_mean(g, y, NULL, 0, 0);
    if (nb_grad(g, loss, ps, n, grads) != 0)
        return -1;
    if (chance(s->r, 30))
        add_output(s->c, loss);
    for (int i = s->first_input; i < s->c->n_inputs; i++) {
        /* the gradient with respect to an input, now and then */
        nb_node *x = s->c->inputs[i].node, *gx;
        if (nb_node_dtype(x) == s->dt && chance(s->r, 20) &&
            (nb_grad(g, loss, &x, 1, &gx) != 0 || add_output(s->c, gx) != 0))
            return -1;
    }
    if (chance(s->r, 30)) {
        /* second order: s2 = sum_k sum(w_k * dloss/dp_k) */
        nb_node *s2 = NULL;
        for (int i = 0; i < n; i++) {
            nb_node *w = operand(s, nb_node_rank(grads[i]), nb_node_shape(grads[i]));
            nb_node *t = nb_sum(g, nb_mul(g, grads[i], w), NULL, 0, 0);
            s2 = s2 ? nb_add(g, s2, t) : t;
        }
        nb_node *grads2[RG_MAX_POOL];
        if (nb_grad(g, s2, ps, n, grads2) != 0)
            return -1;
        for (int i = 0; i < n; i++)
            if (chance(s->r, 50))
                grads[i] = grads2[i];
    }
    return 0;
}

static int same_type(const nb_node *a, const nb_node *b)
{
    return nb_node_dtype(a) == nb_node_dtype(b) && nb_node_rank(a) == nb_node_rank(b) &&
           !memcmp(nb_node_shape(a), nb_node_shape(b), (size_t)nb_node_rank(a) * sizeof(int64_t));
}

/* Updates of this subgraph's parameters. Each reads the values from before the run: a
 * swap of two parameters of one type (a <- b, b <- a), a one-way copy (a <- b, b
 * unchanged), two parameters given one value, an SGD step (whose value may be an output
 * as well), a function of the old value, or none. */
static int updates(sub *s, nb_node **ps, int n, nb_node **grads)
{
    nb_graph *g = s->g;
    rg_case *c = s->c;
    int done[RG_MAX_POOL] = {0};
    for (int i = 0; i < n; i++) {
        if (done[i])
            continue;
        int k = pick(s->r, 6), j = i + 1;
        nb_node *lr = nb_scalar(g, s->dt, 0.1);
        nb_node *step = nb_sub(g, ps[i], nb_mul(g, lr, grads[i]));
        while (j < n && (done[j] || !same_type(ps[i], ps[j])))
            j++;
        if (k == 0 && j < n) {
            int way = pick(s->r, 3);
            nb_node *vi = way == 2 ? step : ps[j], *vj = way == 0 ? ps[i] : way == 2 ? step : NULL;
            if (add_update(c, ps[i], vi) || (vj && add_update(c, ps[j], vj)))
                return -1;
            done[i] = 1;
            done[j] = vj != NULL;
        } else if (k <= 2) {
            if (add_update(c, ps[i], step) || (k == 2 && add_output(c, step)))
                return -1;
            done[i] = 1;
        } else if (k == 3) {
            nb_node *shift = nb_sum(g, any(s), NULL, 0, 0);
            if (add_update(c, ps[i], nb_add(g, nb_tanh(g, ps[i]), shift)))
                return -1;
            done[i] = 1;
        }
    }
    return 0;
}

int rg_add_subgraph(rg_case *c, rg_rand *r)
{
    sub s = {.c = c, .r = r, .g = c->g, .dt = chance(r, 50) ? NB_F32 : NB_F64};
    s.first_param = c->n_params;
    s.first_input = c->n_inputs;
    int rank, n_leaves = 1 + pick(r, 3);
    int64_t shape[NB_MAX_RANK];
    for (int i = 0; i < n_leaves; i++) {
        random_shape(&s, 0, &rank, shape);
        push(&s, leaf(&s, i == 0 || chance(r, 50), s.dt, rank, shape, -2, 2));
    }
    int steps = RG_MIN_STEPS + pick(r, RG_MAX_STEPS - RG_MIN_STEPS + 1);
    for (int i = 0; i < steps && !nb_graph_error(s.g); i++)
        push(&s, move_any(&s));
    if (chance(r, 3)) {
        /* A long elementwise chain, each step with an operand of its own: fused loops
         * meet their member and argument limits (CG_FUSE_MAX, CG_MAX_ARGS). */
        nb_node *x = s.pool[s.n_pool - 1];
        for (int i = RG_LONG_CHAIN / 2 + pick(r, RG_LONG_CHAIN); i > 0 && x; i--) {
            int k = pick(r, 4);
            nb_node *b = chance(r, 70) ? operand(&s, nb_node_rank(x), nb_node_shape(x)) : x;
            x = k == 0   ? nb_add(s.g, x, b)
                : k == 1 ? nb_mul(s.g, nb_tanh(s.g, x), b)
                : k == 2 ? nb_maximum(s.g, x, b)
                         : nb_sub(s.g, nb_sin(s.g, x), b);
        }
        push(&s, x);
    }
    if (nb_graph_error(s.g) || s.n_pool == 0)
        return -1;

    nb_node *ps[RG_MAX_POOL], *grads[RG_MAX_POOL];
    int n_ps = sub_params(&s, ps);
    if (n_ps > 0 && chance(r, 80)) {
        if (gradients(&s, ps, n_ps, grads) != 0)
            return -1;
        for (int i = 0; i < n_ps; i++)
            if (chance(r, 60) && add_output(c, grads[i]))
                return -1;
        if (updates(&s, ps, n_ps, grads) != 0)
            return -1;
    }
    /* outputs: the last node, a few others, now and then a leaf as it is */
    if (add_output(c, s.pool[s.n_pool - 1]))
        return -1;
    for (int i = pick(r, 3); i > 0; i--)
        if (add_output(c, any(&s)))
            return -1;
    if (chance(r, 20) && c->n_inputs > 0 && add_output(c, c->inputs[c->n_inputs - 1].node))
        return -1;
    if (chance(r, 20) && n_ps > 0 && add_output(c, ps[pick(r, n_ps)]))
        return -1;
    if (chance(r, 10) && add_output(c, c->outputs[c->n_outputs - 1 - pick(r, c->n_outputs)]))
        return -1; /* the same node twice */
    if (chance(r, 5) && add_output(c, nb_scalar(s.g, s.dt, 0.5)))
        return -1;
    c->n_subgraphs++;
    return nb_graph_error(s.g) ? -1 : 0;
}
