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
}

/* "N:" and the node's labels sorted (those holding a backtick left out, as the mapping
 * does), at most 64; label text is copied into tmp (no allocation per label). */
static int node_head(struct buf *head, struct buf *tmp, struct extract_rec *x)
{
    size_t at[64];
    size_t n = 0;
    const char *l;
    size_t len;
    buf_reset(tmp);
    int rc = buf_append_str(head, "N:");
    while (!rc && (rc = extract_label(x, &l, &len)) == 1) {
        rc = 0;
        if (n == 64 || memchr(l, '`', len))
            continue;
        at[n++] = tmp->len;
        rc = buf_append(tmp, l, len);
        rc = rc ? rc : buf_append_byte(tmp, 0);
    }
    char *names[64];
    for (size_t i = 0; !rc && i < n; i++)
        names[i] = tmp->data + at[i];
    return rc ? rc : fp_sorted_labels(head, names, n);
}

/* "E:<type>\x1f<start key>\x1f<end key>"; generic: the key property, else _neo4j_id. */
static int edge_head(struct neo_cursor *c, struct sync_item *out, struct xc_stats *st)
{
    const struct extract_cols *k = &c->cols;
    if (!c->generic)
        return fp_edge_head(&c->head, c->t->name, strlen(c->t->name), k->src, k->dst);
    if (memchr(c->rtype, '`', strlen(c->rtype))) { /* left out by the mapping */
        st->dropped_label++;
        out->dropped = true;
        out->absent = true;
    }
    return fp_edge_head(&c->head, c->rtype, strlen(c->rtype), k->gc.a.str, k->gc.b.str);
}

/* The fingerprint of the current item: its properties as FalkorDB will return them, read
 * straight from the record (no text), then what the mapping adds (_neo4j_id, native
 * temporals) and the head. */
static int fingerprint_item(struct neo_cursor *c, struct pack_reader *r, struct xc_stats *st)
{
    struct fp_item f;
    fp_item_init(&f);
    int rc = xc_props_fp(r, c->rules, &c->tmp, &c->nt, st, &f);
    for (int i = 0; !rc && i < c->nt.n; i++) { /* as FalkorDB returns them */
        buf_reset(&c->tmp);
        rc = fp_enc_temporal(&c->tmp, c->nt.v[i].code, c->nt.v[i].value);
        if (!rc)
            fp_item_prop(&f, c->nt.v[i].name, strlen(c->nt.v[i].name), c->tmp.data, c->tmp.len);
    }
    c->fp = f;
    return rc;
}

/* The generic key property _neo4j_id, when the mapping adds it, and the head. */
static uint64_t fingerprint_finish(struct neo_cursor *c)
{
    if (c->generic && c->cols.gc.self.by_id) {
        buf_reset(&c->tmp);
        if (!fp_enc_string(&c->tmp, c->cols.gc.self.str, strlen(c->cols.gc.self.str)))
            fp_item_prop(&c->fp, GK_ID_PROP, strlen(GK_ID_PROP), c->tmp.data, c->tmp.len);
    }
    return fp_item_hash(&c->fp, c->head.data ? c->head.data : "", c->head.len);
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
        rc = node_head(&c->head, &c->tmp, &x);
    else if (!rc) {
        size_t n = x.tlen < sizeof c->rtype ? x.tlen : sizeof c->rtype - 1;
        memcpy(c->rtype, x.type, n);
        c->rtype[n] = '\0';
    }
    uint64_t before = xc_stats_total(st);
    c->rec = rec;
    c->props_at = x.r.pos;
    c->has_row = c->sparse;
    if (c->sparse) /* incremental: the text to write, no fingerprint */
        rc = rc ? rc : xc_props(&x.r, c->rules, &c->row, c->emb, &c->nt, st);
    else /* a comparison: the fingerprint; the text only for an item to fix (reread) */
        rc = rc ? rc : fingerprint_item(c, &x.r, st);
    out->dropped = xc_stats_total(st) != before;
    rc = rc ? rc : extract_cols(&x, c->generic, &c->cols);
    if (!rc && c->sparse && c->generic && c->cols.gc.self.by_id)
        rc = gk_add_id_prop(&c->row, c->cols.gc.self.str);
    if (!rc && c->t->edge)
        rc = edge_head(c, out, st);
    if (rc)
        return rc;
    fp_key_copy(out->key, c->cols.key);
    if (!c->sparse)
        out->hash = fingerprint_finish(c);
    return 1;
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
    if (c->has_row)
        return 0;
    struct pack_reader r;
    struct xc_stats st = {0}; /* counted when the item was read */
    pack_reader_init(&r, c->rec.data, c->rec.len);
    r.pos = c->props_at;
    buf_reset(&c->row);
    int rc = xc_props(&r, rules, &c->row, c->emb, &c->nt, &st);
    if (!rc && c->generic && c->cols.gc.self.by_id)
        rc = gk_add_id_prop(&c->row, c->cols.gc.self.str);
    c->has_row = !rc;
    return rc;
}
