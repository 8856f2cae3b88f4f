/* Logger: JSON lines (ts, level, msg, run_id, context) or plain text, to stderr or a size-rotated
 * file; every line passes through one credential filter. */
#ifndef FALKORSYNC_LOG_H
#define FALKORSYNC_LOG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util/err.h"

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARNING, LOG_ERROR };

/* Configures the process-wide logger (one of the two allowed globals, with the
 * level). path NULL/"" logs to stderr. Missing folders of path are created
 * (mode 0750). Rotation at max_bytes keeps backups files
 * path.1 .. path.N. Returns 0, or FS_EIO when path cannot be opened: the logger
 * then writes to stderr and why[] (whylen bytes, may be NULL) says why. */
int log_setup(const char *level, int json, const char *path, size_t max_bytes, int backups,
              char *why, size_t whylen) FS_WARN_UNUSED;
/* Reopens the log file (SIGHUP). Thread-safe. */
void log_reopen(void);
/* Parses "DEBUG".."ERROR"; INFO when unknown. */
enum log_level log_level_parse(const char *s);

/* Writes one line with the context in fields (a JSON object; takes ownership,
 * may be NULL). Adds "run_id" when the calling thread is inside a run
 * (log_set_run_id). Thread-safe. */
void log_fields(enum log_level lvl, const char *msg, json_t *fields);
/* Writes one line; fields_fmt formats the body of a JSON object, e.g.
 * "\"mode\":\"%s\",\"count\":%d" (may be NULL). Kept for callers that format
 * their context; new code should build a json_t and call log_fields. */
void log_event(enum log_level lvl, const char *msg, const char *fields_fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The run the calling thread works for (0: none): every line it logs carries
 * "run_id" until it is set to 0. Thread-local. */
void log_set_run_id(uint64_t run_id);
uint64_t log_run_id(void);

/* Copies in to out (cap bytes, always terminated) with the password of every
 * URI's user info masked: "bolt://neo4j:secret@h:7687" -> "bolt://neo4j:***@h:7687".
 * in and out must not overlap. Thread-safe. */
void log_redact(const char *in, char *out, size_t cap);

#endif
