/* test_npy.c — the .npy reader: files NumPy wrote (tests/data/npy/make_npy.py, values
 * stated here by hand) read with their dtypes, shapes and values, both byte orders,
 * format versions 1 to 3, int64 as i32; and malformed files, each refused with its
 * message and the struct zeroed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nabla.h"

#define DIR NABLA_TEST_DATA "/npy/"

static void read_ok(const char *name, nb_npy *x)
{
    char err[512] = "";
    if (nb_npy_read(name, x, err, sizeof err) != 0)
        fail_msg("%s: %s", name, err);
}

static void read_fails(const char *name, const char *part)
{
    nb_npy x;
    char err[512] = "";
    assert_int_equal(nb_npy_read(name, &x, err, sizeof err), -1);
    if (!strstr(err, part))
        fail_msg("%s: expected '%s' in: %s", name, part, err);
    assert_null(x.data);
    assert_int_equal(x.rank, 0);
}

static void numpy_files(void **state)
{
    (void)state;
    nb_npy x;
    read_ok(DIR "f4_2x3.npy", &x);
    assert_int_equal(x.dtype, NB_F32);
    assert_int_equal(x.rank, 2);
    assert_int_equal(x.shape[0], 2);
    assert_int_equal(x.shape[1], 3);
    assert_int_equal(x.nbytes, 24);
    for (int i = 0; i < 6; i++)
        assert_true(((float *)x.data)[i] == (float)i / 4.0f);
    nb_npy_free(&x);
    assert_null(x.data);

    read_ok(DIR "f8_be_3.npy", &x); /* big-endian on file */
    assert_int_equal(x.dtype, NB_F64);
    assert_int_equal(x.rank, 1);
    const double f8[3] = {1.5, -2.25, 1e300};
    assert_memory_equal(x.data, f8, sizeof f8);
    nb_npy_free(&x);

    read_ok(DIR "i4_scalar.npy", &x);
    assert_int_equal(x.dtype, NB_I32);
    assert_int_equal(x.rank, 0);
    assert_int_equal(((int32_t *)x.data)[0], -7);
    nb_npy_free(&x);

    read_ok(DIR "i8_4.npy", &x); /* numpy's default integer, as i32 */
    assert_int_equal(x.dtype, NB_I32);
    const int32_t i8[4] = {0, 1, 9, -3};
    assert_int_equal(x.nbytes, sizeof i8);
    assert_memory_equal(x.data, i8, sizeof i8);
    nb_npy_free(&x);

    read_ok(DIR "b1_5.npy", &x);
    assert_int_equal(x.dtype, NB_BOOL);
    const unsigned char b1[5] = {1, 0, 1, 1, 0};
    assert_memory_equal(x.data, b1, sizeof b1);
    nb_npy_free(&x);

    read_ok(DIR "f4_0x3.npy", &x);
    assert_int_equal(x.rank, 2);
    assert_int_equal(x.shape[0], 0);
    assert_int_equal(x.nbytes, 0);
    nb_npy_free(&x);

    read_ok(DIR "f4_v2.npy", &x); /* format 2.0: a 4-byte header length */
    const float v2[2] = {1.0f, -0.0f};
    assert_memory_equal(x.data, v2, sizeof v2);
    nb_npy_free(&x);
    read_ok(DIR "f4_v3.npy", &x); /* format 3.0 */
    assert_true(((float *)x.data)[0] == 0.5f);
    nb_npy_free(&x);

    read_fails(DIR "i8_big.npy", "int64 element 1 is 1099511627776");
    read_fails(DIR "fortran.npy", "Fortran order");
    read_fails(DIR "u1.npy", "the element type '|u1' is not one nabla reads");
    read_fails(DIR "missing.npy", "cannot open it");
    read_fails(DIR, "not a regular file");
}

/* A version 1.0 file of the header text h (no padding) and data bytes. */
static unsigned char *file_of(const char *h, const void *data, size_t n, size_t *len)
{
    size_t hl = strlen(h);
    unsigned char *b = malloc(10 + hl + n + 1);
    assert_non_null(b);
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = (unsigned char)(hl & 0xff);
    b[9] = (unsigned char)(hl >> 8);
    memcpy(b + 10, h, hl);
    if (n)
        memcpy(b + 10 + hl, data, n);
    *len = 10 + hl + n;
    return b;
}

