/* The bulk method's id map: (label, key) -> FalkorDB node id, 12 bytes a node, sorted in
 * place once the nodes are in, so relationships can name their endpoints by id. */
#ifndef FALKORSYNC_SYNC_IDMAP_H
#define FALKORSYNC_SYNC_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct idmap_pair {
    uint32_t hi, lo, id; /* the 64-bit hash in two halves (no padding), the node id */
};

struct idmap {
    struct idmap_pair *v;
    size_t n, cap;
    bool sealed;
};

#define IDMAP_AMBIGUOUS 2 /* idmap_find: two nodes hold the key (or its hash) */

/* expect: entries to allocate up front (0: grow as needed). Never fails: without memory
 * now it grows later. */
void idmap_init(struct idmap *m, size_t expect);
void idmap_deinit(struct idmap *m);
/* The 64-bit hash of (label, key): FNV-1a of "label\x1fkey", then a final mix. */
uint64_t idmap_hash(const char *label, const char *key);
/* Adds (h, id). FS_ETOO_BIG when id does not fit 32 bits, FS_ENOMEM. */
int idmap_add(struct idmap *m, uint64_t h, uint64_t id) FS_WARN_UNUSED;
/* Sorts (in place: heapsort, no copy) and marks hashes held twice as ambiguous. */
void idmap_seal(struct idmap *m);
/* After idmap_seal: 1 with *id, 0 absent, IDMAP_AMBIGUOUS. */
int idmap_find(const struct idmap *m, uint64_t h, uint64_t *id);

#endif
