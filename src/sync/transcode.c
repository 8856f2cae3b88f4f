/* PackStream -> FalkorDB parameter text in one pass, applying the documented mapping rules. */
#include "sync/transcode.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "falkor/bulk.h"
#include "falkor/param.h"

uint64_t xc_stats_total(const struct xc_stats *s)
{
    return s->dropped_nan + s->dropped_bytes + s->dropped_nul + s->dropped_point + s->dropped_key +
           s->dropped_label + s->dropped_other;
}

static void rollback(struct buf *b, size_t mark)
{
    b->len = mark;
    if (b->data)
        b->data[mark] = '\0';
}

/* Civil date from days since 1970-01-01 (proleptic Gregorian). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* width decimal digits of v, zero-padded, at p; the byte after them. The formats below
 * are built this way when their fields have their usual widths (snprintf otherwise):
 * every temporal of every item is formatted, and printf was a tenth of a verify's CPU. */
static char *put_digits(char *p, uint64_t v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

int xc_format_date(int64_t days, char *out, size_t cap)
{
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    if (y >= 0 && y <= 9999 && cap > 10) {
        char *p = put_digits(out, (uint64_t)y, 4);
        *p++ = '-';
        p = put_digits(p, m, 2);
        *p++ = '-';
        p = put_digits(p, d, 2);
        *p = '\0';
        return (int)(p - out);
    }
    if (y < 0) /* ISO 8601 expanded year, as Neo4j prints it: -0001 */
        return snprintf(out, cap, "-%04" PRId64 "-%02u-%02u", -y, m, d);
    return snprintf(out, cap, "%04" PRId64 "-%02u-%02u", y, m, d);
}

/* HH:MM:SS plus the fraction rule (micro when whole, else nanos). */
static int format_clock(int64_t secs_of_day, int64_t nanos, char *out, size_t cap)
{
    if (secs_of_day >= 0 && secs_of_day < 86400 && nanos >= 0 && nanos < 1000000000 && cap > 18) {
        char *p = put_digits(out, (uint64_t)(secs_of_day / 3600), 2);
        *p++ = ':';
        p = put_digits(p, (uint64_t)(secs_of_day / 60 % 60), 2);
        *p++ = ':';
        p = put_digits(p, (uint64_t)(secs_of_day % 60), 2);
        if (nanos) {
            *p++ = '.';
            p = nanos % 1000 == 0 ? put_digits(p, (uint64_t)(nanos / 1000), 6)
                                  : put_digits(p, (uint64_t)nanos, 9);
        }
        *p = '\0';
        return (int)(p - out);
    }
    int n = snprintf(out, cap, "%02d:%02d:%02d", (int)(secs_of_day / 3600),
                     (int)(secs_of_day / 60 % 60), (int)(secs_of_day % 60));
    if (nanos % 1000 == 0 && nanos)
        n += snprintf(out + n, cap - (size_t)n, ".%06d", (int)(nanos / 1000));
    else if (nanos)
        n += snprintf(out + n, cap - (size_t)n, ".%09d", (int)nanos);
    return n;
}

static int format_local_datetime(int64_t seconds, int64_t nanos, char *out, size_t cap)
{
    int64_t days = floor_div(seconds, 86400);
    int64_t sod = seconds - days * 86400;
    int n = xc_format_date(days, out, cap);
    out[n++] = 'T';
    return n + format_clock(sod, nanos, out + n, cap - (size_t)n);
}

int xc_format_datetime_utc(int64_t seconds, int64_t nanos, char *out, size_t cap)
{
    int n = format_local_datetime(seconds, nanos, out, cap);
    if (cap - (size_t)n > 6) {
        memcpy(out + n, "+00:00", 7);
        return n + 6;
    }
    return n + snprintf(out + n, cap - (size_t)n, "+00:00");
}

static int format_offset(int64_t off, char *out, size_t cap)
{
    char sign = off < 0 ? '-' : '+';
    if (off < 0)
        off = -off;
    if (off < 100 * 3600 && cap > 9) {
        char *p = out;
        *p++ = sign;
        p = put_digits(p, (uint64_t)(off / 3600), 2);
        *p++ = ':';
        p = put_digits(p, (uint64_t)(off / 60 % 60), 2);
        if (off % 60) {
            *p++ = ':';
            p = put_digits(p, (uint64_t)(off % 60), 2);
        }
        *p = '\0';
        return (int)(p - out);
    }
    int n = snprintf(out, cap, "%c%02d:%02d", sign, (int)(off / 3600), (int)(off / 60 % 60));
    if (off % 60)
        n += snprintf(out + n, cap - (size_t)n, ":%02d", (int)(off % 60));
    return n;
}

/* Skips what an item pack_read_item returned still holds: a list's
 * elements, a map's keys and values, a structure's fields. */
static int skip_contents(struct pack_reader *r, const struct pack_item *it)
{
    uint64_t n = it->kind == FS_VALUE_LIST || it->kind == FS_VALUE_STRUCT ? it->size
                 : it->kind == FS_VALUE_MAP                               ? 2 * (uint64_t)it->size
                                                                          : 0;
    for (uint64_t i = 0; i < n; i++) {
        int rc = pack_skip(r, PACK_DEFAULT_MAX_DEPTH);
        if (rc)
            return rc;
    }
    return 0;
}

/* An embedding element that is not a number: the element's contents and
 * the remaining elements are skipped and the embedding dropped (1, counted),
 * or a read error. */
static int drop_embedding(struct pack_reader *r, const struct pack_item *v, uint32_t remaining,
                          struct xc_stats *st)
{
    int rc = skip_contents(r, v);
    for (uint32_t j = 0; !rc && j < remaining; j++)
        rc = pack_skip(r, PACK_DEFAULT_MAX_DEPTH);
    if (rc)
        return rc;
    st->dropped_other++;
    return 1;
}

static int read_int(struct pack_reader *r, int64_t *v)
{
    struct pack_item it;
    int rc = pack_read_item(r, &it);
    if (rc)
        return rc;
    if (it.kind != FS_VALUE_INT)
        return FS_EMALFORMED;
    *v = it.i;
    return 0;
}

/* Temporal structures become ISO-8601 text (its length is returned); others
 * are dropped by rule (1, counted). text holds XC_STRUCT_TEXT bytes. Fields
 * outside what Neo4j can hold (years beyond +-999,999,999, nanoseconds
 * beyond a second or a day, offsets beyond 18 hours) cannot come from it:
 * such a value is dropped as "other" rather than formatted with overflow. */
#define XC_STRUCT_TEXT 96
/* Lists inside lists deeper than this are dropped (as "other"). */
#define XC_MAX_LIST_DEPTH 32
#define XC_MAX_DAYS INT64_C(365300000000) /* > 999,999,999 years */
#define XC_MAX_SECONDS (XC_MAX_DAYS * 86400)
#define XC_DAY_NANOS INT64_C(86400000000000)
#define XC_MAX_OFFSET (18 * 3600)
#define XC_IN(v, lo, hi) ((v) >= (lo) && (v) <= (hi))
static int xc_struct_text(struct pack_reader *r, const struct pack_item *it, char *text,
                          size_t *tlen, struct xc_stats *st)
{
    int64_t a = 0, c = 0, d = 0, e = 0;
    int rc = 0;
    int n = -1;
    switch (it->tag) {
    case PACK_TAG_DATE_TIME: /* UTC seconds, nanos, offset: Graphiti's zoned datetimes */
        if (it->size != 3 || (rc = read_int(r, &a)) || (rc = read_int(r, &c)) ||
            (rc = read_int(r, &d)))
            return rc ? rc : FS_EMALFORMED;
        if (!XC_IN(a, -XC_MAX_SECONDS, XC_MAX_SECONDS) || !XC_IN(c, 0, 999999999))
            goto out_of_range;
        n = xc_format_datetime_utc(a, c, text, XC_STRUCT_TEXT);
        break;
    case PACK_TAG_DATE_TIME_ZONE_ID: { /* UTC seconds, nanos, zone name */
        if (it->size != 3 || (rc = read_int(r, &a)) || (rc = read_int(r, &c)))
            return rc ? rc : FS_EMALFORMED;
        struct pack_item z;
        if ((rc = pack_read_item(r, &z)) || z.kind != FS_VALUE_STRING)
            return rc ? rc : FS_EMALFORMED;
        if (!XC_IN(a, -XC_MAX_SECONDS, XC_MAX_SECONDS) || !XC_IN(c, 0, 999999999))
            goto out_of_range;
        n = xc_format_datetime_utc(a, c, text, XC_STRUCT_TEXT);
        break;
    }
    case PACK_TAG_LEGACY_DATE_TIME: /* local seconds, nanos, offset (Bolt 4.4 without utc) */
        if (it->size != 3 || (rc = read_int(r, &a)) || (rc = read_int(r, &c)) ||
            (rc = read_int(r, &d)))
            return rc ? rc : FS_EMALFORMED;
        if (!XC_IN(a, -XC_MAX_SECONDS, XC_MAX_SECONDS) || !XC_IN(c, 0, 999999999) ||
            !XC_IN(d, -XC_MAX_OFFSET, XC_MAX_OFFSET))
            goto out_of_range;
        n = xc_format_datetime_utc(a - d, c, text, XC_STRUCT_TEXT);
        break;
    case PACK_TAG_LOCAL_DATE_TIME:
        if (it->size != 2 || (rc = read_int(r, &a)) || (rc = read_int(r, &c)))
            return rc ? rc : FS_EMALFORMED;
        if (!XC_IN(a, -XC_MAX_SECONDS, XC_MAX_SECONDS) || !XC_IN(c, 0, 999999999))
            goto out_of_range;
        n = format_local_datetime(a, c, text, XC_STRUCT_TEXT);
        break;
    case PACK_TAG_DATE:
        if (it->size != 1 || (rc = read_int(r, &a)))
            return rc ? rc : FS_EMALFORMED;
        if (!XC_IN(a, -XC_MAX_DAYS, XC_MAX_DAYS))
            goto out_of_range;
        n = xc_format_date(a, text, XC_STRUCT_TEXT);
        break;
    case PACK_TAG_LOCAL_TIME:
        if (it->size != 1 || (rc = read_int(r, &a)))
            return rc ? rc : FS_EMALFORMED;
        if (!XC_IN(a, 0, XC_DAY_NANOS - 1))
            goto out_of_range;
        n = format_clock(a / 1000000000, a % 1000000000, text, XC_STRUCT_TEXT);
        break;
    case PACK_TAG_TIME:
        if (it->size != 2 || (rc = read_int(r, &a)) || (rc = read_int(r, &c)))
            return rc ? rc : FS_EMALFORMED;
        if (!XC_IN(a, 0, XC_DAY_NANOS - 1) || !XC_IN(c, -XC_MAX_OFFSET, XC_MAX_OFFSET))
            goto out_of_range;
        n = format_clock(a / 1000000000, a % 1000000000, text, XC_STRUCT_TEXT);
        n += format_offset(c, text + n, XC_STRUCT_TEXT - (size_t)n);
        break;
    case PACK_TAG_DURATION:
        if (it->size != 4 || (rc = read_int(r, &a)) || (rc = read_int(r, &c)) ||
            (rc = read_int(r, &d)) || (rc = read_int(r, &e)))
            return rc ? rc : FS_EMALFORMED;
        n = snprintf(text, XC_STRUCT_TEXT, "P%" PRId64 "M%" PRId64 "DT%" PRId64 ".%09" PRId64 "S",
                     a, c, d, e);
        break;
    default:
        for (uint32_t i = 0; i < it->size; i++)
            if ((rc = pack_skip(r, PACK_DEFAULT_MAX_DEPTH)))
                return rc;
        if (it->tag == PACK_TAG_POINT_2D || it->tag == PACK_TAG_POINT_3D)
            st->dropped_point++;
        else
            st->dropped_other++;
        return 1;
    }
    if (n < 0 || (size_t)n >= XC_STRUCT_TEXT)
        return FS_EMALFORMED;
    *tlen = (size_t)n;
    return 0;
out_of_range:
    st->dropped_other++;
    return 1;
}

/* Opens an embedding: 0 with *it a list, XC_EMB_NULL for null, 1 for anything else (dropped,
 * counted), or a read error. What is not a list is skipped whole. */
#define XC_EMB_NULL 2
static int embedding_list(struct pack_reader *r, struct pack_item *it, struct xc_stats *st)
{
    int rc = pack_read_item(r, it);
    if (rc || it->kind == FS_VALUE_LIST)
        return rc;
    if ((rc = skip_contents(r, it)))
        return rc;
    if (it->kind == FS_VALUE_NULL)
        return XC_EMB_NULL;
    st->dropped_other++;
    return 1;
}

/* A list of numbers written as doubles, for vecf32(). */
static int xc_embedding(struct pack_reader *r, struct buf *b, struct xc_stats *st)
{
    size_t mark = b->len;
    struct pack_item it;
    int rc = embedding_list(r, &it, st);
    if (rc == XC_EMB_NULL)
        return fdb_param_write_null(b);
    if (rc)
        return rc;
    rc = fdb_param_list_begin(b);
    for (uint32_t i = 0; !rc && i < it.size; i++) {
        struct pack_item v;
        if (i)
            rc = fdb_param_write_sep(b);
        if (!rc)
            rc = pack_read_item(r, &v);
        if (rc)
            break;
        if (v.kind == FS_VALUE_FLOAT && isfinite(v.f))
            /* vecf32 keeps a float: its shortest text is about half as long */
            rc = fabs(v.f) <= FLT_MAX ? fdb_param_write_float32(b, (float)v.f)
                                      : fdb_param_write_double(b, v.f);
        else if (v.kind == FS_VALUE_INT)
            rc = fdb_param_write_int(b, v.i);
        else
            rc = drop_embedding(r, &v, it.size - i - 1, st);
    }
    if (!rc)
        rc = fdb_param_list_end(b);
    if (rc)
        rollback(b, mark);
    return rc;
}

/* A temporal FalkorDB can hold exactly: fills v (fn, text, code, value) and
 * returns 1 with the value consumed; 0 leaves r where it was. */
static int native_temporal(struct pack_reader *r, struct xc_native_value *v)
{
    size_t at = r->pos;
    struct pack_item it;
    int64_t f[4] = {0};
    if (pack_read_item(r, &it) || it.kind != FS_VALUE_STRUCT || it.size > 4)
        goto no;
    bool zone_id = it.tag == PACK_TAG_DATE_TIME_ZONE_ID;
    for (uint32_t i = 0; i < it.size; i++) {
        struct pack_item z;
        if (zone_id && i == 2 ? pack_read_item(r, &z) || z.kind != FS_VALUE_STRING
                              : read_int(r, &f[i]) != 0)
            goto no;
    }
    int64_t secs = 0, days = 0;
    switch (it.tag) {
    case PACK_TAG_DATE_TIME_ZONE_ID: /* UTC seconds, nanos, zone name */
    case PACK_TAG_DATE:
        if (it.size != 1)
            goto no;
        days = f[0];
        v->fn = "date";
        v->code = 14;
        v->value = days * 86400;
        break;
    case PACK_TAG_DATE_TIME:       /* UTC seconds, nanos, offset */
    case PACK_TAG_LOCAL_DATE_TIME: /* seconds, nanos */
        if (it.size != (it.tag == PACK_TAG_LOCAL_DATE_TIME ? 2u : 3u) || f[1])
            goto no;
        secs = f[0];
        days = floor_div(secs, 86400);
        v->fn = "localdatetime";
        v->code = 13;
        v->value = secs;
        break;
    case PACK_TAG_LOCAL_TIME: /* nanos since midnight */
        if (it.size != 1 || f[0] % 1000000000)
            goto no;
        v->fn = "localtime";
        v->code = 15;
        v->value = f[0] / 1000000000 - 2208988800LL; /* FalkorDB counts from 1900-01-01 */
        snprintf(v->text, sizeof v->text, "%02d:%02d:%02d", (int)(v->value + 2208988800LL) / 3600,
                 (int)((v->value + 2208988800LL) / 60 % 60), (int)((v->value + 2208988800LL) % 60));
        return 1;
    case PACK_TAG_DURATION: /* months, days, seconds, nanos */
        if (it.size != 4 || f[0] || f[3] || f[1] < 0 || f[2] < 0 || f[1] > 1000000 ||
            f[2] > INT64_C(1) << 40)
            goto no;
        v->fn = "duration";
        v->code = 16;
        v->value = f[1] * 86400 + f[2];
        snprintf(v->text, sizeof v->text, "P%" PRId64 "DT%" PRId64 "S", f[1], f[2]);
        return 1;
    default:
        goto no;
    }
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 1 || y > 9999)
        goto no;
    if (it.tag == PACK_TAG_DATE)
        xc_format_date(days, v->text, sizeof v->text);
    else
        format_local_datetime(secs, 0, v->text, sizeof v->text);
    return 1;
no:
    r->pos = at;
    return 0;
}

