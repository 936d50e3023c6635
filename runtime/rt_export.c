/* rt_export.c — nb_program_export: a program's portable C (nb_program.exported,
 * generated with CG_RT_LINK_STATIC) written as a standalone <prefix>.c/.h pair, with the
 * runtime kernels it calls as C, its weights, tables describing its tensors and the
 * functions a caller uses: init, run, run_array, error. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"
#include "rt_safetensors.h"
#include "rt_tmpfile.h"

/* Longest prefix: the names made from it stay far below any compiler's limit. */
#define RT_EXPORT_PREFIX_MAX 64

/* What one export writes. */
typedef struct export_ctx {
    nb_program *p;
    const cg_program *cg;                 /* p->exported */
    const char *prefix;                   /* lower-case names: <prefix>_run */
    char upper[RT_EXPORT_PREFIX_MAX + 1]; /* macros: <PREFIX>_ARENA_SIZE */
    int consts;                           /* weights baked as constants */
    ir_text h, c;
} export_ctx;

/* A prefix is a C identifier that starts with a letter (not '_': names starting with
 * '_' and a capital, or two, are the implementation's), and not "nb" or one starting
 * with "nb_" or "nbm_", the file's own static names (nb_entry, nb_param3, nbm_expf).
 * 0, or -1 with the error on p. */
static int prefix_check(nb_program *p, const char *prefix)
{
    if (!prefix)
        return rt_error(p, "export: the prefix is NULL");
    size_t n = strlen(prefix);
    if (n == 0 || n > RT_EXPORT_PREFIX_MAX)
        return rt_error(p, "export: the prefix must have 1 to %d bytes, not %zu",
                        RT_EXPORT_PREFIX_MAX, n);
    if (strcmp(prefix, "nb") == 0 || strncmp(prefix, "nb_", 3) == 0 ||
        strncmp(prefix, "nbm_", 4) == 0)
        return rt_error(p,
                        "export: the prefix '%.80s' is reserved: the exported file's own names "
                        "start with nb_ and nbm_",
                        prefix);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)prefix[i];
        int ok = (ch < 128 && isalpha(ch)) || (i > 0 && ((ch < 128 && isdigit(ch)) || ch == '_'));
        if (!ok)
            return rt_error(p,
                            "export: the prefix '%.80s' is not a C identifier starting with a "
                            "letter (byte %zu is 0x%02x)",
                            prefix, i, ch);
    }
    return 0;
}

/* Appends s as a C string literal: letters, digits and a few punctuation bytes as they
 * are, everything else (quotes, backslashes, '?' of trigraphs, control and non-ASCII
 * bytes) as a three-digit octal escape, so that no name can end the literal or change
 * what the file means. NULL appends "". */
static void put_c_string(ir_text *t, const char *s)
{
    static const char plain[] = " _-.,:;/+=()[]<>#@!$%&*^|~`{}";
    ir_text_putc(t, '"');
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch < 128 && isalnum(ch)) || (ch && strchr(plain, ch)))
            ir_text_putc(t, (char)ch);
        else
            ir_text_printf(t, "\\%03o", ch);
    }
    ir_text_putc(t, '"');
}

/* Appends " 'name'" escaped for a comment (nothing for an unnamed slot) and its type. */
static void put_comment_slot(ir_text *t, const cg_slot *s)
{
    char esc[IR_ESCAPED_NAME_MAX];
    if (s->name)
        ir_text_printf(t, " '%s'", ir_escape_name(s->name, esc, sizeof esc));
    ir_text_putc(t, ' ');
    ir_text_type(t, s->dtype, s->rank, s->shape);
}

/* "typedef float <prefix>_<kind><i>_t[64][784];": the tensor's type with its shape (a
 * scalar's is the element type; a tensor with no elements has none: C has no empty
 * arrays). */
