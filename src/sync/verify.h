/* Item-level comparison of Neo4j and the cache: verify (read-only) and reconcile (fixes what
 * differs, deletes included). */
#ifndef FALKORSYNC_SYNC_VERIFY_H
#define FALKORSYNC_SYNC_VERIFY_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config/config.h"
#include "sync/profile.h"
#include "sync/report.h"
#include "sync/state.h"

#define VERIFY_SAMPLES 3
#define VERIFY_MAX_TYPES 16

struct verify_count {
    const char *name;                 /* the type's (static storage) */
    uint64_t source;                  /* items in Neo4j */
    uint64_t cache;                   /* items in FalkorDB */
    uint64_t missing;                 /* in Neo4j, not in FalkorDB */
    uint64_t extra;                   /* in FalkorDB, not in Neo4j */
    uint64_t different;               /* same key, different content */
    uint64_t duplicate;               /* a key seen twice in FalkorDB */
    uint64_t unrepresentable;         /* Neo4j items holding a value the mapping rules leave out */
    char samples[VERIFY_SAMPLES][96]; /* "missing:<key>" ... */
    int nsamples;
};

struct verify_report {
    struct verify_count types[VERIFY_MAX_TYPES]; /* summed over groups, by sync type */
    int ntypes;
    int graphs;
    double seconds;
    char error[512];
};

/* Compares every item. Returns 0 (whatever the differences), or an error
 * (detail in rep->error). Memory stays bounded: both sides are streamed in
 * key order and merged. */
int sync_verify(const struct cfg *c, struct verify_report *rep) FS_WARN_UNUSED;
/* Reconcile: the same comparison, fixing as it goes: upserts what is missing
 * or different, deletes what Neo4j no longer has (and, per group, graphs of
 * vanished groups). found says what differed, done what was written. */
int sync_reconcile(const struct cfg *c, struct verify_report *found,
                   struct sync_report *done) FS_WARN_UNUSED;
/* The same, abandoned within moments once *stop is set (FS_ECANCELLED; what was fixed stays
 * fixed, the next reconcile starts over). stop may be NULL. */
int sync_reconcile_stoppable(const struct cfg *c, struct verify_report *found,
                             struct sync_report *done, volatile sig_atomic_t *stop) FS_WARN_UNUSED;
/* serve's reconcile in slices: continues the pass stored in FalkorDB (a new one when none is
 * in progress) for about budget_seconds (whole chunks of 500 keys of one type in one graph,
 * each compared, fixed, then recorded as done), so that a restart, even after kill -9, goes on
 * where the last recorded chunk ended. *pos is what is stored after the slice (when the pass
 * ended: pos->active false and the last_* figures set). found/done as sync_reconcile, for this
 * slice only. The graphiti profile only (uuid keys). */
int sync_reconcile_slice(const struct cfg *c, double budget_seconds, struct state_slice *pos,
                         struct verify_report *found, struct sync_report *done,
                         volatile sig_atomic_t *stop) FS_WARN_UNUSED;
/* Total missing + extra + different + duplicate. */
uint64_t verify_differences(const struct verify_report *rep);
/* The report as a table, or as one JSON object (jansson) when json. */
void verify_print(const struct verify_report *rep, bool json, FILE *out);

#endif
