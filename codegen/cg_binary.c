/* cg_binary.c — expressions of the elementwise binary ops (operands a, b), the
 * comparisons (-> an unsigned char 0/1), where (a ? b : c) and clamp. */
#include <float.h>
#include <math.h>

#include "cg.h"

/* a <op> b, with op the infix text " + ". */
static void infix(cg_ew *e, const char *op)
{
    cg_ew_x(e, 0);
    cg_ew_s(e, op);
    cg_ew_x(e, 1);
}

void cg_ew_add(cg_ew *e, const ir_node *n)
{
    (void)n;
    infix(e, " + ");
}

void cg_ew_sub(cg_ew *e, const ir_node *n)
{
    (void)n;
    infix(e, " - ");
}

void cg_ew_mul(cg_ew *e, const ir_node *n)
{
    (void)n;
    infix(e, " * ");
}

void cg_ew_div(cg_ew *e, const ir_node *n)
{
    (void)n;
    infix(e, " / ");
}

void cg_ew_pow(cg_ew *e, const ir_node *n)
{
    (void)n;
    cg_ew_call(e, "pow");
    infix(e, ", ");
    cg_ew_close(e);
}

/* (a <cmp> b || a != a) ? a : b. NaN propagates from either operand, as in PyTorch
 * (fmax would drop it): a != a holds only for a NaN, and a NaN b loses every
 * comparison, so the result is b. */
static void extreme(cg_ew *e, const char *cmp)
{
    cg_ew_s(e, "(");
    infix(e, cmp);
    cg_ew_s(e, " || ");
    cg_ew_x(e, 0);
    cg_ew_s(e, " != ");
    cg_ew_x(e, 0);
    cg_ew_s(e, ") ? ");
    cg_ew_x(e, 0);
    cg_ew_s(e, " : ");
    cg_ew_x(e, 1);
}

void cg_ew_maximum(cg_ew *e, const ir_node *n)
{
    (void)n;
    extreme(e, " > ");
}

void cg_ew_minimum(cg_ew *e, const ir_node *n)
{
    (void)n;
    extreme(e, " < ");
}

/* (unsigned char)(a <cmp> b) */
static void compare(cg_ew *e, const char *cmp)
{
    cg_ew_s(e, "(unsigned char)(");
    infix(e, cmp);
    cg_ew_s(e, ")");
}

void cg_ew_eq(cg_ew *e, const ir_node *n)
{
    (void)n;
    compare(e, " == ");
}

void cg_ew_ne(cg_ew *e, const ir_node *n)
{
    (void)n;
    compare(e, " != ");
}

void cg_ew_lt(cg_ew *e, const ir_node *n)
{
    (void)n;
    compare(e, " < ");
}

void cg_ew_le(cg_ew *e, const ir_node *n)
{
    (void)n;
    compare(e, " <= ");
}

void cg_ew_gt(cg_ew *e, const ir_node *n)
{
    (void)n;
    compare(e, " > ");
}

void cg_ew_ge(cg_ew *e, const ir_node *n)
{
    (void)n;
    compare(e, " >= ");
}

void cg_ew_where(cg_ew *e, const ir_node *n)
{
    (void)n;
    cg_ew_x(e, 0);
    cg_ew_s(e, " ? ");
    cg_ew_x(e, 1);
    cg_ew_s(e, " : ");
    cg_ew_x(e, 2);
}

/* min(max(a, lo), hi) as one expression, so that it fuses with its neighbours. An
 * infinite bound clamps nothing and is left out; lo > hi gives hi everywhere, as in
 * PyTorch. A NaN a stays NaN: it fails every comparison. */
/* A bound as the dtype holds it: an f32 bound past FLT_MAX is infinite (as in the
 * constants the gradient compares against), never a literal out of float range. */
static double bound_of(const ir_node *n, double v)
{
    if (n->dtype != NB_F32 || !isfinite(v))
        return v;
    return fabs(v) > FLT_MAX ? copysign(INFINITY, v) : (double)(float)v;
}

/* a <cmp> bound ? bound : <rest>, where the caller writes rest. */
static void clamp_side(cg_ew *e, const char *cmp, double bound)
{
    cg_ew_x(e, 0);
    cg_ew_s(e, cmp);
    cg_ew_lit(e, bound);
    cg_ew_s(e, " ? ");
    cg_ew_lit(e, bound);
    cg_ew_s(e, " : ");
}

void cg_ew_clamp(cg_ew *e, const ir_node *n)
{
    double lo = bound_of(n, n->attr.f[0]), hi = bound_of(n, n->attr.f[1]);
    int use_lo = !(isinf(lo) && lo < 0), use_hi = !(isinf(hi) && hi > 0);
    if (lo > hi) {
        /* a != a ? a : hi */
        cg_ew_x(e, 0);
        cg_ew_s(e, " != ");
        cg_ew_x(e, 0);
        cg_ew_s(e, " ? ");
        cg_ew_x(e, 0);
        cg_ew_s(e, " : ");
        cg_ew_lit(e, hi);
    } else if (use_lo && use_hi) {
        /* a < lo ? lo : (a > hi ? hi : a) */
        clamp_side(e, " < ", lo);
        cg_ew_s(e, "(");
        clamp_side(e, " > ", hi);
        cg_ew_x(e, 0);
        cg_ew_s(e, ")");
    } else if (use_lo) {
        clamp_side(e, " < ", lo);
        cg_ew_x(e, 0);
    } else if (use_hi) {
        clamp_side(e, " > ", hi);
        cg_ew_x(e, 0);
    } else {
        cg_ew_x(e, 0);
    }
}
