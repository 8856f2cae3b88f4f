/* Full sync: streams every type into a shadow graph, builds indexes, swaps it in atomically;
 * resumable. */
#ifndef FALKORSYNC_FULL_H
#define FALKORSYNC_FULL_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config/config.h"
#include "sync/common.h"
#include "sync/layout.h" /* sync_group_graph_name */
#include "sync/transcode.h"

/* Runs a full sync with the settings in c. Returns 0 or an error (detail in
 * rep->error). On failure or stop the checkpoint stays: run again to resume. */
int sync_full(const struct cfg *c, const struct sync_opts *o,
              struct sync_report *rep) FS_WARN_UNUSED;

/* Prints rep as one JSON object (one line) to out. */
void sync_report_json(const struct sync_report *rep, const char *mode, FILE *out);

/* The graph of run g (0..n-1) of a layout: per_group, groups[g]'s graph (and
 * returns the group); single, falkordb.database (and returns NULL). */
const char *sync_target(const struct cfg *c, char **groups, int g, char *graph, size_t cap);

#endif
