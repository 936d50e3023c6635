/* nb_ox_nn3.c — the importers of ONNX's normalisation ops (BatchNormalization,
 * InstanceNormalization, LayerNormalization), Dropout in inference, and the nearest modes
 * of Upsample and Resize. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nb_ox_nn.h"

/* Input i, a vector of c values (the per-channel inputs of the norms). */
static nb_node *channel_in(nb_ox *x, int i, int64_t c, const char *what)
{
    if (nb_ox_in_rank(x, i) != 1 || nb_ox_in_dims(x, i)[0] != c)
        return nb_ox_fail(x, "%s must be a vector of the %lld channels", what, (long long)c), NULL;
    return nb_ox_in(x, i);
}

/* x's mean over the axes from `from` on (all but axis 1 when from is -1) and its biased
 * variance, both kept as size-1 axes. */
static void moments(nb_graph *g, nb_node *in, int from, nb_node **mean, nb_node **var)
{
    int r = nb_node_rank(in), axes[NB_MAX_RANK], n = 0;
    for (int i = from < 0 ? 0 : from; i < r; i++)
        if (from >= 0 || i != 1)
            axes[n++] = i;
    *mean = nb_mean(g, in, axes, n, 1);
    *var = nb_mean(g, nb_square(g, nb_sub(g, in, *mean)), axes, n, 1);
}

/* BatchNormalization. Inference (opset 6 with is_test, opsets 7 to 13, training_mode 0):
 * nb_batch_norm with the running statistics. Training (opset 6's is_test 0, opset 14's
 * training_mode 1): the batch's statistics (biased variance) normalize, and the running
 * outputs of opset 14 are running * momentum + batch * (1 - momentum), ONNX's momentum
 * being torch's 1 - momentum; opset 6's extra outputs are refused. */
int nb_ox_batch_norm(nb_ox *x)
{
    nb_graph *g = nb_ox_graph(x);
    int opset = nb_ox_opset(x);
    double eps = nb_ox_attr_float(x, "epsilon", 1e-5);
    double momentum = nb_ox_attr_float(x, "momentum", 0.9);
    int64_t training = opset < 7 ? !nb_ox_attr_int(x, "is_test", 0) : 0;
    if (opset < 9 && nb_ox_attr_int(x, "spatial", 1) != 1)
        return nb_ox_unsupported(x, "attribute spatial=0 (statistics per activation) is not "
                                    "supported");
    if (opset >= 14)
        training = nb_ox_attr_int(x, "training_mode", 0);
    int extra = 0;
    for (int i = 1; i < nb_ox_n_outputs(x); i++)
        extra |= nb_ox_has_output(x, i);
    if (extra && (opset < 14 || !training))
        return nb_ox_unsupported(x,
                                 "the training outputs (mean, var, saved_mean, saved_var) "
                                 "of opset %d are not supported",
                                 opset);
    int r = nb_ox_in_rank(x, 0);
    if (r < 2)
        return nb_ox_fail(x, "X of rank %d; expected [N, C, ...]", r);
    int64_t c = nb_ox_in_dims(x, 0)[1];
    nb_node *in = nb_ox_in(x, 0), *scale = in ? channel_in(x, 1, c, "scale") : NULL;
    nb_node *b = scale ? channel_in(x, 2, c, "B") : NULL;
    nb_node *mean = b ? channel_in(x, 3, c, "mean") : NULL;
    nb_node *var = mean ? channel_in(x, 4, c, "var") : NULL;
    if (!var)
        return -1;
    if (!training)
        return nb_ox_out(x, 0, nb_batch_norm(g, in, mean, var, scale, b, 0, 0.1, eps, NULL, NULL));
    nb_node *y = nb_batch_norm(g, in, NULL, NULL, scale, b, 1, 0.1, eps, NULL, NULL);
    if (nb_ox_out(x, 0, y) != 0 || !extra)
        return y ? 0 : -1;
    nb_node *bm, *bv;
    moments(g, in, -1, &bm, &bv);
    nb_dtype dt = nb_node_dtype(in);
    nb_node *m = nb_scalar(g, dt, momentum), *m1 = nb_scalar(g, dt, 1.0 - momentum);
    int64_t vc[1] = {c};
    bm = nb_reshape(g, bm, 1, vc);
    bv = nb_reshape(g, bv, 1, vc);
    if (nb_ox_has_output(x, 1) &&
        nb_ox_out(x, 1, nb_add(g, nb_mul(g, mean, m), nb_mul(g, bm, m1))) != 0)
        return -1;
    if (nb_ox_has_output(x, 2) &&
        nb_ox_out(x, 2, nb_add(g, nb_mul(g, var, m), nb_mul(g, bv, m1))) != 0)
        return -1;
    return 0;
}

