/* Incremental's delete check: counts first, then key prefixes whose counts differ, then keys. */
#include "sync/deletes.h"
#include "sync/deletes_int.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "falkor/param.h"
#include "log/log.h"
#include "sync/cursor_neo4j.h"
#include "sync/extract.h"
#include "sync/gkey.h"
#include "sync/loader.h"
#include "sync/target.h"

struct dc_young_rows;

/* What dc_fdb_each's callbacks of a census share. */
struct dc_each {
    char **groups;
    int ntypes;
    char graph[SYNC_GRAPH_CAP];
    int64_t *cnt;            /* counts: per graph and type */
    struct dc_young_rows *y; /* young keys: per graph */
};

static int dc_count_build(struct dc *D, int i, struct buf *pre, void *ud)
{
    struct dc_each *e = ud;
    (void)pre;
    sync_target(D->c, e->groups, i / e->ntypes, e->graph, sizeof e->graph);
    D->graph = e->graph;
    D->t = &sync_profile_of(D->c)->types[i % e->ntypes];
    return dc_fdb_count_query(D);
}

static int dc_count_reply(struct dc *D, int i, const redisReply *r, void *ud)
{
    (void)D;
    ((struct dc_each *)ud)->cnt[i] = dc_count_of(r);
    return 0;
}

/* Per graph and type: the cache's counts (ngraphs x ntypes), pipelined (one round trip each
 * was 0.6-0.8 s of a check with 64 groups). */
static int dc_cache_counts(struct dc *D, char **groups, int ngraphs, int64_t *cnt)
{
    struct dc_each e = {.groups = groups, .ntypes = sync_profile_of(D->c)->ntypes, .cnt = cnt};
    int rc = dc_fdb_each(D, ngraphs * e.ntypes, dc_count_build, dc_count_reply, &e);
    D->graph = NULL;
    return rc;
}

/* Type t's count summed over the graphs (cnt: per graph and type, ntypes a row). */
static int64_t dc_graphs_sum(const int64_t *cnt, int ngraphs, int ntypes, int t)
{
    int64_t sum = 0;
    for (int g = 0; g < ngraphs; g++)
        sum += cnt[g * ntypes + t];
    return sum;
}

/* Type t, whose total differs between the sides (cnt: the cache's counts per graph and type,
 * of the old items when the type has a birth expression): single layout, its graph drilled;
 * per_group, every graph at once (Neo4j's count store has no groups, and counting a type
 * group by group reads every item's group). */
static int dc_type(struct dc *D, char **groups, int ngraphs, int t, int64_t total, int64_t sum,
                   const int64_t *cnt)
{
    const struct sync_profile *prof = sync_profile_of(D->c);
    D->t = &prof->types[t];
    D->old = D->t->birth != NULL;
    D->fx->type = t;
    int64_t most = total > sum ? total : sum;
    if (D->c->falkordb.layout == CFG_LAYOUT_PER_GROUP)
        return ngraphs > 0 ? dc_ranges_groups(D, groups, ngraphs, cnt + t, prof->ntypes, most) : 0;
    char graph[SYNC_GRAPH_CAP];
    D->group = sync_target(D->c, groups, 0, graph, sizeof graph);
    D->graph = graph;
    D->fx->ld->graph = graph;
    int rc = dc_ranges(D, most);
    D->graph = NULL;
    return rc;
}

/* A histogram row (t, h, b, c) into its type's digest: the rows' hashes summed, so the
 * digests of two sides are equal when their rows are (whatever the order). */
static void dc_histogram_row(uint64_t *digest, int ntypes, int64_t t, int64_t h, const char *b,
                             size_t blen, int64_t c)
{
    if (t < 0 || t >= ntypes)
        return;
    char name[16];
    int n = snprintf(name, sizeof name, "%lld:%.*s", (long long)h, (int)(blen < 8 ? blen : 8), b);
    struct fp_item f;
    fp_item_init(&f);
    fp_item_prop(&f, name, (size_t)n, &c, sizeof c);
    digest[t] += fp_item_hash(&f, "", 0);
}

struct dc_hist {
    uint64_t *digest;
    int ntypes;
};

/* One of Neo4j's histogram rows (t, h, b, c) into its type's digest. */
static int dc_on_histogram(struct dc *D, const struct pack_item *it, int n, void *ud)
{
    (void)D;
    const struct dc_hist *h = ud;
    if (n == 4 && it[0].kind == FS_VALUE_INT && it[1].kind == FS_VALUE_INT &&
        it[2].kind == FS_VALUE_STRING && it[3].kind == FS_VALUE_INT)
        dc_histogram_row(h->digest, h->ntypes, it[0].i, it[1].i, (const char *)it[2].data,
                         it[2].size, it[3].i);
    return 0;
}

