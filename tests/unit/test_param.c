/* Unit tests for falkor/param: exact output bytes, strict decoding, round trips. */
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

#include "falkor/param.h"

/* ---- Value builders (heap, so fs_value_deinit frees them) ------------- */

static struct fs_value v_null(void)
{
    struct fs_value v = {.kind = FS_VALUE_NULL};
    return v;
}

static struct fs_value v_bool(bool b)
{
    struct fs_value v = {.kind = FS_VALUE_BOOL, .u.b = b};
    return v;
}

static struct fs_value v_int(int64_t i)
{
    struct fs_value v = {.kind = FS_VALUE_INT, .u.i = i};
    return v;
}

static struct fs_value v_dbl(double f)
{
    struct fs_value v = {.kind = FS_VALUE_FLOAT, .u.f = f};
    return v;
}

static struct fs_value v_strn(const char *s, size_t n)
{
    struct fs_value v = {.kind = FS_VALUE_STRING};
    v.u.str.data = malloc(n + 1);
    assert_non_null(v.u.str.data);
    if (n)
        memcpy(v.u.str.data, s, n);
    v.u.str.data[n] = '\0';
    v.u.str.len = (uint32_t)n;
    return v;
}

static struct fs_value v_str(const char *s)
{
    return v_strn(s, strlen(s));
}

static struct fs_value v_bytes(const char *s, size_t n)
{
    struct fs_value v = v_strn(s, n);
    v.kind = FS_VALUE_BYTES;
    return v;
}

/* A list of n items taken from items (moved). */
static struct fs_value v_list(size_t n, const struct fs_value *items)
{
    struct fs_value v = {.kind = FS_VALUE_LIST};
    v.u.list.items = calloc(n ? n : 1, sizeof *items);
    assert_non_null(v.u.list.items);
    if (n)
        memcpy(v.u.list.items, items, n * sizeof *items);
    v.u.list.len = (uint32_t)n;
    return v;
}

/* A map of n entries: keys[i] -> vals[i] (values moved). */
static struct fs_value v_map(size_t n, const char *const *keys, const struct fs_value *vals)
{
    struct fs_value v = {.kind = FS_VALUE_MAP};
    v.u.map.items = calloc(n ? n : 1, sizeof *v.u.map.items);
    assert_non_null(v.u.map.items);
    for (size_t i = 0; i < n; i++) {
        v.u.map.items[i].key = v_str(keys[i]);
        v.u.map.items[i].value = vals[i];
    }
    v.u.map.len = (uint32_t)n;
    return v;
}

/* ---- Helpers ------------------------------------------------------------ */

/* Encodes v, checks the exact text, decodes it back and compares; frees v. */
static void check_encode(struct fs_value v, const char *want, size_t want_len)
{
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(fdb_param_encode(&b, &v), 0);
    if (b.len != want_len || memcmp(b.data, want, want_len) != 0)
        fail_msg("encoded \"%s\", want \"%s\"", b.data, want);
    struct fs_value back;
    int rc = fdb_param_decode(b.data, b.len, &back);
    if (rc)
        fail_msg("decode of \"%s\": %s", b.data, fs_errname(rc));
    assert_true(fs_value_equal(&v, &back));
    fs_value_deinit(&back);
    fs_value_deinit(&v);
    buf_deinit(&b);
}

#define CHECK(v, lit) check_encode((v), (lit), sizeof(lit) - 1)

/* Encoding v fails with want and leaves the buffer as it was; frees v. */
static void check_refused(struct fs_value v, int want)
{
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(buf_append_str(&b, "CYPHER x="), 0);
    assert_int_equal(fdb_param_encode(&b, &v), want);
    assert_int_equal(b.len, 9);
    assert_string_equal(b.data, "CYPHER x=");
    fs_value_deinit(&v);
    buf_deinit(&b);
}

static void check_decode_fails(const char *text, size_t len, int want)
{
    struct fs_value v;
    int rc = fdb_param_decode(text, len, &v);
    if (rc != want)
        fail_msg("decode \"%.*s\": got %s, want %s", (int)len, text, fs_errname(rc),
                 fs_errname(want));
    assert_int_equal(v.kind, FS_VALUE_NULL);
}

