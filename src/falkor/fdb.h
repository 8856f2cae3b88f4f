/* FalkorDB connection: RESP over the shared TCP/TLS stream, parsed by hiredis' reader; pipelining.
 */
#ifndef FALKORSYNC_FDB_H
#define FALKORSYNC_FDB_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <hiredis.h>

#include "falkor/reply.h"
#include "net/net.h"
#include "util/buf.h"
#include "util/err.h"

struct fdb_conn;

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
    /* Largest reply accepted (bytes on the wire, one reply at a time);
     * 0: FDB_DEFAULT_MAX_REPLY_BYTES. A bigger reply is FS_ETOO_BIG and
     * closes the connection (setting falkordb.max_reply_mb). */
    size_t max_reply_bytes;
    /* Benchmarks: append every command sent, as RESP, to this file ("": off;
     * setting falkordb.record_commands, FALKORSYNC_RECORD_COMMANDS). NULL:
     * not given (for now the variable is then read directly; see fdb.c). */
    const char *record_file;
    /* Redis Cluster (setting falkordb.cluster): host:port is a seed node; the
     * slot map comes from CLUSTER SLOTS and every command goes to the primary
     * that owns its key's slot (see fdb_connect). */
    bool cluster;
    /* Fencing (sync/lease.h; NULL: off). After AUTH the connection names itself client_name
     * (CLIENT SETNAME), so that a new lease holder can find and close it, and then checks
     * that fence_key holds exactly fence_value (GET): otherwise the connect (or reconnect)
     * fails with FS_EFENCED and nothing is written through it. */
    const char *client_name, *fence_key, *fence_value;
    /* Cluster mode, with the fence: called with every node connection the client opens (at
     * connect, lazily on first use, after MOVED/ASK or a reconnect) once it named itself and
     * passed the fence check, before anything else is sent through it. sync/lease.c closes an
     * earlier lease holder's writer connections there on a node its takeover did not reach.
     * Non-zero (an FS_ code) fails the command that needed the node. NULL: none. */
    int (*node_opened)(void *arg, struct fdb_conn *node);
    void *node_opened_arg;
    /* Set: a wait for FalkorDB ends with FS_ECANCELLED within NET_STOP_POLL_MS and the
     * connection is dropped (its reply is never read). NULL: waits run to their timeout. */
    volatile sig_atomic_t *stop;
};

#define FDB_DEFAULT_MAX_REPLY_BYTES ((size_t)512 << 20)
/* Commands appended and not yet sent (one pipeline's worth). */
#define FDB_MAX_PENDING_BYTES ((size_t)1 << 30)

struct fdb_conn {
    struct fdb_config cfg; /* strings owned (copied) */
    struct net_conn net;
    redisReader *reader;
    redisReplyObjectFunctions reader_fn; /* hiredis' own, with a capped createArray */
    const redisReplyObjectFunctions *reader_fn_default; /* hiredis' own */
    struct buf wbuf;                                    /* commands appended, not yet sent */
    int pending;        /* replies owed for commands sent or appended */
    size_t reply_bytes; /* wire bytes of the reply being read so far */
    bool reply_too_big; /* the reader refused an array beyond the cap */
    FILE *record;       /* benchmarks: every command sent is also appended here (RESP) */
    int err;            /* the code of the last failure (what the call returned) */
    /* The class of the last failure when it was an error reply from the
     * server (fdb_classify_error: FS_EFDB_NOGRAPH, FS_EFDB_EXISTS, ..., or
     * FS_ESERVER when no class fits); 0 when the last failure was not an
     * error reply. The calls still return FS_ESERVER for every error reply;
     * callers test this field instead of matching errstr. */
    int server_err;
    char errstr[512];
    struct fdb_cluster *cl; /* cluster mode (cfg.cluster); NULL for one server */
};

struct fdb_cluster; /* fdb.c */

void fdb_init(struct fdb_conn *c);
/* Redis Cluster (cfg.cluster): the same calls, routed. Each command goes to
 * the primary owning the slot of its key (argv[1]; argv[2] for MEMORY USAGE
 * and GRAPH.MEMORY USAGE); a keyless command (PING, INFO, ...) to the node
 * of the last keyed command. MULTI is answered OK at once and sent just
 * before the next command, to that command's node; until EXEC/DISCARD
 * everything goes there, so a transaction must keep its keys in one slot
 * (hash tags; a key elsewhere aborts it with the server's error). Pipelined replies come back in
 * the order the commands were appended, across nodes. fdb_command follows -MOVED (refreshing the
 * slot map) and -ASK (ASKING first) and waits out -TRYAGAIN/-CLUSTERDOWN a few times; a pipelined
 * reply that is a redirection is returned as the error reply it is, and the next command is routed
 * by the refreshed map. GRAPH.LIST through fdb_command asks every primary and returns all graphs.
 */
bool fdb_is_cluster(const struct fdb_conn *c);
/* Cluster mode: the number of primaries (nodes owning slots) in the map;
 * 1 for one server. */
int fdb_cluster_primaries(const struct fdb_conn *c);
/* Cluster mode: the primary ("host:port") that owns key's slot, into out; ""
 * when unknown or not a cluster. */
void fdb_cluster_node_of(const struct fdb_conn *c, const char *key, char *out, size_t cap);
/* Calls fn(arg, node) with the connection of every primary of the slot map (cluster mode:
 * node connections opened as commands open them, named and fenced alike) or with c itself
 * (one server), for keyless per-server commands (CLIENT LIST, GRAPH.INFO). Only while no
 * reply is owed. Goes on past a node that cannot be reached or whose fn fails, and returns
 * the first such failure (c->errstr names the node) or 0. */
int fdb_each_primary(struct fdb_conn *c, int (*fn)(void *arg, struct fdb_conn *node),
                     void *arg) FS_WARN_UNUSED;
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
 * only I/O and protocol failures return non-zero (and close the connection), and
 * FS_ETOO_BIG for a reply over cfg.max_reply_bytes (also closing: the rest of
 * the reply is never read). */
int fdb_read_reply(struct fdb_conn *c, redisReply **out) FS_WARN_UNUSED;
/* append + read: one round trip. Returns FS_ESERVER for an error reply (text in errstr),
 * and then frees it; otherwise *out (may be NULL to drop the reply). */
int fdb_command(struct fdb_conn *c, redisReply **out, int argc, const char *const *argv,
                const size_t *argvlen) FS_WARN_UNUSED;
/* Convenience with NUL-terminated arguments. */
int fdb_commandv(struct fdb_conn *c, redisReply **out, int argc,
                 const char *const *argv) FS_WARN_UNUSED;

#endif
