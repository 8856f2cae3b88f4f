/* The writer lease in FalkorDB: take (SET NX + INCR token), renew from its own thread, release,
 * and the fence that closes an earlier holder's writer connections. */
#include "sync/lease.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <signal.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "falkor/fdb.h"
#include "log/log.h"
#include "sync/connect.h"
#include "sync/report.h"
#include "sync/replicas.h"
#include "sync/target.h"

/* Atomic take: KEYS lease, token counter; ARGV owner, command, ttl ms, mode ("0": only when
 * free, "1": force, "2": only when free or still holding exactly ARGV[6]), pid namespace.
 * Returns {1, value, previous value or ""} when taken, {0, value, pttl} when held. */
static const char take_script[] =
    "local cur = redis.call('GET', KEYS[1])\n"
    "if cur and ARGV[4] ~= '1' and not (ARGV[4] == '2' and cur == ARGV[6]) then\n"
    "  return {0, cur, redis.call('PTTL', KEYS[1])} end\n"
    "local t = redis.call('INCR', KEYS[2])\n"
    "local v = cjson.encode({owner = ARGV[1], command = ARGV[2], token = t, ns = ARGV[5]})\n"
    "redis.call('SET', KEYS[1], v, 'PX', ARGV[3])\n"
    "return {1, v, cur or ''}\n";
/* KEYS lease, token counter; ARGV value, ttl ms, token: 1 renewed, 0 not ours any more. A
 * lease that lapsed (FalkorDB's main thread busy past the TTL) while no one else took it (the
 * counter still at our token) is taken again with the same value: no other holder existed. */
