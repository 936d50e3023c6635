/* tiered.c — NB_BACKEND_AUTO against NB_BACKEND_TCC and NB_BACKEND_CC on the training
 * step of examples/fashion_mnist.c (784-256-128-10, ReLU, cross-entropy, Adam, batch
 * 64, synthetic data): the time from the start of nb_compile to the end of the first
 * run, and to the end of a number of steps (an epoch's 937 by default), with the cc
 * cache cold (a new directory) and warm. Each backend runs --repeat times in turn in one
 * process; the minimum and the median are printed with their ratio to tcc's and cc's.
 *
 *     build/bench/bench_tiered [--repeat R] [--steps N] [--threads T]
 */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nabla.h"
#include "bench_util.h"

#define BATCH 64
#define DIM 784
#define CLASSES 10
#define DIR_CHARS 64
#define MAX_REPEAT 50

/* The ways of compiling that are compared, in the order each repeat runs them. */
typedef struct mode {
    const char *name;
    nb_backend backend;
    int cold; /* a new cache directory (cc builds) rather than the last one */
} mode;

static const mode modes[] = {
    {"tcc", NB_BACKEND_TCC, 0},
    {"cc, cold cache", NB_BACKEND_CC, 1},
    {"cc, warm cache", NB_BACKEND_CC, 0},
    {"auto, cold cache", NB_BACKEND_AUTO, 1},
    {"auto, warm cache", NB_BACKEND_AUTO, 0},
};
#define N_MODES (int)(sizeof modes / sizeof *modes)

static nb_node *linear(nb_graph *g, nb_node *x, nb_node *w, nb_node *b)
{
    return nb_add(g, nb_matmul(g, x, w), b);
}

/* The example's training step. NULL with a message on failure. */
static nb_program *compile_step(nb_backend backend)
{
    static const char *names[6] = {"fc1.weight", "fc1.bias",   "fc2.weight",
                                   "fc2.bias",   "fc3.weight", "fc3.bias"};
    int64_t shapes[6][2] = {{DIM, 256}, {256, 0},       {256, 128},
                            {128, 0},   {128, CLASSES}, {CLASSES, 0}};
    int64_t xs[2] = {BATCH, DIM}, ys[1] = {BATCH};
    nb_graph *g = nb_graph_new();
    nb_node *p[6], *grads[6];
    for (int i = 0; i < 6; i++)
        p[i] = nb_param(g, names[i], NB_F32, i % 2 ? 1 : 2, shapes[i]);
    nb_node *x = nb_input(g, "x", NB_F32, 2, xs);
    nb_node *y = nb_input(g, "y", NB_I32, 1, ys);
    nb_node *lr = nb_input(g, "lr", NB_F32, 0, NULL);
    nb_node *h = nb_relu(g, linear(g, x, p[0], p[1]));
    h = nb_relu(g, linear(g, h, p[2], p[3]));
    nb_node *loss = nb_cross_entropy(g, linear(g, h, p[4], p[5]), y, NB_REDUCTION_MEAN);
    nb_grad(g, loss, p, 6, grads);
    nb_update updates[6 * NB_ADAM_UPDATES_PER_PARAM];
    int nu = nb_adam(g, lr, p, grads, 6, NULL, updates, 6 * NB_ADAM_UPDATES_PER_PARAM);
    nb_compile_options opt = {
        .outputs = &loss, .n_outputs = 1, .updates = updates, .n_updates = nu, .backend = backend};
    nb_program *prog = nu > 0 ? nb_compile(g, &opt) : NULL;
    if (!prog)
        fprintf(stderr, "bench_tiered: %s\n", nb_graph_error(g));
    nb_graph_free(g);
    for (int i = 0; prog && i < 6; i += 2)
        if (nb_program_init_linear(prog, names[i], names[i + 1], 1) != 0) {
            fprintf(stderr, "bench_tiered: %s\n", nb_program_error(prog));
            nb_program_free(prog);
            prog = NULL;
        }
    return prog;
}

/* Removes the cache directory and the objects in it (it has no subdirectories). */
static void remove_cache(const char *dir)
{
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            unlinkat(dirfd(d), e->d_name, 0);
    if (d)
        closedir(d);
    rmdir(dir);
}

/* One measurement: seconds from compile to the end of the first run and of the last
 * step, and for auto the step cc's code started at (0: never). */
typedef struct sample {
    double first, all;
    int swap_step;
} sample;

