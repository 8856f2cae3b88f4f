/* Full sync: Neo4j -> shadow graph (pipelined UNWIND batches) -> indexes -> atomic RENAME swap. */
#include "sync/full.h"
#include "sync/full_run.h"

#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bolt/bolt.h"
#include "falkor/fdb.h"
#include "falkor/param.h"
#include "sync/connect.h"
#include "sync/common.h"
#include "sync/compare.h"
#include "sync/gkey.h"
#include "sync/loader.h"
#include "sync/schema.h"
#include "log/log.h"

#define MAX_EMB 8
#define MAX_GROUPS_OPEN 16                /* label-set batches built at once */
#define BATCH_BYTES_CAP ((size_t)4 << 20) /* flush when a batch's text passes this */
#define KEY_CAP LOADER_KEY_CAP

#define now_s sync_now
/* ---- Batch building: one open batch per label set (nodes) or endpoint pair (edges) ---- */

struct group_batch {
    char *key;       /* label set "A\x1fB" or "src\x1fdst" */
    struct buf text; /* "CYPHER rows=[...," being built */
    uint32_t rows;
    char first_key[80];
};

struct builder {
    struct group_batch g[MAX_GROUPS_OPEN];
    int n;
    uint32_t total_rows;
    size_t total_bytes;
    const struct xc_rules *rules;
    const struct sync_profile *prof;
    const char *key_property; /* generic */
};

static void builder_deinit(struct builder *b)
{
    for (int i = 0; i < b->n; i++) {
        free(b->g[i].key);
        buf_deinit(&b->g[i].text);
    }
    b->n = 0;
}

/* Query text after the rows for a node batch with the labels in key. */
static int node_query_tail(struct buf *q, const char *key, const struct xc_rules *rules,
                           struct xc_stats *st)
{
    int rc = buf_append_str(q, "] UNWIND $rows AS r CREATE (n");
    char *base = strndup(key, xc_key_base_len(key));
    if (!base)
        return FS_ENOMEM;
    const char *p = base;
    while (!rc && *p) {
        size_t len = strcspn(p, "\x1f");
        rc = buf_append_byte(q, ':');
        int x = rc ? rc : xc_ident(q, p, len);
        if (x == 1) { /* unrepresentable label: left out, counted */
            q->len--;
            st->dropped_label++;
        } else if (x) {
            rc = x;
        }
        p += len + (p[len] ? 1 : 0);
    }
    free(base);
    rc = rc ? rc : buf_append_str(q, ") SET n = r.p");
    for (int i = 0; !rc && i < rules->nembeddings; i++) {
        rc = buf_append_str(q, ", n.");
        rc = rc ? rc : xc_ident(q, rules->embeddings[i], strlen(rules->embeddings[i]));
        rc = rc ? rc : buf_printf(q, " = vecf32(r.e%d)", i);
    }
    rc = rc ? rc : xc_native_sets(q, "n", key);
    rc = rc ? rc : buf_append_str(q, " RETURN count(n)");
    return rc;
}

static int edge_query_tail(struct buf *q, const char *key, const char *type, bool generic,
                           const struct xc_rules *rules, struct xc_stats *st)
{
    size_t tlen = strlen(type);
    char *base = strndup(key, xc_key_base_len(key));
    if (!base)
        return FS_ENOMEM;
    int rc = buf_append_str(q, "] UNWIND $rows AS r");
    rc = rc ? rc : sync_edge_matches(q, base, generic, &type, &tlen);
    char tname[LOADER_KEY_CAP];
    snprintf(tname, sizeof tname, "%.*s", (int)tlen, type); /* type may point into base */
    free(base);
    type = tname;
    rc = rc ? rc : buf_append_str(q, " CREATE (a)-[e:");
    int x = rc ? rc : xc_ident(q, type, tlen);
    if (x == 1) {
        st->dropped_label++;
        return 1;
    }
    rc = x;
    rc = rc ? rc : buf_append_str(q, "]->(b) SET e = r.p");
    for (int i = 0; !rc && i < rules->nembeddings; i++) {
        rc = buf_append_str(q, ", e.");
        rc = rc ? rc : xc_ident(q, rules->embeddings[i], strlen(rules->embeddings[i]));
        rc = rc ? rc : buf_printf(q, " = vecf32(r.e%d)", i);
    }
    rc = rc ? rc : xc_native_sets(q, "e", key);
    rc = rc ? rc : buf_append_str(q, " RETURN count(e)");
    return rc;
}