static const char renew_script[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end\n"
    "if not v and redis.call('GET', KEYS[2]) == ARGV[3] then\n"
    "  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end\n"
    "return 0\n";
/* KEYS lease; ARGV value: deletes it when ours. */
static const char release_script[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end\n"
    "return 0\n";

#define WRITER_PREFIX "falkorsync-writer:"
/* Redis Cluster nodes (host:port) swept for the current token: the cap of falkor/cluster.h. */
#define MAX_SWEPT 64

struct sync_lease {
    const struct cfg *c;
    char command[32];
    char owner[192];
    char ns[48]; /* this process' pid namespace ("pid:[4026531836]"), "" unknown */
    char key[SYNC_KEY_NAME_CAP], token_key[SYNC_KEY_NAME_CAP];
    char dbsafe[104];      /* falkordb.database as a client-name part */
    char value[512];       /* what the lease key holds while ours */
    char client_name[160]; /* our writer connections' name */
    long long token;
    int ttl_ms;
    pthread_mutex_t mu; /* guards info and expires_at */
    struct sync_lease_info info;
    double expires_at; /* monotonic seconds: ours until then unless renewed */
    pthread_t thread;
    bool thread_running;
    atomic_int quit; /* set by sync_lease_release, read by the renewal thread */
    volatile sig_atomic_t *stop, *run_stop;
    /* The servers on which an earlier holder's writers were closed and drained for this
     * token: every primary at the takeover, then (Redis Cluster) any other node the moment a
     * run's client first connects to it. sweep_mu is held for a whole sweep. */
    pthread_mutex_t sweep_mu;
    char swept[MAX_SWEPT][280];
    int nswept;
};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double sync_lease_interval(const struct cfg *c)
{
    if (c->sync.lease_renew_seconds > 0)
        return c->sync.lease_renew_seconds;
    return c->sync.lease_ttl_seconds / 3.0;
}

static void make_owner(char *out, size_t cap)
{
    char host[64] = "localhost";
    if (gethostname(host, sizeof host - 1))
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = 0;
    unsigned char r[4] = {0};
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
        unsigned x = (unsigned)time(NULL) ^ ((unsigned)getpid() << 8);
        memcpy(r, &x, sizeof r);
    }
    snprintf(out, cap, "%s:%d:%02x%02x%02x%02x", host, (int)getpid(), r[0], r[1], r[2], r[3]);
}

struct sync_lease *sync_lease_new(const struct cfg *c, const char *command)
{
    struct sync_lease *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->c = c;
    snprintf(l->command, sizeof l->command, "%s", command);
    make_owner(l->owner, sizeof l->owner);
    ssize_t nl = readlink("/proc/self/ns/pid", l->ns, sizeof l->ns - 1);
    l->ns[nl > 0 ? nl : 0] = 0;
    sync_lease_keys(c, l->key, l->token_key, sizeof l->key);
    size_t n = 0;
    for (const char *p = c->falkordb.database; *p && n < sizeof l->dbsafe - 1; p++) {
        char ch = *p;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.';
        l->dbsafe[n++] = ok ? ch : '_';
    }
    l->ttl_ms = c->sync.lease_ttl_seconds * 1000;
    l->info.expires_in = -1;
    pthread_mutex_init(&l->mu, NULL);
    pthread_mutex_init(&l->sweep_mu, NULL);
    return l;
}

void sync_lease_free(struct sync_lease *l)
{
    if (!l)
        return;
    sync_lease_release(l);
    pthread_mutex_destroy(&l->mu);
    pthread_mutex_destroy(&l->sweep_mu);
    free(l);
}

/* A connection for the lease's own commands: unfenced, named so that it is never mistaken for
 * a writer. */
static int lease_connect(const struct sync_lease *l, struct fdb_conn *f)
{
    struct fdb_config fc = sync_fdb_config(l->c);
    char name[160];
    snprintf(name, sizeof name, "falkorsync-lease:%s", l->dbsafe);
    fc.client_name = name;
    fc.fence_key = fc.fence_value = NULL;
    fdb_init(f);
    return fdb_connect(f, &fc);
}

static void set_error(struct sync_lease *l, const char *what, const char *why)
{
    pthread_mutex_lock(&l->mu);
    snprintf(l->info.error, sizeof l->info.error, "%s: %s", what, why);
    pthread_mutex_unlock(&l->mu);
}

/* Fills holder, command and token of i from a lease value (JSON written by take_script), and
 * the holder's pid namespace into ns (cap 48) when ns is not NULL. */
static void parse_value(const char *v, size_t len, struct sync_lease_info *i, char *ns)
{
    json_error_t je;
    json_t *j = json_loadb(v, len, 0, &je);
    const char *owner = NULL, *cmd = NULL, *pidns = NULL;
    json_int_t token = 0;
    if (ns)
        *ns = 0;
    if (j && !json_unpack(j, "{s?s,s?s,s?I,s?s}", "owner", &owner, "command", &cmd, "token", &token,
                          "ns", &pidns)) {
        if (ns && pidns)
            snprintf(ns, 48, "%s", pidns);
        snprintf(i->holder, sizeof i->holder, "%s", owner ? owner : "?");
        snprintf(i->command, sizeof i->command, "%s", cmd ? cmd : "?");
        i->token = (long long)token;
    } else {
        snprintf(i->holder, sizeof i->holder, "%.*s", (int)(len < 120 ? len : 120), v);
        snprintf(i->command, sizeof i->command, "?");
        i->token = 0;
    }
    json_decref(j);
}

/* Closes the writer connections of this cache whose token is not ours: a paused or
 * partitioned old holder then has nothing left to write through, and any connection it opens
 * later reads the new lease value in its fence check (fdb_config.fence_key). */
static int close_old_writers(struct sync_lease *l, struct fdb_conn *f, int *closed)
{
    *closed = 0;
    const char *argv[4] = {"CLIENT", "LIST", "TYPE", "normal"};
    redisReply *r = NULL;
    int rc = fdb_commandv(f, &r, 4, argv);
    if (rc)
        return rc;
    char prefix[160];
    int plen = snprintf(prefix, sizeof prefix, WRITER_PREFIX "%s:", l->dbsafe);
    const char *p = r->type == REDIS_REPLY_STRING ? r->str : "";
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char line[1024];
        snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line - 1 ? len : sizeof line - 1),
                 p);
        p += len + (eol ? 1 : 0);
        char *id = strncmp(line, "id=", 3) ? NULL : line + 3;
        char *name = strstr(line, " name=");
        if (!id || !name)
            continue;
        name += 6;
        char *end = strchr(name, ' ');
        if (end)
            *end = 0;
        if (strncmp(name, prefix, (size_t)plen))
            continue;
        char *tail = NULL;
        long long tok = strtoll(name + plen, &tail, 10);
        if (!tail || *tail || tail == name + plen || tok == l->token)
            continue;
        char *idend = strchr(id, ' ');
        if (idend)
            *idend = 0;
        const char *kill[4] = {"CLIENT", "KILL", "ID", id};
        if (!fdb_commandv(f, NULL, 4, kill))
            (*closed)++;
    }
    freeReplyObject(r);
    return 0;
}

