/* Cached items of one type: pages of compact replies, fingerprinted, sorted by key on disk. */
#include "sync/cursor_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "falkor/param.h"
#include "sync/gkey.h"

/* Rows per FalkorDB page. hiredis builds the whole reply, and an item with a 1024-float
 * vector costs ~100 KB of reply objects, so a page holding vectors stays small; pages
 * without them are larger (fewer round trips). The first page of a type is small. */
#define PAGE_VECTORS 256
#define PAGE_PLAIN 2048
#define SORT_MEM ((size_t)16 << 20)
/* Columns of a row, whole: id(n), n (nodes); id(a), r, a key, a id, b key, b id
 * (relationships). By columns (a cluster, whose replies hiredis 0.14 parses, and it refuses
 * a reply nested deeper than 7 levels: a list property inside a whole entity is 8): id(n),
 * n key, n id, labels(n), properties(n); id(a), r key, r id, a key, a id, b key, b id,
 * type(r), properties(r), id(r). */
#define COL_ENTITY 1
#define EDGE_COL_AKEY 2
#define EDGE_COL_BKEY 4
#define COLS_NODE 5
#define COLS_EDGE 10

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
    fdb_arena_init(&c->arena);
    c->target = PAGE_VECTORS;
    c->kid_key = c->kid_nid = -1;
    c->lists = &c->own_lists;
}

void cache_cursor_use_lists(struct cache_cursor *c, struct cache_lists *l)
{
    c->lists = l;
}

void cache_cursor_share(struct cache_cursor *c, int ways)
{
    /* a set of cursors may hold four times one cursor's buffer, each at least 2 MB */
    size_t share = ways > 4 ? SORT_MEM * 4 / (size_t)ways : SORT_MEM;
    if (share < ((size_t)2 << 20))
        share = (size_t)2 << 20;
    if (!c->loaded)
        c->xs.mem_cap = share;
}

static void names_clear(struct cache_names *n)
{
    for (size_t i = 0; i < n->n; i++)
        free(n->v[i]);
    free(n->v);
    n->v = NULL;
    n->n = 0;
}

void cache_lists_clear(struct cache_lists *l)
{
    names_clear(&l->labels);
    names_clear(&l->types);
    names_clear(&l->keys);
}

int cache_cursor_range(struct cache_cursor *c, const char *lo, const char *hi)
{
    if (c->generic || c->loaded)
        return FS_EINVAL;
    c->key_lo = lo;
    c->key_hi = hi;
    return 0;
}

void cache_cursor_deinit(struct cache_cursor *c)
{
    buf_deinit(&c->tmp);
    buf_deinit(&c->head);
    buf_deinit(&c->q);
    buf_deinit(&c->rec);
    xsort_deinit(&c->xs);
    fdb_arena_deinit(&c->arena);
    cache_lists_clear(&c->own_lists);
}

/* The names of one kind listed by proc, in id order, into *n (on c's connection, with a
 * reply arena of their own: the page being read stays where it is). */
static int names_fetch(struct cache_cursor *c, const char *proc, struct cache_names *n, char *err,
                       size_t errlen)
{
    struct fdb_arena a;
    fdb_arena_init(&a);
    const char *argv[4] = {"GRAPH.RO_QUERY", c->graph, proc, "--compact"};
    redisReply *r = NULL;
    int rc = fdb_command_arena(c->fdb, &a, &r, 4, argv);
    if (rc)
        snprintf(err, errlen, "FalkorDB: %s", c->fdb->errstr);
    const redisReply *rows = rc ? NULL : fdb_compact_rows(r);
    if (!rc && !rows) {
        snprintf(err, errlen, "FalkorDB: %s gave no rows", proc);
        rc = FS_EPROTOCOL;
    }
    names_clear(n);
    char **v = rc || !rows->elements ? NULL : calloc(rows->elements, sizeof *v);
    if (!rc && rows->elements && !v)
        rc = FS_ENOMEM;
    for (size_t i = 0; !rc && i < rows->elements; i++) {
        const char *str;
        size_t len;
        const redisReply *row = rows->element[i];
        if (row->type != REDIS_REPLY_ARRAY || row->elements < 1 ||
            fdb_compact_string(row->element[0], &str, &len)) {
            snprintf(err, errlen, "FalkorDB: %s listed something that is not a name", proc);
            rc = FS_EPROTOCOL;
        } else if (!(v[i] = strndup(str, len))) {
            rc = FS_ENOMEM;
        }
        n->n = i + 1;
    }
    n->v = v;
    if (rc)
        names_clear(n);
    fdb_arena_deinit(&a);
    return rc;
}

