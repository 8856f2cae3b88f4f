/* Unit tests for sync/fingerprint: the canonical values and hash that verify compares, from
 * PackStream through the mapping rules (the Neo4j side, sync/transcode's fingerprint sink) and
 * from compact reply cells (the cache side, built here as hiredis would). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include <math.h>
#include <stdio.h>

#include "bolt/pack.h"
#include "sync/fingerprint.h"
#include "sync/transcode.h"

#define OK(call) assert_int_equal((call), 0)

/* ---- compact cells by hand ---- */

static redisReply *r_int(long long v)
{
    redisReply *r = calloc(1, sizeof *r);
    r->type = REDIS_REPLY_INTEGER;
    r->integer = v;
    return r;
}

static redisReply *r_str(const char *s)
{
    redisReply *r = calloc(1, sizeof *r);
    r->type = REDIS_REPLY_STRING;
    r->len = strlen(s);
    r->str = strdup(s);
    return r;
}

static redisReply *r_arr(size_t n, ...)
{
    redisReply *r = calloc(1, sizeof *r);
    r->type = REDIS_REPLY_ARRAY;
    r->elements = n;
    r->element = calloc(n ? n : 1, sizeof *r->element);
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        r->element[i] = va_arg(ap, redisReply *);
    va_end(ap);
    return r;
}

static redisReply *cell(int type, redisReply *v)
{
    return r_arr(2, r_int(type), v);
}

static void r_free(redisReply *r)
{
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        r_free(r->element[i]);
    free(r->element);
    free(r->str);
    free(r);
}

static void canon_compact(redisReply *c, const char *want, size_t wlen)
{
    struct buf b;
    buf_init(&b, 0);
    OK(fp_canon_compact(&b, c));
    assert_int_equal(b.len, wlen);
    assert_memory_equal(b.data, want, wlen);
    buf_deinit(&b);
    r_free(c);
}

static void test_compact_cells(void **state)
{
    (void)state;
    canon_compact(cell(FDB_CT_NULL, r_int(0)), "n", 1);
    canon_compact(cell(FDB_CT_STRING, r_str("a'b")), "s\3\0\0\0a'b", 8);
    canon_compact(cell(FDB_CT_INTEGER, r_int(-2)), "i\xfe\xff\xff\xff\xff\xff\xff\xff", 9);
    canon_compact(cell(FDB_CT_BOOLEAN, r_str("true")), "b1", 2);
    canon_compact(cell(FDB_CT_BOOLEAN, r_str("false")), "b0", 2);
    canon_compact(cell(FDB_CT_DOUBLE, r_str("0.1")), "d\0030.1", 5);
    canon_compact(cell(FDB_CT_ARRAY, r_arr(2, cell(FDB_CT_BOOLEAN, r_str("true")),
                                           cell(FDB_CT_STRING, r_str("x")))),
                  "l\2\0\0\0b1s\1\0\0\0x", 13);
    canon_compact(cell(FDB_CT_DATETIME, r_int(1)), "t\15\1\0\0\0\0\0\0\0", 10);
    /* vectors: v, the count, then the float32 bits of each element (host order) */
    float one = 1.0f;
    char want[16] = "v\1\0\0\0";
    memcpy(want + 5, &one, 4);
    canon_compact(cell(FDB_CT_VECTORF32, r_arr(1, r_str("1"))), want, 9);
    /* a cell FalkorDB would not send differs from everything */
    canon_compact(r_int(3), "?", 1);
}

/* The fingerprint of a PackStream property map read by the rules (the Neo4j side). */
static uint64_t neo_side(const struct buf *map, const char *head)
{
    static const char *const embeddings[] = {"name_embedding", NULL};
    struct xc_rules rules = {.embeddings = embeddings, .nembeddings = 1};
    struct pack_reader r;
    pack_reader_init(&r, map->data, map->len);
    struct buf scratch;
    buf_init(&scratch, 0);
    struct xc_stats st = {0};
    struct fp_item f;
    fp_item_init(&f);
    OK(xc_props_fp(&r, &rules, &scratch, NULL, &st, &f));
    buf_deinit(&scratch);
    return fp_item_hash(&f, head, strlen(head));
}

