/* rt_checkpoint.c — checkpoints: a program's parameters saved to safetensors files
 * atomically, and loaded back only after the whole file has been checked. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "rt.h"

/* The largest header accepted, as the reference implementation's MAX_HEADER_SIZE. */
#define HEADER_LIMIT 100000000u
/* Doubles hold every integer up to 2^53 exactly; JSON numbers above it are refused. */
#define JSON_INT_MAX 9007199254740992.0

/* safetensors' names of nabla's dtypes. */
static const struct {
    nb_dtype dtype;
    const char *name;
} st_dtypes[] = {{NB_F32, "F32"}, {NB_F64, "F64"}, {NB_I32, "I32"}, {NB_BOOL, "BOOL"}};

#define N_ST_DTYPES (int)(sizeof st_dtypes / sizeof st_dtypes[0])

static const char *st_dtype_name(nb_dtype dt)
{
    for (int i = 0; i < N_ST_DTYPES; i++)
        if (st_dtypes[i].dtype == dt)
            return st_dtypes[i].name;
    return NULL;
}

static size_t param_bytes(const cg_slot *s)
{
    return (size_t)s->numel * ir_dtype_size(s->dtype);
}

/* "f32[2,3]" for a parameter. */
static const char *slot_type(const cg_slot *s, char *buf, size_t size)
{
    return ir_format_type(s->dtype, s->rank, s->shape, buf, size);
}

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    return first == 1;
}

/* Reverses the bytes of each of the n elements of size elsize (big-endian hosts). */
static void swap_bytes(unsigned char *b, size_t n, size_t elsize)
{
    for (size_t i = 0; i < n; i++, b += elsize)
        for (size_t j = 0; j < elsize / 2; j++) {
            unsigned char t = b[j];
            b[j] = b[elsize - 1 - j];
            b[elsize - 1 - j] = t;
        }
}

/* ---- save ------------------------------------------------------------------------ */

/* Adds item to an object (name) or an array (name NULL); frees item on failure. */
static int json_add(cJSON *parent, const char *name, cJSON *item)
{
    if (!item)
        return -1;
    cJSON_bool ok =
        name ? cJSON_AddItemToObject(parent, name, item) : cJSON_AddItemToArray(parent, item);
    if (!ok) {
        cJSON_Delete(item);
        return -1;
    }
    return 0;
}

/* An integer as a raw JSON number token: exact, never in exponent notation. */
static int json_add_int(cJSON *array, uint64_t v)
{
    char digits[24];
    snprintf(digits, sizeof digits, "%" PRIu64, v);
    return json_add(array, NULL, cJSON_CreateRaw(digits));
}

/* The header JSON padded with spaces so that the data starts at a multiple of 8 bytes.
 * Returns a malloc'ed buffer (caller frees) and its length, or NULL with the error
 * recorded on p. */
static char *header_build(nb_program *p, const char *path, size_t *len)
{
    cJSON *root = cJSON_CreateObject(), *meta = cJSON_CreateObject();
    char *text = NULL, *header = NULL;
    if (json_add(root, "__metadata__", meta) != 0 ||
        json_add(meta, "producer", cJSON_CreateString("nabla")) != 0)
        goto oom;
    uint64_t offset = 0;
    for (int i = 0; i < p->cg.n_params; i++) {
        const cg_slot *s = &p->cg.params[i];
        if (strcmp(s->name, "__metadata__") == 0) {
            rt_error(p,
                     "save '%.300s': a parameter named '__metadata__' cannot be saved "
                     "(safetensors reserves the name)",
                     path);
            goto fail;
        }
        cJSON *entry = cJSON_CreateObject(), *shape, *offsets;
        if (json_add(root, s->name, entry) != 0 ||
            !cJSON_AddStringToObject(entry, "dtype", st_dtype_name(s->dtype)) ||
            !(shape = cJSON_AddArrayToObject(entry, "shape")) ||
            !(offsets = cJSON_AddArrayToObject(entry, "data_offsets")))
            goto oom;
        for (int d = 0; d < s->rank; d++)
            if (json_add_int(shape, (uint64_t)s->shape[d]) != 0)
                goto oom;
        if (json_add_int(offsets, offset) != 0 ||
            json_add_int(offsets, offset + param_bytes(s)) != 0)
            goto oom;
        offset += param_bytes(s);
    }
    text = cJSON_PrintUnformatted(root);
    if (!text)
        goto oom;
    size_t n = strlen(text), padded = n + (8 - (8 + n) % 8) % 8;
    header = ir_malloc(padded);
    if (!header)
        goto oom;
    memcpy(header, text, n);
    memset(header + n, ' ', padded - n);
    *len = padded;
    cJSON_free(text);
    cJSON_Delete(root);
    return header;
oom:
    rt_error(p, "save '%.300s': out of memory", path);
fail:
    cJSON_free(text);
    cJSON_Delete(root);
    return NULL;
}

