/* Full sync, per graph: resume or start fresh, load by one of the two methods, build indexes,
 * then swap the shadow graph in with RENAME inside MULTI/EXEC. */
#include "sync/layout.h"
#include "sync/full.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "falkor/param.h"
#include "log/log.h"
#include "sync/connect.h"
#include "sync/full_run.h"
#include "sync/replicas.h"
#include "sync/shards.h"
#include "sync/state.h"

/* One graph being synced. */
struct graph_load {
    struct sync_names nm;
    const char *group; /* per_group: its group_id; NULL in layout single */
    struct state_ckpt ck;
};

/* Which method a fresh full sync of a graph uses (docs/configuration.md). */
static bool full_use_bulk(const struct run *R)
{
    switch (R->cfg->sync.full_method) {
    case CFG_FULL_BULK:
        return true;
    case CFG_FULL_QUERY:
        return false;
    default: /* auto: the graphiti profile, while the id map stays small */
        return !R->prof->generic && R->total_nodes <= FULL_BULK_AUTO_MAX_NODES;
    }
}

static int delete_graph_if_exists(struct run *R, const char *graph, const char *what)
{
    const char *del[2] = {"GRAPH.DELETE", graph};
    if (!full_key_exists(R, graph))
        return 0;
    return full_fdb_simple(R, what, 2, del, NULL);
}

/* Resuming the query method: items past the checkpoint may have been written before the
 * crash, so they go. */
static int trim_past_checkpoint(struct run *R, struct graph_load *G)
{
    const struct sync_type *t = &R->prof->types[G->ck.type];
    struct buf q;
    buf_init(&q, SYNC_QUERY_CAP);
    int e = fdb_param_prefix_begin(&q);
    e = e ? e : fdb_param_name(&q, "after");
    e = e ? e : fdb_param_write_string(&q, G->ck.after, strlen(G->ck.after));
    e = e ? e : fdb_param_prefix_end(&q);
    if (R->prof->generic) {
        /* Any string may be a generic key, and Neo4j compares a stored
         * string with a parameter in UTF-16 order, FalkorDB in byte
         * order: so the type starts over instead of "after a key". */
        e = e ? e
              : buf_append_str(&q,
                               t->edge ? "MATCH ()-[e]->() DELETE e" : "MATCH (n) DETACH DELETE n");
        G->ck.after[0] = '\0';
    } else {
        e = e ? e
              : buf_printf(&q,
                           t->edge ? "MATCH ()-[e:`%s`]->() WHERE e.uuid > $after DELETE e"
                                   : "MATCH (n:`%s`) WHERE n.uuid > $after DETACH DELETE n",
                           t->name);
    }
    int rc = e ? e : full_graph_query(R, G->nm.shadow, q.data);
    buf_deinit(&q);
    return rc;
}

/* A fresh shadow graph: the range indexes, a new checkpoint and the watermarks now. */
static int start_fresh(struct run *R, struct graph_load *G, bool bulk)
{
    G->ck.type = 0;
    G->ck.after[0] = '\0';
    int rc = delete_graph_if_exists(R, G->nm.shadow, "deleting an old shadow graph");
    if (rc)
        return rc;
    /* Range indexes first: the query method's endpoint lookups use them;
     * the bulk method then keeps them up to date as it loads, which
     * measured a little faster than building them afterwards (5,000
     * entities with embeddings: 2.63 s against 2.78 s, 3 runs each). */
    char **idx = NULL;
    int nidx = 0;
    if ((rc = sync_range_index_statements(R->cfg, &R->bolt, &idx, &nidx))) {
        snprintf(R->rep->error, sizeof R->rep->error, "Neo4j: %s", R->bolt.errstr);
        return rc;
    }
    for (int i = 0; !rc && i < nidx; i++)
        rc = full_graph_query(R, G->nm.shadow, idx[i]);
    sync_strv_free(idx, nidx);
    char *err = R->rep->error;
    size_t errlen = sizeof R->rep->error;
    rc = rc ? rc : state_ckpt_start(&R->ld.fdb, G->nm.ckpt, bulk, err, errlen);
    /* Where incremental will start once this graph is live: the newest
     * change timestamps now (changes during the load are newer). */
    if (!rc && !R->prof->generic &&
        (rc = state_ckpt_record_watermarks(&R->bolt, &R->ld.fdb, G->nm.ckpt, G->group, err,
                                           errlen))) {
        /* A checkpoint holding part of the watermarks (a stop, or another shard's failure,
         * while they were read) must not be resumed: the graph would go live without them. */
        const char *del[2] = {"DEL", G->nm.ckpt};
        if (fdb_commandv(&R->ld.fdb, NULL, 2, del))
            log_fields(LOG_WARNING, "full sync: cannot remove an unfinished checkpoint",
                       json_pack("{s:o,s:o}", "key", sync_json_text(G->nm.ckpt), "error",
                                 sync_json_text(R->ld.fdb.errstr)));
    }
    return rc;
}

