/* Registry credentials (Docker config, Secrets) and WWW-Authenticate challenge parsing. */
#include "output/oci/ociout.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "output/oci/ociout_internal.h"
#include "util/base64.h"
#include "util/error.h"
#include "util/json.h"
#include "util/str.h"

#define MAX_CONFIG_BYTES ((size_t)4 << 20)

static void wipe_free(char *s)
{
	if (!s)
		return;
	volatile char *p = s;
	while (*p)
		*p++ = 0;
	free(s);
}

void ociout_credentials_dispose(ociout_credentials *c)
{
	if (!c)
		return;
	wipe_free(c->username);
	wipe_free(c->password);
	c->username = NULL;
	c->password = NULL;
}

/* ---- base64 ------------------------------------------------------------------------------- */

/* Docker / Secret rules: both alphabets, all whitespace skipped (util/base64.h). The callers
 * replace the message with one naming the field. */
int ociout__base64_decode(char **out, size_t *outlen, const char *in, size_t len)
{
	return dhg_base64_decode(out, outlen, in, len, DHG_BASE64_ANY | DHG_BASE64_SPACES, MAX_CONFIG_BYTES, NULL);
}

int ociout__base64_encode(char **out, const char *in, size_t len)
{
	return dhg_base64_encode(out, NULL, in, len, 0);
}

/* ---- Docker config ----------------------------------------------------------------------- */

/* "https://host:port/v1/" -> "host:port" into out. */
static void normalize_host(char *out, size_t size, const char *key)
{
	const char *p = strstr(key, "://");
	size_t n;
	p = p ? p + 3 : key;
	n = strcspn(p, "/");
	if (n >= size)
		n = size - 1;
	memcpy(out, p, n);
	out[n] = 0;
	for (char *c = out; *c; c++)
		*c = (char)tolower((unsigned char)*c);
}

static int creds_from_entry(ociout_credentials *out, const json_t *entry, const char *host)
{
	const char *auth = json_string_value(json_object_get(entry, "auth"));
	const char *user = json_string_value(json_object_get(entry, "username"));
	const char *pass = json_string_value(json_object_get(entry, "password"));
	char *dec = NULL, *colon;
	size_t declen;
	int error = 0;

	if (auth && auth[0]) {
		if (ociout__base64_decode(&dec, &declen, auth, strlen(auth)) < 0 || memchr(dec, 0, declen) ||
		    !(colon = strchr(dec, ':')))
		{
			error = dhg_error_set(DHG_EINVALID,
					      "registry credentials for %s: field 'auth' is not base64 of user:password", host);
			goto done;
		}
		*colon = 0;
		out->username = dhg_strdup(dec);
		out->password = dhg_strdup(colon + 1);
	} else if (user && pass) {
		out->username = dhg_strdup(user);
		out->password = dhg_strdup(pass);
	} else {
		error = dhg_error_set(DHG_ENOTFOUND, "registry credentials for %s: entry has neither 'auth' nor "
						     "'username'/'password'", host);
		goto done;
	}
	if (!out->username || !out->password) {
		ociout_credentials_dispose(out);
		error = DHG_ENOMEM;
	}
done:
	if (dec) {
		memset(dec, 0, declen);
		free(dec);
	}
	return error;
}

