/* nabla.c — the nabla command: graph files (docs/graph-format.md) printed, compiled to C,
 * run, differentiated, exported and timed from the shell, over the public API only.
 * Errors go to stderr with a non-zero exit status; --help works on the command and on
 * each subcommand. docs/cli.md describes it. */
#define _POSIX_C_SOURCE 200809L /* popen */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "nabla.h"

#define ERR_MAX 1024
/* Buffers a command keeps bound to a program's inputs, at most. */
#define OWNED_MAX 256

typedef struct command {
    const char *name, *usage, *help;
    int (*run)(const args *a);
} command;

void cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("nabla: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ---- graphs, files, values ------------------------------------------------------- */

/* Loads a graph file or an ONNX model; NULL after an error message. */
static nb_graph *load(const args *a, nb_graph_extras *x)
{
    if (cli_is_onnx(a->file))
        return cli_onnx_load(a, x);
    char err[ERR_MAX];
    nb_graph *g = nb_graph_load(a->file, x, err, sizeof err);
    if (!g)
        cli_fail("%s", err);
    return g;
}

/* The node a command-line name means: a node name, or %<id>. NULL after a message. */
static nb_node *node_arg(nb_graph *g, const char *name, const char *what)
{
    nb_node *n = NULL;
    if (name[0] == '%') {
        char *end;
        long id = strtol(name + 1, &end, 10);
        if (*end == 0 && end != name + 1 && id >= 0 && id <= 0x7fffffff)
            n = nb_graph_node(g, (int)id);
    } else {
        n = nb_graph_find(g, name);
    }
    if (!n)
        cli_fail("%s: the graph has no node '%s' (a name, or %%<number> as nabla print shows)",
                 what, name);
    return n;
}

static const char *backend_name(nb_backend b)
{
    return b == NB_BACKEND_CC ? "cc" : b == NB_BACKEND_AUTO ? "auto" : "tcc";
}

static int backend_arg(const char *s, nb_backend *b)
{
    if (!s || !strcmp(s, "tcc"))
        *b = NB_BACKEND_TCC;
    else if (!strcmp(s, "cc"))
        *b = NB_BACKEND_CC;
    else {
        cli_fail("--backend is tcc or cc, not '%s'", s);
        return -1;
    }
    return 0;
}

/* Compiles the file's outputs and updates. NULL after a message. */
static nb_program *compile(nb_graph *g, const nb_graph_extras *x, nb_backend b, int exportable)
{
    if (x->n_outputs == 0 && x->n_updates == 0) {
        cli_fail("the graph file names no output and no update: nothing to compile "
                 "(add 'output %%<n>' lines, docs/graph-format.md)");
        return NULL;
    }
    nb_compile_options o = {.outputs = x->outputs,
                            .n_outputs = x->n_outputs,
                            .updates = x->n_updates ? x->updates : NULL,
                            .n_updates = x->n_updates,
                            .backend = b,
                            .exportable = exportable};
    nb_program *p = nb_compile(g, &o);
    if (!p)
        cli_fail("compile: %s", nb_graph_error(g));
    return p;
}

/* Reads name=PATH: a .npy file (nb_npy_read) or raw bytes in host order (.bin or any
 * other name) that must be exactly the node's size. The values in new memory (caller
 * frees), or NULL after a message. */
static void *read_value(nb_graph *g, const char *spec, nb_node **node)
{
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec) {
        cli_fail("expected name=FILE, got '%s'", spec);
        return NULL;
    }
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)(eq - spec), spec);
    const char *path = eq + 1;
    if (!(*node = node_arg(g, name, "a value")))
        return NULL;
    size_t want = (size_t)nb_node_numel(*node) * nb_dtype_size(nb_node_dtype(*node));
    size_t n = strlen(path);
    char err[ERR_MAX];
    if (n > 4 && strcmp(path + n - 4, ".npy") == 0) {
        nb_npy v;
        if (nb_npy_read(path, &v, err, sizeof err) != 0) {
            cli_fail("%s", err);
            return NULL;
        }
        if (v.dtype != nb_node_dtype(*node) || v.nbytes != want) {
            cli_fail("'%s' holds %s with %zu bytes; '%s' is %s with %zu", path,
                     nb_dtype_name(v.dtype), v.nbytes, name, nb_dtype_name(nb_node_dtype(*node)),
                     want);
            nb_npy_free(&v);
            return NULL;
        }
        return v.data; /* nb_npy_free would only free it and zero the struct */
    }
    FILE *f = fopen(path, "rb");
    void *data = malloc(want ? want : 1);
    long size = -1;
    if (f && fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    if (!f || !data || size != (long)want || fseek(f, 0, SEEK_SET) != 0 ||
        fread(data, 1, want, f) != want) {
        if (!f)
            cli_fail("'%s': cannot open it", path);
        else
            cli_fail("'%s' has %ld bytes; '%s' (%s of %lld elements) needs %zu", path, size, name,
                     nb_dtype_name(nb_node_dtype(*node)), (long long)nb_node_numel(*node), want);
        free(data);
        data = NULL;
    }
    if (f)
        fclose(f);
    return data;
}

