/* Unit tests for config: the settings table's defaults, YAML, environment, and clear errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"

/* Every variable the table reads, and those of removed settings, unset so
 * that the environment ctest runs in (FALKORDB_PORT, ...) cannot leak in. */
static void unset_one(void *ud, const char *path, const char *env, const char *value,
                      const char *def, const char *doc)
{
    if (env)
        unsetenv(env);
}

static int clean_env(void **state)
{
    struct cfg c;
    if (cfg_init_defaults(&c))
        return -1;
    cfg_visit(&c, unset_one, NULL);
    cfg_deinit(&c);
    unsetenv("NEO4J_POOL_SIZE");
    unsetenv("FALKORDB_POOL_SIZE");
    unsetenv("SYNC_STATE_DIR");
    unsetenv("NEO4J_PASSWORD_FILE");
    unsetenv("FALKORDB_PASSWORD_FILE");
    unsetenv("SYNC_API_TOKEN_FILE");
    return 0;
}

static char yaml_path[64];

/* Writes text to a temporary YAML file; returns its path. */
static const char *yaml(const char *text)
{
    snprintf(yaml_path, sizeof yaml_path, "/tmp/fs_test_config_%d.yaml", (int)getpid());
    FILE *f = fopen(yaml_path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return yaml_path;
}

/* Loads defaults + text + env + checks; expects FS_ECONFIG and every needle in the message. */
static void expect_error(const char *text, const char *const *needles)
{
    struct cfg c;
    char err[512] = "";
    int rc = cfg_load(&c, text ? yaml(text) : NULL, err, sizeof err);
    cfg_deinit(&c);
    if (rc != FS_ECONFIG)
        fail_msg("want FS_ECONFIG, got %s for:\n%s", fs_errname(rc), text ? text : "(env)");
    for (int i = 0; needles[i]; i++)
        if (!strstr(err, needles[i]))
            fail_msg("message \"%s\" lacks \"%s\"", err, needles[i]);
}

#define EXPECT_ERROR(text, ...)                                                                    \
    do {                                                                                           \
        const char *const needles_[] = {__VA_ARGS__, NULL};                                        \
        expect_error((text), needles_);                                                            \
    } while (0)

static void test_defaults(void **state)
{
    struct cfg c;
    char err[256] = "";
    assert_int_equal(cfg_load(&c, NULL, err, sizeof err), 0);
    assert_string_equal(c.neo4j.uri, "bolt://127.0.0.1:7687");
    assert_string_equal(c.neo4j.user, "neo4j");
    assert_string_equal(c.neo4j.password, "graphiti123");
    assert_int_equal(c.neo4j.fetch_size, 10000);
    assert_string_equal(c.falkordb.host, "127.0.0.1");
    assert_int_equal(c.falkordb.port, 6379);
    assert_string_equal(c.falkordb.database, "graphiti_cache");
    assert_int_equal(c.falkordb.layout, CFG_LAYOUT_PER_GROUP); /* auto, graphiti profile */
    assert_int_equal(c.falkordb.max_reply_mb, 512);
    assert_string_equal(c.falkordb.record_commands, "");
    assert_false(c.falkordb.tls);
    assert_int_equal(c.sync.batch_size, 1000);
    assert_int_equal(c.sync.interval_seconds, 300);
    assert_int_equal(c.sync.profile, CFG_PROFILE_GRAPHITI);
    assert_int_equal(c.sync.full_method, CFG_FULL_AUTO);
    assert_true(c.sync.enable_incremental);
    assert_string_equal(c.sync.embedding_properties, "name_embedding,fact_embedding");
    assert_string_equal(c.logging.level, "INFO");
    assert_int_equal(c.logging.format, CFG_LOG_JSON);
    assert_int_equal(c.monitoring.health_port, 8080);
    assert_string_equal(c.monitoring.bind_address, "127.0.0.1");
    cfg_deinit(&c);
}

static void test_yaml(void **state)
{
    struct cfg c;
    char err[256] = "";
    const char *p = yaml("# a comment\n"
                         "neo4j:\n"
                         "  uri: bolt+s://db.example:7999\n"
                         "  password: ~\n"
                         "falkordb:\n"
                         "  port: 6400\n"
                         "  layout: PER_GROUP\n"
                         "  tls: yes\n"
                         "  max_reply_mb: 64\n"
                         "  record_commands: /tmp/rec.resp\n"
                         "sync:\n"
                         "  batch_size: 250\n"
                         "  enable_incremental: off\n"
                         "  full_method: query\n"
                         "logging:\n"
                         "  level: debug\n"
                         "monitoring:\n");
    assert_int_equal(cfg_load(&c, p, err, sizeof err), 0);
    assert_string_equal(c.neo4j.uri, "bolt+s://db.example:7999");
    assert_string_equal(c.neo4j.password, "");  /* null -> empty */
    assert_string_equal(c.neo4j.user, "neo4j"); /* untouched keys keep their default */
    assert_int_equal(c.falkordb.port, 6400);
    assert_int_equal(c.falkordb.layout, CFG_LAYOUT_PER_GROUP);
    assert_true(c.falkordb.tls);
    assert_int_equal(c.falkordb.max_reply_mb, 64);
    assert_string_equal(c.falkordb.record_commands, "/tmp/rec.resp");
    assert_int_equal(c.sync.batch_size, 250);
    assert_false(c.sync.enable_incremental);
    assert_int_equal(c.sync.full_method, CFG_FULL_QUERY);
    assert_string_equal(c.logging.level, "DEBUG"); /* normalised */
    cfg_deinit(&c);
    unlink(p);
}

static void test_yaml_errors(void **state)
{
    EXPECT_ERROR("neo4j:\n  fetch_size: lots\n", "line 2", "neo4j.fetch_size", "'lots'",
                 "integer from -1 to 10000000");
    EXPECT_ERROR("falkordb:\n  port: 70000\n", "falkordb.port", "from 1 to 65535");
    EXPECT_ERROR("falkordb:\n  max_reply_mb: 0\n", "falkordb.max_reply_mb", "from 1 to");
    EXPECT_ERROR("falkordb:\n  tls: maybe\n", "falkordb.tls", "true or false");
    EXPECT_ERROR("sync:\n  profile: other\n", "sync.profile", "one of graphiti, generic");
    EXPECT_ERROR("sync:\n  nosuch: 1\n", "line 2", "unknown setting 'sync.nosuch'");
    EXPECT_ERROR("cache:\n  a: 1\n", "line 1", "unknown section 'cache'");
    EXPECT_ERROR("sync:\n  batch_size: [1, 2]\n", "sync.batch_size must be a single value");
    EXPECT_ERROR("sync: 5\n", "section 'sync' must be a mapping");
    EXPECT_ERROR("- a\n- b\n", "expected a mapping of sections");
    EXPECT_ERROR("neo4j:\n  uri: [unclosed\n", "YAML error");
    /* cross-field checks run after YAML */
    EXPECT_ERROR("monitoring:\n  bind_address: 0.0.0.0\n", "not loopback", "SYNC_API_TOKEN");
    EXPECT_ERROR("sync:\n  profile: generic\nfalkordb:\n  layout: per_group\n",
                 "per_group needs sync.profile = graphiti");
}

/* Loads defaults + text + env + checks; expects success, the setting unused,
 * and every needle in the warnings. */
static void expect_warning(const char *text, const char *const *needles)
{
    struct cfg c;
    char err[512] = "";
    int rc = cfg_load(&c, text ? yaml(text) : NULL, err, sizeof err);
    if (rc)
        fail_msg("want success with a warning, got %s (%s) for:\n%s", fs_errname(rc), err,
                 text ? text : "(env)");
    for (int i = 0; needles[i]; i++)
        if (!strstr(c.warnings, needles[i]))
            fail_msg("warnings \"%s\" lack \"%s\"", c.warnings, needles[i]);
    cfg_deinit(&c);
}

#define EXPECT_WARNING(text, ...)                                                                  \
    do {                                                                                           \
        const char *const needles_[] = {__VA_ARGS__, NULL};                                        \
        expect_warning((text), needles_);                                                          \
    } while (0)

/* The seed's config.yaml sets the pool sizes: it must load, and say they are gone. */
static void test_removed_settings(void **state)
{
    EXPECT_WARNING("neo4j:\n  uri: bolt://x:1\n  pool_size: 10\n", "line 3",
                   "'neo4j.pool_size' was removed", "delete the line");
    EXPECT_WARNING("falkordb:\n  pool_size: 5\n", "'falkordb.pool_size' was removed");
    EXPECT_WARNING("sync:\n  state_dir: /var/lib/falkorsync\n", "'sync.state_dir' was removed",
                   "checkpoints");
    /* a removed key does not hide a bad one after it */
    EXPECT_ERROR("falkordb:\n  pool_size: 5\n  port: 0\n", "falkordb.port");

    setenv("SYNC_STATE_DIR", "/var/lib/falkorsync", 1);
    EXPECT_WARNING(NULL, "environment variable SYNC_STATE_DIR", "sync.state_dir", "unset it");
    setenv("SYNC_STATE_DIR", "", 1); /* an empty variable sets nothing */
    struct cfg c;
    char err[256] = "";
    assert_int_equal(cfg_load(&c, NULL, err, sizeof err), 0);
    assert_string_equal(c.warnings, "");
    cfg_deinit(&c);
    unsetenv("SYNC_STATE_DIR");
    setenv("NEO4J_POOL_SIZE", "10", 1);
    EXPECT_WARNING(NULL, "NEO4J_POOL_SIZE", "removed");
    unsetenv("NEO4J_POOL_SIZE");
}

static void test_env(void **state)
{
    const char *p = yaml("falkordb:\n  port: 6400\n  database: from_yaml\n");
    setenv("FALKORDB_PORT", "6500", 1); /* env wins over YAML */
    setenv("SYNC_ENABLE_CONTINUOUS", "FALSE", 1);
    setenv("FALKORDB_MAX_REPLY_MB", "1024", 1);
    setenv("FALKORSYNC_RECORD_COMMANDS", "/tmp/x.resp", 1);
    setenv("SYNC_BATCH_SIZE", "", 1); /* empty: numbers stay as they were */
    struct cfg c;
    char err[256] = "";
    assert_int_equal(cfg_load(&c, p, err, sizeof err), 0);
    assert_int_equal(c.falkordb.port, 6500);
    assert_string_equal(c.falkordb.database, "from_yaml");
    assert_false(c.sync.enable_continuous);
    assert_int_equal(c.falkordb.max_reply_mb, 1024);
    assert_string_equal(c.falkordb.record_commands, "/tmp/x.resp");
    assert_int_equal(c.sync.batch_size, 1000);
    cfg_deinit(&c);

    setenv("SYNC_BATCH_SIZE", "0", 1);
    EXPECT_ERROR(NULL, "environment variable SYNC_BATCH_SIZE", "sync.batch_size",
                 "from 1 to 1000000");
    setenv("SYNC_BATCH_SIZE", "12abc", 1);
    EXPECT_ERROR(NULL, "SYNC_BATCH_SIZE", "'12abc'");
    unsetenv("SYNC_BATCH_SIZE");

    /* falkordb.host may be a URL whose parts set the other keys */
    setenv("FALKORDB_HOST", "rediss://alice:s3cret@cache.example:7000", 1);
    assert_int_equal(cfg_load(&c, NULL, err, sizeof err), 0);
    assert_string_equal(c.falkordb.host, "cache.example");
    assert_int_equal(c.falkordb.port, 7000);
    assert_string_equal(c.falkordb.username, "alice");
    assert_string_equal(c.falkordb.password, "s3cret");
    assert_true(c.falkordb.tls);
    cfg_deinit(&c);
    setenv("FALKORDB_HOST", "redis://h:99999", 1);
    EXPECT_ERROR(NULL, "bad port");
    unlink(p);
    clean_env(NULL);
}

/* falkordb.wait_replicas and wait_timeout_ms: off by default, YAML and env, and a WAIT that
 * could outlast the read timeout is refused. */
static void test_wait_replicas(void **state)
{
    struct cfg c;
    char err[256] = "";
    assert_int_equal(cfg_load(&c, NULL, err, sizeof err), 0);
    assert_int_equal(c.falkordb.wait_replicas, 0);
    assert_int_equal(c.falkordb.wait_timeout_ms, 5000);
    cfg_deinit(&c);

    const char *p = yaml("falkordb:\n  wait_replicas: 2\n  wait_timeout_ms: 800\n");
    assert_int_equal(cfg_load(&c, p, err, sizeof err), 0);
    assert_int_equal(c.falkordb.wait_replicas, 2);
    assert_int_equal(c.falkordb.wait_timeout_ms, 800);
    cfg_deinit(&c);
    setenv("FALKORDB_WAIT_REPLICAS", "1", 1); /* env wins over YAML */
    assert_int_equal(cfg_load(&c, p, err, sizeof err), 0);
    assert_int_equal(c.falkordb.wait_replicas, 1);
    cfg_deinit(&c);

    setenv("FALKORDB_WAIT_REPLICAS", "-1", 1);
    EXPECT_ERROR(NULL, "FALKORDB_WAIT_REPLICAS", "from 0 to 1000");
    unsetenv("FALKORDB_WAIT_REPLICAS");
    setenv("FALKORDB_WAIT_TIMEOUT_MS", "0", 1); /* WAIT 0 would block for ever */
    EXPECT_ERROR(NULL, "FALKORDB_WAIT_TIMEOUT_MS", "from 1 to 3600000");
    setenv("FALKORDB_WAIT_TIMEOUT_MS", "300000", 1);          /* = the read timeout, 300 s */
    assert_int_equal(cfg_load(&c, NULL, err, sizeof err), 0); /* no WAIT: no matter */
    cfg_deinit(&c);
    setenv("FALKORDB_WAIT_REPLICAS", "1", 1);
    EXPECT_ERROR(NULL, "falkordb.wait_timeout_ms", "FALKORDB_READ_TIMEOUT", "shorter");
    setenv("FALKORDB_READ_TIMEOUT", "301", 1);
    assert_int_equal(cfg_load(&c, NULL, err, sizeof err), 0);
    cfg_deinit(&c);
    unlink(p);
    clean_env(NULL);
}

struct seen {
    int n;
    bool max_reply, record, pool, secret_masked;
};

static void visit(void *ud, const char *path, const char *env, const char *value, const char *def,
                  const char *doc)
{
    struct seen *s = ud;
    s->n++;
    assert_non_null(doc);
    assert_non_null(def);
    if (!strcmp(path, "falkordb.max_reply_mb"))
        s->max_reply = env && !strcmp(env, "FALKORDB_MAX_REPLY_MB") && !strcmp(value, "512");
    if (!strcmp(path, "falkordb.record_commands"))
        s->record = env && !strcmp(env, "FALKORSYNC_RECORD_COMMANDS");
    if (strstr(path, "pool_size") || strstr(path, "state_dir"))
        s->pool = true;
    if (!strcmp(path, "neo4j.password"))
        s->secret_masked = !strcmp(value, "***");
}

static void test_visit(void **state)
{
    struct cfg c;
    assert_int_equal(cfg_init_defaults(&c), 0);
    struct seen s = {0};
    cfg_visit(&c, visit, &s);
    assert_true(s.n > 40);
    assert_true(s.max_reply);
    assert_true(s.record);
    assert_false(s.pool);
    assert_true(s.secret_masked);
    cfg_deinit(&c);
}

/* <ENV>_FILE for every secret: the file's content (one trailing newline
 * dropped) is the value; both forms at once, or an unreadable file, is a
 * clear error that never shows the content. */
static void test_secret_files(void **state)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/fs_test_secret_%d", (int)getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("s3cret-from-file\n", f);
    fclose(f);
    const char *vars[3] = {"NEO4J_PASSWORD_FILE", "FALKORDB_PASSWORD_FILE", "SYNC_API_TOKEN_FILE"};
    for (int i = 0; i < 3; i++)
        setenv(vars[i], path, 1);
    struct cfg c;
    char err[512] = "";
    assert_int_equal(cfg_load(&c, NULL, err, sizeof err), 0);
    assert_string_equal(c.neo4j.password, "s3cret-from-file");
    assert_string_equal(c.falkordb.password, "s3cret-from-file");
    assert_string_equal(c.monitoring.api_token, "s3cret-from-file");
    cfg_deinit(&c);
    for (int i = 1; i < 3; i++)
        unsetenv(vars[i]);

    setenv("NEO4J_PASSWORD", "other", 1);
    EXPECT_ERROR(NULL, "both NEO4J_PASSWORD and NEO4J_PASSWORD_FILE");
    unsetenv("NEO4J_PASSWORD");
    unlink(path);
    EXPECT_ERROR(NULL, "NEO4J_PASSWORD_FILE", "cannot read");
    unsetenv("NEO4J_PASSWORD_FILE");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, clean_env),
        cmocka_unit_test_setup(test_yaml, clean_env),
        cmocka_unit_test_setup(test_yaml_errors, clean_env),
        cmocka_unit_test_setup(test_removed_settings, clean_env),
        cmocka_unit_test_setup(test_env, clean_env),
        cmocka_unit_test_setup(test_wait_replicas, clean_env),
        cmocka_unit_test_setup(test_visit, clean_env),
        cmocka_unit_test_setup(test_secret_files, clean_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
