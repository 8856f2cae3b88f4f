/* Logger: JSON lines (ts, level, msg, context) or plain text, to stderr or a size-rotated file. */
#ifndef FALKORSYNC_LOG_H
#define FALKORSYNC_LOG_H

#include <stddef.h>

#include "util/err.h"

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARNING, LOG_ERROR };

/* Configures the process-wide logger (one of the two allowed globals, with the
 * level). path NULL/"" logs to stderr. Rotation at max_bytes keeps backups
 * files path.1 .. path.N. Returns 0 or FS_EIO (cannot open path). */
int log_setup(const char *level, int json, const char *path, size_t max_bytes,
              int backups) FS_WARN_UNUSED;
/* Reopens the log file (SIGHUP). Thread-safe. */
void log_reopen(void);
/* Parses "DEBUG".."ERROR"; INFO when unknown. */
enum log_level log_level_parse(const char *s);
/* Writes one line. fields is a JSON object body without braces, e.g.
 * "\"mode\":\"full\",\"count\":3" (may be NULL); text format prints it as is.
 * Thread-safe. */
void log_write(enum log_level lvl, const char *msg, const char *fields);
/* printf-style fields. */
void log_event(enum log_level lvl, const char *msg, const char *fields_fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Appends s to out as a JSON string body (escaped, no quotes); out has cap bytes. */
void log_json_escape(char *out, size_t cap, const char *s);

#endif
