/* test_plan_check.c — the plan's memory decisions checked by rule over random graphs
 * (tests/support/randgraph.c), without compiling them: two arena buffers whose live
 * ranges meet never share a byte; every buffer starts and ends on CG_ALIGN and lies in
 * the arena; a view lies inside its base's values and its base stays live while the
 * view is read; every kernel's operands are live while it runs; outputs and update
 * values live to the end; an update written in place is read by no kernel after its
 * own (directly or through a view).
 *
 * Knobs (environment), for a long one-off run:
 *   NABLA_PLAN_SEED    first seed (default 1)
 *   NABLA_PLAN_GRAPHS  cases of one subgraph (default 2000)
 *   NABLA_PLAN_PACKS   cases of NABLA_PLAN_PACK subgraphs (default 40 of 12): many
 *                      disjoint parts with outputs live to the end, where greedy by size
 *                      and first fit differ most
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cg.h"
#include "randgraph.h"

enum { CHECK_ERR_SIZE = 512 };

/* What the checked plans held, so that a run that checked nothing fails. */
static struct seen {
    long plans, views, permuted_views, in_place, greedy, first_fit, meeting_pairs;
} seen;

static long env_long(const char *name, long fallback)
{
    const char *s = getenv(name);
    char *end;
    if (!s || !*s)
        return fallback;
    long v = strtol(s, &end, 10);
    return *end ? fallback : v;
}

/* The buffer holding node x's memory (its view's base for a view), or NULL for a leaf. */
static const cg_buffer *memory_buffer(const cg_plan *pl, const ir_node *x)
{
    int b = pl->nodes[x->id].buffer;
    if (b < 0)
        return NULL;
    if (pl->buffers[b].kind == CG_BUF_VIEW)
        b = pl->nodes[pl->buffers[b].alias->id].buffer;
    return b >= 0 ? &pl->buffers[b] : NULL;
}

