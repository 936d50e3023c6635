/* cli_onnx.c — ONNX models in the nabla command: loading a .onnx file wherever a graph
 * file goes (--shape for open dimensions), and `nabla onnx-test DIR`, which runs one test
 * of ONNX's backend format and compares with ONNX's backend tolerances. */
#define _DEFAULT_SOURCE /* DT_DIR */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define CLI_ERR_MAX 1024
/* Bytes of a path under a test directory. */
#define CLI_PATH_MAX 4096
/* Input and output tensors of one test data set, at most. */
#define CLI_TENSORS_MAX 64
/* Bytes of a data set directory's name (test_data_set_<n>). */
#define CLI_SET_NAME_MAX 64
/* Test data sets of one test directory, at most. */
#define CLI_DATA_SETS_MAX 64
/* ONNX's backend test tolerances (onnx/backend/test/runner: rtol 1e-3, atol 1e-7). */
#define CLI_RTOL 1e-3
#define CLI_ATOL 1e-7

/* onnx-test's exit statuses. */
enum { ONNX_TEST_PASS = 0, ONNX_TEST_MISMATCH = 1, ONNX_TEST_UNSUPPORTED = 2 };

int cli_is_onnx(const char *path)
{
    size_t n = path ? strlen(path) : 0;
    return n >= 5 && !strcmp(path + n - 5, ".onnx");
}

int cli_shape_arg(const char *spec, nb_onnx_shape *s)
{
    memset(s, 0, sizeof *s);
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec) {
        cli_fail("--shape is NAME=D,D,... (a dimension list), not '%s'", spec);
        return -1;
    }
    const char *p = eq + 1;
    while (*p) {
        char *end;
        long long d = strtoll(p, &end, 10);
        if (end == p || d < 1 || d > ((long long)1 << 40) || s->rank == NB_MAX_RANK ||
            (*end && *end != ',')) {
            cli_fail("--shape '%s': dimensions are numbers from 1, at most %d of them", spec,
                     NB_MAX_RANK);
            return -1;
        }
        s->dims[s->rank++] = d;
        p = *end ? end + 1 : end;
    }
    s->name = spec; /* the name ends at '=': cli_onnx_load copies it */
    return 0;
}

/* Names of the --shape options, each ending at its '=' (copied to be terminated). */
typedef struct shape_names {
    char names[CLI_LIST_MAX][256];
} shape_names;

nb_graph *cli_onnx_load(const args *a, nb_graph_extras *x)
{
    nb_onnx_shape shapes[CLI_LIST_MAX];
    shape_names sn;
    for (int i = 0; i < a->n_shapes; i++) {
        if (cli_shape_arg(a->shapes[i], &shapes[i]) != 0)
            return NULL;
        size_t n = (size_t)(strchr(a->shapes[i], '=') - a->shapes[i]);
        if (n >= sizeof sn.names[i]) {
            cli_fail("--shape: the name in '%.100s...' is too long", a->shapes[i]);
            return NULL;
        }
        memcpy(sn.names[i], a->shapes[i], n);
        sn.names[i][n] = 0;
        shapes[i].name = sn.names[i];
    }
    nb_onnx_options o = {.shapes = shapes, .n_shapes = a->n_shapes};
    nb_onnx_model m;
    char err[CLI_ERR_MAX];
    nb_graph *g = nb_onnx_load(a->file, &o, &m, err, sizeof err);
    if (!g) {
        cli_fail("%s", err);
        nb_onnx_model_free(&m);
        return NULL;
    }
    *x = m.extras;
    memset(&m.extras, 0, sizeof m.extras);
    nb_onnx_model_free(&m);
    return g;
}

/* ---- onnx-test ---- */

/* The tensors of one test data set: input_<i>.pb and output_<i>.pb, i from 0 on. */
typedef struct data_set {
    nb_onnx_tensor in[CLI_TENSORS_MAX], out[CLI_TENSORS_MAX];
    int n_in, n_out;
} data_set;

static void data_set_free(data_set *d)
{
    for (int i = 0; i < d->n_in; i++)
        nb_onnx_tensor_free(&d->in[i]);
    for (int i = 0; i < d->n_out; i++)
        nb_onnx_tensor_free(&d->out[i]);
    d->n_in = d->n_out = 0;
}

