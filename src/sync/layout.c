/* Graph layouts: group to graph names, and removing what a previous layout left behind. */
#include "sync/layout.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "log/log.h"
#include "sync/gkey.h"
#include "sync/profile.h"

/* GRAPH.DELETE of graph (when it is a graph) and DEL of its watermark key. */
static int drop_graph(const struct cfg *c, struct fdb_conn *fdb, const char *graph,
                      struct sync_report *rep, const char *why)
{
    const char *type[2] = {"TYPE", graph};
    redisReply *r = NULL;
    int rc = fdb_commandv(fdb, &r, 2, type);
    if (rc)
        return rc;
    bool is_graph = r->type == REDIS_REPLY_STATUS && r->str && !strcmp(r->str, "graphdata");
    freeReplyObject(r);
    if (is_graph) {
        const char *del[2] = {"GRAPH.DELETE", graph};
        if ((rc = fdb_commandv(fdb, NULL, 2, del)))
            return rc;
        if (rep)
            rep->deleted++;
        log_fields(LOG_INFO, "deleted a graph of the previous layout",
                   json_pack("{s:o,s:s}", "graph", sync_json_text(graph), "reason", why));
    }
    struct sync_names nm = {0};
    sync_names_for(c, graph, &nm);
    const char *wm = nm.wm;
    const char *delwm[2] = {"DEL", wm};
    return fdb_commandv(fdb, NULL, 2, delwm);
}

static bool is_current(const struct cfg *c, char *const *groups, int ngroups, const char *graph)
{
    for (int i = 0; i < ngroups; i++) {
        char g[300];
        sync_group_graph_name(c, groups[i], g, sizeof g);
        if (!strcmp(g, graph))
            return true;
    }
    return false;
}

/* Layout single: the graphs of the groups a per_group run recorded. */
static int drop_group_graphs(const struct cfg *c, struct fdb_conn *fdb, struct sync_report *rep)
{
    char set[320];
    sync_groups_key(c, set, sizeof set);
    const char *sm[2] = {"SMEMBERS", set};
    redisReply *r = NULL;
    int rc = fdb_commandv(fdb, &r, 2, sm);
    if (rc)
        return rc;
    for (size_t i = 0; !rc && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        if (r->element[i]->type != REDIS_REPLY_STRING)
            continue;
        char graph[300];
        sync_group_graph_name(c, r->element[i]->str, graph, sizeof graph);
        if (strcmp(graph, c->falkordb.database)) /* the live single graph stays */
            rc = drop_graph(c, fdb, graph, rep, "layout is single");
    }
    bool had = r->type == REDIS_REPLY_ARRAY && r->elements > 0;
    freeReplyObject(r);
    if (!rc && had) {
        const char *del[2] = {"DEL", set};
        rc = fdb_commandv(fdb, NULL, 2, del);
    }
    return rc;
}

/* Layout per_group: the single graph <database>, when falkorsync wrote it. */
static int drop_single_graph(const struct cfg *c, struct fdb_conn *fdb, char *const *groups,
                             int ngroups, const char *marker, struct sync_report *rep)
{
    const char *db = c->falkordb.database;
    if (is_current(c, groups, ngroups, db))
        return 0;
    struct sync_names nm = {0};
    sync_names_for(c, db, &nm);
    const char *wm = nm.wm;
    const char *ex[2] = {"EXISTS", wm};
    redisReply *r = NULL;
    int rc = fdb_commandv(fdb, &r, 2, ex);
    if (rc)
        return rc;
    bool ours = (r->type == REDIS_REPLY_INTEGER && r->integer > 0) || !strcmp(marker, "single");
    freeReplyObject(r);
    return ours ? drop_graph(c, fdb, db, rep, "layout is per_group") : 0;
}

int sync_layout_cleanup(const struct cfg *c, struct fdb_conn *fdb, char *const *groups, int ngroups,
                        struct sync_report *rep)
{
    bool per_group = c->falkordb.layout == CFG_LAYOUT_PER_GROUP;
    char key[320];
    snprintf(key, sizeof key, "falkorsync:layout:%s", c->falkordb.database);
    const char *get[2] = {"GET", key};
    redisReply *r = NULL;
    int rc = fdb_commandv(fdb, &r, 2, get);
    if (rc)
        return rc;
    char marker[32] = "";
    if (r->type == REDIS_REPLY_STRING && r->str)
        snprintf(marker, sizeof marker, "%s", r->str);
    freeReplyObject(r);
    const char *now = per_group ? "per_group" : "single";
    if (per_group && ngroups > 0) {
        /* Every graph this run wrote is recorded, also the graph of a group
         * incremental met first: a later switch or reconcile must find it. */
        char set[320];
        sync_groups_key(c, set, sizeof set);
        for (int i = 0; !rc && i < ngroups; i++) {
            const char *sadd[3] = {"SADD", set, groups[i]};
            rc = fdb_commandv(fdb, NULL, 3, sadd);
        }
    }
    if (rc) {
        /* reported by the caller */
    } else if (per_group) {
        if (strcmp(marker, now)) /* a switch, or a cache from before the marker */
            rc = drop_single_graph(c, fdb, groups, ngroups, marker, rep);
    } else {
        rc = drop_group_graphs(c, fdb, rep); /* an empty set costs one round trip */
    }
    if (!rc && strcmp(marker, now)) {
        const char *set[3] = {"SET", key, now};
        rc = fdb_commandv(fdb, NULL, 3, set);
    }
    return rc;
}

