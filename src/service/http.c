/* HTTP routes on civetweb: JSON API, /health (+ /live, /ready), /ws/updates, the dashboard, and
 * /metrics on its own port. Clients reach civetweb only through the front (front.c), which holds
 * idle and half-open connections and hands over whole requests. */
#include "service/http.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <civetweb.h>

#include <jansson.h>

#include "log/log.h"
#include "service/front.h"
#include "service/ha.h"
#include "service/metrics.h"
#include "service/notify.h"
#include "service/sysinfo.h"
#include "sync/probe.h"
#include "version.h"

extern const unsigned char dashboard_html[];
extern const size_t dashboard_html_len;

#define MAX_BODY (64 * 1024)
#define MAX_HEAD (16 * 1024)
#define PROBE_TIMEOUT_MS 2000

struct ws_client {
    struct mg_connection *conn;
    uint64_t sent_seq;
};

struct http_server {
    const struct cfg *cfg;
    struct svc_state *st;
    volatile sig_atomic_t *hup;
    struct mg_context *api, *metrics;
    int api_port, metrics_port; /* their private loopback ports */
    struct front *api_front, *metrics_front;
    pthread_t monitor, broadcaster;
    bool threads_started;
    pthread_mutex_t ws_mu;
    pthread_mutex_t switch_mu; /* start/stop: the switch and its stored copy change together */
    struct ws_client *ws;
    int nws, max_ws;
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

/* Sends j as the body (takes ownership; NULL means out of memory). */
static int reply_json(struct mg_connection *c, int status, json_t *j)
{
    char *text =
        j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(j);
    if (!text)
        return reply(c, 500, "application/json", "{\"error\":\"out of memory\"}", 25, NULL);
    int r = reply(c, status, "application/json", text, strlen(text), NULL);
    free(text);
    return r;
}

static int reply_error(struct mg_connection *c, int status, const char *msg, const char *extra)
{
    json_t *j = json_pack("{s:s}", "error", msg);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    int r = text ? reply(c, status, "application/json", text, strlen(text), extra)
                 : reply(c, 500, "application/json", "{\"error\":\"out of memory\"}", 25, NULL);
    free(text);
    return r;
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

/* A sync thread quiet for longer than this is wedged. A run reports progress every batch and one
 * read waits at most the configured read timeout; but some steps report nothing for a while (the
 * wait for FalkorDB's index population on a big graph), so never less than an hour: a false
 * "wedged" restarts a healthy full sync (systemd's watchdog), a late one only delays a restart. */
static double stall_seconds(const struct cfg *c)
{
    int t = c->neo4j.read_timeout_seconds > c->falkordb.read_timeout_seconds
                ? c->neo4j.read_timeout_seconds
                : c->falkordb.read_timeout_seconds;
    double s = 2.0 * t + 120;
    return s > 3600 ? s : 3600;
}

static json_t *check_json(bool ok, double ms, const char *err)
{
    return json_pack("{s:b,s:f,s:o}", "ok", ok, "latency_ms", round(ms * 10) / 10, "error",
                     ok ? json_null() : json_string(err));
}

/* Adds "role" and "lease" (service/ha.h) to a reply object. */
static void with_role(struct svc_state *s, json_t *j)
{
    json_t *role = svc_lease_json(s);
    if (j && role)
        json_object_update(j, role);
    json_decref(role);
}

/* /health: database checks (the seed's shape) plus the sync's freshness. */
static json_t *health_json(struct http_server *h, bool *healthy)
{
    struct svc_state *s = h->st;
    struct svc_sync_health sh;
    svc_sync_health(s, h->cfg->monitoring.max_staleness_seconds, stall_seconds(h->cfg), &sh);
    json_t *sync = svc_sync_summary(s, &sh);
    pthread_mutex_lock(&s->mu);
    *healthy = s->neo4j_up && s->falkordb_up;
    json_t *j = json_pack("{s:s,s:s,s:f,s:{s:o,s:o},s:o}", "status",
                          *healthy ? "healthy" : "unhealthy", "version", FALKORSYNC_VERSION,
                          "uptime_seconds", round((svc_wall() - s->started_wall) * 10) / 10,
                          "checks", "neo4j", check_json(s->neo4j_up, s->neo4j_ms, s->neo4j_err),
                          "falkordb", check_json(s->falkordb_up, s->falkordb_ms, s->falkordb_err),
                          "sync", sync ? sync : json_null());
    pthread_mutex_unlock(&s->mu);
    with_role(s, j);
    return j;
}

/* /health/live: the process works (its threads show signs of life). */
static int live_route(struct http_server *h, struct mg_connection *c)
{
    struct svc_sync_health sh;
    svc_sync_health(h->st, h->cfg->monitoring.max_staleness_seconds, stall_seconds(h->cfg), &sh);
    json_t *j = json_pack("{s:s,s:o}", "status", sh.wedged ? "wedged" : "alive", "reason",
                          sh.wedged ? json_string(sh.why) : json_null());
    with_role(h->st, j);
    return reply_json(c, sh.wedged ? 503 : 200, j);
}

/* /health/ready: the cache is fresh enough to read from. */
static int ready_route(struct http_server *h, struct mg_connection *c)
{
    struct svc_sync_health sh;
    svc_sync_health(h->st, h->cfg->monitoring.max_staleness_seconds, stall_seconds(h->cfg), &sh);
    json_t *sync = svc_sync_summary(h->st, &sh);
    json_t *j = json_pack("{s:s,s:i,s:o}", "status", sh.ready ? "ready" : "not_ready",
                          "max_staleness_seconds", h->cfg->monitoring.max_staleness_seconds, "sync",
                          sync ? sync : json_null());
    with_role(h->st, j);
    return reply_json(c, sh.ready ? 200 : 503, j);
}

static json_t *system_json(struct http_server *h)
{
    struct sysinfo_proc p;
    sysinfo_read(&p);
    return json_pack("{s:i,s:f,s:I,s:i,s:i,s:f}", "pid", (int)getpid(), "cpu_seconds",
                     round((p.cpu_user + p.cpu_system) * 1000) / 1000, "rss_bytes",
                     (json_int_t)p.rss_bytes, "threads", p.threads, "open_fds", p.open_fds,
                     "uptime_seconds", round((svc_wall() - h->st->started_wall) * 10) / 10);
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
    struct sync_lease_info li = {.active = false};
    if (h->st->lease && !sync_lease_active(h->st->lease))
        sync_lease_info(h->st->lease, &li);
    if (li.holder[0]) { /* a standby: another falkorsync holds the lease */
        json_t *j = json_pack("{s:s}", "error",
                              "this falkorsync is a standby: ask the active one (see lease)");
        with_role(h->st, j);
        return reply_json(c, 409, j);
    }
    if (svc_trigger(h->st, mode, &id)) {
        json_t *status = svc_status(h->st);
        json_t *cur = status ? json_object_get(status, "current") : NULL;
        json_t *j = json_pack("{s:s,s:O}", "error", "a sync run is in progress", "running",
                              cur ? cur : json_null());
        json_decref(status);
        return reply_json(c, 409, j);
    }
    log_fields(LOG_INFO, "sync requested over the API",
               json_pack("{s:s,s:I}", "mode", orch_mode_name(mode), "run_id", (json_int_t)id));
    return reply_json(c, 202,
                      json_pack("{s:b,s:I,s:s}", "accepted", 1, "run_id", (json_int_t)id, "mode",
                                orch_mode_name(mode)));
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
        {"/health/live", false},
        {"/health/ready", false},
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
        json_t *j = health_json(h, &healthy);
        return reply_json(c, healthy ? 200 : 503, j);
    }
    case 2:
        return live_route(h, c);
    case 3:
        return ready_route(h, c);
    case 4: {
        json_t *j = svc_status(h->st);
        with_role(h->st, j);
        return reply_json(c, 200, j);
    }
    case 5:
        return reply_json(c, 200, svc_statistics(h->st));
    case 6: {
        int limit;
        if (parse_limit(ri->query_string, &limit))
            return reply_error(c, 400, "limit must be an integer from 1 to 1000", NULL);
        return reply_json(c, 200, svc_history(h->st, limit));
    }
    case 7:
        return reply_json(c, 200, system_json(h));
    default:
        break;
    }
    /* POST routes */
    if (!token_ok(h, c))
        return reply_error(c, 401, "missing or wrong bearer token",
                           "WWW-Authenticate: Bearer realm=\"falkorsync\"\r\n");
    switch (route) {
    case 8:
        return trigger(h, c, MODE_FULL);
    case 9:
        return trigger(h, c, MODE_INCREMENTAL);
    case 10:
        return trigger(h, c, MODE_RECONCILE);
    case 11:
    case 12: {
        bool on = route == 11;
        pthread_mutex_lock(&h->switch_mu);
        svc_set_continuous(h->st, on);
        /* after the switch is off, so that no interval run starts between the two */
        bool cancelled = !on && svc_cancel_run(h->st);
        /* kept in FalkorDB so that a restart of serve keeps it; when FalkorDB cannot
         * store it the switch still holds until the restart */
        char why[512] = "";
        bool kept = !sync_continuous_set(h->cfg, PROBE_TIMEOUT_MS, on, why, sizeof why);
        pthread_mutex_unlock(&h->switch_mu);
        log_fields(kept ? LOG_INFO : LOG_WARNING,
                   on ? "continuous sync started" : "continuous sync stopped",
                   kept ? json_pack("{s:b}", "persisted", 1)
                        : json_pack("{s:b,s:s}", "persisted", 0, "error", why));
        return reply_json(c, 200,
                          on ? json_pack("{s:b,s:b}", "continuous", on, "persisted", kept)
                             : json_pack("{s:b,s:b,s:b}", "continuous", on, "persisted", kept,
                                         "cancelled", cancelled));
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
    int full = h->nws >= h->max_ws;
    pthread_mutex_unlock(&h->ws_mu);
    return full ? 1 : 0; /* non-zero refuses */
}

static void ws_ready(struct mg_connection *c, void *cbdata)
{
    struct http_server *h = cbdata;
    json_t *status = svc_status(h->st);
    uint64_t seq;
    pthread_mutex_lock(&h->st->mu);
    seq = h->st->event_seq;
    pthread_mutex_unlock(&h->st->mu);
    json_t *msg = status ? json_pack("{s:s,s:o}", "event", "status", "data", status) : NULL;
    char *text = msg ? json_dumps(msg, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(msg);
    if (text)
        mg_websocket_write(c, MG_WEBSOCKET_OPCODE_TEXT, text, strlen(text));
    free(text);
    pthread_mutex_lock(&h->ws_mu);
    if (h->nws < h->max_ws) {
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

static void check_dbs(struct http_server *h, bool counts)
{
    struct probe_result pr;
    if (sync_probe(h->cfg, counts ? PROBE_COUNTS : 0, PROBE_TIMEOUT_MS, &pr)) {
        /* one side is down: the details are in pr */
    }
    struct svc_state *st = h->st;
    pthread_mutex_lock(&st->mu);
    st->neo4j_up = pr.neo4j.ok;
    st->neo4j_ms = pr.neo4j.latency_ms;
    snprintf(st->neo4j_err, sizeof st->neo4j_err, "%s", pr.neo4j.error);
    st->falkordb_up = pr.falkordb.ok;
    st->falkordb_ms = pr.falkordb.latency_ms;
    snprintf(st->falkordb_err, sizeof st->falkordb_err, "%s", pr.falkordb.error);
    st->health_checked_at = svc_wall();
    if (counts) {
        for (int i = 0; i < 16 && i < PROBE_MAX_TYPES; i++) {
            st->count_neo4j[i] = pr.count_neo4j[i];
            st->count_falkordb[i] = pr.count_falkordb[i];
        }
        st->counts_at = svc_wall();
    }
    pthread_mutex_unlock(&st->mu);
}

/* Copies the fronts' counters into the state, for /metrics. */
static void collect_front_stats(struct http_server *h)
{
    struct front_stats a = {0}, m = {0};
    if (h->api_front)
        front_stats(h->api_front, &a);
    if (h->metrics_front)
        front_stats(h->metrics_front, &m);
    pthread_mutex_lock(&h->st->mu);
    h->st->http_refused = a.refused + m.refused;
    h->st->http_evicted = a.evicted + m.evicted;
    h->st->http_timeouts = a.timeouts + m.timeouts;
    h->st->ws_dropped = a.slow_dropped + m.slow_dropped;
    h->st->monitor_alive_at = svc_mono();
    pthread_mutex_unlock(&h->st->mu);
}

/* systemd's watchdog: pinged only while the process is not wedged, so a wedged
 * falkorsync is restarted by WatchdogSec= just as /health/live would have it. */
static void watchdog_ping(struct http_server *h, double *next)
{
    double every = svc_watchdog_interval();
    if (every <= 0 || svc_mono() < *next)
        return;
    struct svc_sync_health sh;
    svc_sync_health(h->st, h->cfg->monitoring.max_staleness_seconds, stall_seconds(h->cfg), &sh);
    if (!sh.wedged)
        svc_notify("WATCHDOG=1");
    *next = svc_mono() + every;
}

static void *monitor_main(void *arg)
{
    struct http_server *h = arg;
    double next_health = 0, next_counts = 0, next_watchdog = 0;
    while (!h->quit) {
        watchdog_ping(h, &next_watchdog);
        double now = svc_mono();
        if (now >= next_health) {
            bool counts = now >= next_counts;
            check_dbs(h, counts);
            next_health = svc_mono() + 2;
            if (counts)
                next_counts = svc_mono() + 10;
        }
        collect_front_stats(h);
        if (h->hup && *h->hup) {
            *h->hup = 0;
            log_reopen();
            log_fields(LOG_INFO, "log file reopened", NULL);
        }
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* ---- lifecycle ---------------------------------------------------------- */

static int quiet_log(const struct mg_connection *c, const char *msg)
{
    (void)c;
    log_fields(LOG_DEBUG, "civetweb", json_pack("{s:s}", "detail", msg ? msg : ""));
    return 1;
}

/* civetweb on a private loopback port: it sees only whole requests, handed over by the front. */
static struct mg_context *start_backend(struct http_server *h, int threads, int *port_out,
                                        char *err, size_t errlen)
{
    char nthreads[16];
    snprintf(nthreads, sizeof nthreads, "%d", threads);
    for (int attempt = 0; attempt < 8; attempt++) {
        int port = front_free_loopback_port();
        char ports[32];
        snprintf(ports, sizeof ports, "127.0.0.1:%d", port);
        /* request_timeout_ms: the front delivers whole requests, so a worker never waits long
         * for one; websocket_timeout_ms: a feed client may stay quiet for an hour */
        const char *opts[] = {"listening_ports",
                              ports,
                              "num_threads",
                              nthreads,
                              "request_timeout_ms",
                              "5000",
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
        struct mg_init_data init = {
            .callbacks = &cb, .user_data = h, .configuration_options = opts};
        struct mg_error_data ed;
        char why[256] = "";
        memset(&ed, 0, sizeof ed);
        ed.text = why;
        ed.text_buffer_size = sizeof why;
        struct mg_context *ctx = port ? mg_start2(&init, &ed) : NULL;
        if (ctx) {
            *port_out = port;
            return ctx;
        }
        snprintf(err, errlen, "cannot start the HTTP workers on %s: %s", ports,
                 why[0] ? why : "in use?");
    }
    return NULL;
}

static struct front *start_front(struct http_server *h, int port, int backend_port, bool api,
                                 char *err, size_t errlen)
{
    const struct cfg *c = h->cfg;
    /* Why these numbers: a client that has not sent its whole request within 10 s is gone or
     * hostile; 64 KB bodies are more than any route takes; 1 MB queued for a WebSocket reader
     * is minutes of events, so a reader that far behind is dropped, never waited for. */
    struct front_limits lim = {
        .max_connections = api ? c->monitoring.max_connections : 64,
        .max_per_client = api ? c->monitoring.max_connections_per_client : 16,
        .header_timeout_ms = 10000,
        .idle_timeout_ms = 30000,
        .max_request_bytes = MAX_HEAD + MAX_BODY,
        .max_pending_out = 1 << 20,
    };
    if (lim.max_per_client > lim.max_connections)
        lim.max_per_client = lim.max_connections;
    return front_start(c->monitoring.bind_address, port, backend_port, &lim, err, errlen);
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
    h->max_ws = c->monitoring.websocket_max_clients;
    h->ws = calloc((size_t)h->max_ws + 1, sizeof *h->ws);
    pthread_mutex_init(&h->ws_mu, NULL);
    pthread_mutex_init(&h->switch_mu, NULL);
    if (!h->ws) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (c->monitoring.health_port) {
        int bp = 0;
        /* a worker per WebSocket client it holds, and room for the API next to them */
        h->api = start_backend(h, h->max_ws + 16, &bp, err, errlen);
        if (!h->api)
            goto fail;
        h->api_port = bp;
        mg_set_request_handler(h->api, "/", api_handler, h);
        mg_set_websocket_handler(h->api, "/ws/updates", ws_connect, ws_ready, ws_data, ws_close, h);
        h->api_front = start_front(h, c->monitoring.health_port, bp, true, err, errlen);
        if (!h->api_front)
            goto fail;
    }
    if (c->monitoring.metrics_enabled && c->monitoring.metrics_port) {
        int bp = 0;
        h->metrics = start_backend(h, 4, &bp, err, errlen);
        if (!h->metrics)
            goto fail;
        h->metrics_port = bp;
        mg_set_request_handler(h->metrics, "/", metrics_handler, h);
        h->metrics_front = start_front(h, c->monitoring.metrics_port, bp, false, err, errlen);
        if (!h->metrics_front)
            goto fail;
    }
    pthread_create(&h->monitor, NULL, monitor_main, h);
    pthread_create(&h->broadcaster, NULL, broadcaster_main, h);
    h->threads_started = true;
    return h;
fail:
    http_stop(h);
    return NULL;
}

struct backend_stop {
    struct mg_context *ctx;
    int port;
    atomic_int done;
    bool threaded;
    pthread_t thread;
};

static void *backend_stop_main(void *arg)
{
    struct backend_stop *b = arg;
    mg_stop(b->ctx);
    atomic_store(&b->done, 1);
    return NULL;
}

/* civetweb's accept loop looks at its stop flag only between polls of up to 2 s (its socket
 * timeout quantum): a connection to its port wakes it at once. */
static void backend_wake(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
        /* stopped already */
    }
    close(fd);
}

/* Stops both civetweb contexts at once, waking their accept loops (shutdown within 2 s). */
static void backends_stop(struct http_server *h)
{
    struct backend_stop b[2] = {{.ctx = h->api, .port = h->api_port},
                                {.ctx = h->metrics, .port = h->metrics_port}};
    for (int i = 0; i < 2; i++) {
        atomic_init(&b[i].done, 0);
        if (b[i].ctx)
            b[i].threaded = !pthread_create(&b[i].thread, NULL, backend_stop_main, &b[i]);
        if (b[i].ctx && !b[i].threaded)
            mg_stop(b[i].ctx);
    }
    for (int round = 0; round < 300; round++) {
        bool waiting = false;
        for (int i = 0; i < 2; i++)
            if (b[i].threaded && !atomic_load(&b[i].done) && b[i].port) {
                waiting = true;
                backend_wake(b[i].port);
            }
        if (!waiting)
            break;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    for (int i = 0; i < 2; i++)
        if (b[i].threaded)
            pthread_join(b[i].thread, NULL);
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
    /* the fronts first: closing client connections ends the WebSocket sessions */
    front_stop(h->api_front);
    front_stop(h->metrics_front);
    backends_stop(h);
    pthread_mutex_destroy(&h->ws_mu);
    pthread_mutex_destroy(&h->switch_mu);
    free(h->ws);
    free(h);
}
