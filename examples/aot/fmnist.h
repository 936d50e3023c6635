/* fmnist.h — Fashion-MNIST's gzip IDX files read with zlib alone, for the programs of
 * examples/aot that use no nabla header (classify.c, train.c) and for train_jit.c, so
 * that all of them see the same floats: pixel / 255.0f, as nabla's nb_idx_images_f32. */
#ifndef FMNIST_H
#define FMNIST_H

#include <stddef.h>
#include <stdint.h>

#define FM_PIXELS 784 /* 28 x 28 */
#define FM_CLASSES 10
#define FM_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"

typedef struct fm_set {
    float *images;   /* [n, FM_PIXELS] in [0, 1] */
    int32_t *labels; /* [n] in [0, FM_CLASSES) */
    long n;
} fm_set;

/* Reads <dir>/<which>-images-idx3-ubyte.gz and <dir>/<which>-labels-idx1-ubyte.gz
 * (which: "train" or "t10k"). 0, or -1 with a message naming the file in err and *set
 * zeroed. Free with fm_free. */
int fm_load(const char *dir, const char *which, fm_set *set, char *err, size_t err_size);
void fm_free(fm_set *set);

/* The value of "--name value" options: returns argv[*i + 1] and advances *i, or NULL
 * (with a message on stderr naming the program and the option) when it is missing. */
const char *fm_option_value(const char *prog, int argc, char **argv, int *i);
/* A positive integer (at most 1e8) from s, or -1 with a message naming the option. */
long fm_positive(const char *prog, const char *opt, const char *s);

#endif
