/* ir_alloc.c — the one door every allocation of the library goes through, so a test can
 * make the k-th allocation fail (SQLite's discipline) and check that each failure is
 * reported as "out of memory" and leaks nothing. Memory is plain malloc memory:
 * release it with free(). */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

/* Allocations made so far, the number of the first one that fails (0: none), whether
 * every later one fails too (SQLite's "persistent" failures) or only that one
 * ("transient"), and how many have failed. */
static atomic_long ir_alloc_made;
static atomic_long ir_alloc_fail_at;
static atomic_int ir_alloc_persistent;
static atomic_long ir_alloc_failed;

/* Counts one allocation; 1 when it is to fail. A failure sets errno to ENOMEM, as
 * malloc's own do, so that messages quoting strerror(errno) stay true. */
static int ir_alloc_should_fail(void)
{
    long k = atomic_fetch_add(&ir_alloc_made, 1) + 1;
    long at = atomic_load(&ir_alloc_fail_at);
    if (at > 0 && (k == at || (k > at && atomic_load(&ir_alloc_persistent)))) {
        atomic_fetch_add(&ir_alloc_failed, 1);
        errno = ENOMEM;
        return 1;
    }
    return 0;
}

void *ir_malloc(size_t size)
{
    return ir_alloc_should_fail() ? NULL : malloc(size ? size : 1);
}

void *ir_calloc(size_t count, size_t size)
{
    return ir_alloc_should_fail() ? NULL : calloc(count ? count : 1, size ? size : 1);
}

void *ir_realloc(void *p, size_t size)
{
    return ir_alloc_should_fail() ? NULL : realloc(p, size ? size : 1);
}

void *ir_aligned_alloc(size_t align, size_t size)
{
    if (size % align)
        return NULL; /* aligned_alloc's own contract; callers round up */
    return ir_alloc_should_fail() ? NULL : aligned_alloc(align, size ? size : align);
}

char *ir_strdup(const char *s)
{
    return ir_strndup(s, strlen(s));
}

char *ir_strndup(const char *s, size_t max)
{
    size_t len = strnlen(s, max);
    char *copy = ir_malloc(len + 1);
    if (copy) {
        memcpy(copy, s, len);
        copy[len] = 0;
    }
    return copy;
}

/* Arms the failure before publishing where it is, so that no allocation in between
 * sees a new position with an old mode. */
static void ir_alloc_arm(long k, int persistent)
{
    atomic_store(&ir_alloc_fail_at, 0);
    atomic_store(&ir_alloc_failed, 0);
    atomic_store(&ir_alloc_persistent, persistent);
    atomic_store(&ir_alloc_fail_at, k > 0 ? atomic_load(&ir_alloc_made) + k : 0);
}

void ir_alloc_fail_from(long k)
{
    ir_alloc_arm(k, 1);
}

void ir_alloc_fail_once(long k)
{
    ir_alloc_arm(k, 0);
}

long ir_alloc_count(void)
{
    return atomic_load(&ir_alloc_made);
}

long ir_alloc_failures(void)
{
    return atomic_load(&ir_alloc_failed);
}
