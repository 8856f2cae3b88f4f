/* Growable byte buffer with a hard cap, so network input cannot grow memory without bound. */
#ifndef FALKORSYNC_BUF_H
#define FALKORSYNC_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct buf {
    char *data; /* always NUL-terminated when data != NULL */
    size_t len;
    size_t cap;   /* allocated bytes */
    size_t limit; /* largest len allowed; 0 means SIZE_MAX/2 */
};

/* Initialises caller storage; allocates nothing. */
void buf_init(struct buf *b, size_t limit);
/* Frees the storage; the buffer is reusable after buf_init. */
void buf_deinit(struct buf *b);
/* Sets len to 0 and keeps the allocation. */
void buf_reset(struct buf *b);
/* Makes room for n more bytes. FS_ETOO_BIG past the limit. */
int buf_reserve(struct buf *b, size_t n) FS_WARN_UNUSED;
int buf_append(struct buf *b, const void *p, size_t n) FS_WARN_UNUSED;
int buf_append_str(struct buf *b, const char *s) FS_WARN_UNUSED;
int buf_append_byte(struct buf *b, uint8_t c) FS_WARN_UNUSED;
int buf_printf(struct buf *b, const char *fmt, ...) FS_WARN_UNUSED
    __attribute__((format(printf, 2, 3)));
/* Removes the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);
/* Hands the storage to the caller (free() it); the buffer becomes empty. */
char *buf_detach(struct buf *b);

#endif
