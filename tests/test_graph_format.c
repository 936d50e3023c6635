/* test_graph_format.c — the graph text format (docs/graph-format.md): write, parse and
 * write again gives the same text for random graphs, hand-built graphs of every attribute
 * family, special constants, hostile names and a whole training step with Adam and
 * gradient buffers; the parsed graph computes the same bits; malformed files fail with
 * the line, the column and what was expected; files save and load; and every op of the
 * table was in a graph that round-tripped.
 *
 * NABLA_GRAPH_CORPUS=<dir>: also writes the round-tripped texts and the malformed files
 * there: the seeds of tests/fuzz/corpus/graph_text/ (tests/fuzz/README.md). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "files.h"
#include "nabla.h"
#include "randgraph.h"
#include "tmpdir.h"

enum { ERR_SIZE = 1024 };

static int corpus_count;
/* The ops of every graph round-tripped so far (test_every_op checks them all). */
static unsigned char ops_seen[IR_OP_COUNT];

/* Writes text into $NABLA_GRAPH_CORPUS as a seed, when it is set. */
static void corpus_add(const char *stem, const char *text)
{
    const char *dir = getenv("NABLA_GRAPH_CORPUS");
    if (!dir || !*dir || !stem)
        return;
    char name[64];
    snprintf(name, sizeof name, "%s-%03d.txt", stem, corpus_count++);
    char *path = tu_join(dir, name);
    tu_write_file(path, text, strlen(text));
    free(path);
}

/* Writes g, parses the text, writes the parsed graph and checks that both texts are the
 * same; returns the parsed graph (caller frees) with its extras in *px. */
static nb_graph *round_trip(const nb_graph *g, const nb_graph_extras *x, nb_graph_extras *px,
                            const char *stem)
{
    char err[ERR_SIZE] = "";
    char *text = nb_graph_write(g, x);
    assert_non_null(text);
    nb_graph *h = nb_graph_parse(text, strlen(text), px, err, sizeof err);
    if (!h)
        fail_msg("parse failed: %s\n%s", err, text);
    char *again = nb_graph_write(h, px);
    assert_non_null(again);
    if (strcmp(text, again) != 0)
        fail_msg("texts differ:\n%s\n---\n%s", text, again);
    assert_int_equal(nb_graph_node_count(h), nb_graph_node_count(g));
    for (int i = 0; i < g->n_nodes; i++)
        ops_seen[g->nodes[i]->op] = 1;
    /* The printer writes the same text without the extras: print(parse(print(g))). */
    char *printed = nb_graph_print(g), *reprinted = nb_graph_print(h);
    assert_non_null(printed);
    assert_non_null(reprinted);
    assert_string_equal(printed, reprinted);
    assert_memory_equal(printed, text, strlen(printed));
    free(printed);
    free(reprinted);
    corpus_add(stem, text);
    free(text);
    free(again);
    return h;
}

/* The values of an rg_leaf as doubles (new memory). */
static double *leaf_doubles(const rg_leaf *l)
{
    int64_t n = nb_node_numel(l->node);
    double *d = malloc((size_t)n * sizeof *d);
    assert_non_null(d);
    for (int64_t i = 0; i < n; i++) {
        switch (nb_node_dtype(l->node)) {
        case NB_F32: d[i] = ((const float *)l->data)[i]; break;
        case NB_F64: d[i] = ((const double *)l->data)[i]; break;
        case NB_I32: d[i] = ((const int32_t *)l->data)[i]; break;
        case NB_BOOL: d[i] = ((const uint8_t *)l->data)[i]; break;
        }
    }
    return d;
}

/* Compiles g with x's outputs and updates on tcc, binds x's values (inputs by index,
 * parameters by index: the parsed graph keeps the order), runs twice; returns the
 * program. */
static nb_program *compile_run(nb_graph *g, const nb_graph_extras *x, const rg_case *c)
{
    nb_compile_options o = {0};
    o.outputs = x->outputs;
    o.n_outputs = x->n_outputs;
    o.updates = x->updates;
    o.n_updates = x->n_updates;
    o.backend = NB_BACKEND_TCC;
    nb_program *p = nb_compile(g, &o);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(g));
    for (int i = 0; i < c->n_inputs; i++)
        assert_int_equal(nb_program_bind_index(p, i, c->inputs[i].data), 0);
    for (int i = 0; i < c->n_params; i++) {
        size_t bytes = (size_t)nb_node_numel(c->params[i].node) *
                       nb_dtype_size(nb_node_dtype(c->params[i].node));
        memcpy(nb_program_param_data(p, i), c->params[i].data, bytes);
    }
    assert_int_equal(nb_program_run(p), 0);
    assert_int_equal(nb_program_run(p), 0);
    return p;
}

