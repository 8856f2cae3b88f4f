/* `falkorsync plan`: items per cache graph, the memory FalkorDB will need, and whether it fits. */
#include "sync/plan.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "bolt/bolt.h"
#include "bolt/pack.h"
#include "falkor/fdb.h"
#include "sync/connect.h"
#include "sync/extract.h"
#include "sync/profile.h"
#include "sync/report.h"
#include "sync/target.h"

/* The cost model: bytes of FalkorDB 4.16's used_memory (what maxmemory limits) per thing
 * stored. Each term was measured by creating 10,000-100,000 items of one kind in an empty graph
 * and reading INFO used_memory before and after (docs/operations.md "Sizing" has the figures);
 * the sum was then checked against Graphiti-shaped graphs synced by `falkorsync full`. */
#define COST_NODE 48.0           /* node block, label matrix */
#define COST_EDGE 60.0           /* edge block, relation matrix */
#define COST_PROP 14.0           /* one property's slot */
#define COST_TEXT_BYTE 1.1       /* one byte of string value */
#define COST_VEC_FLOAT 5.0       /* one float of a vecf32 */
#define COST_LIST_ITEM 20.0      /* one element of another array */
#define COST_RANGE_INDEX 240.0   /* an item's entry in its type's range index (any field count) */
#define COST_FULLTEXT_BYTE 2.5   /* full-text indexes, per byte of text (Graphiti indexes most) */
#define COST_GRAPH (64.0 * 1024) /* an empty graph with its indexes */
/* Fitted, not measured alone: what the terms above miss on Graphiti-shaped graphs synced by
 * `falkorsync full` (full-text documents, extra labels, per-item bookkeeping). */
#define COST_ITEM_FITTED 440.0

/* The first record's integers (at most n) of query; 0 or an error with err set. */
static int query_ints(struct bolt_session *s, const char *query, const struct buf *params,
                      int64_t *out, int n, char *err, size_t errlen)
{
    int rc =
        bolt_run(s, query, params ? params->data : NULL, params ? params->len : 0, BOLT_MODE_READ);
    struct bolt_record rec;
    int got = rc ? rc : bolt_next(s, &rec);
    if (got == 1) {
        struct pack_reader r;
        struct pack_item it;
        pack_reader_init(&r, rec.data, rec.len);
        rc = pack_read_item(&r, &it); /* the list header */
        for (int i = 0; !rc && i < n; i++) {
            rc = pack_read_item(&r, &it);
            out[i] = !rc && it.kind == FS_VALUE_INT ? it.i : 0;
        }
        while (!rc && (got = bolt_next(s, &rec)) == 1)
            ;
        rc = rc ? rc : (got < 0 ? got : 0);
    } else if (got < 0 || rc) {
        rc = rc ? rc : got;
    }
    if (rc)
        snprintf(err, errlen, "Neo4j: %s", s->errstr);
    return rc;
}

/* The value-size terms of one sampled item, summed over the sample, as a Cypher expression of
 * x; embeddings are the names in $emb. */
static const char *const sample_sums =
    " WITH x LIMIT $n WITH x, [k IN keys(x) | [k, valueType(x[k]), x[k]]] AS kv"
    " RETURN count(x), sum(size(kv)),"
    " sum(reduce(s = 0, p IN kv | s + CASE WHEN p[1] STARTS WITH 'STRING' THEN size(p[2])"
    " WHEN p[1] STARTS WITH 'LIST<STRING' THEN reduce(t = 0, e IN p[2] | t + size(e))"
    " WHEN p[1] CONTAINS 'DATE' OR p[1] CONTAINS 'TIME' THEN 32 ELSE 0 END)),"
    " sum(reduce(s = 0, p IN kv | s + CASE WHEN p[0] IN $emb AND p[1] STARTS WITH 'LIST'"
    " THEN size(p[2]) ELSE 0 END)),"
    " sum(reduce(s = 0, p IN kv | s + CASE WHEN NOT p[0] IN $emb AND p[1] STARTS WITH 'LIST'"
    " THEN size(p[2]) ELSE 0 END))";

