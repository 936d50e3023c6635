/* compile_time.c — a benchmark, not a test: how compile time grows with graph size.
 * The default graph (--graph sum) is acc = acc + x * c_i for N terms (x a scalar input,
 * c_i distinct constants) with the gradient d acc / d x appended by nb_grad. --graph
 * deep is a training step instead: h = tanh(h * w_i) through N layers of parameters
 * w_i[4], the gradient of sum(h) for every w_i and an SGD update of each, so that many
 * results stay live from the forward pass to the backward pass and the program has
 * as many parameter updates as layers. Each phase of compiling with libtcc is timed:
 * graph building, autodiff, the verifier, ir_simplify, cg_generate and libtcc. The
 * benchmark prints the cost per node of every phase at each size and the ratio of the
 * largest size's per-node cost to the smallest's: a linear compiler keeps it near 1.
 * Times are the CPU time of the thread (the machines are shared). Each size runs
 * --repeat times; the minimum and the median are printed. The compiled
 * program is run once per size; for the sum graph its two outputs are checked against
 * closed forms (acc = x * sum c_i, d acc / d x = sum c_i), so a fast but wrong compile
 * shows. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cg.h"
#include "ir.h"
#include "nabla.h"
#include "rt.h"

/* CPU seconds of this thread: the machines are shared, and wall time counts the time
 * other processes hold the CPU. libtcc runs in this thread too. */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

enum { PH_BUILD, PH_GRAD, PH_VERIFY, PH_SIMPLIFY, PH_CODEGEN, PH_TCC, PH_COUNT };
static const char *const phase_names[PH_COUNT] = {"build",    "grad",    "verify",
                                                  "simplify", "codegen", "tcc"};

#define MAX_SIZES 16
#define MAX_REPEAT 64
#define ERR_SIZE 1024

/* The constant of term i: distinct, never 0 or 1 (which the simplifier would drop). */
static double term_constant(long i)
{
    return 1.0 + (double)(i % 1000 + 1) / 1024.0 + (double)(i / 1000);
}

typedef struct run_result {
    double seconds[PH_COUNT];
    int nodes;          /* in the user's graph after nb_grad */
    int simple_nodes;   /* after ir_simplify */
    size_t source_size; /* bytes of generated C */
} run_result;

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

enum { GRAPH_SUM, GRAPH_DEEP };
#define DEEP_WIDTH 4

/* The graph being compiled: outputs, and for the deep graph its SGD updates. */
typedef struct bench_graph {
    nb_graph *g;
    nb_node *outs[2];
    int n_outs;
    nb_update *updates;
    int n_updates;
} bench_graph;

static void build_sum(bench_graph *b, long terms)
{
    nb_graph *g = b->g;
    nb_node *x = nb_input(g, "x", NB_F32, 0, NULL);
    nb_node *acc = nb_mul(g, x, nb_scalar(g, NB_F32, term_constant(0)));
    for (long i = 1; i < terms; i++)
        acc = nb_add(g, acc, nb_mul(g, x, nb_scalar(g, NB_F32, term_constant(i))));
    b->outs[0] = acc;
    b->n_outs = 2;
}

static int grad_sum(bench_graph *b)
{
    nb_graph *g = b->g;
    nb_node *x = g->nodes[0];
    return nb_grad(g, b->outs[0], &x, 1, &b->outs[1]);
}

static void build_deep(bench_graph *b, long layers)
{
    nb_graph *g = b->g;
    nb_node *h = nb_input(g, "x", NB_F32, 1, (int64_t[]){DEEP_WIDTH});
    nb_input(g, "lr", NB_F32, 0, NULL);
    for (long i = 0; i < layers; i++) {
        char name[32];
        snprintf(name, sizeof name, "w%ld", i);
        h = nb_tanh(g, nb_mul(g, h, nb_param(g, name, NB_F32, 1, (int64_t[]){DEEP_WIDTH})));
    }
    b->outs[0] = nb_sum(g, h, NULL, 0, 0);
    b->n_outs = 1;
}

