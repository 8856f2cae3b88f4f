/* Inside full sync: the state of one run and what the per-graph driver (full.c) and its two
 * load methods (full_query.c, full_bulk.c) share: commands on the loader's connection,
 * progress, and the one Bolt streaming loop. Not a public interface. */
#ifndef FALKORSYNC_FULL_RUN_H
#define FALKORSYNC_FULL_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "bolt/bolt.h"
#include "config/config.h"
#include "sync/loader.h"
#include "sync/profile.h"
#include "sync/report.h"
#include "sync/transcode.h"

struct full_shards; /* sync/shards.c */

struct run {
    const struct cfg *cfg;
    const struct sync_profile *prof;
    const struct sync_opts *opts;
    struct sync_report *rep;
    struct bolt_session bolt;
    struct loader ld;
    struct xc_rules rules;
    struct sync_rules rules_store;
    uint64_t total_items, total_nodes, done_items;
    double t0, last_progress;
    /* Redis Cluster, per_group: the shard workers of this run (sync/shards.h), kept until the
     * replicas were waited for on their connections; NULL otherwise. */
    struct full_shards *shards;
};

/* Sets R up for a run of c with o, counting into rep: the transcode rules, the loader's ring,
 * a Neo4j session and the loader's FalkorDB connection (fenced as c says). Returns 0 or an
 * error with rep->error saying why; either way R is full_run_close's to release. */
int full_run_open(struct run *R, const struct cfg *c, const struct sync_opts *o,
                  struct sync_report *rep) FS_WARN_UNUSED;
/* Stops the loader's writer thread (abandoning its queue), closes both connections and frees
 * what full_run_open made. R->shards must be freed before. */
void full_run_close(struct run *R);

/* Positive results of a load method, outside the error table:
 * FULL_BULK_FALLBACK: the graph cannot be written by GRAPH.BULK (a label holding ':', two
 *   nodes of a type with one uuid that a relationship names, a server without GRAPH.BULK):
 *   the driver drains, deletes shadow and checkpoint, and uses the query method.
 * FULL_BULK_RESTART: resume found no state of the shadow graph that the checkpoint names. */
#define FULL_BULK_FALLBACK 2
#define FULL_BULK_RESTART 3
/* sync.full_method = auto uses bulk up to this many nodes (12 bytes each in the id map). */
#define FULL_BULK_AUTO_MAX_NODES 4000000u

/* Progress on stderr and to opts->on_progress, at most twice a second. */
void full_progress(struct run *R, bool final);
/* The same with the items done given (the sum of the shard workers'); not thread-safe. */
void full_progress_done(struct run *R, uint64_t done, bool final);
/* One command on the loader's connection; a failure goes to rep->error as "what: why". */
int full_fdb_simple(struct run *R, const char *what, int argc, const char *const *argv,
                    redisReply **out) FS_WARN_UNUSED;
bool full_key_exists(struct run *R, const char *key);
int full_graph_query(struct run *R, const char *graph, const char *q) FS_WARN_UNUSED;

/* What a load method does with the stream of one type. */
struct full_sink {
    void *ud;
    /* Adds one record to the open batch; non-zero stops the stream (negative: an error,
     * FULL_BULK_FALLBACK: the rest of the stream is read and dropped). */
    int (*record)(void *ud, const struct bolt_record *rec);
    /* Sends the open batch when it is full. */
    int (*flush_if_full)(void *ud);
};
/* True when a stop was asked for (SIGTERM, POST /api/sync/stop), with the report's error
 * saying so; the caller returns FS_ECANCELLED and leaves the checkpoint for the next run. */
bool full_stopped(struct run *R);
/* Streams type `type` from key `after` on (group_id = group unless NULL) into sink, with the
 * loader's writer thread started; generic: the generic profile's query. Stops on a signal. */
int full_stream(struct run *R, int type, const char *after, const char *group, bool generic,
                const struct full_sink *sink) FS_WARN_UNUSED;

/* The query method for one graph: types start_type.. (the first from key after) into the
 * shadow graph behind R->ld, the writer thread stopped when all is acknowledged. */
int full_query_graph(struct run *R, int start_type, const char *after,
                     const char *group) FS_WARN_UNUSED;
/* The bulk method for one graph, fresh or resumed from the checkpoint in ckpt ("method
 * bulk"): loads every type into shadow with GRAPH.BULK, converts embeddings with vecf32()
 * and creates the indexes; the caller then waits for them and swaps. Returns 0, a negative
 * error (in rep->error), FULL_BULK_FALLBACK or FULL_BULK_RESTART. */
int full_bulk_graph(struct run *R, const char *shadow, const char *ckpt, const char *group,
                    bool resume) FS_WARN_UNUSED;

#endif
