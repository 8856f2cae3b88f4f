/* FalkorDB --compact result cells into neutral value trees; scalar accessors for hot scans. */
#include "falkor/compact.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- Scalars ------------------------------------------------------------ */

static bool is_pair(const redisReply *cell)
{
    return cell && cell->type == REDIS_REPLY_ARRAY && cell->elements == 2 && cell->element[0] &&
           cell->element[1] && cell->element[0]->type == REDIS_REPLY_INTEGER;
}

int fdb_compact_type(const redisReply *cell)
{
    if (!is_pair(cell))
        return FS_EMALFORMED;
    long long t = cell->element[0]->integer;
    return t >= 0 && t <= 1000 ? (int)t : FS_EMALFORMED;
}

bool fdb_compact_is_null(const redisReply *cell)
{
    return fdb_compact_type(cell) == FDB_CT_NULL;
}

/* Integers arrive as integer replies; a bulk string of decimal digits is
 * accepted too (older servers sent some that way). */
static int reply_int(const redisReply *v, int64_t *out)
{
    if (v->type == REDIS_REPLY_INTEGER) {
        *out = v->integer;
        return 0;
    }
    if (v->type != REDIS_REPLY_STRING || v->len == 0 || v->len > 24)
        return FS_EMALFORMED;
    char tmp[32];
    memcpy(tmp, v->str, v->len);
    tmp[v->len] = '\0';
    char *end;
    errno = 0;
    long long x = strtoll(tmp, &end, 10);
    if (errno || *end)
        return FS_EMALFORMED;
    *out = x;
    return 0;
}

/* Doubles arrive as C text ("1.5", "-0", "inf", "nan"); all of it must parse. */
static int reply_double(const redisReply *v, double *out)
{
    if (v->type == REDIS_REPLY_INTEGER) {
        *out = (double)v->integer;
        return 0;
    }
    if (v->type != REDIS_REPLY_STRING || v->len == 0 || v->len > 64)
        return FS_EMALFORMED;
    char tmp[80];
    memcpy(tmp, v->str, v->len);
    tmp[v->len] = '\0';
    char *end;
    double d = strtod(tmp, &end); /* ERANGE: a denormal or an overflow is still the value */
    if (*end || end == tmp)
        return FS_EMALFORMED;
    *out = d;
    return 0;
}

static int reply_bool(const redisReply *v, bool *out)
{
    if (v->type == REDIS_REPLY_INTEGER) {
        *out = v->integer != 0;
        return 0;
    }
    if (v->type == REDIS_REPLY_STRING && v->len == 4 && !memcmp(v->str, "true", 4)) {
        *out = true;
        return 0;
    }
    if (v->type == REDIS_REPLY_STRING && v->len == 5 && !memcmp(v->str, "false", 5)) {
        *out = false;
        return 0;
    }
    return FS_EMALFORMED;
}

int fdb_compact_string(const redisReply *cell, const char **s, size_t *len)
{
    int t = fdb_compact_type(cell);
    if (t < 0)
        return t;
    if (t != FDB_CT_STRING)
        return FS_EINVAL;
    const redisReply *v = cell->element[1];
    if (v->type != REDIS_REPLY_STRING)
        return FS_EMALFORMED;
    *s = v->str;
    *len = v->len;
    return 0;
}

int fdb_compact_int(const redisReply *cell, int64_t *v)
{
    int t = fdb_compact_type(cell);
    if (t < 0)
        return t;
    if (t != FDB_CT_INTEGER && (t < FDB_CT_DATETIME || t > FDB_CT_DURATION))
        return FS_EINVAL;
    return reply_int(cell->element[1], v);
}

int fdb_compact_double(const redisReply *cell, double *v)
{
    int t = fdb_compact_type(cell);
    if (t < 0)
        return t;
    if (t == FDB_CT_INTEGER) {
        int64_t i;
        int rc = reply_int(cell->element[1], &i);
        if (!rc)
            *v = (double)i;
        return rc;
    }
    if (t != FDB_CT_DOUBLE)
        return FS_EINVAL;
    return reply_double(cell->element[1], v);
}

int fdb_compact_bool(const redisReply *cell, bool *v)
{
    int t = fdb_compact_type(cell);
    if (t < 0)
        return t;
    if (t != FDB_CT_BOOLEAN)
        return FS_EINVAL;
    return reply_bool(cell->element[1], v);
}

const redisReply *fdb_compact_rows(const redisReply *r)
{
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3 || !r->element[1] ||
        r->element[1]->type != REDIS_REPLY_ARRAY)
        return NULL;
    return r->element[1];
}

/* ---- Trees -------------------------------------------------------------- */

/* Containers are allocated at their full size before their items are
 * decoded, and len counts the decoded items, so fs_value_deinit frees a
 * half-built tree completely. */
