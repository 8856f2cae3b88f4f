/* Graph layouts: where Graphiti's default group lives, and the clean-up of graphs a previous layout
 * left behind. */
#ifndef FALKORSYNC_LAYOUT_H
#define FALKORSYNC_LAYOUT_H

#include <stdbool.h>

#include "config/config.h"
#include "falkor/fdb.h"
#include "sync/common.h"
#include "sync/compare.h"

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

/* After a run of the configured layout has put its graphs in place: deletes
 * the graphs a run of the other layout left (only graphs falkorsync made:
 * the group graphs listed in falkorsync:groups:<database>, or the single
 * graph <database> when falkorsync:layout:<database> or its watermarks say
 * falkorsync wrote it), with their watermark keys; records the layout in
 * falkorsync:layout:<database> and (per_group) the current groups in
 * falkorsync:groups:<database>. groups: the current groups (per_group), else
 * NULL. Counts each deleted graph in rep->deleted (rep may be NULL).
 * Returns 0 or an error (detail in fdb->errstr). Not thread-safe per fdb. */
int sync_layout_cleanup(const struct cfg *c, struct fdb_conn *fdb, char *const *groups, int ngroups,
                        struct sync_report *rep) FS_WARN_UNUSED;

/* verify's side of the same rule: counts the items of each graph the clean-up
 * would delete (a vanished group's graph, a graph of the other layout) as
 * extra in rep, with a sample "stale_graph:<name>", so that verify reports
 * what only reconcile or full removes. Returns 0 or an error (fdb->errstr). */
int sync_layout_verify_stale(const struct cfg *c, struct fdb_conn *fdb, char *const *groups,
                             int ngroups, struct verify_report *rep) FS_WARN_UNUSED;

#endif
