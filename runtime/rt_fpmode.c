/* rt_fpmode.c — the floating-point mode a program runs in: flush-to-zero and
 * denormals-are-zero (the default) or exact IEEE subnormals, set around each run and
 * the caller's own mode put back afterwards.
 *
 * Why: a multiply whose operand or result is subnormal (below 1.2e-38 in f32, 2.2e-308
 * in f64) takes a microcode assist on Intel CPUs, about a hundred times the normal
 * cost. Training drives values there (Adam's first moment of a weight whose gradient is
 * exactly zero decays by 0.9 a step), and the update then dominated the step
 * (docs/performance.md). Flushing changes only values below those thresholds.
 *
 * The mode is per thread: a thread other than the caller's (OpenBLAS's workers, a
 * thread pool's) keeps its own, so whatever runs a program's work on another thread
 * must set it there: the pool's workers adopt the caller's (rt_fpmode_current,
 * rt_fpmode_adopt) before each part. */
#include "rt.h"

#if defined(__x86_64__)
#include <xmmintrin.h>

/* MXCSR: FTZ (bit 15) flushes subnormal results to zero, DAZ (bit 6) reads subnormal
 * operands as zero. Both cover SSE and AVX arithmetic, f32 and f64 alike. */
#define RT_FPMODE_BITS 0x8040u
/* Its low six bits are status, not control: the exceptions raised so far (sticky). */
#define RT_FPMODE_STATUS 0x3fu

static unsigned rt_fpmode_get(void)
{
    return _mm_getcsr();
}

static void rt_fpmode_set(unsigned mode)
{
    _mm_setcsr(mode);
}

/* Zeroes the upper halves of the vector registers (vzeroupper) when the CPU has AVX.
 * Code that ran on the thread before may leave them dirty (AVX code without vzeroupper,
 * or state restored by the kernel), and then the run's SSE instructions (libtcc's code,
 * libm, the runtime) each wait on a merge with the upper halves: the seed step on cc's
 * code took 130 ns per run instead of 55-75 after a libtcc program had run on the same
 * thread (AMD EPYC, Zen 3; docs/performance.md). */
static void rt_fpmode_clean_upper(void)
{
    if (__builtin_cpu_supports("avx")) /* a load of libgcc's CPU model */
        __asm__ __volatile__("vzeroupper" ::: "memory");
}

#elif defined(__aarch64__)

/* FPCR.FZ (bit 24) flushes subnormal operands and results of scalar and Advanced SIMD
 * arithmetic to zero: both halves of FTZ/DAZ at once. */
#define RT_FPMODE_BITS (1u << 24)
/* Status flags live in another register (FPSR), untouched here. */
#define RT_FPMODE_STATUS 0u

static unsigned rt_fpmode_get(void)
{
    unsigned long v;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(v));
    return (unsigned)v;
}

static void rt_fpmode_set(unsigned mode)
{
    unsigned long v = mode;
    __asm__ __volatile__("msr fpcr, %0" : : "r"(v));
}

static void rt_fpmode_clean_upper(void)
{
}

#else

/* Elsewhere nabla does not know the control register: programs run in the caller's
 * mode, whatever the option says (documented in nabla.h). */
#define RT_FPMODE_BITS 0u
#define RT_FPMODE_STATUS 0u

static unsigned rt_fpmode_get(void)
{
    return 0;
}

static void rt_fpmode_set(unsigned mode)
{
    (void)mode;
}

static void rt_fpmode_clean_upper(void)
{
}

#endif

void rt_fpmode_enter(rt_fpmode *m, int flush)
{
    rt_fpmode_clean_upper();
    m->saved = rt_fpmode_get();
    unsigned want = flush ? m->saved | RT_FPMODE_BITS : m->saved & ~RT_FPMODE_BITS;
    /* Writing the control register costs more than reading it: skip the write when
     * the caller's mode is already the one wanted. */
    m->changed = want != m->saved;
    if (m->changed)
        rt_fpmode_set(want);
}

/* The exception flags the run raised stay raised, as after any arithmetic the caller
 * does itself (fenv's feupdateenv does the same): only the control bits go back. */
void rt_fpmode_leave(const rt_fpmode *m)
{
    if (m->changed)
        rt_fpmode_set((m->saved & ~RT_FPMODE_STATUS) | (rt_fpmode_get() & RT_FPMODE_STATUS));
}

unsigned rt_fpmode_current(void)
{
    return rt_fpmode_get() & ~RT_FPMODE_STATUS;
}

void rt_fpmode_adopt(unsigned mode)
{
    rt_fpmode_clean_upper();
    unsigned now = rt_fpmode_get();
    if ((now & ~RT_FPMODE_STATUS) != mode)
        rt_fpmode_set(mode | (now & RT_FPMODE_STATUS));
}
