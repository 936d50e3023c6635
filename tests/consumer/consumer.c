/* consumer.c — a program outside nabla's tree that uses it as an installed or embedded
 * library (tests/consumer/run.sh builds it three ways): the autograd tutorial's y = x^2
 * and one SGD training step of its logistic regression, through the public API only.
 * Exits 0 when every number matches the values computed by hand (and by PyTorch). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nabla.h"
#include "nabla_onnx.h"

static int failures;

static void check(const char *what, double got, double want)
{
    int ok = fabs(got - want) <= 1e-4 + 1e-4 * fabs(want);
    printf("%-28s %.4f (want %.4f)%s\n", what, got, want, ok ? "" : "  MISMATCH");
    failures += !ok;
}

static nb_program *compile(nb_graph *g, nb_node **outs, int n, const nb_update *up, int n_up)
{
    nb_compile_options opt = {.outputs = outs, .n_outputs = n, .updates = up, .n_updates = n_up};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fprintf(stderr, "compile failed: %s\n", nb_graph_error(g));
    nb_graph_free(g);
    return p;
}

/* y = x^2 at x = 3: y = 9, dy/dx = 6. */
static void square(void)
{
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 0, NULL);
    nb_node *dx;
    nb_node *y = nb_square(g, x);
    nb_grad(g, y, &x, 1, &dx);
    nb_node *outs[] = {y, dx};
    nb_program *p = compile(g, outs, 2, NULL, 0);
    float xv = 3.0f;
    if (!p || nb_program_bind(p, "x", &xv) != 0 || nb_program_run(p) != 0) {
        failures++;
        nb_program_free(p);
        return;
    }
    check("y = x^2 at 3", *(const float *)nb_program_output(p, 0), 9.0);
    check("dy/dx", *(const float *)nb_program_output(p, 1), 6.0);
    nb_program_free(p);
}

/* z = w x + b, p = sigmoid(z), binary cross-entropy against y, and w, b -= lr * grad:
 * at x = 6.7, y = 0, w = 1, b = 0, lr = 0.1 the loss is 6.7012, dL/dw = 6.6918,
 * dL/db = 0.9988, so w becomes 1 - 0.66918 and b becomes -0.09988. */
static void training_step(void)
{
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 0, NULL);
    nb_node *y = nb_input(g, "y", NB_F32, 0, NULL);
    nb_node *lr = nb_input(g, "lr", NB_F32, 0, NULL);
    nb_node *w = nb_param(g, "w", NB_F32, 0, NULL);
    nb_node *b = nb_param(g, "b", NB_F32, 0, NULL);
    nb_node *p = nb_sigmoid(g, nb_add(g, nb_mul(g, w, x), b));
    nb_node *loss = nb_bce(g, p, y, NB_REDUCTION_MEAN);
    nb_node *params[] = {w, b}, *grads[2];
    nb_grad(g, loss, params, 2, grads);
    nb_update up[2 * NB_SGD_UPDATES_PER_PARAM];
    int n_up = nb_sgd(g, lr, params, grads, 2, NULL, up, 2 * NB_SGD_UPDATES_PER_PARAM);
    nb_node *outs[] = {loss, grads[0], grads[1]};
    nb_program *prog = compile(g, outs, 3, up, n_up < 0 ? 0 : n_up);
    float xv = 6.7f, yv = 0.0f, lrv = 0.1f, wv = 1.0f, bv = 0.0f;
    if (!prog || nb_program_set_param(prog, "w", &wv, sizeof wv) != 0 ||
        nb_program_set_param(prog, "b", &bv, sizeof bv) != 0 ||
        nb_program_bind(prog, "x", &xv) != 0 || nb_program_bind(prog, "y", &yv) != 0 ||
        nb_program_bind(prog, "lr", &lrv) != 0 || nb_program_run(prog) != 0 ||
        nb_program_get_param(prog, "w", &wv, sizeof wv) != 0 ||
        nb_program_get_param(prog, "b", &bv, sizeof bv) != 0) {
        fprintf(stderr, "training step failed: %s\n", prog ? nb_program_error(prog) : "");
        failures++;
        nb_program_free(prog);
        return;
    }
    check("loss", *(const float *)nb_program_output(prog, 0), 6.7012);
    check("dL/dw", *(const float *)nb_program_output(prog, 1), 6.6918);
    check("dL/db", *(const float *)nb_program_output(prog, 2), 0.9988);
    check("w after the step", wv, 0.33082);
    check("b after the step", bv, -0.09988);
    nb_program_free(prog);
}

/* An ONNX model, y = Relu(x) with x of shape [2] (opset 13), as python3-onnx serializes
 * it: the loader and its protobuf-c dependency link into the consumer. */
static void onnx_relu(void)
{
    static const char model[] =
        "\x08\x08\x12\x00\x3a\x33\x0a\x0c\x0a\x01\x78\x12\x01\x79\x22\x04\x52\x65\x6c\x75"
        "\x12\x01\x67\x5a\x0f\x0a\x01\x78\x12\x0a\x0a\x08\x08\x01\x12\x04\x0a\x02\x08\x02"
        "\x62\x0f\x0a\x01\x79\x12\x0a\x0a\x08\x08\x01\x12\x04\x0a\x02\x08\x02\x42\x04\x0a"
        "\x00\x10\x0d";
    nb_onnx_model m;
    char err[512];
    nb_graph *g = nb_onnx_parse(model, sizeof model - 1, NULL, &m, err, sizeof err);
    if (!g) {
        fprintf(stderr, "onnx: %s\n", err);
        failures++;
        return;
    }
    nb_node *y = m.outputs[0].node;
    nb_onnx_model_free(&m);
    nb_program *p = compile(g, &y, 1, NULL, 0);
    float xv[2] = {-1.5f, 2.5f};
    if (!p || nb_program_bind(p, "x", xv) != 0 || nb_program_run(p) != 0) {
        fprintf(stderr, "onnx relu failed\n");
        failures++;
        nb_program_free(p);
        return;
    }
    check("onnx relu(-1.5)", ((const float *)nb_program_output(p, 0))[0], 0.0);
    check("onnx relu(2.5)", ((const float *)nb_program_output(p, 0))[1], 2.5);
    nb_program_free(p);
}

int main(void)
{
    printf("nabla %s (header %s)\n", nb_version(), NABLA_VERSION_STRING);
    if (strcmp(nb_version(), NABLA_VERSION_STRING) != 0)
        failures++;
    square();
    training_step();
    onnx_relu();
    return failures == 0 ? 0 : 1;
}