static int flush_group(struct builder *b, int i, struct loader *l, int type,
                       struct sync_report *rep, const char *ckpt_after)
{
    struct group_batch *g = &b->g[i];
    if (!g->rows)
        return 0;
    const struct sync_type *t = &b->prof->types[type];
    g->text.len--; /* the trailing comma */
    int rc = t->edge ? edge_query_tail(&g->text, g->key, t->name, b->prof->generic, b->rules,
                                       &rep->dropped)
                     : node_query_tail(&g->text, g->key, b->rules, &rep->dropped);
    if (rc == 1) { /* a relationship type we cannot name: the whole batch is dropped */
        rc = 0;
    } else if (!rc) {
        struct pending p = {.kind = PEND_BATCH, .rows = g->rows, .edge = t->edge, .type = type};
        snprintf(p.first_key, sizeof p.first_key, "%s", g->first_key);
        if (ckpt_after) {
            p.ckpt = true;
            p.ckpt_type = type;
            snprintf(p.ckpt_after, sizeof p.ckpt_after, "%s", ckpt_after);
        }
        rc = loader_send(l, g->text.data, g->text.len, &p);
    }
    b->total_rows -= g->rows;
    b->total_bytes -= g->text.len < b->total_bytes ? g->text.len : b->total_bytes;
    buf_reset(&g->text);
    g->rows = 0;
    return rc;
}

/* Sends every open batch; the last one carries the checkpoint "all of type up
 * to and including key after are written". */
static int flush_all(struct builder *b, struct loader *l, int type, struct sync_report *rep,
                     const char *after)
{
    int last = -1;
    for (int i = 0; i < b->n; i++)
        if (b->g[i].rows)
            last = i;
    for (int i = 0; i < b->n; i++) {
        int rc = flush_group(b, i, l, type, rep, i == last ? after : NULL);
        if (rc)
            return rc;
    }
    b->total_rows = 0;
    b->total_bytes = 0;
    return 0;
}

/* The open batch for key, creating it (flushing an old one when all slots are used). */
static int group_for(struct builder *b, const char *key, size_t klen, struct loader *l, int type,
                     struct sync_report *rep, struct group_batch **out)
{
    for (int i = 0; i < b->n; i++)
        if (strlen(b->g[i].key) == klen && !memcmp(b->g[i].key, key, klen)) {
            *out = &b->g[i];
            return 0;
        }
    if (b->n == MAX_GROUPS_OPEN) { /* reuse the slot of the smallest batch */
        int victim = 0;
        for (int i = 1; i < b->n; i++)
            if (b->g[i].rows < b->g[victim].rows)
                victim = i;
        int rc = flush_group(b, victim, l, type, rep, NULL);
        if (rc)
            return rc;
        free(b->g[victim].key);
        buf_deinit(&b->g[victim].text);
        b->g[victim] = b->g[--b->n];
    }
    struct group_batch *g = &b->g[b->n];
    memset(g, 0, sizeof *g);
    g->key = strndup(key, klen);
    if (!g->key)
        return FS_ENOMEM;
    buf_init(&g->text, 0);
    b->n++;
    *out = g;
    return 0;
}

/* ---- Extract: one keyset-ordered streamed query per type ------------------- */

int full_extract_query(struct buf *q, const struct sync_type *t, bool by_group)
{
    if (!t->edge)
        return buf_printf(q,
                          "MATCH (n:`%s`) WHERE n.uuid > $after%s RETURN n, n.uuid ORDER BY n.uuid",
                          t->name, by_group ? " AND n.group_id = $g" : "");
    return buf_printf(q,
                      "MATCH (a:`%s`)-[r:`%s`]->(b%s%s) WHERE r.uuid > $after%s "
                      "RETURN r, a.uuid, b.uuid, %s, r.uuid ORDER BY r.uuid",
                      t->src_label, t->name, t->dst_label ? ":" : "",
                      t->dst_label ? t->dst_label : "",
                      by_group ? " AND coalesce(r.group_id, a.group_id) = $g" : "", t->dst_expr);
}

int full_extract_params(struct buf *p, const char *after, const char *group)
{
    int rc = pack_write_map_header(p, group ? 2 : 1);
    rc = rc ? rc : pack_write_cstr(p, "after");
    rc = rc ? rc : pack_write_cstr(p, after);
    if (group) {
        rc = rc ? rc : pack_write_cstr(p, "g");
        rc = rc ? rc : pack_write_cstr(p, group);
    }
    return rc;
}

void full_progress(struct run *R, bool final)
{
    if (!R->opts->progress && !R->opts->on_progress)
        return;
    double t = now_s();
    if (!final && t - R->last_progress < 0.5)
        return;
    R->last_progress = t;
    uint64_t done = loader_items(&R->ld); /* the writer thread counts acknowledgements */
    if (R->opts->on_progress)
        R->opts->on_progress(R->opts->progress_ud, done, R->total_items);
    if (!R->opts->progress)
        return;
    double rate = done / (t - R->t0 + 1e-9);
    double eta = rate > 0 && R->total_items > done ? (R->total_items - done) / rate : 0;
    fprintf(stderr, "\rfull sync: %" PRIu64 "/%" PRIu64 " items, %.0f items/s, ETA %.0f s   %s",
            done, R->total_items, rate, eta, final ? "\n" : "");
}

int full_copy_str_item(struct pack_reader *r, char *out, size_t cap)
{
    struct pack_item it;
    int rc = pack_read_item(r, &it);
    if (rc)
        return rc;
    if (it.kind != PACK_STRING || it.size >= cap)
        return FS_EMALFORMED;
    memcpy(out, it.data, it.size);
    out[it.size] = '\0';
    return 0;
}

