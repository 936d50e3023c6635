/* nb_ox_load.c — the ONNX loader (nb_onnx_parse): decodes a ModelProto, makes the graph's
 * inputs and the initializers' values, imports each node through its op's importer
 * (nb_ox_ops.def) and reports the outputs, checked against the shapes the model
 * declares. docs/onnx.md describes what it reads. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nb_ox_state.h"

/* The opsets of the default domain whose attributes and defaults the importers know:
 * from 6, the opset of the models PyTorch's own ONNX tests hold (libonnx-testdata's
 * pytorch-converted and pytorch-operator), to 17, the last of ONNX 1.12. */
#define NB_OX_OPSET_MIN 6
#define NB_OX_OPSET_MAX 17

typedef struct ox_op {
    const char *name;
    nb_ox_import_fn fn;
} ox_op;

static const ox_op ox_ops[] = {
#define NB_OX_OP(name, fn) {name, fn},
#include "nb_ox_ops.def"
#undef NB_OX_OP
};

int nb_ox_error(nb_ox *x, nb_onnx_error kind, const char *fmt, ...)
{
    if (x->error != NB_ONNX_OK)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->msg, sizeof x->msg, fmt, ap);
    va_end(ap);
    x->error = kind;
    return -1;
}

/* ---- values by name ---- */

/* The slot of name in the hash table: the slot holding it, or the empty one where it
 * goes. */
static size_t *slot_of(nb_ox *x, const char *name)
{
    size_t mask = x->n_slots - 1;
    size_t h = (size_t)ir_hash_bytes(name, strlen(name)) & mask;
    while (x->slots[h] && strcmp(x->vals[x->slots[h] - 1].name, name) != 0)
        h = (h + 1) & mask;
    return &x->slots[h];
}

static long val_find(nb_ox *x, const char *name)
{
    if (x->n_slots == 0)
        return -1;
    size_t s = *slot_of(x, name);
    return s ? (long)s - 1 : -1;
}

long nb_ox_val_add(nb_ox *x, const char *name, int type)
{
    if (!name || !*name)
        return nb_ox_error(x, NB_ONNX_ERROR_INVALID, "a value has an empty name");
    if (2 * (x->n_vals + 1) > x->n_slots) {
        size_t n = x->n_slots ? 2 * x->n_slots : 64;
        size_t *s = ir_calloc(n, sizeof *s);
        if (!s)
            return nb_ox_error(x, NB_ONNX_ERROR_NOMEM, "out of memory");
        free(x->slots);
        x->slots = s;
        x->n_slots = n;
        for (size_t v = 0; v < x->n_vals; v++)
            *slot_of(x, x->vals[v].name) = v + 1;
    }
    size_t *slot = slot_of(x, name);
    if (*slot)
        return nb_ox_error(x, NB_ONNX_ERROR_INVALID, "value '%.200s' is defined twice", name);
    if (x->n_vals == x->cap_vals) {
        size_t n = x->cap_vals ? 2 * x->cap_vals : 64;
        nb_ox_val *v = ir_realloc(x->vals, n * sizeof *v);
        if (!v)
            return nb_ox_error(x, NB_ONNX_ERROR_NOMEM, "out of memory");
        x->vals = v;
        x->cap_vals = n;
    }
    nb_ox_val *v = &x->vals[x->n_vals];
    memset(v, 0, sizeof *v);
    v->name = name;
    v->type = type;
    *slot = ++x->n_vals;
    return (long)x->n_vals - 1;
}

/* Adds a parameter's value to the extras; 0 or -1. */
static int param_add(nb_ox *x, nb_node *node, const nb_ox_const *k)
{
    if (x->n_params == x->cap_params) {
        size_t n = x->cap_params ? 2 * x->cap_params : 16;
        nb_leaf_value *p = ir_realloc(x->params, n * sizeof *p);
        if (!p)
            return nb_ox_error(x, NB_ONNX_ERROR_NOMEM, "out of memory");
        x->params = p;
        x->cap_params = n;
    }
    double *data = ir_malloc((k->numel ? (size_t)k->numel : 1) * sizeof *data);
    if (!data)
        return nb_ox_error(x, NB_ONNX_ERROR_NOMEM, "out of memory");
    memcpy(data, k->f, (size_t)k->numel * sizeof *data);
    x->params[x->n_params++] = (nb_leaf_value){node, data};
    return 0;
}