/* The id of the property key named name, or -1. */
static int64_t key_id(const struct cache_cursor *c, const char *name)
{
    for (size_t i = 0; name && i < c->lists->keys.n; i++)
        if (!strcmp(c->lists->keys.v[i], name))
            return (int64_t)i;
    return -1;
}

/* The whole node or relationship in a row's cell: [id, labels, props] or [id, type, src,
 * dst, props] with integer ids; NULL when the cell is not that. */
static const redisReply *row_entity(const struct cache_cursor *c, const redisReply *row)
{
    if (row->type != REDIS_REPLY_ARRAY || row->elements <= COL_ENTITY)
        return NULL;
    const redisReply *cell = row->element[COL_ENTITY];
    int want = c->t->edge ? FDB_CT_EDGE : FDB_CT_NODE;
    size_t n = c->t->edge ? 5 : 3;
    if (fdb_compact_type(cell) != want)
        return NULL;
    const redisReply *e = cell->element[1];
    if (e->type != REDIS_REPLY_ARRAY || e->elements != n ||
        e->element[0]->type != REDIS_REPLY_INTEGER ||
        e->element[n - 1]->type != REDIS_REPLY_ARRAY ||
        e->element[1]->type != (c->t->edge ? REDIS_REPLY_INTEGER : REDIS_REPLY_ARRAY))
        return NULL;
    return e;
}

/* Whether every row of a page is shaped as asked and every id it names is known; else the
 * names are fetched again (once: one still unknown is an error). Notes on the way whether a
 * row holds a vecf32 property (graphiti profile: later pages are kept small). */
