/* libFuzzer target for bolt/pack and bolt/chunk: round trips, skip and split consistency. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bolt/chunk.h"
#include "bolt/pack.h"

/* abort() rather than assert(): the check must survive -DNDEBUG builds. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

#define FUZZ_MAX_ALLOC ((size_t)1 << 20)
#define FUZZ_MAX_DEPTH 32
#define FUZZ_MAX_MESSAGE 4096

/* Visits the tree: struct checks must not crash, every plain key must be found. */
static void walk(const struct fs_value *v)
{
    switch (v->kind) {
    case FS_VALUE_STRUCT:
        (void)pack_struct_check(v);
        /* fall through */
    case FS_VALUE_LIST:
        for (uint32_t k = 0; k < v->u.list.len; k++)
            walk(&v->u.list.items[k]);
        break;
    case FS_VALUE_MAP:
        for (uint32_t k = 0; k < v->u.map.len; k++) {
            const struct fs_value *key = &v->u.map.items[k].key;
            CHECK(key->kind == FS_VALUE_STRING);
            CHECK(key->u.str.data[key->u.str.len] == '\0');
            /* the first keys only: a lookup per key would make big maps quadratic */
            if (k < 16 && strlen(key->u.str.data) == key->u.str.len)
                CHECK(fs_value_map_get(v, key->u.str.data) != NULL);
            walk(&v->u.map.items[k].value);
        }
        break;
    case FS_VALUE_STRING:
    case FS_VALUE_BYTES:
        CHECK(v->u.str.data && v->u.str.data[v->u.str.len] == '\0');
        break;
    default:
        CHECK(pack_struct_check(v) == FS_EINVAL);
        break;
    }
}

static void fuzz_items(const uint8_t *data, size_t size)
{
    struct pack_reader r;
    pack_reader_init(&r, data, size);
    struct pack_item it;
    while (r.pos < size) {
        size_t before = r.pos;
        int rc = pack_read_item(&r, &it);
        if (rc) {
            CHECK(rc == FS_ETRUNCATED || rc == FS_EMALFORMED);
            CHECK(r.pos == before);
            break;
        }
        CHECK(r.pos > before && r.pos <= size);
        if (it.kind == FS_VALUE_STRING || it.kind == FS_VALUE_BYTES)
            CHECK(it.data + it.size <= data + size);
    }
}

static void fuzz_pack(const uint8_t *data, size_t size)
{
    struct pack_limits lim = {FUZZ_MAX_ALLOC, FUZZ_MAX_DEPTH};
    struct pack_reader r;
    pack_reader_init(&r, data, size);
    struct fs_value v;
    int rc = pack_decode(&r, &lim, &v);

    /* pack_skip applies the same checks except the allocation cap. */
    struct pack_reader rs;
    pack_reader_init(&rs, data, size);
    int src = pack_skip(&rs, FUZZ_MAX_DEPTH);
    if (rc != FS_ETOO_BIG)
        CHECK(src == rc);
    if (rc) {
        CHECK(rc == FS_ETRUNCATED || rc == FS_EMALFORMED || rc == FS_ETOO_DEEP ||
              rc == FS_ETOO_BIG);
        CHECK(v.kind == FS_VALUE_NULL);
        CHECK(r.pos == 0);
        return;
    }
    CHECK(rs.pos == r.pos);
    walk(&v);

    /* Re-encode: never longer (smallest forms), decodes to the same tree, and
     * encoding that gives the same bytes again (the encoding is canonical). */
    struct buf b1, b2;
    buf_init(&b1, 0);
    buf_init(&b2, 0);
    CHECK(pack_encode(&b1, &v) == 0);
    CHECK(b1.len <= r.pos);
    struct pack_reader r2;
    pack_reader_init(&r2, b1.data, b1.len);
    struct fs_value w;
    CHECK(pack_decode(&r2, &lim, &w) == 0);
    CHECK(r2.pos == b1.len);
    if (!fs_value_equal(&v, &w) || !fs_value_equal(&w, &v))
        abort();
    CHECK(pack_encode(&b2, &w) == 0);
    CHECK(b2.len == b1.len && memcmp(b1.data, b2.data, b1.len) == 0);
    fs_value_deinit(&w);
    fs_value_deinit(&v);
    CHECK(v.kind == FS_VALUE_NULL);
    buf_deinit(&b1);
    buf_deinit(&b2);
}

/* Feeds data in pieces of `step` bytes (0 = all at once); logs each message
 * as a 4-byte length and its bytes. Returns the final code and bytes consumed. */
static int dechunk(const uint8_t *data, size_t size, size_t step, struct buf *log, size_t *consumed)
{
    struct bolt_dechunker d;
    bolt_dechunker_init(&d, FUZZ_MAX_MESSAGE);
    size_t pos = 0;
    int rc = 0;
    while (pos < size) {
        size_t n = step && step < size - pos ? step : size - pos;
        size_t used = 0;
        rc = bolt_dechunker_feed(&d, data + pos, n, &used);
        CHECK(used <= n);
        pos += used;
        if (rc < 0)
            break;
        if (rc == 1) {
            CHECK(d.msg.len > 0 && d.msg.len <= FUZZ_MAX_MESSAGE);
            uint8_t len[4] = {(uint8_t)(d.msg.len >> 24), (uint8_t)(d.msg.len >> 16),
                              (uint8_t)(d.msg.len >> 8), (uint8_t)d.msg.len};
            CHECK(buf_append(log, len, 4) == 0);
            CHECK(buf_append(log, d.msg.data, d.msg.len) == 0);

            /* Re-chunked with small chunks, the message comes back the same. */
            struct buf wire;
            buf_init(&wire, 0);
            size_t max_chunk = 1 + (uint8_t)d.msg.data[0] % 17;
            CHECK(bolt_chunk_write(&wire, d.msg.data, d.msg.len, max_chunk) == 0);
            struct bolt_dechunker d2;
            bolt_dechunker_init(&d2, d.msg.len);
            size_t used2 = 0;
            CHECK(bolt_dechunker_feed(&d2, (const uint8_t *)wire.data, wire.len, &used2) == 1);
            CHECK(used2 == wire.len);
            CHECK(d2.msg.len == d.msg.len && memcmp(d2.msg.data, d.msg.data, d.msg.len) == 0);
            bolt_dechunker_deinit(&d2);
            buf_deinit(&wire);

            bolt_dechunker_next(&d);
            rc = 0;
        } else {
            CHECK(used == n);
        }
    }
    bolt_dechunker_deinit(&d);
    *consumed = pos;
    return rc;
}

static void fuzz_chunk(const uint8_t *data, size_t size)
{
    struct buf log_all, log_step;
    buf_init(&log_all, 0);
    size_t used_all;
    int rc_all = dechunk(data, size, 0, &log_all, &used_all);
    CHECK(rc_all == 0 || rc_all == FS_ETOO_BIG);
    /* However the bytes are split, the same messages and the same outcome. */
    static const size_t steps[] = {1, 2, 3, 7};
    for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
        buf_init(&log_step, 0);
        size_t used_step;
        int rc_step = dechunk(data, size, steps[k], &log_step, &used_step);
        CHECK(rc_step == rc_all && used_step == used_all);
        CHECK(log_step.len == log_all.len &&
              (log_all.len == 0 || memcmp(log_step.data, log_all.data, log_all.len) == 0));
        buf_deinit(&log_step);
    }
    buf_deinit(&log_all);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_items(data, size);
    fuzz_pack(data, size);
    fuzz_chunk(data, size);
    return 0;
}
