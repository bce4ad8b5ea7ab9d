/* Pure parts of the git writer: messages, path rules, credential Secret parsing, known_hosts. */
#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/git/gitout_internal.h"
#include "util/base64.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/hash.h"
#include "util/str.h"

int gitout_message_format(char **out, const char *name, const char *version, const char *source_desc,
			  size_t resource_count, const char *digest)
{
	*out = dhg_asprintf("Update chart %s to %s\n\nSource: %s\nResources: %zu\nContent digest: %s\n",
			    name && *name ? name : "(unnamed)", version && *version ? version : "(unversioned)",
			    source_desc && *source_desc ? source_desc : "(not given)", resource_count,
			    digest && *digest ? digest : "(none)");
	return *out ? 0 : DHG_ENOMEM;
}

int gitout_path_validate(const char *path, const char *what)
{
	size_t len;
	const char *p, *seg;

	if (!path || !*path)
		return dhg_error_set(DHG_EINVALID, "%s: empty path", what);
	len = strlen(path);
	if (len > 1023)
		return dhg_error_set(DHG_EINVALID, "%s: path longer than 1023 bytes", what);
	if (path[0] == '/')
		return dhg_error_set(DHG_EINVALID, "%s: path %s must be relative", what, path);
	for (p = path; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == '\\' || *p == 0x7f)
			return dhg_error_set(DHG_EINVALID, "%s: path %s has a control character or backslash",
					     what, path);
	seg = path;
	for (;;) {
		const char *end = strchr(seg, '/');
		size_t n = end ? (size_t)(end - seg) : strlen(seg);
		if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return dhg_error_set(DHG_EINVALID, "%s: path %s has an empty, '.' or '..' component", what,
					     path);
		if (n == 4 && strncasecmp(seg, ".git", 4) == 0)
			return dhg_error_set(DHG_EINVALID, "%s: path %s has a .git component", what, path);
		if (!end)
			break;
		seg = end + 1;
	}
	return 0;
}

int gitout_path_affected(const char *entry, const char *path)
{
	size_t el = strlen(entry), pl = strlen(path);

	/* entry == path, or entry inside path/ */
	if (strncmp(entry, path, pl) == 0 && (entry[pl] == '\0' || entry[pl] == '/'))
		return 1;
	/* entry is a parent of path (a file standing where a directory must go) */
	if (el < pl && strncmp(entry, path, el) == 0 && path[el] == '/')
		return 1;
	return 0;
}

/* ---- the credentials Secret ------------------------------------------------------------ */

static void secret_free(char **p)
{
	if (*p) {
		explicit_bzero(*p, strlen(*p));
		free(*p);
		*p = NULL;
	}
}

void gitout_credentials_dispose(gitout_credentials *c)
{
	if (!c)
		return;
	secret_free(&c->username);
	secret_free(&c->password);
	secret_free(&c->identity);
	secret_free(&c->known_hosts);
	secret_free(&c->ca_pem);
}

int gitout_credentials_from_secret(gitout_credentials *out, const json_t *data)
{
	static const char *const keys[] = { "username", "password", "identity", "known_hosts", "ca.crt" };
	char **slots[] = { &out->username, &out->password, &out->identity, &out->known_hosts, &out->ca_pem };
	int error = 0;
	size_t i;

	if (!json_is_object(data))
		return dhg_error_set(DHG_EINVALID, "credentials Secret: data is not an object");
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const json_t *v = json_object_get(data, keys[i]);
		const char *s;
		size_t len;
		int rc;
		if (!v || json_is_null(v))
			continue;
		if (!json_is_string(v)) {
			error = dhg_error_set(DHG_EINVALID, "credentials Secret: data.%s is not a string", keys[i]);
			goto done;
		}
		s = json_string_value(v);
		rc = dhg_base64_decode(slots[i], &len, s, json_string_length(v), 0, GITOUT_MAX_SECRET_BYTES, NULL);
		if (rc == DHG_ENOMEM) {
			error = dhg_error_set(DHG_ENOMEM, "credentials Secret: out of memory");
			goto done;
		}
		if (rc == DHG_ETOOBIG) {
			error = dhg_error_set(DHG_EINVALID, "credentials Secret: data.%s is larger than %zu bytes",
					      keys[i], GITOUT_MAX_SECRET_BYTES);
			goto done;
		}
		if (rc < 0) {
			error = dhg_error_set(DHG_EINVALID, "credentials Secret: data.%s is not valid base64", keys[i]);
			goto done;
		}
		if (strlen(*slots[i]) != len) {
			error = dhg_error_set(DHG_EINVALID, "credentials Secret: data.%s contains a NUL byte", keys[i]);
			goto done;
		}
		if (i < 2) { /* username / password: one line, trailing newline trimmed (echo | base64) */
			char *e = *slots[i] + len;
			while (e > *slots[i] && (e[-1] == '\n' || e[-1] == '\r'))
				*--e = '\0';
			if (strpbrk(*slots[i], "\r\n")) {
				error = dhg_error_set(DHG_EINVALID, "credentials Secret: data.%s has a line break",
						      keys[i]);
				goto done;
			}
		}
	}
done:
	if (error < 0)
		gitout_credentials_dispose(out);
	return error;
}

/* ---- URLs ----------------------------------------------------------------------------------- */

