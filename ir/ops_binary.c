/* ops_binary.c — shape and gradient rules of the elementwise binary ops, comparisons,
 * where and clamp. Every gradient rule sums a broadcast operand's gradient back to its
 * shape (ir_sum_to), and builds gradients from differentiable nodes only (masks are
 * comparisons feeding where), so that gradients of gradients work. Conventions at
 * kinks follow PyTorch 1.13; each rule says which. */
#include <math.h>

#include "ir.h"

/* ---- shape rules ------------------------------------------------------------------ */

int ir_shape_binary_float(ir_graph *g, ir_node *n)
{
    if (ir_check_dtypes(g, n, 1) != 0)
        return -1;
    return ir_broadcast_shapes(g, n);
}

/* add, sub, mul: f32, f64 or i32 operands of one dtype. */
int ir_shape_binary_arith(ir_graph *g, ir_node *n)
{
    if (ir_check_dtypes(g, n, 0) != 0)
        return -1;
    if (n->dtype != NB_F32 && n->dtype != NB_F64 && n->dtype != NB_I32) {
        char t[IR_TYPE_STR_MAX];
        return ir_error(g, "%s: expected f32, f64 or i32 operands, got %s", ir_op_defs[n->op].name,
                        ir_type_str(n->in[0], t, sizeof t));
    }
    return ir_broadcast_shapes(g, n);
}

/* floor_div, remainder: i32 operands only (for floats, nb_floor of nb_div). */
int ir_shape_binary_int(ir_graph *g, ir_node *n)
{
    if (ir_check_dtypes(g, n, 0) != 0)
        return -1;
    if (n->dtype != NB_I32) {
        char ta[IR_TYPE_STR_MAX], tb[IR_TYPE_STR_MAX];
        return ir_error(g, "%s: expected i32 operands, got %s and %s", ir_op_defs[n->op].name,
                        ir_type_str(n->in[0], ta, sizeof ta), ir_type_str(n->in[1], tb, sizeof tb));
    }
    return ir_broadcast_shapes(g, n);
}

/* Comparisons accept any one dtype (f32, f64, i32, bool) and give a bool mask. */
int ir_shape_compare(ir_graph *g, ir_node *n)
{
    if (ir_check_dtypes(g, n, 0) != 0 || ir_broadcast_shapes(g, n) != 0)
        return -1;
    n->dtype = NB_BOOL;
    return 0;
}

/* where(mask, a, b): mask is bool; a and b share any one dtype, which is the result's. */
int ir_shape_where(ir_graph *g, ir_node *n)
{
    const ir_node *m = n->in[0], *a = n->in[1], *b = n->in[2];
    char tm[IR_TYPE_STR_MAX], ta[IR_TYPE_STR_MAX], tb[IR_TYPE_STR_MAX];
    if (m->dtype != NB_BOOL)
        return ir_error(g, "where: the mask must be bool, got %s (with a %s, b %s)",
                        ir_type_str(m, tm, sizeof tm), ir_type_str(a, ta, sizeof ta),
                        ir_type_str(b, tb, sizeof tb));
    if (a->dtype != b->dtype)
        return ir_error(g, "where: a and b must share one dtype, got %s and %s",
                        ir_type_str(a, ta, sizeof ta), ir_type_str(b, tb, sizeof tb));
    n->dtype = a->dtype;
    return ir_broadcast_shapes(g, n);
}

/* clamp(x, lo, hi) on a float x. lo > hi is accepted as in PyTorch (every element
 * becomes hi, and no gradient flows); a NaN bound is rejected, since it would turn
 * every element into NaN. */
int ir_shape_clamp(ir_graph *g, ir_node *n)
{
    const ir_node *x = n->in[0];
    if (ir_check_dtypes(g, n, 1) != 0)
        return -1;
    if (isnan(n->attr.f[0]) || isnan(n->attr.f[1])) {
        char t[IR_TYPE_STR_MAX];
        return ir_error(g, "clamp: the bounds of %s must not be NaN, got lo = %g, hi = %g",
                        ir_type_str(x, t, sizeof t), n->attr.f[0], n->attr.f[1]);
    }
    n->rank = x->rank;
    for (int i = 0; i < n->rank; i++)
        n->shape[i] = x->shape[i];
    return 0;
}

/* ---- small constructors for masks --------------------------------------------------- */

static ir_node *cmp(ir_graph *g, ir_op op, ir_node *a, ir_node *b)
{
    return ir_make2(g, op, a, b, NULL);
}

static ir_node *where(ir_graph *g, ir_node *mask, ir_node *a, ir_node *b)
{
    return ir_make3(g, IR_OP_WHERE, mask, a, b, NULL);
}

/* ---- gradient rules ----------------------------------------------------------------- */

int ir_vjp_add(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    if (need[0])
        gx[0] = ir_sum_to(g, gy, n->in[0]);
    if (need[1])
        gx[1] = ir_sum_to(g, gy, n->in[1]);
    return 0;
}

/* The negation comes after the sum: it then touches b's elements, not the result's. */
int ir_vjp_sub(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    if (need[0])
        gx[0] = ir_sum_to(g, gy, n->in[0]);
    if (need[1])
        gx[1] = ir_neg(g, ir_sum_to(g, gy, n->in[1]));
    return 0;
}

