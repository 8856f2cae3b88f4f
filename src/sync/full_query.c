/* Full sync, query method: records transcoded into UNWIND batches of FalkorDB parameter text,
 * one open batch per label set (nodes) or endpoint labels (relationships). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "falkor/param.h"
#include "sync/extract.h"
#include "sync/full_run.h"
#include "sync/gkey.h"

#define MAX_EMB SYNC_MAX_EMBEDDINGS
#define MAX_GROUPS_OPEN 16                /* label-set batches built at once */
#define BATCH_BYTES_CAP ((size_t)4 << 20) /* flush when a batch's text passes this */
/* ---- Batch building: one open batch per label set (nodes) or endpoint pair (edges) ---- */

struct group_batch {
    char *key;       /* label set "A\x1fB" or "src\x1fdst" */
    struct buf text; /* "CYPHER rows=[...," being built */
    uint32_t rows;
    char first_key[80];
};

struct builder {
    struct group_batch g[MAX_GROUPS_OPEN];
    int n;
    uint32_t total_rows;
    size_t total_bytes;
    const struct xc_rules *rules;
    const struct sync_profile *prof;
    const char *key_property; /* generic */
};

static void builder_deinit(struct builder *b)
{
    for (int i = 0; i < b->n; i++) {
        free(b->g[i].key);
        buf_deinit(&b->g[i].text);
    }
    b->n = 0;
}

/* Query text after the rows for a node batch with the labels in key. */
static int node_query_tail(struct buf *q, const char *key, const struct xc_rules *rules,
                           struct xc_stats *st)
{
    int rc = buf_append_str(q, "] UNWIND $rows AS r CREATE (n");
    char *base = strndup(key, xc_key_base_len(key));
    if (!base)
        return FS_ENOMEM;
    const char *p = base;
    while (!rc && *p) {
        size_t len = strcspn(p, "\x1f");
        rc = buf_append_byte(q, ':');
        int x = rc ? rc : xc_ident(q, p, len);
        if (x == 1) { /* unrepresentable label: left out, counted */
            q->len--;
            st->dropped_label++;
        } else if (x) {
            rc = x;
        }
        p += len + (p[len] ? 1 : 0);
    }
    free(base);
    rc = rc ? rc : buf_append_str(q, ") SET n = r.p");
    rc = rc ? rc : xc_embedding_sets(q, "n", rules);
    rc = rc ? rc : xc_native_sets(q, "n", key);
    rc = rc ? rc : buf_append_str(q, " RETURN count(n)");
    return rc;
}

static int edge_query_tail(struct buf *q, const char *key, const char *type, bool generic,
                           const struct xc_rules *rules, struct xc_stats *st)
{
    size_t tlen = strlen(type);
    char *base = strndup(key, xc_key_base_len(key));
    if (!base)
        return FS_ENOMEM;
    int rc = buf_append_str(q, "] UNWIND $rows AS r");
    rc = rc ? rc : sync_edge_matches(q, base, generic, &type, &tlen);
    char tname[SYNC_KEY_CAP];
    snprintf(tname, sizeof tname, "%.*s", (int)tlen, type); /* type may point into base */
    free(base);
    type = tname;
    rc = rc ? rc : buf_append_str(q, " CREATE (a)-[e:");
    int x = rc ? rc : xc_ident(q, type, tlen);
    if (x == 1) {
        st->dropped_label++;
        return 1;
    }
    rc = x;
    rc = rc ? rc : buf_append_str(q, "]->(b) SET e = r.p");
    rc = rc ? rc : xc_embedding_sets(q, "e", rules);
    rc = rc ? rc : xc_native_sets(q, "e", key);
    rc = rc ? rc : buf_append_str(q, " RETURN count(e)");
    return rc;
}

static int flush_group(struct builder *b, int i, struct loader *l, int type,
                       struct sync_report *rep, const char *ckpt_after)
{
    struct group_batch *g = &b->g[i];
    if (!g->rows)
        return 0;
    const struct sync_type *t = &b->prof->types[type];
    g->text.len--; /* the trailing comma */
    int rc = t->edge ? edge_query_tail(&g->text, g->key, t->name, b->prof->generic, b->rules,
                                       &rep->dropped)
                     : node_query_tail(&g->text, g->key, b->rules, &rep->dropped);
    if (rc == 1) { /* a relationship type we cannot name: the whole batch is dropped */
        rc = 0;
    } else if (!rc) {
        struct pending p = {.kind = PEND_BATCH, .rows = g->rows, .edge = t->edge, .type = type};
        snprintf(p.first_key, sizeof p.first_key, "%s", g->first_key);
        if (ckpt_after) {
            p.ckpt = true;
            p.ckpt_type = type;
            snprintf(p.ckpt_after, sizeof p.ckpt_after, "%s", ckpt_after);
        }
        rc = loader_send(l, g->text.data, g->text.len, &p);
    }
    b->total_rows -= g->rows;
    b->total_bytes -= g->text.len < b->total_bytes ? g->text.len : b->total_bytes;
    buf_reset(&g->text);
    g->rows = 0;
    return rc;
}

