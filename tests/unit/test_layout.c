/* Unit tests for the layout rules: which graph a group lives in, and the default-group clash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "config/config.h"
#include "sync/layout.h"
#include "sync/prefetch.h"

static void test_group_graph_name(void **state)
{
    (void)state;
    struct cfg c;
    memset(&c, 0, sizeof c);
    c.falkordb.database = "graphiti_cache";
    char out[64];
    sync_group_graph_name(&c, "support-team", out, sizeof out);
    assert_string_equal(out, "support-team"); /* verbatim, as Graphiti routes it */
    sync_group_graph_name(&c, "", out, sizeof out);
    assert_string_equal(out, "default_db"); /* Neo4j's default group */
    sync_group_graph_name(&c, NULL, out, sizeof out);
    assert_string_equal(out, "default_db");
    sync_group_graph_name(&c, "_", out, sizeof out); /* Graphiti's FalkorDB default group */
    assert_string_equal(out, "default_db");
    sync_group_graph_name(&c, "__", out, sizeof out);
    assert_string_equal(out, "__");
    assert_true(sync_layout_is_default_group(""));
    assert_true(sync_layout_is_default_group("_"));
    assert_false(sync_layout_is_default_group("default_db"));
}

static void test_default_group_clash(void **state)
{
    (void)state;
    char e[] = "", u[] = "_", a[] = "a";
    char *both[] = {e, a, u};
    char *empty_only[] = {e, a};
    char *underscore_only[] = {a, u};
    assert_true(sync_layout_default_group_clash(both, 3));
    assert_false(sync_layout_default_group_clash(empty_only, 2));
    assert_false(sync_layout_default_group_clash(underscore_only, 2));
    assert_false(sync_layout_default_group_clash(NULL, 0));
}

/* The read-ahead's job order: sets of fan graphs, each set type by type, graph by graph. */
static void test_prefetch_job_order(void **state)
{
    (void)state;
    /* 20 graphs in sets of 16, 9 types: 144 jobs for the first set, 36 for the last 4 */
    static const int want[][3] = {{0, 0, 0},    {15, 15, 0},  {16, 0, 1},   {143, 15, 8},
                                  {144, 16, 0}, {147, 19, 0}, {148, 16, 1}, {179, 19, 8}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int g = -1, t = -1;
        prefetch_job_target(want[i][0], 16, 20, 9, &g, &t);
        assert_int_equal(g, want[i][1]);
        assert_int_equal(t, want[i][2]);
    }
    /* every (graph, type) exactly once */
    int seen[20][9] = {{0}};
    for (int j = 0; j < 180; j++) {
        int g, t;
        prefetch_job_target(j, 16, 20, 9, &g, &t);
        assert_true(g >= 0 && g < 20 && t >= 0 && t < 9);
        seen[g][t]++;
    }
    for (int g = 0; g < 20; g++)
        for (int t = 0; t < 9; t++)
            assert_int_equal(seen[g][t], 1);
    /* single layout: one graph, a set of one */
    int g, t;
    prefetch_job_target(5, 1, 1, 9, &g, &t);
    assert_int_equal(g, 0);
    assert_int_equal(t, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group_graph_name),
        cmocka_unit_test(test_default_group_clash),
        cmocka_unit_test(test_prefetch_job_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
