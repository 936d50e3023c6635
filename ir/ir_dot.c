/* ir_dot.c — the graph as Graphviz DOT: one box per node, one arrow per operand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

/* Colours of the drawing, one place to change them (docs/inspect.md lists them). */
#define DOT_FILL_INPUT "#dae8fc"     /* inputs: blue */
#define DOT_FILL_PARAM "#d5e8d4"     /* model parameters: green */
#define DOT_FILL_OPTIMIZER "#e1d5e7" /* optimizer state: violet */
#define DOT_FILL_CONST "#eeeeee"     /* constants: grey */
#define DOT_FILL_GRAD "#ffe6cc"      /* gradient nodes and gradient buffers: orange */
#define DOT_LINE_GRAD "#d79b00"
#define DOT_LINE_UPDATE "#b85450" /* parameter updates: red, dashed and bold */

/* Appends s to a DOT quoted string so that no byte can end the string or the file:
 * '"' and '\\' are escaped, valid UTF-8 is kept, and every other byte (controls, DEL,
 * '&' which SVG output would read as an entity, bytes of invalid UTF-8) is shown as the
 * text \xNN. */
static void dot_escape(ir_text *t, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            ir_text_putc(t, '\\');
            ir_text_putc(t, (char)c);
            p++;
            continue;
        }
        if (c >= 0x20 && c < 0x7f && c != '&') {
            ir_text_putc(t, (char)c);
            p++;
            continue;
        }
        /* A multibyte UTF-8 sequence: its length from the lead byte, the bounds of its
         * second byte from the lead (no overlong forms, no surrogates, at most
         * U+10FFFF), continuation bytes after that. */
        int len = 0;
        unsigned char lo = 0x80, hi = 0xbf;
        if (c >= 0xc2 && c <= 0xdf)
            len = 2;
        else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            lo = c == 0xe0 ? 0xa0 : 0x80;
            hi = c == 0xed ? 0x9f : 0xbf;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            lo = c == 0xf0 ? 0x90 : 0x80;
            hi = c == 0xf4 ? 0x8f : 0xbf;
        }
        int ok = len > 0 && p[1] >= lo && p[1] <= hi;
        for (int k = 2; ok && k < len; k++)
            ok = p[k] >= 0x80 && p[k] <= 0xbf;
        if (ok) {
            ir_text_append(t, p, (size_t)len);
            p += len;
        } else {
            /* "\\x0a" in DOT is a backslash and "x0a" on the page. */
            ir_text_printf(t, "\\\\x%02x", c);
            p++;
        }
    }
}

/* Checks the options against g: lists of nodes of g, updates of parameters. 0, or -1
 * with the problem in err. */
static int dot_check(const ir_graph *g, const nb_dot_options *o, char *err, size_t size)
{
    if (o->n_outputs < 0 || (o->n_outputs > 0 && !o->outputs)) {
        snprintf(err, size, "dot: %d outputs given with a %s list", o->n_outputs,
                 o->outputs ? "non-NULL" : "NULL");
        return -1;
    }
    for (int i = 0; i < o->n_outputs; i++)
        if (!o->outputs[i] || o->outputs[i]->graph != g) {
            snprintf(err, size, "dot: output %d is %s", i,
                     o->outputs[i] ? "a node of another graph" : "NULL");
            return -1;
        }
    if (o->n_updates < 0 || (o->n_updates > 0 && !o->updates)) {
        snprintf(err, size, "dot: %d updates given with a %s list", o->n_updates,
                 o->updates ? "non-NULL" : "NULL");
        return -1;
    }
    for (int i = 0; i < o->n_updates; i++) {
        const ir_node *p = o->updates[i].param, *v = o->updates[i].value;
        if (!p || !v || p->graph != g || v->graph != g) {
            snprintf(err, size, "dot: update %d has a %s", i,
                     !p || !v ? "NULL node" : "node of another graph");
            return -1;
        }
        if (p->op != IR_OP_PARAM) {
            snprintf(err, size, "dot: update %d writes node %d (%s), not a parameter", i, p->id,
                     ir_op_defs[p->op].name);
            return -1;
        }
    }
    static const char *const dirs[] = {"TB", "LR", "BT", "RL"};
    if (o->rankdir) {
        int known = 0;
        for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
            known |= strcmp(o->rankdir, dirs[i]) == 0;
        if (!known) {
            snprintf(err, size, "dot: rankdir must be TB, LR, BT or RL");
            return -1;
        }
    }
    return 0;
}

