/* Verify and reconcile: a merge-join of both sides in key order, comparing fingerprints. */
#include "sync/layout.h"
#include "sync/verify.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bolt/bolt.h"
#include "falkor/fdb.h"
#include "sync/connect.h"
#include "sync/cursor_cache.h"
#include "sync/cursor_neo4j.h"
#include "sync/extract.h"
#include "sync/fixer.h"
#include "sync/gkey.h"
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
        snprintf(prev, FP_KEY_CAP, "%s", a->key);
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
    struct cache_cursor cc;
    struct verify_count *vc;
    struct fixer *fx; /* reconcile; NULL: verify */
    struct xc_stats st;
    struct sync_item a, b, prevb;
    bool have_prev;
    char preva[FP_KEY_CAP];
    char *err;
    size_t errlen;
};

/* Runs the key-ordered query of type t on the session. */
static int source_query(const struct cfg *c, struct bolt_session *bolt, const struct sync_type *t,
                        const char *group, char *err, size_t errlen)
{
    const struct sync_profile *prof = sync_profile_of(c);
    struct buf q, p;
    buf_init(&q, SYNC_QUERY_CAP);
    buf_init(&p, SYNC_QUERY_CAP);
    int rc = prof->generic ? extract_generic_query(&q, t, c->sync.key_property, true)
                           : extract_verify_query(&q, t, group != NULL);
    rc = rc ? rc : extract_group_params(&p, NULL, group);
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
    *rb = cache_cursor_next(&m->cc, &m->b, m->err, m->errlen);
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
        *ra = src_advance(&m->sc, &m->a, m->preva, &m->st, vc, m->cc.stop, m->err, m->errlen);
    if (cmp >= 0)
        *rb = cache_cursor_next(&m->cc, &m->b, m->err, m->errlen);
    return 0;
}

static int verify_type(const struct cfg *c, struct bolt_session *bolt, struct fdb_conn *fdb,
                       const char *graph, const char *group, int type, const struct xc_rules *rules,
                       struct verify_count *vc, struct fixer *fx, volatile sig_atomic_t *stop,
                       char *err, size_t errlen)
{
    const struct sync_profile *prof = sync_profile_of(c);
    const struct sync_type *t = &prof->types[type];
    const char *kp = c->sync.key_property;
    int rc = source_query(c, bolt, t, group, err, errlen);
    if (rc)
        return rc;
    struct merge *m = calloc(1, sizeof *m);
    if (!m)
        return FS_ENOMEM;
    m->vc = vc;
    m->fx = fx;
    m->err = err;
    m->errlen = errlen;
    neo_cursor_init(&m->sc, bolt, rules, prof->generic, kp, false);
    m->sc.t = t;
    cache_cursor_init(&m->cc, fdb, graph, t, prof->generic, kp);
    m->cc.stop = stop;
    if (fx)
        fx->type = type;
    int ra = src_advance(&m->sc, &m->a, m->preva, &m->st, vc, stop, err, errlen);
    int rb = ra < 0 ? 0 : cache_cursor_next(&m->cc, &m->b, err, errlen);
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
    cache_cursor_deinit(&m->cc);
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
    volatile sig_atomic_t *stop; /* or NULL */
};

/* Every type of one graph. */
static int compare_graph(struct compare_run *C, const char *graph, const char *group)
{
    const struct sync_profile *prof = sync_profile_of(C->c);
    struct verify_report *rep = C->rep;
    int rc = 0;
    if (C->srep) {
        C->ld.graph = graph;
        rc = fixer_ensure_indexes(C->c, &C->bolt, &C->ld.fdb, graph, rep->error, sizeof rep->error);
    }
    struct fixer *fx = C->srep ? &C->fx : NULL;
    for (int t = 0; !rc && t < prof->ntypes; t++) {
        uint64_t dups = rep->types[t].duplicate;
        rc = verify_type(C->c, &C->bolt, &C->fdb, graph, group, t, &C->rules.rules, &rep->types[t],
                         fx, C->stop, rep->error, sizeof rep->error);
        if (!rc && fx && rep->types[t].duplicate > dups) {
            /* The duplicates' copies were all deleted: a second pass restores one. */
            struct verify_count again = {0};
            rc = verify_type(C->c, &C->bolt, &C->fdb, graph, group, t, &C->rules.rules, &again, fx,
                             C->stop, rep->error, sizeof rep->error);
        }
    }
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

/* verify (srep == NULL) or reconcile (srep != NULL: fix what differs). */
static int compare(const struct cfg *c, struct verify_report *rep, struct sync_report *srep,
                   volatile sig_atomic_t *stop)
{
    memset(rep, 0, sizeof *rep);
    double t0 = sync_now();
    const struct sync_profile *prof = sync_profile_of(c);
    rep->ntypes = prof->ntypes;
    for (int t = 0; t < prof->ntypes; t++)
        rep->types[t].name = prof->types[t].name;
    struct compare_run *C = calloc(1, sizeof *C);
    if (!C) {
        snprintf(rep->error, sizeof rep->error, "%s", fs_strerror(FS_ENOMEM));
        return FS_ENOMEM;
    }
    C->c = c;
    C->rep = rep;
    C->srep = srep;
    C->stop = stop;
    bolt_init(&C->bolt);
    fdb_init(&C->fdb);
    fdb_init(&C->ld.fdb);
    char **groups = NULL;
    int ngroups = 0;
    int rc = compare_open(C, &groups, &ngroups);
    for (int g = 0; !rc && g < sync_target_count(c, ngroups); g++) {
        char graph[SYNC_GRAPH_CAP];
        const char *group = sync_target(c, groups, g, graph, sizeof graph);
        rc = compare_graph(C, graph, group);
        rep->graphs++;
    }
    if (!rc && srep && (rc = sync_layout_cleanup(c, &C->fdb, groups, ngroups, srep)))
        snprintf(rep->error, sizeof rep->error, "FalkorDB: %s", C->fdb.errstr);
    if (!rc && !srep && (rc = sync_layout_verify_stale(c, &C->fdb, groups, ngroups, rep)))
        snprintf(rep->error, sizeof rep->error, "FalkorDB: %s", C->fdb.errstr);
    if (srep) {
        fixer_close(&C->fx);
        if (rc && !srep->error[0])
            snprintf(srep->error, sizeof srep->error, "%s", rep->error);
        else if (srep->error[0] && !rep->error[0])
            snprintf(rep->error, sizeof rep->error, "%s", srep->error);
    }
    sync_groups_free(groups, ngroups);
    sync_rules_deinit(&C->rules);
    bolt_close(&C->bolt);
    fdb_close(&C->fdb);
    fdb_close(&C->ld.fdb);
    free(C->ld.ring);
    free(C);
    rep->seconds = sync_now() - t0;
    if (rc && !rep->error[0])
        snprintf(rep->error, sizeof rep->error, "%s", fs_strerror(rc));
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
