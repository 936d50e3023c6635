/* cg_math.c — nabla's own f32 math as C text written into each program that uses it:
 * exp, expm1, tanh, log, log1p and erf computed in double with plain arithmetic, integer
 * bit operations and selects, no branches and no calls. cc vectorizes the elementwise
 * loops around them (a libm call stops it), and tcc, cc and the exported source compile
 * the same text, so every backend computes the same bits with no dependence on the libm
 * version. Results are within 0.51 ulp of the exact value; docs/performance.md lists the
 * measured error of each function and its special cases. */
#include <string.h>

#include "cg.h"

/* The line that ends the text (tests find the text by it). */
#define CG_MATH_END "/* end of nabla's own math */"

/* Pieces of text shared by the functions, written once, in this order, before them. */
enum {
    CG_MATH_ASF,   /* float from its bits */
    CG_MATH_EXP_Q, /* e^x as 2^k (1 + q) */
    CG_MATH_LOG_D, /* log of a positive normal double */
    CG_MATH_PIECES
};

/* What each function of cg_math.def needs: a set of pieces (bit i for piece i). */
#define CG_MATH_NEEDS_EXP (1u << CG_MATH_EXP_Q)
#define CG_MATH_NEEDS_LOG (1u << CG_MATH_ASF | 1u << CG_MATH_LOG_D)

static const char *const cg_math_pieces[CG_MATH_PIECES] = {
    [CG_MATH_ASF] = "/* A float from its bits (a union: C99, and compilers vectorize it). */\n"
                    "static float nbm_asf(unsigned int u)\n"
                    "{\n"
                    "    union { unsigned int u; float f; } v;\n"
                    "    v.u = u;\n"
                    "    return v.f;\n"
                    "}\n",
    [CG_MATH_EXP_Q] =
        "/* e^x = s (1 + q) with s = 2^k, k = round(x / ln 2), q = e^r - 1 by its Taylor series\n"
        " * to r^9 for |r| <= ln(2) / 2 (truncation below 2^-36). x is finite, |x| <= 300. */\n"
        "static double nbm_exp_q(double x, double *s)\n"
        "{\n"
        "    union { double d; unsigned long long u; } k, b;\n"
        "    k.d = x * 0x1.71547652b82fep+0 + 0x1.8p52;\n"
        "    double kd = k.d - 0x1.8p52;\n"
        "    double r = x - kd * 0x1.62e42fefa39efp-1;\n"
        "    double p = 0x1.71de3a556c734p-19;\n"
        "    p = p * r + 0x1.a01a01a01a01ap-16;\n"
        "    p = p * r + 0x1.a01a01a01a01ap-13;\n"
        "    p = p * r + 0x1.6c16c16c16c17p-10;\n"
        "    p = p * r + 0x1.1111111111111p-7;\n"
        "    p = p * r + 0x1.5555555555555p-5;\n"
        "    p = p * r + 0x1.5555555555555p-3;\n"
        "    p = p * r + 0x1p-1;\n"
        "    p = p * r + 1.0;\n"
        "    b.u = (k.u + 1023) << 52;\n"
        "    *s = b.d;\n"
        "    return p * r;\n"
        "}\n",
    [CG_MATH_LOG_D] =
        "/* log(y) for a positive normal y: y = 2^e z with z in [sqrt(1/2), sqrt(2)),\n"
        " * log z = 2 atanh(f / (2 + f)) with f = z - 1 exact, series to s^13 (below 2^-38). */\n"
        "static double nbm_log_d(double y)\n"
        "{\n"
        "    union { double d; unsigned long long u; } v, ev, zv;\n"
        "    v.d = y;\n"
        "    ev.u = (v.u >> 52) | 0x4330000000000000ULL;\n"
        "    zv.u = (v.u & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;\n"
        "    double e = ev.d - 0x1.00000000003ffp52;\n"
        "    double z = zv.d;\n"
        "    double big = z > 0x1.6a09e667f3bcdp+0 ? 1.0 : 0.0;\n"
        "    z = z * (1.0 - 0.5 * big);\n"
        "    e = e + big;\n"
        "    double f = z - 1.0;\n"
        "    double s = f / (2.0 + f);\n"
        "    double w = s * s;\n"
        "    double p = 0x1.3b13b13b13b14p-4;\n"
        "    p = p * w + 0x1.745d1745d1746p-4;\n"
        "    p = p * w + 0x1.c71c71c71c71cp-4;\n"
        "    p = p * w + 0x1.2492492492492p-3;\n"
        "    p = p * w + 0x1.999999999999ap-3;\n"
        "    p = p * w + 0x1.5555555555555p-2;\n"
        "    return e * 0x1.62e42fefa39efp-1 + (s + s + (s + s) * (p * w));\n"
        "}\n",
};

