/* Pipelined GRAPH.QUERY batches to one graph with in-order reply checks and checkpoints. */
#include "sync/loader.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/state.h"

/* One queued batch (or checkpoint) waiting for the writer thread. */
struct loader_job {
    struct pending p; /* PEND_CKPT: a checkpoint (p.ckpt_type, p.ckpt_after), no text */
    struct buf text;  /* the GRAPH.QUERY text; the allocation is reused */
};

struct loader_async {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t to_writer;   /* a job was queued, or stop */
    pthread_cond_t to_producer; /* a slot was freed, the writer went idle, or it failed */
    struct loader_job *q;
    int cap, head, count; /* the job at head stays queued until it has been sent */
    bool idle;            /* nothing queued and no reply owed */
    bool stop;            /* abandon: exit after the command being sent or read */
    int failed;           /* the writer's first failure; the writer then exits */
    char error[sizeof((struct sync_report *)0)->error];
};

int loader_fail(struct loader *l, const char *fmt, const char *a, const char *b)
{
    /* With a writer thread this runs on it: the producer copies the text out
     * once it sees `failed` (set under the mutex, after this write). */
    char *out = l->async ? l->async->error : l->rep->error;
    size_t cap = l->async ? sizeof l->async->error : sizeof l->rep->error;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(out, cap, fmt, a, b);
#pragma GCC diagnostic pop
    return FS_ESERVER;
}

int64_t loader_reply_count(const redisReply *r)
{
    /* [header, rows, stats]; rows[0][0] is the count */
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 3)
        return -1;
    const redisReply *rows = r->element[1];
    if (rows->type != REDIS_REPLY_ARRAY || rows->elements < 1)
        return -1;
    const redisReply *row = rows->element[0];
    if (row->type != REDIS_REPLY_ARRAY || row->elements < 1)
        return -1;
    const redisReply *v = row->element[0];
    if (v->type == REDIS_REPLY_INTEGER)
        return v->integer;
    if (v->type == REDIS_REPLY_STRING)
        return strtoll(v->str, NULL, 10);
    return -1;
}

/* Reads the oldest reply and checks it against what was sent. */
int loader_reap(struct loader *l)
{
    struct pending *p = &l->ring[l->head];
    redisReply *r = NULL;
    int rc = fdb_read_reply(&l->fdb, &r);
    if (rc)
        return loader_fail(l, "FalkorDB: %s%s", l->fdb.errstr, "");
    char why[400];
    if (fdb_reply_error(r, why, sizeof why)) {
        l->fdb.server_err = fdb_reply_errclass(r); /* callers tell NOPERM etc. apart by it */
        freeReplyObject(r);
        char where[200];
        snprintf(where, sizeof where, "%s batch starting at key %s", l->types[p->type].name,
                 p->first_key);
        return loader_fail(l, "FalkorDB rejected the %s: %s", where, why);
    }
    if (p->kind == PEND_BULK) {
        long long n = -1, m = -1;
        if (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS)
            n = -1;
        else if (sscanf(r->str, "%lld nodes created, %lld edges created", &n, &m) != 2)
            n = -1;
        if (n < 0 || m < 0) {
            freeReplyObject(r);
            return loader_fail(l, "FalkorDB: unexpected reply to a GRAPH.BULK of %s%s",
                               l->types[p->type].name, "");
        }
        if (l->async)
            pthread_mutex_lock(&l->async->mu);
        l->rep->nodes += (uint64_t)n;
        l->rep->relationships += (uint64_t)m;
        l->rep->batches++;
        if (l->async)
            pthread_mutex_unlock(&l->async->mu);
    }
    if (p->kind == PEND_BATCH) {
        int64_t n = loader_reply_count(r);
        if (n < 0) {
            freeReplyObject(r);
            return loader_fail(l, "FalkorDB: unexpected reply to a %s batch%s",
                               l->types[p->type].name, "");
        }
        if (l->async) /* the producer reads the counters (loader_items) */
            pthread_mutex_lock(&l->async->mu);
        if (p->edge) {
            l->rep->relationships += (uint64_t)n;
            l->rep->edges_missing_endpoint += p->rows - (uint64_t)n;
        } else {
            l->rep->nodes += (uint64_t)n;
        }
        l->rep->batches++;
        if (l->async)
            pthread_mutex_unlock(&l->async->mu);
    }
    freeReplyObject(r);
    if (p->kind == PEND_BATCH && p->ckpt) {
        /* Every batch before this one was acknowledged: the checkpoint may advance. */
        char t[16];
        const char *argv[6];
        state_ckpt_progress_argv(argv, t, l->ckpt_key, p->ckpt_type, p->ckpt_after);
        if (fdb_append(&l->fdb, 6, argv, NULL))
            return loader_fail(l, "FalkorDB checkpoint: %s%s", l->fdb.errstr, "");
        int slot = (l->head + l->count) % RING_CAP(l);
        l->ring[slot] = (struct pending){.kind = PEND_CKPT, .type = p->type};
        l->count++;
    }
    l->head = (l->head + 1) % RING_CAP(l);
    l->count--;
    return 0;
}

