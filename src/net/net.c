/* TCP and TLS byte stream with timeouts, built on non-blocking sockets and poll(). */
#include "net/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

void net_init(struct net_conn *c)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

int net_is_open(const struct net_conn *c)
{
    return c->fd >= 0;
}

void net_set_read_timeout(struct net_conn *c, int ms)
{
    c->read_timeout_ms = ms;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events or the deadline (ms since boot, 0 = none) passes. */
static int wait_fd(int fd, short events, long long deadline)
{
    for (;;) {
        int timeout = -1;
        if (deadline) {
            long long left = deadline - now_ms();
            if (left <= 0)
                return FS_ETIMEOUT;
            timeout = left > 1000000 ? 1000000 : (int)left;
        }
        struct pollfd pfd = {.fd = fd, .events = events};
        int n = poll(&pfd, 1, timeout);
        if (n > 0)
            return 0;
        if (n == 0)
            return FS_ETIMEOUT;
        if (errno != EINTR)
            return FS_EIO;
    }
}

static void set_err(struct net_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(struct net_conn *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->errstr, sizeof c->errstr, fmt, ap);
    va_end(ap);
}

static void ssl_errstr(struct net_conn *c, const char *what)
{
    unsigned long e = ERR_get_error();
    char detail[160] = "no detail";
    if (e)
        ERR_error_string_n(e, detail, sizeof detail);
    ERR_clear_error();
    set_err(c, "%s: %s", what, detail);
}

static int tcp_connect(struct net_conn *c, const char *host, int port, int timeout_ms)
{
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host, portstr, &hints, &res);
    if (gai) {
        set_err(c, "cannot resolve %s: %s", host, gai_strerror(gai));
        return FS_ERESOLVE;
    }
    long long deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 10000);
    int rc = FS_ECONNECT;
    set_err(c, "cannot connect to %s: %s", host, "no address");
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd =
            socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0)
            continue;
        int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (r < 0 && errno == EINPROGRESS) {
            int w = wait_fd(fd, POLLOUT, deadline);
            if (w == FS_ETIMEOUT) {
                close(fd);
                snprintf(c->errstr, sizeof c->errstr, "connect to %s:%d timed out after %d ms",
                         host, port, timeout_ms > 0 ? timeout_ms : 10000);
                rc = FS_ETIMEOUT;
                break;
            }
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
            r = soerr ? -1 : 0;
            errno = soerr;
        }
        if (r == 0) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
            c->fd = fd;
            rc = 0;
            break;
        }
        snprintf(c->errstr, sizeof c->errstr, "cannot connect to %s:%d: %s", host, port,
                 strerror(errno));
        close(fd);
    }
    freeaddrinfo(res);
    return rc;
}

static int tls_handshake(struct net_conn *c, const char *host, const struct net_opts *o,
                         long long deadline)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        ssl_errstr(c, "TLS context");
        return FS_ETLS;
    }
    c->ssl_ctx = ctx;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (o->tls == NET_TLS_VERIFY) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
            ssl_errstr(c, "loading system CAs");
            return FS_ETLS;
        }
        if (o->ca_file && *o->ca_file &&
            SSL_CTX_load_verify_locations(ctx, o->ca_file, NULL) != 1) {
            ssl_errstr(c, "loading CA file");
            return FS_ETLS;
        }
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    SSL *ssl = SSL_new(ctx);
    if (!ssl) {
        ssl_errstr(c, "TLS session");
        return FS_ETLS;
    }
    c->ssl = ssl;
    SSL_set_fd(ssl, c->fd);
    struct in6_addr a6;
    struct in_addr a4;
    int is_ip = inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1;
    if (!is_ip)
        SSL_set_tlsext_host_name(ssl, host);
    if (o->tls == NET_TLS_VERIFY) {
        X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
        if (is_ip)
            X509_VERIFY_PARAM_set1_ip_asc(param, host);
        else
            SSL_set1_host(ssl, host);
    }
    for (;;) {
        int r = SSL_connect(ssl);
        if (r == 1)
            return 0;
        int e = SSL_get_error(ssl, r);
        short ev = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
        if (!ev) {
            long vr = SSL_get_verify_result(ssl);
            if (o->tls == NET_TLS_VERIFY && vr != X509_V_OK) {
                set_err(c, "TLS certificate of %s rejected: %s", host,
                        X509_verify_cert_error_string(vr));
                ERR_clear_error();
                return FS_ETLS_VERIFY;
            }
            ssl_errstr(c, "TLS handshake");
            return FS_ETLS;
        }
        int w = wait_fd(c->fd, ev, deadline);
        if (w) {
            set_err(c, "TLS handshake with %s: %s", host, fs_strerror(w));
            return w;
        }
    }
}

