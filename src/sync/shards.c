/* Full sync of a Redis Cluster's shards at once: a plan (graphs by owning primary) and the
 * worker threads that carry it out, each on its own connections. */
#include "sync/shards.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "log/log.h"
#include "sync/replicas.h"
#include "sync/target.h"

/* The group graphs one primary holds. */
struct shard {
    char node[280]; /* host:port; "" when the slot map names no owner */
    int *group;     /* indexes into the run's groups */
    int ngroups;
};

struct worker {
    struct full_shards *S;
    pthread_t th;
    bool started, opened;
    struct run R;
    struct sync_opts opts;
    struct sync_report rep;
    uint64_t done;              /* items acknowledged (under S->mu) */
    int rc;                     /* under S->mu once finished */
    char graph[SYNC_GRAPH_CAP]; /* the graph being synced; where a failure happened */
    char node[280];
};

struct full_shards {
    struct run *parent;
    char *const *groups;
    full_graph_fn one;
    struct shard *shard;
    int nshards, next_shard; /* next_shard under mu */
    struct worker *w;
    int nworkers, running;      /* running under mu */
    int failed;                 /* the first worker that failed, -1; under mu */
    volatile sig_atomic_t stop; /* the workers' stop flag: R's, or a worker failed */
    uint64_t run_id;
    pthread_mutex_t mu;
};

/* How many workers the run may use: sync.shard_workers, 0 meaning one per primary. */
static int workers_allowed(const struct run *R)
{
    int n = R->cfg->sync.shard_workers;
    if (n <= 0)
        n = fdb_cluster_primaries(&R->ld.fdb);
    return n > FULL_SHARDS_MAX ? FULL_SHARDS_MAX : n;
}

/* The shard of node in S, added when new; NULL without memory. */
static struct shard *shard_of(struct full_shards *S, const char *node, int ngroups)
{
    for (int i = 0; i < S->nshards; i++)
        if (!strcmp(S->shard[i].node, node))
            return &S->shard[i];
    struct shard *sh = &S->shard[S->nshards];
    snprintf(sh->node, sizeof sh->node, "%s", node);
    if (!(sh->group = calloc((size_t)ngroups, sizeof *sh->group)))
        return NULL;
    S->nshards++;
    return sh;
}

/* The shards with the most graphs first: the longest queues start at once. */
static int by_graphs_desc(const void *a, const void *b)
{
    const struct shard *x = a, *y = b;
    return (y->ngroups > x->ngroups) - (y->ngroups < x->ngroups);
}

struct full_shards *full_shards_plan(struct run *R, char *const *groups, int ngroups)
{
    const struct cfg *c = R->cfg;
    if (!fdb_is_cluster(&R->ld.fdb) || c->falkordb.layout == CFG_LAYOUT_SINGLE || ngroups < 2 ||
        workers_allowed(R) < 2)
        return NULL;
    struct full_shards *S = calloc(1, sizeof *S);
    if (!S || !(S->shard = calloc((size_t)ngroups, sizeof *S->shard))) {
        free(S);
        return NULL;
    }
    S->parent = R;
    S->groups = groups;
    S->failed = -1;
    for (int i = 0; i < ngroups; i++) {
        char name[SYNC_GRAPH_CAP], node[280];
        sync_group_graph_name(c, groups[i], name, sizeof name);
        fdb_cluster_node_of(&R->ld.fdb, name, node, sizeof node);
        struct shard *sh = shard_of(S, node, ngroups);
        if (!sh) {
            full_shards_free(S);
            return NULL;
        }
        sh->group[sh->ngroups++] = i;
    }
    if (S->nshards < 2) {
        full_shards_free(S);
        return NULL;
    }
    qsort(S->shard, (size_t)S->nshards, sizeof *S->shard, by_graphs_desc);
    S->nworkers = workers_allowed(R) < S->nshards ? workers_allowed(R) : S->nshards;
    if (!(S->w = calloc((size_t)S->nworkers, sizeof *S->w))) {
        full_shards_free(S);
        return NULL;
    }
    pthread_mutex_init(&S->mu, NULL);
    return S;
}

/* A worker's progress: the sum over the workers, told as the run's. */
static void worker_progress(void *ud, uint64_t done, uint64_t total)
{
    (void)total;
    struct worker *w = ud;
    struct full_shards *S = w->S;
    pthread_mutex_lock(&S->mu);
    w->done = done;
    uint64_t sum = 0;
    for (int i = 0; i < S->nworkers; i++)
        sum += S->w[i].done;
    full_progress_done(S->parent, sum, false);
    pthread_mutex_unlock(&S->mu);
}

/* The next shard nobody has taken, or NULL. */
static struct shard *take_shard(struct full_shards *S)
{
    pthread_mutex_lock(&S->mu);
    struct shard *sh = S->next_shard < S->nshards ? &S->shard[S->next_shard++] : NULL;
    pthread_mutex_unlock(&S->mu);
    return sh;
}

