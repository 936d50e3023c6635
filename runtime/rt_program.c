/* rt_program.c — nb_program: compiled code, its arena and state, binding and running. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg.h"
#include "rt.h"

int rt_error(nb_program *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->error, sizeof p->error, fmt, ap);
    va_end(ap);
    p->has_error = 1;
    return -1;
}

void rt_error_clear(nb_program *p)
{
    p->has_error = 0;
    p->error[0] = 0;
}

void *rt_alloc_zeroed(size_t size, void **base)
{
    size_t bytes, padded;
    *base = NULL;
    /* calloc, not aligned_alloc and memset: memory fresh from the kernel is zero
     * already, and calloc knows it and leaves it untouched, so no page is written (or
     * even faulted in) before the program uses it; the memset of megabytes of such
     * pages was 17-22% of compiling the MLP training step. calloc only promises
     * max_align_t's alignment, so CG_ALIGN more bytes are taken and the block
     * starts at the first multiple of CG_ALIGN inside. */
    if (ir_size_align(size ? size : CG_ALIGN, CG_ALIGN, &bytes) != 0 ||
        ir_size_add(bytes, CG_ALIGN, &padded) != 0)
        return NULL; /* more than memory can hold: as out of memory */
    unsigned char *m = ir_calloc(1, padded);
    if (!m)
        return NULL;
    *base = m;
    return m + (CG_ALIGN - (uintptr_t)m % CG_ALIGN) % CG_ALIGN;
}

/* Two programs may share parameters when they list the same ones at the same places. */
static int same_params(const cg_program *a, const cg_program *b)
{
    if (a->n_params != b->n_params || a->state_size != b->state_size)
        return 0;
    for (int i = 0; i < a->n_params; i++) {
        const cg_slot *x = &a->params[i], *y = &b->params[i];
        if (strcmp(x->name, y->name) != 0 || x->dtype != y->dtype || x->rank != y->rank ||
            x->offset != y->offset ||
            memcmp(x->shape, y->shape, (size_t)x->rank * sizeof *x->shape) != 0)
            return 0;
    }
    return 1;
}

/* Gives p its parameter memory: new zeroed memory, or that of `share` when its
 * parameters are the same as p's. 0, or -1 with a message in err. */
static int state_attach(nb_program *p, nb_program *share, char *err, size_t size)
{
    if (share) {
        if (!same_params(&p->cg, &share->cg)) {
            snprintf(err, size,
                     "cannot share state: the programs have different parameters "
                     "(compile both from the same, finished graph)");
            return -1;
        }
        p->state = share->state;
        p->state->refs++;
        return 0;
    }
    p->state = ir_calloc(1, sizeof *p->state);
    if (!p->state || !(p->state->bytes = rt_alloc_zeroed(p->cg.state_size, &p->state->base))) {
        free(p->state);
        p->state = NULL;
        snprintf(err, size, "out of memory");
        return -1;
    }
    p->state->refs = 1;
    p->state->size = p->cg.state_size;
    return 0;
}

/* Drops one program's hold on the state; the last one frees it. */
static void state_release(rt_state *s)
{
    if (!s || --s->refs > 0)
        return;
    free(s->base);
    free(s);
}

/* Simplifies a copy of the graph and generates C from it for the backend b, and for the
 * export into *exported when opt->exportable is set; errors end up on g. The simplified graph is
 * asked for the outputs, the update values and the updated parameters, in that order. */
static int generate(nb_graph *g, const nb_compile_options *opt, const rt_backend *b, int threads,
                    cg_program *cg, cg_program *exported)
{
    int no = opt->n_outputs, nu = opt->n_updates;
    if (ir_check_outputs(g, opt->outputs, no) != 0)
        return -1;
    if (nu < 0 || (nu > 0 && !opt->updates))
        return ir_error(g, "compile: %d updates given with a %s list", nu,
                        opt->updates ? "non-NULL" : "NULL");
    ir_node **roots = ir_malloc((size_t)(no + 2 * nu) * sizeof *roots);
    ir_node **mapped = ir_malloc((size_t)(no + 2 * nu) * sizeof *mapped);
    if (!roots || !mapped) {
        free(roots);
        free(mapped);
        return ir_oom(g);
    }
    memcpy(roots, opt->outputs, (size_t)no * sizeof *roots);
    for (int i = 0; i < nu; i++) {
        roots[no + i] = opt->updates[i].value;
        roots[no + nu + i] = opt->updates[i].param;
    }
    int rc = -1, n_upd = 0;
    ir_graph *s = NULL;
    ir_node **upd_params = NULL, **upd_values = NULL;
    /* The step counters of random nodes advance by one each run unless an update given
     * here writes them (ops_random.c). */
    if (ir_check_updates(g, roots + no + nu, roots + no, nu) == 0 &&
        (s = ir_simplify(g, roots, no + 2 * nu, mapped)) != NULL &&
        ir_random_updates(s, mapped + no + nu, mapped + no, nu, &upd_params, &upd_values, &n_upd) ==
            0) {
        cg_request rq = {.outputs = mapped,
                         .n_outputs = no,
                         .upd_params = upd_params,
                         .upd_values = upd_values,
                         .n_updates = n_upd,
                         .rt_link = b->rt_link,
                         .keep_plan = opt->keep_plan != 0,
                         .threads = threads,
                         .split_min = rt_threads_split_min()};
        rc = cg_generate(s, &rq, cg);
        if (rc == 0 && opt->exportable) {
            rq.rt_link = CG_RT_LINK_STATIC;
            rq.keep_plan = 0;
            rq.threads = 1;
            rc = cg_generate(s, &rq, exported);
        }
    }
    if (s && s->error)
        ir_error(g, "%s", s->error);
    free(upd_params);
    free(upd_values);
    ir_graph_free(s);
    free(roots);
    free(mapped);
    return rc;
}

