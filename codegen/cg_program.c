/* cg_program.c — lowers a graph to one C translation unit: the memory plan (which
 * nodes live, where their buffers are), one static function per kernel, and the entry
 * point that calls the kernels in order. The same graph always gives the same bytes. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cg.h"

static const char *const cg_libm_protos[] = {
#define CG_LIBM(fn, proto) proto,
#include "cg_libm.def"
#undef CG_LIBM
};

static const char *const cg_rt_protos[] = {
#define CG_RT(fn, proto) proto,
#include "cg_rt.def"
#undef CG_RT
};

/* Cannot overflow: a node has at most IR_MAX_NUMEL elements of at most 8 bytes. Sums
 * and roundings of sizes go through cg_reserve. */
static size_t node_bytes(const ir_node *n)
{
    return (size_t)n->numel * ir_dtype_size(n->dtype);
}

/* The C name of a node's buffer inside the entry point. */
static const char *var(const ir_node *n, char *buf, size_t size)
{
    snprintf(buf, size, "%c%d", n->op == IR_OP_CONST ? 'c' : 'n', n->origin);
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
    if (n->name && !(s->name = ir_strdup(n->name)))
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

/* Writes a runtime kernel's prototype "void f(int);", or as a pointer "void (*f)(int);"
 * for a backend that fills it at load time (CG_RT_LINK_POINTERS). */
static void emit_rt_proto(ir_text *out, const char *proto, cg_rt_link link)
{
    int as_pointer = link == CG_RT_LINK_POINTERS;
    const char *paren = strchr(proto, '(');
    const char *name = paren;
    while (name > proto && name[-1] != ' ' && name[-1] != '*')
        name--;
    if (!as_pointer || !paren)
        ir_text_printf(out, "%s\n", proto);
    else
        ir_text_printf(out, "%.*s(*%.*s)%s\n", (int)(name - proto), proto, (int)(paren - name),
                       name, paren);
}

/* A one-line description of a node for comments: "%7 = mul f32[2,3] (%5, %6) 'w'". */
static void describe(ir_text *t, const ir_node *n)
{
    ir_text_putc(t, '%');
    ir_text_int(t, n->origin);
    ir_text_append(t, " = ", 3);
    ir_text_puts(t, ir_op_defs[n->op].name);
    if (n->op == IR_OP_MATMUL) /* the one op with flags: no other node's attr is read */
        ir_text_puts(t, ir_op_suffix(n));
    ir_text_putc(t, ' ');
    ir_text_type(t, n->dtype, n->rank, n->shape);
    for (int j = 0; j < n->n_in; j++) {
        ir_text_puts(t, j ? ", %" : " <- %");
        ir_text_int(t, n->in[j]->origin);
        ir_text_putc(t, ' ');
        ir_text_type(t, n->in[j]->dtype, n->in[j]->rank, n->in[j]->shape);
    }
    if (n->name) {
        char esc[1100];
        ir_text_printf(t, " '%s'", ir_escape_name(n->name, esc, sizeof esc));
    }
}

/* Bytes of a parameter's type in a kernel signature: "const unsigned char *". */
#define CG_PARAM_TYPE_MAX 32

/* Writes "<prefix><C type of dt><suffix>" into buf[CG_PARAM_TYPE_MAX]. */
static void param_type(char *buf, const char *prefix, nb_dtype dt, const char *suffix)
{
    size_t len = 0;
    const char *parts[3] = {prefix, cg_ctype(dt), suffix};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(parts[i]);
        memcpy(buf + len, parts[i], n);
        len += n;
    }
    buf[len] = 0;
}

/* Signature lines are broken before this many columns. */
#define CG_SIGNATURE_WIDTH 96

/* Appends ", <type> *<letter><number>" to a signature whose current line starts at
 * *line, breaking the line (indented to the opening parenthesis at column open) before
 * CG_SIGNATURE_WIDTH columns. number < 0: none. */
static void add_param(ir_text *out, size_t *line, int open, const char *type, const char *name,
                      long long number)
{
    char num[IR_INT_STR_MAX];
    size_t num_len = number >= 0 ? ir_int_str(number, num) : 0;
    size_t len = strlen(type) + strlen(name) + num_len;
    if (out->len - *line + len + 4 > CG_SIGNATURE_WIDTH) {
        ir_text_append(out, ",\n", 2);
        *line = out->len;
        for (int i = 0; i < open; i++)
            ir_text_putc(out, ' ');
    } else {
        ir_text_append(out, ", ", 2);
    }
    ir_text_puts(out, type);
    ir_text_puts(out, name);
    ir_text_append(out, num, num_len);
}

