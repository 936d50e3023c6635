/* ir_simplify.c — the compile-time rewrite: copies the part of a graph that the outputs
 * need into a new graph, applying the rewrite rules of ir_rewrite.c to each node
 * (identities such as x * 1 or no-op reshapes, a matmul reading a transposed operand
 * through its flags) and merging equal nodes (CSE, equal constants included); nodes that
 * the rewrites leave unread are dropped at the end.
 * The user's graph is never changed; inputs and parameters keep their identity and
 * their order, so leaf indices are the same in both graphs. */
#include <stdlib.h>
#include <string.h>

#include "ir.h"

/* Field by field over every family: an op's unused members are zero in both nodes,
 * and comparing them is cheaper than asking which family the op reads. The arrays are
 * compared to their rank only, never as whole structs (their padding is not zeroed). */
static int attr_equal(const ir_attr *a, const ir_attr *b)
{
    if (a->f[0] != b->f[0] || a->f[1] != b->f[1] || a->axes != b->axes || a->axis != b->axis ||
        a->keepdim != b->keepdim || a->k != b->k || a->dt != b->dt ||
        a->target.rank != b->target.rank || a->permute.rank != b->permute.rank ||
        a->slice.rank != b->slice.rank)
        return 0;
    if (a->trans_a != b->trans_a || a->trans_b != b->trans_b || a->random.seed != b->random.seed ||
        a->random.offset != b->random.offset)
        return 0;
    if (a->pad.rank != b->pad.rank || a->pad.reflect != b->pad.reflect || a->reverse != b->reverse)
        return 0;
    for (int d = 0; d < a->pad.rank && d < NB_MAX_RANK; d++)
        if (a->pad.lo[d] != b->pad.lo[d] || a->pad.hi[d] != b->pad.hi[d])
            return 0;
    for (int d = 0; d < a->target.rank && d < NB_MAX_RANK; d++)
        if (a->target.shape[d] != b->target.shape[d])
            return 0;
    for (int d = 0; d < a->permute.rank && d < NB_MAX_RANK; d++)
        if (a->permute.perm[d] != b->permute.perm[d])
            return 0;
    for (int d = 0; d < a->slice.rank && d < NB_MAX_RANK; d++)
        if (a->slice.start[d] != b->slice.start[d] || a->slice.stop[d] != b->slice.stop[d] ||
            a->slice.step[d] != b->slice.step[d])
            return 0;
    if (a->window.groups != b->window.groups || a->window.ceil_mode != b->window.ceil_mode ||
        a->window.count_include_pad != b->window.count_include_pad ||
        a->window.divisor != b->window.divisor)
        return 0;
    for (int d = 0; d < 2; d++)
        if (a->window.kernel[d] != b->window.kernel[d] ||
            a->window.stride[d] != b->window.stride[d] ||
            a->window.dilation[d] != b->window.dilation[d] ||
            a->window.pad_lo[d] != b->window.pad_lo[d] ||
            a->window.pad_hi[d] != b->window.pad_hi[d])
            return 0;
    return 1;
}

/* Equal op, operands, attributes, type and (for constants) data. */
static int node_equal(const ir_node *a, const ir_node *b)
{
    if (a->op != b->op || a->n_in != b->n_in || a->dtype != b->dtype || !ir_same_shape(a, b))
        return 0;
    for (int j = 0; j < a->n_in; j++)
        if (a->in[j] != b->in[j])
            return 0;
    if (!attr_equal(&a->attr, &b->attr))
        return 0;
    if (a->op == IR_OP_CONST)
        return memcmp(a->data, b->data, (size_t)a->numel * sizeof *a->data) == 0;
    return 1;
}

/* Adds word v to hash h. Every step goes through a full mixer: node ids are
 * consecutive and constants such as 1.5 have all their low bits zero, so a weak mix
 * (h ^ v plus shifts) left the low bits, which pick the slot, nearly equal for whole
 * families of nodes, and linear probing then walked runs as long as the graph. */
static uint64_t hash_add(uint64_t h, uint64_t v)
{
    return ir_mix64(h ^ v) + IR_SPLITMIX_STEP;
}

/* The bits of a scalar attribute, with -0 as 0: attr_equal compares with ==. */
static uint64_t double_bits(double x)
{
    uint64_t bits = 0;
    if (x != 0)
        memcpy(&bits, &x, sizeof bits);
    return bits;
}

