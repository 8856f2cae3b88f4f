/* Pipelined GRAPH.QUERY batches to one graph, replies checked in order; checkpoints after acks. */
#ifndef FALKORSYNC_LOADER_H
#define FALKORSYNC_LOADER_H

#include <stdbool.h>
#include <stdint.h>

#include "falkor/fdb.h"
#include "sync/common.h"
#include "sync/schema.h"

#define LOADER_KEY_CAP 512

enum pend_kind {
    PEND_BATCH, /* creates or upserts: the reply's count(...) is added to nodes/relationships */
    PEND_CKPT,  /* a checkpoint HSET */
    PEND_WRITE, /* deletes and other writes: only checked for errors */
};

struct pending {
    enum pend_kind kind;
    uint32_t rows;
    bool edge;
    int type;
    char first_key[80];
    bool ckpt;           /* on success, record (ckpt_type, ckpt_after) in ckpt_key */
    int ckpt_type;
    char ckpt_after[LOADER_KEY_CAP];
};

#define RING_CAP(l) ((l)->depth * 2 + 4)

struct loader {
    struct fdb_conn fdb;
    const char *graph;    /* borrowed */
    const char *ckpt_key; /* borrowed; NULL: no checkpoints */
    int depth;            /* batches in flight */
    struct pending *ring;
    int head, count;
    struct sync_report *rep; /* counters and the error text */
    const struct sync_type *types; /* the profile's types, named in errors */
};

/* Records a failure in l->rep->error; returns FS_ESERVER. */
int loader_fail(struct loader *l, const char *fmt, const char *a, const char *b)
    __attribute__((format(printf, 2, 0)));
/* The integer in the first cell of a GRAPH.QUERY reply, or -1. */
int64_t loader_reply_count(const redisReply *r);
/* Queues p (reaping the oldest reply first when depth batches are in flight). */
int loader_push(struct loader *l, const struct pending *p) FS_WARN_UNUSED;
/* Reads and checks the oldest reply. */
int loader_reap(struct loader *l) FS_WARN_UNUSED;
/* Sends GRAPH.QUERY <graph> <text> and tracks its reply as p. */
int loader_send(struct loader *l, const char *text, size_t len, const struct pending *p)
    FS_WARN_UNUSED;
/* Waits for every reply in flight. */
int loader_drain(struct loader *l) FS_WARN_UNUSED;
/* Drains, then records (type, after) in ckpt_key. */
int loader_checkpoint(struct loader *l, int type, const char *after) FS_WARN_UNUSED;

#endif