/* Writes n bytes of elements of size elsize, little-endian. 0 or -1 (errno set). */
static int write_le(FILE *f, const unsigned char *data, size_t n, size_t elsize)
{
    if (host_is_little_endian() || elsize == 1)
        return fwrite(data, 1, n, f) == n ? 0 : -1;
    unsigned char chunk[4096];
    while (n > 0) {
        size_t k = n < sizeof chunk ? n : sizeof chunk;
        memcpy(chunk, data, k);
        swap_bytes(chunk, k / elsize, elsize);
        if (fwrite(chunk, 1, k, f) != k)
            return -1;
        data += k;
        n -= k;
    }
    return 0;
}

/* Flushes the directory holding path, so that a rename into it is durable. */
static int sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir =
        slash ? ir_strndup(path, slash == path ? 1 : (size_t)(slash - path)) : ir_strdup(".");
    if (!dir)
        return -1;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    /* Some file systems cannot sync a directory at all; that is not a failed save. */
    return rc == 0 || errno == EINVAL || errno == ENOTSUP ? 0 : -1;
}

static atomic_uint tmp_counter;

/* Creates a new temporary file next to path ("<path>.tmp-<pid>-<n>"), mode 0666 less
 * the umask as for any new file. Returns the descriptor and the name in *tmp (caller
 * frees), or -1 with errno set. */
static int tmp_create(const char *path, char **tmp)
{
    size_t size = strlen(path) + 48;
    char *name = ir_malloc(size);
    if (!name) {
        errno = ENOMEM;
        return -1;
    }
    for (int attempt = 0; attempt < 100; attempt++) {
        snprintf(name, size, "%s.tmp-%ld-%u", path, (long)getpid(),
                 atomic_fetch_add(&tmp_counter, 1u));
        int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            *tmp = name;
            return fd;
        }
        if (errno != EEXIST)
            break;
    }
    int saved = errno;
    free(name);
    errno = saved;
    return -1;
}

int nb_program_save(nb_program *p, const char *path)
{
    if (!p)
        return -1;
    if (!path)
        return rt_error(p, "save: path is NULL");
    size_t hlen = 0;
    char *header = header_build(p, path, &hlen);
    if (!header)
        return -1;
    char *tmp = NULL;
    FILE *f = NULL;
    int rc = -1;
    int fd = tmp_create(path, &tmp);
    if (fd < 0) {
        rt_error(p, "save '%.300s': cannot create a temporary file next to it: %s", path,
                 strerror(errno));
        goto done;
    }
    f = fdopen(fd, "wb");
    if (!f) {
        rt_error(p, "save '%.300s': %s", path, strerror(errno));
        close(fd);
        goto done;
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    int ok = fwrite(len8, 1, 8, f) == 8 && fwrite(header, 1, hlen, f) == hlen;
    for (int i = 0; ok && i < p->cg.n_params; i++) {
        const cg_slot *s = &p->cg.params[i];
        ok = write_le(f, p->state->bytes + s->offset, param_bytes(s), ir_dtype_size(s->dtype)) == 0;
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
    if (rename(tmp, path) != 0) {
        rt_error(p, "save '%.300s': cannot replace it with the new file: %s", path,
                 strerror(errno));
        goto done;
    }
    free(tmp);
    tmp = NULL; /* it is the checkpoint now */
    if (sync_dir(path) != 0) {
        rt_error(p, "save '%.300s': the file is written but syncing its directory failed: %s", path,
                 strerror(errno));
        goto done;
    }
    rc = 0;
done:
    if (f)
        fclose(f);
    if (tmp) {
        unlink(tmp);
        free(tmp);
    }
    free(header);
    return rc;
}

/* ---- load ------------------------------------------------------------------------ */

/* What the header says about one parameter's tensor. */
typedef struct st_entry {
    int param; /* index in the program */
    int seen;
    uint64_t begin, end;
} st_entry;

typedef struct st_loader {
    nb_program *p;
    const char *path;
    st_entry *entries; /* one per parameter, in parameter order */
} st_loader;

static int load_error(st_loader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Records "load '<path>': <message>" on the program; returns -1. */
static int load_error(st_loader *l, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rt_error(l->p, "load '%.200s': %s", l->path, msg);
}

/* A JSON number that is an integer in [0, 2^53]; the value goes to *v. */
static int json_uint(const cJSON *item, double *v)
{
    if (!cJSON_IsNumber(item))
        return 0;
    double d = item->valuedouble;
    if (!(d >= 0 && d <= JSON_INT_MAX) || d != (double)(uint64_t)d)
        return 0;
    *v = d;
    return 1;
}

/* Escaped NULs ("\u0000") would cut a name short once cJSON hands it out as a C string,
 * so that two different names could compare equal: they are refused. */
static int has_escaped_nul(const char *s, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] != '\\')
            continue;
        if (s[i + 1] == 'u' && i + 5 < n && memcmp(s + i + 2, "0000", 4) == 0)
            return 1;
        i++; /* skip the escaped character, which may be a backslash */
    }
    return 0;
}

