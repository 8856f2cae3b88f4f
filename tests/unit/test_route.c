/* Unit tests for bolt/route: ROUTE request bytes, routing context, addresses, the table parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "bolt/route.h"

static void assert_bytes(const struct buf *b, const uint8_t *want, size_t n)
{
    assert_int_equal(b->len, n);
    assert_memory_equal(b->data, want, n);
}

static struct bolt_route_context ctx_of(const char *uri, const char *host, int port)
{
    struct bolt_route_context c;
    char err[256];
    assert_int_equal(bolt_route_context_parse(uri, host, port, &c, err, sizeof err), 0);
    return c;
}

/* ROUTE {address: "h:7687"} [] {} — the request for the home database. */
static void test_route_bytes_home_db(void **st)
{
    (void)st;
    struct bolt_route_context c = ctx_of("neo4j://h", "h", 7687);
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(bolt_route_write(&b, &c, NULL, NULL), 0);
    static const uint8_t want[] = {0xB3, 0x66, 0xA1, 0x87, 'a', 'd', 'd', 'r', 'e',  's',
                                   's',  0x86, 'h',  ':',  '7', '6', '8', '7', 0x90, 0xA0};
    assert_bytes(&b, want, sizeof want);
    buf_deinit(&b);
}

/* Query parameters join the context; db and imp_user go in extra. */
static void test_route_bytes_db_params(void **st)
{
    (void)st;
    struct bolt_route_context c =
        ctx_of("neo4j+s://[::1]:7000/?region=eu%2Dwest&policy=a+b", "::1", 7000);
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(bolt_route_write(&b, &c, "graphs", "bob"), 0);
    /* clang-format off */
    static const uint8_t want[] = {
        0xB3, 0x66, 0xA3,                                               /* ROUTE, context of 3 */
        0x87, 'a',  'd',  'd', 'r', 'e', 's', 's',                      /* address */
        0x8A, '[',  ':',  ':', '1', ']', ':', '7', '0', '0', '0',       /* [::1]:7000 */
        0x86, 'r',  'e',  'g', 'i', 'o', 'n',                           /* region */
        0x87, 'e',  'u',  '-', 'w', 'e', 's', 't',                      /* eu-west (%2D) */
        0x86, 'p',  'o',  'l', 'i', 'c', 'y',                           /* policy */
        0x83, 'a',  ' ',  'b',                                          /* a b ('+') */
        0x90,                                                           /* no bookmarks */
        0xA2, 0x82, 'd',  'b', 0x86, 'g', 'r', 'a', 'p', 'h', 's',      /* db */
        0x88, 'i',  'm',  'p', '_', 'u', 's', 'e', 'r', 0x83, 'b', 'o', 'b'}; /* imp_user */
    /* clang-format on */
    assert_bytes(&b, want, sizeof want);
    buf_deinit(&b);
}

static void test_context_errors(void **st)
{
    (void)st;
    struct bolt_route_context c;
    char err[256];
    static const char *const bad[] = {
        "neo4j://h?policy",          /* no '=' */
        "neo4j://h?policy=",         /* no value */
        "neo4j://h?=x",              /* no key */
        "neo4j://h?a=1&a=2",         /* twice */
        "neo4j://h?address=other:1", /* reserved */
        "neo4j://h?a=%zz",           /* broken escape */
        "neo4j://h?a=%4",            /* cut escape */
        "neo4j://h?a=%00",           /* NUL */
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        err[0] = '\0';
        assert_int_equal(bolt_route_context_parse(bad[k], "h", 7687, &c, err, sizeof err), FS_EURI);
        assert_true(err[0] != '\0');
    }
    char many[1024] = "neo4j://h?";
    for (int k = 0; k <= BOLT_ROUTE_MAX_PARAMS; k++) {
        size_t n = strlen(many);
        snprintf(many + n, sizeof many - n, "%sk%d=v", k ? "&" : "", k);
    }
    assert_int_equal(bolt_route_context_parse(many, "h", 7687, &c, err, sizeof err), FS_EURI);
    assert_non_null(strstr(err, "more than"));
    /* empty pieces and a fragment are ignored */
    assert_int_equal(
        bolt_route_context_parse("neo4j://h:1?&a=1&&b=2#frag", "h", 1, &c, err, sizeof err), 0);
    assert_int_equal(c.nparams, 2);
    assert_string_equal(c.keys[1], "b");
    assert_string_equal(c.values[1], "2");
    assert_string_equal(c.address, "h:1");
}

