/* Round trips of falkor/param text through the real FalkorDB: CYPHER v=<encoded> RETURN $v. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis.h>

#include "falkor/param.h"
#include "itest.h"

/* Compact reply value types (FalkorDB resultset_formatters.h). */
enum {
    T_NULL = 1,
    T_STRING = 2,
    T_INTEGER = 3,
    T_BOOLEAN = 4,
    T_DOUBLE = 5,
    T_ARRAY = 6,
    T_MAP = 10
};

static redisContext *conn;
static char graph[64];

/* ---- Connection and queries --------------------------------------------- */

static redisReply *command(int argc, const char **argv, const size_t *lens)
{
    redisReply *r = redisCommandArgv(conn, argc, argv, lens);
    if (!r)
        fail_msg("FalkorDB: %s", conn->errstr);
    return r;
}

static int setup(void **state)
{
    struct timeval tv = {10, 0};
    conn = redisConnectWithTimeout("127.0.0.1", itest_falkordb_port(), tv);
    if (!conn || conn->err) {
        fprintf(stderr, "cannot reach FalkorDB on port %d: %s\n", itest_falkordb_port(),
                conn ? conn->errstr : "no memory");
        return -1; /* fails the group: an unreachable server is a failure, not a skip */
    }
    redisSetTimeout(conn, (struct timeval){60, 0});
    const char *pw = itest_falkordb_password();
    if (pw) {
        const char *av[] = {"AUTH", pw};
        redisReply *r = redisCommandArgv(conn, 2, av, NULL);
        if (!r || r->type == REDIS_REPLY_ERROR)
            return -1;
        freeReplyObject(r);
    }
    snprintf(graph, sizeof graph, "ptest_param_%ld", (long)getpid());
    return 0;
}

static void delete_graph(void)
{
    const char *av[] = {"GRAPH.DELETE", graph};
    redisReply *r = redisCommandArgv(conn, 2, av, NULL);
    freeReplyObject(r); /* an error just means there was no graph */
}

static int teardown(void **state)
{
    if (conn) {
        delete_graph();
        redisFree(conn);
    }
    return 0;
}

/* Runs one query (exact bytes) in compact mode; fails the test on an error reply. */
static redisReply *query(const char *q, size_t len)
{
    const char *av[] = {"GRAPH.QUERY", graph, q, "--compact"};
    size_t lens[] = {11, strlen(graph), len, 9};
    redisReply *r = command(4, av, lens);
    if (r->type == REDIS_REPLY_ERROR)
        fail_msg("FalkorDB refused %.200s: %s", q, r->str);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY); /* [stats] or [header, rows, stats] */
    return r;
}

/* The single cell of a one-row, one-column result. */
static const redisReply *only_cell(const redisReply *r)
{
    assert_int_equal(r->elements, 3);
    const redisReply *rows = r->element[1];
    assert_int_equal(rows->type, REDIS_REPLY_ARRAY);
    assert_int_equal(rows->elements, 1);
    assert_int_equal(rows->element[0]->elements, 1);
    return rows->element[0]->element[0];
}

/* ---- Comparing a compact reply cell [type, value] with the sent value --- */

static bool same(const struct fs_value *v, const redisReply *cell, char *why, size_t whylen);

static bool mismatch(char *why, size_t whylen, const char *what)
{
    snprintf(why, whylen, "%s", what);
    return false;
}

