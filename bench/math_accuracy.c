/* math_accuracy.c — a tool, not a test: the error of nabla's own f32 math (exp, expm1,
 * tanh, log, log1p; codegen/cg_math.c) over every one of the 2^32 float inputs, through
 * compiled programs (cc backend), in ulps against libm's f64 functions (correctly
 * rounded in all but rare cases, so a reference 2^29 times finer than f32), next to the
 * error of libm's own f32 functions, and how often the two f32 results differ. The
 * programs run with IEEE subnormals (the accuracy is IEEE's); a twin under the default
 * NB_DENORMALS_FLUSH must give the same bits wherever input and result are normal
 * (counted: "flush differs").
 *
 * Usage: bench_math_accuracy [--step S]   (every S-th bit pattern; default 1: all)
 * All inputs take minutes of one core: run it on a quiet machine (nice). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nabla.h"

/* Inputs per run of the program. */
#define CHUNK (1u << 22)

enum { F_EXP, F_EXPM1, F_TANH, F_LOG, F_LOG1P, F_COUNT };
static const char *const names[F_COUNT] = {"expf", "expm1f", "tanhf", "logf", "log1pf"};

static double ref(int f, double x)
{
    switch (f) {
    case F_EXP: return exp(x);
    case F_EXPM1: return expm1(x);
    case F_TANH: return tanh(x);
    case F_LOG: return log(x);
    default: return log1p(x);
    }
}

static float libm(int f, float x)
{
    switch (f) {
    case F_EXP: return expf(x);
    case F_EXPM1: return expm1f(x);
    case F_TANH: return tanhf(x);
    case F_LOG: return logf(x);
    default: return log1pf(x);
    }
}

/* |y - t| in f32 ulps at t; 0 when both are the same NaN-ness or the same infinity
 * after rounding t; a large number when a NaN or an infinity is wrong. */
static double ulps(float y, double t)
{
    if (isnan(t) || isnan(y))
        return isnan(t) && isnan(y) ? 0 : INFINITY;
    float tf = (float)t;
    if (isinf(tf) || isinf(y))
        return y == tf ? 0 : INFINITY;
    int e;
    frexp(fabs(t), &e);
    if (e - 1 < -126)
        e = -125;
    return fabs((double)y - t) / ldexp(1.0, e - 1 - 23);
}

int main(int argc, char **argv)
{
    uint64_t step = 1;
    if (argc == 3 && strcmp(argv[1], "--step") == 0)
        step = strtoull(argv[2], NULL, 10);
    if (step < 1 || (argc != 1 && argc != 3)) {
        fprintf(stderr, "usage: %s [--step S]\n", argv[0]);
        return 2;
    }
    nb_graph *g = nb_graph_new();
    int64_t n = CHUNK;
    nb_node *x = nb_input(g, "x", NB_F32, 1, &n);
    nb_node *y[F_COUNT] = {nb_exp(g, x), nb_expm1(g, x), nb_tanh(g, x), nb_log(g, x),
                           nb_log1p(g, x)};
    nb_compile_options opt = {.outputs = y,
                              .n_outputs = F_COUNT,
                              .backend = NB_BACKEND_CC,
                              .denormals = NB_DENORMALS_IEEE};
    nb_program *p = nb_compile(g, &opt);
    opt.denormals = NB_DENORMALS_FLUSH;
    nb_program *pf = p ? nb_compile(g, &opt) : NULL;
    float *in = malloc(CHUNK * sizeof *in);
    if (!p || !pf || !in) {
        fprintf(stderr, "bench_math_accuracy: %s\n", p && pf ? "out of memory" : nb_graph_error(g));
        return 1;
    }
    nb_graph_free(g);
    double worst[F_COUNT] = {0}, worst_libm[F_COUNT] = {0};
    float at[F_COUNT] = {0}, at_libm[F_COUNT] = {0};
    uint64_t differ[F_COUNT] = {0}, flush_differs[F_COUNT] = {0}, total = 0;
    for (uint64_t u = 0; u < (1ull << 32);) {
        uint32_t k = 0;
        for (; k < CHUNK && u < (1ull << 32); k++, u += step) {
            uint32_t bits = (uint32_t)u;
            memcpy(&in[k], &bits, sizeof bits);
        }
        for (uint32_t i = k; i < CHUNK; i++)
            in[i] = 0;
        if (nb_program_bind(p, "x", in) != 0 || nb_program_run(p) != 0 ||
            nb_program_bind(pf, "x", in) != 0 || nb_program_run(pf) != 0) {
            fprintf(stderr, "bench_math_accuracy: %s %s\n", nb_program_error(p),
                    nb_program_error(pf));
            return 1;
        }
        for (int f = 0; f < F_COUNT; f++) {
            const float *out = nb_program_output(p, f), *outf = nb_program_output(pf, f);
            for (uint32_t i = 0; i < k; i++) {
                int normal =
                    fpclassify(in[i]) != FP_SUBNORMAL && fpclassify(out[i]) != FP_SUBNORMAL;
                flush_differs[f] += normal && memcmp(&out[i], &outf[i], sizeof *out) != 0 &&
                                    !(isnan(out[i]) && isnan(outf[i]));
                double t = ref(f, in[i]);
                float l = libm(f, in[i]);
                double e = ulps(out[i], t), el = ulps(l, t);
                if (e > worst[f])
                    worst[f] = e, at[f] = in[i];
                if (el > worst_libm[f])
                    worst_libm[f] = el, at_libm[f] = in[i];
                differ[f] += memcmp(&l, &out[i], sizeof l) != 0 && !(isnan(l) && isnan(out[i]));
            }
        }
        total += k;
    }
    printf("%llu inputs (every %llu-th bit pattern), error in f32 ulps against libm f64:\n",
           (unsigned long long)total, (unsigned long long)step);
    for (int f = 0; f < F_COUNT; f++)
        printf("  %-7s nabla max %.4f ulp at %a   libm max %.4f ulp at %a   results differ "
               "on %llu inputs   flush differs on %llu\n",
               names[f], worst[f], at[f], worst_libm[f], at_libm[f], (unsigned long long)differ[f],
               (unsigned long long)flush_differs[f]);
    nb_program_free(p);
    nb_program_free(pf);
    free(in);
    return 0;
}
