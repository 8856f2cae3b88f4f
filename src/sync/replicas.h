/* FalkorDB replicas: WAIT for them after a run's writes, and a clear error when falkorsync was
 * pointed at a replica instead of the primary. */
#ifndef FALKORSYNC_SYNC_REPLICAS_H
#define FALKORSYNC_SYNC_REPLICAS_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "falkor/fdb.h"
#include "sync/report.h"

/* After a run: when wrote and falkordb.wait_replicas > 0, sends `WAIT <wait_replicas> <ms>` on
 * each of the n connections in conns (NULL entries and closed connections are skipped), all
 * within one falkordb.wait_timeout_ms. WAIT covers the writes made on the connection it is sent
 * on, so conns must hold every connection the run wrote on. Sets rep->replicas_wanted and
 * rep->replicas_acked (the fewest any WAIT counted); when fewer than wanted acknowledged, or WAIT
 * itself failed, sets rep->warning (saying how many replicas are connected) and logs it as a
 * warning. Never fails the run: the primary holds the data either way. Uses the connections:
 * call it on the thread that owns them, with no replies owed. */
void sync_replicas_wait(const struct cfg *c, struct fdb_conn *const *conns, int n, bool wrote,
                        struct sync_report *rep);

/* For a run that ends with rc: when FalkorDB refused a write on f with READONLY (f is a
 * replica), rewrites err (errlen bytes) to say so, naming the primary when the replica's ROLE
 * does, and returns FS_EFDB_READONLY. Otherwise returns rc and leaves err alone. */
int sync_replicas_readonly(struct fdb_conn *f, int rc, char *err, size_t errlen) FS_WARN_UNUSED;

#endif
