/* nb_ox_node.c — what an importer reads and sets on the node being imported (nb_ox.h):
 * its inputs (nodes or values known at load time), its outputs, and the errors that
 * name the node. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nb_ox_state.h"

nb_graph *nb_ox_graph(nb_ox *x)
{
    return x->g;
}

const char *nb_ox_op_type(const nb_ox *x)
{
    return x->node->op_type ? x->node->op_type : "";
}

int nb_ox_opset(const nb_ox *x)
{
    return (int)x->opset;
}

int nb_ox_n_inputs(const nb_ox *x)
{
    return (int)x->node->n_input;
}

int nb_ox_has_input(const nb_ox *x, int i)
{
    return i >= 0 && (size_t)i < x->node->n_input && x->in[i] >= 0;
}

int nb_ox_n_outputs(const nb_ox *x)
{
    return (int)x->node->n_output;
}

int nb_ox_has_output(const nb_ox *x, int i)
{
    return i >= 0 && (size_t)i < x->node->n_output && x->node->output[i] && *x->node->output[i];
}

/* The node's prefix for messages: "node 3 'conv1' (Conv): ". */
static void prefix(const nb_ox *x, char *buf, size_t size)
{
    const char *name = x->node->name ? x->node->name : "";
    snprintf(buf, size, "node %zu%s%.200s%s (%.100s): ", x->node_index, *name ? " '" : "", name,
             *name ? "'" : "", nb_ox_op_type(x));
}

static int vfail(nb_ox *x, nb_onnx_error kind, const char *fmt, va_list ap)
{
    char pre[NB_OX_MSG_MAX / 2], why[NB_OX_MSG_MAX];
    prefix(x, pre, sizeof pre);
    vsnprintf(why, sizeof why, fmt, ap);
    return nb_ox_error(x, kind, "%s%s", pre, why);
}

void nb_ox_error_at_node(nb_ox *x)
{
    char pre[NB_OX_MSG_MAX / 2];
    prefix(x, pre, sizeof pre);
    size_t k = strlen(pre);
    if (x->error == NB_ONNX_OK || !strncmp(x->msg, pre, k))
        return;
    /* The message moves right by the prefix (its end cut when it no longer fits). */
    memmove(x->msg + k, x->msg, sizeof x->msg - k);
    memcpy(x->msg, pre, k);
    x->msg[sizeof x->msg - 1] = 0;
}

int nb_ox_fail(nb_ox *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(x, NB_ONNX_ERROR_INVALID, fmt, ap);
    va_end(ap);
    return -1;
}

int nb_ox_unsupported(nb_ox *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(x, NB_ONNX_ERROR_UNSUPPORTED, fmt, ap);
    va_end(ap);
    return -1;
}

int nb_ox_axis(nb_ox *x, int64_t axis, int rank, const char *what)
{
    int64_t a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= (rank ? rank : 1))
        return nb_ox_fail(x, "%s %lld is outside a rank-%d tensor's axes", what, (long long)axis,
                          rank);
    return (int)a;
}

/* ---- inputs ---- */

static const nb_ox_val *in_val(const nb_ox *x, int i)
{
    return nb_ox_has_input(x, i) ? &x->vals[x->in[i]] : NULL;
}

nb_node *nb_ox_in(nb_ox *x, int i)
{
    if (!nb_ox_has_input(x, i)) {
        nb_ox_fail(x, "input %d is missing", i);
        return NULL;
    }
    nb_node *n = nb_ox_val_node(x, (size_t)x->in[i]);
    if (!n && x->error == NB_ONNX_OK)
        nb_ox_fail(x, "input %d: %s", i, nb_graph_error(x->g) ? nb_graph_error(x->g) : "failed");
    return n;
}

int nb_ox_in_type(const nb_ox *x, int i)
{
    const nb_ox_val *v = in_val(x, i);
    return v ? v->type : NB_ONNX_UNDEFINED;
}

int nb_ox_in_rank(const nb_ox *x, int i)
{
    const nb_ox_val *v = in_val(x, i);
    return !v ? -1 : v->node ? nb_node_rank(v->node) : v->known->rank;
}

const int64_t *nb_ox_in_dims(const nb_ox *x, int i)
{
    const nb_ox_val *v = in_val(x, i);
    return !v ? NULL : v->node ? nb_node_shape(v->node) : v->known->dims;
}

const nb_ox_const *nb_ox_in_known(const nb_ox *x, int i)
{
    const nb_ox_val *v = in_val(x, i);
    return v ? v->known : NULL;
}

