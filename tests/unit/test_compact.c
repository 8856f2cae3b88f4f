/* Unit tests for falkor/compact: byte vectors of real FalkorDB --compact replies, and broken ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "falkor/compact.h"

/* Captured from FalkorDB 4.16 (GRAPH.RO_QUERY ... --compact) on
 *   CREATE (a:A:B {s:'x', i:7, f:1.5, b:true, l:[1,'a'], v:vecf32([0.1,2.0]),
 *     p:point({latitude:1.5, longitude:2.25}), d:date('2024-01-02'),
 *     dt:localdatetime('2024-01-02T03:04:05'), t:localtime('03:04:05'),
 *     du:duration('P1DT2H')})-[:R {w:2}]->(b:A {s:'y'})
 * SCALARS: MATCH (a:B) RETURN a.s, a.i, a.f, a.b, a.l, a.v, a.p, a.d, a.dt,
 *   a.t, a.du, null, {k:1, m:'z'}, -0.0 */
static const char SCALARS[] =
    "*3\r\n*14\r\n*2\r\n:1\r\n$3\r\na.s\r\n*2\r\n:1\r\n$3\r\na.i\r\n*2\r\n:1\r\n"
    "$3\r\na.f\r\n*2\r\n:1\r\n$3\r\na.b\r\n*2\r\n:1\r\n$3\r\na.l\r\n*2\r\n:1\r\n"
    "$3\r\na.v\r\n*2\r\n:1\r\n$3\r\na.p\r\n*2\r\n:1\r\n$3\r\na.d\r\n*2\r\n:1\r\n"
    "$4\r\na.dt\r\n*2\r\n:1\r\n$3\r\na.t\r\n*2\r\n:1\r\n$4\r\na.du\r\n*2\r\n:1\r\n"
    "$4\r\nnull\r\n*2\r\n:1\r\n$12\r\n{k:1, m:'z'}\r\n*2\r\n:1\r\n$4\r\n-0.0\r\n"
    "*1\r\n*14\r\n*2\r\n:2\r\n$1\r\nx\r\n*2\r\n:3\r\n:7\r\n*2\r\n:5\r\n$3\r\n1.5\r\n"
    "*2\r\n:4\r\n$4\r\ntrue\r\n*2\r\n:6\r\n*2\r\n*2\r\n:3\r\n:1\r\n*2\r\n:2\r\n$1\r\n"
    "a\r\n*2\r\n:12\r\n*2\r\n$19\r\n0.10000000149011612\r\n$1\r\n2\r\n*2\r\n:11\r\n"
    "*2\r\n$3\r\n1.5\r\n$4\r\n2.25\r\n*2\r\n:14\r\n:1704153600\r\n*2\r\n:13\r\n"
    ":1704164645\r\n*2\r\n:15\r\n:-2208977755\r\n*2\r\n:16\r\n:93600\r\n*2\r\n:1\r\n"
    "$-1\r\n*2\r\n:10\r\n*4\r\n$1\r\nk\r\n*2\r\n:3\r\n:1\r\n$1\r\nm\r\n*2\r\n:2\r\n"
    "$1\r\nz\r\n*2\r\n:5\r\n$2\r\n-0\r\n*2\r\n$19\r\nCached execution: 0\r\n$52\r\n"
    "Query internal execution time: 0.311153 milliseconds\r\n";