static bool same_value(const struct fs_value *v, long long type, const redisReply *x, char *why,
                       size_t whylen)
{
    char tmp[64];
    switch (v->kind) {
    case FS_VALUE_NULL:
        return type == T_NULL && x->type == REDIS_REPLY_NIL ? true : mismatch(why, whylen, "null");
    case FS_VALUE_BOOL:
        if (type != T_BOOLEAN || x->type != REDIS_REPLY_STRING)
            return mismatch(why, whylen, "bool type");
        return strcmp(x->str, v->u.b ? "true" : "false") == 0 ? true
                                                              : mismatch(why, whylen, "bool");
    case FS_VALUE_INT:
        if (type != T_INTEGER || x->type != REDIS_REPLY_INTEGER)
            return mismatch(why, whylen, "int type");
        return x->integer == v->u.i ? true : mismatch(why, whylen, "int value");
    case FS_VALUE_FLOAT:
        /* The reply rounds to %.15g; bit-exactness is checked server-side
         * by check_exact_double. */
        if (type != T_DOUBLE || x->type != REDIS_REPLY_STRING)
            return mismatch(why, whylen, "double type");
        snprintf(tmp, sizeof tmp, "%.15g", v->u.f);
        if (strcmp(tmp, x->str) != 0) {
            snprintf(why, whylen, "double %s came back as %s", tmp, x->str);
            return false;
        }
        return true;
    case FS_VALUE_STRING:
        if (type != T_STRING || x->type != REDIS_REPLY_STRING)
            return mismatch(why, whylen, "string type");
        if (x->len != v->u.str.len)
            snprintf(why, whylen, "string length %zu, sent %u", x->len, v->u.str.len);
        else if (memcmp(x->str, v->u.str.data, x->len) != 0)
            snprintf(why, whylen, "string bytes differ (length %zu)", x->len);
        else
            return true;
        return false;
    case FS_VALUE_LIST:
        if (type != T_ARRAY || x->type != REDIS_REPLY_ARRAY || x->elements != v->u.list.len)
            return mismatch(why, whylen, "list shape");
        for (uint32_t i = 0; i < v->u.list.len; i++)
            if (!same(&v->u.list.items[i], x->element[i], why, whylen))
                return false;
        return true;
    case FS_VALUE_MAP:
        if (type != T_MAP || x->type != REDIS_REPLY_ARRAY || x->elements != 2 * v->u.map.len)
            return mismatch(why, whylen, "map shape");
        for (uint32_t i = 0; i < v->u.map.len; i++) {
            const struct fs_value *k = &v->u.map.items[i].key;
            const redisReply *rk = x->element[2 * i];
            if (rk->type != REDIS_REPLY_STRING || rk->len != k->u.str.len ||
                memcmp(rk->str, k->u.str.data, rk->len) != 0) {
                snprintf(why, whylen, "key %u: sent `%s`", i, k->u.str.data);
                return false;
            }
            if (!same(&v->u.map.items[i].value, x->element[2 * i + 1], why, whylen))
                return false;
        }
        return true;
    default:
        return mismatch(why, whylen, "kind not sent");
    }
}

static bool same(const struct fs_value *v, const redisReply *cell, char *why, size_t whylen)
{
    if (cell->type != REDIS_REPLY_ARRAY || cell->elements != 2 ||
        cell->element[0]->type != REDIS_REPLY_INTEGER)
        return mismatch(why, whylen, "not a compact cell");
    return same_value(v, cell->element[0]->integer, cell->element[1], why, whylen);
}

/* Lists/maps inside each other; 0 for a scalar. */
static int nesting(const struct fs_value *v)
{
    int n = 0, k;
    if (v->kind == FS_VALUE_LIST)
        for (uint32_t i = 0; i < v->u.list.len; i++)
            if ((k = nesting(&v->u.list.items[i])) > n)
                n = k;
    if (v->kind == FS_VALUE_MAP)
        for (uint32_t i = 0; i < v->u.map.len; i++)
            if ((k = nesting(&v->u.map.items[i].value)) > n)
                n = k;
    return v->kind == FS_VALUE_LIST || v->kind == FS_VALUE_MAP ? n + 1 : 0;
}

/* Runs CYPHER v=<whole> p0=<path[0]> ... RETURN fn($v[$p0][$p1]...). */
static redisReply *query_at(const struct fs_value *whole, const struct fs_value *path, int depth,
                            const char *fn, const char *label)
{
    struct buf q;
    buf_init(&q, 0);
    assert_int_equal(fdb_param_prefix_begin(&q), 0);
    assert_int_equal(fdb_param_name(&q, "v"), 0);
    int rc = fdb_param_encode(&q, whole);
    if (rc)
        fail_msg("%s: encode: %s", label, fs_errname(rc));
    char name[16];
    for (int i = 0; i < depth; i++) {
        snprintf(name, sizeof name, "p%d", i);
        assert_int_equal(fdb_param_name(&q, name), 0);
        assert_int_equal(fdb_param_encode(&q, &path[i]), 0);
    }
    assert_int_equal(buf_printf(&q, " RETURN %s($v", fn), 0);
    for (int i = 0; i < depth; i++)
        assert_int_equal(buf_printf(&q, "[$p%d]", i), 0);
    assert_int_equal(buf_append_str(&q, ")"), 0);
    redisReply *r = query(q.data, q.len);
    buf_deinit(&q);
    return r;
}

