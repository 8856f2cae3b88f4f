/* Reconcile's and incremental's writer: upserts of Neo4j items (MERGE on the key, or
 * delete-then-create for relationships) and deletes of cached ones, in UNWIND batches. */
#include "sync/fixer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "falkor/param.h"
#include "sync/gkey.h"

#define FIX_GROUP_BYTES ((size_t)4 << 20)

static int fix_send(struct fixer *fx, struct buf *q, enum pend_kind kind, uint32_t rows)
{
    struct pending p = {
        .kind = kind, .rows = rows, .edge = fx->types[fx->type].edge, .type = fx->type};
    snprintf(p.first_key, sizeof p.first_key, "(reconcile)");
    if (fx->graph) /* one of several fixers sharing the loader (its graph is read when sent) */
        fx->ld->graph = fx->graph;
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
    rc = rc ? rc : xc_embedding_sets(q, "n", fx->rules);
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

int fixer_send(struct fixer *fx)
{
    int rc = fix_flush_deletes(fx);
    for (int i = 0; !rc && i < fx->ng; i++)
        rc = fix_flush_group(fx, &fx->g[i]);
    return rc;
}

int fixer_flush(struct fixer *fx)
{
    int rc = fixer_send(fx);
    return rc ? rc : loader_drain(fx->ld);
}

int fixer_delete(struct fixer *fx, const struct sync_item *b)
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
    buf_init(&g->rows, SYNC_BATCH_CAP);
    buf_init(&g->keys, SYNC_BATCH_CAP);
    *rc = g->key ? 0 : FS_ENOMEM;
    return g;
}

/* The batch group of the current source item (one query text per group). */
static struct fix_group *upsert_group(struct fixer *fx, struct neo_cursor *sc,
                                      const struct sync_item *cached, const char *labels, int *rc)
{
    const struct sync_type *t = &fx->types[fx->type];
    struct buf gk;
    buf_init(&gk, SYNC_QUERY_CAP);
    if (fx->generic && t->edge) {
        *rc = sync_generic_edge_key(&gk, sc->rtype, strlen(sc->rtype), &sc->cols.gc, sc->kp);
    } else if (fx->generic) {
        *rc = buf_printf(&gk, "%c\x1e%s", cached ? 'U' : 'C', labels);
    } else {
        *rc = buf_append_str(&gk, t->edge ? sc->cols.dst_label : labels);
    }
    *rc = *rc ? *rc : xc_native_signature(&gk, &sc->nt);
    struct fix_group *g = *rc ? NULL : fix_group_for(fx, gk.data, rc);
    if (!*rc && g->n == 0 && fx->ng == FIX_GROUPS && strcmp(g->key, gk.data)) {
        free(g->key);
        g->key = strdup(gk.data);
        if (!g->key)
            *rc = FS_ENOMEM;
    }
    buf_deinit(&gk);
    return *rc ? NULL : g;
}

/* The item's row in its group: key, properties, embeddings, endpoints, native temporals. */
static int upsert_row(struct fixer *fx, struct neo_cursor *sc, const char *key,
                      const struct sync_item *cached, struct fix_group *g)
{
    const struct sync_type *t = &fx->types[fx->type];
    struct buf *x = &g->rows;
    int rc;
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
        rc = buf_printf(x, ",s:%s,t:%s", sc->cols.gc.a.raw, sc->cols.gc.b.raw);
        if (!rc && cached)
            rc = buf_printf(&g->keys, "[%lld,%lld],", (long long)cached->fsrc,
                            (long long)cached->fid);
    } else if (!rc && t->edge) {
        rc = buf_append_str(x, ",s:");
        rc = rc ? rc : fdb_param_write_string(x, sc->cols.src, strlen(sc->cols.src));
        rc = rc ? rc : buf_append_str(x, ",t:");
        rc = rc ? rc : fdb_param_write_string(x, sc->cols.dst, strlen(sc->cols.dst));
        rc = rc ? rc : fdb_param_write_string(&g->keys, key, strlen(key));
        rc = rc ? rc : buf_append_byte(&g->keys, ',');
    }
    rc = rc ? rc : xc_native_row(x, &sc->nt);
    return rc ? rc : buf_append_str(x, "},");
}

/* True when label (len bytes) is one of labels ("\x1f"-separated). */
static bool has_label(const char *labels, const char *label, size_t len)
{
    for (const char *m = labels; *m;) {
        size_t ml = strcspn(m, "\x1f");
        if (ml == len && !memcmp(m, label, len))
            return true;
        m += ml + (m[ml] ? 1 : 0);
    }
    return false;
}

