/* cg_binary.c — expressions of the elementwise binary ops (operands a, b), the
 * comparisons (-> an unsigned char 0/1), where (a ? b : c) and clamp; the kernels of
 * i32 floor division and remainder. */
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

/* a <op> b; in i32, (int)((unsigned)a <op> (unsigned)b): unsigned arithmetic wraps
 * modulo 2^32 where signed overflow would be undefined, and converting back to int keeps
 * the low 32 bits in two's complement (implementation-defined in C99; gcc, clang and tcc
 * all define it so), which is torch's int32 wrap-around. */
static void arith(cg_ew *e, const ir_node *n, const char *op)
{
    if (n->dtype != NB_I32) {
        infix(e, op);
        return;
    }
    cg_ew_s(e, "(int)((unsigned)");
    cg_ew_x(e, 0);
    cg_ew_s(e, op);
    cg_ew_s(e, "(unsigned)");
    cg_ew_x(e, 1);
    cg_ew_s(e, ")");
}

void cg_ew_add(cg_ew *e, const ir_node *n)
{
    arith(e, n, " + ");
}

void cg_ew_sub(cg_ew *e, const ir_node *n)
{
    arith(e, n, " - ");
}

void cg_ew_mul(cg_ew *e, const ir_node *n)
{
    arith(e, n, " * ");
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

/* fmod(a, b): libm's, exact (IEEE's remainder-style operation rounds nothing). */
void cg_ew_fmod(cg_ew *e, const ir_node *n)
{
    (void)n;
    cg_ew_call(e, "fmod");
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

/* FLOOR_DIV and REMAINDER of i32 a (x0) and b (x1), broadcast to y's shape: one loop
 * nest over y with each operand's strides (0 along its broadcast axes). A zero divisor
 * makes the kernel return 1 (the run fails, naming the node). C's / and % truncate
 * toward zero; where the remainder is not zero and its sign differs from b's, the
 * quotient goes one down and the remainder moves by b (floor semantics, as torch). b ==
 * -1 is taken apart: INT_MIN / -1 and INT_MIN % -1 are undefined in C, so the quotient
 * is -a computed in unsigned (INT_MIN stays INT_MIN, as two's complement wraps) and the
 * remainder 0. */
static void int_division(cg_ctx *c, const ir_node *n, int remainder)
{
    int64_t size[NB_MAX_RANK], st[3][NB_MAX_RANK];
    const ir_node *ops[3] = {n, n->in[0], n->in[1]};
    for (int o = 0; o < 3; o++) {
        const ir_node *x = ops[o];
        int64_t xs[NB_MAX_RANK];
        cg_strides(x->rank, x->shape, xs);
        for (int d = 0; d < n->rank; d++) {
            int k = d - (n->rank - x->rank);
            st[o][d] = k < 0 || x->shape[k] == 1 ? 0 : xs[k];
        }
    }
    for (int d = 0; d < n->rank; d++)
        size[d] = n->shape[d];
    int r = cg_merge_axes(n->rank, size, 3, st);
    int loops = cg_loops_open(c, "i", r, size, (1u << r) - 1);
    const char *names[3] = {"y", "const int a = x0", "const int b = x1"};
    for (int o = 1; o < 3; o++) {
        cg_begin(c);
        cg_s(c, names[o]);
        cg_s(c, "[");
        cg_index(c->t, 0, "i", r, st[o]);
        cg_end(c, "];");
    }
    cg_line(c, "int q = 0, m = 0;");
    cg_line(c, "if (b == 0)");
    cg_line(c, "    return 1;");
    cg_line(c, "if (b == -1) {");
    cg_line(c, "    q = (int)(0u - (unsigned)a);");
    cg_line(c, "} else {");
    cg_line(c, "    q = a / b;");
    cg_line(c, "    m = a %% b;");
    cg_line(c, "    if (m != 0 && (m < 0) != (b < 0)) {");
    cg_line(c, "        q -= 1;");
    cg_line(c, "        m += b;");
    cg_line(c, "    }");
    cg_line(c, "}");
    cg_begin(c);
    cg_s(c, "y[");
    cg_index(c->t, 0, "i", r, st[0]);
    cg_end(c, remainder ? "] = m;" : "] = q;");
    cg_loops_close(c, loops);
    c->can_fail = 1;
}

void cg_k_floor_div(cg_ctx *c, const ir_node *n)
{
    int_division(c, n, 0);
}

void cg_k_remainder(cg_ctx *c, const ir_node *n)
{
    int_division(c, n, 1);
}