nb_node *nb_ox_val_node(nb_ox *x, size_t v)
{
    nb_ox_val *val = &x->vals[v];
    if (val->node)
        return val->node;
    const nb_ox_const *k = val->known;
    int dt = nb_onnx_type_dtype(k->type);
    if (dt < 0) {
        nb_ox_error(x, NB_ONNX_ERROR_UNSUPPORTED,
                    "value '%.200s' is of type %s, which nabla has no "
                    "dtype for",
                    val->name, nb_onnx_type_name(k->type));
        return NULL;
    }
    if (val->initializer && k->f && !x->opt.initializers_as_constants) {
        val->node = nb_param(x->g, val->name, (nb_dtype)dt, k->rank, k->dims);
        if (val->node && param_add(x, val->node, k) != 0)
            return NULL;
    } else {
        double *data = ir_malloc((k->numel ? (size_t)k->numel : 1) * sizeof *data);
        if (!data) {
            nb_ox_error(x, NB_ONNX_ERROR_NOMEM, "out of memory");
            return NULL;
        }
        for (int64_t j = 0; j < k->numel; j++) {
            data[j] = nb_ox_const_get(k, j);
            if (dt == NB_I32 && (k->i[j] < INT32_MIN || k->i[j] > INT32_MAX)) {
                nb_ox_error(x, NB_ONNX_ERROR_UNSUPPORTED,
                            "value '%.200s': element %lld is %lld, "
                            "outside the int32 range nabla computes INT64 in",
                            val->name, (long long)j, (long long)k->i[j]);
                free(data);
                return NULL;
            }
        }
        val->node = nb_constant(x->g, (nb_dtype)dt, k->rank, k->dims, data);
        free(data);
    }
    if (!val->node)
        nb_ox_error(x, NB_ONNX_ERROR_UNSUPPORTED, "value '%.200s': %s", val->name,
                    nb_graph_error(x->g) ? nb_graph_error(x->g) : "out of memory");
    return val->node;
}

/* ---- the graph's inputs and initializers ---- */

static int add_initializers(nb_ox *x, const Onnx__GraphProto *gp)
{
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *t = gp->initializer[i];
        char why[NB_OX_MSG_MAX / 2];
        nb_onnx_error kind;
        nb_ox_const *k;
        if (nb_ox_tensor_decode(t, &k, &kind, why, sizeof why) != 0)
            return nb_ox_error(x, kind, "initializer '%.200s': %s", t->name ? t->name : "", why);
        long v = nb_ox_val_add(x, t->name, k->type);
        if (v < 0) {
            nb_ox_const_free(k);
            return -1;
        }
        x->vals[v].known = k;
        x->vals[v].initializer = (int)i + 1;
    }
    return 0;
}

static const nb_onnx_shape *option_shape(const nb_ox *x, const char *name)
{
    for (int i = 0; i < x->opt.n_shapes; i++)
        if (x->opt.shapes[i].name && !strcmp(x->opt.shapes[i].name, name))
            return &x->opt.shapes[i];
    return NULL;
}

static const nb_onnx_tensor *option_value(const nb_ox *x, const char *name)
{
    for (int i = 0; i < x->opt.n_values; i++)
        if (x->opt.values[i].name && !strcmp(x->opt.values[i].name, name))
            return &x->opt.values[i];
    return NULL;
}

/* The declared type and shape of a value: 0, or -1 after an error (no tensor type). A
 * dimension that is open (a name, or no value) is -1 in dims. */
