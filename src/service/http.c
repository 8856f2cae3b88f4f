/* HTTP routes on civetweb: JSON API, /health, /ws/updates, the dashboard, and /metrics on its own
 * port. */
#include "service/http.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <civetweb.h>

#include "bolt/bolt.h"
#include "falkor/fdb.h"
#include "log/log.h"
#include "service/metrics.h"
#include "service/sysinfo.h"
#include "sync/connect.h"
#include "sync/full.h"
#include "version.h"

extern const unsigned char dashboard_html[];
extern const size_t dashboard_html_len;

#define MAX_BODY (64 * 1024)
#define MAX_WS 64

struct ws_client {
    struct mg_connection *conn;
    uint64_t sent_seq;
};

struct http_server {
    const struct cfg *cfg;
    struct svc_state *st;
    volatile sig_atomic_t *hup;
    struct mg_context *api, *metrics;
    pthread_t monitor, broadcaster;
    bool threads_started;
    pthread_mutex_t ws_mu;
    struct ws_client ws[MAX_WS];
    int nws;
    volatile int quit;
};

/* ---- responses ---------------------------------------------------------- */

static int reply(struct mg_connection *c, int status, const char *ctype, const char *body,
                 size_t len, const char *extra)
{
    static const struct {
        int code;
        const char *text;
    } texts[] = {{200, "OK"},
                 {202, "Accepted"},
                 {400, "Bad Request"},
                 {401, "Unauthorized"},
                 {404, "Not Found"},
                 {405, "Method Not Allowed"},
                 {409, "Conflict"},
                 {413, "Payload Too Large"},
                 {500, "Internal Server Error"},
                 {503, "Service Unavailable"}};
    const char *t = "OK";
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (texts[i].code == status)
            t = texts[i].text;
    mg_printf(c,
              "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
              "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n%s"
              "Connection: close\r\n\r\n",
              status, t, ctype, len, extra ? extra : "");
    if (len)
        mg_write(c, body, len);
    return status;
}

static int reply_json(struct mg_connection *c, int status, const char *json)
{
    if (!json)
        return reply(c, 500, "application/json", "{\"error\":\"out of memory\"}", 25, NULL);
    return reply(c, status, "application/json", json, strlen(json), NULL);
}

static int reply_json_owned(struct mg_connection *c, int status, char *json)
{
    int r = reply_json(c, status, json);
    free(json);
    return r;
}

static int reply_error(struct mg_connection *c, int status, const char *msg, const char *extra)
{
    char body[512], esc[400];
    log_json_escape(esc, sizeof esc, msg);
    int n = snprintf(body, sizeof body, "{\"error\":\"%s\"}", esc);
    return reply(c, status, "application/json", body, (size_t)n, extra);
}

/* ---- auth, limits ------------------------------------------------------- */

static bool token_ok(const struct http_server *h, struct mg_connection *c)
{
    const char *want = h->cfg->monitoring.api_token;
    if (!want || !*want)
        return true;
    const char *got = mg_get_header(c, "Authorization");
    if (!got || strncasecmp(got, "Bearer ", 7))
        return false;
    got += 7;
    size_t a = strlen(want), b = strlen(got);
    unsigned diff = (unsigned)(a ^ b);
    for (size_t i = 0; i < a; i++) /* constant time in the token's length */
        diff |= (unsigned)(want[i] ^ (i < b ? got[i] : 0));
    return diff == 0;
}

/* Reads and discards the body; false when it is larger than allowed. */
static bool drain_body(struct mg_connection *c)
{
    const struct mg_request_info *ri = mg_get_request_info(c);
    if (ri->content_length > MAX_BODY)
        return false;
    char tmp[4096];
    long long total = 0;
    int n;
    while ((n = mg_read(c, tmp, sizeof tmp)) > 0) {
        total += n;
        if (total > MAX_BODY)
            return false;
    }
    return true;
}

/* ---- routes ------------------------------------------------------------- */

