/* FalkorDB parameter text: encodes values as the literals of `GRAPH.QUERY g "CYPHER k=v ...
 * <query>"`. */
#ifndef FALKORSYNC_FALKOR_PARAM_H
#define FALKORSYNC_FALKOR_PARAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/value.h"
#include "falkor/ftoa.h"
#include "util/buf.h"
#include "util/err.h"

/*
 * What FalkorDB 4.16 accepts (its own parameter parser, src/ast/param_parser.c,
 * not libcypher-parser; checked against the real server by
 * tests/integration/test_falkor_param.c):
 *
 * - Strings are quoted with ' or " (the parser treats both alike). Only the
 *   quote and the backslash are escaped (\' or \" and \\); every other byte
 *   0x01-0xFF goes through raw, newlines, tabs and invalid UTF-8 included, and
 *   comes back byte for byte. The quote is ' unless the string holds more '
 *   than ", so most text needs no escape at all (the server copies such
 *   strings without unescaping). NUL cannot be represented: the server
 *   parses the query as a C string and has no escape for it, so a string
 *   with a NUL byte is FS_EUNSUPPORTED. There is no \u escape.
 * - Integers are decimal; INT64_MIN and INT64_MAX round-trip.
 * - Doubles are the shortest text that reads back to the same bits, written
 *   like Python's repr() (0.1, 1e+16, 5e-324, -0.0): always with a '.' or an
 *   exponent so they stay doubles. NaN and +-Inf are FS_EUNSUPPORTED: there
 *   is no literal for them (1e999 happens to overflow to inf in the
 *   parameter parser, but FalkorDB's query parser rejects it as "Float
 *   overflow", so we do not lean on that accident).
 * - true, false, null; lists [a,b]; maps {key:value}. A key is written bare
 *   when it matches [A-Za-z_][A-Za-z0-9_]*, else in backticks, which may hold
 *   any byte but a backtick or NUL (there is no escape for a backtick inside
 *   backticks): such keys are FS_EUNSUPPORTED. Duplicate keys would be
 *   merged silently by the server (the last wins), so fdb_param_encode
 *   refuses them (FS_EINVAL).
 * - Parameter names must match [A-Za-z_][A-Za-z0-9_]*; with a repeated name
 *   the first value wins on the server, so fdb_param_prefix refuses them.
 *
 * Every write function appends to b and, on any error, leaves b exactly as
 * it was (length and contents), so a caller can skip a value and go on.
 * All functions are pure and thread-safe on distinct buffers.
 */

/* Containers nested deeper than this are FS_ETOO_DEEP (the server's parser
 * recurses once per level). Same depth as PACK_DEFAULT_MAX_DEPTH. */
#define FDB_PARAM_MAX_DEPTH 64
/* ---- Scalars (the hot path: PackStream is transcoded straight into these) */
int fdb_param_write_null(struct buf *b) FS_WARN_UNUSED;
int fdb_param_write_bool(struct buf *b, bool v) FS_WARN_UNUSED;
int fdb_param_write_int(struct buf *b, int64_t v) FS_WARN_UNUSED;
/* fdb_ftoa_double's text (falkor/ftoa.h). FS_EUNSUPPORTED for NaN and +-Inf. */
int fdb_param_write_double(struct buf *b, double v) FS_WARN_UNUSED;
/* The shortest text that FalkorDB reads back (text -> double -> vecf32's
 * float) as exactly v: at most 9 significant digits instead of a double's 17.
 * Written like fdb_param_write_double; it is also the canonical double text
 * of the double it reads as, so fdb_param_decode accepts it. (FalkorDB would
 * take ".5" for "0.5" too, a byte less per element, but the strict decoder
 * that verify uses would not.) FS_EUNSUPPORTED for NaN and +-Inf. */
int fdb_param_write_float32(struct buf *b, float v) FS_WARN_UNUSED;
/* s: len exact bytes (no terminator needed). FS_EUNSUPPORTED if one is NUL. */
int fdb_param_write_string(struct buf *b, const char *s, size_t len) FS_WARN_UNUSED;

/* ---- Containers. The caller writes fdb_param_write_sep between items and
 * between map entries, and keeps keys unique within a map. */
int fdb_param_list_begin(struct buf *b) FS_WARN_UNUSED; /* [ */
int fdb_param_list_end(struct buf *b) FS_WARN_UNUSED;   /* ] */
int fdb_param_map_begin(struct buf *b) FS_WARN_UNUSED;  /* { */
int fdb_param_map_end(struct buf *b) FS_WARN_UNUSED;    /* } */
int fdb_param_write_sep(struct buf *b) FS_WARN_UNUSED;  /* , */
/* Writes key (len bytes) and the ':' after it, bare or backtick-quoted.
 * FS_EUNSUPPORTED if the key holds a backtick or NUL. */
int fdb_param_map_key(struct buf *b, const char *key, size_t len) FS_WARN_UNUSED;

/* ---- The CYPHER prefix, piece by piece: begin, then for each parameter
 * fdb_param_name and one value, then end; the query text follows. */
int fdb_param_prefix_begin(struct buf *b) FS_WARN_UNUSED; /* "CYPHER" */
/* " name=". FS_EINVAL unless name matches [A-Za-z_][A-Za-z0-9_]*. */
int fdb_param_name(struct buf *b, const char *name) FS_WARN_UNUSED;
int fdb_param_prefix_end(struct buf *b) FS_WARN_UNUSED; /* " " */

/* ---- Whole value trees (slow paths: verify, API, tests) ----------------- */
/* Encodes v. FS_EUNSUPPORTED for BYTES, STRUCT, NaN, +-Inf, strings with
 * NUL and keys with a backtick or NUL; FS_EINVAL for a map with a repeated
 * key or a key that is not a STRING; FS_ETOO_DEEP past FDB_PARAM_MAX_DEPTH.
 * Does not take ownership of v. */
int fdb_param_encode(struct buf *b, const struct fs_value *v) FS_WARN_UNUSED;

struct fdb_param {
    const char *name;             /* [A-Za-z_][A-Za-z0-9_]* */
    const struct fs_value *value; /* borrowed */
};
/* Writes "CYPHER n1=v1 n2=v2 " (trailing space included, so the query text
 * can be appended directly). FS_EINVAL for a bad or repeated name, else the
 * errors of fdb_param_encode. n may be 0 ("CYPHER "). */
int fdb_param_prefix(struct buf *b, const struct fdb_param *params, size_t n) FS_WARN_UNUSED;

/* ---- Decoder (tests, fuzzing, tools) ------------------------------------ */
/* Decodes exactly one value from text[0..len) into *out (caller storage;
 * free with fs_value_deinit). Strict: accepts only text that
 * fdb_param_encode would write for the decoded value, byte for byte, with
 * nothing before or after it. FS_EMALFORMED or FS_ETRUNCATED for other text,
 * FS_ETOO_DEEP past FDB_PARAM_MAX_DEPTH, FS_ETOO_BIG for a string over
 * UINT32_MAX - 1 bytes. On error *out is FS_VALUE_NULL and nothing leaks.
 * Memory use is bounded by a small multiple of len. */
int fdb_param_decode(const char *text, size_t len, struct fs_value *out) FS_WARN_UNUSED;

#endif