/* The fingerprint of (name, compact cell) pairs (the cache side); frees the cells. */
static uint64_t cache_side(size_t n, const char *const *names, redisReply **cells, const char *head)
{
    struct buf tmp;
    buf_init(&tmp, 0);
    struct fp_item f;
    fp_item_init(&f);
    for (size_t i = 0; i < n; i++) {
        buf_reset(&tmp);
        OK(fp_canon_compact(&tmp, cells[i]));
        fp_item_prop(&f, names[i], strlen(names[i]), tmp.data, tmp.len);
        r_free(cells[i]);
    }
    buf_deinit(&tmp);
    return fp_item_hash(&f, head, strlen(head));
}

/* The same item read from both sides hashes the same, whatever the property order. */
static void test_both_sides_agree(void **state)
{
    (void)state;
    struct buf m;
    buf_init(&m, 0);
    OK(pack_write_map_header(&m, 6));
    OK(pack_write_cstr(&m, "name"));
    OK(pack_write_cstr(&m, "Alice"));
    OK(pack_write_cstr(&m, "n"));
    OK(pack_write_int(&m, 7));
    OK(pack_write_cstr(&m, "f"));
    OK(pack_write_float(&m, 0.30000000000000004));
    OK(pack_write_cstr(&m, "ok"));
    OK(pack_write_bool(&m, true));
    OK(pack_write_cstr(&m, "l"));
    OK(pack_write_list_header(&m, 2));
    OK(pack_write_int(&m, 1));
    OK(pack_write_int(&m, 2));
    OK(pack_write_cstr(&m, "gone"));
    OK(pack_write_null(&m)); /* FalkorDB holds no null property */
    uint64_t a = neo_side(&m, "N:Entity\x1f");
    const char *names[] = {"l", "ok", "f", "name", "n"};
    redisReply *cells[] = {
        cell(FDB_CT_ARRAY,
             r_arr(2, cell(FDB_CT_INTEGER, r_int(1)), cell(FDB_CT_INTEGER, r_int(2)))),
        cell(FDB_CT_BOOLEAN, r_str("true")),
        cell(FDB_CT_DOUBLE, r_str("0.3")), /* FalkorDB prints 15 digits */
        cell(FDB_CT_STRING, r_str("Alice")),
        cell(FDB_CT_INTEGER, r_int(7)),
    };
    assert_true(cache_side(5, names, cells, "N:Entity\x1f") == a);
    /* the head is part of it: another label set is another item */
    redisReply *again[] = {
        cell(FDB_CT_ARRAY,
             r_arr(2, cell(FDB_CT_INTEGER, r_int(1)), cell(FDB_CT_INTEGER, r_int(2)))),
        cell(FDB_CT_BOOLEAN, r_str("true")),
        cell(FDB_CT_DOUBLE, r_str("0.3")),
        cell(FDB_CT_STRING, r_str("Alice")),
        cell(FDB_CT_INTEGER, r_int(7)),
    };
    assert_true(cache_side(5, names, again, "N:Entity\x1fPerson\x1f") != a);
    /* one value changed: another fingerprint */
    redisReply *changed[] = {
        cell(FDB_CT_ARRAY,
             r_arr(2, cell(FDB_CT_INTEGER, r_int(1)), cell(FDB_CT_INTEGER, r_int(2)))),
        cell(FDB_CT_BOOLEAN, r_str("true")),
        cell(FDB_CT_DOUBLE, r_str("0.3")),
        cell(FDB_CT_STRING, r_str("Alicf")),
        cell(FDB_CT_INTEGER, r_int(7)),
    };
    assert_true(cache_side(5, names, changed, "N:Entity\x1f") != a);
    /* a property missing: another fingerprint */
    redisReply *fewer[] = {
        cell(FDB_CT_ARRAY,
             r_arr(2, cell(FDB_CT_INTEGER, r_int(1)), cell(FDB_CT_INTEGER, r_int(2)))),
        cell(FDB_CT_BOOLEAN, r_str("true")),
        cell(FDB_CT_DOUBLE, r_str("0.3")),
        cell(FDB_CT_STRING, r_str("Alice")),
    };
    assert_true(cache_side(4, names, fewer, "N:Entity\x1f") != a);
    buf_deinit(&m);
}