size_t xc_key_base_len(const char *key)
{
    return strcspn(key, "\x1d");
}

int xc_native_signature(struct buf *key, const struct xc_native *nt)
{
    int rc = nt->n ? buf_append_byte(key, 0x1d) : 0;
    for (int i = 0; !rc && i < nt->n; i++)
        rc = buf_printf(key, "%s\x1c%s\x1c", nt->v[i].fn, nt->v[i].name);
    return rc;
}

int xc_native_row(struct buf *row, const struct xc_native *nt)
{
    int rc = 0;
    for (int i = 0; !rc && i < nt->n; i++) {
        rc = buf_printf(row, ",t%d:", i);
        rc = rc ? rc : fdb_param_write_string(row, nt->v[i].text, strlen(nt->v[i].text));
    }
    return rc;
}

int xc_native_sets(struct buf *q, const char *var, const char *key)
{
    const char *p = key + xc_key_base_len(key);
    if (!*p)
        return 0;
    p++;
    int rc = 0;
    for (int i = 0; !rc && *p; i++) {
        size_t fl = strcspn(p, "\x1c");
        const char *name = p + fl + 1;
        size_t nl = strcspn(name, "\x1c");
        rc = buf_printf(q, ", %s.", var);
        rc = rc ? rc : xc_ident(q, name, nl);
        rc = rc ? rc : buf_printf(q, " = %.*s(r.t%d)", (int)fl, p, i);
        p = name + nl + (name[nl] ? 1 : 0);
    }
    return rc;
}

