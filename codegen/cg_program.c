/* cg_program.c — lowers a graph to one C translation unit: the memory plan (which
 * nodes live, where their buffers are), one static function per kernel, and the entry
 * point that calls the kernels in order. The same graph always gives the same bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"

#define CG_ALIGN 64

typedef struct cg_emitter {
    cg_emit_fn ew;     /* elementwise: one scalar statement */
    cg_emit_fn kernel; /* whole kernel body */
} cg_emitter;

static const cg_emitter cg_emitters[IR_OP_COUNT] = {
#define CG_LEAF {NULL, NULL}
#define CG_EW(fn) {fn, NULL}
#define CG_KERNEL(fn) {NULL, fn}
#define IR_OP(NAME, str, arity, shape, vjp, emit) [IR_OP_##NAME] = emit,
#include "ir_ops.def"
#undef IR_OP
#undef CG_LEAF
#undef CG_EW
#undef CG_KERNEL
};

static const char *const cg_libm_protos[] = {
#define CG_LIBM(fn, proto) proto,
#include "cg_libm.def"
#undef CG_LIBM
};

static int is_leaf(const ir_node *n)
{
    return n->op == IR_OP_INPUT || n->op == IR_OP_PARAM || n->op == IR_OP_CONST;
}

static size_t align_up(size_t x)
{
    return (x + CG_ALIGN - 1) / CG_ALIGN * CG_ALIGN;
}

static size_t node_bytes(const ir_node *n)
{
    return (size_t)n->numel * nb_dtype_size(n->dtype);
}

/* The C name of a node's buffer inside the entry point. */
static const char *var(const ir_node *n, char *buf, size_t size)
{
    snprintf(buf, size, "%c%d", n->op == IR_OP_CONST ? 'c' : 'n', n->id);
    return buf;
}

static int slot_fill(ir_graph *g, cg_slot *s, const ir_node *n)
{
    memset(s, 0, sizeof *s);
    s->node = n->id;
    s->dtype = n->dtype;
    s->rank = n->rank;
    memcpy(s->shape, n->shape, sizeof s->shape);
    s->numel = n->numel;
    if (n->name && !(s->name = strdup(n->name)))
        return ir_oom(g);
    return 0;
}

void cg_program_free(cg_program *p)
{
    if (!p)
        return;
    cg_slot *lists[3] = {p->inputs, p->params, p->outputs};
    int counts[3] = {p->n_inputs, p->n_params, p->n_outputs};
    for (int l = 0; l < 3; l++) {
        for (int i = 0; i < counts[l]; i++)
            free(lists[l][i].name);
        free(lists[l]);
    }
    for (int i = 0; i < p->n_failures; i++)
        free(p->failures[i].what);
    free(p->failures);
    free(p->source);
    memset(p, 0, sizeof *p);
}

/* A one-line description of a node for comments: "%7 = mul f32[2,3] (%5, %6) 'w'". */
static void describe(ir_text *t, const ir_node *n)
{
    char ty[160];
    ir_text_printf(t, "%%%d = %s %s", n->id, ir_op_defs[n->op].name,
                   ir_type_str(n, ty, sizeof ty));
    for (int j = 0; j < n->n_in; j++)
        ir_text_printf(t, "%s%%%d %s", j ? ", " : " <- ", n->in[j]->id,
                       ir_type_str(n->in[j], ty, sizeof ty));
    if (n->name) {
        char esc[1100];
        ir_text_printf(t, " '%s'", ir_escape_name(n->name, esc, sizeof esc));
    }
}

/* Writes `static void|int kN(T *y, const T0 *x0, ...)` and its body. */
static int emit_kernel(ir_graph *g, ir_text *out, cg_ctx *c, const ir_node *n)
{
    const cg_emitter *e = &cg_emitters[n->op];
    ir_text body = {0};
    c->t = &body;
    c->indent = 1;
    c->can_fail = 0;
    if (e->kernel)
        e->kernel(c, n);
    else if (e->ew)
        cg_elementwise(c, n, e->ew);
    else
        return ir_error(g, "codegen: op %s has no emitter", ir_op_defs[n->op].name);
    if (body.failed)
        return ir_oom(g);
    ir_text_printf(out, "/* ");
    describe(out, n);
    ir_text_printf(out, " */\nstatic %s k%d(%s *y", c->can_fail ? "int" : "void", n->id,
                   cg_ctype(n->dtype));
    for (int j = 0; j < n->n_in; j++)
        ir_text_printf(out, ", const %s *x%d", cg_ctype(n->in[j]->dtype), j);
    ir_text_printf(out, ")\n{\n%s%s}\n\n", body.buf ? body.buf : "",
                   c->can_fail ? "    return 0;\n" : "");
    free(body.buf);
    return 0;
}