int ociout_credentials_from_docker_config(ociout_credentials *out, const char *json, size_t len,
					  const char *host)
{
	json_t *root = NULL, *auths, *entry;
	json_error_t jerr;
	const char *key;
	char want[256], have[256];
	int error = DHG_ENOTFOUND;

	out->username = out->password = NULL;
	if (len > MAX_CONFIG_BYTES)
		return dhg_error_set(DHG_ETOOBIG, "docker config: larger than %zu bytes", MAX_CONFIG_BYTES);
	if (!(root = dhg_json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr)) || !json_is_object(root)) {
		/* jerr.text may quote input: report the position only. */
		error = dhg_error_set(DHG_EINVALID, "docker config: not a JSON object (line %d, column %d)",
				      root ? 1 : jerr.line, root ? 1 : jerr.column);
		goto done;
	}
	normalize_host(want, sizeof(want), host);
	auths = json_object_get(root, "auths");
	if (auths && !json_is_object(auths)) {
		error = dhg_error_set(DHG_EINVALID, "docker config: field 'auths' must be an object");
		goto done;
	}
	json_object_foreach(auths, key, entry)
	{
		normalize_host(have, sizeof(have), key);
		if (strcmp(have, want) != 0)
			continue;
		if (!json_is_object(entry)) {
			error = dhg_error_set(DHG_EINVALID, "docker config: auths.%s must be an object", key);
			goto done;
		}
		error = creds_from_entry(out, entry, want);
		if (error != DHG_ENOTFOUND)
			goto done;
	}
	if (json_is_object(json_object_get(json_object_get(root, "credHelpers"), want)) ||
	    json_string_value(json_object_get(json_object_get(root, "credHelpers"), want)) ||
	    json_string_value(json_object_get(root, "credsStore")))
		error = dhg_error_set(DHG_ENOTFOUND, "docker config: no 'auths' entry for %s (credential helpers "
						     "are not supported)", want);
	else
		error = dhg_error_set(DHG_ENOTFOUND, "docker config: no 'auths' entry for %s", want);
done:
	json_decref(root);
	return error;
}

static int secret_value(char **out, size_t *len, const json_t *data, const char *key)
{
	const json_t *v = json_object_get(data, key);
	*out = NULL;
	*len = 0;
	if (!v)
		return DHG_ENOTFOUND;
	if (!json_is_string(v) || ociout__base64_decode(out, len, json_string_value(v), json_string_length(v)) < 0)
		return dhg_error_set(DHG_EINVALID, "secret: data.%s is not base64", key);
	return 0;
}

int ociout_credentials_from_secret_data(ociout_credentials *out, char **ca_pem, size_t *ca_len,
					const json_t *data, const char *host)
{
	char *dcj = NULL, *user = NULL, *pass = NULL;
	size_t dlen = 0, ulen = 0, plen = 0;
	int error;

	out->username = out->password = NULL;
	if (ca_pem) {
		*ca_pem = NULL;
		*ca_len = 0;
	}
	if (!json_is_object(data))
		return dhg_error_set(DHG_EINVALID, "secret: no data");
	if (ca_pem && (error = secret_value(ca_pem, ca_len, data, "ca.crt")) < 0 && error != DHG_ENOTFOUND)
		goto done;
	error = secret_value(&dcj, &dlen, data, ".dockerconfigjson");
	if (error == 0) {
		error = ociout_credentials_from_docker_config(out, dcj, dlen, host);
		goto done;
	}
	if (error != DHG_ENOTFOUND)
		goto done;
	if ((error = secret_value(&user, &ulen, data, "username")) < 0 && error != DHG_ENOTFOUND)
		goto done;
	if ((error = secret_value(&pass, &plen, data, "password")) < 0 && error != DHG_ENOTFOUND)
		goto done;
	if (!user || !pass) {
		error = dhg_error_set(DHG_ENOTFOUND, "secret: neither '.dockerconfigjson' nor 'username' and "
						     "'password' keys");
		goto done;
	}
	if (memchr(user, 0, ulen) || memchr(pass, 0, plen)) {
		error = dhg_error_set(DHG_EINVALID, "secret: username/password contain a NUL byte");
		goto done;
	}
	out->username = user;
	out->password = pass;
	user = pass = NULL;
	error = 0;
done:
	if (error < 0 && ca_pem) {
		free(*ca_pem);
		*ca_pem = NULL;
		*ca_len = 0;
	}
	if (dcj) {
		memset(dcj, 0, dlen);
		free(dcj);
	}
	if (user) {
		memset(user, 0, ulen);
		free(user);
	}
	if (pass) {
		memset(pass, 0, plen);
		free(pass);
	}
	return error;
}

