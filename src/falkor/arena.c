/* Replies parsed into one arena: no malloc or free per reply object. */
#include "falkor/arena.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"

#define BLOCK_MIN ((size_t)1 << 20)

struct fdb_arena_block {
    struct fdb_arena_block *next;
    size_t cap, used;
    _Alignas(max_align_t) char data[];
};

void fdb_arena_init(struct fdb_arena *a)
{
    a->blocks = NULL;
    a->held = 0;
    buf_init(&a->raw, 0); /* fdb_command_arena caps the reply itself */
}

static void free_blocks(struct fdb_arena *a)
{
    while (a->blocks) {
        struct fdb_arena_block *b = a->blocks;
        a->blocks = b->next;
        free(b);
    }
    a->held = 0;
}

void fdb_arena_reset(struct fdb_arena *a)
{
    buf_reset(&a->raw);
    if (a->blocks && a->blocks->next) { /* several: one block of their size from now on */
        size_t held = a->held;
        free_blocks(a);
        struct fdb_arena_block *b = malloc(sizeof *b + held);
        if (b) {
            b->next = NULL;
            b->cap = held;
            a->blocks = b;
            a->held = held;
        }
    }
    if (a->blocks)
        a->blocks->used = 0;
}

void fdb_arena_deinit(struct fdb_arena *a)
{
    free_blocks(a);
    buf_deinit(&a->raw);
}

