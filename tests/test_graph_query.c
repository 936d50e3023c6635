/* test_graph_query.c — finding nodes of a graph from outside it: by id (nb_graph_node),
 * by name (nb_graph_find, the last of several), and a node's name and op. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "nabla.h"

static void queries(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 0, NULL);
    nb_node *w = nb_param(g, "w", NB_F32, 0, NULL);
    nb_node *a = nb_name(g, nb_add(g, x, w), "y");
    nb_node *b = nb_name(g, nb_mul(g, a, w), "y"); /* the same name again */
    nb_node *c = nb_neg(g, b);
    assert_ptr_equal(nb_graph_node(g, 0), x);
    assert_ptr_equal(nb_graph_node(g, nb_node_id(c)), c);
    assert_null(nb_graph_node(g, -1));
    assert_null(nb_graph_node(g, nb_graph_node_count(g)));
    assert_null(nb_graph_node(NULL, 0));
    assert_ptr_equal(nb_graph_find(g, "x"), x);
    assert_ptr_equal(nb_graph_find(g, "y"), b);
    assert_null(nb_graph_find(g, "z"));
    assert_null(nb_graph_find(g, NULL));
    assert_null(nb_graph_find(NULL, "x"));
    assert_string_equal(nb_node_name(w), "w");
    assert_null(nb_node_name(c));
    assert_null(nb_node_name(NULL));
    assert_string_equal(nb_node_op(x), "input");
    assert_string_equal(nb_node_op(w), "param");
    assert_string_equal(nb_node_op(a), "add");
    assert_string_equal(nb_node_op(c), "neg");
    assert_null(nb_node_op(NULL));
    nb_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(queries)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