static void put_typedef(export_ctx *e, const char *kind, int i, const cg_slot *s)
{
    if (s->numel == 0)
        return;
    ir_text_printf(&e->h, "typedef %s %s_%s%d_t", cg_ctype(s->dtype), e->prefix, kind, i);
    for (int d = 0; d < s->rank; d++)
        ir_text_printf(&e->h, "[%lld]", (long long)s->shape[d]);
    ir_text_puts(&e->h, ";\n");
}

/* Longest name written as a string literal: C99 compilers need only support 4,095
 * bytes in one (gcc -pedantic warns past it); a longer name is an array of bytes. */
#define RT_EXPORT_LITERAL_MAX 4000

static int long_name(const cg_slot *s)
{
    return s->name && strlen(s->name) > RT_EXPORT_LITERAL_MAX;
}

/* "static const char <kind>_name<i>[] = {119, 34, ..., 0};" for a long name. */
static void put_name_array(ir_text *t, const char *kind, int i, const char *name)
{
    ir_text_printf(t, "static const char nb_%s_name%d[] = {", kind, i);
    for (size_t j = 0; name[j]; j++)
        ir_text_printf(t, j % 16 ? " %d," : "\n    %d,", (int)(unsigned char)name[j]);
    ir_text_puts(t, " 0};\n\n");
}

/* The kind of a parameter as the tables name it, indexed by nb_param_kind. */
static const char *const rt_param_kinds[] = {
    [NB_PARAM_MODEL] = "model", [NB_PARAM_OPTIMIZER] = "optimizer", [NB_PARAM_GRAD] = "grad"};

/* One row of a tensor table. */
static void put_row(ir_text *t, const char *kind, int i, const cg_slot *s, int param, size_t offset)
{
    ir_text_puts(t, "    {");
    if (long_name(s))
        ir_text_printf(t, "nb_%s_name%d", kind, i);
    else
        put_c_string(t, s->name);
    ir_text_printf(t, ", \"%s\", %d, {", ir_dtype_name(s->dtype), s->rank);
    for (int d = 0; d < s->rank; d++)
        ir_text_printf(t, d ? ", %lld" : "%lld", (long long)s->shape[d]);
    ir_text_printf(t, "%s}, %lld, %zu, ", s->rank ? "" : "0", (long long)s->numel, rt_st_bytes(s));
    if (offset == (size_t)-1)
        ir_text_puts(t, "(size_t)-1, ");
    else
        ir_text_printf(t, "%zu, ", offset);
    ir_text_printf(t, "\"%s\"},\n", param ? rt_param_kinds[s->kind] : "");
}

/* A table of tensors, ending with a row whose name is NULL. */
static void put_table(export_ctx *e, const char *kind, const cg_slot *slots, int n, int params)
{
    for (int i = 0; i < n; i++)
        if (long_name(&slots[i]))
            put_name_array(&e->c, kind, i, slots[i].name);
    ir_text_printf(&e->c, "const %s_tensor %s_%s[%d] = {\n", e->prefix, e->prefix, kind, n + 1);
    for (int i = 0; i < n; i++)
        put_row(&e->c, kind, i, &slots[i], params,
                !params     ? 0
                : e->consts ? (size_t)-1
                            : slots[i].offset);
    ir_text_puts(&e->c, "    {NULL, NULL, 0, {0}, 0, 0, 0, NULL}};\n\n");
}

/* ---- the header ------------------------------------------------------------------ */

