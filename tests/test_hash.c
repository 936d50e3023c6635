/* test_hash.c — ir_xxh64 against the reference XXH64: the expected values were printed by
 * xxhsum -H1 (Debian's xxhash 0.8.1) for the same bytes, seed 0. Lengths cover every
 * path: empty, the byte tail, the 4-byte and 8-byte tails, one stripe less a byte, one
 * stripe, past one stripe, many stripes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ir.h"

/* The longest pattern below. */
#define PATTERN_MAX 1000

static void test_xxh64_reference(void **state)
{
    (void)state;
    assert_true(ir_xxh64("", 0, 0) == 0xef46db3751d8e999ull);
    assert_true(ir_xxh64("a", 1, 0) == 0xd24ec4f1a98c6e5bull);
    assert_true(ir_xxh64("abc", 3, 0) == 0x44bc2cf5ad770999ull);
    /* Bytes (7 i + 3) mod 256, i = 0 .. n-1. */
    static const struct {
        size_t n;
        uint64_t h;
    } cases[] = {{7, 0x9a7b149959ce60d8ull},   {31, 0xa2aa5f33cc4a6119ull},
                 {32, 0x23c3c17ef790fd97ull},  {33, 0x50a7cfc7ba588784ull},
                 {100, 0xa61f8d4c170fe531ull}, {PATTERN_MAX, 0x5f235fa033f1a3fbull}};
    unsigned char bytes[PATTERN_MAX + 1];
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        /* At the start of the array, then one byte further on (unaligned). */
        for (size_t at = 0; at < 2; at++) {
            for (size_t i = 0; i < PATTERN_MAX; i++)
                bytes[at + i] = (unsigned char)((i * 7 + 3) % 256);
            assert_true(ir_xxh64(bytes + at, cases[c].n, 0) == cases[c].h);
        }
    }
    /* The seed changes the hash. */
    assert_true(ir_xxh64("abc", 3, 1) != ir_xxh64("abc", 3, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_xxh64_reference)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