/* The server's clock in whole seconds (TIME), or -1. */
static long long server_seconds(struct fdb_conn *f)
{
    const char *argv[1] = {"TIME"};
    redisReply *r = NULL;
    long long t = -1;
    if (!fdb_commandv(f, &r, 1, argv) && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_STRING)
        t = strtoll(r->element[0]->str, NULL, 10);
    freeReplyObject(r);
    return t;
}

/* How many queries FalkorDB still runs or queues that it received at or before second t
 * (GRAPH.INFO RunningQueries WaitingQueries: sections of entries "Received at", seconds, ...);
 * -1 when it cannot say. */
static int queries_since(struct fdb_conn *f, long long t)
{
    const char *argv[3] = {"GRAPH.INFO", "RunningQueries", "WaitingQueries"};
    redisReply *r = NULL;
    if (fdb_commandv(f, &r, 3, argv) || r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        return -1;
    }
    int n = 0;
    for (size_t s = 1; s < r->elements; s += 2) {
        const redisReply *sec = r->element[s];
        for (size_t q = 0; sec->type == REDIS_REPLY_ARRAY && q < sec->elements; q++) {
            const redisReply *e = sec->element[q];
            for (size_t k = 0; e->type == REDIS_REPLY_ARRAY && k + 1 < e->elements; k += 2)
                if (e->element[k]->type == REDIS_REPLY_STRING &&
                    !strcmp(e->element[k]->str, "Received at") &&
                    e->element[k + 1]->type == REDIS_REPLY_INTEGER &&
                    e->element[k + 1]->integer <= t)
                    n++;
        }
    }
    freeReplyObject(r);
    return n;
}

/* FalkorDB runs GRAPH.QUERY on worker threads: a query an earlier holder sent before its
 * connection was closed may still be queued or running, and would commit after the takeover.
 * Waits until every query received up to the takeover's second is done, at most the read
 * timeout (the earlier holder's own limit). */
static void drain_earlier_queries(struct sync_lease *l, struct fdb_conn *f)
{
    long long t = server_seconds(f);
    double limit =
        mono() +
        (l->c->falkordb.read_timeout_seconds > 0 ? l->c->falkordb.read_timeout_seconds : 300);
    int n = t < 0 ? -1 : queries_since(f, t);
    while (n > 0 && mono() < limit) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        n = queries_since(f, t);
    }
    if (n > 0)
        log_fields(LOG_WARNING,
                   "queries received before the lease takeover are still running; going on",
                   json_pack("{s:i}", "queries", n));
}

/* Closes and drains an earlier holder's writers on one server (sweep_mu held) and notes
 * it as swept. Returns the connections closed, or -1 when they could not be listed. */
static int sweep_locked(struct sync_lease *l, struct fdb_conn *node)
{
    int closed = 0;
    int rc = close_old_writers(l, node, &closed);
    if (rc)
        log_fields(LOG_WARNING, "cannot close the previous lease holder's connections",
                   json_pack("{s:s,s:i,s:s}", "node", node->cfg.host ? node->cfg.host : "", "port",
                             node->cfg.port, "error", node->errstr));
    if (fdb_is_connected(node))
        drain_earlier_queries(l, node);
    if (l->nswept < MAX_SWEPT)
        snprintf(l->swept[l->nswept++], sizeof l->swept[0], "%s:%d",
                 node->cfg.host ? node->cfg.host : "", node->cfg.port);
    return rc ? -1 : closed;
}

static bool swept_locked(const struct sync_lease *l, const struct fdb_conn *node)
{
    char addr[sizeof l->swept[0]];
    snprintf(addr, sizeof addr, "%s:%d", node->cfg.host ? node->cfg.host : "", node->cfg.port);
    for (int i = 0; i < l->nswept; i++)
        if (!strcmp(l->swept[i], addr))
            return true;
    return false;
}

/* The takeover's sweep of one primary (fdb_each_primary): *arg counts what was closed. */
static int takeover_sweep(void *arg, struct fdb_conn *node)
{
    struct sync_lease *l = ((void **)arg)[0];
    int *closed = ((void **)arg)[1];
    int n = sweep_locked(l, node);
    *closed += n > 0 ? n : 0;
    return 0;
}

