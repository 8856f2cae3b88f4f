/* Unit tests for bolt/pack: byte vectors from the PackStream spec, boundaries, hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bolt/pack.h"

/* ---- Helpers ------------------------------------------------------------ */

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* "C8 EF" -> bytes appended to b (spaces ignored). */
static void hex_to_buf(const char *hex, struct buf *b)
{
    for (const char *s = hex; *s;) {
        if (*s == ' ' || *s == '\n') {
            s++;
            continue;
        }
        int hi = hex_digit(s[0]);
        int lo = hex_digit(s[1]);
        assert_true(hi >= 0 && lo >= 0);
        assert_int_equal(buf_append_byte(b, (uint8_t)(hi << 4 | lo)), 0);
        s += 2;
    }
}

static void assert_buf_hex(const struct buf *got, const char *hex)
{
    struct buf want;
    buf_init(&want, 0);
    hex_to_buf(hex, &want);
    assert_int_equal(got->len, want.len);
    if (want.len)
        assert_memory_equal(got->data, want.data, want.len);
    buf_deinit(&want);
}

/* Decodes all of hex (default limits) into *v; returns the pack_decode code. */
static int decode_hex(const char *hex, struct fs_value *v)
{
    struct buf in;
    buf_init(&in, 0);
    hex_to_buf(hex, &in);
    struct pack_reader r;
    pack_reader_init(&r, in.data, in.len);
    struct pack_limits lim = pack_default_limits();
    int rc = pack_decode(&r, &lim, v);
    if (rc == 0)
        assert_int_equal(r.pos, in.len);
    buf_deinit(&in);
    return rc;
}

static int decode_bytes(const void *p, size_t len, const struct pack_limits *lim,
                        struct fs_value *v)
{
    struct pack_reader r;
    pack_reader_init(&r, p, len);
    int rc = pack_decode(&r, lim, v);
    if (rc == 0)
        assert_int_equal(r.pos, len);
    else
        assert_int_equal(r.pos, 0);
    return rc;
}

static int skip_bytes(const void *p, size_t len, int depth)
{
    struct pack_reader r;
    pack_reader_init(&r, p, len);
    int rc = pack_skip(&r, depth);
    if (rc == 0)
        assert_int_equal(r.pos, len);
    else
        assert_int_equal(r.pos, 0);
    return rc;
}

/* Encodes v, compares with hex, decodes it back and compares with v. */
static void assert_encodes_to(const struct fs_value *v, const char *hex)
{
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(pack_encode(&b, v), 0);
    assert_buf_hex(&b, hex);
    struct fs_value back;
    struct pack_limits lim = pack_default_limits();
    assert_int_equal(decode_bytes(b.data, b.len, &lim, &back), 0);
    assert_true(fs_value_equal(v, &back));
    fs_value_deinit(&back);
    buf_deinit(&b);
}

/* Decodes hex, checks it equals v, and that v encodes back to the same hex. */
static void assert_both_ways(const struct fs_value *v, const char *hex)
{
    struct fs_value got;
    assert_int_equal(decode_hex(hex, &got), 0);
    assert_true(fs_value_equal(&got, v));
    fs_value_deinit(&got);
    assert_encodes_to(v, hex);
}

static struct fs_value v_int(int64_t i)
{
    struct fs_value v = {.kind = FS_VALUE_INT};
    v.u.i = i;
    return v;
}

static struct fs_value v_float(double f)
{
    struct fs_value v = {.kind = FS_VALUE_FLOAT};
    v.u.f = f;
    return v;
}

static struct fs_value v_data(enum fs_value_kind kind, const void *p, size_t len)
{
    struct fs_value v = {.kind = kind};
    v.u.str.data = malloc(len + 1);
    assert_non_null(v.u.str.data);
    if (len)
        memcpy(v.u.str.data, p, len);
    v.u.str.data[len] = '\0';
    v.u.str.len = (uint32_t)len;
    return v;
}

static struct fs_value v_str(const char *s)
{
    return v_data(FS_VALUE_STRING, s, strlen(s));
}

/* A LIST (or STRUCT with tag) of n NULL items for the caller to fill. */
static struct fs_value v_list(enum fs_value_kind kind, uint8_t tag, uint32_t n)
{
    struct fs_value v = {.kind = kind, .tag = tag};
    v.u.list.len = n;
    v.u.list.items = n ? calloc(n, sizeof(struct fs_value)) : NULL;
    if (n)
        assert_non_null(v.u.list.items);
    return v;
}

static struct fs_value v_map(uint32_t n)
{
    struct fs_value v = {.kind = FS_VALUE_MAP};
    v.u.map.len = n;
    v.u.map.items = n ? calloc(n, sizeof(struct fs_value_pair)) : NULL;
    if (n)
        assert_non_null(v.u.map.items);
    return v;
}

/* Header bytes a sized value must start with, and its total encoded length. */
static void assert_header(const struct buf *b, const char *hex, size_t total)
{
    struct buf want;
    buf_init(&want, 0);
    hex_to_buf(hex, &want);
    assert_int_equal(b->len, total);
    assert_memory_equal(b->data, want.data, want.len);
    buf_deinit(&want);
}

/* ---- Scalars ------------------------------------------------------------ */

