/* Keys of the generic profile: sync.key_property when it holds a string or an
 * integer, else the Neo4j element id, kept in the cache as _neo4j_id. */
#ifndef FALKORSYNC_GKEY_H
#define FALKORSYNC_GKEY_H

#include <stdbool.h>
#include <stddef.h>

#include "bolt/pack.h"
#include "util/buf.h"
#include "util/err.h"

#define GK_CAP 512             /* longest key, NUL included */
#define GK_ID_PROP "_neo4j_id" /* where an element id key is kept */

struct gkey {
    char str[GK_CAP];     /* the key as text: what items are ordered and compared by */
    char raw[GK_CAP * 2]; /* the value as FalkorDB parameter text ('abc', 42) */
    bool by_id;           /* keyed by the element id (property _neo4j_id) */
    bool is_int;          /* the key property holds an integer */
};

/* Reads two record columns, the key property's value (any, null when unset
 * or without a key property) and the element id (string), into k. */
int gk_read(struct pack_reader *r, struct gkey *k) FS_WARN_UNUSED;

/* Reads a string-or-null column into out ("" for null). */
int gk_read_label(struct pack_reader *r, char *out, size_t cap) FS_WARN_UNUSED;

/* The property a key is matched on in FalkorDB: key_property or _neo4j_id. */
const char *gk_prop(const struct gkey *k, const char *key_property);

/* Neo4j expression of v's key text (the order items are streamed in). */
int gk_neo4j_key_expr(struct buf *q, const char *v, const char *key_property) FS_WARN_UNUSED;
/* Neo4j expression of v's key property value, or "null" without one. */
int gk_neo4j_value_expr(struct buf *q, const char *v, const char *key_property) FS_WARN_UNUSED;

/* Appends ",`_neo4j_id`:'<id>'" inside the property map text "{...}" of row. */
int gk_add_id_prop(struct buf *row, const char *id) FS_WARN_UNUSED;

/* The columns a generic record has after the item: for relationships each
 * endpoint's key value, element id and one of its labels; then the item's
 * own key value and element id. */
struct sync_generic_cols {
    struct gkey a, b, self;
    char alabel[256], blabel[256];
};
int sync_generic_tail(struct pack_reader *r, bool edge, struct sync_generic_cols *g) FS_WARN_UNUSED;

/* Field i of a \x1f-separated batch key (*len its length). */
const char *sync_key_field(const char *key, int i, size_t *len);
/* Edge batch key: graphiti "srcLabel\x1fdstLabel"; generic
 * "type\x1fsrcLabel\x1fsrcProp\x1fdstLabel\x1fdstProp". */
int sync_generic_edge_key(struct buf *key, const char *type, size_t tlen,
                          const struct sync_generic_cols *g,
                          const char *key_property) FS_WARN_UNUSED;
/* Appends " MATCH (a...) MATCH (b...)" for an edge batch key, the endpoints
 * matched on r.s and r.t; sets *type (generic: from the key). */
int sync_edge_matches(struct buf *q, const char *key, bool generic, const char **type,
                      size_t *tlen) FS_WARN_UNUSED;
/* One endpoint match "(v:`L` {`prop`: r.field})"; no label when llen is 0. */
int sync_endpoint_match(struct buf *q, const char *v, const char *label, size_t llen,
                        const char *prop, size_t plen, const char *field) FS_WARN_UNUSED;

/* The order items are merged in: byte order of the UTF-8 keys, which is
 * code point order, the order Neo4j's ORDER BY gives stored strings (checked
 * on 5.26: stored values sort by code point, while strings that arrive as
 * parameters compare as UTF-16 there). verify checks that Neo4j's stream
 * really comes in this order and stops with an error when it does not. */
int sync_keycmp(const char *a, const char *b);

#endif