static const char *const cg_math_text[CG_MATH_COUNT] = {
    [CG_MATH_expf] =
        "/* Clamped to +-300 (beyond it every float result is inf or 0 anyway) so that k fits\n"
        " * the exponent of s; NaN passes the clamps and stays NaN. */\n"
        "static float nbm_expf(float x)\n"
        "{\n"
        "    double d = x;\n"
        "    d = d > 300.0 ? 300.0 : d;\n"
        "    d = d < -300.0 ? -300.0 : d;\n"
        "    double s, q = nbm_exp_q(d, &s);\n"
        "    return (float)(s + s * q);\n"
        "}\n",
    [CG_MATH_expm1f] = "/* s q + (s - 1): exact s - 1, so small results keep their relative "
                       "accuracy; -0 kept. */\n"
                       "static float nbm_expm1f(float x)\n"
                       "{\n"
                       "    double d = x;\n"
                       "    d = d > 300.0 ? 300.0 : d;\n"
                       "    d = d < -300.0 ? -300.0 : d;\n"
                       "    double s, q = nbm_exp_q(d, &s);\n"
                       "    float y = (float)(s * q + (s - 1.0));\n"
                       "    return x == 0 ? x : y;\n"
                       "}\n",
    [CG_MATH_tanhf] =
        "/* tanh |x| = t / (t + 2) with t = e^(2|x|) - 1, odd; |x| clamped to 10 where the float\n"
        " * result is 1; -0 kept. */\n"
        "static float nbm_tanhf(float x)\n"
        "{\n"
        "    double a = x < 0 ? -(double)x : (double)x;\n"
        "    a = a > 10.0 ? 10.0 : a;\n"
        "    double s, q = nbm_exp_q(a + a, &s);\n"
        "    double t = s * q + (s - 1.0);\n"
        "    double y = t / (t + 2.0);\n"
        "    float r = (float)(x < 0 ? -y : y);\n"
        "    return x == 0 ? x : r;\n"
        "}\n",
    [CG_MATH_logf] = "/* The core on the exact double of x (float subnormals are normal doubles); "
                     "zero, negative,\n"
                     " * +inf and NaN are selected afterwards as libm returns them. */\n"
                     "static float nbm_logf(float x)\n"
                     "{\n"
                     "    float r = (float)nbm_log_d(x > 0 ? (double)x : 1.0);\n"
                     "    r = x == 0 ? nbm_asf(0xff800000u) : r;\n"
                     "    r = x < 0 ? nbm_asf(0x7fc00000u) : r;\n"
                     "    r = x > 0x1.fffffep+127f ? x : r;\n"
                     "    return x != x ? x : r;\n"
                     "}\n",
    [CG_MATH_log1pf] =
        "/* log(1 + x) = log(y) + c / y with y = 1 + x rounded and c what the rounding lost. */\n"
        "static float nbm_log1pf(float x)\n"
        "{\n"
        "    double d = x;\n"
        "    double y = x > -1 ? 1.0 + d : 1.0;\n"
        "    double c = x > -1 ? d - (y - 1.0) : 0.0;\n"
        "    float r = (float)(nbm_log_d(y) + c / y);\n"
        "    r = x == -1 ? nbm_asf(0xff800000u) : r;\n"
        "    r = x < -1 ? nbm_asf(0x7fc00000u) : r;\n"
        "    r = x > 0x1.fffffep+127f ? x : r;\n"
        "    r = x == 0 ? x : r;\n"
        "    return x != x ? x : r;\n"
        "}\n",
    [CG_MATH_erff] =
        "/* Odd; |x| < 1: x P(x^2); 1 <= |x| <= 4: 1 - e^(-x^2) G(|x|), G = erfc(x) e^(x^2); P and "
        "G\n"
        " * Chebyshev series (relative error below 2^-39), evaluated by Clenshaw's recurrence.\n"
        " * Above 4 the float result is 1. */\n"
        "static float nbm_erff(float x)\n"
        "{\n"
        "    double a = x < 0 ? -(double)x : (double)x;\n"
        "    a = a > 4.0 ? 4.0 : a;\n"
        "    double u = a * a;\n"
        "    double ts = u + u - 1.0;\n"
        "    double tl = (a + a - 5.0) * 0x1.5555555555555p-2;\n"
        "    double p_y = ts + ts, p_b1 = 0x1.1c43a71c71c72p-35, p_b2 = 0.0, p_b;\n"
        "    p_b = p_y * p_b1 - p_b2 - 0x1.44977038e38e4p-30;\n"
        "    p_b2 = p_b1;\n"
        "    p_b1 = p_b;\n"
        "    p_b = p_y * p_b1 - p_b2 + 0x1.4a9dab4e38e39p-25;\n"
        "    p_b2 = p_b1;\n"
        "    p_b1 = p_b;\n"
        "    p_b = p_y * p_b1 - p_b2 - 0x1.28701fce38e39p-20;\n"
        "    p_b2 = p_b1;\n"
        "    p_b1 = p_b;\n"
        "    p_b = p_y * p_b1 - p_b2 + 0x1.cc07b53e971c7p-16;\n"
        "    p_b2 = p_b1;\n"
        "    p_b1 = p_b;\n"
        "    p_b = p_y * p_b1 - p_b2 - 0x1.2e730c943cd55p-11;\n"
        "    p_b2 = p_b1;\n"
        "    p_b1 = p_b;\n"
        "    p_b = p_y * p_b1 - p_b2 + 0x1.48d890a5623abp-7;\n"
        "    p_b2 = p_b1;\n"
        "    p_b1 = p_b;\n"
        "    p_b = p_y * p_b1 - p_b2 - 0x1.2359d7bb47ad1p-3;\n"
        "    p_b2 = p_b1;\n"
        "    p_b1 = p_b;\n"
        "    double p = ts * p_b1 - p_b2 + 0x1.f371b6a14d254p-1;\n"
        "    double g_y = tl + tl, g_b1 = -0x1.36ac1c71c71c7p-40, g_b2 = 0.0, g_b;\n"
        "    g_b = g_y * g_b1 - g_b2 + 0x1.d737dc71c71c7p-38;\n"
        "    g_b2 = g_b1;\n"
        "    g_b1 = g_b;\n"
        "    g_b = g_y * g_b1 - g_b2 - 0x1.55fb6c71c71c7p-35;\n"
        "    g_b2 = g_b1;\n"
        "    g_b1 = g_b;\n"
        "    g_b = g_y * g_b1 - g_b2 + 0x1.e6ad0c0000000p-33;\n"
        "    g_b2 = g_b1;\n"
        "    g_b1 = g_b;\n"
        "    g_b = g_y * g_b1 - g_b2 - 0x1.5372dbe38e38ep-30;\n"
        "    g_b2 = g_b1;\n"
        "    g_b1 = g_b;\n"
        "    g_b = g_y * g_b1 - g_b2 + 0x1.cfb112b1c71c7p-28;\n"
        "    g_b2 = g_b1;\n"
        "    g_b1 = g_b;\n"
        "    g_b = g_y * g_b1 - g_b2 - 0x1.35c7d46955555p-25;\n"
        "    g_b2 = g_b1;\n"
        "    g_b1 = g_b;\n"
        "    g_b = g_y * g_b1 - g_b2 + 0x1.94598f4fc71c7p-23;\n"
        "    g_b2 = g_b1;\n"
        "    g_b1 = g_b;\n"
        "    g_b = g_y * g_b1 - g_b2 - 0x1.016d995e55555p-20;\n"
        "    g_b2 = g_b1;\n"
        "    g_b1 = g_b;\n"
        "    g_b = g_y * g_b1 - g_b2 + 0x1.3f3a7c24238e4p-18;\n"
        "    g_b2 = g_b1;\n"
        "    g_b1 = g_b;\n"
        "    g_b = g_y * g_b1 - g_b2 - 0x1.80d018509a38ep-16;\n"
        "    g_b2 = g_b1;\n"
        "    g_b1 = g_b;\n"
        "    g_b = g_y * g_b1 - g_b2 + 0x1.c1f0511e0c000p-14;\n"
        "    g_b2 = g_b1;\n"
        "    g_b1 = g_b;\n"
        "    g_b = g_y * g_b1 - g_b2 - 0x1.fcfa3d136c800p-12;\n"
        "    g_b2 = g_b1;\n"
        "    g_b1 = g_b;\n"
        "    g_b = g_y * g_b1 - g_b2 + 0x1.15aa8393bd2e4p-9;\n"
        "    g_b2 = g_b1;\n"
        "    g_b1 = g_b;\n"
        "    g_b = g_y * g_b1 - g_b2 - 0x1.231d388285aa7p-7;\n"
        "    g_b2 = g_b1;\n"
        "    g_b1 = g_b;\n"
        "    g_b = g_y * g_b1 - g_b2 + 0x1.23ec403b6e0e7p-5;\n"
        "    g_b2 = g_b1;\n"
        "    g_b1 = g_b;\n"
        "    g_b = g_y * g_b1 - g_b2 - 0x1.165205361f2fep-3;\n"
        "    g_b2 = g_b1;\n"
        "    g_b1 = g_b;\n"
        "    double g = tl * g_b1 - g_b2 + 0x1.f4957d364d197p-3;\n"
        "    double s, q = nbm_exp_q(-u, &s);\n"
        "    double y = a < 1.0 ? a * p : 1.0 - (s + s * q) * g;\n"
        "    float r = (float)(x < 0 ? -y : y);\n"
        "    return x == 0 ? x : r;\n"
        "}\n",
};

