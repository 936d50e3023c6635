/* cg_trig.c — expressions of the trigonometric and hyperbolic functions and their
 * inverses: a call of libm's function (tanf for f32, tan for f64, ...). Every backend
 * calls the same libm (cg_libm.def marks them inexact, so cc folds none of them on a
 * constant), which makes tcc and cc programs agree bit for bit; NaN outside the domain
 * and atanh(+-1) = +-inf are libm's (C99 Annex F), as torch's. */
#include "cg.h"

/* f(x) for a libm function f. */
static void call(cg_ew *e, const char *base)
{
    cg_ew_call(e, base);
    cg_ew_x(e, 0);
    cg_ew_close(e);
}

void cg_ew_tan(cg_ew *e, const ir_node *n)
{
    (void)n;
    call(e, "tan");
}

void cg_ew_asin(cg_ew *e, const ir_node *n)
{
    (void)n;
    call(e, "asin");
}

void cg_ew_acos(cg_ew *e, const ir_node *n)
{
    (void)n;
    call(e, "acos");
}

void cg_ew_atan(cg_ew *e, const ir_node *n)
{
    (void)n;
    call(e, "atan");
}

void cg_ew_sinh(cg_ew *e, const ir_node *n)
{
    (void)n;
    call(e, "sinh");
}

void cg_ew_cosh(cg_ew *e, const ir_node *n)
{
    (void)n;
    call(e, "cosh");
}

void cg_ew_asinh(cg_ew *e, const ir_node *n)
{
    (void)n;
    call(e, "asinh");
}

void cg_ew_acosh(cg_ew *e, const ir_node *n)
{
    (void)n;
    call(e, "acosh");
}

void cg_ew_atanh(cg_ew *e, const ir_node *n)
{
    (void)n;
    call(e, "atanh");
}
