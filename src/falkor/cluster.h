/* Redis Cluster, the pure part: key slots (CRC16, hash tags), the key of a
 * command, the slot map from CLUSTER SLOTS, and MOVED/ASK redirections.
 * No I/O; fdb.c routes over it. */
#ifndef FALKORSYNC_FDB_CLUSTER_H
#define FALKORSYNC_FDB_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis.h>

#define FDB_CLUSTER_SLOTS 16384
#define FDB_CLUSTER_MAX_NODES 64
#define FDB_CLUSTER_NO_NODE 0xFFFF

/* CRC16-CCITT (XModem), the one of the Redis Cluster spec: "123456789" -> 0x31C3. */
uint16_t fdb_crc16(const char *s, size_t len);
/* The hash slot of a key: CRC16 of its hash tag (the bytes between the first
 * '{' and the first '}' after it, when not empty), else of the whole key; mod 16384. */
unsigned fdb_key_slot(const char *key, size_t len);
/* The hash tag of a key (start and length), or false when it has none. */
bool fdb_key_tag(const char *key, size_t len, size_t *start, size_t *taglen);

/* The key a command addresses: argv[1] for most commands, argv[2] for
 * MEMORY USAGE / GRAPH.MEMORY USAGE; false for keyless commands (MULTI, EXEC,
 * PING, INFO, GRAPH.LIST, ...). */
bool fdb_command_key(int argc, const char *const *argv, const size_t *argvlen, const char **key,
                     size_t *keylen);

struct fdb_cluster_node {
    char host[256];
    int port;
};

/* slot -> node index (FDB_CLUSTER_NO_NODE when no primary serves it). Node
 * indexes never change once given, so connections kept per index stay valid. */
struct fdb_slot_map {
    uint16_t node_of[FDB_CLUSTER_SLOTS];
    int nnodes;
    struct fdb_cluster_node node[FDB_CLUSTER_MAX_NODES];
};

void fdb_slot_map_init(struct fdb_slot_map *m);
/* The index of host:port, added when new; -1 when the map is full. */
int fdb_slot_map_node(struct fdb_slot_map *m, const char *host, int port);
/* Fills the map from a CLUSTER SLOTS reply (primaries only; replicas are
 * skipped). An empty host in the reply means the node that answered
 * (default_host). Returns 0, or -1 when the reply is not a slot table. */
int fdb_slot_map_parse(struct fdb_slot_map *m, const redisReply *r, const char *default_host);
/* True when node i owns at least one slot. */
bool fdb_slot_map_is_primary(const struct fdb_slot_map *m, int i);

/* "MOVED 3999 127.0.0.1:6381" or "ASK 3999 127.0.0.1:6381": true, with the
 * kind, slot and address; false for any other error text. */
bool fdb_redirect_parse(const char *msg, size_t len, bool *ask, unsigned *slot, char *host,
                        size_t hostcap, int *port);

#endif
