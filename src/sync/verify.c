/* Verify and reconcile: a merge-join of both sides in key order, comparing fingerprints. */
#include "sync/layout.h"
#include "sync/verify.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bolt/bolt.h"
#include "falkor/fdb.h"
#include "sync/connect.h"
#include "sync/cursor_cache.h"
#include "sync/cursor_neo4j.h"
#include "sync/extract.h"
#include "sync/fixer.h"
#include "sync/gkey.h"
#include "sync/prefetch.h"
#include "sync/replicas.h"
#include "sync/state.h"
#include "sync/target.h"

static void sample(struct verify_count *vc, const char *what, const char *key)
{
    if (vc->nsamples < VERIFY_SAMPLES)
        snprintf(vc->samples[vc->nsamples++], sizeof vc->samples[0], "%s:%s", what, key);
}

/* The next source item, checked to come in merge order: a key smaller than
 * the previous one means Neo4j ordered differently (an error: the merge would
 * be wrong); a key equal to it is a second Neo4j item with the same key
 * (counted as unrepresentable: the cache can hold one item per key). */
static int src_advance(struct neo_cursor *sc, struct sync_item *a, char *prev, struct xc_stats *st,
                       struct verify_count *vc, volatile sig_atomic_t *stop, char *err,
                       size_t errlen)
{
    for (;;) {
        if (stop && *stop) { /* a long run of rows the merge skips */
            snprintf(err, errlen, "stopped by a signal");
            return FS_ECANCELLED;
        }
        int ra = neo_cursor_next(sc, a, st);
        if (ra != 1)
            return ra;
        int order = *prev ? sync_keycmp(prev, a->key) : -1;
        if (order > 0) {
            snprintf(err, errlen,
                     "Neo4j streamed %s keys out of byte order (\"%.100s\" after \"%.100s\"); "
                     "the comparison cannot go on",
                     sc->t->name, a->key, prev);
            return FS_EPROTOCOL;
        }
        fp_key_copy(prev, a->key);
        if (order < 0 && !a->absent)
            return 1;
        vc->source++;
        vc->unrepresentable++;
        sample(vc, a->absent ? "unrepresentable" : "neo4j_duplicate", a->key);
    }
}

/* One type in one graph: both sides and where the merge is. */
struct merge {
    struct neo_cursor sc;
    struct cache_cursor *cc; /* own, or read ahead (sync/prefetch.c) */
    struct cache_cursor own;
    struct verify_count *vc;
    struct fixer *fx; /* reconcile; NULL: verify */
    struct xc_stats st;
    struct sync_item a, b, prevb;
    bool have_prev;
    volatile sig_atomic_t *stop;
    char preva[FP_KEY_CAP];
    char *err;
    size_t errlen;
};

/* A reconcile slice's keys: (after, upto]; upto NULL: every key above after. */
struct key_range {
    const char *after;
    const char *upto;
};

/* The parameters of a slice's queries: {after, upto (unless NULL), g (unless NULL), skip (unless
 * < 0)}. */
static int range_params(struct buf *p, const char *after, const char *upto, const char *group,
                        int64_t skip)
{
    int rc = pack_write_map_header(p, 1 + (upto != NULL) + (group != NULL) + (skip >= 0));
    rc = rc ? rc : pack_write_cstr(p, "after");
    rc = rc ? rc : pack_write_cstr(p, after);
    if (upto) {
        rc = rc ? rc : pack_write_cstr(p, "upto");
        rc = rc ? rc : pack_write_cstr(p, upto);
    }
    if (group) {
        rc = rc ? rc : pack_write_cstr(p, "g");
        rc = rc ? rc : pack_write_cstr(p, group);
    }
    if (skip >= 0) {
        rc = rc ? rc : pack_write_cstr(p, "skip");
        rc = rc ? rc : pack_write_int(p, skip);
    }
    return rc;
}

