/* cg_plan.c — the plan of a program as data: which nodes live, which are views, how
 * nodes fuse into kernels, which updates are written in place, and the buffers that
 * hold every value with their live ranges and arena offsets. It is complete before any
 * text is written (cg_program.c only reads it) and prints as text (cg_plan_print). */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"

/* Marks the nodes the outputs and updates need; update values are kept whole to the
 * end of the run like outputs. */
static void mark_live(const ir_graph *g, const cg_request *rq, cg_node_plan *nodes,
                      const int *operands)
{
    for (int i = 0; i < rq->n_outputs; i++) {
        cg_node_plan *o = &nodes[rq->outputs[i]->id];
        o->live = o->kept = o->output = 1;
    }
    for (int i = 0; i < rq->n_updates; i++) {
        cg_node_plan *v = &nodes[rq->upd_values[i]->id], *p = &nodes[rq->upd_params[i]->id];
        v->live = v->kept = 1;
        p->live = p->target = 1;
        if (v->values < 2)
            v->values++;
    }
    for (int id = g->n_nodes - 1; id >= 0; id--)
        if (nodes[id].live)
            for (int j = 0; j < nodes[id].n_in; j++)
                nodes[operands[nodes[id].in_at + j]].live = 1;
}

/* When slice n takes one contiguous run of its operand — leading axes of one index,
 * then one axis with step 1 (or one index), then every later axis whole — sets *at to
 * the element where the run starts and returns 1. */
static int slice_is_run(const ir_node *n, int64_t *at)
{
    const ir_node *x = n->in[0];
    int64_t xs[NB_MAX_RANK];
    int r = x->rank, d = 0;
    cg_strides(r, x->shape, xs);
    *at = 0;
    for (int e = 0; e < r; e++)
        *at += n->attr.slice.start[e] * xs[e];
    while (d < r && n->shape[d] == 1)
        d++;
    if (d < r && n->attr.slice.step[d] != 1)
        return 0;
    for (d++; d < r; d++)
        if (n->shape[d] != x->shape[d] ||
            (x->shape[d] > 1 && (n->attr.slice.start[d] != 0 || n->attr.slice.step[d] != 1)))
            return 0;
    return 1;
}

/* A reshape, or a slice that takes a contiguous run, aliases its operand instead of
 * being copied, and so does a permute that only elementwise kernels read (contiguous
 * == 0: their loops read any strides); unless it is kept (an output or an update value:
 * its memory must be its own, since outputs outlive the run in the arena and updates
 * are copied from it) or empty. Sets *at to its first element in the operand. */
static int is_view(const ir_node *n, const cg_node_plan *np, int contiguous, int64_t *at)
{
    *at = 0;
    if (!np->live || np->kept || n->numel == 0)
        return 0;
    if (n->op == IR_OP_RESHAPE)
        return 1;
    if (n->op == IR_OP_PERMUTE)
        return !contiguous;
    return n->op == IR_OP_SLICE && slice_is_run(n, at);
}

/* Builds the kernel list: members of each root in id order, the members each writes,
 * and the operands they read from outside the kernel (each once; a whole-kernel op
 * keeps its operands as they are, since its emitter numbers them by position). */
