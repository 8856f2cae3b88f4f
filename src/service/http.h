/* The HTTP face: JSON API, health, WebSocket feed and dashboard (health port), /metrics (metrics
 * port). */
#ifndef FALKORSYNC_HTTP_H
#define FALKORSYNC_HTTP_H

#include <signal.h>

#include "config/config.h"
#include "service/state.h"

struct http_server;

/* Starts both listeners and the monitor thread (health checks, per-type
 * counts, log reopen on *hup). Returns NULL with a message in err when a port
 * cannot be bound. */
struct http_server *http_start(const struct cfg *c, struct svc_state *st,
                               volatile sig_atomic_t *hup, char *err, size_t errlen);
/* Stops accepting, closes WebSocket clients, joins threads, frees. NULL is a no-op. */
void http_stop(struct http_server *h);

#endif
