#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local dhg_error last;

const dhg_error *dhg_error_last(void)
{
	return &last;
}

static void one_line(char *s)
{
	for (; *s; s++)
		if (*s == '\n' || *s == '\r')
			*s = ' ';
}

static int vset(int code, int status, const char *reason, const char *fmt, va_list ap)
{
	dhg_error e;

	memset(&e, 0, sizeof(e));
	e.code = code;
	e.http_status = status;
	if (reason)
		snprintf(e.reason, sizeof(e.reason), "%s", reason);
	vsnprintf(e.message, sizeof(e.message), fmt, ap);
	one_line(e.message);
	last = e;
	return code;
}

int dhg_error_set(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vset(code, 0, NULL, fmt, ap);
	va_end(ap);
	return code;
}

int dhg_error_set_http(int code, int http_status, const char *reason, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vset(code, http_status, reason, fmt, ap);
	va_end(ap);
	return code;
}

int dhg_error_wrap(const char *fmt, ...)
{
	char prefix[512], msg[sizeof(last.message)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	if (last.code == 0)
		last.code = DHG_ERROR;
	snprintf(msg, sizeof(msg), "%s: %s", prefix, last.message);
	one_line(msg);
	memcpy(last.message, msg, sizeof(msg));
	return last.code;
}

void dhg_error_restore(const dhg_error *e)
{
	if (e)
		last = *e;
}

void dhg_error_clear(void)
{
	memset(&last, 0, sizeof(last));
}

const char *dhg_error_name(int code)
{
	switch (code) {
	case DHG_OK: return "OK";
	case DHG_ENOTFOUND: return "NotFound";
	case DHG_ECONFLICT: return "Conflict";
	case DHG_EGONE: return "Gone";
	case DHG_EINVALID: return "Invalid";
	case DHG_ETIMEOUT: return "Timeout";
	case DHG_ETERMINAL: return "Terminal";
	case DHG_EFORBIDDEN: return "Forbidden";
	case DHG_EUNAUTHORIZED: return "Unauthorized";
	case DHG_ENOMEM: return "OutOfMemory";
	case DHG_EEXISTS: return "AlreadyExists";
	case DHG_ETOOBIG: return "TooBig";
	case DHG_EUNAVAILABLE: return "Unavailable";
	default: return "Error";
	}
}

int dhg_error_code_for_http(long status, const char *reason)
{
	switch (status) {
	case 400:
	case 422:
		return DHG_EINVALID;
	case 401:
		return DHG_EUNAUTHORIZED;
	case 403:
		return DHG_EFORBIDDEN;
	case 404:
		return DHG_ENOTFOUND;
	case 409:
		return reason && strcmp(reason, "AlreadyExists") == 0 ? DHG_EEXISTS : DHG_ECONFLICT;
	case 410:
		return DHG_EGONE;
	case 429:
		return DHG_EUNAVAILABLE;
	case 504:
		return DHG_ETIMEOUT;
	default:
		return status >= 500 ? DHG_EUNAVAILABLE : DHG_ERROR;
	}
}

const char *dhg_error_reason_for_http(long status)
{
	switch (status) {
	case 400: return "BadRequest";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "NotFound";
	case 409: return "Conflict";
	case 410: return "Expired";
	case 422: return "Invalid";
	case 429: return "TooManyRequests";
	case 504: return "Timeout";
	default: return status >= 500 ? "InternalError" : "Unknown";
	}
}
