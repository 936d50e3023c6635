/* reduce.c — a benchmark, not a test: reductions and the passes around them (issue 8,
 * item 4), each compiled with tcc and cc and timed in the same run as a baseline.
 *
 * Cases:
 * - axis0: the sum over axis 0 of a 1024x1024 f32 matrix (a bias gradient's shape). The
 *   baseline is the column-outer loop nabla emitted before (one accumulator per column,
 *   walking down the column), compiled into this benchmark; row-outer is the loop it
 *   emits now, also compiled here, so the pair shows the loop order alone.
 * - ce64x10, ce256x1000: softmax cross-entropy, mean over the batch, forward and its
 *   gradient with respect to the logits (the MLP's last layer, and a wide one).
 * - softmax, logsumexp: over the last axis of f32[256,1000], forward and the gradient of
 *   sum(y * gy) for x.
 * The cross-entropy, softmax and logsumexp lines name the program's kernel count.
 * - linear: y = relu(x w + b) with x [256,1024], w [1024,1024], forward and backward
 *   (the gradients of sum(y * gy) for x, w and b).
 * - mlp: the Fashion-MNIST training step (784-256-128-10, ReLU, cross-entropy, Adam,
 *   batch 64) as examples/fashion_mnist.c builds it.
 * bench/reduce_torch.py times the same cases with PyTorch.
 *
 * --threads N sets nb_set_threads (the BLAS threads of the gemms) before compiling.
 * Each timing is the wall time of one call (a run of the program), --repeat rounds of
 * enough calls to take about 0.2 s; min and median over the rounds are printed, in
 * microseconds per call. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_program.h"
#include "bench_util.h"
#include "nabla.h"

#define BENCH_ROUNDS_DEFAULT 5
#define AXIS0_N 1024

static void report(const char *label, double min, double median, double base_min)
{
    printf("  %-28s min %10.2f us  median %10.2f us", label, min * 1e6, median * 1e6);
    if (base_min > 0)
        printf("  %6.2fx faster than the baseline", base_min / min);
    printf("\n");
}

/* ---- axis 0 ---------------------------------------------------------------------- */

typedef struct axis0_arg {
    const float *x;
    float *y;
} axis0_arg;

/* The loop nabla emitted before: one column at a time. */
static void axis0_columns(void *p)
{
    axis0_arg *a = p;
    for (long i1 = 0; i1 < AXIS0_N; i1++) {
        double acc = 0.0;
        for (long i0 = 0; i0 < AXIS0_N; i0++)
            acc += a->x[i0 * AXIS0_N + i1];
        a->y[i1] = (float)acc;
    }
}

/* The loop it emits now (codegen/cg_reduce.c): rows into blocks of 256 accumulators. */
static void axis0_rows(void *p)
{
    axis0_arg *a = p;
    for (long j0 = 0; j0 < AXIS0_N; j0 += 256) {
        double acc[256];
        for (long j = 0; j < 256; j++)
            acc[j] = 0;
        for (long i0 = 0; i0 < AXIS0_N; i0++) {
            const float *row = a->x + i0 * AXIS0_N + j0;
            for (long j = 0; j < 256; j++)
                acc[j] += row[j];
        }
        for (long j = 0; j < 256; j++)
            a->y[j0 + j] = (float)acc[j];
    }
}

static const char *const backend_names[2] = {"tcc", "cc"};

static nb_program *compile(nb_graph *g, nb_node **outs, int n_outs, const nb_update *u, int n_u,
                           nb_backend backend)
{
    nb_compile_options opt = {.outputs = outs,
                              .n_outputs = n_outs,
                              .updates = u,
                              .n_updates = n_u,
                              .backend = backend,
                              .keep_plan = 1};
    return bench_compile(g, &opt);
}

/* The kernels of p's plan (a line each). */
static int kernel_count(const nb_program *p)
{
    int n = 0;
    for (const char *l = nb_program_plan(p); l && *l;
         l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "")
        n += strncmp(l, "kernel ", 7) == 0;
    return n;
}

/* Appends to g the gradient of l for x, compiles y (l itself when y is NULL) and the
 * gradient on backend b, binds the two inputs, times a run and reports it with the
 * program's kernel count (and the loss when y is NULL). */
