/* Unit tests for util/value: the neutral value tree's ownership, map lookup and equality. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/value.h"

static struct fs_value str(const char *s)
{
    struct fs_value v = {.kind = FS_VALUE_STRING};
    v.u.str.len = (uint32_t)strlen(s);
    v.u.str.data = strdup(s);
    assert_non_null(v.u.str.data);
    return v;
}

static struct fs_value num(int64_t i)
{
    struct fs_value v = {.kind = FS_VALUE_INT, .u.i = i};
    return v;
}

/* A map of n entries k[i] -> integer vals[i]. */
static struct fs_value map(size_t n, const char *const *k, const int64_t *vals)
{
    struct fs_value v = {.kind = FS_VALUE_MAP};
    v.u.map.items = calloc(n, sizeof *v.u.map.items);
    assert_non_null(v.u.map.items);
    for (size_t i = 0; i < n; i++) {
        v.u.map.items[i].key = str(k[i]);
        v.u.map.items[i].value = num(vals[i]);
    }
    v.u.map.len = (uint32_t)n;
    return v;
}

static void test_init_new_free(void **state)
{
    struct fs_value v;
    memset(&v, 0x5A, sizeof v);
    fs_value_init(&v);
    assert_int_equal(v.kind, FS_VALUE_NULL);
    fs_value_free(NULL); /* a no-op */
    struct fs_value *h = fs_value_new();
    assert_non_null(h);
    assert_int_equal(h->kind, FS_VALUE_NULL);
    *h = str("owned by h"); /* fs_value_free frees the string too (ASan checks) */
    fs_value_free(h);
}

static void test_deinit_leaves_null(void **state)
{
    struct fs_value l = {.kind = FS_VALUE_LIST};
    l.u.list.items = calloc(2, sizeof *l.u.list.items);
    assert_non_null(l.u.list.items);
    l.u.list.items[0] = str("a");
    const char *k[] = {"x"};
    const int64_t vals[] = {1};
    l.u.list.items[1] = map(1, k, vals);
    l.u.list.len = 2;
    fs_value_deinit(&l);
    assert_int_equal(l.kind, FS_VALUE_NULL);
    assert_null(l.u.list.items);
    fs_value_deinit(&l); /* twice is fine */
}

static void test_map_get(void **state)
{
    const char *k[] = {"a", "b", "a"};
    const int64_t vals[] = {1, 2, 3};
    struct fs_value m = map(3, k, vals);
    assert_int_equal(fs_value_map_get(&m, "a")->u.i, 3); /* the last duplicate wins */
    assert_int_equal(fs_value_map_get(&m, "b")->u.i, 2);
    assert_null(fs_value_map_get(&m, "c"));
    assert_null(fs_value_map_get(&m, NULL));
    struct fs_value n = num(1);
    assert_null(fs_value_map_get(&n, "a")); /* not a map */
    fs_value_deinit(&m);
}

static void test_equal(void **state)
{
    const char *k1[] = {"a", "b"}, *k2[] = {"b", "a"};
    const int64_t v1[] = {1, 2}, v2[] = {2, 1}, v3[] = {1, 2};
    struct fs_value m1 = map(2, k1, v1), m2 = map(2, k2, v2), m3 = map(2, k2, v3);
    assert_true(fs_value_equal(&m1, &m2));  /* maps: any order */
    assert_false(fs_value_equal(&m1, &m3)); /* b -> 1 is not b -> 2 */
    struct fs_value a = {.kind = FS_VALUE_FLOAT, .u.f = NAN}, b = a;
    assert_true(fs_value_equal(&a, &b)); /* bit for bit: the same NaN */
    struct fs_value z = {.kind = FS_VALUE_FLOAT, .u.f = 0.0},
                    nz = {.kind = FS_VALUE_FLOAT, .u.f = -0.0};
    assert_false(fs_value_equal(&z, &nz));
    struct fs_value i = num(1);
    assert_false(fs_value_equal(&i, &z)); /* kinds differ */
    struct fs_value s1 = {.kind = FS_VALUE_STRUCT, .tag = 1},
                    s2 = {.kind = FS_VALUE_STRUCT, .tag = 2};
    assert_false(fs_value_equal(&s1, &s2)); /* struct tags differ */
    fs_value_deinit(&m1);
    fs_value_deinit(&m2);
    fs_value_deinit(&m3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_new_free),
        cmocka_unit_test(test_deinit_leaves_null),
        cmocka_unit_test(test_map_get),
        cmocka_unit_test(test_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
