/* rt_pool.c — the process's thread pool: workers that run the parts of a split kernel
 * (nb_rt_parallel) beside the calling thread, polling for the next job for a short
 * while and then parked on a condition variable, shared by every program compiled with
 * more than one thread and joined when the last of them is freed. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"
#include "rt_kernels.h"

/* How long a worker that finished a job, and a caller that finished its parts, poll
 * for the next job or the other parts before they sleep on a condition variable. A
 * training step dispatches its split kernels a few to a few hundred microseconds apart,
 * and a dispatch to a parked worker cost tens of microseconds on the project's VMs (the
 * futex wake of an idle virtual CPU): more than many of the parts. Polling costs at most
 * this much CPU after each job, with the `pause` hint; nothing polls longer, and
 * OpenBLAS's threads, which spin for 0.1 s, are not used (docs/performance.md). */
#define RT_POOL_POLL_SECONDS 50e-6

typedef struct rt_pool {
    pthread_mutex_t lock; /* guards every field below but the workers array */
    pthread_cond_t wake;  /* a new job, or stop */
    pthread_cond_t done;  /* the job's last part finished */
    pthread_t *workers;
    int n_workers;
    int refs; /* programs holding the pool */
    /* Counts jobs: a worker runs each job once. Written under the lock, read without it
     * while polling. */
    _Atomic unsigned long generation;
    _Atomic int stop;
    int sleepers; /* workers waiting on `wake`: a job broadcasts only when some are */
    /* The job: parts next_part .. parts - 1 are not taken yet, `pending` not done
     * (written under the lock, read without it by the polling caller). */
    nb_rt_part_fn fn;
    const void *const *args;
    long n;
    int parts, next_part;
    _Atomic int pending;
    unsigned mode; /* the caller's floating-point mode (rt_fpmode_current) */
} rt_pool;

/* Guards rt_the_pool's creation, growth and release (not its jobs). */
static pthread_mutex_t rt_pool_global = PTHREAD_MUTEX_INITIALIZER;
static rt_pool *_Atomic rt_the_pool;
/* Held by the thread whose job the pool runs: a second thread that finds it taken runs
 * its kernel alone (elementwise parts give the same bits either way). */
static pthread_mutex_t rt_pool_busy = PTHREAD_MUTEX_INITIALIZER;

/* The first iteration of part p of n iterations in parts: rounded down to RT_POOL_GRAIN,
 * so that parts of a float array start on a cache line and never share one. The split
 * depends on n and parts only. */
static long part_bound(long n, int parts, int p)
{
    if (p >= parts)
        return n;
    long b = n / parts * p + n % parts * p / parts;
    return b - b % RT_POOL_GRAIN;
}

/* Parts the workers (not the calling threads) have run, for tests. */
static _Atomic long rt_pool_worker_parts;

/* Takes and runs the parts of the current job until none is left; called and returns
 * with pool->lock held. worker: the thread is one of the pool's. */
static void run_parts(rt_pool *pool, int worker)
{
    while (pool->next_part < pool->parts) {
        int p = pool->next_part++;
        nb_rt_part_fn fn = pool->fn;
        const void *const *args = pool->args;
        long lo = part_bound(pool->n, pool->parts, p), hi = part_bound(pool->n, pool->parts, p + 1);
        pthread_mutex_unlock(&pool->lock);
        fn(args, lo, hi);
        if (worker)
            atomic_fetch_add(&rt_pool_worker_parts, 1);
        pthread_mutex_lock(&pool->lock);
        if (--pool->pending == 0)
            pthread_cond_signal(&pool->done);
    }
}

/* Tells the CPU the thread is in a polling loop (less power, and the other hardware
 * thread of the core gets its share). */
static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* What a thread polls for, without the lock: a worker for a job after the one it saw
 * (or stop), the caller for the workers' last parts. */
static int no_new_job(rt_pool *pool, unsigned long seen)
{
    return atomic_load_explicit(&pool->generation, memory_order_acquire) == seen &&
           !atomic_load_explicit(&pool->stop, memory_order_relaxed);
}

static int parts_pending(rt_pool *pool, unsigned long seen)
{
    (void)seen;
    return atomic_load_explicit(&pool->pending, memory_order_acquire) > 0;
}

/* Polls while waiting(pool, seen) holds, for at most RT_POOL_POLL_SECONDS; the thread
 * then takes the lock and sleeps on a condition variable if it must still wait. */
static void poll_while(rt_pool *pool, int (*waiting)(rt_pool *, unsigned long),
                       unsigned long seen)
{
    double start = ir_seconds();
    for (int i = 1; waiting(pool, seen); i++) {
        if (i % 64 == 0 && ir_seconds() - start > RT_POOL_POLL_SECONDS)
            return;
        cpu_relax();
    }
}

