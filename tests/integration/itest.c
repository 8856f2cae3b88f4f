/* Shared helpers for integration tests: where the real servers are. */
#include "itest.h"

#include <stdio.h>
#include <stdlib.h>

static const char *env_or(const char *name, const char *def)
{
    const char *v = getenv(name);
    return (v && *v) ? v : def;
}

static int env_port(const char *name, int def)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return def;
    char *end;
    long p = strtol(v, &end, 10);
    if (*end || p <= 0 || p > 65535) {
        fprintf(stderr, "itest: %s=%s is not a port\n", name, v);
        exit(2);
    }
    return (int)p;
}

int itest_neo4j_port(void)
{
    return env_port("NEO4J_PORT", 7687);
}

const char *itest_neo4j_user(void)
{
    return env_or("NEO4J_USER", "neo4j");
}

const char *itest_neo4j_password(void)
{
    return env_or("NEO4J_PASSWORD", "graphiti123");
}

int itest_falkordb_port(void)
{
    return env_port("FALKORDB_PORT", 6379);
}

const char *itest_falkordb_password(void)
{
    return env_or("FALKORDB_PASSWORD", NULL);
}

const char *itest_neo4j_uri(void)
{
    static char uri[64];
    snprintf(uri, sizeof uri, "bolt://127.0.0.1:%d", itest_neo4j_port());
    return uri;
}

const char *itest_root(void)
{
    return env_or("FALKORSYNC_ROOT", ".");
}

const char *itest_bin(void)
{
    return env_or("FALKORSYNC_BIN", "falkorsync");
}
