/* nb_graph_parse.c — the reader of the graph text format (docs/graph-format.md): a
 * hand-written parser that rebuilds each node through the builders and shape rules,
 * names the line and column of every error, and never trusts a size it has not checked. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nb_format.h"

/* Bytes of the longest number token read (a "%.17g" or "nan:0x<16 digits>" fits). */
#define PARSE_NUMBER_MAX 64
/* Bytes of the input quoted in a message ("got '...'"). */
#define PARSE_QUOTE_MAX 24
/* Bytes of a message before its position is prefixed. */
#define PARSE_MSG_MAX 512

typedef struct parser {
    const char *s;
    size_t len, pos;
    size_t line, line_start; /* 1-based line number, offset of its first byte */
    char *err;
    size_t err_size;
    int failed;
    ir_graph *g;
    /* The file's node numbers, increasing, and the nodes they name (binary search). */
    struct parse_entry {
        int64_t id;
        ir_node *node;
    } * ids;
    size_t n_ids, cap_ids;
    int64_t last_id; /* -1 before the first node */
    nb_graph_extras x;
    size_t cap_outputs, cap_updates, cap_values;
    double *vals; /* the values of the list being read */
    size_t n_vals, cap_vals;
    ir_node **ins; /* the operands of the node being read */
    size_t n_ins, cap_ins;
    unsigned char *written; /* per node id: 1 = updated, 2 = given a value */
    size_t cap_written;
} parser;

/* Records "line L, column C: <message>" for the byte at offset at (the first error
 * wins). Returns -1. */
static int fail(parser *p, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(parser *p, size_t at, const char *fmt, ...)
{
    if (p->failed)
        return -1;
    p->failed = 1;
    char msg[PARSE_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (p->err && p->err_size)
        snprintf(p->err, p->err_size, "line %zu, column %zu: %s", p->line, at - p->line_start + 1,
                 msg);
    return -1;
}

static int oom(parser *p)
{
    return fail(p, p->pos, "out of memory");
}

/* Grows *arr (of *cap elements of size bytes) to hold need elements. 0 or -1 (OOM). */
static int grow(parser *p, void **arr, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    size_t bytes;
    if (ir_size_mul(n, size, &bytes) != 0)
        return oom(p);
    void *b = ir_realloc(*arr, bytes);
    if (!b)
        return oom(p);
    *arr = b;
    *cap = n;
    return 0;
}

static int is_word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Skips spaces, tabs, carriage returns and a comment ('#' to the end of the line). */
static void skip_blank(parser *p)
{
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\r'))
        p->pos++;
    if (p->pos < p->len && p->s[p->pos] == '#')
        while (p->pos < p->len && p->s[p->pos] != '\n')
            p->pos++;
}

static int at_eol(parser *p)
{
    skip_blank(p);
    return p->pos >= p->len || p->s[p->pos] == '\n';
}

/* What is at the current position, for "got ...": a quoted token, "the end of the line"
 * or "the end of the file". */
static const char *got(parser *p, char *buf, size_t size)
{
    skip_blank(p);
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
        if (i - p->pos + 1 >= PARSE_QUOTE_MAX)
            break;
    }
    buf[n++] = '\'';
    buf[n] = 0;
    return buf;
}

/* Fails with "expected <what>, got <what is there>". */
static int expected(parser *p, const char *what)
{
    char buf[PARSE_QUOTE_MAX * 4 + 8];
    const char *g = got(p, buf, sizeof buf);
    return fail(p, p->pos, "expected %s, got %s", what, g);
}

static int expect_char(parser *p, char c, const char *what)
{
    skip_blank(p);
    if (p->pos < p->len && p->s[p->pos] == c) {
        p->pos++;
        return 0;
    }
    return expected(p, what);
}

/* A word of [A-Za-z0-9_]; *n = 0 when there is none. */
static const char *word(parser *p, size_t *n)
{
    skip_blank(p);
    size_t start = p->pos;
    while (p->pos < p->len && is_word_char(p->s[p->pos]))
        p->pos++;
    *n = p->pos - start;
    return p->s + start;
}

static int word_is(const char *w, size_t n, const char *s)
{
    return strlen(s) == n && memcmp(w, s, n) == 0;
}

/* A decimal integer, optionally negative, within int64. */
static int read_int(parser *p, int64_t *v, const char *what)
{
    skip_blank(p);
    size_t start = p->pos;
    int neg = p->pos < p->len && p->s[p->pos] == '-';
    if (neg)
        p->pos++;
    if (p->pos >= p->len || p->s[p->pos] < '0' || p->s[p->pos] > '9') {
        p->pos = start;
        return expected(p, what);
    }
    uint64_t u = 0;
    while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
        unsigned d = (unsigned)(p->s[p->pos] - '0');
        if (u > (UINT64_C(1) << 63) / 10 || u * 10 + d > (UINT64_C(1) << 63) - !neg)
            return fail(p, start, "%s is out of range", what);
        u = u * 10 + d;
        p->pos++;
    }
    if (p->pos < p->len && is_word_char(p->s[p->pos])) {
        p->pos = start;
        return expected(p, what);
    }
    *v = neg ? (int64_t)(0 - u) : (int64_t)u;
    return 0;
}