static int sample_type(struct bolt_session *s, const struct sync_type *t,
                       const struct sync_rules *rules, struct plan_shape *sh, char *err,
                       size_t errlen)
{
    struct buf q, p;
    buf_init(&q, SYNC_QUERY_CAP);
    buf_init(&p, SYNC_QUERY_CAP);
    int rc;
    if (t->any)
        rc = buf_append_str(&q, t->edge ? "MATCH ()-[x]->()" : "MATCH (x)");
    else
        rc = buf_printf(&q, t->edge ? "MATCH ()-[x:`%s`]->()" : "MATCH (x:`%s`)", t->name);
    rc = rc ? rc : buf_append_str(&q, sample_sums);
    int ne = 0;
    while (rules->names[ne])
        ne++;
    rc = rc ? rc : pack_write_map_header(&p, 2);
    rc = rc ? rc : pack_write_cstr(&p, "n");
    rc = rc ? rc : pack_write_int(&p, PLAN_SAMPLE);
    rc = rc ? rc : pack_write_cstr(&p, "emb");
    rc = rc ? rc : pack_write_list_header(&p, (uint32_t)ne);
    for (int i = 0; !rc && i < ne; i++)
        rc = pack_write_cstr(&p, rules->names[i]);
    int64_t v[5] = {0};
    if (rc)
        snprintf(err, errlen, "%s", fs_strerror(rc));
    rc = rc ? rc : query_ints(s, q.data, &p, v, 5, err, errlen);
    if (!rc && v[0] > 0) {
        sh->sampled = v[0];
        sh->props = (double)v[1] / (double)v[0];
        sh->text_bytes = (double)v[2] / (double)v[0];
        sh->vec_floats = (double)v[3] / (double)v[0];
        sh->list_items = (double)v[4] / (double)v[0];
    }
    buf_deinit(&q);
    buf_deinit(&p);
    return rc;
}

/* Items of each type in graph g: the count store in single, a group_id filter in per_group. */
static int count_graph(struct bolt_session *s, const struct sync_profile *prof, bool by_group,
                       struct plan_graph *g, char *err, size_t errlen)
{
    int rc = 0;
    for (int i = 0; !rc && i < prof->ntypes && i < PLAN_MAX_TYPES; i++) {
        struct buf q, p;
        buf_init(&q, SYNC_QUERY_CAP);
        buf_init(&p, 512);
        char cq[200];
        if (by_group) {
            rc = extract_count_query(&q, &prof->types[i], true, false);
            rc = rc ? rc : extract_group_params(&p, NULL, g->group);
        } else {
            rc = sync_count_query(&prof->types[i], cq, sizeof cq);
            rc = rc ? rc : buf_append_str(&q, cq);
        }
        if (rc)
            snprintf(err, errlen, "%s", fs_strerror(rc));
        rc = rc ? rc : query_ints(s, q.data, by_group ? &p : NULL, &g->count[i], 1, err, errlen);
        if (prof->types[i].edge)
            g->edges += g->count[i];
        else
            g->nodes += g->count[i];
        buf_deinit(&q);
        buf_deinit(&p);
    }
    return rc;
}

static double item_cost(const struct plan_shape *sh, bool edge)
{
    return (edge ? COST_EDGE : COST_NODE) + COST_RANGE_INDEX + COST_ITEM_FITTED +
           sh->props * COST_PROP + sh->text_bytes * (COST_TEXT_BYTE + COST_FULLTEXT_BYTE) +
           sh->vec_floats * COST_VEC_FLOAT + sh->list_items * COST_LIST_ITEM;
}

/* The Neo4j side: the graphs of the layout, their counts, and the sampled shapes. */
static int plan_neo4j(const struct cfg *c, struct plan_report *rep)
{
    const struct sync_profile *prof = sync_profile_of(c);
    struct bolt_session bolt;
    struct sync_rules rules;
    bolt_init(&bolt);
    char **groups = NULL;
    int ngroups = 0;
    bool per_group = c->falkordb.layout == CFG_LAYOUT_PER_GROUP;
    int rc = sync_rules_init(&rules, c);
    struct bolt_config bc = sync_bolt_config(c);
    if (rc)
        snprintf(rep->error, sizeof rep->error, "%s", fs_strerror(rc));
    if (!rc && (rc = bolt_connect(&bolt, &bc)))
        snprintf(rep->error, sizeof rep->error, "%s", bolt.errstr);
    if (!rc && per_group && (rc = sync_list_groups(&bolt, &groups, &ngroups)))
        snprintf(rep->error, sizeof rep->error, "Neo4j: %s", bolt.errstr);
    rep->ntypes = prof->ntypes < PLAN_MAX_TYPES ? prof->ntypes : PLAN_MAX_TYPES;
    for (int i = 0; !rc && i < rep->ntypes; i++) {
        rep->type_name[i] = prof->types[i].name;
        rep->type_edge[i] = prof->types[i].edge;
        rc = sample_type(&bolt, &prof->types[i], &rules, &rep->shape[i], rep->error,
                         sizeof rep->error);
    }
    int ng = rc ? 0 : sync_target_count(c, ngroups);
    rep->graphs = ng ? calloc((size_t)ng, sizeof *rep->graphs) : NULL;
    if (ng && !rep->graphs) {
        rc = FS_ENOMEM;
        snprintf(rep->error, sizeof rep->error, "%s", fs_strerror(rc));
    }
    for (int g = 0; !rc && g < ng; g++) {
        struct plan_graph *G = &rep->graphs[rep->ngraphs++];
        const char *group = sync_target(c, groups, g, G->name, sizeof G->name);
        snprintf(G->group, sizeof G->group, "%s", group ? group : "");
        rc = count_graph(&bolt, prof, per_group, G, rep->error, sizeof rep->error);
        G->estimate = COST_GRAPH;
        for (int i = 0; i < rep->ntypes; i++)
            G->estimate += (double)G->count[i] * item_cost(&rep->shape[i], rep->type_edge[i]);
        rep->nodes += G->nodes;
        rep->edges += G->edges;
        rep->estimate += G->estimate;
        if (G->estimate > rep->largest)
            rep->largest = G->estimate;
    }
    sync_groups_free(groups, ngroups);
    sync_rules_deinit(&rules);
    bolt_close(&bolt);
    return rc;
}