/* The value of element i of data (dtype dt) as a double. */
static double element(nb_dtype dt, const void *data, int64_t i)
{
    switch (dt) {
    case NB_F32: return ((const float *)data)[i];
    case NB_F64: return ((const double *)data)[i];
    case NB_I32: return ((const int32_t *)data)[i];
    default: return ((const unsigned char *)data)[i];
    }
}

/* How print_tensor writes: the array, its strides, floats in scientific notation. */
typedef struct tensor_view {
    nb_dtype dt;
    int rank, summarize, sci;
    const int64_t *shape;
    int64_t strides[NB_MAX_RANK];
    const void *data;
} tensor_view;

static void print_value(const tensor_view *t, int64_t at)
{
    double v = element(t->dt, t->data, at);
    if (t->dt == NB_F32 || t->dt == NB_F64)
        printf(t->sci ? "%.4e" : "%.4f", v);
    else
        printf("%.0f", v);
}

/* Axis d of the array from element at: "[a, b, ...]", rows of inner axes on their own
 * lines; a summarized axis shows its first and last 3 entries around "...". */
static void print_axis(const tensor_view *t, int d, int64_t at)
{
    if (d == t->rank) {
        print_value(t, at);
        return;
    }
    const char *sep = d == t->rank - 1 ? ", " : ",\n";
    printf("[");
    for (int64_t i = 0; i < t->shape[d]; i++) {
        if (t->summarize && t->shape[d] > 6 && i == 3) {
            printf("%s%*s...", sep, d == t->rank - 1 ? 0 : d + 1, "");
            i = t->shape[d] - 3;
        }
        if (i > 0)
            printf("%s%*s", sep, d == t->rank - 1 ? 0 : d + 1, "");
        print_axis(t, d + 1, at + i * t->strides[d]);
    }
    printf("]");
}

/* Prints a tensor as numpy prints arrays: nested brackets, and with more than 1,000
 * elements only the first and last 3 of each axis. Floats with 4 decimals, or in
 * scientific notation when a nonzero value is below 1e-4 or from 1e8 (as torch). */
static void print_tensor(nb_dtype dt, int rank, const int64_t *shape, const void *data)
{
    tensor_view t = {.dt = dt, .rank = rank, .shape = shape, .data = data};
    int64_t numel = 1;
    for (int d = rank - 1; d >= 0; d--) {
        t.strides[d] = numel;
        numel *= shape[d];
    }
    t.summarize = numel > 1000;
    for (int64_t i = 0; i < numel && (dt == NB_F32 || dt == NB_F64); i++) {
        double v = element(dt, data, i), m = v < 0 ? -v : v;
        t.sci |= v == v && m != 0 && m <= 1e300 && (m < 1e-4 || m >= 1e8);
    }
    print_axis(&t, 0, 0);
}

/* ---- the subcommands -------------------------------------------------------------- */

