/* FalkorDB parameter text: an exact, fast encoder (shortest round-trip doubles) and a strict
 * decoder. */
#include "falkor/param.h"

#include "falkor/ftoa.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- Buffer helpers ----------------------------------------------------- */

/* Room for n more bytes; returns where they go (commit them with grow_commit). */
static int grow(struct buf *b, size_t n, char **at)
{
    int rc = buf_reserve(b, n);
    if (rc)
        return rc;
    *at = b->data + b->len;
    return 0;
}

static void grow_commit(struct buf *b, size_t n)
{
    b->len += n;
    b->data[b->len] = '\0';
}

/* Puts b back to the length it had before a failed write. */
static void rollback(struct buf *b, size_t len)
{
    b->len = len;
    if (b->data)
        b->data[len] = '\0';
}

/* ---- Scalars ------------------------------------------------------------ */

static int append_lit(struct buf *b, const char *s, size_t n)
{
    return buf_append(b, s, n);
}

int fdb_param_write_null(struct buf *b)
{
    return append_lit(b, "null", 4);
}

int fdb_param_write_bool(struct buf *b, bool v)
{
    return v ? append_lit(b, "true", 4) : append_lit(b, "false", 5);
}

int fdb_param_write_int(struct buf *b, int64_t v)
{
    char tmp[24];
    char *end = tmp + sizeof tmp;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v; /* INT64_MIN too */
    int n = fdb_ftoa_u64_backwards(u, end);
    if (v < 0)
        tmp[sizeof tmp - (size_t)++n] = '-';
    return buf_append(b, end - n, (size_t)n);
}

int fdb_param_write_double(struct buf *b, double v)
{
    char *at;
    if (grow(b, FDB_FTOA_MAX, &at) == 0) { /* format in place: the hot path */
        int n = fdb_ftoa_double(v, at);
        if (n < 0) {
            *at = '\0';
            return n;
        }
        grow_commit(b, (size_t)n);
        return 0;
    }
    char tmp[FDB_FTOA_MAX + 1]; /* close to the cap: only the exact length */
    int n = fdb_ftoa_double(v, tmp);
    if (n < 0)
        return n;
    return buf_append(b, tmp, (size_t)n);
}

int fdb_param_write_float32(struct buf *b, float v)
{
    char *at;
    if (grow(b, FDB_FTOA_MAX, &at) == 0) {
        int n = fdb_ftoa_float32(v, at);
        if (n < 0) {
            *at = '\0';
            return n;
        }
        grow_commit(b, (size_t)n);
        return 0;
    }
    char tmp[FDB_FTOA_MAX + 1];
    int n = fdb_ftoa_float32(v, tmp);
    if (n < 0)
        return n;
    return buf_append(b, tmp, (size_t)n);
}

/* ---- Strings ------------------------------------------------------------
 * Only NUL, both quotes and the backslash need a look; everything else is
 * copied in runs. The scan tests eight bytes per step (SWAR zero-byte test on
 * the word XORed with each special byte). */

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

static uint64_t zero_bytes(uint64_t w)
{
    return (w - ONES) & ~w & HIGHS;
}

/* Index of the first NUL, ', " or \ in s[0..len), or len. */
static size_t scan_plain(const unsigned char *s, size_t len)
{
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (zero_bytes(w) | zero_bytes(w ^ (ONES * '\'')) | zero_bytes(w ^ (ONES * '"')) |
            zero_bytes(w ^ (ONES * '\\')))
            break;
    }
    for (; i < len; i++) {
        unsigned char c = s[i];
        if (c == 0 || c == '\'' || c == '"' || c == '\\')
            return i;
    }
    return len;
}

