/* threads.c — where splitting an elementwise kernel across the thread pool starts to
 * pay: the Adam update of one parameter of n floats (the training step's largest
 * memory-bound pass) compiled for 1 thread and for 2 threads with every size split
 * (the threshold forced down), timed in alternation in the same run; prints min and
 * median microseconds per run and the ratio 1 thread / 2 threads. The shipped
 * threshold (CG_SPLIT_MIN elements per part) sits where the ratio passes 1 with room.
 * Then the Fashion-MNIST MLP's whole training step, 1 thread against T.
 *
 *   bench_threads [--backend tcc|cc] [--rounds R] [--threads T]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nabla.h"
#include "rt.h"
#include "bench_util.h"

/* The Adam step of a parameter of n floats with the gradient as an input. */
static nb_program *adam_program(int64_t n, nb_backend backend, int threads, float *grad, float *lr)
{
    nb_graph *g = nb_graph_new();
    nb_node *w = nb_param(g, "w", NB_F32, 1, &n);
    nb_node *gr = nb_input(g, "g", NB_F32, 1, &n);
    nb_node *lrn = nb_input(g, "lr", NB_F32, 0, NULL);
    nb_update upd[NB_ADAM_UPDATES_PER_PARAM];
    int nu = nb_adam(g, lrn, &w, &gr, 1, NULL, upd, NB_ADAM_UPDATES_PER_PARAM);
    /* A program needs an output: the learning rate, a scalar copy. */
    nb_compile_options opt = {.outputs = &lrn,
                              .n_outputs = 1,
                              .updates = upd,
                              .n_updates = nu,
                              .backend = backend,
                              .threads = threads};
    nb_program *p = nu > 0 ? nb_compile(g, &opt) : NULL;
    if (!p) {
        fprintf(stderr, "bench_threads: %s\n", nb_graph_error(g));
        exit(1);
    }
    nb_graph_free(g);
    nb_program_bind(p, "g", grad);
    nb_program_bind(p, "lr", lr);
    return p;
}

/* The Fashion-MNIST MLP's training step (784-256-128-10, batch 64, cross-entropy,
 * Adam) on fixed data, for `threads` threads with the shipped threshold. */
static nb_program *mlp_program(nb_backend backend, int threads, float *x, int32_t *y, float *lr)
{
    static const char *names[6] = {"w1", "b1", "w2", "b2", "w3", "b3"};
    int64_t shapes[6][2] = {{784, 256}, {256, 0}, {256, 128}, {128, 0}, {128, 10}, {10, 0}};
    int64_t xs[2] = {64, 784}, ys[1] = {64};
    nb_graph *g = nb_graph_new();
    nb_node *p[6], *grads[6];
    for (int i = 0; i < 6; i++)
        p[i] = nb_param(g, names[i], NB_F32, i % 2 ? 1 : 2, shapes[i]);
    nb_node *h = nb_input(g, "x", NB_F32, 2, xs), *labels = nb_input(g, "y", NB_I32, 1, ys);
    nb_node *lrn = nb_input(g, "lr", NB_F32, 0, NULL);
    for (int l = 0; l < 3; l++) {
        h = nb_add(g, nb_matmul(g, h, p[2 * l]), p[2 * l + 1]);
        if (l < 2)
            h = nb_relu(g, h);
    }
    nb_node *loss = nb_cross_entropy(g, h, labels, NB_REDUCTION_MEAN);
    nb_grad(g, loss, p, 6, grads);
    nb_update upd[6 * NB_ADAM_UPDATES_PER_PARAM];
    int nu = nb_adam(g, lrn, p, grads, 6, NULL, upd, 6 * NB_ADAM_UPDATES_PER_PARAM);
    nb_compile_options opt = {.outputs = &loss,
                              .n_outputs = 1,
                              .updates = upd,
                              .n_updates = nu,
                              .backend = backend,
                              .threads = threads};
    nb_program *prog = nu > 0 ? nb_compile(g, &opt) : NULL;
    if (!prog) {
        fprintf(stderr, "bench_threads: %s\n", nb_graph_error(g));
        exit(1);
    }
    nb_graph_free(g);
    for (int i = 0; i < 6; i += 2)
        nb_program_init_linear(prog, names[i], names[i + 1], 1);
    nb_program_bind(prog, "x", x);
    nb_program_bind(prog, "y", y);
    nb_program_bind(prog, "lr", lr);
    return prog;
}

