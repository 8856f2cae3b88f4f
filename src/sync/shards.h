/* Full sync in a Redis Cluster with the per_group layout: the group graphs of different shards
 * at once, one worker thread per shard (setting sync.shard_workers). Not a public interface. */
#ifndef FALKORSYNC_SYNC_SHARDS_H
#define FALKORSYNC_SYNC_SHARDS_H

#include "sync/full_run.h"

/* The most workers a run starts (falkor/cluster.h: FDB_CLUSTER_MAX_NODES). */
#define FULL_SHARDS_MAX 64

/* Syncs one graph (live name, its group) on R's connections: full.c's per-graph driver. */
typedef int (*full_graph_fn)(struct run *R, const char *live, const char *group);

/* The plan for the graphs of groups[0..ngroups) (borrowed until full_shards_free): each graph
 * goes to the shard (primary) that owns its name's slot, by R's slot map. NULL when the run
 * syncs them in turn on R itself: not a cluster, layout single, sync.shard_workers = 1, the
 * graphs on one shard, or no memory for a plan. */
struct full_shards *full_shards_plan(struct run *R, char *const *groups, int ngroups);

/* Runs plan S: min(sync.shard_workers or the primaries, shards) worker threads, each with its
 * own Neo4j session and FalkorDB connection, take the shards one at a time and sync their graphs
 * in turn with one(). R's stop flag, or the first worker that fails, stops the others (between
 * two records or index polls; a FalkorDB reply being read is waited for). Adds the workers'
 * counts to R->rep; on failure returns the first failure's code with its error in R->rep->error,
 * naming the graph and its shard. Graphs swapped in before stay; the others keep their
 * checkpoints. Call on the run's thread; not reentrant. */
int full_shards_run(struct run *R, struct full_shards *S, full_graph_fn one) FS_WARN_UNUSED;

/* The workers' FalkorDB connections (at most cap) into out; returns how many. 0 for S NULL. */
int full_shards_conns(struct full_shards *S, struct fdb_conn **out, int cap);

/* Closes the workers' connections and frees S. No-op for NULL. */
void full_shards_free(struct full_shards *S);

#endif