/* The slice of each type whose key histograms this run compares in the current graph (cnt:
 * the cache's counts there): the whole type while it holds at most sync.delete_digest_keys
 * keys, else one of 16, 256 or 4096 key ranges (the first 1-3 hex characters), a different
 * one each interval, so that a run reads about that many keys per type whatever the graph's
 * size. */
/* Graphs up to which a small type's digest slice may be the whole type in per_group. */
#define DC_WHOLE_GRAPHS 4

static void dc_slices(struct dc *D, const int64_t *cnt, int graphs, char (*prefixes)[4])
{
    const struct sync_profile *prof = sync_profile_of(D->c);
    int64_t budget = D->c->sync.delete_digest_keys * graphs;
    int64_t interval = D->c->sync.interval_seconds > 0 ? D->c->sync.interval_seconds : 1;
    int64_t now = (int64_t)time(NULL) / interval;
    for (int t = 0; t < prof->ntypes; t++) {
        /* per_group with more than DC_WHOLE_GRAPHS graphs: never the whole type, which a
         * differing digest would list graph by graph (dc_fix_groups), but one of 16 ranges
         * at least, listed once for every group */
        int d = graphs > DC_WHOLE_GRAPHS ? 1 : 0;
        int64_t slices = d ? 16 : 1;
        while (d < 3 && cnt[t] / slices > budget) {
            d++;
            slices *= 16;
        }
        int64_t slot = now % slices;
        memset(prefixes[t], 0, sizeof prefixes[t]);
        for (int i = d - 1; i >= 0; i--, slot /= 16)
            prefixes[t][i] = "0123456789abcdef"[slot % 16];
    }
}

/* The histogram query's parameters {p0: prefix, h0: its bound, ..., g: group} (PackStream for
 * Neo4j), or "CYPHER p0='..' h0='..' ... " for FalkorDB (cache; no group there). */
static int dc_histogram_params(struct dc *D, char (*prefixes)[4], int ntypes, bool cache,
                               struct buf *p)
{
    buf_reset(p);
    uint32_t n = (D->group && !cache ? 1 : 0) + 1;
    for (int i = 0; i < ntypes; i++)
        n += prefixes[i][0] ? 2 : 1;
    int rc = cache ? buf_append_str(p, "CYPHER") : pack_write_map_header(p, n);
    rc = rc ? rc : dc_write_bt(D, p, cache);
    for (int i = 0; !rc && i < ntypes; i++) {
        char hi[4], name[16];
        rc = extract_histogram_bounds(prefixes[i], hi);
        for (int b = 0; !rc && b < (prefixes[i][0] ? 2 : 1); b++) {
            const char *v = b ? hi : prefixes[i];
            snprintf(name, sizeof name, "%c%d", b ? 'h' : 'p', i);
            if (cache) {
                rc = buf_printf(p, " %s=", name);
                rc = rc ? rc : fdb_param_write_string(p, v, strlen(v));
            } else {
                rc = pack_write_cstr(p, name);
                rc = rc ? rc : pack_write_cstr(p, v);
            }
        }
    }
    if (!rc && D->group && !cache) {
        rc = pack_write_cstr(p, "g");
        rc = rc ? rc : pack_write_cstr(p, D->group);
    }
    return rc ? rc : cache ? buf_append_byte(p, ' ') : 0;
}

/* Neo4j's histogram digests of each type's slice (in D->group; NULL: every group's). */
static int dc_neo_digests(struct dc *D, char (*prefixes)[4], uint64_t *neo)
{
    const struct sync_profile *prof = sync_profile_of(D->c);
    buf_reset(&D->q);
    int rc = extract_histogram_union(&D->q, prof->types, prof->ntypes, prefixes, D->group != NULL,
                                     false, true);
    rc = rc ? rc : dc_histogram_params(D, prefixes, prof->ntypes, false, &D->p);
    struct dc_hist hist = {neo, prof->ntypes};
    return rc ? rc : dc_neo_rows(D, dc_on_histogram, &hist);
}

/* A cache histogram row (t, h, b, c), kept to be summed over graphs. */
struct dc_hrow {
    int t, h;
    char b[8];
    int64_t c;
};

