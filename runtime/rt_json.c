/* rt_json.c — strict JSON for safetensors headers: one checking pass that allocates
 * nothing, then a pull reader that decodes only what the caller asks for, so a header
 * costs its own bytes and no tree (a 45-million-entry array is a scan, not 45 million
 * nodes), and running out of memory is never mistaken for a syntax error. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ir.h"
#include "rt_json.h"

/* ---- UTF-8 ----------------------------------------------------------------------- */

/* The length of the valid UTF-8 sequence at s (n bytes available), or 0. Overlong
 * forms, surrogates and code points past U+10FFFF are invalid (RFC 3629). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    unsigned lo = 0x80, hi = 0xbf;
    size_t len;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c == 0xe0)
        len = 3, lo = 0xa0;
    else if (c == 0xed)
        len = 3, hi = 0x9f;
    else if (c >= 0xe1 && c <= 0xef)
        len = 3;
    else if (c == 0xf0)
        len = 4, lo = 0x90;
    else if (c == 0xf4)
        len = 4, hi = 0x8f;
    else if (c >= 0xf1 && c <= 0xf3)
        len = 4;
    else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

size_t rt_utf8_check(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t at = 0;
    while (at < n) {
        size_t k = utf8_seq(u + at, n - at);
        if (k == 0)
            return at;
        at += k;
    }
    return n;
}

/* ---- the checker ----------------------------------------------------------------- */

typedef struct checker {
    const unsigned char *s;
    size_t n, at;
    const char *why;
    rt_json_status status;
} checker;

static int check_fail(checker *c, rt_json_status status, const char *why)
{
    c->status = status;
    c->why = why;
    return -1;
}

static void check_ws(checker *c)
{
    while (c->at < c->n && (c->s[c->at] == ' ' || c->s[c->at] == '\t' || c->s[c->at] == '\n' ||
                            c->s[c->at] == '\r'))
        c->at++;
}