static void time_with_grad(int rounds, nb_graph *g, nb_node *y, nb_node *l, nb_node *x,
                           const char *const names[2], const void *const data[2], int b)
{
    nb_node *outs[2] = {y ? y : l, NULL};
    bench_grad(g, l, &x, 1, &outs[1]);
    nb_program *p = compile(g, outs, 2, NULL, 0, (nb_backend)b);
    for (int i = 0; i < 2; i++)
        nb_program_bind(p, names[i], data[i]);
    double min, med;
    bench_time(bench_run_program, p, rounds, CLOCK_MONOTONIC, &min, &med);
    char label[64];
    if (y)
        snprintf(label, sizeof label, "nabla %s (%d kernels)", backend_names[b], kernel_count(p));
    else
        snprintf(label, sizeof label, "nabla %s (loss %.6f, %d kernels)", backend_names[b],
                 *(const float *)nb_program_output(p, 0), kernel_count(p));
    report(label, min, med, 0);
    nb_program_free(p);
}

static void bench_axis0(int rounds)
{
    int64_t shape[2] = {AXIS0_N, AXIS0_N};
    float *x = malloc(sizeof(float) * AXIS0_N * AXIS0_N), y[AXIS0_N], z[AXIS0_N];
    if (!x)
        exit(1);
    bench_fill(x, AXIS0_N * AXIS0_N, 1);
    axis0_arg cols = {x, y}, rows = {x, z};
    double bmin, bmed, min, med;
    printf("axis0: sum over axis 0 of f32[%d,%d]\n", AXIS0_N, AXIS0_N);
    bench_time(axis0_columns, &cols, rounds, CLOCK_MONOTONIC, &bmin, &bmed);
    report("column-outer loop (before)", bmin, bmed, 0);
    bench_time(axis0_rows, &rows, rounds, CLOCK_MONOTONIC, &min, &med);
    report("row-outer loop (now)", min, med, bmin);
    if (memcmp(y, z, sizeof y) != 0)
        printf("  MISMATCH between the two loops\n");
    for (int b = 0; b < 2; b++) {
        nb_graph *g = nb_graph_new();
        int axis = 0;
        nb_node *s = nb_sum(g, nb_input(g, "x", NB_F32, 2, shape), &axis, 1, 0);
        nb_program *p = compile(g, &s, 1, NULL, 0, (nb_backend)b);
        nb_program_bind(p, "x", x);
        bench_time(bench_run_program, p, rounds, CLOCK_MONOTONIC, &min, &med);
        char label[64];
        snprintf(label, sizeof label, "nabla %s", backend_names[b]);
        report(label, min, med, bmin);
        if (memcmp(nb_program_output(p, 0), y, sizeof y) != 0)
            printf("  MISMATCH: nabla %s differs from the column-outer loop\n", backend_names[b]);
        nb_program_free(p);
        nb_graph_free(g);
    }
    free(x);
}

/* ---- cross-entropy ---------------------------------------------------------------- */

static void bench_ce(int rounds, int64_t n, int64_t classes)
{
    int64_t shape[2] = {n, classes};
    float *logits = malloc(sizeof(float) * (size_t)(n * classes));
    int32_t *labels = malloc(sizeof(int32_t) * (size_t)n);
    if (!logits || !labels)
        exit(1);
    bench_fill(logits, n * classes, 2);
    for (int64_t i = 0; i < n; i++)
        labels[i] = (int32_t)((i * 7) % classes);
    printf("ce%lldx%lld: cross-entropy forward + gradient for the logits\n", (long long)n,
           (long long)classes);
    static const char *const names[2] = {"z", "labels"};
    const void *const data[2] = {logits, labels};
    for (int b = 0; b < 2; b++) {
        nb_graph *g = nb_graph_new();
        nb_node *z = nb_input(g, "z", NB_F32, 2, shape);
        nb_node *l =
            nb_cross_entropy(g, z, nb_input(g, "labels", NB_I32, 1, &n), NB_REDUCTION_MEAN);
        time_with_grad(rounds, g, NULL, l, z, names, data, b);
        nb_graph_free(g);
    }
    free(logits);
    free(labels);
}

/* ---- softmax and logsumexp -------------------------------------------------------- */

#define SM_ROWS 256
#define SM_COLS 1000

/* softmax (log_sum == 0) or logsumexp over the last axis of x [256,1000]: y and the
 * gradient of sum(y * gy) for x. */
