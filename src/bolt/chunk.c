/* Bolt message framing: splits messages into size-prefixed chunks and reassembles them. */
#include "bolt/chunk.h"

#include <string.h>

int bolt_chunk_write(struct buf *out, const void *msg, size_t len, size_t max_chunk)
{
    if (max_chunk == 0 || max_chunk > BOLT_MAX_CHUNK || (!msg && len))
        return FS_EINVAL;
    /* Reserve everything first so a failure appends nothing. */
    if (len > (SIZE_MAX - 2) / 3)
        return FS_ETOO_BIG;
    size_t nchunks = len / max_chunk + (len % max_chunk != 0);
    int rc = buf_reserve(out, len + 2 * nchunks + 2);
    if (rc)
        return rc;
    const uint8_t *p = msg;
    size_t off = 0;
    while (off < len) {
        size_t n = len - off < max_chunk ? len - off : max_chunk;
        uint8_t hdr[2] = {(uint8_t)(n >> 8), (uint8_t)n};
        rc = buf_append(out, hdr, sizeof hdr);
        if (!rc)
            rc = buf_append(out, p + off, n);
        if (rc)
            return rc;
        off += n;
    }
    static const uint8_t end[2] = {0, 0};
    return buf_append(out, end, sizeof end);
}

void bolt_dechunker_init(struct bolt_dechunker *d, size_t max_message)
{
    memset(d, 0, sizeof *d);
    d->max_message = max_message ? max_message : SIZE_MAX / 2;
    buf_init(&d->msg, d->max_message);
}

void bolt_dechunker_deinit(struct bolt_dechunker *d)
{
    buf_deinit(&d->msg);
    d->chunk_left = 0;
    d->hdr_have = 0;
    d->done = 0;
}

int bolt_dechunker_feed(struct bolt_dechunker *d, const uint8_t *p, size_t len, size_t *used)
{
    size_t pos = 0;
    int rc = 0;
    while (!d->done && pos < len) {
        if (d->chunk_left > 0) {
            size_t n = len - pos < d->chunk_left ? len - pos : d->chunk_left;
            rc = buf_append(&d->msg, p + pos, n);
            if (rc)
                break;
            pos += n;
            d->chunk_left -= (uint32_t)n;
            continue;
        }
        d->hdr[d->hdr_have++] = p[pos++];
        if (d->hdr_have < 2)
            continue;
        d->hdr_have = 0;
        uint32_t size = (uint32_t)d->hdr[0] << 8 | d->hdr[1];
        if (size == 0) {
            /* 00 00 ends a message, or is a NOOP (keep-alive) between messages */
            if (d->msg.len > 0)
                d->done = 1;
            continue;
        }
        /* Refuse as soon as the header announces too much, before the data arrives. */
        if (size > d->max_message - d->msg.len) {
            rc = FS_ETOO_BIG;
            break;
        }
        d->chunk_left = size;
    }
    *used = pos;
    if (rc)
        return rc;
    return d->done ? 1 : 0;
}

void bolt_dechunker_next(struct bolt_dechunker *d)
{
    buf_reset(&d->msg);
    d->done = 0;
}
