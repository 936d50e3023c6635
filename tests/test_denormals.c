/* test_denormals.c — the floating-point mode of a run (nb_compile_options.denormals):
 * under NB_DENORMALS_FLUSH a subnormal result is 0 and a subnormal operand reads as 0,
 * under NB_DENORMALS_IEEE both are exact, on tcc and on cc, whatever mode the caller's
 * thread is in; and the caller's mode is the same after every run, one that fails
 * included. The operands are powers of two, so every exact product is known by hand. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "nabla.h"
#include "tmpdir.h"

#if defined(__x86_64__)
#include <xmmintrin.h>
/* MXCSR's flush-to-zero and denormals-are-zero bits, its rounding-control field. */
#define MODE_FLUSH 0x8040u
#define MODE_ROUND_TOWARD_ZERO 0x6000u
/* Its exception flags, which a run may raise (as any arithmetic does). */
#define MODE_STATUS 0x3fu
/* The control bits of the mode. */
static unsigned mode_get(void)
{
    return _mm_getcsr() & ~MODE_STATUS;
}
static void mode_set(unsigned m)
{
    _mm_setcsr(m);
}
#define HAVE_MODE 1
#elif defined(__aarch64__)
/* FPCR.FZ, and its rounding-mode field (RMode 0b11: toward zero). */
#define MODE_FLUSH (1u << 24)
#define MODE_ROUND_TOWARD_ZERO (3u << 22)
/* (its exception flags are in FPSR) */
static unsigned mode_get(void)
{
    unsigned long v;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(v));
    return (unsigned)v;
}
static void mode_set(unsigned m)
{
    unsigned long v = m;
    __asm__ __volatile__("msr fpcr, %0" : : "r"(v));
}
#define HAVE_MODE 1
#else
#define HAVE_MODE 0
#endif

static const nb_backend backends[] = {NB_BACKEND_TCC, NB_BACKEND_CC};
#define N_BACKENDS (sizeof backends / sizeof backends[0])

/* The inputs of every program here, by hand: x * x is subnormal (tests FTZ), s is
 * subnormal and s * 2^k normal (tests DAZ). */
static const float x32 = 0x1p-70f, s32 = 0x1p-140f;
static const double x64 = 0x1p-530, s64 = 0x1p-1060;
/* The exact results, and how many outputs a program has. */
static const float xx32 = 0x1p-140f, sk32 = 0x1p-120f;
static const double xx64 = 0x1p-1060, sk64 = 0x1p-960;
enum { N_OUT = 4 };

/* A program of outputs x32 * x32, s32 * 2^20, x64 * x64 and s64 * 2^100 (x and s
 * inputs, so nothing is folded at compile time), and, when with_gather, a fifth
 * output: row idx of a [3, 1] table, which fails the run for an index outside [0, 3). */
static nb_program *compile(nb_graph *g, nb_backend backend, nb_denormals mode, int with_gather)
{
    int64_t one = 1, three_one[2] = {3, 1};
    nb_node *x = nb_input(g, "x32", NB_F32, 1, &one), *s = nb_input(g, "s32", NB_F32, 1, &one);
    nb_node *xd = nb_input(g, "x64", NB_F64, 1, &one), *sd = nb_input(g, "s64", NB_F64, 1, &one);
    nb_node *outs[N_OUT + 1] = {nb_mul(g, x, x), nb_mul(g, s, nb_scalar(g, NB_F32, 0x1p20)),
                                nb_mul(g, xd, xd), nb_mul(g, sd, nb_scalar(g, NB_F64, 0x1p100))};
    if (with_gather) {
        nb_node *table = nb_input(g, "table", NB_F32, 2, three_one);
        nb_node *idx = nb_input(g, "idx", NB_I32, 1, &one);
        outs[N_OUT] = nb_gather(g, table, idx);
    }
    nb_compile_options opt = {.outputs = outs,
                              .n_outputs = N_OUT + (with_gather != 0),
                              .backend = backend,
                              .denormals = mode};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(g));
    assert_int_equal(nb_program_bind(p, "x32", &x32), 0);
    assert_int_equal(nb_program_bind(p, "s32", &s32), 0);
    assert_int_equal(nb_program_bind(p, "x64", &x64), 0);
    assert_int_equal(nb_program_bind(p, "s64", &s64), 0);
    return p;
}

