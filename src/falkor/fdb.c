/* FalkorDB connection: RESP2 over net_conn (plain or TLS), replies parsed by hiredis' redisReader.
 */
#include "falkor/fdb.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "falkor/cluster.h"

/* Cluster mode: one plain connection per node, opened when first used. */
struct fdb_cluster {
    struct fdb_slot_map map;
    struct fdb_conn node[FDB_CLUSTER_MAX_NODES];
    int *order; /* ring: the node of every reply owed, oldest first */
    size_t ocap, ohead, ocount;
    int sticky; /* node of the last keyed command; -1 none */
    int multi;  /* node of an open MULTI; -1 none */
    /* MULTI was asked for and answered OK here; it is sent, to the node of
     * the next command, just before that command (a transaction's keys
     * share one slot, so its first command names the node). */
    bool multi_deferred;
    bool up;
    bool stale; /* a MOVED was seen: refresh the map before the next command */
    /* The map has been read: node connections opened from now on are fenced (cl_ready) at
     * once; the ones opened to read it are fenced right after (cl_start). */
    bool fence_ready;
};

static int cl_connect(struct fdb_conn *c);
static void cl_drop(struct fdb_conn *c);
static void cl_free(struct fdb_conn *c);
static int cl_reconnect(struct fdb_conn *c);
static int cl_append(struct fdb_conn *c, int argc, const char *const *argv, const size_t *argvlen);
static int cl_flush(struct fdb_conn *c);
static int cl_read_reply(struct fdb_conn *c, redisReply **out);
static int cl_command(struct fdb_conn *c, redisReply **out, int argc, const char *const *argv,
                      const size_t *argvlen);

void fdb_init(struct fdb_conn *c)
{
    memset(c, 0, sizeof *c);
    net_init(&c->net);
    buf_init(&c->wbuf, FDB_MAX_PENDING_BYTES);
}

static char *dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

static void free_cfg(struct fdb_config *cfg)
{
    free((char *)cfg->host);
    free((char *)cfg->username);
    free((char *)cfg->password);
    free((char *)cfg->ca_file);
    free((char *)cfg->record_file);
    free((char *)cfg->client_name);
    free((char *)cfg->fence_key);
    free((char *)cfg->fence_value);
    memset(cfg, 0, sizeof *cfg);
}

bool fdb_is_connected(const struct fdb_conn *c)
{
    if (c->cl)
        return c->cl->up;
    return net_is_open(&c->net) && c->reader;
}

static int fail(struct fdb_conn *c, int err, const char *what, const char *detail)
{
    c->err = err;
    c->server_err = 0;
    snprintf(c->errstr, sizeof c->errstr, "%s: %s%s%s", what, fs_strerror(err),
             detail && *detail ? ": " : "", detail ? detail : "");
    return err;
}

/* Closes the socket and forgets everything in flight. */
static void drop(struct fdb_conn *c)
{
    net_close(&c->net);
    if (c->reader) {
        redisReaderFree(c->reader);
        c->reader = NULL;
    }
    buf_reset(&c->wbuf);
    c->pending = 0;
}

/* Drops the connection after an I/O failure. */
static int broken(struct fdb_conn *c, int err, const char *what)
{
    char detail[256];
    snprintf(detail, sizeof detail, "%s", c->net.errstr);
    drop(c);
    return fail(c, err, what, detail);
}

/* Drops the connection after a reply hiredis could not parse, saying why
 * (e.g. hiredis 0.14 reads at most 7 levels of nested arrays). */
static int unparsable(struct fdb_conn *c)
{
    char detail[160];
    snprintf(detail, sizeof detail, "%s", c->reader ? c->reader->errstr : "");
    drop(c);
    return fail(c, FS_EPROTOCOL, "parsing a FalkorDB reply", detail);
}

static size_t max_reply(const struct fdb_conn *c)
{
    return c->cfg.max_reply_bytes ? c->cfg.max_reply_bytes : FDB_DEFAULT_MAX_REPLY_BYTES;
}

/* hiredis allocates an array's element pointers as soon as it reads the
 * header ("*1000000000"), before a byte of them arrived: refuse counts that
 * the byte cap could never hold (every element takes at least 3 bytes). */
static void *create_array_capped(const redisReadTask *task, int elements)
{
    struct fdb_conn *c = task->privdata; /* hiredis copies reader->privdata into every task */
    assert(c);
    if (elements > 0 && (size_t)elements > max_reply(c) / 3) {
        c->reply_too_big = true;
        return NULL; /* the reader fails the reply: "out of memory" */
    }
    return c->reader_fn_default->createArray(task, elements);
}

