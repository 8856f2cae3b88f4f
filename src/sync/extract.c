/* The Neo4j side of every mode: query texts and the one reader of their records. */
#include "sync/extract.h"

#include <stdio.h>
#include <string.h>

#include "util/err.h"

_Static_assert(SYNC_KEY_CAP == GK_CAP, "a generic key fits an item key");

/* Which groups a keyset query reads: all, group $g, or the groups of list $gs (then the
 * group is the last column, for the caller to route each row to its group's graph). */
enum keyset_by { BY_ALL, BY_GROUP, BY_GROUPS };

/* t's group expression. */
static const char *group_expr(const struct sync_type *t)
{
    return t->edge ? "coalesce(r.group_id, a.group_id)" : "n.group_id";
}

/* " AND <t's group> = $g" (or "IN $gs") when by says so. */
static int group_filter(struct buf *q, const struct sync_type *t, enum keyset_by by)
{
    if (by == BY_ALL)
        return 0;
    return buf_printf(q, " AND %s %s", group_expr(t), by == BY_GROUPS ? "IN $gs" : "= $g");
}

/* Every item of t meeting cond on its key (and the groups by says), in key order. */
static int keyset_query(struct buf *q, const struct sync_type *t, const char *cond,
                        enum keyset_by by)
{
    int rc;
    if (!t->edge)
        rc = buf_printf(q, "MATCH (n:`%s`) WHERE n.uuid %s", t->name, cond);
    else
        rc = buf_printf(q, "MATCH (a:`%s`)-[r:`%s`]->(b%s%s) WHERE r.uuid %s", t->src_label,
                        t->name, t->dst_label ? ":" : "", t->dst_label ? t->dst_label : "", cond);
    rc = rc ? rc : group_filter(q, t, by);
    if (!t->edge)
        rc = rc ? rc : buf_append_str(q, " RETURN n, n.uuid");
    else
        rc = rc ? rc : buf_printf(q, " RETURN r, a.uuid, b.uuid, %s, r.uuid", t->dst_expr);
    if (by == BY_GROUPS)
        rc = rc ? rc : buf_printf(q, ", %s", group_expr(t));
    return rc ? rc : buf_printf(q, " ORDER BY %s.uuid", t->edge ? "r" : "n");
}

int extract_full_query(struct buf *q, const struct sync_type *t, bool by_group)
{
    return keyset_query(q, t, "> $after", by_group ? BY_GROUP : BY_ALL);
}

int extract_verify_query(struct buf *q, const struct sync_type *t, bool by_groups)
{
    return keyset_query(q, t, "IS NOT NULL", by_groups ? BY_GROUPS : BY_ALL);
}

static int prefix_match_head(struct buf *q, const struct sync_type *t, const char **v);

int extract_slice_query(struct buf *q, const struct sync_type *t, bool by_groups, bool bounded)
{
    const char *cond = !bounded  ? "> $after"
                       : t->edge ? "> $after AND r.uuid <= $upto"
                                 : "> $after AND n.uuid <= $upto";
    return keyset_query(q, t, cond, by_groups ? BY_GROUPS : BY_ALL);
}

int extract_slice_bound_query(struct buf *q, const struct sync_type *t, bool by_groups)
{
    const char *v;
    int rc = prefix_match_head(q, t, &v);
    rc = rc ? rc : buf_printf(q, "%s.uuid > $after", v);
    rc = rc ? rc : group_filter(q, t, by_groups ? BY_GROUPS : BY_ALL);
    return rc ? rc : buf_printf(q, " RETURN %s.uuid AS k ORDER BY k SKIP $skip LIMIT 1", v);
}

int extract_keys_query(struct buf *q, const struct sync_type *t, bool by_group)
{
    return keyset_query(q, t, "IN $keys", by_group ? BY_GROUP : BY_ALL);
}

/* "MATCH <t's pattern> WHERE " (*v the variable). */
static int prefix_match_head(struct buf *q, const struct sync_type *t, const char **v)
{
    *v = t->edge ? "r" : "n";
    return t->edge ? buf_printf(q, "MATCH (a:`%s`)-[r:`%s`]->(b%s%s) WHERE ", t->src_label, t->name,
                                t->dst_label ? ":" : "", t->dst_label ? t->dst_label : "")
                   : buf_printf(q, "MATCH (n:`%s`) WHERE ", t->name);
}

