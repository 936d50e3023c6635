/* fuzz_checkpoint.c — fuzz target for nb_program_load, the reader of untrusted
 * safetensors files. Properties checked on every input: no crash, leak or sanitizer
 * report; a refused file leaves every parameter as it was and names the file in the
 * error; an accepted file saves and loads back to the same bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "nabla.h"

/* One parameter of each dtype, of ranks 0 to 3: the names the seed corpus uses. */
static nb_program *fuzz_program(void)
{
    static const int64_t s23[] = {2, 3}, s3[] = {3}, s212[] = {2, 1, 2};
    nb_graph *g = nb_graph_new();
    nb_node *outs[5] = {
        nb_param(g, "a", NB_F32, 2, s23),        nb_param(g, "b", NB_F64, 0, NULL),
        nb_param(g, "m", NB_BOOL, 1, s3),        nb_param(g, "k", NB_I32, 3, s212),
        nb_param(g, "w.exp_avg", NB_F32, 1, s3),
    };
    nb_compile_options opt = {.outputs = outs, .n_outputs = 5};
    nb_program *p = nb_compile(g, &opt);
    nb_graph_free(g);
    if (!p)
        abort();
    return p;
}

static nb_program *prog;
static unsigned char *snapshot;
static size_t snapshot_size;

static void fuzz_free(void)
{
    nb_program_free(prog);
    free(snapshot);
}

/* Copies every parameter's bytes into snapshot (or compares them with it). */
static int params_match(nb_program *p, int compare)
{
    size_t at = 0;
    for (int i = 0; i < nb_program_param_count(p); i++) {
        size_t n =
            (size_t)nb_program_param_numel(p, i) * nb_dtype_size(nb_program_param_dtype(p, i));
        if (compare && memcmp(snapshot + at, nb_program_param_data(p, i), n) != 0)
            return 0;
        if (!compare)
            memcpy(snapshot + at, nb_program_param_data(p, i), n);
        at += n;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!prog) {
        prog = fuzz_program();
        snapshot_size = 0;
        for (int i = 0; i < nb_program_param_count(prog); i++)
            snapshot_size += (size_t)nb_program_param_numel(prog, i) *
                             nb_dtype_size(nb_program_param_dtype(prog, i));
        snapshot = malloc(snapshot_size);
        if (!snapshot)
            abort();
        atexit(fuzz_free);
    }
    params_match(prog, 0);
    const char *in = fuzz_scratch("in.safetensors", data, size);
    int rc = nb_program_load(prog, in);
    if (getenv("NABLA_FUZZ_VERBOSE"))
        fprintf(stderr, "%s\n", rc == 0 ? "accepted" : nb_program_error(prog));
    if (rc != 0) {
        const char *e = nb_program_error(prog);
        if (!e || !strstr(e, in) || !params_match(prog, 1))
            abort();
        return 0;
    }
    /* Accepted: what was loaded saves, and loads back bit for bit. */
    params_match(prog, 0);
    const char *out = fuzz_scratch("out.safetensors", NULL, 0);
    if (nb_program_save(prog, out) != 0 || nb_program_load(prog, out) != 0 ||
        !params_match(prog, 1))
        abort();
    return 0;
}
