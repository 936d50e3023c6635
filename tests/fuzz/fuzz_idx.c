/* fuzz_idx.c — fuzz target for nb_idx_read, the reader of untrusted IDX files (plain or
 * gzip). Properties checked on every input: no crash, leak or sanitizer report; a
 * refused file leaves the struct zeroed with a message naming the file; an accepted
 * file's size agrees with its shape and type, and its conversions work. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "nabla.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_scratch("in.idx", data, size);
    nb_idx x;
    char err[512] = "";
    int rc = nb_idx_read(path, &x, err, sizeof err);
    if (getenv("NABLA_FUZZ_VERBOSE"))
        fprintf(stderr, "%s\n", rc == 0 ? "accepted" : err);
    if (rc != 0) {
        if (x.data || x.rank || x.nbytes || !strstr(err, path))
            abort();
        return 0;
    }
    int64_t n = nb_idx_numel(&x);
    if (n < 1 || (uint64_t)n * nb_idx_type_size(x.type) != x.nbytes)
        abort();
    float *f = nb_idx_to_f32(&x, 255.0f, err, sizeof err);
    if (!f)
        abort();
    free(f);
    int64_t count = 0, dim = 0;
    f = nb_idx_images_f32(&x, &count, &dim, err, sizeof err);
    if (f && count * dim != n)
        abort();
    free(f);
    int32_t *l = nb_idx_labels_i32(&x, &count, err, sizeof err);
    if (l && count != n)
        abort();
    free(l);
    nb_idx_free(&x);
    return 0;
}