/* Transcodes one record into its batch. */
static int add_record(struct run *R, struct builder *b, int type, const struct bolt_record *rec,
                      struct buf *key, struct buf *row, struct buf *emb, char *uuid)
{
    const struct sync_type *t = &R->prof->types[type];
    const char *kp = R->cfg->sync.key_property;
    struct sync_generic_cols gc;
    struct xc_native nt;
    struct pack_reader r;
    struct pack_item it, f;
    pack_reader_init(&r, rec->data, rec->len);
    int rc = pack_read_item(&r, &it);       /* the record's list */
    rc = rc ? rc : pack_read_item(&r, &it); /* Node or Relationship */
    if (rc || it.kind != PACK_STRUCT)
        return rc ? rc : FS_EPROTOCOL;
    uint32_t nfields = it.size;
    buf_reset(key);
    buf_reset(row);
    rc = pack_skip(&r, 4); /* id */
    if (!t->edge) {
        rc = rc ? rc : pack_read_item(&r, &f); /* labels */
        for (uint32_t i = 0; !rc && f.kind == PACK_LIST && i < f.size; i++) {
            struct pack_item l;
            rc = pack_read_item(&r, &l);
            if (!rc && l.kind == PACK_STRING) {
                if (key->len)
                    rc = buf_append_byte(key, 0x1f);
                rc = rc ? rc : buf_append(key, l.data, l.size);
            }
        }
    } else {
        for (int i = 0; !rc && i < 2; i++) /* start, end */
            rc = pack_skip(&r, 4);
        rc = rc ? rc : pack_read_item(&r, &f); /* type */
        if (!rc && (f.kind != PACK_STRING || f.size >= KEY_CAP))
            rc = FS_EMALFORMED;
        if (!rc && R->prof->generic) {
            buf_reset(key);
            rc = buf_append(key, f.data, f.size);
        }
    }
    rc = rc ? rc : xc_props(&r, &R->rules, row, emb, &nt, &R->rep->dropped);
    for (uint32_t i = (t->edge ? 5 : 3); !rc && i < nfields; i++)
        rc = pack_skip(&r, 4);
    char src[KEY_CAP] = "", dst[KEY_CAP] = "", dl[KEY_CAP] = "";
    if (!rc && R->prof->generic) {
        rc = sync_generic_tail(&r, t->edge, &gc);
        if (!rc && gc.self.by_id)
            rc = gk_add_id_prop(row, gc.self.str);
        if (!rc && t->edge) {
            char ty[KEY_CAP];
            snprintf(ty, sizeof ty, "%.*s", (int)key->len, key->data);
            rc = sync_generic_edge_key(key, ty, strlen(ty), &gc, kp);
        }
        if (!rc)
            snprintf(uuid, KEY_CAP, "%s", gc.self.str);
    } else if (!rc && t->edge) {
        rc = full_copy_str_item(&r, src, sizeof src);
        rc = rc ? rc : full_copy_str_item(&r, dst, sizeof dst);
        rc = rc ? rc : full_copy_str_item(&r, dl, sizeof dl);
        buf_reset(key);
        rc = rc ? rc : buf_append_str(key, t->src_label);
        rc = rc ? rc : buf_append_byte(key, 0x1f);
        rc = rc ? rc : buf_append_str(key, dl);
    }
    if (!R->prof->generic)
        rc = rc ? rc : full_copy_str_item(&r, uuid, KEY_CAP);
    rc = rc ? rc : xc_native_signature(key, &nt);
    if (rc)
        return rc;
    struct group_batch *g = NULL;
    rc = group_for(b, key->data ? key->data : "", key->len, &R->ld, type, R->rep, &g);
    if (rc)
        return rc;
    struct buf *x = &g->text;
    size_t before = x->len;
    if (!g->rows) {
        rc = buf_append_str(x, "CYPHER rows=[");
        snprintf(g->first_key, sizeof g->first_key, "%s", uuid);
    }
    rc = rc ? rc : buf_append_str(x, "{p:");
    rc = rc ? rc : buf_append(x, row->data, row->len);
    for (int i = 0; !rc && i < R->rules.nembeddings; i++) {
        rc = buf_printf(x, ",e%d:", i);
        rc = rc ? rc : buf_append(x, emb[i].data, emb[i].len);
    }
    if (!rc && t->edge && R->prof->generic) {
        rc = buf_printf(x, ",s:%s,t:%s", gc.a.raw, gc.b.raw);
    } else if (!rc && t->edge) {
        rc = buf_append_str(x, ",s:");
        rc = rc ? rc : fdb_param_write_string(x, src, strlen(src));
        rc = rc ? rc : buf_append_str(x, ",t:");
        rc = rc ? rc : fdb_param_write_string(x, dst, strlen(dst));
    }
    rc = rc ? rc : xc_native_row(x, &nt);
    rc = rc ? rc : buf_append_str(x, "},");
    if (rc) {
        x->len = before;
        return rc;
    }
    g->rows++;
    b->total_rows++;
    b->total_bytes += x->len - before;
    return 0;
}

