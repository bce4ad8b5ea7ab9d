#define _GNU_SOURCE
#include "util/log.h"
#include "util/buf.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

int dhg_log__min_level = DHG_LOG_INFO;
static int log_format = DHG_LOG_FORMAT_JSON;
static FILE *log_out;

static const char *level_names[] = { "debug", "info", "warn", "error" };

void dhg_log_configure(int min_level, int format, FILE *out)
{
	dhg_log__min_level = min_level;
	log_format = format;
	log_out = out;
}

int dhg_log_level_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	if (strcmp(s, "warning") == 0)
		return DHG_LOG_WARN;
	return -1;
}

static void put_json_string(dhg_buf *b, const char *s)
{
	dhg_buf_putc(b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '"': dhg_buf_puts(b, "\\\""); break;
		case '\\': dhg_buf_puts(b, "\\\\"); break;
		case '\n': dhg_buf_puts(b, "\\n"); break;
		case '\r': dhg_buf_puts(b, "\\r"); break;
		case '\t': dhg_buf_puts(b, "\\t"); break;
		default:
			if (c < 0x20)
				dhg_buf_printf(b, "\\u%04x", c);
			else
				dhg_buf_putc(b, (char)c);
		}
	}
	dhg_buf_putc(b, '"');
}

static void put_text_value(dhg_buf *b, const char *s)
{
	if (*s && !strpbrk(s, " \t\n\"=")) {
		dhg_buf_puts(b, s);
		return;
	}
	put_json_string(b, s);
}

void dhg_log__write(int level, const char *msg, ...)
{
	dhg_buf b = DHG_BUF_INIT(64 * 1024);
	struct timespec ts;
	struct tm tm;
	char when[40];
	const char *k, *v;
	va_list ap;
	FILE *out = log_out ? log_out : stderr;

	if (level < 0 || level > 3)
		level = DHG_LOG_ERROR;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);

	if (log_format == DHG_LOG_FORMAT_JSON) {
		dhg_buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":", when, level_names[level]);
		put_json_string(&b, msg);
	} else {
		dhg_buf_printf(&b, "%s %-5s %s", when, level_names[level], msg);
	}
	va_start(ap, msg);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		if (!v)
			v = "";
		if (log_format == DHG_LOG_FORMAT_JSON) {
			dhg_buf_putc(&b, ',');
			put_json_string(&b, k);
			dhg_buf_putc(&b, ':');
			put_json_string(&b, v);
		} else {
			dhg_buf_printf(&b, " %s=", k);
			put_text_value(&b, v);
		}
	}
	va_end(ap);
	if (log_format == DHG_LOG_FORMAT_JSON)
		dhg_buf_putc(&b, '}');
	dhg_buf_putc(&b, '\n');
	if (b.ptr) {
		flockfile(out);
		fwrite(b.ptr, 1, b.len, out);
		fflush(out);
		funlockfile(out);
	}
	dhg_buf_dispose(&b);
}
