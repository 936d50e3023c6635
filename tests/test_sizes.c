/* test_sizes.c — element counts and byte sizes that do not fit are errors, found before
 * anything is allocated: node shapes, the parameter state, the arena, initializers, and
 * the checked helpers of ir/ir_size.c themselves. Nothing here allocates huge memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ir.h"
#include "nabla.h"
#include "rt.h"

static void expect_text(const char *msg, const char *part)
{
    if (!msg || !strstr(msg, part))
        fail_msg("expected '%s' in: %s", part, msg ? msg : "(no error)");
}

static void test_helpers(void **state)
{
    (void)state;
    size_t r = 7;
    assert_int_equal(ir_size_add(SIZE_MAX - 1, 1, &r), 0);
    assert_true(r == SIZE_MAX);
    assert_int_equal(ir_size_add(SIZE_MAX, 1, &r), -1);
    assert_true(r == SIZE_MAX); /* untouched on failure */
    assert_int_equal(ir_size_mul((size_t)1 << 32, (size_t)1 << 31, &r), 0);
    assert_true(r == (size_t)1 << 63);
    assert_int_equal(ir_size_mul((size_t)1 << 32, (size_t)1 << 32, &r), -1);
    assert_int_equal(ir_size_mul(SIZE_MAX, 0, &r), 0);
    assert_true(r == 0);
    assert_int_equal(ir_size_align(65, 64, &r), 0);
    assert_true(r == 128);
    assert_int_equal(ir_size_align(128, 64, &r), 0);
    assert_true(r == 128);
    /* Rounding up the last bytes below SIZE_MAX wraps to a tiny size unless checked. */
    assert_int_equal(ir_size_align(SIZE_MAX - 10, 64, &r), -1);
    assert_int_equal(ir_size_bytes(NB_F64, (int64_t)1 << 61, &r), -1);
    assert_int_equal(ir_size_bytes(NB_F64, (int64_t)1 << 59, &r), 0);
    assert_true(r == (size_t)1 << 62);
    assert_int_equal(ir_size_bytes(NB_F32, -1, &r), -1);

    const int64_t ok[] = {3, 0, 5}, wraps[] = {(int64_t)1 << 62, 4}, neg[] = {2, -3};
    const int64_t big[] = {(int64_t)1 << 32, (int64_t)1 << 32, (int64_t)1 << 32};
    assert_int_equal(ir_shape_numel(3, ok), 0);
    assert_int_equal(ir_shape_numel(2, wraps), -1);
    assert_int_equal(ir_shape_numel(3, big), -1);
    assert_int_equal(ir_shape_numel(2, neg), -1);
    assert_int_equal(ir_shape_numel(0, NULL), 1);
}

/* A node of 2^80 elements is refused when it is built, naming the op and the shape. */
static void test_node_shape(void **state)
{
    (void)state;
    const int64_t big[] = {(int64_t)1 << 40, (int64_t)1 << 40};
    nb_graph *g = nb_graph_new();
    assert_null(nb_input(g, "x", NB_F32, 2, big));
    expect_text(nb_graph_error(g), "input:");
    expect_text(nb_graph_error(g), "f32[1099511627776,1099511627776]");
    nb_graph_free(g);

    const int64_t a[] = {(int64_t)1 << 40, 1}, b[] = {1, (int64_t)1 << 40};
    g = nb_graph_new();
    nb_node *x = nb_param(g, "a", NB_F64, 2, a), *y = nb_param(g, "b", NB_F64, 2, b);
    assert_null(nb_mul(g, x, y));
    expect_text(nb_graph_error(g), "mul:");
    expect_text(nb_graph_error(g), "f64[1099511627776,1099511627776]");
    nb_graph_free(g);
}

#define HUGE_DIM ((int64_t)1 << 29) /* [2^29, 2^29] f64: 2^61 bytes; eight of them 2^64 */

/* Eight f64 parameters of [2^29, 2^29] sum to 2^64 bytes of state: compiling fails
 * with an error naming the state and the parameter that does not fit. */
