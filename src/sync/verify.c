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

/* Graphs compared with one Neo4j stream. In per_group layout, a set of up to FAN groups is
 * read from Neo4j by one query per type that returns each item's group, and every row goes
 * to its group's merge: Neo4j walks a type once for the set, where a query per group walked
 * every group's keys to keep its own (no index serves the group filter in key order). */
#define FAN PREFETCH_FAN

/* One graph's side of the comparison of one type. */
struct side {
    struct cache_cursor *cc; /* own, or read ahead (sync/prefetch.c) */
    struct cache_cursor own;
    struct sync_item b, prevb;
    bool have_prev;
    int rb;                 /* what cache_cursor_next last returned: 1, 0 (the end) */
    char preva[FP_KEY_CAP]; /* the last source key of this graph */
    const char *group;      /* NULL: the only graph (single layout) */
    size_t glen;
    struct fixer *fx; /* reconcile; NULL: verify */
};

/* One type over a set of graphs: the Neo4j stream and where each graph's merge is. */
struct merge {
    struct neo_cursor sc;
    struct sync_item a;
    char preva[FP_KEY_CAP]; /* the stream's last key */
    struct xc_stats st;
    struct verify_count *vc;
    volatile sig_atomic_t *stop;
    char *err;
    size_t errlen;
    int n;
    struct side s[FAN];
};

static int stopped(struct merge *m)
{
    snprintf(m->err, m->errlen, "stopped by a signal");
    return FS_ECANCELLED;
}

/* The next source item, checked to come in key order: a key smaller than the previous one
 * means Neo4j ordered differently (an error: the merge would be wrong). Items the cache
 * cannot hold are counted and skipped. */
static int src_advance(struct merge *m)
{
    struct neo_cursor *sc = &m->sc;
    for (;;) {
        if (m->stop && *m->stop) /* a long run of rows the merge skips */
            return stopped(m);
        int ra = neo_cursor_next(sc, &m->a, &m->st);
        if (ra != 1)
            return ra;
        if (m->preva[0] && sync_keycmp(m->preva, m->a.key) > 0) {
            snprintf(m->err, m->errlen,
                     "Neo4j streamed %s keys out of byte order (\"%.100s\" after \"%.100s\"); "
                     "the comparison cannot go on",
                     sc->t->name, m->a.key, m->preva);
            return FS_EPROTOCOL;
        }
        fp_key_copy(m->preva, m->a.key);
        if (!m->a.absent)
            return 1;
        m->vc->source++;
        m->vc->unrepresentable++;
        sample(m->vc, "unrepresentable", m->a.key);
    }
}

/* The graph the current source item belongs to, or NULL (a group outside the set). */
static struct side *side_of(struct merge *m)
{
    if (!m->s[0].group)
        return &m->s[0];
    const struct extract_cols *k = &m->sc.cols;
    for (int i = 0; k->group && i < m->n; i++)
        if (m->s[i].glen == k->glen && !memcmp(m->s[i].group, k->group, k->glen))
            return &m->s[i];
    return NULL;
}

/* Steps s's cache side past its items below key (every item left when key is NULL): extra
 * items, and second copies of a key (every copy goes; the next reconcile, or this item's
 * upsert, restores one). */
static int side_below(struct merge *m, struct side *s, const char *key)
{
    struct verify_count *vc = m->vc;
    while (s->rb == 1) {
        if (m->stop && *m->stop)
            return stopped(m);
        int rc = 0;
        if (s->have_prev && !sync_keycmp(s->prevb.key, s->b.key)) {
            vc->duplicate++;
            vc->cache++;
            sample(vc, "duplicate", s->b.key);
            rc = s->fx ? fixer_delete(s->fx, &s->b) : 0;
        } else if (key && sync_keycmp(s->b.key, key) >= 0) {
            return 0;
        } else {
            vc->cache++;
            vc->extra++;
            sample(vc, "extra", s->b.key);
            s->prevb = s->b;
            s->have_prev = true;
            rc = s->fx ? fixer_delete(s->fx, &s->b) : 0;
        }
        if (rc)
            return rc;
        s->rb = cache_cursor_next(s->cc, &s->b, m->err, m->errlen);
    }
    return s->rb < 0 ? s->rb : 0;
}