/* True when a GET of the lease key answered exactly this holder's value. */
static bool fence_holds(const struct fdb_config *cfg, const redisReply *r)
{
    return r && r->type == REDIS_REPLY_STRING && cfg->fence_value &&
           r->len == strlen(cfg->fence_value) && !memcmp(r->str, cfg->fence_value, r->len);
}

static int fenced(struct fdb_conn *c)
{
    return fail(c, FS_EFENCED, "connecting to FalkorDB",
                "the lease changed hands; writes refused (see docs/operations.md, High "
                "availability)");
}

/* The fencing hook of one server (cfg.client_name, cfg.fence_key): name first, then check, so
 * that a connection either shows up in the new lease holder's CLIENT LIST (and is closed by it)
 * or reads the new lease value here. A cluster's node connections do the same in cl_ready. */
static int fence_check(struct fdb_conn *c)
{
    const struct fdb_config *cfg = &c->cfg;
    redisReply *r = NULL;
    int rc = 0;
    if (cfg->client_name) {
        const char *argv[3] = {"CLIENT", "SETNAME", cfg->client_name};
        if ((rc = fdb_commandv(c, NULL, 3, argv)))
            return rc;
    }
    if (!cfg->fence_key)
        return 0;
    const char *argv[2] = {"GET", cfg->fence_key};
    if ((rc = fdb_commandv(c, &r, 2, argv)))
        return rc;
    bool ours = fence_holds(cfg, r);
    freeReplyObject(r);
    if (ours)
        return 0;
    drop(c);
    return fenced(c);
}

static int open_conn(struct fdb_conn *c)
{
    const struct fdb_config *cfg = &c->cfg;
    struct net_opts o = {
        .connect_timeout_ms = cfg->connect_timeout_ms,
        .read_timeout_ms = cfg->read_timeout_ms > 0 ? cfg->read_timeout_ms : 300000,
        .write_timeout_ms = cfg->read_timeout_ms > 0 ? cfg->read_timeout_ms : 300000,
        .tls = !cfg->tls           ? NET_TLS_OFF
               : cfg->tls_insecure ? NET_TLS_TRUST_ANY
                                   : NET_TLS_VERIFY,
        .ca_file = cfg->ca_file,
        .stop = cfg->stop,
    };
    int rc = net_connect(&c->net, cfg->host, cfg->port, &o);
    if (rc)
        return fail(c, rc, "connecting to FalkorDB", c->net.errstr);
    c->reader = redisReaderCreate();
    if (!c->reader) {
        net_close(&c->net);
        return fail(c, FS_ENOMEM, "connecting to FalkorDB", NULL);
    }
    c->reader->maxbuf = 0; /* keep the read buffer allocated between replies */
    c->reader_fn_default = c->reader->fn;
    c->reader_fn = *c->reader->fn;
    c->reader_fn.createArray = create_array_capped;
    c->reader->fn = &c->reader_fn;
    c->reader->privdata = c;
    c->pending = 0;
    c->reply_bytes = 0;
    c->reply_too_big = false;
    if (cfg->password) {
        const char *argv[3] = {"AUTH", cfg->username ? cfg->username : cfg->password,
                               cfg->password};
        int argc = cfg->username ? 3 : 2;
        redisReply *r = NULL;
        rc = fdb_commandv(c, &r, argc, argv);
        if (rc == FS_ESERVER) {
            char why[sizeof c->errstr];
            snprintf(why, sizeof why, "%s", c->errstr);
            net_close(&c->net);
            redisReaderFree(c->reader);
            c->reader = NULL;
            return fail(c, FS_EAUTH, "FalkorDB AUTH", why);
        }
        if (rc)
            return rc;
        freeReplyObject(r);
    }
    return fence_check(c);
}

int fdb_connect(struct fdb_conn *c, const struct fdb_config *cfg)
{
    fdb_close(c);
    c->cfg = *cfg;
    c->cfg.host = strdup(cfg->host ? cfg->host : "127.0.0.1");
    c->cfg.username = dup_or_null(cfg->username);
    c->cfg.password = dup_or_null(cfg->password);
    c->cfg.ca_file = dup_or_null(cfg->ca_file);
    const char *rec = cfg->record_file;
    c->cfg.record_file = dup_or_null(rec);
    c->cfg.client_name = dup_or_null(cfg->client_name);
    c->cfg.fence_key = dup_or_null(cfg->fence_key);
    c->cfg.fence_value = dup_or_null(cfg->fence_value);
    if (!c->cfg.host || (rec && *rec && !c->cfg.record_file) ||
        (cfg->client_name && *cfg->client_name && !c->cfg.client_name) ||
        (cfg->fence_key && *cfg->fence_key && (!c->cfg.fence_key || !c->cfg.fence_value)))
        return FS_ENOMEM;
    if (c->cfg.cluster) /* every node's connection records, and is fenced, on its own */
        return cl_connect(c);
    /* Benchmarks replay the exact commands of a run (falkordb.record_commands). */
    if (c->cfg.record_file && !c->record) {
        c->record = fopen(c->cfg.record_file, "ab");
        if (!c->record)
            return fail(c, FS_EIO, "opening falkordb.record_commands", c->cfg.record_file);
    }
    return open_conn(c);
}

