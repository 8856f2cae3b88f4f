/* Smoke tests: the real Neo4j answers a Bolt 5 handshake and FalkorDB answers GRAPH.QUERY. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include <hiredis.h>

#include "itest.h"
#include "net/net.h"

static void test_neo4j_bolt5_handshake(void **state)
{
    struct net_conn c;
    net_init(&c);
    struct net_opts o = {.connect_timeout_ms = 5000, .read_timeout_ms = 10000};
    int rc = net_connect(&c, "127.0.0.1", itest_neo4j_port(), &o);
    if (rc)
        fprintf(stderr, "connect: %s\n", c.errstr);
    assert_int_equal(rc, 0);
    const uint8_t hs[20] = {0x60, 0x60, 0xB0, 0x17, 0, 8, 8, 5, 0, 0, 4, 4};
    assert_int_equal(net_write_all(&c, hs, sizeof hs), 0);
    uint8_t v[4];
    assert_int_equal(net_read_full(&c, v, 4), 0);
    printf("negotiated Bolt %d.%d\n", v[3], v[2]);
    assert_int_equal(v[3], 5);
    assert_true(v[2] <= 8);
    net_close(&c);
}

static void test_falkordb_graph_query(void **state)
{
    struct timeval tv = {5, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", itest_falkordb_port(), tv);
    assert_non_null(c);
    if (c->err)
        fprintf(stderr, "connect: %s\n", c->errstr);
    assert_int_equal(c->err, 0);
    const char *pw = itest_falkordb_password();
    if (pw) {
        const char *av[] = {"AUTH", pw};
        redisReply *r = redisCommandArgv(c, 2, av, NULL);
        assert_non_null(r);
        freeReplyObject(r);
    }
    const char *argv[] = {"GRAPH.QUERY", "smoke_test", "RETURN 40 + 2 AS answer, 'ok' AS s",
                          "--compact"};
    redisReply *r = redisCommandArgv(c, 4, argv, NULL);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_true(r->elements >= 3);
    redisReply *rows = r->element[1];
    assert_int_equal(rows->type, REDIS_REPLY_ARRAY);
    assert_int_equal(rows->elements, 1);
    redisReply *row = rows->element[0];
    assert_int_equal(row->elements, 2);
    /* compact cells are [type, value]; 3 = integer, 2 = string */
    assert_int_equal(row->element[0]->element[1]->integer, 42);
    assert_string_equal(row->element[1]->element[1]->str, "ok");
    freeReplyObject(r);
    const char *del[] = {"GRAPH.DELETE", "smoke_test"};
    r = redisCommandArgv(c, 2, del, NULL);
    freeReplyObject(r);
    redisFree(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_neo4j_bolt5_handshake),
        cmocka_unit_test(test_falkordb_graph_query),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
