/* Health probe of both databases: reachability, latency, versions and per-type counts, for the
 * service's health checks and `falkorsync ping` (which never speak Bolt or RESP themselves). */
#ifndef FALKORSYNC_SYNC_PROBE_H
#define FALKORSYNC_SYNC_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "util/err.h"

#define PROBE_MAX_TYPES 16

enum probe_flags {
    PROBE_COUNTS = 1 << 0,   /* count each type of the profile on both sides */
    PROBE_VERSIONS = 1 << 1, /* ask FalkorDB for its version and check the graph module */
};

struct probe_side {
    bool ok;
    double latency_ms;
    char error[256];   /* why not ok (credentials masked), "" when ok */
    char version[160]; /* Neo4j: server agent and Bolt version; FalkorDB: Redis version */
};

struct probe_result {
    struct probe_side neo4j, falkordb;
    int ntypes;                              /* the profile's types (at most PROBE_MAX_TYPES) */
    int64_t count_neo4j[PROBE_MAX_TYPES];    /* -1 unknown */
    int64_t count_falkordb[PROBE_MAX_TYPES]; /* -1 unknown; 0 when the graph does not exist */
};

/* Connects to Neo4j (RETURN 1) and FalkorDB (PING), each within timeout_ms for
 * connect and read (<= 0: the configured timeouts), and fills *out. Returns 0
 * when both answered, else FS_ECONNECT (details in out). Thread-safe (no
 * shared state); blocks up to about 2 * timeout_ms per side. */
int sync_probe(const struct cfg *c, unsigned flags, int timeout_ms,
               struct probe_result *out) FS_WARN_UNUSED;

/* The continuous-sync switch that POST /api/sync/start and /api/sync/stop set, kept in
 * FalkorDB (falkorsync:continuous:<falkordb.database> = "on" | "off") so that a restart of
 * `serve` keeps it. Each call opens its own connection (timeout_ms for connect and read,
 * <= 0: the configured timeouts); thread-safe.
 * sync_continuous_get: 1 with *on set when the key holds "on" or "off", 0 when there is no
 * such key (the configuration decides), < 0 when FalkorDB cannot be asked (why in err). */
int sync_continuous_get(const struct cfg *c, int timeout_ms, bool *on, char *err, size_t errlen);
/* Stores on: 0, or < 0 with why in err. */
int sync_continuous_set(const struct cfg *c, int timeout_ms, bool on, char *err,
                        size_t errlen) FS_WARN_UNUSED;

/* The Neo4j URI and FalkorDB address of c for display, credentials masked. */
void sync_probe_targets(const struct cfg *c, char *neo4j, size_t ncap, char *falkordb, size_t fcap);

#endif
