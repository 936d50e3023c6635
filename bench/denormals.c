/* denormals.c — a benchmark, not a test: what nb_compile_options.denormals costs and
 * saves, NB_DENORMALS_FLUSH against NB_DENORMALS_IEEE measured in the same run,
 * interleaved:
 * - the seed step (examples/seed_autograd's logistic regression, forward + backward):
 *   the price of saving and setting the floating-point mode around each run, on the
 *   smallest program there is;
 * - a decay over subnormals, m = 0.9 m + 0.1 g with g = 0, on 1M floats that start
 *   subnormal (what Adam's first moment of a weight without gradient does): the price
 *   of the subnormal arithmetic itself, which is large on Intel (microcode assists) and
 *   small on AMD. Each run starts from the same subnormal values.
 * Prints min and median per call of each mode and their ratio (IEEE / FLUSH).
 *
 *   build/bench/bench_denormals [--backend tcc|cc] [--repeat R] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nabla.h"
#include "bench_util.h"

#define DEFAULT_REPEAT 7
#define MAX_REPEAT 64
#define SEED_CALLS 200000
#define DECAY_N (1 << 20)
#define DECAY_CALLS 20
/* The subnormal the decay starts from: 2^-130, far above 0 after 20 steps of 0.9. */
#define DECAY_START 0x1p-130f

static nb_program *compile_or_die(nb_graph *g, nb_node **outs, int n, const nb_update *upd,
                                  int n_upd, nb_backend backend, nb_denormals mode)
{
    nb_compile_options opt = {.outputs = outs,
                              .n_outputs = n,
                              .updates = upd,
                              .n_updates = n_upd,
                              .backend = backend,
                              .denormals = mode};
    nb_program *p = nb_compile(g, &opt);
    if (!p) {
        fprintf(stderr, "bench_denormals: compile: %s\n", nb_graph_error(g));
        exit(1);
    }
    return p;
}

/* The seed step: loss and both gradients of the tutorial's logistic regression. */
static nb_program *seed(nb_backend backend, nb_denormals mode)
{
    static const float x = 6.7f, y = 0.0f, w = 1.0f;
    nb_graph *g = nb_graph_new();
    nb_node *xi = nb_input(g, "x", NB_F32, 0, NULL), *yi = nb_input(g, "y", NB_F32, 0, NULL);
    nb_node *wp = nb_param(g, "w", NB_F32, 0, NULL), *bp = nb_param(g, "b", NB_F32, 0, NULL);
    nb_node *pr = nb_sigmoid(g, nb_add(g, nb_mul(g, wp, xi), bp));
    nb_node *loss = nb_bce(g, pr, yi, NB_REDUCTION_MEAN);
    nb_node *params[] = {wp, bp}, *grads[2];
    nb_grad(g, loss, params, 2, grads);
    nb_node *outs[] = {loss, grads[0], grads[1]};
    nb_program *p = compile_or_die(g, outs, 3, NULL, 0, backend, mode);
    nb_graph_free(g);
    nb_program_bind(p, "x", &x);
    nb_program_bind(p, "y", &y);
    nb_program_set_param(p, "w", &w, sizeof w);
    return p;
}

/* m <- 0.9 m + 0.1 g over DECAY_N floats, in place. */
static nb_program *decay(nb_backend backend, nb_denormals mode, const float *g_values)
{
    int64_t n = DECAY_N;
    nb_graph *g = nb_graph_new();
    nb_node *gi = nb_input(g, "g", NB_F32, 1, &n);
    nb_node *m = nb_param(g, "m", NB_F32, 1, &n);
    nb_node *next = nb_add(g, nb_mul(g, m, nb_scalar(g, NB_F32, 0.9)),
                           nb_mul(g, gi, nb_scalar(g, NB_F32, 0.1)));
    nb_update u = {m, next};
    nb_node *outs[] = {nb_sum(g, next, NULL, 0, 0)};
    nb_program *p = compile_or_die(g, outs, 1, &u, 1, backend, mode);
    nb_graph_free(g);
    nb_program_bind(p, "g", g_values);
    return p;
}