static int cmd_print(const args *a)
{
    nb_graph_extras x = {0};
    nb_graph *g = load(a, &x);
    if (!g)
        return 1;
    char *t = nb_graph_write(g, &x);
    int rc = t ? 0 : 1;
    if (t)
        fputs(t, stdout);
    else
        cli_fail("out of memory");
    free(t);
    nb_graph_extras_free(&x);
    nb_graph_free(g);
    return rc;
}

/* Writes text to a->out (or stdout). */
static int write_out(const args *a, const char *text)
{
    if (!a->out) {
        fputs(text, stdout);
        return 0;
    }
    FILE *f = fopen(a->out, "w");
    size_t n = strlen(text);
    int ok = f && fwrite(text, 1, n, f) == n;
    if (f)
        ok = fclose(f) == 0 && ok;
    if (!ok)
        cli_fail("cannot write '%s'", a->out);
    return ok ? 0 : 1;
}

static int cmd_emit(const args *a)
{
    nb_backend b;
    if (backend_arg(a->backend, &b) != 0)
        return EXIT_USAGE;
    nb_graph_extras x = {0};
    nb_graph *g = load(a, &x);
    nb_program *p = g ? compile(g, &x, b, 0) : NULL;
    int rc = p ? write_out(a, nb_program_source(p)) : 1;
    nb_program_free(p);
    nb_graph_extras_free(&x);
    nb_graph_free(g);
    return rc;
}

/* Binds the file's values and the command line's (which win), sets parameters. Returns
 * the buffers to free in *owned (n_owned of them), 0 or -1 after a message. */
static int bind_all(const args *a, nb_graph *g, const nb_graph_extras *x, nb_program *p,
                    void **owned, int *n_owned)
{
    /* Values for inputs: the file's, as the node's dtype; then --input. */
    for (int i = 0; i < x->n_values; i++) {
        nb_node *n = x->values[i].node;
        size_t es = nb_dtype_size(nb_node_dtype(n));
        int64_t numel = nb_node_numel(n);
        unsigned char *buf = malloc((size_t)numel * es + 1);
        if (!buf) {
            cli_fail("out of memory");
            return -1;
        }
        for (int64_t j = 0; j < numel; j++) {
            double v = x->values[i].data[j];
            switch (nb_node_dtype(n)) {
            case NB_F32: ((float *)buf)[j] = (float)v; break;
            case NB_F64: ((double *)buf)[j] = v; break;
            case NB_I32: ((int32_t *)buf)[j] = (int32_t)v; break;
            default: buf[j] = (unsigned char)(v != 0); break;
            }
        }
        const char *name = nb_node_name(n);
        int is_param = !strcmp(nb_node_op(n), "param");
        if (!is_param && *n_owned == OWNED_MAX) {
            free(buf);
            cli_fail("more than %d input values", OWNED_MAX);
            return -1;
        }
        /* A parameter's value is copied into the program; an input stays bound. */
        int rc = is_param ? nb_program_set_param(p, name, buf, (size_t)numel * es)
                          : nb_program_bind(p, name, buf);
        if (is_param)
            free(buf);
        else
            owned[(*n_owned)++] = buf;
        if (rc != 0 && nb_program_input_index(p, name) >= 0) {
            cli_fail("the file's value of '%s': %s", name, nb_program_error(p));
            return -1;
        }
    }
    if (a->load && nb_program_load_ex(p, a->load, 0, NULL) != 0) {
        cli_fail("%s", nb_program_error(p));
        return -1;
    }
    const char *const *lists[2] = {a->inputs, a->params};
    int counts[2] = {a->n_inputs, a->n_params};
    for (int l = 0; l < 2; l++)
        for (int i = 0; i < counts[l]; i++) {
            nb_node *n;
            void *data = read_value(g, lists[l][i], &n);
            if (!data)
                return -1;
            if (*n_owned == OWNED_MAX) {
                free(data);
                cli_fail("more than %d input values", OWNED_MAX);
                return -1;
            }
            owned[(*n_owned)++] = data;
            size_t bytes = (size_t)nb_node_numel(n) * nb_dtype_size(nb_node_dtype(n));
            int rc = l == 0 ? nb_program_bind(p, nb_node_name(n), data)
                            : nb_program_set_param(p, nb_node_name(n), data, bytes);
            if (rc != 0) {
                cli_fail("%s: %s", lists[l][i], nb_program_error(p));
                return -1;
            }
        }
    return 0;
}