static int declared(nb_ox *x, const Onnx__ValueInfoProto *vi, int *type, int *rank, int64_t *dims,
                    const char *what)
{
    const Onnx__TypeProto *tp = vi->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
        return nb_ox_error(x, NB_ONNX_ERROR_UNSUPPORTED,
                           "%s '%.200s' is not a tensor (a sequence, "
                           "map, optional or sparse value)",
                           what, vi->name);
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    *type = tt->has_elem_type ? tt->elem_type : NB_ONNX_UNDEFINED;
    if (!tt->shape) {
        *rank = -1;
        return 0;
    }
    if (tt->shape->n_dim > NB_MAX_RANK)
        return nb_ox_error(x, NB_ONNX_ERROR_UNSUPPORTED,
                           "%s '%.200s' has rank %zu, above nabla's %d", what, vi->name,
                           tt->shape->n_dim, NB_MAX_RANK);
    *rank = (int)tt->shape->n_dim;
    for (int d = 0; d < *rank; d++) {
        const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[d];
        dims[d] = dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE
                      ? dim->dim_value
                      : -1;
        if (dims[d] < -1)
            return nb_ox_error(x, NB_ONNX_ERROR_INVALID, "%s '%.200s': dimension %d is %lld", what,
                               vi->name, d, (long long)dims[d]);
    }
    return 0;
}

/* An input given a value in the options: a known value of the declared type and shape. */
static int input_known(nb_ox *x, const Onnx__ValueInfoProto *vi, int type, int rank,
                       const int64_t *dims, const nb_onnx_tensor *t)
{
    if (t->type != type)
        return nb_ox_error(x, NB_ONNX_ERROR_INVALID, "input '%.200s' is %s, its given value %s",
                           vi->name, nb_onnx_type_name(type), nb_onnx_type_name(t->type));
    int ok = rank < 0 || rank == t->rank;
    for (int d = 0; ok && rank >= 0 && d < rank; d++)
        ok = dims[d] < 0 || dims[d] == t->dims[d];
    if (!ok)
        return nb_ox_error(x, NB_ONNX_ERROR_INVALID,
                           "input '%.200s': its given value's shape does "
                           "not match the model's",
                           vi->name);
    char why[NB_OX_MSG_MAX / 2];
    nb_ox_const *k = nb_ox_const_alloc(type, t->rank, t->dims, why, sizeof why);
    if (!k)
        return nb_ox_error(x, NB_ONNX_ERROR_NOMEM, "input '%.200s': %s", vi->name, why);
    if (k->numel != t->numel || (k->numel && !t->data)) {
        nb_ox_const_free(k);
        return nb_ox_error(x, NB_ONNX_ERROR_INVALID,
                           "input '%.200s': its given value has %lld "
                           "values for its shape",
                           vi->name, (long long)t->numel);
    }
    for (int64_t j = 0; j < k->numel; j++) {
        if (k->f)
            k->f[j] = t->data[j];
        else
            k->i[j] = (int64_t)t->data[j];
    }
    long v = nb_ox_val_add(x, vi->name, type);
    if (v < 0) {
        nb_ox_const_free(k);
        return -1;
    }
    x->vals[v].known = k;
    return 0;
}