int extract_old_filter(struct buf *q, const struct sync_type *t, bool old, bool cache)
{
    if (!old || !t->birth)
        return 0;
    /* the cache's pattern names no endpoint (a relationship is sought by its key's index) */
    const char *end = !cache || !t->edge   ? NULL
                      : t->birth[0] == 'a' ? "startNode(r)"
                      : t->birth[0] == 'b' ? "endNode(r)"
                                           : NULL;
    return end ? buf_printf(q, " AND NOT coalesce(%s%s > $bt, false)", end, t->birth + 1)
               : buf_printf(q, " AND NOT coalesce(%s > $bt, false)", t->birth);
}

int extract_cache_match(struct buf *q, const struct sync_type *t, bool old)
{
    if (!t->edge)
        return buf_printf(q, "MATCH (n:`%s`)", t->name);
    /* only the endpoint the filter reads is named, by its label (an index on its time) */
    bool a = old && t->birth && t->birth[0] == 'a';
    bool b = old && t->birth && t->birth[0] == 'b' && t->dst_label;
    return buf_printf(q, "MATCH (%s%s%s)-[r:`%s`]->(%s%s%s)", a ? "a:`" : "", a ? t->src_label : "",
                      a ? "`" : "", t->name, b ? "b:`" : "", b ? t->dst_label : "", b ? "`" : "");
}

/* "MATCH <t's pattern> WHERE <key condition>", the old filter and the group filter; *v the
 * variable. */
static int prefix_match(struct buf *q, const struct sync_type *t, bool by_group, bool ranged,
                        bool old, const char **v)
{
    int rc = prefix_match_head(q, t, v);
    rc = rc       ? rc
         : ranged ? buf_printf(q, "%s.uuid >= $p AND %s.uuid < $hi", *v, *v)
                  : buf_printf(q, "%s.uuid STARTS WITH $p", *v);
    rc = rc ? rc : extract_old_filter(q, t, old, false);
    rc = rc ? rc : group_filter(q, t, by_group ? BY_GROUP : BY_ALL);
    return rc;
}

int extract_prefix_query(struct buf *q, const struct sync_type *t, bool by_group, bool ranged,
                         bool old, bool by_char)
{
    const char *v;
    int rc = prefix_match(q, t, by_group, ranged, old, &v);
    if (by_char)
        return rc ? rc : buf_printf(q, " RETURN substring(%s.uuid, $l, 1), count(*)", v);
    return rc ? rc : buf_printf(q, " RETURN %s.uuid", v);
}

/* Type i's "MATCH ... WHERE <key in the prefix's range $pI .. $hI>[ AND <group>]"; *v its
 * variable. ranged: the range has an upper bound (a non-empty prefix). */
static int histogram_match(struct buf *q, const struct sync_type *t, int i, bool ranged,
                           bool by_group, bool cache, bool old, const char **v)
{
    *v = t->edge ? "r" : "n";
    int rc;
    if (t->edge && cache)
        rc = buf_printf(q, "MATCH ()-[r:`%s`]->()", t->name);
    else if (t->edge)
        rc = buf_printf(q, "MATCH (a:`%s`)-[r:`%s`]->(b%s%s)", t->src_label, t->name,
                        t->dst_label ? ":" : "", t->dst_label ? t->dst_label : "");
    else
        rc = buf_printf(q, "MATCH (n:`%s`)", t->name);
    /* a range, even for the whole type ($pI = ''): FalkorDB seeks relationships by an index
     * range, and would otherwise traverse from every node */
    rc = rc ? rc : buf_printf(q, " WHERE %s.uuid >= $p%d", *v, i);
    if (ranged)
        rc = rc ? rc : buf_printf(q, " AND %s.uuid < $h%d", *v, i);
    /* FalkorDB: the filter after the range's WITH, so that the range stays an index seek */
    rc = rc || cache ? rc : extract_old_filter(q, t, old, false);
    /* FalkorDB's string range index can hand back keys outside the range (seen on 4.16 when
     * the range starts below the smallest key): the range is checked again on the rows */
    if (cache) {
        rc = rc ? rc : buf_printf(q, " WITH %s WHERE (%s.uuid + '') >= $p%d", *v, *v, i);
        if (ranged)
            rc = rc ? rc : buf_printf(q, " AND (%s.uuid + '') < $h%d", *v, i);
        rc = rc ? rc : extract_old_filter(q, t, old, true);
    }
    if (by_group && !cache)
        rc = rc ? rc
                : buf_append_str(q, t->edge ? " AND coalesce(r.group_id, a.group_id) = $g"
                                            : " AND n.group_id = $g");
    return rc;
}