static int plan_kernels(ir_graph *g, cg_plan *pl)
{
    cg_node_plan *nodes = pl->nodes;
    int n = g->n_nodes, slots = 0;
    for (int id = 0; id < n; id++)
        if (nodes[id].root >= 0)
            slots += 2 + nodes[id].n_in;
    pl->kernels = ir_calloc((size_t)n + 1, sizeof *pl->kernels);
    pl->lists = ir_calloc((size_t)slots + 1, sizeof *pl->lists);
    pl->arg_outs = ir_malloc(((size_t)slots + 1) * sizeof *pl->arg_outs);
    pl->arg_permuted = ir_malloc((size_t)slots + 1);
    /* Per root: its members, and the operands they read. */
    int *members = ir_calloc(2 * ((size_t)n + 1), sizeof *members), *operands = members + n + 1;
    if (!pl->kernels || !pl->lists || !pl->arg_outs || !pl->arg_permuted || !members) {
        free(members);
        return ir_oom(g);
    }
    for (int id = 0; id < n; id++)
        if (nodes[id].root >= 0) {
            members[nodes[id].root]++;
            operands[nodes[id].root] += nodes[id].n_in;
        }
    /* Lay the lists out: members, then operands, then outputs, per kernel. */
    const ir_node **next = pl->lists;
    int *next_out = pl->arg_outs;
    for (int id = 0; id < n; id++) {
        nodes[id].kernel = -1;
        if (nodes[id].root != id)
            continue;
        cg_kernel *k = &pl->kernels[pl->n_kernels];
        k->root = g->nodes[id];
        k->members = next;
        k->args = next + members[id];
        k->outs = next + members[id] + operands[id];
        k->arg_out = next_out;
        k->arg_permuted = pl->arg_permuted + (next_out - pl->arg_outs);
        k->args_buffer = -1;
        k->parts = 1;
        next += 2 * members[id] + operands[id];
        next_out += operands[id];
        nodes[id].kernel = pl->n_kernels++;
    }
    for (int id = 0; id < n; id++) {
        if (nodes[id].root < 0)
            continue;
        cg_kernel *k = &pl->kernels[nodes[nodes[id].root].kernel];
        const ir_node *v = g->nodes[id];
        nodes[id].kernel = nodes[nodes[id].root].kernel;
        k->members[k->n_members++] = v;
        if (!nodes[id].ew && members[k->root->id] > 1)
            k->reduction = v; /* cg_fuse fuses nothing else that is not elementwise */
        if (nodes[id].stored)
            k->outs[k->n_outs++] = v;
        /* Fused loops (elementwise, or a reduction with its producers) read each operand
         * once and write scalar constants as literals. */
        int ew = nodes[k->root->id].ew || members[k->root->id] > 1;
        for (int j = 0; j < nodes[id].n_in; j++) {
            int xid = pl->operands[nodes[id].in_at + j];
            const ir_node *x = g->nodes[xid];
            int seen = 0;
            if (nodes[xid].root == nodes[id].root || (ew && nodes[xid].inlined))
                continue;
            for (int a = 0; a < k->n_args && ew; a++)
                seen |= k->args[a] == x;
            if (!seen) {
                k->arg_out[k->n_args] = -1;
                pl->arg_permuted[&k->arg_out[k->n_args] - pl->arg_outs] =
                    nodes[xid].view && nodes[xid].op == IR_OP_PERMUTE;
                k->args[k->n_args++] = x;
            }
        }
    }
    free(members);
    pl->last_fail = -1;
    for (int i = 0; i < pl->n_kernels; i++)
        if (cg_can_fail(pl->kernels[i].root)) {
            nodes[pl->kernels[i].root->id].fails = 1;
            pl->last_fail = i;
        }
    return 0;
}

/* What planning works from besides the plan, per node id: where views point, and the
 * reads of the kernels. first_read and last_read: the first and last kernel that reads
 * the node as an operand; via_view: the last kernel that reads the node's memory
 * through a view; last_use: the last that reads its memory either way. -1 when none. */
typedef struct scratch {
    const ir_node **base; /* a view: the node whose memory it is (never a view), else NULL */
    size_t *base_at;      /* a view: its first byte in base's memory */
    int *first_read, *last_read, *via_view, *last_use;
    int *in_place;             /* an update value written in place: its parameter's id, else -1 */
    unsigned char *contiguous; /* read by a node that needs it contiguous */
} scratch;

/* The node whose memory x's values are in: x itself, or the base of its view. */
static const ir_node *memory_of(const scratch *sc, const ir_node *x)
{
    return sc->base[x->id] ? sc->base[x->id] : x;
}

/* Marks the views (in id order, so a view of a view finds its operand's base). A
 * permute read by anything but an elementwise node (a reduction, a matmul, a copy, a
 * view) must be contiguous: it stays a kernel. */
static void plan_views(const ir_graph *g, cg_node_plan *nodes, const int *operands, scratch *sc)
{
    unsigned char *contiguous = sc->contiguous;
    for (int id = 0; id < g->n_nodes; id++)
        for (int j = 0; nodes[id].live && !nodes[id].ew && j < nodes[id].n_in; j++)
            contiguous[operands[nodes[id].in_at + j]] = 1;
    for (int id = 0; id < g->n_nodes; id++) {
        const ir_node *n, *x;
        int64_t at;
        /* Only these ops can be views: the others' node structs are not read. */
        if (nodes[id].op != IR_OP_RESHAPE && nodes[id].op != IR_OP_PERMUTE &&
            nodes[id].op != IR_OP_SLICE)
            continue;
        n = g->nodes[id];
        if (!is_view(n, &nodes[id], contiguous[id], &at))
            continue;
        nodes[id].view = 1;
        x = n->in[0];
        sc->base[id] = memory_of(sc, x);
        sc->base_at[id] =
            (size_t)at * ir_dtype_size(n->dtype) + (sc->base[x->id] ? sc->base_at[x->id] : 0);
    }
}