int fdb_param_write_string(struct buf *b, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t first = scan_plain(u, len);
    char *at;
    int rc;
    if (first == len) { /* the common case: nothing to escape */
        if (len > SIZE_MAX - 2)
            return FS_ETOO_BIG;
        if ((rc = grow(b, len + 2, &at)))
            return rc;
        at[0] = '\'';
        if (len)
            memcpy(at + 1, s, len);
        at[len + 1] = '\'';
        grow_commit(b, len + 2);
        return 0;
    }

    size_t singles = 0, doubles = 0, backslashes = 0;
    for (size_t i = first; i < len; i++, i += scan_plain(u + i, len - i)) {
        switch (u[i]) {
        case 0:
            return FS_EUNSUPPORTED;
        case '\'':
            singles++;
            break;
        case '"':
            doubles++;
            break;
        case '\\':
            backslashes++;
            break;
        default:
            break;
        }
    }
    /* The quote that needs fewer escapes; ' on a tie. */
    const char quote = singles > doubles ? '"' : '\'';
    const size_t escapes = backslashes + (quote == '"' ? doubles : singles);
    if (len > SIZE_MAX - 2 - escapes)
        return FS_ETOO_BIG;
    const size_t total = len + 2 + escapes;
    if ((rc = grow(b, total, &at)))
        return rc;
    char *p = at;
    *p++ = quote;
    memcpy(p, s, first);
    p += first;
    size_t i = first;
    while (i < len) {
        char c = (char)u[i++];
        if (c == quote || c == '\\')
            *p++ = '\\';
        *p++ = c;
        size_t run = scan_plain(u + i, len - i);
        memcpy(p, u + i, run);
        p += run;
        i += run;
    }
    *p++ = quote;
    grow_commit(b, total);
    return 0;
}

/* ---- Containers and keys ------------------------------------------------ */

int fdb_param_list_begin(struct buf *b)
{
    return buf_append_byte(b, '[');
}

int fdb_param_list_end(struct buf *b)
{
    return buf_append_byte(b, ']');
}

int fdb_param_map_begin(struct buf *b)
{
    return buf_append_byte(b, '{');
}

int fdb_param_map_end(struct buf *b)
{
    return buf_append_byte(b, '}');
}

int fdb_param_write_sep(struct buf *b)
{
    return buf_append_byte(b, ',');
}

static bool is_ident_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_ident_char(unsigned char c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9');
}

/* [A-Za-z_][A-Za-z0-9_]*: what the server takes as a bare key or name. */
static bool is_identifier(const char *s, size_t len)
{
    if (len == 0 || !is_ident_start((unsigned char)s[0]))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!is_ident_char((unsigned char)s[i]))
            return false;
    return true;
}

int fdb_param_map_key(struct buf *b, const char *key, size_t len)
{
    char *at;
    int rc;
    if (is_identifier(key, len)) {
        if ((rc = grow(b, len + 1, &at)))
            return rc;
        memcpy(at, key, len);
        at[len] = ':';
        grow_commit(b, len + 1);
        return 0;
    }
    if (len && (memchr(key, '`', len) || memchr(key, '\0', len)))
        return FS_EUNSUPPORTED; /* no escape exists inside backticks */
    if (len > SIZE_MAX - 3)
        return FS_ETOO_BIG;
    if ((rc = grow(b, len + 3, &at)))
        return rc;
    at[0] = '`';
    if (len)
        memcpy(at + 1, key, len);
    at[len + 1] = '`';
    at[len + 2] = ':';
    grow_commit(b, len + 3);
    return 0;
}

/* ---- Prefix ------------------------------------------------------------- */

int fdb_param_prefix_begin(struct buf *b)
{
    return append_lit(b, "CYPHER", 6);
}

int fdb_param_name(struct buf *b, const char *name)
{
    size_t len = strlen(name);
    if (!is_identifier(name, len))
        return FS_EINVAL;
    char *at;
    int rc = grow(b, len + 2, &at);
    if (rc)
        return rc;
    at[0] = ' ';
    memcpy(at + 1, name, len);
    at[len + 1] = '=';
    grow_commit(b, len + 2);
    return 0;
}

int fdb_param_prefix_end(struct buf *b)
{
    return buf_append_byte(b, ' ');
}

/* ---- Value trees -------------------------------------------------------- */

static int key_cmp(const void *a, const void *b)
{
    const struct fs_value *x = *(const struct fs_value *const *)a;
    const struct fs_value *y = *(const struct fs_value *const *)b;
    if (x->u.str.len != y->u.str.len)
        return x->u.str.len < y->u.str.len ? -1 : 1;
    return x->u.str.len ? memcmp(x->u.str.data, y->u.str.data, x->u.str.len) : 0;
}

static bool same_key(const struct fs_value *x, const struct fs_value *y)
{
    return key_cmp(&x, &y) == 0;
}

/* FS_EINVAL if a key is not a STRING or appears twice. Small maps (rows of a
 * batch) compare pairwise; big ones sort pointers to their keys. */
