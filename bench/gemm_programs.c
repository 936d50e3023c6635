/* gemm_programs.c — matmul-bound work through compiled nabla programs, timed as
 * bench/gemm_torch.py times the same work in PyTorch: a 1024³ matmul, a Linear + bias +
 * ReLU forward and backward at 1024, and the gemm shapes of the Fashion-MNIST MLP.
 * bench/run_gemm_torch.sh runs both and prints the ratios.
 *
 * Prints one line per case and thread count:
 *   case <name> threads <t> min <seconds> median <seconds>
 * the time of one run of the program. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nabla.h"
#include "bench_util.h"

enum {
    GP_ALIGN = 64,
    GP_ROUNDS_DEFAULT = 15,
    GP_MAX_ROUNDS = 1000,
    GP_MAX_THREADS = 64,
    GP_MAX_INPUTS = 4
};
/* A sample lasts at least this long, so the clock's resolution does not matter. */
static const double GP_SAMPLE_SECONDS = 0.02;
/* The Linear + bias + ReLU case: batch, inputs and outputs all this size. */
static const int64_t GP_LINEAR_SIZE = 1024;

/* One matmul c = op(a) op(b) of a shape the MLP runs (as bench/gemm.c lists them). */
typedef struct {
    const char *name;
    int ta, tb;
    int64_t m, n, k;
} gp_shape;

static const gp_shape GP_SHAPES[] = {
    {"mm_1024", 0, 0, 1024, 1024, 1024}, {"mlp_fwd_L1", 0, 0, 64, 256, 784},
    {"mlp_fwd_L2", 0, 0, 64, 128, 256},  {"mlp_fwd_L3", 0, 0, 64, 10, 128},
    {"mlp_dx_L2", 0, 1, 64, 256, 128},   {"mlp_dx_L3", 0, 1, 64, 128, 10},
    {"mlp_dW_L1", 1, 0, 784, 256, 64},   {"mlp_dW_L2", 1, 0, 256, 128, 64},
    {"mlp_dW_L3", 1, 0, 128, 10, 64},
};
enum { GP_N_SHAPES = sizeof GP_SHAPES / sizeof *GP_SHAPES };

/* At one thread the CPU time of this thread (the gemm runs on it alone, and the shared
 * machine's other processes count less); at more, the wall time. */
static clockid_t gp_clock = CLOCK_MONOTONIC;

static double now(void)
{
    return bench_clock_seconds(gp_clock);
}

/* Operands 64-byte aligned, as nabla's arena and state and PyTorch's tensors are:
 * OpenBLAS ran 1024³ 10–20% slower at malloc's 16-byte offset from a page. */
static void *alloc_floats(int64_t n)
{
    size_t bytes = ((size_t)n * sizeof(float) + GP_ALIGN - 1) / GP_ALIGN * GP_ALIGN;
    return aligned_alloc(GP_ALIGN, bytes);
}

/* Fills n floats with deterministic values in [-1, 1]. */
static void fill(float *x, int64_t n, unsigned long seed)
{
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ul + 1442695040888963407ul;
        x[i] = (float)((double)(seed >> 40) / (double)(1ul << 23) - 1.0);
    }
}

/* Binds the inputs, runs p `rounds` samples and prints min and median per run. */
static int time_program(nb_program *p, const char *name, int threads, int rounds,
                        float *const *inputs, int n_inputs)
{
    double *t = malloc((size_t)rounds * sizeof *t);
    if (!t) {
        fprintf(stderr, "gemm_programs: out of memory\n");
        return -1;
    }
    for (int i = 0; i < n_inputs; i++)
        if (nb_program_bind_index(p, i, inputs[i]))
            goto fail;
    /* The first run counts the runs per sample (and warms the caches). */
    double t0 = now();
    if (nb_program_run(p))
        goto fail;
    double first = now() - t0;
    long runs = first >= GP_SAMPLE_SECONDS ? 1 : (long)(GP_SAMPLE_SECONDS / (first + 1e-9)) + 1;
    for (int r = 0; r < rounds; r++) {
        t0 = now();
        for (long i = 0; i < runs; i++)
            if (nb_program_run(p))
                goto fail;
        t[r] = (now() - t0) / (double)runs;
    }
    double tmin, tmed;
    bench_min_median(t, rounds, &tmin, &tmed);
    printf("case %s threads %d min %.9f median %.9f\n", name, threads, tmin, tmed);
    fflush(stdout);
    free(t);
    return 0;
fail:
    fprintf(stderr, "gemm_programs: %s: %s\n", name, nb_program_error(p));
    free(t);
    return -1;
}

