/* rt_threads.c — how many threads programs and the runtime's kernels (OpenBLAS) use:
 * the process-wide default of nb_compile_options.threads, and the size below which a
 * kernel is not split. */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include <cblas.h>

#include "nabla.h"
#include "rt.h"

/* nb_set_threads's value; 0 until it is called. */
static _Atomic int rt_threads_set;
/* The split threshold a test asked for; 0: CG_SPLIT_MIN. */
static _Atomic long rt_split_min;

int nb_set_threads(int n)
{
    if (n < 1 || n > RT_THREADS_MAX)
        return -1;
    atomic_store(&rt_threads_set, n);
    return 0;
}

static pthread_once_t rt_blas_once = PTHREAD_ONCE_INIT;

/* OpenBLAS on one thread for the whole process: a gemm's blocks run on the pool
 * instead (rt_kernels.c). OpenBLAS's own workers spin in sched_yield for about 2^28
 * cycles after each gemm (OPENBLAS_THREAD_TIMEOUT, read only when the library loads),
 * taking the core the pool's workers need, and its results change with its thread
 * count. */
static void blas_one_thread(void)
{
    openblas_set_num_threads(1);
}

void rt_threads_blas_init(void)
{
    pthread_once(&rt_blas_once, blas_one_thread);
}

int nb_get_threads(void)
{
    return rt_threads_default();
}

int rt_threads_default(void)
{
    int n = atomic_load(&rt_threads_set);
    if (n > 0)
        return n;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores < 1 ? 1 : cores > RT_THREADS_MAX ? RT_THREADS_MAX : (int)cores;
}

long rt_threads_split_min(void)
{
    long m = atomic_load(&rt_split_min);
    return m > 0 ? m : CG_SPLIT_MIN;
}

void rt_threads_set_split_min(long elements)
{
    atomic_store(&rt_split_min, elements > 0 ? elements : 0);
}