static int add_inputs(nb_ox *x, const Onnx__GraphProto *gp)
{
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        if (!vi->name || !*vi->name)
            return nb_ox_error(x, NB_ONNX_ERROR_INVALID, "input %zu has no name", i);
        long seen = val_find(x, vi->name);
        if (seen >= 0 && x->vals[seen].initializer)
            continue;  /* an initializer listed as an input: its default value */
        if (seen >= 0) /* else the report would list the input twice */
            return nb_ox_error(x, NB_ONNX_ERROR_INVALID, "input '%.200s' is listed twice",
                               vi->name);
        int type, rank;
        int64_t dims[NB_MAX_RANK];
        if (declared(x, vi, &type, &rank, dims, "input") != 0)
            return -1;
        const nb_onnx_tensor *t = option_value(x, vi->name);
        if (t) {
            if (input_known(x, vi, type, rank, dims, t) != 0)
                return -1;
            continue;
        }
        int dt = nb_onnx_type_dtype(type);
        if (dt < 0)
            return nb_ox_error(x, NB_ONNX_ERROR_UNSUPPORTED,
                               "input '%.200s' is of type %s, which "
                               "nabla has no dtype for",
                               vi->name, nb_onnx_type_name(type));
        const nb_onnx_shape *s = option_shape(x, vi->name);
        if (s) {
            int ok = s->rank >= 0 && s->rank <= NB_MAX_RANK && (rank < 0 || s->rank == rank);
            for (int d = 0; ok && d < s->rank; d++)
                ok = s->dims[d] >= 0 && (rank < 0 || dims[d] < 0 || dims[d] == s->dims[d]);
            if (!ok)
                return nb_ox_error(x, NB_ONNX_ERROR_INVALID,
                                   "input '%.200s': the shape given for it does not fit the "
                                   "model's (rank and fixed dimensions must agree)",
                                   vi->name);
            rank = s->rank;
            memcpy(dims, s->dims, sizeof dims);
        } else {
            for (int d = 0; d < rank; d++)
                if (dims[d] < 0)
                    return nb_ox_error(x, NB_ONNX_ERROR_NEEDS_SHAPE,
                                       "input '%.200s': dimension %d "
                                       "is open: give the input's shape (nb_onnx_options.shapes, "
                                       "nabla's --shape %.200s=...)",
                                       vi->name, d, vi->name);
            if (rank < 0)
                return nb_ox_error(x, NB_ONNX_ERROR_NEEDS_SHAPE,
                                   "input '%.200s' has no shape: give "
                                   "it (nb_onnx_options.shapes, nabla's --shape %.200s=...)",
                                   vi->name, vi->name);
        }
        for (int d = 0; d < rank; d++)
            if (dims[d] == 0)
                return nb_ox_error(x, NB_ONNX_ERROR_NEEDS_VALUE,
                                   "input '%.200s' is empty (dimension %d is 0), which no nabla "
                                   "tensor is: give its value (nb_onnx_options.values)",
                                   vi->name, d);
        long v = nb_ox_val_add(x, vi->name, type);
        if (v < 0)
            return -1;
        x->vals[v].node = nb_input(x->g, vi->name, (nb_dtype)dt, rank, dims);
        if (!x->vals[v].node)
            return nb_ox_error(x, NB_ONNX_ERROR_UNSUPPORTED, "input '%.200s': %s", vi->name,
                               nb_graph_error(x->g) ? nb_graph_error(x->g) : "out of memory");
    }
    for (int i = 0; i < x->opt.n_values; i++) {
        const char *name = x->opt.values[i].name;
        if (!name || val_find(x, name) < 0)
            return nb_ox_error(x, NB_ONNX_ERROR_INVALID,
                               "a value is given for '%.200s', which is "
                               "no input of the model",
                               name ? name : "(null)");
    }
    return 0;
}

/* ---- nodes ---- */

static const ox_op *op_find(const char *name)
{
    for (size_t i = 0; i < sizeof ox_ops / sizeof ox_ops[0]; i++)
        if (!strcmp(ox_ops[i].name, name))
            return &ox_ops[i];
    return NULL;
}

static void node_done(nb_ox *x)
{
    for (size_t i = 0; i < x->n_attr_consts; i++)
        nb_ox_const_free(x->attr_consts[i]);
    free(x->attr_consts);
    free(x->attr_read);
    free(x->in);
    free(x->out);
    x->attr_consts = NULL;
    x->n_attr_consts = 0;
    x->attr_read = NULL;
    x->in = x->out = NULL;
}