struct dc_hrows {
    struct dc_hrow *v;
    size_t n, cap;
};

static int dc_hrow_cmp(const void *a, const void *b)
{
    const struct dc_hrow *x = a, *y = b;
    return x->t != y->t   ? (x->t < y->t ? -1 : 1)
           : x->h != y->h ? (x->h < y->h ? -1 : 1)
                          : strcmp(x->b, y->b);
}

static int dc_hrows_add(struct dc_hrows *rows, const redisReply *const *cell)
{
    if (rows->n == rows->cap) {
        size_t cap = rows->cap ? rows->cap * 2 : 256;
        struct dc_hrow *v = realloc(rows->v, cap * sizeof *v);
        if (!v)
            return FS_ENOMEM;
        rows->v = v;
        rows->cap = cap;
    }
    struct dc_hrow *x = &rows->v[rows->n++];
    x->t = (int)cell[0]->integer;
    x->h = (int)cell[1]->integer;
    snprintf(x->b, sizeof x->b, "%.*s", (int)(cell[2]->len < 7 ? cell[2]->len : 7), cell[2]->str);
    x->c = cell[3]->integer;
    return 0;
}

/* The cache's histogram rows of each type's slice in D->graph: into fdb's digests, or (rows)
 * kept to be summed with other graphs' by dc_hrows_digest. */
/* The cache side's histogram query of D->graph (D->q, its parameters in pre). */
static int dc_fdb_digest_query(struct dc *D, char (*prefixes)[4], struct buf *pre)
{
    const struct sync_profile *prof = sync_profile_of(D->c);
    buf_reset(&D->q);
    int rc = extract_histogram_union(&D->q, prof->types, prof->ntypes, prefixes, false, true, true);
    return rc ? rc : dc_histogram_params(D, prefixes, prof->ntypes, true, pre);
}

/* A cache histogram's rows: into fdb's digests, or (rows) kept to be summed over graphs. */
static int dc_fdb_digest_rows(struct dc *D, const redisReply *r, uint64_t *fdb,
                              struct dc_hrows *rows)
{
    const struct sync_profile *prof = sync_profile_of(D->c);
    const redisReply *rs = dc_rows(r);
    int rc = 0;
    for (size_t i = 0; !rc && rs && i < rs->elements; i++) {
        const redisReply *row = rs->element[i];
        if (row->elements != 4 || row->element[0]->type != REDIS_REPLY_INTEGER ||
            row->element[1]->type != REDIS_REPLY_INTEGER ||
            row->element[2]->type != REDIS_REPLY_STRING ||
            row->element[3]->type != REDIS_REPLY_INTEGER)
            continue;
        if (rows)
            rc = dc_hrows_add(rows, (const redisReply *const *)row->element);
        else
            dc_histogram_row(fdb, prof->ntypes, row->element[0]->integer, row->element[1]->integer,
                             row->element[2]->str, row->element[2]->len, row->element[3]->integer);
    }
    return rc;
}

static int dc_fdb_digests(struct dc *D, char (*prefixes)[4], uint64_t *fdb)
{
    struct buf pre;
    buf_init(&pre, SYNC_QUERY_CAP);
    redisReply *r = NULL;
    int rc = dc_fdb_digest_query(D, prefixes, &pre);
    rc = rc ? rc : dc_fdb_query(D, &pre, &r);
    rc = rc ? rc : dc_fdb_digest_rows(D, r, fdb, NULL);
    freeReplyObject(r);
    buf_deinit(&pre);
    return rc;
}

/* dc_fdb_each's callbacks of the per_group digests. */
struct dc_digest_each {
    char **groups;
    char graph[SYNC_GRAPH_CAP];
    char (*prefixes)[4];
    struct dc_hrows *rows;
};

static int dc_digest_build(struct dc *D, int g, struct buf *pre, void *ud)
{
    struct dc_digest_each *e = ud;
    (void)sync_target(D->c, e->groups, g, e->graph, sizeof e->graph);
    D->graph = e->graph;
    return dc_fdb_digest_query(D, e->prefixes, pre);
}

static int dc_digest_reply(struct dc *D, int g, const redisReply *r, void *ud)
{
    (void)g;
    return dc_fdb_digest_rows(D, r, NULL, ((struct dc_digest_each *)ud)->rows);
}