/* Streams one type, from key after on, into the shadow graph. */
static int load_type(struct run *R, int type, const char *after, const char *group)
{
    const struct sync_type *t = &R->prof->types[type];
    struct buf q, p, key, row;
    buf_init(&q, 0);
    buf_init(&p, 0);
    buf_init(&key, 0);
    buf_init(&row, 0);
    struct buf emb[MAX_EMB];
    for (int i = 0; i < MAX_EMB; i++)
        buf_init(&emb[i], 0);
    struct builder b = {.rules = &R->rules, .prof = R->prof};
    char uuid[KEY_CAP] = "";
    /* Reading overlaps writing: from the first type on, a writer thread sends
     * the batches this thread builds (a queue of pipeline depth + 2 batches)
     * and keeps it across types; sync_one_graph stops it after the last. */
    int rc = loader_async_start(&R->ld, R->ld.depth + 2);
    if (!rc)
        rc = R->prof->generic ? sync_extract_query_generic(&q, t, R->cfg->sync.key_property, false)
                              : full_extract_query(&q, t, group != NULL);
    rc = rc ? rc : full_extract_params(&p, after, group);
    rc = rc ? rc : bolt_run(&R->bolt, q.data, p.data, p.len, BOLT_MODE_READ);
    if (rc) {
        snprintf(R->rep->error, sizeof R->rep->error, "Neo4j: %s", R->bolt.errstr);
        goto out;
    }
    struct bolt_record rec;
    int more;
    while ((more = bolt_next(&R->bolt, &rec)) == 1) {
        if (R->opts->stop && *R->opts->stop) {
            rc = FS_ECANCELLED;
            snprintf(R->rep->error, sizeof R->rep->error, "stopped by a signal");
            goto out;
        }
        rc = add_record(R, &b, type, &rec, &key, &row, emb, uuid);
        if (rc)
            break;
        R->done_items++;
        if (b.total_rows >= (uint32_t)R->cfg->sync.batch_size || b.total_bytes >= BATCH_BYTES_CAP) {
            rc = flush_all(&b, &R->ld, type, R->rep, uuid);
            if (rc)
                break;
        }
        full_progress(R, false);
    }
    if (more < 0 && !rc) {
        rc = more;
        snprintf(R->rep->error, sizeof R->rep->error, "Neo4j: %s", R->bolt.errstr);
    }
    if (!rc)
        rc = flush_all(&b, &R->ld, type, R->rep, NULL);
    if (!rc)
        rc = loader_checkpoint(&R->ld, type + 1, "");
out:
    if (rc) /* a failure or a stop: abandon what is queued (checkpoints stay behind it) */
        loader_async_stop(&R->ld, false);
    builder_deinit(&b);
    for (int i = 0; i < MAX_EMB; i++)
        buf_deinit(&emb[i]);
    buf_deinit(&q);
    buf_deinit(&p);
    buf_deinit(&key);
    buf_deinit(&row);
    if (rc && !R->rep->error[0])
        snprintf(R->rep->error, sizeof R->rep->error, "loading %s: %s", t->name, fs_strerror(rc));
    return rc;
}

/* ---- Per graph: resume or start, load, index, swap -------------------------- */

int full_fdb_simple(struct run *R, const char *what, int argc, const char *const *argv,
                    redisReply **out)
{
    if (fdb_commandv(&R->ld.fdb, out, argc, argv)) {
        snprintf(R->rep->error, sizeof R->rep->error, "%s: %s", what, R->ld.fdb.errstr);
        return R->ld.fdb.err ? R->ld.fdb.err : FS_ESERVER;
    }
    return 0;
}

bool full_key_exists(struct run *R, const char *key)
{
    const char *argv[2] = {"EXISTS", key};
    redisReply *r = NULL;
    if (fdb_commandv(&R->ld.fdb, &r, 2, argv))
        return false;
    bool yes = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    freeReplyObject(r);
    return yes;
}

int full_graph_query(struct run *R, const char *graph, const char *q)
{
    const char *argv[3] = {"GRAPH.QUERY", graph, q};
    return full_fdb_simple(R, q, 3, argv, NULL);
}

/* Polls CALL db.indexes() until every index of graph is OPERATIONAL: first
 * after 5 ms, then twice as long each time up to every 100 ms, for 10 min. */
static int wait_indexes(struct run *R, const char *graph)
{
    double deadline = now_s() + 600;
    for (useconds_t pause = 5000;; pause = pause < 100000 ? pause * 2 : 100000) {
        const char *argv[3] = {"GRAPH.QUERY", graph,
                               "CALL db.indexes() YIELD status WHERE status <> 'OPERATIONAL' "
                               "RETURN count(status)"};
        redisReply *r = NULL;
        int rc = full_fdb_simple(R, "waiting for indexes", 3, argv, &r);
        if (rc)
            return rc;
        int64_t pending = loader_reply_count(r);
        freeReplyObject(r);
        if (pending == 0)
            return 0;
        if (now_s() > deadline)
            break;
        usleep(pause);
    }
    snprintf(R->rep->error, sizeof R->rep->error, "indexes of %s not operational after 10 min",
             graph);
    return FS_ETIMEOUT;
}

