/* Bolt client session: version handshake, HELLO/LOGON, RUN/PULL streaming, transactions. */
#include "bolt/bolt.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "version.h"

enum {
    MSG_HELLO = 0x01,
    MSG_GOODBYE = 0x02,
    MSG_RESET = 0x0F,
    MSG_RUN = 0x10,
    MSG_BEGIN = 0x11,
    MSG_COMMIT = 0x12,
    MSG_ROLLBACK = 0x13,
    MSG_DISCARD = 0x2F,
    MSG_PULL = 0x3F,
    MSG_LOGON = 0x6A,
    MSG_SUCCESS = 0x70,
    MSG_RECORD = 0x71,
    MSG_IGNORED = 0x7E,
    MSG_FAILURE = 0x7F,
};

#define RBUF_SIZE (64 * 1024)

/* ---- URI -------------------------------------------------------------- */

int bolt_uri_parse(const char *uri, struct bolt_uri *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->port = 7687;
    const char *sep = uri ? strstr(uri, "://") : NULL;
    if (!sep) {
        snprintf(err, errlen, "'%s' is not a URI (expected bolt://host:port)", uri ? uri : "");
        return FS_EURI;
    }
    size_t slen = (size_t)(sep - uri);
    if (slen >= sizeof out->scheme) {
        snprintf(err, errlen, "unknown URI scheme in '%s'", uri);
        return FS_EURI;
    }
    memcpy(out->scheme, uri, slen);
    out->scheme[slen] = '\0';
    static const struct {
        const char *name;
        enum net_tls tls;
        bool routing;
    } schemes[] = {
        {"bolt", NET_TLS_OFF, false},           {"bolt+s", NET_TLS_VERIFY, false},
        {"bolt+ssc", NET_TLS_TRUST_ANY, false}, {"neo4j", NET_TLS_OFF, true},
        {"neo4j+s", NET_TLS_VERIFY, true},      {"neo4j+ssc", NET_TLS_TRUST_ANY, true},
    };
    size_t i;
    for (i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
        if (!strcmp(out->scheme, schemes[i].name))
            break;
    if (i == sizeof schemes / sizeof schemes[0]) {
        snprintf(err, errlen,
                 "unknown URI scheme '%s' (use bolt, bolt+s, bolt+ssc, neo4j, neo4j+s or "
                 "neo4j+ssc)",
                 out->scheme);
        return FS_EURI;
    }
    out->tls = schemes[i].tls;
    out->routing = schemes[i].routing;

    const char *h = sep + 3;
    const char *at = strpbrk(h, "@/?");
    if (at && *at == '@')
        h = at + 1; /* credentials in the URI are ignored; use user/password settings */
    const char *hend;
    const char *rest;
    if (*h == '[') {
        hend = strchr(h, ']');
        if (!hend) {
            snprintf(err, errlen, "unterminated IPv6 address in '%s'", uri);
            return FS_EURI;
        }
        h++;
        rest = hend + 1;
    } else {
        hend = h + strcspn(h, ":/?");
        rest = hend;
    }
    size_t hlen = (size_t)(hend - h);
    if (hlen == 0 || hlen >= sizeof out->host) {
        snprintf(err, errlen, "missing or too long host in '%s'", uri);
        return FS_EURI;
    }
    memcpy(out->host, h, hlen);
    out->host[hlen] = '\0';
    if (*rest == ':') {
        char *end;
        long p = strtol(rest + 1, &end, 10);
        if (end == rest + 1 || p <= 0 || p > 65535 || (*end && *end != '/' && *end != '?')) {
            snprintf(err, errlen, "bad port in '%s'", uri);
            return FS_EURI;
        }
        out->port = (int)p;
    } else if (*rest && *rest != '/' && *rest != '?') {
        snprintf(err, errlen, "unexpected '%c' after host in '%s'", *rest, uri);
        return FS_EURI;
    }
    return 0;
}

/* ---- Session plumbing ------------------------------------------------- */

void bolt_init(struct bolt_session *s)
{
    memset(s, 0, sizeof *s);
    net_init(&s->net);
    s->state = BOLT_DISCONNECTED;
    buf_init(&s->out, BOLT_MAX_OUT_MESSAGE);
    buf_init(&s->wire, BOLT_MAX_OUT_QUEUED);
    bolt_dechunker_init(&s->in, (size_t)256 << 20);
    s->limits = pack_default_limits();
}

static void set_errstr(struct bolt_session *s, int err, const char *what, const char *detail)
{
    s->err = err;
    snprintf(s->errstr, sizeof s->errstr, "%s: %s%s%s", what, fs_strerror(err),
             detail && *detail ? ": " : "", detail ? detail : "");
}

static void free_fields(struct bolt_session *s)
{
    for (uint32_t i = 0; i < s->nfields; i++)
        free(s->fields[i]);
    free(s->fields);
    s->fields = NULL;
    s->nfields = 0;
}

/* Marks the connection unusable after an I/O or protocol failure. */
static int defunct(struct bolt_session *s, int err, const char *what)
{
    set_errstr(s, err, what, s->net.errstr[0] ? s->net.errstr : NULL);
    s->state = BOLT_DEFUNCT;
    net_close(&s->net);
    return err;
}

/* Chunks the message in s->out into s->wire. */
static int queue_msg(struct bolt_session *s)
{
    int rc = bolt_chunk_write(&s->wire, s->out.data, s->out.len, BOLT_MAX_CHUNK);
    buf_reset(&s->out);
    if (!rc)
        s->pending++; /* every request we send gets exactly one summary reply */
    return rc;
}

static int flush(struct bolt_session *s)
{
    if (!s->wire.len)
        return 0;
    int rc = net_write_all(&s->net, s->wire.data, s->wire.len);
    buf_reset(&s->wire);
    if (rc)
        return defunct(s, rc, "sending to Neo4j");
    return 0;
}

/* Receives one whole message; *tag is its signature and r is positioned on
 * its first field. The bytes stay valid until the next recv_msg. */
static int recv_msg(struct bolt_session *s, uint8_t *tag, struct pack_reader *r)
{
    if (s->in.done)
        bolt_dechunker_next(&s->in);
    for (;;) {
        while (s->rpos < s->rlen) {
            size_t used = 0;
            int rc = bolt_dechunker_feed(&s->in, s->rbuf + s->rpos, s->rlen - s->rpos, &used);
            s->rpos += used;
            if (rc < 0)
                return defunct(s, rc, "message from Neo4j exceeds the size cap");
            if (rc == 1) {
                struct pack_item it;
                pack_reader_init(r, s->in.msg.data, s->in.msg.len);
                if (pack_read_item(r, &it) || it.kind != FS_VALUE_STRUCT)
                    return defunct(s, FS_EPROTOCOL, "malformed Bolt message");
                *tag = it.tag;
                if (it.tag == MSG_SUCCESS || it.tag == MSG_FAILURE || it.tag == MSG_IGNORED)
                    s->pending--;
                return 0;
            }
        }
        s->rpos = s->rlen = 0;
        size_t got;
        int rc = net_read_some(&s->net, s->rbuf, s->rcap, &got);
        if (rc)
            return defunct(s, rc, "reading from Neo4j");
        s->rlen = got;
    }
}

static const char *str_of(const struct fs_value *v)
{
    return v && v->kind == FS_VALUE_STRING ? v->u.str.data : NULL;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* Maps a Neo4j status code to our error table. */
static int map_failure(const char *code)
{
    if (!code)
        return FS_ESERVER;
    if (strstr(code, "Security.Unauthorized") || strstr(code, "Security.AuthenticationRateLimit") ||
        strstr(code, "Security.CredentialsExpired"))
        return FS_EAUTH;
    if (strstr(code, "Database.DatabaseNotFound"))
        return FS_EDATABASE;
    if (strstr(code, "Statement.SyntaxError"))
        return FS_ESYNTAX;
    return FS_ESERVER;
}

/* Reads the metadata map of a SUCCESS or FAILURE into *meta. */
static int read_meta(struct bolt_session *s, struct pack_reader *r, struct fs_value *meta)
{
    int rc = pack_decode(r, &s->limits, meta);
    if (rc || meta->kind != FS_VALUE_MAP) {
        fs_value_deinit(meta);
        return defunct(s, FS_EPROTOCOL, "bad metadata in Bolt reply");
    }
    return 0;
}

static int record_failure(struct bolt_session *s, struct pack_reader *r)
{
    struct fs_value meta = {0};
    int rc = read_meta(s, r, &meta);
    if (rc)
        return rc;
    const char *code = str_of(fs_value_map_get(&meta, "neo4j_code"));
    if (!code)
        code = str_of(fs_value_map_get(&meta, "code"));
    copy_str(s->code, sizeof s->code, code);
    copy_str(s->message, sizeof s->message, str_of(fs_value_map_get(&meta, "message")));
    copy_str(s->gql_status, sizeof s->gql_status, str_of(fs_value_map_get(&meta, "gql_status")));
    fs_value_deinit(&meta);
    s->err = map_failure(s->code);
    snprintf(s->errstr, sizeof s->errstr, "%s: %s (%s)", fs_strerror(s->err), s->message, s->code);
    return s->err;
}

/* Waits for the reply to one request, skipping nothing: RECORDs here are a
 * protocol error. On SUCCESS the metadata goes to *meta when meta != NULL. */
static int wait_reply(struct bolt_session *s, struct fs_value *meta, bool *failed, bool *ignored)
{
    uint8_t tag;
    struct pack_reader r;
    *failed = *ignored = false;
    int rc = recv_msg(s, &tag, &r);
    if (rc)
        return rc;
    switch (tag) {
    case MSG_SUCCESS:
        if (meta)
            return read_meta(s, &r, meta);
        return 0;
    case MSG_FAILURE:
        *failed = true;
        return record_failure(s, &r);
    case MSG_IGNORED:
        *ignored = true;
        return 0;
    default:
        return defunct(s, FS_EPROTOCOL, "unexpected Bolt message");
    }
}

static int write_empty_map(struct buf *b)
{
    return pack_write_map_header(b, 0);
}

/* Sends RESET and reads every reply still owed, the RESET's last. */
static int reset_and_drain(struct bolt_session *s)
{
    int rc = pack_write_struct_header(&s->out, MSG_RESET, 0);
    rc = rc ? rc : queue_msg(s);
    rc = rc ? rc : flush(s);
    if (rc)
        return rc;
    while (s->pending > 0) {
        uint8_t tag;
        struct pack_reader r;
        rc = recv_msg(s, &tag, &r);
        if (rc)
            return rc;
        if (s->pending == 0 && tag != MSG_SUCCESS)
            return defunct(s, FS_EPROTOCOL, "RESET refused");
    }
    s->state = BOLT_READY;
    s->stream_done = true;
    s->has_more = false;
    return 0;
}

/* After a FAILURE: RESET (skipping the replies still owed), so the session
 * is usable again, and keep the failure's detail. Returns err. */
static int recover(struct bolt_session *s, int err)
{
    char code[sizeof s->code], msg[sizeof s->message], gql[sizeof s->gql_status];
    char es[sizeof s->errstr];
    memcpy(code, s->code, sizeof code);
    memcpy(msg, s->message, sizeof msg);
    memcpy(gql, s->gql_status, sizeof gql);
    memcpy(es, s->errstr, sizeof es);
    if (s->state != BOLT_DEFUNCT && reset_and_drain(s))
        return s->err;
    memcpy(s->code, code, sizeof code);
    memcpy(s->message, msg, sizeof msg);
    memcpy(s->gql_status, gql, sizeof gql);
    memcpy(s->errstr, es, sizeof es);
    s->err = err;
    return err;
}

/* ---- Connect ---------------------------------------------------------- */

static int write_auth(struct bolt_session *s, struct buf *b)
{
    const struct bolt_config *c = &s->cfg;
    int rc;
    if (c->user && *c->user) {
        rc = pack_write_cstr(b, "scheme");
        rc = rc ? rc : pack_write_cstr(b, "basic");
        rc = rc ? rc : pack_write_cstr(b, "principal");
        rc = rc ? rc : pack_write_cstr(b, c->user);
        rc = rc ? rc : pack_write_cstr(b, "credentials");
        rc = rc ? rc : pack_write_cstr(b, c->password ? c->password : "");
    } else {
        rc = pack_write_cstr(b, "scheme");
        rc = rc ? rc : pack_write_cstr(b, "none");
    }
    return rc;
}

static int auth_entries(const struct bolt_session *s)
{
    return s->cfg.user && *s->cfg.user ? 3 : 1;
}

static int send_hello(struct bolt_session *s, const void *routing, size_t routing_len)
{
    struct buf *b = &s->out;
    char agent[64];
    snprintf(agent, sizeof agent, "falkorsync/%s", FALKORSYNC_VERSION);
    bool logon = s->version_major > 5 || (s->version_major == 5 && s->version_minor >= 1);
    bool bolt_agent = s->version_major >= 5 && s->version_minor >= 3;
    bool v44 = s->version_major == 4;
    uint32_t n = 1 + (bolt_agent ? 1 : 0) + (v44 ? 1 : 0) + (routing ? 1 : 0) +
                 (logon ? 0 : (uint32_t)auth_entries(s));
    int rc = pack_write_struct_header(b, MSG_HELLO, 1);
    rc = rc ? rc : pack_write_map_header(b, n);
    rc = rc ? rc : pack_write_cstr(b, "user_agent");
    rc = rc ? rc : pack_write_cstr(b, agent);
    if (bolt_agent) {
        rc = rc ? rc : pack_write_cstr(b, "bolt_agent");
        rc = rc ? rc : pack_write_map_header(b, 3);
        rc = rc ? rc : pack_write_cstr(b, "product");
        rc = rc ? rc : pack_write_cstr(b, agent);
        rc = rc ? rc : pack_write_cstr(b, "platform");
        rc = rc ? rc : pack_write_cstr(b, "Linux");
        rc = rc ? rc : pack_write_cstr(b, "language");
        rc = rc ? rc : pack_write_cstr(b, "C/11");
    }
    if (v44) {
        rc = rc ? rc : pack_write_cstr(b, "patch_bolt");
        rc = rc ? rc : pack_write_list_header(b, 1);
        rc = rc ? rc : pack_write_cstr(b, "utc");
    }
    if (routing) {
        rc = rc ? rc : pack_write_cstr(b, "routing");
        rc = rc ? rc : buf_append(b, routing, routing_len);
    }
    if (!logon)
        rc = rc ? rc : write_auth(s, b);
    rc = rc ? rc : queue_msg(s);
    if (rc)
        return rc;
    if (logon) {
        rc = pack_write_struct_header(b, MSG_LOGON, 1);
        rc = rc ? rc : pack_write_map_header(b, (uint32_t)auth_entries(s));
        rc = rc ? rc : write_auth(s, b);
        rc = rc ? rc : queue_msg(s);
    }
    return rc;
}

int bolt_connect_to(struct bolt_session *s, const struct bolt_config *cfg,
                    const struct bolt_target *t)
{
    bolt_close(s);
    s->cfg = *cfg;
    s->database = cfg->database && *cfg->database ? strdup(cfg->database) : NULL;
    if (cfg->max_message)
        s->in.max_message = cfg->max_message;
    s->limits.max_alloc = s->in.max_message;
    s->rcap = RBUF_SIZE;
    s->rbuf = malloc(s->rcap);
    if (!s->rbuf)
        return FS_ENOMEM;

    struct net_opts no = {
        .connect_timeout_ms = cfg->connect_timeout_ms,
        .read_timeout_ms = cfg->read_timeout_ms > 0 ? cfg->read_timeout_ms : 60000,
        .write_timeout_ms = cfg->write_timeout_ms > 0 ? cfg->write_timeout_ms : 60000,
        .tls = t->tls,
        .ca_file = cfg->ca_file,
        .stop = cfg->stop,
    };
    struct bolt_addr a = {.port = t->port};
    snprintf(a.host, sizeof a.host, "%s", t->host);
    bolt_addr_format(&a, s->member, sizeof s->member);
    int rc = net_connect(&s->net, t->host, t->port, &no);
    if (rc) {
        set_errstr(s, rc, "connecting to Neo4j", s->net.errstr);
        return rc;
    }
    if (t->handshake_timeout_ms > 0)
        net_set_read_timeout(&s->net, t->handshake_timeout_ms);
    /* Magic, then 5.8 down to 5.0 (range 8), then 4.4. */
    static const uint8_t hs[20] = {0x60, 0x60, 0xB0, 0x17, 0x00, 0x08, 0x08, 0x05, 0x00, 0x00,
                                   0x04, 0x04, 0,    0,    0,    0,    0,    0,    0,    0};
    rc = net_write_all(&s->net, hs, sizeof hs);
    uint8_t ver[4];
    if (!rc)
        rc = net_read_full(&s->net, ver, sizeof ver);
    if (rc)
        return defunct(s, rc, "Bolt handshake");
    if (ver[0] == 'H' && ver[1] == 'T') {
        set_errstr(s, FS_EPROTOCOL, "Bolt handshake", "the server speaks HTTP; use the Bolt port");
        net_close(&s->net);
        return FS_EPROTOCOL;
    }
    if ((ver[0] | ver[1] | ver[2] | ver[3]) == 0) {
        set_errstr(s, FS_EVERSION, "Bolt handshake", "server supports none of 5.0-5.8, 4.4");
        net_close(&s->net);
        return FS_EVERSION;
    }
    s->version_major = ver[3];
    s->version_minor = ver[2];
    if (!((s->version_major == 5 && s->version_minor <= 8) ||
          (s->version_major == 4 && s->version_minor == 4))) {
        set_errstr(s, FS_EPROTOCOL, "Bolt handshake", "server chose a version we did not offer");
        net_close(&s->net);
        return FS_EPROTOCOL;
    }

    rc = send_hello(s, t->routing, t->routing_len);
    if (!rc)
        rc = flush(s);
    if (rc)
        return rc;
    struct fs_value meta = {0};
    bool failed, ignored;
    rc = wait_reply(s, &meta, &failed, &ignored);
    if (rc) {
        int e = rc;
        if (failed)
            net_close(&s->net), s->state = BOLT_DEFUNCT;
        return e;
    }
    copy_str(s->server_agent, sizeof s->server_agent, str_of(fs_value_map_get(&meta, "server")));
    copy_str(s->connection_id, sizeof s->connection_id,
             str_of(fs_value_map_get(&meta, "connection_id")));
    fs_value_deinit(&meta);
    if (s->version_major > 5 || (s->version_major == 5 && s->version_minor >= 1)) {
        rc = wait_reply(s, NULL, &failed, &ignored);
        if (rc) {
            if (failed)
                net_close(&s->net), s->state = BOLT_DEFUNCT;
            return rc;
        }
    }
    net_set_read_timeout(&s->net, no.read_timeout_ms);
    s->state = BOLT_READY;
    s->stream_done = true;
    return 0;
}

void bolt_close(struct bolt_session *s)
{
    if (net_is_open(&s->net) && s->state != BOLT_DEFUNCT) {
        buf_reset(&s->out);
        buf_reset(&s->wire);
        if (!pack_write_struct_header(&s->out, MSG_GOODBYE, 0) && !queue_msg(s)) {
            if (net_write_all(&s->net, s->wire.data, s->wire.len)) {
                /* closing anyway */
            }
        }
    }
    net_close(&s->net);
    free_fields(s);
    fs_value_deinit(&s->summary);
    free(s->database);
    s->database = NULL;
    free(s->rbuf);
    s->rbuf = NULL;
    s->rpos = s->rlen = s->rcap = 0;
    buf_deinit(&s->out);
    buf_deinit(&s->wire);
    size_t maxm = s->in.max_message;
    bolt_dechunker_deinit(&s->in);
    bolt_dechunker_init(&s->in, maxm);
    s->state = BOLT_DISCONNECTED;
    s->pending = 0;
}

/* ---- Results ---------------------------------------------------------- */

static int64_t fetch_n(const struct bolt_session *s)
{
    if (s->cfg.fetch_size < 0)
        return -1;
    return s->cfg.fetch_size ? s->cfg.fetch_size : 1000;
}

static int queue_pull(struct bolt_session *s, uint8_t tag, int64_t n)
{
    struct buf *b = &s->out;
    int rc = pack_write_struct_header(b, tag, 1);
    rc = rc ? rc : pack_write_map_header(b, 1);
    rc = rc ? rc : pack_write_cstr(b, "n");
    rc = rc ? rc : pack_write_int(b, n);
    return rc ? rc : queue_msg(s);
}

static bool in_tx(const struct bolt_session *s)
{
    return s->state == BOLT_TX_READY || s->state == BOLT_TX_STREAMING;
}

static int write_tx_extra(struct bolt_session *s, enum bolt_mode mode)
{
    struct buf *b = &s->out;
    uint32_t n = (s->database ? 1 : 0) + (mode == BOLT_MODE_READ ? 1 : 0);
    int rc = pack_write_map_header(b, n);
    if (s->database) {
        rc = rc ? rc : pack_write_cstr(b, "db");
        rc = rc ? rc : pack_write_cstr(b, s->database);
    }
    if (mode == BOLT_MODE_READ) {
        rc = rc ? rc : pack_write_cstr(b, "mode");
        rc = rc ? rc : pack_write_cstr(b, "r");
    }
    return rc;
}

static int check_usable(struct bolt_session *s)
{
    if (s->state == BOLT_DISCONNECTED || s->state == BOLT_DEFUNCT) {
        set_errstr(s, FS_ESTATE, "Neo4j session", "not connected");
        return FS_ESTATE;
    }
    if (s->state == BOLT_STREAMING || s->state == BOLT_TX_STREAMING)
        return bolt_discard(s);
    return 0;
}

int bolt_run(struct bolt_session *s, const char *query, const void *params_map, size_t params_len,
             enum bolt_mode mode)
{
    int rc = check_usable(s);
    if (rc)
        return rc;
    bool tx = in_tx(s);
    struct buf *b = &s->out;
    rc = pack_write_struct_header(b, MSG_RUN, 3);
    rc = rc ? rc : pack_write_cstr(b, query);
    if (params_map && params_len)
        rc = rc ? rc : buf_append(b, params_map, params_len);
    else
        rc = rc ? rc : write_empty_map(b);
    if (tx)
        rc = rc ? rc : write_empty_map(b);
    else
        rc = rc ? rc : write_tx_extra(s, mode);
    rc = rc ? rc : queue_msg(s);
    rc = rc ? rc : queue_pull(s, MSG_PULL, fetch_n(s));
    if (rc) {
        buf_reset(b);
        buf_reset(&s->wire);
        set_errstr(s, rc, "encoding RUN", NULL);
        return rc;
    }
    rc = flush(s);
    if (rc)
        return rc;
    free_fields(s);
    fs_value_deinit(&s->summary);
    s->records_seen = 0;

    struct fs_value meta = {0};
    bool failed, ignored;
    rc = wait_reply(s, &meta, &failed, &ignored);
    if (rc)
        return failed ? recover(s, rc) : rc;
    if (ignored)
        return recover(s, FS_ESTATE);
    const struct fs_value *f = fs_value_map_get(&meta, "fields");
    if (f && f->kind == FS_VALUE_LIST) {
        s->fields = calloc(f->u.list.len ? f->u.list.len : 1, sizeof *s->fields);
        if (!s->fields) {
            fs_value_deinit(&meta);
            return FS_ENOMEM;
        }
        for (uint32_t i = 0; i < f->u.list.len; i++) {
            const char *name = str_of(&f->u.list.items[i]);
            s->fields[i] = strdup(name ? name : "");
            s->nfields = i + 1;
        }
    }
    const struct fs_value *q = fs_value_map_get(&meta, "qid");
    s->qid = q && q->kind == FS_VALUE_INT ? q->u.i : -1;
    fs_value_deinit(&meta);
    s->state = tx ? BOLT_TX_STREAMING : BOLT_STREAMING;
    s->stream_done = false;
    s->has_more = false;
    return 0;
}

int bolt_run_value(struct bolt_session *s, const char *query, const struct fs_value *params,
                   enum bolt_mode mode)
{
    if (!params)
        return bolt_run(s, query, NULL, 0, mode);
    struct buf p;
    buf_init(&p, BOLT_MAX_OUT_MESSAGE);
    int rc = pack_encode(&p, params);
    if (!rc)
        rc = bolt_run(s, query, p.data, p.len, mode);
    buf_deinit(&p);
    return rc;
}

static void end_stream(struct bolt_session *s)
{
    s->stream_done = true;
    s->state = s->state == BOLT_TX_STREAMING ? BOLT_TX_READY : BOLT_READY;
}

int bolt_next(struct bolt_session *s, struct bolt_record *rec)
{
    if (s->state != BOLT_STREAMING && s->state != BOLT_TX_STREAMING)
        return s->state == BOLT_DEFUNCT ? s->err : 0;
    if (s->stream_done)
        return 0;
    for (;;) {
        uint8_t tag;
        struct pack_reader r;
        int rc = recv_msg(s, &tag, &r);
        if (rc)
            return rc;
        if (tag == MSG_RECORD) {
            struct pack_item it;
            size_t start = r.pos;
            if (pack_read_item(&r, &it) || it.kind != FS_VALUE_LIST)
                return defunct(s, FS_EPROTOCOL, "malformed RECORD");
            rec->data = r.p + start;
            rec->len = r.len - start;
            rec->nvalues = it.size;
            s->records_seen++;
            return 1;
        }
        if (tag == MSG_SUCCESS) {
            fs_value_deinit(&s->summary);
            rc = read_meta(s, &r, &s->summary);
            if (rc)
                return rc;
            const struct fs_value *hm = fs_value_map_get(&s->summary, "has_more");
            s->has_more = hm && hm->kind == FS_VALUE_BOOL && hm->u.b;
            if (s->has_more) {
                rc = queue_pull(s, MSG_PULL, fetch_n(s));
                rc = rc ? rc : flush(s);
                if (rc)
                    return rc;
                continue;
            }
            end_stream(s);
            return 0;
        }
        if (tag == MSG_FAILURE) {
            rc = record_failure(s, &r);
            return recover(s, rc);
        }
        if (tag == MSG_IGNORED)
            return recover(s, FS_ESTATE);
        return defunct(s, FS_EPROTOCOL, "unexpected message in a result");
    }
}

int bolt_record_decode(const struct bolt_session *s, const struct bolt_record *rec,
                       struct fs_value *out)
{
    struct pack_reader r;
    pack_reader_init(&r, rec->data, rec->len);
    return pack_decode(&r, &s->limits, out);
}

int bolt_discard(struct bolt_session *s)
{
    if (s->state != BOLT_STREAMING && s->state != BOLT_TX_STREAMING)
        return 0;
    /* Let the PULL in flight finish (dropping its records), then DISCARD the rest. */
    while (!s->stream_done) {
        uint8_t tag;
        struct pack_reader r;
        int rc = recv_msg(s, &tag, &r);
        if (rc)
            return rc;
        if (tag == MSG_RECORD)
            continue;
        if (tag == MSG_FAILURE) {
            rc = record_failure(s, &r);
            return recover(s, rc);
        }
        if (tag != MSG_SUCCESS)
            return recover(s, FS_EPROTOCOL);
        fs_value_deinit(&s->summary);
        rc = read_meta(s, &r, &s->summary);
        if (rc)
            return rc;
        const struct fs_value *hm = fs_value_map_get(&s->summary, "has_more");
        if (hm && hm->kind == FS_VALUE_BOOL && hm->u.b) {
            rc = queue_pull(s, MSG_DISCARD, -1);
            rc = rc ? rc : flush(s);
            if (rc)
                return rc;
            continue; /* the DISCARD's SUCCESS ends it */
        }
        end_stream(s);
    }
    return 0;
}

int bolt_exec(struct bolt_session *s, const char *query, const struct fs_value *params)
{
    int rc = bolt_run_value(s, query, params, BOLT_MODE_WRITE);
    if (rc)
        return rc;
    struct bolt_record rec;
    while ((rc = bolt_next(s, &rec)) == 1)
        ;
    return rc;
}

/* ---- Transactions ----------------------------------------------------- */

static int simple_request(struct bolt_session *s, uint8_t tag, bool with_extra, enum bolt_mode mode)
{
    int rc = pack_write_struct_header(&s->out, tag, with_extra ? 1 : 0);
    if (with_extra)
        rc = rc ? rc : write_tx_extra(s, mode);
    rc = rc ? rc : queue_msg(s);
    rc = rc ? rc : flush(s);
    if (rc)
        return rc;
    bool failed, ignored;
    rc = wait_reply(s, NULL, &failed, &ignored);
    if (rc)
        return failed ? recover(s, rc) : rc;
    if (ignored)
        return recover(s, FS_ESTATE);
    return 0;
}

int bolt_begin(struct bolt_session *s, enum bolt_mode mode)
{
    int rc = check_usable(s);
    if (rc)
        return rc;
    if (in_tx(s)) {
        set_errstr(s, FS_ESTATE, "BEGIN", "a transaction is already open");
        return FS_ESTATE;
    }
    rc = simple_request(s, MSG_BEGIN, true, mode);
    if (!rc)
        s->state = BOLT_TX_READY;
    return rc;
}

static int end_tx(struct bolt_session *s, uint8_t tag, const char *what)
{
    int rc = check_usable(s);
    if (rc)
        return rc;
    if (!in_tx(s)) {
        set_errstr(s, FS_ESTATE, what, "no transaction is open");
        return FS_ESTATE;
    }
    rc = simple_request(s, tag, false, BOLT_MODE_WRITE);
    if (s->state == BOLT_TX_READY)
        s->state = BOLT_READY;
    return rc;
}

int bolt_commit(struct bolt_session *s)
{
    return end_tx(s, MSG_COMMIT, "COMMIT");
}

int bolt_rollback(struct bolt_session *s)
{
    return end_tx(s, MSG_ROLLBACK, "ROLLBACK");
}

int bolt_reset(struct bolt_session *s)
{
    if (s->state == BOLT_DISCONNECTED || s->state == BOLT_DEFUNCT)
        return FS_ESTATE;
    return reset_and_drain(s);
}

int bolt_request(struct bolt_session *s, const void *msg, size_t len, struct fs_value *meta)
{
    int rc = check_usable(s);
    if (rc)
        return rc;
    rc = buf_append(&s->out, msg, len);
    rc = rc ? rc : queue_msg(s);
    rc = rc ? rc : flush(s);
    if (rc)
        return rc;
    bool failed, ignored;
    rc = wait_reply(s, meta, &failed, &ignored);
    if (rc)
        return failed ? recover(s, rc) : rc;
    if (ignored)
        return recover(s, FS_ESTATE);
    return 0;
}

int bolt_field_index(const struct bolt_session *s, const char *name)
{
    for (uint32_t i = 0; i < s->nfields; i++)
        if (!strcmp(s->fields[i], name))
            return (int)i;
    return -1;
}