/* Checks the outputs of a run: all four 0 under flush, exact under IEEE. */
static void check(const nb_program *p, nb_denormals mode, const char *what)
{
    int flush = mode == NB_DENORMALS_FLUSH;
    const float want32[2] = {flush ? 0.0f : xx32, flush ? 0.0f : sk32};
    const double want64[2] = {flush ? 0.0 : xx64, flush ? 0.0 : sk64};
    for (int i = 0; i < 2; i++) {
        float got = *(const float *)nb_program_output(p, i);
        if (memcmp(&got, &want32[i], sizeof got) != 0)
            fail_msg("%s: f32 output %d is %a, expected %a", what, i, (double)got,
                     (double)want32[i]);
        double gotd = *(const double *)nb_program_output(p, 2 + i);
        if (memcmp(&gotd, &want64[i], sizeof gotd) != 0)
            fail_msg("%s: f64 output %d is %a, expected %a", what, i, gotd, want64[i]);
    }
}

/* Subnormal results and operands: 0 under flush, exact under IEEE, both backends. */
static void test_flush_and_ieee(void **state)
{
    (void)state;
    for (size_t b = 0; b < N_BACKENDS; b++)
        for (int m = 0; m < 2; m++) {
            nb_denormals mode = m ? NB_DENORMALS_IEEE : NB_DENORMALS_FLUSH;
            char what[64];
            snprintf(what, sizeof what, "backend %d, %s", (int)backends[b], m ? "ieee" : "flush");
            nb_graph *g = nb_graph_new();
            nb_program *p = compile(g, backends[b], mode, 0);
            assert_int_equal(nb_program_run(p), 0);
            check(p, mode, what);
            nb_program_free(p);
            nb_graph_free(g);
        }
}

/* The default (a zeroed options struct) is flush. */
static void test_default_is_flush(void **state)
{
    (void)state;
    assert_int_equal(NB_DENORMALS_FLUSH, 0);
    nb_graph *g = nb_graph_new();
    int64_t one = 1;
    nb_node *x = nb_input(g, "x", NB_F32, 1, &one);
    nb_node *y = nb_mul(g, x, x);
    nb_compile_options opt = {.outputs = &y, .n_outputs = 1};
    nb_program *p = nb_compile(g, &opt);
    assert_non_null(p);
    assert_int_equal(nb_program_bind(p, "x", &x32), 0);
    assert_int_equal(nb_program_run(p), 0);
    assert_true(*(const float *)nb_program_output(p, 0) == 0.0f);
    nb_program_free(p);
    nb_graph_free(g);
}

/* The caller's mode before each run: as the process starts, flushing already, and
 * flushing with another rounding mode. The run uses the program's mode, and the
 * caller's is the same afterwards, bit for bit. */
static void test_caller_mode_kept(void **state)
{
    (void)state;
#if HAVE_MODE
    const unsigned start = mode_get();
    const unsigned callers[3] = {start & ~MODE_FLUSH, start | MODE_FLUSH,
                                 (start & ~MODE_FLUSH) | MODE_FLUSH | MODE_ROUND_TOWARD_ZERO};
    for (size_t b = 0; b < N_BACKENDS; b++)
        for (int m = 0; m < 2; m++) {
            nb_denormals mode = m ? NB_DENORMALS_IEEE : NB_DENORMALS_FLUSH;
            nb_graph *g = nb_graph_new();
            nb_program *p = compile(g, backends[b], mode, 0);
            for (int c = 0; c < 3; c++) {
                char what[96];
                snprintf(what, sizeof what, "backend %d, %s, caller's mode %#x", (int)backends[b],
                         m ? "ieee" : "flush", callers[c]);
                mode_set(callers[c]);
                int rc = nb_program_run(p);
                unsigned after = mode_get();
                mode_set(start);
                assert_int_equal(rc, 0);
                if (after != callers[c])
                    fail_msg("%s: the mode after the run is %#x", what, after);
                /* Powers of two are exact in every rounding mode. */
                check(p, mode, what);
            }
            nb_program_free(p);
            nb_graph_free(g);
        }
    assert_int_equal(mode_get(), start);
#else
    skip(); /* nabla runs in the caller's mode here: nothing is saved or set */
#endif
}

