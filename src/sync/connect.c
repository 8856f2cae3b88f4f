/* Client settings for Neo4j and FalkorDB, derived from the one configuration. */
#include "sync/connect.h"

struct bolt_config sync_bolt_config(const struct cfg *c)
{
    struct bolt_config b = {
        .uri = c->neo4j.uri,
        .user = c->neo4j.user,
        .password = c->neo4j.password,
        .database = c->neo4j.database,
        .ca_file = c->neo4j.ca_file,
        .connect_timeout_ms = c->neo4j.connect_timeout_seconds * 1000,
        .read_timeout_ms = c->neo4j.read_timeout_seconds * 1000,
        .write_timeout_ms = c->neo4j.read_timeout_seconds * 1000,
        .fetch_size = c->neo4j.fetch_size,
    };
    return b;
}

struct fdb_config sync_fdb_config(const struct cfg *c)
{
    struct fdb_config f = {
        .host = c->falkordb.host,
        .port = c->falkordb.port,
        .username = c->falkordb.username,
        .password = c->falkordb.password,
        .tls = c->falkordb.tls,
        .tls_insecure = c->falkordb.tls_insecure,
        .ca_file = c->falkordb.ca_file,
        .connect_timeout_ms = c->falkordb.connect_timeout_seconds * 1000,
        .read_timeout_ms = c->falkordb.read_timeout_seconds * 1000,
        .record_file = c->falkordb.record_commands,
        .max_reply_bytes = (size_t)c->falkordb.max_reply_mb << 20,
        .client_name = c->fence.client_name,
        .fence_key = c->fence.key,
        .fence_value = c->fence.value,
    };
    return f;
}
