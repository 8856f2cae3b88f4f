/* The run report as JSON (through jansson) and the monotonic clock every mode times itself with. */
#include "sync/report.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double sync_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double sync_wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A figure rounded to `places` decimals, as the report has always printed it. */
static json_t *rounded(double v, int places)
{
    double scale = pow(10, places);
    return json_real(round(v * scale) / scale);
}

json_t *sync_json_text(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    /* not UTF-8 (a server's message may hold any bytes): those bytes become '?' */
    char *copy = strdup(s);
    if (!copy)
        return json_null();
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    j = json_string(copy);
    free(copy);
    return j ? j : json_null();
}

json_t *sync_json_count(uint64_t v)
{
    return json_integer((json_int_t)v);
}

void sync_json_print(json_t *o, FILE *out)
{
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    if (text) {
        fputs(text, out);
        fputc('\n', out);
    }
    free(text);
    json_decref(o);
}

static json_t *dropped_json(const struct xc_stats *d)
{
    json_t *o = json_object();
    json_object_set_new(o, "nan_or_inf", sync_json_count(d->dropped_nan));
    json_object_set_new(o, "bytes", sync_json_count(d->dropped_bytes));
    json_object_set_new(o, "nul_in_string", sync_json_count(d->dropped_nul));
    json_object_set_new(o, "point", sync_json_count(d->dropped_point));
    json_object_set_new(o, "backtick_in_key", sync_json_count(d->dropped_key));
    json_object_set_new(o, "backtick_in_label", sync_json_count(d->dropped_label));
    json_object_set_new(o, "other", sync_json_count(d->dropped_other));
    return o;
}

void sync_report_json(const struct sync_report *rep, const char *mode, FILE *out)
{
    uint64_t items = rep->nodes + rep->relationships;
    json_t *o = json_object();
    json_object_set_new(o, "mode", json_string(mode));
    json_object_set_new(o, "ok", json_boolean(!rep->error[0]));
    json_object_set_new(o, "nodes", sync_json_count(rep->nodes));
    json_object_set_new(o, "relationships", sync_json_count(rep->relationships));
    json_object_set_new(o, "seconds", rounded(rep->seconds, 3));
    json_object_set_new(o, "items_per_second",
                        rounded(rep->seconds > 0 ? (double)items / rep->seconds : 0.0, 1));
    json_object_set_new(o, "batches", sync_json_count(rep->batches));
    json_object_set_new(o, "graphs", json_integer(rep->graphs));
    if (rep->method)
        json_object_set_new(o, "method", json_string(rep->method));
    json_object_set_new(o, "resumed", json_boolean(rep->resumed));
    json_object_set_new(o, "did_full", json_boolean(rep->did_full));
    json_object_set_new(o, "upserted", sync_json_count(rep->upserted));
    json_object_set_new(o, "skipped_unchanged", sync_json_count(rep->skipped_unchanged));
    json_object_set_new(o, "deleted", sync_json_count(rep->deleted));
    json_object_set_new(o, "edges_missing_endpoint", sync_json_count(rep->edges_missing_endpoint));
    json_object_set_new(o, "dropped", dropped_json(&rep->dropped));
    if (rep->replicas_wanted > 0)
        json_object_set_new(
            o, "replicas",
            json_pack("{s:i,s:i}", "wanted", rep->replicas_wanted, "acked", rep->replicas_acked));
    if (rep->warning[0])
        json_object_set_new(o, "warning", sync_json_text(rep->warning));
    if (rep->error[0])
        json_object_set_new(o, "error", sync_json_text(rep->error));
    if (rep->err_code) {
        json_object_set_new(o, "error_code", json_string(fs_errname(rep->err_code)));
        json_object_set_new(o, "error_side", json_string(fs_sidename(rep->err_side)));
    }
    sync_json_print(o, out);
}

void sync_report_fail(struct sync_report *rep, int rc)
{
    rep->err_code = rc;
    enum fs_side side = fs_errside(rc);
    if (side == FS_SIDE_PEER || side == FS_SIDE_INTERNAL) {
        if (!strncmp(rep->error, "Neo4j", 5))
            side = FS_SIDE_NEO4J;
        else if (!strncmp(rep->error, "FalkorDB", 8))
            side = FS_SIDE_FALKORDB;
        else if (side == FS_SIDE_PEER)
            side = FS_SIDE_INTERNAL;
    }
    rep->err_side = side;
}
