/* cg_arena.c — the memory plan: places each kernel's result in the arena, reusing the
 * space of results that no later kernel reads (first fit over live intervals). The live
 * blocks are a treap ordered by offset, each subtree knowing its widest gap, so finding
 * the lowest gap that fits, adding and freeing a block all take O(log n): a training
 * step keeps thousands of forward results live until the backward pass reads them, and
 * a scan of the live blocks per result made the plan quadratic. */
#include <stdint.h>
#include <stdlib.h>

#include "cg.h"

typedef struct block {
    size_t offset, size;
    int left, right; /* children in the treap, -1 for none */
    uint64_t prio;   /* heap order: a hash of the block's index, so plans are deterministic */
    /* Of the subtree: lowest offset, highest end, widest gap between its blocks. */
    size_t lo, hi, gap;
} block;

int cg_reserve(ir_graph *g, const char *what, const ir_node *n, size_t *size, size_t *at)
{
    size_t bytes, end;
    if (ir_size_bytes(n->dtype, n->numel, &bytes) != 0 ||
        ir_size_align(bytes, CG_ALIGN, &bytes) != 0 || ir_size_add(*size, bytes, &end) != 0) {
        char t[160], esc[1100];
        return ir_error(
            g, "compile: the %s would need more than %zu bytes: node %d (%s%s%s%s) %s does not fit",
            what, (size_t)SIZE_MAX, n->origin, ir_op_defs[n->op].name, n->name ? " '" : "",
            n->name ? ir_escape_name(n->name, esc, sizeof esc) : "", n->name ? "'" : "",
            ir_type_str(n, t, sizeof t));
    }
    *at = *size;
    *size = end;
    return 0;
}

typedef struct arena_tree {
    block *b;
    int root;
} arena_tree;

static void update(block *b, int t)
{
    block *n = &b[t];
    n->lo = n->offset;
    n->hi = n->offset + n->size;
    n->gap = 0;
    if (n->left >= 0) {
        const block *l = &b[n->left];
        n->lo = l->lo;
        n->gap = l->gap > n->offset - l->hi ? l->gap : n->offset - l->hi;
    }
    if (n->right >= 0) {
        const block *r = &b[n->right];
        size_t g = r->lo - (n->offset + n->size);
        n->hi = r->hi;
        if (g > n->gap)
            n->gap = g;
        if (r->gap > n->gap)
            n->gap = r->gap;
    }
}

/* Splits t into blocks with offset < key (*l) and the others (*r). */
static void split(block *b, int t, size_t key, int *l, int *r)
{
    if (t < 0) {
        *l = *r = -1;
        return;
    }
    ir_work.arena_steps++;
    if (b[t].offset < key) {
        split(b, b[t].right, key, &b[t].right, r);
        *l = t;
    } else {
        split(b, b[t].left, key, l, &b[t].left);
        *r = t;
    }
    update(b, t);
}

/* Joins l and r, every offset in l below every offset in r. */
static int merge(block *b, int l, int r)
{
    if (l < 0 || r < 0)
        return l < 0 ? r : l;
    ir_work.arena_steps++;
    if (b[l].prio > b[r].prio) {
        b[l].right = merge(b, b[l].right, r);
        update(b, l);
        return l;
    }
    b[r].left = merge(b, l, b[r].left);
    update(b, r);
    return r;
}

/* The lowest offset >= prev_end in subtree t where size bytes fit before one of its
 * blocks, or (size_t)-1. prev_end is the end of the blocks before the subtree. */
static size_t find_gap(const block *b, int t, size_t prev_end, size_t size)
{
    while (t >= 0) {
        const block *n = &b[t];
        ir_work.arena_steps++;
        if (n->left >= 0) {
            const block *l = &b[n->left];
            if (l->lo - prev_end >= size || l->gap >= size) {
                t = n->left; /* the lowest fit is in there */
                continue;
            }
            prev_end = l->hi;
        }
        if (n->offset - prev_end >= size)
            return prev_end;
        prev_end = n->offset + n->size;
        t = n->right;
    }
    return (size_t)-1;
}

/* The lowest offset where size bytes fit between the live blocks. */
static size_t first_fit(const arena_tree *a, size_t size)
{
    if (a->root < 0)
        return 0;
    size_t at = find_gap(a->b, a->root, 0, size);
    return at != (size_t)-1 ? at : a->b[a->root].hi;
}

static void insert(arena_tree *a, int i)
{
    int l, r;
    split(a->b, a->root, a->b[i].offset, &l, &r);
    a->root = merge(a->b, merge(a->b, l, i), r);
}

static void erase(arena_tree *a, int i)
{
    int l, m, r;
    split(a->b, a->root, a->b[i].offset, &l, &m);
    split(a->b, m, a->b[i].offset + 1, &m, &r);
    a->root = merge(a->b, l, r);
}

int cg_arena_plan(ir_graph *g, const cg_kernel *kernels, int n_kernels, const unsigned char *kept,
                  const int *in_place, size_t *offset, size_t *arena_size)
{
    int *last_use = ir_malloc(((size_t)g->n_nodes + 1) * sizeof *last_use);
    int outs = 0;
    for (int i = 0; i < n_kernels; i++)
        outs += kernels[i].n_outs;
    arena_tree a = {ir_malloc(((size_t)outs + 1) * sizeof *a.b), -1};
    /* The blocks that die after kernel i: a list from dies_after[i] through next_dead. */
    int *dies_after = ir_malloc(((size_t)n_kernels + 1) * sizeof *dies_after);
    int *next_dead = ir_malloc(((size_t)outs + 1) * sizeof *next_dead);
    int rc = -1, n_blocks = 0;
    if (!last_use || !a.b || !dies_after || !next_dead) {
        ir_oom(g);
        goto done;
    }
    for (int id = 0; id < g->n_nodes; id++)
        last_use[id] = kept[id] ? n_kernels : -1;
    for (int i = 0; i < n_kernels; i++) {
        dies_after[i] = -1;
        for (int k = 0; k < kernels[i].n_args; k++) {
            int id = kernels[i].args[k]->id;
            if (last_use[id] < i)
                last_use[id] = i;
        }
    }
    *arena_size = 0;
    for (int i = 0; i < n_kernels; i++) {
        for (int o = 0; o < kernels[i].n_outs; o++) {
            const ir_node *r = kernels[i].outs[o];
            if (in_place[r->id] >= 0)
                continue; /* lives in its parameter's memory */
            /* Its aligned size first, then where it goes: at, ending at end. */
            size_t size = 0, at, end;
            if (cg_reserve(g, "arena", r, &size, &at) != 0)
                goto done;
            end = first_fit(&a, size);
            if (cg_reserve(g, "arena", r, &end, &at) != 0)
                goto done;
            int b = n_blocks++;
            a.b[b] = (block){at, size, -1, -1, ir_mix64((uint64_t)b + 1), 0, 0, 0};
            update(a.b, b);
            insert(&a, b);
            /* Read by no later kernel: free once this one has run. Kept results (last
             * use n_kernels) are never freed. */
            int death = last_use[r->id] > i ? last_use[r->id] : i;
            if (death < n_kernels) {
                next_dead[b] = dies_after[death];
                dies_after[death] = b;
            }
            offset[r->id] = at;
            if (end > *arena_size)
                *arena_size = end;
        }
        /* Results last read by this kernel are dead once it has run. */
        for (int b = dies_after[i]; b >= 0; b = next_dead[b])
            erase(&a, b);
    }
    rc = 0;
done:
    free(last_use);
    free(a.b);
    free(dies_after);
    free(next_dead);
    return rc;
}
