/* nb_graph_write.c — the writer of the graph text format (docs/graph-format.md): every
 * node with all its attributes, constants' values bit-exact, names escaped, and the
 * outputs, updates and values a file carries. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nb_format.h"

/* Bytes of the longest number the writer prints ("%.17g", "nan:0x" and 16 digits). */
#define FORMAT_NUMBER_MAX 40

/* Writes v so that strtod gives it back exactly: the shortest of 15, 16 or 17 digits
 * that does, "inf", "-inf", "nan", "-nan", or "nan:0x<bits>" for another NaN. */
static void put_double(ir_text *t, double v)
{
    char buf[FORMAT_NUMBER_MAX];
    if (isnan(v)) {
        uint64_t bits;
        memcpy(&bits, &v, sizeof bits);
        if (bits == 0x7ff8000000000000ull || bits == 0xfff8000000000000ull)
            ir_text_puts(t, bits >> 63 ? "-nan" : "nan");
        else
            ir_text_printf(t, "nan:0x%016llx", (unsigned long long)bits);
        return;
    }
    if (isinf(v)) {
        ir_text_puts(t, v < 0 ? "-inf" : "inf");
        return;
    }
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (strtod(buf, NULL) == v && (v != 0 || signbit(strtod(buf, NULL)) == signbit(v)))
            break;
    }
    ir_text_puts(t, buf);
}

/* One value of a node of dtype dt: integers for i32 and bool. */
static void put_value(ir_text *t, nb_dtype dt, double v)
{
    if (dt == NB_I32 || dt == NB_BOOL)
        ir_text_int(t, (long long)v);
    else
        put_double(t, nb_format_value_round(dt, v));
}

static void put_values(ir_text *t, nb_dtype dt, const double *v, int64_t n)
{
    ir_text_putc(t, '{');
    for (int64_t i = 0; i < n; i++) {
        if (i)
            ir_text_puts(t, ", ");
        put_value(t, dt, v[i]);
    }
    ir_text_putc(t, '}');
}

static void put_list(ir_text *t, const int64_t *v, int n)
{
    ir_text_putc(t, '[');
    for (int i = 0; i < n; i++) {
        if (i)
            ir_text_putc(t, ',');
        ir_text_int(t, v[i]);
    }
    ir_text_putc(t, ']');
}

/* A name between double quotes: printable ASCII as it is but for '"' and '\\', which
 * are escaped, as every other byte is (\n, \t, \r, or \xNN). */
static void put_string(ir_text *t, const char *s)
{
    ir_text_putc(t, '"');
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') {
            ir_text_putc(t, '\\');
            ir_text_putc(t, (char)*c);
        } else if (*c == '\n') {
            ir_text_puts(t, "\\n");
        } else if (*c == '\t') {
            ir_text_puts(t, "\\t");
        } else if (*c == '\r') {
            ir_text_puts(t, "\\r");
        } else if (*c < 0x20 || *c >= 0x7f) {
            ir_text_printf(t, "\\x%02x", *c);
        } else {
            ir_text_putc(t, (char)*c);
        }
    }
    ir_text_putc(t, '"');
}

/* "0x" and the 16 hex digits of v. */
static void put_hex64(ir_text *t, uint64_t v)
{
    static const char digits[] = "0123456789abcdef";
    ir_text_puts(t, "0x");
    for (int i = 0; i < 16; i++)
        ir_text_putc(t, digits[(v >> (60 - 4 * i)) & 15]);
}

/* " key=value" of attribute k of node n. */
static void put_attr(ir_text *t, const ir_node *n, nb_format_key k)
{
    const ir_attr *a = &n->attr;
    int64_t list[NB_MAX_RANK];
    int len = 0;
    ir_text_putc(t, ' ');
    ir_text_puts(t, nb_format_key_names[k]);
    ir_text_putc(t, '=');
    switch (k) {
    case NB_KEY_SHAPE: put_list(t, a->target.shape, a->target.rank); break;
    case NB_KEY_PERM:
        for (len = 0; len < a->permute.rank; len++)
            list[len] = a->permute.perm[len];
        put_list(t, list, len);
        break;
    case NB_KEY_START: put_list(t, a->slice.start, a->slice.rank); break;
    case NB_KEY_STOP: put_list(t, a->slice.stop, a->slice.rank); break;
    case NB_KEY_STEP: put_list(t, a->slice.step, a->slice.rank); break;
    case NB_KEY_AXES:
        for (int d = 0; d < 32; d++)
            if (a->axes & (1u << d) && len < NB_MAX_RANK)
                list[len++] = d;
        put_list(t, list, len);
        break;
    case NB_KEY_KEEPDIM: ir_text_int(t, a->keepdim != 0); break;
    case NB_KEY_AXIS: ir_text_int(t, a->axis); break;
    case NB_KEY_CLASSES: ir_text_int(t, a->k); break;
    case NB_KEY_DTYPE: ir_text_puts(t, ir_dtype_name(a->dt)); break;
    case NB_KEY_TRANS_A: ir_text_int(t, a->trans_a != 0); break;
    case NB_KEY_TRANS_B: ir_text_int(t, a->trans_b != 0); break;
    case NB_KEY_LO:
    case NB_KEY_SLOPE:
    case NB_KEY_ALPHA:
    case NB_KEY_EPS: put_double(t, a->f[0]); break;
    case NB_KEY_HI: put_double(t, a->f[1]); break;
    case NB_KEY_PAD_LO: put_list(t, a->pad.lo, a->pad.rank); break;
    case NB_KEY_PAD_HI: put_list(t, a->pad.hi, a->pad.rank); break;
    case NB_KEY_MODE: ir_text_puts(t, a->pad.reflect ? "reflect" : "constant"); break;
    case NB_KEY_VALUE: put_double(t, a->f[0]); break;
    case NB_KEY_REVERSE: ir_text_int(t, a->reverse != 0); break;
    case NB_KEY_KIND:
        ir_text_puts(t, nb_format_kind_name(a->k) ? nb_format_kind_name(a->k) : "?");
        break;
    case NB_KEY_VALUES: put_values(t, n->dtype, n->data, n->numel); break;
    case NB_KEY_KERNEL: put_list(t, a->window.kernel, 2); break;
    case NB_KEY_STRIDE: put_list(t, a->window.stride, 2); break;
    case NB_KEY_DILATION: put_list(t, a->window.dilation, 2); break;
    case NB_KEY_PADDING:
        list[0] = a->window.pad_lo[0], list[1] = a->window.pad_lo[1];
        list[2] = a->window.pad_hi[0], list[3] = a->window.pad_hi[1];
        put_list(t, list, 4);
        break;
    case NB_KEY_GROUPS: ir_text_int(t, a->window.groups); break;
    case NB_KEY_CEIL_MODE: ir_text_int(t, a->window.ceil_mode != 0); break;
    case NB_KEY_COUNT_INCLUDE_PAD: ir_text_int(t, a->window.count_include_pad != 0); break;
    case NB_KEY_DIVISOR_OVERRIDE: ir_text_int(t, a->window.divisor); break;
    case NB_KEY_SEED: put_hex64(t, a->random.seed); break;
    case NB_KEY_OFFSET: ir_text_int(t, (long long)a->random.offset); break;
    case NB_KEY_NAME:
    case NB_KEY_COUNT: break;
    }
}

