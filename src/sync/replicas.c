/* FalkorDB replicas: WAIT after a run's writes (falkordb.wait_replicas), and the READONLY error of
 * a replica turned into advice. */
#include "sync/replicas.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "log/log.h"

/* The replicas connected to the primary f, by ROLE ("master", offset, [[ip, port, offset], ...]);
 * -1 when unknown. */
static int connected_replicas(struct fdb_conn *f)
{
    const char *argv[1] = {"ROLE"};
    redisReply *r = NULL;
    if (!fdb_is_connected(f) || f->pending || fdb_commandv(f, &r, 1, argv))
        return -1;
    int n = -1;
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 3 &&
        r->element[2]->type == REDIS_REPLY_ARRAY)
        n = (int)r->element[2]->elements;
    freeReplyObject(r);
    return n;
}

/* One WAIT on f: *acked replicas acknowledged f's writes within timeout_ms. Returns 0, or the
 * failure with why (whylen bytes) filled. */
static int wait_one(struct fdb_conn *f, int want, long timeout_ms, int *acked, char *why,
                    size_t whylen)
{
    char nb[16], tb[24];
    snprintf(nb, sizeof nb, "%d", want);
    snprintf(tb, sizeof tb, "%ld", timeout_ms);
    const char *argv[3] = {"WAIT", nb, tb};
    redisReply *r = NULL;
    int rc = fdb_commandv(f, &r, 3, argv);
    if (rc) {
        snprintf(why, whylen, "WAIT failed: %s", f->errstr);
        return rc;
    }
    if (r->type != REDIS_REPLY_INTEGER) {
        snprintf(why, whylen, "WAIT answered something other than a number (type %d)", r->type);
        rc = FS_EPROTOCOL;
    } else {
        *acked = r->integer < 0 ? 0 : r->integer > 1000000 ? 1000000 : (int)r->integer;
    }
    freeReplyObject(r);
    return rc;
}

void sync_replicas_wait(const struct cfg *c, struct fdb_conn *const *conns, int n, bool wrote,
                        struct sync_report *rep)
{
    const int want = c->falkordb.wait_replicas;
    if (want <= 0 || !wrote)
        return;
    const double deadline = sync_now() + c->falkordb.wait_timeout_ms / 1000.0;
    int acked = want;
    char why[256] = "";
    struct fdb_conn *last = NULL;
    for (int i = 0; i < n && acked >= want; i++) {
        struct fdb_conn *f = conns[i];
        if (!f || !fdb_is_connected(f))
            continue;
        last = f;
        /* one budget for all: WAIT 0 would block for ever, so at least 1 ms */
        long left = (long)((deadline - sync_now()) * 1000.0);
        int got = 0;
        if (wait_one(f, want, left > 0 ? left : 1, &got, why, sizeof why)) {
            acked = 0;
            break;
        }
        if (got < acked)
            acked = got;
    }
    if (!last) /* nothing open to ask: the run closed its connections already */
        return;
    rep->replicas_wanted = want;
    rep->replicas_acked = acked;
    if (acked >= want)
        return;
    int connected = connected_replicas(last);
    char conn_text[64] = "";
    if (connected >= 0)
        snprintf(conn_text, sizeof conn_text, "; %d replica%s connected to the primary", connected,
                 connected == 1 ? "" : "s");
    snprintf(rep->warning, sizeof rep->warning,
             "falkordb.wait_replicas: %d replica%s wanted, %d acknowledged this run's writes "
             "within %d ms%s%s%s; the primary has them, readers of a lagging replica see older "
             "data until it catches up",
             want, want == 1 ? "" : "s", acked, c->falkordb.wait_timeout_ms, conn_text,
             why[0] ? "; " : "", why);
    log_fields(LOG_WARNING, "replicas did not acknowledge the run's writes",
               json_pack("{s:i,s:i,s:i,s:i,s:o}", "replicas_wanted", want, "replicas_acked", acked,
                         "replicas_connected", connected, "timeout_ms", c->falkordb.wait_timeout_ms,
                         "warning", sync_json_text(rep->warning)));
}

int sync_replicas_readonly(struct fdb_conn *f, int rc, char *err, size_t errlen)
{
    if (rc != FS_ESERVER || f->server_err != FS_EFDB_READONLY)
        return rc;
    char said[200];
    snprintf(said, sizeof said, "%s", err);
    /* A replica's ROLE: "slave", primary host, primary port, state, offset. */
    char primary[160] = "";
    const char *argv[1] = {"ROLE"};
    redisReply *r = NULL;
    if (fdb_is_connected(f) && !f->pending && !fdb_commandv(f, &r, 1, argv)) {
        if (r->type == REDIS_REPLY_ARRAY && r->elements >= 3 &&
            r->element[1]->type == REDIS_REPLY_STRING && r->element[2]->type == REDIS_REPLY_INTEGER)
            snprintf(primary, sizeof primary, " of %.100s:%lld", r->element[1]->str,
                     (long long)r->element[2]->integer);
        freeReplyObject(r);
    }
    snprintf(err, errlen,
             "FalkorDB at %s:%d is a read-only replica%s; falkorsync writes to the primary only: "
             "set FALKORDB_HOST/FALKORDB_PORT (falkordb.host/port) to the primary (FalkorDB "
             "said: %s)",
             f->cfg.host ? f->cfg.host : "?", f->cfg.port, primary, said);
    return FS_EFDB_READONLY;
}
