#include "util/str.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/hash.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

char *dhg_strdup(const char *s)
{
	return dhg_strndup(s, strlen(s));
}

char *dhg_strndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (!p) {
		dhg_error_set(DHG_ENOMEM, "out of memory");
		return NULL;
	}
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *dhg_asprintf(const char *fmt, ...)
{
	va_list ap;
	int n;
	char *p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !(p = malloc((size_t)n + 1))) {
		dhg_error_set(DHG_ENOMEM, "out of memory");
		return NULL;
	}
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

bool dhg_str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool dhg_str_has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

static bool label_valid(const char *s, size_t n)
{
	if (n == 0 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alnum && !(c == '-' && i > 0 && i < n - 1))
			return false;
	}
	return true;
}

bool dhg_dns1123_label_valid(const char *s)
{
	return s && label_valid(s, strlen(s));
}

bool dhg_dns1123_subdomain_valid(const char *s)
{
	size_t n;
	const char *dot;

	if (!s || (n = strlen(s)) == 0 || n > 253)
		return false;
	while ((dot = strchr(s, '.')) != NULL) {
		if (!label_valid(s, (size_t)(dot - s)))
			return false;
		s = dot + 1;
	}
	return label_valid(s, strlen(s));
}

static bool numeric_id(const char *s, size_t n)
{
	if (n == 0 || (n > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static bool ident_list(const char *s, size_t n, bool prerelease)
{
	size_t start = 0;

	if (n == 0)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			size_t len = i - start;
			bool all_digits = true;
			if (len == 0)
				return false;
			for (size_t j = start; j < i; j++) {
				char c = s[j];
				if (!isalnum((unsigned char)c) && c != '-')
					return false;
				if (!isdigit((unsigned char)c))
					all_digits = false;
			}
			if (prerelease && all_digits && !numeric_id(s + start, len))
				return false;
			start = i + 1;
		}
	}
	return true;
}

bool dhg_semver_valid(const char *s)
{
	const char *p = s, *end;
	size_t n;

	if (!s)
		return false;
	for (int part = 0; part < 3; part++) {
		n = strspn(p, "0123456789");
		if (!numeric_id(p, n))
			return false;
		p += n;
		if (part < 2) {
			if (*p != '.')
				return false;
			p++;
		}
	}
	if (*p == '-') {
		p++;
		end = strchr(p, '+');
		n = end ? (size_t)(end - p) : strlen(p);
		if (!ident_list(p, n, true))
			return false;
		p += n;
	}
	if (*p == '+') {
		p++;
		if (!ident_list(p, strlen(p), false))
			return false;
		p += strlen(p);
	}
	return *p == '\0';
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

size_t dhg_utf8_scan(const char *str, size_t n, int nul_ok)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		size_t need, k;
		unsigned cp;
		unsigned char b;
		if (n - i >= 8) {
			uint64_t w;
			memcpy(&w, s + i, 8);
			if (!(w & HIGHS) && (nul_ok || !((w - ONES) & ~w & HIGHS))) { /* 8 ASCII bytes (no NUL) */
				i += 8;
				continue;
			}
		}
		b = s[i];
		if (b < 0x80) {
			if (!b && !nul_ok)
				return i;
			i++;
			continue;
		}
		if (b >= 0xC2 && b <= 0xDF)
			need = 1, cp = b & 0x1F;
		else if (b >= 0xE0 && b <= 0xEF)
			need = 2, cp = b & 0x0F;
		else if (b >= 0xF0 && b <= 0xF4)
			need = 3, cp = b & 0x07;
		else
			return i;
		if (n - i <= need) /* truncated sequence */
			return i;
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return i;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((need == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
		    (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
			return i;
		i += need + 1;
	}
	return n;
}

int dhg_parse_long(long *out, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	if (!s || !*s)
		return dhg_error_set(DHG_EINVALID, "empty number");
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return dhg_error_set(DHG_EINVALID, "'%s' is not a whole number from %ld to %ld", s, min, max);
	*out = v;
	return 0;
}

int dhg_parse_duration_ms(long long *out, const char *s)
{
	const char *p = s;
	double total = 0;
	int parts = 0;

	if (!s || !*s)
		return dhg_error_set(DHG_EINVALID, "empty duration");
	if (strcmp(s, "0") == 0) {
		*out = 0;
		return 0;
	}
	while (*p) {
		char *end;
		double v;
		double mult;

		errno = 0;
		if (!isdigit((unsigned char)*p) && *p != '.')
			goto bad;
		v = strtod(p, &end);
		if (errno || end == p)
			goto bad;
		p = end;
		if (strncmp(p, "ms", 2) == 0) { mult = 1; p += 2; }
		else if (*p == 's') { mult = 1000; p++; }
		else if (*p == 'm') { mult = 60000; p++; }
		else if (*p == 'h') { mult = 3600000; p++; }
		else goto bad;
		total += v * mult;
		parts++;
	}
	if (parts == 0 || total > 9.0e15)
		goto bad;
	*out = (long long)total;
	return 0;
bad:
	return dhg_error_set(DHG_EINVALID, "'%s' is not a duration (examples: 500ms, 10s, 1m30s, 2h)", s);
}

char *dhg_url_redact(const char *url)
{
	const char *scheme = strstr(url, "://");
	const char *host = scheme ? scheme + 3 : url;
	const char *at, *slash, *cut;
	dhg_buf b = DHG_BUF_INIT(0);
	char *out;

	slash = host + strcspn(host, "/?#");
	at = NULL;
	for (const char *p = host; p < slash; p++)
		if (*p == '@')
			at = p;
	if (at) {
		dhg_buf_put(&b, url, (size_t)(host - url));
		host = at + 1;
	} else {
		dhg_buf_put(&b, url, (size_t)(host - url));
	}
	cut = host + strcspn(host, "?#");
	if (dhg_buf_put(&b, host, (size_t)(cut - host)) < 0) {
		dhg_buf_dispose(&b);
		return NULL;
	}
	out = dhg_buf_detach(&b, NULL);
	if (!out)
		dhg_error_set(DHG_ENOMEM, "out of memory");
	return out;
}

char *dhg_str_redact_secrets(char *s, const char *const *secrets)
{
	if (!s || !secrets)
		return s;
	for (; *secrets; secrets++) {
		size_t n = strlen(*secrets);
		char *hit;
		if (n == 0)
			continue;
		while ((hit = strstr(s, *secrets)) != NULL) {
			size_t rest = strlen(hit + n);
			if (n >= 3) {
				memcpy(hit, "***", 3);
				memmove(hit + 3, hit + n, rest + 1);
			} else {
				memset(hit, '*', n);
			}
		}
	}
	return s;
}

int dhg_random_hex(char *out, size_t n)
{
	unsigned char raw[32];
	FILE *f;

	if (n > sizeof(raw))
		n = sizeof(raw);
	f = fopen("/dev/urandom", "rb");
	if (!f || fread(raw, 1, n, f) != n) {
		if (f)
			fclose(f);
		return dhg_error_set(DHG_ERROR, "cannot read /dev/urandom");
	}
	fclose(f);
	dhg_hex_encode(out, raw, n);
	return 0;
}
