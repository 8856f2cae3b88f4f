/* Health probe: one short Bolt session and one RESP connection, measured and summarised. */
#include "sync/target.h"
#include "sync/probe.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bolt/bolt.h"
#include "bolt/pack.h"
#include "falkor/fdb.h"
#include "log/log.h"
#include "sync/connect.h"
#include "sync/profile.h"
#include "sync/replicas.h"

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void set_error(struct probe_side *p, const char *why)
{
    p->ok = false;
    log_redact(why, p->error, sizeof p->error);
}

static void probe_neo4j(const struct cfg *c, unsigned flags, int timeout_ms,
                        struct probe_result *out)
{
    struct probe_side *p = &out->neo4j;
    struct bolt_config bc = sync_bolt_config(c);
    if (timeout_ms > 0)
        bc.connect_timeout_ms = bc.read_timeout_ms = bc.write_timeout_ms = timeout_ms;
    struct bolt_session s;
    bolt_init(&s);
    double t0 = mono_ms();
    struct bolt_record rec;
    int rc = bolt_connect(&s, &bc);
    if (!rc)
        rc = bolt_run(&s, "RETURN 1", NULL, 0, BOLT_MODE_READ);
    while (!rc && (rc = bolt_next(&s, &rec)) == 1)
        rc = 0;
    p->latency_ms = mono_ms() - t0;
    if (rc < 0) {
        set_error(p, s.errstr);
        bolt_close(&s);
        return;
    }
    p->ok = true;
    snprintf(p->version, sizeof p->version, "%s, Bolt %d.%d", s.server_agent, s.version_major,
             s.version_minor);
    const struct sync_profile *prof = sync_profile_of(c);
    for (int i = 0; (flags & PROBE_COUNTS) && i < out->ntypes; i++) {
        char q[160];
        if (sync_count_query(&prof->types[i], q, sizeof q) ||
            bolt_run(&s, q, NULL, 0, BOLT_MODE_READ))
            break;
        while (bolt_next(&s, &rec) == 1) {
            struct pack_reader r;
            struct pack_item it;
            pack_reader_init(&r, rec.data, rec.len);
            /* the record is a one-element list: skip the list header, read the integer */
            if (!pack_read_item(&r, &it) && !pack_read_item(&r, &it) && it.kind == FS_VALUE_INT)
                out->count_neo4j[i] = it.i;
        }
    }
    bolt_close(&s);
}

/* The count of type t in graph, added to *sum: 0, or -1 when FalkorDB failed
 * (a graph that does not exist counts 0). */
static int count_in_graph(struct fdb_conn *f, const char *graph, const char *q, int64_t *sum)
{
    const char *argv[3] = {"GRAPH.RO_QUERY", graph, q};
    redisReply *r = NULL;
    if (fdb_commandv(f, &r, 3, argv))
        return f->server_err == FS_EFDB_NOGRAPH ? 0 : -1;
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2 && r->element[1]->elements &&
        r->element[1]->element[0]->elements)
        *sum += r->element[1]->element[0]->element[0]->integer;
    freeReplyObject(r);
    return 0;
}

/* Per-type item counts of the cache: the single graph, or the sum over the
 * group graphs falkorsync recorded (per_group). Unknown (-1) on a failure. */
static void count_cache(const struct cfg *c, struct fdb_conn *f, struct probe_result *out)
{
    redisReply *groups = NULL;
    if (c->falkordb.layout == CFG_LAYOUT_PER_GROUP) {
        char set[SYNC_KEY_NAME_CAP];
        sync_groups_key(c, set, sizeof set);
        const char *sm[2] = {"SMEMBERS", set};
        if (fdb_commandv(f, &groups, 2, sm))
            return;
        if (groups->type != REDIS_REPLY_ARRAY) {
            freeReplyObject(groups);
            return;
        }
    }
    const struct sync_profile *prof = sync_profile_of(c);
    for (int i = 0; i < out->ntypes; i++) {
        char q[160];
        if (sync_count_query(&prof->types[i], q, sizeof q))
            break;
        int64_t sum = 0;
        int rc = 0;
        if (!groups)
            rc = count_in_graph(f, c->falkordb.database, q, &sum);
        for (size_t g = 0; groups && !rc && g < groups->elements; g++) {
            if (groups->element[g]->type != REDIS_REPLY_STRING)
                continue;
            char graph[SYNC_GRAPH_CAP];
            sync_group_graph_name(c, groups->element[g]->str, graph, sizeof graph);
            rc = count_in_graph(f, graph, q, &sum);
        }
        if (rc)
            break;
        out->count_falkordb[i] = sum;
    }
    freeReplyObject(groups);
}

