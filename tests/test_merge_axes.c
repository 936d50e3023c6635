/* test_merge_axes.c — cg_merge_axes, the one place that simplifies the loop nest of a
 * kernel walking several arrays (elementwise loops, copies, matmul batches): axes of
 * size 1 go, and an axis joins the one before it only when every array walks the two
 * as one run. Expected sizes and strides are worked out by hand in the comments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cg.h"

static void expect_axes(int rank, const int64_t *size, int n_arrays, int64_t (*stride)[NB_MAX_RANK],
                        int want_rank, const int64_t *want_size,
                        const int64_t (*want_stride)[NB_MAX_RANK])
{
    assert_int_equal(rank, want_rank);
    for (int d = 0; d < want_rank; d++) {
        assert_int_equal(size[d], want_size[d]);
        for (int a = 0; a < n_arrays; a++)
            assert_int_equal(stride[a][d], want_stride[a][d]);
    }
}

/* A row-major copy of [2,3,4] onto the same layout is one flat run of 24. */
static void test_contiguous_is_one_axis(void **state)
{
    (void)state;
    int64_t size[NB_MAX_RANK] = {2, 3, 4};
    int64_t st[2][NB_MAX_RANK] = {{12, 4, 1}, {12, 4, 1}};
    int r = cg_merge_axes(3, size, 2, st);
    const int64_t want_size[] = {24};
    const int64_t want_st[2][NB_MAX_RANK] = {{1}, {1}};
    expect_axes(r, size, 2, st, 1, want_size, want_st);
}

/* [1,5,1,2]: the axes of size 1 are dropped whatever their strides, then 5 and 2
 * (strides 2 and 1 on both sides) are one run of 10. */
static void test_size_one_axes_are_dropped(void **state)
{
    (void)state;
    int64_t size[NB_MAX_RANK] = {1, 5, 1, 2};
    int64_t st[2][NB_MAX_RANK] = {{10, 2, 7, 1}, {10, 2, 3, 1}};
    int r = cg_merge_axes(4, size, 2, st);
    const int64_t want_size[] = {10};
    const int64_t want_st[2][NB_MAX_RANK] = {{1}, {1}};
    expect_axes(r, size, 2, st, 1, want_size, want_st);
}

/* permute(x[2,3,4,5], (1,0,2,3)) = y[3,2,4,5]: y strides 40,20,5,1; x read through
 * 20,60,5,1. The inner axes 4 and 5 are one run of 20 on both sides (5 = 1 * 5); axis
 * 2 does not join axis 1 (y 20 = 5 * 4, but x 60 != 5 * 4), nor axis 1 axis 0 (y 40 =
 * 20 * 2, but x 20 != 60 * 2). */
static void test_permute_keeps_the_swapped_axes(void **state)
{
    (void)state;
    int64_t size[NB_MAX_RANK] = {3, 2, 4, 5};
    int64_t st[2][NB_MAX_RANK] = {{40, 20, 5, 1}, {20, 60, 5, 1}};
    int r = cg_merge_axes(4, size, 2, st);
    const int64_t want_size[] = {3, 2, 20};
    const int64_t want_st[2][NB_MAX_RANK] = {{40, 20, 1}, {20, 60, 1}};
    expect_axes(r, size, 2, st, 3, want_size, want_st);
}

/* out[2,3,4] = a[2,3,4] + b[4]: b has stride 0 on the two leading axes, which every
 * array walks as one run of 6 (out 12 = 4 * 3, a 12 = 4 * 3, b 0 = 0 * 3); the last
 * axis cannot join them (b: 0 != 1 * 4). */
static void test_broadcast_operand_keeps_its_axis(void **state)
{
    (void)state;
    int64_t size[NB_MAX_RANK] = {2, 3, 4};
    int64_t st[3][NB_MAX_RANK] = {{12, 4, 1}, {12, 4, 1}, {0, 0, 1}};
    int r = cg_merge_axes(3, size, 3, st);
    const int64_t want_size[] = {6, 4};
    const int64_t want_st[3][NB_MAX_RANK] = {{4, 1}, {4, 1}, {0, 1}};
    expect_axes(r, size, 3, st, 2, want_size, want_st);
}

/* A scalar box (rank 0, or every axis of size 1) leaves no loop at all. */
static void test_scalar_has_no_axes(void **state)
{
    (void)state;
    int64_t size[NB_MAX_RANK] = {1, 1};
    int64_t st[1][NB_MAX_RANK] = {{1, 1}};
    assert_int_equal(cg_merge_axes(0, size, 1, st), 0);
    assert_int_equal(cg_merge_axes(2, size, 1, st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contiguous_is_one_axis),
        cmocka_unit_test(test_size_one_axes_are_dropped),
        cmocka_unit_test(test_permute_keeps_the_swapped_axes),
        cmocka_unit_test(test_broadcast_operand_keeps_its_axis),
        cmocka_unit_test(test_scalar_has_no_axes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
