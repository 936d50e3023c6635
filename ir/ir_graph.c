/* ir_graph.c — the graph: node creation through the op table, sticky errors, types. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

const ir_op_def ir_op_defs[IR_OP_COUNT] = {
#define IR_OP(NAME, str, arity, shape, vjp) [IR_OP_##NAME] = {str, arity, shape, vjp},
#include "ir_ops.def"
#undef IR_OP
};

/* The message kept when there is no memory left even for a message. */
static char ir_oom_msg[] = "out of memory";

ir_graph *ir_graph_new(void)
{
    return ir_calloc(1, sizeof(ir_graph));
}

/* Nodes of the first block; each later block holds twice as many as the one before, up
 * to IR_NODE_BLOCK_MAX, so a small graph takes little memory and a large one few
 * allocations. */
#define IR_NODE_BLOCK_MIN 8
#define IR_NODE_BLOCK_MAX 256

struct ir_node_block {
    ir_node_block *next; /* the block allocated before this one */
    int used, cap;
    /* cap slots, used of them handed out; each starting on a cache line when the size
     * of a node is a multiple of one. */
    _Alignas(IR_NODE_ALIGN) ir_node nodes[];
};

/* A zeroed node from g's newest block (a new block when it is full); NULL on OOM. */
static ir_node *node_take(ir_graph *g)
{
    ir_node_block *b = g->blocks;
    if (!b || b->used == b->cap) {
        int cap = b ? 2 * b->cap : IR_NODE_BLOCK_MIN;
        if (cap > IR_NODE_BLOCK_MAX)
            cap = IR_NODE_BLOCK_MAX;
        size_t bytes = sizeof *b + (size_t)cap * sizeof(ir_node);
        /* aligned_alloc takes a multiple of the alignment. */
        bytes = (bytes + IR_NODE_ALIGN - 1) / IR_NODE_ALIGN * IR_NODE_ALIGN;
        b = ir_aligned_alloc(IR_NODE_ALIGN, bytes);
        if (!b)
            return NULL;
        b->next = g->blocks;
        b->used = 0;
        b->cap = cap;
        g->blocks = b;
    }
    ir_node *n = &b->nodes[b->used++];
    memset(n, 0, sizeof *n);
    return n;
}

void ir_node_free(ir_node *n)
{
    if (n->in != n->in_small)
        free(n->in);
    free(n->name);
    free(n->data);
    n->in = NULL;
    n->name = NULL;
    n->data = NULL;
    /* The newest node of its graph (one just found a duplicate, or rejected by its
     * shape rule): its slot is handed out again. */
    ir_node_block *b = n->graph ? n->graph->blocks : NULL;
    if (b && b->used > 0 && n == &b->nodes[b->used - 1])
        b->used--;
}

void ir_graph_free(ir_graph *g)
{
    if (!g)
        return;
    for (int i = 0; i < g->n_nodes; i++)
        ir_node_free(g->nodes[i]);
    while (g->blocks) {
        ir_node_block *b = g->blocks;
        g->blocks = b->next;
        free(b);
    }
    free(g->nodes);
    free(g->leaf_names);
    ir_error_clear(g);
    free(g);
}

void ir_error_clear(ir_graph *g)
{
    if (g->error != ir_oom_msg)
        free(g->error);
    g->error = NULL;
}

static void set_error(ir_graph *g, const char *msg)
{
    g->error = ir_strdup(msg);
    if (!g->error)
        g->error = ir_oom_msg;
}

int ir_error(ir_graph *g, const char *fmt, ...)
{
    if (!g || g->error)
        return -1;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    set_error(g, buf);
    return -1;
}

int ir_oom(ir_graph *g)
{
    if (g && !g->error)
        g->error = ir_oom_msg;
    return -1;
}

/* The slot of name among leaves of kind op: where it is, or the empty slot where it
 * goes. The table is never full (at most half its slots are used). */
static size_t leaf_slot(ir_node *const *table, size_t cap, ir_op op, const char *name)
{
    size_t i = (size_t)ir_hash_bytes(name, strlen(name)) & (cap - 1);
    while (table[i]) {
        ir_work.leaf_probes++;
        if (table[i]->op == op && strcmp(table[i]->name, name) == 0)
            break;
        i = (i + 1) & (cap - 1);
    }
    return i;
}

ir_node *ir_leaf_find(const ir_graph *g, ir_op op, const char *name)
{
    if (!g->leaf_names_cap || !name)
        return NULL;
    return g->leaf_names[leaf_slot(g->leaf_names, g->leaf_names_cap, op, name)];
}

