/* opbyop.c — evaluates a random case one op at a time and checks programs against it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opbyop.h"

/* f32 results may differ in the last bits (a gemm with transposed operands sums in
 * another order than gemm after a copy); f64 ones much less. */
#define OB_F32_ATOL 1e-5
#define OB_F32_RTOL 1e-4
#define OB_F64_ATOL 1e-11
#define OB_F64_RTOL 1e-9

enum {
    OB_TYPE_SIZE = 64,
    OB_NODE_SIZE = 160,
    OB_MAX_KEY_OPERANDS = 4,
    OB_CACHE_SIZE = 4099, /* programs kept: a few tens of megabytes */
    OB_CACHE_PROBES = 16
};

int ob_close(double a, double r, double atol, double rtol)
{
    if (isnan(a) || isnan(r))
        return isnan(a) && isnan(r);
    if (isinf(a) || isinf(r))
        return a == r;
    double m = fabs(a) > fabs(r) ? fabs(a) : fabs(r);
    return fabs(a - r) <= atol + rtol * m;
}

static double value_at(nb_dtype dt, const void *p, int64_t i)
{
    switch (dt) {
    case NB_F32: return ((const float *)p)[i];
    case NB_F64: return ((const double *)p)[i];
    case NB_I32: return ((const int32_t *)p)[i];
    default: return ((const uint8_t *)p)[i];
    }
}

static size_t node_bytes(const ir_node *n)
{
    return (size_t)n->numel * ir_dtype_size(n->dtype);
}

void ob_values_free(ob_values *v)
{
    for (int i = 0; v->v && i < v->n; i++)
        free(v->v[i]);
    free(v->v);
    memset(v, 0, sizeof *v);
}

static void *copy_of(const void *src, size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (p)
        memcpy(p, src, bytes);
    return p;
}

static const rg_leaf *find_leaf(const rg_leaf *leaves, int n, const ir_node *x)
{
    for (int i = 0; i < n; i++)
        if (leaves[i].node == x)
            return &leaves[i];
    return NULL;
}

/* A constant's values (kept as doubles in the node) in its dtype. */
static void *constant_values(const ir_node *n)
{
    void *p = malloc(node_bytes(n) ? node_bytes(n) : 1);
    for (int64_t i = 0; p && i < n->numel; i++) {
        double v = n->data[i];
        switch (n->dtype) {
        case NB_F32: ((float *)p)[i] = (float)v; break;
        case NB_F64: ((double *)p)[i] = v; break;
        case NB_I32: ((int32_t *)p)[i] = (int32_t)v; break;
        default: ((uint8_t *)p)[i] = v != 0; break;
        }
    }
    return p;
}

/* ---- single-op programs and their cache ------------------------------------------ */

/* What makes two nodes compute the same function: op, attributes, operand types. */
typedef struct ob_key {
    ir_op op;
    int n_in;
    ir_attr attr;
    struct {
        nb_dtype dt;
        int rank;
        int64_t shape[NB_MAX_RANK];
    } in[OB_MAX_KEY_OPERANDS];
} ob_key;

struct ob_cache {
    ob_key keys[OB_CACHE_SIZE];
    nb_program *programs[OB_CACHE_SIZE];
    long hits;
    unsigned evictions;
};

ob_cache *ob_cache_new(void)
{
    return calloc(1, sizeof(ob_cache));
}

void ob_cache_free(ob_cache *k)
{
    for (int i = 0; k && i < OB_CACHE_SIZE; i++)
        nb_program_free(k->programs[i]);
    free(k);
}

long ob_cache_hits(const ob_cache *k)
{
    return k ? k->hits : 0;
}

/* Fills key for n (zeroed first, so that memcmp compares it); 0, or -1 when n has more
 * operands than a key holds (concat of many: never cached). */