/* Runs the key-ordered query of type t on the session (rg: only those keys; NULL: all). */
static int source_query(const struct cfg *c, struct bolt_session *bolt, const struct sync_type *t,
                        const char *group, const struct key_range *rg, char *err, size_t errlen)
{
    const struct sync_profile *prof = sync_profile_of(c);
    struct buf q, p;
    buf_init(&q, SYNC_QUERY_CAP);
    buf_init(&p, SYNC_QUERY_CAP);
    int rc = prof->generic ? extract_generic_query(&q, t, c->sync.key_property, true)
             : rg          ? extract_slice_query(&q, t, group != NULL, rg->upto != NULL)
                           : extract_verify_query(&q, t, group != NULL);
    rc = rc   ? rc
         : rg ? range_params(&p, rg->after, rg->upto, group, -1)
              : extract_group_params(&p, NULL, group);
    rc = rc ? rc : bolt_run(bolt, q.data, p.data, p.len, BOLT_MODE_READ);
    buf_deinit(&q);
    buf_deinit(&p);
    if (rc)
        snprintf(err, errlen, "Neo4j: %s", bolt->errstr);
    return rc;
}

/* A key the cache holds twice: every copy goes; the next reconcile (or this item's upsert)
 * restores one. */
static int merge_duplicate(struct merge *m, int *rb)
{
    m->vc->duplicate++;
    m->vc->cache++;
    sample(m->vc, "duplicate", m->b.key);
    int rc = m->fx ? fixer_delete(m->fx, &m->b) : 0;
    *rb = cache_cursor_next(m->cc, &m->b, m->err, m->errlen);
    return rc;
}

/* One step of the merge: compares the current items, fixes (reconcile), advances. */
static int merge_step(struct merge *m, int *ra, int *rb)
{
    if (*rb == 1 && m->have_prev && !sync_keycmp(m->prevb.key, m->b.key))
        return merge_duplicate(m, rb);
    struct verify_count *vc = m->vc;
    int cmp = *ra != 1 ? 1 : *rb != 1 ? -1 : sync_keycmp(m->a.key, m->b.key);
    int rc = 0;
    if (cmp <= 0) {
        vc->source++;
        if (m->a.dropped)
            vc->unrepresentable++;
    }
    if (cmp >= 0) {
        vc->cache++;
        m->prevb = m->b;
        m->have_prev = true;
    }
    if (cmp < 0) {
        vc->missing++;
        sample(vc, "missing", m->a.key);
        rc = m->fx ? fixer_upsert(m->fx, &m->sc, m->a.key, NULL) : 0;
    } else if (cmp > 0) {
        vc->extra++;
        sample(vc, "extra", m->b.key);
        rc = m->fx ? fixer_delete(m->fx, &m->b) : 0;
    } else if (m->a.hash != m->b.hash) {
        vc->different++;
        sample(vc, "different", m->a.key);
        rc = m->fx ? fixer_upsert(m->fx, &m->sc, m->a.key, &m->b) : 0;
    }
    if (rc)
        return rc;
    if (cmp <= 0)
        *ra = src_advance(&m->sc, &m->a, m->preva, &m->st, vc, m->stop, m->err, m->errlen);
    if (cmp >= 0)
        *rb = cache_cursor_next(m->cc, &m->b, m->err, m->errlen);
    return 0;
}

/* Where one type's comparison reads the cache: a cursor read ahead, or its own on fdb (of the
 * items in rg only, when set). */
struct cache_side {
    struct fdb_conn *fdb;
    const struct key_range *rg; /* or NULL */
    struct prefetch *ahead;     /* or NULL; else job's cursor is taken from it */
    int job;
};