/* Sends every open batch; the last one carries the checkpoint "all of type up
 * to and including key after are written". */
static int flush_all(struct builder *b, struct loader *l, int type, struct sync_report *rep,
                     const char *after)
{
    int last = -1;
    for (int i = 0; i < b->n; i++)
        if (b->g[i].rows)
            last = i;
    for (int i = 0; i < b->n; i++) {
        int rc = flush_group(b, i, l, type, rep, i == last ? after : NULL);
        if (rc)
            return rc;
    }
    b->total_rows = 0;
    b->total_bytes = 0;
    return 0;
}

/* The open batch for key, creating it (flushing an old one when all slots are used). */
static int group_for(struct builder *b, const char *key, size_t klen, struct loader *l, int type,
                     struct sync_report *rep, struct group_batch **out)
{
    for (int i = 0; i < b->n; i++)
        if (strlen(b->g[i].key) == klen && !memcmp(b->g[i].key, key, klen)) {
            *out = &b->g[i];
            return 0;
        }
    if (b->n == MAX_GROUPS_OPEN) { /* reuse the slot of the smallest batch */
        int victim = 0;
        for (int i = 1; i < b->n; i++)
            if (b->g[i].rows < b->g[victim].rows)
                victim = i;
        int rc = flush_group(b, victim, l, type, rep, NULL);
        if (rc)
            return rc;
        free(b->g[victim].key);
        buf_deinit(&b->g[victim].text);
        b->g[victim] = b->g[--b->n];
    }
    struct group_batch *g = &b->g[b->n];
    memset(g, 0, sizeof *g);
    g->key = strndup(key, klen);
    if (!g->key)
        return FS_ENOMEM;
    buf_init(&g->text, SYNC_BATCH_CAP);
    b->n++;
    *out = g;
    return 0;
}

/* One type being loaded. */
struct qload {
    struct run *R;
    int type;
    struct builder b;
    struct buf key, row;
    struct buf emb[MAX_EMB];
    char uuid[SYNC_KEY_CAP];
    struct extract_cols cols;
};

/* The batch key of a record (its labels or endpoint labels, and the type in generic) and its
 * property text; L->cols gets the columns after the entity. */
static int read_record(struct qload *L, const struct bolt_record *rec, struct xc_native *nt)
{
    struct run *R = L->R;
    const struct sync_type *t = &R->prof->types[L->type];
    const bool generic = R->prof->generic;
    struct buf *key = &L->key;
    struct extract_rec x;
    buf_reset(key);
    buf_reset(&L->row);
    int rc = extract_open(&x, rec, t->edge);
    const char *l;
    size_t len;
    while (!rc && !t->edge && (rc = extract_label(&x, &l, &len)) == 1) {
        rc = key->len ? buf_append_byte(key, 0x1f) : 0;
        rc = rc ? rc : buf_append(key, l, len);
    }
    if (!rc && t->edge && generic)
        rc = buf_append(key, x.type, x.tlen);
    rc = rc ? rc : xc_props(&x.r, &R->rules, &L->row, L->emb, nt, &R->rep->dropped);
    rc = rc ? rc : extract_cols(&x, generic, &L->cols);
    if (rc)
        return rc;
    struct extract_cols *c = &L->cols;
    if (generic) {
        if (c->gc.self.by_id)
            rc = gk_add_id_prop(&L->row, c->gc.self.str);
        if (!rc && t->edge) {
            char ty[SYNC_KEY_CAP];
            snprintf(ty, sizeof ty, "%.*s", (int)key->len, key->data);
            rc = sync_generic_edge_key(key, ty, strlen(ty), &c->gc, R->cfg->sync.key_property);
        }
    } else if (t->edge) {
        rc = buf_append_str(key, t->src_label);
        rc = rc ? rc : buf_append_byte(key, 0x1f);
        rc = rc ? rc : buf_append_str(key, c->dst_label);
    }
    snprintf(L->uuid, sizeof L->uuid, "%s", c->key);
    return rc ? rc : xc_native_signature(key, nt);
}

