/* test_alloc_fail.c — SQLite's allocation-failure discipline. Scenarios — an MLP
 * (built, differentiated and given Adam, compiled with libtcc, initialized, bound,
 * run, saved and loaded, exported; IDX files read; batches drawn; public error paths), a
 * "wide" graph of the other ops with gradient buffers, SGD and a program sharing state,
 * and nb_gradcheck on an f32 graph — each run once to count their allocations, then once per
 * allocation k with the k-th failing: "persistent" (every later one fails too) and "transient"
 * (only the k-th). Each run must crash nowhere, leak nothing, and either end in an error that says
 * "out of memory" or, when the library recovers, give exactly the clean run's results.
 *
 * The test is linked with --wrap for malloc, calloc, realloc, aligned_alloc and free,
 * which reroutes those calls made by statically linked code (the library, libtcc, this
 * file) through the wrappers below. They keep the set of live blocks, so each run is
 * checked for leaks on its own, and they tell libtcc's allocations apart (libtcc's
 * entry points are wrapped too): libtcc calls exit(1) when one of its allocations
 * fails, so those are never failed, only counted. Shared libraries (libc, zlib, cJSON)
 * allocate on their own: neither failed nor tracked per run, but LeakSanitizer
 * (-fsanitize=leak, or ASan's in the sanitizer build) checks the whole process at exit,
 * them included. docs/memory.md tells how to look at one
 * failure point alone. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libtcc.h>
#include <zlib.h>

#include "cg.h"
#include "ir.h"
#include "nabla.h"
#include "nabla_onnx.h"
#include "rt.h"
#include "tmpdir.h"

/* ---- the wrapped allocator: live blocks and libtcc's share ------------------------ */

void *__real_malloc(size_t size);
void *__real_calloc(size_t count, size_t size);
void *__real_realloc(void *p, size_t size);
void *__real_aligned_alloc(size_t align, size_t size);
void __real_free(void *p);

#define LIVE_SLOTS (1u << 18) /* open addressing; far above the scenario's peak */
#define LIVE_TOMB ((uintptr_t)1)

/* Blocks are kept complemented, so that this table does not make a leaked block
 * reachable in LeakSanitizer's eyes. */
static uintptr_t live[LIVE_SLOTS], live_scratch[LIVE_SLOTS];
static long live_count, live_tombs;
static int live_overflow;
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;

/* Depth of libtcc entry points on this thread: allocations made inside are libtcc's. */
static _Thread_local int in_tcc;
/* Allocation calls seen by the wrappers, inside libtcc and outside it. */
static long tcc_allocs, other_allocs;

static size_t live_hash(const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return (size_t)x & (LIVE_SLOTS - 1);
}

/* Puts a complemented block in the table; the lock is held. */
static int live_put(uintptr_t v)
{
    size_t i = live_hash((void *)~v);
    for (size_t n = 0; n < LIVE_SLOTS; n++, i = (i + 1) & (LIVE_SLOTS - 1))
        if (!live[i] || live[i] == LIVE_TOMB) {
            live_tombs -= live[i] == LIVE_TOMB;
            live[i] = v;
            return 0;
        }
    return -1;
}

/* Rebuilds the table without its tombstones, which otherwise pile up over thousands of
 * runs until every miss scans the whole table. The lock is held. */
static void live_rehash(void)
{
    size_t n = 0;
    for (size_t i = 0; i < LIVE_SLOTS; i++)
        if (live[i] && live[i] != LIVE_TOMB)
            live_scratch[n++] = live[i];
    memset(live, 0, sizeof live);
    live_tombs = 0;
    for (size_t i = 0; i < n; i++)
        live_put(live_scratch[i]);
}

static void live_add(void *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&live_lock);
    if (live_tombs > LIVE_SLOTS / 4)
        live_rehash();
    if (live_put(~(uintptr_t)p) == 0)
        live_count++;
    else
        live_overflow = 1;
    pthread_mutex_unlock(&live_lock);
}

/* Forgets p when it is a tracked block (memory from an unwrapped allocator, such as
 * libc's own, is not). */
static void live_remove(void *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&live_lock);
    size_t i = live_hash(p);
    for (size_t n = 0; n < LIVE_SLOTS && live[i]; n++, i = (i + 1) & (LIVE_SLOTS - 1))
        if (live[i] == ~(uintptr_t)p) {
            live[i] = LIVE_TOMB;
            live_tombs++;
            live_count--;
            break;
        }
    pthread_mutex_unlock(&live_lock);
}

static void count_call(void)
{
    pthread_mutex_lock(&live_lock);
    if (in_tcc)
        tcc_allocs++;
    else
        other_allocs++;
    pthread_mutex_unlock(&live_lock);
}

void *__wrap_malloc(size_t size)
{
    count_call();
    void *p = __real_malloc(size);
    live_add(p);
    return p;
}

void *__wrap_calloc(size_t count, size_t size)
{
    count_call();
    void *p = __real_calloc(count, size);
    live_add(p);
    return p;
}

void *__wrap_realloc(void *old, size_t size)
{
    count_call();
    void *p = __real_realloc(old, size);
    if (p || size == 0) {
        live_remove(old);
        live_add(p);
    }
    return p;
}

void *__wrap_aligned_alloc(size_t align, size_t size)
{
    count_call();
    void *p = __real_aligned_alloc(align, size);
    live_add(p);
    return p;
}

void __wrap_free(void *p)
{
    live_remove(p);
    __real_free(p);
}

/* The libtcc entry points (those rt_tcc.c calls and a few more it might), each marking
 * the allocations made inside as libtcc's. */
#define TCC_WRAP(ret, name, params, args)                                                          \
    ret __real_##name params;                                                                      \
    ret __wrap_##name params                                                                       \
    {                                                                                              \
        in_tcc++;                                                                                  \
        ret r = __real_##name args;                                                                \
        in_tcc--;                                                                                  \
        return r;                                                                                  \
    }
#define TCC_WRAP_VOID(name, params, args)                                                          \
    void __real_##name params;                                                                     \
    void __wrap_##name params                                                                      \
    {                                                                                              \
        in_tcc++;                                                                                  \
        __real_##name args;                                                                        \
        in_tcc--;                                                                                  \
    }

TCC_WRAP(TCCState *, tcc_new, (void), ())
TCC_WRAP_VOID(tcc_delete, (TCCState * s), (s))
TCC_WRAP_VOID(tcc_set_lib_path, (TCCState * s, const char *path), (s, path))
TCC_WRAP_VOID(tcc_set_error_func, (TCCState * s, void *opaque, TCCErrorFunc fn), (s, opaque, fn))
TCC_WRAP_VOID(tcc_set_options, (TCCState * s, const char *str), (s, str))
TCC_WRAP_VOID(tcc_define_symbol, (TCCState * s, const char *sym, const char *value),
              (s, sym, value))