static int check_keys(const struct fs_value *v)
{
    const uint32_t n = v->u.map.len;
    const struct fs_value_pair *it = v->u.map.items;
    for (uint32_t i = 0; i < n; i++)
        if (it[i].key.kind != FS_VALUE_STRING)
            return FS_EINVAL;
    if (n <= 16) {
        for (uint32_t i = 1; i < n; i++)
            for (uint32_t j = 0; j < i; j++)
                if (same_key(&it[i].key, &it[j].key))
                    return FS_EINVAL;
        return 0;
    }
    const struct fs_value **keys = malloc(n * sizeof *keys);
    if (!keys)
        return FS_ENOMEM;
    for (uint32_t i = 0; i < n; i++)
        keys[i] = &it[i].key;
    qsort(keys, n, sizeof *keys, key_cmp);
    int rc = 0;
    for (uint32_t i = 1; i < n && !rc; i++)
        if (same_key(keys[i - 1], keys[i]))
            rc = FS_EINVAL;
    free(keys);
    return rc;
}

/* depth = containers around v. Leaves partial output on error (the public
 * entry point rolls back). */
static int encode_value(struct buf *b, const struct fs_value *v, int depth)
{
    int rc;
    switch (v->kind) {
    case FS_VALUE_NULL:
        return fdb_param_write_null(b);
    case FS_VALUE_BOOL:
        return fdb_param_write_bool(b, v->u.b);
    case FS_VALUE_INT:
        return fdb_param_write_int(b, v->u.i);
    case FS_VALUE_FLOAT:
        return fdb_param_write_double(b, v->u.f);
    case FS_VALUE_STRING:
        return fdb_param_write_string(b, v->u.str.data, v->u.str.len);
    case FS_VALUE_LIST:
        if (depth >= FDB_PARAM_MAX_DEPTH)
            return FS_ETOO_DEEP;
        if ((rc = fdb_param_list_begin(b)))
            return rc;
        for (uint32_t i = 0; i < v->u.list.len; i++) {
            if (i && (rc = fdb_param_write_sep(b)))
                return rc;
            if ((rc = encode_value(b, &v->u.list.items[i], depth + 1)))
                return rc;
        }
        return fdb_param_list_end(b);
    case FS_VALUE_MAP:
        if (depth >= FDB_PARAM_MAX_DEPTH)
            return FS_ETOO_DEEP;
        if ((rc = check_keys(v)))
            return rc;
        if ((rc = fdb_param_map_begin(b)))
            return rc;
        for (uint32_t i = 0; i < v->u.map.len; i++) {
            const struct fs_value_pair *e = &v->u.map.items[i];
            if (i && (rc = fdb_param_write_sep(b)))
                return rc;
            if ((rc = fdb_param_map_key(b, e->key.u.str.data, e->key.u.str.len)))
                return rc;
            if ((rc = encode_value(b, &e->value, depth + 1)))
                return rc;
        }
        return fdb_param_map_end(b);
    case FS_VALUE_BYTES:  /* FalkorDB has no byte strings */
    case FS_VALUE_STRUCT: /* temporals, points, graph entities: the mapping layer converts them */
        return FS_EUNSUPPORTED;
    }
    return FS_EINVAL;
}

int fdb_param_encode(struct buf *b, const struct fs_value *v)
{
    const size_t start = b->len;
    int rc = encode_value(b, v, 0);
    if (rc)
        rollback(b, start);
    return rc;
}

int fdb_param_prefix(struct buf *b, const struct fdb_param *params, size_t n)
{
    const size_t start = b->len;
    int rc = fdb_param_prefix_begin(b);
    for (size_t i = 0; i < n && !rc; i++) {
        for (size_t j = 0; j < i && !rc; j++)
            if (strcmp(params[i].name, params[j].name) == 0)
                rc = FS_EINVAL; /* the server would keep the first silently */
        if (!rc)
            rc = fdb_param_name(b, params[i].name);
        if (!rc)
            rc = encode_value(b, params[i].value, 0);
    }
    if (!rc)
        rc = fdb_param_prefix_end(b);
    if (rc)
        rollback(b, start);
    return rc;
}

/* ---- Decoder ------------------------------------------------------------
 * A recursive reader for the subset above; fdb_param_decode then re-encodes
 * the result and insists on the same bytes, which makes it exactly as strict
 * as the encoder is canonical. */

struct reader {
    const char *p;
    size_t len;
    size_t pos;
};

static int read_value(struct reader *r, int depth, struct fs_value *out);

