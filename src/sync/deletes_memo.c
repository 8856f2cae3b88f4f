/* The delete check's memory of the cache's keys, kept by serve's deleter across checks: a
 * type whose counts differ is located by counting these keys by their first characters in
 * memory instead of reading every key of the type from FalkorDB again. It is a guide, not a
 * truth: every range it points at is listed from both databases before anything is fixed,
 * and the listing corrects it. */
#include "sync/deletes.h"
#include "sync/deletes_int.h"

#include <stdlib.h>
#include <string.h>

#include "sync/gkey.h"
#include "sync/target.h"

/* A set is read again from the cache after this long (what it cannot see: an old item an
 * incremental run or a reconcile slice wrote, later deleted in Neo4j, waits at most this). */
#define DC_MEMO_TTL 120.0

struct dc_memo_set {
    char graph[SYNC_GRAPH_CAP];
    int type;
    double built_at;
    bool unusable;       /* more keys than a set holds: the type is counted by FalkorDB */
    struct dc_keys keys; /* sorted (sync_keycmp) */
};

struct dc_memo {
    /* each set allocated alone: a drill of several graphs holds the keys of each while
     * others are put or dropped */
    struct dc_memo_set **v;
    int n, cap;
    double last_check;
    bool census_known; /* census: a hash of the last check's counts on both sides */
    uint64_t census;
    bool quiet_known;     /* neo: a hash of Neo4j's census, writes: loader_writes(), at the last */
    uint64_t neo, writes; /* whole check, which began at full_at */
    double full_at;
};

bool dc_memo_quiet(struct dc_memo *m, uint64_t neo, uint64_t writes, double now)
{
    return m && m->quiet_known && m->neo == neo && m->writes == writes && now - m->full_at >= 0 &&
           now - m->full_at < DC_QUIET_REFRESH;
}

void dc_memo_full_check(struct dc_memo *m, uint64_t neo, uint64_t writes, double started)
{
    if (!m)
        return;
    m->quiet_known = true;
    m->neo = neo;
    m->writes = writes;
    m->full_at = started;
}

bool dc_memo_same_census(struct dc_memo *m, uint64_t census)
{
    bool same = m->census_known && m->census == census;
    m->census = census;
    m->census_known = true;
    return same;
}

struct dc_memo *sync_deletes_memo_new(void)
{
    return calloc(1, sizeof(struct dc_memo));
}

void sync_deletes_memo_clear(struct dc_memo *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n; i++) {
        dc_keys_free(&m->v[i]->keys);
        free(m->v[i]);
    }
    m->n = 0;
    m->last_check = 0;
    m->census_known = false;
    m->quiet_known = false;
}

void sync_deletes_memo_free(struct dc_memo *m)
{
    if (!m)
        return;
    sync_deletes_memo_clear(m);
    free(m->v);
    free(m);
}

void dc_memo_checked(struct dc_memo *m, int rc, double started, double stale_after)
{
    if (!m)
        return;
    if (rc || (m->last_check > 0 && started - m->last_check > stale_after))
        sync_deletes_memo_clear(m); /* young items may have aged unseen, or a fix half done */
    if (!rc)
        m->last_check = started;
}

static struct dc_memo_set *find(struct dc_memo *m, const char *graph, int type)
{
    for (int i = 0; i < m->n; i++)
        if (m->v[i]->type == type && !strcmp(m->v[i]->graph, graph))
            return m->v[i];
    return NULL;
}

struct dc_keys *dc_memo_get(struct dc_memo *m, const char *graph, int type, double now,
                            bool *unusable)
{
    *unusable = false;
    struct dc_memo_set *s = m ? find(m, graph, type) : NULL;
    if (!s)
        return NULL;
    if (s->unusable) {
        *unusable = now - s->built_at < DC_MEMO_TTL;
        return NULL;
    }
    return now - s->built_at < DC_MEMO_TTL ? &s->keys : NULL;
}