/* One shard's graphs in turn, on w's connections (opened for the first shard). */
static int sync_shard(struct worker *w, const struct shard *sh)
{
    struct full_shards *S = w->S;
    snprintf(w->node, sizeof w->node, "%s", sh->node);
    w->graph[0] = '\0';
    int rc = 0;
    if (!w->opened) {
        w->opened = true;
        rc = full_run_open(&w->R, S->parent->cfg, &w->opts, &w->rep);
        w->R.total_items = S->parent->total_items;
        w->R.total_nodes = S->parent->total_nodes;
    }
    for (int i = 0; !rc && i < sh->ngroups; i++) {
        if (full_stopped(&w->R))
            return FS_ECANCELLED;
        const char *group = S->groups[sh->group[i]];
        sync_group_graph_name(S->parent->cfg, group, w->graph, sizeof w->graph);
        rc = S->one(&w->R, w->graph, group);
    }
    return rc;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct full_shards *S = w->S;
    log_set_run_id(S->run_id);
    int rc = 0;
    struct shard *sh;
    while (!rc && (sh = take_shard(S)))
        rc = sync_shard(w, sh);
    if (w->opened) {
        loader_async_stop(&w->R.ld, false);
        rc = sync_replicas_readonly(&w->R.ld.fdb, rc, w->rep.error, sizeof w->rep.error);
        bolt_close(&w->R.bolt); /* the FalkorDB connection stays for the replicas' WAIT */
    }
    pthread_mutex_lock(&S->mu);
    w->rc = rc;
    if (rc && S->failed < 0)
        S->failed = (int)(w - S->w);
    S->running--;
    pthread_mutex_unlock(&S->mu);
    return NULL;
}

/* Until every worker has finished: a stop of the run, or a worker's failure, stops them all. */
static void supervise(struct full_shards *S)
{
    const struct sync_opts *po = S->parent->opts;
    for (;;) {
        pthread_mutex_lock(&S->mu);
        int running = S->running, failed = S->failed;
        pthread_mutex_unlock(&S->mu);
        if (!running)
            break;
        if (failed >= 0 || (po->stop && *po->stop))
            S->stop = 1;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    for (int i = 0; i < S->nworkers; i++)
        if (S->w[i].started)
            pthread_join(S->w[i].th, NULL);
}

static void add_stats(struct xc_stats *to, const struct xc_stats *s)
{
    to->dropped_nan += s->dropped_nan;
    to->dropped_bytes += s->dropped_bytes;
    to->dropped_nul += s->dropped_nul;
    to->dropped_point += s->dropped_point;
    to->dropped_key += s->dropped_key;
    to->dropped_label += s->dropped_label;
    to->dropped_other += s->dropped_other;
}

/* The workers' counts into the run's report. */
static void merge_reports(struct full_shards *S, struct sync_report *rep)
{
    for (int i = 0; i < S->nworkers; i++) {
        const struct sync_report *r = &S->w[i].rep;
        rep->nodes += r->nodes;
        rep->relationships += r->relationships;
        rep->edges_missing_endpoint += r->edges_missing_endpoint;
        rep->batches += r->batches;
        rep->graphs += r->graphs;
        rep->resumed |= r->resumed;
        if (r->method)
            rep->method = r->method;
        add_stats(&rep->dropped, &r->dropped);
    }
}

int full_shards_run(struct run *R, struct full_shards *S, full_graph_fn one)
{
    S->one = one;
    S->run_id = log_run_id();
    log_fields(LOG_INFO, "full sync: shards in parallel",
               json_pack("{s:i,s:i}", "shards", S->nshards, "workers", S->nworkers));
    int rc = 0;
    for (int i = 0; i < S->nworkers; i++) {
        struct worker *w = &S->w[i];
        w->S = S;
        w->opts =
            (struct sync_opts){.stop = &S->stop, .on_progress = worker_progress, .progress_ud = w};
        pthread_mutex_lock(&S->mu);
        S->running++;
        pthread_mutex_unlock(&S->mu);
        if (pthread_create(&w->th, NULL, worker_main, w)) {
            pthread_mutex_lock(&S->mu);
            S->running--;
            pthread_mutex_unlock(&S->mu);
            snprintf(R->rep->error, sizeof R->rep->error, "cannot start a shard worker thread");
            rc = FS_EIO;
            S->stop = 1;
            break;
        }
        w->started = true;
    }
    supervise(S);
    merge_reports(S, R->rep);
    if (rc)
        return rc;
    if (S->failed < 0)
        return 0;
    const struct worker *w = &S->w[S->failed];
    /* the error as the worker told it (its side first), then where */
    int room = (int)sizeof R->rep->error - (int)strlen(w->graph) - (int)strlen(w->node) - 24;
    snprintf(R->rep->error, sizeof R->rep->error, "%.*s [graph %s on shard %s]",
             room > 0 ? room : 0, w->rep.error, w->graph[0] ? w->graph : "-",
             w->node[0] ? w->node : "?");
    return w->rc;
}

int full_shards_conns(struct full_shards *S, struct fdb_conn **out, int cap)
{
    int n = 0;
    for (int i = 0; S && i < S->nworkers && n < cap; i++)
        if (S->w[i].opened)
            out[n++] = &S->w[i].R.ld.fdb;
    return n;
}

void full_shards_free(struct full_shards *S)
{
    if (!S)
        return;
    for (int i = 0; S->w && i < S->nworkers; i++)
        if (S->w[i].opened)
            full_run_close(&S->w[i].R);
    if (S->w)
        pthread_mutex_destroy(&S->mu);
    for (int i = 0; i < S->nshards; i++)
        free(S->shard[i].group);
    free(S->shard);
    free(S->w);
    free(S);
}
