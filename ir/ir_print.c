/* ir_print.c — the IR as readable text: one line per node. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

const char *ir_escape_name(const char *name, char *buf, size_t size)
{
    size_t len = 0;
    for (const unsigned char *s = (const unsigned char *)name; *s && len + 5 < size; s++) {
        int safe = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                   (*s >= '0' && *s <= '9') || strchr("_ .:+=-", *s);
        if (safe)
            buf[len++] = (char)*s;
        else
            len += (size_t)snprintf(buf + len, size - len, "\\x%02x", *s);
    }
    buf[len] = 0;
    return buf;
}

/* Writes label then the first n values of v, comma-separated. */
static void print_ints(ir_text *t, const char *label, const int64_t *v, int n)
{
    ir_text_printf(t, "%s", label);
    for (int d = 0; d < n && d < NB_MAX_RANK; d++)
        ir_text_printf(t, d ? ",%lld" : "%lld", (long long)v[d]);
}

/* The attributes an op uses, for the printer. */
static void print_attr(ir_text *t, const ir_node *n)
{
    const ir_attr *a = &n->attr;
    if (n->op == IR_OP_CONST) {
        if (n->numel == 1)
            ir_text_printf(t, " value=%.9g", n->data ? n->data[0] : 0.0);
        return;
    }
    if (a->axes) {
        ir_text_printf(t, " axes=");
        for (int d = 0, first = 1; d < 32; d++)
            if (a->axes & (1u << d))
                ir_text_printf(t, first ? "%d" : ",%d", d), first = 0;
        if (a->keepdim)
            ir_text_printf(t, " keepdim");
    }
    /* Each family that is set, by its own name; a leaf's target is its type, printed
     * already. */
    if (a->target.rank > 0 && n->op != IR_OP_INPUT && n->op != IR_OP_PARAM)
        print_ints(t, " shape=", a->target.shape, a->target.rank);
    if (a->permute.rank > 0) {
        ir_text_printf(t, " perm=");
        for (int d = 0; d < a->permute.rank && d < NB_MAX_RANK; d++)
            ir_text_printf(t, d ? ",%d" : "%d", a->permute.perm[d]);
    }
    if (a->slice.rank > 0) {
        print_ints(t, " start=", a->slice.start, a->slice.rank);
        if (n->op == IR_OP_SLICE)
            print_ints(t, " stop=", a->slice.stop, a->slice.rank);
        print_ints(t, " step=", a->slice.step, a->slice.rank);
    }
    if (a->axis)
        ir_text_printf(t, " axis=%d", a->axis);
    if (a->f[0] != 0 || a->f[1] != 0)
        ir_text_printf(t, " f=%.9g,%.9g", a->f[0], a->f[1]);
    if (a->k)
        ir_text_printf(t, " k=%d", a->k);
}

const char *ir_op_suffix(const ir_node *n)
{
    static const char *const flags[4] = {"", ".T_a", ".T_b", ".T_a.T_b"};
    return flags[(n->attr.trans_a != 0) | (n->attr.trans_b != 0) << 1];
}

char *ir_print(const ir_graph *g)
{
    ir_text t = {0};
    ir_text_printf(&t, "graph: %d nodes\n", g->n_nodes);
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = g->nodes[i];
        char ty[IR_TYPE_STR_MAX];
        ir_text_printf(&t, "%%%d = %s%s %s (", n->id, ir_op_defs[n->op].name, ir_op_suffix(n),
                       ir_type_str(n, ty, sizeof ty));
        for (int j = 0; j < n->n_in; j++)
            ir_text_printf(&t, j ? ", %%%d" : "%%%d", n->in[j]->id);
        ir_text_printf(&t, ")");
        print_attr(&t, n);
        if (n->name) {
            char esc[IR_ESCAPED_NAME_MAX];
            ir_text_printf(&t, " '%s'", ir_escape_name(n->name, esc, sizeof esc));
        }
        ir_text_printf(&t, "\n");
    }
    if (t.failed)
        return NULL;
    return t.buf;
}