static int import_node(nb_ox *x, const Onnx__NodeProto *n, size_t index)
{
    x->node = n;
    x->node_index = index;
    x->attr_error = 0;
    const char *op = n->op_type ? n->op_type : "";
    if (n->domain && *n->domain && strcmp(n->domain, "ai.onnx") != 0)
        return nb_ox_unsupported(x,
                                 "the domain '%.100s' is not supported (only ONNX's default "
                                 "domain is)",
                                 n->domain);
    const ox_op *row = op_find(op);
    if (!row)
        return nb_ox_unsupported(x, "the op is not supported");
    x->in = ir_malloc((n->n_input ? n->n_input : 1) * sizeof *x->in);
    x->out = ir_malloc((n->n_output ? n->n_output : 1) * sizeof *x->out);
    x->attr_read = ir_calloc(n->n_attribute ? n->n_attribute : 1, 1);
    if (!x->in || !x->out || !x->attr_read)
        return nb_ox_error(x, NB_ONNX_ERROR_NOMEM, "out of memory");
    for (size_t i = 0; i < n->n_input; i++) {
        x->in[i] = -1;
        if (n->input[i] && *n->input[i]) {
            x->in[i] = val_find(x, n->input[i]);
            if (x->in[i] < 0)
                return nb_ox_fail(x,
                                  "input %zu '%.200s' is no graph input, initializer or output "
                                  "of an earlier node",
                                  i, n->input[i]);
        }
    }
    for (size_t i = 0; i < n->n_output; i++)
        x->out[i] = -1;
    for (size_t a = 0; a < n->n_attribute; a++)
        if (n->attribute[a]->ref_attr_name && *n->attribute[a]->ref_attr_name)
            return nb_ox_unsupported(x, "attribute '%.100s' refers to a function's attribute",
                                     n->attribute[a]->name ? n->attribute[a]->name : "");
    int rc = row->fn(x);
    if (x->error != NB_ONNX_OK)
        return -1;
    if (rc != 0 || nb_graph_error(x->g))
        return nb_ox_fail(x, "%s",
                          nb_graph_error(x->g) ? nb_graph_error(x->g)
                                               : "the importer failed without a reason");
    for (size_t a = 0; a < n->n_attribute; a++)
        if (!x->attr_read[a])
            return nb_ox_attr_unread(x, n->attribute[a]);
    for (size_t i = 0; i < n->n_output; i++)
        if (n->output[i] && *n->output[i] && x->out[i] < 0)
            return nb_ox_unsupported(x, "output %zu ('%.200s') is not supported", i, n->output[i]);
    return 0;
}

/* ---- outputs and the model's report ---- */

static char *dup_name(nb_ox *x, const char *s)
{
    char *d = ir_strdup(s ? s : "");
    if (!d)
        nb_ox_error(x, NB_ONNX_ERROR_NOMEM, "out of memory");
    return d;
}

/* "[2,?,3]": a shape for messages, open dimensions as '?'. */
static void shape_text(char *buf, size_t size, int rank, const int64_t *dims)
{
    size_t n = (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < rank && n < size; d++)
        n += (size_t)(dims[d] < 0 ? snprintf(buf + n, size - n, "%s?", d ? "," : "")
                                  : snprintf(buf + n, size - n, "%s%lld", d ? "," : "",
                                             (long long)dims[d]));
    if (n < size)
        snprintf(buf + n, size - n, "]");
}

/* Checks a computed output against the model's declared type and shape. */
static int check_output(nb_ox *x, const Onnx__ValueInfoProto *vi, const nb_ox_val *v)
{
    int type, rank;
    int64_t dims[NB_MAX_RANK];
    if (declared(x, vi, &type, &rank, dims, "output") != 0)
        return -1;
    if (type != NB_ONNX_UNDEFINED && type != v->type)
        return nb_ox_error(x, NB_ONNX_ERROR_UNSUPPORTED,
                           "output '%.200s': the model declares %s, "
                           "nabla computes %s",
                           vi->name, nb_onnx_type_name(type), nb_onnx_type_name(v->type));
    int r = nb_node_rank(v->node);
    const int64_t *s = nb_node_shape(v->node);
    int ok = rank < 0 || rank == r;
    for (int d = 0; ok && rank >= 0 && d < rank; d++)
        ok = dims[d] < 0 || dims[d] == s[d];
    if (!ok) {
        char want[NB_MAX_RANK * 24 + 3], got[NB_MAX_RANK * 24 + 3];
        shape_text(want, sizeof want, rank, dims);
        shape_text(got, sizeof got, r, s);
        return nb_ox_error(x, NB_ONNX_ERROR_UNSUPPORTED,
                           "output '%.200s': the model declares "
                           "the shape %s, nabla computes %s",
                           vi->name, want, got);
    }
    return 0;
}

