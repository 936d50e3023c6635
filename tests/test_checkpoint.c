/* test_checkpoint.c — safetensors checkpoints: bit-exact round trips, the file layout
 * checked byte by byte, training resumed from a file, every kind of corrupt file
 * refused with the parameters untouched, and atomic saves that never damage the old
 * file nor leave temporary files behind. */
/* flock(2) is BSD and Linux, not POSIX. */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "files.h"
#include "ir.h"
#include "memlimit.h"
#include "nabla.h"

/* ---- files and directories -------------------------------------------------------- */

/* Removes a test directory and the files in it (one level). */
static void remove_dir(char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *f = tu_join(dir, e->d_name);
        if (remove(f) != 0)
            fail_msg("cannot remove %s: %s", f, strerror(errno));
        free(f);
    }
    closedir(d);
    assert_int_equal(rmdir(dir), 0);
    free(dir);
}

/* The names in dir, sorted and joined with spaces. */
static void list_dir(const char *dir, char *out, size_t size)
{
    char names[16][300];
    int n = 0;
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        assert_true(n < 16);
        snprintf(names[n++], sizeof names[0], "%s", e->d_name);
    }
    closedir(d);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char t[300];
            memcpy(t, names[j], sizeof t);
            memcpy(names[j], names[j - 1], sizeof t);
            memcpy(names[j - 1], t, sizeof t);
        }
    out[0] = '\0';
    for (size_t i = 0, len = 0; i < (size_t)n; i++) {
        int w = snprintf(out + len, size - len, "%s%s", i ? " " : "", names[i]);
        assert_true(w >= 0 && (size_t)w < size - len); /* the listing fits */
        len += (size_t)w;
    }
}

/* A safetensors file by hand: the 8-byte length field hlen, the header text, and
 * data_len bytes of data (from data, or a 0x3c pattern when NULL). */
static void write_st_len(const char *path, uint64_t hlen, const char *json, const void *data,
                         size_t data_len)
{
    size_t jn = strlen(json);
    unsigned char *b = malloc(8 + jn + data_len);
    assert_non_null(b);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(hlen >> (8 * i));
    memcpy(b + 8, json, jn);
    if (data)
        memcpy(b + 8 + jn, data, data_len);
    else
        memset(b + 8 + jn, 0x3c, data_len);
    tu_write_file(path, b, 8 + jn + data_len);
    free(b);
}

static void write_st(const char *path, const char *json, size_t data_len)
{
    write_st_len(path, strlen(json), json, NULL, data_len);
}

static uint64_t le64(const unsigned char *b)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)b[i] << (8 * i);
    return v;
}

/* ---- programs ---------------------------------------------------------------------- */

static nb_program *compile_outputs(nb_graph *g, nb_node **outs, int n)
{
    nb_compile_options opt = {.outputs = outs, .n_outputs = n};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(g));
    return p;
}

/* The small program of the corrupt-file tests: a f32[2,3] = 1..6 and b f64[] = 7.5
 * (24 + 8 data bytes). */
static const float small_a[6] = {1, 2, 3, 4, 5, 6};
static const double small_b = 7.5;

static nb_program *small_program(void)
{
    static const int64_t s23[] = {2, 3};
    nb_graph *g = nb_graph_new();
    nb_node *outs[2] = {nb_param(g, "a", NB_F32, 2, s23), nb_param(g, "b", NB_F64, 0, NULL)};
    nb_program *p = compile_outputs(g, outs, 2);
    nb_graph_free(g);
    assert_int_equal(nb_program_set_param(p, "a", small_a, sizeof small_a), 0);
    assert_int_equal(nb_program_set_param(p, "b", &small_b, sizeof small_b), 0);
    return p;
}

static void assert_small_untouched(nb_program *p)
{
    float a[6];
    double b;
    assert_int_equal(nb_program_get_param(p, "a", a, sizeof a), 0);
    assert_int_equal(nb_program_get_param(p, "b", &b, sizeof b), 0);
    assert_memory_equal(a, small_a, sizeof a);
    assert_memory_equal(&b, &small_b, sizeof b);
}

static void assert_error_has(nb_program *p, const char *what)
{
    const char *e = nb_program_error(p);
    assert_non_null(e);
    if (!strstr(e, what))
        fail_msg("error '%s' does not mention '%s'", e, what);
}

/* Loading path fails with an error naming the file and `what`, and changes nothing. */
static void expect_load_error(nb_program *p, const char *path, const char *what)
{
    if (nb_program_load(p, path) != -1)
        fail_msg("loading a bad file (expected '%s') succeeded", what);
    assert_error_has(p, path);
    assert_error_has(p, what);
    assert_small_untouched(p);
}

/* ---- the file layout ------------------------------------------------------------- */

/* The exact bytes of a small checkpoint, written out by hand. */
static void test_layout(void **state)
{
    (void)state;
    char *dir = tu_make_dir("nabla-ckpt"), *path = tu_join(dir, "small.safetensors");
    nb_program *p = small_program();
    assert_int_equal(nb_program_save(p, path), 0);
    size_t n;
    unsigned char *b = tu_read_file(path, &n);
    const char *json = "{\"__metadata__\":{\"producer\":\"nabla\"},"
                       "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                       "\"b\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[24,32]}}";
    size_t jn = strlen(json);
    /* Padded with spaces so that the data starts at a multiple of 8. */
    size_t hlen = (jn + 8 + 7) / 8 * 8 - 8;
    assert_int_equal(le64(b), hlen);
    assert_int_equal(n, 8 + hlen + 32);
    assert_memory_equal(b + 8, json, jn);
    for (size_t i = jn; i < hlen; i++)
        assert_int_equal(b[8 + i], ' ');
    /* 1..6 as little-endian IEEE floats, then 7.5 as a little-endian double. */
    static const unsigned char data[32] = {0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x40,
                                           0x00, 0x00, 0x40, 0x40, 0x00, 0x00, 0x80, 0x40,
                                           0x00, 0x00, 0xa0, 0x40, 0x00, 0x00, 0xc0, 0x40,
                                           0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1e, 0x40};
    assert_memory_equal(b + 8 + hlen, data, sizeof data);
    free(b);
    nb_program_free(p);
    free(path);
    remove_dir(dir);
}

/* A file written by another tool: keys in another order, offsets not in parameter
 * order, metadata last, no padding. */