static void *worker_main(void *arg)
{
    rt_pool *pool = arg;
    unsigned long seen = atomic_load(&pool->generation);
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        if (pool->generation == seen && !pool->stop) {
            pthread_mutex_unlock(&pool->lock);
            poll_while(pool, no_new_job, seen);
            pthread_mutex_lock(&pool->lock);
        }
        while (pool->generation == seen && !pool->stop) {
            pool->sleepers++;
            pthread_cond_wait(&pool->wake, &pool->lock);
            pool->sleepers--;
        }
        if (pool->stop)
            break;
        seen = pool->generation;
        rt_fpmode_adopt(pool->mode); /* round and flush as the caller would */
        run_parts(pool, 1);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

/* Stops and joins the workers, frees the pool. */
static void pool_free(rt_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    pool->stop = 1;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (int i = 0; i < pool->n_workers; i++)
        pthread_join(pool->workers[i], NULL);
    pthread_cond_destroy(&pool->wake);
    pthread_cond_destroy(&pool->done);
    pthread_mutex_destroy(&pool->lock);
    free(pool->workers);
    free(pool);
}

/* A pool with no workers yet, or NULL when out of memory. */
static rt_pool *pool_new(void)
{
    rt_pool *pool = ir_calloc(1, sizeof *pool);
    if (!pool)
        return NULL;
    int m = pthread_mutex_init(&pool->lock, NULL);
    int w = m ? -1 : pthread_cond_init(&pool->wake, NULL);
    int d = w ? -1 : pthread_cond_init(&pool->done, NULL);
    if (d) {
        if (!w)
            pthread_cond_destroy(&pool->wake);
        if (!m)
            pthread_mutex_destroy(&pool->lock);
        free(pool);
        return NULL;
    }
    return pool;
}

/* Starts workers until the pool has `want` (every worker is created detached from any
 * job: it waits for the next one). A thread the system refuses leaves the pool smaller:
 * kernels then run in fewer threads, with the same results. 0, or -1 when out of
 * memory. */
static int pool_grow(rt_pool *pool, int want)
{
    if (pool->n_workers >= want)
        return 0;
    pthread_t *w = ir_realloc(pool->workers, (size_t)want * sizeof *w);
    if (!w)
        return -1;
    pool->workers = w;
    pthread_mutex_lock(&pool->lock);
    while (pool->n_workers < want) {
        if (pthread_create(&w[pool->n_workers], NULL, worker_main, pool) != 0)
            break;
        pool->n_workers++;
    }
    pthread_mutex_unlock(&pool->lock);
    return 0;
}

int rt_pool_acquire(int threads)
{
    int rc = 0;
    if (threads <= 1)
        return 0;
    pthread_mutex_lock(&rt_pool_global);
    rt_pool *pool = atomic_load(&rt_the_pool);
    int created = !pool;
    if (created && !(pool = pool_new()))
        rc = -1;
    else if (pool_grow(pool, threads - 1) != 0) {
        if (created)
            pool_free(pool);
        rc = -1;
    } else {
        pool->refs++;
        atomic_store(&rt_the_pool, pool);
    }
    pthread_mutex_unlock(&rt_pool_global);
    return rc;
}

void rt_pool_release(int threads)
{
    if (threads <= 1)
        return;
    pthread_mutex_lock(&rt_pool_global);
    rt_pool *pool = atomic_load(&rt_the_pool);
    if (pool && --pool->refs == 0) {
        atomic_store(&rt_the_pool, NULL);
        pool_free(pool);
    }
    pthread_mutex_unlock(&rt_pool_global);
}

int rt_pool_workers(void)
{
    pthread_mutex_lock(&rt_pool_global);
    rt_pool *pool = atomic_load(&rt_the_pool);
    int n = pool ? pool->n_workers : 0;
    pthread_mutex_unlock(&rt_pool_global);
    return n;
}

long rt_pool_worker_parts_run(void)
{
    return atomic_load(&rt_pool_worker_parts);
}

void nb_rt_parallel(nb_rt_part_fn fn, const void *const *args, long n, int parts)
{
    rt_pool *pool = atomic_load(&rt_the_pool);
    if (parts > n / RT_POOL_GRAIN)
        parts = (int)(n / RT_POOL_GRAIN);
    if (parts < 1)
        parts = 1;
    /* A pool whose workers could not start still works: the caller takes every part. */
    if (parts > 1 && pool && pthread_mutex_trylock(&rt_pool_busy) == 0) {
        pthread_mutex_lock(&pool->lock);
        pool->fn = fn;
        pool->args = args;
        pool->n = n;
        pool->parts = parts;
        pool->next_part = 0;
        pool->pending = parts;
        pool->mode = rt_fpmode_current();
        pool->generation++;
        if (pool->sleepers)
            pthread_cond_broadcast(&pool->wake);
        run_parts(pool, 0); /* the caller works too, from part 0 */
        if (pool->pending > 0) {
            /* The workers' last parts: poll for them a while, as they do for jobs. */
            pthread_mutex_unlock(&pool->lock);
            poll_while(pool, parts_pending, 0);
            pthread_mutex_lock(&pool->lock);
        }
        while (pool->pending > 0)
            pthread_cond_wait(&pool->done, &pool->lock);
        pthread_mutex_unlock(&pool->lock);
        pthread_mutex_unlock(&rt_pool_busy);
        return;
    }
    /* The same parts, one after the other: a part may be a library call (a block of a
     * gemm) whose bits depend on its bounds. */
    for (int p = 0; p < parts; p++)
        fn(args, part_bound(n, parts, p), part_bound(n, parts, p + 1));
}