static int add_outputs(nb_ox *x, const Onnx__GraphProto *gp)
{
    nb_onnx_model *m = x->m;
    if (gp->n_output == 0)
        return nb_ox_error(x, NB_ONNX_ERROR_INVALID, "the graph has no output");
    m->outputs = ir_calloc(gp->n_output, sizeof *m->outputs);
    m->extras.outputs = ir_calloc(gp->n_output, sizeof *m->extras.outputs);
    if (!m->outputs || !m->extras.outputs)
        return nb_ox_error(x, NB_ONNX_ERROR_NOMEM, "out of memory");
    for (size_t i = 0; i < gp->n_output; i++) {
        const Onnx__ValueInfoProto *vi = gp->output[i];
        long v = vi->name ? val_find(x, vi->name) : -1;
        if (v < 0)
            return nb_ox_error(x, NB_ONNX_ERROR_INVALID, "output '%.200s' is computed by no node",
                               vi->name ? vi->name : "");
        if (!nb_ox_val_node(x, (size_t)v) || check_output(x, vi, &x->vals[v]) != 0)
            return -1;
        nb_node *node = x->vals[v].node;
        if (!nb_node_name(node) && !nb_name(x->g, node, vi->name))
            return nb_ox_error(x, NB_ONNX_ERROR_NOMEM, "out of memory");
        m->outputs[i] = (nb_onnx_value){dup_name(x, vi->name), node, x->vals[v].type};
        m->extras.outputs[i] = node;
        m->n_outputs = m->extras.n_outputs = (int)i + 1;
        if (!m->outputs[i].name)
            return -1;
    }
    return 0;
}

static int report(nb_ox *x, const Onnx__ModelProto *mp)
{
    nb_onnx_model *m = x->m;
    const Onnx__GraphProto *gp = mp->graph;
    m->inputs = ir_calloc(gp->n_input ? gp->n_input : 1, sizeof *m->inputs);
    m->initializers = ir_calloc(gp->n_initializer ? gp->n_initializer : 1, sizeof *m->initializers);
    if (!m->inputs || !m->initializers)
        return nb_ox_error(x, NB_ONNX_ERROR_NOMEM, "out of memory");
    for (size_t i = 0; i < gp->n_input; i++) {
        const nb_ox_val *v = &x->vals[val_find(x, gp->input[i]->name)];
        if (v->initializer || v->known)
            continue;
        m->inputs[m->n_inputs] = (nb_onnx_value){dup_name(x, v->name), v->node, v->type};
        if (!m->inputs[m->n_inputs++].name)
            return -1;
    }
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const nb_ox_val *v = &x->vals[val_find(x, gp->initializer[i]->name)];
        m->initializers[i] = (nb_onnx_value){dup_name(x, v->name), v->node, v->type};
        m->n_initializers = (int)i + 1;
        if (!m->initializers[i].name)
            return -1;
    }
    m->extras.values = x->params;
    m->extras.n_values = (int)x->n_params;
    x->params = NULL;
    x->n_params = 0;
    m->ir_version = mp->has_ir_version ? mp->ir_version : 0;
    m->opset = x->opset;
    size_t n = strlen(mp->producer_name ? mp->producer_name : "") +
               strlen(mp->producer_version ? mp->producer_version : "") + 2;
    m->producer = ir_malloc(n);
    if (!m->producer)
        return nb_ox_error(x, NB_ONNX_ERROR_NOMEM, "out of memory");
    snprintf(m->producer, n, "%s%s%s", mp->producer_name ? mp->producer_name : "",
             mp->producer_version && *mp->producer_version ? " " : "",
             mp->producer_version ? mp->producer_version : "");
    return 0;
}

static int find_opset(nb_ox *x, const Onnx__ModelProto *mp)
{
    x->opset = -1;
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const char *d = mp->opset_import[i]->domain;
        if (!d || !*d || !strcmp(d, "ai.onnx"))
            x->opset = mp->opset_import[i]->has_version ? mp->opset_import[i]->version : 0;
    }
    if (x->opset < 0)
        return nb_ox_error(x, NB_ONNX_ERROR_UNSUPPORTED,
                           "the model imports no opset of ONNX's "
                           "default domain");
    if (x->opset < NB_OX_OPSET_MIN || x->opset > NB_OX_OPSET_MAX)
        return nb_ox_error(x, NB_ONNX_ERROR_UNSUPPORTED,
                           "opset %lld is not supported (nabla reads "
                           "opsets %d to %d)",
                           (long long)x->opset, NB_OX_OPSET_MIN, NB_OX_OPSET_MAX);
    return 0;
}

/* Nonzero when the comma-separated list holds the k bytes of op as an item. */
static int listed(const char *list, const char *op, size_t k)
{
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == k && !strncmp(p, op, k))
            return 1;
        p += n + (end != NULL);
    }
    return 0;
}