/* Checks the optional "__metadata__": an object of strings. */
static int check_metadata(st_loader *l, const cJSON *meta)
{
    if (!cJSON_IsObject(meta))
        return load_error(l, "\"__metadata__\" is not an object");
    for (const cJSON *it = meta->child; it; it = it->next)
        if (!cJSON_IsString(it))
            return load_error(l, "\"__metadata__\" entry '%.200s' is not a string", it->string);
    return 0;
}

/* Finds the field key of a tensor entry; more than one is an error. */
static int entry_field(st_loader *l, const cJSON *entry, const char *key, const cJSON **out)
{
    *out = NULL;
    for (const cJSON *it = entry->child; it; it = it->next) {
        if (strcmp(it->string, key) != 0)
            continue;
        if (*out)
            return load_error(l, "tensor '%.200s' has \"%s\" twice", entry->string, key);
        *out = it;
    }
    return 0;
}

/* Checks one tensor entry against parameter i and records its offsets. */
static int check_entry(st_loader *l, const cJSON *entry, int i)
{
    const cg_slot *s = &l->p->cg.params[i];
    const char *name = entry->string;
    char type[160];
    slot_type(s, type, sizeof type);
    if (!cJSON_IsObject(entry))
        return load_error(l, "the entry of tensor '%.200s' is not an object", name);
    const cJSON *dtype, *shape, *offsets;
    if (entry_field(l, entry, "dtype", &dtype) || entry_field(l, entry, "shape", &shape) ||
        entry_field(l, entry, "data_offsets", &offsets))
        return -1;

    if (!cJSON_IsString(dtype))
        return load_error(l, "tensor '%.200s' has no \"dtype\" string", name);
    const char *want = st_dtype_name(s->dtype);
    if (strcmp(dtype->valuestring, want) != 0)
        return load_error(l, "tensor '%.200s' has dtype %.40s, the parameter is %s (%s)", name,
                          dtype->valuestring, want, type);

    if (!cJSON_IsArray(shape))
        return load_error(l, "tensor '%.200s' has no \"shape\" array", name);
    char got[160];
    size_t len = (size_t)snprintf(got, sizeof got, "[");
    int rank = 0, same = 1;
    for (const cJSON *d = shape->child; d; d = d->next, rank++) {
        double v;
        if (!json_uint(d, &v))
            return load_error(l, "tensor '%.200s': shape entry %d is not a non-negative integer",
                              name, rank);
        if (rank >= s->rank || v != (double)s->shape[rank])
            same = 0;
        if (rank <= NB_MAX_RANK && len < sizeof got)
            len += (size_t)snprintf(got + len, sizeof got - len, rank ? ",%.0f" : "%.0f", v);
        else if (rank == NB_MAX_RANK + 1 && len < sizeof got)
            len += (size_t)snprintf(got + len, sizeof got - len, ",...");
    }
    if (len < sizeof got)
        snprintf(got + len, sizeof got - len, "]");
    if (!same || rank != s->rank)
        return load_error(l, "tensor '%.200s' has shape %s, the parameter is %s", name, got, type);

    double b, e;
    if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2 ||
        !json_uint(offsets->child, &b) || !json_uint(offsets->child->next, &e))
        return load_error(l,
                          "tensor '%.200s': \"data_offsets\" must be [begin, end], two "
                          "non-negative integers",
                          name);
    if (e < b)
        return load_error(l, "tensor '%.200s': data_offsets [%.0f, %.0f] end before they begin",
                          name, b, e);
    size_t need = param_bytes(s);
    if (e - b != (double)need)
        return load_error(l,
                          "tensor '%.200s': data_offsets [%.0f, %.0f] hold %.0f bytes, %s "
                          "needs %zu",
                          name, b, e, e - b, type, need);
    l->entries[i].begin = (uint64_t)b;
    l->entries[i].end = (uint64_t)e;
    l->entries[i].seen = 1;
    return 0;
}

