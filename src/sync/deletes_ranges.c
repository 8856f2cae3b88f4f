/* The delete check's range drill: a type's keys counted by their first characters on both
 * sides in one query each, then every range whose counts differ listed in a few batched
 * queries and fixed. A writer that deletes all the time leaves differences under hundreds of
 * prefixes each run; one query per prefix (dc_drill) cost a round trip and a plan each. */
#include "sync/deletes_int.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "falkor/param.h"
#include "log/log.h"
#include "sync/extract.h"
#include "sync/gkey.h"
#include "sync/target.h"

/* A range is listed key by key when neither side holds more than this in it (else drilled). */
#define DR_LIST_MAX 4096
/* Keys (the larger side's) and ranges listed by one query. */
#define DR_BATCH_KEYS 20000
#define DR_BATCH_RANGES 512
/* Keys per range aimed at when choosing how many leading characters to count by. */
#define DR_AIM 64

/* Both sides' counts of keys under one prefix. */
struct dr_count {
    char p[8];
    int64_t neo, fdb;
};

struct dr_counts {
    struct dr_count *v;
    size_t n, cap;
    bool odd; /* a key shorter than the prefixes (then ranges would overlap) */
};
/* Adds a count of one side under prefix s (len bytes; not k: c->odd). */
static int dr_add(struct dr_counts *c, const char *s, size_t len, int64_t n, bool neo, int k)
{
    if (len >= sizeof c->v[0].p)
        return FS_EPROTOCOL;
    if ((int)len != k)
        c->odd = true;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        struct dr_count *v = realloc(c->v, cap * sizeof *v);
        if (!v)
            return FS_ENOMEM;
        c->v = v;
        c->cap = cap;
    }
    struct dr_count *x = &c->v[c->n++];
    memset(x, 0, sizeof *x);
    memcpy(x->p, s, len);
    (neo ? &x->neo : &x->fdb)[0] = n;
    return 0;
}

/* The prefix length the range drill counts by, for a type of most items a side. */
static int dr_prefix_chars(int64_t most)
{
    int k = 1;
    int64_t span = 16;
    while (k < 4 && most / span > DR_AIM) {
        k++;
        span *= 16;
    }
    return k;
}

static int dr_cmp(const void *a, const void *b)
{
    return sync_keycmp(((const struct dr_count *)a)->p, ((const struct dr_count *)b)->p);
}

/* Sorts c and folds the two sides' rows of one prefix into one. */
static void dr_merge(struct dr_counts *c)
{
    if (!c->n)
        return;
    qsort(c->v, c->n, sizeof *c->v, dr_cmp);
    size_t w = 0;
    for (size_t i = 1; i < c->n; i++) {
        if (!strcmp(c->v[w].p, c->v[i].p)) {
            c->v[w].neo += c->v[i].neo;
            c->v[w].fdb += c->v[i].fdb;
        } else {
            c->v[++w] = c->v[i];
        }
    }
    c->n = w + 1;
}

struct dr_rows {
    struct dr_counts *c;
    int k;
};

static int dr_on_count(struct dc *D, const struct pack_item *it, int n, void *ud)
{
    (void)D;
    const struct dr_rows *r = ud;
    if (n < 2 || it[0].kind != FS_VALUE_STRING || it[1].kind != FS_VALUE_INT)
        return 0;
    return dr_add(r->c, (const char *)it[0].data, it[0].size, it[1].i, true, r->k);
}

/* Neo4j's parameters: {k | ps: the ranges, g: the group, bt: the bound}; ranges NULL: k. */
static int dr_neo_params(struct dc *D, int k, const struct dr_counts *c, const size_t *sel,
                         size_t nsel)
{
    buf_reset(&D->p);
    int rc = pack_write_map_header(&D->p, 1 + (D->group ? 1 : 0) + (D->old ? 1 : 0));
    if (!sel) {
        rc = rc ? rc : pack_write_cstr(&D->p, "k");
        rc = rc ? rc : pack_write_int(&D->p, k);
    } else {
        rc = rc ? rc : pack_write_cstr(&D->p, "ps");
        rc = rc ? rc : pack_write_list_header(&D->p, (uint32_t)nsel);
        for (size_t i = 0; !rc && i < nsel; i++) {
            char hi[sizeof c->v[0].p];
            (void)dc_upper(c->v[sel[i]].p, hi, sizeof hi); /* checked by the caller */
            rc = pack_write_list_header(&D->p, 2);
            rc = rc ? rc : pack_write_cstr(&D->p, c->v[sel[i]].p);
            rc = rc ? rc : pack_write_cstr(&D->p, hi);
        }
    }
    if (D->group) {
        rc = rc ? rc : pack_write_cstr(&D->p, "g");
        rc = rc ? rc : pack_write_cstr(&D->p, D->group);
    }
    return D->old && !rc ? dc_write_bt(D, &D->p, false) : rc;
}

