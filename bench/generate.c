/* falkorsync-gen: writes a deterministic Graphiti-shaped graph into Neo4j, as Graphiti does. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bolt/bolt.h"
#include "bolt/pack.h"
#include "util/buf.h"
#include "util/err.h"

/* ---- Settings and state ------------------------------------------------ */

#define GEN_MAX_GROUPS 64
#define GEN_MAX_DIM 65536
#define GEN_GROUP_NAME 24
#define GEN_MAX_EXEC 64
#define GEN_UUID_LEN 36
#define GEN_PARAM_LIMIT ((size_t)1 << 30) /* one batch of parameters, encoded */

/* Each kind of item draws from its own random stream, so an item's data
 * depends on (seed, kind, index) only: batch size and order change nothing. */
enum gen_kind {
    K_ENTITY = 1,
    K_EPISODE,
    K_COMMUNITY,
    K_SAGA,
    K_RELATES,
    K_MENTIONS,
    K_HAS_MEMBER,
    K_HAS_EPISODE,
    K_NEXT_EPISODE,
    K_UUID_SALT = 0x100, /* uuid streams are K_x | K_UUID_SALT */
    K_EMB_SALT = 0x200,  /* embedding streams are K_x | K_EMB_SALT */
};

enum gen_type {
    T_ENTITY,
    T_EPISODIC,
    T_COMMUNITY,
    T_SAGA,
    T_RELATES_TO,
    T_MENTIONS,
    T_HAS_MEMBER,
    T_HAS_EPISODE,
    T_NEXT_EPISODE,
    T_COUNT,
};

static const char *const type_names[T_COUNT] = {
    "Entity",   "Episodic",   "Community",   "Saga",         "RELATES_TO",
    "MENTIONS", "HAS_MEMBER", "HAS_EPISODE", "NEXT_EPISODE",
};

struct gen_opts {
    uint64_t entities;
    uint64_t seed;
    uint32_t groups;
    uint32_t dim;
    uint32_t batch;
    const char *uri;
    const char *user;
    const char *password;
    const char *database;
    bool clear;
    bool hostile;
    const char *exec[GEN_MAX_EXEC]; /* --exec: Cypher run after generating, in order */
    int nexec;
    bool count;
};

struct app {
    struct gen_opts o;
    struct bolt_session s;
    struct buf params;
    double *emb; /* scratch for one embedding */
    char group[GEN_MAX_GROUPS][GEN_GROUP_NAME];
    uint64_t n_episodes;    /* N/5 */
    uint64_t n_communities; /* N/50 */
    uint64_t counts[T_COUNT];
};

/* ---- Deterministic randomness ------------------------------------------ */

struct rng {
    uint64_t s;
};

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t rng_next(struct rng *r)
{
    r->s += 0x9E3779B97F4A7C15ULL;
    return mix64(r->s);
}

static struct rng rng_for(const struct app *a, uint32_t kind, uint64_t index)
{
    struct rng r = {
        mix64(a->o.seed ^ mix64(((uint64_t)kind << 48) ^ index ^ 0x5851F42D4C957F2DULL))};
    return r;
}

/* Uniform in [0, n); n > 0. The bias for our small n is irrelevant. */
static uint64_t rng_below(struct rng *r, uint64_t n)
{
    return rng_next(r) % n;
}

/* Uniform in [0, 1). */
static double rng_unit(struct rng *r)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* A v4-looking uuid for (kind, index), lowercase 8-4-4-4-12. */
static void make_uuid(const struct app *a, uint32_t kind, uint64_t index,
                      char out[GEN_UUID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    struct rng r = rng_for(a, kind | K_UUID_SALT, index);
    uint8_t b[16];
    uint64_t x = rng_next(&r), y = rng_next(&r);
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)(x >> (8 * i));
        b[8 + i] = (uint8_t)(y >> (8 * i));
    }
    b[6] = (uint8_t)((b[6] & 0x0F) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3F) | 0x80);
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = '\0';
}

/* ---- Group layout --------------------------------------------------------
 * Node i of a type belongs to group i % G and is the (i / G)-th of its group.
 * Edges never cross groups (per-group FalkorDB graphs need that), so edges are
 * numbered per group: key (g, m). */

static uint64_t in_group(uint64_t total, uint32_t groups, uint32_t g)
{
    return total > g ? (total - g - 1) / groups + 1 : 0;
}

static uint64_t global_of(uint32_t groups, uint32_t g, uint64_t local)
{
    return local * groups + g;
}

static uint64_t edge_key(uint32_t g, uint64_t m)
{
    return ((uint64_t)g << 40) | m;
}

/* ---- Encoding helpers ---------------------------------------------------
 * Maps and the row list are written with 32-bit size markers whose counts
 * are patched at the end, so rows can skip optional keys without counting
 * them first. PackStream readers accept any size marker for any size. */

#define TRY(x)                                                                                     \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_)                                                                                   \
            return rc_;                                                                            \
    } while (0)

struct open_container {
    size_t pos; /* offset of the marker */
    uint32_t n;
};

static int begin32(struct buf *b, uint8_t marker, struct open_container *c)
{
    uint8_t h[5] = {marker, 0, 0, 0, 0};
    c->pos = b->len;
    c->n = 0;
    return buf_append(b, h, sizeof h);
}

static void end32(struct buf *b, const struct open_container *c)
{
    uint8_t *p = (uint8_t *)b->data + c->pos + 1;
    p[0] = (uint8_t)(c->n >> 24);
    p[1] = (uint8_t)(c->n >> 16);
    p[2] = (uint8_t)(c->n >> 8);
    p[3] = (uint8_t)c->n;
}

static int map_begin(struct buf *b, struct open_container *m)
{
    return begin32(b, 0xDA, m);
}

static int list_begin(struct buf *b, struct open_container *l)
{
    return begin32(b, 0xD6, l);
}

static int key(struct buf *b, struct open_container *m, const char *k)
{
    m->n++;
    return pack_write_cstr(b, k);
}

static int kv_strn(struct buf *b, struct open_container *m, const char *k, const char *v, size_t n)
{
    TRY(key(b, m, k));
    return pack_write_string(b, v, n);
}

static int kv_str(struct buf *b, struct open_container *m, const char *k, const char *v)
{
    return kv_strn(b, m, k, v, strlen(v));
}

static int kv_int(struct buf *b, struct open_container *m, const char *k, int64_t v)
{
    TRY(key(b, m, k));
    return pack_write_int(b, v);
}

static int kv_float(struct buf *b, struct open_container *m, const char *k, double v)
{
    TRY(key(b, m, k));
    return pack_write_float(b, v);
}

static int kv_bool(struct buf *b, struct open_container *m, const char *k, bool v)
{
    TRY(key(b, m, k));
    return pack_write_bool(b, v);
}

/* A zoned DateTime (Bolt 5 tag 0x49): UTC seconds, nanos, offset 0. Nanos
 * are whole microseconds, as Python datetimes are. */
static int kv_datetime(struct buf *b, struct open_container *m, const char *k, int64_t secs,
                       int64_t micros)
{
    TRY(key(b, m, k));
    TRY(pack_write_struct_header(b, PACK_TAG_DATE_TIME, 3));
    TRY(pack_write_int(b, secs));
    TRY(pack_write_int(b, micros * 1000));
    return pack_write_int(b, 0);
}

/* A list of D float64s, L2-normalised like real embedding models give. */
static int kv_embedding(struct app *a, struct buf *b, struct open_container *m, const char *k,
                        uint32_t kind, uint64_t index)
{
    struct rng r = rng_for(a, kind | K_EMB_SALT, index);
    double norm = 0.0;
    for (uint32_t i = 0; i < a->o.dim; i++) {
        double v = rng_unit(&r) * 2.0 - 1.0;
        a->emb[i] = v;
        norm += v * v;
    }
    norm = norm > 0.0 ? sqrt(norm) : 1.0;
    TRY(key(b, m, k));
    TRY(pack_write_list_header(b, a->o.dim));
    TRY(buf_reserve(b, (size_t)a->o.dim * 9));
    for (uint32_t i = 0; i < a->o.dim; i++)
        TRY(pack_write_float(b, a->emb[i] / norm));
    return 0;
}

/* ---- Vocabulary ---------------------------------------------------------- */

