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

/* A range is listed key by key when neither side holds more than this in it (else drilled). */
#define DR_LIST_MAX 4096
/* Keys (the larger side's) and ranges listed by one query. */
#define DR_BATCH_KEYS 20000
#define DR_BATCH_RANGES 512
/* Keys per range aimed at when choosing how many leading characters to count by. */
#define DR_AIM 64

struct dr_count {
    char p[8];
    int64_t neo, fdb;
};

struct dr_counts {
    struct dr_count *v;
    size_t n, cap;
    bool odd; /* a key shorter than the prefixes (then ranges would overlap) */
};

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
        char p[sizeof c->v[0].p];
        snprintf(p, sizeof p, "%.*s", k, y.v[i]);
        struct dr_count *x = c->n ? bsearch(p, c->v, c->n, sizeof *c->v, dr_bsearch_cmp) : NULL;
        if (x)
            (neo ? &x->neo : &x->fdb)[0]--;
    }
    dc_keys_free(&y);
    return rc;
}

/* Both sides' counts by the first k characters of the current type's old keys. */
static int dr_count_both(struct dc *D, int k, struct dr_counts *c)
{
    /* the cache counts while Neo4j does */
    buf_reset(&D->q);
    int rc = extract_bucket_query(&D->q, D->t, false, false, true);
    struct buf pre;
    buf_init(&pre, SYNC_QUERY_CAP);
    redisReply *r = NULL;
    bool old = D->old;
    D->old = false;
    rc = rc ? rc : dr_fdb_params(D, k, NULL, NULL, 0, &pre);
    rc = rc ? rc : dc_fdb_send(D, &pre);
    buf_reset(&D->q);
    rc = rc ? rc : extract_bucket_query(&D->q, D->t, D->group != NULL, false, false);
    rc = rc ? rc : dr_neo_params(D, k, NULL, NULL, 0);
    D->old = old;
    struct dr_rows rows = {c, k};
    rc = rc ? rc : dc_neo_rows(D, dr_on_count, &rows);
    if (!rc && !D->fdb_sent) { /* the query to run in dc_fdb_recv */
        buf_reset(&D->q);
        rc = extract_bucket_query(&D->q, D->t, false, false, true);
    }
    /* read even after a failure: a reply sent for is owed */
    int rr = !rc || D->fdb_sent ? dc_fdb_recv(D, &pre, &r) : 0;
    rc = rc ? rc : rr;
    const redisReply *rs = dc_rows(r);
    for (size_t i = 0; !rc && rs && i < rs->elements; i++) {
        const redisReply *row = rs->element[i];
        if (row->elements >= 2 && row->element[0]->type == REDIS_REPLY_STRING &&
            row->element[1]->type == REDIS_REPLY_INTEGER)
            rc = dr_add(c, row->element[0]->str, row->element[0]->len, row->element[1]->integer,
                        false, k);
    }
    freeReplyObject(r);
    buf_deinit(&pre);
    if (!rc)
        dr_merge(c);
    /* Neo4j's young items listed after its counts (see dr_take_young) */
    rc = rc || !old ? rc : dr_take_young(D, c, k, true);
    return rc || !old ? rc : dr_take_young(D, c, k, false);
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
    const redisReply *rs = dc_rows(r);
    for (size_t i = 0; !rc && rs && i < rs->elements; i++) {
        const redisReply *cell = rs->element[i]->elements ? rs->element[i]->element[0] : NULL;
        if (cell && cell->type == REDIS_REPLY_STRING)
            rc = dc_keys_add(&fdb, cell->str, cell->len);
    }
    freeReplyObject(r);
    buf_deinit(&pre);
    if (!rc && neo.n)
        qsort(neo.v, neo.n, sizeof *neo.v, dc_strcmp);
    if (!rc && fdb.n)
        qsort(fdb.v, fdb.n, sizeof *fdb.v, dc_strcmp);
    if (rc) {
        dc_keys_free(&neo);
        dc_keys_free(&fdb);
        return rc;
    }
    return dc_fix_lists(D, &neo, &fdb);
}

int dc_ranges(struct dc *D, int64_t most)
{
    int k = 1;
    int64_t span = 16;
    while (k < 4 && most / span > DR_AIM) {
        k++;
        span *= 16;
    }
    struct dr_counts c = {0};
    double t0 = sync_now();
    int rc = dr_count_both(D, k, &c);
    double counted = sync_now() - t0;
    uint64_t fixed0 = D->rep->deleted + D->rep->upserted;
    if (!rc && c.odd) { /* keys shorter than k characters: prefix by prefix */
        free(c.v);
        return dc_drill(D, "", 0);
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
            rc = dc_stopped(D) ? FS_ECANCELLED : dr_list_fix(D, &c, sel, nsel);
            nsel = 0;
            keys = 0;
        }
        if (rc || !x || x->neo == x->fdb)
            continue;
        if (listable) {
            sel[nsel++] = i;
            keys += m;
        } else {
            rc = dc_stopped(D) ? FS_ECANCELLED : dc_drill(D, x->p, k);
        }
    }
    free(sel);
    log_fields(LOG_DEBUG, "delete check drilled a type",
               json_pack("{s:s,s:s?,s:i,s:I,s:I,s:f,s:f,s:I}", "type", D->t->name, "group",
                         D->group, "prefix_chars", k, "ranges", (json_int_t)c.n, "most",
                         (json_int_t)most, "count_ms", round(counted * 1000), "total_ms",
                         round((sync_now() - t0) * 1000), "fixed",
                         (json_int_t)(D->rep->deleted + D->rep->upserted - fixed0)));
    free(c.v);
    return rc;
}
