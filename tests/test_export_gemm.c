/* test_export_gemm.c — the gemm of exported programs (codegen/cg_gemm_text.inc):
 * - the plain C path (NB_RT_CBLAS 0), included here under other names, gives the bits of
 *   the naive loop (s = +0; s += a(i, p) b(p, j) for p ascending) for every (ta, tb), f32
 *   and f64, odd shapes across the block sizes, k = 0, NaN, inf, -0 and subnormals;
 * - the cblas path (NB_RT_CBLAS 1, export_gemm_cblas.c) gives the bits of the JIT's
 *   nb_rt_gemm_* (runtime/rt_kernels.c) below and above its split, with and without the
 *   thread pool, on the MLP's shapes and their gradients' transposed forms;
 * - cg_gemm_put's text for every subset of the four functions, in both paths, compiles
 *   without a warning under gcc and clang -std=c99 -pedantic -Wall -Wextra -Werror -O2
 *   (and tcc, plain C only: OpenBLAS's cblas.h includes complex.h, which tcc cannot
 *   parse), so that a program gets every helper it calls and none it does not. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "export_gemm_cblas.h"
#include "tmpdir.h"

/* The plain C path as an exported program has it (static prototypes, then the text),
 * renamed so that the JIT's functions can be called beside it. */
#define NB_RT_CBLAS 0
#define nb_rt_gemm_f32 xg_port_f32
#define nb_rt_gemm_f64 xg_port_f64
#define nb_rt_gemm_one_f32 xg_port_one_f32
#define nb_rt_gemm_one_f64 xg_port_one_f64
static void nb_rt_gemm_f32(int, int, long, long, long, const float *, const float *, float *);
static void nb_rt_gemm_f64(int, int, long, long, long, const double *, const double *, double *);
static void nb_rt_gemm_one_f32(int, int, long, long, long, const float *, const float *, float *);
static void nb_rt_gemm_one_f64(int, int, long, long, long, const double *, const double *,
                               double *);
#include "cg_gemm_text.inc"
#undef nb_rt_gemm_f32
#undef nb_rt_gemm_f64
#undef nb_rt_gemm_one_f32
#undef nb_rt_gemm_one_f64

#include "rt.h"
#include "rt_kernels.h"

/* Path and command lengths of the compile checks. */
enum { XG_PATH_CHARS = 512, XG_CMD_CHARS = 2048 };

/* A gemm's shape: op(a) is [m, k], op(b) [k, n]. */
typedef struct xg_shape {
    int ta, tb;
    long m, n, k;
} xg_shape;

/* Operands: mostly normal values of a few binades, an eighth of them tiny (products
 * round to subnormals or 0), and a few specials (NaN, +-inf, -0, subnormals) at random
 * places, few enough that most sums stay finite. */
static const double xg_specials[] = {NAN,       -NAN,       INFINITY, -INFINITY,
                                     -0.0,      0.0,        0x1p-149, -0x1p-140,
                                     0x1p-1060, -0x1p-1074, 0x1p100,  -0x1p-126};
#define XG_N_SPECIALS (sizeof xg_specials / sizeof *xg_specials)

static double xg_value(ir_rng *r)
{
    int tiny = ir_rng_below(r, 8) == 0;
    int e = tiny ? -75 + (int)ir_rng_below(r, 10) : -2 + (int)ir_rng_below(r, 5);
    return ldexp(ir_rng_normal(r), e);
}

static void xg_fill_f64(double *x, long n, ir_rng *r)
{
    for (long i = 0; i < n; i++)
        x[i] = xg_value(r);
    for (long s = 0; n > 0 && s < 1 + n / 256; s++)
        x[ir_rng_below(r, (uint64_t)n)] = xg_specials[ir_rng_below(r, XG_N_SPECIALS)];
}

static void xg_fill_f32(float *x, long n, ir_rng *r)
{
    for (long i = 0; i < n; i++)
        x[i] = (float)xg_value(r);
    for (long s = 0; n > 0 && s < 1 + n / 256; s++)
        x[ir_rng_below(r, (uint64_t)n)] = (float)xg_specials[ir_rng_below(r, XG_N_SPECIALS)];
}