struct dc_keys *dc_memo_put(struct dc_memo *m, const char *graph, int type, struct dc_keys *keys,
                            bool unusable, double now)
{
    struct dc_memo_set *s = find(m, graph, type);
    if (!s) {
        if (m->n == m->cap) {
            int cap = m->cap ? m->cap * 2 : 16;
            struct dc_memo_set **v = realloc(m->v, (size_t)cap * sizeof *v);
            if (!v) {
                dc_keys_free(keys);
                return NULL;
            }
            m->v = v;
            m->cap = cap;
        }
        if (!(s = calloc(1, sizeof *s))) {
            dc_keys_free(keys);
            return NULL;
        }
        m->v[m->n++] = s;
        snprintf(s->graph, sizeof s->graph, "%s", graph);
        s->type = type;
    }
    dc_keys_free(&s->keys);
    s->keys = *keys;
    memset(keys, 0, sizeof *keys);
    s->built_at = now;
    s->unusable = unusable;
    if (unusable) {
        dc_keys_free(&s->keys);
        return NULL;
    }
    if (s->keys.n)
        qsort(s->keys.v, s->keys.n, sizeof *s->keys.v, dc_strcmp);
    return &s->keys;
}

void dc_memo_drop(struct dc_memo *m, const char *graph, int type)
{
    struct dc_memo_set *s = m ? find(m, graph, type) : NULL;
    if (!s)
        return;
    for (int i = 0; i < m->n; i++)
        if (m->v[i] == s)
            m->v[i] = m->v[--m->n];
    dc_keys_free(&s->keys);
    free(s);
}

static int bs_cmp(const void *key, const void *elem)
{
    return sync_keycmp(key, *(char *const *)elem);
}

bool dc_keys_has(const struct dc_keys *sorted, const char *key)
{
    return sorted && sorted->n &&
           bsearch(key, sorted->v, sorted->n, sizeof *sorted->v, bs_cmp) != NULL;
}

/* Merges the sorted a (taken over) with the sorted b (copied), dropping duplicates, into a. */
static int merge_into(struct dc_keys *a, const struct dc_keys *b)
{
    if (!b->n)
        return 0;
    if (a->n + b->n > DC_MAX_KEYS)
        return FS_ETOO_BIG;
    char **v = malloc((a->n + b->n) * sizeof *v);
    char **copy = malloc(b->n * sizeof *copy);
    size_t made = 0;
    while (v && copy && made < b->n && (copy[made] = strdup(b->v[made])))
        made++;
    if (made < b->n) {
        while (copy && made)
            free(copy[--made]);
        free(copy);
        free(v);
        return FS_ENOMEM;
    }
    size_t i = 0, j = 0, w = 0;
    while (i < a->n || j < b->n) {
        int c = i == a->n ? 1 : j == b->n ? -1 : sync_keycmp(a->v[i], copy[j]);
        if (c <= 0) {
            v[w++] = a->v[i++];
            if (c == 0)
                free(copy[j++]);
        } else {
            v[w++] = copy[j++];
        }
    }
    free(copy);
    free(a->v);
    a->v = v;
    a->n = a->cap = w;
    return 0;
}

int dc_memo_add(struct dc_keys *set, const struct dc_keys *keys)
{
    if (!set || !keys->n)
        return 0;
    /* every check hands in the whole young window, mostly remembered already: only the new
     * keys are copied and merged (no new array when there are none) */
    struct dc_keys sorted = {0};
    int rc = 0;
    for (size_t i = 0; !rc && i < keys->n; i++)
        if (!dc_keys_has(set, keys->v[i]))
            rc = dc_keys_add(&sorted, keys->v[i], strlen(keys->v[i]));
    if (!rc && sorted.n)
        qsort(sorted.v, sorted.n, sizeof *sorted.v, dc_strcmp);
    rc = rc ? rc : merge_into(set, &sorted);
    dc_keys_free(&sorted);
    return rc;
}

static int pfx_cmp(const void *key, const void *elem)
{
    return strcmp(key, *(char *const *)elem);
}

int dc_memo_replace(struct dc_keys *set, int k, char *const *prefixes, size_t np,
                    const struct dc_keys *repl, const struct dc_keys *keep)
{
    /* the set's keys outside the ranges, and those inside that are still young */
    size_t w = 0;
    for (size_t i = 0; i < set->n; i++) {
        char p[16];
        snprintf(p, sizeof p, "%.*s", k, set->v[i]);
        bool inside = (int)strlen(set->v[i]) >= k &&
                      bsearch(p, prefixes, np, sizeof *prefixes, pfx_cmp) != NULL;
        if (inside && !dc_keys_has(keep, set->v[i]))
            free(set->v[i]);
        else
            set->v[w++] = set->v[i];
    }
    set->n = w;
    return merge_into(set, repl);
}
