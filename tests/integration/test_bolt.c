/* Bolt client against the real Neo4j: auth, every value type round trip, failures, streaming,
 * transactions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bolt/bolt.h"
#include "itest.h"

static struct bolt_config base_cfg(void)
{
    struct bolt_config c = {
        .uri = itest_neo4j_uri(),
        .user = itest_neo4j_user(),
        .password = itest_neo4j_password(),
        .connect_timeout_ms = 5000,
        .read_timeout_ms = 60000,
    };
    return c;
}

static void connect_ok(struct bolt_session *s, const struct bolt_config *c)
{
    bolt_init(s);
    int rc = bolt_connect(s, c);
    if (rc)
        fprintf(stderr, "bolt_connect: %s\n", s->errstr);
    assert_int_equal(rc, 0);
}

/* ---- value builders (heap-owned, freed by fs_value_deinit) ---------- */

static struct fs_value v_int(int64_t i)
{
    struct fs_value v = {.kind = FS_VALUE_INT};
    v.u.i = i;
    return v;
}

static struct fs_value v_float(double f)
{
    struct fs_value v = {.kind = FS_VALUE_FLOAT};
    v.u.f = f;
    return v;
}

static struct fs_value v_bool(bool b)
{
    struct fs_value v = {.kind = FS_VALUE_BOOL};
    v.u.b = b;
    return v;
}

static struct fs_value v_strn(const char *s, size_t n, enum fs_value_kind kind)
{
    struct fs_value v = {.kind = kind};
    v.u.str.data = malloc(n + 1);
    memcpy(v.u.str.data, s, n);
    v.u.str.data[n] = '\0';
    v.u.str.len = (uint32_t)n;
    return v;
}

static struct fs_value v_str(const char *s)
{
    return v_strn(s, strlen(s), FS_VALUE_STRING);
}

static struct fs_value v_list(int n, ...)
{
    struct fs_value v = {.kind = FS_VALUE_LIST};
    v.u.list.items = calloc((size_t)n + 1, sizeof(struct fs_value));
    v.u.list.len = (uint32_t)n;
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        v.u.list.items[i] = va_arg(ap, struct fs_value);
    va_end(ap);
    return v;
}

static struct fs_value v_struct(uint8_t tag, int n, ...)
{
    struct fs_value v = {.kind = FS_VALUE_STRUCT, .tag = tag};
    v.u.list.items = calloc((size_t)n + 1, sizeof(struct fs_value));
    v.u.list.len = (uint32_t)n;
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        v.u.list.items[i] = va_arg(ap, struct fs_value);
    va_end(ap);
    return v;
}

/* A map {k1: v1, ...} from alternating key strings and values. */
static struct fs_value v_map(int n, ...)
{
    struct fs_value v = {.kind = FS_VALUE_MAP};
    v.u.map.items = calloc((size_t)n + 1, sizeof(struct fs_value_pair));
    v.u.map.len = (uint32_t)n;
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        const char *k = va_arg(ap, const char *);
        v.u.map.items[i].key = v_str(k);
        v.u.map.items[i].value = va_arg(ap, struct fs_value);
    }
    va_end(ap);
    return v;
}

/* Sends v as $v, RETURNs it, and checks the answer equals v. Takes ownership of v. */
static void roundtrip(struct bolt_session *s, struct fs_value v, const char *what)
{
    struct fs_value params = v_map(1, "v", v);
    int rc = bolt_run_value(s, "RETURN $v AS v", &params, BOLT_MODE_READ);
    if (rc)
        fprintf(stderr, "%s: %s\n", what, s->errstr);
    assert_int_equal(rc, 0);
    struct bolt_record rec;
    assert_int_equal(bolt_next(s, &rec), 1);
    struct fs_value got = {0};
    assert_int_equal(bolt_record_decode(s, &rec, &got), 0);
    assert_int_equal(got.kind, FS_VALUE_LIST);
    assert_int_equal(got.u.list.len, 1);
    if (!fs_value_equal(&got.u.list.items[0], &params.u.map.items[0].value)) {
        fprintf(stderr, "round trip changed the value: %s\n", what);
        fail();
    }
    assert_int_equal(bolt_next(s, &rec), 0);
    fs_value_deinit(&got);
    fs_value_deinit(&params);
}

