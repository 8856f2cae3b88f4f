/* falkorsync-replay: replays recorded FalkorDB commands (RESP), pipelined, and times them. */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "falkor/fdb.h"
#include "util/buf.h"
#include "util/err.h"

#define REPLAY_MAX_ARGS (1 << 20)          /* Redis' own limit on one command's arguments */
#define REPLAY_MAX_ARG ((size_t)512 << 20) /* Redis' proto-max-bulk-len default */
#define REPLAY_MAX_DEPTH 1000000
#define REPLAY_INDEX_WAIT_TRIES                                                                    \
    6000 /* about 10 min (most polls 100 ms apart), as full sync waits */

struct replay_opts {
    const char *file;
    const char *host;
    const char *password;
    const char *wait_graph; /* poll its indexes after the last reply (inside the timing) */
    int port;
    int depth;
};

/* One parsed command: argument i is args[i], its bytes owned here. */
struct command {
    struct buf *args;
    size_t *lens;
    const char **argv;
    int argc;
    int cap;
};

struct replay_result {
    uint64_t commands;
    uint64_t graph_bulk;  /* GRAPH.BULK commands */
    uint64_t vecf32;      /* GRAPH.QUERY that turn arrays into vecf32 (after a GRAPH.BULK) */
    uint64_t graph_query; /* other GRAPH.QUERY (indexes, the query method's batches) */
    uint64_t errors;
    uint64_t bytes; /* argument bytes sent */
    double seconds;
    double index_wait_s;
    char first_error[256];
};

struct app {
    struct replay_opts o;
    struct fdb_conn fdb;
    struct command cmd;
    struct replay_result res;
    FILE *in;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: falkorsync-replay --file F [options]\n"
               "Sends the RESP commands in F (as FALKORSYNC_RECORD_COMMANDS records them, or\n"
               "any redis-cli --pipe input) to FalkorDB through falkorsync's own connection\n"
               "code, at most --depth commands awaiting a reply, and times it.\n"
               "  --depth N       commands in flight, default 4 (falkorsync's pipeline depth)\n"
               "  --wait-indexes G  afterwards poll CALL db.indexes() on graph G until every\n"
               "                  index is OPERATIONAL (counted in the time, as full sync does)\n"
               "  --host H        default $FALKORDB_HOST or 127.0.0.1\n"
               "  --port P        default $FALKORDB_PORT or 6379\n"
               "  --password P    default $FALKORDB_PASSWORD (none)\n"
               "Prints one JSON line: commands, errors, seconds, MB sent, CPU s, peak RSS.\n"
               "Exit status: 0 when every reply was a success, 1 otherwise, 2 usage.\n");
}

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

static int parse_int(const char *s, long min, long max, int *out)
{
    if (!s || !*s)
        return FS_EINVAL;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return FS_EINVAL;
    *out = (int)v;
    return 0;
}

static int parse_args(int argc, char **argv, struct replay_opts *o)
{
    int port_default = 6379;
    if (parse_int(env_or("FALKORDB_PORT", "6379"), 1, 65535, &port_default))
        port_default = 6379;
    *o = (struct replay_opts){
        .host = env_or("FALKORDB_HOST", "127.0.0.1"),
        .password = env_or("FALKORDB_PASSWORD", NULL),
        .port = port_default,
        .depth = 4,
    };
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = 0;
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(arg, "--file")) {
            o->file = val;
        } else if (!strcmp(arg, "--depth")) {
            rc = parse_int(val, 1, REPLAY_MAX_DEPTH, &o->depth);
        } else if (!strcmp(arg, "--wait-indexes")) {
            o->wait_graph = val;
        } else if (!strcmp(arg, "--host")) {
            o->host = val;
        } else if (!strcmp(arg, "--port")) {
            rc = parse_int(val, 1, 65535, &o->port);
        } else if (!strcmp(arg, "--password")) {
            o->password = val;
        } else {
            fprintf(stderr, "falkorsync-replay: unknown option %s\n", arg);
            usage(stderr);
            return FS_EINVAL;
        }
        if (!val || rc) {
            fprintf(stderr, "falkorsync-replay: %s needs a valid value\n", arg);
            return FS_EINVAL;
        }
        i++;
    }
    if (!o->file) {
        fprintf(stderr, "falkorsync-replay: --file is required\n");
        usage(stderr);
        return FS_EINVAL;
    }
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void command_deinit(struct command *c)
{
    for (int i = 0; i < c->cap; i++)
        buf_deinit(&c->args[i]);
    free(c->args);
    free(c->lens);
    free(c->argv);
    memset(c, 0, sizeof *c);
}