static const char *const first_names[] = {
    "Alice", "Bruno", "Chloé", "Dmitri", "Emeka", "Fatima", "Günther", "Hana",
    "Ines",  "Jun",   "Kofi",  "Lena",   "Mateo", "Noor",   "Olga",    "Pavel",
};
static const char *const last_names[] = {
    "Novak", "Okafor", "Silva", "Tanaka",   "Müller",   "Haddad",  "Larsen", "Ivanova",
    "Chen",  "Dubois", "Rossi", "Kowalski", "Nakamura", "O'Brien", "García", "Singh",
};
static const char *const org_words[] = {
    "Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Tyrell", "Cyberdyne",
};
static const char *const org_kinds[] = {"Labs", "Corp", "GmbH", "Foundation", "Studio", "Bank"};
static const char *const places[] = {
    "Lisbon", "Nairobi", "Kyoto", "Montréal", "Reykjavík", "São Paulo", "Tbilisi", "Perth",
};
static const char *const things[] = {
    "Project Atlas",      "the Q3 budget", "Kubernetes", "the merger",
    "a sourdough recipe", "the marathon",  "PostgreSQL", "the offsite",
};
static const char *const relations[] = {
    "WORKS_AT", "KNOWS", "LIVES_IN", "MANAGES", "LIKES", "VISITED", "OWNS", "MENTORS",
};
static const char *const verbs[] = {
    "works at", "knows", "lives in", "manages", "likes", "visited", "owns", "mentors",
};
static const char *const industries[] = {"finance", "biotech", "retail", "energy", "media"};
static const char *const tag_words[] = {"coastal", "capital", "historic",
                                        "rainy",   "sunny",   "hilly"};
static const char *const sources[] = {"message", "text", "json"};

#define PICK(arr, r) (arr[rng_below((r), sizeof(arr) / sizeof((arr)[0]))])

/* Custom labels by entity index: 0 Person, 1 Organization, 2 Location, else none. */
static int entity_kind(uint64_t i)
{
    int k = (int)(mix64(i + 7) % 7);
    return k < 3 ? k : -1;
}

/* The entity's name, derived from its index only (facts reuse it). */
static int entity_name(const struct app *a, uint64_t i, struct buf *out)
{
    struct rng r = rng_for(a, K_ENTITY, i);
    buf_reset(out);
    switch (entity_kind(i)) {
    case 1:
        return buf_printf(out, "%s %s %" PRIu64, PICK(org_words, &r), PICK(org_kinds, &r), i);
    case 2:
        return buf_printf(out, "%s district %" PRIu64, PICK(places, &r), i);
    case 0:
        return buf_printf(out, "%s %s %" PRIu64, PICK(first_names, &r), PICK(last_names, &r), i);
    default:
        return buf_printf(out, "%s %" PRIu64, PICK(things, &r), i);
    }
}

static const int64_t BASE_TIME = 1735689600; /* 2025-01-01T00:00:00Z */

/* Microseconds, zero for about one value in ten (isoformat then drops the fraction). */
static int64_t micros_of(struct rng *r)
{
    return rng_below(r, 10) == 0 ? 0 : (int64_t)rng_below(r, 1000000);
}

/* ---- Bolt plumbing ------------------------------------------------------- */

static int drain(struct bolt_session *s)
{
    struct bolt_record rec;
    int rc;
    while ((rc = bolt_next(s, &rec)) == 1)
        ;
    return rc;
}

static int report(struct app *a, int rc, const char *what)
{
    if (rc)
        fprintf(stderr, "falkorsync-gen: %s: %s\n", what,
                a->s.errstr[0] ? a->s.errstr : fs_strerror(rc));
    return rc;
}

/* Runs one query with the encoded parameter map in a->params, inside its own
 * explicit write transaction. */
static int run_tx(struct app *a, const char *query, const char *what)
{
    int rc = bolt_begin(&a->s, BOLT_MODE_WRITE);
    if (!rc)
        rc = bolt_run(&a->s, query, a->params.data, a->params.len, BOLT_MODE_WRITE);
    if (!rc)
        rc = drain(&a->s);
    if (!rc)
        rc = bolt_commit(&a->s);
    /* On a FAILURE the client has already RESET the session: the transaction is gone. */
    return report(a, rc, what);
}

static int run_auto(struct app *a, const char *query, const char *what)
{
    int rc = bolt_run(&a->s, query, NULL, 0, BOLT_MODE_WRITE);
    if (!rc)
        rc = drain(&a->s);
    return report(a, rc, what);
}

