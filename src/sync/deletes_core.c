/* The delete check's building blocks: queries on both sides, key lists, fixes, the per-prefix
 * drill. deletes.c decides what to compare; deletes_ranges.c drills by batched ranges. */
#include "sync/deletes.h"
#include "sync/deletes_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "falkor/param.h"
#include "falkor/reply.h"
#include "sync/cursor_neo4j.h"
#include "sync/extract.h"
#include "sync/gkey.h"
#include "sync/target.h"

struct dc_child {
    char c[8]; /* the next character (UTF-8), "" when a key ends at the prefix */
    int64_t neo, fdb;
};

/* A stop asked for: the error says so (the check is repeated by the next run). */
bool dc_stopped(struct dc *D)
{
    if (!(D->stop && *D->stop))
        return false;
    snprintf(D->rep->error, sizeof D->rep->error, "stopped by a signal");
    return true;
}

static int dc_neo_error(struct dc *D, int rc)
{
    snprintf(D->rep->error, sizeof D->rep->error, "Neo4j: %s", D->bolt->errstr);
    return rc;
}

static int dc_fdb_error(struct dc *D, int rc)
{
    snprintf(D->rep->error, sizeof D->rep->error, "FalkorDB: %s", D->fdb->errstr);
    return rc;
}

/* The smallest key above every key starting with prefix: prefix with its last byte
 * incremented; false for "" and for a last byte outside ASCII (then STARTS WITH is used). */
bool dc_upper(const char *prefix, char *hi, size_t cap)
{
    size_t n = strlen(prefix);
    if (!n || n >= cap || (unsigned char)prefix[n - 1] >= 0x7e)
        return false;
    memcpy(hi, prefix, n + 1);
    hi[n - 1]++;
    return true;
}

/* "bt": the bound, as a DateTime (Neo4j) or its ISO text (the cache's "CYPHER" prefix). */
int dc_write_bt(const struct dc *D, struct buf *p, bool cache)
{
    if (cache) {
        int rc = buf_append_str(p, " bt=");
        return rc ? rc : fdb_param_write_string(p, D->bt_iso, strlen(D->bt_iso));
    }
    int rc = pack_write_cstr(p, "bt");
    rc = rc ? rc : pack_write_struct_header(p, PACK_TAG_DATE_TIME, 3);
    rc = rc ? rc : pack_write_int(p, D->bt_s);
    rc = rc ? rc : pack_write_int(p, 0);
    return rc ? rc : pack_write_int(p, 0);
}

/* Parameters {p: prefix (unless NULL), hi: its upper bound (when it has one), l: its length,
 * keys: keys (unless NULL), g: group}. */
int dc_neo_params(struct dc *D, const char *prefix, const struct dc_keys *keys)
{
    buf_reset(&D->p);
    char hi[SYNC_KEY_CAP];
    bool ranged = prefix && dc_upper(prefix, hi, sizeof hi);
    uint32_t n = (prefix ? 2 : 0) + (ranged ? 1 : 0) + (keys ? 1 : 0) + (D->group ? 1 : 0) +
                 (D->old ? 1 : 0);
    int rc = pack_write_map_header(&D->p, n);
    if (D->old)
        rc = rc ? rc : dc_write_bt(D, &D->p, false);
    if (prefix) {
        rc = rc ? rc : pack_write_cstr(&D->p, "p");
        rc = rc ? rc : pack_write_cstr(&D->p, prefix);
        rc = rc ? rc : pack_write_cstr(&D->p, "l");
        rc = rc ? rc : pack_write_int(&D->p, (int64_t)strlen(prefix));
    }
    if (ranged) {
        rc = rc ? rc : pack_write_cstr(&D->p, "hi");
        rc = rc ? rc : pack_write_cstr(&D->p, hi);
    }
    if (keys) {
        rc = rc ? rc : pack_write_cstr(&D->p, "keys");
        rc = rc ? rc : pack_write_list_header(&D->p, (uint32_t)keys->n);
        for (size_t i = 0; !rc && i < keys->n; i++)
            rc = pack_write_cstr(&D->p, keys->v[i]);
    }
    if (D->group) {
        rc = rc ? rc : pack_write_cstr(&D->p, "g");
        rc = rc ? rc : pack_write_cstr(&D->p, D->group);
    }
    return rc;
}

