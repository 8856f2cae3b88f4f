/* Service state: what the sync thread reports and the HTTP threads read, behind one mutex. */
#include "service/state.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log/log.h"

const double svc_bucket_bounds[SVC_NBUCKETS] = {0.05, 0.1, 0.25, 0.5, 1,   2.5,
                                                5,    10,  30,   60,  300, 1800};

double svc_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A number rounded to milliseconds (or tenths), so the JSON reads like the seed's. */
static json_t *real3(double v)
{
    return json_real(round(v * 1000) / 1000);
}

double svc_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void svc_state_init(struct svc_state *s, bool continuous, int interval_seconds)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cond, NULL);
    s->started_wall = svc_wall();
    s->continuous = continuous;
    s->interval_seconds = interval_seconds;
    s->next_run_id = 1;
    s->lag_seconds = -1;
    s->replicas_acked = -1;
    s->delete_check_seconds = -1;
    for (int i = 0; i < 16; i++)
        s->count_neo4j[i] = s->count_falkordb[i] = -1;
    s->in_step_at = s->started_wall; /* a startup grace of max_staleness */
    s->sync_alive_at = s->monitor_alive_at = svc_mono();
    s->types = sync_graphiti_types; /* main.c sets the configured profile's */
    s->ntypes = sync_graphiti_ntypes;
}

void svc_state_deinit(struct svc_state *s)
{
    for (int i = 0; i < SVC_EVENTS; i++)
        free(s->events[i].json);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cond);
}

void svc_fmt_time(char *out, size_t cap, double t)
{
    time_t sec = (time_t)t;
    struct tm tm;
    gmtime_r(&sec, &tm);
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, cap - n, ".%03dZ", (int)((t - (double)sec) * 1000));
}