/* Runs a query returning one integer; *out gets it. */
static int query_int(struct app *a, const char *query, int64_t *out)
{
    int rc = bolt_run(&a->s, query, NULL, 0, BOLT_MODE_READ);
    struct bolt_record rec;
    *out = 0;
    if (!rc && (rc = bolt_next(&a->s, &rec)) == 1) {
        struct pack_reader r;
        struct pack_item it;
        pack_reader_init(&r, rec.data, rec.len);
        rc = pack_read_item(&r, &it);
        if (!rc)
            rc = pack_read_item(&r, &it);
        if (!rc && it.kind == FS_VALUE_INT)
            *out = it.i;
        if (!rc)
            rc = drain(&a->s);
    }
    return report(a, rc < 0 ? rc : 0, query);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- Batches --------------------------------------------------------------
 * A row writer encodes item `index` as one map into b and returns 0, or
 * returns 1 to skip the index (no bytes written), or a negative error. */
typedef int (*row_fn)(struct app *a, struct buf *b, uint64_t index);

struct phase {
    enum gen_type type;
    const char *param; /* the parameter name the query UNWINDs */
    const char *query;
    row_fn row;
};

static int run_phase(struct app *a, const struct phase *p, uint64_t n)
{
    double t0 = now_seconds();
    uint64_t rows = 0;
    for (uint64_t start = 0; start < n; start += a->o.batch) {
        uint64_t end = n - start > a->o.batch ? start + a->o.batch : n;
        struct buf *b = &a->params;
        buf_reset(b);
        TRY(pack_write_map_header(b, 1));
        TRY(pack_write_cstr(b, p->param));
        struct open_container list;
        TRY(list_begin(b, &list));
        for (uint64_t i = start; i < end; i++) {
            int rc = p->row(a, b, i);
            if (rc < 0) {
                fprintf(stderr, "falkorsync-gen: encoding %s: %s\n", type_names[p->type],
                        fs_strerror(rc));
                return rc;
            }
            if (rc == 0)
                list.n++;
        }
        end32(b, &list);
        if (!list.n)
            continue;
        TRY(run_tx(a, p->query, type_names[p->type]));
        rows += list.n;
    }
    a->counts[p->type] += rows;
    double dt = now_seconds() - t0;
    fprintf(stderr, "falkorsync-gen: %-12s %10" PRIu64 " in %7.2f s (%.0f/s)\n",
            type_names[p->type], rows, dt, dt > 0 ? (double)rows / dt : 0.0);
    return 0;
}

/* ---- Graphiti's Neo4j indexes (graph_queries.py, default provider) ------ */

static const char *const neo4j_indexes[] = {
    "CREATE INDEX entity_uuid IF NOT EXISTS FOR (n:Entity) ON (n.uuid)",
    "CREATE INDEX episode_uuid IF NOT EXISTS FOR (n:Episodic) ON (n.uuid)",
    "CREATE INDEX community_uuid IF NOT EXISTS FOR (n:Community) ON (n.uuid)",
    "CREATE INDEX saga_uuid IF NOT EXISTS FOR (n:Saga) ON (n.uuid)",
    "CREATE INDEX relation_uuid IF NOT EXISTS FOR ()-[e:RELATES_TO]-() ON (e.uuid)",
    "CREATE INDEX mention_uuid IF NOT EXISTS FOR ()-[e:MENTIONS]-() ON (e.uuid)",
    "CREATE INDEX has_member_uuid IF NOT EXISTS FOR ()-[e:HAS_MEMBER]-() ON (e.uuid)",
    "CREATE INDEX has_episode_uuid IF NOT EXISTS FOR ()-[e:HAS_EPISODE]-() ON (e.uuid)",
    "CREATE INDEX next_episode_uuid IF NOT EXISTS FOR ()-[e:NEXT_EPISODE]-() ON (e.uuid)",
    "CREATE INDEX entity_group_id IF NOT EXISTS FOR (n:Entity) ON (n.group_id)",
    "CREATE INDEX episode_group_id IF NOT EXISTS FOR (n:Episodic) ON (n.group_id)",
    "CREATE INDEX community_group_id IF NOT EXISTS FOR (n:Community) ON (n.group_id)",
    "CREATE INDEX saga_group_id IF NOT EXISTS FOR (n:Saga) ON (n.group_id)",
    "CREATE INDEX relation_group_id IF NOT EXISTS FOR ()-[e:RELATES_TO]-() ON (e.group_id)",
    "CREATE INDEX mention_group_id IF NOT EXISTS FOR ()-[e:MENTIONS]-() ON (e.group_id)",
    "CREATE INDEX has_episode_group_id IF NOT EXISTS FOR ()-[e:HAS_EPISODE]-() ON (e.group_id)",
    "CREATE INDEX next_episode_group_id IF NOT EXISTS FOR ()-[e:NEXT_EPISODE]-() ON (e.group_id)",
    "CREATE INDEX name_entity_index IF NOT EXISTS FOR (n:Entity) ON (n.name)",
    "CREATE INDEX saga_name IF NOT EXISTS FOR (n:Saga) ON (n.name)",
    "CREATE INDEX created_at_entity_index IF NOT EXISTS FOR (n:Entity) ON (n.created_at)",
    "CREATE INDEX created_at_episodic_index IF NOT EXISTS FOR (n:Episodic) ON (n.created_at)",
    "CREATE INDEX valid_at_episodic_index IF NOT EXISTS FOR (n:Episodic) ON (n.valid_at)",
    "CREATE INDEX name_edge_index IF NOT EXISTS FOR ()-[e:RELATES_TO]-() ON (e.name)",
    "CREATE INDEX created_at_edge_index IF NOT EXISTS FOR ()-[e:RELATES_TO]-() ON (e.created_at)",
    "CREATE INDEX expired_at_edge_index IF NOT EXISTS FOR ()-[e:RELATES_TO]-() ON (e.expired_at)",
    "CREATE INDEX valid_at_edge_index IF NOT EXISTS FOR ()-[e:RELATES_TO]-() ON (e.valid_at)",
    "CREATE INDEX invalid_at_edge_index IF NOT EXISTS FOR ()-[e:RELATES_TO]-() ON (e.invalid_at)",
    "CREATE FULLTEXT INDEX episode_content IF NOT EXISTS FOR (e:Episodic) "
    "ON EACH [e.content, e.source, e.source_description, e.group_id]",
    "CREATE FULLTEXT INDEX node_name_and_summary IF NOT EXISTS FOR (n:Entity) "
    "ON EACH [n.name, n.summary, n.group_id]",
    "CREATE FULLTEXT INDEX community_name IF NOT EXISTS FOR (n:Community) "
    "ON EACH [n.name, n.group_id]",
    "CREATE FULLTEXT INDEX edge_name_and_fact IF NOT EXISTS FOR ()-[e:RELATES_TO]-() "
    "ON EACH [e.name, e.fact, e.group_id]",
};

static int create_indexes(struct app *a)
{
    for (size_t i = 0; i < sizeof neo4j_indexes / sizeof neo4j_indexes[0]; i++)
        TRY(run_auto(a, neo4j_indexes[i], "creating an index"));
    return run_auto(a, "CALL db.awaitIndexes(300)", "waiting for indexes");
}

static int clear_all(struct app *a)
{
    double t0 = now_seconds();
    int64_t total = 0, got;
    do {
        TRY(bolt_begin(&a->s, BOLT_MODE_WRITE));
        TRY(query_int(a, "MATCH (n) WITH n LIMIT 10000 DETACH DELETE n RETURN count(*)", &got));
        TRY(report(a, bolt_commit(&a->s), "COMMIT"));
        total += got;
    } while (got > 0);
    fprintf(stderr, "falkorsync-gen: cleared %" PRId64 " nodes in %.2f s\n", total,
            now_seconds() - t0);
    return 0;
}

/* ---- Entities ---------------------------------------------------------- */

static const char *const kind_labels[] = {"Person", "Organization", "Location"};

static int person_attrs(struct buf *b, struct open_container *m, struct rng *r)
{
    TRY(kv_int(b, m, "age", 18 + (int64_t)rng_below(r, 70)));
    TRY(kv_str(b, m, "email", "someone@example.org"));
    TRY(kv_bool(b, m, "is_active", rng_below(r, 2) == 1));
    TRY(kv_float(b, m, "score", rng_unit(r) * 100.0));
    TRY(key(b, m, "aliases"));
    uint32_t n = (uint32_t)rng_below(r, 4);
    TRY(pack_write_list_header(b, n));
    for (uint32_t i = 0; i < n; i++)
        TRY(pack_write_cstr(b, PICK(first_names, r)));
    return 0;
}

static int org_attrs(struct buf *b, struct open_container *m, struct rng *r)
{
    TRY(kv_int(b, m, "founded", 1900 + (int64_t)rng_below(r, 125)));
    TRY(kv_str(b, m, "industry", PICK(industries, r)));
    TRY(kv_float(b, m, "revenue", (double)rng_below(r, 1000000) * 1000.5));
    return kv_bool(b, m, "public", rng_below(r, 3) == 0);
}

static int location_attrs(struct buf *b, struct open_container *m, struct rng *r)
{
    TRY(kv_float(b, m, "latitude", rng_unit(r) * 180.0 - 90.0));
    TRY(kv_float(b, m, "longitude", rng_unit(r) * 360.0 - 180.0));
    TRY(kv_str(b, m, "country", PICK(places, r)));
    TRY(key(b, m, "tags"));
    TRY(pack_write_list_header(b, 2));
    TRY(pack_write_cstr(b, PICK(tag_words, r)));
    return pack_write_cstr(b, PICK(tag_words, r));
}

/* Graphiti's bulk save: labels (sorted, with Entity) are both the node's
 * labels and a `labels` property; attributes are flattened into the map. */
static int row_entity(struct app *a, struct buf *b, uint64_t i)
{
    struct rng r = rng_for(a, K_ENTITY, i);
    char uuid[GEN_UUID_LEN + 1];
    struct buf name;
    buf_init(&name, 4096);
    int rc = entity_name(a, i, &name);
    if (rc) {
        buf_deinit(&name);
        return rc;
    }
    make_uuid(a, K_ENTITY, i, uuid);
    int kind = entity_kind(i);
    struct open_container m;
    rc = map_begin(b, &m);
    rc = rc ? rc : kv_str(b, &m, "uuid", uuid);
    rc = rc ? rc : kv_strn(b, &m, "name", name.data, name.len);
    rc = rc ? rc : kv_str(b, &m, "group_id", a->group[i % a->o.groups]);
    if (!rc) {
        buf_reset(&name);
        rc = buf_printf(&name, "Summary of %s: %s. Mentioned alongside %s in %s.", uuid,
                        PICK(things, &r), PICK(first_names, &r), PICK(places, &r));
    }
    rc = rc ? rc : kv_strn(b, &m, "summary", name.data, name.len);
    buf_deinit(&name);
    rc = rc ? rc : kv_datetime(b, &m, "created_at", BASE_TIME + (int64_t)i * 37, micros_of(&r));
    rc = rc ? rc : key(b, &m, "labels");
    rc = rc ? rc : pack_write_list_header(b, kind >= 0 ? 2 : 1);
    rc = rc ? rc : pack_write_cstr(b, "Entity"); /* sorts before every custom label */
    if (kind >= 0)
        rc = rc ? rc : pack_write_cstr(b, kind_labels[kind]);
    if (!rc && kind == 0)
        rc = person_attrs(b, &m, &r);
    else if (!rc && kind == 1)
        rc = org_attrs(b, &m, &r);
    else if (!rc && kind == 2)
        rc = location_attrs(b, &m, &r);
    if (!rc && a->o.dim)
        rc = kv_embedding(a, b, &m, "name_embedding", K_ENTITY, i);
    if (!rc)
        end32(b, &m);
    return rc;
}

static const char Q_ENTITIES[] =
    "UNWIND $nodes AS node\n"
    "MERGE (n:Entity {uuid: node.uuid})\n"
    "SET n:$(node.labels)\n"
    "SET n = node {.*, name_embedding: null}\n"
    "WITH n, node CALL db.create.setNodeVectorProperty(n, 'name_embedding', node.name_embedding)\n"
    "RETURN count(*)";
static const char Q_ENTITIES_NOEMB[] = "UNWIND $nodes AS node\n"
                                       "MERGE (n:Entity {uuid: node.uuid})\n"
                                       "SET n:$(node.labels)\n"
                                       "SET n = node\n"
                                       "RETURN count(*)";

/* ---- Episodes ------------------------------------------------------------ */

/* 2 RELATES_TO per entity; none in a group of one entity (no self-loops). */
static uint64_t edges_in_group(const struct app *a, uint32_t g)
{
    uint64_t ng = in_group(a->o.entities, a->o.groups, g);
    return ng > 1 ? 2 * ng : 0;
}

static int row_episode(struct app *a, struct buf *b, uint64_t j)
{
    uint32_t g = (uint32_t)(j % a->o.groups);
    uint64_t jl = j / a->o.groups;
    uint64_t eg = in_group(a->n_episodes, a->o.groups, g);
    uint64_t mg = edges_in_group(a, g);
    struct rng r = rng_for(a, K_EPISODE, j);
    char uuid[GEN_UUID_LEN + 1];
    make_uuid(a, K_EPISODE, j, uuid);
    const char *source = PICK(sources, &r);
    struct buf text;
    buf_init(&text, 1 << 20);
    int rc = 0;
    if (!strcmp(source, "json"))
        rc = buf_printf(&text, "{\"event\": \"%s\", \"place\": \"%s\", \"n\": %" PRIu64 "}",
                        PICK(things, &r), PICK(places, &r), j);
    else if (!strcmp(source, "message"))
        rc = buf_printf(&text, "%s: I met %s in %s to talk about %s.\n%s: Sounds good!",
                        PICK(first_names, &r), PICK(first_names, &r), PICK(places, &r),
                        PICK(things, &r), PICK(first_names, &r));
    else
        rc = buf_printf(&text, "Report %" PRIu64 ": %s %s %s. It happened in %s.", j,
                        PICK(first_names, &r), PICK(verbs, &r), PICK(things, &r), PICK(places, &r));
    struct open_container m;
    rc = rc ? rc : map_begin(b, &m);
    rc = rc ? rc : kv_str(b, &m, "uuid", uuid);
    if (!rc) {
        char name[64];
        snprintf(name, sizeof name, "episode %" PRIu64, j);
        rc = kv_str(b, &m, "name", name);
    }
    rc = rc ? rc : kv_str(b, &m, "group_id", a->group[g]);
    rc = rc ? rc : kv_str(b, &m, "source_description", "synthetic chat log");
    rc = rc ? rc : kv_str(b, &m, "source", source);
    rc = rc ? rc : kv_strn(b, &m, "content", text.data, text.len);
    buf_deinit(&text);
    /* entity_edges: the edges whose first episode is this one. */
    rc = rc ? rc : key(b, &m, "entity_edges");
    struct open_container l;
    rc = rc ? rc : list_begin(b, &l);
    for (uint64_t k = jl; !rc && k < mg; k += eg) {
        char eu[GEN_UUID_LEN + 1];
        make_uuid(a, K_RELATES, edge_key(g, k), eu);
        rc = pack_write_string(b, eu, GEN_UUID_LEN);
        l.n++;
    }
    if (!rc)
        end32(b, &l);
    int64_t valid = BASE_TIME + (int64_t)jl * 600;
    rc = rc ? rc : kv_datetime(b, &m, "valid_at", valid, micros_of(&r));
    rc = rc ? rc
            : kv_datetime(b, &m, "created_at", valid + 5 + (int64_t)rng_below(&r, 300),
                          micros_of(&r));
    if (!rc)
        end32(b, &m);
    return rc;
}

static const char Q_EPISODES[] =
    "UNWIND $episodes AS episode\n"
    "MERGE (n:Episodic {uuid: episode.uuid})\n"
    "SET n = {uuid: episode.uuid, name: episode.name, group_id: episode.group_id, "
    "source_description: episode.source_description, source: episode.source, "
    "content: episode.content, entity_edges: episode.entity_edges, "
    "created_at: episode.created_at, valid_at: episode.valid_at}\n"
    "RETURN count(*)";

/* ---- RELATES_TO ---------------------------------------------------------- */

/* Edge rows are indexed globally; this maps a global edge index to (g, m). */
static bool edge_of(const struct app *a, uint64_t index, uint32_t *g, uint64_t *m)
{
    for (uint32_t i = 0; i < a->o.groups; i++) {
        uint64_t n = edges_in_group(a, i);
        if (index < n) {
            *g = i;
            *m = index;
            return true;
        }
        index -= n;
    }
    return false;
}

static int row_relates(struct app *a, struct buf *b, uint64_t index)
{
    uint32_t g;
    uint64_t m;
    if (!edge_of(a, index, &g, &m))
        return 1;
    uint64_t ng = in_group(a->o.entities, a->o.groups, g);
    uint64_t eg = in_group(a->n_episodes, a->o.groups, g);
    uint64_t k = edge_key(g, m);
    struct rng r = rng_for(a, K_RELATES, k);
    uint64_t src = global_of(a->o.groups, g, rng_below(&r, ng));
    uint64_t dl = rng_below(&r, ng);
    if (ng > 1 && global_of(a->o.groups, g, dl) == src)
        dl = (dl + 1) % ng;
    uint64_t dst = global_of(a->o.groups, g, dl);
    char uuid[GEN_UUID_LEN + 1], su[GEN_UUID_LEN + 1], du[GEN_UUID_LEN + 1];
    make_uuid(a, K_RELATES, k, uuid);
    make_uuid(a, K_ENTITY, src, su);
    make_uuid(a, K_ENTITY, dst, du);
    size_t rel = (size_t)rng_below(&r, sizeof relations / sizeof relations[0]);

    struct buf fact, tmp;
    buf_init(&fact, 1 << 16);
    buf_init(&tmp, 4096);
    int rc = entity_name(a, src, &tmp);
    rc = rc ? rc : buf_append(&fact, tmp.data, tmp.len);
    rc = rc ? rc : buf_printf(&fact, " %s ", verbs[rel]);
    rc = rc ? rc : entity_name(a, dst, &tmp);
    rc = rc ? rc : buf_append(&fact, tmp.data, tmp.len);
    rc = rc ? rc : buf_printf(&fact, " (fact %" PRIu64 " of %s).", m, a->group[g]);
    buf_deinit(&tmp);

    struct open_container mp;
    rc = rc ? rc : map_begin(b, &mp);
    rc = rc ? rc : kv_str(b, &mp, "uuid", uuid);
    rc = rc ? rc : kv_str(b, &mp, "source_node_uuid", su);
    rc = rc ? rc : kv_str(b, &mp, "target_node_uuid", du);
    rc = rc ? rc : kv_str(b, &mp, "name", relations[rel]);
    rc = rc ? rc : kv_strn(b, &mp, "fact", fact.data, fact.len);
    buf_deinit(&fact);
    rc = rc ? rc : kv_str(b, &mp, "group_id", a->group[g]);
    rc = rc ? rc : key(b, &mp, "episodes");
    if (!rc) {
        /* the first episode (matches that episode's entity_edges), sometimes a later one */
        uint32_t n = eg == 0 ? 0 : (eg > 1 && rng_below(&r, 5) == 0 ? 2 : 1);
        rc = pack_write_list_header(b, n);
        for (uint32_t e = 0; !rc && e < n; e++) {
            char epu[GEN_UUID_LEN + 1];
            make_uuid(a, K_EPISODE, global_of(a->o.groups, g, (m + e) % eg), epu);
            rc = pack_write_string(b, epu, GEN_UUID_LEN);
        }
    }
    int64_t created =
        BASE_TIME + (int64_t)(m % (eg ? eg : 1)) * 600 + 30 + (int64_t)rng_below(&r, 500);
    rc = rc ? rc : kv_datetime(b, &mp, "created_at", created, micros_of(&r));
    uint64_t fate = rng_below(&r, 100);
    if (!rc && fate < 90)
        rc = kv_datetime(b, &mp, "valid_at", created - (int64_t)rng_below(&r, 86400 * 365),
                         micros_of(&r));
    if (!rc && fate < 12) { /* invalidated by a later episode */
        int64_t later = created + 3600 + (int64_t)rng_below(&r, 86400 * 30);
        rc = kv_datetime(b, &mp, "invalid_at", later - 60, micros_of(&r));
        rc = rc ? rc : kv_datetime(b, &mp, "expired_at", later, micros_of(&r));
    } else if (!rc && fate < 15) { /* known to end, not yet expired */
        rc = kv_datetime(b, &mp, "invalid_at", created + 86400 * 90, 0);
    }
    if (!rc && rng_below(&r, 10) == 0) { /* a custom edge type's attributes */
        rc = kv_float(b, &mp, "confidence", rng_unit(&r));
        rc = rc ? rc : kv_int(b, &mp, "since_year", 1990 + (int64_t)rng_below(&r, 35));
    }
    if (!rc && a->o.dim)
        rc = kv_embedding(a, b, &mp, "fact_embedding", K_RELATES, k);
    if (!rc)
        end32(b, &mp);
    return rc;
}

static const char Q_RELATES[] =
    "UNWIND $entity_edges AS edge\n"
    "MATCH (source:Entity {uuid: edge.source_node_uuid})\n"
    "MATCH (target:Entity {uuid: edge.target_node_uuid})\n"
    "MERGE (source)-[e:RELATES_TO {uuid: edge.uuid}]->(target)\n"
    "SET e = edge {.*, fact_embedding: null}\n"
    "WITH e, edge CALL db.create.setRelationshipVectorProperty(e, 'fact_embedding', "
    "edge.fact_embedding)\n"
    "RETURN count(*)";
static const char Q_RELATES_NOEMB[] = "UNWIND $entity_edges AS edge\n"
                                      "MATCH (source:Entity {uuid: edge.source_node_uuid})\n"
                                      "MATCH (target:Entity {uuid: edge.target_node_uuid})\n"
                                      "MERGE (source)-[e:RELATES_TO {uuid: edge.uuid}]->(target)\n"
                                      "SET e = edge\n"
                                      "RETURN count(*)";

/* ---- MENTIONS: up to 3 per episode, distinct entities of its group ------ */

static int simple_edge(struct app *a, struct buf *b, uint32_t kind, uint64_t key_index,
                       const char *src_key, const char *src, const char *dst_key, const char *dst,
                       uint32_t g, int64_t created, int64_t micros)
{
    char uuid[GEN_UUID_LEN + 1];
    make_uuid(a, kind, key_index, uuid);
    struct open_container m;
    TRY(map_begin(b, &m));
    TRY(kv_str(b, &m, "uuid", uuid));
    TRY(kv_str(b, &m, src_key, src));
    TRY(kv_str(b, &m, dst_key, dst));
    TRY(kv_str(b, &m, "group_id", a->group[g]));
    TRY(kv_datetime(b, &m, "created_at", created, micros));
    end32(b, &m);
    return 0;
}

/* Row index = episode * 3 + slot. */
static int row_mentions(struct app *a, struct buf *b, uint64_t index)
{
    uint64_t j = index / 3, slot = index % 3;
    uint32_t g = (uint32_t)(j % a->o.groups);
    uint64_t ng = in_group(a->o.entities, a->o.groups, g);
    if (slot >= ng)
        return 1;
    struct rng r = rng_for(a, K_MENTIONS, j);
    uint64_t first = rng_below(&r, ng);
    uint64_t step = ng > 3 ? 1 + rng_below(&r, ng / 3) : 1;
    uint64_t target = global_of(a->o.groups, g, (first + slot * step) % ng);
    char eu[GEN_UUID_LEN + 1], tu[GEN_UUID_LEN + 1];
    make_uuid(a, K_EPISODE, j, eu);
    make_uuid(a, K_ENTITY, target, tu);
    int64_t created = BASE_TIME + (int64_t)(j / a->o.groups) * 600 + 400;
    return simple_edge(a, b, K_MENTIONS, index, "source_node_uuid", eu, "target_node_uuid", tu, g,
                       created, micros_of(&r));
}

static const char Q_MENTIONS[] = "UNWIND $episodic_edges AS edge\n"
                                 "MATCH (episode:Episodic {uuid: edge.source_node_uuid})\n"
                                 "MATCH (node:Entity {uuid: edge.target_node_uuid})\n"
                                 "MERGE (episode)-[e:MENTIONS {uuid: edge.uuid}]->(node)\n"
                                 "SET e.group_id = edge.group_id, e.created_at = edge.created_at\n"
                                 "RETURN count(*)";

/* ---- Communities and HAS_MEMBER ------------------------------------------ */

static int row_community(struct app *a, struct buf *b, uint64_t c)
{
    uint32_t g = (uint32_t)(c % a->o.groups);
    struct rng r = rng_for(a, K_COMMUNITY, c);
    char uuid[GEN_UUID_LEN + 1], text[256];
    make_uuid(a, K_COMMUNITY, c, uuid);
    struct open_container m;
    TRY(map_begin(b, &m));
    TRY(kv_str(b, &m, "uuid", uuid));
    snprintf(text, sizeof text, "%s and %s circle %" PRIu64, PICK(things, &r), PICK(places, &r), c);
    TRY(kv_str(b, &m, "name", text));
    TRY(kv_str(b, &m, "group_id", a->group[g]));
    snprintf(text, sizeof text, "A cluster of entities around %s, mostly based in %s.",
             PICK(things, &r), PICK(places, &r));
    TRY(kv_str(b, &m, "summary", text));
    TRY(kv_datetime(b, &m, "created_at", BASE_TIME + 86400 * 60 + (int64_t)c * 11, micros_of(&r)));
    if (a->o.dim)
        TRY(kv_embedding(a, b, &m, "name_embedding", K_COMMUNITY, c));
    end32(b, &m);
    return 0;
}

static const char Q_COMMUNITIES[] =
    "UNWIND $communities AS c\n"
    "MERGE (n:Community {uuid: c.uuid})\n"
    "SET n = {uuid: c.uuid, name: c.name, group_id: c.group_id, summary: c.summary, "
    "created_at: c.created_at}\n"
    "WITH n, c CALL db.create.setNodeVectorProperty(n, 'name_embedding', c.name_embedding)\n"
    "RETURN count(*)";
static const char Q_COMMUNITIES_NOEMB[] =
    "UNWIND $communities AS c\n"
    "MERGE (n:Community {uuid: c.uuid})\n"
    "SET n = {uuid: c.uuid, name: c.name, group_id: c.group_id, summary: c.summary, "
    "created_at: c.created_at}\n"
    "RETURN count(*)";

/* Row index = entity index: each entity is a member of one community of its group. */
static int row_has_member(struct app *a, struct buf *b, uint64_t i)
{
    uint32_t g = (uint32_t)(i % a->o.groups);
    uint64_t cg = in_group(a->n_communities, a->o.groups, g);
    if (!cg)
        return 1;
    uint64_t c = global_of(a->o.groups, g, (i / a->o.groups) % cg);
    struct rng r = rng_for(a, K_HAS_MEMBER, i);
    char cu[GEN_UUID_LEN + 1], eu[GEN_UUID_LEN + 1];
    make_uuid(a, K_COMMUNITY, c, cu);
    make_uuid(a, K_ENTITY, i, eu);
    return simple_edge(a, b, K_HAS_MEMBER, i, "community_uuid", cu, "entity_uuid", eu, g,
                       BASE_TIME + 86400 * 60 + (int64_t)c * 11 + 1, micros_of(&r));
}

static const char Q_HAS_MEMBER[] =
    "UNWIND $edges AS edge\n"
    "MATCH (community:Community {uuid: edge.community_uuid})\n"
    "MATCH (node:Entity {uuid: edge.entity_uuid})\n"
    "MERGE (community)-[e:HAS_MEMBER {uuid: edge.uuid}]->(node)\n"
    "SET e = {uuid: edge.uuid, group_id: edge.group_id, created_at: edge.created_at}\n"
    "RETURN count(*)";

/* ---- Sagas, HAS_EPISODE, NEXT_EPISODE --------------------------------------
 * Each group with episodes has up to 2 sagas; episode jl of a group belongs to
 * saga jl % 3 when that is < 2 (every third episode has no saga), and each
 * saga chains its episodes jl -> jl + 3 in valid_at order. */

#define SAGAS_PER_GROUP 2
#define SAGA_STRIDE 3

static uint64_t sagas_in_group(const struct app *a, uint32_t g)
{
    uint64_t eg = in_group(a->n_episodes, a->o.groups, g);
    return eg < SAGAS_PER_GROUP ? eg : SAGAS_PER_GROUP;
}

/* Row index = g * SAGAS_PER_GROUP + s. */
static int row_saga(struct app *a, struct buf *b, uint64_t index)
{
    uint32_t g = (uint32_t)(index / SAGAS_PER_GROUP);
    uint64_t s = index % SAGAS_PER_GROUP;
    if (s >= sagas_in_group(a, g))
        return 1;
    uint64_t eg = in_group(a->n_episodes, a->o.groups, g);
    uint64_t last = s + (eg - 1 - s) / SAGA_STRIDE * SAGA_STRIDE;
    struct rng r = rng_for(a, K_SAGA, index);
    char uuid[GEN_UUID_LEN + 1], fu[GEN_UUID_LEN + 1], lu[GEN_UUID_LEN + 1], text[200];
    make_uuid(a, K_SAGA, index, uuid);
    make_uuid(a, K_EPISODE, global_of(a->o.groups, g, s), fu);
    make_uuid(a, K_EPISODE, global_of(a->o.groups, g, last), lu);
    struct open_container m;
    TRY(map_begin(b, &m));
    TRY(kv_str(b, &m, "uuid", uuid));
    snprintf(text, sizeof text, "%s thread %" PRIu64, s ? "support" : "planning", index);
    TRY(kv_str(b, &m, "name", text));
    TRY(kv_str(b, &m, "group_id", a->group[g]));
    TRY(kv_datetime(b, &m, "created_at", BASE_TIME - 3600, micros_of(&r)));
    snprintf(text, sizeof text, "Conversation about %s.", PICK(things, &r));
    TRY(kv_str(b, &m, "summary", text));
    TRY(kv_str(b, &m, "first_episode_uuid", fu));
    TRY(kv_str(b, &m, "last_episode_uuid", lu));
    if (s == 0) /* only some sagas were summarised yet */
        TRY(kv_datetime(b, &m, "last_summarized_at", BASE_TIME + (int64_t)last * 600 + 900,
                        micros_of(&r)));
    end32(b, &m);
    return 0;
}

static const char Q_SAGAS[] =
    "UNWIND $sagas AS s\n"
    "MERGE (n:Saga {uuid: s.uuid})\n"
    "SET n = {uuid: s.uuid, name: s.name, group_id: s.group_id, created_at: s.created_at, "
    "summary: s.summary, first_episode_uuid: s.first_episode_uuid, "
    "last_episode_uuid: s.last_episode_uuid, last_summarized_at: s.last_summarized_at}\n"
    "RETURN count(*)";

/* Row index = episode index. */
static int row_has_episode(struct app *a, struct buf *b, uint64_t j)
{
    uint32_t g = (uint32_t)(j % a->o.groups);
    uint64_t jl = j / a->o.groups, s = jl % SAGA_STRIDE;
    if (s >= sagas_in_group(a, g))
        return 1;
    char su[GEN_UUID_LEN + 1], eu[GEN_UUID_LEN + 1];
    make_uuid(a, K_SAGA, (uint64_t)g * SAGAS_PER_GROUP + s, su);
    make_uuid(a, K_EPISODE, j, eu);
    struct rng r = rng_for(a, K_HAS_EPISODE, j);
    return simple_edge(a, b, K_HAS_EPISODE, j, "saga_uuid", su, "episode_uuid", eu, g,
                       BASE_TIME + (int64_t)jl * 600 + 450, micros_of(&r));
}

static const char Q_HAS_EPISODE[] =
    "UNWIND $edges AS edge\n"
    "MATCH (saga:Saga {uuid: edge.saga_uuid})\n"
    "MATCH (episode:Episodic {uuid: edge.episode_uuid})\n"
    "MERGE (saga)-[e:HAS_EPISODE {uuid: edge.uuid}]->(episode)\n"
    "SET e.group_id = edge.group_id, e.created_at = edge.created_at\n"
    "RETURN count(*)";

/* Row index = episode index of the target: previous -> this. */
static int row_next_episode(struct app *a, struct buf *b, uint64_t j)
{
    uint32_t g = (uint32_t)(j % a->o.groups);
    uint64_t jl = j / a->o.groups;
    if (jl < SAGA_STRIDE || jl % SAGA_STRIDE >= sagas_in_group(a, g))
        return 1;
    char pu[GEN_UUID_LEN + 1], eu[GEN_UUID_LEN + 1];
    make_uuid(a, K_EPISODE, global_of(a->o.groups, g, jl - SAGA_STRIDE), pu);
    make_uuid(a, K_EPISODE, j, eu);
    struct rng r = rng_for(a, K_NEXT_EPISODE, j);
    return simple_edge(a, b, K_NEXT_EPISODE, j, "source_episode_uuid", pu, "target_episode_uuid",
                       eu, g, BASE_TIME + (int64_t)jl * 600 + 451, micros_of(&r));
}

static const char Q_NEXT_EPISODE[] =
    "UNWIND $edges AS edge\n"
    "MATCH (source_episode:Episodic {uuid: edge.source_episode_uuid})\n"
    "MATCH (target_episode:Episodic {uuid: edge.target_episode_uuid})\n"
    "MERGE (source_episode)-[e:NEXT_EPISODE {uuid: edge.uuid}]->(target_episode)\n"
    "SET e.group_id = edge.group_id, e.created_at = edge.created_at\n"
    "RETURN count(*)";

/* ---- Hostile data -----------------------------------------------------------
 * Strings and names a careless encoder breaks: every byte 0x01-0x7F, UTF-8 of
 * 2, 3 and 4 bytes (U+10FFFF included), quotes, backslashes, newlines, `$`,
 * `}`, Cypher keywords; labels with a space and a backtick; property names
 * with spaces. All in the first group, under reserved indexes. */

#define HOSTILE_BASE (UINT64_C(1) << 62)

static int hostile_text(struct buf *out, int which)
{
    buf_reset(out);
    if (which == 0) {
        for (int c = 1; c < 0x80; c++)
            TRY(buf_append_byte(out, (uint8_t)c));
        return 0;
    }
    if (which == 1)
        return buf_append_str(out, "h\xC3\xA9llo \xE4\xB8\xAD\xE6\x96\x87 \xF0\x9F\x98\x80 "
                                   "\xF0\x90\x8D\x88 \xF4\x8F\xBF\xBF end");
    return buf_append_str(out, "'}) MATCH (n) DETACH DELETE n // \" ` \\' \\\" $param ${x} }\n"
                               "\r\tRETURN 1; CALL db.labels() YIELD label UNION MERGE");
}

static int hostile_entity(struct app *a, struct buf *b, uint64_t h)
{
    static const char *const extra[] = {"Weird Label", "Back`tick", "Person"};
    char uuid[GEN_UUID_LEN + 1];
    make_uuid(a, K_ENTITY, HOSTILE_BASE + h, uuid);
    struct buf t;
    buf_init(&t, 1 << 16);
    struct open_container m;
    int rc = map_begin(b, &m);
    rc = rc ? rc : kv_str(b, &m, "uuid", uuid);
    rc = rc ? rc : hostile_text(&t, (int)h);
    rc = rc ? rc : kv_strn(b, &m, "name", t.data, t.len);
    rc = rc ? rc : kv_str(b, &m, "group_id", a->group[0]);
    rc = rc ? rc : hostile_text(&t, (int)(h + 1) % 3);
    rc = rc ? rc : kv_strn(b, &m, "summary", t.data, t.len);
    rc = rc ? rc : kv_datetime(b, &m, "created_at", BASE_TIME + 999, 999999);
    rc = rc ? rc : key(b, &m, "labels");
    rc = rc ? rc : pack_write_list_header(b, 2);
    if (h == 1) { /* '`' sorts after 'E' */
        rc = rc ? rc : pack_write_cstr(b, extra[h]);
        rc = rc ? rc : pack_write_cstr(b, "Entity");
    } else {
        rc = rc ? rc : pack_write_cstr(b, "Entity");
        rc = rc ? rc : pack_write_cstr(b, extra[h]);
    }
    rc = rc ? rc : kv_str(b, &m, "favorite color", "blue \"really\" 'blue'");
    rc = rc ? rc : kv_int(b, &m, "number of things", -42);
    rc = rc ? rc : hostile_text(&t, 2);
    rc = rc ? rc : kv_strn(b, &m, "a key with spaces", t.data, t.len);
    rc = rc ? rc : key(b, &m, "list of strings");
    rc = rc ? rc : pack_write_list_header(b, 3);
    rc = rc ? rc : pack_write_cstr(b, "a b");
    rc = rc ? rc : pack_write_cstr(b, "c'd\"e");
    rc = rc ? rc : pack_write_cstr(b, "f\\g\nh");
    buf_deinit(&t);
    if (!rc && a->o.dim)
        rc = kv_embedding(a, b, &m, "name_embedding", K_ENTITY, HOSTILE_BASE + h);
    if (!rc)
        end32(b, &m);
    return rc;
}

static int hostile_relates(struct app *a, struct buf *b, uint64_t h)
{
    char uuid[GEN_UUID_LEN + 1], su[GEN_UUID_LEN + 1], du[GEN_UUID_LEN + 1];
    char epu[GEN_UUID_LEN + 1];
    make_uuid(a, K_RELATES, HOSTILE_BASE + h, uuid);
    make_uuid(a, K_ENTITY, HOSTILE_BASE + h, su);
    make_uuid(a, K_ENTITY, HOSTILE_BASE + h + 1, du);
    make_uuid(a, K_EPISODE, HOSTILE_BASE, epu);
    struct buf t;
    buf_init(&t, 1 << 16);
    struct open_container m;
    int rc = map_begin(b, &m);
    rc = rc ? rc : kv_str(b, &m, "uuid", uuid);
    rc = rc ? rc : kv_str(b, &m, "source_node_uuid", su);
    rc = rc ? rc : kv_str(b, &m, "target_node_uuid", du);
    rc = rc ? rc : kv_str(b, &m, "name", h ? "RETURN" : "HAS `TICK` AND SPACE");
    rc = rc ? rc : hostile_text(&t, (int)h * 2);
    rc = rc ? rc : kv_strn(b, &m, "fact", t.data, t.len);
    rc = rc ? rc : kv_str(b, &m, "group_id", a->group[0]);
    rc = rc ? rc : key(b, &m, "episodes");
    rc = rc ? rc : pack_write_list_header(b, 1);
    rc = rc ? rc : pack_write_cstr(b, epu);
    rc = rc ? rc : kv_datetime(b, &m, "created_at", BASE_TIME + 1000, 1);
    rc = rc ? rc : kv_datetime(b, &m, "valid_at", BASE_TIME - 1, 0);
    rc = rc ? rc : kv_str(b, &m, "edge prop with space", "x } y");
    rc = rc ? rc : hostile_text(&t, 1);
    rc = rc ? rc : kv_strn(b, &m, "emoji \xF0\x9F\x98\x80 key", t.data, t.len);
    buf_deinit(&t);
    if (!rc && a->o.dim)
        rc = kv_embedding(a, b, &m, "fact_embedding", K_RELATES, HOSTILE_BASE + h);
    if (!rc)
        end32(b, &m);
    return rc;
}

static int hostile_episode(struct app *a, struct buf *b, uint64_t h)
{
    char uuid[GEN_UUID_LEN + 1], eu[GEN_UUID_LEN + 1];
    make_uuid(a, K_EPISODE, HOSTILE_BASE + h, uuid);
    struct buf t;
    buf_init(&t, 1 << 16);
    struct open_container m;
    int rc = map_begin(b, &m);
    rc = rc ? rc : kv_str(b, &m, "uuid", uuid);
    rc = rc ? rc : hostile_text(&t, 2);
    rc = rc ? rc : kv_strn(b, &m, "name", t.data, t.len);
    rc = rc ? rc : kv_str(b, &m, "group_id", a->group[0]);
    rc = rc ? rc : hostile_text(&t, 1);
    rc = rc ? rc : kv_strn(b, &m, "source_description", t.data, t.len);
    rc = rc ? rc : kv_str(b, &m, "source", "text");
    rc = rc ? rc : hostile_text(&t, 0);
    rc = rc ? rc : buf_append(&t, "\n", 1);
    if (!rc) {
        struct buf u;
        buf_init(&u, 1 << 16);
        rc = hostile_text(&u, 1);
        rc = rc ? rc : buf_append(&t, u.data, u.len);
        rc = rc ? rc : hostile_text(&u, 2);
        rc = rc ? rc : buf_append(&t, u.data, u.len);
        buf_deinit(&u);
    }
    rc = rc ? rc : kv_strn(b, &m, "content", t.data, t.len);
    buf_deinit(&t);
    rc = rc ? rc : key(b, &m, "entity_edges");
    rc = rc ? rc : pack_write_list_header(b, 2);
    for (uint64_t e = 0; !rc && e < 2; e++) {
        make_uuid(a, K_RELATES, HOSTILE_BASE + e, eu);
        rc = pack_write_cstr(b, eu);
    }
    rc = rc ? rc : kv_datetime(b, &m, "valid_at", BASE_TIME - 86400, 0);
    rc = rc ? rc : kv_datetime(b, &m, "created_at", BASE_TIME + 999, 123456);
    if (!rc)
        end32(b, &m);
    return rc;
}

static int hostile_mentions(struct app *a, struct buf *b, uint64_t h)
{
    char eu[GEN_UUID_LEN + 1], tu[GEN_UUID_LEN + 1];
    make_uuid(a, K_EPISODE, HOSTILE_BASE, eu);
    make_uuid(a, K_ENTITY, HOSTILE_BASE + h, tu);
    return simple_edge(a, b, K_MENTIONS, HOSTILE_BASE + h, "source_node_uuid", eu,
                       "target_node_uuid", tu, 0, BASE_TIME + 1001, 0);
}

/* ---- Counting what Neo4j holds -------------------------------------------- */

static int print_neo4j_counts(struct app *a)
{
    struct buf q, line;
    buf_init(&q, 4096);
    buf_init(&line, 4096);
    int rc = buf_append_str(&line, "{\"source\":\"neo4j\"");
    for (int t = 0; !rc && t < T_COUNT; t++) {
        buf_reset(&q);
        rc = t < T_RELATES_TO
                 ? buf_printf(&q, "MATCH (n:%s) RETURN count(n)", type_names[t])
                 : buf_printf(&q, "MATCH ()-[r:%s]->() RETURN count(r)", type_names[t]);
        int64_t n = 0;
        rc = rc ? rc : query_int(a, q.data, &n);
        rc = rc ? rc : buf_printf(&line, ",\"%s\":%" PRId64, type_names[t], n);
    }
    if (!rc) {
        int64_t all = 0;
        rc = query_int(a, "MATCH (n) RETURN count(n)", &all);
        rc = rc ? rc : buf_printf(&line, ",\"all_nodes\":%" PRId64 "}", all);
    }
    if (!rc)
        printf("%s\n", line.data);
    buf_deinit(&q);
    buf_deinit(&line);
    return rc;
}

/* ---- The run --------------------------------------------------------------- */

static int generate(struct app *a)
{
    const bool emb = a->o.dim > 0;
    const uint64_t n = a->o.entities;
    uint64_t total_edges = 0;
    for (uint32_t g = 0; g < a->o.groups; g++)
        total_edges += edges_in_group(a, g);
    const struct phase phases[] = {
        {T_ENTITY, "nodes", emb ? Q_ENTITIES : Q_ENTITIES_NOEMB, row_entity},
        {T_EPISODIC, "episodes", Q_EPISODES, row_episode},
        {T_RELATES_TO, "entity_edges", emb ? Q_RELATES : Q_RELATES_NOEMB, row_relates},
        {T_MENTIONS, "episodic_edges", Q_MENTIONS, row_mentions},
        {T_COMMUNITY, "communities", emb ? Q_COMMUNITIES : Q_COMMUNITIES_NOEMB, row_community},
        {T_HAS_MEMBER, "edges", Q_HAS_MEMBER, row_has_member},
        {T_SAGA, "sagas", Q_SAGAS, row_saga},
        {T_HAS_EPISODE, "edges", Q_HAS_EPISODE, row_has_episode},
        {T_NEXT_EPISODE, "edges", Q_NEXT_EPISODE, row_next_episode},
    };
    const uint64_t sizes[] = {
        n,
        a->n_episodes,
        total_edges,
        a->n_episodes * 3,
        a->n_communities,
        n,
        (uint64_t)a->o.groups * SAGAS_PER_GROUP,
        a->n_episodes,
        a->n_episodes,
    };
    for (size_t p = 0; p < sizeof phases / sizeof phases[0]; p++)
        TRY(run_phase(a, &phases[p], sizes[p]));
    if (a->o.hostile) {
        const struct phase hostile[] = {
            {T_ENTITY, "nodes", emb ? Q_ENTITIES : Q_ENTITIES_NOEMB, hostile_entity},
            {T_EPISODIC, "episodes", Q_EPISODES, hostile_episode},
            {T_RELATES_TO, "entity_edges", emb ? Q_RELATES : Q_RELATES_NOEMB, hostile_relates},
            {T_MENTIONS, "episodic_edges", Q_MENTIONS, hostile_mentions},
        };
        const uint64_t hsizes[] = {3, 1, 2, 2};
        for (size_t p = 0; p < sizeof hostile / sizeof hostile[0]; p++)
            TRY(run_phase(a, &hostile[p], hsizes[p]));
    }
    return 0;
}

/* ---- Command line ------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: falkorsync-gen --entities N [--seed S] [--groups G] [--dim D]\n"
            "                      [--batch B] [--uri bolt://host:port] [--user U]\n"
            "                      [--password P] [--database DB] [--clear] [--hostile]\n"
            "                      [--count]\n"
            "Writes a deterministic Graphiti-shaped graph into Neo4j: N entities, N/5\n"
            "episodes, 2N RELATES_TO, ~3 MENTIONS per episode, N/50 communities (every\n"
            "entity a member), 2 sagas per group chaining their episodes.\n"
            "  --groups G   group_ids group_a, group_b, ... and \"\" (Graphiti's Neo4j default)\n"
            "               as the last one; default 3\n"
            "  --dim D      embedding size, default 1024; 0 writes no embeddings\n"
            "  --batch B    rows per UNWIND query and transaction, default 500\n"
            "  --clear      delete every node first (--entities 0 --clear only clears)\n"
            "  --hostile    add nodes/edges with hostile strings, labels and keys\n"
            "  --count      also print what Neo4j holds, per type, as a JSON line\n"
            "  --exec Q     run the Cypher statement Q afterwards (repeatable, in order)\n"
            "Env: NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD, NEO4J_DATABASE give the defaults.\n");
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || !*s || *s == '-')
        return FS_EINVAL;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return FS_EINVAL;
    *out = v;
    return 0;
}

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

static int parse_args(int argc, char **argv, struct gen_opts *o)
{
    *o = (struct gen_opts){
        .seed = 42,
        .groups = 3,
        .dim = 1024,
        .batch = 500,
        .uri = env_or("NEO4J_URI", "bolt://127.0.0.1:7687"),
        .user = env_or("NEO4J_USER", "neo4j"),
        .password = env_or("NEO4J_PASSWORD", "graphiti123"),
        .database = env_or("NEO4J_DATABASE", NULL),
    };
    bool have_n = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t v = 0;
        int rc = 0;
        bool takes = true;
        if (!strcmp(arg, "--entities")) {
            rc = parse_u64(val, UINT64_C(1) << 36, &o->entities);
            have_n = true;
        } else if (!strcmp(arg, "--seed")) {
            rc = parse_u64(val, UINT64_MAX, &o->seed);
        } else if (!strcmp(arg, "--groups")) {
            rc = parse_u64(val, GEN_MAX_GROUPS, &v);
            rc = rc ? rc : (v == 0 ? FS_EINVAL : 0);
            o->groups = (uint32_t)v;
        } else if (!strcmp(arg, "--dim")) {
            rc = parse_u64(val, GEN_MAX_DIM, &v);
            o->dim = (uint32_t)v;
        } else if (!strcmp(arg, "--batch")) {
            rc = parse_u64(val, 100000, &v);
            rc = rc ? rc : (v == 0 ? FS_EINVAL : 0);
            o->batch = (uint32_t)v;
        } else if (!strcmp(arg, "--exec")) {
            if (o->nexec < GEN_MAX_EXEC)
                o->exec[o->nexec++] = val;
            else
                rc = FS_EINVAL;
            have_n = true;
        } else if (!strcmp(arg, "--uri")) {
            o->uri = val;
        } else if (!strcmp(arg, "--user")) {
            o->user = val;
        } else if (!strcmp(arg, "--password")) {
            o->password = val;
        } else if (!strcmp(arg, "--database")) {
            o->database = val;
        } else {
            takes = false;
            if (!strcmp(arg, "--clear"))
                o->clear = true;
            else if (!strcmp(arg, "--hostile"))
                o->hostile = true;
            else if (!strcmp(arg, "--count"))
                o->count = true;
            else if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
                usage(stdout);
                exit(0);
            } else {
                fprintf(stderr, "falkorsync-gen: unknown option %s\n", arg);
                return FS_EINVAL;
            }
        }
        if (takes && (!val || rc)) {
            fprintf(stderr, "falkorsync-gen: %s needs a valid value\n", arg);
            return FS_EINVAL;
        }
        if (takes)
            i++;
    }
    if (!have_n) {
        fprintf(stderr, "falkorsync-gen: --entities is required\n");
        return FS_EINVAL;
    }
    return 0;
}

/* group_a ... group_z, group_aa ...; the last group is "" (Graphiti's default
 * group_id on Neo4j). */
static void name_groups(struct app *a)
{
    for (uint32_t g = 0; g < a->o.groups; g++) {
        if (g + 1 == a->o.groups) {
            a->group[g][0] = '\0';
        } else if (g < 26) {
            snprintf(a->group[g], GEN_GROUP_NAME, "group_%c", 'a' + g);
        } else {
            snprintf(a->group[g], GEN_GROUP_NAME, "group_%c%c", 'a' + (g / 26 - 1), 'a' + g % 26);
        }
    }
}

int main(int argc, char **argv)
{
    struct app a = {0};
    if (parse_args(argc, argv, &a.o)) {
        usage(stderr);
        return 2;
    }
    name_groups(&a);
    a.n_episodes = a.o.entities / 5;
    a.n_communities = a.o.entities / 50;
    a.emb = calloc(a.o.dim ? a.o.dim : 1, sizeof *a.emb);
    if (!a.emb)
        return 1;
    buf_init(&a.params, GEN_PARAM_LIMIT);

    struct bolt_config cfg = {
        .uri = a.o.uri,
        .user = a.o.user,
        .password = a.o.password,
        .database = a.o.database,
        .connect_timeout_ms = 10000,
        .read_timeout_ms = 600000,
        .write_timeout_ms = 600000,
    };
    bolt_init(&a.s);
    int rc = bolt_connect(&a.s, &cfg);
    if (rc) {
        fprintf(stderr, "falkorsync-gen: connecting to %s: %s\n", a.o.uri, a.s.errstr);
        bolt_close(&a.s);
        return 1;
    }
    double t0 = now_seconds();
    if (a.o.clear)
        rc = clear_all(&a);
    if (!rc && (a.o.entities || a.o.hostile)) {
        rc = create_indexes(&a);
        rc = rc ? rc : generate(&a);
    }
    for (int i = 0; !rc && i < a.o.nexec; i++) {
        rc = bolt_exec(&a.s, a.o.exec[i], NULL);
        if (rc)
            fprintf(stderr, "falkorsync-gen: --exec failed: %s\n", a.s.errstr);
    }
    double secs = now_seconds() - t0;
    if (!rc && a.o.nexec && !a.o.entities && !a.o.clear) {
        fflush(stdout);
        bolt_close(&a.s);
        buf_deinit(&a.params);
        free(a.emb);
        return 0;
    }
    if (!rc) {
        printf("{");
        for (int t = 0; t < T_COUNT; t++)
            printf("\"%s\":%" PRIu64 ",", type_names[t], a.counts[t]);
        printf("\"seconds\":%.3f}\n", secs);
        if (a.o.count)
            rc = print_neo4j_counts(&a);
    }
    fflush(stdout);
    bolt_close(&a.s);
    buf_deinit(&a.params);
    free(a.emb);
    return rc ? 1 : 0;
}