static void reads_fill(const ir_graph *g, const cg_plan *pl, scratch *sc)
{
    for (int id = 0; id < g->n_nodes; id++)
        sc->first_read[id] = sc->last_read[id] = sc->via_view[id] = sc->last_use[id] = -1;
    for (int i = 0; i < pl->n_kernels; i++)
        for (int a = 0; a < pl->kernels[i].n_args; a++) {
            const ir_node *x = pl->kernels[i].args[a], *m = memory_of(sc, x);
            if (sc->first_read[x->id] < 0)
                sc->first_read[x->id] = i;
            sc->last_read[x->id] = i;
            if (m != x)
                sc->via_view[m->id] = i;
            sc->last_use[m->id] = i;
        }
}

/* Whether kernel k reads each operand element before it writes the element at the same
 * index: an elementwise kernel, or a reduction's producers (the same index of its
 * operand's shape). Not a reduction with consumers: its producers read a row of the
 * operand's shape before the consumers write at the output's index (broadcast, that
 * may be another element of the same memory). */
static int reads_in_step(const cg_kernel *k)
{
    if (k->reduction)
        return k->reduction == k->root;
    return cg_is_elementwise(k->root);
}

/* Lets the kernel that computes update value V write it straight into parameter P (no
 * arena buffer, no copy at the end) when that cannot change what any kernel reads: no
 * kernel after V's reads P, V's own kernel reads P only elementwise (element i before
 * it writes element i: reads_in_step) and never through a view, and neither P nor V is
 * an output or another update's value. A run is all or nothing for the state, so no
 * kernel that can fail may come at or after V's: the failing run returns before any
 * parameter is written, and the copies at the end of the entry point only run once
 * every kernel has succeeded. Sets in_place[V] = P. */
static void plan_in_place(const cg_request *rq, cg_plan *pl, const scratch *sc)
{
    const cg_node_plan *nodes = pl->nodes;
    for (int u = 0; u < rq->n_updates; u++) {
        const ir_node *par = rq->upd_params[u], *val = rq->upd_values[u];
        int kv = nodes[val->id].kernel;
        /* No other update writes val or reads par as its value; every kernel reading par
         * runs before val's (or is val's, elementwise: each parameter is written by one
         * update only, so none of its reads goes through an output yet); a view of par
         * is read by no kernel from val's on (it would see the new values); and no kernel
         * that can fail runs after it, so a failed run leaves state as it was. */
        int ok = kv >= 0 && kv > pl->last_fail && nodes[val->id].stored && !nodes[val->id].output &&
                 !nodes[par->id].output && nodes[val->id].values == 1 && !nodes[par->id].values &&
                 sc->via_view[par->id] < kv &&
                 (sc->last_read[par->id] < kv ||
                  (sc->last_read[par->id] == kv && reads_in_step(&pl->kernels[kv])));
        if (!ok)
            continue;
        cg_kernel *k = &pl->kernels[kv];
        sc->in_place[val->id] = par->id;
        for (int a = 0; a < k->n_args; a++)
            if (k->args[a] == par)
                for (int o = 0; o < k->n_outs; o++)
                    if (k->outs[o] == val)
                        k->arg_out[a] = o;
    }
}

/* Multiply-adds of a matmul kernel's root. */
static double matmul_macs(const ir_node *n)
{
    const ir_node *a = n->in[0];
    return (double)n->numel * (double)a->shape[a->rank - 1 - (n->attr.trans_a != 0)];
}

/* Pairs each matmul kernel with the next kernel when that is a matmul too, of about the
 * same work (CG_PAIR_MIN_MACS, CG_PAIR_RATIO), that reads nothing the first writes
 * (directly or through a view): the two may then run at once. plan_buffers keeps what
 * the first reads alive through the second, so that the second's result is never
 * placed over it. The pairs depend on the graph alone, never on the thread count. */