/* Runs D->q with D->p on Neo4j; on_row(D, items, n, ud) gets each record's first four values. */

int dc_neo_rows(struct dc *D, dc_row_fn on_row, void *ud)
{
    int rc = bolt_run(D->bolt, D->q.data, D->p.data, D->p.len, BOLT_MODE_READ);
    if (rc)
        return dc_neo_error(D, rc);
    struct bolt_record rec;
    int more;
    while ((more = bolt_next(D->bolt, &rec)) == 1) {
        struct pack_reader r;
        struct pack_item it[4];
        pack_reader_init(&r, rec.data, rec.len);
        int n = 0;
        rc = pack_read_item(&r, &it[0]); /* the list header */
        while (!rc && n < 4 && n < (int)rec.nvalues && !(rc = pack_read_item(&r, &it[n])))
            n++;
        rc = rc ? rc : dc_stopped(D) ? FS_ECANCELLED : on_row(D, it, n, ud);
        if (rc) {
            if (bolt_discard(D->bolt)) {
                /* the session is reset; the next run reports it */
            }
            return rc;
        }
    }
    return more < 0 ? dc_neo_error(D, more) : 0;
}

int dc_fdb_send(struct dc *D, struct buf *params)
{
    if (fdb_is_cluster(D->fdb)) /* redirects are followed by a round trip: dc_fdb_recv's */
        return 0;
    int rc = buf_append(params, D->q.data, D->q.len);
    rc = rc ? rc : buf_append_byte(params, '\0');
    if (rc)
        return rc;
    const char *argv[3] = {"GRAPH.RO_QUERY", D->graph, params->data};
    rc = fdb_append(D->fdb, 3, argv, NULL);
    rc = rc ? rc : fdb_flush(D->fdb);
    if (rc)
        return dc_fdb_error(D, rc);
    D->fdb_sent++;
    return 0;
}

int dc_fdb_recv(struct dc *D, struct buf *params, redisReply **out)
{
    *out = NULL;
    if (!D->fdb_sent)
        return dc_fdb_query(D, params, out);
    D->fdb_sent--;
    redisReply *r = NULL;
    int rc = fdb_read_reply(D->fdb, &r);
    if (rc)
        return dc_fdb_error(D, rc);
    int cls = fdb_reply_errclass(r);
    if (cls == FS_EFDB_NOGRAPH) {
        freeReplyObject(r);
        return 0;
    }
    if (fdb_reply_error(r, D->fdb->errstr, sizeof D->fdb->errstr)) {
        freeReplyObject(r);
        return dc_fdb_error(D, FS_ESERVER);
    }
    *out = r;
    return 0;
}

int dc_fdb_each(struct dc *D, int n, dc_build_fn build, dc_reply_fn on_reply, void *ud)
{
    struct buf pre;
    buf_init(&pre, SYNC_QUERY_CAP);
    int rc = 0;
    for (int at = 0; !rc && at < n; at += DC_PIPE) {
        int m = n - at < DC_PIPE ? n - at : DC_PIPE, sent = 0;
        for (int i = at; !rc && i < at + m; i++) {
            buf_reset(&pre);
            rc = build(D, i, &pre, ud);
            if (rc == DC_SKIP) {
                rc = 0;
                continue;
            }
            if (!rc && fdb_is_cluster(D->fdb)) { /* redirects need a round trip each */
                redisReply *r = NULL;
                rc = dc_fdb_query(D, &pre, &r);
                rc = rc ? rc : on_reply(D, i, r, ud);
                freeReplyObject(r);
            } else if (!rc && !(rc = dc_fdb_send(D, &pre))) {
                D->sent_ix[sent++] = i;
            }
        }
        for (int k = 0; k < sent; k++) { /* every reply sent for is read, an error or not */
            redisReply *r = NULL;
            int e = dc_fdb_recv(D, &pre, &r);
            e = e ? e : on_reply(D, D->sent_ix[k], r, ud);
            freeReplyObject(r);
            rc = rc ? rc : e;
        }
    }
    buf_deinit(&pre);
    return rc;
}