static int expect_word(struct reader *r, const char *w, size_t n)
{
    size_t left = r->len - r->pos;
    if (memcmp(r->p + r->pos, w, n < left ? n : left) != 0)
        return FS_EMALFORMED;
    if (left < n)
        return FS_ETRUNCATED;
    r->pos += n;
    return 0;
}

/* A quoted string: only \\ and \<its own quote> are escapes. */
static int read_string(struct reader *r, struct fs_value *out)
{
    const char quote = r->p[r->pos++];
    size_t n = 0;
    size_t i = r->pos;
    for (;; i++) {
        if (i >= r->len)
            return FS_ETRUNCATED;
        char c = r->p[i];
        if (c == quote)
            break;
        if (c == '\0')
            return FS_EMALFORMED;
        if (c == '\\') {
            if (++i >= r->len)
                return FS_ETRUNCATED;
            if (r->p[i] != quote && r->p[i] != '\\')
                return FS_EMALFORMED;
        }
        n++;
    }
    if (n >= UINT32_MAX)
        return FS_ETOO_BIG;
    char *s = malloc(n + 1);
    if (!s)
        return FS_ENOMEM;
    size_t k = 0;
    for (size_t j = r->pos; j < i; j++) {
        if (r->p[j] == '\\')
            j++;
        s[k++] = r->p[j];
    }
    s[k] = '\0';
    out->kind = FS_VALUE_STRING;
    out->u.str.data = s;
    out->u.str.len = (uint32_t)n;
    r->pos = i + 1;
    return 0;
}

static bool is_number_char(char c)
{
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e';
}

static int read_number(struct reader *r, struct fs_value *out)
{
    size_t start = r->pos;
    while (r->pos < r->len && is_number_char(r->p[r->pos]))
        r->pos++;
    size_t n = r->pos - start;
    const char *t = r->p + start;
    if (n == 0 || n > FDB_FTOA_MAX)
        return FS_EMALFORMED;
    if (memchr(t, '.', n) || memchr(t, 'e', n)) {
        char tmp[FDB_FTOA_MAX + 1];
        memcpy(tmp, t, n);
        tmp[n] = '\0';
        char *end;
        double d = strtod(tmp, &end);
        if (end != tmp + n)
            return FS_EMALFORMED;
        out->kind = FS_VALUE_FLOAT;
        out->u.f = d;
        return 0; /* the canonical check catches 1.50, 1e999 and friends */
    }
    bool neg = t[0] == '-';
    size_t i = neg;
    if (i == n)
        return FS_EMALFORMED;
    uint64_t u = 0;
    const uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < n; i++) {
        if (t[i] < '0' || t[i] > '9')
            return FS_EMALFORMED;
        unsigned dgt = (unsigned)(t[i] - '0');
        if (u > (limit - dgt) / 10)
            return FS_EMALFORMED; /* outside int64: the server would clamp */
        u = u * 10 + dgt;
    }
    out->kind = FS_VALUE_INT;
    out->u.i = neg ? (int64_t)(0 - u) : (int64_t)u;
    return 0;
}

/* Appends a zeroed slot to a list or map array; *cap doubles as needed. */
static int grow_items(void **items, uint32_t len, uint32_t *cap, size_t size)
{
    if (len < *cap)
        return 0;
    if (len == UINT32_MAX)
        return FS_ETOO_BIG;
    uint32_t ncap = *cap ? (*cap > UINT32_MAX / 2 ? UINT32_MAX : *cap * 2) : 4;
    void *p = realloc(*items, (size_t)ncap * size);
    if (!p)
        return FS_ENOMEM;
    memset((char *)p + (size_t)*cap * size, 0, (size_t)(ncap - *cap) * size);
    *items = p;
    *cap = ncap;
    return 0;
}

static int read_list(struct reader *r, int depth, struct fs_value *out)
{
    r->pos++; /* [ */
    out->kind = FS_VALUE_LIST;
    out->u.list.items = NULL;
    out->u.list.len = 0;
    if (r->pos < r->len && r->p[r->pos] == ']') {
        r->pos++;
        return 0;
    }
    uint32_t cap = 0;
    for (;;) {
        void *items = out->u.list.items;
        int rc = grow_items(&items, out->u.list.len, &cap, sizeof(struct fs_value));
        out->u.list.items = items;
        if (rc)
            return rc;
        rc = read_value(r, depth + 1, &out->u.list.items[out->u.list.len++]);
        if (rc)
            return rc;
        if (r->pos >= r->len)
            return FS_ETRUNCATED;
        char c = r->p[r->pos++];
        if (c == ']')
            return 0;
        if (c != ',')
            return FS_EMALFORMED;
    }
}