/* Resumes a query-method load from its checkpoint, or starts fresh. */
static int prepare(struct run *R, struct graph_load *G, bool bulk)
{
    const int ntypes = R->prof->ntypes;
    if (!bulk && G->ck.have && full_key_exists(R, G->nm.shadow) && G->ck.type >= 0 &&
        G->ck.type <= ntypes) {
        R->rep->resumed = true;
        return G->ck.type < ntypes ? trim_past_checkpoint(R, G) : 0;
    }
    return start_fresh(R, G, bulk);
}

/* After a bulk load gave up: what it counted is taken back, the connection (which may owe
 * replies) opened again and the shadow graph deleted, for the query method. */
static int leave_bulk(struct run *R, struct graph_load *G, const struct sync_report *before)
{
    log_fields(LOG_WARNING, "full sync: this graph cannot be bulk-loaded, using queries",
               json_pack("{s:o}", "graph", sync_json_text(G->nm.live)));
    *R->rep = *before;
    int rc = loader_reconnect(&R->ld);
    if (rc) {
        snprintf(R->rep->error, sizeof R->rep->error, "%s", R->ld.fdb.errstr);
        return rc;
    }
    G->ck.have = false;
    return delete_graph_if_exists(R, G->nm.shadow, "deleting the shadow graph");
}

/* Fills the shadow graph: a bulk load resumes as one, whatever the setting now, and a query
 * load as one; a bulk load that cannot go on falls back to queries. */
static int load_graph(struct run *R, struct graph_load *G)
{
    const struct sync_report before = *R->rep;
    bool bulk = full_use_bulk(R);
    bool loaded = false;
    int rc = 0;
    if (G->ck.have && G->ck.bulk) {
        bulk = true;
        R->rep->method = "bulk";
        rc = full_bulk_graph(R, G->nm.shadow, G->nm.ckpt, G->group, true);
        loaded = rc != FULL_BULK_RESTART;
        G->ck.have = loaded;
    } else if (G->ck.have && full_key_exists(R, G->nm.shadow)) {
        bulk = false;
    }
    for (;;) {
        if (!loaded) {
            if ((rc = prepare(R, G, bulk)))
                return rc;
            R->rep->method = bulk ? "bulk" : "query";
            rc = bulk ? full_bulk_graph(R, G->nm.shadow, G->nm.ckpt, G->group, false)
                      : full_query_graph(R, G->ck.type, G->ck.after, G->group);
        }
        if (rc != FULL_BULK_FALLBACK)
            return rc;
        if ((rc = leave_bulk(R, G, &before)))
            return rc;
        bulk = false;
        loaded = false;
    }
}

/* Polls CALL db.indexes() until every index of graph is OPERATIONAL: first
 * after 5 ms, then twice as long each time up to every 100 ms, for 10 min. */
