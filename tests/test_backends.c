/* test_backends.c — the table of backends (white-box: runtime/rt_backend.c). Every row
 * compiles a training step that calls a runtime kernel (matmul), gives the numbers
 * computed by hand and the same bits as every other row; the generated C differs
 * between rows only in how the runtime kernels are declared (the row's cg_rt_link);
 * and a value that names no row is refused with a message, for nb_compile as for the
 * lookup. */
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

#include "nabla.h"
#include "rt.h"
#include "tmpdir.h"

/* Values past the last row that the tests look at; a row is never that far out. */
#define SCAN_MAX 64

/* Logistic regression on two samples of three features: z = x @ w + b, p = sigmoid(z),
 * loss = bce(p, y) (mean), its gradients, and an SGD step w -= 0.5 dw, b -= 0.5 db. */
static const float X[6] = {0.5f, -1.0f, 2.0f, 1.5f, 0.25f, -0.75f};
static const float Y[2] = {1, 0};
static const float W0[3] = {0.2f, -0.4f, 0.1f};
static const float B0 = 0.3f;

/* By hand in f64 (python's math module) from the decimal values above: the loss,
 * dL/dw, dL/db of the first run, and the loss of the second run (after the step). */
static const double LOSS1 = 0.6206595438455116;
static const double DW1[3] = {0.38627395819300825, 0.21005559627424872, -0.49569607813774863};
static const double DB1 = 0.1678688316720071;
static const double LOSS2 = 0.416216675767296;

/* What one program computed: outputs of two runs. */
typedef struct step_result {
    float loss1, dw1[3], db1, loss2;
} step_result;

static nb_program *compile_step(nb_backend backend)
{
    int64_t xs[2] = {2, 3}, ys[2] = {2, 1}, ws[2] = {3, 1};
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 2, xs);
    nb_node *y = nb_input(g, "y", NB_F32, 2, ys);
    nb_node *w = nb_param(g, "w", NB_F32, 2, ws);
    nb_node *b = nb_param(g, "b", NB_F32, 0, NULL);
    nb_node *p = nb_sigmoid(g, nb_add(g, nb_matmul(g, x, w), b));
    nb_node *loss = nb_bce(g, p, y, NB_REDUCTION_MEAN);
    nb_node *params[2] = {w, b}, *grads[2];
    assert_int_equal(nb_grad(g, loss, params, 2, grads), 0);
    nb_node *half = nb_scalar(g, NB_F32, 0.5);
    nb_update u[2] = {{w, nb_sub(g, w, nb_mul(g, grads[0], half))},
                      {b, nb_sub(g, b, nb_mul(g, grads[1], half))}};
    nb_node *outs[3] = {loss, grads[0], grads[1]};
    nb_compile_options opt = {
        .outputs = outs, .n_outputs = 3, .updates = u, .n_updates = 2, .backend = backend};
    nb_program *prog = nb_compile(g, &opt);
    if (!prog)
        fail_msg("backend %d: %s", (int)backend, nb_graph_error(g));
    nb_graph_free(g);
    return prog;
}

static void run_step(nb_program *p, step_result *r)
{
    assert_int_equal(nb_program_set_param(p, "w", W0, sizeof W0), 0);
    assert_int_equal(nb_program_set_param(p, "b", &B0, sizeof B0), 0);
    assert_int_equal(nb_program_bind(p, "x", X), 0);
    assert_int_equal(nb_program_bind(p, "y", Y), 0);
    assert_int_equal(nb_program_run(p), 0);
    r->loss1 = *(const float *)nb_program_output(p, 0);
    memcpy(r->dw1, nb_program_output(p, 1), sizeof r->dw1);
    r->db1 = *(const float *)nb_program_output(p, 2);
    assert_int_equal(nb_program_run(p), 0);
    r->loss2 = *(const float *)nb_program_output(p, 0);
}

/* |got - want| <= 1e-6 + 1e-5 |want|: f32 arithmetic against f64 by hand. */
static void check_close(const char *what, float got, double want)
{
    if (!(fabs((double)got - want) <= 1e-6 + 1e-5 * fabs(want)))
        fail_msg("%s = %.9g, by hand %.9g", what, (double)got, want);
}

/* The source with every "(*nb_rt_NAME)" written "nb_rt_NAME": the declarations of
 * CG_RT_LINK_POINTERS turned into those of CG_RT_LINK_SYMBOLS. The caller frees it. */
static char *as_symbols(const char *src)
{
    char *out = malloc(strlen(src) + 1);
    assert_non_null(out);
    char *o = out;
    while (*src) {
        if (strncmp(src, "(*nb_rt_", 8) == 0) {
            const char *name = src + 2;
            size_t len = strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_");
            if (name[len] == ')') {
                memcpy(o, name, len);
                o += len;
                src = name + len + 1;
                continue;
            }
        }
        *o++ = *src++;
    }
    *o = 0;
    return out;
}