/* InstanceNormalization: group norm with one group per channel. */
int nb_ox_instance_norm(nb_ox *x)
{
    double eps = nb_ox_attr_float(x, "epsilon", 1e-5);
    int r = nb_ox_in_rank(x, 0);
    if (r < 3)
        return nb_ox_fail(x, "input of rank %d; expected [N, C, D1, ...]", r);
    int64_t c = nb_ox_in_dims(x, 0)[1];
    if (c > INT32_MAX)
        return nb_ox_fail(x, "%lld channels", (long long)c);
    nb_node *in = nb_ox_in(x, 0), *scale = in ? channel_in(x, 1, c, "scale") : NULL;
    nb_node *b = scale ? channel_in(x, 2, c, "B") : NULL;
    if (!b)
        return -1;
    return nb_ox_out(x, 0, nb_group_norm(nb_ox_graph(x), in, (int)c, scale, b, eps));
}

/* LayerNormalization (opset 17): nb_layer_norm over the axes from `axis` on, Scale and B
 * applied by it when they have those axes' shape, else broadcast after it; the Mean and
 * InvStdDev outputs are computed as ONNX's reference does. stash_type must be the
 * input's own float type (nabla's statistics sum in double either way). */
int nb_ox_layer_norm(nb_ox *x)
{
    nb_graph *g = nb_ox_graph(x);
    int64_t axis = nb_ox_attr_int(x, "axis", -1), stash = nb_ox_attr_int(x, "stash_type", 1);
    double eps = nb_ox_attr_float(x, "epsilon", 1e-5);
    int r = nb_ox_in_rank(x, 0), a = nb_ox_axis(x, axis, r, "axis");
    if (a < 0)
        return -1;
    int in_type = nb_ox_in_type(x, 0);
    if (!((in_type == NB_ONNX_FLOAT && stash == 1) || (in_type == NB_ONNX_DOUBLE && stash == 11)))
        return nb_ox_unsupported(x, "stash_type %lld for a %s input", (long long)stash,
                                 nb_onnx_type_name(in_type));
    nb_node *in = nb_ox_in(x, 0), *scale = in ? nb_ox_in(x, 1) : NULL, *b = NULL;
    if (!scale || (nb_ox_has_input(x, 2) && !(b = nb_ox_in(x, 2))))
        return -1;
    int nr = r - a, fits = 1;
    const int64_t *xd = nb_node_shape(in);
    nb_node *p[2] = {scale, b};
    for (int i = 0; i < 2; i++)
        fits &= !p[i] || (nb_node_rank(p[i]) == nr &&
                          !memcmp(nb_node_shape(p[i]), xd + a, (size_t)nr * sizeof *xd));
    nb_node *y = nb_layer_norm(g, in, nr, fits ? scale : NULL, fits ? b : NULL, eps);
    if (!fits) {
        y = nb_mul(g, y, scale);
        if (b)
            y = nb_add(g, y, b);
    }
    if (nb_ox_out(x, 0, y) != 0)
        return -1;
    if (!nb_ox_has_output(x, 1) && !nb_ox_has_output(x, 2))
        return 0;
    nb_node *mean, *var;
    moments(g, in, a, &mean, &var);
    nb_node *inv =
        nb_reciprocal(g, nb_sqrt(g, nb_add(g, var, nb_scalar(g, nb_node_dtype(in), eps))));
    if (nb_ox_has_output(x, 1) && nb_ox_out(x, 1, mean) != 0)
        return -1;
    if (nb_ox_has_output(x, 2) && nb_ox_out(x, 2, inv) != 0)
        return -1;
    return 0;
}

