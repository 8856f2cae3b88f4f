/* libFuzzer target for falkor/bulk and the PackStream -> GRAPH.BULK transcoders:
 * the token checker on raw bytes, and every token built from transcoded
 * properties passes the checker bulkload.c runs before sending. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bolt/pack.h"
#include "falkor/bulk.h"
#include "sync/transcode.h"
#include "util/buf.h"

/* abort() rather than assert(): the check must survive -DNDEBUG builds. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_bulk: %s (line %d)\n", #cond, __LINE__);                         \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* bulkload.c checks every token with this depth before it is sent. */
#define SEND_DEPTH PACK_DEFAULT_MAX_DEPTH

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* 1. Raw bytes as a token: no crash or out-of-bounds read (ASan), the same
 *    answer for every larger depth, and what it accepts has a header that
 *    fdb_bulk_header writes byte for byte. */
static void fuzz_check(const uint8_t *data, size_t size)
{
    static const int depths[] = {-1, 0, 1, 3};
    enum { ND = sizeof depths / sizeof depths[0] };
    for (int edge = 0; edge < 2; edge++) {
        int rc[ND];
        uint64_t rows[ND];
        for (int k = 0; k < ND; k++) {
            rows[k] = 0;
            rc[k] = fdb_bulk_check(data, size, edge, depths[k], &rows[k]);
            CHECK(rc[k] == 0 || rc[k] == FS_EMALFORMED);
            if (k && rc[k - 1] == 0)
                CHECK(rc[k] == 0 && rows[k] == rows[k - 1]);
        }
        if (rc[ND - 1])
            continue;
        uint64_t nrows = rows[ND - 1];

        /* take the header apart as the server does */
        const uint8_t *z = memchr(data, 0, size);
        CHECK(z && z != data);
        size_t llen = (size_t)(z - data), pos = llen + 1;
        CHECK(size - pos >= 4);
        uint32_t n = le32(data + pos);
        pos += 4;
        CHECK(n <= FDB_BULK_MAX_PROPS);
        size_t names_at = pos;
        for (uint32_t i = 0; i < n; i++) {
            z = memchr(data + pos, 0, size - pos);
            CHECK(z);
            pos = (size_t)(z - data) + 1;
        }
        size_t hlen = pos;

        /* the writer agrees with the checker */
        struct buf t;
        buf_init(&t, 0);
        CHECK(fdb_bulk_header(&t, edge, (const char *)data, llen, n, (const char *)data + names_at,
                              hlen - names_at) == 0);
        CHECK(t.len == hlen && memcmp(t.data, data, hlen) == 0);

        /* every row takes its ends and at least a byte per value */
        uint64_t per_row = (edge ? 16 : 0) + (uint64_t)n;
        CHECK(per_row > 0 || nrows == 0);
        CHECK(nrows * per_row <= size - hlen);
        CHECK(nrows > 0 || hlen == size);

        /* the header alone: 0 rows; one more row of NULLs: one more row */
        uint64_t r2 = 99;
        CHECK(fdb_bulk_check(data, hlen, edge, 0, &r2) == 0 && r2 == 0);
        if (per_row) {
            buf_reset(&t);
            CHECK(buf_append(&t, data, size) == 0);
            if (edge)
                CHECK(fdb_bulk_ends(&t, 1, 2) == 0);
            for (uint32_t i = 0; i < n; i++)
                CHECK(fdb_bulk_null(&t) == 0);
            CHECK(fdb_bulk_check(t.data, t.len, edge, depths[ND - 1], &r2) == 0);
            CHECK(r2 == nrows + 1);
            /* and one byte less is refused (unless that row was one NULL) */
            int rc1 = fdb_bulk_check(t.data, t.len - 1, edge, depths[ND - 1], &r2);
            if (per_row == 1)
                CHECK(rc1 == 0 && r2 == nrows);
            else
                CHECK(rc1 == FS_EMALFORMED);
        }
        buf_deinit(&t);
    }
}

/* 2. The input as a property map: whatever xc_props_bulk accepts makes node
 *    and edge tokens the checker takes with one row per copy. */