int full_record_watermarks(struct run *R, const char *ckpt, const char *group)
{
    struct buf q, p;
    buf_init(&q, 0);
    buf_init(&p, 0);
    int rc = 0;
    for (int i = 0; !rc && i < sync_wm_nfamilies; i++) {
        const struct sync_wm_family *f = &sync_wm_families[i];
        char gf[200] = "";
        if (group)
            snprintf(gf, sizeof gf, " AND %s = $g", f->group);
        buf_reset(&q);
        buf_reset(&p);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        rc = buf_printf(&q, f->max_query, gf);
#pragma GCC diagnostic pop
        rc = rc ? rc : pack_write_map_header(&p, group ? 1 : 0);
        if (group) {
            rc = rc ? rc : pack_write_cstr(&p, "g");
            rc = rc ? rc : pack_write_cstr(&p, group);
        }
        rc = rc ? rc : bolt_run(&R->bolt, q.data, p.data, p.len, BOLT_MODE_READ);
        if (rc) {
            snprintf(R->rep->error, sizeof R->rep->error, "Neo4j: %s", R->bolt.errstr);
            break;
        }
        struct bolt_record rec;
        int more;
        char v[64] = "";
        while ((more = bolt_next(&R->bolt, &rec)) == 1) {
            struct pack_reader r;
            struct pack_item it, a, b;
            pack_reader_init(&r, rec.data, rec.len);
            if (!pack_read_item(&r, &it) && !pack_read_item(&r, &it) && it.kind == PACK_STRUCT &&
                it.size == 3 && !pack_read_item(&r, &a) && !pack_read_item(&r, &b) &&
                a.kind == PACK_INT && b.kind == PACK_INT)
                snprintf(v, sizeof v, "%lld %lld %lld", (long long)a.i, (long long)b.i,
                         (long long)time(NULL));
        }
        if (more < 0) {
            rc = more;
            snprintf(R->rep->error, sizeof R->rep->error, "Neo4j: %s", R->bolt.errstr);
            break;
        }
        if (!v[0])
            continue;
        char field[80];
        snprintf(field, sizeof field, "wm:%s", f->name);
        const char *hs[4] = {"HSET", ckpt, field, v};
        rc = full_fdb_simple(R, "recording watermarks", 4, hs, NULL);
    }
    buf_deinit(&q);
    buf_deinit(&p);
    return rc;
}

/* Which method a fresh full sync of a graph uses (docs/configuration.md). */
static bool full_use_bulk(const struct run *R)
{
    switch (R->cfg->sync.full_method) {
    case CFG_FULL_BULK:
        return true;
    case CFG_FULL_QUERY:
        return false;
    default: /* auto: the graphiti profile, while the id map stays small */
        return !R->prof->generic && R->total_nodes <= FULL_BULK_AUTO_MAX_NODES;
    }
}

