/* test_grad_binary.c — gradient checks of the elementwise binary ops, where and clamp
 * against finite differences, with broadcasting in either operand position. */
#include <math.h>

#include "gradcheck.h"

static nb_node *f_add(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_add(g, x[0], x[1]);
}

static nb_node *f_sub(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_sub(g, x[0], x[1]);
}

static nb_node *f_mul(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_mul(g, x[0], x[1]);
}

static nb_node *f_div(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_div(g, x[0], x[1]);
}

static nb_node *f_pow(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_pow(g, x[0], x[1]);
}

static nb_node *f_maximum(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_maximum(g, x[0], x[1]);
}

static nb_node *f_minimum(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_minimum(g, x[0], x[1]);
}

static nb_node *f_fmod(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_fmod(g, x[0], x[1]);
}

/* fmod(a, b) * b: a Hessian that is not zero (d2/db2 = -2 trunc(a / b)). */
static nb_node *f_fmod_b(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_mul(g, nb_fmod(g, x[0], x[1]), x[1]);
}

/* a * maximum(a, b): a Hessian that is not zero, for the second-order check. */
static nb_node *f_mul_maximum(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_mul(g, x[0], nb_maximum(g, x[0], x[1]));
}

static nb_node *f_mul_minimum(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_mul(g, x[0], nb_minimum(g, x[0], x[1]));
}

/* x[0] is a bool mask given as data. */
static nb_node *f_where(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_where(g, x[0], x[1], x[2]);
}

/* where(mask, a * b, a / b): the gradient of each branch flows through its side. */
static nb_node *f_where_branches(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_where(g, x[0], nb_mul(g, x[1], x[2]), nb_div(g, x[1], x[2]));
}

/* A mask from a float comparison: where(a > b, a^2, b), discontinuous at a == b
 * (those elements are skipped by the smoothness check). */
static nb_node *f_where_gt(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_where(g, nb_gt(g, x[0], x[1]), nb_mul(g, x[0], x[0]), x[1]);
}

/* Masks from i32 comparisons: x[0], x[1] are i32 data. */
static nb_node *f_where_i32(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    nb_node *m = nb_ne(g, nb_eq(g, x[0], x[1]), nb_le(g, x[0], x[1]));
    return nb_where(g, m, x[2], nb_mul(g, x[2], x[3]));
}

static nb_node *f_clamp(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_clamp(g, x[0], -1.0, 0.5);
}

/* clamp(x)^2: a second derivative of 2 inside the bounds and 0 outside. */
static nb_node *f_clamp_sq(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    nb_node *c = nb_clamp(g, x[0], -0.75, 1.25);
    return nb_mul(g, c, c);
}

static nb_node *f_clamp_upper(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_mul(g, x[0], nb_clamp(g, x[0], -INFINITY, 0.25));
}

/* lo > hi: every element is hi and no gradient flows (PyTorch 1.13). */
static nb_node *f_clamp_crossed(nb_graph *g, nb_node *const *x, nb_dtype dt)
{
    (void)dt;
    return nb_add(g, x[0], nb_clamp(g, x[0], 1.0, -1.0));
}

#define GC_BOOL(r, ...)                                                                            \
    {                                                                                              \
        NB_BOOL, r, {__VA_ARGS__}, 0.0, 2.0                                                        \
    }
#define GC_I32(r, ...)                                                                             \
    {                                                                                              \
        NB_I32, r, {__VA_ARGS__}, 0.0, 3.0                                                         \
    }
#define POS(r, ...) GC_FR(0.5, 2.0, r, __VA_ARGS__)
#define NEG(r, ...) GC_FR(-2.0, -0.5, r, __VA_ARGS__)
/* fmod: dividends in +-[3.1, 3.3] and divisors in +-[1.12, 1.5] keep a / b within
 * +-(2.07, 2.95), off the integers where fmod jumps: trunc(a / b) = +-2 throughout. */
#define DIVIDEND(r, ...) GC_FR(3.1, 3.3, r, __VA_ARGS__)
#define DIVIDEND_NEG(r, ...) GC_FR(-3.3, -3.1, r, __VA_ARGS__)
#define DIVISOR(r, ...) GC_FR(1.12, 1.5, r, __VA_ARGS__)
#define DIVISOR_NEG(r, ...) GC_FR(-1.5, -1.12, r, __VA_ARGS__)

/* With second_order set the harness checks the gradient of the gradient instead of
 * the gradient, so each op has first-order rows (0) and second-order rows (1). */
