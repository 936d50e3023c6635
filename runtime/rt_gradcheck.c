/* rt_gradcheck.c — nb_gradcheck: the gradients of a scalar node against central finite
 * differences, in f64 on a widened copy of the graph (ir_widen), compiled once and run
 * four times per element. It lives in runtime/ because it compiles and runs a program. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"

/* Bytes of a node's name as a message quotes it (escaped, then cut). */
#define CHK_NAME_MAX 64

nb_gradcheck_options nb_gradcheck_default_options(void)
{
    nb_gradcheck_options o;
    memset(&o, 0, sizeof o);
    o.eps = 1e-6;
    o.atol = 1e-5;
    o.rtol = 1e-4;
    o.kink_tol = 1e-3;
    o.n_points = 2;
    o.seed = 0x5eed;
    o.lo = -2.0;
    o.hi = 2.0;
    o.backend = NB_BACKEND_TCC;
    return o;
}

/* One input or parameter of the copy: where its values live and where they come from. */
typedef struct chk_leaf {
    const ir_node *node;             /* in the copy */
    void *buf;                       /* inputs: ours, bound to the program; params: the program's */
    const nb_gradcheck_value *value; /* the caller's entry, or NULL */
} chk_leaf;

typedef struct chk {
    const nb_gradcheck_options *o;
    nb_gradcheck_result *r;
    ir_graph *h; /* the widened copy */
    nb_program *p;
    int n;
    ir_node **wrt; /* in the copy */
    int n_leaves;  /* inputs, then parameters */
    chk_leaf *leaves;
    double **analytic;  /* per wrt: the gradient at the current point */
    double worst_score; /* the worst element's error / tolerance */
    int worst_ok;
    char y_name[CHK_NAME_MAX];
    ir_rng rng;
} chk;

