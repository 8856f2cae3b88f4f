/* The settings table and its one parser, shared by defaults, YAML and environment. */
#include "config/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

enum cfg_type { T_STR, T_SECRET, T_INT, T_BOOL, T_ENUM };

struct cfg_param {
    const char *path; /* YAML path: section.key */
    const char *env;  /* environment variable, or NULL */
    enum cfg_type type;
    size_t offset;              /* into struct cfg */
    const char *def;            /* default, as text: parsed like any other value */
    int min, max;               /* T_INT bounds */
    const char *const *choices; /* T_ENUM names, index = value */
    const char *doc;
};

static const char *const layouts[] = {"single", "per_group", "auto", NULL};
static const char *const profiles[] = {"graphiti", "generic", NULL};
static const char *const temporals[] = {"iso", "native", NULL};
static const char *const full_methods[] = {"auto", "bulk", "query", NULL};
static const char *const formats[] = {"json", "text", NULL};
static const char *const levels[] = {"DEBUG", "INFO", "WARNING", "ERROR", NULL};

#define O(f) offsetof(struct cfg, f)
#define S(path, env, f, def, doc)                                                                  \
    {                                                                                              \
        path, env, T_STR, O(f), def, 0, 0, NULL, doc                                               \
    }
#define SECRET(path, env, f, doc)                                                                  \
    {                                                                                              \
        path, env, T_SECRET, O(f), "", 0, 0, NULL, doc                                             \
    }
#define I(path, env, f, def, lo, hi, doc)                                                          \
    {                                                                                              \
        path, env, T_INT, O(f), def, lo, hi, NULL, doc                                             \
    }
#define B(path, env, f, def, doc)                                                                  \
    {                                                                                              \
        path, env, T_BOOL, O(f), def, 0, 0, NULL, doc                                              \
    }
#define E(path, env, f, def, ch, doc)                                                              \
    {                                                                                              \
        path, env, T_ENUM, O(f), def, 0, 0, ch, doc                                                \
    }

