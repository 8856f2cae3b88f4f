/* Unit tests for sync/idmap: the bulk method's (label, key) -> node id map. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "sync/idmap.h"

#define OK(call) assert_int_equal((call), 0)

/* The hash is part of what a resumed load relies on (ids are read back and hashed again):
 * fixed values, computed by hand from FNV-1a of "label\x1fkey" and the final mix. */
static void test_hash_vectors(void **state)
{
    (void)state;
    uint64_t h = 1469598103934665603ULL;
    const char *s = "Entity\x1f"
                    "u1";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    assert_true(idmap_hash("Entity", "u1") == h);
    assert_true(idmap_hash("Entity", "u1") != idmap_hash("Entit", "yu1"));
    assert_true(idmap_hash("", "") != idmap_hash("a", ""));
}

static void test_find_after_seal(void **state)
{
    (void)state;
    struct idmap m;
    idmap_init(&m, 0);
    for (uint64_t i = 0; i < 10000; i++) {
        char key[32];
        snprintf(key, sizeof key, "uuid-%llu", (unsigned long long)i);
        OK(idmap_add(&m, idmap_hash("Entity", key), 9999 - i));
    }
    idmap_seal(&m);
    for (uint64_t i = 0; i < 10000; i += 7) {
        char key[32];
        snprintf(key, sizeof key, "uuid-%llu", (unsigned long long)i);
        uint64_t id = 0;
        assert_int_equal(idmap_find(&m, idmap_hash("Entity", key), &id), 1);
        assert_int_equal(id, 9999 - i);
    }
    uint64_t id = 42;
    assert_int_equal(idmap_find(&m, idmap_hash("Episodic", "uuid-1"), &id), 0);
    assert_int_equal(id, 42);
    idmap_deinit(&m);
}

/* Two nodes with one key: a relationship that names it cannot know which one. */
static void test_duplicates_are_ambiguous(void **state)
{
    (void)state;
    struct idmap m;
    idmap_init(&m, 4);
    OK(idmap_add(&m, 5, 1));
    OK(idmap_add(&m, 7, 2));
    OK(idmap_add(&m, 5, 3));
    OK(idmap_add(&m, 5, 4));
    OK(idmap_add(&m, 9, 5)); /* past the capacity given: it grows */
    idmap_seal(&m);
    uint64_t id = 0;
    assert_int_equal(idmap_find(&m, 5, &id), IDMAP_AMBIGUOUS);
    assert_int_equal(idmap_find(&m, 7, &id), 1);
    assert_int_equal(id, 2);
    assert_int_equal(idmap_find(&m, 9, &id), 1);
    assert_int_equal(id, 5);
    idmap_deinit(&m);
}

static void test_limits(void **state)
{
    (void)state;
    struct idmap m;
    idmap_init(&m, 0);
    assert_int_equal(idmap_add(&m, 1, UINT32_MAX), FS_ETOO_BIG); /* the ambiguity mark */
    OK(idmap_add(&m, 1, UINT32_MAX - 1));
    idmap_seal(&m);
    uint64_t id = 0;
    assert_int_equal(idmap_find(&m, 1, &id), 1);
    assert_int_equal(id, UINT32_MAX - 1);
    idmap_deinit(&m);
    idmap_init(&m, 0); /* empty: nothing found */
    idmap_seal(&m);
    assert_int_equal(idmap_find(&m, 1, &id), 0);
    idmap_deinit(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_vectors),
        cmocka_unit_test(test_find_after_seal),
        cmocka_unit_test(test_duplicates_are_ambiguous),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
