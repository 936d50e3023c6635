/* fuzz_checkpoint.c — fuzz target for nb_program_load and nb_program_load_ex, the
 * readers of untrusted safetensors files, strict and not. Properties checked on every
 * input: no crash, leak or sanitizer report; a refused file leaves every parameter as it
 * was, names the file in the error and zeroes the report; a non-strict load's report
 * accounts for every parameter (loaded or missing) and lists as unexpected only names
 * the program does not have; the strict load accepts exactly the files the non-strict
 * one accepts with nothing missing or unexpected; an accepted file saves and loads back
 * to the same bytes. */
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

/* Checks a non-strict load's report against the program; aborts when it is wrong. */
static void check_report(nb_program *p, const nb_load_report *r)
{
    int n = nb_program_param_count(p);
    if (r->n_loaded < 0 || r->n_missing < 0 || r->n_unexpected < 0 ||
        r->n_loaded + r->n_missing != n || (r->n_missing > 0) != (r->missing != NULL) ||
        (r->n_unexpected > 0) != (r->unexpected != NULL))
        abort();
    for (int k = 0; k < r->n_missing; k++)
        if (!r->missing[k] || nb_program_param_index(p, r->missing[k]) < 0)
            abort();
    for (int k = 0; k < r->n_unexpected; k++)
        if (!r->unexpected[k] || nb_program_param_index(p, r->unexpected[k]) >= 0)
            abort();
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
    nb_load_report r;
    memset(&r, 0x5a, sizeof r);
    int lax = nb_program_load_ex(prog, in, 0, &r);
    if (getenv("NABLA_FUZZ_VERBOSE")) {
        if (lax == 0)
            fprintf(stderr, "non-strict: accepted (%d loaded, %d missing, %d unexpected)\n",
                    r.n_loaded, r.n_missing, r.n_unexpected);
        else
            fprintf(stderr, "non-strict: %s\n", nb_program_error(prog));
    }
    if (lax != 0) {
        const char *e = nb_program_error(prog);
        if (!e || !strstr(e, in) || !params_match(prog, 1) || r.n_loaded || r.n_missing ||
            r.n_unexpected || r.missing || r.unexpected)
            abort();
    } else {
        check_report(prog, &r);
    }
    int complete = lax == 0 && r.n_missing == 0 && r.n_unexpected == 0;
    params_match(prog, 0);
    int rc = nb_program_load(prog, in);
    if ((rc == 0) != complete)
        abort();
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