nb_program *nb_compile(nb_graph *g, const nb_compile_options *opt)
{
    if (!g)
        return NULL;
    if (g->error)
        return NULL;
    if (!opt) {
        ir_error(g, "compile: options are NULL");
        return NULL;
    }
    const rt_backend *b = rt_backend_find(opt->backend);
    if (!b) {
        ir_error(g, "compile: unknown backend %d", (int)opt->backend);
        return NULL;
    }
    if (opt->denormals != NB_DENORMALS_FLUSH && opt->denormals != NB_DENORMALS_IEEE) {
        ir_error(g, "compile: unknown denormals mode %d (NB_DENORMALS_FLUSH or NB_DENORMALS_IEEE)",
                 (int)opt->denormals);
        return NULL;
    }
    if (opt->threads < 0 || opt->threads > RT_THREADS_MAX) {
        ir_error(g, "compile: threads is %d; expected 0 (the default, nb_get_threads) to %d",
                 opt->threads, RT_THREADS_MAX);
        return NULL;
    }
    int threads = opt->threads ? opt->threads : rt_threads_default();
    rt_threads_blas_init();
    nb_program *p = ir_calloc(1, sizeof *p);
    if (!p) {
        ir_oom(g);
        return NULL;
    }
    p->flush = opt->denormals == NB_DENORMALS_FLUSH;
    if (generate(g, opt, b, threads, &p->cg, &p->exported) != 0)
        goto fail;
    /* Read at every compile, so that a process can turn it on and off. Before the
     * backend runs: the C of a program that fails to build is there to read too. */
    const char *dump = getenv("NABLA_DUMP_DIR");
    if (dump && *dump)
        rt_dump_program(dump, p->cg.source, g);
    char err[1024];
    double t0 = ir_seconds();
    p->backend = b;
    if (b->compile(p->cg.source, &p->jit, err, sizeof err) != 0) {
        ir_error(g, "compile: %s", err);
        goto fail;
    }
    p->compile_seconds = ir_seconds() - t0;
    p->arena = rt_alloc_zeroed(p->cg.arena_size, &p->arena_base);
    p->bound = ir_calloc((size_t)p->cg.n_inputs + 1, sizeof *p->bound);
    if (!p->arena || !p->bound) {
        ir_oom(g);
        goto fail;
    }
    if (state_attach(p, opt->share_state, err, sizeof err) != 0) {
        ir_error(g, "compile: %s", err);
        goto fail;
    }
    if (rt_pool_acquire(threads) != 0) {
        ir_oom(g);
        goto fail;
    }
    p->threads = threads;
    /* Last: nothing after it can fail, so no failure waits for the build. */
    if (b->upgrade && rt_tier_start(p, b->upgrade, err, sizeof err) != 0) {
        ir_error(g, "compile: %s", err);
        goto fail;
    }
    return p;
fail:
    nb_program_free(p);
    return NULL;
}

void nb_program_free(nb_program *p)
{
    if (!p)
        return;
    rt_tier_free(p->tier); /* first: its thread reads the source */
    rt_pool_release(p->threads);
    if (p->backend)
        p->backend->free(&p->jit);
    cg_program_free(&p->cg);
    cg_program_free(&p->exported);
    free(p->arena_base);
    state_release(p->state);
    free(p->bound);
    rt_load_report_free(p);
    free(p);
}

const char *nb_program_error(const nb_program *p)
{
    return p && p->has_error ? p->error : NULL;
}

const char *nb_program_source(const nb_program *p)
{
    return p ? p->cg.source : NULL;
}

const char *nb_program_plan(const nb_program *p)
{
    return p ? p->cg.plan : NULL;
}

