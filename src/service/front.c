/* HTTP front door: an epoll loop that holds client connections cheaply (an fd and a few bytes
 * each), so half-open or idle clients never tie up one of civetweb's worker threads. */
#define _GNU_SOURCE /* accept4, memmem */
#include "service/front.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IN_CAP (64 * 1024) /* client -> backend bytes queued once forwarding */

struct bytes {
    char *data;
    size_t off, len, cap; /* live bytes are data[off .. off+len) */
};

enum phase { P_REQUEST, P_CONNECTING, P_FORWARD };

struct conn;
struct side {
    struct conn *c;
    bool backend;
};

struct conn {
    struct conn *next_dead; /* closed in this epoll batch, freed after it */
    bool closed;
    int cfd, bfd;
    enum phase phase;
    bool ws, client_eof, backend_eof, backend_shut;
    uint32_t cev, bev; /* events registered */
    char ip[INET6_ADDRSTRLEN];
    double born, deadline, last_progress;
    size_t need; /* P_REQUEST: head + body length once the head is parsed, 0 before */
    struct bytes in, out;
    struct side cs, bs;
};

struct front {
    struct front_limits lim;
    int lfd, ep, backend_port, spare_fd;
    pthread_t thread;
    volatile int quit;
    struct conn **conns;
    int nconns;
    struct conn *dead; /* closed during the current batch: events may still name them */
    pthread_mutex_t stats_mu;
    struct front_stats stats;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void stat_add(struct front *f, uint64_t *field, int64_t d)
{
    pthread_mutex_lock(&f->stats_mu);
    *field += (uint64_t)d;
    pthread_mutex_unlock(&f->stats_mu);
}

/* ---- byte queues ---------------------------------------------------------- */

static int bytes_append(struct bytes *b, const char *p, size_t n)
{
    if (b->off + b->len + n > b->cap) {
        if (b->off) { /* compact first */
            memmove(b->data, b->data + b->off, b->len);
            b->off = 0;
        }
        if (b->len + n > b->cap) {
            size_t cap = b->cap ? b->cap : 4096;
            while (cap < b->len + n)
                cap *= 2;
            char *d = realloc(b->data, cap);
            if (!d)
                return -1;
            b->data = d;
            b->cap = cap;
        }
    }
    memcpy(b->data + b->off + b->len, p, n);
    b->len += n;
    return 0;
}

static void bytes_consume(struct bytes *b, size_t n)
{
    b->off += n;
    b->len -= n;
    if (!b->len)
        b->off = 0;
}

static void bytes_free(struct bytes *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* ---- connections ---------------------------------------------------------- */

static void conn_close(struct front *f, struct conn *c)
{
    if (c->closed)
        return;
    c->closed = true;
    if (c->cfd >= 0)
        close(c->cfd); /* closing removes it from the epoll set */
    if (c->bfd >= 0)
        close(c->bfd);
    c->cfd = c->bfd = -1; /* the numbers may be reused at once */
    bytes_free(&c->in);
    bytes_free(&c->out);
    for (int i = 0; i < f->nconns; i++)
        if (f->conns[i] == c) {
            f->conns[i] = f->conns[--f->nconns];
            break;
        }
    stat_add(f, &f->stats.open, -1);
    c->next_dead = f->dead; /* freed once no event of this batch can name it */
    f->dead = c;
}

static void bury_dead(struct front *f)
{
    while (f->dead) {
        struct conn *c = f->dead;
        f->dead = c->next_dead;
        free(c);
    }
}

/* Answers from the front itself (best effort: the socket buffer of a new
 * connection is empty) and closes. */
static void conn_refuse(struct front *f, struct conn *c, const char *status)
{
    char msg[256];
    int n = snprintf(msg, sizeof msg,
                     "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n{\"error\":\"%s\"}",
                     status, strlen(status) + 12, status);
    if (n > 0 && c->cfd >= 0)
        (void)send(c->cfd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
    conn_close(f, c);
}

static void set_events(struct front *f, int fd, uint32_t *have, uint32_t want, struct side *s)
{
    if (fd < 0 || *have == want)
        return;
    struct epoll_event ev = {.events = want, .data.ptr = s};
    if (epoll_ctl(f->ep, EPOLL_CTL_MOD, fd, &ev) == 0)
        *have = want;
}

static void update_events(struct front *f, struct conn *c)
{
    uint32_t cw = 0, bw = 0;
    if (c->phase == P_REQUEST)
        cw = EPOLLIN;
    if (c->phase == P_FORWARD) {
        if (!c->client_eof && c->in.len < IN_CAP)
            cw |= EPOLLIN;
        if (c->out.len)
            cw |= EPOLLOUT;
        if (!c->backend_eof && (c->ws || c->out.len < f->lim.max_pending_out))
            bw |= EPOLLIN;
        if (c->in.len)
            bw |= EPOLLOUT;
    }
    if (c->phase == P_CONNECTING)
        bw = EPOLLOUT;
    set_events(f, c->cfd, &c->cev, cw, &c->cs);
    set_events(f, c->bfd, &c->bev, bw, &c->bs);
}

static bool header_has(const char *head, size_t len, const char *name, const char *value)
{
    size_t nl = strlen(name);
    for (const char *p = head; p && p < head + len;) {
        const char *eol = memchr(p, '\n', (size_t)(head + len - p));
        if (!eol)
            break;
        if ((size_t)(eol - p) > nl + 1 && !strncasecmp(p, name, nl) && p[nl] == ':') {
            if (!value)
                return true;
            size_t vl = strlen(value);
            for (const char *q = p + nl + 1; q + vl <= eol; q++)
                if (!strncasecmp(q, value, vl))
                    return true;
        }
        p = eol + 1;
    }
    return false;
}

/* Content-Length of the head, 0 when absent, -1 when malformed. */
static long long content_length(const char *head, size_t len)
{
    const char *name = "content-length:";
    for (const char *p = head; p < head + len;) {
        const char *eol = memchr(p, '\n', (size_t)(head + len - p));
        if (!eol)
            break;
        if ((size_t)(eol - p) > 15 && !strncasecmp(p, name, 15)) {
            /* parsed within the line: the head is not NUL-terminated */
            const char *q = p + 15;
            while (q < eol && *q == ' ')
                q++;
            long long v = 0;
            int digits = 0;
            for (; q < eol && *q >= '0' && *q <= '9'; q++, digits++) {
                if (v > (LLONG_MAX - 9) / 10)
                    return -1;
                v = v * 10 + (*q - '0');
            }
            while (q < eol && (*q == ' ' || *q == '\r'))
                q++;
            return digits == 0 || q != eol ? -1 : v;
        }
        p = eol + 1;
    }
    return 0;
}

static void start_backend(struct front *f, struct conn *c)
{
    c->bfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->bfd < 0) {
        conn_refuse(f, c, "503 Service Unavailable");
        return;
    }
    int one = 1;
    setsockopt(c->bfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->backend_port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->bfd, (struct sockaddr *)&sa, sizeof sa) && errno != EINPROGRESS) {
        conn_refuse(f, c, "503 Service Unavailable");
        return;
    }
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = &c->bs};
    if (epoll_ctl(f->ep, EPOLL_CTL_ADD, c->bfd, &ev)) {
        conn_refuse(f, c, "503 Service Unavailable");
        return;
    }
    c->bev = EPOLLOUT;
    c->phase = P_CONNECTING;
    update_events(f, c);
}