/* fdb_config.node_opened of the fenced clients (Redis Cluster): a node that the takeover did
 * not sweep (not a primary then: a failover, a node added, an ASK target) is swept before the
 * run's first command on it, so that an earlier holder's connection there cannot write after
 * this holder's first write. Once per node and token. */
static int sweep_hook(void *arg, struct fdb_conn *node)
{
    struct sync_lease *l = arg;
    pthread_mutex_lock(&l->sweep_mu);
    if (!swept_locked(l, node)) {
        int closed = sweep_locked(l, node);
        log_fields(LOG_INFO, "lease: swept a cluster node first used after the takeover",
                   json_pack("{s:s,s:i,s:i}", "node", node->cfg.host ? node->cfg.host : "", "port",
                             node->cfg.port, "closed_connections", closed));
    }
    pthread_mutex_unlock(&l->sweep_mu);
    return 0;
}

/* Runs take_script. 1 taken (l->value, l->token set), 0 held (info), < 0 error. */
static int take(struct sync_lease *l, struct fdb_conn *f, const char *mode,
                struct sync_lease_info *i, char *ns, char *prev, size_t prevcap)
{
    char ttl[24], expect[512];
    snprintf(ttl, sizeof ttl, "%d", l->ttl_ms);
    snprintf(expect, sizeof expect, "%s", prev);
    const char *argv[] = {"EVAL",     take_script, "2",  l->key, l->token_key, l->owner,
                          l->command, ttl,         mode, l->ns,  expect};
    redisReply *r = NULL;
    int rc = fdb_commandv(f, &r, (int)(sizeof argv / sizeof argv[0]), argv);
    if (rc)
        return rc;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
        r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_STRING) {
        freeReplyObject(r);
        snprintf(f->errstr, sizeof f->errstr, "unexpected reply to the lease script");
        return FS_EPROTOCOL;
    }
    const redisReply *v = r->element[1], *x = r->element[2];
    memset(i, 0, sizeof *i);
    parse_value(v->str, v->len, i, ns);
    int taken = r->element[0]->integer == 1;
    if (taken) {
        snprintf(l->value, sizeof l->value, "%.*s", (int)v->len, v->str);
        l->token = i->token;
        i->active = true;
        i->expires_in = l->ttl_ms / 1000.0;
        snprintf(prev, prevcap, "%.*s", x->type == REDIS_REPLY_STRING ? (int)x->len : 0,
                 x->type == REDIS_REPLY_STRING ? x->str : "");
    } else {
        i->expires_in =
            x->type == REDIS_REPLY_INTEGER && x->integer >= 0 ? x->integer / 1000.0 : -1;
        snprintf(prev, prevcap, "%.*s", (int)v->len, v->str);
    }
    freeReplyObject(r);
    return taken;
}

/* True when the holder ran on this host, in this pid namespace, and its process is gone (a
 * kill -9 or a crash): its lease would only make everyone wait for the TTL. */
static bool holder_gone(const struct sync_lease *l, const char *holder, const char *ns)
{
    const char *mine = strrchr(l->owner, ':'), *theirs = strrchr(holder, ':');
    if (!*l->ns || strcmp(ns, l->ns) || !mine || !theirs)
        return false;
    const char *mhost_end = mine, *thost_end = theirs;
    while (mhost_end > l->owner && mhost_end[-1] != ':')
        mhost_end--;
    while (thost_end > holder && thost_end[-1] != ':')
        thost_end--;
    size_t hl = (size_t)(mhost_end - l->owner);
    if (hl != (size_t)(thost_end - holder) || strncmp(l->owner, holder, hl))
        return false;
    char *end = NULL;
    long pid = strtol(thost_end, &end, 10);
    if (end != theirs || pid <= 0 || pid == (long)getpid())
        return false;
    return kill((pid_t)pid, 0) == -1 && errno == ESRCH;
}