static void test_load_foreign_file(void **state)
{
    (void)state;
    char *dir = tu_make_dir("nabla-ckpt"), *path = tu_join(dir, "foreign.safetensors");
    /* b = -2.0 at [0, 8), a = 0.5, -0, 1e-45 (denormal), inf, -1, 3 at [8, 32). */
    static const unsigned char data[32] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0,
                                           0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x00, 0x80,
                                           0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x7f,
                                           0x00, 0x00, 0x80, 0xbf, 0x00, 0x00, 0x40, 0x40};
    const char *json = "{\"b\": {\"shape\": [], \"data_offsets\": [0, 8], \"dtype\": \"F64\"}, "
                       "\"a\": {\"dtype\": \"F32\", \"data_offsets\": [8, 32], \"shape\": [2, 3]},"
                       " \"__metadata__\": {\"format\": \"pt\"}}";
    write_st_len(path, strlen(json), json, data, sizeof data);
    nb_program *p = small_program();
    if (nb_program_load(p, path) != 0)
        fail_msg("load: %s", nb_program_error(p));
    uint32_t a[6];
    static const uint32_t want_a[6] = {0x3f000000, 0x80000000, 0x00000001,
                                       0x7f800000, 0xbf800000, 0x40400000};
    double bv;
    assert_int_equal(nb_program_get_param(p, "a", a, sizeof a), 0);
    assert_int_equal(nb_program_get_param(p, "b", &bv, sizeof bv), 0);
    assert_memory_equal(a, want_a, sizeof a);
    assert_true(bv == -2.0);
    nb_program_free(p);
    free(path);
    remove_dir(dir);
}

/* ---- round trips ------------------------------------------------------------------- */

/* Random bits, with the awkward values first: NaNs with payloads (quiet and signaling,
 * both signs), negative zero, denormals, infinities. */
static void fill_random(ir_rng *r, nb_dtype dt, unsigned char *b, int64_t n)
{
    static const uint32_t f32_special[] = {0x7fc00001, 0xff800123, 0x7f8abcde, 0x80000000,
                                           0x00000001, 0x807fffff, 0xff800000};
    static const uint64_t f64_special[] = {
        0x7ff8000000000001u, 0xfff0000000abcdefu, 0x7ff4000000000000u, 0x8000000000000000u,
        0x0000000000000001u, 0x800fffffffffffffu, 0x7ff0000000000000u};
    for (int64_t i = 0; i < n; i++) {
        uint64_t v = ir_rng_next(r);
        if (dt == NB_F32) {
            uint32_t x = i < 7 ? f32_special[i] : (uint32_t)v;
            memcpy(b + 4 * i, &x, 4);
        } else if (dt == NB_F64) {
            uint64_t x = i < 7 ? f64_special[i] : v;
            memcpy(b + 8 * i, &x, 8);
        } else if (dt == NB_I32) {
            uint32_t x = (uint32_t)v;
            memcpy(b + 4 * i, &x, 4);
        } else {
            b[i] = (unsigned char)(v & 1);
        }
    }
}

typedef struct param_spec {
    const char *name;
    nb_dtype dtype;
    int rank;
    int64_t shape[3];
    int64_t numel;
} param_spec;

static const param_spec specs[] = {
    {"w", NB_F32, 2, {3, 4}, 12},
    {"w.exp_avg", NB_F32, 2, {3, 4}, 12},
    {"mask", NB_BOOL, 1, {3}, 3},
    {"v", NB_F64, 3, {2, 3, 2}, 12},
    {"s", NB_F64, 0, {0}, 1},
    {"t", NB_F32, 0, {0}, 1},
    {"k", NB_I32, 1, {5}, 5},
    {"big", NB_F32, 2, {33, 31}, 33 * 31},
    {"w.exp_avg_sq", NB_F64, 1, {9}, 9},
    /* Escaped in the JSON; the backslash-u sequence must not be taken for a NUL. */
    {"odd \"name\" \\u0000 \\", NB_F32, 1, {2}, 2},
};
#define N_SPECS (int)(sizeof specs / sizeof specs[0])

static nb_program *spec_program(void)
{
    nb_graph *g = nb_graph_new();
    nb_node *outs[N_SPECS];
    for (int i = 0; i < N_SPECS; i++)
        outs[i] = nb_param(g, specs[i].name, specs[i].dtype, specs[i].rank, specs[i].shape);
    nb_program *p = compile_outputs(g, outs, N_SPECS);
    nb_graph_free(g);
    return p;
}

/* Every dtype and several shapes, with random bits, survive save and load bit for bit;
 * the file holds the values in parameter order right after the padded header. */