static int verify_type(const struct cfg *c, struct bolt_session *bolt,
                       const struct cache_side *side, const char *graph, const char *group,
                       int type, const struct xc_rules *rules, struct verify_count *vc,
                       struct fixer *fx, volatile sig_atomic_t *stop, char *err, size_t errlen)
{
    const struct key_range *rg = side->rg;
    const struct sync_profile *prof = sync_profile_of(c);
    const struct sync_type *t = &prof->types[type];
    const char *kp = c->sync.key_property;
    int rc = source_query(c, bolt, t, group, rg, err, errlen);
    if (rc)
        return rc;
    struct merge *m = calloc(1, sizeof *m);
    if (!m)
        return FS_ENOMEM;
    m->vc = vc;
    m->fx = fx;
    m->err = err;
    m->errlen = errlen;
    m->stop = stop;
    neo_cursor_init(&m->sc, bolt, rules, prof->generic, kp, false);
    m->sc.t = t;
    m->cc = &m->own;
    cache_cursor_init(&m->own, side->fdb, graph, t, prof->generic, kp);
    m->own.stop = stop;
    if (rg) {
        m->own.after = rg->after;
        m->own.upto = rg->upto;
    }
    if (fx)
        fx->type = type;
    int ra = src_advance(&m->sc, &m->a, m->preva, &m->st, vc, stop, err, errlen);
    /* Neo4j has planned, sorted and started streaming while the cache was read ahead */
    int rb =
        ra < 0 || !side->ahead ? 0 : prefetch_take(side->ahead, side->job, &m->cc, err, errlen);
    rb = ra < 0 || rb ? rb : cache_cursor_next(m->cc, &m->b, err, errlen);
    int fix_rc = 0;
    while (!fix_rc && ra >= 0 && rb >= 0 && (ra == 1 || rb == 1)) {
        if (stop && *stop) {
            snprintf(err, errlen, "stopped by a signal");
            fix_rc = FS_ECANCELLED;
            break;
        }
        fix_rc = merge_step(m, &ra, &rb);
    }
    rc = ra < 0 ? ra : rb < 0 ? rb : fix_rc;
    if (!rc && fx)
        rc = fixer_flush(fx);
    if (ra < 0 && !err[0])
        snprintf(err, errlen, "Neo4j: %s", bolt->errstr);
    if (ra >= 0 && !m->sc.done)
        if (bolt_discard(bolt)) {
            /* the session is reset or defunct; the next run reports it */
        }
    neo_cursor_deinit(&m->sc);
    cache_cursor_deinit(&m->own);
    free(m);
    return rc;
}

/* What one comparison holds open. */
struct compare_run {
    const struct cfg *c;
    struct verify_report *rep;
    struct sync_report *srep; /* reconcile; NULL: verify */
    struct bolt_session bolt;
    struct fdb_conn fdb; /* reads */
    struct sync_rules rules;
    struct loader ld; /* reconcile's writes */
    struct fixer fx;
    struct prefetch *ahead;      /* the cache side read ahead (whole passes); or NULL */
    volatile sig_atomic_t *stop; /* or NULL */
};

/* One type of graph g (job g * ntypes + t of the read-ahead), fixed when reconciling. */
static int compare_type(struct compare_run *C, int g, const char *graph, const char *group, int t)
{
    struct verify_report *rep = C->rep;
    struct fixer *fx = C->srep ? &C->fx : NULL;
    int job = g * rep->ntypes + t;
    struct cache_side side = {&C->fdb, NULL, C->ahead, job};
    uint64_t dups = rep->types[t].duplicate, before = verify_differences(rep);
    int rc = verify_type(C->c, &C->bolt, &side, graph, group, t, &C->rules.rules, &rep->types[t],
                         fx, C->stop, rep->error, sizeof rep->error);
    if (!rc && fx && rep->types[t].duplicate > dups) {
        /* The duplicates' copies were all deleted: a second pass restores one. */
        struct verify_count again = {0};
        side.ahead = NULL;
        rc = verify_type(C->c, &C->bolt, &side, graph, group, t, &C->rules.rules, &again, fx,
                         C->stop, rep->error, sizeof rep->error);
    }
    /* A fix may have changed what was read ahead (a deleted node takes its relationships). */
    if (C->ahead)
        prefetch_release(C->ahead, job, fx && verify_differences(rep) != before);
    return rc;
}

/* Every type of graph g. */
static int compare_graph(struct compare_run *C, int g, const char *graph, const char *group)
{
    const struct sync_profile *prof = sync_profile_of(C->c);
    struct verify_report *rep = C->rep;
    int rc = 0;
    if (C->srep) {
        C->ld.graph = graph;
        rc = fixer_ensure_indexes(C->c, &C->bolt, &C->ld.fdb, graph, rep->error, sizeof rep->error);
    }
    for (int t = 0; !rc && t < prof->ntypes; t++)
        rc = compare_type(C, g, graph, group, t);
    return rc;
}