static void test_addr_parse(void **st)
{
    (void)st;
    struct bolt_addr a;
    char out[300];
    assert_int_equal(bolt_addr_parse("core-1.example:7688", 19, &a), 0);
    assert_string_equal(a.host, "core-1.example");
    assert_int_equal(a.port, 7688);
    assert_int_equal(bolt_addr_parse("reader", 6, &a), 0);
    assert_int_equal(a.port, 7687);
    assert_int_equal(bolt_addr_parse("[fe80::1]:9000", 14, &a), 0);
    assert_string_equal(a.host, "fe80::1");
    assert_int_equal(a.port, 9000);
    bolt_addr_format(&a, out, sizeof out);
    assert_string_equal(out, "[fe80::1]:9000");
    static const char *const bad[] = {"",       ":7687", "h:",    "h:0",         "h:65536",
                                      "h:12ab", "h:-1",  "[::1",  "[::1]x",      "[]:1",
                                      "a b:1",  "u@h:1", "h:1:2", "h:0000007687"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        assert_int_equal(bolt_addr_parse(bad[k], strlen(bad[k]), &a), FS_EMALFORMED);
    /* the length is the bound, not a NUL */
    assert_int_equal(bolt_addr_parse("h:7687junk", 6, &a), 0);
    assert_int_equal(a.port, 7687);
}

/* The SUCCESS metadata Neo4j 5.26 Community sends for ROUTE (single member). */
/* clang-format off */
static const uint8_t community_table[] = {
    0xA1, 0x82, 'r', 't', 0xA3, 0x87, 's', 'e', 'r', 'v', 'e', 'r', 's', 0x93,
    /* {addresses: ["127.0.0.1:17107"], role: "WRITE"} */
    0xA2, 0x89, 'a', 'd', 'd', 'r', 'e', 's', 's', 'e', 's', 0x91, 0x8F, '1', '2', '7', '.', '0',
    '.', '0', '.', '1', ':', '1', '7', '1', '0', '7', 0x84, 'r', 'o', 'l', 'e', 0x85, 'W', 'R', 'I',
    'T', 'E',
    /* READ */
    0xA2, 0x89, 'a', 'd', 'd', 'r', 'e', 's', 's', 'e', 's', 0x91, 0x8F, '1', '2', '7', '.', '0',
    '.', '0', '.', '1', ':', '1', '7', '1', '0', '7', 0x84, 'r', 'o', 'l', 'e', 0x84, 'R', 'E', 'A',
    'D',
    /* ROUTE */
    0xA2, 0x89, 'a', 'd', 'd', 'r', 'e', 's', 's', 'e', 's', 0x91, 0x8F, '1', '2', '7', '.', '0',
    '.', '0', '.', '1', ':', '1', '7', '1', '0', '7', 0x84, 'r', 'o', 'l', 'e', 0x85, 'R', 'O', 'U',
    'T', 'E',
    /* ttl: 300, db: "neo4j" */
    0x83, 't', 't', 'l', 0xC9, 0x01, 0x2C, 0x82, 'd', 'b', 0x85, 'n', 'e', 'o', '4', 'j'};
/* clang-format on */

static void test_table_community(void **st)
{
    (void)st;
    struct bolt_route_table t;
    char err[256];
    assert_int_equal(
        bolt_route_table_parse(community_table, sizeof community_table, NULL, &t, err, sizeof err),
        0);
    assert_int_equal(t.ttl, 300);
    assert_string_equal(t.db, "neo4j");
    for (int r = 0; r < BOLT_ROLE_COUNT; r++) {
        assert_int_equal(t.n[r], 1);
        assert_string_equal(t.members[r][0].host, "127.0.0.1");
        assert_int_equal(t.members[r][0].port, 17107);
    }
    assert_true(t.expires == 0);
    /* every truncation is an error, never a crash or a half table */
    for (size_t n = 0; n < sizeof community_table; n++) {
        assert_int_not_equal(bolt_route_table_parse(community_table, n, NULL, &t, err, sizeof err),
                             0);
        assert_int_equal(t.n[BOLT_ROLE_READ] + t.n[BOLT_ROLE_ROUTE] + t.n[BOLT_ROLE_WRITE], 0);
    }
}

/* Builds {rt: {ttl, servers: [{role, addresses}...]}} with the encoder. */
static void put_server(struct buf *b, const char *role, int naddr, const char *const *addrs)
{
    assert_int_equal(pack_write_map_header(b, 2), 0);
    assert_int_equal(pack_write_cstr(b, "role"), 0);
    assert_int_equal(pack_write_cstr(b, role), 0);
    assert_int_equal(pack_write_cstr(b, "addresses"), 0);
    assert_int_equal(pack_write_list_header(b, (uint32_t)naddr), 0);
    for (int k = 0; k < naddr; k++)
        assert_int_equal(pack_write_cstr(b, addrs[k]), 0);
}

static void put_head(struct buf *b, int64_t ttl, uint32_t nservers)
{
    assert_int_equal(pack_write_map_header(b, 1), 0);
    assert_int_equal(pack_write_cstr(b, "rt"), 0);
    assert_int_equal(pack_write_map_header(b, 2), 0);
    assert_int_equal(pack_write_cstr(b, "ttl"), 0);
    assert_int_equal(pack_write_int(b, ttl), 0);
    assert_int_equal(pack_write_cstr(b, "servers"), 0);
    assert_int_equal(pack_write_list_header(b, nservers), 0);
}

static void test_table_cluster(void **st)
{
    (void)st;
    struct buf b;
    buf_init(&b, 0);
    static const char *const readers[] = {"r1:7687", "r2:7687", "r1:7687", "[::1]:7690"};
    static const char *const routers[] = {"c1:7687", "c2:7687", "c3:7687"};
    static const char *const later[] = {"x:1"};
    put_head(&b, 10, 4);
    put_server(&b, "ROUTE", 3, routers);
    put_server(&b, "READ", 4, readers);
    put_server(&b, "WRITE", 1, routers);
    put_server(&b, "SOMETHING_NEW", 1, later); /* a role we do not know: ignored */
    struct bolt_route_table t;
    char err[256];
    assert_int_equal(bolt_route_table_parse(b.data, b.len, NULL, &t, err, sizeof err), 0);
    assert_int_equal(t.ttl, 10);
    assert_string_equal(t.db, "");
    assert_int_equal(t.n[BOLT_ROLE_ROUTE], 3);
    assert_int_equal(t.n[BOLT_ROLE_READ], 3); /* the duplicate r1 is kept once */
    assert_string_equal(t.members[BOLT_ROLE_READ][1].host, "r2");
    assert_string_equal(t.members[BOLT_ROLE_READ][2].host, "::1");
    assert_int_equal(t.members[BOLT_ROLE_READ][2].port, 7690);
    assert_int_equal(t.n[BOLT_ROLE_WRITE], 1);
    buf_deinit(&b);
}

static void test_table_cap(void **st)
{
    (void)st;
    struct buf b;
    buf_init(&b, 0);
    char names[40][16];
    const char *addrs[40];
    for (int k = 0; k < 40; k++) {
        snprintf(names[k], sizeof names[k], "m%d:7687", k);
        addrs[k] = names[k];
    }
    put_head(&b, 300, 1);
    put_server(&b, "READ", 40, addrs);
    struct bolt_route_table t;
    char err[256];
    assert_int_equal(bolt_route_table_parse(b.data, b.len, NULL, &t, err, sizeof err), 0);
    assert_int_equal(t.n[BOLT_ROLE_READ], BOLT_ROUTE_MAX_MEMBERS);
    assert_int_equal(t.dropped, 40 - BOLT_ROUTE_MAX_MEMBERS);
    assert_string_equal(t.members[BOLT_ROLE_READ][0].host, "m0");
    buf_deinit(&b);
}

static void expect_bad(struct buf *b, const char *word)
{
    struct bolt_route_table t;
    char err[256] = "";
    assert_int_equal(bolt_route_table_parse(b->data, b->len, NULL, &t, err, sizeof err),
                     FS_EMALFORMED);
    if (!strstr(err, word))
        fail_msg("error '%s' does not say '%s'", err, word);
    assert_int_equal(t.n[BOLT_ROLE_READ], 0);
    buf_reset(b);
}

static void test_table_malformed(void **st)
{
    (void)st;
    struct buf b;
    buf_init(&b, 0);
    static const char *const ok[] = {"a:1"};
    static const char *const badaddr[] = {"a:1", "nohost:99999"};

    assert_int_equal(pack_write_map_header(&b, 0), 0); /* {} */
    expect_bad(&b, "'rt'");
    assert_int_equal(pack_write_list_header(&b, 0), 0); /* [] */
    expect_bad(&b, "not a map");
    put_head(&b, -1, 0);
    expect_bad(&b, "ttl");
    assert_int_equal(pack_write_map_header(&b, 1), 0); /* {rt: {ttl: 1}} */
    assert_int_equal(pack_write_cstr(&b, "rt"), 0);
    assert_int_equal(pack_write_map_header(&b, 1), 0);
    assert_int_equal(pack_write_cstr(&b, "ttl"), 0);
    assert_int_equal(pack_write_int(&b, 1), 0);
    expect_bad(&b, "servers");
    put_head(&b, 5, 2); /* the first server is fine, the second has a bad address */
    put_server(&b, "READ", 1, ok);
    put_server(&b, "READ", 2, badaddr);
    expect_bad(&b, "nohost:99999");
    put_head(&b, 5, 1); /* a server that is not a map */
    assert_int_equal(pack_write_cstr(&b, "READ"), 0);
    expect_bad(&b, "server entry");
    put_head(&b, 5, 1); /* addresses that are not strings */
    assert_int_equal(pack_write_map_header(&b, 2), 0);
    assert_int_equal(pack_write_cstr(&b, "role"), 0);
    assert_int_equal(pack_write_cstr(&b, "READ"), 0);
    assert_int_equal(pack_write_cstr(&b, "addresses"), 0);
    assert_int_equal(pack_write_list_header(&b, 1), 0);
    assert_int_equal(pack_write_int(&b, 7687), 0);
    expect_bad(&b, "not a string");
    buf_deinit(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route_bytes_home_db), cmocka_unit_test(test_route_bytes_db_params),
        cmocka_unit_test(test_context_errors),      cmocka_unit_test(test_addr_parse),
        cmocka_unit_test(test_table_community),     cmocka_unit_test(test_table_cluster),
        cmocka_unit_test(test_table_cap),           cmocka_unit_test(test_table_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
