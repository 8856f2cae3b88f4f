/* PackStream v1 codec: marker reader, bounded decoder into a value tree, smallest-form encoder. */
#include "bolt/pack.h"

#include <stdlib.h>
#include <string.h>

enum {
    M_TINY_STRING = 0x80,
    M_TINY_LIST = 0x90,
    M_TINY_MAP = 0xA0,
    M_TINY_STRUCT = 0xB0,
    M_NULL = 0xC0,
    M_FLOAT = 0xC1,
    M_FALSE = 0xC2,
    M_TRUE = 0xC3,
    M_INT8 = 0xC8,
    M_INT16 = 0xC9,
    M_INT32 = 0xCA,
    M_INT64 = 0xCB,
    M_BYTES8 = 0xCC, /* +1: 16-bit size, +2: 32-bit size */
    M_STRING8 = 0xD0,
    M_LIST8 = 0xD4,
    M_MAP8 = 0xD8,
};

/* PackStream caps every size at the largest signed 32-bit value. */
#define PACK_MAX_SIZE ((uint32_t)INT32_MAX)
#define PACK_MAX_STRUCT_FIELDS 15

/* Charged per heap block on top of its size, so that a million empty strings
 * count for what malloc really spends on them. */
#define ALLOC_OVERHEAD 16

struct pack_limits pack_default_limits(void)
{
    struct pack_limits lim = {PACK_DEFAULT_MAX_ALLOC, PACK_DEFAULT_MAX_DEPTH};
    return lim;
}

/* ---- Reader ------------------------------------------------------------- */

static uint64_t get_be(const uint8_t *p, size_t n)
{
    /* Fixed widths compile to a load and a byte swap; this is the hot path. */
    switch (n) {
    case 1:
        return p[0];
    case 2: {
        uint16_t v;
        memcpy(&v, p, 2);
        return __builtin_bswap16(v);
    }
    case 4: {
        uint32_t v;
        memcpy(&v, p, 4);
        return __builtin_bswap32(v);
    }
    case 8: {
        uint64_t v;
        memcpy(&v, p, 8);
        return __builtin_bswap64(v);
    }
    }
    uint64_t v = 0;
    for (size_t k = 0; k < n; k++)
        v = (v << 8) | p[k];
    return v;
}

/* Sign-extends the low 8*n bits of v (two's complement on the wire). */
static int64_t to_signed(uint64_t v, size_t n)
{
    if (n < 8 && (v >> (8 * n - 1)) & 1)
        v |= ~(uint64_t)0 << (8 * n);
    int64_t s;
    memcpy(&s, &v, sizeof s);
    return s;
}

void pack_reader_init(struct pack_reader *r, const void *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->pos = 0;
}

/* Bytes that follow a marker to hold a size: 1, 2 or 4 for the three markers of a family. */
static size_t size_width(uint8_t marker, uint8_t family8)
{
    return (size_t)1 << (marker - family8);
}