static int command_reserve(struct command *c, int argc)
{
    if (argc <= c->cap)
        return 0;
    int cap = c->cap ? c->cap : 8;
    while (cap < argc)
        cap *= 2;
    struct buf *args = realloc(c->args, (size_t)cap * sizeof *args);
    if (!args)
        return FS_ENOMEM;
    c->args = args;
    for (int i = c->cap; i < cap; i++)
        buf_init(&c->args[i], REPLAY_MAX_ARG);
    c->cap = cap;
    size_t *lens = realloc(c->lens, (size_t)cap * sizeof *lens);
    if (lens)
        c->lens = lens;
    const char **v = realloc(c->argv, (size_t)cap * sizeof *v);
    if (v)
        c->argv = v;
    return lens && v ? 0 : FS_ENOMEM;
}

/* Reads "<prefix><decimal>\r\n". Returns 1 at a clean end of file before the prefix. */
static int read_header(FILE *in, char prefix, long long max, long long *out)
{
    int ch = fgetc(in);
    if (ch == EOF)
        return 1;
    if (ch != prefix)
        return FS_EMALFORMED;
    char num[24];
    size_t n = 0;
    while ((ch = fgetc(in)) != EOF && ch != '\r') {
        if (n + 1 >= sizeof num)
            return FS_EMALFORMED;
        num[n++] = (char)ch;
    }
    num[n] = '\0';
    if (ch != '\r' || fgetc(in) != '\n' || n == 0)
        return FS_EMALFORMED;
    char *end;
    errno = 0;
    long long v = strtoll(num, &end, 10);
    if (errno || *end || v < 0 || v > max)
        return FS_EMALFORMED;
    *out = v;
    return 0;
}

/* Parses the next command of the file into a->cmd. Returns 1 at the end of the file. */
static int next_command(struct app *a)
{
    long long argc = 0;
    int rc = read_header(a->in, '*', REPLAY_MAX_ARGS, &argc);
    if (rc)
        return rc;
    if (argc == 0)
        return FS_EMALFORMED;
    if ((rc = command_reserve(&a->cmd, (int)argc)))
        return rc;
    for (int i = 0; i < (int)argc; i++) {
        long long len = 0;
        rc = read_header(a->in, '$', (long long)REPLAY_MAX_ARG, &len);
        if (rc)
            return rc == 1 ? FS_ETRUNCATED : rc;
        struct buf *b = &a->cmd.args[i];
        buf_reset(b);
        if ((rc = buf_reserve(b, (size_t)len + 1)))
            return rc;
        if (fread(b->data, 1, (size_t)len, a->in) != (size_t)len)
            return FS_ETRUNCATED;
        b->len = (size_t)len;
        b->data[len] = '\0';
        if (fgetc(a->in) != '\r' || fgetc(a->in) != '\n')
            return FS_EMALFORMED;
        a->cmd.argv[i] = b->data;
        a->cmd.lens[i] = b->len;
        a->res.bytes += b->len;
    }
    a->cmd.argc = (int)argc;
    return 0;
}

/* Counts the command by kind, so that a report can say which write method was recorded. */
static void classify(struct app *a)
{
    const struct command *c = &a->cmd;
    if (!strcasecmp(c->argv[0], "GRAPH.BULK"))
        a->res.graph_bulk++;
    else if (!strcasecmp(c->argv[0], "GRAPH.QUERY") && c->argc >= 3 &&
             strstr(c->argv[2], "vecf32(") && !strstr(c->argv[2], "UNWIND $"))
        a->res.vecf32++;
    else if (!strcasecmp(c->argv[0], "GRAPH.QUERY"))
        a->res.graph_query++;
}

/* Reads one reply and counts it; only I/O failures are returned. */
static int reap(struct app *a)
{
    redisReply *r = NULL;
    int rc = fdb_read_reply(&a->fdb, &r);
    if (rc) {
        fprintf(stderr, "falkorsync-replay: %s\n", a->fdb.errstr);
        return rc;
    }
    char why[256];
    if (fdb_reply_error(r, why, sizeof why)) {
        if (!a->res.errors)
            snprintf(a->res.first_error, sizeof a->res.first_error, "%s", why);
        a->res.errors++;
    }
    freeReplyObject(r);
    return 0;
}