/* Writes `static void|int kN(T *y, const T0 *x0, ...)` and its body. */
static int emit_kernel(ir_graph *g, ir_text *out, cg_ctx *c, const cg_kernel *k)
{
    const ir_node *n = k->root;
    cg_emit_fn kernel = cg_kernel_emitter(n->op);
    ir_text body = {0};
    c->t = &body;
    c->indent = 1;
    c->can_fail = 0;
    if (kernel)
        kernel(c, n);
    else if (cg_is_elementwise(n))
        cg_elementwise(c, k);
    else
        return ir_error(g, "codegen: internal error: op %s has no emitter in cg_ops.def",
                        ir_op_defs[n->op].name);
    c->t = NULL; /* body ends here; later writes through c name their own text */
    if (body.failed) {
        free(body.buf); /* an emitter may mark it failed and leave text in it */
        return cg_text_error(g, c);
    }
    for (int i = 0; i < k->n_members; i++) {
        ir_text_puts(out, i ? "\n * " : "/* ");
        describe(out, k->members[i]);
    }
    ir_text_append(out, " */\n", 4);
    size_t line = out->len;
    ir_text_puts(out, c->can_fail ? "static int k" : "static void k");
    ir_text_int(out, n->origin);
    ir_text_putc(out, '(');
    int open = (int)(out->len - line);
    ir_text_puts(out, cg_ctype(n->dtype));
    ir_text_append(out, " *y", 3);
    /* Parameters: stored members, then operands; wrapped before 100 columns. */
    char type[CG_PARAM_TYPE_MAX];
    for (int o = 0; o < k->n_outs - 1; o++) {
        param_type(type, "", k->outs[o]->dtype, " *");
        add_param(out, &line, open, type, "s", k->outs[o]->origin);
    }
    for (int a = 0; a < k->n_args && k->n_args <= CG_MAX_CALL_ARGS; a++) {
        if (k->arg_out[a] >= 0)
            continue; /* read through the output it is the memory of */
        param_type(type, "const ", k->args[a]->dtype, " *");
        add_param(out, &line, open, type, "x", a);
    }
    if (k->n_args > CG_MAX_CALL_ARGS)
        add_param(out, &line, open, "const void *const *", "xs", -1);
    ir_text_append(out, ")\n{\n", 4);
    if (body.buf)
        ir_text_append(out, body.buf, body.len);
    ir_text_puts(out, c->can_fail ? "    return 0;\n}\n\n" : "}\n\n");
    free(body.buf);
    return 0;
}

static void emit_constant(ir_text *out, cg_ctx *c, const ir_node *n)
{
    char v[32];
    (void)c;
    int short_list = n->numel <= 8;
    ir_text_printf(out, "static const %s %s[%lld] = {", cg_ctype(n->dtype), var(n, v, sizeof v),
                   (long long)n->numel);
    for (int64_t i = 0; i < n->numel; i++) {
        ir_text_puts(out, i % 8 ? ", " : (i ? ",\n    " : (short_list ? "" : "\n    ")));
        cg_lit_put(out, n->dtype, n->data[i]);
    }
    ir_text_puts(out, short_list ? "};\n" : "\n};\n");
}

/* What cg_generate knows about the graph while it writes. */
typedef struct cg_plan {
    unsigned char *live;       /* needed by an output */
    unsigned char *kept;       /* an output or an update value: kept whole */
    unsigned char *is_output;  /* an output of the program */
    unsigned char *fails;      /* the node's kernel returns nonzero on bad data */
    unsigned char *used_const; /* a constant some kernel reads from memory */
    unsigned char *stored;     /* a kernel writes the node to memory (cg_fuse) */
    unsigned char *target;     /* a parameter some update writes */
    unsigned char *values;     /* how many updates write the node (0, 1, or 2 for more) */
    int *root;                 /* kernel root that computes the node (cg_fuse) */
    int *kernel_of;            /* node id -> index of its kernel, or -1 */
    int *in_place;             /* node id -> parameter id its kernel writes, or -1 */
    size_t *offset;            /* arena offset of every stored node */
    cg_kernel *kernels;        /* in id order of their roots */
    int n_kernels;
    int last_fail;         /* index of the last kernel that can fail, or -1 */
    const ir_node **lists; /* members, operands and outputs of every kernel, back to back */
    int *arg_outs;         /* the kernels' arg_out arrays, back to back */
} cg_plan;