TCC_WRAP(int, tcc_add_include_path, (TCCState * s, const char *path), (s, path))
TCC_WRAP(int, tcc_add_sysinclude_path, (TCCState * s, const char *path), (s, path))
TCC_WRAP(int, tcc_compile_string, (TCCState * s, const char *buf), (s, buf))
TCC_WRAP(int, tcc_set_output_type, (TCCState * s, int type), (s, type))
TCC_WRAP(int, tcc_add_library_path, (TCCState * s, const char *path), (s, path))
TCC_WRAP(int, tcc_add_library, (TCCState * s, const char *name), (s, name))
TCC_WRAP(int, tcc_add_symbol, (TCCState * s, const char *name, const void *val), (s, name, val))
TCC_WRAP(int, tcc_relocate, (TCCState * s, void *ptr), (s, ptr))
TCC_WRAP(void *, tcc_get_symbol, (TCCState * s, const char *name), (s, name))

/* ---- the scenario -------------------------------------------------------------- */

#define N_PARAMS 3
#define WIDE_RESULTS 16
#define IMG_N 6
#define IMG_PIXELS 4
#define N_BATCH_DRAWS 3
#define BATCH 4

/* What one run of the scenario did: the first error it met, or its results. */
typedef struct outcome {
    int failed;
    char step[64];  /* the call that reported the error */
    char msg[1200]; /* its message */
    float loss[4];  /* runs 1, 2, 3, and the run after loading the checkpoint */
    float probs[12];
    float w1[15];
    float images[IMG_N * IMG_PIXELS];
    int32_t labels[IMG_N];
    int32_t npy[3]; /* the .npy file's int64 values, read as i32 */
    int64_t batches[N_BATCH_DRAWS][BATCH];
    int64_t batch_counts[N_BATCH_DRAWS];
    float wide[WIDE_RESULTS]; /* the wide scenario's losses and outputs */
    /* The non-strict loads: loaded, missing, unexpected of the file with an extra
     * tensor, then of the parameters-only file; the first missing and unexpected names. */
    int report[6];
    char report_names[3][32];
} outcome;

static char dir[256], source_path[300], ckpt_path[300], missing_path[300], images_path[300],
    labels_path[300], params_path[300], extra_path[300], npy_path[300];

static int fail_at(outcome *o, const char *step, const char *msg)
{
    o->failed = 1;
    snprintf(o->step, sizeof o->step, "%s", step);
    snprintf(o->msg, sizeof o->msg, "%s", msg ? msg : "(no message)");
    return -1;
}

/* "out of memory", or libc's words for ENOMEM where a message quotes strerror. */
static int is_oom(const char *msg)
{
    return strstr(msg, "out of memory") != NULL || strstr(msg, strerror(ENOMEM)) != NULL;
}

/* A public error path: the call must report `expected` (or, when memory runs out on the
 * way, out of memory); any other message fails the test. */
static int expect_error(outcome *o, const char *step, const char *got, const char *expected)
{
    if (got && strstr(got, expected))
        return 0;
    if (got && is_oom(got))
        return fail_at(o, step, got);
    fail_msg("%s: expected an error containing \"%s\", got \"%s\"", step, expected,
             got ? got : "(none)");
    return -1;
}

/* The graph text format: g (inputs "a" f32[2,3] and "b" f32[4]) written with an output
 * and a value, parsed, and the parsed graph written again to the same text. */
static int graph_text_round_trip(outcome *o, nb_graph *g)
{
    char err[256] = "";
    if (nb_graph_error(g) || nb_graph_node_count(g) == 0)
        return 0; /* out of memory already: the next step reports it */
    nb_node *a = g->nodes[0];
    double v[6] = {1, 2, 3, 4, 5, 6};
    nb_graph_extras x = {&a, 1, NULL, 0, (nb_leaf_value[]){{a, v}}, 1}, px;
    char *text = nb_graph_write(g, &x), *again = NULL;
    if (!text)
        return fail_at(o, "nb_graph_write", "out of memory");
    nb_graph *h = nb_graph_parse(text, strlen(text), &px, err, sizeof err);
    if (!h) {
        free(text);
        return fail_at(o, "nb_graph_parse", err);
    }
    again = nb_graph_write(h, &px);
    int rc = again ? 0 : fail_at(o, "nb_graph_write (parsed)", "out of memory");
    if (again && strcmp(text, again) != 0)
        fail_msg("the parsed graph writes another text:\n%s---\n%s", text, again);
    free(again);
    free(text);
    nb_graph_extras_free(&px);
    nb_graph_free(h);
    return rc;
}

/* A scratch graph with a shape error: the message names the shapes. */
static int error_paths_graph(outcome *o)
{
    nb_graph *g = nb_graph_new();
    if (!g)
        return fail_at(o, "nb_graph_new (scratch)", "out of memory");
    int64_t s23[] = {2, 3}, s4[] = {4};
    nb_node *a = nb_input(g, "a", NB_F32, 2, s23);
    nb_node *b = nb_input(g, "b", NB_F32, 1, s4);
    /* Printed before the error: a printer of the big graph would cost the loop more. */
    char *text = nb_graph_print(g);
    if (!text) {
        nb_graph_free(g);
        return fail_at(o, "nb_graph_print", "out of memory");
    }
    free(text);
    if (graph_text_round_trip(o, g) != 0) {
        nb_graph_free(g);
        return -1;
    }
    nb_node *c = nb_add(g, a, b);
    int rc =
        c ? -1 : expect_error(o, "nb_add (shape error)", nb_graph_error(g), "cannot broadcast");
    if (c)
        fail_msg("nb_add of f32[2,3] and f32[4] succeeded");
    nb_graph_free(g);
    return rc;
}

/* The MLP, its gradients and Adam, compiled; NULL with the error in o. */
static nb_program *build(outcome *o, nb_backend backend)
{
    nb_program *p = NULL;
    nb_graph *g = nb_graph_new();
    if (!g) {
        fail_at(o, "nb_graph_new", "out of memory");
        return NULL;
    }
    /* Small on purpose: the loop runs it twice per allocation. One bias is enough to
     * cover the broadcast add and its gradient. */
    int64_t sx[] = {4, 3}, sy[] = {4}, sw1[] = {3, 5}, sb1[] = {5}, sw2[] = {5, 3};
    nb_node *x = nb_input(g, "x", NB_F32, 2, sx);
    nb_node *y = nb_input(g, "y", NB_I32, 1, sy);
    nb_node *lr = nb_input(g, "lr", NB_F32, 0, NULL);
    nb_node *params[N_PARAMS] = {nb_param(g, "w1", NB_F32, 2, sw1),
                                 nb_param(g, "b1", NB_F32, 1, sb1),
                                 nb_param(g, "w2", NB_F32, 2, sw2)};
    nb_node *h = nb_relu(g, nb_add(g, nb_matmul(g, x, params[0]), params[1]));
    nb_node *logits = nb_matmul(g, h, params[2]);
    nb_node *probs = nb_softmax(g, logits, -1);
    nb_node *loss = nb_name(g, nb_cross_entropy(g, logits, y, NB_REDUCTION_MEAN), "loss");
    nb_node *grads[N_PARAMS];
    if (nb_grad(g, loss, params, N_PARAMS, grads) != 0) {
        fail_at(o, "nb_grad", nb_graph_error(g));
        goto done;
    }
    nb_update upd[N_PARAMS * NB_ADAM_UPDATES_PER_PARAM];
    int nu =
        nb_adam(g, lr, params, grads, N_PARAMS, NULL, upd, N_PARAMS * NB_ADAM_UPDATES_PER_PARAM);
    if (nu < 0) {
        fail_at(o, "nb_adam", nb_graph_error(g));
        goto done;
    }
    nb_node *outs[] = {loss, probs};
    nb_compile_options opt = {.outputs = outs,
                              .n_outputs = 2,
                              .updates = upd,
                              .n_updates = nu,
                              .backend = backend,
                              .keep_plan = 1,
                              .threads = 2,
                              .exportable = 1};
    p = nb_compile(g, &opt);
    if (!p)
        fail_at(o, "nb_compile", nb_graph_error(g));
done:
    nb_graph_free(g);
    return p;
}

