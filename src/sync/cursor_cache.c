/* Cached items of one type: pages of compact replies, fingerprinted, sorted by key on disk. */
#include "sync/cursor_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "falkor/param.h"
#include "sync/gkey.h"

/* Items per FalkorDB page: hiredis builds the whole reply, and an item with
 * a 1024-float vector costs ~100 KB of reply objects, so pages stay small. */
#define PAGE 256
#define SORT_MEM ((size_t)16 << 20)
#define EDGE_SOURCES_PER_PAGE 64
#define EDGE_ROWS 512 /* a page's rows, whatever the start nodes' degrees */
/* Columns of an edge row: id(a), r key, r id, a key, a id, b key, b id, type, props, id(r). */
#define EDGE_COL_RID 9

void cache_cursor_init(struct cache_cursor *c, struct fdb_conn *fdb, const char *graph,
                       const struct sync_type *t, bool generic, const char *key_property)
{
    memset(c, 0, sizeof *c);
    c->fdb = fdb;
    c->graph = graph;
    c->t = t;
    c->generic = generic;
    c->kp = key_property;
    buf_init(&c->tmp, FP_ITEM_CAP);
    buf_init(&c->head, FP_ITEM_CAP);
    buf_init(&c->q, FP_ITEM_CAP);
    buf_init(&c->rec, FP_ITEM_CAP);
    xsort_init(&c->xs, SORT_MEM);
}

void cache_cursor_deinit(struct cache_cursor *c)
{
    fp_props_free(&c->props);
    buf_deinit(&c->tmp);
    buf_deinit(&c->head);
    buf_deinit(&c->q);
    buf_deinit(&c->rec);
    xsort_deinit(&c->xs);
}

/* A cached item's key from its key-property cell and its _neo4j_id cell
 * (compact [type, value] cells): the property's string or integer, else the
 * id; false when neither (an OPTIONAL MATCH without a relationship). */
