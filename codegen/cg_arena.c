/* cg_arena.c — arena placement: gives every buffer of the plan an offset such that two
 * buffers whose live ranges meet never overlap, in as few bytes as it can. Two ways:
 *
 * - first fit in kernel order: the live blocks are a treap ordered by offset, each
 *   subtree knowing its widest gap, so finding the lowest gap that fits, adding and
 *   freeing a block all take O(log n) (a training step keeps thousands of forward
 *   results live until the backward pass reads them; a scan of the live blocks per
 *   result made the plan quadratic). It leaves 1.2-1.5x the live peak on mixed sizes:
 *   a small early result splits the space a large later one needed.
 * - greedy by size (as TFLite's arena planner): largest buffer first, each placed in
 *   the tightest gap left by the already placed buffers whose lives meet its own. Its
 *   work is in the pairs of meeting lives, which a long chain with its backward pass
 *   makes quadratic, so it runs only when a sweep counts few enough pairs.
 *
 * The smaller arena wins. The live peak (the most bytes live at one kernel) is a lower
 * bound for any placement, kept in the plan to compare against. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
        char t[IR_TYPE_STR_MAX], esc[IR_ESCAPED_NAME_MAX];
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

/* Greedy by size runs when the pairs of buffers whose lives meet are at most this many
 * per buffer, plus CG_GREEDY_PAIRS_MIN: its work is about the pair count times the log
 * of a buffer's neighbours, so a constant per buffer. Programs of many independent
 * parts keep many outputs live to the end and reach 20-60 pairs per buffer: with 8,
 * 3 of 200 random programs of 16 parts stayed over 1.1x the live peak, with 64 none
 * (the worst 1.04x), for at most 6 arena steps per node and log2 of the node count. */
#define CG_GREEDY_PAIRS_PER_BUFFER 64
#define CG_GREEDY_PAIRS_MIN 2048

/* The arena would outgrow size_t with buffer b: -1 with the error on g, the message
 * naming b's node as cg_reserve names it (it is asked to add b to a full block). */
static int too_big(ir_graph *g, const cg_buffer *b)
{
    if (b->kind == CG_BUF_ARGS)
        return ir_error(g,
                        "compile: the arena would need more than %zu bytes with the operand "
                        "list of a kernel of %d operands",
                        (size_t)SIZE_MAX, b->node->n_in);
    size_t size = SIZE_MAX, at;
    return cg_reserve(g, "arena", b->node, &size, &at);
}

/* The arena buffers (bytes > 0) by the kernel they start at: order[] lists them, those
 * starting at t from order[start[t]] to order[start[t + 1]], in buffer order. */
typedef struct arena_set {
    int *order, *start;
    int n, times;
} arena_set;

/* First fit in kernel order into the treap; offsets go to each buffer, the size to
 * *size. 0, or -1 with the error on g. */
static int place_first_fit(ir_graph *g, cg_plan *pl, const arena_set *s, int *ends_at,
                           int *next_end, size_t *size)
{
    arena_tree a = {ir_malloc(((size_t)s->n + 1) * sizeof *a.b), -1};
    if (!a.b)
        return ir_oom(g);
    *size = 0;
    for (int t = 0; t < s->times; t++)
        ends_at[t] = -1;
    for (int t = 0; t < s->times; t++) {
        for (int k = s->start[t]; k < s->start[t + 1]; k++) {
            cg_buffer *b = &pl->buffers[s->order[k]];
            size_t at = first_fit(&a, b->bytes), end;
            if (ir_size_add(at, b->bytes, &end) != 0) {
                free(a.b);
                return too_big(g, b);
            }
            a.b[k] = (block){at, b->bytes, -1, -1, ir_mix64((uint64_t)k + 1), 0, 0, 0};
            update(a.b, k);
            insert(&a, k);
            next_end[k] = ends_at[b->last];
            ends_at[b->last] = k;
            b->offset = at;
            if (end > *size)
                *size = end;
        }
        /* Buffers last read at t are free once it has run. */
        for (int k = ends_at[t]; k >= 0; k = next_end[k])
            erase(&a, k);
    }
    free(a.b);
    return 0;
}

/* Pairs of buffers of s whose live ranges meet, counted by a sweep: each pair is
 * counted at the later start, where the other is live. */
