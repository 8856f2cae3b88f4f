/* The cache side of a whole comparison read ahead: a thread of its own, on a FalkorDB
 * connection of its own, loads the cached items of the next (graph, type) pairs of a run into
 * cache cursors while the caller merges the current ones with Neo4j's stream, so that reading
 * FalkorDB overlaps reading Neo4j instead of alternating with it. The graphs go in sets of
 * `fan` (the graphs one Neo4j stream is compared with, sync/verify.c): a set's first type in
 * each of its graphs, then its second type, and so on. At most PREFETCH_DEPTH cursors exist
 * at once (those being merged and those read ahead), and no new one is started while those
 * read ahead hold PREFETCH_MEM bytes or more in memory (each holds at most its sort buffer,
 * sync/cursor_cache.c; beyond it the sort spills to disk). */
#ifndef FALKORSYNC_SYNC_PREFETCH_H
#define FALKORSYNC_SYNC_PREFETCH_H

#include <signal.h>
#include <stdbool.h>

#include "config/config.h"
#include "falkor/fdb.h"
#include "sync/cursor_cache.h"

#define PREFETCH_FAN 16                 /* the most graphs in a set */
#define PREFETCH_DEPTH 32               /* a set's cursors of one type and more read ahead */
#define PREFETCH_MEM ((size_t)32 << 20) /* bytes held by the cursors read ahead */

struct prefetch;

/* The (graph, type) of job j when the graphs go in sets of fan (1..PREFETCH_FAN) out of
 * ngraphs: graph *g (an index for sync_target) and type *t of ntypes. */
void prefetch_job_target(int j, int fan, int ngraphs, int ntypes, int *g, int *t);
/* Jobs 0..njobs-1 are those of prefetch_job_target over the graphs of sync_target (groups
 * borrowed until prefetch_free) and c's profile's types. Connects (fc) and starts the
 * thread. NULL with *rc and err on failure. stop (or NULL) cancels loading between pages. */
struct prefetch *prefetch_new(const struct cfg *c, const struct fdb_config *fc, char **groups,
                              int ngroups, int fan, volatile sig_atomic_t *stop, int *rc, char *err,
                              size_t errlen);
/* The loaded cursor of job: waits until it is loaded. Jobs are taken in order, each once;
 * at most fan are held before they are released. 0 with *out (owned by the prefetcher until
 * prefetch_release), or the load's error (<0, why in err). Caller's thread only. */
int prefetch_take(struct prefetch *p, int job, struct cache_cursor **out, char *err,
                  size_t errlen) FS_WARN_UNUSED;
/* The caller is done with the cursors of job and of every job before it. stale: the cache
 * was written since (a reconcile fixed something), so what was read ahead beyond job is
 * thrown away and read again. */
void prefetch_release(struct prefetch *p, int job, bool stale);
/* Stops the thread (a load in progress ends at its next page) and frees everything;
 * NULL is a no-op. */
void prefetch_free(struct prefetch *p);

#endif
