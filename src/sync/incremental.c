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
#include "sync/prefetch.h"
#include "sync/replicas.h"
#include "sync/state.h"
#include "sync/target.h"

/* One graph of a run: its watermarks, its fixer and what it applied. */
struct incr_graph {
    char graph[SYNC_GRAPH_CAP];
    const char *group; /* per_group: the graph's group; else NULL */
    struct state_wm w[STATE_MAX_FAMILIES];
    struct fixer fx;                /* the run's, writing to graph */
    struct sync_applied_batch pend; /* the query's rows, recorded once acknowledged */
    char **pend_keys;               /* relationships: pend's keys, row by row */
    uint32_t npend_keys;            /* allocated entries of pend_keys */
    /* the current query: */
    bool memo_ok;              /* its watermark exists: rows applied before are in the cache */
    int64_t since_s, since_ns; /* where it starts for this graph */
};

/* A run: the graphs where something changed, read together. */
struct incr {
    const struct cfg *c;
    struct bolt_session *bolt;
    struct fixer *fx; /* the run's: owns the loader */
    struct sync_report *rep;
    int nw;
    struct incr_graph *gv; /* the graphs this run reads */
    int ng;
    int *order;                   /* gv's indexes by the current query's start */
    double oldest_change;         /* wall clock seconds of the oldest new change applied; 0 none */
    struct sync_applied *applied; /* the caller's; NULL: none */
    /* the rows this run sent (fixer.h): an entity that a new episode mentions is read by its
     * own change query and by the episode's; its row is sent once when it is the same */
    struct sync_applied *written;
    volatile sig_atomic_t *stop; /* the caller's stop flag, or NULL */
    struct buf q, p;
};

static struct state_wm *wm_find(struct incr *I, struct incr_graph *G, const char *family)
{
    for (int i = 0; i < I->nw; i++)
        if (!strcmp(G->w[i].family, family))
            return &G->w[i];
    return NULL;
}

static bool ts_after(int64_t s, int64_t ns, int64_t ref_s, int64_t ref_ns)
{
    return s > ref_s || (s == ref_s && ns > ref_ns);
}

/* Where change query cq starts for graph G: its watermark - overlap, because transactions
 * commit out of timestamp order; once the watermark has stood still for longer than the
 * overlap, nothing older can still be committing: the watermark. No watermark: everything. */
static void graph_since(struct incr *I, struct incr_graph *G, const struct extract_change *cq)
{
    const struct state_wm *since = wm_find(I, G, cq->since);
    int64_t ss = since->s == INT64_MIN ? -62135596800LL : since->s;
    if (since->s != INT64_MIN &&
        (long long)time(NULL) - since->seen_at <= I->c->sync.overlap_seconds)
        ss -= I->c->sync.overlap_seconds;
    G->since_s = ss;
    G->since_ns = since->s == INT64_MIN ? 0 : since->ns;
    G->memo_ok = since->s != INT64_MIN;
}

/* Runs change query cq for the graphs set[0..n-1] (per_group: their groups, from the earliest
 * start among them; each row goes to its group's graph). */
static int run_change_query(struct incr *I, const struct extract_change *cq, const int *set, int n)
{
    const struct incr_graph *first = &I->gv[set[0]]; /* the earliest: set is in order */
    const char *gs[PREFETCH_FAN];
    for (int i = 0; i < n; i++)
        gs[i] = I->gv[set[i]].group;
    bool by_groups = first->group != NULL;
    int rc = extract_change_query(&I->q, cq, by_groups);
    rc = rc ? rc
            : extract_change_params(&I->p, first->since_s, first->since_ns, by_groups ? gs : NULL,
                                    n);
    rc = rc ? rc : bolt_run(I->bolt, I->q.data, I->p.data, I->p.len, BOLT_MODE_READ);
    if (rc)
        snprintf(I->rep->error, sizeof I->rep->error, "Neo4j: %s", I->bolt->errstr);
    return rc;
}

/* The graph of the current row among set[0..n-1]: by its group column; NULL: none of them. */
static struct incr_graph *row_graph(struct incr *I, const struct extract_cols *cols, const int *set,
                                    int n)
{
    if (n == 1 && !I->gv[set[0]].group)
        return &I->gv[set[0]];
    for (int i = 0; cols->group && i < n; i++) {
        struct incr_graph *G = &I->gv[set[i]];
        if (strlen(G->group) == cols->glen && !memcmp(G->group, cols->group, cols->glen))
            return G;
    }
    return NULL;
}

