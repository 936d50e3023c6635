/* nb_ox_shape_known.c — the importers of ONNX's shape ops whose result is known at load
 * time, computed on the host: Shape and Size (nabla's shapes are static), ConstantOfShape,
 * Range (of known inputs) and EyeLike. */
#include <math.h>

#include "nb_ox.h"
#include "nb_ox_shape.h"

/* Shape: the input's dims (static), from start to end (opset 15), as INT64. */
int nb_ox_shape(nb_ox *x)
{
    int r = nb_ox_in_rank(x, 0);
    int64_t s = nb_ox_attr_int(x, "start", 0), e = nb_ox_attr_int(x, "end", INT64_MAX);
    if (r < 0)
        return nb_ox_fail(x, "input 0 is missing");
    s = s < 0 ? (s + r < 0 ? 0 : s + r) : (s > r ? r : s);
    e = e < 0 ? (e + r < 0 ? 0 : e + r) : (e > r ? r : e);
    int64_t n = e > s ? e - s : 0;
    nb_ox_const *k = nb_ox_const_new(x, NB_ONNX_INT64, 1, &n);
    for (int64_t j = 0; k && j < n; j++)
        k->i[j] = nb_ox_in_dims(x, 0)[s + j];
    return nb_ox_out_known(x, 0, k);
}

/* Size: the input's element count, an INT64 scalar. */
int nb_ox_size(nb_ox *x)
{
    int r = nb_ox_in_rank(x, 0);
    if (r < 0)
        return nb_ox_fail(x, "input 0 is missing");
    nb_ox_const *k = nb_ox_const_new(x, NB_ONNX_INT64, 0, NULL);
    if (k)
        k->i[0] = nb_ox_numel(r, nb_ox_in_dims(x, 0));
    return nb_ox_out_known(x, 0, k);
}

/* ConstantOfShape: the shape input (known) filled with value's one element (default a
 * FLOAT 0). */
int nb_ox_constant_of_shape(nb_ox *x)
{
    int64_t s[NB_OX_LIST_MAX];
    int n;
    const nb_ox_const *v = nb_ox_attr_tensor(x, "value");
    if (nb_ox_in_ints(x, 0, "shape", s, NB_OX_LIST_MAX, &n) != 0)
        return -1;
    if (v && v->numel != 1)
        return nb_ox_fail(x, "value must hold one element");
    if (n > NB_MAX_RANK)
        return nb_ox_unsupported(x, "rank %d", n);
    nb_ox_const *k = nb_ox_const_new(x, v ? v->type : NB_ONNX_FLOAT, n, s);
    for (int64_t j = 0; k && v && j < k->numel; j++)
        if (k->f)
            k->f[j] = v->f[0];
        else
            k->i[j] = v->i[0];
    return nb_ox_out_known(x, 0, k);
}

/* Range: start, limit, delta (known scalars): max(ceil((limit - start) / delta), 0)
 * values start + i * delta, of their type. */
int nb_ox_range(nb_ox *x)
{
    const nb_ox_const *ks = nb_ox_in_const(x, 0, "start");
    const nb_ox_const *kl = ks ? nb_ox_in_const(x, 1, "limit") : NULL;
    const nb_ox_const *kd = kl ? nb_ox_in_const(x, 2, "delta") : NULL;
    if (!kd)
        return -1;
    if (ks->numel != 1 || kl->numel != 1 || kd->numel != 1)
        return nb_ox_fail(x, "start, limit and delta must be scalars");
    nb_ox_const *o;
    if (ks->f) {
        double s = ks->f[0], l = kl->f[0], d = kd->f[0];
        double c = d != 0 ? ceil((l - s) / d) : NAN;
        if (!(c < (double)NB_OX_ELEMENTS_MAX))
            return nb_ox_fail(x, "a range of %g values", c);
        int64_t n = c > 0 ? (int64_t)c : 0;
        o = nb_ox_const_new(x, ks->type, 1, &n);
        /* ONNX's reference computes start + (i * delta) in the input's type: in f32 the
         * product and the sum are each rounded. */
        for (int64_t j = 0; o && j < n; j++)
            o->f[j] =
                ks->type == NB_ONNX_FLOAT ? (double)(float)(s + (double)(float)(j * d)) : s + j * d;
    } else {
        int64_t s = ks->i[0], l = kl->i[0], d = kd->i[0], big = (int64_t)1 << 62;
        if (d == 0)
            return nb_ox_fail(x, "delta is 0");
        if (s < -big || s > big || l < -big || l > big || d < -big || d > big)
            return nb_ox_unsupported(x, "start, limit or delta beyond 2^62");
        int64_t diff = l - s, n = diff / d + ((diff % d) != 0 && ((diff < 0) == (d < 0)));
        n = n > 0 ? n : 0;
        o = nb_ox_const_new(x, ks->type, 1, &n);
        for (int64_t j = 0; o && j < n; j++)
            o->i[j] = s + j * d;
    }
    return nb_ox_out_known(x, 0, o);
}

/* EyeLike: ones on diagonal k of a rank-2 shape like the input's, of type dtype (by
 * default the input's). */
int nb_ox_eye_like(nb_ox *x)
{
    int type = (int)nb_ox_attr_int(x, "dtype", nb_ox_in_type(x, 0));
    int64_t k = nb_ox_attr_int(x, "k", 0);
    if (nb_ox_in_rank(x, 0) != 2)
        return nb_ox_fail(x, "needs an input of rank 2");
    if (nb_onnx_type_dtype(type) < 0)
        return nb_ox_unsupported(x, "dtype %s", nb_onnx_type_name(type));
    const int64_t *d = nb_ox_in_dims(x, 0);
    nb_ox_const *o = nb_ox_const_new(x, type, 2, d);
    if (k <= -d[0] || k >= d[1])
        return nb_ox_out_known(x, 0, o); /* the diagonal misses: all zeros */
    for (int64_t i = 0; o && i < d[0]; i++)
        if (i + k >= 0 && i + k < d[1]) {
            if (o->f)
                o->f[i * d[1] + i + k] = 1;
            else
                o->i[i * d[1] + i + k] = 1;
        }
    return nb_ox_out_known(x, 0, o);
}
