/* The delete check's internals: deletes_core.c's building blocks, used by deletes.c (what to
 * compare: counts, digests, the young items) and deletes_ranges.c (the batched range drill). */
#ifndef FALKORSYNC_SYNC_DELETES_INT_H
#define FALKORSYNC_SYNC_DELETES_INT_H

#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "bolt/bolt.h"
#include "bolt/pack.h"
#include "config/config.h"
#include "sync/fixer.h"
#include "sync/profile.h"
#include "sync/report.h"
#include "util/buf.h"

/* A prefix is listed key by key once neither side holds more than this under it. */
#define DC_LEAF 256
#define DC_PIPE 64 /* dc_fdb_each: queries in flight */
#define DC_SKIP 1  /* a dc_build_fn: nothing to ask here */
/* Next characters of a prefix compared at once (a uuid has 17; more: the prefix is listed). */
#define DC_CHILDREN 64
/* Types of the graphiti profile, with room (the digest check keeps one row per type). */
#define DC_MAX_TYPES 16
/* Keys listed under one prefix, per side (a leaf holds DC_LEAF; longer lists: duplicates). */
#define DC_MAX_KEYS ((size_t)1 << 20)

struct dc_keys {
    char **v;
    size_t n, cap;
};

/* One type of one graph being checked. */
struct dc {
    const struct cfg *c;
    struct bolt_session *bolt;
    struct fixer *fx;
    struct fdb_conn *fdb;
    struct sync_report *rep;
    const char *graph, *group;
    const struct sync_type *t;
    volatile sig_atomic_t *stop; /* or NULL */
    struct buf q, p;
    /* Items born after the bound (sync.overlap_seconds ago) may still be on their way to the
     * cache: the counts and key lists compare only the older ones (old: the current type has
     * a birth expression); the young ones in the cache are looked up in Neo4j by key. */
    bool old;
    int64_t bt_s;
    char bt_iso[40];
    int fdb_sent;         /* queries dc_fdb_send sent whose replies dc_fdb_recv reads */
    int sent_ix[DC_PIPE]; /* dc_fdb_each: what each reply in flight answers */
    struct dc_memo *memo; /* or NULL */
    struct dc_keys *set;  /* the current type's remembered keys, while a drill uses them */
    struct dc_keys young; /* with set: the cache's young keys of the type, sorted */
};

/* deletes_memo.c: the remembered keys of D->graph's type t, when fresh (NULL: none, or
 * *unusable: too many to remember, do not list them again yet). */
struct dc_keys *dc_memo_get(struct dc_memo *m, const char *graph, int type, double now,
                            bool *unusable);
/* Remembers keys (taken over, sorted here); unusable: remembers that the type is too big. */
struct dc_keys *dc_memo_put(struct dc_memo *m, const char *graph, int type, struct dc_keys *keys,
                            bool unusable, double now);
void dc_memo_drop(struct dc_memo *m, const char *graph, int type);
/* After a check that started at started (wall clock): forgets everything after a failure or
 * when the last check is older than stale_after (young keys may have aged unseen). */
void dc_memo_checked(struct dc_memo *m, int rc, double started, double stale_after);
/* Whether census (a hash of both sides' counts) is the last check's; remembers it. */
bool dc_memo_same_census(struct dc_memo *m, uint64_t census);
/* A whole check is repeated at least this often (seconds), however quiet (dc_memo_quiet). */
#define DC_QUIET_REFRESH 10.0
/* Whether a check can stop after Neo4j's census: it hashes to neo as at the last whole check,
 * nothing was written to the cache through a loader since (writes: loader_writes() now), and
 * that check began less than DC_QUIET_REFRESH ago (something written behind falkorsync's
 * back, or a FalkorDB that restarted empty, waits at most that long). */
bool dc_memo_quiet(struct dc_memo *m, uint64_t neo, uint64_t writes, double now);
/* A whole check that began at started (loader_writes() then: writes) succeeded. */
void dc_memo_full_check(struct dc_memo *m, uint64_t neo, uint64_t writes, double started);
/* Adds keys (copied) to set (NULL: nothing). */
int dc_memo_add(struct dc_keys *set, const struct dc_keys *keys);
/* Replaces set's keys whose first k characters are one of prefixes (np, sorted by strcmp)
 * with repl (sorted; copied), keeping those of them in keep (sorted). */
int dc_memo_replace(struct dc_keys *set, int k, char *const *prefixes, size_t np,
                    const struct dc_keys *repl, const struct dc_keys *keep);
bool dc_keys_has(const struct dc_keys *sorted, const char *key);

/* A stop asked for: the error says so (the check is repeated by the next run). */
bool dc_stopped(struct dc *D);
/* The smallest key above every key starting with prefix (false: none that a range can use). */
bool dc_upper(const char *prefix, char *hi, size_t cap);
/* "bt", the bound: a DateTime into a PackStream map, or " bt='<ISO>'" for the cache. */
int dc_write_bt(const struct dc *D, struct buf *p, bool cache);
/* D->p: {p: prefix, l, hi: its bound (each unless NULL), keys (unless NULL), g: D->group,
 * bt: the bound when D->old}. */
