/* PackStream v1 codec: pure (bytes in, values out), bounded, no I/O. */
#ifndef FALKORSYNC_PACK_H
#define FALKORSYNC_PACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/value.h"

/* ---- Limits -------------------------------------------------------------
 * Decoding never reads past the input and never allocates more than
 * max_alloc bytes in total for one decoded value, whatever lengths the bytes
 * claim. Nesting deeper than max_depth is FS_ETOO_DEEP. */
struct pack_limits {
    size_t max_alloc; /* total heap bytes for one decoded value tree */
    int max_depth;    /* lists/maps/structs nested inside each other */
};
#define PACK_DEFAULT_MAX_ALLOC ((size_t)256 << 20)
#define PACK_DEFAULT_MAX_DEPTH 64
/* The defaults above, as a struct. */
struct pack_limits pack_default_limits(void);

/* ---- Low-level reader (the hot path reads values without a tree) -------- */

struct pack_reader {
    const uint8_t *p;
    size_t len;
    size_t pos;
};

/* One marker and what follows it, without descending into containers.
 * STRING/BYTES: data points into the input, size = byte length (checked to be
 * present). LIST/MAP: size = element/entry count (not checked against the
 * input: the caller reads them). STRUCT: tag and size = field count. */
struct pack_item {
    enum fs_value_kind kind;
    bool b;
    int64_t i;
    double f;
    const uint8_t *data;
    uint32_t size;
    uint8_t tag;
};

void pack_reader_init(struct pack_reader *r, const void *p, size_t len);
/* Reads one marker (+ scalar payload). FS_ETRUNCATED if the input ends,
 * FS_EMALFORMED on a reserved marker. Thread-safe on distinct readers.
 * On any error r->pos is unchanged (also for pack_skip and pack_decode). */
int pack_read_item(struct pack_reader *r, struct pack_item *it) FS_WARN_UNUSED;
/* Skips one whole value, containers included, up to max_depth levels.
 * Rejects what pack_decode rejects (same codes) except the allocation cap;
 * allocates nothing. */
int pack_skip(struct pack_reader *r, int max_depth) FS_WARN_UNUSED;

/* ---- Value tree (slow paths: verify, tests, API): see util/value.h ---- */
/* Decodes one value from r into *out (caller storage; free with
 * fs_value_deinit). On error *out is left empty (FS_VALUE_NULL) and nothing
 * leaks. Map keys that are not strings are FS_EMALFORMED. lim NULL means
 * pack_default_limits(). STRING and BYTES data are never NULL. */
int pack_decode(struct pack_reader *r, const struct pack_limits *lim,
                struct fs_value *out) FS_WARN_UNUSED;
/* ---- Encoder (appends to a buf; the smallest marker for each value) ----- */
int pack_write_null(struct buf *b) FS_WARN_UNUSED;
int pack_write_bool(struct buf *b, bool v) FS_WARN_UNUSED;
int pack_write_int(struct buf *b, int64_t v) FS_WARN_UNUSED;
int pack_write_float(struct buf *b, double v) FS_WARN_UNUSED;
int pack_write_string(struct buf *b, const char *s, size_t len) FS_WARN_UNUSED;
int pack_write_cstr(struct buf *b, const char *s) FS_WARN_UNUSED;
int pack_write_bytes(struct buf *b, const void *p, size_t len) FS_WARN_UNUSED;
int pack_write_list_header(struct buf *b, uint32_t n) FS_WARN_UNUSED;
int pack_write_map_header(struct buf *b, uint32_t n) FS_WARN_UNUSED;
/* n fields, at most 15 (PackStream structs have a tiny header only). */
int pack_write_struct_header(struct buf *b, uint8_t tag, uint32_t n) FS_WARN_UNUSED;
/* Encodes a whole value tree. FS_EINVAL for a non-string map key or a
 * struct of more than 15 fields; on error b is as it was before the call. */
int pack_encode(struct buf *b, const struct fs_value *v) FS_WARN_UNUSED;

/* ---- Bolt structure tags (Bolt 5) --------------------------------------- */
enum {
    PACK_TAG_NODE = 0x4E,                 /* id, labels, props, element_id */
    PACK_TAG_RELATIONSHIP = 0x52,         /* id, start, end, type, props, eid, start_eid, end_eid */
    PACK_TAG_UNBOUND_RELATIONSHIP = 0x72, /* id, type, props, element_id */
    PACK_TAG_PATH = 0x50,                 /* nodes, rels, indices */
    PACK_TAG_DATE = 0x44,                 /* days since epoch */
    PACK_TAG_TIME = 0x54,                 /* nanoseconds since midnight, tz offset seconds */
    PACK_TAG_LOCAL_TIME = 0x74,           /* nanoseconds since midnight */
    PACK_TAG_DATE_TIME = 0x49,            /* UTC seconds, nanos, tz offset seconds */
    PACK_TAG_DATE_TIME_ZONE_ID = 0x69,    /* UTC seconds, nanos, tz id */
    PACK_TAG_LEGACY_DATE_TIME = 0x46,     /* local seconds, nanos, tz offset seconds */
    PACK_TAG_LEGACY_DATE_TIME_ZONE_ID = 0x66, /* local seconds, nanos, tz id */
    PACK_TAG_LOCAL_DATE_TIME = 0x64,          /* seconds, nanos */
    PACK_TAG_DURATION = 0x45,                 /* months, days, seconds, nanos */
    PACK_TAG_POINT_2D = 0x58,                 /* srid, x, y */
    PACK_TAG_POINT_3D = 0x59,                 /* srid, x, y, z */
};

/* Checks that a STRUCT value has the field count and field kinds its tag
 * requires (unknown tags pass). FS_EMALFORMED otherwise; FS_EINVAL when v is
 * not a STRUCT. Bolt 4.4 field counts are accepted too. A Path's nodes,
 * relationships and indices (even count, in range) are checked as well. */
int pack_struct_check(const struct fs_value *v) FS_WARN_UNUSED;

#endif