/* The current source item against its graph's cache side: matched, different or missing
 * (fixed when reconciling). */
static int merge_source(struct merge *m, struct side *s)
{
    struct verify_count *vc = m->vc;
    vc->source++;
    if (s->preva[0] && !sync_keycmp(s->preva, m->a.key)) {
        /* a second Neo4j item with this key in this graph: the cache holds one per key */
        vc->unrepresentable++;
        sample(vc, "neo4j_duplicate", m->a.key);
        return 0;
    }
    fp_key_copy(s->preva, m->a.key);
    int rc = side_below(m, s, m->a.key);
    if (rc)
        return rc;
    if (m->a.dropped)
        vc->unrepresentable++;
    if (s->rb != 1 || sync_keycmp(s->b.key, m->a.key)) {
        vc->missing++;
        sample(vc, "missing", m->a.key);
        return s->fx ? fixer_upsert(s->fx, &m->sc, m->a.key, NULL) : 0;
    }
    vc->cache++;
    s->prevb = s->b;
    s->have_prev = true;
    if (m->a.hash != s->b.hash) {
        vc->different++;
        sample(vc, "different", m->a.key);
        rc = s->fx ? fixer_upsert(s->fx, &m->sc, m->a.key, &s->b) : 0;
    }
    if (!rc)
        s->rb = cache_cursor_next(s->cc, &s->b, m->err, m->errlen);
    return rc ? rc : s->rb < 0 ? s->rb : 0;
}

/* What one comparison holds open. */
struct compare_run {
    const struct cfg *c;
    struct verify_report *rep;
    struct sync_report *srep; /* reconcile; NULL: verify */
    struct bolt_session bolt;
    struct fdb_conn fdb; /* reads */
    struct sync_rules rules;
    struct loader ld;            /* reconcile's writes */
    struct fixer fx[FAN];        /* reconcile: one per graph of a set, on the one loader */
    int nfx;                     /* those set up */
    struct prefetch *ahead;      /* the cache side read ahead (whole passes); or NULL */
    int job;                     /* the read-ahead's job of the set's first graph and this type */
    volatile sig_atomic_t *stop; /* or NULL */
    char **groups;               /* per_group: the groups (sorted) */
    int ngroups;
    int fan; /* graphs per set: FAN in per_group, 1 in single */
    /* the set being compared: graphs g0 .. g0 + n - 1 of sync_target */
    int g0, n;
    const char *set_group[FAN];
    char graph[FAN][SYNC_GRAPH_CAP];
    /* each graph's label, type and property-key lists, for its cursors one after another
     * (a slice's chunks; ids only grow); lists_of: the graph they are of */
    struct cache_lists lists[FAN];
    char lists_of[FAN][SYNC_GRAPH_CAP];
};

/* Makes graphs g0 .. (up to C->fan of them) the set being compared. */
static void set_open(struct compare_run *C, int g0)
{
    int count = sync_target_count(C->c, C->ngroups);
    C->g0 = g0;
    C->n = count - g0 < C->fan ? count - g0 : C->fan;
    for (int i = 0; i < C->n; i++) {
        C->set_group[i] = sync_target(C->c, C->groups, g0 + i, C->graph[i], sizeof C->graph[i]);
        if (strcmp(C->lists_of[i], C->graph[i])) {
            cache_lists_clear(&C->lists[i]);
            snprintf(C->lists_of[i], sizeof C->lists_of[i], "%s", C->graph[i]);
        }
    }
    C->ld.graph = C->graph[0];
}

/* A reconcile slice's keys: (after, upto]; upto NULL: every key above after. */
struct key_range {
    const char *after;
    const char *upto;
};

/* The parameters of the set's queries: {after, upto (rg: a slice), gs (per_group: the set's
 * groups), skip (unless < 0)}. */