static bool cache_key(const redisReply *kv, const redisReply *idv, char *out, size_t cap)
{
    int kt = (int)kv->element[0]->integer;
    const redisReply *v = kv->element[1];
    if (kt == FDB_CT_STRING && v->type == REDIS_REPLY_STRING && v->len < cap) {
        memcpy(out, v->str, v->len);
        out[v->len] = '\0';
        return true;
    }
    if (kt == FDB_CT_INTEGER) {
        snprintf(out, cap, "%lld",
                 v->type == REDIS_REPLY_INTEGER ? v->integer : strtoll(v->str, NULL, 10));
        return true;
    }
    v = idv->element[1];
    if ((int)idv->element[0]->integer == FDB_CT_STRING && v->type == REDIS_REPLY_STRING &&
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

/* A slice's page: the items of (after, upto] by index range, then by id (sync/verify.c). */
static int range_page_query(struct cache_cursor *c)
{
    const bool edge = c->t->edge;
    const char *v = edge ? "r" : "n";
    int rc =
        buf_printf(&c->q, "CYPHER last=%lld after=", (long long)(edge ? c->last_rel : c->last_id));
    rc = rc ? rc : fdb_param_write_string(&c->q, c->after, strlen(c->after));
    if (c->upto) {
        rc = rc ? rc : buf_append_str(&c->q, " upto=");
        rc = rc ? rc : fdb_param_write_string(&c->q, c->upto, strlen(c->upto));
    }
    /* edges: no endpoint in the pattern, or FalkorDB seeks the index once per start node */
    rc = rc     ? rc
         : edge ? buf_printf(&c->q, " MATCH ()-[r:`%s`]->()", c->t->name)
                : buf_printf(&c->q, " MATCH (n:`%s`)", c->t->name);
    /* FalkorDB's string range index can hand back more than the range (seen on 4.16 when the
     * range starts below the smallest key): the range is checked again on the rows */
    rc = rc ? rc : buf_printf(&c->q, " WHERE %s.uuid > $after", v);
    if (c->upto)
        rc = rc ? rc : buf_printf(&c->q, " AND %s.uuid <= $upto", v);
    rc = rc ? rc : buf_printf(&c->q, " WITH %s WHERE (%s.uuid + '') > $after", v, v);
    if (c->upto)
        rc = rc ? rc : buf_printf(&c->q, " AND (%s.uuid + '') <= $upto", v);
    if (!edge) {
        rc = rc ? rc
                : buf_printf(&c->q,
                             " AND id(n) > $last WITH n ORDER BY id(n) LIMIT %d "
                             "RETURN id(n), ",
                             PAGE);
        rc = rc ? rc : cache_key_cols(&c->q, c, "n");
        return rc ? rc : buf_append_str(&c->q, ", labels(n), properties(n)");
    }
    rc = rc ? rc
            : buf_printf(&c->q,
                         " AND id(r) > $last WITH r ORDER BY id(r) LIMIT %d "
                         "WITH r, startNode(r) AS a, endNode(r) AS b RETURN id(a), ",
                         EDGE_ROWS);
    for (int i = 0; !rc && i < 3; i++) {
        rc = cache_key_cols(&c->q, c, i == 0 ? "r" : i == 1 ? "a" : "b");
        rc = rc ? rc : buf_append_str(&c->q, ", ");
    }
    return rc ? rc : buf_append_str(&c->q, "type(r), properties(r), id(r)");
}

/* The query of the next page. rest: the rest of one start node's relationships. */
static int page_query(struct cache_cursor *c, bool rest)
{
    if (c->after) {
        buf_reset(&c->q);
        return range_page_query(c);
    }
    buf_reset(&c->q);
    const bool edge = c->t->edge;
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
        return rc ? rc : buf_append_str(&c->q, ", labels(n), properties(n)");
    }
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
    return rc ? rc : buf_append_str(&c->q, "type(r), properties(r), id(r)");
}

/* A node row's head "N:<sorted labels>"; *pm its property map. */
static int node_row_head(struct cache_cursor *c, const redisReply *row, char *labels, size_t lcap,
                         const redisReply **pm)
{
    const redisReply *lv = row->element[3]->element[1];
    char *names[64];
    size_t n = 0;
    for (size_t j = 0; j < lv->elements && n < 64; j++)
        names[n++] = lv->element[j]->element[1]->str;
    int rc = buf_append_str(&c->head, "N:");
    rc = rc ? rc : fp_sorted_labels(&c->head, names, n);
    snprintf(labels, lcap, "%s", c->head.data ? c->head.data + 2 : "");
    *pm = row->element[4]->element[1];
    return rc;
}

/* One row of a page into the sorter: key -> (hash, id, start id, labels). */
static int add_row(struct cache_cursor *c, const redisReply *row, int64_t id)
{
    char key[FP_KEY_CAP];
    if (!cache_key(row->element[1], row->element[2], key, sizeof key))
        return 0; /* no relationship, or no key */
    fp_props_clear(&c->props);
    buf_reset(&c->head);
    const redisReply *pm;
    char labels[256] = "";
    int64_t fid = id, fsrc = -1;
    int rc;
    if (!c->t->edge) {
        rc = node_row_head(c, row, labels, sizeof labels, &pm);
    } else {
        char ak[FP_KEY_CAP] = "", bk[FP_KEY_CAP] = "";
        if (!cache_key(row->element[3], row->element[4], ak, sizeof ak))
            ak[0] = '\0';
        if (!cache_key(row->element[5], row->element[6], bk, sizeof bk))
            bk[0] = '\0';
        const redisReply *tv = row->element[7]->element[1];
        rc = buf_printf(&c->head, "E:%s\x1f%s\x1f%s", tv->type == REDIS_REPLY_STRING ? tv->str : "",
                        ak, bk);
        pm = row->element[8]->element[1];
        fsrc = id;
        fid = row->element[EDGE_COL_RID]->element[1]->integer;
    }
    for (size_t j = 0; !rc && j + 1 < pm->elements; j += 2) {
        buf_reset(&c->tmp);
        /* map entries: key string, then a [type, value] cell */
        rc = fp_canon_compact(&c->tmp, pm->element[j + 1]);
        rc = rc ? rc : fp_props_add(&c->props, pm->element[j]->str, pm->element[j]->len, &c->tmp);
    }
    uint64_t hash = rc ? 0 : fp_hash(c->head.data ? c->head.data : "", &c->props);
    buf_reset(&c->rec);
    rc = rc ? rc : buf_append(&c->rec, &hash, sizeof hash);
    rc = rc ? rc : buf_append(&c->rec, &fid, sizeof fid);
    rc = rc ? rc : buf_append(&c->rec, &fsrc, sizeof fsrc);
    rc = rc ? rc : buf_append_str(&c->rec, labels);
    return rc ? rc : xsort_add(&c->xs, key, strlen(key), c->rec.data, c->rec.len);
}

/* Reads one page into the sorter. */
static int cache_page(struct cache_cursor *c, char *err, size_t errlen)
{
    const bool edge = c->t->edge;
    const bool rest = edge && c->in_source;
    int rc = page_query(c, rest);
    if (rc)
        return rc;
    const char *argv[4] = {"GRAPH.RO_QUERY", c->graph, c->q.data, "--compact"};
    redisReply *r = NULL;
    rc = fdb_commandv(c->fdb, &r, 4, argv);
    if (rc) {
        if (rc == FS_ESERVER && c->fdb->server_err == FS_EFDB_NOGRAPH) {
            /* no such graph: nothing cached */
            c->done = true;
            return 0;
        }
        snprintf(err, errlen, "FalkorDB: %s", c->fdb->errstr);
        return rc;
    }
    const redisReply *rs = r->type == REDIS_REPLY_ARRAY && r->elements >= 3 ? r->element[1] : NULL;
    size_t nrows = rs ? rs->elements : 0;
    if (c->after) { /* a slice: paged by id(n) or id(r) */
        c->done = edge ? nrows < EDGE_ROWS : nrows == 0;
        for (size_t i = 0; edge && i < nrows; i++) {
            int64_t rid = rs->element[i]->element[EDGE_COL_RID]->element[1]->integer;
            if (rid > c->last_rel)
                c->last_rel = rid;
        }
    } else if (!edge) {
        c->done = nrows == 0;
    } else if (nrows == EDGE_ROWS) { /* the last start node may have more */
        const redisReply *rid = rs->element[nrows - 1]->element[EDGE_COL_RID]->element[1];
        c->in_source = rid->type == REDIS_REPLY_INTEGER; /* null: it had none */
        c->last_rel = c->in_source ? rid->integer : -1;
    } else { /* every relationship of these start nodes read */
        c->done = !rest && nrows == 0;
        c->in_source = false;
    }
    for (size_t i = 0; !rc && i < nrows; i++) {
        int64_t id = rs->element[i]->element[0]->element[1]->integer;
        if (id > c->last_id)
            c->last_id = id;
        rc = add_row(c, rs->element[i], id);
    }
    freeReplyObject(r);
    return rc;
}

static int cache_load(struct cache_cursor *c, char *err, size_t errlen)
{
    c->last_id = -1;
    c->last_rel = -1;
    c->in_source = false;
    c->done = false;
    int rc;
    do {
        if (c->stop && *c->stop) {
            snprintf(err, errlen, "stopped by a signal");
            return FS_ECANCELLED;
        }
        rc = cache_page(c, err, errlen);
    } while (!rc && !c->done);
    if (!rc && (rc = xsort_finish(&c->xs)))
        snprintf(err, errlen, "sorting the cache side: %s", fs_strerror(rc));
    c->loaded = true;
    return rc;
}

int cache_cursor_next(struct cache_cursor *c, struct sync_item *out, char *err, size_t errlen)
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