/* Outputs and parameters of two programs are the same bits. */
static void assert_same_bits(nb_program *a, nb_program *b)
{
    assert_int_equal(nb_program_output_count(a), nb_program_output_count(b));
    for (int i = 0; i < nb_program_output_count(a); i++) {
        size_t bytes =
            (size_t)nb_program_output_numel(a, i) * nb_dtype_size(nb_program_output_dtype(a, i));
        assert_int_equal(nb_program_output_numel(a, i), nb_program_output_numel(b, i));
        assert_memory_equal(nb_program_output(a, i), nb_program_output(b, i), bytes);
    }
    assert_int_equal(nb_program_param_count(a), nb_program_param_count(b));
    for (int i = 0; i < nb_program_param_count(a); i++) {
        size_t bytes =
            (size_t)nb_program_param_numel(a, i) * nb_dtype_size(nb_program_param_dtype(a, i));
        assert_memory_equal(nb_program_param_data(a, i), nb_program_param_data(b, i), bytes);
    }
}

/* Random graphs of tests/support/randgraph.c (every op the generator draws), with
 * their outputs, updates and the values of their inputs and parameters. Every tenth is
 * compiled from both graphs and run: the same bits. */
static void test_random_graphs(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 300; seed++) {
        rg_case c;
        rg_rand r;
        assert_int_equal(rg_case_init(&c), 0);
        rg_rand_seed(&r, seed);
        for (int k = 0; k < 1 + (int)(seed % 3); k++)
            if (rg_add_subgraph(&c, &r) != 0)
                fail_msg("seed %llu: %s", (unsigned long long)seed, nb_graph_error(c.g));
        nb_graph_extras x = {c.outputs, c.n_outputs, c.updates, c.n_updates, NULL, 0};
        int n_values = c.n_inputs + c.n_params;
        x.values = calloc((size_t)n_values + 1, sizeof *x.values);
        assert_non_null(x.values);
        for (int i = 0; i < c.n_inputs; i++)
            x.values[x.n_values++] = (nb_leaf_value){c.inputs[i].node, leaf_doubles(&c.inputs[i])};
        for (int i = 0; i < c.n_params; i++)
            x.values[x.n_values++] = (nb_leaf_value){c.params[i].node, leaf_doubles(&c.params[i])};
        nb_graph_extras px;
        nb_graph *h = round_trip(c.g, &x, &px, seed <= 40 ? "random" : NULL);
        assert_int_equal(px.n_outputs, c.n_outputs);
        assert_int_equal(px.n_updates, c.n_updates);
        assert_int_equal(px.n_values, n_values);
        if (seed % 10 == 0) {
            nb_program *a = compile_run(c.g, &x, &c), *b = compile_run(h, &px, &c);
            assert_same_bits(a, b);
            nb_program_free(a);
            nb_program_free(b);
        }
        for (int i = 0; i < x.n_values; i++)
            free(x.values[i].data);
        free(x.values);
        nb_graph_extras_free(&px);
        nb_graph_free(h);
        rg_case_free(&c);
    }
}

