/* One error table for all of falkorsync: negative codes, names, sides and messages. */
#ifndef FALKORSYNC_ERR_H
#define FALKORSYNC_ERR_H

#define FS_WARN_UNUSED __attribute__((warn_unused_result))

/* Where a failure comes from, for run reports and the error counters:
 * - NEO4J, FALKORDB: that server (or the way to it) failed;
 * - CONFIG: the settings are wrong;
 * - INTERNAL: falkorsync itself (memory, a bug, a stop request);
 * - PEER (table only): whichever server the call talked to. Transport and
 *   codec codes (TIMEOUT, CLOSED, MALFORMED, ...) happen on both
 *   connections; fs_err_side() resolves PEER with the side the caller knows. */
enum fs_side {
    FS_SIDE_INTERNAL = 0,
    FS_SIDE_NEO4J,
    FS_SIDE_FALKORDB,
    FS_SIDE_CONFIG,
    FS_SIDE_PEER,
};

/* X(name, code, side, message). Codes are negative; 0 means success.
 * The FDB_ codes classify FalkorDB error replies (falkor/fdb.h:
 * fdb_classify_error); a connection keeps the class of its last error reply
 * in fdb_conn.server_err while its calls still return FS_ESERVER. */
#define FS_ERR_MAP(X)                                                                              \
    X(NOMEM, -1, INTERNAL, "out of memory")                                                        \
    X(INVAL, -2, INTERNAL, "invalid argument")                                                     \
    X(TRUNCATED, -3, PEER, "input truncated")                                                      \
    X(MALFORMED, -4, PEER, "malformed input")                                                      \
    X(TOO_BIG, -5, PEER, "size exceeds the configured cap")                                        \
    X(TOO_DEEP, -6, PEER, "nesting too deep")                                                      \
    X(UNSUPPORTED, -7, PEER, "unsupported value or feature")                                       \
    X(IO, -8, PEER, "I/O error")                                                                   \
    X(TIMEOUT, -9, PEER, "timed out")                                                              \
    X(CLOSED, -10, PEER, "connection closed by peer")                                              \
    X(CONNECT, -11, PEER, "could not connect")                                                     \
    X(RESOLVE, -12, PEER, "could not resolve host")                                                \
    X(TLS, -13, PEER, "TLS error")                                                                 \
    X(TLS_VERIFY, -14, PEER, "TLS certificate verification failed")                                \
    X(PROTOCOL, -15, PEER, "protocol violation")                                                   \
    X(VERSION, -16, PEER, "no common protocol version")                                            \
    X(AUTH, -17, PEER, "authentication failed")                                                    \
    X(DATABASE, -18, NEO4J, "database not found")                                                  \
    X(SYNTAX, -19, NEO4J, "query syntax error")                                                    \
    X(SERVER, -20, PEER, "server reported a failure")                                              \
    X(STATE, -21, INTERNAL, "operation not allowed in the current state")                          \
    X(URI, -22, CONFIG, "invalid URI")                                                             \
    X(CONFIG, -23, CONFIG, "invalid configuration")                                                \
    X(NOT_FOUND, -24, PEER, "not found")                                                           \
    X(CANCELLED, -25, INTERNAL, "cancelled")                                                       \
    X(MISMATCH, -26, INTERNAL, "differences found")                                                \
    X(FDB_NOGRAPH, -27, FALKORDB, "no such graph (empty key)")                                     \
    X(FDB_EXISTS, -28, FALKORDB, "already exists")                                                 \
    X(FDB_NOPERM, -29, FALKORDB, "not permitted by the FalkorDB ACL (NOPERM)")                     \
    X(FDB_UNKNOWN_COMMAND, -30, FALKORDB, "unknown command (FalkorDB module not loaded?)")         \
    X(FDB_OOM, -31, FALKORDB, "FalkorDB out of memory (maxmemory)")                                \
    X(FDB_READONLY, -32, FALKORDB, "FalkorDB is a read-only replica")                              \
    X(FDB_WRONGTYPE, -33, FALKORDB, "key holds a value that is not a graph")                       \
    X(VANISHED, -34, NEO4J, "an item was deleted while the query read it (a null key)")            \
    X(FENCED, -35, INTERNAL, "this falkorsync no longer holds the cache's lease")

/* Positive codes: not failures but outcomes a callee hands up to its caller
 * (never reported as errors). Same X(name, code, side, message) shape; the
 * enum names are FS_<name>. Values match the sync layer's former #defines
 * (FULL_BULK_FALLBACK 2, FULL_BULK_RESTART 3). */
#define FS_SIGNAL_MAP(X)                                                                           \
    X(BULK_FALLBACK, 2, INTERNAL, "GRAPH.BULK cannot write this graph: use queries")               \
    X(RESTART, 3, INTERNAL, "the checkpoint names no usable state: start fresh")

enum fs_err {
#define FS_ERR_ENUM(name, code, side, msg) FS_E##name = code,
#define FS_SIGNAL_ENUM(name, code, side, msg) FS_##name = code,
    FS_OK = 0,
    FS_ERR_MAP(FS_ERR_ENUM) FS_SIGNAL_MAP(FS_SIGNAL_ENUM)
#undef FS_ERR_ENUM
#undef FS_SIGNAL_ENUM
};

/* Returns a static message for a code (errors and signals); never NULL. Thread-safe. */
const char *fs_strerror(int err);
/* Returns the static symbolic name ("TIMEOUT", "FDB_NOGRAPH", "RESTART") for a code. Thread-safe.
 */
const char *fs_errname(int err);
/* The side the table gives a code (FS_SIDE_PEER for transport and codec codes;
 * FS_SIDE_INTERNAL for 0, signals and unknown codes). Thread-safe. */
enum fs_side fs_errside(int err);
/* The side to report for err returned by a call that talked to `peer`
 * (FS_SIDE_NEO4J for bolt_*, FS_SIDE_FALKORDB for fdb_*): the table's side,
 * with PEER replaced by peer. Thread-safe. */
enum fs_side fs_err_side(int err, enum fs_side peer);
/* "neo4j", "falkordb", "config", "internal" or "peer": the name a report
 * and a metric label carry. Static, never NULL. Thread-safe. */
const char *fs_sidename(enum fs_side side);

#endif
