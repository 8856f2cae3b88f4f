/* Full sync: streams every type into a shadow graph, builds indexes, swaps it in atomically;
 * resumable. */
#ifndef FALKORSYNC_FULL_H
#define FALKORSYNC_FULL_H

#include "config/config.h"
#include "sync/report.h"
#include "sync/target.h"

/* Runs a full sync with the settings in c. Returns 0 or an error (detail in
 * rep->error). On failure or stop the checkpoint stays: run again to resume.
 * Not thread-safe against another run on the same cache. */
int sync_full(const struct cfg *c, const struct sync_opts *o,
              struct sync_report *rep) FS_WARN_UNUSED;

#endif
