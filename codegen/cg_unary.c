/* cg_unary.c — expressions of the elementwise unary ops (operand 0 is x). */
#include "cg.h"

/* 1 / sqrt(2), the scale inside the normal CDF. */
#define CG_SQRT1_2 0.707106781186547524400844362105
/* gelu_tanh: sqrt(2 / pi) and the cubic coefficient, as in PyTorch. */
#define CG_GELU_BETA 0.797884560802865355879892119869
#define CG_GELU_KAPPA 0.044715
/* softplus returns x itself above this, as PyTorch's default threshold. */
#define CG_SOFTPLUS_THRESHOLD 20.0

/* f(x) for a libm function f. */
static void call(cg_ew *e, const char *base)
{
    cg_ew_call(e, base);
    cg_ew_x(e, 0);
    cg_ew_close(e);
}

void cg_ew_neg(cg_ew *e, const ir_node *n)
{
    (void)n;
    cg_ew_s(e, "-");
    cg_ew_x(e, 0);
}

void cg_ew_abs(cg_ew *e, const ir_node *n)
{
    (void)n;
    call(e, "fabs");
}

/* 0 for 0 and for NaN, as PyTorch: x > 0 ? 1 : (x < 0 ? -1 : 0). */
void cg_ew_sign(cg_ew *e, const ir_node *n)
{
    (void)n;
    cg_ew_x(e, 0);
    cg_ew_s(e, " > ");
    cg_ew_lit(e, 0.0);
    cg_ew_s(e, " ? ");
    cg_ew_lit(e, 1.0);
    cg_ew_s(e, " : (");
    cg_ew_x(e, 0);
    cg_ew_s(e, " < ");
    cg_ew_lit(e, 0.0);
    cg_ew_s(e, " ? ");
    cg_ew_lit(e, -1.0);
    cg_ew_s(e, " : ");
    cg_ew_lit(e, 0.0);
    cg_ew_s(e, ")");
}

void cg_ew_floor(cg_ew *e, const ir_node *n)
{
    (void)n;
    call(e, "floor");
}

void cg_ew_ceil(cg_ew *e, const ir_node *n)
{
    (void)n;
    call(e, "ceil");
}

/* Half to even, as torch.round: nearbyint rounds in the current mode, which the
 * generated code leaves at the default, round to nearest even (rint would too, but
 * nearbyint raises no inexact flag). */
void cg_ew_round(cg_ew *e, const ir_node *n)
{
    (void)n;
    call(e, "nearbyint");
}

void cg_ew_trunc(cg_ew *e, const ir_node *n)
{
    (void)n;
    call(e, "trunc");
}

void cg_ew_exp(cg_ew *e, const ir_node *n)
{
    (void)n;
    call(e, "exp");
}

void cg_ew_log(cg_ew *e, const ir_node *n)
{
    (void)n;
    call(e, "log");
}

void cg_ew_log1p(cg_ew *e, const ir_node *n)
{
    (void)n;
    call(e, "log1p");
}

void cg_ew_expm1(cg_ew *e, const ir_node *n)
{
    (void)n;
    call(e, "expm1");
}

void cg_ew_sqrt(cg_ew *e, const ir_node *n)
{
    (void)n;
    call(e, "sqrt");
}

/* 1 / sqrt(x) */
void cg_ew_rsqrt(cg_ew *e, const ir_node *n)
{
    (void)n;
    cg_ew_lit(e, 1.0);
    cg_ew_s(e, " / ");
    call(e, "sqrt");
}

void cg_ew_square(cg_ew *e, const ir_node *n)
{
    (void)n;
    cg_ew_x(e, 0);
    cg_ew_s(e, " * ");
    cg_ew_x(e, 0);
}

void cg_ew_reciprocal(cg_ew *e, const ir_node *n)
{
    (void)n;
    cg_ew_lit(e, 1.0);
    cg_ew_s(e, " / ");
    cg_ew_x(e, 0);
}

void cg_ew_sin(cg_ew *e, const ir_node *n)
{
    (void)n;
    call(e, "sin");
}