static const struct cfg_param params[] = {
    S("neo4j.uri", "NEO4J_URI", neo4j.uri, "bolt://127.0.0.1:7687",
      "Bolt URI: bolt, bolt+s, bolt+ssc (direct), neo4j, neo4j+s, neo4j+ssc (cluster routing)"),
    S("neo4j.user", "NEO4J_USER", neo4j.user, "neo4j", "user for basic auth (empty: no auth)"),
    {"neo4j.password", "NEO4J_PASSWORD", T_SECRET, O(neo4j.password), "graphiti123", 0, 0, NULL,
     "password for basic auth (the seed's default)"},
    S("neo4j.database", "NEO4J_DATABASE", neo4j.database, "neo4j", "database to read"),
    S("neo4j.ca_file", "NEO4J_CA_FILE", neo4j.ca_file, "", "extra trusted CA bundle (PEM) for +s"),
    I("neo4j.connect_timeout_seconds", "NEO4J_CONNECT_TIMEOUT", neo4j.connect_timeout_seconds, "10",
      1, 3600, "TCP + TLS connect timeout"),
    I("neo4j.read_timeout_seconds", "NEO4J_READ_TIMEOUT", neo4j.read_timeout_seconds, "300", 1,
      86400, "longest wait for a reply from Neo4j"),
    I("neo4j.fetch_size", "NEO4J_FETCH_SIZE", neo4j.fetch_size, "10000", -1, 10000000,
      "records per PULL (-1: all)"),
    S("falkordb.host", "FALKORDB_HOST", falkordb.host, "127.0.0.1",
      "FalkorDB host, or a URL redis://[user:password@]host:port (rediss:// for TLS)"),
    I("falkordb.port", "FALKORDB_PORT", falkordb.port, "6379", 1, 65535, "FalkorDB port"),
    S("falkordb.username", "FALKORDB_USERNAME", falkordb.username, "", "ACL user (empty: default)"),
    SECRET("falkordb.password", "FALKORDB_PASSWORD", falkordb.password, "password (AUTH)"),
    S("falkordb.database", "FALKORDB_DATABASE", falkordb.database, "graphiti_cache",
      "graph name (single layout); keys falkorsync's records (per_group)"),
    B("falkordb.tls", "FALKORDB_TLS", falkordb.tls, "false", "connect with TLS"),
    B("falkordb.tls_insecure", "FALKORDB_TLS_INSECURE", falkordb.tls_insecure, "false",
      "with tls: accept any certificate"),
    S("falkordb.ca_file", "FALKORDB_CA_FILE", falkordb.ca_file, "",
      "extra trusted CA bundle (PEM)"),
    I("falkordb.connect_timeout_seconds", "FALKORDB_CONNECT_TIMEOUT",
      falkordb.connect_timeout_seconds, "10", 1, 3600, "connect timeout"),
    I("falkordb.read_timeout_seconds", "FALKORDB_READ_TIMEOUT", falkordb.read_timeout_seconds,
      "300", 1, 86400, "longest wait for a reply from FalkorDB"),
    E("falkordb.layout", "FALKORDB_LAYOUT", falkordb.layout, "auto", layouts,
      "per_group: one graph per group_id (what Graphiti reads); single: one graph; auto: "
      "per_group for the graphiti profile, single for generic"),
    I("falkordb.max_reply_mb", "FALKORDB_MAX_REPLY_MB", falkordb.max_reply_mb, "512", 1, 1048576,
      "largest FalkorDB reply accepted, in MB; a bigger one fails the call"),
    B("falkordb.cluster", "FALKORDB_CLUSTER", falkordb.cluster, "false",
      "Redis Cluster: host:port is a seed node; slots from CLUSTER SLOTS, each graph on its shard"),
    S("falkordb.record_commands", "FALKORSYNC_RECORD_COMMANDS", falkordb.record_commands, "",
      "benchmarks: append every command sent to FalkorDB to this file (empty: off)"),
    I("falkordb.wait_replicas", "FALKORDB_WAIT_REPLICAS", falkordb.wait_replicas, "0", 0, 1000,
      "after a run that wrote: WAIT until this many replicas acknowledged (0: off)"),
    I("falkordb.wait_timeout_ms", "FALKORDB_WAIT_TIMEOUT_MS", falkordb.wait_timeout_ms, "5000", 1,
      3600000, "longest WAIT for the replicas, in ms; fewer acknowledged: a warning"),
    I("sync.interval_seconds", "SYNC_INTERVAL_SECONDS", sync.interval_seconds, "300", 1, 86400 * 7,
      "seconds between incremental runs"),
    I("sync.batch_size", "SYNC_BATCH_SIZE", sync.batch_size, "1000", 1, 1000000,
      "items per FalkorDB write"),
    B("sync.full_sync_on_startup", "SYNC_FULL_ON_STARTUP", sync.full_sync_on_startup, "false",
      "run a full sync when the service starts"),
    B("sync.enable_incremental", "SYNC_ENABLE_INCREMENTAL", sync.enable_incremental, "true",
      "run incremental syncs"),
    B("sync.enable_continuous", "SYNC_ENABLE_CONTINUOUS", sync.enable_continuous, "true",
      "sync every interval_seconds"),
    I("sync.max_retries", "SYNC_MAX_RETRIES", sync.max_retries, "3", 0, 1000,
      "retries of a failed run before giving up until the next interval"),
    I("sync.retry_delay_seconds", "SYNC_RETRY_DELAY_SECONDS", sync.retry_delay_seconds, "30", 0,
      86400, "first retry delay; doubles each retry, with jitter"),
    I("sync.retry_max_delay_seconds", "SYNC_RETRY_MAX_DELAY_SECONDS", sync.retry_max_delay_seconds,
      "600", 0, 86400, "cap on one retry delay"),
    I("sync.reconcile_every", "SYNC_RECONCILE_EVERY", sync.reconcile_every, "1", 0, 1000000,
      "serve: a reconcile slice after every Nth interval run (0: no background reconcile)"),
    I("sync.reconcile_slice_ms", "SYNC_RECONCILE_SLICE_MS", sync.reconcile_slice_ms, "0", 0,
      86400000, "time budget of one reconcile slice in ms (0: a quarter of the interval)"),
    I("sync.reconcile_pass_seconds", "SYNC_RECONCILE_PASS_SECONDS", sync.reconcile_pass_seconds,
      "600", 0, 86400 * 7,
      "serve: spread a reconcile pass over this many seconds (0: as fast as slices allow)"),
    I("sync.overlap_seconds", "SYNC_OVERLAP_SECONDS", sync.overlap_seconds, "60", 0, 86400,
      "incremental re-reads this many seconds before the watermark"),
    I("sync.delete_digest_keys", "SYNC_DELETE_DIGEST_KEYS", sync.delete_digest_keys, "512", 0,
      100000000, "keys per type and graph whose digest incremental compares each run (0: off)"),
    I("sync.pipeline_depth", "SYNC_PIPELINE_DEPTH", sync.pipeline_depth, "4", 1, 64,
      "FalkorDB batches in flight"),
    I("sync.shard_workers", "SYNC_SHARD_WORKERS", sync.shard_workers, "0", 0, 64,
      "cluster, per_group: shards a full sync writes at once (0: one per primary; 1: in turn)"),
    I("sync.lease_ttl_seconds", "SYNC_LEASE_TTL_SECONDS", sync.lease_ttl_seconds, "15", 1, 3600,
      "the writer lease expires this long after its holder's last renewal"),
    I("sync.lease_renew_seconds", "SYNC_LEASE_RENEW_SECONDS", sync.lease_renew_seconds, "0", 0,
      3600, "how often the holder renews the lease and a standby tries it (0: TTL/3)"),
    E("sync.profile", "SYNC_PROFILE", sync.profile, "graphiti", profiles,
      "mapping profile: graphiti or generic (any labels and types)"),
    E("sync.temporal", "SYNC_TEMPORAL", sync.temporal, "iso", temporals,
      "generic profile: temporal values as ISO text or native FalkorDB temporals"),
    E("sync.full_method", "SYNC_FULL_METHOD", sync.full_method, "auto", full_methods,
      "how full sync writes: bulk (GRAPH.BULK), query (UNWIND batches) or auto"),
    S("sync.key_property", "SYNC_KEY_PROPERTY", sync.key_property, "",
      "generic profile: key property (empty: element id kept as _neo4j_id)"),
    S("sync.embedding_properties", "SYNC_EMBEDDING_PROPERTIES", sync.embedding_properties,
      "name_embedding,fact_embedding", "list properties stored as vecf32 (comma-separated)"),
    E("logging.level", "LOG_LEVEL", logging.level, "INFO", levels, "DEBUG, INFO, WARNING, ERROR"),
    E("logging.format", "LOG_FORMAT", logging.format, "json", formats, "json or text"),
    S("logging.file_path", "LOG_FILE", logging.file_path, "", "log file (empty: stderr)"),
    I("logging.max_file_size_mb", "LOG_MAX_FILE_SIZE_MB", logging.max_file_size_mb, "100", 1,
      100000, "rotate the log file at this size"),
    I("logging.backup_count", "LOG_BACKUP_COUNT", logging.backup_count, "5", 0, 1000,
      "rotated files kept"),
    I("monitoring.health_port", "SYNC_HEALTH_PORT", monitoring.health_port, "8080", 0, 65535,
      "HTTP API, WebSocket and dashboard port (0: off)"),
    I("monitoring.metrics_port", "SYNC_METRICS_PORT", monitoring.metrics_port, "8081", 0, 65535,
      "Prometheus /metrics port"),
    B("monitoring.metrics_enabled", "SYNC_METRICS_ENABLED", monitoring.metrics_enabled, "true",
      "serve /metrics"),
    S("monitoring.bind_address", "SYNC_BIND_ADDRESS", monitoring.bind_address, "127.0.0.1",
      "address the HTTP ports bind"),
    SECRET("monitoring.api_token", "SYNC_API_TOKEN", monitoring.api_token,
           "bearer token required by POST routes"),
    B("monitoring.allow_public_bind", "SYNC_ALLOW_PUBLIC_BIND", monitoring.allow_public_bind,
      "false", "allow a non-loopback bind without an API token"),
    /* ---- service limits and readiness (issue 17, ops) ---- */
    I("monitoring.max_staleness_seconds", "SYNC_MAX_STALENESS_SECONDS",
      monitoring.max_staleness_seconds, "900", 1, 86400 * 30,
      "/health/ready fails when the cache was last in step longer ago than this"),
    I("monitoring.max_connections", "SYNC_MAX_CONNECTIONS", monitoring.max_connections, "1024", 16,
      100000, "HTTP connections held at once on the API port; more are refused"),
    I("monitoring.max_connections_per_client", "SYNC_MAX_CONNECTIONS_PER_CLIENT",
      monitoring.max_connections_per_client, "256", 4, 100000,
      "HTTP connections per client address; past it the client's oldest unfinished one is closed"),
    I("monitoring.websocket_max_clients", "SYNC_WEBSOCKET_MAX_CLIENTS",
      monitoring.websocket_max_clients, "256", 0, 4096, "WebSocket clients held at once"),
};

