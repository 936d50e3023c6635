/* rt_tier.c — tiered compilation (NB_BACKEND_AUTO): a program starts on libtcc's code
 * while a thread of its own builds the same C with the cc backend; the start of a run
 * installs the cc code with one pointer exchange. Both codes come from one source, so
 * they address the same arena and state and compute the same bits. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt.h"

#define RT_TIER_ERROR_MAX 1024 /* the build's message, as long as a program's error */

/* Where the build is. BUILDING → READY or FAILED, set once by the build thread (with
 * release order: a reader that sees READY sees the whole jit); READY → INSTALLED by
 * the thread that runs the program. */
enum { RT_TIER_BUILDING, RT_TIER_READY, RT_TIER_FAILED, RT_TIER_INSTALLED };

struct rt_tier {
    const rt_backend *backend; /* the upgrade's row */
    nb_backend first;          /* whose code the program starts with */
    const char *source;        /* the program's C, which outlives the thread */
    pthread_t thread;
    int started; /* thread is joinable */
    pid_t owner; /* the process that started it: a forked child has no such thread */
    atomic_int state;
    pthread_mutex_t lock; /* guards done, for rt_tier_wait */
    pthread_cond_t ended;
    int done;
    rt_jit jit; /* the build's code, written before READY, moved out when installed */
    double seconds;
    char error[RT_TIER_ERROR_MAX];
};

/* Records the end of the build and wakes the waiters. */
static void finish(rt_tier *t, int state)
{
    pthread_mutex_lock(&t->lock);
    t->done = 1;
    atomic_store_explicit(&t->state, state, memory_order_release);
    pthread_cond_broadcast(&t->ended);
    pthread_mutex_unlock(&t->lock);
}

static void *build(void *arg)
{
    rt_tier *t = arg;
    double t0 = ir_seconds();
    int rc = t->backend->compile(t->source, &t->jit, t->error, sizeof t->error);
    t->seconds = ir_seconds() - t0;
    finish(t, rc == 0 ? RT_TIER_READY : RT_TIER_FAILED);
    return NULL;
}

int rt_tier_start(nb_program *p, const rt_backend *upgrade, char *err, size_t size)
{
    rt_tier *t = ir_calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, size, "out of memory");
        return -1;
    }
    t->backend = upgrade;
    t->first = p->backend->code;
    t->source = p->cg.source;
    t->owner = getpid();
    atomic_init(&t->state, RT_TIER_BUILDING);
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->ended, NULL);
    p->tier = t;
    /* The thread starts with every signal blocked, so that the application's handlers
     * never run on it; the caller's mask is restored at once. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&t->thread, NULL, build, t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        snprintf(t->error, sizeof t->error, "%s: cannot start the build thread: %s", upgrade->name,
                 strerror(rc));
        finish(t, RT_TIER_FAILED);
        return 0;
    }
    t->started = 1;
    return 0;
}

void rt_tier_install(nb_program *p)
{
    rt_tier *t = p->tier;
    int state = atomic_load_explicit(&t->state, memory_order_acquire);
    if (state == RT_TIER_BUILDING)
        return;
    p->tier_settled = 1; /* no more checks at run starts */
    if (state != RT_TIER_READY)
        return;
    rt_jit old = p->jit;
    const rt_backend *old_backend = p->backend;
    p->jit = t->jit;
    p->backend = t->backend;
    p->compile_seconds = t->seconds;
    memset(&t->jit, 0, sizeof t->jit);
    atomic_store_explicit(&t->state, RT_TIER_INSTALLED, memory_order_relaxed);
    old_backend->free(&old);
}

nb_backend rt_tier_backend(const rt_tier *t)
{
    int state = atomic_load_explicit(&t->state, memory_order_acquire);
    return state == RT_TIER_READY || state == RT_TIER_INSTALLED ? t->backend->code : t->first;
}

/* 1 when the build thread exists in this process (not in a child forked since). */
static int own_thread(const rt_tier *t)
{
    return t->started && t->owner == getpid();
}

void rt_tier_wait(rt_tier *t)
{
    if (!own_thread(t))
        return;
    pthread_mutex_lock(&t->lock);
    while (!t->done)
        pthread_cond_wait(&t->ended, &t->lock);
    pthread_mutex_unlock(&t->lock);
}

const char *rt_tier_error(const rt_tier *t)
{
    return atomic_load_explicit(&t->state, memory_order_acquire) == RT_TIER_FAILED ? t->error
                                                                                   : NULL;
}

void rt_tier_free(rt_tier *t)
{
    if (!t)
        return;
    int own = own_thread(t) || !t->started;
    if (own_thread(t))
        pthread_join(t->thread, NULL);
    /* In a forked child the build may have been cut short half-way: its jit is only
     * trusted when it was published before the fork. */
    if (atomic_load_explicit(&t->state, memory_order_acquire) == RT_TIER_READY)
        t->backend->free(&t->jit);
    if (own) {
        pthread_cond_destroy(&t->ended);
        pthread_mutex_destroy(&t->lock);
    }
    free(t);
}