int loader_reconnect(struct loader *l)
{
    l->head = l->count = 0;
    return fdb_reconnect(&l->fdb);
}

void loader_memory(struct loader *l, long long *used, long long *max)
{
    *used = *max = -1;
    const char *info[2] = {"INFO", "memory"};
    redisReply *r = NULL;
    if (loader_reconnect(l) || fdb_commandv(&l->fdb, &r, 2, info))
        return;
    if (r->type == REDIS_REPLY_STRING) {
        *used = fdb_info_field(r->str, "used_memory");
        *max = fdb_info_field(r->str, "maxmemory");
    }
    freeReplyObject(r);
}

int loader_out_of_memory(struct loader *l, int rc, const char *what, char *err, size_t errlen)
{
    if (rc != FS_ESERVER || l->fdb.server_err != FS_EFDB_OOM)
        return rc;
    char why[400];
    snprintf(why, sizeof why, "%s", err[0] ? err : l->fdb.errstr);
    long long used, max;
    loader_memory(l, &used, &max);
    const double mb = 1024.0 * 1024.0;
    char sizes[160] = "";
    if (used >= 0 && max > 0)
        snprintf(sizes, sizeof sizes, " (maxmemory %.0f MB, used %.0f MB)", max / mb, used / mb);
    else if (used >= 0)
        snprintf(sizes, sizeof sizes, " (used %.0f MB, maxmemory reached)", used / mb);
    snprintf(err, errlen,
             "FalkorDB is out of memory%s: it refused the writes of %s; no watermark moved past "
             "what it acknowledged, so the next run writes them again once there is room (raise "
             "maxmemory or free memory). FalkorDB said: %.200s",
             sizes, what, why);
    return FS_EFDB_OOM;
}

int loader_push(struct loader *l, const struct pending *p)
{
    while (l->count >= l->depth) {
        int rc = loader_reap(l);
        if (rc)
            return rc;
    }
    int slot = (l->head + l->count) % RING_CAP(l);
    l->ring[slot] = *p;
    l->count++;
    return 0;
}

static int sync_send(struct loader *l, const char *text, size_t len, const struct pending *p)
{
    const char *argv[3] = {"GRAPH.QUERY", l->graph, text};
    size_t lens[3] = {11, strlen(l->graph), len};
    int rc = loader_push(l, p);
    if (rc)
        return rc;
    if (fdb_append(&l->fdb, 3, argv, lens) || fdb_flush(&l->fdb))
        return loader_fail(l, "FalkorDB: %s%s", l->fdb.errstr, "");
    return 0;
}

int loader_cmds_add(struct buf *cmds, int argc, const char *const *argv, const size_t *lens)
{
    size_t mark = cmds->len;
    uint32_t n = (uint32_t)argc;
    int rc = buf_append(cmds, &n, sizeof n);
    for (int i = 0; !rc && i < argc; i++) {
        uint64_t len = lens[i];
        rc = buf_append(cmds, &len, sizeof len);
        rc = rc ? rc : buf_append(cmds, argv[i], lens[i]);
    }
    if (rc)
        cmds->len = mark;
    return rc;
}

/* Sends every command of a job (the format of loader_cmds_add). */
static int sync_send_cmds(struct loader *l, const char *data, size_t len, const struct pending *p)
{
    size_t pos = 0;
    const char **argv = NULL;
    size_t *lens = NULL;
    int rc = 0;
    while (!rc && pos < len) {
        uint32_t argc;
        memcpy(&argc, data + pos, sizeof argc);
        pos += sizeof argc;
        const char **av = realloc(argv, (argc ? argc : 1) * sizeof *argv);
        size_t *al = av ? realloc(lens, (argc ? argc : 1) * sizeof *lens) : NULL;
        if (av)
            argv = av;
        if (!al) {
            rc = FS_ENOMEM;
            break;
        }
        lens = al;
        for (uint32_t i = 0; i < argc; i++) {
            uint64_t n;
            memcpy(&n, data + pos, sizeof n);
            pos += sizeof n;
            argv[i] = data + pos;
            lens[i] = (size_t)n;
            pos += (size_t)n;
        }
        struct pending q = {.kind = PEND_WRITE, .type = p->type};
        if (argc && lens[0] == 10 && !memcmp(argv[0], "GRAPH.BULK", 10)) {
            q = *p;
            q.kind = PEND_BULK;
        } else {
            snprintf(q.first_key, sizeof q.first_key, "%s", p->first_key);
        }
        rc = loader_push(l, &q);
        if (!rc && fdb_append(&l->fdb, (int)argc, argv, lens))
            rc = loader_fail(l, "FalkorDB: %s%s", l->fdb.errstr, "");
    }
    if (!rc && fdb_flush(&l->fdb))
        rc = loader_fail(l, "FalkorDB: %s%s", l->fdb.errstr, "");
    free(argv);
    free(lens);
    return rc;
}

