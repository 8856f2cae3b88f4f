/* Checkpoints and watermarks: the only code that reads or writes their hashes. */
#include "sync/state.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sync/extract.h"
#include "sync/profile.h"

static int command(struct fdb_conn *f, const char *what, int argc, const char *const *argv,
                   redisReply **out, char *err, size_t errlen)
{
    if (fdb_commandv(f, out, argc, argv)) {
        snprintf(err, errlen, "%s: %s", what, f->errstr);
        return f->err ? f->err : FS_ESERVER;
    }
    return 0;
}

int state_ckpt_read(struct fdb_conn *f, const char *key, struct state_ckpt *ck, char *err,
                    size_t errlen)
{
    memset(ck, 0, sizeof *ck);
    const char *hg[2] = {"HGETALL", key};
    redisReply *r = NULL;
    int rc = command(f, "reading the checkpoint", 2, hg, &r, err, errlen);
    if (rc)
        return rc;
    ck->have = r->type == REDIS_REPLY_ARRAY && r->elements >= 4;
    for (size_t i = 0; ck->have && i + 1 < r->elements; i += 2) {
        if (!strcmp(r->element[i]->str, "type"))
            ck->type = (int)strtol(r->element[i + 1]->str, NULL, 10);
        else if (!strcmp(r->element[i]->str, "after"))
            snprintf(ck->after, sizeof ck->after, "%s", r->element[i + 1]->str);
        else if (!strcmp(r->element[i]->str, "method"))
            ck->bulk = !strcmp(r->element[i + 1]->str, "bulk");
    }
    freeReplyObject(r);
    return 0;
}

int state_ckpt_start(struct fdb_conn *f, const char *key, bool bulk, char *err, size_t errlen)
{
    const char *del[2] = {"DEL", key};
    const char *hs[10] = {
        "HSET", key, "type", "0", "after", "", "method", bulk ? "bulk" : "query", "at:0:0", "0 "};
    int rc = command(f, "writing the checkpoint", 2, del, NULL, err, errlen);
    return rc ? rc : command(f, "writing the checkpoint", bulk ? 10 : 8, hs, NULL, err, errlen);
}

void state_ckpt_progress_argv(const char **argv, char *t, const char *key, int type,
                              const char *after)
{
    snprintf(t, 16, "%d", type);
    argv[0] = "HSET";
    argv[1] = key;
    argv[2] = "type";
    argv[3] = t;
    argv[4] = "after";
    argv[5] = after;
}

void state_ckpt_at_entry(char *field, size_t fcap, char *val, size_t vcap, uint64_t nodes,
                         uint64_t rels, int type, const char *last_key)
{
    snprintf(field, fcap, "at:%" PRIu64 ":%" PRIu64, nodes, rels);
    snprintf(val, vcap, "%d %s", type, last_key);
}

int state_ckpt_at_find(struct fdb_conn *f, const char *key, int64_t nodes, int64_t rels, int ntypes,
                       int *type, char *after)
{
    char field[64];
    snprintf(field, sizeof field, "at:%" PRId64 ":%" PRId64, nodes, rels);
    const char *argv[3] = {"HGET", key, field};
    redisReply *r = NULL;
    if (fdb_commandv(f, &r, 3, argv))
        return 0;
    int found = 0;
    if (r->type == REDIS_REPLY_STRING) {
        char *end;
        long t = strtol(r->str, &end, 10);
        if (*end == ' ' && t >= 0 && t <= ntypes) {
            *type = (int)t;
            snprintf(after, STATE_KEY_CAP, "%s", end + 1);
            found = 1;
        }
    }
    freeReplyObject(r);
    return found;
}

/* The largest timestamp of one family now: "<s> <ns> <now>" in v, or "" when there is none. */
static int family_max(struct bolt_session *b, const struct sync_wm_family *fam, const char *group,
                      struct buf *q, struct buf *p, char *v, size_t vcap)
{
    v[0] = '\0';
    int rc = extract_max_query(q, fam, group);
    buf_reset(p);
    rc = rc ? rc : extract_group_params(p, NULL, group);
    rc = rc ? rc : bolt_run(b, q->data, p->data, p->len, BOLT_MODE_READ);
    if (rc)
        return rc;
    struct bolt_record rec;
    int more;
    while ((more = bolt_next(b, &rec)) == 1) {
        int64_t s, ns;
        if (extract_read_datetime(&rec, &s, &ns) == 1)
            snprintf(v, vcap, "%lld %lld %lld", (long long)s, (long long)ns, (long long)time(NULL));
    }
    return more < 0 ? more : 0;
}