static int sync_one_graph(struct run *R, const char *live, const char *group)
{
    char shadow[300], old[300], ckpt[320];
    snprintf(shadow, sizeof shadow, "%s__falkorsync_shadow", live);
    snprintf(old, sizeof old, "%s__falkorsync_old", live);
    snprintf(ckpt, sizeof ckpt, "falkorsync:ckpt:%s", live);
    R->ld.graph = shadow;
    R->ld.ckpt_key = ckpt;
    int rc;

    if (full_key_exists(R, old)) { /* a crash between swap and cleanup */
        const char *del[2] = {"GRAPH.DELETE", old};
        if ((rc = full_fdb_simple(R, "deleting a stale old graph", 2, del, NULL)))
            return rc;
    }
    int start_type = 0;
    char after[KEY_CAP] = "";
    bool bulk = full_use_bulk(R), bulk_ckpt = false;
    const char *hg[2] = {"HGETALL", ckpt};
    redisReply *r = NULL;
    if ((rc = full_fdb_simple(R, "reading the checkpoint", 2, hg, &r)))
        return rc;
    bool have_ckpt = r->type == REDIS_REPLY_ARRAY && r->elements >= 4;
    for (size_t i = 0; have_ckpt && i + 1 < r->elements; i += 2) {
        if (!strcmp(r->element[i]->str, "type"))
            start_type = (int)strtol(r->element[i + 1]->str, NULL, 10);
        else if (!strcmp(r->element[i]->str, "after"))
            snprintf(after, sizeof after, "%s", r->element[i + 1]->str);
        else if (!strcmp(r->element[i]->str, "method"))
            bulk_ckpt = !strcmp(r->element[i + 1]->str, "bulk");
    }
    freeReplyObject(r);
    const int ntypes = R->prof->ntypes;
    /* What a failed bulk attempt counted is taken back before the query method runs. */
    const struct sync_report before = *R->rep;

    if (have_ckpt && bulk_ckpt) { /* a bulk load resumes as one, whatever the setting now */
        bulk = true;
        R->rep->method = "bulk";
        rc = full_bulk_graph(R, shadow, ckpt, group, true);
        if (rc != FULL_BULK_RESTART)
            goto loaded;
        have_ckpt = false;
    } else if (have_ckpt && full_key_exists(R, shadow)) {
        bulk = false; /* and a query load as one */
    }
fresh:
    if (!bulk && have_ckpt && full_key_exists(R, shadow) && start_type >= 0 &&
        start_type <= ntypes) {
        R->rep->resumed = true;
        /* Items past the checkpoint may have been written before the crash: remove them. */
        if (start_type < ntypes) {
            const struct sync_type *t = &R->prof->types[start_type];
            struct buf q;
            buf_init(&q, 0);
            int e = fdb_param_prefix_begin(&q);
            e = e ? e : fdb_param_name(&q, "after");
            e = e ? e : fdb_param_write_string(&q, after, strlen(after));
            e = e ? e : fdb_param_prefix_end(&q);
            if (R->prof->generic) {
                /* Any string may be a generic key, and Neo4j compares a stored
                 * string with a parameter in UTF-16 order, FalkorDB in byte
                 * order: so the type starts over instead of "after a key". */
                e = e ? e
                      : buf_append_str(&q, t->edge ? "MATCH ()-[e]->() DELETE e"
                                                   : "MATCH (n) DETACH DELETE n");
                after[0] = '\0';
            } else {
                e = e ? e
                      : buf_printf(&q,
                                   t->edge ? "MATCH ()-[e:`%s`]->() WHERE e.uuid > $after DELETE e"
                                           : "MATCH (n:`%s`) WHERE n.uuid > $after DETACH DELETE n",
                                   t->name);
            }
            rc = e ? e : full_graph_query(R, shadow, q.data);
            buf_deinit(&q);
            if (rc)
                return rc;
        }
    } else {
        start_type = 0;
        after[0] = '\0';
        if (full_key_exists(R, shadow)) {
            const char *del[2] = {"GRAPH.DELETE", shadow};
            if ((rc = full_fdb_simple(R, "deleting an old shadow graph", 2, del, NULL)))
                return rc;
        }
        /* Range indexes first: the query method's endpoint lookups use them;
         * the bulk method then keeps them up to date as it loads, which
         * measured a little faster than building them afterwards (5,000
         * entities with embeddings: 2.63 s against 2.78 s, 3 runs each). */
        char **idx = NULL;
        int nidx = 0;
        if ((rc = sync_range_index_statements(R->cfg, &R->bolt, &idx, &nidx))) {
            snprintf(R->rep->error, sizeof R->rep->error, "Neo4j: %s", R->bolt.errstr);
            return rc;
        }
        for (int i = 0; !rc && i < nidx; i++)
            rc = full_graph_query(R, shadow, idx[i]);
        sync_groups_free(idx, nidx);
        if (rc)
            return rc;
        const char *del[2] = {"DEL", ckpt};
        const char *hs[10] = {"HSET",   ckpt, "type",   "0",
                              "after",  "",   "method", bulk ? "bulk" : "query",
                              "at:0:0", "0 "};
        if ((rc = full_fdb_simple(R, "writing the checkpoint", 2, del, NULL)) ||
            (rc = full_fdb_simple(R, "writing the checkpoint", bulk ? 10 : 8, hs, NULL)))
            return rc;
        /* Where incremental will start once this graph is live: the newest
         * change timestamps now (changes during the load are newer). */
        if (!R->prof->generic && (rc = full_record_watermarks(R, ckpt, group)))
            return rc;
    }

    R->rep->method = bulk ? "bulk" : "query";
    if (bulk) {
        rc = full_bulk_graph(R, shadow, ckpt, group, false);
    } else {
        for (int t = start_type; !rc && t < ntypes; t++)
            rc = load_type(R, t, t == start_type ? after : "", group);
        /* Every batch acknowledged; the connection is this thread's again. */
        if (!rc)
            rc = loader_async_stop(&R->ld, true);
    }
loaded:
    if (rc == FULL_BULK_FALLBACK) {
        log_event(LOG_WARNING, "full sync: this graph cannot be bulk-loaded, using queries",
                  "\"graph\":\"%s\"", live);
        *R->rep = before;
        if ((rc = loader_reconnect(&R->ld))) {
            snprintf(R->rep->error, sizeof R->rep->error, "%s", R->ld.fdb.errstr);
            return rc;
        }
        const char *del[2] = {"GRAPH.DELETE", shadow};
        if (full_key_exists(R, shadow) &&
            (rc = full_fdb_simple(R, "deleting the shadow graph", 2, del, NULL)))
            return rc;
        bulk = false;
        have_ckpt = false;
        rc = 0;
        goto fresh;
    }
    if (rc)
        return rc;
    if (!R->prof->generic) {
        for (int i = 0; sync_fulltext_indexes[i]; i++) {
            rc = full_graph_query(R, shadow, sync_fulltext_indexes[i]);
            if (rc && strstr(R->rep->error, "already")) { /* resumed after it was made */
                R->rep->error[0] = '\0';
                rc = 0;
            }
            if (rc)
                return rc;
        }
    }
    if ((rc = wait_indexes(R, shadow)))
        return rc;

    /* The watermarks recorded when this load began. */
    char wmv[16][64];
    memset(wmv, 0, sizeof wmv);
    for (int i = 0; !R->prof->generic && i < sync_wm_nfamilies && i < 16; i++) {
        char field[80];
        snprintf(field, sizeof field, "wm:%s", sync_wm_families[i].name);
        const char *hgt[3] = {"HGET", ckpt, field};
        redisReply *v = NULL;
        if (full_fdb_simple(R, "reading watermarks", 3, hgt, &v) == 0 &&
            v->type == REDIS_REPLY_STRING)
            snprintf(wmv[i], sizeof wmv[i], "%s", v->str);
        freeReplyObject(v);
    }
    /* The swap: readers see the old graph, then the new one, never anything between. */
    bool live_exists = full_key_exists(R, live);
    const char *multi[1] = {"MULTI"};
    const char *ren1[3] = {"RENAME", live, old};
    const char *ren2[3] = {"RENAME", shadow, live};
    const char *delck[2] = {"DEL", ckpt};
    const char *exec[1] = {"EXEC"};
    rc = full_fdb_simple(R, "MULTI", 1, multi, NULL);
    if (!rc && live_exists)
        rc = full_fdb_simple(R, "RENAME live", 3, ren1, NULL);
    rc = rc ? rc : full_fdb_simple(R, "RENAME shadow", 3, ren2, NULL);
    char wmkey[320];
    snprintf(wmkey, sizeof wmkey, "falkorsync:wm:%s", live);
    const char *delwm[2] = {"DEL", wmkey};
    rc = rc ? rc : full_fdb_simple(R, "DEL watermarks", 2, delwm, NULL);
    for (int i = 0; !rc && i < sync_wm_nfamilies; i++) {
        if (!wmv[i][0])
            continue;
        const char *hs[4] = {"HSET", wmkey, sync_wm_families[i].name, wmv[i]};
        rc = full_fdb_simple(R, "HSET watermark", 4, hs, NULL);
    }
    rc = rc ? rc : full_fdb_simple(R, "DEL checkpoint", 2, delck, NULL);
    r = NULL;
    rc = rc ? rc : full_fdb_simple(R, "EXEC", 1, exec, &r);
    if (!rc) {
        char why[300];
        if (!r || r->type != REDIS_REPLY_ARRAY || fdb_reply_error(r, why, sizeof why)) {
            snprintf(R->rep->error, sizeof R->rep->error, "swap failed: %s", r ? why : "no reply");
            rc = FS_ESERVER;
        }
        freeReplyObject(r);
    }
    if (rc)
        return rc;
    if (live_exists) {
        const char *del[2] = {"GRAPH.DELETE", old};
        if ((rc = full_fdb_simple(R, "deleting the previous graph", 2, del, NULL)))
            return rc;
    }
    R->rep->graphs++;
    return 0;
}