/* The cache's "CYPHER k=.. | ps=[..] bt=.. " prefix. */
static int dr_fdb_params(struct dc *D, int k, const struct dr_counts *c, const size_t *sel,
                         size_t nsel, struct buf *pre)
{
    int rc = sel ? buf_append_str(pre, "CYPHER ps=[") : buf_printf(pre, "CYPHER k=%d", k);
    for (size_t i = 0; !rc && sel && i < nsel; i++) {
        char hi[sizeof c->v[0].p];
        (void)dc_upper(c->v[sel[i]].p, hi, sizeof hi);
        rc = buf_append_str(pre, i ? ",[" : "[");
        rc = rc ? rc : fdb_param_write_string(pre, c->v[sel[i]].p, strlen(c->v[sel[i]].p));
        rc = rc ? rc : buf_append_byte(pre, ',');
        rc = rc ? rc : fdb_param_write_string(pre, hi, strlen(hi));
        rc = rc ? rc : buf_append_byte(pre, ']');
    }
    rc = rc || !sel ? rc : buf_append_byte(pre, ']');
    rc = rc || !D->old ? rc : dc_write_bt(D, pre, true);
    return rc ? rc : buf_append_byte(pre, ' ');
}

static int dr_bsearch_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const struct dr_count *)elem)->p);
}

/* Takes the current type's items born after the bound (Neo4j's: listed now; the cache's) off
 * c's counts of that side: the counts then compare the old items without reading any item's
 * time. An item committed in Neo4j since its count was taken is taken off all the same: its
 * range then looks short in Neo4j and is listed, with nothing to fix. */
static int dr_take_young(struct dc *D, struct dr_counts *c, int k, bool neo)
{
    struct dc_keys y = {0};
    buf_reset(&D->q);
    int rc;
    if (neo) {
        rc = extract_young_keys_query(&D->q, D->t, D->group != NULL);
        rc = rc ? rc : dc_neo_params(D, NULL, NULL);
        rc = rc ? rc : dc_neo_rows(D, dc_on_key, &y);
    } else {
        rc = dc_cache_young(D, D->t, 1, &y);
    }
    for (size_t i = 0; !rc && i < y.n; i++) {
        /* remembered keys: a young key committed since they were taken was not counted */
        if (!neo && D->set && !dc_keys_has(D->set, y.v[i]))
            continue;
        char p[sizeof c->v[0].p];
        snprintf(p, sizeof p, "%.*s", k, y.v[i]);
        struct dr_count *x = c->n ? bsearch(p, c->v, c->n, sizeof *c->v, dr_bsearch_cmp) : NULL;
        if (x)
            (neo ? &x->neo : &x->fdb)[0]--;
    }
    if (!rc && !neo && D->set) { /* kept for dr_list_fix: the young keys stay remembered */
        if (y.n)
            qsort(y.v, y.n, sizeof *y.v, dc_strcmp);
        dc_keys_free(&D->young);
        D->young = y;
        return 0;
    }
    dc_keys_free(&y);
    return rc;
}

/* The remembered keys' counts by their first k characters into c (the cache's side). */
static int dr_count_set(const struct dc_keys *set, int k, struct dr_counts *c)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < set->n;) {
        size_t len = strnlen(set->v[i], (size_t)k), j = i + 1;
        while (j < set->n && strlen(set->v[j]) >= len && !strncmp(set->v[j], set->v[i], len) &&
               (len == (size_t)k || strlen(set->v[j]) == len))
            j++;
        rc = dr_add(c, set->v[i], len, (int64_t)(j - i), false, k);
        i = j;
    }
    return rc;
}

/* The cache's rows of a bucket query (prefix, count) into c; build: of a key list, into keys. */
static int dr_fdb_rows(const redisReply *r, int k, struct dr_counts *c, bool build,
                       struct dc_keys *keys)
{
    const redisReply *rs = dc_rows(r);
    int rc = 0;
    for (size_t i = 0; !rc && rs && i < rs->elements; i++) {
        const redisReply *row = rs->element[i];
        if (build) {
            if (row->elements >= 1 && row->element[0]->type == REDIS_REPLY_STRING)
                rc = dc_keys_add(keys, row->element[0]->str, row->element[0]->len);
        } else if (row->elements >= 2 && row->element[0]->type == REDIS_REPLY_STRING &&
                   row->element[1]->type == REDIS_REPLY_INTEGER) {
            rc = dr_add(c, row->element[0]->str, row->element[0]->len, row->element[1]->integer,
                        false, k);
        }
    }
    return rc;
}

