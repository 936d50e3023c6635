/* ir_shape.c — helpers shared by the shape rules: broadcasting, dtype checks, axes. */
#include <stdio.h>
#include <string.h>

#include "ir.h"

int ir_same_shape(const ir_node *a, const ir_node *b)
{
    if (a->rank != b->rank)
        return 0;
    for (int i = 0; i < a->rank; i++)
        if (a->shape[i] != b->shape[i])
            return 0;
    return 1;
}

/* Lists the operands' types as "f32[2,3], f32[3]" for error messages. */
static const char *operand_types(const ir_node *n, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < n->n_in && len + 2 < size; i++) {
        char t[IR_TYPE_STR_MAX];
        len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? ", " : "",
                                ir_type_str(n->in[i], t, sizeof t));
    }
    return buf;
}

int ir_broadcast_shapes(ir_graph *g, ir_node *n)
{
    int rank = 0;
    for (int i = 0; i < n->n_in; i++)
        if (n->in[i]->rank > rank)
            rank = n->in[i]->rank;
    for (int d = 0; d < rank; d++) {
        int64_t size = 1;
        for (int i = 0; i < n->n_in; i++) {
            const ir_node *x = n->in[i];
            int k = d - (rank - x->rank);
            if (k < 0 || x->shape[k] == 1)
                continue;
            if (size != 1 && size != x->shape[k]) {
                char buf[600];
                return ir_error(g, "%s: cannot broadcast %s (axis %d: %lld vs %lld)",
                                ir_op_defs[n->op].name, operand_types(n, buf, sizeof buf), d - rank,
                                (long long)size, (long long)x->shape[k]);
            }
            size = x->shape[k];
        }
        n->shape[d] = size;
    }
    n->rank = rank;
    return 0;
}

int ir_check_dtypes(ir_graph *g, ir_node *n, int float_only)
{
    char buf[600];
    for (int i = 0; i < n->n_in; i++) {
        if (n->in[i]->dtype != n->in[0]->dtype)
            return ir_error(g,
                            "%s: operands must share one dtype, got %s (convert one with nb_cast)",
                            ir_op_defs[n->op].name, operand_types(n, buf, sizeof buf));
        if (float_only && !ir_is_float(n->in[i]->dtype))
            return ir_error(g, "%s: expected f32 or f64 operands, got %s", ir_op_defs[n->op].name,
                            operand_types(n, buf, sizeof buf));
    }
    n->dtype = n->n_in ? n->in[0]->dtype : NB_F32;
    return 0;
}

int ir_axes_mask(ir_graph *g, const char *op, int rank, const int *axes, int n_axes, uint32_t *mask)
{
    *mask = 0;
    if (n_axes == 0 || !axes) {
        *mask = rank ? (uint32_t)((1u << rank) - 1) : 0;
        return 0;
    }
    if (n_axes < 0 || n_axes > NB_MAX_RANK)
        return ir_error(g, "%s: %d axes given; at most %d", op, n_axes, NB_MAX_RANK);
    for (int i = 0; i < n_axes; i++) {
        int a = axes[i] < 0 ? axes[i] + rank : axes[i];
        if (a < 0 || a >= rank)
            return ir_error(g, "%s: axis %d is out of range for rank %d", op, axes[i], rank);
        if (*mask & (1u << a))
            return ir_error(g, "%s: axis %d is given twice", op, axes[i]);
        *mask |= 1u << a;
    }
    return 0;
}
