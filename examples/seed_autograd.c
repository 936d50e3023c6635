/* seed_autograd.c — the PyTorch autograd tutorial, compiled: y = x^2, a logistic
 * regression with binary cross-entropy, a vector mean, the generated C, and timing.
 * `seed_autograd --write-graph FILE` writes the logistic regression as a graph file
 * instead (examples/seed_logistic.nbg is its output). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nabla.h"

#define CALLS 1000000L /* runs timed per backend */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Compiles outputs of g, or prints the graph's error and exits. Frees the graph: the
 * program no longer needs it. The examples use NB_BACKEND_AUTO: a program runs at once on
 * libtcc's code, and on cc's as soon as its build in the background ends. */
static nb_program *compile_or_die(nb_graph *g, nb_node **outs, int n, nb_backend backend)
{
    nb_compile_options opt = {.outputs = outs, .n_outputs = n, .backend = backend};
    nb_program *p = nb_compile(g, &opt);
    if (!p) {
        fprintf(stderr, "compile failed: %s\n", nb_graph_error(g));
        exit(1);
    }
    nb_graph_free(g);
    return p;
}

static void run_or_die(nb_program *p)
{
    if (nb_program_run(p) != 0) {
        fprintf(stderr, "run failed: %s\n", nb_program_error(p));
        exit(1);
    }
}

static float out(const nb_program *p, int i)
{
    return *(const float *)nb_program_output(p, i);
}

/* (a) y = x^2 at x = 3: dy/dx = 2x = 6. */
static void square(void)
{
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 0, NULL);
    nb_node *y = nb_square(g, x);
    nb_node *dx;
    nb_grad(g, y, &x, 1, &dx);
    nb_node *outs[] = {y, dx};
    nb_program *p = compile_or_die(g, outs, 2, NB_BACKEND_AUTO);
    float xv = 3.0f;
    nb_program_bind(p, "x", &xv);
    run_or_die(p);
    printf("(a) y = x^2 at x = 3: y = %.4f, dy/dx = %.4f\n", out(p, 0), out(p, 1));
    nb_program_free(p);
}

/* (b) The tutorial's logistic regression: z = w x + b, p = sigmoid(z), loss = binary
 * cross-entropy with p clamped to [1e-8, 1 - 1e-8]; outs[] gets the loss and its
 * gradients with respect to w and b, leaves[] x, y, w, b. */
static nb_graph *logistic_graph(nb_node **outs, nb_node **leaves)
{
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 0, NULL);
    nb_node *y = nb_input(g, "y", NB_F32, 0, NULL);
    nb_node *w = nb_param(g, "w", NB_F32, 0, NULL);
    nb_node *b = nb_param(g, "b", NB_F32, 0, NULL);
    nb_node *z = nb_name(g, nb_add(g, nb_mul(g, w, x), b), "z");
    nb_node *p = nb_name(g, nb_sigmoid(g, z), "p");
    nb_node *loss = nb_name(g, nb_bce(g, p, y, NB_REDUCTION_MEAN), "loss");
    nb_node *params[] = {w, b}, *grads[2] = {NULL, NULL};
    nb_grad(g, loss, params, 2, grads);
    outs[0] = loss;
    outs[1] = nb_name(g, grads[0], "dloss/dw");
    outs[2] = nb_name(g, grads[1], "dloss/db");
    leaves[0] = x, leaves[1] = y, leaves[2] = w, leaves[3] = b;
    return g;
}

static nb_program *logistic(nb_backend backend)
{
    nb_node *outs[3], *leaves[4];
    nb_graph *g = logistic_graph(outs, leaves);
    return compile_or_die(g, outs, 3, backend);
}

/* Writes (b) as a graph file holding its values (x = 6.7, y = 0, w = 1, b = 0) and its
 * three outputs: examples/seed_logistic.nbg, which `nabla run` runs as it is. */
