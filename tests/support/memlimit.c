/* memlimit.c — running a piece of a test with little address space to spare. */
#include <stdio.h>
#include <unistd.h>

#include "memlimit.h"

/* The address space in use, from /proc/self/statm (0 when unknown). */
static size_t vm_bytes(void)
{
    unsigned long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%lu", &pages) != 1)
            pages = 0;
        fclose(f);
    }
    return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}

int tu_memory_limit(size_t spare, struct rlimit *saved)
{
    if (getrlimit(RLIMIT_AS, saved) != 0)
        return -1;
    struct rlimit low = *saved;
    low.rlim_cur = vm_bytes() + spare;
    if (saved->rlim_cur != RLIM_INFINITY && saved->rlim_cur < low.rlim_cur)
        low.rlim_cur = saved->rlim_cur;
    return setrlimit(RLIMIT_AS, &low);
}

int tu_memory_restore(const struct rlimit *saved)
{
    return setrlimit(RLIMIT_AS, saved);
}