/* Reads the data set in dir; 0, or -1 with the reason in why. */
static int data_set_read(const char *dir, data_set *d, char *why, size_t size)
{
    char path[CLI_PATH_MAX];
    for (int kind = 0; kind < 2; kind++)
        for (int i = 0; i < CLI_TENSORS_MAX; i++) {
            if (snprintf(path, sizeof path, "%s/%s_%d.pb", dir, kind ? "output" : "input", i) >=
                (int)sizeof path) {
                snprintf(why, size, "the path of '%.200s' is too long", dir);
                return -1;
            }
            FILE *f = fopen(path, "rb");
            if (!f)
                break;
            fclose(f);
            nb_onnx_tensor *t = kind ? &d->out[d->n_out] : &d->in[d->n_in];
            if (nb_onnx_tensor_load(path, t, why, size) != 0)
                return -1;
            *(kind ? &d->n_out : &d->n_in) += 1;
        }
    return 0;
}

/* The test's data set directories (test_data_set_<n>), sorted: their count, or -1. */
static int data_set_dirs(const char *dir, char names[][CLI_SET_NAME_MAX], int max)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dp)) && n < max)
        if (!strncmp(e->d_name, "test_data_set_", 14) && strlen(e->d_name) < CLI_SET_NAME_MAX)
            memcpy(names[n++], e->d_name, strlen(e->d_name) + 1);
    closedir(dp);
    for (int i = 1; i < n; i++) /* a few names: insertion sort */
        for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char t[CLI_SET_NAME_MAX];
            memcpy(t, names[j], sizeof t);
            memcpy(names[j], names[j - 1], sizeof t);
            memcpy(names[j - 1], t, sizeof t);
        }
    return n;
}

/* A tensor's values as a buffer of dtype dt (caller frees); NULL when out of memory. */
static void *tensor_buffer(const nb_onnx_tensor *t, nb_dtype dt)
{
    size_t es = nb_dtype_size(dt);
    unsigned char *buf = malloc((size_t)t->numel * es + 1);
    for (int64_t j = 0; buf && j < t->numel; j++) {
        double v = t->data[j];
        switch (dt) {
        case NB_F32: ((float *)buf)[j] = (float)v; break;
        case NB_F64: ((double *)buf)[j] = v; break;
        case NB_I32: ((int32_t *)buf)[j] = (int32_t)v; break;
        default: buf[j] = v != 0; break;
        }
    }
    return buf;
}

static double value_at(nb_dtype dt, const void *data, int64_t j)
{
    switch (dt) {
    case NB_F32: return ((const float *)data)[j];
    case NB_F64: return ((const double *)data)[j];
    case NB_I32: return ((const int32_t *)data)[j];
    default: return ((const unsigned char *)data)[j];
    }
}

/* Compares output i of the program with the expected tensor: 0 on a match, else 1 with
 * the first difference in why. */
static int compare(const nb_program *p, int i, const nb_onnx_value *ov, const nb_onnx_tensor *e,
                   char *why, size_t size)
{
    int rank = nb_program_output_rank(p, i);
    const int64_t *shape = nb_program_output_shape(p, i);
    int same = rank == e->rank && e->type == ov->type;
    for (int d = 0; same && d < rank; d++)
        same = shape[d] == e->dims[d];
    if (!same) {
        snprintf(why, size,
                 "output %d '%.100s': nabla gives %s rank %d, the test expects %s rank %d "
                 "(or another shape)",
                 i, ov->name, nb_onnx_type_name(ov->type), rank, nb_onnx_type_name(e->type),
                 e->rank);
        return 1;
    }
    nb_dtype dt = nb_program_output_dtype(p, i);
    const void *data = nb_program_output(p, i);
    int is_float = dt == NB_F32 || dt == NB_F64;
    for (int64_t j = 0; j < e->numel; j++) {
        double a = value_at(dt, data, j), x = e->data[j];
        int ok = is_float ? (isnan(x)   ? isnan(a)
                             : isinf(x) ? a == x
                                        : fabs(a - x) <= CLI_ATOL + CLI_RTOL * fabs(x))
                          : a == x;
        if (!ok) {
            snprintf(why, size,
                     "output %d '%.100s' element %lld: nabla gives %.9g, the test expects "
                     "%.9g",
                     i, ov->name, (long long)j, a, x);
            return 1;
        }
    }
    return 0;
}

/* Removes the "'<path>': onnx: " a load's message starts with: onnx-test's line names
 * the test already. */
static void strip_path(char *why, const char *path)
{
    size_t n = strlen(path);
    if (why[0] == '\'' && !strncmp(why + 1, path, n) && !strncmp(why + 1 + n, "': ", 3)) {
        const char *rest = why + n + 4;
        if (!strncmp(rest, "onnx: ", 6))
            rest += 6;
        memmove(why, rest, strlen(rest) + 1);
    }
}

