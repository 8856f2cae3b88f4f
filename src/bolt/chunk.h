/* Bolt message framing: 2-byte big-endian chunk sizes, 00 00 ends a message. Pure. */
#ifndef FALKORSYNC_CHUNK_H
#define FALKORSYNC_CHUNK_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

#define BOLT_MAX_CHUNK 0xFFFF

/* Appends msg as chunks of at most max_chunk bytes (1..65535) followed by 00 00.
 * len 0 appends a lone 00 00, which peers read as a NOOP. FS_EINVAL for a bad
 * max_chunk; on error nothing is appended. */
int bolt_chunk_write(struct buf *out, const void *msg, size_t len, size_t max_chunk) FS_WARN_UNUSED;

/* Incremental de-chunker: feed it bytes as they arrive; it assembles whole
 * messages. NOOP chunks (00 00 with no message data before them) are skipped. */
struct bolt_dechunker {
    struct buf msg;      /* the message being assembled */
    size_t max_message;  /* cap on one message's size */
    uint32_t chunk_left; /* bytes still expected of the current chunk */
    uint8_t hdr[2];
    int hdr_have; /* 0..2 bytes of the next header seen */
    int done;     /* a whole message is in msg */
};

/* max_message 0 means no cap of its own (buf's default limit). */
void bolt_dechunker_init(struct bolt_dechunker *d, size_t max_message);
void bolt_dechunker_deinit(struct bolt_dechunker *d);
/* Consumes bytes from p (at most len) and stores in *used how many it took.
 * Returns 1 when a whole message is ready in d->msg (stop feeding, read it,
 * then call bolt_dechunker_next), 0 when more input is needed, or
 * FS_ETOO_BIG when a message exceeds max_message (found at the chunk header,
 * before its data arrives; the connection should then be dropped), or
 * FS_ENOMEM. */
int bolt_dechunker_feed(struct bolt_dechunker *d, const uint8_t *p, size_t len, size_t *used);
/* Forgets the message just read, ready for the next one. */
void bolt_dechunker_next(struct bolt_dechunker *d);

#endif
