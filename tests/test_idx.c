/* test_idx.c — the IDX reader on generated files (plain and gzip, every type, every
 * malformed case), its conversions, the real Fashion-MNIST files when installed, and
 * the minibatch iterator with its gather helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "ir.h"
#include "memlimit.h"
#include "nabla.h"

/* ---- scratch files --------------------------------------------------------------- */

static char tmpdir[64];
static char paths[128][96];
static int n_paths;

static int setup_dir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/nabla_idx_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    for (int i = 0; i < n_paths; i++)
        unlink(paths[i]);
    return rmdir(tmpdir);
}

/* A path in the scratch directory, remembered for removal. */
static const char *scratch(const char *name)
{
    assert_true(n_paths < 128);
    char *p = paths[n_paths++];
    snprintf(p, sizeof paths[0], "%s/%s", tmpdir, name);
    return p;
}

/* Writes bytes to a scratch file, plain or through zlib's gzip writer. */
static const char *write_bytes(const char *name, const void *bytes, size_t len, int gzip)
{
    const char *path = scratch(name);
    if (gzip) {
        gzFile f = gzopen(path, "wb");
        assert_non_null(f);
        if (len)
            assert_int_equal(gzwrite(f, bytes, (unsigned)len), (int)len);
        assert_int_equal(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        if (len)
            assert_int_equal(fwrite(bytes, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
    }
    return path;
}

/* The raw bytes of a file (caller frees). */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char *buf = malloc(1 << 20);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

/* ---- building IDX bytes by hand -------------------------------------------------- */

typedef struct bytes {
    unsigned char b[4096];
    size_t n;
} bytes;

static void put(bytes *o, unsigned v)
{
    assert_true(o->n < sizeof o->b);
    o->b[o->n++] = (unsigned char)v;
}

static void put_be(bytes *o, uint64_t v, int size)
{
    for (int i = size - 1; i >= 0; i--)
        put(o, (unsigned)(v >> (8 * i)) & 0xff);
}

/* Magic (0, 0, type, rank) and the dimensions. */
static void header(bytes *o, int type, int rank, const uint32_t *dims)
{
    put(o, 0);
    put(o, 0);
    put(o, (unsigned)type);
    put(o, (unsigned)rank);
    for (int i = 0; i < rank; i++)
        put_be(o, dims[i], 4);
}

static void read_ok(const char *path, nb_idx *x)
{
    char err[256] = "";
    if (nb_idx_read(path, x, err, sizeof err) != 0)
        fail_msg("nb_idx_read(%s): %s", path, err);
}

/* Reading fails, the struct comes back zeroed, and the message contains want. */
static void read_fails(const char *path, const char *want)
{
    nb_idx x;
    memset(&x, 0x5a, sizeof x);
    char err[256] = "";
    assert_int_equal(nb_idx_read(path, &x, err, sizeof err), -1);
    if (!strstr(err, want))
        fail_msg("%s: error \"%s\" does not mention \"%s\"", path, err, want);
    assert_null(x.data);
    assert_int_equal(x.rank, 0);
    assert_int_equal(x.nbytes, 0);
}

/* ---- round trips ----------------------------------------------------------------- */

/* One type's round trip: shape [2, 3], the values written big-endian by hand, read back
 * plain and gzip, compared bit for bit with the native values. */
static void round_trip(int type, int size, const void *values, const uint64_t *be)
{
    static const uint32_t dims[2] = {2, 3};
    for (int gz = 0; gz < 2; gz++) {
        bytes o = {.n = 0};
        header(&o, type, 2, dims);
        for (int i = 0; i < 6; i++)
            put_be(&o, be[i], size);
        char name[32];
        snprintf(name, sizeof name, "t%02x%s", type, gz ? ".gz" : "");
        const char *path = write_bytes(name, o.b, o.n, gz);
        nb_idx x;
        read_ok(path, &x);
        assert_int_equal(x.type, type);
        assert_int_equal(x.rank, 2);
        assert_int_equal(x.shape[0], 2);
        assert_int_equal(x.shape[1], 3);
        assert_int_equal(x.nbytes, 6 * (size_t)size);
        assert_int_equal(nb_idx_numel(&x), 6);
        assert_int_equal(nb_idx_type_size(type), size);
        assert_memory_equal(x.data, values, 6 * (size_t)size);
        nb_idx_free(&x);
        assert_null(x.data);
    }
}

static uint64_t bits32(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static uint64_t bits64(double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    return u;
}

static void test_round_trip_types(void **state)
{
    (void)state;
    static const unsigned char u8[6] = {0, 1, 127, 128, 254, 255};
    static const uint64_t u8_be[6] = {0, 1, 127, 128, 254, 255};
    round_trip(NB_IDX_U8, 1, u8, u8_be);

    static const signed char i8[6] = {-128, -1, 0, 1, 127, 5};
    static const uint64_t i8_be[6] = {0x80, 0xff, 0, 1, 0x7f, 5};
    round_trip(NB_IDX_I8, 1, i8, i8_be);

    static const int16_t i16[6] = {-32768, -2, 0, 258, 32767, 1000};
    static const uint64_t i16_be[6] = {0x8000, 0xfffe, 0, 0x0102, 0x7fff, 0x03e8};
    round_trip(NB_IDX_I16, 2, i16, i16_be);

    static const int32_t i32[6] = {INT32_MIN, -70000, 0, 1, 0x01020304, INT32_MAX};
    static const uint64_t i32_be[6] = {0x80000000u, 0xfffeee90u, 0, 1, 0x01020304, 0x7fffffff};
    round_trip(NB_IDX_I32, 4, i32, i32_be);

    /* Floats: the IEEE bit patterns, big-endian; 0.5f is 0x3f000000 and -1.25f is
     * 0xbfa00000 by hand, the others through memcpy. */
    static const float f32[6] = {0.5f, -1.25f, 3.4e38f, 1e-30f, -0.0f, 1.0f / 3.0f};
    uint64_t f32_be[6];
    for (int i = 0; i < 6; i++)
        f32_be[i] = bits32(f32[i]);
    assert_int_equal(f32_be[0], 0x3f000000u);
    assert_int_equal(f32_be[1], 0xbfa00000u);
    round_trip(NB_IDX_F32, 4, f32, f32_be);

    static const double f64[6] = {1.0 / 3.0, -2.5e300, 5e-324, 0.0, -1.0, 65536.125};
    uint64_t f64_be[6];
    for (int i = 0; i < 6; i++)
        f64_be[i] = bits64(f64[i]);
    assert_true(f64_be[4] == 0xbff0000000000000ull);
    round_trip(NB_IDX_F64, 8, f64, f64_be);
}

/* Ranks 1 and 8 (the limits), plain and gzip. */
static void test_round_trip_ranks(void **state)
{
    (void)state;
    static const uint32_t dims8[8] = {1, 2, 1, 1, 1, 1, 1, 3};
    for (int gz = 0; gz < 2; gz++) {
        bytes o = {.n = 0};
        uint32_t four = 4;
        header(&o, NB_IDX_I16, 1, &four);
        for (int i = 0; i < 4; i++)
            put_be(&o, (uint64_t)(i * 300), 2);
        const char *path = write_bytes(gz ? "rank1.gz" : "rank1", o.b, o.n, gz);
        nb_idx x;
        read_ok(path, &x);
        assert_int_equal(x.rank, 1);
        assert_int_equal(x.shape[0], 4);
        assert_int_equal(((int16_t *)x.data)[3], 900);
        nb_idx_free(&x);

        o.n = 0;
        header(&o, NB_IDX_U8, 8, dims8);
        for (int i = 0; i < 6; i++)
            put(&o, (unsigned)(10 + i));
        path = write_bytes(gz ? "rank8.gz" : "rank8", o.b, o.n, gz);
        read_ok(path, &x);
        assert_int_equal(x.rank, 8);
        for (int i = 0; i < 8; i++)
            assert_int_equal(x.shape[i], dims8[i]);
        assert_int_equal(nb_idx_numel(&x), 6);
        assert_int_equal(((unsigned char *)x.data)[5], 15);
        nb_idx_free(&x);
    }
}

/* Data bigger than one read chunk (1 MiB) and than the first buffer, through gzip. */
static void test_round_trip_large(void **state)
{
    (void)state;
    const uint32_t dims[2] = {1000, 700}; /* 700,000 i16 = 1.4 MB of data */
    size_t n = 700000, len = 4 + 8 + 2 * n;
    unsigned char *buf = malloc(len);
    assert_non_null(buf);
    memcpy(buf, "\0\0\x0b\x02", 4);
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 4; k++)
            buf[4 + 4 * i + k] = (unsigned char)(dims[i] >> (24 - 8 * k));
    for (size_t i = 0; i < n; i++) {
        int16_t v = (int16_t)((i * 7919) % 65536 - 32768);
        buf[12 + 2 * i] = (unsigned char)((uint16_t)v >> 8);
        buf[12 + 2 * i + 1] = (unsigned char)((uint16_t)v & 0xff);
    }
    for (int gz = 0; gz < 2; gz++) {
        const char *path = write_bytes(gz ? "large.gz" : "large", buf, len, gz);
        nb_idx x;
        read_ok(path, &x);
        assert_int_equal(x.nbytes, 2 * n);
        const int16_t *d = x.data;
        for (size_t i = 0; i < n; i += 997)
            assert_int_equal(d[i], (int16_t)((i * 7919) % 65536 - 32768));
        assert_int_equal(d[n - 1], (int16_t)(((n - 1) * 7919) % 65536 - 32768));
        nb_idx_free(&x);
    }
    free(buf);
}

/* ---- conversions ----------------------------------------------------------------- */

static void test_conversions(void **state)
{
    (void)state;
    char err[256];
    /* Images u8 [2, 2, 3]: v / 255 in [0, 1], flattened to [2, 6]. 51/255 = 0.2 and
     * 102/255 = 0.4 exactly, so they round to the floats 0.2f and 0.4f. */
    static const uint32_t dims[3] = {2, 2, 3};
    bytes o = {.n = 0};
    header(&o, NB_IDX_U8, 3, dims);
    static const unsigned char px[12] = {0, 255, 51, 102, 0, 0, 0, 0, 0, 0, 0, 255};
    for (int i = 0; i < 12; i++)
        put(&o, px[i]);
    nb_idx x;
    read_ok(write_bytes("img", o.b, o.n, 0), &x);
    int64_t n = 0, dim = 0;
    float *f = nb_idx_images_f32(&x, &n, &dim, err, sizeof err);
    assert_non_null(f);
    assert_int_equal(n, 2);
    assert_int_equal(dim, 6);
    assert_true(f[0] == 0.0f && f[1] == 1.0f && f[2] == 0.2f && f[3] == 0.4f);
    assert_true(f[11] == 1.0f);
    free(f);
    /* u8 is not a label type to refuse, but a rank-3 file is not labels. */
    assert_null(nb_idx_labels_i32(&x, &n, err, sizeof err));
    assert_non_null(strstr(err, "rank 1"));
    nb_idx_free(&x);

    /* i16 [4]: general conversion with a divisor, and labels (negative ones kept). */
    o.n = 0;
    uint32_t four = 4;
    header(&o, NB_IDX_I16, 1, &four);
    static const uint64_t v[4] = {0xfffd, 0, 7, 0x0100}; /* -3, 0, 7, 256 */
    for (int i = 0; i < 4; i++)
        put_be(&o, v[i], 2);
    read_ok(write_bytes("i16", o.b, o.n, 1), &x);
    f = nb_idx_to_f32(&x, 2.0f, err, sizeof err);
    assert_non_null(f);
    assert_true(f[0] == -1.5f && f[1] == 0.0f && f[2] == 3.5f && f[3] == 128.0f);
    free(f);
    int32_t *lab = nb_idx_labels_i32(&x, &n, err, sizeof err);
    assert_non_null(lab);
    assert_int_equal(n, 4);
    assert_true(lab[0] == -3 && lab[1] == 0 && lab[2] == 7 && lab[3] == 256);
    free(lab);
    /* Images must be u8. */
    assert_null(nb_idx_images_f32(&x, &n, &dim, err, sizeof err));
    assert_non_null(strstr(err, "u8"));
    nb_idx_free(&x);

    /* Float labels are refused; a zeroed struct is refused everywhere. */
    o.n = 0;
    header(&o, NB_IDX_F32, 1, &four);
    for (int i = 0; i < 4; i++)
        put_be(&o, 0x3f800000u, 4); /* 1.0f */
    read_ok(write_bytes("f32lab", o.b, o.n, 0), &x);
    assert_null(nb_idx_labels_i32(&x, &n, err, sizeof err));
    assert_non_null(strstr(err, "integer"));
    f = nb_idx_to_f32(&x, 1.0f, err, sizeof err);
    assert_true(f && f[3] == 1.0f);
    free(f);
    nb_idx_free(&x);
    assert_null(nb_idx_to_f32(&x, 1.0f, err, sizeof err));
    assert_non_null(strstr(err, "not a loaded"));
    assert_null(nb_idx_images_f32(NULL, NULL, NULL, NULL, 0));
    assert_null(nb_idx_labels_i32(NULL, NULL, err, sizeof err));
    assert_int_equal(nb_idx_numel(NULL), 0);
    nb_idx_free(NULL);
}

/* ---- malformed files ------------------------------------------------------------- */

/* Writes o twice, plain and gzip, and expects both to fail mentioning want. */
static void both_fail(const char *name, const bytes *o, const char *want)
{
    char gzname[64];
    snprintf(gzname, sizeof gzname, "%s.gz", name);
    read_fails(write_bytes(name, o->b, o->n, 0), want);
    read_fails(write_bytes(gzname, o->b, o->n, 1), want);
}

static void test_malformed_header(void **state)
{
    (void)state;
    bytes o = {.n = 0};
    both_fail("empty", &o, "empty file");

    put(&o, 0);
    put(&o, 0);
    put(&o, 8);
    both_fail("short3", &o, "truncated header");

    static const uint32_t dims[3] = {2, 3, 4};
    o.n = 0;
    header(&o, NB_IDX_U8, 3, dims);
    o.n -= 5; /* cut inside the second dimension */
    both_fail("shortdims", &o, "truncated header");

    o.n = 0;
    header(&o, NB_IDX_U8, 1, dims);
    o.b[0] = 1;
    both_fail("magic", &o, "not an IDX file");
    o.b[0] = 0;
    o.b[1] = 8;
    both_fail("magic2", &o, "not an IDX file");

    o.n = 0;
    header(&o, 0x0a, 1, dims);
    both_fail("type0a", &o, "unknown IDX element type 0x0a");
    o.b[2] = 0x0f;
    both_fail("type0f", &o, "unknown IDX element type 0x0f");

    o.n = 0;
    header(&o, NB_IDX_U8, 0, dims);
    both_fail("rank0", &o, "rank 0");

    static const uint32_t nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    o.n = 0;
    header(&o, NB_IDX_U8, 9, nine);
    put(&o, 1);
    both_fail("rank9", &o, "rank 9");

    static const uint32_t zero[2] = {3, 0};
    o.n = 0;
    header(&o, NB_IDX_U8, 2, zero);
    both_fail("zerodim", &o, "dimension 1 is 0");
}

static void test_malformed_sizes(void **state)
{
    (void)state;
    /* The product of the dimensions overflows 64 bits (2^128 doubles). */
    static const uint32_t big[4] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu};
    bytes o = {.n = 0};
    header(&o, NB_IDX_F64, 4, big);
    both_fail("overflow", &o, "more data than can be addressed");

    /* 2^40 doubles (8 TiB) announced by a 100-byte file: must fail on the short read,
     * not on an allocation of the announced size (under ASan such an allocation would
     * abort the test). */
    static const uint32_t huge[3] = {65536, 65536, 256};
    o.n = 0;
    header(&o, NB_IDX_F64, 3, huge);
    while (o.n < 100)
        put(&o, 0x11);
    read_fails(write_bytes("huge", o.b, o.n, 0),
               "truncated data: the header announces 8796093022208 bytes of data, "
               "the file holds 84");
    /* Compressed, 100 bytes are a 34-byte gzip file: refused before any inflating. */
    read_fails(write_bytes("huge.gz", o.b, o.n, 1),
               "the header announces 8796093022208 bytes of data, more than a gzip file of 34 "
               "bytes can hold");

    /* [2, 3] u8: 5 data bytes are too few, 7 too many. */
    static const uint32_t dims[2] = {2, 3};
    o.n = 0;
    header(&o, NB_IDX_U8, 2, dims);
    for (int i = 0; i < 5; i++)
        put(&o, 9);
    both_fail("short", &o, "the file holds 5");
    put(&o, 9);
    put(&o, 9);
    both_fail("trailing", &o, "unexpected bytes after the 6 bytes of data");

    /* i32 [2]: 7 bytes of data cut an element in half. */
    uint32_t two = 2;
    o.n = 0;
    header(&o, NB_IDX_I32, 1, &two);
    for (int i = 0; i < 7; i++)
        put(&o, 1);
    both_fail("halfelem", &o, "the file holds 7");
}

static void test_gzip_damage(void **state)
{
    (void)state;
    /* A valid gzip file of u8 [2000] with varied content. */
    uint32_t dim = 2000;
    bytes o = {.n = 0};
    header(&o, NB_IDX_U8, 1, &dim);
    for (uint32_t i = 0; i < dim; i++)
        put(&o, (i * i + 7 * i) % 251);
    const char *good = write_bytes("good.gz", o.b, o.n, 1);
    nb_idx x;
    read_ok(good, &x);
    assert_int_equal(((unsigned char *)x.data)[1999], (1999u * 1999u + 7u * 1999u) % 251u);
    nb_idx_free(&x);
    size_t len;
    unsigned char *raw = slurp(good, &len);
    assert_true(len > 40 && raw[0] == 0x1f && raw[1] == 0x8b);

    /* The CRC in the trailer (the 8 last bytes: CRC-32, then the length) is wrong. */
    raw[len - 8] ^= 0xff;
    read_fails(write_bytes("badcrc.gz", raw, len, 0), "damaged gzip data (incorrect data check)");
    raw[len - 8] ^= 0xff;
    /* The length in the trailer is wrong. */
    raw[len - 1] ^= 0x01;
    read_fails(write_bytes("badlen.gz", raw, len, 0), "damaged gzip data");
    raw[len - 1] ^= 0x01;

    /* Trailer missing: every data byte decompresses, the stream end is not there. */
    read_fails(write_bytes("notrailer.gz", raw, len - 8, 0),
               "truncated gzip data (unexpected end of file)");
    /* Cut in the middle of the deflate data. */
    read_fails(write_bytes("half.gz", raw, len / 2, 0), "truncated gzip data");
    /* Garbage in the deflate data: whatever zlib makes of it, it is an error. */
    for (size_t at = 12; at < len - 12; at += 7) {
        raw[at] ^= 0x5a;
        nb_idx y;
        char err[256] = "";
        assert_int_equal(nb_idx_read(write_bytes("garbled.gz", raw, len, 0), &y, err, sizeof err),
                         -1);
        assert_null(y.data);
        raw[at] ^= 0x5a;
        n_paths--; /* the same file each time */
    }
    n_paths++;
    free(raw);
}

/* The raw bytes of good.gz-like file: u8 [n] of varied content, gzip-compressed. */
static unsigned char *gz_idx(uint32_t n, size_t *len)
{
    bytes o = {.n = 0};
    header(&o, NB_IDX_U8, 1, &n);
    for (uint32_t i = 0; i < n; i++)
        put(&o, (i * i + 7 * i) % 251);
    return slurp(write_bytes("member.gz", o.b, o.n, 1), len);
}

/* Bytes after the end of the gzip data are refused, whatever they are; another gzip
 * member is not garbage (gzip files concatenate). */
static void test_gzip_trailing(void **state)
{
    (void)state;
    size_t len;
    unsigned char *raw = gz_idx(1000, &len);
    unsigned char *b = malloc(len + 64);
    assert_non_null(b);
    memcpy(b, raw, len);
    char want[96];
    snprintf(want, sizeof want, "unexpected bytes after the end of the gzip data (at byte %zu)",
             len);
    static const char *tails[] = {"garbage", "\n", "\0", "\x1f", "\x1f\x8a", "\0\0\0\0\0\0\0\0"};
    static const size_t tail_len[] = {7, 1, 1, 1, 2, 8};
    for (int i = 0; i < 6; i++) {
        memcpy(b + len, tails[i], tail_len[i]);
        read_fails(write_bytes("tail.gz", b, len + tail_len[i], 0), want);
        n_paths--;
    }
    n_paths++;
    /* Another member that is not valid gzip is damaged gzip data. */
    memcpy(b + len, "\x1f\x8b\x08\0\0\0\0\0\0\x03garbage", 17);
    read_fails(write_bytes("tail2.gz", b, len + 17, 0), "damaged gzip data");

    /* Two members: the header in one, the data in the other, and an empty third. */
    static const uint32_t dims[1] = {3};
    bytes h = {.n = 0};
    header(&h, NB_IDX_U8, 1, dims);
    size_t n1, n2, n3;
    unsigned char *m1 = slurp(write_bytes("m1.gz", h.b, h.n, 1), &n1);
    unsigned char *m2 = slurp(write_bytes("m2.gz", "\x07\x08\x09", 3, 1), &n2);
    unsigned char *m3 = slurp(write_bytes("m3.gz", "", 0, 1), &n3);
    unsigned char cat[512];
    assert_true(n1 + n2 + n3 <= sizeof cat);
    memcpy(cat, m1, n1);
    memcpy(cat + n1, m2, n2);
    memcpy(cat + n1 + n2, m3, n3);
    nb_idx x;
    read_ok(write_bytes("cat.gz", cat, n1 + n2 + n3, 0), &x);
    assert_int_equal(x.nbytes, 3);
    assert_memory_equal(x.data, "\x07\x08\x09", 3);
    nb_idx_free(&x);
    free(m1);
    free(m2);
    free(m3);
    free(b);
    free(raw);
}

/* Reading fails with want while the process has only 24 MB of address space to spare
 * (not under the sanitizers, which reserve terabytes of shadow memory up front). */
static void read_fails_small(const char *path, const char *want)
{
#if defined(TU_UNDER_ASAN)
    read_fails(path, want);
#else
    struct rlimit saved;
    nb_idx x;
    char err[256] = "";
    assert_int_equal(tu_memory_limit(24u << 20, &saved), 0);
    int rc = nb_idx_read(path, &x, err, sizeof err);
    assert_int_equal(tu_memory_restore(&saved), 0);
    assert_int_equal(rc, -1);
    if (!strstr(err, want))
        fail_msg("%s: error \"%s\" does not mention \"%s\"", path, err, want);
    assert_null(x.data);
#endif
}

/* Decompression is bounded by the size the header declares: 64 MiB of zeros (a 64 KB
 * gzip file at level 1) behind a header that declares 6 bytes stop after 7 bytes, and
 * behind one that declares 4 GiB (more than its size of deflate can hold) are refused
 * before anything is inflated or allocated. */
static void test_gzip_bounded(void **state)
{
    (void)state;
    static unsigned char zeros[1 << 20];
    for (int declared = 0; declared < 2; declared++) {
        const char *path = scratch(declared ? "bomb4g.gz" : "bomb6.gz");
        gzFile f = gzopen(path, "wb1");
        assert_non_null(f);
        uint32_t dim = declared ? 0xffffffffu : 6;
        bytes h = {.n = 0};
        header(&h, NB_IDX_U8, 1, &dim);
        assert_int_equal(gzwrite(f, h.b, (unsigned)h.n), (int)h.n);
        for (int i = 0; i < 64; i++)
            assert_int_equal(gzwrite(f, zeros, sizeof zeros), (int)sizeof zeros);
        assert_int_equal(gzclose(f), Z_OK);
        read_fails_small(path, declared ? "more than a gzip file of"
                                        : "unexpected bytes after the 6 bytes of data");
    }
    /* Plain: a size the file cannot hold is refused before anything is allocated. */
    static const uint32_t huge[2] = {0x7fffffffu, 0x7fffffffu};
    bytes o = {.n = 0};
    header(&o, NB_IDX_U8, 2, huge);
    put(&o, 1);
    read_fails_small(write_bytes("hugeplain", o.b, o.n, 0), "the file holds 1");
}

/* Every allocation of a read fails in turn (zlib's own through ir_malloc too): each is
 * reported as out of memory, and nothing leaks. */
static void test_read_out_of_memory(void **state)
{
    (void)state;
    size_t len;
    unsigned char *raw = gz_idx(3000, &len);
    const char *path = write_bytes("oom.gz", raw, len, 0);
    free(raw);
    int ok = 0;
    for (long k = 1; k < 100 && !ok; k++) {
        nb_idx x;
        char err[256] = "";
        ir_alloc_fail_from(k);
        int rc = nb_idx_read(path, &x, err, sizeof err);
        ir_alloc_fail_from(0);
        if (rc == 0) {
            ok = 1;
            assert_int_equal(x.nbytes, 3000);
            nb_idx_free(&x);
            break;
        }
        if (!strstr(err, "out of memory"))
            fail_msg("allocation %ld: %s", k, err);
        assert_null(x.data);
    }
    assert_true(ok);
}

static void test_bad_paths(void **state)
{
    (void)state;
    read_fails(scratch("does-not-exist"), "No such file or directory");
    read_fails(tmpdir, tmpdir); /* a directory: a read error naming it */
    nb_idx x;
    char err[64];
    assert_int_equal(nb_idx_read(NULL, &x, err, sizeof err), -1);
    assert_int_equal(nb_idx_read(tmpdir, NULL, err, sizeof err), -1);
    assert_int_equal(nb_idx_read(NULL, NULL, NULL, 0), -1); /* no message buffer: fine */
    /* A message longer than the buffer is cut, not overflowed. */
    char small[8];
    memset(small, 'x', sizeof small);
    assert_int_equal(nb_idx_read("/nonexistent/very/long/path", &x, small, 5), -1);
    assert_int_equal(strlen(small), 4);
    assert_int_equal(small[5], 'x');
}

/* ---- the real Fashion-MNIST files ------------------------------------------------ */

#define FMNIST "/usr/share/datasets/fashion-mnist/"

/* Reference values from Python's gzip module reading the same files: train label 0 is 9
 * (ankle boot), test label 0 is 9, the pixel sums of image 0 are 76247 (train) and 33456
 * (test), every label is in 0..9 and each class has 6000 (train) / 1000 (test) images. */
static void check_split(const char *images, const char *labels, int64_t n, int64_t pixel_sum0)
{
    struct stat st;
    if (stat(images, &st) != 0 || stat(labels, &st) != 0) {
        print_message("skipped: %s not installed (Debian package dataset-fashion-mnist)\n", images);
        skip();
    }
    nb_idx img, lab;
    read_ok(images, &img);
    read_ok(labels, &lab);
    assert_int_equal(img.type, NB_IDX_U8);
    assert_int_equal(img.rank, 3);
    assert_int_equal(img.shape[0], n);
    assert_int_equal(img.shape[1], 28);
    assert_int_equal(img.shape[2], 28);
    assert_int_equal(lab.type, NB_IDX_U8);
    assert_int_equal(lab.rank, 1);
    assert_int_equal(lab.shape[0], n);

    int64_t sum = 0;
    for (int i = 0; i < 784; i++)
        sum += ((unsigned char *)img.data)[i];
    assert_int_equal(sum, pixel_sum0);

    char err[256];
    int64_t rows = 0, dim = 0, count = 0;
    float *x = nb_idx_images_f32(&img, &rows, &dim, err, sizeof err);
    assert_non_null(x);
    assert_int_equal(rows, n);
    assert_int_equal(dim, 784);
    double fsum = 0;
    float lo = 1, hi = 0;
    for (int i = 0; i < 784; i++) {
        fsum += x[i];
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    assert_float_equal(fsum, pixel_sum0 / 255.0, 1e-3);
    assert_true(lo == 0.0f && hi == 1.0f); /* both images 0 hold a 0 and a 255 */

    int32_t *y = nb_idx_labels_i32(&lab, &count, err, sizeof err);
    assert_non_null(y);
    assert_int_equal(count, n);
    assert_int_equal(y[0], 9);
    int64_t per_class[10] = {0};
    for (int64_t i = 0; i < n; i++) {
        assert_true(y[i] >= 0 && y[i] <= 9);
        per_class[y[i]]++;
    }
    for (int c = 0; c < 10; c++)
        assert_int_equal(per_class[c], n / 10);
    free(x);
    free(y);
    nb_idx_free(&img);
    nb_idx_free(&lab);
}

static void test_fashion_mnist(void **state)
{
    (void)state;
    check_split(FMNIST "train-images-idx3-ubyte.gz", FMNIST "train-labels-idx1-ubyte.gz", 60000,
                76247);
    check_split(FMNIST "t10k-images-idx3-ubyte.gz", FMNIST "t10k-labels-idx1-ubyte.gz", 10000,
                33456);
}

/* ---- batcher --------------------------------------------------------------------- */

/* One epoch's batches concatenated into order (which has room for n); returns how many
 * indices came and checks the batch sizes against sizes[] (ended by 0). */
static int64_t epoch(nb_batcher *b, int64_t *order, const int64_t *sizes)
{
    const int64_t *idx;
    int64_t count, total = 0;
    int k = 0;
    while (nb_batcher_next(b, &idx, &count) == 1) {
        assert_int_equal(count, sizes[k]);
        k++;
        memcpy(order + total, idx, (size_t)count * sizeof *idx);
        total += count;
    }
    assert_int_equal(sizes[k], 0);
    assert_int_equal(count, 0);
    return total;
}

/* Each index of 0..n-1 appears once in order[0..n). */
static void assert_permutation(const int64_t *order, int64_t n)
{
    char seen[1000] = {0};
    for (int64_t i = 0; i < n; i++) {
        assert_true(order[i] >= 0 && order[i] < n);
        assert_false(seen[order[i]]);
        seen[order[i]] = 1;
    }
}

static void test_batcher_shuffle(void **state)
{
    (void)state;
    /* n = 10, batch 3: batches of 3, 3, 3 and the partial 1. The orders for seed 42 come
     * from a Python transcription of the documented algorithm (xoshiro256** seeded by
     * splitmix64, rejection sampling, Fisher-Yates from the identity each epoch): they
     * are the same on every machine. */
    static const int64_t e1[10] = {7, 3, 8, 9, 5, 6, 4, 1, 0, 2};
    static const int64_t e2[10] = {8, 7, 0, 6, 3, 4, 2, 9, 1, 5};
    static const int64_t sizes[] = {3, 3, 3, 1, 0};
    nb_batcher *b = nb_batcher_new(10, 3, 42, NB_BATCH_SHUFFLE);
    assert_non_null(b);
    assert_int_equal(nb_batcher_batches(b), 4);
    assert_int_equal(nb_batcher_epoch(b), 0);
    int64_t order[10];
    assert_int_equal(epoch(b, order, sizes), 10);
    assert_int_equal(nb_batcher_epoch(b), 1);
    assert_memory_equal(order, e1, sizeof e1);
    assert_int_equal(epoch(b, order, sizes), 10);
    assert_memory_equal(order, e2, sizeof e2);
    assert_int_equal(nb_batcher_epoch(b), 2);
    nb_batcher_free(b);

    /* n = 1000 over 5 epochs: each a permutation, each different from the one before
     * (equal by chance with probability 1/1000!), and the same seed replays them all. */
    int64_t sizes1000[12];
    for (int i = 0; i < 10; i++)
        sizes1000[i] = 96;
    sizes1000[10] = 40;
    sizes1000[11] = 0;
    static int64_t a[5][1000], c[5][1000];
    nb_batcher *b1 = nb_batcher_new(1000, 96, 7, NB_BATCH_SHUFFLE);
    nb_batcher *b2 = nb_batcher_new(1000, 96, 7, NB_BATCH_SHUFFLE);
    nb_batcher *b3 = nb_batcher_new(1000, 96, 8, NB_BATCH_SHUFFLE);
    for (int e = 0; e < 5; e++) {
        assert_int_equal(epoch(b1, a[e], sizes1000), 1000);
        assert_permutation(a[e], 1000);
        if (e > 0)
            assert_memory_not_equal(a[e], a[e - 1], sizeof a[e]);
    }
    for (int e = 0; e < 5; e++) {
        epoch(b2, c[e], sizes1000);
        assert_memory_equal(c[e], a[e], sizeof a[e]);
    }
    epoch(b3, c[0], sizes1000);
    assert_memory_not_equal(c[0], a[0], sizeof a[0]);
    nb_batcher_free(b1);
    nb_batcher_free(b2);
    nb_batcher_free(b3);
}

static void test_batcher_partial(void **state)
{
    (void)state;
    int64_t order[10];
    /* Without shuffling the order is 0..n-1; the partial batch is kept by default. */
    nb_batcher *b = nb_batcher_new(10, 4, 1, 0);
    static const int64_t keep[] = {4, 4, 2, 0};
    assert_int_equal(nb_batcher_batches(b), 3);
    for (int e = 0; e < 2; e++) {
        assert_int_equal(epoch(b, order, keep), 10);
        for (int i = 0; i < 10; i++)
            assert_int_equal(order[i], i);
    }
    nb_batcher_free(b);

    /* Dropped with NB_BATCH_DROP_LAST: 8 of the 10 indices per epoch, all distinct; which
     * two are left out changes with the shuffle. */
    b = nb_batcher_new(10, 4, 3, NB_BATCH_SHUFFLE | NB_BATCH_DROP_LAST);
    static const int64_t drop[] = {4, 4, 0};
    assert_int_equal(nb_batcher_batches(b), 2);
    for (int e = 0; e < 3; e++) {
        assert_int_equal(epoch(b, order, drop), 8);
        char seen[10] = {0};
        for (int i = 0; i < 8; i++) {
            assert_true(order[i] >= 0 && order[i] < 10);
            assert_false(seen[order[i]]);
            seen[order[i]] = 1;
        }
    }
    nb_batcher_free(b);

    /* n a multiple of batch: no partial batch either way. */
    static const int64_t exact[] = {4, 4, 0};
    b = nb_batcher_new(8, 4, 3, NB_BATCH_SHUFFLE);
    assert_int_equal(epoch(b, order, exact), 8);
    assert_permutation(order, 8);
    nb_batcher_free(b);
    b = nb_batcher_new(8, 4, 3, NB_BATCH_DROP_LAST);
    assert_int_equal(epoch(b, order, exact), 8);
    nb_batcher_free(b);

    /* batch > n: one short batch (kept), or no batcher (dropped: an empty epoch). */
    static const int64_t one[] = {3, 0};
    b = nb_batcher_new(3, 5, 0, NB_BATCH_SHUFFLE);
    assert_int_equal(nb_batcher_batches(b), 1);
    assert_int_equal(epoch(b, order, one), 3);
    assert_permutation(order, 3);
    nb_batcher_free(b);
    assert_null(nb_batcher_new(3, 5, 0, NB_BATCH_DROP_LAST));

    /* n = 1 and batch 1. */
    static const int64_t single[] = {1, 0};
    b = nb_batcher_new(1, 1, 0, NB_BATCH_SHUFFLE);
    assert_int_equal(epoch(b, order, single), 1);
    assert_int_equal(order[0], 0);
    nb_batcher_free(b);
}

static void test_batcher_errors(void **state)
{
    (void)state;
    assert_null(nb_batcher_new(0, 4, 0, 0));
    assert_null(nb_batcher_new(-5, 4, 0, 0));
    assert_null(nb_batcher_new(10, 0, 0, 0));
    assert_null(nb_batcher_new(10, -1, 0, 0));
    assert_null(nb_batcher_new(10, 4, 0, 4)); /* unknown flag */
    assert_null(nb_batcher_new(INT64_MAX, 4, 0, 0));
    const int64_t *idx;
    int64_t count = 99;
    assert_int_equal(nb_batcher_next(NULL, &idx, &count), -1);
    assert_int_equal(count, 0);
    nb_batcher *b = nb_batcher_new(4, 2, 0, 0);
    assert_int_equal(nb_batcher_next(b, NULL, &count), -1);
    assert_int_equal(nb_batcher_next(b, &idx, NULL), -1);
    nb_batcher_free(b);
    nb_batcher_free(NULL);
    assert_int_equal(nb_batcher_epoch(NULL), 0);
    assert_int_equal(nb_batcher_batches(NULL), 0);
}

static void test_gather(void **state)
{
    (void)state;
    /* 5 rows of 3 floats: row r holds 10r, 10r + 1, 10r + 2. */
    float src[15];
    for (int i = 0; i < 15; i++)
        src[i] = (float)(10 * (i / 3) + i % 3);
    const int64_t idx[3] = {4, 0, 2};
    float dst[9];
    assert_int_equal(nb_gather_rows_f32(dst, src, 5, 3, idx, 3), 0);
    static const float want[9] = {40, 41, 42, 0, 1, 2, 20, 21, 22};
    assert_memory_equal(dst, want, sizeof want);

    const int32_t labels[5] = {7, 1, 9, 3, 0};
    int32_t lab[3];
    assert_int_equal(nb_gather_i32(lab, labels, 5, idx, 3), 0);
    assert_true(lab[0] == 0 && lab[1] == 7 && lab[2] == 9);

    /* An index out of range fails and writes nothing. */
    const int64_t bad[2] = {1, 5}, neg[1] = {-1};
    float keep[6] = {-1, -1, -1, -1, -1, -1};
    assert_int_equal(nb_gather_rows_f32(keep, src, 5, 3, bad, 2), -1);
    for (int i = 0; i < 6; i++)
        assert_true(keep[i] == -1.0f);
    assert_int_equal(nb_gather_rows_f32(keep, src, 5, 3, neg, 1), -1);
    int32_t lkeep[2] = {-7, -7};
    assert_int_equal(nb_gather_i32(lkeep, labels, 5, bad, 2), -1);
    assert_true(lkeep[0] == -7 && lkeep[1] == -7);
    assert_int_equal(nb_gather_i32(lkeep, labels, 5, neg, 1), -1);
    assert_int_equal(nb_gather_rows_f32(NULL, src, 5, 3, idx, 3), -1);
    assert_int_equal(nb_gather_rows_f32(dst, src, 5, 0, idx, 3), -1);
    assert_int_equal(nb_gather_i32(lab, labels, 5, idx, -1), -1);
    assert_int_equal(nb_gather_i32(NULL, NULL, 0, NULL, 0), 0); /* nothing to do */

    /* Batcher and gather together: a batch's rows are the rows of its indices. */
    nb_batcher *b = nb_batcher_new(5, 2, 11, NB_BATCH_SHUFFLE);
    const int64_t *bi;
    int64_t count;
    while (nb_batcher_next(b, &bi, &count) == 1) {
        float rows[6];
        int32_t l[2];
        assert_int_equal(nb_gather_rows_f32(rows, src, 5, 3, bi, count), 0);
        assert_int_equal(nb_gather_i32(l, labels, 5, bi, count), 0);
        for (int64_t i = 0; i < count; i++) {
            assert_true(rows[3 * i + 2] == (float)(10 * bi[i] + 2));
            assert_int_equal(l[i], labels[bi[i]]);
        }
    }
    nb_batcher_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_types), cmocka_unit_test(test_round_trip_ranks),
        cmocka_unit_test(test_round_trip_large), cmocka_unit_test(test_conversions),
        cmocka_unit_test(test_malformed_header), cmocka_unit_test(test_malformed_sizes),
        cmocka_unit_test(test_gzip_damage),      cmocka_unit_test(test_bad_paths),
        cmocka_unit_test(test_fashion_mnist),    cmocka_unit_test(test_batcher_shuffle),
        cmocka_unit_test(test_batcher_partial),  cmocka_unit_test(test_batcher_errors),
        cmocka_unit_test(test_gather),           cmocka_unit_test(test_gzip_trailing),
        cmocka_unit_test(test_gzip_bounded),     cmocka_unit_test(test_read_out_of_memory),
    };
    return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