static int write_graph(const char *path)
{
    nb_node *outs[3], *leaves[4];
    nb_graph *g = logistic_graph(outs, leaves);
    double values[4] = {6.7f, 0, 1, 0}; /* 6.7 as the f32 input holds it */
    nb_leaf_value v[4];
    for (int i = 0; i < 4; i++)
        v[i] = (nb_leaf_value){leaves[i], &values[i]};
    nb_graph_extras x = {.outputs = outs, .n_outputs = 3, .values = v, .n_values = 4};
    char err[512];
    int rc = nb_graph_save(g, &x, path, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "seed_autograd: %s\n", nb_graph_error(g) ? nb_graph_error(g) : err);
    nb_graph_free(g);
    return rc ? 1 : 0;
}

/* (c) x = [1, 2, 3], y = mean(x^2): dy/dx = 2x / 3. */
static void vector_mean(void)
{
    int64_t n = 3;
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 1, &n);
    nb_node *y = nb_mean(g, nb_square(g, x), NULL, 0, 0);
    nb_node *dx;
    nb_grad(g, y, &x, 1, &dx);
    nb_node *outs[] = {y, dx};
    nb_program *p = compile_or_die(g, outs, 2, NB_BACKEND_AUTO);
    float xv[3] = {1, 2, 3};
    nb_program_bind(p, "x", xv);
    run_or_die(p);
    const float *d = nb_program_output(p, 1);
    printf("(c) y = mean(x^2), x = [1, 2, 3]: y = %.4f, dy/dx = [%.4f, %.4f, %.4f]\n", out(p, 0),
           d[0], d[1], d[2]);
    nb_program_free(p);
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--write-graph"))
        return write_graph(argv[2]);
    if (argc != 1) {
        fprintf(stderr, "usage: seed_autograd [--write-graph FILE.nbg]\n");
        return 2;
    }
    square();

    double t0 = now();
    nb_program *p = logistic(NB_BACKEND_AUTO);
    double build = now() - t0;
    float x = 6.7f, y = 0.0f, w = 1.0f, b = 0.0f;
    nb_program_bind(p, "x", &x);
    nb_program_bind(p, "y", &y);
    nb_program_set_param(p, "w", &w, sizeof w);
    nb_program_set_param(p, "b", &b, sizeof b);
    run_or_die(p);
    printf("(b) logistic regression, x = 6.7, y = 0, w = 1, b = 0:\n"
           "    loss = %.4f, dL/dw = %.4f, dL/db = %.4f\n",
           out(p, 0), out(p, 1), out(p, 2));

    vector_mean();

    printf("(d) the generated C of (b):\n\n%s\n", nb_program_source(p));

    /* With a warm cache cc's code is in within a millisecond: libtcc's code is timed
     * on a twin program compiled with NB_BACKEND_TCC. */
    nb_program *t = logistic(NB_BACKEND_TCC);
    nb_program_bind(t, "x", &x);
    nb_program_bind(t, "y", &y);
    nb_program_set_param(t, "w", &w, sizeof w);
    nb_program_set_param(t, "b", &b, sizeof b);
    double tcc_seconds = nb_program_compile_seconds(p);
    t0 = now();
    for (long i = 0; i < CALLS; i++)
        nb_program_run(t);
    double tcc_time = now() - t0;
    nb_program_free(t);
    printf("(e) (b) compiled in %.3f ms (libtcc %.3f ms, building the graph and its C %.3f ms);\n"
           "    %ld runs of forward + backward on libtcc's code: %.1f ns per call\n",
           build * 1e3, tcc_seconds * 1e3, (build - tcc_seconds) * 1e3, (long)CALLS,
           tcc_time / (double)CALLS * 1e9);
    if (nb_program_wait_tier(p) != NB_BACKEND_CC) {
        printf("    cc's build failed, the runs stay on libtcc's code: %s\n",
               nb_program_tier_error(p));
    } else {
        nb_program_run(p); /* swaps cc's code in, if no run did yet */
        t0 = now();
        for (long i = 0; i < CALLS; i++)
            nb_program_run(p);
        double cc_time = now() - t0;
        printf("    cc's build of the same C, in the background: %.3f ms;\n"
               "    %ld runs of forward + backward on cc's code: %.1f ns per call\n",
               nb_program_compile_seconds(p) * 1e3, (long)CALLS, cc_time / (double)CALLS * 1e9);
    }
    nb_program_free(p);
    return 0;
}