static void plan_pairs(cg_plan *pl, const scratch *sc)
{
    for (int i = 0; i + 1 < pl->n_kernels; i++) {
        cg_kernel *a = &pl->kernels[i], *b = &pl->kernels[i + 1];
        if (a->root->op != IR_OP_MATMUL || b->root->op != IR_OP_MATMUL)
            continue;
        double ma = matmul_macs(a->root), mb = matmul_macs(b->root);
        if (ma < CG_PAIR_MIN_MACS || mb < CG_PAIR_MIN_MACS || ma > CG_PAIR_RATIO * mb ||
            mb > CG_PAIR_RATIO * ma)
            continue;
        int reads_a = 0;
        for (int j = 0; j < b->n_args; j++)
            for (int o = 0; o < a->n_outs; o++)
                reads_a |= memory_of(sc, b->args[j]) == a->outs[o];
        if (reads_a)
            continue;
        a->pair = 1;
        b->pair = -1;
        i++;
    }
}

/* Appends a buffer; returns its index. The caller sized pl->buffers. */
static int add_buffer(cg_plan *pl, cg_buffer_kind kind, const ir_node *n, int first, int last)
{
    cg_buffer *b = &pl->buffers[pl->n_buffers];
    memset(b, 0, sizeof *b);
    b->kind = kind;
    b->node = n;
    b->first = first;
    b->last = last;
    b->index = -1;
    return pl->n_buffers++;
}

/* The arena bytes of n's values, rounded up to CG_ALIGN. 0, or -1 with the error on g
 * when that outgrows size_t. */
static int node_arena_bytes(ir_graph *g, const ir_node *n, size_t *bytes)
{
    size_t at = 0;
    *bytes = 0;
    return cg_reserve(g, "arena", n, bytes, &at);
}

/* The buffers of kernel results (in the arena or in place), of the operand arrays of
 * wide kernels, of leaf outputs and of swapped update values. 0, or -1 with the error on
 * g. */
static int plan_buffers(ir_graph *g, const cg_request *rq, cg_plan *pl, const scratch *sc)
{
    int end = CG_PLAN_END(pl);
    for (int i = 0; i < pl->n_kernels; i++) {
        cg_kernel *k = &pl->kernels[i];
        if (k->n_args > CG_MAX_CALL_ARGS) {
            /* Too many operands for one call: they go in an array in the arena, live
             * while the kernel runs (not on the stack: a concat may list a million). */
            size_t bytes;
            if (ir_size_align((size_t)k->n_args * sizeof(void *), CG_ALIGN, &bytes) != 0)
                return ir_error(g,
                                "compile: the arena would need more than %zu bytes with the "
                                "operand list of a kernel of %d operands",
                                (size_t)SIZE_MAX, k->n_args);
            k->args_buffer = add_buffer(pl, CG_BUF_ARGS, k->root, i, i);
            pl->buffers[k->args_buffer].bytes = bytes;
            pl->buffers[k->args_buffer].index = i;
        }
        for (int o = 0; o < k->n_outs; o++) {
            const ir_node *x = k->outs[o];
            int b;
            if (sc->in_place[x->id] >= 0) {
                b = add_buffer(pl, CG_BUF_IN_PLACE, x, i, end);
                pl->buffers[b].alias = g->nodes[sc->in_place[x->id]];
            } else {
                /* Read by no later kernel: free once this one has run, or once the
                 * kernel that runs beside it has (plan_pairs). */
                int last = pl->nodes[x->id].kept ? end : sc->last_use[x->id];
                if (last < i)
                    last = i;
                if (last < end && pl->kernels[last].pair == 1)
                    last++;
                b = add_buffer(pl, CG_BUF_ARENA, x, i, last);
                if (node_arena_bytes(g, x, &pl->buffers[b].bytes) != 0)
                    return -1;
            }
            pl->nodes[x->id].buffer = b;
        }
    }
    /* Views, in id order: no space of their own; live while kernels read them. */
    for (int id = 0; id < g->n_nodes; id++) {
        if (!pl->nodes[id].view)
            continue;
        int b = add_buffer(pl, CG_BUF_VIEW, g->nodes[id], sc->first_read[id], sc->last_read[id]);
        pl->buffers[b].alias = sc->base[id];
        pl->buffers[b].alias_offset = sc->base_at[id];
        pl->buffers[b].permuted = g->nodes[id]->op == IR_OP_PERMUTE;
        pl->nodes[id].buffer = b;
    }
    for (int i = 0; i < rq->n_outputs; i++) {
        const ir_node *x = rq->outputs[i];
        if (!cg_is_leaf(x)) {
            pl->output_buffer[i] = pl->nodes[x->id].buffer;
            continue;
        }
        /* A leaf returned as an output is copied into an arena buffer of its own. */
        int b = add_buffer(pl, CG_BUF_OUTPUT_COPY, x, end, end);
        pl->buffers[b].index = i;
        if (node_arena_bytes(g, x, &pl->buffers[b].bytes) != 0)
            return -1;
        pl->output_buffer[i] = b;
    }
    /* A parameter that is both the value of one update and the target of another (a <- b,
     * b <- a) is first copied aside, so every update reads the old value. */
    for (int u = 0; u < rq->n_updates; u++) {
        const ir_node *val = rq->upd_values[u];
        pl->update_swap[u] = -1;
        if (!pl->nodes[val->id].target)
            continue;
        int b = add_buffer(pl, CG_BUF_SWAP, val, end, end);
        pl->buffers[b].index = u;
        if (node_arena_bytes(g, val, &pl->buffers[b].bytes) != 0)
            return -1;
        pl->update_swap[u] = b;
    }
    return 0;
}

