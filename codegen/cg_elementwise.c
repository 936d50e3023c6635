/* cg_elementwise.c — the loop of an elementwise kernel: operands broadcast by strides,
 * adjacent axes merged, loop-invariant operands read once, and for fused kernels each
 * member's expression (built by its emitter, cg_expr.c) inlined into its one reader or
 * kept in a local. */
#include <stdlib.h>
#include <string.h>

#include "cg.h"

/* Loop axes after merging: size and, per array (0 = output, 1.. = operands), stride. */
typedef struct loop_axes {
    int n;
    int64_t size[NB_MAX_RANK];
    int64_t stride[CG_MAX_ARGS + 1][NB_MAX_RANK];
} loop_axes;

/* The loop of kernel k over the axes of `shape` (the root's, or a fused reduction's
 * operand's): each array's stride along them (0 where an operand is broadcast; a
 * permuted view's strides walk its operand's memory), merged when `merge` is set. */
static void plan_axes_of(const cg_kernel *k, int rank, const int64_t *shape, int merge,
                         loop_axes *la)
{
    cg_strides(rank, shape, la->stride[0]);
    for (int a = 0; a < k->n_args; a++) {
        const ir_node *x = k->args[a];
        int64_t own[NB_MAX_RANK];
        cg_strides(x->rank, x->shape, own);
        if (k->arg_permuted && k->arg_permuted[a]) {
            /* A permute the plan made a view: its pointer is its operand's memory, where
             * its axis d is the operand's axis perm[d]. */
            int64_t from[NB_MAX_RANK];
            cg_strides(x->in[0]->rank, x->in[0]->shape, from);
            for (int d = 0; d < x->rank; d++)
                own[d] = from[x->attr.permute.perm[d]];
        }
        for (int d = 0; d < rank; d++) {
            int dd = d - (rank - x->rank);
            la->stride[a + 1][d] = (dd < 0 || x->shape[dd] == 1) ? 0 : own[dd];
        }
    }
    for (int d = 0; d < rank; d++)
        la->size[d] = shape[d];
    la->n = merge ? cg_merge_axes(rank, la->size, k->n_args + 1, la->stride) : rank;
}

/* The loop of an elementwise kernel: the root's axes, merged. */
static void plan_axes(const cg_kernel *k, loop_axes *la)
{
    plan_axes_of(k, k->root->rank, k->root->shape, 1, la);
}

/* Fused loops that call own math, in code libtcc compiles (cg_ctx.block_math): libtcc
 * keeps every value in memory and calls the runtime once per element, so such a loop
 * runs in blocks of CG_EW_BLOCK elements of its one axis instead: the members the math
 * members read are computed into a block array per math member, one runtime call per
 * block applies the function to the array in place (nb_rt_<fn>_block, vectorized), then
 * the rest of the members read the arrays. Blocks start at the part's first element, so
 * none crosses the bound of a split kernel's part. The runtime computes the same
 * operations as the per-element text: the bits do not change. */
#define CG_EW_BLOCK 256
/* Math members a blocked loop has, at most (a block array each, on the stack). */
#define CG_EW_BLOCK_MATH 8

/* Where a member of a blocked loop is computed. */
enum {
    EW_AFTER = 0, /* in the loop after the calls */
    EW_BEFORE,    /* in the loop before them: a math member reads it */
    EW_MATH       /* by a block call */
};

typedef struct ew_blocks {
    int n;
    const ir_node *math[CG_EW_BLOCK_MATH]; /* in id order */
    const char *fn[CG_EW_BLOCK_MATH];      /* each one's runtime function */
    int before; /* emit_members writes the loop before the calls (else after them) */
} ew_blocks;

/* An expression not yet written: it goes into the one statement that reads it.
 * libtcc keeps every local in memory, so `y = a - s * (b / (sqrtf(c) + e))` runs about
 * twice as fast there as the same work through four locals. Depth and length are
 * bounded so that expressions stay readable (and far from libtcc's nesting limit). */
#define CG_INLINE_DEPTH 4
#define CG_INLINE_LENGTH 120

/* A member's value: pending (its expression, text[at, at + len) of the kernel's pending
 * texts, not written yet) or the local t<id>. */
