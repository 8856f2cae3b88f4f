/* Settings: one table (YAML path, env name, type, default, check); defaults, YAML and env share one
 * parser. */
#ifndef FALKORSYNC_CONFIG_H
#define FALKORSYNC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

/* AUTO (the default) is resolved by cfg_load: per_group for the graphiti
 * profile (the graphs Graphiti's public API reads), single for generic. */
enum cfg_layout { CFG_LAYOUT_SINGLE, CFG_LAYOUT_PER_GROUP, CFG_LAYOUT_AUTO };
enum cfg_profile { CFG_PROFILE_GRAPHITI, CFG_PROFILE_GENERIC };
enum cfg_temporal { CFG_TEMPORAL_ISO, CFG_TEMPORAL_NATIVE };
enum cfg_full_method { CFG_FULL_AUTO, CFG_FULL_BULK, CFG_FULL_QUERY };
enum cfg_log_format { CFG_LOG_JSON, CFG_LOG_TEXT };

struct fdb_conn;
struct bolt_route_cache;

struct cfg {
    /* Lines of text for settings that loaded but deserve a word (a removed
     * setting still set); "" when none. main prints them. */
    char warnings[1024];
    struct {
        char *uri, *user, *password, *database, *ca_file;
        int connect_timeout_seconds, read_timeout_seconds, fetch_size;
    } neo4j;
    struct {
        char *host, *password, *username, *database, *ca_file;
        char *record_commands; /* benchmarks: file that gets every command sent ("" = off) */
        int port, connect_timeout_seconds, read_timeout_seconds;
        int max_reply_mb;    /* cap on one FalkorDB reply */
        int wait_replicas;   /* WAIT for this many replicas after a run that wrote (0: off) */
        int wait_timeout_ms; /* longest such WAIT */
        bool tls, tls_insecure;
        bool cluster; /* Redis Cluster: host:port is a seed node */
        int layout;   /* enum cfg_layout */
    } falkordb;
    struct {
        int interval_seconds, batch_size, max_retries, retry_delay_seconds, retry_max_delay_seconds;
        int reconcile_every, reconcile_slice_ms, reconcile_pass_seconds, overlap_seconds;
        int pipeline_depth, delete_digest_keys;
        int shard_workers; /* full sync in a Redis Cluster: shards synced at once (0: one per
                              primary) */
        int lease_ttl_seconds, lease_renew_seconds; /* sync/lease.h; renew 0: TTL/3 */
        bool full_sync_on_startup, enable_incremental, enable_continuous;
        int profile;                /* enum cfg_profile */
        int temporal;               /* enum cfg_temporal (generic profile) */
        int full_method;            /* enum cfg_full_method */
        char *key_property;         /* generic profile; "" = element id as _neo4j_id */
        char *embedding_properties; /* comma-separated */
    } sync;
    struct {
        char *level; /* DEBUG, INFO, WARNING, ERROR */
        char *file_path;
        int format; /* enum cfg_log_format */
        int max_file_size_mb, backup_count;
    } logging;
    struct {
        int health_port, metrics_port;
        bool metrics_enabled, allow_public_bind;
        char *bind_address, *api_token;
        /* service limits and readiness (issue 17) */
        int max_staleness_seconds, max_connections, max_connections_per_client;
        int websocket_max_clients;
    } monitoring;
    /* Not a setting: the process' last Neo4j routing table (neo4j:// URIs), owned by main;
     * NULL: every session asks for its own (bolt_config.route_cache). */
    struct bolt_route_cache *neo4j_routes;
    /* Not a setting: the lease holder's fence for the connections of its runs (sync/lease.h
     * sets it on a copy of the configuration; all NULL: unfenced). */
    struct {
        const char *client_name, *key, *value;
        /* Redis Cluster: called with every node connection a fenced client opens
         * (fdb_config.node_opened). */
        int (*node_opened)(void *arg, struct fdb_conn *node);
        void *node_opened_arg;
    } fence;
};

/* Fills c with the defaults. Free with cfg_deinit. */
int cfg_init_defaults(struct cfg *c) FS_WARN_UNUSED;
/* Applies a YAML file over c. On a bad key/value: FS_ECONFIG and a one-line
 * message in err naming the key, the line and what was expected. A removed
 * setting (neo4j.pool_size, falkordb.pool_size, sync.state_dir) is not an
 * error: it adds a line to c->warnings saying it was removed. */
int cfg_load_yaml(struct cfg *c, const char *path, char *err, size_t errlen) FS_WARN_UNUSED;
/* Applies environment variables over c (env wins over YAML). FS_ECONFIG for
 * a bad value; the variable of a removed setting adds a line to c->warnings. */
int cfg_load_env(struct cfg *c, char *err, size_t errlen) FS_WARN_UNUSED;
/* Cross-field checks (e.g. a public bind needs a token). */
int cfg_validate(const struct cfg *c, char *err, size_t errlen) FS_WARN_UNUSED;
/* defaults + optional YAML file (path may be NULL) + env + validate. */
int cfg_load(struct cfg *c, const char *path, char *err, size_t errlen) FS_WARN_UNUSED;
void cfg_deinit(struct cfg *c);

/* Visits every setting: yaml path, env name (may be NULL), value as text
 * (secrets as "***" when set), default text, description. For docs and --help. */
typedef void (*cfg_visit_fn)(void *ud, const char *path, const char *env, const char *value,
                             const char *def, const char *doc);
void cfg_visit(const struct cfg *c, cfg_visit_fn fn, void *ud);

#endif
