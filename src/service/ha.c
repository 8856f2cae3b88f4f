/* serve's two roles: a standby waits for the writer lease, the active one holds and renews it
 * and runs the continuous loop through connections fenced by it. */
#include "service/ha.h"

#include <math.h>
#include <string.h>

#include "log/log.h"

/* Sleeps one standby interval, keeping the sync thread's sign of life (ctl->planned) fresh
 * and waking early on a stop. */
static void standby_wait(double seconds, volatile sig_atomic_t *stop, const struct orch_ctl *ctl)
{
    for (double waited = 0; waited < seconds && !*stop; waited += 0.05) {
        if (ctl && ctl->planned)
            ctl->planned(ctl->ud, 0);
        orch_sleep(seconds - waited < 0.05 ? seconds - waited : 0.05, stop);
    }
}

/* Logs the standby state when it changes (holder, or reachability). */
static void say_standby(int rc, const struct sync_lease_info *i, long long *said_token,
                        int *said_rc)
{
    if (rc < 0) {
        if (*said_rc >= 0)
            log_fields(LOG_WARNING, "standby: cannot read the lease, trying again",
                       json_pack("{s:s}", "error", i->error));
    } else if (i->token != *said_token || *said_rc != 0) {
        char who[320];
        sync_lease_describe(i, who, sizeof who);
        log_fields(LOG_INFO, "standby: another falkorsync holds the lease",
                   json_pack("{s:s,s:s,s:I,s:s}", "holder", i->holder, "command", i->command,
                             "token", (json_int_t)i->token, "detail", who));
        *said_token = i->token;
    }
    *said_rc = rc;
}

/* FalkorDB cannot be reached to take the lease, and nobody is known to hold it: what this
 * serve would run fails the same way, and is reported like any failed run (history, metrics,
 * the "sync failed" log line) at the pace runs would have: a manual request at once, else once
 * per sync interval. */
static void unreachable_run(const struct cfg *c, const struct orch_hooks *hooks,
                            const struct orch_ctl *ctl, int rc, const char *why, double *due)
{
    enum sync_mode mode = MODE_INCREMENTAL;
    bool manual = ctl && ctl->take_trigger && ctl->take_trigger(ctl->ud, &mode);
    if (!manual && svc_wall() < *due)
        return;
    *due = svc_wall() + c->sync.interval_seconds;
    struct sync_report rep;
    memset(&rep, 0, sizeof rep);
    snprintf(rep.error, sizeof rep.error, "%s (cannot take the cache's writer lease)", why);
    sync_report_fail(&rep, rc);
    if (hooks && hooks->run_started)
        hooks->run_started(hooks->ud, mode, 0);
    log_fields(LOG_ERROR, "sync failed, giving up until the next interval",
               json_pack("{s:s,s:i,s:o,s:s,s:s}", "mode", orch_mode_name(mode), "attempts", 1,
                         "error", sync_json_text(rep.error), "side", fs_sidename(rep.err_side),
                         "error_code", fs_errname(rc)));
    if (hooks && hooks->run_finished)
        hooks->run_finished(hooks->ud, mode, rc, &rep, 0);
}

/* The cache was kept by the previous holder: readiness counts from the takeover, as from a
 * process start. */
static void became_active(struct svc_state *st)
{
    pthread_mutex_lock(&st->mu);
    double now = svc_wall();
    if (st->in_step_at < now)
        st->in_step_at = now;
    pthread_mutex_unlock(&st->mu);
}

int svc_ha_loop(const struct cfg *c, volatile sig_atomic_t *stop, struct svc_state *st,
                struct sync_lease *lease, const struct orch_hooks *hooks,
                const struct orch_ctl *ctl)
{
    double interval = sync_lease_interval(c);
    long long said_token = -1;
    int said_rc = 1;
    double due = svc_wall(); /* an unreachable FalkorDB is reported as a failed run at once */
    while (!*stop) {
        struct sync_lease_info info;
        int rc = sync_lease_try(lease, false, &info);
        if (rc != 1) {
            say_standby(rc, &info, &said_token, &said_rc);
            if (rc < 0)
                unreachable_run(c, hooks, ctl, info.code ? info.code : rc, info.error, &due);
            standby_wait(interval, stop, ctl);
            continue;
        }
        said_rc = 1;
        said_token = -1;
        volatile sig_atomic_t run_stop = 0;
        if (sync_lease_keep(lease, stop, &run_stop)) {
            sync_lease_release(lease);
            standby_wait(interval, stop, ctl);
            continue;
        }
        became_active(st);
        struct cfg run;
        sync_lease_fence(lease, c, &run);
        if (orch_loop(&run, &run_stop, hooks, ctl)) {
            /* logged */
        }
        sync_lease_release(lease);
    }
    return 0;
}

json_t *svc_lease_json(struct svc_state *s)
{
    if (!s->lease)
        return json_pack("{s:s,s:n}", "role", "active", "lease");
    struct sync_lease_info i;
    sync_lease_info(s->lease, &i);
    bool active = sync_lease_active(s->lease);
    json_t *lease =
        i.holder[0]
            ? json_pack("{s:s,s:s,s:I,s:o}", "holder", i.holder, "command", i.command, "token",
                        (json_int_t)i.token, "expires_in_seconds",
                        i.expires_in >= 0 ? json_real(round(i.expires_in * 10) / 10) : json_null())
            : json_null();
    return json_pack("{s:s,s:o}", "role", active ? "active" : "standby", "lease", lease);
}
