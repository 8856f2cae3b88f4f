/* Pipelined GRAPH.QUERY batches to one graph with in-order reply checks and checkpoints. */
#include "sync/loader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/schema.h"



int loader_fail(struct loader *l, const char *fmt, const char *a, const char *b)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(l->rep->error, sizeof l->rep->error, fmt, a, b);
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
        freeReplyObject(r);
        char where[200];
        snprintf(where, sizeof where, "%s batch starting at key %s",
                 l->types[p->type].name, p->first_key);
        return loader_fail(l, "FalkorDB rejected the %s: %s", where, why);
    }
    if (p->kind == PEND_BATCH) {
        int64_t n = loader_reply_count(r);
        if (n < 0) {
            freeReplyObject(r);
            return loader_fail(l, "FalkorDB: unexpected reply to a %s batch%s",
                               l->types[p->type].name, "");
        }
        if (p->edge) {
            l->rep->relationships += (uint64_t)n;
            l->rep->edges_missing_endpoint += p->rows - (uint64_t)n;
        } else {
            l->rep->nodes += (uint64_t)n;
        }
        l->rep->batches++;
    }
    freeReplyObject(r);
    if (p->kind == PEND_BATCH && p->ckpt) {
        /* Every batch before this one was acknowledged: the checkpoint may advance. */
        char t[16];
        snprintf(t, sizeof t, "%d", p->ckpt_type);
        const char *argv[6] = {"HSET", l->ckpt_key, "type", t, "after", p->ckpt_after};
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

int loader_send(struct loader *l, const char *text, size_t len, const struct pending *p)
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

/* Waits for every reply in flight. */
int loader_drain(struct loader *l)
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
int loader_checkpoint(struct loader *l, int type, const char *after)
{
    int rc = loader_drain(l);
    if (rc)
        return rc;
    char t[16];
    snprintf(t, sizeof t, "%d", type);
    const char *argv[6] = {"HSET", l->ckpt_key, "type", t, "after", after};
    if (fdb_commandv(&l->fdb, NULL, 6, argv))
        return loader_fail(l, "FalkorDB checkpoint: %s%s", l->fdb.errstr, "");
    return 0;
}

