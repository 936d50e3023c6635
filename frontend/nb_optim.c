/* nb_optim.c — optimizer builders (SGD, Adam, AdamW): append the nodes of one step of
 * torch.optim's algorithm (PyTorch 1.13) and return the updates of the parameters and of
 * the optimizer's state, which lives in parameters named "<param>.<state>".
 *
 * The elementwise work follows torch's order of operations in the parameter's dtype;
 * the scalar coefficients (bias corrections, step size, decay factor) are computed in
 * double, as torch computes them in Python floats, then rounded to the parameter's dtype
 * once, as torch rounds a Python scalar when it meets a tensor. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

/* Which algorithm a shared helper serves, and its name for error messages. */
typedef enum optim_kind { OPTIM_SGD, OPTIM_ADAM, OPTIM_ADAMW } optim_kind;

static const char *const optim_names[] = {"sgd", "adam", "adamw"};

/* x converted to dt (x itself when it already is). */
static nb_node *to_dtype(nb_graph *g, nb_node *x, nb_dtype dt)
{
    return x && x->dtype == dt ? x : nb_cast(g, x, dt);
}

/* A rank-0 f64 value rounded to dt, as torch rounds a Python float scalar. */
static nb_node *coef(nb_graph *g, nb_node *x64, nb_dtype dt)
{
    return to_dtype(g, x64, dt);
}

/* Checks entry i of check_args' lists; seen[k] is 1 + the entry that listed the
 * parameter of leaf index k, or 0 (a table, not a scan of the earlier entries: models
 * have thousands of parameters). 0 or -1 (recorded). */
static int check_param(nb_graph *g, const char *op, nb_node *const *params, nb_node *const *grads,
                       int i, int *seen, const char *const *state, int n_state)
{
    char t[IR_TYPE_STR_MAX], u[IR_TYPE_STR_MAX];
    const ir_node *p = params[i], *d = grads[i];
    if (!p || !d)
        return ir_error(g, "%s: %s %d is NULL", op, !p ? "parameter" : "gradient", i);
    if (p->graph != g || d->graph != g)
        return ir_error(g, "%s: entry %d belongs to another graph", op, i);
    if (p->op != IR_OP_PARAM)
        return ir_error(g, "%s: entry %d, %s, is not a parameter", op, i,
                        ir_node_str(p, t, sizeof t));
    if (!ir_is_float(p->dtype))
        return ir_error(g, "%s: parameter '%.100s' is %s; expected a float dtype", op, p->name,
                        ir_type_str(p, t, sizeof t));
    if (d->dtype != p->dtype || !ir_same_shape(d, p))
        return ir_error(g, "%s: the gradient of parameter '%.100s' is %s; expected %s", op, p->name,
                        ir_type_str(d, t, sizeof t), ir_type_str(p, u, sizeof u));
    if (seen[p->leaf_index])
        return ir_error(g, "%s: parameter '%.100s' is given twice (entries %d and %d)", op, p->name,
                        seen[p->leaf_index] - 1, i);
    seen[p->leaf_index] = i + 1;
    for (int s = 0; s < n_state; s++) {
        /* A lookup in the graph's name index, not a scan: this runs per parameter. */
        size_t len = strlen(p->name) + strlen(state[s]) + 2;
        char *name = ir_malloc(len);
        if (!name)
            return ir_oom(g);
        snprintf(name, len, "%s.%s", p->name, state[s]);
        int taken = ir_leaf_find(g, IR_OP_PARAM, name) != NULL;
        free(name);
        if (taken)
            return ir_error(g,
                            "%s: the state '%.100s.%s' of parameter '%.100s' already "
                            "exists (is the parameter given twice, or to two optimizers?)",
                            op, p->name, state[s], p->name);
    }
    return 0;
}

/* Checks what every optimizer checks: the graph, lr, the lists, each parameter and its
 * gradient, room for per_param updates per parameter, and that no state name of a
 * parameter is taken: state lists the n_state suffixes the optimizer will create.
 * 0 or -1 (recorded). */