/* GRAPH: MATCH p=(a:B)-[r]->(b) RETURN b, r, p LIMIT 1 */
static const char GRAPH[] =
    "*3\r\n*3\r\n*2\r\n:1\r\n$1\r\nb\r\n*2\r\n:1\r\n$1\r\nr\r\n*2\r\n:1\r\n$1\r\n"
    "p\r\n*1\r\n*3\r\n*2\r\n:8\r\n*3\r\n:1\r\n*1\r\n:0\r\n*1\r\n*3\r\n:0\r\n:2\r\n"
    "$1\r\ny\r\n*2\r\n:7\r\n*5\r\n:0\r\n:0\r\n:0\r\n:1\r\n*1\r\n*3\r\n:11\r\n:3\r\n"
    ":2\r\n*2\r\n:9\r\n*2\r\n*2\r\n:6\r\n*2\r\n*2\r\n:8\r\n*3\r\n:0\r\n*2\r\n:0\r\n"
    ":1\r\n*11\r\n*3\r\n:0\r\n:2\r\n$1\r\nx\r\n*3\r\n:1\r\n:3\r\n:7\r\n*3\r\n:2\r\n"
    ":5\r\n$3\r\n1.5\r\n*3\r\n:3\r\n:4\r\n$4\r\ntrue\r\n*3\r\n:4\r\n:6\r\n*2\r\n"
    "*2\r\n:3\r\n:1\r\n*2\r\n:2\r\n$1\r\na\r\n*3\r\n:5\r\n:12\r\n*2\r\n$19\r\n"
    "0.10000000149011612\r\n$1\r\n2\r\n*3\r\n:6\r\n:11\r\n*2\r\n$3\r\n1.5\r\n$4\r\n"
    "2.25\r\n*3\r\n:7\r\n:14\r\n:1704153600\r\n*3\r\n:8\r\n:13\r\n:1704164645\r\n"
    "*3\r\n:9\r\n:15\r\n:-2208977755\r\n*3\r\n:10\r\n:16\r\n:93600\r\n*2\r\n:8\r\n"
    "*3\r\n:1\r\n*1\r\n:0\r\n*1\r\n*3\r\n:0\r\n:2\r\n$1\r\ny\r\n*2\r\n:6\r\n*1\r\n"
    "*2\r\n:7\r\n*5\r\n:0\r\n:0\r\n:0\r\n:1\r\n*1\r\n*3\r\n:11\r\n:3\r\n:2\r\n*2\r\n"
    "$19\r\nCached execution: 0\r\n$52\r\n"
    "Query internal execution time: 0.305551 milliseconds\r\n";

/* A minimal RESP2 parser for the test vectors: hiredis 0.14's reader stops
 * at 7 levels of nesting, and a path holding a node with a list property
 * goes deeper (fdb cannot read such replies; the decoder still must).
 * Builds the tree with calloc/malloc, as freeReplyObject frees it. */
static redisReply *resp(const char **p, const char *end)
{
    assert_true(*p < end);
    char kind = *(*p)++;
    char *nl;
    long long n = strtoll(*p, &nl, 10);
    assert_true(nl + 1 < end + 1 && nl[0] == '\r' && nl[1] == '\n');
    redisReply *r = calloc(1, sizeof *r);
    assert_non_null(r);
    if (kind == '+' || kind == '-') { /* simple string or error: the whole line */
        const char *eol = strstr(*p, "\r\n");
        r->type = kind == '+' ? REDIS_REPLY_STATUS : REDIS_REPLY_ERROR;
        r->len = (size_t)(eol - *p);
        r->str = strndup(*p, r->len);
        *p = eol + 2;
        return r;
    }
    *p = nl + 2;
    switch (kind) {
    case ':':
        r->type = REDIS_REPLY_INTEGER;
        r->integer = n;
        break;
    case '$':
        if (n < 0) {
            r->type = REDIS_REPLY_NIL;
            break;
        }
        r->type = REDIS_REPLY_STRING;
        r->len = (size_t)n;
        r->str = malloc(r->len + 1);
        assert_non_null(r->str);
        memcpy(r->str, *p, r->len);
        r->str[r->len] = '\0';
        *p += r->len + 2;
        break;
    case '*':
        r->type = REDIS_REPLY_ARRAY;
        r->elements = (size_t)n;
        r->element = calloc(n ? (size_t)n : 1, sizeof *r->element);
        assert_non_null(r->element);
        for (long long i = 0; i < n; i++)
            r->element[i] = resp(p, end);
        break;
    default:
        fail_msg("RESP type '%c'", kind);
    }
    return r;
}

static redisReply *parse(const char *bytes, size_t len)
{
    const char *p = bytes;
    redisReply *r = resp(&p, bytes + len);
    assert_true(p == bytes + len); /* exactly one reply */
    return r;
}

