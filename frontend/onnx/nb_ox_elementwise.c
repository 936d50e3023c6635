/* nb_ox_elementwise.c — the importers of ONNX's elementwise ops: a table from op type to
 * nabla's builder for the unary and the binary (broadcasting) ones. */
#include <string.h>

#include "nb_ox.h"

typedef nb_node *(*unary_fn)(nb_graph *, nb_node *);
typedef nb_node *(*binary_fn)(nb_graph *, nb_node *, nb_node *);

static const struct {
    const char *op;
    unary_fn fn;
} unary_ops[] = {
    {"Relu", nb_relu},
};

static const struct {
    const char *op;
    binary_fn fn;
} binary_ops[] = {
    {"Add", nb_add},
    {"Sub", nb_sub},
    {"Mul", nb_mul},
    {"Div", nb_div},
};

int nb_ox_unary(nb_ox *x)
{
    for (size_t i = 0; i < sizeof unary_ops / sizeof unary_ops[0]; i++)
        if (!strcmp(unary_ops[i].op, nb_ox_op_type(x)))
            return nb_ox_out(x, 0, unary_ops[i].fn(nb_ox_graph(x), nb_ox_in(x, 0)));
    return nb_ox_unsupported(x, "no unary builder");
}

/* Opset 7 and later broadcast as NumPy does, which is nabla's rule; integer inputs keep
 * their ONNX type. */
int nb_ox_binary(nb_ox *x)
{
    for (size_t i = 0; i < sizeof binary_ops / sizeof binary_ops[0]; i++)
        if (!strcmp(binary_ops[i].op, nb_ox_op_type(x))) {
            nb_node *a = nb_ox_in(x, 0), *b = a ? nb_ox_in(x, 1) : NULL;
            if (!b)
                return -1;
            return nb_ox_out_typed(x, 0, binary_ops[i].fn(nb_ox_graph(x), a, b),
                                   nb_ox_in_type(x, 0));
        }
    return nb_ox_unsupported(x, "no binary builder");
}
