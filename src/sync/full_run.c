/* What full sync's driver and load methods share: commands, progress, the streaming loop. */
#include "sync/full_run.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "sync/connect.h"
#include "sync/extract.h"

int full_run_open(struct run *R, const struct cfg *c, const struct sync_opts *o,
                  struct sync_report *rep)
{
    *R = (struct run){.cfg = c, .prof = sync_profile_of(c), .opts = o, .rep = rep};
    R->t0 = sync_now();
    bolt_init(&R->bolt);
    fdb_init(&R->ld.fdb);
    R->ld.depth = c->sync.pipeline_depth;
    R->ld.rep = rep;
    R->ld.types = R->prof->types;
    R->ld.ring = calloc((size_t)RING_CAP(&R->ld), sizeof *R->ld.ring);
    int rc = R->ld.ring ? sync_rules_init(&R->rules_store, c) : FS_ENOMEM;
    R->rules = R->rules_store.rules;
    struct bolt_config bc = sync_bolt_config(c);
    bc.stop = o ? o->stop : NULL;
    struct fdb_config fc = sync_fdb_config(c);
    if (!rc && (rc = bolt_connect(&R->bolt, &bc)))
        snprintf(rep->error, sizeof rep->error, "%s", R->bolt.errstr);
    if (!rc && (rc = fdb_connect(&R->ld.fdb, &fc)))
        snprintf(rep->error, sizeof rep->error, "%s", R->ld.fdb.errstr);
    return rc;
}

void full_run_close(struct run *R)
{
    loader_async_stop(&R->ld, false); /* normally stopped by the load method already */
    bolt_close(&R->bolt);
    fdb_close(&R->ld.fdb);
    free(R->ld.ring);
    R->ld.ring = NULL;
    sync_rules_deinit(&R->rules_store);
}

void full_progress(struct run *R, bool final)
{
    if (!R->opts->progress && !R->opts->on_progress)
        return;
    if (!final && sync_now() - R->last_progress < 0.5)
        return;
    full_progress_done(R, loader_items(&R->ld), final); /* the writer thread counts acks */
}

void full_progress_done(struct run *R, uint64_t done, bool final)
{
    if (!R->opts->progress && !R->opts->on_progress)
        return;
    double t = sync_now();
    if (!final && t - R->last_progress < 0.5)
        return;
    R->last_progress = t;
    if (R->opts->on_progress)
        R->opts->on_progress(R->opts->progress_ud, done, R->total_items);
    if (!R->opts->progress)
        return;
    double rate = done / (t - R->t0 + 1e-9);
    double eta = rate > 0 && R->total_items > done ? (R->total_items - done) / rate : 0;
    fprintf(stderr, "\rfull sync: %" PRIu64 "/%" PRIu64 " items, %.0f items/s, ETA %.0f s   %s",
            done, R->total_items, rate, eta, final ? "\n" : "");
}

int full_fdb_simple(struct run *R, const char *what, int argc, const char *const *argv,
                    redisReply **out)
{
    if (fdb_commandv(&R->ld.fdb, out, argc, argv)) {
        snprintf(R->rep->error, sizeof R->rep->error, "%s: %s", what, R->ld.fdb.errstr);
        return R->ld.fdb.err ? R->ld.fdb.err : FS_ESERVER;
    }
    return 0;
}

bool full_key_exists(struct run *R, const char *key)
{
    const char *argv[2] = {"EXISTS", key};
    redisReply *r = NULL;
    if (fdb_commandv(&R->ld.fdb, &r, 2, argv))
        return false;
    bool yes = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    freeReplyObject(r);
    return yes;
}

int full_graph_query(struct run *R, const char *graph, const char *q)
{
    const char *argv[3] = {"GRAPH.QUERY", graph, q};
    return full_fdb_simple(R, q, 3, argv, NULL);
}

static int run_extract(struct run *R, const struct sync_type *t, const char *after,
                       const char *group, bool generic)
{
    struct buf q, p;
    buf_init(&q, SYNC_QUERY_CAP);
    buf_init(&p, SYNC_QUERY_CAP);
    int rc = generic ? extract_generic_query(&q, t, R->cfg->sync.key_property, false)
                     : extract_full_query(&q, t, group != NULL);
    rc = rc ? rc : extract_group_params(&p, after, group);
    rc = rc ? rc : bolt_run(&R->bolt, q.data, p.data, p.len, BOLT_MODE_READ);
    buf_deinit(&q);
    buf_deinit(&p);
    return rc;
}

bool full_stopped(struct run *R)
{
    if (!(R->opts->stop && *R->opts->stop))
        return false;
    snprintf(R->rep->error, sizeof R->rep->error, "stopped by a signal");
    return true;
}

int full_stream(struct run *R, int type, const char *after, const char *group, bool generic,
                const struct full_sink *sink)
{
    /* Reading overlaps writing: from the first type on, a writer thread sends
     * the batches this thread builds (a queue of pipeline depth + 2 batches)
     * and keeps it across types; the driver stops it after the last. */
    int rc = loader_async_start(&R->ld, R->ld.depth + 2);
    rc = rc ? rc : run_extract(R, &R->prof->types[type], after, group, generic);
    if (rc) {
        snprintf(R->rep->error, sizeof R->rep->error, "Neo4j: %s", R->bolt.errstr);
        return rc;
    }
    struct bolt_record rec;
    int more;
    while ((more = bolt_next(&R->bolt, &rec)) == 1) {
        if (full_stopped(R))
            return FS_ECANCELLED;
        if ((rc = sink->record(sink->ud, &rec)))
            break;
        R->done_items++;
        if ((rc = sink->flush_if_full(sink->ud)))
            break;
        full_progress(R, false);
    }
    if (more < 0 && !rc) {
        rc = more;
        snprintf(R->rep->error, sizeof R->rep->error, "Neo4j: %s", R->bolt.errstr);
    }
    if (rc == FULL_BULK_FALLBACK) { /* read the rest: the session must be idle again */
        while (bolt_next(&R->bolt, &rec) == 1)
            ;
    }
    return rc;
}
