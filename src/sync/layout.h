/* Graph layouts: where Graphiti's default group lives, and the clean-up of graphs a previous layout
 * left behind. */
#ifndef FALKORSYNC_LAYOUT_H
#define FALKORSYNC_LAYOUT_H

#include <stdbool.h>

#include "config/config.h"
#include "falkor/fdb.h"
#include "sync/report.h"
#include "sync/target.h"
#include "sync/verify.h"

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