/* Takes ownership of data. */
static void emit_locked(struct svc_state *s, const char *event, json_t *data)
{
    char ts[40];
    svc_fmt_time(ts, sizeof ts, svc_wall());
    json_t *msg =
        json_pack("{s:s,s:s,s:o}", "event", event, "ts", ts, "data", data ? data : json_object());
    char *text = msg ? json_dumps(msg, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(msg);
    if (!text)
        return;
    uint64_t seq = ++s->event_seq; /* the broadcaster looks for event q in slot q % SVC_EVENTS */
    struct svc_event *e = &s->events[seq % SVC_EVENTS];
    free(e->json);
    e->json = text;
    e->seq = seq;
    pthread_cond_broadcast(&s->cond);
}

void svc_emit(struct svc_state *s, const char *event, json_t *data)
{
    pthread_mutex_lock(&s->mu);
    emit_locked(s, event, data);
    pthread_mutex_unlock(&s->mu);
}

static void state_changed_locked(struct svc_state *s);

static const char *mode_name(enum sync_mode m)
{
    return orch_mode_name(m);
}

json_t *svc_run(const struct svc_run *r)
{
    static const char *const results[] = {"success", "failure", "cancelled"};
    char st[40], fin[40], err[sizeof r->error];
    svc_fmt_time(st, sizeof st, r->started_at);
    svc_fmt_time(fin, sizeof fin, r->finished_at);
    log_redact(r->error, err, sizeof err);
    return json_pack(
        "{s:I,s:s,s:s,s:s,s:s,s:o,s:I,s:I,s:I,s:I,s:o}", "run_id", (json_int_t)r->run_id, "mode",
        mode_name(r->mode), "result", results[r->result], "started_at", st, "finished_at", fin,
        "duration_seconds", real3(r->finished_at - r->started_at), "nodes", (json_int_t)r->nodes,
        "relationships", (json_int_t)r->relationships, "upserted", (json_int_t)r->upserted,
        "deleted", (json_int_t)r->deleted, "error", r->error[0] ? json_string(err) : json_null());
}

static json_t *current_locked(struct svc_state *s)
{
    if (!s->running)
        return json_null();
    char st[40];
    svc_fmt_time(st, sizeof st, s->cur.started_at);
    return json_pack("{s:I,s:s,s:s,s:I,s:I}", "run_id", (json_int_t)s->cur.run_id, "mode",
                     mode_name(s->cur.mode), "started_at", st, "items_done",
                     (json_int_t)s->items_done, "items_total", (json_int_t)s->items_total);
}

int svc_trigger(struct svc_state *s, enum sync_mode mode, uint64_t *run_id)
{
    pthread_mutex_lock(&s->mu);
    int rc = 0;
    if (s->running || s->trigger_pending || s->stopping) {
        rc = FS_ESTATE;
    } else {
        s->trigger_pending = true;
        s->trigger_mode = mode;
        /* The run counts as started now, so a second trigger gets 409 at once. */
        memset(&s->cur, 0, sizeof s->cur);
        s->cur.run_id = s->next_run_id++;
        s->cur.mode = mode;
        s->cur.started_at = svc_wall();
        s->running = true;
        s->cur_reserved = true;
        s->items_done = s->items_total = 0;
        *run_id = s->cur.run_id;
        state_changed_locked(s);
        pthread_cond_broadcast(&s->cond);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static void state_changed_locked(struct svc_state *s)
{
    emit_locked(s, "state_changed",
                json_pack("{s:s,s:b}", "state", s->running ? "running" : "idle", "continuous",
                          s->continuous));
}

void svc_set_continuous(struct svc_state *s, bool on)
{
    pthread_mutex_lock(&s->mu);
    if (s->continuous != on) {
        s->continuous = on;
        state_changed_locked(s);
    }
    pthread_mutex_unlock(&s->mu);
}

/* ---- hooks for the orchestrator (sync thread) -------------------------- */

static void hk_started(void *ud, enum sync_mode mode, int attempt)
{
    struct svc_state *s = ud;
    pthread_mutex_lock(&s->mu);
    if (s->cur_reserved && s->cur.mode == mode) {
        s->cur_reserved = false; /* the run a trigger announced */
    } else if (attempt == 0 || !s->running) {
        memset(&s->cur, 0, sizeof s->cur);
        s->cur.run_id = s->next_run_id++;
        s->cur.mode = mode;
        s->cur.started_at = svc_wall();
    }
    s->running = true;
    s->attempt = attempt;
    s->sync_alive_at = svc_mono();
    s->items_done = s->items_total = 0;
    /* every line the sync thread logs from here to its next wait names the run */
    log_set_run_id(s->cur.run_id);
    emit_locked(s, "sync_started",
                json_pack("{s:I,s:s,s:i}", "run_id", (json_int_t)s->cur.run_id, "mode",
                          mode_name(mode), "attempt", attempt + 1));
    state_changed_locked(s);
    pthread_mutex_unlock(&s->mu);
}

static void hk_progress(void *ud, uint64_t done, uint64_t total)
{
    struct svc_state *s = ud;
    pthread_mutex_lock(&s->mu);
    s->items_done = done;
    s->items_total = total;
    s->sync_alive_at = svc_mono();
    double now = svc_wall();
    if (now - s->last_progress_event >= 0.25) { /* at most a few per second */
        s->last_progress_event = now;
        double el = now - s->cur.started_at;
        emit_locked(s, "progress",
                    json_pack("{s:I,s:s,s:I,s:I,s:f}", "run_id", (json_int_t)s->cur.run_id, "mode",
                              mode_name(s->cur.mode), "items_done", (json_int_t)done, "items_total",
                              (json_int_t)total, "items_per_second",
                              el > 0 ? round(done / el * 10) / 10 : 0.0));
    }
    pthread_mutex_unlock(&s->mu);
}

/* Counts a failed run by the side that failed (the report's, see sync_report_fail). */
static void count_error_side_locked(struct svc_state *s, const struct sync_report *rep)
{
    if (rep->err_side == FS_SIDE_NEO4J)
        s->errors_neo4j++;
    else if (rep->err_side == FS_SIDE_FALKORDB)
        s->errors_falkordb++;
    else
        s->errors_other++;
}

static void hk_finished(void *ud, enum sync_mode mode, int rc, const struct sync_report *rep,
                        double lag)
{
    struct svc_state *s = ud;
    pthread_mutex_lock(&s->mu);
    struct svc_run *r = &s->cur;
    r->finished_at = svc_wall();
    r->result = rc == 0 ? 0 : rc == FS_ECANCELLED ? 2 : 1;
    if (rep->did_full)
        r->mode = MODE_FULL;
    r->nodes = rep->nodes;
    r->relationships = rep->relationships;
    r->upserted = rep->upserted;
    r->deleted = rep->deleted;
    snprintf(r->error, sizeof r->error, "%s", rc ? rep->error : "");
    double dur = r->finished_at - r->started_at;
    int m = (int)r->mode;
    s->runs_by[m][r->result]++;
    s->sync_alive_at = svc_mono();
    s->last_failed = rc != 0 && rc != FS_ECANCELLED;
    s->gave_up = s->last_failed && s->attempt >= s->max_retries;
    if (rc == 0) {
        s->in_step_at = r->started_at;
        s->runs_ok++;
        s->last_success_at[m] = r->finished_at;
        s->items_nodes += rep->nodes;
        s->items_rels += rep->relationships;
        s->items_upserted += rep->upserted;
        s->items_deleted += rep->deleted;
        s->items_seconds += dur;
        if (mode == MODE_INCREMENTAL || rep->did_full)
            s->lag_seconds = lag;
        if (rep->did_full || mode == MODE_FULL)
            s->lag_seconds = 0;
    } else if (rc != FS_ECANCELLED) {
        s->runs_failed++;
        count_error_side_locked(s, rep);
    }
    if (rep->replicas_wanted > 0) {
        s->replicas_acked = rep->replicas_acked;
        if (rep->replicas_acked < rep->replicas_wanted)
            s->replica_shortfalls++;
    }
    const struct xc_stats *d = &rep->dropped;
    uint64_t dv[8] = {d->dropped_nan, d->dropped_bytes, d->dropped_nul,   d->dropped_point,
                      d->dropped_key, d->dropped_label, d->dropped_other, 0};
    for (int i = 0; i < 8; i++)
        s->dropped[i] += dv[i];
    s->duration_sum += dur;
    s->duration_by_mode_sum[m] += dur;
    s->duration_count_by_mode[m]++;
    for (int b = 0; b < SVC_NBUCKETS; b++)
        if (dur <= svc_bucket_bounds[b])
            s->buckets[m][b]++;
    /* series for the dashboard chart */
    int k = s->series_n % SVC_SERIES;
    uint64_t items = rep->nodes + rep->relationships + rep->upserted;
    s->rate_series[k] = dur > 0 ? items / dur : 0;
    s->lag_series[k] = s->lag_seconds < 0 ? 0 : s->lag_seconds;
    s->series_n++;
    /* history */
    s->hist[s->hist_head] = *r;
    s->hist_head = (s->hist_head + 1) % SVC_HISTORY;
    if (s->hist_n < SVC_HISTORY)
        s->hist_n++;
    s->running = false;
    emit_locked(s, rc ? "sync_failed" : "sync_completed", svc_run(r));
    state_changed_locked(s);
    pthread_mutex_unlock(&s->mu);
}

static void hk_slice(void *ud, int rc, const struct state_slice *pos, const struct sync_report *rep)
{
    struct svc_state *s = ud;
    pthread_mutex_lock(&s->mu);
    s->sync_alive_at = svc_mono();
    bool completed = !rc && s->have_slice && pos->passes > s->slice.passes;
    s->slice = *pos;
    s->have_slice = true;
    if (rc && rc != FS_ECANCELLED)
        s->slices_failed++;
    else if (!rc)
        s->slices_ok++;
    s->slice_upserted += rep->upserted;
    s->slice_deleted += rep->deleted;
    if (completed)
        emit_locked(s, "reconcile_pass_completed",
                    json_pack("{s:f,s:I,s:I}", "seconds", round(pos->last_seconds * 1000) / 1000,
                              "checked", (json_int_t)pos->last_checked, "fixed",
                              (json_int_t)pos->last_fixed));
    pthread_mutex_unlock(&s->mu);
}

static void hk_deletes(void *ud, int rc, const struct sync_report *rep)
{
    struct svc_state *s = ud;
    pthread_mutex_lock(&s->mu);
    s->delete_checks[rc == 0 ? 0 : rc == FS_ECANCELLED ? 2 : 1]++;
    if (rc == 0) {
        s->delete_check_seconds = rep->seconds;
        s->delete_upserted += rep->upserted;
        s->delete_deleted += rep->deleted;
        s->items_upserted += rep->upserted;
        s->items_deleted += rep->deleted;
    } else if (rc != FS_ECANCELLED) {
        count_error_side_locked(s, rep);
    }
    if (rc == 0 && rep->upserted + rep->deleted)
        emit_locked(s, "deletes_applied",
                    json_pack("{s:I,s:I,s:f}", "deleted", (json_int_t)rep->deleted, "upserted",
                              (json_int_t)rep->upserted, "seconds",
                              round(rep->seconds * 1000) / 1000));
    pthread_mutex_unlock(&s->mu);
}

struct orch_hooks svc_hooks(struct svc_state *s)
{
    struct orch_hooks h = {.ud = s,
                           .run_started = hk_started,
                           .run_finished = hk_finished,
                           .progress = hk_progress,
                           .slice_finished = hk_slice,
                           .deletes_finished = hk_deletes};
    return h;
}

static bool ctl_take(void *ud, enum sync_mode *mode)
{
    struct svc_state *s = ud;
    pthread_mutex_lock(&s->mu);
    s->sync_alive_at = svc_mono();
    bool t = s->trigger_pending;
    if (t) {
        *mode = s->trigger_mode;
        s->trigger_pending = false;
    }
    pthread_mutex_unlock(&s->mu);
    return t;
}

bool svc_cancel_run(struct svc_state *s)
{
    pthread_mutex_lock(&s->mu);
    bool running = s->running || s->cur_reserved;
    if (s->cancel_run)
        *s->cancel_run = 1;
    pthread_mutex_unlock(&s->mu);
    return running;
}

static bool ctl_continuous(void *ud)
{
    struct svc_state *s = ud;
    pthread_mutex_lock(&s->mu);
    bool c = s->continuous;
    pthread_mutex_unlock(&s->mu);
    return c;
}

static void ctl_planned(void *ud, double at)
{
    struct svc_state *s = ud;
    log_set_run_id(0); /* waiting: no run in progress on this thread */
    pthread_mutex_lock(&s->mu);
    s->sync_alive_at = svc_mono();
    s->next_run_at = at;
    pthread_mutex_unlock(&s->mu);
}

struct orch_ctl svc_ctl(struct svc_state *s)
{
    struct orch_ctl c = {
        .ud = s,
        .take_trigger = ctl_take,
        .continuous = ctl_continuous,
        .planned = ctl_planned,
        .cancel = s->cancel_run,
    };
    return c;
}

/* ---- JSON for the API --------------------------------------------------- */

static json_t *time_or_null(double t);

/* The "reconcile_pass" object of the status: where the sliced pass is and the last whole one. */
static json_t *slice_json_locked(const struct svc_state *s)
{
    if (!s->have_slice)
        return json_null();
    const struct state_slice *p = &s->slice;
    const struct sync_type *t = p->active && p->type < s->ntypes ? &s->types[p->type] : NULL;
    json_t *position = p->active ? json_pack("{s:i,s:s,s:s,s:s}", "graph_index", p->graph, "group",
                                             p->group, "type", t ? t->name : "", "after", p->after)
                                 : json_null();
    return json_pack(
        "{s:b,s:o,s:o,s:I,s:I,s:f,s:I,s:o,s:o,s:o,s:o,s:o,s:I,s:I}", "in_progress", p->active,
        "position", position ? position : json_null(), "started_at",
        time_or_null(p->active ? p->started_at : 0), "checked", (json_int_t)p->checked, "fixed",
        (json_int_t)p->fixed, "busy_seconds", round(p->busy_seconds * 1000) / 1000, "passes",
        (json_int_t)p->passes, "last_pass_seconds",
        p->passes ? json_real(round(p->last_seconds * 1000) / 1000) : json_null(),
        "last_pass_busy_seconds",
        p->passes ? json_real(round(p->last_busy_seconds * 1000) / 1000) : json_null(),
        "last_pass_fixed", p->passes ? json_integer((json_int_t)p->last_fixed) : json_null(),
        "last_pass_checked", p->passes ? json_integer((json_int_t)p->last_checked) : json_null(),
        "last_pass_finished_at", time_or_null(p->passes ? p->last_finished_at : 0), "slices",
        (json_int_t)p->slices, "slices_failed", (json_int_t)s->slices_failed);
}

json_t *svc_status(struct svc_state *s)
{
    pthread_mutex_lock(&s->mu);
    double now = svc_wall();
    json_t *next =
        s->continuous && s->next_run_at > 0 && !s->running
            ? json_real(round((s->next_run_at > now ? s->next_run_at - now : 0) * 10) / 10)
            : json_null();
    json_t *last =
        s->hist_n ? svc_run(&s->hist[(s->hist_head + SVC_HISTORY - 1) % SVC_HISTORY]) : json_null();
    json_t *j = json_pack("{s:s,s:b,s:i,s:o,s:o,s:o,s:o}", "state", s->running ? "running" : "idle",
                          "continuous", s->continuous, "interval_seconds", s->interval_seconds,
                          "next_run_in_seconds", next, "current", current_locked(s), "last_run",
                          last, "reconcile_pass", slice_json_locked(s));
    pthread_mutex_unlock(&s->mu);
    return j;
}

static double last_success_locked(const struct svc_state *s)
{
    double last = 0;
    for (int m = 0; m < 3; m++)
        if (s->last_success_at[m] > last)
            last = s->last_success_at[m];
    return last;
}

static json_t *time_or_null(double t)
{
    if (t <= 0)
        return json_null();
    char buf[40];
    svc_fmt_time(buf, sizeof buf, t);
    return json_string(buf);
}

json_t *svc_statistics(struct svc_state *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t total = s->runs_ok + s->runs_failed;
    uint64_t items = s->items_nodes + s->items_rels + s->items_upserted;
    json_t *per_type = json_object();
    for (int i = 0; per_type && i < s->ntypes; i++)
        json_object_set_new(
            per_type, s->types[i].name,
            json_pack(
                "{s:o,s:o}", "neo4j",
                s->count_neo4j[i] >= 0 ? json_integer(s->count_neo4j[i]) : json_null(), "falkordb",
                s->count_falkordb[i] >= 0 ? json_integer(s->count_falkordb[i]) : json_null()));
    json_t *j = json_pack(
        "{s:I,s:I,s:I,s:o,s:o,s:{s:I,s:I,s:I,s:I},s:o,s:o,s:o}", "total_runs", (json_int_t)total,
        "successful_runs", (json_int_t)s->runs_ok, "failed_runs", (json_int_t)s->runs_failed,
        "average_duration_seconds", real3(total ? s->duration_sum / (double)total : 0.0),
        "items_per_second",
        json_real(s->items_seconds > 0 ? round(items / s->items_seconds * 10) / 10 : 0.0), "items",
        "nodes", (json_int_t)s->items_nodes, "relationships", (json_int_t)s->items_rels, "upserted",
        (json_int_t)s->items_upserted, "deleted", (json_int_t)s->items_deleted, "lag_seconds",
        s->lag_seconds >= 0 ? real3(s->lag_seconds) : json_null(), "last_success_at",
        time_or_null(last_success_locked(s)), "per_type", per_type);
    pthread_mutex_unlock(&s->mu);
    return j;
}

json_t *svc_history(struct svc_state *s, int limit)
{
    json_t *runs = json_array();
    pthread_mutex_lock(&s->mu);
    int n = s->hist_n < limit ? s->hist_n : limit;
    for (int i = 0; runs && i < n; i++) {
        int idx = (s->hist_head - 1 - i + 2 * SVC_HISTORY) % SVC_HISTORY;
        json_array_append_new(runs, svc_run(&s->hist[idx]));
    }
    pthread_mutex_unlock(&s->mu);
    return json_pack("{s:o}", "runs", runs);
}

void svc_sync_health(struct svc_state *s, double max_staleness, double stall_seconds,
                     struct svc_sync_health *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&s->mu);
    double now = svc_wall(), mono = svc_mono();
    out->staleness_seconds = now - s->in_step_at;
    if (out->staleness_seconds < 0)
        out->staleness_seconds = 0;
    double sync_quiet = mono - s->sync_alive_at, monitor_quiet = mono - s->monitor_alive_at;
    if (!s->stopping && sync_quiet > stall_seconds) {
        out->wedged = true;
        snprintf(out->why, sizeof out->why, "the sync thread showed no sign of life for %.0f s",
                 sync_quiet);
    } else if (!s->stopping && monitor_quiet > stall_seconds) {
        out->wedged = true;
        snprintf(out->why, sizeof out->why, "the health monitor showed no sign of life for %.0f s",
                 monitor_quiet);
    }
    if (out->wedged) {
        out->ready = false;
    } else if (s->gave_up) {
        snprintf(out->why, sizeof out->why, "the last run failed after every retry (%d attempts)",
                 s->attempt + 1);
    } else if (out->staleness_seconds > max_staleness) {
        snprintf(out->why, sizeof out->why, "the cache was last in step %.0f s ago (limit %.0f s)",
                 out->staleness_seconds, max_staleness);
    } else {
        out->ready = true;
    }
    pthread_mutex_unlock(&s->mu);
    /* A standby keeps nothing fresh itself: it is ready to take over, and the active one
     * answers for the cache's freshness (docs/operations.md, High availability). */
    struct sync_lease_info li;
    if (!out->wedged && s->lease && !sync_lease_active(s->lease)) {
        sync_lease_info(s->lease, &li);
        if (li.holder[0]) { /* another falkorsync holds it (not: FalkorDB unreachable) */
            out->ready = true;
            out->why[0] = 0;
        }
    }
}

json_t *svc_sync_summary(struct svc_state *s, const struct svc_sync_health *sh)
{
    pthread_mutex_lock(&s->mu);
    static const char *const results[] = {"success", "failure", "cancelled"};
    const char *last_result =
        s->hist_n ? results[s->hist[(s->hist_head + SVC_HISTORY - 1) % SVC_HISTORY].result] : NULL;
    json_t *j = json_pack("{s:s,s:b,s:o,s:o,s:o,s:o,s:b,s:o}", "state",
                          s->running ? "running" : "idle", "continuous", s->continuous,
                          "last_result", last_result ? json_string(last_result) : json_null(),
                          "last_success_at", time_or_null(last_success_locked(s)), "lag_seconds",
                          s->lag_seconds >= 0 ? real3(s->lag_seconds) : json_null(),
                          "staleness_seconds", real3(sh->staleness_seconds), "ready", sh->ready,
                          "not_ready_reason", sh->why[0] ? json_string(sh->why) : json_null());
    pthread_mutex_unlock(&s->mu);
    return j;
}
