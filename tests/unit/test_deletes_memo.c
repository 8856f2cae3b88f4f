/* Unit tests for the delete check's memory of the cache's keys (sync/deletes_memo.c): sets are
 * kept sorted per graph and type, young keys join without duplicates, a listed range replaces
 * what was remembered in it (keeping the young keys there), a stale or failed check forgets
 * everything, and an unchanged census is recognised. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/deletes.h"
#include "sync/deletes_int.h"

static void keys_of(struct dc_keys *k, const char *const *v, size_t n)
{
    memset(k, 0, sizeof *k);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(dc_keys_add(k, v[i], strlen(v[i])), 0);
}

static void assert_keys(const struct dc_keys *k, const char *const *want, size_t n)
{
    assert_int_equal(k->n, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(k->v[i], want[i]);
}

static void put_get_sorted(void **state)
{
    (void)state;
    struct dc_memo *m = sync_deletes_memo_new();
    assert_non_null(m);
    bool unusable = true;
    assert_null(dc_memo_get(m, "g", 0, 100, &unusable));
    assert_false(unusable);
    struct dc_keys k;
    const char *in[] = {"c3", "a1", "b2"};
    keys_of(&k, in, 3);
    struct dc_keys *set = dc_memo_put(m, "g", 0, &k, false, 100);
    assert_non_null(set);
    assert_int_equal(k.n, 0); /* taken over */
    const char *sorted[] = {"a1", "b2", "c3"};
    assert_keys(set, sorted, 3);
    assert_ptr_equal(dc_memo_get(m, "g", 0, 150, &unusable), set);
    assert_null(dc_memo_get(m, "g", 1, 150, &unusable));       /* another type */
    assert_null(dc_memo_get(m, "h", 0, 150, &unusable));       /* another graph */
    assert_null(dc_memo_get(m, "g", 0, 100 + 121, &unusable)); /* read again after 120 s */
    assert_true(dc_keys_has(set, "b2"));
    assert_false(dc_keys_has(set, "b3"));
    dc_memo_drop(m, "g", 0);
    assert_null(dc_memo_get(m, "g", 0, 150, &unusable));
    sync_deletes_memo_free(m);
}

/* A drill of several graphs holds one set per graph while it puts the next graph's and drops
 * another's: the sets it holds stay where they are (ASan sees a set that moved). */
static void held_sets_stay(void **state)
{
    (void)state;
    struct dc_memo *m = sync_deletes_memo_new();
    assert_non_null(m);
    struct dc_keys *held[40];
    char graph[16];
    for (int g = 0; g < 40; g++) {
        struct dc_keys k;
        snprintf(graph, sizeof graph, "g%d", g);
        const char *in[] = {graph};
        keys_of(&k, in, 1);
        held[g] = dc_memo_put(m, graph, 2, &k, false, 100);
        assert_non_null(held[g]);
    }
    dc_memo_drop(m, "g0", 2);
    dc_memo_drop(m, "g17", 2);
    for (int g = 1; g < 40; g++) {
        if (g == 17)
            continue;
        snprintf(graph, sizeof graph, "g%d", g);
        const char *want[] = {graph};
        assert_keys(held[g], want, 1);
        bool unusable;
        assert_ptr_equal(dc_memo_get(m, graph, 2, 150, &unusable), held[g]);
    }
    sync_deletes_memo_free(m);
}

/* A check may stop after Neo4j's census only when that census and the cache's write count are
 * those of the last whole check, which began less than DC_QUIET_REFRESH ago. */
static void quiet_only_when_nothing_moved(void **state)
{
    (void)state;
    struct dc_memo *m = sync_deletes_memo_new();
    assert_non_null(m);
    assert_false(dc_memo_quiet(m, 7, 3, 100)); /* no whole check yet */
    dc_memo_full_check(m, 7, 3, 100);
    assert_true(dc_memo_quiet(m, 7, 3, 101));
    assert_false(dc_memo_quiet(m, 8, 3, 101)); /* Neo4j's counts moved */
    assert_false(dc_memo_quiet(m, 7, 4, 101)); /* something was written to the cache */
    assert_false(dc_memo_quiet(m, 7, 3, 100 + DC_QUIET_REFRESH)); /* a whole check is due */
    assert_false(dc_memo_quiet(m, 7, 3, 99));                     /* the clock went back */
    sync_deletes_memo_clear(m);                                   /* a full sync or reconcile */
    assert_false(dc_memo_quiet(m, 7, 3, 101));
    dc_memo_full_check(m, 7, 3, 100);
    dc_memo_checked(m, FS_EPROTOCOL, 101, 30); /* a failed check forgets */
    assert_false(dc_memo_quiet(m, 7, 3, 102));
    assert_false(dc_memo_quiet(NULL, 7, 3, 102));
    sync_deletes_memo_free(m);
}

