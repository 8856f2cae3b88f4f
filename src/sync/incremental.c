/* Incremental: change queries from the watermarks on, upserted through the fixer. */
#include "sync/layout.h"
#include "sync/incremental.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "falkor/param.h"
#include "sync/applied.h"
#include "sync/connect.h"
#include "sync/cursor_neo4j.h"
#include "sync/deletes.h"
#include "sync/extract.h"
#include "sync/fixer.h"
#include "sync/replicas.h"
#include "sync/state.h"
#include "sync/target.h"

/* One graph's run: the watermarks and what reads and writes. */
struct incr {
    const struct cfg *c;
    struct bolt_session *bolt;
    struct fixer *fx;
    struct sync_report *rep;
    struct state_wm w[STATE_MAX_FAMILIES];
    int nw;
    double oldest_change;         /* wall clock seconds of the oldest new change applied; 0 none */
    struct sync_applied *applied; /* the caller's; NULL: none */
    struct sync_applied_batch pend; /* this query's rows, recorded once acknowledged */
    char **pend_keys;               /* relationships: pend's keys, row by row */
    uint32_t npend_keys;            /* allocated entries of pend_keys */
    const char *graph;
    volatile sig_atomic_t *stop; /* the caller's stop flag, or NULL */
    bool memo_ok;    /* the query's watermark exists: rows applied before are in the cache */
    int64_t since_s; /* where the query started */
    struct buf q, p;
};

static struct state_wm *wm_find(struct incr *I, const char *family)
{
    for (int i = 0; i < I->nw; i++)
        if (!strcmp(I->w[i].family, family))
            return &I->w[i];
    return NULL;
}

static bool ts_after(int64_t s, int64_t ns, int64_t ref_s, int64_t ref_ns)
{
    return s > ref_s || (s == ref_s && ns > ref_ns);
}

/* Runs change query cq from its watermark on. */
static int run_change_query(struct incr *I, const struct extract_change *cq, const char *group)
{
    const struct state_wm *since = wm_find(I, cq->since);
    /* since = watermark - overlap, because transactions commit out of
     * timestamp order; once the watermark has stood still for longer than
     * the overlap, nothing older can still be committing: since =
     * watermark. No watermark: everything. */
    int64_t ss = since->s == INT64_MIN ? -62135596800LL : since->s;
    if (since->s != INT64_MIN &&
        (long long)time(NULL) - since->seen_at <= I->c->sync.overlap_seconds)
        ss -= I->c->sync.overlap_seconds;
    I->since_s = ss;
    I->memo_ok = since->s != INT64_MIN;
    int rc = extract_change_query(&I->q, cq, group);
    rc = rc ? rc : extract_change_params(&I->p, ss, since->s == INT64_MIN ? 0 : since->ns, group);
    rc = rc ? rc : bolt_run(I->bolt, I->q.data, I->p.data, I->p.len, BOLT_MODE_READ);
    if (rc)
        snprintf(I->rep->error, sizeof I->rep->error, "Neo4j: %s", I->bolt->errstr);
    return rc;
}

/* A change's time moves its family's watermark; a change the cache had not seen yet: its age
 * is the lag (unknown without a watermark: then every item counts as new). */
static void note_change(struct incr *I, const char *family, int64_t s, int64_t ns)
{
    struct state_wm *x = wm_find(I, family);
    if (ts_after(s, ns, x->new_s, x->new_ns)) {
        x->new_s = s;
        x->new_ns = ns;
    }
    if (x->s != INT64_MIN && ts_after(s, ns, x->s, x->ns)) {
        double t = (double)s + (double)ns / 1e9;
        if (I->oldest_change == 0 || t < I->oldest_change)
            I->oldest_change = t;
    }
}

/* Upserts the current row of query qi unless it was applied with the same change time. */
static int apply_row(struct incr *I, struct neo_cursor *sc, int qi, const char *key)
{
    uint64_t id = 0;
    if (I->applied && sc->cols.has_ts) {
        id = sync_applied_id(I->graph, qi, key);
        if (I->memo_ok && sync_applied_seen(I->applied, id, sc->cols.ts_s, sc->cols.ts_ns)) {
            I->rep->skipped_unchanged++;
            return 0;
        }
    }
    int rc = fixer_upsert(I->fx, sc, key, NULL);
    uint32_t row = I->pend.n;
    if (!rc && id)
        sync_applied_queue(&I->pend, I->applied, id, sc->cols.ts_s, sc->cols.ts_ns);
    if (rc || I->pend.n == row || !sc->t->edge)
        return rc;
    if (row >= I->npend_keys) { /* the key beside its row, for pend_keep_written */
        uint32_t n = I->pend.cap;
        char **v = realloc(I->pend_keys, n * sizeof *v);
        if (!v)
            return FS_ENOMEM;
        memset(v + I->npend_keys, 0, (n - I->npend_keys) * sizeof *v);
        I->pend_keys = v;
        I->npend_keys = n;
    }
    free(I->pend_keys[row]);
    return (I->pend_keys[row] = strdup(key)) ? 0 : FS_ENOMEM;
}