/* Dropout: in inference (opset 6's is_test 1, opsets 7 to 11, training_mode false) and in
 * training with ratio 0, the output is the input and the mask all true; a random mask is
 * refused (its numbers could not be ONNX's). */
int nb_ox_dropout(nb_ox *x)
{
    int opset = nb_ox_opset(x);
    double ratio = 0.5;
    int training = 0;
    if (opset < 12)
        ratio = nb_ox_attr_float(x, "ratio", 0.5);
    if (opset < 7)
        training = !nb_ox_attr_int(x, "is_test", 0);
    if (opset >= 12) {
        (void)nb_ox_attr_int(x, "seed", 0); /* the seed of a random mask, refused below */
        if (nb_ox_has_input(x, 2)) {
            const nb_ox_const *t = nb_ox_in_const(x, 2, "training_mode");
            if (!t)
                return -1;
            if (t->numel != 1)
                return nb_ox_fail(x, "training_mode must be a scalar");
            training = nb_ox_const_get(t, 0) != 0;
        }
        if (training && nb_ox_has_input(x, 1)) {
            const nb_ox_const *k = nb_ox_in_const(x, 1, "ratio");
            if (!k)
                return -1;
            if (k->numel != 1)
                return nb_ox_fail(x, "ratio must be a scalar");
            ratio = nb_ox_const_get(k, 0);
        }
    }
    if (!(ratio >= 0 && ratio < 1))
        return nb_ox_fail(x, "ratio is %g; expected [0, 1)", ratio);
    if (training && ratio != 0)
        return nb_ox_unsupported(x, "a random mask (training with ratio %g)", ratio);
    const nb_ox_const *k = nb_ox_in_known(x, 0);
    int rc = k ? nb_ox_out_known(x, 0, nb_ox_const_dup(x, k))
               : nb_ox_out_typed(x, 0, nb_ox_in(x, 0), nb_ox_in_type(x, 0));
    if (rc != 0 || !nb_ox_has_output(x, 1))
        return rc;
    nb_ox_const *mask = nb_ox_const_new(x, NB_ONNX_BOOL, nb_ox_in_rank(x, 0), nb_ox_in_dims(x, 0));
    for (int64_t i = 0; mask && i < mask->numel; i++)
        mask->i[i] = 1;
    return nb_ox_out_known(x, 1, mask);
}

/* ---- Upsample and Resize, nearest ---- */

/* A string attribute copied (the getter's copy lasts until the next getter call); a
 * longer value is cut, which matches no mode. */
static void str_attr(nb_ox *x, const char *name, const char *def, char out[32])
{
    snprintf(out, 32, "%s", nb_ox_attr_string(x, name, def));
}

/* x with axis a picked by the input index idx[o] of each of its `out` outputs: a
 * replication (reshape and broadcast) when idx[o] = o / s, else a gather of the axis
 * moved to the front. */
