/* fuzz_graph_text.c — fuzz target for nb_graph_parse, the reader of graph text files
 * (docs/graph-format.md). Properties checked on every input: no crash, leak or sanitizer
 * report; a refused text gives a message that names a line and a column and leaves the
 * extras zeroed; an accepted text gives a graph the verifier passes, which writes as a
 * text that parses again and writes the same (print(parse(print(g))) == print(g)). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ir.h"
#include "nabla.h"

enum { FUZZ_ERR_SIZE = 1024 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[FUZZ_ERR_SIZE] = "";
    nb_graph_extras x;
    nb_graph *g = nb_graph_parse((const char *)data, size, &x, err, sizeof err);
    if (getenv("NABLA_FUZZ_VERBOSE"))
        fprintf(stderr, "%s\n", g ? "accepted" : err);
    if (!g) {
        if (strncmp(err, "line ", 5) != 0 || !strstr(err, ", column ") || x.outputs || x.updates ||
            x.values || x.n_outputs || x.n_updates || x.n_values)
            abort();
        return 0;
    }
    char msg[FUZZ_ERR_SIZE];
    if (ir_verify(g, msg, sizeof msg) != 0)
        abort();
    char *text = nb_graph_write(g, &x);
    if (!text)
        abort();
    nb_graph_extras y;
    nb_graph *h = nb_graph_parse(text, strlen(text), &y, err, sizeof err);
    if (!h) {
        fprintf(stderr, "the written text does not parse: %s\n%s", err, text);
        abort();
    }
    char *again = nb_graph_write(h, &y);
    if (!again || strcmp(text, again) != 0)
        abort();
    free(again);
    free(text);
    nb_graph_extras_free(&y);
    nb_graph_free(h);
    nb_graph_extras_free(&x);
    nb_graph_free(g);
    return 0;
}