/* An int within [lo, hi]. */
static int read_int_in(parser *p, int64_t lo, int64_t hi, int64_t *v, const char *what)
{
    size_t at = (skip_blank(p), p->pos);
    if (read_int(p, v, what) != 0)
        return -1;
    if (*v < lo || *v > hi)
        return fail(p, at, "%s %lld is out of range [%lld, %lld]", what, (long long)*v,
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
static int read_hex64(parser *p, uint64_t *v, const char *what)
{
    size_t start = (skip_blank(p), p->pos);
    if (p->pos + 2 > p->len || p->s[p->pos] != '0' || p->s[p->pos + 1] != 'x')
        return expected(p, what);
    p->pos += 2;
    uint64_t u = 0;
    int n = 0;
    for (; p->pos < p->len && hex_digit(p->s[p->pos]) >= 0; p->pos++, n++)
        u = u << 4 | (uint64_t)hex_digit(p->s[p->pos]);
    if (n == 0 || n > 16 || (p->pos < p->len && is_word_char(p->s[p->pos]))) {
        p->pos = start;
        return expected(p, what);
    }
    *v = u;
    return 0;
}

/* A number as the writer writes it (decimal or hexadecimal floating point, inf, -inf,
 * nan, -nan, nan:0x<16 hex digits of the bits>). */
static int read_number(parser *p, double *v)
{
    skip_blank(p);
    size_t start = p->pos, n = 0;
    char buf[PARSE_NUMBER_MAX];
    while (p->pos < p->len && (is_word_char(p->s[p->pos]) || strchr(".+-:", p->s[p->pos]))) {
        if (n + 1 >= sizeof buf)
            return fail(p, start, "a number is longer than %d bytes", PARSE_NUMBER_MAX - 1);
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
            return fail(p, start, "%s is not the bits of a NaN", buf);
        return 0;
    }
    if (*b < '0' || *b > '9')
        goto bad;
    char *end;
    *v = strtod(buf, &end);
    if (end != buf + n)
        goto bad;
    if (isinf(*v))
        return fail(p, start, "%s is out of the range of a double", buf);
    return 0;
bad:
    p->pos = start;
    return expected(p, "a number");
}

/* "[a, b, ...]" of at most NB_MAX_RANK integers into v; *n their count. */
static int read_list(parser *p, int64_t *v, int *n, const char *what)
{
    *n = 0;
    if (expect_char(p, '[', "'['") != 0)
        return -1;
    skip_blank(p);
    if (p->pos < p->len && p->s[p->pos] == ']') {
        p->pos++;
        return 0;
    }
    for (;;) {
        size_t at = (skip_blank(p), p->pos);
        int64_t x;
        if (read_int(p, &x, what) != 0)
            return -1;
        if (*n == NB_MAX_RANK)
            return fail(p, at, "more than %d entries in a list", NB_MAX_RANK);
        v[(*n)++] = x;
        skip_blank(p);
        if (p->pos < p->len && p->s[p->pos] == ']') {
            p->pos++;
            return 0;
        }
        if (expect_char(p, ',', "',' or ']'") != 0)
            return -1;
    }
}

static const char *const dtype_names[] = {"f32", "f64", "i32", "bool"};

static int read_dtype(parser *p, nb_dtype *dt)
{
    size_t n, at = (skip_blank(p), p->pos);
    const char *w = word(p, &n);
    for (int i = 0; i < 4; i++)
        if (word_is(w, n, dtype_names[i])) {
            *dt = (nb_dtype)i;
            return 0;
        }
    p->pos = at;
    return expected(p, "a dtype (f32, f64, i32, bool)");
}

/* "f32[2,3]": dtype, rank and dimensions (each at least 1, the product bounded). */
static int read_type(parser *p, nb_dtype *dt, int *rank, int64_t *shape)
{
    size_t at = (skip_blank(p), p->pos);
    if (read_dtype(p, dt) != 0)
        return -1;
    if (p->pos >= p->len || p->s[p->pos] != '[')
        return expected(p, "'[' and the dimensions of the type");
    if (read_list(p, shape, rank, "a dimension") != 0)
        return -1;
    for (int i = 0; i < *rank; i++)
        if (shape[i] < 1)
            return fail(p, at, "dimension %d is %lld; dimensions must be positive", i,
                        (long long)shape[i]);
    int64_t numel = ir_shape_numel(*rank, shape);
    if (numel < 0 || numel > IR_MAX_NUMEL)
        return fail(p, at, "the type has more than %lld elements", (long long)IR_MAX_NUMEL);
    return 0;
}

/* "{v, ...}" into p->vals, p->n_vals. */
static int read_values(parser *p)
{
    p->n_vals = 0;
    if (expect_char(p, '{', "'{' and a list of values") != 0)
        return -1;
    skip_blank(p);
    if (p->pos < p->len && p->s[p->pos] == '}') {
        p->pos++;
        return 0;
    }
    for (;;) {
        double v;
        if (read_number(p, &v) != 0)
            return -1;
        if (grow(p, (void **)&p->vals, &p->cap_vals, p->n_vals + 1, sizeof *p->vals) != 0)
            return -1;
        p->vals[p->n_vals++] = v;
        skip_blank(p);
        if (p->pos < p->len && p->s[p->pos] == '}') {
            p->pos++;
            return 0;
        }
        if (expect_char(p, ',', "',' or '}'") != 0)
            return -1;
    }
}

/* Checks the values read against a node of dtype dt and numel elements. */
static int check_values(parser *p, size_t at, nb_dtype dt, int64_t numel)
{
    if ((uint64_t)p->n_vals != (uint64_t)numel)
        return fail(p, at, "expected %lld values, got %zu", (long long)numel, p->n_vals);
    for (size_t i = 0; i < p->n_vals; i++) {
        if (!nb_format_value_fits(dt, p->vals[i]))
            return fail(p, at, "value %zu (%.17g) is not a value of %s", i, p->vals[i],
                        ir_dtype_name(dt));
        p->vals[i] = nb_format_value_round(dt, p->vals[i]);
    }
    return 0;
}

/* A name in double quotes with the writer's escapes, in new memory (*out). */
static int read_string(parser *p, char **out)
{
    if (expect_char(p, '"', "'\"' and a name") != 0)
        return -1;
    size_t start = p->pos, n = 0;
    /* The name is at most as long as its text: one allocation. */
    size_t end = start;
    while (end < p->len && p->s[end] != '"' && p->s[end] != '\n')
        end += p->s[end] == '\\' && end + 1 < p->len ? 2 : 1;
    char *s = ir_malloc(end - start + 1);
    if (!s)
        return oom(p);
    for (;;) {
        if (p->pos >= p->len || p->s[p->pos] == '\n') {
            free(s);
            return fail(p, p->pos, "expected '\"' to end the name, got %s",
                        p->pos >= p->len ? "the end of the file" : "the end of the line");
        }
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c == '"') {
            p->pos++;
            break;
        }
        if (c < 0x20 || c == 0x7f) {
            free(s);
            return fail(p, p->pos, "byte 0x%02x in a name must be escaped (\\x%02x)", c, c);
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
                return fail(p, at, "a name cannot hold the byte 0 (\\x00)");
            }
            s[n++] = (char)b;
        } else {
            free(s);
            return fail(p, at, "expected an escape (\\\\, \\\", \\n, \\t, \\r, \\xNN)");
        }
    }
    s[n] = 0;
    *out = s;
    return 0;
}