/* Connections, and in per_group layout the groups (reconcile: tracked). */
static int compare_open(struct compare_run *C, char ***groups, int *ngroups)
{
    const struct cfg *c = C->c;
    struct verify_report *rep = C->rep;
    int rc = sync_rules_init(&C->rules, c);
    struct bolt_config bc = sync_bolt_config(c);
    bc.stop = C->stop;
    struct fdb_config fc = sync_fdb_config(c);
    if (!rc && (rc = bolt_connect(&C->bolt, &bc)))
        snprintf(rep->error, sizeof rep->error, "%s", C->bolt.errstr);
    if (!rc && (rc = fdb_connect(&C->fdb, &fc)))
        snprintf(rep->error, sizeof rep->error, "%s", C->fdb.errstr);
    if (!rc && C->srep)
        rc = fixer_open(&C->fx, &C->ld, c, &C->rules, C->srep, &fc, rep->error, sizeof rep->error);
    if (rc || c->falkordb.layout != CFG_LAYOUT_PER_GROUP)
        return rc;
    if ((rc = sync_list_groups(&C->bolt, groups, ngroups)))
        snprintf(rep->error, sizeof rep->error, "Neo4j: %s", C->bolt.errstr);
    if (!rc && C->srep && (rc = sync_track_groups(c, &C->fdb, *groups, *ngroups, C->srep)))
        snprintf(rep->error, sizeof rep->error, "FalkorDB: %s", C->fdb.errstr);
    return rc;
}

/* A comparison's report set up and its connections opened (groups listed in per_group);
 * NULL only when out of memory. Error in rep->error (returned in *rc). */
static struct compare_run *compare_new(const struct cfg *c, struct verify_report *rep,
                                       struct sync_report *srep, volatile sig_atomic_t *stop,
                                       char ***groups, int *ngroups, int *rc)
{
    memset(rep, 0, sizeof *rep);
    const struct sync_profile *prof = sync_profile_of(c);
    rep->ntypes = prof->ntypes;
    for (int t = 0; t < prof->ntypes; t++)
        rep->types[t].name = prof->types[t].name;
    *groups = NULL;
    *ngroups = 0;
    struct compare_run *C = calloc(1, sizeof *C);
    if (!C) {
        snprintf(rep->error, sizeof rep->error, "%s", fs_strerror(FS_ENOMEM));
        *rc = FS_ENOMEM;
        return NULL;
    }
    C->c = c;
    C->rep = rep;
    C->srep = srep;
    C->stop = stop;
    bolt_init(&C->bolt);
    fdb_init(&C->fdb);
    fdb_init(&C->ld.fdb);
    *rc = compare_open(C, groups, ngroups);
    return C;
}

/* Closes what compare_new opened; returns rc, with the error text in both reports. */
static int compare_free(struct compare_run *C, char **groups, int ngroups, int rc)
{
    struct verify_report *rep = C->rep;
    struct sync_report *srep = C->srep;
    if (srep) {
        rc = loader_out_of_memory(&C->ld, rc, "reconcile", srep->error, sizeof srep->error);
        if (rc == FS_EFDB_OOM)
            snprintf(rep->error, sizeof rep->error, "%s", srep->error);
        fixer_close(&C->fx);
        if (rc && !srep->error[0])
            snprintf(srep->error, sizeof srep->error, "%s", rep->error);
        else if (srep->error[0] && !rep->error[0])
            snprintf(rep->error, sizeof rep->error, "%s", srep->error);
        int ro = sync_replicas_readonly(&C->ld.fdb, rc, srep->error, sizeof srep->error);
        ro = ro != rc ? ro : sync_replicas_readonly(&C->fdb, rc, srep->error, sizeof srep->error);
        if (ro != rc) {
            rc = ro;
            snprintf(rep->error, sizeof rep->error, "%s", srep->error);
        }
        /* fixes go through the loader, deleted graphs through the other connection */
        struct fdb_conn *wrote_on[2] = {&C->ld.fdb, &C->fdb};
        sync_replicas_wait(C->c, wrote_on, 2, !rc && srep->upserted + srep->deleted > 0, srep);
    }
    prefetch_free(C->ahead);
    sync_groups_free(groups, ngroups);
    sync_rules_deinit(&C->rules);
    bolt_close(&C->bolt);
    fdb_close(&C->fdb);
    fdb_close(&C->ld.fdb);
    free(C->ld.ring);
    free(C);
    if (rc && !rep->error[0])
        snprintf(rep->error, sizeof rep->error, "%s", fs_strerror(rc));
    return rc;
}

