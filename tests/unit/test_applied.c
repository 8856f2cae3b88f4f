/* Unit tests for sync/applied: a row is seen only with the change time it was committed with,
 * only after the commit, per graph and query; a full set forgets old rows first, then all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "sync/applied.h"

static void seen_after_commit_only(void **state)
{
    (void)state;
    struct sync_applied *a = sync_applied_new(8);
    assert_non_null(a);
    struct sync_applied_batch b = {0};
    uint64_t id = sync_applied_id("g", 0, "uuid-1");
    sync_applied_queue(&b, a, id, 100, 5);
    assert_false(sync_applied_seen(a, id, 100, 5)); /* not acknowledged yet */
    sync_applied_commit(a, &b, 0);
    assert_true(sync_applied_seen(a, id, 100, 5));
    assert_false(sync_applied_seen(a, id, 100, 6)); /* a new change time: written again */
    assert_false(sync_applied_seen(a, sync_applied_id("g2", 0, "uuid-1"), 100, 5));
    assert_false(sync_applied_seen(a, sync_applied_id("g", 1, "uuid-1"), 100, 5));
    assert_false(sync_applied_seen(NULL, id, 100, 5));
    sync_applied_queue(&b, a, id, 101, 0); /* the same row changed again */
    sync_applied_commit(a, &b, 0);
    assert_true(sync_applied_seen(a, id, 101, 0));
    assert_int_equal(sync_applied_count(a), 1);
    sync_applied_batch_free(&b);
    sync_applied_free(a);
}

static void bounded(void **state)
{
    (void)state;
    struct sync_applied *a = sync_applied_new(6); /* 64 slots, 48 entries */
    struct sync_applied_batch b = {0};
    char key[32];
    for (int i = 0; i < 40; i++) { /* old rows */
        snprintf(key, sizeof key, "old-%d", i);
        sync_applied_queue(&b, a, sync_applied_id("g", 0, key), 10, 0);
    }
    sync_applied_commit(a, &b, 0);
    for (int i = 0; i < 20; i++) { /* new rows: the old ones make room */
        snprintf(key, sizeof key, "new-%d", i);
        sync_applied_queue(&b, a, sync_applied_id("g", 0, key), 1000, 0);
    }
    sync_applied_commit(a, &b, 500);
    assert_true(sync_applied_count(a) <= 48);
    assert_true(sync_applied_seen(a, sync_applied_id("g", 0, "new-19"), 1000, 0));
    assert_false(sync_applied_seen(a, sync_applied_id("g", 0, "old-0"), 10, 0));
    for (int i = 0; i < 1000; i++) { /* nothing old to forget: the set starts over */
        snprintf(key, sizeof key, "more-%d", i);
        sync_applied_queue(&b, a, sync_applied_id("g", 0, key), 2000, 0);
        sync_applied_commit(a, &b, 0);
    }
    assert_true(sync_applied_count(a) <= 48);
    assert_true(sync_applied_seen(a, sync_applied_id("g", 0, "more-999"), 2000, 0));
    sync_applied_batch_free(&b);
    sync_applied_free(a);
    assert_null(sync_applied_new(2));
    sync_applied_free(NULL);
}

/* The run's memory of rows sent (fixer.h): put at once, a row's hash as its value; a hash
 * continues over several pieces as over their concatenation. */
static void put_and_hash(void **state)
{
    (void)state;
    struct sync_applied *a = sync_applied_new(6);
    uint64_t h = sync_applied_hash("Entity", 7, 0);
    h = sync_applied_hash("{u:'k',p:{}}", 12, h);
    uint64_t whole = sync_applied_hash("Entity\0{u:'k',p:{}}", 19, 0);
    assert_true(h == whole);
    assert_true(h != sync_applied_hash("{u:'k',p:{x:1}}", 15, sync_applied_hash("Entity", 7, 0)));
    uint64_t id = sync_applied_id("g", 0, "k");
    sync_applied_put(a, id, (int64_t)h, 0, INT64_MIN);
    assert_true(sync_applied_seen(a, id, (int64_t)h, 0));
    assert_false(sync_applied_seen(a, id, (int64_t)h + 1, 0)); /* another row: sent again */
    for (int i = 0; i < 100; i++) { /* full: starts over, keeps working */
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        sync_applied_put(a, sync_applied_id("g", 0, key), i, 0, INT64_MIN);
    }
    assert_true(sync_applied_count(a) <= 48);
    assert_true(sync_applied_seen(a, sync_applied_id("g", 0, "k99"), 99, 0));
    sync_applied_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seen_after_commit_only),
        cmocka_unit_test(bounded),
        cmocka_unit_test(put_and_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