/* Runs "CYPHER <params> <D->q>" read-only on the graph; *out NULL when the graph does not
 * exist. */
int dc_fdb_query(struct dc *D, struct buf *params, redisReply **out)
{
    int rc = buf_append(params, D->q.data, D->q.len);
    rc = rc ? rc : buf_append_byte(params, '\0');
    if (rc)
        return rc;
    const char *argv[3] = {"GRAPH.RO_QUERY", D->graph, params->data};
    *out = NULL;
    rc = fdb_commandv(D->fdb, out, 3, argv);
    if (rc && D->fdb->server_err == FS_EFDB_NOGRAPH)
        return 0;
    return rc ? dc_fdb_error(D, rc) : 0;
}

/* The rows of a reply (NULL: none). */
const redisReply *dc_rows(const redisReply *r)
{
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
        r->element[1]->type != REDIS_REPLY_ARRAY)
        return NULL;
    return r->element[1];
}

int dc_fdb_count_query(struct dc *D)
{
    buf_reset(&D->q);
    return D->t->edge ? buf_printf(&D->q, "MATCH ()-[x:`%s`]->() RETURN count(x)", D->t->name)
                      : buf_printf(&D->q, "MATCH (x:`%s`) RETURN count(x)", D->t->name);
}

int64_t dc_count_of(const redisReply *r)
{
    const redisReply *rows = dc_rows(r);
    if (rows && rows->elements && rows->element[0]->elements &&
        rows->element[0]->element[0]->type == REDIS_REPLY_INTEGER)
        return rows->element[0]->element[0]->integer;
    return 0;
}

void dc_keys_free(struct dc_keys *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->v[i]);
    free(k->v);
    memset(k, 0, sizeof *k);
}

int dc_keys_add(struct dc_keys *k, const char *s, size_t len)
{
    if (k->n == DC_MAX_KEYS)
        return FS_ETOO_BIG;
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 64;
        char **v = realloc(k->v, cap * sizeof *v);
        if (!v)
            return FS_ENOMEM;
        k->v = v;
        k->cap = cap;
    }
    if (!(k->v[k->n] = strndup(s, len)))
        return FS_ENOMEM;
    k->n++;
    return 0;
}

int dc_strcmp(const void *a, const void *b)
{
    return sync_keycmp(*(char *const *)a, *(char *const *)b);
}

int dc_on_key(struct dc *D, const struct pack_item *it, int n, void *ud)
{
    (void)D;
    if (n < 1 || it[0].kind != FS_VALUE_STRING)
        return 0;
    return dc_keys_add(ud, (const char *)it[0].data, it[0].size);
}

