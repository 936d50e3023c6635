/* driver.c — runs an exported program (tests/test_export.c builds it with the export,
 * -DNB_PREFIX=<prefix> -DNB_HEADER="<prefix>.h"): init, then one run per step over the
 * inputs of that step read from a file, each run's outputs appended to another file,
 * and after the last run every parameter held in the state (table order) to a third.
 * Only the exported files and libc.
 *   driver STEPS IN_FILE OUT_FILE STATE_FILE */
#include <stdio.h>
#include <stdlib.h>

#include NB_HEADER

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define NAME(x) CAT(NB_PREFIX, x)
#define MACRO(x) CAT(NB_PREFIX_UPPER, x)

/* Memory aligned to 64 bytes from a static pool: the driver, like a microcontroller
 * build, allocates nothing. */
static unsigned char pool[1 << 24];

static unsigned char *take(size_t *used, size_t bytes)
{
    size_t at = (*used + 63) / 64 * 64;
    if (at + bytes > sizeof pool) {
        fprintf(stderr, "driver: the pool is too small\n");
        exit(2);
    }
    *used = at + bytes;
    return pool + at;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: driver STEPS IN_FILE OUT_FILE STATE_FILE\n");
        return 2;
    }
    int steps = atoi(argv[1]);
    FILE *in = fopen(argv[2], "rb"), *out = fopen(argv[3], "wb"), *st = fopen(argv[4], "wb");
    if (!in || !out || !st) {
        fprintf(stderr, "driver: cannot open the files\n");
        return 2;
    }
    size_t used = 0;
    /* The pool's first bytes start on a 64-byte boundary only by luck: align it. */
    used = (size_t)(64 - (size_t)((unsigned long long)(size_t)pool % 64)) % 64;
    unsigned char *arena = take(&used, MACRO(_ARENA_SIZE) + 1);
    unsigned char *state = take(&used, MACRO(_STATE_SIZE) + 1);
    const void *inputs[MACRO(_N_INPUTS) + 1];
    void *outputs[MACRO(_N_OUTPUTS) + 1];
    for (int i = 0; i < MACRO(_N_INPUTS); i++)
        inputs[i] = take(&used, NAME(_inputs)[i].bytes);
    for (int i = 0; i < MACRO(_N_OUTPUTS); i++)
        outputs[i] = take(&used, NAME(_outputs)[i].bytes);
    if (NAME(_init)(state) != 0) {
        fprintf(stderr, "driver: init failed\n");
        return 1;
    }
    for (int s = 0; s < steps; s++) {
        for (int i = 0; i < MACRO(_N_INPUTS); i++)
            if (fread((void *)inputs[i], 1, NAME(_inputs)[i].bytes, in) != NAME(_inputs)[i].bytes) {
                fprintf(stderr, "driver: the input file is short\n");
                return 2;
            }
        int rc = NAME(_run_array)(inputs, outputs, arena, state);
        if (rc != 0) {
            printf("error %d: %s\n", rc, NAME(_error)(rc));
            return 3;
        }
        for (int i = 0; i < MACRO(_N_OUTPUTS); i++)
            fwrite(outputs[i], 1, NAME(_outputs)[i].bytes, out);
    }
    for (int i = 0; i < MACRO(_N_PARAMS); i++)
        if (NAME(_params)[i].offset != (size_t)-1)
            fwrite(state + NAME(_params)[i].offset, 1, NAME(_params)[i].bytes, st);
    return fclose(in) | fclose(out) | fclose(st) ? 1 : 0;
}