static void fuzz_props(const uint8_t *data, size_t size)
{
    static const char *const embs[] = {"e", "name_embedding", NULL};
    struct xc_rules rules = {.embeddings = embs, .nembeddings = 2};
    struct pack_reader r;
    pack_reader_init(&r, data, size);
    struct buf names, vals, t;
    buf_init(&names, 0);
    buf_init(&vals, 0);
    buf_init(&t, 0);
    uint32_t nprops = 0;
    unsigned seen = 0;
    struct xc_stats st = {0};
    int rc = xc_props_bulk(&r, &rules, &names, &vals, &nprops, &seen, &st);
    if (rc) {
        CHECK(rc < 0);
        goto out;
    }
    CHECK(r.pos <= size);
    CHECK((seen & ~3u) == 0);
    /* names: nprops NUL-terminated names, none with a backtick */
    uint32_t nuls = 0;
    for (size_t i = 0; i < names.len; i++) {
        nuls += names.data[i] == '\0';
        CHECK(names.data[i] != '`');
    }
    CHECK(nuls == nprops);
    CHECK(names.len == 0 || names.data[names.len - 1] == '\0');
    /* a kept property writes a value; nothing kept, nothing written */
    CHECK((nprops == 0) == (vals.len == 0));
    if (nprops > FDB_BULK_MAX_PROPS) /* needs more input than the fuzzer gives */
        goto out;

    for (int edge = 0; edge < 2; edge++) {
        buf_reset(&t);
        CHECK(fdb_bulk_header(&t, edge, edge ? "R" : "L", 1, nprops, names.data, names.len) == 0);
        if (!edge && !nprops) { /* a node token needs a property for its rows */
            uint64_t rows = 9;
            CHECK(fdb_bulk_check(t.data, t.len, edge, SEND_DEPTH, &rows) == 0 && rows == 0);
            continue;
        }
        for (uint64_t copies = 1; copies <= 2; copies++) {
            if (edge)
                CHECK(fdb_bulk_ends(&t, copies, 7) == 0);
            CHECK(buf_append(&t, vals.data, vals.len) == 0);
            uint64_t rows = 0;
            int crc = fdb_bulk_check(t.data, t.len, edge, SEND_DEPTH, &rows);
            if (crc)
                fprintf(stderr,
                        "fuzz_bulk: a transcoded %s token (%zu bytes, %u props) "
                        "fails the send check\n",
                        edge ? "edge" : "node", t.len, nprops);
            CHECK(crc == 0);
            CHECK(rows == copies);
        }
    }
out:
    buf_deinit(&names);
    buf_deinit(&vals);
    buf_deinit(&t);
}

/* 3. The input as one value: xc_value_bulk agrees with xc_value (the
 *    parameter text it mirrors) on what is kept, dropped and counted; a
 *    dropped or failed value leaves the output as it was; a kept one is a
 *    well-formed value. */
static void fuzz_value(const uint8_t *data, size_t size)
{
    struct pack_reader rb, rt;
    pack_reader_init(&rb, data, size);
    pack_reader_init(&rt, data, size);
    struct buf b, text;
    buf_init(&b, 0);
    buf_init(&text, 0);
    CHECK(buf_append(&b, "pre", 3) == 0);
    struct xc_stats sb = {0}, stt = {0};
    int rcb = xc_value_bulk(&rb, &b, &sb);
    int rct = xc_value(&rt, &text, &stt);
    if (rcb == 0 || rcb == 1 || rct == 0 || rct == 1) {
        CHECK(rcb == rct);
        CHECK(rb.pos == rt.pos);
        CHECK(memcmp(&sb, &stt, sizeof sb) == 0);
    } else {
        CHECK(rcb < 0 && rct < 0);
    }
    if (rcb) {
        CHECK(b.len == 3 && memcmp(b.data, "pre", 3) == 0);
        CHECK(rcb < 0 || xc_stats_total(&sb) == 1);
    } else {
        CHECK(xc_stats_total(&sb) == 0);
        CHECK(rb.pos > 0);
        /* as the one value of a one-property node token */
        struct buf t;
        buf_init(&t, 0);
        CHECK(fdb_bulk_header(&t, false, "L", 1, 1, "v", 2) == 0);
        CHECK(buf_append(&t, b.data + 3, b.len - 3) == 0);
        uint64_t rows = 0;
        CHECK(fdb_bulk_check(t.data, t.len, false, SEND_DEPTH, &rows) == 0 && rows == 1);
        buf_deinit(&t);
    }
    buf_deinit(&b);
    buf_deinit(&text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_check(data, size);
    fuzz_props(data, size);
    fuzz_value(data, size);
    return 0;
}
