/* The continuous loop: which mode runs when, retries with backoff and jitter, clean stops. */
#include "sync/orchestrator.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "falkor/fdb.h"
#include "log/log.h"
#include "sync/applied.h"
#include "sync/connect.h"
#include "sync/deleter.h"
#include "sync/full.h"
#include "sync/incremental.h"
#include "sync/profile.h"
#include "sync/target.h"
#include "sync/verify.h"

const char *orch_mode_name(enum sync_mode m)
{
    return m == MODE_FULL ? "full" : m == MODE_INCREMENTAL ? "incremental" : "reconcile";
}

void orch_sleep(double seconds, volatile sig_atomic_t *stop)
{
    double end = sync_now() + seconds;
    while (!(stop && *stop)) {
        double left = end - sync_now();
        if (left <= 0)
            return;
        double step = left < 0.1 ? left : 0.1;
        struct timespec ts = {(time_t)step, (long)((step - (double)(time_t)step) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

double orch_backoff(double base, double max, int attempt, double jitter)
{
    double delay = base * pow(2.0, attempt);
    if (delay > max)
        delay = max;
    return delay * (0.5 + 0.5 * jitter);
}

/* Whether the cache holds anything: the live graph exists (single) or a group was synced
 * (per_group). 0 with *present, or an error (why in err). */
static int cache_exists(const struct cfg *c, bool *present, char *err, size_t errlen)
{
    struct fdb_conn f;
    fdb_init(&f);
    struct fdb_config fc = sync_fdb_config(c);
    int rc = fdb_connect(&f, &fc);
    if (rc) {
        snprintf(err, errlen, "%s", f.errstr);
        fdb_close(&f);
        return rc;
    }
    char key[SYNC_KEY_NAME_CAP];
    const char *argv[2];
    if (c->falkordb.layout == CFG_LAYOUT_SINGLE) {
        argv[0] = "EXISTS";
        argv[1] = c->falkordb.database;
    } else {
        sync_groups_key(c, key, sizeof key);
        argv[0] = "SCARD";
        argv[1] = key;
    }
    redisReply *r = NULL;
    if ((rc = fdb_commandv(&f, &r, 2, argv)))
        snprintf(err, errlen, "FalkorDB: %s", f.errstr);
    *present = !rc && r->type == REDIS_REPLY_INTEGER && r->integer > 0;
    freeReplyObject(r);
    fdb_close(&f);
    return rc;
}

int sync_incremental(const struct cfg *c, const struct sync_opts *o, struct sync_report *rep,
                     double *lag_seconds)
{
    *lag_seconds = 0;
    if (c->falkordb.layout == CFG_LAYOUT_SINGLE) {
        bool present = false;
        memset(rep, 0, sizeof *rep);
        int rc = cache_exists(c, &present, rep->error, sizeof rep->error);
        if (rc)
            return rc;
        if (!present) { /* an empty cache: a full sync fills it and sets watermarks */
            rc = sync_full(c, o, rep);
            rep->did_full = true;
            return rc;
        }
    }
    if (sync_profile_of(c)->generic) {
        /* No change timestamps to follow in an arbitrary graph: compare
         * everything and fix what differs, deletes included. */
        struct verify_report found;
        return sync_reconcile_stoppable(c, &found, rep, o ? o->stop : NULL);
    }
    return sync_incremental_changes(c, o, rep, lag_seconds);
}

static int run_once(const struct cfg *c, enum sync_mode mode, volatile sig_atomic_t *stop,
                    const struct orch_hooks *hooks, const struct orch_keep *keep,
                    struct sync_report *rep, double *lag)
{
    struct sync_opts o = {.progress = false,
                          .stop = stop,
                          .applied = keep ? keep->applied : NULL,
                          .deletes_elsewhere = keep && keep->deletes_elsewhere,
                          .group_list = keep ? keep->groups : NULL};
    if (mode == MODE_FULL && keep) /* a full sync lists the groups itself */
        sync_group_list_clear(keep->groups);
    if (hooks && hooks->progress) {
        o.on_progress = hooks->progress;
        o.progress_ud = hooks->ud;
    }
    *lag = 0;
    if (mode == MODE_FULL)
        return sync_full(c, &o, rep);
    if (mode == MODE_INCREMENTAL)
        return sync_incremental(c, &o, rep, lag);
    struct verify_report found;
    int rc = sync_reconcile_stoppable(c, &found, rep, stop);
    for (int i = 0; i < found.ntypes; i++) {
        const struct verify_count *v = &found.types[i];
        if (v->missing + v->extra + v->different + v->duplicate)
            log_fields(LOG_INFO, "reconcile fixed drift",
                       json_pack("{s:s,s:I,s:I,s:I,s:I,s:o}", "type", v->name, "missing",
                                 (json_int_t)v->missing, "extra", (json_int_t)v->extra, "different",
                                 (json_int_t)v->different, "duplicate", (json_int_t)v->duplicate,
                                 "sample", sync_json_text(v->nsamples ? v->samples[0] : "")));
    }
    return rc;
}

int orch_run(const struct cfg *c, enum sync_mode mode, volatile sig_atomic_t *stop,
             const struct orch_hooks *hooks, const struct orch_keep *keep, struct sync_report *rep,
             double *lag)
{
    int rc = 0;
    for (int attempt = 0; attempt <= c->sync.max_retries; attempt++) {
        if (stop && *stop && attempt == 0 && hooks && hooks->run_started && hooks->run_finished) {
            /* stopped before it began (while a delete check ended, say): reported as a
             * cancelled run, so that the run a trigger announced ends and the state is idle */
            memset(rep, 0, sizeof *rep);
            snprintf(rep->error, sizeof rep->error, "%s", "stopped before it began");
            sync_report_fail(rep, FS_ECANCELLED);
            hooks->run_started(hooks->ud, mode, 0);
            hooks->run_finished(hooks->ud, mode, FS_ECANCELLED, rep, 0);
        }
        if (stop && *stop)
            return FS_ECANCELLED;
        if (hooks && hooks->run_started)
            hooks->run_started(hooks->ud, mode, attempt);
        rc = run_once(c, mode, stop, hooks, keep, rep, lag);
        /* a stop interrupts whatever the run was doing (a connect, a read): what that
         * operation reports is the stop's doing, and the run is cancelled, not failed */
        if (rc && stop && *stop)
            rc = FS_ECANCELLED;
        if (rc)
            sync_report_fail(rep, rc);
        if (hooks && hooks->run_finished)
            hooks->run_finished(hooks->ud, mode, rc, rep, *lag);
        if (!rc) {
            log_fields(LOG_INFO, "sync completed",
                       json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:f,s:f,s:f}", "mode",
                                 rep->did_full ? "full" : orch_mode_name(mode), "nodes",
                                 (json_int_t)rep->nodes, "relationships",
                                 (json_int_t)rep->relationships, "upserted",
                                 (json_int_t)rep->upserted, "deleted", (json_int_t)rep->deleted,
                                 "skipped_unchanged", (json_int_t)rep->skipped_unchanged,
                                 "duration_ms", round(rep->seconds * 1000), "delete_check_ms",
                                 round(rep->delete_check_seconds * 1000), "lag_seconds",
                                 round(*lag * 1000) / 1000));
            return 0;
        }
        if (rc == FS_ECANCELLED || (stop && *stop))
            return FS_ECANCELLED;
        /* Out of memory does not pass in seconds: retrying now would build the shadow graph
         * again into the same wall, so the next interval tries again. */
        if (attempt == c->sync.max_retries || rc == FS_EFDB_OOM) {
            log_fields(LOG_ERROR, "sync failed, giving up until the next interval",
                       json_pack("{s:s,s:i,s:o,s:s,s:s}", "mode", orch_mode_name(mode), "attempts",
                                 attempt + 1, "error", sync_json_text(rep->error), "side",
                                 fs_sidename(rep->err_side), "error_code", fs_errname(rc)));
            break;
        }
        /* Exponential backoff with jitter: base * 2^attempt, capped, times [0.5, 1). A failure
         * Neo4j calls transient (a read that met a concurrent delete: Neo.TransientError.
         * Transaction.Outdated, seen under a writer that deletes) asks for a retry, not a
         * pause: 0.1-0.2 s. */
        double jitter = (double)rand() / ((double)RAND_MAX + 1.0);
        double delay = strstr(rep->error, "Neo.TransientError")
                           ? orch_backoff(0.2, 0.2, 0, jitter)
                           : orch_backoff(c->sync.retry_delay_seconds,
                                          c->sync.retry_max_delay_seconds, attempt, jitter);
        log_fields(LOG_WARNING, "sync failed, retrying",
                   json_pack("{s:s,s:i,s:f,s:o,s:s}", "mode", orch_mode_name(mode), "attempt",
                             attempt + 1, "retry_in_seconds", round(delay * 10) / 10, "error",
                             sync_json_text(rep->error), "side", fs_sidename(rep->err_side)));
        orch_sleep(delay, stop);
    }
    return rc;
}

/* True when the cache holds anything; also when unknown (FalkorDB down): the run itself
 * then retries. */
static bool cache_present(const struct cfg *c)
{
    bool present = false;
    char err[512];
    return cache_exists(c, &present, err, sizeof err) ? true : present;
}

/* Waits until the next planned run, a manual trigger or a stop. Returns true
 * with *mode set when something should run now. */
static bool wait_for_work(const struct cfg *c, volatile sig_atomic_t *stop,
                          const struct orch_ctl *ctl, struct sync_deleter *dl, double due,
                          enum sync_mode *mode, bool *manual)
{
    *manual = false;
    while (!(stop && *stop)) {
        /* a cancel asked while no run was going has nothing left to cancel; read before the
         * switch, which POST /api/sync/stop turns off before it cancels. The deleter's check
         * watches the same flag: it stays set until that check has ended. */
        if (ctl && ctl->shutdown && *ctl->shutdown)
            return false;
        if (ctl && ctl->cancel && *ctl->cancel) {
            if (dl && sync_deleter_busy(dl)) {
                orch_sleep(0.02, stop);
                continue;
            }
            *ctl->cancel = 0;
        }
        if (ctl && ctl->take_trigger && ctl->take_trigger(ctl->ud, mode)) {
            *manual = true;
            return true;
        }
        bool continuous =
            ctl && ctl->continuous ? ctl->continuous(ctl->ud) : c->sync.enable_continuous;
        if (ctl && ctl->planned)
            ctl->planned(ctl->ud, continuous ? due : 0);
        if (continuous && sync_wall_now() >= due)
            return true;
        orch_sleep(0.05, stop);
    }
    return false;
}

double orch_slice_budget(const struct cfg *c)
{
    if (c->sync.reconcile_slice_ms > 0)
        return c->sync.reconcile_slice_ms / 1000.0;
    double q = c->sync.interval_seconds / 4.0;
    return q < 0.1 ? 0.1 : q;
}

bool orch_slice_due(const struct cfg *c, const struct state_slice *pos, double now)
{
    double pass = c->sync.reconcile_pass_seconds;
    if (pass <= 0 || !pos->slices || !pos->last_checked)
        return true;  /* unpaced, or nothing known yet: as fast as the budget allows */
    if (!pos->active) /* the next pass begins a pass time after the last one began */
        return now >= pos->last_finished_at - pos->last_seconds + pass;
    /* on schedule: the last pass's item count spread evenly over the pass time */
    return (double)pos->checked < (now - pos->started_at) / pass * (double)pos->last_checked;
}

/* One reconcile slice after an interval run: logged, reported to the hooks. */
static void run_slice(const struct cfg *c, volatile sig_atomic_t *stop,
                      const struct orch_hooks *hooks, struct state_slice *pos)
{
    struct verify_report found;
    struct sync_report done;
    uint64_t passes = pos->passes;
    int rc = sync_reconcile_slice(c, orch_slice_budget(c), pos, &found, &done, stop);
    if (rc && rc != FS_ECANCELLED)
        log_fields(LOG_WARNING, "reconcile slice failed; the next one retries",
                   json_pack("{s:o,s:s}", "error", sync_json_text(found.error), "error_code",
                             fs_errname(rc)));
    if (done.upserted + done.deleted)
        log_fields(LOG_INFO, "reconcile slice fixed drift",
                   json_pack("{s:I,s:I,s:I}", "upserted", (json_int_t)done.upserted, "deleted",
                             (json_int_t)done.deleted, "differences",
                             (json_int_t)verify_differences(&found)));
    if (!rc && pos->passes > passes)
        log_fields(LOG_INFO, "reconcile pass completed",
                   json_pack("{s:f,s:f,s:I,s:I}", "seconds", round(pos->last_seconds * 1000) / 1000,
                             "busy_seconds", round(pos->last_busy_seconds * 1000) / 1000, "checked",
                             (json_int_t)pos->last_checked, "fixed", (json_int_t)pos->last_fixed));
    if (hooks && hooks->slice_finished)
        hooks->slice_finished(hooks->ud, rc, pos, &done);
}

/* The deleter's view of the loop's hooks and switch. */
struct dl_glue {
    const struct orch_hooks *hooks;
    const struct orch_ctl *ctl;
    const struct cfg *c;
};

static bool dl_enabled(void *ud)
{
    const struct dl_glue *g = ud;
    return g->ctl && g->ctl->continuous ? g->ctl->continuous(g->ctl->ud)
                                        : g->c->sync.enable_continuous;
}

static void dl_finished(void *ud, int rc, const struct sync_report *rep)
{
    const struct dl_glue *g = ud;
    if (rc && rc != FS_ECANCELLED)
        log_fields(LOG_WARNING, "delete check failed; the next one retries",
                   json_pack("{s:o,s:s,s:s}", "error", sync_json_text(rep->error), "side",
                             fs_sidename(rep->err_side), "error_code", fs_errname(rc)));
    else if (!rc && rep->upserted + rep->deleted)
        log_fields(LOG_INFO, "delete check applied",
                   json_pack("{s:I,s:I,s:f}", "deleted", (json_int_t)rep->deleted, "upserted",
                             (json_int_t)rep->upserted, "duration_ms", round(rep->seconds * 1000)));
    if (g->hooks && g->hooks->deletes_finished)
        g->hooks->deletes_finished(g->hooks->ud, rc, rep);
}

/* A full or reconcile run replaces what a delete check looks at: none runs beside it. */
static int run_held(const struct cfg *c, enum sync_mode mode, volatile sig_atomic_t *stop,
                    const struct orch_hooks *hooks, const struct orch_keep *keep,
                    struct sync_deleter *dl, struct sync_report *rep, double *lag)
{
    bool hold = dl && mode != MODE_INCREMENTAL;
    if (hold)
        sync_deleter_hold(dl, true);
    int rc = orch_run(c, mode, stop, hooks, keep, rep, lag);
    if (hold)
        sync_deleter_hold(dl, false);
    return rc;
}

int orch_loop(const struct cfg *c, volatile sig_atomic_t *stop, const struct orch_hooks *hooks,
              const struct orch_ctl *ctl)
{
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    struct sync_report rep;
    double lag = 0;
    /* runs end on ctl->cancel (which a stop sets too), the loop on stop */
    volatile sig_atomic_t *run_stop = ctl && ctl->cancel ? ctl->cancel : stop;
    /* What incremental applied, across runs: 2^16 slots (1.5 MB), up to 49k rows of the
     * overlap window; without it (out of memory) every run rewrites the window. */
    struct sync_applied *applied = sync_applied_new(16);
    struct state_slice pos = {0};
    struct sync_group_list groups = {0};
    struct orch_keep keep = {.applied = applied, .groups = &groups};
    const bool slices = c->sync.reconcile_every > 0 && !sync_profile_of(c)->generic;
    if (c->sync.full_sync_on_startup || !cache_present(c)) {
        log_event(LOG_INFO, "full sync on startup", "\"reason\":\"%s\"",
                  c->sync.full_sync_on_startup ? "full_sync_on_startup" : "empty cache");
        if (orch_run(c, MODE_FULL, run_stop, hooks, &keep, &rep, &lag)) {
            /* retried at the next interval through incremental's empty-cache path */
        }
    }
    /* Deletes are looked for beside the incremental runs, on connections of their own; when
     * the thread cannot start, each run checks after its changes as the CLI does. */
    struct dl_glue glue = {.hooks = hooks, .ctl = ctl, .c = c};
    struct sync_deleter_hooks dh = {.ud = &glue, .enabled = dl_enabled, .finished = dl_finished};
    struct sync_deleter *dl = NULL;
    if (c->sync.enable_incremental && !sync_profile_of(c)->generic &&
        !(dl = sync_deleter_start(c, run_stop, stop, &dh)))
        log_event(LOG_WARNING, "delete check thread not started; runs check inline", NULL);
    keep.deletes_elsewhere = dl != NULL;
    long runs = 0;
    double due = sync_wall_now() + c->sync.interval_seconds;
    while (!(stop && *stop)) {
        enum sync_mode mode = MODE_INCREMENTAL;
        bool manual;
        if (!wait_for_work(c, stop, ctl, dl, due, &mode, &manual) || (stop && *stop))
            break;
        if (!manual) {
            runs++;
            due = sync_wall_now() + c->sync.interval_seconds;
        }
        int rc = 0;
        if (manual || c->sync.enable_incremental)
            rc = run_held(c, mode, run_stop, hooks, &keep, dl, &rep, &lag);
        /* Interval runs start an interval apart, start to start (a run that took longer is
         * followed by the next at once: a writer's changes wait at most an interval plus a
         * run); after a run that failed for good, an interval from its end. */
        if (!manual && rc)
            due = sync_wall_now() + c->sync.interval_seconds;
        /* between interval runs, within the wait for the next one: never delays it by more
         * than the budget (and one chunk) */
        if (!manual && !rc && slices && runs % c->sync.reconcile_every == 0 &&
            !(run_stop && *run_stop) && orch_slice_due(c, &pos, sync_wall_now()))
            run_slice(c, run_stop, hooks, &pos);
    }
    sync_deleter_stop(dl);
    sync_group_list_clear(&groups);
    sync_applied_free(applied);
    log_event(LOG_INFO, "stopped", NULL);
    return 0;
}
