/* What each profile syncs: node and relationship types, their Neo4j extract queries and FalkorDB
 * indexes. */
#ifndef FALKORSYNC_SCHEMA_H
#define FALKORSYNC_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

struct sync_type {
    const char *name; /* node label or relationship type */
    bool edge;
    const char *src_label; /* edges: label of the start node */
    const char *dst_label; /* edges: label of the end node, or NULL when it varies */
    const char *dst_expr;  /* edges: Cypher expression of the end node's key label */
    bool any;              /* generic profile: every node / every relationship */
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

#endif
