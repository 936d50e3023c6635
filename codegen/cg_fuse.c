/* cg_fuse.c — groups elementwise nodes into fused kernels: a node joins the kernel of
 * its consumers when it is elementwise, has the kernel's shape, is not an output, and
 * every use of it is inside that kernel. Its value then never touches memory. */
#include <stdlib.h>

#include "cg.h"

#define CG_FUSE_MAX 48 /* members per kernel: keeps generated functions readable */

int cg_fuse(const ir_graph *g, const unsigned char *live, const unsigned char *is_output,
            const unsigned char *absorbed, int *root)
{
    int n = g->n_nodes;
    int *users = calloc((size_t)n + 1, sizeof *users);
    int *inside = calloc((size_t)n + 1, sizeof *inside); /* uses from the current group */
    int *stamp = calloc((size_t)n + 1, sizeof *stamp);
    if (!users || !inside || !stamp) {
        free(users), free(inside), free(stamp);
        return -1;
    }
    for (int id = 0; id < n; id++) {
        root[id] = -1;
        stamp[id] = -1;
        for (int j = 0; live[id] && j < g->nodes[id]->n_in; j++)
            users[g->nodes[id]->in[j]->id]++;
    }
    for (int id = n - 1; id >= 0; id--) {
        const ir_node *r = g->nodes[id];
        if (!live[id] || root[id] >= 0 || r->n_in == 0 || absorbed[id])
            continue;
        root[id] = id;
        if (!cg_is_elementwise(r))
            continue;
        /* Candidates are visited in decreasing id order, so by the time a node is
         * considered every member that could use it has already joined. */
        int members = 1, lowest = id, operands = r->n_in;
        for (int cand = id; cand >= lowest && cand >= 0; cand--) {
            const ir_node *m = g->nodes[cand];
            if (cand != id) {
                if (stamp[cand] != id || inside[cand] != users[cand] || is_output[cand] ||
                    root[cand] >= 0 || !cg_is_elementwise(m) || !ir_same_shape(m, r) ||
                    members >= CG_FUSE_MAX || operands + m->n_in > CG_MAX_ARGS)
                    continue;
                root[cand] = id;
                members++;
                operands += m->n_in;
            }
            for (int j = 0; j < m->n_in; j++) {
                int p = m->in[j]->id;
                if (stamp[p] != id)
                    stamp[p] = id, inside[p] = 0;
                inside[p]++;
                if (p < lowest)
                    lowest = p;
            }
        }
    }
    free(users);
    free(inside);
    free(stamp);
    return 0;
}

int cg_is_transpose(const ir_node *n)
{
    if (n->op != IR_OP_PERMUTE || n->rank < 2)
        return 0;
    for (int d = 0; d < n->rank - 2; d++)
        if (n->attr.ints[d] != d)
            return 0;
    return n->attr.ints[n->rank - 2] == n->rank - 1 && n->attr.ints[n->rank - 1] == n->rank - 2;
}

void cg_absorb_transposes(const ir_graph *g, const unsigned char *live,
                          const unsigned char *is_output, unsigned char *absorbed)
{
    for (int id = 0; id < g->n_nodes; id++)
        absorbed[id] = live[id] && !is_output[id] && cg_is_transpose(g->nodes[id]);
    /* A transpose that anything but a matmul reads needs its buffer after all. */
    for (int id = 0; id < g->n_nodes; id++) {
        const ir_node *v = g->nodes[id];
        if (!live[id] || v->op == IR_OP_MATMUL)
            continue;
        for (int j = 0; j < v->n_in; j++)
            absorbed[v->in[j]->id] = 0;
    }
}
