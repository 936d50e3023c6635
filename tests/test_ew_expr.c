/* test_ew_expr.c — the code generator's text without printf and its expression
 * emitters: ir_text appends (bytes, strings, characters, integers, types), literals
 * written into a caller's buffer, fused kernels with many distinct operands and with
 * many distinct literals in one expression, and pending operands read twice. Expected
 * values are written out by hand or computed here from the definitions of the ops. */
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cg.h"
#include "ir.h"
#include "nabla.h"

/* ---- ir_text ------------------------------------------------------------------- */

static void test_text_appends(void **state)
{
    (void)state;
    ir_text t = {0};
    ir_text_puts(&t, "ab");
    ir_text_putc(&t, 'c');
    ir_text_int(&t, 0);
    ir_text_putc(&t, ' ');
    ir_text_int(&t, -42);
    ir_text_putc(&t, ' ');
    ir_text_int(&t, LLONG_MIN);
    ir_text_putc(&t, ' ');
    ir_text_int(&t, LLONG_MAX);
    ir_text_append(&t, "xyz123", 3);
    ir_text_printf(&t, "|%d|%s|", 7, "q");
    const int64_t shape[] = {2, 30, 1};
    ir_text_type(&t, NB_F32, 3, shape);
    ir_text_type(&t, NB_F64, 0, shape);
    ir_text_type(&t, NB_BOOL, 1, shape);
    assert_false(t.failed);
    const char *want =
        "abc0 -42 -9223372036854775808 9223372036854775807xyz|7|q|f32[2,30,1]f64[]bool[2]";
    assert_string_equal(t.buf, want);
    assert_int_equal(t.len, strlen(want));
    free(t.buf);
}

/* Appends grow the buffer as often as needed; the text stays NUL-terminated. */
static void test_text_grows(void **state)
{
    (void)state;
    enum { N = 100000 };
    ir_text t = {0};
    for (int i = 0; i < N; i++)
        ir_text_putc(&t, (char)('a' + i % 26));
    assert_false(t.failed);
    assert_int_equal(t.len, N);
    assert_int_equal(t.buf[N], 0);
    for (int i = 0; i < N; i++)
        if (t.buf[i] != (char)('a' + i % 26))
            fail_msg("byte %d is %c", i, t.buf[i]);
    /* Room reserved is room kept: the buffer does not move while it is filled. */
    assert_int_equal(ir_text_reserve(&t, 5000), 0);
    const char *buf = t.buf;
    for (int i = 0; i < 5000; i++)
        ir_text_putc(&t, 'z');
    assert_ptr_equal(t.buf, buf);
    free(t.buf);
}

static void test_int_str(void **state)
{
    (void)state;
    char buf[IR_INT_STR_MAX];
    assert_int_equal(ir_int_str(0, buf), 1);
    assert_string_equal(buf, "0");
    assert_int_equal(ir_int_str(-7, buf), 2);
    assert_string_equal(buf, "-7");
    assert_int_equal(ir_int_str(1234567890123LL, buf), 13);
    assert_string_equal(buf, "1234567890123");
    assert_int_equal(ir_int_str(LLONG_MIN, buf), 20);
    assert_string_equal(buf, "-9223372036854775808");
}

/* A failed allocation frees the text and marks it failed; later appends do nothing. */
static void test_text_failure(void **state)
{
    (void)state;
    ir_text t = {0};
    ir_text_puts(&t, "kept until the failure");
    ir_alloc_fail_from(1);
    for (int i = 0; i < 1000 && !t.failed; i++)
        ir_text_puts(&t, "more text ");
    ir_alloc_fail_from(0);
    assert_true(t.failed);
    assert_null(t.buf);
    assert_int_equal(t.len, 0);
    ir_text_puts(&t, "x");
    ir_text_int(&t, 5);
    ir_text_putc(&t, 'y');
    ir_text_printf(&t, "%d", 1);
    assert_int_equal(ir_text_reserve(&t, 1), -1);
    assert_null(t.buf);
    assert_true(t.failed);
}

/* ---- literals ------------------------------------------------------------------- */

typedef struct lit_case {
    nb_dtype dt;
    double v;
    const char *text;
} lit_case;