#define NPARAMS (sizeof params / sizeof params[0])

/* Settings that were documented but never had an effect, now removed. A
 * YAML file or an environment variable that still sets one loads (the seed's
 * config.yaml sets the pool sizes) but is never silently ignored: each one
 * adds a warning naming the key and what to do, which main prints. */
static const struct {
    const char *path, *env, *why;
} removed[] = {
    {"neo4j.pool_size", "NEO4J_POOL_SIZE",
     "removed: it never had an effect (each run opens the Bolt connections it needs)"},
    {"falkordb.pool_size", "FALKORDB_POOL_SIZE",
     "removed: it never had an effect (each run opens the FalkorDB connections it "
     "needs)"},
    {"sync.state_dir", "SYNC_STATE_DIR",
     "removed: it never had an effect (checkpoints and watermarks always live in "
     "FalkorDB next to the graph)"},
};

/* Appends one warning (a line) to c->warnings; past its cap, the rest is cut. */
__attribute__((format(printf, 2, 3))) static void cfg_warn(struct cfg *c, const char *fmt, ...)
{
    size_t used = strlen(c->warnings);
    if (used + 2 >= sizeof c->warnings)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->warnings + used, sizeof c->warnings - used - 1, fmt, ap);
    va_end(ap);
    used = strlen(c->warnings);
    c->warnings[used] = '\n';
    c->warnings[used + 1] = 0;
}

