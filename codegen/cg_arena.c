/* cg_arena.c — the memory plan: places each kernel's result in the arena, reusing the
 * space of results that no later kernel reads (first fit over live intervals). */
#include <stdlib.h>
#include <string.h>

#include "cg.h"

typedef struct block {
    size_t offset, size;
    int last_use; /* index of the last kernel that reads it */
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

/* The lowest offset where size bytes fit between the live blocks (sorted by offset).
 * Offsets and sizes of live blocks end below the arena's size, which is checked, so
 * at + size can only wrap for a block that then goes to the end of the arena. */
static size_t first_fit(const block *live, int n, size_t size)
{
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        if (at + size < at || live[i].offset >= at + size)
            break;
        if (live[i].offset + live[i].size > at)
            at = live[i].offset + live[i].size;
    }
    return at;
}

int cg_arena_plan(ir_graph *g, const cg_kernel *kernels, int n_kernels, const unsigned char *kept,
                  const int *in_place, size_t *offset, size_t *arena_size)
{
    int *last_use = ir_malloc(((size_t)g->n_nodes + 1) * sizeof *last_use);
    int outs = 0;
    for (int i = 0; i < n_kernels; i++)
        outs += kernels[i].n_outs;
    block *live = ir_malloc(((size_t)outs + 1) * sizeof *live);
    int n_live = 0;
    int rc = -1;
    if (!last_use || !live) {
        ir_oom(g);
        goto done;
    }
    for (int id = 0; id < g->n_nodes; id++)
        last_use[id] = kept[id] ? n_kernels : -1;
    for (int i = 0; i < n_kernels; i++)
        for (int a = 0; a < kernels[i].n_args; a++) {
            int id = kernels[i].args[a]->id;
            if (last_use[id] < i)
                last_use[id] = i;
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
            end = first_fit(live, n_live, size);
            if (cg_reserve(g, "arena", r, &end, &at) != 0)
                goto done;
            int pos = 0;
            while (pos < n_live && live[pos].offset < at)
                pos++;
            memmove(live + pos + 1, live + pos, (size_t)(n_live - pos) * sizeof *live);
            live[pos] = (block){at, size, last_use[r->id] > i ? last_use[r->id] : i};
            n_live++;
            offset[r->id] = at;
            if (end > *arena_size)
                *arena_size = end;
        }
        /* Results last read by this kernel are dead once it has run. */
        int alive = 0;
        for (int b = 0; b < n_live; b++)
            if (live[b].last_use > i)
                live[alive++] = live[b];
        n_live = alive;
    }
    rc = 0;
done:
    free(last_use);
    free(live);
    return rc;
}