/* verify (srep == NULL) or reconcile (srep != NULL: fix what differs). */
static int compare(const struct cfg *c, struct verify_report *rep, struct sync_report *srep,
                   volatile sig_atomic_t *stop)
{
    double t0 = sync_now();
    char **groups;
    int ngroups, rc;
    struct compare_run *C = compare_new(c, rep, srep, stop, &groups, &ngroups, &rc);
    if (!C)
        return rc;
    if (!rc) { /* FalkorDB is read ahead on its own connection while Neo4j streams */
        struct fdb_config fc = sync_fdb_config(c);
        C->ahead = prefetch_new(c, &fc, groups, ngroups, stop, &rc, rep->error, sizeof rep->error);
    }
    for (int g = 0; !rc && g < sync_target_count(c, ngroups); g++) {
        char graph[SYNC_GRAPH_CAP];
        const char *group = sync_target(c, groups, g, graph, sizeof graph);
        rc = compare_graph(C, g, graph, group);
        rep->graphs++;
    }
    if (!rc && srep && (rc = sync_layout_cleanup(c, &C->fdb, groups, ngroups, srep)))
        snprintf(rep->error, sizeof rep->error, "FalkorDB: %s", C->fdb.errstr);
    if (!rc && !srep && (rc = sync_layout_verify_stale(c, &C->fdb, groups, ngroups, rep)))
        snprintf(rep->error, sizeof rep->error, "FalkorDB: %s", C->fdb.errstr);
    rc = compare_free(C, groups, ngroups, rc);
    rep->seconds = sync_now() - t0;
    return rc;
}

/* ---- reconcile slices (serve) ------------------------------------------- */

/* Items per chunk of a slice: a slice runs chunks until its budget is spent. */
#define SLICE_CHUNK 500

/* Where the next chunk of type t above after ends: *last when the rest of the type fits in one
 * chunk, else upto (STATE_KEY_CAP bytes) = its last key. An index-only Neo4j query. */
static int slice_bound(struct compare_run *C, const struct sync_type *t, const char *group,
                       const char *after, char *upto, bool *last)
{
    struct buf q, p;
    buf_init(&q, SYNC_QUERY_CAP);
    buf_init(&p, SYNC_QUERY_CAP);
    int rc = extract_slice_bound_query(&q, t, group != NULL);
    rc = rc ? rc : range_params(&p, after, NULL, group, SLICE_CHUNK - 1);
    rc = rc ? rc : bolt_run(&C->bolt, q.data, p.data, p.len, BOLT_MODE_READ);
    buf_deinit(&q);
    buf_deinit(&p);
    *last = true;
    struct bolt_record rec;
    int more;
    while (!rc && (more = bolt_next(&C->bolt, &rec)) == 1) {
        struct pack_reader r;
        struct pack_item it;
        pack_reader_init(&r, rec.data, rec.len);
        if (pack_read_item(&r, &it) || pack_read_item(&r, &it) || it.kind != FS_VALUE_STRING ||
            it.size >= STATE_KEY_CAP)
            continue;
        memcpy(upto, it.data, it.size);
        upto[it.size] = '\0';
        *last = false;
    }
    if (!rc && more < 0)
        rc = more;
    if (rc)
        snprintf(C->rep->error, sizeof C->rep->error, "Neo4j: %s", C->bolt.errstr);
    return rc;
}

/* One chunk of the pass at pos: compares and fixes it, then moves pos past it. */
static int slice_chunk(struct compare_run *C, struct state_slice *pos, const char *graph,
                       const char *group)
{
    const struct sync_profile *prof = sync_profile_of(C->c);
    struct verify_report *rep = C->rep;
    struct verify_count *vc = &rep->types[pos->type];
    char upto[STATE_KEY_CAP];
    bool last;
    int rc = slice_bound(C, &prof->types[pos->type], group, pos->after, upto, &last);
    if (rc)
        return rc;
    struct key_range rg = {pos->after, last ? NULL : upto};
    uint64_t before = verify_differences(rep), source = vc->source, dups = vc->duplicate;
    struct cache_side side = {&C->fdb, &rg, NULL, 0};
    rc = verify_type(C->c, &C->bolt, &side, graph, group, pos->type, &C->rules.rules, vc, &C->fx,
                     C->stop, rep->error, sizeof rep->error);
    if (!rc && vc->duplicate > dups) { /* the copies went: a second look restores one */
        struct verify_count again = {0};
        rc = verify_type(C->c, &C->bolt, &side, graph, group, pos->type, &C->rules.rules, &again,
                         &C->fx, C->stop, rep->error, sizeof rep->error);
    }
    if (rc)
        return rc;
    pos->checked += vc->source - source;
    pos->fixed += verify_differences(rep) - before;
    if (!last) {
        snprintf(pos->after, sizeof pos->after, "%s", upto);
        return 0;
    }
    pos->after[0] = '\0'; /* the type is done: the next one, or the next graph */
    if (++pos->type >= prof->ntypes) {
        pos->type = 0;
        pos->graph++;
    }
    return 0;
}

