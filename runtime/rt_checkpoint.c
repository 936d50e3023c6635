/* rt_checkpoint.c — checkpoints: a program's parameters saved to safetensors files
 * atomically (the reader is rt_checkpoint_load.c), and what writer and reader share. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"
#include "rt_json.h"
#include "rt_safetensors.h"
#include "rt_tmpfile.h"

/* safetensors' names of nabla's dtypes. */
static const struct {
    nb_dtype dtype;
    const char *name;
} st_dtypes[] = {{NB_F32, "F32"}, {NB_F64, "F64"}, {NB_I32, "I32"}, {NB_BOOL, "BOOL"}};

#define N_ST_DTYPES (int)(sizeof st_dtypes / sizeof st_dtypes[0])

const char *rt_st_dtype_name(nb_dtype dt)
{
    for (int i = 0; i < N_ST_DTYPES; i++)
        if (st_dtypes[i].dtype == dt)
            return st_dtypes[i].name;
    return NULL;
}

size_t rt_st_bytes(const cg_slot *s)
{
    return (size_t)s->numel * ir_dtype_size(s->dtype);
}

int rt_host_is_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    return first == 1;
}

void rt_swap_bytes(unsigned char *b, size_t n, size_t elsize)
{
    for (size_t i = 0; i < n; i++, b += elsize)
        for (size_t j = 0; j < elsize / 2; j++) {
            unsigned char t = b[j];
            b[j] = b[elsize - 1 - j];
            b[elsize - 1 - j] = t;
        }
}

/* ---- save ------------------------------------------------------------------------ */

/* Whether a save writes parameter s: every one, or with model_only the model's own. */
static int saves(const cg_slot *s, int model_only)
{
    return !model_only || s->kind == NB_PARAM_MODEL;
}

/* The header JSON padded with spaces so that the data starts at a multiple of 8 bytes.
 * Returns new memory (caller frees) and its length, or NULL with the error recorded on
 * p. JSON is UTF-8 text: a name with other bytes is refused here rather than written
 * into a header that other readers reject (escaping cannot help: \u00ff is the
 * character U+00FF, which reads back as two other bytes). */
static char *header_build(nb_program *p, const char *path, int model_only, size_t *len)
{
    rt_buf b = {NULL, 0, 0, 0};
    rt_buf_puts(&b, "{\"__metadata__\":{\"producer\":\"nabla\"}");
    uint64_t offset = 0;
    for (int i = 0; i < p->cg.n_params; i++) {
        const cg_slot *s = &p->cg.params[i];
        if (!saves(s, model_only))
            continue;
        if (strcmp(s->name, "__metadata__") == 0) {
            rt_error(p,
                     "save '%.300s': a parameter named '__metadata__' cannot be saved "
                     "(safetensors reserves the name)",
                     path);
            goto fail;
        }
        size_t n = strlen(s->name), bad = rt_utf8_check(s->name, n);
        if (bad < n) {
            rt_error(p,
                     "save '%.300s': the name of parameter %d ('%.*s' then byte 0x%02x at "
                     "offset %zu) is not valid UTF-8, which a safetensors header must be",
                     path, i, (int)(bad < 200 ? bad : 200), s->name, (unsigned char)s->name[bad],
                     bad);
            goto fail;
        }
        rt_buf_put(&b, ",", 1);
        rt_json_put_string(&b, s->name);
        rt_buf_puts(&b, ":{\"dtype\":\"");
        rt_buf_puts(&b, rt_st_dtype_name(s->dtype));
        rt_buf_puts(&b, "\",\"shape\":[");
        for (int d = 0; d < s->rank; d++) {
            if (d)
                rt_buf_put(&b, ",", 1);
            rt_buf_put_u64(&b, (uint64_t)s->shape[d]);
        }
        rt_buf_puts(&b, "],\"data_offsets\":[");
        rt_buf_put_u64(&b, offset);
        rt_buf_put(&b, ",", 1);
        offset += rt_st_bytes(s);
        rt_buf_put_u64(&b, offset);
        rt_buf_puts(&b, "]}");
    }
    rt_buf_put(&b, "}", 1);
    while (!b.oom && (8 + b.len) % 8 != 0)
        rt_buf_put(&b, " ", 1);
    if (b.oom) {
        rt_error(p, "save '%.300s': out of memory", path);
        goto fail;
    }
    *len = b.len;
    return b.data;
fail:
    free(b.data);
    return NULL;
}

/* Writes n bytes of elements of size elsize, little-endian. 0 or -1 (errno set). */
static int write_le(FILE *f, const unsigned char *data, size_t n, size_t elsize)
{
    if (rt_host_is_little_endian() || elsize == 1)
        return fwrite(data, 1, n, f) == n ? 0 : -1;
    unsigned char chunk[4096];
    while (n > 0) {
        size_t k = n < sizeof chunk ? n : sizeof chunk;
        memcpy(chunk, data, k);
        rt_swap_bytes(chunk, k / elsize, elsize);
        if (fwrite(chunk, 1, k, f) != k)
            return -1;
        data += k;
        n -= k;
    }
    return 0;
}

/* What a save writes: the length, the header, the parameters' data. */
typedef struct save_job {
    nb_program *p;
    const char *header;
    size_t hlen;
    int model_only;
} save_job;

static int save_write(FILE *f, void *ctx)
{
    const save_job *j = ctx;
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)((uint64_t)j->hlen >> (8 * i));
    if (fwrite(len8, 1, 8, f) != 8 || fwrite(j->header, 1, j->hlen, f) != j->hlen)
        return -1;
    for (int i = 0; i < j->p->cg.n_params; i++) {
        const cg_slot *s = &j->p->cg.params[i];
        if (saves(s, j->model_only) && write_le(f, j->p->state->bytes + s->offset, rt_st_bytes(s),
                                                ir_dtype_size(s->dtype)) != 0)
            return -1;
    }
    return 0;
}

/* nb_program_save and nb_program_save_params. */
static int save(nb_program *p, const char *path, int model_only)
{
    if (!p)
        return -1;
    rt_error_clear(p);
    if (!path)
        return rt_error(p, "save: path is NULL");
    save_job j = {.p = p, .model_only = model_only};
    char *header = header_build(p, path, model_only, &j.hlen), err[1024];
    if (!header)
        return -1;
    j.header = header;
    int rc = rt_file_replace(path, save_write, &j, err, sizeof err);
    if (rc != 0)
        rt_error(p, "save '%.300s': %s", path, err);
    free(header);
    return rc;
}

int nb_program_save(nb_program *p, const char *path)
{
    return save(p, path, 0);
}

int nb_program_save_params(nb_program *p, const char *path)
{
    return save(p, path, 1);
}
