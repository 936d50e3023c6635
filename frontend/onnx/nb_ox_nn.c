/* nb_ox_nn.c — the importers of ONNX's layer ops: matrix products. */
#include "nb_ox.h"

/* MatMul: numpy.matmul, nabla's nb_matmul (1-D operands and batch broadcasting). */
int nb_ox_matmul(nb_ox *x)
{
    nb_node *a = nb_ox_in(x, 0), *b = a ? nb_ox_in(x, 1) : NULL;
    if (!b)
        return -1;
    return nb_ox_out(x, 0, nb_matmul(nb_ox_graph(x), a, b));
}
