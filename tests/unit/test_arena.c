/* Unit tests for falkor/arena: RESP2 replies scanned and parsed into one arena must give the
 * same redisReply trees as hiredis' own reader (which the rest of falkorsync uses), arrive in
 * any pieces, and refuse what is not RESP2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "falkor/arena.h"

/* Trees equal: types, integers, string bytes, elements. */
static void assert_same(const redisReply *a, const redisReply *b)
{
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(a->type, b->type);
    switch (a->type) {
    case REDIS_REPLY_INTEGER:
        assert_true(a->integer == b->integer);
        break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        assert_int_equal(a->len, b->len);
        assert_memory_equal(a->str, b->str, a->len);
        assert_int_equal(a->str[a->len], '\0'); /* NUL-terminated, as hiredis' */
        break;
    case REDIS_REPLY_ARRAY:
        assert_int_equal(a->elements, b->elements);
        for (size_t i = 0; i < a->elements; i++)
            assert_same(a->element[i], b->element[i]);
        break;
    default:
        break;
    }
}

static redisReply *hiredis_parse(const char *bytes, size_t n)
{
    redisReader *r = redisReaderCreate();
    assert_int_equal(redisReaderFeed(r, bytes, n), REDIS_OK);
    void *reply = NULL;
    assert_int_equal(redisReaderGetReply(r, &reply), REDIS_OK);
    redisReaderFree(r);
    return reply;
}

/* A FalkorDB --compact result: header, rows of [type, value] cells (a string with "\r\n" in
 * it, a negative integer, a double as text, null, a map, a vecf32, an empty list), stats. */
static const char COMPACT[] =
    "*3\r\n"
    "*2\r\n*2\r\n:1\r\n$5\r\nid(n)\r\n*2\r\n:1\r\n$13\r\nproperties(n)\r\n"
    "*2\r\n"
    "*2\r\n*2\r\n:3\r\n:-42\r\n*2\r\n:10\r\n*4\r\n$4\r\nname\r\n*2\r\n:2\r\n$6\r\na\r\nb\r\n\r\n"
    "$1\r\nv\r\n*2\r\n:12\r\n*2\r\n$3\r\n0.5\r\n$4\r\n-inf\r\n"
    "*2\r\n*2\r\n:1\r\n$-1\r\n*2\r\n:6\r\n*0\r\n"
    "*2\r\n+Cached execution: 1\r\n$47\r\nQuery internal execution time: 0.1 milliseconds\r\n";

static void test_same_tree_as_hiredis(void **state)
{
    (void)state;
    const char *cases[] = {
        COMPACT,
        ":0\r\n",
        ":-9223372036854775807\r\n",
        ":123456789012345678\r\n",  /* 18 digits: the quick path */
        ":1234567890123456789\r\n", /* 19: the general one */
        "*3\r\n$3\r\na\r\n\r\n:-1\r\n$-1\r\n",
        "+OK\r\n",
        "-ERR Invalid graph operation on empty key\r\n",
        "$0\r\n\r\n",
        "$-1\r\n",
        "*-1\r\n",
        "*0\r\n",
        "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:7\r\n",
    };
    struct fdb_arena a;
    fdb_arena_init(&a);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = strlen(cases[i]);
        char *copy = malloc(n);
        memcpy(copy, cases[i], n);
        struct fdb_resp_scan s;
        memset(&s, 0, sizeof s);
        assert_int_equal(fdb_resp_scan(&s, copy, n), 1);
        assert_int_equal(s.pos, n);
        redisReply *mine = NULL;
        fdb_arena_reset(&a);
        assert_int_equal(fdb_resp_parse(&a, copy, n, &mine), 0);
        redisReply *theirs = hiredis_parse(cases[i], n);
        assert_same(mine, theirs);
        freeReplyObject(theirs);
        free(copy);
    }
    fdb_arena_deinit(&a);
}

/* Byte by byte: "more" until the very last byte, then whole, from any split. */
static void test_scan_in_pieces(void **state)
{
    (void)state;
    size_t n = strlen(COMPACT);
    for (size_t cut = 0; cut <= n; cut++) {
        struct fdb_resp_scan s;
        memset(&s, 0, sizeof s);
        int first = fdb_resp_scan(&s, COMPACT, cut);
        assert_int_equal(first, cut == n ? 1 : 0);
        assert_int_equal(fdb_resp_scan(&s, COMPACT, n), 1);
        assert_int_equal(s.pos, n);
    }
    struct fdb_resp_scan s;
    memset(&s, 0, sizeof s);
    for (size_t len = 0; len < n; len++)
        assert_int_equal(fdb_resp_scan(&s, COMPACT, len), 0);
    assert_int_equal(fdb_resp_scan(&s, COMPACT, n), 1);
    /* a second reply after the first is not part of it */
    char two[64] = ":1\r\n:2\r\n";
    memset(&s, 0, sizeof s);
    assert_int_equal(fdb_resp_scan(&s, two, strlen(two)), 1);
    assert_int_equal(s.pos, 4);
}

static void test_refuses_what_is_not_resp(void **state)
{
    (void)state;
    const char *bad[] = {"?x\r\n",    "*abc\r\n", ":12a\r\n", "$-\r\n", ":99999999999999999999\r\n",
                         ":1\r2\r\n", "$\r\n",    "*1\n\r\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct fdb_resp_scan s;
        memset(&s, 0, sizeof s);
        assert_int_equal(fdb_resp_scan(&s, bad[i], strlen(bad[i])), FS_EPROTOCOL);
    }
    /* deeper than the scanner's stack */
    char deep[400] = "";
    for (int i = 0; i < 40; i++)
        memcpy(deep + 4 * i, "*1\r\n", 4);
    memcpy(deep + 160, ":1\r\n", 5);
    struct fdb_resp_scan s;
    memset(&s, 0, sizeof s);
    assert_int_equal(fdb_resp_scan(&s, deep, strlen(deep)), FS_EPROTOCOL);
    /* an array that announces more elements than its bytes could hold */
    struct fdb_arena a;
    fdb_arena_init(&a);
    char big[] = "*2000000000\r\n:1\r\n";
    redisReply *r = NULL;
    assert_int_equal(fdb_resp_parse(&a, big, strlen(big), &r), FS_EPROTOCOL);
    fdb_arena_reset(&a);
    char trailing[] = ":1\r\n:2\r\n";
    assert_int_equal(fdb_resp_parse(&a, trailing, strlen(trailing), &r), FS_EPROTOCOL);
    fdb_arena_deinit(&a);
}

/* Many replies through one arena, bigger than a block: memory is reused, nothing leaks
 * (the sanitizer build checks). */
static void test_arena_reuse(void **state)
{
    (void)state;
    struct fdb_arena a;
    fdb_arena_init(&a);
    size_t n = 100000;
    char *bytes = malloc(16 + n * 4);
    int len = snprintf(bytes, 16, "*%zu\r\n", n);
    for (size_t i = 0; i < n; i++)
        memcpy(bytes + len + i * 4, ":7\r\n", 4);
    size_t total = (size_t)len + n * 4;
    for (int round = 0; round < 3; round++) {
        fdb_arena_reset(&a);
        redisReply *r = NULL;
        assert_int_equal(fdb_resp_parse(&a, bytes, total, &r), 0);
        assert_int_equal(r->elements, n);
        assert_true(r->element[n - 1]->integer == 7);
    }
    free(bytes);
    fdb_arena_deinit(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_tree_as_hiredis),
        cmocka_unit_test(test_scan_in_pieces),
        cmocka_unit_test(test_refuses_what_is_not_resp),
        cmocka_unit_test(test_arena_reuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
