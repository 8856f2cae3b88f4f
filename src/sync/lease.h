/* The writer lease: one falkorsync writes a cache at a time; a fencing token keeps an old holder
 * (crashed, paused, partitioned) from writing after a new one took over. */
#ifndef FALKORSYNC_SYNC_LEASE_H
#define FALKORSYNC_SYNC_LEASE_H

#include <signal.h>
#include <stdbool.h>

#include "config/config.h"
#include "util/err.h"

/* Who holds the lease, as last seen. */
struct sync_lease_info {
    bool active;       /* this process holds it */
    long long token;   /* the holder's fencing token; 0: nobody holds it, or not known */
    char holder[192];  /* the holder's owner id (host:pid:random); "" when nobody */
    char command[32];  /* the holder's command (serve, full, incremental, reconcile) */
    double expires_in; /* seconds until it lapses unless renewed; < 0 unknown */
    char error[512];   /* the last FalkorDB failure while taking or renewing it; "" none */
    int code;          /* sync_lease_try's failure as a run's error code (FDB_OOM, ...) */
};

struct sync_lease;

/* A lease handle for cache c (falkordb.database) held on behalf of command ("serve", "full",
 * ...). c must outlive the handle. NULL when out of memory. Not thread-safe except where
 * noted. */
struct sync_lease *sync_lease_new(const struct cfg *c, const char *command);
/* Stops the renewal and releases the lease if held. NULL is a no-op. */
void sync_lease_free(struct sync_lease *l);

/* Tries once to take the lease (SET NX with a new fencing token from INCR). force: take it
 * even from another holder, whose writes are then refused. Returns 1 when taken (then the
 * FalkorDB connections of earlier holders of this cache are closed, CLIENT LIST + KILL, on the
 * server or on every primary of a Redis Cluster, and their queries drained), 0
 * when another holds it (info says who), or a negative code with info->error. info may be
 * NULL. */
int sync_lease_try(struct sync_lease *l, bool force, struct sync_lease_info *info) FS_WARN_UNUSED;

/* Starts the renewal thread of a taken lease: renews every sync_lease_interval() seconds from
 * its own connection (a long run never delays it). Sets *run_stop = 1 when the lease is lost
 * (another took it, or no renewal succeeded for a whole TTL) and also as soon as *stop is set,
 * so a run can watch one flag. Returns 0 or FS_ENOMEM/FS_ESTATE. */
int sync_lease_keep(struct sync_lease *l, volatile sig_atomic_t *stop,
                    volatile sig_atomic_t *run_stop) FS_WARN_UNUSED;

/* Stops the renewal thread and deletes the lease when it is still this holder's. */
void sync_lease_release(struct sync_lease *l);

/* *out = *c with the fence of the held lease: every FalkorDB connection opened from out (in a
 * Redis Cluster: every node connection, also those opened later) names itself as this holder's
 * writer and refuses to work once the lease changed hands; a cluster node first used after the
 * takeover that was not swept then is swept before its first use. Strings are borrowed from c
 * and l (valid until the lease is released). */
void sync_lease_fence(struct sync_lease *l, const struct cfg *c, struct cfg *out);

/* What this handle knows about the lease now. Thread-safe. */
void sync_lease_info(struct sync_lease *l, struct sync_lease_info *out);

/* True while this process holds the lease (renewed within the TTL). Thread-safe. */
bool sync_lease_active(struct sync_lease *l);

/* Seconds between renewals (and between a standby's attempts): sync.lease_renew_seconds, or
 * a third of sync.lease_ttl_seconds when that is 0. Pure. */
double sync_lease_interval(const struct cfg *c);

/* One line for people: "serve on host:1:ab (token 7, lease expires in 12.0 s)". Thread-safe
 * (works on a copy). */
void sync_lease_describe(const struct sync_lease_info *i, char *out, size_t cap);

#endif