/* The rows of every graph summed per (t, h, b), into each type's digest. */
static void dc_hrows_digest(struct dc_hrows *rows, int ntypes, uint64_t *fdb)
{
    if (!rows->n)
        return;
    qsort(rows->v, rows->n, sizeof *rows->v, dc_hrow_cmp);
    for (size_t i = 0; i < rows->n;) {
        size_t j = i + 1;
        int64_t c = rows->v[i].c;
        for (; j < rows->n && !dc_hrow_cmp(&rows->v[i], &rows->v[j]); j++)
            c += rows->v[j].c;
        dc_histogram_row(fdb, ntypes, rows->v[i].t, rows->v[i].h, rows->v[i].b,
                         strlen(rows->v[i].b), c);
        i = j;
    }
}

/* Both sides' histogram digests of each type's slice in the current graph: one query each. */
static int dc_digests(struct dc *D, char (*prefixes)[4], uint64_t *neo, uint64_t *fdb)
{
    int rc = dc_neo_digests(D, prefixes, neo);
    return rc ? rc : dc_fdb_digests(D, prefixes, fdb);
}

/* per_group: the digests of every group at once: Neo4j's of every group's keys (no group read,
 * where a query per group reads every item's group in its slice) against the sum of the
 * graphs' rows; a slice that differs is listed with its groups and fixed in every graph. The
 * slices are chosen from the graphs' summed counts with a budget of sync.delete_digest_keys
 * per graph, so that a sweep of the whole key space takes as many intervals as per graph. */
static int dc_digest_groups(struct dc *D, char **groups, int ngraphs, const int64_t *cnt,
                            const bool *drilled)
{
    const struct sync_profile *prof = sync_profile_of(D->c);
    int64_t sum[DC_MAX_TYPES] = {0};
    for (int g = 0; g < ngraphs; g++)
        for (int t = 0; t < prof->ntypes; t++)
            sum[t] += cnt[g * prof->ntypes + t];
    char prefixes[DC_MAX_TYPES][4];
    uint64_t neo[DC_MAX_TYPES] = {0}, fdb[DC_MAX_TYPES] = {0};
    dc_slices(D, sum, ngraphs, prefixes);
    struct dc_hrows rows = {0};
    D->group = NULL;
    int rc = dc_stopped(D) ? FS_ECANCELLED : dc_neo_digests(D, prefixes, neo);
    struct dc_digest_each e = {.groups = groups, .prefixes = prefixes, .rows = &rows};
    rc = rc ? rc : dc_fdb_each(D, ngraphs, dc_digest_build, dc_digest_reply, &e);
    D->graph = NULL;
    if (!rc)
        dc_hrows_digest(&rows, prof->ntypes, fdb);
    free(rows.v);
    for (int t = 0; !rc && t < prof->ntypes; t++) {
        if (neo[t] == fdb[t] || (drilled && drilled[t]))
            continue;
        D->t = &prof->types[t];
        D->old = D->t->birth != NULL;
        D->fx->type = t;
        rc = dc_fix_groups(D, groups, ngraphs, prefixes[t]);
    }
    return rc;
}

/* Per graph: each type's key histograms of its slice on both sides (old items only); a slice
 * whose histograms differ (an extra and a missing key of one type, which leave the counts equal)
 * has its keys listed on both sides and fixed (the slice holds about sync.delete_digest_keys keys).
 */
static int dc_digest_check(struct dc *D, char **groups, int ngraphs, const int64_t *cnt,
                           const bool *drilled)
{
    const struct sync_profile *prof = sync_profile_of(D->c);
    if (D->c->sync.delete_digest_keys <= 0 || prof->ntypes > DC_MAX_TYPES)
        return 0;
    if (D->c->falkordb.layout == CFG_LAYOUT_PER_GROUP)
        return ngraphs > 0 ? dc_digest_groups(D, groups, ngraphs, cnt, drilled) : 0;
    int rc = 0;
    for (int g = 0; !rc && g < ngraphs; g++) {
        char graph[SYNC_GRAPH_CAP];
        D->group = sync_target(D->c, groups, g, graph, sizeof graph);
        D->graph = graph;
        char prefixes[DC_MAX_TYPES][4];
        uint64_t neo[DC_MAX_TYPES] = {0}, fdb[DC_MAX_TYPES] = {0};
        dc_slices(D, &cnt[g * prof->ntypes], 1, prefixes);
        rc = dc_stopped(D) ? FS_ECANCELLED : dc_digests(D, prefixes, neo, fdb);
        for (int t = 0; !rc && t < prof->ntypes; t++) {
            if (neo[t] == fdb[t] || (drilled && drilled[t]))
                continue;
            D->t = &prof->types[t];
            D->old = D->t->birth != NULL;
            D->fx->ld->graph = graph;
            D->fx->type = t;
            rc = dc_fix(D, prefixes[t]);
        }
    }
    return rc;
}

