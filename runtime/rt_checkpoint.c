/* rt_checkpoint.c — checkpoints: a program's parameters saved to safetensors files
 * atomically (the reader is rt_checkpoint_load.c), and what writer and reader share. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* nb_program_save and nb_program_save_params. */
static int save(nb_program *p, const char *path, int model_only)
{
    if (!p)
        return -1;
    rt_error_clear(p);
    if (!path)
        return rt_error(p, "save: path is NULL");
    char *tmp = NULL, *dir = NULL, *header = NULL;
    FILE *f = NULL;
    int fd = -1, rc = -1;
    size_t hlen = 0;
    header = header_build(p, path, model_only, &hlen);
    if (!header)
        goto done;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    dir = slash ? ir_strndup(path, slash == path ? 1 : (size_t)(slash - path)) : ir_strdup(".");
    if (!dir) {
        rt_error(p, "save '%.300s': out of memory", path);
        goto done;
    }
    /* The mode of the file being replaced is kept (a 0600 checkpoint stays private). */
    struct stat old;
    int keep_mode = stat(path, &old) == 0 && S_ISREG(old.st_mode);
    rt_tmp_remove_stale(dir, base);
    fd = rt_tmp_create(dir, base, keep_mode, &tmp);
    if (fd < 0) {
        if (errno == ENOMEM)
            rt_error(p, "save '%.300s': out of memory", path);
        else
            rt_error(p, "save '%.300s': cannot create a temporary file next to it: %s", path,
                     strerror(errno));
        goto done;
    }
    /* fd stays open, holding the lock, until the temporary is renamed or removed. */
    int wfd = dup(fd);
    f = wfd >= 0 ? fdopen(wfd, "wb") : NULL;
    if (!f) {
        rt_error(p, "save '%.300s': %s", path, strerror(errno));
        if (wfd >= 0)
            close(wfd);
        goto done;
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    int ok = fwrite(len8, 1, 8, f) == 8 && fwrite(header, 1, hlen, f) == hlen;
    for (int i = 0; ok && i < p->cg.n_params; i++) {
        const cg_slot *s = &p->cg.params[i];
        if (saves(s, model_only))
            ok = write_le(f, p->state->bytes + s->offset, rt_st_bytes(s),
                          ir_dtype_size(s->dtype)) == 0;
    }
    ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (!ok) {
        rt_error(p, "save '%.300s': writing the temporary file '%.300s' failed: %s", path, tmp,
                 strerror(errno));
        goto done;
    }
    int closed = fclose(f);
    f = NULL;
    if (closed != 0) {
        rt_error(p, "save '%.300s': closing the temporary file failed: %s", path, strerror(errno));
        goto done;
    }
    if (keep_mode && fchmod(fd, old.st_mode & 0777) != 0) {
        rt_error(p, "save '%.300s': cannot give the new file the old one's mode %03o: %s", path,
                 (unsigned)(old.st_mode & 0777), strerror(errno));
        goto done;
    }
    if (rename(tmp, path) != 0) {
        rt_error(p, "save '%.300s': cannot replace it with the new file: %s", path,
                 strerror(errno));
        goto done;
    }
    free(tmp);
    tmp = NULL; /* it is the checkpoint now */
    int sync_errno = rt_sync_dir(dir);
    if (sync_errno != 0) {
        rt_error(p,
                 "save '%.300s': the checkpoint was replaced, but syncing its directory "
                 "failed (%s): the new file may not survive a power loss",
                 path, strerror(sync_errno));
        goto done;
    }
    rc = 0;
done:
    if (f)
        fclose(f);
    if (tmp)
        unlink(tmp);
    if (fd >= 0)
        close(fd);
    free(tmp);
    free(dir);
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