int ir_vjp_mul(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    if (need[0])
        gx[0] = ir_sum_to(g, ir_mul(g, gy, n->in[1]), n->in[0]);
    if (need[1])
        gx[1] = ir_sum_to(g, ir_mul(g, gy, n->in[0]), n->in[1]);
    return 0;
}

/* y = a / b: da = gy / b, db = -gy a / b^2 = -(gy y / b), reusing the forward node. */
int ir_vjp_div(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    ir_node *b = n->in[1];
    if (need[0])
        gx[0] = ir_sum_to(g, ir_div(g, gy, b), n->in[0]);
    if (need[1])
        gx[1] = ir_neg(g, ir_sum_to(g, ir_div(g, ir_mul(g, gy, n), b), b));
    return 0;
}

/* y = a^b, as PyTorch 1.13:
 *   da = b == 0 ? 0 : gy b a^(b-1)                (so 0^0 has da = 0)
 *   db = (a == 0 && b >= 0) ? 0 : gy y log(a)     (NaN for a < 0, -inf at 0^negative) */
int ir_vjp_pow(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    ir_node *a = n->in[0], *b = n->in[1];
    ir_node *zero = ir_scalar_like(g, gy, 0.0);
    if (need[0]) {
        ir_node *bm1 = ir_sub(g, b, ir_scalar_like(g, b, 1.0));
        ir_node *d = ir_mul(g, gy, ir_mul(g, b, ir_make2(g, IR_OP_POW, a, bm1, NULL)));
        ir_node *b0 = cmp(g, IR_OP_EQ, b, zero);
        gx[0] = ir_sum_to(g, where(g, b0, zero, d), a);
    }
    if (need[1]) {
        ir_node *d = ir_mul(g, gy, ir_mul(g, n, ir_make1(g, IR_OP_LOG, a, NULL)));
        ir_node *a0 = cmp(g, IR_OP_EQ, a, zero);
        ir_node *bpos = cmp(g, IR_OP_GE, b, zero);
        gx[1] = ir_sum_to(g, where(g, a0, where(g, bpos, zero, d), d), b);
    }
    return 0;
}

/* maximum and minimum, as PyTorch 1.13: the winning operand gets gy, the losing one 0,
 * and at a tie each gets gy / 2. `beats` is the comparison under which a wins (GT for
 * maximum). When either operand is NaN, neither comparison holds and both get gy. */
static int vjp_extremum(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need,
                        ir_node **gx, ir_op beats, ir_op loses)
{
    ir_node *a = n->in[0], *b = n->in[1];
    ir_node *zero = ir_scalar_like(g, gy, 0.0);
    ir_node *half = ir_mul(g, gy, ir_scalar_like(g, gy, 0.5));
    ir_node *share = where(g, cmp(g, IR_OP_EQ, a, b), half, gy);
    if (need[0])
        gx[0] = ir_sum_to(g, where(g, cmp(g, loses, a, b), zero, share), a);
    if (need[1])
        gx[1] = ir_sum_to(g, where(g, cmp(g, beats, a, b), zero, share), b);
    return 0;
}

int ir_vjp_maximum(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    return vjp_extremum(g, n, gy, need, gx, IR_OP_GT, IR_OP_LT);
}

int ir_vjp_minimum(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    return vjp_extremum(g, n, gy, need, gx, IR_OP_LT, IR_OP_GT);
}

/* where(mask, a, b): a gets gy where the mask holds, b elsewhere; the mask gets none. */
int ir_vjp_where(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    ir_node *m = n->in[0];
    ir_node *zero = ir_scalar_like(g, gy, 0.0);
    if (need[1])
        gx[1] = ir_sum_to(g, where(g, m, gy, zero), n->in[1]);
    if (need[2])
        gx[2] = ir_sum_to(g, where(g, m, zero, gy), n->in[2]);
    return 0;
}

/* clamp passes gy where lo <= x <= hi, bounds included, as PyTorch 1.13; 0 elsewhere
 * and at a NaN x. An infinite bound's comparison only matters for NaN, so it is left
 * out unless it is the only one left. */
int ir_vjp_clamp(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    ir_node *x = n->in[0];
    double lo = n->attr.f[0], hi = n->attr.f[1];
    int hi_open = isinf(hi) && hi > 0;
    ir_node *zero = ir_scalar_like(g, gy, 0.0);
    ir_node *r = gy;
    (void)need;
    if (!hi_open)
        r = where(g, cmp(g, IR_OP_LE, x, ir_scalar_like(g, x, hi)), r, zero);
    if (!(isinf(lo) && lo < 0) || hi_open)
        r = where(g, cmp(g, IR_OP_GE, x, ir_scalar_like(g, x, lo)), r, zero);
    gx[0] = r;
    return 0;
}

/* y = fmod(a, b) = a - trunc(a / b) b, as PyTorch 1.13: da = gy, db = -gy trunc(a / b)
 * (trunc's own gradient is 0, so second order composes). */
int ir_vjp_fmod(ir_graph *g, ir_node *n, ir_node *gy, const unsigned char *need, ir_node **gx)
{
    ir_node *a = n->in[0], *b = n->in[1];
    if (need[0])
        gx[0] = ir_sum_to(g, gy, a);
    if (need[1]) {
        ir_node *q = ir_make1(g, IR_OP_TRUNC, ir_div(g, a, b), NULL);
        gx[1] = ir_neg(g, ir_sum_to(g, ir_mul(g, gy, q), b));
    }
    return 0;
}