/* Asserts the server's $v at path equals sub. hiredis 0.14 reads replies
 * nested at most 7 deep, which leaves two levels of lists/maps inside a
 * compact cell; deeper values are walked one level at a time, comparing
 * sizes and keys on the way down. */
static void check_at(const struct fs_value *whole, const struct fs_value *sub,
                     struct fs_value *path, int depth, const char *label)
{
    char why[160];
    if (nesting(sub) <= 2) {
        redisReply *r = query_at(whole, path, depth, "", label);
        if (!same(sub, only_cell(r), why, sizeof why))
            fail_msg("%s at depth %d: %s", label, depth, why);
        freeReplyObject(r);
        return;
    }
    assert_true(depth < FDB_PARAM_MAX_DEPTH);
    if (sub->kind == FS_VALUE_LIST) {
        redisReply *r = query_at(whole, path, depth, "size", label);
        const redisReply *cell = only_cell(r);
        assert_int_equal(cell->element[1]->integer, sub->u.list.len);
        freeReplyObject(r);
        for (uint32_t i = 0; i < sub->u.list.len; i++) {
            path[depth] = (struct fs_value){.kind = FS_VALUE_INT, .u.i = i};
            check_at(whole, &sub->u.list.items[i], path, depth + 1, label);
        }
        return;
    }
    /* A map: its keys in order, then each value. */
    struct fs_value keys = {.kind = FS_VALUE_LIST};
    struct fs_value key_items[64];
    assert_true(sub->u.map.len <= 64);
    keys.u.list.items = key_items;
    keys.u.list.len = sub->u.map.len;
    for (uint32_t i = 0; i < sub->u.map.len; i++)
        key_items[i] = sub->u.map.items[i].key;
    redisReply *r = query_at(whole, path, depth, "keys", label);
    if (!same(&keys, only_cell(r), why, sizeof why))
        fail_msg("%s: keys at depth %d: %s", label, depth, why);
    freeReplyObject(r);
    for (uint32_t i = 0; i < sub->u.map.len; i++) {
        path[depth] = sub->u.map.items[i].key; /* borrowed, not freed */
        check_at(whole, &sub->u.map.items[i].value, path, depth + 1, label);
    }
}

/* Sends CYPHER v=<v> RETURN $v and asserts the answer equals v. */
static void round_trip(const struct fs_value *v, const char *label)
{
    struct fs_value path[FDB_PARAM_MAX_DEPTH];
    check_at(v, v, path, 0, label);
}

/* d = m * 2^e with m odd (or 0): exact integers the server can multiply. */
static void split_double(double d, int64_t *m, int64_t *e)
{
    int ex;
    double fr = frexp(d, &ex);
    *m = (int64_t)ldexp(fr, 53);
    *e = ex - 53;
    while (*m && *m % 2 == 0) {
        *m /= 2;
        (*e)++;
    }
}

/* Asserts the server holds exactly d's bits: $v = m * 2^e, computed there
 * from integers, and for zero the sign shows in the %.15g reply ("-0"). */
static void check_exact_double(double d)
{
    int64_t m, e;
    split_double(d, &m, &e);
    struct buf q;
    buf_init(&q, 0);
    assert_int_equal(fdb_param_prefix_begin(&q), 0);
    assert_int_equal(fdb_param_name(&q, "v"), 0);
    assert_int_equal(fdb_param_write_double(&q, d), 0);
    assert_int_equal(fdb_param_name(&q, "m"), 0);
    assert_int_equal(fdb_param_write_int(&q, m), 0);
    assert_int_equal(fdb_param_name(&q, "e"), 0);
    assert_int_equal(fdb_param_write_int(&q, e), 0);
    assert_int_equal(fdb_param_prefix_end(&q), 0);
    assert_int_equal(buf_append_str(&q, "RETURN $v = toFloat($m) * 2.0^$e"), 0);
    redisReply *r = query(q.data, q.len);
    const redisReply *cell = only_cell(r);
    if (cell->element[0]->integer != T_BOOLEAN || strcmp(cell->element[1]->str, "true") != 0)
        fail_msg("%a is not exact on the server (sent %s)", d, q.data);
    freeReplyObject(r);
    buf_deinit(&q);
    struct fs_value v = {.kind = FS_VALUE_FLOAT, .u.f = d};
    round_trip(&v, "double");
}

