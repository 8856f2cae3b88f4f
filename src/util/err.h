/* One error table for all of falkorsync: negative codes, names and messages. */
#ifndef FALKORSYNC_ERR_H
#define FALKORSYNC_ERR_H

#define FS_WARN_UNUSED __attribute__((warn_unused_result))

/* X(name, code, message). Codes are negative; 0 means success. */
#define FS_ERR_MAP(X)                                                                              \
    X(NOMEM, -1, "out of memory")                                                                  \
    X(INVAL, -2, "invalid argument")                                                               \
    X(TRUNCATED, -3, "input truncated")                                                            \
    X(MALFORMED, -4, "malformed input")                                                            \
    X(TOO_BIG, -5, "size exceeds the configured cap")                                              \
    X(TOO_DEEP, -6, "nesting too deep")                                                            \
    X(UNSUPPORTED, -7, "unsupported value or feature")                                             \
    X(IO, -8, "I/O error")                                                                         \
    X(TIMEOUT, -9, "timed out")                                                                    \
    X(CLOSED, -10, "connection closed by peer")                                                    \
    X(CONNECT, -11, "could not connect")                                                           \
    X(RESOLVE, -12, "could not resolve host")                                                      \
    X(TLS, -13, "TLS error")                                                                       \
    X(TLS_VERIFY, -14, "TLS certificate verification failed")                                      \
    X(PROTOCOL, -15, "protocol violation")                                                         \
    X(VERSION, -16, "no common protocol version")                                                  \
    X(AUTH, -17, "authentication failed")                                                          \
    X(DATABASE, -18, "database not found")                                                         \
    X(SYNTAX, -19, "query syntax error")                                                           \
    X(SERVER, -20, "server reported a failure")                                                    \
    X(STATE, -21, "operation not allowed in the current state")                                    \
    X(URI, -22, "invalid URI")                                                                     \
    X(CONFIG, -23, "invalid configuration")                                                        \
    X(NOT_FOUND, -24, "not found")                                                                 \
    X(CANCELLED, -25, "cancelled")                                                                 \
    X(MISMATCH, -26, "differences found")

enum fs_err {
#define FS_ERR_ENUM(name, code, msg) FS_E##name = code,
    FS_OK = 0,
    FS_ERR_MAP(FS_ERR_ENUM)
#undef FS_ERR_ENUM
};

/* Returns a static message for an error code; never NULL. Thread-safe. */
const char *fs_strerror(int err);
/* Returns the static symbolic name ("TIMEOUT") for an error code. Thread-safe. */
const char *fs_errname(int err);

#endif
