/* FalkorDB connection: RESP2 over net_conn (plain or TLS), replies parsed by hiredis' redisReader.
 */
#include "falkor/fdb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fdb_init(struct fdb_conn *c)
{
    memset(c, 0, sizeof *c);
    net_init(&c->net);
    buf_init(&c->wbuf, 0);
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
    memset(cfg, 0, sizeof *cfg);
}

bool fdb_is_connected(const struct fdb_conn *c)
{
    return net_is_open(&c->net) && c->reader;
}

static int fail(struct fdb_conn *c, int err, const char *what, const char *detail)
{
    c->err = err;
    snprintf(c->errstr, sizeof c->errstr, "%s: %s%s%s", what, fs_strerror(err),
             detail && *detail ? ": " : "", detail ? detail : "");
    return err;
}

/* Drops the connection after an I/O or protocol failure. */
static int broken(struct fdb_conn *c, int err, const char *what)
{
    char detail[256];
    snprintf(detail, sizeof detail, "%s", c->net.errstr);
    net_close(&c->net);
    if (c->reader) {
        redisReaderFree(c->reader);
        c->reader = NULL;
    }
    buf_reset(&c->wbuf);
    c->pending = 0;
    return fail(c, err, what, detail);
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
    c->pending = 0;
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
    return 0;
}

int fdb_connect(struct fdb_conn *c, const struct fdb_config *cfg)
{
    fdb_close(c);
    c->cfg = *cfg;
    c->cfg.host = strdup(cfg->host ? cfg->host : "127.0.0.1");
    c->cfg.username = dup_or_null(cfg->username);
    c->cfg.password = dup_or_null(cfg->password);
    c->cfg.ca_file = dup_or_null(cfg->ca_file);
    if (!c->cfg.host)
        return FS_ENOMEM;
    /* Benchmarks replay the exact commands of a run: FALKORSYNC_RECORD_COMMANDS=file. */
    const char *rec = getenv("FALKORSYNC_RECORD_COMMANDS");
    if (rec && *rec && !c->record)
        c->record = fopen(rec, "ab");
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
    buf_init(&c->wbuf, 0);
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
            return broken(c, FS_EPROTOCOL, "parsing a FalkorDB reply");
        if (reply) {
            c->pending--;
            *out = reply;
            return 0;
        }
        char tmp[65536];
        size_t got;
        rc = net_read_some(&c->net, tmp, sizeof tmp, &got);
        if (rc)
            return broken(c, rc, "reading from FalkorDB");
        if (redisReaderFeed(c->reader, tmp, got) != REDIS_OK)
            return broken(c, FS_EPROTOCOL, "parsing a FalkorDB reply");
    }
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
        freeReplyObject(r);
        return fail(c, FS_ESERVER, argv[0], why);
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
