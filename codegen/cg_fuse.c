/* cg_fuse.c — groups elementwise nodes into fused kernels. A node joins the kernel of
 * its consumers when it is elementwise and has the kernel's shape (a reduction's
 * kernel: its operand's), and every use of it is either inside the kernel or in a
 * kernel that runs after it. An elementwise kernel may also take one reduction of its
 * shape (plain loops), which it then computes first, and that reduction's producers.
 * A member used only inside never touches memory; one that is also read later, or is
 * an output, is "stored": the loop writes it too (a kernel with several outputs). */
#include <stdlib.h>
#include <string.h>

#include "cg.h"

#define CG_FUSE_MAX 48 /* members per kernel: keeps generated functions readable */

/* Who reads each node: users of node v are list[start[v] .. start[v + 1]). */
typedef struct user_lists {
    int *start, *list;
} user_lists;

static int users_build(const ir_graph *g, const cg_node_plan *nodes, const int *operands,
                       user_lists *u)
{
    int n = g->n_nodes, total = 0;
    u->start = ir_calloc((size_t)n + 2, sizeof *u->start);
    for (int id = 0; u->start && id < n; id++)
        for (int j = 0; nodes[id].live && j < nodes[id].n_in; j++, total++)
            u->start[operands[nodes[id].in_at + j] + 2]++;
    u->list = ir_malloc(((size_t)total + 1) * sizeof *u->list);
    if (!u->start || !u->list)
        return -1;
    for (int id = 0; id < n; id++)
        u->start[id + 2] += u->start[id + 1];
    for (int id = 0; id < n; id++)
        for (int j = 0; nodes[id].live && j < nodes[id].n_in; j++)
            u->list[u->start[operands[nodes[id].in_at + j] + 1]++] = id;
    return 0;
}

/* How many users of node v come after node id: users lists are in increasing id order
 * (users_build walks ids upwards), so a binary search finds the first one above id. */
static int users_after(const user_lists *u, int v, int id)
{
    int lo = u->start[v], hi = u->start[v + 1];
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (u->list[mid] > id)
            hi = mid;
        else
            lo = mid + 1;
    }
    return u->start[v + 1] - lo;
}

/* A max-heap of node ids: the candidates of the kernel being grown, highest id first. */
typedef struct id_heap {
    int *id;
    int n;
} id_heap;

static void heap_push(id_heap *h, int v)
{
    int i = h->n++;
    while (i > 0 && h->id[(i - 1) / 2] < v) {
        h->id[i] = h->id[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->id[i] = v;
}

static int heap_pop(id_heap *h)
{
    int top = h->id[0], last = h->id[--h->n], i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && h->id[c + 1] > h->id[c])
            c++;
        if (h->id[c] <= last)
            break;
        h->id[i] = h->id[c];
        i = c;
    }
    if (h->n > 0)
        h->id[i] = last;
    return top;
}

/* Whether types a and b of the plan have one shape (their dtypes may differ). */
static int same_shape(const cg_plan *pl, int a, int b)
{
    const cg_type *ta = &pl->types[a], *tb = &pl->types[b];
    return a == b || (ta->rank == tb->rank &&
                      memcmp(ta->shape, tb->shape, (size_t)ta->rank * sizeof *ta->shape) == 0);
}

/* Whether reduction n (plain loops) may take the elementwise producers of its operand:
 * its own split must divide the loop at least as finely as a kernel of the producers
 * alone would (a full sum of exp(x) over a million elements stays two kernels on two
 * threads: the exp loop split, the sum on one thread). */
static int takes_producers(const ir_node *n, const cg_request *rq)
{
    int64_t work = n->in[0]->numel;
    return cg_reduce_fusable(n) &&
           cg_split_parts(rq, work, cg_reduce_extent(n)) >= cg_split_parts(rq, work, work);
}

/* Whether reduction n (plain loops) may take the elementwise consumers of its output,
 * computed where each output element is finalized: it reads more elements than it
 * writes (so no node of its operand's shape is one of its output's), and its split
 * divides the work at least as finely as a kernel of the consumers alone would. */
static int takes_consumers(const ir_node *n, const cg_request *rq)
{
    int64_t work = n->in[0]->numel;
    return cg_reduce_fusable(n) && work > n->numel &&
           cg_split_parts(rq, work, cg_reduce_extent(n)) >= cg_split_parts(rq, n->numel, n->numel);
}

