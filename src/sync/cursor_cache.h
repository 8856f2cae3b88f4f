/* The FalkorDB side of a comparison: the cached items of one type, in key order.
 * The cache is read in pages of internal-id ranges (nodes, or the start nodes of
 * relationships, whose ids are in [lo, hi): a label-and-id scan, no sort beyond the page,
 * so reading a type is linear in its size), and sorted by key on disk (xsort) so it merges
 * with Neo4j's key-ordered stream. Memory stays bounded: one page of replies (a few thousand
 * rows, a few hundred when they hold vectors; held in one arena, falkor/arena.h) plus the sort
 * buffer. On one server the next page's query is sent before a page is fingerprinted. */
#ifndef FALKORSYNC_SYNC_CURSOR_CACHE_H
#define FALKORSYNC_SYNC_CURSOR_CACHE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "falkor/arena.h"
#include "falkor/fdb.h"
#include "sync/fingerprint.h"
#include "sync/profile.h"
#include "util/xsort.h"

/* A graph's names of one kind (label, relationship type or property key), by id: pages
 * name them by id (the compact form of a whole node or relationship, which FalkorDB
 * builds for about 40% less CPU than a properties() map), and db.labels(),
 * db.relationshipTypes() and db.propertyKeys() list them in id order. */
struct cache_names {
    char **v;
    size_t n;
};

/* A graph's three lists. */
struct cache_lists {
    struct cache_names labels, types, keys;
};
/* Frees the lists (empty again). */
void cache_lists_clear(struct cache_lists *l);

struct cache_cursor {
    struct fdb_conn *fdb; /* borrowed */
    const char *graph;
    const struct sync_type *t;
    bool generic;
    const char *kp; /* generic: sync.key_property */
    struct xsort xs;
    bool loaded;
    const char *key_lo, *key_hi; /* cache_cursor_range; NULL: unbounded */
    /* the next page: ids [lo, hi), up to max_id; the next range's width; rows per page */
    int64_t lo, hi, width, max_id;
    int target;
    bool vectors; /* a page held vectors: pages stay small */
    /* edges: a page ends after target rows, maybe inside one start node's relationships;
     * then the next page reads the rest of that node's (last_id) after last_rel */
    bool in_source;
    int64_t last_id, last_rel;
    bool done;
    struct buf tmp, head, q, rec;
    struct fdb_arena arena;        /* the current page's reply */
    bool sent;                     /* the next page's query is sent, its reply not read yet */
    volatile sig_atomic_t *stop;   /* set: loading stops between pages (FS_ECANCELLED); or NULL */
    volatile sig_atomic_t *cancel; /* the same, for the owner's own flag (sync/prefetch.c) */
    /* Reconcile slices (graphiti profile): only keys in (after, upto] (upto NULL: no upper
     * bound), found by the uuid range index, paged by id. after NULL: the whole type. */
    const char *after, *upto;
    struct cache_lists *lists;    /* fetched when a page names an id they lack: own_lists, or */
    struct cache_lists own_lists; /* the caller's (cursors of one graph, one after another) */
    int64_t kid_key, kid_nid;     /* the key property's id and _neo4j_id's; -1 */
    bool whole; /* pages return whole entities (one server), else columns (a cluster) */
};

void cache_cursor_init(struct cache_cursor *c, struct fdb_conn *fdb, const char *graph,
                       const struct sync_type *t, bool generic, const char *key_property);
void cache_cursor_deinit(struct cache_cursor *c);
/* This cursor is one of ways held at once (a comparison of one stream with several graphs):
 * its sort buffer is a share of what one cursor may hold, so the set stays bounded. Before
 * the first next. */
void cache_cursor_share(struct cache_cursor *c, int ways);
/* The cursor names ids from l (borrowed; the graph's, and of no cursor in use on another
 * thread) and adds to it what it fetches: cursors of one graph, one after another, fetch the
 * lists once (ids only grow). Before the first next. */
void cache_cursor_use_lists(struct cache_cursor *c, struct cache_lists *l);
/* Only the items whose key k is lo <= k < hi (either NULL: unbounded; both borrowed until
 * deinit), for a comparison in key-range slices. The pages still cover the whole type (a
 * filter on each page), so a slice costs FalkorDB a scan of the type. Before the first
 * next; graphiti profile only (FS_EINVAL otherwise). */
int cache_cursor_range(struct cache_cursor *c, const char *lo, const char *hi) FS_WARN_UNUSED;
/* Reads the whole type into the sorter (what the first cache_cursor_next does): 0, or <0 (why
 * in err). Not thread-safe on one cursor; cursors on their own connections may load in
 * parallel. */
int cache_cursor_load(struct cache_cursor *c, char *err, size_t errlen) FS_WARN_UNUSED;
/* The next cached item in key order: 1 with *out, 0 at the end, <0 (why in err). The first
 * call reads the whole type into the sorter. A graph that does not exist holds nothing. */
int cache_cursor_next(struct cache_cursor *c, struct sync_item *out, char *err,
                      size_t errlen) FS_WARN_UNUSED;

#endif