/* The reference: each c[i, j] is +0 plus its products in ascending p. */
static void xg_naive_f32(const xg_shape *s, const float *a, const float *b, float *c)
{
    for (long i = 0; i < s->m; i++)
        for (long j = 0; j < s->n; j++) {
            float sum = 0.0f;
            for (long p = 0; p < s->k; p++)
                sum += (s->ta ? a[p * s->m + i] : a[i * s->k + p]) *
                       (s->tb ? b[j * s->k + p] : b[p * s->n + j]);
            c[i * s->n + j] = sum;
        }
}

static void xg_naive_f64(const xg_shape *s, const double *a, const double *b, double *c)
{
    for (long i = 0; i < s->m; i++)
        for (long j = 0; j < s->n; j++) {
            double sum = 0.0;
            for (long p = 0; p < s->k; p++)
                sum += (s->ta ? a[p * s->m + i] : a[i * s->k + p]) *
                       (s->tb ? b[j * s->k + p] : b[p * s->n + j]);
            c[i * s->n + j] = sum;
        }
}

/* Fails, naming the shape and the first element, unless want and got hold the same
 * bits, or (any_nan) both a NaN: IEEE 754 leaves open which operand's NaN a sum of two
 * NaNs returns, and a compiler may swap the operands of an addition (vectorized code
 * does), so the sign and payload of a NaN are not the algorithm's. */
static void xg_same_bits(const char *what, const xg_shape *s, const void *want, const void *got,
                         size_t elem, int any_nan)
{
    size_t n = (size_t)(s->m * s->n);
    if (memcmp(want, got, n * elem) == 0)
        return;
    for (size_t i = 0; i < n; i++)
        if (memcmp((const char *)want + i * elem, (const char *)got + i * elem, elem)) {
            double w = elem == 4 ? ((const float *)want)[i] : ((const double *)want)[i];
            double g = elem == 4 ? ((const float *)got)[i] : ((const double *)got)[i];
            if (any_nan && isnan(w) && isnan(g))
                continue;
            fail_msg("%s f%d ta %d tb %d %ldx%ldx%ld: c[%zu] is %a, want %a", what, (int)elem * 8,
                     s->ta, s->tb, s->m, s->n, s->k, i, g, w);
        }
}

/* The buffers of one shape, filled; c and want poisoned (the gemm must write all of c). */
typedef struct xg_bufs {
    void *a, *b, *c, *want;
} xg_bufs;

static void xg_bufs_new(xg_bufs *x, const xg_shape *s, size_t elem, ir_rng *r)
{
    long na = s->m * s->k, nb = s->k * s->n, nc = s->m * s->n;
    x->a = malloc((size_t)(na + 1) * elem);
    x->b = malloc((size_t)(nb + 1) * elem);
    x->c = malloc((size_t)(nc + 1) * elem);
    x->want = malloc((size_t)(nc + 1) * elem);
    assert_non_null(x->a);
    assert_non_null(x->b);
    assert_non_null(x->c);
    assert_non_null(x->want);
    if (elem == 4) {
        xg_fill_f32(x->a, na, r);
        xg_fill_f32(x->b, nb, r);
    } else {
        xg_fill_f64(x->a, na, r);
        xg_fill_f64(x->b, nb, r);
    }
    memset(x->c, 0x7f, (size_t)nc * elem);
    memset(x->want, 0x55, (size_t)nc * elem);
}

static void xg_bufs_free(xg_bufs *x)
{
    free(x->a);
    free(x->b);
    free(x->c);
    free(x->want);
}