/* Constants some kernel or output copy reads from memory (views read their base). */
static void mark_used_consts(const cg_request *rq, cg_plan *pl, const scratch *sc)
{
    for (int i = 0; i < pl->n_kernels; i++)
        for (int j = 0; j < pl->kernels[i].n_args; j++) {
            const ir_node *m = memory_of(sc, pl->kernels[i].args[j]);
            pl->nodes[m->id].used_const |= m->op == IR_OP_CONST;
        }
    for (int i = 0; i < rq->n_outputs; i++)
        pl->nodes[rq->outputs[i]->id].used_const |= rq->outputs[i]->op == IR_OP_CONST;
}

_Static_assert(IR_OP_COUNT - 1 <= USHRT_MAX, "cg_node_plan.op holds every ir_op");

/* Slots of the first type table: a power of two, at least twice the types it holds. */
#define CG_TYPE_SLOTS_MIN 64

static uint64_t type_hash(nb_dtype dt, int rank, const int64_t *shape)
{
    uint64_t h = ir_fnv1a(IR_FNV1A_BASIS, &dt, sizeof dt);
    h = ir_fnv1a(h, &rank, sizeof rank);
    return ir_mix64(ir_fnv1a(h, shape, (size_t)rank * sizeof *shape));
}

static int type_same(const cg_type *t, const ir_node *v)
{
    return t->dtype == v->dtype && t->rank == v->rank &&
           memcmp(t->shape, v->shape, (size_t)v->rank * sizeof *v->shape) == 0;
}

/* Doubles the type table and places every type again. 0, or -1 on OOM. */
static int types_grow(cg_plan *pl)
{
    size_t cap = pl->type_slots_cap ? 2 * pl->type_slots_cap : CG_TYPE_SLOTS_MIN;
    int *slots = ir_malloc(cap * sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < cap; i++)
        slots[i] = -1;
    for (int i = 0; i < pl->n_types; i++) {
        const cg_type *t = &pl->types[i];
        size_t at = type_hash(t->dtype, t->rank, t->shape) & (cap - 1);
        while (slots[at] >= 0)
            at = (at + 1) & (cap - 1);
        slots[at] = i;
    }
    free(pl->type_slots);
    pl->type_slots = slots;
    pl->type_slots_cap = cap;
    return 0;
}

/* The index of v's type in pl->types, added (with its text) when new; -1 on OOM. last:
 * the type of the node before, or -1. */
