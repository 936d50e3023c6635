/* bench_util.h — what the benchmarks of bench/ share: a clock, the minimum and median
 * of a run's samples, and the parsing of their numeric arguments. */
#ifndef NABLA_BENCH_UTIL_H
#define NABLA_BENCH_UTIL_H

#include <time.h>

/* Seconds on the clock `id`: CLOCK_MONOTONIC for wall time, CLOCK_THREAD_CPUTIME_ID
 * for the calling thread's CPU time (other processes on a shared machine count less). */
double bench_clock_seconds(clockid_t id);
/* Wall-clock seconds (CLOCK_MONOTONIC). */
double bench_seconds(void);
/* Sorts the n > 0 samples of v in place and gives their minimum and median (the mean
 * of the two middle samples when n is even). */
void bench_min_median(double *v, int n, double *min, double *median);
/* The decimal integer s in [lo, hi] into *out: 0, or -1 (and *out untouched) when s is
 * not one. */
int bench_parse_int(const char *s, int lo, int hi, int *out);

#endif
