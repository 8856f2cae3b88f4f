/* Reading Neo4j: the extraction queries (full, verify, change, watermark) and ONE reader for
 * the records they return (a Node or Relationship, then key and endpoint columns). */
#ifndef FALKORSYNC_SYNC_EXTRACT_H
#define FALKORSYNC_SYNC_EXTRACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bolt/bolt.h"
#include "bolt/pack.h"
#include "sync/gkey.h"
#include "sync/profile.h"
#include "util/buf.h"

#define SYNC_KEY_CAP 512 /* longest item key (uuid or generic key text), NUL included */
/* Caps of the buffers that hold what Neo4j sends: one item's transcoded text (its
 * properties, embeddings included) and a query's text or parameters. */
#define SYNC_ITEM_CAP ((size_t)64 << 20)
#define SYNC_QUERY_CAP ((size_t)1 << 20)
/* ... and a batch of them being built (flushed at a few MB, so this is only reached by an
 * item near SYNC_ITEM_CAP: a clear FS_ETOO_BIG instead of unbounded growth). */
#define SYNC_BATCH_CAP ((size_t)256 << 20)

/* ---- Queries ---- */

/* Full sync (graphiti): every item of t with key > $after (and group $g when by_group), in key
 * order: nodes (n, n.uuid), relationships (r, a.uuid, b.uuid, end label, r.uuid). */
int extract_full_query(struct buf *q, const struct sync_type *t, bool by_group) FS_WARN_UNUSED;
/* Verify (graphiti): the same columns, every item with a key; by_groups: only the items of
 * the groups in list $gs, with the group as one more column (one stream for several graphs:
 * Neo4j walks the type once for them all, instead of once per group). */
int extract_verify_query(struct buf *q, const struct sync_type *t, bool by_groups) FS_WARN_UNUSED;
/* Reconcile slice (graphiti): the verify columns of the items with key in ($after, $upto], or
 * above $after when !bounded. */
int extract_slice_query(struct buf *q, const struct sync_type *t, bool by_groups,
                        bool bounded) FS_WARN_UNUSED;
/* Reconcile slice (graphiti): the key $skip places above $after, in key order (index only;
 * by_groups: among the groups in $gs): where a slice of $skip + 1 items ends. No row: the
 * rest of the type is smaller. */
int extract_slice_bound_query(struct buf *q, const struct sync_type *t,
                              bool by_groups) FS_WARN_UNUSED;
/* Delete check (graphiti): the items of t whose key is in $keys, with the full query's columns. */
int extract_keys_query(struct buf *q, const struct sync_type *t, bool by_group) FS_WARN_UNUSED;
/* The items of t (group $g when by_group) whose key starts with $p (ranged: $p <= key < $hi,
 * the same set when $hi is $p with its last byte incremented, and an index range seek on both
 * databases): by_char, one row per next character of the key ($l: the prefix's length) and
 * its count; else their keys. */
int extract_prefix_query(struct buf *q, const struct sync_type *t, bool by_group, bool ranged,
                         bool old, bool by_char) FS_WARN_UNUSED;
/* When old and t has a birth expression: " AND NOT coalesce(<birth> > $bt, false)", the items
 * born at or before $bt (a DateTime in Neo4j, ISO text in the cache; no time: old). cache:
 * for the cache's pattern ()-[r]->() (an endpoint through startNode/endNode). In FalkorDB it
 * belongs after the key range's WITH: in the range's WHERE it turns the index seek into a
 * scan. */
int extract_old_filter(struct buf *q, const struct sync_type *t, bool old,
                       bool cache) FS_WARN_UNUSED;
/* The cache's "MATCH" of t: a relationship by its type, with the endpoint its birth
 * expression reads named (a or b, by label) when old. */
int extract_cache_match(struct buf *q, const struct sync_type *t, bool old) FS_WARN_UNUSED;
/* Delete check: the first $k characters of t's keys and their counts (Neo4j: group $g when
 * by_group; cache: its pattern), of the old items only when old (extract_old_filter). */
int extract_bucket_query(struct buf *q, const struct sync_type *t, bool by_group, bool old,
                         bool cache) FS_WARN_UNUSED;
/* ", <t's group>": a column appended to a query's RETURN (a relationship's own group, else
 * its source node's). */
int extract_group_column(struct buf *q, const struct sync_type *t) FS_WARN_UNUSED;
/* Delete check: t's keys in the ranges $ps ([[lo, hi], ...], lo <= key < hi), as
 * extract_bucket_query's filters. */
int extract_ranges_query(struct buf *q, const struct sync_type *t, bool by_group, bool old,
                         bool cache) FS_WARN_UNUSED;
/* Neo4j: the keys of t's items (group $g when by_group) born after $bt (an index seek). */
int extract_young_keys_query(struct buf *q, const struct sync_type *t,
                             bool by_group) FS_WARN_UNUSED;
/* Neo4j, every type at once (UNION ALL): rows (c: count, t: i, y: 0) of the whole type (count
 * store) and, for types with a birth expression, (c, t: i, y: 1) of the items born after
 * $bt (an index seek). */
int extract_census_union(struct buf *q, const struct sync_type *types, int ntypes) FS_WARN_UNUSED;
/* The cache, every type with a birth expression at once: rows (t: i, k: key) of the items born
 * after $bt. */