static void probe_falkordb(const struct cfg *c, unsigned flags, int timeout_ms,
                           struct probe_result *out)
{
    struct probe_side *p = &out->falkordb;
    struct fdb_config fc = sync_fdb_config(c);
    if (timeout_ms > 0)
        fc.connect_timeout_ms = fc.read_timeout_ms = timeout_ms;
    struct fdb_conn f;
    fdb_init(&f);
    double t0 = mono_ms();
    const char *ping[1] = {"PING"};
    int rc = fdb_connect(&f, &fc);
    if (!rc)
        rc = fdb_commandv(&f, NULL, 1, ping);
    p->latency_ms = mono_ms() - t0;
    if (rc) {
        set_error(p, f.errstr);
        fdb_close(&f);
        return;
    }
    p->ok = true;
    if (flags & PROBE_VERSIONS) {
        redisReply *r = NULL;
        const char *info[] = {"INFO", "server"};
        if (!fdb_commandv(&f, &r, 2, info) && r->type == REDIS_REPLY_STRING) {
            const char *v = strstr(r->str, "redis_version:");
            if (v)
                snprintf(p->version, sizeof p->version, "Redis %.*s", (int)strcspn(v + 14, "\r\n"),
                         v + 14);
        }
        freeReplyObject(r);
        r = NULL;
        const char *mod[] = {"GRAPH.QUERY", "falkorsync_ping", "RETURN 1"};
        int qrc = fdb_commandv(&f, &r, 3, mod);
        if (qrc) {
            char why[400];
            snprintf(why, sizeof why, "%s", f.errstr);
            /* GRAPH.QUERY is a write command to Redis: a replica refuses even RETURN 1 */
            if (sync_replicas_readonly(&f, qrc, why, sizeof why) != FS_EFDB_READONLY)
                snprintf(why, sizeof why, "%s (is the FalkorDB module loaded?)", f.errstr);
            set_error(p, why);
        }
        freeReplyObject(r);
    }
    if (p->ok && (flags & PROBE_COUNTS))
        count_cache(c, &f, out);
    fdb_close(&f);
}

int sync_probe(const struct cfg *c, unsigned flags, int timeout_ms, struct probe_result *out)
{
    memset(out, 0, sizeof *out);
    const struct sync_profile *prof = sync_profile_of(c);
    out->ntypes = prof->ntypes < PROBE_MAX_TYPES ? prof->ntypes : PROBE_MAX_TYPES;
    for (int i = 0; i < PROBE_MAX_TYPES; i++)
        out->count_neo4j[i] = out->count_falkordb[i] = -1;
    probe_neo4j(c, flags, timeout_ms, out);
    probe_falkordb(c, flags, timeout_ms, out);
    return out->neo4j.ok && out->falkordb.ok ? 0 : FS_ECONNECT;
}

void sync_probe_targets(const struct cfg *c, char *neo4j, size_t ncap, char *falkordb, size_t fcap)
{
    log_redact(c->neo4j.uri, neo4j, ncap);
    char addr[600];
    if (strstr(c->falkordb.host, "://"))
        snprintf(addr, sizeof addr, "%s", c->falkordb.host);
    else
        snprintf(addr, sizeof addr, "%s:%d", c->falkordb.host, c->falkordb.port);
    log_redact(addr, falkordb, fcap);
}

static int continuous_cmd(const struct cfg *c, int timeout_ms, int argc, const char **argv,
                          redisReply **out, char *err, size_t errlen)
{
    struct fdb_config fc = sync_fdb_config(c);
    if (timeout_ms > 0)
        fc.connect_timeout_ms = fc.read_timeout_ms = timeout_ms;
    struct fdb_conn f;
    fdb_init(&f);
    int rc = fdb_connect(&f, &fc);
    if (!rc)
        rc = fdb_commandv(&f, out, argc, argv);
    if (rc) {
        char why[600];
        snprintf(why, sizeof why, "FalkorDB: %s", f.errstr);
        log_redact(why, err, errlen);
    }
    fdb_close(&f);
    return rc;
}

int sync_continuous_get(const struct cfg *c, int timeout_ms, bool *on, char *err, size_t errlen)
{
    char key[320];
    snprintf(key, sizeof key, "falkorsync:continuous:%s", c->falkordb.database);
    const char *get[2] = {"GET", key};
    redisReply *r = NULL;
    int rc = continuous_cmd(c, timeout_ms, 2, get, &r, err, errlen);
    if (rc)
        return rc < 0 ? rc : -1;
    int found = 0;
    if (r && r->type == REDIS_REPLY_STRING && r->str) {
        if (!strcmp(r->str, "on") || !strcmp(r->str, "off")) {
            *on = !strcmp(r->str, "on");
            found = 1;
        } else {
            snprintf(err, errlen, "%s holds '%.32s', not on or off", key, r->str);
            found = -1;
        }
    }
    freeReplyObject(r);
    return found;
}

int sync_continuous_set(const struct cfg *c, int timeout_ms, bool on, char *err, size_t errlen)
{
    char key[320];
    snprintf(key, sizeof key, "falkorsync:continuous:%s", c->falkordb.database);
    const char *set[3] = {"SET", key, on ? "on" : "off"};
    int rc = continuous_cmd(c, timeout_ms, 3, set, NULL, err, errlen);
    return rc ? (rc < 0 ? rc : -1) : 0;
}
