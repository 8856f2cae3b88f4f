/* Small pieces every sync mode shares: mapping rules from the configuration, group listing, clock.
 */
#ifndef FALKORSYNC_SYNC_COMMON_H
#define FALKORSYNC_SYNC_COMMON_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "bolt/bolt.h"
#include "config/config.h"
#include "sync/transcode.h"

#define SYNC_MAX_EMBEDDINGS 8

struct sync_report {
    uint64_t nodes;
    uint64_t relationships;
    uint64_t edges_missing_endpoint; /* relationships whose endpoint was not in the cache */
    uint64_t batches;
    uint64_t deleted;  /* items removed from the cache (reconcile, incremental) */
    uint64_t upserted; /* items written by MERGE (reconcile, incremental) */
    int graphs;        /* graphs swapped in */
    bool resumed;
    bool did_full;      /* incremental found an empty cache and ran a full sync */
    const char *method; /* full sync: "bulk" or "query" (the last graph's); or NULL */
    double seconds;
    struct xc_stats dropped;
    char error[512]; /* empty on success */
};

struct sync_opts {
    bool progress; /* progress line on stderr */
    /* Called now and then with items written so far and the expected total
     * (0 when unknown), on the syncing thread. */
    void (*on_progress)(void *ud, uint64_t done, uint64_t total);
    void *progress_ud;
    volatile sig_atomic_t *stop; /* set by a signal: abandon cleanly (checkpoint kept) */
};

struct sync_rules {
    struct xc_rules rules;
    char *store;
    const char *names[SYNC_MAX_EMBEDDINGS + 1];
};

/* Parses sync.embedding_properties into rules. Free with sync_rules_deinit. */
int sync_rules_init(struct sync_rules *r, const struct cfg *c) FS_WARN_UNUSED;
void sync_rules_deinit(struct sync_rules *r);

/* The distinct group_ids ("" for none) of Graphiti's node types in Neo4j, sorted.
 * *groups is the caller's to free with sync_groups_free. */
int sync_list_groups(struct bolt_session *s, char ***groups, int *n) FS_WARN_UNUSED;
void sync_groups_free(char **groups, int n);

/* The range indexes a cache graph gets before loading: Graphiti's; for the
 * generic profile the key property and _neo4j_id of every label and
 * relationship type Neo4j has now (names holding a backtick are skipped).
 * *stmts is the caller's to free with sync_groups_free. */
int sync_range_index_statements(const struct cfg *c, struct bolt_session *s, char ***stmts,
                                int *n) FS_WARN_UNUSED;

/* Monotonic seconds. */
double sync_now(void);

#endif
