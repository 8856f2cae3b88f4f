/* Content fingerprints that verify compares: a canonical text of every property, from either
 * side (PackStream values through the mapping rules, or FalkorDB's compact reply cells),
 * sorted by name and hashed with the item's head (labels or type and endpoints).
 * Canonical text: s<len>:<bytes> i:<int> d:<%.15g> b:<0|1> n l[<v>,...] v<n>[<float32 bits>]
 * t<code>:<value> (native temporals). FalkorDB prints doubles with 15 significant digits, so
 * both sides compare at that precision; vectors compare exactly (float32). Pure: no I/O. */
#ifndef FALKORSYNC_SYNC_FINGERPRINT_H
#define FALKORSYNC_SYNC_FINGERPRINT_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "falkor/compact.h" /* FDB_CT_*: the cell types */
#include "bolt/pack.h"
#include "util/buf.h"

#define FP_KEY_CAP 512
#define FP_ITEM_CAP ((size_t)64 << 20) /* one item's canonical text, a query of the cache */

/* One item as the merge sees it, from either side. */
struct sync_item {
    char key[FP_KEY_CAP];
    uint64_t hash;
    bool dropped;      /* held something the mapping leaves out */
    bool absent;       /* source: left out of the cache altogether (a type FalkorDB cannot name) */
    char labels[256];  /* cache side, nodes: sorted labels joined by \x1f */
    int64_t fid, fsrc; /* cache side: FalkorDB ids of the item and (edges) its start node */
};

/* Properties collected as (name, canonical text). */
struct fp_prop {
    char *name;
    char *text;
    size_t len;
};
struct fp_props {
    struct fp_prop *v;
    int n, cap;
};
int fp_props_add(struct fp_props *p, const char *name, size_t nlen,
                 const struct buf *text) FS_WARN_UNUSED;
void fp_props_clear(struct fp_props *p);
void fp_props_free(struct fp_props *p);

/* The fingerprint of head plus the properties (sorted here, by name). */
uint64_t fp_hash(const char *head, struct fp_props *p);

/* Canonical text of a decoded value / of a compact reply cell [type, value]. */
int fp_canon_value(struct buf *b, const struct fs_value *v) FS_WARN_UNUSED;
int fp_canon_compact(struct buf *b, const redisReply *cell) FS_WARN_UNUSED;
/* Transcoded property text "{k:v,...}" (FalkorDB parameter text) into props. */
int fp_props_from_param(struct fp_props *p, const struct buf *row, struct buf *tmp) FS_WARN_UNUSED;
/* Appends the labels sorted, each followed by \x1f (names is reordered). */
int fp_sorted_labels(struct buf *head, char **names, size_t n) FS_WARN_UNUSED;

#endif