static int wait_indexes(struct run *R, const char *graph)
{
    double deadline = sync_now() + 600;
    for (useconds_t pause = 5000;; pause = pause < 100000 ? pause * 2 : 100000) {
        const char *argv[3] = {"GRAPH.QUERY", graph,
                               "CALL db.indexes() YIELD status WHERE status <> 'OPERATIONAL' "
                               "RETURN count(status)"};
        redisReply *r = NULL;
        int rc = full_fdb_simple(R, "waiting for indexes", 3, argv, &r);
        if (rc)
            return rc;
        int64_t pending = loader_reply_count(r);
        freeReplyObject(r);
        if (pending == 0)
            return 0;
        if (sync_now() > deadline)
            break;
        if (full_stopped(R))
            return FS_ECANCELLED;
        usleep(pause);
    }
    snprintf(R->rep->error, sizeof R->rep->error, "indexes of %s not operational after 10 min",
             graph);
    return FS_ETIMEOUT;
}

/* The full-text indexes (graphiti), then every index operational. */
static int finish_indexes(struct run *R, const char *shadow)
{
    int rc = 0;
    for (int i = 0; !R->prof->generic && sync_fulltext_indexes[i]; i++) {
        rc = full_graph_query(R, shadow, sync_fulltext_indexes[i]);
        if (rc == FS_ESERVER && R->ld.fdb.server_err == FS_EFDB_EXISTS) {
            /* resumed after it was made */
            R->rep->error[0] = '\0';
            rc = 0;
        }
        if (rc)
            return rc;
    }
    return wait_indexes(R, shadow);
}

/* The swap: readers see the old graph, then the new one, never anything between; the
 * watermarks recorded when the load began come with it. */
static int swap_in(struct run *R, const struct sync_names *nm)
{
    char wmv[STATE_MAX_FAMILIES][64];
    if (!R->prof->generic)
        state_ckpt_watermarks(&R->ld.fdb, nm->ckpt, wmv, STATE_MAX_FAMILIES);
    else
        memset(wmv, 0, sizeof wmv);
    bool live_exists = full_key_exists(R, nm->live);
    const char *multi[1] = {"MULTI"};
    const char *ren1[3] = {"RENAME", nm->live, nm->old};
    const char *ren2[3] = {"RENAME", nm->shadow, nm->live};
    const char *delck[2] = {"DEL", nm->ckpt};
    const char *exec[1] = {"EXEC"};
    int rc = full_fdb_simple(R, "MULTI", 1, multi, NULL);
    if (!rc && live_exists)
        rc = full_fdb_simple(R, "RENAME live", 3, ren1, NULL);
    rc = rc ? rc : full_fdb_simple(R, "RENAME shadow", 3, ren2, NULL);
    rc = rc ? rc
            : state_wm_replace(&R->ld.fdb, nm->wm, wmv, STATE_MAX_FAMILIES, R->rep->error,
                               sizeof R->rep->error);
    rc = rc ? rc : full_fdb_simple(R, "DEL checkpoint", 2, delck, NULL);
    redisReply *r = NULL;
    rc = rc ? rc : full_fdb_simple(R, "EXEC", 1, exec, &r);
    if (!rc) {
        char why[300];
        if (!r || r->type != REDIS_REPLY_ARRAY || fdb_reply_error(r, why, sizeof why)) {
            snprintf(R->rep->error, sizeof R->rep->error, "swap failed: %s", r ? why : "no reply");
            rc = FS_ESERVER;
        }
        freeReplyObject(r);
    }
    if (!rc && live_exists)
        rc = delete_graph_if_exists(R, nm->old, "deleting the previous graph");
    return rc;
}

/* The live graph's size in MB by GRAPH.MEMORY USAGE (FalkorDB 4.12+); -1 when unknown. */
static long long live_graph_mb(struct run *R, const char *live)
{
    const char *argv[3] = {"GRAPH.MEMORY", "USAGE", live};
    redisReply *r = NULL;
    long long mb = -1;
    if (!full_key_exists(R, live) || fdb_commandv(&R->ld.fdb, &r, 3, argv))
        return -1;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
        const redisReply *k = r->element[i], *v = r->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || strcmp(k->str, "total_graph_sz_mb"))
            continue;
        if (v->type == REDIS_REPLY_INTEGER)
            mb = v->integer;
        else if (v->type == REDIS_REPLY_STRING)
            mb = strtoll(v->str, NULL, 10);
    }
    freeReplyObject(r);
    return mb;
}