/* The attributes of node n's box after its label: shape, fill and outline by kind. */
static void dot_style(ir_text *t, const ir_node *n, int is_output)
{
    const char *shape = "ellipse", *fill = NULL, *line = NULL;
    if (n->op == IR_OP_INPUT) {
        shape = "box";
        fill = DOT_FILL_INPUT;
    } else if (n->op == IR_OP_PARAM) {
        shape = "box3d";
        fill = n->attr.k == IR_PARAM_GRAD        ? DOT_FILL_GRAD
               : n->attr.k == IR_PARAM_OPTIMIZER ? DOT_FILL_OPTIMIZER
                                                 : DOT_FILL_PARAM;
    } else if (n->op == IR_OP_CONST) {
        shape = "note";
        fill = DOT_FILL_CONST;
    }
    if (n->grad) {
        fill = DOT_FILL_GRAD;
        line = DOT_LINE_GRAD;
    }
    ir_text_printf(t, ", shape=%s", shape);
    if (fill)
        ir_text_printf(t, ", style=filled, fillcolor=\"%s\"", fill);
    if (line)
        ir_text_printf(t, ", color=\"%s\", class=\"grad\"", line);
    if (is_output)
        ir_text_puts(t, ", peripheries=2");
}

char *ir_dot(const ir_graph *g, const nb_dot_options *opt, char *err, size_t size)
{
    static const nb_dot_options none = {0};
    const nb_dot_options *o = opt ? opt : &none;
    if (dot_check(g, o, err, size) != 0)
        return NULL;
    unsigned char *is_output = ir_calloc((size_t)g->n_nodes, 1);
    if (!is_output) {
        snprintf(err, size, "out of memory");
        return NULL;
    }
    for (int i = 0; i < o->n_outputs; i++)
        is_output[o->outputs[i]->id] = 1;
    ir_text t = {0};
    ir_text_printf(&t, "digraph nabla {\n  rankdir=%s;\n", o->rankdir ? o->rankdir : "TB");
    ir_text_puts(&t, "  node [fontname=\"Helvetica\", fontsize=10];\n");
    ir_text_puts(&t, "  edge [fontname=\"Helvetica\", fontsize=9];\n");
    if (g->error) {
        ir_text_puts(&t, "  label=\"error: ");
        dot_escape(&t, g->error);
        ir_text_puts(&t, "\";\n");
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = g->nodes[i];
        /* "%7 matmul.T_b" / "f32[64,10]" / "'name'", lines centred. */
        ir_text_printf(&t, "  n%d [label=\"%%%d %s%s", n->id, n->id, ir_op_defs[n->op].name,
                       ir_op_suffix(n));
        if (n->op == IR_OP_CONST && n->numel == 1 && n->data)
            ir_text_printf(&t, " %.9g", n->data[0]);
        if (!o->hide_shapes) {
            ir_text_puts(&t, "\\n");
            ir_text_type(&t, n->dtype, n->rank, n->shape);
        }
        if (n->name) {
            ir_text_puts(&t, "\\n'");
            dot_escape(&t, n->name);
            ir_text_putc(&t, '\'');
        }
        ir_text_putc(&t, '"');
        dot_style(&t, n, is_output[i]);
        ir_text_puts(&t, "];\n");
        for (int j = 0; j < n->n_in; j++) {
            /* Operand order matters for sub, div, matmul, where, concat: numbered. */
            ir_text_printf(&t, "  n%d -> n%d", n->in[j]->id, n->id);
            if (n->n_in > 1 || n->grad) {
                ir_text_puts(&t, " [");
                if (n->n_in > 1)
                    ir_text_printf(&t, "taillabel=\"%d\"%s", j, n->grad ? ", " : "");
                if (n->grad)
                    ir_text_printf(&t, "color=\"%s\"", DOT_LINE_GRAD);
                ir_text_putc(&t, ']');
            }
            ir_text_puts(&t, ";\n");
        }
    }
    /* Updates against the flow: constraint=false keeps them from reordering the ranks. */
    for (int i = 0; i < o->n_updates; i++)
        ir_text_printf(&t,
                       "  n%d -> n%d [style=\"dashed,bold\", color=\"%s\", label=\"update\", "
                       "constraint=false];\n",
                       o->updates[i].value->id, o->updates[i].param->id, DOT_LINE_UPDATE);
    ir_text_puts(&t, "}\n");
    free(is_output);
    if (t.failed) {
        snprintf(err, size, "out of memory");
        return NULL;
    }
    return t.buf;
}