static int run_once(nb_program *p, outcome *o, float *loss)
{
    if (nb_program_run(p) != 0)
        return fail_at(o, "nb_program_run", nb_program_error(p));
    *loss = *(const float *)nb_program_output(p, 0);
    return 0;
}

/* Saves the parameters only, then loads non-strictly a file of w1 and a tensor the
 * program does not have, and the parameters-only file. */
static int partial_loads(nb_program *p, outcome *o)
{
    if (nb_program_save_params(p, params_path) != 0)
        return fail_at(o, "nb_program_save_params", nb_program_error(p));
    nb_load_report r;
    if (nb_program_load_ex(p, extra_path, 0, &r) != 0)
        return fail_at(o, "nb_program_load_ex (extra)", nb_program_error(p));
    o->report[0] = r.n_loaded;
    o->report[1] = r.n_missing;
    o->report[2] = r.n_unexpected;
    snprintf(o->report_names[0], sizeof o->report_names[0], "%s", r.n_missing ? r.missing[0] : "");
    snprintf(o->report_names[1], sizeof o->report_names[1], "%s",
             r.n_unexpected ? r.unexpected[0] : "");
    if (nb_program_load_ex(p, params_path, 0, &r) != 0)
        return fail_at(o, "nb_program_load_ex (params)", nb_program_error(p));
    o->report[3] = r.n_loaded;
    o->report[4] = r.n_missing;
    o->report[5] = r.n_unexpected;
    snprintf(o->report_names[2], sizeof o->report_names[2], "%s", r.n_missing ? r.missing[0] : "");
    return 0;
}

/* Initializes, binds, trains three steps with a save after the second, loads the save
 * back and runs once more, plus the program's error paths. */
static int train(nb_program *p, outcome *o)
{
    static const float x[12] = {0.5f,  -1.0f, 2.0f, 1.5f, 0.25f, -0.75f,
                                -2.0f, 1.0f,  0.5f, 0.0f, -0.5f, 1.25f};
    static const int32_t y[4] = {2, 0, 1, 2};
    static const float lr = 0.01f;
    if (nb_program_init_linear(p, "w1", "b1", 7) != 0 ||
        nb_program_init_linear(p, "w2", NULL, 8) != 0)
        return fail_at(o, "nb_program_init_linear", nb_program_error(p));
    if (nb_program_bind(p, "x", x) != 0 || nb_program_bind(p, "y", y) != 0 ||
        nb_program_bind(p, "lr", &lr) != 0)
        return fail_at(o, "nb_program_bind", nb_program_error(p));
    if (nb_program_bind(p, "nope", x) == 0)
        fail_msg("binding an unknown input succeeded");
    if (expect_error(o, "nb_program_bind (unknown)", nb_program_error(p), "no input named 'nope'"))
        return -1;
    if (run_once(p, o, &o->loss[0]) != 0 || run_once(p, o, &o->loss[1]) != 0)
        return -1;
    memcpy(o->probs, nb_program_output(p, 1), sizeof o->probs);
    if (nb_program_save(p, ckpt_path) != 0)
        return fail_at(o, "nb_program_save", nb_program_error(p));
    if (run_once(p, o, &o->loss[2]) != 0)
        return -1;
    if (nb_program_load(p, ckpt_path) != 0)
        return fail_at(o, "nb_program_load", nb_program_error(p));
    if (run_once(p, o, &o->loss[3]) != 0)
        return -1;
    if (nb_program_load(p, missing_path) == 0)
        fail_msg("loading a missing file succeeded");
    if (expect_error(o, "nb_program_load (missing)", nb_program_error(p), "cannot open it"))
        return -1;
    if (nb_program_get_param(p, "w1", o->w1, sizeof o->w1) != 0)
        return fail_at(o, "nb_program_get_param", nb_program_error(p));
    nb_export_options eo = {.prefix = "mlp", .dir = dir};
    if (nb_program_export(p, &eo) != 0)
        return fail_at(o, "nb_program_export", nb_program_error(p));
    return partial_loads(p, o);
}

/* Reads the images (gzip) and labels (plain) files and converts them. */
static int read_data(outcome *o)
{
    char err[512] = "";
    nb_idx img, lab;
    int rc = -1;
    float *f = NULL;
    int32_t *l = NULL;
    int64_t n, d;
    if (nb_idx_read(images_path, &img, err, sizeof err) != 0)
        return fail_at(o, "nb_idx_read (images)", err);
    if (nb_idx_read(labels_path, &lab, err, sizeof err) != 0) {
        fail_at(o, "nb_idx_read (labels)", err);
        goto done;
    }
    if (!(f = nb_idx_images_f32(&img, &n, &d, err, sizeof err))) {
        fail_at(o, "nb_idx_images_f32", err);
        goto done;
    }
    if (!(l = nb_idx_labels_i32(&lab, &n, err, sizeof err))) {
        fail_at(o, "nb_idx_labels_i32", err);
        goto done;
    }
    memcpy(o->images, f, sizeof o->images);
    memcpy(o->labels, l, sizeof o->labels);
    nb_npy v;
    if (nb_npy_read(npy_path, &v, err, sizeof err) != 0) {
        fail_at(o, "nb_npy_read", err);
        goto done;
    }
    if (v.dtype != NB_I32 || v.nbytes != sizeof o->npy)
        fail_msg("nb_npy_read: i32[3] expected");
    memcpy(o->npy, v.data, sizeof o->npy);
    nb_npy_free(&v);
    rc = 0;
done:
    free(f);
    free(l);
    nb_idx_free(&img);
    nb_idx_free(&lab);
    return rc;
}

static int draw_batches(outcome *o)
{
    nb_batcher *b = nb_batcher_new(IMG_N, BATCH, 11, NB_BATCH_SHUFFLE);
    if (!b)
        return fail_at(o, "nb_batcher_new", "out of memory");
    for (int i = 0; i < N_BATCH_DRAWS; i++) {
        const int64_t *idx;
        int64_t count;
        if (nb_batcher_next(b, &idx, &count) < 0)
            fail_msg("nb_batcher_next failed");
        o->batch_counts[i] = count;
        if (count > 0) /* 0 ends the epoch, with no indices */
            memcpy(o->batches[i], idx, (size_t)count * sizeof *idx);
    }
    nb_batcher_free(b);
    return 0;
}

static void scenario(outcome *o)
{
    memset(o, 0, sizeof *o);
    if (error_paths_graph(o) != 0)
        return;
    nb_program *p = build(o, NB_BACKEND_TCC);
    if (!p)
        return;
    int rc = train(p, o);
    nb_program_free(p);
    if (rc == 0 && read_data(o) == 0)
        draw_batches(o);
}

