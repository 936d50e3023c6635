/* nb_index.c — builders of the ops that move elements by computed positions: pad,
 * scatter_add, index_add, cumsum. */
#include "ir.h"

/* F.pad's flat list, pairs from the last axis, becomes per-axis lo/hi in attr.pad; the
 * shape rule checks the sizes. */
nb_node *nb_pad(nb_graph *g, nb_node *x, int n_pads, const int64_t *pads, nb_pad_mode mode,
                double value)
{
    ir_attr attr = {0};
    char t[IR_TYPE_STR_MAX];
    if (!g || g->error)
        return NULL;
    if (!x || x->graph != g)
        return ir_make1(g, IR_OP_PAD, x, NULL); /* reports the operand */
    if (mode != NB_PAD_CONSTANT && mode != NB_PAD_REFLECT) {
        ir_error(g, "pad: unknown mode %d for %s", (int)mode, ir_type_str(x, t, sizeof t));
        return NULL;
    }
    if (n_pads < 0 || n_pads % 2 != 0 || n_pads > 2 * x->rank || (n_pads > 0 && !pads)) {
        ir_error(g, "pad: %d pads for %s%s; expected an even count up to %d (two per axis)", n_pads,
                 ir_type_str(x, t, sizeof t), n_pads > 0 && !pads ? " (NULL)" : "", 2 * x->rank);
        return NULL;
    }
    attr.pad.rank = x->rank;
    attr.pad.reflect = mode == NB_PAD_REFLECT;
    attr.f[0] = value;
    for (int k = 0; k < n_pads / 2; k++) {
        attr.pad.lo[x->rank - 1 - k] = pads[2 * k];
        attr.pad.hi[x->rank - 1 - k] = pads[2 * k + 1];
    }
    return ir_make1(g, IR_OP_PAD, x, &attr);
}

/* The axis normalized (negative counts from the end) when x can be looked at; the shape
 * rule reports a bad one. */
static int norm_axis(nb_graph *g, const nb_node *x, int axis)
{
    if (g && x && x->graph == g && axis < 0 && axis >= -x->rank)
        return axis + x->rank;
    return axis;
}

nb_node *nb_scatter_add(nb_graph *g, nb_node *x, int axis, nb_node *index, nb_node *src)
{
    ir_attr attr = {0};
    attr.axis = norm_axis(g, x, axis);
    return ir_make3(g, IR_OP_SCATTER_ADD_AXIS, x, index, src, &attr);
}

/* index_add is scatter_add with the 1-D index standing along the axis and broadcast to
 * source's shape: its gradients (gy for x, the picked rows of gy for source) follow. */
nb_node *nb_index_add(nb_graph *g, nb_node *x, int axis, nb_node *index, nb_node *source)
{
    char ti[IR_TYPE_STR_MAX], ts[IR_TYPE_STR_MAX];
    if (!g || g->error)
        return NULL;
    const nb_node *ops[3] = {x, index, source};
    for (int i = 0; i < 3; i++) {
        if (!ops[i]) {
            ir_error(g, "index_add: operand %d is NULL", i);
            return NULL;
        }
        if (ops[i]->graph != g) {
            ir_error(g, "index_add: operand %d (node %d) belongs to another graph", i, ops[i]->id);
            return NULL;
        }
    }
    if (index->dtype != NB_I32) {
        ir_error(g, "index_add: the index is %s; it must be i32",
                 ir_type_str(index, ti, sizeof ti));
        return NULL;
    }
    int a = norm_axis(g, x, axis);
    if (a < 0 || a >= x->rank || source->rank != x->rank) {
        ir_error(g, "index_add: axis %d and source %s do not fit x of rank %d", axis,
                 ir_type_str(source, ts, sizeof ts), x->rank);
        return NULL;
    }
    if (index->rank != 1 || index->shape[0] != source->shape[a]) {
        ir_error(g, "index_add: the index %s must be 1-D with source's %lld entries along axis %d",
                 ir_type_str(index, ti, sizeof ti), (long long)source->shape[a], axis);
        return NULL;
    }
    int64_t shape[NB_MAX_RANK];
    for (int d = 0; d < x->rank; d++)
        shape[d] = d == a ? index->shape[0] : 1;
    ir_node *column = ir_reshape(g, index, x->rank, shape);
    ir_node *wide = ir_broadcast_to(g, column, source->rank, source->shape);
    return nb_scatter_add(g, x, a, wide, source);
}

nb_node *nb_cumsum(nb_graph *g, nb_node *x, int axis)
{
    ir_attr attr = {0};
    attr.axis = norm_axis(g, x, axis);
    return ir_make1(g, IR_OP_CUMSUM, x, &attr);
}
