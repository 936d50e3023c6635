/* nb_graph_lex.c — the tokens of the graph text format (docs/graph-format.md): blanks,
 * words, integers, numbers, lists, types, values and names, each failing with the line and
 * column of what it expected. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nb_graph_lex.h"

/* Bytes of the longest number token read (a "%.17g" or "nan:0x<16 digits>" fits). */
#define LEX_NUMBER_MAX 64
/* Bytes of the input quoted in a message ("got '...'"). */
#define LEX_QUOTE_MAX 24

/* Records "line L, column C: <message>" for the byte at offset at (the first error
 * wins). Returns -1. */
int nb_lex_fail(nb_parser *p, size_t at, const char *fmt, ...)
{
    if (p->failed)
        return -1;
    p->failed = 1;
    char msg[NB_LEX_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (p->err && p->err_size)
        snprintf(p->err, p->err_size, "line %zu, column %zu: %s", p->line, at - p->line_start + 1,
                 msg);
    return -1;
}

int nb_lex_oom(nb_parser *p)
{
    return nb_lex_fail(p, p->pos, "out of memory");
}

/* Grows *arr (of *cap elements of size bytes) to hold need elements. 0 or -1 (OOM). */
int nb_lex_grow(nb_parser *p, void **arr, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    size_t bytes;
    if (ir_size_mul(n, size, &bytes) != 0)
        return nb_lex_oom(p);
    void *b = ir_realloc(*arr, bytes);
    if (!b)
        return nb_lex_oom(p);
    *arr = b;
    *cap = n;
    return 0;
}

static int is_word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Skips spaces, tabs, carriage returns and a comment ('#' to the end of the line). */
void nb_lex_skip_blank(nb_parser *p)
{
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\r'))
        p->pos++;
    if (p->pos < p->len && p->s[p->pos] == '#')
        while (p->pos < p->len && p->s[p->pos] != '\n')
            p->pos++;
}

int nb_lex_at_eol(nb_parser *p)
{
    nb_lex_skip_blank(p);
    return p->pos >= p->len || p->s[p->pos] == '\n';
}

/* What is at the current position, for "got ...": a quoted token, "the end of the line"
 * or "the end of the file". */
static const char *got(nb_parser *p, char *buf, size_t size)
{
    nb_lex_skip_blank(p);
    if (p->pos >= p->len)
        return "the end of the file";
    if (p->s[p->pos] == '\n')
        return "the end of the line";
    size_t n = 0;
    buf[n++] = '\'';
    for (size_t i = p->pos; i < p->len && n + 6 < size; i++) {
        unsigned char c = (unsigned char)p->s[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
            (i > p->pos && !is_word_char((char)c) && is_word_char(p->s[i - 1])))
            break;
        if (c < 0x20 || c >= 0x7f || c == '\'')
            n += (size_t)snprintf(buf + n, size - n, "\\x%02x", c);
        else
            buf[n++] = (char)c;
        if (i - p->pos + 1 >= LEX_QUOTE_MAX)
            break;
    }
    buf[n++] = '\'';
    buf[n] = 0;
    return buf;
}

/* Fails with "expected <what>, got <what is there>". */
int nb_lex_expected(nb_parser *p, const char *what)
{
    char buf[LEX_QUOTE_MAX * 4 + 8];
    const char *g = got(p, buf, sizeof buf);
    return nb_lex_fail(p, p->pos, "expected %s, got %s", what, g);
}

int nb_lex_expect_char(nb_parser *p, char c, const char *what)
{
    nb_lex_skip_blank(p);
    if (p->pos < p->len && p->s[p->pos] == c) {
        p->pos++;
        return 0;
    }
    return nb_lex_expected(p, what);
}

/* A word of [A-Za-z0-9_]; *n = 0 when there is none. */
const char *nb_lex_word(nb_parser *p, size_t *n)
{
    nb_lex_skip_blank(p);
    size_t start = p->pos;
    while (p->pos < p->len && is_word_char(p->s[p->pos]))
        p->pos++;
    *n = p->pos - start;
    return p->s + start;
}

int nb_lex_word_is(const char *w, size_t n, const char *s)
{
    return strlen(s) == n && memcmp(w, s, n) == 0;
}

/* A decimal integer, optionally negative, within int64. */
int nb_lex_read_int(nb_parser *p, int64_t *v, const char *what)
{
    nb_lex_skip_blank(p);
    size_t start = p->pos;
    int neg = p->pos < p->len && p->s[p->pos] == '-';
    if (neg)
        p->pos++;
    if (p->pos >= p->len || p->s[p->pos] < '0' || p->s[p->pos] > '9') {
        p->pos = start;
        return nb_lex_expected(p, what);
    }
    uint64_t u = 0;
    while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
        unsigned d = (unsigned)(p->s[p->pos] - '0');
        if (u > (UINT64_C(1) << 63) / 10 || u * 10 + d > (UINT64_C(1) << 63) - !neg)
            return nb_lex_fail(p, start, "%s is out of range", what);
        u = u * 10 + d;
        p->pos++;
    }
    if (p->pos < p->len && is_word_char(p->s[p->pos])) {
        p->pos = start;
        return nb_lex_expected(p, what);
    }
    *v = neg ? (int64_t)(0 - u) : (int64_t)u;
    return 0;
}

