/* FalkorDB replies, the pure part: error classes, errors inside results, INFO fields. */
#ifndef FALKORSYNC_FDB_REPLY_H
#define FALKORSYNC_FDB_REPLY_H

#include <stddef.h>

#include <hiredis.h>

/* Classifies the text of a FalkorDB/Redis error reply (msg, len bytes; need
 * not be NUL-terminated). Pure and thread-safe. Returns:
 *   FS_EFDB_NOGRAPH          "... empty key" or "... does not exist" (the graph key is absent)
 *   FS_EFDB_EXISTS           "... already ..." (index or constraint already there)
 *   FS_EFDB_NOPERM           "NOPERM ..." (ACL)
 *   FS_EFDB_UNKNOWN_COMMAND  "... unknown command ..." (e.g. no GRAPH.BULK)
 *   FS_EFDB_OOM              "OOM ..." (maxmemory reached)
 *   FS_EFDB_READONLY         "READONLY ..." (a replica)
 *   FS_EFDB_WRONGTYPE        "WRONGTYPE ..." (the key is not a graph)
 *   FS_EAUTH                 "NOAUTH ..." or "WRONGPASS ..."
 *   FS_ESERVER               anything else (query errors, ...). */
int fdb_classify_error(const char *msg, size_t len);
/* The class (fdb_classify_error) of the error in a reply: a top-level error
 * reply or an error element inside a GRAPH.QUERY result; 0 when r holds no
 * error. Pure and thread-safe. */
int fdb_reply_errclass(const redisReply *r);

/* Checks a GRAPH.QUERY reply for an error: a top-level error reply or an
 * error element inside the result. Returns 0 or FS_ESERVER with the message
 * copied to errstr (errlen bytes). */
int fdb_reply_error(const redisReply *r, char *errstr, size_t errlen);

/* The value of one "name:value" line of an INFO reply (text); -1 when absent. Pure. */
long long fdb_info_field(const char *info, const char *name);

#endif