/* A change's time moves its family's watermark; a change the cache had not seen yet: its age
 * is the lag (unknown without a watermark: then every item counts as new). */
static void note_change(struct incr *I, struct incr_graph *G, const char *family, int64_t s,
                        int64_t ns)
{
    struct state_wm *x = wm_find(I, G, family);
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

/* Upserts the current row of query qi into G unless it was applied with the same change
 * time. */
static int apply_row(struct incr *I, struct incr_graph *G, struct neo_cursor *sc, int qi,
                     const char *key)
{
    uint64_t id = 0;
    if (I->applied && sc->cols.has_ts) {
        id = sync_applied_id(G->graph, qi, key);
        if (G->memo_ok && sync_applied_seen(I->applied, id, sc->cols.ts_s, sc->cols.ts_ns)) {
            I->rep->skipped_unchanged++;
            return 0;
        }
    }
    int rc = fixer_upsert(&G->fx, sc, key, NULL);
    if (rc == FIX_SAME) { /* another change query of the run sent this very row */
        I->rep->skipped_unchanged++;
        rc = 0;
    }
    uint32_t row = G->pend.n;
    if (!rc && id)
        sync_applied_queue(&G->pend, I->applied, id, sc->cols.ts_s, sc->cols.ts_ns);
    if (rc || G->pend.n == row || !sc->t->edge)
        return rc;
    if (row >= G->npend_keys) { /* the key beside its row, for pend_keep_written */
        uint32_t n = G->pend.cap;
        char **v = realloc(G->pend_keys, n * sizeof *v);
        if (!v)
            return FS_ENOMEM;
        memset(v + G->npend_keys, 0, (n - G->npend_keys) * sizeof *v);
        G->pend_keys = v;
        G->npend_keys = n;
    }
    free(G->pend_keys[row]);
    return (G->pend_keys[row] = strdup(key)) ? 0 : FS_ENOMEM;
}

static int pend_strcmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Relationship rows some of which found an endpoint missing: keeps in G's pend only those
 * the cache holds now (looked up by key), so that the others are written again. */
static int pend_keep_written(struct incr *I, struct incr_graph *G, const struct sync_type *t)
{
    struct buf pre;
    buf_init(&pre, SYNC_QUERY_CAP);
    uint32_t w = 0;
    int rc = 0;
    for (uint32_t at = 0; !rc && at < G->pend.n; at += 1000) {
        uint32_t n = G->pend.n - at < 1000 ? G->pend.n - at : 1000;
        buf_reset(&pre);
        rc = buf_append_str(&pre, "CYPHER keys=[");
        for (uint32_t i = 0; !rc && i < n; i++) {
            const char *k = G->pend_keys[at + i] ? G->pend_keys[at + i] : "";
            rc = i ? buf_append_byte(&pre, ',') : 0;
            rc = rc ? rc : fdb_param_write_string(&pre, k, strlen(k));
        }
        rc = rc ? rc
                : buf_printf(&pre, "] UNWIND $keys AS k MATCH ()-[r:`%s` {uuid: k}]->() RETURN k",
                             t->name);
        rc = rc ? rc : buf_append_byte(&pre, '\0');
        redisReply *r = NULL;
        const char *argv[3] = {"GRAPH.RO_QUERY", G->graph, pre.data};
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
            const char *k = G->pend_keys[at + i];
            if (!k || !m || !bsearch(&k, found, m, sizeof *found, pend_strcmp))
                continue;
            G->pend.v[w] = G->pend.v[at + i];
            char *tmp = G->pend_keys[w];
            G->pend_keys[w++] = G->pend_keys[at + i];
            G->pend_keys[at + i] = tmp;
        }
        free(found);
        freeReplyObject(r);
    }
    buf_deinit(&pre);
    G->pend.n = rc ? 0 : w;
    return rc;
}