static void write_header(export_ctx *e)
{
    const cg_program *cg = e->cg;
    ir_text *h = &e->h;
    const char *P = e->upper, *p = e->prefix;
    ir_text_printf(h,
                   "/* %s.h — generated by nabla %s: the interface of %s.c, a program that\n"
                   " * needs a C99 compiler and libm, nothing else. */\n"
                   "#ifndef %s_H\n#define %s_H\n\n#include <stddef.h>\n#include <stdint.h>\n\n"
                   "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n",
                   p, nb_version(), p, P, P);
    ir_text_printf(h,
                   "/* Bytes of scratch memory a run needs (intermediates and outputs); nothing\n"
                   " * in it lasts from one run to the next. */\n"
                   "#define %s_ARENA_SIZE %zu\n"
                   "/* Bytes of the state block: the parameters%s%s%s. */\n"
                   "#define %s_STATE_SIZE %zu\n"
                   "/* Alignment in bytes that the arena and the state must have (64, a cache\n"
                   " * line, is faster). */\n"
                   "#define %s_ALIGN 8\n\n"
                   "#define %s_N_INPUTS %d\n#define %s_N_OUTPUTS %d\n#define %s_N_PARAMS %d\n\n",
                   P, cg->arena_size,
                   e->consts ? " (none here: the weights are constants in the .c)"
                             : ", which persist between runs\n * (",
                   e->consts ? "" : p, e->consts ? "" : "_init fills it)", P,
                   e->consts ? (size_t)0 : cg->state_size, P, P, cg->n_inputs, P, cg->n_outputs, P,
                   cg->n_params);
    const char *kinds[3] = {"input", "output", "param"}, *macros[3] = {"INPUT", "OUTPUT", "PARAM"};
    const cg_slot *lists[3] = {cg->inputs, cg->outputs, cg->params};
    int counts[3] = {cg->n_inputs, cg->n_outputs, cg->n_params};
    for (int l = 0; l < 3; l++)
        for (int i = 0; i < counts[l]; i++) {
            const cg_slot *s = &lists[l][i];
            ir_text_printf(h, "/* %s %d:", kinds[l], i);
            put_comment_slot(h, s);
            if (l == 2 && s->kind != NB_PARAM_MODEL)
                ir_text_puts(h, s->kind == NB_PARAM_GRAD ? " (a gradient buffer)"
                                                         : " (optimizer state)");
            ir_text_puts(h, " */\n");
            put_typedef(e, kinds[l], i, s);
            ir_text_printf(h, "#define %s_%s%d_NUMEL %lld\n", P, macros[l], i, (long long)s->numel);
            if (l == 2 && !e->consts)
                ir_text_printf(h, "#define %s_PARAM%d_OFFSET %zu\n", P, i, s->offset);
        }
    ir_text_printf(
        h,
        "\n/* A tensor: name (the graph's, as bytes; \"\" when it has none), dtype\n"
        " * (\"f32\" float, \"f64\" double, \"i32\" int, \"bool\" unsigned char), shape,\n"
        " * elements, bytes, and for a parameter its byte offset in the state block\n"
        " * ((size_t)-1 when the weights are constants) and kind: \"model\", an\n"
        " * optimizer's \"optimizer\" state or a \"grad\" buffer (\"\" for inputs and\n"
        " * outputs). Row-major. */\n"
        "typedef struct %s_tensor {\n    const char *name;\n    const char *dtype;\n"
        "    int rank;\n    int64_t shape[8];\n    int64_t numel;\n    size_t bytes;\n"
        "    size_t offset;\n    const char *kind;\n} %s_tensor;\n\n"
        "/* The tables end with a row whose name is NULL. */\n"
        "extern const %s_tensor %s_inputs[%d];\nextern const %s_tensor %s_outputs[%d];\n"
        "extern const %s_tensor %s_params[%d];\n\n",
        p, p, p, p, cg->n_inputs + 1, p, p, cg->n_outputs + 1, p, p, cg->n_params + 1);
    ir_text_printf(h,
                   "/* Fills the state block (%s_STATE_SIZE bytes, %s_ALIGN-aligned) with the\n"
                   " * parameters' values at the export. 0, or -1 when state is NULL or not\n"
                   " * aligned. */\nint %s_init(void *state);\n\n",
                   P, P, p);
    ir_text_printf(h,
                   "/* Runs the program once: reads the inputs and the state, writes the outputs\n"
                   " * (and the parameter updates into the state). arena: %s_ARENA_SIZE bytes,\n"
                   " * state: %s_STATE_SIZE bytes filled by %s_init, both %s_ALIGN-aligned\n"
                   " * (NULL when the size is 0). Returns 0; -1 when a pointer is NULL or not\n"
                   " * aligned; or a positive code (%s_error) when data read from an input\n"
                   " * is bad (an index out of range, a zero divisor). Runs in the caller's\n"
                   " * floating-point mode. */\n"
                   "int %s_run(",
                   P, P, p, P, p, p);
    size_t open = strlen(p) + 9;
    for (int l = 0; l < 2; l++)
        for (int i = 0; i < counts[l]; i++) {
            const cg_slot *s = &lists[l][i];
            ir_text_printf(h, "%s%s *%s%d, /*", l == 0 ? "const " : "", cg_ctype(s->dtype),
                           kinds[l], i);
            put_comment_slot(h, s);
            ir_text_printf(h, " */\n%*s", (int)open, "");
        }
    ir_text_printf(h, "void *arena, void *state);\n\n");
    ir_text_printf(
        h,
        "/* The same with the inputs and outputs in arrays, in table order. */\n"
        "int %s_run_array(const void *const *inputs, void *const *outputs, void *arena,\n"
        "%*svoid *state);\n\n"
        "/* What a code %s_run returned means. */\nconst char *%s_error(int code);\n\n"
        "#ifdef __cplusplus\n}\n#endif\n\n#endif\n",
        p, (int)strlen(p) + 15, "", p, p);
}

