/* rt_checkpoint_load.c — checkpoints read back: a safetensors file checked whole
 * (header, every tensor, the data's layout) before any parameter changes, strictly (the
 * program's parameters exactly) or not (the tensors whose names the program has, with a
 * report of what was taken and left). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rt.h"
#include "rt_json.h"
#include "rt_safetensors.h"

/* The largest header accepted, as the reference implementation's MAX_HEADER_SIZE. */
#define HEADER_LIMIT 100000000u

/* "f32[2,3]" for a parameter. */
static const char *slot_type(const cg_slot *s, char *buf, size_t size)
{
    return ir_format_type(s->dtype, s->rank, s->shape, buf, size);
}

/* Every dtype safetensors defines with whole-byte elements, and their sizes: a tensor
 * that a non-strict load skips is still checked against its dtype's size. */
static const struct {
    const char *name;
    unsigned size;
} st_sizes[] = {{"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"F8_E8M0", 1},
                {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},     {"U32", 4},
                {"F32", 4},  {"I64", 8}, {"U64", 8}, {"F64", 8}};

#define N_ST_SIZES (int)(sizeof st_sizes / sizeof st_sizes[0])

/* What the header says about one tensor: a parameter's, or (non-strict) one the program
 * does not have. */
typedef struct st_entry {
    int param;  /* index in the program, or -1 */
    char *name; /* the parameter's name, or the file's (owned by the loader) */
    int seen;
    int order; /* the tie-break of check_layout's sort */
    uint64_t begin, end;
    size_t stage; /* where a parameter's bytes are staged */
} st_entry;

typedef struct st_loader {
    nb_program *p;
    const char *path;
    int strict;
    st_entry *entries; /* one per parameter, in parameter order */
    st_entry *extras;  /* the tensors the program does not have, in file order */
    int n_extras, cap_extras;
    const st_entry **by_name; /* the entries sorted by name: a header may list millions */
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

/* One tensor entry as read, checked once it is complete so that the checks come in
 * the same order whatever the order of the fields in the file. */
typedef struct st_fields {
    int n_dtype, n_shape, n_offsets; /* times each field appeared */
    char *dtype;                     /* NULL when not a string */
    int shape_is_array, rank, bad_dim;
    uint64_t dims[NB_MAX_RANK + 1]; /* the first ones, for the message */
    uint64_t numel;                 /* the product of the dimensions, unless it overflows */
    int numel_overflow;
    int offsets_is_array, n_offset_values, offsets_ok;
    uint64_t offsets[2];
} st_fields;

static int load_oom(st_loader *l)
{
    return load_error(l, "out of memory while reading the header");
}

/* Room for a file's type: the longest safetensors dtype name, then the shape's first
 * NB_MAX_RANK + 1 dimensions and ",...". */
#define ST_TYPE_STR_MAX (IR_TYPE_STR_MAX + 2 * IR_INT_STR_MAX + 16)

/* Appends the shape read into f, "[2,3]" ("[1,...]" past NB_MAX_RANK + 1 dimensions), to
 * buf[size] holding len characters. */
static void dims_put(const st_fields *f, char *buf, size_t size, size_t len)
{
    len += (size_t)snprintf(buf + len, size - len, "[");
    for (int d = 0; d < f->rank && d <= NB_MAX_RANK && len < size; d++)
        len += (size_t)snprintf(buf + len, size - len, d ? ",%" PRIu64 : "%" PRIu64, f->dims[d]);
    if (f->rank > NB_MAX_RANK + 1 && len < size)
        len += (size_t)snprintf(buf + len, size - len, ",...");
    if (len < size)
        snprintf(buf + len, size - len, "]");
}

/* The tensor's type in the file as nabla writes types ("f64[2,3]", "bf16[4]"), when its
 * dtype is one safetensors defines and its shape was read whole; else NULL. */
static const char *file_type(const st_fields *f, char buf[ST_TYPE_STR_MAX])
{
    int known = 0;
    for (int k = 0; k < N_ST_SIZES && f->dtype && !known; k++)
        known = strcmp(f->dtype, st_sizes[k].name) == 0;
    if (!known || !f->shape_is_array || f->bad_dim >= 0 || f->rank > NB_MAX_RANK)
        return NULL;
    size_t len = 0;
    for (const char *c = f->dtype; *c; c++)
        buf[len++] = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
    dims_put(f, buf, ST_TYPE_STR_MAX, len);
    return buf;
}

/* The shape error of tensor name against parameter s: a dimension that is not an
 * integer, or the shape that differs (named with the file's dtype once it is known). */
static int shape_error(st_loader *l, const st_fields *f, const char *name, const cg_slot *s)
{
    if (f->bad_dim >= 0)
        return load_error(l, "tensor '%.200s': shape entry %d is not a non-negative integer", name,
                          f->bad_dim);
    char got[ST_TYPE_STR_MAX], type[IR_TYPE_STR_MAX];
    slot_type(s, type, sizeof type);
    if (file_type(f, got))
        return load_error(l, "tensor '%.200s' is %s, the parameter is %s", name, got, type);
    dims_put(f, got, sizeof got, 0);
    return load_error(l, "tensor '%.200s' has shape %s, the parameter is %s", name, got, type);
}

/* Reads a "shape" array. For a parameter s, a shape longer than any parameter's is
 * refused as soon as it is seen, without reading the rest of it; a tensor the program
 * does not have (s NULL) may have any rank. */
static int read_shape(st_loader *l, rt_json *j, st_fields *f, const char *name, const cg_slot *s)
{
    if (rt_json_peek(j) != '[') {
        rt_json_skip(j);
        return 0;
    }
    f->shape_is_array = 1;
    j->at++;
    if (rt_json_eat(j, ']'))
        return 0;
    do {
        uint64_t v = 0;
        if (!rt_json_uint(j, &v) && f->bad_dim < 0)
            f->bad_dim = f->rank;
        if (f->rank <= NB_MAX_RANK)
            f->dims[f->rank] = v;
        if (v != 0 && f->numel > UINT64_MAX / v)
            f->numel_overflow = 1;
        else
            f->numel *= v;
        if (++f->rank > NB_MAX_RANK + 1 && s)
            return shape_error(l, f, name, s);
    } while (rt_json_eat(j, ','));
    rt_json_eat(j, ']');
    return 0;
}

static void read_offsets(rt_json *j, st_fields *f)
{
    if (rt_json_peek(j) != '[') {
        rt_json_skip(j);
        return;
    }
    f->offsets_is_array = 1;
    f->offsets_ok = 1;
    j->at++;
    if (rt_json_eat(j, ']'))
        return;
    do {
        uint64_t v = 0;
        if (!rt_json_uint(j, &v))
            f->offsets_ok = 0;
        if (f->n_offset_values < 2)
            f->offsets[f->n_offset_values] = v;
        f->n_offset_values++;
    } while (rt_json_eat(j, ','));
    rt_json_eat(j, ']');
}

/* Checks that tensor name has "data_offsets" [begin, end], begin <= end. */
static int check_offsets(st_loader *l, const st_fields *f, const char *name)
{
    if (!f->offsets_is_array || f->n_offset_values != 2 || !f->offsets_ok)
        return load_error(l,
                          "tensor '%.200s': \"data_offsets\" must be [begin, end], two "
                          "non-negative integers",
                          name);
    if (f->offsets[1] < f->offsets[0])
        return load_error(l,
                          "tensor '%.200s': data_offsets [%" PRIu64 ", %" PRIu64 "] end before "
                          "they begin",
                          name, f->offsets[0], f->offsets[1]);
    return 0;
}

/* Checks the fields of tensor e, which the program does not have: a dtype that
 * safetensors defines, a shape, and data_offsets that span exactly its bytes. */
static int check_extra(st_loader *l, const st_fields *f, st_entry *e)
{
    const char *name = e->name;
    if (!f->dtype)
        return load_error(l, "tensor '%.200s' has no \"dtype\" string", name);
    unsigned size = 0;
    for (int k = 0; k < N_ST_SIZES && !size; k++)
        if (strcmp(f->dtype, st_sizes[k].name) == 0)
            size = st_sizes[k].size;
    if (!size)
        return load_error(l, "tensor '%.200s' has dtype %.40s, which is not a safetensors dtype",
                          name, f->dtype);
    if (!f->shape_is_array)
        return load_error(l, "tensor '%.200s' has no \"shape\" array", name);
    if (f->bad_dim >= 0)
        return load_error(l, "tensor '%.200s': shape entry %d is not a non-negative integer", name,
                          f->bad_dim);
    if (check_offsets(l, f, name) != 0)
        return -1;
    uint64_t b = f->offsets[0], end = f->offsets[1];
    /* A zero dimension makes the product 0 whatever overflowed before it. */
    if (f->numel != 0 && (f->numel_overflow || f->numel > UINT64_MAX / size))
        return load_error(l, "tensor '%.200s': the size of its shape overflows 64 bits", name);
    if (end - b != f->numel * size)
        return load_error(l,
                          "tensor '%.200s': data_offsets [%" PRIu64 ", %" PRIu64 "] hold %" PRIu64
                          " bytes, %" PRIu64 " elements of %.40s need %" PRIu64,
                          name, b, end, end - b, f->numel, f->dtype, f->numel * size);
    e->begin = b;
    e->end = end;
    e->seen = 1;
    return 0;
}

/* Checks the fields of tensor name against parameter i and records its offsets. */
static int check_fields(st_loader *l, const st_fields *f, const char *name, int i)
{
    const cg_slot *s = &l->p->cg.params[i];
    char type[IR_TYPE_STR_MAX];
    slot_type(s, type, sizeof type);
    if (!f->dtype)
        return load_error(l, "tensor '%.200s' has no \"dtype\" string", name);
    const char *want = rt_st_dtype_name(s->dtype);
    char got[ST_TYPE_STR_MAX];
    if (strcmp(f->dtype, want) != 0 && file_type(f, got))
        return load_error(l, "tensor '%.200s' is %s, the parameter is %s", name, got, type);
    if (strcmp(f->dtype, want) != 0)
        return load_error(l, "tensor '%.200s' has dtype %.40s, the parameter is %s (%s)", name,
                          f->dtype, want, type);
    if (!f->shape_is_array)
        return load_error(l, "tensor '%.200s' has no \"shape\" array", name);
    int same = f->bad_dim < 0 && f->rank == s->rank;
    for (int d = 0; same && d < f->rank; d++)
        same = f->dims[d] == (uint64_t)s->shape[d];
    if (!same)
        return shape_error(l, f, name, s);
    if (check_offsets(l, f, name) != 0)
        return -1;
    uint64_t b = f->offsets[0], e = f->offsets[1];
    size_t need = rt_st_bytes(s);
    if (e - b != need)
        return load_error(l,
                          "tensor '%.200s': data_offsets [%" PRIu64 ", %" PRIu64 "] hold %" PRIu64
                          " bytes, %s needs %zu",
                          name, b, e, e - b, type, need);
    l->entries[i].begin = b;
    l->entries[i].end = e;
    l->entries[i].seen = 1;
    return 0;
}

/* Reads the entry of tensor e at the cursor and checks it, against its parameter when
 * the program has one. */
static int read_entry(st_loader *l, rt_json *j, st_entry *e)
{
    const char *name = e->name;
    if (rt_json_peek(j) != '{')
        return load_error(l, "the entry of tensor '%.200s' is not an object", name);
    j->at++;
    const cg_slot *s = e->param >= 0 ? &l->p->cg.params[e->param] : NULL;
    st_fields f;
    memset(&f, 0, sizeof f);
    f.bad_dim = -1;
    f.numel = 1;
    int rc = -1;
    char *key = NULL;
    if (!rt_json_eat(j, '}')) {
        do {
            key = rt_json_string(j);
            if (!key) {
                load_oom(l);
                goto done;
            }
            rt_json_eat(j, ':');
            int *count = strcmp(key, "dtype") == 0          ? &f.n_dtype
                         : strcmp(key, "shape") == 0        ? &f.n_shape
                         : strcmp(key, "data_offsets") == 0 ? &f.n_offsets
                                                            : NULL;
            if (count && (*count)++) {
                load_error(l, "tensor '%.200s' has \"%s\" twice", name, key);
                goto done;
            }
            if (count == &f.n_dtype && rt_json_peek(j) == '"') {
                if (!(f.dtype = rt_json_string(j))) {
                    load_oom(l);
                    goto done;
                }
            } else if (count == &f.n_shape) {
                if (read_shape(l, j, &f, name, s) != 0)
                    goto done;
            } else if (count == &f.n_offsets) {
                read_offsets(j, &f);
            } else {
                rt_json_skip(j);
            }
            free(key);
            key = NULL;
        } while (rt_json_eat(j, ','));
        rt_json_eat(j, '}');
    }
    rc = s ? check_fields(l, &f, name, e->param) : check_extra(l, &f, e);
done:
    free(key);
    free(f.dtype);
    return rc;
}

/* Reads the optional "__metadata__" at the cursor: an object of strings. */
static int read_metadata(st_loader *l, rt_json *j)
{
    if (rt_json_peek(j) != '{')
        return load_error(l, "\"__metadata__\" is not an object");
    j->at++;
    if (rt_json_eat(j, '}'))
        return 0;
    do {
        char *key = rt_json_string(j);
        if (!key)
            return load_oom(l);
        rt_json_eat(j, ':');
        if (rt_json_peek(j) != '"') {
            load_error(l, "\"__metadata__\" entry '%.200s' is not a string", key);
            free(key);
            return -1;
        }
        free(key);
        rt_json_skip(j);
    } while (rt_json_eat(j, ','));
    rt_json_eat(j, '}');
    return 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp((*(const st_entry *const *)a)->name, (*(const st_entry *const *)b)->name);
}

/* Sorts the parameters' entries by name for param_find. 0, or -1 (recorded). */
static int index_params(st_loader *l)
{
    int n = l->p->cg.n_params;
    l->by_name = ir_malloc((size_t)(n ? n : 1) * sizeof *l->by_name);
    if (!l->by_name)
        return load_error(l, "out of memory");
    for (int i = 0; i < n; i++)
        l->by_name[i] = &l->entries[i];
    qsort(l->by_name, (size_t)n, sizeof *l->by_name, name_cmp);
    return 0;
}

/* The index of the parameter named name, or -1: a binary search, not a scan per key. */
static int param_find(const st_loader *l, const char *name)
{
    int lo = 0, hi = l->p->cg.n_params;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2, c = strcmp(name, l->by_name[mid]->name);
        if (c == 0)
            return l->by_name[mid]->param;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

/* Reads the entry of tensor *name, which the program does not have (non-strict), and
 * keeps it, taking *name. */
static int read_extra(st_loader *l, rt_json *j, char **name)
{
    if (l->n_extras == l->cap_extras) {
        int cap = l->cap_extras ? 2 * l->cap_extras : 8;
        /* At most one per 30 header bytes (HEADER_LIMIT): cap stays far below INT_MAX. */
        st_entry *more = ir_realloc(l->extras, (size_t)cap * sizeof *more);
        if (!more)
            return load_oom(l);
        l->extras = more;
        l->cap_extras = cap;
    }
    st_entry *e = &l->extras[l->n_extras++];
    memset(e, 0, sizeof *e);
    e->param = -1;
    e->name = *name;
    *name = NULL;
    return read_entry(l, j, e);
}

/* Refuses a name that two of the tensors the program does not have share: sorted
 * pointers, not a scan per tensor (a header may list a great many). */
static int check_extras_unique(st_loader *l)
{
    if (l->n_extras < 2)
        return 0;
    const st_entry **by_name = ir_malloc((size_t)l->n_extras * sizeof *by_name);
    if (!by_name)
        return load_oom(l);
    for (int k = 0; k < l->n_extras; k++)
        by_name[k] = &l->extras[k];
    qsort(by_name, (size_t)l->n_extras, sizeof *by_name, name_cmp);
    int rc = 0;
    for (int k = 1; k < l->n_extras && rc == 0; k++)
        if (strcmp(by_name[k - 1]->name, by_name[k]->name) == 0)
            rc = load_error(l, "tensor '%.200s' appears twice in the header", by_name[k]->name);
    free(by_name);
    return rc;
}

/* Reads the header object (already checked to be valid JSON) key by key, stopping at
 * the first problem: metadata, tensors the program has (strict) or every tensor
 * (non-strict), no duplicates, no parameter missing (strict). Nothing but the key being
 * read and, non-strict, the tensors the program does not have is kept in memory. */
static int read_header(st_loader *l, const char *header, size_t hlen)
{
    rt_json j = {header, hlen, 0};
    int meta_seen = 0;
    rt_json_eat(&j, '{');
    if (!rt_json_eat(&j, '}')) {
        do {
            char *key = rt_json_string(&j);
            if (!key)
                return load_oom(l);
            rt_json_eat(&j, ':');
            int rc = 0, i = -1;
            if (strcmp(key, "__metadata__") == 0)
                rc = meta_seen++ ? load_error(l, "\"__metadata__\" appears twice in the header")
                                 : read_metadata(l, &j);
            else if ((i = param_find(l, key)) < 0 && l->strict)
                rc = load_error(l,
                                "the file has a tensor '%.200s' that the program does not "
                                "have",
                                key);
            else if (i < 0)
                rc = read_extra(l, &j, &key);
            else if (l->entries[i].seen)
                rc = load_error(l, "tensor '%.200s' appears twice in the header", key);
            else
                rc = read_entry(l, &j, &l->entries[i]);
            free(key);
            if (rc != 0)
                return -1;
        } while (rt_json_eat(&j, ','));
    }
    if (!l->strict)
        return check_extras_unique(l);
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

/* Checks the header's syntax as a whole before anything is read from it: valid UTF-8
 * JSON, one object that starts at byte 0, nothing after it but space padding. */
static int check_syntax(st_loader *l, const char *header, size_t hlen)
{
    if (memchr(header, '\0', hlen))
        return load_error(l, "the header holds a NUL byte");
    size_t end = 0;
    const char *why = NULL;
    rt_json_status st = rt_json_check(header, hlen, &end, &why);
    if (st == RT_JSON_INVALID)
        return load_error(l, "the header is not valid JSON (%s at byte %zu of %zu)", why, end,
                          hlen);
    if (st == RT_JSON_REFUSED)
        return load_error(l, "the header holds %s at byte %zu", why, end);
    for (size_t c = end; c < hlen; c++)
        if (header[c] != ' ')
            return load_error(l,
                              "the header has bytes after its JSON value that are not space "
                              "padding (at byte %zu)",
                              c);
    size_t first = strspn(header, " \t\n\r");
    if (header[first] != '{')
        return load_error(l, "the header is not a JSON object");
    if (first != 0)
        return load_error(l, "the header does not start with '{'");
    return 0;
}

static int entry_cmp(const void *a, const void *b)
{
    const st_entry *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->order - y->order;
}

/* Checks that the tensors of the file (the parameters found and the tensors the
 * program does not have) tile the data section of data_len bytes exactly. Sorts a copy
 * of the entries by offset. */
static int check_layout(st_loader *l, uint64_t data_len)
{
    int n = l->p->cg.n_params, count = 0;
    uint64_t total = 0;
    st_entry *sorted = ir_malloc((size_t)(n + l->n_extras + 1) * sizeof *sorted);
    if (!sorted)
        return load_error(l, "out of memory");
    for (int i = 0; i < n + l->n_extras; i++) {
        const st_entry *e = i < n ? &l->entries[i] : &l->extras[i - n];
        if (!e->seen)
            continue;
        sorted[count] = *e;
        sorted[count].order = count;
        count++;
        /* Saturates: the sizes of tensors the program does not have come from the file. */
        uint64_t bytes = e->end - e->begin;
        total = bytes > UINT64_MAX - total ? UINT64_MAX : total + bytes;
    }
    int rc = 0;
    if (data_len < total)
        rc = load_error(l,
                        "the file is truncated: its data section is %" PRIu64
                        " bytes, the tensors need %" PRIu64,
                        data_len, total);
    else if (data_len > total)
        rc = load_error(
            l, "its data section is %" PRIu64 " bytes, %" PRIu64 " more than the tensors need",
            data_len, data_len - total);
    for (int i = 0; i < count && rc == 0; i++)
        if (sorted[i].end > data_len)
            rc = load_error(l,
                            "tensor '%.200s': data_offsets [%" PRIu64 ", %" PRIu64 "] run "
                            "past the end of the data section (%" PRIu64 " bytes)",
                            sorted[i].name, sorted[i].begin, sorted[i].end, data_len);
    if (rc == 0)
        qsort(sorted, (size_t)count, sizeof *sorted, entry_cmp);
    uint64_t at = 0;
    for (int i = 0; i < count && rc == 0; i++) {
        const st_entry *e = &sorted[i];
        if (e->begin < at)
            rc = load_error(l,
                            "tensor '%.200s': data_offsets [%" PRIu64 ", %" PRIu64 "] "
                            "overlap tensor '%.200s'",
                            e->name, e->begin, e->end, sorted[i - 1].name);
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

/* Rejects BOOL values other than 0 and 1 among the staged parameters. */
static int check_bools(st_loader *l, const unsigned char *stage)
{
    for (int i = 0; i < l->p->cg.n_params; i++) {
        const cg_slot *s = &l->p->cg.params[i];
        if (s->dtype != NB_BOOL || !l->entries[i].seen)
            continue;
        const unsigned char *v = stage + l->entries[i].stage;
        for (int64_t k = 0; k < s->numel; k++)
            if (v[k] > 1)
                return load_error(l,
                                  "tensor '%.200s' holds %u at element %lld; BOOL values "
                                  "are 0 or 1",
                                  s->name, v[k], (long long)k);
    }
    return 0;
}

/* Reads the bytes of the parameters found, at data in f, into a new staging buffer
 * (the caller frees it). NULL with the error recorded. */
static unsigned char *stage_params(st_loader *l, FILE *f, uint64_t data)
{
    size_t size = 0;
    for (int i = 0; i < l->p->cg.n_params; i++)
        if (l->entries[i].seen) {
            l->entries[i].stage = size;
            size += rt_st_bytes(&l->p->cg.params[i]);
        }
    unsigned char *stage = ir_malloc(size ? size : 1);
    if (!stage) {
        load_error(l, "out of memory");
        return NULL;
    }
    for (int i = 0; i < l->p->cg.n_params; i++) {
        const st_entry *e = &l->entries[i];
        size_t n = rt_st_bytes(&l->p->cg.params[i]);
        if (!e->seen || n == 0)
            continue;
        /* The offsets were checked against the file's size: they fit an off_t. */
        if (fseeko(f, (off_t)(data + e->begin), SEEK_SET) != 0 ||
            fread(stage + e->stage, 1, n, f) != n) {
            load_error(l, "the file ended while reading its data (%s)",
                       ferror(f) ? strerror(errno) : "it shrank while loading");
            free(stage);
            return NULL;
        }
    }
    return stage;
}

/* Forgets the names of the last load's report. */
void rt_load_report_free(nb_program *p)
{
    free(p->load_missing);
    for (int k = 0; k < p->n_load_unexpected; k++)
        free(p->load_unexpected[k]);
    free(p->load_unexpected);
    p->load_missing = NULL;
    p->load_unexpected = NULL;
    p->n_load_unexpected = 0;
}

/* Fills report (when not NULL) with what the load takes and leaves, keeping the names
 * on p: the missing ones point into p's parameter names, the unexpected ones are taken
 * from the loader. Allocates before anything changes; -1 (recorded) when out of
 * memory. */
static int report_build(st_loader *l, nb_load_report *report)
{
    nb_program *p = l->p;
    int n_missing = 0;
    for (int i = 0; i < p->cg.n_params; i++)
        n_missing += !l->entries[i].seen;
    const char **missing = NULL;
    char **unexpected = NULL;
    if (report && n_missing > 0 && !(missing = ir_malloc((size_t)n_missing * sizeof *missing)))
        return load_error(l, "out of memory");
    if (report && l->n_extras > 0 &&
        !(unexpected = ir_malloc((size_t)l->n_extras * sizeof *unexpected))) {
        free(missing);
        return load_error(l, "out of memory");
    }
    if (!report)
        return 0;
    int k = 0;
    for (int i = 0; i < p->cg.n_params; i++)
        if (!l->entries[i].seen)
            missing[k++] = p->cg.params[i].name;
    for (k = 0; k < l->n_extras; k++) {
        unexpected[k] = l->extras[k].name;
        l->extras[k].name = NULL;
    }
    p->load_missing = missing;
    p->load_unexpected = unexpected;
    p->n_load_unexpected = l->n_extras;
    report->n_loaded = p->cg.n_params - n_missing;
    report->n_missing = n_missing;
    report->missing = missing;
    report->n_unexpected = l->n_extras;
    report->unexpected = (const char *const *)unexpected;
    return 0;
}

/* Reads and checks the header, then the data of the parameters found into a staging
 * buffer; only when all of it is good are the parameters overwritten. */
int nb_program_load_ex(nb_program *p, const char *path, int strict, nb_load_report *report)
{
    /* Zeroed now, filled last (report_build, after which nothing fails). */
    if (report)
        memset(report, 0, sizeof *report);
    if (!p)
        return -1;
    rt_error_clear(p);
    rt_load_report_free(p);
    if (!path)
        return rt_error(p, "load: path is NULL");
    st_loader l = {p, path, strict != 0, NULL, NULL, 0, 0, NULL};
    char *header = NULL;
    unsigned char *stage = NULL;
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
    if (check_syntax(&l, header, (size_t)hlen) != 0)
        goto done;
    int n = p->cg.n_params;
    l.entries = ir_calloc((size_t)(n ? n : 1), sizeof *l.entries);
    if (!l.entries) {
        load_error(&l, "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++) {
        l.entries[i].param = i;
        l.entries[i].name = p->cg.params[i].name;
    }
    if (index_params(&l) != 0 || read_header(&l, header, (size_t)hlen) != 0 ||
        check_layout(&l, size - 8 - hlen) != 0)
        goto done;
    stage = stage_params(&l, f, 8 + hlen);
    if (!stage || check_bools(&l, stage) != 0 || report_build(&l, report) != 0)
        goto done;
    for (int i = 0; i < n; i++) {
        const cg_slot *s = &p->cg.params[i];
        if (!l.entries[i].seen)
            continue;
        unsigned char *src = stage + l.entries[i].stage;
        if (!rt_host_is_little_endian())
            rt_swap_bytes(src, (size_t)s->numel, ir_dtype_size(s->dtype));
        memcpy(p->state->bytes + s->offset, src, rt_st_bytes(s));
    }
    rc = 0;
done:
    free(stage);
    free(l.entries);
    for (int k = 0; k < l.n_extras; k++)
        free(l.extras[k].name);
    free(l.extras);
    free(l.by_name);
    free(header);
    fclose(f);
    return rc;
}

int nb_program_load(nb_program *p, const char *path)
{
    return nb_program_load_ex(p, path, 1, NULL);
}
