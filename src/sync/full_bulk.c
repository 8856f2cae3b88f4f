/* Full sync, bulk method: Neo4j -> GRAPH.BULK tokens into the shadow graph, relationships
 * addressed by the node ids FalkorDB gives, embeddings turned into vecf32 once loaded. */
#include <jansson.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "falkor/bulk.h"
#include "falkor/fdb.h"
#include "log/log.h"
#include "sync/extract.h"
#include "sync/full_run.h"
#include "sync/idmap.h"
#include "sync/state.h"

/*
 * Why: FalkorDB spends most of a query-method load parsing parameter text
 * (an embedding is 1024 numbers as text). GRAPH.BULK carries the same values
 * in binary, and the server stores them without a parser in between.
 *
 * Node ids: a fresh graph that nothing deletes from numbers nodes 0, 1, 2 ...
 * in the order GRAPH.BULK reads them, so each node's id is known when its
 * command is built. Relationships name their endpoints by (label, uuid); a
 * map from a 64-bit hash of that pair to the id (12 bytes a node, sorted
 * once the nodes are in) finds them. Two nodes with one hash (the same
 * (label, uuid) twice in Neo4j, or a hash collision) are marked ambiguous;
 * a relationship that names one sends the whole graph back to the query
 * method, which matches endpoints by value.
 *
 * Embeddings: GRAPH.BULK has no vector type, so they go in as arrays of
 * doubles and each command is followed by a query that turns the arrays it
 * wrote into vecf32 (its node id range, or its relationships' start nodes):
 * the same float32 values the query method's vecf32(text) gives.
 *
 * Resume: before each GRAPH.BULK, "at:<nodes>:<relationships>" -> "<type>
 * <last key>" is written to the checkpoint: the graph's counts once that
 * command is applied and where reading resumes. A command is applied whole
 * or not at all, so after a crash the shadow graph's counts name the entry
 * to resume from; the id map is read back from the shadow graph.
 */

#define BULK_TOKENS_OPEN 16
/* A command stops at about 1 MB: 1, 2 and 4 MB measured the same speed on
 * 5,000 entities with embeddings (2.8-3.1 s each, 3 runs), peak RSS 15, 25
 * and 45 MB (the queue holds pipeline depth + 2 commands). */
#define BULK_CMD_BYTES ((size_t)1 << 20)

#define BULK_PAGE 8192 /* node ids per read-back or conversion page */
#define KEY_CAP SYNC_KEY_CAP
#define MAX_EMB SYNC_MAX_EMBEDDINGS

struct rowkey {
    uint64_t h;
    uint32_t row;
};

struct btoken {
    char *sig; /* labels "\x1e" property names */
    size_t siglen;
    struct buf data;     /* header + rows */
    struct rowkey *keys; /* node rows: (label, uuid) hashes, one per type label */
    uint32_t rows, nkeys, kcap;
};

struct bulk {
    struct run *R;
    const char *graph, *ckpt;
    int type;
    bool edge;
    struct btoken tok[BULK_TOKENS_OPEN];
    int ntok, nslots; /* open tokens; slots with buffers allocated */
    size_t bytes;
    uint64_t cmd_rows;    /* rows in the open tokens */
    uint64_t nodes, rels; /* in the graph once every command sent is applied */
    bool begun;           /* the graph exists */
    unsigned emb_seen;    /* embeddings written by the open command */
    uint32_t *srcs;       /* its relationships with an embedding: their start nodes */
    size_t nsrcs, srcs_cap;
    struct idmap map;
    struct buf names, vals, sig, cmds, q;
    char first_key[80];
    char last_key[KEY_CAP];
    struct extract_cols cols; /* of the record being added */
};

/* The node id of (label, key): 1 found, 0 absent, FULL_BULK_FALLBACK ambiguous. */
static int map_find(const struct bulk *B, const char *label, const char *key, uint64_t *id)
{
    int f = idmap_find(&B->map, idmap_hash(label, key), id);
    return f == IDMAP_AMBIGUOUS ? FULL_BULK_FALLBACK : f;
}