#define BAD(lit, want) check_decode_fails((lit), sizeof(lit) - 1, (want))

static char *format(double d, char *out)
{
    int n = fdb_ftoa_double(d, out);
    assert_true(n > 0 && n <= FDB_FTOA_MAX);
    assert_int_equal(strlen(out), (size_t)n);
    return out;
}

/* ---- Scalars ------------------------------------------------------------ */

static void test_scalars(void **state)
{
    CHECK(v_null(), "null");
    CHECK(v_bool(true), "true");
    CHECK(v_bool(false), "false");
    CHECK(v_int(0), "0");
    CHECK(v_int(-1), "-1");
    CHECK(v_int(42), "42");
    CHECK(v_int(1000000007), "1000000007");
    CHECK(v_int(INT64_MAX), "9223372036854775807");
    CHECK(v_int(INT64_MIN), "-9223372036854775808");
    CHECK(v_int(INT64_MIN + 1), "-9223372036854775807");
}

static void test_doubles_exact_text(void **state)
{
    static const struct {
        double v;
        const char *text;
    } cases[] = {
        {0.0, "0.0"},
        {-0.0, "-0.0"},
        {1.0, "1.0"},
        {-1.5, "-1.5"},
        {0.1, "0.1"},
        {0.30000000000000004, "0.30000000000000004"},
        {1.0 / 3.0, "0.3333333333333333"},
        {2.0 / 3.0, "0.6666666666666666"},
        {123.456, "123.456"},
        {100.0, "100.0"},
        {1e15, "1000000000000000.0"},
        {1e16, "1e+16"},
        {1.5e16, "1.5e+16"},
        {9007199254740992.0, "9007199254740992.0"},
        {1e22, "1e+22"},
        {1e23, "1e+23"},
        {1e-4, "0.0001"},
        {1.25e-4, "0.000125"},
        {1e-5, "1e-05"},
        {1e-7, "1e-07"},
        {1e308, "1e+308"},
        {DBL_MAX, "1.7976931348623157e+308"},
        {-DBL_MAX, "-1.7976931348623157e+308"},
        {DBL_MIN, "2.2250738585072014e-308"},
        {5e-324, "5e-324"},
        {1.5e-323, "1.5e-323"},
        {2.225073858507201e-308, "2.225073858507201e-308"}, /* largest subnormal */
        {0.1f, "0.10000000149011612"},                      /* a float32 widened */
        {16777216.0f, "16777216.0"},
        {1e100, "1e+100"},
        {1.2345678901234567e-100, "1.2345678901234567e-100"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[FDB_FTOA_MAX + 1];
        format(cases[i].v, out);
        if (strcmp(out, cases[i].text) != 0)
            fail_msg("case %zu: got %s, want %s", i, out, cases[i].text);
        check_encode(v_dbl(cases[i].v), cases[i].text, strlen(cases[i].text));
    }
}

static void test_doubles_without_literal(void **state)
{
    char out[FDB_FTOA_MAX + 1];
    assert_int_equal(fdb_ftoa_double(NAN, out), FS_EUNSUPPORTED);
    assert_int_equal(fdb_ftoa_double(-NAN, out), FS_EUNSUPPORTED);
    assert_int_equal(fdb_ftoa_double(INFINITY, out), FS_EUNSUPPORTED);
    assert_int_equal(fdb_ftoa_double(-INFINITY, out), FS_EUNSUPPORTED);
    check_refused(v_dbl(NAN), FS_EUNSUPPORTED);
    check_refused(v_dbl(INFINITY), FS_EUNSUPPORTED);
    check_refused(v_dbl(-INFINITY), FS_EUNSUPPORTED);
    struct fs_value in_list[] = {v_int(1), v_dbl(NAN)};
    check_refused(v_list(2, in_list), FS_EUNSUPPORTED);
}

/* ---- Float32 (embeddings: FalkorDB reads text -> double -> float) ------- */

/* What FalkorDB stores for the text: strtod, then vecf32's cast to float. */
static uint32_t f32_read_back(const char *text)
{
    float f = (float)strtod(text, NULL);
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    return bits;
}

static void test_float32_exact_text(void **state)
{
    static const struct {
        float v;
        const char *text;
    } cases[] = {
        {0.0f, "0.0"},
        {-0.0f, "-0.0"},
        {1.0f, "1.0"},
        {-2.5f, "-2.5"},
        {0.1f, "0.1"}, /* the double text of the same value is 0.10000000149011612 */
        {0.3f, "0.3"},
        {1.0f / 3.0f, "0.33333334"},
        {-0.0123456789f, "-0.012345679"},
        {16777216.0f, "16777216.0"},
        {1e10f, "10000000000.0"},
        {1e16f, "1e+16"},
        {1e-4f, "0.0001"},
        {1e-5f, "1e-05"},
        {FLT_MAX, "3.4028235e+38"},
        {-FLT_MAX, "-3.4028235e+38"},
        {FLT_MIN, "1.1754944e-38"},
        {1.4e-45f, "1e-45"},               /* the smallest subnormal, 2^-149 */
        {1.1754942e-38f, "1.1754942e-38"}, /* the largest subnormal */
        /* Even mantissa: the decimal on the interval's bound ties to this float. */
        {34156552.0f, "34156550.0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[FDB_FTOA_MAX + 1];
        int n = fdb_ftoa_float32(cases[i].v, out);
        assert_int_equal(n, (int)strlen(out));
        if (strcmp(out, cases[i].text) != 0)
            fail_msg("case %zu (%a): got %s, want %s", i, (double)cases[i].v, out, cases[i].text);
        struct buf b;
        buf_init(&b, 0);
        assert_int_equal(buf_append_str(&b, "x"), 0);
        assert_int_equal(fdb_param_write_float32(&b, cases[i].v), 0);
        assert_int_equal(b.len, 1 + strlen(cases[i].text));
        assert_string_equal(b.data + 1, cases[i].text);
        buf_deinit(&b);
    }
    /* 34156552 is even: the bound 34156550 reads back exactly and ties to it. */
    assert_int_equal(f32_read_back("34156550.0"), 0x4C024C02u);
}

static void test_float32_without_literal(void **state)
{
    char out[FDB_FTOA_MAX + 1];
    assert_int_equal(fdb_ftoa_float32(NAN, out), FS_EUNSUPPORTED);
    assert_int_equal(fdb_ftoa_float32(INFINITY, out), FS_EUNSUPPORTED);
    assert_int_equal(fdb_ftoa_float32(-INFINITY, out), FS_EUNSUPPORTED);
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(buf_append_str(&b, "[1,"), 0);
    assert_int_equal(fdb_param_write_float32(&b, NAN), FS_EUNSUPPORTED);
    assert_int_equal(b.len, 3); /* unchanged */
    assert_string_equal(b.data, "[1,");
    buf_deinit(&b);
}

/* ---- Strings ------------------------------------------------------------ */

static void test_strings(void **state)
{
    CHECK(v_str(""), "''");
    CHECK(v_str("abc"), "'abc'");
    CHECK(v_str("it's"), "\"it's\"");
    CHECK(v_str("say \"hi\""), "'say \"hi\"'");
    CHECK(v_str("a'b\"c"), "'a\\'b\"c'"); /* tie: ' and \' */
    CHECK(v_str("''\"'"), "\"''\\\"'\""); /* more ' than ": " wins */
    CHECK(v_str("a\\b"), "'a\\\\b'");
    CHECK(v_str("\\"), "'\\\\'");
    CHECK(v_str("\\'"), "\"\\\\'\"");
    CHECK(v_str("end\\"), "'end\\\\'");
    CHECK(v_str("\\n is not a newline"), "'\\\\n is not a newline'");
    CHECK(v_str("line\nbreak\r\ttab"), "'line\nbreak\r\ttab'");
    CHECK(v_str("$v } { ] [ , : `x`"), "'$v } { ] [ , : `x`'");
    CHECK(v_str("RETURN 1 // MATCH (n) DETACH DELETE n"),
          "'RETURN 1 // MATCH (n) DETACH DELETE n'");
    CHECK(v_str("\xF0\x9F\x98\x80 caf\xC3\xA9"), "'\xF0\x9F\x98\x80 caf\xC3\xA9'");
    CHECK(v_str("\xFF\xFE\x80 invalid UTF-8 \xC3"), "'\xFF\xFE\x80 invalid UTF-8 \xC3'");
    CHECK(v_str("\x01\x7F"), "'\x01\x7F'");
    /* A long run with escapes past the 8-byte scan steps. */
    CHECK(v_str("0123456789abcdef'0123456789abcdef\\0123\"456789"),
          "'0123456789abcdef\\'0123456789abcdef\\\\0123\"456789'");
    CHECK(v_str("0123456789abcdef'0123456789abcdef"), "\"0123456789abcdef'0123456789abcdef\"");

    check_refused(v_strn("a\0b", 3), FS_EUNSUPPORTED);
    check_refused(v_strn("\0", 1), FS_EUNSUPPORTED);
    check_refused(v_strn("0123456789abcdef'0123\0", 22), FS_EUNSUPPORTED);
    check_refused(v_bytes("abc", 3), FS_EUNSUPPORTED);
}

static void test_every_byte(void **state)
{
    /* Each byte 1..255 alone and inside text, then all of them at once. */
    char all[255];
    for (int c = 1; c < 256; c++) {
        char s[3] = {'a', (char)c, 'b'};
        all[c - 1] = (char)c;
        struct buf b;
        buf_init(&b, 0);
        struct fs_value v = v_strn(s, 3);
        assert_int_equal(fdb_param_encode(&b, &v), 0);
        assert_int_equal(b.len, c == '\\' ? 6 : 5); /* only \ needs an escape here */
        struct fs_value back;
        assert_int_equal(fdb_param_decode(b.data, b.len, &back), 0);
        assert_true(fs_value_equal(&v, &back));
        fs_value_deinit(&back);
        fs_value_deinit(&v);
        buf_deinit(&b);
    }
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(fdb_param_write_string(&b, all, sizeof all), 0);
    /* one ' and one ": ' quotes, so \' and \\ are the two escapes */
    assert_int_equal(b.len, 255 + 2 + 2);
    struct fs_value back;
    assert_int_equal(fdb_param_decode(b.data, b.len, &back), 0);
    assert_int_equal(back.u.str.len, 255);
    assert_memory_equal(back.u.str.data, all, 255);
    fs_value_deinit(&back);
    buf_deinit(&b);
}

/* ---- Keys, containers, trees -------------------------------------------- */

static void test_keys(void **state)
{
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(fdb_param_map_key(&b, "uuid", 4), 0);
    assert_int_equal(fdb_param_map_key(&b, "_a1", 3), 0);
    assert_int_equal(fdb_param_map_key(&b, "RETURN", 6), 0);
    assert_int_equal(fdb_param_map_key(&b, "a b", 3), 0);
    assert_int_equal(fdb_param_map_key(&b, "1a", 2), 0);
    assert_int_equal(fdb_param_map_key(&b, "caf\xC3\xA9", 5), 0);
    assert_int_equal(fdb_param_map_key(&b, "", 0), 0);
    assert_int_equal(fdb_param_map_key(&b, "a:b}", 4), 0);
    assert_string_equal(b.data, "uuid:_a1:RETURN:`a b`:`1a`:`caf\xC3\xA9`:``:`a:b}`:");
    size_t len = b.len;
    assert_int_equal(fdb_param_map_key(&b, "a`b", 3), FS_EUNSUPPORTED);
    assert_int_equal(fdb_param_map_key(&b, "a\0b", 3), FS_EUNSUPPORTED);
    assert_int_equal(fdb_param_map_key(&b, "`", 1), FS_EUNSUPPORTED);
    assert_int_equal(b.len, len);
    buf_deinit(&b);
}

static void test_trees(void **state)
{
    CHECK(v_list(0, NULL), "[]");
    CHECK(v_map(0, NULL, NULL), "{}");
    {
        struct fs_value inner[] = {v_int(1), v_dbl(2.5), v_str("x")};
        struct fs_value outer[] = {v_list(3, inner), v_null(), v_bool(true), v_list(0, NULL)};
        CHECK(v_list(4, outer), "[[1,2.5,'x'],null,true,[]]");
    }
    {
        const char *keys[] = {"uuid", "name embedding", "tags", "m"};
        struct fs_value tags[] = {v_str("a"), v_str("it's")};
        const char *mk[] = {"k", "z"};
        struct fs_value mv[] = {v_int(-7), v_map(0, NULL, NULL)};
        struct fs_value vals[] = {v_str("u-1"), v_list(0, NULL), v_list(2, tags), v_map(2, mk, mv)};
        CHECK(v_map(4, keys, vals), "{uuid:'u-1',`name embedding`:[],tags:['a',\"it's\"],"
                                    "m:{k:-7,z:{}}}");
    }
}

static void test_tree_refusals(void **state)
{
    struct fs_value st = {.kind = FS_VALUE_STRUCT, .tag = 0x44 /* any struct */};
    st.u.list.items = calloc(1, sizeof(struct fs_value));
    st.u.list.items[0] = v_int(19000);
    st.u.list.len = 1;
    check_refused(st, FS_EUNSUPPORTED);
    {
        const char *keys[] = {"a`b"};
        struct fs_value vals[] = {v_int(1)};
        check_refused(v_map(1, keys, vals), FS_EUNSUPPORTED);
    }
    {
        const char *keys[] = {"a", "b", "a"};
        struct fs_value vals[] = {v_int(1), v_int(2), v_int(3)};
        check_refused(v_map(3, keys, vals), FS_EINVAL);
    }
    {
        /* A big map takes the sorting path. */
        char names[40][8];
        const char *keys[40];
        struct fs_value vals[40];
        for (int i = 0; i < 40; i++) {
            snprintf(names[i], sizeof names[i], "k%d", i);
            keys[i] = names[i];
            vals[i] = v_int(i);
        }
        struct fs_value ok = v_map(40, keys, vals);
        struct buf b;
        buf_init(&b, 0);
        assert_int_equal(fdb_param_encode(&b, &ok), 0);
        fs_value_deinit(&ok);
        buf_deinit(&b);
        keys[33] = "k7";
        for (int i = 0; i < 40; i++)
            vals[i] = v_int(i);
        check_refused(v_map(40, keys, vals), FS_EINVAL);
    }
    {
        struct fs_value m = {.kind = FS_VALUE_MAP};
        m.u.map.items = calloc(1, sizeof *m.u.map.items);
        m.u.map.items[0].key = v_int(1);
        m.u.map.items[0].value = v_int(2);
        m.u.map.len = 1;
        check_refused(m, FS_EINVAL);
    }
}

/* n lists nested in each other, innermost empty. */
static struct fs_value nested(int n)
{
    struct fs_value v = v_list(0, NULL);
    for (int i = 1; i < n; i++)
        v = v_list(1, &v);
    return v;
}

static void test_depth(void **state)
{
    struct fs_value ok = nested(FDB_PARAM_MAX_DEPTH);
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(fdb_param_encode(&b, &ok), 0);
    assert_int_equal(b.len, 2 * FDB_PARAM_MAX_DEPTH);
    struct fs_value back;
    assert_int_equal(fdb_param_decode(b.data, b.len, &back), 0);
    assert_true(fs_value_equal(&ok, &back));
    fs_value_deinit(&back);
    fs_value_deinit(&ok);

    check_refused(nested(FDB_PARAM_MAX_DEPTH + 1), FS_ETOO_DEEP);
    buf_reset(&b);
    for (int i = 0; i <= FDB_PARAM_MAX_DEPTH; i++)
        assert_int_equal(buf_append_byte(&b, '['), 0);
    for (int i = 0; i <= FDB_PARAM_MAX_DEPTH; i++)
        assert_int_equal(buf_append_byte(&b, ']'), 0);
    check_decode_fails(b.data, b.len, FS_ETOO_DEEP);
    buf_deinit(&b);
}

static void test_buffer_cap(void **state)
{
    struct buf b;
    buf_init(&b, 10);
    struct fs_value items[] = {v_str("abcdef"), v_str("ghijkl")};
    struct fs_value l = v_list(2, items);
    assert_int_equal(buf_append_str(&b, "x="), 0);
    assert_int_equal(fdb_param_encode(&b, &l), FS_ETOO_BIG);
    assert_string_equal(b.data, "x=");
    assert_int_equal(fdb_param_write_string(&b, "it's''", 6), 0); /* exactly 10 */
    assert_int_equal(fdb_param_write_int(&b, 1), FS_ETOO_BIG);
    assert_string_equal(b.data, "x=\"it's''\"");
    fs_value_deinit(&l);
    buf_deinit(&b);
}

/* ---- Prefix ------------------------------------------------------------- */

static void test_prefix(void **state)
{
    struct fs_value rows_items[] = {v_int(1), v_str("a")};
    struct fs_value rows = v_list(2, rows_items);
    struct fs_value g = v_str("it's");
    struct fdb_param ps[] = {{"rows", &rows}, {"_g2", &g}};
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(fdb_param_prefix(&b, ps, 2), 0);
    assert_string_equal(b.data, "CYPHER rows=[1,'a'] _g2=\"it's\" ");
    buf_reset(&b);
    assert_int_equal(fdb_param_prefix(&b, NULL, 0), 0);
    assert_string_equal(b.data, "CYPHER ");

    buf_reset(&b);
    struct fdb_param dup[] = {{"a", &g}, {"a", &g}};
    assert_int_equal(fdb_param_prefix(&b, dup, 2), FS_EINVAL);
    struct fdb_param bad[] = {{"1a", &g}};
    assert_int_equal(fdb_param_prefix(&b, bad, 1), FS_EINVAL);
    struct fdb_param bad2[] = {{"a-b", &g}};
    assert_int_equal(fdb_param_prefix(&b, bad2, 1), FS_EINVAL);
    struct fs_value nan = v_dbl(NAN);
    struct fdb_param bad3[] = {{"ok", &g}, {"n", &nan}};
    assert_int_equal(fdb_param_prefix(&b, bad3, 2), FS_EUNSUPPORTED);
    assert_int_equal(b.len, 0);

    /* Piece by piece, as the hot path does it. */
    assert_int_equal(fdb_param_prefix_begin(&b), 0);
    assert_int_equal(fdb_param_name(&b, "v"), 0);
    assert_int_equal(fdb_param_list_begin(&b), 0);
    assert_int_equal(fdb_param_map_begin(&b), 0);
    assert_int_equal(fdb_param_map_key(&b, "f", 1), 0);
    assert_int_equal(fdb_param_write_double(&b, 0.5), 0);
    assert_int_equal(fdb_param_write_sep(&b), 0);
    assert_int_equal(fdb_param_map_key(&b, "i", 1), 0);
    assert_int_equal(fdb_param_write_int(&b, -3), 0);
    assert_int_equal(fdb_param_map_end(&b), 0);
    assert_int_equal(fdb_param_list_end(&b), 0);
    assert_int_equal(fdb_param_name(&b, "w"), 0);
    assert_int_equal(fdb_param_write_null(&b), 0);
    assert_int_equal(fdb_param_prefix_end(&b), 0);
    assert_int_equal(fdb_param_name(&b, "bad name"), FS_EINVAL);
    assert_int_equal(fdb_param_name(&b, ""), FS_EINVAL);
    assert_string_equal(b.data, "CYPHER v=[{f:0.5,i:-3}] w=null ");

    fs_value_deinit(&rows);
    fs_value_deinit(&g);
    buf_deinit(&b);
}

/* ---- Decoder strictness -------------------------------------------------- */

static void test_decode_rejects(void **state)
{
    BAD("", FS_ETRUNCATED);
    BAD(" 1", FS_EMALFORMED);
    BAD("1 ", FS_EMALFORMED);
    BAD("[1, 2]", FS_EMALFORMED);
    BAD("[1,", FS_ETRUNCATED);
    BAD("[1", FS_ETRUNCATED);
    BAD("[1,]", FS_EMALFORMED);
    BAD("[,1]", FS_EMALFORMED);
    BAD("{a:1", FS_ETRUNCATED);
    BAD("{a 1}", FS_EMALFORMED);
    BAD("{a:1,a:2}", FS_EMALFORMED); /* the server would keep only a:2 */
    BAD("{`a`:1}", FS_EMALFORMED);   /* canonical is a:1 */
    BAD("{`a", FS_ETRUNCATED);
    BAD("{:1}", FS_EMALFORMED);
    BAD("{1:1}", FS_EMALFORMED);
    BAD("'abc", FS_ETRUNCATED);
    BAD("'abc\\", FS_ETRUNCATED);
    BAD("\"abc\"", FS_EMALFORMED); /* canonical is 'abc' */
    BAD("'a\\nb'", FS_EMALFORMED); /* \n is the server's escape, never ours */
    BAD("'a\\\"b'", FS_EMALFORMED);
    BAD("'a\0b'", FS_EMALFORMED);
    BAD("tru", FS_ETRUNCATED);
    BAD("truex", FS_EMALFORMED);
    BAD("True", FS_EMALFORMED);
    BAD("nul", FS_ETRUNCATED);
    BAD("nan", FS_EMALFORMED);
    BAD("inf", FS_EMALFORMED);
    BAD("01", FS_EMALFORMED);
    BAD("-0", FS_EMALFORMED);
    BAD("+1", FS_EMALFORMED);
    BAD("-", FS_EMALFORMED);
    BAD("9223372036854775808", FS_EMALFORMED);
    BAD("-9223372036854775809", FS_EMALFORMED);
    BAD("1.50", FS_EMALFORMED);
    BAD("1.", FS_EMALFORMED);
    BAD(".5", FS_EMALFORMED);
    BAD("1e5", FS_EMALFORMED); /* canonical is 100000.0 */
    BAD("1E+16", FS_EMALFORMED);
    BAD("1e999", FS_EMALFORMED);
    BAD("0.1000000000000000055511151231257827", FS_EMALFORMED);
    BAD("0x10", FS_EMALFORMED);
    BAD("$v", FS_EMALFORMED);
}

static void test_decode_accepts(void **state)
{
    static const char *texts[] = {
        "null",
        "true",
        "false",
        "0",
        "-9223372036854775808",
        "0.0",
        "-0.0",
        "1e+16",
        "5e-324",
        "''",
        "\"'\"",
        "'\\\\'",
        "[]",
        "{}",
        "[[],[[]],{}]",
        "{a:1,`b c`:[null,'x'],``:{}}",
        "{`\xC3\xA9`:'\xFF'}",
        "'\n\t\r'",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        struct fs_value v;
        int rc = fdb_param_decode(texts[i], strlen(texts[i]), &v);
        if (rc)
            fail_msg("decode \"%s\": %s", texts[i], fs_errname(rc));
        fs_value_deinit(&v);
    }
    struct fs_value v;
    assert_int_equal(fdb_param_decode("-9223372036854775808", 20, &v), 0);
    assert_int_equal(v.kind, FS_VALUE_INT);
    assert_true(v.u.i == INT64_MIN);
    assert_int_equal(fdb_param_decode("-0.0", 4, &v), 0);
    assert_int_equal(v.kind, FS_VALUE_FLOAT);
    assert_true(signbit(v.u.f));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_doubles_exact_text),
        cmocka_unit_test(test_doubles_without_literal),
        cmocka_unit_test(test_float32_exact_text),
        cmocka_unit_test(test_float32_without_literal),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_every_byte),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_trees),
        cmocka_unit_test(test_tree_refusals),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_buffer_cap),
        cmocka_unit_test(test_prefix),
        cmocka_unit_test(test_decode_rejects),
        cmocka_unit_test(test_decode_accepts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