static int new_list(struct fs_value *out, enum fs_value_kind kind, size_t n)
{
    if (n > UINT32_MAX - 1)
        return FS_ETOO_BIG;
    out->kind = kind;
    out->u.list.len = 0;
    out->u.list.items = calloc(n ? n : 1, sizeof *out->u.list.items);
    return out->u.list.items ? 0 : FS_ENOMEM;
}

static int set_string(struct fs_value *out, const char *s, size_t len)
{
    if (len > UINT32_MAX - 1)
        return FS_ETOO_BIG;
    char *d = malloc(len + 1);
    if (!d)
        return FS_ENOMEM;
    if (len)
        memcpy(d, s, len);
    d[len] = '\0';
    out->kind = FS_VALUE_STRING;
    out->u.str.data = d;
    out->u.str.len = (uint32_t)len;
    return 0;
}

static void set_int(struct fs_value *out, int64_t i)
{
    out->kind = FS_VALUE_INT;
    out->u.i = i;
}

static void set_float(struct fs_value *out, double f)
{
    out->kind = FS_VALUE_FLOAT;
    out->u.f = f;
}

static bool is_array(const redisReply *v, size_t n)
{
    return v && v->type == REDIS_REPLY_ARRAY && (n == (size_t)-1 || v->elements == n);
}

static int decode_cell(const redisReply *cell, int depth, struct fs_value *out);

/* A value given as a type and a reply (a cell, or a property's [key, type, value]). */
static int decode_typed(long long type, const redisReply *v, int depth, struct fs_value *out);

/* [[key id, type, value], ...] -> LIST of [INT key id, value]. */
static int decode_props(const redisReply *v, int depth, struct fs_value *out)
{
    if (!is_array(v, (size_t)-1))
        return FS_EMALFORMED;
    int rc = new_list(out, FS_VALUE_LIST, v->elements);
    for (size_t i = 0; !rc && i < v->elements; i++) {
        const redisReply *p = v->element[i];
        if (!is_array(p, 3) || p->element[0]->type != REDIS_REPLY_INTEGER ||
            p->element[1]->type != REDIS_REPLY_INTEGER)
            return FS_EMALFORMED;
        struct fs_value *pair = &out->u.list.items[out->u.list.len++];
        rc = new_list(pair, FS_VALUE_LIST, 2);
        if (rc)
            return rc;
        set_int(&pair->u.list.items[pair->u.list.len++], p->element[0]->integer);
        rc = decode_typed(p->element[1]->integer, p->element[2], depth - 1,
                          &pair->u.list.items[pair->u.list.len++]);
    }
    return rc;
}

/* Appends INT fields taken from integer replies v->element[from..to). */
static int int_fields(const redisReply *v, size_t from, size_t to, struct fs_value *st)
{
    for (size_t i = from; i < to; i++) {
        if (v->element[i]->type != REDIS_REPLY_INTEGER)
            return FS_EMALFORMED;
        set_int(&st->u.list.items[st->u.list.len++], v->element[i]->integer);
    }
    return 0;
}

static int decode_node(const redisReply *v, int depth, struct fs_value *out)
{
    if (!is_array(v, 3) || !is_array(v->element[1], (size_t)-1))
        return FS_EMALFORMED;
    int rc = new_list(out, FS_VALUE_STRUCT, 3);
    out->tag = FDB_CT_NODE;
    rc = rc ? rc : int_fields(v, 0, 1, out);
    if (rc)
        return rc;
    const redisReply *labels = v->element[1];
    struct fs_value *lv = &out->u.list.items[out->u.list.len++];
    rc = new_list(lv, FS_VALUE_LIST, labels->elements);
    rc = rc ? rc : int_fields(labels, 0, labels->elements, lv);
    return rc ? rc : decode_props(v->element[2], depth, &out->u.list.items[out->u.list.len++]);
}

static int decode_edge(const redisReply *v, int depth, struct fs_value *out)
{
    if (!is_array(v, 5))
        return FS_EMALFORMED;
    int rc = new_list(out, FS_VALUE_STRUCT, 5);
    out->tag = FDB_CT_EDGE;
    rc = rc ? rc : int_fields(v, 0, 4, out);
    return rc ? rc : decode_props(v->element[4], depth, &out->u.list.items[out->u.list.len++]);
}

/* One of a path's two lists: [ARRAY, [cells of `want` type]]. */
static int decode_path_part(const redisReply *cell, int want, int depth, struct fs_value *out)
{
    if (fdb_compact_type(cell) != FDB_CT_ARRAY || !is_array(cell->element[1], (size_t)-1))
        return FS_EMALFORMED;
    const redisReply *items = cell->element[1];
    int rc = new_list(out, FS_VALUE_LIST, items->elements);
    for (size_t i = 0; !rc && i < items->elements; i++) {
        if (fdb_compact_type(items->element[i]) != want)
            return FS_EMALFORMED;
        rc = decode_cell(items->element[i], depth - 1, &out->u.list.items[out->u.list.len++]);
    }
    return rc;
}