/* Empties the open tokens; their buffers stay allocated for the next
 * command (a fresh megabyte each time cost page faults: 6% of the CPU). */
static void tokens_reset(struct bulk *B)
{
    for (int i = 0; i < B->ntok; i++) {
        free(B->tok[i].sig);
        B->tok[i].sig = NULL;
        buf_reset(&B->tok[i].data);
        B->tok[i].rows = B->tok[i].nkeys = 0;
    }
    B->ntok = 0;
}

static void tokens_free(struct bulk *B)
{
    tokens_reset(B);
    for (int i = 0; i < B->nslots; i++) {
        free(B->tok[i].keys);
        buf_deinit(&B->tok[i].data);
    }
    B->nslots = 0;
}

/* ---- Commands ---------------------------------------------------------------- */

static int add_cmd3(struct buf *cmds, const char *a, const char *b, const char *c, size_t clen)
{
    const char *argv[3] = {a, b, c};
    size_t lens[3] = {strlen(a), strlen(b), clen};
    return loader_cmds_add(cmds, 3, argv, lens);
}

/* The query that turns embedding `name` of what the open command wrote into vecf32. */
static int vecf32_query(struct bulk *B, const char *name)
{
    struct buf *q = &B->q;
    buf_reset(q);
    int rc;
    if (!B->edge) {
        rc = buf_printf(q, "MATCH (n) WHERE id(n) >= %" PRIu64 " AND id(n) < %" PRIu64, B->nodes,
                        B->nodes + B->cmd_rows);
        rc = rc ? rc : buf_append_str(q, " AND typeof(n.");
    } else {
        rc = buf_append_str(q, "UNWIND [");
        for (size_t i = 0; !rc && i < B->nsrcs; i++)
            rc = buf_printf(q, i ? ",%" PRIu32 : "%" PRIu32, B->srcs[i]);
        rc = rc ? rc
                : buf_printf(q, "] AS i MATCH (n)-[e:`%s`]->() WHERE id(n) = i AND typeof(e.",
                             B->R->prof->types[B->type].name);
    }
    const char *v = B->edge ? "e" : "n";
    rc = rc ? rc : xc_ident(q, name, strlen(name));
    rc = rc ? rc : buf_printf(q, ") = 'List' SET %s.", v);
    rc = rc ? rc : xc_ident(q, name, strlen(name));
    rc = rc ? rc : buf_printf(q, " = vecf32(%s.", v);
    rc = rc ? rc : xc_ident(q, name, strlen(name));
    rc = rc ? rc : buf_append_str(q, ")");
    return rc == 1 ? FS_EINVAL : rc;
}

static int u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Sends the open tokens as one GRAPH.BULK (after its resume entry, before
 * its vecf32 queries) and numbers its nodes. */
