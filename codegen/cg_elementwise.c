/* cg_elementwise.c — the loop of an elementwise kernel: operands broadcast by strides,
 * adjacent axes merged, loop-invariant operands read once, and for fused kernels one
 * scalar block per member with intermediates kept in locals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"

/* Loop axes after merging: size and, per array (0 = output, 1.. = operands), stride. */
typedef struct loop_axes {
    int n;
    int64_t size[NB_MAX_RANK];
    int64_t stride[CG_MAX_ARGS + 1][NB_MAX_RANK];
} loop_axes;

/* The loop of kernel k: the root's axes, each array's stride along them (0 where an
 * operand is broadcast; a permuted view's strides walk its operand's memory), then
 * merged. */
static void plan_axes(const cg_kernel *k, loop_axes *la)
{
    const ir_node *r = k->root;
    cg_strides(r->rank, r->shape, la->stride[0]);
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
        for (int d = 0; d < r->rank; d++) {
            int dd = d - (r->rank - x->rank);
            la->stride[a + 1][d] = (dd < 0 || x->shape[dd] == 1) ? 0 : own[dd];
        }
    }
    for (int d = 0; d < r->rank; d++)
        la->size[d] = r->shape[d];
    la->n = cg_merge_axes(r->rank, la->size, k->n_args + 1, la->stride);
}

static int all_zero(const int64_t *s, int n)
{
    for (int i = 0; i < n; i++)
        if (s[i])
            return 0;
    return 1;
}

/* The local holding an operand's value inside the loop: v<arg> or t<member id>. */
/* How a member reads operand x: the literal of a scalar constant, the loaded
 * argument v<arg>, or the local t<id> of an earlier member. */
static const char *value_of(cg_ctx *c, const cg_kernel *k, const ir_node *x, char *buf, size_t size)
{
    if (cg_is_inlined(x)) {
        const char *lit = cg_lit(c, x->dtype, x->data[0]);
        snprintf(buf, size, lit[0] == '-' ? "(%s)" : "%s", lit);
        return buf;
    }
    for (int a = 0; a < k->n_args; a++)
        if (k->args[a] == x) {
            snprintf(buf, size, "v%d", a);
            return buf;
        }
    snprintf(buf, size, "t%d", x->origin);
    return buf;
}

/* Walks stmt token by token: number literals (1.0f, 1e-05f) whole, so that suffixes and
 * exponents are never taken for names. Copies it to out (when out is not NULL) with the
 * identifiers a, b, c, d renamed to names[0..3] and r to result, and counts in uses[]
 * how often each of a, b, c, d appears. */
static void substitute(ir_text *out, const char *stmt, const char *const *names, const char *result,
                       int *uses)
{
    const char *s = stmt;
    while (*s) {
        const char *start = s;
        if ((*s >= '0' && *s <= '9') || (*s == '.' && s[1] >= '0' && s[1] <= '9')) {
            while (*s && (strchr("0123456789.xXabcdefABCDEFuUlL", *s) ||
                          ((*s == '+' || *s == '-') && (s[-1] == 'e' || s[-1] == 'E'))))
                s++;
            if (out)
                ir_text_printf(out, "%.*s", (int)(s - start), start);
        } else if (*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')) {
            while (*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                   (*s >= '0' && *s <= '9'))
                s++;
            int len = (int)(s - start);
            if (len == 1 && *start >= 'a' && *start <= 'd') {
                if (uses)
                    uses[*start - 'a']++;
                if (out)
                    ir_text_printf(out, "%s", names[*start - 'a']);
            } else if (out && len == 1 && *start == 'r')
                ir_text_printf(out, "%s", result);
            else if (out)
                ir_text_printf(out, "%.*s", len, start);
        } else {
            if (out)
                ir_text_printf(out, "%c", *s);
            s++;
        }
    }
}

/* An expression not yet written: it goes into the one statement that reads it.
 * libtcc keeps every local in memory, so `y = a - s * (b / (sqrtf(c) + e))` runs about
 * twice as fast there as the same work through four locals. Depth and length are
 * bounded so that expressions stay readable (and far from libtcc's nesting limit). */
#define CG_INLINE_DEPTH 4
#define CG_INLINE_LENGTH 120

typedef struct pending {
    char *expr; /* NULL: written as the local t<id> */
    int depth;
} pending;

