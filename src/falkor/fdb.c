/* FalkorDB connection: RESP2 over net_conn (plain or TLS), replies parsed by hiredis' redisReader.
 */
#include "falkor/fdb.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The fencing hook (cfg.client_name, cfg.fence_key): name first, then check, so that a
 * connection either shows up in the new lease holder's CLIENT LIST (and is closed by it) or
 * reads the new lease value here. */
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
    bool ours = r && r->type == REDIS_REPLY_STRING && cfg->fence_value &&
                r->len == strlen(cfg->fence_value) && !memcmp(r->str, cfg->fence_value, r->len);
    freeReplyObject(r);
    if (ours)
        return 0;
    drop(c);
    return fail(c, FS_EFENCED, "connecting to FalkorDB",
                "the lease changed hands; writes refused (see docs/operations.md, High "
                "availability)");
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

static bool has_prefix(const char *msg, size_t len, const char *p)
{
    size_t n = strlen(p);
    return len >= n && memcmp(msg, p, n) == 0;
}

static bool contains(const char *msg, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; n <= len && i <= len - n; i++)
        if (memcmp(msg + i, needle, n) == 0)
            return true;
    return false;
}

int fdb_classify_error(const char *msg, size_t len)
{
    static const struct {
        const char *text;
        bool prefix; /* else anywhere in the message */
        int code;
    } rules[] = {
        /* Redis' own error prefixes first: they name the class exactly. */
        {"NOPERM", true, FS_EFDB_NOPERM},
        {"OOM ", true, FS_EFDB_OOM},
        {"READONLY", true, FS_EFDB_READONLY},
        {"WRONGTYPE", true, FS_EFDB_WRONGTYPE},
        {"NOAUTH", true, FS_EAUTH},
        {"WRONGPASS", true, FS_EAUTH},
        {"unknown command", false, FS_EFDB_UNKNOWN_COMMAND},
        /* FalkorDB: "ERR Invalid graph operation on empty key" */
        {"empty key", false, FS_EFDB_NOGRAPH},
        {"does not exist", false, FS_EFDB_NOGRAPH},
        /* FalkorDB: "Attribute 'x' is already indexed", "... already exists" */
        {"already", false, FS_EFDB_EXISTS},
    };
    if (!msg)
        return FS_ESERVER;
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (rules[i].prefix ? has_prefix(msg, len, rules[i].text)
                            : contains(msg, len, rules[i].text))
            return rules[i].code;
    return FS_ESERVER;
}

int fdb_reply_errclass(const redisReply *r)
{
    if (!r)
        return 0;
    if (r->type == REDIS_REPLY_ERROR)
        return fdb_classify_error(r->str, r->len);
    if (r->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i < r->elements; i++)
            if (r->element[i] && r->element[i]->type == REDIS_REPLY_ERROR)
                return fdb_classify_error(r->element[i]->str, r->element[i]->len);
    return 0;
}

int fdb_reply_error(const redisReply *r, char *errstr, size_t errlen)
{
    if (!r)
        return 0;
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(errstr, errlen, "%.*s", (int)r->len, r->str);
        return FS_ESERVER;
    }
    if (r->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i < r->elements; i++)
            if (r->element[i] && r->element[i]->type == REDIS_REPLY_ERROR) {
                snprintf(errstr, errlen, "%.*s", (int)r->element[i]->len, r->element[i]->str);
                return FS_ESERVER;
            }
    return 0;
}

int fdb_command(struct fdb_conn *c, redisReply **out, int argc, const char *const *argv,
                const size_t *argvlen)
{
    if (out)
        *out = NULL;
    int rc = fdb_append(c, argc, argv, argvlen);
    redisReply *r = NULL;
    if (!rc)
        rc = fdb_read_reply(c, &r);
    if (rc)
        return rc;
    char why[400];
    if (fdb_reply_error(r, why, sizeof why)) {
        int cls = fdb_reply_errclass(r);
        freeReplyObject(r);
        fail(c, FS_ESERVER, argv[0], why);
        c->server_err = cls;
        return FS_ESERVER;
    }
    if (out)
        *out = r;
    else
        freeReplyObject(r);
    return 0;
}

int fdb_commandv(struct fdb_conn *c, redisReply **out, int argc, const char *const *argv)
{
    return fdb_command(c, out, argc, argv, NULL);
}