int extract_histogram_bounds(const char *prefix, char *hi)
{
    size_t n = strnlen(prefix, 4);
    if (n == 4 || strspn(prefix, "0123456789abcdef") != n)
        return FS_EINVAL;
    memcpy(hi, prefix, n + 1);
    if (n)
        hi[n - 1]++; /* the prefix with its last character incremented: above all its keys */
    return 0;
}

int extract_histogram_union(struct buf *q, const struct sync_type *types, int ntypes,
                            char (*prefixes)[4], bool by_group, bool cache, bool old)
{
    int rc = 0;
    for (int i = 0; !rc && i < ntypes; i++) {
        char hi[4];
        if (extract_histogram_bounds(prefixes[i], hi))
            return FS_EINVAL;
        size_t n = strlen(prefixes[i]);
        for (int h = 0; !rc && h < 2; h++) {
            const char *v;
            rc = i || h ? buf_append_str(q, " UNION ALL ") : 0;
            rc = rc ? rc : histogram_match(q, &types[i], i, n > 0, by_group, cache, old, &v);
            /* the last two characters (padded: a shorter key is no error), or the two after
             * the prefix */
            rc = rc  ? rc
                 : h ? buf_printf(q, " RETURN %d AS t, 1 AS h, substring(%s.uuid, %zu, 2) AS b", i,
                                  v, n)
                     : buf_printf(q,
                                  " RETURN %d AS t, 0 AS h, substring('  ' + %s.uuid, "
                                  "size(%s.uuid), 2) AS b",
                                  i, v, v);
            rc = rc ? rc : buf_append_str(q, ", count(*) AS c");
        }
    }
    return rc;
}

int extract_bucket_query(struct buf *q, const struct sync_type *t, bool by_group, bool old,
                         bool cache)
{
    const char *v = t->edge ? "r" : "n";
    int rc;
    if (cache) {
        /* a scan, not the key index: FalkorDB reads 107k entities' keys in 29 ms so and in
         * 190-270 ms through the index (RELATES_TO: 175k in 350-390 ms against 510-680);
         * items without a key count under a null prefix, which the caller skips */
        rc = extract_cache_match(q, t, false);
        rc = rc || !old ? rc : buf_append_str(q, " WHERE true");
        rc = rc ? rc : extract_old_filter(q, t, old, true);
    } else {
        rc = prefix_match_head(q, t, &v);
        rc = rc ? rc : buf_printf(q, "%s.uuid >= ''", v);
        rc = rc ? rc : extract_old_filter(q, t, old, false);
        rc = rc ? rc : group_filter(q, t, by_group ? BY_GROUP : BY_ALL);
    }
    return rc ? rc : buf_printf(q, " RETURN substring(%s.uuid, 0, $k), count(*)", v);
}

int extract_group_column(struct buf *q, const struct sync_type *t)
{
    return buf_printf(q, ", %s", group_expr(t));
}

int extract_ranges_query(struct buf *q, const struct sync_type *t, bool by_group, bool old,
                         bool cache)
{
    const char *v = t->edge ? "r" : "n";
    int rc = buf_append_str(q, "UNWIND $ps AS p ");
    if (cache) {
        rc = rc ? rc : extract_cache_match(q, t, false);
        rc =
            rc ? rc
               : buf_printf(q,
                            " WHERE %s.uuid >= p[0] AND %s.uuid < p[1] WITH p, %s WHERE (%s.uuid + "
                            "'') >= p[0] AND (%s.uuid + '') < p[1]",
                            v, v, v, v, v);
        rc = rc ? rc : extract_old_filter(q, t, old, true);
    } else {
        rc = rc ? rc : prefix_match_head(q, t, &v);
        rc = rc ? rc : buf_printf(q, "%s.uuid >= p[0] AND %s.uuid < p[1]", v, v);
        rc = rc ? rc : extract_old_filter(q, t, old, false);
        rc = rc ? rc : group_filter(q, t, by_group ? BY_GROUP : BY_ALL);
    }
    return rc ? rc : buf_printf(q, " RETURN %s.uuid", v);
}