/* A hash of everything node_equal compares: equal nodes hash equal. Attributes count
 * too, so slices of one tensor at different offsets do not all share one hash. */
static uint64_t node_hash(const ir_node *n)
{
    uint64_t h = hash_add((uint64_t)n->op, (uint64_t)n->dtype);
    h = hash_add(h, (uint64_t)n->n_in);
    for (int j = 0; j < n->n_in; j++)
        h = hash_add(h, (uint64_t)n->in[j]->id);
    for (int d = 0; d < n->rank; d++)
        h = hash_add(h, (uint64_t)n->shape[d]);
    const ir_attr *a = &n->attr;
    h = hash_add(h, double_bits(a->f[0]));
    h = hash_add(h, double_bits(a->f[1]));
    h = hash_add(h, (uint64_t)a->axes ^ (uint64_t)a->axis << 32);
    h = hash_add(h, (uint64_t)a->keepdim ^ (uint64_t)a->k << 8 ^ (uint64_t)a->dt << 40);
    h = hash_add(h, (uint64_t)a->trans_a ^ (uint64_t)a->trans_b << 1 ^
                        (uint64_t)a->pad.reflect << 2 ^ (uint64_t)a->reverse << 3);
    h = hash_add(h, (uint64_t)a->pad.rank);
    for (int d = 0; d < a->pad.rank && d < NB_MAX_RANK; d++) {
        h = hash_add(h, (uint64_t)a->pad.lo[d]);
        h = hash_add(h, (uint64_t)a->pad.hi[d]);
    }
    h = hash_add(h, a->random.seed ^ (uint64_t)a->random.offset);
    h = hash_add(h, (uint64_t)a->target.rank ^ (uint64_t)a->permute.rank << 8 ^
                        (uint64_t)a->slice.rank << 16);
    for (int d = 0; d < a->target.rank && d < NB_MAX_RANK; d++)
        h = hash_add(h, (uint64_t)a->target.shape[d]);
    for (int d = 0; d < a->permute.rank && d < NB_MAX_RANK; d++)
        h = hash_add(h, (uint64_t)a->permute.perm[d]);
    for (int d = 0; d < a->slice.rank && d < NB_MAX_RANK; d++) {
        h = hash_add(h, (uint64_t)a->slice.start[d]);
        h = hash_add(h, (uint64_t)a->slice.stop[d]);
        h = hash_add(h, (uint64_t)a->slice.step[d]);
    }
    for (int d = 0; d < 2; d++)
        h = hash_add(h, (uint64_t)a->window.kernel[d] ^ (uint64_t)a->window.stride[d] << 32 ^
                            (uint64_t)a->window.pad_lo[d] << 48);
    /* All the data: constants that differ only past their first elements are common
     * (initial values, masks), and the hash is linear in the data the copy made. */
    for (int64_t i = 0; n->op == IR_OP_CONST && i < n->numel; i++) {
        uint64_t bits;
        memcpy(&bits, &n->data[i], sizeof bits);
        h = hash_add(h, bits);
    }
    return ir_mix64(h);
}

/* An open-addressing set of the new graph's mergeable nodes. */
typedef struct cse_table {
    ir_node **slot;
    size_t mask;
} cse_table;

/* Returns an existing node equal to n, or inserts n and returns it. */
static ir_node *cse_intern(cse_table *t, ir_node *n)
{
    size_t i = (size_t)node_hash(n) & t->mask;
    while (t->slot[i]) {
        ir_work.cse_probes++;
        if (node_equal(t->slot[i], n))
            return t->slot[i];
        i = (i + 1) & t->mask;
    }
    t->slot[i] = n;
    return n;
}

/* Copies node v (operands already mapped into `in`, attributes in attr) into dst. */
static ir_node *copy_node(ir_graph *dst, const ir_node *v, ir_node **in, const ir_attr *attr)
{
    ir_node *n;
    if (v->op == IR_OP_CONST) {
        n = ir_constant(dst, v->dtype, v->rank, v->shape, v->data);
    } else {
        n = ir_node_new(dst, v->op, in, v->n_in, attr);
    }
    if (!n)
        return NULL;
    n->leaf_index = v->leaf_index;
    n->origin = v->origin;
    if (v->name && !(n->name = ir_strdup(v->name))) {
        ir_oom(dst);
        return NULL;
    }
    return n;
}