/* The cache's query text for t's keys under $p: by_char, counts by next character. */
static int dc_fdb_prefix_query(struct dc *D, const char *prefix, bool by_char, struct buf *pre)
{
    const char *v = D->t->edge ? "r" : "n";
    char hi[SYNC_KEY_CAP];
    bool ranged = dc_upper(prefix, hi, sizeof hi);
    buf_reset(&D->q);
    int rc = extract_cache_match(&D->q, D->t, false);
    /* a range is an index seek in FalkorDB, STARTS WITH a scan; the range is checked again on
     * the rows, as the index can hand back keys outside it (FalkorDB 4.16) */
    rc = rc       ? rc
         : ranged ? buf_printf(&D->q,
                               " WHERE %s.uuid >= $p AND %s.uuid < $hi WITH %s WHERE (%s.uuid + "
                               "'') >= $p AND (%s.uuid + '') < $hi",
                               v, v, v, v, v)
                  : buf_printf(&D->q, " WHERE %s.uuid STARTS WITH $p WITH %s WHERE true", v, v);
    rc = rc ? rc : extract_old_filter(&D->q, D->t, D->old, true);
    rc = rc ? rc : buf_append_str(&D->q, " RETURN ");
    rc = rc        ? rc
         : by_char ? buf_printf(&D->q, "substring(%s.uuid, %zu, 1), count(*)", v, strlen(prefix))
                   : buf_printf(&D->q, "%s.uuid", v);
    rc = rc ? rc : buf_append_str(pre, "CYPHER p=");
    rc = rc ? rc : fdb_param_write_string(pre, prefix, strlen(prefix));
    if (ranged) {
        rc = rc ? rc : buf_append_str(pre, " hi=");
        rc = rc ? rc : fdb_param_write_string(pre, hi, strlen(hi));
    }
    if (D->old)
        rc = rc ? rc : dc_write_bt(D, pre, true);
    return rc ? rc : buf_append_byte(pre, ' ');
}

/* Both sides' keys under prefix, sorted. */
static int dc_list(struct dc *D, const char *prefix, struct dc_keys *neo, struct dc_keys *fdb)
{
    buf_reset(&D->q);
    char hi[SYNC_KEY_CAP];
    int rc = extract_prefix_query(&D->q, D->t, D->group != NULL, dc_upper(prefix, hi, sizeof hi),
                                  D->old, false);
    rc = rc ? rc : dc_neo_params(D, prefix, NULL);
    rc = rc ? rc : dc_neo_rows(D, dc_on_key, neo);
    struct buf pre;
    buf_init(&pre, SYNC_QUERY_CAP);
    redisReply *r = NULL;
    rc = rc ? rc : dc_fdb_prefix_query(D, prefix, false, &pre);
    rc = rc ? rc : dc_fdb_query(D, &pre, &r);
    const redisReply *rows = dc_rows(r);
    for (size_t i = 0; !rc && rows && i < rows->elements; i++) {
        const redisReply *cell = rows->element[i]->elements ? rows->element[i]->element[0] : NULL;
        /* only keys under the prefix: a key the index handed back from outside the range
         * (see dc_fdb_prefix_query) must not be taken for an extra and deleted */
        if (cell && cell->type == REDIS_REPLY_STRING && !strncmp(cell->str, prefix, strlen(prefix)))
            rc = dc_keys_add(fdb, cell->str, cell->len);
    }
    freeReplyObject(r);
    buf_deinit(&pre);
    if (!rc && neo->n) /* qsort's base must not be NULL, even for 0 items */
        qsort(neo->v, neo->n, sizeof *neo->v, dc_strcmp);
    if (!rc && fdb->n)
        qsort(fdb->v, fdb->n, sizeof *fdb->v, dc_strcmp);
    return rc;
}

/* Upserts the Neo4j items of keys. */
int dc_upsert(struct dc *D, const struct dc_keys *keys)
{
    if (!keys->n)
        return 0;
    buf_reset(&D->q);
    int rc = extract_keys_query(&D->q, D->t, D->group != NULL);
    rc = rc ? rc : dc_neo_params(D, NULL, keys);
    rc = rc ? rc : bolt_run(D->bolt, D->q.data, D->p.data, D->p.len, BOLT_MODE_READ);
    if (rc)
        return dc_neo_error(D, rc);
    struct neo_cursor *sc = malloc(sizeof *sc);
    if (!sc)
        return FS_ENOMEM;
    neo_cursor_init(sc, D->bolt, D->fx->rules, false, "", true);
    sc->t = D->t;
    struct sync_item it;
    int more;
    while ((more = neo_cursor_next(sc, &it, &D->rep->dropped)) == 1)
        if ((rc = dc_stopped(D) ? FS_ECANCELLED : fixer_upsert(D->fx, sc, it.key, NULL)))
            break;
    if (!rc && more < 0)
        rc = dc_neo_error(D, more);
    if (rc && !sc->done && bolt_discard(D->bolt)) {
        /* the session is reset; the next run reports it */
    }
    neo_cursor_deinit(sc);
    free(sc);
    return rc ? rc : fixer_flush(D->fx);
}