/* ---- the C file ------------------------------------------------------------------ */

/* cg_libm.def's names, and whether glibc rounds each correctly. */
static const char *const rt_libm_names[] = {
#define CG_LIBM(fn, proto, exact) #fn,
#include "cg_libm.def"
#undef CG_LIBM
};
static const unsigned char rt_libm_exact[] = {
#define CG_LIBM(fn, proto, exact) exact,
#include "cg_libm.def"
#undef CG_LIBM
};

/* The runtime kernels other than gemm (codegen/cg_gemm.c writes those) as C. */
static const char rt_copy_text[] =
    "/* Parameter updates: bytes from src to dst, which do not overlap. */\n"
    "static void nb_rt_copy(void *dst, const void *src, long bytes)\n"
    "{\n    memcpy(dst, src, (size_t)bytes);\n}\n\n";

/* The values of parameter i: a static const array named nb_param<i> (nb_param<i>_init
 * when the state holds the parameters). Nothing when all its bytes are zero and the
 * state holds it: init's memset gives those. Returns whether an array was written. */
static int put_weights(export_ctx *e, int i)
{
    const cg_slot *s = &e->cg->params[i];
    const unsigned char *v = e->p->state->bytes + e->p->cg.params[i].offset;
    size_t bytes = rt_st_bytes(s);
    size_t nz = 0;
    while (nz < bytes && v[nz] == 0)
        nz++;
    int zero = nz == bytes;
    if (zero && !e->consts)
        return 0;
    ir_text *c = &e->c;
    ir_text_printf(c, "static const %s nb_param%d%s[%lld] = {", cg_ctype(s->dtype), i,
                   e->consts ? "" : "_init", (long long)(s->numel ? s->numel : 1));
    if (zero || s->numel == 0) {
        ir_text_puts(c, "0};\n");
        return 1;
    }
    for (int64_t j = 0; j < s->numel; j++) {
        double x;
        switch (s->dtype) {
        case NB_F32: {
            float f;
            memcpy(&f, v + 4 * j, 4);
            x = f;
            break;
        }
        case NB_F64: memcpy(&x, v + 8 * j, 8); break;
        case NB_I32: {
            int32_t k;
            memcpy(&k, v + 4 * j, 4);
            x = k;
            break;
        }
        default: x = v[j]; break;
        }
        ir_text_puts(c, j == 0 ? "\n    " : j % 8 ? ", " : ",\n    ");
        cg_lit_put(c, s->dtype, x);
    }
    ir_text_puts(c, "\n};\n");
    return 1;
}

