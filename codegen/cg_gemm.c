/* cg_gemm.c — the gemm kernels an exported program carries instead of calling the
 * runtime's (codegen/cg_gemm_text.inc, embedded as a string): the chunks of the text
 * that define the nb_rt_gemm_* functions a program uses and the helpers they call. */
#include <string.h>

#include "cg.h"

/* The text, with a first and last line that mark it in a program. */
#define CG_GEMM_BEGIN "/* nabla's gemm (codegen/cg_gemm_text.inc) */\n"
#define CG_GEMM_END "/* end of nabla's gemm */\n\n"
static const char cg_gemm_text[] =
#include "cg_gemm_text.str"
    ;

/* Chunks of the text at most (cg_gemm_text.inc has 14 after its comment). The text is
 * ours: chunks past it would be left out of every export, and test_export_gemm, which
 * compiles the text of each subset of the functions, fails. */
#define CG_GEMM_MAX_CHUNKS 64

static const char *const cg_gemm_rt_names[CG_RT_COUNT] = {
#define CG_RT(fn, proto) #fn,
#include "cg_rt.def"
#undef CG_RT
};

/* A chunk of the text: at[0..len), the function it defines at name[0..name_len), or
 * name_len 0 when it defines none (the settings). */
typedef struct cg_gemm_chunk {
    const char *at, *name;
    size_t len, name_len;
    int needed;
} cg_gemm_chunk;

static int is_ident(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_';
}

/* 1 when the code of text[0..len) holds the identifier name[0..n) (not as part of a
 * longer one, nor in a comment: "nb_rt_gemm_f32 in double" calls nothing). */
static int mentions(const char *text, size_t len, const char *name, size_t n)
{
    for (size_t i = 0; i + n <= len; i++) {
        if (text[i] == '/' && i + 1 < len && text[i + 1] == '*') {
            const char *end = strstr(text + i + 2, "*/");
            if (!end)
                return 0;
            i = (size_t)(end - text) + 1;
            continue;
        }
        if (memcmp(text + i, name, n) == 0 && (i == 0 || !is_ident(text[i - 1])) &&
            (i + n == len || !is_ident(text[i + n])))
            return 1;
    }
    return 0;
}

/* The function a chunk defines: the nb_rt_gemm_* name of its first line that starts with
 * "static " (its prototype, whose '(' follows the name). */
static void chunk_name(cg_gemm_chunk *ch)
{
    ch->name = NULL;
    ch->name_len = 0;
    for (const char *line = ch->at; line && line < ch->at + ch->len;) {
        if (strncmp(line, "static ", 7) == 0) {
            const char *name = strstr(line, "nb_rt_gemm_"), *paren = strchr(line, '(');
            if (name && paren && name < paren && paren < ch->at + ch->len) {
                ch->name = name;
                ch->name_len = (size_t)(paren - name);
            }
            return;
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
}

/* Cuts the text into chunks at blank lines, after its opening comment: their number (at
 * most max). */
static int gemm_chunks(cg_gemm_chunk *chunks, int max)
{
    int n = 0;
    const char *chunk = strstr(cg_gemm_text, "\n\n");
    while (chunk && n < max) {
        chunk += 2;
        const char *next = strstr(chunk, "\n\n");
        chunks[n].at = chunk;
        chunks[n].len = next ? (size_t)(next - chunk) + 1 : strlen(chunk);
        chunks[n].needed = 0;
        chunk_name(&chunks[n]);
        n++;
        chunk = next;
    }
    return n;
}

void cg_gemm_put(ir_text *out, const unsigned char *rt_used)
{
    cg_gemm_chunk chunks[CG_GEMM_MAX_CHUNKS];
    int n = gemm_chunks(chunks, CG_GEMM_MAX_CHUNKS), any = 0;
    /* Callers come after their helpers: from the last chunk back, a function is needed
     * when the program calls it or a needed chunk after it names it. */
    for (int i = n - 1; i >= 0; i--) {
        cg_gemm_chunk *ch = &chunks[i];
        if (!ch->name_len)
            continue;
        for (int r = 0; r < CG_RT_COUNT && !ch->needed; r++)
            ch->needed = rt_used[r] && strlen(cg_gemm_rt_names[r]) == ch->name_len &&
                         memcmp(cg_gemm_rt_names[r], ch->name, ch->name_len) == 0;
        for (int j = i + 1; j < n && !ch->needed; j++)
            ch->needed =
                chunks[j].needed && mentions(chunks[j].at, chunks[j].len, ch->name, ch->name_len);
        any |= ch->needed;
    }
    if (!any)
        return;
    ir_text_puts(out, CG_GEMM_BEGIN);
    for (int i = 0; i < n; i++)
        if (chunks[i].needed || !chunks[i].name_len) {
            ir_text_append(out, chunks[i].at, chunks[i].len);
            ir_text_putc(out, '\n');
        }
    ir_text_puts(out, CG_GEMM_END);
}