static void bench_softmax(int rounds, int log_sum)
{
    int64_t shape[2] = {SM_ROWS, SM_COLS}, rows[2] = {SM_ROWS, 1};
    float *x = malloc(sizeof(float) * SM_ROWS * SM_COLS);
    float *gy = malloc(sizeof(float) * SM_ROWS * SM_COLS);
    if (!x || !gy)
        exit(1);
    bench_fill(x, SM_ROWS * SM_COLS, 8);
    bench_fill(gy, SM_ROWS * SM_COLS, 9);
    printf("%s: over the last axis of f32[%d,%d], forward + gradient\n",
           log_sum ? "logsumexp" : "softmax", SM_ROWS, SM_COLS);
    static const char *const names[2] = {"x", "gy"};
    const void *const data[2] = {x, gy};
    for (int b = 0; b < 2; b++) {
        nb_graph *g = nb_graph_new();
        int axis = -1;
        nb_node *in = nb_input(g, "x", NB_F32, 2, shape);
        nb_node *y = log_sum ? nb_logsumexp(g, in, &axis, 1, 1) : nb_softmax(g, in, -1);
        nb_node *w = nb_input(g, "gy", NB_F32, 2, log_sum ? rows : shape);
        time_with_grad(rounds, g, y, nb_sum(g, nb_mul(g, y, w), NULL, 0, 0), in, names, data, b);
        nb_graph_free(g);
    }
    free(x);
    free(gy);
}

/* ---- Linear + bias + ReLU ------------------------------------------------------- */

#define LIN_BATCH 256
#define LIN_IN 1024
#define LIN_OUT 1024

static void bench_linear(int rounds)
{
    int64_t xs[2] = {LIN_BATCH, LIN_IN}, ws[2] = {LIN_IN, LIN_OUT}, bs = LIN_OUT,
            ys[2] = {LIN_BATCH, LIN_OUT};
    float *x = malloc(sizeof(float) * LIN_BATCH * LIN_IN);
    float *gy = malloc(sizeof(float) * LIN_BATCH * LIN_OUT);
    float *w = malloc(sizeof(float) * LIN_IN * LIN_OUT), bias[LIN_OUT];
    if (!x || !gy || !w)
        exit(1);
    bench_fill(x, LIN_BATCH * LIN_IN, 3);
    bench_fill(gy, LIN_BATCH * LIN_OUT, 4);
    bench_fill(w, LIN_IN * LIN_OUT, 5);
    bench_fill(bias, LIN_OUT, 6);
    printf("linear: relu(x w + b), x [%d,%d], w [%d,%d], forward + backward\n", LIN_BATCH, LIN_IN,
           LIN_IN, LIN_OUT);
    for (int b = 0; b < 2; b++) {
        nb_graph *g = nb_graph_new();
        nb_node *in = nb_input(g, "x", NB_F32, 2, xs);
        nb_node *wp = nb_param(g, "w", NB_F32, 2, ws), *bp = nb_param(g, "b", NB_F32, 1, &bs);
        nb_node *y = nb_relu(g, nb_add(g, nb_matmul(g, in, wp), bp));
        nb_node *l = nb_sum(g, nb_mul(g, y, nb_input(g, "gy", NB_F32, 2, ys)), NULL, 0, 0);
        nb_node *xsn[3] = {in, wp, bp}, *outs[4] = {y};
        bench_grad(g, l, xsn, 3, outs + 1);
        nb_program *p = compile(g, outs, 4, NULL, 0, (nb_backend)b);
        nb_program_bind(p, "x", x);
        nb_program_bind(p, "gy", gy);
        nb_program_set_param(p, "w", w, sizeof(float) * LIN_IN * LIN_OUT);
        nb_program_set_param(p, "b", bias, sizeof bias);
        double min, med;
        bench_time(bench_run_program, p, rounds, CLOCK_MONOTONIC, &min, &med);
        char label[64];
        snprintf(label, sizeof label, "nabla %s", backend_names[b]);
        report(label, min, med, 0);
        nb_program_free(p);
        nb_graph_free(g);
    }
    free(x);
    free(gy);
    free(w);
}

/* ---- the MLP step ----------------------------------------------------------------- */

#define MLP_BATCH 64
#define MLP_IN 784
#define MLP_CLASSES 10
#define MLP_PARAMS 6

static nb_node *linear(nb_graph *g, nb_node *x, nb_node *w, nb_node *b)
{
    return nb_add(g, nb_matmul(g, x, w), b);
}

