/* Content fingerprints that verify compares, the same from either side: PackStream values
 * through the mapping rules (sync/transcode's fingerprint sink) or FalkorDB's compact reply
 * cells. Each property is written in a small binary canonical form and hashed with its name;
 * the item's hash combines the property hashes by addition (so no sort, no copy, no
 * allocation per property) with the hash of its head (labels, or type and endpoints).
 * Canonical form, per value:
 *   n                      null
 *   b <0|1>                boolean
 *   i <int64>              integer (8 bytes, host order)
 *   d <u8 len> <text>      double: its %.15g text (FalkorDB prints doubles with 15 significant
 *                          digits, so both sides compare at that precision)
 *   s <u32 len> <bytes>    string
 *   l <u32 n> <values>     list
 *   v <u32 n> <u32 bits>*n vecf32: the float32 bit patterns, compared exactly, no text
 *   t <u8 code> <int64>    FalkorDB native temporal (compact type and seconds)
 * Pure: no I/O; thread-safe (no state outside the caller's). */
#ifndef FALKORSYNC_SYNC_FINGERPRINT_H
#define FALKORSYNC_SYNC_FINGERPRINT_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "falkor/compact.h" /* FDB_CT_*: the cell types */
#include "util/buf.h"

#define FP_KEY_CAP 512
#define FP_ITEM_CAP ((size_t)64 << 20) /* one item's canonical value, a query of the cache */

/* One item as the merge sees it, from either side. */
struct sync_item {
    char key[FP_KEY_CAP];
    uint64_t hash;
    bool dropped;      /* held something the mapping leaves out */
    bool absent;       /* source: left out of the cache altogether (a type FalkorDB cannot name) */
    char labels[256];  /* cache side, nodes: sorted labels joined by \x1f */
    int64_t fid, fsrc; /* cache side: FalkorDB ids of the item and (edges) its start node */
};

/* An item's fingerprint being built: properties in any order, then the head. */
struct fp_item {
    uint64_t sum;
    uint32_t n;
};
void fp_item_init(struct fp_item *f);
/* One property: its name and its value in canonical form. */
void fp_item_prop(struct fp_item *f, const char *name, size_t nlen, const void *canon, size_t clen);
/* The fingerprint: the properties added so far and head (hlen bytes). */
uint64_t fp_item_hash(const struct fp_item *f, const char *head, size_t hlen);

/* Canonical values, appended to b (on error b may hold part of one: callers reset it). */
int fp_enc_null(struct buf *b) FS_WARN_UNUSED;
int fp_enc_bool(struct buf *b, bool v) FS_WARN_UNUSED;
int fp_enc_int(struct buf *b, int64_t v) FS_WARN_UNUSED;
int fp_enc_double(struct buf *b, double v) FS_WARN_UNUSED;
int fp_enc_string(struct buf *b, const char *s, size_t len) FS_WARN_UNUSED;
int fp_enc_list(struct buf *b, uint32_t n) FS_WARN_UNUSED;   /* then n values */
int fp_enc_vector(struct buf *b, uint32_t n) FS_WARN_UNUSED; /* then n fp_enc_f32 */
int fp_enc_f32(struct buf *b, float f) FS_WARN_UNUSED;
int fp_enc_temporal(struct buf *b, int code, int64_t seconds) FS_WARN_UNUSED;

/* The float32 whose double FalkorDB printed as s (len bytes, decimal, as a vecf32 element
 * arrives): true with *out, without strtod; false for what it leaves to strtod (more than 19
 * significant digits, inf/nan, subnormal or huge values, anything else). Exact only for the
 * text of a float32's double (or one within a few double ulps of it). */
bool fp_f32_from_text(const char *s, size_t len, float *out);

/* The canonical value of a compact reply cell [type, value]. A cell the accessors refuse
 * (a reply FalkorDB would not send) becomes "?" (so it differs from anything the source
 * gives). */
int fp_canon_compact(struct buf *b, const redisReply *cell) FS_WARN_UNUSED;
/* The head of a relationship: "E:<type>\x1f<start key>\x1f<end key>" appended to head. */
int fp_edge_head(struct buf *head, const char *type, size_t tlen, const char *a,
                 const char *b) FS_WARN_UNUSED;
/* Copies key (NUL-terminated, cut at FP_KEY_CAP - 1 bytes) into dst (FP_KEY_CAP bytes): the
 * merge's per-item copies, without printf. */
void fp_key_copy(char *dst, const char *key);
/* Appends the labels sorted, each followed by \x1f (names is reordered). */
int fp_sorted_labels(struct buf *head, char **names, size_t n) FS_WARN_UNUSED;

#endif