static int decode_map(const redisReply *v, int depth, struct fs_value *out)
{
    if (!is_array(v, (size_t)-1) || v->elements % 2)
        return FS_EMALFORMED;
    size_t n = v->elements / 2;
    if (n > UINT32_MAX - 1)
        return FS_ETOO_BIG;
    out->kind = FS_VALUE_MAP;
    out->u.map.len = 0;
    out->u.map.items = calloc(n ? n : 1, sizeof *out->u.map.items);
    if (!out->u.map.items)
        return FS_ENOMEM;
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        const redisReply *k = v->element[2 * i];
        if (k->type != REDIS_REPLY_STRING)
            return FS_EMALFORMED;
        struct fs_value_pair *e = &out->u.map.items[out->u.map.len++];
        rc = set_string(&e->key, k->str, k->len);
        rc = rc ? rc : decode_cell(v->element[2 * i + 1], depth - 1, &e->value);
    }
    return rc;
}

static int decode_doubles(const redisReply *v, size_t n, bool as_f32, uint8_t tag,
                          struct fs_value *out)
{
    if (!is_array(v, n))
        return FS_EMALFORMED;
    int rc = new_list(out, FS_VALUE_STRUCT, v->elements);
    out->tag = tag;
    for (size_t i = 0; !rc && i < v->elements; i++) {
        double d;
        rc = reply_double(v->element[i], &d);
        if (!rc)
            set_float(&out->u.list.items[out->u.list.len++], as_f32 ? (double)(float)d : d);
    }
    return rc;
}

static int decode_typed(long long type, const redisReply *v, int depth, struct fs_value *out)
{
    if (depth <= 0)
        return FS_ETOO_DEEP;
    if (!v)
        return FS_EMALFORMED;
    int rc = 0;
    switch (type) {
    case FDB_CT_NULL:
        return v->type == REDIS_REPLY_NIL ? 0 : FS_EMALFORMED;
    case FDB_CT_STRING:
        return v->type == REDIS_REPLY_STRING ? set_string(out, v->str, v->len) : FS_EMALFORMED;
    case FDB_CT_INTEGER: {
        int64_t i;
        rc = reply_int(v, &i);
        if (!rc)
            set_int(out, i);
        return rc;
    }
    case FDB_CT_BOOLEAN: {
        bool b;
        rc = reply_bool(v, &b);
        if (!rc) {
            out->kind = FS_VALUE_BOOL;
            out->u.b = b;
        }
        return rc;
    }
    case FDB_CT_DOUBLE: {
        double d;
        rc = reply_double(v, &d);
        if (!rc)
            set_float(out, d);
        return rc;
    }
    case FDB_CT_ARRAY:
        if (!is_array(v, (size_t)-1))
            return FS_EMALFORMED;
        rc = new_list(out, FS_VALUE_LIST, v->elements);
        for (size_t i = 0; !rc && i < v->elements; i++)
            rc = decode_cell(v->element[i], depth - 1, &out->u.list.items[out->u.list.len++]);
        return rc;
    case FDB_CT_EDGE:
        return decode_edge(v, depth, out);
    case FDB_CT_NODE:
        return decode_node(v, depth, out);
    case FDB_CT_PATH:
        if (!is_array(v, 2))
            return FS_EMALFORMED;
        rc = new_list(out, FS_VALUE_STRUCT, 2);
        out->tag = FDB_CT_PATH;
        rc = rc ? rc
                : decode_path_part(v->element[0], FDB_CT_NODE, depth,
                                   &out->u.list.items[out->u.list.len++]);
        return rc ? rc
                  : decode_path_part(v->element[1], FDB_CT_EDGE, depth,
                                     &out->u.list.items[out->u.list.len++]);
    case FDB_CT_MAP:
        return decode_map(v, depth, out);
    case FDB_CT_POINT:
        return decode_doubles(v, 2, false, FDB_CT_POINT, out);
    case FDB_CT_VECTORF32:
        return decode_doubles(v, is_array(v, (size_t)-1) ? v->elements : 0, true, FDB_CT_VECTORF32,
                              out);
    case FDB_CT_DATETIME:
    case FDB_CT_DATE:
    case FDB_CT_TIME:
    case FDB_CT_DURATION: {
        int64_t i;
        rc = reply_int(v, &i);
        if (rc)
            return rc;
        rc = new_list(out, FS_VALUE_STRUCT, 1);
        out->tag = (uint8_t)type;
        if (!rc)
            set_int(&out->u.list.items[out->u.list.len++], i);
        return rc;
    }
    default:
        return FS_EUNSUPPORTED;
    }
}

static int decode_cell(const redisReply *cell, int depth, struct fs_value *out)
{
    if (!is_pair(cell))
        return FS_EMALFORMED;
    return decode_typed(cell->element[0]->integer, cell->element[1], depth, out);
}

int fdb_compact_decode(const redisReply *cell, struct fs_value *out)
{
    memset(out, 0, sizeof *out);
    int rc = decode_cell(cell, FDB_COMPACT_MAX_DEPTH, out);
    if (rc)
        fs_value_deinit(out);
    return rc;
}