static const char *removed_why(const char *path)
{
    for (size_t i = 0; i < sizeof removed / sizeof removed[0]; i++)
        if (!strcmp(removed[i].path, path))
            return removed[i].why;
    return NULL;
}

static void *field(struct cfg *c, const struct cfg_param *p)
{
    return (char *)c + p->offset;
}

static const void *cfield(const struct cfg *c, const struct cfg_param *p)
{
    return (const char *)c + p->offset;
}

/* Parses text into the setting. where: "line 12 of x.yaml" / "environment variable X". */
static int set_value(struct cfg *c, const struct cfg_param *p, const char *text, const char *where,
                     char *err, size_t errlen)
{
    switch (p->type) {
    case T_STR:
    case T_SECRET: {
        char *dup = strdup(text);
        if (!dup)
            return FS_ENOMEM;
        char **slot = field(c, p);
        free(*slot);
        *slot = dup;
        return 0;
    }
    case T_INT: {
        errno = 0;
        char *end;
        long v = strtol(text, &end, 10);
        if (errno || end == text || *end || v < p->min || v > p->max) {
            snprintf(err, errlen, "%s: %s = '%s': expected an integer from %d to %d", where,
                     p->path, text, p->min, p->max);
            return FS_ECONFIG;
        }
        *(int *)field(c, p) = (int)v;
        return 0;
    }
    case T_BOOL: {
        static const char *const yes[] = {"true", "yes", "on", "1"};
        static const char *const no[] = {"false", "no", "off", "0"};
        for (size_t i = 0; i < 4; i++) {
            if (!strcasecmp(text, yes[i])) {
                *(bool *)field(c, p) = true;
                return 0;
            }
            if (!strcasecmp(text, no[i])) {
                *(bool *)field(c, p) = false;
                return 0;
            }
        }
        snprintf(err, errlen, "%s: %s = '%s': expected true or false", where, p->path, text);
        return FS_ECONFIG;
    }
    case T_ENUM: {
        for (int i = 0; p->choices[i]; i++) {
            if (!strcasecmp(text, p->choices[i])) {
                if (p->choices == levels) { /* the level stays text, normalised */
                    char **slot = field(c, p);
                    free(*slot);
                    *slot = strdup(p->choices[i]);
                    return *slot ? 0 : FS_ENOMEM;
                }
                *(int *)field(c, p) = i;
                return 0;
            }
        }
        char choices[160] = "";
        size_t n = 0;
        for (int i = 0; p->choices[i]; i++)
            n += (size_t)snprintf(choices + n, sizeof choices - n, "%s%s", i ? ", " : "",
                                  p->choices[i]);
        snprintf(err, errlen, "%s: %s = '%s': expected one of %s", where, p->path, text, choices);
        return FS_ECONFIG;
    }
    }
    return FS_EINVAL;
}