/* ---- Value builders ------------------------------------------------------ */

static struct fs_value str_n(const char *s, size_t n)
{
    struct fs_value v = {.kind = FS_VALUE_STRING};
    v.u.str.data = malloc(n + 1);
    assert_non_null(v.u.str.data);
    if (n)
        memcpy(v.u.str.data, s, n);
    v.u.str.data[n] = '\0';
    v.u.str.len = (uint32_t)n;
    return v;
}

static struct fs_value str(const char *s)
{
    return str_n(s, strlen(s));
}

static struct fs_value list_of(uint32_t n)
{
    struct fs_value v = {.kind = FS_VALUE_LIST};
    v.u.list.items = calloc(n ? n : 1, sizeof(struct fs_value));
    assert_non_null(v.u.list.items);
    v.u.list.len = n;
    return v;
}

static struct fs_value map_of(uint32_t n)
{
    struct fs_value v = {.kind = FS_VALUE_MAP};
    v.u.map.items = calloc(n ? n : 1, sizeof(struct fs_value_pair));
    assert_non_null(v.u.map.items);
    v.u.map.len = n;
    return v;
}

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* ---- Tests ---------------------------------------------------------------- */

static void test_every_byte(void **state)
{
    char all[255];
    for (int c = 1; c < 256; c++) {
        char s[3] = {'a', (char)c, 'b'};
        all[c - 1] = (char)c;
        struct fs_value v = list_of(2);
        v.u.list.items[0] = str_n(s + 1, 1);
        v.u.list.items[1] = str_n(s, 3);
        char label[32];
        snprintf(label, sizeof label, "byte 0x%02X", c);
        round_trip(&v, label);
        fs_value_deinit(&v);
    }
    struct fs_value v = str_n(all, sizeof all);
    round_trip(&v, "bytes 1..255");
    fs_value_deinit(&v);
    for (int c = 0; c < 255; c++)
        all[c] = (char)(255 - c);
    v = str_n(all, sizeof all);
    round_trip(&v, "bytes 255..1");
    fs_value_deinit(&v);
}

static void test_nul_is_refused(void **state)
{
    /* The server reads the query as a C string: bytes after a NUL vanish
     * (this query "succeeds" and returns 'ab'). So the encoder refuses. */
    static const char q[] = "CYPHER v='ab' RETURN $v\0 this part is never seen";
    redisReply *r = query(q, sizeof q - 1);
    const redisReply *cell = only_cell(r);
    assert_int_equal(cell->element[1]->len, 2);
    freeReplyObject(r);

    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(fdb_param_write_string(&b, "a\0b", 3), FS_EUNSUPPORTED);
    assert_int_equal(b.len, 0);
    buf_deinit(&b);
}

static void test_special_strings(void **state)
{
    static const char *cases[] = {
        "",
        "'",
        "\"",
        "''",
        "\"\"",
        "it's",
        "say \"hi\"",
        "both ' and \"",
        "'\"'\"'",
        "\\",
        "\\\\",
        "\\'",
        "'\\",
        "\\\"",
        "ends with a backslash\\",
        "\\n\\t\\u0041\\x41\\0\\a\\?",
        "line\nbreak",
        "crlf\r\n",
        "tab\there",
        "\v\f\b\a",
        "$v",
        "$rows } {",
        "}",
        "{",
        "]",
        "[",
        "`backtick`",
        "v=1 w=2",
        "RETURN 1",
        "') RETURN 1 //",
        "\"}) MATCH (n) DETACH DELETE n //",
        "CYPHER x=1",
        "null",
        "true",
        "1e999",
        "\xF0\x9F\x98\x80\xF0\x9D\x84\x9E",                  /* 4-byte UTF-8 */
        "caf\xC3\xA9 \xE2\x82\xAC \xE4\xB8\xAD\xE6\x96\x87", /* 2- and 3-byte */
        "\xC3",                                              /* truncated sequence */
        "\xFF\xFE",                                          /* never valid UTF-8 */
        "\xED\xA0\x80",                                      /* a surrogate */
        "\xC0\x80",                                          /* overlong NUL */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fs_value v = str(cases[i]);
        round_trip(&v, cases[i]);
        fs_value_deinit(&v);
    }
}