/* The cache's query: counts by the first $k characters, or (build) every key. */
static int dr_fdb_count_query(struct dc *D, bool build)
{
    buf_reset(&D->q);
    if (!build)
        return extract_bucket_query(&D->q, D->t, false, false, true);
    int rc = extract_cache_match(&D->q, D->t, false);
    return rc ? rc : buf_printf(&D->q, " RETURN %s.uuid", D->t->edge ? "r" : "n");
}

/* The cache's side of a count by the first k characters, asked (dr_fdb_ask) before Neo4j's
 * is read and answered (dr_fdb_answer) after: the cache answers while Neo4j counts. */
struct dr_ask {
    struct buf pre;
    bool ask, build;
    int ti;
};

/* Sends the cache's count of D->graph (all items: D->old is false here). Its counts come from
 * the remembered keys when there are (D->set), else from a query, which, with a memory to
 * fill, lists the keys to remember instead of counting them. */
static int dr_fdb_ask(struct dc *D, int k, struct dr_ask *a)
{
    a->ti = (int)(D->t - sync_profile_of(D->c)->types);
    bool unusable = false;
    D->set = D->memo ? dc_memo_get(D->memo, D->graph, a->ti, sync_wall_now(), &unusable) : NULL;
    a->build = D->memo && !D->set && !unusable;
    a->ask = !D->set;
    buf_init(&a->pre, SYNC_QUERY_CAP);
    int rc = a->ask ? dr_fdb_count_query(D, a->build) : 0;
    rc = rc || !a->ask ? rc : dr_fdb_params(D, k, NULL, NULL, 0, &a->pre);
    return rc || !a->ask ? rc : dc_fdb_send(D, &a->pre);
}

/* Reads the cache's counts asked by dr_fdb_ask into c (rc: what happened meanwhile; the
 * reply sent for is read even then). */
static int dr_fdb_answer(struct dc *D, int k, struct dr_counts *c, struct dr_ask *a, int rc)
{
    redisReply *r = NULL;
    if (!rc && a->ask && !D->fdb_sent) /* the query to run in dc_fdb_recv */
        rc = dr_fdb_count_query(D, a->build);
    int rr = a->ask && (!rc || D->fdb_sent) ? dc_fdb_recv(D, &a->pre, &r) : 0;
    rc = rc ? rc : rr;
    struct dc_keys keys = {0};
    rc = rc || !a->ask ? rc : dr_fdb_rows(r, k, c, a->build, &keys);
    freeReplyObject(r);
    if (a->build && rc == FS_ETOO_BIG) { /* too many to remember: counted by the cache */
        dc_keys_free(&keys);
        (void)dc_memo_put(D->memo, D->graph, a->ti, &keys, true, sync_wall_now());
        rc = dr_fdb_count_query(D, false);
        buf_reset(&a->pre);
        rc = rc ? rc : dr_fdb_params(D, k, NULL, NULL, 0, &a->pre);
        rc = rc ? rc : dc_fdb_query(D, &a->pre, &r);
        rc = rc ? rc : dr_fdb_rows(r, k, c, false, &keys);
        freeReplyObject(r);
    } else if (a->build && !rc) {
        if (!(D->set = dc_memo_put(D->memo, D->graph, a->ti, &keys, false, sync_wall_now())))
            rc = FS_ENOMEM;
    }
    dc_keys_free(&keys);
    buf_deinit(&a->pre);
    return rc || !D->set ? rc : dr_count_set(D->set, k, c);
}

/* Neo4j's counts of the current type's keys (in D->group, unless NULL: every group's) by
 * their first k characters, into c. */
static int dr_neo_counts(struct dc *D, int k, struct dr_counts *c)
{
    buf_reset(&D->q);
    int rc = extract_bucket_query(&D->q, D->t, D->group != NULL, false, false);
    rc = rc ? rc : dr_neo_params(D, k, NULL, NULL, 0);
    struct dr_rows rows = {c, k};
    return rc ? rc : dc_neo_rows(D, dr_on_count, &rows);
}