#define PARSE(lit) parse((lit), sizeof(lit) - 1)

static const redisReply *row0(const redisReply *r)
{
    const redisReply *rows = fdb_compact_rows(r);
    assert_non_null(rows);
    assert_int_equal(rows->elements, 1);
    return rows->element[0];
}

static void decode_ok(const redisReply *cell, struct fs_value *v)
{
    int rc = fdb_compact_decode(cell, v);
    if (rc)
        fail_msg("decode: %s", fs_errname(rc));
}

static void assert_str(const struct fs_value *v, const char *s)
{
    assert_int_equal(v->kind, FS_VALUE_STRING);
    assert_int_equal(v->u.str.len, strlen(s));
    assert_string_equal(v->u.str.data, s);
}

static void assert_int(const struct fs_value *v, int64_t i)
{
    assert_int_equal(v->kind, FS_VALUE_INT);
    assert_true(v->u.i == i);
}

static void assert_struct(const struct fs_value *v, int tag, uint32_t n)
{
    assert_int_equal(v->kind, FS_VALUE_STRUCT);
    assert_int_equal(v->tag, tag);
    assert_int_equal(v->u.list.len, n);
}

static void test_scalars(void **state)
{
    redisReply *r = PARSE(SCALARS);
    const redisReply *row = row0(r);
    assert_int_equal(row->elements, 14);
    struct fs_value v;

    decode_ok(row->element[0], &v);
    assert_str(&v, "x");
    fs_value_deinit(&v);

    decode_ok(row->element[1], &v);
    assert_int(&v, 7);
    fs_value_deinit(&v);

    decode_ok(row->element[2], &v);
    assert_int_equal(v.kind, FS_VALUE_FLOAT);
    assert_true(v.u.f == 1.5);
    fs_value_deinit(&v);

    decode_ok(row->element[3], &v);
    assert_int_equal(v.kind, FS_VALUE_BOOL);
    assert_true(v.u.b);
    fs_value_deinit(&v);

    decode_ok(row->element[4], &v); /* [1, 'a'] */
    assert_int_equal(v.kind, FS_VALUE_LIST);
    assert_int_equal(v.u.list.len, 2);
    assert_int(&v.u.list.items[0], 1);
    assert_str(&v.u.list.items[1], "a");
    fs_value_deinit(&v);

    decode_ok(row->element[5], &v); /* vecf32([0.1, 2.0]) */
    assert_struct(&v, FDB_CT_VECTORF32, 2);
    assert_int_equal(v.u.list.items[0].kind, FS_VALUE_FLOAT);
    assert_true(v.u.list.items[0].u.f == (double)0.1f); /* the float32, exactly */
    assert_true(v.u.list.items[1].u.f == 2.0);
    fs_value_deinit(&v);

    decode_ok(row->element[6], &v); /* point */
    assert_struct(&v, FDB_CT_POINT, 2);
    assert_true(v.u.list.items[0].u.f == 1.5);
    assert_true(v.u.list.items[1].u.f == 2.25);
    fs_value_deinit(&v);

    static const struct {
        int tag;
        int64_t secs;
    } temporal[] = {{FDB_CT_DATE, 1704153600},
                    {FDB_CT_DATETIME, 1704164645},
                    {FDB_CT_TIME, -2208977755},
                    {FDB_CT_DURATION, 93600}};
    for (int i = 0; i < 4; i++) {
        decode_ok(row->element[7 + i], &v);
        assert_struct(&v, temporal[i].tag, 1);
        assert_int(&v.u.list.items[0], temporal[i].secs);
        fs_value_deinit(&v);
    }

    decode_ok(row->element[11], &v);
    assert_int_equal(v.kind, FS_VALUE_NULL);
    assert_true(fdb_compact_is_null(row->element[11]));
    assert_false(fdb_compact_is_null(row->element[0]));

    decode_ok(row->element[12], &v); /* {k:1, m:'z'} */
    assert_int_equal(v.kind, FS_VALUE_MAP);
    assert_int_equal(v.u.map.len, 2);
    assert_str(&v.u.map.items[0].key, "k");
    assert_int(&v.u.map.items[0].value, 1);
    assert_str(&v.u.map.items[1].key, "m");
    assert_str(&v.u.map.items[1].value, "z");
    assert_non_null(fs_value_map_get(&v, "m"));
    fs_value_deinit(&v);

    decode_ok(row->element[13], &v); /* -0.0 arrives as "-0" */
    assert_int_equal(v.kind, FS_VALUE_FLOAT);
    assert_true(v.u.f == 0 && signbit(v.u.f));
    fs_value_deinit(&v);
    freeReplyObject(r);
}