static size_t count_pairs(const cg_plan *pl, const arena_set *s, int *ends_before)
{
    size_t pairs = 0;
    for (int t = 0; t <= s->times; t++)
        ends_before[t] = 0;
    for (int k = 0; k < s->n; k++)
        ends_before[pl->buffers[s->order[k]].last + 1]++;
    for (int t = 1; t <= s->times; t++)
        ends_before[t] += ends_before[t - 1];
    for (int t = 0; t < s->times; t++) {
        size_t m = (size_t)(s->start[t + 1] - s->start[t]);
        /* Started before t and not ended before t; then the pairs among those of t. */
        pairs += m * (size_t)(s->start[t] - ends_before[t]) + m * (m - (m > 0)) / 2;
    }
    return pairs;
}

/* A buffer to place greedily: its size and start, and k, its position in the set. */
typedef struct to_place {
    size_t bytes;
    int first, k;
} to_place;

/* Largest first; then by start and position, so the order never depends on qsort. */
static int by_size(const void *pa, const void *pb)
{
    const to_place *x = pa, *y = pb;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    if (x->first != y->first)
        return x->first < y->first ? -1 : 1;
    return (x->k > y->k) - (x->k < y->k);
}

typedef struct placed {
    size_t offset, end;
} placed;

static int by_offset(const void *pa, const void *pb)
{
    const placed *a = pa, *b = pb;
    if (a->offset != b->offset)
        return a->offset < b->offset ? -1 : 1;
    return (a->end > b->end) - (a->end < b->end);
}

/* Greedy by size over the pairs of meeting lives (n_pairs of them): offsets go to
 * off[k] (k indexing s->order), the arena size to *size. 0, or -1 with the error on g. */
static int place_greedy(ir_graph *g, const cg_plan *pl, const arena_set *s, size_t n_pairs,
                        size_t *off, size_t *size)
{
    int n = s->n, rc = -1;
    /* Neighbours of k: nb[nb_start[k] .. nb_start[k + 1]), both ways of every pair. */
    size_t *nb_start = ir_calloc((size_t)n + 2, sizeof *nb_start);
    int *nb = ir_malloc((2 * n_pairs + 1) * sizeof *nb);
    int *live = ir_malloc(((size_t)n + 1) * sizeof *live);      /* the sweep's live set */
    to_place *rank = ir_malloc(((size_t)n + 1) * sizeof *rank); /* placement order */
    unsigned char *done = ir_calloc((size_t)n + 1, 1);
    placed *near = ir_malloc(((size_t)n + 1) * sizeof *near);
    if (!nb_start || !nb || !live || !rank || !done || !near) {
        ir_oom(g);
        goto out;
    }
    /* Two sweeps: count each buffer's neighbours, then list them. */
    for (int pass = 0; pass < 2; pass++) {
        int n_live = 0;
        size_t *fill = pass ? nb_start + 1 : NULL;
        for (int k = 0; k < n; k++) {
            const cg_buffer *b = &pl->buffers[s->order[k]];
            int kept = 0;
            for (int j = 0; j < n_live; j++) {
                int o = live[j];
                ir_work.arena_steps++;
                if (pl->buffers[s->order[o]].last < b->first)
                    continue; /* ended before b starts: out of the live set */
                live[kept++] = o;
                if (pass) {
                    nb[fill[k]++] = o;
                    nb[fill[o]++] = k;
                } else {
                    nb_start[k + 2]++;
                    nb_start[o + 2]++;
                }
            }
            n_live = kept;
            live[n_live++] = k;
        }
        if (!pass)
            for (int k = 0; k < n; k++)
                nb_start[k + 2] += nb_start[k + 1];
    }
    for (int k = 0; k < n; k++)
        rank[k] = (to_place){pl->buffers[s->order[k]].bytes, pl->buffers[s->order[k]].first, k};
    qsort(rank, (size_t)n, sizeof *rank, by_size);
    *size = 0;
    for (int r = 0; r < n; r++) {
        int k = rank[r].k;
        const cg_buffer *b = &pl->buffers[s->order[k]];
        int m = 0;
        for (size_t e = nb_start[k]; e < nb_start[k + 1]; e++) {
            ir_work.arena_steps++;
            if (done[nb[e]])
                near[m++] = (placed){off[nb[e]], off[nb[e]] + pl->buffers[s->order[nb[e]]].bytes};
        }
        qsort(near, (size_t)m, sizeof *near, by_offset);
        /* The tightest gap that fits between the placed neighbours, else above them. */
        size_t prev_end = 0, best = SIZE_MAX, best_gap = SIZE_MAX, end;
        for (int j = 0; j < m; j++) {
            if (near[j].offset > prev_end) {
                size_t gap = near[j].offset - prev_end;
                if (gap >= b->bytes && gap < best_gap) {
                    best = prev_end;
                    best_gap = gap;
                }
            }
            if (near[j].end > prev_end)
                prev_end = near[j].end;
        }
        if (best == SIZE_MAX)
            best = prev_end;
        if (ir_size_add(best, b->bytes, &end) != 0) {
            too_big(g, b);
            goto out;
        }
        off[k] = best;
        done[k] = 1;
        if (end > *size)
            *size = end;
    }
    rc = 0;
out:
    free(nb_start);
    free(nb);
    free(live);
    free(rank);
    free(done);
    free(near);
    return rc;
}

