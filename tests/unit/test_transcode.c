/* Unit tests for the transcoder's native temporals, the generic profile's keys and the graphiti
 * profile's default group id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "bolt/pack.h"
#include "sync/gkey.h"
#include "sync/transcode.h"
#include "util/buf.h"

/* {k: <temporal struct tag with the given int fields>} as PackStream. */
static void temporal_map(struct buf *b, const char *k, uint8_t tag, int n, const int64_t *f)
{
    assert_int_equal(pack_write_map_header(b, 1), 0);
    assert_int_equal(pack_write_cstr(b, k), 0);
    assert_int_equal(pack_write_struct_header(b, tag, (uint32_t)n), 0);
    for (int i = 0; i < n; i++)
        assert_int_equal(pack_write_int(b, f[i]), 0);
}

/* Transcodes the map in p with native temporals on; returns the row text. */
static void run(const struct buf *p, struct buf *row, struct xc_native *nt, bool native)
{
    struct xc_rules rules = {.embeddings = NULL, .nembeddings = 0, .native_temporal = native};
    struct xc_stats st = {0};
    struct pack_reader r;
    pack_reader_init(&r, (const uint8_t *)p->data, p->len);
    buf_reset(row);
    assert_int_equal(xc_props(&r, &rules, row, NULL, nt, &st), 0);
    assert_int_equal(r.pos, r.len);
}

static void test_native_temporals(void **state)
{
    struct buf p, row;
    buf_init(&p, 0);
    buf_init(&row, 0);
    struct xc_native nt;

    int64_t date[1] = {20325}; /* 2025-08-25 */
    temporal_map(&p, "d", PACK_TAG_DATE, 1, date);
    run(&p, &row, &nt, true);
    assert_string_equal(row.data, "{}");
    assert_int_equal(nt.n, 1);
    assert_string_equal(nt.v[0].fn, "date");
    assert_string_equal(nt.v[0].text, "2025-08-25");
    assert_int_equal(nt.v[0].code, 14);
    assert_int_equal(nt.v[0].value, 1756080000); /* what FalkorDB 4.16 returns */

    /* the same value with native off stays text */
    run(&p, &row, &nt, false);
    assert_string_equal(row.data, "{d:'2025-08-25'}");
    assert_int_equal(nt.n, 0);

    buf_reset(&p);
    int64_t ldt[2] = {1756125296, 0}; /* 2025-08-25T12:34:56 */
    temporal_map(&p, "t", PACK_TAG_LOCAL_DATE_TIME, 2, ldt);
    run(&p, &row, &nt, true);
    assert_int_equal(nt.n, 1);
    assert_string_equal(nt.v[0].fn, "localdatetime");
    assert_string_equal(nt.v[0].text, "2025-08-25T12:34:56");
    assert_int_equal(nt.v[0].value, 1756125296);

    /* a fraction of a second: FalkorDB would drop it, so it stays text */
    buf_reset(&p);
    int64_t frac[2] = {1756125296, 500000000};
    temporal_map(&p, "t", PACK_TAG_LOCAL_DATE_TIME, 2, frac);
    run(&p, &row, &nt, true);
    assert_int_equal(nt.n, 0);
    assert_string_equal(row.data, "{t:'2025-08-25T12:34:56.500000'}");

    /* zoned: its UTC value */
    buf_reset(&p);
    int64_t zdt[3] = {1756125296, 0, 7200};
    temporal_map(&p, "z", PACK_TAG_DATE_TIME, 3, zdt);
    run(&p, &row, &nt, true);
    assert_int_equal(nt.n, 1);
    assert_string_equal(nt.v[0].text, "2025-08-25T12:34:56");

    buf_reset(&p);
    int64_t lt[1] = {45296LL * 1000000000};
    temporal_map(&p, "lt", PACK_TAG_LOCAL_TIME, 1, lt);
    run(&p, &row, &nt, true);
    assert_int_equal(nt.n, 1);
    assert_string_equal(nt.v[0].fn, "localtime");
    assert_string_equal(nt.v[0].text, "12:34:56");
    assert_int_equal(nt.v[0].value, -2208943504LL); /* what FalkorDB 4.16 returns */

    buf_reset(&p);
    int64_t dur[4] = {0, 2, 3, 0};
    temporal_map(&p, "du", PACK_TAG_DURATION, 4, dur);
    run(&p, &row, &nt, true);
    assert_int_equal(nt.n, 1);
    assert_string_equal(nt.v[0].text, "P2DT3S");
    assert_int_equal(nt.v[0].value, 2 * 86400 + 3);

    /* months have no fixed length in seconds: text */
    buf_reset(&p);
    int64_t mon[4] = {1, 2, 3, 0};
    temporal_map(&p, "du", PACK_TAG_DURATION, 4, mon);
    run(&p, &row, &nt, true);
    assert_int_equal(nt.n, 0);

    /* year -1 is outside what FalkorDB parses: text, with Neo4j's expanded year */
    buf_reset(&p);
    int64_t old[1] = {-719529};
    temporal_map(&p, "d", PACK_TAG_DATE, 1, old);
    run(&p, &row, &nt, true);
    assert_int_equal(nt.n, 0);
    assert_string_equal(row.data, "{d:'-0001-12-31'}");

    /* Time with an offset has no FalkorDB type: text */
    buf_reset(&p);
    int64_t tm[2] = {45296LL * 1000000000, 3600};
    temporal_map(&p, "tz", PACK_TAG_TIME, 2, tm);
    run(&p, &row, &nt, true);
    assert_int_equal(nt.n, 0);
    assert_string_equal(row.data, "{tz:'12:34:56+01:00'}");

    buf_deinit(&p);
    buf_deinit(&row);
}

