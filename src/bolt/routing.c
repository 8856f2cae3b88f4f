/* bolt_connect: direct for bolt:// URIs; for neo4j:// a routing table (ROUTE), a reader, failover.
 */
#include "bolt/bolt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_TRIED (BOLT_ROLE_COUNT * BOLT_ROUTE_MAX_MEMBERS * 2 + 1)

/* One routed connect: what it knows and what it tried. */
struct route_run {
    struct bolt_session *s;
    const struct bolt_config *cfg;
    struct bolt_uri uri;
    struct bolt_route_context ctx;
    struct buf ctxmap; /* the context as a PackStream map, for HELLO */
    char tried[MAX_TRIED][sizeof((struct bolt_session *)0)->member];
    int ntried;
    char failures[448]; /* "host:port: why; ..." for the final error */
    int last_err;
    char key[sizeof((struct bolt_route_cache *)0)->key]; /* the URI and database */
};

void bolt_route_cache_init(struct bolt_route_cache *rc)
{
    memset(rc, 0, sizeof *rc);
    pthread_mutex_init(&rc->mu, NULL);
}

void bolt_route_cache_deinit(struct bolt_route_cache *rc)
{
    pthread_mutex_destroy(&rc->mu);
}

/* The session starts from the process' table when it has none of its own or an older one. */
static void cache_load(struct route_run *R)
{
    struct bolt_route_cache *rc = R->cfg->route_cache;
    if (!rc)
        return;
    struct bolt_route_table *t = &R->s->route;
    pthread_mutex_lock(&rc->mu);
    const struct bolt_route_table *c = &rc->table;
    bool members = c->n[BOLT_ROLE_ROUTE] + c->n[BOLT_ROLE_READ] + c->n[BOLT_ROLE_WRITE] > 0;
    bool mine = t->n[BOLT_ROLE_ROUTE] + t->n[BOLT_ROLE_READ] + t->n[BOLT_ROLE_WRITE] > 0;
    if (!strcmp(rc->key, R->key) && members && (!mine || c->expires > t->expires))
        *t = *c;
    pthread_mutex_unlock(&rc->mu);
}

/* A table a router just gave becomes the process' table. */
static void cache_store(struct route_run *R)
{
    struct bolt_route_cache *rc = R->cfg->route_cache;
    if (!rc)
        return;
    pthread_mutex_lock(&rc->mu);
    snprintf(rc->key, sizeof rc->key, "%s", R->key);
    rc->table = R->s->route;
    pthread_mutex_unlock(&rc->mu);
}

/* A reader that could not be reached leaves the process' readers until the next table, so
 * the next sessions do not wait for it again; with no reader left the table is asked again. */