static int set_params(struct buf *p, const struct compare_run *C, const struct key_range *rg,
                      int64_t skip)
{
    bool by = C->set_group[0] != NULL;
    int rc = pack_write_map_header(p, (rg ? 1 + (rg->upto != NULL) : 0) + by + (skip >= 0));
    if (rg) {
        rc = rc ? rc : pack_write_cstr(p, "after");
        rc = rc ? rc : pack_write_cstr(p, rg->after);
    }
    if (rg && rg->upto) {
        rc = rc ? rc : pack_write_cstr(p, "upto");
        rc = rc ? rc : pack_write_cstr(p, rg->upto);
    }
    if (by) {
        rc = rc ? rc : pack_write_cstr(p, "gs");
        rc = rc ? rc : pack_write_list_header(p, (uint32_t)C->n);
        for (int i = 0; !rc && i < C->n; i++)
            rc = pack_write_cstr(p, C->set_group[i]);
    }
    if (skip >= 0) {
        rc = rc ? rc : pack_write_cstr(p, "skip");
        rc = rc ? rc : pack_write_int(p, skip);
    }
    return rc;
}

/* Runs the key-ordered query of type t over the set (rg: only those keys; NULL: all). */
static int source_query(struct compare_run *C, const struct sync_type *t,
                        const struct key_range *rg)
{
    const struct cfg *c = C->c;
    const struct sync_profile *prof = sync_profile_of(c);
    bool by = C->set_group[0] != NULL;
    struct buf q, p;
    buf_init(&q, SYNC_QUERY_CAP);
    buf_init(&p, SYNC_QUERY_CAP);
    int rc = prof->generic ? extract_generic_query(&q, t, c->sync.key_property, true)
             : rg          ? extract_slice_query(&q, t, by, rg->upto != NULL)
                           : extract_verify_query(&q, t, by);
    rc = rc ? rc : set_params(&p, C, rg, -1);
    rc = rc ? rc : bolt_run(&C->bolt, q.data, p.data, p.len, BOLT_MODE_READ);
    buf_deinit(&q);
    buf_deinit(&p);
    if (rc)
        snprintf(C->rep->error, sizeof C->rep->error, "Neo4j: %s", C->bolt.errstr);
    return rc;
}

/* Sets up m for type over the set: each graph's cache cursor (its own, of the keys in rg
 * when set) and fixer. */
static void merge_init(struct merge *m, struct compare_run *C, int type, const struct key_range *rg,
                       struct verify_count *vc)
{
    const struct sync_profile *prof = sync_profile_of(C->c);
    const struct sync_type *t = &prof->types[type];
    const char *kp = C->c->sync.key_property;
    m->vc = vc;
    m->err = C->rep->error;
    m->errlen = sizeof C->rep->error;
    m->stop = C->stop;
    m->n = C->n;
    neo_cursor_init(&m->sc, &C->bolt, &C->rules.rules, prof->generic, kp, false);
    m->sc.t = t;
    for (int i = 0; i < m->n; i++) {
        struct side *s = &m->s[i];
        s->group = C->set_group[i];
        s->glen = s->group ? strlen(s->group) : 0;
        s->cc = &s->own;
        cache_cursor_init(&s->own, &C->fdb, C->graph[i], t, prof->generic, kp);
        cache_cursor_share(&s->own, m->n);
        cache_cursor_use_lists(&s->own, &C->lists[i]);
        s->own.stop = C->stop;
        if (rg) {
            s->own.after = rg->after;
            s->own.upto = rg->upto;
        }
        if (C->srep) {
            s->fx = &C->fx[i];
            s->fx->type = type;
            s->fx->graph = C->graph[i];
        }
    }
}

/* Type over the set: Neo4j's stream merged with each graph's cache side, fixed when
 * reconciling. ahead: the cache cursors are the read-ahead's (jobs C->job ...). */