int nb_ox_in_param(const nb_ox *x, int i)
{
    const nb_ox_val *v = in_val(x, i);
    return v && v->initializer && v->known && v->known->f && !x->opt.initializers_as_constants;
}

const nb_ox_const *nb_ox_in_const(nb_ox *x, int i, const char *what)
{
    const nb_ox_val *v = in_val(x, i);
    if (!v) {
        nb_ox_fail(x, "input %d (%s) is missing", i, what);
        return NULL;
    }
    if (!v->known) {
        char pre[NB_OX_MSG_MAX / 2];
        prefix(x, pre, sizeof pre);
        nb_ox_error(x, NB_ONNX_ERROR_NEEDS_VALUE,
                    "%sinput %d '%.200s' (%s) must be known when the "
                    "model loads: an initializer, a Constant, or a value given for a graph input "
                    "(nb_onnx_options.values)",
                    pre, i, v->name, what);
        return NULL;
    }
    return v->known;
}

int nb_ox_in_ints(nb_ox *x, int i, const char *what, int64_t *out, int max, int *n)
{
    const nb_ox_const *k = nb_ox_in_const(x, i, what);
    if (!k)
        return -1;
    if (!k->i)
        return nb_ox_fail(x, "input %d (%s) must hold integers, not %s", i, what,
                          nb_onnx_type_name(k->type));
    if (k->rank > 1 || k->numel > max)
        return nb_ox_unsupported(x, "input %d (%s) must be a list of at most %d values", i, what,
                                 max);
    for (int64_t j = 0; j < k->numel; j++)
        out[j] = k->i[j];
    *n = (int)k->numel;
    return 0;
}

/* ---- outputs ---- */

static int out_check(nb_ox *x, int i)
{
    if (i < 0 || (size_t)i >= x->node->n_output)
        return nb_ox_fail(x, "has no output %d", i);
    return 0;
}

static int out_set(nb_ox *x, int i, int type, nb_node *n, nb_ox_const *k)
{
    if (out_check(x, i) != 0) {
        nb_ox_const_free(k);
        return -1;
    }
    if (!nb_ox_has_output(x, i)) {
        nb_ox_const_free(k);
        return 0; /* an optional output nobody reads */
    }
    long v = nb_ox_val_add(x, x->node->output[i], type);
    if (v < 0) {
        nb_ox_const_free(k);
        return -1;
    }
    x->vals[v].node = n;
    x->vals[v].known = k;
    x->out[i] = v;
    return 0;
}

static int type_of(nb_node *n)
{
    switch (nb_node_dtype(n)) {
    case NB_F32: return NB_ONNX_FLOAT;
    case NB_F64: return NB_ONNX_DOUBLE;
    case NB_BOOL: return NB_ONNX_BOOL;
    default: return NB_ONNX_INT64;
    }
}

int nb_ox_out(nb_ox *x, int i, nb_node *n)
{
    if (!n)
        return -1; /* the builder's error, which the loader reports */
    return out_set(x, i, type_of(n), n, NULL);
}

int nb_ox_out_typed(nb_ox *x, int i, nb_node *n, int type)
{
    if (!n)
        return -1;
    if (nb_onnx_type_dtype(type) != (int)nb_node_dtype(n))
        return nb_ox_fail(x, "output %d: type %s for a node of dtype %s", i,
                          nb_onnx_type_name(type), nb_dtype_name(nb_node_dtype(n)));
    return out_set(x, i, type, n, NULL);
}

int nb_ox_out_known(nb_ox *x, int i, nb_ox_const *k)
{
    if (!k)
        return -1;
    return out_set(x, i, k->type, NULL, k);
}

nb_ox_const *nb_ox_const_new(nb_ox *x, int type, int rank, const int64_t *dims)
{
    char why[NB_OX_MSG_MAX / 2];
    nb_ox_const *k = nb_ox_const_alloc(type, rank, dims, why, sizeof why);
    if (!k) {
        if (!strcmp(why, "out of memory"))
            nb_ox_error(x, NB_ONNX_ERROR_NOMEM, "out of memory");
        else
            nb_ox_unsupported(x, "a value of %s", why);
    }
    return k;
}

nb_ox_const *nb_ox_const_dup(nb_ox *x, const nb_ox_const *k)
{
    if (!k)
        return NULL;
    nb_ox_const *d = nb_ox_const_new(x, k->type, k->rank, k->dims);
    if (d && k->f)
        memcpy(d->f, k->f, (size_t)k->numel * sizeof *k->f);
    if (d && k->i)
        memcpy(d->i, k->i, (size_t)k->numel * sizeof *k->i);
    return d;
}
