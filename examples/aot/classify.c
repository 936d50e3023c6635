/* classify.c — classifies Fashion-MNIST's test set with the exported classifier (the
 * library nabla_add_model built from classifier_gen.c) and prints the accuracy as
 * fashion_mnist prints it. It uses no nabla header or library: the exported
 * classifier.h/.c, libc, libm, and zlib (fmnist.c) to read the data.
 *   classify [--data DIR]   (DIR: /usr/share/datasets/fashion-mnist) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classifier.h"
#include "fmnist.h"

#define PROG "classify"
#define ROWS (CLASSIFIER_INPUT0_NUMEL / FM_PIXELS) /* images per run */

typedef char classifier_takes_images[CLASSIFIER_N_INPUTS == 1 && CLASSIFIER_N_OUTPUTS == 1 &&
                                             CLASSIFIER_INPUT0_NUMEL % FM_PIXELS == 0 &&
                                             CLASSIFIER_OUTPUT0_NUMEL == ROWS * FM_CLASSES
                                         ? 1
                                         : -1];

/* Storage for the program's memory, aligned as it asks (no state: constant weights). */
static void *aligned(size_t bytes)
{
    size_t align = CLASSIFIER_ALIGN < 64 ? 64 : CLASSIFIER_ALIGN;
    return aligned_alloc(align, (bytes + align - 1) / align * align + align);
}

int main(int argc, char **argv)
{
    const char *dir = FM_DEFAULT_DIR;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--data")) {
            if (!(dir = fm_option_value(PROG, argc, argv, &i)))
                return 2;
        } else {
            fprintf(stderr, "%s: unknown argument '%s'\nusage: %s [--data DIR]\n", PROG, argv[i],
                    PROG);
            return 2;
        }
    }
    fm_set test;
    char err[512];
    if (fm_load(dir, "t10k", &test, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", PROG, err);
        return 1;
    }
    float *x = aligned(sizeof(float) * ROWS * FM_PIXELS),
          *logits = aligned(sizeof(float) * ROWS * FM_CLASSES);
    void *arena = aligned(CLASSIFIER_ARENA_SIZE);
    int rc = 1;
    if (!x || !logits || !arena) {
        fprintf(stderr, "%s: out of memory\n", PROG);
        goto done;
    }
    long hits = 0;
    for (long start = 0; start < test.n; start += ROWS) {
        long rows = test.n - start < ROWS ? test.n - start : ROWS;
        /* A last partial batch runs padded with zeros; only its real rows count. */
        memset(x, 0, sizeof(float) * ROWS * FM_PIXELS);
        memcpy(x, test.images + start * FM_PIXELS, sizeof(float) * (size_t)rows * FM_PIXELS);
        int code = classifier_run(x, logits, arena, NULL);
        if (code != 0) {
            fprintf(stderr, "%s: classifier_run: %s\n", PROG, classifier_error(code));
            goto done;
        }
        for (long r = 0; r < rows; r++) {
            const float *l = logits + r * FM_CLASSES;
            int best = 0;
            for (int c = 1; c < FM_CLASSES; c++)
                if (l[c] > l[best])
                    best = c;
            hits += best == test.labels[start + r];
        }
    }
    printf("test accuracy: %.4f\n", (double)hits / (double)test.n);
    rc = 0;
done:
    free(x);
    free(logits);
    free(arena);
    fm_free(&test);
    return rc;
}
