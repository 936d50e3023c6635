/* cg_math.c — nabla's own f32 math in the programs that call it: exp, expm1, tanh, log,
 * log1p and erf (codegen/cg_math_text.inc, plain C that compilers vectorize). Code for
 * a shared object gets the text itself: cc vectorizes the elementwise loops around the
 * functions (a libm call would keep them scalar), and the source carries its math, so
 * no libm version changes a result. Code linked by symbols (libtcc's) declares them and
 * calls the runtime's copy of the same text (runtime/rt_math.c, compiled with the
 * project): libtcc would run the text itself about ten times slower. Both compute the
 * same bits: the same C, IEEE operations in the same order, no contraction. */
#include <string.h>

#include "cg.h"

/* The text, with its first and last line, which tests look for. */
#define CG_MATH_BEGIN "/* nabla's own math (codegen/cg_math_text.inc) */\n"
#define CG_MATH_END "/* end of nabla's own math */\n\n"
static const char cg_math_text[] =
#include "cg_math_text.str"
    ;

static const char *const cg_math_names[CG_MATH_COUNT] = {
#define CG_MATH(fn, helpers) #fn,
#include "cg_math.def"
#undef CG_MATH
};

static const char *const cg_math_helpers[CG_MATH_COUNT] = {
#define CG_MATH(fn, helpers) helpers,
#include "cg_math.def"
#undef CG_MATH
};

static const char *const cg_math_own[CG_MATH_COUNT] = {
#define CG_MATH(fn, helpers) "nbm_" #fn,
#include "cg_math.def"
#undef CG_MATH
};

int cg_math_find(const char *libm_name)
{
    for (int i = 0; i < CG_MATH_COUNT; i++)
        if (strcmp(cg_math_names[i], libm_name) == 0)
            return i;
    return -1;
}

const char *cg_math_name(int i)
{
    return cg_math_own[i];
}

int cg_math_of(const char *fn)
{
    for (int i = 0; i < CG_MATH_COUNT; i++)
        if (fn == cg_math_own[i])
            return i;
    return -1;
}

static const char *const cg_math_blocks[CG_MATH_COUNT] = {
#define CG_MATH(fn, helpers) "nb_rt_" #fn "_block",
#include "cg_math.def"
#undef CG_MATH
};

const char *cg_math_block_name(int i)
{
    return cg_math_blocks[i];
}

/* 1 when the chunk chunk[0..len) of the text defines a function a program with used[]
 * needs: one of them, or a helper one of them names in cg_math.def. */
static int chunk_needed(const char *chunk, size_t len, const unsigned char *used)
{
    const char *def = strstr(chunk, "\nstatic inline ");
    const char *name = def && def < chunk + len ? strstr(def, " nbm_") : NULL;
    const char *paren = name ? strchr(name, '(') : NULL;
    if (!paren || paren > chunk + len)
        return 0;
    name++;
    size_t n = (size_t)(paren - name);
    for (int i = 0; i < CG_MATH_COUNT; i++) {
        if (!used[i])
            continue;
        if (strlen(cg_math_own[i]) == n && memcmp(cg_math_own[i], name, n) == 0)
            return 1;
        for (const char *h = cg_math_helpers[i]; (h = strstr(h, "nbm_")); h++)
            if (strncmp(h, name, n) == 0 && (h[n] == ' ' || h[n] == 0))
                return 1;
    }
    return 0;
}

void cg_math_put(ir_text *out, const unsigned char *used, cg_rt_link link)
{
    int any = 0;
    for (int i = 0; i < CG_MATH_COUNT; i++)
        any |= used[i];
    if (!any)
        return;
    if (link == CG_RT_LINK_SYMBOLS) {
        for (int i = 0; i < CG_MATH_COUNT; i++)
            if (used[i]) {
                ir_text_puts(out, "float ");
                ir_text_puts(out, cg_math_own[i]);
                ir_text_puts(out, "(float);\n");
            }
        ir_text_putc(out, '\n');
        return;
    }
    ir_text_puts(out, CG_MATH_BEGIN);
    /* The text is chunks separated by blank lines: the file's comment, then one
     * function each, helpers first. A chunk goes in when its function is used or is a
     * helper of a used one; file order keeps helpers before their callers. */
    const char *chunk = strstr(cg_math_text, "\n\n");
    while (chunk) {
        chunk += 2;
        const char *next = strstr(chunk, "\n\n");
        size_t len = next ? (size_t)(next - chunk) + 1 : strlen(chunk);
        if (chunk_needed(chunk, len, used)) {
            ir_text_append(out, chunk, len);
            ir_text_putc(out, '\n');
        }
        chunk = next;
    }
    ir_text_puts(out, CG_MATH_END);
}
