/* consumer.c — runs the seed's training step exported by nabla_add_model (seed.h and,
 * from the same generator run as GENERATOR_COMMAND, seed_copy.h) with no nabla header:
 * at x = 6.7, y = 0, w = 1, b = 0, lr = 0.1 the loss is 6.7012, dL/dw = 6.6918,
 * dL/db = 0.9988 (by hand and by PyTorch), and the step leaves w = 0.33082. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "seed.h"
#include "seed_copy.h"

static int failures;

static void check(const char *what, double got, double want)
{
    int ok = fabs(got - want) <= 1e-4 + 1e-4 * fabs(want);
    printf("%-28s %.4f (want %.4f)%s\n", what, got, want, ok ? "" : "  MISMATCH");
    failures += !ok;
}

/* The state and arena, aligned for both programs (doubles are 8-aligned, as they ask). */
static double seed_state[SEED_STATE_SIZE / sizeof(double) + 1];
static double seed_arena[SEED_ARENA_SIZE / sizeof(double) + 1];
static double copy_state[SEED_COPY_STATE_SIZE / sizeof(double) + 1];
static double copy_arena[SEED_COPY_ARENA_SIZE / sizeof(double) + 1];

int main(void)
{
    float x = 6.7f, y = 0.0f, lr = 0.1f, loss, dw, db, w;
    int rc = seed_init(seed_state);
    if (rc == 0)
        rc = seed_run(&x, &y, &lr, &loss, &dw, &db, seed_arena, seed_state);
    if (rc != 0) {
        printf("seed_run: %s\n", seed_error(rc));
        return 1;
    }
    check("loss", loss, 6.7012);
    check("dL/dw", dw, 6.6918);
    check("dL/db", db, 0.9988);
    memcpy(&w, (unsigned char *)seed_state + seed_params[0].offset, sizeof w);
    check(seed_params[0].name[0] == 'w' ? "w after the step" : "param 0 is not w", w, 0.33082);
    float loss2;
    rc = seed_copy_init(copy_state);
    if (rc == 0)
        rc = seed_copy_run(&x, &y, &lr, &loss2, &dw, &db, copy_arena, copy_state);
    if (rc != 0) {
        printf("seed_copy_run: %s\n", seed_copy_error(rc));
        return 1;
    }
    check("loss (GENERATOR_COMMAND)", loss2, 6.7012);
    return failures == 0 ? 0 : 1;
}