static int make_key(const ir_node *n, ob_key *key)
{
    memset(key, 0, sizeof *key);
    if (n->n_in > OB_MAX_KEY_OPERANDS)
        return -1;
    key->op = n->op;
    key->n_in = n->n_in;
    key->attr.f[0] = n->attr.f[0];
    key->attr.f[1] = n->attr.f[1];
    /* Field by field: a struct assignment need not copy padding, which memcmp reads. */
    key->attr.target.rank = n->attr.target.rank;
    memcpy(key->attr.target.shape, n->attr.target.shape, sizeof key->attr.target.shape);
    key->attr.permute.rank = n->attr.permute.rank;
    memcpy(key->attr.permute.perm, n->attr.permute.perm, sizeof key->attr.permute.perm);
    key->attr.slice.rank = n->attr.slice.rank;
    memcpy(key->attr.slice.start, n->attr.slice.start, sizeof key->attr.slice.start);
    memcpy(key->attr.slice.stop, n->attr.slice.stop, sizeof key->attr.slice.stop);
    memcpy(key->attr.slice.step, n->attr.slice.step, sizeof key->attr.slice.step);
    key->attr.axes = n->attr.axes;
    key->attr.axis = n->attr.axis;
    key->attr.keepdim = n->attr.keepdim;
    key->attr.k = n->attr.k;
    key->attr.dt = n->attr.dt;
    key->attr.trans_a = n->attr.trans_a;
    key->attr.trans_b = n->attr.trans_b;
    memcpy(key->attr.window.kernel, n->attr.window.kernel, sizeof key->attr.window.kernel);
    memcpy(key->attr.window.stride, n->attr.window.stride, sizeof key->attr.window.stride);
    memcpy(key->attr.window.dilation, n->attr.window.dilation, sizeof key->attr.window.dilation);
    memcpy(key->attr.window.pad_lo, n->attr.window.pad_lo, sizeof key->attr.window.pad_lo);
    memcpy(key->attr.window.pad_hi, n->attr.window.pad_hi, sizeof key->attr.window.pad_hi);
    key->attr.window.groups = n->attr.window.groups;
    key->attr.window.ceil_mode = n->attr.window.ceil_mode;
    key->attr.window.count_include_pad = n->attr.window.count_include_pad;
    key->attr.window.divisor = n->attr.window.divisor;
    key->attr.random.seed = n->attr.random.seed;
    key->attr.random.offset = n->attr.random.offset;
    key->attr.pad.rank = n->attr.pad.rank;
    memcpy(key->attr.pad.lo, n->attr.pad.lo, sizeof key->attr.pad.lo);
    memcpy(key->attr.pad.hi, n->attr.pad.hi, sizeof key->attr.pad.hi);
    key->attr.pad.reflect = n->attr.pad.reflect;
    key->attr.reverse = n->attr.reverse;
    for (int j = 0; j < n->n_in; j++) {
        key->in[j].dt = n->in[j]->dtype;
        key->in[j].rank = n->in[j]->rank;
        memcpy(key->in[j].shape, n->in[j]->shape, sizeof key->in[j].shape);
    }
    return 0;
}