static void test_literals(void **state)
{
    (void)state;
    const lit_case cases[] = {
        {NB_F32, 0.5, "0.5f"},
        {NB_F32, 1.0, "1.0f"},
        {NB_F32, -1.0, "-1.0f"},
        {NB_F32, 0.0, "0.0f"},
        {NB_F32, -0.0, "-0.0f"},
        {NB_F32, 999999.0, "999999.0f"},
        {NB_F32, 1e6, "1e+06f"},
        {NB_F32, 1.0 / 3.0, "0.33333333f"},
        {NB_F32, 0.1, "0.1f"},
        {NB_F32, 123456.789, "123456.79f"},
        {NB_F32, 2.5e-7, "2.5e-07f"},
        {NB_F32, NAN, "(0.0f / 0.0f)"},
        {NB_F32, INFINITY, "(1.0f / 0.0f)"},
        {NB_F64, -INFINITY, "(-1.0 / 0.0)"},
        {NB_F64, 0.1, "0.1"},
        {NB_F64, 2.0, "2.0"},
        {NB_F64, -3.0, "-3.0"},
        {NB_F64, 1.0 / 3.0, "0.3333333333333333"},
        {NB_F64, 1e15, "1e+15"},
        {NB_F64, 0.7071067811865476, "0.7071067811865476"},
        {NB_I32, 3.0, "3"},
        {NB_I32, -7.0, "-7"},
        {NB_BOOL, 1.0, "1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[CG_LIT_MAX];
        size_t len = cg_lit(buf, cases[i].dt, cases[i].v);
        if (strcmp(buf, cases[i].text) != 0 || len != strlen(cases[i].text))
            fail_msg("case %zu: %s (length %zu), expected %s", i, buf, len, cases[i].text);
        ir_text t = {0};
        ir_text_puts(&t, "<");
        cg_lit_put(&t, cases[i].dt, cases[i].v);
        ir_text_puts(&t, ">");
        char want[CG_LIT_MAX + 2];
        snprintf(want, sizeof want, "<%s>", cases[i].text);
        assert_string_equal(t.buf, want);
        free(t.buf);
    }
}

/* The literal by its definition, through the C library: the fewest significant digits
 * from 6 (f32) or 15 (f64) on whose %g text reads back to the value, ".0" when the
 * text has no point or exponent, "f" for f32. cg_lit formats the digits itself. */
static void reference_lit(char *buf, size_t size, nb_dtype dt, double v)
{
    for (int digits = dt == NB_F32 ? 6 : 15;; digits++) {
        snprintf(buf, size, "%.*g", digits, v);
        if (dt == NB_F32 ? (float)strtod(buf, NULL) == (float)v : strtod(buf, NULL) == v)
            break;
        if (digits >= 17)
            break;
    }
    if (!strpbrk(buf, ".eE"))
        strcat(buf, ".0");
    if (dt == NB_F32)
        strcat(buf, "f");
}

/* Random values over the whole range of doubles and floats (and numbers with few
 * binary digits, where %g rounding meets exact ties), compared with the C library. */
static void test_literals_match_printf(void **state)
{
    (void)state;
    enum { N = 50000 };
    ir_rng rng;
    ir_rng_seed(&rng, 12345);
    for (int i = 0; i < N; i++) {
        double v;
        uint64_t bits = ir_rng_next(&rng);
        switch (i % 4) {
        case 0: memcpy(&v, &bits, sizeof v); break;
        case 1: v = ldexp((double)(bits >> 40), (int)(bits % 80) - 60); break;
        case 2: v = (double)(int)(bits % 2000001) / 1000.0 - 1000.0; break;
        default: v = ir_rng_normal(&rng) * pow(10.0, (double)(int)(bits % 41) - 20); break;
        }
        if (bits & 1)
            v = -v;
        for (int d = 0; d < 2; d++) {
            nb_dtype dt = d ? NB_F64 : NB_F32;
            double x = dt == NB_F32 ? (double)(float)v : v;
            if (!isfinite(x))
                continue;
            char got[CG_LIT_MAX], want[64];
            cg_lit(got, dt, x);
            reference_lit(want, sizeof want, dt, x);
            if (strcmp(got, want) != 0)
                fail_msg("%a as %s: %s, expected %s", x, d ? "f64" : "f32", got, want);
        }
    }
}

/* ---- fused kernels -------------------------------------------------------------- */

#define LEN 7

/* Occurrences of needle in s. */
static int count(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* Compiles outs[0] of g with tcc and binds inputs[i] to data[i]. */
static nb_program *compile_bound(nb_graph *g, nb_node *out, int n_inputs, char names[][16],
                                 float (*data)[LEN])
{
    if (nb_graph_error(g))
        fail_msg("build: %s", nb_graph_error(g));
    nb_compile_options opt = {.outputs = &out, .n_outputs = 1, .backend = NB_BACKEND_TCC};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(g));
    for (int i = 0; i < n_inputs; i++)
        assert_int_equal(nb_program_bind(p, names[i], data[i]), 0);
    assert_int_equal(nb_program_run(p), 0);
    return p;
}

/* acc = x0; acc = where(x_i > c_i, y_i, acc) for 12 steps; clamp(acc, -1.5, 1.25): one
 * kernel of 25 members that reads 25 distinct operands (the old emitters took 4 at
 * most per op, named a to d; fusion counts 61 operand slots of its 64). */
static void test_many_operands_fuse(void **state)
{
    (void)state;
    enum { STEPS = 12, INPUTS = 2 * STEPS + 1 };
    int64_t shape[] = {LEN};
    static char names[INPUTS][16];
    static float data[INPUTS][LEN];
    nb_graph *g = nb_graph_new();
    nb_node *in[INPUTS];
    for (int i = 0; i < INPUTS; i++) {
        snprintf(names[i], sizeof names[i], "in%d", i);
        in[i] = nb_input(g, names[i], NB_F32, 1, shape);
        for (int e = 0; e < LEN; e++)
            data[i][e] = (float)((i * 7 + e * 3) % 11) / 4.0f - 1.25f;
    }
    nb_node *acc = in[0];
    for (int s = 0; s < STEPS; s++) {
        double c = (s % 5) / 4.0 - 0.5;
        nb_node *mask = nb_gt(g, in[1 + 2 * s], nb_scalar(g, NB_F32, c));
        acc = nb_where(g, mask, in[2 + 2 * s], acc);
    }
    acc = nb_clamp(g, acc, -1.5, 1.25);
    nb_program *p = compile_bound(g, acc, INPUTS, names, data);
    const char *src = nb_program_source(p);
    assert_int_equal(count(src, "static void k"), 1);
    assert_non_null(strstr(src, "const float *x24"));
    const float *y = nb_program_output(p, 0);
    for (int e = 0; e < LEN; e++) {
        float want = data[0][e];
        for (int s = 0; s < STEPS; s++)
            if (data[1 + 2 * s][e] > (float)((s % 5) / 4.0 - 0.5))
                want = data[2 + 2 * s][e];
        want = want < -1.5f ? -1.5f : (want > 1.25f ? 1.25f : want);
        if (y[e] != want)
            fail_msg("element %d: %g, expected %g", e, (double)y[e], (double)want);
    }
    nb_program_free(p);
    nb_graph_free(g);
}

/* acc = acc * a_i + b_i with 30 distinct constants, negative ones among them: one
 * kernel whose expressions hold many literals at once (the old emitters kept literals
 * in 8 rotating buffers). */
static void test_many_literals(void **state)
{
    (void)state;
    enum { STEPS = 15 };
    int64_t shape[] = {LEN};
    static char names[1][16] = {"x"};
    static float data[1][LEN] = {{-2.0f, -1.0f, -0.5f, 0.0f, 0.25f, 1.0f, 3.0f}};
    nb_graph *g = nb_graph_new();
    nb_node *acc = nb_input(g, "x", NB_F32, 1, shape);
    double a[STEPS], b[STEPS];
    for (int s = 0; s < STEPS; s++) {
        a[s] = 1.0 - (s + 1) / 64.0;
        b[s] = (s % 2 ? -1.0 : 1.0) * (s + 1) / 8.0;
        acc = nb_add(g, nb_mul(g, acc, nb_scalar(g, NB_F32, a[s])), nb_scalar(g, NB_F32, b[s]));
    }
    nb_program *p = compile_bound(g, acc, 1, names, data);
    const char *src = nb_program_source(p);
    assert_int_equal(count(src, "static void k"), 1);
    /* a_0 = 63/64, b_1 = -2/8 and b_13 = -14/8 as literals; negative ones in parens. */
    assert_non_null(strstr(src, "0.984375f"));
    assert_non_null(strstr(src, "(-0.25f)"));
    assert_non_null(strstr(src, "(-1.75f)"));
    const float *y = nb_program_output(p, 0);
    for (int e = 0; e < LEN; e++) {
        double want = data[0][e];
        for (int s = 0; s < STEPS; s++)
            want = want * a[s] + b[s];
        if (fabs(y[e] - want) > 1e-5 * (1 + fabs(want)))
            fail_msg("element %d: %.9g, expected %.9g", e, (double)y[e], want);
    }
    nb_program_free(p);
    nb_graph_free(g);
}

/* sign, maximum and square read their operand twice; when it is a pending expression
 * (x * 2 - 3, read only by them) it is computed once into its local: the values are
 * those of the definitions. */
static void test_pending_operand_read_twice(void **state)
{
    (void)state;
    int64_t shape[] = {LEN};
    static char names[1][16] = {"x"};
    static float data[1][LEN] = {{-2.0f, 0.0f, 1.0f, 1.5f, 2.0f, 2.5f, 4.0f}};
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 1, shape);
    nb_node *u = nb_sub(g, nb_mul(g, x, nb_scalar(g, NB_F32, 2.0)), nb_scalar(g, NB_F32, 3.0));
    nb_node *s = nb_sign(g, u);
    nb_node *v = nb_add(g, x, nb_scalar(g, NB_F32, 0.5));
    nb_node *m = nb_maximum(g, v, nb_scalar(g, NB_F32, 1.75));
    nb_node *w = nb_square(g, nb_sub(g, x, nb_scalar(g, NB_F32, 1.0)));
    nb_node *y = nb_add(g, nb_add(g, s, m), w);
    nb_program *p = compile_bound(g, y, 1, names, data);
    assert_int_equal(count(nb_program_source(p), "static void k"), 1);
    const float *out = nb_program_output(p, 0);
    /* By hand: sign(2x - 3) + max(x + 0.5, 1.75) + (x - 1)^2. */
    const float want[LEN] = {-1 + 1.75f + 9, -1 + 1.75f + 1,   -1 + 1.75f + 0, 0 + 2.0f + 0.25f,
                             1 + 2.5f + 1,   1 + 3.0f + 2.25f, 1 + 4.5f + 9};
    for (int e = 0; e < LEN; e++)
        if (out[e] != want[e])
            fail_msg("element %d: %g, expected %g", e, (double)out[e], (double)want[e]);
    nb_program_free(p);
    nb_graph_free(g);
}

