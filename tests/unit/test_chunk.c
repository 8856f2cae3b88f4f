/* Unit tests for bolt/chunk: chunk writing, reassembly at every split, NOOPs, size caps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "bolt/chunk.h"

static void assert_bytes(const struct buf *b, const uint8_t *want, size_t n)
{
    assert_int_equal(b->len, n);
    if (n)
        assert_memory_equal(b->data, want, n);
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t k = 0; k < n; k++)
        p[k] = (uint8_t)(k * 31 + seed + (k >> 8));
}

/* Messages collected from a stream fed in pieces of the given sizes (cycled). */
struct collected {
    struct buf msgs[8];
    int count;
};

static void collect_init(struct collected *c)
{
    for (int k = 0; k < 8; k++)
        buf_init(&c->msgs[k], 0);
    c->count = 0;
}

static void collect_deinit(struct collected *c)
{
    for (int k = 0; k < 8; k++)
        buf_deinit(&c->msgs[k]);
}

/* Feeds p in pieces: first `first` bytes, then `step` at a time (0 = the rest). */
static int feed_all(struct bolt_dechunker *d, const uint8_t *p, size_t len, size_t first,
                    size_t step, struct collected *c)
{
    size_t pos = 0;
    size_t piece = first;
    while (pos < len) {
        size_t n = piece && piece < len - pos ? piece : len - pos;
        size_t off = 0;
        while (off < n) {
            size_t used = 99999;
            int rc = bolt_dechunker_feed(d, p + pos + off, n - off, &used);
            if (rc < 0)
                return rc;
            assert_true(used <= n - off);
            off += used;
            if (rc == 1) {
                assert_true(c->count < 8);
                assert_int_equal(buf_append(&c->msgs[c->count], d->msg.data, d->msg.len), 0);
                c->count++;
                /* feeding again before next() takes nothing */
                assert_int_equal(bolt_dechunker_feed(d, p + pos + off, n - off, &used), 1);
                assert_int_equal(used, 0);
                bolt_dechunker_next(d);
            } else {
                assert_int_equal(off, n); /* 0 means it took everything offered */
            }
        }
        pos += n;
        piece = step;
    }
    return 0;
}

static void test_write_vectors(void **state)
{
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(bolt_chunk_write(&b, "ABC", 3, BOLT_MAX_CHUNK), 0);
    assert_bytes(&b,
                 (const uint8_t *)"\x00\x03"
                                  "ABC"
                                  "\x00\x00",
                 7);
    buf_reset(&b);
    assert_int_equal(bolt_chunk_write(&b, "ABC", 3, 2), 0);
    assert_bytes(&b,
                 (const uint8_t *)"\x00\x02"
                                  "AB"
                                  "\x00\x01"
                                  "C"
                                  "\x00\x00",
                 9);
    buf_reset(&b);
    assert_int_equal(bolt_chunk_write(&b, "ABCD", 4, 2), 0);
    assert_bytes(&b,
                 (const uint8_t *)"\x00\x02"
                                  "AB"
                                  "\x00\x02"
                                  "CD"
                                  "\x00\x00",
                 10);
    buf_reset(&b);
    assert_int_equal(bolt_chunk_write(&b, "ABCD", 4, 1), 0);
    assert_bytes(&b,
                 (const uint8_t *)"\x00\x01"
                                  "A"
                                  "\x00\x01"
                                  "B"
                                  "\x00\x01"
                                  "C"
                                  "\x00\x01"
                                  "D"
                                  "\x00\x00",
                 14);
    /* An empty message is a lone 00 00, which peers read as a NOOP. */
    buf_reset(&b);
    assert_int_equal(bolt_chunk_write(&b, NULL, 0, 10), 0);
    assert_bytes(&b, (const uint8_t *)"\x00\x00", 2);
    /* It appends. */
    assert_int_equal(bolt_chunk_write(&b, "Z", 1, 10), 0);
    assert_bytes(&b, (const uint8_t *)"\x00\x00\x00\x01Z\x00\x00", 7);

    assert_int_equal(bolt_chunk_write(&b, "A", 1, 0), FS_EINVAL);
    assert_int_equal(bolt_chunk_write(&b, "A", 1, 65536), FS_EINVAL);
    assert_int_equal(bolt_chunk_write(&b, NULL, 1, 10), FS_EINVAL);
    assert_int_equal(b.len, 7);
    buf_deinit(&b);

    /* A full-size chunk has header FF FF; the buffer cap leaves nothing half-written. */
    uint8_t *big = malloc(70000);
    assert_non_null(big);
    fill(big, 70000, 1);
    buf_init(&b, 0);
    assert_int_equal(bolt_chunk_write(&b, big, 70000, BOLT_MAX_CHUNK), 0);
    assert_int_equal(b.len, 2 + 65535 + 2 + (70000 - 65535) + 2);
    assert_memory_equal(b.data, "\xFF\xFF", 2);
    assert_memory_equal(b.data + 2 + 65535, "\x11\x71", 2); /* 4465 */
    assert_memory_equal(b.data + b.len - 2, "\x00\x00", 2);
    buf_deinit(&b);
    buf_init(&b, 100);
    assert_int_equal(bolt_chunk_write(&b, big, 97, 50), FS_ETOO_BIG);
    assert_int_equal(b.len, 0);
    assert_int_equal(bolt_chunk_write(&b, big, 94, 50), 0); /* 94 + 2*2 + 2 = 100 */
    buf_deinit(&b);
    free(big);
}