/* The MLP on NB_BACKEND_AUTO: compiled by libtcc, then cc's build is waited for, so
 * that its thread has ended before the next allocation is counted (it makes none
 * through ir_alloc: the compiler is a process of its own), and trained on cc's code. */
static void scenario_tiered(outcome *o)
{
    memset(o, 0, sizeof *o);
    char cache[sizeof dir + 16];
    snprintf(cache, sizeof cache, "%s/cache", dir);
    setenv("NABLA_CACHE_DIR", cache, 1);
    nb_program *p = build(o, NB_BACKEND_AUTO);
    if (!p)
        return;
    if (nb_program_wait_tier(p) != NB_BACKEND_CC)
        fail_at(o, "nb_program_wait_tier", nb_program_tier_error(p));
    else
        train(p, o);
    nb_program_free(p);
}

/* The wide scenario: ops, planners and emitters the MLP does not reach (transpose read
 * by a matmul, concat, strided slice, reshape, gather, one_hot, where, comparisons,
 * clamp, reductions, permute, mse, bce_with_logits), gradient buffers and SGD with
 * momentum, and a second program sharing the first one's state. */
static nb_program *compile_or_fail(nb_graph *g, outcome *o, const char *step,
                                   const nb_compile_options *opt)
{
    nb_program *p = nb_compile(g, opt);
    if (!p)
        fail_at(o, step, nb_graph_error(g));
    return p;
}

static int wide_run(nb_program *p, outcome *o, int at, int n)
{
    if (nb_program_run(p) != 0)
        return fail_at(o, "nb_program_run (wide)", nb_program_error(p));
    memcpy(o->wide + at, nb_program_output(p, 0), (size_t)n * sizeof(float));
    return 0;
}

static void scenario_wide(outcome *o)
{
    static const float x[6] = {0.5f, -1.0f, 2.0f, 1.5f, 0.25f, -0.75f};
    static const int32_t idx[2] = {2, 0};
    static const float lr = 0.1f;
    nb_program *p = NULL, *q = NULL;
    memset(o, 0, sizeof *o);
    nb_graph *g = nb_graph_new();
    if (!g) {
        fail_at(o, "nb_graph_new (wide)", "out of memory");
        return;
    }
    int64_t sx[] = {2, 3}, sw[] = {3, 3}, si[] = {2}, rs[] = {2, 3};
    int64_t start[] = {1, 0}, stop[] = {4, 3}, step[] = {1, 2};
    int ax1 = 1, swap[] = {1, 0};
    nb_node *in = nb_input(g, "x", NB_F32, 2, sx);
    nb_node *ix = nb_input(g, "idx", NB_I32, 1, si);
    nb_node *rate = nb_input(g, "lr", NB_F32, 0, NULL);
    nb_node *w = nb_param(g, "w", NB_F32, 2, sw);
    nb_node *h = nb_tanh(g, nb_matmul(g, in, nb_transpose(g, w)));
    nb_node *parts[] = {h, nb_sigmoid(g, in)};
    nb_node *r = nb_reshape(g, nb_slice(g, nb_concat(g, parts, 2, 0), start, stop, step), 2, rs);
    nb_node *rows = nb_gather(g, w, ix);
    nb_node *m = nb_where(g, nb_gt(g, r, rows), nb_exp(g, r), nb_clamp(g, rows, -0.5, 0.5));
    nb_node *red = nb_add(g, nb_logsumexp(g, m, &ax1, 1, 0), nb_max(g, nb_gelu(g, m), &ax1, 1, 0));
    nb_node *hot = nb_one_hot(g, ix, 3, NB_F32);
    nb_node *back = nb_permute(g, nb_permute(g, m, swap, 2), swap, 2);
    nb_node *loss = nb_add(g, nb_mean(g, red, NULL, 0, 0),
                           nb_add(g, nb_mse(g, m, hot, NB_REDUCTION_MEAN),
                                  nb_bce_with_logits(g, back, hot, NB_REDUCTION_MEAN)));
    /* Layer and batch norm (norm_stats, normalize, norm_grad), and a gradient of a
     * gradient through them (norm_grad's rule runs autodiff inside itself). */
    nb_node *ln = nb_layer_norm(g, m, 1, NULL, NULL, 1e-5);
    nb_node *bn = nb_batch_norm(g, m, NULL, NULL, NULL, NULL, 1, 0.1, 1e-5, NULL, NULL);
    loss = nb_add(g, loss, nb_mean(g, nb_mul(g, ln, bn), NULL, 0, 0));
    nb_node *gw, *buf, *acc, *gn, *gg;
    if (nb_grad(g, nb_sum(g, nb_mul(g, ln, ln), NULL, 0, 0), &w, 1, &gn) != 0 ||
        nb_grad(g, nb_sum(g, nb_mul(g, gn, gn), NULL, 0, 0), &w, 1, &gg) != 0) {
        fail_at(o, "nb_grad (second order through the norms)", nb_graph_error(g));
        goto done;
    }
    nb_update upd[1 + NB_SGD_UPDATES_PER_PARAM];
    nb_sgd_options so = {0.9, 0, 0, 0, 0};
    int nu;
    if (nb_grad(g, loss, &w, 1, &gw) != 0 || nb_grad_buffers(g, &w, &gw, 1, &buf, &acc) != 0 ||
        (nu = nb_sgd(g, rate, &w, &acc, 1, &so, upd + 1, NB_SGD_UPDATES_PER_PARAM)) < 0) {
        fail_at(o, "nb_grad, nb_grad_buffers or nb_sgd", nb_graph_error(g));
        goto done;
    }
    upd[0] = (nb_update){buf, acc};
    nb_node *outs_p[] = {loss, m}, *outs_q[] = {red};
    nb_compile_options op = {
        .outputs = outs_p, .n_outputs = 2, .updates = upd, .n_updates = 1 + nu, .threads = 1};
    if (!(p = compile_or_fail(g, o, "nb_compile (wide)", &op)))
        goto done;
    nb_compile_options oq = {.outputs = outs_q, .n_outputs = 1, .share_state = p, .threads = 1};
    if (!(q = compile_or_fail(g, o, "nb_compile (shared state)", &oq)))
        goto done;
    nb_graph_free(g);
    g = NULL;
    nb_init init = nb_init_uniform(-1, 1, 5);
    if (nb_program_init_param(p, "w", &init) != 0) {
        fail_at(o, "nb_program_init_param", nb_program_error(p));
        goto done;
    }
    if (nb_program_bind(p, "x", x) != 0 || nb_program_bind(p, "idx", idx) != 0 ||
        nb_program_bind(p, "lr", &lr) != 0 || nb_program_bind(q, "x", x) != 0 ||
        nb_program_bind(q, "idx", idx) != 0) {
        fail_at(o, "nb_program_bind (wide)", nb_program_error(p));
        goto done;
    }
    if (wide_run(p, o, 0, 1) != 0 || wide_run(p, o, 1, 1) != 0)
        goto done;
    if (nb_program_zero_grad(p) != 0) {
        fail_at(o, "nb_program_zero_grad", nb_program_error(p));
        goto done;
    }
    if (wide_run(p, o, 2, 1) != 0 || wide_run(q, o, 3, 2) != 0)
        goto done;
    if (nb_program_write_source(p, source_path) != 0)
        fail_at(o, "nb_program_write_source", nb_program_error(p));
done:
    nb_program_free(q);
    nb_program_free(p);
    nb_graph_free(g);
}

