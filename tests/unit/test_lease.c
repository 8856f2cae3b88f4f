/* Unit tests for sync/lease's pure parts and its settings: the renewal interval, the holder
 * line people read, the key names, and the TTL/renew check of the configuration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config/config.h"
#include "sync/lease.h"
#include "sync/target.h"

static void test_interval_is_a_third_of_the_ttl_by_default(void **state)
{
    (void)state;
    struct cfg c;
    assert_int_equal(cfg_init_defaults(&c), 0);
    assert_int_equal(c.sync.lease_ttl_seconds, 15);
    assert_int_equal(c.sync.lease_renew_seconds, 0);
    assert_true(sync_lease_interval(&c) == 5.0);
    c.sync.lease_ttl_seconds = 4;
    assert_true(sync_lease_interval(&c) > 1.33 && sync_lease_interval(&c) < 1.34);
    c.sync.lease_renew_seconds = 1;
    assert_true(sync_lease_interval(&c) == 1.0);
    cfg_deinit(&c);
}

static void test_renew_must_be_below_the_ttl(void **state)
{
    (void)state;
    struct cfg c;
    char err[512] = "";
    assert_int_equal(cfg_init_defaults(&c), 0);
    assert_int_equal(cfg_validate(&c, err, sizeof err), 0);
    c.sync.lease_renew_seconds = 15;
    assert_int_equal(cfg_validate(&c, err, sizeof err), FS_ECONFIG);
    assert_non_null(strstr(err, "SYNC_LEASE_RENEW_SECONDS"));
    assert_non_null(strstr(err, "SYNC_LEASE_TTL_SECONDS"));
    c.sync.lease_renew_seconds = 14;
    assert_int_equal(cfg_validate(&c, err, sizeof err), 0);
    cfg_deinit(&c);
}

static void test_settings_from_the_environment(void **state)
{
    (void)state;
    struct cfg c;
    char err[512] = "";
    setenv("SYNC_LEASE_TTL_SECONDS", "0", 1);
    assert_int_equal(cfg_init_defaults(&c), 0);
    assert_int_not_equal(cfg_load_env(&c, err, sizeof err), 0); /* below the range */
    cfg_deinit(&c);
    setenv("SYNC_LEASE_TTL_SECONDS", "30", 1);
    setenv("SYNC_LEASE_RENEW_SECONDS", "7", 1);
    assert_int_equal(cfg_init_defaults(&c), 0);
    assert_int_equal(cfg_load_env(&c, err, sizeof err), 0);
    assert_int_equal(c.sync.lease_ttl_seconds, 30);
    assert_true(sync_lease_interval(&c) == 7.0);
    cfg_deinit(&c);
    unsetenv("SYNC_LEASE_TTL_SECONDS");
    unsetenv("SYNC_LEASE_RENEW_SECONDS");
}

static void test_keys_share_a_hash_tag(void **state)
{
    (void)state;
    struct cfg c;
    assert_int_equal(cfg_init_defaults(&c), 0);
    char lease[SYNC_KEY_NAME_CAP], token[SYNC_KEY_NAME_CAP];
    sync_lease_keys(&c, lease, token, sizeof lease);
    assert_string_equal(lease, "falkorsync:lease:{graphiti_cache}");
    assert_string_equal(token, "falkorsync:lease:{graphiti_cache}:token");
    cfg_deinit(&c);
}

static void test_describe_names_the_holder(void **state)
{
    (void)state;
    struct sync_lease_info i;
    memset(&i, 0, sizeof i);
    char out[320];
    sync_lease_describe(&i, out, sizeof out);
    assert_string_equal(out, "nobody");
    snprintf(i.holder, sizeof i.holder, "host-a:4242:9cf0b23a");
    snprintf(i.command, sizeof i.command, "serve");
    i.token = 7;
    i.expires_in = 12.04;
    sync_lease_describe(&i, out, sizeof out);
    assert_string_equal(out, "serve on host-a:4242:9cf0b23a (token 7, lease expires in 12.0 s "
                             "unless renewed)");
    i.expires_in = -1;
    sync_lease_describe(&i, out, sizeof out);
    assert_string_equal(out, "serve on host-a:4242:9cf0b23a (token 7)");
}

static void test_a_new_handle_holds_nothing(void **state)
{
    (void)state;
    struct cfg c;
    assert_int_equal(cfg_init_defaults(&c), 0);
    struct sync_lease *l = sync_lease_new(&c, "serve");
    assert_non_null(l);
    assert_false(sync_lease_active(l));
    struct sync_lease_info i;
    sync_lease_info(l, &i);
    assert_false(i.active);
    assert_int_equal(i.token, 0);
    volatile sig_atomic_t stop = 0, run_stop = 0;
    assert_int_equal(sync_lease_keep(l, &stop, &run_stop), FS_ESTATE); /* nothing to renew */
    struct cfg fenced;
    sync_lease_fence(l, &c, &fenced);
    assert_string_equal(fenced.fence.key, "falkorsync:lease:{graphiti_cache}");
    assert_null(c.fence.key); /* the original stays unfenced */
    sync_lease_free(l);       /* releases nothing, talks to no server */
    sync_lease_free(NULL);
    cfg_deinit(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interval_is_a_third_of_the_ttl_by_default),
        cmocka_unit_test(test_renew_must_be_below_the_ttl),
        cmocka_unit_test(test_settings_from_the_environment),
        cmocka_unit_test(test_keys_share_a_hash_tag),
        cmocka_unit_test(test_describe_names_the_holder),
        cmocka_unit_test(test_a_new_handle_holds_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