static void test_megabyte_string(void **state)
{
    size_t n = 1 << 20;
    char *s = malloc(n);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++) {
        uint64_t x = rng();
        /* mostly text, with every byte value but NUL mixed in */
        s[i] = (x & 7) ? (char)('a' + (x >> 8) % 26) : (char)(1 + (x >> 16) % 255);
    }
    struct fs_value v = str_n(s, n);
    round_trip(&v, "1 MB mixed");
    fs_value_deinit(&v);
    for (size_t i = 0; i < n; i++)
        s[i] = "'\\\"x"[rng() % 4];
    v = str_n(s, n);
    round_trip(&v, "1 MB of quotes and backslashes");
    fs_value_deinit(&v);
    free(s);
}

static void test_integers(void **state)
{
    static const int64_t cases[] = {0,
                                    1,
                                    -1,
                                    42,
                                    INT32_MAX,
                                    INT32_MIN,
                                    (int64_t)1 << 53,
                                    ((int64_t)1 << 53) + 1,
                                    INT64_MAX,
                                    INT64_MIN,
                                    INT64_MIN + 1,
                                    INT64_MAX - 1};
    struct fs_value all = list_of(sizeof cases / sizeof cases[0]);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fs_value v = {.kind = FS_VALUE_INT, .u.i = cases[i]};
        all.u.list.items[i] = v;
        round_trip(&v, "int");
    }
    round_trip(&all, "int list");
    fs_value_deinit(&all);
}