/* P_REQUEST: buffers until the whole request is here. Returns false when c was closed. */
static bool read_request(struct front *f, struct conn *c)
{
    char tmp[8192];
    for (;;) {
        ssize_t n = recv(c->cfd, tmp, sizeof tmp, 0);
        if (n == 0) { /* the client is done sending: fine if its request is whole */
            c->client_eof = true;
            break;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            conn_close(f, c);
            return false;
        }
        if (n < 0)
            break;
        if (c->in.len + (size_t)n > f->lim.max_request_bytes) {
            conn_refuse(f, c,
                        c->need ? "413 Payload Too Large" : "431 Request Header Fields Too Large");
            return false;
        }
        if (bytes_append(&c->in, tmp, (size_t)n)) {
            conn_refuse(f, c, "503 Service Unavailable");
            return false;
        }
    }
    const char *head = c->in.data + c->in.off;
    if (!c->need && c->in.len && !c->closed) {
        const char *end = memmem(head, c->in.len, "\r\n\r\n", 4);
        if (!end)
            return true;
        size_t hlen = (size_t)(end - head) + 4;
        if (header_has(head, hlen, "transfer-encoding", NULL)) {
            conn_refuse(f, c, "411 Length Required");
            return false;
        }
        long long cl = content_length(head, hlen);
        if (cl < 0 || (unsigned long long)cl + hlen > f->lim.max_request_bytes) {
            conn_refuse(f, c, cl < 0 ? "400 Bad Request" : "413 Payload Too Large");
            return false;
        }
        c->need = hlen + (size_t)cl;
        c->ws = header_has(head, hlen, "upgrade", "websocket");
    }
    if (c->need && c->in.len >= c->need) {
        start_backend(f, c);
    } else if (c->client_eof) {
        conn_close(f, c); /* hung up before its request was whole */
        return false;
    }
    return !c->closed;
}