static const gc_case cases[] = {
    {"add [3,4] [4]", f_add, 2, {GC_F(2, 3, 4), GC_F(1, 4)}, 0},
    {"add [4] [3,4]", f_add, 2, {GC_F(1, 4), GC_F(2, 3, 4)}, 0},
    {"add [3,1] [1,4]", f_add, 2, {GC_F(2, 3, 1), GC_F(2, 1, 4)}, 0},
    {"add [] [2,3]", f_add, 2, {GC_F(0, 0), GC_F(2, 2, 3)}, 0},
    {"add [3,1] [1,4] 2nd", f_add, 2, {GC_F(2, 3, 1), GC_F(2, 1, 4)}, 1},
    {"sub [3,4] [4]", f_sub, 2, {GC_F(2, 3, 4), GC_F(1, 4)}, 0},
    {"sub [4] [3,4]", f_sub, 2, {GC_F(1, 4), GC_F(2, 3, 4)}, 0},
    {"sub [3,1] [1,4]", f_sub, 2, {GC_F(2, 3, 1), GC_F(2, 1, 4)}, 0},
    {"sub [2,3] []", f_sub, 2, {GC_F(2, 2, 3), GC_F(0, 0)}, 0},
    {"sub [2,3] [] 2nd", f_sub, 2, {GC_F(2, 2, 3), GC_F(0, 0)}, 1},
    {"mul [3,4] [4]", f_mul, 2, {GC_F(2, 3, 4), GC_F(1, 4)}, 0},
    {"mul [3,1] [1,4]", f_mul, 2, {GC_F(2, 3, 1), GC_F(2, 1, 4)}, 0},
    {"mul [] [2,3]", f_mul, 2, {GC_F(0, 0), GC_F(2, 2, 3)}, 0},
    {"mul [2,3,4] [2,1,4]", f_mul, 2, {GC_F(3, 2, 3, 4), GC_F(3, 2, 1, 4)}, 0},
    {"mul [3,4] [4] 2nd", f_mul, 2, {GC_F(2, 3, 4), GC_F(1, 4)}, 1},
    {"mul [] [2,3] 2nd", f_mul, 2, {GC_F(0, 0), GC_F(2, 2, 3)}, 1},
    {"div [3,4] [4]", f_div, 2, {GC_F(2, 3, 4), POS(1, 4)}, 0},
    {"div [4] [3,4]", f_div, 2, {GC_F(1, 4), NEG(2, 3, 4)}, 0},
    {"div [3,1] [1,4]", f_div, 2, {GC_F(2, 3, 1), POS(2, 1, 4)}, 0},
    {"div [] [2,3]", f_div, 2, {GC_F(0, 0), POS(2, 2, 3)}, 0},
    {"div [3,1] [1,4] 2nd", f_div, 2, {GC_F(2, 3, 1), POS(2, 1, 4)}, 1},
    {"div [] [2,3] 2nd", f_div, 2, {GC_F(0, 0), NEG(2, 2, 3)}, 1},
    {"pow [3,4] [4]", f_pow, 2, {POS(2, 3, 4), GC_F(1, 4)}, 0},
    {"pow [4] [3,4]", f_pow, 2, {POS(1, 4), GC_F(2, 3, 4)}, 0},
    {"pow [3,1] [1,4]", f_pow, 2, {POS(2, 3, 1), GC_F(2, 1, 4)}, 0},
    {"pow [] [2,3]", f_pow, 2, {POS(0, 0), GC_F(2, 2, 3)}, 0},
    {"pow [2,3] []", f_pow, 2, {POS(2, 2, 3), GC_F(0, 0)}, 0},
    {"pow [3,4] [4] 2nd", f_pow, 2, {POS(2, 3, 4), GC_F(1, 4)}, 1},
    {"pow [] [2,3] 2nd", f_pow, 2, {POS(0, 0), GC_F(2, 2, 3)}, 1},
    {"maximum a<b [3,4] [4]", f_maximum, 2, {NEG(2, 3, 4), POS(1, 4)}, 0},
    {"maximum a>b [4] [3,4]", f_maximum, 2, {POS(1, 4), NEG(2, 3, 4)}, 0},
    {"maximum mixed [3,1] [1,4]", f_maximum, 2, {GC_F(2, 3, 1), GC_F(2, 1, 4)}, 0},
    {"maximum mixed [] [2,3]", f_maximum, 2, {GC_F(0, 0), GC_F(2, 2, 3)}, 0},
    {"maximum mixed [3,1] [1,4] 2nd", f_maximum, 2, {GC_F(2, 3, 1), GC_F(2, 1, 4)}, 1},
    {"a*maximum(a,b) [3,4] [4]", f_mul_maximum, 2, {GC_F(2, 3, 4), GC_F(1, 4)}, 0},
    {"a*maximum(a,b) [3,4] [4] 2nd", f_mul_maximum, 2, {GC_F(2, 3, 4), GC_F(1, 4)}, 1},
    {"minimum a<b [3,4] [4]", f_minimum, 2, {NEG(2, 3, 4), POS(1, 4)}, 0},
    {"minimum a>b [4] [3,4]", f_minimum, 2, {POS(1, 4), NEG(2, 3, 4)}, 0},
    {"minimum mixed [3,1] [1,4]", f_minimum, 2, {GC_F(2, 3, 1), GC_F(2, 1, 4)}, 0},
    {"minimum mixed [2,3] []", f_minimum, 2, {GC_F(2, 2, 3), GC_F(0, 0)}, 0},
    {"minimum mixed [2,3] [] 2nd", f_minimum, 2, {GC_F(2, 2, 3), GC_F(0, 0)}, 1},
    {"a*minimum(a,b) [3,1] [1,4]", f_mul_minimum, 2, {GC_F(2, 3, 1), GC_F(2, 1, 4)}, 0},
    {"a*minimum(a,b) [3,1] [1,4] 2nd", f_mul_minimum, 2, {GC_F(2, 3, 1), GC_F(2, 1, 4)}, 1},
    {"where [3,4] [4] [3,1]", f_where, 3, {GC_BOOL(2, 3, 4), GC_F(1, 4), GC_F(2, 3, 1)}, 0},
    {"where [2,3] [] [2,3]", f_where, 3, {GC_BOOL(2, 2, 3), GC_F(0, 0), GC_F(2, 2, 3)}, 0},
    {"where [3,1] [1,4] []", f_where, 3, {GC_BOOL(2, 3, 1), GC_F(2, 1, 4), GC_F(0, 0)}, 0},
    {"where [4] [3,4] [3,4]", f_where, 3, {GC_BOOL(1, 4), GC_F(2, 3, 4), GC_F(2, 3, 4)}, 0},
    {"where [3,4] [4] [3,1] 2nd", f_where, 3, {GC_BOOL(2, 3, 4), GC_F(1, 4), GC_F(2, 3, 1)}, 1},
    {"where(m, a*b, a/b) [3,4]",
     f_where_branches,
     3,
     {GC_BOOL(2, 3, 4), GC_F(1, 4), POS(2, 3, 1)},
     0},
    {"where(m, a*b, a/b) [3,4] 2nd",
     f_where_branches,
     3,
     {GC_BOOL(2, 3, 4), GC_F(1, 4), POS(2, 3, 1)},
     1},
    {"where(a>b, a*a, b) [3,1] [4]", f_where_gt, 2, {GC_F(2, 3, 1), GC_F(1, 4)}, 0},
    {"where(a>b, a*a, b) [3,1] [4] 2nd", f_where_gt, 2, {GC_F(2, 3, 1), GC_F(1, 4)}, 1},
    {"where(i32 masks) [3,4]",
     f_where_i32,
     4,
     {GC_I32(2, 3, 4), GC_I32(1, 4), GC_F(2, 3, 1), GC_F(1, 4)},
     0},
    {"where(i32 masks) [3,4] 2nd",
     f_where_i32,
     4,
     {GC_I32(2, 3, 4), GC_I32(1, 4), GC_F(2, 3, 1), GC_F(1, 4)},
     1},
    {"fmod [3,4] [4]", f_fmod, 2, {DIVIDEND(2, 3, 4), DIVISOR(1, 4)}, 0},
    {"fmod [4] [3,4] -/+", f_fmod, 2, {DIVIDEND_NEG(1, 4), DIVISOR(2, 3, 4)}, 0},
    {"fmod [3,1] [1,4] +/-", f_fmod, 2, {DIVIDEND(2, 3, 1), DIVISOR_NEG(2, 1, 4)}, 0},
    {"fmod [] [2,3] -/-", f_fmod, 2, {DIVIDEND_NEG(0, 0), DIVISOR_NEG(2, 2, 3)}, 0},
    {"fmod(a,b)*b [3,4] [4] 2nd", f_fmod_b, 2, {DIVIDEND(2, 3, 4), DIVISOR(1, 4)}, 1},
    {"fmod(a,b)*b [3,1] [1,4] 2nd", f_fmod_b, 2, {DIVIDEND_NEG(2, 3, 1), DIVISOR(2, 1, 4)}, 1},
    {"clamp [3,4]", f_clamp, 1, {GC_F(2, 3, 4)}, 0},
    {"clamp(x)^2 [2,3,4]", f_clamp_sq, 1, {GC_F(3, 2, 3, 4)}, 0},
    {"clamp(x)^2 [2,3,4] 2nd", f_clamp_sq, 1, {GC_F(3, 2, 3, 4)}, 1},
    {"x*clamp(x, -inf, .25) [5]", f_clamp_upper, 1, {GC_F(1, 5)}, 0},
    {"x*clamp(x, -inf, .25) [5] 2nd", f_clamp_upper, 1, {GC_F(1, 5)}, 1},
    {"x+clamp(x, 1, -1) [2,3]", f_clamp_crossed, 1, {GC_F(2, 2, 3)}, 0},
};

int main(void)
{
    return gc_run_table("binary", cases, (int)(sizeof cases / sizeof *cases)) != 0;
}
