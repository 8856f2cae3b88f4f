/* The cache side of a comparison read ahead on a thread and a FalkorDB connection of its own. */
#include "sync/prefetch.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/profile.h"
#include "sync/target.h"

struct slot {
    int job; /* the job loaded here; -1: free */
    int rc;
    char err[512];
    char graph[SYNC_GRAPH_CAP];
    struct cache_cursor cc;
};

struct prefetch {
    const struct cfg *c;
    const struct sync_profile *prof;
    char **groups;
    int fan, ngraphs, njobs;
    struct fdb_conn fdb;
    volatile sig_atomic_t *stop;
    volatile sig_atomic_t quit; /* prefetch_free: the load in progress ends at its next page */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* under mu: */
    int next;     /* the job the thread loads next */
    int released; /* jobs below this are done with; the thread stays < released + DEPTH */
    int taken;    /* jobs below this are taken (held by the caller until released) */
    unsigned gen; /* bumped when what was read ahead is thrown away */
    bool failed;  /* a load failed: nothing more is loaded */
    struct slot slots[PREFETCH_DEPTH];
};

/* The size of job j's set (the last set may be smaller). */
static int job_set_size(int j, int fan, int ngraphs, int ntypes)
{
    int g0 = j / (fan * ntypes) * fan;
    return ngraphs - g0 < fan ? ngraphs - g0 : fan;
}

void prefetch_job_target(int j, int fan, int ngraphs, int ntypes, int *g, int *t)
{
    int per = fan * ntypes; /* the jobs of a whole set */
    int g0 = j / per * fan, r = j % per;
    int n = job_set_size(j, fan, ngraphs, ntypes);
    *t = r / n;
    *g = g0 + r % n;
}

/* Loads job j into s (without the lock: the slot is the thread's until it is published). */
static void load_job(struct prefetch *p, struct slot *s, int j)
{
    int g, type;
    prefetch_job_target(j, p->fan, p->ngraphs, p->prof->ntypes, &g, &type);
    const struct sync_type *t = &p->prof->types[type];
    sync_target(p->c, p->groups, g, s->graph, sizeof s->graph);
    cache_cursor_init(&s->cc, &p->fdb, s->graph, t, p->prof->generic, p->c->sync.key_property);
    cache_cursor_share(&s->cc, job_set_size(j, p->fan, p->ngraphs, p->prof->ntypes));
    s->cc.stop = p->stop;
    s->cc.cancel = &p->quit;
    s->err[0] = '\0';
    s->rc = cache_cursor_load(&s->cc, s->err, sizeof s->err);
}

/* Bytes the cursors read ahead (loaded, not taken yet) hold in memory (under mu). */
static size_t held_ahead(const struct prefetch *p)
{
    size_t n = 0;
    for (int i = 0; i < PREFETCH_DEPTH; i++) {
        const struct slot *s = &p->slots[i];
        if (s->job >= p->taken) /* a cursor taken is being merged (its memory is spent) */
            n += s->cc.xs.used + s->cc.xs.n * sizeof(size_t);
    }
    return n;
}

/* Whether the thread waits (under mu): nothing to load, or enough read ahead. */
static bool must_wait(const struct prefetch *p)
{
    return !p->quit && (p->failed || p->next >= p->njobs ||
                        p->next >= p->released + PREFETCH_DEPTH || held_ahead(p) >= PREFETCH_MEM);
}

static void *prefetch_main(void *arg)
{
    struct prefetch *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (must_wait(p))
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->quit)
            break;
        int j = p->next;
        unsigned gen = p->gen;
        struct slot *s = &p->slots[j % PREFETCH_DEPTH];
        pthread_mutex_unlock(&p->mu);
        load_job(p, s, j);
        pthread_mutex_lock(&p->mu);
        if (gen != p->gen || p->quit || j < p->released) {
            /* thrown away meanwhile (next is set again), or released without being taken (the
             * caller's comparison failed first) */
            cache_cursor_deinit(&s->cc);
            if (j < p->released && gen == p->gen)
                p->next = j + 1;
            continue;
        }
        s->job = j;
        p->failed = s->rc != 0;
        p->next = j + 1;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

struct prefetch *prefetch_new(const struct cfg *c, const struct fdb_config *fc, char **groups,
                              int ngroups, int fan, volatile sig_atomic_t *stop, int *rc, char *err,
                              size_t errlen)
{
    struct prefetch *p = calloc(1, sizeof *p);
    if (!p) {
        *rc = FS_ENOMEM;
        snprintf(err, errlen, "%s", fs_strerror(*rc));
        return NULL;
    }
    p->c = c;
    p->prof = sync_profile_of(c);
    p->groups = groups;
    p->ngraphs = sync_target_count(c, ngroups);
    p->fan = fan < 1 ? 1 : fan > PREFETCH_FAN ? PREFETCH_FAN : fan;
    p->njobs = p->ngraphs * p->prof->ntypes;
    p->stop = stop;
    for (int i = 0; i < PREFETCH_DEPTH; i++)
        p->slots[i].job = -1;
    fdb_init(&p->fdb);
    if ((*rc = fdb_connect(&p->fdb, fc))) {
        snprintf(err, errlen, "%s", p->fdb.errstr);
        fdb_close(&p->fdb);
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (pthread_create(&p->thread, NULL, prefetch_main, p)) {
        *rc = FS_ENOMEM;
        snprintf(err, errlen, "starting the cache reader thread: %s", fs_strerror(*rc));
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv);
        fdb_close(&p->fdb);
        free(p);
        return NULL;
    }
    return p;
}

int prefetch_take(struct prefetch *p, int job, struct cache_cursor **out, char *err, size_t errlen)
{
    struct slot *s = &p->slots[job % PREFETCH_DEPTH];
    pthread_mutex_lock(&p->mu);
    while (s->job != job && !(p->failed && p->next <= job))
        pthread_cond_wait(&p->cv, &p->mu);
    bool have = s->job == job;
    if (have && job >= p->taken) {
        p->taken = job + 1;
        pthread_cond_broadcast(&p->cv); /* its memory no longer counts as read ahead */
    }
    pthread_mutex_unlock(&p->mu);
    if (!have) { /* an earlier load failed and its error was not taken */
        snprintf(err, errlen, "FalkorDB: the cache reader stopped after an error");
        return FS_ESTATE;
    }
    if (s->rc) {
        snprintf(err, errlen, "%s", s->err);
        return s->rc;
    }
    *out = &s->cc;
    return 0;
}

void prefetch_release(struct prefetch *p, int job, bool stale)
{
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < PREFETCH_DEPTH; i++) {
        struct slot *s = &p->slots[i];
        if ((s->job >= 0 && s->job <= job) || (stale && s->job > job)) {
            cache_cursor_deinit(&s->cc);
            s->job = -1;
        }
    }
    p->released = job + 1;
    if (p->taken < p->released)
        p->taken = p->released;
    if (stale) {
        p->gen++;
        p->next = job + 1;
        p->failed = false;
    }
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void prefetch_free(struct prefetch *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    for (int i = 0; i < PREFETCH_DEPTH; i++)
        if (p->slots[i].job >= 0)
            cache_cursor_deinit(&p->slots[i].cc);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    fdb_close(&p->fdb);
    free(p);
}
