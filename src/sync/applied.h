/* What incremental applied already: (graph, change query, key) with the change time written,
 * so that rows the overlap window reads again are not rewritten. Bounded memory; kept across
 * runs by the caller (the continuous loop); losing it costs one rewrite of the window. */
#ifndef FALKORSYNC_SYNC_APPLIED_H
#define FALKORSYNC_SYNC_APPLIED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct sync_applied;

/* A set of at most 2^cap_log2 * 3/4 entries (24 bytes each); NULL when out of memory.
 * Not thread-safe: one incremental run at a time uses it. */
struct sync_applied *sync_applied_new(unsigned cap_log2);
void sync_applied_free(struct sync_applied *a);

/* The identity of a row: graph, change query (its index) and key. */
uint64_t sync_applied_id(const char *graph, int query, const char *key);
/* FNV-1a of p[0..len-1], continuing from h (0: a fresh hash). */
uint64_t sync_applied_hash(const void *p, size_t len, uint64_t h);
/* Records id with (s, ns) at once (what sync_applied_commit does for each row of a batch). */
void sync_applied_put(struct sync_applied *a, uint64_t id, int64_t s, int64_t ns,
                      int64_t forget_before_s);
/* True when row id was applied with exactly this change time (a NULL set: never). */
bool sync_applied_seen(const struct sync_applied *a, uint64_t id, int64_t s, int64_t ns);

/* Rows of one change query, noted once FalkorDB acknowledged them (sync_applied_commit). */
struct sync_applied_batch {
    struct sync_applied_row {
        uint64_t id;
        int64_t s;
        int32_t ns;
    } * v;
    uint32_t n, cap;
};
/* Queues row id with its change time (dropped when the batch is full: rewritten next time). */
void sync_applied_queue(struct sync_applied_batch *b, const struct sync_applied *a, uint64_t id,
                        int64_t s, int64_t ns);
/* Records the queued rows in a and empties b. When a fills up, rows whose change time is older
 * than forget_before_s go first, then all. */
void sync_applied_commit(struct sync_applied *a, struct sync_applied_batch *b,
                         int64_t forget_before_s);
void sync_applied_batch_free(struct sync_applied_batch *b);
/* Entries held now. */
uint32_t sync_applied_count(const struct sync_applied *a);

#endif