/* Loads the test's model: with no value given first; when an input must be known at
 * load, again with the first data set's integer and bool inputs as values, and then with
 * all of its inputs (float ones too: Resize's scales, Dropout's ratio). */
static nb_graph *test_load(const char *dir, const data_set *d, nb_onnx_model *m, char *why,
                           size_t size)
{
    char path[CLI_PATH_MAX];
    if (snprintf(path, sizeof path, "%s/model.onnx", dir) >= (int)sizeof path) {
        snprintf(why, size, "the path of '%.200s' is too long", dir);
        return NULL;
    }
    nb_onnx_shape shapes[CLI_TENSORS_MAX];
    nb_onnx_tensor values[CLI_TENSORS_MAX];
    int n_values = 0;
    for (int i = 0; i < d->n_in; i++) {
        shapes[i].name = d->in[i].name;
        shapes[i].rank = d->in[i].rank;
        memcpy(shapes[i].dims, d->in[i].dims, sizeof shapes[i].dims);
    }
    nb_onnx_options o = {.shapes = shapes, .n_shapes = d->n_in};
    nb_graph *g = nb_onnx_load(path, &o, m, why, size);
    if (!g)
        strip_path(why, path);
    if (g || m->error != NB_ONNX_ERROR_NEEDS_VALUE)
        return g;
    for (int all = 0; all < 2 && !g && m->error == NB_ONNX_ERROR_NEEDS_VALUE; all++) {
        n_values = 0;
        for (int i = 0; i < d->n_in; i++)
            if ((all || (d->in[i].type != NB_ONNX_FLOAT && d->in[i].type != NB_ONNX_DOUBLE)) &&
                *d->in[i].name)
                values[n_values++] = d->in[i];
        o.values = values;
        o.n_values = n_values;
        char *ops = m->op_types;
        m->op_types = NULL;
        nb_onnx_model_free(m);
        g = nb_onnx_load(path, &o, m, why, size);
        if (!g)
            strip_path(why, path);
        if (!m->op_types) {
            m->op_types = ops;
            ops = NULL;
        }
        free(ops);
    }
    return g;
}

/* Binds the data set's inputs to the program's, by the model's input names (or in
 * order when the tensors have none). 0, or -1 with why. */
static int test_bind(nb_program *p, const nb_onnx_model *m, const data_set *d, void **bufs,
                     char *why, size_t size)
{
    for (int i = 0; i < m->n_inputs; i++) {
        const nb_onnx_tensor *t = NULL;
        for (int j = 0; j < d->n_in && !t; j++)
            if (!strcmp(d->in[j].name, m->inputs[i].name))
                t = &d->in[j];
        if (!t && i < d->n_in && !*d->in[i].name)
            t = &d->in[i];
        if (!t) {
            snprintf(why, size, "no test value for input '%.100s'", m->inputs[i].name);
            return -1;
        }
        nb_node *n = m->inputs[i].node;
        if (t->numel != nb_node_numel(n)) {
            snprintf(why, size,
                     "input '%.100s': the test's value has %lld elements, the model %lld",
                     m->inputs[i].name, (long long)t->numel, (long long)nb_node_numel(n));
            return -1;
        }
        bufs[i] = tensor_buffer(t, nb_node_dtype(n));
        if (!bufs[i] || nb_program_bind(p, m->inputs[i].name, bufs[i]) != 0) {
            snprintf(why, size, "binding input '%.100s': %s", m->inputs[i].name,
                     bufs[i] ? nb_program_error(p) : "out of memory");
            return -1;
        }
    }
    return 0;
}

/* Runs one data set: a status and the reason in why. */
static int test_run(nb_program *p, const nb_onnx_model *m, const data_set *d, char *why,
                    size_t size)
{
    void *bufs[CLI_TENSORS_MAX] = {0};
    int status = ONNX_TEST_UNSUPPORTED;
    if (m->n_inputs > CLI_TENSORS_MAX) {
        snprintf(why, size, "more than %d inputs", CLI_TENSORS_MAX);
        return status;
    }
    if (d->n_out != m->n_outputs) {
        snprintf(why, size, "the test has %d outputs, the model %d", d->n_out, m->n_outputs);
        goto done;
    }
    if (test_bind(p, m, d, bufs, why, size) != 0)
        goto done;
    status = ONNX_TEST_MISMATCH;
    if (nb_program_run(p) != 0) {
        snprintf(why, size, "the run failed: %s", nb_program_error(p));
        goto done;
    }
    for (int i = 0; i < d->n_out; i++)
        if (compare(p, i, &m->outputs[i], &d->out[i], why, size) != 0)
            goto done;
    status = ONNX_TEST_PASS;
done:
    for (int i = 0; i < CLI_TENSORS_MAX; i++)
        free(bufs[i]);
    return status;
}