int extract_young_keys_query(struct buf *q, const struct sync_type *t, bool by_group)
{
    const char *v;
    int rc = prefix_match_head(q, t, &v);
    rc = rc ? rc : buf_printf(q, "%s > $bt", t->birth ? t->birth : "null");
    rc = rc ? rc : group_filter(q, t, by_group ? BY_GROUP : BY_ALL);
    return rc ? rc : buf_printf(q, " RETURN %s.uuid", v);
}

int extract_census_union(struct buf *q, const struct sync_type *types, int ntypes)
{
    int rc = 0;
    for (int i = 0; !rc && i < ntypes; i++) {
        const struct sync_type *t = &types[i];
        const char *v;
        rc = i ? buf_append_str(q, " UNION ALL ") : 0;
        /* the count alone, then the literals: an aggregation grouped by literals reads every
         * item instead of the count store, and gives no row at all for none */
        rc = rc        ? rc
             : t->edge ? buf_printf(q, "MATCH (a:`%s`)-[r:`%s`]->() WITH count(r) AS c",
                                    t->src_label, t->name)
                       : buf_printf(q, "MATCH (n:`%s`) WITH count(n) AS c", t->name);
        rc = rc ? rc : buf_printf(q, " RETURN c, %d AS t, 0 AS y", i);
        if (!t->birth)
            continue;
        rc = rc ? rc : buf_append_str(q, " UNION ALL ");
        rc = rc ? rc : prefix_match_head(q, t, &v);
        rc = rc ? rc
                : buf_printf(q, "%s > $bt WITH count(*) AS c RETURN c, %d AS t, 1 AS y", t->birth,
                             i);
    }
    return rc;
}

int extract_young_union(struct buf *q, const struct sync_type *types, int ntypes)
{
    int rc = 0, n = 0;
    for (int i = 0; !rc && i < ntypes; i++) {
        const struct sync_type *t = &types[i];
        if (!t->birth)
            continue;
        rc = n++ ? buf_append_str(q, " UNION ALL ") : 0;
        rc = rc ? rc : extract_cache_match(q, t, true);
        rc = rc ? rc
                : buf_printf(q, " WHERE %s > $bt RETURN %d AS t, %s.uuid AS k", t->birth, i,
                             t->edge ? "r" : "n");
    }
    return rc;
}

int extract_present_query(struct buf *q, const struct sync_type *t)
{
    const char *v;
    int rc = prefix_match_head(q, t, &v);
    return rc ? rc : buf_printf(q, "%s.uuid IN $keys RETURN %s.uuid", v, v);
}

int extract_count_query(struct buf *q, const struct sync_type *t, bool by_group, bool young)
{
    if (young && t->birth) { /* an index seek on the time, then the group's rows */
        const char *v;
        int rc = prefix_match_head(q, t, &v);
        rc = rc ? rc : buf_printf(q, "%s > $bt", t->birth);
        rc = rc ? rc : group_filter(q, t, by_group ? BY_GROUP : BY_ALL);
        return rc ? rc : buf_printf(q, " RETURN count(%s)", v);
    }
    if (!t->edge)
        return buf_printf(q, "MATCH (n:`%s`)%s RETURN count(n)", t->name,
                          by_group ? " WHERE n.group_id = $g" : "");
    return buf_printf(q, "MATCH (a:`%s`)-[r:`%s`]->()%s RETURN count(r)", t->src_label, t->name,
                      by_group ? " WHERE coalesce(r.group_id, a.group_id) = $g" : "");
}

int extract_generic_query(struct buf *q, const struct sync_type *t, const char *kp, bool ordered)
{
    const char *v = t->edge ? "r" : "n";
    int rc = buf_append_str(q, t->edge ? "MATCH (a)-[r]->(b)" : "MATCH (n)");
    rc = rc ? rc : buf_printf(q, " RETURN %s, ", v);
    if (t->edge)
        for (int i = 0; !rc && i < 2; i++) {
            const char *e = i ? "b" : "a";
            rc = gk_neo4j_value_expr(q, e, kp);
            rc = rc ? rc
                    : buf_printf(q,
                                 ", elementId(%s), head([l IN labels(%s) WHERE NOT l "
                                 "CONTAINS '`' | l]), ",
                                 e, e);
        }
    rc = rc ? rc : gk_neo4j_value_expr(q, v, kp);
    rc = rc ? rc : buf_printf(q, ", elementId(%s)", v);
    if (ordered) {
        rc = rc ? rc : buf_append_str(q, " ORDER BY ");
        rc = rc ? rc : gk_neo4j_key_expr(q, v, kp);
    }
    return rc;
}

