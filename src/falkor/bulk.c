/* GRAPH.BULK binary encoding (see bulk.h for the format). */
#include "falkor/bulk.h"

#include <string.h>

static void rollback(struct buf *b, size_t mark)
{
    b->len = mark;
    if (b->data)
        b->data[mark] = '\0';
}

static int put_u64(struct buf *b, uint8_t type, bool typed, uint64_t v)
{
    uint8_t x[9];
    size_t n = 0;
    if (typed)
        x[n++] = type;
    for (int i = 0; i < 8; i++)
        x[n++] = (uint8_t)(v >> (8 * i));
    return buf_append(b, x, n);
}

int fdb_bulk_null(struct buf *b)
{
    return buf_append_byte(b, FDB_BULK_NULL);
}

int fdb_bulk_bool(struct buf *b, bool v)
{
    uint8_t x[2] = {FDB_BULK_BOOL, v ? 1 : 0};
    return buf_append(b, x, 2);
}

int fdb_bulk_long(struct buf *b, int64_t v)
{
    return put_u64(b, FDB_BULK_LONG, true, (uint64_t)v);
}

int fdb_bulk_double(struct buf *b, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return put_u64(b, FDB_BULK_DOUBLE, true, bits);
}

int fdb_bulk_string(struct buf *b, const char *s, size_t len)
{
    if (memchr(s, 0, len))
        return FS_EUNSUPPORTED;
    int rc = buf_reserve(b, len + 2);
    if (rc)
        return rc;
    b->data[b->len++] = FDB_BULK_STRING;
    memcpy(b->data + b->len, s, len);
    b->len += len;
    b->data[b->len++] = '\0';
    b->data[b->len] = '\0'; /* the buffer's own terminator (buf_reserve left room) */
    return 0;
}

int fdb_bulk_array(struct buf *b, uint64_t n)
{
    if (n > INT64_MAX)
        return FS_EINVAL;
    return put_u64(b, FDB_BULK_ARRAY, true, n);
}

int fdb_bulk_ends(struct buf *b, uint64_t src, uint64_t dst)
{
    size_t mark = b->len;
    int rc = put_u64(b, 0, false, src);
    rc = rc ? rc : put_u64(b, 0, false, dst);
    if (rc)
        rollback(b, mark);
    return rc;
}

int fdb_bulk_header(struct buf *b, bool edge, const char *labels, size_t len, uint32_t nprops,
                    const char *names, size_t names_len)
{
    if (!len || memchr(labels, 0, len) || (edge && memchr(labels, ':', len)) ||
        nprops > FDB_BULK_MAX_PROPS)
        return FS_EINVAL;
    /* "A:B" names two labels: none of them may be empty */
    if (labels[0] == ':' || labels[len - 1] == ':')
        return FS_EINVAL;
    for (size_t i = 1; i < len; i++)
        if (labels[i] == ':' && labels[i - 1] == ':')
            return FS_EINVAL;
    /* names: exactly nprops NUL-terminated strings */
    uint32_t seen = 0;
    for (size_t i = 0; i < names_len; i++)
        seen += names[i] == '\0';
    if (seen != nprops || (names_len && names[names_len - 1] != '\0'))
        return FS_EINVAL;
    size_t mark = b->len;
    int rc = buf_append(b, labels, len);
    rc = rc ? rc : buf_append_byte(b, 0);
    uint8_t c[4] = {(uint8_t)nprops, (uint8_t)(nprops >> 8), (uint8_t)(nprops >> 16),
                    (uint8_t)(nprops >> 24)};
    rc = rc ? rc : buf_append(b, c, 4);
    rc = rc ? rc : buf_append(b, names, names_len);
    if (rc)
        rollback(b, mark);
    return rc;
}

/* ---- The checker: reads a token the way the server does, bounds-checked ---- */

struct rd {
    const uint8_t *p;
    size_t len, pos;
};

static int rd_u64(struct rd *r, uint64_t *v)
{
    if (r->len - r->pos < 8)
        return FS_EMALFORMED;
    uint64_t x = 0;
    for (int i = 0; i < 8; i++)
        x |= (uint64_t)r->p[r->pos + i] << (8 * i);
    r->pos += 8;
    *v = x;
    return 0;
}

static int rd_cstr(struct rd *r)
{
    const uint8_t *z = memchr(r->p + r->pos, 0, r->len - r->pos);
    if (!z)
        return FS_EMALFORMED;
    r->pos = (size_t)(z - r->p) + 1;
    return 0;
}

static int rd_value(struct rd *r, int depth)
{
    if (r->pos >= r->len)
        return FS_EMALFORMED;
    uint8_t t = r->p[r->pos++];
    uint64_t v;
    switch (t) {
    case FDB_BULK_NULL:
        return 0;
    case FDB_BULK_BOOL:
        if (r->pos >= r->len)
            return FS_EMALFORMED;
        r->pos++;
        return 0;
    case FDB_BULK_DOUBLE:
    case FDB_BULK_LONG:
        return rd_u64(r, &v);
    case FDB_BULK_STRING:
        return rd_cstr(r);
    case FDB_BULK_ARRAY: {
        int rc = rd_u64(r, &v);
        if (rc)
            return rc;
        /* every element takes at least one byte; the server counts in uint */
        if (depth <= 0 || v > r->len - r->pos || v > UINT32_MAX)
            return FS_EMALFORMED;
        for (uint64_t i = 0; i < v; i++)
            if ((rc = rd_value(r, depth - 1)))
                return rc;
        return 0;
    }
    default:
        return FS_EMALFORMED;
    }
}

int fdb_bulk_check(const void *token, size_t len, bool edge, int max_depth, uint64_t *rows)
{
    struct rd r = {token, len, 0};
    *rows = 0;
    /* header: label(s), property count, names */
    if (!len || r.p[0] == '\0' || rd_cstr(&r))
        return FS_EMALFORMED;
    const char *labels = token;
    size_t llen = r.pos - 1;
    if (labels[0] == ':' || labels[llen - 1] == ':' || strstr(labels, "::") ||
        (edge && memchr(labels, ':', llen)))
        return FS_EMALFORMED; /* an empty label, or an edge with two types */
    if (len - r.pos < 4)
        return FS_EMALFORMED;
    uint32_t nprops = (uint32_t)r.p[r.pos] | (uint32_t)r.p[r.pos + 1] << 8 |
                      (uint32_t)r.p[r.pos + 2] << 16 | (uint32_t)r.p[r.pos + 3] << 24;
    r.pos += 4;
    if (nprops > FDB_BULK_MAX_PROPS)
        return FS_EMALFORMED;
    for (uint32_t i = 0; i < nprops; i++)
        if (rd_cstr(&r))
            return FS_EMALFORMED;
    /* rows up to the end; a row without properties would never end the loop
     * on the server unless it has endpoints, so nodes need one property */
    if (!edge && nprops == 0 && r.pos < len)
        return FS_EMALFORMED;
    while (r.pos < len) {
        uint64_t v;
        if (edge && (rd_u64(&r, &v) || rd_u64(&r, &v)))
            return FS_EMALFORMED;
        for (uint32_t i = 0; i < nprops; i++)
            if (rd_value(&r, max_depth))
                return FS_EMALFORMED;
        (*rows)++;
    }
    return 0;
}