/* Checks pl by the rules above: 0, or -1 with the first broken one in err. */
static int check_plan(const cg_plan *pl, const cg_request *rq, char *err, size_t size)
{
    int end = CG_PLAN_END(pl);
    size_t peak_seen = 0;
    seen.plans++;
    seen.greedy += pl->placement == CG_PLACE_GREEDY_BY_SIZE;
    seen.first_fit += pl->placement == CG_PLACE_FIRST_FIT;
    for (int i = 0; i < pl->n_buffers; i++) {
        const cg_buffer *a = &pl->buffers[i];
        if (a->bytes == 0)
            continue;
        if (a->offset % CG_ALIGN || a->bytes % CG_ALIGN || a->offset + a->bytes > pl->arena_size ||
            a->offset + a->bytes < a->offset) {
            snprintf(err, size, "b%d: %zu bytes at %zu in an arena of %zu", i, a->bytes, a->offset,
                     pl->arena_size);
            return -1;
        }
        if (a->first < 0 || a->last < a->first || a->last > end) {
            snprintf(err, size, "b%d: live range %d..%d", i, a->first, a->last);
            return -1;
        }
        for (int j = i + 1; j < pl->n_buffers; j++) {
            const cg_buffer *b = &pl->buffers[j];
            if (b->bytes == 0 || a->last < b->first || b->last < a->first)
                continue;
            seen.meeting_pairs++;
            if (a->offset < b->offset + b->bytes && b->offset < a->offset + a->bytes) {
                snprintf(err, size,
                         "b%d (%zu at %zu, k%d..k%d) and b%d (%zu at %zu, k%d..k%d) overlap", i,
                         a->bytes, a->offset, a->first, a->last, j, b->bytes, b->offset, b->first,
                         b->last);
                return -1;
            }
        }
    }
    /* The live peak is a lower bound of the arena. */
    for (int t = 0; t <= end; t++) {
        size_t now = 0;
        for (int i = 0; i < pl->n_buffers; i++)
            if (pl->buffers[i].bytes && pl->buffers[i].first <= t && t <= pl->buffers[i].last)
                now += pl->buffers[i].bytes;
        if (now > peak_seen)
            peak_seen = now;
    }
    if (peak_seen != pl->live_peak || pl->arena_size < peak_seen) {
        snprintf(err, size, "live peak %zu (counted %zu), arena %zu", pl->live_peak, peak_seen,
                 pl->arena_size);
        return -1;
    }
    for (int i = 0; i < pl->n_buffers; i++) {
        const cg_buffer *v = &pl->buffers[i];
        if (v->kind != CG_BUF_VIEW)
            continue;
        seen.views++;
        seen.permuted_views += v->permuted;
        const ir_node *x = v->node, *base = v->alias;
        size_t bytes = (size_t)x->numel * ir_dtype_size(x->dtype);
        size_t base_bytes = (size_t)base->numel * ir_dtype_size(base->dtype);
        if (pl->nodes[base->id].view || v->alias_offset + bytes > base_bytes ||
            x->dtype != base->dtype) {
            snprintf(err, size, "view b%d of %%%d: %zu bytes at %zu of %zu", i, base->origin, bytes,
                     v->alias_offset, base_bytes);
            return -1;
        }
        const cg_buffer *bb = memory_buffer(pl, base);
        if (v->first >= 0 && bb && bb->bytes && (bb->first > v->first || bb->last < v->last)) {
            snprintf(err, size, "view b%d read k%d..k%d, its base %%%d live k%d..k%d", i, v->first,
                     v->last, base->origin, bb->first, bb->last);
            return -1;
        }
    }
    for (int k = 0; k < pl->n_kernels; k++) {
        const cg_kernel *kn = &pl->kernels[k];
        for (int a = 0; a < kn->n_args; a++) {
            const cg_buffer *b = memory_buffer(pl, kn->args[a]);
            if (b && b->bytes && (b->first > k || b->last < k)) {
                snprintf(err, size, "k%d reads %%%d, whose memory lives k%d..k%d", k,
                         kn->args[a]->origin, b->first, b->last);
                return -1;
            }
        }
        for (int o = 0; o < kn->n_outs; o++) {
            const cg_buffer *b = &pl->buffers[pl->nodes[kn->outs[o]->id].buffer];
            if (b->first != k) {
                snprintf(err, size, "k%d writes %%%d, whose memory starts at k%d", k,
                         kn->outs[o]->origin, b->first);
                return -1;
            }
        }
    }
    for (int i = 0; i < rq->n_outputs; i++) {
        const cg_buffer *b = &pl->buffers[pl->output_buffer[i]];
        if (b->kind != CG_BUF_ARENA && b->kind != CG_BUF_OUTPUT_COPY) {
            snprintf(err, size, "output %d is in a buffer of kind %d", i, (int)b->kind);
            return -1;
        }
        if (b->last != end) {
            snprintf(err, size, "output %d lives to k%d only", i, b->last);
            return -1;
        }
    }
    for (int u = 0; u < rq->n_updates; u++) {
        const ir_node *par = rq->upd_params[u], *val = rq->upd_values[u];
        int vb = pl->nodes[val->id].buffer;
        if (vb >= 0 && pl->buffers[vb].kind == CG_BUF_ARENA && pl->buffers[vb].last != end) {
            snprintf(err, size, "update value %%%d lives to k%d only", val->origin,
                     pl->buffers[vb].last);
            return -1;
        }
        if (vb < 0 || pl->buffers[vb].kind != CG_BUF_IN_PLACE)
            continue;
        seen.in_place++;
        int kv = pl->nodes[val->id].kernel;
        for (int k = kv; k < pl->n_kernels; k++)
            for (int a = 0; a < pl->kernels[k].n_args; a++) {
                const ir_node *x = pl->kernels[k].args[a];
                int through_view =
                    pl->nodes[x->id].view && pl->buffers[pl->nodes[x->id].buffer].alias == par;
                if ((x == par && (k > kv || !cg_is_elementwise(pl->kernels[k].root))) ||
                    through_view) {
                    snprintf(err, size, "%%%d is written in place at k%d, and k%d reads %s%%%d",
                             par->origin, kv, k, through_view ? "a view of " : "", par->origin);
                    return -1;
                }
            }
    }
    return 0;
}

/* Builds a case of n_sub subgraphs from seed, simplifies it as nb_compile does, plans
 * it and checks the plan. 0 when the case is fine (or the generator made no graph),
 * else -1 after printing it. */