/* One graph with every attribute family, special constants and hostile names. */
static void test_every_attribute(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    int64_t s23[] = {2, 3}, s234[] = {2, 3, 4}, s4[] = {4}, s32[] = {3, 2}, s2[] = {2};
    nb_node *x = nb_input(g, "x", NB_F32, 2, s23);
    nb_node *y = nb_input(g, "y \"quoted\"\n\\ \t\r\x01\x7f\xff é", NB_F64, 3, s234);
    nb_node *idx = nb_input(g, NULL, NB_I32, 1, s4);
    nb_node *w = nb_param(g, "w", NB_F32, 2, s32);
    nb_node *mask = nb_input(g, "mask", NB_BOOL, 2, s23);
    double special[6] = {NAN, -INFINITY, -0.0, 4.9406564584124654e-324, 0x1.fffffffffffffp+1023,
                         -NAN};
    nb_node *c64 = nb_constant(g, NB_F64, 2, s23, special);
    double f32v[6] = {1e-45, 3.4028234663852886e38, 0.1, -0.0, INFINITY, 1.0 / 3};
    nb_node *c32 = nb_constant(g, NB_F32, 2, s23, f32v);
    double iv[4] = {0, -2147483648.0, 2147483647.0, 3};
    nb_node *ci = nb_constant(g, NB_I32, 1, s4, iv);
    double bv[2] = {0, 1};
    nb_node *cb = nb_constant(g, NB_BOOL, 1, s2, bv);
    int ax[] = {0, 2}, ax1[] = {-1};
    /* Convolutions bring im2col and col2im. */
    nb_node *xc = nb_input(g, "xc", NB_F64, 4, (const int64_t[]){1, 2, 5, 5});
    nb_node *wc = nb_input(g, "wc", NB_F64, 4, (const int64_t[]){2, 2, 3, 3});
    nb_node *outs[] = {
        nb_sum(g, y, ax, 2, 1),
        nb_max(g, y, ax1, 1, 0),
        nb_min(g, y, NULL, 0, 0),
        nb_logsumexp(g, y, ax, 2, 0),
        nb_mean(g, y, ax1, 1, 1),
        nb_name(g, nb_matmul(g, x, w), "mm"),
        nb_matmul(g, nb_transpose(g, w), nb_transpose(g, x)),
        nb_permute(g, y, (const int[]){2, 0, 1}, 3),
        nb_reshape(g, y, 2, (const int64_t[]){6, -1}),
        nb_broadcast_to(g, x, 3, (const int64_t[]){5, 2, 3}),
        nb_slice(g, y, (const int64_t[]){1, 0, -3}, (const int64_t[]){2, 3, 4},
                 (const int64_t[]){1, 2, 2}),
        nb_concat(g, (nb_node *const[]){x, c32, x}, 3, -1),
        nb_gather(g, w, nb_constant(g, NB_I32, 1, s2, (const double[]){2, 0})),
        nb_one_hot(g, idx, 7, NB_F64),
        nb_take_along_axis(
            g, x, nb_constant(g, NB_I32, 2, (const int64_t[]){2, 1}, (const double[]){2, 0}), 1),
        nb_clamp(g, x, -0.25, INFINITY),
        nb_leaky_relu(g, x, 0.01),
        nb_elu(g, x, 1.5),
        nb_cast(g, mask, NB_F32),
        nb_cast(g, ci, NB_F64),
        nb_where(g, mask, x, c32),
        nb_where(g, cb, cb, cb),
        nb_gelu(g, c64),
        nb_stop_gradient(g, ci),
        nb_softmax(g, x, 1),
        nb_cross_entropy(g, x, nb_constant(g, NB_I32, 1, s2, (const double[]){1, 2}),
                         NB_REDUCTION_MEAN),
        nb_argmax(g, y, -2, 1),
        nb_argmin(g, x, 1, 0),
        /* (between outs[12] and the last four, which the loss below reads) */
        nb_conv2d(g, xc, wc, NULL, &(nb_conv_options){.stride = {2, 2}, .padding = {1, 1}}),
        nb_conv_transpose2d(g, xc, wc, NULL,
                            &(nb_conv_options){.stride = {2, 1}, .output_padding = {1, 0}}),
        /* i32 arithmetic and casts to i32 */
        nb_floor_div(g, nb_mul(g, ci, ci), nb_sub(g, ci, nb_add(g, ci, ci))),
        nb_remainder(g, nb_cast(g, x, NB_I32), nb_cast(g, c64, NB_I32)),
        nb_fmod(g, nb_erf(g, x), c32),
        nb_pad(g, x, 4, (const int64_t[]){1, -1, 0, 2}, NB_PAD_CONSTANT, -2.5),
        nb_scatter_add(g, x, -1, nb_constant(g, NB_I32, 2, s23, (const double[]){2, 0, 0, 1, 1, 1}),
                       c32),
        nb_index_add(g, x, 1, nb_constant(g, NB_I32, 1, s2, (const double[]){2, 2}),
                     nb_slice(g, c32, NULL, (const int64_t[]){2, 2}, NULL)),
        nb_cumsum(g, x, -1),
        nb_pad(g, y, 4, (const int64_t[]){2, 3, 1, 0}, NB_PAD_REFLECT, 0.0),
        (nb_manual_seed(g, 0xfedcba9876543210u), nb_rand(g, NB_F64, 2, s23)),
        nb_dropout(g, x, 0.25, 1),
        nb_layer_norm(g, y, 2, NULL, NULL, 1e-3),
    };
    int n = (int)(sizeof outs / sizeof *outs);
    /* Gradients bring slice_grad, scatter_add and the rules' own nodes. */
    nb_node *loss = nb_add(g, nb_sum(g, outs[10], NULL, 0, 0),
                           nb_sum(g, nb_cast(g, outs[12], NB_F64), NULL, 0, 0));
    /* and pad_reflect_grad, the reflect pad's gradient (outs[n - 4]) */
    loss = nb_add(g, loss, nb_sum(g, nb_mul(g, outs[n - 4], outs[n - 4]), NULL, 0, 0));
    /* layer norm's gradient is a norm_grad node */
    loss = nb_add(g, loss, nb_sum(g, nb_mul(g, outs[n - 1], outs[n - 1]), NULL, 0, 0));
    nb_node *grads[2];
    assert_int_equal(nb_grad(g, loss, (nb_node *const[]){y, w}, 2, grads), 0);
    assert_null(nb_graph_error(g));
    nb_node **all = malloc((size_t)(n + 2) * sizeof *all);
    memcpy(all, outs, (size_t)n * sizeof *all);
    all[n] = grads[0];
    all[n + 1] = grads[1];
    for (int i = 0; i < n + 2; i++)
        assert_non_null(all[i]);
    nb_graph_extras x0 = {all, n + 2, NULL, 0, NULL, 0};
    nb_graph_extras px;
    nb_graph *h = round_trip(g, &x0, &px, "attrs");
    char *text = nb_graph_write(h, &px);
    /* Spot checks of the text against the format's documentation. */
    assert_non_null(strstr(text, "nabla-graph 1\n%0 = input f32[2,3] name=\"x\"\n"));
    assert_non_null(
        strstr(text, "name=\"y \\\"quoted\\\"\\n\\\\ \\t\\r\\x01\\x7f\\xff \\xc3\\xa9\""));
    assert_non_null(strstr(text, "values={nan, -inf, -0, 4.94065645841247e-324, "
                                 "1.7976931348623157e+308, -nan}"));
    assert_non_null(strstr(text, "= sum f64[1,3,1] (%1) axes=[0,2] keepdim=1"));
    assert_non_null(strstr(text, "= clamp f32[2,3] (%0) lo=-0.25 hi=inf"));
    assert_non_null(strstr(text, "= one_hot f64[4,7] (%2) classes=7 dtype=f64"));
    assert_non_null(strstr(text, "slice_grad f64[2,3,4]"));
    assert_non_null(strstr(text, "scatter_add f32[3,2]"));
    assert_non_null(strstr(text, "= argmax i32[2,1,4] (%1) axes=[1] keepdim=1"));
    assert_non_null(strstr(text, "= argmin i32[2] (%0) axes=[1] keepdim=0"));
    assert_non_null(strstr(text, "= im2col f64[1,18,9] (%"));
    assert_non_null(strstr(text, ") kernel=[3,3] stride=[2,2] dilation=[1,1] padding=[1,1,1,1]"));
    assert_non_null(strstr(text, "= col2im f64[1,2,12,7] (%"));
    assert_non_null(strstr(text, ") shape=[1,2,12,7] kernel=[3,3] stride=[2,1] dilation=[1,1] "
                                 "padding=[0,0,0,0]"));
    assert_non_null(strstr(text, "= cast i32[2,3] (%0) dtype=i32"));
    assert_non_null(strstr(text, "= floor_div i32[4] ("));
    assert_non_null(strstr(text, "= remainder i32[2,3] ("));
    assert_non_null(strstr(text, "= pad f32[4,3] (%0) pad_lo=[0,1] pad_hi=[2,-1] mode=constant "
                                 "value=-2.5"));
    assert_non_null(strstr(text, "mode=reflect value=0"));
    assert_non_null(strstr(text, "= scatter_add_axis f32[2,3] (%0, "));
    assert_non_null(strstr(text, "= cumsum f32[2,3] (%0) axis=1 reverse=0"));
    assert_non_null(strstr(text, " = param f64[] kind=optimizer name=\"rng.step\""));
    assert_non_null(strstr(text, ") shape=[2,3] dtype=f64 seed=0xfedcba9876543210 offset=0"));
    assert_non_null(strstr(text, ") shape=[2,3] dtype=f32 seed=0xfedcba9876543210 offset=6"));
    assert_non_null(strstr(text, "= norm_stats f64[3,2,1,1] (%1) axes=[1,2] eps=0.001"));
    assert_non_null(strstr(text, "norm_grad f64[2,3,4] (%1, %"));
    assert_non_null(strstr(text, "axes=[1,2] eps=0.001"));
    free(text);
    free(all);
    nb_graph_extras_free(&px);
    nb_graph_free(h);
    nb_graph_free(g);
}