/* Puts pos on a graph of this run's list: per_group, the graph of its group (groups come
 * sorted; a group gone since: the next one, from its first type). */
static void slice_find_graph(const struct cfg *c, struct state_slice *pos, char **groups,
                             int ngroups)
{
    if (c->falkordb.layout != CFG_LAYOUT_PER_GROUP || !pos->group[0] ||
        (pos->graph < ngroups && !strcmp(groups[pos->graph], pos->group)))
        return;
    int g = 0;
    while (g < ngroups && strcmp(groups[g], pos->group) < 0)
        g++;
    if (g >= ngroups || strcmp(groups[g], pos->group)) {
        pos->type = 0;
        pos->after[0] = '\0';
    }
    pos->graph = g;
}

/* A new pass at pos, keeping the totals and the last pass's figures. */
static void slice_begin_pass(struct state_slice *pos)
{
    pos->active = true;
    pos->graph = pos->type = 0;
    pos->group[0] = pos->after[0] = '\0';
    pos->started_at = sync_wall_now();
    pos->busy_seconds = 0;
    pos->checked = pos->fixed = 0;
}

/* The chunks of one slice, until the budget is spent or the pass ends. */
static int slice_run(struct compare_run *C, struct state_slice *pos, char **groups, int ngroups,
                     double budget, const char *key)
{
    const struct cfg *c = C->c;
    double t0 = sync_now();
    int rc = 0;
    while (!rc) {
        double c0 = sync_now();
        if (pos->graph >= sync_target_count(c, ngroups)) {
            if ((rc = sync_layout_cleanup(c, &C->fdb, groups, ngroups, C->srep)))
                snprintf(C->rep->error, sizeof C->rep->error, "FalkorDB: %s", C->fdb.errstr);
            pos->active = false;
            pos->passes++;
            pos->last_finished_at = sync_wall_now();
            pos->last_seconds = pos->last_finished_at - pos->started_at;
            pos->last_busy_seconds = pos->busy_seconds + (sync_now() - c0);
            pos->last_checked = pos->checked;
            pos->last_fixed = pos->fixed;
        } else {
            char graph[SYNC_GRAPH_CAP];
            const char *group = sync_target(c, groups, pos->graph, graph, sizeof graph);
            snprintf(pos->group, sizeof pos->group, "%s", group ? group : "");
            C->ld.graph = graph;
            if (!pos->type && !pos->after[0])
                rc = fixer_ensure_indexes(c, &C->bolt, &C->ld.fdb, graph, C->rep->error,
                                          sizeof C->rep->error);
            rc = rc ? rc : slice_chunk(C, pos, graph, group);
            C->rep->graphs = pos->graph + 1;
        }
        if (rc)
            break;
        pos->busy_seconds += sync_now() - c0;
        rc = state_slice_write(&C->fdb, key, pos, C->rep->error, sizeof C->rep->error);
        if (!pos->active || sync_now() - t0 >= budget)
            break;
    }
    return rc;
}

int sync_reconcile_slice(const struct cfg *c, double budget_seconds, struct state_slice *pos,
                         struct verify_report *found, struct sync_report *done,
                         volatile sig_atomic_t *stop)
{
    memset(done, 0, sizeof *done);
    double t0 = sync_now();
    char **groups;
    int ngroups, rc;
    struct compare_run *C = compare_new(c, found, done, stop, &groups, &ngroups, &rc);
    if (!C)
        return rc;
    char key[SYNC_KEY_NAME_CAP];
    sync_reconcile_key(c, key, sizeof key);
    if (!rc)
        rc = state_slice_read(&C->fdb, key, pos, found->error, sizeof found->error);
    if (!rc) {
        if (!pos->active || pos->type >= found->ntypes)
            slice_begin_pass(pos);
        slice_find_graph(c, pos, groups, ngroups);
        pos->slices++;
        rc = slice_run(C, pos, groups, ngroups, budget_seconds, key);
    }
    rc = compare_free(C, groups, ngroups, rc);
    found->seconds = done->seconds = sync_now() - t0;
    done->graphs = found->graphs;
    return rc;
}

