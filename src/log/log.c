/* JSON-lines logger with size-based rotation; a mutex keeps lines whole across threads. */
#include "log/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

static struct {
    pthread_mutex_t mu;
    enum log_level level;
    int json;
    char *path;
    FILE *f;
    size_t max_bytes;
    int backups;
} L = {PTHREAD_MUTEX_INITIALIZER, LOG_INFO, 1, NULL, NULL, 0, 0};

static _Thread_local uint64_t thread_run_id;

void log_set_run_id(uint64_t run_id)
{
    thread_run_id = run_id;
}

uint64_t log_run_id(void)
{
    return thread_run_id;
}

enum log_level log_level_parse(const char *s)
{
    static const char *const names[] = {"DEBUG", "INFO", "WARNING", "ERROR"};
    for (int i = 0; i < 4; i++)
        if (s && !strcasecmp(s, names[i]))
            return (enum log_level)i;
    if (s && !strcasecmp(s, "WARN"))
        return LOG_WARNING;
    return LOG_INFO;
}

/* Opens path for appending; when its folder is missing, creates it (and its parents, mode 0750)
 * first, like mkdir -p. */
static FILE *open_log(const char *path)
{
    FILE *f = fopen(path, "a");
    if (f || errno != ENOENT)
        return f;
    char *dir = strdup(path);
    char *last = dir ? strrchr(dir, '/') : NULL;
    if (last && last != dir) {
        *last = '\0';
        bool ok = true;
        for (char *p = dir + 1; ok && p <= last; p++) {
            if (*p != '/' && *p != '\0')
                continue;
            char c = *p;
            *p = '\0';
            ok = mkdir(dir, 0750) == 0 || errno == EEXIST;
            *p = c;
        }
        int saved = errno;
        if (ok)
            f = fopen(path, "a");
        else
            errno = saved;
    }
    free(dir);
    return f;
}

int log_setup(const char *level, int json, const char *path, size_t max_bytes, int backups,
              char *why, size_t whylen)
{
    pthread_mutex_lock(&L.mu);
    L.level = log_level_parse(level);
    L.json = json;
    L.max_bytes = max_bytes;
    L.backups = backups;
    if (L.f && L.f != stderr)
        fclose(L.f);
    L.f = NULL;
    free(L.path);
    L.path = NULL;
    int rc = 0;
    if (path && *path) {
        L.f = open_log(path);
        if (L.f) {
            L.path = strdup(path);
        } else {
            rc = FS_EIO;
            if (why && whylen)
                snprintf(why, whylen, "%s", strerror(errno));
        }
    }
    pthread_mutex_unlock(&L.mu);
    return rc;
}

void log_reopen(void)
{
    pthread_mutex_lock(&L.mu);
    if (L.path) {
        if (L.f)
            fclose(L.f);
        L.f = open_log(L.path);
    }
    pthread_mutex_unlock(&L.mu);
}

static void rotate_locked(void)
{
    if (!L.path || !L.f || !L.max_bytes)
        return;
    long pos = ftell(L.f);
    if (pos < 0 || (size_t)pos < L.max_bytes)
        return;
    fclose(L.f);
    size_t n = strlen(L.path) + 16;
    char *from = malloc(n), *to = malloc(n);
    if (from && to) {
        for (int i = L.backups; i >= 1; i--) {
            snprintf(to, n, "%s.%d", L.path, i);
            if (i == 1)
                snprintf(from, n, "%s", L.path);
            else
                snprintf(from, n, "%s.%d", L.path, i - 1);
            rename(from, to);
        }
        if (L.backups == 0)
            remove(L.path);
    }
    free(from);
    free(to);
    L.f = open_log(L.path);
}

