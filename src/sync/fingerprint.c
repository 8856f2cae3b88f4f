/* Canonical property values and fingerprints, the same from both sides of a comparison. */
#include "sync/fingerprint.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define K1 0x9E3779B97F4A7C15ULL
#define K2 0xC2B2AE3D27D4EB4FULL

static uint64_t rotl(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

/* MurmurHash3's finaliser: every input bit reaches every output bit. */
static uint64_t fmix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDULL;
    h ^= h >> 33;
    h *= 0xC4CEB9FE1A85EC53ULL;
    h ^= h >> 33;
    return h;
}

/* A 64-bit hash of n bytes, eight at a time. */
static uint64_t hash_bytes(const void *p, size_t n, uint64_t seed)
{
    const unsigned char *c = p;
    uint64_t h = seed ^ ((uint64_t)n * K1);
    for (; n >= 8; c += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, c, 8);
        h ^= rotl(w * K2, 31) * K1;
        h = rotl(h, 27) * 5 + 0x52DCE729;
    }
    uint64_t w = 0;
    memcpy(&w, c, n);
    h ^= rotl(w * K2, 31) * K1;
    return fmix(h);
}

void fp_item_init(struct fp_item *f)
{
    f->sum = 0;
    f->n = 0;
}

void fp_item_prop(struct fp_item *f, const char *name, size_t nlen, const void *canon, size_t clen)
{
    /* name and value hashed apart, so bytes cannot move from one to the other */
    uint64_t h = hash_bytes(name, nlen, K1) * K2 + hash_bytes(canon, clen, K2);
    f->sum += fmix(h);
    f->n++;
}

uint64_t fp_item_hash(const struct fp_item *f, const char *head, size_t hlen)
{
    return fmix(hash_bytes(head, hlen, f->n) ^ f->sum);
}

static int enc_u32(struct buf *b, char tag, uint32_t n)
{
    char x[5] = {tag};
    memcpy(x + 1, &n, 4);
    return buf_append(b, x, 5);
}

int fp_enc_null(struct buf *b)
{
    return buf_append_byte(b, 'n');
}

int fp_enc_bool(struct buf *b, bool v)
{
    return buf_append(b, v ? "b1" : "b0", 2);
}

int fp_enc_int(struct buf *b, int64_t v)
{
    char x[9] = {'i'};
    memcpy(x + 1, &v, 8);
    return buf_append(b, x, 9);
}

int fp_enc_double(struct buf *b, double v)
{
    char x[40];
    int n = snprintf(x + 2, sizeof x - 2, "%.15g", v);
    if (n < 0 || (size_t)n >= sizeof x - 2)
        return FS_EINVAL;
    x[0] = 'd';
    x[1] = (char)n;
    return buf_append(b, x, (size_t)n + 2);
}

int fp_enc_string(struct buf *b, const char *s, size_t len)
{
    if (len > UINT32_MAX)
        return FS_ETOO_BIG;
    int rc = enc_u32(b, 's', (uint32_t)len);
    return rc ? rc : buf_append(b, s, len);
}

int fp_enc_list(struct buf *b, uint32_t n)
{
    return enc_u32(b, 'l', n);
}

int fp_enc_vector(struct buf *b, uint32_t n)
{
    return enc_u32(b, 'v', n);
}

int fp_enc_f32(struct buf *b, float f)
{
    return buf_append(b, &f, sizeof f);
}

int fp_enc_temporal(struct buf *b, int code, int64_t seconds)
{
    char x[10] = {'t', (char)code};
    memcpy(x + 2, &seconds, 8);
    return buf_append(b, x, 10);
}

/* Exact powers of ten as doubles up to 1e22; beyond, correctly rounded. */
static double pow10_of(int e)
{
    static const double exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    return e <= 22 ? exact[e] : exact[22] * pow10_of(e - 22);
}

