/* libFuzzer target: git credential Secrets (the `data` map of a Kubernetes Secret, base64
 * values: username, password, identity, known_hosts, ca.crt) through
 * gitout_credentials_from_secret - the input as the whole JSON map, and the input base64-encoded
 * under each key. Invariants (abort on violation): a decoded key holds exactly the input bytes
 * (when accepted, text without NUL); on an error nothing is left allocated. Built and run by
 * tests/fuzz/run.sh. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "output/git/gitout.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *b64(const uint8_t *d, size_t n)
{
	char *o = malloc((n + 2) / 3 * 4 + 1), *p = o;
	if (!o)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)d[i] << 16 | (i + 1 < n ? (unsigned)d[i + 1] << 8 : 0) | (i + 2 < n ? d[i + 2] : 0);
		*p++ = b64chars[v >> 18 & 63];
		*p++ = b64chars[v >> 12 & 63];
		*p++ = i + 1 < n ? b64chars[v >> 6 & 63] : '=';
		*p++ = i + 2 < n ? b64chars[v & 63] : '=';
	}
	*p = 0;
	return o;
}

static const char *field(const gitout_credentials *c, int k)
{
	switch (k) {
	case 0: return c->username;
	case 1: return c->password;
	case 2: return c->identity;
	case 3: return c->known_hosts;
	default: return c->ca_pem;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { "username", "password", "identity", "known_hosts", "ca.crt" };
	gitout_credentials c = GITOUT_CREDENTIALS_INIT;
	json_t *m = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	char *enc;

	if (m) {
		if (gitout_credentials_from_secret(&c, m) < 0 && (c.username || c.password || c.identity || c.known_hosts || c.ca_pem))
			abort();
		gitout_credentials_dispose(&c);
		json_decref(m);
	}
	if (!(enc = b64(data, size)))
		return 0;
	for (int k = 0; k < 5; k++) {
		gitout_credentials d = GITOUT_CREDENTIALS_INIT;
		json_t *sec = json_pack("{s:s}", keys[k], enc);
		if (!sec)
			break;
		if (gitout_credentials_from_secret(&d, sec) == 0) {
			const char *v = field(&d, k);
			/* accepted: exactly the bytes (values that trim trailing newlines may be shorter) */
			if (v && (strlen(v) > size || memcmp(v, data, strlen(v)) != 0))
				abort();
		} else if (d.username || d.password || d.identity || d.known_hosts || d.ca_pem) {
			abort();
		}
		gitout_credentials_dispose(&d);
		json_decref(sec);
	}
	free(enc);
	dhg_error_clear();
	return 0;
}