/* Both sides' counts by the first k characters of the current type's old keys. */
static int dr_count_both(struct dc *D, int k, struct dr_counts *c)
{
    bool old = D->old;
    D->old = false;
    struct dr_ask a;
    int rc = dr_fdb_ask(D, k, &a);
    rc = rc ? rc : dr_neo_counts(D, k, c);
    rc = dr_fdb_answer(D, k, c, &a, rc);
    D->old = old;
    if (!rc)
        dr_merge(c);
    /* Neo4j's young items listed after its counts (see dr_take_young) */
    rc = rc || !old ? rc : dr_take_young(D, c, k, true);
    return rc || !old ? rc : dr_take_young(D, c, k, false);
}

/* The remembered keys of the selected ranges become neo's (old) and the young ones. */
static int dr_remember(struct dc *D, const struct dr_counts *c, const size_t *sel, size_t nsel,
                       const struct dc_keys *neo)
{
    if (!nsel)
        return 0;
    char **pfx = malloc(nsel * sizeof *pfx);
    if (!pfx)
        return FS_ENOMEM;
    for (size_t i = 0; i < nsel; i++)
        pfx[i] = (char *)c->v[sel[i]].p;
    int rc = dc_memo_replace(D->set, (int)strlen(pfx[0]), pfx, nsel, neo, &D->young);
    free(pfx);
    return rc;
}

/* The keys of a reply's rows (their first cell) into keys. */
static int dr_fdb_keys(const redisReply *r, struct dc_keys *keys)
{
    const redisReply *rs = dc_rows(r);
    int rc = 0;
    for (size_t i = 0; !rc && rs && i < rs->elements; i++) {
        const redisReply *cell = rs->element[i]->elements ? rs->element[i]->element[0] : NULL;
        if (cell && cell->type == REDIS_REPLY_STRING)
            rc = dc_keys_add(keys, cell->str, cell->len);
    }
    return rc;
}

/* Lists both sides' keys in the selected ranges (one query each) and fixes them. */
static int dr_list_fix(struct dc *D, const struct dr_counts *c, const size_t *sel, size_t nsel)
{
    struct dc_keys neo = {0}, fdb = {0};
    /* the cache lists while Neo4j does */
    buf_reset(&D->q);
    int rc = extract_ranges_query(&D->q, D->t, false, D->old, true);
    struct buf pre;
    buf_init(&pre, SYNC_QUERY_CAP);
    redisReply *r = NULL;
    rc = rc ? rc : dr_fdb_params(D, 0, c, sel, nsel, &pre);
    rc = rc ? rc : dc_fdb_send(D, &pre);
    buf_reset(&D->q);
    rc = rc ? rc : extract_ranges_query(&D->q, D->t, D->group != NULL, D->old, false);
    rc = rc ? rc : dr_neo_params(D, 0, c, sel, nsel);
    rc = rc ? rc : dc_neo_rows(D, dc_on_key, &neo);
    if (!rc && !D->fdb_sent) {
        buf_reset(&D->q);
        rc = extract_ranges_query(&D->q, D->t, false, D->old, true);
    }
    int rr = !rc || D->fdb_sent ? dc_fdb_recv(D, &pre, &r) : 0;
    rc = rc ? rc : rr;
    rc = rc ? rc : dr_fdb_keys(r, &fdb);
    freeReplyObject(r);
    buf_deinit(&pre);
    if (!rc && neo.n)
        qsort(neo.v, neo.n, sizeof *neo.v, dc_strcmp);
    if (!rc && fdb.n)
        qsort(fdb.v, fdb.n, sizeof *fdb.v, dc_strcmp);
    if (!rc && D->set) /* once fixed, the ranges hold Neo4j's old keys and their young ones */
        rc = dr_remember(D, c, sel, nsel, &neo);
    if (rc) {
        dc_keys_free(&neo);
        dc_keys_free(&fdb);
        return rc;
    }
    return dc_fix_lists(D, &neo, &fdb);
}

/* per_group: one graph of a type drilled in every graph at once (dc_ranges_groups). */
struct dr_graph {
    char graph[SYNC_GRAPH_CAP];
    const char *group;
    struct dc_keys *set;  /* its remembered keys, or NULL */
    struct dc_keys young; /* with set: its young keys, sorted */
    struct dr_counts c;   /* the cache's counts there */
    struct dc_keys neo;   /* Neo4j's keys of the group in the ranges being listed */
    bool empty;           /* the cache holds none of the type's old items there */
};

/* A group's name and graph, for dr_graph_of's lookups (sorted by name). */
struct dr_gname {
    const char *s;
    size_t len;
    int g;
};

