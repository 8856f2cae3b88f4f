/* falkorsync-drain: how fast the Bolt client reads a result (records walked, not decoded). */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bolt/bolt.h"
#include "bolt/pack.h"
#include "util/buf.h"
#include "util/err.h"

/* Graphiti-shaped rows computed by Neo4j itself; $emb is sent once, so the
 * server does not build 1024 floats per row. */
#define DRAIN_DEFAULT_QUERY                                                                        \
    "UNWIND range(1, $rows) AS i RETURN 'uuid-' + i AS uuid, 'name ' + i AS name, "                \
    "'group_a' AS group_id, 'a summary of some length for entity number ' + i AS summary, "        \
    "datetime({epochSeconds: 1700000000 + i, nanosecond: 123456000}) AS created_at, "              \
    "$emb AS name_embedding"
#define DRAIN_EMB_DIM 1024
#define DRAIN_MAX_ROWS (INT64_C(1) << 40)

struct drain_opts {
    const char *query;
    const char *uri;
    const char *user;
    const char *password;
    const char *database;
    int fetch;
    int64_t rows;
};

struct drain_result {
    uint64_t rows;
    uint64_t values;
    uint64_t payload_bytes; /* sum of RECORD payload lengths (PackStream, no chunk headers) */
    double connect_s;
    double first_row_s; /* from sending RUN to the first record */
    double wall_s;      /* from sending RUN to the end of the result */
};

struct app {
    struct drain_opts o;
    struct bolt_session s;
    struct buf params;
    struct drain_result res;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: falkorsync-drain [options]\n"
               "  --query Q      Cypher to drain; $rows and $emb (1024 floats) are passed as\n"
               "                 parameters when Q mentions them; default: Graphiti-shaped rows\n"
               "  --rows N       value of $rows, default 100000\n"
               "  --fetch N      records per PULL, default 10000; -1 pulls all at once\n"
               "  --uri U        default $NEO4J_URI or bolt://127.0.0.1:7687\n"
               "  --user U       default $NEO4J_USER or neo4j\n"
               "  --password P   default $NEO4J_PASSWORD or graphiti123\n"
               "  --database D   default $NEO4J_DATABASE or the server's default\n"
               "Prints one JSON line: rows, seconds, rows/s, MB/s of payload, CPU s, peak RSS.\n");
}

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

static int parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (!s || !*s)
        return FS_EINVAL;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return FS_EINVAL;
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, struct drain_opts *o)
{
    *o = (struct drain_opts){
        .query = DRAIN_DEFAULT_QUERY,
        .uri = env_or("NEO4J_URI", "bolt://127.0.0.1:7687"),
        .user = env_or("NEO4J_USER", "neo4j"),
        .password = env_or("NEO4J_PASSWORD", "graphiti123"),
        .database = env_or("NEO4J_DATABASE", NULL),
        .fetch = 10000,
        .rows = 100000,
    };
    for (int i = 1; i < argc; i += 2) { /* every option takes a value */
        const char *arg = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        int64_t v = 0;
        int rc = 0;
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(arg, "--query")) {
            o->query = val;
        } else if (!strcmp(arg, "--rows")) {
            rc = parse_i64(val, 0, DRAIN_MAX_ROWS, &o->rows);
        } else if (!strcmp(arg, "--fetch")) {
            rc = parse_i64(val, -1, INT32_MAX, &v);
            /* 0 would mean the client's default (1000); say what you mean instead. */
            rc = rc ? rc : (v == 0 ? FS_EINVAL : 0);
            o->fetch = (int)v;
        } else if (!strcmp(arg, "--uri")) {
            o->uri = val;
        } else if (!strcmp(arg, "--user")) {
            o->user = val;
        } else if (!strcmp(arg, "--password")) {
            o->password = val;
        } else if (!strcmp(arg, "--database")) {
            o->database = val;
        } else {
            fprintf(stderr, "falkorsync-drain: unknown option %s\n", arg);
            usage(stderr);
            return FS_EINVAL;
        }
        if (!val || rc) {
            fprintf(stderr, "falkorsync-drain: %s needs a valid value\n", arg);
            return FS_EINVAL;
        }
    }
    return 0;
}

/* Encodes the parameter map: $rows and $emb, each only when the query uses it
 * (Neo4j ignores extra parameters, but $emb is 9 kB we need not send). */