/* "    if (!x || (uintptr_t)x % <P>_ALIGN != 0)\n        return -1;\n" */
static void put_aligned_check(export_ctx *e, const char *x)
{
    ir_text_printf(&e->c, "    if (!%s || (uintptr_t)%s %% %s_ALIGN != 0)\n        return -1;\n", x,
                   x, e->upper);
}

static void write_functions(export_ctx *e, const unsigned char *has_init)
{
    const cg_program *cg = e->cg;
    ir_text *c = &e->c;
    const char *p = e->prefix, *P = e->upper;
    int uses_state = !e->consts && cg->state_size > 0;
    /* init */
    ir_text_printf(c, "int %s_init(void *state)\n{\n", p);
    if (!uses_state) {
        ir_text_puts(c, "    (void)state;\n    return 0;\n}\n\n");
    } else {
        put_aligned_check(e, "state");
        ir_text_printf(c, "    memset(state, 0, %s_STATE_SIZE);\n", P);
        for (int i = 0; i < cg->n_params; i++)
            if (has_init[i])
                ir_text_printf(c,
                               "    memcpy((unsigned char *)state + %s_PARAM%d_OFFSET, "
                               "nb_param%d_init, %zu);\n",
                               P, i, i, rt_st_bytes(&cg->params[i]));
        ir_text_puts(c, "    return 0;\n}\n\n");
    }
    /* run_array */
    ir_text_printf(c,
                   "int %s_run_array(const void *const *inputs, void *const *outputs, void "
                   "*arena,\n%*svoid *state)\n{\n",
                   p, (int)strlen(p) + 15, "");
    if (cg->n_params)
        ir_text_printf(c, "    void *param[%d];\n", cg->n_params);
    if (!uses_state)
        ir_text_puts(c, "    (void)state;\n");
    if (cg->n_inputs)
        ir_text_puts(c, "    if (!inputs)\n        return -1;\n");
    ir_text_puts(c, cg->n_outputs ? "    if (!outputs)\n        return -1;\n"
                                  : "    (void)outputs;\n");
    if (cg->arena_size)
        put_aligned_check(e, "arena");
    if (uses_state)
        put_aligned_check(e, "state");
    for (int i = 0; i < cg->n_inputs; i++)
        if (cg->inputs[i].used)
            ir_text_printf(c, "    if (!inputs[%d])\n        return -1;\n", i);
    for (int i = 0; i < cg->n_outputs; i++)
        if (cg->outputs[i].numel)
            ir_text_printf(c, "    if (!outputs[%d])\n        return -1;\n", i);
    for (int i = 0; i < cg->n_params; i++) {
        if (e->consts)
            ir_text_printf(c, "    param[%d] = (void *)nb_param%d;\n", i, i);
        else
            ir_text_printf(c, "    param[%d] = (unsigned char *)state + %s_PARAM%d_OFFSET;\n", i, P,
                           i);
    }
    ir_text_printf(c, "    int rc = " CG_ENTRY "(inputs, (unsigned char *)arena, %s);\n",
                   cg->n_params ? "param" : "NULL");
    ir_text_puts(c, "    if (rc != 0)\n        return rc;\n");
    for (int i = 0; i < cg->n_outputs; i++)
        if (cg->outputs[i].numel)
            ir_text_printf(c, "    memcpy(outputs[%d], (unsigned char *)arena + %zu, %zu);\n", i,
                           cg->outputs[i].offset, rt_st_bytes(&cg->outputs[i]));
    ir_text_puts(c, "    return 0;\n}\n\n");
    /* run */
    ir_text_printf(c, "int %s_run(", p);
    const char *kinds[2] = {"input", "output"};
    const cg_slot *lists[2] = {cg->inputs, cg->outputs};
    int counts[2] = {cg->n_inputs, cg->n_outputs};
    for (int l = 0; l < 2; l++)
        for (int i = 0; i < counts[l]; i++)
            ir_text_printf(c, "%s%s *%s%d,\n%*s", l == 0 ? "const " : "",
                           cg_ctype(lists[l][i].dtype), kinds[l], i, (int)strlen(p) + 9, "");
    ir_text_puts(c, "void *arena, void *state)\n{\n");
    for (int l = 0; l < 2; l++) {
        ir_text_printf(c, "    %svoid *%ss[%d] = {", l == 0 ? "const " : "", kinds[l],
                       counts[l] ? counts[l] : 1);
        for (int i = 0; i < counts[l]; i++)
            ir_text_printf(c, i ? ", %s%d" : "%s%d", kinds[l], i);
        ir_text_puts(c, counts[l] ? "};\n" : "NULL};\n");
    }
    ir_text_printf(c, "    return %s_run_array(inputs, outputs, arena, state);\n}\n\n", p);
    /* error */
    ir_text_printf(c,
                   "const char *%s_error(int code)\n{\n    switch (code) {\n"
                   "    case 0:\n        return \"no error\";\n"
                   "    case -1:\n        return \"%s_run: a pointer is NULL, or the arena or "
                   "the state is not aligned to %s_ALIGN bytes\";\n",
                   p, p, P);
    for (int i = 0; i < cg->n_failures; i++) {
        ir_text_printf(c, "    case %d:\n        return ", cg->failures[i].node + 1);
        put_c_string(c, cg->failures[i].what);
        ir_text_puts(c, ";\n");
    }
    ir_text_puts(c, "    default:\n        return \"unknown error code\";\n    }\n}\n");
}

