/* Neo4j items for the merge with the cache, or for incremental's upserts. */
#include "sync/cursor_neo4j.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void neo_cursor_init(struct neo_cursor *c, struct bolt_session *bolt, const struct xc_rules *rules,
                     bool generic, const char *key_property, bool sparse)
{
    memset(c, 0, sizeof *c);
    c->bolt = bolt;
    c->rules = rules;
    c->generic = generic;
    c->kp = key_property;
    c->sparse = sparse;
    buf_init(&c->row, SYNC_ITEM_CAP);
    buf_init(&c->tmp, SYNC_ITEM_CAP);
    buf_init(&c->head, SYNC_ITEM_CAP);
    for (int i = 0; i < SYNC_MAX_EMBEDDINGS; i++)
        buf_init(&c->emb[i], SYNC_ITEM_CAP);
}

void neo_cursor_deinit(struct neo_cursor *c)
{
    buf_deinit(&c->row);
    buf_deinit(&c->tmp);
    buf_deinit(&c->head);
    for (int i = 0; i < SYNC_MAX_EMBEDDINGS; i++)
        buf_deinit(&c->emb[i]);
    fp_props_free(&c->props);
}

/* "N:" and the node's labels sorted (those holding a backtick left out, as the mapping
 * does), at most 64. */
static int node_head(struct buf *head, struct extract_rec *x)
{
    char *names[64];
    size_t n = 0;
    const char *l;
    size_t len;
    int rc = buf_append_str(head, "N:");
    while (!rc && (rc = extract_label(x, &l, &len)) == 1) {
        rc = 0;
        if (n == 64 || memchr(l, '`', len))
            continue;
        if (!(names[n] = strndup(l, len)))
            rc = FS_ENOMEM;
        else
            n++;
    }
    rc = rc ? rc : fp_sorted_labels(head, names, n);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    return rc;
}

/* "E:<type>\x1f<start key>\x1f<end key>"; generic: the key property, else _neo4j_id. */
static int edge_head(struct neo_cursor *c, struct sync_item *out, struct xc_stats *st)
{
    const struct extract_cols *k = &c->cols;
    if (!c->generic)
        return buf_printf(&c->head, "E:%s\x1f%s\x1f%s", c->t->name, k->src, k->dst);
    if (memchr(c->rtype, '`', strlen(c->rtype))) { /* left out by the mapping */
        st->dropped_label++;
        out->dropped = true;
        out->absent = true;
    }
    return buf_printf(&c->head, "E:%s\x1f%s\x1f%s", c->rtype, k->gc.a.str, k->gc.b.str);
}

/* The fingerprint of the current item: its properties as FalkorDB will return them. */
static int fingerprint_item(struct neo_cursor *c, struct sync_item *out)
{
    fp_props_clear(&c->props);
    int rc = fp_props_from_param(&c->props, &c->row, &c->tmp);
    for (int i = 0; !rc && i < c->nt.n; i++) { /* as FalkorDB returns them */
        buf_reset(&c->tmp);
        rc = buf_printf(&c->tmp, "t%d:%" PRId64, c->nt.v[i].code, c->nt.v[i].value);
        rc = rc ? rc : fp_props_add(&c->props, c->nt.v[i].name, strlen(c->nt.v[i].name), &c->tmp);
    }
    /* emb[i] holds the canonical vector already (empty: none) */
    for (int i = 0; !rc && i < c->rules->nembeddings; i++)
        if (c->emb[i].len)
            rc = fp_props_add(&c->props, c->rules->embeddings[i], strlen(c->rules->embeddings[i]),
                              &c->emb[i]);
    if (!rc)
        out->hash = fp_hash(c->head.data ? c->head.data : "", &c->props);
    return rc;
}

/* One record into the current item: 1, 0 at the end, or an error. */
static int next_item(struct neo_cursor *c, struct sync_item *out, struct xc_stats *st)
{
    struct bolt_record rec;
    int more = bolt_next(c->bolt, &rec);
    if (more <= 0) {
        c->done = true;
        return more;
    }
    buf_reset(&c->head);
    buf_reset(&c->row);
    out->absent = false;
    struct extract_rec x;
    int rc = extract_open(&x, &rec, c->t->edge);
    if (!rc && !c->t->edge)
        rc = node_head(&c->head, &x);
    else if (!rc)
        snprintf(c->rtype, sizeof c->rtype, "%.*s", (int)x.tlen, x.type);
    uint64_t before = xc_stats_total(st);
    struct xc_rules canon = *c->rules;
    canon.emb_canonical = !c->sparse;
    c->rec = rec;
    c->props_at = x.r.pos;
    rc = rc ? rc : xc_props(&x.r, &canon, &c->row, c->emb, &c->nt, st);
    out->dropped = xc_stats_total(st) != before;
    rc = rc ? rc : extract_cols(&x, c->generic, &c->cols);
    if (!rc && c->generic && c->cols.gc.self.by_id)
        rc = gk_add_id_prop(&c->row, c->cols.gc.self.str);
    if (!rc && c->t->edge)
        rc = edge_head(c, out, st);
    if (rc)
        return rc;
    snprintf(out->key, sizeof out->key, "%s", c->cols.key);
    if (c->sparse) /* incremental: the fingerprint is not needed */
        return 1;
    return (rc = fingerprint_item(c, out)) ? rc : 1;
}

int neo_cursor_next(struct neo_cursor *c, struct sync_item *out, struct xc_stats *st)
{
    int rc;
    while ((rc = next_item(c, out, st)) == FS_EVANISHED)
        c->vanished++; /* deleted while read: nothing to copy (the delete check's or reconcile's) */
    return rc;
}

int neo_cursor_reread(struct neo_cursor *c, const struct xc_rules *rules)
{
    struct pack_reader r;
    struct xc_stats st = {0};
    struct xc_native nt;
    pack_reader_init(&r, c->rec.data, c->rec.len);
    r.pos = c->props_at;
    buf_reset(&c->tmp);
    return xc_props(&r, rules, &c->tmp, c->emb, &nt, &st);
}