int pack_read_item(struct pack_reader *r, struct pack_item *it)
{
    memset(it, 0, sizeof *it);
    if (r->pos >= r->len)
        return FS_ETRUNCATED;
    const uint8_t *p = r->p + r->pos;
    size_t avail = r->len - r->pos;
    uint8_t m = p[0];
    if (m == M_FLOAT && avail >= 9) { /* float64: embeddings are thousands of these */
        uint64_t bits = get_be(p + 1, 8);
        it->kind = FS_VALUE_FLOAT;
        memcpy(&it->f, &bits, sizeof it->f);
        r->pos += 9;
        return 0;
    }
    uint8_t hi = m >> 4;
    size_t head = 1;       /* marker + fixed payload or size field */
    size_t width = 0;      /* bytes of the size field, 0 for tiny forms */
    bool has_data = false; /* STRING/BYTES: size bytes follow the head */

    if (m <= 0x7F || m >= 0xF0) {
        it->kind = FS_VALUE_INT;
        it->i = m <= 0x7F ? (int64_t)m : (int64_t)m - 256;
    } else if (hi == 0x8 || hi == 0x9 || hi == 0xA) {
        static const enum fs_value_kind tiny[] = {FS_VALUE_STRING, FS_VALUE_LIST, FS_VALUE_MAP};
        it->kind = tiny[hi - 0x8];
        it->size = m & 0x0F;
        has_data = hi == 0x8;
    } else if (hi == 0xB) {
        it->kind = FS_VALUE_STRUCT;
        it->size = m & 0x0F;
        head = 2; /* the tag byte, read below once known to be there */
    } else {
        switch (m) {
        case M_NULL:
            it->kind = FS_VALUE_NULL;
            break;
        case M_FALSE:
        case M_TRUE:
            it->kind = FS_VALUE_BOOL;
            it->b = m == M_TRUE;
            break;
        case M_FLOAT:
            it->kind = FS_VALUE_FLOAT;
            head = 9;
            break;
        case M_INT8:
        case M_INT16:
        case M_INT32:
        case M_INT64:
            it->kind = FS_VALUE_INT;
            head = 1 + size_width(m, M_INT8);
            break;
        case M_BYTES8:
        case M_BYTES8 + 1:
        case M_BYTES8 + 2:
            it->kind = FS_VALUE_BYTES;
            width = size_width(m, M_BYTES8);
            has_data = true;
            break;
        case M_STRING8:
        case M_STRING8 + 1:
        case M_STRING8 + 2:
            it->kind = FS_VALUE_STRING;
            width = size_width(m, M_STRING8);
            has_data = true;
            break;
        case M_LIST8:
        case M_LIST8 + 1:
        case M_LIST8 + 2:
            it->kind = FS_VALUE_LIST;
            width = size_width(m, M_LIST8);
            break;
        case M_MAP8:
        case M_MAP8 + 1:
        case M_MAP8 + 2:
            it->kind = FS_VALUE_MAP;
            width = size_width(m, M_MAP8);
            break;
        default:
            return FS_EMALFORMED; /* reserved marker */
        }
        head += width;
    }
    if (avail < head)
        return FS_ETRUNCATED;
    if (it->kind == FS_VALUE_FLOAT) {
        uint64_t bits = get_be(p + 1, 8);
        memcpy(&it->f, &bits, sizeof it->f);
    } else if (it->kind == FS_VALUE_INT && head > 1) {
        it->i = to_signed(get_be(p + 1, head - 1), head - 1);
    }
    if (it->kind == FS_VALUE_STRUCT)
        it->tag = p[1];
    if (width)
        it->size = (uint32_t)get_be(p + 1, width);
    if (has_data) {
        if (it->size > avail - head)
            return FS_ETRUNCATED;
        it->data = p + head;
        head += it->size;
    }
    r->pos += head;
    return 0;
}

/* Values directly inside a container item (a map entry is two); 0 for scalars. */
static uint64_t child_count(const struct pack_item *it)
{
    switch (it->kind) {
    case FS_VALUE_LIST:
    case FS_VALUE_STRUCT:
        return it->size;
    case FS_VALUE_MAP:
        return 2 * (uint64_t)it->size;
    default:
        return 0;
    }
}

static bool is_container(enum fs_value_kind k)
{
    return k == FS_VALUE_LIST || k == FS_VALUE_MAP || k == FS_VALUE_STRUCT;
}

/* Checks shared by pack_skip and pack_decode, in the same order, so both
 * reject the same inputs with the same code. Every child takes at least one
 * byte, so a count larger than the bytes left is a truncation, found before
 * anything is allocated for it. */
static int check_container(const struct pack_reader *r, const struct pack_item *it, int depth_left)
{
    if (depth_left <= 0)
        return FS_ETOO_DEEP;
    if (child_count(it) > r->len - r->pos)
        return FS_ETRUNCATED;
    return 0;
}

