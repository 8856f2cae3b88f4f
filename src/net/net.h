/* TCP and TLS (OpenSSL) byte stream with connect/read/write timeouts; shared by both clients. */
#ifndef FALKORSYNC_NET_H
#define FALKORSYNC_NET_H

#include <signal.h>
#include <stddef.h>

#include "util/err.h"

enum net_tls {
    NET_TLS_OFF = 0,
    NET_TLS_VERIFY,    /* verify the chain against the CAs and the host name */
    NET_TLS_TRUST_ANY, /* encrypt, accept any certificate (self-signed) */
};

struct net_opts {
    int connect_timeout_ms; /* <= 0: 10 s */
    int read_timeout_ms;    /* <= 0: wait forever */
    int write_timeout_ms;   /* <= 0: wait forever */
    enum net_tls tls;
    const char *ca_file; /* extra trusted CA bundle (PEM); NULL: system CAs / SSL_CERT_FILE */
    /* Set (by a signal handler or another thread): a read waiting for data gives up within
     * NET_STOP_POLL_MS with FS_ECANCELLED; the read timeout still counts as before. NULL: none. */
    volatile sig_atomic_t *stop;
};

/* How often a waiting read looks at the stop flag. */
#define NET_STOP_POLL_MS 100

struct net_conn {
    int fd;
    void *ssl_ctx; /* SSL_CTX * */
    void *ssl;     /* SSL * */
    int read_timeout_ms;
    int write_timeout_ms;
    volatile sig_atomic_t *stop; /* from net_opts; NULL: none */
    char errstr[256];            /* detail of the last failure */
};

/* Sets c to the closed state. */
void net_init(struct net_conn *c);
/* Connects to host:port (name or address, v4 or v6), then TLS when asked.
 * Returns 0, FS_ERESOLVE, FS_ECONNECT, FS_ETIMEOUT, FS_ETLS or FS_ETLS_VERIFY;
 * c->errstr says why. Not thread-safe on the same conn. */
int net_connect(struct net_conn *c, const char *host, int port,
                const struct net_opts *o) FS_WARN_UNUSED;
/* Reads between 1 and len bytes into p and stores the count in *got.
 * FS_ECLOSED when the peer closed, FS_ETIMEOUT, FS_EIO, FS_ECANCELLED (the stop flag was set
 * while waiting; the stream is then mid-message: close it). */
int net_read_some(struct net_conn *c, void *p, size_t len, size_t *got) FS_WARN_UNUSED;
/* Reads exactly len bytes. */
int net_read_full(struct net_conn *c, void *p, size_t len) FS_WARN_UNUSED;
/* Writes all len bytes. */
int net_write_all(struct net_conn *c, const void *p, size_t len) FS_WARN_UNUSED;
/* Changes the read timeout (ms, <= 0 forever). */
void net_set_read_timeout(struct net_conn *c, int ms);
/* True when the connection is open. */
int net_is_open(const struct net_conn *c);
/* Closes (TLS close_notify best effort) and frees; safe to call twice. */
void net_close(struct net_conn *c);

#endif