/* Seconds per run of p over calls runs; for the decay, m is reset first. */
static double time_runs(nb_program *p, int calls, const float *reset)
{
    if (reset && nb_program_set_param(p, "m", reset, DECAY_N * sizeof *reset) != 0) {
        fprintf(stderr, "bench_denormals: %s\n", nb_program_error(p));
        exit(1);
    }
    double t0 = bench_seconds();
    for (int i = 0; i < calls; i++)
        if (nb_program_run(p) != 0) {
            fprintf(stderr, "bench_denormals: run: %s\n", nb_program_error(p));
            exit(1);
        }
    return (bench_seconds() - t0) / calls;
}

static void report(const char *what, const char *unit, double scale, double *flush, double *ieee,
                   int repeat)
{
    double fmin, fmed, imin, imed;
    bench_min_median(flush, repeat, &fmin, &fmed);
    bench_min_median(ieee, repeat, &imin, &imed);
    printf("%-34s flush %9.1f / %-9.1f ieee %9.1f / %-9.1f %s (min / median); "
           "ieee/flush %.2f (medians), %.2f (mins)\n",
           what, scale * fmin, scale * fmed, scale * imin, scale * imed, unit, imed / fmed,
           imin / fmin);
}

int main(int argc, char **argv)
{
    nb_backend backend = NB_BACKEND_TCC;
    int repeat = DEFAULT_REPEAT;
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--backend") && a + 1 < argc) {
            const char *b = argv[++a];
            if (strcmp(b, "tcc") && strcmp(b, "cc")) {
                fprintf(stderr, "bench_denormals: --backend is tcc or cc\n");
                return 2;
            }
            backend = strcmp(b, "cc") ? NB_BACKEND_TCC : NB_BACKEND_CC;
        } else if (!strcmp(argv[a], "--repeat") && a + 1 < argc) {
            repeat = atoi(argv[++a]);
            if (repeat < 1 || repeat > MAX_REPEAT) {
                fprintf(stderr, "bench_denormals: --repeat is 1 to %d\n", MAX_REPEAT);
                return 2;
            }
        } else {
            fprintf(stderr, "usage: bench_denormals [--backend tcc|cc] [--repeat R]\n");
            return 2;
        }
    }
    float *zeros = calloc(DECAY_N, sizeof *zeros), *start = malloc(DECAY_N * sizeof *start);
    if (!zeros || !start) {
        fprintf(stderr, "bench_denormals: out of memory\n");
        return 1;
    }
    for (int i = 0; i < DECAY_N; i++)
        start[i] = DECAY_START;
    nb_program *sf = seed(backend, NB_DENORMALS_FLUSH), *si = seed(backend, NB_DENORMALS_IEEE);
    nb_program *df = decay(backend, NB_DENORMALS_FLUSH, zeros);
    nb_program *di = decay(backend, NB_DENORMALS_IEEE, zeros);
    double s_flush[MAX_REPEAT], s_ieee[MAX_REPEAT], d_flush[MAX_REPEAT], d_ieee[MAX_REPEAT];
    for (int r = 0; r < repeat; r++) {
        s_flush[r] = time_runs(sf, SEED_CALLS, NULL);
        s_ieee[r] = time_runs(si, SEED_CALLS, NULL);
        d_flush[r] = time_runs(df, DECAY_CALLS, start);
        d_ieee[r] = time_runs(di, DECAY_CALLS, start);
    }
    /* The decay's sum: 0 under flush (every value reads as 0), positive under IEEE. */
    float sum_flush = *(const float *)nb_program_output(df, 0);
    float sum_ieee = *(const float *)nb_program_output(di, 0);
    printf("backend %s, %d interleaved runs of each\n", backend == NB_BACKEND_CC ? "cc" : "tcc",
           repeat);
    report("seed step (forward + backward)", "ns", 1e9, s_flush, s_ieee, repeat);
    report("decay over 1M subnormal floats", "us", 1e6, d_flush, d_ieee, repeat);
    printf("decay's sum after %d steps: flush %g, ieee %g\n", DECAY_CALLS, (double)sum_flush,
           (double)sum_ieee);
    nb_program_free(sf);
    nb_program_free(si);
    nb_program_free(df);
    nb_program_free(di);
    free(zeros);
    free(start);
    return 0;
}