void log_redact(const char *in, char *out, size_t cap)
{
    if (!cap)
        return;
    size_t o = 0;
    const char *p = in ? in : "";
    while (*p && o + 1 < cap) {
        const char *sep = strstr(p, "://");
        if (!sep) {
            size_t n = strlen(p);
            if (n > cap - 1 - o)
                n = cap - 1 - o;
            memcpy(out + o, p, n);
            o += n;
            break;
        }
        /* copy up to and including "://" */
        const char *auth = sep + 3;
        size_t n = (size_t)(auth - p);
        if (n > cap - 1 - o)
            n = cap - 1 - o;
        memcpy(out + o, p, n);
        o += n;
        p = auth;
        /* the authority ends at '/', '?', '#', a space, a quote or a comma; user info at '@' */
        size_t alen = strcspn(auth, "/?# \t\r\n\"'<>,;");
        const char *at = NULL;
        for (size_t i = 0; i < alen; i++)
            if (auth[i] == '@')
                at = auth + i; /* the last '@': passwords may hold one */
        if (!at)
            continue;
        const char *colon = memchr(auth, ':', (size_t)(at - auth));
        if (!colon)
            continue; /* a user name alone is no secret */
        size_t keep = (size_t)(colon + 1 - auth);
        if (keep > cap - 1 - o)
            keep = cap - 1 - o;
        memcpy(out + o, auth, keep);
        o += keep;
        for (const char *m = "***"; *m && o + 1 < cap; m++)
            out[o++] = *m;
        p = at; /* continues with "@host..." */
    }
    out[o] = '\0';
}

static void when_now(char *out, size_t cap)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, cap - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

void log_fields(enum log_level lvl, const char *msg, json_t *fields)
{
    static const char *const names[] = {"DEBUG", "INFO", "WARNING", "ERROR"};
    if (lvl < L.level) {
        json_decref(fields);
        return;
    }
    char when[40];
    when_now(when, sizeof when);
    char *text = NULL;
    if (L.json) {
        json_t *line = json_object();
        json_object_set_new(line, "ts", json_string(when));
        json_object_set_new(line, "level", json_string(names[lvl]));
        json_object_set_new(line, "msg", json_string(msg ? msg : ""));
        if (thread_run_id)
            json_object_set_new(line, "run_id", json_integer((json_int_t)thread_run_id));
        if (fields && json_is_object(fields))
            json_object_update_missing(line, fields);
        text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(line);
    } else {
        char *ctx = fields && json_object_size(fields)
                        ? json_dumps(fields, JSON_COMPACT | JSON_PRESERVE_ORDER)
                        : NULL;
        char rid[40] = "";
        if (thread_run_id)
            snprintf(rid, sizeof rid, " run_id=%llu", (unsigned long long)thread_run_id);
        size_t n = strlen(when) + strlen(msg ? msg : "") + (ctx ? strlen(ctx) : 0) + 80;
        text = malloc(n);
        if (text)
            snprintf(text, n, "%s %-7s %s%s%s%s", when, names[lvl], msg ? msg : "", rid,
                     ctx ? " " : "", ctx ? ctx : "");
        free(ctx);
    }
    json_decref(fields);
    if (!text)
        return;
    size_t cap = strlen(text) + 8; /* masking may lengthen a one-letter password */
    char *safe = malloc(cap * 2);
    if (safe)
        log_redact(text, safe, cap * 2);
    pthread_mutex_lock(&L.mu);
    FILE *f = L.f ? L.f : stderr;
    fputs(safe ? safe : "(log line dropped: out of memory)", f);
    fputc('\n', f);
    fflush(f);
    rotate_locked();
    pthread_mutex_unlock(&L.mu);
    free(safe);
    free(text);
}

void log_event(enum log_level lvl, const char *msg, const char *fields_fmt, ...)
{
    if (lvl < L.level)
        return;
    json_t *fields = NULL;
    if (fields_fmt) {
        char body[2048];
        va_list ap;
        va_start(ap, fields_fmt);
        vsnprintf(body, sizeof body, fields_fmt, ap);
        va_end(ap);
        size_t n = strlen(body) + 3;
        char *obj = malloc(n);
        if (obj) {
            snprintf(obj, n, "{%s}", body);
            fields = json_loads(obj, 0, NULL);
            free(obj);
        }
        if (!fields) /* a caller's malformed context still reaches the log, as text */
            fields = json_pack("{s:s}", "context", body);
    }
    log_fields(lvl, msg, fields);
}