int state_ckpt_record_watermarks(struct bolt_session *b, struct fdb_conn *f, const char *key,
                                 const char *group, char *err, size_t errlen)
{
    struct buf q, p;
    buf_init(&q, 1 << 16);
    buf_init(&p, 1 << 16);
    int rc = 0;
    for (int i = 0; !rc && i < sync_wm_nfamilies; i++) {
        char v[64];
        if ((rc = family_max(b, &sync_wm_families[i], group, &q, &p, v, sizeof v))) {
            snprintf(err, errlen, "Neo4j: %s", b->errstr);
            break;
        }
        if (!v[0])
            continue;
        char field[80];
        snprintf(field, sizeof field, "wm:%s", sync_wm_families[i].name);
        const char *hs[4] = {"HSET", key, field, v};
        rc = command(f, "recording watermarks", 4, hs, NULL, err, errlen);
    }
    buf_deinit(&q);
    buf_deinit(&p);
    return rc;
}

void state_ckpt_watermarks(struct fdb_conn *f, const char *key, char wmv[][64], int n)
{
    for (int i = 0; i < n; i++) {
        wmv[i][0] = '\0';
        if (i >= sync_wm_nfamilies)
            continue;
        char field[80];
        snprintf(field, sizeof field, "wm:%s", sync_wm_families[i].name);
        const char *hgt[3] = {"HGET", key, field};
        redisReply *v = NULL;
        if (fdb_commandv(f, &v, 3, hgt) == 0 && v->type == REDIS_REPLY_STRING)
            snprintf(wmv[i], 64, "%s", v->str);
        freeReplyObject(v);
    }
}

int state_wm_replace(struct fdb_conn *f, const char *wmkey, char wmv[][64], int n, char *err,
                     size_t errlen)
{
    const char *delwm[2] = {"DEL", wmkey};
    int rc = command(f, "DEL watermarks", 2, delwm, NULL, err, errlen);
    for (int i = 0; !rc && i < n && i < sync_wm_nfamilies; i++) {
        if (!wmv[i][0])
            continue;
        const char *hs[4] = {"HSET", wmkey, sync_wm_families[i].name, wmv[i]};
        rc = command(f, "HSET watermark", 4, hs, NULL, err, errlen);
    }
    return rc;
}

int state_wm_read(struct fdb_conn *f, const char *wmkey, struct state_wm *w, int n, char *err,
                  size_t errlen)
{
    for (int i = 0; i < n; i++) {
        w[i].s = w[i].new_s = INT64_MIN;
        w[i].ns = w[i].new_ns = 0;
        w[i].seen_at = 0;
    }
    const char *hg[2] = {"HGETALL", wmkey};
    redisReply *r = NULL;
    int rc = fdb_commandv(f, &r, 2, hg);
    if (rc) {
        snprintf(err, errlen, "FalkorDB: %s", f->errstr);
        return rc;
    }
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
        struct state_wm *x = NULL;
        for (int j = 0; j < n && !x; j++)
            if (!strcmp(w[j].family, r->element[i]->str))
                x = &w[j];
        long long s, ns, seen = 0;
        if (x && sscanf(r->element[i + 1]->str, "%lld %lld %lld", &s, &ns, &seen) >= 2) {
            x->s = x->new_s = s;
            x->ns = x->new_ns = ns;
            x->seen_at = seen;
        }
    }
    freeReplyObject(r);
    return 0;
}

int state_wm_advance(struct fdb_conn *f, const char *wmkey, const struct state_wm *w, int n,
                     char *err, size_t errlen)
{
    for (int i = 0; i < n; i++) {
        if (w[i].new_s == INT64_MIN || (w[i].new_s == w[i].s && w[i].new_ns == w[i].ns))
            continue;
        char v[96];
        snprintf(v, sizeof v, "%lld %lld %lld", (long long)w[i].new_s, (long long)w[i].new_ns,
                 (long long)time(NULL));
        const char *hs[4] = {"HSET", wmkey, w[i].family, v};
        int rc = fdb_commandv(f, NULL, 4, hs);
        if (rc) {
            snprintf(err, errlen, "FalkorDB: %s", f->errstr);
            return rc;
        }
    }
    return 0;
}

