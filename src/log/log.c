/* JSON-lines logger with size-based rotation; a mutex keeps lines whole across threads. */
#include "log/log.h"

#include <pthread.h>
#include <stdarg.h>
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

static FILE *open_log(const char *path)
{
    return fopen(path, "a");
}

int log_setup(const char *level, int json, const char *path, size_t max_bytes, int backups)
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
        L.path = strdup(path);
        L.f = L.path ? open_log(path) : NULL;
        if (!L.f)
            rc = FS_EIO;
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

void log_json_escape(char *out, size_t cap, const char *s)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p && o + 7 < cap; p++) {
        if (*p == '"' || *p == '\\') {
            out[o++] = '\\';
            out[o++] = (char)*p;
        } else if (*p < 0x20) {
            o += (size_t)snprintf(out + o, cap - o, "\\u%04x", *p);
        } else {
            out[o++] = (char)*p;
        }
    }
    out[o] = '\0';
}

void log_write(enum log_level lvl, const char *msg, const char *fields)
{
    static const char *const names[] = {"DEBUG", "INFO", "WARNING", "ERROR"};
    if (lvl < L.level)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[40];
    size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof when - n, ".%03ldZ", ts.tv_nsec / 1000000);
    char emsg[1024];
    log_json_escape(emsg, sizeof emsg, msg);
    pthread_mutex_lock(&L.mu);
    FILE *f = L.f ? L.f : stderr;
    if (L.json)
        fprintf(f, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"%s\"%s%s}\n", when, names[lvl], emsg,
                fields && *fields ? "," : "", fields ? fields : "");
    else
        fprintf(f, "%s %-7s %s%s%s\n", when, names[lvl], msg, fields && *fields ? " " : "",
                fields ? fields : "");
    fflush(f);
    rotate_locked();
    pthread_mutex_unlock(&L.mu);
}

void log_event(enum log_level lvl, const char *msg, const char *fields_fmt, ...)
{
    if (lvl < L.level)
        return;
    char fields[2048] = "";
    if (fields_fmt) {
        va_list ap;
        va_start(ap, fields_fmt);
        vsnprintf(fields, sizeof fields, fields_fmt, ap);
        va_end(ap);
    }
    log_write(lvl, msg, fields);
}