int cli_onnx_test(const args *a)
{
    nb_backend b;
    if (!a->backend || !strcmp(a->backend, "tcc"))
        b = NB_BACKEND_TCC;
    else if (!strcmp(a->backend, "cc"))
        b = NB_BACKEND_CC;
    else {
        cli_fail("--backend is tcc or cc, not '%s'", a->backend);
        return EXIT_USAGE;
    }
    const char *dir = a->file, *name = strrchr(dir, '/');
    name = name && name[1] ? name + 1 : dir;
    char sets[CLI_DATA_SETS_MAX][CLI_SET_NAME_MAX], why[CLI_ERR_MAX] = "", path[CLI_PATH_MAX];
    int n_sets = data_set_dirs(dir, sets, CLI_DATA_SETS_MAX), status = ONNX_TEST_UNSUPPORTED;
    nb_onnx_model m = {0};
    nb_graph *g = NULL;
    nb_program *p = NULL;
    data_set *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(why, sizeof why, "out of memory");
        goto done;
    }
    if (n_sets <= 0) {
        snprintf(why, sizeof why, "'%.200s' holds no test_data_set_*", dir);
        goto done;
    }
    for (int s = 0; s < n_sets; s++) {
        if (snprintf(path, sizeof path, "%s/%s", dir, sets[s]) >= (int)sizeof path) {
            snprintf(why, sizeof why, "the path of '%.200s' is too long", dir);
            goto done;
        }
        data_set_free(d);
        if (data_set_read(path, d, why, sizeof why) != 0) {
            status = ONNX_TEST_UNSUPPORTED;
            /* A sequence or optional value is no tensor: the model says so better (and
             * lists its op types). Only before the model is loaded: m is in use after. */
            if (!g && snprintf(path, sizeof path, "%s/model.onnx", dir) < (int)sizeof path) {
                char model_why[CLI_ERR_MAX];
                nb_graph *mg = nb_onnx_load(path, NULL, &m, model_why, sizeof model_why);
                if (!mg && m.error == NB_ONNX_ERROR_UNSUPPORTED) {
                    strip_path(model_why, path);
                    snprintf(why, sizeof why, "%s", model_why);
                }
                nb_graph_free(mg);
            }
            goto done;
        }
        if (!g) {
            if (!(g = test_load(dir, d, &m, why, sizeof why)))
                goto done;
            nb_compile_options o = {
                .outputs = m.extras.outputs, .n_outputs = m.extras.n_outputs, .backend = b};
            if (!(p = nb_compile(g, &o))) {
                snprintf(why, sizeof why, "compile: %s", nb_graph_error(g));
                goto done;
            }
            for (int i = 0; i < m.extras.n_values; i++) {
                nb_node *n = m.extras.values[i].node;
                nb_onnx_tensor t = {.numel = nb_node_numel(n), .data = m.extras.values[i].data};
                void *buf = tensor_buffer(&t, nb_node_dtype(n));
                int rc =
                    buf ? nb_program_set_param(p, nb_node_name(n), buf,
                                               (size_t)t.numel * nb_dtype_size(nb_node_dtype(n)))
                        : -1;
                free(buf);
                if (rc != 0) {
                    snprintf(why, sizeof why, "parameter '%.100s': %s", nb_node_name(n),
                             buf ? nb_program_error(p) : "out of memory");
                    goto done;
                }
            }
        }
        status = test_run(p, &m, d, why, sizeof why);
        if (status != ONNX_TEST_PASS)
            goto done;
    }
done:
    printf("%s %s [%s]%s%s\n",
           status == ONNX_TEST_PASS       ? "pass"
           : status == ONNX_TEST_MISMATCH ? "mismatch"
                                          : "unsupported",
           name, m.op_types ? m.op_types : "", *why ? " " : "", why);
    if (d)
        data_set_free(d);
    free(d);
    nb_program_free(p);
    nb_onnx_model_free(&m);
    nb_graph_free(g);
    return status;
}
