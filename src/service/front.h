/* The HTTP front door: one epoll thread per port that holds every client connection, caps them
 * per client and in total, waits for a whole request before a civetweb worker sees it, and drops
 * readers too slow for the WebSocket feed. */
#ifndef FALKORSYNC_FRONT_H
#define FALKORSYNC_FRONT_H

#include <stddef.h>
#include <stdint.h>

struct front;

struct front_limits {
    int max_connections;      /* held at once; past it the oldest unfinished request goes */
    int max_per_client;       /* per client address; past it that client's oldest unfinished one */
    int header_timeout_ms;    /* a whole request (head and body) must arrive within this */
    int idle_timeout_ms;      /* a forwarded HTTP exchange with no progress this long is closed */
    size_t max_request_bytes; /* head + body; larger gets 413/431 from the front itself */
    size_t max_pending_out;   /* bytes queued for a client; a WebSocket reader past it is dropped */
};

/* Counters (read without a lock; monotonic). */
struct front_stats {
    uint64_t accepted, refused, evicted, timeouts, slow_dropped, open;
};

/* Listens on addr:port and forwards whole requests to 127.0.0.1:backend_port.
 * Returns NULL with a message in err when the port cannot be bound. */
struct front *front_start(const char *addr, int port, int backend_port,
                          const struct front_limits *lim, char *err, size_t errlen);
/* A snapshot of the counters. Thread-safe. */
void front_stats(const struct front *f, struct front_stats *out);
/* Closes every connection, joins the thread, frees. NULL is a no-op. */
void front_stop(struct front *f);

/* A free TCP port on 127.0.0.1 for a backend (0 when none). */
int front_free_loopback_port(void);

#endif