static void emit_constant(ir_text *out, cg_ctx *c, const ir_node *n)
{
    char v[32];
    ir_text_printf(out, "static const %s %s[%lld] = {", cg_ctype(n->dtype),
                   var(n, v, sizeof v), (long long)n->numel);
    for (int64_t i = 0; i < n->numel; i++)
        ir_text_printf(out, "%s%s", i % 8 ? ", " : (i ? ",\n    " : "\n    "),
                       cg_lit(c, n->dtype, n->data[i]));
    ir_text_printf(out, "\n};\n");
}

/* Marks the nodes the outputs need. */
static void mark_live(const ir_graph *g, ir_node *const *outputs, int n, unsigned char *live)
{
    for (int i = 0; i < n; i++)
        live[outputs[i]->id] = 1;
    for (int id = g->n_nodes - 1; id >= 0; id--)
        if (live[id])
            for (int j = 0; j < g->nodes[id]->n_in; j++)
                live[g->nodes[id]->in[j]->id] = 1;
}

/* Assigns leaves, outputs and arena offsets: fills the slot lists of p. */
static int plan(ir_graph *g, ir_node *const *outputs, int n, const unsigned char *live,
                size_t *offset, cg_program *p)
{
    p->inputs = calloc((size_t)g->n_inputs + 1, sizeof *p->inputs);
    p->params = calloc((size_t)g->n_params + 1, sizeof *p->params);
    p->outputs = calloc((size_t)n, sizeof *p->outputs);
    if (!p->inputs || !p->params || !p->outputs)
        return ir_oom(g);
    for (int id = 0; id < g->n_nodes; id++) {
        const ir_node *v = g->nodes[id];
        if (v->op == IR_OP_INPUT) {
            cg_slot *s = &p->inputs[p->n_inputs++];
            if (slot_fill(g, s, v) != 0)
                return -1;
            s->used = live[id];
        } else if (v->op == IR_OP_PARAM) {
            cg_slot *s = &p->params[p->n_params++];
            if (slot_fill(g, s, v) != 0)
                return -1;
            s->offset = p->state_size;
            p->state_size += align_up(node_bytes(v));
        } else if (live[id] && !is_leaf(v)) {
            offset[id] = p->arena_size;
            p->arena_size += align_up(node_bytes(v));
        }
    }
    for (int i = 0; i < n; i++) {
        const ir_node *v = outputs[i];
        cg_slot *s = &p->outputs[p->n_outputs++];
        if (slot_fill(g, s, v) != 0)
            return -1;
        if (is_leaf(v)) {
            /* A leaf returned as an output is copied into an arena buffer of its own. */
            s->offset = p->arena_size;
            p->arena_size += align_up(node_bytes(v));
        } else {
            s->offset = offset[v->id];
        }
    }
    return 0;
}

static int add_failure(ir_graph *g, cg_program *p, const ir_node *n)
{
    cg_failure *f = realloc(p->failures, (size_t)(p->n_failures + 1) * sizeof *f);
    char desc[1400], esc[1100];
    if (!f)
        return ir_oom(g);
    p->failures = f;
    if (n->name)
        snprintf(desc, sizeof desc, "node %d (%s '%s'): an index is out of range", n->id,
                 ir_op_defs[n->op].name, ir_escape_name(n->name, esc, sizeof esc));
    else
        snprintf(desc, sizeof desc, "node %d (%s): an index is out of range", n->id,
                 ir_op_defs[n->op].name);
    f[p->n_failures].node = n->id;
    if (!(f[p->n_failures].what = strdup(desc)))
        return ir_oom(g);
    p->n_failures++;
    return 0;
}