static char *health_json(struct http_server *h, bool *healthy)
{
    struct svc_state *s = h->st;
    char ne[600], fe[600];
    struct buf b;
    buf_init(&b, 0);
    pthread_mutex_lock(&s->mu);
    *healthy = s->neo4j_up && s->falkordb_up;
    log_json_escape(ne, sizeof ne, s->neo4j_err);
    log_json_escape(fe, sizeof fe, s->falkordb_err);
    int rc = buf_printf(&b,
                        "{\"status\":\"%s\",\"version\":\"%s\",\"uptime_seconds\":%.1f,"
                        "\"checks\":{\"neo4j\":{\"ok\":%s,\"latency_ms\":%.1f,\"error\":%s%s%s},"
                        "\"falkordb\":{\"ok\":%s,\"latency_ms\":%.1f,\"error\":%s%s%s}}}",
                        *healthy ? "healthy" : "unhealthy", FALKORSYNC_VERSION,
                        svc_wall() - s->started_wall, s->neo4j_up ? "true" : "false", s->neo4j_ms,
                        s->neo4j_up ? "null" : "\"", s->neo4j_up ? "" : ne, s->neo4j_up ? "" : "\"",
                        s->falkordb_up ? "true" : "false", s->falkordb_ms,
                        s->falkordb_up ? "null" : "\"", s->falkordb_up ? "" : fe,
                        s->falkordb_up ? "" : "\"");
    pthread_mutex_unlock(&s->mu);
    if (rc) {
        buf_deinit(&b);
        return NULL;
    }
    return buf_detach(&b);
}

static char *system_json(struct http_server *h)
{
    struct sysinfo_proc p;
    sysinfo_read(&p);
    struct buf b;
    buf_init(&b, 0);
    if (buf_printf(&b,
                   "{\"pid\":%d,\"cpu_seconds\":%.3f,\"rss_bytes\":%" PRIu64
                   ",\"threads\":%d,\"open_fds\":%d,\"uptime_seconds\":%.1f}",
                   (int)getpid(), p.cpu_user + p.cpu_system, p.rss_bytes, p.threads, p.open_fds,
                   svc_wall() - h->st->started_wall)) {
        buf_deinit(&b);
        return NULL;
    }
    return buf_detach(&b);
}

static int parse_limit(const char *qs, int *limit)
{
    *limit = 20;
    if (!qs || !*qs)
        return 0;
    char v[32];
    int n = mg_get_var(qs, strlen(qs), "limit", v, sizeof v);
    if (n == -1)
        return 0; /* not given */
    if (n < 1)
        return -1;
    char *end;
    long l = strtol(v, &end, 10);
    if (*end || l < 1 || l > 1000)
        return -1;
    *limit = (int)l;
    return 0;
}

static int trigger(struct http_server *h, struct mg_connection *c, enum sync_mode mode)
{
    uint64_t id;
    if (svc_trigger(h->st, mode, &id)) {
        char *status = svc_status_json(h->st);
        struct buf b;
        buf_init(&b, 0);
        int rc = buf_printf(&b, "{\"error\":\"a sync run is in progress\",\"running\":");
        /* the status object's "current" is the running job */
        const char *cur = status ? strstr(status, "\"current\":") : NULL;
        if (!rc && cur && strncmp(cur + 10, "null", 4)) {
            const char *start = cur + 10;
            const char *end = strstr(start, ",\"last_run\"");
            rc = buf_append(&b, start, end ? (size_t)(end - start) : strlen(start));
        } else if (!rc) {
            rc = buf_append_str(&b, "null");
        }
        rc = rc ? rc : buf_append_str(&b, "}");
        free(status);
        int r = reply_json(c, 409, rc ? NULL : b.data);
        buf_deinit(&b);
        return r;
    }
    char body[160];
    snprintf(body, sizeof body, "{\"accepted\":true,\"run_id\":%" PRIu64 ",\"mode\":\"%s\"}", id,
             orch_mode_name(mode));
    log_event(LOG_INFO, "sync requested over the API", "\"mode\":\"%s\"", orch_mode_name(mode));
    return reply_json(c, 202, body);
}

