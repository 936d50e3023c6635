/* nb_ox_attr.c — a node's attributes as importers read them (nb_ox.h): typed getters
 * with defaults that mark what they read, so that the loader refuses an attribute no
 * importer understood instead of ignoring it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nb_ox_state.h"

/* AttributeProto.AttributeType values. */
enum {
    OX_ATTR_FLOAT = 1,
    OX_ATTR_INT = 2,
    OX_ATTR_STRING = 3,
    OX_ATTR_TENSOR = 4,
    OX_ATTR_FLOATS = 6,
    OX_ATTR_INTS = 7
};

static const char *attr_type_name(int t)
{
    static const char *const names[] = {
        "UNDEFINED",      "FLOAT",      "INT",        "STRING",  "TENSOR", "GRAPH",
        "FLOATS",         "INTS",       "STRINGS",    "TENSORS", "GRAPHS", "SPARSE_TENSOR",
        "SPARSE_TENSORS", "TYPE_PROTO", "TYPE_PROTOS"};
    return t >= 0 && t < (int)(sizeof names / sizeof names[0]) ? names[t] : "?";
}

/* The node's attribute named name, marked as read; NULL when absent. */
static const Onnx__AttributeProto *find(nb_ox *x, const char *name)
{
    for (size_t a = 0; a < x->node->n_attribute; a++) {
        const Onnx__AttributeProto *p = x->node->attribute[a];
        if (p->name && !strcmp(p->name, name)) {
            x->attr_read[a] = 1;
            return p;
        }
    }
    return NULL;
}

int nb_ox_attr_check(nb_ox *x, const Onnx__AttributeProto *a, int want)
{
    int type = a->has_type ? a->type : 0;
    /* Models before IR version 2 may leave the type out: accept what the field holds. */
    if (type == 0)
        return 0;
    if (type != want) {
        x->attr_error = 1;
        return nb_ox_fail(x, "attribute '%.100s' is %s, expected %s", a->name, attr_type_name(type),
                          attr_type_name(want));
    }
    return 0;
}

int nb_ox_attr_unread(nb_ox *x, const Onnx__AttributeProto *a)
{
    int type = a->has_type ? a->type : 0;
    if (type == OX_ATTR_INT)
        return nb_ox_unsupported(x, "attribute %.100s=%lld is not supported", a->name,
                                 (long long)a->i);
    if (type == OX_ATTR_STRING)
        return nb_ox_unsupported(x, "attribute %.100s='%.*s' is not supported", a->name,
                                 (int)(a->s.len > 100 ? 100 : a->s.len),
                                 a->s.data ? (const char *)a->s.data : "");
    return nb_ox_unsupported(x, "attribute '%.100s' (%s) is not supported", a->name,
                             attr_type_name(type));
}

int nb_ox_has_attr(nb_ox *x, const char *name)
{
    return find(x, name) != NULL;
}

int64_t nb_ox_attr_int(nb_ox *x, const char *name, int64_t def)
{
    const Onnx__AttributeProto *a = find(x, name);
    if (!a || nb_ox_attr_check(x, a, OX_ATTR_INT) != 0)
        return def;
    return a->i;
}

double nb_ox_attr_float(nb_ox *x, const char *name, double def)
{
    const Onnx__AttributeProto *a = find(x, name);
    if (!a || nb_ox_attr_check(x, a, OX_ATTR_FLOAT) != 0)
        return def;
    return a->f;
}

const char *nb_ox_attr_string(nb_ox *x, const char *name, const char *def)
{
    const Onnx__AttributeProto *a = find(x, name);
    if (!a || nb_ox_attr_check(x, a, OX_ATTR_STRING) != 0)
        return def;
    /* An empty string may have no data at all (NULL): memchr and memcpy must not see it. */
    if (a->s.len >= sizeof x->str || (a->s.len && memchr(a->s.data, 0, a->s.len))) {
        nb_ox_unsupported(x,
                          "attribute '%.100s' is a string of %zu bytes (at most %zu without "
                          "NUL bytes are read)",
                          a->name, a->s.len, sizeof x->str - 1);
        return def;
    }
    if (a->s.len)
        memcpy(x->str, a->s.data, a->s.len);
    x->str[a->s.len] = 0;
    return x->str;
}

int nb_ox_attr_ints(nb_ox *x, const char *name, int64_t *out, int max)
{
    const Onnx__AttributeProto *a = find(x, name);
    if (!a)
        return -1;
    if (nb_ox_attr_check(x, a, OX_ATTR_INTS) != 0)
        return -2;
    if (a->n_ints > (size_t)max) {
        nb_ox_unsupported(x, "attribute '%.100s' has %zu values, at most %d are supported", name,
                          a->n_ints, max);
        return -2;
    }
    for (size_t j = 0; j < a->n_ints; j++)
        out[j] = a->ints[j];
    return (int)a->n_ints;
}

int nb_ox_attr_floats(nb_ox *x, const char *name, double *out, int max)
{
    const Onnx__AttributeProto *a = find(x, name);
    if (!a)
        return -1;
    if (nb_ox_attr_check(x, a, OX_ATTR_FLOATS) != 0)
        return -2;
    if (a->n_floats > (size_t)max) {
        nb_ox_unsupported(x, "attribute '%.100s' has %zu values, at most %d are supported", name,
                          a->n_floats, max);
        return -2;
    }
    for (size_t j = 0; j < a->n_floats; j++)
        out[j] = a->floats[j];
    return (int)a->n_floats;
}

const nb_ox_const *nb_ox_attr_tensor(nb_ox *x, const char *name)
{
    const Onnx__AttributeProto *a = find(x, name);
    if (!a || nb_ox_attr_check(x, a, OX_ATTR_TENSOR) != 0)
        return NULL;
    if (!a->t) {
        nb_ox_fail(x, "attribute '%.100s' holds no tensor", name);
        return NULL;
    }
    nb_ox_const **list = ir_realloc(x->attr_consts, (x->n_attr_consts + 1) * sizeof *list);
    if (!list) {
        nb_ox_error(x, NB_ONNX_ERROR_NOMEM, "out of memory");
        return NULL;
    }
    x->attr_consts = list;
    char why[NB_OX_MSG_MAX / 2];
    nb_onnx_error kind;
    nb_ox_const *k;
    if (nb_ox_tensor_decode(a->t, &k, &kind, why, sizeof why) != 0) {
        if (kind == NB_ONNX_ERROR_UNSUPPORTED)
            nb_ox_unsupported(x, "attribute '%.100s': %s", name, why);
        else if (kind == NB_ONNX_ERROR_NOMEM)
            nb_ox_error(x, kind, "out of memory");
        else
            nb_ox_fail(x, "attribute '%.100s': %s", name, why);
        return NULL;
    }
    x->attr_consts[x->n_attr_consts++] = k;
    return k;
}
