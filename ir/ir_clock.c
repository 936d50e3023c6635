/* ir_clock.c — the clocks the library times itself with: how long nb_compile and a
 * background build took, how long a pool worker has polled, and the CPU time of the
 * code generator's phases for benchmarks. One place, so every figure reads the same
 * clock the same way. */
#include <time.h>

#include "ir.h"

static double clock_seconds(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double ir_seconds(void)
{
    return clock_seconds(CLOCK_MONOTONIC);
}

double ir_thread_seconds(void)
{
    return clock_seconds(CLOCK_THREAD_CPUTIME_ID);
}
