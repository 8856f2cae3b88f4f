/* The FalkorDB side of a comparison: the cached items of one type, in key order.
 * The cache is read in FalkorDB's internal-id order, which it serves by id seek (a range of
 * uuids is a full index scan per page there), and sorted by key on disk (xsort) so it merges
 * with Neo4j's key-ordered stream. Memory stays bounded: one page of replies plus the sort
 * buffer. */
#ifndef FALKORSYNC_SYNC_CURSOR_CACHE_H
#define FALKORSYNC_SYNC_CURSOR_CACHE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "falkor/fdb.h"
#include "sync/fingerprint.h"
#include "sync/profile.h"
#include "util/xsort.h"

struct cache_cursor {
    struct fdb_conn *fdb; /* borrowed */
    const char *graph;
    const struct sync_type *t;
    bool generic;
    const char *kp; /* generic: sync.key_property */
    struct xsort xs;
    bool loaded;
    int64_t last_id;
    /* edges: a page ends after a fixed count of rows, maybe inside one start node's
     * relationships; then the next page reads the rest of that node's */
    bool in_source;
    int64_t last_rel;
    bool done;
    struct fp_props props;
    struct buf tmp, head, q, rec;
    volatile sig_atomic_t *stop; /* set: loading stops between pages (FS_ECANCELLED); or NULL */
    /* Reconcile slices (graphiti profile): only keys in (after, upto] (upto NULL: no upper
     * bound), found by the uuid range index, paged by id. after NULL: the whole type. */
    const char *after, *upto;
};

void cache_cursor_init(struct cache_cursor *c, struct fdb_conn *fdb, const char *graph,
                       const struct sync_type *t, bool generic, const char *key_property);
void cache_cursor_deinit(struct cache_cursor *c);
/* The next cached item in key order: 1 with *out, 0 at the end, <0 (why in err). The first
 * call reads the whole type into the sorter. A graph that does not exist holds nothing. */
int cache_cursor_next(struct cache_cursor *c, struct sync_item *out, char *err,
                      size_t errlen) FS_WARN_UNUSED;

#endif