static int check_page(struct cache_cursor *c, const redisReply *rs, char *err, size_t errlen)
{
    for (size_t i = 0; !c->whole && rs && i < rs->elements; i++) {
        const redisReply *row = rs->element[i];
        size_t n = c->t->edge ? COLS_EDGE : COLS_NODE, pc = n == COLS_EDGE ? 8 : 4;
        if (row->type != REDIS_REPLY_ARRAY || row->elements != n ||
            fdb_compact_type(row->element[pc]) != FDB_CT_MAP ||
            row->element[pc]->element[1]->type != REDIS_REPLY_ARRAY ||
            (!c->t->edge && fdb_compact_type(row->element[3]) != FDB_CT_ARRAY)) {
            snprintf(err, errlen, "FalkorDB: a %s page row is not shaped as asked", c->t->name);
            return FS_EPROTOCOL;
        }
        const redisReply *pm = row->element[pc]->element[1];
        for (size_t j = 1; !c->generic && j < pm->elements; j += 2)
            if (fdb_compact_type(pm->element[j]) == FDB_CT_VECTORF32)
                c->vectors = true;
    }
    for (int pass = 0; c->whole && rs && pass < 2; pass++) {
        bool unknown = false;
        for (size_t i = 0; i < rs->elements && !unknown; i++) {
            const redisReply *e = row_entity(c, rs->element[i]);
            if (!e || rs->element[i]->elements < (c->t->edge ? 6u : 2u)) {
                snprintf(err, errlen, "FalkorDB: a %s page row is not shaped as asked", c->t->name);
                return FS_EPROTOCOL;
            }
            const redisReply *pm = e->element[e->elements - 1];
            for (size_t j = 0; j < pm->elements && !unknown; j++) {
                const redisReply *p = pm->element[j];
                if (p->type != REDIS_REPLY_ARRAY || p->elements != 3 ||
                    p->element[0]->type != REDIS_REPLY_INTEGER) {
                    snprintf(err, errlen, "FalkorDB: a %s property is not shaped as asked",
                             c->t->name);
                    return FS_EPROTOCOL;
                }
                unknown = p->element[0]->integer < 0 ||
                          (uint64_t)p->element[0]->integer >= c->lists->keys.n;
                if (!c->generic && p->element[1]->type == REDIS_REPLY_INTEGER &&
                    p->element[1]->integer == FDB_CT_VECTORF32)
                    c->vectors = true;
            }
            if (c->t->edge) {
                unknown = unknown || e->element[1]->integer < 0 ||
                          (uint64_t)e->element[1]->integer >= c->lists->types.n;
            } else {
                const redisReply *lv = e->element[1];
                for (size_t j = 0; j < lv->elements && !unknown; j++)
                    unknown = lv->element[j]->type != REDIS_REPLY_INTEGER ||
                              lv->element[j]->integer < 0 ||
                              (uint64_t)lv->element[j]->integer >= c->lists->labels.n;
            }
        }
        if (!unknown) { /* the lists may be a graph's, fetched by an earlier cursor */
            c->kid_key = key_id(c, c->generic ? (*c->kp ? c->kp : NULL) : "uuid");
            c->kid_nid = c->generic ? key_id(c, GK_ID_PROP) : -1;
            return 0;
        }
        if (pass) {
            snprintf(err, errlen,
                     "FalkorDB: a %s page names a label, type or property key id that the "
                     "graph's lists do not hold",
                     c->t->name);
            return FS_EPROTOCOL;
        }
        int rc = names_fetch(c, "CALL db.propertyKeys()", &c->lists->keys, err, errlen);
        rc = rc ? rc
             : c->t->edge
                 ? names_fetch(c, "CALL db.relationshipTypes()", &c->lists->types, err, errlen)
                 : names_fetch(c, "CALL db.labels()", &c->lists->labels, err, errlen);
        if (rc)
            return rc;
    }
    return 0;
}

/* A property's [type, value] cell, from its [key id, type, value] entry. */
static void prop_cell(const redisReply *p, redisReply *cell)
{
    memset(cell, 0, sizeof *cell);
    cell->type = REDIS_REPLY_ARRAY;
    cell->elements = 2;
    cell->element = p->element + 1;
}

