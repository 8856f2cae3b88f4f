/* systemd's notify protocol (sd_notify without libsystemd): readiness and the watchdog. */
#ifndef FALKORSYNC_NOTIFY_H
#define FALKORSYNC_NOTIFY_H

#include <stdint.h>

/* Sends state (e.g. "READY=1", "WATCHDOG=1", "STOPPING=1") to $NOTIFY_SOCKET.
 * A no-op when the variable is unset (not under systemd). Thread-safe. */
void svc_notify(const char *state);
/* Half of $WATCHDOG_USEC in seconds (how often to send WATCHDOG=1), 0 when
 * systemd's watchdog is off. */
double svc_watchdog_interval(void);

#endif