/* Keys of $keys looked up per request (a Neo4j index seek each). */
#define DC_PRESENT_CHUNK 1000

static int dc_bsearch_cmp(const void *key, const void *elem)
{
    return sync_keycmp(key, *(char *const *)elem);
}

/* Of keys, those that no item of the current type holds in Neo4j (in any group): into absent.
 * A key is deleted from the cache only once Neo4j said so by key. */
int dc_absent(struct dc *D, const struct dc_keys *keys, struct dc_keys *absent)
{
    struct dc_keys present = {0};
    const char *group = D->group;
    bool old = D->old;
    D->group = NULL;
    D->old = false;
    int rc = 0;
    for (size_t at = 0; !rc && at < keys->n; at += DC_PRESENT_CHUNK) {
        size_t n = keys->n - at < DC_PRESENT_CHUNK ? keys->n - at : DC_PRESENT_CHUNK;
        struct dc_keys chunk = {keys->v + at, n, n};
        buf_reset(&D->q);
        rc = extract_present_query(&D->q, D->t);
        rc = rc ? rc : dc_neo_params(D, NULL, &chunk);
        rc = rc ? rc : dc_neo_rows(D, dc_on_key, &present);
    }
    D->group = group;
    D->old = old;
    if (!rc && present.n)
        qsort(present.v, present.n, sizeof *present.v, dc_strcmp);
    for (size_t i = 0; !rc && i < keys->n; i++)
        if (!present.n ||
            !bsearch(keys->v[i], present.v, present.n, sizeof *present.v, dc_bsearch_cmp))
            rc = dc_keys_add(absent, keys->v[i], strlen(keys->v[i]));
    dc_keys_free(&present);
    return rc;
}

int dc_delete_keys(struct dc *D, const struct dc_keys *keys, const struct dc_keys *only, size_t *n)
{
    size_t k = 0;
    int rc = 0;
    for (size_t i = 0; !rc && i < keys->n; i++) {
        if (only && !dc_keys_has(only, keys->v[i]))
            continue;
        struct sync_item b = {0};
        snprintf(b.key, sizeof b.key, "%s", keys->v[i]);
        rc = fixer_delete(D->fx, &b);
        k++;
    }
    if (n)
        *n = k;
    return rc ? rc : fixer_send(D->fx);
}

/* Deletes from the cache those of keys (of the current type, in D->graph) that Neo4j does
 * not hold; *n: how many. */
int dc_delete_absent(struct dc *D, const struct dc_keys *keys, size_t *n)
{
    struct dc_keys absent = {0};
    int rc = keys->n ? dc_absent(D, keys, &absent) : 0;
    rc = rc ? rc : dc_delete_keys(D, &absent, NULL, n);
    dc_keys_free(&absent);
    return rc ? rc : loader_drain(D->fx->ld);
}

/* Lists the keys under prefix on both sides: deletes the cache's extras (and every copy of a
 * key it holds twice), upserts what it misses. */
int dc_fix(struct dc *D, const char *prefix)
{
    struct dc_keys neo = {0}, fdb = {0};
    int rc = dc_list(D, prefix, &neo, &fdb);
    if (rc) {
        dc_keys_free(&neo);
        dc_keys_free(&fdb);
        return rc;
    }
    return dc_fix_lists(D, &neo, &fdb);
}