/* The numeric fields of struct state_slice by name. */
enum slice_field { SF_I, SF_U, SF_D };
static const struct {
    const char *name;
    enum slice_field kind;
    size_t off;
} slice_fields[] = {
    {"graph", SF_I, offsetof(struct state_slice, graph)},
    {"type", SF_I, offsetof(struct state_slice, type)},
    {"started_at", SF_D, offsetof(struct state_slice, started_at)},
    {"busy_seconds", SF_D, offsetof(struct state_slice, busy_seconds)},
    {"checked", SF_U, offsetof(struct state_slice, checked)},
    {"fixed", SF_U, offsetof(struct state_slice, fixed)},
    {"slices", SF_U, offsetof(struct state_slice, slices)},
    {"passes", SF_U, offsetof(struct state_slice, passes)},
    {"last_seconds", SF_D, offsetof(struct state_slice, last_seconds)},
    {"last_busy_seconds", SF_D, offsetof(struct state_slice, last_busy_seconds)},
    {"last_finished_at", SF_D, offsetof(struct state_slice, last_finished_at)},
    {"last_checked", SF_U, offsetof(struct state_slice, last_checked)},
    {"last_fixed", SF_U, offsetof(struct state_slice, last_fixed)},
};
#define SLICE_NFIELDS (sizeof slice_fields / sizeof slice_fields[0])

int state_slice_read(struct fdb_conn *f, const char *key, struct state_slice *s, char *err,
                     size_t errlen)
{
    memset(s, 0, sizeof *s);
    const char *hg[2] = {"HGETALL", key};
    redisReply *r = NULL;
    int rc = command(f, "reading the reconcile position", 2, hg, &r, err, errlen);
    if (rc)
        return rc;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
        const char *name = r->element[i]->str, *v = r->element[i + 1]->str;
        if (!strcmp(name, "active"))
            s->active = !strcmp(v, "1");
        else if (!strcmp(name, "group"))
            snprintf(s->group, sizeof s->group, "%s", v);
        else if (!strcmp(name, "after"))
            snprintf(s->after, sizeof s->after, "%s", v);
        for (size_t j = 0; j < SLICE_NFIELDS; j++) {
            if (strcmp(name, slice_fields[j].name))
                continue;
            unsigned char *at = (unsigned char *)s + slice_fields[j].off;
            if (slice_fields[j].kind == SF_I) {
                int iv = (int)strtol(v, NULL, 10);
                memcpy(at, &iv, sizeof iv);
            } else if (slice_fields[j].kind == SF_U) {
                uint64_t uv = strtoull(v, NULL, 10);
                memcpy(at, &uv, sizeof uv);
            } else {
                double dv = strtod(v, NULL);
                memcpy(at, &dv, sizeof dv);
            }
        }
    }
    freeReplyObject(r);
    if (s->graph < 0 || s->type < 0) /* not ours to trust: start a new pass */
        s->active = false;
    return 0;
}

int state_slice_write(struct fdb_conn *f, const char *key, const struct state_slice *s, char *err,
                      size_t errlen)
{
    char vals[SLICE_NFIELDS][32];
    const char *argv[2 + 2 * (3 + SLICE_NFIELDS)];
    int n = 0;
    argv[n++] = "HSET";
    argv[n++] = key;
    argv[n++] = "active";
    argv[n++] = s->active ? "1" : "0";
    argv[n++] = "group";
    argv[n++] = s->group;
    argv[n++] = "after";
    argv[n++] = s->after;
    for (size_t j = 0; j < SLICE_NFIELDS; j++) {
        const unsigned char *at = (const unsigned char *)s + slice_fields[j].off;
        int iv;
        uint64_t uv;
        double dv;
        if (slice_fields[j].kind == SF_I) {
            memcpy(&iv, at, sizeof iv);
            snprintf(vals[j], sizeof vals[j], "%d", iv);
        } else if (slice_fields[j].kind == SF_U) {
            memcpy(&uv, at, sizeof uv);
            snprintf(vals[j], sizeof vals[j], "%" PRIu64, uv);
        } else {
            memcpy(&dv, at, sizeof dv);
            snprintf(vals[j], sizeof vals[j], "%.3f", dv);
        }
        argv[n++] = slice_fields[j].name;
        argv[n++] = vals[j];
    }
    return command(f, "writing the reconcile position", n, argv, NULL, err, errlen);
}
