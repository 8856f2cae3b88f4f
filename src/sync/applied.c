/* The applied set: open addressing on a 64-bit row id, the change time as the value. */
#include "sync/applied.h"

#include <stdlib.h>
#include <string.h>

struct slot {
    uint64_t id; /* 0: empty (an id of 0 is stored as 1) */
    int64_t s;
    int32_t ns;
};

struct sync_applied {
    struct slot *t;
    uint32_t mask, n;
};

struct sync_applied *sync_applied_new(unsigned cap_log2)
{
    if (cap_log2 < 4 || cap_log2 > 28)
        return NULL;
    struct sync_applied *a = calloc(1, sizeof *a);
    if (a && !(a->t = calloc((size_t)1 << cap_log2, sizeof *a->t))) {
        free(a);
        return NULL;
    }
    if (a)
        a->mask = (1u << cap_log2) - 1;
    return a;
}

void sync_applied_free(struct sync_applied *a)
{
    if (!a)
        return;
    free(a->t);
    free(a);
}

/* FNV-1a, 64 bits. */
static uint64_t fnv(uint64_t h, const void *p, size_t len)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < len; i++) {
        h ^= s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

uint64_t sync_applied_hash(const void *p, size_t len, uint64_t h)
{
    return fnv(h ? h : 0xcbf29ce484222325ULL, p, len);
}

uint64_t sync_applied_id(const char *graph, int query, const char *key)
{
    uint64_t h = fnv(0xcbf29ce484222325ULL, graph, strlen(graph) + 1);
    unsigned char q = (unsigned char)query;
    h = fnv(h, &q, 1);
    h = fnv(h, key, strlen(key));
    h ^= h >> 29; /* spread the high bits into the slot index */
    return h ? h : 1;
}

static struct slot *find(const struct sync_applied *a, uint64_t id)
{
    for (uint32_t i = (uint32_t)id & a->mask;; i = (i + 1) & a->mask)
        if (a->t[i].id == id || !a->t[i].id)
            return &a->t[i];
}

bool sync_applied_seen(const struct sync_applied *a, uint64_t id, int64_t s, int64_t ns)
{
    if (!a)
        return false;
    const struct slot *x = find(a, id);
    return x->id == id && x->s == s && x->ns == (int32_t)ns;
}

void sync_applied_queue(struct sync_applied_batch *b, const struct sync_applied *a, uint64_t id,
                        int64_t s, int64_t ns)
{
    if (!a)
        return;
    if (b->n == b->cap) {
        uint32_t most = a->mask + 1u; /* more rows than the set holds: not worth it */
        uint32_t cap = b->cap ? b->cap * 2 : 256;
        cap = cap < most ? cap : most;
        if (cap <= b->n)
            return;
        struct sync_applied_row *v = realloc(b->v, cap * sizeof *v);
        if (!v)
            return;
        b->v = v;
        b->cap = cap;
    }
    b->v[b->n++] = (struct sync_applied_row){id, s, (int32_t)ns};
}

/* Keeps the entries whose change time is at or after before_s (before_s INT64_MAX: none). */
static void forget(struct sync_applied *a, int64_t before_s)
{
    uint32_t size = a->mask + 1;
    struct slot *old = a->t;
    struct slot *t = calloc(size, sizeof *t);
    if (!t) { /* cannot rehash: forget everything */
        memset(a->t, 0, size * sizeof *a->t);
        a->n = 0;
        return;
    }
    a->t = t;
    a->n = 0;
    for (uint32_t i = 0; i < size; i++)
        if (old[i].id && old[i].s >= before_s) {
            *find(a, old[i].id) = old[i];
            a->n++;
        }
    free(old);
}

void sync_applied_commit(struct sync_applied *a, struct sync_applied_batch *b,
                         int64_t forget_before_s)
{
    for (uint32_t i = 0; a && i < b->n; i++)
        sync_applied_put(a, b->v[i].id, b->v[i].s, b->v[i].ns, forget_before_s);
    b->n = 0;
}

void sync_applied_put(struct sync_applied *a, uint64_t id, int64_t s, int64_t ns,
                      int64_t forget_before_s)
{
    uint32_t limit = (a->mask + 1) / 4 * 3;
    if (a->n >= limit) {
        forget(a, forget_before_s);
        if (a->n >= limit / 3 * 2)
            forget(a, INT64_MAX);
    }
    struct slot *x = find(a, id);
    if (!x->id)
        a->n++;
    *x = (struct slot){id, s, (int32_t)ns};
}

void sync_applied_batch_free(struct sync_applied_batch *b)
{
    free(b->v);
    memset(b, 0, sizeof *b);
}

uint32_t sync_applied_count(const struct sync_applied *a)
{
    return a ? a->n : 0;
}
