/* Integration tests for falkor/fdb against the real FalkorDB: error replies
 * classified into codes, and the reply-size cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "falkor/fdb.h"
#include "itest.h"

static char graph[64];

static void connect_with(struct fdb_conn *c, size_t max_reply)
{
    struct fdb_config cfg = {
        .host = "127.0.0.1",
        .port = itest_falkordb_port(),
        .password = itest_falkordb_password(),
        .connect_timeout_ms = 5000,
        .read_timeout_ms = 30000,
        .max_reply_bytes = max_reply,
    };
    fdb_init(c);
    int rc = fdb_connect(c, &cfg);
    if (rc)
        fail_msg("connect: %s", c->errstr);
}

static void drop_key(struct fdb_conn *c, const char *key)
{
    const char *argv[2] = {"DEL", key};
    assert_int_equal(fdb_commandv(c, NULL, 2, argv), 0);
}

/* Runs argv, expects FS_ESERVER (the unchanged return) and the class. */
static void expect_class(struct fdb_conn *c, int argc, const char *const *argv, int want)
{
    int rc = fdb_commandv(c, NULL, argc, argv);
    if (rc != FS_ESERVER || c->server_err != want)
        fail_msg("%s: rc %s, server_err %s (want %s): %s", argv[0], fs_errname(rc),
                 fs_errname(c->server_err), fs_errname(want), c->errstr);
    assert_int_equal(c->err, FS_ESERVER);
    assert_int_equal(fs_errside(c->server_err), want == FS_ESERVER ? FS_SIDE_PEER
                                                : want == FS_EAUTH ? FS_SIDE_PEER
                                                                   : FS_SIDE_FALKORDB);
    assert_true(fdb_is_connected(c)); /* an error reply leaves the connection usable */
}

static void test_classified_errors(void **state)
{
    struct fdb_conn c;
    connect_with(&c, 0);
    char other[80];
    snprintf(other, sizeof other, "%s_plain", graph);
    drop_key(&c, graph);
    drop_key(&c, other);

    const char *ro[3] = {"GRAPH.RO_QUERY", graph, "MATCH (n) RETURN n"};
    expect_class(&c, 3, ro, FS_EFDB_NOGRAPH);
    const char *del[2] = {"GRAPH.DELETE", graph};
    expect_class(&c, 2, del, FS_EFDB_NOGRAPH);

    const char *idx[3] = {"GRAPH.QUERY", graph, "CREATE INDEX FOR (n:A) ON (n.x)"};
    assert_int_equal(fdb_commandv(&c, NULL, 3, idx), 0);
    expect_class(&c, 3, idx, FS_EFDB_EXISTS);
    const char *ft[3] = {"GRAPH.QUERY", graph, "CALL db.idx.fulltext.createNodeIndex('A','name')"};
    assert_int_equal(fdb_commandv(&c, NULL, 3, ft), 0);
    expect_class(&c, 3, ft, FS_EFDB_EXISTS);

    const char *bad[3] = {"GRAPH.QUERY", graph, "MATCH (n) RETURN nosuchvar"};
    expect_class(&c, 3, bad, FS_ESERVER); /* a query error has no class of its own */

    const char *unk[2] = {"NOSUCHCOMMAND", "x"};
    expect_class(&c, 2, unk, FS_EFDB_UNKNOWN_COMMAND);

    const char *set[3] = {"SET", other, "x"};
    assert_int_equal(fdb_commandv(&c, NULL, 3, set), 0);
    const char *wrong[3] = {"GRAPH.QUERY", other, "RETURN 1"};
    expect_class(&c, 3, wrong, FS_EFDB_WRONGTYPE);

    /* a failure that is not an error reply clears the class */
    fdb_close(&c);
    assert_int_not_equal(fdb_commandv(&c, NULL, 3, ro), 0);
    assert_int_equal(c.server_err, 0);

    connect_with(&c, 0);
    drop_key(&c, graph);
    drop_key(&c, other);
    fdb_close(&c);
}