static int cmd_run(const args *a)
{
    nb_backend b;
    if (backend_arg(a->backend, &b) != 0)
        return EXIT_USAGE;
    nb_graph_extras x = {0};
    void *owned[OWNED_MAX];
    int n_owned = 0, rc = 1;
    nb_graph *g = load(a, &x);
    double t0 = seconds();
    nb_program *p = g ? compile(g, &x, b, 0) : NULL;
    double t1 = seconds();
    if (!p || bind_all(a, g, &x, p, owned, &n_owned) != 0)
        goto done;
    double t2 = seconds();
    if (nb_program_run(p) != 0) {
        const char *e = nb_program_error(p);
        cli_fail("%s%s", e,
                 strstr(e, "is not bound") ? " (the file holds no value for it: give one "
                                             "with --input NAME=FILE)"
                                           : "");
        goto done;
    }
    double t3 = seconds();
    for (int i = 0; i < nb_program_output_count(p); i++) {
        const char *name = nb_node_name(x.outputs[i]);
        char label[64];
        snprintf(label, sizeof label, "%%%d", nb_node_id(x.outputs[i]));
        printf("%s %s", name ? name : label, nb_dtype_name(nb_program_output_dtype(p, i)));
        printf("[");
        for (int d = 0; d < nb_program_output_rank(p, i); d++)
            printf(d ? ",%lld" : "%lld", (long long)nb_program_output_shape(p, i)[d]);
        printf("] = ");
        print_tensor(nb_program_output_dtype(p, i), nb_program_output_rank(p, i),
                     nb_program_output_shape(p, i), nb_program_output(p, i));
        printf("\n");
    }
    fflush(stdout);
    fprintf(stderr, "compile %.3f ms (%s, of which the backend %.3f ms), run %.3f ms\n",
            1e3 * (t1 - t0), backend_name(b), 1e3 * nb_program_compile_seconds(p), 1e3 * (t3 - t2));
    rc = 0;
done:
    while (n_owned > 0)
        free(owned[--n_owned]);
    nb_program_free(p);
    nb_graph_extras_free(&x);
    nb_graph_free(g);
    return rc;
}

/* Splits "a,b,c" into node pointers (at most cap). Count, or -1 after a message. */
static int node_list(nb_graph *g, const char *list, nb_node **out, int cap)
{
    int n = 0;
    const char *s = list;
    while (*s) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        char name[256];
        if (len == 0 || len >= sizeof name || n == cap) {
            cli_fail("--wrt: expected up to %d comma-separated names, got '%s'", cap, list);
            return -1;
        }
        memcpy(name, s, len);
        name[len] = 0;
        if (!(out[n++] = node_arg(g, name, "--wrt")))
            return -1;
        s += len + (comma != NULL);
    }
    if (n == 0)
        cli_fail("--wrt is empty");
    return n ? n : -1;
}

static int cmd_grad(const args *a)
{
    if (!a->of || !a->wrt) {
        cli_fail("grad needs --of NODE and --wrt a,b (nabla grad --help)");
        return EXIT_USAGE;
    }
    nb_graph_extras x = {0};
    nb_graph *g = load(a, &x);
    int rc = 1;
    nb_node *wrt[64], *grads[64], *y = g ? node_arg(g, a->of, "--of") : NULL;
    int n = y ? node_list(g, a->wrt, wrt, 64) : -1;
    if (n > 0 && nb_grad(g, y, wrt, n, grads) != 0)
        cli_fail("grad: %s", nb_graph_error(g));
    else if (n > 0) {
        /* The gradients become outputs of the new file, after the file's own. */
        nb_node **outs = malloc(sizeof *outs * (size_t)(x.n_outputs + n));
        if (outs) {
            memcpy(outs, x.outputs, sizeof *outs * (size_t)x.n_outputs);
            memcpy(outs + x.n_outputs, grads, sizeof *outs * (size_t)n);
            nb_graph_extras y2 = x;
            y2.outputs = outs;
            y2.n_outputs = x.n_outputs + n;
            char *t = nb_graph_write(g, &y2);
            rc = t ? write_out(a, t) : (cli_fail("out of memory"), 1);
            free(t);
            free(outs);
        } else {
            cli_fail("out of memory");
        }
    }
    nb_graph_extras_free(&x);
    nb_graph_free(g);
    return rc;
}