static int check_args(nb_graph *g, optim_kind kind, nb_node *lr, nb_node *const *params,
                      nb_node *const *grads, int n, nb_update *updates, int cap, int per_param,
                      const char *const *state, int n_state)
{
    const char *op = optim_names[kind];
    char t[IR_TYPE_STR_MAX];
    if (!g || g->error)
        return -1;
    if (!lr)
        return ir_error(g, "%s: the learning rate is NULL", op);
    if (lr->graph != g)
        return ir_error(g, "%s: the learning rate belongs to another graph", op);
    if (!ir_is_float(lr->dtype) || lr->rank != 0)
        return ir_error(g, "%s: the learning rate is %s; expected a float scalar (f32[] or f64[])",
                        op, ir_type_str(lr, t, sizeof t));
    if (n < 0)
        return ir_error(g, "%s: the number of parameters %d is negative", op, n);
    if (n > 0 && (!params || !grads))
        return ir_error(g, "%s: the %s list is NULL", op, !params ? "parameter" : "gradient");
    if (cap < 0 || (cap > 0 && !updates))
        return ir_error(g, "%s: the updates array is NULL or its capacity %d is negative", op, cap);
    if (cap / per_param < n)
        return ir_error(g,
                        "%s: the updates array has room for %d updates; %d parameters need %d (%d "
                        "per parameter)",
                        op, cap, n, n * per_param, per_param);
    int *seen = ir_calloc((size_t)g->n_params + 1, sizeof *seen);
    if (!seen)
        return ir_oom(g);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++)
        rc = check_param(g, op, params, grads, i, seen, state, n_state);
    free(seen);
    return rc;
}

/* A state parameter "<p's name>.<suffix>" of dtype dt (p's shape, or rank 0), of the
 * optimizer kind: nb_program_save_params leaves it out. */
static nb_node *state_param(nb_graph *g, const nb_node *p, const char *suffix, nb_dtype dt,
                            int scalar)
{
    size_t len = strlen(p->name) + strlen(suffix) + 2;
    char *name = ir_malloc(len);
    if (!name) {
        ir_oom(g);
        return NULL;
    }
    snprintf(name, len, "%s.%s", p->name, suffix);
    nb_node *s = nb_param(g, name, dt, scalar ? 0 : p->rank, p->shape);
    free(name);
    if (s)
        s->attr.k = IR_PARAM_OPTIMIZER;
    return s;
}

/* Records update {param, value}; returns -1 when value is poisoned. */
static int push(nb_update *updates, int *k, nb_node *param, nb_node *value)
{
    if (!param || !value)
        return -1;
    updates[*k].param = param;
    updates[*k].value = value;
    (*k)++;
    return 0;
}

/* Follows torch.optim._single_tensor_sgd:
 *   d_p = grad (negated with maximize); d_p = d_p + weight_decay * param
 *   buf = d_p on the first step, else buf * momentum + (1 - dampening) * d_p
 *   d_p = nesterov ? d_p + momentum * buf : buf
 *   param = param + (-lr) * d_p
 * The first step needs telling apart only when dampening != 0: buffers start at zero,
 * so 0 * momentum + 1 * d_p is d_p exactly. Then a "step" counter says which it is. */