/* ---- the loop --------------------------------------------------------------------- */

static void write_file(const char *path, const unsigned char *bytes, size_t len, int gzip)
{
    if (gzip) {
        gzFile f = gzopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(gzwrite(f, bytes, (unsigned)len), (int)len);
        assert_int_equal(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(bytes, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
    }
}

static void make_files(void)
{
    snprintf(dir, sizeof dir, "/tmp/nabla-allocfail-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(ckpt_path, sizeof ckpt_path, "%s/model.safetensors", dir);
    snprintf(source_path, sizeof source_path, "%s/wide.c", dir);
    snprintf(missing_path, sizeof missing_path, "%s/missing.safetensors", dir);
    snprintf(images_path, sizeof images_path, "%s/images.idx", dir);
    snprintf(labels_path, sizeof labels_path, "%s/labels.idx", dir);
    snprintf(params_path, sizeof params_path, "%s/params.safetensors", dir);
    snprintf(extra_path, sizeof extra_path, "%s/extra.safetensors", dir);
    snprintf(npy_path, sizeof npy_path, "%s/values.npy", dir);
    /* w1 f32[3,5] = 0.5 and a bf16[2] the program does not have. */
    static const char json[] =
        "{\"w1\":{\"dtype\":\"F32\",\"shape\":[3,5],\"data_offsets\":[0,60]},"
        "\"w1.old\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[60,64]}}";
    unsigned char st[8 + sizeof json - 1 + 64] = {sizeof json - 1}; /* < 256: one byte */
    memcpy(st + 8, json, sizeof json - 1);
    const float half = 0.5f;
    for (int i = 0; i < 15; i++)
        memcpy(st + 8 + sizeof json - 1 + 4 * i, &half, 4);
    write_file(extra_path, st, sizeof st, 0);
    /* u8 images [6, 2, 2] and u8 labels [6], IDX's big-endian header. */
    unsigned char img[4 + 12 + IMG_N * IMG_PIXELS] = {0, 0, 0x08, 3, 0, 0, 0, IMG_N,
                                                      0, 0, 0,    2, 0, 0, 0, 2};
    for (int i = 0; i < IMG_N * IMG_PIXELS; i++)
        img[16 + i] = (unsigned char)(i * 11);
    unsigned char lab[8 + IMG_N] = {0, 0, 0x08, 1, 0, 0, 0, IMG_N, 3, 1, 4, 1, 5, 9};
    write_file(images_path, img, sizeof img, 1);
    write_file(labels_path, lab, sizeof lab, 0);
    /* An int64[3] .npy file (4, -1, 7), which nb_npy_read converts to i32. */
    static const char npy_header[] = "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }";
    unsigned char npy[10 + sizeof npy_header - 1 + 24] = {
        0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, sizeof npy_header - 1, 0};
    memcpy(npy + 10, npy_header, sizeof npy_header - 1);
    const int64_t values[3] = {4, -1, 7};
    for (int i = 0; i < 24; i++) /* little-endian whatever the host */
        npy[10 + sizeof npy_header - 1 + i] =
            (unsigned char)((uint64_t)values[i / 8] >> (8 * (i % 8)));
    write_file(npy_path, npy, sizeof npy, 0);
}

/* Problems found by the loop: all are counted, the first few printed, and the test
 * fails at the end when there is any. */
#define PROBLEMS_SHOWN 40
static long problems;

static void problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void problem(const char *fmt, ...)
{
    if (problems++ < PROBLEMS_SHOWN) {
        char line[1600];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        print_error("alloc_fail: %s\n", line);
    }
}

static int same_results(const outcome *a, const outcome *b)
{
    return !memcmp(a->loss, b->loss, sizeof a->loss) &&
           !memcmp(a->probs, b->probs, sizeof a->probs) && !memcmp(a->w1, b->w1, sizeof a->w1) &&
           !memcmp(a->images, b->images, sizeof a->images) &&
           !memcmp(a->labels, b->labels, sizeof a->labels) &&
           !memcmp(a->npy, b->npy, sizeof a->npy) &&
           !memcmp(a->batches, b->batches, sizeof a->batches) &&
           !memcmp(a->batch_counts, b->batch_counts, sizeof a->batch_counts) &&
           !memcmp(a->wide, b->wide, sizeof a->wide) &&
           !memcmp(a->report, b->report, sizeof a->report) &&
           !memcmp(a->report_names, b->report_names, sizeof a->report_names);
}

/* The gradient checker: an f32 graph with a kink, widened, differentiated, compiled
 * and run at a given point; its counts and worst element are the results. */
static void scenario_gradcheck(outcome *o)
{
    static const double xs[3] = {0.5, -1.0, 0.0};
    memset(o, 0, sizeof *o);
    nb_graph *g = nb_graph_new();
    if (!g) {
        fail_at(o, "nb_graph_new (gradcheck)", "out of memory");
        return;
    }
    int64_t s3[] = {3};
    nb_node *x = nb_input(g, "x", NB_F32, 1, s3);
    nb_node *w = nb_param(g, "w", NB_F32, 1, s3);
    nb_node *y = nb_sum(g, nb_mul(g, nb_relu(g, x), nb_tanh(g, w)), NULL, 0, 0);
    nb_node *wrt[] = {x, w};
    nb_gradcheck_value v = {.leaf = x, .data = xs};
    nb_gradcheck_options opt = nb_gradcheck_default_options();
    opt.values = &v;
    opt.n_values = 1;
    nb_gradcheck_result r;
    if (nb_gradcheck(g, y, wrt, 2, &opt, &r) != 0) {
        fail_at(o, "nb_gradcheck", r.message);
    } else {
        o->wide[0] = (float)r.checked;
        o->wide[1] = (float)r.skipped;
        o->wide[2] = (float)r.analytic;
        o->wide[3] = (float)r.numeric;
    }
    nb_graph_free(g);
}

/* Pooling: max, average and adaptive (averaging matrices built by the builder) pooling,
 * their gradients and the gradients of those, compiled split over two threads. */
static void scenario_pool(outcome *o)
{
    float x[60];
    for (int i = 0; i < 60; i++)
        x[i] = (float)((i * 7) % 11) - 5.0f;
    memset(o, 0, sizeof *o);
    nb_program *p = NULL;
    nb_graph *g = nb_graph_new();
    if (!g) {
        fail_at(o, "nb_graph_new (pool)", "out of memory");
        return;
    }
    nb_node *in = nb_input(g, "x", NB_F32, 4, (const int64_t[]){1, 2, 5, 6});
    const int64_t k3[2] = {3, 3}, s2[2] = {2, 2}, p1[2] = {1, 1};
    nb_node *ys[3] = {nb_max_pool2d(g, in, k3, s2, p1, NULL, 1),
                      nb_avg_pool2d(g, in, k3, s2, p1, 1, 0, 0),
                      nb_adaptive_avg_pool2d(g, in, 3, 4)};
    nb_node *loss = nb_sum(g, nb_mul(g, ys[0], ys[0]), NULL, 0, 0);
    for (int i = 1; i < 3; i++)
        loss = nb_add(g, loss, nb_sum(g, nb_mul(g, ys[i], ys[i]), NULL, 0, 0));
    nb_node *dx, *d2x;
    if (nb_grad(g, loss, &in, 1, &dx) != 0 ||
        nb_grad(g, nb_sum(g, nb_mul(g, dx, dx), NULL, 0, 0), &in, 1, &d2x) != 0) {
        fail_at(o, "nb_grad (pool)", nb_graph_error(g));
        goto done;
    }
    nb_node *outs[] = {loss, dx, d2x};
    nb_compile_options opt = {.outputs = outs, .n_outputs = 3, .threads = 2};
    if (!(p = compile_or_fail(g, o, "nb_compile (pool)", &opt)))
        goto done;
    if (nb_program_bind(p, "x", x) != 0) {
        fail_at(o, "nb_program_bind (pool)", nb_program_error(p));
        goto done;
    }
    if (nb_program_run(p) != 0) {
        fail_at(o, "nb_program_run (pool)", nb_program_error(p));
        goto done;
    }
    o->wide[0] = *(const float *)nb_program_output(p, 0);
    memcpy(o->wide + 1, nb_program_output(p, 1), 7 * sizeof(float));
    memcpy(o->wide + 8, nb_program_output(p, 2), 8 * sizeof(float));
done:
    nb_program_free(p);
    nb_graph_free(g);
}

static void check_pool(const outcome *clean)
{
    assert_true(clean->wide[0] > 0);
    for (int i = 0; i < WIDE_RESULTS; i++)
        assert_true(isfinite(clean->wide[i]));
}

/* Convolutions: conv2d (two groups, a bias), conv_transpose2d over its result and conv1d,
 * their gradients for x and the weights, compiled and run once; the loss and gradient
 * elements are the results. */
static void scenario_conv(outcome *o)
{
    static float data[64];
    memset(o, 0, sizeof *o);
    for (int i = 0; i < 64; i++)
        data[i] = (float)((i * 7) % 13 - 6) / 8.0f;
    nb_graph *g = nb_graph_new();
    if (!g) {
        fail_at(o, "nb_graph_new (conv)", "out of memory");
        return;
    }
    int64_t xs[] = {1, 2, 4, 4}, ws[] = {2, 1, 3, 3}, wt[] = {2, 1, 2, 2}, bs[] = {2},
            x1s[] = {1, 2, 5}, w1s[] = {2, 2, 2};
    nb_node *x = nb_input(g, "x", NB_F32, 4, xs), *w = nb_input(g, "w", NB_F32, 4, ws);
    nb_node *b = nb_input(g, "b", NB_F32, 1, bs), *t = nb_input(g, "t", NB_F32, 4, wt);
    nb_node *x1 = nb_input(g, "x1", NB_F32, 3, x1s), *w1 = nb_input(g, "w1", NB_F32, 3, w1s);
    nb_conv_options og = {.groups = 2, .padding = {1, 1}}, ot = {.stride = {2, 2}};
    nb_node *y = nb_conv_transpose2d(g, nb_conv2d(g, x, w, b, &og), t, NULL, &ot);
    nb_node *y1 = nb_conv1d(g, x1, w1, NULL, NULL);
    nb_node *loss =
        nb_add(g, nb_sum(g, nb_square(g, y), NULL, 0, 0), nb_sum(g, nb_square(g, y1), NULL, 0, 0));
    nb_node *wrt[] = {x, w, t, w1}, *outs[5] = {loss};
    nb_program *p = NULL;
    if (nb_grad(g, loss, wrt, 4, outs + 1) != 0) {
        fail_at(o, "nb_grad (conv)", nb_graph_error(g));
        goto done;
    }
    nb_compile_options opt = {.outputs = outs, .n_outputs = 5, .threads = 2};
    p = nb_compile(g, &opt);
    if (!p) {
        fail_at(o, "nb_compile (conv)", nb_graph_error(g));
        goto done;
    }
    static const char *const names[] = {"x", "w", "b", "t", "x1", "w1"};
    for (int i = 0; i < 6; i++)
        if (nb_program_bind(p, names[i], data + 4 * i) != 0) {
            fail_at(o, "nb_program_bind (conv)", nb_program_error(p));
            goto done;
        }
    if (nb_program_run(p) != 0) {
        fail_at(o, "nb_program_run (conv)", nb_program_error(p));
        goto done;
    }
    for (int i = 0; i < 5 && i < WIDE_RESULTS; i++)
        o->wide[i] = *(const float *)nb_program_output(p, i);
done:
    nb_program_free(p);
    nb_graph_free(g);
}

/* The ONNX loader: a TensorProto read (nb_onnx_tensor_parse), a refused model, and the
 * MLP of tests/data/onnx/mlp.onnx (an input, two initializers as parameters, a Constant,
 * four nodes) loaded, compiled with libtcc and run. The files are read once, by libc. */
static unsigned char onnx_mlp[1024], onnx_bad[1024], onnx_tensor[256];
static size_t onnx_mlp_len, onnx_bad_len, onnx_tensor_len;

static size_t read_data_file(const char *name, unsigned char *buf, size_t size)
{
    char path[512];
    snprintf(path, sizeof path, "%s/onnx/%s", NABLA_TEST_DATA, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, size, f);
    fclose(f);
    assert_true(n > 0 && n < size);
    return n;
}

static int onnx_failed(outcome *o, const char *step, const nb_onnx_model *m, const char *err)
{
    if (m->error != NB_ONNX_ERROR_NOMEM && !is_oom(err))
        fail_msg("%s: \"%s\" (error %d), not out of memory", step, err, m->error);
    return fail_at(o, step, err);
}

static void scenario_onnx(outcome *o)
{
    static const float x[6] = {1, 2, 3, -1, 0.5f, 2};
    memset(o, 0, sizeof *o);
    char err[512] = "";
    nb_onnx_tensor t;
    if (nb_onnx_tensor_parse(onnx_tensor, onnx_tensor_len, &t, err, sizeof err) != 0) {
        fail_at(o, "nb_onnx_tensor_parse", err);
        return;
    }
    for (int i = 0; i < 6 && i < t.numel; i++)
        o->wide[i] = (float)t.data[i];
    nb_onnx_tensor_free(&t);
    nb_onnx_model m;
    nb_graph *g = nb_onnx_parse(onnx_bad, onnx_bad_len, NULL, &m, err, sizeof err);
    nb_onnx_model_free(&m);
    if (g)
        fail_msg("unsupported_op.onnx loaded");
    if (!strstr(err, "(NoSuchOp): the op is not supported")) {
        onnx_failed(o, "nb_onnx_parse (unsupported op)", &m, err);
        return;
    }
    nb_program *p = NULL;
    g = nb_onnx_parse(onnx_mlp, onnx_mlp_len, NULL, &m, err, sizeof err);
    if (!g) {
        onnx_failed(o, "nb_onnx_parse", &m, err);
        nb_onnx_model_free(&m);
        return;
    }
    nb_compile_options opt = {.outputs = m.extras.outputs, .n_outputs = m.extras.n_outputs};
    if (!(p = compile_or_fail(g, o, "nb_compile (onnx)", &opt)))
        goto done;
    for (int i = 0; i < m.extras.n_values; i++) {
        float v[12];
        nb_node *k = m.extras.values[i].node;
        int64_t n = nb_node_numel(k);
        for (int64_t j = 0; j < n && j < 12; j++)
            v[j] = (float)m.extras.values[i].data[j];
        if (nb_program_set_param(p, nb_node_name(k), v, (size_t)n * sizeof *v) != 0) {
            fail_at(o, "nb_program_set_param (onnx)", nb_program_error(p));
            goto done;
        }
    }
    if (nb_program_bind(p, "x", x) != 0 || nb_program_run(p) != 0) {
        fail_at(o, "nb_program_run (onnx)", nb_program_error(p));
        goto done;
    }
    memcpy(o->wide + 6, nb_program_output(p, 0), 8 * sizeof(float));
done:
    nb_program_free(p);
    nb_onnx_model_free(&m);
    nb_graph_free(g);
}

/* The tensor's values (make_onnx_models.py's float_raw.pb) and the MLP's outputs, by
 * hand: relu(x @ W + B) * 0.5 (test_onnx.c has the sums). */
static void check_onnx(const outcome *clean)
{
    static const float want[14] = {1.5f,  -2.0f,  0.25f, 3.0f, -0.0f,   1e-3f, 0,
                                   1.65f, 0.525f, 0,     0,    1.5875f, 0.4f,  0};
    for (int i = 0; i < 14; i++)
        assert_float_equal(clean->wide[i], want[i], 1e-6);
}

typedef void (*scenario_fn)(outcome *o);

/* Runs the scenario with allocation k failing (k = 0: none). Checks the outcome against
 * the clean run and the live blocks against those before; returns the allocations made
 * through ir_alloc, with the failed ones in *failures and libtcc's in *tcc. */
static long run_with_failure(scenario_fn scenario, long k, int persistent, const outcome *clean,
                             outcome *o, long *failures, long *tcc)
{
    const char *what = persistent ? "persistent" : "transient";
    long made0 = ir_alloc_count(), live0 = live_count, tcc0 = tcc_allocs, other0 = other_allocs;
    if (persistent)
        ir_alloc_fail_from(k);
    else
        ir_alloc_fail_once(k);
    scenario(o);
    *failures = ir_alloc_failures();
    ir_alloc_fail_from(0);
    long made = ir_alloc_count() - made0;
    *tcc = tcc_allocs - tcc0;
    const char *step = o->failed ? o->step : "-", *msg = o->failed ? o->msg : "-";
    if (live_overflow)
        fail_msg("the table of live blocks is full");
    if (live_count != live0)
        problem("%s k=%ld: %ld blocks leaked (failed at %s: %s)", what, k, live_count - live0, step,
                msg);
    /* Every allocation outside libtcc went through ir_alloc: nothing escaped the hook. */
    if (other_allocs - other0 != made - *failures)
        problem("%s k=%ld: %ld allocations bypassed ir_alloc", what, k,
                other_allocs - other0 - (made - *failures));
    if (o->failed) {
        if (!is_oom(o->msg) || strstr(o->msg, "internal error"))
            problem("%s k=%ld: %s reported \"%s\", not out of memory", what, k, step, msg);
        if (*failures == 0)
            problem("%s k=%ld: %s failed with no allocation failing: %s", what, k, step, msg);
    } else if (clean && !same_results(o, clean)) {
        problem("%s k=%ld: the run succeeded with results that differ from the clean run", what, k);
    }
    return made;
}

static void loop(scenario_fn scenario, int persistent, const outcome *clean, long from, long to,
                 long *recovered, long *tcc_sum)
{
    outcome *o = calloc(1, sizeof *o);
    assert_non_null(o);
    for (long k = from; k <= to; k++) {
        long failures, tcc;
        run_with_failure(scenario, k, persistent, clean, o, &failures, &tcc);
        if (failures == 0)
            problem("%s k=%ld: no allocation failed (the scenario is not deterministic)",
                    persistent ? "persistent" : "transient", k);
        *recovered += !o->failed;
        *tcc_sum += tcc;
    }
    free(o);
}

/* Counts the allocations of a clean run of the scenario, then fails each of them in
 * both modes; check_clean checks the clean run's own results. */
static void fail_every_allocation(const char *name, scenario_fn scenario,
                                  void (*check_clean)(const outcome *clean))
{
    make_files();
    problems = 0;
    outcome *clean = calloc(1, sizeof *clean);
    assert_non_null(clean);
    long failures, tcc_clean;
    long total = run_with_failure(scenario, 0, 1, NULL, clean, &failures, &tcc_clean);
    if (clean->failed)
        fail_msg("%s: the clean run failed at %s: %s", name, clean->step, clean->msg);
    assert_true(total > 0);
    assert_true(tcc_clean > 0);
    check_clean(clean);

    /* NABLA_ALLOC_FAIL_K=k runs that failure point alone (both modes), so that
     * LeakSanitizer's report at exit shows where a leaked block came from. */
    long from = 1, to = total;
    const char *only = getenv("NABLA_ALLOC_FAIL_K");
    if (only && *only)
        from = to = atol(only);
    long recovered_p = 0, recovered_t = 0, tcc_p = 0, tcc_t = 0;
    loop(scenario, 1, clean, from, to, &recovered_p, &tcc_p);
    loop(scenario, 0, clean, from, to, &recovered_t, &tcc_t);
    print_message("alloc_fail %s: %ld failure points, each failed persistently and "
                  "transiently; %ld persistent and %ld transient runs recovered with the clean "
                  "results\n",
                  name, total, recovered_p, recovered_t);
    print_message("alloc_fail %s: libtcc's own allocations (never failed, it calls exit): %ld "
                  "in the clean run, %ld in the persistent loop, %ld in the transient loop\n",
                  name, tcc_clean, tcc_p, tcc_t);
    free(clean);
    tu_remove_dir(dir);
    if (problems)
        fail_msg("%s: %ld problems (the first %d are printed above)", name, problems,
                 PROBLEMS_SHOWN);
}

static void check_mlp(const outcome *clean)
{
    /* The non-strict loads: w1 and the 11 others (b1, w2, Adam's 9), "w1.old"; then the
     * 3 layers and Adam's 9 state parameters. */
    static const int report[6] = {1, 11, 1, 3, 9, 0};
    assert_memory_equal(clean->report, report, sizeof report);
    assert_string_equal(clean->report_names[0], "b1");
    assert_string_equal(clean->report_names[1], "w1.old");
    assert_string_equal(clean->report_names[2], "w1.exp_avg");
    const int32_t npy[3] = {4, -1, 7}; /* the int64 values make_files wrote */
    assert_memory_equal(clean->npy, npy, sizeof npy);
    /* The checkpoint round trip restored the state after the second run. */
    assert_memory_equal(&clean->loss[3], &clean->loss[2], sizeof(float));
    /* Training lowers the loss; softmax rows sum to 1. */
    assert_true(clean->loss[1] < clean->loss[0] && clean->loss[2] < clean->loss[1]);
    for (int r = 0; r < 4; r++)
        assert_float_equal(clean->probs[3 * r] + clean->probs[3 * r + 1] + clean->probs[3 * r + 2],
                           1.0, 1e-6);
}

static void check_wide(const outcome *clean)
{
    for (int i = 0; i < 5; i++)
        assert_true(isfinite(clean->wide[i]));
    /* The first step sets the gradient buffer and steps; the second, without zero_grad,
     * steps on twice the gradient: the loss changes both times. */
    assert_true(clean->wide[0] != clean->wide[1] && clean->wide[1] != clean->wide[2]);
}

/* The tiered program's training gives the libtcc program's bits. */
static void check_tiered(const outcome *clean)
{
    outcome *ref = calloc(1, sizeof *ref);
    assert_non_null(ref);
    scenario(ref);
    assert_false(ref->failed);
    assert_memory_equal(clean->loss, ref->loss, sizeof ref->loss);
    assert_memory_equal(clean->probs, ref->probs, sizeof ref->probs);
    assert_memory_equal(clean->w1, ref->w1, sizeof ref->w1);
    free(ref);
}

static void test_every_allocation_fails(void **state)
{
    (void)state;
    fail_every_allocation("mlp", scenario, check_mlp);
}

static void test_every_allocation_fails_wide(void **state)
{
    (void)state;
    fail_every_allocation("wide", scenario_wide, check_wide);
}

static void check_gradcheck(const outcome *clean)
{
    /* w has no value given: two points, each comparing the 3 + 3 elements but the relu
     * kink at x = 0, which is skipped. */
    assert_true(clean->wide[0] == 10 && clean->wide[1] == 2);
}

static void test_every_allocation_fails_gradcheck(void **state)
{
    (void)state;
    fail_every_allocation("gradcheck", scenario_gradcheck, check_gradcheck);
}

static void check_conv(const outcome *clean)
{
    for (int i = 0; i < 5 && i < WIDE_RESULTS; i++)
        assert_true(isfinite(clean->wide[i]));
    assert_true(clean->wide[0] > 0); /* a sum of squares of nonzero values */
}

static void test_every_allocation_fails_conv(void **state)
{
    (void)state;
    fail_every_allocation("conv", scenario_conv, check_conv);
}

static void test_every_allocation_fails_tiered(void **state)
{
    (void)state;
    fail_every_allocation("tiered", scenario_tiered, check_tiered);
    unsetenv("NABLA_CACHE_DIR");
}

static void test_every_allocation_fails_pool(void **state)
{
    (void)state;
    fail_every_allocation("pool", scenario_pool, check_pool);
}

static void test_every_allocation_fails_onnx(void **state)
{
    (void)state;
    onnx_mlp_len = read_data_file("mlp.onnx", onnx_mlp, sizeof onnx_mlp);
    onnx_bad_len = read_data_file("unsupported_op.onnx", onnx_bad, sizeof onnx_bad);
    onnx_tensor_len = read_data_file("tensors/float_raw.pb", onnx_tensor, sizeof onnx_tensor);
    fail_every_allocation("onnx", scenario_onnx, check_onnx);
}

/* ---- internal errors are not out of memory ------------------------------------ */

/* Runs emit on a fresh context and text and returns the error cg_text_error records. */
static void expect_text_error(void (*emit)(cg_ctx *c), const char *expected)
{
    ir_graph *g = ir_graph_new();
    assert_non_null(g);
    ir_text t = {0};
    static cg_ctx c;
    memset(&c, 0, sizeof c);
    c.t = &t;
    emit(&c);
    assert_true(t.failed);
    assert_int_equal(cg_text_error(g, &c), -1);
    assert_string_equal(nb_graph_error(g), expected);
    free(t.buf);
    ir_graph_free(g);
}

static void emit_missing_libm(cg_ctx *c)
{
    cg_line(c, "r = %s(a);", cg_fn(c, NB_F32, "nosuch"));
}

static void emit_missing_kernel(cg_ctx *c)
{
    cg_line(c, "%s(y, x0);", cg_rt(c, "nb_rt_nosuch"));
}

/* An elementwise emitter that reads an operand its node does not have. */
static void emit_bad_operand(cg_ctx *c)
{
    ir_node n = {.op = IR_OP_NEG, .n_in = 1};
    cg_ew e = {0};
    cg_ew_reset(&e, c, &n);
    cg_ew_x(&e, 0);
    assert_false(c->t->failed);
    cg_ew_x(&e, 3);
    cg_ew_free(&e);
}

/* A call left open, then a statement ended inside it. */
static void emit_open_call(cg_ctx *c)
{
    ir_node n = {.op = IR_OP_EXP, .n_in = 1, .dtype = NB_F32};
    cg_ew e = {0};
    cg_ew_reset(&e, c, &n);
    cg_ew_call(&e, "exp");
    cg_ew_x(&e, 0);
    cg_ew_let(&e, "u");
    cg_ew_free(&e);
}

/* Lines have no length limit: a line of 10,000 characters is written whole. */
static void test_long_line_written_whole(void **state)
{
    (void)state;
    enum { LONG_LINE = 10000 };
    static char line[LONG_LINE + 1];
    memset(line, 'x', LONG_LINE);
    ir_text t = {0};
    static cg_ctx c;
    memset(&c, 0, sizeof c);
    c.t = &t;
    c.indent = 1;
    cg_line(&c, "%s", line);
    cg_begin(&c);
    cg_s(&c, line);
    cg_end(&c, ";");
    assert_false(t.failed);
    assert_int_equal(t.len, 2 * (4 + LONG_LINE + 1) + 1);
    assert_memory_equal(t.buf, "    xxx", 7);
    assert_memory_equal(t.buf + 4 + LONG_LINE, "\n    x", 6);
    assert_string_equal(t.buf + t.len - 3, "x;\n");
    free(t.buf);
}

static void emit_oom(cg_ctx *c)
{
    ir_alloc_fail_from(1);
    cg_line(c, "r = a;");
    ir_alloc_fail_from(0);
}

/* An emitter bug (a function missing from a table, an operand the node does not have,
 * an unbalanced call) says "internal error" and what; only a failed allocation says out
 * of memory. */
static void test_internal_errors_say_so(void **state)
{
    (void)state;
    expect_text_error(emit_missing_libm, "codegen: internal error: function 'nosuchf' is not "
                                         "listed in cg_libm.def");
    expect_text_error(emit_missing_kernel, "codegen: internal error: function 'nb_rt_nosuch' is "
                                           "not listed in cg_rt.def");
    expect_text_error(emit_bad_operand, "codegen: internal error: the emitter of neg reads "
                                        "operand 3 of 1");
    expect_text_error(emit_open_call, "codegen: internal error: the emitter of exp ends an empty "
                                      "or open statement");
    expect_text_error(emit_oom, "out of memory");
}

int main(void)
{
    /* The MLP scenario runs on 2 threads, with its small kernels split (as if they were
     * large): creating the pool and its workers fails in turn like everything else. */
    rt_threads_set_split_min(CG_SPLIT_GRAIN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_internal_errors_say_so),
        cmocka_unit_test(test_long_line_written_whole),
        cmocka_unit_test(test_every_allocation_fails),
        cmocka_unit_test(test_every_allocation_fails_wide),
        cmocka_unit_test(test_every_allocation_fails_tiered),
        cmocka_unit_test(test_every_allocation_fails_gradcheck),
        cmocka_unit_test(test_every_allocation_fails_conv),
        cmocka_unit_test(test_every_allocation_fails_pool),
        cmocka_unit_test(test_every_allocation_fails_onnx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