struct dc_young_rows {
    struct dc_keys keys[DC_MAX_TYPES];
    int ntypes;
};

static int dc_young_build(struct dc *D, int i, struct buf *pre, void *ud)
{
    struct dc_each *e = ud;
    sync_target(D->c, e->groups, i, e->graph, sizeof e->graph);
    D->graph = e->graph;
    return dc_young_query(D, sync_profile_of(D->c)->types, e->ntypes, pre);
}

static int dc_young_reply(struct dc *D, int i, const redisReply *r, void *ud)
{
    (void)D;
    struct dc_each *e = ud;
    return dc_young_rows(r, e->ntypes, e->y[i].keys);
}

/* Of the young keys of type t in every graph (y), those Neo4j no longer holds (sorted, into
 * absent). Few: looked up by key. Many: Neo4j's young keys of the type (of every group, one
 * index range seek) are compared first, and only the keys missing from them are looked up,
 * instead of every one of them (a writer's minute of items: about 12k point lookups). */
static int dc_young_absent(struct dc *D, const struct dc_young_rows *y, int ngraphs, int t,
                           struct dc_keys *absent)
{
    struct dc_keys neo = {0}, cand = {0};
    size_t total = 0;
    for (int g = 0; g < ngraphs; g++)
        total += y[g].keys[t].n;
    if (!total)
        return 0;
    bool many = total > DC_LEAF && D->t->birth;
    int rc = 0;
    if (many) {
        bool old = D->old;
        D->old = true; /* the bound among the parameters */
        buf_reset(&D->q);
        rc = extract_young_keys_query(&D->q, D->t, false);
        rc = rc ? rc : dc_neo_params(D, NULL, NULL);
        rc = rc ? rc : dc_neo_rows(D, dc_on_key, &neo);
        D->old = old;
        if (!rc && neo.n)
            qsort(neo.v, neo.n, sizeof *neo.v, dc_strcmp);
    }
    for (int g = 0; !rc && g < ngraphs; g++)
        for (size_t i = 0; !rc && i < y[g].keys[t].n; i++)
            if (!many || !dc_keys_has(&neo, y[g].keys[t].v[i]))
                rc = dc_keys_add(&cand, y[g].keys[t].v[i], strlen(y[g].keys[t].v[i]));
    rc = rc || !cand.n ? rc : dc_absent(D, &cand, absent);
    if (!rc && absent->n)
        qsort(absent->v, absent->n, sizeof *absent->v, dc_strcmp);
    dc_keys_free(&neo);
    dc_keys_free(&cand);
    return rc;
}

/* Per graph: the cache's young items of each type (young: their count, after the deletes),
 * those whose keys Neo4j no longer holds deleted. The graphs' young keys are read pipelined,
 * and each type's are asked of Neo4j once for every graph. */
static int dc_young(struct dc *D, char **groups, int ngraphs, int64_t *young)
{
    const struct sync_profile *prof = sync_profile_of(D->c);
    struct dc_each e = {.groups = groups, .ntypes = prof->ntypes};
    e.y = calloc((size_t)(ngraphs ? ngraphs : 1), sizeof *e.y);
    int rc = e.y ? 0 : FS_ENOMEM;
    D->group = NULL;
    rc = rc ? rc : dc_fdb_each(D, ngraphs, dc_young_build, dc_young_reply, &e);
    for (int t = 0; !rc && t < prof->ntypes; t++) {
        struct dc_keys absent = {0};
        D->t = &prof->types[t];
        D->fx->type = t;
        rc = dc_stopped(D) ? FS_ECANCELLED : dc_young_absent(D, e.y, ngraphs, t, &absent);
        for (int g = 0; !rc && g < ngraphs; g++) {
            const struct dc_keys *k = &e.y[g].keys[t];
            size_t gone = 0;
            sync_target(D->c, groups, g, e.graph, sizeof e.graph);
            D->fx->ld->graph = e.graph;
            if (absent.n)
                rc = dc_delete_keys(D, k, &absent, &gone);
            young[g * prof->ntypes + t] = (int64_t)(k->n - gone);
            /* remembered from now on (the ones just deleted too: the next listing of their
             * range forgets them) */
            bool unusable;
            struct dc_keys *set =
                D->memo ? dc_memo_get(D->memo, e.graph, t, sync_wall_now(), &unusable) : NULL;
            rc = rc ? rc : dc_memo_add(set, k);
        }
        rc = rc ? rc : loader_drain(D->fx->ld);
        dc_keys_free(&absent);
    }
    for (int g = 0; e.y && g < ngraphs; g++)
        for (int t = 0; t < prof->ntypes; t++)
            dc_keys_free(&e.y[g].keys[t]);
    free(e.y);
    D->graph = NULL;
    return rc;
}