int cfg_init_defaults(struct cfg *c)
{
    memset(c, 0, sizeof *c);
    char err[256];
    for (size_t i = 0; i < NPARAMS; i++) {
        int rc = set_value(c, &params[i], params[i].def, "default", err, sizeof err);
        if (rc)
            return rc;
    }
    return 0;
}

void cfg_deinit(struct cfg *c)
{
    for (size_t i = 0; i < NPARAMS; i++) {
        const struct cfg_param *p = &params[i];
        bool is_text =
            p->type == T_STR || p->type == T_SECRET || (p->type == T_ENUM && p->choices == levels);
        if (is_text) {
            char **slot = field(c, p);
            free(*slot);
            *slot = NULL;
        }
    }
}

static const struct cfg_param *find_param(const char *path)
{
    for (size_t i = 0; i < NPARAMS; i++)
        if (!strcmp(params[i].path, path))
            return &params[i];
    return NULL;
}

static bool section_known(const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < NPARAMS; i++)
        if (!strncmp(params[i].path, name, n) && params[i].path[n] == '.')
            return true;
    return false;
}

int cfg_load_yaml(struct cfg *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open config file %s: %s", path, strerror(errno));
        return FS_ECONFIG;
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    int rc = 0;
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(err, errlen, "%s line %zu: YAML error: %s", path, parser.problem_mark.line + 1,
                 parser.problem ? parser.problem : "unknown");
        yaml_parser_delete(&parser);
        fclose(f);
        return FS_ECONFIG;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) /* an empty file: nothing to apply */
        goto out;
    if (root->type != YAML_MAPPING_NODE) {
        snprintf(err, errlen, "%s line %zu: expected a mapping of sections (neo4j, falkordb, ...)",
                 path, root->start_mark.line + 1);
        rc = FS_ECONFIG;
        goto out;
    }
    for (yaml_node_pair_t *sp = root->data.mapping.pairs.start;
         !rc && sp < root->data.mapping.pairs.top; sp++) {
        yaml_node_t *sk = yaml_document_get_node(&doc, sp->key);
        yaml_node_t *sv = yaml_document_get_node(&doc, sp->value);
        const char *sname =
            sk->type == YAML_SCALAR_NODE ? (const char *)sk->data.scalar.value : "?";
        if (sk->type != YAML_SCALAR_NODE || !section_known(sname)) {
            snprintf(err, errlen,
                     "%s line %zu: unknown section '%s' (expected neo4j, falkordb, sync, logging, "
                     "monitoring)",
                     path, sk->start_mark.line + 1, sname);
            rc = FS_ECONFIG;
            break;
        }
        if (sv->type == YAML_SCALAR_NODE && sv->data.scalar.length == 0)
            continue; /* "section:" with nothing under it */
        if (sv->type != YAML_MAPPING_NODE) {
            snprintf(err, errlen, "%s line %zu: section '%s' must be a mapping", path,
                     sv->start_mark.line + 1, sname);
            rc = FS_ECONFIG;
            break;
        }
        for (yaml_node_pair_t *kp = sv->data.mapping.pairs.start; kp < sv->data.mapping.pairs.top;
             kp++) {
            yaml_node_t *k = yaml_document_get_node(&doc, kp->key);
            yaml_node_t *v = yaml_document_get_node(&doc, kp->value);
            char full[128];
            snprintf(full, sizeof full, "%s.%s", sname,
                     k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "?");
            const struct cfg_param *p = find_param(full);
            const char *why = p ? NULL : removed_why(full);
            if (why) {
                cfg_warn(c, "%s line %zu: setting '%s' was %s; delete the line", path,
                         k->start_mark.line + 1, full, why);
                continue;
            }
            if (!p) {
                snprintf(err, errlen, "%s line %zu: unknown setting '%s'", path,
                         k->start_mark.line + 1, full);
                rc = FS_ECONFIG;
                break;
            }
            if (v->type != YAML_SCALAR_NODE) {
                snprintf(err, errlen, "%s line %zu: %s must be a single value", path,
                         v->start_mark.line + 1, full);
                rc = FS_ECONFIG;
                break;
            }
            char where[300];
            snprintf(where, sizeof where, "%s line %zu", path, v->start_mark.line + 1);
            const char *text = (const char *)v->data.scalar.value;
            bool is_null = v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                           (!strcmp(text, "~") || !strcmp(text, "null") || !*text);
            if (is_null && (p->type == T_STR || p->type == T_SECRET))
                text = "";
            rc = set_value(c, p, text, where, err, errlen);
            if (rc)
                break;
        }
    }
