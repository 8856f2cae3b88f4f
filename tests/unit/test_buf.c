/* Unit tests for util/buf and util/err. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "util/buf.h"
#include "util/err.h"

static void test_append_and_cap(void **state)
{
    struct buf b;
    buf_init(&b, 8);
    assert_int_equal(buf_append(&b, "abcd", 4), 0);
    assert_int_equal(buf_printf(&b, "%d", 123), 0);
    assert_string_equal(b.data, "abcd123");
    assert_int_equal(buf_append(&b, "xy", 2), FS_ETOO_BIG);
    assert_int_equal(b.len, 7);
    assert_int_equal(buf_append_byte(&b, 'z'), 0);
    assert_int_equal(buf_append_byte(&b, 'z'), FS_ETOO_BIG);
    buf_consume(&b, 3);
    assert_string_equal(b.data, "d123z");
    buf_deinit(&b);
}

static void test_errors(void **state)
{
    assert_string_equal(fs_errname(FS_ETIMEOUT), "TIMEOUT");
    assert_string_equal(fs_strerror(FS_EAUTH), "authentication failed");
    assert_string_equal(fs_strerror(12345), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_cap),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
