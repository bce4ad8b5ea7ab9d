#ifndef DHG_UTIL_LOG_H
#define DHG_UTIL_LOG_H

#include <stdio.h>

/*
 * Structured logging: one JSON object per line (or logfmt-like text), with
 * key/value fields. The macros test the level before evaluating any argument
 * (Redis serverLog). Thread-safe: a line is written with one locked fwrite.
 *
 *   DHG_LOG_INFO("reconciled", "namespace", ns, "name", name, "result", "ok");
 *
 * Fields are NULL-terminated string pairs (the macro adds the NULL). Values are
 * written as JSON strings; never pass credentials.
 */

enum dhg_log_level { DHG_LOG_DEBUG = 0, DHG_LOG_INFO = 1, DHG_LOG_WARN = 2, DHG_LOG_ERROR = 3 };
enum dhg_log_format { DHG_LOG_FORMAT_JSON = 0, DHG_LOG_FORMAT_TEXT = 1 };

extern int dhg_log__min_level;

/* Configure once at start-up (not thread-safe). `out` NULL means stderr. */
void dhg_log_configure(int min_level, int format, FILE *out);
/* "debug" | "info" | "warn" | "error" -> level; -1 when unknown. */
int dhg_log_level_parse(const char *s);

void dhg_log__write(int level, const char *msg, ...);

#define DHG_LOG(level, msg, ...) \
	do { if ((level) >= dhg_log__min_level) dhg_log__write((level), (msg), ##__VA_ARGS__, (const char *)0); } while (0)
#define DHG_LOG_DEBUG(msg, ...) DHG_LOG(DHG_LOG_DEBUG, msg, ##__VA_ARGS__)
#define DHG_LOG_INFO(msg, ...)  DHG_LOG(DHG_LOG_INFO, msg, ##__VA_ARGS__)
#define DHG_LOG_WARN(msg, ...)  DHG_LOG(DHG_LOG_WARN, msg, ##__VA_ARGS__)
#define DHG_LOG_ERROR(msg, ...) DHG_LOG(DHG_LOG_ERROR, msg, ##__VA_ARGS__)

#endif