static int type_of(cg_plan *pl, const ir_node *v, int last)
{
    /* Neighbours mostly share a type (a chain of scalars, a layer's elementwise ops). */
    if (last >= 0 && type_same(&pl->types[last], v))
        return last;
    if ((size_t)pl->n_types * 2 >= pl->type_slots_cap && types_grow(pl) != 0)
        return -1;
    size_t mask = pl->type_slots_cap - 1, at = type_hash(v->dtype, v->rank, v->shape) & mask;
    for (; pl->type_slots[at] >= 0; at = (at + 1) & mask)
        if (type_same(&pl->types[pl->type_slots[at]], v))
            return pl->type_slots[at];
    if (pl->n_types == pl->cap_types) {
        int cap = pl->cap_types ? 2 * pl->cap_types : CG_TYPE_SLOTS_MIN / 2;
        cg_type *types = ir_realloc(pl->types, (size_t)cap * sizeof *types);
        if (!types)
            return -1;
        pl->types = types;
        pl->cap_types = cap;
    }
    cg_type *t = &pl->types[pl->n_types];
    memset(t, 0, sizeof *t);
    t->dtype = v->dtype;
    t->rank = v->rank;
    memcpy(t->shape, v->shape, (size_t)v->rank * sizeof *v->shape);
    t->at = pl->type_text.len;
    ir_text_type(&pl->type_text, v->dtype, v->rank, v->shape);
    if (pl->type_text.failed)
        return -1;
    t->len = pl->type_text.len - t->at;
    pl->type_slots[at] = pl->n_types;
    return pl->n_types++;
}

/* Copies what the passes below and the emitters read of every node into pl->nodes and
 * pl->operands, in one pass over the node structs. 0, or -1 with the error on g. */
static int plan_nodes(ir_graph *g, cg_plan *pl)
{
    /* One pass: the operand array grows as it fills (doubling) rather than being
     * counted first, which would read every node struct twice. */
    size_t at = 0, cap = (size_t)g->n_nodes * 2 + 1;
    pl->operands = ir_malloc(cap * sizeof *pl->operands);
    if (!pl->operands)
        return ir_oom(g);
    for (int id = 0; id < g->n_nodes; id++) {
        const ir_node *v = g->nodes[id];
        cg_node_plan *np = &pl->nodes[id];
        if ((size_t)v->n_in > (size_t)INT_MAX - at) /* in_at is an int */
            return ir_error(g, "compile: the graph has more than %d operands in all", INT_MAX);
        if (cap - at < (size_t)v->n_in) {
            size_t grown = 2 * (at + (size_t)v->n_in);
            int *operands = ir_realloc(pl->operands, grown * sizeof *operands);
            if (!operands)
                return ir_oom(g);
            pl->operands = operands;
            cap = grown;
        }
        np->op = (unsigned short)v->op;
        np->ew = cg_is_elementwise(v) != 0;
        np->inlined = cg_is_inlined(v) != 0;
        np->lit = np->inlined ? v->data[0] : 0;
        np->origin = v->origin;
        np->n_in = v->n_in;
        np->in_at = (int)at;
        np->root = np->kernel = np->buffer = -1;
        if ((np->type = type_of(pl, v, id ? np[-1].type : -1)) < 0)
            return ir_oom(g);
        for (int j = 0; j < v->n_in; j++)
            pl->operands[at++] = v->in[j]->id;
    }
    return 0;
}

int cg_kernel_arg(const cg_kernel *k, const ir_node *x)
{
    for (int a = 0; a < k->n_args; a++)
        if (k->args[a] == x)
            return a;
    return -1;
}

int64_t cg_kernel_extent(const cg_kernel *k)
{
    if (k->reduction)
        return cg_reduce_extent(k->reduction);
    if (cg_pool_extent(k->root))
        return cg_pool_extent(k->root);
    if (!cg_kernel_emitter(k->root->op))
        return cg_elementwise_extent(k);
    int64_t e = cg_reduce_extent(k->root);
    if (!e)
        e = cg_window_extent(k->root);
    if (!e)
        e = cg_matmul_extent(k->root);
    return e ? e : cg_norm_extent(k->root);
}

int cg_split_parts(const cg_request *rq, int64_t work, int64_t extent)
{
    if (rq->threads <= 1 || rq->split_min <= 0 || extent <= 0)
        return 1;
    int64_t parts = work / rq->split_min, rows = extent / CG_SPLIT_GRAIN;
    if (parts > rows)
        parts = rows;
    if (parts > (int64_t)rq->threads * CG_SPLIT_PER_THREAD)
        parts = (int64_t)rq->threads * CG_SPLIT_PER_THREAD;
    return parts > 1 ? (int)parts : 1;
}