/* P_FORWARD: moves bytes both ways. Returns false when c was closed. */
static bool pump(struct front *f, struct conn *c, bool backend_side, uint32_t ev)
{
    char tmp[16384];
    bool progress = false;
    if (backend_side && (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->backend_eof) {
        for (;;) {
            ssize_t n = recv(c->bfd, tmp, sizeof tmp, 0);
            if (n == 0) {
                c->backend_eof = true;
                break;
            }
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                    break;
                conn_close(f, c);
                return false;
            }
            if (bytes_append(&c->out, tmp, (size_t)n)) {
                conn_close(f, c);
                return false;
            }
            progress = true;
            if (c->out.len > f->lim.max_pending_out) {
                if (c->ws) { /* a WebSocket reader this far behind is dropped */
                    stat_add(f, &f->stats.slow_dropped, 1);
                    conn_close(f, c);
                    return false;
                }
                break; /* plain HTTP: back-pressure on civetweb instead */
            }
        }
    }
    if (!backend_side && (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->client_eof) {
        while (c->in.len < IN_CAP) {
            ssize_t n = recv(c->cfd, tmp, sizeof tmp, 0);
            if (n == 0) {
                c->client_eof = true;
                break;
            }
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                    break;
                conn_close(f, c);
                return false;
            }
            if (bytes_append(&c->in, tmp, (size_t)n)) {
                conn_close(f, c);
                return false;
            }
            progress = true;
        }
    }
    while (c->in.len) { /* client -> backend */
        ssize_t n = send(c->bfd, c->in.data + c->in.off, c->in.len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                break;
            conn_close(f, c);
            return false;
        }
        bytes_consume(&c->in, (size_t)n);
        progress = true;
    }
    while (c->out.len) { /* backend -> client */
        ssize_t n = send(c->cfd, c->out.data + c->out.off, c->out.len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                break;
            conn_close(f, c);
            return false;
        }
        bytes_consume(&c->out, (size_t)n);
        progress = true;
    }
    if (progress)
        c->last_progress = now_s();
    if (c->client_eof && !c->in.len && !c->backend_shut) {
        if (c->ws) {
            conn_close(f, c);
            return false;
        }
        shutdown(c->bfd, SHUT_WR); /* the client said all it had to say */
        c->backend_shut = true;
    }
    if (c->backend_eof && !c->out.len) {
        conn_close(f, c);
        return false;
    }
    update_events(f, c);
    return true;
}

