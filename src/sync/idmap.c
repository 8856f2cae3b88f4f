/* Hash -> node id map for GRAPH.BULK relationships: append, sort once, binary search. */
#include "sync/idmap.h"

#include <stdlib.h>

#define AMBIGUOUS UINT32_MAX

void idmap_init(struct idmap *m, size_t expect)
{
    m->v = expect ? malloc(expect * sizeof *m->v) : NULL;
    m->cap = m->v ? expect : 0;
    m->n = 0;
    m->sealed = false;
}

void idmap_deinit(struct idmap *m)
{
    free(m->v);
    m->v = NULL;
    m->n = m->cap = 0;
}

uint64_t idmap_hash(const char *label, const char *key)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a, then a final mix */
    for (const unsigned char *p = (const unsigned char *)label; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    h = (h ^ 0x1f) * 1099511628211ULL;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

int idmap_add(struct idmap *m, uint64_t h, uint64_t id)
{
    if (id >= AMBIGUOUS)
        return FS_ETOO_BIG;
    if (m->n == m->cap) { /* sized from Neo4j's count up front; grows if it was short */
        size_t cap = m->cap ? m->cap + m->cap / 4 : 4096;
        struct idmap_pair *v = realloc(m->v, cap * sizeof *v);
        if (!v)
            return FS_ENOMEM;
        m->v = v;
        m->cap = cap;
    }
    m->v[m->n++] = (struct idmap_pair){(uint32_t)(h >> 32), (uint32_t)h, (uint32_t)id};
    m->sealed = false;
    return 0;
}

static int pair_cmp(const void *a, const void *b)
{
    const struct idmap_pair *x = a, *y = b;
    if (x->hi != y->hi)
        return x->hi < y->hi ? -1 : 1;
    if (x->lo != y->lo)
        return x->lo < y->lo ? -1 : 1;
    return 0;
}

static void sift_down(struct idmap_pair *v, size_t root, size_t n)
{
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n && pair_cmp(&v[child], &v[child + 1]) < 0)
            child++;
        if (pair_cmp(&v[root], &v[child]) >= 0)
            return;
        struct idmap_pair t = v[root];
        v[root] = v[child];
        v[child] = t;
        root = child;
    }
}

/* Heapsort: in place. glibc's qsort is a merge sort that allocates a copy
 * of the array, which doubled the map's share of the peak RSS. */
static void sort_pairs(struct idmap_pair *v, size_t n)
{
    for (size_t i = n / 2; i-- > 0;)
        sift_down(v, i, n);
    for (size_t end = n; end > 1; end--) {
        struct idmap_pair t = v[0];
        v[0] = v[end - 1];
        v[end - 1] = t;
        sift_down(v, 0, end - 1);
    }
}

void idmap_seal(struct idmap *m)
{
    if (m->sealed)
        return;
    sort_pairs(m->v, m->n);
    for (size_t i = 0; i + 1 < m->n; i++)
        if (!pair_cmp(&m->v[i], &m->v[i + 1]))
            m->v[i].id = m->v[i + 1].id = AMBIGUOUS;
    m->sealed = true;
}

int idmap_find(const struct idmap *m, uint64_t h, uint64_t *id)
{
    struct idmap_pair want = {(uint32_t)(h >> 32), (uint32_t)h, 0};
    const struct idmap_pair *f = m->n ? bsearch(&want, m->v, m->n, sizeof *m->v, pair_cmp) : NULL;
    if (!f)
        return 0;
    if (f->id == AMBIGUOUS)
        return IDMAP_AMBIGUOUS;
    *id = f->id;
    return 1;
}
