/* rt_dump.c — NABLA_DUMP_DIR: every program nb_compile builds leaves its C and its IR
 * there, for the user to read without changing the application. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"
#include "rt_tmpfile.h"

/* Bytes of a message about one dump: a path (cut) and the reason. */
#define RT_DUMP_ERR_MAX 1024
/* Bytes of "<16 hex digits>.ir" and its terminator. */
#define RT_DUMP_NAME_MAX 24

/* One warning per process: an application that compiles a thousand programs into a
 * directory that is missing says so once, not a thousand times. */
static atomic_int rt_dump_warned;

/* Replaces dir/name with text. 0, or -1 with the path and the reason in err. */
static int dump_file(const char *dir, const char *name, const char *text, char *err, size_t size)
{
    size_t n = strlen(dir) + 1 + strlen(name) + 1;
    char *path = ir_malloc(n);
    if (!path) {
        snprintf(err, size, "out of memory");
        return -1;
    }
    snprintf(path, n, "%s/%s", dir, name);
    char why[RT_DUMP_ERR_MAX];
    int rc = rt_file_replace_text(path, text, strlen(text), why, sizeof why);
    if (rc != 0)
        snprintf(err, size, "cannot write '%.300s': %.600s", path, why);
    free(path);
    return rc;
}

void rt_dump_program(const char *dir, const char *source, const ir_graph *g)
{
    char name[RT_DUMP_NAME_MAX], err[RT_DUMP_ERR_MAX];
    unsigned long long h = (unsigned long long)ir_xxh64(source, strlen(source), 0);
    char *ir = nb_graph_print(g);
    int rc = -1;
    snprintf(name, sizeof name, "%016llx.c", h);
    if (!ir)
        snprintf(err, sizeof err, "out of memory");
    else if (dump_file(dir, name, source, err, sizeof err) == 0) {
        snprintf(name, sizeof name, "%016llx.ir", h);
        rc = dump_file(dir, name, ir, err, sizeof err);
    }
    free(ir);
    if (rc != 0 && atomic_exchange(&rt_dump_warned, 1) == 0)
        fprintf(stderr,
                "nabla: NABLA_DUMP_DIR: %s (programs still compile; this warning is "
                "not repeated)\n",
                err);
}