static int flush(struct bulk *B)
{
    if (!B->cmd_rows)
        return 0;
    struct run *R = B->R;
    struct buf *c = &B->cmds;
    buf_reset(c);
    uint64_t n_after = B->nodes + (B->edge ? 0 : B->cmd_rows);
    uint64_t e_after = B->rels + (B->edge ? B->cmd_rows : 0);
    char field[64], val[KEY_CAP + 16];
    state_ckpt_at_entry(field, sizeof field, val, sizeof val, n_after, e_after, B->type,
                        B->last_key);
    const char *hs[4] = {"HSET", B->ckpt, field, val};
    size_t hl[4] = {4, strlen(B->ckpt), strlen(field), strlen(val)};
    int rc = loader_cmds_add(c, 4, hs, hl);

    /* GRAPH.BULK graph [BEGIN] nodes edges node-tokens edge-tokens token... */
    int argc = 0;
    const char *argv[7 + BULK_TOKENS_OPEN];
    size_t lens[7 + BULK_TOKENS_OPEN];
    char nn[24], ne[24], tn[8], te[8];
    snprintf(nn, sizeof nn, "%" PRIu64, B->edge ? 0 : B->cmd_rows);
    snprintf(ne, sizeof ne, "%" PRIu64, B->edge ? B->cmd_rows : 0);
    snprintf(tn, sizeof tn, "%d", B->edge ? 0 : B->ntok);
    snprintf(te, sizeof te, "%d", B->edge ? B->ntok : 0);
    argv[argc++] = "GRAPH.BULK";
    argv[argc++] = B->graph;
    if (!B->begun)
        argv[argc++] = "BEGIN";
    argv[argc++] = nn;
    argv[argc++] = ne;
    argv[argc++] = tn;
    argv[argc++] = te;
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    uint64_t total = 0;
    for (int i = 0; !rc && i < B->ntok; i++) {
        struct btoken *t = &B->tok[i];
        uint64_t rows = 0;
        /* the server ASSERTs on a malformed token: never send one */
        if (fdb_bulk_check(t->data.data, t->data.len, B->edge, PACK_DEFAULT_MAX_DEPTH, &rows) ||
            rows != t->rows) {
            snprintf(R->rep->error, sizeof R->rep->error,
                     "internal error: a GRAPH.BULK token of %s failed its check",
                     R->prof->types[B->type].name);
            return FS_EMALFORMED;
        }
        total += rows;
        argv[argc] = t->data.data;
        lens[argc++] = t->data.len;
    }
    if (!rc && total != B->cmd_rows)
        rc = FS_EMALFORMED;
    rc = rc ? rc : loader_cmds_add(c, argc, argv, lens);
    B->begun = true;

    /* vecf32 for the embeddings this command wrote */
    if (B->edge && B->nsrcs) {
        qsort(B->srcs, B->nsrcs, sizeof *B->srcs, u32_cmp);
        size_t k = 0;
        for (size_t i = 0; i < B->nsrcs; i++)
            if (!k || B->srcs[k - 1] != B->srcs[i])
                B->srcs[k++] = B->srcs[i];
        B->nsrcs = k;
    }
    for (int j = 0; !rc && j < R->rules.nembeddings && j < MAX_EMB; j++) {
        if (!(B->emb_seen & (1u << j)))
            continue;
        rc = vecf32_query(B, R->rules.embeddings[j]);
        rc = rc ? rc : add_cmd3(c, "GRAPH.QUERY", B->graph, B->q.data, B->q.len);
    }

    /* Node ids: token by token, row by row, from the graph's count on. */
    uint64_t id = B->nodes;
    for (int i = 0; !rc && !B->edge && i < B->ntok; i++) {
        for (uint32_t k = 0; !rc && k < B->tok[i].nkeys; k++)
            rc = idmap_add(&B->map, B->tok[i].keys[k].h, id + B->tok[i].keys[k].row);
        id += B->tok[i].rows;
    }
    if (rc)
        return rc;
    struct pending p = {
        .kind = PEND_BULK, .rows = (uint32_t)B->cmd_rows, .edge = B->edge, .type = B->type};
    snprintf(p.first_key, sizeof p.first_key, "%s", B->first_key);
    rc = loader_send_cmds(&R->ld, c, &p);
    B->nodes = n_after;
    B->rels = e_after;
    tokens_reset(B);
    B->bytes = 0;
    B->cmd_rows = 0;
    B->emb_seen = 0;
    B->nsrcs = 0;
    return rc;
}

