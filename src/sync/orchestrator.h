/* Continuous sync: full on startup or empty cache, incremental every interval, reconcile slices
 * between runs, retries. */
#ifndef FALKORSYNC_ORCHESTRATOR_H
#define FALKORSYNC_ORCHESTRATOR_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "sync/report.h"
#include "sync/state.h"

enum sync_mode { MODE_FULL, MODE_INCREMENTAL, MODE_RECONCILE };

/* Called after every run (for metrics, history, events). Runs on the sync thread. */
struct orch_hooks {
    void *ud;
    void (*run_started)(void *ud, enum sync_mode mode, int attempt);
    void (*run_finished)(void *ud, enum sync_mode mode, int rc, const struct sync_report *rep,
                         double lag_seconds);
    void (*progress)(void *ud, uint64_t done, uint64_t total);
    /* after each reconcile slice (rc 0, an error or FS_ECANCELLED); pos: where the pass is
     * now and what the last whole pass found */
    void (*slice_finished)(void *ud, int rc, const struct state_slice *pos,
                           const struct sync_report *rep);
    /* after each delete check of the deleter thread (rc 0, an error or FS_ECANCELLED); runs
     * on that thread */
    void (*deletes_finished)(void *ud, int rc, const struct sync_report *rep);
};

/* How the service steers the loop (all optional). */
struct orch_ctl {
    void *ud;
    /* true (and *mode set) when a manual run was requested; consumes it */
    bool (*take_trigger)(void *ud, enum sync_mode *mode);
    /* whether interval runs happen now (POST /api/sync/start|stop) */
    bool (*continuous)(void *ud);
    /* the time of the next planned run (wall clock seconds; 0 none) */
    void (*planned)(void *ud, double next_run_at);
    /* set: the run in progress ends as cancelled (runs watch this flag instead of the loop's
     * stop, which must set it too); cleared by the loop between runs. NULL: runs watch stop. */
    volatile sig_atomic_t *cancel;
    /* the process is stopping (SIGTERM), or NULL: the loop ends at once. The loop's own stop
     * can lag behind it (under a lease, a watcher thread passes it on), and a cancel seen
     * between runs would otherwise be cleared as stale, letting one more run and slice start. */
    volatile sig_atomic_t *shutdown;
};

/* Runs one mode with retries (exponential backoff with jitter from
 * sync.retry_delay_seconds, capped at sync.retry_max_delay_seconds, at most
 * sync.max_retries retries; none after FS_EFDB_OOM: the next interval tries again). Sleeps wake up
 * early when *stop is set. keep: what the loop keeps across runs (NULL: nothing); its applied
 * set is updated by incremental runs. */
struct orch_keep {
    struct sync_applied *applied;   /* what incremental applied (sync/applied.h; NULL: none) */
    bool deletes_elsewhere;         /* incremental leaves deletes to the deleter thread */
    struct sync_group_list *groups; /* per_group: the group list across runs (NULL: none) */
};
int orch_run(const struct cfg *c, enum sync_mode mode, volatile sig_atomic_t *stop,
             const struct orch_hooks *hooks, const struct orch_keep *keep, struct sync_report *rep,
             double *lag) FS_WARN_UNUSED;

/* The continuous loop until *stop: full sync when asked on startup or when the
 * cache is empty, then incremental every interval (its delete check on a thread of its own,
 * sync/deleter.h, once per interval: adds and updates never wait for it), and after every
 * sync.reconcile_every-th interval run a reconcile slice of orch_slice_budget seconds (graphiti
 * profile; the pass resumes where the last slice ended, across restarts). Returns 0 on a clean
 * stop. */
int orch_loop(const struct cfg *c, volatile sig_atomic_t *stop, const struct orch_hooks *hooks,
              const struct orch_ctl *ctl);

/* An incremental run as the CLI and the loop ask for it: an empty cache (layout single) gets
 * a full sync instead (rep->did_full), the generic profile (no change timestamps to follow)
 * a reconcile; otherwise the changes since the watermarks (sync/incremental.h). */
int sync_incremental(const struct cfg *c, const struct sync_opts *o, struct sync_report *rep,
                     double *lag_seconds) FS_WARN_UNUSED;

/* The delay before retry `attempt` (0-based): base * 2^attempt, capped at max, times
 * (0.5 + 0.5 * jitter) with jitter in [0, 1). Pure. */
double orch_backoff(double base, double max, int attempt, double jitter);

/* Sleeps up to seconds, returning early when *stop becomes set. */
void orch_sleep(double seconds, volatile sig_atomic_t *stop);

/* The time budget of one reconcile slice: sync.reconcile_slice_ms, or when 0 a quarter of the
 * interval (at least 0.1 s). Pure. */
double orch_slice_budget(const struct cfg *c);

struct state_slice;
/* Whether the next reconcile slice is due at wall clock now: sync.reconcile_pass_seconds
 * paces a pass over that time (the last pass's item count spread evenly, a new pass a pass
 * time after the last one began), so an idle graph is not compared over and over; 0, or no
 * pass completed yet: always. Pure. */
bool orch_slice_due(const struct cfg *c, const struct state_slice *pos, double now);

const char *orch_mode_name(enum sync_mode m);

#endif
