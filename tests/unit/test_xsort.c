/* Unit tests for util/xsort: records come out in byte order of their keys, payloads intact,
 * whether they stayed in memory or went through runs on disk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xsort.h"

#define OK(call) assert_int_equal((call), 0)

/* Feeds n records "k<perm(i)>" -> 4-byte payload i, then checks order and payloads. */
static void sort_n(size_t mem_cap, int n)
{
    struct xsort x;
    xsort_init(&x, mem_cap);
    for (int i = 0; i < n; i++) {
        int v = (i * 7919) % n; /* a permutation of 0..n-1 when n is prime to 7919 */
        char key[32];
        int kl = snprintf(key, sizeof key, "k%06d", v);
        uint32_t payload = (uint32_t)v;
        OK(xsort_add(&x, key, (size_t)kl, &payload, sizeof payload));
    }
    OK(xsort_finish(&x));
    struct xsort_rec r;
    for (int i = 0; i < n; i++) {
        assert_int_equal(xsort_next(&x, &r), 1);
        char want[32];
        snprintf(want, sizeof want, "k%06d", i);
        assert_string_equal(r.key, want);
        assert_int_equal(r.datalen, 4);
        uint32_t got;
        memcpy(&got, r.data, sizeof got);
        assert_int_equal(got, (uint32_t)i);
    }
    assert_int_equal(xsort_next(&x, &r), 0);
    xsort_deinit(&x);
}

static void test_in_memory(void **state)
{
    (void)state;
    sort_n((size_t)1 << 20, 1000);
}

static void test_spills_to_runs(void **state)
{
    (void)state;
    sort_n(4096, 5000); /* the smallest buffer: dozens of runs, then the merge */
}

static void test_empty(void **state)
{
    (void)state;
    struct xsort x;
    xsort_init(&x, 4096);
    OK(xsort_finish(&x));
    struct xsort_rec r;
    assert_int_equal(xsort_next(&x, &r), 0);
    xsort_deinit(&x);
}

/* Byte order, as the merge with Neo4j needs: bytes >= 0x80 after ASCII, a prefix first,
 * equal keys both kept. */
static void test_byte_order_and_duplicates(void **state)
{
    (void)state;
    const char *in[] = {"\xc3\xa9t\xc3\xa9", "zebra", "a", "ab", "a", "Z", ""};
    const char *want[] = {"", "Z", "a", "a", "ab", "zebra", "\xc3\xa9t\xc3\xa9"};
    struct xsort x;
    xsort_init(&x, 4096);
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
        OK(xsort_add(&x, in[i], strlen(in[i]), "", 0));
    OK(xsort_finish(&x));
    struct xsort_rec r;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_int_equal(xsort_next(&x, &r), 1);
        assert_string_equal(r.key, want[i]);
        assert_int_equal(r.datalen, 0);
    }
    assert_int_equal(xsort_next(&x, &r), 0);
    xsort_deinit(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_memory),
        cmocka_unit_test(test_spills_to_runs),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_byte_order_and_duplicates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