/* Sets every value of x (f32 leaves) on program p: parameters into their data, inputs
 * bound to float copies in bufs[i] (the caller frees them). Leaves are found by their
 * leaf index, which the parser keeps. */
static void set_values(nb_program *p, const nb_graph_extras *x, float **bufs)
{
    for (int i = 0; i < x->n_values; i++) {
        const nb_node *n = x->values[i].node;
        assert_int_equal(n->dtype, NB_F32);
        bufs[i] = malloc((size_t)n->numel * sizeof(float));
        assert_non_null(bufs[i]);
        for (int64_t j = 0; j < n->numel; j++)
            bufs[i][j] = (float)x->values[i].data[j];
        if (n->op == IR_OP_PARAM)
            memcpy(nb_program_param_data(p, n->leaf_index), bufs[i],
                   (size_t)n->numel * sizeof(float));
        else
            assert_int_equal(nb_program_bind_index(p, n->leaf_index, bufs[i]), 0);
    }
}

/* A whole training step in one file: an MLP, its gradients accumulated in gradient
 * buffers, Adam on the accumulated gradients, every update, and the values of the
 * inputs and parameters. Both graphs train three steps to the same bits. */
static void test_training_step(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    int64_t sx[] = {4, 3}, st[] = {4, 2}, s1[] = {3, 5}, sb[] = {5}, s2[] = {5, 2};
    nb_node *xin = nb_input(g, "x", NB_F32, 2, sx), *t = nb_input(g, "t", NB_F32, 2, st);
    nb_node *lr = nb_input(g, "lr", NB_F32, 0, NULL);
    nb_node *w1 = nb_param(g, "w1", NB_F32, 2, s1), *b1 = nb_param(g, "b1", NB_F32, 1, sb);
    nb_node *w2 = nb_param(g, "w2", NB_F32, 2, s2);
    nb_node *h = nb_tanh(g, nb_add(g, nb_matmul(g, xin, w1), b1));
    nb_node *loss = nb_mse(g, nb_matmul(g, h, w2), t, NB_REDUCTION_MEAN);
    nb_node *params[] = {w1, b1, w2}, *grads[3], *bufs[3], *acc[3];
    assert_int_equal(nb_grad(g, loss, params, 3, grads), 0);
    assert_int_equal(nb_grad_buffers(g, params, grads, 3, bufs, acc), 0);
    nb_update up[3 + 3 * NB_ADAM_UPDATES_PER_PARAM];
    for (int i = 0; i < 3; i++)
        up[i] = (nb_update){bufs[i], acc[i]};
    int n_up = nb_adam(g, lr, params, acc, 3, NULL, up + 3, 3 * NB_ADAM_UPDATES_PER_PARAM);
    assert_true(n_up > 0);
    n_up += 3;
    nb_node *leaves[] = {xin, t, lr, w1, b1, w2};
    nb_leaf_value vals[6];
    for (int i = 0; i < 6; i++) {
        int64_t numel = nb_node_numel(leaves[i]);
        vals[i].node = leaves[i];
        vals[i].data = malloc((size_t)numel * sizeof(double));
        for (int64_t j = 0; j < numel; j++)
            vals[i].data[j] = (float)(sin(1.0 + i * 7 + j * 0.37) * (i == 2 ? 0.01 : 1.0));
    }
    nb_node *outs[] = {loss};
    nb_graph_extras x = {outs, 1, up, n_up, vals, 6}, px;
    nb_graph *h2 = round_trip(g, &x, &px, "train");
    char *text = nb_graph_write(h2, &px);
    assert_non_null(strstr(text, "= param f32[3,5] kind=grad name=\"w1.grad\"\n"));
    assert_non_null(strstr(text, "= param f32[3,5] kind=optimizer name=\"w1.exp_avg\"\n"));
    assert_non_null(strstr(text, "\noutput %"));
    assert_non_null(strstr(text, "\nupdate %"));
    assert_non_null(strstr(text, "\nvalue %0 = {"));
    free(text);
    nb_program *progs[2];
    nb_graph *graphs[2] = {g, h2};
    nb_graph_extras *xs[2] = {&x, &px};
    float *data[2][6];
    for (int k = 0; k < 2; k++) {
        nb_compile_options o = {0};
        o.outputs = xs[k]->outputs;
        o.n_outputs = xs[k]->n_outputs;
        o.updates = xs[k]->updates;
        o.n_updates = xs[k]->n_updates;
        progs[k] = nb_compile(graphs[k], &o);
        if (!progs[k])
            fail_msg("compile: %s", nb_graph_error(graphs[k]));
        set_values(progs[k], xs[k], data[k]);
        for (int step = 0; step < 3; step++)
            assert_int_equal(nb_program_run(progs[k]), 0);
    }
    assert_same_bits(progs[0], progs[1]);
    for (int k = 0; k < 2; k++) {
        nb_program_free(progs[k]);
        for (int i = 0; i < 6; i++)
            free(data[k][i]);
    }
    for (int i = 0; i < 6; i++)
        free(vals[i].data);
    nb_graph_extras_free(&px);
    nb_graph_free(h2);
    nb_graph_free(g);
}