static int check_case(uint64_t seed, int n_sub)
{
    rg_case c;
    rg_rand r;
    char err[CHECK_ERR_SIZE] = "";
    int rc = 0;
    if (rg_case_init(&c) != 0)
        return -1;
    rg_rand_seed(&r, seed);
    for (int s = 0; s < n_sub; s++)
        if (rg_add_subgraph(&c, &r) != 0) {
            snprintf(err, sizeof err, "generate: %s", nb_graph_error(c.g));
            rc = -1;
            goto out;
        }
    int no = c.n_outputs, nu = c.n_updates;
    ir_node **roots = malloc((size_t)(no + 2 * nu + 1) * sizeof *roots);
    ir_node **mapped = malloc((size_t)(no + 2 * nu + 1) * sizeof *mapped);
    assert_true(roots && mapped);
    memcpy(roots, c.outputs, (size_t)no * sizeof *roots);
    for (int i = 0; i < nu; i++) {
        roots[no + i] = c.updates[i].value;
        roots[no + nu + i] = c.updates[i].param;
    }
    ir_graph *s = NULL;
    if (ir_check_outputs(c.g, roots, no) != 0 ||
        ir_check_updates(c.g, roots + no + nu, roots + no, nu) != 0 ||
        !(s = ir_simplify(c.g, roots, no + 2 * nu, mapped))) {
        snprintf(err, sizeof err, "simplify: %s", nb_graph_error(c.g));
        rc = -1;
    } else {
        cg_request rq = {.outputs = mapped,
                         .n_outputs = no,
                         .upd_params = mapped + no + nu,
                         .upd_values = mapped + no,
                         .n_updates = nu};
        cg_plan pl;
        if (cg_plan_build(s, &rq, &pl) != 0) {
            snprintf(err, sizeof err, "plan: %s", s->error ? s->error : "?");
            rc = -1;
        } else if (check_plan(&pl, &rq, err, sizeof err) != 0) {
            ir_text t = {0};
            cg_plan_print(&pl, &t);
            fprintf(stderr, "%s", t.buf ? t.buf : "");
            free(t.buf);
            rc = -1;
        }
        cg_plan_free(&pl);
    }
    ir_graph_free(s);
    free(roots);
    free(mapped);
out:
    if (rc != 0) {
        char *ir = nb_graph_print(c.g);
        fprintf(stderr, "seed %llu (%d subgraphs): %s\n%s\n", (unsigned long long)seed, n_sub, err,
                ir ? ir : "");
        free(ir);
    }
    rg_case_free(&c);
    return rc;
}

/* Every plan of many random one-part graphs, then of many-part ones, keeps the rules. */
static void test_random_plans(void **state)
{
    (void)state;
    uint64_t seed = (uint64_t)env_long("NABLA_PLAN_SEED", 1);
    long graphs = env_long("NABLA_PLAN_GRAPHS", 2000), packs = env_long("NABLA_PLAN_PACKS", 40);
    int pack = (int)env_long("NABLA_PLAN_PACK", 12), failures = 0;
    for (long i = 0; i < graphs && failures < 5; i++)
        failures += check_case(seed + (uint64_t)i, 1) != 0;
    for (long i = 0; i < packs && failures < 5; i++)
        failures += check_case(seed + (uint64_t)graphs + (uint64_t)i, pack) != 0;
    if (failures)
        fail_msg("%d plans broke a rule (printed above)", failures);
    print_message("%ld plans: %ld views (%ld permuted), %ld updates in place, %ld placed greedy "
                  "by size, %ld first fit, %ld pairs of meeting lives\n",
                  seen.plans, seen.views, seen.permuted_views, seen.in_place, seen.greedy,
                  seen.first_fit, seen.meeting_pairs);
    /* Each kind of decision was checked many times over (in a run of the default size
     * or larger). */
    if (graphs >= 2000 && packs >= 40)
        assert_true(seen.plans >= graphs + packs && seen.views > 100 && seen.permuted_views > 10 &&
                    seen.in_place > 100 && seen.greedy > 100 && seen.first_fit > 10 &&
                    seen.meeting_pairs > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_plans),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
