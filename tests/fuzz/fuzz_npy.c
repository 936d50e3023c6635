/* fuzz_npy.c — fuzz target for nb_npy_parse and nb_npy_read, the readers of untrusted
 * .npy files. Properties checked on every input: no crash, leak or sanitizer report; a
 * refused input leaves the struct zeroed with a message; an accepted one has a rank of
 * at most NB_MAX_RANK, nbytes equal to its shape's elements times its dtype's size, and
 * bools of 0 or 1; and the file read from a path gives exactly what the bytes parsed
 * in memory give. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "nabla.h"

static int zeroed(const nb_npy *x)
{
    nb_npy z;
    memset(&z, 0, sizeof z);
    return memcmp(x, &z, sizeof z) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nb_npy x, y;
    char err[512] = "", err2[512] = "";
    int rc = nb_npy_parse(data, size, &x, err, sizeof err);
    if (getenv("NABLA_FUZZ_VERBOSE"))
        fprintf(stderr, "%s\n", rc == 0 ? "accepted" : err);
    if (rc != 0) {
        if (!zeroed(&x) || !err[0])
            abort();
    } else {
        int64_t numel = 1;
        if (x.rank < 0 || x.rank > NB_MAX_RANK)
            abort();
        for (int i = 0; i < x.rank; i++)
            numel *= x.shape[i];
        if ((size_t)numel * nb_dtype_size(x.dtype) != x.nbytes || !x.data)
            abort();
        if (x.dtype == NB_BOOL)
            for (size_t i = 0; i < x.nbytes; i++)
                if (((unsigned char *)x.data)[i] > 1)
                    abort();
    }
    const char *path = fuzz_scratch("in.npy", data, size);
    int rc2 = nb_npy_read(path, &y, err2, sizeof err2);
    if (rc2 != rc)
        abort();
    if (rc == 0 && (x.dtype != y.dtype || x.rank != y.rank || x.nbytes != y.nbytes ||
                    memcmp(x.shape, y.shape, sizeof x.shape) != 0 ||
                    memcmp(x.data, y.data, x.nbytes) != 0))
        abort();
    if (rc != 0 && !strstr(err2, err))
        abort(); /* the file's message is the bytes' message with the path in front */
    nb_npy_free(&x);
    nb_npy_free(&y);
    return 0;
}