/* The open token for signature sig (labels "\x1e" names), made with its header. */
static int token_for(struct bulk *B, const char *labels, size_t llen, uint32_t nprops,
                     struct btoken **out)
{
    struct buf *s = &B->sig;
    buf_reset(s);
    int rc = buf_append(s, labels, llen);
    rc = rc ? rc : buf_append_byte(s, 0x1e);
    rc = rc ? rc : buf_append(s, B->names.data, B->names.len);
    if (rc)
        return rc;
    for (int i = 0; i < B->ntok; i++)
        if (B->tok[i].siglen == s->len && !memcmp(B->tok[i].sig, s->data, s->len)) {
            *out = &B->tok[i];
            return 0;
        }
    if (B->ntok == BULK_TOKENS_OPEN && (rc = flush(B)))
        return rc;
    struct btoken *t = &B->tok[B->ntok];
    if (B->ntok == B->nslots) { /* a slot never used before */
        memset(t, 0, sizeof *t);
        buf_init(&t->data, SYNC_BATCH_CAP);
        B->nslots++;
    }
    t->sig = malloc(s->len);
    if (!t->sig)
        return FS_ENOMEM;
    memcpy(t->sig, s->data, s->len);
    t->siglen = s->len;
    rc = fdb_bulk_header(&t->data, B->edge, labels, llen, nprops, B->names.data, B->names.len);
    if (rc) {
        free(t->sig);
        t->sig = NULL;
        buf_reset(&t->data);
        return rc;
    }
    B->ntok++;
    B->bytes += t->data.len;
    *out = t;
    return 0;
}

/* A node's labels as GRAPH.BULK names them ("A:B", llen bytes) and the profile's node types
 * among them (bit k: type k). FULL_BULK_FALLBACK when GRAPH.BULK cannot name one. */
static int bulk_labels(struct bulk *B, struct extract_rec *x, char *labels, size_t cap,
                       size_t *llen, uint32_t *node_types)
{
    struct run *R = B->R;
    const char *l;
    size_t len;
    int rc;
    *llen = 0;
    while ((rc = extract_label(x, &l, &len)) == 1) {
        if (memchr(l, '`', len) || memchr(l, 0, len)) {
            R->rep->dropped.dropped_label++; /* as the query method: left out */
            continue;
        }
        if (!len || memchr(l, ':', len) || memchr(l, 0x1e, len))
            return FULL_BULK_FALLBACK; /* GRAPH.BULK cannot name it */
        if (*llen + len + 2 > cap)
            return FULL_BULK_FALLBACK;
        if (*llen)
            labels[(*llen)++] = ':';
        memcpy(labels + *llen, l, len);
        *llen += len;
        for (int k = 0; k < R->prof->ntypes && k < 32; k++)
            if (!R->prof->types[k].edge && strlen(R->prof->types[k].name) == len &&
                !memcmp(R->prof->types[k].name, l, len))
                *node_types |= 1u << k;
    }
    return rc;
}