int fdb_reconnect(struct fdb_conn *c)
{
    if (c->cl)
        return cl_reconnect(c);
    net_close(&c->net);
    if (c->reader) {
        redisReaderFree(c->reader);
        c->reader = NULL;
    }
    buf_reset(&c->wbuf);
    if (!c->cfg.host)
        return fail(c, FS_ESTATE, "reconnecting to FalkorDB", "never connected");
    return open_conn(c);
}

void fdb_close(struct fdb_conn *c)
{
    cl_free(c);
    net_close(&c->net);
    if (c->reader) {
        redisReaderFree(c->reader);
        c->reader = NULL;
    }
    buf_deinit(&c->wbuf);
    buf_init(&c->wbuf, FDB_MAX_PENDING_BYTES);
    free_cfg(&c->cfg);
    if (c->record) {
        fclose(c->record);
        c->record = NULL;
    }
    c->pending = 0;
}

int fdb_append(struct fdb_conn *c, int argc, const char *const *argv, const size_t *argvlen)
{
    if (c->cl)
        return cl_append(c, argc, argv, argvlen);
    if (!fdb_is_connected(c))
        return fail(c, FS_ESTATE, "FalkorDB command", "not connected");
    size_t mark = c->wbuf.len;
    int rc = buf_printf(&c->wbuf, "*%d\r\n", argc);
    for (int i = 0; !rc && i < argc; i++) {
        size_t n = argvlen ? argvlen[i] : strlen(argv[i]);
        rc = buf_printf(&c->wbuf, "$%zu\r\n", n);
        rc = rc ? rc : buf_append(&c->wbuf, argv[i], n);
        rc = rc ? rc : buf_append(&c->wbuf, "\r\n", 2);
    }
    if (rc) {
        c->wbuf.len = mark;
        return fail(c, rc, "FalkorDB command", "encoding");
    }
    c->pending++;
    return 0;
}

int fdb_flush(struct fdb_conn *c)
{
    if (c->cl)
        return cl_flush(c);
    if (!c->wbuf.len)
        return 0;
    if (c->record)
        fwrite(c->wbuf.data, 1, c->wbuf.len, c->record);
    int rc = net_write_all(&c->net, c->wbuf.data, c->wbuf.len);
    buf_reset(&c->wbuf);
    if (rc)
        return broken(c, rc, "sending to FalkorDB");
    return 0;
}

/* The rest of the reply is never read, so the connection cannot be reused. */
static int too_big(struct fdb_conn *c)
{
    char detail[160];
    snprintf(detail, sizeof detail, "more than %zu bytes (falkordb.max_reply_mb)", max_reply(c));
    drop(c);
    return fail(c, FS_ETOO_BIG, "reading a FalkorDB reply", detail);
}

int fdb_read_reply(struct fdb_conn *c, redisReply **out)
{
    *out = NULL;
    if (c->cl)
        return cl_read_reply(c, out);
    if (!fdb_is_connected(c))
        return fail(c, FS_ESTATE, "FalkorDB reply", "not connected");
    int rc = fdb_flush(c);
    if (rc)
        return rc;
    for (;;) {
        void *reply = NULL;
        if (redisReaderGetReply(c->reader, &reply) != REDIS_OK)
            return c->reply_too_big ? too_big(c) : unparsable(c);
        if (reply) {
            c->pending--;
            /* what is still buffered belongs to the replies after this one */
            size_t after = c->reader->len - c->reader->pos;
            size_t size = c->reply_bytes - after;
            c->reply_bytes = after;
            if (size > max_reply(c)) {
                freeReplyObject(reply);
                return too_big(c);
            }
            *out = reply;
            return 0;
        }
        if (c->reply_bytes > max_reply(c))
            return too_big(c);
        char tmp[65536];
        size_t got;
        rc = net_read_some(&c->net, tmp, sizeof tmp, &got);
        if (rc)
            return broken(c, rc, "reading from FalkorDB");
        c->reply_bytes += got;
        if (redisReaderFeed(c->reader, tmp, got) != REDIS_OK)
            return unparsable(c);
    }
}

