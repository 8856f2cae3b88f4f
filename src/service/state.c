/* Service state: what the sync thread reports and the HTTP threads read, behind one mutex. */
#include "service/state.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log/log.h"

const double svc_bucket_bounds[SVC_NBUCKETS] = {0.05, 0.1, 0.25, 0.5, 1,   2.5,
                                                5,    10,  30,   60,  300, 1800};

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
    for (int i = 0; i < 16; i++)
        s->count_neo4j[i] = s->count_falkordb[i] = -1;
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

static void fmt_time(char *out, size_t cap, double t)
{
    time_t sec = (time_t)t;
    struct tm tm;
    gmtime_r(&sec, &tm);
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, cap - n, ".%03dZ", (int)((t - (double)sec) * 1000));
}

static void emit_locked(struct svc_state *s, const char *event, const char *json_data)
{
    char ts[40];
    fmt_time(ts, sizeof ts, svc_wall());
    struct buf b;
    buf_init(&b, 0);
    if (buf_printf(&b, "{\"event\":\"%s\",\"ts\":\"%s\",\"data\":%s}", event, ts,
                   json_data ? json_data : "{}")) {
        buf_deinit(&b);
        return;
    }
    uint64_t seq = ++s->event_seq; /* the broadcaster looks for event q in slot q % SVC_EVENTS */
    struct svc_event *e = &s->events[seq % SVC_EVENTS];
    free(e->json);
    e->json = buf_detach(&b);
    e->seq = seq;
    pthread_cond_broadcast(&s->cond);
}

void svc_emit(struct svc_state *s, const char *event, const char *json_data)
{
    pthread_mutex_lock(&s->mu);
    emit_locked(s, event, json_data);
    pthread_mutex_unlock(&s->mu);
}

static void state_changed_locked(struct svc_state *s);

static const char *mode_name(enum sync_mode m)
{
    return orch_mode_name(m);
}

int svc_run_json(struct buf *b, const struct svc_run *r)
{
    static const char *const results[] = {"success", "failure", "cancelled"};
    char st[40], fin[40], err[600];
    fmt_time(st, sizeof st, r->started_at);
    fmt_time(fin, sizeof fin, r->finished_at);
    log_json_escape(err, sizeof err, r->error);
    int rc = buf_printf(b,
                        "{\"run_id\":%" PRIu64 ",\"mode\":\"%s\",\"result\":\"%s\",\"started_at\":"
                        "\"%s\",\"finished_at\":\"%s\",\"duration_seconds\":%.3f,\"nodes\":%" PRIu64
                        ",\"relationships\":%" PRIu64 ",\"upserted\":%" PRIu64
                        ",\"deleted\":%" PRIu64 ",\"error\":",
                        r->run_id, mode_name(r->mode), results[r->result], st, fin,
                        r->finished_at - r->started_at, r->nodes, r->relationships, r->upserted,
                        r->deleted);
    if (!rc)
        rc = r->error[0] ? buf_printf(b, "\"%s\"}", err) : buf_append_str(b, "null}");
    return rc;
}

static int current_json_locked(struct svc_state *s, struct buf *b)
{
    if (!s->running)
        return buf_append_str(b, "null");
    char st[40];
    fmt_time(st, sizeof st, s->cur.started_at);
    return buf_printf(b,
                      "{\"run_id\":%" PRIu64 ",\"mode\":\"%s\",\"started_at\":\"%s\","
                      "\"items_done\":%" PRIu64 ",\"items_total\":%" PRIu64 "}",
                      s->cur.run_id, mode_name(s->cur.mode), st, s->items_done, s->items_total);
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
    char d[96];
    snprintf(d, sizeof d, "{\"state\":\"%s\",\"continuous\":%s}", s->running ? "running" : "idle",
             s->continuous ? "true" : "false");
    emit_locked(s, "state_changed", d);
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
    s->items_done = s->items_total = 0;
    char d[160];
    snprintf(d, sizeof d, "{\"run_id\":%" PRIu64 ",\"mode\":\"%s\",\"attempt\":%d}", s->cur.run_id,
             mode_name(mode), attempt + 1);
    emit_locked(s, "sync_started", d);
    state_changed_locked(s);
    pthread_mutex_unlock(&s->mu);
}