/* One record of the extraction query into its token. */
static int add_record(void *ud, const struct bolt_record *rec)
{
    struct bulk *B = ud;
    struct run *R = B->R;
    const struct sync_type *t = &R->prof->types[B->type];
    struct extract_rec x;
    char labels[KEY_CAP];
    size_t llen = 0;
    uint32_t node_types = 0; /* the profile's node types among the labels */
    int rc = extract_open(&x, rec, t->edge);
    if (!rc && !t->edge)
        rc = bulk_labels(B, &x, labels, sizeof labels, &llen, &node_types);
    if (rc)
        return rc;
    if (!llen) /* an edge, or a node without a label left: the type's own */
        llen = (size_t)snprintf(labels, sizeof labels, "%s", t->name);
    buf_reset(&B->names);
    buf_reset(&B->vals);
    uint32_t nprops = 0;
    unsigned seen = 0;
    rc = xc_props_bulk(&x.r, &R->rules, &B->names, &B->vals, &nprops, &seen, &R->rep->dropped);
    struct extract_cols *c = &B->cols;
    rc = rc ? rc : extract_cols(&x, false, c);
    if (rc)
        return rc;
    const char *key = c->key;
    if (!nprops) { /* a node row needs a value to be read as a row: an unset uuid */
        rc = buf_append(&B->names, "uuid", 5);
        rc = rc ? rc : fdb_bulk_null(&B->vals);
        nprops = 1;
        if (rc)
            return rc;
    }
    uint64_t a = 0, b = 0;
    if (t->edge) {
        int fa = map_find(B, t->src_label, c->src, &a);
        int fb = fa == 1 ? map_find(B, c->dst_label, c->dst, &b) : fa;
        if (fa == FULL_BULK_FALLBACK || fb == FULL_BULK_FALLBACK)
            return FULL_BULK_FALLBACK;
        if (fa != 1 || fb != 1) { /* as the query method: not created, counted */
            R->rep->edges_missing_endpoint++;
            return 0;
        }
    }
    struct btoken *tk;
    if ((rc = token_for(B, labels, llen, nprops, &tk)))
        return rc;
    size_t before = tk->data.len;
    if (t->edge)
        rc = fdb_bulk_ends(&tk->data, a, b);
    rc = rc ? rc : buf_append(&tk->data, B->vals.data, B->vals.len);
    /* The query method matches an endpoint by any of its labels: a node
     * that two types hold (loaded once per type, as there) is registered
     * under each, so a relationship naming it is ambiguous and falls back. */
    node_types |= t->edge ? 0 : 1u << B->type;
    uint32_t want = (uint32_t)__builtin_popcount(node_types);
    if (!rc && !t->edge && tk->nkeys + want > tk->kcap) {
        uint32_t cap = tk->kcap ? tk->kcap * 2 : 256;
        while (cap < tk->nkeys + want)
            cap *= 2;
        struct rowkey *k = realloc(tk->keys, cap * sizeof *k);
        if (!k)
            rc = FS_ENOMEM;
        else {
            tk->keys = k;
            tk->kcap = cap;
        }
    }
    if (!rc && t->edge && seen) {
        if (B->nsrcs == B->srcs_cap) {
            size_t cap = B->srcs_cap ? B->srcs_cap * 2 : 256;
            uint32_t *s = realloc(B->srcs, cap * sizeof *s);
            if (!s)
                rc = FS_ENOMEM;
            else {
                B->srcs = s;
                B->srcs_cap = cap;
            }
        }
        if (!rc)
            B->srcs[B->nsrcs++] = (uint32_t)a;
    }
    if (rc) {
        tk->data.len = before;
        return rc;
    }
    for (int k = 0; !t->edge && k < 32; k++)
        if (node_types & (1u << k))
            tk->keys[tk->nkeys++] =
                (struct rowkey){idmap_hash(R->prof->types[k].name, key), tk->rows};
    if (!B->cmd_rows)
        snprintf(B->first_key, sizeof B->first_key, "%s", key);
    snprintf(B->last_key, sizeof B->last_key, "%s", key);
    tk->rows++;
    B->cmd_rows++;
    B->emb_seen |= seen;
    B->bytes += tk->data.len - before;
    return 0;
}

static int flush_if_full(void *ud)
{
    struct bulk *B = ud;
    if (B->bytes < BULK_CMD_BYTES && B->cmd_rows < (uint64_t)B->R->cfg->sync.batch_size)
        return 0;
    return flush(B);
}

/* Streams one type, from key after on, into GRAPH.BULK commands. */
static int load_type(struct bulk *B, int type, const char *after, const char *group)
{
    struct run *R = B->R;
    const struct sync_type *t = &R->prof->types[type];
    B->type = type;
    B->edge = t->edge;
    if (t->edge)
        idmap_seal(&B->map);
    snprintf(B->last_key, sizeof B->last_key, "%s", after);
    struct full_sink sink = {.ud = B, .record = add_record, .flush_if_full = flush_if_full};
    int rc = full_stream(R, type, after, group, false, &sink);
    if (!rc)
        rc = flush(B);
    tokens_reset(B);
    B->cmd_rows = B->bytes = 0;
    B->emb_seen = 0;
    B->nsrcs = 0;
    if (rc < 0 && !R->rep->error[0])
        snprintf(R->rep->error, sizeof R->rep->error, "loading %s: %s", t->name, fs_strerror(rc));
    return rc;
}