/* The end of a round trip: an error reply becomes FS_ESERVER with its class. */
static int finish_command(struct fdb_conn *c, redisReply **out, redisReply *r, const char *what)
{
    char why[460];
    if (fdb_reply_error(r, why, sizeof why)) {
        int cls = fdb_reply_errclass(r);
        bool ask;
        unsigned slot;
        char host[64];
        int port;
        if (!c->cl && r->type == REDIS_REPLY_ERROR &&
            fdb_redirect_parse(r->str, r->len, &ask, &slot, host, sizeof host, &port)) {
            size_t n = strnlen(why, 380);
            snprintf(why + n, sizeof why - n,
                     " (FalkorDB is a Redis Cluster: set falkordb.cluster, FALKORDB_CLUSTER=true)");
        }
        freeReplyObject(r);
        fail(c, FS_ESERVER, what, why);
        c->server_err = cls;
        return FS_ESERVER;
    }
    if (out)
        *out = r;
    else
        freeReplyObject(r);
    return 0;
}

int fdb_command(struct fdb_conn *c, redisReply **out, int argc, const char *const *argv,
                const size_t *argvlen)
{
    if (out)
        *out = NULL;
    if (c->cl)
        return cl_command(c, out, argc, argv, argvlen);
    int rc = fdb_append(c, argc, argv, argvlen);
    redisReply *r = NULL;
    if (!rc)
        rc = fdb_read_reply(c, &r);
    if (rc)
        return rc;
    return finish_command(c, out, r, argv[0]);
}

int fdb_commandv(struct fdb_conn *c, redisReply **out, int argc, const char *const *argv)
{
    return fdb_command(c, out, argc, argv, NULL);
}

/* ---- Redis Cluster -------------------------------------------------------- */

bool fdb_is_cluster(const struct fdb_conn *c)
{
    return c->cl != NULL;
}

int fdb_cluster_primaries(const struct fdb_conn *c)
{
    if (!c->cl)
        return 1;
    int n = 0;
    for (int i = 0; i < c->cl->map.nnodes; i++)
        n += fdb_slot_map_is_primary(&c->cl->map, i);
    return n;
}

void fdb_cluster_node_of(const struct fdb_conn *c, const char *key, char *out, size_t cap)
{
    if (cap)
        out[0] = '\0';
    if (!c->cl)
        return;
    unsigned n = c->cl->map.node_of[fdb_key_slot(key, strlen(key))];
    if (n != FDB_CLUSTER_NO_NODE)
        snprintf(out, cap, "%s:%d", c->cl->map.node[n].host, c->cl->map.node[n].port);
}

/* A node's failure, told as the cluster connection's. */
static int cl_fail_from(struct fdb_conn *c, const struct fdb_conn *n)
{
    c->err = n->err;
    c->server_err = n->server_err;
    memcpy(c->errstr, n->errstr, sizeof c->errstr);
    return n->err ? n->err : FS_ESERVER;
}

/* Closes every node and forgets what was in flight (as drop() does for one server). */
static void cl_drop(struct fdb_conn *c)
{
    struct fdb_cluster *cl = c->cl;
    for (int i = 0; i < FDB_CLUSTER_MAX_NODES; i++)
        if (cl->node[i].cfg.host) {
            fdb_close(&cl->node[i]);
            fdb_init(&cl->node[i]);
        }
    cl->ohead = cl->ocount = 0;
    cl->multi = -1;
    cl->multi_deferred = false;
    cl->up = false;
    c->pending = 0;
}

static void cl_free(struct fdb_conn *c)
{
    if (!c->cl)
        return;
    cl_drop(c);
    for (int i = 0; i < FDB_CLUSTER_MAX_NODES; i++)
        buf_deinit(&c->cl->node[i].wbuf);
    free(c->cl->order);
    free(c->cl);
    c->cl = NULL;
}

static int cl_ready(struct fdb_conn *c, int i);

/* Node i's connection, opened when first used (same settings, its address): named as the
 * cluster connection is, then fenced (cl_ready) before anything of the caller goes through it. */
static int cl_node(struct fdb_conn *c, int i)
{
    struct fdb_conn *n = &c->cl->node[i];
    if (fdb_is_connected(n))
        return 0;
    struct fdb_config nc = c->cfg;
    nc.cluster = false;
    nc.fence_key = nc.fence_value = NULL; /* read on the lease key's own node (cl_ready) */
    nc.host = c->cl->map.node[i].host;
    nc.port = c->cl->map.node[i].port;
    if (fdb_connect(n, &nc))
        return cl_fail_from(c, n);
    return c->cl->fence_ready ? cl_ready(c, i) : 0;
}

