/* The neutral value tree shared by the Bolt and FalkorDB codecs (no protocol knowledge). */
#ifndef FALKORSYNC_VALUE_H
#define FALKORSYNC_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The kinds of a value. They are PackStream's kinds (the richest of the
 * protocols we speak); STRUCT carries a tag whose meaning belongs to the
 * codec that built it (bolt/pack.h: PACK_TAG_*, falkor/compact.h:
 * FDB_COMPACT_TAG_*). */
enum pack_kind {
    PACK_NULL,
    PACK_BOOL,
    PACK_INT,
    PACK_FLOAT,
    PACK_STRING,
    PACK_BYTES,
    PACK_LIST,
    PACK_MAP,
    PACK_STRUCT,
};

/* A value tree (slow paths: verify, tests, API); caller storage, all heap
 * memory owned by the tree. A zeroed struct is a valid NULL value. */
struct pack_value;
struct pack_pair;

struct pack_value {
    enum pack_kind kind;
    union {
        bool b;
        int64_t i;
        double f;
        struct {
            char *data;
            uint32_t len;
        } str; /* STRING (NUL-terminated copy) and BYTES */
        struct {
            struct pack_value *items;
            uint32_t len;
        } list; /* LIST and STRUCT fields */
        struct {
            struct pack_pair *items;
            uint32_t len;
        } map;
    } u;
    uint8_t tag; /* STRUCT only; fields are in u.list */
};

struct pack_pair {
    struct pack_value key; /* always a STRING */
    struct pack_value value;
};

/* Frees everything a decoded or built value owns; leaves it PACK_NULL. */
void pack_value_deinit(struct pack_value *v);
/* Looks up a key in a MAP value; NULL when absent or v is not a map.
 * With duplicate keys the last one wins (as the spec says). */
const struct pack_value *pack_map_get(const struct pack_value *v, const char *key);
/* Deep equality (floats compared bit-for-bit, so NaN == the same NaN; maps
 * are equal when they hold the same entries in any order). */
bool pack_value_equal(const struct pack_value *a, const struct pack_value *b);

#endif
