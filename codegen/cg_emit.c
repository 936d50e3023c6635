/* cg_emit.c — helpers that emitters use to write C: lines, types, literals, loops and
 * their axes. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"

/* Bytes of a libm function's name with its "f" and terminator. */
#define CG_FN_NAME_MAX 32
/* Whole-number literals below this are written without printf (cg_lit). */
#define CG_LIT_WHOLE_MAX 1e6

static const char *const cg_libm_names[] = {
#define CG_LIBM(fn, proto, exact) #fn,
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

/* Indents of up to this many levels are copied from a literal in one piece. */
#define CG_INDENT_MAX 15
static const char cg_spaces[4 * CG_INDENT_MAX + 1] =
    "                                                            ";

void cg_begin(cg_ctx *c)
{
    int indent = c->indent < 0 ? 0 : c->indent;
    for (; indent > CG_INDENT_MAX; indent -= CG_INDENT_MAX)
        ir_text_append(c->t, cg_spaces, 4 * CG_INDENT_MAX);
    ir_text_append(c->t, cg_spaces, 4 * (size_t)indent);
}

void cg_s(cg_ctx *c, const char *s)
{
    ir_text_puts(c->t, s);
}

void cg_i(cg_ctx *c, long long v)
{
    ir_text_int(c->t, v);
}

void cg_end(cg_ctx *c, const char *s)
{
    ir_text_puts(c->t, s);
    ir_text_putc(c->t, '\n');
}

void cg_line(cg_ctx *c, const char *fmt, ...)
{
    va_list ap;
    cg_begin(c);
    va_start(ap, fmt);
    ir_text_vprintf(c->t, fmt, ap);
    va_end(ap);
    ir_text_putc(c->t, '\n');
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
    char name[CG_FN_NAME_MAX];
    size_t len = strlen(base);
    if (len + 2 > sizeof name) {
        cg_internal_error(c, "function name '%s' is too long", base);
        return "missing_libm_function";
    }
    memcpy(name, base, len);
    if (dt == NB_F32)
        name[len++] = 'f';
    name[len] = 0;
    int own = cg_math_find(name);
    if (own >= 0) {
        c->math_used[own] = 1;
        return cg_math_name(own);
    }
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

/* printf formats of 6 to 17 significant digits, one per precision, not "%.*g": glibc
 * takes its slow positional path for a precision given as an argument. */
static const char *const cg_g_formats[] = {"%.6g",  "%.7g",  "%.8g",  "%.9g",  "%.10g", "%.11g",
                                           "%.12g", "%.13g", "%.14g", "%.15g", "%.16g", "%.17g"};
enum { FIRST_DIGITS = 6, LAST_DIGITS = 17 };

#ifdef __SIZEOF_INT128__
typedef unsigned __int128 cg_u128;

#define CG_LOG10_2 0.301029995663981195

/* Powers of ten up to 10^CG_POW10_MAX: 10^38 < 2^128. */
#define CG_POW10_MAX 38
static cg_u128 pow10_u128(int k)
{
    /* 10^0 .. 10^19 fit in 64 bits; above, one product of two of them. */
    static const uint64_t p64[] = {1ull,
                                   10ull,
                                   100ull,
                                   1000ull,
                                   10000ull,
                                   100000ull,
                                   1000000ull,
                                   10000000ull,
                                   100000000ull,
                                   1000000000ull,
                                   10000000000ull,
                                   100000000000ull,
                                   1000000000000ull,
                                   10000000000000ull,
                                   100000000000000ull,
                                   1000000000000000ull,
                                   10000000000000000ull,
                                   100000000000000000ull,
                                   1000000000000000000ull,
                                   10000000000000000000ull};
    enum { P64_MAX = 19 };
    if (k <= P64_MAX)
        return p64[k];
    return (cg_u128)p64[P64_MAX] * p64[k - P64_MAX];
}

/* round(|v| / 10^k) to nearest, ties to even, exactly (as printf rounds), with
 * |v| = m 2^e; -1 (as all ones) when the numbers do not fit in 128 bits. */
static cg_u128 scaled_round(uint64_t m, int e, int k)
{
    const cg_u128 none = ~(cg_u128)0;
    /* |v| / 10^k = num / den */
    cg_u128 num = m, den = 1;
    if (k < 0) {
        if (-k > CG_POW10_MAX - 16) /* m < 2^53 < 10^16 */
            return none;
        num *= pow10_u128(-k);
    } else {
        if (k > CG_POW10_MAX - 2)
            return none;
        den = pow10_u128(k);
    }
    if (e > 0) {
        if (e >= 127 || num > (none >> e))
            return none;
        num <<= e;
    } else if (e < 0) {
        if (-e >= 127 || den > (none >> -e) >> 1)
            return none;
        den <<= -e;
    }
    cg_u128 q = num / den, r = num % den;
    /* r < den < 2^127: 2r does not overflow */
    if (2 * r > den || (2 * r == den && (q & 1)))
        q++;
    return q;
}

/* The p significant digits of v as printf rounds them: |v| ~ d 10^(x - p + 1) with
 * 10^(p-1) <= d < 10^p, x the exponent of the first digit after rounding. The digits
 * are exact: |v| / 10^k is rounded from an exact quotient of integers. 0, or -1 when
 * v is out of the range this handles. */
static int decimal_digits(double v, int p, uint64_t *digits, int *exponent)
{
    if (v == 0 || !isfinite(v) || p < 1 || p > 17)
        return -1;
    int e2;
    double f = frexp(fabs(v), &e2); /* |v| = f 2^e2, f in [0.5, 1) */
    uint64_t m = (uint64_t)ldexp(f, 53);
    int e = e2 - 53;
    /* A guess of the exponent, at most one below it (|v| >= 2^(e2 - 1)): corrected
     * below. */
    int x = (int)floor((e2 - 1) * CG_LOG10_2);
    cg_u128 lo = pow10_u128(p - 1), hi = pow10_u128(p), d = 0;
    for (int tries = 0; tries < 4; tries++) {
        d = scaled_round(m, e, x - p + 1);
        if (d == ~(cg_u128)0)
            return -1;
        if (d >= hi)
            x++; /* the guess was low, or the rounding carried into a new digit */
        else if (d < lo)
            x--;
        else
            break;
    }
    if (d < lo || d >= hi)
        return -1;
    *digits = (uint64_t)d;
    *exponent = x;
    return 0;
}

/* Writes the p digits d of exponent x (decimal_digits) of a number of sign `negative`
 * as printf's "%.<p>g" writes them: trailing zeros and a bare point dropped, an
 * exponent when x < -4 or x >= p. Returns the length. */
static size_t format_g(char *buf, int negative, uint64_t d, int x, int p)
{
    char digits[20];
    for (int i = p - 1; i >= 0; i--) {
        digits[i] = (char)('0' + (int)(d % 10));
        d /= 10;
    }
    int q = p; /* digits kept: trailing zeros dropped */
    while (q > 1 && digits[q - 1] == '0')
        q--;
    size_t len = 0;
    if (negative)
        buf[len++] = '-';
    if (x < -4 || x >= p) {
        buf[len++] = digits[0];
        if (q > 1) {
            buf[len++] = '.';
            memcpy(buf + len, digits + 1, (size_t)q - 1);
            len += (size_t)q - 1;
        }
        buf[len++] = 'e';
        buf[len++] = x < 0 ? '-' : '+';
        int ax = x < 0 ? -x : x;
        if (ax < 10)
            buf[len++] = '0';
        len += ir_int_str(ax, buf + len);
    } else if (x >= 0) {
        for (int i = 0; i <= x; i++)
            buf[len++] = i < q ? digits[i] : '0';
        if (q > x + 1) {
            buf[len++] = '.';
            memcpy(buf + len, digits + x + 1, (size_t)(q - x - 1));
            len += (size_t)(q - x - 1);
        }
    } else {
        buf[len++] = '0';
        buf[len++] = '.';
        for (int i = 0; i < -x - 1; i++)
            buf[len++] = '0';
        memcpy(buf + len, digits, (size_t)q);
        len += (size_t)q;
    }
    buf[len] = 0;
    return len;
}

/* Powers of ten a double holds exactly. */
#define CG_EXACT_POW10 22

/* What strtod reads from the text of d 10^k (sign applied), without reading it:
 * when d < 2^53 and |k| <= 22 both factors are exact doubles and one multiplication
 * or division rounds once, as strtod does. 0 with *value set, or -1. */
static int decimal_value(int negative, uint64_t d, int k, double *value)
{
    static const double pow10[CG_EXACT_POW10 + 1] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    if (d >= (1ull << 53) || k > CG_EXACT_POW10 || k < -CG_EXACT_POW10)
        return -1;
    double r = k >= 0 ? (double)d * pow10[k] : (double)d / pow10[-k];
    *value = negative ? -r : r;
    return 0;
}

/* The shortest "%.<p>g" text, p from `digits` up to 17, whose value reads back as v
 * (as dt: an f32 compares after rounding to float). Returns the length. */
static size_t shortest_g(char *buf, nb_dtype dt, double v, int digits)
{
    for (;; digits++) {
        uint64_t d;
        int x;
        size_t len;
        double back;
        if (decimal_digits(v, digits, &d, &x) == 0) {
            len = format_g(buf, v < 0, d, x, digits);
            if (decimal_value(v < 0, d, x - digits + 1, &back) != 0)
                back = strtod(buf, NULL);
        } else {
            len = (size_t)snprintf(buf, CG_LIT_MAX, cg_g_formats[digits - FIRST_DIGITS], v);
            back = strtod(buf, NULL);
        }
        if ((dt == NB_F32 ? (float)back == (float)v : back == v) || digits >= LAST_DIGITS)
            return len;
    }
}
#else
/* Without 128-bit integers: the C library's digits. */
static size_t shortest_g(char *buf, nb_dtype dt, double v, int digits)
{
    for (;; digits++) {
        size_t len = (size_t)snprintf(buf, CG_LIT_MAX, cg_g_formats[digits - FIRST_DIGITS], v);
        double back = strtod(buf, NULL);
        if ((dt == NB_F32 ? (float)back == (float)v : back == v) || digits >= LAST_DIGITS)
            return len;
    }
}
#endif

size_t cg_lit(char *buf, nb_dtype dt, double v)
{
    const char *f = dt == NB_F32 ? "f" : "";
    if (dt == NB_I32 || dt == NB_BOOL)
        return ir_int_str((long long)v, buf);
    if (isnan(v))
        return (size_t)snprintf(buf, CG_LIT_MAX, "(0.0%s / 0.0%s)", f, f);
    if (isinf(v))
        return (size_t)snprintf(buf, CG_LIT_MAX, "(%s1.0%s / 0.0%s)", v < 0 ? "-" : "", f, f);
    /* Whole numbers below 10^6 print as %g prints them at any precision used below, so
     * the common 0, 1, 2, -1 need no printf. (-0 keeps its sign through %g.) */
    size_t len;
    if (fabs(v) < CG_LIT_WHOLE_MAX && v == (double)(long long)v && !(v == 0 && signbit(v))) {
        len = ir_int_str((long long)v, buf);
    } else {
        /* The shortest text that reads back to the same value, from 6 (f32) or 15 (f64)
         * significant digits on. */
        len = shortest_g(buf, dt, v, dt == NB_F32 ? 6 : 15);
    }
    if (!strpbrk(buf, ".eE")) {
        memcpy(buf + len, ".0", 3);
        len += 2;
    }
    if (dt == NB_F32) {
        memcpy(buf + len, "f", 2);
        len++;
    }
    return len;
}

void cg_lit_put(ir_text *t, nb_dtype dt, double v)
{
    char buf[CG_LIT_MAX];
    ir_text_append(t, buf, cg_lit(buf, dt, v));
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
        /* for (long i0 = 0; i0 < 12; i0++) { */
        cg_begin(c);
        cg_s(c, "for (long ");
        cg_s(c, var);
        cg_i(c, d);
        cg_s(c, " = 0; ");
        cg_s(c, var);
        cg_i(c, d);
        cg_s(c, " < ");
        cg_i(c, (long long)shape[d]);
        cg_s(c, "; ");
        cg_s(c, var);
        cg_i(c, d);
        cg_end(c, "++) {");
        c->indent++;
        count++;
    }
    return count;
}

void cg_loops_close(cg_ctx *c, int count)
{
    while (count-- > 0) {
        c->indent--;
        cg_begin(c);
        cg_end(c, "}");
    }
}

void cg_index(ir_text *t, int64_t off, const char *var, int rank, const int64_t *strides)
{
    int any = off != 0;
    if (off)
        ir_text_int(t, (long long)off);
    for (int d = 0; d < rank; d++) {
        if (strides[d] == 0)
            continue;
        if (any)
            ir_text_append(t, " + ", 3);
        any = 1;
        ir_text_puts(t, var);
        ir_text_int(t, d);
        if (strides[d] != 1) {
            ir_text_append(t, " * ", 3);
            ir_text_int(t, (long long)strides[d]);
        }
    }
    if (!any)
        ir_text_putc(t, '0');
}