const char *sync_target(const struct cfg *c, char **groups, int g, char *graph, size_t cap)
{
    if (c->falkordb.layout != CFG_LAYOUT_PER_GROUP) {
        snprintf(graph, cap, "%s", c->falkordb.database);
        return NULL;
    }
    sync_group_graph_name(c, groups[g], graph, cap);
    return groups[g];
}

static int count_items(struct run *R)
{
    struct buf q;
    buf_init(&q, 0);
    int rc = buf_append_str(&q, "CALL { ");
    for (int i = 0; !rc && i < R->prof->ntypes; i++) {
        char cq[200];
        if (i)
            rc = buf_append_str(&q, " UNION ALL ");
        rc = rc ? rc : sync_count_query(&R->prof->types[i], cq, sizeof cq);
        rc = rc ? rc
                : buf_printf(&q, "%s AS c, %s AS e", cq, R->prof->types[i].edge ? "true" : "false");
    }
    rc = rc ? rc : buf_append_str(&q, " } RETURN sum(c), sum(CASE WHEN e THEN 0 ELSE c END)");
    rc = rc ? rc : bolt_run(&R->bolt, q.data, NULL, 0, BOLT_MODE_READ);
    struct bolt_record rec;
    if (!rc && bolt_next(&R->bolt, &rec) == 1) {
        struct pack_reader r;
        struct pack_item it;
        pack_reader_init(&r, rec.data, rec.len);
        if (!pack_read_item(&r, &it) && !pack_read_item(&r, &it) && it.kind == PACK_INT)
            R->total_items = (uint64_t)it.i;
        if (!pack_read_item(&r, &it) && it.kind == PACK_INT)
            R->total_nodes = (uint64_t)it.i;
        struct bolt_record end;
        while (bolt_next(&R->bolt, &end) == 1)
            ;
    }
    buf_deinit(&q);
    return 0;
}

