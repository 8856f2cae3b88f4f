/* Durable sync state in FalkorDB, read and written only here: full sync's checkpoint hash
 * (falkorsync:ckpt:<graph>) and incremental's watermarks (falkorsync:wm:<graph>).
 * Layouts:
 *   ckpt: type <next type>, after <last key written>, method query|bulk,
 *         at:<nodes>:<relationships> -> "<type> <last key>" (bulk method: one per command),
 *         wm:<family> -> "<seconds> <nanos> <stored at>" (watermarks when the load began)
 *   wm:   <family> -> "<seconds> <nanos> <stored at>" (the largest change applied)
 *   reconcile (falkorsync:reconcile:<database>): where serve's sliced reconcile pass is and
 *         what the last whole pass found: the fields of struct state_slice, as text. */
#ifndef FALKORSYNC_SYNC_STATE_H
#define FALKORSYNC_SYNC_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bolt/bolt.h"
#include "falkor/fdb.h"
#include "util/err.h"

#define STATE_KEY_CAP 512 /* longest key a checkpoint holds, NUL included */
#define STATE_MAX_FAMILIES 16

/* Functions that take err write "what: why" there on failure (errlen bytes). */

struct state_ckpt {
    bool have; /* a checkpoint exists */
    int type;  /* the next type to load */
    char after[STATE_KEY_CAP];
    bool bulk; /* written by the bulk method */
};
int state_ckpt_read(struct fdb_conn *f, const char *key, struct state_ckpt *ck, char *err,
                    size_t errlen) FS_WARN_UNUSED;
/* A fresh checkpoint: type 0, nothing after, the method (and the bulk method's first entry). */
int state_ckpt_start(struct fdb_conn *f, const char *key, bool bulk, char *err,
                     size_t errlen) FS_WARN_UNUSED;
/* The HSET argv that records (type, after): argv[6], t holds 16 bytes. Borrowed strings. */
void state_ckpt_progress_argv(const char **argv, char *t, const char *key, int type,
                              const char *after);
/* The bulk method's resume entry: field "at:<nodes>:<relationships>" (64 bytes) and value
 * "<type> <last key>" (STATE_KEY_CAP + 16 bytes). */
void state_ckpt_at_entry(char *field, size_t fcap, char *val, size_t vcap, uint64_t nodes,
                         uint64_t rels, int type, const char *last_key);
/* The entry for these counts: 1 with *type and after (STATE_KEY_CAP bytes) set when it
 * names a type in 0..ntypes, 0 when there is none (or it cannot be read). */
int state_ckpt_at_find(struct fdb_conn *f, const char *key, int64_t nodes, int64_t rels, int ntypes,
                       int *type, char *after);

/* Records the largest change timestamp of every watermark family now (a Neo4j query each,
 * group_id = group unless NULL) in the checkpoint: where incremental starts once the graph
 * being loaded is live. Neo4j failures read "Neo4j: why". */
int state_ckpt_record_watermarks(struct bolt_session *b, struct fdb_conn *f, const char *key,
                                 const char *group, char *err, size_t errlen) FS_WARN_UNUSED;
/* The watermarks a checkpoint recorded: wmv[i] for sync_wm_families[i] ("" when none). */
void state_ckpt_watermarks(struct fdb_conn *f, const char *key, char wmv[][64], int n);
/* Inside the swap's MULTI: the watermark hash becomes exactly wmv. */
int state_wm_replace(struct fdb_conn *f, const char *wmkey, char wmv[][64], int n, char *err,
                     size_t errlen) FS_WARN_UNUSED;

/* One watermark family of incremental. */
struct state_wm {
    const char *family;
    int64_t s, ns; /* the largest change timestamp applied; s = INT64_MIN: none */
    int64_t new_s, new_ns;
    long long seen_at; /* wall clock when that watermark was first stored */
};
/* Reads wmkey into w[0..n-1] (w[i].family set by the caller; others reset here). */
int state_wm_read(struct fdb_conn *f, const char *wmkey, struct state_wm *w, int n, char *err,
                  size_t errlen) FS_WARN_UNUSED;
/* Stores the families whose new_s/new_ns moved. Call only after FalkorDB acknowledged the
 * changes they cover. */
int state_wm_advance(struct fdb_conn *f, const char *wmkey, const struct state_wm *w, int n,
                     char *err, size_t errlen) FS_WARN_UNUSED;

/* A sliced reconcile pass (sync/verify.h) as stored between slices and across restarts. */
struct state_slice {
    bool active;               /* a pass is in progress */
    int graph;                 /* the graph of the layout it is in (per_group: sorted groups) */
    char group[STATE_KEY_CAP]; /* per_group: that graph's group, to find it again */
    int type;                  /* the profile's type it is in */
    char after[STATE_KEY_CAP]; /* keys up to this one are compared ("": none yet) */
    double started_at;         /* wall clock when the pass began */
    double busy_seconds;       /* time its slices took so far */
    uint64_t checked, fixed;   /* items compared, items fixed so far */
    uint64_t slices, passes;   /* slices ever run; passes completed */
    double last_seconds;       /* the last completed pass: from start to end */
    double last_busy_seconds;  /* its slices' time */
    double last_finished_at;   /* wall clock */
    uint64_t last_checked, last_fixed;
};
/* Reads it (all zero when never stored). */
int state_slice_read(struct fdb_conn *f, const char *key, struct state_slice *s, char *err,
                     size_t errlen) FS_WARN_UNUSED;
/* Stores it whole (one HSET). */
int state_slice_write(struct fdb_conn *f, const char *key, const struct state_slice *s, char *err,
                      size_t errlen) FS_WARN_UNUSED;

#endif
