/* train.c — trains fashion_mnist's MLP for one epoch with the exported training step
 * (the library nabla_add_model built from train_gen.c with CBLAS): no nabla header or
 * library, only trainer.h/.c, libc, libm, OpenBLAS's cblas_sgemm and zlib (fmnist.c).
 * With OpenBLAS on one thread (OPENBLAS_NUM_THREADS=1) it prints the bits train_jit
 * prints (train_loop.c).
 *   train [--data DIR] [--every N] [--batches N] [--lr X] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmnist.h"
#include "train_loop.h"
#include "trainer.h"

#define PROG "train"

/* train_gen.c's step: the inputs x, y and lr (found by name below) and the loss. */
typedef char trainer_is_a_training_step
    [TRAINER_N_INPUTS == 3 && TRAINER_N_OUTPUTS == 1 && TRAINER_OUTPUT0_NUMEL == 1 ? 1 : -1];

typedef struct trainer {
    int x, y, lr; /* the inputs' places in trainer_inputs */
    long batch;
    void *arena, *state;
} trainer;

/* The index of the input named name with numel elements of dtype, or -1 after a
 * message. */
static int input_index(const char *name, const char *dtype, long numel)
{
    for (int i = 0; trainer_inputs[i].name; i++)
        if (!strcmp(trainer_inputs[i].name, name)) {
            if (strcmp(trainer_inputs[i].dtype, dtype) ||
                (numel && trainer_inputs[i].numel != numel))
                break;
            return i;
        }
    fprintf(stderr, "%s: trainer.h has no input '%s' of %s%s\n", PROG, name, dtype,
            numel ? " and the expected size" : "");
    return -1;
}

static int step(void *ctx, const float *x, const int32_t *y, float lr, float *loss)
{
    trainer *t = ctx;
    const void *inputs[TRAINER_N_INPUTS];
    void *outputs[TRAINER_N_OUTPUTS] = {loss};
    inputs[t->x] = x;
    inputs[t->y] = y;
    inputs[t->lr] = &lr;
    int code = trainer_run_array(inputs, outputs, t->arena, t->state);
    if (code != 0) {
        fprintf(stderr, "%s: trainer_run: %s\n", PROG, trainer_error(code));
        return -1;
    }
    return 0;
}

static void *aligned(size_t bytes)
{
    size_t align = TRAINER_ALIGN < 64 ? 64 : TRAINER_ALIGN;
    return aligned_alloc(align, (bytes + align - 1) / align * align + align);
}

int main(int argc, char **argv)
{
    train_options o;
    if (train_parse(PROG, argc, argv, &o) != 0)
        return 2;
    trainer t = {.batch = 0};
    if ((t.y = input_index("y", "i32", 0)) < 0)
        return 1;
    t.batch = (long)trainer_inputs[t.y].numel;
    if ((t.x = input_index("x", "f32", t.batch * FM_PIXELS)) < 0 ||
        (t.lr = input_index("lr", "f32", 1)) < 0)
        return 1;
    t.arena = aligned(TRAINER_ARENA_SIZE);
    t.state = aligned(TRAINER_STATE_SIZE);
    int rc = 1;
    if (!t.arena || !t.state) {
        fprintf(stderr, "%s: out of memory\n", PROG);
        goto done;
    }
    if (trainer_init(t.state) != 0) {
        fprintf(stderr, "%s: trainer_init failed\n", PROG);
        goto done;
    }
    rc = train_epoch(PROG, &o, t.batch, step, &t);
done:
    free(t.arena);
    free(t.state);
    return rc;
}