int xc_embedding_sets(struct buf *q, const char *var, const struct xc_rules *rules)
{
    int rc = 0;
    for (int i = 0; !rc && i < rules->nembeddings; i++) {
        rc = buf_printf(q, ", %s.", var);
        rc = rc ? rc : xc_ident(q, rules->embeddings[i], strlen(rules->embeddings[i]));
        rc = rc ? rc : buf_printf(q, " = vecf32(r.e%d)", i);
    }
    return rc;
}

/* An embedding in fingerprint form (sync/fingerprint.h): the float32 bits of its elements,
 * exactly what vecf32() keeps, without text. 1 when null or dropped (b unchanged). */
static int xc_embedding_fp(struct pack_reader *r, struct buf *b, struct xc_stats *st)
{
    struct pack_item it;
    int rc = embedding_list(r, &it, st);
    if (rc)
        return rc == XC_EMB_NULL ? 1 : rc;
    size_t mark = b->len;
    rc = fp_enc_vector(b, it.size);
    size_t avail = r->len - r->pos; /* never reserve more than the input could hold */
    rc = rc ? rc : buf_reserve(b, 4 * (it.size < avail ? (size_t)it.size : avail));
    for (uint32_t i = 0; !rc && i < it.size; i++) {
        struct pack_item v;
        if ((rc = pack_read_item(r, &v)))
            break;
        if ((v.kind != FS_VALUE_FLOAT || !isfinite(v.f)) && v.kind != FS_VALUE_INT) {
            rollback(b, mark);
            rc = drop_embedding(r, &v, it.size - i - 1, st);
            return rc ? rc : 1;
        }
        rc = fp_enc_f32(b, (float)(v.kind == FS_VALUE_FLOAT ? v.f : (double)v.i));
    }
    if (rc)
        rollback(b, mark);
    return rc;
}

