/* memlimit.h — running a piece of a test with little address space to spare, to show
 * that a reader refuses a huge input before allocating for it. */
#ifndef MEMLIMIT_H
#define MEMLIMIT_H

#include <stddef.h>
#include <sys/resource.h>

/* Under AddressSanitizer (gcc or clang) the address space cannot be limited: the
 * sanitizer reserves terabytes of shadow memory up front. */
#if defined(__SANITIZE_ADDRESS__)
#define TU_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TU_UNDER_ASAN 1
#endif
#endif

/* Lowers the address-space limit to what the process uses now plus spare bytes (never
 * above the current limit), saving the old limit in saved. 0, or -1 with errno. */
int tu_memory_limit(size_t spare, struct rlimit *saved);
/* Puts back the limit tu_memory_limit saved. 0, or -1 with errno. */
int tu_memory_restore(const struct rlimit *saved);

#endif
