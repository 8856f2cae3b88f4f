/* Graph and key names of a layout, and the group list in Neo4j and in the cache. */
#include "sync/target.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bolt/pack.h"
#include "falkor/cluster.h"
#include "sync/profile.h"
#include "sync/report.h"
#include "util/buf.h"

void sync_names_of(const char *live, struct sync_names *n)
{
    snprintf(n->live, sizeof n->live, "%s", live);
    snprintf(n->shadow, sizeof n->shadow, "%s__falkorsync_shadow", live);
    snprintf(n->old, sizeof n->old, "%s__falkorsync_old", live);
    snprintf(n->ckpt, sizeof n->ckpt, "falkorsync:ckpt:%s", live);
    snprintf(n->wm, sizeof n->wm, "falkorsync:wm:%s", live);
}

/* The hash tag that puts a key in live's slot: "" when live already carries
 * one (a suffix or a prefix without braces keeps it), live itself when it holds
 * no '}', else a short tag found with the same slot. */
static void slot_tag(const char *live, char *tag, size_t cap)
{
    size_t s, n, len = strlen(live);
    tag[0] = '\0';
    if (fdb_key_tag(live, len, &s, &n))
        return;
    if (!strchr(live, '}') && len + 3 <= cap) {
        snprintf(tag, cap, "{%s}", live);
        return;
    }
    unsigned want = fdb_key_slot(live, len);
    for (unsigned i = 0;; i++) { /* about 16384 tries at most */
        char t[16];
        int tl = snprintf(t, sizeof t, "s%x", i);
        if (fdb_key_slot(t, (size_t)tl) == want) {
            snprintf(tag, cap, "{%s}", t);
            return;
        }
    }
}

void sync_names_for(const struct cfg *c, const char *live, struct sync_names *n)
{
    if (!c || !c->falkordb.cluster) {
        sync_names_of(live, n);
        return;
    }
    char tag[SYNC_GRAPH_CAP];
    slot_tag(live, tag, sizeof tag);
    const char *name = live;
    size_t len = strlen(live);
    if (strlen(tag) == len + 2 && !strncmp(tag + 1, live, len)) /* "{alpha}": the tag is the name */
        name = "";
    snprintf(n->live, sizeof n->live, "%s", live);
    snprintf(n->shadow, sizeof n->shadow, "%s%s__falkorsync_shadow", tag, name);
    snprintf(n->old, sizeof n->old, "%s%s__falkorsync_old", tag, name);
    snprintf(n->ckpt, sizeof n->ckpt, "falkorsync:ckpt:%s%s", tag, name);
    snprintf(n->wm, sizeof n->wm, "falkorsync:wm:%s%s", tag, name);
}

bool sync_layout_is_default_group(const char *group)
{
    return !group || !*group || !strcmp(group, SYNC_FALKOR_DEFAULT_GROUP);
}

void sync_group_graph_name(const struct cfg *c, const char *group, char *out, size_t cap)
{
    (void)c;
    /* Graphiti 0.23+ reads group g from the graph named g (no prefix), and its
     * default group from its driver's default graph. */
    snprintf(out, cap, "%s",
             sync_layout_is_default_group(group) ? SYNC_FALKOR_DEFAULT_GRAPH : group);
}

bool sync_layout_default_group_clash(char *const *groups, int ngroups)
{
    bool empty = false, underscore = false;
    for (int i = 0; i < ngroups; i++) {
        empty = empty || !*groups[i];
        underscore = underscore || !strcmp(groups[i], SYNC_FALKOR_DEFAULT_GROUP);
    }
    return empty && underscore;
}

const char *sync_target(const struct cfg *c, char **groups, int g, char *graph, size_t cap)
{
    if (c->falkordb.layout != CFG_LAYOUT_PER_GROUP) {
        snprintf(graph, cap, "%s", c->falkordb.database);
        return NULL;
    }
    sync_group_graph_name(c, groups[g], graph, cap);
    return groups[g];
}

int sync_target_count(const struct cfg *c, int ngroups)
{
    return c->falkordb.layout == CFG_LAYOUT_PER_GROUP ? ngroups : 1;
}

void sync_groups_key(const struct cfg *c, char *out, size_t cap)
{
    snprintf(out, cap, "falkorsync:groups:%s", c->falkordb.database);
}

void sync_reconcile_key(const struct cfg *c, char *out, size_t cap)
{
    snprintf(out, cap, "falkorsync:reconcile:%s", c->falkordb.database);
}

void sync_lease_keys(const struct cfg *c, char *lease, char *token, size_t cap)
{
    snprintf(lease, cap, "falkorsync:lease:{%s}", c->falkordb.database);
    snprintf(token, cap, "falkorsync:lease:{%s}:token", c->falkordb.database);
}

void sync_groups_free(char **groups, int n)
{
    sync_strv_free(groups, n);
}