static void test_state_sum(void **state)
{
    (void)state;
    const int64_t shape[] = {HUGE_DIM, HUGE_DIM};
    nb_graph *g = nb_graph_new();
    for (int i = 0; i < 8; i++) {
        char name[16];
        snprintf(name, sizeof name, "w%d", i);
        assert_non_null(nb_param(g, name, NB_F64, 2, shape));
    }
    nb_node *x = nb_input(g, "x", NB_F64, 0, NULL);
    nb_node *y = nb_neg(g, x);
    nb_compile_options opt = {.outputs = &y, .n_outputs = 1};
    nb_program *p = nb_compile(g, &opt);
    if (p) {
        nb_program_free(p);
        fail_msg("compiled a program whose state needs 2^64 bytes");
    }
    expect_text(nb_graph_error(g), "parameter state");
    expect_text(nb_graph_error(g), "'w7'");
    expect_text(nb_graph_error(g), "f64[536870912,536870912]");
    nb_graph_free(g);
}

/* Eight results of 2^61 bytes each, all kept (outputs), need 2^64 bytes of arena; so do
 * eight leaves returned as outputs (each copied into the arena). */
static void test_arena_sum(void **state)
{
    (void)state;
    const int64_t shape[] = {HUGE_DIM, HUGE_DIM};
    for (int leaves = 0; leaves <= 1; leaves++) {
        nb_graph *g = nb_graph_new();
        nb_node *outs[8];
        nb_node *x = nb_input(g, "x", NB_F64, 2, shape);
        for (int i = 0; i < 8; i++) {
            char name[16];
            snprintf(name, sizeof name, "x%d", i);
            outs[i] = leaves ? nb_input(g, name, NB_F64, 2, shape)
                             : nb_mul(g, x, nb_scalar(g, NB_F64, i + 2));
            assert_non_null(outs[i]);
        }
        nb_compile_options opt = {.outputs = outs, .n_outputs = 8};
        nb_program *p = nb_compile(g, &opt);
        if (p) {
            nb_program_free(p);
            fail_msg("compiled an arena of 2^64 bytes (leaves %d)", leaves);
        }
        expect_text(nb_graph_error(g), "arena");
        expect_text(nb_graph_error(g), "f64[536870912,536870912]");
        nb_graph_free(g);
    }
}

/* An initializer's element count that wraps (2^64 to 0, 2^96 to 0) is an error, not a
 * successful fill of nothing. */
static void test_init_fill(void **state)
{
    (void)state;
    const int64_t wraps[] = {(int64_t)1 << 62, 4};
    const int64_t big[] = {(int64_t)1 << 32, (int64_t)1 << 32, (int64_t)1 << 32};
    float out[4];
    char err[256] = "";
    nb_init in = nb_init_uniform(-1, 1, 7);
    assert_int_equal(nb_init_fill(&in, NB_F32, 2, wraps, out, err, sizeof err), -1);
    expect_text(err, "f32[4611686018427387904,4]");
    expect_text(err, "overflows");
    err[0] = 0;
    assert_int_equal(nb_init_fill(&in, NB_F32, 3, big, out, err, sizeof err), -1);
    expect_text(err, "overflows");
    /* A zero dimension is an empty tensor whatever the others are. */
    const int64_t empty[] = {0, (int64_t)1 << 62, 4};
    assert_int_equal(nb_init_fill(&in, NB_F32, 3, empty, out, err, sizeof err), 0);
}

/* The runtime's aligned allocation refuses a size whose rounding to 64 bytes, or whose
 * slack for the alignment, wraps; what it returns is 64-byte aligned and zero. */
static void test_alloc_rounding(void **state)
{
    (void)state;
    void *base = &base;
    assert_null(rt_alloc_zeroed(SIZE_MAX - 10, &base));
    assert_null(base);
    /* Rounding is fine but the alignment slack wraps. */
    assert_null(rt_alloc_zeroed(SIZE_MAX - 2 * 64 + 2, &base));
    assert_null(base);
    for (size_t size = 0; size < 300; size += 37) {
        unsigned char *m = rt_alloc_zeroed(size, &base);
        assert_non_null(m);
        assert_non_null(base);
        assert_int_equal((uintptr_t)m % 64, 0);
        for (size_t i = 0; i < (size ? size : 64); i++)
            assert_int_equal(m[i], 0);
        free(base);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_helpers),   cmocka_unit_test(test_node_shape),
        cmocka_unit_test(test_state_sum), cmocka_unit_test(test_arena_sum),
        cmocka_unit_test(test_init_fill), cmocka_unit_test(test_alloc_rounding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
