/* test_dot.c — nb_graph_dot: the seed's training step drawn with its labels, shapes,
 * names, gradient nodes and update arrows; hostile names that cannot break the file
 * (checked by a DOT scanner here, and by Graphviz's dot when it is installed); bad
 * arguments refused with a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "files.h"
#include "ir.h"
#include "nabla.h"

/* Bytes of the messages and lines the tests compose. */
#define LINE_MAX_BYTES 512

/* ---- a DOT scanner ----------------------------------------------------------------- */

/* Checks that the bytes of a quoted string starting after its '"' are what DOT reads as
 * one string of valid UTF-8: no raw control byte, every backslash followed by '"', '\\'
 * or 'n' (the escapes nb_graph_dot writes), and returns the byte after the closing
 * quote. */
static const unsigned char *scan_string(const unsigned char *p)
{
    for (;;) {
        unsigned char c = *p;
        if (c == 0)
            fail_msg("a quoted string runs to the end of the file");
        if (c == '"')
            return p + 1;
        if (c < 0x20 || c == 0x7f)
            fail_msg("raw control byte 0x%02x in a quoted string", c);
        if (c == '\\') {
            if (p[1] != '"' && p[1] != '\\' && p[1] != 'n')
                fail_msg("unexpected escape \\%c in a quoted string", p[1]);
            p += 2;
            continue;
        }
        if (c < 0x80) {
            p++;
            continue;
        }
        int len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c <= 0xdf ? 2 : 0;
        if (len == 0)
            fail_msg("invalid UTF-8 lead byte 0x%02x in a quoted string", c);
        for (int k = 1; k < len; k++)
            if (p[k] < 0x80 || p[k] > 0xbf)
                fail_msg("invalid UTF-8 continuation 0x%02x in a quoted string", p[k]);
        p += len;
    }
}

/* Scans a whole DOT text as nb_graph_dot writes it: "digraph nabla {", statements whose
 * strings are well formed, braces that balance outside strings, the closing brace last.
 * Returns the number of node statements ("n<id> [label=" at the start of a line). */
static int scan_dot(const char *text)
{
    const char *head = "digraph nabla {\n";
    assert_memory_equal(text, head, strlen(head));
    const unsigned char *p = (const unsigned char *)text + strlen(head);
    int depth = 1, nodes = 0, line_start = 1;
    while (*p) {
        if (*p == '"') {
            p = scan_string(p + 1);
            line_start = 0;
            continue;
        }
        if (depth == 0 && strcmp((const char *)p, "\n") != 0)
            fail_msg("text after the closing brace: %.40s", (const char *)p);
        if (line_start && p[0] == ' ' && p[1] == ' ' && p[2] == 'n') {
            const unsigned char *q = p + 3;
            while (*q >= '0' && *q <= '9')
                q++;
            if (q > p + 3 && strncmp((const char *)q, " [label=", 8) == 0)
                nodes++;
        }
        if (*p == '{')
            depth++;
        if (*p == '}')
            depth--;
        if (*p < 0x20 && *p != '\n')
            fail_msg("control byte 0x%02x outside a string", *p);
        line_start = *p == '\n';
        p++;
    }
    assert_int_equal(depth, 0);
    return nodes;
}

/* Whether Graphviz's dot is installed. */
static int have_dot(void)
{
    return system("command -v dot >/dev/null 2>&1") == 0;
}

/* Runs `dot -Tsvg` on text when dot is installed: it must exit 0, print nothing on
 * stderr (Graphviz warns about invalid UTF-8 there) and draw `nodes` nodes. */