/* The plain C path (both functions of each dtype) against the naive loop. */
static void xg_check_portable(const xg_shape *s, ir_rng *r)
{
    for (int f64 = 0; f64 <= 1; f64++)
        for (int one = 0; one <= 1; one++) {
            xg_bufs x;
            xg_bufs_new(&x, s, f64 ? 8 : 4, r);
            if (f64) {
                xg_naive_f64(s, x.a, x.b, x.want);
                (one ? xg_port_one_f64 : xg_port_f64)(s->ta, s->tb, s->m, s->n, s->k, x.a, x.b,
                                                      x.c);
            } else {
                xg_naive_f32(s, x.a, x.b, x.want);
                (one ? xg_port_one_f32 : xg_port_f32)(s->ta, s->tb, s->m, s->n, s->k, x.a, x.b,
                                                      x.c);
            }
            xg_same_bits(one ? "plain C one" : "plain C", s, x.want, x.c, f64 ? 8 : 4, 1);
            xg_bufs_free(&x);
        }
}

/* Sizes of rows and columns around the 4-row tiles and 8- and 16-column panels, and of
 * k around the 128-term blocks. */
static const long xg_mn[] = {1, 2, 3, 15, 16, 17, 63, 64, 65};
static const long xg_k[] = {0, 1, 2, 15, 16, 17, 63, 64, 65, 127, 128, 129, 257};
#define XG_COUNT(a) (sizeof(a) / sizeof *(a))

static void test_portable_small(void **state)
{
    (void)state;
    ir_rng r;
    ir_rng_seed(&r, 9);
    for (int t = 0; t < 4; t++)
        for (size_t i = 0; i < XG_COUNT(xg_mn); i++)
            for (size_t j = 0; j < XG_COUNT(xg_mn); j++)
                for (size_t p = 0; p < XG_COUNT(xg_k); p++) {
                    xg_shape s = {t & 1, t >> 1, xg_mn[i], xg_mn[j], xg_k[p]};
                    xg_check_portable(&s, &r);
                }
}

/* Larger shapes: 255, 257, 300 across several blocks, vectors (m or n = 1), the MLP's. */
static const xg_shape xg_large[] = {
    {0, 0, 255, 257, 300}, {1, 1, 300, 255, 257}, {0, 1, 257, 300, 255}, {1, 0, 300, 300, 1},
    {0, 0, 1, 300, 257},   {1, 0, 1, 257, 300},   {0, 1, 300, 1, 255},   {1, 1, 257, 1, 300},
    {0, 0, 64, 256, 784},  {1, 0, 784, 256, 64},  {0, 1, 64, 784, 256},  {0, 0, 65, 10, 129},
};

static void test_portable_large(void **state)
{
    (void)state;
    ir_rng r;
    ir_rng_seed(&r, 10);
    for (size_t i = 0; i < XG_COUNT(xg_large); i++)
        xg_check_portable(&xg_large[i], &r);
}

/* Below and above the JIT's split at 2^20 multiply-adds, by rows (m >= n) and by columns,
 * with one block only (fewer than 32 rows or columns) and odd bounds; the MLP 784-256-
 * 128-10 at batch 64: forward x W, weight gradient x^T dy (ta), input gradient dy W^T
 * (tb). */
static const xg_shape xg_jit[] = {
    {0, 0, 64, 256, 784},  {0, 0, 64, 128, 256},  {0, 0, 64, 10, 128},   {1, 0, 784, 256, 64},
    {1, 0, 256, 128, 64},  {1, 0, 128, 10, 64},   {0, 1, 64, 784, 256},  {0, 1, 64, 256, 128},
    {0, 1, 64, 128, 10},   {0, 0, 100, 100, 100}, {1, 1, 101, 103, 105}, {0, 0, 20, 20, 4000},
    {1, 0, 33, 17, 2000},  {0, 1, 17, 300, 300},  {1, 1, 47, 257, 129},  {0, 0, 257, 255, 31},
    {0, 0, 1, 1, 1},       {0, 1, 3, 2, 5},       {1, 0, 1, 300, 7},     {0, 0, 128, 128, 128},
    {1, 1, 112, 112, 100},
};