static void plan_free(cg_plan *pl)
{
    free(pl->in_place);
    free(pl->kernel_of);
    free(pl->arg_outs);
    free(pl->live);
    free(pl->root);
    free(pl->offset);
    free(pl->kernels);
    free(pl->lists);
}

/* Marks the nodes the outputs and updates need; update values are kept whole to the
 * end of the run like outputs. */
static void mark_live(const ir_graph *g, const cg_request *rq, cg_plan *pl)
{
    for (int i = 0; i < rq->n_outputs; i++)
        pl->live[rq->outputs[i]->id] = pl->kept[rq->outputs[i]->id] =
            pl->is_output[rq->outputs[i]->id] = 1;
    for (int i = 0; i < rq->n_updates; i++) {
        pl->live[rq->upd_values[i]->id] = pl->kept[rq->upd_values[i]->id] = 1;
        pl->live[rq->upd_params[i]->id] = pl->target[rq->upd_params[i]->id] = 1;
        if (pl->values[rq->upd_values[i]->id] < 2)
            pl->values[rq->upd_values[i]->id]++;
    }
    for (int id = g->n_nodes - 1; id >= 0; id--)
        if (pl->live[id])
            for (int j = 0; j < g->nodes[id]->n_in; j++)
                pl->live[g->nodes[id]->in[j]->id] = 1;
}

/* Builds the kernel list: members of each root in id order, the members each writes,
 * and the operands they read from outside the kernel (each once; a whole-kernel op
 * keeps its operands as they are, since its emitter numbers them by position). */
static int plan_kernels(ir_graph *g, cg_plan *pl)
{
    int n = g->n_nodes, slots = 0;
    for (int id = 0; id < n; id++)
        if (pl->root[id] >= 0)
            slots += 2 + g->nodes[id]->n_in;
    pl->kernels = ir_calloc((size_t)n + 1, sizeof *pl->kernels);
    pl->lists = ir_calloc((size_t)slots + 1, sizeof *pl->lists);
    pl->arg_outs = ir_malloc(((size_t)slots + 1) * sizeof *pl->arg_outs);
    pl->kernel_of = ir_malloc(((size_t)n + 1) * sizeof *pl->kernel_of);
    /* Per root: its members, and the operands they read. */
    int *members = ir_calloc(2 * ((size_t)n + 1), sizeof *members), *operands = members + n + 1;
    if (!pl->kernels || !pl->lists || !pl->arg_outs || !pl->kernel_of || !members) {
        free(members);
        return ir_oom(g);
    }
    for (int id = 0; id < n; id++)
        if (pl->root[id] >= 0) {
            members[pl->root[id]]++;
            operands[pl->root[id]] += g->nodes[id]->n_in;
        }
    /* Lay the lists out: members, then operands, then outputs, per kernel. */
    const ir_node **next = pl->lists;
    int *next_out = pl->arg_outs;
    for (int id = 0; id < n; id++) {
        pl->kernel_of[id] = -1;
        if (pl->root[id] != id)
            continue;
        cg_kernel *k = &pl->kernels[pl->n_kernels];
        k->root = g->nodes[id];
        k->members = next;
        k->args = next + members[id];
        k->outs = next + members[id] + operands[id];
        k->arg_out = next_out;
        next += 2 * members[id] + operands[id];
        next_out += operands[id];
        pl->kernel_of[id] = pl->n_kernels++;
    }
    for (int id = 0; id < n; id++) {
        if (pl->root[id] < 0)
            continue;
        cg_kernel *k = &pl->kernels[pl->kernel_of[pl->root[id]]];
        const ir_node *v = g->nodes[id];
        pl->kernel_of[id] = pl->kernel_of[pl->root[id]];
        k->members[k->n_members++] = v;
        if (pl->stored[id])
            k->outs[k->n_outs++] = v;
        for (int j = 0; j < v->n_in; j++) {
            const ir_node *x = v->in[j];
            int seen = 0;
            if (pl->root[x->id] == pl->root[id] || (cg_is_elementwise(k->root) && cg_is_inlined(x)))
                continue;
            for (int a = 0; a < k->n_args && cg_is_elementwise(k->root); a++)
                seen |= k->args[a] == x;
            if (!seen) {
                k->arg_out[k->n_args] = -1;
                k->args[k->n_args++] = x;
            }
        }
    }
    free(members);
    pl->last_fail = -1;
    for (int i = 0; i < pl->n_kernels; i++)
        if (cg_can_fail(pl->kernels[i].root)) {
            pl->fails[pl->kernels[i].root->id] = 1;
            pl->last_fail = i;
        }
    return 0;
}

