/* The size estimate behind `falkorsync plan`: per cache graph (as the layout names them) the
 * items Neo4j holds, the FalkorDB memory the cache will take by a cost model measured on
 * FalkorDB 4.16 (docs/operations.md "Sizing"), the peak of a full sync (one graph's shadow
 * next to its live copy), and whether that fits under FalkorDB's maxmemory. Read-only on
 * both sides. */
#ifndef FALKORSYNC_SYNC_PLAN_H
#define FALKORSYNC_SYNC_PLAN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config/config.h"
#include "util/err.h"

#define PLAN_MAX_TYPES 16
#define PLAN_SAMPLE 1000 /* items sampled per type for properties, text and embeddings */

/* What a sample of one type holds per item, on average. */
struct plan_shape {
    int64_t sampled;   /* items read (at most PLAN_SAMPLE) */
    double props;      /* properties per item */
    double text_bytes; /* bytes of string values (temporal values as their ISO text) */
    double vec_floats; /* embedding floats (stored as vecf32) */
    double list_items; /* elements of other lists (stored as arrays) */
};

struct plan_graph {
    char name[256];
    char group[256];               /* per_group: the Neo4j group_id; "" in single */
    int64_t count[PLAN_MAX_TYPES]; /* items per type in Neo4j */
    int64_t nodes, edges;
    double estimate; /* bytes the graph will take in FalkorDB */
    bool exists;     /* the graph is in FalkorDB now (taken to be about its estimate) */
};

enum plan_verdict { PLAN_FITS, PLAN_NO_FIT, PLAN_UNKNOWN };

struct plan_report {
    int ntypes;
    const char *type_name[PLAN_MAX_TYPES];
    bool type_edge[PLAN_MAX_TYPES];
    struct plan_shape shape[PLAN_MAX_TYPES];
    int ngraphs;
    struct plan_graph *graphs;
    int64_t nodes, edges;
    double estimate; /* all graphs */
    double largest;  /* the largest graph: the shadow a full sync builds next to its live copy */
    long long used_memory, maxmemory, system_memory; /* INFO memory; -1 unknown */
    double steady_bytes; /* used_memory + the graphs that do not exist yet */
    double peak_bytes;   /* steady_bytes + the largest existing graph: its shadow copy */
    long long limit;     /* maxmemory, else the machine's memory (total_system_memory); -1 */
    enum plan_verdict verdict;
    char error[512];
};

/* Fills rep (free with sync_plan_free). Returns 0, or an error with rep->error set. */
int sync_plan(const struct cfg *c, struct plan_report *rep) FS_WARN_UNUSED;
void sync_plan_free(struct plan_report *rep);
/* The report as one JSON line, or as text for people. */
void sync_plan_json(const struct plan_report *rep, const struct cfg *c, FILE *out);
void sync_plan_text(const struct plan_report *rep, const struct cfg *c, FILE *out);

#endif