struct dc_census {
    int64_t all[DC_MAX_TYPES], young[DC_MAX_TYPES];
};

static int dc_on_census(struct dc *D, const struct pack_item *it, int n, void *ud)
{
    (void)D;
    struct dc_census *cs = ud;
    if (n < 3 || it[0].kind != FS_VALUE_INT || it[1].kind != FS_VALUE_INT ||
        it[2].kind != FS_VALUE_INT || it[1].i < 0 || it[1].i >= DC_MAX_TYPES)
        return 0;
    (it[2].i ? cs->young : cs->all)[it[1].i] = it[0].i;
    return 0;
}

/* Neo4j's counts of every type, whole and born after the bound, in one query (a writer
 * committing between the two counts costs a drill, nothing else). */
static int dc_neo_census(struct dc *D, struct dc_census *cs)
{
    const struct sync_profile *prof = sync_profile_of(D->c);
    memset(cs, 0, sizeof *cs);
    buf_reset(&D->q);
    D->group = NULL;
    D->old = true;
    int rc = extract_census_union(&D->q, prof->types, prof->ntypes);
    rc = rc ? rc : dc_neo_params(D, NULL, NULL);
    D->old = false;
    return rc ? rc : dc_neo_rows(D, dc_on_census, cs);
}

/* A memory of a graph's keys of a type that holds fewer of them than the cache counted (cnt,
 * taken before the young keys were listed into the memory) misses an item written since it
 * was read: one that a reconcile slice, reading Neo4j before a writer deleted it, wrote back
 * after this check had deleted it. Its range then looks equal on both sides, and while a
 * writer keeps another range differing the memory is never found wrong (such deletes waited
 * for the writer to stop: 23-47 s under the benchmark's writer). Forgotten: read again. The
 * count must be the one taken before the young listing: one taken after also counts young
 * items written since, which the memory learns only at the next check. A memory holding
 * more is no sign (deleted keys stay until their range is listed again). */
static void dc_memo_trust(struct dc *D, char **groups, int ngraphs, const int64_t *cnt)
{
    const struct sync_profile *prof = sync_profile_of(D->c);
    for (int g = 0; D->memo && g < ngraphs; g++) {
        char graph[SYNC_GRAPH_CAP];
        sync_target(D->c, groups, g, graph, sizeof graph);
        for (int t = 0; t < prof->ntypes; t++) {
            bool unusable;
            const struct dc_keys *set = dc_memo_get(D->memo, graph, t, sync_wall_now(), &unusable);
            if (!set || (int64_t)set->n >= cnt[g * prof->ntypes + t])
                continue;
            log_fields(LOG_DEBUG, "delete check forgot a memory",
                       json_pack("{s:s,s:s,s:I,s:I}", "graph", graph, "type", prof->types[t].name,
                                 "remembered", (json_int_t)set->n, "cache",
                                 (json_int_t)cnt[g * prof->ntypes + t]));
            dc_memo_drop(D->memo, graph, t);
        }
    }
}

/* The cache's counts of every graph and type (cnt), of their young items (young, deleting
 * those gone from Neo4j) and of their old ones (old = cnt - young). */
static int dc_cache_census(struct dc *D, char **groups, int ngraphs, int64_t *cnt, int64_t *young,
                           int64_t *old)
{
    const struct sync_profile *prof = sync_profile_of(D->c);
    uint64_t fixed = D->rep->deleted;
    int rc = dc_cache_counts(D, groups, ngraphs, cnt);
    rc = rc ? rc : dc_young(D, groups, ngraphs, young);
    if (!rc)
        dc_memo_trust(D, groups, ngraphs, cnt);
    if (!rc && D->rep->deleted != fixed) /* a node's delete took its relationships along */
        rc = dc_cache_counts(D, groups, ngraphs, cnt);
    for (int i = 0; !rc && i < ngraphs * prof->ntypes; i++)
        old[i] = cnt[i] - young[i];
    return rc;
}