/* Removes from the cached node the labels the source no longer has. */
static int remove_stale_labels(struct fixer *fx, const char *key, const struct sync_item *cached,
                               const char *labels)
{
    const struct sync_type *t = &fx->types[fx->type];
    int rc = 0;
    for (const char *l = cached->labels; !rc && *l;) {
        size_t len = strcspn(l, "\x1f");
        if (len && !has_label(labels, l, len)) {
            buf_reset(&fx->q);
            if (fx->generic) {
                rc = buf_printf(&fx->q,
                                "MATCH (n) WHERE id(n) = %lld REMOVE n:", (long long)cached->fid);
            } else {
                rc = fdb_param_prefix_begin(&fx->q);
                rc = rc ? rc : fdb_param_name(&fx->q, "k");
                rc = rc ? rc : fdb_param_write_string(&fx->q, key, strlen(key));
                rc = rc ? rc : fdb_param_prefix_end(&fx->q);
                rc = rc ? rc : buf_printf(&fx->q, "MATCH (n:`%s` {uuid: $k}) REMOVE n:", t->name);
            }
            rc = rc ? rc : xc_ident(&fx->q, l, len);
            rc = rc ? rc : fix_send(fx, &fx->q, PEND_WRITE, 0);
        }
        l += len + (l[len] ? 1 : 0);
    }
    return rc;
}

/* Queues the current source item for an upsert; removes labels the cache has
 * and the source does not (nodes). */
int fixer_upsert(struct fixer *fx, struct neo_cursor *sc, const char *key,
                 const struct sync_item *cached)
{
    const struct sync_type *t = &fx->types[fx->type];
    const char *labels = sc->head.data ? sc->head.data + 2 : "";
    if (fx->generic && t->edge && memchr(sc->rtype, '`', strlen(sc->rtype)))
        return 0; /* cannot be named in FalkorDB */
    int rc = 0;
    struct fix_group *g = upsert_group(fx, sc, cached, labels, &rc);
    if (rc)
        return rc;
    /* verify read the vectors in canonical form: now their text */
    if (!sc->sparse && (rc = neo_cursor_reread(sc, fx->rules)))
        return rc;
    size_t rows_at = g->rows.len, keys_at = g->keys.len;
    if ((rc = upsert_row(fx, sc, key, cached, g)))
        return rc;
    if (fx->written) { /* the same row sent this run (another change query read the item) */
        const char *graph = fx->graph ? fx->graph : fx->ld->graph;
        uint64_t id = sync_applied_id(graph ? graph : "", fx->type, key);
        uint64_t h = sync_applied_hash(g->key, strlen(g->key) + 1, 0);
        h = sync_applied_hash(g->rows.data + rows_at, g->rows.len - rows_at, h);
        if (sync_applied_seen(fx->written, id, (int64_t)h, 0)) {
            g->rows.len = rows_at;
            g->keys.len = keys_at;
            return FIX_SAME;
        }
        sync_applied_put(fx->written, id, (int64_t)h, 0, INT64_MIN);
    }
    g->n++;
    if (!t->edge && cached && cached->labels[0])
        rc = remove_stale_labels(fx, key, cached, labels);
    if (!rc && (g->n >= (uint32_t)fx->batch || g->rows.len >= FIX_GROUP_BYTES))
        rc = fix_flush_group(fx, g); /* rows with vectors are ~10 KB each: cap the bytes too */
    return rc;
}

void fixer_close(struct fixer *fx)
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

void fixer_like(struct fixer *fx, const struct fixer *from, const char *graph)
{
    memset(fx, 0, sizeof *fx);
    fx->ld = from->ld;
    fx->types = from->types;
    fx->generic = from->generic;
    fx->rules = from->rules;
    fx->batch = from->batch;
    fx->type = from->type;
    fx->graph = graph;
    buf_init(&fx->del, SYNC_BATCH_CAP);
    buf_init(&fx->q, SYNC_BATCH_CAP);
}

/* Connects the loader the fixer writes through. */
int fixer_open(struct fixer *fx, struct loader *ld, const struct cfg *c,
               const struct sync_rules *rules, struct sync_report *rep, const struct fdb_config *fc,
               char *err, size_t errlen)
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
    buf_init(&fx->del, SYNC_BATCH_CAP);
    buf_init(&fx->q, SYNC_BATCH_CAP);
    if (!ld->ring)
        return FS_ENOMEM;
    int rc = fdb_connect(&ld->fdb, fc);
    if (rc)
        snprintf(err, errlen, "%s", ld->fdb.errstr);
    return rc;
}

/* Creates the range and full-text indexes on graph unless they exist already
 * (generic: for the labels and types Neo4j has now). */
int fixer_ensure_indexes(const struct cfg *c, struct bolt_session *bolt, struct fdb_conn *fdb,
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
    sync_strv_free(range, nrange);
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
