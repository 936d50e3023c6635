/* cg_ops.c — the emitter table: what codegen does with each op of the IR, read from
 * cg_ops.def, and the questions the passes ask of it (leaf, elementwise, kernel, can it
 * fail). The IR's own table (ir/ir_ops.def) knows nothing of C. */
#include <stddef.h>

#include "cg.h"

typedef struct cg_emitter {
    int leaf;          /* input, parameter or constant: no code of its own */
    cg_ew_fn ew;       /* elementwise: the expression of one element */
    cg_emit_fn kernel; /* whole kernel body */
    int fails;         /* the kernel can fail at run time */
    const char *what;  /* what failed then, for the run's error */
} cg_emitter;

/* Indexed by the op enum: a row's place in cg_ops.def does not matter, and a second
 * row for one op overrides the first, which -Wextra (-Werror) refuses at build time.
 * An op without a row is all NULL here; tests/test_op_tables.c fails on it. */
static const cg_emitter cg_emitters[IR_OP_COUNT] = {
/* clang-format off */
#define CG_LEAF {1, NULL, NULL, 0, NULL}
#define CG_EW(fn) {0, fn, NULL, 0, NULL}
#define CG_KERNEL(fn) {0, NULL, fn, 0, NULL}
#define CG_KERNEL_FALLIBLE_AS(fn, what) {0, NULL, fn, 1, what}
#define CG_KERNEL_FALLIBLE(fn) CG_KERNEL_FALLIBLE_AS(fn, "an index is out of range")
/* clang-format on */
#define CG_OP(NAME, emit) [IR_OP_##NAME] = emit,
#include "cg_ops.def"
#undef CG_OP
#undef CG_LEAF
#undef CG_EW
#undef CG_KERNEL
#undef CG_KERNEL_FALLIBLE
#undef CG_KERNEL_FALLIBLE_AS
};

cg_ew_fn cg_ew_emitter(ir_op op)
{
    return cg_emitters[op].ew;
}

cg_emit_fn cg_kernel_emitter(ir_op op)
{
    return cg_emitters[op].kernel;
}

int cg_is_elementwise(const ir_node *n)
{
    return cg_emitters[n->op].ew != NULL;
}

int cg_can_fail(const ir_node *n)
{
    return cg_emitters[n->op].fails;
}

const char *cg_fail_what(const ir_node *n)
{
    return cg_emitters[n->op].what ? cg_emitters[n->op].what : "";
}

int cg_is_leaf(const ir_node *n)
{
    return cg_emitters[n->op].leaf;
}

int cg_is_inlined(const ir_node *n)
{
    return n->op == IR_OP_CONST && n->numel == 1;
}