static int cmd_dot(const args *a)
{
    nb_graph_extras x = {0};
    nb_graph *g = load(a, &x);
    if (!g)
        return 1;
    nb_dot_options o = {.outputs = x.outputs,
                        .n_outputs = x.n_outputs,
                        .updates = x.updates,
                        .n_updates = x.n_updates,
                        .rankdir = a->rankdir};
    char err[ERR_MAX];
    char *t = nb_graph_dot(g, &o, err, sizeof err);
    int rc = 1;
    if (!t)
        cli_fail("dot: %s", err);
    else if (a->svg) {
        /* Graphviz draws it: dot -Tsvg, reading the text from a pipe. */
        const char *out = a->out ? a->out : NULL;
        char cmd[ERR_MAX];
        if (out && strchr(out, '\''))
            cli_fail("dot: the output path must not contain a quote");
        else {
            snprintf(cmd, sizeof cmd, out ? "dot -Tsvg -o '%s'" : "dot -Tsvg", out);
            FILE *pipe = popen(cmd, "w");
            if (!pipe)
                cli_fail("dot: cannot run Graphviz's dot (apt-get install graphviz)");
            else {
                fputs(t, pipe);
                int status = pclose(pipe);
                rc = status == 0 ? 0 : 1;
                if (rc)
                    cli_fail(
                        "dot: Graphviz's dot failed (is it installed? apt-get install graphviz)");
            }
        }
    } else {
        rc = write_out(a, t);
    }
    free(t);
    nb_graph_extras_free(&x);
    nb_graph_free(g);
    return rc;
}

static int cmd_gradcheck(const args *a)
{
    if (!a->of || !a->wrt) {
        cli_fail("gradcheck needs --of NODE and --wrt a,b (nabla gradcheck --help)");
        return EXIT_USAGE;
    }
    nb_graph_extras x = {0};
    nb_graph *g = load(a, &x);
    nb_node *wrt[64], *y = g ? node_arg(g, a->of, "--of") : NULL;
    int n = y ? node_list(g, a->wrt, wrt, 64) : -1, rc = 1;
    nb_gradcheck_value *v = malloc(sizeof *v * (size_t)(x.n_values + 1));
    if (n > 0 && v) {
        /* At the file's values, or at random points (--random, or leaves without one). */
        nb_gradcheck_options o = nb_gradcheck_default_options();
        for (int i = 0; i < x.n_values && !a->random; i++)
            v[i] = (nb_gradcheck_value){x.values[i].node, x.values[i].data, 0, 0};
        o.values = v;
        o.n_values = a->random ? 0 : x.n_values;
        nb_gradcheck_result r;
        int status = nb_gradcheck(g, y, wrt, n, &o, &r);
        printf("%s: %s\n", status == 0 ? "ok" : status == 1 ? "FAILED" : "error", r.message);
        rc = status == 0 ? 0 : 1;
    } else if (n > 0) {
        cli_fail("out of memory");
    }
    free(v);
    nb_graph_extras_free(&x);
    nb_graph_free(g);
    return rc;
}

