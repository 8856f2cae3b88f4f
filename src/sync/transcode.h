/* Hot path: PackStream values from Neo4j straight into FalkorDB parameter text, after the mapping rules. */
#ifndef FALKORSYNC_TRANSCODE_H
#define FALKORSYNC_TRANSCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bolt/pack.h"
#include "util/buf.h"
#include "util/err.h"

/* What could not be represented in FalkorDB, by rule (see docs/mapping.md).
 * Each such value is left out of the cache, counted here, and shows up in verify. */
struct xc_stats {
    uint64_t dropped_nan;        /* NaN or +-Inf float (no literal in FalkorDB) */
    uint64_t dropped_bytes;      /* byte arrays */
    uint64_t dropped_nul;        /* strings holding a NUL byte */
    uint64_t dropped_point;      /* spatial points */
    uint64_t dropped_key;        /* property names holding a backtick */
    uint64_t dropped_label;      /* labels / types holding a backtick */
    uint64_t dropped_other;      /* anything else (nested maps, lists with nulls, ...) */
};

uint64_t xc_stats_total(const struct xc_stats *s);

struct xc_rules {
    const char *const *embeddings; /* property names written as vecf32 (NULL-terminated) */
    int nembeddings;
};

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
 * when present (emb[i] gets "null" otherwise). Returns 0 or a negative error. */
int xc_props(struct pack_reader *r, const struct xc_rules *rules, struct buf *b,
             struct buf *emb, struct xc_stats *st) FS_WARN_UNUSED;

/* Appends name as a backtick-quoted identifier for query text. 1 when it
 * cannot be represented (holds a backtick or NUL), 0 on success. */
int xc_ident(struct buf *b, const char *name, size_t len) FS_WARN_UNUSED;

#endif