static int api_handler(struct mg_connection *c, void *cbdata)
{
    struct http_server *h = cbdata;
    const struct mg_request_info *ri = mg_get_request_info(c);
    const char *m = ri->request_method;
    const char *uri = ri->local_uri ? ri->local_uri : "/";
    bool get = !strcmp(m, "GET") || !strcmp(m, "HEAD");
    bool post = !strcmp(m, "POST");
    if (!drain_body(c))
        return reply_error(c, 413, "request body larger than 64 KB", NULL);

    static const struct {
        const char *path;
        bool is_post;
    } routes[] = {
        {"/", false},
        {"/health", false},
        {"/api/sync/status", false},
        {"/api/sync/statistics", false},
        {"/api/sync/history", false},
        {"/api/system/metrics", false},
        {"/api/sync/full", true},
        {"/api/sync/incremental", true},
        {"/api/sync/reconcile", true},
        {"/api/sync/start", true},
        {"/api/sync/stop", true},
    };
    int route = -1;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (!strcmp(uri, routes[i].path))
            route = (int)i;
    if (route < 0)
        return reply_error(c, 404, "no such route", NULL);
    if (routes[route].is_post && !post)
        return reply_error(c, 405, "use POST", "Allow: POST\r\n");
    if (!routes[route].is_post && !get)
        return reply_error(c, 405, "use GET", "Allow: GET, HEAD\r\n");

    switch (route) {
    case 0:
        return reply(c, 200, "text/html; charset=utf-8", (const char *)dashboard_html,
                     dashboard_html_len,
                     "Content-Security-Policy: default-src 'self'; style-src 'self' "
                     "'unsafe-inline'; script-src 'self' 'unsafe-inline'; connect-src 'self' ws: "
                     "wss:\r\n");
    case 1: {
        bool healthy;
        char *j = health_json(h, &healthy);
        return reply_json_owned(c, healthy ? 200 : 503, j);
    }
    case 2:
        return reply_json_owned(c, 200, svc_status_json(h->st));
    case 3:
        return reply_json_owned(c, 200, svc_statistics_json(h->st));
    case 4: {
        int limit;
        if (parse_limit(ri->query_string, &limit))
            return reply_error(c, 400, "limit must be an integer from 1 to 1000", NULL);
        return reply_json_owned(c, 200, svc_history_json(h->st, limit));
    }
    case 5:
        return reply_json_owned(c, 200, system_json(h));
    default:
        break;
    }
    /* POST routes */
    if (!token_ok(h, c))
        return reply_error(c, 401, "missing or wrong bearer token",
                           "WWW-Authenticate: Bearer realm=\"falkorsync\"\r\n");
    switch (route) {
    case 6:
        return trigger(h, c, MODE_FULL);
    case 7:
        return trigger(h, c, MODE_INCREMENTAL);
    case 8:
        return trigger(h, c, MODE_RECONCILE);
    case 9:
    case 10: {
        bool on = route == 9;
        svc_set_continuous(h->st, on);
        log_event(LOG_INFO, on ? "continuous sync started" : "continuous sync stopped", NULL);
        return reply_json(c, 200, on ? "{\"continuous\":true}" : "{\"continuous\":false}");
    }
    }
    return reply_error(c, 404, "no such route", NULL);
}