out:
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    fclose(f);
    return rc;
}

/* A secret from a file (Docker/Kubernetes secrets): <ENV>_FILE names it; its
 * content, less one trailing newline, is the value, and wins over <ENV>.
 * 1 when the variable is set and the file was read, 0 when it is not set,
 * FS_ECONFIG (with a message naming the variable, never the content). */
#define CFG_SECRET_FILE_MAX 4096
static int load_secret_file(struct cfg *c, const struct cfg_param *p, char *err, size_t errlen)
{
    char var[96];
    snprintf(var, sizeof var, "%s_FILE", p->env);
    const char *path = getenv(var);
    if (!path || !*path)
        return 0;
    if (getenv(p->env) && *getenv(p->env)) {
        snprintf(err, errlen, "both %s and %s are set: keep one", p->env, var);
        return FS_ECONFIG;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot read %s: %s", var, path, strerror(errno));
        return FS_ECONFIG;
    }
    char buf[CFG_SECRET_FILE_MAX + 1];
    size_t n = fread(buf, 1, sizeof buf, f);
    bool failed = ferror(f) != 0;
    fclose(f);
    if (failed || n > CFG_SECRET_FILE_MAX) {
        snprintf(err, errlen, "%s: %s is %s", var, path,
                 failed ? "unreadable" : "longer than 4096 bytes (not a secret?)");
        return FS_ECONFIG;
    }
    if (n && buf[n - 1] == '\n')
        n--;
    if (n && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    if (strlen(buf) != n) {
        snprintf(err, errlen, "%s: %s holds a NUL byte", var, path);
        return FS_ECONFIG;
    }
    char where[128];
    snprintf(where, sizeof where, "the file named by %s", var);
    int rc = set_value(c, p, buf, where, err, errlen);
    memset(buf, 0, sizeof buf);
    return rc ? rc : 1;
}

int cfg_load_env(struct cfg *c, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof removed / sizeof removed[0]; i++) {
        const char *v = getenv(removed[i].env);
        if (v && *v)
            cfg_warn(c, "environment variable %s (%s) was %s; unset it", removed[i].env,
                     removed[i].path, removed[i].why);
    }
    for (size_t i = 0; i < NPARAMS; i++) {
        const struct cfg_param *p = &params[i];
        if (!p->env)
            continue;
        if (p->type == T_SECRET) {
            int rc = load_secret_file(c, p, err, errlen);
            if (rc < 0)
                return rc;
            if (rc == 1)
                continue; /* <ENV>_FILE given: it is the value */
        }
        const char *v = getenv(p->env);
        if (!v)
            continue;
        if (!*v && p->type != T_STR && p->type != T_SECRET)
            continue; /* an empty variable leaves numbers and switches alone */
        char where[96];
        snprintf(where, sizeof where, "environment variable %s", p->env);
        int rc = set_value(c, p, v, where, err, errlen);
        if (rc)
            return rc;
    }
    return 0;
}

