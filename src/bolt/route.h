/* Bolt routing codec (pure): the routing context of a neo4j:// URI, the ROUTE request, the table.
 */
#ifndef FALKORSYNC_ROUTE_H
#define FALKORSYNC_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "bolt/pack.h"
#include "util/buf.h"
#include "util/err.h"

#define BOLT_MSG_ROUTE 0x66
/* Members kept per role; a bigger table keeps the first ones (Neo4j
 * clusters have a handful of members). */
#define BOLT_ROUTE_MAX_MEMBERS 16
/* Query parameters of the routing context (neo4j://h?policy=eu&region=x). */
#define BOLT_ROUTE_MAX_PARAMS 16

/* host:port of one member ("[::1]:7687" for IPv6). */
struct bolt_addr {
    char host[256];
    int port;
};

enum bolt_role { BOLT_ROLE_ROUTE = 0, BOLT_ROLE_READ, BOLT_ROLE_WRITE, BOLT_ROLE_COUNT };

/* A routing table as Neo4j answers ROUTE. */
struct bolt_route_table {
    int64_t ttl;    /* seconds, as the server said */
    double expires; /* monotonic seconds when it goes stale; 0: no table */
    char db[128];   /* the database it is for (the home database when none was asked) */
    int n[BOLT_ROLE_COUNT];
    struct bolt_addr members[BOLT_ROLE_COUNT][BOLT_ROUTE_MAX_MEMBERS];
    int dropped; /* addresses beyond BOLT_ROUTE_MAX_MEMBERS, not kept */
};

/* The routing context: "address" (the URI's host:port) plus the URI's query parameters. */
struct bolt_route_context {
    char address[272];
    int nparams;
    char keys[BOLT_ROUTE_MAX_PARAMS][64];
    char values[BOLT_ROUTE_MAX_PARAMS][256];
};

/* Parses "host:port", "[v6]:port" or "host" (port 7687) of len bytes into *out.
 * 0, or FS_EMALFORMED (empty or too long host, bad port, stray text). */
int bolt_addr_parse(const char *s, size_t len, struct bolt_addr *out) FS_WARN_UNUSED;
/* Writes "host:port" (brackets around an IPv6 host) into out (cap bytes). */
void bolt_addr_format(const struct bolt_addr *a, char *out, size_t cap);

/* Builds the routing context of a URI: address from host and port, and the
 * query string's key=value pairs ('&'-separated, %XX decoded). FS_EURI with a
 * reason in err for a parameter without '=' or value, a duplicate key, the
 * reserved key "address", or more than BOLT_ROUTE_MAX_PARAMS. */
int bolt_route_context_parse(const char *uri, const char *host, int port,
                             struct bolt_route_context *ctx, char *err,
                             size_t errlen) FS_WARN_UNUSED;
/* Appends the context as one PackStream MAP of strings. */
int bolt_route_context_write(struct buf *b, const struct bolt_route_context *ctx) FS_WARN_UNUSED;
/* Appends a whole ROUTE message (Bolt 4.4 / 5.x): the context, no
 * bookmarks, and extra {db, imp_user} with the entries that are set
 * (db NULL/"": the home database). */
int bolt_route_write(struct buf *b, const struct bolt_route_context *ctx, const char *db,
                     const char *imp_user) FS_WARN_UNUSED;

/* Reads the metadata of ROUTE's SUCCESS ({rt: {ttl, db, servers: [{addresses,
 * role}]}}) into *out (expires left 0). Unknown roles and keys are ignored.
 * FS_EMALFORMED with a reason in err when rt, ttl or servers is missing or of
 * the wrong kind, or an address does not parse. */
int bolt_route_table_from_meta(const struct fs_value *meta, struct bolt_route_table *out, char *err,
                               size_t errlen) FS_WARN_UNUSED;
/* The same from the PackStream bytes of the metadata map (decoded within lim;
 * NULL: defaults). */
int bolt_route_table_parse(const void *p, size_t len, const struct pack_limits *lim,
                           struct bolt_route_table *out, char *err, size_t errlen) FS_WARN_UNUSED;

#endif