static int verify_set(struct compare_run *C, int type, const struct key_range *rg,
                      struct verify_count *vc, bool ahead)
{
    const struct sync_type *t = &sync_profile_of(C->c)->types[type];
    int rc = source_query(C, t, rg);
    if (rc)
        return rc;
    struct merge *m = calloc(1, sizeof *m);
    if (!m)
        return FS_ENOMEM;
    merge_init(m, C, type, rg, vc);
    int ra = src_advance(m);
    /* Neo4j has planned, sorted and started streaming while the cache was read ahead */
    rc = ra < 0 ? ra : 0;
    for (int i = 0; !rc && i < m->n; i++) {
        struct side *s = &m->s[i];
        if (ahead)
            rc = prefetch_take(C->ahead, C->job + i, &s->cc, m->err, m->errlen);
        s->rb = rc ? 0 : cache_cursor_next(s->cc, &s->b, m->err, m->errlen);
        rc = rc ? rc : s->rb < 0 ? s->rb : 0;
    }
    while (!rc && ra == 1) {
        struct side *s = side_of(m);
        rc = !s ? 0 : merge_source(m, s);
        ra = rc ? ra : src_advance(m);
        rc = rc ? rc : ra < 0 ? ra : 0;
    }
    for (int i = 0; !rc && i < m->n; i++)
        rc = side_below(m, &m->s[i], NULL);
    for (int i = 0; !rc && C->srep && i < m->n; i++)
        rc = fixer_flush(m->s[i].fx);
    if (ra < 0 && !m->err[0])
        snprintf(m->err, m->errlen, "Neo4j: %s", C->bolt.errstr);
    if (ra >= 0 && !m->sc.done)
        if (bolt_discard(&C->bolt)) {
            /* the session is reset or defunct; the next run reports it */
        }
    neo_cursor_deinit(&m->sc);
    for (int i = 0; i < m->n; i++)
        cache_cursor_deinit(&m->s[i].own);
    free(m);
    return rc;
}

/* One type of the set, fixed when reconciling. */
static int compare_type(struct compare_run *C, int t)
{
    struct verify_report *rep = C->rep;
    bool fix = C->srep != NULL;
    uint64_t dups = rep->types[t].duplicate, before = verify_differences(rep);
    int rc = verify_set(C, t, NULL, &rep->types[t], C->ahead != NULL);
    if (!rc && fix && rep->types[t].duplicate > dups) {
        /* The duplicates' copies were all deleted: a second pass restores one. */
        struct verify_count again = {0};
        rc = verify_set(C, t, NULL, &again, false);
    }
    /* A fix may have changed what was read ahead (a deleted node takes its relationships). */
    if (C->ahead)
        prefetch_release(C->ahead, C->job + C->n - 1, fix && verify_differences(rep) != before);
    C->job += C->n;
    return rc;
}

/* The range and full-text indexes on every graph of the set (reconcile). */
static int set_indexes(struct compare_run *C)
{
    int rc = 0;
    for (int i = 0; !rc && i < C->n; i++)
        rc = fixer_ensure_indexes(C->c, &C->bolt, &C->ld.fdb, C->graph[i], C->rep->error,
                                  sizeof C->rep->error);
    return rc;
}

/* Every type of the set of graphs from g0. */
static int compare_set(struct compare_run *C, int g0)
{
    const struct sync_profile *prof = sync_profile_of(C->c);
    set_open(C, g0);
    int rc = C->srep ? set_indexes(C) : 0;
    for (int t = 0; !rc && t < prof->ntypes; t++)
        rc = compare_type(C, t);
    C->rep->graphs += C->n;
    return rc;
}

/* Connections, and in per_group layout the groups (reconcile: tracked). */
static int compare_open(struct compare_run *C)
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
    if (!rc && C->srep) {
        rc = fixer_open(&C->fx[0], &C->ld, c, &C->rules, C->srep, &fc, rep->error,
                        sizeof rep->error);
        C->nfx = 1;
        for (; C->nfx < C->fan; C->nfx++)
            fixer_like(&C->fx[C->nfx], &C->fx[0], NULL);
    }
    if (rc || c->falkordb.layout != CFG_LAYOUT_PER_GROUP)
        return rc;
    if ((rc = sync_list_groups(&C->bolt, &C->groups, &C->ngroups)))
        snprintf(rep->error, sizeof rep->error, "Neo4j: %s", C->bolt.errstr);
    if (!rc && C->srep && (rc = sync_track_groups(c, &C->fdb, C->groups, C->ngroups, C->srep)))
        snprintf(rep->error, sizeof rep->error, "FalkorDB: %s", C->fdb.errstr);
    return rc;
}