/* ---- tests ------------------------------------------------------------ */

static void test_connect_and_version(void **state)
{
    struct bolt_config c = base_cfg();
    struct bolt_session s;
    connect_ok(&s, &c);
    printf("negotiated Bolt %d.%d with %s\n", s.version_major, s.version_minor, s.server_agent);
    assert_int_equal(s.version_major, 5);
    /* The compatibility run (scripts/compat.sh) names the version it started. */
    const char *want = getenv("NEO4J_VERSION");
    if (want && *want) {
        char agent[64];
        snprintf(agent, sizeof agent, "Neo4j/%s", want);
        assert_string_equal(s.server_agent, agent);
    } else {
        assert_int_equal(strncmp(s.server_agent, "Neo4j/", 6), 0);
    }
    assert_int_equal(bolt_run(&s, "RETURN 1 AS one, 'x' AS two", NULL, 0, BOLT_MODE_READ), 0);
    assert_int_equal(s.nfields, 2);
    assert_string_equal(s.fields[1], "two");
    assert_int_equal(bolt_field_index(&s, "two"), 1);
    struct bolt_record rec;
    assert_int_equal(bolt_next(&s, &rec), 1);
    assert_int_equal(rec.nvalues, 2);
    assert_int_equal(bolt_next(&s, &rec), 0);
    bolt_close(&s);
}

static void test_roundtrip_scalars(void **state)
{
    struct bolt_config c = base_cfg();
    struct bolt_session s;
    connect_ok(&s, &c);
    roundtrip(&s, (struct fs_value){.kind = FS_VALUE_NULL}, "null");
    roundtrip(&s, v_bool(true), "true");
    roundtrip(&s, v_bool(false), "false");
    int64_t ints[] = {0,
                      1,
                      -1,
                      -16,
                      -17,
                      127,
                      128,
                      -128,
                      -129,
                      32767,
                      32768,
                      -32768,
                      -32769,
                      2147483647LL,
                      2147483648LL,
                      -2147483648LL,
                      -2147483649LL,
                      INT64_MAX,
                      INT64_MIN};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        roundtrip(&s, v_int(ints[i]), "int");
    double fl[] = {0.0, -0.0, 1.5, -1e308, 5e-324, 1.0 / 3.0, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof fl / sizeof fl[0]; i++)
        roundtrip(&s, v_float(fl[i]), "float");
    roundtrip(&s, v_str(""), "empty string");
    roundtrip(&s, v_str("h\xC3\xA9llo \xF0\x9F\x98\x80 \xF0\x90\x8D\x88 quotes ' \" \\ $ } {"),
              "utf-8 beyond the BMP");
    size_t big = 1 << 20;
    char *m = malloc(big);
    for (size_t i = 0; i < big; i++)
        m[i] = (char)('a' + i % 26);
    roundtrip(&s, v_strn(m, big, FS_VALUE_STRING), "1 MB string");
    free(m);
    roundtrip(&s, v_strn("\x00\x01\xff\x80", 4, FS_VALUE_BYTES), "bytes");
    bolt_close(&s);
}

static void test_roundtrip_containers(void **state)
{
    struct bolt_config c = base_cfg();
    struct bolt_session s;
    connect_ok(&s, &c);
    roundtrip(&s, v_list(0), "empty list");
    roundtrip(&s, v_list(3, v_int(1), v_list(2, v_str("a"), v_list(1, v_float(2.5))), v_bool(true)),
              "nested list");
    roundtrip(&s,
              v_map(2, "a key with spaces", v_int(1), "nested", v_map(1, "x", v_list(1, v_int(2)))),
              "nested map");
    /* A 1000-element list of floats, like an embedding. */
    struct fs_value emb = {.kind = FS_VALUE_LIST};
    emb.u.list.len = 1024;
    emb.u.list.items = calloc(1024, sizeof(struct fs_value));
    for (int i = 0; i < 1024; i++)
        emb.u.list.items[i] = v_float(sin(i) * 0.1);
    roundtrip(&s, emb, "embedding");
    bolt_close(&s);
}