/* ---- challenges --------------------------------------------------------------------------- */

static int is_tchar(int c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Reads a token at p into out (lower-cased when lower). Returns the end or NULL if empty. */
static const char *read_token(const char *p, char *out, size_t size, int lower, int *toolong)
{
	size_t n = 0;
	while (is_tchar((unsigned char)*p)) {
		if (n + 1 < size)
			out[n++] = lower ? (char)tolower((unsigned char)*p) : *p;
		else
			*toolong = 1;
		p++;
	}
	if (size)
		out[n] = 0;
	return n || *toolong ? p : NULL;
}

static const char *read_quoted(const char *p, char *out, size_t size, int *toolong)
{
	size_t n = 0;
	p++; /* opening quote */
	while (*p && *p != '"') {
		if (*p == '\\') {
			p++;
			if (!*p)
				return NULL;
		}
		if (n + 1 < size)
			out[n++] = *p;
		else
			*toolong = 1;
		p++;
	}
	if (*p != '"')
		return NULL;
	out[n] = 0;
	return p + 1;
}

int ociout_challenges_parse(ociout_challenge *out, size_t max, size_t *n, const char *header)
{
	const char *p = header;
	for (;;) {
		ociout_challenge ch;
		int toolong = 0;
		p = skip_ws(p);
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (!*p)
			return 0;
		memset(&ch, 0, sizeof(ch));
		if (!(p = read_token(p, ch.scheme, sizeof(ch.scheme), 1, &toolong)) || toolong)
			return dhg_error_set(DHG_EINVALID, "WWW-Authenticate: expected an auth scheme");
		/* parameters (or token68) */
		for (;;) {
			char name[32], value[1024];
			const char *q = skip_ws(p), *after;
			if (q == p && *q && *q != ',')
				return dhg_error_set(DHG_EINVALID, "WWW-Authenticate: junk after scheme %s", ch.scheme);
			while (*q == ',' || *q == ' ' || *q == '\t')
				q = skip_ws(q + (*q == ','));
			if (!*q) {
				p = q;
				break;
			}
			after = read_token(q, name, sizeof(name), 1, &toolong);
			if (!after)
				return dhg_error_set(DHG_EINVALID, "WWW-Authenticate: bad parameter in %s challenge",
						     ch.scheme);
			after = skip_ws(after);
			if (*after != '=') {
				/* the next challenge starts at q */
				p = q;
				break;
			}
			/* token68 ("abc==") vs. auth-param ("name=value") */
			if (after[1] == '=' || after[1] == ',' || after[1] == 0) {
				const char *t = after;
				while (*t == '=')
					t++;
				p = t;
				continue;
			}
			after = skip_ws(after + 1);
			toolong = 0;
			if (*after == '"')
				after = read_quoted(after, value, sizeof(value), &toolong);
			else
				after = read_token(after, value, sizeof(value), 0, &toolong);
			if (!after)
				return dhg_error_set(DHG_EINVALID, "WWW-Authenticate: bad value for '%s' in %s challenge",
						     name, ch.scheme);
			if (toolong)
				return dhg_error_set(DHG_EINVALID, "WWW-Authenticate: value of '%s' too long", name);
			if (strcmp(name, "realm") == 0)
				snprintf(ch.realm, sizeof(ch.realm), "%s", value);
			else if (strcmp(name, "service") == 0) {
				if (strlen(value) >= sizeof(ch.service))
					return dhg_error_set(DHG_EINVALID, "WWW-Authenticate: value of 'service' too long");
				snprintf(ch.service, sizeof(ch.service), "%s", value);
			} else if (strcmp(name, "scope") == 0)
				snprintf(ch.scope, sizeof(ch.scope), "%s", value);
			else if (strcmp(name, "error") == 0)
				snprintf(ch.error, sizeof(ch.error), "%s", value);
			p = after;
		}
		if (*n < max)
			out[(*n)++] = ch;
	}
}