static int read_key(struct reader *r, struct fs_value *out)
{
    size_t start = r->pos, end;
    if (r->p[r->pos] == '`') {
        start++;
        const char *close = memchr(r->p + start, '`', r->len - start);
        if (!close)
            return FS_ETRUNCATED;
        end = (size_t)(close - r->p);
        r->pos = end + 1;
    } else {
        while (r->pos < r->len && is_ident_char((unsigned char)r->p[r->pos]))
            r->pos++;
        end = r->pos;
    }
    if (r->pos >= r->len)
        return FS_ETRUNCATED;
    if (r->p[r->pos++] != ':')
        return FS_EMALFORMED;
    size_t n = end - start;
    if (n >= UINT32_MAX)
        return FS_ETOO_BIG;
    if (memchr(r->p + start, '\0', n))
        return FS_EMALFORMED;
    char *s = malloc(n + 1);
    if (!s)
        return FS_ENOMEM;
    if (n)
        memcpy(s, r->p + start, n);
    s[n] = '\0';
    out->kind = FS_VALUE_STRING;
    out->u.str.data = s;
    out->u.str.len = (uint32_t)n;
    return 0;
}

static int read_map(struct reader *r, int depth, struct fs_value *out)
{
    r->pos++; /* { */
    out->kind = FS_VALUE_MAP;
    out->u.map.items = NULL;
    out->u.map.len = 0;
    if (r->pos < r->len && r->p[r->pos] == '}') {
        r->pos++;
        return 0;
    }
    uint32_t cap = 0;
    for (;;) {
        void *items = out->u.map.items;
        int rc = grow_items(&items, out->u.map.len, &cap, sizeof(struct fs_value_pair));
        out->u.map.items = items;
        if (rc)
            return rc;
        struct fs_value_pair *e = &out->u.map.items[out->u.map.len++];
        if (r->pos >= r->len)
            return FS_ETRUNCATED;
        if ((rc = read_key(r, &e->key)))
            return rc;
        if ((rc = read_value(r, depth + 1, &e->value)))
            return rc;
        if (r->pos >= r->len)
            return FS_ETRUNCATED;
        char c = r->p[r->pos++];
        if (c == '}')
            return 0;
        if (c != ',')
            return FS_EMALFORMED;
    }
}

/* depth = containers around the value. On error, out may hold a partial
 * tree that fs_value_deinit frees. */
static int read_value(struct reader *r, int depth, struct fs_value *out)
{
    if (r->pos >= r->len)
        return FS_ETRUNCATED;
    char c = r->p[r->pos];
    switch (c) {
    case '\'':
    case '"':
        return read_string(r, out);
    case '[':
    case '{':
        if (depth >= FDB_PARAM_MAX_DEPTH)
            return FS_ETOO_DEEP;
        return c == '[' ? read_list(r, depth, out) : read_map(r, depth, out);
    case 't':
        out->kind = FS_VALUE_BOOL;
        out->u.b = true;
        return expect_word(r, "true", 4);
    case 'f':
        out->kind = FS_VALUE_BOOL;
        out->u.b = false;
        return expect_word(r, "false", 5);
    case 'n':
        out->kind = FS_VALUE_NULL;
        return expect_word(r, "null", 4);
    default:
        if (c == '-' || (c >= '0' && c <= '9'))
            return read_number(r, out);
        return FS_EMALFORMED;
    }
}

int fdb_param_decode(const char *text, size_t len, struct fs_value *out)
{
    struct reader r = {.p = text, .len = len, .pos = 0};
    memset(out, 0, sizeof *out);
    int rc = read_value(&r, 0, out);
    if (!rc && r.pos != r.len)
        rc = FS_EMALFORMED;
    if (!rc) {
        /* Canonical text re-encodes to exactly len bytes: a longer encoding
         * stops at the cap and is not canonical either. */
        struct buf again;
        buf_init(&again, len ? len : 1);
        rc = fdb_param_encode(&again, out);
        bool resource = rc == FS_ENOMEM; /* not the input's fault */
        if (!resource && (rc || again.len != len || memcmp(again.data, text, len) != 0))
            rc = FS_EMALFORMED;
        buf_deinit(&again);
    }
    if (rc)
        fs_value_deinit(out);
    return rc;
}