int extract_group_params(struct buf *p, const char *after, const char *group)
{
    int rc = pack_write_map_header(p, (after ? 1 : 0) + (group ? 1 : 0));
    if (after) {
        rc = rc ? rc : pack_write_cstr(p, "after");
        rc = rc ? rc : pack_write_cstr(p, after);
    }
    if (group) {
        rc = rc ? rc : pack_write_cstr(p, "g");
        rc = rc ? rc : pack_write_cstr(p, group);
    }
    return rc;
}

/* A query template with one %s: the group filter " AND <expr> = $g", or nothing. */
static int with_group_filter(struct buf *q, const char *tmpl, const char *expr, const char *group)
{
    char gf[200] = "";
    if (group)
        snprintf(gf, sizeof gf, " AND %s = $g", expr);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    return buf_printf(q, tmpl, gf);
#pragma GCC diagnostic pop
}

int extract_max_query(struct buf *q, const struct sync_wm_family *f, const char *group)
{
    buf_reset(q);
    return with_group_filter(q, f->max_query, f->group, group);
}

const struct extract_change extract_changes[] = {
    {0, "Entity", "Entity", "n.group_id",
     "MATCH (n:Entity) WHERE n.created_at > $since%s RETURN n, n.uuid%s, n.created_at"},
    {0, NULL, "Episodic", "n.group_id",
     "MATCH (ep:Episodic)-[:MENTIONS]->(n:Entity) WHERE ep.created_at > $since%s "
     "WITH n, max(ep.created_at) AS ts RETURN n, n.uuid%s, ts"},
    {1, "Episodic", "Episodic", "n.group_id",
     "MATCH (n:Episodic) WHERE n.created_at > $since%s RETURN n, n.uuid%s, n.created_at"},
    {2, "Community", "Community", "n.group_id",
     "MATCH (n:Community) WHERE n.created_at > $since%s RETURN n, n.uuid%s, n.created_at"},
    {3, "Saga", "Saga", "n.group_id",
     "MATCH (n:Saga) WHERE n.created_at > $since%s RETURN n, n.uuid%s, n.created_at"},
    {4, "RELATES_TO", "RELATES_TO", "coalesce(r.group_id, a.group_id)",
     "MATCH (a:Entity)-[r:RELATES_TO]->(b:Entity) WHERE r.created_at > $since%s "
     "RETURN r, a.uuid, b.uuid, 'Entity', r.uuid%s, r.created_at"},
    {4, "RELATES_TO", "RELATES_TO", "coalesce(r.group_id, a.group_id)",
     "MATCH (a:Entity)-[r:RELATES_TO]->(b:Entity) WHERE r.expired_at > $since%s "
     "RETURN r, a.uuid, b.uuid, 'Entity', r.uuid%s, r.expired_at"},
    {4, NULL, "Episodic", "coalesce(r.group_id, a.group_id)",
     "MATCH (ep:Episodic)-[:MENTIONS]->(:Entity)-[r:RELATES_TO]-(:Entity) "
     "WHERE ep.created_at > $since AND ep.uuid IN r.episodes "
     "WITH r, max(ep.created_at) AS ts, startNode(r) AS a, endNode(r) AS b "
     "WHERE a:Entity AND b:Entity%s RETURN r, a.uuid, b.uuid, 'Entity', r.uuid%s, ts"},
    {5, "MENTIONS", "MENTIONS", "coalesce(r.group_id, a.group_id)",
     "MATCH (a:Episodic)-[r:MENTIONS]->(b:Entity) WHERE a.created_at > $since%s "
     "RETURN r, a.uuid, b.uuid, 'Entity', r.uuid%s, a.created_at"},
    /* From the community's created_at: Graphiti indexes no HAS_MEMBER property, so a filter
     * on r.created_at reads every membership each run (0.45 s of Neo4j at 100k entities, half
     * a core at a 1 s interval). A member added to an older community changes the type's
     * count and key digest, which the delete check (deletes.c) repairs in the same run. */
    {6, "HAS_MEMBER", "HAS_MEMBER", "coalesce(r.group_id, a.group_id)",
     "MATCH (a:Community)-[r:HAS_MEMBER]->(b) WHERE a.created_at > $since%s "
     "RETURN r, a.uuid, b.uuid, CASE WHEN b:Community THEN 'Community' ELSE 'Entity' "
     "END, r.uuid%s, a.created_at"},
    /* From the Episodic watermark, not their own: a graph whose new episodes join no saga
     * leaves these types' own watermarks behind (never set, without sagas), and each run then
     * read every episode since (12 + 7 ms of Neo4j per idle run on the bench graph). A saga
     * link committed more than the overlap after its episode is repaired by the delete
     * check's counts, as HAS_MEMBER's are. */
    {7, "HAS_EPISODE", "Episodic", "coalesce(r.group_id, a.group_id)",
     "MATCH (a:Saga)-[r:HAS_EPISODE]->(b:Episodic) WHERE b.created_at > $since%s "
     "RETURN r, a.uuid, b.uuid, 'Episodic', r.uuid%s, b.created_at"},
    {8, "NEXT_EPISODE", "Episodic", "coalesce(r.group_id, a.group_id)",
     "MATCH (a:Episodic)-[r:NEXT_EPISODE]->(b:Episodic) WHERE b.created_at > $since%s "
     "RETURN r, a.uuid, b.uuid, 'Episodic', r.uuid%s, b.created_at"},
};
const int extract_nchanges = (int)(sizeof extract_changes / sizeof extract_changes[0]);