static int pend_strcmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Relationship rows some of which found an endpoint missing: keeps in pend only those the
 * cache holds now (looked up by key), so that the others are written again. */
static int pend_keep_written(struct incr *I, const struct sync_type *t)
{
    struct buf pre;
    buf_init(&pre, SYNC_QUERY_CAP);
    uint32_t w = 0;
    int rc = 0;
    for (uint32_t at = 0; !rc && at < I->pend.n; at += 1000) {
        uint32_t n = I->pend.n - at < 1000 ? I->pend.n - at : 1000;
        buf_reset(&pre);
        rc = buf_append_str(&pre, "CYPHER keys=[");
        for (uint32_t i = 0; !rc && i < n; i++) {
            const char *k = I->pend_keys[at + i] ? I->pend_keys[at + i] : "";
            rc = i ? buf_append_byte(&pre, ',') : 0;
            rc = rc ? rc : fdb_param_write_string(&pre, k, strlen(k));
        }
        rc = rc ? rc
                : buf_printf(&pre, "] UNWIND $keys AS k MATCH ()-[r:`%s` {uuid: k}]->() RETURN k",
                             t->name);
        rc = rc ? rc : buf_append_byte(&pre, '\0');
        redisReply *r = NULL;
        const char *argv[3] = {"GRAPH.RO_QUERY", I->graph, pre.data};
        if (!rc && (rc = fdb_commandv(&I->fx->ld->fdb, &r, 3, argv)))
            snprintf(I->rep->error, sizeof I->rep->error, "FalkorDB: %s", I->fx->ld->fdb.errstr);
        const redisReply *rows =
            r && r->type == REDIS_REPLY_ARRAY && r->elements >= 2 ? r->element[1] : NULL;
        size_t nf = rows && rows->type == REDIS_REPLY_ARRAY ? rows->elements : 0;
        char **found = nf ? calloc(nf, sizeof *found) : NULL;
        size_t m = 0;
        for (size_t i = 0; found && i < nf; i++)
            if (rows->element[i]->elements &&
                rows->element[i]->element[0]->type == REDIS_REPLY_STRING)
                found[m++] = rows->element[i]->element[0]->str;
        if (m)
            qsort(found, m, sizeof *found, pend_strcmp);
        for (uint32_t i = 0; !rc && i < n; i++) {
            const char *k = I->pend_keys[at + i];
            if (!k || !m || !bsearch(&k, found, m, sizeof *found, pend_strcmp))
                continue;
            I->pend.v[w] = I->pend.v[at + i];
            char *tmp = I->pend_keys[w];
            I->pend_keys[w++] = I->pend_keys[at + i];
            I->pend_keys[at + i] = tmp;
        }
        free(found);
        freeReplyObject(r);
    }
    buf_deinit(&pre);
    I->pend.n = rc ? 0 : w;
    return rc;
}

/* Every change query of one graph, each flushed before the next (the next type's
 * relationships need these endpoints). */