static int grad_deep(bench_graph *b)
{
    nb_graph *g = b->g;
    int n = g->n_params, rc = -1;
    nb_node **params = malloc((size_t)n * sizeof *params);
    nb_node **grads = malloc((size_t)n * sizeof *grads);
    b->updates = malloc((size_t)n * NB_SGD_UPDATES_PER_PARAM * sizeof *b->updates);
    if (params && grads && b->updates) {
        for (int id = 0, k = 0; id < g->n_nodes; id++)
            if (g->nodes[id]->op == IR_OP_PARAM)
                params[k++] = g->nodes[id];
        if (nb_grad(g, b->outs[0], params, n, grads) == 0)
            b->n_updates = nb_sgd(g, g->nodes[1], params, grads, n, NULL, b->updates,
                                  n * NB_SGD_UPDATES_PER_PARAM);
        rc = b->n_updates > 0 ? 0 : -1;
    }
    free(params);
    free(grads);
    return rc;
}

/* Builds, differentiates and compiles a graph of `terms` terms (or layers); runs it
 * when check is set. 0, or -1 after printing what failed. */
static int run_once(int graph, long terms, int check, run_result *res)
{
    char err[ERR_SIZE];
    int rc = -1;
    ir_graph *s = NULL;
    cg_program cg = {0};
    rt_jit jit = {0};
    unsigned char *arena = NULL, *state = NULL;
    ir_node **roots = NULL, **mapped = NULL;
    bench_graph b = {0};
    memset(res, 0, sizeof *res);

    double t = cpu_seconds();
    b.g = nb_graph_new();
    if (graph == GRAPH_SUM)
        build_sum(&b, terms);
    else
        build_deep(&b, terms);
    res->seconds[PH_BUILD] = cpu_seconds() - t;

    t = cpu_seconds();
    if (!nb_graph_error(b.g))
        graph == GRAPH_SUM ? grad_sum(&b) : grad_deep(&b);
    res->seconds[PH_GRAD] = cpu_seconds() - t;
    nb_graph *g = b.g;
    if (nb_graph_error(g)) {
        fprintf(stderr, "graph: %s\n", nb_graph_error(g));
        goto done;
    }
    res->nodes = g->n_nodes;

    t = cpu_seconds();
    if (ir_verify(g, err, sizeof err) != 0) {
        fprintf(stderr, "verify: %s\n", err);
        goto done;
    }
    res->seconds[PH_VERIFY] = cpu_seconds() - t;

    /* As nb_compile does: outputs, update values, updated parameters. */
    int no = b.n_outs, nu = b.n_updates;
    roots = malloc((size_t)(no + 2 * nu) * sizeof *roots);
    mapped = malloc((size_t)(no + 2 * nu) * sizeof *mapped);
    if (!roots || !mapped)
        goto done;
    for (int i = 0; i < no; i++)
        roots[i] = b.outs[i];
    for (int i = 0; i < nu; i++) {
        roots[no + i] = b.updates[i].value;
        roots[no + nu + i] = b.updates[i].param;
    }
    t = cpu_seconds();
    s = ir_simplify(g, roots, no + 2 * nu, mapped);
    res->seconds[PH_SIMPLIFY] = cpu_seconds() - t;
    if (!s) {
        fprintf(stderr, "simplify: %s\n", nb_graph_error(g));
        goto done;
    }
    res->simple_nodes = s->n_nodes;

    cg_request rq = {mapped, no, mapped + no + nu, mapped + no, nu, CG_RT_LINK_SYMBOLS, NULL, 0};
    t = cpu_seconds();
    if (cg_generate(s, &rq, &cg) != 0) {
        fprintf(stderr, "codegen: %s\n", s->error);
        goto done;
    }
    res->seconds[PH_CODEGEN] = cpu_seconds() - t;
    res->source_size = strlen(cg.source);

    t = cpu_seconds();
    if (rt_tcc_compile(cg.source, &jit, err, sizeof err) != 0) {
        fprintf(stderr, "tcc: %s\n", err);
        goto done;
    }
    res->seconds[PH_TCC] = cpu_seconds() - t;

    if (check) {
        float in_x[DEEP_WIDTH] = {0.5f, 0.25f, -0.5f, 1}, lr = 0.01f;
        const void *in[2] = {in_x, &lr};
        arena = calloc(1, cg.arena_size + 64);
        state = calloc(1, cg.state_size + 64);
        if (!arena || !state || jit.entry(in, arena, state) != 0) {
            fprintf(stderr, "run failed\n");
            goto done;
        }
        double sum = 0;
        for (long i = 0; i < terms && graph == GRAPH_SUM; i++)
            sum += (double)(float)term_constant(i);
        double want[2] = {0.5 * sum, sum};
        for (int o = 0; o < 2 && graph == GRAPH_SUM; o++) {
            float got;
            memcpy(&got, arena + cg.outputs[o].offset, sizeof got);
            /* f32 sums of `terms` terms: the bound of a sequential sum, terms * 2^-24. */
            if (fabs(got - want[o]) > 6e-8 * (double)terms * fabs(want[o])) {
                fprintf(stderr, "output %d is %.9g, expected %.9g\n", o, got, want[o]);
                goto done;
            }
        }
    }
    rc = 0;
done:
    free(arena);
    free(state);
    free(roots);
    free(mapped);
    free(b.updates);
    if (jit.state)
        rt_tcc_free(&jit);
    cg_program_free(&cg);
    ir_graph_free(s);
    nb_graph_free(b.g);
    return rc;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_compile_time [--graph sum|deep] [--repeat R] [--sizes N1,...]\n"
                    "  sizes are approximate node counts after nb_grad (default "
                    "1000,10000,100000,250000); R defaults to 3\n");
}