static void check_with_dot(const char *text, int nodes)
{
    if (!have_dot()) {
        fprintf(stderr, "test_dot: Graphviz's dot is not installed: only the scanner checked\n");
        return;
    }
    char *dir = tu_make_dir("nabla-dot");
    char *in = tu_join(dir, "g.dot"), *out = tu_join(dir, "g.svg"), *err = tu_join(dir, "err");
    tu_write_file(in, text, strlen(text));
    char cmd[LINE_MAX_BYTES * 2];
    snprintf(cmd, sizeof cmd, "dot -Tsvg '%s' -o '%s' 2>'%s'", in, out, err);
    int rc = system(cmd);
    size_t len;
    char *msg = tu_read_file(err, &len);
    if (rc != 0 || len != 0)
        fail_msg("dot failed (status %d): %s", rc, msg);
    char *svg = tu_read_file(out, &len);
    int drawn = 0;
    for (const char *s = svg; (s = strstr(s, "<g id=\"node")); s++)
        drawn++;
    assert_int_equal(drawn, nodes);
    free(svg);
    free(msg);
    remove(in);
    remove(out);
    remove(err);
    rmdir(dir);
    free(in);
    free(out);
    free(err);
    free(dir);
}

/* The statement of node id (its line without the leading spaces and ";\n"), into buf. */
static const char *node_line(const char *dot, int id, char *buf, size_t size)
{
    char key[64];
    snprintf(key, sizeof key, "\n  n%d [label=", id);
    const char *s = strstr(dot, key);
    if (!s)
        fail_msg("no statement for node %d", id);
    s += 3;
    const char *e = strstr(s, ";\n");
    assert_non_null(e);
    snprintf(buf, size, "%.*s", (int)(e - s), s);
    return buf;
}

/* ---- the seed's training step ------------------------------------------------------ */

typedef struct seed {
    nb_graph *g;
    nb_node *x, *y, *w, *b, *lr, *z, *loss;
    int first_grad, end_grad; /* the nodes nb_grad appended: [first_grad, end_grad) */
    nb_update u[2];
    int n_updates;
} seed;

/* PyTorch's autograd tutorial as a training step: z = w x + b, loss = bce(sigmoid(z),
 * y), its gradients for w and b, and one SGD step. */
static void seed_build(seed *s)
{
    const int64_t one[1] = {1};
    nb_graph *g = s->g = nb_graph_new();
    assert_non_null(g);
    s->x = nb_input(g, "x", NB_F32, 1, one);
    s->y = nb_input(g, "y", NB_F32, 1, one);
    s->w = nb_param(g, "w", NB_F32, 1, one);
    s->b = nb_param(g, "b", NB_F32, 1, one);
    s->lr = nb_input(g, "lr", NB_F32, 0, NULL);
    s->z = nb_name(g, nb_add(g, nb_mul(g, s->w, s->x), s->b), "z");
    s->loss = nb_name(g, nb_bce(g, nb_sigmoid(g, s->z), s->y, NB_REDUCTION_MEAN), "loss");
    nb_node *ps[2] = {s->w, s->b}, *gs[2];
    s->first_grad = nb_graph_node_count(g);
    assert_int_equal(nb_grad(g, s->loss, ps, 2, gs), 0);
    s->end_grad = nb_graph_node_count(g);
    assert_true(s->end_grad > s->first_grad);
    s->n_updates = nb_sgd(g, s->lr, ps, gs, 2, NULL, s->u, 2);
    assert_int_equal(s->n_updates, 2);
    assert_null(nb_graph_error(g));
}