/* ((((x + 1) * 2 - 3) / 4 + 5) * 6: each value is read once by the next, so it is
 * written inside its reader, four levels deep at most (CG_INLINE_DEPTH); the fifth
 * level becomes a local, and the result, stored, one too. Parentheses come from the
 * operands, never from the emitters. */
static void test_inline_depth(void **state)
{
    (void)state;
    int64_t shape[] = {LEN};
    static char names[1][16] = {"x"};
    static float data[1][LEN] = {{-2.0f, -1.0f, 0.0f, 0.5f, 1.0f, 2.0f, 7.0f}};
    nb_graph *g = nb_graph_new();
    nb_node *y = nb_input(g, "x", NB_F32, 1, shape);
    y = nb_add(g, y, nb_scalar(g, NB_F32, 1.0));
    y = nb_mul(g, y, nb_scalar(g, NB_F32, 2.0));
    y = nb_sub(g, y, nb_scalar(g, NB_F32, 3.0));
    y = nb_div(g, y, nb_scalar(g, NB_F32, 4.0));
    y = nb_add(g, y, nb_scalar(g, NB_F32, 5.0));
    y = nb_mul(g, y, nb_scalar(g, NB_F32, 6.0));
    nb_program *p = compile_bound(g, y, 1, names, data);
    const char *src = nb_program_source(p);
    const char *deep = strstr(src, " = ((((v0 + 1.0f) * 2.0f) - 3.0f) / 4.0f) + 5.0f;\n");
    if (!deep)
        fail_msg("no four-level expression in:\n%s", src);
    /* The next line reads that local: "const float t<id> = t<id> * 6.0f;" */
    const char *next = strchr(deep, '\n') + 1;
    assert_non_null(strstr(next, " * 6.0f;\n"));
    assert_true(strstr(next, " * 6.0f;\n") < strchr(next, '\n') + 1);
    const float *out = nb_program_output(p, 0);
    for (int e = 0; e < LEN; e++) {
        float want = ((((data[0][e] + 1) * 2 - 3) / 4) + 5) * 6;
        if (out[e] != want)
            fail_msg("element %d: %g, expected %g", e, (double)out[e], (double)want);
    }
    nb_program_free(p);
    nb_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_appends),
        cmocka_unit_test(test_text_grows),
        cmocka_unit_test(test_int_str),
        cmocka_unit_test(test_text_failure),
        cmocka_unit_test(test_literals),
        cmocka_unit_test(test_literals_match_printf),
        cmocka_unit_test(test_many_operands_fuse),
        cmocka_unit_test(test_many_literals),
        cmocka_unit_test(test_pending_operand_read_twice),
        cmocka_unit_test(test_inline_depth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