void cg_ew_cos(cg_ew *e, const ir_node *n)
{
    (void)n;
    call(e, "cos");
}

void cg_ew_tanh(cg_ew *e, const ir_node *n)
{
    (void)n;
    call(e, "tanh");
}

/* With e = exp(-|x|) <= 1 nothing overflows: 1 / (1 + e) for x >= 0 and
 * e / (1 + e) for x < 0, which keeps tiny results like sigmoid(-100) = 3.7e-44.
 * e and s are read twice: locals. runtime/rt_math.c's nb_rt_sigmoidf_block (tcc's
 * blocked loops) computes the same operations: change both. */
void cg_ew_sigmoid(cg_ew *e, const ir_node *n)
{
    (void)n;
    cg_ew_call(e, "exp");
    cg_ew_s(e, "-");
    call(e, "fabs");
    cg_ew_close(e);
    cg_ew_let(e, "e");
    cg_ew_lit(e, 1.0);
    cg_ew_s(e, " / (");
    cg_ew_lit(e, 1.0);
    cg_ew_s(e, " + ");
    cg_ew_local(e, "e");
    cg_ew_s(e, ")");
    cg_ew_let(e, "s");
    cg_ew_x(e, 0);
    cg_ew_s(e, " >= ");
    cg_ew_lit(e, 0.0);
    cg_ew_s(e, " ? ");
    cg_ew_local(e, "s");
    cg_ew_s(e, " : ");
    cg_ew_local(e, "e");
    cg_ew_s(e, " * ");
    cg_ew_local(e, "s");
}

/* Written so that NaN and -0 pass through, as PyTorch's relu: x < 0 ? 0 : x. */
void cg_ew_relu(cg_ew *e, const ir_node *n)
{
    (void)n;
    cg_ew_x(e, 0);
    cg_ew_s(e, " < ");
    cg_ew_lit(e, 0.0);
    cg_ew_s(e, " ? ");
    cg_ew_lit(e, 0.0);
    cg_ew_s(e, " : ");
    cg_ew_x(e, 0);
}

/* x > 0 ? x : x * slope */
void cg_ew_leaky_relu(cg_ew *e, const ir_node *n)
{
    cg_ew_x(e, 0);
    cg_ew_s(e, " > ");
    cg_ew_lit(e, 0.0);
    cg_ew_s(e, " ? ");
    cg_ew_x(e, 0);
    cg_ew_s(e, " : ");
    cg_ew_x(e, 0);
    cg_ew_s(e, " * ");
    cg_ew_lit(e, n->attr.f[0]);
}

/* x > 0 ? x : alpha * expm1(x) */
void cg_ew_elu(cg_ew *e, const ir_node *n)
{
    cg_ew_x(e, 0);
    cg_ew_s(e, " > ");
    cg_ew_lit(e, 0.0);
    cg_ew_s(e, " ? ");
    cg_ew_x(e, 0);
    cg_ew_s(e, " : ");
    cg_ew_lit(e, n->attr.f[0]);
    cg_ew_s(e, " * ");
    call(e, "expm1");
}

/* 0.5 * (1 + erf(x * (1 / sqrt 2))): Phi(x), the normal CDF. */
static void normal_cdf(cg_ew *e)
{
    cg_ew_lit(e, 0.5);
    cg_ew_s(e, " * (");
    cg_ew_lit(e, 1.0);
    cg_ew_s(e, " + ");
    cg_ew_call(e, "erf");
    cg_ew_x(e, 0);
    cg_ew_s(e, " * ");
    cg_ew_lit(e, CG_SQRT1_2);
    cg_ew_close(e);
    cg_ew_s(e, ")");
}

/* x Phi(x), Phi in a local as it has always been computed: cdf = Phi(x); x * cdf. */
void cg_ew_gelu(cg_ew *e, const ir_node *n)
{
    (void)n;
    normal_cdf(e);
    cg_ew_let(e, "cdf");
    cg_ew_x(e, 0);
    cg_ew_s(e, " * ");
    cg_ew_local(e, "cdf");
}

/* x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), PyTorch's approximate='tanh':
 * cube = x * x * x; u = beta * (x + kappa * cube); 0.5 * x * (1 + tanh(u)). */