void sync_group_list_clear(struct sync_group_list *gl)
{
    if (!gl)
        return;
    sync_groups_free(gl->groups, gl->n);
    memset(gl, 0, sizeof *gl);
}

static int groups_copy(char **from, int n, char ***to, int *nto)
{
    *to = NULL;
    *nto = 0;
    int rc = 0;
    for (int i = 0; !rc && i < n; i++) {
        char *g = strdup(from[i]);
        rc = g ? sync_strv_push(to, nto, g) : FS_ENOMEM;
    }
    if (rc) {
        sync_groups_free(*to, *nto);
        *to = NULL;
        *nto = 0;
    }
    return rc;
}

static int group_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The next record whose first value is a string (a group name): 1 with *it set (valid until
 * the next read on s), 0 at the end, <0 on error. Other records are skipped. */
static int next_group(struct bolt_session *s, struct pack_item *it)
{
    struct bolt_record rec;
    int more;
    while ((more = bolt_next(s, &rec)) == 1) {
        struct pack_reader r;
        pack_reader_init(&r, rec.data, rec.len);
        if (!pack_read_item(&r, it) && !pack_read_item(&r, it) && it->kind == FS_VALUE_STRING)
            return 1;
    }
    return more;
}

/* "since": a DateTime of whole seconds, into a PackStream map. */
static int write_since(struct buf *p, int64_t since)
{
    int rc = pack_write_cstr(p, "since");
    rc = rc ? rc : pack_write_struct_header(p, PACK_TAG_DATE_TIME, 3);
    rc = rc ? rc : pack_write_int(p, since);
    rc = rc ? rc : pack_write_int(p, 0);
    return rc ? rc : pack_write_int(p, 0);
}

/* Groups '' and '_' both map to Graphiti's default graph: FS_ECONFIG, why in s->errstr. */
static int default_group_clash(struct bolt_session *s)
{
    snprintf(s->errstr, sizeof s->errstr,
             "groups '' and '_' both exist: both are Graphiti's FalkorDB default group "
             "(graph " SYNC_FALKOR_DEFAULT_GRAPH ") in layout per_group; use layout single");
    return FS_ECONFIG;
}

/* Groups of nodes created after since that gl does not hold, added to it (sorted). */
static int groups_new_since(struct bolt_session *s, struct sync_group_list *gl, int64_t since)
{
    static const char *const labels[] = {"Entity", "Episodic", "Community", "Saga"};
    struct buf q, p;
    buf_init(&q, 1024);
    buf_init(&p, 1024);
    int rc = 0;
    for (int i = 0; !rc && i < 4; i++)
        rc = buf_printf(&q,
                        "%sMATCH (n:%s) WHERE n.created_at > $since AND NOT coalesce(n.group_id, "
                        "'') IN $known RETURN DISTINCT coalesce(n.group_id, '') AS g",
                        i ? " UNION " : "", labels[i]);
    rc = rc ? rc : pack_write_map_header(&p, 2);
    rc = rc ? rc : write_since(&p, since);
    rc = rc ? rc : pack_write_cstr(&p, "known");
    rc = rc ? rc : pack_write_list_header(&p, (uint32_t)gl->n);
    for (int i = 0; !rc && i < gl->n; i++)
        rc = pack_write_cstr(&p, gl->groups[i]);
    rc = rc ? rc : bolt_run(s, q.data, p.data, p.len, BOLT_MODE_READ);
    bool added = false;
    struct pack_item it;
    int more = 0;
    while (!rc && (more = next_group(s, &it)) == 1) {
        char *g = strndup((const char *)it.data, it.size);
        rc = g ? sync_strv_push(&gl->groups, &gl->n, g) : FS_ENOMEM;
        added = true;
    }
    rc = rc ? rc : more < 0 ? more : 0;
    if (added && gl->n > 1)
        qsort(gl->groups, (size_t)gl->n, sizeof *gl->groups, group_cmp);
    if (!rc && added && sync_layout_default_group_clash(gl->groups, gl->n))
        rc = default_group_clash(s);
    buf_deinit(&q);
    buf_deinit(&p);
    return rc;
}

int sync_group_list_get(struct bolt_session *s, struct sync_group_list *gl, int overlap_seconds,
                        char ***groups, int *n)
{
    if (!gl)
        return sync_list_groups(s, groups, n);
    double now = sync_wall_now();
    int rc;
    if (!gl->listed_at || now - gl->listed_at >= SYNC_GROUPS_REFRESH || now < gl->listed_at) {
        char **fresh = NULL;
        int nfresh = 0;
        if ((rc = sync_list_groups(s, &fresh, &nfresh)))
            return rc;
        sync_group_list_clear(gl);
        gl->groups = fresh;
        gl->n = nfresh;
        gl->listed_at = now;
    } else if ((rc = groups_new_since(s, gl, (int64_t)gl->listed_at - overlap_seconds - 1))) {
        sync_group_list_clear(gl); /* listed again by the next run */
        return rc;
    }
    return groups_copy(gl->groups, gl->n, groups, n);
}

