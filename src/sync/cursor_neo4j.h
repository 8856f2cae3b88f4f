/* The Neo4j side of a comparison or an incremental run: items of one type streamed from a
 * query already run on the session, mapped by the transcoder and fingerprinted. */
#ifndef FALKORSYNC_SYNC_CURSOR_NEO4J_H
#define FALKORSYNC_SYNC_CURSOR_NEO4J_H

#include <stdbool.h>

#include "bolt/bolt.h"
#include "sync/extract.h"
#include "sync/fingerprint.h"
#include "sync/profile.h"
#include "sync/transcode.h"

struct neo_cursor {
    struct bolt_session *bolt;
    const struct sync_type *t; /* the type being read; may change between queries */
    bool generic;
    const char *kp; /* generic: sync.key_property */
    const struct xc_rules *rules;
    bool sparse; /* incremental: no fingerprint, embeddings as parameter text */
    bool done;
    /* The current item: */
    struct bolt_record rec;    /* valid until the next neo_cursor_next */
    size_t props_at;           /* where its property map starts in rec */
    char rtype[SYNC_KEY_CAP];  /* relationships: the type */
    struct extract_cols cols;  /* key, endpoints, change time */
    struct xc_native nt;       /* generic: its native temporals */
    struct buf row, tmp, head; /* property text; scratch; "N:<labels>" or "E:<type>..." */
    struct buf emb[SYNC_MAX_EMBEDDINGS];
    struct fp_item fp; /* comparison: the fingerprint being built */
    bool has_row;      /* row, emb and nt hold the item's parameter text */
    uint64_t vanished; /* rows skipped: their item was deleted while the query read it */
};

void neo_cursor_init(struct neo_cursor *c, struct bolt_session *bolt, const struct xc_rules *rules,
                     bool generic, const char *key_property, bool sparse);
void neo_cursor_deinit(struct neo_cursor *c);
/* The next item: 1 with *out, 0 at the end, <0 on error (the session's errstr says why). */
int neo_cursor_next(struct neo_cursor *c, struct sync_item *out,
                    struct xc_stats *st) FS_WARN_UNUSED;
/* The current item's parameter text (row, emb, nt), for a comparison that fixes it: the
 * comparison reads only fingerprints. A no-op when the text is there already. */
int neo_cursor_reread(struct neo_cursor *c, const struct xc_rules *rules) FS_WARN_UNUSED;

#endif