/* Transcodes one record into its batch. */
static int add_record(void *ud, const struct bolt_record *rec)
{
    struct qload *L = ud;
    struct run *R = L->R;
    const struct sync_type *t = &R->prof->types[L->type];
    struct xc_native nt;
    int rc = read_record(L, rec, &nt);
    struct group_batch *g = NULL;
    rc = rc ? rc
            : group_for(&L->b, L->key.data ? L->key.data : "", L->key.len, &R->ld, L->type, R->rep,
                        &g);
    if (rc)
        return rc;
    struct buf *x = &g->text;
    size_t before = x->len;
    if (!g->rows) {
        rc = buf_append_str(x, "CYPHER rows=[");
        snprintf(g->first_key, sizeof g->first_key, "%s", L->uuid);
    }
    rc = rc ? rc : buf_append_str(x, "{p:");
    rc = rc ? rc : buf_append(x, L->row.data, L->row.len);
    for (int i = 0; !rc && i < R->rules.nembeddings; i++) {
        rc = buf_printf(x, ",e%d:", i);
        rc = rc ? rc : buf_append(x, L->emb[i].data, L->emb[i].len);
    }
    const struct extract_cols *c = &L->cols;
    if (!rc && t->edge && R->prof->generic) {
        rc = buf_printf(x, ",s:%s,t:%s", c->gc.a.raw, c->gc.b.raw);
    } else if (!rc && t->edge) {
        rc = buf_append_str(x, ",s:");
        rc = rc ? rc : fdb_param_write_string(x, c->src, strlen(c->src));
        rc = rc ? rc : buf_append_str(x, ",t:");
        rc = rc ? rc : fdb_param_write_string(x, c->dst, strlen(c->dst));
    }
    rc = rc ? rc : xc_native_row(x, &nt);
    rc = rc ? rc : buf_append_str(x, "},");
    if (rc) {
        x->len = before;
        return rc;
    }
    g->rows++;
    L->b.total_rows++;
    L->b.total_bytes += x->len - before;
    return 0;
}

static int flush_if_full(void *ud)
{
    struct qload *L = ud;
    struct run *R = L->R;
    if (L->b.total_rows < (uint32_t)R->cfg->sync.batch_size && L->b.total_bytes < BATCH_BYTES_CAP)
        return 0;
    return flush_all(&L->b, &R->ld, L->type, R->rep, L->uuid);
}

/* Streams one type, from key after on, into the shadow graph. */
static int load_type(struct run *R, int type, const char *after, const char *group)
{
    struct qload L = {.R = R, .type = type, .b = {.rules = &R->rules, .prof = R->prof}};
    buf_init(&L.key, SYNC_QUERY_CAP);
    buf_init(&L.row, SYNC_ITEM_CAP);
    for (int i = 0; i < MAX_EMB; i++)
        buf_init(&L.emb[i], SYNC_ITEM_CAP);
    struct full_sink sink = {.ud = &L, .record = add_record, .flush_if_full = flush_if_full};
    int rc = full_stream(R, type, after, group, R->prof->generic, &sink);
    if (!rc)
        rc = flush_all(&L.b, &R->ld, type, R->rep, NULL);
    if (!rc)
        rc = loader_checkpoint(&R->ld, type + 1, "");
    if (rc) /* a failure or a stop: abandon what is queued (checkpoints stay behind it) */
        loader_async_stop(&R->ld, false);
    builder_deinit(&L.b);
    for (int i = 0; i < MAX_EMB; i++)
        buf_deinit(&L.emb[i]);
    buf_deinit(&L.key);
    buf_deinit(&L.row);
    if (rc && !R->rep->error[0])
        snprintf(R->rep->error, sizeof R->rep->error, "loading %s: %s", R->prof->types[type].name,
                 fs_strerror(rc));
    return rc;
}

int full_query_graph(struct run *R, int start_type, const char *after, const char *group)
{
    int rc = 0;
    for (int t = start_type; !rc && t < R->prof->ntypes; t++)
        rc = load_type(R, t, t == start_type ? after : "", group);
    /* Every batch acknowledged; the connection is this thread's again. */
    return rc ? rc : loader_async_stop(&R->ld, true);
}
