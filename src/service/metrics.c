/* Prometheus text format (version 0.0.4): process_* plus falkorsync_* from the service state. */
#include "service/metrics.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "service/sysinfo.h"
#include "version.h"

/* A page is a few KB; the cap only guards against a runaway. */
#define METRICS_MAX_BYTES ((size_t)1 << 20)

static const char *const modes[3] = {"full", "incremental", "reconcile"};

static int head(struct buf *b, const char *name, const char *type, const char *help)
{
    return buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* process_* and the build: the collector conventions every exporter follows. */
static int render_process(struct buf *b, const struct sysinfo_proc *p)
{
    int rc = head(b, "process_cpu_seconds_total", "counter",
                  "Total user and system CPU time spent in seconds.");
    rc = rc ? rc : buf_printf(b, "process_cpu_seconds_total %.3f\n", p->cpu_user + p->cpu_system);
    rc = rc ? rc
            : head(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    rc = rc ? rc : buf_printf(b, "process_resident_memory_bytes %" PRIu64 "\n", p->rss_bytes);
    rc =
        rc ? rc : head(b, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
    rc = rc ? rc : buf_printf(b, "process_virtual_memory_bytes %" PRIu64 "\n", p->vsize_bytes);
    rc = rc ? rc : head(b, "process_open_fds", "gauge", "Number of open file descriptors.");
    rc = rc ? rc : buf_printf(b, "process_open_fds %d\n", p->open_fds);
    rc = rc ? rc : head(b, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
    rc = rc ? rc : buf_printf(b, "process_max_fds %" PRIu64 "\n", p->max_fds);
    rc = rc ? rc
            : head(b, "process_start_time_seconds", "gauge",
                   "Start time of the process since unix epoch in seconds.");
    rc = rc ? rc : buf_printf(b, "process_start_time_seconds %.3f\n", p->start_time);
    rc = rc ? rc : head(b, "process_threads", "gauge", "Number of OS threads in the process.");
    rc = rc ? rc : buf_printf(b, "process_threads %d\n", p->threads);
    rc =
        rc ? rc
           : head(b, "falkorsync_build_info", "gauge", "Build information; the value is always 1.");
    rc = rc ? rc : buf_printf(b, "falkorsync_build_info{version=\"%s\"} 1\n", FALKORSYNC_VERSION);
    return rc;
}

/* Items, runs and their durations, by mode (s->mu held). */
static int render_runs(struct buf *b, const struct svc_state *s)
{
    int rc = 0;
    static const char *const results[3] = {"success", "failure", "cancelled"};
    rc = rc ? rc
            : head(b, "falkorsync_items_synced_total", "counter",
                   "Items written to FalkorDB, by kind and operation.");
    rc = rc ? rc
            : buf_printf(
                  b,
                  "falkorsync_items_synced_total{type=\"node\",operation=\"create\"} %" PRIu64 "\n",
                  s->items_nodes);
    rc = rc ? rc
            : buf_printf(b,
                         "falkorsync_items_synced_total{type=\"relationship\",operation=\"create\"}"
                         " %" PRIu64 "\n",
                         s->items_rels);
    rc = rc ? rc
            : buf_printf(b,
                         "falkorsync_items_synced_total{type=\"any\",operation=\"upsert\"} %" PRIu64
                         "\n",
                         s->items_upserted);
    rc = rc ? rc
            : buf_printf(b,
                         "falkorsync_items_synced_total{type=\"any\",operation=\"delete\"} %" PRIu64
                         "\n",
                         s->items_deleted);
    rc = rc ? rc : head(b, "falkorsync_runs_total", "counter", "Sync runs, by mode and result.");
    for (int m = 0; m < 3; m++)
        for (int r = 0; r < 3; r++)
            rc =
                rc ? rc
                   : buf_printf(b, "falkorsync_runs_total{mode=\"%s\",result=\"%s\"} %" PRIu64 "\n",
                                modes[m], results[r], s->runs_by[m][r]);
    rc = rc ? rc
            : head(b, "falkorsync_run_duration_seconds", "histogram",
                   "Duration of sync runs in seconds.");
    for (int m = 0; m < 3; m++) {
        for (int k = 0; k < SVC_NBUCKETS; k++)
            rc = rc ? rc
                    : buf_printf(
                          b,
                          "falkorsync_run_duration_seconds_bucket{mode=\"%s\",le=\"%g\"} %" PRIu64
                          "\n",
                          modes[m], svc_bucket_bounds[k], s->buckets[m][k]);
        rc = rc ? rc
                : buf_printf(
                      b,
                      "falkorsync_run_duration_seconds_bucket{mode=\"%s\",le=\"+Inf\"} %" PRIu64
                      "\n",
                      modes[m], s->duration_count_by_mode[m]);
        rc = rc ? rc
                : buf_printf(b, "falkorsync_run_duration_seconds_sum{mode=\"%s\"} %.3f\n", modes[m],
                             s->duration_by_mode_sum[m]);
        rc = rc ? rc
                : buf_printf(b, "falkorsync_run_duration_seconds_count{mode=\"%s\"} %" PRIu64 "\n",
                             modes[m], s->duration_count_by_mode[m]);
    }
    return rc;
}

/* The delete checks beside the incremental runs (sync/deleter.h). */
static int render_deletes(struct buf *b, const struct svc_state *s)
{
    int rc = head(b, "falkorsync_delete_checks_total", "counter",
                  "Delete checks run beside the incremental runs, by result.");
    rc = rc ? rc
            : buf_printf(b,
                         "falkorsync_delete_checks_total{result=\"success\"} %" PRIu64 "\n"
                         "falkorsync_delete_checks_total{result=\"failure\"} %" PRIu64 "\n"
                         "falkorsync_delete_checks_total{result=\"cancelled\"} %" PRIu64 "\n",
                         s->delete_checks[0], s->delete_checks[1], s->delete_checks[2]);
    rc = rc ? rc
            : head(b, "falkorsync_delete_check_fixed_total", "counter",
                   "Items delete checks wrote: deleted (gone from Neo4j) or upserted (missing).");
    rc = rc ? rc
            : buf_printf(b,
                         "falkorsync_delete_check_fixed_total{action=\"upserted\"} %" PRIu64 "\n"
                         "falkorsync_delete_check_fixed_total{action=\"deleted\"} %" PRIu64 "\n",
                         s->delete_upserted, s->delete_deleted);
    rc = rc ? rc
            : head(b, "falkorsync_delete_check_last_duration_seconds", "gauge",
                   "How long the last successful delete check took (NaN before the first).");
    if (!rc && s->delete_check_seconds >= 0)
        rc = buf_printf(b, "falkorsync_delete_check_last_duration_seconds %.3f\n",
                        s->delete_check_seconds);
    else if (!rc)
        rc = buf_append_str(b, "falkorsync_delete_check_last_duration_seconds NaN\n");
    return rc;
}

/* Lag, last successes, errors, databases, dropped values, the service itself (s->mu held). */
/* Reconcile slices: the pass in progress and the last whole one. */
static int render_slices(struct buf *b, const struct svc_state *s)
{
    const struct state_slice *p = &s->slice;
    int rc = head(b, "falkorsync_reconcile_slices_total", "counter",
                  "Reconcile slices run between interval runs, by result.");
    rc = rc ? rc
            : buf_printf(b,
                         "falkorsync_reconcile_slices_total{result=\"success\"} %" PRIu64 "\n"
                         "falkorsync_reconcile_slices_total{result=\"failure\"} %" PRIu64 "\n",
                         s->slices_ok, s->slices_failed);
    rc = rc ? rc
            : head(b, "falkorsync_reconcile_slice_fixed_total", "counter",
                   "Items reconcile slices wrote: upserted or deleted.");
    rc = rc ? rc
            : buf_printf(b,
                         "falkorsync_reconcile_slice_fixed_total{action=\"upserted\"} %" PRIu64 "\n"
                         "falkorsync_reconcile_slice_fixed_total{action=\"deleted\"} %" PRIu64 "\n",
                         s->slice_upserted, s->slice_deleted);
    rc = rc ? rc
            : head(b, "falkorsync_reconcile_passes_total", "counter",
                   "Whole reconcile passes completed by slices (stored: survives restarts).");
    rc = rc ? rc : buf_printf(b, "falkorsync_reconcile_passes_total %" PRIu64 "\n", p->passes);
    rc = rc ? rc
            : head(b, "falkorsync_reconcile_pass_in_progress_checked", "gauge",
                   "Items the pass in progress has compared so far.");
    rc = rc ? rc
            : buf_printf(b, "falkorsync_reconcile_pass_in_progress_checked %" PRIu64 "\n",
                         p->active ? p->checked : 0);
    rc = rc ? rc
            : head(b, "falkorsync_reconcile_last_pass_seconds", "gauge",
                   "Wall-clock time of the last whole pass, first slice to last (0: none yet).");
    rc = rc ? rc : buf_printf(b, "falkorsync_reconcile_last_pass_seconds %.3f\n", p->last_seconds);
    rc = rc ? rc
            : head(b, "falkorsync_reconcile_last_pass_fixed", "gauge",
                   "Items the last whole pass found different and fixed.");
    return rc ? rc
              : buf_printf(b, "falkorsync_reconcile_last_pass_fixed %" PRIu64 "\n", p->last_fixed);
}

static int render_state(struct buf *b, const struct svc_state *s)
{
    int rc = 0;
    rc = rc ? rc
            : head(b, "falkorsync_replication_lag_seconds", "gauge",
                   "Age of the oldest change the last incremental run applied (NaN before the "
                   "first).");
    if (s->lag_seconds >= 0)
        rc = rc ? rc : buf_printf(b, "falkorsync_replication_lag_seconds %.3f\n", s->lag_seconds);
    else
        rc = rc ? rc : buf_append_str(b, "falkorsync_replication_lag_seconds NaN\n");
    rc = rc ? rc
            : head(b, "falkorsync_replicas_acked", "gauge",
                   "FalkorDB replicas that acknowledged the last run's writes (WAIT; NaN before "
                   "the first, or with falkordb.wait_replicas 0).");
    if (s->replicas_acked >= 0)
        rc = rc ? rc : buf_printf(b, "falkorsync_replicas_acked %d\n", s->replicas_acked);
    else
        rc = rc ? rc : buf_append_str(b, "falkorsync_replicas_acked NaN\n");
    rc = rc ? rc
            : head(b, "falkorsync_replica_wait_shortfalls_total", "counter",
                   "Runs whose WAIT counted fewer replicas than falkordb.wait_replicas.");
    rc = rc ? rc
            : buf_printf(b, "falkorsync_replica_wait_shortfalls_total %" PRIu64 "\n",
                         s->replica_shortfalls);
    rc = rc ? rc
            : head(b, "falkorsync_last_success_timestamp_seconds", "gauge",
                   "When a run of each mode last succeeded (0: never).");
    for (int m = 0; m < 3; m++)
        rc = rc ? rc
                : buf_printf(b, "falkorsync_last_success_timestamp_seconds{mode=\"%s\"} %.3f\n",
                             modes[m], s->last_success_at[m]);
    rc =
        rc ? rc
           : head(b, "falkorsync_errors_total", "counter", "Failed runs by the stage that failed.");
    rc = rc ? rc
            : buf_printf(b, "falkorsync_errors_total{stage=\"neo4j\"} %" PRIu64 "\n",
                         s->errors_neo4j);
    rc = rc ? rc
            : buf_printf(b, "falkorsync_errors_total{stage=\"falkordb\"} %" PRIu64 "\n",
                         s->errors_falkordb);
    rc = rc ? rc
            : buf_printf(b, "falkorsync_errors_total{stage=\"other\"} %" PRIu64 "\n",
                         s->errors_other);
    rc = rc ? rc
            : head(b, "falkorsync_database_up", "gauge",
                   "Whether the last health check reached the database (1) or not (0).");
    rc = rc ? rc
            : buf_printf(b, "falkorsync_database_up{database=\"neo4j\"} %d\n", s->neo4j_up ? 1 : 0);
    rc = rc ? rc
            : buf_printf(b, "falkorsync_database_up{database=\"falkordb\"} %d\n",
                         s->falkordb_up ? 1 : 0);
    static const char *const reasons[7] = {"nan_or_inf", "bytes",           "nul_in_string",
                                           "point",      "backtick_in_key", "backtick_in_label",
                                           "other"};
    rc = rc ? rc
            : head(b, "falkorsync_dropped_values_total", "counter",
                   "Values FalkorDB cannot hold, left out by a documented rule.");
    for (int i = 0; i < 7; i++)
        rc = rc ? rc
                : buf_printf(b, "falkorsync_dropped_values_total{reason=\"%s\"} %" PRIu64 "\n",
                             reasons[i], s->dropped[i]);
    rc = rc ? rc
            : head(b, "falkorsync_continuous_enabled", "gauge",
                   "Whether interval runs are on (1) or stopped (0).");
    rc = rc ? rc : buf_printf(b, "falkorsync_continuous_enabled %d\n", s->continuous ? 1 : 0);
    if (s->lease) {
        struct sync_lease_info li;
        sync_lease_info(s->lease, &li);
        bool active = sync_lease_active(s->lease);
        rc = rc ? rc
                : head(b, "falkorsync_lease_active", "gauge",
                       "Whether this falkorsync holds the cache's writer lease (1, active) or "
                       "waits as a standby (0).");
        rc = rc ? rc : buf_printf(b, "falkorsync_lease_active %d\n", active ? 1 : 0);
        rc = rc ? rc
                : head(b, "falkorsync_lease_token", "gauge",
                       "The fencing token of the lease's holder as last seen (0: none).");
        rc = rc ? rc : buf_printf(b, "falkorsync_lease_token %lld\n", li.token);
    }
    rc =
        rc ? rc : head(b, "falkorsync_sync_running", "gauge", "Whether a sync run is in progress.");
    rc = rc ? rc : buf_printf(b, "falkorsync_sync_running %d\n", s->running ? 1 : 0);
    rc = rc ? rc : render_slices(b, s);
    rc = rc ? rc : render_deletes(b, s);
    rc = rc ? rc
            : head(b, "falkorsync_http_connections_closed_total", "counter",
                   "HTTP connections the front refused or closed to stay responsive, by reason.");
    rc = rc ? rc
            : buf_printf(
                  b,
                  "falkorsync_http_connections_closed_total{reason=\"refused\"} %" PRIu64 "\n"
                  "falkorsync_http_connections_closed_total{reason=\"evicted\"} %" PRIu64 "\n"
                  "falkorsync_http_connections_closed_total{reason=\"timeout\"} %" PRIu64 "\n"
                  "falkorsync_http_connections_closed_total{reason=\"slow_reader\"} %" PRIu64 "\n",
                  s->http_refused, s->http_evicted, s->http_timeouts, s->ws_dropped);
    return rc;
}

char *metrics_render(struct svc_state *s)
{
    struct sysinfo_proc p;
    sysinfo_read(&p);
    struct buf b;
    buf_init(&b, METRICS_MAX_BYTES);
    int rc = render_process(&b, &p);
    pthread_mutex_lock(&s->mu);
    rc = rc ? rc : render_runs(&b, s);
    rc = rc ? rc : render_state(&b, s);
    pthread_mutex_unlock(&s->mu);
    if (rc) {
        buf_deinit(&b);
        return NULL;
    }
    return buf_detach(&b);
}
