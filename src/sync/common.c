/* Shared sync helpers: embedding rules, group listing, monotonic clock. */
#include "sync/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sync/gkey.h"
#include "sync/layout.h"
#include "sync/schema.h"

double sync_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int sync_rules_init(struct sync_rules *r, const struct cfg *c)
{
    memset(r, 0, sizeof *r);
    r->store = strdup(c->sync.embedding_properties);
    if (!r->store)
        return FS_ENOMEM;
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(r->store, ", ", &save); tok && n < SYNC_MAX_EMBEDDINGS;
         tok = strtok_r(NULL, ", ", &save))
        r->names[n++] = tok;
    r->names[n] = NULL;
    r->rules.embeddings = r->names;
    r->rules.nembeddings = n;
    r->rules.native_temporal =
        c->sync.profile == CFG_PROFILE_GENERIC && c->sync.temporal == CFG_TEMPORAL_NATIVE;
    r->rules.empty_group_id =
        c->sync.profile == CFG_PROFILE_GRAPHITI ? SYNC_FALKOR_DEFAULT_GROUP : NULL;
    return 0;
}

void sync_rules_deinit(struct sync_rules *r)
{
    free(r->store);
    r->store = NULL;
}

void sync_groups_free(char **groups, int n)
{
    for (int i = 0; i < n; i++)
        free(groups[i]);
    free(groups);
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
        if (pack_read_item(&r, &it) || pack_read_item(&r, &it) || it.kind != PACK_STRING)
            continue;
        char **g = realloc(*groups, sizeof(char *) * (size_t)(*n + 1));
        if (!g)
            return FS_ENOMEM;
        *groups = g;
        g[*n] = strndup((const char *)it.data, it.size);
        if (!g[*n])
            return FS_ENOMEM;
        (*n)++;
    }
    if (more == 0 && sync_layout_default_group_clash(*groups, *n)) {
        snprintf(s->errstr, sizeof s->errstr,
                 "groups '' and '_' both exist: both are Graphiti's FalkorDB default group "
                 "(graph " SYNC_FALKOR_DEFAULT_GRAPH ") in layout per_group; use layout single");
        return FS_ECONFIG;
    }
    return more < 0 ? more : 0;
}

static int strs_push(char ***v, int *n, char *s)
{
    if (!s)
        return FS_ENOMEM;
    char **x = realloc(*v, sizeof(char *) * (size_t)(*n + 1));
    if (!x) {
        free(s);
        return FS_ENOMEM;
    }
    *v = x;
    x[(*n)++] = s;
    return 0;
}

int sync_range_index_statements(const struct cfg *c, struct bolt_session *s, char ***stmts, int *n)
{
    *stmts = NULL;
    *n = 0;
    int rc = 0;
    if (c->sync.profile != CFG_PROFILE_GENERIC) {
        for (int i = 0; !rc && sync_range_indexes[i]; i++)
            rc = strs_push(stmts, n, strdup(sync_range_indexes[i]));
        return rc;
    }
    const char *kp = c->sync.key_property;
    for (int pass = 0; !rc && pass < 2; pass++) {
        rc = bolt_run(s, pass ? "CALL db.relationshipTypes()" : "CALL db.labels()", NULL, 0,
                      BOLT_MODE_READ);
        struct bolt_record rec;
        int more = 0;
        while (!rc && (more = bolt_next(s, &rec)) == 1) {
            struct pack_reader r;
            struct pack_item it;
            pack_reader_init(&r, rec.data, rec.len);
            if (pack_read_item(&r, &it) || pack_read_item(&r, &it) || it.kind != PACK_STRING ||
                memchr(it.data, '`', it.size) || memchr(it.data, 0, it.size))
                continue;
            struct buf q;
            buf_init(&q, 0);
            rc = buf_printf(&q,
                            pass ? "CREATE INDEX FOR ()-[x:`%.*s`]-() ON ("
                                 : "CREATE INDEX FOR (x:`%.*s`) ON (",
                            (int)it.size, (const char *)it.data);
            if (*kp)
                rc = rc ? rc : buf_printf(&q, "x.`%s`, ", kp);
            rc = rc ? rc : buf_append_str(&q, "x.`" GK_ID_PROP "`)");
            rc = rc ? rc : strs_push(stmts, n, buf_detach(&q));
            buf_deinit(&q);
        }
        if (!rc && more < 0)
            rc = more;
    }
    if (rc) {
        sync_groups_free(*stmts, *n);
        *stmts = NULL;
        *n = 0;
    }
    return rc;
}