static int metrics_handler(struct mg_connection *c, void *cbdata)
{
    struct http_server *h = cbdata;
    const struct mg_request_info *ri = mg_get_request_info(c);
    if (!drain_body(c))
        return reply_error(c, 413, "request body larger than 64 KB", NULL);
    if (strcmp(ri->local_uri ? ri->local_uri : "", "/metrics"))
        return reply_error(c, 404, "no such route (try /metrics)", NULL);
    if (strcmp(ri->request_method, "GET") && strcmp(ri->request_method, "HEAD"))
        return reply_error(c, 405, "use GET", "Allow: GET, HEAD\r\n");
    char *text = metrics_render(h->st);
    if (!text)
        return reply_error(c, 500, "out of memory", NULL);
    int r = reply(c, 200, "text/plain; version=0.0.4; charset=utf-8", text, strlen(text), NULL);
    free(text);
    return r;
}

/* ---- WebSocket ---------------------------------------------------------- */

static int ws_connect(const struct mg_connection *c, void *cbdata)
{
    struct http_server *h = cbdata;
    pthread_mutex_lock(&h->ws_mu);
    int full = h->nws >= MAX_WS;
    pthread_mutex_unlock(&h->ws_mu);
    return full ? 1 : 0; /* non-zero refuses */
}

static void ws_ready(struct mg_connection *c, void *cbdata)
{
    struct http_server *h = cbdata;
    char *status = svc_status_json(h->st);
    uint64_t seq;
    pthread_mutex_lock(&h->st->mu);
    seq = h->st->event_seq;
    pthread_mutex_unlock(&h->st->mu);
    if (status) {
        struct buf b;
        buf_init(&b, 0);
        if (!buf_printf(&b, "{\"event\":\"status\",\"data\":%s}", status))
            mg_websocket_write(c, MG_WEBSOCKET_OPCODE_TEXT, b.data, b.len);
        buf_deinit(&b);
        free(status);
    }
    pthread_mutex_lock(&h->ws_mu);
    if (h->nws < MAX_WS) {
        h->ws[h->nws].conn = c;
        h->ws[h->nws].sent_seq = seq;
        h->nws++;
    }
    pthread_mutex_unlock(&h->ws_mu);
}

static int ws_data(struct mg_connection *c, int bits, char *data, size_t len, void *cbdata)
{
    (void)c;
    (void)data;
    (void)len;
    (void)cbdata;
    return (bits & 0x0F) != MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE; /* 0 closes */
}

static void ws_close(const struct mg_connection *c, void *cbdata)
{
    struct http_server *h = cbdata;
    pthread_mutex_lock(&h->ws_mu);
    for (int i = 0; i < h->nws; i++)
        if (h->ws[i].conn == c) {
            h->ws[i] = h->ws[--h->nws];
            break;
        }
    pthread_mutex_unlock(&h->ws_mu);
}

/* Sends new events to every client. Runs on its own thread, so a slow client
 * delays other clients at worst, never the sync. */
static void *broadcaster_main(void *arg)
{
    struct http_server *h = arg;
    while (!h->quit) {
        pthread_mutex_lock(&h->st->mu);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&h->st->cond, &h->st->mu, &ts);
        uint64_t last = h->st->event_seq;
        pthread_mutex_unlock(&h->st->mu);
        pthread_mutex_lock(&h->ws_mu);
        for (int i = 0; i < h->nws; i++) {
            struct ws_client *w = &h->ws[i];
            uint64_t from = w->sent_seq + 1;
            if (last >= SVC_EVENTS && from < last - SVC_EVENTS + 1)
                from = last - SVC_EVENTS + 1; /* too far behind: skip what was overwritten */
            for (uint64_t q = from; q <= last; q++) {
                pthread_mutex_lock(&h->st->mu);
                struct svc_event *e = &h->st->events[q % SVC_EVENTS];
                char *msg = e->seq == q && e->json ? strdup(e->json) : NULL;
                pthread_mutex_unlock(&h->st->mu);
                if (msg) {
                    mg_websocket_write(w->conn, MG_WEBSOCKET_OPCODE_TEXT, msg, strlen(msg));
                    free(msg);
                }
            }
            w->sent_seq = last;
        }
        pthread_mutex_unlock(&h->ws_mu);
    }
    return NULL;
}

