/* Unit tests for sync/orchestrator's retry backoff: base * 2^attempt, capped, with jitter. */
#include <setjmp.h>
#include <string.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config/config.h"
#include "sync/orchestrator.h"

static void test_doubles_until_the_cap(void **state)
{
    (void)state;
    /* jitter 1.0 is outside [0, 1) but gives the undamped delay: easy to read */
    assert_float_equal(orch_backoff(1, 60, 0, 1.0), 1, 1e-9);
    assert_float_equal(orch_backoff(1, 60, 1, 1.0), 2, 1e-9);
    assert_float_equal(orch_backoff(1, 60, 5, 1.0), 32, 1e-9);
    assert_float_equal(orch_backoff(1, 60, 6, 1.0), 60, 1e-9);
    assert_float_equal(orch_backoff(1, 60, 1000, 1.0), 60, 1e-9); /* no overflow to inf */
    assert_float_equal(orch_backoff(2.5, 10, 1, 1.0), 5, 1e-9);
}

static void test_jitter_halves_at_most(void **state)
{
    (void)state;
    assert_float_equal(orch_backoff(4, 60, 1, 0.0), 4, 1e-9);  /* 8 * 0.5 */
    assert_float_equal(orch_backoff(4, 60, 1, 0.5), 6, 1e-9);  /* 8 * 0.75 */
    assert_float_equal(orch_backoff(4, 60, 9, 0.0), 30, 1e-9); /* the cap, halved */
    double d = orch_backoff(4, 60, 1, 0.999999);
    assert_true(d < 8 && d > 7.99);
}

static void test_zero_base(void **state)
{
    (void)state;
    assert_float_equal(orch_backoff(0, 60, 3, 0.7), 0, 1e-12);
}

static void test_slice_budget(void **state)
{
    (void)state;
    struct cfg c;
    memset(&c, 0, sizeof c);
    c.sync.interval_seconds = 1;
    assert_float_equal(orch_slice_budget(&c), 0.25, 1e-12); /* a quarter of the interval */
    c.sync.interval_seconds = 300;
    assert_float_equal(orch_slice_budget(&c), 75, 1e-12);
    c.sync.reconcile_slice_ms = 40; /* set: taken as it is */
    assert_float_equal(orch_slice_budget(&c), 0.04, 1e-12);
}

static void test_slice_pacing(void **state)
{
    (void)state;
    struct cfg c;
    memset(&c, 0, sizeof c);
    struct state_slice pos;
    memset(&pos, 0, sizeof pos);
    c.sync.reconcile_pass_seconds = 600;
    assert_true(orch_slice_due(&c, &pos, 1000)); /* nothing known yet */
    /* a pass of 600,000 items under way since t = 1000: 1,000 items a second are due */
    pos.slices = 10;
    pos.last_checked = 600000;
    pos.active = true;
    pos.started_at = 1000;
    pos.checked = 50000;
    assert_false(orch_slice_due(&c, &pos, 1040)); /* 40,000 due: ahead */
    assert_true(orch_slice_due(&c, &pos, 1060));  /* 60,000 due: behind */
    /* a pass that ended at 1300 after 300 s: the next one begins at 1000 + 600 */
    pos.active = false;
    pos.last_finished_at = 1300;
    pos.last_seconds = 300;
    assert_false(orch_slice_due(&c, &pos, 1599));
    assert_true(orch_slice_due(&c, &pos, 1600));
    /* a pass longer than the pass time: the next one begins at once */
    pos.last_seconds = 900;
    assert_true(orch_slice_due(&c, &pos, 1301));
    c.sync.reconcile_pass_seconds = 0; /* unpaced */
    pos.active = true;
    pos.checked = 600000;
    assert_true(orch_slice_due(&c, &pos, 1001));
}

struct seen {
    int started, finished, rc;
};

static void on_started(void *ud, enum sync_mode mode, int attempt)
{
    (void)mode;
    (void)attempt;
    ((struct seen *)ud)->started++;
}

static void on_finished(void *ud, enum sync_mode mode, int rc, const struct sync_report *rep,
                        double lag)
{
    (void)mode;
    (void)rep;
    (void)lag;
    struct seen *s = ud;
    s->finished++;
    s->rc = rc;
}

/* A run stopped before it began (a POST /api/sync/stop while it waited for the delete check)
 * is reported started and finished as cancelled: the service's run a trigger announced ends
 * (it stayed "running" until the next run, seen in test_reconcile_slices). No server is
 * touched. */
static void test_stopped_before_it_began(void **state)
{
    (void)state;
    struct cfg c;
    memset(&c, 0, sizeof c);
    c.sync.max_retries = 3;
    volatile sig_atomic_t stop = 1;
    struct seen seen = {0};
    struct orch_hooks hooks = {.ud = &seen, .run_started = on_started, .run_finished = on_finished};
    struct sync_report rep;
    double lag = 1;
    assert_int_equal(orch_run(&c, MODE_FULL, &stop, &hooks, NULL, &rep, &lag), FS_ECANCELLED);
    assert_int_equal(seen.started, 1);
    assert_int_equal(seen.finished, 1);
    assert_int_equal(seen.rc, FS_ECANCELLED);
    assert_int_equal(rep.err_code, FS_ECANCELLED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slice_budget),
        cmocka_unit_test(test_slice_pacing),
        cmocka_unit_test(test_doubles_until_the_cap),
        cmocka_unit_test(test_jitter_halves_at_most),
        cmocka_unit_test(test_zero_base),
        cmocka_unit_test(test_stopped_before_it_began),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