static void cl_note_redirect(struct fdb_conn *c, int from, const redisReply *r);

/* GET of the lease key on node owner, for node i's connection that has just named itself:
 * through owner's connection when nothing is owed on it, else through a connection of its own
 * for this one command. An error reply is returned as the reply. */
static int cl_fence_get(struct fdb_conn *c, int i, int owner, redisReply **r)
{
    struct fdb_cluster *cl = c->cl;
    const char *argv[2] = {"GET", c->cfg.fence_key};
    int rc = owner == i ? 0 : cl_node(c, owner);
    if (rc)
        return rc;
    struct fdb_conn own, *via = &cl->node[owner];
    fdb_init(&own);
    if (via->pending || via->wbuf.len) { /* a pipeline is in flight on it */
        struct fdb_config oc = via->cfg;
        oc.client_name = NULL;
        oc.record_file = NULL;
        if (fdb_connect(&own, &oc)) {
            rc = cl_fail_from(c, &own);
            fdb_close(&own);
            return rc;
        }
        via = &own;
    }
    if (fdb_append(via, 2, argv, NULL) || fdb_read_reply(via, r))
        rc = cl_fail_from(c, via);
    fdb_close(&own);
    return rc;
}

/* Whether the lease key holds this holder's value, read on the node owning its slot (after a
 * MOVED, once more on the new owner). */
static int cl_fence_read(struct fdb_conn *c, int i, bool *ours)
{
    struct fdb_cluster *cl = c->cl;
    const char *key = c->cfg.fence_key;
    for (int attempt = 0;; attempt++) {
        unsigned owner = cl->map.node_of[fdb_key_slot(key, strlen(key))];
        if (owner == FDB_CLUSTER_NO_NODE)
            return fail(c, FS_ECONNECT, "Redis Cluster", "no primary serves the lease key's slot");
        redisReply *r = NULL;
        int rc = cl_fence_get(c, i, (int)owner, &r);
        if (rc)
            return rc;
        if (r->type == REDIS_REPLY_ERROR && !attempt && !strncmp(r->str, "MOVED ", 6)) {
            cl_note_redirect(c, (int)owner, r); /* the slot moved: ask its new owner */
            freeReplyObject(r);
            continue;
        }
        if (r->type == REDIS_REPLY_ERROR) {
            char why[400];
            snprintf(why, sizeof why, "reading the lease key on %s:%d: %.*s",
                     cl->map.node[owner].host, cl->map.node[owner].port, (int)r->len, r->str);
            freeReplyObject(r);
            cl->stale = true;
            return fail(c, FS_ESERVER, "Redis Cluster", why);
        }
        *ours = fence_holds(&c->cfg, r);
        freeReplyObject(r);
        return 0;
    }
}

/* Node i's connection has named itself: it may be used once the lease key still holds this
 * holder's value, read after the naming (the one-server argument holds per node: either the
 * new holder's CLIENT LIST on node i saw the name and closed it, or the GET ran after the new
 * holder's SET), and the node_opened hook agreed. Otherwise every node is closed. */
static int cl_ready(struct fdb_conn *c, int i)
{
    bool ours = true;
    int rc = c->cfg.fence_key ? cl_fence_read(c, i, &ours) : 0;
    if (!rc && !ours)
        rc = fenced(c);
    if (!rc && c->cfg.node_opened &&
        (rc = c->cfg.node_opened(c->cfg.node_opened_arg, &c->cl->node[i])))
        fail(c, rc, "FalkorDB node", c->cl->node[i].errstr);
    if (rc == FS_EFENCED)
        cl_drop(c); /* nothing is written through a fenced connection */
    else if (rc && c->cl->node[i].cfg.host) {
        fdb_close(&c->cl->node[i]);
        fdb_init(&c->cl->node[i]);
    }
    return rc;
}

/* Reads the slot map (CLUSTER SLOTS) from the first node that answers. Only
 * while no reply is owed: it uses the nodes' connections. */