static void on_event(struct front *f, struct side *s, uint32_t ev)
{
    struct conn *c = s->c;
    if (c->phase == P_REQUEST) {
        if (!s->backend && read_request(f, c) && c->phase == P_REQUEST)
            update_events(f, c);
        return;
    }
    if (c->phase == P_CONNECTING) {
        if (!s->backend)
            return; /* the client waits for the backend */
        int err = 0;
        socklen_t el = sizeof err;
        if (getsockopt(c->bfd, SOL_SOCKET, SO_ERROR, &err, &el) || err) {
            conn_refuse(f, c, "503 Service Unavailable");
            return;
        }
        c->phase = P_FORWARD;
        c->last_progress = now_s();
        ev = EPOLLOUT;
    }
    pump(f, c, s->backend, ev);
}

/* The oldest connection still sending its request, from ip (NULL: any). */
static struct conn *oldest_unfinished(struct front *f, const char *ip)
{
    struct conn *best = NULL;
    for (int i = 0; i < f->nconns; i++) {
        struct conn *c = f->conns[i];
        if (c->phase != P_REQUEST || (ip && strcmp(c->ip, ip)))
            continue;
        if (!best || c->born < best->born)
            best = c;
    }
    return best;
}

static void accept_all(struct front *f)
{
    for (;;) {
        struct sockaddr_storage sa;
        socklen_t sl = sizeof sa;
        int fd = accept4(f->lfd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) {
                /* out of descriptors: take the connection with the spare one and close it,
                 * or the listen socket stays readable and the loop spins */
                if (f->spare_fd >= 0) {
                    close(f->spare_fd);
                    int x = accept(f->lfd, NULL, NULL);
                    if (x >= 0)
                        close(x);
                    f->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                    stat_add(f, &f->stats.refused, 1);
                    continue;
                }
            }
            return; /* EAGAIN, or nothing more to do now */
        }
        char ip[INET6_ADDRSTRLEN] = "?";
        if (sa.ss_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, ip, sizeof ip);
        else if (sa.ss_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, ip, sizeof ip);
        int mine = 0;
        for (int i = 0; i < f->nconns; i++)
            mine += !strcmp(f->conns[i]->ip, ip);
        struct conn *victim = NULL;
        bool room = true;
        if (mine >= f->lim.max_per_client) {
            victim = oldest_unfinished(f, ip);
            room = victim != NULL;
        } else if (f->nconns >= f->lim.max_connections) {
            victim = oldest_unfinished(f, NULL);
            room = victim != NULL;
        }
        if (!room) {
            stat_add(f, &f->stats.refused, 1);
            close(fd);
            continue;
        }
        if (victim) {
            stat_add(f, &f->stats.evicted, 1);
            conn_refuse(f, victim, "503 Service Unavailable");
        }
        struct conn *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->cfd = fd;
        c->bfd = -1;
        c->cs = (struct side){c, false};
        c->bs = (struct side){c, true};
        snprintf(c->ip, sizeof c->ip, "%s", ip);
        c->born = c->last_progress = now_s();
        c->deadline = c->born + f->lim.header_timeout_ms / 1000.0;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &c->cs};
        if (epoll_ctl(f->ep, EPOLL_CTL_ADD, fd, &ev)) {
            close(fd);
            free(c);
            continue;
        }
        c->cev = EPOLLIN;
        f->conns[f->nconns++] = c;
        stat_add(f, &f->stats.accepted, 1);
        stat_add(f, &f->stats.open, 1);
    }
}