static void dot_seed_labels(void **state)
{
    (void)state;
    seed s;
    seed_build(&s);
    nb_node *outs[1] = {s.loss};
    nb_dot_options o = {.outputs = outs, .n_outputs = 1, .updates = s.u, .n_updates = 2};
    char err[LINE_MAX_BYTES], line[LINE_MAX_BYTES], want[LINE_MAX_BYTES];
    char *dot = nb_graph_dot(s.g, &o, err, sizeof err);
    assert_non_null(dot);
    assert_string_equal(err, "");
    assert_int_equal(scan_dot(dot), nb_graph_node_count(s.g));
    assert_non_null(strstr(dot, "\n  rankdir=TB;\n"));

    /* Leaves: op, type, name, and a style per kind. */
    assert_string_equal(node_line(dot, 0, line, sizeof line),
                        "n0 [label=\"%0 input\\nf32[1]\\n'x'\", shape=box, style=filled, "
                        "fillcolor=\"#dae8fc\"]");
    snprintf(want, sizeof want,
             "n%d [label=\"%%%d param\\nf32[1]\\n'w'\", shape=box3d, style=filled, "
             "fillcolor=\"#d5e8d4\"]",
             nb_node_id(s.w), nb_node_id(s.w));
    assert_string_equal(node_line(dot, nb_node_id(s.w), line, sizeof line), want);
    snprintf(want, sizeof want, "n%d [label=\"%%%d input\\nf32[]\\n'lr'\"", nb_node_id(s.lr),
             nb_node_id(s.lr));
    assert_non_null(strstr(node_line(dot, nb_node_id(s.lr), line, sizeof line), want));
    /* z = add(mul, b): named, forward (no fill), operands numbered. */
    snprintf(want, sizeof want, "n%d [label=\"%%%d add\\nf32[1]\\n'z'\", shape=ellipse]",
             nb_node_id(s.z), nb_node_id(s.z));
    assert_string_equal(node_line(dot, nb_node_id(s.z), line, sizeof line), want);
    snprintf(want, sizeof want, "\n  n%d -> n%d [taillabel=\"1\"];\n", nb_node_id(s.b),
             nb_node_id(s.z));
    assert_non_null(strstr(dot, want));
    /* The output: a double outline. */
    assert_non_null(strstr(node_line(dot, nb_node_id(s.loss), line, sizeof line), "'loss'"));
    assert_non_null(strstr(line, ", peripheries=2"));
    assert_null(strstr(strstr(dot, "peripheries=2") + 1, "peripheries=2"));
    /* Exactly the nodes nb_grad appended are drawn as gradient nodes, and only they. */
    for (int id = 0; id < nb_graph_node_count(s.g); id++) {
        int is_grad = id >= s.first_grad && id < s.end_grad;
        node_line(dot, id, line, sizeof line);
        if (is_grad != (strstr(line, "class=\"grad\"") != NULL) ||
            is_grad != (strstr(line, "fillcolor=\"#ffe6cc\", color=\"#d79b00\"") != NULL))
            fail_msg("node %d (%s a gradient node) is drawn as: %s", id, is_grad ? "" : "not",
                     line);
    }
    /* The updates: dashed, bold arrows from the new value to the parameter. */
    for (int i = 0; i < 2; i++) {
        snprintf(want, sizeof want,
                 "\n  n%d -> n%d [style=\"dashed,bold\", color=\"#b85450\", label=\"update\", "
                 "constraint=false];\n",
                 nb_node_id(s.u[i].value), nb_node_id(s.u[i].param));
        assert_non_null(strstr(dot, want));
    }
    assert_int_equal(strstr(dot, "}\n") - dot + 2, (long)strlen(dot));
    check_with_dot(dot, nb_graph_node_count(s.g));
    free(dot);

    /* Without options: no outputs, no updates; shapes hidden; left to right. */
    dot = nb_graph_dot(s.g, NULL, NULL, 0);
    assert_non_null(dot);
    assert_null(strstr(dot, "peripheries"));
    assert_null(strstr(dot, "update"));
    free(dot);
    nb_dot_options lr = {.rankdir = "LR", .hide_shapes = 1};
    dot = nb_graph_dot(s.g, &lr, err, sizeof err);
    assert_non_null(dot);
    assert_non_null(strstr(dot, "\n  rankdir=LR;\n"));
    assert_null(strstr(dot, "f32["));
    assert_string_equal(node_line(dot, 0, line, sizeof line),
                        "n0 [label=\"%0 input\\n'x'\", shape=box, style=filled, "
                        "fillcolor=\"#dae8fc\"]");
    assert_int_equal(scan_dot(dot), nb_graph_node_count(s.g));
    free(dot);
    nb_graph_free(s.g);
}

/* Gradients of gradients are gradient nodes too; constants show their value. */
static void dot_second_order(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F64, 0, NULL);
    nb_node *quarter = nb_scalar(g, NB_F64, 0.25);
    nb_node *y = nb_mul(g, nb_mul(g, x, x), quarter);
    nb_node *d1, *d2;
    int first = nb_graph_node_count(g);
    assert_int_equal(nb_grad(g, y, &x, 1, &d1), 0);
    assert_int_equal(nb_grad(g, d1, &x, 1, &d2), 0);
    char *dot = nb_graph_dot(g, NULL, NULL, 0);
    assert_non_null(dot);
    char line[LINE_MAX_BYTES];
    for (int id = 0; id < nb_graph_node_count(g); id++)
        assert_int_equal(strstr(node_line(dot, id, line, sizeof line), "class=\"grad\"") != NULL,
                         id >= first);
    assert_non_null(
        strstr(node_line(dot, nb_node_id(quarter), line, sizeof line), "const 0.25\\nf64[]"));
    assert_non_null(strstr(line, "shape=note"));
    free(dot);
    nb_graph_free(g);
}

