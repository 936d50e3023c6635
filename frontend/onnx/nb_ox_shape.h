/* nb_ox_shape.h — internal: helpers the shape and index importers (nb_ox_shape.c,
 * nb_ox_index.c) share. */
#ifndef NB_OX_SHAPE_H
#define NB_OX_SHAPE_H

#include "nb_ox.h"

/* Elements of a result at most (above any memory, far below int64 overflow). */
#define NB_OX_ELEMENTS_MAX ((int64_t)1 << 40)

/* The product of rank dims. */
int64_t nb_ox_numel(int rank, const int64_t *dims);
/* Input i's value when it is known and of an integer or bool type, else NULL: what the
 * importers compute with on the host (shape arithmetic). Float values stay nodes: a float
 * initializer is a trained parameter, which a value computed on the host would freeze. */
const nb_ox_const *nb_ox_in_host(const nb_ox *x, int i);
/* Sets output i to n with input in's ONNX type (an INT32 input stays INT32). */
int nb_ox_out_like(nb_ox *x, int i, nb_node *n, int in);
/* 0, or -1 after refusing dims with an empty axis (nabla's tensors are not empty) or
 * more than NB_OX_ELEMENTS_MAX elements. */
int nb_ox_check_dims(nb_ox *x, int rank, const int64_t *dims);
/* A new known value of k's type and rank whose element [i0, i1, ..] is k's
 * [lists[0][i0], lists[1][i1], ..] (a NULL list is the identity), counts[d] entries per
 * axis; NULL after an error. */
nb_ox_const *nb_ox_host_pick(nb_ox *x, const nb_ox_const *k, int64_t *const *lists,
                             const int64_t *counts);
/* numpy.take(t, index, axis) with in-range i32 indices: the result in *out; 0, or -1
 * after an error. */
int nb_ox_take(nb_ox *x, nb_node *t, int axis, nb_node *index, nb_node **out);
/* A 1-D i32 constant of n values; NULL after an error. */
nb_node *nb_ox_index_node(nb_ox *x, const int64_t *v, int64_t n);

#endif
