/* The profiles: Graphiti's node/edge types and the indexes its FalkorDB driver creates; generic;
 * the embedding rules from the configuration. */
#include "sync/target.h"
#include "sync/profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/gkey.h"

const struct sync_type sync_graphiti_types[] = {
    {"Entity", false, NULL, NULL, NULL, false, "n.created_at"},
    {"Episodic", false, NULL, NULL, NULL, false, "n.created_at"},
    {"Community", false, NULL, NULL, NULL, false, "n.created_at"},
    {"Saga", false, NULL, NULL, NULL, false, "n.created_at"},
    {"RELATES_TO", true, "Entity", "Entity", "'Entity'", false, "r.created_at"},
    /* edges without an indexed time of their own: their episode's or community's */
    {"MENTIONS", true, "Episodic", "Entity", "'Entity'", false, "a.created_at"},
    {"HAS_MEMBER", true, "Community", NULL,
     "CASE WHEN b:Community THEN 'Community' ELSE 'Entity' END", false, "a.created_at"},
    {"HAS_EPISODE", true, "Saga", "Episodic", "'Episodic'", false, "b.created_at"},
    {"NEXT_EPISODE", true, "Episodic", "Episodic", "'Episodic'", false, "b.created_at"},
};
const int sync_graphiti_ntypes = sizeof sync_graphiti_types / sizeof sync_graphiti_types[0];

/* Generic: any labels and types, so two "types" that cover everything. */
static const struct sync_type generic_types[] = {
    {"nodes", false, NULL, NULL, NULL, true, NULL},
    {"relationships", true, NULL, NULL, NULL, true, NULL},
};

static const struct sync_profile graphiti_profile = {
    false, sync_graphiti_types, (int)(sizeof sync_graphiti_types / sizeof sync_graphiti_types[0])};
static const struct sync_profile generic_profile = {true, generic_types, 2};

const struct sync_profile *sync_profile_of(const struct cfg *c)
{
    return c->sync.profile == CFG_PROFILE_GENERIC ? &generic_profile : &graphiti_profile;
}

