/* Redis Cluster, the pure part (see cluster.h). Facts from the Redis Cluster
 * specification: key slot = CRC16(key) mod 16384, with hash tags; CLUSTER SLOTS;
 * -MOVED / -ASK redirections. */
#include "falkor/cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

uint16_t fdb_crc16(const char *s, size_t len)
{
    /* polynomial 0x1021, initial 0, no reflection, no final xor */
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)((uint16_t)(unsigned char)s[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    return crc;
}

bool fdb_key_tag(const char *key, size_t len, size_t *start, size_t *taglen)
{
    const char *open = memchr(key, '{', len);
    if (!open)
        return false;
    size_t s = (size_t)(open - key) + 1;
    const char *close = memchr(key + s, '}', len - s);
    if (!close || close == key + s)
        return false;
    *start = s;
    *taglen = (size_t)(close - (key + s));
    return true;
}

unsigned fdb_key_slot(const char *key, size_t len)
{
    size_t s, n;
    if (fdb_key_tag(key, len, &s, &n))
        return fdb_crc16(key + s, n) & (FDB_CLUSTER_SLOTS - 1);
    return fdb_crc16(key, len) & (FDB_CLUSTER_SLOTS - 1);
}

static bool arg_is(const char *a, size_t n, const char *name)
{
    return n == strlen(name) && !strncasecmp(a, name, n);
}

bool fdb_command_key(int argc, const char *const *argv, const size_t *argvlen, const char **key,
                     size_t *keylen)
{
    static const char *const keyless[] = {
        "MULTI",   "EXEC",   "DISCARD",    "UNWATCH",      "PING",     "INFO",
        "AUTH",    "HELLO",  "ASKING",     "CLUSTER",      "SELECT",   "CLIENT",
        "CONFIG",  "DBSIZE", "SCAN",       "KEYS",         "FLUSHALL", "FLUSHDB",
        "COMMAND", "WAIT",   "GRAPH.LIST", "GRAPH.CONFIG", "READONLY", "READWRITE",
        "ECHO",    "TIME",   "QUIT",       "GRAPH.INFO",   NULL,
    };
    if (argc < 1)
        return false;
    size_t n0 = argvlen ? argvlen[0] : strlen(argv[0]);
    for (int i = 0; keyless[i]; i++)
        if (arg_is(argv[0], n0, keyless[i]))
            return false;
    int k = 1;
    if (arg_is(argv[0], n0, "MEMORY") || arg_is(argv[0], n0, "GRAPH.MEMORY"))
        k = 2;
    /* EVAL script numkeys key...: the first key, when there is one */
    if (arg_is(argv[0], n0, "EVAL") || arg_is(argv[0], n0, "EVALSHA") ||
        arg_is(argv[0], n0, "EVAL_RO") || arg_is(argv[0], n0, "FCALL")) {
        if (argc < 4 || (argv[2][0] == '0' && (argvlen ? argvlen[2] : strlen(argv[2])) == 1))
            return false;
        k = 3;
    }
    if (argc <= k)
        return false;
    *key = argv[k];
    *keylen = argvlen ? argvlen[k] : strlen(argv[k]);
    return true;
}

void fdb_slot_map_init(struct fdb_slot_map *m)
{
    memset(m, 0, sizeof *m);
    for (int i = 0; i < FDB_CLUSTER_SLOTS; i++)
        m->node_of[i] = FDB_CLUSTER_NO_NODE;
}

int fdb_slot_map_node(struct fdb_slot_map *m, const char *host, int port)
{
    for (int i = 0; i < m->nnodes; i++)
        if (m->node[i].port == port && !strcmp(m->node[i].host, host))
            return i;
    if (m->nnodes >= FDB_CLUSTER_MAX_NODES || strlen(host) >= sizeof m->node[0].host)
        return -1;
    snprintf(m->node[m->nnodes].host, sizeof m->node[0].host, "%s", host);
    m->node[m->nnodes].port = port;
    return m->nnodes++;
}

/* One [start, end, [host, port, id, ...], replicas...] entry. */
static int parse_range(struct fdb_slot_map *m, const redisReply *e, const char *default_host)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
        e->element[0]->type != REDIS_REPLY_INTEGER || e->element[1]->type != REDIS_REPLY_INTEGER)
        return -1;
    long long lo = e->element[0]->integer, hi = e->element[1]->integer;
    const redisReply *p = e->element[2];
    if (lo < 0 || hi >= FDB_CLUSTER_SLOTS || lo > hi || p->type != REDIS_REPLY_ARRAY ||
        p->elements < 2 || p->element[1]->type != REDIS_REPLY_INTEGER)
        return -1;
    const redisReply *h = p->element[0];
    const char *host = default_host;
    char buf[256];
    if ((h->type == REDIS_REPLY_STRING || h->type == REDIS_REPLY_STATUS) && h->len > 0 &&
        h->len < sizeof buf && strcmp(h->str, "?")) {
        memcpy(buf, h->str, h->len);
        buf[h->len] = '\0';
        host = buf;
    }
    int node = fdb_slot_map_node(m, host, (int)p->element[1]->integer);
    if (node < 0)
        return -1;
    for (long long s = lo; s <= hi; s++)
        m->node_of[s] = (uint16_t)node;
    return 0;
}

int fdb_slot_map_parse(struct fdb_slot_map *m, const redisReply *r, const char *default_host)
{
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return -1;
    for (int i = 0; i < FDB_CLUSTER_SLOTS; i++)
        m->node_of[i] = FDB_CLUSTER_NO_NODE;
    for (size_t i = 0; i < r->elements; i++)
        if (parse_range(m, r->element[i], default_host))
            return -1;
    return 0;
}

bool fdb_slot_map_is_primary(const struct fdb_slot_map *m, int i)
{
    for (int s = 0; s < FDB_CLUSTER_SLOTS; s++)
        if (m->node_of[s] == i)
            return true;
    return false;
}

bool fdb_redirect_parse(const char *msg, size_t len, bool *ask, unsigned *slot, char *host,
                        size_t hostcap, int *port)
{
    char text[320];
    if (!msg || len >= sizeof text)
        return false;
    memcpy(text, msg, len);
    text[len] = '\0';
    char kind[8], addr[300];
    unsigned s;
    if (sscanf(text, "%7s %u %299s", kind, &s, addr) != 3 || s >= FDB_CLUSTER_SLOTS)
        return false;
    if (strcmp(kind, "MOVED") && strcmp(kind, "ASK"))
        return false;
    char *colon = strrchr(addr, ':');
    if (!colon || (size_t)(colon - addr) >= hostcap)
        return false;
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || p < 1 || p > 65535)
        return false;
    *colon = '\0';
    snprintf(host, hostcap, "%s", addr);
    *ask = !strcmp(kind, "ASK");
    *slot = s;
    *port = (int)p;
    return true;
}