static bool graph_exists(struct fdb_conn *f, const char *graph)
{
    const char *ex[2] = {"EXISTS", graph};
    redisReply *r = NULL;
    if (fdb_commandv(f, &r, 2, ex))
        return false;
    bool exists = r->type == REDIS_REPLY_INTEGER && r->integer > 0;
    freeReplyObject(r);
    return exists;
}

/* The FalkorDB side: memory used and allowed, and which cache graphs exist now. */
static int plan_falkordb(const struct cfg *c, struct plan_report *rep)
{
    struct fdb_conn f;
    fdb_init(&f);
    struct fdb_config fc = sync_fdb_config(c);
    int rc = fdb_connect(&f, &fc);
    const char *info[2] = {"INFO", "memory"};
    redisReply *r = NULL;
    rc = rc ? rc : fdb_commandv(&f, &r, 2, info);
    if (rc) {
        snprintf(rep->error, sizeof rep->error, "FalkorDB: %s", f.errstr);
        fdb_close(&f);
        return rc;
    }
    if (r->type == REDIS_REPLY_STRING) {
        rep->used_memory = fdb_info_field(r->str, "used_memory");
        rep->maxmemory = fdb_info_field(r->str, "maxmemory");
        rep->system_memory = fdb_info_field(r->str, "total_system_memory");
    }
    freeReplyObject(r);
    for (int g = 0; g < rep->ngraphs; g++)
        rep->graphs[g].exists = graph_exists(&f, rep->graphs[g].name);
    fdb_close(&f);
    return 0;
}

int sync_plan(const struct cfg *c, struct plan_report *rep)
{
    memset(rep, 0, sizeof *rep);
    rep->used_memory = rep->maxmemory = rep->system_memory = rep->limit = -1;
    rep->verdict = PLAN_UNKNOWN;
    int rc = plan_neo4j(c, rep);
    rc = rc ? rc : plan_falkordb(c, rep);
    if (rc)
        return rc;
    /* A graph that exists is taken to be about its estimate already (in step); one that does
     * not comes on top. A full sync builds one graph at a time and its shadow sits next to
     * the live copy until the swap: the peak adds the largest existing graph once more. */
    double add = 0, shadow = 0;
    for (int g = 0; g < rep->ngraphs; g++) {
        const struct plan_graph *G = &rep->graphs[g];
        if (!G->exists)
            add += G->estimate;
        else if (G->estimate > shadow)
            shadow = G->estimate;
    }
    double used = rep->used_memory >= 0 ? (double)rep->used_memory : 0;
    rep->steady_bytes = used + add;
    rep->peak_bytes = rep->steady_bytes + shadow;
    rep->limit = rep->maxmemory > 0 ? rep->maxmemory : rep->system_memory;
    if (rep->limit > 0 && rep->used_memory >= 0)
        rep->verdict = rep->peak_bytes <= (double)rep->limit ? PLAN_FITS : PLAN_NO_FIT;
    return 0;
}

void sync_plan_free(struct plan_report *rep)
{
    free(rep->graphs);
    rep->graphs = NULL;
    rep->ngraphs = 0;
}

static const char *verdict_name(enum plan_verdict v)
{
    return v == PLAN_FITS ? "fits" : v == PLAN_NO_FIT ? "does_not_fit" : "unknown";
}

static json_t *mem_json(long long v)
{
    return v >= 0 ? json_integer(v) : json_null();
}