/* ---- monitor: health checks, per-type counts, SIGHUP ------------------- */

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void check_dbs(struct http_server *h, bool counts)
{
    const struct cfg *c = h->cfg;
    struct bolt_config bc = sync_bolt_config(c);
    bc.connect_timeout_ms = 2000;
    bc.read_timeout_ms = 5000;
    struct bolt_session s;
    bolt_init(&s);
    double t0 = mono();
    bool nup = bolt_connect(&s, &bc) == 0 && bolt_run(&s, "RETURN 1", NULL, 0, BOLT_MODE_READ) == 0;
    struct bolt_record rec;
    while (nup && bolt_next(&s, &rec) == 1)
        ;
    double nms = (mono() - t0) * 1000;
    char nerr[256];
    snprintf(nerr, sizeof nerr, "%s", nup ? "" : s.errstr);
    int64_t cn[16];
    for (int i = 0; i < 16; i++)
        cn[i] = -1;
    const struct sync_profile *prof = sync_profile_of(c);
    for (int i = 0; nup && counts && i < prof->ntypes; i++) {
        char q[160];
        if (sync_count_query(&prof->types[i], q, sizeof q) ||
            bolt_run(&s, q, NULL, 0, BOLT_MODE_READ))
            break;
        while (bolt_next(&s, &rec) == 1) {
            struct pack_reader r;
            struct pack_item it;
            pack_reader_init(&r, rec.data, rec.len);
            if (!pack_read_item(&r, &it) && !pack_read_item(&r, &it) && it.kind == FS_VALUE_INT)
                cn[i] = it.i;
        }
    }
    bolt_close(&s);

    struct fdb_config fc = sync_fdb_config(c);
    fc.connect_timeout_ms = 2000;
    fc.read_timeout_ms = 5000;
    struct fdb_conn f;
    fdb_init(&f);
    t0 = mono();
    const char *ping[1] = {"PING"};
    bool fup = fdb_connect(&f, &fc) == 0 && fdb_commandv(&f, NULL, 1, ping) == 0;
    double fms = (mono() - t0) * 1000;
    char ferr[256];
    snprintf(ferr, sizeof ferr, "%s", fup ? "" : f.errstr);
    int64_t cf[16];
    for (int i = 0; i < 16; i++)
        cf[i] = -1;
    for (int i = 0; fup && counts && c->falkordb.layout == CFG_LAYOUT_SINGLE && i < prof->ntypes;
         i++) {
        char q[160];
        if (sync_count_query(&prof->types[i], q, sizeof q))
            break;
        const char *argv[3] = {"GRAPH.RO_QUERY", c->falkordb.database, q};
        redisReply *r = NULL;
        if (fdb_commandv(&f, &r, 3, argv)) {
            if (!strstr(f.errstr, "empty key") && !strstr(f.errstr, "not exist"))
                break;
            cf[i] = 0; /* no graph yet */
            continue;
        }
        if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2 && r->element[1]->elements &&
            r->element[1]->element[0]->elements)
            cf[i] = r->element[1]->element[0]->element[0]->integer;
        freeReplyObject(r);
    }
    fdb_close(&f);

    struct svc_state *st = h->st;
    pthread_mutex_lock(&st->mu);
    st->neo4j_up = nup;
    st->neo4j_ms = nms;
    snprintf(st->neo4j_err, sizeof st->neo4j_err, "%s", nerr);
    st->falkordb_up = fup;
    st->falkordb_ms = fms;
    snprintf(st->falkordb_err, sizeof st->falkordb_err, "%s", ferr);
    st->health_checked_at = svc_wall();
    if (counts) {
        for (int i = 0; i < 16; i++) {
            st->count_neo4j[i] = cn[i];
            st->count_falkordb[i] = cf[i];
        }
        st->counts_at = svc_wall();
    }
    pthread_mutex_unlock(&st->mu);
}

