/* fuzz_onnx_tensor.c — fuzz target for nb_onnx_tensor_parse, the reader of one ONNX
 * TensorProto (the input_<i>.pb and output_<i>.pb files of ONNX's tests). Properties
 * checked on every input: no crash, leak or sanitizer report; a refused input leaves the
 * struct zeroed with a message starting "onnx tensor"; an accepted one has a supported
 * type, a rank of at most NB_MAX_RANK, numel equal to its dimensions' product, bools of
 * 0 or 1 and integers that are whole numbers within +-2^53. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "nabla_onnx.h"

static int zeroed(const nb_onnx_tensor *t)
{
    nb_onnx_tensor z;
    memset(&z, 0, sizeof z);
    return memcmp(t, &z, sizeof z) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nb_onnx_tensor t;
    char err[512] = "";
    int rc = nb_onnx_tensor_parse(data, size, &t, err, sizeof err);
    if (getenv("NABLA_FUZZ_VERBOSE"))
        fprintf(stderr, "%s\n", rc == 0 ? "accepted" : err);
    if (rc != 0) {
        if (!zeroed(&t) || strncmp(err, "onnx tensor", 11) != 0)
            abort();
        return 0;
    }
    if (nb_onnx_type_dtype(t.type) < 0 || t.rank < 0 || t.rank > NB_MAX_RANK || !t.name || !t.data)
        abort();
    int64_t numel = 1;
    for (int d = 0; d < t.rank; d++) {
        if (t.dims[d] < 0)
            abort();
        numel *= t.dims[d];
    }
    if (numel != t.numel)
        abort();
    int is_int = t.type != NB_ONNX_FLOAT && t.type != NB_ONNX_DOUBLE;
    for (int64_t j = 0; j < t.numel; j++) {
        double v = t.data[j];
        if (t.type == NB_ONNX_BOOL && v != 0 && v != 1)
            abort();
        if (is_int && (v != floor(v) || fabs(v) > 9007199254740992.0))
            abort();
    }
    nb_onnx_tensor_free(&t);
    if (!zeroed(&t))
        abort();
    return 0;
}
