/* Bolt 5 (and 4.4) client session: handshake, auth, RUN/PULL streaming, transactions. */
#ifndef FALKORSYNC_BOLT_H
#define FALKORSYNC_BOLT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bolt/chunk.h"
#include "bolt/pack.h"
#include "bolt/route.h"
#include "net/net.h"
#include "util/buf.h"
#include "util/err.h"

/* A parsed connection URI: bolt, bolt+s, bolt+ssc, neo4j, neo4j+s, neo4j+ssc.
 * bolt* connect directly to the given address; neo4j* ask it for a routing
 * table (bolt/routing.c) and read from the readers it lists. */
struct bolt_uri {
    char scheme[16];
    char host[256];
    int port;         /* 7687 when absent */
    enum net_tls tls; /* +s: VERIFY, +ssc: TRUST_ANY */
    bool routing;     /* neo4j* scheme */
};

/* Parses uri into *out. FS_EURI with a reason in err (errlen bytes) otherwise. */
int bolt_uri_parse(const char *uri, struct bolt_uri *out, char *err, size_t errlen) FS_WARN_UNUSED;

/* What routing did, for the caller's log (bolt itself does not log). address
 * is host:port (no credentials); detail may be NULL. */
enum bolt_route_event {
    BOLT_ROUTE_TABLE,         /* a new table: address = the router that answered */
    BOLT_ROUTE_ROUTER_FAILED, /* a router (or the seed) did not answer ROUTE */
    BOLT_ROUTE_MEMBER_FAILED, /* a member could not be connected to; trying the next */
    BOLT_ROUTE_CHOSEN,        /* the session reads from this member */
};
typedef void (*bolt_route_log_fn)(void *ctx, enum bolt_route_event ev, const char *address,
                                  const char *detail);

/* The last routing table a router gave for a URI and database, shared by every session of a
 * process (neo4j* URIs): a session starts from it instead of the seed, reads from its readers
 * while it is within its ttl and, once it is older, asks its members for a new one before the
 * seed. So a dead seed fails no run while other members answer. Thread-safe. */
struct bolt_route_cache {
    pthread_mutex_t mu;
    char key[1024]; /* the URI and database the table is for; "" none */
    struct bolt_route_table table;
};
/* Caller storage; deinit when no session uses it any more. */
void bolt_route_cache_init(struct bolt_route_cache *rc);
void bolt_route_cache_deinit(struct bolt_route_cache *rc);

struct bolt_config {
    const char *uri;  /* required */
    const char *user; /* basic auth principal; NULL or "" for no auth */
    const char *password;
    const char *database;        /* NULL: the server's default database */
    const char *ca_file;         /* extra trusted CAs (PEM) for +s */
    int connect_timeout_ms;      /* <= 0: 10 s */
    int read_timeout_ms;         /* <= 0: 60 s; the longest silence while waiting for a reply */
    int write_timeout_ms;        /* <= 0: 60 s */
    int fetch_size;              /* records per PULL; 0: 1000; -1: all at once */
    size_t max_message;          /* cap on one Bolt message; 0: 256 MB */
    bolt_route_log_fn route_log; /* NULL: routing events are not reported */
    void *route_log_ctx;
    struct bolt_route_cache *route_cache; /* NULL: a session knows only its own table */
    /* Set while a reply is awaited: the wait ends within moments with FS_ECANCELLED and the
     * session becomes defunct (net_opts.stop). NULL: only the read timeout ends a wait. */
    volatile sig_atomic_t *stop;
};

/* One server to connect to; routing: PackStream MAP bytes of the routing
 * context for HELLO (NULL for a direct bolt:// connection). */
struct bolt_target {
    const char *host;
    int port;
    enum net_tls tls;
    const void *routing;
    size_t routing_len;
    int handshake_timeout_ms; /* > 0: longest wait for the handshake and HELLO/LOGON
                               * replies (a member that accepts and never answers);
                               * <= 0: the read timeout */
};

/* Cap on one message we send (the query and its parameters) and on what is
 * queued for the socket (a few messages, chunked: 2 bytes per 64 KB more). */
#define BOLT_MAX_OUT_MESSAGE ((size_t)256 << 20)
#define BOLT_MAX_OUT_QUEUED (BOLT_MAX_OUT_MESSAGE + ((size_t)1 << 20))

enum bolt_state {
    BOLT_DISCONNECTED,
    BOLT_READY,
    BOLT_STREAMING,    /* a result is open (auto-commit) */
    BOLT_TX_READY,     /* inside an explicit transaction */
    BOLT_TX_STREAMING, /* a result is open inside a transaction */
    BOLT_DEFUNCT,      /* the connection is unusable; reconnect */
};

enum bolt_mode { BOLT_MODE_WRITE = 0, BOLT_MODE_READ = 1 };

struct bolt_session {
    struct net_conn net;
    struct bolt_config cfg;
    char *database; /* owned copy of cfg.database */
    enum bolt_state state;
    int version_major;
    int version_minor;
    char server_agent[128];
    char connection_id[64];