static int apply_changes(struct incr *I, const char *group)
{
    struct neo_cursor *sc = malloc(sizeof *sc);
    if (!sc)
        return FS_ENOMEM;
    neo_cursor_init(sc, I->bolt, I->fx->rules, false, "", true);
    int rc = 0;
    for (int qi = 0; !rc && qi < extract_nchanges; qi++) {
        const struct extract_change *cq = &extract_changes[qi];
        if ((rc = run_change_query(I, cq, group)))
            break;
        I->fx->type = cq->type;
        sc->t = &sync_graphiti_types[cq->type];
        struct sync_item it;
        int more;
        while ((more = neo_cursor_next(sc, &it, &I->rep->dropped)) == 1) {
            if (I->stop && *I->stop) { /* nothing acknowledged past here counts */
                snprintf(I->rep->error, sizeof I->rep->error, "stopped by a signal");
                rc = FS_ECANCELLED;
                break;
            }
            if ((rc = apply_row(I, sc, qi, it.key)))
                break;
            if (sc->cols.has_ts && cq->family)
                note_change(I, cq->family, sc->cols.ts_s, sc->cols.ts_ns);
        }
        if (!rc && more < 0) {
            rc = more;
            snprintf(I->rep->error, sizeof I->rep->error, "Neo4j: %s", I->bolt->errstr);
        }
        uint64_t orphans = I->rep->edges_missing_endpoint;
        if (!rc)
            rc = fixer_flush(I->fx);
        /* acknowledged: these rows need no rewrite while their change time stays; but a
         * relationship that found an endpoint missing (a node committed after its type's
         * query ran, with the relationship before this one did) was not written: only the
         * rows the cache holds are remembered, the window's next read writes the others */
        if (!rc && I->rep->edges_missing_endpoint != orphans && I->pend.n)
            rc = pend_keep_written(I, &sync_graphiti_types[cq->type]);
        if (!rc)
            sync_applied_commit(I->applied, &I->pend, I->since_s);
        I->pend.n = 0;
    }
    neo_cursor_deinit(sc);
    free(sc);
    return rc;
}

/* The graph's indexes, created when missing. The continuous loop does this once per graph
 * and process (noted in its applied set under a pseudo key): a graph with watermarks was
 * built by a full sync or by an earlier run, which created them, and re-issuing 13
 * CREATE INDEX writes every second only takes the graph's write lock for nothing. The
 * generic profile asks every run, as new labels need new indexes; so does a graph without
 * watermarks (new, or deleted and created again). */
static int ensure_indexes_once(struct incr *I, struct fdb_conn *f, const char *graph, char *err,
                               size_t errlen)
{
    bool has_wm = false;
    for (int i = 0; i < I->nw; i++)
        has_wm = has_wm || I->w[i].s != INT64_MIN;
    bool memo = I->applied && has_wm && !sync_profile_of(I->c)->generic;
    uint64_t id = sync_applied_id(graph, -1, "indexes");
    if (memo && sync_applied_seen(I->applied, id, 1, 0))
        return 0;
    int rc = fixer_ensure_indexes(I->c, I->bolt, f, graph, err, errlen);
    if (!rc && memo) {
        struct sync_applied_batch b = {0};
        sync_applied_queue(&b, I->applied, id, 1, 0);
        sync_applied_commit(I->applied, &b, 0);
        sync_applied_batch_free(&b);
    }
    return rc;
}

static int incremental_graph(struct incr *I, const char *graph, const char *group)
{
    struct sync_names nm = {0};
    sync_names_for(I->c, graph, &nm);
    struct fdb_conn *f = &I->fx->ld->fdb;
    char *err = I->rep->error;
    size_t errlen = sizeof I->rep->error;
    I->nw = sync_wm_nfamilies < STATE_MAX_FAMILIES ? sync_wm_nfamilies : STATE_MAX_FAMILIES;
    for (int i = 0; i < I->nw; i++)
        I->w[i].family = sync_wm_families[i].name;
    int rc = state_wm_read(f, nm.wm, I->w, I->nw, err, errlen);
    rc = rc ? rc : ensure_indexes_once(I, f, graph, err, errlen);
    if (rc)
        return rc;
    I->fx->ld->graph = graph;
    I->graph = graph;
    rc = apply_changes(I, group);
    /* Watermarks advance only after FalkorDB acknowledged everything above. */
    return rc ? rc : state_wm_advance(f, nm.wm, I->w, I->nw, err, errlen);
}

/* Every graph of the layout. */
static int incremental_graphs(struct incr *I, const struct sync_opts *o, char **groups, int ngroups)
{
    int rc = 0;
    /* per_group under serve: only the groups where something happened (one query) */
    bool *changed = ngroups ? malloc((size_t)ngroups * sizeof *changed) : NULL;
    if (ngroups && !changed)
        return FS_ENOMEM;
    if (ngroups && sync_group_list_changed(I->bolt, o ? o->group_list : NULL,
                                           I->c->sync.overlap_seconds, groups, ngroups, changed)) {
        /* every group runs; the session is reset by the next query */
    }
    for (int g = 0; !rc && g < sync_target_count(I->c, ngroups); g++) {
        if (o && o->stop && *o->stop) {
            snprintf(I->rep->error, sizeof I->rep->error, "stopped by a signal");
            free(changed);
            return FS_ECANCELLED;
        }
        if (changed && g < ngroups && !changed[g])
            continue;
        char graph[SYNC_GRAPH_CAP];
        const char *group = sync_target(I->c, groups, g, graph, sizeof graph);
        rc = incremental_graph(I, graph, group);
        I->rep->graphs++;
    }
    free(changed);
    if (rc && o)
        sync_group_list_forget(o->group_list);
    return rc;
}