static bool is_loopback(const char *addr)
{
    return !strcmp(addr, "127.0.0.1") || !strcmp(addr, "::1") || !strcmp(addr, "localhost") ||
           !strncmp(addr, "127.", 4);
}

int cfg_validate(const struct cfg *c, char *err, size_t errlen)
{
    if (!*c->neo4j.uri) {
        snprintf(err, errlen, "neo4j.uri (NEO4J_URI) must not be empty");
        return FS_ECONFIG;
    }
    if (!*c->falkordb.host) {
        snprintf(err, errlen, "falkordb.host (FALKORDB_HOST) must not be empty");
        return FS_ECONFIG;
    }
    if (!*c->falkordb.database) {
        snprintf(err, errlen, "falkordb.database (FALKORDB_DATABASE) must not be empty");
        return FS_ECONFIG;
    }
    if (!is_loopback(c->monitoring.bind_address) && !*c->monitoring.api_token &&
        !c->monitoring.allow_public_bind) {
        snprintf(err, errlen,
                 "monitoring.bind_address is %s (not loopback) but no API token is set: set "
                 "SYNC_API_TOKEN, or monitoring.allow_public_bind: true to accept the risk",
                 c->monitoring.bind_address);
        return FS_ECONFIG;
    }
    if (c->falkordb.wait_replicas > 0 &&
        (long long)c->falkordb.wait_timeout_ms >= c->falkordb.read_timeout_seconds * 1000LL) {
        snprintf(err, errlen,
                 "falkordb.wait_timeout_ms (FALKORDB_WAIT_TIMEOUT_MS) = %d must be shorter than "
                 "falkordb.read_timeout_seconds (FALKORDB_READ_TIMEOUT) = %d s: the connection "
                 "would time out before WAIT answers",
                 c->falkordb.wait_timeout_ms, c->falkordb.read_timeout_seconds);
        return FS_ECONFIG;
    }
    if (c->sync.lease_renew_seconds >= c->sync.lease_ttl_seconds) {
        snprintf(err, errlen,
                 "sync.lease_renew_seconds (SYNC_LEASE_RENEW_SECONDS) = %d must be below "
                 "sync.lease_ttl_seconds (SYNC_LEASE_TTL_SECONDS) = %d, or the lease lapses "
                 "between renewals",
                 c->sync.lease_renew_seconds, c->sync.lease_ttl_seconds);
        return FS_ECONFIG;
    }
    if (c->sync.profile == CFG_PROFILE_GENERIC && c->falkordb.layout == CFG_LAYOUT_PER_GROUP) {
        snprintf(err, errlen,
                 "falkordb.layout (FALKORDB_LAYOUT) = per_group needs sync.profile = graphiti: "
                 "the generic profile has no group_id to split by; use layout single");
        return FS_ECONFIG;
    }
    if (strpbrk(c->sync.key_property, "`\x01\x02\x03\x04\x05\x06\x07\x08\t\n\r")) {
        snprintf(err, errlen,
                 "sync.key_property (SYNC_KEY_PROPERTY) must not hold a backtick or control "
                 "characters (FalkorDB cannot name such a property)");
        return FS_ECONFIG;
    }
    if (c->sync.profile != CFG_PROFILE_GENERIC &&
        (*c->sync.key_property || c->sync.temporal != CFG_TEMPORAL_ISO)) {
        snprintf(err, errlen,
                 "sync.key_property and sync.temporal apply to sync.profile = generic only (the "
                 "graphiti profile keys by uuid and writes temporals as Graphiti's ISO text)");
        return FS_ECONFIG;
    }
    if (c->sync.profile == CFG_PROFILE_GENERIC && c->sync.full_method == CFG_FULL_BULK) {
        snprintf(err, errlen,
                 "sync.full_method (SYNC_FULL_METHOD) = bulk needs sync.profile = graphiti; the "
                 "generic profile writes with queries (use auto or query)");
        return FS_ECONFIG;
    }
    if (c->monitoring.health_port && c->monitoring.health_port == c->monitoring.metrics_port) {
        snprintf(err, errlen, "monitoring.health_port and monitoring.metrics_port are both %d",
                 c->monitoring.health_port);
        return FS_ECONFIG;
    }
    return 0;
}

