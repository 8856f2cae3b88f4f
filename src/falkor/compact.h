/* FalkorDB `--compact` result cells decoded into neutral values: pure (a parsed reply in, values
 * out), no I/O. */
#ifndef FALKORSYNC_FALKOR_COMPACT_H
#define FALKORSYNC_FALKOR_COMPACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis.h>

#include "util/err.h"
#include "util/value.h"

/*
 * A `GRAPH.QUERY g q --compact` (or GRAPH.RO_QUERY) reply is
 *   [header, rows, statistics]
 * where header is [[column type, name], ...], rows is [[cell, ...], ...] and
 * every cell is a two-element array [value type, value]. Value types and
 * what FalkorDB 4.16 sends for each (checked against the real server by
 * tests/unit/test_compact.c, whose byte vectors were captured from it):
 *
 *   1  NULL       nil
 *   2  STRING     bulk string (any bytes)
 *   3  INTEGER    integer
 *   4  BOOLEAN    bulk string "true" / "false"
 *   5  DOUBLE     bulk string, C text: "1.5", "-0", "inf", "-inf", "nan"
 *   6  ARRAY      array of cells
 *   7  EDGE       [id, type id, source id, destination id, [[key id, type, value], ...]]
 *   8  NODE       [id, [label id, ...], [[key id, type, value], ...]]
 *   9  PATH       [[ARRAY, [NODE cells]], [ARRAY, [EDGE cells]]]
 *   10 MAP        [key, cell, key, cell, ...] (keys are bulk strings)
 *   11 POINT      [latitude, longitude] as DOUBLE text
 *   12 VECTORF32  [element, ...] as DOUBLE text (float32 values)
 *   13 DATETIME   integer: seconds since the epoch (localdatetime)
 *   14 DATE       integer: seconds since the epoch of its midnight
 *   15 TIME       integer: seconds since the epoch of that time on 1900-01-01
 *   16 DURATION   integer: seconds
 *
 * Labels, relationship types and property keys of nodes and edges come as
 * ids in compact mode (db.labels(), db.relationshipTypes() and
 * db.propertyKeys() name them); the decoder keeps the ids.
 */
enum fdb_compact_type {
    FDB_CT_NULL = 1,
    FDB_CT_STRING = 2,
    FDB_CT_INTEGER = 3,
    FDB_CT_BOOLEAN = 4,
    FDB_CT_DOUBLE = 5,
    FDB_CT_ARRAY = 6,
    FDB_CT_EDGE = 7,
    FDB_CT_NODE = 8,
    FDB_CT_PATH = 9,
    FDB_CT_MAP = 10,
    FDB_CT_POINT = 11,
    FDB_CT_VECTORF32 = 12,
    FDB_CT_DATETIME = 13,
    FDB_CT_DATE = 14,
    FDB_CT_TIME = 15,
    FDB_CT_DURATION = 16,
};

/* Containers nested deeper than this are FS_ETOO_DEEP (a value inside a
 * node inside a path counts every level). */
#define FDB_COMPACT_MAX_DEPTH 64

/*
 * What fdb_compact_decode makes of each type (a value tree of util/value.h):
 *
 *   NULL      FS_VALUE_NULL
 *   STRING    FS_VALUE_STRING (a NUL-terminated copy; the bytes may hold NUL)
 *   INTEGER   FS_VALUE_INT
 *   BOOLEAN   FS_VALUE_BOOL
 *   DOUBLE    FS_VALUE_FLOAT (the text read with strtod, all of it)
 *   ARRAY     FS_VALUE_LIST of the decoded cells
 *   MAP       FS_VALUE_MAP, keys FS_VALUE_STRING, in reply order
 *   the rest  FS_VALUE_STRUCT whose tag is the compact type (FDB_CT_*):
 *     NODE      fields [INT id, LIST of INT label ids, PROPS]
 *     EDGE      fields [INT id, INT type id, INT source id, INT destination id, PROPS]
 *     PATH      fields [LIST of NODE structs, LIST of EDGE structs]
 *     POINT     fields [FLOAT latitude, FLOAT longitude]
 *     VECTORF32 one FLOAT field per element, each exactly a float32 value
 *               ((double)(float)strtod(text)), so the bits compare exactly
 *     DATETIME, DATE, TIME, DURATION  one INT field, the seconds as sent
 *   PROPS is a LIST of two-field LISTs [INT key id, value].
 *
 * Anything else (a cell that is not [integer, value], a value of the wrong
 * reply type, number text with trailing bytes, a node or edge of the wrong
 * shape) is FS_EMALFORMED; an unknown type number is FS_EUNSUPPORTED;
 * nesting past FDB_COMPACT_MAX_DEPTH is FS_ETOO_DEEP; FS_ENOMEM.
 */

/* Decodes one [type, value] cell into *out (caller storage; free with
 * fs_value_deinit). On error *out is FS_VALUE_NULL and nothing leaks.
 * Does not take ownership of cell. Pure and thread-safe. */
int fdb_compact_decode(const redisReply *cell, struct fs_value *out) FS_WARN_UNUSED;

/* The type number of a cell (FDB_CT_*), or FS_EMALFORMED when cell is not
 * an [integer, value] pair. The number is not checked against the known
 * types. Pure. */
int fdb_compact_type(const redisReply *cell);

/* ---- Scalars without a tree (the hot path of a cache scan) --------------
 * Each returns 0 and the value, FS_EINVAL when the cell holds another type
 * (NULL included), or FS_EMALFORMED when the cell is not well formed. */

/* STRING: *s points into the reply (len bytes, NUL-terminated by hiredis). */
int fdb_compact_string(const redisReply *cell, const char **s, size_t *len) FS_WARN_UNUSED;
/* INTEGER, and the integer of DATETIME, DATE, TIME, DURATION. */
int fdb_compact_int(const redisReply *cell, int64_t *v) FS_WARN_UNUSED;
/* DOUBLE, or an INTEGER widened to double. */
int fdb_compact_double(const redisReply *cell, double *v) FS_WARN_UNUSED;
/* BOOLEAN. */
int fdb_compact_bool(const redisReply *cell, bool *v) FS_WARN_UNUSED;
/* true when the cell is a NULL cell. */
bool fdb_compact_is_null(const redisReply *cell);

/* ---- The result set ------------------------------------------------------ */
/* The rows array of a compact result reply ([header, rows, stats]), or NULL
 * when r is not shaped like one (an error reply, a write without RETURN has
 * only [stats]). Borrowed from r. Pure. */
const redisReply *fdb_compact_rows(const redisReply *r);

#endif
