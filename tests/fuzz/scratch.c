/* scratch.c — scratch files for fuzz targets whose readers take a path: one private
 * directory per process, removed at exit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

#define FUZZ_MAX_SCRATCH 4

static char scratch_dir[64];
static char scratch_paths[FUZZ_MAX_SCRATCH][128];
static int n_scratch;

static void scratch_cleanup(void)
{
    for (int i = 0; i < n_scratch; i++)
        unlink(scratch_paths[i]);
    if (scratch_dir[0])
        rmdir(scratch_dir);
}

const char *fuzz_scratch(const char *suffix, const uint8_t *data, size_t size)
{
    if (!scratch_dir[0]) {
        snprintf(scratch_dir, sizeof scratch_dir, "/tmp/nabla-fuzz-XXXXXX");
        if (!mkdtemp(scratch_dir))
            abort();
        atexit(scratch_cleanup);
    }
    char path[128];
    snprintf(path, sizeof path, "%s/%s", scratch_dir, suffix);
    int i = 0;
    while (i < n_scratch && strcmp(scratch_paths[i], path) != 0)
        i++;
    if (i == n_scratch) {
        if (n_scratch == FUZZ_MAX_SCRATCH)
            abort();
        snprintf(scratch_paths[n_scratch++], sizeof scratch_paths[0], "%s", path);
    }
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
        abort();
    return scratch_paths[i];
}
