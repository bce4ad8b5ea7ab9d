#include "util/hash.h"
#include "util/error.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct dhg_sha256 {
	EVP_MD_CTX *ctx;
};

/* SHA-256 comes from a library context of our own. OpenSSL 3.0 keeps using its default
 * context after an allocation failed while making it (a NULL lock, then a crash: found by
 * failing each allocation of a run in turn); OSSL_LIB_CTX_new() reports that failure instead.
 * A failed set-up is tried again by the next call (the operator runs on: one failed allocation
 * must not disable hashing for good); once made, it is only read. */
static pthread_mutex_t g_init_mu = PTHREAD_MUTEX_INITIALIZER;
static OSSL_LIB_CTX *g_libctx;
static EVP_MD *_Atomic g_sha256;

int dhg_crypto_init(void)
{
	if (g_sha256)
		return 0;
	pthread_mutex_lock(&g_init_mu);
	if (!g_libctx)
		g_libctx = OSSL_LIB_CTX_new();
	if (g_libctx && !g_sha256)
		g_sha256 = EVP_MD_fetch(g_libctx, "SHA256", NULL);
	pthread_mutex_unlock(&g_init_mu);
	if (!g_sha256)
		return dhg_error_set(DHG_ENOMEM, "out of memory setting up OpenSSL's SHA-256");
	return 0;
}

int dhg_sha256_new(dhg_sha256 **out)
{
	dhg_sha256 *h = calloc(1, sizeof(*h));

	*out = NULL;
	if (!h)
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	if (dhg_crypto_init() < 0) {
		free(h);
		return DHG_ENOMEM;
	}
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || EVP_DigestInit_ex(h->ctx, g_sha256, NULL) != 1) {
		dhg_sha256_free(h);
		return dhg_error_set(DHG_ERROR, "sha256: cannot initialise digest");
	}
	*out = h;
	return 0;
}

int dhg_sha256_update(dhg_sha256 *h, const void *data, size_t len)
{
	if (len && EVP_DigestUpdate(h->ctx, data, len) != 1)
		return dhg_error_set(DHG_ERROR, "sha256: update failed");
	return 0;
}

void dhg_hex_encode(char *out, const unsigned char *in, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * len] = '\0';
}

int dhg_sha256_final_str(char out[DHG_DIGEST_STR_SIZE], dhg_sha256 *h)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (EVP_DigestFinal_ex(h->ctx, md, &n) != 1 || n != 32)
		return dhg_error_set(DHG_ERROR, "sha256: final failed");
	memcpy(out, "sha256:", 7);
	dhg_hex_encode(out + 7, md, 32);
	return 0;
}

void dhg_sha256_free(dhg_sha256 *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

int dhg_sha256_str(char out[DHG_DIGEST_STR_SIZE], const void *data, size_t len)
{
	unsigned char md[32];
	int error = dhg_sha256_raw(md, data, len);

	if (error < 0)
		return error;
	memcpy(out, "sha256:", 7);
	dhg_hex_encode(out + 7, md, 32);
	return 0;
}

int dhg_sha256_raw(unsigned char out[32], const void *data, size_t len)
{
	unsigned int n = 0;

	if (dhg_crypto_init() < 0)
		return DHG_ENOMEM;
	if (EVP_Digest(data, len, out, &n, g_sha256, NULL) != 1 || n != 32)
		return dhg_error_set(DHG_ERROR, "sha256 failed");
	return 0;
}

int dhg_hmac_sha256(unsigned char out[32], const void *key, size_t keylen, const void *data, size_t len)
{
	unsigned int n = 0;

	if (dhg_crypto_init() < 0)
		return DHG_ENOMEM;
	if (!HMAC(g_sha256, key, (int)keylen, data, len, out, &n) || n != 32)
		return dhg_error_set(DHG_ERROR, "hmac-sha256 failed");
	return 0;
}

int dhg_mem_equal_ct(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}