/* A malformed file and the message it must give. */
typedef struct bad_file {
    const char *text;
    const char *message;
} bad_file;

#define HDR "nabla-graph 1\n"
#define X0 "%0 = input f32[2,3] name=\"x\"\n"

static const bad_file bad_files[] = {
    {"", "line 1, column 1: expected the header 'nabla-graph 1'"},
    {"nabla-graph 2\n", "line 1, column 13: version 2 of the format is not supported (this "
                        "reader reads 1)"},
    {HDR "%0 = input f33[2] name=\"x\"\n",
     "line 2, column 12: expected a dtype (f32, f64, i32, bool), got 'f33'"},
    {HDR "%0 = inptu f32[2]\n", "line 2, column 6: expected an op name, got 'inptu'"},
    {HDR X0 "%1 = add f32[2,3] (%0, %7)\n", "line 3, column 24: node %7 is not defined above"},
    {HDR X0 "%1 = add f32[2,3] (%0)\n", "line 3, column 22: add takes 2 operands, got 1"},
    {HDR X0 "%1 = exp f32[2,4] (%0)\n",
     "line 3, column 10: exp: the file says f32[2,4], the operands give f32[2,3]"},
    {HDR X0 "%0 = exp f32[2,3] (%0)\n", "line 3, column 2: node numbers must increase: %0 "
                                        "follows %0"},
    {HDR X0 "%1 = sum f32[3] (%0) axes=[0]\n",
     "line 3, column 30: expected attribute 'keepdim' of sum"},
    {HDR X0 "%1 = exp f32[2,3] (%0) axes=[0]\n",
     "line 3, column 24: expected an attribute of exp (name), got 'axes'"},
    {HDR X0 "%1 = exp f32[2,3] (%0) name=\"a\" name=\"b\"\n",
     "line 3, column 33: attribute 'name' is given twice"},
    {HDR "%0 = const f32[3] values={1, 2}\n", "line 2, column 12: expected 3 values, got 2"},
    {HDR "%0 = const i32[2] values={1, 2.5}\n",
     "line 2, column 12: value 1 (2.5) is not a value of i32"},
    {HDR "%0 = const f64[1] values={1x}\n", "line 2, column 27: expected a number, got '1x'"},
    {HDR "%0 = input f32[2] name=\"a\\q\"\n",
     "line 2, column 26: expected an escape (\\\\, \\\", \\n, \\t, \\r, \\xNN)"},
    {HDR "%0 = input f32[2] name=\"a\\x00\"\n",
     "line 2, column 26: a name cannot hold the byte 0 (\\x00)"},
    {HDR "%0 = input f32[2] name=\"ab\n", "line 2, column 27: expected '\"' to end the name, got "
                                          "the end of the line"},
    {HDR "%0 = param f32[2] kind=model\n", "line 2, column 1: param: a parameter needs a name"},
    {HDR X0 "%1 = input f32[2] name=\"x\"\n",
     "line 3, column 1: input: the name 'x' is already taken by node 0"},
    {HDR "%0 = input f32[2,0]\n",
     "line 2, column 12: dimension 1 is 0; dimensions must be positive"},
    {HDR "%0 = input f32[1,2,3,4,5,6,7,8,9]\n", "line 2, column 32: more than 8 entries in a list"},
    {HDR "%0 = input f32[99999999999999999999]\n",
     "line 2, column 16: a dimension is out of range"},
    {HDR "%0 = input f32[4294967296,4294967296]\n",
     "line 2, column 12: the type has more than 576460752303423487 elements"},
    {HDR X0 "%1 = sum f32[] (%0) axes=[0,1,0] keepdim=0\n",
     "line 3, column 26: axis 0 is listed twice"},
    {HDR X0 "%1 = sum f32[] (%0) axes=[0,5] keepdim=0\n",
     "line 3, column 1: sum: axes mask 0x21 names axes past rank 2"},
    {HDR X0 "output %0\nupdate %0 <- %0\n",
     "line 4, column 8: expected a parameter, node %0 is input"},
    {HDR "%0 = param f32[2] kind=model name=\"w\"\nupdate %0 <- %0\nupdate %0 <- %0\n",
     "line 4, column 8: parameter %0 is updated twice"},
    {HDR X0 "value %0 = {1, 2}\n", "line 3, column 12: expected 6 values, got 2"},
    {HDR X0 "frobnicate %0\n",
     "line 3, column 1: expected a node ('%N = ...'), 'output', 'update' or 'value', got "
     "'frobnicate'"},
    {HDR X0 "output %0 %0\n", "line 3, column 11: expected the end of the line, got '%0'"},
    {HDR "%0 = const f64[1] values={nan:0x0000000000000001}\n",
     "line 2, column 27: nan:0x0000000000000001 is not the bits of a NaN"},
    {HDR "%0 = const f64[1] values={1e999}\n",
     "line 2, column 27: 1e999 is out of the range of a double"},
#define STEP "%0 = param f64[] kind=optimizer name=\"rng.step\"\n"
    {HDR STEP "%1 = rand f32[2] (%0) shape=[2] dtype=f32 seed=0x12345678901234567 offset=0\n",
     "line 3, column 48: expected a seed (0x and 1 to 16 hex digits), got '0x12345678901234567'"},
    {HDR STEP "%1 = rand f32[2] (%0) shape=[2] dtype=f32 seed=42 offset=0\n",
     "line 3, column 48: expected a seed (0x and 1 to 16 hex digits), got '42'"},
    {HDR STEP "%1 = rand f32[2] (%0) shape=[2] dtype=f32 seed=0x2a offset=-1\n",
     "line 3, column 60: a counter offset -1 is out of range [0, 9223372036854775807]"},
    {HDR STEP "%1 = rand f32[2] (%0) shape=[2] dtype=f32 seed=0x2a offset=9223372036854775807\n",
     "line 3, column 1: rand: counter offset 9223372036854775807 is out of range [0, "
     "9223372036854775805]"},
    {HDR STEP "%1 = rand i32[2] (%0) shape=[2] dtype=i32 seed=0x2a offset=0\n",
     "line 3, column 1: rand: dtype i32 is not a float dtype (f32 or f64)"},
    {HDR X0 "%1 = rand f32[2] (%0) shape=[2] dtype=f32 seed=0x2a offset=0\n",
     "line 3, column 1: rand: the step counter is f32[2,3]; expected f64[] (a scalar)"},
#undef STEP
};