/* The cblas path against the JIT's functions, one and split, f32 and f64. */
static void xg_check_jit(void)
{
    ir_rng r;
    ir_rng_seed(&r, 11);
    for (size_t i = 0; i < XG_COUNT(xg_jit); i++)
        for (int f64 = 0; f64 <= 1; f64++)
            for (int one = 0; one <= 1; one++) {
                const xg_shape *s = &xg_jit[i];
                xg_bufs x;
                xg_bufs_new(&x, s, f64 ? 8 : 4, &r);
                if (f64) {
                    (one ? nb_rt_gemm_one_f64 : nb_rt_gemm_f64)(s->ta, s->tb, s->m, s->n, s->k, x.a,
                                                                x.b, x.want);
                    xg_cblas_f64(one, s->ta, s->tb, s->m, s->n, s->k, x.a, x.b, x.c);
                } else {
                    (one ? nb_rt_gemm_one_f32 : nb_rt_gemm_f32)(s->ta, s->tb, s->m, s->n, s->k, x.a,
                                                                x.b, x.want);
                    xg_cblas_f32(one, s->ta, s->tb, s->m, s->n, s->k, x.a, x.b, x.c);
                }
                xg_same_bits(one ? "cblas one" : "cblas", s, x.want, x.c, f64 ? 8 : 4, 0);
                xg_bufs_free(&x);
            }
}

static void test_cblas_jit_no_pool(void **state)
{
    (void)state;
    rt_threads_blas_init();
    xg_check_jit();
}

static void test_cblas_jit_pool(void **state)
{
    (void)state;
    rt_threads_blas_init();
    assert_int_equal(rt_pool_acquire(2), 0);
    xg_check_jit();
    rt_pool_release(2);
}

/* An empty sum is +0 in the cblas path too (the JIT's call reports k = 0 as an error). */
static void test_cblas_k0(void **state)
{
    (void)state;
    float a[3] = {NAN, 1, 2}, b[2] = {INFINITY, 3}, c[6];
    memset(c, 0x7f, sizeof c);
    xg_cblas_f32(0, 0, 0, 3, 2, 0, a, b, c);
    for (int i = 0; i < 6; i++) {
        assert_true(c[i] == 0.0f);
        assert_false(signbit(c[i]));
    }
}

/* The blocks' first rows or columns, by hand: n / 2 rounded down to a multiple of 16. */
static void test_cblas_bounds(void **state)
{
    (void)state;
    static const long cases[][4] = {{100, 0, 48, 100}, {33, 0, 16, 33},    {47, 0, 16, 47},
                                    {64, 0, 32, 64},   {784, 0, 384, 784}, {257, 0, 128, 257},
                                    {65, 0, 32, 65}};
    for (size_t i = 0; i < XG_COUNT(cases); i++)
        for (int p = 0; p <= 2; p++)
            assert_int_equal(xg_cblas_bound(cases[i][0], 2, p), cases[i][1 + p]);
    assert_int_equal(xg_cblas_bound(31, 1, 0), 0);
    assert_int_equal(xg_cblas_bound(31, 1, 1), 31);
}

/* The four gemm rows of cg_rt.def, in the order of a subset's bits. */
static const int xg_rows[4] = {CG_RT_nb_rt_gemm_f32, CG_RT_nb_rt_gemm_f64, CG_RT_nb_rt_gemm_one_f32,
                               CG_RT_nb_rt_gemm_one_f64};
static const char *const xg_protos[CG_RT_COUNT] = {
#define CG_RT(fn, proto) proto,
#include "cg_rt.def"
#undef CG_RT
};
static const char *const xg_names[CG_RT_COUNT] = {
#define CG_RT(fn, proto) #fn,
#include "cg_rt.def"
#undef CG_RT
};

/* What an exported program holds around the text of cg_gemm_put for the functions of
 * the subset `used` (bits of xg_rows): NB_RT_CBLAS, static prototypes, and a function
 * that calls each one. */