static int chk_fail(nb_gradcheck_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Writes "nb_gradcheck: <fmt>" to r's message; returns -1. */
static int chk_fail(nb_gradcheck_result *r, const char *fmt, ...)
{
    va_list ap;
    int len = snprintf(r->message, sizeof r->message, "nb_gradcheck: ");
    va_start(ap, fmt);
    vsnprintf(r->message + len, sizeof r->message - (size_t)len, fmt, ap);
    va_end(ap);
    return -1;
}

/* The node's name, escaped and cut, or "node <id>". */
static const char *chk_name(const ir_node *v, char *buf)
{
    char esc[IR_ESCAPED_NAME_MAX];
    if (v->name)
        snprintf(buf, CHK_NAME_MAX, "%s", ir_escape_name(v->name, esc, sizeof esc));
    else
        snprintf(buf, CHK_NAME_MAX, "node %d", v->id);
    return buf;
}

/* Checks everything the caller passed in; 0, or -1 with the message in r. */
static int chk_args(nb_graph *g, nb_node *y, nb_node *const *wrt, int n,
                    const nb_gradcheck_options *o, nb_gradcheck_result *r)
{
    char t[IR_TYPE_STR_MAX], u[IR_TYPE_STR_MAX];
    if (!g)
        return chk_fail(r, "the graph is NULL");
    if (g->error)
        return chk_fail(r, "the graph has an error: %.400s", g->error);
    if (!y || y->graph != g)
        return chk_fail(r, "y is %s", !y ? "NULL" : "a node of another graph");
    if (!ir_is_float(y->dtype) || y->numel != 1)
        return chk_fail(
            r, "y (node %d) is %s, not a float scalar: check a sum or a weighted sum of it", y->id,
            ir_type_str(y, t, sizeof t));
    if (n < 1 || !wrt)
        return chk_fail(r, "%s", !wrt ? "wrt is NULL" : "n must be at least 1");
    for (int i = 0; i < n; i++) {
        const ir_node *x = wrt[i];
        if (!x || x->graph != g)
            return chk_fail(r, "wrt[%d] is %s", i, !x ? "NULL" : "a node of another graph");
        if (x->op != IR_OP_INPUT && x->op != IR_OP_PARAM)
            return chk_fail(r, "wrt[%d] (node %d, %s) is not an input or a parameter", i, x->id,
                            ir_op_defs[x->op].name);
        if (!ir_is_float(x->dtype))
            return chk_fail(r, "wrt[%d] (node %d) is %s: only float leaves have gradients", i,
                            x->id, ir_type_str(x, t, sizeof t));
        const ir_node *d = o->grads ? o->grads[i] : NULL;
        if (o->grads && (!d || d->graph != g))
            return chk_fail(r, "grads[%d] is %s", i, !d ? "NULL" : "a node of another graph");
        if (d && (!ir_is_float(d->dtype) || !ir_same_shape(d, x)))
            return chk_fail(r, "grads[%d] (node %d) is %s, wrt[%d] is %s", i, d->id,
                            ir_type_str(d, t, sizeof t), i, ir_type_str(x, u, sizeof u));
    }
    if (!(o->eps > 0 && isfinite(o->eps)) || !(o->atol >= 0) || !(o->rtol >= 0) ||
        !(o->kink_tol > 0) || o->n_points < 1 || o->max_elements < 0 ||
        !(isfinite(o->lo) && isfinite(o->hi) && o->lo <= o->hi))
        return chk_fail(r,
                        "bad options: eps %g (> 0), atol %g, rtol %g (>= 0), kink_tol %g (> 0), "
                        "n_points %d (>= 1), max_elements %lld (>= 0), range [%g, %g]",
                        o->eps, o->atol, o->rtol, o->kink_tol, o->n_points,
                        (long long)o->max_elements, o->lo, o->hi);
    if (o->n_values < 0 || (o->n_values > 0 && !o->values))
        return chk_fail(r, "values is NULL or n_values = %d is negative", o->n_values);
    for (int i = 0; i < o->n_values; i++) {
        const nb_gradcheck_value *v = &o->values[i];
        const ir_node *x = v->leaf;
        if (!x || x->graph != g || (x->op != IR_OP_INPUT && x->op != IR_OP_PARAM))
            return chk_fail(r, "values[%d].leaf is %s", i,
                            !x              ? "NULL"
                            : x->graph != g ? "a node of another graph"
                                            : "not an input or a parameter");
        if (!v->data && !(isfinite(v->lo) && isfinite(v->hi) && v->lo <= v->hi))
            return chk_fail(r, "values[%d] has no data and a bad range [%g, %g]", i, v->lo, v->hi);
        for (int64_t e = 0; v->data && x->dtype == NB_I32 && e < x->numel; e++)
            if (!(v->data[e] >= INT32_MIN && v->data[e] <= INT32_MAX) ||
                v->data[e] != floor(v->data[e]))
                return chk_fail(r, "values[%d].data[%lld] = %g is not an i32 value", i,
                                (long long)e, v->data[e]);
    }
    return 0;
}

/* Builds the copy, its gradients and the program; finds every leaf's buffer. */
static int chk_build(chk *c, nb_graph *g, nb_node *y, nb_node *const *wrt)
{
    const nb_gradcheck_options *o = c->o;
    ir_node **map = ir_calloc((size_t)g->n_nodes + 1, sizeof *map);
    ir_node **outs = ir_calloc((size_t)c->n + 1, sizeof *outs);
    int rc = -1;
    /* The copy reruns shape rules that accepted these nodes, with every float operand
     * now f64 alike: only running out of memory fails it. */
    if (!map || !outs || !(c->h = ir_widen(g, map))) {
        chk_fail(c->r, "out of memory");
        goto done;
    }
    for (int i = 0; i < c->n; i++) {
        c->wrt[i] = map[wrt[i]->id];
        if (o->grads)
            outs[i + 1] = map[o->grads[i]->id];
    }
    outs[0] = map[y->id];
    if (!o->grads && ir_vjp(c->h, outs[0], NULL, c->wrt, c->n, outs + 1) != 0) {
        chk_fail(c->r, "the gradient of %s: %.400s", c->y_name, c->h->error);
        goto done;
    }
    /* Random nodes draw the same numbers at every run of the check (a dropout mask
     * stays put while x moves): their step counter is held, not advanced. */
    nb_update hold = {ir_leaf_find(c->h, IR_OP_PARAM, NB_RNG_STEP_NAME), NULL};
    hold.value = hold.param;
    nb_compile_options copt = {.outputs = outs,
                               .n_outputs = c->n + 1,
                               .updates = hold.param ? &hold : NULL,
                               .n_updates = hold.param != NULL,
                               .backend = o->backend,
                               .denormals = NB_DENORMALS_IEEE,
                               .threads = 1};
    if (!(c->p = nb_compile(c->h, &copt))) {
        chk_fail(c->r, "compiling the check: %.400s", nb_graph_error(c->h));
        goto done;
    }
    c->n_leaves = c->h->n_inputs + c->h->n_params;
    if (!(c->leaves = ir_calloc((size_t)c->n_leaves + 1, sizeof *c->leaves))) {
        chk_fail(c->r, "out of memory");
        goto done;
    }
    for (int id = 0; id < c->h->n_nodes; id++) {
        const ir_node *v = c->h->nodes[id];
        if (v->op != IR_OP_INPUT && v->op != IR_OP_PARAM)
            continue;
        chk_leaf *l =
            &c->leaves[v->op == IR_OP_INPUT ? v->leaf_index : c->h->n_inputs + v->leaf_index];
        l->node = v;
        for (int i = 0; i < o->n_values; i++)
            if (map[o->values[i].leaf->id] == v)
                l->value = &o->values[i];
        if (v->op == IR_OP_PARAM) {
            l->buf = nb_program_param_data(c->p, v->leaf_index);
        } else if (!(l->buf = ir_calloc((size_t)v->numel, ir_dtype_size(v->dtype)))) {
            chk_fail(c->r, "out of memory");
            goto done;
        } else if (nb_program_bind_index(c->p, v->leaf_index, l->buf) != 0) {
            chk_fail(c->r, "binding input %d: %.400s", v->leaf_index, nb_program_error(c->p));
            goto done;
        }
    }
    for (int i = 0; i < c->n; i++)
        if (!(c->analytic[i] = ir_malloc((size_t)c->wrt[i]->numel * sizeof(double)))) {
            chk_fail(c->r, "out of memory");
            goto done;
        }
    rc = 0;
done:
    free(map);
    free(outs);
    return rc;
}

/* Gives every leaf its value at the next point: the caller's data, or a draw. */
static void chk_fill(chk *c)
{
    for (int k = 0; k < c->n_leaves; k++) {
        const chk_leaf *l = &c->leaves[k];
        const nb_gradcheck_value *v = l->value;
        double lo = v ? v->lo : c->o->lo, hi = v ? v->hi : c->o->hi;
        for (int64_t e = 0; e < l->node->numel; e++) {
            double x = v && v->data ? v->data[e] : lo + (hi - lo) * ir_rng_uniform(&c->rng);
            if (l->node->dtype == NB_F64)
                ((double *)l->buf)[e] = x;
            else if (l->node->dtype == NB_I32)
                ((int32_t *)l->buf)[e] = (int32_t)(v && v->data ? x : fmin(floor(x), hi - 1));
            else
                ((unsigned char *)l->buf)[e] =
                    v && v->data ? x != 0 : ir_rng_uniform(&c->rng) < 0.5;
        }
    }
}

/* Runs the program: y's value, or -1 with the message in r. */
static int chk_run(chk *c, int point, double *y)
{
    if (nb_program_run(c->p) != 0)
        return chk_fail(c->r, "running the check at point %d: %.400s", point,
                        nb_program_error(c->p));
    *y = *(const double *)nb_program_output(c->p, 0);
    return 0;
}

/* Compares one element and keeps it when it is the worst so far. */
static void chk_compare(chk *c, int k, int64_t e, int point, double a, double num)
{
    nb_gradcheck_result *r = c->r;
    double err = fabs(a - num), tol = c->o->atol + c->o->rtol * fmax(fabs(a), fabs(num));
    int ok = err <= tol; /* false for NaN */
    double score = isnan(err) ? HUGE_VAL : tol > 0 ? err / tol : err > 0 ? HUGE_VAL : 0;
    r->checked++;
    r->failed += !ok;
    if (r->wrt >= 0 && !(c->worst_ok && !ok) && !(ok == c->worst_ok && score > c->worst_score))
        return;
    c->worst_ok = ok;
    c->worst_score = score;
    r->wrt = k;
    r->element = e;
    r->point = point;
    r->analytic = a;
    r->numeric = num;
    r->error = err;
    r->tolerance = tol;
}

/* Whether the function is not smooth near the point: the central differences at h and
 * 4h disagree (a kink or a jump within 4h), or the one-sided ones at h do (a kink at the
 * point itself, where central differences at any step give the mean of the two slopes).
 * A NaN or an infinity is no kink: it is compared, and fails. */
static int chk_kink(const nb_gradcheck_options *o, const double *fd, const double *side)
{
    double tol = o->kink_tol * (1 + fabs(fd[0]));
    if (!isfinite(fd[0]) || !isfinite(fd[1]) || !isfinite(side[0]) || !isfinite(side[1]))
        return 0;
    return fabs(fd[0] - fd[1]) > tol || fabs(side[0] - side[1]) > tol;
}

/* Checks the gradients at one point; 0 (r counts what it found) or -1. */
static int chk_point(chk *c, int point)
{
    const nb_gradcheck_options *o = c->o;
    double y = 0, up = 0, down = 0; /* set by chk_run on success; gcc -O3 cannot tell */
    chk_fill(c);
    if (chk_run(c, point, &y) != 0)
        return -1;
    for (int k = 0; k < c->n; k++)
        memcpy(c->analytic[k], nb_program_output(c->p, k + 1),
               (size_t)c->wrt[k]->numel * sizeof(double));
    int checked = c->r->checked, skipped = c->r->skipped;
    for (int k = 0; k < c->n; k++) {
        const ir_node *w = c->wrt[k];
        double *x =
            c->leaves[w->op == IR_OP_INPUT ? w->leaf_index : c->h->n_inputs + w->leaf_index].buf;
        int64_t count = o->max_elements && o->max_elements < w->numel ? o->max_elements : w->numel;
        for (int64_t j = 0; j < count; j++) {
            int64_t e = count == w->numel ? j : (int64_t)ir_rng_below(&c->rng, (uint64_t)w->numel);
            double orig = x[e], fd[2], side[2] = {0, 0};
            for (int s = 0; s < 2; s++) {
                double h = o->eps * (s ? 4 : 1);
                x[e] = orig + h;
                int rc = chk_run(c, point, &up);
                x[e] = orig - h;
                rc |= chk_run(c, point, &down);
                x[e] = orig;
                if (rc)
                    return -1;
                fd[s] = (up - down) / (2 * h);
                if (s == 0) {
                    side[0] = (y - down) / h;
                    side[1] = (up - y) / h;
                }
            }
            if (chk_kink(o, fd, side)) {
                c->r->skipped++;
                continue;
            }
            chk_compare(c, k, e, point, c->analytic[k][e], fd[0]);
        }
    }
    if (c->r->checked == checked) {
        snprintf(c->r->message, sizeof c->r->message,
                 "d %s / d wrt: every element at point %d was skipped as not smooth (%d "
                 "skipped, none compared): choose other values or a larger kink_tol",
                 c->y_name, point, c->r->skipped - skipped);
        return 1;
    }
    return 0;
}

/* The report line of the worst element. */
static void chk_report(chk *c, nb_node *const *wrt)
{
    nb_gradcheck_result *r = c->r;
    char w[CHK_NAME_MAX], verdict[96];
    if (isnan(r->analytic) || isnan(r->numeric))
        snprintf(verdict, sizeof verdict, "%s is NaN",
                 isnan(r->analytic) && isnan(r->numeric) ? "each"
                 : isnan(r->analytic)                    ? "the analytic gradient"
                                                         : "the numeric gradient");
    else
        snprintf(verdict, sizeof verdict, "error %.3g %s %.3g", r->error,
                 r->failed ? "exceeds" : "within", r->tolerance);
    int len =
        snprintf(r->message, sizeof r->message,
                 "d %s / d %s[%lld]: analytic %.10g, numeric %.10g (%s)", c->y_name,
                 chk_name(wrt[r->wrt], w), (long long)r->element, r->analytic, r->numeric, verdict);
    if (len > 0 && (size_t)len < sizeof r->message) {
        if (r->failed)
            snprintf(r->message + len, sizeof r->message - (size_t)len,
                     " at point %d; %d of %d compared elements failed, %d skipped", r->point,
                     r->failed, r->checked, r->skipped);
        else
            snprintf(r->message + len, sizeof r->message - (size_t)len,
                     "; %d compared, %d skipped at %d point%s", r->checked, r->skipped, r->points,
                     r->points == 1 ? "" : "s");
    }
}

int nb_gradcheck(nb_graph *g, nb_node *y, nb_node *const *wrt, int n,
                 const nb_gradcheck_options *opt, nb_gradcheck_result *r)
{
    nb_gradcheck_result scratch;
    nb_gradcheck_options defaults = nb_gradcheck_default_options();
    chk c;
    int rc = -1;
    r = r ? r : &scratch;
    memset(r, 0, sizeof *r);
    memset(&c, 0, sizeof c);
    r->wrt = r->point = -1;
    r->element = -1;
    c.o = opt ? opt : &defaults;
    c.r = r;
    c.n = n;
    if (chk_args(g, y, wrt, n, c.o, r) != 0)
        return -1;
    chk_name(y, c.y_name);
    ir_rng_seed(&c.rng, c.o->seed);
    c.wrt = ir_calloc((size_t)n, sizeof *c.wrt);
    c.analytic = ir_calloc((size_t)n, sizeof *c.analytic);
    if (!c.wrt || !c.analytic) {
        chk_fail(r, "out of memory");
        goto done;
    }
    if (chk_build(&c, g, y, wrt) != 0)
        goto done;
    /* With every leaf's data given, each point would be the same one. */
    int random = 0;
    for (int k = 0; k < c.n_leaves; k++)
        random |= !c.leaves[k].value || !c.leaves[k].value->data;
    int points = random ? c.o->n_points : 1;
    for (int point = 0; point < points; point++) {
        r->points++;
        if ((rc = chk_point(&c, point)) != 0)
            goto done;
    }
    chk_report(&c, wrt);
    r->ok = r->failed == 0;
    rc = r->ok ? 0 : 1;
done:
    for (int k = 0; c.leaves && k < c.n_leaves; k++)
        if (c.leaves[k].node && c.leaves[k].node->op == IR_OP_INPUT)
            free(c.leaves[k].buf);
    for (int k = 0; c.analytic && k < n; k++)
        free(c.analytic[k]);
    free(c.leaves);
    free(c.analytic);
    free(c.wrt);
    nb_program_free(c.p);
    ir_graph_free(c.h);
    return rc;
}