int extract_change_query(struct buf *q, const struct extract_change *cq, bool by_groups)
{
    char gf[128] = "", gc[128] = "";
    if (by_groups) {
        snprintf(gf, sizeof gf, " AND %s IN $gs", cq->group);
        snprintf(gc, sizeof gc, ", %s", cq->group);
    }
    buf_reset(q);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    return buf_printf(q, cq->cypher, gf, gc);
#pragma GCC diagnostic pop
}

int extract_change_params(struct buf *p, int64_t since_s, int64_t since_ns,
                          const char *const *groups, int ngroups)
{
    buf_reset(p);
    int rc = pack_write_map_header(p, groups ? 2 : 1);
    rc = rc ? rc : pack_write_cstr(p, "since");
    rc = rc ? rc : pack_write_struct_header(p, PACK_TAG_DATE_TIME, 3);
    rc = rc ? rc : pack_write_int(p, since_s);
    rc = rc ? rc : pack_write_int(p, since_ns);
    rc = rc ? rc : pack_write_int(p, 0);
    if (groups) {
        rc = rc ? rc : pack_write_cstr(p, "gs");
        rc = rc ? rc : pack_write_list_header(p, (uint32_t)ngroups);
        for (int i = 0; !rc && i < ngroups; i++)
            rc = pack_write_cstr(p, groups[i]);
    }
    return rc;
}

/* ---- The record reader ---- */

static int skip_n(struct pack_reader *r, uint32_t n)
{
    int rc = 0;
    for (uint32_t i = 0; !rc && i < n; i++)
        rc = pack_skip(r, PACK_DEFAULT_MAX_DEPTH);
    return rc;
}

int extract_open(struct extract_rec *x, const struct bolt_record *rec, bool edge)
{
    memset(x, 0, sizeof *x);
    x->edge = edge;
    pack_reader_init(&x->r, rec->data, rec->len);
    struct pack_item it, f;
    int rc = pack_read_item(&x->r, &it);       /* the record's list */
    rc = rc ? rc : pack_read_item(&x->r, &it); /* Node or Relationship */
    if (rc || it.kind != FS_VALUE_STRUCT)
        return rc ? rc : FS_EPROTOCOL;
    x->nfields = it.size;
    if (x->nfields < (edge ? 5u : 3u))
        return FS_EPROTOCOL;
    rc = skip_n(&x->r, edge ? 3 : 1);         /* id (start, end) */
    rc = rc ? rc : pack_read_item(&x->r, &f); /* labels, or the type */
    if (rc)
        return rc;
    if (!edge) {
        if (f.kind != FS_VALUE_LIST)
            return FS_EPROTOCOL;
        x->nlabels = f.size;
        return 0;
    }
    if (f.kind != FS_VALUE_STRING || f.size >= SYNC_KEY_CAP)
        return FS_EMALFORMED;
    x->type = (const char *)f.data;
    x->tlen = f.size;
    return 0;
}