static void test_scalar_accessors(void **state)
{
    redisReply *r = PARSE(SCALARS);
    const redisReply *row = row0(r);
    const char *s;
    size_t n;
    int64_t i;
    double d;
    bool b;
    assert_int_equal(fdb_compact_string(row->element[0], &s, &n), 0);
    assert_int_equal(n, 1);
    assert_memory_equal(s, "x", 1);
    assert_int_equal(fdb_compact_string(row->element[1], &s, &n), FS_EINVAL);
    assert_int_equal(fdb_compact_int(row->element[1], &i), 0);
    assert_true(i == 7);
    assert_int_equal(fdb_compact_int(row->element[7], &i), 0); /* a date's seconds */
    assert_true(i == 1704153600);
    assert_int_equal(fdb_compact_int(row->element[0], &i), FS_EINVAL);
    assert_int_equal(fdb_compact_int(row->element[11], &i), FS_EINVAL); /* null */
    assert_int_equal(fdb_compact_double(row->element[2], &d), 0);
    assert_true(d == 1.5);
    assert_int_equal(fdb_compact_double(row->element[1], &d), 0); /* an integer widens */
    assert_true(d == 7.0);
    assert_int_equal(fdb_compact_double(row->element[0], &d), FS_EINVAL);
    assert_int_equal(fdb_compact_bool(row->element[3], &b), 0);
    assert_true(b);
    assert_int_equal(fdb_compact_bool(row->element[1], &b), FS_EINVAL);
    assert_int_equal(fdb_compact_type(row->element[5]), FDB_CT_VECTORF32);
    assert_int_equal(fdb_compact_type(row), FS_EMALFORMED); /* a row is not a cell */
    assert_null(fdb_compact_rows(row));
    freeReplyObject(r);
}

/* [[key id, value], ...] of a node's or an edge's properties. */
static const struct fs_value *prop(const struct fs_value *props, int64_t key)
{
    for (uint32_t i = 0; i < props->u.list.len; i++) {
        const struct fs_value *p = &props->u.list.items[i];
        assert_int_equal(p->kind, FS_VALUE_LIST);
        assert_int_equal(p->u.list.len, 2);
        if (p->u.list.items[0].u.i == key)
            return &p->u.list.items[1];
    }
    return NULL;
}

static void check_node_a(const struct fs_value *a)
{
    assert_struct(a, FDB_CT_NODE, 3);
    assert_int(&a->u.list.items[0], 0);                 /* id */
    assert_int_equal(a->u.list.items[1].u.list.len, 2); /* labels A, B */
    assert_int(&a->u.list.items[1].u.list.items[1], 1);
    assert_int_equal(a->u.list.items[2].u.list.len, 11);     /* properties */
    assert_str(prop(&a->u.list.items[2], 0), "x");           /* s */
    const struct fs_value *v = prop(&a->u.list.items[2], 5); /* v: vecf32 */
    assert_non_null(v);
    assert_struct(v, FDB_CT_VECTORF32, 2);
    const struct fs_value *du = prop(&a->u.list.items[2], 10);
    assert_struct(du, FDB_CT_DURATION, 1);
}

