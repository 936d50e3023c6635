/* ir_size.c — element counts and byte sizes: a dtype's size, and checked arithmetic.
 * Every count and size the library computes from user shapes goes through these, so a
 * product or sum that does not fit is reported as an error instead of wrapping to a
 * small number. */
#include <stdint.h>

#include "ir.h"

int ir_size_add(size_t a, size_t b, size_t *sum)
{
    if (a > SIZE_MAX - b)
        return -1;
    *sum = a + b;
    return 0;
}

int ir_size_mul(size_t a, size_t b, size_t *product)
{
    if (b != 0 && a > SIZE_MAX / b)
        return -1;
    *product = a * b;
    return 0;
}

int ir_size_align(size_t x, size_t align, size_t *rounded)
{
    size_t r = x % align;
    return r == 0 ? (*rounded = x, 0) : ir_size_add(x, align - r, rounded);
}

size_t ir_dtype_size(nb_dtype dt)
{
    switch (dt) {
    case NB_F32: return 4;
    case NB_F64: return 8;
    case NB_I32: return 4;
    case NB_BOOL: return 1;
    default: return 0;
    }
}

int ir_size_bytes(nb_dtype dt, int64_t numel, size_t *bytes)
{
    if (numel < 0 || (uint64_t)numel > SIZE_MAX)
        return -1;
    return ir_size_mul((size_t)numel, ir_dtype_size(dt), bytes);
}

int64_t ir_shape_numel(int rank, const int64_t *shape)
{
    int64_t n = 1;
    for (int i = 0; i < rank; i++) {
        if (shape[i] < 0)
            return -1;
        if (shape[i] == 0)
            n = 0; /* later dimensions still have to be checked for sign */
        else if (n > INT64_MAX / shape[i])
            return -1;
        else
            n *= shape[i];
    }
    return n;
}

int ir_check_shape_arg(ir_graph *g, const char *what, int rank, const int64_t *shape)
{
    if (rank < 0 || rank > NB_MAX_RANK)
        return ir_error(g, "%s: rank %d is out of range [0, %d]", what, rank, NB_MAX_RANK);
    if (rank > 0 && !shape)
        return ir_error(g, "%s: shape is NULL for rank %d", what, rank);
    return 0;
}
