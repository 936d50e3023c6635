/* nb_norm.c — layer, group and batch normalisation: the statistics of each group in one
 * kernel (norm_stats), then (x - mean) * rstd (normalize) and the affine as one fused
 * elementwise kernel; the backward through the statistics is one kernel (norm_grad). */
#include <math.h>

#include "ir.h"

/* Checks x: not NULL, a float, at least min_rank axes. 0, or -1 with the error recorded. */
static int check_x(nb_graph *g, const char *op, const nb_node *x, int min_rank)
{
    char t[IR_TYPE_STR_MAX];
    if (!g || g->error)
        return -1;
    if (!x)
        return ir_error(g, "%s: the input is NULL", op);
    if (x->graph != g)
        return ir_error(g, "%s: the input belongs to another graph", op);
    if (!ir_is_float(x->dtype))
        return ir_error(g, "%s: expected an f32 or f64 input, got %s", op,
                        ir_type_str(x, t, sizeof t));
    if (x->rank < min_rank)
        return ir_error(g, "%s: the input %s has fewer than %d axes", op,
                        ir_type_str(x, t, sizeof t), min_rank);
    return 0;
}

/* Checks an optional per-feature tensor v (weight, bias, running statistics): NULL, or
 * of x's dtype and the shape shape[0..rank). */
static int check_feature(nb_graph *g, const char *op, const char *what, const nb_node *v,
                         const nb_node *x, int rank, const int64_t *shape)
{
    char t[IR_TYPE_STR_MAX], want[IR_TYPE_STR_MAX];
    if (!v)
        return 0;
    if (v->graph != g)
        return ir_error(g, "%s: %s belongs to another graph", op, what);
    if (v->dtype != x->dtype || v->rank != rank ||
        (rank && memcmp(v->shape, shape, (size_t)rank * sizeof *shape) != 0))
        return ir_error(g, "%s: %s is %s; expected %s", op, what, ir_type_str(v, t, sizeof t),
                        ir_format_type(x->dtype, rank, shape, want, sizeof want));
    return 0;
}

static int check_eps(nb_graph *g, const char *op, double eps)
{
    if (!(eps >= 0 && eps < INFINITY))
        return ir_error(g, "%s: eps %g must be finite and >= 0", op, eps);
    return 0;
}

/* x * w + b for the optional w and b (NULL: left out), reshaped to `rank` axes of
 * `shape` so that they broadcast against x. */
static nb_node *affine(nb_graph *g, nb_node *y, nb_node *w, nb_node *b, int rank,
                       const int64_t *shape)
{
    if (w)
        y = ir_mul(g, y, ir_reshape(g, w, rank, shape));
    if (b)
        y = ir_add(g, y, ir_reshape(g, b, rank, shape));
    return y;
}

/* norm_stats of x over axes (eps as given), and normalize(x, mean, rstd) with its rows. */
static nb_node *normalize(nb_graph *g, nb_node *x, uint32_t axes, double eps, nb_node **stats)
{
    ir_attr attr = {0};
    attr.axes = axes;
    attr.f[0] = eps;
    nb_node *s = ir_make1(g, IR_OP_NORM_STATS, x, &attr);
    if (stats)
        *stats = s;
    return ir_make3(g, IR_OP_NORMALIZE, x, ir_norm_row(g, s, 0), ir_norm_row(g, s, 2), NULL);
}

nb_node *nb_layer_norm(nb_graph *g, nb_node *x, int normalized_rank, nb_node *weight, nb_node *bias,
                       double eps)
{
    const char *op = "layer_norm";
    if (check_x(g, op, x, 1) != 0)
        return NULL;
    if (normalized_rank < 1 || normalized_rank > x->rank) {
        char t[IR_TYPE_STR_MAX];
        ir_error(g, "layer_norm: normalized_rank %d for %s; expected 1 to %d", normalized_rank,
                 ir_type_str(x, t, sizeof t), x->rank);
        return NULL;
    }
    const int64_t *tail = x->shape + x->rank - normalized_rank;
    if (check_feature(g, op, "weight", weight, x, normalized_rank, tail) != 0 ||
        check_feature(g, op, "bias", bias, x, normalized_rank, tail) != 0 ||
        check_eps(g, op, eps) != 0)
        return NULL;
    uint32_t axes = ((1u << normalized_rank) - 1) << (x->rank - normalized_rank);
    return affine(g, normalize(g, x, axes, eps, NULL), weight, bias, normalized_rank, tail);
}

/* The elements of x past its first two axes (1 when it has none). */
static int64_t spatial(const nb_node *x)
{
    int64_t s = 1;
    for (int d = 2; d < x->rank; d++)
        s *= x->shape[d];
    return s;
}