/* The thread split of each kernel: an elementwise kernel (one loop nest, each
 * iteration independent of the others) of at least 2 * rq->split_min elements, or a
 * reduction that reads at least as many with a kept loop outside its reduced ones
 * (cg_reduce_extent; each output element stays on one thread), runs in up to
 * CG_SPLIT_PER_THREAD * rq->threads parts of at least rq->split_min elements and
 * CG_SPLIT_GRAIN iterations of that loop each (cg_split_parts); so does a batched matmul
 * whose gemm calls are too small for the runtime to split (cg_matmul_extent; its work is
 * its multiply-adds) unless it runs beside another; every other kernel (a large matmul,
 * a gather, a wide concat, a full reduction) in one. */
static void plan_split(const cg_request *rq, cg_plan *pl)
{
    for (int i = 0; i < pl->n_kernels; i++) {
        cg_kernel *k = &pl->kernels[i];
        const ir_node *r = k->root;
        k->parts = 1;
        if (rq->threads <= 1 || rq->split_min <= 0 || k->args_buffer >= 0 || pl->nodes[r->id].fails)
            continue;
        /* A kernel emitter's kernel splits only when it is a reduction that keeps an
         * axis or a norm_stats / norm_grad (extent 0 otherwise); its work is what it
         * reads. */
        if (k->reduction) /* with its producers and consumers: it reads its operand */
            r = k->reduction;
        int emitted = cg_kernel_emitter(r->op) != NULL;
        if (!emitted && !pl->nodes[r->id].ew)
            continue;
        if (r->op == IR_OP_MATMUL) { /* a batch of small gemms: its work is its MACs */
            if (!k->pair)
                k->parts = cg_split_parts(rq, (int64_t)matmul_macs(r), cg_kernel_extent(k));
            continue;
        }
        k->parts = cg_split_parts(rq, emitted ? r->in[0]->numel : r->numel, cg_kernel_extent(k));
    }
}

int cg_plan_build(ir_graph *g, const cg_request *rq, cg_plan *pl)
{
    int n = g->n_nodes, rc = -1;
    size_t count = (size_t)n + 1;
    scratch sc = {0};
    memset(pl, 0, sizeof *pl);
    pl->nodes = ir_calloc(count, sizeof *pl->nodes);
    sc.base = ir_calloc(count, sizeof *sc.base);
    sc.base_at = ir_calloc(count, sizeof *sc.base_at);
    sc.contiguous = ir_calloc(count, 1);
    sc.first_read = ir_malloc(5 * count * sizeof *sc.first_read);
    pl->update_swap = ir_malloc(((size_t)rq->n_updates + 1) * sizeof *pl->update_swap);
    pl->output_buffer = ir_malloc(((size_t)rq->n_outputs + 1) * sizeof *pl->output_buffer);
    if (!pl->nodes || !sc.base || !sc.base_at || !sc.contiguous || !sc.first_read ||
        !pl->update_swap || !pl->output_buffer) {
        ir_oom(g);
        goto done;
    }
    sc.last_read = sc.first_read + count;
    sc.via_view = sc.first_read + 2 * count;
    sc.last_use = sc.first_read + 3 * count;
    sc.in_place = sc.first_read + 4 * count;
    if (plan_nodes(g, pl) != 0)
        goto done;
    for (int id = 0; id < n; id++)
        sc.in_place[id] = -1;
    mark_live(g, rq, pl->nodes, pl->operands);
    plan_views(g, pl->nodes, pl->operands, &sc);
    if (cg_fuse(g, rq, pl) != 0) {
        ir_oom(g);
        goto done;
    }
    if (plan_kernels(g, pl) != 0)
        goto done;
    /* At most: per kernel its outputs and an operand array; per view, output and
     * update one. */
    size_t max_buffers = (size_t)rq->n_outputs + (size_t)rq->n_updates + 1;
    for (int i = 0; i < pl->n_kernels; i++)
        max_buffers += (size_t)pl->kernels[i].n_outs + 1;
    for (int id = 0; id < n; id++)
        max_buffers += pl->nodes[id].view;
    pl->buffers = ir_malloc(max_buffers * sizeof *pl->buffers);
    if (!pl->buffers) {
        ir_oom(g);
        goto done;
    }
    reads_fill(g, pl, &sc);
    plan_in_place(rq, pl, &sc);
    plan_pairs(pl, &sc);
    if (plan_buffers(g, rq, pl, &sc) != 0 || cg_arena_plan(g, pl) != 0)
        goto done;
    mark_used_consts(rq, pl, &sc);
    plan_split(rq, pl);
    rc = 0;
done:
    free(sc.base);
    free(sc.base_at);
    free(sc.contiguous);
    free(sc.first_read);
    return rc;
}