static int wait_indexes(struct app *a)
{
    const char *argv[3] = {"GRAPH.QUERY", a->o.wait_graph,
                           "CALL db.indexes() YIELD status WHERE status <> 'OPERATIONAL' "
                           "RETURN count(status)"};
    /* as falkorsync full: after 5 ms, then doubling up to every 100 ms */
    useconds_t pause = 5000;
    for (int tries = 0; tries < REPLAY_INDEX_WAIT_TRIES; tries++) {
        redisReply *r = NULL;
        int rc = fdb_command(&a->fdb, &r, 3, argv, NULL);
        if (rc) {
            fprintf(stderr, "falkorsync-replay: waiting for indexes: %s\n", a->fdb.errstr);
            return rc;
        }
        long long pending = -1;
        if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2 &&
            r->element[1]->type == REDIS_REPLY_ARRAY && r->element[1]->elements >= 1) {
            const redisReply *row = r->element[1]->element[0];
            if (row->type == REDIS_REPLY_ARRAY && row->elements >= 1 &&
                row->element[0]->type == REDIS_REPLY_INTEGER)
                pending = row->element[0]->integer;
        }
        freeReplyObject(r);
        if (pending == 0)
            return 0;
        usleep(pause);
        pause = pause < 100000 ? pause * 2 : 100000;
    }
    return FS_ETIMEOUT;
}

static int replay(struct app *a)
{
    struct fdb_config cfg = {
        .host = a->o.host,
        .port = a->o.port,
        .password = a->o.password,
        .connect_timeout_ms = 10000,
        .read_timeout_ms = 3600000, /* one big batch may keep FalkorDB busy for a while */
    };
    int rc = fdb_connect(&a->fdb, &cfg);
    if (rc) {
        fprintf(stderr, "falkorsync-replay: %s\n", a->fdb.errstr);
        return rc;
    }
    double t0 = now_s();
    while ((rc = next_command(a)) == 0) {
        while (a->fdb.pending >= a->o.depth)
            if ((rc = reap(a)))
                return rc;
        if (fdb_append(&a->fdb, a->cmd.argc, a->cmd.argv, a->cmd.lens) || fdb_flush(&a->fdb)) {
            fprintf(stderr, "falkorsync-replay: %s\n", a->fdb.errstr);
            return a->fdb.err ? a->fdb.err : FS_EIO;
        }
        a->res.commands++;
        classify(a);
    }
    if (rc != 1) {
        fprintf(stderr, "falkorsync-replay: %s: command %llu: %s\n", a->o.file,
                (unsigned long long)a->res.commands + 1, fs_strerror(rc));
        return rc;
    }
    while (a->fdb.pending > 0)
        if ((rc = reap(a)))
            return rc;
    if (a->o.wait_graph) {
        double tw = now_s();
        if ((rc = wait_indexes(a)))
            return rc;
        a->res.index_wait_s = now_s() - tw;
    }
    a->res.seconds = now_s() - t0;
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
    const struct replay_result *r = &a->res;
    double wall = r->seconds > 0 ? r->seconds : 1e-9;
    json_t *j = json_object();
    if (!j)
        return FS_ENOMEM;
    int bad = 0;
    bad |= json_object_set_new(j, "commands", json_integer((json_int_t)r->commands));
    bad |= json_object_set_new(j, "graph_bulk", json_integer((json_int_t)r->graph_bulk));
    bad |= json_object_set_new(j, "vecf32_queries", json_integer((json_int_t)r->vecf32));
    bad |= json_object_set_new(j, "other_graph_queries", json_integer((json_int_t)r->graph_query));
    bad |= json_object_set_new(j, "errors", json_integer((json_int_t)r->errors));
    if (r->errors)
        bad |= json_object_set_new(j, "first_error", json_string(r->first_error));
    bad |= json_object_set_new(j, "depth", json_integer(a->o.depth));
    bad |= json_object_set_new(j, "seconds", json_real(r->seconds));
    bad |= json_object_set_new(j, "index_wait_seconds", json_real(r->index_wait_s));
    bad |= json_object_set_new(j, "bytes", json_integer((json_int_t)r->bytes));
    bad |= json_object_set_new(j, "mb_per_s", json_real((double)r->bytes / 1e6 / wall));
    bad |= json_object_set_new(j, "cpu_s", json_real(tv_s(ru.ru_utime) + tv_s(ru.ru_stime)));
    bad |= json_object_set_new(j, "max_rss_kb", json_integer((json_int_t)ru.ru_maxrss));
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
    a.in = fopen(a.o.file, "rb");
    if (!a.in) {
        fprintf(stderr, "falkorsync-replay: %s: %s\n", a.o.file, strerror(errno));
        return 1;
    }
    fdb_init(&a.fdb);
    int rc = replay(&a);
    if (!rc)
        rc = report(&a);
    fdb_close(&a.fdb);
    command_deinit(&a.cmd);
    fclose(a.in);
    if (rc)
        return 1;
    return a.res.errors ? 1 : 0;
}
