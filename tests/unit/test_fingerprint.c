/* Unit tests for sync/fingerprint: the canonical text and hash that verify compares, from
 * parameter text (the Neo4j side after transcoding) and from compact reply cells (the cache
 * side, built here as hiredis would). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "sync/fingerprint.h"

#define OK(call) assert_int_equal((call), 0)

/* ---- compact cells by hand ---- */

static redisReply *r_int(long long v)
{
    redisReply *r = calloc(1, sizeof *r);
    r->type = REDIS_REPLY_INTEGER;
    r->integer = v;
    return r;
}

static redisReply *r_str(const char *s)
{
    redisReply *r = calloc(1, sizeof *r);
    r->type = REDIS_REPLY_STRING;
    r->len = strlen(s);
    r->str = strdup(s);
    return r;
}

static redisReply *r_arr(size_t n, ...)
{
    redisReply *r = calloc(1, sizeof *r);
    r->type = REDIS_REPLY_ARRAY;
    r->elements = n;
    r->element = calloc(n ? n : 1, sizeof *r->element);
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        r->element[i] = va_arg(ap, redisReply *);
    va_end(ap);
    return r;
}

static redisReply *cell(int type, redisReply *v)
{
    return r_arr(2, r_int(type), v);
}

static void r_free(redisReply *r)
{
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        r_free(r->element[i]);
    free(r->element);
    free(r->str);
    free(r);
}

static void canon_compact(redisReply *c, const char *want, size_t wlen)
{
    struct buf b;
    buf_init(&b, 0);
    OK(fp_canon_compact(&b, c));
    assert_int_equal(b.len, wlen);
    assert_memory_equal(b.data, want, wlen);
    buf_deinit(&b);
    r_free(c);
}

static void test_compact_cells(void **state)
{
    (void)state;
    canon_compact(cell(FDB_CT_NULL, r_int(0)), "n", 1);
    canon_compact(cell(FDB_CT_STRING, r_str("a'b")), "s3:a'b", 6);
    canon_compact(cell(FDB_CT_INTEGER, r_int(-42)), "i:-42", 5);
    canon_compact(cell(FDB_CT_BOOLEAN, r_str("true")), "b:1", 3);
    canon_compact(cell(FDB_CT_BOOLEAN, r_str("false")), "b:0", 3);
    canon_compact(cell(FDB_CT_DOUBLE, r_str("0.1")), "d:0.1", 5);
    canon_compact(cell(FDB_CT_ARRAY,
                       r_arr(2, cell(FDB_CT_INTEGER, r_int(1)), cell(FDB_CT_STRING, r_str("x")))),
                  "l[i:1,s1:x,]", 12);
    canon_compact(cell(FDB_CT_DATETIME, r_int(86400)), "t13:86400", 9);
    /* vectors: v<n>[ then the float32 bits of each element, little-endian here */
    float one = 1.0f;
    char want[16] = "v1[";
    memcpy(want + 3, &one, 4);
    want[7] = ']';
    canon_compact(cell(FDB_CT_VECTORF32, r_arr(1, r_str("1"))), want, 8);
}

/* The same item read from both sides hashes the same, whatever the property order. */
static void test_both_sides_agree(void **state)
{
    (void)state;
    struct buf row, tmp;
    buf_init(&row, 0);
    buf_init(&tmp, 0);
    OK(buf_append_str(&row, "{name:'Alice',n:7,f:0.30000000000000004,ok:true,l:[1,2]}"));
    struct fp_props neo = {0}, cache = {0};
    OK(fp_props_from_param(&neo, &row, &tmp));
    assert_int_equal(neo.n, 5);
    struct {
        const char *name;
        redisReply *c;
    } cached[] = {
        {"l", cell(FDB_CT_ARRAY,
                   r_arr(2, cell(FDB_CT_INTEGER, r_int(1)), cell(FDB_CT_INTEGER, r_int(2))))},
        {"ok", cell(FDB_CT_BOOLEAN, r_str("true"))},
        {"f", cell(FDB_CT_DOUBLE, r_str("0.3"))}, /* FalkorDB prints 15 digits */
        {"name", cell(FDB_CT_STRING, r_str("Alice"))},
        {"n", cell(FDB_CT_INTEGER, r_int(7))},
    };
    for (size_t i = 0; i < sizeof cached / sizeof cached[0]; i++) {
        buf_reset(&tmp);
        OK(fp_canon_compact(&tmp, cached[i].c));
        OK(fp_props_add(&cache, cached[i].name, strlen(cached[i].name), &tmp));
        r_free(cached[i].c);
    }
    uint64_t a = fp_hash("N:Entity\x1f", &neo), b = fp_hash("N:Entity\x1f", &cache);
    assert_true(a == b);
    /* the head is part of it: another label set is another item */
    assert_true(fp_hash("N:Entity\x1fPerson\x1f", &cache) != b);
    /* one value changed: another fingerprint */
    fp_props_clear(&cache);
    buf_reset(&tmp);
    OK(buf_append_str(&tmp, "s5:Alicf"));
    OK(fp_props_add(&cache, "name", 4, &tmp));
    assert_true(fp_hash("N:Entity\x1f", &cache) != a);
    fp_props_free(&neo);
    fp_props_free(&cache);
    buf_deinit(&row);
    buf_deinit(&tmp);
}

/* Property names and values are separated, so shifting bytes between them changes the hash. */
static void test_no_ambiguity_between_name_and_value(void **state)
{
    (void)state;
    struct fp_props p = {0}, q = {0};
    struct buf t;
    buf_init(&t, 0);
    OK(buf_append_str(&t, "i:1"));
    OK(fp_props_add(&p, "ab", 2, &t));
    buf_reset(&t);
    OK(buf_append_str(&t, "bi:1"));
    OK(fp_props_add(&q, "a", 1, &t));
    assert_true(fp_hash("", &p) != fp_hash("", &q));
    assert_true(fp_hash("", &p) == fp_hash("", &p)); /* stable */
    fp_props_free(&p);
    fp_props_free(&q);
    buf_deinit(&t);
}

static void test_sorted_labels(void **state)
{
    (void)state;
    char a[] = "Person", b[] = "Entity", c[] = "Zed";
    char *names[] = {a, b, c};
    struct buf h;
    buf_init(&h, 0);
    OK(fp_sorted_labels(&h, names, 3));
    assert_string_equal(h.data, "Entity\x1fPerson\x1fZed\x1f");
    buf_deinit(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compact_cells),
        cmocka_unit_test(test_both_sides_agree),
        cmocka_unit_test(test_no_ambiguity_between_name_and_value),
        cmocka_unit_test(test_sorted_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