    /* Last failure: Neo4j's code and message, GQL status when the server sends it. */
    int err;
    char code[128];
    char message[1024];
    char gql_status[16];
    char errstr[512]; /* one line: what failed, for logs */

    /* Current result. */
    char **fields;
    uint32_t nfields;
    bool has_more;
    bool stream_done;
    int64_t qid;
    struct fs_value summary; /* metadata of the SUCCESS that ended the last result */
    uint64_t records_seen;
    int pending; /* requests sent whose summary reply has not arrived */

    struct buf out;  /* one message being encoded */
    struct buf wire; /* chunked bytes to send */
    struct bolt_dechunker in;
    uint8_t *rbuf; /* bytes read from the socket, not yet de-chunked */
    size_t rpos, rlen, rcap;
    struct pack_limits limits;

    /* Routing (neo4j* URIs): the last table, kept across bolt_close so a
     * reconnect within its ttl does not ask again, and the member in use. */
    struct bolt_route_table route;
    char member[272]; /* host:port this session is connected to */
};

/* One record: the PackStream LIST of its values. data points into the
 * session and is valid until the next call on the session. */
struct bolt_record {
    const uint8_t *data;
    size_t len;
    uint32_t nvalues;
};

/* Initialises caller storage. */
void bolt_init(struct bolt_session *s);
/* Connects as cfg->uri says: bolt* directly; neo4j* through a routing table
 * (the session's, else cfg->route_cache's; fetched with ROUTE when absent or
 * older than its ttl, from the table's routers, then the seed, then its other
 * members) to the first reader that answers, then the other readers, then the
 * routers. Negotiates the version (5.8..5.0, then 4.4),
 * says HELLO and authenticates. Returns 0 or FS_EURI, FS_ECONNECT,
 * FS_ETIMEOUT, FS_ETLS*, FS_EVERSION, FS_EAUTH, FS_EPROTOCOL ...; s->errstr
 * says why (for a cluster: every member tried and how it failed).
 * Defined in bolt/routing.c. */
int bolt_connect(struct bolt_session *s, const struct bolt_config *cfg) FS_WARN_UNUSED;
/* Connects to one server t, with the settings of cfg (cfg->uri is not read).
 * Same returns as bolt_connect. The building block of bolt_connect. */
int bolt_connect_to(struct bolt_session *s, const struct bolt_config *cfg,
                    const struct bolt_target *t) FS_WARN_UNUSED;
/* Sends one encoded request message (msg, len: a PackStream struct) on a
 * READY session and reads its one reply: 0 with the SUCCESS metadata in
 * *meta (caller frees with fs_value_deinit), or the mapped FAILURE (session
 * RESET, still usable) or I/O error. */
int bolt_request(struct bolt_session *s, const void *msg, size_t len,
                 struct fs_value *meta) FS_WARN_UNUSED;
/* Says GOODBYE (when possible), closes and frees everything. Safe on a closed session. */
void bolt_close(struct bolt_session *s);

/* Runs a query. params_map is PackStream bytes of one MAP (NULL: no
 * parameters). Sends RUN + PULL together, waits for the RUN reply and fills
 * s->fields. Then read records with bolt_next. On a FAILURE, the session is
 * RESET (so it stays usable) and the mapped error is returned: FS_ESYNTAX,
 * FS_EDATABASE, FS_EAUTH or FS_ESERVER, with s->code / s->message. */
int bolt_run(struct bolt_session *s, const char *query, const void *params_map, size_t params_len,
             enum bolt_mode mode) FS_WARN_UNUSED;
/* Like bolt_run with a value tree of parameters (a MAP or NULL). */
int bolt_run_value(struct bolt_session *s, const char *query, const struct fs_value *params,
                   enum bolt_mode mode) FS_WARN_UNUSED;
/* Next record of the open result: 1 with *rec filled, 0 at the end (summary
 * in s->summary), or an error. Pulls further batches as needed, so any
 * result size is read in constant memory. */
int bolt_next(struct bolt_session *s, struct bolt_record *rec) FS_WARN_UNUSED;
/* Decodes a record into a LIST value (caller frees with fs_value_deinit). */
int bolt_record_decode(const struct bolt_session *s, const struct bolt_record *rec,
                       struct fs_value *out) FS_WARN_UNUSED;
/* Throws away the rest of the open result (DISCARD). */
int bolt_discard(struct bolt_session *s) FS_WARN_UNUSED;
/* Runs a query and discards its records; convenience for writes. */
int bolt_exec(struct bolt_session *s, const char *query,
              const struct fs_value *params) FS_WARN_UNUSED;

int bolt_begin(struct bolt_session *s, enum bolt_mode mode) FS_WARN_UNUSED;
int bolt_commit(struct bolt_session *s) FS_WARN_UNUSED;
int bolt_rollback(struct bolt_session *s) FS_WARN_UNUSED;
/* Sends RESET: aborts any open result or transaction; the session is READY after. */
int bolt_reset(struct bolt_session *s) FS_WARN_UNUSED;

/* Index of a field name in s->fields, or -1. */
int bolt_field_index(const struct bolt_session *s, const char *name);

#endif