/* The kernel being written: its members' pending expressions and reader counts. */
typedef struct ew_state {
    cg_ctx *c;
    const cg_kernel *k;
    pending *p;   /* per member position */
    int *readers; /* per member position: uses as an operand of later members */
} ew_state;

static int member_index(const cg_kernel *k, const ir_node *x)
{
    for (int i = 0; i < k->n_members; i++)
        if (k->members[i] == x)
            return i;
    return -1;
}

static int is_stored(const cg_kernel *k, const ir_node *x)
{
    for (int o = 0; o < k->n_outs; o++)
        if (k->outs[o] == x)
            return 1;
    return 0;
}

/* A whole function call, "f(...)": needs no parentheses where it is used. */
static int is_call(const char *e)
{
    const char *p = e;
    while (*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
           (p > e && *p >= '0' && *p <= '9'))
        p++;
    if (p == e || *p != '(')
        return 0;
    int depth = 0;
    for (; *p; p++) {
        depth += (*p == '(') - (*p == ')');
        if (depth == 0)
            return p[1] == 0;
    }
    return 0;
}

/* Writes member i's pending expression as its local after all. */
static void flush(ew_state *st, int i)
{
    const ir_node *m = st->k->members[i];
    cg_line(st->c, "const %s t%d = %s;", cg_ctype(m->dtype), m->origin, st->p[i].expr);
    free(st->p[i].expr);
    st->p[i].expr = NULL;
}

/* Writes member i: as a pending expression when its emitter wrote the single statement
 * `r = <expr>;` and one later member reads it once, as `const T t<id> = <expr>;` when it
 * is stored or read more often, and otherwise as a block that binds a, b, c, d and r. */
static void emit_member(ew_state *st, int i)
{
    cg_ctx *c = st->c;
    const cg_kernel *k = st->k;
    const ir_node *m = k->members[i];
    char *names[4] = {0}, result[32];
    int uses[4] = {0}, depth = 0;
    snprintf(result, sizeof result, "t%d", m->origin);

    ir_text stmt = {0}, *saved = c->t;
    int indent = c->indent;
    c->t = &stmt;
    c->indent = 0;
    cg_ew_emitter(m->op)(c, m);
    c->t = saved;
    c->indent = indent;
    if (stmt.failed || !stmt.buf) {
        if (!stmt.failed)
            cg_internal_error(c, "the emitter of %s wrote nothing", ir_op_defs[m->op].name);
        c->t->failed = 1;
        free(stmt.buf);
        return;
    }
    size_t len = strlen(stmt.buf);
    int single = strncmp(stmt.buf, "r = ", 4) == 0 && len > 6 &&
                 strchr(stmt.buf, '\n') == stmt.buf + len - 1 && stmt.buf[len - 2] == ';';
    if (single)
        stmt.buf[len - 2] = 0;
    substitute(NULL, single ? stmt.buf + 4 : stmt.buf, NULL, NULL, uses);
    for (int j = 0; j < m->n_in; j++) {
        int at = member_index(k, m->in[j]);
        char buf[80];
        /* A pending operand read twice in one statement is computed once, as a local. */
        if (at >= 0 && st->p[at].expr && single && uses[j] > 1)
            flush(st, at);
        if (at >= 0 && st->p[at].expr) {
            size_t n = strlen(st->p[at].expr) + 3;
            names[j] = ir_malloc(n);
            if (names[j])
                snprintf(names[j], n, !single || is_call(st->p[at].expr) ? "%s" : "(%s)",
                         st->p[at].expr);
            if (st->p[at].depth + 1 > depth)
                depth = st->p[at].depth + 1;
            free(st->p[at].expr);
            st->p[at].expr = NULL;
        } else {
            names[j] = ir_strdup(value_of(c, k, m->in[j], buf, sizeof buf));
        }
        if (!names[j])
            c->t->failed = 1;
    }
    if (c->t->failed)
        goto done;
    if (single) {
        ir_text expr = {0};
        substitute(&expr, stmt.buf + 4, (const char *const *)names, result, NULL);
        c->t->failed |= expr.failed;
        if (expr.buf && st->readers[i] == 1 && !is_stored(k, m) && depth < CG_INLINE_DEPTH &&
            expr.len <= CG_INLINE_LENGTH) {
            st->p[i].expr = expr.buf;
            st->p[i].depth = depth;
        } else {
            cg_line(c, "const %s %s = %s;", cg_ctype(m->dtype), result, expr.buf ? expr.buf : "");
            free(expr.buf);
        }
    } else {
        cg_line(c, "%s %s;", cg_ctype(m->dtype), result);
        cg_line(c, "{");
        c->indent++;
        for (int j = 0; j < m->n_in; j++)
            cg_line(c, "const %s %c = %s;", cg_ctype(m->in[j]->dtype), 'a' + j, names[j]);
        cg_line(c, "%s r;", cg_ctype(m->dtype));
        for (char *line = strtok(stmt.buf, "\n"); line; line = strtok(NULL, "\n"))
            cg_line(c, "%s", line);
        cg_line(c, "%s = r;", result);
        c->indent--;
        cg_line(c, "}");
    }
done:
    for (int j = 0; j < 4; j++)
        free(names[j]);
    free(stmt.buf);
}

