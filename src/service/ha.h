/* High availability of serve: standby until the cache's writer lease is free, then the
 * continuous loop with fenced connections while the lease is held (sync/lease.h). */
#ifndef FALKORSYNC_SERVICE_HA_H
#define FALKORSYNC_SERVICE_HA_H

#include <jansson.h>
#include <signal.h>

#include "config/config.h"
#include "service/state.h"
#include "sync/lease.h"
#include "sync/orchestrator.h"

/* Until *stop: waits as standby while another falkorsync holds the lease (trying every
 * sync_lease_interval(c) seconds), then runs orch_loop on a fenced copy of c while the lease
 * is renewed; a lost lease ends that loop and the process goes back to standby. On a stop
 * the lease is released so that a standby takes over at once. st->lease must be lease.
 * Returns 0. */
int svc_ha_loop(const struct cfg *c, volatile sig_atomic_t *stop, struct svc_state *st,
                struct sync_lease *lease, const struct orch_hooks *hooks,
                const struct orch_ctl *ctl);

/* {"role": "active"|"standby", "lease": {"holder", "command", "token", "expires_in_seconds"}
 * or null} for the API and the health routes (new reference; role active and lease null when
 * s has no lease). Thread-safe. */
json_t *svc_lease_json(struct svc_state *s);

#endif
