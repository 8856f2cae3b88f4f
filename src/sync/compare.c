/* Verify: merge-join of both sides in key order, comparing a canonical fingerprint of each item. */
#include "sync/compare.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bolt/bolt.h"
#include "falkor/fdb.h"
#include "falkor/param.h"
#include "sync/common.h"
#include "sync/connect.h"
#include "sync/full.h"
#include "sync/gkey.h"
#include "sync/layout.h"
#include "sync/loader.h"
#include "sync/xsort.h"

/* Items per FalkorDB page: hiredis builds the whole reply, and an item with
 * a 1024-float vector costs ~100 KB of reply objects, so pages stay small. */
#define PAGE 256
#define KEY_CAP 512

/* ---- Canonical text, the same from both sides ---------------------------
 * s:<bytes> i:<int> d:<%.15g> b:<0|1> l[...] v<n>[<float32 bits of each element>]
 * FalkorDB prints doubles with 15 significant digits, so both sides are
 * compared at that precision; vectors are exact (float32). */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++) {
        h ^= c[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static int canon_double(struct buf *b, double d)
{
    return buf_printf(b, "d:%.15g", d);
}

static int canon_value(struct buf *b, const struct pack_value *v)
{
    switch (v->kind) {
    case PACK_NULL:
        return buf_append_str(b, "n");
    case PACK_BOOL:
        return buf_append_str(b, v->u.b ? "b:1" : "b:0");
    case PACK_INT:
        return buf_printf(b, "i:%" PRId64, v->u.i);
    case PACK_FLOAT:
        return canon_double(b, v->u.f);
    case PACK_STRING: {
        int rc = buf_printf(b, "s%u:", v->u.str.len);
        return rc ? rc : buf_append(b, v->u.str.data, v->u.str.len);
    }
    case PACK_LIST: {
        int rc = buf_append_str(b, "l[");
        for (uint32_t i = 0; !rc && i < v->u.list.len; i++) {
            rc = canon_value(b, &v->u.list.items[i]);
            rc = rc ? rc : buf_append_byte(b, ',');
        }
        return rc ? rc : buf_append_str(b, "]");
    }
    default:
        return buf_append_str(b, "?");
    }
}

/* Vectors are compared as the bits of their float32 elements: exact, and far
 * cheaper than printing a thousand numbers per item. */
static int canon_f32(struct buf *b, double d)
{
    float f = (float)d;
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    return buf_append(b, &bits, sizeof bits);
}

/* A property: name plus canonical value, collected then sorted by name. */
struct prop {
    char *name;
    char *text;
    size_t len;
};

static int cmp_prop(const void *a, const void *b)
{
    return strcmp(((const struct prop *)a)->name, ((const struct prop *)b)->name);
}

struct props {
    struct prop *v;
    int n, cap;
};

static int props_add(struct props *p, const char *name, size_t nlen, const struct buf *text)
{
    if (p->n == p->cap) {
        int cap = p->cap ? p->cap * 2 : 16;
        struct prop *v = realloc(p->v, sizeof *v * (size_t)cap);
        if (!v)
            return FS_ENOMEM;
        p->v = v;
        p->cap = cap;
    }
    struct prop *x = &p->v[p->n];
    x->name = strndup(name, nlen);
    x->text = malloc(text->len + 1);
    if (!x->name || !x->text) {
        free(x->name);
        free(x->text);
        return FS_ENOMEM;
    }
    memcpy(x->text, text->data ? text->data : "", text->len);
    x->len = text->len;
    p->n++;
    return 0;
}

static void props_clear(struct props *p)
{
    for (int i = 0; i < p->n; i++) {
        free(p->v[i].name);
        free(p->v[i].text);
    }
    p->n = 0;
}

/* Fingerprint of head (labels/type/endpoints) plus the sorted properties. */
static uint64_t fingerprint(const char *head, struct props *p)
{
    qsort(p->v, (size_t)p->n, sizeof *p->v, cmp_prop);
    uint64_t h = fnv(14695981039346656037ULL, head, strlen(head) + 1);
    for (int i = 0; i < p->n; i++) {
        h = fnv(h, p->v[i].name, strlen(p->v[i].name) + 1);
        h = fnv(h, p->v[i].text, p->v[i].len);
        h = fnv(h, "\x1e", 1);
    }
    return h;
}

/* ---- Neo4j side: stream, map with the transcoder, canonicalise ---------- */

struct item {
    char key[KEY_CAP];
    uint64_t hash;
    bool dropped;      /* held something the mapping leaves out */
    bool absent;       /* source: left out of the cache altogether (a type FalkorDB cannot name) */
    char labels[256];  /* cache side, nodes: sorted labels joined by \x1f */
    int64_t fid, fsrc; /* cache side: FalkorDB ids of the item and (edges) its start node */
};

struct src_cursor {
    struct bolt_session *bolt;
    const struct sync_type *t;
    bool generic;
    const char *kp;              /* generic: sync.key_property */
    struct sync_generic_cols gc; /* generic: endpoints and own key of the current item */
    char rtype[KEY_CAP];         /* generic: the current relationship's type */
    struct xc_native nt;         /* generic, native temporals of the current item */
    struct bolt_record rec;      /* the current record (valid until the next src_next) */
    size_t props_at;             /* where its property map starts */
    const struct xc_rules *rules;
    struct props props;
    struct buf row, tmp, head;
    struct buf emb[SYNC_MAX_EMBEDDINGS];
    bool done;
    /* What an upsert needs, of the current item. */
    char src[KEY_CAP], dst[KEY_CAP], dst_label[64];
    /* incremental: a trailing DateTime column (the change's timestamp) */
    bool has_ts;
    int64_t ts_s, ts_ns;
    bool sparse; /* skip the canonical fingerprint */
};

static int sorted_labels(struct buf *head, struct pack_reader *r)
{
    struct pack_item l;
    int rc = pack_read_item(r, &l);
    if (rc || l.kind != PACK_LIST)
        return rc ? rc : FS_EMALFORMED;
    char *names[64];
    uint32_t n = 0;
    for (uint32_t i = 0; i < l.size; i++) {
        struct pack_item s;
        if ((rc = pack_read_item(r, &s)))
            break;
        if (s.kind == PACK_STRING && n < 64 && !memchr(s.data, '`', s.size))
            names[n++] = strndup((const char *)s.data, s.size);
    }
    for (uint32_t i = 1; i < n; i++)
        for (uint32_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *x = names[j];
            names[j] = names[j - 1];
            names[j - 1] = x;
        }
    for (uint32_t i = 0; i < n; i++) {
        if (!rc)
            rc = buf_printf(head, "%s\x1f", names[i]);
        free(names[i]);
    }
    return rc;
}

/* Turns transcoded property text "{k:v,...}" into canonical props. */
static int props_from_param(struct props *p, const struct buf *row, struct buf *tmp)
{
    struct pack_value m = {0};
    int rc = fdb_param_decode(row->data, row->len, &m);
    if (rc)
        return rc;
    for (uint32_t i = 0; !rc && i < m.u.map.len; i++) {
        buf_reset(tmp);
        rc = canon_value(tmp, &m.u.map.items[i].value);
        rc =
            rc ? rc
               : props_add(p, m.u.map.items[i].key.u.str.data, m.u.map.items[i].key.u.str.len, tmp);
    }
    pack_value_deinit(&m);
    return rc;
}

static int src_next(struct src_cursor *c, struct item *out, struct xc_stats *st)
{
    struct bolt_record rec;
    int more = bolt_next(c->bolt, &rec);
    if (more <= 0) {
        c->done = true;
        return more;
    }
    struct pack_reader r;
    struct pack_item it;
    pack_reader_init(&r, rec.data, rec.len);
    int rc = pack_read_item(&r, &it);
    rc = rc ? rc : pack_read_item(&r, &it);
    if (rc || it.kind != PACK_STRUCT)
        return rc ? rc : FS_EPROTOCOL;
    uint32_t nfields = it.size;
    props_clear(&c->props);
    buf_reset(&c->head);
    buf_reset(&c->row);
    out->absent = false;
    rc = pack_skip(&r, 4);
    if (!c->t->edge) {
        rc = rc ? rc : buf_append_str(&c->head, "N:");
        rc = rc ? rc : sorted_labels(&c->head, &r);
    } else {
        for (int i = 0; !rc && i < 2; i++)
            rc = pack_skip(&r, 4);
        struct pack_item ty;
        rc = rc ? rc : pack_read_item(&r, &ty);
        if (!rc && (ty.kind != PACK_STRING || ty.size >= sizeof c->rtype))
            rc = FS_EMALFORMED;
        if (!rc) {
            memcpy(c->rtype, ty.data, ty.size);
            c->rtype[ty.size] = '\0';
        }
    }
    uint64_t before = xc_stats_total(st);
    struct xc_rules canon = *c->rules;
    canon.emb_canonical = !c->sparse;
    c->rec = rec;
    c->props_at = r.pos;
    rc = rc ? rc : xc_props(&r, &canon, &c->row, c->emb, &c->nt, st);
    out->dropped = xc_stats_total(st) != before;
    for (uint32_t i = (c->t->edge ? 5 : 3); !rc && i < nfields; i++)
        rc = pack_skip(&r, 4);
    if (!rc && c->generic) {
        rc = sync_generic_tail(&r, c->t->edge, &c->gc);
        if (!rc && c->gc.self.by_id)
            rc = gk_add_id_prop(&c->row, c->gc.self.str);
        if (!rc && c->t->edge) {
            if (memchr(c->rtype, '`', strlen(c->rtype))) { /* left out by the mapping */
                st->dropped_label++;
                out->dropped = true;
                out->absent = true;
            }
            rc = buf_printf(&c->head, "E:%s\x1f%s\x1f%s", c->rtype, c->gc.a.str, c->gc.b.str);
        }
        if (!rc)
            snprintf(out->key, sizeof out->key, "%s", c->gc.self.str);
    } else if (!rc && c->t->edge) {
        struct pack_item s, d, dl;
        rc = pack_read_item(&r, &s);
        rc = rc ? rc : pack_read_item(&r, &d);
        rc = rc ? rc : pack_read_item(&r, &dl);
        if (!rc && (s.kind != PACK_STRING || d.kind != PACK_STRING))
            rc = FS_EMALFORMED;
        if (!rc && (s.size >= KEY_CAP || d.size >= KEY_CAP || dl.kind != PACK_STRING ||
                    dl.size >= sizeof c->dst_label))
            rc = FS_EMALFORMED;
        if (!rc) {
            memcpy(c->src, s.data, s.size);
            c->src[s.size] = '\0';
            memcpy(c->dst, d.data, d.size);
            c->dst[d.size] = '\0';
            memcpy(c->dst_label, dl.data, dl.size);
            c->dst_label[dl.size] = '\0';
        }
        rc = rc ? rc
                : buf_printf(&c->head, "E:%s\x1f%.*s\x1f%.*s", c->t->name, (int)s.size,
                             (const char *)s.data, (int)d.size, (const char *)d.data);
    }
    if (!c->generic) {
        struct pack_item k;
        rc = rc ? rc : pack_read_item(&r, &k);
        if (!rc && (k.kind != PACK_STRING || k.size >= KEY_CAP))
            rc = FS_EMALFORMED;
        if (!rc) {
            memcpy(out->key, k.data, k.size);
            out->key[k.size] = '\0';
        }
    }
    if (rc)
        return rc;
    c->has_ts = false;
    if (r.pos < r.len) {
        struct pack_item ts;
        int64_t f[3];
        if (!pack_read_item(&r, &ts) && ts.kind == PACK_STRUCT && ts.size == 3 &&
            (ts.tag == PACK_TAG_DATE_TIME || ts.tag == PACK_TAG_DATE_TIME_ZONE_ID)) {
            struct pack_item x;
            int ok = 1;
            for (int i = 0; i < 2 && ok; i++)
                ok = !pack_read_item(&r, &x) && x.kind == PACK_INT && ((f[i] = x.i), 1);
            if (ok) {
                c->has_ts = true;
                c->ts_s = f[0];
                c->ts_ns = f[1];
            }
        }
    }
    if (c->sparse) /* incremental: the fingerprint is not needed */
        return 1;
    rc = props_from_param(&c->props, &c->row, &c->tmp);
    for (int i = 0; !rc && i < c->nt.n; i++) { /* as FalkorDB returns them */
        buf_reset(&c->tmp);
        rc = buf_printf(&c->tmp, "t%d:%" PRId64, c->nt.v[i].code, c->nt.v[i].value);
        rc = rc ? rc : props_add(&c->props, c->nt.v[i].name, strlen(c->nt.v[i].name), &c->tmp);
    }
    /* emb[i] holds the canonical vector already (empty: none) */
    for (int i = 0; !rc && i < c->rules->nembeddings; i++)
        if (c->emb[i].len)
            rc = props_add(&c->props, c->rules->embeddings[i], strlen(c->rules->embeddings[i]),
                           &c->emb[i]);
    if (rc)
        return rc;
    out->hash = fingerprint(c->head.data ? c->head.data : "", &c->props);
    return 1;
}

/* ---- FalkorDB side: pages in key order, compact replies ----------------- */

enum {
    CT_NULL = 1,
    CT_STRING,
    CT_INT,
    CT_BOOL,
    CT_DOUBLE,
    CT_ARRAY,
    CT_EDGE,
    CT_NODE,
    CT_PATH,
    CT_MAP,
    CT_POINT,
    CT_VECTOR,
    CT_DATETIME,
    CT_DATE,
    CT_TIME,
    CT_DURATION
};

static int canon_compact(struct buf *b, const redisReply *cell);

static double reply_double(const redisReply *v)
{
    if (v->type == REDIS_REPLY_STRING)
        return strtod(v->str, NULL);
    if (v->type == REDIS_REPLY_INTEGER)
        return (double)v->integer;
    return NAN;
}

static int canon_compact(struct buf *b, const redisReply *cell)
{
    if (cell->type != REDIS_REPLY_ARRAY || cell->elements != 2)
        return buf_append_str(b, "?");
    int type = (int)cell->element[0]->integer;
    const redisReply *v = cell->element[1];
    switch (type) {
    case CT_NULL:
        return buf_append_str(b, "n");
    case CT_STRING: {
        int rc = buf_printf(b, "s%zu:", v->len);
        return rc ? rc : buf_append(b, v->str, v->len);
    }
    case CT_INT:
        return buf_printf(b, "i:%lld",
                          v->type == REDIS_REPLY_INTEGER ? v->integer : strtoll(v->str, NULL, 10));
    case CT_BOOL:
        return buf_append_str(b, (v->type == REDIS_REPLY_STRING && !strcmp(v->str, "true")) ||
                                         (v->type == REDIS_REPLY_INTEGER && v->integer)
                                     ? "b:1"
                                     : "b:0");
    case CT_DOUBLE:
        return canon_double(b, reply_double(v));
    case CT_ARRAY: {
        int rc = buf_append_str(b, "l[");
        for (size_t i = 0; !rc && i < v->elements; i++) {
            rc = canon_compact(b, v->element[i]);
            rc = rc ? rc : buf_append_byte(b, ',');
        }
        return rc ? rc : buf_append_str(b, "]");
    }
    case CT_DATETIME:
    case CT_DATE:
    case CT_TIME:
    case CT_DURATION:
        return buf_printf(
            b, "t%d:%lld", type,
            v->type == REDIS_REPLY_INTEGER ? v->integer : strtoll(v->str ? v->str : "0", NULL, 10));
    case CT_VECTOR: {
        int rc = buf_printf(b, "v%u[", (unsigned)v->elements);
        for (size_t i = 0; !rc && i < v->elements; i++)
            rc = canon_f32(b, reply_double(v->element[i]));
        return rc ? rc : buf_append_str(b, "]");
    }
    default:
        return buf_printf(b, "?%d", type);
    }
}

/* The cache side is read in FalkorDB's internal-id order, which it serves by
 * id seek (a range of uuids is a full index scan per page there), and sorted
 * by key on disk (xsort) so it merges with Neo4j's key-ordered stream. Memory
 * stays bounded: one page of replies plus the sort buffer. */
struct cache_cursor {
    struct fdb_conn *fdb;
    const char *graph;
    const struct sync_type *t;
    bool generic;
    const char *kp; /* generic: sync.key_property */
    struct xsort xs;
    bool loaded;
    int64_t last_id;
    /* edges: a page ends after EDGE_ROWS rows, maybe inside one start node's
     * relationships; then the next page reads the rest of that node's */
    bool in_source;
    int64_t last_rel;
    bool done;
    struct props props;
    struct buf tmp, head, q, rec;
};

#define SORT_MEM ((size_t)16 << 20)
#define EDGE_SOURCES_PER_PAGE 64
#define EDGE_ROWS 512 /* a page's rows, whatever the start nodes' degrees */

/* A cached item's key from its key-property cell and its _neo4j_id cell
 * (compact [type, value] cells): the property's string or integer, else the
 * id; false when neither (an OPTIONAL MATCH without a relationship). */
static bool cache_key(const redisReply *kv, const redisReply *idv, char *out, size_t cap)
{
    int kt = (int)kv->element[0]->integer;
    const redisReply *v = kv->element[1];
    if (kt == CT_STRING && v->type == REDIS_REPLY_STRING && v->len < cap) {
        memcpy(out, v->str, v->len);
        out[v->len] = '\0';
        return true;
    }
    if (kt == CT_INT) {
        snprintf(out, cap, "%lld",
                 v->type == REDIS_REPLY_INTEGER ? v->integer : strtoll(v->str, NULL, 10));
        return true;
    }
    v = idv->element[1];
    if ((int)idv->element[0]->integer == CT_STRING && v->type == REDIS_REPLY_STRING &&
        v->len < cap) {
        memcpy(out, v->str, v->len);
        out[v->len] = '\0';
        return true;
    }
    return false;
}

/* The key-value and id columns of variable v: "v.uuid, null" (graphiti) or
 * "v.`key`, v._neo4j_id" (generic). */
static int cache_key_cols(struct buf *q, const struct cache_cursor *c, const char *v)
{
    if (!c->generic)
        return buf_printf(q, "%s.uuid, null AS %s_id", v, v);
    int rc = *c->kp ? buf_printf(q, "%s.`%s`, ", v, c->kp) : buf_printf(q, "null AS %s_k, ", v);
    return rc ? rc : buf_printf(q, "%s.`" GK_ID_PROP "`", v);
}

/* Reads one page into the sorter; *rows = rows returned (0: no more). */
static int cache_page(struct cache_cursor *c, int *rows, char *err, size_t errlen)
{
    *rows = 0;
    buf_reset(&c->q);
    const bool edge = c->t->edge;
    const bool rest = edge && c->in_source; /* the rest of one start node's relationships */
    int rc = rest ? buf_printf(&c->q, "CYPHER last=%lld lastr=%lld ", (long long)c->last_id,
                               (long long)c->last_rel)
                  : buf_printf(&c->q, "CYPHER last=%lld ", (long long)c->last_id);
    const char *label = edge ? c->t->src_label : c->t->name;
    if (c->generic || rest)
        rc = rc ? rc : buf_printf(&c->q, "MATCH (%s)", edge ? "a" : "n");
    else
        rc = rc ? rc : buf_printf(&c->q, "MATCH (%s:`%s`)", edge ? "a" : "n", label);
    if (rest) {
        rc = rc ? rc : buf_append_str(&c->q, " WHERE id(a) = $last MATCH (a)-[r");
    } else if (edge) {
        rc = rc ? rc
                : buf_printf(&c->q,
                             " WHERE id(a) > $last WITH a ORDER BY id(a) LIMIT %d "
                             "OPTIONAL MATCH (a)-[r",
                             EDGE_SOURCES_PER_PAGE);
    }
    if (!edge) { /* project only the page, not every later node */
        rc = rc ? rc
                : buf_printf(&c->q,
                             " WHERE id(n) > $last WITH n ORDER BY id(n) LIMIT %d "
                             "RETURN id(n), ",
                             PAGE);
        rc = rc ? rc : cache_key_cols(&c->q, c, "n");
        rc = rc ? rc : buf_append_str(&c->q, ", labels(n), properties(n)");
    } else {
        if (!c->generic)
            rc = rc ? rc : buf_printf(&c->q, ":`%s`", c->t->name);
        rc = rc ? rc : buf_append_str(&c->q, "]->(b)");
        if (rest)
            rc = rc ? rc : buf_append_str(&c->q, " WHERE id(r) > $lastr");
        rc = rc ? rc
                : buf_printf(&c->q, " WITH a, r, b ORDER BY id(a), id(r) LIMIT %d RETURN id(a), ",
                             EDGE_ROWS);
        for (int i = 0; !rc && i < 3; i++) {
            rc = cache_key_cols(&c->q, c, i == 0 ? "r" : i == 1 ? "a" : "b");
            rc = rc ? rc : buf_append_str(&c->q, ", ");
        }
        rc = rc ? rc : buf_append_str(&c->q, "type(r), properties(r), id(r)");
    }
    if (rc)
        return rc;
    const char *argv[4] = {"GRAPH.RO_QUERY", c->graph, c->q.data, "--compact"};
    redisReply *r = NULL;
    rc = fdb_commandv(c->fdb, &r, 4, argv);
    if (rc) {
        if (strstr(c->fdb->errstr, "Invalid graph operation on empty key") ||
            strstr(c->fdb->errstr, "does not exist")) { /* no such graph: nothing cached */
            c->done = true;
            return 0;
        }
        snprintf(err, errlen, "FalkorDB: %s", c->fdb->errstr);
        return rc;
    }
    const redisReply *rs = r->type == REDIS_REPLY_ARRAY && r->elements >= 3 ? r->element[1] : NULL;
    size_t nrows = rs ? rs->elements : 0;
    if (!edge) {
        c->done = nrows == 0;
    } else if (nrows == EDGE_ROWS) { /* the last start node may have more */
        const redisReply *last = rs->element[nrows - 1];
        const redisReply *rid = last->element[9]->element[1];
        c->in_source = rid->type == REDIS_REPLY_INTEGER; /* null: it had none */
        c->last_rel = c->in_source ? rid->integer : -1;
    } else { /* every relationship of these start nodes read */
        c->done = !rest && nrows == 0;
        c->in_source = false;
    }
    for (size_t i = 0; rs && i < rs->elements; i++) {
        const redisReply *row = rs->element[i];
        (*rows)++;
        int64_t id = row->element[0]->element[1]->integer;
        if (id > c->last_id)
            c->last_id = id;
        char key[KEY_CAP];
        if (!cache_key(row->element[1], row->element[2], key, sizeof key))
            continue; /* no relationship, or no key */
        props_clear(&c->props);
        buf_reset(&c->head);
        const redisReply *pm;
        char labels[256] = "";
        int64_t fid = id, fsrc = -1;
        if (!edge) {
            const redisReply *lv = row->element[3]->element[1];
            char *names[64];
            size_t n = 0;
            for (size_t j = 0; j < lv->elements && n < 64; j++)
                names[n++] = lv->element[j]->element[1]->str;
            for (size_t x = 1; x < n; x++)
                for (size_t y = x; y > 0 && strcmp(names[y - 1], names[y]) > 0; y--) {
                    char *tmp = names[y];
                    names[y] = names[y - 1];
                    names[y - 1] = tmp;
                }
            rc = buf_append_str(&c->head, "N:");
            for (size_t j = 0; !rc && j < n; j++)
                rc = buf_printf(&c->head, "%s\x1f", names[j]);
            snprintf(labels, sizeof labels, "%s", c->head.data ? c->head.data + 2 : "");
            pm = row->element[4]->element[1];
        } else {
            char ak[KEY_CAP] = "", bk[KEY_CAP] = "";
            if (!cache_key(row->element[3], row->element[4], ak, sizeof ak))
                ak[0] = '\0';
            if (!cache_key(row->element[5], row->element[6], bk, sizeof bk))
                bk[0] = '\0';
            const redisReply *tv = row->element[7]->element[1];
            rc = buf_printf(&c->head, "E:%s\x1f%s\x1f%s",
                            tv->type == REDIS_REPLY_STRING ? tv->str : "", ak, bk);
            pm = row->element[8]->element[1];
            fsrc = id;
            fid = row->element[9]->element[1]->integer;
        }
        for (size_t j = 0; !rc && j + 1 < pm->elements; j += 2) {
            buf_reset(&c->tmp);
            /* map entries: key string, then a [type, value] cell */
            rc = canon_compact(&c->tmp, pm->element[j + 1]);
            rc = rc ? rc : props_add(&c->props, pm->element[j]->str, pm->element[j]->len, &c->tmp);
        }
        uint64_t hash = rc ? 0 : fingerprint(c->head.data ? c->head.data : "", &c->props);
        buf_reset(&c->rec);
        rc = rc ? rc : buf_append(&c->rec, &hash, sizeof hash);
        rc = rc ? rc : buf_append(&c->rec, &fid, sizeof fid);
        rc = rc ? rc : buf_append(&c->rec, &fsrc, sizeof fsrc);
        rc = rc ? rc : buf_append_str(&c->rec, labels);
        rc = rc ? rc : xsort_add(&c->xs, key, strlen(key), c->rec.data, c->rec.len);
        if (rc)
            break;
    }
    freeReplyObject(r);
    return rc;
}

static int cache_load(struct cache_cursor *c, char *err, size_t errlen)
{
    xsort_init(&c->xs, SORT_MEM);
    c->last_id = -1;
    c->in_source = false;
    c->done = false;
    int rows, rc;
    do {
        rc = cache_page(c, &rows, err, errlen);
    } while (!rc && !c->done);
    if (!rc && (rc = xsort_finish(&c->xs)))
        snprintf(err, errlen, "sorting the cache side: %s", fs_strerror(rc));
    c->loaded = true;
    return rc;
}

/* Next cached item in key order: 1 with *out, 0 at the end. */
static int cache_next(struct cache_cursor *c, struct item *out, char *err, size_t errlen)
{
    if (!c->loaded) {
        int rc = cache_load(c, err, errlen);
        if (rc)
            return rc;
    }
    struct xsort_rec rec;
    int rc = xsort_next(&c->xs, &rec);
    if (rc <= 0) {
        if (rc)
            snprintf(err, errlen, "reading sorted cache items: %s", fs_strerror(rc));
        return rc;
    }
    snprintf(out->key, sizeof out->key, "%s", rec.key);
    const char *d = rec.data;
    memcpy(&out->hash, d, sizeof out->hash);
    memcpy(&out->fid, d + 8, sizeof out->fid);
    memcpy(&out->fsrc, d + 16, sizeof out->fsrc);
    size_t ll = rec.datalen - 24;
    if (ll >= sizeof out->labels)
        ll = sizeof out->labels - 1;
    memcpy(out->labels, d + 24, ll);
    out->labels[ll] = '\0';
    out->dropped = false;
    return 1;
}

static void sample(struct verify_count *vc, const char *what, const char *key)
{
    if (vc->nsamples < VERIFY_SAMPLES)
        snprintf(vc->samples[vc->nsamples++], sizeof vc->samples[0], "%s:%s", what, key);
}

/* ---- Reconcile: upserts for missing/different items, deletes for extra ones ---- */

#define FIX_GROUPS 16
#define FIX_GROUP_BYTES ((size_t)4 << 20)

struct fix_group {
    char *key;       /* node: label set; edge: dst label */
    struct buf rows; /* "{u:..,p:..,e0:..,s:..,t:..}," */
    struct buf keys; /* edges: "'k1','k2'," to delete before re-creating */
    uint32_t n;
};

struct fixer {
    struct loader *ld;
    const struct xc_rules *rules;
    const struct sync_type *types; /* the profile's */
    bool generic;                  /* generic: fixes address cached items by FalkorDB id */
    int batch;
    int type;
    struct fix_group g[FIX_GROUPS];
    int ng;
    struct buf del; /* keys to delete, param text */
    uint32_t ndel;
    struct buf q;
};

static int fix_send(struct fixer *fx, struct buf *q, enum pend_kind kind, uint32_t rows)
{
    struct pending p = {
        .kind = kind, .rows = rows, .edge = fx->types[fx->type].edge, .type = fx->type};
    snprintf(p.first_key, sizeof p.first_key, "(reconcile)");
    return loader_send(fx->ld, q->data, q->len, &p);
}

/* Generic deletes by FalkorDB id: nodes [id, ...], relationships [[start id, id], ...]. */
static int fix_delete_by_id(struct fixer *fx, bool edge, const struct buf *ids)
{
    struct buf *q = &fx->q;
    buf_reset(q);
    int rc = buf_append_str(q, "CYPHER keys=[");
    rc = rc ? rc : buf_append(q, ids->data, ids->len - 1); /* the trailing comma */
    rc = rc ? rc
            : buf_append_str(q, edge ? "] UNWIND $keys AS k MATCH (a)-[e]->() WHERE id(a) = "
                                       "k[0] AND id(e) = k[1] DELETE e"
                                     : "] UNWIND $keys AS k MATCH (n) WHERE id(n) = k "
                                       "DETACH DELETE n");
    return rc ? rc : fix_send(fx, q, PEND_WRITE, 0);
}

/* Appends ", n:`L`" for each label in the \x1f-joined list, except skip. */
static int set_labels(struct buf *q, const char *l, const char *skip)
{
    int rc = 0;
    while (!rc && *l) {
        size_t len = strcspn(l, "\x1f");
        if (len && (!skip || len != strlen(skip) || memcmp(l, skip, len))) {
            rc = buf_append_str(q, ", n:");
            rc = rc ? rc : xc_ident(q, l, len);
        }
        l += len + (l[len] ? 1 : 0);
    }
    return rc;
}

static int fix_flush_group(struct fixer *fx, struct fix_group *g)
{
    if (!g->n)
        return 0;
    const struct sync_type *t = &fx->types[fx->type];
    struct buf *q = &fx->q;
    int rc = 0;
    if (t->edge && fx->generic && g->keys.len) { /* the old copies of different ones */
        rc = fix_delete_by_id(fx, true, &g->keys);
    } else if (t->edge && !fx->generic) { /* endpoints may have changed: remove, then create */
        buf_reset(q);
        g->keys.len--;
        rc = buf_append_str(q, "CYPHER keys=[");
        rc = rc ? rc : buf_append(q, g->keys.data, g->keys.len);
        rc = rc ? rc
                : buf_printf(q, "] UNWIND $keys AS k MATCH ()-[e:`%s` {uuid: k}]->() DELETE e",
                             t->name);
        rc = rc ? rc : fix_send(fx, q, PEND_WRITE, 0);
    }
    buf_reset(q);
    g->rows.len--;
    rc = rc ? rc : buf_append_str(q, "CYPHER rows=[");
    rc = rc ? rc : buf_append(q, g->rows.data, g->rows.len);
    char *base = strndup(g->key, xc_key_base_len(g->key)); /* without native temporals */
    if (!base)
        return FS_ENOMEM;
    if (fx->generic && !t->edge) {
        /* key "C\x1e<labels>": create the missing; "U\x1e<labels>": update by id */
        bool create = base[0] == 'C';
        const char *labels = base + 2;
        if (create) {
            rc = rc ? rc : buf_append_str(q, "] UNWIND $rows AS r CREATE (n");
            const char *l = labels;
            while (!rc && *l) {
                size_t len = strcspn(l, "\x1f");
                rc = buf_append_byte(q, ':');
                rc = rc ? rc : xc_ident(q, l, len);
                l += len + (l[len] ? 1 : 0);
            }
            rc = rc ? rc : buf_append_str(q, ") SET n = r.p");
        } else {
            rc = rc ? rc
                    : buf_append_str(q, "] UNWIND $rows AS r MATCH (n) WHERE id(n) = r.i "
                                        "SET n = r.p");
            rc = rc ? rc : set_labels(q, labels, NULL);
        }
    } else if (fx->generic) {
        const char *type;
        size_t tlen;
        rc = rc ? rc : buf_append_str(q, "] UNWIND $rows AS r");
        rc = rc ? rc : sync_edge_matches(q, base, true, &type, &tlen);
        rc = rc ? rc : buf_append_str(q, " CREATE (a)-[n:");
        rc = rc ? rc : xc_ident(q, type, tlen);
        rc = rc ? rc : buf_append_str(q, "]->(b) SET n = r.p");
    } else if (!t->edge) {
        rc = rc ? rc
                : buf_printf(q, "] UNWIND $rows AS r MERGE (n:`%s` {uuid: r.u}) SET n = r.p",
                             t->name);
        rc = rc ? rc : set_labels(q, base, t->name);
    } else {
        rc = rc ? rc
                : buf_printf(
                      q, "] UNWIND $rows AS r MATCH (a:`%s` {uuid: r.s}) MATCH (b:", t->src_label);
        rc = rc ? rc : xc_ident(q, g->key, strlen(g->key));
        rc = rc ? rc : buf_printf(q, " {uuid: r.t}) CREATE (a)-[n:`%s`]->(b) SET n = r.p", t->name);
    }
    for (int i = 0; !rc && i < fx->rules->nembeddings; i++) {
        rc = buf_append_str(q, ", n.");
        rc = rc ? rc : xc_ident(q, fx->rules->embeddings[i], strlen(fx->rules->embeddings[i]));
        rc = rc ? rc : buf_printf(q, " = vecf32(r.e%d)", i);
    }
    free(base);
    rc = rc ? rc : xc_native_sets(q, "n", g->key);
    rc = rc ? rc : buf_append_str(q, " RETURN count(n)");
    rc = rc ? rc : fix_send(fx, q, PEND_BATCH, g->n);
    fx->ld->rep->upserted += g->n;
    buf_reset(&g->rows);
    buf_reset(&g->keys);
    g->n = 0;
    return rc;
}

static int fix_flush_deletes(struct fixer *fx)
{
    if (!fx->ndel)
        return 0;
    const struct sync_type *t = &fx->types[fx->type];
    struct buf *q = &fx->q;
    if (fx->generic) {
        int rc = fix_delete_by_id(fx, t->edge, &fx->del);
        fx->ld->rep->deleted += fx->ndel;
        buf_reset(&fx->del);
        fx->ndel = 0;
        return rc;
    }
    buf_reset(q);
    fx->del.len--;
    int rc = buf_append_str(q, "CYPHER keys=[");
    rc = rc ? rc : buf_append(q, fx->del.data, fx->del.len);
    rc = rc ? rc
            : buf_printf(q,
                         t->edge ? "] UNWIND $keys AS k MATCH ()-[e:`%s` {uuid: k}]->() DELETE e"
                                 : "] UNWIND $keys AS k MATCH (n:`%s` {uuid: k}) DETACH DELETE n",
                         t->name);
    rc = rc ? rc : fix_send(fx, q, PEND_WRITE, 0);
    fx->ld->rep->deleted += fx->ndel;
    buf_reset(&fx->del);
    fx->ndel = 0;
    return rc;
}

static int fix_flush(struct fixer *fx)
{
    int rc = fix_flush_deletes(fx);
    for (int i = 0; !rc && i < fx->ng; i++)
        rc = fix_flush_group(fx, &fx->g[i]);
    return rc ? rc : loader_drain(fx->ld);
}

static int fix_delete(struct fixer *fx, const struct item *b)
{
    int rc;
    if (!fx->generic)
        rc = fdb_param_write_string(&fx->del, b->key, strlen(b->key));
    else if (fx->types[fx->type].edge)
        rc = buf_printf(&fx->del, "[%lld,%lld]", (long long)b->fsrc, (long long)b->fid);
    else
        rc = buf_printf(&fx->del, "%lld", (long long)b->fid);
    rc = rc ? rc : buf_append_byte(&fx->del, ',');
    if (!rc && ++fx->ndel >= (uint32_t)fx->batch)
        rc = fix_flush_deletes(fx);
    return rc;
}

static struct fix_group *fix_group_for(struct fixer *fx, const char *key, int *rc)
{
    for (int i = 0; i < fx->ng; i++)
        if (!strcmp(fx->g[i].key, key))
            return &fx->g[i];
    if (fx->ng == FIX_GROUPS) {
        *rc = fix_flush_group(fx, &fx->g[0]);
        return &fx->g[0]; /* reuse: same type, any key is fine once flushed */
    }
    struct fix_group *g = &fx->g[fx->ng++];
    memset(g, 0, sizeof *g);
    g->key = strdup(key);
    buf_init(&g->rows, 0);
    buf_init(&g->keys, 0);
    *rc = g->key ? 0 : FS_ENOMEM;
    return g;
}

/* Queues the current source item for an upsert; removes labels the cache has
 * and the source does not (nodes). */
static int fix_upsert(struct fixer *fx, struct src_cursor *sc, const char *key,
                      const struct item *cached)
{
    const struct sync_type *t = &fx->types[fx->type];
    const char *labels = sc->head.data ? sc->head.data + 2 : "";
    const char *cache_labels = cached ? cached->labels : NULL;
    int rc = 0;
    struct buf gk;
    buf_init(&gk, 0);
    if (fx->generic && t->edge) {
        if (memchr(sc->rtype, '`', strlen(sc->rtype))) /* cannot be named in FalkorDB */
            return 0;
        rc = sync_generic_edge_key(&gk, sc->rtype, strlen(sc->rtype), &sc->gc, sc->kp);
    } else if (fx->generic) {
        rc = buf_printf(&gk, "%c\x1e%s", cached ? 'U' : 'C', labels);
    } else {
        rc = buf_append_str(&gk, t->edge ? sc->dst_label : labels);
    }
    rc = rc ? rc : xc_native_signature(&gk, &sc->nt);
    struct fix_group *g = rc ? NULL : fix_group_for(fx, gk.data, &rc);
    if (!rc && g->n == 0 && fx->ng == FIX_GROUPS && strcmp(g->key, gk.data)) {
        free(g->key);
        g->key = strdup(gk.data);
        if (!g->key)
            rc = FS_ENOMEM;
    }
    buf_deinit(&gk);
    if (rc)
        return rc;
    if (!sc->sparse) { /* verify read the vectors in canonical form: now their text */
        struct pack_reader r;
        struct xc_stats st = {0};
        struct xc_native nt;
        pack_reader_init(&r, sc->rec.data, sc->rec.len);
        r.pos = sc->props_at;
        buf_reset(&sc->tmp);
        rc = xc_props(&r, fx->rules, &sc->tmp, sc->emb, &nt, &st);
        if (rc)
            return rc;
    }
    struct buf *x = &g->rows;
    if (fx->generic && cached && !t->edge) {
        rc = buf_printf(x, "{i:%lld", (long long)cached->fid);
    } else {
        rc = buf_append_str(x, "{u:");
        rc = rc ? rc : fdb_param_write_string(x, key, strlen(key));
    }
    rc = rc ? rc : buf_append_str(x, ",p:");
    rc = rc ? rc : buf_append(x, sc->row.data, sc->row.len);
    for (int i = 0; !rc && i < fx->rules->nembeddings; i++) {
        rc = buf_printf(x, ",e%d:", i);
        rc = rc ? rc : buf_append(x, sc->emb[i].data, sc->emb[i].len);
    }
    if (!rc && t->edge && fx->generic) {
        rc = buf_printf(x, ",s:%s,t:%s", sc->gc.a.raw, sc->gc.b.raw);
        if (!rc && cached)
            rc = buf_printf(&g->keys, "[%lld,%lld],", (long long)cached->fsrc,
                            (long long)cached->fid);
    } else if (!rc && t->edge) {
        rc = buf_append_str(x, ",s:");
        rc = rc ? rc : fdb_param_write_string(x, sc->src, strlen(sc->src));
        rc = rc ? rc : buf_append_str(x, ",t:");
        rc = rc ? rc : fdb_param_write_string(x, sc->dst, strlen(sc->dst));
        rc = rc ? rc : fdb_param_write_string(&g->keys, key, strlen(key));
        rc = rc ? rc : buf_append_byte(&g->keys, ',');
    }
    rc = rc ? rc : xc_native_row(x, &sc->nt);
    rc = rc ? rc : buf_append_str(x, "},");
    if (rc)
        return rc;
    g->n++;
    if (!t->edge && cache_labels && *cache_labels) { /* stale labels */
        const char *l = cache_labels;
        while (!rc && *l) {
            size_t len = strcspn(l, "\x1f");
            bool keep = false;
            const char *m = labels;
            while (*m) {
                size_t ml = strcspn(m, "\x1f");
                if (ml == len && !memcmp(m, l, len))
                    keep = true;
                m += ml + (m[ml] ? 1 : 0);
            }
            if (len && !keep) {
                buf_reset(&fx->q);
                if (fx->generic) {
                    rc = buf_printf(
                        &fx->q, "MATCH (n) WHERE id(n) = %lld REMOVE n:", (long long)cached->fid);
                } else {
                    rc = fdb_param_prefix_begin(&fx->q);
                    rc = rc ? rc : fdb_param_name(&fx->q, "k");
                    rc = rc ? rc : fdb_param_write_string(&fx->q, key, strlen(key));
                    rc = rc ? rc : fdb_param_prefix_end(&fx->q);
                    rc = rc ? rc
                            : buf_printf(&fx->q, "MATCH (n:`%s` {uuid: $k}) REMOVE n:", t->name);
                }
                rc = rc ? rc : xc_ident(&fx->q, l, len);
                rc = rc ? rc : fix_send(fx, &fx->q, PEND_WRITE, 0);
            }
            l += len + (l[len] ? 1 : 0);
        }
    }
    if (!rc && (g->n >= (uint32_t)fx->batch || g->rows.len >= FIX_GROUP_BYTES))
        rc = fix_flush_group(fx, g); /* rows with vectors are ~10 KB each: cap the bytes too */
    return rc;
}

static void fix_deinit(struct fixer *fx)
{
    for (int i = 0; i < fx->ng; i++) {
        free(fx->g[i].key);
        buf_deinit(&fx->g[i].rows);
        buf_deinit(&fx->g[i].keys);
    }
    fx->ng = 0;
    buf_deinit(&fx->del);
    buf_deinit(&fx->q);
}

/* The next source item, checked to come in merge order: a key smaller than
 * the previous one means Neo4j ordered differently (an error: the merge would
 * be wrong); a key equal to it is a second Neo4j item with the same key
 * (counted as unrepresentable: the cache can hold one item per key). */
static int src_advance(struct src_cursor *sc, struct item *a, char *prev, struct xc_stats *st,
                       struct verify_count *vc, char *err, size_t errlen)
{
    for (;;) {
        int ra = src_next(sc, a, st);
        if (ra != 1)
            return ra;
        int order = *prev ? sync_keycmp(prev, a->key) : -1;
        if (order > 0) {
            snprintf(err, errlen,
                     "Neo4j streamed %s keys out of byte order (\"%.100s\" after \"%.100s\"); "
                     "the comparison cannot go on",
                     sc->t->name, a->key, prev);
            return FS_EPROTOCOL;
        }
        snprintf(prev, KEY_CAP, "%s", a->key);
        if (order < 0 && !a->absent)
            return 1;
        vc->source++;
        vc->unrepresentable++;
        sample(vc, a->absent ? "unrepresentable" : "neo4j_duplicate", a->key);
    }
}

static int verify_type(const struct cfg *c, struct bolt_session *bolt, struct fdb_conn *fdb,
                       const char *graph, const char *group, int type, const struct xc_rules *rules,
                       struct verify_count *vc, struct fixer *fx, char *err, size_t errlen)
{
    const struct sync_profile *prof = sync_profile_of(c);
    const struct sync_type *t = &prof->types[type];
    const char *kp = c->sync.key_property;
    struct buf q, p;
    buf_init(&q, 0);
    buf_init(&p, 0);
    int rc;
    if (prof->generic)
        rc = sync_extract_query_generic(&q, t, kp, true);
    else if (!t->edge)
        rc = buf_printf(&q,
                        "MATCH (n:`%s`) WHERE n.uuid IS NOT NULL%s RETURN n, n.uuid "
                        "ORDER BY n.uuid",
                        t->name, group ? " AND n.group_id = $g" : "");
    else
        rc = buf_printf(&q,
                        "MATCH (a:`%s`)-[r:`%s`]->(b%s%s) WHERE r.uuid IS NOT NULL%s RETURN r, "
                        "a.uuid, b.uuid, %s, r.uuid ORDER BY r.uuid",
                        t->src_label, t->name, t->dst_label ? ":" : "",
                        t->dst_label ? t->dst_label : "",
                        group ? " AND coalesce(r.group_id, a.group_id) = $g" : "", t->dst_expr);
    rc = rc ? rc : pack_write_map_header(&p, group ? 1 : 0);
    if (group) {
        rc = rc ? rc : pack_write_cstr(&p, "g");
        rc = rc ? rc : pack_write_cstr(&p, group);
    }
    rc = rc ? rc : bolt_run(bolt, q.data, p.data, p.len, BOLT_MODE_READ);
    buf_deinit(&q);
    buf_deinit(&p);
    if (rc) {
        snprintf(err, errlen, "Neo4j: %s", bolt->errstr);
        return rc;
    }
    struct src_cursor sc = {
        .bolt = bolt, .t = t, .rules = rules, .generic = prof->generic, .kp = kp};
    struct cache_cursor cc = {
        .fdb = fdb, .graph = graph, .t = t, .generic = prof->generic, .kp = kp};
    buf_init(&sc.row, 0);
    buf_init(&sc.tmp, 0);
    buf_init(&sc.head, 0);
    for (int i = 0; i < SYNC_MAX_EMBEDDINGS; i++)
        buf_init(&sc.emb[i], 0);
    buf_init(&cc.tmp, 0);
    buf_init(&cc.head, 0);
    buf_init(&cc.q, 0);
    buf_init(&cc.rec, 0);
    struct xc_stats st = {0};
    struct item a, b, prevb = {.key = ""};
    bool have_prev = false;
    int fix_rc = 0;
    if (fx)
        fx->type = type;
    char preva[KEY_CAP] = "";
    int ra = src_advance(&sc, &a, preva, &st, vc, err, errlen);
    int rb = ra < 0 ? 0 : cache_next(&cc, &b, err, errlen);
    while (ra >= 0 && rb >= 0 && (ra == 1 || rb == 1)) {
        if (rb == 1 && have_prev && !sync_keycmp(prevb.key, b.key)) {
            vc->duplicate++;
            vc->cache++;
            sample(vc, "duplicate", b.key);
            if (fx) /* every copy goes; the next reconcile (or this item's upsert) restores one */
                fix_rc = fix_delete(fx, &b);
            rb = cache_next(&cc, &b, err, errlen);
            continue;
        }
        int cmp = ra != 1 ? 1 : rb != 1 ? -1 : sync_keycmp(a.key, b.key);
        if (cmp <= 0) {
            vc->source++;
            if (a.dropped)
                vc->unrepresentable++;
        }
        if (cmp >= 0) {
            vc->cache++;
            prevb = b;
            have_prev = true;
        }
        if (cmp < 0) {
            vc->missing++;
            sample(vc, "missing", a.key);
            if (fx)
                fix_rc = fix_upsert(fx, &sc, a.key, NULL);
        } else if (cmp > 0) {
            vc->extra++;
            sample(vc, "extra", b.key);
            if (fx)
                fix_rc = fix_delete(fx, &b);
        } else if (a.hash != b.hash) {
            vc->different++;
            sample(vc, "different", a.key);
            if (fx)
                fix_rc = fix_upsert(fx, &sc, a.key, &b);
        }
        if (fix_rc)
            break;
        if (cmp <= 0)
            ra = src_advance(&sc, &a, preva, &st, vc, err, errlen);
        if (cmp >= 0)
            rb = cache_next(&cc, &b, err, errlen);
    }
    rc = ra < 0 ? ra : rb < 0 ? rb : fix_rc;
    if (!rc && fx)
        rc = fix_flush(fx);
    if (ra < 0 && !err[0])
        snprintf(err, errlen, "Neo4j: %s", bolt->errstr);
    if (ra >= 0 && !sc.done)
        if (bolt_discard(bolt)) {
            /* the session is reset or defunct; the next run reports it */
        }
    props_clear(&sc.props);
    free(sc.props.v);
    props_clear(&cc.props);
    free(cc.props.v);
    buf_deinit(&sc.row);
    buf_deinit(&sc.tmp);
    buf_deinit(&sc.head);
    for (int i = 0; i < SYNC_MAX_EMBEDDINGS; i++)
        buf_deinit(&sc.emb[i]);
    buf_deinit(&cc.tmp);
    buf_deinit(&cc.head);
    buf_deinit(&cc.q);
    buf_deinit(&cc.rec);
    xsort_deinit(&cc.xs);
    return rc;
}

/* Connects the loader the fixer writes through. */
static int fixer_open(struct fixer *fx, struct loader *ld, const struct cfg *c,
                      const struct sync_rules *rules, struct sync_report *rep,
                      const struct fdb_config *fc, char *err, size_t errlen)
{
    const struct sync_profile *prof = sync_profile_of(c);
    ld->depth = c->sync.pipeline_depth;
    ld->rep = rep;
    ld->types = prof->types;
    ld->ring = calloc((size_t)RING_CAP(ld), sizeof *ld->ring);
    fx->ld = ld;
    fx->types = prof->types;
    fx->generic = prof->generic;
    fx->rules = &rules->rules;
    fx->batch = c->sync.batch_size;
    buf_init(&fx->del, 0);
    buf_init(&fx->q, 0);
    if (!ld->ring)
        return FS_ENOMEM;
    int rc = fdb_connect(&ld->fdb, fc);
    if (rc)
        snprintf(err, errlen, "%s", ld->fdb.errstr);
    return rc;
}

/* Creates the range and full-text indexes on graph unless they exist already
 * (generic: for the labels and types Neo4j has now). */
static int ensure_indexes(const struct cfg *c, struct bolt_session *bolt, struct fdb_conn *fdb,
                          const char *graph, char *err, size_t errlen)
{
    char **range = NULL;
    int nrange = 0;
    int rc = sync_range_index_statements(c, bolt, &range, &nrange);
    if (rc) {
        snprintf(err, errlen, "Neo4j: %s", bolt->errstr);
        return rc;
    }
    for (int i = 0; !rc && i < nrange; i++) {
        const char *argv[3] = {"GRAPH.QUERY", graph, range[i]};
        rc = fdb_commandv(fdb, NULL, 3, argv);
        if (rc == FS_ESERVER)
            rc = 0; /* "already indexed" and friends are fine */
    }
    sync_groups_free(range, nrange);
    for (int i = 0; !rc && !sync_profile_of(c)->generic && sync_fulltext_indexes[i]; i++) {
        const char *argv[3] = {"GRAPH.QUERY", graph, sync_fulltext_indexes[i]};
        rc = fdb_commandv(fdb, NULL, 3, argv);
        if (rc == FS_ESERVER)
            rc = 0;
    }
    if (rc)
        snprintf(err, errlen, "FalkorDB: %s", fdb->errstr);
    return rc;
}

/* In per_group layout: graphs of groups that no longer exist in Neo4j go. */
int sync_track_groups(const struct cfg *c, struct fdb_conn *fdb, char **groups, int ngroups,
                      struct sync_report *srep)
{
    char set[320];
    snprintf(set, sizeof set, "falkorsync:groups:%s", c->falkordb.database);
    const char *sm[2] = {"SMEMBERS", set};
    redisReply *r = NULL;
    int rc = fdb_commandv(fdb, &r, 2, sm);
    if (rc)
        return rc;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const char *g = r->element[i]->str;
        bool alive = false;
        for (int j = 0; j < ngroups && !alive; j++)
            alive = !strcmp(groups[j], g);
        if (alive)
            continue;
        char graph[300];
        sync_group_graph_name(c, g, graph, sizeof graph);
        const char *del[2] = {"GRAPH.DELETE", graph};
        if (fdb_commandv(fdb, NULL, 2, del) == 0 && srep)
            srep->deleted++;
        const char *srem[3] = {"SREM", set, g};
        if (fdb_commandv(fdb, NULL, 3, srem)) {
            /* retried next time */
        }
    }
    freeReplyObject(r);
    for (int j = 0; j < ngroups; j++) {
        const char *sadd[3] = {"SADD", set, groups[j]};
        if ((rc = fdb_commandv(fdb, NULL, 3, sadd)))
            return rc;
    }
    return 0;
}

/* verify (srep == NULL) or reconcile (srep != NULL: fix what differs). */
static int compare(const struct cfg *c, struct verify_report *rep, struct sync_report *srep)
{
    memset(rep, 0, sizeof *rep);
    double t0 = sync_now();
    const struct sync_profile *prof = sync_profile_of(c);
    rep->ntypes = prof->ntypes;
    for (int t = 0; t < prof->ntypes; t++)
        rep->types[t].name = prof->types[t].name;
    struct bolt_session bolt;
    struct fdb_conn fdb;
    struct sync_rules rules;
    struct loader ld = {0};
    struct fixer fx = {0};
    bolt_init(&bolt);
    fdb_init(&fdb);
    fdb_init(&ld.fdb);
    char **groups = NULL;
    int ngroups = 0;
    int rc = sync_rules_init(&rules, c);
    struct bolt_config bc = sync_bolt_config(c);
    struct fdb_config fc = sync_fdb_config(c);
    if (!rc && (rc = bolt_connect(&bolt, &bc)))
        snprintf(rep->error, sizeof rep->error, "%s", bolt.errstr);
    if (!rc && (rc = fdb_connect(&fdb, &fc)))
        snprintf(rep->error, sizeof rep->error, "%s", fdb.errstr);
    if (!rc && srep) {
        rc = fixer_open(&fx, &ld, c, &rules, srep, &fc, rep->error, sizeof rep->error);
    }
    if (!rc && c->falkordb.layout == CFG_LAYOUT_PER_GROUP) {
        rc = sync_list_groups(&bolt, &groups, &ngroups);
        if (rc)
            snprintf(rep->error, sizeof rep->error, "Neo4j: %s", bolt.errstr);
        if (!rc && srep && (rc = sync_track_groups(c, &fdb, groups, ngroups, srep)))
            snprintf(rep->error, sizeof rep->error, "FalkorDB: %s", fdb.errstr);
    }
    int nruns = c->falkordb.layout == CFG_LAYOUT_PER_GROUP ? ngroups : 1;
    for (int g = 0; !rc && g < nruns; g++) {
        char graph[300];
        const char *group = sync_target(c, groups, g, graph, sizeof graph);
        if (srep) {
            ld.graph = graph;
            if ((rc = ensure_indexes(c, &bolt, &ld.fdb, graph, rep->error, sizeof rep->error)))
                break;
        }
        for (int t = 0; !rc && t < prof->ntypes; t++) {
            uint64_t dups = rep->types[t].duplicate;
            rc = verify_type(c, &bolt, &fdb, graph, group, t, &rules.rules, &rep->types[t],
                             srep ? &fx : NULL, rep->error, sizeof rep->error);
            if (!rc && srep && rep->types[t].duplicate > dups) {
                /* The duplicates' copies were all deleted: a second pass restores one. */
                struct verify_count again = {0};
                rc = verify_type(c, &bolt, &fdb, graph, group, t, &rules.rules, &again, &fx,
                                 rep->error, sizeof rep->error);
            }
        }
        rep->graphs++;
    }
    if (!rc && srep && (rc = sync_layout_cleanup(c, &fdb, groups, ngroups, srep)))
        snprintf(rep->error, sizeof rep->error, "FalkorDB: %s", fdb.errstr);
    if (!rc && !srep && (rc = sync_layout_verify_stale(c, &fdb, groups, ngroups, rep)))
        snprintf(rep->error, sizeof rep->error, "FalkorDB: %s", fdb.errstr);
    if (srep) {
        fix_deinit(&fx);
        if (rc && !srep->error[0])
            snprintf(srep->error, sizeof srep->error, "%s", rep->error);
        else if (srep->error[0] && !rep->error[0])
            snprintf(rep->error, sizeof rep->error, "%s", srep->error);
    }
    sync_groups_free(groups, ngroups);
    sync_rules_deinit(&rules);
    bolt_close(&bolt);
    fdb_close(&fdb);
    fdb_close(&ld.fdb);
    free(ld.ring);
    rep->seconds = sync_now() - t0;
    if (rc && !rep->error[0])
        snprintf(rep->error, sizeof rep->error, "%s", fs_strerror(rc));
    return rc;
}

int sync_verify(const struct cfg *c, struct verify_report *rep)
{
    return compare(c, rep, NULL);
}

int sync_reconcile(const struct cfg *c, struct verify_report *found, struct sync_report *done)
{
    memset(done, 0, sizeof *done);
    double t0 = sync_now();
    int rc = compare(c, found, done);
    done->seconds = sync_now() - t0;
    done->graphs = found->graphs;
    return rc;
}

uint64_t verify_differences(const struct verify_report *rep)
{
    uint64_t n = 0;
    for (int i = 0; i < rep->ntypes; i++)
        n += rep->types[i].missing + rep->types[i].extra + rep->types[i].different +
             rep->types[i].duplicate;
    return n;
}

static void json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

void verify_print(const struct verify_report *rep, bool json, FILE *out)
{
    uint64_t diff = verify_differences(rep);
    if (json) {
        fprintf(out, "{\"ok\":%s,\"differences\":%" PRIu64 ",\"graphs\":%d,\"seconds\":%.3f",
                !diff && !rep->error[0] ? "true" : "false", diff, rep->graphs, rep->seconds);
        if (rep->error[0]) {
            fputs(",\"error\":", out);
            json_str(out, rep->error);
        }
        fputs(",\"types\":{", out);
        for (int i = 0; i < rep->ntypes; i++) {
            const struct verify_count *v = &rep->types[i];
            fprintf(out,
                    "%s\"%s\":{\"source\":%" PRIu64 ",\"cache\":%" PRIu64 ",\"missing\":%" PRIu64
                    ",\"extra\":%" PRIu64 ",\"different\":%" PRIu64 ",\"duplicate\":%" PRIu64
                    ",\"unrepresentable\":%" PRIu64 ",\"samples\":[",
                    i ? "," : "", v->name, v->source, v->cache, v->missing, v->extra, v->different,
                    v->duplicate, v->unrepresentable);
            for (int s = 0; s < v->nsamples; s++) {
                if (s)
                    fputc(',', out);
                json_str(out, v->samples[s]);
            }
            fputs("]}", out);
        }
        fputs("}}\n", out);
        return;
    }
    fprintf(out, "%-13s %10s %10s %8s %8s %9s %9s %7s\n", "type", "neo4j", "falkordb", "missing",
            "extra", "different", "duplicate", "unrepr");
    for (int i = 0; i < rep->ntypes; i++) {
        const struct verify_count *v = &rep->types[i];
        fprintf(out,
                "%-13s %10" PRIu64 " %10" PRIu64 " %8" PRIu64 " %8" PRIu64 " %9" PRIu64 " %9" PRIu64
                " %7" PRIu64 "%s",
                v->name, v->source, v->cache, v->missing, v->extra, v->different, v->duplicate,
                v->unrepresentable, v->nsamples ? "  e.g." : "");
        for (int s = 0; s < v->nsamples; s++)
            fprintf(out, " %s", v->samples[s]);
        fputc('\n', out);
    }
    if (rep->error[0])
        fprintf(out, "verify failed: %s\n", rep->error);
    else
        fprintf(out, "%s: %" PRIu64 " difference%s in %d graph%s (%.1f s)\n",
                diff ? "DIFFERENT" : "IN SYNC", diff, diff == 1 ? "" : "s", rep->graphs,
                rep->graphs == 1 ? "" : "s", rep->seconds);
}

/* ---- Incremental: what changed since durable watermarks, upserted ------- */

/* One change query: %s is replaced by the group filter (or nothing). Node
 * queries return (n, n.uuid, ts); relationship queries (r, a.uuid, b.uuid,
 * end label, r.uuid, ts), the same shape the upsert path reads. */
struct change_query {
    int type;           /* index in sync_graphiti_types */
    const char *family; /* watermark advanced by ts; NULL: touch query (ts is an episode's) */
    const char *since;  /* watermark the query starts from */
    const char *group;  /* expression compared with $g in per_group layout */
    const char *cypher;
};

static const struct change_query change_queries[] = {
    {0, "Entity", "Entity", "n.group_id",
     "MATCH (n:Entity) WHERE n.created_at > $since%s RETURN n, n.uuid, n.created_at"},
    {0, NULL, "Episodic", "n.group_id",
     "MATCH (ep:Episodic)-[:MENTIONS]->(n:Entity) WHERE ep.created_at > $since%s "
     "WITH n, max(ep.created_at) AS ts RETURN n, n.uuid, ts"},
    {1, "Episodic", "Episodic", "n.group_id",
     "MATCH (n:Episodic) WHERE n.created_at > $since%s RETURN n, n.uuid, n.created_at"},
    {2, "Community", "Community", "n.group_id",
     "MATCH (n:Community) WHERE n.created_at > $since%s RETURN n, n.uuid, n.created_at"},
    {3, "Saga", "Saga", "n.group_id",
     "MATCH (n:Saga) WHERE n.created_at > $since%s RETURN n, n.uuid, n.created_at"},
    {4, "RELATES_TO", "RELATES_TO", "coalesce(r.group_id, a.group_id)",
     "MATCH (a:Entity)-[r:RELATES_TO]->(b:Entity) WHERE r.created_at > $since%s "
     "RETURN r, a.uuid, b.uuid, 'Entity', r.uuid, r.created_at"},
    {4, "RELATES_TO", "RELATES_TO", "coalesce(r.group_id, a.group_id)",
     "MATCH (a:Entity)-[r:RELATES_TO]->(b:Entity) WHERE r.expired_at > $since%s "
     "RETURN r, a.uuid, b.uuid, 'Entity', r.uuid, r.expired_at"},
    {4, NULL, "Episodic", "coalesce(r.group_id, a.group_id)",
     "MATCH (ep:Episodic)-[:MENTIONS]->(:Entity)-[r:RELATES_TO]-(:Entity) "
     "WHERE ep.created_at > $since AND ep.uuid IN r.episodes "
     "WITH r, max(ep.created_at) AS ts, startNode(r) AS a, endNode(r) AS b "
     "WHERE a:Entity AND b:Entity%s RETURN r, a.uuid, b.uuid, 'Entity', r.uuid, ts"},
    {5, "MENTIONS", "MENTIONS", "coalesce(r.group_id, a.group_id)",
     "MATCH (a:Episodic)-[r:MENTIONS]->(b:Entity) WHERE a.created_at > $since%s "
     "RETURN r, a.uuid, b.uuid, 'Entity', r.uuid, a.created_at"},
    {6, "HAS_MEMBER", "HAS_MEMBER", "coalesce(r.group_id, a.group_id)",
     "MATCH (a:Community)-[r:HAS_MEMBER]->(b) WHERE coalesce(r.created_at, a.created_at) > "
     "$since%s RETURN r, a.uuid, b.uuid, CASE WHEN b:Community THEN 'Community' ELSE 'Entity' "
     "END, r.uuid, coalesce(r.created_at, a.created_at)"},
    {7, "HAS_EPISODE", "HAS_EPISODE", "coalesce(r.group_id, a.group_id)",
     "MATCH (a:Saga)-[r:HAS_EPISODE]->(b:Episodic) WHERE b.created_at > $since%s "
     "RETURN r, a.uuid, b.uuid, 'Episodic', r.uuid, b.created_at"},
    {8, "NEXT_EPISODE", "NEXT_EPISODE", "coalesce(r.group_id, a.group_id)",
     "MATCH (a:Episodic)-[r:NEXT_EPISODE]->(b:Episodic) WHERE b.created_at > $since%s "
     "RETURN r, a.uuid, b.uuid, 'Episodic', r.uuid, b.created_at"},
};
#define NCHANGE ((int)(sizeof change_queries / sizeof change_queries[0]))

struct wm {
    const char *family;
    int64_t s, ns; /* the largest change timestamp applied; s = INT64_MIN: none */
    int64_t new_s, new_ns;
    long long seen_at; /* wall clock when that watermark was first stored */
};

static const char *const families[] = {"Entity",     "Episodic",    "Community",
                                       "Saga",       "RELATES_TO",  "MENTIONS",
                                       "HAS_MEMBER", "HAS_EPISODE", "NEXT_EPISODE"};
#define NFAMILIES ((int)(sizeof families / sizeof families[0]))

static struct wm *wm_find(struct wm *w, const char *family)
{
    for (int i = 0; i < NFAMILIES; i++)
        if (!strcmp(w[i].family, family))
            return &w[i];
    return NULL;
}

static bool ts_after(int64_t s, int64_t ns, int64_t ref_s, int64_t ref_ns)
{
    return s > ref_s || (s == ref_s && ns > ref_ns);
}

static int write_datetime(struct buf *b, int64_t s, int64_t ns)
{
    int rc = pack_write_struct_header(b, PACK_TAG_DATE_TIME, 3);
    rc = rc ? rc : pack_write_int(b, s);
    rc = rc ? rc : pack_write_int(b, ns);
    return rc ? rc : pack_write_int(b, 0);
}

static int incremental_graph(const struct cfg *c, struct bolt_session *bolt, struct fixer *fx,
                             const char *graph, const char *group, struct sync_report *rep,
                             double *oldest_change)
{
    char wmkey[320];
    snprintf(wmkey, sizeof wmkey, "falkorsync:wm:%s", graph);
    struct wm w[NFAMILIES];
    for (int i = 0; i < NFAMILIES; i++)
        w[i] = (struct wm){.family = families[i], .s = INT64_MIN, .new_s = INT64_MIN};
    const char *hg[2] = {"HGETALL", wmkey};
    redisReply *r = NULL;
    int rc = fdb_commandv(&fx->ld->fdb, &r, 2, hg);
    if (rc) {
        snprintf(rep->error, sizeof rep->error, "FalkorDB: %s", fx->ld->fdb.errstr);
        return rc;
    }
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
        struct wm *x = wm_find(w, r->element[i]->str);
        long long s, ns, seen = 0;
        if (x && sscanf(r->element[i + 1]->str, "%lld %lld %lld", &s, &ns, &seen) >= 2) {
            x->s = x->new_s = s;
            x->ns = x->new_ns = ns;
            x->seen_at = seen;
        }
    }
    freeReplyObject(r);
    if ((rc = ensure_indexes(c, bolt, &fx->ld->fdb, graph, rep->error, sizeof rep->error)))
        return rc;
    fx->ld->graph = graph;

    struct src_cursor sc = {.bolt = bolt, .rules = fx->rules, .sparse = true};
    buf_init(&sc.row, 0);
    buf_init(&sc.tmp, 0);
    buf_init(&sc.head, 0);
    for (int i = 0; i < SYNC_MAX_EMBEDDINGS; i++)
        buf_init(&sc.emb[i], 0);
    struct buf q, p;
    buf_init(&q, 0);
    buf_init(&p, 0);
    for (int qi = 0; !rc && qi < NCHANGE; qi++) {
        const struct change_query *cq = &change_queries[qi];
        const struct wm *since = wm_find(w, cq->since);
        char gf[200] = "";
        if (group)
            snprintf(gf, sizeof gf, " AND %s = $g", cq->group);
        buf_reset(&q);
        buf_reset(&p);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        rc = buf_printf(&q, cq->cypher, gf);
#pragma GCC diagnostic pop
        /* since = watermark - overlap, because transactions commit out of
         * timestamp order; once the watermark has stood still for longer than
         * the overlap, nothing older can still be committing: since =
         * watermark. No watermark: everything. */
        int64_t ss = since->s == INT64_MIN ? -62135596800LL : since->s;
        if (since->s != INT64_MIN &&
            (long long)time(NULL) - since->seen_at <= c->sync.overlap_seconds)
            ss -= c->sync.overlap_seconds;
        rc = rc ? rc : pack_write_map_header(&p, group ? 2 : 1);
        rc = rc ? rc : pack_write_cstr(&p, "since");
        rc = rc ? rc : write_datetime(&p, ss, since->s == INT64_MIN ? 0 : since->ns);
        if (group) {
            rc = rc ? rc : pack_write_cstr(&p, "g");
            rc = rc ? rc : pack_write_cstr(&p, group);
        }
        rc = rc ? rc : bolt_run(bolt, q.data, p.data, p.len, BOLT_MODE_READ);
        if (rc) {
            snprintf(rep->error, sizeof rep->error, "Neo4j: %s", bolt->errstr);
            break;
        }
        fx->type = cq->type;
        sc.t = &sync_graphiti_types[cq->type];
        struct item it;
        int more;
        while ((more = src_next(&sc, &it, &rep->dropped)) == 1) {
            if ((rc = fix_upsert(fx, &sc, it.key, NULL)))
                break;
            if (!sc.has_ts)
                continue;
            if (cq->family) {
                struct wm *x = wm_find(w, cq->family);
                if (ts_after(sc.ts_s, sc.ts_ns, x->new_s, x->new_ns)) {
                    x->new_s = sc.ts_s;
                    x->new_ns = sc.ts_ns;
                }
                /* a change the cache had not seen yet: its age is the lag (unknown
                 * without a watermark: then every item counts as new) */
                if (x->s != INT64_MIN && ts_after(sc.ts_s, sc.ts_ns, x->s, x->ns)) {
                    double t = (double)sc.ts_s + (double)sc.ts_ns / 1e9;
                    if (*oldest_change == 0 || t < *oldest_change)
                        *oldest_change = t;
                }
            }
        }
        if (!rc && more < 0) {
            rc = more;
            snprintf(rep->error, sizeof rep->error, "Neo4j: %s", bolt->errstr);
        }
        if (!rc)
            rc = fix_flush(fx); /* per query: the next type's edges need these endpoints */
    }
    /* Watermarks advance only after FalkorDB acknowledged everything above. */
    for (int i = 0; !rc && i < NFAMILIES; i++) {
        if (w[i].new_s == INT64_MIN || (w[i].new_s == w[i].s && w[i].new_ns == w[i].ns))
            continue;
        char v[96];
        snprintf(v, sizeof v, "%lld %lld %lld", (long long)w[i].new_s, (long long)w[i].new_ns,
                 (long long)time(NULL));
        const char *hs[4] = {"HSET", wmkey, w[i].family, v};
        if ((rc = fdb_commandv(&fx->ld->fdb, NULL, 4, hs)))
            snprintf(rep->error, sizeof rep->error, "FalkorDB: %s", fx->ld->fdb.errstr);
    }
    buf_deinit(&q);
    buf_deinit(&p);
    buf_deinit(&sc.row);
    buf_deinit(&sc.tmp);
    buf_deinit(&sc.head);
    for (int i = 0; i < SYNC_MAX_EMBEDDINGS; i++)
        buf_deinit(&sc.emb[i]);
    props_clear(&sc.props);
    free(sc.props.v);
    return rc;
}