int sync_count_query(const struct sync_type *t, char *out, size_t cap)
{
    int n;
    if (t->any)
        n = snprintf(out, cap,
                     t->edge ? "MATCH ()-[x]->() RETURN count(x)" : "MATCH (x) RETURN count(x)");
    else
        n = snprintf(out, cap,
                     t->edge ? "MATCH ()-[x:`%s`]->() RETURN count(x)"
                             : "MATCH (x:`%s`) RETURN count(x)",
                     t->name);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

const char *const sync_range_indexes[] = {
    "CREATE INDEX FOR (n:Entity) ON (n.uuid, n.group_id, n.name, n.created_at)",
    "CREATE INDEX FOR (n:Episodic) ON (n.uuid, n.group_id, n.created_at, n.valid_at)",
    "CREATE INDEX FOR (n:Community) ON (n.uuid)",
    "CREATE INDEX FOR (n:Saga) ON (n.uuid, n.group_id, n.name)",
    "CREATE INDEX FOR ()-[e:RELATES_TO]-() ON (e.uuid, e.group_id, e.name, e.created_at, "
    "e.expired_at, e.valid_at, e.invalid_at)",
    "CREATE INDEX FOR ()-[e:MENTIONS]-() ON (e.uuid, e.group_id)",
    "CREATE INDEX FOR ()-[e:HAS_MEMBER]-() ON (e.uuid)",
    "CREATE INDEX FOR ()-[e:HAS_EPISODE]-() ON (e.uuid, e.group_id)",
    "CREATE INDEX FOR ()-[e:NEXT_EPISODE]-() ON (e.uuid, e.group_id)",
    NULL,
};

/* As the newest Graphiti FalkorDB driver creates them: three node indexes
 * through the procedure with its stopword list, RELATES_TO through DDL. */
#define GRAPHITI_STOPWORDS                                                                         \
    "['a', 'is', 'the', 'an', 'and', 'are', 'as', 'at', 'be', 'but', 'by', 'for', 'if', "          \
    "'in', 'into', 'it', 'no', 'not', 'of', 'on', 'or', 'such', 'that', 'their', 'then', "         \
    "'there', 'these', 'they', 'this', 'to', 'was', 'will', 'with']"

const char *const sync_fulltext_indexes[] = {
    "CALL db.idx.fulltext.createNodeIndex({label: 'Episodic', stopwords: " GRAPHITI_STOPWORDS
    "}, 'content', 'source', 'source_description', 'group_id')",
    "CALL db.idx.fulltext.createNodeIndex({label: 'Entity', stopwords: " GRAPHITI_STOPWORDS
    "}, 'name', 'summary', 'group_id')",
    "CALL db.idx.fulltext.createNodeIndex({label: 'Community', stopwords: " GRAPHITI_STOPWORDS
    "}, 'name', 'group_id')",
    "CREATE FULLTEXT INDEX FOR ()-[e:RELATES_TO]-() ON (e.name, e.fact, e.group_id)",
    NULL,
};

const struct sync_wm_family sync_wm_families[] = {
    {"Entity", "MATCH (n:Entity) WHERE true%s RETURN max(n.created_at)", "n.group_id"},
    {"Episodic", "MATCH (n:Episodic) WHERE true%s RETURN max(n.created_at)", "n.group_id"},
    {"Community", "MATCH (n:Community) WHERE true%s RETURN max(n.created_at)", "n.group_id"},
    {"Saga", "MATCH (n:Saga) WHERE true%s RETURN max(n.created_at)", "n.group_id"},
    {"RELATES_TO",
     "MATCH (a)-[r:RELATES_TO]->() WHERE true%s WITH max(r.created_at) AS c, "
     "max(r.expired_at) AS e RETURN CASE WHEN e IS NULL OR c > e THEN c ELSE e END",
     "coalesce(r.group_id, a.group_id)"},
    {"MENTIONS", "MATCH (a:Episodic)-[r:MENTIONS]->() WHERE true%s RETURN max(a.created_at)",
     "coalesce(r.group_id, a.group_id)"},
    {"HAS_MEMBER",
     "MATCH (a:Community)-[r:HAS_MEMBER]->() WHERE true%s "
     "RETURN max(coalesce(r.created_at, a.created_at))",
     "coalesce(r.group_id, a.group_id)"},
    {"HAS_EPISODE", "MATCH (a)-[r:HAS_EPISODE]->(b:Episodic) WHERE true%s RETURN max(b.created_at)",
     "coalesce(r.group_id, a.group_id)"},
    {"NEXT_EPISODE",
     "MATCH (a)-[r:NEXT_EPISODE]->(b:Episodic) WHERE true%s RETURN max(b.created_at)",
     "coalesce(r.group_id, a.group_id)"},
};
const int sync_wm_nfamilies = sizeof sync_wm_families / sizeof sync_wm_families[0];

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
        if (!strchr(tok, '`')) /* a name no query can quote stays an ordinary (dropped) key */
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

void sync_strv_free(char **v, int n)
{
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

int sync_strv_push(char ***v, int *n, char *s)
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
            rc = sync_strv_push(stmts, n, strdup(sync_range_indexes[i]));
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
            if (pack_read_item(&r, &it) || pack_read_item(&r, &it) || it.kind != FS_VALUE_STRING ||
                memchr(it.data, '`', it.size) || memchr(it.data, 0, it.size))
                continue;
            struct buf q;
            buf_init(&q, (size_t)1 << 20); /* a label name from Neo4j, quoted */
            rc = buf_printf(&q,
                            pass ? "CREATE INDEX FOR ()-[x:`%.*s`]-() ON ("
                                 : "CREATE INDEX FOR (x:`%.*s`) ON (",
                            (int)it.size, (const char *)it.data);
            if (*kp)
                rc = rc ? rc : buf_printf(&q, "x.`%s`, ", kp);
            rc = rc ? rc : buf_append_str(&q, "x.`" GK_ID_PROP "`)");
            rc = rc ? rc : sync_strv_push(stmts, n, buf_detach(&q));
            buf_deinit(&q);
        }
        if (!rc && more < 0)
            rc = more;
    }
    if (rc) {
        sync_strv_free(*stmts, *n);
        *stmts = NULL;
        *n = 0;
    }
    return rc;
}
