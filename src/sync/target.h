/* Where a sync writes: the cache graphs of a layout (single or per group), the names of their
 * shadow, old, checkpoint and watermark keys, and the list of groups on both sides. */
#ifndef FALKORSYNC_SYNC_TARGET_H
#define FALKORSYNC_SYNC_TARGET_H

#include <stdbool.h>
#include <stddef.h>

#include "bolt/bolt.h"
#include "config/config.h"
#include "falkor/fdb.h"
#include "sync/report.h"

#define SYNC_GRAPH_CAP 300
#define SYNC_KEY_NAME_CAP 320

/* The keys that belong to one live cache graph. */
struct sync_names {
    char live[SYNC_GRAPH_CAP];
    char shadow[SYNC_GRAPH_CAP];  /* full sync builds here, then renames it to live */
    char old[SYNC_GRAPH_CAP];     /* the previous live graph during the swap */
    char ckpt[SYNC_KEY_NAME_CAP]; /* full sync's checkpoint hash */
    char wm[SYNC_KEY_NAME_CAP];   /* incremental's watermark hash */
};
void sync_names_of(const char *live, struct sync_names *n);
/* The names as c's FalkorDB wants them: sync_names_of on one server; with
 * falkordb.cluster, every key carries live's hash tag so that the swap's
 * RENAMEs and MULTI/EXEC stay in one slot: live "alpha" has shadow
 * "{alpha}__falkorsync_shadow", old "{alpha}__falkorsync_old", checkpoint
 * "falkorsync:ckpt:{alpha}", watermarks "falkorsync:wm:{alpha}". A live name
 * with its own tag keeps the one-server names (they carry it); a name with a
 * '}' and no tag gets a short tag of the same slot. */
void sync_names_for(const struct cfg *c, const char *live, struct sync_names *n);

/* Graphiti's FalkorDB driver: the default group id (get_default_group_id,
 * FalkorDriver.default_group_id) and the graph it lives in (the driver's
 * default database; FalkorDriver.clone('_') always returns to it). Neo4j's
 * default group '' is cached under these (docs/mapping.md). */
#define SYNC_FALKOR_DEFAULT_GROUP "_"
#define SYNC_FALKOR_DEFAULT_GRAPH "default_db"

/* The FalkorDB graph that holds group in layout per_group: the group_id
 * itself, as Graphiti 0.23+ reads it; Neo4j's default group "" (and "_") go
 * to SYNC_FALKOR_DEFAULT_GRAPH. Writes into out (cap bytes). */
void sync_group_graph_name(const struct cfg *c, const char *group, char *out, size_t cap);

/* True when group (a Neo4j group_id, "" for none) is cached in Graphiti's
 * FalkorDB default graph in layout per_group: "" and "_". */
bool sync_layout_is_default_group(const char *group);

/* True when groups holds both "" and "_": in layout per_group both would be
 * the graph default_db, so the sync refuses instead of mixing them. */
bool sync_layout_default_group_clash(char *const *groups, int ngroups);

/* The graph of run g (0..n-1) of a layout: per_group, groups[g]'s graph (and
 * returns the group); single, falkordb.database (and returns NULL). */
const char *sync_target(const struct cfg *c, char **groups, int g, char *graph, size_t cap);

/* How many graphs a run of this layout visits: ngroups (per_group) or 1. */
int sync_target_count(const struct cfg *c, int ngroups);

/* The set of groups synced so far: falkorsync:groups:<database> (cap bytes). */
void sync_groups_key(const struct cfg *c, char *out, size_t cap);

/* Where serve's sliced reconcile pass is: falkorsync:reconcile:<database> (cap bytes; read
 * and written by sync/state.c). */
void sync_reconcile_key(const struct cfg *c, char *out, size_t cap);
/* The writer lease of the cache: falkorsync:lease:{<database>}, and the counter its fencing
 * tokens come from, falkorsync:lease:{<database>}:token (sync/lease.h; cap bytes each). */
void sync_lease_keys(const struct cfg *c, char *lease, char *token, size_t cap);

/* The distinct group_ids ("" for none) of Graphiti's node types in Neo4j, sorted.
 * *groups is the caller's to free with sync_groups_free. */
int sync_list_groups(struct bolt_session *s, char ***groups, int *n) FS_WARN_UNUSED;
void sync_groups_free(char **groups, int n);

/* The group list of per_group kept across the runs of one process: listing every group is a
 * scan of every node (76 ms of Neo4j per run on the bench graph). Within SYNC_GROUPS_REFRESH
 * seconds of the last listing, a run asks Neo4j only for groups of nodes created since that
 * listing (minus the overlap) that the list does not hold (index seeks on created_at); a
 * group whose nodes were all deleted leaves the list at the next listing. */
#define SYNC_GROUPS_REFRESH 10.0
struct sync_group_list {
    char **groups;
    int n;
    double listed_at; /* wall clock; 0: never */
    double probed_at; /* when sync_group_list_changed last asked (wall clock); 0: never */
};
/* The layout's groups now (a copy, *groups the caller's to free with sync_groups_free) from
 * gl (NULL: listed every time). overlap_seconds: how late a node may commit. */
int sync_group_list_get(struct bolt_session *s, struct sync_group_list *gl, int overlap_seconds,
                        char ***groups, int *n) FS_WARN_UNUSED;
void sync_group_list_clear(struct sync_group_list *gl);
/* Which of groups had a node or relationship created, or a relationship expired,
 * since the last ask minus the overlap (one query, index seeks on those times): changed[i]
 * set for them; all set on the first ask, on a failure (why in s->errstr, rc returned) and
 * after sync_group_list_forget. An idle group's change queries need not run. */
int sync_group_list_changed(struct bolt_session *s, struct sync_group_list *gl, int overlap_seconds,
                            char **groups, int n, bool *changed);
/* The next ask marks every group changed (a run failed: what it read is read again). */
void sync_group_list_forget(struct sync_group_list *gl);

/* per_group layout: records the current groups in falkorsync:groups:<database>
 * and deletes the graphs of groups that are gone from Neo4j (counted in
 * srep->deleted when srep is not NULL). */
int sync_track_groups(const struct cfg *c, struct fdb_conn *fdb, char **groups, int ngroups,
                      struct sync_report *srep) FS_WARN_UNUSED;

#endif