/* An embedding: a list of numbers, as an array for vecf32() once loaded. */
static int xc_embedding_bulk(struct pack_reader *r, struct buf *b, struct xc_stats *st)
{
    size_t mark = b->len;
    struct pack_item it;
    int rc = embedding_list(r, &it, st);
    if (rc) /* null: left unset, as the query method's vecf32(null) */
        return rc == XC_EMB_NULL ? 1 : rc;
    rc = fdb_bulk_array(b, it.size);
    /* room for the numbers up front; never more than the input could hold */
    size_t avail = r->len - r->pos;
    rc = rc ? rc : buf_reserve(b, 9 * (it.size < avail ? (size_t)it.size : avail));
    for (uint32_t i = 0; !rc && i < it.size; i++) {
        /* The hot loop (15 million numbers in a 25,000-item Graphiti graph):
         * a float64 goes from its PackStream bytes (0xC1, big-endian) to
         * GRAPH.BULK's (type 2, little-endian) without a call. */
        const uint8_t *q = r->p + r->pos;
        if (r->len - r->pos >= 9 && q[0] == 0xC1 && (q[1] & 0x7F) != 0x7F && b->cap - b->len > 9) {
            /* (that exponent test lets only finite numbers through here; the
             * largest ones and NaN/Inf take the general path below) */
            uint8_t *o = (uint8_t *)b->data + b->len;
            o[0] = FDB_BULK_DOUBLE;
            for (int k = 0; k < 8; k++)
                o[1 + k] = q[8 - k];
            b->len += 9;
            b->data[b->len] = '\0';
            r->pos += 9;
            continue;
        }
        struct pack_item v;
        if ((rc = pack_read_item(r, &v)))
            break;
        if (v.kind == FS_VALUE_FLOAT && isfinite(v.f)) {
            rc = fdb_bulk_double(b, v.f);
        } else if (v.kind == FS_VALUE_INT) {
            rc = fdb_bulk_long(b, v.i);
        } else {
            rc = drop_embedding(r, &v, it.size - i - 1, st);
        }
    }
    if (rc)
        rollback(b, mark);
    return rc;
}

