/* FalkorDB connection: RESP over the shared TCP/TLS stream, parsed by hiredis' reader; pipelining.
 */
#ifndef FALKORSYNC_FDB_H
#define FALKORSYNC_FDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <hiredis.h>

#include "net/net.h"
#include "util/buf.h"
#include "util/err.h"

struct fdb_config {
    const char *host;
    int port;
    const char *username; /* ACL user; NULL/"" for the default user */
    const char *password; /* NULL/"" for no AUTH */
    bool tls;
    bool tls_insecure; /* with tls: accept any certificate */
    const char *ca_file;
    int connect_timeout_ms;
    int read_timeout_ms; /* <= 0: 300 s */
};

struct fdb_conn {
    struct fdb_config cfg; /* strings owned (copied) */
    struct net_conn net;
    redisReader *reader;
    struct buf wbuf; /* commands appended, not yet sent */
    int pending;     /* replies owed for commands sent or appended */
    FILE *record;    /* benchmarks: every command sent is also appended here (RESP) */
    int err;
    char errstr[512];
};

void fdb_init(struct fdb_conn *c);
/* Connects (and AUTHs). Copies cfg's strings. FS_ECONNECT, FS_ETIMEOUT, FS_EAUTH,
 * FS_ETLS*, ...; c->errstr says why. */
int fdb_connect(struct fdb_conn *c, const struct fdb_config *cfg) FS_WARN_UNUSED;
/* Closes and connects again with the same settings. */
int fdb_reconnect(struct fdb_conn *c) FS_WARN_UNUSED;
void fdb_close(struct fdb_conn *c);
bool fdb_is_connected(const struct fdb_conn *c);

/* Appends one command (binary-safe arguments) to the send buffer. */
int fdb_append(struct fdb_conn *c, int argc, const char *const *argv,
               const size_t *argvlen) FS_WARN_UNUSED;
/* Sends everything appended. */
int fdb_flush(struct fdb_conn *c) FS_WARN_UNUSED;
/* Reads the next reply (flushing first). *out is the caller's to freeReplyObject.
 * An error reply is returned as a reply (type REDIS_REPLY_ERROR), not as an error code;
 * only I/O and protocol failures return non-zero (and close the connection). */
int fdb_read_reply(struct fdb_conn *c, redisReply **out) FS_WARN_UNUSED;
/* append + read: one round trip. Returns FS_ESERVER for an error reply (text in errstr),
 * and then frees it; otherwise *out (may be NULL to drop the reply). */
int fdb_command(struct fdb_conn *c, redisReply **out, int argc, const char *const *argv,
                const size_t *argvlen) FS_WARN_UNUSED;
/* Convenience with NUL-terminated arguments. */
int fdb_commandv(struct fdb_conn *c, redisReply **out, int argc,
                 const char *const *argv) FS_WARN_UNUSED;

/* Checks a GRAPH.QUERY reply for an error: a top-level error reply or an
 * error element inside the result. Returns 0 or FS_ESERVER with the message
 * copied to errstr (errlen bytes). */
int fdb_reply_error(const redisReply *r, char *errstr, size_t errlen);

#endif
