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

int xc_format_date(int64_t days, char *out, size_t cap)
{
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 0) /* ISO 8601 expanded year, as Neo4j prints it: -0001 */
        return snprintf(out, cap, "-%04" PRId64 "-%02u-%02u", -y, m, d);
    return snprintf(out, cap, "%04" PRId64 "-%02u-%02u", y, m, d);
}

/* HH:MM:SS plus the fraction rule (micro when whole, else nanos). */
static int format_clock(int64_t secs_of_day, int64_t nanos, char *out, size_t cap)
{
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
    return n + snprintf(out + n, cap - (size_t)n, "+00:00");
}

static int format_offset(int64_t off, char *out, size_t cap)
{
    char sign = off < 0 ? '-' : '+';
    if (off < 0)
        off = -off;
    int n = snprintf(out, cap, "%c%02d:%02d", sign, (int)(off / 3600), (int)(off / 60 % 60));
    if (off % 60)
        n += snprintf(out + n, cap - (size_t)n, ":%02d", (int)(off % 60));
    return n;
}

/* Skips what an item pack_read_item returned still holds: a list's
 * elements, a map's keys and values, a structure's fields. */
static int skip_contents(struct pack_reader *r, const struct pack_item *it)
{
    uint64_t n = it->kind == PACK_LIST || it->kind == PACK_STRUCT ? it->size
                 : it->kind == PACK_MAP                           ? 2 * (uint64_t)it->size
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
    if (it.kind != PACK_INT)
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
        if ((rc = pack_read_item(r, &z)) || z.kind != PACK_STRING)
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

static int xc_struct(struct pack_reader *r, const struct pack_item *it, struct buf *b,
                     struct xc_stats *st)
{
    char text[XC_STRUCT_TEXT];
    size_t n = 0;
    int rc = xc_struct_text(r, it, text, &n, st);
    return rc ? rc : fdb_param_write_string(b, text, n);
}

static int xc_value_at(struct pack_reader *r, struct buf *b, struct xc_stats *st, int depth)
{
    struct pack_item it;
    size_t mark = b->len;
    int rc = pack_read_item(r, &it);
    if (rc)
        return rc;
    switch (it.kind) {
    case PACK_NULL:
        return fdb_param_write_null(b);
    case PACK_BOOL:
        return fdb_param_write_bool(b, it.b);
    case PACK_INT:
        return fdb_param_write_int(b, it.i);
    case PACK_FLOAT:
        if (!isfinite(it.f)) {
            st->dropped_nan++;
            return 1;
        }
        return fdb_param_write_double(b, it.f);
    case PACK_STRING:
        if (memchr(it.data, 0, it.size)) {
            st->dropped_nul++;
            return 1;
        }
        return fdb_param_write_string(b, (const char *)it.data, it.size);
    case PACK_BYTES:
        st->dropped_bytes++;
        return 1;
    case PACK_LIST: {
        if (depth <= 0) { /* Neo4j properties never nest lists; a peer that does is cut off */
            rc = skip_contents(r, &it);
            if (!rc)
                st->dropped_other++;
            return rc ? rc : 1;
        }
        rc = fdb_param_list_begin(b);
        int dropped = 0;
        for (uint32_t i = 0; !rc && i < it.size; i++) {
            if (i)
                rc = fdb_param_write_sep(b);
            if (!rc) {
                rc = xc_value_at(r, b, st, depth - 1);
                if (rc == 1) { /* one bad element: the whole list goes, by rule */
                    dropped = 1;
                    rc = 0;
                    for (uint32_t j = i + 1; !rc && j < it.size; j++)
                        rc = pack_skip(r, PACK_DEFAULT_MAX_DEPTH);
                    break;
                }
            }
        }
        if (!rc && !dropped)
            rc = fdb_param_list_end(b);
        if (rc || dropped) {
            rollback(b, mark);
            return rc ? rc : 1;
        }
        return 0;
    }
    case PACK_MAP: /* not a Neo4j property type; dropped by rule */
        for (uint32_t i = 0; i < 2 * it.size; i++)
            if ((rc = pack_skip(r, PACK_DEFAULT_MAX_DEPTH)))
                return rc;
        st->dropped_other++;
        return 1;
    case PACK_STRUCT:
        rc = xc_struct(r, &it, b, st);
        if (rc)
            rollback(b, mark);
        return rc;
    }
    return FS_EMALFORMED;
}

int xc_value(struct pack_reader *r, struct buf *b, struct xc_stats *st)
{
    return xc_value_at(r, b, st, XC_MAX_LIST_DEPTH);
}

/* A list of numbers written as doubles, for vecf32(). */
static int xc_embedding(struct pack_reader *r, struct buf *b, struct xc_stats *st)
{
    size_t mark = b->len;
    struct pack_item it;
    int rc = pack_read_item(r, &it);
    if (rc)
        return rc;
    if (it.kind != PACK_LIST) { /* not a vector: keep it as an ordinary value? no: drop */
        if ((rc = skip_contents(r, &it)))
            return rc;
        if (it.kind == PACK_NULL)
            return fdb_param_write_null(b);
        st->dropped_other++;
        return 1;
    }
    rc = fdb_param_list_begin(b);
    for (uint32_t i = 0; !rc && i < it.size; i++) {
        struct pack_item v;
        if (i)
            rc = fdb_param_write_sep(b);
        if (!rc)
            rc = pack_read_item(r, &v);
        if (rc)
            break;
        if (v.kind == PACK_FLOAT && isfinite(v.f))
            /* vecf32 keeps a float: its shortest text is about half as long */
            rc = fabs(v.f) <= FLT_MAX ? fdb_param_write_float32(b, (float)v.f)
                                      : fdb_param_write_double(b, v.f);
        else if (v.kind == PACK_INT)
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
    if (pack_read_item(r, &it) || it.kind != PACK_STRUCT || it.size > 4)
        goto no;
    bool zone_id = it.tag == PACK_TAG_DATE_TIME_ZONE_ID;
    for (uint32_t i = 0; i < it.size; i++) {
        struct pack_item z;
        if (zone_id && i == 2 ? pack_read_item(r, &z) || z.kind != PACK_STRING
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

/* An embedding in verify's canonical form (see xc_rules.emb_canonical). */
static int xc_embedding_canon(struct pack_reader *r, struct buf *b, struct xc_stats *st)
{
    struct pack_item it;
    int rc = pack_read_item(r, &it);
    if (rc)
        return rc;
    if (it.kind != PACK_LIST) {
        if ((rc = skip_contents(r, &it)))
            return rc;
        if (it.kind == PACK_NULL)
            return 0;
        st->dropped_other++;
        return 1;
    }
    size_t mark = b->len;
    rc = buf_printf(b, "v%u[", it.size);
    for (uint32_t i = 0; !rc && i < it.size; i++) {
        struct pack_item v;
        if ((rc = pack_read_item(r, &v)))
            break;
        if ((v.kind != PACK_FLOAT || !isfinite(v.f)) && v.kind != PACK_INT) {
            rollback(b, mark);
            return drop_embedding(r, &v, it.size - i - 1, st);
        }
        float f = (float)(v.kind == PACK_FLOAT ? v.f : (double)v.i);
        uint32_t bits;
        memcpy(&bits, &f, sizeof bits);
        rc = buf_append(b, &bits, sizeof bits);
    }
    rc = rc ? rc : buf_append_byte(b, ']');
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
    if (pack_read_item(&peek, &v) || v.kind != PACK_STRING || v.size != 0)
        return false;
    *r = peek;
    return true;
}

int xc_props(struct pack_reader *r, const struct xc_rules *rules, struct buf *b, struct buf *emb,
             struct xc_native *nt, struct xc_stats *st)
{
    if (nt)
        nt->n = 0;
    struct pack_item it;
    int rc = pack_read_item(r, &it);
    if (rc)
        return rc;
    if (it.kind != PACK_MAP)
        return FS_EMALFORMED;
    bool seen[8] = {false};
    rc = fdb_param_map_begin(b);
    bool first = true;
    for (uint32_t i = 0; !rc && i < it.size; i++) {
        struct pack_item k;
        if ((rc = pack_read_item(r, &k)))
            break;
        if (k.kind != PACK_STRING) {
            rc = FS_EMALFORMED;
            break;
        }
        int e = -1;
        for (int j = 0; j < rules->nembeddings && j < 8; j++)
            if (strlen(rules->embeddings[j]) == k.size &&
                !memcmp(rules->embeddings[j], k.data, k.size))
                e = j;
        if (e >= 0) {
            buf_reset(&emb[e]);
            rc = rules->emb_canonical ? xc_embedding_canon(r, &emb[e], st)
                                      : xc_embedding(r, &emb[e], st);
            if (rc == 1) {
                rc = rules->emb_canonical ? 0 : fdb_param_write_null(&emb[e]);
            }
            seen[e] = rc == 0;
            continue;
        }
        if (rules->native_temporal && nt && nt->n < XC_MAX_NATIVE &&
            k.size < sizeof nt->v[0].name && !memchr(k.data, '`', k.size) &&
            !memchr(k.data, 0, k.size) && !memchr(k.data, 0x1c, k.size) &&
            !memchr(k.data, 0x1d, k.size) && native_temporal(r, &nt->v[nt->n])) {
            memcpy(nt->v[nt->n].name, k.data, k.size);
            nt->v[nt->n].name[k.size] = '\0';
            nt->n++;
            continue;
        }
        size_t mark = b->len;
        if (!first)
            rc = fdb_param_write_sep(b);
        if (!rc)
            rc = fdb_param_map_key(b, (const char *)k.data, k.size);
        if (rc == FS_EUNSUPPORTED) { /* a backtick in the name */
            rollback(b, mark);
            st->dropped_key++;
            rc = pack_skip(r, PACK_DEFAULT_MAX_DEPTH);
            continue;
        }
        if (!rc && xc_take_empty_group_id(r, rules, k.data, k.size))
            rc = fdb_param_write_string(b, rules->empty_group_id, strlen(rules->empty_group_id));
        else if (!rc)
            rc = xc_value(r, b, st);
        if (rc == 1) {
            rollback(b, mark);
            rc = 0;
            continue;
        }
        first = false;
    }
    if (!rc)
        rc = fdb_param_map_end(b);
    for (int j = 0; !rc && j < rules->nembeddings && j < 8; j++)
        if (!seen[j]) {
            buf_reset(&emb[j]);
            if (!rules->emb_canonical)
                rc = fdb_param_write_null(&emb[j]);
        }
    return rc;
}

/* ---- The same rules into GRAPH.BULK values (full sync's bulk method) ------- */

static int xc_value_bulk_at(struct pack_reader *r, struct buf *b, struct xc_stats *st, int depth)
{
    struct pack_item it;
    size_t mark = b->len;
    int rc = pack_read_item(r, &it);
    if (rc)
        return rc;
    switch (it.kind) {
    case PACK_NULL:
        return fdb_bulk_null(b);
    case PACK_BOOL:
        return fdb_bulk_bool(b, it.b);
    case PACK_INT:
        return fdb_bulk_long(b, it.i);
    case PACK_FLOAT:
        if (!isfinite(it.f)) {
            st->dropped_nan++;
            return 1;
        }
        return fdb_bulk_double(b, it.f);
    case PACK_STRING:
        rc = fdb_bulk_string(b, (const char *)it.data, it.size);
        if (rc == FS_EUNSUPPORTED) {
            st->dropped_nul++;
            return 1;
        }
        return rc;
    case PACK_BYTES:
        st->dropped_bytes++;
        return 1;
    case PACK_LIST: {
        if (depth <= 0) { /* Neo4j properties never nest lists; a peer that does is cut off */
            rc = skip_contents(r, &it);
            if (!rc)
                st->dropped_other++;
            return rc ? rc : 1;
        }
        rc = fdb_bulk_array(b, it.size);
        for (uint32_t i = 0; !rc && i < it.size; i++) {
            rc = xc_value_bulk_at(r, b, st, depth - 1);
            if (rc == 1) /* one bad element: the whole list goes, by rule */
                for (uint32_t j = i + 1; j < it.size; j++)
                    if (pack_skip(r, PACK_DEFAULT_MAX_DEPTH)) {
                        rc = FS_EMALFORMED;
                        break;
                    }
        }
        if (rc)
            rollback(b, mark);
        return rc;
    }
    case PACK_MAP:
        for (uint32_t i = 0; i < 2 * it.size; i++)
            if ((rc = pack_skip(r, PACK_DEFAULT_MAX_DEPTH)))
                return rc;
        st->dropped_other++;
        return 1;
    case PACK_STRUCT: {
        char text[XC_STRUCT_TEXT];
        size_t n = 0;
        rc = xc_struct_text(r, &it, text, &n, st);
        return rc ? rc : fdb_bulk_string(b, text, n);
    }
    }
    return FS_EMALFORMED;
}

int xc_value_bulk(struct pack_reader *r, struct buf *b, struct xc_stats *st)
{
    return xc_value_bulk_at(r, b, st, XC_MAX_LIST_DEPTH);
}

/* An embedding: a list of numbers, as an array for vecf32() once loaded. */
static int xc_embedding_bulk(struct pack_reader *r, struct buf *b, struct xc_stats *st)
{
    size_t mark = b->len;
    struct pack_item it;
    int rc = pack_read_item(r, &it);
    if (rc)
        return rc;
    if (it.kind != PACK_LIST) {
        if ((rc = skip_contents(r, &it)))
            return rc;
        if (it.kind == PACK_NULL)
            return 1; /* left unset, as the query method's vecf32(null) */
        st->dropped_other++;
        return 1;
    }
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
        if (v.kind == PACK_FLOAT && isfinite(v.f)) {
            rc = fdb_bulk_double(b, v.f);
        } else if (v.kind == PACK_INT) {
            rc = fdb_bulk_long(b, v.i);
        } else {
            rc = drop_embedding(r, &v, it.size - i - 1, st);
        }
    }
    if (rc)
        rollback(b, mark);
    return rc;
}

int xc_props_bulk(struct pack_reader *r, const struct xc_rules *rules, struct buf *names,
                  struct buf *vals, uint32_t *nprops, unsigned *emb_seen, struct xc_stats *st)
{
    *nprops = 0;
    struct pack_item it;
    int rc = pack_read_item(r, &it);
    if (rc)
        return rc;
    if (it.kind != PACK_MAP)
        return FS_EMALFORMED;
    for (uint32_t i = 0; !rc && i < it.size; i++) {
        struct pack_item k;
        if ((rc = pack_read_item(r, &k)))
            break;
        if (k.kind != PACK_STRING) {
            rc = FS_EMALFORMED;
            break;
        }
        /* the same names the parameter text refuses: a backtick (or a NUL) */
        if (memchr(k.data, '`', k.size) || memchr(k.data, 0, k.size)) {
            st->dropped_key++;
            rc = pack_skip(r, PACK_DEFAULT_MAX_DEPTH);
            continue;
        }
        int e = -1;
        for (int j = 0; j < rules->nembeddings && j < 8; j++)
            if (strlen(rules->embeddings[j]) == k.size &&
                !memcmp(rules->embeddings[j], k.data, k.size))
                e = j;
        size_t at = vals->len;
        if (e < 0 && xc_take_empty_group_id(r, rules, k.data, k.size))
            rc = fdb_bulk_string(vals, rules->empty_group_id, strlen(rules->empty_group_id));
        else
            rc = e >= 0 ? xc_embedding_bulk(r, vals, st) : xc_value_bulk(r, vals, st);
        if (rc == 0 && vals->len == at + 1 && vals->data[at] == FDB_BULK_NULL) {
            rollback(vals, at); /* null: the property is left out */
            continue;
        }
        if (rc == 1) {
            rc = 0;
            continue;
        }
        if (rc)
            break;
        if (e >= 0)
            *emb_seen |= 1u << e;
        rc = buf_append(names, k.data, k.size);
        rc = rc ? rc : buf_append_byte(names, 0);
        (*nprops)++;
    }
    return rc;
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