/* Two messages plus NOOPs before, between and after, split at every byte. */
static void test_every_split(void **state)
{
    uint8_t m1[300], m2[5];
    fill(m1, sizeof m1, 7);
    fill(m2, sizeof m2, 9);
    struct buf wire;
    buf_init(&wire, 0);
    static const uint8_t noop[2] = {0, 0};
    assert_int_equal(buf_append(&wire, noop, 2), 0);
    assert_int_equal(buf_append(&wire, noop, 2), 0);
    assert_int_equal(bolt_chunk_write(&wire, m1, sizeof m1, 7), 0);
    assert_int_equal(buf_append(&wire, noop, 2), 0);
    assert_int_equal(bolt_chunk_write(&wire, m2, sizeof m2, BOLT_MAX_CHUNK), 0);
    assert_int_equal(buf_append(&wire, noop, 2), 0);
    const uint8_t *w = (const uint8_t *)wire.data;

    for (size_t cut = 0; cut <= wire.len; cut++) {
        for (size_t step = 0; step <= 3; step++) {
            struct bolt_dechunker d;
            bolt_dechunker_init(&d, 1000);
            struct collected c;
            collect_init(&c);
            assert_int_equal(feed_all(&d, w, wire.len, cut, step, &c), 0);
            assert_int_equal(c.count, 2);
            assert_bytes(&c.msgs[0], m1, sizeof m1);
            assert_bytes(&c.msgs[1], m2, sizeof m2);
            /* nothing is left pending: the trailing NOOP was consumed cleanly */
            assert_int_equal(d.msg.len, 0);
            assert_int_equal(d.hdr_have, 0);
            assert_int_equal(d.chunk_left, 0);
            collect_deinit(&c);
            bolt_dechunker_deinit(&d);
        }
    }
    buf_deinit(&wire);
}

/* Every message length 1..40 with every chunk size 1..12, fed one byte at a time. */
static void test_all_chunk_sizes(void **state)
{
    uint8_t m[40];
    fill(m, sizeof m, 3);
    for (size_t len = 1; len <= sizeof m; len++) {
        for (size_t max_chunk = 1; max_chunk <= 12; max_chunk++) {
            struct buf wire;
            buf_init(&wire, 0);
            assert_int_equal(bolt_chunk_write(&wire, m, len, max_chunk), 0);
            size_t nchunks = (len + max_chunk - 1) / max_chunk;
            assert_int_equal(wire.len, len + 2 * nchunks + 2);
            struct bolt_dechunker d;
            bolt_dechunker_init(&d, len);
            struct collected c;
            collect_init(&c);
            assert_int_equal(feed_all(&d, (const uint8_t *)wire.data, wire.len, 1, 1, &c), 0);
            assert_int_equal(c.count, 1);
            assert_bytes(&c.msgs[0], m, len);
            collect_deinit(&c);
            bolt_dechunker_deinit(&d);
            buf_deinit(&wire);
        }
    }
}