bool xc_take_empty_group_id(struct pack_reader *r, const struct xc_rules *rules, const uint8_t *key,
                            size_t klen)
{
    if (!rules->empty_group_id || klen != 8 || memcmp(key, "group_id", 8))
        return false;
    struct pack_reader peek = *r;
    struct pack_item v;
    if (pack_read_item(&peek, &v) || v.kind != FS_VALUE_STRING || v.size != 0)
        return false;
    *r = peek;
    return true;
}

/* ---- One walk of the mapping rules, two sinks --------------------------------
 * The walk decides what is kept and what is dropped (and counts it); a sink only says how
 * a kept value is written: FalkorDB parameter text (query method, incremental, reconcile)
 * or GRAPH.BULK values (the bulk method). */

struct xc_value_sink {
    int (*null)(struct buf *b);
    int (*boolean)(struct buf *b, bool v);
    int (*integer)(struct buf *b, int64_t v);
    int (*real)(struct buf *b, double v);                    /* finite */
    int (*string)(struct buf *b, const char *s, size_t len); /* holds no NUL */
    int (*list_begin)(struct buf *b, uint32_t n);
    int (*list_sep)(struct buf *b); /* NULL: none */
    int (*list_end)(struct buf *b); /* NULL: none */
};

static int text_list_begin(struct buf *b, uint32_t n)
{
    (void)n;
    return fdb_param_list_begin(b);
}

