/* compile_time.c — a benchmark, not a test: the CPU time of each compiler phase, and how
 * it grows with the size of the graph.
 *
 * Graphs (--graph):
 * - sum (default): acc = acc + x * c_i for N terms (x a scalar input, c_i distinct
 *   constants) with the gradient d acc / d x appended by nb_grad;
 * - deep: a training step, h = tanh(h * w_i) through N layers of parameters w_i[4], the
 *   gradient of sum(h) for every w_i and an SGD update of each, so that many results stay
 *   live from the forward pass to the backward pass and the program has as many
 *   parameter updates as layers;
 * - mlp: the training step of examples/fashion_mnist.c (784-256-128-10, ReLU,
 *   cross-entropy, Adam, batch 64), built with the public API as the example builds it:
 *   few nodes, large tensors, matmuls;
 * - all: the three in turn.
 *
 * Phases: build (builder calls), grad (nb_grad and the optimizer's builder), verify
 * (ir_verify), simplify (ir_simplify), plan and emit (the two halves of cg_generate, from
 * cg_request.times), tcc (libtcc: compile and relocate) and memory (the zeroed arena
 * and parameter state, allocated as nb_compile does: rt_alloc_zeroed). Times are the CPU time of
 * the thread (the machines are shared). Each size runs --repeat times; the minimum and the median
 * are printed, per node for the chains (and the ratio of the largest size's per-node cost to the
 * smallest's: a linear compiler keeps it near 1) and per compile for the MLP. The column cg/tcc is
 * codegen (plan + emit) over libtcc on the same program: issue 7 asks for codegen no slower than
 * the compiler it feeds (at most 1).
 *
 * The compiled program is run once per size; for the sum graph its two outputs are
 * checked against closed forms (acc = x * sum c_i, d acc / d x = sum c_i), for the MLP
 * the loss against ln 10 (every parameter starts at zero, so every logit is 0), so a
 * fast but wrong compile shows. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cg.h"
#include "ir.h"
#include "nabla.h"
#include "rt.h"
#include "bench_util.h"

/* CPU seconds of this thread: the machines are shared, and wall time counts the time
 * other processes hold the CPU. libtcc runs in this thread too. */
static double cpu_seconds(void)
{
    return bench_clock_seconds(CLOCK_THREAD_CPUTIME_ID);
}

enum { PH_BUILD, PH_GRAD, PH_VERIFY, PH_SIMPLIFY, PH_PLAN, PH_EMIT, PH_TCC, PH_MEMORY, PH_COUNT };
static const char *const phase_names[PH_COUNT] = {"build", "grad", "verify", "simplify",
                                                  "plan",  "emit", "tcc",    "memory"};
/* Columns after the phases: their sum, and codegen (plan + emit) over libtcc. */
enum { COL_TOTAL = PH_COUNT, COL_CG_TCC, COL_COUNT };

#define MAX_SIZES 16
#define MAX_REPEAT 64
#define ERR_SIZE 1024
/* Room for the CPU's model name, as /proc/cpuinfo spells it. */
#define CPU_NAME_SIZE 256
/* Room for a line of /proc/cpuinfo. */
#define LINE_SIZE 1024
/* Room for a parameter's name. */
#define NAME_SIZE 32

/* Runs of the MLP when --repeat is not given: one compile takes milliseconds, so many
 * runs cost little and steady the median. */
#define MLP_DEFAULT_REPEAT 21
#define CHAIN_DEFAULT_REPEAT 3

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

enum { GRAPH_SUM, GRAPH_DEEP, GRAPH_MLP, GRAPH_COUNT };
static const char *const graph_names[GRAPH_COUNT] = {"sum", "deep", "mlp"};
#define DEEP_WIDTH 4

/* The MLP of examples/fashion_mnist.c. */
#define MLP_BATCH 64
#define MLP_IN 784
#define MLP_CLASSES 10
#define MLP_PARAMS 6

/* The graph being compiled: its outputs, and the optimizer's updates. */
typedef struct bench_graph {
    nb_graph *g;
    nb_node *outs[2];
    int n_outs;
    nb_node *params[MLP_PARAMS]; /* the MLP's */
    nb_node *lr;                 /* the learning rate of deep and mlp */
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
    b->lr = nb_input(g, "lr", NB_F32, 0, NULL);
    for (long i = 0; i < layers; i++) {
        char name[NAME_SIZE];
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
            b->n_updates =
                nb_sgd(g, b->lr, params, grads, n, NULL, b->updates, n * NB_SGD_UPDATES_PER_PARAM);
        rc = b->n_updates > 0 ? 0 : -1;
    }
    free(params);
    free(grads);
    return rc;
}

