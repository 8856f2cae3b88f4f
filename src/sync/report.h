/* What a sync run reports (counters, dropped values, the error) and how it is steered (options). */
#ifndef FALKORSYNC_SYNC_REPORT_H
#define FALKORSYNC_SYNC_REPORT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sync/transcode.h"
#include "util/err.h"

struct sync_report {
    uint64_t nodes;
    uint64_t relationships;
    uint64_t edges_missing_endpoint; /* relationships whose endpoint was not in the cache */
    uint64_t batches;
    uint64_t deleted;           /* items removed from the cache (reconcile, incremental) */
    uint64_t upserted;          /* items written by MERGE (reconcile, incremental) */
    uint64_t skipped_unchanged; /* incremental: rows read again and not written (applied) */
    int graphs;                 /* graphs swapped in */
    bool resumed;
    bool did_full;      /* incremental found an empty cache and ran a full sync */
    const char *method; /* full sync: "bulk" or "query" (the last graph's); or NULL */
    double seconds;
    double delete_check_seconds; /* incremental: the part of seconds the delete check took */
    struct xc_stats dropped;
    char error[512];       /* empty on success */
    int err_code;          /* the failed run's code (util/err.h); 0 on success */
    enum fs_side err_side; /* who failed: neo4j, falkordb, config, internal */
    /* falkordb.wait_replicas (sync/replicas.h): the replicas WAIT asked for after the run's
     * writes (0: no WAIT sent) and how many acknowledged them. Fewer is a warning, not a
     * failure: the primary holds the data and the state moved on. */
    int replicas_wanted, replicas_acked;
    char warning[384]; /* what the run could not promise; "" when nothing */
};

/* Records that a run returned rc (nonzero): the code, and the side that
 * failed. The side is the error table's for codes that have one; a transport
 * or server code (the table's "peer") takes the side of the connection it
 * came from, which every sync error message names first ("Neo4j: ...",
 * "FalkorDB ..."). The one place that reads that text, so that callers
 * (the service, metrics, the API) never do. */
void sync_report_fail(struct sync_report *rep, int rc);

struct sync_applied;
struct sync_group_list;

struct sync_opts {
    bool progress; /* progress line on stderr */
    /* Called now and then with items written so far and the expected total
     * (0 when unknown), on the syncing thread. */
    void (*on_progress)(void *ud, uint64_t done, uint64_t total);
    void *progress_ud;
    volatile sig_atomic_t *stop; /* set by a signal: abandon cleanly (checkpoint kept) */
    /* incremental: the rows applied so far (sync/applied.h), kept across runs by the caller
     * so that the overlap window is not rewritten; NULL: every row read is written */
    struct sync_applied *applied;
    /* incremental: the delete check runs elsewhere (serve's deleter thread, sync/deleter.h);
     * false: after the changes, in the same run */
    bool deletes_elsewhere;
    /* incremental, per_group: the group list kept across runs (sync/target.h); NULL: every
     * run lists the groups */
    struct sync_group_list *group_list;
};

/* Prints rep as one JSON object (one line) to out; mode is the run's name ("full", ...). */
void sync_report_json(const struct sync_report *rep, const char *mode, FILE *out);

/* s as a JSON string (jansson); bytes that are not UTF-8 become '?'. A new reference. */
struct json_t;
struct json_t *sync_json_text(const char *s);
/* v as a JSON integer (json_int_t is 64 bits). A new reference. */
struct json_t *sync_json_count(uint64_t v);
/* Prints o compactly on one line, keys in insertion order, and releases it. */
void sync_json_print(struct json_t *o, FILE *out);

/* Monotonic seconds. */
double sync_now(void);
/* Wall-clock seconds since the epoch (CLOCK_REALTIME): for times stored or shown. */
double sync_wall_now(void);

#endif