/* ---- hostile names ------------------------------------------------------------------ */

static void dot_hostile_names(void **state)
{
    (void)state;
    /* Each tries to end the string, the statement or the graph, or to be invalid text. */
    static const char *const names[] = {
        "a\"b\\c\n\xff",
        "\"]; n0 -> n0; n99 [label=\"",
        "}\n}\ndigraph x {",
        "\\\"\\",
        "\\n\\l\\N\\G",
        "\xc3\x28 \xe0\x80\x80 \xed\xa0\x80 \xf4\x90\x80\x80 \xc0\xaf trail\xe2\x82",
        "ok \xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
        "<b>&amp;</b> \x7f\x01\t\r",
    };
    const int n = (int)(sizeof names / sizeof *names);
    nb_graph *g = nb_graph_new();
    const int64_t two[1] = {2};
    nb_node *first = nb_param(g, names[0], NB_F32, 1, two), *acc = first;
    for (int i = 1; i < n; i++) {
        nb_node *leaf =
            i % 2 ? nb_input(g, names[i], NB_F32, 1, two) : nb_param(g, names[i], NB_F32, 1, two);
        acc = nb_name(g, nb_add(g, acc, leaf), names[(i + 3) % n]);
    }
    nb_node *loss = nb_sum(g, acc, NULL, 0, 0);
    nb_node *dx;
    assert_int_equal(nb_grad(g, loss, &first, 1, &dx), 0);
    nb_name(g, dx, names[1]);
    assert_null(nb_graph_error(g));
    nb_node *outs[2] = {loss, dx};
    nb_dot_options o = {.outputs = outs, .n_outputs = 2};
    char err[LINE_MAX_BYTES];
    char *dot = nb_graph_dot(g, &o, err, sizeof err);
    assert_non_null(dot);
    assert_int_equal(scan_dot(dot), nb_graph_node_count(g));
    /* The escapes, byte for byte: quotes and backslashes escaped, control bytes and
     * invalid UTF-8 shown as \xNN text, valid UTF-8 kept. */
    assert_non_null(strstr(dot, "\\n'a\\\"b\\\\c\\\\x0a\\\\xff'\""));
    assert_non_null(strstr(dot, "'\\\\\\\"\\\\'"));
    assert_non_null(strstr(dot, "'\\\\n\\\\l\\\\N\\\\G'"));
    assert_non_null(strstr(dot,
                           "'\\\\xc3( \\\\xe0\\\\x80\\\\x80 \\\\xed\\\\xa0\\\\x80 "
                           "\\\\xf4\\\\x90\\\\x80\\\\x80 \\\\xc0\\\\xaf trail\\\\xe2\\\\x82'"));
    assert_non_null(strstr(dot, "'ok \xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80'"));
    assert_non_null(strstr(dot, "'<b>\\\\x26amp;</b> \\\\x7f\\\\x01\\\\x09\\\\x0d'"));
    check_with_dot(dot, nb_graph_node_count(g));
    free(dot);

    /* A graph with an error is drawn, its (hostile) message as the title. */
    nb_add(g, acc, nb_input(g, "\"}\n", NB_F32, 1, (const int64_t[]){3}));
    assert_non_null(nb_graph_error(g));
    dot = nb_graph_dot(g, NULL, err, sizeof err);
    assert_non_null(dot);
    assert_non_null(strstr(dot, "\n  label=\"error: "));
    assert_int_equal(scan_dot(dot), nb_graph_node_count(g));
    check_with_dot(dot, nb_graph_node_count(g));
    free(dot);
    nb_graph_free(g);
}

/* ---- bad arguments ------------------------------------------------------------------ */