static void test_roundtrip_temporal_spatial(void **state)
{
    struct bolt_config c = base_cfg();
    struct bolt_session s;
    connect_ok(&s, &c);
    roundtrip(&s, v_struct(PACK_TAG_DATE, 1, v_int(20325)), "date");
    roundtrip(&s, v_struct(PACK_TAG_DATE, 1, v_int(-719162)), "date year 1");
    roundtrip(&s, v_struct(PACK_TAG_TIME, 2, v_int(45296123456789LL), v_int(3600)), "time");
    roundtrip(&s, v_struct(PACK_TAG_LOCAL_TIME, 1, v_int(86399999999999LL)), "local time");
    roundtrip(&s, v_struct(PACK_TAG_LOCAL_DATE_TIME, 2, v_int(1756125296), v_int(123456789)),
              "local datetime");
    roundtrip(&s, v_struct(PACK_TAG_DATE_TIME, 3, v_int(1756125296), v_int(123456789), v_int(0)),
              "datetime utc");
    roundtrip(&s, v_struct(PACK_TAG_DATE_TIME, 3, v_int(1756125296), v_int(1), v_int(-18000)),
              "datetime offset");
    roundtrip(&s,
              v_struct(PACK_TAG_DATE_TIME_ZONE_ID, 3, v_int(1756125296), v_int(999999999),
                       v_str("Europe/Paris")),
              "datetime named zone");
    roundtrip(&s, v_struct(PACK_TAG_DURATION, 4, v_int(14), v_int(3), v_int(3723), v_int(500)),
              "duration");
    roundtrip(&s, v_struct(PACK_TAG_POINT_2D, 3, v_int(4326), v_float(2.35), v_float(48.85)),
              "wgs84 2d");
    roundtrip(&s, v_struct(PACK_TAG_POINT_2D, 3, v_int(7203), v_float(-1.5), v_float(1e6)),
              "cartesian 2d");
    roundtrip(&s,
              v_struct(PACK_TAG_POINT_3D, 4, v_int(9157), v_float(1), v_float(2), v_float(3.25)),
              "cartesian 3d");
    bolt_close(&s);
}

static void test_graph_structures(void **state)
{
    struct bolt_config c = base_cfg();
    struct bolt_session s;
    connect_ok(&s, &c);
    assert_int_equal(bolt_run(&s,
                              "CREATE p = (a:BoltT:Other {name:'a'})-[r:KNOWS {w: 1.5}]->(b:BoltT) "
                              "RETURN a, r, p",
                              NULL, 0, BOLT_MODE_WRITE),
                     0);
    struct bolt_record rec;
    assert_int_equal(bolt_next(&s, &rec), 1);
    struct fs_value v = {0};
    assert_int_equal(bolt_record_decode(&s, &rec, &v), 0);
    const struct fs_value *node = &v.u.list.items[0];
    assert_int_equal(node->kind, FS_VALUE_STRUCT);
    assert_int_equal(node->tag, PACK_TAG_NODE);
    assert_int_equal(pack_struct_check(node), 0);
    assert_int_equal(node->u.list.len, 4); /* Bolt 5: element_id */
    assert_int_equal(node->u.list.items[1].u.list.len, 2);
    const struct fs_value *rel = &v.u.list.items[1];
    assert_int_equal(rel->tag, PACK_TAG_RELATIONSHIP);
    assert_int_equal(pack_struct_check(rel), 0);
    assert_string_equal(rel->u.list.items[3].u.str.data, "KNOWS");
    const struct fs_value *path = &v.u.list.items[2];
    assert_int_equal(path->tag, PACK_TAG_PATH);
    assert_int_equal(pack_struct_check(path), 0);
    assert_int_equal(path->u.list.items[1].u.list.items[0].tag, PACK_TAG_UNBOUND_RELATIONSHIP);
    fs_value_deinit(&v);
    assert_int_equal(bolt_next(&s, &rec), 0);
    assert_int_equal(bolt_exec(&s, "MATCH (n:BoltT) DETACH DELETE n", NULL), 0);
    bolt_close(&s);
}