/* FalkorDB refused a write for memory: the half-built shadow graph and its checkpoint go (the
 * memory is given back; the live graph is untouched) and the error says how much room a full
 * sync needs. Returns FS_EFDB_OOM. */
static int fail_out_of_memory(struct run *R, const struct sync_names *nm)
{
    char why[sizeof R->rep->error];
    snprintf(why, sizeof why, "%s", R->rep->error);
    loader_async_stop(&R->ld, false); /* the writer thread may still hold the connection */
    /* INFO before the shadow goes: the memory as it was when the write was refused */
    long long used, max;
    loader_memory(&R->ld, &used, &max);
    if (!fdb_is_connected(&R->ld.fdb))
        log_fields(LOG_WARNING, "full sync: cannot reconnect to remove the shadow graph",
                   json_pack("{s:o}", "error", sync_json_text(R->ld.fdb.errstr)));
    const char *delck[2] = {"DEL", nm->ckpt};
    bool removed = !delete_graph_if_exists(R, nm->shadow, "deleting the shadow graph") &&
                   !full_fdb_simple(R, "deleting the checkpoint", 2, delck, NULL);
    if (!removed)
        log_fields(LOG_WARNING, "full sync: the shadow graph was not removed",
                   json_pack("{s:o}", "error", sync_json_text(R->rep->error)));
    long long live_mb = live_graph_mb(R, nm->live);
    const double mb = 1024.0 * 1024.0;
    char sizes[160] = "";
    if (used >= 0 && max > 0)
        snprintf(sizes, sizeof sizes, " (maxmemory %.0f MB, used %.0f MB)", max / mb, used / mb);
    char live_size[96];
    if (live_mb > 0)
        snprintf(live_size, sizeof live_size, "the live graph uses ~%lld MB", live_mb);
    else if (used >= 0)
        snprintf(live_size, sizeof live_size, "the live graph uses at most ~%.0f MB", used / mb);
    else
        snprintf(live_size, sizeof live_size, "see INFO memory");
    snprintf(R->rep->error, sizeof R->rep->error,
             "FalkorDB is out of memory%s: a full sync builds a second copy of the graph next to "
             "the live one; allow about 2x the graph's memory (%s); the live graph %s is "
             "unchanged%s. FalkorDB said: %.200s",
             sizes, live_size, nm->live,
             removed ? " and the shadow graph was removed" : ", the shadow graph is left", why);
    return FS_EFDB_OOM;
}

static int sync_one_graph(struct run *R, const char *live, const char *group)
{
    struct graph_load G = {.group = group};
    sync_names_for(R->cfg, live, &G.nm);
    R->ld.graph = G.nm.shadow;
    R->ld.ckpt_key = G.nm.ckpt;
    /* a crash between swap and cleanup leaves the old graph */
    int rc = delete_graph_if_exists(R, G.nm.old, "deleting a stale old graph");
    rc = rc ? rc
            : state_ckpt_read(&R->ld.fdb, G.nm.ckpt, &G.ck, R->rep->error, sizeof R->rep->error);
    rc = rc ? rc : load_graph(R, &G);
    rc = rc ? rc : finish_indexes(R, G.nm.shadow);
    rc = rc ? rc : swap_in(R, &G.nm);
    if (rc == FS_ESERVER && R->ld.fdb.server_err == FS_EFDB_OOM)
        rc = fail_out_of_memory(R, &G.nm);
    if (!rc)
        R->rep->graphs++;
    return rc;
}

