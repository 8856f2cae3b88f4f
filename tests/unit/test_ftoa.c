/* Unit tests for falkor/ftoa: shortest round-trip double and float32 text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "falkor/ftoa.h"
#include "util/err.h"

static char *format(double d, char *out)
{
    int n = fdb_ftoa_double(d, out);
    assert_true(n > 0 && n <= FDB_FTOA_MAX);
    assert_int_equal(strlen(out), (size_t)n);
    return out;
}

static void test_doubles_some_texts(void **state)
{
    static const struct {
        double v;
        const char *text;
    } cases[] = {
        {0.0, "0.0"},       {-0.0, "-0.0"},
        {1.0, "1.0"},       {0.1, "0.1"},
        {1e16, "1e+16"},    {1e15, "1000000000000000.0"},
        {1e-4, "0.0001"},   {1e-5, "1e-05"},
        {5e-324, "5e-324"}, {DBL_MAX, "1.7976931348623157e+308"},
        {-2.5, "-2.5"},     {0.30000000000000004, "0.30000000000000004"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[FDB_FTOA_MAX + 1];
        format(cases[i].v, out);
        if (strcmp(out, cases[i].text) != 0)
            fail_msg("case %zu: got %s, want %s", i, out, cases[i].text);
    }
}

static void test_no_literal(void **state)
{
    char out[FDB_FTOA_MAX + 1];
    assert_int_equal(fdb_ftoa_double(NAN, out), FS_EUNSUPPORTED);
    assert_int_equal(fdb_ftoa_double(-NAN, out), FS_EUNSUPPORTED);
    assert_int_equal(fdb_ftoa_double(INFINITY, out), FS_EUNSUPPORTED);
    assert_int_equal(fdb_ftoa_double(-INFINITY, out), FS_EUNSUPPORTED);
    assert_int_equal(fdb_ftoa_float32(NAN, out), FS_EUNSUPPORTED);
    assert_int_equal(fdb_ftoa_float32(INFINITY, out), FS_EUNSUPPORTED);
    assert_int_equal(fdb_ftoa_float32(-INFINITY, out), FS_EUNSUPPORTED);
}

static void test_u64_digits(void **state)
{
    static const struct {
        uint64_t v;
        const char *text;
    } cases[] = {{0, "0"},
                 {7, "7"},
                 {10, "10"},
                 {99, "99"},
                 {100, "100"},
                 {1234567890123ull, "1234567890123"},
                 {UINT64_MAX, "18446744073709551615"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char tmp[24];
        memset(tmp, '#', sizeof tmp);
        int n = fdb_ftoa_u64_backwards(cases[i].v, tmp + 22);
        assert_int_equal(n, (int)strlen(cases[i].text));
        assert_memory_equal(tmp + 22 - n, cases[i].text, (size_t)n);
        assert_int_equal(tmp[22 - n - 1], '#'); /* nothing written before */
        assert_int_equal(tmp[22], '#');         /* nor at end */
    }
}

