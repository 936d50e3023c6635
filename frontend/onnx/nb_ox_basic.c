/* nb_ox_basic.c — the importers of values passed on or made at load time: Identity and
 * Constant. */
#include <string.h>

#include "nb_ox.h"

int nb_ox_identity(nb_ox *x)
{
    const nb_ox_const *k = nb_ox_in_known(x, 0);
    /* A trainable initializer stays its parameter's node: a copy would freeze it. */
    if (k && !nb_ox_in_param(x, 0))
        return nb_ox_out_known(x, 0, nb_ox_const_dup(x, k));
    return nb_ox_out_typed(x, 0, nb_ox_in(x, 0), nb_ox_in_type(x, 0));
}

/* Constant: value (a tensor), or since opset 12 value_float(s) / value_int(s); sparse
 * and string values are refused (their attributes stay unread). */
int nb_ox_constant(nb_ox *x)
{
    const nb_ox_const *t = nb_ox_attr_tensor(x, "value");
    if (t)
        return nb_ox_out_known(x, 0, nb_ox_const_dup(x, t));
    if (nb_ox_has_attr(x, "value_float")) {
        nb_ox_const *k = nb_ox_const_new(x, NB_ONNX_FLOAT, 0, NULL);
        if (k)
            k->f[0] = nb_ox_attr_float(x, "value_float", 0);
        return nb_ox_out_known(x, 0, k);
    }
    if (nb_ox_has_attr(x, "value_int")) {
        nb_ox_const *k = nb_ox_const_new(x, NB_ONNX_INT64, 0, NULL);
        if (k)
            k->i[0] = nb_ox_attr_int(x, "value_int", 0);
        return nb_ox_out_known(x, 0, k);
    }
    int64_t ints[NB_OX_LIST_MAX];
    double floats[NB_OX_LIST_MAX];
    int n = nb_ox_attr_ints(x, "value_ints", ints, NB_OX_LIST_MAX);
    if (n >= 0) {
        int64_t dims[1] = {n};
        nb_ox_const *k = nb_ox_const_new(x, NB_ONNX_INT64, 1, dims);
        if (k)
            memcpy(k->i, ints, (size_t)n * sizeof *ints);
        return nb_ox_out_known(x, 0, k);
    }
    n = nb_ox_attr_floats(x, "value_floats", floats, NB_OX_LIST_MAX);
    if (n >= 0) {
        int64_t dims[1] = {n};
        nb_ox_const *k = nb_ox_const_new(x, NB_ONNX_FLOAT, 1, dims);
        if (k)
            memcpy(k->f, floats, (size_t)n * sizeof *floats);
        return nb_ox_out_known(x, 0, k);
    }
    if (n == -2)
        return -1;
    return nb_ox_unsupported(x, "a Constant needs value, value_float(s) or value_int(s)");
}
