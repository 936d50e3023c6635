/* cg_emit.c — helpers that emitters use to write C: lines, types, literals, loops and
 * their axes. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"

static const char *const cg_libm_names[] = {
#define CG_LIBM(fn, proto) #fn,
#include "cg_libm.def"
#undef CG_LIBM
};

void cg_internal_error(cg_ctx *c, const char *fmt, ...)
{
    if (!c->internal[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->internal, sizeof c->internal, fmt, ap);
        va_end(ap);
    }
    if (c->t)
        c->t->failed = 1;
}

int cg_text_error(ir_graph *g, const cg_ctx *c)
{
    if (c->internal[0])
        return ir_error(g, "codegen: internal error: %s", c->internal);
    return ir_oom(g);
}

void cg_line(cg_ctx *c, const char *fmt, ...)
{
    char buf[CG_LINE_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof buf) {
        /* Only emitters write here and they write short lines: this is a bug. */
        cg_internal_error(c, "a generated line is over %d characters: %.60s...", CG_LINE_MAX, buf);
        return;
    }
    /* "%*s" takes glibc's slow positional path: copy the indent from a literal. */
    static const char spaces[] = "                                                            ";
    int indent = 4 * c->indent < (int)sizeof spaces - 1 ? 4 * c->indent : (int)sizeof spaces - 1;
    ir_text_printf(c->t, "%.*s%s\n", indent, spaces, buf);
}

const char *cg_ctype(nb_dtype dt)
{
    switch (dt) {
    case NB_F32: return "float";
    case NB_F64: return "double";
    case NB_I32: return "int";
    default: return "unsigned char";
    }
}

/* Finds name in names[0..n), marks it used and returns the table's copy; NULL when the
 * table (file `table`) does not list it: an emitter bug, an internal error. */
static const char *lookup(cg_ctx *c, const char *table, const char *const *names,
                          unsigned char *used, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(names[i], name) == 0) {
            used[i] = 1;
            return names[i];
        }
    }
    cg_internal_error(c, "function '%s' is not listed in %s", name, table);
    return NULL;
}

const char *cg_fn(cg_ctx *c, nb_dtype dt, const char *base)
{
    char name[32];
    snprintf(name, sizeof name, "%s%s", base, dt == NB_F32 ? "f" : "");
    const char *fn = lookup(c, "cg_libm.def", cg_libm_names, c->libm_used, CG_LIBM_COUNT, name);
    return fn ? fn : "missing_libm_function";
}

static const char *const cg_rt_names[] = {
#define CG_RT(fn, proto) #fn,
#include "cg_rt.def"
#undef CG_RT
};

const char *cg_rt(cg_ctx *c, const char *name)
{
    const char *fn = lookup(c, "cg_rt.def", cg_rt_names, c->rt_used, CG_RT_COUNT, name);
    return fn ? fn : "missing_runtime_kernel";
}

const char *cg_lit(cg_ctx *c, nb_dtype dt, double v)
{
    char *buf = c->lit[c->lit_next++ % 8];
    size_t size = sizeof c->lit[0];
    if (dt == NB_I32 || dt == NB_BOOL) {
        snprintf(buf, size, "%lld", (long long)v);
        return buf;
    }
    if (isnan(v)) {
        snprintf(buf, size, dt == NB_F32 ? "(0.0f / 0.0f)" : "(0.0 / 0.0)");
        return buf;
    }
    if (isinf(v)) {
        snprintf(buf, size, "(%s1.0%s / 0.0%s)", v < 0 ? "-" : "", dt == NB_F32 ? "f" : "",
                 dt == NB_F32 ? "f" : "");
        return buf;
    }
    /* The shortest text that reads back to the same value. */
    int digits = dt == NB_F32 ? 6 : 15;
    for (;; digits++) {
        snprintf(buf, size, "%.*g", digits, v);
        if (dt == NB_F32 ? (float)strtod(buf, NULL) == (float)v : strtod(buf, NULL) == v)
            break;
        if (digits >= 17)
            break;
    }
    if (!strpbrk(buf, ".eE"))
        strcat(buf, ".0");
    if (dt == NB_F32)
        strcat(buf, "f");
    return buf;
}

void cg_strides(int rank, const int64_t *shape, int64_t *strides)
{
    int64_t s = 1;
    for (int d = rank - 1; d >= 0; d--) {
        strides[d] = s;
        s *= shape[d];
    }
}

int cg_merge_axes(int rank, int64_t *size, int n_arrays, int64_t (*stride)[NB_MAX_RANK])
{
    /* In place: axis d is read before anything is written at d (r <= d throughout). */
    int r = 0;
    for (int d = 0; d < rank; d++) {
        if (size[d] == 1)
            continue;
        int merge = r > 0;
        for (int a = 0; a < n_arrays && merge; a++)
            merge = stride[a][r - 1] == stride[a][d] * size[d];
        if (merge) {
            size[r - 1] *= size[d];
            for (int a = 0; a < n_arrays; a++)
                stride[a][r - 1] = stride[a][d];
            continue;
        }
        size[r] = size[d];
        for (int a = 0; a < n_arrays; a++)
            stride[a][r] = stride[a][d];
        r++;
    }
    return r;
}

int cg_loops_open(cg_ctx *c, const char *var, int rank, const int64_t *shape, uint32_t axes)
{
    int count = 0;
    for (int d = 0; d < rank; d++) {
        if (!(axes & (1u << d)))
            continue;
        cg_line(c, "for (long %s%d = 0; %s%d < %lld; %s%d++) {", var, d, var, d,
                (long long)shape[d], var, d);
        c->indent++;
        count++;
    }
    return count;
}

void cg_loops_close(cg_ctx *c, int count)
{
    while (count-- > 0) {
        c->indent--;
        cg_line(c, "}");
    }
}

const char *cg_index(char *buf, size_t size, const char *var, int rank, const int64_t *strides)
{
    size_t len = 0;
    buf[0] = 0;
    for (int d = 0; d < rank && len + 1 < size; d++) {
        if (strides[d] == 0)
            continue;
        const char *plus = len ? " + " : "";
        if (strides[d] == 1)
            len += (size_t)snprintf(buf + len, size - len, "%s%s%d", plus, var, d);
        else
            len += (size_t)snprintf(buf + len, size - len, "%s%s%d * %lld", plus, var, d,
                                    (long long)strides[d]);
    }
    if (!len)
        snprintf(buf, size, "0");
    return buf;
}