/* The rows the public header promises, with the way each reaches the kernels. */
static void test_known_rows(void **state)
{
    (void)state;
    const rt_backend *tcc = rt_backend_find(NB_BACKEND_TCC), *cc = rt_backend_find(NB_BACKEND_CC);
    assert_non_null(tcc);
    assert_non_null(cc);
    assert_string_equal(tcc->name, "tcc");
    assert_string_equal(cc->name, "cc");
    /* libtcc resolves names through tcc_add_symbol; a shared object gets pointers. */
    assert_int_equal(tcc->rt_link, CG_RT_LINK_SYMBOLS);
    assert_int_equal(cc->rt_link, CG_RT_LINK_POINTERS);
}

/* Removes from s (in place) nabla's own math, which a row gets as text (between its
 * first and last line) or as declarations ("float nbm_expf(float);" lines, then a blank
 * line) as its rt_link asks (codegen/cg_math.c). Returns 1 when there was some. */
static int drop_own_math(char *s)
{
    char *begin = strstr(s, "/* nabla's own math");
    const char *end_line = "/* end of nabla's own math */\n\n";
    if (begin) {
        char *end = strstr(begin, end_line);
        assert_non_null(end);
        end += strlen(end_line);
        memmove(begin, end, strlen(end) + 1);
        return 1;
    }
    char *first = strstr(s, "\nfloat nbm_");
    if (!first)
        return 0;
    char *after = first + 1;
    while (strncmp(after, "float nbm_", 10) == 0)
        after = strchr(after, '\n') + 1;
    assert_true(*after == '\n');
    memmove(first + 1, after + 1, strlen(after + 1) + 1);
    return 1;
}

/* Every row: a complete row, the numbers by hand, the same bits as the first row, and
 * the same C but for the kernel declarations its rt_link asks for and the form of
 * nabla's own math (text or declarations). */
static void test_every_row(void **state)
{
    (void)state;
    step_result first = {0};
    char *first_source = NULL;
    int rows = 0;
    for (int v = 0; v < SCAN_MAX; v++) {
        const rt_backend *row = rt_backend_find((nb_backend)v);
        if (!row)
            continue;
        assert_true(row->name && row->name[0] && row->compile && row->free);
        nb_program *p = compile_step((nb_backend)v);
        const char *src = nb_program_source(p);
        const char *decl = row->rt_link == CG_RT_LINK_POINTERS ? "\nvoid (*nb_rt_gemm_f32)("
                                                               : "\nvoid nb_rt_gemm_f32(";
        if (!strstr(src, decl))
            fail_msg("%s: the source does not declare '%s'", row->name, decl + 1);
        char *plain = as_symbols(src);
        if (!drop_own_math(plain))
            fail_msg("%s: the step's sigmoid calls no nbm_expf", row->name);
        step_result r;
        run_step(p, &r);
        nb_program_free(p);

        check_close("loss", r.loss1, LOSS1);
        for (int j = 0; j < 3; j++)
            check_close("dL/dw", r.dw1[j], DW1[j]);
        check_close("dL/db", r.db1, DB1);
        check_close("loss after the step", r.loss2, LOSS2);
        if (rows++ == 0) {
            first = r;
            first_source = plain;
            continue;
        }
        if (memcmp(&r, &first, sizeof r) != 0)
            fail_msg("%s: not the same bits as the first row", row->name);
        if (strcmp(plain, first_source) != 0)
            fail_msg("%s: the C differs from the first row's beyond the kernel declarations",
                     row->name);
        free(plain);
    }
    free(first_source);
    assert_true(rows >= 2);
}

/* A value without a row: nb_compile fails with the value in the message. */
static void check_refused(int v)
{
    assert_null(rt_backend_find((nb_backend)v));
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 0, NULL);
    nb_node *y = nb_square(g, x);
    nb_compile_options opt = {.outputs = &y, .n_outputs = 1, .backend = (nb_backend)v};
    assert_null(nb_compile(g, &opt));
    char want[64];
    snprintf(want, sizeof want, "compile: unknown backend %d", v);
    assert_non_null(nb_graph_error(g));
    assert_string_equal(nb_graph_error(g), want);
    nb_graph_free(g);
}

static void test_unknown_refused(void **state)
{
    (void)state;
    /* The first value past the table, and values far outside it either way. */
    int past = NB_BACKEND_CC + 1;
    while (past < SCAN_MAX && rt_backend_find((nb_backend)past))
        past++;
    int values[] = {past, -1, SCAN_MAX, 1000, INT_MAX, INT_MIN};
    for (size_t i = 0; i < sizeof values / sizeof *values; i++)
        check_refused(values[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_rows),
        cmocka_unit_test(test_every_row),
        cmocka_unit_test(test_unknown_refused),
    };
    return cmocka_run_group_tests(tests, tu_cc_cache_setup, tu_cc_cache_teardown);
}
