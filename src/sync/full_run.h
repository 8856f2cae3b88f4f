/* Inside full sync: the state of one run, shared by the query method (full.c)
 * and the bulk method (bulkload.c). Not a public interface. */
#ifndef FALKORSYNC_FULL_RUN_H
#define FALKORSYNC_FULL_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "bolt/bolt.h"
#include "config/config.h"
#include "sync/common.h"
#include "sync/loader.h"
#include "sync/schema.h"
#include "sync/transcode.h"

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
};

/* The keyset-ordered extraction query of one type, and its parameters. */
int full_extract_query(struct buf *q, const struct sync_type *t, bool by_group) FS_WARN_UNUSED;
int full_extract_params(struct buf *p, const char *after, const char *group) FS_WARN_UNUSED;
/* Progress on stderr and to opts->on_progress, at most twice a second. */
void full_progress(struct run *R, bool final);
/* Reads a string item into out (cap bytes, NUL-terminated). */
int full_copy_str_item(struct pack_reader *r, char *out, size_t cap) FS_WARN_UNUSED;
/* One command on the loader's connection; a failure goes to rep->error as "what: why". */
int full_fdb_simple(struct run *R, const char *what, int argc, const char *const *argv,
                    redisReply **out) FS_WARN_UNUSED;
bool full_key_exists(struct run *R, const char *key);
int full_graph_query(struct run *R, const char *graph, const char *q) FS_WARN_UNUSED;

/* The bulk method (bulkload.c) for one graph, fresh or resumed from the
 * checkpoint in ckpt ("method bulk"): loads every type into shadow with
 * GRAPH.BULK, converts embeddings with vecf32() and creates the indexes; the
 * caller then waits for them and swaps. Returns 0, a negative error (in
 * rep->error), or FULL_BULK_FALLBACK when the graph cannot be written this
 * way (a label holding ':', two nodes of a type with one uuid that a
 * relationship names): the caller drains, deletes shadow and ckpt, and uses
 * the query method. */
#define FULL_BULK_FALLBACK 2
/* sync.full_method = auto uses bulk up to this many nodes (12 bytes each in the id map). */
#define FULL_BULK_AUTO_MAX_NODES 4000000u
/* resume: the checkpoint names no state of the shadow graph; start fresh. */
#define FULL_BULK_RESTART 3
int full_bulk_graph(struct run *R, const char *shadow, const char *ckpt, const char *group,
                    bool resume) FS_WARN_UNUSED;
/* Records the change timestamps where incremental will start (full.c). */
int full_record_watermarks(struct run *R, const char *ckpt, const char *group) FS_WARN_UNUSED;

#endif
