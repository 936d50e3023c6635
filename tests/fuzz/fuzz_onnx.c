/* fuzz_onnx.c — fuzz target for nb_onnx_parse, the ONNX model loader (frontend/onnx/).
 * Properties checked on every input: no crash, leak or sanitizer report; a refused model
 * gives a message starting "onnx: ", an error kind, and a model struct zeroed but its
 * error and op types; an accepted model gives a graph the verifier passes, whose report
 * (inputs, outputs, initializers, extras) points into that graph.
 *
 * An accepted model of at most FUZZ_MAX_NODES nodes of at most FUZZ_MAX_NUMEL elements
 * each is then compiled with libtcc and run once on zero inputs (its parameters set to
 * the initializers' values): libtcc compiles a small graph in about a millisecond, so the
 * fuzzer still runs hundreds of inputs a second, and the emitters and kernels see the
 * graphs the importers build (shapes the builders accepted, dtypes, broadcasting) instead
 * of only the loader's refusals. The limits keep each run far below libFuzzer's time and
 * memory limits. A compile failure of an accepted model is a finding (the loader built a
 * graph that nabla cannot compile); a run may fail with an error, as an integer division
 * by zero does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ir.h"
#include "nabla_onnx.h"

enum { FUZZ_ERR_SIZE = 1024, FUZZ_MAX_NODES = 64 };
#define FUZZ_MAX_NUMEL ((int64_t)1 << 16)

static int zeroed_but_error(const nb_onnx_model *m)
{
    nb_onnx_model z;
    memset(&z, 0, sizeof z);
    z.error = m->error;
    z.op_types = m->op_types;
    return memcmp(&z, m, sizeof z) == 0;
}

static void finding(nb_graph *g, const char *stage, const char *err)
{
    char *text = nb_graph_print(g);
    fprintf(stderr, "fuzz_onnx: %s: %s\n%s\n", stage, err ? err : "(no message)", text ? text : "");
    free(text);
    abort();
}

/* Compiles and runs the graph once on zero inputs, when it is small. */
static void run_once(nb_graph *g, const nb_onnx_model *m)
{
    int n = nb_graph_node_count(g);
    if (n > FUZZ_MAX_NODES)
        return;
    for (int i = 0; i < n; i++)
        if (nb_node_numel(nb_graph_node(g, i)) > FUZZ_MAX_NUMEL)
            return;
    nb_compile_options o = {
        .outputs = m->extras.outputs, .n_outputs = m->extras.n_outputs, .backend = NB_BACKEND_TCC};
    nb_program *p = nb_compile(g, &o);
    if (!p)
        finding(g, "compile", nb_graph_error(g));
    void *bufs[FUZZ_MAX_NODES] = {0};
    int n_in = nb_program_input_count(p);
    for (int i = 0; i < m->n_inputs && i < FUZZ_MAX_NODES; i++) {
        nb_node *in = m->inputs[i].node;
        bufs[i] = calloc((size_t)nb_node_numel(in) + 1, nb_dtype_size(nb_node_dtype(in)));
        if (!bufs[i] || nb_program_bind(p, m->inputs[i].name, bufs[i]) != 0)
            finding(g, "bind", nb_program_error(p));
    }
    if (m->n_inputs != n_in)
        finding(g, "inputs", "the model reports another count of inputs than the program has");
    for (int i = 0; i < m->extras.n_values; i++) {
        nb_node *k = m->extras.values[i].node;
        size_t es = nb_dtype_size(nb_node_dtype(k)), numel = (size_t)nb_node_numel(k);
        unsigned char *v = malloc(numel * es + 1);
        if (!v)
            abort();
        for (size_t j = 0; j < numel; j++) {
            double d = m->extras.values[i].data[j];
            if (nb_node_dtype(k) == NB_F32) {
                float f = (float)d;
                memcpy(v + j * es, &f, sizeof f);
            } else {
                memcpy(v + j * es, &d, sizeof d);
            }
        }
        if (nb_program_set_param(p, nb_node_name(k), v, numel * es) != 0)
            finding(g, "set_param", nb_program_error(p));
        free(v);
    }
    /* A run may fail with an error (an integer division by one of the zeros): a
     * clean refusal, not a finding. */
    if (nb_program_run(p) != 0 && getenv("NABLA_FUZZ_VERBOSE"))
        fprintf(stderr, "run: %s\n", nb_program_error(p));
    nb_program_free(p);
    for (int i = 0; i < FUZZ_MAX_NODES; i++)
        free(bufs[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[FUZZ_ERR_SIZE] = "";
    nb_onnx_model m;
    nb_graph *g = nb_onnx_parse(data, size, NULL, &m, err, sizeof err);
    if (getenv("NABLA_FUZZ_VERBOSE"))
        fprintf(stderr, "%s\n", g ? "accepted" : err);
    if (!g) {
        if (strncmp(err, "onnx: ", 6) != 0 || m.error == NB_ONNX_OK || !zeroed_but_error(&m))
            abort();
        nb_onnx_model_free(&m);
        return 0;
    }
    char msg[FUZZ_ERR_SIZE];
    if (ir_verify(g, msg, sizeof msg) != 0)
        finding(g, "verify", msg);
    if (m.error != NB_ONNX_OK || m.n_outputs < 1 || m.n_outputs != m.extras.n_outputs)
        abort();
    for (int i = 0; i < m.n_outputs; i++)
        if (!m.outputs[i].node || m.outputs[i].node != m.extras.outputs[i] ||
            nb_graph_node(g, nb_node_id(m.outputs[i].node)) != m.outputs[i].node)
            abort();
    for (int i = 0; i < m.n_inputs; i++)
        if (!m.inputs[i].node || strcmp(nb_node_name(m.inputs[i].node), m.inputs[i].name) != 0)
            abort();
    run_once(g, &m);
    nb_onnx_model_free(&m);
    nb_graph_free(g);
    return 0;
}