static void test_failures_distinct(void **state)
{
    struct bolt_config c = base_cfg();
    struct bolt_session s;

    c.password = "definitely-wrong";
    bolt_init(&s);
    assert_int_equal(bolt_connect(&s, &c), FS_EAUTH);
    assert_non_null(strstr(s.code, "Unauthorized"));
    bolt_close(&s);

    c = base_cfg();
    c.database = "no_such_db";
    connect_ok(&s, &c);
    assert_int_equal(bolt_run(&s, "RETURN 1", NULL, 0, BOLT_MODE_READ), FS_EDATABASE);
    printf("unknown db: %s\n", s.errstr);
    bolt_close(&s);

    c = base_cfg();
    connect_ok(&s, &c);
    assert_int_equal(bolt_run(&s, "RETRUN 1", NULL, 0, BOLT_MODE_READ), FS_ESYNTAX);
    assert_non_null(strstr(s.code, "SyntaxError"));
    printf("syntax: code=%s gql=%s\n", s.code, s.gql_status);
    /* Usable again after FAILURE + RESET. */
    assert_int_equal(s.state, BOLT_READY);
    assert_int_equal(bolt_run(&s, "RETURN 2", NULL, 0, BOLT_MODE_READ), 0);
    struct bolt_record rec;
    assert_int_equal(bolt_next(&s, &rec), 1);
    assert_int_equal(bolt_next(&s, &rec), 0);
    /* A failure in the middle of a stream (division by zero on row 3). */
    assert_int_equal(
        bolt_run(&s, "UNWIND [1, 2, 0, 4] AS x RETURN 10 / x", NULL, 0, BOLT_MODE_READ), 0);
    int rc;
    int rows = 0;
    while ((rc = bolt_next(&s, &rec)) == 1)
        rows++;
    assert_int_equal(rc, FS_ESERVER);
    assert_non_null(strstr(s.code, "ArithmeticError"));
    assert_int_equal(bolt_run(&s, "RETURN 3", NULL, 0, BOLT_MODE_READ), 0);
    assert_int_equal(bolt_next(&s, &rec), 1);
    bolt_close(&s);

    /* Nothing listens here: a connect error, not a hang. */
    c = base_cfg();
    c.uri = "bolt://127.0.0.1:1";
    bolt_init(&s);
    assert_int_equal(bolt_connect(&s, &c), FS_ECONNECT);
    bolt_close(&s);

    c.uri = "http://127.0.0.1:7687";
    bolt_init(&s);
    assert_int_equal(bolt_connect(&s, &c), FS_EURI);
    bolt_close(&s);
}

static void test_read_timeout(void **state)
{
    struct bolt_config c = base_cfg();
    c.read_timeout_ms = 100;
    struct bolt_session s;
    connect_ok(&s, &c);
    int rc = bolt_run(&s, "UNWIND range(1, 300000000) AS i WITH i WHERE i < 0 RETURN count(i)",
                      NULL, 0, BOLT_MODE_READ);
    struct bolt_record rec;
    if (rc == 0)
        rc = bolt_next(&s, &rec);
    assert_int_equal(rc, FS_ETIMEOUT);
    assert_int_equal(s.state, BOLT_DEFUNCT);
    bolt_close(&s);
}

/* A relay between the client and the real Neo4j that cuts the connection
 * after it has forwarded `limit` bytes from the server. */
struct relay {
    int listen_fd;
    int port;
    size_t limit;
};