static void test_int_vectors(void **state)
{
    static const struct {
        int64_t v;
        const char *hex;
    } cases[] = {
        {0, "00"},
        {1, "01"},
        {42, "2A"},
        {127, "7F"},
        {-1, "FF"},
        {-16, "F0"},
        {-17, "C8 EF"},
        {-128, "C8 80"},
        {-129, "C9 FF 7F"},
        {128, "C9 00 80"},
        {32767, "C9 7F FF"},
        {-32768, "C9 80 00"},
        {32768, "CA 00 00 80 00"},
        {-32769, "CA FF FF 7F FF"},
        {INT32_MAX, "CA 7F FF FF FF"},
        {INT32_MIN, "CA 80 00 00 00"},
        {(int64_t)INT32_MAX + 1, "CB 00 00 00 00 80 00 00 00"},
        {(int64_t)INT32_MIN - 1, "CB FF FF FF FF 7F FF FF FF"},
        {INT64_MAX, "CB 7F FF FF FF FF FF FF FF"},
        {INT64_MIN, "CB 80 00 00 00 00 00 00 00"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct fs_value v = v_int(cases[k].v);
        assert_both_ways(&v, cases[k].hex);
        struct buf b;
        buf_init(&b, 0);
        assert_int_equal(pack_write_int(&b, cases[k].v), 0);
        assert_buf_hex(&b, cases[k].hex);
        buf_deinit(&b);
    }
    /* Wider forms than needed still decode (the spec's examples for 42). */
    static const char *wide42[] = {"2A", "C8 2A", "C9 00 2A", "CA 00 00 00 2A",
                                   "CB 00 00 00 00 00 00 00 2A"};
    for (size_t k = 0; k < 5; k++) {
        struct fs_value v;
        assert_int_equal(decode_hex(wide42[k], &v), 0);
        assert_int_equal(v.kind, FS_VALUE_INT);
        assert_int_equal(v.u.i, 42);
    }
    /* Every tiny int both ways. */
    for (int i = -16; i <= 127; i++) {
        uint8_t byte = (uint8_t)(i & 0xFF);
        struct fs_value v;
        assert_int_equal(decode_bytes(&byte, 1, NULL, &v), 0);
        assert_int_equal(v.u.i, i);
        struct buf b;
        buf_init(&b, 0);
        assert_int_equal(pack_write_int(&b, i), 0);
        assert_int_equal(b.len, 1);
        assert_int_equal((uint8_t)b.data[0], byte);
        buf_deinit(&b);
    }
}

static void test_null_bool_float(void **state)
{
    struct fs_value v = {.kind = FS_VALUE_NULL};
    assert_both_ways(&v, "C0");
    v.kind = FS_VALUE_BOOL;
    v.u.b = true;
    assert_both_ways(&v, "C3");
    v.u.b = false;
    assert_both_ways(&v, "C2");

    v = v_float(1.23);
    assert_both_ways(&v, "C1 3F F3 AE 14 7A E1 47 AE");
    v = v_float(2.0);
    assert_both_ways(&v, "C1 40 00 00 00 00 00 00 00");
    v = v_float(-0.0);
    assert_both_ways(&v, "C1 80 00 00 00 00 00 00 00");
    v = v_float(INFINITY);
    assert_both_ways(&v, "C1 7F F0 00 00 00 00 00 00");
    /* NaN payloads survive bit for bit, and -0.0 differs from 0.0. */
    assert_both_ways(&(struct fs_value){.kind = FS_VALUE_FLOAT, .u.f = 0.0},
                     "C1 00 00 00 00 00 00 00 00");
    struct fs_value nan;
    assert_int_equal(decode_hex("C1 7F F8 00 00 00 00 00 01", &nan), 0);
    assert_true(isnan(nan.u.f));
    assert_encodes_to(&nan, "C1 7F F8 00 00 00 00 00 01");
    struct fs_value z = v_float(0.0), nz = v_float(-0.0);
    assert_false(fs_value_equal(&z, &nz));
    assert_false(fs_value_equal(&z, &(struct fs_value){.kind = FS_VALUE_INT}));
}

/* ---- Strings and bytes -------------------------------------------------- */

static void test_string_vectors(void **state)
{
    struct fs_value v = v_str("");
    assert_both_ways(&v, "80");
    fs_value_deinit(&v);
    v = v_str("A");
    assert_both_ways(&v, "81 41");
    fs_value_deinit(&v);
    v = v_str("ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    assert_both_ways(&v, "D0 1A 41 42 43 44 45 46 47 48 49 4A 4B 4C 4D 4E 4F 50 51 52 53 54 55 "
                         "56 57 58 59 5A");
    fs_value_deinit(&v);
    v = v_str("Gr\xC3\xB6\xC3\x9F"
              "enma\xC3\x9Fst\xC3\xA4"
              "be");
    assert_both_ways(&v, "D0 12 47 72 C3 B6 C3 9F 65 6E 6D 61 C3 9F 73 74 C3 A4 62 65");
    fs_value_deinit(&v);

    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(pack_write_cstr(&b, "one"), 0);
    assert_int_equal(pack_write_string(&b, "xyz", 0), 0);
    assert_int_equal(pack_write_string(&b, NULL, 0), 0);
    assert_buf_hex(&b, "83 6F 6E 65 80 80");
    assert_int_equal(pack_write_cstr(&b, NULL), FS_EINVAL);
    assert_int_equal(pack_write_string(&b, NULL, 3), FS_EINVAL);
    assert_int_equal(b.len, 6);
    buf_deinit(&b);
}

/* Strings and bytes of every boundary length: header form, length, round trip. */
static void test_sized_boundaries(void **state)
{
    static const struct {
        size_t len;
        const char *str_hdr;
        const char *bytes_hdr;
    } cases[] = {
        {0, "80", "CC 00"},
        {1, "81", "CC 01"},
        {15, "8F", "CC 0F"},
        {16, "D0 10", "CC 10"},
        {255, "D0 FF", "CC FF"},
        {256, "D1 01 00", "CD 01 00"},
        {65535, "D1 FF FF", "CD FF FF"},
        {65536, "D2 00 01 00 00", "CE 00 01 00 00"},
    };
    char *data = malloc(65536);
    assert_non_null(data);
    for (size_t k = 0; k < 65536; k++)
        data[k] = (char)('a' + k % 26);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t n = cases[k].len;
        for (int bytes = 0; bytes < 2; bytes++) {
            const char *hdr = bytes ? cases[k].bytes_hdr : cases[k].str_hdr;
            size_t hl = (strlen(hdr) + 1) / 3;
            struct buf b;
            buf_init(&b, 0);
            int rc = bytes ? pack_write_bytes(&b, data, n) : pack_write_string(&b, data, n);
            assert_int_equal(rc, 0);
            assert_header(&b, hdr, hl + n);
            assert_memory_equal(b.data + hl, data, n);

            struct fs_value v;
            assert_int_equal(decode_bytes(b.data, b.len, NULL, &v), 0);
            assert_int_equal(v.kind, bytes ? FS_VALUE_BYTES : FS_VALUE_STRING);
            assert_int_equal(v.u.str.len, n);
            assert_memory_equal(v.u.str.data, data, n);
            assert_int_equal(v.u.str.data[n], '\0');
            struct fs_value w = v_data(v.kind, data, n);
            assert_true(fs_value_equal(&v, &w));
            struct buf again;
            buf_init(&again, 0);
            assert_int_equal(pack_encode(&again, &v), 0);
            assert_int_equal(again.len, b.len);
            assert_memory_equal(again.data, b.data, b.len);
            buf_deinit(&again);
            fs_value_deinit(&w);
            fs_value_deinit(&v);
            buf_deinit(&b);
        }
    }
    free(data);
    /* The spec's byte array examples. */
    struct fs_value v = v_data(FS_VALUE_BYTES, "\x01\x02\x03", 3);
    assert_both_ways(&v, "CC 03 01 02 03");
    fs_value_deinit(&v);
    v = v_data(FS_VALUE_BYTES, "", 0);
    assert_both_ways(&v, "CC 00");
    /* Bytes and strings with the same content differ. */
    struct fs_value s = v_str("");
    assert_false(fs_value_equal(&v, &s));
    fs_value_deinit(&s);
    fs_value_deinit(&v);
}

