/* golden.h — reads tests/data/golden.txt, the expected values written by PyTorch
 * (tests/golden/make_golden.py documents the format). */
#ifndef GOLDEN_H
#define GOLDEN_H

#include "nabla.h"

/* One named array of a case: dtype NB_F32 (float data) or NB_I32 (labels, indices). */
typedef struct gd_array {
    char *name;
    nb_dtype dtype;
    int rank;
    int64_t shape[NB_MAX_RANK];
    int64_t numel;
    double *values; /* numel values as printed in the file */
    void *data;     /* the same values as float or int32_t, ready to bind */
} gd_array;

typedef struct gd_case {
    char *name;
    int n;
    gd_array *arrays;
} gd_case;

typedef struct gd_file {
    int n;
    gd_case *cases;
} gd_file;

/* Loads a golden file; NULL (with a message on stderr) when it is missing or bad. */
gd_file *gd_load(const char *path);
void gd_free(gd_file *f);
const gd_case *gd_case_find(const gd_file *f, const char *name);
const gd_array *gd_array_find(const gd_case *c, const char *name);

#endif