static const struct xc_value_sink text_values = {
    fdb_param_write_null,   fdb_param_write_bool, fdb_param_write_int, fdb_param_write_double,
    fdb_param_write_string, text_list_begin,      fdb_param_write_sep, fdb_param_list_end,
};

static int bulk_list_begin(struct buf *b, uint32_t n)
{
    return fdb_bulk_array(b, n);
}

static const struct xc_value_sink bulk_values = {
    fdb_bulk_null,   fdb_bulk_bool,   fdb_bulk_long, fdb_bulk_double,
    fdb_bulk_string, bulk_list_begin, NULL,          NULL,
};

static int walk_value(struct pack_reader *r, const struct xc_value_sink *k, struct buf *b,
                      struct xc_stats *st, int depth);

/* A list: one element the rules drop drops the whole list (1). */
static int walk_list(struct pack_reader *r, const struct pack_item *it,
                     const struct xc_value_sink *k, struct buf *b, struct xc_stats *st, int depth)
{
    if (depth <= 0) { /* Neo4j properties never nest lists; a peer that does is cut off */
        int rc = skip_contents(r, it);
        if (!rc)
            st->dropped_other++;
        return rc ? rc : 1;
    }
    size_t mark = b->len;
    int rc = k->list_begin(b, it->size);
    for (uint32_t i = 0; !rc && i < it->size; i++) {
        if (i && k->list_sep)
            rc = k->list_sep(b);
        rc = rc ? rc : walk_value(r, k, b, st, depth - 1);
        if (rc == 1) /* one bad element: the whole list goes, by rule */
            for (uint32_t j = i + 1; j < it->size; j++)
                if (pack_skip(r, PACK_DEFAULT_MAX_DEPTH)) {
                    rc = FS_EMALFORMED;
                    break;
                }
    }
    if (!rc && k->list_end)
        rc = k->list_end(b);
    if (rc)
        rollback(b, mark);
    return rc;
}

/* One value: written by sink k into b (0), dropped by rule (1, counted, b unchanged), or a
 * read error. */
static int walk_value(struct pack_reader *r, const struct xc_value_sink *k, struct buf *b,
                      struct xc_stats *st, int depth)
{
    struct pack_item it;
    int rc = pack_read_item(r, &it);
    if (rc)
        return rc;
    switch (it.kind) {
    case FS_VALUE_NULL:
        return k->null(b);
    case FS_VALUE_BOOL:
        return k->boolean(b, it.b);
    case FS_VALUE_INT:
        return k->integer(b, it.i);
    case FS_VALUE_FLOAT:
        if (!isfinite(it.f)) {
            st->dropped_nan++;
            return 1;
        }
        return k->real(b, it.f);
    case FS_VALUE_STRING:
        if (memchr(it.data, 0, it.size)) {
            st->dropped_nul++;
            return 1;
        }
        return k->string(b, (const char *)it.data, it.size);
    case FS_VALUE_BYTES:
        st->dropped_bytes++;
        return 1;
    case FS_VALUE_LIST:
        return walk_list(r, &it, k, b, st, depth);
    case FS_VALUE_MAP: /* not a Neo4j property type; dropped by rule */
        if ((rc = skip_contents(r, &it)))
            return rc;
        st->dropped_other++;
        return 1;
    case FS_VALUE_STRUCT: {
        char text[XC_STRUCT_TEXT];
        size_t n = 0;
        rc = xc_struct_text(r, &it, text, &n, st);
        return rc ? rc : k->string(b, text, n);
    }
    }
    return FS_EMALFORMED;
}

int xc_value(struct pack_reader *r, struct buf *b, struct xc_stats *st)
{
    return walk_value(r, &text_values, b, st, XC_MAX_LIST_DEPTH);
}

int xc_value_bulk(struct pack_reader *r, struct buf *b, struct xc_stats *st)
{
    return walk_value(r, &bulk_values, b, st, XC_MAX_LIST_DEPTH);
}

/* Where a property map goes. The walk reads each (name, value), applies the rules and calls:
 * embedding() for a name in rules->embeddings (0 kept, 1 left out); prop() before an ordinary
 * property's value, which then goes to vals through values; kept() after it (1: left out
 * after all); end() once the map is read. */
struct xc_props_sink {
    const struct xc_value_sink *values;
    struct buf *vals;
    int (*embedding)(struct xc_props_sink *s, int e, const char *name, size_t len,
                     struct pack_reader *r, struct xc_stats *st);
    int (*prop)(struct xc_props_sink *s, const char *name, size_t len);
    int (*kept)(struct xc_props_sink *s, const char *name, size_t len, size_t mark);
    int (*end)(struct xc_props_sink *s);
};