static void write_source(export_ctx *e, unsigned char *has_init)
{
    const cg_program *cg = e->cg;
    ir_text *c = &e->c;
    const char *p = e->prefix, *P = e->upper;
    int gemm = cg->rt_used[CG_RT_nb_rt_gemm_f32] || cg->rt_used[CG_RT_nb_rt_gemm_f64] ||
               cg->rt_used[CG_RT_nb_rt_gemm_one_f32] || cg->rt_used[CG_RT_nb_rt_gemm_one_f64];
    ir_text_printf(c,
                   "/* %s.c — generated by nabla %s. Standalone: a C99 compiler and libm.\n"
                   " * Compiled with -ffp-contract=off it computes what nabla computed",
                   p, nb_version());
    /* A compiler that folds a libm call on a constant rounds correctly, where libm may
     * not (runtime/rt_cc.c passes the same flags to cc); gcc 12's basic-block
     * vectorizer drops the rounding of (double)(float)x. */
    int folds = 0;
    for (int i = 0; i < CG_LIBM_COUNT; i++)
        if (cg->libm_used[i] && !rt_libm_exact[i])
            ir_text_printf(c, "%s -fno-builtin-%s",
                           folds++ == 0     ? " (with gcc or clang\n * also"
                           : folds % 4 == 1 ? "\n *"
                                            : "",
                           rt_libm_names[i]);
    ir_text_puts(c, folds ? ";\n * and with gcc 12 -fno-tree-slp-vectorize)."
                          : " (with gcc 12\n * also -fno-tree-slp-vectorize).");
    if (gemm)
        ir_text_printf(c,
                       "\n * Define %s_USE_CBLAS to multiply matrices with cblas_sgemm and\n"
                       " * cblas_dgemm (OpenBLAS on one thread gives nabla's bits).",
                       P);
    ir_text_printf(c,
                   " */\n#include <stdint.h>\n#include <string.h>\n\n#include \"%s.h\"\n\n"
                   "/* i32 tensors are C's int: 32 bits here. */\n"
                   "typedef char %s_int_has_32_bits[sizeof(int) == 4 ? 1 : -1];\n\n",
                   p, p);
    ir_text_puts(c, cg->source);
    ir_text_putc(c, '\n');
    if (cg->rt_used[CG_RT_nb_rt_copy])
        ir_text_puts(c, rt_copy_text);
    cg_conv_put(c, cg->rt_used);
    if (gemm) {
        ir_text_printf(c,
                       "#if defined(%s_USE_CBLAS)\n#define NB_RT_CBLAS 1\n#else\n"
                       "#define NB_RT_CBLAS 0\n#endif\n",
                       P);
        cg_gemm_put(c, cg->rt_used);
        ir_text_putc(c, '\n');
    }
    int any = 0;
    for (int i = 0; i < cg->n_params; i++)
        any |= has_init[i] = (unsigned char)put_weights(e, i);
    if (any)
        ir_text_putc(c, '\n');
    put_table(e, "inputs", cg->inputs, cg->n_inputs, 0);
    put_table(e, "outputs", cg->outputs, cg->n_outputs, 0);
    put_table(e, "params", cg->params, cg->n_params, 1);
    write_functions(e, has_init);
}

