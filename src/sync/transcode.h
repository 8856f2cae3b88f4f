/* Hot path: PackStream values from Neo4j straight into FalkorDB parameter text, after the mapping
 * rules. */
#ifndef FALKORSYNC_TRANSCODE_H
#define FALKORSYNC_TRANSCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bolt/pack.h"
#include "sync/fingerprint.h"
#include "util/buf.h"
#include "util/err.h"

/* What could not be represented in FalkorDB, by rule (see docs/mapping.md).
 * Each such value is left out of the cache, counted here, and shows up in verify. */
struct xc_stats {
    uint64_t dropped_nan;   /* NaN or +-Inf float (no literal in FalkorDB) */
    uint64_t dropped_bytes; /* byte arrays */
    uint64_t dropped_nul;   /* strings holding a NUL byte */
    uint64_t dropped_point; /* spatial points */
    uint64_t dropped_key;   /* property names holding a backtick */
    uint64_t dropped_label; /* labels / types holding a backtick */
    uint64_t dropped_other; /* anything else (nested maps, lists with nulls, ...) */
};

uint64_t xc_stats_total(const struct xc_stats *s);

struct xc_rules {
    const char *const *embeddings; /* property names written as vecf32 (NULL-terminated) */
    int nembeddings;
    bool native_temporal; /* generic profile, sync.temporal = native */
    /* graphiti profile: a group_id property holding the empty string (Neo4j's
     * default group) is written as this text instead (Graphiti's FalkorDB
     * default group "_"); NULL: no rewrite. See docs/mapping.md. */
    const char *empty_group_id;
};

/* True when the next value in r is the empty string of a property named
 * group_id and rules asks for its rewrite; then the value is consumed. */
bool xc_take_empty_group_id(struct pack_reader *r, const struct xc_rules *rules, const uint8_t *key,
                            size_t klen);

/* Native temporals (sync.temporal = native): FalkorDB's parameter grammar has
 * no temporal literal, so these properties leave the map and are set in the
 * query through date(), localdatetime(), localtime() or duration() of their
 * ISO text. Only what FalkorDB holds exactly goes native (it keeps whole
 * seconds): Date; LocalDateTime, zoned DateTime (its UTC value) and LocalTime
 * without a fraction of a second; Duration without months or fraction; years
 * 1..9999. Anything else stays ISO text, as with sync.temporal = iso. */
#define XC_MAX_NATIVE 16
struct xc_native_value {
    char name[128]; /* property name */
    const char *fn; /* FalkorDB function */
    char text[48];  /* its ISO argument */
    int code;       /* FalkorDB's compact type of the result */
    int64_t value;  /* FalkorDB's compact value (seconds) */
};
struct xc_native {
    int n;
    struct xc_native_value v[XC_MAX_NATIVE];
};

/* Appends "\x1d" and the signature (function and name of each native value)
 * to a batch key: rows of one batch share it. Nothing when nt->n is 0. */
int xc_native_signature(struct buf *key, const struct xc_native *nt) FS_WARN_UNUSED;
/* Appends ",t0:'<text>',t1:..." to a row. */
int xc_native_row(struct buf *row, const struct xc_native *nt) FS_WARN_UNUSED;
/* Appends ", <var>.`name` = fn(r.tI)" for each entry of the signature in key
 * (the part after "\x1d"; nothing without one). */
int xc_native_sets(struct buf *q, const char *var, const char *key) FS_WARN_UNUSED;
/* Appends ", <var>.`name` = vecf32(r.eI)" for each embedding of rules (1 when a name
 * cannot be quoted). */
int xc_embedding_sets(struct buf *q, const char *var, const struct xc_rules *rules) FS_WARN_UNUSED;
/* Length of key before its native signature. */
size_t xc_key_base_len(const char *key);

/* Formats a Bolt DateTime (UTC seconds, nanos) as Python's isoformat() of the
 * UTC value: 2025-08-25T12:34:56.123456+00:00, no fraction when zero; nanos
 * that are not whole microseconds keep all nine digits (never rounded).
 * out needs 40 bytes. Returns the length. */
int xc_format_datetime_utc(int64_t seconds, int64_t nanos, char *out, size_t cap);
/* Date (days since 1970-01-01) as YYYY-MM-DD. */
int xc_format_date(int64_t days, char *out, size_t cap);

/* Transcodes one property value from r (any PackStream value) into b as
 * parameter text. Returns 0, 1 when the value was dropped by a rule (b
 * unchanged, stats counted), or a negative error (malformed input). */
int xc_value(struct pack_reader *r, struct buf *b, struct xc_stats *st) FS_WARN_UNUSED;

/* Transcodes a property MAP from r into "{k:v,...}" in b, leaving out the
 * embedding properties, which are written (as lists of doubles) to emb[i]
 * when present (emb[i] gets "null" otherwise); with rules->native_temporal the
 * temporals FalkorDB can hold go to nt instead (nt may be NULL otherwise).
 * Returns 0 or a negative error. */
int xc_props(struct pack_reader *r, const struct xc_rules *rules, struct buf *b, struct buf *emb,
             struct xc_native *nt, struct xc_stats *st) FS_WARN_UNUSED;

/* The bulk method of full sync: the same rules, written as GRAPH.BULK values
 * (falkor/bulk.h). xc_value_bulk: like xc_value. xc_props_bulk: for each
 * property kept, its name (NUL-terminated) goes to names and its value to
 * vals, counted in nprops; a null or dropped value leaves the property out.
 * Embeddings (a list of numbers under a rules->embeddings name) are arrays
 * of doubles here, converted with vecf32() once loaded: bit j of emb_seen is
 * set when embedding j was written. No native temporals. */
int xc_value_bulk(struct pack_reader *r, struct buf *b, struct xc_stats *st) FS_WARN_UNUSED;
int xc_props_bulk(struct pack_reader *r, const struct xc_rules *rules, struct buf *names,
                  struct buf *vals, uint32_t *nprops, unsigned *emb_seen,
                  struct xc_stats *st) FS_WARN_UNUSED;

/* Verify's sink: the same rules, each kept property's value in fingerprint form
 * (sync/fingerprint.h; embeddings as float32 bits, no text) added to f with its name; nulls
 * left out. scratch holds one value at a time. Native temporals go to nt as with xc_props. */
int xc_props_fp(struct pack_reader *r, const struct xc_rules *rules, struct buf *scratch,
                struct xc_native *nt, struct xc_stats *st, struct fp_item *f) FS_WARN_UNUSED;

/* Appends name as a backtick-quoted identifier for query text. 1 when it
 * cannot be represented (holds a backtick or NUL), 0 on success. */
int xc_ident(struct buf *b, const char *name, size_t len) FS_WARN_UNUSED;

#endif