static void test_round_trip_bit_exact(void **state)
{
    (void)state;
    char *dir = tu_make_dir("nabla-ckpt"), *path = tu_join(dir, "ckpt.safetensors");
    nb_program *a = spec_program(), *b = spec_program();
    ir_rng r;
    ir_rng_seed(&r, 1234);
    unsigned char *values[N_SPECS];
    size_t total = 0;
    for (int i = 0; i < N_SPECS; i++) {
        size_t bytes = (size_t)specs[i].numel * nb_dtype_size(specs[i].dtype);
        values[i] = malloc(bytes);
        assert_non_null(values[i]);
        fill_random(&r, specs[i].dtype, values[i], specs[i].numel);
        assert_int_equal(nb_program_set_param(a, specs[i].name, values[i], bytes), 0);
        total += bytes;
    }
    if (nb_program_save(a, path) != 0)
        fail_msg("save: %s", nb_program_error(a));
    if (nb_program_load(b, path) != 0)
        fail_msg("load: %s", nb_program_error(b));
    for (int i = 0; i < N_SPECS; i++) {
        size_t bytes = (size_t)specs[i].numel * nb_dtype_size(specs[i].dtype);
        int j = nb_program_param_index(b, specs[i].name);
        assert_true(j >= 0);
        assert_memory_equal(nb_program_param_data(b, j), values[i], bytes);
    }

    /* The layout: length field, a header of spaces-padded JSON ending at a multiple of 8,
     * then the values back to back in parameter order, and nothing else. */
    size_t n;
    unsigned char *file = tu_read_file(path, &n);
    uint64_t hlen = le64(file);
    assert_int_equal((8 + hlen) % 8, 0);
    assert_int_equal(n, 8 + hlen + total);
    assert_int_equal(file[8], '{');
    size_t at = 8 + hlen;
    for (int i = 0; i < N_SPECS; i++) {
        size_t bytes = (size_t)specs[i].numel * nb_dtype_size(specs[i].dtype);
        assert_memory_equal(file + at, values[i], bytes); /* a little-endian host */
        at += bytes;
    }
    /* Each name, dtype, shape and offset pair appears in the header. */
    char *header = strndup((const char *)file + 8, (size_t)hlen);
    size_t begin = 0;
    for (int i = 0; i < N_SPECS; i++) {
        static const char *const st[] = {"F32", "F64", "I32", "BOOL"};
        size_t bytes = (size_t)specs[i].numel * nb_dtype_size(specs[i].dtype);
        char want[256], shape[64] = "";
        for (int d = 0; d < specs[i].rank; d++)
            snprintf(shape + strlen(shape), sizeof shape - strlen(shape), d ? ",%lld" : "%lld",
                     (long long)specs[i].shape[d]);
        char name[64];
        size_t k = 0;
        for (const char *c = specs[i].name; *c; c++) { /* JSON-escaped */
            if (*c == '"' || *c == '\\')
                name[k++] = '\\';
            name[k++] = *c;
        }
        name[k] = '\0';
        snprintf(want, sizeof want,
                 "\"%s\":{\"dtype\":\"%s\",\"shape\":[%s],\"data_offsets\":[%zu,%zu]}", name,
                 st[specs[i].dtype], shape, begin, begin + bytes);
        if (!strstr(header, want))
            fail_msg("header %s lacks %s", header, want);
        begin += bytes;
    }
    free(header);
    free(file);

    /* Saving what was loaded gives the same bytes. */
    char *again = tu_join(dir, "again.safetensors");
    assert_int_equal(nb_program_save(b, again), 0);
    size_t n1, n2;
    unsigned char *f1 = tu_read_file(path, &n1), *f2 = tu_read_file(again, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(f1, f2, n1);
    free(f1);
    free(f2);
    free(again);

    for (int i = 0; i < N_SPECS; i++)
        free(values[i]);
    nb_program_free(a);
    nb_program_free(b);
    free(path);
    remove_dir(dir);
}

/* ---- resuming training ------------------------------------------------------------- */

static const float x_data[12] = {0.5f, -1, 2, 0.25f, 1.5f, -0.75f, 3, -2, 0.125f, 1, -0.5f, 2.5f};
static const float w0[6] = {0.1f, -0.2f, 0.3f, 0.4f, -0.5f, 0.6f};
static const float b0[2] = {0.05f, -0.05f};

/* y = x[4,3] @ w[3,2] + b[2]; loss = mean(y^2); SGD with lr 0.01. With buffers, the
 * gradients go through gradient buffers "w.grad" and "b.grad", which accumulate. */
static nb_graph *train_graph(int buffers, nb_node **loss, nb_update *u, int *n_updates)
{
    static const int64_t sx[] = {4, 3}, sw[] = {3, 2}, sb[] = {2};
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 2, sx);
    nb_node *params[2] = {nb_param(g, "w", NB_F32, 2, sw), nb_param(g, "b", NB_F32, 1, sb)};
    nb_node *y = nb_add(g, nb_matmul(g, x, params[0]), params[1]);
    *loss = nb_mean(g, nb_mul(g, y, y), NULL, 0, 0);
    nb_node *grads[2], *bufs[2], *acc[2];
    assert_int_equal(nb_grad(g, *loss, params, 2, grads), 0);
    int n = 0;
    if (buffers) {
        assert_int_equal(nb_grad_buffers(g, params, grads, 2, bufs, acc), 0);
        for (int i = 0; i < 2; i++) {
            u[n++] = (nb_update){bufs[i], acc[i]};
            grads[i] = acc[i];
        }
    }
    nb_node *lr = nb_scalar(g, NB_F32, 0.01);
    for (int i = 0; i < 2; i++)
        u[n++] = (nb_update){params[i], nb_sub(g, params[i], nb_mul(g, lr, grads[i]))};
    *n_updates = n;
    return g;
}

static nb_program *train_program(nb_graph *g, nb_node **loss, nb_update *u, int n_updates)
{
    nb_compile_options opt = {
        .outputs = loss, .n_outputs = 1, .updates = u, .n_updates = n_updates};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(g));
    assert_int_equal(nb_program_bind(p, "x", x_data), 0);
    return p;
}

static float step(nb_program *p)
{
    if (nb_program_run(p) != 0)
        fail_msg("run: %s", nb_program_error(p));
    return *(const float *)nb_program_output(p, 0);
}

/* A checkpoint taken after three steps, loaded into a fresh program of the same graph,
 * continues exactly as the original: same losses, same parameters and gradient
 * buffers, bit for bit. */
static void test_resume_training(void **state)
{
    (void)state;
    char *dir = tu_make_dir("nabla-ckpt"), *path = tu_join(dir, "train.safetensors");
    nb_node *loss;
    nb_update u[4];
    int nu;
    nb_graph *g = train_graph(1, &loss, u, &nu);
    nb_program *a = train_program(g, &loss, u, nu), *b = train_program(g, &loss, u, nu);
    nb_graph_free(g);
    assert_int_equal(nb_program_param_count(a), 4);
    assert_int_equal(nb_program_set_param(a, "w", w0, sizeof w0), 0);
    assert_int_equal(nb_program_set_param(a, "b", b0, sizeof b0), 0);
    for (int i = 0; i < 3; i++)
        step(a);
    assert_int_equal(nb_program_save(a, path), 0);
    /* b starts from zeros: its first loss differs until it loads the checkpoint. */
    if (nb_program_load(b, path) != 0)
        fail_msg("load: %s", nb_program_error(b));
    for (int i = 0; i < 3; i++) {
        float la = step(a), lb = step(b);
        assert_memory_equal(&la, &lb, sizeof la);
    }
    for (int i = 0; i < 4; i++) {
        size_t bytes = (size_t)nb_program_param_numel(a, i) * 4;
        assert_memory_equal(nb_program_param_data(a, i), nb_program_param_data(b, i), bytes);
    }
    /* The gradient buffers were saved: they hold three steps' gradients, not zeros. */
    int gi = nb_program_param_index(b, "w.grad");
    assert_true(gi >= 0);
    const float *gw = nb_program_param_data(b, gi);
    assert_true(gw[0] != 0.0f);
    nb_program_free(a);
    nb_program_free(b);
    free(path);
    remove_dir(dir);
}

/* Checkpoints of a graph with gradient buffers and of one without do not mix: the
 * names differ, and each load says which. */
static void test_grad_buffers_must_match(void **state)
{
    (void)state;
    char *dir = tu_make_dir("nabla-ckpt"), *with = tu_join(dir, "with.safetensors"),
         *without = tu_join(dir, "without.safetensors");
    nb_node *loss1, *loss2;
    nb_update u1[4], u2[4];
    int n1, n2;
    nb_graph *g1 = train_graph(1, &loss1, u1, &n1), *g2 = train_graph(0, &loss2, u2, &n2);
    nb_program *p1 = train_program(g1, &loss1, u1, n1), *p2 = train_program(g2, &loss2, u2, n2);
    assert_int_equal(nb_program_save(p1, with), 0);
    assert_int_equal(nb_program_save(p2, without), 0);
    assert_int_equal(nb_program_load(p2, with), -1);
    assert_error_has(p2, "the file has a tensor 'w.grad' that the program does not have");
    assert_int_equal(nb_program_load(p1, without), -1);
    assert_error_has(p1, "parameter 'w.grad' and 1 more are missing from the file");
    nb_program_free(p1);
    nb_program_free(p2);
    nb_graph_free(g1);
    nb_graph_free(g2);
    free(with);
    free(without);
    remove_dir(dir);
}

/* ---- corrupt files ----------------------------------------------------------------- */