int sync_lease_try(struct sync_lease *l, bool force, struct sync_lease_info *info)
{
    struct fdb_conn f;
    struct sync_lease_info i;
    memset(&i, 0, sizeof i);
    i.expires_in = -1;
    int rc = lease_connect(l, &f);
    char prev[512] = "";
    double t0 = mono();
    char ns[48] = "";
    if (!rc)
        rc = take(l, &f, force ? "1" : "0", &i, ns, prev, sizeof prev);
    /* "kill -9, then the same command again" (or a supervisor's restart) resumes at once; a
     * holder on another host or in another container is waited out (TTL) */
    if (rc == 0 && holder_gone(l, i.holder, ns)) {
        log_fields(LOG_WARNING, "the lease's holder no longer runs on this host: taking it over",
                   json_pack("{s:s,s:I}", "holder", i.holder, "token", (json_int_t)i.token));
        rc = take(l, &f, "2", &i, ns, prev, sizeof prev);
    }
    int closed = 0, nodes = 0;
    if (rc == 1) {
        snprintf(l->client_name, sizeof l->client_name, WRITER_PREFIX "%s:%lld", l->dbsafe,
                 l->token);
        /* every primary of a Redis Cluster, the one server otherwise */
        pthread_mutex_lock(&l->sweep_mu);
        l->nswept = 0;
        void *arg[2] = {l, &closed};
        if (fdb_each_primary(&f, takeover_sweep, arg))
            log_fields(LOG_WARNING,
                       "cannot reach a FalkorDB node to close the previous lease "
                       "holder's connections there (done when first used)",
                       json_pack("{s:s}", "error", f.errstr));
        nodes = l->nswept;
        pthread_mutex_unlock(&l->sweep_mu);
    }
    if (rc < 0) { /* classified as a run's failure would be: a replica, a full memory */
        snprintf(i.error, sizeof i.error, "FalkorDB: %s", f.errstr);
        i.code = sync_replicas_readonly(&f, rc, i.error, sizeof i.error);
        if (i.code == FS_ESERVER && f.server_err == FS_EFDB_OOM) {
            i.code = FS_EFDB_OOM;
            snprintf(i.error, sizeof i.error,
                     "FalkorDB is out of memory (maxmemory): not even the writer lease can be "
                     "stored; free memory or raise maxmemory (FalkorDB said: %.200s)",
                     f.errstr);
        }
    }
    fdb_close(&f);
    pthread_mutex_lock(&l->mu);
    if (rc == 1)
        l->expires_at = t0 + l->ttl_ms / 1000.0;
    if (rc >= 0 || !l->info.active)
        l->info = i; /* unreachable: nobody known to hold it */
    else
        snprintf(l->info.error, sizeof l->info.error, "%s", i.error);
    pthread_mutex_unlock(&l->mu);
    if (rc == 1) {
        struct sync_lease_info was;
        memset(&was, 0, sizeof was);
        if (*prev)
            parse_value(prev, strlen(prev), &was, NULL);
        bool serve = !strcmp(l->command, "serve");
        log_fields(*prev   ? LOG_WARNING
                   : serve ? LOG_INFO
                           : LOG_DEBUG,
                   *prev ? "lease taken over from its holder" : "lease taken",
                   json_pack("{s:s,s:I,s:s,s:s,s:I,s:i,s:i}", "owner", l->owner, "token",
                             (json_int_t)l->token, "command", l->command, "previous_holder",
                             was.holder, "previous_token", (json_int_t)was.token,
                             "closed_connections", closed, "servers_swept", nodes));
    }
    if (info)
        *info = i;
    return rc;
}

/* One renewal. 1 renewed, 0 lost, < 0 error (the connection is closed and reopened next
 * time). */
static int renew_once(struct sync_lease *l, struct fdb_conn *f)
{
    int rc = 0;
    if (!fdb_is_connected(f)) {
        fdb_close(f);
        if ((rc = lease_connect(l, f)))
            return rc;
    }
    char ttl[24], token[24];
    snprintf(ttl, sizeof ttl, "%d", l->ttl_ms);
    snprintf(token, sizeof token, "%lld", l->token);
    const char *argv[] = {"EVAL", renew_script, "2", l->key, l->token_key, l->value, ttl, token};
    redisReply *r = NULL;
    if ((rc = fdb_commandv(f, &r, 8, argv)))
        return rc;
    rc = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    freeReplyObject(r);
    return rc;
}

static void mark_lost(struct sync_lease *l, const char *why)
{
    pthread_mutex_lock(&l->mu);
    l->info.active = false;
    l->expires_at = 0;
    pthread_mutex_unlock(&l->mu);
    log_fields(LOG_WARNING, "lease lost: this falkorsync stops writing",
               json_pack("{s:s,s:I,s:s}", "owner", l->owner, "token", (json_int_t)l->token,
                         "reason", why));
    if (l->run_stop)
        *l->run_stop = 1;
}

