/* ir_rng.c — the project's random numbers: the same seed gives the same stream on every
 * machine (xoshiro256** seeded through splitmix64; never rand()), and the bit mixers
 * that hash tables share with it. */
#include <math.h>
#include <string.h>

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

/* XXH64's primes. */
#define IR_XXH_P1 0x9e3779b185ebca87ull
#define IR_XXH_P2 0xc2b2ae3d27d4eb4full
#define IR_XXH_P3 0x165667b19e3779f9ull
#define IR_XXH_P4 0x85ebca77c2b2ae63ull
#define IR_XXH_P5 0x27d4eb2f165667c5ull
/* XXH64 consumes 32-byte stripes, four 8-byte lanes each. */
#define IR_XXH_STRIPE 32

/* Little-endian reads, whatever the host and the alignment: memcpy, which compilers turn
 * into one load, where the host is little-endian; bytes assembled one by one elsewhere. */
static uint64_t read_le64(const unsigned char *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
#else
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
#endif
}

static uint64_t read_le32(const unsigned char *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
#else
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24;
#endif
}

static uint64_t xxh_round(uint64_t acc, uint64_t in)
{
    return rotl(acc + in * IR_XXH_P2, 31) * IR_XXH_P1;
}

static uint64_t xxh_merge(uint64_t h, uint64_t v)
{
    return (h ^ xxh_round(0, v)) * IR_XXH_P1 + IR_XXH_P4;
}

/* XXH64 as its reference defines it: four independent lanes over each 32-byte stripe
 * (no chain of dependent multiplies per byte, unlike FNV-1a), then the tail, then an
 * avalanche. */
uint64_t ir_xxh64(const void *data, size_t len, uint64_t seed)
{
    const unsigned char *p = data, *end = p + len;
    uint64_t h;
    if (len >= IR_XXH_STRIPE) {
        uint64_t v1 = seed + IR_XXH_P1 + IR_XXH_P2, v2 = seed + IR_XXH_P2, v3 = seed,
                 v4 = seed - IR_XXH_P1;
        for (; end - p >= IR_XXH_STRIPE; p += IR_XXH_STRIPE) {
            v1 = xxh_round(v1, read_le64(p));
            v2 = xxh_round(v2, read_le64(p + 8));
            v3 = xxh_round(v3, read_le64(p + 16));
            v4 = xxh_round(v4, read_le64(p + 24));
        }
        h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18);
        h = xxh_merge(xxh_merge(xxh_merge(xxh_merge(h, v1), v2), v3), v4);
    } else {
        h = seed + IR_XXH_P5;
    }
    h += (uint64_t)len;
    for (; end - p >= 8; p += 8)
        h = rotl(h ^ xxh_round(0, read_le64(p)), 27) * IR_XXH_P1 + IR_XXH_P4;
    if (end - p >= 4) {
        h = rotl(h ^ read_le32(p) * IR_XXH_P1, 23) * IR_XXH_P2 + IR_XXH_P3;
        p += 4;
    }
    for (; p < end; p++)
        h = rotl(h ^ *p * IR_XXH_P5, 11) * IR_XXH_P1;
    h = (h ^ h >> 33) * IR_XXH_P2;
    h = (h ^ h >> 29) * IR_XXH_P3;
    return h ^ h >> 32;
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