static void expire(struct front *f)
{
    double now = now_s();
    for (int i = f->nconns - 1; i >= 0; i--) {
        if (i >= f->nconns)
            continue;
        struct conn *c = f->conns[i];
        if (c->phase != P_FORWARD && now > c->deadline) {
            stat_add(f, &f->stats.timeouts, 1);
            conn_refuse(f, c, "408 Request Timeout");
        } else if (c->phase == P_FORWARD && (!c->ws || c->out.len) &&
                   now - c->last_progress > f->lim.idle_timeout_ms / 1000.0) {
            stat_add(f, &f->stats.timeouts, 1);
            if (c->ws)
                stat_add(f, &f->stats.slow_dropped, 1);
            conn_close(f, c);
        }
    }
}

static void *front_main(void *arg)
{
    struct front *f = arg;
    struct epoll_event evs[128];
    double next_sweep = 0;
    while (!f->quit) {
        int n = epoll_wait(f->ep, evs, 128, 100);
        for (int i = 0; i < n; i++) {
            if (!evs[i].data.ptr) {
                accept_all(f);
                continue;
            }
            /* a side of a connection closed earlier in this batch is skipped (its memory
             * lives until bury_dead) */
            struct side *s = evs[i].data.ptr;
            if (!s->c->closed)
                on_event(f, s, evs[i].events);
        }
        bury_dead(f);
        double now = now_s();
        if (now >= next_sweep) {
            expire(f);
            next_sweep = now + 0.1;
        }
    }
    while (f->nconns)
        conn_close(f, f->conns[0]);
    bury_dead(f);
    return NULL;
}

/* ---- lifecycle ------------------------------------------------------------ */

static int listen_on(const char *addr, int port, char *err, size_t errlen)
{
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(addr && *addr ? addr : NULL, service, &hints, &res);
    if (gai) {
        snprintf(err, errlen, "cannot resolve %s: %s", addr, gai_strerror(gai));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 1024)) {
            snprintf(err, errlen, "cannot listen on %s:%d: %s", addr, port, strerror(errno));
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

int front_free_loopback_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    int port = 0;
    if (!bind(fd, (struct sockaddr *)&sa, sizeof sa) &&
        !getsockname(fd, (struct sockaddr *)&sa, &sl))
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

struct front *front_start(const char *addr, int port, int backend_port,
                          const struct front_limits *lim, char *err, size_t errlen)
{
    struct front *f = calloc(1, sizeof *f);
    if (!f) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    f->lim = *lim;
    f->backend_port = backend_port;
    f->ep = -1;
    f->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pthread_mutex_init(&f->stats_mu, NULL);
    f->conns = calloc((size_t)lim->max_connections + 1, sizeof *f->conns);
    f->lfd = listen_on(addr, port, err, errlen);
    if (f->lfd >= 0)
        f->ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (!f->conns || f->lfd < 0 || f->ep < 0 || epoll_ctl(f->ep, EPOLL_CTL_ADD, f->lfd, &ev) ||
        pthread_create(&f->thread, NULL, front_main, f)) {
        if (f->lfd >= 0)
            snprintf(err, errlen, "cannot start the HTTP front on port %d", port);
        if (f->lfd >= 0)
            close(f->lfd);
        if (f->ep >= 0)
            close(f->ep);
        if (f->spare_fd >= 0)
            close(f->spare_fd);
        pthread_mutex_destroy(&f->stats_mu);
        free(f->conns);
        free(f);
        return NULL;
    }
    return f;
}

void front_stats(const struct front *f, struct front_stats *out)
{
    struct front *m = (struct front *)f; /* the mutex only */
    pthread_mutex_lock(&m->stats_mu);
    *out = f->stats;
    pthread_mutex_unlock(&m->stats_mu);
}

void front_stop(struct front *f)
{
    if (!f)
        return;
    f->quit = 1;
    pthread_join(f->thread, NULL);
    close(f->lfd);
    close(f->ep);
    if (f->spare_fd >= 0)
        close(f->spare_fd);
    pthread_mutex_destroy(&f->stats_mu);
    free(f->conns);
    free(f);
}
