/* The continuous loop's delete check: its own thread, Bolt session and FalkorDB connection. */
#include "sync/deleter.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "falkor/fdb.h"
#include "sync/connect.h"
#include "sync/deletes.h"
#include "sync/fixer.h"
#include "sync/replicas.h"
#include "sync/target.h"

/* The graphs a check may look at: the live graph when it exists (single), else the groups
 * incremental recorded (per_group). *groups NULL with *n 0: none. */
static int cached_graphs(const struct cfg *c, struct fdb_conn *f, char ***groups, int *n, bool *any)
{
    *groups = NULL;
    *n = 0;
    *any = false;
    char key[SYNC_KEY_NAME_CAP];
    const char *argv[2];
    bool single = c->falkordb.layout == CFG_LAYOUT_SINGLE;
    if (single) {
        argv[0] = "EXISTS";
        argv[1] = c->falkordb.database;
    } else {
        sync_groups_key(c, key, sizeof key);
        argv[0] = "SMEMBERS";
        argv[1] = key;
    }
    redisReply *r = NULL;
    int rc = fdb_commandv(f, &r, 2, argv);
    if (rc)
        return rc;
    if (single) {
        *any = r->type == REDIS_REPLY_INTEGER && r->integer > 0;
    } else if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
        *groups = calloc(r->elements, sizeof **groups);
        for (size_t i = 0; *groups && i < r->elements; i++) {
            const redisReply *e = r->element[i];
            if (e->type != REDIS_REPLY_STRING)
                continue;
            if (!((*groups)[*n] = strdup(e->str))) {
                rc = FS_ENOMEM;
                break;
            }
            (*n)++;
        }
        if (!*groups)
            rc = FS_ENOMEM;
        *any = *n > 0;
    }
    freeReplyObject(r);
    return rc;
}

int sync_deletes_run(const struct cfg *c, struct dc_memo *memo, volatile sig_atomic_t *stop,
                     struct sync_report *rep)
{
    memset(rep, 0, sizeof *rep);
    double t0 = sync_now();
    struct bolt_session bolt;
    struct sync_rules rules;
    struct loader ld = {0};
    struct fixer fx = {0};
    bolt_init(&bolt);
    fdb_init(&ld.fdb);
    char **groups = NULL;
    int ngroups = 0;
    bool any = false;
    int rc = sync_rules_init(&rules, c);
    struct fdb_config fc = sync_fdb_config(c);
    fc.stop = stop; /* a stop ends a wait behind a long write too */
    if (!rc)
        rc = fixer_open(&fx, &ld, c, &rules, rep, &fc, rep->error, sizeof rep->error);
    if (!rc && (rc = cached_graphs(c, &ld.fdb, &groups, &ngroups, &any)))
        snprintf(rep->error, sizeof rep->error, "FalkorDB: %s", ld.fdb.errstr);
    if (!rc && any) {
        struct bolt_config bc = sync_bolt_config(c);
        bc.stop = stop;
        if ((rc = bolt_connect(&bolt, &bc)))
            snprintf(rep->error, sizeof rep->error, "%s", bolt.errstr);
        rc = rc ? rc : sync_deletes_check(c, &bolt, &fx, groups, ngroups, memo, stop, rep);
        rep->graphs = (uint64_t)sync_target_count(c, ngroups);
    }
    rc = loader_out_of_memory(&ld, rc, "the delete check", rep->error, sizeof rep->error);
    fixer_close(&fx);
    rc = sync_replicas_readonly(&ld.fdb, rc, rep->error, sizeof rep->error);
    struct fdb_conn *wrote_on[1] = {&ld.fdb};
    sync_replicas_wait(c, wrote_on, 1, !rc && rep->upserted + rep->deleted > 0, rep);
    sync_groups_free(groups, ngroups);
    sync_rules_deinit(&rules);
    bolt_close(&bolt);
    fdb_close(&ld.fdb);
    free(ld.ring);
    rep->seconds = rep->delete_check_seconds = sync_now() - t0;
    if (rc && !rep->error[0])
        snprintf(rep->error, sizeof rep->error, "%s", fs_strerror(rc));
    return rc;
}

struct sync_deleter {
    const struct cfg *c;
    volatile sig_atomic_t *cancel, *stop; /* either set: no check, the one going ends */
    struct sync_deleter_hooks hooks;
    pthread_t th, watch;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool busy, hold, quit;
    struct dc_memo *memo;             /* the keys the checks remember (NULL: none) */
    volatile sig_atomic_t check_stop; /* the check's own flag, set by the watcher */
};

static bool told_to_stop(const struct sync_deleter *d)
{
    return (d->cancel && *d->cancel) || (d->stop && *d->stop);
}