/* Lets the kernel that computes update value V write it straight into parameter P (no
 * arena buffer, no copy at the end) when that cannot change what any kernel reads: no
 * kernel after V's reads P, V's own kernel reads P only elementwise (element i before
 * it writes element i), and neither P nor V is an output or another update's value.
 * A run is all or nothing for the state, so no kernel that can fail may come at or
 * after V's: the failing run returns before any parameter is written, and the copies at
 * the end of the entry point only run once every kernel has succeeded. */
static int plan_in_place(ir_graph *g, const cg_request *rq, cg_plan *pl)
{
    pl->in_place = ir_malloc(((size_t)g->n_nodes + 1) * sizeof *pl->in_place);
    /* last_read[id]: the last kernel that reads node id as an operand, or -1. */
    int *last_read = ir_malloc(((size_t)g->n_nodes + 1) * sizeof *last_read);
    if (!pl->in_place || !last_read) {
        free(last_read);
        return ir_oom(g);
    }
    for (int id = 0; id < g->n_nodes; id++)
        pl->in_place[id] = last_read[id] = -1;
    for (int i = 0; i < pl->n_kernels; i++)
        for (int a = 0; a < pl->kernels[i].n_args; a++)
            last_read[pl->kernels[i].args[a]->id] = i;
    for (int u = 0; u < rq->n_updates; u++) {
        const ir_node *par = rq->upd_params[u], *val = rq->upd_values[u];
        int kv = pl->kernel_of[val->id];
        /* No other update writes val or reads par as its value; every kernel reading par
         * runs before val's (or is val's, elementwise: each parameter is written by one
         * update only, so none of its reads goes through an output yet); and no kernel that
         * can fail runs after it, so a failed run leaves state as it was. */
        int ok = kv >= 0 && kv > pl->last_fail && pl->stored[val->id] && !pl->is_output[val->id] &&
                 !pl->is_output[par->id] && pl->values[val->id] == 1 && !pl->values[par->id] &&
                 (last_read[par->id] < kv ||
                  (last_read[par->id] == kv && cg_is_elementwise(pl->kernels[kv].root)));
        if (!ok)
            continue;
        cg_kernel *k = &pl->kernels[kv];
        pl->in_place[val->id] = par->id;
        for (int a = 0; a < k->n_args; a++)
            if (k->args[a] == par)
                for (int o = 0; o < k->n_outs; o++)
                    if (k->outs[o] == val)
                        k->arg_out[a] = o;
    }
    free(last_read);
    return 0;
}

/* Assigns leaves, outputs and arena offsets: fills the slot lists of p. */
static int plan_memory(ir_graph *g, ir_node *const *outputs, int n, cg_plan *pl, cg_program *p)
{
    p->inputs = ir_calloc((size_t)g->n_inputs + 1, sizeof *p->inputs);
    p->params = ir_calloc((size_t)g->n_params + 1, sizeof *p->params);
    p->outputs = ir_calloc((size_t)n, sizeof *p->outputs);
    if (!p->inputs || !p->params || !p->outputs)
        return ir_oom(g);
    for (int id = 0; id < g->n_nodes; id++) {
        const ir_node *v = g->nodes[id];
        if (v->op == IR_OP_INPUT) {
            cg_slot *s = &p->inputs[p->n_inputs++];
            if (slot_fill(g, s, v) != 0)
                return -1;
            s->used = pl->live[id];
        } else if (v->op == IR_OP_PARAM) {
            cg_slot *s = &p->params[p->n_params++];
            if (slot_fill(g, s, v) != 0)
                return -1;
            s->is_grad = v->attr.k == IR_PARAM_GRAD;
            if (cg_reserve(g, "parameter state", v, &p->state_size, &s->offset) != 0)
                return -1;
        }
    }
    if (cg_arena_plan(g, pl->kernels, pl->n_kernels, pl->kept, pl->in_place, pl->offset,
                      &p->arena_size) != 0)
        return -1;
    for (int i = 0; i < n; i++) {
        const ir_node *v = outputs[i];
        cg_slot *s = &p->outputs[p->n_outputs++];
        if (slot_fill(g, s, v) != 0)
            return -1;
        if (cg_is_leaf(v)) {
            /* A leaf returned as an output is copied into an arena buffer of its own. */
            if (cg_reserve(g, "arena", v, &p->arena_size, &s->offset) != 0)
                return -1;
        } else {
            s->offset = pl->offset[v->id];
        }
    }
    return 0;
}

