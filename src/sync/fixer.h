/* Writes to an existing cache graph: upserts of Neo4j items and deletes of cached ones, in
 * UNWIND batches through a loader (reconcile and incremental). */
#ifndef FALKORSYNC_SYNC_FIXER_H
#define FALKORSYNC_SYNC_FIXER_H

#include <stdbool.h>
#include <stdint.h>

#include "bolt/bolt.h"
#include "config/config.h"
#include "falkor/fdb.h"
#include "sync/applied.h"
#include "sync/cursor_neo4j.h"
#include "sync/fingerprint.h"
#include "sync/loader.h"
#include "sync/profile.h"
#include "sync/report.h"

#define FIX_GROUPS 16
#define FIX_SAME 1 /* fixer_upsert: the row is one this run sent already (fx->written) */

struct fix_group {
    char *key;       /* node: label set; edge: dst label */
    struct buf rows; /* "{u:..,p:..,e0:..,s:..,t:..}," */
    struct buf keys; /* edges: "'k1','k2'," to delete before re-creating */
    uint32_t n;
};

struct fixer {
    struct loader *ld;
    const struct xc_rules *rules;
    const struct sync_type *types; /* the profile's */
    bool generic;                  /* generic: fixes address cached items by FalkorDB id */
    int batch;
    int type; /* the type being fixed: set before upserts or deletes of a type */
    /* NULL: the loader's graph; else this fixer's, set on the loader before each send (the
     * fixers of several graphs share one loader, which is not async) */
    const char *graph;
    /* incremental: the rows this run sent, by graph, type and key, with a hash of the row;
     * a row equal to one sent already is not sent again (fixer_upsert says FIX_SAME). NULL:
     * every row is sent. */
    struct sync_applied *written;
    struct fix_group g[FIX_GROUPS];
    int ng;
    struct buf del; /* keys to delete, param text */
    uint32_t ndel;
    struct buf q;
};

/* Sets up fx to write through ld (caller storage, zeroed; ld->graph is set later), counted
 * in rep, and connects ld. Close with fixer_close, then fdb_close(&ld->fdb), free(ld->ring). */
int fixer_open(struct fixer *fx, struct loader *ld, const struct cfg *c,
               const struct sync_rules *rules, struct sync_report *rep, const struct fdb_config *fc,
               char *err, size_t errlen) FS_WARN_UNUSED;
void fixer_close(struct fixer *fx);
/* Sets up fx to write to graph (borrowed) through from's loader, as from does; close it
 * with fixer_close (the loader stays from's). */
void fixer_like(struct fixer *fx, const struct fixer *from, const char *graph);
/* Queues the current item of sc (key) for an upsert; cached: its cache copy, or NULL when
 * missing. Labels the cache has and the source does not are removed (nodes). FIX_SAME, and
 * nothing queued, when fx->written holds this very row. */
int fixer_upsert(struct fixer *fx, struct neo_cursor *sc, const char *key,
                 const struct sync_item *cached) FS_WARN_UNUSED;
/* Queues a cached item for deletion. */
int fixer_delete(struct fixer *fx, const struct sync_item *b) FS_WARN_UNUSED;
/* Sends everything queued and waits for the acknowledgements. */
int fixer_flush(struct fixer *fx) FS_WARN_UNUSED;
/* Sends everything queued; the loader's acknowledgements are awaited later (loader_drain):
 * fixers of several graphs sharing a loader send, then drain once. */
int fixer_send(struct fixer *fx) FS_WARN_UNUSED;
/* Creates the range and full-text indexes on graph unless they exist already
 * (generic: for the labels and types Neo4j has now). */
int fixer_ensure_indexes(const struct cfg *c, struct bolt_session *bolt, struct fdb_conn *fdb,
                         const char *graph, char *err, size_t errlen) FS_WARN_UNUSED;

#endif
