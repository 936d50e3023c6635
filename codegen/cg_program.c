/* cg_program.c — writes a planned graph (cg_plan.c) as one C translation unit: one
 * static function per kernel, and the entry point that binds every buffer where the
 * plan put it and calls the kernels in order. The same graph always gives the same
 * bytes. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"

static const char *const cg_libm_protos[] = {
#define CG_LIBM(fn, proto, exact) proto,
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

/* Appends the C name of a node's buffer inside the entry point: "n<origin>", or
 * "c<origin>" for a constant. */
static void put_var(ir_text *out, const ir_node *n)
{
    ir_text_putc(out, n->op == IR_OP_CONST ? 'c' : 'n');
    ir_text_int(out, n->origin);
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
    free(p->plan);
    memset(p, 0, sizeof *p);
}

/* Writes a runtime kernel's prototype "void f(int);", as a pointer "void (*f)(int);"
 * for a backend that fills it at load time (CG_RT_LINK_POINTERS), or "static void
 * f(int);" for the export, which defines it further down (CG_RT_LINK_STATIC). */
static void emit_rt_proto(ir_text *out, const char *proto, cg_rt_link link)
{
    int as_pointer = link == CG_RT_LINK_POINTERS;
    const char *paren = strchr(proto, '(');
    if (link == CG_RT_LINK_STATIC)
        ir_text_puts(out, "static ");
    const char *name = paren;
    while (name > proto && name[-1] != ' ' && name[-1] != '*')
        name--;
    if (!as_pointer || !paren)
        ir_text_printf(out, "%s\n", proto);
    else
        ir_text_printf(out, "%.*s(*%.*s)%s\n", (int)(name - proto), proto, (int)(paren - name),
                       name, paren);
}

/* Appends the text of type i of the plan: "f32[2,3]". */
static void put_type(ir_text *t, const cg_plan *pl, int i)
{
    ir_text_append(t, pl->type_text.buf + pl->types[i].at, pl->types[i].len);
}

/* A one-line description of a node for comments: "%7 = mul f32[2,3] (%5, %6) 'w'". Its
 * operands' numbers and types come from the plan: reading them from the operand nodes,
 * which may be anywhere in a large graph, would cost a cache miss each. */