static void put_node(ir_text *t, const ir_node *n)
{
    ir_text_putc(t, '%');
    ir_text_int(t, n->id);
    ir_text_puts(t, " = ");
    ir_text_puts(t, ir_op_defs[n->op].name);
    ir_text_putc(t, ' ');
    ir_text_type(t, n->dtype, n->rank, n->shape);
    if (n->n_in) {
        ir_text_puts(t, " (");
        for (int j = 0; j < n->n_in; j++) {
            ir_text_puts(t, j ? ", %" : "%");
            ir_text_int(t, n->in[j]->id);
        }
        ir_text_putc(t, ')');
    }
    for (int k = 0; k < NB_KEY_NAME; k++)
        if (nb_format_op_keys[n->op] & NB_KEY_BIT(k))
            put_attr(t, n, (nb_format_key)k);
    if (n->name) {
        ir_text_puts(t, " name=");
        put_string(t, n->name);
    }
    ir_text_putc(t, '\n');
}

static int of_graph(const nb_graph *g, const nb_node *n)
{
    return n && n->graph == g;
}

/* 0 when every node x names is g's and every value is of a leaf with data. */
static int check_extras(const nb_graph *g, const nb_graph_extras *x)
{
    if (x->n_outputs < 0 || x->n_updates < 0 || x->n_values < 0 || (x->n_outputs && !x->outputs) ||
        (x->n_updates && !x->updates) || (x->n_values && !x->values))
        return -1;
    for (int i = 0; i < x->n_outputs; i++)
        if (!of_graph(g, x->outputs[i]))
            return -1;
    for (int i = 0; i < x->n_updates; i++)
        if (!of_graph(g, x->updates[i].param) || !of_graph(g, x->updates[i].value))
            return -1;
    for (int i = 0; i < x->n_values; i++) {
        const nb_node *n = x->values[i].node;
        if (!of_graph(g, n) || (n->op != IR_OP_INPUT && n->op != IR_OP_PARAM) || !x->values[i].data)
            return -1;
        for (int64_t j = 0; j < n->numel; j++)
            if (!nb_format_value_fits(n->dtype, x->values[i].data[j]))
                return -1;
    }
    return 0;
}

char *nb_format_write(const nb_graph *g, const nb_graph_extras *x)
{
    ir_text t = {0};
    ir_text_printf(&t, "%s %d\n", NB_FORMAT_MAGIC, NB_FORMAT_VERSION);
    for (int i = 0; i < g->n_nodes; i++)
        put_node(&t, g->nodes[i]);
    for (int i = 0; x && i < x->n_outputs; i++)
        ir_text_printf(&t, "output %%%d\n", x->outputs[i]->id);
    for (int i = 0; x && i < x->n_updates; i++)
        ir_text_printf(&t, "update %%%d <- %%%d\n", x->updates[i].param->id,
                       x->updates[i].value->id);
    for (int i = 0; x && i < x->n_values; i++) {
        const nb_node *n = x->values[i].node;
        ir_text_printf(&t, "value %%%d = ", n->id);
        put_values(&t, n->dtype, x->values[i].data, n->numel);
        ir_text_putc(&t, '\n');
    }
    return t.failed ? NULL : t.buf;
}

char *nb_graph_write(const nb_graph *g, const nb_graph_extras *x)
{
    if (!g || g->error || (x && check_extras(g, x) != 0))
        return NULL;
    return nb_format_write(g, x);
}

void nb_graph_extras_free(nb_graph_extras *x)
{
    if (!x)
        return;
    for (int i = 0; i < x->n_values; i++)
        free(x->values[i].data);
    free(x->outputs);
    free(x->updates);
    free(x->values);
    memset(x, 0, sizeof *x);
}