/* Waits on d->cv until wall clock `until` or a signal; d->mu held. */
static void wait_until(struct sync_deleter *d, double until)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double now = (double)ts.tv_sec + ts.tv_nsec / 1e9;
    double left = until - now;
    if (left <= 0)
        return;
    if (left > 0.05) /* *cancel and the switch are flags, not signals: look again soon */
        left = 0.05;
    double at = now + left;
    ts.tv_sec = (time_t)at;
    ts.tv_nsec = (long)((at - (double)ts.tv_sec) * 1e9);
    int e = pthread_cond_timedwait(&d->cv, &d->mu, &ts);
    (void)e; /* ETIMEDOUT or a signal: the caller looks again */
}

static void *deleter_main(void *arg)
{
    struct sync_deleter *d = arg;
    double due = sync_wall_now() + d->c->sync.interval_seconds;
    pthread_mutex_lock(&d->mu);
    while (!d->quit) {
        if (d->hold || sync_wall_now() < due || told_to_stop(d)) {
            wait_until(d, d->hold || told_to_stop(d) ? sync_wall_now() + 0.05 : due);
            continue;
        }
        /* busy before the switch is read: the loop clears *cancel only when not busy, so a
         * stop asked now is either seen here or cancels the check */
        d->busy = true;
        d->check_stop = 0;
        pthread_cond_broadcast(&d->cv); /* the watcher */
        pthread_mutex_unlock(&d->mu);
        bool on = !d->hooks.enabled || d->hooks.enabled(d->hooks.ud);
        int rc = 0;
        struct sync_report rep;
        memset(&rep, 0, sizeof rep);
        double started = sync_wall_now();
        if (on && !told_to_stop(d)) {
            rc = sync_deletes_run(d->c, d->memo, &d->check_stop, &rep);
            if (rc)
                sync_report_fail(&rep, rc);
        }
        pthread_mutex_lock(&d->mu);
        d->busy = false;
        pthread_cond_broadcast(&d->cv);
        pthread_mutex_unlock(&d->mu);
        if (on && d->hooks.finished && (rep.graphs || rc))
            d->hooks.finished(d->hooks.ud, rc, &rep);
        pthread_mutex_lock(&d->mu);
        due = on ? started + d->c->sync.interval_seconds : sync_wall_now() + 0.05;
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

/* While a check runs: turns *cancel, *stop and quit into the check's flag within 20 ms
 * (the check watches one flag; the loop may clear *cancel once the check has ended). */
static void *watch_main(void *arg)
{
    struct sync_deleter *d = arg;
    pthread_mutex_lock(&d->mu);
    while (!d->quit || d->busy) {
        if (!d->busy) {
            pthread_cond_wait(&d->cv, &d->mu);
            continue;
        }
        if (told_to_stop(d) || d->quit)
            d->check_stop = 1;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 20 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        int e = pthread_cond_timedwait(&d->cv, &d->mu, &ts);
        (void)e;
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

struct sync_deleter *sync_deleter_start(const struct cfg *c, volatile sig_atomic_t *cancel,
                                        volatile sig_atomic_t *stop,
                                        const struct sync_deleter_hooks *hooks)
{
    struct sync_deleter *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->c = c;
    d->cancel = cancel;
    d->stop = stop;
    d->memo = sync_deletes_memo_new();
    if (hooks)
        d->hooks = *hooks;
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    if (pthread_create(&d->watch, NULL, watch_main, d)) {
        sync_deletes_memo_free(d->memo);
        pthread_mutex_destroy(&d->mu);
        pthread_cond_destroy(&d->cv);
        free(d);
        return NULL;
    }
    if (pthread_create(&d->th, NULL, deleter_main, d)) {
        pthread_mutex_lock(&d->mu);
        d->quit = true;
        pthread_cond_broadcast(&d->cv);
        pthread_mutex_unlock(&d->mu);
        pthread_join(d->watch, NULL);
        sync_deletes_memo_free(d->memo);
        pthread_mutex_destroy(&d->mu);
        pthread_cond_destroy(&d->cv);
        free(d);
        return NULL;
    }
    return d;
}

bool sync_deleter_busy(struct sync_deleter *d)
{
    pthread_mutex_lock(&d->mu);
    bool b = d->busy;
    pthread_mutex_unlock(&d->mu);
    return b;
}

void sync_deleter_hold(struct sync_deleter *d, bool on)
{
    pthread_mutex_lock(&d->mu);
    d->hold = on;
    while (on && d->busy)
        pthread_cond_wait(&d->cv, &d->mu);
    if (on) /* a full sync or a reconcile replaces what is remembered */
        sync_deletes_memo_clear(d->memo);
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

void sync_deleter_stop(struct sync_deleter *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->mu);
    d->quit = true;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->th, NULL);
    pthread_join(d->watch, NULL);
    sync_deletes_memo_free(d->memo);
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->cv);
    free(d);
}