typedef struct member_value {
    size_t at, len;
    int pending;
    int depth; /* how deep pending expressions nest in it (0: none) */
    int atom;  /* needs no parentheses where it is read */
    int stored;
    int readers; /* uses as an operand of later members */
} member_value;

/* How a member reads one operand: the text and whether it needs parentheses. */
typedef struct operand_text {
    char buf[CG_LIT_MAX + 2]; /* a name or a literal, parenthesized when negative */
    size_t skip;              /* the text starts at buf + skip ... */
    size_t pend_at;           /* ... or, for a pending member, in the pending texts */
    size_t len;
    int pending;
    int paren;
    int member; /* member index of the operand, or -1 */
} operand_text;

/* The kernel being written. */
typedef struct ew_state {
    cg_ctx *c;
    const cg_kernel *k;
    member_value *v;   /* per member position */
    int *ids;          /* per member position: its node id */
    ir_text pend;      /* pending expressions, back to back */
    operand_text *ops; /* the operands of the member being written */
    int *uses;         /* per operand: holes that read it */
    int max_in;        /* room in ops and uses */
    ir_text index;     /* the element's row-major index in the loop's shape (cg_ew.index) */
    cg_ew e;
} ew_state;

/* Members are in id order: a binary search of their ids (copied into one array, so
 * the search reads no node) among the first `below` finds node id's position, or -1. */