/* Reads a map key: a scalar STRING item, anything else is malformed. */
static int read_key(struct pack_reader *r, struct pack_item *it)
{
    int rc = pack_read_item(r, it);
    if (rc)
        return rc;
    return it->kind == FS_VALUE_STRING ? 0 : FS_EMALFORMED;
}

static int skip_value(struct pack_reader *r, int depth_left)
{
    struct pack_item it;
    int rc = pack_read_item(r, &it);
    if (rc || !is_container(it.kind))
        return rc;
    rc = check_container(r, &it, depth_left);
    if (rc)
        return rc;
    for (uint32_t k = 0; k < it.size; k++) {
        if (it.kind == FS_VALUE_MAP) {
            struct pack_item key;
            rc = read_key(r, &key);
            if (rc)
                return rc;
        }
        rc = skip_value(r, depth_left - 1);
        if (rc)
            return rc;
    }
    return 0;
}

int pack_skip(struct pack_reader *r, int max_depth)
{
    size_t start = r->pos;
    int rc = skip_value(r, max_depth);
    if (rc)
        r->pos = start;
    return rc;
}

/* ---- Decoder ------------------------------------------------------------ */

struct decoder {
    struct pack_reader *r;
    size_t used; /* bytes charged so far */
    size_t max_alloc;
};

/* Charges one heap block of n * size bytes against max_alloc. */
static int charge(struct decoder *d, size_t n, size_t size)
{
    size_t room = d->max_alloc - d->used;
    if (room < ALLOC_OVERHEAD)
        return FS_ETOO_BIG;
    room -= ALLOC_OVERHEAD;
    if (size && n > room / size)
        return FS_ETOO_BIG;
    d->used += n * size + ALLOC_OVERHEAD;
    return 0;
}

/* STRING and BYTES get a NUL-terminated copy, so data is never NULL. */
static int copy_data(struct decoder *d, const struct pack_item *it, struct fs_value *out)
{
    int rc = charge(d, (size_t)it->size + 1, 1);
    if (rc)
        return rc;
    char *s = malloc((size_t)it->size + 1);
    if (!s)
        return FS_ENOMEM;
    if (it->size)
        memcpy(s, it->data, it->size);
    s[it->size] = '\0';
    out->kind = it->kind;
    out->u.str.data = s;
    out->u.str.len = it->size;
    return 0;
}

static int decode_value(struct decoder *d, int depth_left, struct fs_value *out);

/* Fills *out from an item already read. Containers are attached to *out
 * (zeroed slots, full length) before their children are decoded, so a
 * failure half-way leaves a tree that fs_value_deinit frees completely. */
static int build(struct decoder *d, const struct pack_item *it, int depth_left,
                 struct fs_value *out)
{
    int rc;
    switch (it->kind) {
    case FS_VALUE_NULL:
        return 0;
    case FS_VALUE_BOOL:
        out->kind = FS_VALUE_BOOL;
        out->u.b = it->b;
        return 0;
    case FS_VALUE_INT:
        out->kind = FS_VALUE_INT;
        out->u.i = it->i;
        return 0;
    case FS_VALUE_FLOAT:
        out->kind = FS_VALUE_FLOAT;
        out->u.f = it->f;
        return 0;
    case FS_VALUE_STRING:
    case FS_VALUE_BYTES:
        return copy_data(d, it, out);
    case FS_VALUE_LIST:
    case FS_VALUE_STRUCT:
    case FS_VALUE_MAP:
        break;
    }