static void test_native_query_parts(void **state)
{
    struct xc_native nt = {.n = 2};
    snprintf(nt.v[0].name, sizeof nt.v[0].name, "%s", "born day");
    nt.v[0].fn = "date";
    snprintf(nt.v[0].text, sizeof nt.v[0].text, "%s", "2001-02-03");
    snprintf(nt.v[1].name, sizeof nt.v[1].name, "%s", "at");
    nt.v[1].fn = "localdatetime";
    snprintf(nt.v[1].text, sizeof nt.v[1].text, "%s", "2001-02-03T04:05:06");
    struct buf key, row, q;
    buf_init(&key, 0);
    buf_init(&row, 0);
    buf_init(&q, 0);
    assert_int_equal(buf_append_str(&key, "A\x1f"
                                          "B"),
                     0);
    assert_int_equal(xc_native_signature(&key, &nt), 0);
    assert_int_equal(xc_key_base_len(key.data), 3);
    assert_int_equal(xc_native_row(&row, &nt), 0);
    assert_string_equal(row.data, ",t0:'2001-02-03',t1:'2001-02-03T04:05:06'");
    assert_int_equal(xc_native_sets(&q, "n", key.data), 0);
    assert_string_equal(q.data, ", n.`born day` = date(r.t0), n.`at` = localdatetime(r.t1)");
    buf_reset(&q);
    assert_int_equal(xc_native_sets(&q, "n",
                                    "A\x1f"
                                    "B"),
                     0);
    assert_int_equal(q.len, 0);
    buf_deinit(&key);
    buf_deinit(&row);
    buf_deinit(&q);
}

/* Neo4j's default group "" becomes Graphiti's FalkorDB default group "_", in
 * the parameter text and in GRAPH.BULK values; other values and other
 * properties holding "" stay as they are, and without the rule nothing changes. */
static void test_empty_group_id(void **state)
{
    (void)state;
    struct buf p, row, names, vals;
    buf_init(&p, 0);
    buf_init(&row, 0);
    buf_init(&names, 0);
    buf_init(&vals, 0);
    assert_int_equal(pack_write_map_header(&p, 3), 0);
    assert_int_equal(pack_write_cstr(&p, "group_id"), 0);
    assert_int_equal(pack_write_cstr(&p, ""), 0);
    assert_int_equal(pack_write_cstr(&p, "summary"), 0);
    assert_int_equal(pack_write_cstr(&p, ""), 0);
    assert_int_equal(pack_write_cstr(&p, "n"), 0);
    assert_int_equal(pack_write_int(&p, 1), 0);
    struct xc_stats st = {0};
    struct xc_rules rules = {.empty_group_id = "_"};
    struct pack_reader r;
    pack_reader_init(&r, (const uint8_t *)p.data, p.len);
    assert_int_equal(xc_props(&r, &rules, &row, NULL, NULL, &st), 0);
    assert_int_equal(r.pos, r.len);
    assert_string_equal(row.data, "{group_id:'_',summary:'',n:1}");

    uint32_t nprops = 0;
    unsigned seen = 0;
    pack_reader_init(&r, (const uint8_t *)p.data, p.len);
    assert_int_equal(xc_props_bulk(&r, &rules, &names, &vals, &nprops, &seen, &st), 0);
    assert_int_equal(r.pos, r.len);
    assert_int_equal(nprops, 3);
    assert_int_equal(vals.data[0], 3 /* FDB_BULK_STRING */);
    assert_string_equal(vals.data + 1, "_");

    struct xc_rules none = {0};
    buf_reset(&row);
    pack_reader_init(&r, (const uint8_t *)p.data, p.len);
    assert_int_equal(xc_props(&r, &none, &row, NULL, NULL, &st), 0);
    assert_string_equal(row.data, "{group_id:'',summary:'',n:1}");

    buf_reset(&p); /* a named group is kept */
    assert_int_equal(pack_write_map_header(&p, 1), 0);
    assert_int_equal(pack_write_cstr(&p, "group_id"), 0);
    assert_int_equal(pack_write_cstr(&p, "g1"), 0);
    buf_reset(&row);
    pack_reader_init(&r, (const uint8_t *)p.data, p.len);
    assert_int_equal(xc_props(&r, &rules, &row, NULL, NULL, &st), 0);
    assert_string_equal(row.data, "{group_id:'g1'}");
    buf_deinit(&p);
    buf_deinit(&row);
    buf_deinit(&names);
    buf_deinit(&vals);
}