static int cmd_export(const args *a)
{
    if (!a->prefix) {
        cli_fail("export needs --prefix P (nabla export --help)");
        return EXIT_USAGE;
    }
    nb_graph_extras x = {0};
    void *owned[OWNED_MAX];
    int n_owned = 0, rc = 1;
    nb_graph *g = load(a, &x);
    nb_program *p = g ? compile(g, &x, NB_BACKEND_TCC, 1) : NULL;
    if (p && bind_all(a, g, &x, p, owned, &n_owned) == 0 &&
        (!a->weights || nb_program_load_ex(p, a->weights, 0, NULL) == 0)) {
        nb_export_options o = {.prefix = a->prefix,
                               .dir = a->out ? a->out : ".",
                               .weights =
                                   a->consts ? NB_EXPORT_WEIGHTS_CONST : NB_EXPORT_WEIGHTS_STATE};
        if (nb_program_export(p, &o) == 0) {
            printf("%s/%s.c\n%s/%s.h\n", o.dir, a->prefix, o.dir, a->prefix);
            rc = 0;
        }
    }
    if (p && rc != 0 && nb_program_error(p))
        cli_fail("%s", nb_program_error(p));
    while (n_owned > 0)
        free(owned[--n_owned]);
    nb_program_free(p);
    nb_graph_extras_free(&x);
    nb_graph_free(g);
    return rc;
}

/* Binds zeros to every input of g (a label 0 is a valid index): bench times graphs whose
 * file holds no values; bind_all then puts the file's and the command line's over them.
 * 0, or -1 after a message. */