int gitout__url_host_port(char *host, size_t hostsize, int *port, const char *url)
{
	const char *p = strstr(url, "://"), *h, *end, *at, *colon;
	size_t n;

	*port = 0;
	if (p) {
		h = p + 3;
		end = h + strcspn(h, "/?#");
		at = memchr(h, '@', (size_t)(end - h));
		if (at) {
			/* the last '@' before the path */
			const char *q;
			for (q = at; q < end; q++)
				if (*q == '@')
					at = q;
			h = at + 1;
		}
		if (*h == '[') { /* [ipv6]:port */
			const char *rb = memchr(h, ']', (size_t)(end - h));
			if (!rb)
				return DHG_EINVALID;
			n = (size_t)(rb - h - 1);
			if (n + 1 > hostsize)
				return DHG_EINVALID;
			memcpy(host, h + 1, n);
			host[n] = '\0';
			colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
		} else {
			colon = memchr(h, ':', (size_t)(end - h));
			n = (size_t)((colon ? colon : end) - h);
			if (n + 1 > hostsize || n == 0)
				return DHG_EINVALID;
			memcpy(host, h, n);
			host[n] = '\0';
		}
		if (colon) {
			long v = 0;
			const char *d;
			for (d = colon + 1; d < end; d++) {
				if (!isdigit((unsigned char)*d) || v > 65535)
					return DHG_EINVALID;
				v = v * 10 + (*d - '0');
			}
			if (v > 65535)
				return DHG_EINVALID;
			*port = (int)v;
		}
		return 0;
	}
	/* scp-like user@host:path */
	colon = strchr(url, ':');
	if (!colon)
		return DHG_EINVALID;
	at = memchr(url, '@', (size_t)(colon - url));
	h = at ? at + 1 : url;
	n = (size_t)(colon - h);
	if (n == 0 || n + 1 > hostsize)
		return DHG_EINVALID;
	memcpy(host, h, n);
	host[n] = '\0';
	return 0;
}

/* ---- known_hosts ---------------------------------------------------------------------------- */

static int hashed_host_match(const char *pattern, size_t plen, const char *name)
{
	/* |1|base64(salt)|base64(HMAC-SHA1(salt, name)) */
	char tmp[512], *salt = NULL, *want = NULL;
	const char *sep;
	size_t saltlen, wantlen;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	int match = 0;

	if (plen < 4 || plen >= sizeof(tmp) || memcmp(pattern, "|1|", 3) != 0)
		return 0;
	memcpy(tmp, pattern, plen);
	tmp[plen] = '\0';
	sep = strchr(tmp + 3, '|');
	if (!sep)
		return 0;
	if (dhg_base64_decode(&salt, &saltlen, tmp + 3, (size_t)(sep - tmp - 3), 0, 256, "known_hosts salt") < 0)
		goto done;
	if (dhg_base64_decode(&want, &wantlen, sep + 1, strlen(sep + 1), 0, 256, "known_hosts hash") < 0)
		goto done;
	if (!HMAC(EVP_sha1(), salt, (int)saltlen, (const unsigned char *)name, strlen(name), mac, &maclen))
		goto done;
	match = maclen == wantlen && dhg_mem_equal_ct(mac, want, wantlen);
done:
	free(salt);
	free(want);
	return match;
}

/* Does the comma-separated host list (len bytes) name `name`? Negations (!pattern) and
 * wildcards are not supported: such entries never match. */
static int hostlist_match(const char *list, size_t len, const char *name)
{
	const char *p = list, *end = list + len;

	while (p < end) {
		const char *c = memchr(p, ',', (size_t)(end - p));
		size_t n = (size_t)((c ? c : end) - p);
		if (n > 0 && p[0] == '|') {
			if (hashed_host_match(p, n, name))
				return 1;
		} else if (n == strlen(name) && strncasecmp(p, name, n) == 0) {
			return 1;
		}
		p = c ? c + 1 : end;
	}
	return 0;
}

int gitout__known_hosts_check(const char *known_hosts, const char *host, int port, const unsigned char *key,
			      size_t keylen)
{
	char name[300];
	const char *line = known_hosts;
	int named = 0, matched = 0;

	if (port == 0 || port == 22)
		snprintf(name, sizeof(name), "%s", host);
	else
		snprintf(name, sizeof(name), "[%s]:%d", host, port);
	while (line && *line) {
		const char *eol = strchr(line, '\n'), *p = line, *end;
		const char *f[4];
		size_t flen[4];
		int nf = 0, revoked = 0;
		end = eol ? eol : line + strlen(line);
		while (p < end && nf < 4) {
			while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
				p++;
			if (p >= end)
				break;
			f[nf] = p;
			while (p < end && *p != ' ' && *p != '\t' && *p != '\r')
				p++;
			flen[nf] = (size_t)(p - f[nf]);
			nf++;
		}
		line = eol ? eol + 1 : NULL;
		if (nf == 0 || f[0][0] == '#')
			continue;
		if (f[0][0] == '@') {
			if (flen[0] == 8 && strncmp(f[0], "@revoked", 8) == 0)
				revoked = 1;
			else
				continue; /* @cert-authority: not supported */
			memmove(f, f + 1, sizeof(f[0]) * 3);
			memmove(flen, flen + 1, sizeof(flen[0]) * 3);
			nf--;
		}
		if (nf < 3 || !hostlist_match(f[0], flen[0], name))
			continue;
		named = 1;
		{
			char *blob = NULL;
			size_t bloblen = 0;
			int same = 0;
			if (dhg_base64_decode(&blob, &bloblen, f[2], flen[2], 0, 16384, "known_hosts key") == 0)
				same = bloblen == keylen && memcmp(blob, key, keylen) == 0;
			free(blob);
			if (same && revoked)
				return DHG_EFORBIDDEN;
			if (same)
				matched = 1; /* keep reading: a later @revoked line wins */
		}
	}
	if (matched)
		return 0;
	return named ? DHG_EFORBIDDEN : DHG_ENOTFOUND;
}