int nb_program_write_source(nb_program *p, const char *path)
{
    if (!p)
        return -1;
    rt_error_clear(p);
    if (!path)
        return rt_error(p, "write_source: path is NULL");
    FILE *f = fopen(path, "w");
    if (!f)
        return rt_error(p, "write_source: cannot open '%s' for writing", path);
    size_t len = strlen(p->cg.source);
    int ok = fwrite(p->cg.source, 1, len, f) == len;
    ok = (fclose(f) == 0) && ok;
    return ok ? 0 : rt_error(p, "write_source: writing '%s' failed", path);
}

double nb_program_compile_seconds(const nb_program *p)
{
    return p ? p->compile_seconds : 0.0;
}

nb_backend nb_program_backend(const nb_program *p)
{
    if (!p)
        return (nb_backend)-1;
    /* Another thread may ask while p runs: the tier's state is atomic, p->backend is
     * not read for a tiered program. */
    if (p->tier)
        return rt_tier_backend(p->tier);
    return p->backend->code;
}

nb_backend nb_program_wait_tier(nb_program *p)
{
    if (!p)
        return (nb_backend)-1;
    if (p->tier)
        rt_tier_wait(p->tier);
    return nb_program_backend(p);
}

const char *nb_program_tier_error(const nb_program *p)
{
    return p && p->tier ? rt_tier_error(p->tier) : NULL;
}

int nb_program_input_count(const nb_program *p)
{
    return p ? p->cg.n_inputs : 0;
}

int nb_program_input_index(const nb_program *p, const char *name)
{
    if (!p || !name)
        return -1;
    for (int i = 0; i < p->cg.n_inputs; i++)
        if (p->cg.inputs[i].name && strcmp(p->cg.inputs[i].name, name) == 0)
            return i;
    return -1;
}

int nb_program_bind_index(nb_program *p, int index, const void *data)
{
    if (!p)
        return -1;
    rt_error_clear(p);
    if (index < 0 || index >= p->cg.n_inputs)
        return rt_error(p, "bind: input index %d is out of range [0, %d)", index, p->cg.n_inputs);
    if (!data)
        return rt_error(p, "bind: the data of input %d is NULL", index);
    p->bound[index] = data;
    return 0;
}

int nb_program_bind(nb_program *p, const char *name, const void *data)
{
    if (!p)
        return -1;
    rt_error_clear(p);
    if (!name)
        return rt_error(p, "bind: the input name is NULL");
    int i = nb_program_input_index(p, name);
    if (i < 0)
        return rt_error(p, "bind: the program has no input named '%.200s'", name);
    return nb_program_bind_index(p, i, data);
}

int nb_program_run(nb_program *p)
{
    if (!p)
        return -1;
    rt_error_clear(p);
    if (p->tier && !p->tier_settled)
        rt_tier_install(p); /* the one place code changes: between runs */
    for (int i = 0; i < p->cg.n_inputs; i++) {
        const cg_slot *s = &p->cg.inputs[i];
        if (s->used && !p->bound[i])
            return rt_error(p, "run: input %d%s%.200s%s is not bound", i, s->name ? " '" : "",
                            s->name ? s->name : "", s->name ? "'" : "");
    }
    /* The program's floating-point mode for the run, the caller's afterwards. */
    rt_fpmode fp;
    rt_fpmode_enter(&fp, p->flush);
    int rc = p->jit.entry(p->bound, p->arena, p->state->bytes);
    rt_fpmode_leave(&fp);
    if (rc != 0) {
        for (int i = 0; i < p->cg.n_failures; i++)
            if (p->cg.failures[i].node == rc - 1)
                return rt_error(p, "run: %s", p->cg.failures[i].what);
        return rt_error(p, "run: node %d failed", rc - 1);
    }
    return 0;
}

static const cg_slot *output_slot(const nb_program *p, int i)
{
    return p && i >= 0 && i < p->cg.n_outputs ? &p->cg.outputs[i] : NULL;
}

int nb_program_output_count(const nb_program *p)
{
    return p ? p->cg.n_outputs : 0;
}

const void *nb_program_output(const nb_program *p, int i)
{
    const cg_slot *s = output_slot(p, i);
    return s ? p->arena + s->offset : NULL;
}

nb_dtype nb_program_output_dtype(const nb_program *p, int i)
{
    const cg_slot *s = output_slot(p, i);
    return s ? s->dtype : (nb_dtype)-1;
}

int nb_program_output_rank(const nb_program *p, int i)
{
    const cg_slot *s = output_slot(p, i);
    return s ? s->rank : 0;
}

const int64_t *nb_program_output_shape(const nb_program *p, int i)
{
    const cg_slot *s = output_slot(p, i);
    return s ? s->shape : NULL;
}

int64_t nb_program_output_numel(const nb_program *p, int i)
{
    const cg_slot *s = output_slot(p, i);
    return s ? s->numel : 0;
}