nb_node *nb_group_norm(nb_graph *g, nb_node *x, int num_groups, nb_node *weight, nb_node *bias,
                       double eps)
{
    const char *op = "group_norm";
    char t[IR_TYPE_STR_MAX];
    if (check_x(g, op, x, 2) != 0)
        return NULL;
    int64_t c = x->shape[1];
    if (num_groups < 1 || c % num_groups != 0) {
        ir_error(g, "group_norm: %d groups for %s; expected a divisor of its %lld channels",
                 num_groups, ir_type_str(x, t, sizeof t), (long long)c);
        return NULL;
    }
    if (check_feature(g, op, "weight", weight, x, 1, &c) != 0 ||
        check_feature(g, op, "bias", bias, x, 1, &c) != 0 || check_eps(g, op, eps) != 0)
        return NULL;
    /* x as [N, G, C / G, S]: statistics per (n, g) over the last two axes, and the
     * per-channel affine as [G, C / G, 1] in the same fused loop. */
    int64_t view[4] = {x->shape[0], num_groups, c / num_groups, spatial(x)};
    int64_t feature[3] = {num_groups, c / num_groups, 1};
    nb_node *y = normalize(g, ir_reshape(g, x, 4, view), 3u << 2, eps, NULL);
    y = affine(g, y, weight, bias, 3, feature);
    return ir_reshape(g, y, x->rank, x->shape);
}

/* (1 - momentum) * running + momentum * stat, the stat behind stop_gradient. */
static nb_node *running_update(nb_graph *g, nb_node *running, nb_node *stat, double momentum)
{
    stat =
        ir_make1(g, IR_OP_STOP_GRADIENT, ir_reshape(g, stat, running->rank, running->shape), NULL);
    return ir_add(g, ir_mul(g, running, ir_scalar_like(g, running, 1.0 - momentum)),
                  ir_mul(g, stat, ir_scalar_like(g, running, momentum)));
}

nb_node *nb_batch_norm(nb_graph *g, nb_node *x, nb_node *running_mean, nb_node *running_var,
                       nb_node *weight, nb_node *bias, int training, double momentum, double eps,
                       nb_node **new_running_mean, nb_node **new_running_var)
{
    const char *op = "batch_norm";
    char t[IR_TYPE_STR_MAX];
    if (new_running_mean)
        *new_running_mean = NULL;
    if (new_running_var)
        *new_running_var = NULL;
    if (check_x(g, op, x, 2) != 0)
        return NULL;
    int64_t c = x->shape[1];
    if (check_feature(g, op, "weight", weight, x, 1, &c) != 0 ||
        check_feature(g, op, "bias", bias, x, 1, &c) != 0 ||
        check_feature(g, op, "running_mean", running_mean, x, 1, &c) != 0 ||
        check_feature(g, op, "running_var", running_var, x, 1, &c) != 0 ||
        check_eps(g, op, eps) != 0)
        return NULL;
    if (!running_mean != !running_var) {
        ir_error(g, "batch_norm: give both running_mean and running_var, or neither");
        return NULL;
    }
    if (!training && !running_mean) {
        ir_error(g, "batch_norm: eval mode (training 0) needs running_mean and running_var");
        return NULL;
    }
    if (training && running_mean && !(momentum >= 0 && momentum <= 1)) {
        ir_error(g, "batch_norm: momentum %g; expected a number in [0, 1]", momentum);
        return NULL;
    }
    int64_t count = x->shape[0] * spatial(x);
    if (training && count <= 1) {
        ir_error(g, "batch_norm: %s has %lld value per channel; training needs more than 1",
                 ir_type_str(x, t, sizeof t), (long long)count);
        return NULL;
    }
    /* Statistics per channel over every other axis of x itself (no reshape: the outputs
     * and gradients keep x's shape, so none is copied), the per-channel tensors as
     * [C, 1, ...] to broadcast against x's axes from 1 on. */
    int64_t feature[NB_MAX_RANK];
    feature[0] = c;
    for (int d = 1; d < x->rank - 1; d++)
        feature[d] = 1;
    int fr = x->rank - 1;
    nb_node *y;
    if (training) {
        nb_node *s;
        y = normalize(g, x, ((1u << x->rank) - 1) & ~2u, eps, &s);
        if (running_mean) {
            /* The running variance takes the unbiased variance, as torch does. */
            nb_node *var = ir_mul(g, ir_norm_row(g, s, 1),
                                  ir_scalar_like(g, x, (double)count / (double)(count - 1)));
            nb_node *m = running_update(g, running_mean, ir_norm_row(g, s, 0), momentum);
            nb_node *v = running_update(g, running_var, var, momentum);
            if (new_running_mean)
                *new_running_mean = m;
            if (new_running_var)
                *new_running_var = v;
        }
    } else {
        nb_node *rstd =
            ir_make1(g, IR_OP_RSQRT, ir_add(g, running_var, ir_scalar_like(g, x, eps)), NULL);
        y = ir_make3(g, IR_OP_NORMALIZE, x, ir_reshape(g, running_mean, fr, feature),
                     ir_reshape(g, rstd, fr, feature), NULL);
    }
    return affine(g, y, weight, bias, fr, feature);
}