/* Streams the rows of the query run for set[0..n-1] into their graphs' fixers. */
static int read_rows(struct incr *I, struct neo_cursor *sc, int qi, const int *set, int n)
{
    const struct extract_change *cq = &extract_changes[qi];
    struct sync_item it;
    int more, rc = 0;
    while ((more = neo_cursor_next(sc, &it, &I->rep->dropped)) == 1) {
        if (I->stop && *I->stop) { /* nothing acknowledged past here counts */
            snprintf(I->rep->error, sizeof I->rep->error, "stopped by a signal");
            return FS_ECANCELLED;
        }
        struct incr_graph *G = row_graph(I, &sc->cols, set, n);
        /* a row before the graph's own start (the set starts at its earliest graph's) */
        if (!G ||
            (sc->cols.has_ts && !ts_after(sc->cols.ts_s, sc->cols.ts_ns, G->since_s, G->since_ns)))
            continue;
        if ((rc = apply_row(I, G, sc, qi, it.key)))
            return rc;
        if (sc->cols.has_ts && cq->family)
            note_change(I, G, cq->family, sc->cols.ts_s, sc->cols.ts_ns);
    }
    if (more < 0)
        snprintf(I->rep->error, sizeof I->rep->error, "Neo4j: %s", I->bolt->errstr);
    return more < 0 ? more : 0;
}

/* x starts before y. */
static bool starts_before(const struct incr_graph *x, const struct incr_graph *y)
{
    return x->since_s < y->since_s || (x->since_s == y->since_s && x->since_ns < y->since_ns);
}

/* Change query qi for every graph of the run: per_group, one query for up to PREFETCH_FAN
 * graphs whose starts lie within the overlap of each other (a graph far behind would make
 * the others read what they applied long ago); then every graph's rows are flushed, as the
 * next type's relationships need these endpoints. */
static int apply_query(struct incr *I, struct neo_cursor *sc, int qi)
{
    const struct extract_change *cq = &extract_changes[qi];
    for (int i = 0; i < I->ng; i++) { /* in order of their starts (insertion: stable) */
        graph_since(I, &I->gv[i], cq);
        I->gv[i].fx.type = cq->type;
        int j = i;
        for (; j > 0 && starts_before(&I->gv[i], &I->gv[I->order[j - 1]]); j--)
            I->order[j] = I->order[j - 1];
        I->order[j] = i;
    }
    int64_t span = I->c->sync.overlap_seconds > 1 ? I->c->sync.overlap_seconds : 1;
    sc->t = &sync_graphiti_types[cq->type];
    int rc = 0;
    for (int at = 0, n; !rc && at < I->ng; at += n) {
        const struct incr_graph *first = &I->gv[I->order[at]];
        for (n = 1; at + n < I->ng && n < PREFETCH_FAN &&
                    I->gv[I->order[at + n]].since_s - first->since_s <= span;
             n++)
            ;
        rc = run_change_query(I, cq, I->order + at, n);
        rc = rc ? rc : read_rows(I, sc, qi, I->order + at, n);
    }
    /* acknowledged: these rows need no rewrite while their change time stays; but a
     * relationship that found an endpoint missing (a node committed after its type's query
     * ran, with the relationship before this one did) was not written: only the rows the
     * cache holds are remembered, the window's next read writes the others */
    uint64_t orphans = I->rep->edges_missing_endpoint;
    for (int i = 0; !rc && i < I->ng; i++)
        rc = fixer_send(&I->gv[i].fx);
    rc = rc ? rc : loader_drain(I->fx->ld);
    for (int i = 0; !rc && i < I->ng; i++) {
        struct incr_graph *G = &I->gv[i];
        if (I->rep->edges_missing_endpoint != orphans && G->pend.n)
            rc = pend_keep_written(I, G, &sync_graphiti_types[cq->type]);
        if (!rc)
            sync_applied_commit(I->applied, &G->pend, G->since_s);
    }
    for (int i = 0; i < I->ng; i++)
        I->gv[i].pend.n = 0;
    return rc;
}

/* The graph's indexes, created when missing. The continuous loop does this once per graph
 * and process (noted in its applied set under a pseudo key): a graph with watermarks was
 * built by a full sync or by an earlier run, which created them, and re-issuing 13
 * CREATE INDEX writes every second only takes the graph's write lock for nothing. The
 * generic profile asks every run, as new labels need new indexes; so does a graph without
 * watermarks (new, or deleted and created again). */
static int ensure_indexes_once(struct incr *I, struct incr_graph *G, char *err, size_t errlen)
{
    bool has_wm = false;
    for (int i = 0; i < I->nw; i++)
        has_wm = has_wm || G->w[i].s != INT64_MIN;
    bool memo = I->applied && has_wm && !sync_profile_of(I->c)->generic;
    uint64_t id = sync_applied_id(G->graph, -1, "indexes");
    if (memo && sync_applied_seen(I->applied, id, 1, 0))
        return 0;
    int rc = fixer_ensure_indexes(I->c, I->bolt, &I->fx->ld->fdb, G->graph, err, errlen);
    if (!rc && memo) {
        struct sync_applied_batch b = {0};
        sync_applied_queue(&b, I->applied, id, 1, 0);
        sync_applied_commit(I->applied, &b, 0);
        sync_applied_batch_free(&b);
    }
    return rc;
}