/* Items of type t in graph (0 when the graph or the type is absent). */
static int count_type(struct fdb_conn *fdb, const char *graph, const struct sync_type *t,
                      uint64_t *n)
{
    *n = 0;
    struct buf q;
    buf_init(&q, 0);
    int rc = buf_append_str(&q, t->edge ? "MATCH ()-[x:" : "MATCH (x:");
    rc = rc ? rc : (xc_ident(&q, t->name, strlen(t->name)) ? FS_EUNSUPPORTED : 0);
    rc = rc ? rc : buf_append_str(&q, t->edge ? "]->() RETURN count(x)" : ") RETURN count(x)");
    redisReply *r = NULL;
    const char *argv[4] = {"GRAPH.RO_QUERY", graph, q.data, "--compact"};
    rc = rc ? rc : fdb_commandv(fdb, &r, 4, argv);
    /* compact reply: [header, [[ [type, value] ]], stats] */
    if (!rc && r->type == REDIS_REPLY_ARRAY && r->elements >= 2 &&
        r->element[1]->type == REDIS_REPLY_ARRAY && r->element[1]->elements == 1) {
        redisReply *row = r->element[1]->element[0];
        if (row->type == REDIS_REPLY_ARRAY && row->elements == 1 &&
            row->element[0]->type == REDIS_REPLY_ARRAY && row->element[0]->elements == 2 &&
            row->element[0]->element[1]->type == REDIS_REPLY_INTEGER)
            *n = (uint64_t)row->element[0]->element[1]->integer;
    }
    freeReplyObject(r);
    buf_deinit(&q);
    return rc;
}

static int report_stale(const struct cfg *c, struct fdb_conn *fdb, const char *graph,
                        struct verify_report *rep)
{
    const char *type[2] = {"TYPE", graph};
    redisReply *r = NULL;
    int rc = fdb_commandv(fdb, &r, 2, type);
    bool is_graph = !rc && r->type == REDIS_REPLY_STATUS && r->str && !strcmp(r->str, "graphdata");
    freeReplyObject(r);
    if (rc || !is_graph)
        return rc;
    const struct sync_profile *prof = sync_profile_of(c);
    bool sampled = false;
    for (int t = 0; !rc && t < prof->ntypes && t < rep->ntypes; t++) {
        uint64_t n = 0;
        rc = count_type(fdb, graph, &prof->types[t], &n);
        struct verify_count *vc = &rep->types[t];
        vc->extra += n;
        vc->cache += n;
        if (n && !sampled && vc->nsamples < VERIFY_SAMPLES) {
            snprintf(vc->samples[vc->nsamples++], sizeof vc->samples[0], "stale_graph:%s", graph);
            sampled = true;
        }
    }
    return rc;
}

int sync_layout_verify_stale(const struct cfg *c, struct fdb_conn *fdb, char *const *groups,
                             int ngroups, struct verify_report *rep)
{
    bool per_group = c->falkordb.layout == CFG_LAYOUT_PER_GROUP;
    char set[320];
    sync_groups_key(c, set, sizeof set);
    const char *sm[2] = {"SMEMBERS", set};
    redisReply *r = NULL;
    int rc = fdb_commandv(fdb, &r, 2, sm);
    if (rc)
        return rc;
    for (size_t i = 0; !rc && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        if (r->element[i]->type != REDIS_REPLY_STRING)
            continue;
        char graph[300];
        sync_group_graph_name(c, r->element[i]->str, graph, sizeof graph);
        bool stale = per_group ? !is_current(c, groups, ngroups, graph)
                               : strcmp(graph, c->falkordb.database) != 0;
        if (stale)
            rc = report_stale(c, fdb, graph, rep);
    }
    freeReplyObject(r);
    if (rc || !per_group || is_current(c, groups, ngroups, c->falkordb.database))
        return rc;
    char key[320];
    snprintf(key, sizeof key, "falkorsync:layout:%s", c->falkordb.database);
    const char *get[2] = {"GET", key};
    r = NULL;
    if ((rc = fdb_commandv(fdb, &r, 2, get)))
        return rc;
    bool was_single = r->type == REDIS_REPLY_STRING && r->str && !strcmp(r->str, "single");
    freeReplyObject(r);
    struct sync_names nm = {0};
    sync_names_for(c, c->falkordb.database, &nm);
    const char *wm = nm.wm;
    const char *ex[2] = {"EXISTS", wm};
    r = NULL;
    if ((rc = fdb_commandv(fdb, &r, 2, ex)))
        return rc;
    bool ours = was_single || (r->type == REDIS_REPLY_INTEGER && r->integer > 0);
    freeReplyObject(r);
    return ours ? report_stale(c, fdb, c->falkordb.database, rep) : 0;
}