#define A_OK "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}"
#define B_OK "\"b\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[24,32]}"

typedef struct bad_header {
    const char *json;
    size_t data_len;
    const char *error;
} bad_header;

static const bad_header bad_headers[] = {
    /* invalid JSON, JSON that is not an object, junk around it */
    {"{\"a\": {\"dtype\": ", 32, "the header is not valid JSON"},
    {"", 32, "the header is not valid JSON"},
    {"[1, 2]", 32, "the header is not a JSON object"},
    {"\"a\"", 32, "the header is not a JSON object"},
    {" {" A_OK "," B_OK "}", 32, "the header does not start with '{'"},
    {"{" A_OK "," B_OK "} x", 32, "bytes after its JSON value that are not space padding"},
    {"{" A_OK "," B_OK "}\n", 32, "bytes after its JSON value that are not space padding"},
    {"{" A_OK "," B_OK "}{}", 32, "bytes after its JSON value that are not space padding"},
    /* missing, extra and duplicate names */
    {"{" A_OK "}", 32, "parameter 'b' is missing from the file"},
    {"{}", 0, "parameter 'a' and 1 more are missing from the file"},
    {"{" A_OK "," B_OK ",\"c\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[32,36]}}", 36,
     "the file has a tensor 'c' that the program does not have"},
    {"{" A_OK "," B_OK ",\"A\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}", 32,
     "the file has a tensor 'A' that the program does not have"},
    {"{" A_OK "," B_OK "," A_OK "}", 32, "tensor 'a' appears twice in the header"},
    {"{" A_OK ",\"a\\u0000x\":{}," B_OK "}", 32, "escaped NUL"},
    {"{\"__metadata__\":{},\"__metadata__\":{}," A_OK "," B_OK "}", 32,
     "\"__metadata__\" appears twice"},
    {"{\"__metadata__\":[]," A_OK "," B_OK "}", 32, "\"__metadata__\" is not an object"},
    {"{\"__metadata__\":{\"epoch\":3}," A_OK "," B_OK "}", 32,
     "\"__metadata__\" entry 'epoch' is not a string"},
    /* JSON is UTF-8 text: other bytes, lone surrogates and deep nesting are refused */
    {"{\"a\xff\":{}," A_OK "," B_OK "}", 32,
     "the header is not valid JSON (invalid UTF-8 at byte 3"},
    {"{\"\xc0\x80\":{}," A_OK "," B_OK "}", 32, "not valid JSON (invalid UTF-8 at byte 2"},
    {"{\"\xed\xa0\x80\":{}," A_OK "," B_OK "}", 32, "not valid JSON (invalid UTF-8"},
    {"{\"\\ud800\":{}," A_OK "," B_OK "}", 32, "not valid JSON (a high surrogate escape"},
    {"{\"\\udc00x\":{}," A_OK "," B_OK "}", 32, "not valid JSON (a lone low surrogate"},
    {"{\"__metadata__\":{\"k\":\"\\u0000\"}," A_OK "," B_OK "}", 32, "escaped NUL"},
    {"{\"__metadata__\":{\"k\":\"a\tb\"}," A_OK "," B_OK "}", 32,
     "not valid JSON (a control character in a string"},
    {"{\"__metadata__\":{\"k\":\"v\",\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
     "[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}"
     "," A_OK "," B_OK "}",
     32, "the header holds objects and arrays nested too deep"},
    /* entries */
    {"{\"a\":[]," B_OK "}", 32, "the entry of tensor 'a' is not an object"},
    {"{\"a\":{\"shape\":[2,3],\"data_offsets\":[0,24]}," B_OK "}", 32,
     "tensor 'a' has no \"dtype\" string"},
    {"{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}," B_OK
     "}",
     32, "tensor 'a' has \"dtype\" twice"},
    /* dtypes */
    {"{\"a\":{\"dtype\":\"F64\",\"shape\":[2,3],\"data_offsets\":[0,48]}," B_OK "}", 56,
     "tensor 'a' is f64[2,3], the parameter is f32[2,3]"},
    {"{\"a\":{\"dtype\":\"F16\",\"shape\":[2,3],\"data_offsets\":[0,12]}," B_OK "}", 20,
     "tensor 'a' is f16[2,3], the parameter is f32[2,3]"},
    {"{\"a\":{\"dtype\":\"f32\",\"shape\":[2,3],\"data_offsets\":[0,24]}," B_OK "}", 32,
     "tensor 'a' has dtype f32, the parameter is F32 (f32[2,3])"},
    {"{\"a\":{\"dtype\":32,\"shape\":[2,3],\"data_offsets\":[0,24]}," B_OK "}", 32,
     "tensor 'a' has no \"dtype\" string"},
    /* shapes */
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[0,24]}," B_OK "}", 32,
     "tensor 'a' is f32[3,2], the parameter is f32[2,3]"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[0,24]}," B_OK "}", 32,
     "tensor 'a' is f32[6], the parameter is f32[2,3]"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3,1],\"data_offsets\":[0,24]}," B_OK "}", 32,
     "tensor 'a' is f32[2,3,1], the parameter is f32[2,3]"},
    {"{" A_OK ",\"b\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[24,32]}}", 32,
     "tensor 'b' is f64[1], the parameter is f64[]"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1,1,1,1,2,3],\"data_offsets\":[0,24]}"
     "," B_OK "}",
     32, "tensor 'a' has shape [1,1,1,1,1,1,1,1,1,...], the parameter is f32[2,3]"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,\"3\"],\"data_offsets\":[0,24]}," B_OK "}", 32,
     "tensor 'a': shape entry 1 is not a non-negative integer"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-2,3],\"data_offsets\":[0,24]}," B_OK "}", 32,
     "tensor 'a': shape entry 0 is not a non-negative integer"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3.5],\"data_offsets\":[0,24]}," B_OK "}", 32,
     "tensor 'a': shape entry 1 is not a non-negative integer"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,1e300],\"data_offsets\":[0,24]}," B_OK "}", 32,
     "tensor 'a': shape entry 1 is not a non-negative integer"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,null],\"data_offsets\":[0,24]}," B_OK "}", 32,
     "tensor 'a': shape entry 1 is not a non-negative integer"},
    /* integers only, as safetensors writes them: 3.0 and 3e0 are the number 3, not a dim */
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3.0],\"data_offsets\":[0,24]}," B_OK "}", 32,
     "tensor 'a': shape entry 1 is not a non-negative integer"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3e0],\"data_offsets\":[0,24]}," B_OK "}", 32,
     "tensor 'a': shape entry 1 is not a non-negative integer"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2E0,3],\"data_offsets\":[0,24]}," B_OK "}", 32,
     "tensor 'a': shape entry 0 is not a non-negative integer"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24.0]}," B_OK "}", 32,
     "tensor 'a': \"data_offsets\" must be [begin, end]"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0e1,24]}," B_OK "}", 32,
     "tensor 'a': \"data_offsets\" must be [begin, end]"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,18446744073709551616]}," B_OK
     "}",
     32, "tensor 'a': \"data_offsets\" must be [begin, end]"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[02,3],\"data_offsets\":[0,24]}," B_OK "}", 32,
     "the header is not valid JSON (a missing ',' or ']' at byte"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":6,\"data_offsets\":[0,24]}," B_OK "}", 32,
     "tensor 'a' has no \"shape\" array"},
    /* data_offsets */
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3]}," B_OK "}", 32,
     "tensor 'a': \"data_offsets\" must be [begin, end]"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0]}," B_OK "}", 32,
     "tensor 'a': \"data_offsets\" must be [begin, end]"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,12,24]}," B_OK "}", 32,
     "tensor 'a': \"data_offsets\" must be [begin, end]"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[-8,16]}," B_OK "}", 32,
     "tensor 'a': \"data_offsets\" must be [begin, end]"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[\"0\",24]}," B_OK "}", 32,
     "tensor 'a': \"data_offsets\" must be [begin, end]"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":{\"begin\":0}}," B_OK "}", 32,
     "tensor 'a': \"data_offsets\" must be [begin, end]"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,1e30]}," B_OK "}", 32,
     "tensor 'a': \"data_offsets\" must be [begin, end]"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[24,0]}," B_OK "}", 32,
     "tensor 'a': data_offsets [24, 0] end before they begin"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}," B_OK "}", 32,
     "tensor 'a': data_offsets [0, 20] hold 20 bytes, f32[2,3] needs 24"},
    {"{" A_OK ",\"b\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[16,24]}}", 32,
     "tensor 'b': data_offsets [16, 24] overlap tensor 'a'"},
    {"{" A_OK ",\"b\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[0,8]}}", 32,
     "tensor 'b': data_offsets [0, 8] overlap tensor 'a'"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[4,28]}," B_OK "}", 32,
     "bytes [0, 4) of the data section belong to no tensor"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
     "\"b\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[28,36]}}",
     32, "tensor 'b': data_offsets [28, 36] run past the end of the data section (32 bytes)"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[8,32]},"
     "\"b\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[32,40]}}",
     32, "tensor 'b': data_offsets [32, 40] run past the end"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[1000000,1000024]}," B_OK "}", 32,
     "tensor 'a': data_offsets [1000000, 1000024] run past the end of the data section (32 "
     "bytes)"},
    /* the data section */
    {"{" A_OK "," B_OK "}", 31,
     "the file is truncated: its data section is 31 bytes, the "
     "tensors need 32"},
    {"{" A_OK "," B_OK "}", 0, "the file is truncated: its data section is 0 bytes"},
    {"{" A_OK "," B_OK "}", 40, "its data section is 40 bytes, 8 more than the tensors need"},
};