int extract_young_union(struct buf *q, const struct sync_type *types, int ntypes) FS_WARN_UNUSED;
/* Neo4j: the keys of $keys that t's items hold (any group). */
int extract_present_query(struct buf *q, const struct sync_type *t) FS_WARN_UNUSED;
/* The delete check's key histograms of every type at once, one UNION ALL query: for types[i]
 * whose keys are in [$pI, $hI) (prefixes[i] and its extract_histogram_bounds; "" = the whole
 * type, no $hI), per group $g when by_group, rows (t: i, h: 0, b: the key's last two
 * characters, c: count) and (t: i, h: 1, b: the two characters after the prefix, c: count).
 * An extra and a missing key of one type, which leave the counts equal, change both
 * histograms unless they share those four characters. The text depends only on which
 * prefixes are empty (plans are cached on both sides). cache: FalkorDB's pattern
 * (relationships by type alone, no group filter); else Neo4j's. old: only the items
 * extract_old_filter keeps. */
int extract_histogram_union(struct buf *q, const struct sync_type *types, int ntypes,
                            char (*prefixes)[4], bool by_group, bool cache,
                            bool old) FS_WARN_UNUSED;
/* hi (4 bytes): the bound above every key starting with prefix (0-3 hex characters; ""
 * for ""). FS_EINVAL for anything else. */
int extract_histogram_bounds(const char *prefix, char *hi) FS_WARN_UNUSED;
/* The count of t's items (group $g when by_group); without a group, from Neo4j's count store.
 * young (t with a birth expression): of the items born after $bt only. */
int extract_count_query(struct buf *q, const struct sync_type *t, bool by_group,
                        bool young) FS_WARN_UNUSED;
/* Generic: every node (n, key value, element id) or every relationship (r; key value, element
 * id and a label of each endpoint; its own key value and element id), in key order when
 * ordered (verify). */
int extract_generic_query(struct buf *q, const struct sync_type *t, const char *key_property,
                          bool ordered) FS_WARN_UNUSED;
/* The parameter map {after: after, g: group}; each left out when NULL. */
int extract_group_params(struct buf *p, const char *after, const char *group) FS_WARN_UNUSED;
/* A watermark family's "largest change timestamp now" query. */
int extract_max_query(struct buf *q, const struct sync_wm_family *f,
                      const char *group) FS_WARN_UNUSED;

/* Incremental: one change query. Node queries return (n, n.uuid, ts); relationship queries
 * (r, a.uuid, b.uuid, end label, r.uuid, ts): the full query's columns plus the change time.
 * by_groups: only the items of the groups in list $gs, with the group as a column before ts
 * (one query for several graphs of the per_group layout). */
struct extract_change {
    int type;           /* index in sync_graphiti_types */
    const char *family; /* watermark advanced by ts; NULL: touch query (ts is an episode's) */
    const char *since;  /* watermark the query starts from */
    const char *group;  /* the item's group expression */
    const char *cypher; /* %s: the group filter, then %s: the group column */
};
extern const struct extract_change extract_changes[];
extern const int extract_nchanges;
int extract_change_query(struct buf *q, const struct extract_change *cq,
                         bool by_groups) FS_WARN_UNUSED;
/* {since: DateTime(seconds, nanos, UTC), gs: groups[0..ngroups-1] (unless groups is NULL)}. */
int extract_change_params(struct buf *p, int64_t since_s, int64_t since_ns,
                          const char *const *groups, int ngroups) FS_WARN_UNUSED;

/* ---- The record reader ----
 * extract_open, then (nodes) extract_label until it returns 0, then the caller reads the
 * property map at x->r (transcode), then extract_cols. */
struct extract_rec {
    struct pack_reader r; /* positioned at what comes next */
    bool edge;
    uint32_t nfields; /* of the Node or Relationship structure */
    uint32_t nlabels; /* nodes: labels not read yet */
    const char *type; /* edges: the relationship type (points into the record) */
    size_t tlen;
};
int extract_open(struct extract_rec *x, const struct bolt_record *rec, bool edge) FS_WARN_UNUSED;
/* The next label: 1 with *s (not NUL-terminated) and *len, 0 when none is left. */
int extract_label(struct extract_rec *x, const char **s, size_t *len) FS_WARN_UNUSED;
/* Skips the property map (when the caller does not transcode it). */
int extract_skip_props(struct extract_rec *x) FS_WARN_UNUSED;

/* The columns after the entity. */
struct extract_cols {
    char key[SYNC_KEY_CAP];       /* graphiti: the item's uuid; generic: gc.self.str */
    char src[SYNC_KEY_CAP];       /* graphiti relationships: start node's uuid */
    char dst[SYNC_KEY_CAP];       /* end node's uuid */
    char dst_label[SYNC_KEY_CAP]; /* end node's key label */
    struct sync_generic_cols gc;  /* generic: endpoints' and own keys */
    const char *group;            /* a trailing string: the item's group (verify and slices over
                                   * several groups); points into the record; NULL: none */
    size_t glen;
    bool has_ts; /* a trailing DateTime: the change's time (incremental) */
    int64_t ts_s, ts_ns;
};
int extract_cols(struct extract_rec *x, bool generic, struct extract_cols *c) FS_WARN_UNUSED;

/* A record whose first column is a DateTime: 1 with its UTC seconds and nanos, 0 otherwise. */
int extract_read_datetime(const struct bolt_record *rec, int64_t *s, int64_t *ns);

#endif