static int build_params(const struct drain_opts *o, struct buf *b)
{
    bool want_rows = strstr(o->query, "$rows") != NULL;
    bool want_emb = strstr(o->query, "$emb") != NULL;
    int rc = pack_write_map_header(b, (want_rows ? 1u : 0u) + (want_emb ? 1u : 0u));
    if (want_rows) {
        rc = rc ? rc : pack_write_cstr(b, "rows");
        rc = rc ? rc : pack_write_int(b, o->rows);
    }
    if (want_emb) {
        rc = rc ? rc : pack_write_cstr(b, "emb");
        rc = rc ? rc : pack_write_list_header(b, DRAIN_EMB_DIM);
        for (int i = 0; i < DRAIN_EMB_DIM && !rc; i++)
            rc = pack_write_float(b, sin((double)i) * 0.1);
    }
    return rc;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Walks one record without building values: the LIST header, then each value. */
static int walk_record(const struct bolt_record *rec, uint64_t *values)
{
    struct pack_reader r;
    struct pack_item it;
    pack_reader_init(&r, rec->data, rec->len);
    int rc = pack_read_item(&r, &it);
    if (rc)
        return rc;
    if (it.kind != FS_VALUE_LIST)
        return FS_EMALFORMED;
    for (uint32_t i = 0; i < it.size; i++) {
        rc = pack_skip(&r, PACK_DEFAULT_MAX_DEPTH);
        if (rc)
            return rc;
    }
    *values += it.size;
    return r.pos == r.len ? 0 : FS_EMALFORMED;
}

static int drain(struct app *a)
{
    struct bolt_config cfg = {
        .uri = a->o.uri,
        .user = a->o.user,
        .password = a->o.password,
        .database = a->o.database,
        .connect_timeout_ms = 10000,
        .read_timeout_ms = 600000, /* a big UNWIND may keep Neo4j busy before its first row */
        .fetch_size = a->o.fetch,
    };
    double t0 = now_s();
    int rc = bolt_connect(&a->s, &cfg);
    if (rc) {
        fprintf(stderr, "falkorsync-drain: connect: %s\n", a->s.errstr);
        return rc;
    }
    a->res.connect_s = now_s() - t0;

    rc = build_params(&a->o, &a->params);
    if (rc) {
        fprintf(stderr, "falkorsync-drain: encoding parameters: %s\n", fs_strerror(rc));
        return rc;
    }
    double t_run = now_s();
    rc = bolt_run(&a->s, a->o.query, a->params.data, a->params.len, BOLT_MODE_READ);
    if (rc) {
        fprintf(stderr, "falkorsync-drain: run: %s\n", a->s.errstr);
        return rc;
    }
    struct bolt_record rec;
    while ((rc = bolt_next(&a->s, &rec)) == 1) {
        if (a->res.rows == 0)
            a->res.first_row_s = now_s() - t_run;
        a->res.rows++;
        a->res.payload_bytes += rec.len;
        rc = walk_record(&rec, &a->res.values);
        if (rc) {
            fprintf(stderr, "falkorsync-drain: record %llu: %s\n", (unsigned long long)a->res.rows,
                    fs_strerror(rc));
            return rc;
        }
    }
    a->res.wall_s = now_s() - t_run;
    if (rc) {
        fprintf(stderr, "falkorsync-drain: after %llu rows: %s\n", (unsigned long long)a->res.rows,
                a->s.errstr);
        return rc;
    }
    return 0;
}

static double tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static int report(const struct app *a)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    const struct drain_result *r = &a->res;
    double wall = r->wall_s > 0 ? r->wall_s : 1e-9;
    double user = tv_s(ru.ru_utime), sys = tv_s(ru.ru_stime);
    char version[16];
    snprintf(version, sizeof version, "%d.%d", a->s.version_major, a->s.version_minor);
    json_t *j = json_object();
    if (!j)
        return FS_ENOMEM;
    int bad = 0;
    bad |= json_object_set_new(j, "rows", json_integer((json_int_t)r->rows));
    bad |= json_object_set_new(j, "values", json_integer((json_int_t)r->values));
    bad |= json_object_set_new(j, "fetch", json_integer(a->o.fetch));
    bad |= json_object_set_new(j, "seconds", json_real(r->wall_s));
    bad |= json_object_set_new(j, "first_row_seconds", json_real(r->first_row_s));
    bad |= json_object_set_new(j, "connect_seconds", json_real(r->connect_s));
    bad |= json_object_set_new(j, "rows_per_s", json_real((double)r->rows / wall));
    bad |= json_object_set_new(j, "payload_bytes", json_integer((json_int_t)r->payload_bytes));
    bad |= json_object_set_new(j, "mb_per_s", json_real((double)r->payload_bytes / 1e6 / wall));
    bad |= json_object_set_new(j, "cpu_user_s", json_real(user));
    bad |= json_object_set_new(j, "cpu_sys_s", json_real(sys));
    bad |= json_object_set_new(j, "cpu_s", json_real(user + sys));
    bad |= json_object_set_new(j, "cpu_per_wall", json_real((user + sys) / wall));
    bad |= json_object_set_new(j, "max_rss_kb", json_integer((json_int_t)ru.ru_maxrss));
    bad |= json_object_set_new(j, "bolt", json_string(version));
    bad |= json_object_set_new(j, "server", json_string(a->s.server_agent));
    char *line = bad ? NULL : json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6));
    json_decref(j);
    if (!line)
        return FS_ENOMEM;
    printf("%s\n", line);
    free(line);
    return 0;
}

int main(int argc, char **argv)
{
    struct app a = {0};
    if (parse_args(argc, argv, &a.o))
        return 2;
    bolt_init(&a.s);
    buf_init(&a.params, 0);
    int rc = drain(&a);
    if (!rc)
        rc = report(&a);
    bolt_close(&a.s);
    buf_deinit(&a.params);
    return rc ? 1 : 0;
}
