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
enum fs_value_kind {
    FS_VALUE_NULL,
    FS_VALUE_BOOL,
    FS_VALUE_INT,
    FS_VALUE_FLOAT,
    FS_VALUE_STRING,
    FS_VALUE_BYTES,
    FS_VALUE_LIST,
    FS_VALUE_MAP,
    FS_VALUE_STRUCT,
};

/* A value tree (slow paths: verify, tests, API); caller storage, all heap
 * memory owned by the tree. A zeroed struct is a valid NULL value. */
struct fs_value;
struct fs_value_pair;

struct fs_value {
    enum fs_value_kind kind;
    union {
        bool b;
        int64_t i;
        double f;
        struct {
            char *data;
            uint32_t len;
        } str; /* STRING (NUL-terminated copy) and BYTES */
        struct {
            struct fs_value *items;
            uint32_t len;
        } list; /* LIST and STRUCT fields */
        struct {
            struct fs_value_pair *items;
            uint32_t len;
        } map;
    } u;
    uint8_t tag; /* STRUCT only; fields are in u.list */
};

struct fs_value_pair {
    struct fs_value key; /* always a STRING */
    struct fs_value value;
};

/* Sets *v to FS_VALUE_NULL (caller storage; same as zeroing it). */
void fs_value_init(struct fs_value *v);
/* Allocates a FS_VALUE_NULL value on the heap; NULL when out of memory.
 * Free with fs_value_free. */
struct fs_value *fs_value_new(void);
/* Frees a heap value from fs_value_new and everything it owns; NULL is a no-op. */
void fs_value_free(struct fs_value *v);
/* Frees everything a decoded or built value owns; leaves it FS_VALUE_NULL. */
void fs_value_deinit(struct fs_value *v);
/* Looks up a key in a MAP value; NULL when absent or v is not a map.
 * With duplicate keys the last one wins (as the spec says). */
const struct fs_value *fs_value_map_get(const struct fs_value *v, const char *key);
/* Deep equality (floats compared bit-for-bit, so NaN == the same NaN; maps
 * are equal when they hold the same entries in any order). */
bool fs_value_equal(const struct fs_value *a, const struct fs_value *b);

#endif
