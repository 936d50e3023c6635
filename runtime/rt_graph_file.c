/* rt_graph_file.c — model files on disk: nb_graph_save writes the text format
 * (frontend/nb_graph_write.c) atomically, nb_graph_load reads a file and parses it
 * (frontend/nb_graph_parse.c), nb_onnx_load and nb_onnx_tensor_load read ONNX files
 * for the ONNX loader (frontend/onnx/). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"
#include "nabla_onnx.h"
#include "rt_tmpfile.h"

/* Bytes of a message of the file layer before the path is prefixed. */
#define RT_GRAPH_FILE_MSG_MAX 1024

int nb_graph_save(const nb_graph *g, const nb_graph_extras *x, const char *path, char *err,
                  size_t err_size)
{
    if (!path) {
        ir_errbuf(err, err_size, "graph save: the path is NULL");
        return -1;
    }
    char *text = nb_graph_write(g, x);
    if (!text) {
        ir_errbuf(err, err_size,
                  "graph save '%.300s': the graph is NULL or has an error, an extra names a node "
                  "of another graph or a value that does not fit, or out of memory",
                  path);
        return -1;
    }
    char msg[RT_GRAPH_FILE_MSG_MAX];
    int rc = rt_file_replace_text(path, text, strlen(text), msg, sizeof msg);
    if (rc != 0)
        ir_errbuf(err, err_size, "graph save '%.300s': %s", path, msg);
    free(text);
    return rc;
}

/* The whole file in new memory (*len bytes, terminated; at most max); NULL with the
 * error in msg. */
static char *read_all(const char *path, size_t max, size_t *len, char *msg, size_t size)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;
    if (!f) {
        snprintf(msg, size, "cannot open it: %s", strerror(errno));
        return NULL;
    }
    for (;;) {
        if (n + 1 >= cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *b = ir_realloc(buf, ncap);
            if (!b) {
                snprintf(msg, size, "out of memory");
                goto fail;
            }
            buf = b;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (n > max) {
            snprintf(msg, size, "the file is larger than %zu bytes", max);
            goto fail;
        }
        if (got == 0) {
            if (ferror(f)) {
                snprintf(msg, size, "reading it failed");
                goto fail;
            }
            break;
        }
    }
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
fail:
    fclose(f);
    free(buf);
    return NULL;
}

nb_graph *nb_graph_load(const char *path, nb_graph_extras *x, char *err, size_t err_size)
{
    if (x)
        memset(x, 0, sizeof *x);
    if (!path) {
        ir_errbuf(err, err_size, "graph load: the path is NULL");
        return NULL;
    }
    char msg[RT_GRAPH_FILE_MSG_MAX];
    size_t len = 0;
    char *text = read_all(path, NB_GRAPH_FILE_MAX, &len, msg, sizeof msg);
    if (!text) {
        ir_errbuf(err, err_size, "'%.300s': %s", path, msg);
        return NULL;
    }
    nb_graph *g = nb_graph_parse(text, len, x, msg, sizeof msg);
    free(text);
    if (!g)
        ir_errbuf(err, err_size, "'%.300s': %s", path, msg);
    return g;
}

nb_graph *nb_onnx_load(const char *path, const nb_onnx_options *o, nb_onnx_model *m, char *err,
                       size_t err_size)
{
    if (m)
        memset(m, 0, sizeof *m);
    if (!path) {
        ir_errbuf(err, err_size, "onnx load: the path is NULL");
        if (m)
            m->error = NB_ONNX_ERROR_FILE;
        return NULL;
    }
    char msg[RT_GRAPH_FILE_MSG_MAX];
    size_t len = 0;
    char *bytes = read_all(path, NB_ONNX_FILE_MAX, &len, msg, sizeof msg);
    if (!bytes) {
        ir_errbuf(err, err_size, "'%.300s': %s", path, msg);
        if (m)
            m->error = NB_ONNX_ERROR_FILE;
        return NULL;
    }
    nb_graph *g = nb_onnx_parse(bytes, len, o, m, msg, sizeof msg);
    free(bytes);
    if (!g)
        ir_errbuf(err, err_size, "'%.300s': %s", path, msg);
    return g;
}

int nb_onnx_tensor_load(const char *path, nb_onnx_tensor *t, char *err, size_t err_size)
{
    if (t)
        memset(t, 0, sizeof *t);
    if (!path) {
        ir_errbuf(err, err_size, "onnx tensor load: the path is NULL");
        return -1;
    }
    char msg[RT_GRAPH_FILE_MSG_MAX];
    size_t len = 0;
    char *bytes = read_all(path, NB_ONNX_FILE_MAX, &len, msg, sizeof msg);
    if (!bytes) {
        ir_errbuf(err, err_size, "'%.300s': %s", path, msg);
        return -1;
    }
    int rc = nb_onnx_tensor_parse(bytes, len, t, msg, sizeof msg);
    free(bytes);
    if (rc != 0)
        ir_errbuf(err, err_size, "'%.300s': %s", path, msg);
    return rc;
}
