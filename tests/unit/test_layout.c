/* Unit tests for the layout rules: which graph a group lives in, and the default-group clash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "config/config.h"
#include "sync/layout.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group_graph_name),
        cmocka_unit_test(test_default_group_clash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
