/* graph_error.h — the check every builder-error test makes: the builder returned NULL and
 * the graph's sticky error is exactly the expected message. */
#ifndef GRAPH_ERROR_H
#define GRAPH_ERROR_H

#include "nabla.h"

/* Fails the calling cmocka test unless n is NULL and g's error is msg; frees g. */
void tu_expect_graph_error(nb_graph *g, const nb_node *n, const char *msg);

#endif