/* Waits for every reply in flight. */
static int sync_drain(struct loader *l)
{
    while (l->count > 0) {
        int rc = loader_reap(l);
        if (rc)
            return rc;
    }
    return 0;
}

/* Records progress: the next type to load and the last key fully written.
 * Sent only after every batch before it was acknowledged. */
static int sync_checkpoint(struct loader *l, int type, const char *after)
{
    int rc = sync_drain(l);
    if (rc)
        return rc;
    char t[16];
    const char *argv[6];
    state_ckpt_progress_argv(argv, t, l->ckpt_key, type, after);
    if (fdb_commandv(&l->fdb, NULL, 6, argv))
        return loader_fail(l, "FalkorDB checkpoint: %s%s", l->fdb.errstr, "");
    return 0;
}

/* ---- The writer thread ----------------------------------------------------- */

/* Sends the job at the head of the queue: the caller's thread's loader_send or
 * loader_checkpoint, run on the writer. */
static int writer_send(struct loader *l, struct loader_job *j)
{
    if (j->p.kind == PEND_CKPT)
        return sync_checkpoint(l, j->p.ckpt_type, j->p.ckpt_after);
    if (j->p.kind == PEND_CMDS)
        return sync_send_cmds(l, j->text.data, j->text.len, &j->p);
    return sync_send(l, j->text.data, j->text.len, &j->p);
}

/* Sends queued jobs, keeping l->depth replies owed, and reads replies when
 * there is nothing to send or the pipeline is full (sync_send reaps then). */
