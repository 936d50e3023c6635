/* aot.c — the ahead-of-time export of the Fashion-MNIST MLP (784-256-128-10) measured
 * in one run: nb_program_export's time and the size of the .c it writes, the system
 * compiler's time to build it, and inference time per image of the exported code (the
 * portable gemm, and <PREFIX>_USE_CBLAS with OpenBLAS) against the JIT's programs (tcc
 * and cc, one thread like the export, and the default two), with the outputs compared.
 * The exported C is built with -O2 (and the portable gemm also with -O3 -march=native).
 *   bench_aot [--repeat N] [--batch B]   (defaults 7 and 64; $CC, default cc, builds) */
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_util.h"
#include "nabla.h"

#define PATH_MAX_LEN 512

typedef int (*run_fn)(const void *const *, void *const *, void *, void *);

static char work_dir[64];

static void die(const char *what, const char *why)
{
    fprintf(stderr, "bench_aot: %s: %s\n", what, why ? why : "failed");
    exit(1);
}

static nb_graph *model(int batch, nb_node **logits)
{
    nb_graph *g = nb_graph_new();
    static const char *const names[6] = {"fc1.w", "fc1.b", "fc2.w", "fc2.b", "fc3.w", "fc3.b"};
    int64_t shapes[6][2] = {{784, 256}, {256, 0}, {256, 128}, {128, 0}, {128, 10}, {10, 0}};
    int64_t xs[2] = {batch, 784};
    nb_node *h = nb_input(g, "x", NB_F32, 2, xs);
    for (int l = 0; l < 3; l++) {
        nb_node *w = nb_param(g, names[2 * l], NB_F32, 2, shapes[2 * l]);
        nb_node *b = nb_param(g, names[2 * l + 1], NB_F32, 1, shapes[2 * l + 1]);
        h = nb_add(g, nb_matmul(g, h, w), b);
        if (l < 2)
            h = nb_relu(g, h);
    }
    *logits = h;
    return g;
}

static nb_program *compile(nb_graph *g, nb_node *logits, nb_backend backend, int threads)
{
    nb_compile_options o = {.outputs = &logits,
                            .n_outputs = 1,
                            .backend = backend,
                            .threads = threads,
                            .denormals = NB_DENORMALS_IEEE,
                            .exportable = 1};
    nb_program *p = nb_compile(g, &o);
    if (!p)
        die("compile", nb_graph_error(g));
    for (int l = 0; l < 3; l++) {
        char w[16], b[16];
        snprintf(w, sizeof w, "fc%d.w", l + 1);
        snprintf(b, sizeof b, "fc%d.b", l + 1);
        if (nb_program_init_linear(p, w, b, (uint64_t)l) != 0)
            die("init", nb_program_error(p));
    }
    return p;
}

/* Builds the exported net.c into a shared object with $CC and the flags, loads it and
 * returns its net_run_array; *seconds: the compiler's time. */
static run_fn build(const char *name, const char *flags, const char *libs, double *seconds)
{
    const char *cc = getenv("CC") ? getenv("CC") : "cc";
    char cmd[4 * PATH_MAX_LEN], so[PATH_MAX_LEN];
    snprintf(so, sizeof so, "%s/%s.so", work_dir, name);
    snprintf(cmd, sizeof cmd, "%s -ffp-contract=off -fPIC -shared %s -o %s %s/net.c %s -lm", cc,
             flags, so, work_dir, libs);
    double t0 = bench_seconds();
    if (system(cmd) != 0)
        die(cmd, NULL);
    *seconds = bench_seconds() - t0;
    void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        die(so, dlerror());
    run_fn f = (run_fn)(uintptr_t)dlsym(h, "net_run_array");
    if (!f)
        die(so, "no net_run_array");
    return f;
}

/* NET_ARENA_SIZE, read from the exported header. */
static size_t arena_size(void)
{
    char path[PATH_MAX_LEN], line[256];
    unsigned long long v = 0;
    snprintf(path, sizeof path, "%s/net.h", work_dir);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "#define NET_ARENA_SIZE %llu", &v) == 1)
            break;
    if (f)
        fclose(f);
    if (!v)
        die(path, "no NET_ARENA_SIZE");
    return (size_t)v;
}

/* One variant: a JIT program or an exported run function. */
typedef struct variant {
    const char *name;
    nb_program *p;
    run_fn run;
    float *out;
} variant;

static void run_once(variant *v, const float *x, void *arena)
{
    if (v->p) {
        if (nb_program_run(v->p) != 0)
            die(v->name, nb_program_error(v->p));
        return;
    }
    const void *in[1] = {x};
    void *out[1] = {v->out};
    if (v->run(in, out, arena, NULL) != 0)
        die(v->name, "run failed");
}

static void cpu_model(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "model name", 10) == 0) {
            printf("cpu: %s", strchr(line, ':') + 2);
            break;
        }
    if (f)
        fclose(f);
}