static void *relay_main(void *arg)
{
    struct relay *r = arg;
    int cfd = accept(r->listen_fd, NULL, NULL);
    int sfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)itest_neo4j_port())};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (cfd < 0 || connect(sfd, (struct sockaddr *)&a, sizeof a) < 0)
        return NULL;
    size_t from_server = 0;
    char b[16384];
    for (;;) {
        fd_set fds;
        FD_ZERO(&fds);
        FD_SET(cfd, &fds);
        FD_SET(sfd, &fds);
        if (select((cfd > sfd ? cfd : sfd) + 1, &fds, NULL, NULL, NULL) <= 0)
            break;
        if (FD_ISSET(cfd, &fds)) {
            ssize_t n = read(cfd, b, sizeof b);
            if (n <= 0 || write(sfd, b, (size_t)n) != n)
                break;
        }
        if (FD_ISSET(sfd, &fds)) {
            size_t want = sizeof b;
            if (r->limit - from_server < want)
                want = r->limit - from_server;
            ssize_t n = want ? read(sfd, b, want) : 0;
            if (n <= 0 || write(cfd, b, (size_t)n) != n)
                break;
            from_server += (size_t)n;
            if (from_server >= r->limit)
                break;
        }
    }
    close(cfd);
    close(sfd);
    return NULL;
}

static void test_server_closes_mid_stream(void **state)
{
    struct relay r = {.limit = 20000};
    r.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(r.listen_fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    getsockname(r.listen_fd, (struct sockaddr *)&a, &al);
    r.port = ntohs(a.sin_port);
    assert_int_equal(listen(r.listen_fd, 1), 0);
    pthread_t th;
    pthread_create(&th, NULL, relay_main, &r);

    char uri[64];
    snprintf(uri, sizeof uri, "bolt://127.0.0.1:%d", r.port);
    struct bolt_config c = base_cfg();
    c.uri = uri;
    c.read_timeout_ms = 10000;
    struct bolt_session s;
    connect_ok(&s, &c);
    int rc = bolt_run(&s, "UNWIND range(1, 100000) AS i RETURN i, 'some padding text'", NULL, 0,
                      BOLT_MODE_READ);
    struct bolt_record rec;
    int rows = 0;
    if (rc == 0)
        while ((rc = bolt_next(&s, &rec)) == 1)
            rows++;
    printf("closed after %d rows: %s\n", rows, s.errstr);
    assert_int_equal(rc, FS_ECLOSED);
    assert_true(rows > 0);
    assert_int_equal(s.state, BOLT_DEFUNCT);
    bolt_close(&s);
    pthread_join(th, NULL);
    close(r.listen_fd);
}

static void test_transactions(void **state)
{
    struct bolt_config c = base_cfg();
    struct bolt_session s;
    connect_ok(&s, &c);
    assert_int_equal(bolt_exec(&s, "MATCH (n:TxT) DELETE n", NULL), 0);
    assert_int_equal(bolt_begin(&s, BOLT_MODE_WRITE), 0);
    assert_int_equal(bolt_exec(&s, "CREATE (:TxT {v: 1})", NULL), 0);
    assert_int_equal(bolt_rollback(&s), 0);
    assert_int_equal(bolt_begin(&s, BOLT_MODE_WRITE), 0);
    assert_int_equal(bolt_exec(&s, "CREATE (:TxT {v: 2})", NULL), 0);
    assert_int_equal(bolt_exec(&s, "CREATE (:TxT {v: 3})", NULL), 0);
    assert_int_equal(bolt_commit(&s), 0);
    /* A failure inside a transaction: the transaction is gone, the session usable. */
    assert_int_equal(bolt_begin(&s, BOLT_MODE_WRITE), 0);
    assert_int_equal(bolt_exec(&s, "CREATE (:TxT {v: 4})", NULL), 0);
    assert_int_equal(bolt_exec(&s, "RETURN 1/0", NULL), FS_ESERVER);
    assert_int_equal(s.state, BOLT_READY);

    assert_int_equal(
        bolt_run(&s, "MATCH (n:TxT) RETURN sum(n.v) AS s, count(n) AS c", NULL, 0, BOLT_MODE_READ),
        0);
    struct bolt_record rec;
    assert_int_equal(bolt_next(&s, &rec), 1);
    struct fs_value v = {0};
    assert_int_equal(bolt_record_decode(&s, &rec, &v), 0);
    assert_int_equal(v.u.list.items[0].u.i, 5);
    assert_int_equal(v.u.list.items[1].u.i, 2);
    fs_value_deinit(&v);
    assert_int_equal(bolt_next(&s, &rec), 0);
    assert_int_equal(bolt_exec(&s, "MATCH (n:TxT) DELETE n", NULL), 0);
    assert_int_equal(bolt_reset(&s), 0);
    bolt_close(&s);
}

static void test_discard_midway(void **state)
{
    struct bolt_config c = base_cfg();
    c.fetch_size = 100;
    struct bolt_session s;
    connect_ok(&s, &c);
    assert_int_equal(bolt_run(&s, "UNWIND range(1, 100000) AS i RETURN i", NULL, 0, BOLT_MODE_READ),
                     0);
    struct bolt_record rec;
    for (int i = 0; i < 250; i++)
        assert_int_equal(bolt_next(&s, &rec), 1);
    assert_int_equal(bolt_discard(&s), 0);
    assert_int_equal(s.state, BOLT_READY);
    assert_int_equal(bolt_run(&s, "RETURN 7", NULL, 0, BOLT_MODE_READ), 0);
    assert_int_equal(bolt_next(&s, &rec), 1);
    /* A new run while a result is open discards it first. */
    assert_int_equal(bolt_run(&s, "RETURN 8", NULL, 0, BOLT_MODE_READ), 0);
    assert_int_equal(bolt_next(&s, &rec), 1);
    assert_int_equal(bolt_next(&s, &rec), 0);
    bolt_close(&s);
}

static long vm_hwm_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6))
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