/* m->op_types: the distinct op types, comma-separated; 0 or -1 (out of memory). */
static int list_op_types(nb_ox *x, const Onnx__GraphProto *gp)
{
    size_t n = 1;
    for (size_t i = 0; i < gp->n_node; i++)
        n += strlen(gp->node[i]->op_type ? gp->node[i]->op_type : "") + 1;
    char *s = ir_malloc(n);
    if (!s)
        return nb_ox_error(x, NB_ONNX_ERROR_NOMEM, "out of memory");
    size_t len = 0;
    s[0] = 0;
    for (size_t i = 0; i < gp->n_node; i++) {
        const char *op = gp->node[i]->op_type ? gp->node[i]->op_type : "";
        size_t k = strlen(op);
        if (listed(s, op, k))
            continue;
        len += (size_t)snprintf(s + len, n - len, "%s%s", len ? "," : "", op);
    }
    x->m->op_types = s;
    return 0;
}

void nb_onnx_model_free(nb_onnx_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n_inputs; i++)
        free((char *)m->inputs[i].name);
    for (int i = 0; i < m->n_outputs; i++)
        free((char *)m->outputs[i].name);
    for (int i = 0; i < m->n_initializers; i++)
        free((char *)m->initializers[i].name);
    free(m->inputs);
    free(m->outputs);
    free(m->initializers);
    free(m->producer);
    free(m->op_types);
    nb_graph_extras_free(&m->extras);
    memset(m, 0, sizeof *m);
}

static void state_free(nb_ox *x)
{
    node_done(x);
    for (size_t v = 0; v < x->n_vals; v++)
        nb_ox_const_free(x->vals[v].known);
    free(x->vals);
    free(x->slots);
    for (size_t i = 0; i < x->n_params; i++)
        free(x->params[i].data);
    free(x->params);
}

nb_graph *nb_onnx_parse(const void *bytes, size_t len, const nb_onnx_options *o, nb_onnx_model *m,
                        char *err, size_t err_size)
{
    nb_onnx_model dummy;
    if (!m)
        m = &dummy;
    memset(m, 0, sizeof *m);
    if (!bytes && len) {
        ir_errbuf(err, err_size, "onnx: the bytes are NULL");
        m->error = NB_ONNX_ERROR_INVALID;
        return NULL;
    }
    nb_ox x = {0};
    x.m = m;
    if (o)
        x.opt = *o;
    Onnx__ModelProto *mp = onnx__model_proto__unpack(&nb_ox_allocator, len, bytes);
    if (!mp) {
        /* protobuf-c does not say which: both are reported as invalid bytes. */
        nb_ox_error(&x, NB_ONNX_ERROR_INVALID,
                    "not an ONNX model (malformed protobuf, or out of "
                    "memory)");
        goto fail;
    }
    if (!mp->graph) {
        nb_ox_error(&x, NB_ONNX_ERROR_INVALID, "the model has no graph");
        goto fail;
    }
    if (list_op_types(&x, mp->graph) != 0 || find_opset(&x, mp) != 0)
        goto fail;
    x.g = nb_graph_new();
    if (!x.g) {
        nb_ox_error(&x, NB_ONNX_ERROR_NOMEM, "out of memory");
        goto fail;
    }
    if (add_initializers(&x, mp->graph) != 0 || add_inputs(&x, mp->graph) != 0)
        goto fail;
    for (size_t i = 0; i < mp->graph->n_node; i++) {
        int rc = import_node(&x, mp->graph->node[i], i);
        if (rc != 0)
            nb_ox_error_at_node(&x);
        node_done(&x);
        if (rc != 0)
            goto fail;
    }
    if (add_outputs(&x, mp->graph) != 0 || report(&x, mp) != 0)
        goto fail;
    state_free(&x);
    onnx__model_proto__free_unpacked(mp, &nb_ox_allocator);
    return x.g;
fail:
    ir_errbuf(err, err_size, "onnx: %s", x.msg);
    char *ops = m->op_types;
    m->op_types = NULL;
    nb_onnx_model_free(m);
    m->op_types = ops;
    m->error = x.error;
    state_free(&x);
    nb_graph_free(x.g);
    if (mp)
        onnx__model_proto__free_unpacked(mp, &nb_ox_allocator);
    return NULL;
}
