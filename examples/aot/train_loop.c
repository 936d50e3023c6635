/* train_loop.c — the epoch that train.c and train_jit.c share (train_loop.h). */
#include "train_loop.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmnist.h"

int train_parse(const char *prog, int argc, char **argv, train_options *o)
{
    o->data = FM_DEFAULT_DIR;
    o->every = 100;
    o->batches = 0;
    o->lr = 1e-3f;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *v;
        if (strcmp(opt, "--data") && strcmp(opt, "--every") && strcmp(opt, "--batches") &&
            strcmp(opt, "--lr")) {
            fprintf(stderr,
                    "%s: unknown argument '%s'\n"
                    "usage: %s [--data DIR] [--every N] [--batches N] [--lr X]\n",
                    prog, opt, prog);
            return -1;
        }
        if (!(v = fm_option_value(prog, argc, argv, &i)))
            return -1;
        if (!strcmp(opt, "--data"))
            o->data = v;
        else if (!strcmp(opt, "--every")) {
            if ((o->every = fm_positive(prog, opt, v)) < 0)
                return -1;
        } else if (!strcmp(opt, "--batches")) {
            if ((o->batches = fm_positive(prog, opt, v)) < 0)
                return -1;
        } else {
            char *end;
            double lr = strtod(v, &end);
            if (end == v || *end || !(lr > 0) || !isfinite(lr) || !isfinite((float)lr)) {
                fprintf(stderr, "%s: --lr needs a positive number, got '%s'\n", prog, v);
                return -1;
            }
            o->lr = (float)lr;
        }
    }
    return 0;
}

int train_epoch(const char *prog, const train_options *o, long batch, train_step_fn step, void *ctx)
{
    fm_set train;
    char err[512];
    if (fm_load(o->data, "train", &train, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return 1;
    }
    long batches = train.n / batch;
    if (batches < 1) {
        fprintf(stderr, "%s: %s has %ld training images, fewer than a batch of %ld\n", prog,
                o->data, train.n, batch);
        fm_free(&train);
        return 1;
    }
    if (o->batches && o->batches < batches)
        batches = o->batches;
    double sum = 0;
    for (long b = 0; b < batches; b++) {
        float loss;
        if (step(ctx, train.images + b * batch * FM_PIXELS, train.labels + b * batch, o->lr,
                 &loss) != 0) {
            fm_free(&train);
            return 1;
        }
        sum += loss;
        if ((b + 1) % o->every == 0 || b + 1 == batches)
            printf("batch %ld/%ld: loss %.9g\n", b + 1, batches, (double)loss);
    }
    printf("epoch: %ld batches of %ld, mean loss %.9g\n", batches, batch, sum / (double)batches);
    fm_free(&train);
    return 0;
}