static int cl_refresh(struct fdb_conn *c)
{
    struct fdb_cluster *cl = c->cl;
    int rc = fail(c, FS_ECONNECT, "Redis Cluster", "no node to ask for the slot map");
    for (int i = 0; i < cl->map.nnodes; i++) {
        if ((rc = cl_node(c, i)))
            continue;
        const char *argv[2] = {"CLUSTER", "SLOTS"};
        redisReply *r = NULL;
        if ((rc = fdb_commandv(&cl->node[i], &r, 2, argv))) {
            cl_fail_from(c, &cl->node[i]);
            snprintf(c->errstr, sizeof c->errstr,
                     "falkordb.cluster is on, but CLUSTER SLOTS on %s:%d failed: %s",
                     cl->map.node[i].host, cl->map.node[i].port, cl->node[i].errstr);
            continue;
        }
        int bad = fdb_slot_map_parse(&cl->map, r, cl->map.node[i].host);
        freeReplyObject(r);
        if (bad) {
            rc = fail(c, FS_EPROTOCOL, "CLUSTER SLOTS", "not a slot table");
            continue;
        }
        cl->stale = false;
        return 0;
    }
    return rc;
}

/* Reads the map, then fences the node connections opened to read it (the seed's). */
static int cl_start(struct fdb_conn *c)
{
    struct fdb_cluster *cl = c->cl;
    cl->fence_ready = false;
    int rc = cl_refresh(c);
    cl->up = rc == 0;
    cl->fence_ready = true;
    bool opened[FDB_CLUSTER_MAX_NODES];
    for (int i = 0; i < cl->map.nnodes; i++)
        opened[i] = fdb_is_connected(&cl->node[i]);
    for (int i = 0; !rc && i < cl->map.nnodes; i++)
        if (opened[i] && fdb_is_connected(&cl->node[i]))
            rc = cl_ready(c, i);
    if (rc)
        cl->up = false;
    return rc;
}

static int cl_connect(struct fdb_conn *c)
{
    c->cl = calloc(1, sizeof *c->cl);
    if (!c->cl)
        return fail(c, FS_ENOMEM, "connecting to Redis Cluster", NULL);
    for (int i = 0; i < FDB_CLUSTER_MAX_NODES; i++)
        fdb_init(&c->cl->node[i]);
    fdb_slot_map_init(&c->cl->map);
    if (fdb_slot_map_node(&c->cl->map, c->cfg.host, c->cfg.port) < 0)
        return fail(c, FS_ECONFIG, "connecting to Redis Cluster", "host name too long");
    c->cl->sticky = c->cl->multi = -1;
    return cl_start(c);
}

static int cl_reconnect(struct fdb_conn *c)
{
    cl_drop(c);
    return cl_start(c); /* a reconnect is fenced like the first connect */
}

int fdb_each_primary(struct fdb_conn *c, int (*fn)(void *arg, struct fdb_conn *node), void *arg)
{
    if (!c->cl)
        return fn(arg, c);
    int first = 0;
    char why[sizeof c->errstr] = "";
    for (int i = 0; i < c->cl->map.nnodes; i++) {
        if (!fdb_slot_map_is_primary(&c->cl->map, i))
            continue;
        struct fdb_conn *n = &c->cl->node[i];
        int rc = cl_node(c, i);
        if (!rc && (rc = fn(arg, n)))
            cl_fail_from(c, n);
        if (rc && !first) {
            first = rc;
            snprintf(why, sizeof why, "%s:%d: %s", c->cl->map.node[i].host, c->cl->map.node[i].port,
                     c->errstr);
        }
    }
    if (first)
        memcpy(c->errstr, why, sizeof why);
    return first;
}

static bool name_is(const char *a, size_t n, const char *name)
{
    return n == strlen(name) && !strncasecmp(a, name, n);
}

/* The node a command goes to. */
static int cl_route(struct fdb_conn *c, int argc, const char *const *argv, const size_t *argvlen,
                    int *node, bool *keyed)
{
    struct fdb_cluster *cl = c->cl;
    const char *key;
    size_t klen;
    *keyed = fdb_command_key(argc, argv, argvlen, &key, &klen);
    if (cl->multi >= 0) {
        *node = cl->multi;
        return 0;
    }
    if (!*keyed) {
        *node = cl->sticky >= 0 ? cl->sticky : 0;
        return 0;
    }
    if (cl->stale && !cl->ocount)
        (void)cl_refresh(c); /* best effort: the MOVED already fixed this slot */
    unsigned slot = fdb_key_slot(key, klen);
    if (cl->map.node_of[slot] == FDB_CLUSTER_NO_NODE && !cl->ocount)
        (void)cl_refresh(c);
    if (cl->map.node_of[slot] == FDB_CLUSTER_NO_NODE) {
        char why[64];
        snprintf(why, sizeof why, "no primary serves slot %u", slot);
        return fail(c, FS_ECONNECT, "Redis Cluster", why);
    }
    *node = cl->map.node_of[slot];
    return 0;
}