bool fp_f32_from_text(const char *s, size_t len, float *out)
{
    /* [-]digits[.digits][e[+-]digits]: the decimal m * 10^e, with m in 64 bits */
    size_t i = 0;
    bool neg = i < len && s[i] == '-';
    i += neg;
    uint64_t m = 0;
    int digits = 0, e = 0;
    bool dot = false, any = false;
    for (; i < len; i++) {
        char ch = s[i];
        if (ch == '.' && !dot) {
            dot = true;
            continue;
        }
        if (ch < '0' || ch > '9')
            break;
        any = true;
        if (!m && ch == '0') { /* leading zeros count only as scale */
            e -= dot;
            continue;
        }
        if (++digits > 19)
            return false;
        m = m * 10 + (uint64_t)(ch - '0');
        e -= dot;
    }
    if (!any)
        return false;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        bool eneg = ++i < len && s[i] == '-';
        i += i < len && (s[i] == '-' || s[i] == '+');
        int x = 0, xd = 0;
        for (; i < len && s[i] >= '0' && s[i] <= '9' && xd < 4; i++, xd++)
            x = x * 10 + (s[i] - '0');
        if (!xd)
            return false;
        e += eneg ? -x : x;
    }
    if (i != len || e < -80 || e > 60)
        return false;
    /* A few double ulps of error at most: the nearest float is that of the exact value
     * whenever the text is a float32's double (a float32 sits at the centre of its rounding
     * interval, 2^29 double ulps wide); the caller knows it is (a vecf32 element). */
    double d = (double)m;
    d = e < 0 ? d / pow10_of(-e) : d * pow10_of(e);
    float f = (float)(neg ? -d : d);
    if (m && !isnormal(f))
        return false; /* subnormal or out of range: strtod decides */
    *out = f;
    return true;
}

/* A vecf32 cell's elements (DOUBLE text of float32 values) as their float32 bits. */
static int canon_vector(struct buf *b, const redisReply *v)
{
    if (v->type != REDIS_REPLY_ARRAY || v->elements > UINT32_MAX)
        return buf_append_str(b, "?");
    int rc = fp_enc_vector(b, (uint32_t)v->elements);
    rc = rc ? rc : buf_reserve(b, 4 * v->elements);
    for (size_t i = 0; !rc && i < v->elements; i++) {
        const redisReply *e = v->element[i];
        float f;
        if (e->type == REDIS_REPLY_STRING && fp_f32_from_text(e->str, e->len, &f))
            rc = fp_enc_f32(b, f);
        else
            rc = fp_enc_f32(b, (float)(e->type == REDIS_REPLY_STRING    ? strtod(e->str, NULL)
                                       : e->type == REDIS_REPLY_INTEGER ? (double)e->integer
                                                                        : NAN));
    }
    return rc;
}

int fp_canon_compact(struct buf *b, const redisReply *cell)
{
    int type = fdb_compact_type(cell);
    if (type < 0)
        return buf_append_str(b, "?");
    const redisReply *v = cell->element[1];
    switch (type) {
    case FDB_CT_NULL:
        return fp_enc_null(b);
    case FDB_CT_STRING: {
        const char *str;
        size_t len;
        return fdb_compact_string(cell, &str, &len) ? buf_append_str(b, "?")
                                                    : fp_enc_string(b, str, len);
    }
    case FDB_CT_INTEGER:
    case FDB_CT_DATETIME:
    case FDB_CT_DATE:
    case FDB_CT_TIME:
    case FDB_CT_DURATION: {
        int64_t i;
        if (fdb_compact_int(cell, &i))
            return buf_append_str(b, "?");
        return type == FDB_CT_INTEGER ? fp_enc_int(b, i) : fp_enc_temporal(b, type, i);
    }
    case FDB_CT_BOOLEAN: {
        bool x;
        return fdb_compact_bool(cell, &x) ? buf_append_str(b, "?") : fp_enc_bool(b, x);
    }
    case FDB_CT_DOUBLE: {
        double d;
        return fdb_compact_double(cell, &d) ? buf_append_str(b, "?") : fp_enc_double(b, d);
    }
    case FDB_CT_ARRAY: {
        if (v->type != REDIS_REPLY_ARRAY || v->elements > UINT32_MAX)
            return buf_append_str(b, "?");
        int rc = fp_enc_list(b, (uint32_t)v->elements);
        for (size_t i = 0; !rc && i < v->elements; i++)
            rc = fp_canon_compact(b, v->element[i]);
        return rc;
    }
    case FDB_CT_VECTORF32:
        return canon_vector(b, v);
    default:
        return buf_printf(b, "?%d", type);
    }
}

int fp_edge_head(struct buf *head, const char *type, size_t tlen, const char *a, const char *b)
{
    int rc = buf_append(head, "E:", 2);
    rc = rc ? rc : buf_append(head, type, tlen);
    rc = rc ? rc : buf_append_byte(head, 0x1f);
    rc = rc ? rc : buf_append_str(head, a);
    rc = rc ? rc : buf_append_byte(head, 0x1f);
    return rc ? rc : buf_append_str(head, b);
}

void fp_key_copy(char *dst, const char *key)
{
    size_t n = strnlen(key, FP_KEY_CAP - 1);
    memcpy(dst, key, n);
    dst[n] = '\0';
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
    for (size_t i = 0; !rc && i < n; i++) {
        rc = buf_append_str(head, names[i]);
        rc = rc ? rc : buf_append_byte(head, 0x1f);
    }
    return rc;
}