/* Checks every key of the header: metadata, tensors the program has, no duplicates, no
 * parameter missing. */
static int check_header(st_loader *l, const cJSON *root)
{
    int meta_seen = 0;
    for (const cJSON *it = root->child; it; it = it->next) {
        if (strcmp(it->string, "__metadata__") == 0) {
            if (meta_seen++)
                return load_error(l, "\"__metadata__\" appears twice in the header");
            if (check_metadata(l, it) != 0)
                return -1;
            continue;
        }
        int i = nb_program_param_index(l->p, it->string);
        if (i < 0)
            return load_error(l,
                              "the file has a tensor '%.200s' that the program does not "
                              "have",
                              it->string);
        if (l->entries[i].seen)
            return load_error(l, "tensor '%.200s' appears twice in the header", it->string);
        if (check_entry(l, it, i) != 0)
            return -1;
    }
    int missing = 0, first = -1;
    for (int i = 0; i < l->p->cg.n_params; i++)
        if (!l->entries[i].seen && missing++ == 0)
            first = i;
    if (missing == 1)
        return load_error(l, "parameter '%.200s' is missing from the file",
                          l->p->cg.params[first].name);
    if (missing > 1)
        return load_error(l, "parameter '%.200s' and %d more are missing from the file",
                          l->p->cg.params[first].name, missing - 1);
    return 0;
}

static int entry_cmp(const void *a, const void *b)
{
    const st_entry *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->param - y->param;
}

/* Checks that the tensors tile the data section of data_len bytes exactly. Sorts a
 * copy of the entries by offset. */
static int check_layout(st_loader *l, uint64_t data_len)
{
    int n = l->p->cg.n_params;
    uint64_t total = 0;
    for (int i = 0; i < n; i++)
        total += param_bytes(&l->p->cg.params[i]);
    if (data_len < total)
        return load_error(l,
                          "the file is truncated: its data section is %" PRIu64
                          " bytes, the tensors need %" PRIu64,
                          data_len, total);
    if (data_len > total)
        return load_error(
            l, "its data section is %" PRIu64 " bytes, %" PRIu64 " more than the tensors need",
            data_len, data_len - total);
    for (int i = 0; i < n; i++)
        if (l->entries[i].end > data_len)
            return load_error(l,
                              "tensor '%.200s': data_offsets [%" PRIu64 ", %" PRIu64 "] run "
                              "past the end of the data section (%" PRIu64 " bytes)",
                              l->p->cg.params[i].name, l->entries[i].begin, l->entries[i].end,
                              data_len);
    size_t count = n > 0 ? (size_t)n : 0;
    st_entry *sorted = ir_malloc(count * sizeof *sorted);
    if (!sorted)
        return load_error(l, "out of memory");
    memcpy(sorted, l->entries, count * sizeof *sorted);
    qsort(sorted, count, sizeof *sorted, entry_cmp);
    uint64_t at = 0;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        const st_entry *e = &sorted[i];
        const char *name = l->p->cg.params[e->param].name;
        if (e->begin < at)
            rc = load_error(l,
                            "tensor '%.200s': data_offsets [%" PRIu64 ", %" PRIu64 "] "
                            "overlap tensor '%.200s'",
                            name, e->begin, e->end, l->p->cg.params[sorted[i - 1].param].name);
        else if (e->begin > at)
            rc = load_error(l,
                            "bytes [%" PRIu64 ", %" PRIu64 ") of the data section belong to "
                            "no tensor",
                            at, e->begin);
        at = e->end;
    }
    free(sorted);
    return rc;
}

/* Rejects BOOL values other than 0 and 1. */
static int check_bools(st_loader *l, const unsigned char *data)
{
    for (int i = 0; i < l->p->cg.n_params; i++) {
        const cg_slot *s = &l->p->cg.params[i];
        if (s->dtype != NB_BOOL)
            continue;
        const unsigned char *v = data + l->entries[i].begin;
        for (int64_t k = 0; k < s->numel; k++)
            if (v[k] > 1)
                return load_error(l,
                                  "tensor '%.200s' holds %u at element %lld; BOOL values "
                                  "are 0 or 1",
                                  s->name, v[k], (long long)k);
    }
    return 0;
}

