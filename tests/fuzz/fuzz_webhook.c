/* libFuzzer target: the operator's push webhook (POST /hooks/reconcile) - body and signature
 * headers come from the network. Input: first line = an X-Hub-Signature-256 / X-Gitlab-Token /
 * X-Dhg-Signature-256 value (each tried alone), the rest = body. Exercises
 * httpserver_webhook_verify and, for JSON bodies, httpserver_webhook_urls. Invariants (abort
 * on violation): the fuzzed header only verifies when it equals the right HMAC (hex digits in
 * any case) or the token;
 * the correct "sha256=<hex HMAC>" of the body always verifies; the URL list is an array of
 * strings. Built and run by tests/fuzz/run.sh. */
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httpserver/server.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char SECRET[] = "fuzz-webhook-secret";

static void hmac_hex(char out[72], const char *body, size_t len)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (!HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const unsigned char *)body, len, mac, &n) || n != 32)
		abort();
	memcpy(out, "sha256=", 7);
	for (unsigned i = 0; i < n; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", mac[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t hlen = nl ? (size_t)(nl - data) : size;
	const char *body = nl ? (const char *)nl + 1 : "";
	size_t blen = nl ? size - hlen - 1 : 0;
	char *hdr = malloc(hlen + 1), good[72];
	httpserver_webhook_headers h = { NULL, NULL, NULL };
	json_t *j, *urls = NULL;

	if (!hdr)
		return 0;
	memcpy(hdr, data, hlen);
	hdr[hlen] = 0;
	hmac_hex(good, body, blen);
	/* each header alone */
	h.hub_signature_256 = hdr;
	if (httpserver_webhook_verify(SECRET, &h, body, blen) && strcasecmp(hdr, good) != 0)
		abort();
	h.hub_signature_256 = NULL;
	h.dhg_signature_256 = hdr;
	if (httpserver_webhook_verify(SECRET, &h, body, blen) && strcasecmp(hdr, good) != 0)
		abort();
	h.dhg_signature_256 = NULL;
	h.gitlab_token = hdr;
	if (httpserver_webhook_verify(SECRET, &h, body, blen) && strcmp(hdr, SECRET) != 0)
		abort();
	/* no header: never */
	h.gitlab_token = NULL;
	if (httpserver_webhook_verify(SECRET, &h, body, blen))
		abort();
	/* the right signature: always */
	h.hub_signature_256 = good;
	if (!httpserver_webhook_verify(SECRET, &h, body, blen))
		abort();
	if ((j = json_loadb(body, blen, 0, NULL))) {
		if (httpserver_webhook_urls(&urls, j) == 0) {
			size_t i;
			json_t *u;
			if (!json_is_array(urls))
				abort();
			json_array_foreach(urls, i, u) if (!json_is_string(u)) abort();
			json_decref(urls);
		}
		json_decref(j);
	}
	free(hdr);
	dhg_error_clear();
	return 0;
}