/* The run's graphs: their watermarks, their indexes, every change query, then their
 * watermarks advance (only after FalkorDB acknowledged everything). */
static int incremental_run(struct incr *I)
{
    struct fdb_conn *f = &I->fx->ld->fdb;
    char *err = I->rep->error;
    size_t errlen = sizeof I->rep->error;
    I->nw = sync_wm_nfamilies < STATE_MAX_FAMILIES ? sync_wm_nfamilies : STATE_MAX_FAMILIES;
    int rc = 0;
    for (int i = 0; !rc && i < I->ng; i++) {
        struct incr_graph *G = &I->gv[i];
        struct sync_names nm = {0};
        sync_names_for(I->c, G->graph, &nm);
        for (int k = 0; k < I->nw; k++)
            G->w[k].family = sync_wm_families[k].name;
        rc = state_wm_read(f, nm.wm, G->w, I->nw, err, errlen);
        rc = rc ? rc : ensure_indexes_once(I, G, err, errlen);
        I->fx->ld->graph = G->graph;
    }
    struct neo_cursor *sc = rc ? NULL : malloc(sizeof *sc);
    if (!rc && !sc)
        return FS_ENOMEM;
    if (sc)
        neo_cursor_init(sc, I->bolt, I->fx->rules, false, "", true);
    for (int qi = 0; !rc && qi < extract_nchanges; qi++) {
        if (I->stop && *I->stop) {
            snprintf(err, errlen, "stopped by a signal");
            rc = FS_ECANCELLED;
        }
        rc = rc ? rc : apply_query(I, sc, qi);
    }
    if (sc)
        neo_cursor_deinit(sc);
    free(sc);
    for (int i = 0; !rc && i < I->ng; i++) {
        struct sync_names nm = {0};
        sync_names_for(I->c, I->gv[i].graph, &nm);
        rc = state_wm_advance(f, nm.wm, I->gv[i].w, I->nw, err, errlen);
    }
    I->rep->graphs += I->ng;
    return rc;
}

/* Every graph of the layout (per_group under serve: only the groups where something
 * happened, found by one query). */
static int incremental_graphs(struct incr *I, const struct sync_opts *o, char **groups, int ngroups)
{
    int nt = sync_target_count(I->c, ngroups);
    bool *changed = ngroups ? malloc((size_t)ngroups * sizeof *changed) : NULL;
    I->gv = nt ? calloc((size_t)nt, sizeof *I->gv) : NULL;
    I->order = nt ? calloc((size_t)nt, sizeof *I->order) : NULL;
    if ((ngroups && !changed) || (nt && (!I->gv || !I->order))) {
        free(changed);
        return FS_ENOMEM;
    }
    if (ngroups && sync_group_list_changed(I->bolt, o ? o->group_list : NULL,
                                           I->c->sync.overlap_seconds, groups, ngroups, changed)) {
        /* every group runs; the session is reset by the next query */
    }
    for (int g = 0; g < nt; g++) {
        if (changed && g < ngroups && !changed[g])
            continue;
        struct incr_graph *G = &I->gv[I->ng++];
        G->group = sync_target(I->c, groups, g, G->graph, sizeof G->graph);
        fixer_like(&G->fx, I->fx, G->graph);
        G->fx.written = I->written;
    }
    free(changed);
    int rc = 0;
    if (o && o->stop && *o->stop) {
        snprintf(I->rep->error, sizeof I->rep->error, "stopped by a signal");
        rc = FS_ECANCELLED;
    }
    rc = rc ? rc : incremental_run(I);
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
    I.written = sync_applied_new(15);
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
    for (int g = 0; g < I.ng; g++) {
        struct incr_graph *G = &I.gv[g];
        fixer_close(&G->fx);
        sync_applied_batch_free(&G->pend);
        for (uint32_t i = 0; i < G->npend_keys; i++)
            free(G->pend_keys[i]);
        free(G->pend_keys);
    }
    free(I.gv);
    free(I.order);
    sync_applied_free(I.written);
    rep->seconds = sync_now() - t0;
    if (rc && !rep->error[0])
        snprintf(rep->error, sizeof rep->error, "%s", fs_strerror(rc));
    return rc;
}