int dc_neo_params(struct dc *D, const char *prefix, const struct dc_keys *keys);
/* Runs D->q with D->p on Neo4j; on_row(D, items, n, ud) gets each record's first four values. */
typedef int (*dc_row_fn)(struct dc *D, const struct pack_item *it, int n, void *ud);
int dc_neo_rows(struct dc *D, dc_row_fn on_row, void *ud);
/* Runs "CYPHER <params> <D->q>" read-only on D->graph; *out NULL when it does not exist. */
int dc_fdb_query(struct dc *D, struct buf *params, redisReply **out);
/* Both sides at once: dc_fdb_send sends "CYPHER <params> <D->q>" (a cluster connection: does
 * nothing), Neo4j's query runs meanwhile, dc_fdb_recv reads the reply (or, when nothing was
 * sent, runs dc_fdb_query). Nothing else may use D->fdb between the two. */
int dc_fdb_send(struct dc *D, struct buf *params);
/* n queries on the cache, pipelined (DC_PIPE in flight; a cluster: one at a time). build sets
 * query i (D->graph, D->q and its parameters in pre; DC_SKIP: none); on_reply reads its reply
 * (NULL: no such graph). Every reply sent for is read, whatever fails. */
typedef int (*dc_build_fn)(struct dc *D, int i, struct buf *pre, void *ud);
typedef int (*dc_reply_fn)(struct dc *D, int i, const redisReply *r, void *ud);
int dc_fdb_each(struct dc *D, int n, dc_build_fn build, dc_reply_fn on_reply, void *ud);
int dc_fdb_recv(struct dc *D, struct buf *params, redisReply **out);
/* The rows of a reply (NULL: none). */
const redisReply *dc_rows(const redisReply *r);
void dc_keys_free(struct dc_keys *k);
int dc_keys_add(struct dc_keys *k, const char *s, size_t len);
int dc_strcmp(const void *a, const void *b);
/* A row's first value, a key, into the dc_keys ud. */
int dc_on_key(struct dc *D, const struct pack_item *it, int n, void *ud);
/* The cache's keys of items born after the bound, per type of types (keys: ntypes lists), in
 * D->graph: one query. */
int dc_cache_young(struct dc *D, const struct sync_type *types, int ntypes, struct dc_keys *keys);
/* dc_cache_young in two steps: its query (D->q, and its parameters in pre), and the rows of
 * its reply into keys. */
int dc_young_query(struct dc *D, const struct sync_type *types, int ntypes, struct buf *pre);
int dc_young_rows(const redisReply *r, int ntypes, struct dc_keys *keys);
/* D->q: the count query of D->t; the count in its reply (0: none). */
int dc_fdb_count_query(struct dc *D);
int64_t dc_count_of(const redisReply *r);
/* Queues the deletion of keys (only those in the sorted only, unless NULL) in D->fx and sends
 * it (the loader's graph may change next; the acknowledgements are awaited later); *n: how
 * many. */
int dc_delete_keys(struct dc *D, const struct dc_keys *keys, const struct dc_keys *only, size_t *n);
/* Deletes from the cache those of keys that Neo4j does not hold (by key); *n: how many. */
int dc_delete_absent(struct dc *D, const struct dc_keys *keys, size_t *n);
/* Lists both sides' keys under prefix and fixes them (dc_fix_lists). */
int dc_fix(struct dc *D, const char *prefix);
/* Both sides' sorted keys of one range (taken over, freed): the cache's extras deleted (once
 * Neo4j confirms by key, for old items), what it misses upserted. */
int dc_fix_lists(struct dc *D, struct dc_keys *neo, struct dc_keys *fdb);
/* dc_fix_lists's first step: the cache's extras that need no asking and its duplicates queued
 * for deletion in D->fx (not sent), what it misses into missing, its old extras (to confirm
 * with dc_absent) into extra. */
int dc_fix_compare(struct dc *D, struct dc_keys *neo, struct dc_keys *fdb, struct dc_keys *missing,
                   struct dc_keys *extra);
/* Of keys, those that no item of the current type holds in Neo4j (any group): into absent. */
int dc_absent(struct dc *D, const struct dc_keys *keys, struct dc_keys *absent);
/* Upserts the Neo4j items of keys (of D->group, when set) into D->graph. */
int dc_upsert(struct dc *D, const struct dc_keys *keys);
/* Drills into prefix's next characters whose counts differ, one query per prefix. */
int dc_drill(struct dc *D, const char *prefix, int depth);
/* The current type in D->graph: its keys' leading characters counted on both sides in one
 * query each, then the differing ranges listed in batches and fixed. */
int dc_ranges(struct dc *D, int64_t most);
/* per_group: the current type in every graph of groups at once: Neo4j's keys counted and
 * listed for every group in one query each (the group read only for the listed keys), each
 * graph's against them; a graph is fixed against its group's keys. cached[g * stride]: the
 * cache's count of the type's old items (0: not counted there; NULL: unknown). */
int dc_ranges_groups(struct dc *D, char **groups, int ngraphs, const int64_t *cached, int stride,
                     int64_t most);
/* per_group: the current type's keys under prefix listed on both sides and fixed in every
 * graph of groups (Neo4j's listed once with their groups when a range holds the prefix). */
int dc_fix_groups(struct dc *D, char **groups, int ngraphs, const char *prefix);

#endif