/* nb_graph_dot(g, o) fails with a message containing want. */
static void dot_fails(const nb_graph *g, const nb_dot_options *o, const char *want)
{
    char err[LINE_MAX_BYTES] = "unchanged";
    char *dot = nb_graph_dot(g, o, err, sizeof err);
    if (dot || !strstr(err, want))
        fail_msg("expected an error with '%s', got %s: '%s'", want, dot ? "a drawing" : "NULL",
                 err);
    assert_null(nb_graph_dot(g, o, NULL, 0)); /* no message buffer: still NULL */
}

static void dot_bad_arguments(void **state)
{
    (void)state;
    seed s, t;
    seed_build(&s);
    seed_build(&t);
    dot_fails(NULL, NULL, "dot: the graph is NULL");
    nb_node *other[1] = {t.loss}, *none[1] = {NULL};
    dot_fails(s.g, &(nb_dot_options){.outputs = other, .n_outputs = 1},
              "dot: output 0 is a node of another graph");
    dot_fails(s.g, &(nb_dot_options){.outputs = none, .n_outputs = 1}, "dot: output 0 is NULL");
    dot_fails(s.g, &(nb_dot_options){.n_outputs = 1}, "dot: 1 outputs given with a NULL list");
    dot_fails(s.g, &(nb_dot_options){.outputs = other, .n_outputs = -1},
              "dot: -1 outputs given with a non-NULL list");
    dot_fails(s.g, &(nb_dot_options){.n_updates = 2}, "dot: 2 updates given with a NULL list");
    dot_fails(s.g, &(nb_dot_options){.updates = t.u, .n_updates = 1},
              "dot: update 0 has a node of another graph");
    nb_update bad[2] = {{s.w, NULL}, {s.z, s.z}};
    dot_fails(s.g, &(nb_dot_options){.updates = bad, .n_updates = 1},
              "dot: update 0 has a NULL node");
    char want[LINE_MAX_BYTES];
    snprintf(want, sizeof want, "dot: update 0 writes node %d (add), not a parameter",
             nb_node_id(s.z));
    dot_fails(s.g, &(nb_dot_options){.updates = bad + 1, .n_updates = 1}, want);
    dot_fails(s.g, &(nb_dot_options){.rankdir = "LR; n0 -> n1"},
              "dot: rankdir must be TB, LR, BT or RL");
    dot_fails(s.g, &(nb_dot_options){.rankdir = ""}, "rankdir must be");
    /* A message buffer of one byte holds the empty string. */
    char tiny[1] = {'x'};
    assert_null(nb_graph_dot(s.g, &(nb_dot_options){.rankdir = "up"}, tiny, sizeof tiny));
    assert_int_equal(tiny[0], 0);
    nb_graph_free(s.g);
    nb_graph_free(t.g);
}

/* Every allocation nb_graph_dot makes may fail: NULL with "out of memory" (nothing
 * leaked: the sanitizer build checks), until the drawing is the clean run's. */
static void dot_out_of_memory(void **state)
{
    (void)state;
    seed s;
    seed_build(&s);
    nb_node *outs[1] = {s.loss};
    nb_dot_options o = {.outputs = outs, .n_outputs = 1, .updates = s.u, .n_updates = 2};
    char err[LINE_MAX_BYTES];
    char *clean = nb_graph_dot(s.g, &o, err, sizeof err);
    assert_non_null(clean);
    long k = 1;
    for (;; k++) {
        ir_alloc_fail_once(k);
        char *dot = nb_graph_dot(s.g, &o, err, sizeof err);
        long failed = ir_alloc_failures();
        ir_alloc_fail_from(0);
        if (!failed) {
            assert_non_null(dot);
            assert_string_equal(dot, clean);
            free(dot);
            break;
        }
        if (dot)
            fail_msg("allocation %ld failed and nb_graph_dot returned a drawing", k);
        assert_string_equal(err, "out of memory");
    }
    assert_true(k > 2); /* the marks and at least one growth of the text */
    free(clean);
    nb_graph_free(s.g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dot_seed_labels),   cmocka_unit_test(dot_second_order),
        cmocka_unit_test(dot_hostile_names), cmocka_unit_test(dot_bad_arguments),
        cmocka_unit_test(dot_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
