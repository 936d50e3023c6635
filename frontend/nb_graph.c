/* nb_graph.c — the public graph API: graphs, leaves, names, node queries, autodiff. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nb_format.h"

nb_graph *nb_graph_new(void)
{
    return ir_graph_new();
}

void nb_graph_free(nb_graph *g)
{
    ir_graph_free(g);
}

const char *nb_graph_error(const nb_graph *g)
{
    return g ? g->error : "graph is NULL";
}

char *nb_graph_print(const nb_graph *g)
{
    return g ? nb_format_write(g, NULL) : NULL;
}

char *nb_graph_dot(const nb_graph *g, const nb_dot_options *o, char *err, size_t err_size)
{
    char scratch[1];
    if (!err) {
        err = scratch;
        err_size = sizeof scratch;
    }
    if (err_size > 0)
        err[0] = 0;
    if (!g) {
        snprintf(err, err_size, "dot: the graph is NULL");
        return NULL;
    }
    return ir_dot(g, o, err, err_size);
}

int nb_graph_node_count(const nb_graph *g)
{
    return g ? g->n_nodes : 0;
}

size_t nb_dtype_size(nb_dtype dt)
{
    return ir_dtype_size(dt);
}

const char *nb_dtype_name(nb_dtype dt)
{
    return ir_dtype_name(dt);
}

nb_dtype nb_node_dtype(const nb_node *x)
{
    return x ? x->dtype : (nb_dtype)-1;
}

int nb_node_rank(const nb_node *x)
{
    return x ? x->rank : 0;
}

const int64_t *nb_node_shape(const nb_node *x)
{
    return x ? x->shape : NULL;
}

int64_t nb_node_numel(const nb_node *x)
{
    return x ? x->numel : 0;
}

int nb_node_id(const nb_node *x)
{
    return x ? x->id : -1;
}

const char *nb_node_name(const nb_node *x)
{
    return x ? x->name : NULL;
}

const char *nb_node_op(const nb_node *x)
{
    return x ? ir_op_defs[x->op].name : NULL;
}

nb_node *nb_graph_node(nb_graph *g, int id)
{
    return g && id >= 0 && id < g->n_nodes ? g->nodes[id] : NULL;
}

nb_node *nb_graph_find(nb_graph *g, const char *name)
{
    for (int id = g && name ? g->n_nodes - 1 : -1; id >= 0; id--)
        if (g->nodes[id]->name && strcmp(g->nodes[id]->name, name) == 0)
            return g->nodes[id];
    return NULL;
}

nb_node *nb_name(nb_graph *g, nb_node *x, const char *name)
{
    if (!g || g->error || !x)
        return x;
    if (x->graph != g) {
        ir_error(g, "name: the node belongs to another graph");
        return NULL;
    }
    if (!name) {
        ir_error(g, "name: the name of node %d is NULL", x->id);
        return NULL;
    }
    if (x->op == IR_OP_PARAM || x->op == IR_OP_INPUT) {
        ir_error(g, "name: node %d is a leaf; its name is given when it is created", x->id);
        return NULL;
    }
    char *copy = ir_strdup(name);
    if (!copy) {
        ir_oom(g);
        return NULL;
    }
    free(x->name);
    x->name = copy;
    return x;
}

/* Creates an input or parameter; names of each kind must be unique. */
static nb_node *make_leaf(nb_graph *g, ir_op op, const char *name, nb_dtype dt, int rank,
                          const int64_t *shape)
{
    const char *what = ir_op_defs[op].name;
    if (!g || g->error)
        return NULL;
    if (ir_check_shape_arg(g, what, rank, shape) != 0)
        return NULL;
    if (op == IR_OP_PARAM && !name) {
        ir_error(g, "param: a parameter needs a name");
        return NULL;
    }
    const ir_node *taken = ir_leaf_find(g, op, name);
    if (taken) {
        ir_error(g, "%s: the name '%.200s' is already taken by node %d", what, name, taken->id);
        return NULL;
    }
    ir_attr attr = {0};
    attr.dt = dt;
    attr.target.rank = rank;
    if (rank)
        memcpy(attr.target.shape, shape, (size_t)rank * sizeof *shape);
    ir_node *n = ir_node_new(g, op, NULL, 0, &attr);
    if (!n)
        return NULL;
    if (name && !(n->name = ir_strdup(name))) {
        ir_oom(g);
        return NULL;
    }
    /* On OOM the node stays in the graph, which now holds an error. */
    if (name && ir_leaf_index(g, n) != 0)
        return NULL;
    n->leaf_index = op == IR_OP_INPUT ? g->n_inputs++ : g->n_params++;
    return n;
}

