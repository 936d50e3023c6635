/* bench_util.c — what the benchmarks share (bench_util.h). */
#define _POSIX_C_SOURCE 200809L
#include "bench_util.h"

#include <errno.h>
#include <stdlib.h>

double bench_clock_seconds(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double bench_seconds(void)
{
    return bench_clock_seconds(CLOCK_MONOTONIC);
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void bench_min_median(double *v, int n, double *min, double *median)
{
    qsort(v, (size_t)n, sizeof *v, compare_double);
    *min = v[0];
    *median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void bench_fill(float *x, int64_t n, uint64_t seed)
{
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((double)(seed >> 40) / (double)(1ull << 24) - 0.5);
    }
}

void bench_time(void (*fn)(void *), void *arg, int rounds, clockid_t clock, double *min,
                double *median)
{
    double per[BENCH_ROUNDS_MAX];
    long calls = 1;
    fn(arg);
    for (;;) {
        double t = bench_clock_seconds(clock);
        for (long i = 0; i < calls; i++)
            fn(arg);
        if (bench_clock_seconds(clock) - t > BENCH_ROUND_SECONDS / 4 || calls > (1L << 30))
            break;
        calls *= 2;
    }
    calls *= 4;
    for (int r = 0; r < rounds; r++) {
        double t = bench_clock_seconds(clock);
        for (long i = 0; i < calls; i++)
            fn(arg);
        per[r] = (bench_clock_seconds(clock) - t) / (double)calls;
    }
    bench_min_median(per, rounds, min, median);
}

int bench_parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}