    rc = check_container(d->r, it, depth_left);
    if (rc)
        return rc;
    size_t elem = it->kind == FS_VALUE_MAP ? sizeof(struct fs_value_pair) : sizeof(struct fs_value);
    void *items = NULL;
    if (it->size) {
        rc = charge(d, it->size, elem);
        if (rc)
            return rc;
        items = calloc(it->size, elem);
        if (!items)
            return FS_ENOMEM;
    }
    out->kind = it->kind;
    out->tag = it->tag;
    if (it->kind == FS_VALUE_MAP) {
        struct fs_value_pair *pairs = items;
        out->u.map.items = pairs;
        out->u.map.len = it->size;
        for (uint32_t k = 0; k < it->size; k++) {
            struct pack_item key;
            rc = read_key(d->r, &key);
            if (!rc)
                rc = copy_data(d, &key, &pairs[k].key);
            if (!rc)
                rc = decode_value(d, depth_left - 1, &pairs[k].value);
            if (rc)
                return rc;
        }
    } else {
        struct fs_value *vals = items;
        out->u.list.items = vals;
        out->u.list.len = it->size;
        for (uint32_t k = 0; k < it->size; k++) {
            rc = decode_value(d, depth_left - 1, &vals[k]);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int decode_value(struct decoder *d, int depth_left, struct fs_value *out)
{
    struct pack_item it;
    int rc = pack_read_item(d->r, &it);
    if (rc)
        return rc;
    return build(d, &it, depth_left, out);
}

int pack_decode(struct pack_reader *r, const struct pack_limits *lim, struct fs_value *out)
{
    struct pack_limits def = pack_default_limits();
    if (!lim)
        lim = &def;
    memset(out, 0, sizeof *out);
    struct decoder d = {r, 0, lim->max_alloc};
    size_t start = r->pos;
    int rc = decode_value(&d, lim->max_depth, out);
    if (rc) {
        fs_value_deinit(out);
        r->pos = start;
    }
    return rc;
}

/* ---- Encoder ------------------------------------------------------------ */

static void put_be(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t k = n; k-- > 0;) {
        p[k] = (uint8_t)v;
        v >>= 8;
    }
}

/* Writes a sized header (tiny form when tiny_base is non-zero and n < 16)
 * after reserving room for it and the extra bytes that will follow, so that
 * the caller's appends of those bytes cannot fail half-way. */
static int put_sized(struct buf *b, uint8_t tiny_base, uint8_t family8, size_t n, size_t extra)
{
    if (n > PACK_MAX_SIZE)
        return FS_ETOO_BIG;
    uint8_t h[5];
    size_t hl;
    if (tiny_base && n < 16) {
        h[0] = (uint8_t)(tiny_base | n);
        hl = 1;
    } else {
        size_t w = n <= 0xFF ? 1 : n <= 0xFFFF ? 2 : 4;
        h[0] = (uint8_t)(family8 + (w == 1 ? 0 : w == 2 ? 1 : 2));
        put_be(h + 1, n, w);
        hl = 1 + w;
    }
    if (extra > SIZE_MAX - hl)
        return FS_ETOO_BIG;
    int rc = buf_reserve(b, hl + extra);
    if (rc)
        return rc;
    return buf_append(b, h, hl);
}

int pack_write_null(struct buf *b)
{
    return buf_append_byte(b, M_NULL);
}

int pack_write_bool(struct buf *b, bool v)
{
    return buf_append_byte(b, v ? M_TRUE : M_FALSE);
}

int pack_write_int(struct buf *b, int64_t v)
{
    uint8_t h[9];
    size_t w;
    if (v >= -16 && v <= 127)
        return buf_append_byte(b, (uint8_t)(v & 0xFF));
    if (v >= INT8_MIN && v <= INT8_MAX) {
        h[0] = M_INT8;
        w = 1;
    } else if (v >= INT16_MIN && v <= INT16_MAX) {
        h[0] = M_INT16;
        w = 2;
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
        h[0] = M_INT32;
        w = 4;
    } else {
        h[0] = M_INT64;
        w = 8;
    }
    put_be(h + 1, (uint64_t)v, w);
    return buf_append(b, h, 1 + w);
}

int pack_write_float(struct buf *b, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    uint8_t h[9];
    h[0] = M_FLOAT;
    put_be(h + 1, bits, 8);
    return buf_append(b, h, sizeof h);
}

int pack_write_string(struct buf *b, const char *s, size_t len)
{
    if (!s && len)
        return FS_EINVAL;
    int rc = put_sized(b, M_TINY_STRING, M_STRING8, len, len);
    return rc ? rc : buf_append(b, s, len);
}

int pack_write_cstr(struct buf *b, const char *s)
{
    if (!s)
        return FS_EINVAL;
    return pack_write_string(b, s, strlen(s));
}

int pack_write_bytes(struct buf *b, const void *p, size_t len)
{
    if (!p && len)
        return FS_EINVAL;
    int rc = put_sized(b, 0, M_BYTES8, len, len);
    return rc ? rc : buf_append(b, p, len);
}

int pack_write_list_header(struct buf *b, uint32_t n)
{
    return put_sized(b, M_TINY_LIST, M_LIST8, n, 0);
}

int pack_write_map_header(struct buf *b, uint32_t n)
{
    return put_sized(b, M_TINY_MAP, M_MAP8, n, 0);
}

int pack_write_struct_header(struct buf *b, uint8_t tag, uint32_t n)
{
    if (n > PACK_MAX_STRUCT_FIELDS)
        return FS_EINVAL;
    uint8_t h[2] = {(uint8_t)(M_TINY_STRUCT | n), tag};
    return buf_append(b, h, sizeof h);
}

static int encode_value(struct buf *b, const struct fs_value *v)
{
    int rc;
    switch (v->kind) {
    case FS_VALUE_NULL:
        return pack_write_null(b);
    case FS_VALUE_BOOL:
        return pack_write_bool(b, v->u.b);
    case FS_VALUE_INT:
        return pack_write_int(b, v->u.i);
    case FS_VALUE_FLOAT:
        return pack_write_float(b, v->u.f);
    case FS_VALUE_STRING:
        return pack_write_string(b, v->u.str.data, v->u.str.len);
    case FS_VALUE_BYTES:
        return pack_write_bytes(b, v->u.str.data, v->u.str.len);
    case FS_VALUE_LIST:
    case FS_VALUE_STRUCT:
        rc = v->kind == FS_VALUE_LIST ? pack_write_list_header(b, v->u.list.len)
                                      : pack_write_struct_header(b, v->tag, v->u.list.len);
        for (uint32_t k = 0; !rc && k < v->u.list.len; k++)
            rc = encode_value(b, &v->u.list.items[k]);
        return rc;
    case FS_VALUE_MAP:
        rc = pack_write_map_header(b, v->u.map.len);
        for (uint32_t k = 0; !rc && k < v->u.map.len; k++) {
            const struct fs_value_pair *e = &v->u.map.items[k];
            if (e->key.kind != FS_VALUE_STRING)
                return FS_EINVAL;
            rc = encode_value(b, &e->key);
            if (!rc)
                rc = encode_value(b, &e->value);
        }
        return rc;
    }
    return FS_EINVAL;
}

int pack_encode(struct buf *b, const struct fs_value *v)
{
    size_t start = b->len;
    int rc = encode_value(b, v);
    if (rc && b->data) {
        /* leave no half-written value behind */
        b->len = start;
        b->data[start] = '\0';
    }
    return rc;
}

/* ---- Bolt structure checks ---------------------------------------------- */

/* Field kinds, one letter each: i INT, f FLOAT, s STRING, l LIST, m MAP. */
struct struct_shape {
    uint8_t tag;
    const char *fields;     /* Bolt 5 */
    const char *fields_old; /* Bolt 4.4, or NULL when the same */
};

static const struct struct_shape shapes[] = {
    {PACK_TAG_NODE, "ilms", "ilm"},
    {PACK_TAG_RELATIONSHIP, "iiismsss", "iiism"},
    {PACK_TAG_UNBOUND_RELATIONSHIP, "isms", "ism"},
    {PACK_TAG_PATH, "lll", NULL},
    {PACK_TAG_DATE, "i", NULL},
    {PACK_TAG_TIME, "ii", NULL},
    {PACK_TAG_LOCAL_TIME, "i", NULL},
    {PACK_TAG_DATE_TIME, "iii", NULL},
    {PACK_TAG_DATE_TIME_ZONE_ID, "iis", NULL},
    {PACK_TAG_LEGACY_DATE_TIME, "iii", NULL},
    {PACK_TAG_LEGACY_DATE_TIME_ZONE_ID, "iis", NULL},
    {PACK_TAG_LOCAL_DATE_TIME, "ii", NULL},
    {PACK_TAG_DURATION, "iiii", NULL},
    {PACK_TAG_POINT_2D, "iff", NULL},
    {PACK_TAG_POINT_3D, "ifff", NULL},
};

static enum fs_value_kind kind_of_letter(char c)
{
    switch (c) {
    case 'i':
        return FS_VALUE_INT;
    case 'f':
        return FS_VALUE_FLOAT;
    case 's':
        return FS_VALUE_STRING;
    case 'l':
        return FS_VALUE_LIST;
    default:
        return FS_VALUE_MAP;
    }
}

static bool fields_match(const struct fs_value *v, const char *fields)
{
    if (!fields || strlen(fields) != v->u.list.len)
        return false;
    for (uint32_t k = 0; k < v->u.list.len; k++)
        if (v->u.list.items[k].kind != kind_of_letter(fields[k]))
            return false;
    return true;
}

static bool all_items_of_kind(const struct fs_value *list, enum fs_value_kind kind)
{
    for (uint32_t k = 0; k < list->u.list.len; k++)
        if (list->u.list.items[k].kind != kind)
            return false;
    return true;
}

static bool all_structs_valid(const struct fs_value *list, uint8_t tag)
{
    for (uint32_t k = 0; k < list->u.list.len; k++) {
        const struct fs_value *e = &list->u.list.items[k];
        if (e->kind != FS_VALUE_STRUCT || e->tag != tag || pack_struct_check(e) != 0)
            return false;
    }
    return true;
}

/* A path's indices alternate: relationship (1-based, sign = direction, never
 * 0) and node (0-based). Checked here so readers can index without care. */
static bool path_indices_valid(const struct fs_value *nodes, const struct fs_value *rels,
                               const struct fs_value *idx)
{
    if (idx->u.list.len % 2 != 0 || nodes->u.list.len == 0)
        return false;
    int64_t nrels = rels->u.list.len;
    int64_t nnodes = nodes->u.list.len;
    for (uint32_t k = 0; k < idx->u.list.len; k += 2) {
        int64_t r = idx->u.list.items[k].u.i;
        int64_t n = idx->u.list.items[k + 1].u.i;
        if (r == 0 || r > nrels || r < -nrels || n < 0 || n >= nnodes)
            return false;
    }
    return true;
}

int pack_struct_check(const struct fs_value *v)
{
    if (!v || v->kind != FS_VALUE_STRUCT)
        return FS_EINVAL;
    const struct struct_shape *shape = NULL;
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++)
        if (shapes[k].tag == v->tag)
            shape = &shapes[k];
    if (!shape)
        return 0;
    if (!fields_match(v, shape->fields) && !fields_match(v, shape->fields_old))
        return FS_EMALFORMED;

    const struct fs_value *f = v->u.list.items;
    switch (v->tag) {
    case PACK_TAG_NODE:
        if (!all_items_of_kind(&f[1], FS_VALUE_STRING))
            return FS_EMALFORMED;
        break;
    case PACK_TAG_PATH:
        if (!all_structs_valid(&f[0], PACK_TAG_NODE) ||
            !all_structs_valid(&f[1], PACK_TAG_UNBOUND_RELATIONSHIP) ||
            !all_items_of_kind(&f[2], FS_VALUE_INT) || !path_indices_valid(&f[0], &f[1], &f[2]))
            return FS_EMALFORMED;
        break;
    default:
        break;
    }
    return 0;
}