nb_node *nb_input(nb_graph *g, const char *name, nb_dtype dt, int rank, const int64_t *shape)
{
    return make_leaf(g, IR_OP_INPUT, name, dt, rank, shape);
}

nb_node *nb_param(nb_graph *g, const char *name, nb_dtype dt, int rank, const int64_t *shape)
{
    return make_leaf(g, IR_OP_PARAM, name, dt, rank, shape);
}

nb_node *nb_scalar(nb_graph *g, nb_dtype dt, double value)
{
    return ir_scalar(g, dt, value);
}

nb_node *nb_constant(nb_graph *g, nb_dtype dt, int rank, const int64_t *shape, const double *data)
{
    if (!g || g->error)
        return NULL;
    if (rank < 0 || rank > NB_MAX_RANK || (rank > 0 && !shape) || !data) {
        ir_error(g, "const: %s",
                 !data ? "data is NULL" : "rank out of range [0, 8] or shape is NULL");
        return NULL;
    }
    return ir_constant(g, dt, rank, shape, data);
}

int nb_grad(nb_graph *g, nb_node *y, nb_node *const *xs, int n, nb_node **grads)
{
    return ir_vjp(g, y, NULL, xs, n, grads);
}

int nb_vjp(nb_graph *g, nb_node *y, nb_node *seed, nb_node *const *xs, int n, nb_node **grads)
{
    if (g && !g->error && !seed)
        return ir_error(g, "vjp: the seed is NULL");
    return ir_vjp(g, y, seed, xs, n, grads);
}

int nb_grad_buffers(nb_graph *g, nb_node *const *params, nb_node *const *grads, int n,
                    nb_node **buffers, nb_node **accumulated)
{
    if (!g || g->error)
        return -1;
    if (n < 0 || (n > 0 && (!params || !grads || !buffers || !accumulated)))
        return ir_error(g, "grad_buffers: a list is NULL or n = %d is negative", n);
    for (int i = 0; i < n; i++) {
        const ir_node *p = params[i];
        char t[IR_TYPE_STR_MAX], u[IR_TYPE_STR_MAX];
        if (!p || !grads[i])
            return ir_error(g, "grad_buffers: %s %d is NULL", !p ? "parameter" : "gradient", i);
        if (p->graph != g || grads[i]->graph != g)
            return ir_error(g, "grad_buffers: entry %d belongs to another graph", i);
        if (p->op != IR_OP_PARAM)
            return ir_error(g, "grad_buffers: entry %d (node %d) is not a parameter", i, p->id);
        if (grads[i]->dtype != p->dtype || !ir_same_shape(grads[i], p))
            return ir_error(g, "grad_buffers: gradient %d is %s, parameter '%s' is %s", i,
                            ir_type_str(grads[i], t, sizeof t), p->name,
                            ir_type_str(p, u, sizeof u));
        size_t len = strlen(p->name) + sizeof ".grad";
        char *name = ir_malloc(len);
        if (!name)
            return ir_oom(g);
        snprintf(name, len, "%s.grad", p->name);
        buffers[i] = make_leaf(g, IR_OP_PARAM, name, p->dtype, p->rank, p->shape);
        free(name);
        if (!buffers[i])
            return -1;
        buffers[i]->attr.k = IR_PARAM_GRAD;
        accumulated[i] = ir_add(g, buffers[i], grads[i]);
        if (!accumulated[i])
            return -1;
    }
    return 0;
}
