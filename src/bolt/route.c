/* Bolt routing codec: routing context, ROUTE request bytes, routing table parser; no I/O. */
#include "bolt/route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Addresses -------------------------------------------------------- */

int bolt_addr_parse(const char *s, size_t len, struct bolt_addr *out)
{
    memset(out, 0, sizeof *out);
    out->port = 7687;
    const char *end = s + len;
    const char *h = s, *hend, *rest;
    if (len && *s == '[') {
        hend = memchr(s, ']', len);
        if (!hend)
            return FS_EMALFORMED;
        h = s + 1;
        rest = hend + 1;
    } else {
        hend = s;
        while (hend < end && *hend != ':')
            hend++;
        rest = hend;
    }
    size_t hlen = (size_t)(hend - h);
    if (hlen == 0 || hlen >= sizeof out->host || memchr(h, '\0', hlen))
        return FS_EMALFORMED;
    for (size_t k = 0; k < hlen; k++)
        if ((unsigned char)h[k] <= ' ' || h[k] == '/' || h[k] == '@')
            return FS_EMALFORMED;
    memcpy(out->host, h, hlen);
    out->host[hlen] = '\0';
    if (rest == end)
        return 0;
    if (*rest != ':' || rest + 1 == end || end - rest > 6)
        return FS_EMALFORMED;
    long p = 0;
    for (const char *c = rest + 1; c < end; c++) {
        if (*c < '0' || *c > '9')
            return FS_EMALFORMED;
        p = p * 10 + (*c - '0');
    }
    if (p <= 0 || p > 65535)
        return FS_EMALFORMED;
    out->port = (int)p;
    return 0;
}

void bolt_addr_format(const struct bolt_addr *a, char *out, size_t cap)
{
    if (strchr(a->host, ':'))
        snprintf(out, cap, "[%s]:%d", a->host, a->port);
    else
        snprintf(out, cap, "%s:%d", a->host, a->port);
}

/* ---- Routing context -------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Copies n bytes of s into out (cap bytes), %XX and '+' decoded. -1 when it does not fit or a
 * %XX is broken. */