static int bind_zeros(nb_graph *g, nb_program *p, void **owned, int *n_owned)
{
    for (int id = 0; id < nb_graph_node_count(g); id++) {
        nb_node *n = nb_graph_node(g, id);
        if (strcmp(nb_node_op(n), "input") != 0 || nb_program_input_index(p, nb_node_name(n)) < 0)
            continue;
        if (*n_owned == OWNED_MAX) {
            cli_fail("bench: more than %d inputs", OWNED_MAX);
            return -1;
        }
        void *z = calloc((size_t)nb_node_numel(n) + 1, nb_dtype_size(nb_node_dtype(n)));
        if (!z) {
            cli_fail("out of memory");
            return -1;
        }
        owned[(*n_owned)++] = z;
        if (nb_program_bind(p, nb_node_name(n), z) != 0) {
            cli_fail("%s", nb_program_error(p));
            return -1;
        }
    }
    return 0;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmd_bench(const args *a)
{
    nb_graph_extras x = {0};
    nb_graph *g = load(a, &x);
    int rc = g ? 0 : 1, repeat = a->repeat > 0 ? a->repeat : 9;
    double *t = malloc(sizeof *t * (size_t)repeat);
    const nb_backend backends[2] = {NB_BACKEND_TCC, NB_BACKEND_CC};
    for (int k = 0; k < 2 && rc == 0 && t; k++) {
        void *owned[OWNED_MAX];
        int n_owned = 0;
        nb_program *p = compile(g, &x, backends[k], 0);
        if (!p || bind_zeros(g, p, owned, &n_owned) != 0 ||
            bind_all(a, g, &x, p, owned, &n_owned) != 0)
            rc = 1;
        double compile_s = p ? nb_program_compile_seconds(p) : 0;
        /* Warm up while finding how many runs take about 10 ms, then time that many. */
        int runs = 1;
        for (;;) {
            double t0 = seconds();
            for (int i = 0; i < runs && rc == 0; i++)
                rc = nb_program_run(p) != 0;
            if (rc != 0 || seconds() - t0 >= 0.01 || runs >= (1 << 24))
                break;
            runs *= 2;
        }
        for (int r = 0; r < repeat && rc == 0; r++) {
            double t0 = seconds();
            for (int i = 0; i < runs && rc == 0; i++)
                rc = nb_program_run(p) != 0;
            t[r] = (seconds() - t0) / runs;
        }
        if (rc == 0) {
            qsort(t, (size_t)repeat, sizeof *t, compare_doubles);
            printf("%-4s compile %8.3f ms   run %10.3f us min %10.3f us median (%d x %d runs)\n",
                   backend_name(backends[k]), 1e3 * compile_s, 1e6 * t[0], 1e6 * t[repeat / 2],
                   repeat, runs);
        } else if (p) {
            cli_fail("%s", nb_program_error(p));
        }
        while (n_owned > 0)
            free(owned[--n_owned]);
        nb_program_free(p);
    }
    free(t);
    nb_graph_extras_free(&x);
    nb_graph_free(g);
    return rc;
}

/* ---- arguments -------------------------------------------------------------------- */

static const command commands[] = {
    {"print", "nabla print FILE",
     "Reads the graph file, checks it (shapes, the verifier) and prints it in the graph\n"
     "format, with its outputs, updates and values.\n",
     cmd_print},
    {"emit", "nabla emit FILE [--backend tcc|cc] [-o OUT.c]",
     "Compiles the file's outputs and updates and prints the generated C (to OUT.c with\n"
     "-o). --backend: the C for libtcc (tcc, the default) or for the system compiler (cc).\n",
     cmd_emit},
    {"run",
     "nabla run FILE [--input NAME=FILE]... [--param NAME=FILE]... [--load CKPT] "
     "[--backend tcc|cc]",
     "Compiles the file's outputs and updates, runs them once and prints each output (its\n"
     "dtype, shape and values; big tensors abbreviated as numpy does), then the compile\n"
     "and run times on stderr. Inputs and parameters take the values the file holds;\n"
     "--input and --param replace them from FILE: a .npy file, or raw bytes in the host's\n"
     "byte order of exactly the tensor's size. --load takes the parameters a safetensors\n"
     "checkpoint has (a non-strict load).\n",
     cmd_run},
    {"dot", "nabla dot FILE [--rankdir TB|LR] [--svg] [-o OUT]",
     "Draws the graph for Graphviz: the DOT text (to OUT with -o), or with --svg the picture\n"
     "Graphviz's dot makes of it (needs graphviz). Inputs, parameters, constants, gradient\n"
     "nodes and parameter updates are drawn apart; outputs have a double outline.\n",
     cmd_dot},
    {"grad", "nabla grad FILE --of NODE --wrt A,B [-o OUT]",
     "Appends the gradients of NODE (a scalar) with respect to A, B, ... to the graph,\n"
     "symbolically, and writes the new graph file (to OUT with -o) with the gradients as\n"
     "outputs after the file's own; running grad on its output gives second derivatives.\n"
     "A node is named as in the file, or %<number> as nabla print shows it.\n",
     cmd_grad},
    {"gradcheck", "nabla gradcheck FILE --of NODE --wrt A,B [--random]",
     "Checks nabla's gradients of the scalar NODE with respect to A, B, ... against central\n"
     "finite differences in f64 (nb_gradcheck, docs/gradcheck.md), at the values the file\n"
     "holds (leaves without one, or all with --random, at random points in [-2, 2]).\n"
     "Prints the worst element; exit status 0 when every element agrees.\n",
     cmd_gradcheck},
    {"export", "nabla export FILE --prefix P [--weights CKPT] [--const] [-o DIR]",
     "Writes the program of the file's outputs and updates as the standalone C of the\n"
     "ahead-of-time export, DIR/P.c and DIR/P.h (docs/aot.md), with the parameters' values\n"
     "of the file, or of the safetensors checkpoint CKPT (a non-strict load). --const bakes\n"
     "them as constants (inference only); else they are in the caller's state block.\n",
     cmd_export},
    {"onnx-test", "nabla onnx-test DIR [--backend tcc|cc]",
     "Runs one test of ONNX's backend test format: DIR/model.onnx and its data sets\n"
     "DIR/test_data_set_*/input_<i>.pb, output_<i>.pb (as Debian's libonnx-testdata has\n"
     "them). Loads the model (inputs it needs at load time, such as a Reshape's shape, take\n"
     "the first data set's values), runs every data set and compares every output with\n"
     "ONNX's backend tolerances (|nabla - expected| <= 1e-7 + 1e-3 |expected|, NaN where\n"
     "NaN, integers exactly). Prints one line, \"pass|mismatch|unsupported TEST [OPS] reason\",\n"
     "and exits 0 on a match, 1 on a mismatch (or a failed run), 2 when nabla cannot load\n"
     "or compile the model.\n",
     cli_onnx_test},
    {"bench", "nabla bench FILE [--repeat N] [--input NAME=FILE]...",
     "Compiles the file with each backend (tcc, cc) and times one run: the backend's\n"
     "compile time, and the minimum and median time per run over N samples (9) of about\n"
     "10 ms each, after a warm-up. Inputs without a value (in the file or from --input)\n"
     "are zeros.\n",
     cmd_bench},
};

#define N_COMMANDS (int)(sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f,
            "usage: nabla COMMAND FILE [options]   (nabla COMMAND --help for one)\n\n"
            "nabla %s: graph files (docs/graph-format.md) from the shell. FILE may be an\n"
            "ONNX model (.onnx, docs/onnx.md): --shape NAME=D,D,... gives an input's open\n"
            "dimensions.\n\n",
            nb_version());
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %s\n", commands[i].usage);
}

