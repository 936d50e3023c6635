/* nb_graph_lex.h — the tokens of the graph text format (nb_graph_lex.c) and the parser's
 * state they read from, shared by the lexer and the grammar (nb_graph_parse.c). */
#ifndef NB_GRAPH_LEX_H
#define NB_GRAPH_LEX_H

#include "nb_format.h"

/* Bytes of a message before its position is prefixed. */
#define NB_LEX_MSG_MAX 512

/* The parser's state: the text and position the lexer reads, the first error, and the
 * graph, node numbers and extras the grammar builds. */
typedef struct nb_parser {
    const char *s;
    size_t len, pos;
    size_t line, line_start; /* 1-based line number, offset of its first byte */
    char *err;
    size_t err_size;
    int failed;
    ir_graph *g;
    /* The file's node numbers, increasing, and the nodes they name (binary search). */
    struct nb_parse_entry {
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
} nb_parser;

/* Records "line L, column C: <message>" for the byte at offset at (the first error
 * wins). Returns -1. */
int nb_lex_fail(nb_parser *p, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fails with "out of memory" at the current position. Returns -1. */
int nb_lex_oom(nb_parser *p);

/* Grows *arr (of *cap elements of size bytes) to hold need elements. 0 or -1 (OOM). */
int nb_lex_grow(nb_parser *p, void **arr, size_t *cap, size_t need, size_t size);

/* Skips spaces, tabs, carriage returns and a comment ('#' to the end of the line). */
void nb_lex_skip_blank(nb_parser *p);

/* Whether only blanks and a comment remain on the line (skips them). */
int nb_lex_at_eol(nb_parser *p);

/* Fails with "expected <what>, got <what is there>". */
int nb_lex_expected(nb_parser *p, const char *what);

/* Consumes the character c after blanks, or fails with "expected <what>". */
int nb_lex_expect_char(nb_parser *p, char c, const char *what);

/* A word of [A-Za-z0-9_]; *n = 0 when there is none. */
const char *nb_lex_word(nb_parser *p, size_t *n);

/* Whether the word w of n bytes is the string s. */
int nb_lex_word_is(const char *w, size_t n, const char *s);

/* A decimal integer, optionally negative, within int64. */
int nb_lex_read_int(nb_parser *p, int64_t *v, const char *what);

/* An int within [lo, hi]. */
int nb_lex_read_int_in(nb_parser *p, int64_t lo, int64_t hi, int64_t *v, const char *what);

/* "0x" and 1 to 16 hex digits: an unsigned 64-bit integer. */
int nb_lex_read_hex64(nb_parser *p, uint64_t *v, const char *what);

/* A number as the writer writes it (decimal or hexadecimal floating point, inf, -inf,
 * nan, -nan, nan:0x<16 hex digits of the bits>). */
int nb_lex_read_number(nb_parser *p, double *v);

/* "[a, b, ...]" of at most NB_MAX_RANK integers into v; *n their count. */
int nb_lex_read_list(nb_parser *p, int64_t *v, int *n, const char *what);

/* A dtype's name (f32, f64, i32, bool). */
int nb_lex_read_dtype(nb_parser *p, nb_dtype *dt);

/* "f32[2,3]": dtype, rank and dimensions (each at least 1, the product bounded). */
int nb_lex_read_type(nb_parser *p, nb_dtype *dt, int *rank, int64_t *shape);

/* "{v, ...}" into p->vals, p->n_vals. */
int nb_lex_read_values(nb_parser *p);

/* Checks the values read against a node of dtype dt and numel elements. */
int nb_lex_check_values(nb_parser *p, size_t at, nb_dtype dt, int64_t numel);

/* A name in double quotes with the writer's escapes, in new memory (*out). */
int nb_lex_read_string(nb_parser *p, char **out);

#endif
