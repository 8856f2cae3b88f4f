/* Where a sync writes: the cache graphs of a layout (single or per group), the names of their
 * shadow, old, checkpoint and watermark keys, and the list of groups on both sides. */
#ifndef FALKORSYNC_SYNC_TARGET_H
#define FALKORSYNC_SYNC_TARGET_H

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

/* The FalkorDB graph that holds group g in layout per_group: the group_id
 * itself, as Graphiti 0.23+ reads it; the empty group goes to
 * falkordb.database. Writes into out (cap bytes). */
void sync_group_graph_name(const struct cfg *c, const char *group, char *out, size_t cap);

/* The graph of run g (0..n-1) of a layout: per_group, groups[g]'s graph (and
 * returns the group); single, falkordb.database (and returns NULL). */
const char *sync_target(const struct cfg *c, char **groups, int g, char *graph, size_t cap);

/* How many graphs a run of this layout visits: ngroups (per_group) or 1. */
int sync_target_count(const struct cfg *c, int ngroups);

/* The set of groups synced so far: falkorsync:groups:<database> (cap bytes). */
void sync_groups_key(const struct cfg *c, char *out, size_t cap);

/* The distinct group_ids ("" for none) of Graphiti's node types in Neo4j, sorted.
 * *groups is the caller's to free with sync_groups_free. */
int sync_list_groups(struct bolt_session *s, char ***groups, int *n) FS_WARN_UNUSED;
void sync_groups_free(char **groups, int n);

/* per_group layout: records the current groups in falkorsync:groups:<database>
 * and deletes the graphs of groups that are gone from Neo4j (counted in
 * srep->deleted when srep is not NULL). */
int sync_track_groups(const struct cfg *c, struct fdb_conn *fdb, char **groups, int ngroups,
                      struct sync_report *srep) FS_WARN_UNUSED;

#endif