/* Order entries: a node index; ORDER_SYNTH_OK, a reply answered here (a
 * deferred MULTI); ORDER_SWALLOW(node), a reply to read from node and drop
 * (that MULTI's own OK, once sent). ORDER_SWALLOW is its own inverse. */
#define ORDER_SYNTH_OK (-1)
#define ORDER_SWALLOW(node) (-(node)-2)

static redisReply *synth_ok(void)
{
    redisReply *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->type = REDIS_REPLY_STATUS;
    r->str = strdup("OK");
    if (!r->str) {
        free(r);
        return NULL;
    }
    r->len = 2;
    return r;
}

static int cl_push(struct fdb_conn *c, int node)
{
    struct fdb_cluster *cl = c->cl;
    if (cl->ocount == cl->ocap) {
        size_t cap = cl->ocap ? cl->ocap * 2 : 64;
        int *o = malloc(cap * sizeof *o);
        if (!o)
            return fail(c, FS_ENOMEM, "FalkorDB command", NULL);
        for (size_t i = 0; i < cl->ocount; i++)
            o[i] = cl->order[(cl->ohead + i) % cl->ocap];
        free(cl->order);
        cl->order = o;
        cl->ocap = cap;
        cl->ohead = 0;
    }
    cl->order[(cl->ohead + cl->ocount) % cl->ocap] = node;
    cl->ocount++;
    return 0;
}

static int cl_append(struct fdb_conn *c, int argc, const char *const *argv, const size_t *argvlen)
{
    struct fdb_cluster *cl = c->cl;
    if (!cl->up)
        return fail(c, FS_ESTATE, "FalkorDB command", "not connected");
    size_t n0 = argvlen ? argvlen[0] : strlen(argv[0]);
    int rc;
    if (name_is(argv[0], n0, "MULTI") && cl->multi < 0 && !cl->multi_deferred) {
        if ((rc = cl_push(c, ORDER_SYNTH_OK)))
            return rc;
        cl->multi_deferred = true;
        c->pending++;
        return 0;
    }
    int node;
    bool keyed;
    rc = cl_route(c, argc, argv, argvlen, &node, &keyed);
    rc = rc ? rc : cl_node(c, node);
    if (rc)
        return rc;
    if (cl->multi_deferred) {
        const char *multi[1] = {"MULTI"};
        if (fdb_append(&cl->node[node], 1, multi, NULL))
            return cl_fail_from(c, &cl->node[node]);
        if ((rc = cl_push(c, ORDER_SWALLOW(node))))
            return rc;
        cl->multi_deferred = false;
        cl->multi = node;
    }
    if (fdb_append(&cl->node[node], argc, argv, argvlen))
        return cl_fail_from(c, &cl->node[node]);
    if ((rc = cl_push(c, node)))
        return rc;
    c->pending++;
    if (name_is(argv[0], n0, "EXEC") || name_is(argv[0], n0, "DISCARD"))
        cl->multi = -1;
    if (keyed)
        cl->sticky = node;
    return 0;
}

static int cl_flush(struct fdb_conn *c)
{
    struct fdb_cluster *cl = c->cl;
    for (int i = 0; i < cl->map.nnodes; i++)
        if (cl->node[i].wbuf.len && fdb_flush(&cl->node[i])) {
            int rc = cl_fail_from(c, &cl->node[i]);
            cl_drop(c);
            return rc;
        }
    return 0;
}

/* A MOVED reply moves its slot in the map at once; the whole map is read
 * again before the next command that finds no reply owed. */
static void cl_note_redirect(struct fdb_conn *c, int from, const redisReply *r)
{
    bool ask;
    unsigned slot;
    char host[256];
    int port;
    if (!fdb_redirect_parse(r->str, r->len, &ask, &slot, host, sizeof host, &port) || ask)
        return;
    int n = fdb_slot_map_node(&c->cl->map, *host ? host : c->cl->map.node[from].host, port);
    if (n >= 0)
        c->cl->map.node_of[slot] = (uint16_t)n;
    c->cl->stale = true;
}

static int cl_read_reply(struct fdb_conn *c, redisReply **out)
{
    struct fdb_cluster *cl = c->cl;
    if (!cl->up)
        return fail(c, FS_ESTATE, "FalkorDB reply", "not connected");
    int rc = cl_flush(c);
    if (rc)
        return rc;
    for (;;) {
        if (!cl->ocount)
            return fail(c, FS_ESTATE, "FalkorDB reply", "no reply owed");
        int e = cl->order[cl->ohead];
        cl->ohead = (cl->ohead + 1) % cl->ocap;
        cl->ocount--;
        if (e == ORDER_SYNTH_OK) {
            c->pending--;
            *out = synth_ok();
            return *out ? 0 : fail(c, FS_ENOMEM, "FalkorDB reply", NULL);
        }
        int node = e >= 0 ? e : ORDER_SWALLOW(e);
        if ((rc = fdb_read_reply(&cl->node[node], out))) {
            cl_fail_from(c, &cl->node[node]);
            cl_drop(c);
            return rc;
        }
        if (e < 0) { /* the deferred MULTI's own OK, answered already */
            freeReplyObject(*out);
            *out = NULL;
            continue;
        }
        c->pending--;
        if ((*out)->type == REDIS_REPLY_ERROR)
            cl_note_redirect(c, node, *out);
        return 0;
    }
}

