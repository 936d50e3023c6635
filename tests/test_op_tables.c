/* test_op_tables.c — the emitter table of codegen/ (codegen/cg_ops.def) against the op
 * table of ir/ (ir/ir_ops.def): every op has exactly one emitter row, only the leaves
 * have no emitter, only the ops documented to fail at run time are marked fallible,
 * and the code generator's lookups return what the rows say. An op added to ir/
 * without an emitter row fails here, by name, rather than at compile time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cg.h"

enum { KIND_NONE, KIND_LEAF, KIND_EW, KIND_KERNEL };

/* What cg_ops.def says of one op: how many rows name it, and the last one's content. */
typedef struct op_row {
    int count;
    int kind;
    cg_emit_fn fn;  /* a kernel emitter */
    cg_ew_fn ew_fn; /* an elementwise emitter */
    int fails;
} op_row;

static op_row rows[IR_OP_COUNT];

static void add_row(ir_op op, int kind, cg_emit_fn fn, cg_ew_fn ew_fn, int fails)
{
    rows[op].count++;
    rows[op].kind = kind;
    rows[op].fn = fn;
    rows[op].ew_fn = ew_fn;
    rows[op].fails = fails;
}

/* Reads cg_ops.def itself, with macros of our own, so that a row missing or repeated
 * is counted here whatever the code generator's table makes of it. */
static int read_rows(void **state)
{
    (void)state;
    memset(rows, 0, sizeof rows);
#define CG_LEAF KIND_LEAF, NULL, NULL, 0
#define CG_EW(fn) KIND_EW, NULL, fn, 0
#define CG_KERNEL(fn) KIND_KERNEL, fn, NULL, 0
#define CG_KERNEL_FALLIBLE(fn) KIND_KERNEL, fn, NULL, 1
#define CG_KERNEL_FALLIBLE_AS(fn, what) KIND_KERNEL, fn, NULL, 1
#define CG_OP(NAME, emit) add_row(IR_OP_##NAME, emit);
#include "cg_ops.def"
#undef CG_OP
#undef CG_LEAF
#undef CG_EW
#undef CG_KERNEL
#undef CG_KERNEL_FALLIBLE
#undef CG_KERNEL_FALLIBLE_AS
    return 0;
}

static void test_every_op_has_one_emitter_row(void **state)
{
    (void)state;
    int bad = 0;
    for (int op = 0; op < IR_OP_COUNT; op++) {
        if (rows[op].count != 1) {
            print_error("op %s has %d rows in codegen/cg_ops.def, not 1\n", ir_op_defs[op].name,
                        rows[op].count);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

/* Inputs, parameters and constants (the ops of no operand) have no kernel; every
 * other op has an emitter. */
static void test_only_leaves_have_no_emitter(void **state)
{
    (void)state;
    int bad = 0;
    for (int op = 0; op < IR_OP_COUNT; op++) {
        int leaf = ir_op_defs[op].arity == 0;
        if (rows[op].count == 1 && (leaf != (rows[op].kind == KIND_LEAF) ||
                                    (!leaf && rows[op].fn == NULL && rows[op].ew_fn == NULL))) {
            print_error("op %s (arity %d) has the emitter kind %d\n", ir_op_defs[op].name,
                        ir_op_defs[op].arity, rows[op].kind);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

/* The ops whose kernel checks its data and fails on an index out of range
 * (ir/ops_shape.def documents these four) or a zero divisor (ir/ops_binary.def). */
static void test_fallible_rows_are_the_index_ops(void **state)
{
    (void)state;
    static const char *const fallible[] = {"gather",          "scatter_add", "one_hot",
                                           "take_along_axis", "floor_div",   "remainder",
                                           "scatter_add_axis"};
    int bad = 0;
    for (int op = 0; op < IR_OP_COUNT; op++) {
        int want = 0;
        for (size_t i = 0; i < sizeof fallible / sizeof *fallible; i++)
            want |= !strcmp(ir_op_defs[op].name, fallible[i]);
        if (rows[op].fails != want) {
            print_error("op %s: fallible %d in codegen/cg_ops.def, want %d\n", ir_op_defs[op].name,
                        rows[op].fails, want);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

/* The code generator's table is indexed by the op enum: each lookup returns the
 * function of that op's row, whatever the order of the rows. */
static void test_lookups_follow_the_rows(void **state)
{
    (void)state;
    int bad = 0;
    for (int op = 0; op < IR_OP_COUNT; op++) {
        ir_node n = {.op = (ir_op)op};
        const op_row *r = &rows[op];
        if (cg_ew_emitter((ir_op)op) != (r->kind == KIND_EW ? r->ew_fn : NULL) ||
            cg_kernel_emitter((ir_op)op) != (r->kind == KIND_KERNEL ? r->fn : NULL) ||
            cg_is_elementwise(&n) != (r->kind == KIND_EW) ||
            cg_is_leaf(&n) != (r->kind == KIND_LEAF) || cg_can_fail(&n) != r->fails) {
            print_error("op %s: the code generator's lookups disagree with its row\n",
                        ir_op_defs[op].name);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_op_has_one_emitter_row),
        cmocka_unit_test(test_only_leaves_have_no_emitter),
        cmocka_unit_test(test_fallible_rows_are_the_index_ops),
        cmocka_unit_test(test_lookups_follow_the_rows),
    };
    return cmocka_run_group_tests(tests, read_rows, NULL);
}
