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

static void plan_axes(const cg_kernel *k, loop_axes *la)
{
    const ir_node *r = k->root;
    int64_t st[CG_MAX_ARGS + 1][NB_MAX_RANK];
    cg_strides(r->rank, r->shape, st[0]);
    for (int a = 0; a < k->n_args; a++) {
        const ir_node *x = k->args[a];
        int64_t own[NB_MAX_RANK];
        cg_strides(x->rank, x->shape, own);
        for (int d = 0; d < r->rank; d++) {
            int dd = d - (r->rank - x->rank);
            st[a + 1][d] = (dd < 0 || x->shape[dd] == 1) ? 0 : own[dd];
        }
    }
    la->n = 0;
    for (int d = 0; d < r->rank; d++) {
        if (r->shape[d] == 1)
            continue;
        int m = la->n;
        int merge = m > 0;
        for (int a = 0; a <= k->n_args && merge; a++)
            merge = la->stride[a][m - 1] == st[a][d] * r->shape[d];
        if (merge) {
            la->size[m - 1] *= r->shape[d];
            for (int a = 0; a <= k->n_args; a++)
                la->stride[a][m - 1] = st[a][d];
            continue;
        }
        la->size[m] = r->shape[d];
        for (int a = 0; a <= k->n_args; a++)
            la->stride[a][m] = st[a][d];
        la->n++;
    }
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

/* Copies stmt to out, renaming the identifiers a, b, c, d to names[0..3] and r to
 * result. Number literals (1.0f, 1e-05f) are copied whole so that their suffixes and
 * exponents are never taken for names. */
static void substitute(ir_text *out, const char *stmt, const char *const *names, const char *result)
{
    const char *s = stmt;
    while (*s) {
        const char *start = s;
        if ((*s >= '0' && *s <= '9') || (*s == '.' && s[1] >= '0' && s[1] <= '9')) {
            while (*s && (strchr("0123456789.xXabcdefABCDEFuUlL", *s) ||
                          ((*s == '+' || *s == '-') && (s[-1] == 'e' || s[-1] == 'E'))))
                s++;
            ir_text_printf(out, "%.*s", (int)(s - start), start);
        } else if (*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')) {
            while (*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                   (*s >= '0' && *s <= '9'))
                s++;
            int len = (int)(s - start);
            if (len == 1 && *start >= 'a' && *start <= 'd')
                ir_text_printf(out, "%s", names[*start - 'a']);
            else if (len == 1 && *start == 'r')
                ir_text_printf(out, "%s", result);
            else
                ir_text_printf(out, "%.*s", len, start);
        } else {
            ir_text_printf(out, "%c", *s++);
        }
    }
}

/* Writes member m as `const T t<id> = <expr>;` when its emitter wrote the single
 * statement `r = <expr>;`, and otherwise as a block that binds a, b, c, d and r. */
static void emit_member(cg_ctx *c, const cg_kernel *k, const ir_node *m)
{
    char bufs[4][72], result[32];
    const char *names[4] = {"a", "b", "c", "d"};
    for (int j = 0; j < m->n_in; j++)
        names[j] = value_of(c, k, m->in[j], bufs[j], sizeof bufs[j]);
    snprintf(result, sizeof result, "t%d", m->origin);

    ir_text stmt = {0}, *saved = c->t;
    int indent = c->indent;
    c->t = &stmt;
    c->indent = 0;
    cg_ew_emitter(m->op)(c, m);
    c->t = saved;
    c->indent = indent;
    if (stmt.failed || !stmt.buf) {
        c->t->failed = 1;
        free(stmt.buf);
        return;
    }
    size_t len = strlen(stmt.buf);
    int single = strncmp(stmt.buf, "r = ", 4) == 0 && len > 6 &&
                 strchr(stmt.buf, '\n') == stmt.buf + len - 1 && stmt.buf[len - 2] == ';';
    if (single) {
        ir_text expr = {0};
        stmt.buf[len - 2] = 0;
        substitute(&expr, stmt.buf + 4, names, result);
        cg_line(c, "const %s %s = %s;", cg_ctype(m->dtype), result, expr.buf ? expr.buf : "");
        c->t->failed |= expr.failed;
        free(expr.buf);
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
        c->t->failed = 1;
        return;
    }
    for (int i = 0; i < k->n_members; i++)
        if (k->members[i]->n_in > 4) {
            c->t->failed = 1;
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
    for (int i = 0; i < k->n_members; i++)
        emit_member(c, k, k->members[i]);
    /* Every load came first: a parameter updated in place is read before it is written. */
    cg_index(idx, sizeof idx, "i", la.n, la.stride[0]);
    for (int o = 0; o < k->n_outs; o++)
        cg_line(c, "%s[%s] = t%d;", out_name(k, o, ptr, sizeof ptr), idx, k->outs[o]->origin);
    cg_loops_close(c, loops);
}