/* GRAPH.LIST on a cluster: every primary's graphs, in one array. */
static int cl_graph_list(struct fdb_conn *c, redisReply **out)
{
    struct fdb_cluster *cl = c->cl;
    redisReply *all = calloc(1, sizeof *all);
    if (!all)
        return fail(c, FS_ENOMEM, "GRAPH.LIST", NULL);
    all->type = REDIS_REPLY_ARRAY;
    int rc = 0;
    for (int i = 0; !rc && i < cl->map.nnodes; i++) {
        if (!fdb_slot_map_is_primary(&cl->map, i))
            continue;
        const char *argv[1] = {"GRAPH.LIST"};
        redisReply *r = NULL;
        rc = cl_node(c, i);
        if (!rc && fdb_commandv(&cl->node[i], &r, 1, argv))
            rc = cl_fail_from(c, &cl->node[i]);
        if (rc || r->type != REDIS_REPLY_ARRAY) {
            freeReplyObject(r);
            continue;
        }
        redisReply **e = realloc(all->element, (all->elements + r->elements + 1) * sizeof *e);
        if (!e) {
            freeReplyObject(r);
            rc = fail(c, FS_ENOMEM, "GRAPH.LIST", NULL);
            break;
        }
        all->element = e;
        memcpy(e + all->elements, r->element, r->elements * sizeof *e);
        all->elements += r->elements;
        r->elements = 0;
        freeReplyObject(r);
    }
    if (rc)
        freeReplyObject(all);
    else if (out)
        *out = all;
    else
        freeReplyObject(all);
    return rc;
}

/* -ASK: the one command goes to the importing node, after ASKING. */
static int cl_ask(struct fdb_conn *c, redisReply **out, int argc, const char *const *argv,
                  const size_t *argvlen, const char *host, int port)
{
    int n = fdb_slot_map_node(&c->cl->map, host, port);
    if (n < 0)
        return fail(c, FS_ECONNECT, "Redis Cluster", "too many nodes");
    int rc = cl_node(c, n);
    if (rc)
        return rc;
    const char *asking[1] = {"ASKING"};
    struct fdb_conn *node = &c->cl->node[n];
    if (fdb_commandv(node, NULL, 1, asking) || fdb_command(node, out, argc, argv, argvlen))
        return cl_fail_from(c, node);
    return 0;
}

static bool is_transient(const redisReply *r)
{
    return r->len >= 8 && (!strncmp(r->str, "TRYAGAIN", 8) ||
                           (r->len >= 11 && !strncmp(r->str, "CLUSTERDOWN", 11)));
}

static int cl_command(struct fdb_conn *c, redisReply **out, int argc, const char *const *argv,
                      const size_t *argvlen)
{
    size_t n0 = argvlen ? argvlen[0] : strlen(argv[0]);
    if (name_is(argv[0], n0, "GRAPH.LIST"))
        return cl_graph_list(c, out);
    for (int attempt = 0;; attempt++) {
        bool in_multi = c->cl->multi >= 0 || c->cl->multi_deferred;
        int rc = cl_append(c, argc, argv, argvlen);
        redisReply *r = NULL;
        if (!rc)
            rc = cl_read_reply(c, &r);
        if (rc)
            return rc;
        bool ask;
        unsigned slot;
        char host[256];
        int port;
        if (r->type != REDIS_REPLY_ERROR || in_multi || attempt >= 5)
            return finish_command(c, out, r, argv[0]);
        if (fdb_redirect_parse(r->str, r->len, &ask, &slot, host, sizeof host, &port)) {
            freeReplyObject(r);
            if (ask)
                return cl_ask(c, out, argc, argv, argvlen, host, port);
            continue; /* MOVED: the map moved the slot; route again */
        }
        if (!is_transient(r))
            return finish_command(c, out, r, argv[0]);
        freeReplyObject(r);
        struct timespec ts = {0, 100000000L * (attempt + 1)};
        nanosleep(&ts, NULL);
    }
}