static void test_generic_keys(void **state)
{
    struct buf p;
    buf_init(&p, 0);
    struct gkey k;
    struct pack_reader r;

    /* a string key */
    assert_int_equal(pack_write_cstr(&p, "it's"), 0);
    assert_int_equal(pack_write_cstr(&p, "4:db:1"), 0);
    pack_reader_init(&r, (const uint8_t *)p.data, p.len);
    assert_int_equal(gk_read(&r, &k), 0);
    assert_false(k.by_id);
    assert_string_equal(k.str, "it's");
    assert_string_equal(k.raw, "\"it's\"");
    assert_string_equal(gk_prop(&k, "id"), "id");

    /* an integer key */
    buf_reset(&p);
    assert_int_equal(pack_write_int(&p, -42), 0);
    assert_int_equal(pack_write_cstr(&p, "4:db:2"), 0);
    pack_reader_init(&r, (const uint8_t *)p.data, p.len);
    assert_int_equal(gk_read(&r, &k), 0);
    assert_true(k.is_int);
    assert_string_equal(k.str, "-42");
    assert_string_equal(k.raw, "-42");

    /* a float (or a list, or null) falls back to the element id */
    buf_reset(&p);
    assert_int_equal(pack_write_list_header(&p, 2), 0);
    assert_int_equal(pack_write_float(&p, 1.5), 0);
    assert_int_equal(pack_write_null(&p), 0);
    assert_int_equal(pack_write_cstr(&p, "4:db:3"), 0);
    pack_reader_init(&r, (const uint8_t *)p.data, p.len);
    assert_int_equal(gk_read(&r, &k), 0);
    assert_true(k.by_id);
    assert_string_equal(k.str, "4:db:3");
    assert_string_equal(gk_prop(&k, "id"), GK_ID_PROP);
    assert_int_equal(r.pos, r.len);

    /* the element id joins the property map */
    struct buf row;
    buf_init(&row, 0);
    assert_int_equal(buf_append_str(&row, "{}"), 0);
    assert_int_equal(gk_add_id_prop(&row, "4:db:3"), 0);
    assert_string_equal(row.data, "{_neo4j_id:'4:db:3'}");
    buf_reset(&row);
    assert_int_equal(buf_append_str(&row, "{a:1}"), 0);
    assert_int_equal(gk_add_id_prop(&row, "x"), 0);
    assert_string_equal(row.data, "{a:1,_neo4j_id:'x'}");

    /* Neo4j's order of stored strings: code points, which is UTF-8 byte order */
    assert_true(sync_keycmp("a", "b") < 0);
    assert_true(sync_keycmp("\xee\x80\x80", "\xf0\x9f\x98\x80") < 0); /* U+E000 < U+1F600 */
    assert_int_equal(sync_keycmp("x", "x"), 0);
    buf_deinit(&row);
    buf_deinit(&p);
}

/* The ISO texts, built digit by digit for the usual widths and by snprintf otherwise. */
static void test_iso_text(void **state)
{
    (void)state;
    char t[96];
    assert_int_equal(xc_format_date(0, t, sizeof t), 10);
    assert_string_equal(t, "1970-01-01");
    assert_int_equal(xc_format_date(-719528, t, sizeof t), 10); /* 0000-01-01 */
    assert_string_equal(t, "0000-01-01");
    xc_format_date(-719529, t, sizeof t);
    assert_string_equal(t, "-0001-12-31");
    xc_format_date(2932897, t, sizeof t); /* 10000-01-01: a fifth digit */
    assert_string_equal(t, "10000-01-01");
    xc_format_date(2932896, t, sizeof t);
    assert_string_equal(t, "9999-12-31");
    assert_int_equal(xc_format_datetime_utc(0, 0, t, sizeof t), 25);
    assert_string_equal(t, "1970-01-01T00:00:00+00:00");
    xc_format_datetime_utc(1756137599, 123000, t, sizeof t);
    assert_string_equal(t, "2025-08-25T15:59:59.000123+00:00");
    xc_format_datetime_utc(-1, 5, t, sizeof t);
    assert_string_equal(t, "1969-12-31T23:59:59.000000005+00:00");
    xc_format_datetime_utc(86400 * 20325 + 3723, 999999999, t, sizeof t);
    assert_string_equal(t, "2025-08-25T01:02:03.999999999+00:00");
    /* a small buffer: cut as snprintf cuts */
    char s[8];
    xc_format_date(20325, s, sizeof s);
    assert_string_equal(s, "2025-08");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iso_text),           cmocka_unit_test(test_native_temporals),
        cmocka_unit_test(test_native_query_parts), cmocka_unit_test(test_generic_keys),
        cmocka_unit_test(test_empty_group_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