static nb_node *mlp_linear(nb_graph *g, nb_node *x, nb_node *w, nb_node *bias)
{
    return nb_add(g, nb_matmul(g, x, w), bias);
}

/* As examples/fashion_mnist.c builds its training step: inputs x, y, lr (in this
 * order), parameters fc1..fc3, logits and the mean cross-entropy. */
static void build_mlp(bench_graph *b)
{
    static const char *const names[MLP_PARAMS] = {"fc1.weight", "fc1.bias",   "fc2.weight",
                                                  "fc2.bias",   "fc3.weight", "fc3.bias"};
    static const int64_t shapes[MLP_PARAMS][2] = {
        {MLP_IN, 256}, {256, 0}, {256, 128}, {128, 0}, {128, MLP_CLASSES}, {MLP_CLASSES, 0}};
    nb_graph *g = b->g;
    for (int i = 0; i < MLP_PARAMS; i++)
        b->params[i] = nb_param(g, names[i], NB_F32, i % 2 ? 1 : 2, shapes[i]);
    nb_node *x = nb_input(g, "x", NB_F32, 2, (int64_t[]){MLP_BATCH, MLP_IN});
    nb_node *y = nb_input(g, "y", NB_I32, 1, (int64_t[]){MLP_BATCH});
    b->lr = nb_input(g, "lr", NB_F32, 0, NULL);
    nb_node **p = b->params;
    nb_node *h = nb_relu(g, mlp_linear(g, x, p[0], p[1]));
    h = nb_relu(g, mlp_linear(g, h, p[2], p[3]));
    nb_node *logits = mlp_linear(g, h, p[4], p[5]);
    b->outs[0] = nb_cross_entropy(g, logits, y, NB_REDUCTION_MEAN);
    b->outs[1] = logits;
    b->n_outs = 2;
}

static int grad_mlp(bench_graph *b)
{
    nb_graph *g = b->g;
    nb_node *grads[MLP_PARAMS];
    int cap = MLP_PARAMS * NB_ADAM_UPDATES_PER_PARAM;
    if (!(b->updates = malloc((size_t)cap * sizeof *b->updates)))
        return -1;
    if (nb_grad(g, b->outs[0], b->params, MLP_PARAMS, grads) != 0)
        return -1;
    b->n_updates = nb_adam(g, b->lr, b->params, grads, MLP_PARAMS, NULL, b->updates, cap);
    return b->n_updates > 0 ? 0 : -1;
}

/* Checks the outputs of the program run once on arena and zeroed state. 0, or -1 after
 * printing what is wrong. */
