/* nb_index.c — builders of the ops that move elements by computed positions: pad. */
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