/* A run that fails (an index out of range inside the generated code, or an input not
 * bound) leaves the caller's mode as it was, and the next run works in the program's
 * mode. */
static void test_failed_run_keeps_mode(void **state)
{
    (void)state;
    static const float table[3] = {1.0f, 2.0f, 3.0f};
    static const int32_t bad = 3, good = 2;
    for (size_t b = 0; b < N_BACKENDS; b++)
        for (int m = 0; m < 2; m++) {
            nb_denormals mode = m ? NB_DENORMALS_IEEE : NB_DENORMALS_FLUSH;
            nb_graph *g = nb_graph_new();
            nb_program *p = compile(g, backends[b], mode, 1);
#if HAVE_MODE
            const unsigned before = mode_get();
#endif
            /* "idx" and "table" are not bound yet. */
            assert_int_equal(nb_program_run(p), -1);
            assert_non_null(strstr(nb_program_error(p), "is not bound"));
#if HAVE_MODE
            assert_int_equal(mode_get(), before);
#endif
            assert_int_equal(nb_program_bind(p, "table", table), 0);
            assert_int_equal(nb_program_bind(p, "idx", &bad), 0);
            assert_int_equal(nb_program_run(p), -1);
            assert_non_null(strstr(nb_program_error(p), "run: "));
#if HAVE_MODE
            assert_int_equal(mode_get(), before);
#endif
            assert_int_equal(nb_program_bind(p, "idx", &good), 0);
            assert_int_equal(nb_program_run(p), 0);
            assert_null(nb_program_error(p));
            check(p, mode, m ? "after a failed run, ieee" : "after a failed run, flush");
            assert_true(*(const float *)nb_program_output(p, N_OUT) == 3.0f);
#if HAVE_MODE
            assert_int_equal(mode_get(), before);
#endif
            nb_program_free(p);
            nb_graph_free(g);
        }
}

/* Two programs of different modes, run in turn: each run has its own program's mode. */
static void test_programs_alternate(void **state)
{
    (void)state;
    nb_graph *gf = nb_graph_new(), *gi = nb_graph_new();
    nb_program *pf = compile(gf, NB_BACKEND_TCC, NB_DENORMALS_FLUSH, 0);
    nb_program *pi = compile(gi, NB_BACKEND_TCC, NB_DENORMALS_IEEE, 0);
    for (int k = 0; k < 3; k++) {
        assert_int_equal(nb_program_run(pf), 0);
        assert_int_equal(nb_program_run(pi), 0);
        check(pf, NB_DENORMALS_FLUSH, "alternating, flush");
        check(pi, NB_DENORMALS_IEEE, "alternating, ieee");
    }
    nb_program_free(pf);
    nb_program_free(pi);
    nb_graph_free(gf);
    nb_graph_free(gi);
}

/* A value outside the enum is a compile error that names it. */
static void test_unknown_mode(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    int64_t one = 1;
    nb_node *x = nb_input(g, "x", NB_F32, 1, &one);
    nb_compile_options opt = {.outputs = &x, .n_outputs = 1, .denormals = (nb_denormals)7};
    assert_null(nb_compile(g, &opt));
    assert_string_equal(nb_graph_error(g),
                        "compile: unknown denormals mode 7 (NB_DENORMALS_FLUSH or "
                        "NB_DENORMALS_IEEE)");
    nb_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flush_and_ieee),     cmocka_unit_test(test_default_is_flush),
        cmocka_unit_test(test_caller_mode_kept),   cmocka_unit_test(test_failed_run_keeps_mode),
        cmocka_unit_test(test_programs_alternate), cmocka_unit_test(test_unknown_mode),
    };
    return cmocka_run_group_tests(tests, tu_cc_cache_setup, tu_cc_cache_teardown);
}