static void test_corrupt_headers(void **state)
{
    (void)state;
    char *dir = tu_make_dir("nabla-ckpt"), *path = tu_join(dir, "bad.safetensors");
    nb_program *p = small_program();
    for (size_t i = 0; i < sizeof bad_headers / sizeof bad_headers[0]; i++) {
        const bad_header *c = &bad_headers[i];
        write_st(path, c->json, c->data_len);
        expect_load_error(p, path, c->error);
    }
    /* The same header, good, loads (the cases above fail for their own reason). */
    write_st(path, "{" A_OK "," B_OK "}", 32);
    assert_int_equal(nb_program_load(p, path), 0);
    nb_program_free(p);
    free(path);
    remove_dir(dir);
}

/* The length field and the file size: short files, lengths past the end, absurd ones. */
static void test_corrupt_lengths(void **state)
{
    (void)state;
    char *dir = tu_make_dir("nabla-ckpt"), *path = tu_join(dir, "bad.safetensors");
    nb_program *p = small_program();
    const char *json = "{" A_OK "," B_OK "}";

    expect_load_error(p, "/nonexistent/dir/x.safetensors", "cannot open it");
    expect_load_error(p, dir, "not a regular file");
    tu_write_file(path, "", 0);
    expect_load_error(p, path, "the file is 0 bytes, too short to hold the 8-byte header length");
    tu_write_file(path, "\x10\0\0\0\0", 5);
    expect_load_error(p, path, "the file is 5 bytes, too short");
    tu_write_file(path, "\0\0\0\0\0\0\0\0", 8);
    expect_load_error(p, path, "the header is not valid JSON");

    /* A length one past the end, and huge ones that must not be allocated. */
    size_t file = 8 + strlen(json) + 32;
    write_st_len(path, strlen(json) + 33, json, NULL, 32);
    char want[160];
    snprintf(want, sizeof want, "the header length %zu runs past the end of the file (%zu bytes)",
             strlen(json) + 33, file);
    expect_load_error(p, path, want);
    write_st_len(path, UINT64_C(1) << 63, json, NULL, 32);
    expect_load_error(p, path, "the header length 9223372036854775808 runs past the end");
    write_st_len(path, UINT64_MAX, json, NULL, 32);
    expect_load_error(p, path, "the header length 18446744073709551615 runs past the end");
    write_st_len(path, UINT64_MAX - 3, json, NULL, 32);
    expect_load_error(p, path, "runs past the end");

    /* A length shorter than the JSON cuts it: invalid JSON. */
    write_st_len(path, strlen(json) - 1, json, NULL, 32);
    expect_load_error(p, path, "the header is not valid JSON");
    /* A length longer than the JSON takes data bytes into the header. */
    write_st_len(path, strlen(json) + 8, json, NULL, 32);
    expect_load_error(p, path, "not space padding");

    /* A header of 150 MB inside a (sparse) file of 200 MB is over the limit. */
    write_st_len(path, 150000000, json, NULL, 32);
    assert_int_equal(truncate(path, 200000000), 0);
    expect_load_error(p, path, "the header length 150000000 is over the limit of 100000000 bytes");
    assert_int_equal(truncate(path, 0), 0);

    /* A NUL byte inside the header. */
    char with_nul[] = "{" A_OK ",  " B_OK "}";
    with_nul[strlen(A_OK) + 2] = '\0';
    size_t jn = sizeof with_nul - 1;
    unsigned char buf[256];
    assert_true(8 + jn + 32 <= sizeof buf);
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)((uint64_t)jn >> (8 * i));
    memcpy(buf + 8, with_nul, jn);
    memset(buf + 8 + jn, 0, 32);
    tu_write_file(path, buf, 8 + jn + 32);
    expect_load_error(p, path, "the header holds a NUL byte");

    nb_program_free(p);
    free(path);
    remove_dir(dir);
}

