#ifndef DHG_UTIL_HASH_H
#define DHG_UTIL_HASH_H

#include <stddef.h>

/* SHA-256 (OpenSSL EVP). Streaming context; not thread-safe per context. */
typedef struct dhg_sha256 dhg_sha256;

#define DHG_DIGEST_HEX_LEN 64
/* "sha256:" + 64 hex + NUL */
#define DHG_DIGEST_STR_SIZE 72

/* Sets up OpenSSL and its SHA-256 once (every function below calls it); main() calls it
 * first so that a failure is reported before any work. 0 or DHG_ENOMEM. Thread-safe. */
int dhg_crypto_init(void);

/* New context in *out (free with dhg_sha256_free). Returns 0 or DHG_ENOMEM/DHG_ERROR. */
int dhg_sha256_new(dhg_sha256 **out);
int dhg_sha256_update(dhg_sha256 *h, const void *data, size_t len);
/* Writes "sha256:<hex>" into out (DHG_DIGEST_STR_SIZE bytes). The context can't be reused. */
int dhg_sha256_final_str(char out[DHG_DIGEST_STR_SIZE], dhg_sha256 *h);
void dhg_sha256_free(dhg_sha256 *h);

/* One-shot: out gets "sha256:<hex>". Returns 0 or < 0. */
int dhg_sha256_str(char out[DHG_DIGEST_STR_SIZE], const void *data, size_t len);
/* One-shot raw digest (32 bytes). */
int dhg_sha256_raw(unsigned char out[32], const void *data, size_t len);

/* HMAC-SHA256 raw (32 bytes). */
int dhg_hmac_sha256(unsigned char out[32], const void *key, size_t keylen, const void *data, size_t len);

/* Lower-case hex of `len` bytes into out (2*len+1 bytes). */
void dhg_hex_encode(char *out, const unsigned char *in, size_t len);

/* Constant-time comparison; returns 1 when equal. */
int dhg_mem_equal_ct(const void *a, const void *b, size_t len);

#endif
