/* Pipelined GRAPH.QUERY batches to one graph, replies checked in order; checkpoints after acks. */
#ifndef FALKORSYNC_LOADER_H
#define FALKORSYNC_LOADER_H

#include <stdbool.h>
#include <stdint.h>

#include "falkor/fdb.h"
#include "sync/extract.h"
#include "sync/profile.h"
#include "sync/report.h"

#define LOADER_KEY_CAP SYNC_KEY_CAP

enum pend_kind {
    PEND_BATCH, /* creates or upserts: the reply's count(...) is added to nodes/relationships */
    PEND_CKPT,  /* a checkpoint HSET */
    PEND_WRITE, /* deletes and other writes: only checked for errors */
    PEND_BULK,  /* GRAPH.BULK: its reply ("N nodes created, M edges created") is counted */
    PEND_CMDS,  /* a job of several commands (loader_cmds_add), see loader_send_cmds */
};

struct pending {
    enum pend_kind kind;
    uint32_t rows;
    bool edge;
    int type;
    char first_key[80];
    bool ckpt; /* on success, record (ckpt_type, ckpt_after) in ckpt_key */
    int ckpt_type;
    char ckpt_after[LOADER_KEY_CAP];
};

#define RING_CAP(l) ((l)->depth * 2 + 4)

struct loader_async; /* the writer thread and its bounded queue (loader.c) */

struct loader {
    struct fdb_conn fdb;
    const char *graph;    /* borrowed */
    const char *ckpt_key; /* borrowed; NULL: no checkpoints */
    int depth;            /* batches in flight */
    struct pending *ring;
    int head, count;
    struct sync_report *rep;       /* counters and the error text */
    const struct sync_type *types; /* the profile's types, named in errors */
    struct loader_async *async;    /* NULL: the caller's thread sends and reaps */
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
int loader_send(struct loader *l, const char *text, size_t len,
                const struct pending *p) FS_WARN_UNUSED;
/* Appends one command to a job of several (argv[i] is lens[i] bytes). */
int loader_cmds_add(struct buf *cmds, int argc, const char *const *argv,
                    const size_t *lens) FS_WARN_UNUSED;
/* Sends the commands in cmds back to back, each reply checked in order and
 * tracked as p (kind PEND_BULK, with its type and first_key) when it is a
 * GRAPH.BULK, as a PEND_WRITE otherwise. With a writer thread the job is
 * queued like loader_send's, by trading buffers: cmds comes back empty
 * (holding an allocation the queue no longer needs). */
int loader_send_cmds(struct loader *l, struct buf *cmds, const struct pending *p) FS_WARN_UNUSED;
/* How many batches (loader_send, loader_send_cmds) every loader of this process has sent so
 * far: unchanged between two moments, nothing was written to the cache through a loader. */
uint64_t loader_writes(void);
/* Forgets every reply owed and opens the connection again: after a failure
 * the pipeline may still owe replies that nobody will read. Not while a
 * writer thread runs. */
int loader_reconnect(struct loader *l) FS_WARN_UNUSED;
/* FalkorDB's used_memory and maxmemory in bytes (INFO memory) on the loader's connection, which
 * is opened again first (a refused pipeline may still owe replies); -1 each when unknown. Not
 * while a writer thread runs. */
void loader_memory(struct loader *l, long long *used, long long *max);
/* rc as it is, unless it is FS_ESERVER with FalkorDB's out-of-memory class: then err says so
 * with maxmemory and the memory used, that `what` wrote nothing past its last acknowledged
 * batch and waits for room, and what FalkorDB said (err's text before, else the
 * connection's); returns FS_EFDB_OOM. Not while a writer thread runs. */
int loader_out_of_memory(struct loader *l, int rc, const char *what, char *err, size_t errlen);
/* Waits for every reply in flight. */
int loader_drain(struct loader *l) FS_WARN_UNUSED;
/* Drains, then records (type, after) in ckpt_key. With a writer thread: queued
 * behind the batches sent before it and written once they are all acknowledged. */
int loader_checkpoint(struct loader *l, int type, const char *after) FS_WARN_UNUSED;

/* Overlapped loading. loader_async_start starts a writer thread that owns
 * l->fdb until loader_async_stop: from then on loader_send copies the batch
 * into a queue of at most qdepth batches (blocking while it is full) and
 * returns, so the caller can read the source while FalkorDB works; the
 * writer keeps l->depth batches in flight and checks the replies in order.
 * A failure (with the batch it belongs to) is returned by the next
 * loader_send / loader_checkpoint / loader_drain / loader_async_stop and is
 * copied to l->rep->error; later batches are dropped. loader_drain waits
 * until the queue is empty and every reply has been read. One producer
 * thread only; l->graph and l->ckpt_key may change only while drained.
 * Returns FS_ENOMEM or FS_EIO (thread creation); a no-op when started. */
int loader_async_start(struct loader *l, int qdepth) FS_WARN_UNUSED;
/* Stops the writer thread and frees the queue; l->fdb is the caller's again.
 * drain: first wait for every queued batch and its reply (returns the first
 * failure); otherwise abandon the queue after the command being sent or
 * read (the connection may then owe replies: close it). No-op when not started. */
int loader_async_stop(struct loader *l, bool drain);
/* Nodes + relationships acknowledged so far; safe while the writer runs. */
uint64_t loader_items(struct loader *l);

#endif