static int check_outputs(int graph, long terms, const cg_program *cg, const unsigned char *arena)
{
    if (graph == GRAPH_SUM) {
        double sum = 0;
        for (long i = 0; i < terms; i++)
            sum += (double)(float)term_constant(i);
        double want[2] = {0.5 * sum, sum};
        for (int o = 0; o < 2; o++) {
            float got;
            memcpy(&got, arena + cg->outputs[o].offset, sizeof got);
            /* f32 sums of `terms` terms: the bound of a sequential sum, terms * 2^-24. */
            if (fabs(got - want[o]) > 6e-8 * (double)terms * fabs(want[o])) {
                fprintf(stderr, "output %d is %.9g, expected %.9g\n", o, got, want[o]);
                return -1;
            }
        }
    } else if (graph == GRAPH_MLP) {
        /* Zero parameters: every logit is 0, every row's loss ln 10, and so their mean. */
        float got;
        memcpy(&got, arena + cg->outputs[0].offset, sizeof got);
        if (fabs(got - log(MLP_CLASSES)) > 1e-6) {
            fprintf(stderr, "loss is %.9g, expected ln 10 = %.9g\n", got, log(MLP_CLASSES));
            return -1;
        }
    }
    return 0;
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
    const rt_backend *tcc = rt_backend_find(NB_BACKEND_TCC);
    unsigned char *arena = NULL, *state = NULL;
    void *arena_base = NULL, *state_base = NULL;
    ir_node **roots = NULL, **mapped = NULL;
    bench_graph b = {0};
    memset(res, 0, sizeof *res);

    double t = cpu_seconds();
    b.g = nb_graph_new();
    if (!b.g || !tcc) {
        fprintf(stderr, "setup failed\n");
        return -1;
    }
    if (graph == GRAPH_SUM)
        build_sum(&b, terms);
    else if (graph == GRAPH_DEEP)
        build_deep(&b, terms);
    else
        build_mlp(&b);
    res->seconds[PH_BUILD] = cpu_seconds() - t;

    t = cpu_seconds();
    if (!nb_graph_error(b.g))
        graph == GRAPH_SUM ? grad_sum(&b) : graph == GRAPH_DEEP ? grad_deep(&b) : grad_mlp(&b);
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

    cg_times times = {0};
    cg_request rq = {.outputs = mapped,
                     .n_outputs = no,
                     .upd_params = mapped + no + nu,
                     .upd_values = mapped + no,
                     .n_updates = nu,
                     .rt_link = tcc->rt_link,
                     .times = &times};
    if (cg_generate(s, &rq, &cg) != 0) {
        fprintf(stderr, "codegen: %s\n", s->error);
        goto done;
    }
    res->seconds[PH_PLAN] = times.plan_seconds;
    res->seconds[PH_EMIT] = times.emit_seconds;
    res->source_size = strlen(cg.source);

    t = cpu_seconds();
    if (tcc->compile(cg.source, &jit, err, sizeof err) != 0) {
        fprintf(stderr, "tcc: %s\n", err);
        goto done;
    }
    res->seconds[PH_TCC] = cpu_seconds() - t;

    t = cpu_seconds();
    arena = rt_alloc_zeroed(cg.arena_size, &arena_base);
    state = rt_alloc_zeroed(cg.state_size, &state_base);
    res->seconds[PH_MEMORY] = cpu_seconds() - t;
    if (!arena || !state) {
        fprintf(stderr, "out of memory\n");
        goto done;
    }

    if (check) {
        /* Inputs in order: the sum graph reads x; deep reads x, lr; mlp x, y, lr. */
        static float in_x[MLP_BATCH * MLP_IN];
        int32_t in_y[MLP_BATCH];
        float lr = 0.01f;
        for (int i = 0; i < MLP_BATCH * MLP_IN; i++)
            in_x[i] = (float)(i % 7) * 0.25f - 0.5f;
        for (int i = 0; i < MLP_BATCH; i++)
            in_y[i] = i % MLP_CLASSES;
        in_x[0] = 0.5f; /* the sum graph's x */
        const void *in_deep[2] = {in_x, &lr}, *in_mlp[3] = {in_x, in_y, &lr};
        if (jit.entry(graph == GRAPH_MLP ? in_mlp : in_deep, arena, state) != 0) {
            fprintf(stderr, "run failed\n");
            goto done;
        }
        if (check_outputs(graph, terms, &cg, arena) != 0)
            goto done;
    }
    rc = 0;
done:
    free(arena_base);
    free(state_base);
    free(roots);
    free(mapped);
    free(b.updates);
    tcc->free(&jit);
    cg_program_free(&cg);
    ir_graph_free(s);
    nb_graph_free(b.g);
    return rc;
}

/* The CPU's model name from /proc/cpuinfo (what lscpu prints), or "unknown". */
static void cpu_name(char *buf, size_t size)
{
    char line[LINE_SIZE];
    snprintf(buf, size, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", strlen("model name")) != 0 || !colon)
            continue;
        colon += strspn(colon + 1, " \t") + 1;
        colon[strcspn(colon, "\n")] = '\0';
        snprintf(buf, size, "%s", colon);
        break;
    }
    fclose(f);
}

