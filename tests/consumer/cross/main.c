/* main.c — the seed's training step on a microcontroller: static memory, one step. The
 * exit code says whether the loss is 6.7012 (nothing runs it here: it is only built). */
#include "seed.h"

static double state[SEED_STATE_SIZE / sizeof(double) + 1];
static double arena[SEED_ARENA_SIZE / sizeof(double) + 1];

int main(void)
{
    float x = 6.7f, y = 0.0f, lr = 0.1f, loss = 0.0f, dw, db;
    if (seed_init(state) != 0 || seed_run(&x, &y, &lr, &loss, &dw, &db, arena, state) != 0)
        return 2;
    return loss > 6.7011f && loss < 6.7013f ? 0 : 1;
}