static nb_node *pick_axis(nb_ox *x, nb_node *in, int a, int64_t out, const int64_t *idx)
{
    nb_graph *g = nb_ox_graph(x);
    int r = nb_node_rank(in);
    const int64_t *d = nb_node_shape(in);
    int64_t size = d[a], s = out % size == 0 ? out / size : 0;
    int rep = s > 0, same = out == size;
    for (int64_t o = 0; o < out; o++) {
        rep &= idx[o] == o / (s ? s : 1);
        same &= idx[o] == o;
    }
    if (same)
        return in;
    if (rep && r < NB_MAX_RANK) {
        int64_t sh[NB_MAX_RANK], bs[NB_MAX_RANK], os[NB_MAX_RANK];
        for (int i = 0, j = 0; i < r; i++) {
            sh[j] = bs[j] = d[i];
            os[i] = i == a ? out : d[i];
            j++;
            if (i == a) {
                sh[j] = 1;
                bs[j++] = s;
            }
        }
        return nb_reshape(g, nb_broadcast_to(g, nb_reshape(g, in, r + 1, sh), r + 1, bs), r, os);
    }
    double *v = malloc((size_t)out * sizeof *v);
    if (!v)
        return nb_ox_fail(x, "out of memory"), NULL;
    for (int64_t o = 0; o < out; o++)
        v[o] = (double)idx[o];
    nb_node *index = nb_constant(g, NB_I32, 1, &out, v);
    free(v);
    int fwd[NB_MAX_RANK], back[NB_MAX_RANK];
    fwd[0] = a;
    for (int i = 0, j = 1; i < r; i++)
        if (i != a)
            fwd[j++] = i;
    for (int i = 0; i < r; i++)
        back[fwd[i]] = i;
    return nb_permute(g, nb_gather(g, nb_permute(g, in, fwd, r), index), back, r);
}

/* The input index of output o of an axis of `size` resized by `scale` to `out`, as
 * ONNX's reference Resize finds the nearest pixel: -1 for a mode that is not known. */
static int64_t nearest_index(const char *ctm, const char *nm, int64_t o, int64_t size, int64_t out,
                             double scale, int *outside)
{
    double ow = scale * (double)size, xo;
    (void)out;
    if (!strcmp(ctm, "half_pixel"))
        xo = ((double)o + 0.5) / scale - 0.5;
    else if (!strcmp(ctm, "pytorch_half_pixel"))
        xo = ow == 1 ? -0.5 : ((double)o + 0.5) / scale - 0.5;
    else if (!strcmp(ctm, "align_corners"))
        xo = ow == 1 ? 0.0 : (double)o * (double)(size - 1) / (ow - 1);
    else if (!strcmp(ctm, "asymmetric"))
        xo = (double)o / scale;
    else if (!strcmp(ctm, "tf_half_pixel_for_nn"))
        xo = ((double)o + 0.5) / scale;
    else
        return -1;
    double fl = floor(xo), ratio = xo - fl;
    int64_t i;
    if (ratio == 0)
        i = (int64_t)fl;
    else if (!strcmp(nm, "round_prefer_floor"))
        i = (int64_t)fl + (ratio > 0.5);
    else if (!strcmp(nm, "round_prefer_ceil"))
        i = (int64_t)fl + (ratio >= 0.5);
    else if (!strcmp(nm, "floor"))
        i = (int64_t)fl;
    else if (!strcmp(nm, "ceil"))
        i = (int64_t)fl + 1;
    else
        return -1;
    *outside |= i < 0 || i >= size;
    return i < 0 ? 0 : i >= size ? size - 1 : i;
}

/* Upsample (opsets 7 to 9) and Resize (10 to 17) in the nearest mode. Upsample and
 * Resize-10 take integer scales only (each input element repeated: every coordinate
 * mode agrees there); Resize-11 and later follow the coordinate transformation and
 * nearest mode of ONNX's reference, for scales or sizes known at load time. */