static void *writer_main(void *arg)
{
    struct loader *l = arg;
    struct loader_async *a = l->async;
    pthread_mutex_lock(&a->mu);
    while (!a->stop && !a->failed) {
        int rc;
        if (a->count > 0) {
            struct loader_job *j = &a->q[a->head]; /* the producer writes only past the tail */
            pthread_mutex_unlock(&a->mu);
            rc = writer_send(l, j);
            pthread_mutex_lock(&a->mu);
            if (!rc) {
                a->head = (a->head + 1) % a->cap;
                a->count--;
                pthread_cond_broadcast(&a->to_producer);
            }
        } else if (l->count > 0) { /* l->ring is the writer's alone */
            pthread_mutex_unlock(&a->mu);
            rc = loader_reap(l);
            pthread_mutex_lock(&a->mu);
        } else {
            a->idle = true;
            pthread_cond_broadcast(&a->to_producer);
            pthread_cond_wait(&a->to_writer, &a->mu);
            continue;
        }
        if (rc) {
            a->failed = rc;
            pthread_cond_broadcast(&a->to_producer);
        }
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

/* With a->mu held: the writer's failure, its text copied to the report. */
static int async_failure(struct loader *l)
{
    struct loader_async *a = l->async;
    if (!l->rep->error[0])
        snprintf(l->rep->error, sizeof l->rep->error, "%s", a->error);
    return a->failed;
}

/* Waits for a free slot at the tail of the queue. The writer does not look
 * at it until async_publish counts it, so it is filled without the lock. */
static int async_slot(struct loader *l, struct loader_job **out)
{
    struct loader_async *a = l->async;
    pthread_mutex_lock(&a->mu);
    while (!a->failed && a->count == a->cap)
        pthread_cond_wait(&a->to_producer, &a->mu);
    int rc = a->failed ? async_failure(l) : 0;
    *out = &a->q[(a->head + a->count) % a->cap];
    pthread_mutex_unlock(&a->mu);
    return rc;
}

static void async_publish(struct loader *l)
{
    struct loader_async *a = l->async;
    pthread_mutex_lock(&a->mu);
    a->count++;
    a->idle = false;
    pthread_cond_signal(&a->to_writer);
    pthread_mutex_unlock(&a->mu);
}

/* Queues a job (text may be NULL for a checkpoint), copying text. */
static int async_enqueue(struct loader *l, const struct pending *p, const char *text, size_t len)
{
    struct loader_job *j;
    int rc = async_slot(l, &j);
    if (rc)
        return rc;
    j->p = *p;
    buf_reset(&j->text);
    if (text && (rc = buf_append(&j->text, text, len)))
        return rc;
    async_publish(l);
    return 0;
}

/* Queues a job by trading buffers: the job takes text's, and text gets the
 * slot's old one (emptied, its allocation kept), so nothing is copied. */
static int async_enqueue_swap(struct loader *l, const struct pending *p, struct buf *text)
{
    struct loader_job *j;
    int rc = async_slot(l, &j);
    if (rc)
        return rc;
    j->p = *p;
    struct buf old = j->text;
    j->text = *text;
    *text = old;
    buf_reset(text);
    async_publish(l);
    return 0;
}

/* Batches sent to FalkorDB by any loader of the process (loader_writes). */
static atomic_uint_fast64_t writes_total;

uint64_t loader_writes(void)
{
    return (uint64_t)atomic_load(&writes_total);
}

int loader_send(struct loader *l, const char *text, size_t len, const struct pending *p)
{
    atomic_fetch_add(&writes_total, 1);
    return l->async ? async_enqueue(l, p, text, len) : sync_send(l, text, len, p);
}

int loader_send_cmds(struct loader *l, struct buf *cmds, const struct pending *p)
{
    struct pending q = *p;
    q.kind = PEND_CMDS;
    atomic_fetch_add(&writes_total, 1);
    if (!l->async)
        return sync_send_cmds(l, cmds->data, cmds->len, &q);
    return async_enqueue_swap(l, &q, cmds);
}

int loader_checkpoint(struct loader *l, int type, const char *after)
{
    if (!l->async)
        return sync_checkpoint(l, type, after);
    struct pending p = {.kind = PEND_CKPT, .ckpt_type = type};
    snprintf(p.ckpt_after, sizeof p.ckpt_after, "%s", after);
    return async_enqueue(l, &p, NULL, 0);
}

int loader_drain(struct loader *l)
{
    struct loader_async *a = l->async;
    if (!a)
        return sync_drain(l);
    pthread_mutex_lock(&a->mu);
    while (!a->failed && !(a->count == 0 && a->idle))
        pthread_cond_wait(&a->to_producer, &a->mu);
    int rc = a->failed ? async_failure(l) : 0;
    pthread_mutex_unlock(&a->mu);
    return rc;
}

uint64_t loader_items(struct loader *l)
{
    if (!l->async)
        return l->rep->nodes + l->rep->relationships;
    pthread_mutex_lock(&l->async->mu);
    uint64_t n = l->rep->nodes + l->rep->relationships;
    pthread_mutex_unlock(&l->async->mu);
    return n;
}

static void async_free(struct loader_async *a)
{
    for (int i = 0; a->q && i < a->cap; i++)
        buf_deinit(&a->q[i].text);
    free(a->q);
    free(a);
}

int loader_async_start(struct loader *l, int qdepth)
{
    if (l->async)
        return 0;
    struct loader_async *a = calloc(1, sizeof *a);
    if (!a)
        return FS_ENOMEM;
    a->cap = qdepth > 0 ? qdepth : 1;
    a->q = calloc((size_t)a->cap, sizeof *a->q);
    if (!a->q) {
        async_free(a);
        return FS_ENOMEM;
    }
    for (int i = 0; i < a->cap; i++)
        buf_init(&a->q[i].text, SYNC_BATCH_CAP);
    a->idle = l->count == 0;
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->to_writer, NULL);
    pthread_cond_init(&a->to_producer, NULL);
    l->async = a;
    /* Signals stay with the caller's thread: its stop flag handles them, and
     * a blocking read on the writer is never interrupted by one. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&a->thread, NULL, writer_main, l);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e) {
        l->async = NULL;
        pthread_mutex_destroy(&a->mu);
        pthread_cond_destroy(&a->to_writer);
        pthread_cond_destroy(&a->to_producer);
        async_free(a);
        return FS_ENOMEM;
    }
    return 0;
}

int loader_async_stop(struct loader *l, bool drain)
{
    struct loader_async *a = l->async;
    if (!a)
        return 0;
    int rc = drain ? loader_drain(l) : 0;
    pthread_mutex_lock(&a->mu);
    a->stop = true;
    pthread_cond_signal(&a->to_writer);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->thread, NULL);
    l->async = NULL;
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->to_writer);
    pthread_cond_destroy(&a->to_producer);
    async_free(a);
    return rc;
}