/* Parses the options after the subcommand into a. 0, or EXIT_USAGE after a message. */
static int parse(const command *c, int argc, char **argv, args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char **slot = !strcmp(o, "-o")          ? &a->out
                            : !strcmp(o, "--backend") ? &a->backend
                            : !strcmp(o, "--of")      ? &a->of
                            : !strcmp(o, "--wrt")     ? &a->wrt
                            : !strcmp(o, "--prefix")  ? &a->prefix
                            : !strcmp(o, "--weights") ? &a->weights
                            : !strcmp(o, "--load")    ? &a->load
                            : !strcmp(o, "--rankdir") ? &a->rankdir
                                                      : NULL;
        if (!strcmp(o, "--const") || !strcmp(o, "--svg") || !strcmp(o, "--random")) {
            *(!strcmp(o, "--svg") ? &a->svg : !strcmp(o, "--random") ? &a->random : &a->consts) = 1;
            continue;
        }
        if (!slot && strcmp(o, "--input") && strcmp(o, "--param") && strcmp(o, "--shape") &&
            strcmp(o, "--repeat")) {
            if (o[0] == '-' || a->file) {
                cli_fail("%s: unknown argument '%s'\nusage: %s", c->name, o, c->usage);
                return EXIT_USAGE;
            }
            a->file = o;
            continue;
        }
        if (!v) {
            cli_fail("%s: %s needs a value\nusage: %s", c->name, o, c->usage);
            return EXIT_USAGE;
        }
        i++;
        if (slot)
            *slot = v;
        else if (!strcmp(o, "--repeat")) {
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || n < 1 || n > 10000) {
                cli_fail("--repeat is a number from 1 to 10000, not '%s'", v);
                return EXIT_USAGE;
            }
            a->repeat = (int)n;
        } else {
            int *n = !strcmp(o, "--input")   ? &a->n_inputs
                     : !strcmp(o, "--param") ? &a->n_params
                                             : &a->n_shapes;
            const char **list = !strcmp(o, "--input")   ? a->inputs
                                : !strcmp(o, "--param") ? a->params
                                                        : a->shapes;
            if (*n == CLI_LIST_MAX) {
                cli_fail("%s: at most %d %s options", c->name, CLI_LIST_MAX, o);
                return EXIT_USAGE;
            }
            list[(*n)++] = v;
        }
    }
    if (!a->file) {
        cli_fail("%s: no graph file\nusage: %s", c->name, c->usage);
        return EXIT_USAGE;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("nabla %s\n", nb_version());
        return 0;
    }
    for (int i = 0; i < N_COMMANDS; i++) {
        const command *c = &commands[i];
        if (strcmp(argv[1], c->name) != 0)
            continue;
        for (int j = 2; j < argc; j++)
            if (!strcmp(argv[j], "--help") || !strcmp(argv[j], "-h")) {
                printf("usage: %s\n\n%s", c->usage, c->help);
                return 0;
            }
        args a;
        int rc = parse(c, argc, argv, &a);
        return rc ? rc : c->run(&a);
    }
    cli_fail("unknown command '%s'", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
