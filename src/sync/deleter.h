/* The continuous loop's delete check on a thread and connections of its own, so that adds and
 * updates never wait behind it: an incremental run of `serve` applies changes only, while this
 * thread finds what Neo4j deleted (sync/deletes.h) once per interval. */
#ifndef FALKORSYNC_SYNC_DELETER_H
#define FALKORSYNC_SYNC_DELETER_H

#include <signal.h>
#include <stdbool.h>

#include "config/config.h"
#include "sync/report.h"

struct dc_memo;

/* One delete check on connections of its own: the graphs that exist in the cache (single: the
 * live graph; per_group: the groups incremental has synced, falkorsync:groups:<database>), so
 * that it never creates a graph a full sync is building. Nothing to check: 0, rep->graphs 0.
 * memo: what earlier checks remember of the cache's keys (sync/deletes.h; NULL: nothing). */
int sync_deletes_run(const struct cfg *c, struct dc_memo *memo, volatile sig_atomic_t *stop,
                     struct sync_report *rep) FS_WARN_UNUSED;

struct sync_deleter;

struct sync_deleter_hooks {
    void *ud;
    /* whether checks happen now (the continuous switch); NULL: always */
    bool (*enabled)(void *ud);
    /* after every check, on the deleter's thread */
    void (*finished)(void *ud, int rc, const struct sync_report *rep);
};

/* Starts the thread: a check every sync.interval_seconds (start to start; a check that takes
 * longer is followed by the next at once). *cancel (a run's stop flag) or *stop (the loop's;
 * either may be NULL) set: the check in progress ends cancelled within 20 ms plus its own
 * answer to a stop, and none starts until they are cleared. NULL: out of memory or no thread
 * (the caller checks inline instead). */
struct sync_deleter *sync_deleter_start(const struct cfg *c, volatile sig_atomic_t *cancel,
                                        volatile sig_atomic_t *stop,
                                        const struct sync_deleter_hooks *hooks);

/* Whether a check is in progress (the loop clears *cancel only when none is). */
bool sync_deleter_busy(struct sync_deleter *d);

/* on: no new check starts, and returns once the one in progress (if any) has ended (full and
 * reconcile runs replace what a check would look at); off: checks go on. */
void sync_deleter_hold(struct sync_deleter *d, bool on);

/* Stops the thread (a check in progress ends when *cancel is set, or at its end) and frees d. */
void sync_deleter_stop(struct sync_deleter *d);

#endif