static uint64_t key_hash(const ob_key *key)
{
    const unsigned char *b = (const unsigned char *)key;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < sizeof *key; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

/* A program computing n from inputs of its operands' types. NULL with err. */
static nb_program *compile_single(const ir_node *n, const char *what, char *err, size_t err_size)
{
    nb_graph *h = nb_graph_new();
    nb_program *p = NULL;
    ir_node **ins = calloc((size_t)n->n_in + 1, sizeof *ins);
    if (!h || !ins) {
        snprintf(err, err_size, "%s: out of memory", what);
        goto done;
    }
    for (int j = 0; j < n->n_in; j++) {
        const ir_node *x = n->in[j];
        ins[j] = nb_input(h, NULL, x->dtype, x->rank, x->shape);
    }
    ir_node *y = ir_node_new(h, n->op, ins, n->n_in, &n->attr);
    nb_compile_options opt = {.outputs = &y, .n_outputs = 1, .backend = NB_BACKEND_TCC};
    if (!y || !(p = nb_compile(h, &opt)))
        snprintf(err, err_size, "%s alone does not compile: %s", what, nb_graph_error(h));
done:
    nb_graph_free(h);
    free(ins);
    return p;
}

/* n's value from its operands' values: a program of one op over inputs. */
static void *single_op(const ir_node *n, void *const *values, ob_cache *cache, char *err,
                       size_t err_size)
{
    char what[OB_NODE_SIZE];
    ob_key key;
    nb_program *p = NULL;
    int slot = -1, kept = 0;
    void *out = NULL;
    ir_node_str(n, what, sizeof what);
    if (cache && make_key(n, &key) == 0) {
        uint64_t h = key_hash(&key);
        for (int i = 0; i < OB_CACHE_PROBES && !p; i++) {
            int s = (int)((h + (uint64_t)i) % OB_CACHE_SIZE);
            if (!cache->programs[s]) {
                slot = s;
                break;
            }
            if (!memcmp(&cache->keys[s], &key, sizeof key)) {
                p = cache->programs[s];
                cache->hits++;
                kept = 1;
            }
        }
        /* Full: replace one of the probed programs, in turn, so that the programs of
         * the graph at hand stay (its second run finds them all). */
        if (!p && slot < 0)
            slot = (int)((h + (uint64_t)(cache->evictions++ % OB_CACHE_PROBES)) % OB_CACHE_SIZE);
    }
    if (!p) {
        if (!(p = compile_single(n, what, err, err_size)))
            return NULL;
        if (slot >= 0) {
            nb_program_free(cache->programs[slot]);
            cache->keys[slot] = key;
            cache->programs[slot] = p;
            kept = 1;
        }
    }
    for (int j = 0; j < n->n_in; j++)
        nb_program_bind_index(p, j, values[n->in[j]->id]);
    if (nb_program_run(p) != 0)
        snprintf(err, err_size, "%s alone does not run: %s", what, nb_program_error(p));
    else if (!(out = copy_of(nb_program_output(p, 0), node_bytes(n))))
        snprintf(err, err_size, "%s: out of memory", what);
    if (!kept)
        nb_program_free(p);
    return out;
}

int ob_eval(const rg_case *c, ob_cache *cache, ob_values *out, char *err, size_t err_size)
{
    const ir_graph *g = c->g;
    int n = g->n_nodes;
    char *need = calloc((size_t)n + 1, 1);
    memset(out, 0, sizeof *out);
    out->v = calloc((size_t)n + 1, sizeof *out->v);
    out->n = n;
    if (!need || !out->v) {
        snprintf(err, err_size, "out of memory");
        goto fail;
    }
    for (int i = 0; i < c->n_outputs; i++)
        need[c->outputs[i]->id] = 1;
    for (int i = 0; i < c->n_updates; i++)
        need[c->updates[i].value->id] = need[c->updates[i].param->id] = 1;
    for (int i = n - 1; i >= 0; i--)
        for (int j = 0; need[i] && j < g->nodes[i]->n_in; j++)
            need[g->nodes[i]->in[j]->id] = 1;

    for (int i = 0; i < n; i++) {
        const ir_node *x = g->nodes[i];
        const rg_leaf *l;
        if (!need[i])
            continue;
        if (x->op == IR_OP_INPUT || x->op == IR_OP_PARAM) {
            l = x->op == IR_OP_INPUT ? find_leaf(c->inputs, c->n_inputs, x)
                                     : find_leaf(c->params, c->n_params, x);
            if (!l) {
                snprintf(err, err_size, "node %d: a leaf the case does not list", i);
                goto fail;
            }
            out->v[i] = copy_of(l->data, node_bytes(x));
        } else if (x->op == IR_OP_CONST) {
            out->v[i] = constant_values(x);
        } else {
            out->v[i] = single_op(x, out->v, cache, err, err_size);
            out->programs++;
            if (!out->v[i])
                goto fail;
        }
        if (!out->v[i]) {
            snprintf(err, err_size, "out of memory");
            goto fail;
        }
    }
    free(need);
    return 0;
fail:
    free(need);
    ob_values_free(out);
    return -1;
}

int ob_prepare(const rg_case *c, nb_program *p, char *err, size_t err_size)
{
    if (nb_program_input_count(p) != c->n_inputs || nb_program_param_count(p) != c->n_params) {
        snprintf(err, err_size, "the program has %d inputs and %d parameters; the case %d and %d",
                 nb_program_input_count(p), nb_program_param_count(p), c->n_inputs, c->n_params);
        return -1;
    }
    for (int i = 0; i < c->n_inputs; i++)
        if (nb_program_bind_index(p, i, c->inputs[i].data) != 0) {
            snprintf(err, err_size, "bind %d: %s", i, nb_program_error(p));
            return -1;
        }
    for (int i = 0; i < c->n_params; i++) {
        const ir_node *x = c->params[i].node;
        if (nb_program_set_param(p, x->name, c->params[i].data, node_bytes(x)) != 0) {
            snprintf(err, err_size, "set %s: %s", x->name, nb_program_error(p));
            return -1;
        }
    }
    return 0;
}

/* Compares n values of x's dtype; 0, or -1 with the first difference in err. */
static int compare(const char *what, const ir_node *x, const void *got, const void *ref, char *err,
                   size_t err_size)
{
    char node[OB_NODE_SIZE], type[OB_TYPE_SIZE];
    int is_f32 = x->dtype == NB_F32, is_float = ir_is_float(x->dtype);
    double atol = is_f32 ? OB_F32_ATOL : OB_F64_ATOL, rtol = is_f32 ? OB_F32_RTOL : OB_F64_RTOL;
    for (int64_t i = 0; i < x->numel; i++) {
        double a = value_at(x->dtype, got, i), r = value_at(x->dtype, ref, i);
        if (is_float ? ob_close(a, r, atol, rtol) : a == r)
            continue;
        snprintf(err, err_size, "%s, %s %s, element %lld: %.9g, op by op %.9g", what,
                 ir_node_str(x, node, sizeof node), ir_type_str(x, type, sizeof type), (long long)i,
                 a, r);
        return -1;
    }
    return 0;
}

/* The value param takes after a run, when no update of the case writes it: the step
 * counter of random nodes the run computed advances by one (nb_compile adds that
 * update, ops_random.c); *next receives it and the result points there. Else NULL. */
static const double *advanced(const rg_case *c, const ob_values *ref, const ir_node *param,
                              double *next)
{
    const ir_graph *g = c->g;
    for (int u = 0; u < c->n_updates; u++)
        if (c->updates[u].param == param)
            return NULL;
    for (int id = 0; id < g->n_nodes && id < ref->n; id++) {
        const ir_node *x = g->nodes[id];
        if (x->op == IR_OP_RAND && x->in[0] == param && ref->v[id] && ref->v[param->id]) {
            *next = *(const double *)ref->v[param->id] + 1;
            return next;
        }
    }
    return NULL;
}

int ob_check(const rg_case *c, nb_program *p, const ob_values *ref, char *err, size_t err_size)
{
    char what[OB_NODE_SIZE];
    for (int i = 0; i < c->n_outputs; i++) {
        const ir_node *x = c->outputs[i];
        snprintf(what, sizeof what, "output %d", i);
        if (nb_program_output_numel(p, i) != x->numel ||
            nb_program_output_dtype(p, i) != x->dtype) {
            snprintf(err, err_size, "%s: %lld values of %s; expected %lld of %s", what,
                     (long long)nb_program_output_numel(p, i),
                     ir_dtype_name(nb_program_output_dtype(p, i)), (long long)x->numel,
                     ir_dtype_name(x->dtype));
            return -1;
        }
        if (compare(what, x, nb_program_output(p, i), ref->v[x->id], err, err_size) != 0)
            return -1;
    }
    for (int i = 0; i < c->n_params; i++) {
        const ir_node *x = c->params[i].node;
        const void *want = c->params[i].data;
        double next;
        if (advanced(c, ref, x, &next))
            want = &next;
        for (int u = 0; u < c->n_updates; u++)
            if (c->updates[u].param == x)
                want = ref->v[c->updates[u].value->id];
        snprintf(what, sizeof what, "parameter %s after the run", x->name);
        if (compare(what, x, nb_program_param_data(p, i), want, err, err_size) != 0)
            return -1;
    }
    return 0;
}

int ob_advance(rg_case *c, const ob_values *ref)
{
    void **next = calloc((size_t)c->n_params + 1, sizeof *next);
    if (!next)
        return -1;
    /* all new values first: an update may read a parameter another one replaces */
    for (int u = 0; u < c->n_updates; u++)
        for (int i = 0; i < c->n_params; i++)
            if (c->params[i].node == c->updates[u].param) {
                next[i] = copy_of(ref->v[c->updates[u].value->id], node_bytes(c->params[i].node));
                if (!next[i])
                    goto fail;
            }
    for (int i = 0; i < c->n_params; i++) {
        double step;
        if (advanced(c, ref, c->params[i].node, &step) && !(next[i] = copy_of(&step, sizeof step)))
            goto fail;
    }
    for (int i = 0; i < c->n_params; i++)
        if (next[i]) {
            free(c->params[i].data);
            c->params[i].data = next[i];
        }
    free(next);
    return 0;
fail:
    for (int i = 0; i < c->n_params; i++)
        free(next[i]);
    free(next);
    return -1;
}
