/* The cache side of a whole comparison read ahead: a thread of its own, on a FalkorDB
 * connection of its own, loads the cached items of the next (graph, type) pairs of a run into
 * cache cursors while the caller merges the current pair with Neo4j's stream, so that reading
 * FalkorDB overlaps reading Neo4j instead of alternating with it. At most PREFETCH_DEPTH
 * cursors exist at once (the one being merged and those read ahead), and no new one is
 * started while those read ahead hold PREFETCH_MEM bytes or more in memory (each holds at most
 * its sort buffer, sync/cursor_cache.c; beyond it the sort spills to disk). */
#ifndef FALKORSYNC_SYNC_PREFETCH_H
#define FALKORSYNC_SYNC_PREFETCH_H

#include <signal.h>
#include <stdbool.h>

#include "config/config.h"
#include "falkor/fdb.h"
#include "sync/cursor_cache.h"

#define PREFETCH_DEPTH 10               /* a graph's types and one more */
#define PREFETCH_MEM ((size_t)32 << 20) /* bytes held by the cursors read ahead */

struct prefetch;

/* Jobs 0..njobs-1 are graph g = job / ntypes (sync_target over groups, borrowed until
 * prefetch_free) and type job % ntypes of c's profile. Connects (fc) and starts the thread.
 * NULL with *rc and err on failure. stop (or NULL) cancels loading between pages. */
struct prefetch *prefetch_new(const struct cfg *c, const struct fdb_config *fc, char **groups,
                              int ngroups, volatile sig_atomic_t *stop, int *rc, char *err,
                              size_t errlen);
/* The loaded cursor of job (jobs are taken in order, each once, and released before the
 * next): waits until it is loaded. 0 with *out (owned by the prefetcher until
 * prefetch_release), or the load's error (<0, why in err). Caller's thread only. */
int prefetch_take(struct prefetch *p, int job, struct cache_cursor **out, char *err,
                  size_t errlen) FS_WARN_UNUSED;
/* The caller is done with job's cursor. stale: the cache was written since (a reconcile
 * fixed something), so what was read ahead beyond job is thrown away and read again. */
void prefetch_release(struct prefetch *p, int job, bool stale);
/* Stops the thread (a load in progress ends at its next page) and frees everything;
 * NULL is a no-op. */
void prefetch_free(struct prefetch *p);

#endif