int net_connect(struct net_conn *c, const char *host, int port, const struct net_opts *o)
{
    net_close(c);
    c->read_timeout_ms = o->read_timeout_ms;
    c->write_timeout_ms = o->write_timeout_ms;
    c->stop = o->stop;
    int cto = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 10000;
    long long deadline = now_ms() + cto;
    int rc = tcp_connect(c, host, port, cto);
    if (rc)
        return rc;
    if (o->tls != NET_TLS_OFF) {
        rc = tls_handshake(c, host, o, deadline);
        if (rc) {
            char keep[sizeof c->errstr];
            memcpy(keep, c->errstr, sizeof keep);
            net_close(c);
            memcpy(c->errstr, keep, sizeof keep);
            return rc;
        }
    }
    return 0;
}

static long long deadline_for(int ms)
{
    return ms > 0 ? now_ms() + ms : 0;
}

/* Waits for ev until the deadline, waking every NET_STOP_POLL_MS to look at the stop flag. */
static int wait_read(struct net_conn *c, short ev, long long deadline)
{
    for (;;) {
        if (c->stop && *c->stop) {
            snprintf(c->errstr, sizeof c->errstr, "stopped while waiting for a reply");
            return FS_ECANCELLED;
        }
        long long step = c->stop ? now_ms() + NET_STOP_POLL_MS : 0;
        bool last = !step || (deadline && deadline <= step);
        int w = wait_fd(c->fd, ev, last ? deadline : step);
        if (!w)
            return 0;
        if (w != FS_ETIMEOUT || last) {
            snprintf(c->errstr, sizeof c->errstr, "read timed out after %d ms", c->read_timeout_ms);
            return w;
        }
    }
}

int net_read_some(struct net_conn *c, void *p, size_t len, size_t *got)
{
    *got = 0;
    if (c->fd < 0)
        return FS_ECLOSED;
    long long deadline = deadline_for(c->read_timeout_ms);
    for (;;) {
        short ev = POLLIN;
        if (c->ssl) {
            size_t n = 0;
            int r = SSL_read_ex(c->ssl, p, len, &n);
            if (r == 1) {
                *got = n;
                return 0;
            }
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_ZERO_RETURN) {
                snprintf(c->errstr, sizeof c->errstr, "peer closed the TLS connection");
                return FS_ECLOSED;
            }
            if (e == SSL_ERROR_WANT_WRITE)
                ev = POLLOUT;
            else if (e != SSL_ERROR_WANT_READ) {
                ERR_clear_error();
                snprintf(c->errstr, sizeof c->errstr, "connection closed during TLS read");
                return FS_ECLOSED;
            }
        } else {
            ssize_t n = recv(c->fd, p, len, 0);
            if (n > 0) {
                *got = (size_t)n;
                return 0;
            }
            if (n == 0) {
                snprintf(c->errstr, sizeof c->errstr, "peer closed the connection");
                return FS_ECLOSED;
            }
            if (errno == ECONNRESET) {
                snprintf(c->errstr, sizeof c->errstr, "connection reset by peer");
                return FS_ECLOSED;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                snprintf(c->errstr, sizeof c->errstr, "read: %s", strerror(errno));
                return FS_EIO;
            }
        }
        int w = wait_read(c, ev, deadline);
        if (w)
            return w;
    }
}

int net_read_full(struct net_conn *c, void *p, size_t len)
{
    char *q = p;
    while (len) {
        size_t got;
        int rc = net_read_some(c, q, len, &got);
        if (rc)
            return rc;
        q += got;
        len -= got;
    }
    return 0;
}

int net_write_all(struct net_conn *c, const void *p, size_t len)
{
    if (c->fd < 0)
        return FS_ECLOSED;
    const char *q = p;
    long long deadline = deadline_for(c->write_timeout_ms);
    while (len) {
        short ev = POLLOUT;
        if (c->ssl) {
            size_t n = 0;
            int r = SSL_write_ex(c->ssl, q, len, &n);
            if (r == 1) {
                q += n;
                len -= n;
                continue;
            }
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ)
                ev = POLLIN;
            else if (e != SSL_ERROR_WANT_WRITE) {
                ERR_clear_error();
                snprintf(c->errstr, sizeof c->errstr, "connection closed during TLS write");
                return FS_ECLOSED;
            }
        } else {
            ssize_t n = send(c->fd, q, len, MSG_NOSIGNAL);
            if (n > 0) {
                q += n;
                len -= (size_t)n;
                continue;
            }
            if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
                snprintf(c->errstr, sizeof c->errstr, "peer closed the connection");
                return FS_ECLOSED;
            }
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                snprintf(c->errstr, sizeof c->errstr, "write: %s", strerror(errno));
                return FS_EIO;
            }
        }
        int w = wait_fd(c->fd, ev, deadline);
        if (w) {
            snprintf(c->errstr, sizeof c->errstr, "write timed out after %d ms",
                     c->write_timeout_ms);
            return w;
        }
    }
    return 0;
}

void net_close(struct net_conn *c)
{
    if (c->ssl) {
        SSL_shutdown(c->ssl); /* best effort, non-blocking */
        SSL_free(c->ssl);
        ERR_clear_error();
    }
    if (c->ssl_ctx)
        SSL_CTX_free(c->ssl_ctx);
    if (c->fd >= 0)
        close(c->fd);
    c->ssl = NULL;
    c->ssl_ctx = NULL;
    c->fd = -1;
}