static void too_big_is_remembered(void **state)
{
    (void)state;
    struct dc_memo *m = sync_deletes_memo_new();
    struct dc_keys k;
    const char *in[] = {"x"};
    keys_of(&k, in, 1);
    assert_null(dc_memo_put(m, "g", 2, &k, true, 100));
    bool unusable = false;
    assert_null(dc_memo_get(m, "g", 2, 110, &unusable));
    assert_true(unusable); /* not listed again at once */
    assert_null(dc_memo_get(m, "g", 2, 300, &unusable));
    assert_false(unusable); /* after the time to live: tried again */
    sync_deletes_memo_free(m);
}

static void add_merges_without_duplicates(void **state)
{
    (void)state;
    struct dc_memo *m = sync_deletes_memo_new();
    struct dc_keys k, y;
    const char *in[] = {"b", "d", "f"};
    keys_of(&k, in, 3);
    struct dc_keys *set = dc_memo_put(m, "g", 0, &k, false, 100);
    const char *young[] = {"e", "a", "d", "g"};
    keys_of(&y, young, 4);
    assert_int_equal(dc_memo_add(set, &y), 0);
    const char *want[] = {"a", "b", "d", "e", "f", "g"};
    assert_keys(set, want, 6);
    assert_int_equal(dc_memo_add(NULL, &y), 0); /* no set: nothing */
    dc_keys_free(&y);
    sync_deletes_memo_free(m);
}

static void replace_ranges_keeps_young(void **state)
{
    (void)state;
    struct dc_memo *m = sync_deletes_memo_new();
    struct dc_keys k, neo, young;
    const char *in[] = {"a1", "a2", "b1", "b2", "b3", "c1", "d1", "d2"};
    keys_of(&k, in, 8);
    struct dc_keys *set = dc_memo_put(m, "g", 0, &k, false, 100);
    /* ranges "b" and "d" were listed: Neo4j holds b2, b4 (old) and d1; b3 is young */
    const char *n[] = {"b2", "b4", "d1"};
    keys_of(&neo, n, 3);
    const char *y[] = {"b3", "z9"};
    keys_of(&young, y, 2);
    char *prefixes[] = {"b", "d"};
    assert_int_equal(dc_memo_replace(set, 1, prefixes, 2, &neo, &young), 0);
    const char *want[] = {"a1", "a2", "b2", "b3", "b4", "c1", "d1"};
    assert_keys(set, want, 7);
    dc_keys_free(&neo);
    dc_keys_free(&young);
    sync_deletes_memo_free(m);
}

static void stale_or_failed_forgets(void **state)
{
    (void)state;
    struct dc_memo *m = sync_deletes_memo_new();
    struct dc_keys k;
    const char *in[] = {"a"};
    keys_of(&k, in, 1);
    bool unusable;
    assert_non_null(dc_memo_put(m, "g", 0, &k, false, 1000));
    dc_memo_checked(m, 0, 1000, 30); /* the first check */
    dc_memo_checked(m, 0, 1020, 30); /* 20 s later: kept */
    assert_non_null(dc_memo_get(m, "g", 0, 1020, &unusable));
    dc_memo_checked(m, 0, 1060, 30); /* 40 s gap: young keys may have aged unseen */
    assert_null(dc_memo_get(m, "g", 0, 1060, &unusable));
    keys_of(&k, in, 1);
    assert_non_null(dc_memo_put(m, "g", 0, &k, false, 1060));
    dc_memo_checked(m, FS_ESERVER, 1061, 30); /* a failed check */
    assert_null(dc_memo_get(m, "g", 0, 1061, &unusable));
    sync_deletes_memo_free(m);
}

static void census_repeats(void **state)
{
    (void)state;
    struct dc_memo *m = sync_deletes_memo_new();
    assert_false(dc_memo_same_census(m, 42)); /* nothing known yet */
    assert_true(dc_memo_same_census(m, 42));
    assert_false(dc_memo_same_census(m, 43));
    sync_deletes_memo_clear(m);
    assert_false(dc_memo_same_census(m, 43)); /* forgotten */
    sync_deletes_memo_free(m);
    sync_deletes_memo_free(NULL);
    sync_deletes_memo_clear(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(put_get_sorted),
        cmocka_unit_test(held_sets_stay),
        cmocka_unit_test(quiet_only_when_nothing_moved),
        cmocka_unit_test(too_big_is_remembered),
        cmocka_unit_test(add_merges_without_duplicates),
        cmocka_unit_test(replace_ranges_keeps_young),
        cmocka_unit_test(stale_or_failed_forgets),
        cmocka_unit_test(census_repeats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