static void parse_fails(const char *h, const void *data, size_t n, const char *part)
{
    size_t len;
    unsigned char *b = file_of(h, data, n, &len);
    nb_npy x;
    char err[512] = "";
    assert_int_equal(nb_npy_parse(b, len, &x, err, sizeof err), -1);
    if (!strstr(err, part))
        fail_msg("header %s: expected '%s' in: %s", h, part, err);
    assert_null(x.data);
    free(b);
}

static void malformed(void **state)
{
    (void)state;
    const float two[2] = {1, 2};
    const unsigned char bools[2] = {1, 2};
    const char *ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
    size_t len;
    unsigned char *b = file_of(ok, two, sizeof two, &len);
    nb_npy x;
    char err[512] = "";
    assert_int_equal(nb_npy_parse(b, len, &x, err, sizeof err), 0);
    nb_npy_free(&x);
    /* The same bytes cut anywhere are refused. */
    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(nb_npy_parse(b, cut, &x, err, sizeof err), -1);
    b[0] = 0x92;
    assert_int_equal(nb_npy_parse(b, len, &x, err, sizeof err), -1);
    assert_non_null(strstr(err, "no \\x93NUMPY magic"));
    b[0] = 0x93;
    b[6] = 4;
    assert_int_equal(nb_npy_parse(b, len, &x, err, sizeof err), -1);
    assert_non_null(strstr(err, "format version 4.0 is not 1, 2 or 3"));
    b[6] = 1;
    b[9] = 0x7f; /* a header length past the end */
    assert_int_equal(nb_npy_parse(b, len, &x, err, sizeof err), -1);
    assert_non_null(strstr(err, "past the end of the file"));
    free(b);
    assert_int_equal(nb_npy_parse(NULL, 0, &x, err, sizeof err), -1);
    assert_int_equal(nb_npy_parse(two, sizeof two, NULL, err, sizeof err), -1);
    assert_int_equal(nb_npy_read(NULL, &x, err, sizeof err), -1);

    parse_fails("['descr']", two, sizeof two, "header byte 0: expected '{'");
    parse_fails("{'descr': '<f4', 'shape': (2,)}", two, sizeof two, "'fortran_order' is missing");
    parse_fails("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", two,
                sizeof two, "the key 'descr' is unknown or repeated");
    parse_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", two, sizeof two,
                "the key 'x' is unknown or repeated");
    parse_fails("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,)}", two, sizeof two,
                "fortran_order is not True or False");
    parse_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (2; 1)}", two, sizeof two,
                "expected ',' or ')' in the shape");
    parse_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}", two, sizeof two,
                "expected a dimension or ')'");
    parse_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,2)}", two,
                sizeof two, "more than 8 dimensions");
    parse_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", two,
                sizeof two, "a dimension is too large");
    parse_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}", two,
                sizeof two, "too many elements");
    parse_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (3,)}", two, sizeof two,
                "the data is 8 bytes, but the shape needs 12");
    parse_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", two, sizeof two,
                "the data is 8 bytes, but the shape needs 4");
    parse_fails("{'descr': '<f4' 'fortran_order': False, 'shape': (2,)}", two, sizeof two,
                "header byte 16: expected ',' or '}'");
    parse_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x", two, sizeof two,
                "text after the dict");
    parse_fails("{'descr': '<c8', 'fortran_order': False, 'shape': (1,)}", two, sizeof two,
                "the element type '<c8'");
    parse_fails("{'descr': '|b1', 'fortran_order': False, 'shape': (2,)}", bools, sizeof bools,
                "bool element 1 is 2, not 0 or 1");
    parse_fails("{'descr': 'a\\'b', 'fortran_order': False, 'shape': (2,)}", two, sizeof two,
                "with escapes");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(numpy_files),
        cmocka_unit_test(malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