static void hk_progress(void *ud, uint64_t done, uint64_t total)
{
    struct svc_state *s = ud;
    pthread_mutex_lock(&s->mu);
    s->items_done = done;
    s->items_total = total;
    double now = svc_wall();
    if (now - s->last_progress_event >= 0.25) { /* at most a few per second */
        s->last_progress_event = now;
        double el = now - s->cur.started_at;
        char d[256];
        snprintf(d, sizeof d,
                 "{\"run_id\":%" PRIu64 ",\"mode\":\"%s\",\"items_done\":%" PRIu64
                 ",\"items_total\":%" PRIu64 ",\"items_per_second\":%.1f}",
                 s->cur.run_id, mode_name(s->cur.mode), done, total, el > 0 ? done / el : 0.0);
        emit_locked(s, "progress", d);
    }
    pthread_mutex_unlock(&s->mu);
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
    if (rc == 0) {
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
        if (strstr(rep->error, "Neo4j"))
            s->errors_neo4j++;
        else if (strstr(rep->error, "FalkorDB"))
            s->errors_falkordb++;
        else
            s->errors_other++;
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
    struct buf b;
    buf_init(&b, 0);
    if (!svc_run_json(&b, r))
        emit_locked(s, rc ? "sync_failed" : "sync_completed", b.data);
    buf_deinit(&b);
    state_changed_locked(s);
    pthread_mutex_unlock(&s->mu);
}

struct orch_hooks svc_hooks(struct svc_state *s)
{
    struct orch_hooks h = {
        .ud = s, .run_started = hk_started, .run_finished = hk_finished, .progress = hk_progress};
    return h;
}

static bool ctl_take(void *ud, enum sync_mode *mode)
{
    struct svc_state *s = ud;
    pthread_mutex_lock(&s->mu);
    bool t = s->trigger_pending;
    if (t) {
        *mode = s->trigger_mode;
        s->trigger_pending = false;
    }
    pthread_mutex_unlock(&s->mu);
    return t;
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
    pthread_mutex_lock(&s->mu);
    s->next_run_at = at;
    pthread_mutex_unlock(&s->mu);
}

struct orch_ctl svc_ctl(struct svc_state *s)
{
    struct orch_ctl c = {
        .ud = s, .take_trigger = ctl_take, .continuous = ctl_continuous, .planned = ctl_planned};
    return c;
}

/* ---- JSON for the API --------------------------------------------------- */

char *svc_status_json(struct svc_state *s)
{
    struct buf b;
    buf_init(&b, 0);
    pthread_mutex_lock(&s->mu);
    double now = svc_wall();
    int rc = buf_printf(&b, "{\"state\":\"%s\",\"continuous\":%s,\"interval_seconds\":%d,",
                        s->running ? "running" : "idle", s->continuous ? "true" : "false",
                        s->interval_seconds);
    if (!rc && s->continuous && s->next_run_at > 0 && !s->running)
        rc = buf_printf(&b, "\"next_run_in_seconds\":%.1f,",
                        s->next_run_at > now ? s->next_run_at - now : 0.0);
    else if (!rc)
        rc = buf_append_str(&b, "\"next_run_in_seconds\":null,");
    rc = rc ? rc : buf_append_str(&b, "\"current\":");
    rc = rc ? rc : current_json_locked(s, &b);
    rc = rc ? rc : buf_append_str(&b, ",\"last_run\":");
    if (!rc && s->hist_n)
        rc = svc_run_json(&b, &s->hist[(s->hist_head + SVC_HISTORY - 1) % SVC_HISTORY]);
    else if (!rc)
        rc = buf_append_str(&b, "null");
    rc = rc ? rc : buf_append_str(&b, "}");
    pthread_mutex_unlock(&s->mu);
    if (rc) {
        buf_deinit(&b);
        return NULL;
    }
    return buf_detach(&b);
}

char *svc_statistics_json(struct svc_state *s)
{
    struct buf b;
    buf_init(&b, 0);
    pthread_mutex_lock(&s->mu);
    uint64_t total = s->runs_ok + s->runs_failed;
    uint64_t items = s->items_nodes + s->items_rels + s->items_upserted;
    int rc = buf_printf(
        &b,
        "{\"total_runs\":%" PRIu64 ",\"successful_runs\":%" PRIu64 ",\"failed_runs\":%" PRIu64
        ",\"average_duration_seconds\":%.3f,\"items_per_second\":%.1f,\"items\":{\"nodes\":%" PRIu64
        ",\"relationships\":%" PRIu64 ",\"upserted\":%" PRIu64 ",\"deleted\":%" PRIu64 "},",
        total, s->runs_ok, s->runs_failed, total ? s->duration_sum / (double)total : 0.0,
        s->items_seconds > 0 ? items / s->items_seconds : 0.0, s->items_nodes, s->items_rels,
        s->items_upserted, s->items_deleted);
    if (!rc)
        rc = s->lag_seconds >= 0 ? buf_printf(&b, "\"lag_seconds\":%.3f,", s->lag_seconds)
                                 : buf_append_str(&b, "\"lag_seconds\":null,");
    double last = 0;
    for (int m = 0; m < 3; m++)
        if (s->last_success_at[m] > last)
            last = s->last_success_at[m];
    if (!rc && last > 0) {
        char t[40];
        fmt_time(t, sizeof t, last);
        rc = buf_printf(&b, "\"last_success_at\":\"%s\",", t);
    } else if (!rc) {
        rc = buf_append_str(&b, "\"last_success_at\":null,");
    }
    rc = rc ? rc : buf_append_str(&b, "\"per_type\":{");
    for (int i = 0; !rc && i < s->ntypes; i++) {
        rc = buf_printf(&b, "%s\"%s\":{\"neo4j\":", i ? "," : "", s->types[i].name);
        if (!rc)
            rc = s->count_neo4j[i] >= 0 ? buf_printf(&b, "%" PRId64, s->count_neo4j[i])
                                        : buf_append_str(&b, "null");
        rc = rc ? rc : buf_append_str(&b, ",\"falkordb\":");
        if (!rc)
            rc = s->count_falkordb[i] >= 0 ? buf_printf(&b, "%" PRId64, s->count_falkordb[i])
                                           : buf_append_str(&b, "null");
        rc = rc ? rc : buf_append_str(&b, "}");
    }
    rc = rc ? rc : buf_append_str(&b, "}}");
    pthread_mutex_unlock(&s->mu);
    if (rc) {
        buf_deinit(&b);
        return NULL;
    }
    return buf_detach(&b);
}

char *svc_history_json(struct svc_state *s, int limit)
{
    struct buf b;
    buf_init(&b, 0);
    pthread_mutex_lock(&s->mu);
    int rc = buf_append_str(&b, "{\"runs\":[");
    int n = s->hist_n < limit ? s->hist_n : limit;
    for (int i = 0; !rc && i < n; i++) {
        int idx = (s->hist_head - 1 - i + 2 * SVC_HISTORY) % SVC_HISTORY;
        if (i)
            rc = buf_append_byte(&b, ',');
        rc = rc ? rc : svc_run_json(&b, &s->hist[idx]);
    }
    rc = rc ? rc : buf_append_str(&b, "]}");
    pthread_mutex_unlock(&s->mu);
    if (rc) {
        buf_deinit(&b);
        return NULL;
    }
    return buf_detach(&b);
}