/* Neo4j's item and node counts: the progress total and the id map's size. */
static void count_items(struct run *R)
{
    struct buf q;
    buf_init(&q, SYNC_QUERY_CAP);
    int rc = buf_append_str(&q, "CALL { ");
    for (int i = 0; !rc && i < R->prof->ntypes; i++) {
        char cq[200];
        if (i)
            rc = buf_append_str(&q, " UNION ALL ");
        rc = rc ? rc : sync_count_query(&R->prof->types[i], cq, sizeof cq);
        rc = rc ? rc
                : buf_printf(&q, "%s AS c, %s AS e", cq, R->prof->types[i].edge ? "true" : "false");
    }
    rc = rc ? rc : buf_append_str(&q, " } RETURN sum(c), sum(CASE WHEN e THEN 0 ELSE c END)");
    rc = rc ? rc : bolt_run(&R->bolt, q.data, NULL, 0, BOLT_MODE_READ);
    struct bolt_record rec;
    if (!rc && bolt_next(&R->bolt, &rec) == 1) {
        struct pack_reader r;
        struct pack_item it;
        pack_reader_init(&r, rec.data, rec.len);
        if (!pack_read_item(&r, &it) && !pack_read_item(&r, &it) && it.kind == FS_VALUE_INT)
            R->total_items = (uint64_t)it.i;
        if (!pack_read_item(&r, &it) && it.kind == FS_VALUE_INT)
            R->total_nodes = (uint64_t)it.i;
        struct bolt_record end;
        while (bolt_next(&R->bolt, &end) == 1)
            ;
    }
    buf_deinit(&q);
}

/* Every graph of the layout. */
static int sync_graphs(struct run *R)
{
    const struct cfg *c = R->cfg;
    if (c->falkordb.layout == CFG_LAYOUT_SINGLE) {
        int rc = sync_one_graph(R, c->falkordb.database, NULL);
        if (!rc && (rc = sync_layout_cleanup(c, &R->ld.fdb, NULL, 0, R->rep)))
            snprintf(R->rep->error, sizeof R->rep->error, "FalkorDB: %s", R->ld.fdb.errstr);
        return rc;
    }
    char **groups = NULL;
    int ngroups = 0;
    int rc = sync_list_groups(&R->bolt, &groups, &ngroups);
    if (rc)
        snprintf(R->rep->error, sizeof R->rep->error, "Neo4j: %s", R->bolt.errstr);
    /* Redis Cluster: the graphs of different shards at once, one worker per shard */
    if (!rc && (R->shards = full_shards_plan(R, groups, ngroups)))
        rc = full_shards_run(R, R->shards, sync_one_graph);
    for (int i = 0; !rc && !R->shards && i < ngroups; i++) {
        if (full_stopped(R)) {
            rc = FS_ECANCELLED;
            break;
        }
        char name[SYNC_GRAPH_CAP];
        sync_group_graph_name(c, groups[i], name, sizeof name);
        rc = sync_one_graph(R, name, groups[i]);
    }
    if (!rc && (rc = sync_track_groups(c, &R->ld.fdb, groups, ngroups, R->rep)))
        snprintf(R->rep->error, sizeof R->rep->error, "FalkorDB: %s", R->ld.fdb.errstr);
    if (!rc && (rc = sync_layout_cleanup(c, &R->ld.fdb, groups, ngroups, R->rep)))
        snprintf(R->rep->error, sizeof R->rep->error, "FalkorDB: %s", R->ld.fdb.errstr);
    sync_groups_free(groups, ngroups);
    return rc;
}

int sync_full(const struct cfg *c, const struct sync_opts *o, struct sync_report *rep)
{
    memset(rep, 0, sizeof *rep);
    struct run R;
    int rc = full_run_open(&R, c, o, rep);
    if (!rc) {
        count_items(&R);
        rc = sync_graphs(&R);
        full_progress(&R, true);
    }
    loader_async_stop(&R.ld, false); /* normally stopped by the load method already */
    rc = sync_replicas_readonly(&R.ld.fdb, rc, rep->error, sizeof rep->error);
    /* after the last swap: the replicas have every graph swapped in, or the report says not;
     * on every connection the run wrote on (the shard workers' too) */
    struct fdb_conn *wrote_on[1 + FULL_SHARDS_MAX] = {&R.ld.fdb};
    int nconns = 1 + full_shards_conns(R.shards, wrote_on + 1, FULL_SHARDS_MAX);
    sync_replicas_wait(c, wrote_on, nconns, !rc && rep->graphs > 0, rep);
    full_shards_free(R.shards);
    R.shards = NULL;
    full_run_close(&R);
    rep->seconds = sync_now() - R.t0;
    if (rc && !rep->error[0])
        snprintf(rep->error, sizeof rep->error, "%s", fs_strerror(rc));
    return rc;
}