void cg_ew_gelu_tanh(cg_ew *e, const ir_node *n)
{
    (void)n;
    cg_ew_x(e, 0);
    cg_ew_s(e, " * ");
    cg_ew_x(e, 0);
    cg_ew_s(e, " * ");
    cg_ew_x(e, 0);
    cg_ew_let(e, "cube");
    cg_ew_lit(e, CG_GELU_BETA);
    cg_ew_s(e, " * (");
    cg_ew_x(e, 0);
    cg_ew_s(e, " + ");
    cg_ew_lit(e, CG_GELU_KAPPA);
    cg_ew_s(e, " * ");
    cg_ew_local(e, "cube");
    cg_ew_s(e, ")");
    cg_ew_let(e, "u");
    cg_ew_lit(e, 0.5);
    cg_ew_s(e, " * ");
    cg_ew_x(e, 0);
    cg_ew_s(e, " * (");
    cg_ew_lit(e, 1.0);
    cg_ew_s(e, " + ");
    cg_ew_call(e, "tanh");
    cg_ew_local(e, "u");
    cg_ew_close(e);
    cg_ew_s(e, ")");
}

/* x / (1 + exp(-x)), as PyTorch: exp overflows to inf for very negative x, r -> -0. */
void cg_ew_silu(cg_ew *e, const ir_node *n)
{
    (void)n;
    cg_ew_x(e, 0);
    cg_ew_s(e, " / (");
    cg_ew_lit(e, 1.0);
    cg_ew_s(e, " + ");
    cg_ew_call(e, "exp");
    cg_ew_s(e, "-");
    cg_ew_x(e, 0);
    cg_ew_close(e);
    cg_ew_s(e, ")");
}

/* log1p(exp(x)), and x itself above 20 where the two agree to the last bit. */
void cg_ew_softplus(cg_ew *e, const ir_node *n)
{
    (void)n;
    cg_ew_x(e, 0);
    cg_ew_s(e, " > ");
    cg_ew_lit(e, CG_SOFTPLUS_THRESHOLD);
    cg_ew_s(e, " ? ");
    cg_ew_x(e, 0);
    cg_ew_s(e, " : ");
    cg_ew_call(e, "log1p");
    call(e, "exp");
    cg_ew_close(e);
}

void cg_ew_copy(cg_ew *e, const ir_node *n)
{
    (void)n;
    cg_ew_x(e, 0);
}

/* (T)x; a float to i32 truncates toward zero (torch's .to(torch.int32)) where the result
 * fits, and is otherwise defined here rather than left to C, where converting NaN or an
 * out-of-range float to int is undefined (torch gives what the CPU's instruction gives,
 * INT_MIN on x86): NaN -> 0, x >= 2^31 -> INT_MAX, x <= -2^31 - 1 -> INT_MIN. The bounds
 * are double literals: an f32 x compares exactly after promotion. */
void cg_ew_cast(cg_ew *e, const ir_node *n)
{
    if (n->dtype == NB_I32 && ir_is_float(n->in[0]->dtype)) {
        cg_ew_x(e, 0);
        cg_ew_s(e, " != ");
        cg_ew_x(e, 0);
        cg_ew_s(e, " ? 0 : ");
        cg_ew_x(e, 0);
        cg_ew_s(e, " >= 2147483648.0 ? 2147483647 : ");
        cg_ew_x(e, 0);
        cg_ew_s(e, " <= -2147483649.0 ? -2147483647 - 1 : (int)");
        cg_ew_x(e, 0);
        return;
    }
    cg_ew_s(e, "(");
    cg_ew_s(e, cg_ctype(n->dtype));
    cg_ew_s(e, ")");
    cg_ew_x(e, 0);
}

void cg_ew_normal_cdf(cg_ew *e, const ir_node *n)
{
    (void)n;
    normal_cdf(e);
}

/* erf: nabla's own erff in f32 (cg_math.def), libm's erf in f64. */
void cg_ew_erf(cg_ew *e, const ir_node *n)
{
    (void)n;
    call(e, "erf");
}