int sync_verify(const struct cfg *c, struct verify_report *rep)
{
    return compare(c, rep, NULL, NULL);
}

int sync_reconcile(const struct cfg *c, struct verify_report *found, struct sync_report *done)
{
    return sync_reconcile_stoppable(c, found, done, NULL);
}

int sync_reconcile_stoppable(const struct cfg *c, struct verify_report *found,
                             struct sync_report *done, volatile sig_atomic_t *stop)
{
    memset(done, 0, sizeof *done);
    double t0 = sync_now();
    int rc = compare(c, found, done, stop);
    done->seconds = sync_now() - t0;
    done->graphs = found->graphs;
    return rc;
}

uint64_t verify_differences(const struct verify_report *rep)
{
    uint64_t n = 0;
    for (int i = 0; i < rep->ntypes; i++)
        n += rep->types[i].missing + rep->types[i].extra + rep->types[i].different +
             rep->types[i].duplicate;
    return n;
}

static json_t *type_json(const struct verify_count *v)
{
    json_t *o = json_object();
    json_object_set_new(o, "source", sync_json_count(v->source));
    json_object_set_new(o, "cache", sync_json_count(v->cache));
    json_object_set_new(o, "missing", sync_json_count(v->missing));
    json_object_set_new(o, "extra", sync_json_count(v->extra));
    json_object_set_new(o, "different", sync_json_count(v->different));
    json_object_set_new(o, "duplicate", sync_json_count(v->duplicate));
    json_object_set_new(o, "unrepresentable", sync_json_count(v->unrepresentable));
    json_t *s = json_array();
    for (int i = 0; i < v->nsamples; i++)
        json_array_append_new(s, sync_json_text(v->samples[i]));
    json_object_set_new(o, "samples", s);
    return o;
}

static void print_json(const struct verify_report *rep, FILE *out)
{
    uint64_t diff = verify_differences(rep);
    json_t *o = json_object();
    json_object_set_new(o, "ok", json_boolean(!diff && !rep->error[0]));
    json_object_set_new(o, "differences", sync_json_count(diff));
    json_object_set_new(o, "graphs", json_integer(rep->graphs));
    json_object_set_new(o, "seconds", json_real(round(rep->seconds * 1000) / 1000));
    if (rep->error[0])
        json_object_set_new(o, "error", sync_json_text(rep->error));
    json_t *types = json_object();
    for (int i = 0; i < rep->ntypes; i++)
        json_object_set_new(types, rep->types[i].name, type_json(&rep->types[i]));
    json_object_set_new(o, "types", types);
    sync_json_print(o, out);
}

void verify_print(const struct verify_report *rep, bool json, FILE *out)
{
    if (json) {
        print_json(rep, out);
        return;
    }
    uint64_t diff = verify_differences(rep);
    fprintf(out, "%-13s %10s %10s %8s %8s %9s %9s %7s\n", "type", "neo4j", "falkordb", "missing",
            "extra", "different", "duplicate", "unrepr");
    for (int i = 0; i < rep->ntypes; i++) {
        const struct verify_count *v = &rep->types[i];
        fprintf(out,
                "%-13s %10" PRIu64 " %10" PRIu64 " %8" PRIu64 " %8" PRIu64 " %9" PRIu64 " %9" PRIu64
                " %7" PRIu64 "%s",
                v->name, v->source, v->cache, v->missing, v->extra, v->different, v->duplicate,
                v->unrepresentable, v->nsamples ? "  e.g." : "");
        for (int s = 0; s < v->nsamples; s++)
            fprintf(out, " %s", v->samples[s]);
        fputc('\n', out);
    }
    if (rep->error[0])
        fprintf(out, "verify failed: %s\n", rep->error);
    else
        fprintf(out, "%s: %" PRIu64 " difference%s in %d graph%s (%.1f s)\n",
                diff ? "DIFFERENT" : "IN SYNC", diff, diff == 1 ? "" : "s", rep->graphs,
                rep->graphs == 1 ? "" : "s", rep->seconds);
}