/* The cache's counts again after deletes took relationships along: whole counts and young
 * counts only (index seeks), no young keys listed or looked up in Neo4j (what dc_cache_census
 * does first, and what took 1-2.7 s a check under a deleting writer). */
static int dc_cache_recount(struct dc *D, char **groups, int ngraphs, int64_t *cnt, int64_t *young,
                            int64_t *old)
{
    const struct sync_profile *prof = sync_profile_of(D->c);
    int rc = dc_cache_counts(D, groups, ngraphs, cnt);
    struct buf pre;
    buf_init(&pre, SYNC_QUERY_CAP);
    for (int g = 0; !rc && g < ngraphs; g++) {
        char graph[SYNC_GRAPH_CAP];
        D->group = sync_target(D->c, groups, g, graph, sizeof graph);
        D->graph = graph;
        buf_reset(&D->q);
        int n = 0;
        for (int t = 0; !rc && t < prof->ntypes; t++) {
            const struct sync_type *ty = &prof->types[t];
            young[g * prof->ntypes + t] = 0;
            if (!ty->birth)
                continue;
            rc = n++ ? buf_append_str(&D->q, " UNION ALL ") : 0;
            rc = rc ? rc : extract_cache_match(&D->q, ty, true);
            rc = rc ? rc
                    : buf_printf(&D->q, " WHERE %s > $bt RETURN %d AS t, count(*) AS c", ty->birth,
                                 t);
        }
        buf_reset(&pre);
        rc = rc ? rc : buf_append_str(&pre, "CYPHER");
        rc = rc ? rc : dc_write_bt(D, &pre, true);
        rc = rc ? rc : buf_append_byte(&pre, ' ');
        redisReply *r = NULL;
        rc = rc || !n ? rc : dc_fdb_query(D, &pre, &r);
        const redisReply *rows = dc_rows(r);
        for (size_t i = 0; !rc && rows && i < rows->elements; i++) {
            const redisReply *row = rows->element[i];
            if (row->elements == 2 && row->element[0]->type == REDIS_REPLY_INTEGER &&
                row->element[1]->type == REDIS_REPLY_INTEGER && row->element[0]->integer >= 0 &&
                row->element[0]->integer < prof->ntypes)
                young[g * prof->ntypes + row->element[0]->integer] = row->element[1]->integer;
        }
        freeReplyObject(r);
    }
    buf_deinit(&pre);
    D->graph = NULL;
    D->group = NULL;
    for (int i = 0; !rc && i < ngraphs * prof->ntypes; i++)
        old[i] = cnt[i] - young[i];
    return rc;
}

