/* cg_expr.c — the builder elementwise emitters write their expression into: pieces of
 * C text and holes where an operand goes, filled in later by the fused loop. */
#include <stdlib.h>
#include <string.h>

#include "cg.h"

void cg_ew_reset(cg_ew *e, cg_ctx *c, const ir_node *n)
{
    e->c = c;
    e->n = n;
    if (e->text.buf)
        e->text.buf[0] = 0;
    e->text.len = 0;
    e->n_holes = 0;
    e->calls = 0;
    e->empty = 1;
    e->whole = CG_EW_COMPOUND;
    e->math = -1;
    e->index = NULL;
}

void cg_ew_index(cg_ew *e)
{
    if (!e->index) {
        cg_internal_error(e->c, "the emitter of %s reads an element index outside a loop",
                          ir_op_defs[e->n->op].name);
        return;
    }
    cg_ew_s(e, "(unsigned long long)(");
    cg_ew_s(e, e->index);
    cg_ew_s(e, ")");
}

void cg_ew_free(cg_ew *e)
{
    free(e->text.buf);
    free(e->holes);
    memset(e, 0, sizeof *e);
}

/* Notes that a piece is written: what the expression is as a whole. `whole` is what
 * this piece would make it if it were the first; any piece after the first outside
 * every call makes it compound. */
static void piece(cg_ew *e, int whole)
{
    if (e->empty)
        e->whole = whole;
    else if (!e->calls)
        e->whole = CG_EW_COMPOUND;
    e->empty = 0;
}

static void add_hole(cg_ew *e, int operand, const char *name)
{
    if (e->text.failed)
        return;
    if (e->n_holes == e->cap_holes) {
        int cap = e->cap_holes ? 2 * e->cap_holes : 8;
        cg_ew_hole *h = ir_realloc(e->holes, (size_t)cap * sizeof *h);
        if (!h) {
            /* The text carries the failure: the fused loop checks it once. */
            free(e->text.buf);
            e->text.buf = NULL;
            e->text.len = e->text.cap = 0;
            e->text.failed = 1;
            return;
        }
        e->holes = h;
        e->cap_holes = cap;
    }
    e->holes[e->n_holes++] = (cg_ew_hole){e->text.len, operand, name};
}

void cg_ew_x(cg_ew *e, int j)
{
    if (j < 0 || j >= e->n->n_in) {
        cg_internal_error(e->c, "the emitter of %s reads operand %d of %d",
                          ir_op_defs[e->n->op].name, j, e->n->n_in);
        return;
    }
    piece(e, 1 + j);
    add_hole(e, j, NULL);
}

void cg_ew_s(cg_ew *e, const char *text)
{
    piece(e, CG_EW_COMPOUND);
    ir_text_puts(&e->text, text);
}

void cg_ew_lit(cg_ew *e, double v)
{
    piece(e, CG_EW_COMPOUND);
    cg_lit_put(&e->text, e->n->dtype, v);
}

void cg_ew_call(cg_ew *e, const char *base)
{
    int opens = e->text.len == 0;
    const char *fn = cg_fn(e->c, e->n->dtype, base);
    piece(e, CG_EW_CALL);
    if (opens)
        e->math = cg_math_of(fn);
    ir_text_puts(&e->text, fn);
    ir_text_putc(&e->text, '(');
    e->calls++;
}

void cg_ew_close(cg_ew *e)
{
    if (e->calls <= 0) {
        cg_internal_error(e->c, "the emitter of %s closes a call it did not open",
                          ir_op_defs[e->n->op].name);
        return;
    }
    ir_text_putc(&e->text, ')');
    e->calls--;
}

void cg_ew_let(cg_ew *e, const char *name)
{
    if (e->empty || e->calls) {
        cg_internal_error(e->c, "the emitter of %s ends an empty or open statement",
                          ir_op_defs[e->n->op].name);
        return;
    }
    add_hole(e, CG_EW_LET, name);
    e->empty = 1;
    e->whole = CG_EW_COMPOUND;
}

void cg_ew_local(cg_ew *e, const char *name)
{
    piece(e, CG_EW_COMPOUND);
    ir_text_putc(&e->text, 't');
    ir_text_int(&e->text, e->n->origin);
    ir_text_putc(&e->text, '_');
    ir_text_puts(&e->text, name);
}