static int add_failure(ir_graph *g, cg_program *p, const ir_node *n)
{
    cg_failure *f = ir_realloc(p->failures, (size_t)(p->n_failures + 1) * sizeof *f);
    char desc[1400], esc[1100];
    if (!f)
        return ir_oom(g);
    p->failures = f;
    if (n->name)
        snprintf(desc, sizeof desc, "node %d (%s '%s'): an index is out of range", n->origin,
                 ir_op_defs[n->op].name, ir_escape_name(n->name, esc, sizeof esc));
    else
        snprintf(desc, sizeof desc, "node %d (%s): an index is out of range", n->origin,
                 ir_op_defs[n->op].name);
    f[p->n_failures].node = n->origin;
    if (!(f[p->n_failures].what = ir_strdup(desc)))
        return ir_oom(g);
    p->n_failures++;
    return 0;
}

/* The entry point: binds every buffer to a local pointer, calls the kernels. 0, or -1
 * with the error on g when the copies set aside outgrow the arena. */
static int emit_entry(ir_graph *g, ir_text *out, cg_ctx *c, const cg_request *rq, const cg_plan *pl,
                      cg_program *p)
{
    char v[32], esc[1100];
    ir_text_printf(out, "int " CG_ENTRY "(const void *const *in, unsigned char *arena, "
                        "unsigned char *state)\n{\n");
    /* A program may have no inputs, no parameters, or nothing in the arena. */
    /* Operand arrays of wide kernels (CG_MAX_CALL_ARGS) live in the arena, after the
     * planned buffers, not on the stack: a concat may list a million operands. Kernels
     * run one at a time, so they share one array. */
    size_t args_at = p->arena_size;
    int widest = 0;
    for (int i = 0; i < pl->n_kernels; i++)
        if (pl->kernels[i].n_args > CG_MAX_CALL_ARGS && pl->kernels[i].n_args > widest)
            widest = pl->kernels[i].n_args;
    size_t args_bytes;
    if (ir_size_align((size_t)widest * sizeof(void *), CG_ALIGN, &args_bytes) != 0 ||
        ir_size_add(p->arena_size, args_bytes, &p->arena_size) != 0)
        return ir_error(g,
                        "compile: the arena would need more than %zu bytes with the "
                        "operand list of a kernel of %d operands",
                        (size_t)SIZE_MAX, widest);
    int uses_in = 0, uses_state = 0, uses_arena = p->arena_size > 0;
    for (int i = 0; i < p->n_inputs; i++)
        uses_in |= pl->live[p->inputs[i].node];
    for (int i = 0; i < p->n_params; i++)
        uses_state |= pl->live[p->params[i].node];
    if (!uses_in)
        ir_text_printf(out, "    (void)in;\n");
    if (!uses_arena)
        ir_text_printf(out, "    (void)arena;\n");
    if (!uses_state)
        ir_text_printf(out, "    (void)state;\n");
    for (int i = 0; i < p->n_inputs; i++) {
        const ir_node *x = g->nodes[p->inputs[i].node];
        if (!pl->live[x->id])
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
        if (!pl->live[x->id])
            continue;
        const char *t = cg_ctype(x->dtype);
        ir_text_printf(out, "    %s *%s = (%s *)(state + %zu); /* param '%s' */\n", t,
                       var(x, v, sizeof v), t, p->params[i].offset,
                       ir_escape_name(x->name, esc, sizeof esc));
    }
    for (int i = 0; i < pl->n_kernels; i++)
        for (int o = 0; o < pl->kernels[i].n_outs; o++) {
            const ir_node *x = pl->kernels[i].outs[o];
            const char *t = cg_ctype(x->dtype);
            if (pl->in_place[x->id] >= 0) {
                char pv[32];
                var(g->nodes[pl->in_place[x->id]], pv, sizeof pv);
                ir_text_printf(out, "    %s *%s = %s; /* written in place: a parameter update */\n",
                               t, var(x, v, sizeof v), pv);
                continue;
            }
            ir_text_printf(out, "    %s *%s = (%s *)(arena + %zu);\n", t, var(x, v, sizeof v), t,
                           pl->offset[x->id]);
        }
    ir_text_printf(out, "\n");
    for (int i = 0; i < pl->n_kernels; i++) {
        const cg_kernel *k = &pl->kernels[i];
        int id = k->root->id, origin = k->root->origin;
        int array = k->n_args > CG_MAX_CALL_ARGS;
        if (array) {
            /* Too many operands for one call: they go in an array (CG_MAX_CALL_ARGS). */
            ir_text_printf(out, "    {\n        const void **xs = (const void **)(arena + %zu);",
                           args_at);
            for (int j = 0; j < k->n_args; j++)
                ir_text_printf(out, "%sxs[%d] = %s;", j % 4 ? " " : "\n        ", j,
                               var(k->args[j], v, sizeof v));
            ir_text_printf(out, "\n    ");
        }
        ir_text_printf(out, pl->fails[id] ? "    if (k%d(%s" : "    k%d(%s", origin,
                       var(k->root, v, sizeof v));
        for (int o = 0; o < k->n_outs - 1; o++)
            ir_text_printf(out, ", %s", var(k->outs[o], v, sizeof v));
        for (int j = 0; j < k->n_args && !array; j++)
            if (k->arg_out[j] < 0)
                ir_text_printf(out, ", %s", var(k->args[j], v, sizeof v));
        if (array)
            ir_text_printf(out, ", xs");
        ir_text_printf(out, pl->fails[id] ? "))\n        return %d;\n" : ");\n", origin + 1);
        if (array)
            ir_text_printf(out, "    }\n");
    }
    for (int i = 0; i < p->n_outputs; i++) {
        const ir_node *x = g->nodes[p->outputs[i].node];
        if (!cg_is_leaf(x))
            continue;
        const char *t = cg_ctype(x->dtype);
        ir_text_printf(out,
                       "    for (long i = 0; i < %lld; i++) /* output %d */\n"
                       "        ((%s *)(arena + %zu))[i] = %s[i];\n",
                       (long long)x->numel, i, t, p->outputs[i].offset, var(x, v, sizeof v));
    }
    if (rq->n_updates)
        ir_text_printf(out, "\n    /* parameter updates, after every read of the old values */\n");
    /* A parameter that is both the value of one update and the target of another
     * (a <- b, b <- a) is first copied aside, to s<i>, so every update reads the old
     * value. */
    for (int i = 0; i < rq->n_updates; i++) {
        const ir_node *val = rq->upd_values[i];
        if (!pl->target[val->id])
            continue;
        const char *t = cg_ctype(val->dtype);
        size_t at;
        if (cg_reserve(g, "arena", val, &p->arena_size, &at) != 0)
            return -1;
        ir_text_printf(out, "    %s *s%d = (%s *)(arena + %zu);\n", t, i, t, at);
        ir_text_printf(out, "    %s(s%d, %s, %lld);\n", cg_rt(c, "nb_rt_copy"), i,
                       var(val, v, sizeof v), (long long)node_bytes(val));
    }
    for (int i = 0; i < rq->n_updates; i++) {
        const ir_node *x = rq->upd_params[i], *val = rq->upd_values[i];
        char pv[32];
        if (pl->in_place[val->id] == x->id)
            continue;
        if (pl->target[val->id])
            snprintf(v, sizeof v, "s%d", i);
        else
            var(val, v, sizeof v);
        ir_text_printf(out, "    %s(%s, %s, %lld);\n", cg_rt(c, "nb_rt_copy"),
                       var(x, pv, sizeof pv), v, (long long)node_bytes(x));
    }
    ir_text_printf(out, "    return 0;\n}\n");
    return 0;
}