int main(int argc, char **argv)
{
    int repeat = 7, batch = 64;
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--repeat") == 0 &&
            bench_parse_int(argv[i + 1], 1, 1000, &repeat) == 0)
            i++;
        else if (i + 1 < argc && strcmp(argv[i], "--batch") == 0 &&
                 bench_parse_int(argv[i + 1], 1, 4096, &batch) == 0)
            i++;
        else {
            fprintf(stderr, "usage: bench_aot [--repeat N] [--batch B]\n");
            return 2;
        }
    }
    cpu_model();
    strcpy(work_dir, "/tmp/nabla-bench-aot-XXXXXX");
    if (!mkdtemp(work_dir))
        die("mkdtemp", NULL);
    nb_node *logits;
    nb_graph *g = model(batch, &logits);
    nb_program *tcc1 = compile(g, logits, NB_BACKEND_TCC, 1);
    nb_program *cc1 = compile(g, logits, NB_BACKEND_CC, 1);
    nb_program *cc2 = compile(g, logits, NB_BACKEND_CC, 2);

    /* The export: its time (min, median) and the size of what it writes. */
    double *t = malloc(sizeof(double) * (size_t)repeat), lo, med;
    nb_export_options eo = {.prefix = "net", .dir = work_dir, .weights = NB_EXPORT_WEIGHTS_CONST};
    for (int r = 0; r < repeat; r++) {
        double t0 = bench_seconds();
        if (nb_program_export(cc1, &eo) != 0)
            die("export", nb_program_error(cc1));
        t[r] = bench_seconds() - t0;
    }
    bench_min_median(t, repeat, &lo, &med);
    char path[PATH_MAX_LEN];
    struct stat st;
    snprintf(path, sizeof path, "%s/net.c", work_dir);
    if (stat(path, &st) != 0)
        die(path, "missing");
    printf("export: %.1f ms min, %.1f ms median; net.c %.2f MB (weights as constants)\n", lo * 1e3,
           med * 1e3, (double)st.st_size / 1e6);
    double portable_build, blas_build;
    double native_build;
    run_fn portable = build("portable", "-O2", "", &portable_build);
    run_fn native = build("native", "-O3 -march=native", "", &native_build);
    run_fn blas = build("cblas", "-O2 -DNET_USE_CBLAS", "-lopenblas", &blas_build);
    printf("build of net.c: %.2f s (portable, -O2), %.2f s (-O3 -march=native), %.2f s "
           "(cblas, -O2)\n",
           portable_build, native_build, blas_build);

    size_t n = (size_t)batch * 784, n_out = (size_t)batch * 10;
    float *x = malloc(n * sizeof *x);
    void *arena = malloc(arena_size() + 1);
    uint64_t s = 1;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005u + 1442695040888963407u;
        x[i] = (float)((s >> 40) % 256) / 255.0f;
    }
    variant vs[] = {{"JIT tcc, 1 thread", tcc1, NULL, NULL},
                    {"JIT cc, 1 thread", cc1, NULL, NULL},
                    {"JIT cc, 2 threads", cc2, NULL, NULL},
                    {"export, portable gemm", NULL, portable, malloc(n_out * 4)},
                    {"export, portable, native", NULL, native, malloc(n_out * 4)},
                    {"export, cblas", NULL, blas, malloc(n_out * 4)}};
    int nv = (int)(sizeof vs / sizeof *vs);
    for (int v = 0; v < 3; v++)
        if (nb_program_bind(vs[v].p, "x", x) != 0)
            die("bind", nb_program_error(vs[v].p));
    /* Each sample times enough runs for about 20 ms; warm caches first. */
    int runs = batch >= 64 ? 50 : 400;
    double base = 0;
    printf("inference, batch %d, per image (min / median of %d samples of %d runs):\n", batch,
           repeat, runs);
    for (int v = 0; v < nv; v++) {
        for (int w = 0; w < 5; w++)
            run_once(&vs[v], x, arena);
        for (int r = 0; r < repeat; r++) {
            double t0 = bench_seconds();
            for (int k = 0; k < runs; k++)
                run_once(&vs[v], x, arena);
            t[r] = (bench_seconds() - t0) / runs / batch;
        }
        bench_min_median(t, repeat, &lo, &med);
        if (v == 1)
            base = med;
        printf("  %-24s %8.2f us %8.2f us", vs[v].name, lo * 1e6, med * 1e6);
        if (base > 0)
            printf("   %.2fx JIT cc (1 thread)", med / base);
        printf("\n");
    }
    /* Agreement with the JIT (cc, one thread, IEEE subnormals). */
    const float *ref = nb_program_output(cc1, 0);
    for (int v = 3; v < nv; v++) {
        double worst = 0;
        size_t same = 0;
        for (size_t i = 0; i < n_out; i++) {
            double d = fabs((double)vs[v].out[i] - ref[i]);
            worst = d > worst ? d : worst;
            same += memcmp(&vs[v].out[i], &ref[i], 4) == 0;
        }
        printf("%s: %zu of %zu logits bit-identical to the JIT, largest difference %.3g\n",
               vs[v].name, same, n_out, worst);
    }
    char cmd[PATH_MAX_LEN + 16];
    snprintf(cmd, sizeof cmd, "rm -rf %s", work_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_aot: could not remove %s\n", work_dir);
    for (int v = 0; v < nv; v++) {
        nb_program_free(vs[v].p);
        free(vs[v].out);
    }
    nb_graph_free(g);
    free(x);
    free(arena);
    free(t);
    return 0;
}