int cg_fuse(const ir_graph *g, const cg_request *rq, cg_plan *pl)
{
    cg_node_plan *nodes = pl->nodes;
    const int *operands = pl->operands;
    int n = g->n_nodes;
    user_lists u = {0};
    int *inside = ir_calloc((size_t)n + 1, sizeof *inside); /* uses from the current group */
    int *stamp = ir_calloc((size_t)n + 1, sizeof *stamp);
    /* uses from the current group's reduction and producers (of the reduction's operand's
     * shape): a node they read is never computed after the reduction */
    int *inside_red = ir_calloc((size_t)n + 1, sizeof *inside_red);
    /* A node enters the heap once per kernel, as an operand of a member: at most n. */
    id_heap heap = {ir_malloc(((size_t)n + 1) * sizeof *heap.id), 0};
    if (!inside || !stamp || !inside_red || !heap.id || users_build(g, nodes, operands, &u) != 0) {
        free(inside), free(stamp), free(inside_red), free(heap.id), free(u.start), free(u.list);
        return -1;
    }
    for (int id = 0; id < n; id++) {
        nodes[id].root = -1;
        stamp[id] = -1;
        nodes[id].stored = 0;
    }
    for (int id = n - 1; id >= 0; id--) {
        /* A view is no kernel: it is its operand's memory (cg_plan.c). */
        if (!nodes[id].live || nodes[id].root >= 0 || nodes[id].n_in == 0 || nodes[id].view)
            continue;
        nodes[id].root = id;
        nodes[id].stored = 1;
        /* A reduction written as plain loops takes the elementwise producers of its
         * operand into its loops: their members have the operand's shape. */
        int shape = nodes[id].type;
        /* The kernel's reduction (-1: none yet), the shape of its producers (-1: it takes
         * none) */
        int red = -1, red_shape = -1;
        if (!nodes[id].ew) {
            if (!takes_producers(g->nodes[id], rq))
                continue;
            red = id;
            red_shape = shape = nodes[operands[nodes[id].in_at]].type;
        }
        /* Candidates are the operands of members, visited in decreasing id order (a
         * heap, so the work is in the kernel's operands, not in the ids between them):
         * by the time a node is considered every member that could use it has already
         * joined, and every node above the root already belongs to a kernel that runs
         * after this one. */
        int members = 1, n_operands = nodes[id].n_in, cand = id;
        heap.n = 0;
        for (;;) {
            const cg_node_plan *m = &nodes[cand];
            int joins = cand == id;
            ir_work.fuse_steps++;
            /* After the reduction: of its output's shape, read by none of its producers;
             * before it: of its operand's shape (its producers). */
            int fits =
                m->ew && ((same_shape(pl, m->type, shape) && !inside_red[cand]) ||
                          (red_shape >= 0 && cand < red && same_shape(pl, m->type, red_shape)));
            int reduction = red < 0 && !m->ew && m->live && !m->view && m->n_in == 1 &&
                            takes_consumers(g->nodes[cand], rq) && same_shape(pl, m->type, shape);
            if (!joins && m->root < 0 && (fits || reduction) && members < CG_FUSE_MAX &&
                n_operands + m->n_in <= CG_MAX_ARGS) {
                int outside = u.start[cand + 1] - u.start[cand] - inside[cand];
                ir_work.fuse_steps++;
                /* A reader outside that runs before this kernel would see no value. */
                if (outside == users_after(&u, cand, id)) {
                    nodes[cand].root = id;
                    nodes[cand].stored = outside > 0 || nodes[cand].kept;
                    members++;
                    n_operands += m->n_in;
                    joins = 1;
                    if (reduction) {
                        red = cand;
                        if (takes_producers(g->nodes[cand], rq))
                            red_shape = nodes[operands[m->in_at]].type;
                    }
                }
            }
            /* The reduction and its producers: the members of the kernel's first loops. */
            int first = cand == red || (red >= 0 && cand < red && !same_shape(pl, m->type, shape));
            for (int j = 0; joins && j < m->n_in; j++) {
                int p = operands[m->in_at + j];
                if (stamp[p] != id) {
                    stamp[p] = id, inside[p] = 0, inside_red[p] = 0;
                    heap_push(&heap, p);
                }
                inside[p]++;
                inside_red[p] += first;
            }
            if (heap.n == 0 || members >= CG_FUSE_MAX)
                break;
            cand = heap_pop(&heap);
        }
    }
    free(u.start);
    free(u.list);
    free(inside);
    free(stamp);
    free(inside_red);
    free(heap.id);
    return 0;
}
