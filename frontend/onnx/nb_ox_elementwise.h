/* nb_ox_elementwise.h — internal to the importers of ONNX's elementwise ops
 * (nb_ox_elementwise.c: unary ops, activations and casts; nb_ox_elementwise2.c: binary,
 * variadic and selecting ops; nb_ox_elementwise_fold.c: the same ops computed at load
 * time on known values, so that shape arithmetic such as Shape -> Cast -> Mul -> Cast
 * -> Reshape stays known). */
#ifndef NB_OX_ELEMENTWISE_H
#define NB_OX_ELEMENTWISE_H

#include "nb_ox.h"

/* Values of a known result computed at load time, at most: larger ones become graph
 * nodes (which the compiler folds when they are constants). */
#define NB_OX_EW_FOLD_MAX 65536

/* The ops computed on known values. */
typedef enum nb_ox_ew_op {
    /* unary */
    NB_OX_EW_NEG,
    NB_OX_EW_ABS,
    NB_OX_EW_SIGN,
    NB_OX_EW_RELU,
    NB_OX_EW_FLOOR,
    NB_OX_EW_CEIL,
    NB_OX_EW_ROUND, /* half to even */
    NB_OX_EW_SQRT,
    NB_OX_EW_RECIPROCAL,
    NB_OX_EW_NOT,
    NB_OX_EW_ISNAN,
    NB_OX_EW_ISINF, /* p0: detect +inf, p1: detect -inf */
    NB_OX_EW_CAST,  /* to the result's type */
    /* binary */
    NB_OX_EW_ADD,
    NB_OX_EW_SUB,
    NB_OX_EW_MUL,
    NB_OX_EW_DIV,  /* integers: truncated toward zero, as ONNX */
    NB_OX_EW_MOD,  /* integers: the sign of the divisor */
    NB_OX_EW_FMOD, /* C's fmod: the sign of the dividend */
    NB_OX_EW_MAX,  /* NaN propagates */
    NB_OX_EW_MIN,
    NB_OX_EW_EQ,
    NB_OX_EW_LT,
    NB_OX_EW_GT,
    NB_OX_EW_LE,
    NB_OX_EW_GE,
    NB_OX_EW_AND,
    NB_OX_EW_OR,
    NB_OX_EW_XOR,
    /* ternary */
    NB_OX_EW_WHERE
} nb_ox_ew_op;

/* Nonzero for FLOAT and DOUBLE; for INT32 and INT64. */
int nb_ox_ew_is_float(int type);
int nb_ox_ew_is_int(int type);

/* Nonzero when inputs 0..n-1 are all given and known at load time, none is a parameter
 * (nb_ox_in_param) and each holds at most NB_OX_EW_FOLD_MAX values: the op may then be
 * computed on the host. */
int nb_ox_ew_foldable(nb_ox *x, int n);

/* op of the n known values (broadcast together as NumPy does) as a new known value of
 * out_type (the caller owns it); NULL after an error on x (shapes that do not
 * broadcast, an integer division by zero, out of memory). p0 and p1 are the op's
 * parameters (ISINF). */
nb_ox_const *nb_ox_ew_fold(nb_ox *x, nb_ox_ew_op op, const nb_ox_const *const *in, int n,
                           int out_type, double p0, double p1);

/* A rank-0 constant of like's dtype. */
nb_node *nb_ox_ew_scalar(nb_ox *x, const nb_node *like, double v);

#endif