/* The node the file numbers id, or NULL. */
static ir_node *lookup(const parser *p, int64_t id)
{
    size_t lo = 0, hi = p->n_ids;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->ids[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < p->n_ids && p->ids[lo].id == id ? p->ids[lo].node : NULL;
}

/* "%N" naming a node defined above. */
static int read_ref(parser *p, ir_node **n)
{
    size_t at = (skip_blank(p), p->pos);
    int64_t id;
    if (expect_char(p, '%', "'%' and a node number") != 0 || read_int(p, &id, "a node number") != 0)
        return -1;
    if (!(*n = lookup(p, id)))
        return fail(p, at, "node %%%lld is not defined above", (long long)id);
    return 0;
}

/* Marks node n with flag in p->written; 1 when it was marked already. -1 on OOM. */
static int mark(parser *p, const ir_node *n, unsigned char flag)
{
    size_t old = p->cap_written;
    if (grow(p, (void **)&p->written, &p->cap_written, (size_t)n->id + 1, 1) != 0)
        return -1;
    memset(p->written + old, 0, p->cap_written - old);
    int was = (p->written[n->id] & flag) != 0;
    p->written[n->id] |= flag;
    return was;
}

/* The attributes of a node line, as read. */
typedef struct node_line {
    ir_attr attr;
    char *name;
    uint64_t seen; /* keys given (NB_KEY_BIT) */
} node_line;

/* Reads "=value" of key k into l. */
static int read_attr(parser *p, nb_format_key k, node_line *l)
{
    ir_attr *a = &l->attr;
    int64_t list[NB_MAX_RANK], v;
    int n;
    size_t at = (skip_blank(p), p->pos);
    switch (k) {
    case NB_KEY_SHAPE:
        if (read_list(p, a->target.shape, &a->target.rank, "a dimension") != 0)
            return -1;
        return 0;
    case NB_KEY_PERM:
        if (read_list(p, list, &n, "an axis") != 0)
            return -1;
        a->permute.rank = n;
        for (int i = 0; i < n; i++) {
            if (list[i] < -NB_MAX_RANK || list[i] > NB_MAX_RANK)
                return fail(p, at, "axis %lld is out of range", (long long)list[i]);
            a->permute.perm[i] = (int)list[i];
        }
        return 0;
    case NB_KEY_START:
    case NB_KEY_STOP:
    case NB_KEY_STEP: {
        int64_t *dst = k == NB_KEY_START  ? a->slice.start
                       : k == NB_KEY_STOP ? a->slice.stop
                                          : a->slice.step;
        if (read_list(p, dst, &n, "an index") != 0)
            return -1;
        if ((l->seen &
             (NB_KEY_BIT(NB_KEY_START) | NB_KEY_BIT(NB_KEY_STOP) | NB_KEY_BIT(NB_KEY_STEP))) &&
            n != a->slice.rank)
            return fail(p, at, "expected %d entries like the other lists of the slice, got %d",
                        a->slice.rank, n);
        a->slice.rank = n;
        return 0;
    }
    case NB_KEY_AXES:
        if (read_list(p, list, &n, "an axis") != 0)
            return -1;
        for (int i = 0; i < n; i++) {
            if (list[i] < 0 || list[i] >= NB_MAX_RANK)
                return fail(p, at, "axis %lld is out of range [0, %d)", (long long)list[i],
                            NB_MAX_RANK);
            if (a->axes & (1u << list[i]))
                return fail(p, at, "axis %lld is listed twice", (long long)list[i]);
            a->axes |= 1u << list[i];
        }
        return 0;
    case NB_KEY_KEEPDIM:
    case NB_KEY_TRANS_A:
    case NB_KEY_TRANS_B:
    case NB_KEY_REVERSE:
        if (read_int_in(p, 0, 1, &v, "a flag (0 or 1)") != 0)
            return -1;
        *(k == NB_KEY_KEEPDIM   ? &a->keepdim
          : k == NB_KEY_TRANS_A ? &a->trans_a
          : k == NB_KEY_TRANS_B ? &a->trans_b
                                : &a->reverse) = (int)v;
        return 0;
    case NB_KEY_AXIS:
        if (read_int_in(p, -NB_MAX_RANK, NB_MAX_RANK, &v, "an axis") != 0)
            return -1;
        a->axis = (int)v;
        return 0;
    case NB_KEY_CLASSES:
        if (read_int_in(p, 1, INT32_MAX, &v, "a class count") != 0)
            return -1;
        a->k = (int)v;
        return 0;
    case NB_KEY_DTYPE: return read_dtype(p, &a->dt);
    case NB_KEY_LO:
    case NB_KEY_SLOPE:
    case NB_KEY_ALPHA:
    case NB_KEY_EPS: return read_number(p, &a->f[0]);
    case NB_KEY_HI: return read_number(p, &a->f[1]);
    case NB_KEY_PAD_LO:
    case NB_KEY_PAD_HI: {
        if (read_list(p, k == NB_KEY_PAD_LO ? a->pad.lo : a->pad.hi, &n, "a pad") != 0)
            return -1;
        if ((l->seen & ((1u << NB_KEY_PAD_LO) | (1u << NB_KEY_PAD_HI))) && n != a->pad.rank)
            return fail(p, at, "expected %d entries like the other list of the pad, got %d",
                        a->pad.rank, n);
        a->pad.rank = n;
        return 0;
    }
    case NB_KEY_MODE: {
        size_t wn;
        const char *w = word(p, &wn);
        if (word_is(w, wn, "constant") || word_is(w, wn, "reflect")) {
            a->pad.reflect = word_is(w, wn, "reflect");
            return 0;
        }
        p->pos = at;
        return expected(p, "a pad mode (constant, reflect)");
    }
    case NB_KEY_VALUE: return read_number(p, &a->f[0]);
    case NB_KEY_KIND: {
        size_t wn;
        const char *w = word(p, &wn);
        for (int kind = 0; kind < 3; kind++)
            if (nb_format_kind_name(kind) && word_is(w, wn, nb_format_kind_name(kind))) {
                a->k = kind;
                return 0;
            }
        p->pos = at;
        return expected(p, "a parameter kind (model, optimizer, grad)");
    }
    case NB_KEY_VALUES: return read_values(p);
    case NB_KEY_KERNEL:
    case NB_KEY_STRIDE:
    case NB_KEY_DILATION:
    case NB_KEY_PADDING: {
        /* Values are checked by the op's shape rule; here only their count and range. */
        int want = k == NB_KEY_PADDING ? 4 : 2;
        if (read_list(p, list, &n, "a size") != 0)
            return -1;
        if (n != want)
            return fail(p, at, "expected %d entries, got %d", want, n);
        for (int i = 0; i < n; i++)
            if (list[i] < 0 || list[i] > INT32_MAX)
                return fail(p, at, "%lld is out of range [0, %d]", (long long)list[i], INT32_MAX);
        int64_t *dst = k == NB_KEY_KERNEL   ? a->window.kernel
                       : k == NB_KEY_STRIDE ? a->window.stride
                                            : a->window.dilation;
        if (k == NB_KEY_PADDING) {
            memcpy(a->window.pad_lo, list, sizeof a->window.pad_lo);
            memcpy(a->window.pad_hi, list + 2, sizeof a->window.pad_hi);
        } else
            memcpy(dst, list, 2 * sizeof *dst);
        return 0;
    }
    case NB_KEY_GROUPS:
        if (read_int_in(p, 1, INT32_MAX, &v, "a group count") != 0)
            return -1;
        a->window.groups = (int)v;
        return 0;
    case NB_KEY_CEIL_MODE:
    case NB_KEY_COUNT_INCLUDE_PAD:
        if (read_int_in(p, 0, 1, &v, "a flag (0 or 1)") != 0)
            return -1;
        *(k == NB_KEY_CEIL_MODE ? &a->window.ceil_mode : &a->window.count_include_pad) = (int)v;
        return 0;
    case NB_KEY_DIVISOR_OVERRIDE:
        if (read_int_in(p, 0, INT32_MAX, &v, "a divisor (0 for none)") != 0)
            return -1;
        a->window.divisor = v;
        return 0;
    case NB_KEY_SEED: return read_hex64(p, &a->random.seed, "a seed (0x and 1 to 16 hex digits)");
    case NB_KEY_OFFSET:
        if (read_int_in(p, 0, INT64_MAX, &v, "a counter offset") != 0)
            return -1;
        a->random.offset = v;
        return 0;
    case NB_KEY_NAME:
        free(l->name);
        l->name = NULL;
        return read_string(p, &l->name);
    case NB_KEY_COUNT: break;
    }
    return fail(p, at, "unknown attribute");
}

/* Builds the node of a line through the builders; NULL with the graph's error. */
static ir_node *build(parser *p, ir_op op, nb_dtype dt, int rank, const int64_t *shape,
                      node_line *l)
{
    ir_graph *g = p->g;
    ir_node *n;
    if (op == IR_OP_INPUT || op == IR_OP_PARAM) {
        n = op == IR_OP_INPUT ? nb_input(g, l->name, dt, rank, shape)
                              : nb_param(g, l->name, dt, rank, shape);
        if (n && op == IR_OP_PARAM)
            n->attr.k = l->attr.k;
        return n;
    }
    if (op == IR_OP_CONST)
        n = nb_constant(g, dt, rank, shape, p->vals ? p->vals : (const double[1]){0});
    else
        n = ir_node_new(g, op, p->ins, (int)p->n_ins, &l->attr);
    if (n && l->name)
        n = nb_name(g, n, l->name);
    return n;
}

/* "%N = op type (operands) key=value ..." */
static int parse_node(parser *p)
{
    size_t line_at = p->pos;
    int64_t id;
    if (expect_char(p, '%', "'%'") != 0)
        return -1;
    size_t at = p->pos;
    if (read_int(p, &id, "a node number") != 0)
        return -1;
    if (id <= p->last_id)
        return fail(p, at, "node numbers must increase: %%%lld follows %%%lld", (long long)id,
                    (long long)p->last_id);
    if (expect_char(p, '=', "'='") != 0)
        return -1;
    size_t wn;
    at = (skip_blank(p), p->pos);
    const char *w = word(p, &wn);
    int op = 0;
    while (op < IR_OP_COUNT && !word_is(w, wn, ir_op_defs[op].name))
        op++;
    if (op == IR_OP_COUNT) {
        p->pos = at;
        return expected(p, "an op name");
    }
    const ir_op_def *def = &ir_op_defs[op];
    nb_dtype dt = NB_F32; /* set by read_type; gcc -O3 cannot tell */
    int rank;
    int64_t shape[NB_MAX_RANK];
    size_t type_at = (skip_blank(p), p->pos);
    if (read_type(p, &dt, &rank, shape) != 0)
        return -1;
    p->n_ins = 0;
    if (def->arity != 0) {
        if (expect_char(p, '(', "'(' and the operands") != 0)
            return -1;
        for (;;) {
            ir_node *in;
            if (read_ref(p, &in) != 0)
                return -1;
            if (grow(p, (void **)&p->ins, &p->cap_ins, p->n_ins + 1, sizeof *p->ins) != 0)
                return -1;
            p->ins[p->n_ins++] = in;
            skip_blank(p);
            if (p->pos < p->len && p->s[p->pos] == ')') {
                if (def->arity > 0 && p->n_ins != (size_t)def->arity)
                    return fail(p, p->pos, "%s takes %d operands, got %zu", def->name, def->arity,
                                p->n_ins);
                p->pos++;
                break;
            }
            if (expect_char(p, ',', "',' or ')'") != 0)
                return -1;
        }
    }
    node_line l = {0};
    uint64_t keys = nb_format_op_keys[op] | NB_KEY_BIT(NB_KEY_NAME);
    int rc = -1;
    p->n_vals = 0;
    while (!at_eol(p)) {
        at = p->pos;
        w = word(p, &wn);
        int k = 0;
        while (k < NB_KEY_COUNT && !word_is(w, wn, nb_format_key_names[k]))
            k++;
        if (k == NB_KEY_COUNT || !(keys & NB_KEY_BIT(k))) {
            p->pos = at;
            char what[PARSE_MSG_MAX / 2];
            size_t len = (size_t)snprintf(what, sizeof what, "an attribute of %s (", def->name);
            for (int j = 0; j < NB_KEY_COUNT && len < sizeof what; j++)
                if (keys & NB_KEY_BIT(j))
                    len += (size_t)snprintf(what + len, sizeof what - len, "%s%s",
                                            nb_format_key_names[j], j == NB_KEY_NAME ? ")" : ", ");
            expected(p, what);
            goto done;
        }
        if (l.seen & NB_KEY_BIT(k)) {
            fail(p, at, "attribute '%s' is given twice", nb_format_key_names[k]);
            goto done;
        }
        if (expect_char(p, '=', "'='") != 0 || read_attr(p, (nb_format_key)k, &l) != 0)
            goto done;
        l.seen |= NB_KEY_BIT(k);
    }
    for (int k = 0; k < NB_KEY_NAME; k++)
        if ((keys & NB_KEY_BIT(k)) && !(l.seen & NB_KEY_BIT(k))) {
            fail(p, p->pos, "expected attribute '%s' of %s", nb_format_key_names[k], def->name);
            goto done;
        }
    if (op == IR_OP_CONST && check_values(p, type_at, dt, ir_shape_numel(rank, shape)) != 0)
        goto done;
    ir_node *n = build(p, (ir_op)op, dt, rank, shape, &l);
    if (!n) {
        fail(p, line_at, "%s", p->g->error ? p->g->error : "out of memory");
        goto done;
    }
    char t[IR_TYPE_STR_MAX], u[IR_TYPE_STR_MAX];
    if (n->dtype != dt || n->rank != rank ||
        memcmp(n->shape, shape, (size_t)rank * sizeof *shape)) {
        fail(p, type_at, "%s: the file says %s, the operands give %s", def->name,
             ir_format_type(dt, rank, shape, t, sizeof t), ir_type_str(n, u, sizeof u));
        goto done;
    }
    if (grow(p, (void **)&p->ids, &p->cap_ids, p->n_ids + 1, sizeof *p->ids) != 0)
        goto done;
    p->ids[p->n_ids].id = id;
    p->ids[p->n_ids++].node = n;
    p->last_id = id;
    rc = 0;
done:
    free(l.name);
    return rc;
}

/* "output %N" */
static int parse_output(parser *p)
{
    ir_node *n;
    if (read_ref(p, &n) != 0)
        return -1;
    if (grow(p, (void **)&p->x.outputs, &p->cap_outputs, (size_t)p->x.n_outputs + 1,
             sizeof *p->x.outputs) != 0)
        return -1;
    p->x.outputs[p->x.n_outputs++] = n;
    return 0;
}

/* "update %P <- %V" */
static int parse_update(parser *p)
{
    ir_node *param, *value;
    size_t at = (skip_blank(p), p->pos);
    if (read_ref(p, &param) != 0)
        return -1;
    if (param->op != IR_OP_PARAM)
        return fail(p, at, "expected a parameter, node %%%d is %s", param->id,
                    ir_op_defs[param->op].name);
    skip_blank(p);
    if (p->pos + 1 >= p->len || p->s[p->pos] != '<' || p->s[p->pos + 1] != '-')
        return expected(p, "'<-'");
    p->pos += 2;
    size_t vat = (skip_blank(p), p->pos);
    if (read_ref(p, &value) != 0)
        return -1;
    char t[IR_TYPE_STR_MAX], u[IR_TYPE_STR_MAX];
    if (value->dtype != param->dtype || !ir_same_shape(value, param))
        return fail(p, vat, "the parameter is %s, the value %s", ir_type_str(param, t, sizeof t),
                    ir_type_str(value, u, sizeof u));
    int was = mark(p, param, 1);
    if (was != 0)
        return was < 0 ? -1 : fail(p, at, "parameter %%%d is updated twice", param->id);
    if (grow(p, (void **)&p->x.updates, &p->cap_updates, (size_t)p->x.n_updates + 1,
             sizeof *p->x.updates) != 0)
        return -1;
    p->x.updates[p->x.n_updates].param = param;
    p->x.updates[p->x.n_updates++].value = value;
    return 0;
}

/* "value %N = {v, ...}" */
static int parse_value(parser *p)
{
    ir_node *n;
    size_t at = (skip_blank(p), p->pos);
    if (read_ref(p, &n) != 0)
        return -1;
    if (n->op != IR_OP_INPUT && n->op != IR_OP_PARAM)
        return fail(p, at, "expected an input or a parameter, node %%%d is %s", n->id,
                    ir_op_defs[n->op].name);
    if (expect_char(p, '=', "'='") != 0)
        return -1;
    size_t vat = (skip_blank(p), p->pos);
    if (read_values(p) != 0 || check_values(p, vat, n->dtype, n->numel) != 0)
        return -1;
    int was = mark(p, n, 2);
    if (was != 0)
        return was < 0 ? -1 : fail(p, at, "node %%%d is given values twice", n->id);
    if (grow(p, (void **)&p->x.values, &p->cap_values, (size_t)p->x.n_values + 1,
             sizeof *p->x.values) != 0)
        return -1;
    double *data = ir_malloc(p->n_vals * sizeof *data);
    if (!data)
        return oom(p);
    memcpy(data, p->vals, p->n_vals * sizeof *data);
    p->x.values[p->x.n_values].node = n;
    p->x.values[p->x.n_values++].data = data;
    return 0;
}

/* "nabla-graph 1" */
static int parse_header(parser *p)
{
    size_t m = strlen(NB_FORMAT_MAGIC);
    if (p->len < m || memcmp(p->s, NB_FORMAT_MAGIC, m) != 0 ||
        (p->len > m && p->s[m] != ' ' && p->s[m] != '\t'))
        return fail(p, 0, "expected the header '%s %d'", NB_FORMAT_MAGIC, NB_FORMAT_VERSION);
    p->pos = m;
    size_t at = (skip_blank(p), p->pos);
    int64_t v;
    if (read_int(p, &v, "a format version") != 0)
        return -1;
    if (v != NB_FORMAT_VERSION)
        return fail(p, at, "version %lld of the format is not supported (this reader reads %d)",
                    (long long)v, NB_FORMAT_VERSION);
    return 0;
}

static int parse_line(parser *p)
{
    if (at_eol(p))
        return 0;
    if (p->s[p->pos] == '%')
        return parse_node(p);
    size_t n, at = p->pos;
    const char *w = word(p, &n);
    if (word_is(w, n, "output"))
        return parse_output(p);
    if (word_is(w, n, "update"))
        return parse_update(p);
    if (word_is(w, n, "value"))
        return parse_value(p);
    p->pos = at;
    return expected(p, "a node ('%N = ...'), 'output', 'update' or 'value'");
}

static int parse_all(parser *p)
{
    p->line = 1;
    if (parse_header(p) != 0)
        return -1;
    for (;;) {
        if (!at_eol(p))
            return expected(p, "the end of the line");
        if (p->pos >= p->len)
            break;
        p->pos++; /* the newline */
        p->line++;
        p->line_start = p->pos;
        if (parse_line(p) != 0)
            return -1;
    }
    char msg[PARSE_MSG_MAX];
    if (ir_verify(p->g, msg, sizeof msg) != 0)
        return fail(p, p->pos, "the graph fails verification: %s", msg);
    return 0;
}

nb_graph *nb_graph_parse(const char *text, size_t len, nb_graph_extras *x, char *err,
                         size_t err_size)
{
    parser p = {0};
    p.s = text;
    p.len = len;
    p.err = err;
    p.err_size = err_size;
    p.last_id = -1;
    if (x)
        memset(x, 0, sizeof *x);
    if (err && err_size)
        err[0] = 0;
    if (!text && len) {
        p.line = 1;
        fail(&p, 0, "the text is NULL");
    } else if (!(p.g = ir_graph_new())) {
        p.line = 1;
        oom(&p);
    } else {
        parse_all(&p);
    }
    free(p.ids);
    free(p.vals);
    free(p.ins);
    free(p.written);
    if (p.failed) {
        nb_graph_extras_free(&p.x);
        ir_graph_free(p.g);
        return NULL;
    }
    if (x)
        *x = p.x;
    else
        nb_graph_extras_free(&p.x);
    return p.g;
}
