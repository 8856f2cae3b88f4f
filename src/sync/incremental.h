/* Incremental: what changed since the durable watermarks (minus the overlap window), upserted;
 * the graphiti profile on a cache that exists (the orchestrator decides the other cases). */
#ifndef FALKORSYNC_SYNC_INCREMENTAL_H
#define FALKORSYNC_SYNC_INCREMENTAL_H

#include "config/config.h"
#include "sync/report.h"

/* Reads the changes of every graph of the layout and upserts them; watermarks come from the
 * data and advance only after FalkorDB acknowledged. *lag_seconds is the age of the oldest
 * change this run applied (0 when none). Then the delete check (sync/deletes.h) removes what
 * Neo4j no longer has. rep is reset here. */
int sync_incremental_changes(const struct cfg *c, const struct sync_opts *o,
                             struct sync_report *rep, double *lag_seconds) FS_WARN_UNUSED;

#endif
