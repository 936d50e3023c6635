/* test_tiered.c — NB_BACKEND_AUTO: a training step gives the bits of NB_BACKEND_TCC
 * before and after the cc code is swapped in, state and checkpoints included; a missing
 * or failing compiler leaves the program on libtcc's code; freeing a program while cc
 * compiles and forking while it compiles neither leak nor hang.
 *
 * The compiler is a shell script in front of cc (NABLA_CC) that waits for a gate file:
 * while the gate is closed the build cannot end, so which code a run uses is known
 * without any timing. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "nabla.h"
#include "rt.h"
#include "tmpdir.h"

#define PATH_CHARS 512
#define STEPS 4 /* training steps: one before the swap, three after */
#define N_PARAMS 3

static char gate_path[PATH_CHARS], started_path[PATH_CHARS], script_path[PATH_CHARS];

/* Writes the gated compiler: it marks that it started, waits for the gate, then runs
 * cc with its arguments. */
static void make_script(void)
{
    const char *dir = tu_cc_cache_dir();
    snprintf(gate_path, sizeof gate_path, "%s/gate", dir);
    snprintf(started_path, sizeof started_path, "%s/started", dir);
    snprintf(script_path, sizeof script_path, "%s/gated-cc", dir);
    FILE *f = fopen(script_path, "w");
    assert_non_null(f);
    fprintf(f,
            "#!/bin/sh\n: > '%s'\nwhile [ ! -e '%s' ]; do sleep 0.01; done\n"
            "exec cc \"$@\"\n",
            started_path, gate_path);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(script_path, 0700), 0);
}

static void gate_close(void)
{
    unlink(gate_path);
    unlink(started_path);
}

static void gate_open(void)
{
    FILE *f = fopen(gate_path, "w");
    assert_non_null(f);
    assert_int_equal(fclose(f), 0);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Waits until the gated compiler has started (no limit: the test has none). */
static void wait_started(void)
{
    while (access(started_path, F_OK) != 0)
        sleep_ms(5);
}

/* A small MLP step: linear, ReLU, linear, cross-entropy, Adam. A seed of its own per
 * call (a constant in the graph) gives each test a source of its own, so that no test
 * finds another's object in the cache. */
static nb_program *compile_step(nb_backend backend, double salt)
{
    int64_t sx[] = {4, 3}, sy[] = {4}, sw1[] = {3, 5}, sb1[] = {5}, sw2[] = {5, 3};
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F32, 2, sx);
    nb_node *y = nb_input(g, "y", NB_I32, 1, sy);
    nb_node *lr = nb_input(g, "lr", NB_F32, 0, NULL);
    nb_node *params[N_PARAMS] = {nb_param(g, "w1", NB_F32, 2, sw1),
                                 nb_param(g, "b1", NB_F32, 1, sb1),
                                 nb_param(g, "w2", NB_F32, 2, sw2)};
    nb_node *xs = nb_mul(g, x, nb_scalar(g, NB_F32, salt));
    nb_node *h = nb_relu(g, nb_add(g, nb_matmul(g, xs, params[0]), params[1]));
    nb_node *loss = nb_cross_entropy(g, nb_matmul(g, h, params[2]), y, NB_REDUCTION_MEAN);
    nb_node *grads[N_PARAMS];
    assert_int_equal(nb_grad(g, loss, params, N_PARAMS, grads), 0);
    nb_update upd[N_PARAMS * NB_ADAM_UPDATES_PER_PARAM];
    int nu =
        nb_adam(g, lr, params, grads, N_PARAMS, NULL, upd, N_PARAMS * NB_ADAM_UPDATES_PER_PARAM);
    assert_true(nu > 0);
    nb_compile_options opt = {
        .outputs = &loss, .n_outputs = 1, .updates = upd, .n_updates = nu, .backend = backend};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(g));
    nb_graph_free(g);
    assert_int_equal(nb_program_init_linear(p, "w1", "b1", 7), 0);
    assert_int_equal(nb_program_init_linear(p, "w2", NULL, 8), 0);
    return p;
}

static const float x_data[12] = {0.5f,  -1.0f, 2.0f, 1.5f, 0.25f, -0.75f,
                                 -2.0f, 1.0f,  0.5f, 0.0f, -0.5f, 1.25f};
static const int32_t y_data[4] = {2, 0, 1, 2};
static const float lr_data = 0.01f;

static void bind(nb_program *p)
{
    assert_int_equal(nb_program_bind(p, "x", x_data), 0);
    assert_int_equal(nb_program_bind(p, "y", y_data), 0);
    assert_int_equal(nb_program_bind(p, "lr", &lr_data), 0);
}