int nb_sgd(nb_graph *g, nb_node *lr, nb_node *const *params, nb_node *const *grads, int n,
           const nb_sgd_options *o, nb_update *updates, int cap)
{
    static const char *const state[] = {"momentum_buffer", "step"};
    nb_sgd_options opt = {0};
    if (!g || g->error)
        return -1;
    if (o)
        opt = *o;
    if (!(opt.momentum >= 0) || !isfinite(opt.momentum))
        return ir_error(g, "sgd: invalid momentum %g; expected a finite value >= 0", opt.momentum);
    if (!isfinite(opt.dampening))
        return ir_error(g, "sgd: invalid dampening %g; expected a finite value", opt.dampening);
    if (!(opt.weight_decay >= 0) || !isfinite(opt.weight_decay))
        return ir_error(g, "sgd: invalid weight_decay %g; expected a finite value >= 0",
                        opt.weight_decay);
    if (opt.nesterov && (opt.momentum <= 0 || opt.dampening != 0))
        return ir_error(g,
                        "sgd: nesterov momentum requires a momentum > 0 and zero dampening "
                        "(momentum %g, dampening %g)",
                        opt.momentum, opt.dampening);
    int has_buf = opt.momentum != 0, has_step = has_buf && opt.dampening != 0;
    if (check_args(g, OPTIM_SGD, lr, params, grads, n, updates, cap, 1 + has_buf + has_step, state,
                   has_buf + has_step) != 0)
        return -1;
    nb_node *lr64 = to_dtype(g, lr, NB_F64);
    nb_node *neg_lr64 = nb_neg(g, lr64);
    int k = 0;
    for (int i = 0; i < n; i++) {
        nb_node *p = params[i];
        nb_dtype dt = p->dtype;
        nb_node *d = opt.maximize ? nb_neg(g, grads[i]) : grads[i];
        if (opt.weight_decay != 0)
            d = nb_add(g, d, nb_mul(g, nb_scalar(g, dt, opt.weight_decay), p));
        if (has_buf) {
            nb_node *buf = state_param(g, p, "momentum_buffer", dt, 0);
            nb_node *next = nb_mul(g, buf, nb_scalar(g, dt, opt.momentum));
            next = nb_add(g, next, nb_mul(g, nb_scalar(g, dt, 1 - opt.dampening), d));
            if (has_step) {
                nb_node *step = state_param(g, p, "step", NB_F32, 1);
                nb_node *first = nb_eq(g, step, nb_scalar(g, NB_F32, 0));
                next = nb_where(g, first, d, next);
                if (push(updates, &k, step, nb_add(g, step, nb_scalar(g, NB_F32, 1))) != 0)
                    return -1;
            }
            if (push(updates, &k, buf, next) != 0)
                return -1;
            d = opt.nesterov ? nb_add(g, d, nb_mul(g, nb_scalar(g, dt, opt.momentum), next)) : next;
        }
        nb_node *value = nb_add(g, p, nb_mul(g, coef(g, neg_lr64, dt), d));
        if (push(updates, &k, p, value) != 0)
            return -1;
    }
    return g->error ? -1 : k;
}

nb_adam_options nb_adam_default_options(void)
{
    nb_adam_options o = {0.9, 0.999, 1e-8, 0, 0, 0};
    return o;
}

nb_adam_options nb_adamw_default_options(void)
{
    nb_adam_options o = {0.9, 0.999, 1e-8, 1e-2, 0, 0};
    return o;
}

/* Follows torch.optim._single_tensor_adam (and _adamw with decoupled = 1):
 *   step = step + 1
 *   grad (negated with maximize); Adam: grad = grad + weight_decay * param
 *   AdamW: param = param * (1 - lr * weight_decay)
 *   exp_avg = exp_avg * beta1 + (1 - beta1) * grad
 *   exp_avg_sq = exp_avg_sq * beta2 + (1 - beta2) * grad * grad
 *   bc1 = 1 - beta1^step, bc2 = 1 - beta2^step, step_size = lr / bc1   (double)
 *   amsgrad: max_exp_avg_sq = max(max_exp_avg_sq, exp_avg_sq), used for the denominator
 *   denom = sqrt(exp_avg_sq) / sqrt(bc2) + eps
 *   param = param + (-step_size) * exp_avg / denom */