void cg_plan_free(cg_plan *pl)
{
    free(pl->nodes);
    free(pl->operands);
    free(pl->types);
    free(pl->type_slots);
    free(pl->type_text.buf);
    free(pl->kernels);
    free(pl->buffers);
    free(pl->update_swap);
    free(pl->output_buffer);
    free(pl->lists);
    free(pl->arg_outs);
    free(pl->arg_permuted);
    memset(pl, 0, sizeof *pl);
}

/* ---- printing ------------------------------------------------------------------- */

static void print_nodes(ir_text *out, const char *label, const ir_node *const *list, int n)
{
    ir_text_printf(out, "; %s", label);
    for (int i = 0; i < n; i++)
        ir_text_printf(out, " %%%d", list[i]->origin);
}

static const char *const placement_names[] = {
    [CG_PLACE_NONE] = "nothing placed",
    [CG_PLACE_FIRST_FIT] = "first fit",
    [CG_PLACE_GREEDY_BY_SIZE] = "greedy by size",
};

/* "k3" or "end" for a point of a live range. */
static void print_time(ir_text *out, const cg_plan *pl, int t)
{
    if (t == CG_PLAN_END(pl))
        ir_text_printf(out, "end");
    else
        ir_text_printf(out, "k%d", t);
}

void cg_plan_print(const cg_plan *pl, ir_text *out)
{
    char ty[IR_TYPE_STR_MAX];
    for (int i = 0; i < pl->n_kernels; i++) {
        const cg_kernel *k = &pl->kernels[i];
        ir_text_printf(out, "kernel k%d: %%%d %s%s %s", i, k->root->origin,
                       ir_op_defs[k->root->op].name, ir_op_suffix(k->root),
                       ir_type_str(k->root, ty, sizeof ty));
        print_nodes(out, "members", k->members, k->n_members);
        print_nodes(out, "operands", k->args, k->n_args);
        print_nodes(out, "stores", k->outs, k->n_outs);
        for (int o = 0; o < k->n_outs; o++) {
            const cg_buffer *b = &pl->buffers[pl->nodes[k->outs[o]->id].buffer];
            if (b->kind == CG_BUF_IN_PLACE)
                ir_text_printf(out, "; %%%d in place of %%%d", k->outs[o]->origin,
                               b->alias->origin);
        }
        if (k->parts > 1)
            ir_text_printf(out, "; split in %d", k->parts);
        if (k->pair)
            ir_text_printf(out, "; beside k%d", i + k->pair);
        ir_text_printf(out, "\n");
    }
    for (int i = 0; i < pl->n_buffers; i++) {
        const cg_buffer *b = &pl->buffers[i];
        ir_text_printf(out, "buffer b%d: ", i);
        switch (b->kind) {
        case CG_BUF_ARGS: ir_text_printf(out, "operands of k%d", b->index); break;
        case CG_BUF_SWAP:
            ir_text_printf(out, "%%%d set aside for update %d", b->node->origin, b->index);
            break;
        case CG_BUF_OUTPUT_COPY:
            ir_text_printf(out, "%%%d copied for output %d", b->node->origin, b->index);
            break;
        default:
            ir_text_printf(out, "%%%d %s", b->node->origin, ir_type_str(b->node, ty, sizeof ty));
        }
        if (b->kind == CG_BUF_VIEW)
            ir_text_printf(out, " %sview of %%%d at byte %zu", b->permuted ? "permuted " : "",
                           b->alias->origin, b->alias_offset);
        else if (b->kind == CG_BUF_IN_PLACE)
            ir_text_printf(out, " in place of %%%d", b->alias->origin);
        else
            ir_text_printf(out, " %zu bytes at %zu", b->bytes, b->offset);
        if (b->first < 0) {
            ir_text_printf(out, ", read by no kernel");
        } else {
            ir_text_printf(out, ", ");
            print_time(out, pl, b->first);
            ir_text_printf(out, "..");
            print_time(out, pl, b->last);
        }
        ir_text_printf(out, "\n");
    }
    ir_text_printf(out, "arena %zu bytes, live peak %zu bytes, %s\n", pl->arena_size, pl->live_peak,
                   placement_names[pl->placement]);
}