static int replace_str(char **slot, const char *v, size_t n)
{
    char *d = strndup(v, n);
    if (!d)
        return FS_ENOMEM;
    free(*slot);
    *slot = d;
    return 0;
}

/* falkordb.host may be a URL: redis://[user[:password]@]host[:port] or rediss://... (TLS). */
static int normalize_falkordb_url(struct cfg *c, char *err, size_t errlen)
{
    const char *h = c->falkordb.host;
    bool tls = !strncmp(h, "rediss://", 9);
    if (!tls && strncmp(h, "redis://", 8))
        return 0;
    const char *p = h + (tls ? 9 : 8);
    char *copy = strdup(p);
    if (!copy)
        return FS_ENOMEM;
    char *slash = strchr(copy, '/');
    if (slash)
        *slash = '\0';
    char *at = strrchr(copy, '@');
    char *hostport = copy;
    int rc = 0;
    if (at) {
        *at = '\0';
        hostport = at + 1;
        char *colon = strchr(copy, ':');
        if (colon) {
            *colon = '\0';
            rc = replace_str(&c->falkordb.password, colon + 1, strlen(colon + 1));
        }
        if (!rc && *copy)
            rc = replace_str(&c->falkordb.username, copy, strlen(copy));
    }
    char *colon = strrchr(hostport, ':');
    if (!rc && colon && !strchr(colon, ']')) {
        char *end;
        long port = strtol(colon + 1, &end, 10);
        if (*end || port < 1 || port > 65535) {
            snprintf(err, errlen, "falkordb.host (FALKORDB_HOST): bad port in '%s'", h);
            rc = FS_ECONFIG;
        } else {
            c->falkordb.port = (int)port;
            *colon = '\0';
        }
    }
    if (!rc && *hostport == '[') { /* [v6] */
        hostport++;
        char *rb = strchr(hostport, ']');
        if (rb)
            *rb = '\0';
    }
    if (!rc && !*hostport) {
        snprintf(err, errlen, "falkordb.host (FALKORDB_HOST): no host in '%s'", h);
        rc = FS_ECONFIG;
    }
    if (!rc) {
        if (tls)
            c->falkordb.tls = true;
        rc = replace_str(&c->falkordb.host, hostport, strlen(hostport));
    }
    free(copy);
    return rc;
}

int cfg_load(struct cfg *c, const char *path, char *err, size_t errlen)
{
    int rc = cfg_init_defaults(c);
    if (!rc && path)
        rc = cfg_load_yaml(c, path, err, errlen);
    if (!rc)
        rc = cfg_load_env(c, err, errlen);
    if (!rc)
        rc = normalize_falkordb_url(c, err, errlen);
    if (!rc && c->falkordb.layout == CFG_LAYOUT_AUTO)
        c->falkordb.layout =
            c->sync.profile == CFG_PROFILE_GENERIC ? CFG_LAYOUT_SINGLE : CFG_LAYOUT_PER_GROUP;
    if (!rc)
        rc = cfg_validate(c, err, errlen);
    return rc;
}

void cfg_visit(const struct cfg *c, cfg_visit_fn fn, void *ud)
{
    for (size_t i = 0; i < NPARAMS; i++) {
        const struct cfg_param *p = &params[i];
        char text[512];
        const void *f = cfield(c, p);
        switch (p->type) {
        case T_STR:
            snprintf(text, sizeof text, "%s", *(char *const *)f);
            break;
        case T_SECRET:
            snprintf(text, sizeof text, "%s", **(char *const *)f ? "***" : "");
            break;
        case T_INT:
            snprintf(text, sizeof text, "%d", *(const int *)f);
            break;
        case T_BOOL:
            snprintf(text, sizeof text, "%s", *(const bool *)f ? "true" : "false");
            break;
        case T_ENUM:
            if (p->choices == levels)
                snprintf(text, sizeof text, "%s", *(char *const *)f);
            else
                snprintf(text, sizeof text, "%s", p->choices[*(const int *)f]);
            break;
        }
        fn(ud, p->path, p->env, text, p->def, p->doc);
    }
}
