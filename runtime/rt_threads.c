/* rt_threads.c — how many threads the runtime's kernels (OpenBLAS) may use. */
#include <cblas.h>

#include "nabla.h"

int nb_set_threads(int n)
{
    if (n < 1)
        return -1;
    openblas_set_num_threads(n);
    return 0;
}

int nb_get_threads(void)
{
    return openblas_get_num_threads();
}