/* The entry point: binds every live buffer to a local pointer, calls the kernels. */
static int emit_entry(ir_graph *g, ir_text *out, const unsigned char *live,
                      const size_t *offset, const unsigned char *fails, cg_program *p)
{
    char v[32], esc[1100];
    ir_text_printf(out, "int " CG_ENTRY "(const void *const *in, unsigned char *arena, "
                        "unsigned char *state)\n{\n");
    for (int i = 0; i < p->n_inputs; i++) {
        const ir_node *x = g->nodes[p->inputs[i].node];
        if (!live[x->id])
            continue;
        const char *t = cg_ctype(x->dtype);
        ir_text_printf(out, "    const %s *%s = (const %s *)in[%d]; /* input", t,
                       var(x, v, sizeof v), t, i);
        if (x->name)
            ir_text_printf(out, " '%s'", ir_escape_name(x->name, esc, sizeof esc));
        ir_text_printf(out, " */\n");
    }
    for (int i = 0; i < p->n_params; i++) {
        const ir_node *x = g->nodes[p->params[i].node];
        if (!live[x->id])
            continue;
        const char *t = cg_ctype(x->dtype);
        ir_text_printf(out, "    %s *%s = (%s *)(state + %zu); /* param '%s' */\n", t,
                       var(x, v, sizeof v), t, p->params[i].offset,
                       ir_escape_name(x->name, esc, sizeof esc));
    }
    for (int id = 0; id < g->n_nodes; id++) {
        const ir_node *x = g->nodes[id];
        if (!live[id] || is_leaf(x))
            continue;
        const char *t = cg_ctype(x->dtype);
        ir_text_printf(out, "    %s *%s = (%s *)(arena + %zu);\n", t, var(x, v, sizeof v), t,
                       offset[id]);
    }
    ir_text_printf(out, "\n");
    for (int id = 0; id < g->n_nodes; id++) {
        const ir_node *x = g->nodes[id];
        if (!live[id] || is_leaf(x))
            continue;
        ir_text_printf(out, fails[id] ? "    if (k%d(%s" : "    k%d(%s", id, var(x, v, sizeof v));
        for (int j = 0; j < x->n_in; j++)
            ir_text_printf(out, ", %s", var(x->in[j], v, sizeof v));
        ir_text_printf(out, fails[id] ? "))\n        return %d;\n" : ");\n", id + 1);
    }
    for (int i = 0; i < p->n_outputs; i++) {
        const ir_node *x = g->nodes[p->outputs[i].node];
        if (!is_leaf(x))
            continue;
        const char *t = cg_ctype(x->dtype);
        ir_text_printf(out, "    for (long i = 0; i < %lld; i++) /* output %d */\n"
                            "        ((%s *)(arena + %zu))[i] = %s[i];\n",
                       (long long)x->numel, i, t, p->outputs[i].offset, var(x, v, sizeof v));
    }
    ir_text_printf(out, "    return 0;\n}\n");
    return 0;
}

int cg_generate(ir_graph *g, ir_node *const *outputs, int n, cg_program *p)
{
    memset(p, 0, sizeof *p);
    if (!g || g->error || ir_check_outputs(g, outputs, n) != 0)
        return -1;
    unsigned char *live = calloc((size_t)g->n_nodes, 2);
    size_t *offset = calloc((size_t)g->n_nodes, sizeof *offset);
    ir_text kernels = {0}, out = {0};
    cg_ctx c = {0};
    if (!live || !offset) {
        ir_oom(g);
        goto fail;
    }
    unsigned char *fails = live + g->n_nodes;
    mark_live(g, outputs, n, live);
    if (plan(g, outputs, n, live, offset, p) != 0)
        goto fail;
    for (int id = 0; id < g->n_nodes; id++) {
        const ir_node *x = g->nodes[id];
        if (!live[id])
            continue;
        if (x->op == IR_OP_CONST)
            emit_constant(&kernels, &c, x);
        else if (!is_leaf(x)) {
            if (emit_kernel(g, &kernels, &c, x) != 0)
                goto fail;
            fails[id] = (unsigned char)c.can_fail;
            if (c.can_fail && add_failure(g, p, x) != 0)
                goto fail;
        }
    }
    ir_text_printf(&out, "/* Generated by nabla from a graph of %d nodes. */\n\n", g->n_nodes);
    for (size_t i = 0; i < sizeof cg_libm_protos / sizeof *cg_libm_protos; i++)
        if (c.libm_used & (1u << i))
            ir_text_printf(&out, "%s\n", cg_libm_protos[i]);
    ir_text_printf(&out, "%s%s\n", c.libm_used ? "\n" : "", kernels.buf ? kernels.buf : "");
    emit_entry(g, &out, live, offset, fails, p);
    if (out.failed || kernels.failed) {
        ir_oom(g);
        goto fail;
    }
    p->source = out.buf;
    free(kernels.buf);
    free(live);
    free(offset);
    return 0;
fail:
    free(out.buf);
    free(kernels.buf);
    free(live);
    free(offset);
    cg_program_free(p);
    return -1;
}