static char *xg_program(int used, int cblas)
{
    unsigned char rt_used[CG_RT_COUNT] = {0};
    ir_text t = {0};
    ir_text_printf(&t, "#define NB_RT_CBLAS %d\n", cblas);
    for (int i = 0; i < 4; i++)
        if (used >> i & 1) {
            rt_used[xg_rows[i]] = 1;
            ir_text_printf(&t, "static %s\n", xg_protos[xg_rows[i]]);
        }
    /* Rows of other kernels pull in no gemm text. */
    rt_used[CG_RT_nb_rt_copy] = 1;
    cg_gemm_put(&t, rt_used);
    ir_text_puts(&t, "void xg_entry(void *a, void *b, void *c);\n"
                     "void xg_entry(void *a, void *b, void *c)\n{\n");
    for (int i = 0; i < 4; i++)
        if (used >> i & 1)
            ir_text_printf(&t, "    %s(0, 1, 2, 3, 4, a, b, c);\n", xg_names[xg_rows[i]]);
    ir_text_puts(&t, "}\n");
    assert_false(t.failed);
    return t.buf;
}

/* Compiles path with cc (when configured) and flags; fails with its output when it
 * does not compile or warns. */
static void xg_compile(const char *cc, const char *flags, const char *dir, const char *path,
                       const char *what)
{
    if (!cc[0])
        return;
    char cmd[XG_CMD_CHARS], log[XG_PATH_CHARS];
    int nl = snprintf(log, sizeof log, "%s/log", dir);
    int nc =
        snprintf(cmd, sizeof cmd, "%s %s -c %s -o %s/x.o > %s 2>&1", cc, flags, path, dir, log);
    assert_true(nl > 0 && (size_t)nl < sizeof log && nc > 0 && (size_t)nc < sizeof cmd);
    if (system(cmd) == 0)
        return;
    FILE *f = fopen(log, "r");
    char line[XG_PATH_CHARS];
    while (f && fgets(line, sizeof line, f))
        print_message("%s", line);
    if (f)
        fclose(f);
    fail_msg("%s: %s does not compile cleanly", what, cmd);
}

static void test_put_compiles(void **state)
{
    (void)state;
    const char *strict = "-std=c99 -pedantic -Wall -Wextra -Werror -O2";
    char dir[] = "/tmp/nabla-export-gemm-XXXXXX", path[XG_PATH_CHARS], blas_flags[XG_CMD_CHARS],
         what[XG_PATH_CHARS];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/gemm.c", dir);
    snprintf(blas_flags, sizeof blas_flags, "%s -I%s", strict, XG_CBLAS_INCLUDE);
    /* No gemm used: no text at all. */
    unsigned char none[CG_RT_COUNT] = {0};
    none[CG_RT_nb_rt_copy] = 1;
    ir_text t = {0};
    cg_gemm_put(&t, none);
    assert_int_equal(t.len, 0);
    free(t.buf);
    for (int used = 1; used < 16; used++)
        for (int cblas = 0; cblas <= 1; cblas++) {
            char *text = xg_program(used, cblas);
            /* Only the functions used are defined. */
            for (int i = 0; i < 4; i++) {
                char def[XG_PATH_CHARS];
                snprintf(def, sizeof def, "static void %s(", xg_names[xg_rows[i]]);
                char *at = strstr(text, def);
                assert_true(at && (at = strstr(at + 1, def)) ? used >> i & 1 : !(used >> i & 1));
            }
            FILE *f = fopen(path, "w");
            assert_non_null(f);
            fputs(text, f);
            fclose(f);
            free(text);
            snprintf(what, sizeof what, "subset %d, NB_RT_CBLAS %d", used, cblas);
            xg_compile(XG_GCC, cblas ? blas_flags : strict, dir, path, what);
            xg_compile(XG_CLANG, cblas ? blas_flags : strict, dir, path, what);
            if (!cblas)
                xg_compile(XG_TCC, "-Wall -Werror", dir, path, what);
        }
    tu_remove_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_portable_small),    cmocka_unit_test(test_portable_large),
        cmocka_unit_test(test_cblas_jit_no_pool), cmocka_unit_test(test_cblas_jit_pool),
        cmocka_unit_test(test_cblas_k0),          cmocka_unit_test(test_cblas_bounds),
        cmocka_unit_test(test_put_compiles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