static int measure(const mode *m, int steps, const float *x, const int32_t *y, sample *s)
{
    static const float lr = 1e-3f;
    double t0 = bench_seconds();
    nb_program *p = compile_step(m->backend);
    if (!p)
        return -1;
    nb_program_bind(p, "x", x);
    nb_program_bind(p, "y", y);
    nb_program_bind(p, "lr", &lr);
    s->swap_step = 0;
    for (int i = 0; i < steps; i++) {
        if (!s->swap_step && m->backend == NB_BACKEND_AUTO &&
            nb_program_backend(p) == NB_BACKEND_CC)
            s->swap_step = i + 1; /* this run swaps it in */
        if (nb_program_run(p) != 0) {
            fprintf(stderr, "bench_tiered: %s\n", nb_program_error(p));
            nb_program_free(p);
            return -1;
        }
        if (i == 0)
            s->first = bench_seconds() - t0;
    }
    s->all = bench_seconds() - t0;
    nb_program_free(p);
    return 0;
}

int main(int argc, char **argv)
{
    int repeat = 3, steps = 937, threads = 2;
    for (int i = 1; i + 1 < argc; i += 2) {
        int v = atoi(argv[i + 1]);
        if (!strcmp(argv[i], "--repeat") && v >= 1 && v <= MAX_REPEAT)
            repeat = v;
        else if (!strcmp(argv[i], "--steps") && v >= 1)
            steps = v;
        else if (!strcmp(argv[i], "--threads") && v >= 1)
            threads = v;
        else {
            fprintf(stderr, "usage: bench_tiered [--repeat R (1-%d)] [--steps N] [--threads T]\n",
                    MAX_REPEAT);
            return 2;
        }
    }
    nb_set_threads(threads);
    float *x = malloc((size_t)BATCH * DIM * sizeof *x);
    int32_t y[BATCH];
    if (!x)
        return 1;
    for (int i = 0; i < BATCH * DIM; i++)
        x[i] = (float)((i * 37) % 256) / 255.0f;
    for (int i = 0; i < BATCH; i++)
        y[i] = (i * 7) % CLASSES;

    static double first[N_MODES][MAX_REPEAT], all[N_MODES][MAX_REPEAT];
    char dir[DIR_CHARS] = "";
    for (int r = 0; r < repeat; r++)
        for (int k = 0; k < N_MODES; k++) {
            const mode *m = &modes[k];
            if (m->backend != NB_BACKEND_TCC && (m->cold || !dir[0])) {
                if (dir[0])
                    remove_cache(dir);
                snprintf(dir, sizeof dir, "/tmp/nabla-bench-tiered-XXXXXX");
                if (!mkdtemp(dir))
                    return 1;
                setenv("NABLA_CACHE_DIR", dir, 1);
            }
            sample s;
            if (measure(m, steps, x, y, &s) != 0)
                return 1;
            first[k][r] = s.first;
            all[k][r] = s.all;
            printf("repeat %d, %-16s: first run %8.1f ms, %d steps %7.2f s", r + 1, m->name,
                   s.first * 1e3, steps, s.all);
            if (m->backend == NB_BACKEND_AUTO)
                printf(", cc's code from step %d", s.swap_step);
            printf("\n");
            fflush(stdout);
        }
    if (dir[0])
        remove_cache(dir);

    double mins[N_MODES][2], meds[N_MODES][2];
    for (int k = 0; k < N_MODES; k++) {
        bench_min_median(first[k], repeat, &mins[k][0], &meds[k][0]);
        bench_min_median(all[k], repeat, &mins[k][1], &meds[k][1]);
    }
    printf("\nfrom nb_compile to the end of the first run and of step %d (%d repeats, %d "
           "threads): min / median, and the medians' ratio to tcc's and to cc's (cold "
           "cache)\n",
           steps, repeat, threads);
    for (int k = 0; k < N_MODES; k++)
        printf("%-16s: first run %8.1f / %8.1f ms (x%.2f tcc, x%.3f cc)   %d steps %6.2f / %6.2f "
               "s (x%.2f tcc, x%.2f cc)\n",
               modes[k].name, mins[k][0] * 1e3, meds[k][0] * 1e3, meds[k][0] / meds[0][0],
               meds[k][0] / meds[1][0], steps, mins[k][1], meds[k][1], meds[k][1] / meds[0][1],
               meds[k][1] / meds[1][1]);
    free(x);
    return 0;
}
