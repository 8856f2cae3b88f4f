/* What a profile syncs and how values map: node and relationship types, indexes, watermark
 * families, the embedding rules. */
#ifndef FALKORSYNC_SYNC_PROFILE_H
#define FALKORSYNC_SYNC_PROFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "bolt/bolt.h"
#include "config/config.h"
#include "sync/transcode.h"

#define SYNC_MAX_EMBEDDINGS 8

struct sync_type {
    const char *name; /* node label or relationship type */
    bool edge;
    const char *src_label; /* edges: label of the start node */
    const char *dst_label; /* edges: label of the end node, or NULL when it varies */
    const char *dst_expr;  /* edges: Cypher expression of the end node's key label */
    bool any;              /* generic profile: every node / every relationship */
    /* The delete check's age of an item: an indexed Cypher expression of its creation time
     * over n (nodes) or a, r, b (edges), the same value in Neo4j (DateTime) and in the cache
     * (its ISO text); NULL: none (the type is compared whole). */
    const char *birth;
};

/* What a profile syncs: its types, nodes first (edges need their endpoints). */
struct sync_profile {
    bool generic;
    const struct sync_type *types;
    int ntypes;
};

/* The profile c asks for (sync.profile). */
const struct sync_profile *sync_profile_of(const struct cfg *c);

/* Neo4j query counting the items of t (one row, one integer). */
int sync_count_query(const struct sync_type *t, char *out, size_t cap);

/* The graphiti profile's types, nodes first (edges need their endpoints). */
extern const struct sync_type sync_graphiti_types[];
extern const int sync_graphiti_ntypes;

/* Range indexes created on an empty graph before loading (endpoint lookups use them),
 * and full-text indexes created after loading; both as Graphiti's FalkorDB driver creates them. */
extern const char *const sync_range_indexes[];
extern const char *const sync_fulltext_indexes[];

/* Incremental watermark families and, for each, a Neo4j query returning the
 * largest change timestamp now (%s: group filter), read when a full sync starts. */
struct sync_wm_family {
    const char *name;
    const char *max_query;
    const char *group; /* expression compared with $g */
};
extern const struct sync_wm_family sync_wm_families[];
extern const int sync_wm_nfamilies;

/* The mapping rules of c: sync.embedding_properties (at most SYNC_MAX_EMBEDDINGS) and
 * sync.temporal. Free with sync_rules_deinit. */
struct sync_rules {
    struct xc_rules rules;
    char *store;
    const char *names[SYNC_MAX_EMBEDDINGS + 1];
};
int sync_rules_init(struct sync_rules *r, const struct cfg *c) FS_WARN_UNUSED;
void sync_rules_deinit(struct sync_rules *r);

/* The range indexes a cache graph gets before loading: Graphiti's; for the
 * generic profile the key property and _neo4j_id of every label and
 * relationship type Neo4j has now (names holding a backtick are skipped).
 * *stmts is the caller's to free with sync_strv_free. */
int sync_range_index_statements(const struct cfg *c, struct bolt_session *s, char ***stmts,
                                int *n) FS_WARN_UNUSED;

/* Frees n strings and the vector that holds them (NULL is fine). */
void sync_strv_free(char **v, int n);
/* Appends s (taking ownership; NULL means out of memory) to the vector *v of *n strings. */
int sync_strv_push(char ***v, int *n, char *s) FS_WARN_UNUSED;

#endif