static void test_graph_entities(void **state)
{
    redisReply *r = PARSE(GRAPH);
    const redisReply *row = row0(r);
    assert_int_equal(row->elements, 3);
    struct fs_value v;

    decode_ok(row->element[0], &v); /* b:A {s:'y'} */
    assert_struct(&v, FDB_CT_NODE, 3);
    assert_int(&v.u.list.items[0], 1);
    assert_int_equal(v.u.list.items[1].u.list.len, 1);
    assert_int(&v.u.list.items[1].u.list.items[0], 0);
    assert_str(prop(&v.u.list.items[2], 0), "y");
    assert_null(prop(&v.u.list.items[2], 1));
    fs_value_deinit(&v);

    decode_ok(row->element[1], &v); /* [:R {w:2}] from 0 to 1 */
    assert_struct(&v, FDB_CT_EDGE, 5);
    assert_int(&v.u.list.items[0], 0);
    assert_int(&v.u.list.items[1], 0);
    assert_int(&v.u.list.items[2], 0);
    assert_int(&v.u.list.items[3], 1);
    assert_int(prop(&v.u.list.items[4], 11), 2);
    fs_value_deinit(&v);

    decode_ok(row->element[2], &v); /* the path */
    assert_struct(&v, FDB_CT_PATH, 2);
    assert_int_equal(v.u.list.items[0].u.list.len, 2);
    assert_int_equal(v.u.list.items[1].u.list.len, 1);
    check_node_a(&v.u.list.items[0].u.list.items[0]);
    assert_struct(&v.u.list.items[1].u.list.items[0], FDB_CT_EDGE, 5);
    fs_value_deinit(&v);
    freeReplyObject(r);
}

/* The cell (and anything around it) must be refused with want, leaving *out NULL. */
static void check_refused(const char *bytes, size_t len, int want)
{
    redisReply *r = parse(bytes, len);
    struct fs_value v;
    memset(&v, 0xAB, sizeof v);
    int rc = fdb_compact_decode(r, &v);
    if (rc != want)
        fail_msg("%.*s: got %s, want %s", (int)len, bytes, fs_errname(rc), fs_errname(want));
    assert_int_equal(v.kind, FS_VALUE_NULL);
    freeReplyObject(r);
}

#define REFUSED(lit, want) check_refused((lit), sizeof(lit) - 1, (want))