static float step(nb_program *p)
{
    if (nb_program_run(p) != 0)
        fail_msg("run: %s", nb_program_error(p));
    return *(const float *)nb_program_output(p, 0);
}

/* Every parameter of p (weights, Adam's moments, its step counter) equals q's, bit for
 * bit. */
static void assert_same_state(nb_program *p, nb_program *q)
{
    int n = nb_program_param_count(p);
    assert_int_equal(n, nb_program_param_count(q));
    assert_true(n > N_PARAMS); /* Adam's moments and step counter are parameters too */
    for (int i = 0; i < n; i++) {
        int64_t numel = nb_program_param_numel(p, i);
        assert_int_equal(numel, nb_program_param_numel(q, i));
        size_t bytes = (size_t)numel * nb_dtype_size(nb_program_param_dtype(p, i));
        assert_memory_equal(nb_program_param_data(p, i), nb_program_param_data(q, i), bytes);
    }
}

/* Steps on libtcc's code, the swap, steps on cc's code: the losses and the whole state
 * are those of NB_BACKEND_TCC, bit for bit; a checkpoint saved after the swap loads
 * into the libtcc program and gives its next step. */
static void test_swap_keeps_bits(void **state)
{
    (void)state;
    gate_close();
    setenv("NABLA_CC", script_path, 1);
    nb_program *ref = compile_step(NB_BACKEND_TCC, 1.0), *p = compile_step(NB_BACKEND_AUTO, 1.0);
    bind(ref);
    bind(p);
    /* The gate is closed: the build cannot have ended. */
    assert_int_equal(nb_program_backend(p), NB_BACKEND_TCC);
    assert_int_equal(nb_program_backend(ref), NB_BACKEND_TCC);
    assert_null(nb_program_tier_error(p));
    float a = step(ref), b = step(p);
    assert_memory_equal(&a, &b, sizeof a);
    assert_same_state(ref, p);
    assert_int_equal(nb_program_backend(p), NB_BACKEND_TCC);

    gate_open();
    assert_int_equal(nb_program_wait_tier(p), NB_BACKEND_CC);
    assert_int_equal(nb_program_backend(p), NB_BACKEND_CC);
    assert_null(nb_program_tier_error(p));
    /* The code changes at the start of the next run, not before (internals: the row and
     * the entry point the program calls). */
    const void *tcc_entry = (const void *)p->jit.entry;
    assert_ptr_equal(p->backend, rt_backend_find(NB_BACKEND_AUTO));
    for (int s = 1; s < STEPS; s++) {
        a = step(ref);
        b = step(p);
        assert_memory_equal(&a, &b, sizeof a);
        assert_same_state(ref, p);
    }
    assert_int_equal(nb_program_backend(p), NB_BACKEND_CC);
    assert_ptr_equal(p->backend, rt_backend_find(NB_BACKEND_CC));
    assert_true((const void *)p->jit.entry != tcc_entry);
    assert_true(nb_program_compile_seconds(p) > 0);

    /* A checkpoint of the swapped program restores the libtcc program's state. */
    char path[PATH_CHARS];
    snprintf(path, sizeof path, "%s/step.safetensors", tu_cc_cache_dir());
    assert_int_equal(nb_program_save(p, path), 0);
    float before = step(ref);
    assert_int_equal(nb_program_load(ref, path), 0);
    a = step(ref);
    assert_memory_equal(&a, &before, sizeof a);
    assert_int_equal(nb_program_load(p, path), 0);
    b = step(p);
    assert_memory_equal(&a, &b, sizeof a);
    assert_same_state(ref, p);
    unlink(path);
    nb_program_free(ref);
    nb_program_free(p);
    unsetenv("NABLA_CC");
}

/* A compiler that does not exist, and one that fails: the program stays on libtcc's
 * code, with no error on the program and the reason in nb_program_tier_error. */
static void check_fallback(const char *cc, double salt, const char *why)
{
    setenv("NABLA_CC", cc, 1);
    nb_program *ref = compile_step(NB_BACKEND_TCC, salt), *p = compile_step(NB_BACKEND_AUTO, salt);
    bind(ref);
    bind(p);
    assert_int_equal(nb_program_wait_tier(p), NB_BACKEND_TCC);
    const char *e = nb_program_tier_error(p);
    assert_non_null(e);
    if (!strstr(e, why))
        fail_msg("the tier error '%s' does not say '%s'", e, why);
    for (int s = 0; s < STEPS; s++) {
        float a = step(ref), b = step(p);
        assert_memory_equal(&a, &b, sizeof a);
        assert_null(nb_program_error(p));
    }
    assert_same_state(ref, p);
    assert_int_equal(nb_program_backend(p), NB_BACKEND_TCC);
    nb_program_free(ref);
    nb_program_free(p);
    unsetenv("NABLA_CC");
}

