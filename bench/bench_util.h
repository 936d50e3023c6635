/* bench_util.h — what the benchmarks of bench/ share: a clock, the minimum and median
 * of a run's samples, the timing of a function in rounds, and the parsing of their
 * numeric arguments. */
#ifndef NABLA_BENCH_UTIL_H
#define NABLA_BENCH_UTIL_H

#include <stdint.h>
#include <time.h>

/* The seconds one round of bench_time takes, about, and the most rounds it takes. */
#define BENCH_ROUND_SECONDS 0.2
#define BENCH_ROUNDS_MAX 64

/* Seconds on the clock `id`: CLOCK_MONOTONIC for wall time, CLOCK_THREAD_CPUTIME_ID
 * for the calling thread's CPU time (other processes on a shared machine count less). */
double bench_clock_seconds(clockid_t id);
/* Wall-clock seconds (CLOCK_MONOTONIC). */
double bench_seconds(void);
/* Sorts the n > 0 samples of v in place and gives their minimum and median (the mean
 * of the two middle samples when n is even). */
void bench_min_median(double *v, int n, double *min, double *median);
/* Fills x[0..n) with the values in [-0.5, 0.5) of a linear congruential generator
 * started at seed: the same inputs on every run. */
void bench_fill(float *x, int64_t n, uint64_t seed);
/* Times fn(arg) on the clock `clock` (see bench_clock_seconds): one call to warm caches
 * and pages, then rounds (1 to BENCH_ROUNDS_MAX) rounds of as many calls as take about
 * BENCH_ROUND_SECONDS; the minimum and median seconds per call over the rounds. */
void bench_time(void (*fn)(void *), void *arg, int rounds, clockid_t clock, double *min,
                double *median);
/* The decimal integer s in [lo, hi] into *out: 0, or -1 (and *out untouched) when s is
 * not one. */
int bench_parse_int(const char *s, int lo, int hi, int *out);

#endif