static void bench_mlp(int rounds)
{
    static const char *const names[MLP_PARAMS] = {"fc1.weight", "fc1.bias",   "fc2.weight",
                                                  "fc2.bias",   "fc3.weight", "fc3.bias"};
    static const int64_t shapes[MLP_PARAMS][2] = {
        {MLP_IN, 256}, {256, 0}, {256, 128}, {128, 0}, {128, MLP_CLASSES}, {MLP_CLASSES, 0}};
    float *x = malloc(sizeof(float) * MLP_BATCH * MLP_IN), lr = 1e-3f;
    int32_t labels[MLP_BATCH];
    if (!x)
        exit(1);
    bench_fill(x, MLP_BATCH * MLP_IN, 7);
    for (int i = 0; i < MLP_BATCH; i++)
        labels[i] = (i * 3) % MLP_CLASSES;
    printf("mlp: Fashion-MNIST training step (784-256-128-10, Adam, batch %d)\n", MLP_BATCH);
    for (int b = 0; b < 2; b++) {
        nb_graph *g = nb_graph_new();
        nb_node *p[MLP_PARAMS], *grads[MLP_PARAMS];
        for (int i = 0; i < MLP_PARAMS; i++)
            p[i] = nb_param(g, names[i], NB_F32, i % 2 ? 1 : 2, shapes[i]);
        nb_node *in = nb_input(g, "x", NB_F32, 2, (int64_t[]){MLP_BATCH, MLP_IN});
        nb_node *y = nb_input(g, "y", NB_I32, 1, (int64_t[]){MLP_BATCH});
        nb_node *lrn = nb_input(g, "lr", NB_F32, 0, NULL);
        nb_node *h = nb_relu(g, linear(g, in, p[0], p[1]));
        h = nb_relu(g, linear(g, h, p[2], p[3]));
        nb_node *loss = nb_cross_entropy(g, linear(g, h, p[4], p[5]), y, NB_REDUCTION_MEAN);
        nb_update u[MLP_PARAMS * NB_ADAM_UPDATES_PER_PARAM];
        int n_u;
        if (nb_grad(g, loss, p, MLP_PARAMS, grads) != 0 ||
            (n_u = nb_adam(g, lrn, p, grads, MLP_PARAMS, NULL, u,
                           MLP_PARAMS * NB_ADAM_UPDATES_PER_PARAM)) < 0) {
            fprintf(stderr, "build: %s\n", nb_graph_error(g));
            exit(1);
        }
        nb_program *prog = compile(g, &loss, 1, u, n_u, (nb_backend)b);
        for (int i = 0; i < MLP_PARAMS; i += 2)
            nb_program_init_linear(prog, names[i], names[i + 1], (uint64_t)i + 1);
        nb_program_bind(prog, "x", x);
        nb_program_bind(prog, "y", labels);
        nb_program_bind(prog, "lr", &lr);
        double min, med;
        bench_time(bench_run_program, prog, rounds, CLOCK_MONOTONIC, &min, &med);
        char label[64];
        snprintf(label, sizeof label, "nabla %s", backend_names[b]);
        report(label, min, med, 0);
        nb_program_free(prog);
        nb_graph_free(g);
    }
    free(x);
}

int main(int argc, char **argv)
{
    int rounds = BENCH_ROUNDS_DEFAULT, threads = 0;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (strcmp(argv[i], "--case") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = atoi(argv[++i]);
        else {
            fprintf(stderr,
                    "usage: %s [--repeat N] [--threads N] "
                    "[--case axis0|ce64x10|ce256x1000|softmax|logsumexp|linear|mlp]\n",
                    argv[0]);
            return 2;
        }
    }
    if (rounds < 1 || rounds > BENCH_ROUNDS_MAX) {
        fprintf(stderr, "--repeat: between 1 and %d\n", BENCH_ROUNDS_MAX);
        return 2;
    }
    if (threads > 0 && nb_set_threads(threads) != 0) {
        fprintf(stderr, "--threads: %d refused\n", threads);
        return 2;
    }
    if (!only || strcmp(only, "axis0") == 0)
        bench_axis0(rounds);
    if (!only || strcmp(only, "ce64x10") == 0)
        bench_ce(rounds, 64, 10);
    if (!only || strcmp(only, "ce256x1000") == 0)
        bench_ce(rounds, 256, 1000);
    if (!only || strcmp(only, "softmax") == 0)
        bench_softmax(rounds, 0);
    if (!only || strcmp(only, "logsumexp") == 0)
        bench_softmax(rounds, 1);
    if (!only || strcmp(only, "linear") == 0)
        bench_linear(rounds);
    if (!only || strcmp(only, "mlp") == 0)
        bench_mlp(rounds);
    return 0;
}