/* Property names and values are hashed apart: moving bytes between them changes the hash;
 * swapping the values of two properties too. */
static void test_no_ambiguity(void **state)
{
    (void)state;
    struct fp_item p, q;
    fp_item_init(&p);
    fp_item_init(&q);
    fp_item_prop(&p, "ab", 2, "i1", 2);
    fp_item_prop(&q, "a", 1, "bi1", 3);
    assert_true(fp_item_hash(&p, "", 0) != fp_item_hash(&q, "", 0));
    fp_item_init(&p);
    fp_item_init(&q);
    fp_item_prop(&p, "a", 1, "x", 1);
    fp_item_prop(&p, "b", 1, "y", 1);
    fp_item_prop(&q, "a", 1, "y", 1);
    fp_item_prop(&q, "b", 1, "x", 1);
    assert_true(fp_item_hash(&p, "", 0) != fp_item_hash(&q, "", 0));
    assert_true(fp_item_hash(&p, "", 0) == fp_item_hash(&p, "", 0)); /* stable */
}

/* A 1024-float embedding: the Neo4j list of float64 against FalkorDB's vecf32 cells. */
#define DIM 1024

static void embedding_map(struct buf *m, const double *v)
{
    buf_reset(m);
    OK(pack_write_map_header(m, 2));
    OK(pack_write_cstr(m, "uuid"));
    OK(pack_write_cstr(m, "u1"));
    OK(pack_write_cstr(m, "name_embedding"));
    OK(pack_write_list_header(m, DIM));
    for (int i = 0; i < DIM; i++)
        OK(pack_write_float(m, v[i]));
}

/* The cache side of that item: FalkorDB prints each float32 element as double text. */
static uint64_t cached_embedding(const float *v)
{
    redisReply *vec = r_arr(0);
    free(vec->element);
    vec->elements = DIM;
    vec->element = calloc(DIM, sizeof *vec->element);
    for (int i = 0; i < DIM; i++) {
        char t[40];
        snprintf(t, sizeof t, "%.17g", (double)v[i]);
        vec->element[i] = r_str(t);
    }
    const char *names[] = {"uuid", "name_embedding"};
    redisReply *cells[] = {cell(FDB_CT_STRING, r_str("u1")), cell(FDB_CT_VECTORF32, vec)};
    return cache_side(2, names, cells, "N:Entity\x1f");
}

static void test_embedding_one_ulp(void **state)
{
    (void)state;
    static double src[DIM];
    static float cached[DIM];
    for (int i = 0; i < DIM; i++) {
        src[i] = (double)(float)(0.001 * (i - 512) + 1e-7 * i);
        cached[i] = (float)src[i];
    }
    struct buf m;
    buf_init(&m, 0);
    embedding_map(&m, src);
    uint64_t same = neo_side(&m, "N:Entity\x1f");
    assert_true(cached_embedding(cached) == same);
    /* one element one float32 ULP away in the cache: found */
    cached[700] = nextafterf(cached[700], INFINITY);
    assert_true(cached_embedding(cached) != same);
    cached[700] = (float)src[700];
    /* ... and in the source */
    src[3] = (double)nextafterf((float)src[3], -INFINITY);
    embedding_map(&m, src);
    assert_true(neo_side(&m, "N:Entity\x1f") != same);
    buf_deinit(&m);
}