int sync_incremental(const struct cfg *c, const struct sync_opts *o, struct sync_report *rep,
                     double *lag_seconds)
{
    memset(rep, 0, sizeof *rep);
    *lag_seconds = 0;
    double t0 = sync_now();
    struct bolt_session bolt;
    struct sync_rules rules;
    struct loader ld = {0};
    struct fixer fx = {0};
    bolt_init(&bolt);
    fdb_init(&ld.fdb);
    char **groups = NULL;
    int ngroups = 0;
    double oldest = 0;
    int rc = sync_rules_init(&rules, c);
    struct bolt_config bc = sync_bolt_config(c);
    struct fdb_config fc = sync_fdb_config(c);
    if (!rc && (rc = bolt_connect(&bolt, &bc)))
        snprintf(rep->error, sizeof rep->error, "%s", bolt.errstr);
    if (!rc)
        rc = fixer_open(&fx, &ld, c, &rules, rep, &fc, rep->error, sizeof rep->error);
    if (!rc && c->falkordb.layout == CFG_LAYOUT_PER_GROUP) {
        rc = sync_list_groups(&bolt, &groups, &ngroups);
        if (rc)
            snprintf(rep->error, sizeof rep->error, "Neo4j: %s", bolt.errstr);
    }
    if (!rc && c->falkordb.layout == CFG_LAYOUT_SINGLE) {
        const char *ex[2] = {"EXISTS", c->falkordb.database};
        redisReply *r = NULL;
        if ((rc = fdb_commandv(&ld.fdb, &r, 2, ex)))
            snprintf(rep->error, sizeof rep->error, "FalkorDB: %s", ld.fdb.errstr);
        bool exists = !rc && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
        freeReplyObject(r);
        if (!rc && !exists) { /* an empty cache: a full sync fills it and sets watermarks */
            fix_deinit(&fx);
            sync_rules_deinit(&rules);
            bolt_close(&bolt);
            fdb_close(&ld.fdb);
            free(ld.ring);
            rc = sync_full(c, o, rep);
            rep->did_full = true;
            return rc;
        }
    }
    if (!rc && sync_profile_of(c)->generic) {
        /* No change timestamps to follow in an arbitrary graph: compare
         * everything and fix what differs, deletes included. */
        fix_deinit(&fx);
        sync_rules_deinit(&rules);
        bolt_close(&bolt);
        fdb_close(&ld.fdb);
        free(ld.ring);
        struct verify_report found;
        rc = compare(c, &found, rep);
        rep->graphs = found.graphs;
        rep->seconds = sync_now() - t0;
        return rc;
    }
    int nruns = c->falkordb.layout == CFG_LAYOUT_PER_GROUP ? ngroups : 1;
    for (int g = 0; !rc && g < nruns; g++) {
        if (o && o->stop && *o->stop) {
            rc = FS_ECANCELLED;
            snprintf(rep->error, sizeof rep->error, "stopped by a signal");
            break;
        }
        char graph[300];
        const char *group = sync_target(c, groups, g, graph, sizeof graph);
        rc = incremental_graph(c, &bolt, &fx, graph, group, rep, &oldest);
        rep->graphs++;
    }
    if (!rc && (rc = sync_layout_cleanup(c, &ld.fdb, groups, ngroups, rep)))
        snprintf(rep->error, sizeof rep->error, "FalkorDB: %s", ld.fdb.errstr);
    if (!rc && oldest > 0) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        *lag_seconds = (double)now.tv_sec + now.tv_nsec / 1e9 - oldest;
    }
    fix_deinit(&fx);
    sync_groups_free(groups, ngroups);
    sync_rules_deinit(&rules);
    bolt_close(&bolt);
    fdb_close(&ld.fdb);
    free(ld.ring);
    rep->seconds = sync_now() - t0;
    if (rc && !rep->error[0])
        snprintf(rep->error, sizeof rep->error, "%s", fs_strerror(rc));
    return rc;
}