static void test_parse_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_files / sizeof *bad_files; i++) {
        char err[ERR_SIZE] = "";
        nb_graph_extras x = {0};
        x.n_outputs = 99; /* zeroed on failure */
        nb_graph *g =
            nb_graph_parse(bad_files[i].text, strlen(bad_files[i].text), &x, err, sizeof err);
        if (g)
            fail_msg("case %zu parsed:\n%s", i, bad_files[i].text);
        if (strcmp(err, bad_files[i].message) != 0)
            fail_msg("case %zu:\n  got      %s\n  expected %s", i, err, bad_files[i].message);
        assert_int_equal(x.n_outputs, 0);
        assert_null(x.outputs);
        corpus_add("bad", bad_files[i].text);
    }
    /* Text with a NUL byte, text that is NULL, no error buffer. */
    char err[ERR_SIZE];
    assert_null(nb_graph_parse(HDR "%0 = input f32[2]\0", sizeof HDR + 17, NULL, err, sizeof err));
    assert_string_equal(err,
                        "line 2, column 18: expected an attribute of input (name), got '\\x00'");
    assert_null(nb_graph_parse(NULL, 5, NULL, err, sizeof err));
    assert_null(nb_graph_parse("x", 1, NULL, NULL, 0));
}

/* Comments, blank lines, CRLF line ends, sparse increasing node numbers, decimal and
 * hexadecimal numbers are all read. */
