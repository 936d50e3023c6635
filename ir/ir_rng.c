/* ir_rng.c — the project's random numbers: the same seed gives the same stream on every
 * machine (xoshiro256** seeded through splitmix64; never rand()), and the bit mixers
 * that hash tables share with it. */
#include <math.h>

#include "ir.h"

uint64_t ir_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t ir_fnv1a(uint64_t h, const void *data, size_t len)
{
    const unsigned char *b = data;
    for (size_t i = 0; i < len; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

uint64_t ir_hash_bytes(const void *data, size_t len)
{
    return ir_mix64(ir_fnv1a(IR_FNV1A_BASIS, data, len));
}

static uint64_t splitmix64(uint64_t *s)
{
    return ir_mix64(*s += IR_SPLITMIX_STEP);
}

void ir_rng_seed(ir_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t ir_rng_next(ir_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double ir_rng_uniform(ir_rng *r)
{
    return (double)(ir_rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t ir_rng_below(ir_rng *r, uint64_t n)
{
    /* Lemire's rejection keeps every value equally likely. */
    uint64_t threshold = (0 - n) % n, x;
    do
        x = ir_rng_next(r);
    while (x < threshold);
    return x % n;
}

double ir_rng_normal(ir_rng *r)
{
    /* Box-Muller; 1 - u keeps the logarithm's argument in (0, 1]. */
    double u = 1.0 - ir_rng_uniform(r), v = ir_rng_uniform(r);
    return sqrt(-2.0 * log(u)) * cos(2.0 * 3.14159265358979323846 * v);
}
