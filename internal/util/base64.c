#include "util/base64.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

/* Value of one base64 character under `flags`, or -1. */
static int b64val(int c, unsigned flags)
{
	int std = !(flags & DHG_BASE64_URL) || (flags & DHG_BASE64_ANY);
	int url = (flags & (DHG_BASE64_URL | DHG_BASE64_ANY)) != 0;

	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if ((c == '+' && std) || (c == '-' && url))
		return 62;
	if ((c == '/' && std) || (c == '_' && url))
		return 63;
	return -1;
}

static int skipped(int c, unsigned flags)
{
	return c == '\n' || c == '\r' || ((flags & DHG_BASE64_SPACES) && (c == ' ' || c == '\t'));
}

int dhg_base64_decode(char **out, size_t *outlen, const char *in, size_t len, unsigned flags, size_t max,
		      const char *what)
{
	char *buf;
	size_t alloc = len / 4 * 3 + 3, n = 0, pad = 0;
	unsigned acc = 0;
	int bits = 0, error = 0;

	*out = NULL;
	if (outlen)
		*outlen = 0;
	if (!what)
		what = "base64 value";
	if (alloc > max)
		alloc = max;
	if (!(buf = malloc(alloc + 1)))
		return dhg_error_set(DHG_ENOMEM, "%s: out of memory", what);
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)in[i], v;
		if (skipped(c, flags))
			continue;
		if (c == '=') {
			if (++pad > 2) {
				error = dhg_error_set(DHG_EINVALID, "%s: not valid base64", what);
				goto done;
			}
			continue;
		}
		if (pad || (v = b64val(c, flags)) < 0) {
			error = dhg_error_set(DHG_EINVALID, "%s: not valid base64", what);
			goto done;
		}
		acc = ((acc << 6) | (unsigned)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= max) {
				error = dhg_error_set(DHG_ETOOBIG, "%s: decoded value is larger than %zu bytes", what,
						      max);
				goto done;
			}
			buf[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	if (bits >= 6) {
		error = dhg_error_set(DHG_EINVALID, "%s: not valid base64 (truncated)", what);
		goto done;
	}
	buf[n] = '\0';
	*out = buf;
	if (outlen)
		*outlen = n;
	buf = NULL;
done:
	if (buf) {
		explicit_bzero(buf, n);
		free(buf);
	}
	return error;
}

int dhg_base64_encode(char **out, size_t *outlen, const void *in, size_t len, unsigned flags)
{
	const char *tbl = flags & DHG_BASE64_URL ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
						 : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *s = in;
	int pad = !(flags & DHG_BASE64_NOPAD);
	char *buf, *p;

	*out = NULL;
	if (outlen)
		*outlen = 0;
	if (len > (SIZE_MAX - 1) / 4 * 3 - 2)
		return dhg_error_set(DHG_ETOOBIG, "base64: input of %zu bytes is too large to encode", len);
	if (!(buf = malloc((len + 2) / 3 * 4 + 1)))
		return dhg_error_set(DHG_ENOMEM, "base64: out of memory");
	p = buf;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)s[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)s[i + 1] << 8;
		if (i + 2 < len)
			v |= s[i + 2];
		*p++ = tbl[(v >> 18) & 63];
		*p++ = tbl[(v >> 12) & 63];
		if (i + 1 < len)
			*p++ = tbl[(v >> 6) & 63];
		else if (pad)
			*p++ = '=';
		if (i + 2 < len)
			*p++ = tbl[v & 63];
		else if (pad)
			*p++ = '=';
	}
	*p = '\0';
	*out = buf;
	if (outlen)
		*outlen = (size_t)(p - buf);
	return 0;
}