int main(int argc, char **argv)
{
    long sizes[MAX_SIZES] = {1000, 10000, 100000, 250000};
    int n_sizes = 4, repeat = 3, graph = GRAPH_SUM;
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--graph") && a + 1 < argc && !strcmp(argv[a + 1], "sum")) {
            graph = GRAPH_SUM, a++;
        } else if (!strcmp(argv[a], "--graph") && a + 1 < argc && !strcmp(argv[a + 1], "deep")) {
            graph = GRAPH_DEEP, a++;
        } else if (!strcmp(argv[a], "--repeat") && a + 1 < argc) {
            repeat = atoi(argv[++a]);
        } else if (!strcmp(argv[a], "--sizes") && a + 1 < argc) {
            char *p = argv[++a];
            n_sizes = 0;
            while (*p && n_sizes < MAX_SIZES) {
                sizes[n_sizes++] = strtol(p, &p, 10);
                if (*p == ',')
                    p++;
            }
        } else {
            usage();
            return 2;
        }
    }
    if (repeat < 1 || repeat > MAX_REPEAT || n_sizes < 1) {
        usage();
        return 2;
    }
    for (int i = 0; i < n_sizes; i++)
        if (sizes[i] < 20) {
            usage();
            return 2;
        }

    /* Per size and phase: min and median of seconds per node. */
    double min_per_node[MAX_SIZES][PH_COUNT + 1], med_per_node[MAX_SIZES][PH_COUNT + 1];
    printf("compile CPU time per node (ns), min / median of %d runs; total = all phases\n", repeat);
    printf("%8s %8s %9s", "nodes", "after", "C bytes");
    for (int p = 0; p < PH_COUNT; p++)
        printf(" %15s", phase_names[p]);
    printf(" %15s\n", "total");
    for (int si = 0; si < n_sizes; si++) {
        /* After nb_grad: about 5 nodes per term, or 12 per layer with SGD. */
        long terms = sizes[si] / (graph == GRAPH_SUM ? 5 : 12);
        double samples[PH_COUNT + 1][MAX_REPEAT];
        run_result res;
        for (int r = 0; r < repeat; r++) {
            if (run_once(graph, terms, r == 0, &res) != 0)
                return 1;
            double total = 0;
            for (int p = 0; p < PH_COUNT; p++) {
                samples[p][r] = res.seconds[p] / res.nodes;
                total += res.seconds[p];
            }
            samples[PH_COUNT][r] = total / res.nodes;
        }
        printf("%8d %8d %9zu", res.nodes, res.simple_nodes, res.source_size);
        for (int p = 0; p <= PH_COUNT; p++) {
            qsort(samples[p], (size_t)repeat, sizeof samples[p][0], compare_double);
            min_per_node[si][p] = samples[p][0];
            med_per_node[si][p] = samples[p][repeat / 2];
            printf(" %7.0f/%-7.0f", 1e9 * min_per_node[si][p], 1e9 * med_per_node[si][p]);
        }
        printf("\n");
        fflush(stdout);
    }
    if (n_sizes > 1) {
        printf("ratio of per-node cost, %ld nodes vs %ld (min / median):\n", sizes[n_sizes - 1],
               sizes[0]);
        for (int p = 0; p <= PH_COUNT; p++)
            printf("  %-9s %5.2f / %5.2f\n", p < PH_COUNT ? phase_names[p] : "total",
                   min_per_node[n_sizes - 1][p] / min_per_node[0][p],
                   med_per_node[n_sizes - 1][p] / med_per_node[0][p]);
    }
    return 0;
}
