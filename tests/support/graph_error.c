/* graph_error.c — checks a builder's sticky error message (graph_error.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "graph_error.h"

void tu_expect_graph_error(nb_graph *g, const nb_node *n, const char *msg)
{
    assert_null(n);
    assert_non_null(nb_graph_error(g));
    if (strcmp(nb_graph_error(g), msg) != 0)
        fail_msg("error '%s', expected '%s'", nb_graph_error(g), msg);
    nb_graph_free(g);
}
