/* cli.h — shared by the nabla command's files (nabla.c: the commands over graph files;
 * cli_onnx.c: ONNX models and `nabla onnx-test`): the parsed options and the helpers
 * that load a graph file or an ONNX model. */
#ifndef CLI_H
#define CLI_H

#include "nabla.h"
#include "nabla_onnx.h"

/* Options of one kind a command line may repeat, at most. */
#define CLI_LIST_MAX 64

/* Exit statuses: a usage error (bad arguments) apart from a failure of the work. */
enum { EXIT_USAGE = 2 };

/* The options every subcommand may take; each subcommand says which it reads. */
typedef struct args {
    const char *file, *out, *backend, *of, *wrt, *prefix, *weights, *load, *rankdir;
    int repeat, consts, svg, random;
    const char *inputs[CLI_LIST_MAX], *params[CLI_LIST_MAX], *shapes[CLI_LIST_MAX];
    int n_inputs, n_params, n_shapes;
} args;

/* Prints "nabla: <message>" and a newline on stderr. */
void cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Nonzero when path names an ONNX model (ends in .onnx). */
int cli_is_onnx(const char *path);
/* Loads the ONNX model a->file with a->shapes (--shape NAME=D,D,...), its outputs and
 * parameter values in *x as a graph file's. NULL after a message. */
nb_graph *cli_onnx_load(const args *a, nb_graph_extras *x);
/* Parses a --shape NAME=D,D,... option into *s (name points into spec). 0, or -1 after
 * a message. */
int cli_shape_arg(const char *spec, nb_onnx_shape *s);

/* nabla onnx-test DIR: runs one test of ONNX's backend format. */
int cli_onnx_test(const args *a);

#endif
