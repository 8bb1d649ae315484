/*
 * log.h: the recorder's log.  One line per state change, to stderr, text
 * ("2026-11-26T13:31:20.123Z warn: ...") or JSON lines.  The functions
 * keep errno, so a caller can log and then still report it.  Secrets never
 * reach these functions: callers pass endpoints and user names, never
 * passwords or tokens.
 */
#ifndef HS_LOG_H
#define HS_LOG_H

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* verbosity: LOG_INFO by default, LOG_DEBUG with -v.  json: JSON lines. */
void log_setup(enum log_level verbosity, int json);

void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
