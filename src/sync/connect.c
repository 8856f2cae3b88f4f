/* Client settings for Neo4j and FalkorDB, derived from the one configuration. */
#include "sync/connect.h"

#include "log/log.h"

/* Routing events of neo4j:// URIs, logged: which member a session reads from, and why not others.
 */
static void route_log(void *ctx, enum bolt_route_event ev, const char *address, const char *detail)
{
    (void)ctx;
    static const struct {
        enum log_level level;
        const char *msg;
    } what[] = {
        [BOLT_ROUTE_TABLE] = {LOG_INFO, "Neo4j routing table received"},
        [BOLT_ROUTE_ROUTER_FAILED] = {LOG_WARNING, "Neo4j router did not answer ROUTE"},
        [BOLT_ROUTE_MEMBER_FAILED] = {LOG_WARNING, "Neo4j member unreachable, trying the next"},
        [BOLT_ROUTE_CHOSEN] = {LOG_INFO, "Neo4j member chosen for reads"},
    };
    json_t *f = json_object();
    json_object_set_new(f, "member", json_string(address ? address : ""));
    if (detail && *detail)
        json_object_set_new(f, "detail", json_string(detail));
    log_fields(what[ev].level, what[ev].msg, f);
}

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
        .route_log = route_log,
        .route_cache = c->neo4j_routes,
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
        .cluster = c->falkordb.cluster,
        .client_name = c->fence.client_name,
        .fence_key = c->fence.key,
        .fence_value = c->fence.value,
        .node_opened = c->fence.node_opened,
        .node_opened_arg = c->fence.node_opened_arg,
    };
    return f;
}