static void test_stream_million_rows_constant_memory(void **state)
{
    struct bolt_config c = base_cfg();
    struct bolt_session s;
    connect_ok(&s, &c);
    assert_int_equal(bolt_run(&s, "UNWIND range(1, 1000000) AS i RETURN i, toString(i)", NULL, 0,
                              BOLT_MODE_READ),
                     0);
    struct bolt_record rec;
    long rows = 0, sum = 0, hwm_100k = 0;
    int rc;
    while ((rc = bolt_next(&s, &rec)) == 1) {
        struct pack_reader r;
        struct pack_item it;
        pack_reader_init(&r, rec.data, rec.len);
        assert_int_equal(pack_read_item(&r, &it), 0);
        assert_int_equal(pack_read_item(&r, &it), 0);
        sum += it.i;
        rows++;
        if (rows == 100000)
            hwm_100k = vm_hwm_kb();
    }
    assert_int_equal(rc, 0);
    assert_int_equal(rows, 1000000);
    assert_int_equal(sum, 500000500000L);
    long hwm_end = vm_hwm_kb();
    printf("peak RSS after 100k rows: %ld kB, after 1M rows: %ld kB\n", hwm_100k, hwm_end);
    assert_true(hwm_end <= hwm_100k + 1024);
    bolt_close(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_and_version),
        cmocka_unit_test(test_roundtrip_scalars),
        cmocka_unit_test(test_roundtrip_containers),
        cmocka_unit_test(test_roundtrip_temporal_spatial),
        cmocka_unit_test(test_graph_structures),
        cmocka_unit_test(test_failures_distinct),
        cmocka_unit_test(test_read_timeout),
        cmocka_unit_test(test_server_closes_mid_stream),
        cmocka_unit_test(test_transactions),
        cmocka_unit_test(test_discard_midway),
        cmocka_unit_test(test_stream_million_rows_constant_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
