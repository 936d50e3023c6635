/* test_gradcheck.c — the harness itself, on compositions of the core ops: the
 * tutorial's logistic regression, broadcasting chains and second order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "gradcheck.h"

/* sigmoid(w * x + b) with w [3] broadcast against x [2,3] and scalar b. */
static nb_node *logistic(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_sigmoid(g, nb_add(g, nb_mul(g, x[0], x[1]), x[2]));
}

/* x^3 = x * x * x, a node used three times. */
static nb_node *cube(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_mul(g, nb_mul(g, x[0], x[0]), x[0]);
}

/* log(a / b) + exp(a - b) with b [3,1] broadcast against a [1,4]. */
static nb_node *chain(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_add(g, nb_log(g, nb_div(g, x[0], x[1])), nb_exp(g, nb_sub(g, x[0], x[1])));
}

/* mean over axis 1 of x [2,3,4], keepdim, times x: reduction gradients broadcast back. */
static nb_node *centered(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    int axis = 1;
    return nb_mul(g, nb_mean(g, x[0], &axis, 1, 1), x[0]);
}

static const gc_case cases[] = {
    {"logistic", logistic, 3, {GC_F(2, 2, 3), GC_F(1, 3), GC_F(0)}, 1},
    {"cube", cube, 1, {GC_F(1, 5)}, 1},
    {"broadcast_chain", chain, 2, {GC_FR(0.5, 2, 2, 1, 4), GC_FR(0.5, 2, 2, 3, 1)}, 1},
    {"mean_keepdim", centered, 1, {GC_F(3, 2, 3, 4)}, 1},
};

int main(void)
{
    return gc_run_table("gradcheck", cases, (int)(sizeof cases / sizeof *cases));
}