/* c = op(a) op(b), the transposes read through the matmul's flags. */
static int bench_shape(const gp_shape *s, int threads, int rounds)
{
    int rc = -1;
    nb_program *p = NULL;
    float *in[2] = {NULL, NULL};
    nb_graph *g = nb_graph_new();
    if (!g)
        goto oom;
    int64_t sa[2] = {s->ta ? s->k : s->m, s->ta ? s->m : s->k};
    int64_t sb[2] = {s->tb ? s->n : s->k, s->tb ? s->k : s->n};
    nb_node *a = nb_input(g, "a", NB_F32, 2, sa), *b = nb_input(g, "b", NB_F32, 2, sb);
    nb_node *c = nb_matmul(g, s->ta ? nb_transpose(g, a) : a, s->tb ? nb_transpose(g, b) : b);
    nb_compile_options o = {.outputs = &c, .n_outputs = 1, .backend = NB_BACKEND_CC};
    p = nb_compile(g, &o);
    if (!p) {
        fprintf(stderr, "gemm_programs: %s: %s\n", s->name, nb_graph_error(g));
        goto fail;
    }
    in[0] = alloc_floats(s->m * s->k);
    in[1] = alloc_floats(s->k * s->n);
    if (!in[0] || !in[1])
        goto oom;
    fill(in[0], s->m * s->k, 1);
    fill(in[1], s->k * s->n, 2);
    rc = time_program(p, s->name, threads, rounds, in, 2);
    goto fail;
oom:
    fprintf(stderr, "gemm_programs: out of memory\n");
fail:
    nb_program_free(p);
    nb_graph_free(g);
    free(in[0]);
    free(in[1]);
    return rc;
}

/* y = relu(x W + b) and, for a given gradient gy of y, dx, dW and db: one run is the
 * forward and the backward pass, as one PyTorch forward and .backward(gy). */
static int bench_linear(int threads, int rounds)
{
    int rc = -1;
    nb_program *p = NULL;
    float *in[2] = {NULL, NULL};
    const int64_t n = GP_LINEAR_SIZE, sq[2] = {n, n}, vec[1] = {n};
    nb_graph *g = nb_graph_new();
    if (!g)
        goto oom;
    nb_node *x = nb_input(g, "x", NB_F32, 2, sq), *gy = nb_input(g, "gy", NB_F32, 2, sq);
    nb_node *w = nb_param(g, "w", NB_F32, 2, sq), *b = nb_param(g, "b", NB_F32, 1, vec);
    nb_node *y = nb_relu(g, nb_add(g, nb_matmul(g, x, w), b));
    nb_node *wrt[3] = {x, w, b}, *out[4] = {y};
    if (nb_vjp(g, y, gy, wrt, 3, out + 1)) {
        fprintf(stderr, "gemm_programs: linear: %s\n", nb_graph_error(g));
        goto fail;
    }
    nb_compile_options o = {.outputs = out, .n_outputs = 4, .backend = NB_BACKEND_CC};
    p = nb_compile(g, &o);
    if (!p) {
        fprintf(stderr, "gemm_programs: linear: %s\n", nb_graph_error(g));
        goto fail;
    }
    if (nb_program_init_linear(p, "w", "b", 0)) {
        fprintf(stderr, "gemm_programs: linear: %s\n", nb_program_error(p));
        goto fail;
    }
    in[0] = alloc_floats(n * n);
    in[1] = alloc_floats(n * n);
    if (!in[0] || !in[1])
        goto oom;
    fill(in[0], n * n, 3);
    fill(in[1], n * n, 4);
    rc = time_program(p, "linear_relu_1024", threads, rounds, in, 2);
    goto fail;
oom:
    fprintf(stderr, "gemm_programs: out of memory\n");
fail:
    nb_program_free(p);
    nb_graph_free(g);
    free(in[0]);
    free(in[1]);
    return rc;
}

int main(int argc, char **argv)
{
    int rounds = GP_ROUNDS_DEFAULT, threads[GP_MAX_THREADS], n_threads = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rounds") && i + 1 < argc &&
            !bench_parse_int(argv[i + 1], 1, GP_MAX_ROUNDS, &rounds)) {
            i++;
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc && n_threads < GP_MAX_THREADS &&
                   !bench_parse_int(argv[i + 1], 1, GP_MAX_THREADS, &threads[n_threads])) {
            n_threads++;
            i++;
        } else {
            fprintf(stderr,
                    "usage: %s [--rounds N] [--threads N]...\n"
                    "  --rounds N   samples per case (default %d)\n"
                    "  --threads N  a thread count to run (repeatable; default 1 and 2)\n",
                    argv[0], GP_ROUNDS_DEFAULT);
            return 2;
        }
    }
    if (n_threads == 0) {
        threads[0] = 1;
        threads[1] = 2;
        n_threads = 2;
    }
    for (int t = 0; t < n_threads; t++) {
        if (nb_set_threads(threads[t])) {
            fprintf(stderr, "gemm_programs: cannot use %d threads\n", threads[t]);
            return 1;
        }
        gp_clock = threads[t] == 1 ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC;
        for (int i = 0; i < GP_N_SHAPES; i++)
            if (bench_shape(&GP_SHAPES[i], threads[t], rounds))
                return 1;
        if (bench_linear(threads[t], rounds))
            return 1;
    }
    return 0;
}