int sync_deletes_check(const struct cfg *c, struct bolt_session *bolt, struct fixer *fx,
                       char **groups, int ngroups, struct dc_memo *memo,
                       volatile sig_atomic_t *stop, struct sync_report *rep)
{
    const struct sync_profile *prof = sync_profile_of(c);
    if (prof->generic)
        return 0;
    if (prof->ntypes > DC_MAX_TYPES)
        return FS_EINVAL;
    struct dc D = {.c = c,
                   .bolt = bolt,
                   .fx = fx,
                   .fdb = &fx->ld->fdb,
                   .rep = rep,
                   .stop = stop,
                   .memo = memo};
    /* what is remembered holds the young keys of every check: a gap of half the overlap
     * could have let some age unseen */
    double started = sync_wall_now();
    dc_memo_checked(memo, 0, started, c->sync.overlap_seconds / 2.0);
    D.bt_s = (int64_t)time(NULL) - c->sync.overlap_seconds - 1;
    time_t bt = (time_t)D.bt_s;
    struct tm tm;
    gmtime_r(&bt, &tm);
    strftime(D.bt_iso, sizeof D.bt_iso, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
    int ngraphs = sync_target_count(c, ngroups);
    size_t cells = (size_t)(ngraphs ? ngraphs : 1) * (size_t)prof->ntypes;
    int64_t *cnt = calloc(3 * cells, sizeof *cnt);
    if (!cnt)
        return FS_ENOMEM;
    int64_t *young = cnt + cells, *old = cnt + 2 * cells;
    buf_init(&D.q, SYNC_QUERY_CAP);
    buf_init(&D.p, SYNC_QUERY_CAP);
    double t0 = sync_now();
    /* With a memory, Neo4j's census comes first (one query). When it is the last whole
     * check's and nothing was written to the cache since, nothing was added, deleted or aged
     * on either side: the check ends there (dc_memo_quiet), whatever the number of graphs.
     * When both sides' counts are the last check's, the digest slices (which look for an
     * extra and a missing item that leave the counts equal) have nothing new to find. */
    struct dc_census cs;
    bool neo_done = false, digest = true, drilled[DC_MAX_TYPES] = {false};
    uint64_t writes = loader_writes(), hneo = 1469598103934665603ULL;
    int rc = 0;
    if (memo) {
        rc = dc_stopped(&D) ? FS_ECANCELLED : dc_neo_census(&D, &cs);
        neo_done = !rc;
        for (int t = 0; !rc && t < prof->ntypes; t++)
            hneo = (((hneo ^ (uint64_t)cs.all[t]) * 1099511628211ULL) ^ (uint64_t)cs.young[t]) *
                   1099511628211ULL;
        if (!rc && dc_memo_quiet(memo, hneo, writes, started)) {
            dc_memo_checked(memo, 0, started, c->sync.overlap_seconds / 2.0);
            buf_deinit(&D.q);
            buf_deinit(&D.p);
            free(cnt);
            return 0;
        }
    }
    double t_neo = sync_now() - t0;
    rc = rc ? rc : dc_cache_census(&D, groups, ngraphs, cnt, young, old);
    double t_census = sync_now() - t0 - t_neo;
    if (!rc && memo) {
        uint64_t h = 1469598103934665603ULL;
        for (size_t i = 0; i < 2 * cells; i++)
            h = (h ^ (uint64_t)cnt[i]) * 1099511628211ULL;
        for (int t = 0; t < prof->ntypes; t++)
            h = (((h ^ (uint64_t)cs.all[t]) * 1099511628211ULL) ^ (uint64_t)cs.young[t]) *
                1099511628211ULL;
        digest = !dc_memo_same_census(memo, h);
        /* a type whose counts differ is drilled below, range by range: its slice need not be
         * listed whole as well (per_group too: the drill compares every graph at once) */
        for (int t = 0; t < prof->ntypes; t++)
            drilled[t] = cs.all[t] - (prof->types[t].birth ? cs.young[t] : 0) !=
                         dc_graphs_sum(prof->types[t].birth ? old : cnt, ngraphs, prof->ntypes, t);
    }
    /* Digests before the counts: deleting an extra node also deletes its relationships,
     * which the counts then find missing. */
    uint64_t fixed = rep->deleted + rep->upserted;
    rc = rc || !digest ? rc : dc_digest_check(&D, groups, ngraphs, old, drilled);
    if (!rc && rep->deleted + rep->upserted != fixed)
        rc = dc_cache_census(&D, groups, ngraphs, cnt, young, old);
    fixed = rep->deleted;
    double t_digest = sync_now() - t0 - t_census - t_neo;
    if (!neo_done)
        rc = rc ? rc : dc_stopped(&D) ? FS_ECANCELLED : dc_neo_census(&D, &cs);
    for (int t = 0; !rc && t < prof->ntypes; t++) {
        D.t = &prof->types[t];
        D.group = NULL;
        /* nodes deleted by the types before (nodes come first) took their relationships
         * with them: the cache's counts again, so that those do not send an edge type into
         * a drill that reads its every key to find nothing */
        if (D.t->edge && rep->deleted != fixed) {
            fixed = rep->deleted;
            rc = dc_cache_recount(&D, groups, ngraphs, cnt, young, old);
            D.t = &prof->types[t];
            D.group = NULL;
            if (rc)
                break;
        }
        const int64_t *of = D.t->birth ? old : cnt;
        int64_t total = cs.all[t] - (D.t->birth ? cs.young[t] : 0),
                sum = dc_graphs_sum(of, ngraphs, prof->ntypes, t);
        if (total != sum)
            rc = dc_type(&D, groups, ngraphs, t, total, sum, of);
    }
    log_fields(LOG_DEBUG, "delete check",
               json_pack("{s:f,s:f,s:f,s:f,s:I,s:I}", "cache_census_ms", round(t_census * 1000),
                         "digest_ms", round(t_digest * 1000), "neo4j_census_ms",
                         round(t_neo * 1000), "total_ms", round((sync_now() - t0) * 1000),
                         "deleted", (json_int_t)rep->deleted, "upserted",
                         (json_int_t)rep->upserted));
    if (!rc && neo_done)
        dc_memo_full_check(memo, hneo, writes, started);
    dc_memo_checked(memo, rc, started, c->sync.overlap_seconds / 2.0);
    buf_deinit(&D.q);
    buf_deinit(&D.p);
    free(cnt);
    return rc;
}
