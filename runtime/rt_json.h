/* rt_json.h — the strict JSON of safetensors headers: a checker, a pull reader that
 * builds no tree, and a writer into a growing buffer (rt_json.c). */
#ifndef RT_JSON_H
#define RT_JSON_H

#include <stddef.h>
#include <stdint.h>

/* Objects and arrays nested deeper than this are refused (a safetensors header needs 3). */
#define RT_JSON_MAX_DEPTH 64

/* What rt_json_check found. */
typedef enum rt_json_status {
    RT_JSON_OK = 0,
    RT_JSON_INVALID = -1, /* not JSON (RFC 8259, UTF-8) */
    RT_JSON_REFUSED = -2, /* JSON, but not accepted: an escaped NUL, too deep */
} rt_json_status;

/* Checks that text[0, len) begins with exactly one JSON value. On RT_JSON_OK, *end is
 * the offset just after the value; otherwise *end is the offset of the fault and *why a
 * static phrase naming it. Reads the bytes once and allocates nothing. */
rt_json_status rt_json_check(const char *text, size_t len, size_t *end, const char **why);

/* A cursor over text that rt_json_check accepted: the reader assumes valid JSON and
 * never fails, except rt_json_string when memory runs out. */
typedef struct rt_json {
    const char *text;
    size_t len, at;
} rt_json;

/* Skips whitespace; the next byte, or -1 at the end. */
int rt_json_peek(rt_json *j);
/* Skips whitespace and consumes c when it comes next: 1, else 0. */
int rt_json_eat(rt_json *j, int c);
/* Decodes the string at the cursor into new memory (free it), or NULL out of memory. */
char *rt_json_string(rt_json *j);
/* Consumes one value: 1 with *v when it is a number written as a non-negative integer
 * (no sign, fraction or exponent) that fits 64 bits, 0 for anything else. */
int rt_json_uint(rt_json *j, uint64_t *v);
/* Consumes one value of any kind. */
void rt_json_skip(rt_json *j);

/* The offset of the first byte of s[0, n) that is not part of valid UTF-8, or n. */
size_t rt_utf8_check(const char *s, size_t n);

/* Text built by appending; after an allocation failure oom is set and appends do nothing. */
typedef struct rt_buf {
    char *data; /* from ir_realloc: free it */
    size_t len, cap;
    int oom;
} rt_buf;

void rt_buf_put(rt_buf *b, const char *s, size_t n);
void rt_buf_puts(rt_buf *b, const char *s);
/* An integer in decimal: exact, never in exponent notation. */
void rt_buf_put_u64(rt_buf *b, uint64_t v);
/* s (valid UTF-8) as a quoted JSON string: quotes, backslashes and control characters
 * escaped, everything else as is. */
void rt_json_put_string(rt_buf *b, const char *s);

#endif