static void test_doubles(void **state)
{
    static const double cases[] = {
        0.1,
        1e308,
        5e-324,
        -0.0,
        0.0,
        1.0 / 3.0,
        -2.0 / 3.0,
        1.0,
        -1.0,
        100.0,
        1e15,
        1e16,
        1.5e16,
        1e22,
        1e23,
        1e-4,
        1e-5,
        0.30000000000000004,
        DBL_MAX,
        -DBL_MAX,
        DBL_MIN,
        2.225073858507201e-308,
        1.5e-323,
        0x1p-1017,
        9007199254740993.0,
        0.1f,
        3.4028234663852886e38,
        1.401298464324817e-45,
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_exact_double(cases[i]);
    for (int i = 0; i < 300; i++) {
        uint64_t bits = rng();
        double d;
        memcpy(&d, &bits, sizeof d);
        if (isfinite(d))
            check_exact_double(d);
        float f;
        uint32_t b32 = (uint32_t)bits;
        memcpy(&f, &b32, sizeof f);
        if (isfinite(f))
            check_exact_double((double)f);
    }
    /* A 1024-float embedding in one list, checked element by element. */
    struct fs_value emb = list_of(1024);
    struct buf q;
    buf_init(&q, 0);
    assert_int_equal(fdb_param_prefix_begin(&q), 0);
    struct fs_value ms = list_of(1024), es = list_of(1024);
    for (int i = 0; i < 1024; i++) {
        float f = (float)((double)(rng() >> 11) / 9007199254740992.0 * 2.0 - 1.0);
        emb.u.list.items[i] = (struct fs_value){.kind = FS_VALUE_FLOAT, .u.f = f};
        int64_t m, e;
        split_double(f, &m, &e);
        ms.u.list.items[i] = (struct fs_value){.kind = FS_VALUE_INT, .u.i = m};
        es.u.list.items[i] = (struct fs_value){.kind = FS_VALUE_INT, .u.i = e};
    }
    struct fdb_param ps[] = {{"v", &emb}, {"m", &ms}, {"e", &es}};
    buf_reset(&q);
    assert_int_equal(fdb_param_prefix(&q, ps, 3), 0);
    assert_int_equal(buf_append_str(&q, "RETURN size([i IN range(0, 1023) WHERE $v[i] = "
                                        "toFloat($m[i]) * 2.0^$e[i]])"),
                     0);
    redisReply *r = query(q.data, q.len);
    const redisReply *cell = only_cell(r);
    assert_int_equal(cell->element[0]->integer, T_INTEGER);
    assert_int_equal(cell->element[1]->integer, 1024);
    freeReplyObject(r);
    round_trip(&emb, "embedding");
    fs_value_deinit(&emb);
    fs_value_deinit(&ms);
    fs_value_deinit(&es);
    buf_deinit(&q);
}

/* Embedding elements: fdb_param_write_float32's text goes through the
 * server's parameter parser (a double) and vecf32 (a float); the vector it
 * returns (each element printed as a double) must hold the same float bits. */
static void check_float32_vector(const float *fs, size_t n)
{
    struct buf q;
    buf_init(&q, 0);
    assert_int_equal(fdb_param_prefix_begin(&q), 0);
    assert_int_equal(fdb_param_name(&q, "v"), 0);
    assert_int_equal(fdb_param_list_begin(&q), 0);
    for (size_t i = 0; i < n; i++) {
        if (i)
            assert_int_equal(fdb_param_write_sep(&q), 0);
        assert_int_equal(fdb_param_write_float32(&q, fs[i]), 0);
    }
    assert_int_equal(fdb_param_list_end(&q), 0);
    assert_int_equal(fdb_param_prefix_end(&q), 0);
    assert_int_equal(buf_append_str(&q, "RETURN vecf32($v)"), 0);
    redisReply *r = query(q.data, q.len);
    const redisReply *cell = only_cell(r);
    const redisReply *vec = cell->element[1];
    assert_int_equal(vec->type, REDIS_REPLY_ARRAY);
    assert_int_equal(vec->elements, n);
    for (size_t i = 0; i < n; i++) {
        const redisReply *x = vec->element[i];
        float back = x->type == REDIS_REPLY_STRING ? (float)strtod(x->str, NULL) : NAN;
        if (memcmp(&back, &fs[i], sizeof back) != 0) {
            char sent[FDB_FTOA_MAX + 1];
            assert_true(fdb_ftoa_float32(fs[i], sent) > 0);
            fail_msg("float32 %a sent as %s came back as %s", (double)fs[i], sent,
                     x->type == REDIS_REPLY_STRING ? x->str : "(not a string)");
        }
    }
    freeReplyObject(r);
    buf_deinit(&q);
}

static void test_float32_vectors(void **state)
{
    static const float cases[] = {
        0.1f,        -0.1f,          0.3f,  1.0f / 3.0f, -0.0123456789f,  1.0f,
        -1.0f,       0.0f,           -0.0f, 1e-4f,       1e-5f,           16777216.0f,
        34156552.0f, 1e10f,          1e16f, FLT_MAX,     -FLT_MAX,        FLT_MIN,
        1.4e-45f,    1.1754942e-38f, 0.5f,  -0.25f,      0.999999940395f,
    };
    check_float32_vector(cases, sizeof cases / sizeof cases[0]);
    float fs[1024];
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < 1024; i++) {
            uint64_t bits = rng();
            if (round < 2) { /* embedding-like: small magnitudes */
                fs[i] = (float)((double)(bits >> 11) / 9007199254740992.0 * 2.0 - 1.0) *
                        (round ? 0.05f : 1.0f);
            } else { /* any finite float: every exponent, odd and even mantissas */
                uint32_t b32 = (uint32_t)(bits >> 32);
                if (((b32 >> 23) & 0xFF) == 0xFF)
                    b32 &= ~(1u << 30);
                memcpy(&fs[i], &b32, sizeof b32);
            }
        }
        check_float32_vector(fs, 1024);
    }
}

static void test_unrepresentable_doubles(void **state)
{
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(fdb_param_write_double(&b, NAN), FS_EUNSUPPORTED);
    assert_int_equal(fdb_param_write_double(&b, INFINITY), FS_EUNSUPPORTED);
    assert_int_equal(fdb_param_write_double(&b, -INFINITY), FS_EUNSUPPORTED);
    assert_int_equal(b.len, 0);
    buf_deinit(&b);
    /* Why no 1e999 for inf: FalkorDB's own query parser calls it an error. */
    static const char q[] = "RETURN 1e999";
    const char *av[] = {"GRAPH.QUERY", graph, q, "--compact"};
    redisReply *r = command(4, av, NULL);
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    assert_non_null(strstr(r->str, "overflow"));
    freeReplyObject(r);
}

