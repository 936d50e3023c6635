/* cg_binary.c — scalar statements of the elementwise binary ops (a, b -> r), the
 * comparisons (-> an unsigned char 0/1), where (a ? b : c) and clamp. */
#include <float.h>
#include <math.h>

#include "cg.h"

void cg_ew_add(cg_ctx *c, const ir_node *n)
{
    (void)n;
    cg_line(c, "r = a + b;");
}

void cg_ew_sub(cg_ctx *c, const ir_node *n)
{
    (void)n;
    cg_line(c, "r = a - b;");
}

void cg_ew_mul(cg_ctx *c, const ir_node *n)
{
    (void)n;
    cg_line(c, "r = a * b;");
}

void cg_ew_div(cg_ctx *c, const ir_node *n)
{
    (void)n;
    cg_line(c, "r = a / b;");
}

void cg_ew_pow(cg_ctx *c, const ir_node *n)
{
    cg_line(c, "r = %s(a, b);", cg_fn(c, n->dtype, "pow"));
}

/* NaN propagates from either operand, as in PyTorch (fmax would drop it): a != a
 * holds only for a NaN, and a NaN b loses every comparison, so r = b. */
void cg_ew_maximum(cg_ctx *c, const ir_node *n)
{
    (void)n;
    cg_line(c, "r = (a > b || a != a) ? a : b;");
}

void cg_ew_minimum(cg_ctx *c, const ir_node *n)
{
    (void)n;
    cg_line(c, "r = (a < b || a != a) ? a : b;");
}

void cg_ew_eq(cg_ctx *c, const ir_node *n)
{
    (void)n;
    cg_line(c, "r = (unsigned char)(a == b);");
}

void cg_ew_ne(cg_ctx *c, const ir_node *n)
{
    (void)n;
    cg_line(c, "r = (unsigned char)(a != b);");
}

void cg_ew_lt(cg_ctx *c, const ir_node *n)
{
    (void)n;
    cg_line(c, "r = (unsigned char)(a < b);");
}

void cg_ew_le(cg_ctx *c, const ir_node *n)
{
    (void)n;
    cg_line(c, "r = (unsigned char)(a <= b);");
}

void cg_ew_gt(cg_ctx *c, const ir_node *n)
{
    (void)n;
    cg_line(c, "r = (unsigned char)(a > b);");
}

void cg_ew_ge(cg_ctx *c, const ir_node *n)
{
    (void)n;
    cg_line(c, "r = (unsigned char)(a >= b);");
}

void cg_ew_where(cg_ctx *c, const ir_node *n)
{
    (void)n;
    cg_line(c, "r = a ? b : c;");
}

/* min(max(a, lo), hi) as one statement, so that it fuses into a single expression. An
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

void cg_ew_clamp(cg_ctx *c, const ir_node *n)
{
    double lo = bound_of(n, n->attr.f[0]), hi = bound_of(n, n->attr.f[1]);
    int use_lo = !(isinf(lo) && lo < 0), use_hi = !(isinf(hi) && hi > 0);
    const char *l = cg_lit(c, n->dtype, lo), *h = cg_lit(c, n->dtype, hi);
    if (lo > hi)
        cg_line(c, "r = a != a ? a : %s;", h);
    else if (use_lo && use_hi)
        cg_line(c, "r = a < %s ? %s : (a > %s ? %s : a);", l, l, h, h);
    else if (use_lo)
        cg_line(c, "r = a < %s ? %s : a;", l, l);
    else if (use_hi)
        cg_line(c, "r = a > %s ? %s : a;", h, h);
    else
        cg_line(c, "r = a;");
}