static void test_noops_only(void **state)
{
    static const uint8_t noops[8] = {0};
    struct bolt_dechunker d;
    bolt_dechunker_init(&d, 10);
    size_t used;
    assert_int_equal(bolt_dechunker_feed(&d, noops, sizeof noops, &used), 0);
    assert_int_equal(used, sizeof noops);
    assert_int_equal(d.msg.len, 0);
    /* Half a header then the rest. */
    static const uint8_t msg[] = {0x00, 0x02, 0xB0, 0x0F, 0x00, 0x00};
    assert_int_equal(bolt_dechunker_feed(&d, msg, 1, &used), 0);
    assert_int_equal(used, 1);
    assert_int_equal(bolt_dechunker_feed(&d, msg + 1, 5, &used), 1);
    assert_int_equal(used, 5);
    assert_int_equal(d.msg.len, 2);
    assert_memory_equal(d.msg.data, "\xB0\x0F", 2);
    bolt_dechunker_next(&d);
    assert_int_equal(bolt_dechunker_feed(&d, noops, 0, &used), 0);
    assert_int_equal(used, 0);
    bolt_dechunker_deinit(&d);
}

static void test_large_message(void **state)
{
    size_t len = 200 * 1024;
    uint8_t *m = malloc(len);
    assert_non_null(m);
    fill(m, len, 5);
    struct buf wire;
    buf_init(&wire, 0);
    assert_int_equal(bolt_chunk_write(&wire, m, len, BOLT_MAX_CHUNK), 0);
    assert_int_equal(wire.len, len + 4 * 2 + 2); /* 4 chunks */
    const uint8_t *w = (const uint8_t *)wire.data;

    static const size_t steps[] = {0, 1, 2, 3, 4096, 65535, 65536, 65537, 100000};
    for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
        struct bolt_dechunker d;
        bolt_dechunker_init(&d, len);
        struct collected c;
        collect_init(&c);
        assert_int_equal(feed_all(&d, w, wire.len, steps[k], steps[k], &c), 0);
        assert_int_equal(c.count, 1);
        assert_bytes(&c.msgs[0], m, len);
        collect_deinit(&c);
        bolt_dechunker_deinit(&d);
    }
    /* One byte less of room: refused. */
    struct bolt_dechunker d;
    bolt_dechunker_init(&d, len - 1);
    struct collected c;
    collect_init(&c);
    assert_int_equal(feed_all(&d, w, wire.len, 0, 0, &c), FS_ETOO_BIG);
    assert_int_equal(c.count, 0);
    collect_deinit(&c);
    bolt_dechunker_deinit(&d);
    buf_deinit(&wire);
    free(m);
}

static void test_oversize(void **state)
{
    struct bolt_dechunker d;
    bolt_dechunker_init(&d, 100);
    size_t used;
    /* Refused at the header, before any of the data arrives. */
    static const uint8_t big_hdr[] = {0x00, 0x65, 0xAA};
    assert_int_equal(bolt_dechunker_feed(&d, big_hdr, sizeof big_hdr, &used), FS_ETOO_BIG);
    assert_int_equal(used, 2);
    bolt_dechunker_deinit(&d);

    /* Several chunks that add up to too much. */
    uint8_t m[101];
    fill(m, sizeof m, 2);
    struct buf wire;
    buf_init(&wire, 0);
    assert_int_equal(bolt_chunk_write(&wire, m, 101, 30), 0);
    bolt_dechunker_init(&d, 100);
    assert_int_equal(bolt_dechunker_feed(&d, (const uint8_t *)wire.data, wire.len, &used),
                     FS_ETOO_BIG);
    assert_int_equal(used, 3 * 32 + 2); /* the fourth header is where it stops */
    assert_true(d.msg.len <= 100);
    bolt_dechunker_deinit(&d);

    /* Exactly the cap is fine. */
    buf_reset(&wire);
    assert_int_equal(bolt_chunk_write(&wire, m, 100, 30), 0);
    bolt_dechunker_init(&d, 100);
    assert_int_equal(bolt_dechunker_feed(&d, (const uint8_t *)wire.data, wire.len, &used), 1);
    assert_int_equal(used, wire.len);
    assert_memory_equal(d.msg.data, m, 100);
    bolt_dechunker_deinit(&d);

    /* 0 means no cap of our own (the buffer's default). */
    bolt_dechunker_init(&d, 0);
    assert_int_equal(bolt_dechunker_feed(&d, (const uint8_t *)wire.data, wire.len, &used), 1);
    bolt_dechunker_deinit(&d);
    buf_deinit(&wire);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_vectors),   cmocka_unit_test(test_every_split),
        cmocka_unit_test(test_all_chunk_sizes), cmocka_unit_test(test_noops_only),
        cmocka_unit_test(test_large_message),   cmocka_unit_test(test_oversize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
