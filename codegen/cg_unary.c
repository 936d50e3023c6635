/* cg_unary.c — scalar statements of the elementwise unary ops (operand a, result r). */
#include "cg.h"

/* 1 / sqrt(2), the scale inside the normal CDF. */
#define CG_SQRT1_2 0.707106781186547524400844362105
/* gelu_tanh: sqrt(2 / pi) and the cubic coefficient, as in PyTorch. */
#define CG_GELU_BETA 0.797884560802865355879892119869
#define CG_GELU_KAPPA 0.044715
/* softplus returns x itself above this, as PyTorch's default threshold. */
#define CG_SOFTPLUS_THRESHOLD 20.0

/* r = f(a) for a libm function f. */
static void call(cg_ctx *c, const ir_node *n, const char *base)
{
    cg_line(c, "r = %s(a);", cg_fn(c, n->dtype, base));
}

void cg_ew_neg(cg_ctx *c, const ir_node *n)
{
    (void)n;
    cg_line(c, "r = -a;");
}

void cg_ew_abs(cg_ctx *c, const ir_node *n)
{
    call(c, n, "fabs");
}

/* 0 for 0 and for NaN, as PyTorch. */
void cg_ew_sign(cg_ctx *c, const ir_node *n)
{
    nb_dtype dt = n->dtype;
    cg_line(c, "r = a > %s ? %s : (a < %s ? %s : %s);", cg_lit(c, dt, 0.0), cg_lit(c, dt, 1.0),
            cg_lit(c, dt, 0.0), cg_lit(c, dt, -1.0), cg_lit(c, dt, 0.0));
}

void cg_ew_exp(cg_ctx *c, const ir_node *n)
{
    call(c, n, "exp");
}

void cg_ew_log(cg_ctx *c, const ir_node *n)
{
    call(c, n, "log");
}

void cg_ew_log1p(cg_ctx *c, const ir_node *n)
{
    call(c, n, "log1p");
}

void cg_ew_expm1(cg_ctx *c, const ir_node *n)
{
    call(c, n, "expm1");
}

void cg_ew_sqrt(cg_ctx *c, const ir_node *n)
{
    call(c, n, "sqrt");
}

void cg_ew_rsqrt(cg_ctx *c, const ir_node *n)
{
    cg_line(c, "r = %s / %s(a);", cg_lit(c, n->dtype, 1.0), cg_fn(c, n->dtype, "sqrt"));
}

void cg_ew_square(cg_ctx *c, const ir_node *n)
{
    (void)n;
    cg_line(c, "r = a * a;");
}

void cg_ew_reciprocal(cg_ctx *c, const ir_node *n)
{
    cg_line(c, "r = %s / a;", cg_lit(c, n->dtype, 1.0));
}

void cg_ew_sin(cg_ctx *c, const ir_node *n)
{
    call(c, n, "sin");
}

void cg_ew_cos(cg_ctx *c, const ir_node *n)
{
    call(c, n, "cos");
}

void cg_ew_tanh(cg_ctx *c, const ir_node *n)
{
    call(c, n, "tanh");
}

/* With e = exp(-|a|) <= 1 nothing overflows: 1 / (1 + e) for a >= 0 and
 * e / (1 + e) for a < 0, which keeps tiny results like sigmoid(-100) = 3.7e-44. */
void cg_ew_sigmoid(cg_ctx *c, const ir_node *n)
{
    nb_dtype dt = n->dtype;
    const char *ty = cg_ctype(dt);
    cg_line(c, "const %s e = %s(-%s(a));", ty, cg_fn(c, dt, "exp"), cg_fn(c, dt, "fabs"));
    cg_line(c, "const %s s = %s / (%s + e);", ty, cg_lit(c, dt, 1.0), cg_lit(c, dt, 1.0));
    cg_line(c, "r = a >= %s ? s : e * s;", cg_lit(c, dt, 0.0));
}

/* Written so that NaN and -0 pass through, as PyTorch's relu. */
void cg_ew_relu(cg_ctx *c, const ir_node *n)
{
    cg_line(c, "r = a < %s ? %s : a;", cg_lit(c, n->dtype, 0.0), cg_lit(c, n->dtype, 0.0));
}

void cg_ew_leaky_relu(cg_ctx *c, const ir_node *n)
{
    nb_dtype dt = n->dtype;
    cg_line(c, "r = a > %s ? a : a * %s;", cg_lit(c, dt, 0.0), cg_lit(c, dt, n->attr.f[0]));
}

void cg_ew_elu(cg_ctx *c, const ir_node *n)
{
    nb_dtype dt = n->dtype;
    cg_line(c, "r = a > %s ? a : %s * %s(a);", cg_lit(c, dt, 0.0), cg_lit(c, dt, n->attr.f[0]),
            cg_fn(c, dt, "expm1"));
}

/* x Phi(x) with Phi(x) = (1 + erf(x / sqrt 2)) / 2. */
void cg_ew_gelu(cg_ctx *c, const ir_node *n)
{
    nb_dtype dt = n->dtype;
    cg_line(c, "const %s cdf = %s * (%s + %s(a * %s));", cg_ctype(dt), cg_lit(c, dt, 0.5),
            cg_lit(c, dt, 1.0), cg_fn(c, dt, "erf"), cg_lit(c, dt, CG_SQRT1_2));
    cg_line(c, "r = a * cdf;");
}

/* x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), PyTorch's approximate='tanh'. */
void cg_ew_gelu_tanh(cg_ctx *c, const ir_node *n)
{
    nb_dtype dt = n->dtype;
    const char *ty = cg_ctype(dt);
    cg_line(c, "const %s cube = a * a * a;", ty);
    cg_line(c, "const %s u = %s * (a + %s * cube);", ty, cg_lit(c, dt, CG_GELU_BETA),
            cg_lit(c, dt, CG_GELU_KAPPA));
    cg_line(c, "r = %s * a * (%s + %s(u));", cg_lit(c, dt, 0.5), cg_lit(c, dt, 1.0),
            cg_fn(c, dt, "tanh"));
}

/* x / (1 + exp(-x)), as PyTorch: exp overflows to inf for very negative x, r -> -0. */
void cg_ew_silu(cg_ctx *c, const ir_node *n)
{
    nb_dtype dt = n->dtype;
    cg_line(c, "r = a / (%s + %s(-a));", cg_lit(c, dt, 1.0), cg_fn(c, dt, "exp"));
}

/* log1p(exp(x)), and x itself above 20 where the two agree to the last bit. */
void cg_ew_softplus(cg_ctx *c, const ir_node *n)
{
    nb_dtype dt = n->dtype;
    cg_line(c, "r = a > %s ? a : %s(%s(a));", cg_lit(c, dt, CG_SOFTPLUS_THRESHOLD),
            cg_fn(c, dt, "log1p"), cg_fn(c, dt, "exp"));
}

void cg_ew_copy(cg_ctx *c, const ir_node *n)
{
    (void)n;
    cg_line(c, "r = a;");
}

void cg_ew_cast(cg_ctx *c, const ir_node *n)
{
    cg_line(c, "r = (%s)a;", cg_ctype(n->dtype));
}

void cg_ew_normal_cdf(cg_ctx *c, const ir_node *n)
{
    nb_dtype dt = n->dtype;
    cg_line(c, "r = %s * (%s + %s(a * %s));", cg_lit(c, dt, 0.5), cg_lit(c, dt, 1.0),
            cg_fn(c, dt, "erf"), cg_lit(c, dt, CG_SQRT1_2));
}