/* The [type, value] cell of property id kid in pm, or a NULL cell. */
static void find_prop(const redisReply *pm, int64_t kid, redisReply *cell)
{
    static redisReply null_type = {.type = REDIS_REPLY_INTEGER, .integer = FDB_CT_NULL};
    static redisReply null_value = {.type = REDIS_REPLY_NIL};
    static redisReply *null_cell[2] = {&null_type, &null_value};
    for (size_t j = 0; kid >= 0 && j < pm->elements; j++)
        if (pm->element[j]->element[0]->integer == kid) {
            prop_cell(pm->element[j], cell);
            return;
        }
    memset(cell, 0, sizeof *cell);
    cell->type = REDIS_REPLY_ARRAY;
    cell->elements = 2;
    cell->element = null_cell;
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

/* What a page returns after id(n) or id(a) (see COL_ENTITY). */
static int return_cols(struct cache_cursor *c)
{
    const bool edge = c->t->edge;
    if (c->whole && !edge)
        return buf_append_str(&c->q, ", n");
    int rc = c->whole ? buf_append_str(&c->q, ", r") : 0;
    /* by columns: the item's own key first; whole: the endpoints' alone */
    for (int i = c->whole ? 1 : 0; !rc && i < (edge ? 3 : 1); i++) {
        rc = buf_append_str(&c->q, ", ");
        rc = rc ? rc : cache_key_cols(&c->q, c, !edge ? "n" : i == 0 ? "r" : i == 1 ? "a" : "b");
    }
    if (rc || c->whole)
        return rc;
    return buf_append_str(&c->q,
                          edge ? ", type(r), properties(r), id(r)" : ", labels(n), properties(n)");
}

/* "CYPHER lo=.. hi=.. [klo=.. khi=..] " for a range page, or "CYPHER last=.. lastr=.. [..] "
 * for the rest of one start node's relationships. */
static int page_params(struct cache_cursor *c, bool rest)
{
    buf_reset(&c->q);
    int rc = rest ? buf_printf(&c->q, "CYPHER last=%lld lastr=%lld", (long long)c->last_id,
                               (long long)c->last_rel)
                  : buf_printf(&c->q, "CYPHER lo=%lld hi=%lld", (long long)c->lo, (long long)c->hi);
    if (c->key_lo) {
        rc = rc ? rc : buf_append_str(&c->q, " klo=");
        rc = rc ? rc : fdb_param_write_string(&c->q, c->key_lo, strlen(c->key_lo));
    }
    if (c->key_hi) {
        rc = rc ? rc : buf_append_str(&c->q, " khi=");
        rc = rc ? rc : fdb_param_write_string(&c->q, c->key_hi, strlen(c->key_hi));
    }
    return rc ? rc : buf_append_byte(&c->q, ' ');
}

/* " AND v.uuid >= $klo AND v.uuid < $khi", the parts of the key range that are set. */
static int key_range_cond(struct cache_cursor *c, const char *v)
{
    int rc = c->key_lo ? buf_printf(&c->q, " AND %s.uuid >= $klo", v) : 0;
    return rc ? rc : c->key_hi ? buf_printf(&c->q, " AND %s.uuid < $khi", v) : 0;
}

/* The query of the next page: the items (nodes) or the relationships of the start nodes
 * whose ids are in [lo, hi), an id range FalkorDB seeks (a label-and-id scan, no sort of
 * what lies beyond the page); rest: the rest of one start node's relationships. */
static int page_query(struct cache_cursor *c, bool rest)
{
    const bool edge = c->t->edge;
    const char *label = edge ? c->t->src_label : c->t->name;
    int rc = page_params(c, rest);
    rc = rc ? rc : buf_printf(&c->q, "MATCH (%s", edge ? "a" : "n");
    if (!c->generic && !rest)
        rc = rc ? rc : buf_printf(&c->q, ":`%s`", label);
    if (rest)
        rc = rc ? rc : buf_append_str(&c->q, ") WHERE id(a) = $last");
    else
        rc = rc ? rc
                : buf_printf(&c->q, ") WHERE id(%s) >= $lo AND id(%s) < $hi", edge ? "a" : "n",
                             edge ? "a" : "n");
    if (!edge) {
        rc = rc ? rc : key_range_cond(c, "n");
        rc = rc ? rc : buf_append_str(&c->q, " RETURN id(n)");
        return rc ? rc : return_cols(c);
    }
    rc = rc ? rc : buf_append_str(&c->q, " MATCH (a)-[r");
    if (!c->generic)
        rc = rc ? rc : buf_printf(&c->q, ":`%s`", c->t->name);
    rc = rc ? rc : buf_append_str(&c->q, "]->(b) WHERE true");
    if (rest)
        rc = rc ? rc : buf_append_str(&c->q, " AND id(r) > $lastr");
    rc = rc ? rc : key_range_cond(c, "r");
    rc = rc ? rc
            : buf_printf(&c->q, " WITH a, r, b ORDER BY id(a), id(r) LIMIT %d RETURN id(a)",
                         c->target);
    return rc ? rc : return_cols(c);
}

/* One row of a page, whichever shape it came in. */
struct row_view {
    const redisReply *key, *nid;           /* the item's key and _neo4j_id cells */
    const redisReply *ak, *aid, *bk, *bid; /* relationships: the endpoints' */
    const redisReply *labels;              /* nodes: ids (whole) or [type, name] cells */
    const redisReply *props;               /* [key id, type, value] entries, or a map */
    const char *type;                      /* relationships: the type name */
    size_t tlen;
    int64_t fid;
    redisReply kcell, ncell; /* whole: the key cells found among the properties */
};

static void view_row(struct cache_cursor *c, const redisReply *row, int64_t id, struct row_view *v)
{
    redisReply *const *x = row->element;
    if (c->whole) {
        const redisReply *e = row_entity(c, row);
        v->props = e->element[e->elements - 1];
        find_prop(v->props, c->kid_key, &v->kcell);
        find_prop(v->props, c->kid_nid, &v->ncell);
        v->key = &v->kcell;
        v->nid = &v->ncell;
        v->fid = e->element[0]->integer;
        if (c->t->edge) {
            v->ak = x[EDGE_COL_AKEY];
            v->aid = x[EDGE_COL_AKEY + 1];
            v->bk = x[EDGE_COL_BKEY];
            v->bid = x[EDGE_COL_BKEY + 1];
            v->type = c->lists->types.v[e->element[1]->integer];
            v->tlen = strlen(v->type);
        } else {
            v->labels = e->element[1];
        }
        return;
    }
    v->key = x[1];
    v->nid = x[2];
    v->fid = id;
    if (!c->t->edge) {
        v->labels = x[3]->element[1];
        v->props = x[4]->element[1];
        return;
    }
    v->ak = x[3];
    v->aid = x[4];
    v->bk = x[5];
    v->bid = x[6];
    const redisReply *tv = x[7]->element[1];
    bool named = tv->type == REDIS_REPLY_STRING;
    v->type = named ? tv->str : "";
    v->tlen = named ? tv->len : 0;
    v->props = x[8]->element[1];
    v->fid = x[COLS_EDGE - 1]->element[1]->integer;
}

/* The number of properties in a view, and the name and [type, value] cell of the jth. */
static size_t view_nprops(const struct cache_cursor *c, const struct row_view *v)
{
    return c->whole ? v->props->elements : v->props->elements / 2;
}

static const char *view_prop(const struct cache_cursor *c, const struct row_view *v, size_t j,
                             size_t *nlen, redisReply *scratch, const redisReply **cell)
{
    if (!c->whole) {
        const redisReply *name = v->props->element[2 * j];
        *cell = v->props->element[2 * j + 1];
        *nlen = name->len;
        return name->str;
    }
    const redisReply *p = v->props->element[j];
    prop_cell(p, scratch);
    *cell = scratch;
    const char *name = c->lists->keys.v[p->element[0]->integer];
    *nlen = strlen(name);
    return name;
}

/* A node's head "N:<sorted labels>" (in c->head) and the labels alone. */
static int node_head(struct cache_cursor *c, const struct row_view *v, char *labels, size_t lcap)
{
    const redisReply *lv = v->labels;
    char *names[64];
    size_t n = 0;
    for (size_t j = 0; j < lv->elements && n < 64; j++)
        names[n++] = c->whole ? c->lists->labels.v[lv->element[j]->integer]
                              : lv->element[j]->element[1]->str;
    int rc = buf_append_str(&c->head, "N:");
    rc = rc ? rc : fp_sorted_labels(&c->head, names, n);
    size_t ll = c->head.len > 2 ? c->head.len - 2 : 0;
    ll = ll < lcap ? ll : lcap - 1;
    memcpy(labels, c->head.data ? c->head.data + 2 : "", ll);
    labels[ll] = '\0';
    return rc;
}

/* One row of a page (checked by check_page) into the sorter: key -> (hash, id, start id,
 * labels). */
static int add_row(struct cache_cursor *c, const redisReply *row, int64_t id)
{
    struct row_view v;
    view_row(c, row, id, &v);
    char key[FP_KEY_CAP];
    if (!cache_key(v.key, v.nid, key, sizeof key))
        return 0; /* no key */
    buf_reset(&c->head);
    char labels[256] = "";
    int64_t fsrc = -1;
    int rc;
    if (!c->t->edge) {
        rc = node_head(c, &v, labels, sizeof labels);
    } else {
        char ak[FP_KEY_CAP] = "", bk[FP_KEY_CAP] = "";
        if (!cache_key(v.ak, v.aid, ak, sizeof ak))
            ak[0] = '\0';
        if (!cache_key(v.bk, v.bid, bk, sizeof bk))
            bk[0] = '\0';
        rc = fp_edge_head(&c->head, v.type, v.tlen, ak, bk);
        fsrc = id;
    }
    struct fp_item f;
    fp_item_init(&f);
    for (size_t j = 0, n = view_nprops(c, &v); !rc && j < n; j++) {
        redisReply scratch;
        const redisReply *cell;
        size_t nlen;
        const char *name = view_prop(c, &v, j, &nlen, &scratch, &cell);
        if (fdb_compact_type(cell) == FDB_CT_VECTORF32)
            c->vectors = true;
        buf_reset(&c->tmp);
        rc = fp_canon_compact(&c->tmp, cell);
        if (!rc)
            fp_item_prop(&f, name, nlen, c->tmp.data, c->tmp.len);
    }
    uint64_t hash = rc ? 0 : fp_item_hash(&f, c->head.data ? c->head.data : "", c->head.len);
    buf_reset(&c->rec);
    rc = rc ? rc : buf_append(&c->rec, &hash, sizeof hash);
    rc = rc ? rc : buf_append(&c->rec, &v.fid, sizeof v.fid);
    rc = rc ? rc : buf_append(&c->rec, &fsrc, sizeof fsrc);
    rc = rc ? rc : buf_append_str(&c->rec, labels);
    return rc ? rc : xsort_add(&c->xs, key, strlen(key), c->rec.data, c->rec.len);
}

/* Runs the query in c->q read-only; *r NULL when the graph does not exist. The reply lives in
 * the cursor's arena until the next query (no malloc per reply object). */
static int cache_query(struct cache_cursor *c, redisReply **r, char *err, size_t errlen)
{
    const char *argv[4] = {"GRAPH.RO_QUERY", c->graph, c->q.data, "--compact"};
    *r = NULL;
    int rc = fdb_command_arena(c->fdb, &c->arena, r, 4, argv);
    if (rc && rc == FS_ESERVER && c->fdb->server_err == FS_EFDB_NOGRAPH)
        return 0; /* no such graph: nothing cached */
    if (rc)
        snprintf(err, errlen, "FalkorDB: %s", c->fdb->errstr);
    return rc;
}

/* The largest id of the nodes to page through (the start nodes of edges) and how many there
 * are: the first page's width assumes they are spread evenly. */
static int cache_bounds(struct cache_cursor *c, char *err, size_t errlen)
{
    buf_reset(&c->q);
    const char *label = c->t->edge ? c->t->src_label : c->t->name;
    int rc = c->generic ? buf_append_str(&c->q, "MATCH (n) RETURN max(id(n)), count(n)")
                        : buf_printf(&c->q, "MATCH (n:`%s`) RETURN max(id(n)), count(n)", label);
    redisReply *r = NULL;
    rc = rc ? rc : cache_query(c, &r, err, errlen);
    const redisReply *rows = rc ? NULL : fdb_compact_rows(r);
    int64_t max = -1, n = 0;
    if (rows && rows->elements && rows->element[0]->type == REDIS_REPLY_ARRAY &&
        rows->element[0]->elements == 2 &&
        (fdb_compact_int(rows->element[0]->element[0], &max) ||
         fdb_compact_int(rows->element[0]->element[1], &n)))
        max = -1; /* null: no such node */
    c->max_id = max;
    c->lo = 0;
    int64_t first = c->t->edge ? 64 : c->target; /* start nodes, items */
    c->width = n > 0 ? (max + 1) / n * first + first : 1;
    if (!c->t->edge && c->width > c->target)
        c->width = c->target;
    c->hi = c->width;
    return rc;
}

/* The next range's width: about target rows, from the rows the last range gave. */
static void next_width(struct cache_cursor *c, size_t rows)
{
    int64_t w = c->width;
    if (!rows)
        w *= 4;
    else if ((int64_t)rows * 3 < c->target * 2) /* aim at 3/4 of the target: few full pages */
        w = w * c->target * 3 / 4 / (int64_t)rows;
    if (w > c->width * 4)
        w = c->width * 4;
    if (!c->t->edge && w > c->target)
        w = c->target;
    c->width = w < 1 ? 1 : w;
}

/* A relationship row's own id (a row checked by check_page). */
static int64_t row_rid(struct cache_cursor *c, const redisReply *row)
{
    return c->whole ? row_entity(c, row)->element[0]->integer
                    : row->element[COLS_EDGE - 1]->element[1]->integer;
}

/* The reply of the page query sent ahead (c->sent), or of the one run now. */
static int page_reply(struct cache_cursor *c, bool rest, redisReply **r, char *err, size_t errlen)
{
    if (!c->sent) {
        int rc = page_query(c, rest);
        return rc ? rc : cache_query(c, r, err, errlen);
    }
    c->sent = false;
    int rc = fdb_arena_read(c->fdb, &c->arena, r, "GRAPH.RO_QUERY");
    if (rc && rc == FS_ESERVER && c->fdb->server_err == FS_EFDB_NOGRAPH)
        return 0;
    if (rc)
        snprintf(err, errlen, "FalkorDB: %s", c->fdb->errstr);
    return rc;
}

/* Sends the next page's query now, so that FalkorDB runs it while this page is fingerprinted
 * (one server; a cluster's pages go one at a time). */
static int send_ahead(struct cache_cursor *c, char *err, size_t errlen)
{
    if (c->done || !fdb_arena_can_send(c->fdb))
        return 0;
    int rc = page_query(c, c->t->edge && c->in_source);
    const char *argv[4] = {"GRAPH.RO_QUERY", c->graph, c->q.data, "--compact"};
    rc = rc ? rc : fdb_arena_send(c->fdb, 4, argv);
    if (rc)
        snprintf(err, errlen, "FalkorDB: %s", c->fdb->errstr);
    c->sent = !rc;
    return rc;
}

/* Reads one page into the sorter: the next range is worked out from the rows and its query
 * sent before the rows are fingerprinted. */
static int cache_page(struct cache_cursor *c, char *err, size_t errlen)
{
    const bool edge = c->t->edge;
    const bool rest = edge && c->in_source;
    redisReply *r = NULL;
    int rc = page_reply(c, rest, &r, err, errlen);
    if (rc || !r) {
        c->done = true;
        return rc;
    }
    const redisReply *rs = fdb_compact_rows(r);
    size_t nrows = rs ? rs->elements : 0;
    if ((rc = check_page(c, rs, err, errlen))) {
        c->done = true;
        return rc;
    }
    bool full = edge && nrows == (size_t)c->target;
    if (full) { /* the last start node may have more: its rest next, then on after it */
        const redisReply *last = rs->element[nrows - 1];
        c->last_id = last->element[0]->element[1]->integer;
        c->last_rel = row_rid(c, last);
        c->in_source = true;
        if (!rest && c->width > 1)
            c->width /= 2;
    } else if (rest) { /* that node done: on after it, a range of the (halved) width */
        c->in_source = false;
        c->lo = c->last_id + 1;
        if (c->hi - c->lo > c->width)
            c->hi = c->lo + c->width;
    } else {
        c->lo = c->hi;
        next_width(c, nrows);
    }
    if (!c->in_source && c->lo >= c->hi)
        c->hi = c->lo + c->width;
    if (!full && !rest && !c->vectors)
        c->target = PAGE_PLAIN;
    if (c->vectors)
        c->target = PAGE_VECTORS;
    c->done = !c->in_source && c->lo > c->max_id;
    rc = send_ahead(c, err, errlen);
    for (size_t i = 0; !rc && i < nrows; i++)
        rc = add_row(c, rs->element[i], rs->element[i]->element[0]->element[1]->integer);
    return rc;
}

/* A slice's page: the items of (after, upto] by index range, then by id (sync/verify.c). */
static int range_page_query(struct cache_cursor *c)
{
    const bool edge = c->t->edge;
    const char *v = edge ? "r" : "n";
    buf_reset(&c->q);
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
    rc = rc ? rc
         : !edge
             ? buf_printf(&c->q, " AND id(n) > $last WITH n ORDER BY id(n) LIMIT %d RETURN id(n)",
                          c->target)
             : buf_printf(&c->q,
                          " AND id(r) > $last WITH r ORDER BY id(r) LIMIT %d "
                          "WITH r, startNode(r) AS a, endNode(r) AS b RETURN id(a)",
                          c->target);
    return rc ? rc : return_cols(c);
}

/* One page of a slice into the sorter: paged by id(n), or by id(r) for relationships. */
static int cache_slice_page(struct cache_cursor *c, char *err, size_t errlen)
{
    const bool edge = c->t->edge;
    int rc = range_page_query(c);
    redisReply *r = NULL;
    rc = rc ? rc : cache_query(c, &r, err, errlen);
    if (rc || !r) {
        c->done = true;
        return rc;
    }
    const redisReply *rs = fdb_compact_rows(r);
    size_t nrows = rs ? rs->elements : 0;
    c->done = nrows < (size_t)c->target;
    rc = check_page(c, rs, err, errlen);
    for (size_t i = 0; !rc && i < nrows; i++) {
        const redisReply *row = rs->element[i];
        int64_t id = row->element[0]->element[1]->integer;
        if (edge) {
            int64_t rid = row_rid(c, row);
            if (rid > c->last_rel)
                c->last_rel = rid;
        } else if (id > c->last_id) {
            c->last_id = id;
        }
        rc = add_row(c, row, id);
    }
    return rc;
}

int cache_cursor_load(struct cache_cursor *c, char *err, size_t errlen)
{
    c->whole = !c->fdb->cfg.cluster && !fdb_is_cluster(c->fdb);
    c->in_source = false;
    c->done = false;
    int rc = 0;
    if (c->after) { /* a slice: by key range, paged by id */
        c->last_id = -1;
        c->last_rel = -1;
        c->target = PAGE_PLAIN;
    } else {
        rc = cache_bounds(c, err, errlen);
        c->done = c->max_id < 0;
    }
    while (!rc && !c->done) {
        if ((c->stop && *c->stop) || (c->cancel && *c->cancel)) {
            snprintf(err, errlen, "stopped by a signal");
            rc = FS_ECANCELLED;
            break;
        }
        rc = c->after ? cache_slice_page(c, err, errlen) : cache_page(c, err, errlen);
    }
    if (c->sent) { /* stopped with a page query sent ahead: its reply goes unread */
        redisReply *r;
        if (fdb_arena_read(c->fdb, &c->arena, &r, "GRAPH.RO_QUERY")) {
            /* the connection is closed or failed: nothing more is read from it */
        }
        c->sent = false;
    }
    fdb_arena_deinit(&c->arena); /* the pages' memory is not needed for the merge */
    fdb_arena_init(&c->arena);
    if (!rc && (rc = xsort_finish(&c->xs)))
        snprintf(err, errlen, "sorting the cache side: %s", fs_strerror(rc));
    c->loaded = true;
    return rc;
}

int cache_cursor_next(struct cache_cursor *c, struct sync_item *out, char *err, size_t errlen)
{
    if (!c->loaded) {
        int rc = cache_cursor_load(c, err, errlen);
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
    fp_key_copy(out->key, rec.key);
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