/* A comparison's report set up and its connections opened (groups listed in per_group);
 * NULL only when out of memory. Error in rep->error (returned in *rc). */
static struct compare_run *compare_new(const struct cfg *c, struct verify_report *rep,
                                       struct sync_report *srep, volatile sig_atomic_t *stop,
                                       int *rc)
{
    memset(rep, 0, sizeof *rep);
    const struct sync_profile *prof = sync_profile_of(c);
    rep->ntypes = prof->ntypes;
    for (int t = 0; t < prof->ntypes; t++)
        rep->types[t].name = prof->types[t].name;
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
    C->fan = c->falkordb.layout == CFG_LAYOUT_PER_GROUP ? FAN : 1;
    bolt_init(&C->bolt);
    fdb_init(&C->fdb);
    fdb_init(&C->ld.fdb);
    *rc = compare_open(C);
    return C;
}

/* Closes what compare_new opened; returns rc, with the error text in both reports. */
static int compare_free(struct compare_run *C, int rc)
{
    struct verify_report *rep = C->rep;
    struct sync_report *srep = C->srep;
    if (srep) {
        rc = loader_out_of_memory(&C->ld, rc, "reconcile", srep->error, sizeof srep->error);
        if (rc == FS_EFDB_OOM)
            snprintf(rep->error, sizeof rep->error, "%s", srep->error);
        for (int i = 0; i < C->nfx; i++)
            fixer_close(&C->fx[i]);
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
    for (int i = 0; i < FAN; i++)
        cache_lists_clear(&C->lists[i]);
    sync_groups_free(C->groups, C->ngroups);
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
    int rc;
    struct compare_run *C = compare_new(c, rep, srep, stop, &rc);
    if (!C)
        return rc;
    if (!rc) { /* FalkorDB is read ahead on its own connection while Neo4j streams */
        struct fdb_config fc = sync_fdb_config(c);
        C->ahead = prefetch_new(c, &fc, C->groups, C->ngroups, C->fan, stop, &rc, rep->error,
                                sizeof rep->error);
    }
    for (int g0 = 0; !rc && g0 < sync_target_count(c, C->ngroups); g0 += C->fan)
        rc = compare_set(C, g0);
    if (!rc && srep && (rc = sync_layout_cleanup(c, &C->fdb, C->groups, C->ngroups, srep)))
        snprintf(rep->error, sizeof rep->error, "FalkorDB: %s", C->fdb.errstr);
    if (!rc && !srep && (rc = sync_layout_verify_stale(c, &C->fdb, C->groups, C->ngroups, rep)))
        snprintf(rep->error, sizeof rep->error, "FalkorDB: %s", C->fdb.errstr);
    rc = compare_free(C, rc);
    rep->seconds = sync_now() - t0;
    return rc;
}

/* ---- reconcile slices (serve) ------------------------------------------- */

/* Items per chunk of a slice: a slice runs chunks until its budget is spent. */
#define SLICE_CHUNK 500

/* Where the next chunk of type t above after ends, over the set: *last when the rest of the
 * type fits in one chunk, else upto (STATE_KEY_CAP bytes) = its last key. An index-only Neo4j
 * query. */
static int slice_bound(struct compare_run *C, const struct sync_type *t, const char *after,
                       char *upto, bool *last)
{
    struct buf q, p;
    buf_init(&q, SYNC_QUERY_CAP);
    buf_init(&p, SYNC_QUERY_CAP);
    struct key_range above = {after, NULL};
    int rc = extract_slice_bound_query(&q, t, C->set_group[0] != NULL);
    rc = rc ? rc : set_params(&p, C, &above, SLICE_CHUNK - 1);
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

/* One chunk of the pass at pos (over the set open): compares and fixes it, then moves pos
 * past it. */
static int slice_chunk(struct compare_run *C, struct state_slice *pos)
{
    const struct sync_profile *prof = sync_profile_of(C->c);
    struct verify_report *rep = C->rep;
    struct verify_count *vc = &rep->types[pos->type];
    char upto[STATE_KEY_CAP];
    bool last;
    int rc = slice_bound(C, &prof->types[pos->type], pos->after, upto, &last);
    if (rc)
        return rc;
    struct key_range rg = {pos->after, last ? NULL : upto};
    uint64_t before = verify_differences(rep), source = vc->source, dups = vc->duplicate;
    rc = verify_set(C, pos->type, &rg, vc, false);
    if (!rc && vc->duplicate > dups) { /* the copies went: a second look restores one */
        struct verify_count again = {0};
        rc = verify_set(C, pos->type, &rg, &again, false);
    }
    if (rc)
        return rc;
    pos->checked += vc->source - source;
    pos->fixed += verify_differences(rep) - before;
    if (!last) {
        snprintf(pos->after, sizeof pos->after, "%s", upto);
        return 0;
    }
    pos->after[0] = '\0'; /* the type is done: the next one, or the next set of graphs */
    if (++pos->type >= prof->ntypes) {
        pos->type = 0;
        pos->graph += C->n;
        /* the group where the pass resumes: left at the set just done, the next slice would
         * find that set again by its name (slice_find_graph) and compare it once more */
        bool by = C->set_group[0] != NULL && pos->graph < C->ngroups;
        snprintf(pos->group, sizeof pos->group, "%s", by ? C->groups[pos->graph] : "");
    }
    return 0;
}

/* Puts pos on a graph of this run's list: per_group, the graph of its group (the first of
 * its set; groups come sorted; a group gone since: the next one, from its first type). */
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

/* The chunks of one slice, until the budget is spent or the pass ends. A chunk covers the
 * set of graphs that starts at pos->graph (per_group: up to FAN groups, read from Neo4j in
 * one query). */
static int slice_run(struct compare_run *C, struct state_slice *pos, double budget, const char *key)
{
    const struct cfg *c = C->c;
    double t0 = sync_now();
    int rc = 0;
    while (!rc) {
        double c0 = sync_now();
        if (C->stop && *C->stop) { /* between chunks: a slice with a long budget ends here */
            snprintf(C->rep->error, sizeof C->rep->error, "stopped by a signal");
            rc = FS_ECANCELLED;
            break;
        }
        if (pos->graph >= sync_target_count(c, C->ngroups)) {
            if ((rc = sync_layout_cleanup(c, &C->fdb, C->groups, C->ngroups, C->srep)))
                snprintf(C->rep->error, sizeof C->rep->error, "FalkorDB: %s", C->fdb.errstr);
            pos->active = false;
            pos->passes++;
            pos->last_finished_at = sync_wall_now();
            pos->last_seconds = pos->last_finished_at - pos->started_at;
            pos->last_busy_seconds = pos->busy_seconds + (sync_now() - c0);
            pos->last_checked = pos->checked;
            pos->last_fixed = pos->fixed;
        } else {
            set_open(C, pos->graph);
            snprintf(pos->group, sizeof pos->group, "%s", C->set_group[0] ? C->set_group[0] : "");
            if (!pos->type && !pos->after[0])
                rc = set_indexes(C);
            rc = rc ? rc : slice_chunk(C, pos);
            C->rep->graphs = C->g0 + C->n;
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
    int rc;
    struct compare_run *C = compare_new(c, found, done, stop, &rc);
    if (!C)
        return rc;
    char key[SYNC_KEY_NAME_CAP];
    sync_reconcile_key(c, key, sizeof key);
    if (!rc)
        rc = state_slice_read(&C->fdb, key, pos, found->error, sizeof found->error);
    if (!rc) {
        if (!pos->active || pos->type >= found->ntypes)
            slice_begin_pass(pos);
        slice_find_graph(c, pos, C->groups, C->ngroups);
        pos->slices++;
        rc = slice_run(C, pos, budget_seconds, key);
    }
    rc = compare_free(C, rc);
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