int extract_label(struct extract_rec *x, const char **s, size_t *len)
{
    if (!x->nlabels)
        return 0;
    struct pack_item l;
    int rc = pack_read_item(&x->r, &l);
    if (rc)
        return rc;
    if (l.kind != FS_VALUE_STRING)
        return FS_EPROTOCOL;
    x->nlabels--;
    *s = (const char *)l.data;
    *len = l.size;
    return 1;
}

int extract_skip_props(struct extract_rec *x)
{
    int rc = skip_n(&x->r, x->nlabels);
    x->nlabels = 0;
    return rc ? rc : pack_skip(&x->r, PACK_DEFAULT_MAX_DEPTH);
}

/* A string column into out (cap bytes, NUL-terminated). A null is
 * FS_EVANISHED: under concurrent writes Neo4j can hand out a row whose item
 * another transaction deleted after the match (read committed). */
static int read_str(struct pack_reader *r, char *out, size_t cap)
{
    struct pack_item it;
    int rc = pack_read_item(r, &it);
    if (rc)
        return rc;
    if (it.kind == FS_VALUE_NULL)
        return FS_EVANISHED;
    if (it.kind != FS_VALUE_STRING || it.size >= cap)
        return FS_EMALFORMED;
    memcpy(out, it.data, it.size);
    out[it.size] = '\0';
    return 0;
}

/* An optional trailing DateTime column (incremental's change time). */
/* What may follow the key: the group (a string: verify and slices over several groups),
 * then the change's time (a DateTime: incremental). */
static void read_tail(struct pack_reader *r, struct extract_cols *c)
{
    c->has_ts = false;
    c->group = NULL;
    c->glen = 0;
    struct pack_item it, x;
    if (r->pos >= r->len || pack_read_item(r, &it))
        return;
    if (it.kind == FS_VALUE_STRING) {
        c->group = (const char *)it.data;
        c->glen = it.size;
        if (r->pos >= r->len || pack_read_item(r, &it))
            return;
    }
    if (it.kind != FS_VALUE_STRUCT || it.size != 3 ||
        (it.tag != PACK_TAG_DATE_TIME && it.tag != PACK_TAG_DATE_TIME_ZONE_ID))
        return;
    int64_t f[2];
    for (int i = 0; i < 2; i++) {
        if (pack_read_item(r, &x) || x.kind != FS_VALUE_INT)
            return;
        f[i] = x.i;
    }
    c->has_ts = true;
    c->ts_s = f[0];
    c->ts_ns = f[1];
}

int extract_cols(struct extract_rec *x, bool generic, struct extract_cols *c)
{
    int rc = skip_n(&x->r, x->nfields - (x->edge ? 5 : 3)); /* element ids (Bolt 5) */
    c->src[0] = c->dst[0] = c->dst_label[0] = '\0';
    if (!rc && generic) {
        rc = sync_generic_tail(&x->r, x->edge, &c->gc);
        if (!rc)
            memcpy(c->key, c->gc.self.str, sizeof c->key);
    } else if (!rc) {
        if (x->edge) {
            rc = read_str(&x->r, c->src, sizeof c->src);
            rc = rc ? rc : read_str(&x->r, c->dst, sizeof c->dst);
            rc = rc ? rc : read_str(&x->r, c->dst_label, sizeof c->dst_label);
        }
        rc = rc ? rc : read_str(&x->r, c->key, sizeof c->key);
    }
    if (!rc)
        read_tail(&x->r, c);
    return rc;
}

int extract_read_datetime(const struct bolt_record *rec, int64_t *s, int64_t *ns)
{
    struct pack_reader r;
    struct pack_item it, a, b;
    pack_reader_init(&r, rec->data, rec->len);
    if (!pack_read_item(&r, &it) && !pack_read_item(&r, &it) && it.kind == FS_VALUE_STRUCT &&
        it.size == 3 && !pack_read_item(&r, &a) && !pack_read_item(&r, &b) &&
        a.kind == FS_VALUE_INT && b.kind == FS_VALUE_INT) {
        *s = a.i;
        *ns = b.i;
        return 1;
    }
    return 0;
}