/* CPU seconds of this thread, for cg_times. */
static double thread_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int cg_generate(ir_graph *g, const cg_request *rq, cg_program *p)
{
    double t0 = rq->times ? thread_seconds() : 0.0, t1 = t0;
    ir_node *const *outputs = rq->outputs;
    int n = rq->n_outputs;
    cg_plan pl = {0};
    ir_text body = {0}, entry = {0}, out = {0};
    cg_ctx c = {0};
    memset(p, 0, sizeof *p);
    if (!g || g->error)
        return -1;
    size_t count = (size_t)g->n_nodes + 1;
    pl.live = ir_calloc(count, 8);
    pl.root = ir_calloc(count, sizeof *pl.root);
    pl.offset = ir_calloc(count, sizeof *pl.offset);
    if (!pl.live || !pl.root || !pl.offset) {
        ir_oom(g);
        goto fail;
    }
    pl.kept = pl.live + count;
    pl.fails = pl.live + 2 * count;
    pl.used_const = pl.live + 3 * count;
    pl.is_output = pl.live + 4 * count;
    pl.stored = pl.live + 5 * count;
    pl.target = pl.live + 6 * count;
    pl.values = pl.live + 7 * count;
    mark_live(g, rq, &pl);
    if (cg_fuse(g, pl.live, pl.kept, pl.root, pl.stored) != 0) {
        ir_oom(g);
        goto fail;
    }
    if (plan_kernels(g, &pl) != 0 || plan_in_place(g, rq, &pl) != 0 ||
        plan_memory(g, outputs, n, &pl, p) != 0)
        goto fail;
    if (rq->times)
        t1 = thread_seconds();
    for (int i = 0; i < pl.n_kernels; i++)
        for (int j = 0; j < pl.kernels[i].n_args; j++)
            pl.used_const[pl.kernels[i].args[j]->id] |= pl.kernels[i].args[j]->op == IR_OP_CONST;
    for (int i = 0; i < n; i++)
        pl.used_const[outputs[i]->id] |= outputs[i]->op == IR_OP_CONST;
    for (int id = 0; id < g->n_nodes; id++)
        if (pl.used_const[id])
            emit_constant(&body, &c, g->nodes[id]);
    if (body.len)
        ir_text_printf(&body, "\n");
    for (int i = 0; i < pl.n_kernels; i++) {
        const cg_kernel *k = &pl.kernels[i];
        if (emit_kernel(g, &body, &c, k) != 0)
            goto fail;
        /* The plan decided from the op table; the emitter must agree. */
        assert(c.can_fail == pl.fails[k->root->id]);
        if (c.can_fail && add_failure(g, p, k->root) != 0)
            goto fail;
    }
    /* The entry first: the functions it calls need prototypes at the top. */
    if (emit_entry(g, &entry, &c, rq, &pl, p) != 0)
        goto fail;
    ir_text_printf(&out, "/* Generated by nabla from a graph of %d nodes. */\n\n", g->n_nodes);
    int any_proto = 0;
    for (int i = 0; i < CG_LIBM_COUNT; i++)
        if (c.libm_used[i]) {
            ir_text_printf(&out, "%s\n", cg_libm_protos[i]);
            any_proto = 1;
        }
    for (int i = 0; i < CG_RT_COUNT; i++)
        if (c.rt_used[i]) {
            emit_rt_proto(&out, cg_rt_protos[i], rq->rt_link);
            any_proto = 1;
        }
    ir_text_printf(&out, "%s%s%s", any_proto ? "\n" : "", body.buf ? body.buf : "",
                   entry.buf ? entry.buf : "");
    if (out.failed || body.failed || entry.failed || c.internal[0]) {
        cg_text_error(g, &c);
        goto fail;
    }
    p->source = out.buf;
    if (rq->times) {
        rq->times->plan_seconds = t1 - t0;
        rq->times->emit_seconds = thread_seconds() - t1;
    }
    free(body.buf);
    free(entry.buf);
    plan_free(&pl);
    return 0;
fail:
    free(out.buf);
    free(body.buf);
    free(entry.buf);
    plan_free(&pl);
    cg_program_free(p);
    return -1;
}
