/* Canonical property text and fingerprints, the same from both sides of a comparison. */
#include "sync/fingerprint.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "falkor/param.h"

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++) {
        h ^= c[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static int canon_double(struct buf *b, double d)
{
    return buf_printf(b, "d:%.15g", d);
}

int fp_canon_value(struct buf *b, const struct fs_value *v)
{
    switch (v->kind) {
    case FS_VALUE_NULL:
        return buf_append_str(b, "n");
    case FS_VALUE_BOOL:
        return buf_append_str(b, v->u.b ? "b:1" : "b:0");
    case FS_VALUE_INT:
        return buf_printf(b, "i:%" PRId64, v->u.i);
    case FS_VALUE_FLOAT:
        return canon_double(b, v->u.f);
    case FS_VALUE_STRING: {
        int rc = buf_printf(b, "s%u:", v->u.str.len);
        return rc ? rc : buf_append(b, v->u.str.data, v->u.str.len);
    }
    case FS_VALUE_LIST: {
        int rc = buf_append_str(b, "l[");
        for (uint32_t i = 0; !rc && i < v->u.list.len; i++) {
            rc = fp_canon_value(b, &v->u.list.items[i]);
            rc = rc ? rc : buf_append_byte(b, ',');
        }
        return rc ? rc : buf_append_str(b, "]");
    }
    default:
        return buf_append_str(b, "?");
    }
}

/* Vectors are compared as the bits of their float32 elements: exact, and far
 * cheaper than printing a thousand numbers per item. */
static int canon_f32(struct buf *b, double d)
{
    float f = (float)d;
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    return buf_append(b, &bits, sizeof bits);
}

/* A property: name plus canonical value, collected then sorted by name. */
static int cmp_prop(const void *a, const void *b)
{
    return strcmp(((const struct fp_prop *)a)->name, ((const struct fp_prop *)b)->name);
}

int fp_props_add(struct fp_props *p, const char *name, size_t nlen, const struct buf *text)
{
    if (p->n == p->cap) {
        int cap = p->cap ? p->cap * 2 : 16;
        struct fp_prop *v = realloc(p->v, sizeof *v * (size_t)cap);
        if (!v)
            return FS_ENOMEM;
        p->v = v;
        p->cap = cap;
    }
    struct fp_prop *x = &p->v[p->n];
    x->name = strndup(name, nlen);
    x->text = malloc(text->len + 1);
    if (!x->name || !x->text) {
        free(x->name);
        free(x->text);
        return FS_ENOMEM;
    }
    memcpy(x->text, text->data ? text->data : "", text->len);
    x->len = text->len;
    p->n++;
    return 0;
}

void fp_props_clear(struct fp_props *p)
{
    for (int i = 0; i < p->n; i++) {
        free(p->v[i].name);
        free(p->v[i].text);
    }
    p->n = 0;
}

/* Fingerprint of head (labels/type/endpoints) plus the sorted properties. */
uint64_t fp_hash(const char *head, struct fp_props *p)
{
    if (p->n > 0) /* qsort wants a non-NULL base even for 0 items */
        qsort(p->v, (size_t)p->n, sizeof *p->v, cmp_prop);
    uint64_t h = fnv(14695981039346656037ULL, head, strlen(head) + 1);
    for (int i = 0; i < p->n; i++) {
        h = fnv(h, p->v[i].name, strlen(p->v[i].name) + 1);
        h = fnv(h, p->v[i].text, p->v[i].len);
        h = fnv(h, "\x1e", 1);
    }
    return h;
}

static double reply_double(const redisReply *v)
{
    if (v->type == REDIS_REPLY_STRING)
        return strtod(v->str, NULL);
    if (v->type == REDIS_REPLY_INTEGER)
        return (double)v->integer;
    return NAN;
}

/* A cell the accessors refuse (a reply FalkorDB would not send): "?", so it differs. */
int fp_canon_compact(struct buf *b, const redisReply *cell)
{
    int type = fdb_compact_type(cell);
    if (type < 0)
        return buf_append_str(b, "?");
    const redisReply *v = cell->element[1];
    switch (type) {
    case FDB_CT_NULL:
        return buf_append_str(b, "n");
    case FDB_CT_STRING: {
        const char *str;
        size_t len;
        if (fdb_compact_string(cell, &str, &len))
            return buf_append_str(b, "?");
        int rc = buf_printf(b, "s%zu:", len);
        return rc ? rc : buf_append(b, str, len);
    }
    case FDB_CT_INTEGER:
    case FDB_CT_DATETIME:
    case FDB_CT_DATE:
    case FDB_CT_TIME:
    case FDB_CT_DURATION: {
        int64_t i;
        if (fdb_compact_int(cell, &i))
            return buf_append_str(b, "?");
        return type == FDB_CT_INTEGER ? buf_printf(b, "i:%lld", (long long)i)
                                      : buf_printf(b, "t%d:%lld", type, (long long)i);
    }
    case FDB_CT_BOOLEAN: {
        bool x;
        if (fdb_compact_bool(cell, &x))
            return buf_append_str(b, "?");
        return buf_append_str(b, x ? "b:1" : "b:0");
    }
    case FDB_CT_DOUBLE: {
        double d;
        if (fdb_compact_double(cell, &d))
            return buf_append_str(b, "?");
        return canon_double(b, d);
    }
    case FDB_CT_ARRAY: {
        if (v->type != REDIS_REPLY_ARRAY)
            return buf_append_str(b, "?");
        int rc = buf_append_str(b, "l[");
        for (size_t i = 0; !rc && i < v->elements; i++) {
            rc = fp_canon_compact(b, v->element[i]);
            rc = rc ? rc : buf_append_byte(b, ',');
        }
        return rc ? rc : buf_append_str(b, "]");
    }
    case FDB_CT_VECTORF32: {
        if (v->type != REDIS_REPLY_ARRAY)
            return buf_append_str(b, "?");
        int rc = buf_printf(b, "v%u[", (unsigned)v->elements);
        for (size_t i = 0; !rc && i < v->elements; i++)
            rc = canon_f32(b, reply_double(v->element[i]));
        return rc ? rc : buf_append_str(b, "]");
    }
    default:
        return buf_printf(b, "?%d", type);
    }
}

void fp_props_free(struct fp_props *p)
{
    fp_props_clear(p);
    free(p->v);
    p->v = NULL;
    p->cap = 0;
}

int fp_props_from_param(struct fp_props *p, const struct buf *row, struct buf *tmp)
{
    struct fs_value m = {0};
    int rc = fdb_param_decode(row->data, row->len, &m);
    if (rc)
        return rc;
    for (uint32_t i = 0; !rc && i < m.u.map.len; i++) {
        buf_reset(tmp);
        rc = fp_canon_value(tmp, &m.u.map.items[i].value);
        rc = rc ? rc
                : fp_props_add(p, m.u.map.items[i].key.u.str.data, m.u.map.items[i].key.u.str.len,
                               tmp);
    }
    fs_value_deinit(&m);
    return rc;
}

int fp_sorted_labels(struct buf *head, char **names, size_t n)
{
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *x = names[j];
            names[j] = names[j - 1];
            names[j - 1] = x;
        }
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++)
        rc = buf_printf(head, "%s\x1f", names[i]);
    return rc;
}