static void test_nested(void **state)
{
    /* [1, [2.5, ['deep', []]], {`a b`: {`é`: [true, null]}, ``: 'empty key'}, {}] */
    struct fs_value v = list_of(4);
    v.u.list.items[0] = (struct fs_value){.kind = FS_VALUE_INT, .u.i = 1};
    struct fs_value l1 = list_of(2);
    l1.u.list.items[0] = (struct fs_value){.kind = FS_VALUE_FLOAT, .u.f = 2.5};
    struct fs_value l2 = list_of(2);
    l2.u.list.items[0] = str("deep");
    l2.u.list.items[1] = list_of(0);
    l1.u.list.items[1] = l2;
    v.u.list.items[1] = l1;
    struct fs_value m = map_of(6);
    m.u.map.items[0].key = str("a b");
    struct fs_value inner = map_of(1);
    inner.u.map.items[0].key = str("\xC3\xA9");
    struct fs_value tn = list_of(2);
    tn.u.list.items[0] = (struct fs_value){.kind = FS_VALUE_BOOL, .u.b = true};
    inner.u.map.items[0].value = tn;
    m.u.map.items[0].value = inner;
    m.u.map.items[1].key = str("");
    m.u.map.items[1].value = str("empty key");
    m.u.map.items[2].key = str("RETURN");
    m.u.map.items[2].value = str("keyword key");
    m.u.map.items[3].key = str("$x}:{,'\"\\ \n");
    m.u.map.items[3].value = str("odd key");
    m.u.map.items[4].key = str("\xF0\x9F\x98\x80");
    m.u.map.items[4].value = (struct fs_value){.kind = FS_VALUE_INT, .u.i = INT64_MIN};
    m.u.map.items[5].key = str("_ok9");
    m.u.map.items[5].value = (struct fs_value){.kind = FS_VALUE_FLOAT, .u.f = -0.0};
    v.u.list.items[2] = m;
    v.u.list.items[3] = map_of(0);
    round_trip(&v, "nested");
    fs_value_deinit(&v);

    /* FDB_PARAM_MAX_DEPTH lists inside each other. */
    struct fs_value deep = list_of(0);
    for (int i = 1; i < FDB_PARAM_MAX_DEPTH; i++) {
        struct fs_value outer = list_of(1);
        outer.u.list.items[0] = deep;
        deep = outer;
    }
    round_trip(&deep, "deep");
    fs_value_deinit(&deep);

    /* A key with a backtick has no spelling the server takes. */
    struct fs_value bad = map_of(1);
    bad.u.map.items[0].key = str("a`b");
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(fdb_param_encode(&b, &bad), FS_EUNSUPPORTED);
    fs_value_deinit(&bad);
    static const char q[] = "CYPHER v={`a``b`:1} RETURN $v";
    const char *av[] = {"GRAPH.QUERY", graph, q, "--compact"};
    redisReply *r = command(4, av, NULL);
    assert_int_equal(r->type, REDIS_REPLY_ERROR); /* not even Cypher's doubled backtick */
    freeReplyObject(r);
    buf_deinit(&b);
}