/* The embedding index of name, or -1. */
static int embedding_of(const struct xc_rules *rules, const char *name, size_t len)
{
    int e = -1;
    for (int j = 0; j < rules->nembeddings && j < 8; j++)
        if (strlen(rules->embeddings[j]) == len && !memcmp(rules->embeddings[j], name, len))
            e = j;
    return e;
}

/* A temporal that goes native (sync.temporal = native): 1 when taken into nt. */
static int take_native(struct pack_reader *r, const struct xc_rules *rules, struct xc_native *nt,
                       const char *name, size_t len)
{
    if (!rules->native_temporal || !nt || nt->n >= XC_MAX_NATIVE || len >= sizeof nt->v[0].name ||
        memchr(name, '`', len) || memchr(name, 0, len) || memchr(name, 0x1c, len) ||
        memchr(name, 0x1d, len) || !native_temporal(r, &nt->v[nt->n]))
        return 0;
    memcpy(nt->v[nt->n].name, name, len);
    nt->v[nt->n].name[len] = '\0';
    nt->n++;
    return 1;
}

/* One ordinary property into the sink: 0 (kept or left out), or an error. */
static int walk_prop(struct pack_reader *r, const struct xc_rules *rules, struct xc_props_sink *s,
                     const char *name, size_t len, struct xc_stats *st)
{
    size_t mark = s->vals->len;
    int rc = s->prop(s, name, len);
    if (!rc)
        rc = xc_take_empty_group_id(r, rules, (const uint8_t *)name, len)
                 ? s->values->string(s->vals, rules->empty_group_id, strlen(rules->empty_group_id))
                 : walk_value(r, s->values, s->vals, st, XC_MAX_LIST_DEPTH);
    rc = rc ? rc : s->kept(s, name, len, mark);
    if (rc == 1) { /* dropped by a rule, or left out by the sink */
        rollback(s->vals, mark);
        return 0;
    }
    return rc;
}

static int walk_props(struct pack_reader *r, const struct xc_rules *rules, struct xc_props_sink *s,
                      struct xc_native *nt, struct xc_stats *st)
{
    if (nt)
        nt->n = 0;
    struct pack_item it;
    int rc = pack_read_item(r, &it);
    if (rc)
        return rc;
    if (it.kind != FS_VALUE_MAP)
        return FS_EMALFORMED;
    for (uint32_t i = 0; !rc && i < it.size; i++) {
        struct pack_item k;
        if ((rc = pack_read_item(r, &k)))
            break;
        if (k.kind != FS_VALUE_STRING) {
            rc = FS_EMALFORMED;
            break;
        }
        const char *name = (const char *)k.data;
        int e = embedding_of(rules, name, k.size);
        if (memchr(name, '`', k.size) || memchr(name, 0, k.size)) {
            st->dropped_key++; /* no escape exists inside backticks: no sink can name it */
            rc = pack_skip(r, PACK_DEFAULT_MAX_DEPTH);
        } else if (e >= 0) {
            rc = s->embedding(s, e, name, k.size, r, st);
            rc = rc == 1 ? 0 : rc;
        } else if (!take_native(r, rules, nt, name, k.size)) {
            rc = walk_prop(r, rules, s, name, k.size, st);
        }
    }
    return rc ? rc : s->end(s);
}

/* ---- The text sink: "{k:v,...}", embeddings to emb[i] ---- */

struct text_props {
    struct xc_props_sink s;
    const struct xc_rules *rules;
    struct buf *emb;
    bool first;
    bool seen[8];
};

static int text_embedding(struct xc_props_sink *s, int e, const char *name, size_t len,
                          struct pack_reader *r, struct xc_stats *st)
{
    struct text_props *t = (struct text_props *)s;
    buf_reset(&t->emb[e]);
    int rc = xc_embedding(r, &t->emb[e], st);
    if (rc == 1)
        rc = fdb_param_write_null(&t->emb[e]);
    t->seen[e] = rc == 0;
    return rc;
}

static int text_prop(struct xc_props_sink *s, const char *name, size_t len)
{
    struct text_props *t = (struct text_props *)s;
    int rc = t->first ? 0 : fdb_param_write_sep(s->vals);
    return rc ? rc : fdb_param_map_key(s->vals, name, len);
}

static int text_kept(struct xc_props_sink *s, const char *name, size_t len, size_t mark)
{
    ((struct text_props *)s)->first = false; /* a null stays: SET n = r.p leaves it unset */
    return 0;
}

static int text_end(struct xc_props_sink *s)
{
    struct text_props *t = (struct text_props *)s;
    int rc = fdb_param_map_end(s->vals);
    for (int j = 0; !rc && j < t->rules->nembeddings && j < 8; j++)
        if (!t->seen[j]) {
            buf_reset(&t->emb[j]);
            rc = fdb_param_write_null(&t->emb[j]);
        }
    return rc;
}