int sync_incremental_changes(const struct cfg *c, const struct sync_opts *o,
                             struct sync_report *rep, double *lag_seconds)
{
    memset(rep, 0, sizeof *rep);
    *lag_seconds = 0;
    double t0 = sync_now();
    struct bolt_session bolt;
    struct sync_rules rules;
    struct loader ld = {0};
    struct fixer fx = {0};
    struct incr I = {.c = c,
                     .bolt = &bolt,
                     .fx = &fx,
                     .rep = rep,
                     .applied = o ? o->applied : NULL,
                     .stop = o ? o->stop : NULL};
    buf_init(&I.q, SYNC_QUERY_CAP);
    buf_init(&I.p, SYNC_QUERY_CAP);
    bolt_init(&bolt);
    fdb_init(&ld.fdb);
    char **groups = NULL;
    int ngroups = 0;
    int rc = sync_rules_init(&rules, c);
    struct bolt_config bc = sync_bolt_config(c);
    bc.stop = o ? o->stop : NULL;
    struct fdb_config fc = sync_fdb_config(c);
    if (!rc && (rc = bolt_connect(&bolt, &bc)))
        snprintf(rep->error, sizeof rep->error, "%s", bolt.errstr);
    if (!rc)
        rc = fixer_open(&fx, &ld, c, &rules, rep, &fc, rep->error, sizeof rep->error);
    if (!rc && c->falkordb.layout == CFG_LAYOUT_PER_GROUP &&
        (rc = sync_group_list_get(&bolt, o ? o->group_list : NULL, c->sync.overlap_seconds, &groups,
                                  &ngroups)))
        snprintf(rep->error, sizeof rep->error, "Neo4j: %s", bolt.errstr);
    rc = rc ? rc : incremental_graphs(&I, o, groups, ngroups);
    /* Deletes (and items an earlier run missed), found by counts: after every upsert. */
    double td = sync_now();
    if (!rc && !(o && o->deletes_elsewhere)) {
        rc = sync_deletes_check(c, &bolt, &fx, groups, ngroups, NULL, I.stop, rep);
        rep->delete_check_seconds = sync_now() - td;
    }
    /* per_group: the graphs of groups gone from Neo4j (Graphiti's clear_data) go now. */
    if (!rc && c->falkordb.layout == CFG_LAYOUT_PER_GROUP &&
        (rc = sync_track_groups(c, &ld.fdb, groups, ngroups, rep)))
        snprintf(rep->error, sizeof rep->error, "FalkorDB: %s", ld.fdb.errstr);
    if (!rc && (rc = sync_layout_cleanup(c, &ld.fdb, groups, ngroups, rep)))
        snprintf(rep->error, sizeof rep->error, "FalkorDB: %s", ld.fdb.errstr);
    if (!rc && I.oldest_change > 0)
        *lag_seconds = sync_wall_now() - I.oldest_change;
    rc = loader_out_of_memory(&ld, rc, "an incremental run", rep->error, sizeof rep->error);
    fixer_close(&fx);
    rc = sync_replicas_readonly(&ld.fdb, rc, rep->error, sizeof rep->error);
    struct fdb_conn *wrote_on[1] = {&ld.fdb};
    sync_replicas_wait(c, wrote_on, 1, !rc && rep->upserted + rep->deleted > 0, rep);
    sync_groups_free(groups, ngroups);
    sync_rules_deinit(&rules);
    bolt_close(&bolt);
    fdb_close(&ld.fdb);
    free(ld.ring);
    buf_deinit(&I.q);
    buf_deinit(&I.p);
    sync_applied_batch_free(&I.pend);
    for (uint32_t i = 0; i < I.npend_keys; i++)
        free(I.pend_keys[i]);
    free(I.pend_keys);
    rep->seconds = sync_now() - t0;
    if (rc && !rep->error[0])
        snprintf(rep->error, sizeof rep->error, "%s", fs_strerror(rc));
    return rc;
}
