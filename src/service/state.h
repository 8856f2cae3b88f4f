/* Service state shared by the sync thread and the HTTP threads: status, history, statistics,
 * metrics, events. */
#ifndef FALKORSYNC_STATE_H
#define FALKORSYNC_STATE_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "sync/report.h"
#include "sync/target.h"
#include "sync/orchestrator.h"
#include "sync/profile.h"
#include "sync/state.h"
#include "sync/lease.h"
#include <jansson.h>

#include "util/buf.h"

#define SVC_HISTORY 200
#define SVC_EVENTS 256
#define SVC_SERIES 120
#define SVC_NBUCKETS 12

struct svc_run {
    uint64_t run_id;
    enum sync_mode mode;
    int result;                     /* 0 success, 1 failure, 2 cancelled */
    double started_at, finished_at; /* wall clock seconds */
    uint64_t nodes, relationships, upserted, deleted;
    char error[256];
};

struct svc_event {
    uint64_t seq;
    char *json; /* one whole message */
};

/* Everything below is guarded by mu. All functions are thread-safe. */
struct svc_state {
    pthread_mutex_t mu;
    pthread_cond_t cond; /* signalled on triggers and new events */
    double started_wall; /* process start, wall clock */
    bool continuous;
    /* set by svc_cancel_run: the run in progress ends as cancelled (orch_ctl.cancel; the
     * signal handler sets it too). NULL: runs cannot be cancelled from the API. */
    volatile sig_atomic_t *cancel_run;
    int interval_seconds;
    double next_run_at; /* wall clock, 0 when none planned */
    /* current run */
    bool running;
    bool cur_reserved; /* cur was set up by a trigger the sync thread has not started yet */
    struct svc_run cur;
    uint64_t items_done, items_total;
    double last_progress_event;
    /* a manual trigger waiting for the sync thread */
    bool trigger_pending;
    enum sync_mode trigger_mode;
    uint64_t next_run_id;
    /* history (ring, newest at hist_head - 1) */
    struct svc_run hist[SVC_HISTORY];
    int hist_n, hist_head;
    /* statistics */
    uint64_t runs_ok, runs_failed, runs_by[3][3]; /* [mode][result] */
    double duration_sum, duration_by_mode_sum[3];
    uint64_t duration_count_by_mode[3];
    uint64_t buckets[3][SVC_NBUCKETS]; /* run-duration histogram per mode */
    uint64_t items_nodes, items_rels, items_upserted, items_deleted;
    uint64_t dropped[8];
    uint64_t errors_neo4j, errors_falkordb, errors_other;
    /* readiness: when the cache was last in step (start of the last successful
     * run; process start before any), and whether the last run failed for good */
    double in_step_at;
    bool last_failed, gave_up;
    int attempt, max_retries;
    /* liveness: when the sync thread and the monitor last showed signs of life (monotonic s) */
    double sync_alive_at, monitor_alive_at;
    /* the HTTP front: connections refused or closed by the limits, slow readers dropped */
    uint64_t http_refused, http_evicted, http_timeouts, ws_dropped;
    double items_seconds; /* seconds spent in successful runs */
    double lag_seconds;   /* -1 unknown */
    /* falkordb.wait_replicas: replicas that acknowledged the last WAIT (-1: none yet), and the
     * runs whose WAIT counted fewer than wanted */
    int replicas_acked;
    uint64_t replica_shortfalls;
    double last_success_at[3];
    /* database health, from the last check */
    bool neo4j_up, falkordb_up;
    double neo4j_ms, falkordb_ms;
    char neo4j_err[256], falkordb_err[256];
    double health_checked_at;
    /* per-type counts on both sides (refreshed on demand, cached) */
    int64_t count_neo4j[16], count_falkordb[16];
    const struct sync_type *types; /* the profile's types, named in per_type */
    int ntypes;
    double counts_at;
    /* series for the dashboard */
    double rate_series[SVC_SERIES], lag_series[SVC_SERIES];
    int series_n;
    /* reconcile slices: where the pass is, the last whole pass, totals */
    struct state_slice slice;
    bool have_slice;
    uint64_t slices_ok, slices_failed, slice_upserted, slice_deleted;
    /* the delete checks of the deleter thread: by result [success, failure, cancelled], what
     * they wrote, the last one's duration (-1 none yet) */
    uint64_t delete_checks[3], delete_upserted, delete_deleted;
    double delete_check_seconds;
    /* events for WebSocket clients */
    struct svc_event events[SVC_EVENTS];
    uint64_t event_seq;
    bool stopping;
    /* serve's writer lease (service/ha.h; borrowed, thread-safe on its own; NULL: none) */
    struct sync_lease *lease;
};

extern const double svc_bucket_bounds[SVC_NBUCKETS];

void svc_state_init(struct svc_state *s, bool continuous, int interval_seconds);
void svc_state_deinit(struct svc_state *s);

/* Requests a manual run. Returns 0 (run_id in *run_id), or FS_ESTATE when a
 * run is in progress or already requested. */
int svc_trigger(struct svc_state *s, enum sync_mode mode, uint64_t *run_id) FS_WARN_UNUSED;
/* Turns continuous sync on/off (emits state_changed). */
void svc_set_continuous(struct svc_state *s, bool on);

/* Cancels the run in progress, if any (POST /api/sync/stop): it ends within moments as
 * cancelled, its state resumable. Returns whether a run was in progress. */
bool svc_cancel_run(struct svc_state *s);

/* Appends a WebSocket event; data is an object (takes ownership; NULL = {}). */
void svc_emit(struct svc_state *s, const char *event, json_t *data);

/* Hooks for orch_loop (ud = struct svc_state *). */
struct orch_hooks svc_hooks(struct svc_state *s);
struct orch_ctl svc_ctl(struct svc_state *s);

/* JSON renderings for the API (new references, the caller decrefs; NULL on
 * out of memory). Thread-safe. */
json_t *svc_status(struct svc_state *s);
json_t *svc_statistics(struct svc_state *s);
json_t *svc_history(struct svc_state *s, int limit);
/* One run (lock held by the caller, or a copied run). */
json_t *svc_run(const struct svc_run *r);

/* Freshness as /health and /health/ready report it. */
struct svc_sync_health {
    bool ready;               /* in step within max_staleness, and not given up */
    bool wedged;              /* the sync thread or the monitor stopped showing signs of life */
    double staleness_seconds; /* now - in_step_at */
    char why[160];            /* why not ready / wedged, "" otherwise */
};
/* max_staleness in seconds; stall_seconds: no sign of life for this long means wedged. */
void svc_sync_health(struct svc_state *s, double max_staleness, double stall_seconds,
                     struct svc_sync_health *out);
/* The "sync" object of /health (state, last success, lag, staleness). */
json_t *svc_sync_summary(struct svc_state *s, const struct svc_sync_health *sh);

/* Wall clock and monotonic seconds. */
double svc_wall(void);
double svc_mono(void);
/* ISO-8601 UTC with milliseconds. */
void svc_fmt_time(char *out, size_t cap, double t);

#endif