static void test_parse_lenient(void **state)
{
    (void)state;
    const char *text = "nabla-graph 1  # a comment\r\n"
                       "\n"
                       "# a line of comment\n"
                       "%3 = input f32[2] name=\"x\"\r\n"
                       "%10 = const f32[2] values={0x1.8p+1, 1e-1}\n"
                       "%11=mul f32[2](%3,%10)   name=\"y\"\n"
                       "output %11\n";
    char err[ERR_SIZE];
    nb_graph_extras x;
    nb_graph *g = nb_graph_parse(text, strlen(text), &x, err, sizeof err);
    if (!g)
        fail_msg("%s", err);
    char *out = nb_graph_write(g, &x);
    assert_string_equal(out, "nabla-graph 1\n"
                             "%0 = input f32[2] name=\"x\"\n"
                             "%1 = const f32[2] values={3, 0.10000000149011612}\n"
                             "%2 = mul f32[2] (%0, %1) name=\"y\"\n"
                             "output %2\n");
    free(out);
    nb_graph_extras_free(&x);
    nb_graph_free(g);
}

/* nb_graph_write refuses what it cannot write faithfully. */
static void test_write_refuses(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new(), *other = nb_graph_new();
    nb_node *a = nb_input(g, "a", NB_I32, 0, NULL), *b = nb_input(other, "b", NB_F32, 0, NULL);
    assert_null(nb_graph_write(NULL, NULL));
    nb_graph_extras x = {(nb_node *[]){b}, 1, NULL, 0, NULL, 0};
    assert_null(nb_graph_write(g, &x));
    double half = 0.5;
    nb_graph_extras y = {NULL, 0, NULL, 0, (nb_leaf_value[]){{a, &half}}, 1};
    assert_null(nb_graph_write(g, &y)); /* 0.5 is no i32 */
    nb_exp(g, a);                       /* an error on g */
    assert_null(nb_graph_write(g, NULL));
    /* The printer still shows the nodes recorded before the error. */
    char *printed = nb_graph_print(g);
    assert_string_equal(printed, "nabla-graph 1\n%0 = input i32[] name=\"a\"\n");
    free(printed);
    nb_graph_free(g);
    nb_graph_free(other);
}

/* Save writes the file atomically; load reads it back; errors name the file. */
static void test_save_load(void **state)
{
    (void)state;
    char *dir = tu_make_dir("nabla-gformat");
    char *path = tu_join(dir, "seed.nbg");
    char err[ERR_SIZE];
    nb_graph *g = nb_graph_new();
    nb_node *xn = nb_input(g, "x", NB_F32, 0, NULL), *w = nb_param(g, "w", NB_F32, 0, NULL);
    nb_node *y = nb_mul(g, xn, w);
    nb_graph_extras x = {&y, 1, NULL, 0, (nb_leaf_value[]){{xn, (double[]){6.5}}}, 1};
    assert_int_equal(nb_graph_save(g, &x, path, err, sizeof err), 0);
    size_t len;
    char *text = tu_read_file(path, &len);
    nb_graph_extras px;
    nb_graph *h = nb_graph_load(path, &px, err, sizeof err);
    if (!h)
        fail_msg("%s", err);
    char *again = nb_graph_write(h, &px);
    assert_string_equal(text, again);
    assert_string_equal(text, "nabla-graph 1\n"
                              "%0 = input f32[] name=\"x\"\n"
                              "%1 = param f32[] kind=model name=\"w\"\n"
                              "%2 = mul f32[] (%0, %1)\n"
                              "output %2\n"
                              "value %0 = {6.5}\n");
    free(text);
    free(again);
    nb_graph_extras_free(&px);
    nb_graph_free(h);
    tu_write_file(path, "nabla-graph 1\n%0 = x\n", 21);
    assert_null(nb_graph_load(path, NULL, err, sizeof err));
    char *want = malloc(strlen(path) + 64);
    sprintf(want, "'%s': line 2, column 6: expected an op name, got 'x'", path);
    assert_string_equal(err, want);
    free(want);
    char *missing = tu_join(dir, "missing.nbg");
    assert_null(nb_graph_load(missing, NULL, err, sizeof err));
    assert_non_null(strstr(err, "cannot open it"));
    assert_int_equal(nb_graph_save(NULL, NULL, path, err, sizeof err), -1);
    free(missing);
    nb_graph_free(g);
    tu_remove_dir(dir);
    free(path);
    free(dir);
}

/* Pooling's window attributes, its gradients and their gradients (max_pool2d_select,
 * avg_pool2d_grad) survive a round trip. */