static void test_embedding_equal_after_rounding(void **state)
{
    (void)state;
    static double src[DIM];
    static float cached[DIM];
    for (int i = 0; i < DIM; i++) {
        /* float64 values that are not float32 values: vecf32 keeps their rounding */
        src[i] = 0.1 * (i + 1) / 3.0;
        cached[i] = (float)src[i];
    }
    struct buf m;
    buf_init(&m, 0);
    embedding_map(&m, src);
    uint64_t a = neo_side(&m, "N:Entity\x1f");
    assert_true(cached_embedding(cached) == a);
    /* a source value moved by less than half a float32 ULP rounds the same: no difference */
    src[10] = nextafter(src[10], INFINITY);
    embedding_map(&m, src);
    assert_true(neo_side(&m, "N:Entity\x1f") == a);
    buf_deinit(&m);
}

static void test_sorted_labels(void **state)
{
    (void)state;
    char a[] = "Person", b[] = "Entity", c[] = "Zed";
    char *names[] = {a, b, c};
    struct buf h;
    buf_init(&h, 0);
    OK(fp_sorted_labels(&h, names, 3));
    assert_string_equal(h.data, "Entity\x1fPerson\x1fZed\x1f");
    buf_deinit(&h);
}

/* The vecf32 element parser against strtod: the same float32 for the texts FalkorDB prints
 * (a float32's double, 17 significant digits or fewer), over random float32 bit patterns of
 * every normal exponent; what it declines is left to strtod. */
static void test_f32_from_text(void **state)
{
    (void)state;
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    unsigned fast = 0, total = 0;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint32_t bits = (uint32_t)x;
        if (i % 4 == 0) /* embeddings' range: |v| < 1 */
            bits = (bits & 0x807FFFFFu) | ((uint32_t)(100 + (x >> 40) % 27) << 23);
        float f;
        memcpy(&f, &bits, 4);
        if (!isnormal(f))
            continue;
        char text[80];
        double d = f;
        switch (i % 6) { /* the ways a float32's double can be printed */
        case 0:
            snprintf(text, sizeof text, "%.17g", d);
            break;
        case 1:
            snprintf(text, sizeof text, "%.16g", d);
            break;
        case 2:
            snprintf(text, sizeof text, "%.15g", d);
            break;
        case 3:
            snprintf(text, sizeof text, "%.9g", d);
            break;
        case 4:
            snprintf(text, sizeof text, "%.17e", d);
            break;
        default:
            snprintf(text, sizeof text, "%.8f", d);
            break;
        }
        float want = (float)strtod(text, NULL), got;
        total++;
        if (fp_f32_from_text(text, strlen(text), &got)) {
            fast++;
            uint32_t gb, wb;
            memcpy(&gb, &got, 4);
            memcpy(&wb, &want, 4);
            if (gb != wb)
                fail_msg("%s: %08x, strtod %08x", text, gb, wb);
        }
    }
    assert_true(fast > total * 9 / 10); /* the fast path is the common one */
    const char *no[] = {"inf",   "-inf", "nan", "", "-", ".", "1e", "1.5x", "12345678901234567890",
                        "1e-60", "3e39"};
    float f;
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        assert_false(fp_f32_from_text(no[i], strlen(no[i]), &f));
    assert_true(fp_f32_from_text("-0", 2, &f) && f == 0 && signbit(f));
    assert_true(fp_f32_from_text("0.5", 3, &f) && f == 0.5f);
    assert_true(fp_f32_from_text("0.500000059604644775390625", 26, &f) == false ||
                f == 0.500000059604644775390625f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compact_cells),
        cmocka_unit_test(test_both_sides_agree),
        cmocka_unit_test(test_no_ambiguity),
        cmocka_unit_test(test_embedding_one_ulp),
        cmocka_unit_test(test_embedding_equal_after_rounding),
        cmocka_unit_test(test_sorted_labels),
        cmocka_unit_test(test_f32_from_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