void sync_plan_json(const struct plan_report *rep, const struct cfg *c, FILE *out)
{
    json_t *graphs = json_array();
    for (int g = 0; g < rep->ngraphs; g++) {
        const struct plan_graph *G = &rep->graphs[g];
        json_t *types = json_object();
        for (int i = 0; i < rep->ntypes; i++)
            json_object_set_new(types, rep->type_name[i], json_integer(G->count[i]));
        json_array_append_new(
            graphs, json_pack("{s:o,s:o,s:I,s:I,s:I,s:o,s:I,s:b}", "graph", sync_json_text(G->name),
                              "group", sync_json_text(G->group), "nodes", (json_int_t)G->nodes,
                              "relationships", (json_int_t)G->edges, "items",
                              (json_int_t)(G->nodes + G->edges), "by_type", types,
                              "estimated_bytes", (json_int_t)G->estimate, "exists", G->exists));
    }
    json_t *shapes = json_object();
    for (int i = 0; i < rep->ntypes; i++) {
        const struct plan_shape *sh = &rep->shape[i];
        json_object_set_new(shapes, rep->type_name[i],
                            json_pack("{s:I,s:f,s:f,s:f,s:f}", "sampled", (json_int_t)sh->sampled,
                                      "properties", sh->props, "text_bytes", sh->text_bytes,
                                      "embedding_floats", sh->vec_floats, "list_items",
                                      sh->list_items));
    }
    json_t *o = json_pack(
        "{s:b,s:s,s:o,s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:o,s:o,s:s}", "ok", 1, "layout",
        c->falkordb.layout == CFG_LAYOUT_PER_GROUP ? "per_group" : "single", "graphs", graphs,
        "per_item_sample", shapes, "nodes", (json_int_t)rep->nodes, "relationships",
        (json_int_t)rep->edges, "items", (json_int_t)(rep->nodes + rep->edges), "estimated_bytes",
        (json_int_t)rep->estimate, "largest_graph_bytes", (json_int_t)rep->largest, "steady_bytes",
        (json_int_t)rep->steady_bytes, "full_sync_peak_bytes", (json_int_t)rep->peak_bytes,
        "used_memory", mem_json(rep->used_memory), "maxmemory", mem_json(rep->maxmemory),
        "system_memory", mem_json(rep->system_memory), "limit_bytes", mem_json(rep->limit),
        "verdict", verdict_name(rep->verdict));
    sync_json_print(o, out);
}

static double mb(double bytes)
{
    return bytes / (1024.0 * 1024.0);
}

void sync_plan_text(const struct plan_report *rep, const struct cfg *c, FILE *out)
{
    fprintf(out, "%-32s %12s %14s %12s %8s\n", "graph", "nodes", "relationships", "estimate MB",
            "exists");
    for (int g = 0; g < rep->ngraphs; g++) {
        const struct plan_graph *G = &rep->graphs[g];
        fprintf(out, "%-32s %12lld %14lld %12.1f %8s\n", G->name, (long long)G->nodes,
                (long long)G->edges, mb(G->estimate), G->exists ? "yes" : "no");
    }
    fprintf(out,
            "\nNeo4j holds %lld items (%lld nodes, %lld relationships) for %d graph(s) (layout "
            "%s).\n",
            (long long)(rep->nodes + rep->edges), (long long)rep->nodes, (long long)rep->edges,
            rep->ngraphs, c->falkordb.layout == CFG_LAYOUT_PER_GROUP ? "per_group" : "single");
    fprintf(out,
            "The cache will take about %.1f MB in FalkorDB (cost model: docs/operations.md "
            "\"Sizing\", within 15%% on generated Graphiti graphs).\n",
            mb(rep->estimate));
    fprintf(out,
            "A full sync builds each graph's shadow copy next to its live copy (2x that graph "
            "until the swap); the largest graph is %.1f MB.\n",
            mb(rep->largest));
    fprintf(out, "FalkorDB uses %.1f MB now; maxmemory %s.\n", mb((double)rep->used_memory),
            rep->maxmemory > 0 ? "is set" : "is not set (0): the machine's memory is the limit");
    fprintf(out,
            "Needed: %.1f MB with the cache in step, %.1f MB at the peak of a full sync; limit "
            "%.1f MB.\n",
            mb(rep->steady_bytes), mb(rep->peak_bytes), mb((double)rep->limit));
    if (rep->verdict == PLAN_FITS)
        fprintf(out, "Verdict: fits.\n");
    else if (rep->verdict == PLAN_NO_FIT)
        fprintf(out,
                "Verdict: does NOT fit: a full sync would fail out of memory; set maxmemory to at "
                "least %.0f MB (the headroom a shadow swap needs, plus 10%%).\n",
                mb(rep->peak_bytes) * 1.1 + 1);
    else
        fprintf(out, "Verdict: unknown (FalkorDB did not report its memory).\n");
}