/* BOOL tensors hold 0 or 1 only. */
static void test_corrupt_bool(void **state)
{
    (void)state;
    static const int64_t s3[] = {3};
    char *dir = tu_make_dir("nabla-ckpt"), *path = tu_join(dir, "bool.safetensors");
    nb_graph *g = nb_graph_new();
    nb_node *m = nb_param(g, "m", NB_BOOL, 1, s3);
    nb_program *p = compile_outputs(g, &m, 1);
    nb_graph_free(g);
    static const unsigned char ones[3] = {1, 0, 1}, bad[3] = {0, 2, 1};
    assert_int_equal(nb_program_set_param(p, "m", ones, 3), 0);
    const char *json = "{\"m\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[0,3]}}";
    write_st_len(path, strlen(json), json, bad, 3);
    assert_int_equal(nb_program_load(p, path), -1);
    assert_error_has(p, "tensor 'm' holds 2 at element 1; BOOL values are 0 or 1");
    assert_memory_equal(nb_program_param_data(p, 0), ones, 3);
    nb_program_free(p);
    free(path);
    remove_dir(dir);
}

/* ---- atomic saves ------------------------------------------------------------------ */

/* Saving over a checkpoint replaces it; no temporary file stays. */
static void test_save_replaces(void **state)
{
    (void)state;
    char *dir = tu_make_dir("nabla-ckpt"), *path = tu_join(dir, "c.safetensors");
    nb_program *p = small_program();
    assert_int_equal(nb_program_save(p, path), 0);
    float a2[6] = {-1, -2, -3, -4, -5, -6};
    assert_int_equal(nb_program_set_param(p, "a", a2, sizeof a2), 0);
    assert_int_equal(nb_program_save(p, path), 0);
    char names[1024];
    list_dir(dir, names, sizeof names);
    assert_string_equal(names, "c.safetensors");
    nb_program *q = small_program();
    assert_int_equal(nb_program_load(q, path), 0);
    float got[6];
    assert_int_equal(nb_program_get_param(q, "a", got, sizeof got), 0);
    assert_memory_equal(got, a2, sizeof a2);
    nb_program_free(q);
    nb_program_free(p);
    free(path);
    remove_dir(dir);
}

/* The old file's bytes are still there after a failed save, and nothing else is. */
static void assert_file_is(const char *path, const unsigned char *old, size_t n)
{
    size_t m;
    unsigned char *now = tu_read_file(path, &m);
    assert_int_equal(m, n);
    assert_memory_equal(now, old, n);
    free(now);
}

static void test_save_failures(void **state)
{
    (void)state;
    char *dir = tu_make_dir("nabla-ckpt"), *path = tu_join(dir, "c.safetensors");
    nb_program *p = small_program();
    assert_int_equal(nb_program_save(p, path), 0);
    size_t n;
    unsigned char *old = tu_read_file(path, &n);
    float a2[6] = {9, 9, 9, 9, 9, 9};
    assert_int_equal(nb_program_set_param(p, "a", a2, sizeof a2), 0);
    char names[1024];

    /* A missing directory. */
    char *missing = tu_join(dir, "no/such/dir/c.safetensors");
    assert_int_equal(nb_program_save(p, missing), -1);
    assert_error_has(p, missing);
    assert_error_has(p, "cannot create a temporary file next to it");
    free(missing);

    /* A name so long that no temporary name fits next to it: the existing checkpoint
     * under that name survives. */
    char longname[256];
    memset(longname, 'x', 250);
    strcpy(longname + 250, ".st");
    char *longpath = tu_join(dir, longname);
    assert_int_equal(rename(path, longpath), 0);
    assert_int_equal(nb_program_save(p, longpath), -1);
    assert_error_has(p, "cannot create a temporary file next to it");
    assert_file_is(longpath, old, n);
    list_dir(dir, names, sizeof names);
    assert_string_equal(names, longname);
    assert_int_equal(rename(longpath, path), 0);
    free(longpath);

    /* The target is a directory: the rename fails after the file was written, and the
     * temporary file is removed. */
    char *sub = tu_join(dir, "sub");
    assert_int_equal(mkdir(sub, 0755), 0);
    assert_int_equal(nb_program_save(p, sub), -1);
    assert_error_has(p, "cannot replace it with the new file");
    list_dir(dir, names, sizeof names);
    assert_string_equal(names, "c.safetensors sub");
    assert_int_equal(rmdir(sub), 0);
    free(sub);

    /* The disk fills up mid-write (a file size limit of 64 bytes: the checkpoint is
     * larger): the old checkpoint is untouched and the partial file is gone. */
    struct rlimit saved, low;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    low = saved;
    low.rlim_cur = 64;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &low), 0);
    int rc = nb_program_save(p, path);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
    signal(SIGXFSZ, old_handler);
    assert_int_equal(rc, -1);
    assert_error_has(p, "writing the temporary file");
    assert_error_has(p, "File too large");
    assert_file_is(path, old, n);
    list_dir(dir, names, sizeof names);
    assert_string_equal(names, "c.safetensors");

    /* Bad arguments. */
    assert_int_equal(nb_program_save(p, NULL), -1);
    assert_error_has(p, "save: path is NULL");
    assert_int_equal(nb_program_load(p, NULL), -1);
    assert_error_has(p, "load: path is NULL");
    assert_int_equal(nb_program_save(NULL, path), -1);
    assert_int_equal(nb_program_load(NULL, path), -1);

    free(old);
    nb_program_free(p);
    free(path);
    remove_dir(dir);
}

/* safetensors reserves "__metadata__": such a parameter cannot be saved. */
static void test_reserved_name(void **state)
{
    (void)state;
    char *dir = tu_make_dir("nabla-ckpt"), *path = tu_join(dir, "c.safetensors");
    nb_graph *g = nb_graph_new();
    nb_node *m = nb_param(g, "__metadata__", NB_F32, 0, NULL);
    nb_program *p = compile_outputs(g, &m, 1);
    nb_graph_free(g);
    assert_int_equal(nb_program_save(p, path), -1);
    assert_error_has(p, "a parameter named '__metadata__' cannot be saved");
    char names[1024];
    list_dir(dir, names, sizeof names);
    assert_string_equal(names, "");
    nb_program_free(p);
    free(path);
    remove_dir(dir);
}

/* ---- bounded headers -------------------------------------------------------------- */

/* A header of 16 MB whose shape array has 8 million entries is refused for its shape,
 * and reading it costs the header's bytes, not a tree of 8 million nodes: the load runs
 * with only 160 MB of address space to spare (not under the sanitizers, which reserve
 * terabytes of shadow memory up front). */