/* Removes the last node of dst (a duplicate just found equal to an earlier one). */
static void drop_last(ir_graph *dst)
{
    ir_node_free(dst->nodes[--dst->n_nodes]);
}

/* Frees the nodes of dst that no output reads (a transpose whose only reader was a
 * matmul that now reads through it) and numbers the rest densely again; inputs and
 * parameters always stay. Linear. 0, or -1 on OOM. */
static int drop_dead(ir_graph *dst, ir_node *const *outs, int n)
{
    unsigned char *live = ir_calloc((size_t)dst->n_nodes + 1, 1);
    if (!live)
        return -1;
    for (int i = 0; i < n; i++)
        live[outs[i]->id] = 1;
    for (int id = dst->n_nodes - 1; id >= 0; id--) {
        const ir_node *v = dst->nodes[id];
        live[id] |= v->op == IR_OP_INPUT || v->op == IR_OP_PARAM;
        for (int j = 0; live[id] && j < v->n_in; j++)
            live[v->in[j]->id] = 1;
    }
    int kept = 0;
    for (int id = 0; id < dst->n_nodes; id++) {
        ir_node *v = dst->nodes[id];
        if (!live[id]) {
            ir_node_free(v);
            continue;
        }
        v->id = kept;
        dst->nodes[kept++] = v;
    }
    dst->n_nodes = kept;
    free(live);
    return 0;
}

ir_graph *ir_simplify(ir_graph *g, ir_node *const *outs, int n, ir_node **new_outs)
{
    if (!g || g->error)
        return NULL;
    ir_graph *dst = ir_graph_new();
    unsigned char *live = ir_calloc((size_t)g->n_nodes + 1, 1);
    ir_node **map = ir_calloc((size_t)g->n_nodes + 1, sizeof *map);
    /* Operands of one node, mapped: as many as the widest node has (a concat may list
     * one node a thousand times, so the node count is no bound). */
    ir_node **in = ir_calloc((size_t)ir_max_operands(g, g->n_nodes - 1) + 1, sizeof *in);
    cse_table t = {0};
    size_t cap = 16;
    while (cap < 2 * (size_t)g->n_nodes)
        cap *= 2;
    t.slot = ir_calloc(cap, sizeof *t.slot);
    t.mask = cap - 1;
    if (!dst || !live || !map || !in || !t.slot) {
        ir_oom(g);
        goto fail;
    }
    for (int i = 0; i < n; i++)
        live[outs[i]->id] = 1;
    for (int id = g->n_nodes - 1; id >= 0; id--)
        for (int j = 0; live[id] && j < g->nodes[id]->n_in; j++)
            live[g->nodes[id]->in[j]->id] = 1;
    /* Inputs and parameters first, all of them, in their order. */
    for (int id = 0; id < g->n_nodes; id++) {
        const ir_node *v = g->nodes[id];
        if (v->op != IR_OP_INPUT && v->op != IR_OP_PARAM)
            continue;
        if (!(map[id] = copy_node(dst, v, NULL, &v->attr)))
            goto copy_failed;
    }
    dst->n_inputs = g->n_inputs;
    dst->n_params = g->n_params;
    for (int id = 0; id < g->n_nodes; id++) {
        const ir_node *v = g->nodes[id];
        if (!live[id] || v->op == IR_OP_INPUT || v->op == IR_OP_PARAM)
            continue;
        ir_attr attr = v->attr;
        for (int j = 0; j < v->n_in; j++)
            in[j] = map[v->in[j]->id];
        ir_node *same = ir_rewrite(v, in, &attr);
        if (same) {
            map[id] = same;
            continue;
        }
        ir_node *c = copy_node(dst, v, in, &attr);
        if (!c)
            goto copy_failed;
        map[id] = cse_intern(&t, c);
        if (map[id] != c)
            drop_last(dst);
    }
    for (int i = 0; i < n; i++)
        new_outs[i] = map[outs[i]->id];
    if (drop_dead(dst, new_outs, n) != 0) {
        ir_oom(g);
        goto fail;
    }
    free(live);
    free(map);
    free(in);
    free(t.slot);
    return dst;
copy_failed:
    /* The copy reruns shape rules that accepted these nodes once: only OOM gets here. */
    ir_error(g, "simplify: %s", dst->error ? dst->error : "out of memory");
fail:
    ir_graph_free(dst);
    free(live);
    free(map);
    free(in);
    free(t.slot);
    return NULL;
}