static int hex_value(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* The four hex digits at s[at], or -1. */
static long hex4(const unsigned char *s, size_t n, size_t at)
{
    if (n < 4 || at > n - 4)
        return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_value(s[at + i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* A \u escape at c->at (just after the 'u'), with its low surrogate when it is a high
 * one. Lone surrogates are not text, and a NUL would cut a name short once it is a C
 * string (so two different names could compare equal). */
static int check_unicode(checker *c)
{
    long u = hex4(c->s, c->n, c->at);
    if (u < 0)
        return check_fail(c, RT_JSON_INVALID, "a \\u escape without four hex digits");
    if (u == 0)
        return check_fail(c, RT_JSON_REFUSED, "an escaped NUL character (\\u0000)");
    c->at += 4;
    if (u >= 0xdc00 && u <= 0xdfff)
        return check_fail(c, RT_JSON_INVALID, "a lone low surrogate escape");
    if (u >= 0xd800 && u <= 0xdbff) {
        long lo = c->at + 1 < c->n && c->s[c->at] == '\\' && c->s[c->at + 1] == 'u'
                      ? hex4(c->s, c->n, c->at + 2)
                      : -1;
        if (lo < 0xdc00 || lo > 0xdfff)
            return check_fail(c, RT_JSON_INVALID, "a high surrogate escape without its low half");
        c->at += 6;
    }
    return 0;
}

static int check_string(checker *c)
{
    c->at++; /* the opening quote */
    for (;;) {
        if (c->at >= c->n)
            return check_fail(c, RT_JSON_INVALID, "an unterminated string");
        unsigned b = c->s[c->at];
        if (b == '"') {
            c->at++;
            return 0;
        }
        if (b < 0x20)
            return check_fail(c, RT_JSON_INVALID, "a control character in a string");
        if (b == '\\') {
            if (++c->at >= c->n)
                return check_fail(c, RT_JSON_INVALID, "an unterminated string");
            b = c->s[c->at++];
            if (b == 'u') {
                if (check_unicode(c) != 0)
                    return -1;
            } else if (!strchr("\"\\/bfnrt", (int)b) || b == 0) {
                c->at--;
                return check_fail(c, RT_JSON_INVALID, "an invalid escape");
            }
            continue;
        }
        size_t k = utf8_seq(c->s + c->at, c->n - c->at);
        if (k == 0)
            return check_fail(c, RT_JSON_INVALID, "invalid UTF-8");
        c->at += k;
    }
}

static int is_digit(const checker *c)
{
    return c->at < c->n && c->s[c->at] >= '0' && c->s[c->at] <= '9';
}

static int check_digits(checker *c)
{
    if (!is_digit(c))
        return check_fail(c, RT_JSON_INVALID, "a malformed number");
    while (is_digit(c))
        c->at++;
    return 0;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int check_number(checker *c)
{
    if (c->s[c->at] == '-')
        c->at++;
    if (c->at < c->n && c->s[c->at] == '0')
        c->at++;
    else if (check_digits(c) != 0)
        return -1;
    if (c->at < c->n && c->s[c->at] == '.') {
        c->at++;
        if (check_digits(c) != 0)
            return -1;
    }
    if (c->at < c->n && (c->s[c->at] == 'e' || c->s[c->at] == 'E')) {
        c->at++;
        if (c->at < c->n && (c->s[c->at] == '+' || c->s[c->at] == '-'))
            c->at++;
        if (check_digits(c) != 0)
            return -1;
    }
    return 0;
}

static int check_literal(checker *c, const char *word)
{
    size_t k = strlen(word);
    if (c->n - c->at < k || memcmp(c->s + c->at, word, k) != 0)
        return check_fail(c, RT_JSON_INVALID, "an unexpected character");
    c->at += k;
    return 0;
}

static int check_value(checker *c, int depth);

/* An object or an array (close is '}' or ']'), at c->at on its opening bracket. */
static int check_container(checker *c, int depth, int close)
{
    if (depth >= RT_JSON_MAX_DEPTH)
        return check_fail(c, RT_JSON_REFUSED, "objects and arrays nested too deep");
    c->at++;
    check_ws(c);
    if (c->at < c->n && c->s[c->at] == close) {
        c->at++;
        return 0;
    }
    for (;;) {
        if (close == '}') {
            check_ws(c);
            if (c->at >= c->n || c->s[c->at] != '"')
                return check_fail(c, RT_JSON_INVALID, "an object key that is not a string");
            if (check_string(c) != 0)
                return -1;
            check_ws(c);
            if (c->at >= c->n || c->s[c->at] != ':')
                return check_fail(c, RT_JSON_INVALID, "a missing ':'");
            c->at++;
        }
        if (check_value(c, depth + 1) != 0)
            return -1;
        check_ws(c);
        if (c->at < c->n && c->s[c->at] == ',') {
            c->at++;
            continue;
        }
        if (c->at < c->n && c->s[c->at] == close) {
            c->at++;
            return 0;
        }
        return check_fail(c, RT_JSON_INVALID,
                          close == '}' ? "a missing ',' or '}'" : "a missing ',' or ']'");
    }
}

static int check_value(checker *c, int depth)
{
    check_ws(c);
    if (c->at >= c->n)
        return check_fail(c, RT_JSON_INVALID, "an unexpected end");
    switch (c->s[c->at]) {
    case '{': return check_container(c, depth, '}');
    case '[': return check_container(c, depth, ']');
    case '"': return check_string(c);
    case 't': return check_literal(c, "true");
    case 'f': return check_literal(c, "false");
    case 'n': return check_literal(c, "null");
    default:
        if (c->s[c->at] == '-' || is_digit(c))
            return check_number(c);
        return check_fail(c, RT_JSON_INVALID, "an unexpected character");
    }
}

rt_json_status rt_json_check(const char *text, size_t len, size_t *end, const char **why)
{
    checker c = {(const unsigned char *)text, len, 0, NULL, RT_JSON_OK};
    int rc = check_value(&c, 0);
    *end = c.at;
    *why = rc == 0 ? NULL : c.why;
    return rc == 0 ? RT_JSON_OK : c.status;
}

/* ---- the reader (over checked text) ---------------------------------------------- */

int rt_json_peek(rt_json *j)
{
    while (j->at < j->len && strchr(" \t\n\r", j->text[j->at]) && j->text[j->at] != 0)
        j->at++;
    return j->at < j->len ? (unsigned char)j->text[j->at] : -1;
}

int rt_json_eat(rt_json *j, int c)
{
    if (rt_json_peek(j) != c)
        return 0;
    j->at++;
    return 1;
}

/* Moves past the string that starts at the cursor. */
static void skip_string(rt_json *j)
{
    j->at++;
    while (j->at < j->len && j->text[j->at] != '"')
        j->at += j->text[j->at] == '\\' ? 2 : 1;
    j->at++;
}

/* Appends code point u as UTF-8 at out; returns the bytes written. */
static size_t utf8_put(char *out, unsigned long u)
{
    if (u < 0x80) {
        out[0] = (char)u;
        return 1;
    }
    if (u < 0x800) {
        out[0] = (char)(0xc0 | u >> 6);
        out[1] = (char)(0x80 | (u & 0x3f));
        return 2;
    }
    if (u < 0x10000) {
        out[0] = (char)(0xe0 | u >> 12);
        out[1] = (char)(0x80 | (u >> 6 & 0x3f));
        out[2] = (char)(0x80 | (u & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | u >> 18);
    out[1] = (char)(0x80 | (u >> 12 & 0x3f));
    out[2] = (char)(0x80 | (u >> 6 & 0x3f));
    out[3] = (char)(0x80 | (u & 0x3f));
    return 4;
}

char *rt_json_string(rt_json *j)
{
    rt_json_peek(j);
    size_t begin = j->at + 1;
    skip_string(j);
    /* Decoding never lengthens: an escape of 2, 6 or 12 bytes gives at most 4. */
    size_t raw = j->at - 1 - begin;
    char *out = ir_malloc(raw + 1);
    if (!out)
        return NULL;
    const unsigned char *s = (const unsigned char *)j->text + begin;
    size_t k = 0;
    for (size_t i = 0; i < raw;) {
        if (s[i] != '\\') {
            out[k++] = (char)s[i++];
            continue;
        }
        unsigned e = s[i + 1];
        i += 2;
        if (e != 'u') {
            static const char from[] = "bfnrt", to[] = "\b\f\n\r\t";
            const char *m = strchr(from, (int)e);
            out[k++] = m ? to[m - from] : (char)e;
            continue;
        }
        unsigned long u = (unsigned long)hex4(s, raw, i);
        i += 4;
        if (u >= 0xd800 && u <= 0xdbff) {
            u = 0x10000 + ((u - 0xd800) << 10) + ((unsigned long)hex4(s, raw, i + 2) - 0xdc00);
            i += 6;
        }
        k += utf8_put(out + k, u);
    }
    out[k] = '\0';
    return out;
}

void rt_json_skip(rt_json *j)
{
    int c = rt_json_peek(j);
    if (c == '"') {
        skip_string(j);
        return;
    }
    if (c != '{' && c != '[') {
        while (j->at < j->len && strchr("+-.0123456789eEtrufalsn", j->text[j->at]) &&
               j->text[j->at] != 0)
            j->at++;
        return;
    }
    int depth = 0;
    do {
        c = (unsigned char)j->text[j->at];
        if (c == '"') {
            skip_string(j);
            continue;
        }
        if (c == '{' || c == '[')
            depth++;
        else if (c == '}' || c == ']')
            depth--;
        j->at++;
    } while (depth > 0 && j->at < j->len);
}

int rt_json_uint(rt_json *j, uint64_t *v)
{
    int c = rt_json_peek(j);
    if (c < '0' || c > '9') {
        rt_json_skip(j);
        return 0;
    }
    uint64_t x = 0;
    int fits = 1;
    while (j->at < j->len && j->text[j->at] >= '0' && j->text[j->at] <= '9') {
        unsigned d = (unsigned)(j->text[j->at++] - '0');
        if (x > (UINT64_MAX - d) / 10)
            fits = 0;
        x = x * 10 + d;
    }
    /* 3.0 and 3e0 are the number 3, but not an integer as safetensors writes one. */
    if (j->at < j->len && strchr(".eE", j->text[j->at]) && j->text[j->at] != 0) {
        rt_json_skip(j);
        return 0;
    }
    *v = x;
    return fits;
}

/* ---- the writer ------------------------------------------------------------------ */

void rt_buf_put(rt_buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < n) {
            if (cap > SIZE_MAX / 2) {
                b->oom = 1;
                return;
            }
            cap *= 2;
        }
        char *grown = ir_realloc(b->data, cap);
        if (!grown) {
            b->oom = 1;
            return;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

void rt_buf_puts(rt_buf *b, const char *s)
{
    rt_buf_put(b, s, strlen(s));
}

void rt_buf_put_u64(rt_buf *b, uint64_t v)
{
    char digits[24];
    int n = snprintf(digits, sizeof digits, "%" PRIu64, v);
    rt_buf_put(b, digits, (size_t)n);
}

void rt_json_put_string(rt_buf *b, const char *s)
{
    rt_buf_put(b, "\"", 1);
    for (const char *run = s;; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        rt_buf_put(b, run, (size_t)(s - run));
        run = s + 1;
        if (c == 0)
            break;
        static const char from[] = "\"\\\b\f\n\r\t", to[] = "\"\\bfnrt";
        const char *m = strchr(from, c);
        char esc[8];
        if (m)
            snprintf(esc, sizeof esc, "\\%c", to[m - from]);
        else
            snprintf(esc, sizeof esc, "\\u%04x", c);
        rt_buf_puts(b, esc);
    }
    rt_buf_put(b, "\"", 1);
}