/* The most bytes live at one point of the run: a lower bound for any placement. */
static size_t live_peak(const cg_plan *pl, const arena_set *s, size_t *delta)
{
    size_t peak = 0, now = 0;
    for (int t = 0; t <= s->times; t++)
        delta[t] = 0;
    for (int k = 0; k < s->n; k++) {
        const cg_buffer *b = &pl->buffers[s->order[k]];
        delta[b->last + 1] += b->bytes;
    }
    /* Sizes at one time are at most the arena, which first fit has shown fits. */
    for (int t = 0; t < s->times; t++) {
        for (int k = s->start[t]; k < s->start[t + 1]; k++)
            now += pl->buffers[s->order[k]].bytes;
        now -= delta[t];
        if (now > peak)
            peak = now;
    }
    return peak;
}

int cg_arena_plan(ir_graph *g, cg_plan *pl)
{
    int times = CG_PLAN_END(pl) + 1, n = 0, rc = -1;
    arena_set s = {NULL, NULL, 0, times};
    for (int i = 0; i < pl->n_buffers; i++)
        n += pl->buffers[i].bytes > 0;
    s.n = n;
    s.order = ir_malloc(((size_t)n + 1) * sizeof *s.order);
    s.start = ir_calloc((size_t)times + 2, sizeof *s.start);
    int *ends_at = ir_malloc(((size_t)times + 2) * sizeof *ends_at);
    int *next_end = ir_malloc(((size_t)n + 1) * sizeof *next_end);
    size_t *scratch = ir_malloc(((size_t)times + 2) * sizeof *scratch);
    size_t *off = ir_malloc(((size_t)n + 1) * sizeof *off);
    if (!s.order || !s.start || !ends_at || !next_end || !scratch || !off) {
        ir_oom(g);
        goto done;
    }
    /* Bucket the arena buffers by start (a counting sort keeps buffer order). */
    for (int i = 0; i < pl->n_buffers; i++)
        if (pl->buffers[i].bytes > 0)
            s.start[pl->buffers[i].first + 2]++;
    for (int t = 0; t < times; t++)
        s.start[t + 2] += s.start[t + 1];
    for (int i = 0; i < pl->n_buffers; i++)
        if (pl->buffers[i].bytes > 0)
            s.order[s.start[pl->buffers[i].first + 1]++] = i;
    pl->placement = n ? CG_PLACE_FIRST_FIT : CG_PLACE_NONE;
    if (place_first_fit(g, pl, &s, ends_at, next_end, &pl->arena_size) != 0)
        goto done;
    pl->live_peak = live_peak(pl, &s, scratch);
    size_t pairs = count_pairs(pl, &s, ends_at);
    if (n > 1 && pairs <= (size_t)CG_GREEDY_PAIRS_PER_BUFFER * (size_t)n + CG_GREEDY_PAIRS_MIN) {
        size_t greedy_size;
        if (place_greedy(g, pl, &s, pairs, off, &greedy_size) != 0)
            goto done;
        if (greedy_size < pl->arena_size) {
            for (int k = 0; k < n; k++)
                pl->buffers[s.order[k]].offset = off[k];
            pl->arena_size = greedy_size;
            pl->placement = CG_PLACE_GREEDY_BY_SIZE;
        }
    }
    rc = 0;
done:
    free(s.order);
    free(s.start);
    free(ends_at);
    free(next_end);
    free(scratch);
    free(off);
    return rc;
}
