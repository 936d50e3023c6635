/* tmpdir.c — temporary directories for tests, and the private cc-backend cache that
 * tests compiling with NB_BACKEND_CC share. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

#include "tmpdir.h"

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    remove(path);
    return 0; /* go on: remove what can be removed */
}

void tu_remove_dir(const char *dir)
{
    /* Depth first, never following a link (FTW_PHYS): a link planted by a test is
     * removed, not what it points to. */
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static char tu_cache[64];

int tu_cc_cache_setup(void **state)
{
    (void)state;
    snprintf(tu_cache, sizeof tu_cache, "/tmp/nabla-test-cache-XXXXXX");
    if (!mkdtemp(tu_cache))
        return -1;
    return setenv("NABLA_CACHE_DIR", tu_cache, 1);
}

int tu_cc_cache_teardown(void **state)
{
    (void)state;
    if (tu_cache[0])
        tu_remove_dir(tu_cache);
    return 0;
}

const char *tu_cc_cache_dir(void)
{
    return tu_cache;
}