int xc_props(struct pack_reader *r, const struct xc_rules *rules, struct buf *b, struct buf *emb,
             struct xc_native *nt, struct xc_stats *st)
{
    struct text_props t = {
        .s = {&text_values, b, text_embedding, text_prop, text_kept, text_end},
        .rules = rules,
        .emb = emb,
        .first = true,
    };
    int rc = fdb_param_map_begin(b);
    return rc ? rc : walk_props(r, rules, &t.s, nt, st);
}

/* ---- The bulk sink: names NUL-terminated, values as GRAPH.BULK values ---- */

struct bulk_props {
    struct xc_props_sink s;
    struct buf *names;
    uint32_t *nprops;
    unsigned *emb_seen;
};

static int bulk_name(struct bulk_props *t, const char *name, size_t len)
{
    int rc = buf_append(t->names, name, len);
    rc = rc ? rc : buf_append_byte(t->names, 0);
    if (!rc)
        (*t->nprops)++;
    return rc;
}

static int bulk_embedding(struct xc_props_sink *s, int e, const char *name, size_t len,
                          struct pack_reader *r, struct xc_stats *st)
{
    struct bulk_props *t = (struct bulk_props *)s;
    int rc = xc_embedding_bulk(r, s->vals, st);
    if (rc)
        return rc;
    *t->emb_seen |= 1u << e;
    return bulk_name(t, name, len);
}

static int bulk_prop(struct xc_props_sink *s, const char *name, size_t len)
{
    return 0;
}

static int bulk_kept(struct xc_props_sink *s, const char *name, size_t len, size_t mark)
{
    if (s->vals->len == mark + 1 && s->vals->data[mark] == FDB_BULK_NULL)
        return 1; /* null: the property is left out */
    return bulk_name((struct bulk_props *)s, name, len);
}

static int bulk_end(struct xc_props_sink *s)
{
    return 0;
}

int xc_props_bulk(struct pack_reader *r, const struct xc_rules *rules, struct buf *names,
                  struct buf *vals, uint32_t *nprops, unsigned *emb_seen, struct xc_stats *st)
{
    *nprops = 0;
    struct bulk_props t = {
        .s = {&bulk_values, vals, bulk_embedding, bulk_prop, bulk_kept, bulk_end},
        .names = names,
        .nprops = nprops,
        .emb_seen = emb_seen,
    };
    return walk_props(r, rules, &t.s, NULL, st);
}

/* ---- The fingerprint sink: each property's canonical value hashed with its name ---- */

static int fps_list_begin(struct buf *b, uint32_t n)
{
    return fp_enc_list(b, n);
}

static const struct xc_value_sink fps_values = {
    fp_enc_null, fp_enc_bool, fp_enc_int, fp_enc_double, fp_enc_string, fps_list_begin, NULL, NULL,
};

struct fps_props {
    struct xc_props_sink s;
    struct fp_item *f;
};

static int fps_embedding(struct xc_props_sink *s, int e, const char *name, size_t len,
                         struct pack_reader *r, struct xc_stats *st)
{
    (void)e;
    size_t mark = s->vals->len;
    int rc = xc_embedding_fp(r, s->vals, st);
    if (!rc)
        fp_item_prop(((struct fps_props *)s)->f, name, len, s->vals->data + mark,
                     s->vals->len - mark);
    rollback(s->vals, mark);
    return rc;
}

static int fps_prop(struct xc_props_sink *s, const char *name, size_t len)
{
    (void)s;
    (void)name;
    (void)len;
    return 0;
}

static int fps_kept(struct xc_props_sink *s, const char *name, size_t len, size_t mark)
{
    const char *v = s->vals->data + mark;
    size_t vlen = s->vals->len - mark;
    if (vlen == 1 && v[0] == 'n')
        return 1; /* null: FalkorDB holds no such property */
    fp_item_prop(((struct fps_props *)s)->f, name, len, v, vlen);
    rollback(s->vals, mark);
    return 0;
}

static int fps_end(struct xc_props_sink *s)
{
    (void)s;
    return 0;
}

int xc_props_fp(struct pack_reader *r, const struct xc_rules *rules, struct buf *scratch,
                struct xc_native *nt, struct xc_stats *st, struct fp_item *f)
{
    struct fps_props t = {
        .s = {&fps_values, scratch, fps_embedding, fps_prop, fps_kept, fps_end},
        .f = f,
    };
    buf_reset(scratch);
    return walk_props(r, rules, &t.s, nt, st);
}

int xc_ident(struct buf *b, const char *name, size_t len)
{
    if (memchr(name, '`', len) || memchr(name, 0, len))
        return 1;
    int rc = buf_append_byte(b, '`');
    rc = rc ? rc : buf_append(b, name, len);
    rc = rc ? rc : buf_append_byte(b, '`');
    return rc;
}