/* Writes text to <dir>/<prefix><ext> atomically. 0, or -1 with the error on p. */
static int write_file(nb_program *p, const nb_export_options *opt, const char *ext,
                      const ir_text *text)
{
    ir_text path = {0};
    char err[1024];
    ir_text_printf(&path, "%s/%s%s", opt->dir ? opt->dir : ".", opt->prefix, ext);
    if (path.failed) {
        free(path.buf);
        return rt_error(p, "export: out of memory");
    }
    int rc = rt_file_replace_text(path.buf, text->buf, text->len, err, sizeof err);
    if (rc != 0)
        rt_error(p, "export '%.300s': %s", path.buf, err);
    free(path.buf);
    return rc;
}

int nb_program_export(nb_program *p, const nb_export_options *opt)
{
    if (!p)
        return -1;
    rt_error_clear(p);
    if (!opt)
        return rt_error(p, "export: options are NULL");
    if (prefix_check(p, opt->prefix) != 0)
        return -1;
    if (opt->weights != NB_EXPORT_WEIGHTS_STATE && opt->weights != NB_EXPORT_WEIGHTS_CONST)
        return rt_error(p,
                        "export: unknown weights mode %d (NB_EXPORT_WEIGHTS_STATE or "
                        "NB_EXPORT_WEIGHTS_CONST)",
                        (int)opt->weights);
    if (!p->exported.source)
        return rt_error(p, "export: the program was compiled without "
                           "nb_compile_options.exportable, which keeps its portable C");
    if (opt->weights == NB_EXPORT_WEIGHTS_CONST && p->exported.n_updates > 0)
        return rt_error(p,
                        "export: the program updates %d parameters, so its weights cannot be "
                        "constants (use NB_EXPORT_WEIGHTS_STATE)",
                        p->exported.n_updates);
    export_ctx e = {.p = p,
                    .cg = &p->exported,
                    .prefix = opt->prefix,
                    .consts = opt->weights == NB_EXPORT_WEIGHTS_CONST};
    for (size_t i = 0; opt->prefix[i]; i++)
        e.upper[i] = (char)toupper((unsigned char)opt->prefix[i]);
    unsigned char *has_init = ir_calloc((size_t)e.cg->n_params + 1, 1);
    int rc = -1;
    if (!has_init) {
        rt_error(p, "export: out of memory");
        goto done;
    }
    write_header(&e);
    write_source(&e, has_init);
    if (e.h.failed || e.c.failed) {
        rt_error(p, "export: out of memory");
        goto done;
    }
    /* The header first: a build that sees the new .c finds the header it includes. */
    if (write_file(p, opt, ".h", &e.h) != 0 || write_file(p, opt, ".c", &e.c) != 0)
        goto done;
    rc = 0;
done:
    free(has_init);
    free(e.h.buf);
    free(e.c.buf);
    return rc;
}