static void test_huge_shape_array(void **state)
{
    (void)state;
    char *dir = tu_make_dir("nabla-ckpt"), *path = tu_join(dir, "huge.safetensors");
    const size_t count = 8u << 20;
    const char *head = "{\"a\":{\"dtype\":\"F32\",\"shape\":[",
               *tail = "],\"data_offsets\":[0,24]}," B_OK "}";
    size_t hn = strlen(head), tn = strlen(tail), jn = hn + 2 * count - 1 + tn;
    char *json = malloc(jn + 1);
    assert_non_null(json);
    memcpy(json, head, hn);
    for (size_t i = 0; i < count; i++)
        memcpy(json + hn + 2 * i, "1,", 2);
    memcpy(json + hn + 2 * count - 1, tail, tn + 1);
    write_st(path, json, 32);
    free(json);
    nb_program *p = small_program();
    long allocs = ir_alloc_count();
#if defined(TU_UNDER_ASAN)
    expect_load_error(p, path,
                      "tensor 'a' has shape [1,1,1,1,1,1,1,1,1,...], the parameter is f32[2,3]");
#else
    struct rlimit saved;
    assert_int_equal(tu_memory_limit(160u << 20, &saved), 0);
    int rc = nb_program_load(p, path);
    assert_int_equal(tu_memory_restore(&saved), 0);
    assert_int_equal(rc, -1);
    assert_error_has(p, "tensor 'a' has shape [1,1,1,1,1,1,1,1,1,...], the parameter is f32[2,3]");
    assert_small_untouched(p);
#endif
    /* The header buffer, the entries, the key and the dtype: no allocation per entry. */
    assert_true(ir_alloc_count() - allocs < 16);
    nb_program_free(p);
    free(path);
    remove_dir(dir);
}

/* ---- names ------------------------------------------------------------------------- */

/* A name that is not UTF-8 cannot go into a JSON header: the save is refused and writes
 * nothing; UTF-8 names (and control characters, escaped) round-trip. */
static void test_names_utf8(void **state)
{
    (void)state;
    char *dir = tu_make_dir("nabla-ckpt"), *path = tu_join(dir, "c.safetensors");
    char names[1024];
    static const char *bad[] = {"w\xff", "\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nb_graph *g = nb_graph_new();
        nb_node *m = nb_param(g, bad[i], NB_F32, 0, NULL);
        nb_program *p = compile_outputs(g, &m, 1);
        nb_graph_free(g);
        assert_int_equal(nb_program_save(p, path), -1);
        assert_error_has(p, "is not valid UTF-8, which a safetensors header must be");
        list_dir(dir, names, sizeof names);
        assert_string_equal(names, "");
        nb_program_free(p);
    }
    const char *good[2] = {"poids \xc3\xa9t\xc3\xa9 \xe2\x88\x87 \xf0\x9f\x98\x80",
                           "tab\there\x01\x1f\x7f"};
    nb_graph *g = nb_graph_new();
    nb_node *outs[2] = {nb_param(g, good[0], NB_F32, 0, NULL),
                        nb_param(g, good[1], NB_F32, 0, NULL)};
    nb_program *p = compile_outputs(g, outs, 2), *q = compile_outputs(g, outs, 2);
    nb_graph_free(g);
    float v[2] = {1.5f, -2.5f}, got[2] = {0, 0};
    assert_int_equal(nb_program_set_param(p, good[0], &v[0], 4), 0);
    assert_int_equal(nb_program_set_param(p, good[1], &v[1], 4), 0);
    if (nb_program_save(p, path) != 0)
        fail_msg("save: %s", nb_program_error(p));
    size_t n;
    unsigned char *b = tu_read_file(path, &n);
    /* The UTF-8 bytes as they are, control characters escaped. */
    assert_non_null(
        strstr((char *)b + 8, "\"poids \xc3\xa9t\xc3\xa9 \xe2\x88\x87 \xf0\x9f\x98\x80\""));
    assert_non_null(strstr((char *)b + 8, "\"tab\\there\\u0001\\u001f\x7f\""));
    free(b);
    if (nb_program_load(q, path) != 0)
        fail_msg("load: %s", nb_program_error(q));
    assert_int_equal(nb_program_get_param(q, good[0], &got[0], 4), 0);
    assert_int_equal(nb_program_get_param(q, good[1], &got[1], 4), 0);
    assert_memory_equal(got, v, sizeof v);
    /* The same names written with \u escapes (and a surrogate pair) by another writer. */
    const char *json =
        "{\"poids \\u00e9t\\u00E9 \\u2207 \\ud83d\\ude00\":{\"dtype\":\"F32\","
        "\"shape\":[],\"data_offsets\":[0,4]},\"tab\\u0009here\\u0001\\u001f\\u007f\":"
        "{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[4,8]}}";
    float w[2] = {7.0f, 8.0f};
    write_st_len(path, strlen(json), json, w, sizeof w);
    if (nb_program_load(q, path) != 0)
        fail_msg("load: %s", nb_program_error(q));
    assert_int_equal(nb_program_get_param(q, good[0], &got[0], 4), 0);
    assert_int_equal(nb_program_get_param(q, good[1], &got[1], 4), 0);
    assert_memory_equal(got, w, sizeof w);
    nb_program_free(p);
    nb_program_free(q);
    free(path);
    remove_dir(dir);
}

/* ---- file modes and temporary files ----------------------------------------------- */

static unsigned mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (unsigned)(st.st_mode & 07777);
}

/* Saving over a checkpoint keeps its mode; a new checkpoint gets 0666 less the umask. */
static void test_save_keeps_mode(void **state)
{
    (void)state;
    char *dir = tu_make_dir("nabla-ckpt"), *path = tu_join(dir, "c.safetensors");
    nb_program *p = small_program();
    mode_t mask = umask(027);
    assert_int_equal(nb_program_save(p, path), 0);
    assert_int_equal(mode_of(path), 0640);
    umask(022);
    static const unsigned modes[] = {0600, 0640, 0444, 0755, 0604};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        assert_int_equal(chmod(path, modes[i]), 0);
        if (nb_program_save(p, path) != 0)
            fail_msg("save: %s", nb_program_error(p));
        assert_int_equal(mode_of(path), modes[i]);
    }
    umask(mask);
    char names[1024];
    list_dir(dir, names, sizeof names);
    assert_string_equal(names, "c.safetensors");
    nb_program_free(p);
    free(path);
    remove_dir(dir);
}

static void touch(const char *path)
{
    tu_write_file(path, "partial", 7);
}

/* A save removes the temporaries that killed saves of the same checkpoint left: regular
 * files of ours that nobody holds locked. It leaves alone a temporary a live writer
 * holds locked, symbolic links (and what they point to), and other names. */
