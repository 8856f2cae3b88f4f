/* The per-run delete check of incremental: keys the cache holds and Neo4j no longer has
 * (and keys the cache misses), found from counts without reading content. */
#ifndef FALKORSYNC_SYNC_DELETES_H
#define FALKORSYNC_SYNC_DELETES_H

#include <signal.h>

#include "bolt/bolt.h"
#include "config/config.h"
#include "sync/fixer.h"
#include "sync/report.h"

struct dc_memo;

/* For each graphiti type: compares Neo4j's count (its count store) with the sum of the
 * cache's counts over the layout's graphs; only for a type that differs, compares per graph
 * (per_group: Neo4j's count of the group) and, where those differ, counts by key prefix on
 * both sides, drilling into prefixes whose counts differ until they are small, then lists the
 * keys of those prefixes on both sides: extras are deleted and missing items upserted through
 * fx (its loader's connection also serves the reads; counted in rep). groups: the layout's
 * (per_group), else NULL. A type whose counts match is not looked at: an extra and a missing
 * item of the same type in one graph cancel out (reconcile finds them). memo: what earlier
 * checks remember (NULL: nothing; the check reads instead). Not thread-safe. */
int sync_deletes_check(const struct cfg *c, struct bolt_session *bolt, struct fixer *fx,
                       char **groups, int ngroups, struct dc_memo *memo,
                       volatile sig_atomic_t *stop, struct sync_report *rep) FS_WARN_UNUSED;

/* What the checks of one process remember of the cache's keys (sync/deletes_memo.c): with
 * it, a type whose counts differ is located by counting remembered keys instead of reading
 * the type's every key from FalkorDB again (each set is read again after 120 s; about 60
 * bytes a key, at most 1M keys a type). NULL from new: out of memory (checks then read). */
struct dc_memo *sync_deletes_memo_new(void);
void sync_deletes_memo_free(struct dc_memo *m);
/* Forgets everything (the cache is being replaced). NULL: nothing. */
void sync_deletes_memo_clear(struct dc_memo *m);

#endif