static int adam(nb_graph *g, optim_kind kind, nb_node *lr, nb_node *const *params,
                nb_node *const *grads, int n, const nb_adam_options *o, nb_update *updates, int cap)
{
    static const char *const state[] = {"exp_avg", "exp_avg_sq", "step", "max_exp_avg_sq"};
    const char *op = optim_names[kind];
    int decoupled = kind == OPTIM_ADAMW;
    if (!g || g->error)
        return -1;
    nb_adam_options opt = o           ? *o
                          : decoupled ? nb_adamw_default_options()
                                      : nb_adam_default_options();
    if (!(opt.beta1 >= 0 && opt.beta1 < 1))
        return ir_error(g, "%s: invalid beta1 %g; expected a value in [0, 1)", op, opt.beta1);
    if (!(opt.beta2 >= 0 && opt.beta2 < 1))
        return ir_error(g, "%s: invalid beta2 %g; expected a value in [0, 1)", op, opt.beta2);
    if (!(opt.eps >= 0) || !isfinite(opt.eps))
        return ir_error(g, "%s: invalid epsilon %g; expected a finite value >= 0", op, opt.eps);
    if (!(opt.weight_decay >= 0) || !isfinite(opt.weight_decay))
        return ir_error(g, "%s: invalid weight_decay %g; expected a finite value >= 0", op,
                        opt.weight_decay);
    if (check_args(g, kind, lr, params, grads, n, updates, cap, opt.amsgrad ? 5 : 4, state,
                   opt.amsgrad ? 4 : 3) != 0)
        return -1;
    nb_node *lr64 = to_dtype(g, lr, NB_F64);
    nb_node *one64 = nb_scalar(g, NB_F64, 1);
    /* 1 - lr * weight_decay, shared by every parameter. */
    nb_node *decay64 = NULL;
    if (decoupled)
        decay64 = nb_sub(g, one64, nb_mul(g, lr64, nb_scalar(g, NB_F64, opt.weight_decay)));
    int k = 0;
    for (int i = 0; i < n; i++) {
        nb_node *p = params[i];
        nb_dtype dt = p->dtype;
        nb_node *m = state_param(g, p, "exp_avg", dt, 0);
        nb_node *v = state_param(g, p, "exp_avg_sq", dt, 0);
        nb_node *step = state_param(g, p, "step", NB_F32, 1);
        nb_node *vmax = opt.amsgrad ? state_param(g, p, "max_exp_avg_sq", dt, 0) : NULL;

        nb_node *t = nb_add(g, step, nb_scalar(g, NB_F32, 1));
        nb_node *gr = opt.maximize ? nb_neg(g, grads[i]) : grads[i];
        if (!decoupled && opt.weight_decay != 0)
            gr = nb_add(g, gr, nb_mul(g, nb_scalar(g, dt, opt.weight_decay), p));
        nb_node *p0 = decoupled ? nb_mul(g, p, coef(g, decay64, dt)) : p;

        nb_node *m1 = nb_add(g, nb_mul(g, m, nb_scalar(g, dt, opt.beta1)),
                             nb_mul(g, nb_scalar(g, dt, 1 - opt.beta1), gr));
        nb_node *v1 = nb_add(g, nb_mul(g, v, nb_scalar(g, dt, opt.beta2)),
                             nb_mul(g, nb_mul(g, nb_scalar(g, dt, 1 - opt.beta2), gr), gr));

        nb_node *t64 = to_dtype(g, t, NB_F64);
        nb_node *bc1 = nb_sub(g, one64, nb_pow(g, nb_scalar(g, NB_F64, opt.beta1), t64));
        nb_node *bc2 = nb_sub(g, one64, nb_pow(g, nb_scalar(g, NB_F64, opt.beta2), t64));
        nb_node *neg_step_size = nb_neg(g, nb_div(g, lr64, bc1));

        nb_node *vmax1 = opt.amsgrad ? nb_maximum(g, vmax, v1) : v1;
        nb_node *denom = nb_div(g, nb_sqrt(g, vmax1), coef(g, nb_sqrt(g, bc2), dt));
        denom = nb_add(g, denom, nb_scalar(g, dt, opt.eps));
        nb_node *value = nb_add(g, p0, nb_div(g, nb_mul(g, coef(g, neg_step_size, dt), m1), denom));

        if (push(updates, &k, p, value) != 0 || push(updates, &k, m, m1) != 0 ||
            push(updates, &k, v, v1) != 0 || (vmax && push(updates, &k, vmax, vmax1) != 0) ||
            push(updates, &k, step, t) != 0)
            return -1;
    }
    return g->error ? -1 : k;
}

int nb_adam(nb_graph *g, nb_node *lr, nb_node *const *params, nb_node *const *grads, int n,
            const nb_adam_options *o, nb_update *updates, int cap)
{
    return adam(g, OPTIM_ADAM, lr, params, grads, n, o, updates, cap);
}

int nb_adamw(nb_graph *g, nb_node *lr, nb_node *const *params, nb_node *const *grads, int n,
             const nb_adam_options *o, nb_update *updates, int cap)
{
    return adam(g, OPTIM_ADAMW, lr, params, grads, n, o, updates, cap);
}