static int decode_part(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t k = 0; k < n; k++) {
        char c = s[k];
        if (c == '%') {
            int hi = k + 2 < n ? hexval(s[k + 1]) : -1;
            int lo = k + 2 < n ? hexval(s[k + 2]) : -1;
            if (hi < 0 || lo < 0)
                return -1;
            c = (char)(hi * 16 + lo);
            k += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (c == '\0' || o + 1 >= cap)
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

static int add_param(struct bolt_route_context *ctx, const char *p, size_t n, char *err,
                     size_t errlen)
{
    const char *eq = memchr(p, '=', n);
    if (!eq || eq == p || eq + 1 == p + n) {
        snprintf(err, errlen, "routing parameter '%.*s' needs the form key=value", (int)n, p);
        return FS_EURI;
    }
    if (ctx->nparams == BOLT_ROUTE_MAX_PARAMS) {
        snprintf(err, errlen, "more than %d routing parameters", BOLT_ROUTE_MAX_PARAMS);
        return FS_EURI;
    }
    char *key = ctx->keys[ctx->nparams], *val = ctx->values[ctx->nparams];
    if (decode_part(p, (size_t)(eq - p), key, sizeof ctx->keys[0]) ||
        decode_part(eq + 1, (size_t)(p + n - eq - 1), val, sizeof ctx->values[0])) {
        snprintf(err, errlen, "routing parameter '%.*s' is too long or badly escaped", (int)n, p);
        return FS_EURI;
    }
    if (!strcmp(key, "address")) {
        snprintf(err, errlen, "routing parameter 'address' is reserved (it is the URI's host)");
        return FS_EURI;
    }
    for (int k = 0; k < ctx->nparams; k++)
        if (!strcmp(ctx->keys[k], key)) {
            snprintf(err, errlen, "routing parameter '%s' given twice", key);
            return FS_EURI;
        }
    ctx->nparams++;
    return 0;
}

int bolt_route_context_parse(const char *uri, const char *host, int port,
                             struct bolt_route_context *ctx, char *err, size_t errlen)
{
    memset(ctx, 0, sizeof *ctx);
    struct bolt_addr a = {.port = port};
    snprintf(a.host, sizeof a.host, "%s", host);
    bolt_addr_format(&a, ctx->address, sizeof ctx->address);
    const char *q = uri ? strchr(uri, '?') : NULL;
    if (!q)
        return 0;
    q++;
    size_t qlen = strcspn(q, "#");
    const char *end = q + qlen;
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        size_t n = (size_t)((amp ? amp : end) - q);
        if (n) {
            int rc = add_param(ctx, q, n, err, errlen);
            if (rc)
                return rc;
        }
        q += n + (amp ? 1 : 0);
    }
    return 0;
}

int bolt_route_context_write(struct buf *b, const struct bolt_route_context *ctx)
{
    int rc = pack_write_map_header(b, 1 + (uint32_t)ctx->nparams);
    rc = rc ? rc : pack_write_cstr(b, "address");
    rc = rc ? rc : pack_write_cstr(b, ctx->address);
    for (int k = 0; !rc && k < ctx->nparams; k++) {
        rc = pack_write_cstr(b, ctx->keys[k]);
        rc = rc ? rc : pack_write_cstr(b, ctx->values[k]);
    }
    return rc;
}

int bolt_route_write(struct buf *b, const struct bolt_route_context *ctx, const char *db,
                     const char *imp_user)
{
    bool has_db = db && *db, has_imp = imp_user && *imp_user;
    int rc = pack_write_struct_header(b, BOLT_MSG_ROUTE, 3);
    rc = rc ? rc : bolt_route_context_write(b, ctx);
    rc = rc ? rc : pack_write_list_header(b, 0); /* bookmarks: falkorsync only reads */
    rc = rc ? rc : pack_write_map_header(b, (has_db ? 1u : 0u) + (has_imp ? 1u : 0u));
    if (has_db) {
        rc = rc ? rc : pack_write_cstr(b, "db");
        rc = rc ? rc : pack_write_cstr(b, db);
    }
    if (has_imp) {
        rc = rc ? rc : pack_write_cstr(b, "imp_user");
        rc = rc ? rc : pack_write_cstr(b, imp_user);
    }
    return rc;
}

/* ---- Routing table ---------------------------------------------------- */

static int bad(char *err, size_t errlen, const char *why)
{
    snprintf(err, errlen, "bad routing table: %s", why);
    return FS_EMALFORMED;
}

static int role_of(const char *r)
{
    if (!strcmp(r, "ROUTE"))
        return BOLT_ROLE_ROUTE;
    if (!strcmp(r, "READ"))
        return BOLT_ROLE_READ;
    if (!strcmp(r, "WRITE"))
        return BOLT_ROLE_WRITE;
    return -1;
}

/* Adds the addresses of one server entry to its role, skipping duplicates. */
static int add_server(const struct fs_value *srv, struct bolt_route_table *out, char *err,
                      size_t errlen)
{
    const struct fs_value *role = fs_value_map_get(srv, "role");
    const struct fs_value *addrs = fs_value_map_get(srv, "addresses");
    if (srv->kind != FS_VALUE_MAP || !role || role->kind != FS_VALUE_STRING || !addrs ||
        addrs->kind != FS_VALUE_LIST)
        return bad(err, errlen, "a server entry needs a role and a list of addresses");
    int r = role_of(role->u.str.data);
    if (r < 0)
        return 0; /* a role from a later protocol: not ours to use */
    for (uint32_t k = 0; k < addrs->u.list.len; k++) {
        const struct fs_value *a = &addrs->u.list.items[k];
        struct bolt_addr ad;
        if (a->kind != FS_VALUE_STRING || bolt_addr_parse(a->u.str.data, a->u.str.len, &ad)) {
            char why[320];
            snprintf(why, sizeof why, "address '%.64s' is not host:port",
                     a->kind == FS_VALUE_STRING ? a->u.str.data : "(not a string)");
            return bad(err, errlen, why);
        }
        bool dup = false;
        for (int j = 0; j < out->n[r] && !dup; j++)
            dup = out->members[r][j].port == ad.port && !strcmp(out->members[r][j].host, ad.host);
        if (dup)
            continue;
        if (out->n[r] == BOLT_ROUTE_MAX_MEMBERS) {
            out->dropped++;
            continue;
        }
        out->members[r][out->n[r]++] = ad;
    }
    return 0;
}

int bolt_route_table_from_meta(const struct fs_value *meta, struct bolt_route_table *out, char *err,
                               size_t errlen)
{
    memset(out, 0, sizeof *out);
    const struct fs_value *rt = fs_value_map_get(meta, "rt");
    if (!rt || rt->kind != FS_VALUE_MAP)
        return bad(err, errlen, "no 'rt' map in the reply");
    const struct fs_value *ttl = fs_value_map_get(rt, "ttl");
    if (!ttl || ttl->kind != FS_VALUE_INT || ttl->u.i < 0)
        return bad(err, errlen, "'ttl' is not a non-negative integer");
    out->ttl = ttl->u.i;
    const struct fs_value *db = fs_value_map_get(rt, "db");
    if (db && db->kind == FS_VALUE_STRING)
        snprintf(out->db, sizeof out->db, "%s", db->u.str.data);
    const struct fs_value *servers = fs_value_map_get(rt, "servers");
    if (!servers || servers->kind != FS_VALUE_LIST)
        return bad(err, errlen, "'servers' is not a list");
    for (uint32_t k = 0; k < servers->u.list.len; k++) {
        int rc = add_server(&servers->u.list.items[k], out, err, errlen);
        if (rc) {
            memset(out, 0, sizeof *out);
            return rc;
        }
    }
    return 0;
}

int bolt_route_table_parse(const void *p, size_t len, const struct pack_limits *lim,
                           struct bolt_route_table *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct pack_reader r;
    struct fs_value meta = {0};
    pack_reader_init(&r, p, len);
    int rc = pack_decode(&r, lim, &meta);
    if (rc) {
        snprintf(err, errlen, "bad routing table: %s", fs_strerror(rc));
        return rc;
    }
    if (meta.kind != FS_VALUE_MAP)
        rc = bad(err, errlen, "the reply is not a map");
    else
        rc = bolt_route_table_from_meta(&meta, out, err, errlen);
    fs_value_deinit(&meta);
    return rc;
}