static void test_nopermission(void **state)
{
    struct fdb_conn c;
    connect_with(&c, 0);
    char user[80];
    snprintf(user, sizeof user, "fs_noperm_%d", (int)getpid());
    const char *mk[6] = {"ACL", "SETUSER", user, "on", ">pw", "+@all"};
    if (fdb_commandv(&c, NULL, 6, mk)) {
        fdb_close(&c);
        skip(); /* no ACL rights on this server */
    }
    const char *deny[4] = {"ACL", "SETUSER", user, "-graph.bulk"};
    assert_int_equal(fdb_commandv(&c, NULL, 4, deny), 0);
    const char *keys[4] = {"ACL", "SETUSER", user, "~*"};
    assert_int_equal(fdb_commandv(&c, NULL, 4, keys), 0);

    struct fdb_conn u;
    struct fdb_config cfg = {.host = "127.0.0.1",
                             .port = itest_falkordb_port(),
                             .username = user,
                             .password = "pw",
                             .connect_timeout_ms = 5000};
    fdb_init(&u);
    if (fdb_connect(&u, &cfg))
        fail_msg("connect as %s: %s", user, u.errstr);
    const char *bulk[4] = {"GRAPH.BULK", graph, "BEGIN", "0"};
    expect_class(&u, 4, bulk, FS_EFDB_NOPERM);
    fdb_close(&u);

    const char *rm[3] = {"ACL", "DELUSER", user};
    assert_int_equal(fdb_commandv(&c, NULL, 3, rm), 0);
    fdb_close(&c);
}

static void test_reply_cap(void **state)
{
    struct fdb_conn c;
    connect_with(&c, 4096);
    /* a reply well under the cap, twice: the count restarts per reply */
    const char *small[3] = {"GRAPH.QUERY", graph, "RETURN 'x'"};
    for (int i = 0; i < 2; i++) {
        redisReply *r = NULL;
        assert_int_equal(fdb_commandv(&c, &r, 3, small), 0);
        freeReplyObject(r);
    }
    /* pipelined small replies totalling more than the cap are fine */
    const char *ping[1] = {"PING"};
    for (int i = 0; i < 2000; i++)
        assert_int_equal(fdb_append(&c, 1, ping, NULL), 0);
    for (int i = 0; i < 2000; i++) {
        redisReply *r = NULL;
        assert_int_equal(fdb_read_reply(&c, &r), 0);
        assert_non_null(r);
        freeReplyObject(r);
    }
    /* one bulk string over the cap */
    const char *big[3] = {"GRAPH.QUERY", graph,
                          "RETURN reduce(s = '', i IN range(1, 3000) | s + 'ab')"};
    int rc = fdb_commandv(&c, NULL, 3, big);
    if (rc != FS_ETOO_BIG)
        fail_msg("big string: got %s: %s", fs_errname(rc), c.errstr);
    assert_non_null(strstr(c.errstr, "falkordb.max_reply_mb"));
    assert_false(fdb_is_connected(&c)); /* the rest was never read */

    /* an array whose header alone exceeds what the cap could hold */
    assert_int_equal(fdb_reconnect(&c), 0);
    const char *many[3] = {"GRAPH.QUERY", graph, "UNWIND range(1, 5000) AS i RETURN i"};
    rc = fdb_commandv(&c, NULL, 3, many);
    if (rc != FS_ETOO_BIG)
        fail_msg("many rows: got %s: %s", fs_errname(rc), c.errstr);
    assert_true(c.reply_too_big); /* refused at the array header, before the rows arrived */
    fdb_close(&c);

    connect_with(&c, 0); /* the default (512 MB) takes it */
    redisReply *r = NULL;
    assert_int_equal(fdb_commandv(&c, &r, 3, big), 0);
    freeReplyObject(r);
    drop_key(&c, graph);
    fdb_close(&c);
}

int main(void)
{
    snprintf(graph, sizeof graph, "fs_test_falkor_conn_%d", (int)getpid());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classified_errors),
        cmocka_unit_test(test_nopermission),
        cmocka_unit_test(test_reply_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