static void test_pool_attributes(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F64, 4, (const int64_t[]){1, 2, 7, 6});
    nb_node *v = nb_input(g, "v", NB_F64, 4, (const int64_t[]){1, 2, 7, 6});
    nb_node *mp = nb_max_pool2d(g, x, (const int64_t[]){3, 2}, (const int64_t[]){2, 1},
                                (const int64_t[]){1, 1}, (const int64_t[]){2, 1}, 1);
    nb_node *ap = nb_avg_pool2d(g, x, (const int64_t[]){3, 3}, (const int64_t[]){2, 2},
                                (const int64_t[]){1, 0}, 1, 0, 5);
    nb_node *ad = nb_adaptive_avg_pool2d(g, x, 3, 4);
    nb_node *loss = nb_add(g,
                           nb_add(g, nb_sum(g, nb_mul(g, mp, mp), NULL, 0, 0),
                                  nb_sum(g, nb_mul(g, ap, ap), NULL, 0, 0)),
                           nb_sum(g, ad, NULL, 0, 0));
    nb_node *dx, *d2x;
    assert_int_equal(nb_grad(g, loss, &x, 1, &dx), 0);
    assert_int_equal(nb_grad(g, nb_sum(g, nb_mul(g, dx, v), NULL, 0, 0), &x, 1, &d2x), 0);
    nb_node *all[] = {mp, ap, ad, dx, d2x};
    nb_graph_extras x0 = {all, 5, NULL, 0, NULL, 0};
    nb_graph_extras px;
    nb_graph *h = round_trip(g, &x0, &px, "pool");
    char *text = nb_graph_write(h, &px);
    assert_non_null(strstr(text, "= max_pool2d f64[1,2,3,7] (%0) kernel=[3,2] stride=[2,1] "
                                 "dilation=[2,1] padding=[1,1,1,1] ceil_mode=1"));
    assert_non_null(strstr(text, "= avg_pool2d f64[1,2,4,3] (%0) kernel=[3,3] stride=[2,2] "
                                 "padding=[1,0,1,0] ceil_mode=1 count_include_pad=0 "
                                 "divisor_override=5"));
    assert_non_null(strstr(text, "= avg_pool2d_grad f64[1,2,7,6] ("));
    assert_non_null(strstr(text, "= max_pool2d_grad f64[1,2,7,6] (%0, "));
    assert_non_null(strstr(text, "= max_pool2d_select f64[1,2,3,7] (%0, "));
    free(text);
    nb_graph_extras_free(&px);
    nb_graph_free(h);
    nb_graph_free(g);
}

/* The trigonometric and hyperbolic ops, the logical ops, isnan/isinf and prod (with its
 * gradient's nodes), as the text spells them. */
static void test_math_ops(void **state)
{
    (void)state;
    nb_graph *g = nb_graph_new();
    int64_t s23[] = {2, 3}, s3[] = {3};
    nb_node *x = nb_input(g, "x", NB_F64, 2, s23);
    nb_node *a = nb_input(g, "a", NB_BOOL, 2, s23);
    nb_node *b = nb_input(g, "b", NB_BOOL, 1, s3);
    int ax1[] = {1};
    nb_node *t = nb_tanh(g, x);
    nb_node *outs[] = {
        nb_tan(g, t),
        nb_asin(g, t),
        nb_acos(g, t),
        nb_atan(g, x),
        nb_sinh(g, x),
        nb_cosh(g, x),
        nb_asinh(g, x),
        nb_acosh(g, nb_cosh(g, x)),
        nb_atanh(g, t),
        nb_prod(g, x, ax1, 1, 1),
        nb_logical_and(g, a, b),
        nb_logical_or(g, a, b),
        nb_logical_xor(g, a, b),
        nb_logical_not(g, nb_isnan(g, x)),
        nb_isinf(g, x),
    };
    int n = (int)(sizeof outs / sizeof *outs);
    nb_node *loss = nb_sum(g, outs[0], NULL, 0, 0);
    for (int i = 1; i < 10; i++)
        loss = nb_add(g, loss, nb_sum(g, outs[i], NULL, 0, 0));
    nb_node *all[sizeof outs / sizeof *outs + 1];
    memcpy(all, outs, sizeof outs);
    assert_int_equal(nb_grad(g, loss, &x, 1, &all[n]), 0);
    nb_graph_extras x0 = {all, n + 1, NULL, 0, NULL, 0};
    nb_graph_extras px;
    nb_graph *h = round_trip(g, &x0, &px, "math");
    char *text = nb_graph_write(h, &px);
    assert_non_null(strstr(text, "= prod f64[2,1] (%0) axes=[1] keepdim=1"));
    assert_non_null(strstr(text, "= logical_xor bool[2,3] (%1, %2)"));
    assert_non_null(strstr(text, "= acosh f64[2,3] ("));
    free(text);
    nb_graph_extras_free(&px);
    nb_graph_free(h);
    nb_graph_free(g);
}

/* Every op of the table went through a round trip above (the tests run in order). */
static void test_every_op(void **state)
{
    (void)state;
    for (int op = 0; op < IR_OP_COUNT; op++)
        if (!ops_seen[op])
            fail_msg("no graph of this test holds op '%s'", ir_op_defs[op].name);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_graphs), cmocka_unit_test(test_every_attribute),
        cmocka_unit_test(test_training_step), cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_lenient), cmocka_unit_test(test_write_refuses),
        cmocka_unit_test(test_save_load),     cmocka_unit_test(test_pool_attributes),
        cmocka_unit_test(test_math_ops),      cmocka_unit_test(test_every_op),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