/* Runs one graph at every size and prints its table. 0, or 1 when a run failed. */
static int bench_graph_sizes(int graph, const long *sizes, int n_sizes, int repeat)
{
    /* Per size and column: min and median. Phases per node (ns) for the chains, per
     * compile (us) for the MLP; cg/tcc is a ratio of the min times and of the medians. */
    double mins[MAX_SIZES][COL_COUNT], meds[MAX_SIZES][COL_COUNT];
    int per_node = graph != GRAPH_MLP;
    if (!per_node)
        n_sizes = 1;
    printf("\n%s graph: compile CPU time %s, min / median of %d runs; total = all phases, "
           "cg/tcc = (plan + emit) / tcc\n",
           graph_names[graph], per_node ? "per node (ns)" : "per compile (us)", repeat);
    printf("%8s %8s %9s", "nodes", "after", "C bytes");
    for (int p = 0; p < PH_COUNT; p++)
        printf(" %15s", phase_names[p]);
    printf(" %15s %13s\n", "total", "cg/tcc");
    for (int si = 0; si < n_sizes; si++) {
        /* After nb_grad: about 5 nodes per term, or 12 per layer with SGD. */
        long terms = graph == GRAPH_SUM ? sizes[si] / 5 : sizes[si] / 12;
        double samples[COL_TOTAL + 1][MAX_REPEAT];
        run_result res;
        for (int r = 0; r < repeat; r++) {
            if (run_once(graph, terms, r == 0, &res) != 0)
                return 1;
            double unit = per_node ? (double)res.nodes : 1.0, total = 0;
            for (int p = 0; p < PH_COUNT; p++) {
                samples[p][r] = res.seconds[p] / unit;
                total += res.seconds[p];
            }
            samples[COL_TOTAL][r] = total / unit;
        }
        double scale = per_node ? 1e9 : 1e6;
        printf("%8d %8d %9zu", res.nodes, res.simple_nodes, res.source_size);
        for (int p = 0; p <= COL_TOTAL; p++) {
            bench_min_median(samples[p], repeat, &mins[si][p], &meds[si][p]);
            printf(" %7.0f/%-7.0f", scale * mins[si][p], scale * meds[si][p]);
        }
        mins[si][COL_CG_TCC] = (mins[si][PH_PLAN] + mins[si][PH_EMIT]) / mins[si][PH_TCC];
        meds[si][COL_CG_TCC] = (meds[si][PH_PLAN] + meds[si][PH_EMIT]) / meds[si][PH_TCC];
        printf("   %5.2f/%-5.2f\n", mins[si][COL_CG_TCC], meds[si][COL_CG_TCC]);
        fflush(stdout);
    }
    if (n_sizes > 1) {
        printf("ratio of per-node cost, %ld nodes vs %ld (min / median):\n", sizes[n_sizes - 1],
               sizes[0]);
        for (int p = 0; p <= COL_TOTAL; p++)
            printf("  %-9s %5.2f / %5.2f\n", p < PH_COUNT ? phase_names[p] : "total",
                   mins[n_sizes - 1][p] / mins[0][p], meds[n_sizes - 1][p] / meds[0][p]);
    }
    return 0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_compile_time [--graph sum|deep|mlp|all] [--repeat R] [--sizes N1,...]\n"
            "  sizes are approximate node counts after nb_grad for sum and deep (default "
            "1000,10000,100000,250000);\n"
            "  R defaults to %d (%d for mlp), at most %d\n",
            CHAIN_DEFAULT_REPEAT, MLP_DEFAULT_REPEAT, MAX_REPEAT);
}

int main(int argc, char **argv)
{
    long sizes[MAX_SIZES] = {1000, 10000, 100000, 250000};
    int n_sizes = 4, repeat = 0, first = GRAPH_SUM, last = GRAPH_SUM;
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--graph") && a + 1 < argc) {
            const char *name = argv[++a];
            first = strcmp(name, "all") ? -1 : GRAPH_SUM;
            last = first == GRAPH_SUM ? GRAPH_MLP : -1;
            for (int k = 0; k < GRAPH_COUNT && first < 0; k++)
                if (!strcmp(name, graph_names[k]))
                    first = last = k;
            if (first < 0) {
                usage();
                return 2;
            }
        } else if (!strcmp(argv[a], "--repeat") && a + 1 < argc) {
            repeat = atoi(argv[++a]);
            if (repeat < 1 || repeat > MAX_REPEAT) {
                usage();
                return 2;
            }
        } else if (!strcmp(argv[a], "--sizes") && a + 1 < argc) {
            char *p = argv[++a];
            n_sizes = 0;
            while (*p && n_sizes < MAX_SIZES) {
                sizes[n_sizes++] = strtol(p, &p, 10);
                if (*p == ',')
                    p++;
                else if (*p)
                    break;
            }
            if (*p || n_sizes < 1) {
                usage();
                return 2;
            }
        } else {
            usage();
            return 2;
        }
    }
    for (int i = 0; i < n_sizes; i++)
        if (sizes[i] < 20) {
            usage();
            return 2;
        }

    char cpu[CPU_NAME_SIZE];
    cpu_name(cpu, sizeof cpu);
    printf("cpu: %s, %ld online\n", cpu, sysconf(_SC_NPROCESSORS_ONLN));
    for (int graph = first; graph <= last; graph++) {
        int r = repeat ? repeat : graph == GRAPH_MLP ? MLP_DEFAULT_REPEAT : CHAIN_DEFAULT_REPEAT;
        if (bench_graph_sizes(graph, sizes, n_sizes, r) != 0)
            return 1;
    }
    return 0;
}
