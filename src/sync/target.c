/* Graph and key names of a layout, and the group list in Neo4j and in the cache. */
#include "sync/target.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "falkor/cluster.h"
#include "sync/profile.h"

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

int sync_list_groups(struct bolt_session *s, char ***groups, int *n)
{
    *groups = NULL;
    *n = 0;
    const char *q = "MATCH (x) WHERE x:Entity OR x:Episodic OR x:Community OR x:Saga "
                    "RETURN DISTINCT coalesce(x.group_id, '') AS g ORDER BY g";
    int rc = bolt_run(s, q, NULL, 0, BOLT_MODE_READ);
    if (rc)
        return rc;
    struct bolt_record rec;
    int more;
    while ((more = bolt_next(s, &rec)) == 1) {
        struct pack_reader r;
        struct pack_item it;
        pack_reader_init(&r, rec.data, rec.len);
        if (pack_read_item(&r, &it) || pack_read_item(&r, &it) || it.kind != FS_VALUE_STRING)
            continue;
        if ((rc = sync_strv_push(groups, n, strndup((const char *)it.data, it.size))))
            return rc;
    }
    if (more == 0 && sync_layout_default_group_clash(*groups, *n)) {
        snprintf(s->errstr, sizeof s->errstr,
                 "groups '' and '_' both exist: both are Graphiti's FalkorDB default group "
                 "(graph " SYNC_FALKOR_DEFAULT_GRAPH ") in layout per_group; use layout single");
        return FS_ECONFIG;
    }
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