/* Seconds per run: the mean over enough runs to take about 2 ms. */
static double time_runs(nb_program *p, int runs)
{
    double t0 = bench_seconds();
    for (int i = 0; i < runs; i++)
        nb_program_run(p);
    return (bench_seconds() - t0) / runs;
}

int main(int argc, char **argv)
{
    nb_backend backend = NB_BACKEND_CC;
    int rounds = 15, threads = 2;
    for (int i = 1; i < argc; i += 2) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = v != NULL;
        if (ok && !strcmp(argv[i], "--backend") && (!strcmp(v, "tcc") || !strcmp(v, "cc")))
            backend = !strcmp(v, "tcc") ? NB_BACKEND_TCC : NB_BACKEND_CC;
        else if (ok && !strcmp(argv[i], "--rounds"))
            ok = bench_parse_int(v, 1, 1000, &rounds) == 0;
        else if (ok && !strcmp(argv[i], "--threads"))
            ok = bench_parse_int(v, 2, 64, &threads) == 0;
        else
            ok = 0;
        if (!ok) {
            fprintf(stderr, "usage: %s [--backend tcc|cc] [--rounds 1..1000] [--threads 2..64]\n",
                    argv[0]);
            return 2;
        }
    }
    static const int64_t sizes[] = {4096,   8192,   16384,  32768,  65536,
                                    131072, 200704, 524288, 2097152};
    printf("Adam update of n floats, %s backend, 1 vs %d threads (every size split), %d rounds\n",
           backend == NB_BACKEND_CC ? "cc" : "tcc", threads, rounds);
    printf("%9s %21s %21s %12s\n", "n", "1 thread us min/med", "split us min/med", "ratio min/med");
    float lr = 1e-3f;
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        int64_t n = sizes[s];
        float *grad = malloc((size_t)n * sizeof *grad);
        double *t1 = malloc((size_t)rounds * sizeof *t1), *t2 = malloc((size_t)rounds * sizeof *t2);
        if (!grad || !t1 || !t2)
            return 1;
        for (int64_t i = 0; i < n; i++)
            grad[i] = (float)((i * 7919 % 2001) - 1000) * 1e-3f;
        nb_program *one = adam_program(n, backend, 1, grad, &lr);
        rt_threads_set_split_min(CG_SPLIT_GRAIN);
        nb_program *two = adam_program(n, backend, threads, grad, &lr);
        rt_threads_set_split_min(0);
        int runs = (int)(4000000 / n) + 1;
        time_runs(one, runs);
        time_runs(two, runs);
        for (int r = 0; r < rounds; r++) {
            t1[r] = time_runs(one, runs) * 1e6;
            t2[r] = time_runs(two, runs) * 1e6;
        }
        double min1, med1, min2, med2;
        bench_min_median(t1, rounds, &min1, &med1);
        bench_min_median(t2, rounds, &min2, &med2);
        printf("%9lld %10.1f %10.1f %10.1f %10.1f %6.2f %5.2f\n", (long long)n, min1, med1,
               min2, med2, min1 / min2, med1 / med2);
        fflush(stdout);
        nb_program_free(one);
        nb_program_free(two);
        free(grad);
        free(t1);
        free(t2);
    }
    /* The whole training step, both programs with the shipped threshold. */
    static float x[64 * 784];
    static int32_t y[64];
    for (int i = 0; i < 64 * 784; i++)
        x[i] = (float)(i * 7919 % 256) / 255.0f;
    for (int i = 0; i < 64; i++)
        y[i] = i % 10;
    nb_program *one = mlp_program(backend, 1, x, y, &lr);
    nb_program *two = mlp_program(backend, threads, x, y, &lr);
    double *t1 = malloc((size_t)rounds * sizeof *t1), *t2 = malloc((size_t)rounds * sizeof *t2);
    if (!t1 || !t2)
        return 1;
    time_runs(one, 50);
    time_runs(two, 50);
    for (int r = 0; r < rounds; r++) {
        t1[r] = time_runs(one, 50) * 1e6;
        t2[r] = time_runs(two, 50) * 1e6;
    }
    double min1, med1, min2, med2;
    bench_min_median(t1, rounds, &min1, &med1);
    bench_min_median(t2, rounds, &min2, &med2);
    printf("MLP step 784-256-128-10, batch 64, Adam: 1 thread %.1f / %.1f us, %d threads %.1f / "
           "%.1f us (min / median), ratio %.2f / %.2f\n",
           min1, med1, threads, min2, med2, min1 / min2, med1 / med2);
    nb_program_free(one);
    nb_program_free(two);
    free(t1);
    free(t2);
    return 0;
}
