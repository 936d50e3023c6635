/* cg_random.c — the emitter of the random op: one Philox draw per element, counted by
 * the element's index in the node (cg_ew_index), and the generator's text that programs
 * drawing numbers contain (codegen/cg_random_text.inc). */
#include "cg.h"

static const char cg_random_text[] =
#include "cg_random_text.str"
    ;

/* Characters of "0x" and 16 hex digits, "ull" and the terminator. */
#define CG_U64_HEX_MAX 24

/* Writes v as the literal "0x<16 hex digits>ull" into buf[CG_U64_HEX_MAX]. */
static const char *u64_literal(uint64_t v, char *buf)
{
    static const char digits[] = "0123456789abcdef";
    buf[0] = '0';
    buf[1] = 'x';
    for (int i = 0; i < 16; i++)
        buf[2 + i] = digits[(v >> (60 - 4 * i)) & 15];
    buf[18] = 'u', buf[19] = 'l', buf[20] = 'l', buf[21] = 0;
    return buf;
}

/* nbm_uniformf(step, seed, offset + index) (f32) or nbm_uniform(...) (f64). */
void cg_ew_rand(cg_ew *e, const ir_node *n)
{
    char buf[CG_U64_HEX_MAX];
    e->c->random_used = 1;
    cg_ew_s(e, n->dtype == NB_F32 ? "nbm_uniformf(" : "nbm_uniform(");
    cg_ew_x(e, 0);
    cg_ew_s(e, ", ");
    cg_ew_s(e, u64_literal(n->attr.random.seed, buf));
    cg_ew_s(e, ", ");
    if (n->attr.random.offset) {
        cg_ew_s(e, u64_literal((uint64_t)n->attr.random.offset, buf));
        cg_ew_s(e, " + ");
    }
    cg_ew_index(e);
    cg_ew_s(e, ")");
}

void cg_random_put(ir_text *out, cg_rt_link link)
{
    if (link == CG_RT_LINK_SYMBOLS) {
        ir_text_puts(out,
                     "float nbm_uniformf(double, unsigned long long, unsigned long long);\n"
                     "double nbm_uniform(double, unsigned long long, unsigned long long);\n\n");
        return;
    }
    ir_text_puts(out, "/* nabla's random numbers (codegen/cg_random_text.inc) */\n");
    ir_text_puts(out, cg_random_text);
    ir_text_putc(out, '\n');
}