static void test_save_removes_stale_temporaries(void **state)
{
    (void)state;
    char *dir = tu_make_dir("nabla-ckpt"), *path = tu_join(dir, "c.safetensors");
    char *stale1 = tu_join(dir, ".c.safetensors.tmp-a1B2c3"),
         *stale2 = tu_join(dir, ".c.safetensors.tmp-ZZZZZZ");
    char *live = tu_join(dir, ".c.safetensors.tmp-live00"),
         *link = tu_join(dir, ".c.safetensors.tmp-link00");
    char *target = tu_join(dir, "target"), *other = tu_join(dir, ".d.safetensors.tmp-a1B2c3");
    char *odd = tu_join(dir, ".c.safetensors.tmp-a1B2c"),
         *odd2 = tu_join(dir, ".c.safetensors.tmp-a1B2c-");
    touch(stale1);
    touch(stale2);
    touch(live);
    touch(target);
    touch(other);
    touch(odd);
    touch(odd2);
    assert_int_equal(symlink("target", link), 0);
    int fd = open(live, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);

    nb_program *p = small_program();
    if (nb_program_save(p, path) != 0)
        fail_msg("save: %s", nb_program_error(p));
    char names[1024];
    list_dir(dir, names, sizeof names);
    assert_string_equal(names, ".c.safetensors.tmp-a1B2c .c.safetensors.tmp-a1B2c- "
                               ".c.safetensors.tmp-link00 .c.safetensors.tmp-live00 "
                               ".d.safetensors.tmp-a1B2c3 c.safetensors target");
    size_t n;
    unsigned char *b = tu_read_file(target, &n);
    assert_int_equal(n, 7);
    free(b);
    /* Once its writer is gone (the lock released), the temporary is stale too. */
    close(fd);
    assert_int_equal(nb_program_save(p, path), 0);
    list_dir(dir, names, sizeof names);
    assert_string_equal(names, ".c.safetensors.tmp-a1B2c .c.safetensors.tmp-a1B2c- "
                               ".c.safetensors.tmp-link00 .d.safetensors.tmp-a1B2c3 "
                               "c.safetensors target");
    nb_program_free(p);
    char *all[] = {stale1, stale2, live, link, target, other, odd, odd2, path};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free(all[i]);
    remove_dir(dir);
}

/* Saves killed at random moments (SIGKILL) leave at most their temporary, which the
 * next save removes; the checkpoint is always whole. */
static void test_killed_saves(void **state)
{
    (void)state;
    char *dir = tu_make_dir("nabla-ckpt"), *path = tu_join(dir, "c.safetensors");
    static const int64_t big[] = {256, 1024};
    nb_graph *g = nb_graph_new();
    nb_node *w = nb_param(g, "w", NB_F32, 2, big);
    nb_program *p = compile_outputs(g, &w, 1);
    nb_graph_free(g);
    assert_int_equal(nb_program_save(p, path), 0);
    int left = 0;
    for (int k = 0; k < 12; k++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            for (;;)
                nb_program_save(p, path);
        }
        struct timespec pause = {0, (2000 + 1500 * k) * 1000L};
        nanosleep(&pause, NULL);
        kill(pid, SIGKILL);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        char names[1024];
        list_dir(dir, names, sizeof names);
        left += strcmp(names, "c.safetensors") != 0;
        if (nb_program_load(p, path) != 0)
            fail_msg("load after a killed save: %s", nb_program_error(p));
    }
    print_message("%d of 12 killed saves left a temporary behind\n", left);
    assert_int_equal(nb_program_save(p, path), 0);
    char names[1024];
    list_dir(dir, names, sizeof names);
    assert_string_equal(names, "c.safetensors");
    nb_program_free(p);
    free(path);
    remove_dir(dir);
}

/* ---- allocation failures ----------------------------------------------------------- */

/* Every allocation of a save and of a load fails in turn: each failure is reported as
 * out of memory (never as a bad header, never with a stale errno such as "Success"),
 * the checkpoint is either the old file or the new one, and the parameters change only
 * when the load succeeds. */
static void test_checkpoint_out_of_memory(void **state)
{
    (void)state;
    char *dir = tu_make_dir("nabla-ckpt"), *path = tu_join(dir, "c.safetensors");
    nb_program *p = small_program();
    assert_int_equal(nb_program_save(p, path), 0);
    size_t n_old;
    unsigned char *old = tu_read_file(path, &n_old);
    /* The program now differs from the file, so a failed save that wrote anyway, or a
     * failed load that copied anyway, shows. */
    const float other_a[6] = {-1, -2, -3, -4, -5, -6};
    const double other_b = -7.5;
    assert_int_equal(nb_program_set_param(p, "a", other_a, sizeof other_a), 0);
    assert_int_equal(nb_program_set_param(p, "b", &other_b, sizeof other_b), 0);
    long saved_at = 0;
    for (long k = 1; !saved_at && k < 1000; k++) {
        ir_alloc_fail_from(k);
        int rc = nb_program_save(p, path);
        ir_alloc_fail_from(0);
        if (rc == 0) {
            saved_at = k;
            break;
        }
        assert_error_has(p, "out of memory");
        if (strstr(nb_program_error(p), "Success"))
            fail_msg("allocation %ld: %s", k, nb_program_error(p));
        assert_file_is(path, old, n_old);
        char names[1024];
        list_dir(dir, names, sizeof names);
        assert_string_equal(names, "c.safetensors");
    }
    assert_true(saved_at > 1); /* some allocation was failed before one save succeeded */
    /* Back to the old values; the file holds the other ones. */
    assert_int_equal(nb_program_set_param(p, "a", small_a, sizeof small_a), 0);
    assert_int_equal(nb_program_set_param(p, "b", &small_b, sizeof small_b), 0);
    long loaded_at = 0;
    for (long k = 1; k < 1000; k++) {
        ir_alloc_fail_from(k);
        int rc = nb_program_load(p, path);
        ir_alloc_fail_from(0);
        if (rc == 0) {
            loaded_at = k;
            break;
        }
        assert_error_has(p, "out of memory");
        assert_small_untouched(p);
    }
    assert_true(loaded_at > 1);
    float a[6];
    double b;
    assert_int_equal(nb_program_get_param(p, "a", a, sizeof a), 0);
    assert_int_equal(nb_program_get_param(p, "b", &b, sizeof b), 0);
    assert_memory_equal(a, other_a, sizeof a);
    assert_memory_equal(&b, &other_b, sizeof b);
    free(old);
    nb_program_free(p);
    free(path);
    remove_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_load_foreign_file),
        cmocka_unit_test(test_round_trip_bit_exact),
        cmocka_unit_test(test_resume_training),
        cmocka_unit_test(test_grad_buffers_must_match),
        cmocka_unit_test(test_corrupt_headers),
        cmocka_unit_test(test_corrupt_lengths),
        cmocka_unit_test(test_corrupt_bool),
        cmocka_unit_test(test_save_replaces),
        cmocka_unit_test(test_save_failures),
        cmocka_unit_test(test_reserved_name),
        cmocka_unit_test(test_huge_shape_array),
        cmocka_unit_test(test_names_utf8),
        cmocka_unit_test(test_save_keeps_mode),
        cmocka_unit_test(test_save_removes_stale_temporaries),
        cmocka_unit_test(test_killed_saves),
        cmocka_unit_test(test_checkpoint_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