static void test_unwind_create(void **state)
{
    /* rows=[{i:0, v:...}, ...] UNWIND $rows AS r CREATE (n:T {i: r.i}) SET n.v = r.v */
    enum { N = 12 };
    struct fs_value rows = list_of(N);
    struct fs_value vals[N];
    vals[0] = str("it's \"quoted\" \\ and\nnewline $v } {");
    vals[1] = str("\xF0\x9F\x98\x80 \xFF invalid");
    vals[2] = (struct fs_value){.kind = FS_VALUE_INT, .u.i = INT64_MIN};
    vals[3] = (struct fs_value){.kind = FS_VALUE_INT, .u.i = INT64_MAX};
    vals[4] = (struct fs_value){.kind = FS_VALUE_FLOAT, .u.f = 0.1};
    vals[5] = (struct fs_value){.kind = FS_VALUE_FLOAT, .u.f = 5e-324};
    vals[6] = (struct fs_value){.kind = FS_VALUE_FLOAT, .u.f = -0.0};
    vals[7] = (struct fs_value){.kind = FS_VALUE_BOOL, .u.b = false};
    vals[8] = list_of(3);
    vals[8].u.list.items[0] = (struct fs_value){.kind = FS_VALUE_FLOAT, .u.f = 1.0 / 3.0};
    vals[8].u.list.items[1] = (struct fs_value){.kind = FS_VALUE_FLOAT, .u.f = 1e308};
    vals[8].u.list.items[2] = (struct fs_value){.kind = FS_VALUE_FLOAT, .u.f = -1.5};
    vals[9] = list_of(2);
    vals[9].u.list.items[0] = str("a'b");
    vals[9].u.list.items[1] = str("");
    vals[10] = str("");
    char *big = malloc(100000);
    for (int i = 0; i < 100000; i++)
        big[i] = (char)(1 + rng() % 255);
    vals[11] = str_n(big, 100000);
    free(big);
    for (int i = 0; i < N; i++) {
        struct fs_value row = map_of(2);
        row.u.map.items[0].key = str("i");
        row.u.map.items[0].value = (struct fs_value){.kind = FS_VALUE_INT, .u.i = i};
        row.u.map.items[1].key = str("v");
        row.u.map.items[1].value = vals[i];
        rows.u.list.items[i] = row;
    }
    delete_graph();
    struct buf q;
    buf_init(&q, 0);
    struct fdb_param p = {"rows", &rows};
    assert_int_equal(fdb_param_prefix(&q, &p, 1), 0);
    assert_int_equal(buf_append_str(&q, "UNWIND $rows AS r CREATE (n:T {i: r.i}) SET n.v = r.v"),
                     0);
    redisReply *r = query(q.data, q.len);
    freeReplyObject(r);

    static const char back[] = "MATCH (n:T) RETURN n.v ORDER BY n.i";
    r = query(back, sizeof back - 1);
    assert_int_equal(r->elements, 3);
    const redisReply *out = r->element[1];
    assert_int_equal(out->elements, N);
    for (int i = 0; i < N; i++) {
        char why[160];
        if (!same(&vals[i], out->element[i]->element[0], why, sizeof why))
            fail_msg("row %d: %s", i, why);
    }
    freeReplyObject(r);

    /* Stored doubles are bit-exact too. */
    static const double ds[] = {0.1, 5e-324, -0.0};
    for (int k = 0; k < 3; k++) {
        int64_t m, e;
        split_double(ds[k], &m, &e);
        buf_reset(&q);
        assert_int_equal(fdb_param_prefix_begin(&q), 0);
        assert_int_equal(fdb_param_name(&q, "i"), 0);
        assert_int_equal(fdb_param_write_int(&q, 4 + k), 0);
        assert_int_equal(fdb_param_name(&q, "m"), 0);
        assert_int_equal(fdb_param_write_int(&q, m), 0);
        assert_int_equal(fdb_param_name(&q, "e"), 0);
        assert_int_equal(fdb_param_write_int(&q, e), 0);
        assert_int_equal(
            buf_append_str(&q, " MATCH (n:T {i: $i}) RETURN n.v = toFloat($m) * 2.0^$e"), 0);
        r = query(q.data, q.len);
        assert_string_equal(only_cell(r)->element[1]->str, "true");
        freeReplyObject(r);
    }
    buf_deinit(&q);
    fs_value_deinit(&rows);
    delete_graph();
}

static void test_several_parameters(void **state)
{
    struct fs_value a = str("first"), b2 = {.kind = FS_VALUE_INT, .u.i = 7}, c = list_of(0);
    struct fdb_param ps[] = {{"a", &a}, {"b_2", &b2}, {"_c", &c}};
    struct buf q;
    buf_init(&q, 0);
    assert_int_equal(fdb_param_prefix(&q, ps, 3), 0);
    assert_int_equal(buf_append_str(&q, "RETURN [$a, $b_2, $_c]"), 0);
    redisReply *r = query(q.data, q.len);
    struct fs_value want = list_of(3);
    want.u.list.items[0] = a;
    want.u.list.items[1] = b2;
    want.u.list.items[2] = c;
    char why[160];
    if (!same(&want, only_cell(r), why, sizeof why))
        fail_msg("%s", why);
    freeReplyObject(r);
    fs_value_deinit(&want);
    buf_deinit(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_byte),
        cmocka_unit_test(test_nul_is_refused),
        cmocka_unit_test(test_special_strings),
        cmocka_unit_test(test_megabyte_string),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_doubles),
        cmocka_unit_test(test_float32_vectors),
        cmocka_unit_test(test_unrepresentable_doubles),
        cmocka_unit_test(test_nested),
        cmocka_unit_test(test_unwind_create),
        cmocka_unit_test(test_several_parameters),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