/* Reads and checks the header, then the data into a staging buffer; only when all of
 * it is good are the parameters overwritten. */
int nb_program_load(nb_program *p, const char *path)
{
    if (!p)
        return -1;
    if (!path)
        return rt_error(p, "load: path is NULL");
    st_loader l = {p, path, NULL};
    char *header = NULL;
    cJSON *root = NULL;
    unsigned char *data = NULL;
    int rc = -1;
    FILE *f = fopen(path, "rb");
    if (!f) {
        load_error(&l, "cannot open it: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        load_error(&l, "cannot stat it: %s", strerror(errno));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        load_error(&l, "not a regular file");
        goto done;
    }
    uint64_t size = (uint64_t)st.st_size;
    unsigned char len8[8];
    if (size < 8 || fread(len8, 1, 8, f) != 8) {
        load_error(&l,
                   "the file is %" PRIu64 " bytes, too short to hold the 8-byte header "
                   "length",
                   size);
        goto done;
    }
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++)
        hlen |= (uint64_t)len8[i] << (8 * i);
    if (hlen > size - 8) {
        load_error(
            &l, "the header length %" PRIu64 " runs past the end of the file (%" PRIu64 " bytes)",
            hlen, size);
        goto done;
    }
    if (hlen > HEADER_LIMIT) {
        load_error(&l, "the header length %" PRIu64 " is over the limit of %u bytes", hlen,
                   HEADER_LIMIT);
        goto done;
    }
    header = ir_malloc((size_t)hlen + 1);
    if (!header) {
        load_error(&l, "out of memory");
        goto done;
    }
    if (fread(header, 1, (size_t)hlen, f) != (size_t)hlen) {
        load_error(&l, "reading the header failed (the file shrank?)");
        goto done;
    }
    header[hlen] = '\0';
    if (memchr(header, '\0', (size_t)hlen)) {
        load_error(&l, "the header holds a NUL byte");
        goto done;
    }
    const char *end = NULL;
    root = cJSON_ParseWithLengthOpts(header, (size_t)hlen, &end, 0);
    if (!root) {
        size_t at = end && end >= header ? (size_t)(end - header) : 0;
        load_error(&l, "the header is not valid JSON (error near byte %zu of %" PRIu64 ")", at,
                   hlen);
        goto done;
    }
    for (const char *c = end; c < header + hlen; c++)
        if (*c != ' ') {
            load_error(&l,
                       "the header has bytes after its JSON value that are not space "
                       "padding (at byte %zu)",
                       (size_t)(c - header));
            goto done;
        }
    if (!cJSON_IsObject(root)) {
        load_error(&l, "the header is not a JSON object");
        goto done;
    }
    if (header[0] != '{') {
        load_error(&l, "the header does not start with '{'");
        goto done;
    }
    if (has_escaped_nul(header, (size_t)hlen)) {
        load_error(&l, "the header holds an escaped NUL character (\\u0000)");
        goto done;
    }
    int n = p->cg.n_params;
    l.entries = ir_calloc((size_t)(n ? n : 1), sizeof *l.entries);
    if (!l.entries) {
        load_error(&l, "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++)
        l.entries[i].param = i;
    if (check_header(&l, root) != 0 || check_layout(&l, size - 8 - hlen) != 0)
        goto done;

    /* The data section is now known to be exactly the parameters' size: a trusted size. */
    size_t data_len = (size_t)(size - 8 - hlen);
    data = ir_malloc(data_len ? data_len : 1);
    if (!data) {
        load_error(&l, "out of memory");
        goto done;
    }
    if (fread(data, 1, data_len, f) != data_len) {
        load_error(&l, "the file ended while reading its data (%s)",
                   ferror(f) ? strerror(errno) : "it shrank while loading");
        goto done;
    }
    if (check_bools(&l, data) != 0)
        goto done;
    for (int i = 0; i < n; i++) {
        const cg_slot *s = &p->cg.params[i];
        unsigned char *src = data + l.entries[i].begin;
        if (!host_is_little_endian())
            swap_bytes(src, (size_t)s->numel, ir_dtype_size(s->dtype));
        memcpy(p->state->bytes + s->offset, src, param_bytes(s));
    }
    rc = 0;
done:
    free(data);
    free(l.entries);
    cJSON_Delete(root);
    free(header);
    fclose(f);
    return rc;
}