void sync_group_list_forget(struct sync_group_list *gl)
{
    if (gl)
        gl->probed_at = 0;
}

int sync_group_list_changed(struct bolt_session *s, struct sync_group_list *gl, int overlap_seconds,
                            char **groups, int n, bool *changed)
{
    double now = sync_wall_now();
    for (int i = 0; i < n; i++)
        changed[i] = true;
    if (!gl || !gl->probed_at || now < gl->probed_at) {
        if (gl)
            gl->probed_at = now;
        return 0;
    }
    static const char q[] =
        "MATCH (n:Entity) WHERE n.created_at > $since RETURN DISTINCT coalesce(n.group_id, '') AS g"
        " UNION MATCH (n:Episodic) WHERE n.created_at > $since"
        " RETURN DISTINCT coalesce(n.group_id, '') AS g"
        " UNION MATCH (n:Community) WHERE n.created_at > $since"
        " RETURN DISTINCT coalesce(n.group_id, '') AS g"
        " UNION MATCH (n:Saga) WHERE n.created_at > $since"
        " RETURN DISTINCT coalesce(n.group_id, '') AS g"
        " UNION MATCH (a)-[r:RELATES_TO]->() WHERE r.created_at > $since"
        " RETURN DISTINCT coalesce(r.group_id, a.group_id, '') AS g"
        " UNION MATCH (a)-[r:RELATES_TO]->() WHERE r.expired_at > $since"
        " RETURN DISTINCT coalesce(r.group_id, a.group_id, '') AS g";
    struct buf p;
    buf_init(&p, 64);
    int rc = pack_write_map_header(&p, 1);
    rc = rc ? rc : write_since(&p, (int64_t)gl->probed_at - overlap_seconds - 1);
    rc = rc ? rc : bolt_run(s, q, p.data, p.len, BOLT_MODE_READ);
    buf_deinit(&p);
    for (int i = 0; !rc && i < n; i++)
        changed[i] = false;
    struct pack_item it;
    int more = 0;
    while (!rc && (more = next_group(s, &it)) == 1) {
        char g[SYNC_GRAPH_CAP];
        snprintf(g, sizeof g, "%.*s", (int)it.size, (const char *)it.data);
        for (int i = 0; i < n; i++) /* by name: Neo4j's order may not be strcmp's */
            if (!strcmp(groups[i], g))
                changed[i] = true;
    }
    rc = rc ? rc : more < 0 ? more : 0;
    if (rc) { /* every group runs */
        for (int i = 0; i < n; i++)
            changed[i] = true;
        return rc;
    }
    gl->probed_at = now;
    return 0;
}

int sync_list_groups(struct bolt_session *s, char ***groups, int *n)
{
    *groups = NULL;
    *n = 0;
    const char *q = "MATCH (x) WHERE x:Entity OR x:Episodic OR x:Community OR x:Saga "
                    "RETURN DISTINCT coalesce(x.group_id, '') AS g ORDER BY g";
    int rc = bolt_run(s, q, NULL, 0, BOLT_MODE_READ);
    if (rc)
        return rc;
    struct pack_item it;
    int more;
    while ((more = next_group(s, &it)) == 1) {
        if ((rc = sync_strv_push(groups, n, strndup((const char *)it.data, it.size))))
            return rc;
    }
    if (more == 0 && sync_layout_default_group_clash(*groups, *n))
        return default_group_clash(s);
    return more < 0 ? more : 0;
}

int sync_track_groups(const struct cfg *c, struct fdb_conn *fdb, char **groups, int ngroups,
                      struct sync_report *srep)
{
    char set[SYNC_KEY_NAME_CAP];
    sync_groups_key(c, set, sizeof set);
    const char *sm[2] = {"SMEMBERS", set};
    redisReply *r = NULL;
    int rc = fdb_commandv(fdb, &r, 2, sm);
    if (rc)
        return rc;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const char *g = r->element[i]->str;
        bool alive = false;
        for (int j = 0; j < ngroups && !alive; j++)
            alive = !strcmp(groups[j], g);
        if (alive)
            continue;
        char graph[SYNC_GRAPH_CAP];
        sync_group_graph_name(c, g, graph, sizeof graph);
        const char *del[2] = {"GRAPH.DELETE", graph};
        if (fdb_commandv(fdb, NULL, 2, del) == 0 && srep)
            srep->deleted++;
        const char *srem[3] = {"SREM", set, g};
        if (fdb_commandv(fdb, NULL, 3, srem)) {
            /* retried next time */
        }
    }
    freeReplyObject(r);
    for (int j = 0; j < ngroups; j++) {
        const char *sadd[3] = {"SADD", set, groups[j]};
        if ((rc = fdb_commandv(fdb, NULL, 3, sadd)))
            return rc;
    }
    return 0;
}
