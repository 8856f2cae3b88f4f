/* Prometheus text exposition of the service state and the process. */
#ifndef FALKORSYNC_METRICS_H
#define FALKORSYNC_METRICS_H

#include "service/state.h"

/* Renders every metric; the caller frees the string. NULL on out of memory. Thread-safe. */
char *metrics_render(struct svc_state *s);

#endif