static void test_no_compiler_stays_on_tcc(void **state)
{
    (void)state;
    check_fallback("/nonexistent/cc", 2.0, "/nonexistent/cc");
    check_fallback("false", 3.0, "'false' failed");
}

static void *open_gate_later(void *arg)
{
    (void)arg;
    sleep_ms(50);
    gate_open();
    return NULL;
}

/* Freed while the compiler runs: the free waits for the build and releases its code
 * (LeakSanitizer checks under make sanitize). The gate opens from another thread while
 * the free waits. */
static void test_free_during_build(void **state)
{
    (void)state;
    gate_close();
    setenv("NABLA_CC", script_path, 1);
    nb_program *p = compile_step(NB_BACKEND_AUTO, 4.0);
    bind(p);
    step(p);
    wait_started();
    pthread_t opener;
    assert_int_equal(pthread_create(&opener, NULL, open_gate_later, NULL), 0);
    nb_program_free(p);
    pthread_join(opener, NULL);
    /* Never run at all: freed right after compile, before the compiler even starts. */
    p = compile_step(NB_BACKEND_AUTO, 5.0);
    nb_program_free(p);
    unsetenv("NABLA_CC");
}

/* A child forked while the build runs: its program stays on libtcc's code, waiting
 * returns at once, freeing does not join a thread the child does not have, and the
 * child can still build with cc (the cc backend's lock is free in it). */
static void test_fork_during_build(void **state)
{
    (void)state;
    gate_close();
    setenv("NABLA_CC", script_path, 1);
    nb_program *ref = compile_step(NB_BACKEND_TCC, 6.0), *p = compile_step(NB_BACKEND_AUTO, 6.0);
    bind(ref);
    bind(p);
    wait_started();
    float want[STEPS];
    for (int s = 0; s < STEPS; s++)
        want[s] = step(ref);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* No cmocka checks in the child: its status says it all. */
        int bad = nb_program_wait_tier(p) != NB_BACKEND_TCC;
        for (int s = 0; s < STEPS; s++) {
            bad |= nb_program_run(p) != 0;
            bad |= memcmp(nb_program_output(p, 0), &want[s], sizeof(float)) != 0;
        }
        bad |= nb_program_backend(p) != NB_BACKEND_TCC;
        nb_program_free(p);
        unsetenv("NABLA_CC");
        nb_program *c = compile_step(NB_BACKEND_CC, 6.0);
        bind(c);
        bad |= nb_program_run(c) != 0;
        bad |= memcmp(nb_program_output(c, 0), &want[0], sizeof(float)) != 0;
        nb_program_free(c);
        _exit(bad ? 1 : 0);
    }
    gate_open();
    int status;
    while (waitpid(pid, &status, 0) < 0)
        assert_int_equal(errno, EINTR);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* The parent's build ends as usual. */
    assert_int_equal(nb_program_wait_tier(p), NB_BACKEND_CC);
    for (int s = 0; s < STEPS; s++) {
        float got = step(p);
        assert_memory_equal(&got, &want[s], sizeof got);
    }
    nb_program_free(ref);
    nb_program_free(p);
    unsetenv("NABLA_CC");
}

/* Programs of the other backends: the backend they were compiled with, no tier. */
static void test_other_backends(void **state)
{
    (void)state;
    nb_program *t = compile_step(NB_BACKEND_TCC, 7.0), *c = compile_step(NB_BACKEND_CC, 7.0);
    assert_int_equal(nb_program_backend(t), NB_BACKEND_TCC);
    assert_int_equal(nb_program_wait_tier(t), NB_BACKEND_TCC);
    assert_int_equal(nb_program_backend(c), NB_BACKEND_CC);
    assert_int_equal(nb_program_wait_tier(c), NB_BACKEND_CC);
    assert_null(nb_program_tier_error(t));
    assert_null(nb_program_tier_error(c));
    assert_int_equal((int)nb_program_backend(NULL), -1);
    assert_int_equal((int)nb_program_wait_tier(NULL), -1);
    assert_null(nb_program_tier_error(NULL));
    nb_program_free(t);
    nb_program_free(c);
}

static int setup(void **state)
{
    if (tu_cc_cache_setup(state) != 0)
        return -1;
    make_script();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_swap_keeps_bits),   cmocka_unit_test(test_no_compiler_stays_on_tcc),
        cmocka_unit_test(test_free_during_build), cmocka_unit_test(test_fork_during_build),
        cmocka_unit_test(test_other_backends),
    };
    return cmocka_run_group_tests(tests, setup, tu_cc_cache_teardown);
}