struct dr_graphs {
    struct dr_graph *v;
    int n;
    struct dr_gname *by_group;
    bool all; /* no counts: every graph is listed */
};

/* D works on graph g of G (its memory and young keys lent to D until dr_unuse). */
static void dr_use(struct dc *D, struct dr_graphs *G, int g)
{
    struct dr_graph *x = &G->v[g];
    D->graph = x->graph;
    D->group = x->group;
    D->set = x->set;
    D->young = x->young;
    D->fx->ld->graph = x->graph;
}

static void dr_unuse(struct dc *D, struct dr_graphs *G, int g)
{
    G->v[g].set = D->set;
    G->v[g].young = D->young;
    memset(&D->young, 0, sizeof D->young);
    D->set = NULL;
    D->group = NULL;
}

static int dr_name_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : al < bl ? -1 : al > bl ? 1 : 0;
}

static int dr_gname_cmp(const void *a, const void *b)
{
    const struct dr_gname *x = a, *y = b;
    return dr_name_cmp(x->s, x->len, y->s, y->len);
}

/* The graph of the group a string cell names, or -1 (not a string: no group; or a group
 * created since the list was read, which the next check sees). */
static int dr_graph_of(const struct dr_graphs *G, const struct pack_item *it)
{
    if (it->kind != FS_VALUE_STRING)
        return -1;
    int lo = 0, hi = G->n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        const struct dr_gname *x = &G->by_group[mid];
        int c = dr_name_cmp(x->s, x->len, (const char *)it->data, it->size);
        if (!c)
            return x->g;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* The graphs of groups (G->v and G->by_group; dr_graphs_free frees them). */
static int dr_graphs_init(struct dc *D, char **groups, int ngraphs, struct dr_graphs *G)
{
    memset(G, 0, sizeof *G);
    G->v = calloc((size_t)ngraphs + 1, sizeof *G->v);
    G->by_group = calloc((size_t)ngraphs + 1, sizeof *G->by_group);
    if (!G->v || !G->by_group)
        return FS_ENOMEM;
    G->n = ngraphs;
    for (int g = 0; g < ngraphs; g++) {
        struct dr_graph *x = &G->v[g];
        x->group = sync_target(D->c, groups, g, x->graph, sizeof x->graph);
        if (!x->group)
            return FS_EINVAL; /* not per_group */
        G->by_group[g] = (struct dr_gname){x->group, strlen(x->group), g};
    }
    qsort(G->by_group, (size_t)ngraphs, sizeof *G->by_group, dr_gname_cmp);
    return 0;
}

/* Forgets the counts and keys of one drill (the memories stay: they belong to the memo). */
static void dr_graphs_reset(struct dr_graphs *G)
{
    for (int g = 0; g < G->n; g++) {
        struct dr_graph *x = &G->v[g];
        free(x->c.v);
        memset(&x->c, 0, sizeof x->c);
        dc_keys_free(&x->young);
        dc_keys_free(&x->neo);
        x->set = NULL;
    }
}

static void dr_graphs_free(struct dr_graphs *G)
{
    if (G->v)
        dr_graphs_reset(G);
    free(G->v);
    free(G->by_group);
}

/* Every graph's counts of the current type by the first k characters (each graph's kept in
 * G, their sum in c's cache side) against Neo4j's counts of every group at once: an index
 * scan of the type's keys, where counting group by group reads each item's group (3-5 times
 * slower, and every item of a relationship type's source node as well). */
static int dr_count_groups(struct dc *D, struct dr_graphs *G, int k, struct dr_counts *c)
{
    bool old = D->old;
    int rc = 0;
    for (int g = 0; !rc && g < G->n; g++) {
        struct dr_graph *x = &G->v[g];
        if (x->empty) /* nothing to count (its group's keys in Neo4j are listed all the same) */
            continue;
        dr_use(D, G, g);
        D->old = false;
        struct dr_ask a;
        rc = dr_fdb_ask(D, k, &a);
        rc = dr_fdb_answer(D, k, &x->c, &a, rc);
        D->old = old;
        if (!rc)
            dr_merge(&x->c);
        rc = rc || !old ? rc : dr_take_young(D, &x->c, k, false);
        dr_unuse(D, G, g);
        for (size_t i = 0; !rc && i < x->c.n; i++)
            rc = dr_add(c, x->c.v[i].p, strlen(x->c.v[i].p), x->c.v[i].fdb, false, k);
        c->odd = c->odd || x->c.odd;
    }
    D->old = false;
    rc = rc ? rc : dr_neo_counts(D, k, c);
    D->old = old;
    if (!rc)
        dr_merge(c);
    return rc || !old ? rc : dr_take_young(D, c, k, true);
}

/* Whether a graph's counts hold a key in one of the selected ranges. */
static bool dr_holds(const struct dr_counts *gc, const struct dr_counts *c, const size_t *sel,
                     size_t nsel)
{
    for (size_t i = 0; i < nsel; i++) {
        const struct dr_count *x =
            gc->n ? bsearch(c->v[sel[i]].p, gc->v, gc->n, sizeof *gc->v, dr_bsearch_cmp) : NULL;
        if (x && x->fdb)
            return true;
    }
    return false;
}

/* A row (key, group) of Neo4j's listing into its group's graph. */
static int dr_on_group_key(struct dc *D, const struct pack_item *it, int n, void *ud)
{
    (void)D;
    struct dr_graphs *G = ud;
    int g = n < 2 || it[0].kind != FS_VALUE_STRING ? -1 : dr_graph_of(G, &it[1]);
    return g < 0 ? 0 : dc_keys_add(&G->v[g].neo, (const char *)it[0].data, it[0].size);
}

/* What dr_fdb_lists's callbacks share. */
struct dr_lists {
    struct dr_graphs *G;
    const bool *list;
    const struct dr_counts *c;
    const size_t *sel;
    size_t nsel;
    struct dc_keys *fdb;
};

static int dr_list_build(struct dc *D, int g, struct buf *pre, void *ud)
{
    struct dr_lists *L = ud;
    if (!L->list[g])
        return DC_SKIP;
    D->graph = L->G->v[g].graph;
    buf_reset(&D->q);
    int rc = extract_ranges_query(&D->q, D->t, false, D->old, true);
    return rc ? rc : dr_fdb_params(D, 0, L->c, L->sel, L->nsel, pre);
}

static int dr_list_reply(struct dc *D, int g, const redisReply *r, void *ud)
{
    (void)D;
    return dr_fdb_keys(r, &((struct dr_lists *)ud)->fdb[g]);
}

/* The cache's keys of the selected ranges in every graph of G that list says, pipelined,
 * into fdb. */
static int dr_fdb_lists(struct dc *D, struct dr_graphs *G, const bool *list,
                        const struct dr_counts *c, const size_t *sel, size_t nsel,
                        struct dc_keys *fdb)
{
    struct dr_lists L = {G, list, c, sel, nsel, fdb};
    return dc_fdb_each(D, G->n, dr_list_build, dr_list_reply, &L);
}

/* The selected ranges: Neo4j's keys of every group listed in one query (with their group),
 * then each graph's keys (pipelined), and each graph compared with its group's. What the
 * graphs' caches hold and Neo4j may not is asked in one query for them all; the deletes of
 * every graph are sent before their acknowledgements are awaited. A graph that holds none of
 * the ranges and whose group has no key in them is not asked. */
static int dr_list_fix_groups(struct dc *D, struct dr_graphs *G, const struct dr_counts *c,
                              const size_t *sel, size_t nsel)
{
    D->group = NULL;
    buf_reset(&D->q);
    int rc = extract_ranges_query(&D->q, D->t, false, D->old, false);
    rc = rc ? rc : extract_group_column(&D->q, D->t);
    rc = rc ? rc : dr_neo_params(D, 0, c, sel, nsel);
    rc = rc ? rc : dc_neo_rows(D, dr_on_group_key, G);
    struct dc_keys *fdb = calloc((size_t)G->n, sizeof *fdb);
    struct dc_keys *missing = calloc((size_t)G->n, sizeof *missing);
    struct dc_keys *extra = calloc((size_t)G->n, sizeof *extra);
    bool *list = calloc((size_t)G->n, sizeof *list);
    struct dc_keys all_extra = {0}, absent = {0};
    if (!rc && (!fdb || !missing || !extra || !list))
        rc = FS_ENOMEM;
    for (int g = 0; !rc && g < G->n; g++)
        list[g] = G->all || G->v[g].neo.n || dr_holds(&G->v[g].c, c, sel, nsel);
    rc = rc ? rc : dr_fdb_lists(D, G, list, c, sel, nsel, fdb);
    /* each graph against its group's keys: deletes queued and sent, extras to confirm */
    for (int g = 0; !rc && g < G->n; g++) {
        struct dr_graph *x = &G->v[g];
        if (!list[g])
            continue;
        struct dc_keys neo = x->neo;
        memset(&x->neo, 0, sizeof x->neo);
        if (neo.n)
            qsort(neo.v, neo.n, sizeof *neo.v, dc_strcmp);
        if (fdb[g].n)
            qsort(fdb[g].v, fdb[g].n, sizeof *fdb[g].v, dc_strcmp);
        dr_use(D, G, g);
        rc = D->set ? dr_remember(D, c, sel, nsel, &neo) : 0;
        if (!rc)
            rc = dc_fix_compare(D, &neo, &fdb[g], &missing[g], &extra[g]);
        dc_keys_free(&neo);
        rc = rc ? rc : fixer_send(D->fx);
        for (size_t i = 0; !rc && i < extra[g].n; i++)
            rc = dc_keys_add(&all_extra, extra[g].v[i], strlen(extra[g].v[i]));
        dr_unuse(D, G, g);
    }
    rc = rc ? rc : loader_drain(D->fx->ld);
    /* the old extras of every graph: gone from Neo4j (any group), asked by key at once */
    rc = rc || !all_extra.n ? rc : dc_absent(D, &all_extra, &absent);
    if (!rc && absent.n)
        qsort(absent.v, absent.n, sizeof *absent.v, dc_strcmp);
    for (int g = 0; !rc && absent.n && g < G->n; g++) {
        if (!extra[g].n)
            continue;
        dr_use(D, G, g);
        rc = dc_delete_keys(D, &extra[g], &absent, NULL);
        dr_unuse(D, G, g);
    }
    rc = rc ? rc : loader_drain(D->fx->ld);
    /* what a graph misses: read from Neo4j by key, graph by graph (rare: incremental writes
     * what is added) */
    for (int g = 0; !rc && g < G->n; g++) {
        if (!missing[g].n)
            continue;
        dr_use(D, G, g);
        rc = dc_upsert(D, &missing[g]);
        dr_unuse(D, G, g);
    }
    for (int g = 0; G->v && g < G->n; g++) {
        dc_keys_free(&G->v[g].neo);
        if (fdb)
            dc_keys_free(&fdb[g]);
        if (missing)
            dc_keys_free(&missing[g]);
        if (extra)
            dc_keys_free(&extra[g]);
    }
    dc_keys_free(&all_extra);
    dc_keys_free(&absent);
    free(fdb);
    free(missing);
    free(extra);
    free(list);
    return rc;
}

/* A prefix drilled character by character (dc_drill): in every graph of G, each against its
 * group (G NULL: D's graph). A drill does not keep a graph's memory up to date: forgotten. */
static int dr_drill(struct dc *D, struct dr_graphs *G, const char *prefix, int depth)
{
    if (!G)
        return dc_drill(D, prefix, depth);
    int rc = 0;
    for (int g = 0; !rc && g < G->n; g++) {
        dr_use(D, G, g);
        rc = dc_stopped(D) ? FS_ECANCELLED : dc_drill(D, prefix, depth);
        if (D->set) {
            dc_memo_drop(D->memo, D->graph, (int)(D->t - sync_profile_of(D->c)->types));
            D->set = NULL;
        }
        dr_unuse(D, G, g);
    }
    return rc;
}

/* The current type's ranges compared in D's graph, or (G) in every graph of G at once. */
static int dr_ranges_once(struct dc *D, struct dr_graphs *G, int64_t most, bool *differed)
{
    int k = dr_prefix_chars(most);
    struct dr_counts c = {0};
    double t0 = sync_now();
    int rc = G ? dr_count_groups(D, G, k, &c) : dr_count_both(D, k, &c);
    double counted = sync_now() - t0;
    uint64_t fixed0 = D->rep->deleted + D->rep->upserted;
    if (!rc && c.odd) { /* keys shorter than k characters: prefix by prefix */
        free(c.v);
        *differed = true;
        return dr_drill(D, G, "", 0);
    }
    size_t *sel = rc ? NULL : malloc((c.n ? c.n : 1) * sizeof *sel);
    if (!rc && !sel)
        rc = FS_ENOMEM;
    size_t nsel = 0;
    int64_t keys = 0;
    for (size_t i = 0; !rc && i <= c.n; i++) {
        const struct dr_count *x = i < c.n ? &c.v[i] : NULL;
        int64_t m = x ? (x->neo > x->fdb ? x->neo : x->fdb) : 0;
        char hi[sizeof c.v[0].p];
        bool listable = x && m <= DR_LIST_MAX && dc_upper(x->p, hi, sizeof hi);
        if (nsel && (!x || (listable && (keys + m > DR_BATCH_KEYS || nsel == DR_BATCH_RANGES)))) {
            rc = dc_stopped(D) ? FS_ECANCELLED
                 : G           ? dr_list_fix_groups(D, G, &c, sel, nsel)
                               : dr_list_fix(D, &c, sel, nsel);
            nsel = 0;
            keys = 0;
        }
        if (rc || !x || x->neo == x->fdb)
            continue;
        *differed = true;
        if (listable) {
            sel[nsel++] = i;
            keys += m;
        } else {
            rc = dc_stopped(D) ? FS_ECANCELLED : dr_drill(D, G, x->p, k);
        }
    }
    free(sel);
    bool memo = D->set != NULL;
    for (int g = 0; G && g < G->n; g++)
        memo = memo || G->v[g].set != NULL;
    log_fields(LOG_DEBUG, "delete check drilled a type",
               json_pack("{s:s,s:s?,s:i,s:i,s:I,s:I,s:f,s:f,s:I,s:b}", "type", D->t->name, "group",
                         G ? NULL : D->group, "graphs", G ? G->n : 1, "prefix_chars", k, "ranges",
                         (json_int_t)c.n, "most", (json_int_t)most, "count_ms",
                         round(counted * 1000), "total_ms", round((sync_now() - t0) * 1000),
                         "fixed", (json_int_t)(D->rep->deleted + D->rep->upserted - fixed0), "memo",
                         memo));
    free(c.v);
    return rc;
}

int dc_ranges(struct dc *D, int64_t most)
{
    bool differed = false, remembered = false;
    int rc = dr_ranges_once(D, NULL, most, &differed);
    remembered = D->set != NULL;
    /* The counts differ, yet no range does: what is remembered is wrong (an old item written
     * behind the memory's back); read the type from the cache again and look once more. */
    if (!rc && remembered && !differed) {
        int ti = (int)(D->t - sync_profile_of(D->c)->types);
        dc_memo_drop(D->memo, D->graph, ti);
        D->set = NULL;
        dc_keys_free(&D->young);
        rc = dr_ranges_once(D, NULL, most, &differed);
    }
    D->set = NULL;
    dc_keys_free(&D->young);
    return rc;
}

int dc_ranges_groups(struct dc *D, char **groups, int ngraphs, const int64_t *cached, int stride,
                     int64_t most)
{
    struct dr_graphs G;
    int rc = dr_graphs_init(D, groups, ngraphs, &G);
    for (int g = 0; !rc && cached && g < ngraphs; g++)
        G.v[g].empty = cached[g * stride] == 0;
    bool differed = false, remembered = false;
    rc = rc ? rc : dr_ranges_once(D, &G, most, &differed);
    for (int g = 0; g < G.n; g++)
        remembered = remembered || G.v[g].set != NULL;
    if (!rc && remembered && !differed) { /* as in dc_ranges: a memory is wrong */
        int ti = (int)(D->t - sync_profile_of(D->c)->types);
        for (int g = 0; g < G.n; g++)
            dc_memo_drop(D->memo, G.v[g].graph, ti);
        dr_graphs_reset(&G);
        rc = dr_ranges_once(D, &G, most, &differed);
    }
    dr_graphs_free(&G);
    D->graph = NULL;
    D->group = NULL;
    return rc;
}

int dc_fix_groups(struct dc *D, char **groups, int ngraphs, const char *prefix)
{
    struct dr_graphs G;
    int rc = dr_graphs_init(D, groups, ngraphs, &G);
    char hi[sizeof(((struct dr_count *)0)->p)];
    if (!rc && (!*prefix || strlen(prefix) >= sizeof hi || !dc_upper(prefix, hi, sizeof hi))) {
        /* the whole type (at most about sync.delete_digest_keys keys a graph), or a prefix no
         * range holds: graph by graph */
        for (int g = 0; !rc && g < G.n; g++) {
            dr_use(D, &G, g);
            rc = dc_stopped(D) ? FS_ECANCELLED : dc_fix(D, prefix);
            dr_unuse(D, &G, g);
        }
    } else if (!rc) {
        struct dr_counts c = {0};
        size_t sel = 0;
        G.all = true;
        rc = dr_add(&c, prefix, strlen(prefix), 0, true, (int)strlen(prefix));
        rc = rc ? rc : dr_list_fix_groups(D, &G, &c, &sel, 1);
        free(c.v);
    }
    dr_graphs_free(&G);
    D->graph = NULL;
    D->group = NULL;
    return rc;
}