int dc_fix_compare(struct dc *D, struct dc_keys *neo_, struct dc_keys *fdb_,
                   struct dc_keys *missing, struct dc_keys *extra)
{
    struct dc_keys neo = *neo_, fdb = *fdb_;
    memset(neo_, 0, sizeof *neo_);
    memset(fdb_, 0, sizeof *fdb_);
    int rc = 0;
    size_t i = 0, j = 0;
    if (!rc && dc_stopped(D))
        rc = FS_ECANCELLED;
    while (!rc && (i < neo.n || j < fdb.n)) {
        int cmp = i == neo.n ? 1 : j == fdb.n ? -1 : sync_keycmp(neo.v[i], fdb.v[j]);
        bool dup = j + 1 < fdb.n && !sync_keycmp(fdb.v[j], fdb.v[j + 1]);
        if (cmp > 0 && D->old) {
            /* old in the cache, not in Neo4j's list: maybe young there (its time differs);
             * deleted once Neo4j says by key that it is gone */
            rc = dc_keys_add(extra, fdb.v[j], strlen(fdb.v[j]));
            while (!rc && j + 1 < fdb.n && !sync_keycmp(fdb.v[j], fdb.v[j + 1]))
                j++;
            j++;
        } else if (cmp > 0 || (cmp == 0 && dup)) {
            struct sync_item b = {0};
            snprintf(b.key, sizeof b.key, "%s", fdb.v[j]);
            rc = fixer_delete(D->fx, &b);
            while (!rc && j + 1 < fdb.n && !sync_keycmp(fdb.v[j], fdb.v[j + 1]))
                j++;
            j++;
            if (!rc && cmp == 0)
                rc = dc_keys_add(missing, neo.v[i], strlen(neo.v[i]));
            i += cmp == 0;
        } else if (cmp < 0) {
            rc = dc_keys_add(missing, neo.v[i], strlen(neo.v[i]));
            i++;
        } else {
            i++;
            j++;
        }
    }
    dc_keys_free(&neo);
    dc_keys_free(&fdb);
    return rc;
}

int dc_fix_lists(struct dc *D, struct dc_keys *neo, struct dc_keys *fdb)
{
    struct dc_keys missing = {0}, extra = {0};
    int rc = dc_fix_compare(D, neo, fdb, &missing, &extra);
    rc = rc ? rc : fixer_flush(D->fx);
    rc = rc ? rc : dc_delete_absent(D, &extra, NULL);
    rc = rc ? rc : dc_upsert(D, &missing);
    dc_keys_free(&missing);
    dc_keys_free(&extra);
    return rc;
}

static struct dc_child *dc_child(struct dc_child *ch, int *n, const char *s, size_t len)
{
    char c[8];
    snprintf(c, sizeof c, "%.*s", (int)(len < 7 ? len : 7), s);
    for (int i = 0; i < *n; i++)
        if (!strcmp(ch[i].c, c))
            return &ch[i];
    if (*n == DC_CHILDREN)
        return NULL;
    struct dc_child *x = &ch[(*n)++];
    memset(x, 0, sizeof *x);
    memcpy(x->c, c, sizeof c);
    return x;
}

struct dc_children {
    struct dc_child v[DC_CHILDREN];
    int n;
    bool full; /* more next characters than DC_CHILDREN */
};

static int dc_on_child(struct dc *D, const struct pack_item *it, int n, void *ud)
{
    (void)D;
    struct dc_children *k = ud;
    if (n < 2 || it[0].kind != FS_VALUE_STRING || it[1].kind != FS_VALUE_INT)
        return 0;
    struct dc_child *x = dc_child(k->v, &k->n, (const char *)it[0].data, it[0].size);
    if (!x)
        k->full = true;
    else
        x->neo = it[1].i;
    return 0;
}

