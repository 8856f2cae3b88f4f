/* Generic-profile keys: the key property's string or integer, else the element id. */
#include "sync/gkey.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "falkor/param.h"
#include "sync/transcode.h"

static int copy_raw(struct gkey *k, const struct buf *b)
{
    if (b->len >= sizeof k->raw)
        return FS_EMALFORMED;
    memcpy(k->raw, b->data, b->len);
    k->raw[b->len] = '\0';
    return 0;
}

int gk_read(struct pack_reader *r, struct gkey *k)
{
    struct pack_item v, id;
    size_t at = r->pos;
    int rc = pack_read_item(r, &v);
    if (rc)
        return rc;
    k->by_id = false;
    k->is_int = false;
    struct buf b;
    buf_init(&b, sizeof k->raw); /* a key that does not fit is refused below anyway */
    if (v.kind == FS_VALUE_STRING) {
        if (v.size >= GK_CAP || memchr(v.data, 0, v.size))
            rc = FS_EMALFORMED; /* too long to be a key, or not representable */
        if (!rc) {
            memcpy(k->str, v.data, v.size);
            k->str[v.size] = '\0';
            rc = fdb_param_write_string(&b, (const char *)v.data, v.size);
            rc = rc ? rc : copy_raw(k, &b);
        }
    } else if (v.kind == FS_VALUE_INT) {
        snprintf(k->str, sizeof k->str, "%" PRId64, v.i);
        snprintf(k->raw, sizeof k->raw, "%" PRId64, v.i);
        k->is_int = true;
    } else {
        k->by_id = true;
        r->pos = at;
        rc = pack_skip(r, PACK_DEFAULT_MAX_DEPTH);
    }
    rc = rc ? rc : pack_read_item(r, &id);
    if (!rc && k->by_id) {
        if (id.kind != FS_VALUE_STRING || id.size >= GK_CAP)
            rc = FS_EMALFORMED;
        if (!rc) {
            memcpy(k->str, id.data, id.size);
            k->str[id.size] = '\0';
            rc = fdb_param_write_string(&b, (const char *)id.data, id.size);
            rc = rc ? rc : copy_raw(k, &b);
        }
    }
    buf_deinit(&b);
    return rc;
}

int gk_read_label(struct pack_reader *r, char *out, size_t cap)
{
    struct pack_item it;
    int rc = pack_read_item(r, &it);
    if (rc)
        return rc;
    out[0] = '\0';
    if (it.kind == FS_VALUE_NULL)
        return 0;
    if (it.kind != FS_VALUE_STRING || it.size >= cap)
        return FS_EMALFORMED;
    memcpy(out, it.data, it.size);
    out[it.size] = '\0';
    return 0;
}

const char *gk_prop(const struct gkey *k, const char *key_property)
{
    return k->by_id || !*key_property ? GK_ID_PROP : key_property;
}

int gk_neo4j_key_expr(struct buf *q, const char *v, const char *kp)
{
    if (!*kp)
        return buf_printf(q, "elementId(%s)", v);
    return buf_printf(q,
                      "CASE WHEN %s.`%s` IS :: STRING NOT NULL OR %s.`%s` IS :: INTEGER NOT NULL "
                      "THEN toString(%s.`%s`) ELSE elementId(%s) END",
                      v, kp, v, kp, v, kp, v);
}

int gk_neo4j_value_expr(struct buf *q, const char *v, const char *kp)
{
    if (!*kp)
        return buf_printf(q, "null AS %s_key", v); /* distinct column names */
    return buf_printf(q, "%s.`%s`", v, kp);
}

int gk_add_id_prop(struct buf *row, const char *id)
{
    if (!row->len || row->data[row->len - 1] != '}')
        return FS_EMALFORMED;
    row->len--;
    int rc = row->len > 1 ? fdb_param_write_sep(row) : 0;
    rc = rc ? rc : fdb_param_map_key(row, GK_ID_PROP, strlen(GK_ID_PROP));
    rc = rc ? rc : fdb_param_write_string(row, id, strlen(id));
    return rc ? rc : fdb_param_map_end(row);
}

int sync_keycmp(const char *a, const char *b)
{
    return strcmp(a, b);
}

/* One endpoint match "(v:`L` {`prop`: r.x})"; no label when L is empty. */
int sync_endpoint_match(struct buf *q, const char *v, const char *label, size_t llen,
                        const char *prop, size_t plen, const char *field)
{
    int rc = buf_printf(q, "(%s", v);
    if (llen) {
        rc = rc ? rc : buf_append_byte(q, ':');
        rc = rc ? rc : xc_ident(q, label, llen);
    }
    rc = rc ? rc : buf_append_str(q, " {");
    rc = rc ? rc : xc_ident(q, prop, plen);
    return rc ? rc : buf_printf(q, ": r.%s})", field);
}

/* Field i of a \x1f-separated key. */
const char *sync_key_field(const char *key, int i, size_t *len)
{
    while (i-- > 0) {
        key += strcspn(key, "\x1f");
        if (*key)
            key++;
    }
    *len = strcspn(key, "\x1f");
    return key;
}

/* Edge batch key: graphiti "srcLabel\x1fdstLabel"; generic
 * "type\x1fsrcLabel\x1fsrcProp\x1fdstLabel\x1fdstProp". */
int sync_edge_matches(struct buf *q, const char *key, bool generic, const char **type, size_t *tlen)
{
    size_t l1, l2, p1, p2;
    const char *a, *b, *pa, *pb;
    if (generic) {
        *type = sync_key_field(key, 0, tlen);
        a = sync_key_field(key, 1, &l1);
        pa = sync_key_field(key, 2, &p1);
        b = sync_key_field(key, 3, &l2);
        pb = sync_key_field(key, 4, &p2);
    } else {
        a = sync_key_field(key, 0, &l1);
        b = sync_key_field(key, 1, &l2);
        pa = pb = "uuid";
        p1 = p2 = 4;
    }
    int rc = buf_append_str(q, " MATCH ");
    rc = rc ? rc : sync_endpoint_match(q, "a", a, l1, pa, p1, "s");
    rc = rc ? rc : buf_append_str(q, " MATCH ");
    return rc ? rc : sync_endpoint_match(q, "b", b, l2, pb, p2, "t");
}

/* Generic record: reads the columns after the item's properties. */
int sync_generic_tail(struct pack_reader *r, bool edge, struct sync_generic_cols *g)
{
    int rc = 0;
    if (edge) {
        rc = gk_read(r, &g->a);
        rc = rc ? rc : gk_read_label(r, g->alabel, sizeof g->alabel);
        rc = rc ? rc : gk_read(r, &g->b);
        rc = rc ? rc : gk_read_label(r, g->blabel, sizeof g->blabel);
    }
    return rc ? rc : gk_read(r, &g->self);
}

/* Generic edge batch key (see sync_edge_matches). */
int sync_generic_edge_key(struct buf *key, const char *type, size_t tlen,
                          const struct sync_generic_cols *g, const char *kp)
{
    buf_reset(key);
    int rc = buf_append(key, type, tlen);
    rc = rc ? rc
            : buf_printf(key, "\x1f%s\x1f%s\x1f%s\x1f%s", g->alabel, gk_prop(&g->a, kp), g->blabel,
                         gk_prop(&g->b, kp));
    return rc;
}
