/* Unit tests for util/err: names, messages and sides of the one error table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "util/err.h"

static void test_names_and_messages(void **state)
{
    assert_string_equal(fs_errname(FS_OK), "OK");
    assert_string_equal(fs_errname(FS_ETIMEOUT), "TIMEOUT");
    assert_string_equal(fs_errname(FS_EFDB_NOGRAPH), "FDB_NOGRAPH");
    assert_string_equal(fs_errname(FS_EFDB_NOPERM), "FDB_NOPERM");
    assert_string_equal(fs_errname(FS_BULK_FALLBACK), "BULK_FALLBACK");
    assert_string_equal(fs_errname(FS_RESTART), "RESTART");
    assert_string_equal(fs_errname(-9999), "UNKNOWN");
    assert_string_equal(fs_strerror(FS_EFDB_EXISTS), "already exists");
    assert_string_equal(fs_strerror(12345), "unknown error");
    assert_non_null(strstr(fs_strerror(FS_RESTART), "start fresh"));
}

/* The signals keep the values the sync layer's #defines had. */
static void test_signals_are_positive(void **state)
{
    assert_int_equal(FS_BULK_FALLBACK, 2);
    assert_int_equal(FS_RESTART, 3);
    assert_int_equal(fs_errside(FS_BULK_FALLBACK), FS_SIDE_INTERNAL);
}

static void test_sides(void **state)
{
    assert_int_equal(fs_errside(FS_OK), FS_SIDE_INTERNAL);
    assert_int_equal(fs_errside(FS_ENOMEM), FS_SIDE_INTERNAL);
    assert_int_equal(fs_errside(FS_ECANCELLED), FS_SIDE_INTERNAL);
    assert_int_equal(fs_errside(FS_ECONFIG), FS_SIDE_CONFIG);
    assert_int_equal(fs_errside(FS_EURI), FS_SIDE_CONFIG);
    assert_int_equal(fs_errside(FS_EDATABASE), FS_SIDE_NEO4J);
    assert_int_equal(fs_errside(FS_ESYNTAX), FS_SIDE_NEO4J);
    assert_int_equal(fs_errside(FS_EFDB_NOGRAPH), FS_SIDE_FALKORDB);
    assert_int_equal(fs_errside(FS_EFDB_OOM), FS_SIDE_FALKORDB);
    assert_int_equal(fs_errside(FS_ETIMEOUT), FS_SIDE_PEER);
    /* PEER resolves to the side of the connection the call used */
    assert_int_equal(fs_err_side(FS_ETIMEOUT, FS_SIDE_NEO4J), FS_SIDE_NEO4J);
    assert_int_equal(fs_err_side(FS_ECLOSED, FS_SIDE_FALKORDB), FS_SIDE_FALKORDB);
    assert_int_equal(fs_err_side(FS_ESERVER, FS_SIDE_FALKORDB), FS_SIDE_FALKORDB);
    /* a code with a side of its own keeps it */
    assert_int_equal(fs_err_side(FS_EFDB_NOPERM, FS_SIDE_NEO4J), FS_SIDE_FALKORDB);
    assert_int_equal(fs_err_side(FS_ENOMEM, FS_SIDE_NEO4J), FS_SIDE_INTERNAL);
    assert_string_equal(fs_sidename(FS_SIDE_NEO4J), "neo4j");
    assert_string_equal(fs_sidename(FS_SIDE_FALKORDB), "falkordb");
    assert_string_equal(fs_sidename(FS_SIDE_CONFIG), "config");
    assert_string_equal(fs_sidename(FS_SIDE_INTERNAL), "internal");
}

/* Every code from -1 down to the last has a name, a message and one code each. */
static void test_table_dense(void **state)
{
    int last = FS_EFENCED;
    for (int code = -1; code >= last; code--) {
        if (!strcmp(fs_errname(code), "UNKNOWN"))
            fail_msg("code %d has no entry", code);
        assert_string_not_equal(fs_strerror(code), "unknown error");
    }
    assert_string_equal(fs_errname(last - 1), "UNKNOWN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_messages),
        cmocka_unit_test(test_signals_are_positive),
        cmocka_unit_test(test_sides),
        cmocka_unit_test(test_table_dense),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