static void test_refusals(void **state)
{
    REFUSED(":1\r\n", FS_EMALFORMED);                                     /* not a cell */
    REFUSED("*1\r\n:1\r\n", FS_EMALFORMED);                               /* one element */
    REFUSED("*2\r\n$1\r\n2\r\n$1\r\nx\r\n", FS_EMALFORMED);               /* type not an integer */
    REFUSED("*2\r\n:99\r\n$1\r\nx\r\n", FS_EUNSUPPORTED);                 /* unknown type */
    REFUSED("*2\r\n:1\r\n$1\r\nx\r\n", FS_EMALFORMED);                    /* NULL with a value */
    REFUSED("*2\r\n:2\r\n:5\r\n", FS_EMALFORMED);                         /* STRING as integer */
    REFUSED("*2\r\n:3\r\n$2\r\n7x\r\n", FS_EMALFORMED);                   /* INTEGER text */
    REFUSED("*2\r\n:4\r\n$3\r\nyes\r\n", FS_EMALFORMED);                  /* BOOLEAN text */
    REFUSED("*2\r\n:5\r\n$4\r\n1.5x\r\n", FS_EMALFORMED);                 /* DOUBLE trailing */
    REFUSED("*2\r\n:5\r\n$0\r\n\r\n", FS_EMALFORMED);                     /* DOUBLE empty */
    REFUSED("*2\r\n:6\r\n$1\r\nx\r\n", FS_EMALFORMED);                    /* ARRAY not array */
    REFUSED("*2\r\n:6\r\n*2\r\n*2\r\n:3\r\n:1\r\n:7\r\n", FS_EMALFORMED); /* bad item */
    REFUSED("*2\r\n:10\r\n*1\r\n$1\r\nk\r\n", FS_EMALFORMED);             /* MAP odd */
    REFUSED("*2\r\n:10\r\n*2\r\n:1\r\n*2\r\n:1\r\n$-1\r\n", FS_EMALFORMED);    /* MAP key */
    REFUSED("*2\r\n:11\r\n*1\r\n$1\r\n1\r\n", FS_EMALFORMED);                  /* POINT one coord */
    REFUSED("*2\r\n:12\r\n*1\r\n$1\r\nz\r\n", FS_EMALFORMED);                  /* VECTOR text */
    REFUSED("*2\r\n:8\r\n*2\r\n:1\r\n*0\r\n", FS_EMALFORMED);                  /* NODE fields */
    REFUSED("*2\r\n:8\r\n*3\r\n:1\r\n*1\r\n$1\r\nA\r\n*0\r\n", FS_EMALFORMED); /* label */
    REFUSED("*2\r\n:8\r\n*3\r\n:1\r\n*0\r\n*1\r\n*2\r\n:0\r\n:3\r\n", FS_EMALFORMED); /* prop */
    REFUSED("*2\r\n:7\r\n*5\r\n:0\r\n:0\r\n:0\r\n$1\r\n1\r\n*0\r\n", FS_EMALFORMED);  /* dst */
    REFUSED("*2\r\n:9\r\n*2\r\n*2\r\n:6\r\n*1\r\n*2\r\n:3\r\n:1\r\n*2\r\n:6\r\n*0\r\n",
            FS_EMALFORMED); /* a path holding an integer where a node belongs */
    REFUSED("*2\r\n:13\r\n$3\r\nnow\r\n", FS_EMALFORMED); /* DATETIME text */
    /* a property whose value is broken deep inside a node: nothing leaks */
    REFUSED("*2\r\n:8\r\n*3\r\n:1\r\n*0\r\n*2\r\n*3\r\n:0\r\n:2\r\n$1\r\na\r\n"
            "*3\r\n:1\r\n:6\r\n*1\r\n*2\r\n:5\r\n$1\r\n?\r\n",
            FS_EMALFORMED);
}

/* hiredis' reader nests only a few levels, so deep trees are built by hand
 * (with calloc, so that freeReplyObject frees them). */
static redisReply *mk_int(long long v)
{
    redisReply *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->type = REDIS_REPLY_INTEGER;
    r->integer = v;
    return r;
}

static redisReply *mk_array2(redisReply *a, redisReply *b)
{
    redisReply *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->type = REDIS_REPLY_ARRAY;
    r->elements = b ? 2 : 1;
    r->element = calloc(r->elements, sizeof *r->element);
    assert_non_null(r->element);
    r->element[0] = a;
    if (b)
        r->element[1] = b;
    return r;
}

static void test_depth(void **state)
{
    redisReply *cell = mk_array2(mk_int(FDB_CT_INTEGER), mk_int(42));
    redisReply *at_limit = NULL;
    for (int i = 0; i < FDB_COMPACT_MAX_DEPTH + 5; i++) { /* wrap: [ARRAY, [cell]] */
        cell = mk_array2(mk_int(FDB_CT_ARRAY), mk_array2(cell, NULL));
        if (i == FDB_COMPACT_MAX_DEPTH - 2)
            at_limit = cell; /* 63 arrays around the integer: 64 levels */
    }
    struct fs_value v;
    assert_int_equal(fdb_compact_decode(at_limit, &v), 0);
    const struct fs_value *p = &v;
    int depth = 0;
    while (p->kind == FS_VALUE_LIST) {
        assert_int_equal(p->u.list.len, 1);
        p = &p->u.list.items[0];
        depth++;
    }
    assert_int_equal(depth, FDB_COMPACT_MAX_DEPTH - 1);
    assert_int(p, 42);
    fs_value_deinit(&v);
    assert_int_equal(fdb_compact_decode(cell, &v), FS_ETOO_DEEP);
    assert_int_equal(v.kind, FS_VALUE_NULL);
    freeReplyObject(cell); /* the whole hand-made tree */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),        cmocka_unit_test(test_scalar_accessors),
        cmocka_unit_test(test_graph_entities), cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_depth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