/* ---- Resume ---------------------------------------------------------------- */

static int64_t count_of(struct run *R, const char *graph, const char *q)
{
    const char *argv[3] = {"GRAPH.QUERY", graph, q};
    redisReply *r = NULL;
    if (full_fdb_simple(R, "counting the shadow graph", 3, argv, &r))
        return -1;
    int64_t n = loader_reply_count(r);
    freeReplyObject(r);
    return n;
}

/* Reads the id map back from the shadow graph: every node of each node type. */
static int reload_map(struct bulk *B)
{
    struct run *R = B->R;
    int rc = 0;
    for (int i = 0; !rc && i < R->prof->ntypes; i++) {
        const struct sync_type *t = &R->prof->types[i];
        if (t->edge)
            continue;
        for (uint64_t lo = 0; !rc && lo < B->nodes; lo += BULK_PAGE) {
            char q[300];
            snprintf(q, sizeof q,
                     "MATCH (n:`%s`) WHERE id(n) >= %" PRIu64 " AND id(n) < %" PRIu64
                     " RETURN id(n), n.uuid",
                     t->name, lo, lo + BULK_PAGE);
            const char *argv[4] = {"GRAPH.QUERY", B->graph, q, "--compact"};
            redisReply *r = NULL;
            if (full_stopped(R))
                return FS_ECANCELLED;
            if ((rc = full_fdb_simple(R, "reading node ids back", 4, argv, &r)))
                break;
            /* compact: [header, rows, stats]; a cell is [type, value] */
            const redisReply *rows =
                r->type == REDIS_REPLY_ARRAY && r->elements >= 3 ? r->element[1] : NULL;
            for (size_t k = 0; !rc && rows && k < rows->elements; k++) {
                const redisReply *row = rows->element[k];
                if (row->type != REDIS_REPLY_ARRAY || row->elements < 2 ||
                    row->element[0]->type != REDIS_REPLY_ARRAY || row->element[0]->elements < 2 ||
                    row->element[1]->type != REDIS_REPLY_ARRAY || row->element[1]->elements < 2)
                    continue;
                const redisReply *idv = row->element[0]->element[1];
                const redisReply *uv = row->element[1]->element[1];
                if (idv->type != REDIS_REPLY_INTEGER || uv->type != REDIS_REPLY_STRING)
                    continue; /* a node without a uuid: no relationship names it */
                rc = idmap_add(&B->map, idmap_hash(t->name, uv->str), (uint64_t)idv->integer);
            }
            freeReplyObject(r);
        }
    }
    return rc;
}

/* After a crash, commands may have been applied without their vecf32 query:
 * converts every array left under an embedding name. */
static int vecf32_sweep(struct bulk *B, int upto_type)
{
    struct run *R = B->R;
    int rc = 0;
    for (int i = 0; !rc && i <= upto_type && i < R->prof->ntypes; i++) {
        const struct sync_type *t = &R->prof->types[i];
        for (int j = 0; !rc && j < R->rules.nembeddings; j++) {
            const char *e = R->rules.embeddings[j];
            if (strchr(e, '`'))
                continue;
            for (uint64_t lo = 0; !rc && lo < B->nodes; lo += BULK_PAGE) {
                char q[600];
                if (t->edge)
                    snprintf(q, sizeof q,
                             "MATCH (n)-[e:`%s`]->() WHERE id(n) >= %" PRIu64
                             " AND id(n) < %" PRIu64
                             " AND typeof(e.`%s`) = 'List' SET e.`%s` = vecf32(e.`%s`)",
                             t->name, lo, lo + BULK_PAGE, e, e, e);
                else
                    snprintf(q, sizeof q,
                             "MATCH (n:`%s`) WHERE id(n) >= %" PRIu64 " AND id(n) < %" PRIu64
                             " AND typeof(n.`%s`) = 'List' SET n.`%s` = vecf32(n.`%s`)",
                             t->name, lo, lo + BULK_PAGE, e, e, e);
                rc = full_stopped(R) ? FS_ECANCELLED : full_graph_query(R, B->graph, q);
            }
        }
    }
    return rc;
}