static void *renew_thread(void *arg)
{
    struct sync_lease *l = arg;
    struct fdb_conn f;
    fdb_init(&f);
    double interval = sync_lease_interval(l->c);
    double next = mono() + interval;
    while (!atomic_load(&l->quit)) {
        if (l->stop && *l->stop && l->run_stop)
            *l->run_stop = 1;
        double now = mono();
        if (now < next) {
            struct timespec ts = {0, 20 * 1000 * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        next = now + interval;
        int rc = renew_once(l, &f);
        if (rc == 1) {
            pthread_mutex_lock(&l->mu);
            l->expires_at = now + l->ttl_ms / 1000.0;
            l->info.error[0] = 0;
            pthread_mutex_unlock(&l->mu);
            continue;
        }
        if (rc == 0) {
            mark_lost(l, "another falkorsync holds it now, or it lapsed");
            break;
        }
        set_error(l, "renewing the lease", f.errstr);
        fdb_close(&f);
        pthread_mutex_lock(&l->mu);
        bool lapsed = mono() >= l->expires_at;
        pthread_mutex_unlock(&l->mu);
        if (lapsed) {
            mark_lost(l, "no renewal succeeded within the TTL");
            break;
        }
    }
    fdb_close(&f);
    return NULL;
}

int sync_lease_keep(struct sync_lease *l, volatile sig_atomic_t *stop,
                    volatile sig_atomic_t *run_stop)
{
    if (l->thread_running || !*l->value)
        return FS_ESTATE;
    l->stop = stop;
    l->run_stop = run_stop;
    atomic_store(&l->quit, 0);
    if (pthread_create(&l->thread, NULL, renew_thread, l))
        return FS_ENOMEM;
    l->thread_running = true;
    return 0;
}

void sync_lease_release(struct sync_lease *l)
{
    if (l->thread_running) {
        atomic_store(&l->quit, 1);
        pthread_join(l->thread, NULL);
        l->thread_running = false;
    }
    if (!*l->value)
        return;
    struct fdb_conn f;
    if (!lease_connect(l, &f)) {
        const char *argv[] = {"EVAL", release_script, "1", l->key, l->value};
        redisReply *r = NULL;
        if (!fdb_commandv(&f, &r, 5, argv)) {
            if (r->type == REDIS_REPLY_INTEGER && r->integer == 1)
                log_fields(
                    strcmp(l->command, "serve") ? LOG_DEBUG : LOG_INFO, "lease released",
                    json_pack("{s:s,s:I}", "owner", l->owner, "token", (json_int_t)l->token));
            freeReplyObject(r);
        }
    }
    fdb_close(&f);
    l->value[0] = 0;
    pthread_mutex_lock(&l->mu);
    l->info.active = false;
    l->expires_at = 0;
    pthread_mutex_unlock(&l->mu);
}

void sync_lease_fence(struct sync_lease *l, const struct cfg *c, struct cfg *out)
{
    *out = *c;
    out->fence.client_name = l->client_name;
    out->fence.key = l->key;
    out->fence.value = l->value;
    out->fence.node_opened = sweep_hook;
    out->fence.node_opened_arg = l;
}

void sync_lease_info(struct sync_lease *l, struct sync_lease_info *out)
{
    pthread_mutex_lock(&l->mu);
    *out = l->info;
    if (out->active)
        out->expires_in = l->expires_at - mono();
    pthread_mutex_unlock(&l->mu);
}

bool sync_lease_active(struct sync_lease *l)
{
    pthread_mutex_lock(&l->mu);
    bool a = l->info.active && mono() < l->expires_at;
    pthread_mutex_unlock(&l->mu);
    return a;
}

void sync_lease_describe(const struct sync_lease_info *i, char *out, size_t cap)
{
    if (!i->holder[0]) {
        snprintf(out, cap, "nobody");
        return;
    }
    if (i->expires_in >= 0)
        snprintf(out, cap, "%s on %s (token %lld, lease expires in %.1f s unless renewed)",
                 i->command, i->holder, i->token, i->expires_in);
    else
        snprintf(out, cap, "%s on %s (token %lld)", i->command, i->holder, i->token);
}