int sync_full(const struct cfg *c, const struct sync_opts *o, struct sync_report *rep)
{
    memset(rep, 0, sizeof *rep);
    struct run R = {.cfg = c, .prof = sync_profile_of(c), .opts = o, .rep = rep};
    R.t0 = now_s();
    bolt_init(&R.bolt);
    fdb_init(&R.ld.fdb);
    R.ld.depth = c->sync.pipeline_depth;
    R.ld.rep = rep;
    R.ld.types = R.prof->types;
    R.ld.ring = calloc((size_t)RING_CAP(&R.ld), sizeof *R.ld.ring);
    char **groups = NULL;
    int ngroups = 0;
    int rc = R.ld.ring ? sync_rules_init(&R.rules_store, c) : FS_ENOMEM;
    R.rules = R.rules_store.rules;
    if (rc)
        goto out;
    struct bolt_config bc = sync_bolt_config(c);
    if ((rc = bolt_connect(&R.bolt, &bc))) {
        snprintf(rep->error, sizeof rep->error, "%s", R.bolt.errstr);
        goto out;
    }
    struct fdb_config fc = sync_fdb_config(c);
    if ((rc = fdb_connect(&R.ld.fdb, &fc))) {
        snprintf(rep->error, sizeof rep->error, "%s", R.ld.fdb.errstr);
        goto out;
    }
    count_items(&R);
    if (c->falkordb.layout == CFG_LAYOUT_SINGLE) {
        rc = sync_one_graph(&R, c->falkordb.database, NULL);
    } else {
        rc = sync_list_groups(&R.bolt, &groups, &ngroups);
        if (rc)
            snprintf(rep->error, sizeof rep->error, "Neo4j: %s", R.bolt.errstr);
        for (int i = 0; !rc && i < ngroups; i++) {
            char name[300];
            sync_group_graph_name(c, groups[i], name, sizeof name);
            rc = sync_one_graph(&R, name, groups[i]);
        }
        if (!rc && (rc = sync_track_groups(c, &R.ld.fdb, groups, ngroups, rep)))
            snprintf(rep->error, sizeof rep->error, "FalkorDB: %s", R.ld.fdb.errstr);
    }
    if (!rc && (rc = sync_layout_cleanup(c, &R.ld.fdb, groups, ngroups, rep)))
        snprintf(rep->error, sizeof rep->error, "FalkorDB: %s", R.ld.fdb.errstr);
    full_progress(&R, true);
out:
    sync_groups_free(groups, ngroups);
    loader_async_stop(&R.ld, false); /* normally stopped by load_type already */
    bolt_close(&R.bolt);
    fdb_close(&R.ld.fdb);
    free(R.ld.ring);
    sync_rules_deinit(&R.rules_store);
    rep->seconds = now_s() - R.t0;
    if (rc && !rep->error[0])
        snprintf(rep->error, sizeof rep->error, "%s", fs_strerror(rc));
    return rc;
}

void sync_report_json(const struct sync_report *rep, const char *mode, FILE *out)
{
    uint64_t items = rep->nodes + rep->relationships;
    const struct xc_stats *d = &rep->dropped;
    fprintf(out,
            "{\"mode\":\"%s\",\"ok\":%s,\"nodes\":%" PRIu64 ",\"relationships\":%" PRIu64
            ",\"seconds\":%.3f,\"items_per_second\":%.1f,\"batches\":%" PRIu64
            ",\"graphs\":%d,%s%s%s\"resumed\":%s,\"did_full\":%s,\"upserted\":%" PRIu64
            ",\"deleted\":%" PRIu64 ",\"edges_missing_endpoint\":%" PRIu64
            ",\"dropped\":{\"nan_or_inf\":%" PRIu64 ",\"bytes\":%" PRIu64
            ",\"nul_in_string\":%" PRIu64 ",\"point\":%" PRIu64 ",\"backtick_in_key\":%" PRIu64
            ",\"backtick_in_label\":%" PRIu64 ",\"other\":%" PRIu64 "}",
            mode, rep->error[0] ? "false" : "true", rep->nodes, rep->relationships, rep->seconds,
            rep->seconds > 0 ? items / rep->seconds : 0.0, rep->batches, rep->graphs,
            rep->method ? "\"method\":\"" : "", rep->method ? rep->method : "",
            rep->method ? "\"," : "", rep->resumed ? "true" : "false",
            rep->did_full ? "true" : "false", rep->upserted, rep->deleted,
            rep->edges_missing_endpoint, d->dropped_nan, d->dropped_bytes, d->dropped_nul,
            d->dropped_point, d->dropped_key, d->dropped_label, d->dropped_other);
    if (rep->error[0]) {
        fputs(",\"error\":\"", out);
        for (const char *p = rep->error; *p; p++) {
            if (*p == '"' || *p == '\\')
                fputc('\\', out);
            if ((unsigned char)*p >= 0x20)
                fputc(*p, out);
        }
        fputc('"', out);
    }
    fputs("}\n", out);
}
