/* Replies held in one arena: a RESP2 reply read as bytes and parsed into hiredis' redisReply
 * shape (so falkor/compact's accessors read it), with every object, element array and string
 * in the arena's memory instead of a malloc each. For large read-only replies read one at a
 * time (verify's cache pages: tens of thousands of objects each): fdb_arena_reset frees them
 * all at once and keeps the memory for the next reply. Never pass an arena reply to
 * freeReplyObject. Not thread-safe: one arena per thread. */
#ifndef FALKORSYNC_FALKOR_ARENA_H
#define FALKORSYNC_FALKOR_ARENA_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "falkor/fdb.h"
#include "util/buf.h"

#define FDB_RESP_MAX_DEPTH_SCAN 32

struct fdb_arena_block;

struct fdb_arena {
    struct fdb_arena_block *blocks; /* newest first */
    size_t held;                    /* bytes of blocks held */
    struct buf raw;                 /* the reply's bytes; strings point into it */
};

/* Where fdb_resp_scan is in a reply that arrives in pieces. */
struct fdb_resp_scan {
    size_t pos; /* bytes of complete items so far */
    int depth;
    int64_t left[FDB_RESP_MAX_DEPTH_SCAN];
};

void fdb_arena_init(struct fdb_arena *a);
/* Forgets every reply parsed into a (their memory is reused by the next one). */
void fdb_arena_reset(struct fdb_arena *a);
void fdb_arena_deinit(struct fdb_arena *a);

/* Pure: whether buf[0..len) starts with one whole RESP2 value. Call first with *s zeroed,
 * then again with the same s each time more bytes arrived. 1: whole (s->pos is its length),
 * 0: more bytes needed, FS_EPROTOCOL: not RESP2 (or nested deeper than
 * FDB_RESP_MAX_DEPTH_SCAN). */
int fdb_resp_scan(struct fdb_resp_scan *s, const char *buf, size_t len) FS_WARN_UNUSED;

/* Pure: parses the whole RESP2 value of buf[0..len) (as fdb_resp_scan found it) into a's
 * memory: *out is a redisReply tree whose strings point into buf (which must outlive it, and
 * is written to: each string's "\r" becomes its NUL). 0, FS_EPROTOCOL or FS_ENOMEM. */
int fdb_resp_parse(struct fdb_arena *a, char *buf, size_t len, redisReply **out) FS_WARN_UNUSED;

/* Pipelining one command on one server: whether fdb_arena_send may be used now (not a
 * cluster, no reply owed), sending it, and reading its reply into a (reset first) later;
 * meanwhile the caller works on the previous reply (in another arena, or done with it before
 * the read). Errors as fdb_command_arena's. */
bool fdb_arena_can_send(const struct fdb_conn *c);
int fdb_arena_send(struct fdb_conn *c, int argc, const char *const *argv) FS_WARN_UNUSED;
int fdb_arena_read(struct fdb_conn *c, struct fdb_arena *a, redisReply **out,
                   const char *what) FS_WARN_UNUSED;

/* fdb_commandv with the reply held in a (reset first): one server, nothing else in flight,
 * read straight into a->raw and parsed there; in cluster mode (or with replies owed) the
 * normal path, copied into a. An error reply is FS_ESERVER with errstr and server_err set, as
 * fdb_commandv does; I/O and protocol failures close the connection. */
int fdb_command_arena(struct fdb_conn *c, struct fdb_arena *a, redisReply **out, int argc,
                      const char *const *argv) FS_WARN_UNUSED;

#endif