static void describe(ir_text *t, const cg_plan *pl, const ir_node *n)
{
    const cg_node_plan *np = &pl->nodes[n->id];
    ir_text_putc(t, '%');
    ir_text_int(t, np->origin);
    ir_text_append(t, " = ", 3);
    ir_text_puts(t, ir_op_defs[np->op].name);
    if (np->op == IR_OP_MATMUL) /* the one op with flags: no other node's attr is read */
        ir_text_puts(t, ir_op_suffix(n));
    ir_text_putc(t, ' ');
    put_type(t, pl, np->type);
    for (int j = 0; j < np->n_in; j++) {
        const cg_node_plan *x = &pl->nodes[pl->operands[np->in_at + j]];
        ir_text_puts(t, j ? ", %" : " <- %");
        ir_text_int(t, x->origin);
        ir_text_putc(t, ' ');
        put_type(t, pl, x->type);
    }
    if (n->name) {
        char esc[IR_ESCAPED_NAME_MAX];
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

/* Appends "    <const >T *<letter><number> = (<const >T *)a[<slot>];\n": a split
 * kernel's pointer, unpacked from its argument array. number < 0: none. */
static void put_unpack(ir_text *out, int is_const, nb_dtype dt, const char *name, long long number,
                       int slot)
{
    const char *q = is_const ? "const " : "";
    ir_text_append(out, "    ", 4);
    ir_text_puts(out, q);
    ir_text_puts(out, cg_ctype(dt));
    ir_text_append(out, " *", 2);
    ir_text_puts(out, name);
    if (number >= 0)
        ir_text_int(out, number);
    ir_text_append(out, " = (", 4);
    ir_text_puts(out, q);
    ir_text_puts(out, cg_ctype(dt));
    ir_text_append(out, " *)a[", 5);
    ir_text_int(out, slot);
    ir_text_append(out, "];\n", 3);
}

/* Writes a split kernel (k->parts > 1): `static void kN(const void *const *a, long lo,
 * long hi)`, which runs the iterations [lo, hi) of its outermost loop over the
 * pointers in a (outputs, root first, then operands, as put_call lists them), and its
 * body. */
static void emit_split_kernel(ir_text *out, const cg_kernel *k, const ir_text *body)
{
    ir_text_puts(out, "static void k");
    ir_text_int(out, k->root->origin);
    ir_text_puts(out, "(const void *const *a, long lo, long hi)\n{\n");
    int slot = 0;
    put_unpack(out, 0, k->root->dtype, "y", -1, slot++);
    for (int o = 0; o < k->n_outs - 1; o++)
        put_unpack(out, 0, k->outs[o]->dtype, "s", k->outs[o]->origin, slot++);
    for (int a = 0; a < k->n_args; a++)
        if (k->arg_out[a] < 0)
            put_unpack(out, 1, k->args[a]->dtype, "x", a, slot++);
    if (body->buf)
        ir_text_append(out, body->buf, body->len);
    ir_text_puts(out, "}\n\n");
}

/* Writes `static void|int kN(T *y, const T0 *x0, ...)` and its body. */
static int emit_kernel(ir_graph *g, ir_text *out, cg_ctx *c, const cg_kernel *k, ir_text *scratch)
{
    const ir_node *n = k->root;
    /* A reduction with fused consumers writes the kernel: they are computed in its loops. */
    const ir_node *writer = k->reduction ? k->reduction : n;
    cg_emit_fn kernel = cg_kernel_emitter(writer->op);
    /* The body is written first (the signature depends on whether it can fail) into
     * scratch, which every kernel uses again: no allocation per kernel. */
    ir_text body = *scratch;
    body.len = 0;
    if (body.buf)
        body.buf[0] = 0;
    c->t = &body;
    c->indent = 1;
    c->can_fail = 0;
    c->split = k->parts > 1;
    c->gemm_one = k->pair != 0;
    c->kernel = k;
    if (kernel)
        kernel(c, writer);
    else if (cg_is_elementwise(n))
        cg_elementwise(c, k);
    else
        return ir_error(g, "codegen: internal error: op %s has no emitter in cg_ops.def",
                        ir_op_defs[n->op].name);
    c->t = NULL; /* body ends here; later writes through c name their own text */
    *scratch = body;
    if (body.failed)
        return cg_text_error(g, c); /* the caller frees scratch, whatever is left in it */
    for (int i = 0; i < k->n_members; i++) {
        ir_text_puts(out, i ? "\n * " : "/* ");
        describe(out, c->plan, k->members[i]);
    }
    ir_text_append(out, " */\n", 4);
    if (k->parts > 1) {
        emit_split_kernel(out, k, &body);
        return 0;
    }
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
    return 0;
}

/* Pointer i of kernel k in the order a split kernel's argument array and a pair's
 * array list them: the root's output, the other stored members, then the operands not
 * read through an output. *is_const: an operand. NULL past the last. */
static const ir_node *kernel_pointer(const cg_kernel *k, int i, int *is_const)
{
    *is_const = 0;
    if (i < k->n_outs)
        return i ? k->outs[i - 1] : k->root;
    i -= k->n_outs;
    *is_const = 1;
    for (int a = 0; a < k->n_args; a++)
        if (k->arg_out[a] < 0 && i-- == 0)
            return k->args[a];
    return NULL;
}

/* Appends "kN((T *)a[slot], (const T *)a[slot + 1], ...)" for a kernel that is not split
 * and takes its operands one by one; returns the next slot. */
static int put_part_call(ir_text *out, const cg_kernel *k, int slot)
{
    const ir_node *x;
    int is_const;
    ir_text_putc(out, 'k');
    ir_text_int(out, k->root->origin);
    for (int i = 0; (x = kernel_pointer(k, i, &is_const)); i++) {
        ir_text_puts(out, i ? ", (" : "((");
        ir_text_puts(out, is_const ? "const " : "");
        ir_text_puts(out, cg_ctype(x->dtype));
        ir_text_append(out, " *)a[", 5);
        ir_text_int(out, slot++);
        ir_text_putc(out, ']');
    }
    ir_text_puts(out, ");\n");
    return slot;
}

/* Writes `static void pN(const void *const *a, long lo, long hi)` for kernels k (N) and
 * the next one run side by side (cg_kernel.pair): the pool's two parts of 16 iterations
 * each, the first calling k and the second the other over the pointers of both, in the
 * order put_call lists them. One thread running both parts calls both, k first. */
static void emit_pair(ir_text *out, const cg_kernel *k)
{
    ir_text_puts(out, "/* k");
    ir_text_int(out, k[0].root->origin);
    ir_text_puts(out, " and k");
    ir_text_int(out, k[1].root->origin);
    ir_text_puts(out, " side by side: the two parts of one pool job. */\nstatic void p");
    ir_text_int(out, k[0].root->origin);
    ir_text_puts(out, "(const void *const *a, long lo, long hi)\n{\n    if (lo < ");
    ir_text_int(out, CG_SPLIT_GRAIN);
    ir_text_puts(out, ")\n        ");
    int slot = put_part_call(out, &k[0], 0);
    ir_text_puts(out, "    if (hi > ");
    ir_text_int(out, CG_SPLIT_GRAIN);
    ir_text_puts(out, ")\n        ");
    put_part_call(out, &k[1], slot);
    ir_text_puts(out, "}\n\n");
}

static void emit_constant(ir_text *out, cg_ctx *c, const ir_node *n)
{
    (void)c;
    int short_list = n->numel <= 8;
    ir_text_puts(out, "static const ");
    ir_text_puts(out, cg_ctype(n->dtype));
    ir_text_putc(out, ' ');
    put_var(out, n);
    ir_text_putc(out, '[');
    ir_text_int(out, (long long)n->numel);
    ir_text_append(out, "] = {", 5);
    for (int64_t i = 0; i < n->numel; i++) {
        ir_text_puts(out, i % 8 ? ", " : (i ? ",\n    " : (short_list ? "" : "\n    ")));
        cg_lit_put(out, n->dtype, n->data[i]);
    }
    ir_text_puts(out, short_list ? "};\n" : "\n};\n");
}

/* Fills the slot lists of p: inputs, parameters (placed in the state) and outputs
 * (where the plan put them in the arena). */
static int program_slots(ir_graph *g, const cg_request *rq, const cg_plan *pl, cg_program *p)
{
    p->inputs = ir_calloc((size_t)g->n_inputs + 1, sizeof *p->inputs);
    p->params = ir_calloc((size_t)g->n_params + 1, sizeof *p->params);
    p->outputs = ir_calloc((size_t)rq->n_outputs + 1, sizeof *p->outputs);
    if (!p->inputs || !p->params || !p->outputs)
        return ir_oom(g);
    for (int id = 0; id < g->n_nodes; id++) {
        /* The plan's copy of the op: most nodes are neither, and their structs stay unread. */
        if (pl->nodes[id].op != IR_OP_INPUT && pl->nodes[id].op != IR_OP_PARAM)
            continue;
        const ir_node *v = g->nodes[id];
        if (v->op == IR_OP_INPUT) {
            cg_slot *s = &p->inputs[p->n_inputs++];
            if (slot_fill(g, s, v) != 0)
                return -1;
            s->used = pl->nodes[id].live;
        } else if (v->op == IR_OP_PARAM) {
            cg_slot *s = &p->params[p->n_params++];
            if (slot_fill(g, s, v) != 0)
                return -1;
            s->kind = (nb_param_kind)v->attr.k;
            if (cg_reserve(g, "parameter state", v, &p->state_size, &s->offset) != 0)
                return -1;
        }
    }
    p->arena_size = pl->arena_size;
    for (int i = 0; i < rq->n_outputs; i++) {
        cg_slot *s = &p->outputs[p->n_outputs++];
        if (slot_fill(g, s, rq->outputs[i]) != 0)
            return -1;
        s->offset = pl->buffers[pl->output_buffer[i]].offset;
    }
    return 0;
}

static int add_failure(ir_graph *g, cg_program *p, const ir_node *n)
{
    cg_failure *f = ir_realloc(p->failures, (size_t)(p->n_failures + 1) * sizeof *f);
    char desc[IR_ESCAPED_NAME_MAX + 128], esc[IR_ESCAPED_NAME_MAX];
    if (!f)
        return ir_oom(g);
    p->failures = f;
    if (n->name)
        snprintf(desc, sizeof desc, "node %d (%s '%s'): %s", n->origin, ir_op_defs[n->op].name,
                 ir_escape_name(n->name, esc, sizeof esc), cg_fail_what(n));
    else
        snprintf(desc, sizeof desc, "node %d (%s): %s", n->origin, ir_op_defs[n->op].name,
                 cg_fail_what(n));
    f[p->n_failures].node = n->origin;
    if (!(f[p->n_failures].what = ir_strdup(desc)))
        return ir_oom(g);
    p->n_failures++;
    return 0;
}

/* Appends a byte offset or count in decimal, as printf's %zu writes it. */
static void put_size(ir_text *out, size_t v)
{
    char buf[IR_INT_STR_MAX];
    unsigned long long u = (unsigned long long)v;
    size_t n = 0;
    do {
        buf[sizeof buf - 1 - n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    ir_text_append(out, buf + sizeof buf - n, n);
}

/* Appends " '<name>'" with the name escaped for a comment; nothing when name is NULL. */
static void put_name(ir_text *out, const char *name)
{
    char esc[IR_ESCAPED_NAME_MAX];
    if (!name)
        return;
    ir_text_append(out, " '", 2);
    ir_text_puts(out, ir_escape_name(name, esc, sizeof esc));
    ir_text_putc(out, '\'');
}

/* Appends the variable of n, or swap slot s<swap> when n is NULL. */
static void put_var_or_swap(ir_text *out, const ir_node *n, int swap)
{
    if (n)
        put_var(out, n);
    else {
        ir_text_putc(out, 's');
        ir_text_int(out, swap);
    }
}

/* Appends "    <T> *<var> = (<T> *)": the start of a pointer's declaration, the
 * variable of x or swap slot s<swap> when x is NULL. */
static void put_decl(ir_text *out, const char *t, const ir_node *x, int swap)
{
    ir_text_append(out, "    ", 4);
    ir_text_puts(out, t);
    ir_text_append(out, " *", 2);
    put_var_or_swap(out, x, swap);
    ir_text_append(out, " = (", 4);
    ir_text_puts(out, t);
    ir_text_append(out, " *)", 3);
}

/* Appends "    <T> *<var> = (<T> *)(<base> + <offset>);" (without the line end). */
static void put_pointer(ir_text *out, const char *t, const ir_node *x, int swap, const char *base,
                        size_t offset)
{
    put_decl(out, t, x, swap);
    ir_text_putc(out, '(');
    ir_text_puts(out, base);
    ir_text_append(out, " + ", 3);
    put_size(out, offset);
    ir_text_append(out, ");", 2);
}

/* Appends "    <T> *<var> = (<T> *)param[<i>];" (without the line end): parameter i
 * of an exported entry, whose address the caller passes. */
static void put_param(ir_text *out, const char *t, const ir_node *x, int i)
{
    put_decl(out, t, x, 0);
    ir_text_puts(out, "param[");
    ir_text_int(out, i);
    ir_text_append(out, "];", 2);
}

/* Appends "    <copy>(<dst>, <src>, <bytes>);\n": one update copied into its parameter. */
static void put_copy(ir_text *out, cg_ctx *c, const ir_node *dst, const ir_node *src, int swap,
                     int64_t bytes)
{
    ir_text_append(out, "    ", 4);
    ir_text_puts(out, cg_rt(c, "nb_rt_copy"));
    ir_text_putc(out, '(');
    put_var_or_swap(out, dst, swap);
    ir_text_append(out, ", ", 2);
    put_var_or_swap(out, src, swap);
    ir_text_append(out, ", ", 2);
    ir_text_int(out, bytes);
    ir_text_append(out, ");\n", 3);
}

/* The call of kernel k in the entry point (its operands in an array when there are too
 * many for one call, CG_MAX_CALL_ARGS), returning on a failure when it can fail. */
static void put_call(ir_text *out, cg_ctx *c, const cg_plan *pl, const cg_kernel *k, int threads)
{
    int side = threads > 1 && k->pair != 0;
    if (side && k->pair < 0)
        return; /* called by the pair's function, with the kernel before */
    if (k->parts > 1 || side) {
        /* Split, or a pair: the pointers in an array, the parts run by the pool
         * (nb_rt_parallel). */
        const ir_node *x;
        int is_const, n = 0;
        ir_text_puts(out, "    {\n        const void *const a[] = {");
        for (int half = 0; half <= side; half++)
            for (int i = 0; (x = kernel_pointer(&k[half], i, &is_const)); i++) {
                ir_text_puts(out, n++ ? ", " : "");
                put_var(out, x);
            }
        ir_text_puts(out, "};\n        ");
        ir_text_puts(out, cg_rt(c, "nb_rt_parallel"));
        ir_text_append(out, side ? "(p" : "(k", 2);
        ir_text_int(out, k->root->origin);
        ir_text_append(out, ", a, ", 5);
        ir_text_int(out, side ? 2 * CG_SPLIT_GRAIN : (long long)cg_kernel_extent(k));
        ir_text_append(out, ", ", 2);
        ir_text_int(out, side ? 2 : k->parts);
        ir_text_puts(out, ");\n    }\n");
        return;
    }
    int origin = k->root->origin, fails = pl->nodes[k->root->id].fails;
    int array = k->args_buffer >= 0;
    if (array) {
        ir_text_puts(out, "    {\n        const void **xs = (const void **)(arena + ");
        put_size(out, pl->buffers[k->args_buffer].offset);
        ir_text_append(out, ");", 2);
        for (int j = 0; j < k->n_args; j++) {
            ir_text_puts(out, j % 4 ? " xs[" : "\n        xs[");
            ir_text_int(out, j);
            ir_text_append(out, "] = ", 4);
            put_var(out, k->args[j]);
            ir_text_putc(out, ';');
        }
        ir_text_append(out, "\n    ", 5);
    }
    ir_text_puts(out, fails ? "    if (k" : "    k");
    ir_text_int(out, origin);
    ir_text_putc(out, '(');
    put_var(out, k->root);
    for (int o = 0; o < k->n_outs - 1; o++) {
        ir_text_append(out, ", ", 2);
        put_var(out, k->outs[o]);
    }
    for (int j = 0; j < k->n_args && !array; j++)
        if (k->arg_out[j] < 0) {
            ir_text_append(out, ", ", 2);
            put_var(out, k->args[j]);
        }
    if (array)
        ir_text_append(out, ", xs", 4);
    if (fails) {
        ir_text_puts(out, "))\n        return ");
        ir_text_int(out, origin + 1);
        ir_text_append(out, ";\n", 2);
    } else {
        ir_text_append(out, ");\n", 3);
    }
    if (array)
        ir_text_append(out, "    }\n", 6);
}

/* The entry point: binds every buffer to a local pointer (where the plan put it),
 * calls the kernels, copies leaf outputs and the updates not written in place. Written
 * by appends, not printf: it has a line per buffer and per kernel. */
static void emit_entry(ir_graph *g, ir_text *out, cg_ctx *c, const cg_request *rq,
                       const cg_plan *pl, const cg_program *p)
{
    int exported = rq->rt_link == CG_RT_LINK_STATIC;
    ir_text_puts(out, exported ? "static int " CG_ENTRY "(const void *const *in, unsigned char "
                                 "*arena, void *const *param)\n{\n"
                               : "int " CG_ENTRY "(const void *const *in, unsigned char *arena, "
                                 "unsigned char *state)\n{\n");
    /* A program may have no inputs, no parameters, or nothing in the arena. */
    int uses_in = 0, uses_state = 0, uses_arena = pl->arena_size > 0;
    for (int i = 0; i < p->n_inputs; i++)
        uses_in |= pl->nodes[p->inputs[i].node].live;
    for (int i = 0; i < p->n_params; i++)
        uses_state |= pl->nodes[p->params[i].node].live;
    if (!uses_in)
        ir_text_puts(out, "    (void)in;\n");
    if (!uses_arena)
        ir_text_puts(out, "    (void)arena;\n");
    if (!uses_state)
        ir_text_puts(out, exported ? "    (void)param;\n" : "    (void)state;\n");
    for (int i = 0; i < p->n_inputs; i++) {
        const ir_node *x = g->nodes[p->inputs[i].node];
        if (!pl->nodes[x->id].live)
            continue;
        const char *t = cg_ctype(x->dtype);
        ir_text_puts(out, "    const ");
        ir_text_puts(out, t);
        ir_text_append(out, " *", 2);
        put_var(out, x);
        ir_text_puts(out, " = (const ");
        ir_text_puts(out, t);
        ir_text_puts(out, " *)in[");
        ir_text_int(out, i);
        ir_text_puts(out, "]; /* input");
        put_name(out, x->name);
        ir_text_append(out, " */\n", 4);
    }
    for (int i = 0; i < p->n_params; i++) {
        const ir_node *x = g->nodes[p->params[i].node];
        if (!pl->nodes[x->id].live)
            continue;
        if (exported)
            put_param(out, cg_ctype(x->dtype), x, i);
        else
            put_pointer(out, cg_ctype(x->dtype), x, 0, "state", p->params[i].offset);
        ir_text_puts(out, " /* param");
        put_name(out, x->name);
        ir_text_append(out, " */\n", 4);
    }
    /* Kernel results, then views: a view points into a result or a leaf declared above. */
    for (int i = 0; i < pl->n_buffers; i++) {
        const cg_buffer *b = &pl->buffers[i];
        const ir_node *x = b->node;
        if (b->kind == CG_BUF_IN_PLACE) {
            ir_text_append(out, "    ", 4);
            ir_text_puts(out, cg_ctype(x->dtype));
            ir_text_append(out, " *", 2);
            put_var(out, x);
            ir_text_append(out, " = ", 3);
            put_var(out, b->alias);
            ir_text_puts(out, "; /* written in place: a parameter update */\n");
        } else if (b->kind == CG_BUF_ARENA) {
            put_pointer(out, cg_ctype(x->dtype), x, 0, "arena", b->offset);
            ir_text_putc(out, '\n');
        }
    }
    for (int i = 0; i < pl->n_buffers; i++) {
        const cg_buffer *b = &pl->buffers[i];
        const ir_node *x = b->node;
        if (b->kind != CG_BUF_VIEW || b->first < 0)
            continue; /* read only through other views: no pointer of its own */
        ir_text_puts(out, "    const ");
        ir_text_puts(out, cg_ctype(x->dtype));
        ir_text_append(out, " *", 2);
        put_var(out, x);
        ir_text_append(out, " = ", 3);
        put_var(out, b->alias);
        ir_text_append(out, " + ", 3);
        put_size(out, b->alias_offset / ir_dtype_size(x->dtype));
        ir_text_puts(out, "; /* view of %");
        ir_text_int(out, b->alias->origin);
        ir_text_append(out, " */\n", 4);
    }
    ir_text_putc(out, '\n');
    for (int i = 0; i < pl->n_kernels; i++)
        put_call(out, c, pl, &pl->kernels[i], rq->threads);
    for (int i = 0; i < p->n_outputs; i++) {
        const cg_buffer *b = &pl->buffers[pl->output_buffer[i]];
        if (b->kind != CG_BUF_OUTPUT_COPY)
            continue;
        ir_text_puts(out, "    for (long i = 0; i < ");
        ir_text_int(out, (long long)b->node->numel);
        ir_text_puts(out, "; i++) /* output ");
        ir_text_int(out, i);
        ir_text_puts(out, " */\n        ((");
        ir_text_puts(out, cg_ctype(b->node->dtype));
        ir_text_puts(out, " *)(arena + ");
        put_size(out, b->offset);
        ir_text_puts(out, "))[i] = ");
        put_var(out, b->node);
        ir_text_puts(out, "[i];\n");
    }
    if (rq->n_updates)
        ir_text_puts(out, "\n    /* parameter updates, after every read of the old values */\n");
    /* A parameter that is both the value of one update and the target of another
     * (a <- b, b <- a) is first copied aside, to s<i>, so every update reads the old
     * value. */
    for (int i = 0; i < rq->n_updates; i++) {
        const ir_node *val = rq->upd_values[i];
        if (pl->update_swap[i] < 0)
            continue;
        put_pointer(out, cg_ctype(val->dtype), NULL, i, "arena",
                    pl->buffers[pl->update_swap[i]].offset);
        ir_text_putc(out, '\n');
        put_copy(out, c, NULL, val, i, (int64_t)node_bytes(val));
    }
    for (int i = 0; i < rq->n_updates; i++) {
        const ir_node *x = rq->upd_params[i], *val = rq->upd_values[i];
        const cg_buffer *vb =
            pl->nodes[val->id].buffer >= 0 ? &pl->buffers[pl->nodes[val->id].buffer] : NULL;
        if (vb && vb->kind == CG_BUF_IN_PLACE && vb->alias == x)
            continue;
        put_copy(out, c, x, pl->update_swap[i] >= 0 ? NULL : val, i, (int64_t)node_bytes(x));
    }
    ir_text_puts(out, "    return 0;\n}\n");
}

int cg_generate(ir_graph *g, const cg_request *rq, cg_program *p)
{
    double t0 = rq->times ? ir_thread_seconds() : 0.0, t1 = t0;
    cg_plan pl = {0};
    ir_text body = {0}, out = {0}, plan_text = {0}, scratch = {0};
    cg_ctx c = {0};
    memset(p, 0, sizeof *p);
    if (!g || g->error)
        return -1;
    if (cg_plan_build(g, rq, &pl) != 0 || program_slots(g, rq, &pl, p) != 0)
        goto fail;
    c.plan = &pl;
    c.block_math = rq->rt_link == CG_RT_LINK_SYMBOLS;
    c.rt_kernels = rq->rt_link != CG_RT_LINK_STATIC;
    if (rq->keep_plan) {
        cg_plan_print(&pl, &plan_text);
        if (plan_text.failed) {
            ir_oom(g);
            goto fail;
        }
    }
    if (rq->times)
        t1 = ir_thread_seconds();
    for (int id = 0; id < g->n_nodes; id++)
        if (pl.nodes[id].used_const)
            emit_constant(&body, &c, g->nodes[id]);
    if (body.len)
        ir_text_putc(&body, '\n');
    for (int i = 0; i < pl.n_kernels; i++) {
        const cg_kernel *k = &pl.kernels[i];
        if (emit_kernel(g, &body, &c, k, &scratch) != 0)
            goto fail;
        /* The plan decided from the op table; the emitter must agree. */
        assert(c.can_fail == pl.nodes[k->root->id].fails);
        if (c.can_fail && add_failure(g, p, k->root) != 0)
            goto fail;
        if (k->pair < 0 && rq->threads > 1)
            emit_pair(&body, k - 1);
    }
    /* The entry first: the functions it calls need prototypes at the top. */
    emit_entry(g, &body, &c, rq, &pl, p);
    /* Then the header and prototypes, put in front of the body by moving it within its
     * own buffer: a copy into a new buffer would fault in megabytes of fresh pages for
     * a long chain. Appends, not printf. */
    ir_text_puts(&out, "/* Generated by nabla from a graph of ");
    ir_text_int(&out, g->n_nodes);
    ir_text_puts(&out, " nodes. */\n\n");
    int any_proto = 0;
    for (int i = 0; i < CG_LIBM_COUNT; i++)
        if (c.libm_used[i]) {
            ir_text_puts(&out, cg_libm_protos[i]);
            ir_text_putc(&out, '\n');
            any_proto = 1;
        }
    for (int i = 0; i < CG_RT_COUNT; i++)
        if (c.rt_used[i]) {
            emit_rt_proto(&out, cg_rt_protos[i], rq->rt_link);
            any_proto = 1;
        }
    if (any_proto)
        ir_text_putc(&out, '\n');
    cg_math_put(&out, c.math_used, rq->rt_link);
    if (c.random_used)
        cg_random_put(&out, rq->rt_link);
    if (!out.failed && ir_text_reserve(&body, out.len) == 0) {
        memmove(body.buf + out.len, body.buf, body.len);
        memcpy(body.buf, out.buf, out.len);
        body.len += out.len;
        body.buf[body.len] = 0;
    }
    if (out.failed || body.failed || c.internal[0]) {
        cg_text_error(g, &c);
        goto fail;
    }
    p->source = body.buf;
    p->plan = plan_text.buf;
    p->n_updates = rq->n_updates;
    memcpy(p->rt_used, c.rt_used, sizeof p->rt_used);
    memcpy(p->libm_used, c.libm_used, sizeof p->libm_used);
    if (rq->times) {
        rq->times->plan_seconds = t1 - t0;
        rq->times->emit_seconds = ir_thread_seconds() - t1;
    }
    free(out.buf);
    free(scratch.buf);
    cg_plan_free(&pl);
    return 0;
fail:
    free(out.buf);
    free(body.buf);
    free(scratch.buf);
    free(plan_text.buf);
    cg_plan_free(&pl);
    cg_program_free(p);
    return -1;
}