static void cache_forget_reader(struct route_run *R, const struct bolt_addr *a)
{
    struct bolt_route_cache *rc = R->cfg->route_cache;
    if (!rc)
        return;
    pthread_mutex_lock(&rc->mu);
    struct bolt_route_table *t = &rc->table;
    for (int k = 0; !strcmp(rc->key, R->key) && k < t->n[BOLT_ROLE_READ]; k++)
        if (t->members[BOLT_ROLE_READ][k].port == a->port &&
            !strcmp(t->members[BOLT_ROLE_READ][k].host, a->host)) {
            memmove(&t->members[BOLT_ROLE_READ][k], &t->members[BOLT_ROLE_READ][k + 1],
                    (size_t)(t->n[BOLT_ROLE_READ] - k - 1) * sizeof t->members[0][0]);
            t->n[BOLT_ROLE_READ]--;
            k--;
        }
    if (!t->n[BOLT_ROLE_READ])
        t->expires = 0;
    pthread_mutex_unlock(&rc->mu);
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void emit(const struct route_run *R, enum bolt_route_event ev, const char *addr,
                 const char *detail)
{
    if (R->cfg->route_log)
        R->cfg->route_log(R->cfg->route_log_ctx, ev, addr, detail);
}

/* Failures that no other member can cure: stop trying. */
static bool fatal(int rc)
{
    return rc == FS_EAUTH || rc == FS_ENOMEM || rc == FS_EDATABASE || rc == FS_EURI ||
           rc == FS_EINVAL;
}

static bool was_tried(const struct route_run *R, const char *addr)
{
    for (int k = 0; k < R->ntried; k++)
        if (!strcmp(R->tried[k], addr))
            return true;
    return false;
}

static void note_failure(struct route_run *R, const char *addr, int rc, enum bolt_route_event ev)
{
    R->last_err = rc;
    if (R->ntried < MAX_TRIED)
        snprintf(R->tried[R->ntried++], sizeof R->tried[0], "%s", addr);
    /* The summary keeps the last part of the detail ("Connection refused"); the log has it all. */
    const char *why = strrchr(R->s->errstr, ':');
    why = why && why[1] == ' ' && strcmp(why + 2, fs_strerror(rc)) ? why + 2 : "";
    size_t used = strlen(R->failures);
    if (used + 8 < sizeof R->failures)
        snprintf(R->failures + used, sizeof R->failures - used, "%s%s (%s%s%s)", used ? "; " : "",
                 addr, fs_strerror(rc), *why ? ": " : "", why);
    emit(R, ev, addr, R->s->errstr);
}

/* Forgets a member that failed, in every role, so a reconnect within the ttl skips it. */
static void forget(struct bolt_route_table *t, const struct bolt_addr *a)
{
    for (int r = 0; r < BOLT_ROLE_COUNT; r++)
        for (int k = 0; k < t->n[r]; k++)
            if (t->members[r][k].port == a->port && !strcmp(t->members[r][k].host, a->host)) {
                memmove(&t->members[r][k], &t->members[r][k + 1],
                        (size_t)(t->n[r] - k - 1) * sizeof t->members[r][0]);
                t->n[r]--;
                k--;
            }
}

static int connect_member(struct route_run *R, const struct bolt_addr *a)
{
    struct bolt_target t = {
        .host = a->host,
        .port = a->port,
        .tls = R->uri.tls,
        .routing = R->ctxmap.data,
        .routing_len = R->ctxmap.len,
        /* a member that accepts and never answers costs the connect timeout, not the read
         * timeout: the next member is tried within seconds */
        .handshake_timeout_ms = R->cfg->connect_timeout_ms > 0 ? R->cfg->connect_timeout_ms : 10000,
    };
    return bolt_connect_to(R->s, R->cfg, &t);
}

/* Asks one router for a table into *out; the connection is closed after. */
static int ask_router(struct route_run *R, const struct bolt_addr *a, struct bolt_route_table *out)
{
    int rc = connect_member(R, a);
    if (rc)
        return rc;
    struct buf msg;
    buf_init(&msg, (size_t)1 << 20);
    struct fs_value meta = {0};
    net_set_read_timeout(&R->s->net,
                         R->cfg->connect_timeout_ms > 0 ? R->cfg->connect_timeout_ms : 10000);
    rc = bolt_route_write(&msg, &R->ctx, R->cfg->database, NULL);
    rc = rc ? rc : bolt_request(R->s, msg.data, msg.len, &meta);
    if (!rc) {
        char why[384];
        rc = bolt_route_table_from_meta(&meta, out, why, sizeof why);
        if (rc) {
            snprintf(R->s->errstr, sizeof R->s->errstr, "%s", why);
            R->s->err = rc;
        }
    }
    fs_value_deinit(&meta);
    buf_deinit(&msg);
    char keep[sizeof R->s->errstr];
    memcpy(keep, R->s->errstr, sizeof keep);
    bolt_close(R->s); /* the table is all we wanted from this connection */
    memcpy(R->s->errstr, keep, sizeof keep);
    return rc;
}

static void describe(const struct bolt_route_table *t, char *out, size_t cap)
{
    snprintf(out, cap, "ttl %lld s, database '%s', %d readers, %d writers, %d routers%s",
             (long long)t->ttl, t->db, t->n[BOLT_ROLE_READ], t->n[BOLT_ROLE_WRITE],
             t->n[BOLT_ROLE_ROUTE], t->dropped ? ", some members beyond the cap ignored" : "");
}

/* A new table from the known routers, then the seed (the URI's address), then the table's
 * other members (every member of a Neo4j 5 cluster answers ROUTE). */
static int refresh(struct route_run *R)
{
    struct bolt_route_table *cur = &R->s->route;
    struct bolt_addr cands[BOLT_ROLE_COUNT * BOLT_ROUTE_MAX_MEMBERS + 1];
    int n = 0;
    for (int k = 0; k < cur->n[BOLT_ROLE_ROUTE]; k++)
        cands[n++] = cur->members[BOLT_ROLE_ROUTE][k];
    struct bolt_addr seed = {.port = R->uri.port};
    snprintf(seed.host, sizeof seed.host, "%s", R->uri.host);
    cands[n++] = seed;
    for (int role = BOLT_ROLE_READ; role <= BOLT_ROLE_WRITE; role++)
        for (int k = 0; k < cur->n[role]; k++)
            cands[n++] = cur->members[role][k];
    struct bolt_route_table *t = malloc(sizeof *t);
    if (!t)
        return FS_ENOMEM;
    int rc = FS_ECONNECT;
    for (int k = 0; k < n; k++) {
        char addr[sizeof R->tried[0]];
        bolt_addr_format(&cands[k], addr, sizeof addr);
        bool dup = false;
        for (int j = 0; j < k && !dup; j++)
            dup = cands[j].port == cands[k].port && !strcmp(cands[j].host, cands[k].host);
        if (dup || was_tried(R, addr))
            continue;
        rc = ask_router(R, &cands[k], t);
        if (!rc) {
            *cur = *t;
            cur->expires = mono_s() + (double)t->ttl;
            cache_store(R);
            char d[256];
            describe(cur, d, sizeof d);
            emit(R, BOLT_ROUTE_TABLE, addr, d);
            free(t);
            return 0;
        }
        note_failure(R, addr, rc, BOLT_ROUTE_ROUTER_FAILED);
        if (fatal(rc))
            break;
    }
    free(t);
    cur->expires = 0;
    char fail[sizeof R->failures];
    if (fatal(rc)) { /* the member's own words (wrong password, no such database) say it best */
        snprintf(fail, sizeof fail, "%s", R->s->errstr);
        snprintf(R->s->errstr, sizeof R->s->errstr, "%s (Neo4j router %s)", fail,
                 R->tried[R->ntried - 1]);
        R->s->err = rc;
        return rc;
    }
    memcpy(fail, R->failures, sizeof fail);
    snprintf(R->s->errstr, sizeof R->s->errstr, "no Neo4j router answered ROUTE: %s", fail);
    R->s->err = rc;
    return rc;
}

/* Connects to the first member of role that answers. 0 when connected, 1
 * when none did (all noted), or a fatal error. */
static int try_role(struct route_run *R, enum bolt_role role)
{
    struct bolt_route_table *t = &R->s->route;
    struct bolt_addr list[BOLT_ROUTE_MAX_MEMBERS];
    int n = t->n[role];
    memcpy(list, t->members[role], (size_t)n * sizeof list[0]);
    for (int k = 0; k < n; k++) {
        char addr[sizeof R->tried[0]];
        bolt_addr_format(&list[k], addr, sizeof addr);
        if (was_tried(R, addr))
            continue;
        int rc = connect_member(R, &list[k]);
        if (!rc) {
            char d[160];
            snprintf(d, sizeof d, "%s %d of %d in the routing table",
                     role == BOLT_ROLE_READ ? "reader" : "router", k + 1, n);
            emit(R, BOLT_ROUTE_CHOSEN, addr, d);
            return 0;
        }
        note_failure(R, addr, rc, BOLT_ROUTE_MEMBER_FAILED);
        if (role == BOLT_ROLE_READ && !fatal(rc))
            cache_forget_reader(R, &list[k]);
        if (fatal(rc)) {
            size_t used = strlen(R->s->errstr);
            snprintf(R->s->errstr + used, sizeof R->s->errstr - used, " (Neo4j member %s)", addr);
            return rc;
        }
        forget(t, &list[k]);
    }
    return 1;
}

static int routed_connect(struct route_run *R)
{
    struct bolt_route_table *t = &R->s->route;
    int rc = 0;
    if (!t->expires || mono_s() >= t->expires)
        rc = refresh(R);
    if (rc)
        return rc;
    rc = try_role(R, BOLT_ROLE_READ);
    if (rc <= 0)
        return rc;
    /* Every reader failed: the cluster may have moved; ask again, then read from a router. */
    int again = refresh(R);
    if (again && fatal(again))
        return again;
    rc = again ? 1 : try_role(R, BOLT_ROLE_READ);
    if (rc == 1)
        rc = try_role(R, BOLT_ROLE_ROUTE);
    if (rc <= 0)
        return rc;
    t->expires = 0;
    char fail[sizeof R->failures];
    memcpy(fail, R->failures, sizeof fail);
    snprintf(R->s->errstr, sizeof R->s->errstr,
             "no Neo4j cluster member answered for reads (%d tried): %s", R->ntried, fail);
    R->s->err = R->last_err ? R->last_err : FS_ECONNECT;
    return R->s->err;
}

int bolt_connect(struct bolt_session *s, const struct bolt_config *cfg)
{
    struct bolt_uri u;
    char why[256];
    int rc = bolt_uri_parse(cfg->uri, &u, why, sizeof why);
    if (!rc && !u.routing) {
        struct bolt_target t = {.host = u.host, .port = u.port, .tls = u.tls};
        return bolt_connect_to(s, cfg, &t);
    }
    struct route_run *R = rc ? NULL : calloc(1, sizeof *R);
    if (!rc && !R)
        rc = FS_ENOMEM;
    if (!rc) {
        R->s = s;
        R->cfg = cfg;
        R->uri = u;
        snprintf(R->key, sizeof R->key, "%.900s\n%.100s", cfg->uri,
                 cfg->database ? cfg->database : "");
        cache_load(R);
        buf_init(&R->ctxmap, (size_t)64 << 10);
        rc = bolt_route_context_parse(cfg->uri, u.host, u.port, &R->ctx, why, sizeof why);
        if (!rc && (rc = bolt_route_context_write(&R->ctxmap, &R->ctx)))
            snprintf(why, sizeof why, "routing context: %s", fs_strerror(rc));
    }
    if (rc) {
        bolt_close(s);
        s->err = rc;
        snprintf(s->errstr, sizeof s->errstr, "Neo4j URI: %s: %s", fs_strerror(rc), why);
    } else {
        rc = routed_connect(R);
    }
    if (R)
        buf_deinit(&R->ctxmap);
    free(R);
    return rc;
}