static int member_index_below(const ew_state *st, int id, int below)
{
    int lo = 0, hi = below;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (st->ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < below && st->ids[lo] == id ? lo : -1;
}

static int member_index(const ew_state *st, const ir_node *x)
{
    return member_index_below(st, x->id, st->k->n_members);
}

/* The id of operand j of node m, from the plan: the operand node itself is not read
 * (in a large graph it may be far from m in memory, a cache miss). */
static int operand_id(const ew_state *st, const ir_node *m, int j)
{
    const cg_plan *pl = st->c->plan;
    return pl->operands[pl->nodes[m->id].in_at + j];
}

/* "t<id>" or "v<a>" into buf; its length. */
static size_t name_of(char *buf, char letter, long long v)
{
    buf[0] = letter;
    return 1 + ir_int_str(v, buf + 1);
}

/* Writes the indent and `const T t<id>`, the start of member m's local. */
static void begin_local(cg_ctx *c, const ir_node *m)
{
    cg_begin(c);
    cg_s(c, "const ");
    cg_s(c, cg_ctype(m->dtype));
    cg_s(c, " t");
    cg_i(c, m->origin);
}

/* Writes member i's pending expression as its local after all. */
static void flush(ew_state *st, int i)
{
    cg_ctx *c = st->c;
    member_value *v = &st->v[i];
    begin_local(c, st->k->members[i]);
    cg_s(c, " = ");
    ir_text_append(c->t, st->pend.buf + v->at, v->len);
    cg_end(c, ";");
    v->pending = 0;
}

/* How member m reads operand j: a literal, v<a>, t<id> or a pending expression
 * (o->member is set: its member position, or -1). */
static void operand_of(ew_state *st, const ir_node *m, int j, operand_text *o)
{
    const cg_kernel *k = st->k;
    const ir_node *x = m->in[j];
    o->skip = 0;
    o->pending = o->paren = 0;
    if (o->member >= 0) {
        member_value *v = &st->v[o->member];
        if (v->pending) {
            /* An offset: the pending texts may move when the result is appended. */
            o->pending = 1;
            o->pend_at = v->at;
            o->len = v->len;
            o->paren = !v->atom;
        } else {
            o->len = name_of(o->buf, 't', x->origin);
        }
        return;
    }
    if (x == k->reduction) { /* a consumer reads the local its reduction set */
        o->len = name_of(o->buf, 't', x->origin);
        return;
    }
    const cg_plan *pl = st->c->plan;
    const cg_node_plan *xp = &pl->nodes[operand_id(st, m, j)];
    if (xp->inlined) {
        size_t len = cg_lit(o->buf + 1, pl->types[xp->type].dtype, xp->lit);
        if (o->buf[1] == '-') {
            o->buf[0] = '(';
            o->buf[len + 1] = ')';
            o->len = len + 2;
        } else {
            o->skip = 1;
            o->len = len;
        }
        return;
    }
    int a = cg_kernel_arg(k, x);
    if (a >= 0) {
        o->len = name_of(o->buf, 'v', a);
        return;
    }
    cg_internal_error(st->c,
                      "operand %d of node %d is neither a member nor an operand of its kernel", j,
                      m->origin);
    o->len = 0;
}

/* The length of the text from position `from` to hole `end` (or the end) once its
 * operands are filled in. */
static size_t rendered_length(const ew_state *st, size_t from, int h, int end)
{
    const cg_ew *e = &st->e;
    size_t len = (end < e->n_holes ? e->holes[end].at : e->text.len) - from;
    for (; h < end; h++) {
        const operand_text *o = &st->ops[e->holes[h].operand];
        len += o->len + 2 * (size_t)o->paren;
    }
    return len;
}

/* Appends the builder's text from position `from` up to hole `end` (or to its end) to
 * t, the operand holes h .. end - 1 filled in. t has room for all of it (no operand
 * text moves while it is copied, even one that lives in t). */
static void render(const ew_state *st, ir_text *t, size_t from, int h, int end)
{
    const cg_ew *e = &st->e;
    for (;; h++) {
        size_t to = h < end ? e->holes[h].at : (end < e->n_holes ? e->holes[end].at : e->text.len);
        if (to > from) /* the builder's text is NULL while it holds only holes */
            ir_text_append(t, e->text.buf + from, to - from);
        if (h >= end)
            return;
        const operand_text *o = &st->ops[e->holes[h].operand];
        if (o->paren)
            ir_text_putc(t, '(');
        ir_text_append(t, o->pending ? st->pend.buf + o->pend_at : o->buf + o->skip, o->len);
        if (o->paren)
            ir_text_putc(t, ')');
        from = to;
    }
}

/* Makes room for the operands of a member with n operands. */
static int ops_room(ew_state *st, int n)
{
    if (n <= st->max_in)
        return 0;
    operand_text *ops = ir_realloc(st->ops, (size_t)n * sizeof *ops);
    if (ops)
        st->ops = ops;
    int *uses = ir_realloc(st->uses, (size_t)n * sizeof *uses);
    if (uses)
        st->uses = uses;
    if (!ops || !uses)
        return -1;
    st->max_in = n;
    return 0;
}

/* Writes member i: its emitter builds its expression; each statement the emitter ended
 * with cg_ew_let becomes a local; the expression itself stays pending when one later
 * member reads it once (and it is short and shallow enough), else it becomes the local
 * `const T t<id> = <expr>;`. */
static void emit_member(ew_state *st, int i)
{
    cg_ctx *c = st->c;
    const ir_node *m = st->k->members[i];
    cg_ew *e = &st->e;
    member_value *v = &st->v[i];
    if (ops_room(st, m->n_in) != 0) {
        c->t->failed = 1;
        return;
    }
    cg_ew_reset(e, c, m);
    e->index = st->index.buf;
    cg_ew_emitter(m->op)(e, m);
    if (e->text.failed) {
        c->t->failed = 1;
        return;
    }
    if (c->t->failed)
        return;
    if (e->empty || e->calls) {
        cg_internal_error(c, "the emitter of %s wrote %s", ir_op_defs[m->op].name,
                          e->calls ? "an unclosed call" : "no expression");
        return;
    }
    for (int j = 0; j < m->n_in; j++)
        st->uses[j] = 0;
    for (int h = 0; h < e->n_holes; h++)
        if (e->holes[h].operand >= 0)
            st->uses[e->holes[h].operand]++;
    /* A pending operand read more than once is computed once, as its local (in operand
     * order, before anything of this member is written). */
    for (int j = 0; j < m->n_in; j++) {
        int at = st->ops[j].member = member_index_below(st, operand_id(st, m, j), i);
        if (at >= 0 && st->v[at].pending && st->uses[j] != 1)
            flush(st, at);
    }
    int depth = 0;
    for (int j = 0; j < m->n_in; j++) {
        operand_of(st, m, j, &st->ops[j]);
        int at = st->ops[j].member;
        if (st->ops[j].pending && st->v[at].depth + 1 > depth)
            depth = st->v[at].depth + 1;
    }
    if (c->t->failed)
        return;
    /* The statements the emitter ended with cg_ew_let, in order. */
    size_t from = 0;
    int h = 0;
    for (int end = 0; end < e->n_holes; end++) {
        if (e->holes[end].operand != CG_EW_LET)
            continue;
        size_t len = rendered_length(st, from, h, end);
        begin_local(c, m);
        ir_text_putc(c->t, '_');
        cg_s(c, e->holes[end].name);
        cg_s(c, " = ");
        if (ir_text_reserve(c->t, len) != 0)
            return;
        render(st, c->t, from, h, end);
        cg_end(c, ";");
        from = e->holes[end].at;
        h = end + 1;
    }
    /* The expression: pending, or a local. */
    size_t len = rendered_length(st, from, h, e->n_holes);
    if (v->readers == 1 && !v->stored && depth < CG_INLINE_DEPTH && len <= CG_INLINE_LENGTH) {
        if (ir_text_reserve(&st->pend, len) != 0) {
            c->t->failed = 1;
            return;
        }
        v->at = st->pend.len;
        render(st, &st->pend, from, h, e->n_holes);
        v->len = len;
        v->pending = 1;
        v->depth = depth;
        v->atom = e->whole == CG_EW_CALL ||
                  (e->whole > 0 && !st->ops[e->whole - 1].paren && e->n_holes - h == 1);
    } else {
        begin_local(c, m);
        cg_s(c, " = ");
        if (ir_text_reserve(c->t, len) != 0)
            return;
        render(st, c->t, from, h, e->n_holes);
        cg_end(c, ";");
    }
    /* Every pending operand is now inside this member's text. */
    for (int j = 0; j < m->n_in; j++)
        if (st->ops[j].pending)
            st->v[st->ops[j].member].pending = 0;
}

/* Appends the pointer output o of the kernel is written through: y for the root, s<id>
 * for the other stored members. */
static void put_out_name(cg_ctx *c, const cg_kernel *k, int o)
{
    if (k->outs[o] == k->root) {
        cg_s(c, "y");
        return;
    }
    cg_s(c, "s");
    cg_i(c, k->outs[o]->origin);
}

/* Appends the pointer argument a is read through: x<a>, or the output whose memory
 * it is. */
static void put_arg_name(cg_ctx *c, const cg_kernel *k, int a)
{
    if (k->arg_out[a] >= 0) {
        put_out_name(c, k, k->arg_out[a]);
        return;
    }
    cg_s(c, "x");
    cg_i(c, a);
}

/* Writes `const T v<a> = <pointer>[<index>];`. */
static void load_arg(cg_ctx *c, const cg_kernel *k, const loop_axes *la, int a)
{
    cg_begin(c);
    cg_s(c, "const ");
    cg_s(c, cg_ctype(k->args[a]->dtype));
    cg_s(c, " v");
    cg_i(c, a);
    cg_s(c, " = ");
    put_arg_name(c, k, a);
    cg_s(c, "[");
    cg_index(c->t, 0, "i", la->n, la->stride[a + 1]);
    cg_end(c, "];");
}

int64_t cg_elementwise_extent(const cg_kernel *k)
{
    loop_axes la;
    if (k->n_args > CG_MAX_ARGS)
        return 1; /* cg_elementwise reports it */
    plan_axes(k, &la);
    return la.n > 0 ? la.size[0] : 1;
}

/* Loads the operands that vary along the axes `axes` (inside != 0) or do not (inside ==
 * 0): an operand constant over the inner loops is read once, before them. Only those
 * marked in read[] when it is not NULL. */
static void load_args(cg_ctx *c, const cg_kernel *k, const loop_axes *la, uint32_t axes, int inside,
                      const unsigned char *read)
{
    for (int a = 0; a < k->n_args; a++) {
        if (read && !read[a])
            continue;
        int varies = 0;
        for (int d = 0; d < la->n; d++)
            varies |= ((axes >> d) & 1u) && la->stride[a + 1][d] != 0;
        if (varies == inside)
            load_arg(c, k, la, a);
    }
}

/* The block array of math member m of a blocked loop, or -1. */
static int block_of(const ew_blocks *bl, const ir_node *m)
{
    for (int b = 0; bl && b < bl->n; b++)
        if (bl->math[b] == m)
            return b;
    return -1;
}

/* Appends "b<id>[i0 - o0]", the element of math member m's block array. */
static void put_block_elem(cg_ctx *c, const ir_node *m)
{
    cg_s(c, "b");
    cg_i(c, m->origin);
    cg_s(c, "[i0 - o0]");
}

/* Writes the members k->members[0 .. k->n_members) (their operands loaded) and stores
 * k->outs[0 .. k->n_outs) at the loop's index. In a blocked loop (bl), the loop before
 * the calls also stores each math member's operand into its block array, and the loop
 * after them reads the math members from their arrays. */
static void emit_members(cg_ctx *c, const cg_kernel *k, const loop_axes *la, const ew_blocks *bl)
{
    ew_state st = {.c = c, .k = k};
    st.v = ir_calloc((size_t)k->n_members, sizeof *st.v);
    st.ids = ir_malloc((size_t)k->n_members * sizeof *st.ids);
    if (!st.v || !st.ids) {
        free(st.v);
        free(st.ids);
        c->t->failed = 1;
        return;
    }
    for (int i = 0; i < k->n_members; i++)
        st.ids[i] = k->members[i]->id;
    /* Every member has the loop's shape (cg_fuse), whose row-major strides are the
     * output's: the index counts its elements, whatever the split. */
    cg_index(&st.index, 0, "i", la->n, la->stride[0]);
    if (st.index.failed)
        c->t->failed = 1;
    for (int i = 0; i < k->n_members; i++)
        for (int j = 0; j < k->members[i]->n_in; j++) {
            /* An operand has a smaller id: it can only be an earlier member. */
            int at = member_index_below(&st, operand_id(&st, k->members[i], j), i);
            if (at >= 0)
                st.v[at].readers++;
        }
    for (int o = 0; o < k->n_outs; o++) {
        int at = member_index(&st, k->outs[o]);
        if (at >= 0)
            st.v[at].stored = 1;
    }
    for (int b = 0; bl && bl->before && b < bl->n; b++) {
        /* The operand of a math member is a local: its block array reads it. */
        int at = member_index(&st, bl->math[b]->in[0]);
        if (at >= 0)
            st.v[at].stored = 1;
    }
    for (int i = 0; i < k->n_members && !c->t->failed; i++) {
        if (bl && !bl->before && block_of(bl, k->members[i]) >= 0) {
            begin_local(c, k->members[i]);
            cg_s(c, " = ");
            put_block_elem(c, k->members[i]);
            cg_end(c, ";");
            continue;
        }
        emit_member(&st, i);
    }
    free(st.v);
    free(st.ids);
    free(st.ops);
    free(st.uses);
    free(st.pend.buf);
    free(st.index.buf);
    cg_ew_free(&st.e);
    /* Every load came first: a parameter updated in place is read before it is written. */
    for (int o = 0; o < k->n_outs; o++) {
        cg_begin(c);
        put_out_name(c, k, o);
        cg_s(c, "[");
        cg_index(c->t, 0, "i", la->n, la->stride[0]);
        cg_s(c, "] = t");
        cg_i(c, k->outs[o]->origin);
        cg_end(c, ";");
    }
    for (int b = 0; bl && bl->before && b < bl->n; b++) {
        const ir_node *x = bl->math[b]->in[0];
        cg_begin(c);
        put_block_elem(c, bl->math[b]);
        cg_s(c, " = ");
        int a = cg_kernel_arg(k, x);
        cg_s(c, a >= 0 ? "v" : "t");
        cg_i(c, a >= 0 ? a : x->origin);
        cg_end(c, ";");
    }
}

/* The runtime function that computes member m over a block in place, or NULL when none
 * does: a sigmoid, or a member whose expression is one own-math call of its operand
 * alone ("nbm_expf(x)" computes as nb_rt_expf_block). */
static const char *math_block_fn(cg_ctx *c, cg_ew *e, const ir_node *m)
{
    if (m->dtype != NB_F32 || m->n_in != 1)
        return NULL;
    if (m->op == IR_OP_SIGMOID)
        return "nb_rt_sigmoidf_block";
    /* The emitter marks the per-element function used: not when it is only looked at. */
    unsigned char used[CG_MATH_COUNT];
    memcpy(used, c->math_used, sizeof used);
    cg_ew_reset(e, c, m);
    e->index = "0"; /* only looked at */
    cg_ew_emitter(m->op)(e, m);
    memcpy(c->math_used, used, sizeof used);
    /* The call opens the expression and closes it, around operand 0 and nothing else. */
    if (e->text.failed || e->math < 0 || e->whole != CG_EW_CALL || e->calls || e->n_holes != 1 ||
        e->holes[0].operand != 0 || e->holes[0].at != strlen(cg_math_name(e->math)) + 1 ||
        e->text.len != e->holes[0].at + 1)
        return NULL;
    return cg_math_block_name(e->math);
}

/* Decides whether kernel k (its loop la) runs in blocks: role[i] of each member (EW_*)
 * and the math members into bl. 0 when it does not: no math member, more than
 * CG_EW_BLOCK_MATH, more than one loop axis, a member after the calls that reads one
 * before them (it would need a block of its own), a math member reading a literal, or
 * an output written before the calls that an operand reads in place. -1 when out of
 * memory. */
static int plan_blocks(cg_ctx *c, const cg_kernel *k, const loop_axes *la, ew_blocks *bl,
                       unsigned char *role)
{
    cg_ew e = {0};
    int n = k->n_members, ok = 1;
    bl->n = 0;
    if (!c->block_math || la->n != 1 || n < 1)
        return 0;
    ew_state st = {.c = c, .k = k};
    st.ids = ir_malloc((size_t)n * sizeof *st.ids);
    if (!st.ids)
        return -1;
    for (int i = 0; i < n; i++)
        st.ids[i] = k->members[i]->id;
    for (int i = 0; i < n; i++)
        role[i] = EW_AFTER;
    /* From the last member back: what a math member reads is computed before the calls,
     * and so is what that reads (a math member there too, per element). */
    for (int i = n - 1; i >= 0; i--) {
        const ir_node *m = k->members[i];
        if (role[i] != EW_BEFORE) {
            if (bl->n == CG_EW_BLOCK_MATH || !(bl->fn[bl->n] = math_block_fn(c, &e, m)))
                continue;
            role[i] = EW_MATH;
            bl->math[bl->n++] = m;
        }
        for (int j = 0; j < m->n_in; j++) {
            int at = member_index_below(&st, operand_id(&st, m, j), i);
            if (at >= 0)
                role[at] = EW_BEFORE;
        }
    }
    for (int i = 0; i < n && ok; i++) {
        const ir_node *m = k->members[i];
        if (role[i] == EW_AFTER)
            for (int j = 0; j < m->n_in; j++) {
                int at = member_index_below(&st, operand_id(&st, m, j), i);
                ok &= at < 0 || role[at] != EW_BEFORE;
            }
        if (role[i] == EW_MATH && member_index_below(&st, operand_id(&st, m, 0), i) < 0)
            ok &= cg_kernel_arg(k, m->in[0]) >= 0;
    }
    for (int o = 0; o < k->n_outs && ok; o++) {
        int at = member_index(&st, k->outs[o]);
        for (int a = 0; at >= 0 && role[at] == EW_BEFORE && a < k->n_args; a++)
            ok &= k->arg_out[a] < 0;
    }
    /* In id order. */
    for (int lo = 0, hi = bl->n - 1; lo < hi; lo++, hi--) {
        const ir_node *m = bl->math[lo];
        const char *fn = bl->fn[lo];
        bl->math[lo] = bl->math[hi];
        bl->math[hi] = m;
        bl->fn[lo] = bl->fn[hi];
        bl->fn[hi] = fn;
    }
    cg_ew_free(&e);
    free(st.ids);
    return ok && bl->n > 0;
}

/* Writes kernel k's loop (one axis, la) in blocks (bl, role: plan_blocks). */
static void emit_blocked(cg_ctx *c, const cg_kernel *k, const loop_axes *la, ew_blocks *bl,
                         const unsigned char *role)
{
    size_t n = (size_t)k->n_members, n_outs = (size_t)k->n_outs, n_args = (size_t)k->n_args;
    const ir_node **nodes = ir_malloc(2 * (n + n_outs) * sizeof *nodes);
    unsigned char *read = ir_calloc(2 * n_args + 1, 1);
    if (!nodes || !read) {
        free(nodes);
        free(read);
        c->t->failed = 1;
        return;
    }
    /* The loops before (half 0) and after (half 1) the calls: their members, outputs and
     * the operands they read. A math member is read after the calls, from its block;
     * what it reads is read before. */
    cg_kernel half[2] = {*k, *k};
    for (int h = 0; h < 2; h++) {
        half[h].members = nodes + (size_t)h * n;
        half[h].outs = nodes + 2 * n + (size_t)h * n_outs;
        half[h].n_members = half[h].n_outs = 0;
    }
    for (size_t i = 0; i < n; i++) {
        const ir_node *m = k->members[i];
        int h = role[i] != EW_BEFORE;
        half[h].members[half[h].n_members++] = m;
        for (int o = 0; o < k->n_outs; o++)
            if (k->outs[o] == m)
                half[h].outs[half[h].n_outs++] = m;
        for (int j = 0; j < m->n_in; j++)
            for (size_t a = 0; a < n_args; a++)
                if (m->in[j] == k->args[a])
                    read[(role[i] == EW_AFTER ? n_args : 0) + a] = 1;
    }
    char lo[CG_LIT_MAX + 2] = "lo", hi[CG_LIT_MAX + 2] = "hi";
    if (!c->split) {
        lo[0] = '0';
        lo[1] = 0;
        hi[ir_int_str(la->size[0], hi)] = 0;
    }
    cg_line(c, "for (long o0 = %s; o0 < %s; o0 += %d) {", lo, hi, CG_EW_BLOCK);
    c->indent++;
    cg_line(c, "const long e0 = %s - o0 < %d ? %s : o0 + %d;", hi, CG_EW_BLOCK, hi, CG_EW_BLOCK);
    for (int b = 0; b < bl->n; b++)
        cg_line(c, "float b%d[%d];", bl->math[b]->origin, CG_EW_BLOCK);
    for (int h = 0; h < 2; h++) {
        bl->before = h == 0;
        cg_line(c, "for (long i0 = o0; i0 < e0; i0++) {");
        c->indent++;
        load_args(c, k, la, 1u, 1, read + (size_t)h * n_args);
        emit_members(c, &half[h], la, bl);
        cg_loops_close(c, 1);
        for (int b = 0; h == 0 && b < bl->n; b++)
            cg_line(c, "%s(b%d, e0 - o0);", cg_rt(c, bl->fn[b]), bl->math[b]->origin);
    }
    cg_loops_close(c, 1);
    free(nodes);
    free(read);
}

void cg_elementwise(cg_ctx *c, const cg_kernel *k)
{
    loop_axes la;
    if (!c->plan) {
        cg_internal_error(c, "a fused kernel is written without its plan");
        return;
    }
    if (k->n_args > CG_MAX_ARGS) {
        cg_internal_error(c, "a fused kernel has %d operands, over CG_MAX_ARGS (%d)", k->n_args,
                          CG_MAX_ARGS);
        return;
    }
    plan_axes(k, &la);
    uint32_t all = (1u << la.n) - 1;
    load_args(c, k, &la, all, 0, NULL);
    ew_blocks bl;
    unsigned char *role = ir_malloc((size_t)k->n_members);
    int blocked = role ? plan_blocks(c, k, &la, &bl, role) : -1;
    if (blocked != 0) {
        if (blocked > 0)
            emit_blocked(c, k, &la, &bl, role);
        else
            c->t->failed = 1;
        free(role);
        return;
    }
    free(role);
    int loops = 0;
    if (c->split && la.n > 0) {
        /* A split kernel runs the iterations [lo, hi) of its outermost loop. */
        cg_line(c, "for (long i0 = lo; i0 < hi; i0++) {");
        c->indent++;
        loops = 1;
    }
    loops += cg_loops_open(c, "i", la.n, la.size, all & ~(uint32_t)(loops));
    load_args(c, k, &la, all, 1, NULL);
    emit_members(c, k, &la, NULL);
    cg_loops_close(c, loops);
}

/* The members of k on one side of its reduction r, as a kernel of their own (root and
 * operands k's): side 0 its producers (of r's operand's shape, before r), side 1 its
 * consumers (the others but r; r stays among the outputs when stored). read[a] is set
 * for the operands they read. The caller frees side->members (the outputs are in the
 * same block). 0, or -1 on OOM (the text is marked failed). */
static int kernel_side(cg_ctx *c, const cg_kernel *k, int consumers, cg_kernel *side,
                       unsigned char *read)
{
    const ir_node *r = k->reduction;
    *side = *k;
    side->members = ir_malloc(((size_t)k->n_members + (size_t)k->n_outs) * sizeof *side->members);
    if (!side->members) {
        c->t->failed = 1;
        return -1;
    }
    side->outs = side->members + k->n_members;
    side->n_members = side->n_outs = 0;
    for (int i = 0; i < k->n_members; i++) {
        const ir_node *m = k->members[i];
        if (m != r && (m->id > r->id || !ir_same_shape(m, r->in[0])) == consumers)
            side->members[side->n_members++] = m;
    }
    for (int o = 0; o < k->n_outs; o++) {
        const ir_node *m = k->outs[o];
        if ((m->id >= r->id || !ir_same_shape(m, r->in[0])) == consumers)
            side->outs[side->n_outs++] = m;
    }
    memset(read, 0, (size_t)k->n_args);
    for (int i = 0; i < side->n_members; i++)
        for (int j = 0; j < side->members[i]->n_in; j++)
            for (int a = 0; a < k->n_args; a++)
                read[a] |= k->args[a] == side->members[i]->in[j];
    return 0;
}

void cg_elementwise_producers(cg_ctx *c, const cg_kernel *k, uint32_t reduced, int inside)
{
    loop_axes la;
    cg_kernel producers;
    unsigned char read[CG_MAX_ARGS];
    const ir_node *r = k->reduction;
    if (!c->plan || !r || k->n_args > CG_MAX_ARGS) {
        cg_internal_error(c, "the producers of a reduction kernel are not its operand's");
        return;
    }
    if (kernel_side(c, k, 0, &producers, read) != 0)
        return;
    if (producers.n_members == 0 || producers.members[producers.n_members - 1] != r->in[0]) {
        cg_internal_error(c, "the producers of a reduction kernel are not its operand's");
        free(producers.members);
        return;
    }
    plan_axes_of(k, r->in[0]->rank, r->in[0]->shape, 0, &la);
    load_args(c, k, &la, reduced, inside, read);
    if (inside)
        emit_members(c, &producers, &la, NULL);
    free(producers.members);
}

void cg_elementwise_consumers(cg_ctx *c, const cg_kernel *k)
{
    loop_axes out, la;
    cg_kernel consumers;
    unsigned char read[CG_MAX_ARGS];
    const ir_node *r = k->reduction, *x = r ? r->in[0] : NULL;
    if (!c->plan || !r || k->n_args > CG_MAX_ARGS || !ir_same_shape(r, k->root)) {
        cg_internal_error(c, "the consumers of a reduction kernel are not of its output's shape");
        return;
    }
    if (kernel_side(c, k, 1, &consumers, read) != 0)
        return;
    /* The operands' strides over the output's axes, then over x's (the loop variables):
     * 0 along the reduced axes, whose loops are closed. */
    plan_axes_of(k, r->rank, r->shape, 0, &out);
    la.n = x->rank;
    for (int d = 0, od = 0; d < x->rank; d++) {
        int reduced = (r->attr.axes >> d) & 1u;
        la.size[d] = x->shape[d];
        for (int a = 0; a <= k->n_args; a++)
            la.stride[a][d] = reduced ? 0 : out.stride[a][od];
        od += !reduced || r->attr.keepdim;
    }
    /* An operand the producers read too is loaded in this scope already when it is
     * constant along the reduced axes: at the same index, the consumers read that load;
     * at another (broadcast differently), they load their own in a block. */
    cg_kernel producers;
    unsigned char both[CG_MAX_ARGS];
    int block = 0;
    if (kernel_side(c, k, 0, &producers, both) != 0) {
        free(consumers.members);
        return;
    }
    free(producers.members);
    plan_axes_of(k, x->rank, x->shape, 0, &out);
    for (int a = 0; a < k->n_args; a++) {
        if (!read[a] || !both[a])
            continue;
        int same = 1, outer = 1; /* the producers' load is the consumers' / before the loops */
        for (int d = 0; d < x->rank; d++) {
            same &= out.stride[a + 1][d] == la.stride[a + 1][d];
            outer &= !((r->attr.axes >> d) & 1u) || out.stride[a + 1][d] == 0;
        }
        read[a] = !same;
        block |= outer && !same;
    }
    if (block) {
        cg_line(c, "{");
        c->indent++;
    }
    load_args(c, k, &la, 0, 0, read); /* all it reads: none varies along no axis */
    emit_members(c, &consumers, &la, NULL);
    free(consumers.members);
    cg_loops_close(c, block);
}