/* An int within [lo, hi]. */
int nb_lex_read_int_in(nb_parser *p, int64_t lo, int64_t hi, int64_t *v, const char *what)
{
    size_t at = (nb_lex_skip_blank(p), p->pos);
    if (nb_lex_read_int(p, v, what) != 0)
        return -1;
    if (*v < lo || *v > hi)
        return nb_lex_fail(p, at, "%s %lld is out of range [%lld, %lld]", what, (long long)*v,
                           (long long)lo, (long long)hi);
    return 0;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* "0x" and 1 to 16 hex digits: an unsigned 64-bit integer. */
int nb_lex_read_hex64(nb_parser *p, uint64_t *v, const char *what)
{
    size_t start = (nb_lex_skip_blank(p), p->pos);
    if (p->pos + 2 > p->len || p->s[p->pos] != '0' || p->s[p->pos + 1] != 'x')
        return nb_lex_expected(p, what);
    p->pos += 2;
    uint64_t u = 0;
    int n = 0;
    for (; p->pos < p->len && hex_digit(p->s[p->pos]) >= 0; p->pos++, n++)
        u = u << 4 | (uint64_t)hex_digit(p->s[p->pos]);
    if (n == 0 || n > 16 || (p->pos < p->len && is_word_char(p->s[p->pos]))) {
        p->pos = start;
        return nb_lex_expected(p, what);
    }
    *v = u;
    return 0;
}

/* A number as the writer writes it (decimal or hexadecimal floating point, inf, -inf,
 * nan, -nan, nan:0x<16 hex digits of the bits>). */
int nb_lex_read_number(nb_parser *p, double *v)
{
    nb_lex_skip_blank(p);
    size_t start = p->pos, n = 0;
    char buf[LEX_NUMBER_MAX];
    while (p->pos < p->len && (is_word_char(p->s[p->pos]) || strchr(".+-:", p->s[p->pos]))) {
        if (n + 1 >= sizeof buf)
            return nb_lex_fail(p, start, "a number is longer than %d bytes", LEX_NUMBER_MAX - 1);
        buf[n++] = p->s[p->pos++];
    }
    buf[n] = 0;
    const char *b = buf + (buf[0] == '-' || buf[0] == '+');
    if (strcmp(b, "inf") == 0 || strcmp(b, "nan") == 0) {
        *v = b[0] == 'i' ? INFINITY : NAN;
        *v = buf[0] == '-' ? -fabs(*v) : fabs(*v);
        return 0;
    }
    if (strncmp(buf, "nan:0x", 6) == 0 && n == 6 + 16) {
        uint64_t bits = 0;
        for (size_t i = 6; i < n; i++) {
            int d = hex_digit(buf[i]);
            if (d < 0)
                goto bad;
            bits = bits << 4 | (uint64_t)d;
        }
        memcpy(v, &bits, sizeof *v);
        if (!isnan(*v))
            return nb_lex_fail(p, start, "%s is not the bits of a NaN", buf);
        return 0;
    }
    if (*b < '0' || *b > '9')
        goto bad;
    char *end;
    *v = strtod(buf, &end);
    if (end != buf + n)
        goto bad;
    if (isinf(*v))
        return nb_lex_fail(p, start, "%s is out of the range of a double", buf);
    return 0;
bad:
    p->pos = start;
    return nb_lex_expected(p, "a number");
}

/* "[a, b, ...]" of at most NB_MAX_RANK integers into v; *n their count. */
int nb_lex_read_list(nb_parser *p, int64_t *v, int *n, const char *what)
{
    *n = 0;
    if (nb_lex_expect_char(p, '[', "'['") != 0)
        return -1;
    nb_lex_skip_blank(p);
    if (p->pos < p->len && p->s[p->pos] == ']') {
        p->pos++;
        return 0;
    }
    for (;;) {
        size_t at = (nb_lex_skip_blank(p), p->pos);
        int64_t x;
        if (nb_lex_read_int(p, &x, what) != 0)
            return -1;
        if (*n == NB_MAX_RANK)
            return nb_lex_fail(p, at, "more than %d entries in a list", NB_MAX_RANK);
        v[(*n)++] = x;
        nb_lex_skip_blank(p);
        if (p->pos < p->len && p->s[p->pos] == ']') {
            p->pos++;
            return 0;
        }
        if (nb_lex_expect_char(p, ',', "',' or ']'") != 0)
            return -1;
    }
}

static const char *const dtype_names[] = {"f32", "f64", "i32", "bool"};

int nb_lex_read_dtype(nb_parser *p, nb_dtype *dt)
{
    size_t n, at = (nb_lex_skip_blank(p), p->pos);
    const char *w = nb_lex_word(p, &n);
    for (int i = 0; i < 4; i++)
        if (nb_lex_word_is(w, n, dtype_names[i])) {
            *dt = (nb_dtype)i;
            return 0;
        }
    p->pos = at;
    return nb_lex_expected(p, "a dtype (f32, f64, i32, bool)");
}

/* "f32[2,3]": dtype, rank and dimensions (each at least 1, the product bounded). */
int nb_lex_read_type(nb_parser *p, nb_dtype *dt, int *rank, int64_t *shape)
{
    size_t at = (nb_lex_skip_blank(p), p->pos);
    if (nb_lex_read_dtype(p, dt) != 0)
        return -1;
    if (p->pos >= p->len || p->s[p->pos] != '[')
        return nb_lex_expected(p, "'[' and the dimensions of the type");
    if (nb_lex_read_list(p, shape, rank, "a dimension") != 0)
        return -1;
    for (int i = 0; i < *rank; i++)
        if (shape[i] < 1)
            return nb_lex_fail(p, at, "dimension %d is %lld; dimensions must be positive", i,
                               (long long)shape[i]);
    int64_t numel = ir_shape_numel(*rank, shape);
    if (numel < 0 || numel > IR_MAX_NUMEL)
        return nb_lex_fail(p, at, "the type has more than %lld elements", (long long)IR_MAX_NUMEL);
    return 0;
}

/* "{v, ...}" into p->vals, p->n_vals. */
int nb_lex_read_values(nb_parser *p)
{
    p->n_vals = 0;
    if (nb_lex_expect_char(p, '{', "'{' and a list of values") != 0)
        return -1;
    nb_lex_skip_blank(p);
    if (p->pos < p->len && p->s[p->pos] == '}') {
        p->pos++;
        return 0;
    }
    for (;;) {
        double v;
        if (nb_lex_read_number(p, &v) != 0)
            return -1;
        if (nb_lex_grow(p, (void **)&p->vals, &p->cap_vals, p->n_vals + 1, sizeof *p->vals) != 0)
            return -1;
        p->vals[p->n_vals++] = v;
        nb_lex_skip_blank(p);
        if (p->pos < p->len && p->s[p->pos] == '}') {
            p->pos++;
            return 0;
        }
        if (nb_lex_expect_char(p, ',', "',' or '}'") != 0)
            return -1;
    }
}

/* Checks the values read against a node of dtype dt and numel elements. */
int nb_lex_check_values(nb_parser *p, size_t at, nb_dtype dt, int64_t numel)
{
    if ((uint64_t)p->n_vals != (uint64_t)numel)
        return nb_lex_fail(p, at, "expected %lld values, got %zu", (long long)numel, p->n_vals);
    for (size_t i = 0; i < p->n_vals; i++) {
        if (!nb_format_value_fits(dt, p->vals[i]))
            return nb_lex_fail(p, at, "value %zu (%.17g) is not a value of %s", i, p->vals[i],
                               ir_dtype_name(dt));
        p->vals[i] = nb_format_value_round(dt, p->vals[i]);
    }
    return 0;
}

/* A name in double quotes with the writer's escapes, in new memory (*out). */
int nb_lex_read_string(nb_parser *p, char **out)
{
    if (nb_lex_expect_char(p, '"', "'\"' and a name") != 0)
        return -1;
    size_t start = p->pos, n = 0;
    /* The name is at most as long as its text: one allocation. */
    size_t end = start;
    while (end < p->len && p->s[end] != '"' && p->s[end] != '\n')
        end += p->s[end] == '\\' && end + 1 < p->len ? 2 : 1;
    char *s = ir_malloc(end - start + 1);
    if (!s)
        return nb_lex_oom(p);
    for (;;) {
        if (p->pos >= p->len || p->s[p->pos] == '\n') {
            free(s);
            return nb_lex_fail(p, p->pos, "expected '\"' to end the name, got %s",
                               p->pos >= p->len ? "the end of the file" : "the end of the line");
        }
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c == '"') {
            p->pos++;
            break;
        }
        if (c < 0x20 || c == 0x7f) {
            free(s);
            return nb_lex_fail(p, p->pos, "byte 0x%02x in a name must be escaped (\\x%02x)", c, c);
        }
        if (c != '\\') {
            s[n++] = (char)c;
            p->pos++;
            continue;
        }
        size_t at = p->pos;
        char e = p->pos + 1 < p->len ? p->s[p->pos + 1] : 0;
        p->pos += 2;
        if (e == '\\' || e == '"')
            s[n++] = e;
        else if (e == 'n')
            s[n++] = '\n';
        else if (e == 't')
            s[n++] = '\t';
        else if (e == 'r')
            s[n++] = '\r';
        else if (e == 'x' && p->pos + 1 < p->len && hex_digit(p->s[p->pos]) >= 0 &&
                 hex_digit(p->s[p->pos + 1]) >= 0) {
            int b = hex_digit(p->s[p->pos]) * 16 + hex_digit(p->s[p->pos + 1]);
            p->pos += 2;
            if (b == 0) {
                free(s);
                return nb_lex_fail(p, at, "a name cannot hold the byte 0 (\\x00)");
            }
            s[n++] = (char)b;
        } else {
            free(s);
            return nb_lex_fail(p, at, "expected an escape (\\\\, \\\", \\n, \\t, \\r, \\xNN)");
        }
    }
    s[n] = 0;
    *out = s;
    return 0;
}
