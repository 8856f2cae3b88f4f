/* FalkorDB replies, the pure part (see reply.h). No I/O; fdb.c and the sync layer use them. */
#include "falkor/reply.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

static bool has_prefix(const char *msg, size_t len, const char *p)
{
    size_t n = strlen(p);
    return len >= n && memcmp(msg, p, n) == 0;
}

static bool contains(const char *msg, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; n <= len && i <= len - n; i++)
        if (memcmp(msg + i, needle, n) == 0)
            return true;
    return false;
}

int fdb_classify_error(const char *msg, size_t len)
{
    static const struct {
        const char *text;
        bool prefix; /* else anywhere in the message */
        int code;
    } rules[] = {
        /* Redis' own error prefixes first: they name the class exactly. */
        {"NOPERM", true, FS_EFDB_NOPERM},
        {"OOM ", true, FS_EFDB_OOM},
        {"READONLY", true, FS_EFDB_READONLY},
        {"WRONGTYPE", true, FS_EFDB_WRONGTYPE},
        {"NOAUTH", true, FS_EAUTH},
        {"WRONGPASS", true, FS_EAUTH},
        {"unknown command", false, FS_EFDB_UNKNOWN_COMMAND},
        /* FalkorDB: "ERR Invalid graph operation on empty key" */
        {"empty key", false, FS_EFDB_NOGRAPH},
        {"does not exist", false, FS_EFDB_NOGRAPH},
        /* FalkorDB: "Attribute 'x' is already indexed", "... already exists" */
        {"already", false, FS_EFDB_EXISTS},
    };
    if (!msg)
        return FS_ESERVER;
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (rules[i].prefix ? has_prefix(msg, len, rules[i].text)
                            : contains(msg, len, rules[i].text))
            return rules[i].code;
    return FS_ESERVER;
}

int fdb_reply_errclass(const redisReply *r)
{
    if (!r)
        return 0;
    if (r->type == REDIS_REPLY_ERROR)
        return fdb_classify_error(r->str, r->len);
    if (r->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i < r->elements; i++)
            if (r->element[i] && r->element[i]->type == REDIS_REPLY_ERROR)
                return fdb_classify_error(r->element[i]->str, r->element[i]->len);
    return 0;
}

int fdb_reply_error(const redisReply *r, char *errstr, size_t errlen)
{
    if (!r)
        return 0;
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(errstr, errlen, "%.*s", (int)r->len, r->str);
        return FS_ESERVER;
    }
    if (r->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i < r->elements; i++)
            if (r->element[i] && r->element[i]->type == REDIS_REPLY_ERROR) {
                snprintf(errstr, errlen, "%.*s", (int)r->element[i]->len, r->element[i]->str);
                return FS_ESERVER;
            }
    return 0;
}

long long fdb_info_field(const char *info, const char *name)
{
    size_t n = strlen(name);
    for (const char *line = info; line && *line;) {
        if (!strncmp(line, name, n) && line[n] == ':')
            return strtoll(line + n + 1, NULL, 10);
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    return -1;
}