static const unsigned cg_math_needs[CG_MATH_COUNT] = {
#define CG_MATH(fn, needs) needs,
#include "cg_math.def"
#undef CG_MATH
};

static const char *const cg_math_names[CG_MATH_COUNT] = {
#define CG_MATH(fn, needs) #fn,
#include "cg_math.def"
#undef CG_MATH
};

static const char *const cg_math_own[CG_MATH_COUNT] = {
#define CG_MATH(fn, needs) "nbm_" #fn,
#include "cg_math.def"
#undef CG_MATH
};

int cg_math_find(const char *libm_name)
{
    for (int i = 0; i < CG_MATH_COUNT; i++)
        if (strcmp(cg_math_names[i], libm_name) == 0)
            return i;
    return -1;
}

const char *cg_math_name(int i)
{
    return cg_math_own[i];
}

void cg_math_put(ir_text *out, const unsigned char *used)
{
    unsigned needs = 0;
    for (int i = 0; i < CG_MATH_COUNT; i++)
        if (used[i])
            needs |= cg_math_needs[i];
    if (!needs)
        return;
    ir_text_puts(out,
                 "/* nabla's own math (codegen/cg_math.c): the same bits on every backend. */\n");
    for (int i = 0; i < CG_MATH_PIECES; i++)
        if (needs & 1u << i) {
            ir_text_puts(out, cg_math_pieces[i]);
            ir_text_putc(out, '\n');
        }
    for (int i = 0; i < CG_MATH_COUNT; i++)
        if (used[i]) {
            ir_text_puts(out, cg_math_text[i]);
            ir_text_putc(out, '\n');
        }
    ir_text_puts(out, CG_MATH_END "\n\n");
}
