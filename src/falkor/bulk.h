/* FalkorDB's GRAPH.BULK binary format: values, token headers, and a checker for whole tokens. */
#ifndef FALKORSYNC_FALKOR_BULK_H
#define FALKORSYNC_FALKOR_BULK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

/*
 * What FalkorDB 4.16 reads (src/bulk_insert/bulk_insert.c; checked against
 * the real server by tests/integration/test_full_sync.sh, which loads through
 * this format by default):
 *
 *   GRAPH.BULK <graph> [BEGIN] <nodes> <edges> <node tokens> <edge tokens>
 *              <token>...
 *
 * BEGIN creates the graph (an error if the key exists); without it the graph
 * must exist. Each token is one argument: a header, then rows until the end
 * of the argument.
 *   header: label(s) NUL-terminated ("A:B" = two labels, nodes only; so a
 *           label holding ':' cannot be written), a uint32 property count,
 *           that many NUL-terminated property names.
 *   node row: one value per property.
 *   edge row: uint64 source node id, uint64 destination node id, one value
 *           per property.
 *   value: a type byte, then NULL: nothing (the property is left unset);
 *          BOOL: 1 byte; DOUBLE: 8 bytes; LONG: 8 bytes (int64); STRING:
 *          bytes up to a NUL; ARRAY: int64 count, then that many values.
 * Numbers are in the server's byte order, read by pointer casts; we write
 * little-endian (FalkorDB runs on little-endian machines only). There is no
 * vector, map or temporal type. Nodes get ids in the order they are read
 * (token by token, row by row; a graph without deletions numbers them
 * 0, 1, 2, ...). The server ASSERTs instead of replying with an error on a
 * malformed token, so every token is checked with fdb_bulk_check before it
 * is sent.
 *
 * Every write function appends to b and, on error, leaves b as it was.
 */

enum fdb_bulk_type {
    FDB_BULK_NULL = 0,
    FDB_BULK_BOOL = 1,
    FDB_BULK_DOUBLE = 2,
    FDB_BULK_STRING = 3,
    FDB_BULK_LONG = 4,
    FDB_BULK_ARRAY = 5,
};

/* Properties per token: the server keeps the count in 16 bits. */
#define FDB_BULK_MAX_PROPS 65534

int fdb_bulk_null(struct buf *b) FS_WARN_UNUSED;
int fdb_bulk_bool(struct buf *b, bool v) FS_WARN_UNUSED;
int fdb_bulk_long(struct buf *b, int64_t v) FS_WARN_UNUSED;
int fdb_bulk_double(struct buf *b, double v) FS_WARN_UNUSED;
/* FS_EUNSUPPORTED when s holds a NUL byte. */
int fdb_bulk_string(struct buf *b, const char *s, size_t len) FS_WARN_UNUSED;
/* The head of an array of n values; the values follow. */
int fdb_bulk_array(struct buf *b, uint64_t n) FS_WARN_UNUSED;
/* An edge row's endpoints. */
int fdb_bulk_ends(struct buf *b, uint64_t src, uint64_t dst) FS_WARN_UNUSED;

/* A token header. labels: "A" or "A:B" (len bytes, no NUL); names: nprops
 * NUL-terminated names back to back (names_len bytes in all). FS_EINVAL for
 * an empty label, a NUL in labels, a ':' in an edge type, too many names or
 * names that do not match nprops. */
int fdb_bulk_header(struct buf *b, bool edge, const char *labels, size_t len, uint32_t nprops,
                    const char *names, size_t names_len) FS_WARN_UNUSED;

/* Checks one whole token as the server will read it: a well-formed header,
 * then rows of exactly nprops values (arrays nested at most max_depth deep)
 * up to the last byte. Counts the rows. 0 or FS_EMALFORMED. */
int fdb_bulk_check(const void *token, size_t len, bool edge, int max_depth,
                   uint64_t *rows) FS_WARN_UNUSED;

#endif