/* Both sides' counts under prefix by next character. */
static int dc_children_of(struct dc *D, const char *prefix, struct dc_children *k)
{
    buf_reset(&D->q);
    char hi[SYNC_KEY_CAP];
    int rc = extract_prefix_query(&D->q, D->t, D->group != NULL, dc_upper(prefix, hi, sizeof hi),
                                  D->old, true);
    rc = rc ? rc : dc_neo_params(D, prefix, NULL);
    rc = rc ? rc : dc_neo_rows(D, dc_on_child, k);
    struct buf pre;
    buf_init(&pre, SYNC_QUERY_CAP);
    redisReply *r = NULL;
    rc = rc ? rc : dc_fdb_prefix_query(D, prefix, true, &pre);
    rc = rc ? rc : dc_fdb_query(D, &pre, &r);
    const redisReply *rows = dc_rows(r);
    for (size_t i = 0; !rc && rows && i < rows->elements; i++) {
        const redisReply *row = rows->element[i];
        if (row->elements < 2 || row->element[1]->type != REDIS_REPLY_INTEGER)
            continue;
        const redisReply *c = row->element[0];
        bool str = c->type == REDIS_REPLY_STRING;
        struct dc_child *x = dc_child(k->v, &k->n, str ? c->str : "", str ? c->len : 0);
        if (!x)
            k->full = true;
        else
            x->fdb = row->element[1]->integer;
    }
    freeReplyObject(r);
    buf_deinit(&pre);
    return rc;
}

/* Drills into the next characters of prefix whose counts differ. */
int dc_drill(struct dc *D, const char *prefix, int depth)
{
    struct dc_children *k = calloc(1, sizeof *k);
    if (!k)
        return FS_ENOMEM;
    int rc = dc_children_of(D, prefix, k);
    size_t len = strlen(prefix);
    if (!rc && (k->full || depth >= 16)) {
        free(k);
        return dc_fix(D, prefix);
    }
    for (int i = 0; !rc && i < k->n; i++) {
        if (dc_stopped(D)) {
            rc = FS_ECANCELLED;
            break;
        }
        const struct dc_child *x = &k->v[i];
        if (x->neo == x->fdb)
            continue;
        char sub[SYNC_KEY_CAP];
        if (!x->c[0] || len + strlen(x->c) >= sizeof sub) {
            rc = dc_fix(D, prefix); /* a key ends here: the whole prefix, listed */
            break;
        }
        snprintf(sub, sizeof sub, "%s%s", prefix, x->c);
        int64_t most = x->neo > x->fdb ? x->neo : x->fdb;
        rc = most <= DC_LEAF ? dc_fix(D, sub) : dc_drill(D, sub, depth + 1);
    }
    free(k);
    return rc;
}

int dc_young_query(struct dc *D, const struct sync_type *types, int ntypes, struct buf *pre)
{
    buf_reset(&D->q);
    buf_reset(pre);
    int rc = extract_young_union(&D->q, types, ntypes);
    rc = rc ? rc : buf_append_str(pre, "CYPHER");
    rc = rc ? rc : dc_write_bt(D, pre, true);
    return rc ? rc : buf_append_byte(pre, ' ');
}

int dc_young_rows(const redisReply *r, int ntypes, struct dc_keys *keys)
{
    const redisReply *rows = dc_rows(r);
    int rc = 0;
    for (size_t i = 0; !rc && rows && i < rows->elements; i++) {
        const redisReply *row = rows->element[i];
        if (row->elements == 2 && row->element[0]->type == REDIS_REPLY_INTEGER &&
            row->element[1]->type == REDIS_REPLY_STRING && row->element[0]->integer >= 0 &&
            row->element[0]->integer < ntypes)
            rc = dc_keys_add(&keys[row->element[0]->integer], row->element[1]->str,
                             row->element[1]->len);
    }
    return rc;
}

int dc_cache_young(struct dc *D, const struct sync_type *types, int ntypes, struct dc_keys *keys)
{
    struct buf pre;
    buf_init(&pre, SYNC_QUERY_CAP);
    redisReply *r = NULL;
    int rc = dc_young_query(D, types, ntypes, &pre);
    rc = rc ? rc : dc_fdb_query(D, &pre, &r);
    rc = rc ? rc : dc_young_rows(r, ntypes, keys);
    freeReplyObject(r);
    buf_deinit(&pre);
    return rc;
}
