/* The graphiti profile: Graphiti's node/edge types and the indexes its FalkorDB driver creates. */
#include "sync/schema.h"

#include <stddef.h>

const struct sync_type sync_graphiti_types[] = {
    {"Entity", false, NULL, NULL, NULL},
    {"Episodic", false, NULL, NULL, NULL},
    {"Community", false, NULL, NULL, NULL},
    {"Saga", false, NULL, NULL, NULL},
    {"RELATES_TO", true, "Entity", "Entity", "'Entity'"},
    {"MENTIONS", true, "Episodic", "Entity", "'Entity'"},
    {"HAS_MEMBER", true, "Community", NULL,
     "CASE WHEN b:Community THEN 'Community' ELSE 'Entity' END"},
    {"HAS_EPISODE", true, "Saga", "Episodic", "'Episodic'"},
    {"NEXT_EPISODE", true, "Episodic", "Episodic", "'Episodic'"},
};
const int sync_graphiti_ntypes = sizeof sync_graphiti_types / sizeof sync_graphiti_types[0];

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

const char *const sync_fulltext_indexes[] = {
    "CREATE FULLTEXT INDEX FOR (e:Episodic) ON (e.content, e.source, e.source_description, "
    "e.group_id)",
    "CREATE FULLTEXT INDEX FOR (n:Entity) ON (n.name, n.summary, n.group_id)",
    "CREATE FULLTEXT INDEX FOR (n:Community) ON (n.name, n.group_id)",
    "CREATE FULLTEXT INDEX FOR ()-[e:RELATES_TO]-() ON (e.name, e.fact, e.group_id)",
    NULL,
};
