/* conv.c — a benchmark, not a test: the two convolution layers of the Fashion-MNIST CNN
 * (issue 11, item 6) at batch 64, each compiled with tcc and cc and timed in the same run.
 *
 * Cases: conv1 (x [64,1,28,28], weight [32,1,3,3], bias, padding 1) and conv2 (x
 * [64,32,14,14], weight [64,32,3,3], bias, padding 1), each forward alone and forward
 * with the gradients of sum(y * gy) for x, weight and bias. bench/conv_torch.py times
 * the same cases with PyTorch; --torch-us gives this run its numbers (min microseconds
 * of conv1 forward, conv1 step, conv2 forward, conv2 step, in that order) so that the
 * ratios are printed.
 *
 * --threads N (default 2) is the programs' thread count. Each timing is the wall time of
 * one call (a run of the program), --repeat rounds of enough calls to take about 0.2 s;
 * min and median over the rounds are printed, in microseconds per call. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_program.h"
#include "bench_util.h"
#include "nabla.h"

#define BENCH_ROUNDS_DEFAULT 5
#define BENCH_CASES 4

typedef struct layer {
    const char *name;
    int64_t x[4], w[4];
    int64_t pad;
} layer;

static const layer layers[2] = {
    {"conv1", {64, 1, 28, 28}, {32, 1, 3, 3}, 1},
    {"conv2", {64, 32, 14, 14}, {64, 32, 3, 3}, 1},
};

static int64_t numel(const int64_t *s, int r)
{
    int64_t n = 1;
    for (int i = 0; i < r; i++)
        n *= s[i];
    return n;
}

/* Builds layer l (forward only, or with its gradients), compiles it on backend b and
 * times it. 0, or -1 with a message. */
static int bench_layer(const layer *l, int grads, nb_backend b, int threads, int rounds,
                       double *min, double *median)
{
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 4, l->x);
    nb_node *w = nb_input(g, "w", NB_F32, 4, l->w);
    nb_node *bias = nb_input(g, "b", NB_F32, 1, l->w);
    nb_conv_options o = {.padding = {l->pad, l->pad}};
    nb_node *y = nb_conv2d(g, x, w, bias, &o);
    nb_node *outs[4] = {y};
    int n_outs = 1;
    nb_node *gy = NULL;
    if (y && grads) {
        gy = nb_input(g, "gy", NB_F32, 4, nb_node_shape(y));
        nb_node *loss = nb_sum(g, nb_mul(g, y, gy), NULL, 0, 0);
        nb_node *xs[3] = {x, w, bias};
        if (nb_grad(g, loss, xs, 3, outs + 1) == 0)
            n_outs = 4;
    }
    nb_compile_options opt = {
        .outputs = outs, .n_outputs = n_outs, .backend = b, .threads = threads};
    nb_program *p = y && (!grads || n_outs == 4) ? nb_compile(g, &opt) : NULL;
    if (!p) {
        fprintf(stderr, "%s: %s\n", l->name, nb_graph_error(g));
        nb_graph_free(g);
        return -1;
    }
    int64_t nx = numel(l->x, 4), nw = numel(l->w, 4), ny = numel(nb_node_shape(y), 4);
    float *data = malloc(sizeof(float) * (size_t)(nx + nw + l->w[0] + ny));
    bench_fill(data, nx + nw + l->w[0] + ny, 1);
    nb_program_bind(p, "x", data);
    nb_program_bind(p, "w", data + nx);
    nb_program_bind(p, "b", data + nx + nw);
    if (grads)
        nb_program_bind(p, "gy", data + nx + nw + l->w[0]);
    bench_time(bench_run_program, p, rounds, CLOCK_MONOTONIC, min, median);
    free(data);
    nb_program_free(p);
    nb_graph_free(g);
    return 0;
}

int main(int argc, char **argv)
{
    int threads = 2, rounds = BENCH_ROUNDS_DEFAULT;
    double torch_us[BENCH_CASES] = {0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc &&
            bench_parse_int(argv[i + 1], 1, 256, &threads) == 0)
            i++;
        else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc &&
                 bench_parse_int(argv[i + 1], 1, BENCH_ROUNDS_MAX, &rounds) == 0)
            i++;
        else if (strcmp(argv[i], "--torch-us") == 0 && i + BENCH_CASES < argc) {
            for (int k = 0; k < BENCH_CASES; k++)
                torch_us[k] = atof(argv[++i]);
        } else {
            fprintf(stderr, "usage: %s [--threads N] [--repeat N] [--torch-us c1f c1s c2f c2s]\n",
                    argv[0]);
            return 2;
        }
    }
    static const nb_backend backends[2] = {NB_BACKEND_TCC, NB_BACKEND_CC};
    static const char *const backend_names[2] = {"tcc", "cc"};
    printf("nabla, %d threads\n", threads);
    for (int li = 0; li < 2; li++)
        for (int grads = 0; grads < 2; grads++)
            for (int bi = 0; bi < 2; bi++) {
                double min, median;
                char label[64];
                snprintf(label, sizeof label, "%s %s %s", layers[li].name,
                         grads ? "forward+backward" : "forward", backend_names[bi]);
                if (bench_layer(&layers[li], grads, backends[bi], threads, rounds, &min, &median) !=
                    0)
                    return 1;
                printf("  %-28s min %10.2f us  median %10.2f us", label, min * 1e6, median * 1e6);
                double base = torch_us[li * 2 + grads];
                if (base > 0)
                    printf("  %5.2fx torch's time", min * 1e6 / base);
                printf("\n");
            }
    return 0;
}