/* ---- Lists, maps, structs ----------------------------------------------- */

static void test_list_vectors(void **state)
{
    struct fs_value v = v_list(FS_VALUE_LIST, 0, 0);
    assert_both_ways(&v, "90");
    v = v_list(FS_VALUE_LIST, 0, 3);
    for (int k = 0; k < 3; k++)
        v.u.list.items[k] = v_int(k + 1);
    assert_both_ways(&v, "93 01 02 03");
    fs_value_deinit(&v);

    v = v_list(FS_VALUE_LIST, 0, 3);
    v.u.list.items[0] = v_int(1);
    v.u.list.items[1] = v_float(2.0);
    v.u.list.items[2] = v_str("three");
    assert_both_ways(&v, "93 01 C1 40 00 00 00 00 00 00 00 85 74 68 72 65 65");
    fs_value_deinit(&v);

    v = v_list(FS_VALUE_LIST, 0, 40);
    for (int k = 0; k < 40; k++)
        v.u.list.items[k] = v_int(k + 1);
    assert_both_ways(&v, "D4 28 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F 10 11 12 13 14 "
                         "15 16 17 18 19 1A 1B 1C 1D 1E 1F 20 21 22 23 24 25 26 27 28");
    fs_value_deinit(&v);
}

static void test_list_boundaries(void **state)
{
    static const struct {
        uint32_t n;
        const char *hdr;
    } cases[] = {
        {15, "9F"},        {16, "D4 10"},       {255, "D4 FF"},
        {256, "D5 01 00"}, {65535, "D5 FF FF"}, {65536, "D6 00 01 00 00"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        uint32_t n = cases[k].n;
        struct fs_value v = v_list(FS_VALUE_LIST, 0, n);
        for (uint32_t j = 0; j < n; j++)
            v.u.list.items[j] = v_int(j % 100);
        struct buf b;
        buf_init(&b, 0);
        assert_int_equal(pack_encode(&b, &v), 0);
        size_t hl = (strlen(cases[k].hdr) + 1) / 3;
        assert_header(&b, cases[k].hdr, hl + n);

        struct buf h;
        buf_init(&h, 0);
        assert_int_equal(pack_write_list_header(&h, n), 0);
        assert_int_equal(h.len, hl);
        assert_memory_equal(h.data, b.data, hl);
        buf_deinit(&h);

        struct fs_value back;
        assert_int_equal(decode_bytes(b.data, b.len, NULL, &back), 0);
        assert_true(fs_value_equal(&v, &back));
        assert_int_equal(skip_bytes(b.data, b.len, 1), 0);
        fs_value_deinit(&back);
        fs_value_deinit(&v);
        buf_deinit(&b);
    }
}

static void test_map_vectors(void **state)
{
    struct fs_value v = v_map(0);
    assert_both_ways(&v, "A0");
    v = v_map(1);
    v.u.map.items[0].key = v_str("one");
    v.u.map.items[0].value = v_str("eins");
    assert_both_ways(&v, "A1 83 6F 6E 65 84 65 69 6E 73");
    assert_non_null(fs_value_map_get(&v, "one"));
    assert_string_equal(fs_value_map_get(&v, "one")->u.str.data, "eins");
    assert_null(fs_value_map_get(&v, "on"));
    assert_null(fs_value_map_get(&v, "onee"));
    fs_value_deinit(&v);

    v = v_map(26);
    for (int k = 0; k < 26; k++) {
        char key[2] = {(char)('A' + k), 0};
        v.u.map.items[k].key = v_str(key);
        v.u.map.items[k].value = v_int(k + 1);
    }
    assert_both_ways(&v, "D8 1A 81 41 01 81 42 02 81 43 03 81 44 04 81 45 05 81 46 06 81 47 07 "
                         "81 48 08 81 49 09 81 4A 0A 81 4B 0B 81 4C 0C 81 4D 0D 81 4E 0E 81 4F "
                         "0F 81 50 10 81 51 11 81 52 12 81 53 13 81 54 14 81 55 15 81 56 16 81 "
                         "57 17 81 58 18 81 59 19 81 5A 1A");
    assert_int_equal(fs_value_map_get(&v, "Z")->u.i, 26);
    fs_value_deinit(&v);

    /* Duplicate keys: the last one wins (spec). */
    assert_int_equal(
        decode_hex("A3 85 6B 65 79 5F 31 01 85 6B 65 79 5F 32 02 85 6B 65 79 5F 31 03", &v), 0);
    assert_int_equal(fs_value_map_get(&v, "key_1")->u.i, 3);
    assert_int_equal(fs_value_map_get(&v, "key_2")->u.i, 2);
    assert_null(fs_value_map_get(&v.u.map.items[0].value, "key_1"));
    assert_null(fs_value_map_get(NULL, "x"));
    fs_value_deinit(&v);
}

static void test_map_boundaries(void **state)
{
    static const struct {
        uint32_t n;
        const char *hdr;
    } cases[] = {
        {15, "AF"},        {16, "D8 10"},       {255, "D8 FF"},
        {256, "D9 01 00"}, {65535, "D9 FF FF"}, {65536, "DA 00 01 00 00"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        uint32_t n = cases[k].n;
        struct fs_value v = v_map(n);
        for (uint32_t j = 0; j < n; j++) {
            v.u.map.items[j].key = v_str("k");
            v.u.map.items[j].value = v_int(j % 100);
        }
        struct buf b;
        buf_init(&b, 0);
        assert_int_equal(pack_encode(&b, &v), 0);
        size_t hl = (strlen(cases[k].hdr) + 1) / 3;
        assert_header(&b, cases[k].hdr, hl + 3 * (size_t)n);

        struct buf h;
        buf_init(&h, 0);
        assert_int_equal(pack_write_map_header(&h, n), 0);
        assert_int_equal(h.len, hl);
        assert_memory_equal(h.data, b.data, hl);
        buf_deinit(&h);

        struct fs_value back;
        assert_int_equal(decode_bytes(b.data, b.len, NULL, &back), 0);
        assert_true(fs_value_equal(&v, &back));
        assert_int_equal(fs_value_map_get(&back, "k")->u.i, (n - 1) % 100);
        assert_int_equal(skip_bytes(b.data, b.len, 1), 0);
        fs_value_deinit(&back);
        fs_value_deinit(&v);
        buf_deinit(&b);
    }
}

static void test_struct_vectors(void **state)
{
    struct fs_value v = v_list(FS_VALUE_STRUCT, PACK_TAG_DATE, 1);
    v.u.list.items[0] = v_int(19000);
    assert_both_ways(&v, "B1 44 C9 4A 38");
    fs_value_deinit(&v);
    v = v_list(FS_VALUE_STRUCT, 0x7F, 0);
    assert_both_ways(&v, "B0 7F");

    /* Same fields, different tag; list vs struct. */
    struct fs_value a, b2;
    assert_int_equal(decode_hex("B1 44 01", &a), 0);
    assert_int_equal(decode_hex("B1 74 01", &b2), 0);
    assert_false(fs_value_equal(&a, &b2));
    fs_value_deinit(&b2);
    assert_int_equal(decode_hex("91 01", &b2), 0);
    assert_false(fs_value_equal(&a, &b2));
    fs_value_deinit(&b2);
    fs_value_deinit(&a);

    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(pack_write_struct_header(&b, 0x4E, 15), 0);
    assert_buf_hex(&b, "BF 4E");
    assert_int_equal(pack_write_struct_header(&b, 0x4E, 16), FS_EINVAL);
    assert_int_equal(b.len, 2);
    /* A 15-field struct decodes; pack_encode refuses 16 fields. */
    for (int k = 0; k < 15; k++)
        assert_int_equal(pack_write_null(&b), 0);
    assert_int_equal(decode_bytes(b.data, b.len, NULL, &a), 0);
    assert_int_equal(a.u.list.len, 15);
    fs_value_deinit(&a);
    buf_reset(&b);
    v = v_list(FS_VALUE_STRUCT, 1, 16);
    assert_int_equal(pack_encode(&b, &v), FS_EINVAL);
    assert_int_equal(b.len, 0);
    fs_value_deinit(&v);
    buf_deinit(&b);
}

static void test_roundtrip_nested(void **state)
{
    /* {"name": "x", "tags": [1, -300, 2.5, null, true, b"\0\1"], "node": Node(...)} */
    struct fs_value v = v_map(3);
    v.u.map.items[0].key = v_str("name");
    v.u.map.items[0].value = v_str("x");
    v.u.map.items[1].key = v_str("tags");
    struct fs_value l = v_list(FS_VALUE_LIST, 0, 6);
    l.u.list.items[0] = v_int(1);
    l.u.list.items[1] = v_int(-300);
    l.u.list.items[2] = v_float(2.5);
    l.u.list.items[3].kind = FS_VALUE_NULL;
    l.u.list.items[4].kind = FS_VALUE_BOOL;
    l.u.list.items[4].u.b = true;
    l.u.list.items[5] = v_data(FS_VALUE_BYTES, "\0\1", 2);
    v.u.map.items[1].value = l;
    v.u.map.items[2].key = v_str("node");
    struct fs_value n = v_list(FS_VALUE_STRUCT, PACK_TAG_NODE, 4);
    n.u.list.items[0] = v_int(7);
    n.u.list.items[1] = v_list(FS_VALUE_LIST, 0, 1);
    n.u.list.items[1].u.list.items[0] = v_str("Person");
    n.u.list.items[2] = v_map(0);
    n.u.list.items[3] = v_str("4:abc:7");
    assert_int_equal(pack_struct_check(&n), 0);
    v.u.map.items[2].value = n;

    assert_encodes_to(&v, "A3 84 6E 61 6D 65 81 78 84 74 61 67 73 96 01 C9 FE D4 "
                          "C1 40 04 00 00 00 00 00 00 C0 C3 CC 02 00 01 84 6E 6F 64 65 "
                          "B4 4E 07 91 86 50 65 72 73 6F 6E A0 87 34 3A 61 62 63 3A 37");

    /* Encoding with the writers directly gives the same bytes as pack_encode. */
    struct buf a, b;
    buf_init(&a, 0);
    buf_init(&b, 0);
    assert_int_equal(pack_encode(&a, &v), 0);
    int rc = pack_write_map_header(&b, 3);
    rc = rc ? rc : pack_write_cstr(&b, "name");
    rc = rc ? rc : pack_write_cstr(&b, "x");
    rc = rc ? rc : pack_write_cstr(&b, "tags");
    rc = rc ? rc : pack_write_list_header(&b, 6);
    rc = rc ? rc : pack_write_int(&b, 1);
    rc = rc ? rc : pack_write_int(&b, -300);
    rc = rc ? rc : pack_write_float(&b, 2.5);
    rc = rc ? rc : pack_write_null(&b);
    rc = rc ? rc : pack_write_bool(&b, true);
    rc = rc ? rc : pack_write_bytes(&b, "\0\1", 2);
    rc = rc ? rc : pack_write_cstr(&b, "node");
    rc = rc ? rc : pack_write_struct_header(&b, PACK_TAG_NODE, 4);
    rc = rc ? rc : pack_write_int(&b, 7);
    rc = rc ? rc : pack_write_list_header(&b, 1);
    rc = rc ? rc : pack_write_cstr(&b, "Person");
    rc = rc ? rc : pack_write_map_header(&b, 0);
    rc = rc ? rc : pack_write_cstr(&b, "4:abc:7");
    assert_int_equal(rc, 0);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);

    /* Two values back to back come out one at a time. */
    assert_int_equal(pack_write_int(&b, 5), 0);
    struct pack_reader r;
    pack_reader_init(&r, b.data, b.len);
    struct fs_value x;
    assert_int_equal(pack_decode(&r, NULL, &x), 0);
    assert_true(fs_value_equal(&x, &v));
    assert_int_equal(r.pos, a.len);
    fs_value_deinit(&x);
    assert_int_equal(pack_decode(&r, NULL, &x), 0);
    assert_int_equal(x.u.i, 5);
    assert_int_equal(pack_decode(&r, NULL, &x), FS_ETRUNCATED);
    assert_int_equal(x.kind, FS_VALUE_NULL);

    /* Any change is seen by fs_value_equal. */
    struct fs_value y;
    assert_int_equal(decode_bytes(a.data, a.len, NULL, &y), 0);
    y.u.map.items[1].value.u.list.items[1].u.i = -301;
    assert_false(fs_value_equal(&y, &v));
    y.u.map.items[1].value.u.list.items[1].u.i = -300;
    y.u.map.items[0].key.u.str.data[0] = 'N';
    assert_false(fs_value_equal(&y, &v));
    fs_value_deinit(&y);

    buf_deinit(&a);
    buf_deinit(&b);
    fs_value_deinit(&v);
    assert_int_equal(v.kind, FS_VALUE_NULL);
    fs_value_deinit(&v); /* twice is harmless */
}

static void test_encode_errors(void **state)
{
    /* Non-string key: refused, and nothing is left in the buffer. */
    struct fs_value v = v_map(1);
    v.u.map.items[0].key = v_int(1);
    v.u.map.items[0].value = v_int(2);
    struct buf b;
    buf_init(&b, 64);
    assert_int_equal(pack_write_int(&b, 9), 0);
    assert_int_equal(pack_encode(&b, &v), FS_EINVAL);
    assert_buf_hex(&b, "09");
    fs_value_deinit(&v);

    /* The buffer cap: a string that does not fit leaves no header behind. */
    char big[100];
    memset(big, 'x', sizeof big);
    assert_int_equal(pack_write_string(&b, big, sizeof big), FS_ETOO_BIG);
    assert_int_equal(pack_write_bytes(&b, big, sizeof big), FS_ETOO_BIG);
    assert_buf_hex(&b, "09");
    v = v_list(FS_VALUE_LIST, 0, 2);
    v.u.list.items[0] = v_str("hello");
    v.u.list.items[1] = v_data(FS_VALUE_STRING, big, sizeof big);
    assert_int_equal(pack_encode(&b, &v), FS_ETOO_BIG);
    assert_buf_hex(&b, "09");
    fs_value_deinit(&v);

    /* An unknown kind is refused. */
    struct fs_value bad = {.kind = (enum fs_value_kind)99};
    assert_int_equal(pack_encode(&b, &bad), FS_EINVAL);
    assert_int_equal(pack_write_bytes(&b, NULL, 1), FS_EINVAL);
    assert_int_equal(pack_write_bytes(&b, NULL, 0), 0);
    assert_buf_hex(&b, "09 CC 00");
    buf_deinit(&b);
}

/* ---- The low-level reader ----------------------------------------------- */

static bool is_reserved(unsigned m)
{
    return (m >= 0xC4 && m <= 0xC7) || m == 0xCF || m == 0xD3 || m == 0xD7 ||
           (m >= 0xDB && m <= 0xEF);
}

static void test_every_marker(void **state)
{
    uint8_t in[16] = {0};
    for (unsigned m = 0; m < 256; m++) {
        in[0] = (uint8_t)m;
        struct pack_reader r;
        struct pack_item it;
        pack_reader_init(&r, in, sizeof in);
        int rc = pack_read_item(&r, &it);
        if (is_reserved(m)) {
            assert_int_equal(rc, FS_EMALFORMED);
            assert_int_equal(r.pos, 0);
            struct fs_value v;
            assert_int_equal(decode_bytes(in, 1, NULL, &v), FS_EMALFORMED);
            assert_int_equal(skip_bytes(in, 1, 8), FS_EMALFORMED);
            continue;
        }
        assert_int_equal(rc, 0);
        enum fs_value_kind want;
        if (m <= 0x7F || m >= 0xF0 || (m >= 0xC8 && m <= 0xCB))
            want = FS_VALUE_INT;
        else if (m < 0x90 || (m >= 0xD0 && m <= 0xD2))
            want = FS_VALUE_STRING;
        else if (m < 0xA0 || (m >= 0xD4 && m <= 0xD6))
            want = FS_VALUE_LIST;
        else if (m < 0xB0 || (m >= 0xD8 && m <= 0xDA))
            want = FS_VALUE_MAP;
        else if (m < 0xC0)
            want = FS_VALUE_STRUCT;
        else if (m == 0xC0)
            want = FS_VALUE_NULL;
        else if (m == 0xC1)
            want = FS_VALUE_FLOAT;
        else if (m == 0xC2 || m == 0xC3)
            want = FS_VALUE_BOOL;
        else
            want = FS_VALUE_BYTES;
        assert_int_equal(it.kind, want);
        /* a marker alone is a truncation unless it is complete in one byte */
        bool one_byte = m <= 0x7F || m >= 0xF0 || m == 0x80 || (m >= 0x90 && m <= 0xAF) ||
                        (m >= 0xC0 && m <= 0xC3 && m != 0xC1);
        pack_reader_init(&r, in, 1);
        assert_int_equal(pack_read_item(&r, &it), one_byte ? 0 : FS_ETRUNCATED);
        assert_int_equal(r.pos, one_byte ? 1 : 0);
    }
}

static void test_read_item(void **state)
{
    struct buf b;
    buf_init(&b, 0);
    hex_to_buf("83 61 62 63 D6 FF FF FF FF B3 4E CC 02 AA BB 85 61", &b);
    struct pack_reader r;
    pack_reader_init(&r, b.data, b.len);
    struct pack_item it;
    assert_int_equal(pack_read_item(&r, &it), 0);
    assert_int_equal(it.kind, FS_VALUE_STRING);
    assert_int_equal(it.size, 3);
    assert_ptr_equal(it.data, (const uint8_t *)b.data + 1);
    /* list sizes are not checked against the input */
    assert_int_equal(pack_read_item(&r, &it), 0);
    assert_int_equal(it.kind, FS_VALUE_LIST);
    assert_int_equal(it.size, 0xFFFFFFFFu);
    assert_int_equal(pack_read_item(&r, &it), 0);
    assert_int_equal(it.kind, FS_VALUE_STRUCT);
    assert_int_equal(it.tag, 0x4E);
    assert_int_equal(it.size, 3);
    assert_int_equal(pack_read_item(&r, &it), 0);
    assert_int_equal(it.kind, FS_VALUE_BYTES);
    assert_int_equal(it.size, 2);
    assert_int_equal(it.data[1], 0xBB);
    size_t pos = r.pos;
    assert_int_equal(pack_read_item(&r, &it), FS_ETRUNCATED); /* 85 with 1 byte */
    assert_int_equal(r.pos, pos);
    buf_deinit(&b);
}

/* ---- Hostile input ------------------------------------------------------ */

/* A message with every kind and size class in it. */
static void build_sample(struct buf *b)
{
    static const int64_t ints[] = {
        0,         1,        -1,        127,       -16,
        -17,       128,      -128,      -129,      32767,
        32768,     -32769,   INT32_MAX, INT32_MIN, (int64_t)INT32_MAX + 1,
        INT64_MAX, INT64_MIN};
    char s300[300];
    memset(s300, 's', sizeof s300);
    int rc = pack_write_struct_header(b, 0x71, 3);
    rc = rc ? rc : pack_write_list_header(b, 17);
    for (int k = 0; k < 17 && !rc; k++)
        rc = pack_write_int(b, ints[k]);
    rc = rc ? rc : pack_write_map_header(b, 6);
    rc = rc ? rc : pack_write_cstr(b, "f");
    rc = rc ? rc : pack_write_float(b, -1.5);
    rc = rc ? rc : pack_write_cstr(b, "s");
    rc = rc ? rc : pack_write_string(b, s300, sizeof s300);
    rc = rc ? rc : pack_write_cstr(b, "b");
    rc = rc ? rc : pack_write_bytes(b, s300, 20);
    rc = rc ? rc : pack_write_cstr(b, "n");
    rc = rc ? rc : pack_write_null(b);
    rc = rc ? rc : pack_write_cstr(b, "t");
    rc = rc ? rc : pack_write_bool(b, true);
    rc = rc ? rc : pack_write_cstr(b, "e");
    rc = rc ? rc : pack_write_map_header(b, 0);
    rc = rc ? rc : pack_write_struct_header(b, PACK_TAG_POINT_2D, 3);
    rc = rc ? rc : pack_write_int(b, 4326);
    rc = rc ? rc : pack_write_float(b, 1.0);
    rc = rc ? rc : pack_write_float(b, 2.0);
    assert_int_equal(rc, 0);
}

static void test_truncated_every_prefix(void **state)
{
    struct buf b;
    buf_init(&b, 0);
    build_sample(&b);
    struct fs_value full;
    assert_int_equal(decode_bytes(b.data, b.len, NULL, &full), 0);
    assert_int_equal(skip_bytes(b.data, b.len, 8), 0);
    for (size_t n = 0; n < b.len; n++) {
        struct fs_value v;
        memset(&v, 0x5A, sizeof v); /* garbage in, FS_VALUE_NULL out */
        assert_int_equal(decode_bytes(b.data, n, NULL, &v), FS_ETRUNCATED);
        assert_int_equal(v.kind, FS_VALUE_NULL);
        assert_int_equal(skip_bytes(b.data, n, 8), FS_ETRUNCATED);
    }
    fs_value_deinit(&full);
    buf_deinit(&b);
}

static void test_oversized_lengths(void **state)
{
    static const char *cases[] = {
        "D2 FF FF FF FF 41 41 41 41 41", /* string claiming 4 GB in 10 bytes */
        "D2 80 00 00 00 41",
        "D1 01 00 41",
        "D0 05 41 41 41 41",
        "CE FF FF FF FF 00 00 00 00",
        "CD FF FF 00",
        "D6 FF FF FF FF",          /* list32 of 2^32-1 items in 5 bytes */
        "DA FF FF FF FF 81 41 01", /* map32 */
        "D5 00 04 01 02 03",       /* one item short */
        "D8 02 81 41 01 81 42",    /* one value short */
        "A1 81 41",                /* map value missing */
        "BF 4E 01 02",             /* struct of 15 fields, 2 present */
        "91 D6 7F FF FF FF 01 01", /* nested list claiming too much */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct buf b;
        buf_init(&b, 0);
        hex_to_buf(cases[k], &b);
        struct fs_value v;
        assert_int_equal(decode_bytes(b.data, b.len, NULL, &v), FS_ETRUNCATED);
        assert_int_equal(v.kind, FS_VALUE_NULL);
        assert_int_equal(skip_bytes(b.data, b.len, 8), FS_ETRUNCATED);
        buf_deinit(&b);
    }
}

static void test_bad_map_keys(void **state)
{
    static const char *cases[] = {
        "A1 01 01",                   /* int key */
        "A1 C0 01",                   /* null key */
        "A1 CC 01 41 01",             /* bytes key */
        "A1 90 01",                   /* list key */
        "A1 A0 01",                   /* map key */
        "A1 B0 01 01",                /* struct key */
        "A2 81 61 01 C3 01",          /* second key bad */
        "93 01 02 A1 81 61 A1 02 03", /* nested */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct buf b;
        buf_init(&b, 0);
        hex_to_buf(cases[k], &b);
        struct fs_value v;
        assert_int_equal(decode_bytes(b.data, b.len, NULL, &v), FS_EMALFORMED);
        assert_int_equal(v.kind, FS_VALUE_NULL);
        assert_int_equal(skip_bytes(b.data, b.len, 8), FS_EMALFORMED);
        buf_deinit(&b);
    }
    /* A reserved marker deep inside. */
    struct fs_value v;
    assert_int_equal(decode_hex("92 A1 81 61 93 01 02 DF", &v), FS_EMALFORMED);
    assert_int_equal(v.kind, FS_VALUE_NULL);
}

static void test_too_deep(void **state)
{
    uint8_t deep[1001];
    memset(deep, 0x91, 1000);
    deep[1000] = 0x01;
    struct fs_value v;
    assert_int_equal(decode_bytes(deep, sizeof deep, NULL, &v), FS_ETOO_DEEP);
    assert_int_equal(v.kind, FS_VALUE_NULL);
    assert_int_equal(skip_bytes(deep, sizeof deep, PACK_DEFAULT_MAX_DEPTH), FS_ETOO_DEEP);
    /* Truncated and too deep: the depth is seen first. */
    assert_int_equal(decode_bytes(deep, 1000, NULL, &v), FS_ETOO_DEEP);

    /* Exactly max_depth levels pass; one more fails. Maps and structs count. */
    struct pack_limits lim = {1 << 20, 3};
    const uint8_t *ok3 = deep + 1000 - 3;
    assert_int_equal(decode_bytes(ok3, 4, &lim, &v), 0);
    fs_value_deinit(&v);
    assert_int_equal(skip_bytes(ok3, 4, 3), 0);
    assert_int_equal(decode_bytes(ok3 - 1, 5, &lim, &v), FS_ETOO_DEEP);
    assert_int_equal(skip_bytes(ok3 - 1, 5, 3), FS_ETOO_DEEP);

    static const char *mixed[] = {"A1 81 61 B1 01 91 90", "B1 01 A1 81 61 A1 81 62 91 C0",
                                  "91 91 91 B0 01"};
    for (size_t k = 0; k < 3; k++) {
        struct buf b;
        buf_init(&b, 0);
        hex_to_buf(mixed[k], &b);
        assert_int_equal(decode_bytes(b.data, b.len, &lim, &v), FS_ETOO_DEEP);
        assert_int_equal(skip_bytes(b.data, b.len, 3), FS_ETOO_DEEP);
        lim.max_depth = 4;
        assert_int_equal(decode_bytes(b.data, b.len, &lim, &v), 0);
        fs_value_deinit(&v);
        assert_int_equal(skip_bytes(b.data, b.len, 4), 0);
        lim.max_depth = 3;
        buf_deinit(&b);
    }
    /* Depth 0 allows scalars only. */
    lim.max_depth = 0;
    assert_int_equal(decode_bytes("\x01", 1, &lim, &v), 0);
    assert_int_equal(decode_bytes("\x90", 1, &lim, &v), FS_ETOO_DEEP);
}

static void test_max_alloc(void **state)
{
    struct buf b;
    buf_init(&b, 0);
    char s[1000];
    memset(s, 'q', sizeof s);
    assert_int_equal(pack_write_string(&b, s, sizeof s), 0);
    struct pack_limits lim = {500, 8};
    struct fs_value v;
    assert_int_equal(decode_bytes(b.data, b.len, &lim, &v), FS_ETOO_BIG);
    assert_int_equal(v.kind, FS_VALUE_NULL);
    lim.max_alloc = 2000;
    assert_int_equal(decode_bytes(b.data, b.len, &lim, &v), 0);
    fs_value_deinit(&v);

    /* A list of 10000 tiny ints costs its item array, far more than its bytes. */
    buf_reset(&b);
    assert_int_equal(pack_write_list_header(&b, 10000), 0);
    for (int k = 0; k < 10000; k++)
        assert_int_equal(pack_write_int(&b, 1), 0);
    lim.max_alloc = 10000 * sizeof(struct fs_value) - 1;
    assert_int_equal(decode_bytes(b.data, b.len, &lim, &v), FS_ETOO_BIG);
    lim.max_alloc = 10000 * sizeof(struct fs_value) + 64;
    assert_int_equal(decode_bytes(b.data, b.len, &lim, &v), 0);
    fs_value_deinit(&v);
    /* skip allocates nothing, so it is not bound by max_alloc */
    assert_int_equal(skip_bytes(b.data, b.len, 1), 0);

    /* Many empty strings: each counts, even at zero length, and the partial
     * tree is freed (ASan checks the "no leak"). */
    buf_reset(&b);
    assert_int_equal(pack_write_list_header(&b, 5000), 0);
    for (int k = 0; k < 5000; k++)
        assert_int_equal(pack_write_string(&b, "", 0), 0);
    /* 8 bytes per string would cover their 1-byte payloads, but not what
     * malloc spends per block, which is charged too. */
    lim.max_alloc = 5000 * sizeof(struct fs_value) + 64 + 5000 * 8;
    assert_int_equal(decode_bytes(b.data, b.len, &lim, &v), FS_ETOO_BIG);
    assert_int_equal(v.kind, FS_VALUE_NULL);
    lim.max_alloc = 5000 * sizeof(struct fs_value) + 64 + 5000 * 40;
    assert_int_equal(decode_bytes(b.data, b.len, &lim, &v), 0);
    fs_value_deinit(&v);

    /* Map keys count too. */
    buf_reset(&b);
    assert_int_equal(pack_write_map_header(&b, 1), 0);
    assert_int_equal(pack_write_string(&b, s, sizeof s), 0);
    assert_int_equal(pack_write_null(&b), 0);
    lim.max_alloc = 900;
    assert_int_equal(decode_bytes(b.data, b.len, &lim, &v), FS_ETOO_BIG);
    lim.max_alloc = 0;
    assert_int_equal(decode_bytes("\x81\x41", 2, &lim, &v), FS_ETOO_BIG);
    assert_int_equal(decode_bytes("\x01", 1, &lim, &v), 0);
    buf_deinit(&b);
}

/* ---- Structure checks --------------------------------------------------- */

static void expect_struct_check(const char *hex, int want)
{
    struct fs_value v;
    assert_int_equal(decode_hex(hex, &v), 0);
    if (pack_struct_check(&v) != want)
        fail_msg("pack_struct_check(%s) != %d", hex, want);
    fs_value_deinit(&v);
}

#define NODE5 "B4 4E 01 92 81 41 81 42 A1 81 6B 01 83 34 3A 61"
#define NODE4 "B3 4E 01 91 81 41 A0"
#define UNB5 "B4 72 05 84 4B 4E 4F 57 A0 81 72"
#define UNB4 "B3 72 05 84 4B 4E 4F 57 A0"
/* A path of two Bolt 5 nodes and one relationship, before its indices. */
#define PATH2 "B3 50 92 " NODE5 " " NODE5 " 91 " UNB5
#define INT64_MIN_HEX "CB 80 00 00 00 00 00 00 00"

static void test_struct_check(void **state)
{
    expect_struct_check(NODE5, 0);
    expect_struct_check(NODE4, 0);
    expect_struct_check("B4 4E 01 90 A0 C0", FS_EMALFORMED);       /* element_id null */
    expect_struct_check("B4 4E 01 91 01 A0 81 61", FS_EMALFORMED); /* label not a string */
    expect_struct_check("B2 4E 01 90", FS_EMALFORMED);             /* too few fields */
    expect_struct_check("B5 4E 01 90 A0 81 61 01", FS_EMALFORMED); /* too many */
    expect_struct_check("B3 4E 81 31 90 A0", FS_EMALFORMED);       /* id a string */

    expect_struct_check("B8 52 01 02 03 81 54 A0 81 72 81 73 81 65", 0);
    expect_struct_check("B5 52 01 02 03 81 54 A0", 0);
    expect_struct_check("B5 52 01 02 03 01 A0", FS_EMALFORMED);
    expect_struct_check("B6 52 01 02 03 81 54 A0 81 72", FS_EMALFORMED);
    expect_struct_check("B8 52 01 02 03 81 54 A0 81 72 81 73 01", FS_EMALFORMED);

    expect_struct_check(UNB5, 0);
    expect_struct_check(UNB4, 0);
    expect_struct_check("B2 72 05 84 4B 4E 4F 57", FS_EMALFORMED);
    expect_struct_check("B4 72 05 84 4B 4E 4F 57 90 81 72", FS_EMALFORMED);

    /* Path (n0)-[r1]->(n1)<-[r1]-(n0), Bolt 5 and 4.4 members. */
    expect_struct_check(PATH2 " 94 01 01 FF 00", 0);
    expect_struct_check("B3 50 92 " NODE4 " " NODE4 " 91 " UNB4 " 94 01 01 FF 00", 0);
    expect_struct_check("B3 50 91 " NODE5 " 90 90", 0);       /* one node */
    expect_struct_check("B3 50 90 90 90", FS_EMALFORMED);     /* no node */
    expect_struct_check(PATH2 " 93 01 01 FF", FS_EMALFORMED); /* odd count */
    expect_struct_check(PATH2 " 92 02 01", FS_EMALFORMED);    /* rel 2 of 1 */
    expect_struct_check(PATH2 " 92 FE 01", FS_EMALFORMED);    /* rel -2 of 1 */
    expect_struct_check(PATH2 " 92 00 01", FS_EMALFORMED);    /* rel 0 */
    expect_struct_check(PATH2 " 92 01 02", FS_EMALFORMED);    /* node 2 of 0..1 */
    expect_struct_check(PATH2 " 92 01 FF", FS_EMALFORMED);    /* node -1 */
    expect_struct_check(PATH2 " 92 01 C0", FS_EMALFORMED);    /* null index */
    expect_struct_check(PATH2 " 92 " INT64_MIN_HEX " 01", FS_EMALFORMED);
    expect_struct_check("B3 50 91 " UNB5 " 90 90", FS_EMALFORMED);                  /* not a node */
    expect_struct_check("B3 50 91 B2 4E 01 90 90 90", FS_EMALFORMED);               /* bad node */
    expect_struct_check("B3 50 91 " NODE5 " 91 " NODE5 " 92 01 00", FS_EMALFORMED); /* rel a node */
    expect_struct_check("B3 50 91 " NODE5 " 90 A0", FS_EMALFORMED);                 /* map */
    expect_struct_check("B2 50 90 90", FS_EMALFORMED);

    expect_struct_check("B1 44 C9 4A 38", 0);
    expect_struct_check("B1 44 C1 00 00 00 00 00 00 00 00", FS_EMALFORMED);
    expect_struct_check("B2 44 01 02", FS_EMALFORMED);
    expect_struct_check("B2 54 01 02", 0);
    expect_struct_check("B1 54 01", FS_EMALFORMED);
    expect_struct_check("B1 74 01", 0);
    expect_struct_check("B1 74 81 31", FS_EMALFORMED);
    expect_struct_check("B3 49 01 02 03", 0);
    expect_struct_check("B3 49 01 02 81 5A", FS_EMALFORMED);
    expect_struct_check("B3 69 01 02 8C 45 75 72 6F 70 65 2F 50 61 72 69 73", 0);
    expect_struct_check("B3 69 01 02 03", FS_EMALFORMED);
    expect_struct_check("B3 46 01 02 03", 0);
    expect_struct_check("B2 46 01 02", FS_EMALFORMED);
    expect_struct_check("B3 66 01 02 81 5A", 0);
    expect_struct_check("B3 66 01 02 03", FS_EMALFORMED);
    expect_struct_check("B2 64 01 02", 0);
    expect_struct_check("B3 64 01 02 03", FS_EMALFORMED);
    expect_struct_check("B4 45 01 02 03 04", 0);
    expect_struct_check("B4 45 01 02 03 C1 00 00 00 00 00 00 00 00", FS_EMALFORMED);
    expect_struct_check("B3 58 C9 10 E6 C1 3F F0 00 00 00 00 00 00 C1 40 00 00 00 00 00 00 00", 0);
    expect_struct_check("B3 58 C9 10 E6 01 02", FS_EMALFORMED);
    expect_struct_check("B4 59 01 C1 00 00 00 00 00 00 00 00 C1 00 00 00 00 00 00 00 00 "
                        "C1 00 00 00 00 00 00 00 00",
                        0);
    expect_struct_check("B3 59 01 C1 00 00 00 00 00 00 00 00 C1 00 00 00 00 00 00 00 00",
                        FS_EMALFORMED);

    /* Unknown tags pass; non-structs are a caller error. */
    expect_struct_check("B2 7E 01 C0", 0);
    expect_struct_check("B0 01", 0);
    expect_struct_check("91 01", FS_EINVAL);
    assert_int_equal(pack_struct_check(NULL), FS_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int_vectors),       cmocka_unit_test(test_null_bool_float),
        cmocka_unit_test(test_string_vectors),    cmocka_unit_test(test_sized_boundaries),
        cmocka_unit_test(test_list_vectors),      cmocka_unit_test(test_list_boundaries),
        cmocka_unit_test(test_map_vectors),       cmocka_unit_test(test_map_boundaries),
        cmocka_unit_test(test_struct_vectors),    cmocka_unit_test(test_roundtrip_nested),
        cmocka_unit_test(test_encode_errors),     cmocka_unit_test(test_every_marker),
        cmocka_unit_test(test_read_item),         cmocka_unit_test(test_truncated_every_prefix),
        cmocka_unit_test(test_oversized_lengths), cmocka_unit_test(test_bad_map_keys),
        cmocka_unit_test(test_too_deep),          cmocka_unit_test(test_max_alloc),
        cmocka_unit_test(test_struct_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