static void *arena_alloc(struct fdb_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    struct fdb_arena_block *b = a->blocks;
    if (!b || b->cap - b->used < n) {
        size_t cap = b ? b->cap * 2 : BLOCK_MIN;
        cap = cap < n ? n : cap;
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->next = a->blocks;
        b->cap = cap;
        b->used = 0;
        a->blocks = b;
        a->held += cap;
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

/* The header line at buf[pos]: its type byte, and the text after it up to "\r\n" (line, n),
 * found as hiredis finds it (the first "\r\n"). *next: the first byte after the line. False
 * when the line is not all there yet. */
static bool header(const char *buf, size_t len, size_t pos, char *type, const char **line,
                   size_t *n, size_t *next)
{
    if (pos >= len)
        return false;
    const char *p = buf + pos + 1, *end = buf + len;
    for (;;) {
        const char *cr = p < end ? memchr(p, '\r', (size_t)(end - p)) : NULL;
        if (!cr || cr + 1 >= end)
            return false;
        if (cr[1] == '\n') {
            *type = buf[pos];
            *line = buf + pos + 1;
            *n = (size_t)(cr - *line);
            *next = (size_t)(cr - buf) + 2;
            return true;
        }
        p = cr + 1;
    }
}

/* A decimal count or integer of RESP ("-1", "42"). */
static int number(const char *s, size_t n, int64_t *out)
{
    bool neg = n && s[0] == '-';
    size_t i = neg ? 1 : 0;
    if (i == n || n - i > 19)
        return FS_EPROTOCOL;
    uint64_t v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return FS_EPROTOCOL;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > (uint64_t)INT64_MAX)
        return FS_EPROTOCOL;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

/* The header at buf[pos] with its number (*v, for '$', '*' and ':'): 1, 0 when not all there
 * yet, FS_EPROTOCOL when the number is not one. A compact reply is mostly short number lines
 * ("*2", ":2", "$36"): they are read in one pass over their digits; any other line goes the
 * general way (the first "\r\n", then its text). */
static int header_number(const char *buf, size_t len, size_t pos, char *type, const char **line,
                         size_t *n, size_t *next, int64_t *v)
{
    if (pos >= len)
        return 0;
    char t = buf[pos];
    if (t == '$' || t == '*' || t == ':') {
        size_t i = pos + 1, lim = len < pos + 22 ? len : pos + 22; /* sign, 19 digits, \r\n */
        bool neg = i < lim && buf[i] == '-';
        i += neg;
        size_t d0 = i;
        uint64_t x = 0;
        while (i < lim && buf[i] >= '0' && buf[i] <= '9')
            x = x * 10 + (uint64_t)(buf[i++] - '0');
        if (i > d0 && i - d0 <= 18 && i + 1 < len && buf[i] == '\r' && buf[i + 1] == '\n') {
            *type = t;
            *line = buf + pos + 1;
            *n = i - pos - 1;
            *next = i + 2;
            *v = neg ? -(int64_t)x : (int64_t)x;
            return 1;
        }
    }
    if (!header(buf, len, pos, type, line, n, next))
        return 0;
    if ((*type == '$' || *type == '*' || *type == ':') && number(*line, *n, v))
        return FS_EPROTOCOL;
    return 1;
}

int fdb_resp_scan(struct fdb_resp_scan *s, const char *buf, size_t len)
{
    if (!s->pos && !s->depth && !s->left[0])
        s->left[0] = 1; /* a zeroed scan: one value to find */
    for (;;) {
        while (s->depth > 0 && !s->left[s->depth])
            s->depth--;
        if (!s->left[s->depth])
            return 1;
        char type;
        const char *line;
        size_t n, next;
        int64_t v = 0;
        int h = header_number(buf, len, s->pos, &type, &line, &n, &next, &v);
        if (h <= 0)
            return h;
        if (type == '$' && v >= 0) {
            if (len - next < (uint64_t)v + 2)
                return 0;
            next += (size_t)v + 2;
        } else if (type != '$' && type != '*' && type != ':' && type != '+' && type != '-') {
            return FS_EPROTOCOL;
        }
        s->left[s->depth]--;
        s->pos = next;
        if (type == '*' && v > 0) {
            if (s->depth + 1 >= FDB_RESP_MAX_DEPTH_SCAN)
                return FS_EPROTOCOL;
            s->left[++s->depth] = v;
        }
    }
}

static redisReply *new_reply(struct fdb_arena *a, int type)
{
    redisReply *r = arena_alloc(a, sizeof *r);
    if (r) {
        memset(r, 0, sizeof *r);
        r->type = type;
    }
    return r;
}

/* One value at *pos (known to be whole), recursively. */
static int parse_at(struct fdb_arena *a, char *buf, size_t len, size_t *pos, int depth,
                    redisReply **out)
{
    char type;
    const char *line;
    size_t n, next;
    int64_t v = 0;
    if (depth >= FDB_RESP_MAX_DEPTH_SCAN ||
        header_number(buf, len, *pos, &type, &line, &n, &next, &v) != 1)
        return FS_EPROTOCOL;
    bool nil = (type == '$' || type == '*') && v < 0;
    int rt = nil           ? REDIS_REPLY_NIL
             : type == '$' ? REDIS_REPLY_STRING
             : type == '*' ? REDIS_REPLY_ARRAY
             : type == ':' ? REDIS_REPLY_INTEGER
             : type == '+' ? REDIS_REPLY_STATUS
             : type == '-' ? REDIS_REPLY_ERROR
                           : -1;
    if (rt < 0)
        return FS_EPROTOCOL;
    redisReply *r = new_reply(a, rt);
    if (!r)
        return FS_ENOMEM;
    *out = r;
    *pos = next;
    if (rt == REDIS_REPLY_INTEGER) {
        r->integer = v;
    } else if (rt == REDIS_REPLY_STATUS || rt == REDIS_REPLY_ERROR) {
        r->str = buf + (line - buf);
        r->len = n;
        r->str[n] = '\0'; /* the "\r" after the line */
    } else if (rt == REDIS_REPLY_STRING) {
        if (len - next < (uint64_t)v + 2)
            return FS_EPROTOCOL;
        r->str = buf + next;
        r->len = (size_t)v;
        r->str[r->len] = '\0';
        *pos = next + (size_t)v + 2;
    } else if (rt == REDIS_REPLY_ARRAY && v > 0) {
        if ((uint64_t)v > (len - next) / 3) /* every element takes at least 3 bytes */
            return FS_EPROTOCOL;
        r->elements = (size_t)v;
        r->element = arena_alloc(a, r->elements * sizeof *r->element);
        if (!r->element)
            return FS_ENOMEM;
        for (size_t i = 0; i < r->elements; i++) {
            r->element[i] = NULL;
            int rc = parse_at(a, buf, len, pos, depth + 1, &r->element[i]);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int fdb_resp_parse(struct fdb_arena *a, char *buf, size_t len, redisReply **out)
{
    size_t pos = 0;
    *out = NULL;
    int rc = parse_at(a, buf, len, &pos, 0, out);
    return rc ? rc : pos == len ? 0 : FS_EPROTOCOL;
}

/* A copy of a hiredis reply in a (the cluster path). */
static int copy_reply(struct fdb_arena *a, const redisReply *src, redisReply **out, int depth)
{
    redisReply *r = new_reply(a, src->type);
    if (!r || depth >= FDB_RESP_MAX_DEPTH_SCAN)
        return r ? FS_EPROTOCOL : FS_ENOMEM;
    *out = r;
    r->integer = src->integer;
    if (src->str) {
        r->str = arena_alloc(a, src->len + 1);
        if (!r->str)
            return FS_ENOMEM;
        memcpy(r->str, src->str, src->len);
        r->str[src->len] = '\0';
        r->len = src->len;
    }
    if (src->type == REDIS_REPLY_ARRAY && src->elements) {
        r->element = arena_alloc(a, src->elements * sizeof *r->element);
        if (!r->element)
            return FS_ENOMEM;
        r->elements = src->elements;
        for (size_t i = 0; i < src->elements; i++) {
            int rc = copy_reply(a, src->element[i], &r->element[i], depth + 1);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int arena_fail(struct fdb_conn *c, int err, const char *what, const char *detail, bool close)
{
    if (close) { /* the rest of the reply is unknown: the next call reconnects or fails */
        net_close(&c->net);
        c->pending = 0;
    }
    c->err = err;
    c->server_err = 0;
    snprintf(c->errstr, sizeof c->errstr, "%s: %s%s%s", what, fs_strerror(err),
             detail && *detail ? ": " : "", detail ? detail : "");
    return err;
}

/* Reads one whole reply into a->raw. */
static int read_raw(struct fdb_conn *c, struct fdb_arena *a)
{
    size_t cap = c->cfg.max_reply_bytes ? c->cfg.max_reply_bytes : FDB_DEFAULT_MAX_REPLY_BYTES;
    struct fdb_resp_scan s;
    memset(&s, 0, sizeof s);
    for (;;) {
        int whole = fdb_resp_scan(&s, a->raw.data, a->raw.len);
        if (whole < 0)
            return arena_fail(c, whole, "parsing a FalkorDB reply", NULL, true);
        if (whole)
            return s.pos == a->raw.len ? 0
                                       : arena_fail(c, FS_EPROTOCOL, "parsing a FalkorDB reply",
                                                    "bytes after the reply", true);
        if (a->raw.len > cap)
            return arena_fail(c, FS_ETOO_BIG, "reading a FalkorDB reply",
                              "more than falkordb.max_reply_mb", true);
        size_t got;
        int rc = buf_reserve(&a->raw, 65536);
        rc = rc ? rc : net_read_some(&c->net, a->raw.data + a->raw.len, 65536, &got);
        if (rc)
            return arena_fail(c, rc, "reading from FalkorDB", c->net.errstr, true);
        a->raw.len += got;
    }
}

bool fdb_arena_can_send(const struct fdb_conn *c)
{
    return !c->cl && !c->pending && c->reader && c->reader->pos == c->reader->len;
}

int fdb_arena_send(struct fdb_conn *c, int argc, const char *const *argv)
{
    if (!fdb_arena_can_send(c))
        return arena_fail(c, FS_EINVAL, argv[0], "a reply is owed, or a cluster", false);
    int rc = fdb_append(c, argc, argv, NULL);
    return rc ? rc : fdb_flush(c);
}

int fdb_arena_read(struct fdb_conn *c, struct fdb_arena *a, redisReply **out, const char *what)
{
    fdb_arena_reset(a);
    *out = NULL;
    int rc = c->pending == 1 && net_is_open(&c->net)
                 ? read_raw(c, a)
                 : arena_fail(c, FS_ESTATE, what, "no reply owed", false);
    if (rc)
        return rc;
    c->pending--;
    redisReply *r = NULL;
    if ((rc = fdb_resp_parse(a, a->raw.data, a->raw.len, &r)))
        return arena_fail(c, rc, "parsing a FalkorDB reply", NULL, rc == FS_EPROTOCOL);
    char why[460];
    if (fdb_reply_error(r, why, sizeof why)) {
        arena_fail(c, FS_ESERVER, what, why, false);
        c->server_err = fdb_reply_errclass(r);
        return FS_ESERVER;
    }
    *out = r;
    return 0;
}

int fdb_command_arena(struct fdb_conn *c, struct fdb_arena *a, redisReply **out, int argc,
                      const char *const *argv)
{
    if (fdb_arena_can_send(c)) {
        int rc = fdb_arena_send(c, argc, argv);
        return rc ? rc : fdb_arena_read(c, a, out, argv[0]);
    }
    fdb_arena_reset(a);
    *out = NULL;
    redisReply *r = NULL; /* not the plain case: hiredis, then a copy */
    int rc = fdb_commandv(c, &r, argc, argv);
    if (rc)
        return rc;
    rc = copy_reply(a, r, out, 0);
    freeReplyObject(r);
    return rc ? arena_fail(c, rc, "copying a FalkorDB reply", NULL, false) : 0;
}