/* The pointer an output of the kernel is written through: y for the root, s<id> for
 * the other stored members. */
static const char *out_name(const cg_kernel *k, int o, char *buf, size_t size)
{
    if (o == k->n_outs - 1)
        snprintf(buf, size, "y");
    else
        snprintf(buf, size, "s%d", k->outs[o]->origin);
    return buf;
}

/* The pointer argument a is read through: x<a>, or the output whose memory it is. */
static const char *arg_name(const cg_kernel *k, int a, char *buf, size_t size)
{
    if (k->arg_out[a] >= 0)
        return out_name(k, k->arg_out[a], buf, size);
    snprintf(buf, size, "x%d", a);
    return buf;
}

void cg_elementwise(cg_ctx *c, const cg_kernel *k)
{
    loop_axes la;
    char idx[256], ptr[24];
    if (k->n_args > CG_MAX_ARGS) {
        cg_internal_error(c, "a fused kernel has %d operands, over CG_MAX_ARGS (%d)", k->n_args,
                          CG_MAX_ARGS);
        return;
    }
    for (int i = 0; i < k->n_members; i++)
        if (k->members[i]->n_in > 4) {
            cg_internal_error(c, "elementwise %s has %d operands, over 4",
                              ir_op_defs[k->members[i]->op].name, k->members[i]->n_in);
            return;
        }
    plan_axes(k, &la);
    /* Operands that do not vary in the loop are read once, before it. */
    for (int a = 0; a < k->n_args; a++)
        if (all_zero(la.stride[a + 1], la.n))
            cg_line(c, "const %s v%d = %s[0];", cg_ctype(k->args[a]->dtype), a,
                    arg_name(k, a, ptr, sizeof ptr));
    int loops = cg_loops_open(c, "i", la.n, la.size, (1u << la.n) - 1);
    for (int a = 0; a < k->n_args; a++)
        if (!all_zero(la.stride[a + 1], la.n))
            cg_line(c, "const %s v%d = %s[%s];", cg_ctype(k->args[a]->dtype), a,
                    arg_name(k, a, ptr, sizeof ptr),
                    cg_index(idx, sizeof idx, "i", la.n, la.stride[a + 1]));
    ew_state st = {c, k, ir_calloc((size_t)k->n_members, sizeof *st.p),
                   ir_calloc((size_t)k->n_members, sizeof *st.readers)};
    if (!st.p || !st.readers) {
        free(st.p);
        free(st.readers);
        c->t->failed = 1;
        return;
    }
    for (int i = 0; i < k->n_members; i++)
        for (int j = 0; j < k->members[i]->n_in; j++) {
            int at = member_index(k, k->members[i]->in[j]);
            if (at >= 0)
                st.readers[at]++;
        }
    for (int i = 0; i < k->n_members; i++)
        emit_member(&st, i);
    for (int i = 0; i < k->n_members; i++)
        free(st.p[i].expr); /* only after a failure: every pending one has its reader */
    free(st.p);
    free(st.readers);
    /* Every load came first: a parameter updated in place is read before it is written. */
    cg_index(idx, sizeof idx, "i", la.n, la.stride[0]);
    for (int o = 0; o < k->n_outs; o++)
        cg_line(c, "%s[%s] = t%d;", out_name(k, o, ptr, sizeof ptr), idx, k->outs[o]->origin);
    cg_loops_close(c, loops);
}