int nb_ox_resize(nb_ox *x)
{
    int opset = nb_ox_opset(x), upsample = !strcmp(nb_ox_op_type(x), "Upsample");
    int legacy = upsample || opset < 11, r = nb_ox_in_rank(x, 0), outside = 0;
    char mode[32], ctm[32] = "asymmetric", nm[32] = "floor";
    str_attr(x, "mode", "nearest", mode);
    double scales[NB_MAX_RANK];
    int64_t out[NB_MAX_RANK], exclude = 0;
    if (!legacy) {
        str_attr(x, "coordinate_transformation_mode", "half_pixel", ctm);
        str_attr(x, "nearest_mode", "round_prefer_floor", nm);
        (void)nb_ox_attr_float(x, "cubic_coeff_a", -0.75);   /* cubic mode only */
        (void)nb_ox_attr_float(x, "extrapolation_value", 0); /* tf_crop_and_resize only */
        exclude = nb_ox_attr_int(x, "exclude_outside", 0);
    }
    if (strcmp(mode, "nearest"))
        return nb_ox_unsupported(x, "mode '%.40s'; only nearest is supported", mode);
    if (r < 1)
        return nb_ox_fail(x, "X must have a rank");
    const int64_t *xd = nb_ox_in_dims(x, 0);
    int n = -1;
    int64_t sizes[NB_OX_LIST_MAX];
    if (!legacy && nb_ox_has_input(x, 3)) {
        if (nb_ox_in_ints(x, 3, "sizes", sizes, NB_OX_LIST_MAX, &n) != 0)
            return -1;
        if (n == 0)
            n = -1;
    }
    int from_sizes = n >= 0;
    if (from_sizes) {
        if (n != r)
            return nb_ox_fail(x, "sizes has %d values for an input of rank %d", n, r);
        for (int i = 0; i < r; i++) {
            out[i] = sizes[i];
            scales[i] = (double)sizes[i] / (double)xd[i];
        }
    } else if (upsample && opset < 9) {
        n = nb_ox_attr_floats(x, "scales", scales, NB_MAX_RANK);
        if (n == -2)
            return -1;
    } else {
        const nb_ox_const *k = nb_ox_in_const(x, legacy ? 1 : 2, "scales");
        if (!k)
            return -1;
        n = k->numel <= NB_MAX_RANK ? (int)k->numel : -1;
        for (int i = 0; i < n; i++)
            scales[i] = nb_ox_const_get(k, i);
    }
    if (n != r)
        return nb_ox_fail(x, "%d scales or sizes for an input of rank %d", n, r);
    for (int i = 0; i < r; i++) {
        if (!(scales[i] > 0) || scales[i] * (double)xd[i] > (double)INT32_MAX)
            return nb_ox_fail(x, "scale %g of axis %d", scales[i], i);
        if (!from_sizes)
            out[i] = (int64_t)(scales[i] * (double)xd[i]);
        if (out[i] < 1)
            return nb_ox_fail(x, "axis %d would be empty", i);
        if (legacy && scales[i] != floor(scales[i]))
            return nb_ox_unsupported(x, "scale %g of axis %d is not an integer", scales[i], i);
    }
    double numel = 1;
    for (int i = 0; i < r; i++)
        numel *= (double)out[i];
    if (numel > (double)INT32_MAX)
        return nb_ox_unsupported(x, "an output of %.0f elements (at most 2^31 - 1)", numel);
    nb_node *y = nb_ox_in(x, 0);
    for (int i = 0; y && i < r; i++) {
        int64_t *idx = malloc((size_t)out[i] * sizeof *idx);
        if (!idx)
            return nb_ox_fail(x, "out of memory");
        for (int64_t o = 0; o < out[i]; o++) {
            idx[o] = legacy ? o / (int64_t)scales[i]
                            : nearest_index(ctm, nm, o, xd[i], out[i], scales[i], &outside);
            if (idx[o] < 0) {
                free(idx);
                return nb_ox_unsupported(x,
                                         "coordinate_transformation_mode '%.40s' or "
                                         "nearest_mode '%.40s'",
                                         ctm, nm);
            }
        }
        if (exclude && outside) {
            free(idx);
            return nb_ox_unsupported(x, "exclude_outside with a nearest pixel outside");
        }
        y = pick_axis(x, y, i, out[i], idx);
        free(idx);
    }
    return nb_ox_out(x, 0, y);
}