/* Significant digits of a formatted double ("-1.250e-05" -> "125"). */
static size_t significant(const char *text, char *dig)
{
    size_t n = 0;
    for (const char *p = text; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9' && (n || *p != '0'))
            dig[n++] = *p;
    while (n > 1 && dig[n - 1] == '0')
        n--;
    dig[n] = '\0';
    return n;
}

/* The text reads back to the same bits, no shorter text does, and the
 * digits are the correctly rounded ones of that length when those read back
 * (so the nearest). */
static void check_shortest(double d)
{
    char out[FDB_FTOA_MAX + 1];
    format(d, out);
    assert_true(strchr(out, '.') || strchr(out, 'e'));
    double back = strtod(out, NULL);
    if (memcmp(&back, &d, sizeof d) != 0)
        fail_msg("%a formats as %s, which reads back as %a", d, out, back);
    char dig[32], ref[64], refdig[32];
    size_t n = significant(out, dig);
    snprintf(ref, sizeof ref, "%.*e", (int)n - 1, d);
    significant(ref, refdig);
    /* (Below a power of two the interval is lopsided: there the correctly
     * rounded digits may not read back, and the next ones up are taken.) */
    if (strtod(ref, NULL) == d && strcmp(dig, refdig) != 0)
        fail_msg("%a: %s has digits %s, correctly rounded is %s", d, out, dig, ref);
    if (n > 1) {
        snprintf(ref, sizeof ref, "%.*e", (int)n - 2, d);
        if (strtod(ref, NULL) == d)
            fail_msg("%a: %s is not shortest, %s reads back too", d, out, ref);
    }
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static double from_bits(uint64_t bits)
{
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static void test_doubles_every_exponent(void **state)
{
    /* Every binary exponent touches every Ryu table entry. */
    for (uint64_t e = 0; e < 0x7FF; e++) {
        static const uint64_t mants[] = {
            0, 1, 2, 0xFFFFFFFFFFFFFull, 0x8000000000000ull, 0x123456789ABCDull};
        for (size_t k = 0; k < sizeof mants / sizeof mants[0]; k++) {
            uint64_t bits = e << 52 | mants[k];
            if (bits == 0)
                continue;
            check_shortest(from_bits(bits));
            check_shortest(-from_bits(bits));
            check_shortest(from_bits(e << 52 | (rng() >> 12)));
        }
    }
    for (int p = -325; p <= 308; p++) { /* powers of ten and neighbours */
        char t[32];
        snprintf(t, sizeof t, "1e%d", p);
        double d = strtod(t, NULL);
        if (d == 0)
            continue;
        check_shortest(d);
        check_shortest(nextafter(d, 0));
        check_shortest(nextafter(d, INFINITY));
    }
    for (int64_t i = 1; i < 100000; i += 7)
        check_shortest((double)i);
}

static void test_doubles_random(void **state)
{
    for (int i = 0; i < 400000; i++) {
        uint64_t bits = rng();
        double d = from_bits(bits);
        if (isfinite(d) && d != 0)
            check_shortest(d);
        float f; /* embeddings: float32 values widened to double */
        uint32_t b32 = (uint32_t)bits;
        memcpy(&f, &b32, sizeof f);
        if (isfinite(f) && f != 0)
            check_shortest((double)f);
        check_shortest((double)(int64_t)(bits >> (bits & 63)) / 1000.0 + 0.5);
    }
}

/* ---- Float32 (embeddings: FalkorDB reads text -> double -> float) ------- */

static float f32_from_bits(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* What FalkorDB stores for the text: strtod, then vecf32's cast to float. */
static uint32_t f32_read_back(const char *text)
{
    float f = (float)strtod(text, NULL);
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    return bits;
}

/* The text reads back through a double to the same float bits, looks like a
 * double, has no more digits than the double text of the same value, has no
 * shorter text that reads back, and has the correctly rounded digits. */
static void check_shortest_f32(uint32_t bits)
{
    float f = f32_from_bits(bits);
    char out[FDB_FTOA_MAX + 1], dbl[FDB_FTOA_MAX + 1];
    int n = fdb_ftoa_float32(f, out);
    assert_true(n > 0 && n <= FDB_FTOA_MAX);
    if ((bits & 0x7FFFFFFF) == 0) {
        assert_string_equal(out, bits ? "-0.0" : "0.0");
        return;
    }
    assert_true(strchr(out, '.') || strchr(out, 'e'));
    /* verify decodes the text with a strict decoder: it must be the canonical
     * double text of the double it reads as */
    char canon[FDB_FTOA_MAX + 1];
    if (fdb_ftoa_double(strtod(out, NULL), canon) != n || strcmp(canon, out) != 0)
        fail_msg("%08x: %s is not canonical double text (%s)", bits, out, canon);
    if (f32_read_back(out) != bits)
        fail_msg("%08x (%a) formats as %s, which reads back as %08x", bits, (double)f, out,
                 f32_read_back(out));
    char dig[32], ref[64], refdig[32];
    size_t nd = significant(out, dig);
    assert_true(nd <= 9);
    assert_true(fdb_ftoa_double((double)f, dbl) > 0);
    if (significant(dbl, refdig) < nd)
        fail_msg("%08x: %s has more digits than the double text %s", bits, out, dbl);
    snprintf(ref, sizeof ref, "%.*e", (int)nd - 1, (double)f);
    significant(ref, refdig);
    if (f32_read_back(ref) == bits && strcmp(dig, refdig) != 0)
        fail_msg("%08x: %s has digits %s, correctly rounded is %s", bits, out, dig, ref);
    if (nd > 1) {
        snprintf(ref, sizeof ref, "%.*e", (int)nd - 2, (double)f);
        if (f32_read_back(ref) == bits)
            fail_msg("%08x: %s is not shortest, %s reads back too", bits, out, ref);
    }
}

static void test_float32_every_exponent(void **state)
{
    static const uint32_t mants[] = {0,        1,        2,        3,        0x7FFFFF,
                                     0x7FFFFE, 0x400000, 0x400001, 0x2AAAAA, 0x555555};
    for (uint32_t e = 0; e < 0xFF; e++)
        for (size_t k = 0; k < sizeof mants / sizeof mants[0]; k++) {
            uint32_t bits = e << 23 | mants[k];
            if (bits == 0)
                continue;
            check_shortest_f32(bits);
            check_shortest_f32(bits | 0x80000000u);
            check_shortest_f32(e << 23 | (uint32_t)(rng() >> 41));
        }
    for (uint32_t bits = 1; bits < 5000; bits++) /* subnormals */
        check_shortest_f32(bits);
    for (int p = -45; p <= 38; p++) { /* powers of ten and neighbours */
        char t[16];
        snprintf(t, sizeof t, "1e%d", p);
        float f = strtof(t, NULL);
        uint32_t bits;
        memcpy(&bits, &f, sizeof bits);
        if (bits == 0)
            continue;
        check_shortest_f32(bits);
        check_shortest_f32(bits - 1);
        check_shortest_f32(bits + 1);
    }
}

static void test_float32_random(void **state)
{
    for (int i = 0; i < 1000000; i++) {
        uint32_t bits = (uint32_t)(rng() >> 32);
        if (((bits >> 23) & 0xFF) != 0xFF && (bits & 0x7FFFFFFF))
            check_shortest_f32(bits);
    }
    /* Embedding-like values: small magnitudes, every mantissa pattern. */
    for (int i = 0; i < 200000; i++) {
        float f = (float)((double)(rng() >> 11) / 9007199254740992.0 * 2.0 - 1.0) * 0.1f;
        uint32_t bits;
        memcpy(&bits, &f, sizeof bits);
        if (bits & 0x7FFFFFFF)
            check_shortest_f32(bits);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_doubles_some_texts), cmocka_unit_test(test_no_literal),
        cmocka_unit_test(test_u64_digits),         cmocka_unit_test(test_doubles_every_exponent),
        cmocka_unit_test(test_doubles_random),     cmocka_unit_test(test_float32_every_exponent),
        cmocka_unit_test(test_float32_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