/* Where a crashed bulk load resumes: 1 with *type/after set, 0 start over. */
static int find_resume(struct bulk *B, int *type, char *after)
{
    struct run *R = B->R;
    if (!full_key_exists(R, B->graph))
        return 0;
    int64_t n = count_of(R, B->graph, "MATCH (n) RETURN count(n)");
    int64_t e = n < 0 ? -1 : count_of(R, B->graph, "MATCH ()-[e]->() RETURN count(e)");
    if (n < 0 || e < 0) {
        R->rep->error[0] = '\0'; /* unreadable: start over */
        return 0;
    }
    if (!state_ckpt_at_find(&R->ld.fdb, B->ckpt, n, e, R->prof->ntypes, type, after))
        return 0;
    B->nodes = (uint64_t)n;
    B->rels = (uint64_t)e;
    B->begun = true;
    return 1;
}

/* Whether text names the GRAPH.BULK command, in any case. */
static bool mentions_bulk(const char *text)
{
    for (const char *p = text; *p; p++) {
        const char *w = "graph.bulk";
        size_t i = 0;
        while (w[i] && p[i] && (p[i] | 0x20) == w[i])
            i++;
        if (!w[i])
            return true;
    }
    return false;
}

int full_bulk_graph(struct run *R, const char *shadow, const char *ckpt, const char *group,
                    bool resume)
{
    struct bulk B = {.R = R, .graph = shadow, .ckpt = ckpt};
    buf_init(&B.names, SYNC_ITEM_CAP);
    buf_init(&B.vals, SYNC_ITEM_CAP);
    buf_init(&B.sig, SYNC_ITEM_CAP);
    buf_init(&B.cmds, SYNC_BATCH_CAP);
    buf_init(&B.q, SYNC_BATCH_CAP);
    int start_type = 0;
    char after[KEY_CAP] = "";
    int rc = 0;
    /* the map at its final size: no doubling, no copy */
    idmap_init(&B.map, R->total_nodes ? (size_t)R->total_nodes + R->total_nodes / 64 + 1024 : 0);
    if (resume && find_resume(&B, &start_type, after) != 1) {
        rc = FULL_BULK_RESTART;
    } else if (!resume) {
        B.begun = full_key_exists(R, shadow); /* made by its range indexes */
    } else {
        R->rep->resumed = true;
        rc = reload_map(&B);
        rc = rc ? rc : vecf32_sweep(&B, start_type);
    }
    for (int t = start_type; !rc && t < R->prof->ntypes; t++)
        rc = load_type(&B, t, t == start_type ? after : "", group);
    if (!rc) /* every command acknowledged; the connection is the caller's again */
        rc = loader_async_stop(&R->ld, true);
    if (rc == FS_ESERVER && mentions_bulk(R->rep->error) &&
        (R->ld.fdb.server_err == FS_EFDB_NOPERM ||
         R->ld.fdb.server_err == FS_EFDB_UNKNOWN_COMMAND)) {
        /* an ACL or a server without GRAPH.BULK: queries can still do it */
        log_fields(LOG_WARNING, "full sync: FalkorDB refused GRAPH.BULK",
                   json_pack("{s:o}", "error", sync_json_text(R->rep->error)));
        R->rep->error[0] = '\0';
        rc = FULL_BULK_FALLBACK;
    }
    if (rc && rc != FULL_BULK_RESTART) /* a failure, a stop or a fallback */
        loader_async_stop(&R->ld, rc == FULL_BULK_FALLBACK);
    tokens_free(&B);
    idmap_deinit(&B.map);
    free(B.srcs);
    buf_deinit(&B.names);
    buf_deinit(&B.vals);
    buf_deinit(&B.sig);
    buf_deinit(&B.cmds);
    buf_deinit(&B.q);
    return rc;
}