static void *monitor_main(void *arg)
{
    struct http_server *h = arg;
    double next_health = 0, next_counts = 0;
    while (!h->quit) {
        double now = mono();
        if (now >= next_health) {
            bool counts = now >= next_counts;
            check_dbs(h, counts);
            next_health = mono() + 2;
            if (counts)
                next_counts = mono() + 10;
        }
        if (h->hup && *h->hup) {
            *h->hup = 0;
            log_reopen();
            log_event(LOG_INFO, "log file reopened", NULL);
        }
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* ---- lifecycle ---------------------------------------------------------- */

static void listen_spec(char *out, size_t cap, const char *addr, int port)
{
    if (strchr(addr, ':'))
        snprintf(out, cap, "[%s]:%d", addr, port);
    else
        snprintf(out, cap, "%s:%d", addr, port);
}

static int quiet_log(const struct mg_connection *c, const char *msg)
{
    (void)c;
    log_event(LOG_DEBUG, "http", "\"detail\":\"%s\"", "civetweb message");
    (void)msg;
    return 1;
}

static struct mg_context *start_one(struct http_server *h, int port, int threads, char *err,
                                    size_t errlen)
{
    char ports[300];
    listen_spec(ports, sizeof ports, h->cfg->monitoring.bind_address, port);
    char nthreads[16];
    snprintf(nthreads, sizeof nthreads, "%d", threads);
    const char *opts[] = {"listening_ports",
                          ports,
                          "num_threads",
                          nthreads,
                          "request_timeout_ms",
                          "10000",
                          "enable_directory_listing",
                          "no",
                          "enable_keep_alive",
                          "no",
                          "websocket_timeout_ms",
                          "3600000",
                          NULL};
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.log_message = quiet_log;
    struct mg_init_data init = {.callbacks = &cb, .user_data = h, .configuration_options = opts};
    struct mg_error_data ed;
    char why[256] = "";
    memset(&ed, 0, sizeof ed);
    ed.text = why;
    ed.text_buffer_size = sizeof why;
    struct mg_context *ctx = mg_start2(&init, &ed);
    if (!ctx)
        snprintf(err, errlen, "cannot listen on %s: %s", ports, why[0] ? why : "in use?");
    return ctx;
}

struct http_server *http_start(const struct cfg *c, struct svc_state *st,
                               volatile sig_atomic_t *hup, char *err, size_t errlen)
{
    mg_init_library(MG_FEATURES_WEBSOCKET | MG_FEATURES_IPV6);
    struct http_server *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    h->cfg = c;
    h->st = st;
    h->hup = hup;
    pthread_mutex_init(&h->ws_mu, NULL);
    if (c->monitoring.health_port) {
        h->api = start_one(h, c->monitoring.health_port, MAX_WS + 8, err, errlen);
        if (!h->api)
            goto fail;
        mg_set_request_handler(h->api, "/", api_handler, h);
        mg_set_websocket_handler(h->api, "/ws/updates", ws_connect, ws_ready, ws_data, ws_close, h);
    }
    if (c->monitoring.metrics_enabled && c->monitoring.metrics_port) {
        h->metrics = start_one(h, c->monitoring.metrics_port, 4, err, errlen);
        if (!h->metrics)
            goto fail;
        mg_set_request_handler(h->metrics, "/", metrics_handler, h);
    }
    pthread_create(&h->monitor, NULL, monitor_main, h);
    pthread_create(&h->broadcaster, NULL, broadcaster_main, h);
    h->threads_started = true;
    return h;
fail:
    http_stop(h);
    return NULL;
}

void http_stop(struct http_server *h)
{
    if (!h)
        return;
    h->quit = 1;
    if (h->threads_started) {
        pthread_join(h->monitor, NULL);
        pthread_join(h->broadcaster, NULL);
    }
    if (h->api)
        mg_stop(h->api);
    if (h->metrics)
        mg_stop(h->metrics);
    pthread_mutex_destroy(&h->ws_mu);
    free(h);
}