int ir_leaf_index(ir_graph *g, ir_node *n)
{
    if (2 * (g->n_leaf_names + 1) > g->leaf_names_cap) {
        size_t cap = g->leaf_names_cap ? 2 * g->leaf_names_cap : 64;
        ir_node **table = ir_calloc(cap, sizeof *table);
        if (!table)
            return ir_oom(g);
        for (size_t i = 0; i < g->leaf_names_cap; i++)
            if (g->leaf_names[i])
                table[leaf_slot(table, cap, g->leaf_names[i]->op, g->leaf_names[i]->name)] =
                    g->leaf_names[i];
        free(g->leaf_names);
        g->leaf_names = table;
        g->leaf_names_cap = cap;
    }
    g->leaf_names[leaf_slot(g->leaf_names, g->leaf_names_cap, n->op, n->name)] = n;
    g->n_leaf_names++;
    return 0;
}

int ir_max_operands(const ir_graph *g, int last)
{
    int most = 0;
    for (int id = 0; id <= last && id < g->n_nodes; id++)
        if (g->nodes[id]->n_in > most)
            most = g->nodes[id]->n_in;
    return most;
}

int ir_is_float(nb_dtype dt)
{
    return dt == NB_F32 || dt == NB_F64;
}

const char *ir_dtype_name(nb_dtype dt)
{
    switch (dt) {
    case NB_F32: return "f32";
    case NB_F64: return "f64";
    case NB_I32: return "i32";
    case NB_BOOL: return "bool";
    default: return "?";
    }
}

const char *ir_format_type(nb_dtype dt, int rank, const int64_t *shape, char *buf, size_t size)
{
    char full[IR_TYPE_STR_MAX];
    size_t len = ir_type_chars(dt, rank, shape, full);
    if (size) {
        len = len < size - 1 ? len : size - 1;
        memcpy(buf, full, len);
        buf[len] = 0;
    }
    return buf;
}

const char *ir_type_str(const ir_node *n, char *buf, size_t size)
{
    return ir_format_type(n->dtype, n->rank, n->shape, buf, size);
}

const char *ir_node_str(const ir_node *n, char *buf, size_t size)
{
    if (n->name)
        snprintf(buf, size, "node %d (%s '%s')", n->id, ir_op_defs[n->op].name, n->name);
    else
        snprintf(buf, size, "node %d (%s)", n->id, ir_op_defs[n->op].name);
    return buf;
}

/* Checks that every dimension is positive and the element count fits in int64. */
static int check_extent(ir_graph *g, ir_node *n)
{
    const char *op = ir_op_defs[n->op].name;
    if (n->rank < 0 || n->rank > NB_MAX_RANK)
        return ir_error(g, "%s: rank %d is out of range [0, %d]", op, n->rank, NB_MAX_RANK);
    for (int i = 0; i < n->rank; i++)
        if (n->shape[i] <= 0)
            return ir_error(g, "%s: dimension %d is %lld; dimensions must be positive", op, i,
                            (long long)n->shape[i]);
    int64_t numel = ir_shape_numel(n->rank, n->shape);
    if (numel < 0 || numel > IR_MAX_NUMEL) {
        char t[IR_TYPE_STR_MAX];
        return ir_error(g, "%s: element count of the result %s overflows (at most %lld elements)",
                        op, ir_type_str(n, t, sizeof t), (long long)IR_MAX_NUMEL);
    }
    n->numel = numel;
    return 0;
}

ir_node *ir_node_new(ir_graph *g, ir_op op, ir_node *const *in, int n_in, const ir_attr *attr)
{
    if (!g || g->error)
        return NULL;
    const ir_op_def *def = &ir_op_defs[op];
    if (def->arity >= 0 && n_in != def->arity) {
        ir_error(g, "%s: takes %d operands, got %d", def->name, def->arity, n_in);
        return NULL;
    }
    for (int i = 0; i < n_in; i++) {
        if (!in || !in[i]) {
            ir_error(g, "%s: operand %d is NULL", def->name, i);
            return NULL;
        }
        if (in[i]->graph != g) {
            ir_error(g, "%s: operand %d (node %d) belongs to another graph", def->name, i,
                     in[i]->id);
            return NULL;
        }
    }
    if (g->n_nodes == INT32_MAX - 1) {
        ir_error(g, "%s: the graph is full", def->name);
        return NULL;
    }
    if (g->n_nodes == g->cap) {
        int cap = g->cap ? g->cap * 2 : 64;
        ir_node **nodes = ir_realloc(g->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes) {
            ir_oom(g);
            return NULL;
        }
        g->nodes = nodes;
        g->cap = cap;
    }
    ir_node *n = node_take(g);
    if (!n) {
        ir_oom(g);
        return NULL;
    }
    n->graph = g;
    n->in = n->in_small;
    if (n_in > IR_NODE_SMALL_IN && !(n->in = ir_malloc((size_t)n_in * sizeof *n->in))) {
        ir_node_free(n);
        ir_oom(g);
        return NULL;
    }
    n->op = op;
    n->id = n->origin = g->n_nodes;
    n->n_in = n_in;
    if (n_in)
        memcpy(n->in, in, (size_t)n_in * sizeof *in);
    if (attr)
        n->attr = *attr;
    if (def->shape(g, n) != 0 || check_extent(g, n) != 0) {
        ir_node_free(n);
        return NULL;
    }
    g->nodes[g->n_nodes++] = n;
    return n;
}
